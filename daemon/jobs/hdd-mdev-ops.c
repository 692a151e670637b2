#include "hdd-mdev-ops.h"

#include "hdd-context.h"
#include "hdd-error.h"
#include "hdd-mdev-sysfs.h"
#include "hdd-sysfs.h"
#include "hdd-vfio-sysfs.h"

typedef struct {
  HddContext    *context;
  HddMdevConfig *config;
} OpData;

static void
op_data_free (gpointer data)
{
  OpData *d = data;

  g_object_unref (d->context);
  hdd_mdev_config_free (d->config);
  g_free (d);
}

static OpData *
op_data_new (HddContext *context, const HddMdevConfig *config)
{
  OpData *d = g_new0 (OpData, 1);

  d->context = g_object_ref (context);
  d->config = hdd_mdev_config_copy (config);
  return d;
}

char *
hdd_mdev_ops_lock_key (const char *uuid)
{
  return g_strdup_printf ("mdev:%s", uuid);
}

gboolean
hdd_mdev_ops_check_create (const HddMdevConfig *c,
                           GError             **error)
{
  guint64 available = 0;

  if (!hdd_mdev_sysfs_parent_exists (c->parent))
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_NOT_FOUND,
                   "No mdev parent device %s (see /sys/class/mdev_bus)", c->parent);
      return FALSE;
    }
  if (!hdd_mdev_sysfs_type_exists (c->parent, c->type))
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_NOT_FOUND,
                   "%s offers no mdev type %s", c->parent, c->type);
      return FALSE;
    }
  if (hdd_mdev_sysfs_is_active (c->uuid))
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_ALREADY_EXISTS,
                   "An mdev with UUID %s exists already", c->uuid);
      return FALSE;
    }
  if (hdd_mdev_sysfs_type_read_available (c->parent, c->type, &available) && available == 0)
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_BUSY,
                   "%s has no instance of mdev type %s left (available_instances is 0)",
                   c->parent, c->type);
      return FALSE;
    }
  return TRUE;
}

/* The kernel's create and remove are synchronous; a fake kernel may not
 * be: wait a moment for sysfs to say it is done. */
static gboolean
wait_for_active (const char *uuid, gboolean active)
{
  gint64 deadline = g_get_monotonic_time () + HDD_MDEV_SETTLE_TIMEOUT_MS * 1000;
  guint attempt = 0;

  while (hdd_mdev_sysfs_is_active (uuid) != active)
    if (!hdd_sysfs_wait_next (&attempt, deadline))
      return FALSE;
  return TRUE;
}

static gboolean
write_remove (const char *uuid, GError **error)
{
  g_autofree char *path = hdd_sysfs_path ("/sys/bus/mdev/devices/%s/remove", uuid);
  g_autoptr(GError) local = NULL;

  /* Blocks while a VM holds the mdev (hdd_sysfs_write_detached). */
  if (!hdd_sysfs_write_detached (path, "1", &local))
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_FAILED,
                   "The kernel refused to remove mdev %s: %s", uuid, local->message);
      return FALSE;
    }
  if (!wait_for_active (uuid, FALSE))
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_FAILED,
                   "mdev %s is still there after its remove was accepted", uuid);
      return FALSE;
    }
  return TRUE;
}

/* Undoes a create that went wrong; the error of what went wrong stays. */
static void
roll_back (HddJob *job, const char *uuid)
{
  g_autoptr(GError) error = NULL;

  if (!hdd_mdev_sysfs_is_active (uuid))
    return;
  hdd_job_step (job, "Removing mdev %s again", uuid);
  if (!write_remove (uuid, &error))
    hdd_job_step (job, "Could not roll back: %s", error->message);
}

/* Each attribute below the mdev's own directory and nowhere else: no
 * name of its path may be a link (mdev_type/create would create another
 * mdev, vfio-dev/vfioN/subsystem/... reaches every other vfio device).
 * The same path for a create and for the start of a definition, whoever
 * wrote it. */
static gboolean
write_attributes (HddJob *job, const HddMdevConfig *c, GError **error)
{
  g_autofree char *dir = hdd_sysfs_path ("/sys/bus/mdev/devices/%s", c->uuid);

  for (guint i = 0; i < c->attrs->len; i++)
    {
      HddMdevAttr *a = g_ptr_array_index (c->attrs, i);
      g_autoptr(GError) local = NULL;

      if (!hdd_job_check_cancelled (job, error))
        return FALSE;
      hdd_job_step (job, "Setting attribute %s of mdev %s", a->name, c->uuid);
      if (!hdd_sysfs_write_beneath (dir, a->name, a->value, &local))
        {
          g_autofree char *shown = g_strescape (a->value, NULL);

          if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_INVALID_FILENAME))
            g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                         "Attribute %s of mdev %s is not the mdev's own: %s",
                         a->name, c->uuid, local->message);
          else
            g_set_error (error, HDD_ERROR, HDD_ERROR_FAILED,
                         "The vendor driver rejected attribute %s = “%.64s” of mdev %s: %s",
                         a->name, shown, c->uuid, local->message);
          return FALSE;
        }
      hdd_job_set_progress (job, 0.5 + 0.5 * (i + 1) / c->attrs->len);
    }
  return TRUE;
}

