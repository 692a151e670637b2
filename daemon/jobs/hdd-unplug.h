/* The Unplug and DetachFromDomain jobs of a PCI device or an mdev: take the
 * device away from the guest (or any process) that holds it, gracefully,
 * within a deadline (hdd-unplug-policy.h decides what comes next).
 *
 *  1. who holds the device (the VFIO nodes in /proc) and which running
 *     libvirt domain has it (its live XML);
 *  2. such a domain is asked through libvirt (detach, live) and the job
 *     waits for libvirt's DEVICE_REMOVED, DEVICE_REMOVAL_FAILED or the
 *     domain stopping, cancelable;
 *  3. otherwise, when libvirt cannot, or at the deadline with policy wait,
 *     the kernel releases it: the unbind from vfio-pci (back to the
 *     original driver) or the mdev's remove, written in a thread of its own
 *     so that the job keeps reporting and applies the policy at the
 *     deadline while the write blocks;
 *  4. every step, the holders, the domain, the kernel's requests and the
 *     time waited are on the Job.
 *
 * DetachFromDomain is steps 1, 2 and 4 only: it fails where Unplug would
 * go on through the kernel. */
#pragma once

#include "hdd-job.h"
#include "hdd-unplug-policy.h"

G_BEGIN_DECLS

typedef struct _HddUnplug HddUnplug;

/* The work of one job on the device @key (canonical PCI address or mdev
 * UUID); @detach_only for DetachFromDomain. */
HddUnplug *hdd_unplug_new  (HddContext             *context,
                            const char             *key,
                            const HddUnplugOptions *options,
                            gboolean                detach_only);
void       hdd_unplug_free (gpointer unplug);

/* The HddJobFunc of the job; @data is the HddUnplug. */
gboolean hdd_unplug_run (HddJob   *job,
                         gpointer  data,
                         GError  **error);

/* How often a waiting job looks at the holders and updates its Status. */
#define HDD_UNPLUG_TICK_MS 500
/* How long, once QEMU let go, libvirt's device-removed event is waited for
 * before the job completes without it. */
#define HDD_UNPLUG_REMOVED_GRACE_MS 5000

G_END_DECLS
