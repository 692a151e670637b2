#include "hdd-mdev-manager.h"

#include "hdd-error.h"
#include "hdd-holders.h"
#include "hdd-log.h"
#include "hdd-bouncer.h"
#include "hdd-job-table.h"
#include "hdd-libvirt.h"
#include "hdd-mdev-names.h"
#include "hdd-mdev-ops.h"
#include "hdd-mdev-sysfs.h"
#include "hdd-mdev.h"
#include "hdd-mdev-type.h"
#include "hdd-names.h"
#include "hdd-options.h"
#include "hdd-sysfs.h"

#include <gudev/gudev.h>


struct _HddMdevManager
{
  GObject      parent;

  const HddDeviceServices  *services;        /* borrowed from the manager */
  GDBusObjectManagerServer *object_manager;
  HddLibvirt               *libvirt;
  char        *directory;  /* of the definitions */
  GUdevClient *udev;
  GHashTable  *types;      /* object path -> HddMdevType */
  GHashTable  *mdevs;      /* uuid -> HddMdev */
  GHashTable  *watches;    /* parent -> Watch */
  GHashTable  *reported;   /* problems with definition files, logged */
  /* parent -> how many definitions the daemon knows for it; NULL when one
   * may have changed since it was counted. */
  GHashTable  *defined_per_parent;
  /* mdevctl (or an operator, or ansible) changes definitions behind our
   * back: the directory and each parent's subdirectory are watched, and a
   * burst of changes becomes one reload. */
  GFileMonitor *dir_monitor;
  GHashTable   *parent_monitors;  /* parent -> GFileMonitor */
  guint         reload_source;
};

G_DEFINE_TYPE (HddMdevManager, hdd_mdev_manager, G_TYPE_OBJECT)

/* A parent that appeared, watched until it offers its types. */
typedef struct {
  HddMdevManager *self;
  char           *parent;
  gint64          deadline;
  guint           source;
} Watch;

static void
watch_free (gpointer data)
{
  Watch *w = data;

  g_clear_handle_id (&w->source, g_source_remove);
  g_free (w->parent);
  g_free (w);
}

static void
hdd_mdev_manager_finalize (GObject *object)
{
  HddMdevManager *self = HDD_MDEV_MANAGER (object);

  g_clear_object (&self->udev);
  g_clear_handle_id (&self->reload_source, g_source_remove);
  g_clear_object (&self->dir_monitor);
  g_hash_table_unref (self->parent_monitors);
  g_hash_table_unref (self->watches);
  g_hash_table_unref (self->reported);
  g_clear_pointer (&self->defined_per_parent, g_hash_table_unref);
  g_hash_table_unref (self->types);
  g_hash_table_unref (self->mdevs);
  g_free (self->directory);
  g_clear_object (&self->object_manager);
  g_clear_object (&self->libvirt);
  G_OBJECT_CLASS (hdd_mdev_manager_parent_class)->finalize (object);
}

static void
hdd_mdev_manager_class_init (HddMdevManagerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hdd_mdev_manager_finalize;
}

static void
hdd_mdev_manager_init (HddMdevManager *self)
{
  self->types = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->mdevs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->watches = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, watch_free);
  self->reported = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->parent_monitors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
}

HddMdevManager *
hdd_mdev_manager_new (const HddDeviceServices  *services,
                      GDBusObjectManagerServer *object_manager,
                      HddLibvirt               *libvirt,
                      const char               *directory)
{
  HddMdevManager *self = g_object_new (HDD_TYPE_MDEV_MANAGER, NULL);

  self->services = services;
  self->object_manager = g_object_ref (object_manager);
  self->libvirt = g_object_ref (libvirt);
  self->directory = g_strdup (directory);
  return self;
}

static void
export (HddMdevManager *self, const char *path, gpointer iface)
{
  g_autoptr(HddDbusObjectSkeleton) object = hdd_dbus_object_skeleton_new (path);

  g_dbus_object_skeleton_add_interface (G_DBUS_OBJECT_SKELETON (object),
                                        G_DBUS_INTERFACE_SKELETON (iface));
  g_dbus_object_manager_server_export (self->object_manager, G_DBUS_OBJECT_SKELETON (object));
}

const char *
hdd_mdev_manager_get_directory (HddMdevManager *self)
{
  return self->directory;
}


/* ---- Types ---- */

/* Makes the MdevType objects of @parent what sysfs says: new types
 * appear, gone ones go, the others are read again: only their
 * available_instances with @only_available (after an mdev of @parent was
 * made or removed: what a type is comes from its driver, which did not
 * change), else every attribute. */
