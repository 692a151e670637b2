#include "hdd-pci-ops.h"

#include "hdd-binder.h"
#include "hdd-context.h"
#include "hdd-error.h"
#include "hdd-group.h"
#include "hdd-pci-sysfs.h"
#include "hdd-store.h"

typedef struct {
  HddContext  *context;
  char        *address;
  HddBindFlags flags;
} OpData;

static void
op_data_free (gpointer data)
{
  OpData *d = data;

  g_object_unref (d->context);
  g_free (d->address);
  g_free (d);
}

static OpData *
op_data_new (HddContext *context, const char *address, HddBindFlags flags)
{
  OpData *d = g_new0 (OpData, 1);

  d->context = g_object_ref (context);
  d->address = g_strdup (address);
  d->flags = flags;
  return d;
}

char *
hdd_pci_ops_lock_key (const char *address)
{
  int group = hdd_pci_sysfs_read_iommu_group (address);

  if (group < 0)
    return g_strdup_printf ("pci:%s", address);
  return g_strdup_printf ("group:%d", group);
}

/* What one device was before the job moved it, to undo it. */
typedef struct {
  char       *address;
  char       *original_driver;
  HddBinding *previous_entry;   /* store entry before the job, or NULL */
} Moved;

static void
moved_free (gpointer data)
{
  Moved *m = data;

  g_free (m->address);
  g_free (m->original_driver);
  hdd_binding_free (m->previous_entry);
  g_free (m);
}

static void
undo_store (HddStore *store, Moved *m)
{
  if (m->previous_entry)
    hdd_store_put (store, m->address, m->previous_entry->original_driver,
                   m->previous_entry->persistent, NULL);
  else
    hdd_store_remove (store, m->address, NULL);
}

/* In apply mode, the group may only be moved when every member to move is
 * itself persistent: hostdevd does not take a device nobody asked for. */
static gboolean
check_apply_plan (HddStore *store, GPtrArray *plan, GError **error)
{
  g_autoptr(GString) missing = g_string_new (NULL);

  for (guint i = 1; i < plan->len; i++)
    {
      g_autoptr(HddBinding) b = hdd_store_lookup (store, g_ptr_array_index (plan, i));

      if (b == NULL || !b->persistent)
        g_string_append_printf (missing, "%s%s", missing->len ? ", " : "",
                                (char *) g_ptr_array_index (plan, i));
    }
  if (missing->len == 0)
    return TRUE;
  g_set_error (error, HDD_ERROR, HDD_ERROR_NOT_VIABLE,
               "The persistent binding of %s cannot be applied: its IOMMU group "
               "also holds %s, bound to a host driver and not persistent",
               (char *) g_ptr_array_index (plan, 0), missing->str);
  return FALSE;
}

