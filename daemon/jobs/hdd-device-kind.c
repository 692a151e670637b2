#include "hdd-device-kind.h"

#include "hdd-binder.h"
#include "hdd-context.h"
#include "hdd-error.h"
#include "hdd-mdev-ops.h"
#include "hdd-mdev-sysfs.h"
#include "hdd-pci-ops.h"
#include "hdd-pci-sysfs.h"
#include "hdd-sysfs.h"
#include "hdd-vfio-sysfs.h"

void
hdd_device_prepared_clear (HddDevicePrepared *prepared)
{
  g_clear_pointer (&prepared->previous, hdd_binding_free);
}

/* ---- PCI devices ---- */

static char *
pci_describe (const char *key)
{
  return g_strdup (key);
}

static gboolean
pci_find_nodes (const char *key, GStrv *nodes, char **release_state, GError **error)
{
  *nodes = hdd_pci_sysfs_vfio_nodes (key);
  *release_state = hdd_pci_sysfs_release_state_dir (key);
  return TRUE;
}

static gboolean
pci_prepare (HddJob *job, HddContext *context, const char *key, const HddMdevConfig *definition,
             HddDevicePrepared *p, GError **error)
{
  g_autofree char *driver = hdd_pci_sysfs_read_driver (key);

  if (hdd_pci_sysfs_driver_is_vfio (driver))
    {
      hdd_job_step (job, "%s is on %s already", key, driver);
      return TRUE;
    }
  p->previous = hdd_store_lookup (hdd_context_get_store (context), key);
  if (!hdd_pci_ops_bind_locked (context, job, key, HDD_BIND_FLAGS_NONE, error))
    return FALSE;
  p->bound = TRUE;
  return TRUE;
}

static void
pci_unprepare (HddJob *job, HddContext *context, const char *key, HddDevicePrepared *p)
{
  HddStore *store = hdd_context_get_store (context);
  g_autofree char *driver = NULL;
  g_autoptr(GError) error = NULL;

  if (!p->bound)
    return;
  hdd_job_step (job, "Giving %s back to its driver", key);
  if (!hdd_binder_restore (job, key, p->previous ? p->previous->original_driver : NULL,
                           &driver, &error))
    hdd_job_step (job, "Could not give %s back: %s", key, error->message);
  else if (p->previous)
    hdd_store_put (store, key, p->previous->original_driver, p->previous->persistent, NULL);
  else
    hdd_store_remove (store, key, NULL);
}

static char *
pci_hostdev_model (const char *key)
{
  return NULL;
}

static gboolean
pci_release (HddJob *job, HddContext *context, const char *key, char **done_text,
             GError **error)
{
  HddStore *store = hdd_context_get_store (context);
  g_autoptr(HddBinding) entry = hdd_store_lookup (store, key);
  g_autofree char *driver = NULL;

  if (!hdd_binder_restore (job, key, entry ? entry->original_driver : NULL, &driver, error))
    return FALSE;
  /* A persistent binding stays: the device was taken from the guest, not
   * given up by the administrator (that is Restore).  Otherwise the entry
   * only remembered the original driver. */
  if (entry && !entry->persistent)
    hdd_store_remove (store, key, NULL);
  g_free (driver);
  driver = hdd_pci_sysfs_read_driver (key);
  *done_text = g_strdup_printf ("now on %s", driver ? driver : "no driver");
  return TRUE;
}

typedef struct {
  const char *key;
  HddContext *context;
} Finish;

/* An unbind from vfio-pci was what the daemon before wanted: a restore or
 * an unplug, which then give the device to its host driver.  Done here as
 * a restore that stopped half-way is undone (hdd_binder_undo_partial). */
static gboolean
pci_finish_locked (HddJob *job, gpointer data, GError **error)
{
  Finish *f = data;
  HddStore *store = hdd_context_get_store (f->context);
  g_autoptr(HddBinding) entry = hdd_store_lookup (store, f->key);
  g_autofree char *driver = NULL;

  if (!hdd_binder_undo_partial (job, f->key, entry ? entry->original_driver : NULL, &driver,
                                error))
    return FALSE;
  /* As after an unplug: a persistent binding stays recorded. */
  if (entry && !entry->persistent)
    hdd_store_remove (store, f->key, NULL);
  return TRUE;
}