static void
sync_types (HddMdevManager *self, const char *parent, gboolean only_available)
{
  g_autoptr(GPtrArray) types = hdd_mdev_sysfs_list_types (parent);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter iter;
  gpointer key, value;

  for (guint i = 0; i < types->len; i++)
    {
      g_autofree char *path = hdd_mdev_type_object_path (parent, g_ptr_array_index (types, i));
      HddMdevType *type = g_hash_table_lookup (self->types, path);

      if (type && only_available)
        hdd_mdev_type_refresh_available (type);
      else if (type)
        hdd_mdev_type_refresh (type);
      else
        {
          type = hdd_mdev_type_new (parent, g_ptr_array_index (types, i));
          g_hash_table_insert (self->types, g_strdup (path), type);
          export (self, path, type);
          hdd_info (parent, 0, "mdev type %s of %s appeared (%u available)",
                    (char *) g_ptr_array_index (types, i), parent,
                    hdd_dbus_mdev_type_get_available_instances (HDD_DBUS_MDEV_TYPE (type)));
        }
      g_hash_table_add (seen, (char *) hdd_mdev_type_get_object_path (type));
    }

  g_hash_table_iter_init (&iter, self->types);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      if (g_hash_table_contains (seen, key) ||
          !g_str_equal (hdd_dbus_mdev_type_get_parent (value), parent))
        continue;
      g_dbus_object_manager_server_unexport (self->object_manager, key);
      g_hash_table_iter_remove (&iter);
    }
}

/* ---- Mdevs ---- */

static HddMdev *
lookup (HddMdevManager *self, const char *uuid)
{
  return g_hash_table_lookup (self->mdevs, uuid);
}

static void drop_if_unwanted (HddMdevManager *self, HddMdev *mdev);

/* A definition was added, changed or dropped: counted again when asked. */
static void
definitions_changed (HddMdevManager *self)
{
  g_clear_pointer (&self->defined_per_parent, g_hash_table_unref);
}

/* How many definitions the daemon knows for @parent: counted once per
 * change of the definitions, not at every uevent of a device. */
static guint
defined_for (HddMdevManager *self, const char *parent)
{
  if (self->defined_per_parent == NULL)
    {
      GHashTableIter iter;
      gpointer value;

      self->defined_per_parent = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_hash_table_iter_init (&iter, self->mdevs);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          const HddMdevConfig *c = hdd_mdev_get_definition (value);
          guint n;

          if (c == NULL)
            continue;
          n = GPOINTER_TO_UINT (g_hash_table_lookup (self->defined_per_parent, c->parent));
          g_hash_table_replace (self->defined_per_parent, g_strdup (c->parent),
                                GUINT_TO_POINTER (n + 1));
        }
    }
  return GPOINTER_TO_UINT (g_hash_table_lookup (self->defined_per_parent, parent));
}

/* Undefine() deleted the definition: nothing may be left to show. */
static void
on_undefined (HddMdev *mdev, gpointer user_data)
{
  definitions_changed (user_data);
  drop_if_unwanted (user_data, mdev);
}

static HddMdev *
ensure_mdev (HddMdevManager *self, const char *uuid)
{
  HddMdev *mdev = lookup (self, uuid);

  if (mdev)
    return mdev;
  mdev = hdd_mdev_new (self->services, self->libvirt, self->directory, uuid);
  g_hash_table_insert (self->mdevs, g_strdup (uuid), mdev);
  export (self, hdd_mdev_get_object_path (mdev), mdev);
  g_signal_connect_object (mdev, "undefined", G_CALLBACK (on_undefined), self, 0);
  return mdev;
}

/* An mdev that neither runs nor is defined nor has a job goes. */
static void
drop_if_unwanted (HddMdevManager *self, HddMdev *mdev)
{
  g_autofree char *uuid = NULL;

  if (hdd_mdev_is_wanted (mdev))
    return;
  uuid = g_strdup (hdd_mdev_get_uuid (mdev));
  g_dbus_object_manager_server_unexport (self->object_manager, hdd_mdev_get_object_path (mdev));
  g_hash_table_remove (self->mdevs, uuid);
}

/* Reads an mdev's state again; returns its parent, for its types. */
static char *
sync_mdev (HddMdevManager *self, const char *uuid)
{
  HddMdev *mdev = hdd_mdev_sysfs_is_active (uuid) ? ensure_mdev (self, uuid) : lookup (self, uuid);
  gboolean was_active;
  char *parent;

  if (mdev == NULL)
    return NULL;
  was_active = hdd_dbus_mdev_get_active (HDD_DBUS_MDEV (mdev));
  hdd_mdev_refresh (mdev);
  parent = g_strdup (hdd_dbus_mdev_get_parent (HDD_DBUS_MDEV (mdev)));
  if (was_active != hdd_dbus_mdev_get_active (HDD_DBUS_MDEV (mdev)))
    hdd_info (uuid, 0, "mdev %s (%s on %s) %s", uuid,
              hdd_dbus_mdev_get_type_id (HDD_DBUS_MDEV (mdev)), parent,
              was_active ? "went away" : "appeared");
  drop_if_unwanted (self, mdev);
  return parent;
}