static gboolean
bind_locked (HddJob *job, gpointer data, GError **error)
{
  OpData *d = data;
  HddStore *store = hdd_context_get_store (d->context);
  g_autoptr(GPtrArray) plan = NULL;
  g_autoptr(GPtrArray) moved = g_ptr_array_new_with_free_func (moved_free);
  gboolean whole = (d->flags & (HDD_BIND_WHOLE_GROUP | HDD_BIND_APPLY)) != 0;
  int group = -1;

  hdd_job_step (job, "Checking IOMMU group of %s", d->address);
  plan = hdd_group_plan_bind (d->address, whole, &group, error);
  if (plan == NULL)
    return FALSE;
  if ((d->flags & HDD_BIND_APPLY) && !check_apply_plan (store, plan, error))
    return FALSE;
  if (plan->len > 1)
    hdd_job_step (job, "Moving %u devices of IOMMU group %d to vfio-pci", plan->len, group);

  for (guint i = 0; i < plan->len; i++)
    {
      const char *address = g_ptr_array_index (plan, i);
      g_autofree char *current = hdd_pci_sysfs_read_driver (address);
      Moved *m = g_new0 (Moved, 1);
      gboolean persistent;

      m->address = g_strdup (address);
      m->previous_entry = hdd_store_lookup (store, address);
      if (m->previous_entry && m->previous_entry->original_driver)
        m->original_driver = g_strdup (m->previous_entry->original_driver);
      else if (!hdd_pci_sysfs_driver_is_vfio (current))
        m->original_driver = g_strdup (current);
      persistent = (d->flags & (HDD_BIND_PERSIST | HDD_BIND_APPLY)) ||
                   (m->previous_entry && m->previous_entry->persistent);

      /* Recorded before sysfs is touched: a crash in the middle still leaves
       * the original driver known to Restore. */
      if (!hdd_store_put (store, address, m->original_driver, persistent, error) ||
          !hdd_binder_bind_vfio (job, address, current, error))
        {
          undo_store (store, m);
          moved_free (m);
          goto undo;
        }
      g_ptr_array_add (moved, m);
      hdd_job_set_progress (job, (double) (i + 1) / plan->len);
    }
  if (d->flags & HDD_BIND_PERSIST)
    hdd_job_step (job, "Bound to vfio-pci; the binding is persistent");
  return TRUE;

undo:
  for (guint i = moved->len; i > 0; i--)
    {
      Moved *m = g_ptr_array_index (moved, i - 1);
      g_autofree char *driver = NULL;
      g_autoptr(GError) local = NULL;

      if (!hdd_binder_restore (job, m->address, m->original_driver, &driver, &local))
        hdd_job_step (job, "Could not roll back %s: %s", m->address, local->message);
      undo_store (store, m);
    }
  return FALSE;
}

gboolean
hdd_pci_ops_bind_locked (HddContext  *context,
                         HddJob      *job,
                         const char  *address,
                         HddBindFlags flags,
                         GError     **error)
{
  OpData d = { context, (char *) address, flags };

  return bind_locked (job, &d, error);
}

static gboolean
bind_func (HddJob *job, gpointer data, GError **error)
{
  OpData *d = data;
  g_autofree char *key = hdd_pci_ops_lock_key (d->address);

  return hdd_context_run_locked (d->context, job, key, bind_locked, d, error);
}

static gboolean
restore_locked (HddJob *job, gpointer data, GError **error)
{
  OpData *d = data;
  HddStore *store = hdd_context_get_store (d->context);
  g_autoptr(HddBinding) entry = hdd_store_lookup (store, d->address);
  g_autofree char *driver = NULL;
  gboolean ok;

  /* Recorded before sysfs is touched, as a bind is: a daemon stopped
   * half-way through the restore must not bind the device to vfio-pci
   * again at its next start (hdd-reconcile.h). */
  if (entry && entry->persistent &&
      !hdd_store_put (store, d->address, entry->original_driver, FALSE, error))
    return FALSE;
  ok = hdd_binder_restore (job, d->address, entry ? entry->original_driver : NULL,
                           &driver, error);
  if (ok && entry)
    {
      ok = hdd_store_remove (store, d->address, error);
      if (ok && entry->persistent)
        hdd_job_step (job, "Forgot the persistent binding of %s", d->address);
    }
  else if (!ok && entry && entry->persistent)
    /* The device stays on vfio-pci, and so does its persistence. */
    hdd_store_put (store, d->address, entry->original_driver, TRUE, NULL);
  return ok;
}

static gboolean
restore_func (HddJob *job, gpointer data, GError **error)
{
  OpData *d = data;
  g_autofree char *key = hdd_pci_ops_lock_key (d->address);

  return hdd_context_run_locked (d->context, job, key, restore_locked, d, error);
}

HddJobWork
hdd_pci_ops_bind (HddContext  *context,
                  const char  *address,
                  HddBindFlags flags)
{
  return (HddJobWork) { "bind-vfio", bind_func, op_data_new (context, address, flags),
                        op_data_free };
}

HddJobWork
hdd_pci_ops_restore (HddContext *context,
                     const char *address)
{
  return (HddJobWork) { "restore", restore_func, op_data_new (context, address, 0),
                        op_data_free };
}