static gboolean
pci_finish_release (HddJob *job, HddContext *context, const char *key, GError **error)
{
  g_autofree char *lock = hdd_pci_ops_lock_key (key);
  Finish f = { key, context };

  return hdd_context_run_locked (context, job, lock, pci_finish_locked, &f, error);
}

static const HddDeviceKind pci_kind = {
  .hostdev = HDD_HOSTDEV_PCI,
  .describe = pci_describe,
  .lock_key = hdd_pci_ops_lock_key,
  .find_nodes = pci_find_nodes,
  .prepare = pci_prepare,
  .unprepare = pci_unprepare,
  .hostdev_model = pci_hostdev_model,
  .release = pci_release,
  .finish_release = pci_finish_release,
  .released = "",
  .stays = "on vfio-pci ",
};

/* ---- mdevs ---- */

static char *
mdev_describe (const char *key)
{
  return g_strdup_printf ("mdev %s", key);
}

static gboolean
mdev_find_nodes (const char *key, GStrv *nodes, char **release_state, GError **error)
{
  g_autofree char *dir = hdd_mdev_sysfs_device_dir (key);

  if (!hdd_mdev_sysfs_is_active (key))
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_NOT_FOUND, "mdev %s is not running", key);
      return FALSE;
    }
  *nodes = hdd_vfio_sysfs_nodes (dir);
  *release_state = hdd_vfio_sysfs_release_state_dir (dir);
  return TRUE;
}

static gboolean
mdev_prepare (HddJob *job, HddContext *context, const char *key, const HddMdevConfig *definition,
              HddDevicePrepared *p, GError **error)
{
  if (hdd_mdev_sysfs_is_active (key))
    {
      hdd_job_step (job, "mdev %s is running already", key);
      return TRUE;
    }
  if (definition == NULL)
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_NOT_FOUND,
                   "mdev %s is neither running nor defined", key);
      return FALSE;
    }
  if (!hdd_mdev_ops_create_locked (job, definition, error))
    return FALSE;
  p->created = TRUE;
  return TRUE;
}

static void
mdev_unprepare (HddJob *job, HddContext *context, const char *key, HddDevicePrepared *p)
{
  g_autoptr(GError) error = NULL;

  if (!p->created)
    return;
  hdd_job_step (job, "Removing mdev %s again", key);
  if (!hdd_mdev_ops_remove_locked (job, key, &error))
    hdd_job_step (job, "Could not remove mdev %s: %s", key, error->message);
}

/* The model libvirt needs for an mdev: its type's device API. */
static char *
mdev_hostdev_model (const char *uuid)
{
  g_autofree char *path = hdd_sysfs_path ("/sys/bus/mdev/devices/%s/mdev_type/device_api", uuid);
  g_autofree char *api = NULL;

  if (hdd_sysfs_read (path, &api, NULL) &&
      (g_str_equal (api, "vfio-pci") || g_str_equal (api, "vfio-ccw") ||
       g_str_equal (api, "vfio-ap")))
    return g_steal_pointer (&api);
  return g_strdup ("vfio-pci");
}

static gboolean
mdev_release (HddJob *job, HddContext *context, const char *key, char **done_text,
              GError **error)
{
  if (!hdd_mdev_ops_remove_locked (job, key, error))
    return FALSE;
  *done_text = g_strdup ("removed");
  return TRUE;
}

static gboolean
mdev_finish_release (HddJob *job, HddContext *context, const char *key, GError **error)
{
  return TRUE;   /* the kernel's remove was the whole of it */
}

static const HddDeviceKind mdev_kind = {
  .hostdev = HDD_HOSTDEV_MDEV,
  .describe = mdev_describe,
  .lock_key = hdd_mdev_ops_lock_key,
  .find_nodes = mdev_find_nodes,
  .prepare = mdev_prepare,
  .unprepare = mdev_unprepare,
  .hostdev_model = mdev_hostdev_model,
  .release = mdev_release,
  .finish_release = mdev_finish_release,
  .released = "; it is removed",
  .stays = "",
};

const HddDeviceKind *
hdd_device_kind_of_key (const char *key)
{
  return hdd_hostdev_kind_of_key (key) == HDD_HOSTDEV_MDEV ? &mdev_kind : &pci_kind;
}