/* The UUIDs of the mdevs, copied. */
static GPtrArray *
uuids_of (HddMdevManager *self)
{
  GPtrArray *uuids = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, self->mdevs);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (uuids, g_strdup (key));
  return uuids;
}

/* Reads the definitions directory again: mdevctl may have changed it. */
static void
reload_definitions (HddMdevManager *self)
{
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) configs = hdd_mdevctl_load_all (self->directory, problems);
  g_autoptr(GHashTable) defined = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) uuids = uuids_of (self);

  for (guint i = 0; i < configs->len; i++)
    {
      HddMdevConfig *c = g_ptr_array_index (configs, i);
      HddMdev *mdev;

      if (g_hash_table_contains (defined, c->uuid))
        {
          g_ptr_array_add (problems,
                           g_strdup_printf ("mdev %s is defined for more than one parent; "
                                            "using the definition for %s", c->uuid,
                                            hdd_mdev_get_definition (lookup (self, c->uuid))->parent));
          continue;
        }
      g_hash_table_add (defined, c->uuid);
      /* Most files did not change: their mdevs are not read again. */
      mdev = ensure_mdev (self, c->uuid);
      if (!hdd_mdev_config_equal (hdd_mdev_get_definition (mdev), c))
        hdd_mdev_set_definition (mdev, c);
    }

  /* Said once per file and daemon, not at every reload. */
  for (guint i = 0; i < problems->len; i++)
    if (g_hash_table_add (self->reported, g_strdup (g_ptr_array_index (problems, i))))
      hdd_warning (NULL, 0, "%s", (char *) g_ptr_array_index (problems, i));

  /* By UUID: dropping an mdev frees it. */
  for (guint i = 0; i < uuids->len; i++)
    {
      HddMdev *mdev = lookup (self, g_ptr_array_index (uuids, i));

      if (mdev && hdd_mdev_get_definition (mdev) &&
          !g_hash_table_contains (defined, hdd_mdev_get_uuid (mdev)))
        {
          hdd_mdev_set_definition (mdev, NULL);
          drop_if_unwanted (self, mdev);
        }
    }
  definitions_changed (self);
}

/* Whether a definition file of @uuid exists under any parent: a stat per
 * parent directory, no file read or parsed. */
static gboolean
definition_file_exists (HddMdevManager *self, const char *uuid)
{
  g_autoptr(GDir) dir = g_dir_open (self->directory, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (self->directory, name, uuid, NULL);

      if (hdd_mdev_check_name ("parent", name, NULL) &&
          g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return TRUE;
    }
  return FALSE;
}

/* The definitions are read again when the directory monitor says they
 * changed.  A call about @uuid may come before the monitor's news (mdevctl
 * wrote it a moment ago): only when what is on disk for @uuid differs from
 * what the daemon knows is the directory read again now, so that asking
 * about unknown UUIDs costs a stat per parent, not a read of every file. */
static void
reload_definitions_if_changed (HddMdevManager *self, const char *uuid)
{
  HddMdev *mdev = lookup (self, uuid);
  gboolean known = mdev && hdd_mdev_get_definition (mdev);

  if (definition_file_exists (self, uuid) != known)
    reload_definitions (self);
}

/* ---- Watching the definitions directory ---- */

static void on_definitions_changed (GFileMonitor *monitor, GFile *file, GFile *other,
                                    GFileMonitorEvent event, gpointer user_data);

static GFileMonitor *
monitor_directory (HddMdevManager *self, const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  GFileMonitor *monitor = g_file_monitor_directory (file, G_FILE_MONITOR_WATCH_MOVES, NULL, &error);

  if (monitor == NULL)
    {
      hdd_warning (NULL, 0, "Cannot watch %s for mdev definitions written by others: %s",
                   path, error->message);
      return NULL;
    }
  g_signal_connect (monitor, "changed", G_CALLBACK (on_definitions_changed), self);
  return monitor;
}

/* One monitor per parent subdirectory that exists now; those of parents
 * that went away are dropped. */
static void
sync_parent_monitors (HddMdevManager *self)
{
  g_autoptr(GDir) dir = g_dir_open (self->directory, 0, NULL);
  g_autoptr(GHashTable) present = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GHashTableIter iter;
  gpointer key;
  const char *name;

  while (dir && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (self->directory, name, NULL);

      if (!hdd_mdev_check_name ("parent", name, NULL) || !g_file_test (path, G_FILE_TEST_IS_DIR))
        continue;
      g_hash_table_add (present, g_strdup (name));
      if (!g_hash_table_contains (self->parent_monitors, name))
        {
          GFileMonitor *monitor = monitor_directory (self, path);

          if (monitor)
            g_hash_table_insert (self->parent_monitors, g_strdup (name), monitor);
        }
    }
  g_hash_table_iter_init (&iter, self->parent_monitors);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!g_hash_table_contains (present, key))
      g_hash_table_iter_remove (&iter);
}

