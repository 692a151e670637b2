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

#include "hdd-job.h"

G_BEGIN_DECLS

/* One release the kernel is in the middle of. */
typedef struct {
  char *key;          /* PCI address or mdev UUID; NULL: a device hostdevd
                         does not manage */
  char *vfio;         /* "vfio0" */
  char *target;       /* where /sys/class/vfio-dev/vfioX points */
  char *device_dir;   /* the device's sysfs directory, without root */
} HddReleasePending;

void hdd_release_pending_free (HddReleasePending *pending);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HddReleasePending, hdd_release_pending_free)

/* The releases the kernel is in the middle of (release_pending is 1), an
 * array of HddReleasePending: the D-Bus layer starts a job for each. */
GPtrArray *hdd_release_pending_find (void);

/* The "release-pending" job that follows @pending (taken) to its end. */
HddJobWork hdd_release_pending_watch (HddContext        *context,
                                      HddReleasePending *pending);

/* The device a vfio-dev belongs to, from the target of its
 * /sys/class/vfio-dev/vfioX link ("../../devices/.../0000:01:00.0/vfio-dev/vfio0"):
 * the canonical PCI address or mdev UUID, NULL when it is neither. */
char *hdd_release_pending_device_of (const char *link_target);

/* How often the job reads release_pending. */
#define HDD_RELEASE_PENDING_POLL_MS 500

G_END_DECLS
