#include "hdd-pci-sysfs.h"

#include "hdd-error.h"
#include "hdd-pci-address.h"
#include "hdd-sysfs.h"
#include "hdd-vfio-sysfs.h"

#include <gio/gio.h>

char *
hdd_pci_sysfs_read_driver (const char *address)
{
  g_autofree char *path = hdd_sysfs_path ("/sys/bus/pci/devices/%s/driver", address);

  return hdd_sysfs_link_basename (path);
}

char *
hdd_pci_sysfs_read_driver_override (const char *address)
{
  g_autofree char *path = hdd_sysfs_path ("/sys/bus/pci/devices/%s/driver_override", address);
  g_autofree char *value = NULL;

  if (!hdd_sysfs_read (path, &value, NULL))
    return NULL;
  if (*value == '\0' || g_str_equal (value, "(null)"))
    return NULL;
  return g_steal_pointer (&value);
}

/* "/sys/bus/pci/devices/ADDRESS", the device directory of the generic
 * VFIO helpers. */
static char *
device_dir (const char *address)
{
  return g_strdup_printf ("/sys/bus/pci/devices/%s", address);
}

int
hdd_pci_sysfs_read_iommu_group (const char *address)
{
  g_autofree char *dir = device_dir (address);

  return hdd_vfio_sysfs_read_iommu_group (dir);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

GPtrArray *
hdd_pci_sysfs_iommu_group_members (int      group,
                                   GError **error)
{
  g_autofree char *path = hdd_sysfs_path ("/sys/kernel/iommu_groups/%d/devices", group);
  g_autoptr(GPtrArray) members = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) local = NULL;
  g_autoptr(GDir) dir = g_dir_open (path, 0, &local);
  const char *name;

  if (dir == NULL)
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_NOT_FOUND,
                   "IOMMU group %d cannot be read: %s", group, local->message);
      return NULL;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      /* Non-PCI members (rare: platform devices) are listed by name only
       * when they parse as PCI addresses; others cannot be handled here. */
      char *canonical = hdd_pci_address_canonicalize (name, NULL);
      if (canonical)
        g_ptr_array_add (members, canonical);
    }
  g_ptr_array_sort (members, compare_strings);
  return g_steal_pointer (&members);
}

char *
hdd_pci_sysfs_read_vfio_device_node (const char *address)
{
  g_autofree char *dir = device_dir (address);

  return hdd_vfio_sysfs_read_device_node (dir);
}

gboolean
hdd_pci_sysfs_driver_is_vfio (const char *driver)
{
  if (driver == NULL)
    return FALSE;
  return g_str_equal (driver, HDD_VFIO_PCI_DRIVER) ||
         g_str_has_suffix (driver, "-vfio-pci") ||
         g_str_has_suffix (driver, "_vfio_pci");
}

gboolean
hdd_pci_sysfs_driver_keeps_group_viable (const char *driver)
{
  /* Mirrors the kernel's driver_managed_dma drivers that can share a group
   * with VFIO: pci-stub and the PCIe port driver of bridges. */
  return driver == NULL ||
         hdd_pci_sysfs_driver_is_vfio (driver) ||
         g_str_equal (driver, "pci-stub") ||
         g_str_equal (driver, "pcieport");
}

GStrv
hdd_pci_sysfs_vfio_nodes (const char *address)
{
  g_autofree char *dir = device_dir (address);

  return hdd_vfio_sysfs_nodes (dir);
}

char *
hdd_pci_sysfs_release_state_dir (const char *address)
{
  g_autofree char *dir = device_dir (address);

  return hdd_vfio_sysfs_release_state_dir (dir);
}
