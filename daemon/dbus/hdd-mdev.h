/* One mediated device, running, defined, or both, exported as
 * org.hostdevd1.Mdev. */
#pragma once

#include "hdd-dbus-generated.h"
#include "hdd-device.h"
#include "hdd-mdevctl.h"

G_BEGIN_DECLS

#define HDD_TYPE_MDEV (hdd_mdev_get_type ())
G_DECLARE_FINAL_TYPE (HddMdev, hdd_mdev, HDD, MDEV, HddDbusMdevSkeleton)

/* @uuid must be canonical; @directory: of the definitions.  The object
 * implements HddDevice, and emits "undefined" once Undefine() deleted its
 * definition. */
HddMdev *hdd_mdev_new (const HddDeviceServices *services,
                       HddLibvirt              *libvirt,
                       const char              *directory,
                       const char              *uuid);

const char *hdd_mdev_get_uuid        (HddMdev *self);
const char *hdd_mdev_get_object_path (HddMdev *self);

/* Sets Domain to what libvirt's last scan says (hdd-libvirt.h). */
void hdd_mdev_update_domain (HddMdev *self);

/* The persistent definition, NULL when there is none. */
const HddMdevConfig *hdd_mdev_get_definition (HddMdev *self);
void                 hdd_mdev_set_definition (HddMdev             *self,
                                              const HddMdevConfig *definition);

/* What CreateMdev was asked for: shown (parent, type, attributes) while the
 * mdev has no definition. */
void hdd_mdev_set_created (HddMdev             *self,
                           const HddMdevConfig *created);

/* Re-reads what sysfs says: Active, parent and type, IOMMU group, nodes. */
void hdd_mdev_refresh (HddMdev *self);

/* Whether a job operates on the mdev. */
gboolean hdd_mdev_is_busy (HddMdev *self);

/* Whether the object has a reason to exist: running, defined or busy. */
gboolean hdd_mdev_is_wanted (HddMdev *self);

/* Sets the holders found by the manager's scan. */
/* The VFIO group and device nodes as last read, NULL for none: for the
 * holders scans, which look at every mdev (no property lock). */
void hdd_mdev_get_nodes (HddMdev     *self,
                         const char **group_node,
                         const char **device_node);
void hdd_mdev_set_holders_from (HddMdev   *self,
                                GPtrArray *holders);

G_END_DECLS
