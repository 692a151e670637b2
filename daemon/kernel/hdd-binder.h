/* Moving a PCI device between drivers through sysfs, the way the kernel
 * documents it: driver_override, unbind, drivers_probe.  Synchronous: these
 * run in a job's thread, because an unbind blocks for as long as a user of
 * the device keeps it open.  @job may be NULL (unit tests). */
#pragma once

#include "hdd-job.h"

G_BEGIN_DECLS

/* Moves @address, currently bound to @current_driver (NULL: unbound), to
 * vfio-pci and verifies the result.  On failure puts the device back on
 * @current_driver as far as the kernel allows. */
gboolean hdd_binder_bind_vfio (HddJob     *job,
                               const char *address,
                               const char *current_driver,
                               GError    **error);

/* Gives @address back from vfio-pci to @original_driver, or to whichever
 * driver the kernel picks when @original_driver is NULL or gone.  *@driver
 * receives the driver bound afterwards (NULL when none claimed it).  A
 * device that is not on vfio-pci is left alone apart from clearing a
 * vfio-pci driver_override. */
gboolean hdd_binder_restore (HddJob     *job,
                             const char *address,
                             const char *original_driver,
                             char      **driver,
                             GError    **error);

/* For a device hostdevd had started to bind or restore when it stopped,
 * now not on vfio-pci: clears a vfio-pci driver_override and, when the
 * device has no driver, gives it to @original_driver (or whichever driver
 * the kernel picks when @original_driver is NULL or gone).  *@driver
 * receives the driver bound afterwards (NULL when none claimed it). */
gboolean hdd_binder_undo_partial (HddJob     *job,
                                  const char *address,
                                  const char *original_driver,
                                  char      **driver,
                                  GError    **error);

/* Writes vfio-pci to driver_override of @address (on vfio-pci already), so
 * that nothing else claims it at its next probe. */
gboolean hdd_binder_keep_override (HddJob     *job,
                                   const char *address,
                                   GError    **error);

/* How long a probe may take before the result is judged (async probing). */
#define HDD_BINDER_PROBE_TIMEOUT_MS 5000

G_END_DECLS