static gboolean
reload_now (gpointer data)
{
  HddMdevManager *self = data;

  self->reload_source = 0;
  sync_parent_monitors (self);
  reload_definitions (self);
  return G_SOURCE_REMOVE;
}

static void
on_definitions_changed (GFileMonitor     *monitor,
                        GFile            *file,
                        GFile            *other,
                        GFileMonitorEvent event,
                        gpointer          user_data)
{
  HddMdevManager *self = user_data;

  /* mdevctl writes a definition in more than one step; 100 ms after the
   * last event it is complete. */
  g_clear_handle_id (&self->reload_source, g_source_remove);
  self->reload_source = g_timeout_add (100, reload_now, self);
}

static void
watch_definitions (HddMdevManager *self)
{
  /* The directory may not exist yet: GIO's inotify backend then watches
   * for it to appear. */
  self->dir_monitor = monitor_directory (self, self->directory);
  sync_parent_monitors (self);
}

/* A device that may be an mdev parent appeared or changed: its autostart
 * definitions must be known now.  The directory monitor keeps them
 * current; what it did not tell yet is either a reload it has scheduled
 * (done now) or a file of the parent's own directory the daemon does not
 * know.  Any other device (a PCI device binding to a driver) costs a
 * failed opendir, not a read of every definition. */
static void
reload_parent_if_changed (HddMdevManager *self, const char *parent)
{
  g_autofree char *path = g_build_filename (self->directory, parent, NULL);
  g_autoptr(GDir) dir = NULL;
  guint on_disk = 0;
  const char *name;

  if (self->reload_source)
    {
      g_clear_handle_id (&self->reload_source, g_source_remove);
      reload_now (self);
      return;
    }
  dir = g_dir_open (path, 0, NULL);
  while (dir && (name = g_dir_read_name (dir)) != NULL)
    {
      HddMdev *mdev;
      const HddMdevConfig *c;

      if (!hdd_uuid_is_canonical (name))
        continue;
      mdev = lookup (self, name);
      c = mdev ? hdd_mdev_get_definition (mdev) : NULL;
      if (c == NULL || !g_str_equal (c->parent, parent))
        {
          reload_definitions (self);
          return;
        }
      on_disk++;
    }
  /* And none went that the daemon still knows: each file on disk is one
   * of its definitions for @parent. */
  if (defined_for (self, parent) > on_disk)
    reload_definitions (self);
}

/* ---- Autostart ---- */

/* Starts the autostart definitions of @parent that are not running; returns
 * how many wait for their type to appear. */
static guint
autostart_parent (HddMdevManager *self, const char *parent)
{
  g_autoptr(GPtrArray) uuids = g_ptr_array_new_with_free_func (g_free);
  guint pending = 0;
  GHashTableIter iter;
  gpointer key, value;

  /* Those of @parent with start: auto, copied (starting a job may change
   * the table): every PCI uevent asks, and most parents have none, where
   * a copy of every UUID cost 5,000 allocations on a large host. */
  g_hash_table_iter_init (&iter, self->mdevs);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const HddMdevConfig *c = hdd_mdev_get_definition (value);

      if (c && c->autostart && g_str_equal (c->parent, parent))
        g_ptr_array_add (uuids, g_strdup (key));
    }

  for (guint i = 0; i < uuids->len; i++)
    {
      HddMdev *mdev = lookup (self, g_ptr_array_index (uuids, i));
      const HddMdevConfig *c = hdd_mdev_get_definition (mdev);
      g_autoptr(GError) error = NULL;
      HddJob *job;

      if (c == NULL || !c->autostart || !g_str_equal (c->parent, parent) ||
          hdd_mdev_is_busy (mdev) || hdd_mdev_sysfs_is_active (c->uuid))
        continue;
      if (!hdd_mdev_sysfs_type_exists (parent, c->type))
        {
          pending++;
          continue;
        }
      if (!hdd_mdev_ops_check_create (c, &error))
        {
          hdd_warning (c->uuid, 0, "Cannot start mdev %s (start: auto): %s", c->uuid,
                       error->message);
          continue;
        }
      job = hdd_job_table_start (self->services->jobs, HDD_DEVICE (mdev), NULL,
                                 hdd_mdev_ops_create (self->services->context, c, "start-mdev"));
      hdd_message (c->uuid, hdd_job_get_id (job), "Starting mdev %s (start: auto) on %s (job %u)",
                   c->uuid, parent, hdd_job_get_id (job));
    }
  return pending;
}

