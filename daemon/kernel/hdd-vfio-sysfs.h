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

/* Revocation (our kernel series, vfio-dev/vfioX/revoke): root may end an
 * unbind or mdev remove that waits for the device's users by writing 1 to
 * the attribute, accepted only while release_pending is 1.  The files the
 * users have open fail from then on, the users live on, and the wait
 * completes.  The attribute's presence is the kernel's capability.
 * @state_dir is a directory hdd_vfio_sysfs_release_state_dir() returned. */

/* Whether the kernel can revoke the device of @state_dir (NULL: no). */
gboolean hdd_vfio_sysfs_can_revoke (const char *state_dir);

/* Whether the running kernel can revoke: some device in
 * /sys/class/vfio-dev has the attribute.  It is the VFIO core's, which
 * every device of a kernel that has it carries, so only the first
 * HDD_VFIO_SYSFS_REVOKE_LOOKS devices listed are looked at, whatever their
 * number, from a listing of that many (this runs on every job's end and
 * PCI uevent: a walk of 5,000 mdevs' devices on a kernel without it was
 * most of a job's cost on a large host, and a whole first read of the
 * directory still a millisecond).  A kernel with no VFIO device says nothing, and counts as
 * unable.  Reads only names and attributes' presence: safe on the main
 * loop. */
#define HDD_VFIO_SYSFS_REVOKE_LOOKS 16
gboolean hdd_vfio_sysfs_kernel_can_revoke (void);

/* Whether this process may revoke: the kernel wants CAP_SYS_ADMIN, which
 * the shipped unit's CapabilityBoundingSet does not give (operations.md).
 * FALSE with @error (NotSupported) saying why. */
gboolean hdd_vfio_sysfs_may_revoke (GError **error);

/* release_pending of @state_dir: TRUE only when it reads 1. */
gboolean hdd_vfio_sysfs_release_pending (const char *state_dir);

typedef enum {
  HDD_VFIO_REVOKE_DONE,         /* the kernel revoked the device */
  HDD_VFIO_REVOKE_NOT_WAITING,  /* EBUSY: no unbind or remove waits (any more) */
  HDD_VFIO_REVOKE_GONE,         /* the vfio-dev is gone: the release ended */
  HDD_VFIO_REVOKE_UNSUPPORTED,  /* the vfio-dev has no revoke attribute */
  HDD_VFIO_REVOKE_FAILED,       /* another refusal; @error says which */
} HddVfioRevoke;

/* Writes 1 to @state_dir/revoke (hdd_sysfs_write_beneath: nothing but that
 * attribute).  Sets @error for every result but DONE. */
HddVfioRevoke hdd_vfio_sysfs_revoke (const char *state_dir,
                                     GError    **error);

G_END_DECLS