gboolean
hdd_mdev_ops_create_locked (HddJob *job, const HddMdevConfig *c, GError **error)
{
  g_autofree char *create = NULL;
  g_autoptr(GError) local = NULL;

  hdd_job_step (job, "Checking mdev type %s on %s", c->type, c->parent);
  if (!hdd_mdev_ops_check_create (c, error) || !hdd_job_check_cancelled (job, error))
    return FALSE;

  hdd_job_step (job, "Creating mdev %s of type %s on %s", c->uuid, c->type, c->parent);
  create = hdd_sysfs_path ("/sys/class/mdev_bus/%s/mdev_supported_types/%s/create",
                           c->parent, c->type);
  if (!hdd_sysfs_write (create, c->uuid, &local))
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_FAILED,
                   "The kernel refused to create mdev %s of type %s on %s: %s",
                   c->uuid, c->type, c->parent, local->message);
      return FALSE;
    }
  if (!wait_for_active (c->uuid, TRUE))
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_FAILED,
                   "mdev %s did not appear after the kernel accepted its creation", c->uuid);
      return FALSE;
    }
  hdd_job_set_progress (job, 0.5);

  if (!write_attributes (job, c, error))
    {
      roll_back (job, c->uuid);
      return FALSE;
    }
  hdd_job_step (job, "Created mdev %s of type %s on %s", c->uuid, c->type, c->parent);
  return TRUE;
}

static gboolean
create_locked (HddJob *job, gpointer data, GError **error)
{
  return hdd_mdev_ops_create_locked (job, ((OpData *) data)->config, error);
}

static gboolean
create_func (HddJob *job, gpointer data, GError **error)
{
  OpData *d = data;
  g_autofree char *key = hdd_mdev_ops_lock_key (d->config->uuid);

  return hdd_context_run_locked (d->context, job, key, create_locked, d, error);
}

gboolean
hdd_mdev_ops_remove_locked (HddJob *job, const char *uuid, GError **error)
{
  g_autofree char *dir = hdd_mdev_sysfs_device_dir (uuid);
  g_auto(GStrv) nodes = NULL;
  g_autofree char *release_state = NULL;
  g_autofree char *step = NULL;
  gboolean ok;

  if (!hdd_mdev_sysfs_is_active (uuid))
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_NOT_FOUND, "mdev %s is not running", uuid);
      return FALSE;
    }
  /* Looked up before the write: once the kernel waits for the holders,
   * the mdev's own sysfs entries are gone, its vfio-dev is not. */
  nodes = hdd_vfio_sysfs_nodes (dir);
  release_state = hdd_vfio_sysfs_release_state_dir (dir);
  step = g_strdup_printf ("Removing mdev %s", uuid);
  if (!hdd_job_begin_release (job, uuid, (const char * const *) nodes, release_state, step, error))
    return FALSE;
  ok = write_remove (uuid, error);
  hdd_job_end_release (job);
  if (ok)
    hdd_job_step (job, "Removed mdev %s", uuid);
  return ok;
}

static gboolean
remove_locked (HddJob *job, gpointer data, GError **error)
{
  return hdd_mdev_ops_remove_locked (job, ((OpData *) data)->config->uuid, error);
}

static gboolean
remove_func (HddJob *job, gpointer data, GError **error)
{
  OpData *d = data;
  g_autofree char *key = hdd_mdev_ops_lock_key (d->config->uuid);

  return hdd_context_run_locked (d->context, job, key, remove_locked, d, error);
}

HddJobWork
hdd_mdev_ops_create (HddContext          *context,
                     const HddMdevConfig *config,
                     const char          *operation)
{
  return (HddJobWork) { operation, create_func, op_data_new (context, config), op_data_free };
}

HddJobWork
hdd_mdev_ops_remove (HddContext *context,
                     const char *uuid,
                     const char *operation)
{
  g_autoptr(HddMdevConfig) config = hdd_mdev_config_new (uuid, "", "", FALSE);

  return (HddJobWork) { operation, remove_func, op_data_new (context, config), op_data_free };
}