/* One look at a watched parent: its types, and the autostart definitions
 * waiting for them.  TRUE when there is nothing left to wait for: none
 * waits, and it offers its types or is no mdev parent at all (a NIC bound
 * or unbound: when it registers with mdev, its mdev_bus uevent says so). */
static gboolean
watch_check (Watch *w)
{
  HddMdevManager *self = w->self;
  g_autoptr(GPtrArray) types = NULL;
  guint pending;

  sync_types (self, w->parent, FALSE);
  pending = autostart_parent (self, w->parent);
  types = hdd_mdev_sysfs_list_types (w->parent);
  if (pending == 0 && (types->len > 0 || !hdd_mdev_sysfs_is_parent (w->parent)))
    return TRUE;
  if (g_get_monotonic_time () < w->deadline)
    return FALSE;
  if (pending > 0)
    hdd_message (w->parent, 0, "%u mdev definition(s) with start: auto wait for %s to offer "
                 "their type%s", pending, w->parent,
                 types->len ? "" : " (it is no mdev parent now)");
  return TRUE;
}

static gboolean
on_watch (gpointer data)
{
  Watch *w = data;

  if (!watch_check (w))
    return G_SOURCE_CONTINUE;
  /* Returning G_SOURCE_REMOVE destroys the source: watch_free must not. */
  w->source = 0;
  g_hash_table_remove (w->self->watches, w->parent);
  return G_SOURCE_REMOVE;
}

/* A device appeared or changed: while it may still be registering as an
 * mdev parent (mdev_supported_types is populated after the device's "add"
 * uevent), look again now and then, for a bounded time. */
static void
watch_parent (HddMdevManager *self, const char *parent)
{
  Watch *w = g_hash_table_lookup (self->watches, parent);

  if (w == NULL)
    {
      w = g_new0 (Watch, 1);
      w->self = self;
      w->parent = g_strdup (parent);
      g_hash_table_insert (self->watches, w->parent, w);
    }
  w->deadline = g_get_monotonic_time () + HDD_MDEV_AUTOSTART_TIMEOUT_MS * 1000;
  /* Look at once; keep looking only when something is still missing.  The
   * timer exists only then, and watch_free removes it with the watch (a
   * timer left behind by a watch that ended at once would fire on freed
   * memory: hostdevd crashed that way in the lab when mdpy was loaded). */
  if (watch_check (w))
    {
      g_hash_table_remove (self->watches, w->parent);
      return;
    }
  if (w->source == 0)
    w->source = g_timeout_add (HDD_MDEV_AUTOSTART_RETRY_MS, on_watch, w);
}

/* ---- Uevents ---- */

/* The parent an mdev's uevent names: the directory its device lives in
 * (/sys/devices/.../PARENT/UUID), the only record of it once the mdev and
 * its object are gone; NULL when that is no name a parent may have. */
static char *
uevent_parent (GUdevDevice *device)
{
  const char *syspath = g_udev_device_get_sysfs_path (device);
  g_autofree char *dir = syspath ? g_path_get_dirname (syspath) : NULL;
  g_autofree char *base = dir ? g_path_get_basename (dir) : NULL;

  if (base == NULL || !hdd_mdev_check_name ("parent", base, NULL))
    return NULL;
  return g_steal_pointer (&base);
}

static void
on_mdev_uevent (HddMdevManager *self, GUdevDevice *device, const char *name)
{
  g_autofree char *uuid = hdd_uuid_canonicalize (name, NULL);
  g_autofree char *old_parent = NULL;
  g_autofree char *parent = NULL;
  HddMdev *mdev;

  if (uuid == NULL)
    return;
  /* Once it is gone, only the object still knows the parent; once the
   * object is gone too (its job's end dropped it, before the kernel's
   * remove uevent), the uevent's path does. */
  mdev = lookup (self, uuid);
  if (mdev)
    old_parent = g_strdup (hdd_dbus_mdev_get_parent (HDD_DBUS_MDEV (mdev)));
  if (old_parent == NULL || *old_parent == '\0')
    {
      g_free (old_parent);
      old_parent = uevent_parent (device);
    }
  parent = sync_mdev (self, uuid);
  if (parent && *parent)
    sync_types (self, parent, TRUE);
  if (old_parent && *old_parent && g_strcmp0 (old_parent, parent) != 0)
    sync_types (self, old_parent, TRUE);
}

static void
on_uevent (GUdevClient *client, const char *action, GUdevDevice *device, gpointer user_data)
{
  HddMdevManager *self = user_data;
  const char *name = g_udev_device_get_name (device);

  if (name == NULL)
    return;
  g_debug ("uevent %s %s (%s)", action, name, g_udev_device_get_subsystem (device));
  /* A job waiting for what sysfs says after its write looks again now. */
  hdd_sysfs_kick ();
  if (g_strcmp0 (g_udev_device_get_subsystem (device), "mdev") == 0)
    {
      on_mdev_uevent (self, device, name);
      return;
    }
  /* Any device of those subsystems may be an mdev parent: those that are
   * not cost a failed opendir. */
  if (!hdd_mdev_check_name ("parent", name, NULL))
    return;
  if (g_str_equal (action, "remove") || g_str_equal (action, "unbind"))
    sync_types (self, name, FALSE);
  else
    {
      reload_parent_if_changed (self, name);
      watch_parent (self, name);
    }
}

