#include "hdd-reconcile.h"

#include "hdd-binder.h"
#include "hdd-context.h"
#include "hdd-pci-ops.h"
#include "hdd-pci-sysfs.h"
#include "hdd-sysfs.h"

HddReconcileAction
hdd_reconcile_decide (const HddBinding *entry,
                      const char       *driver,
                      const char       *override)
{
  if (hdd_pci_sysfs_driver_is_vfio (driver))
    return hdd_pci_sysfs_driver_is_vfio (override) ? HDD_RECONCILE_NONE : HDD_RECONCILE_KEEP_OVERRIDE;
  return entry->persistent ? HDD_RECONCILE_APPLY : HDD_RECONCILE_UNDO;
}

/* An unbind from vfio-pci the kernel is still in the middle of (started by
 * a daemon that is gone, waiting for a holder: release_pending is 1) is the
 * kernel's to finish, and what follows it is not a repair: leave the device
 * alone.  Reading its driver_override now would also wait for the kernel
 * (the read takes the device lock the unbind holds). */
static gboolean
release_pending (const char *address)
{
  g_autofree char *dir = hdd_pci_sysfs_release_state_dir (address);
  g_autofree char *path = dir ? g_build_filename (dir, "release_pending", NULL) : NULL;
  guint64 pending = 0;

  return path && hdd_sysfs_read_uint (path, &pending, NULL) && pending == 1;
}

/* What to do about @address now; NONE when its release is pending or it
 * has no entry.  driver_override is read before the driver: on a kernel
 * without release_pending the read waits for an unbind in progress, and
 * the driver read after it is then the one that unbind left. */
static HddReconcileAction
examine (HddStore *store, const char *address, HddBinding **entry_out,
         char **driver_out, char **override_out)
{
  g_autoptr(HddBinding) entry = NULL;
  g_autofree char *override = NULL;
  g_autofree char *driver = NULL;
  HddReconcileAction action;

  if (release_pending (address))
    return HDD_RECONCILE_NONE;
  override = hdd_pci_sysfs_read_driver_override (address);
  driver = hdd_pci_sysfs_read_driver (address);
  entry = hdd_store_lookup (store, address);
  action = entry ? hdd_reconcile_decide (entry, driver, override) : HDD_RECONCILE_NONE;
  if (entry_out)
    *entry_out = g_steal_pointer (&entry);
  if (driver_out)
    *driver_out = g_steal_pointer (&driver);
  if (override_out)
    *override_out = g_steal_pointer (&override);
  return action;
}

typedef struct {
  HddContext *context;
  char       *address;
} Target;

static Target *
target_new (HddContext *context, const char *address)
{
  Target *t = g_new0 (Target, 1);

  t->context = g_object_ref (context);
  t->address = g_strdup (address);
  return t;
}

static void
target_free (gpointer data)
{
  Target *t = data;

  g_object_unref (t->context);
  g_free (t->address);
  g_free (t);
}

/* ---- The repair, in a job under the IOMMU group's lock ---- */

static gboolean
undo (HddJob *job, HddStore *store, const HddBinding *entry, const char *driver,
      const char *override, GError **error)
{
  const char *address = entry->address;
  g_autofree char *now = NULL;

  if (!hdd_binder_undo_partial (job, address, entry->original_driver, &now, error) ||
      !hdd_store_remove (store, address, error))
    return FALSE;

  /* On a host driver with no override left over is also how a
   * non-persistent binding looks after a reboot: say so, no alarm. */
  if (driver != NULL && !hdd_pci_sysfs_driver_is_vfio (override))
    hdd_job_step (job, "Reconciled %s: it is on %s, not on vfio-pci (a non-persistent "
                  "binding ends with a reboot, or a bind stopped before it began); "
                  "dropped hostdevd's record of it", address, driver);
  else
    hdd_job_step (job, "Reconciled %s: a bind or restore had stopped half-way "
                  "(driver %s, driver_override %s); it is back on %s and hostdevd's "
                  "record of it is dropped", address, driver ? driver : "none",
                  override ? override : "unset", now ? now : "no driver");
  return TRUE;
}

static gboolean
reconcile_locked (HddJob *job, gpointer data, GError **error)
{
  Target *t = data;
  const char *address = t->address;
  HddStore *store = hdd_context_get_store (t->context);
  g_autoptr(HddBinding) entry = NULL;
  g_autofree char *driver = NULL;
  g_autofree char *override = NULL;

  /* Decided again under the lock: a caller may have changed the device
   * since the check. */
  switch (examine (store, address, &entry, &driver, &override))
    {
    case HDD_RECONCILE_NONE:
      hdd_job_step (job, "%s needs no repair any more", address);
      return TRUE;
    case HDD_RECONCILE_APPLY:
      hdd_job_step (job, "%s has a persistent binding now; it is applied when the "
                    "device appears or hostdevd starts", address);
      return TRUE;
    case HDD_RECONCILE_KEEP_OVERRIDE:
      if (!hdd_binder_keep_override (job, address, error))
        return FALSE;
      hdd_job_step (job, "Reconciled %s: it was on %s with driver_override %s, as a "
                    "restore that stopped before its unbind leaves it; it stays on %s "
                    "with driver_override vfio-pci", address, driver,
                    override ? override : "unset", driver);
      return TRUE;
    case HDD_RECONCILE_UNDO:
      return undo (job, store, entry, driver, override, error);
    }
  g_assert_not_reached ();
}

static gboolean
reconcile_func (HddJob *job, gpointer data, GError **error)
{
  Target *t = data;
  g_autofree char *key = hdd_pci_ops_lock_key (t->address);

  return hdd_context_run_locked (t->context, job, key, reconcile_locked, t, error);
}

HddJobWork
hdd_reconcile_repair (HddContext *context,
                      const char *address)
{
  return (HddJobWork) { "reconcile", reconcile_func, target_new (context, address), target_free };
}

/* ---- The check ---- */

static void
check_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Target *t = task_data;

  g_task_return_int (task, examine (hdd_context_get_store (t->context), t->address,
                                    NULL, NULL, NULL));
}

const char *
hdd_reconcile_describe (HddReconcileAction action)
{
  switch (action)
    {
    case HDD_RECONCILE_KEEP_OVERRIDE:
      return "it is on vfio-pci without the vfio-pci driver_override";
    case HDD_RECONCILE_UNDO:
      return "hostdevd has a record of binding it, but it is not on vfio-pci";
    case HDD_RECONCILE_NONE:
    case HDD_RECONCILE_APPLY:
      break;
    }
  return NULL;   /* consistent, or APPLY, which the caller does */
}

void
hdd_reconcile_examine_async (HddContext         *context,
                             const char         *address,
                             GAsyncReadyCallback callback,
                             gpointer            user_data)
{
  g_autoptr(GTask) task = g_task_new (context, NULL, callback, user_data);

  g_task_set_source_tag (task, hdd_reconcile_examine_async);
  g_task_set_task_data (task, target_new (context, address), target_free);
  g_task_run_in_thread (task, check_thread);
}

HddReconcileAction
hdd_reconcile_examine_finish (GAsyncResult *result,
                              const char  **address)
{
  Target *t = g_task_get_task_data (G_TASK (result));

  *address = t->address;
  return g_task_propagate_int (G_TASK (result), NULL);
}
