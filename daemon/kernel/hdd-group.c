#include "hdd-group.h"

#include "hdd-error.h"
#include "hdd-pci-sysfs.h"

GPtrArray *
hdd_group_plan_bind (const char *address,
                     gboolean    whole_group,
                     int        *group,
                     GError    **error)
{
  g_autoptr(GPtrArray) plan = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) members = NULL;
  g_autoptr(GString) blocking = g_string_new (NULL);
  guint n_blocking = 0;
  int g;

  g = hdd_pci_sysfs_read_iommu_group (address);
  if (g < 0)
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_NOT_SUPPORTED,
                   "%s has no IOMMU group: is the IOMMU enabled "
                   "(intel_iommu=on or amd_iommu=on on the kernel command line)?",
                   address);
      return NULL;
    }

  members = hdd_pci_sysfs_iommu_group_members (g, error);
  if (members == NULL)
    return NULL;

  g_ptr_array_add (plan, g_strdup (address));
  for (guint i = 0; i < members->len; i++)
    {
      const char *member = g_ptr_array_index (members, i);
      g_autofree char *driver = NULL;

      if (g_str_equal (member, address))
        continue;
      driver = hdd_pci_sysfs_read_driver (member);
      if (hdd_pci_sysfs_driver_keeps_group_viable (driver))
        continue;

      if (whole_group)
        g_ptr_array_add (plan, g_strdup (member));
      else
        {
          g_string_append_printf (blocking, "%s%s (bound to %s)",
                                  n_blocking ? ", " : "", member, driver);
          n_blocking++;
        }
    }

  if (n_blocking > 0)
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_NOT_VIABLE,
                   "IOMMU group %d of %s is not viable for VFIO: %s; bind the "
                   "whole group (option “group”, hostdevctl bind --group) or "
                   "release %s first",
                   g, address, blocking->str, n_blocking == 1 ? "it" : "them");
      return NULL;
    }

  *group = g;
  return g_steal_pointer (&plan);
}