/* The mdevs, and the buses and classes mdev parents live on: those of the
 * parents present now, and those of the kernel's mdev drivers (GVT-g and
 * vGPUs on pci, vfio-ccw on css, vfio-ap on matrix, the samples in classes
 * of their own).  Not every uevent of the machine: most are not about
 * mdevs, and a parent driver registers its kind once. */
static const char * const parent_subsystems[] = {
  "mdev", "mdev_bus", "pci", "css", "matrix", "ap", "platform", "auxiliary", "dsa",
  "mtty", "mdpy", "mbochs",
};

static GUdevClient *
udev_client_new (GPtrArray *parents)
{
  g_autoptr(GPtrArray) subsystems = g_ptr_array_new_with_free_func (g_free);

  for (gsize i = 0; i < G_N_ELEMENTS (parent_subsystems); i++)
    g_ptr_array_add (subsystems, g_strdup (parent_subsystems[i]));
  for (guint i = 0; i < parents->len; i++)
    {
      g_autofree char *link = hdd_sysfs_path ("/sys/class/mdev_bus/%s/subsystem",
                                              (char *) g_ptr_array_index (parents, i));
      char *subsystem = hdd_sysfs_link_basename (link);

      if (subsystem && !g_ptr_array_find_with_equal_func (subsystems, subsystem, g_str_equal, NULL))
        g_ptr_array_add (subsystems, subsystem);
      else
        g_free (subsystem);
    }
  g_ptr_array_add (subsystems, NULL);
  return g_udev_client_new ((const char * const *) subsystems->pdata);
}

/* ---- Jobs ---- */

/* A job on an mdev ended: the mdev and its parent's types are read again. */
static void
on_job_finished (HddJobTable *jobs, HddJob *job, GObject *device, gpointer user_data)
{
  HddMdevManager *self = user_data;
  g_autofree char *uuid = NULL;
  g_autofree char *parent = NULL;

  if (device == NULL || !HDD_IS_MDEV (device))
    return;
  uuid = g_strdup (hdd_mdev_get_uuid (HDD_MDEV (device)));
  parent = g_strdup (hdd_dbus_mdev_get_parent (HDD_DBUS_MDEV (device)));
  g_free (sync_mdev (self, uuid));
  if (*parent)
    sync_types (self, parent, TRUE);
}

/* ---- Holders ---- */

gboolean
hdd_mdev_manager_has_vfio_node (HddMdevManager *self)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->mdevs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      const char *group_node, *device_node;

      hdd_mdev_get_nodes (value, &group_node, &device_node);
      if (group_node || device_node)
        return TRUE;
    }
  return FALSE;
}

void
hdd_mdev_manager_set_holders (HddMdevManager *self,
                              GHashTable     *index)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->mdevs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      const char *group_node, *device_node;
      g_autoptr(GPtrArray) mine = NULL;

      hdd_mdev_get_nodes (value, &group_node, &device_node);
      if (group_node || device_node)
        mine = hdd_holders_lookup (index, group_node, device_node);
      hdd_mdev_set_holders_from (value, mine);
    }
}

void
hdd_mdev_manager_update_domains (HddMdevManager *self)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->mdevs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    hdd_mdev_update_domain (value);
}

/* ---- Manager methods ---- */

static gboolean
reply_error (GDBusMethodInvocation *invocation, GError *error)
{
  g_dbus_method_invocation_return_gerror (invocation, error);
  return TRUE;
}

/* The request of a CreateMdev or DefineMdev, checked.  @uuid empty: a new
 * random one.  With @from_running, @parent and @type may be empty for a
 * running mdev: they are taken from it. */
static HddMdevConfig *
config_from_call (const char *parent, const char *type, const char *uuid,
                  GVariant *attributes, gboolean from_running, GError **error)
{
  g_autofree char *canonical = NULL;
  g_autofree char *running_parent = NULL;
  g_autofree char *running_type = NULL;
  g_autoptr(HddMdevConfig) c = NULL;
  GVariantIter iter;
  const char *name, *value;

  canonical = *uuid ? hdd_uuid_canonicalize (uuid, error) : g_uuid_string_random ();
  if (canonical == NULL)
    return NULL;
  if (from_running && *parent == '\0' && *type == '\0')
    {
      if (!hdd_mdev_sysfs_read_parent_and_type (canonical, &running_parent, &running_type))
        {
          g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                       "Give the parent and type of mdev %s: it is not running", canonical);
          return NULL;
        }
      parent = running_parent;
      type = running_type;
    }
  if (!hdd_mdev_check_name ("parent", parent, error) ||
      !hdd_mdev_check_name ("type", type, error))
    return NULL;

  c = hdd_mdev_config_new (canonical, parent, type, FALSE);
  g_variant_iter_init (&iter, attributes);
  while (g_variant_iter_next (&iter, "(&s&s)", &name, &value))
    {
      if (!hdd_mdev_check_attribute (name, value, error))
        return NULL;
      hdd_mdev_config_add_attr (c, name, value);
    }
  return g_steal_pointer (&c);
}

