/* Start-up reconciliation: what sysfs shows against what the store says.
 *
 * A bind or restore records its intent in the store before it touches
 * sysfs (hdd-pci-ops.c), so a daemon that stopped in the middle of one —
 * killed, crashed, the power gone — left an entry for the device it was
 * moving.  At start-up every entry whose device is present is compared with
 * the device, and what a job left half-done is repaired by a "reconcile"
 * job that logs what it fixed:
 *
 *   entry       driver        driver_override   action
 *   persistent  not vfio      any               APPLY: bind it (the bind job
 *                                               completes any half-done bind)
 *   any         vfio          not vfio-pci      KEEP_OVERRIDE: write vfio-pci
 *                                               (a restore stopped before its
 *                                               unbind)
 *   not pers.   not vfio      any               UNDO: clear a vfio-pci
 *                                               override, give an unbound
 *                                               device its original driver,
 *                                               drop the entry
 *   any         vfio          vfio-pci          NONE
 *
 * Reconciliation never takes a device away from vfio-pci: a VM may be
 * using it, and an unbind would ask the VM to let go.  A device whose
 * release the kernel is still in the middle of (release_pending) is left
 * to the kernel. */
#pragma once

#include "hdd-job.h"
#include "hdd-store.h"

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
  HDD_RECONCILE_NONE,
  HDD_RECONCILE_APPLY,
  HDD_RECONCILE_KEEP_OVERRIDE,
  HDD_RECONCILE_UNDO,
} HddReconcileAction;

/* The table above.  @driver and @override are NULL when unset. */
HddReconcileAction hdd_reconcile_decide (const HddBinding *entry,
                                         const char       *driver,
                                         const char       *override);

/* Compares the device at @address with its store entry in a thread
 * (reading driver_override may block behind an unbind in progress) and
 * calls @callback on the calling thread's main context with the decision. */
void hdd_reconcile_examine_async (HddContext         *context,
                                  const char         *address,
                                  GAsyncReadyCallback callback,
                                  gpointer            user_data);

/* The decision; @address: the device's (borrowed from @result). */
HddReconcileAction hdd_reconcile_examine_finish (GAsyncResult *result,
                                                 const char  **address);

/* Why @action needs a "reconcile" job, for the log; NULL when it needs
 * none (NONE, or APPLY: applying persistent bindings is the caller's). */
const char *hdd_reconcile_describe (HddReconcileAction action);

/* The "reconcile" job of @address: decides again under the group's lock
 * and repairs. */
HddJobWork hdd_reconcile_repair (HddContext *context,
                                 const char *address);

G_END_DECLS
