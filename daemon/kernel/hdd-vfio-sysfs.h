/* What sysfs says about the VFIO side of a device, PCI or mdev alike.
 * @device_dir is the device's sysfs directory as the kernel names it
 * ("/sys/bus/mdev/devices/UUID"), without the root prefix. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* IOMMU group number, -1 when the device has none. */
int hdd_vfio_sysfs_read_iommu_group (const char *device_dir);

/* "vfioX" of the device's VFIO cdev (its vfio-dev child), else NULL. */
char *hdd_vfio_sysfs_read_device_name (const char *device_dir);

/* /dev/vfio/devices/vfioX when the device has a VFIO cdev, else NULL. */
char *hdd_vfio_sysfs_read_device_node (const char *device_dir);

/* /dev/vfio/N when the group node exists, else NULL. */
char *hdd_vfio_sysfs_group_node (int group);

/* The nodes through which userspace holds the device: /dev/vfio/GROUP and
 * the device cdev, whichever the device has. */
GStrv hdd_vfio_sysfs_nodes (const char *device_dir);

/* The vfio-dev sysfs directory that shows the release state during an
 * unbind or remove (root-prefixed, for hdd_job_begin_release), or NULL when
 * the device has no vfio-dev.  It is reached through /sys/class/vfio-dev:
 * once the wait starts, the device's own bus link may be gone already. */
char *hdd_vfio_sysfs_release_state_dir (const char *device_dir);

G_END_DECLS