/* A UUID is taken by a running mdev, a definition, or a create under way. */
static gboolean
check_uuid_free (HddMdevManager *self, const char *uuid, GError **error)
{
  HddMdev *mdev;

  reload_definitions_if_changed (self, uuid);
  mdev = lookup (self, uuid);
  if (mdev && hdd_mdev_get_definition (mdev))
    g_set_error (error, HDD_ERROR, HDD_ERROR_ALREADY_EXISTS,
                 "mdev %s is defined already (on %s)", uuid,
                 hdd_mdev_get_definition (mdev)->parent);
  else if (mdev && hdd_mdev_is_busy (mdev))
    g_set_error (error, HDD_ERROR, HDD_ERROR_ALREADY_EXISTS,
                 "A job operates on mdev %s already", uuid);
  else if (hdd_mdev_sysfs_is_active (uuid))
    g_set_error (error, HDD_ERROR, HDD_ERROR_ALREADY_EXISTS,
                 "An mdev with UUID %s exists already", uuid);
  else
    return TRUE;
  return FALSE;
}

static void
bouncer_dispatch (HddMdevManager *self, GDBusMethodInvocation *invocation, GVariant *options,
                  HddBouncerCall call)
{
  call.object = self;
  hdd_bouncer_dispatch (self->services->authority, invocation, options, &call);
}

/* CreateMdev: the UUID is free and the kernel can create it. */
static gboolean
check_create (gpointer object, gpointer request, GError **error)
{
  HddMdevManager *self = object;
  HddMdevConfig *c = request;

  return check_uuid_free (self, c->uuid, error) && hdd_mdev_ops_check_create (c, error);
}

static void
run_create (gpointer object, GDBusMethodInvocation *invocation, gpointer request)
{
  HddMdevManager *self = object;
  HddMdevConfig *c = request;
  HddMdev *mdev = ensure_mdev (self, c->uuid);
  HddJob *job = hdd_job_table_start (self->services->jobs, HDD_DEVICE (mdev), invocation,
                                     hdd_mdev_ops_create (self->services->context, c,
                                                          "create-mdev"));

  hdd_mdev_set_created (mdev, c);
  g_dbus_method_invocation_return_value (invocation,
                                         g_variant_new ("(oo)", hdd_mdev_get_object_path (mdev),
                                                        hdd_job_get_object_path (job)));
}

gboolean
hdd_mdev_manager_handle_create (HddMdevManager        *self,
                                HddDbusManager        *iface,
                                GDBusMethodInvocation *invocation,
                                const char            *parent,
                                const char            *type,
                                const char            *uuid,
                                GVariant              *attributes,
                                GVariant              *options)
{
  g_autoptr(GError) error = NULL;
  HddMdevConfig *c;

  if (!hdd_options_check_call (invocation, options, NULL))
    return TRUE;
  c = config_from_call (parent, type, uuid, attributes, FALSE, &error);
  if (c == NULL)
    return reply_error (invocation, error);
  bouncer_dispatch (self, invocation, options,
                    (HddBouncerCall) { .request = c,
                                       .request_free = (GDestroyNotify) hdd_mdev_config_free,
                                       .check = check_create, .run = run_create });
  return TRUE;
}

static const HddOptionSpec define_options[] = {
  { "autostart", "b" },
  { NULL }
};

/* DefineMdev: no definition of the UUID yet. */
static gboolean
check_define (gpointer object, gpointer request, GError **error)
{
  HddMdevManager *self = object;
  HddMdevConfig *c = request;
  HddMdev *mdev;

  reload_definitions_if_changed (self, c->uuid);
  mdev = lookup (self, c->uuid);
  if (mdev == NULL || hdd_mdev_get_definition (mdev) == NULL)
    return TRUE;
  g_set_error (error, HDD_ERROR, HDD_ERROR_ALREADY_EXISTS, "mdev %s is defined already (on %s)",
               c->uuid, hdd_mdev_get_definition (mdev)->parent);
  return FALSE;
}

