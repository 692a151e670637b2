/* What sysfs says about one PCI device.  @address is always canonical (see
 * hdd_pci_address_canonicalize), so it is safe in a path. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define HDD_VFIO_PCI_DRIVER "vfio-pci"

/* Bound driver, NULL when unbound. */
char *hdd_pci_sysfs_read_driver (const char *address);

/* driver_override, NULL when unset ("(null)" in sysfs). */
char *hdd_pci_sysfs_read_driver_override (const char *address);

/* IOMMU group number, -1 when the device has none. */
int hdd_pci_sysfs_read_iommu_group (const char *address);

/* Canonical addresses of every PCI device in IOMMU group @group, sorted. */
GPtrArray *hdd_pci_sysfs_iommu_group_members (int      group,
                                              GError **error);

/* /dev/vfio/devices/vfioX when the device has a VFIO cdev, else NULL. */
char *hdd_pci_sysfs_read_vfio_device_node (const char *address);

/* vfio-pci or one of its variant drivers (mlx5_vfio_pci, virtio-vfio-pci…). */
gboolean hdd_pci_sysfs_driver_is_vfio (const char *driver);

/* Whether a device bound to @driver (NULL: unbound) leaves its IOMMU group
 * usable by VFIO: the kernel only lets VFIO claim DMA ownership of a group
 * whose other members are unbound or bound to a driver_managed_dma driver. */
gboolean hdd_pci_sysfs_driver_keeps_group_viable (const char *driver);

G_END_DECLS

G_BEGIN_DECLS

/* The nodes through which userspace holds the device once it is bound to
 * VFIO: /dev/vfio/GROUP and the device cdev, whichever exist. */
GStrv hdd_pci_sysfs_vfio_nodes (const char *address);

/* See hdd_vfio_sysfs_release_state_dir(). */
char *hdd_pci_sysfs_release_state_dir (const char *address);

G_END_DECLS
