/* IOMMU-group awareness: which devices a vfio-pci binding must move. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Plans the binding of @address to vfio-pci.  Returns the canonical
 * addresses to move, @address first, followed (when @whole_group) by every
 * other member of its IOMMU group that is bound to a host driver; *@group is
 * set to the group number.
 *
 * Fails with HDD_ERROR_NOT_VIABLE, naming each blocking device and its
 * driver, when another member is bound to a host driver and @whole_group is
 * FALSE; with HDD_ERROR_NOT_SUPPORTED when the device has no IOMMU group. */
GPtrArray *hdd_group_plan_bind (const char *address,
                                gboolean    whole_group,
                                int        *group,
                                GError    **error);

G_END_DECLS
