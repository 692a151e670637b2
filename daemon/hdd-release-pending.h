/* Releases the kernel is in the middle of when hostdevd starts.
 *
 * A daemon stopped while its unbind or mdev remove waited for a holder
 * (killed, or restarted by force) leaves the kernel waiting: the write
 * cannot be interrupted and goes on without it, and release_pending is 1
 * in /sys/class/vfio-dev/vfioX.  For each such device a "release-pending"
 * job shows what the job that started it showed: waiting-for-release, the
 * holders, their libvirt domain, the requests the kernel sent.  It cannot
 * be cancelled (the kernel finishes on its own); once the kernel released
 * the device, a PCI device is given its host driver, as the restore or
 * unplug that unbound it would have done. */
#pragma once

#include "hdd-manager.h"

G_BEGIN_DECLS

/* Looks for pending releases and starts a job for each. */
void hdd_release_pending_adopt (HddManager *manager);

/* The device a vfio-dev belongs to, from the target of its
 * /sys/class/vfio-dev/vfioX link ("../../devices/.../0000:01:00.0/vfio-dev/vfio0"):
 * the canonical PCI address or mdev UUID, NULL when it is neither. */
char *hdd_release_pending_device_of (const char *link_target);

/* How often the job reads release_pending. */
#define HDD_RELEASE_PENDING_POLL_MS 500

G_END_DECLS