static void
run_define (gpointer object, GDBusMethodInvocation *invocation, gpointer request)
{
  HddMdevManager *self = object;
  HddMdevConfig *c = request;
  g_autoptr(GError) error = NULL;
  HddMdev *mdev;

  if (!hdd_mdevctl_save (self->directory, c, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }
  mdev = ensure_mdev (self, c->uuid);
  hdd_mdev_set_definition (mdev, c);
  definitions_changed (self);
  hdd_message (c->uuid, 0, "mdev %s is defined: %s on %s, start: %s", c->uuid, c->type,
               c->parent, c->autostart ? "auto" : "manual");
  g_dbus_method_invocation_return_value (invocation,
                                         g_variant_new ("(o)", hdd_mdev_get_object_path (mdev)));
}

gboolean
hdd_mdev_manager_handle_define (HddMdevManager        *self,
                                HddDbusManager        *iface,
                                GDBusMethodInvocation *invocation,
                                const char            *parent,
                                const char            *type,
                                const char            *uuid,
                                GVariant              *attributes,
                                GVariant              *options)
{
  g_autoptr(GError) error = NULL;
  HddMdevConfig *c;

  if (!hdd_options_check_call (invocation, options, define_options))
    return TRUE;
  c = config_from_call (parent, type, uuid, attributes, TRUE, &error);
  if (c == NULL)
    return reply_error (invocation, error);
  c->autostart = hdd_options_get_boolean (options, "autostart", FALSE);
  bouncer_dispatch (self, invocation, options,
                    (HddBouncerCall) { .request = c,
                                       .request_free = (GDestroyNotify) hdd_mdev_config_free,
                                       .check = check_define, .run = run_define });
  return TRUE;
}

gboolean
hdd_mdev_manager_handle_get_mdev (HddMdevManager        *self,
                                HddDbusManager        *iface,
                                  GDBusMethodInvocation *invocation,
                                  const char            *uuid,
                                  GVariant              *options)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *canonical = NULL;
  HddMdev *mdev;

  if (!hdd_options_check_call (invocation, options, NULL))
    return TRUE;
  canonical = hdd_uuid_canonicalize (uuid, &error);
  if (canonical == NULL)
    return reply_error (invocation, error);
  reload_definitions_if_changed (self, canonical);
  mdev = lookup (self, canonical);
  if (mdev == NULL)
    {
      g_dbus_method_invocation_return_error (invocation, HDD_ERROR, HDD_ERROR_NOT_FOUND,
                                             "No mdev %s", canonical);
      return TRUE;
    }
  hdd_dbus_manager_complete_get_mdev (iface, invocation, hdd_mdev_get_object_path (mdev));
  return TRUE;
}

/* ---- Start-up ---- */

void
hdd_mdev_manager_start (HddMdevManager *self)
{
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr(GPtrArray) parents = hdd_mdev_sysfs_list_parents ();
  g_autoptr(GPtrArray) active = hdd_mdev_sysfs_list_active ();
  g_autoptr(GPtrArray) uuids = NULL;
  g_autoptr(GPtrArray) waiting = g_ptr_array_new_with_free_func (g_free);

  g_signal_connect_object (self->services->jobs, "job-finished", G_CALLBACK (on_job_finished),
                           self, 0);
  self->udev = udev_client_new (parents);
  g_signal_connect (self->udev, "uevent", G_CALLBACK (on_uevent), self);

  for (guint i = 0; i < parents->len; i++)
    sync_types (self, g_ptr_array_index (parents, i), FALSE);
  watch_definitions (self);
  reload_definitions (self);
  for (guint i = 0; i < active->len; i++)
    {
      HddMdev *mdev = lookup (self, g_ptr_array_index (active, i));

      /* A definition made it a moment ago, from sysfs as it is. */
      if (mdev && hdd_dbus_mdev_get_active (HDD_DBUS_MDEV (mdev)))
        continue;
      g_free (sync_mdev (self, g_ptr_array_index (active, i)));
    }
  hdd_message (NULL, 0, "Managing %u mdev types of %u parents, %u mdevs (definitions in %s; "
               "read in %.2f s)", g_hash_table_size (self->types), parents->len,
               g_hash_table_size (self->mdevs), self->directory,
               (g_get_monotonic_time () - t0) / 1e6);

  /* Autostart: the parents present now, and those still registering. */
  uuids = uuids_of (self);
  for (guint i = 0; i < uuids->len; i++)
    {
      const HddMdevConfig *c = hdd_mdev_get_definition (lookup (self, g_ptr_array_index (uuids, i)));

      if (c && c->autostart && !hdd_mdev_sysfs_is_active (c->uuid) &&
          !g_ptr_array_find_with_equal_func (waiting, c->parent, g_str_equal, NULL))
        g_ptr_array_add (waiting, g_strdup (c->parent));
    }
  for (guint i = 0; i < waiting->len; i++)
    watch_parent (self, g_ptr_array_index (waiting, i));
}
