#include "hdd-store.h"

#include "hdd-error.h"
#include "hdd-file.h"
#include "hdd-log.h"
#include "hdd-pci-address.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#define STORE_FILE "bindings.conf"
#define MARKER_DIR "persistent"
#define KEY_ORIGINAL_DRIVER "OriginalDriver"
#define KEY_PERSISTENT "Persistent"

struct _HddStore
{
  GObject     parent;

  char       *directory;
  char       *path;
  char       *markers;
  GMutex      lock;
  GHashTable *entries;  /* address -> HddBinding */
};

G_DEFINE_TYPE (HddStore, hdd_store, G_TYPE_OBJECT)

void
hdd_binding_free (HddBinding *binding)
{
  if (binding == NULL)
    return;
  g_free (binding->address);
  g_free (binding->original_driver);
  g_free (binding);
}

static HddBinding *
binding_new (const char *address, const char *original_driver, gboolean persistent)
{
  HddBinding *b = g_new0 (HddBinding, 1);

  b->address = g_strdup (address);
  b->original_driver = g_strdup (original_driver);
  b->persistent = persistent;
  return b;
}

static HddBinding *
binding_copy (const HddBinding *b)
{
  return binding_new (b->address, b->original_driver, b->persistent);
}

static void
hdd_store_finalize (GObject *object)
{
  HddStore *self = HDD_STORE (object);

  g_free (self->directory);
  g_free (self->path);
  g_free (self->markers);
  g_hash_table_unref (self->entries);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (hdd_store_parent_class)->finalize (object);
}

static void
hdd_store_class_init (HddStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hdd_store_finalize;
}

static void
hdd_store_init (HddStore *self)
{
  g_mutex_init (&self->lock);
  self->entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                         (GDestroyNotify) hdd_binding_free);
}

HddStore *
hdd_store_new (const char *directory)
{
  HddStore *self = g_object_new (HDD_TYPE_STORE, NULL);

  self->directory = g_strdup (directory);
  self->path = g_build_filename (directory, STORE_FILE, NULL);
  self->markers = g_build_filename (directory, MARKER_DIR, NULL);
  return self;
}

const char *
hdd_store_get_directory (HddStore *self)
{
  return self->directory;
}

gboolean
hdd_store_driver_name_is_valid (const char *name)
{
  gsize len;

  if (name == NULL)
    return FALSE;
  len = strlen (name);
  if (len == 0 || len > 255 || g_str_equal (name, ".") || g_str_equal (name, ".."))
    return FALSE;
  for (const char *p = name; *p; p++)
    if (*p < 0x20 || *p > 0x7e || *p == '/')
      return FALSE;
  return TRUE;
}

/* The file's bytes, at most HDD_STORE_MAX_FILE_SIZE of them. */
static char *
read_bounded (const char *path, gsize *len, GError **error)
{
  g_autofree char *data = g_malloc (HDD_STORE_MAX_FILE_SIZE + 1);
  gsize got = 0;
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "%s",
                   g_strerror (saved));
      return NULL;
    }
  /* One byte more than allowed tells a file that is too large. */
  while (got <= HDD_STORE_MAX_FILE_SIZE)
    {
      gssize n = read (fd, data + got, HDD_STORE_MAX_FILE_SIZE + 1 - got);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          close (fd);
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "%s",
                       g_strerror (saved));
          return NULL;
        }
      if (n == 0)
        break;
      got += n;
    }
  close (fd);
  if (got > HDD_STORE_MAX_FILE_SIZE)
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                   "larger than %d bytes", HDD_STORE_MAX_FILE_SIZE);
      return NULL;
    }
  if (memchr (data, '\0', got) != NULL)
    {
      g_set_error_literal (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                           "it holds a NUL byte");
      return NULL;
    }
  *len = got;
  return g_steal_pointer (&data);
}

static gboolean
parse_file (HddStore *self, GHashTable *entries, GError **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_auto(GStrv) groups = NULL;
  g_autofree char *data = NULL;
  gsize len = 0;

  data = read_bounded (self->path, &len, error);
  if (data == NULL || !g_key_file_load_from_data (kf, data, len, G_KEY_FILE_NONE, error))
    return FALSE;

  groups = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; groups[i]; i++)
    {
      g_autofree char *address = NULL;
      g_autofree char *driver = NULL;
      g_autoptr(GError) local = NULL;
      gboolean persistent;

      address = hdd_pci_address_canonicalize (groups[i], &local);
      if (address == NULL)
        {
          g_autofree char *shown = g_strescape (groups[i], NULL);

          g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                       "section [%.64s]: %s", shown, local->message);
          return FALSE;
        }
      persistent = g_key_file_get_boolean (kf, groups[i], KEY_PERSISTENT, &local);
      if (local != NULL)
        {
          g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                       "section [%s]: %s", groups[i], local->message);
          return FALSE;
        }
      /* Missing or empty: unknown.  Anything else becomes a sysfs path
       * (/sys/bus/pci/drivers/DRIVER/bind) and must be a driver's name. */
      driver = g_key_file_get_string (kf, groups[i], KEY_ORIGINAL_DRIVER, &local);
      if (g_error_matches (local, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND))
        g_clear_error (&local);
      if (local != NULL)
        {
          g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                       "section [%s]: %s", address, local->message);
          return FALSE;
        }
      if (driver && *driver == '\0')
        g_clear_pointer (&driver, g_free);
      if (driver && !hdd_store_driver_name_is_valid (driver))
        {
          g_autofree char *shown = g_strescape (driver, NULL);

          g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                       "section [%s]: OriginalDriver “%.64s” is not a driver's name",
                       address, shown);
          return FALSE;
        }

      g_hash_table_replace (entries, g_strdup (address),
                            binding_new (address, driver, persistent));
    }
  return TRUE;
}

/* g_file_set_contents() writes STORE_FILE.XXXXXX and renames it; a crash
 * in between leaves the temporary file behind.  It never holds anything the
 * real file does not, so it goes. */
static void
remove_stale_temporaries (HddStore *self)
{
  g_autoptr(GDir) dir = g_dir_open (self->directory, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)))
    {
      if (hdd_file_is_stale_temporary (name, STORE_FILE) &&
          !g_str_has_prefix (name, STORE_FILE ".corrupt"))
        {
          g_autofree char *p = g_build_filename (self->directory, name, NULL);
          g_unlink (p);
        }
    }
}

/* The udev rule (data/70-hostdevd.rules) starts hostdevd when a PCI device
 * appears whose address names a file in MARKER_DIR: udev can test for a
 * file, not read a key file.  The markers are derived from the entries,
 * rebuilt after every change and at load, so one a crash left wrong is
 * right again at the next start.  They are only a hint for an early start
 * (the service starts anyway when enabled or activated): failing to write
 * them is logged, never an error. */
static void
sync_markers_locked (HddStore *self)
{
  g_autoptr(GDir) dir = NULL;
  GHashTableIter iter;
  gpointer value;
  const char *name;
  guint wanted = 0;

  dir = g_dir_open (self->markers, 0, NULL);
  while (dir && (name = g_dir_read_name (dir)))
    {
      HddBinding *b = g_hash_table_lookup (self->entries, name);

      if (b == NULL || !b->persistent)
        {
          g_autofree char *p = g_build_filename (self->markers, name, NULL);
          if (g_unlink (p) < 0 && errno != ENOENT)
            hdd_message (name, 0, "Cannot remove %s: %s", p, g_strerror (errno));
        }
    }

  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      HddBinding *b = value;
      g_autofree char *p = NULL;
      g_autoptr(GError) error = NULL;

      if (!b->persistent)
        continue;
      wanted++;
      p = g_build_filename (self->markers, b->address, NULL);
      if (g_file_test (p, G_FILE_TEST_EXISTS))
        continue;
      if (g_mkdir_with_parents (self->markers, 0755) < 0 ||
          !g_file_set_contents (p, "", 0, &error))
        hdd_message (b->address, 0, "Cannot mark %s for udev in %s: %s (it is bound "
                     "when hostdevd starts, not when udev sees it)", b->address,
                     self->markers, error ? error->message : g_strerror (errno));
    }
  /* An empty directory says nothing: leave the state directory as clean
   * as it was before the first persistent binding. */
  if (wanted == 0)
    g_rmdir (self->markers);
}

gboolean
hdd_store_load (HddStore *self,
                GError  **error)
{
  g_autoptr(GHashTable) entries = NULL;
  g_autoptr(GError) local = NULL;
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                   (GDestroyNotify) hdd_binding_free);
  g_hash_table_remove_all (self->entries);
  remove_stale_temporaries (self);

  if (!g_file_test (self->path, G_FILE_TEST_EXISTS))
    {
      sync_markers_locked (self);
      return TRUE;
    }

  if (!parse_file (self, entries, &local))
    {
      g_autofree char *aside = g_strdup_printf ("%s.corrupt-%" G_GINT64_FORMAT,
                                                self->path, g_get_real_time ());
      if (g_rename (self->path, aside) < 0)
        g_clear_pointer (&aside, g_free);
      sync_markers_locked (self);
      g_set_error (error, HDD_ERROR, HDD_ERROR_FAILED,
                   "%s cannot be read (%s); it was moved to %s and no binding "
                   "was loaded from it", self->path, local->message,
                   aside ? aside : "nowhere (rename failed)");
      return FALSE;
    }

  {
    GHashTableIter iter;
    gpointer value;

    g_hash_table_iter_init (&iter, entries);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      {
        HddBinding *b = binding_copy (value);
        g_hash_table_replace (self->entries, b->address, b);
      }
  }
  sync_markers_locked (self);
  return TRUE;
}

static int
compare_bindings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 ((*(HddBinding * const *) a)->address,
                    (*(HddBinding * const *) b)->address);
}

static GPtrArray *
list_locked (HddStore *self)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) hdd_binding_free);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (list, binding_copy (value));
  g_ptr_array_sort (list, compare_bindings);
  return list;
}

static gboolean
write_locked (HddStore *self, GHashTable *entries, gboolean durable, GError **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GPtrArray) list = NULL;
  g_autofree char *data = NULL;
  gsize len;
  GHashTableIter iter;
  gpointer value;

  list = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, entries);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (list, value);
  g_ptr_array_sort (list, compare_bindings);

  g_key_file_set_comment (kf, NULL, NULL,
                          " Bindings made by hostdevd.  Managed by the daemon: "
                          "use hostdevctl, do not edit.", NULL);
  for (guint i = 0; i < list->len; i++)
    {
      HddBinding *b = g_ptr_array_index (list, i);
      g_key_file_set_string (kf, b->address, KEY_ORIGINAL_DRIVER,
                             b->original_driver ? b->original_driver : "");
      g_key_file_set_boolean (kf, b->address, KEY_PERSISTENT, b->persistent);
    }
  data = g_key_file_to_data (kf, &len, NULL);
  if (durable)
    return hdd_file_replace (self->path, data, len, 0644, error);
  return hdd_file_replace_consistent (self->path, data, len, 0644, error);
}

/* Whether a change must survive a power loss: only when it touches a
 * persistent binding, the one thing the next boot reads (bindings applied
 * at start-up, the udev markers).  An entry that is not persistent
 * describes the running kernel, which a power loss resets: a record lost
 * with it (the file as it was before the change, complete, with the same
 * persistent bindings) is what the store holds anyway after any reboot, a
 * binding the kernel no longer has, and start-up compares each record with
 * sysfs (hdd-reconcile.h).  Every change, durable or not, is atomic and
 * its file complete on disk before it is renamed (hdd-file.h): one fsync,
 * and a second one, of the directory, for a persistent change. */
static gboolean
change_is_durable (HddStore *self, const char *address, const HddBinding *replacement)
{
  HddBinding *old = g_hash_table_lookup (self->entries, address);

  return (old && old->persistent) || (replacement && replacement->persistent);
}

/* Applies a change to a copy, writes the copy, and only then swaps it in,
 * so that a failed write leaves the store as it was. */
static gboolean
commit (HddStore *self, const char *address, HddBinding *replacement, GError **error)
{
  g_autoptr(GHashTable) next = NULL;
  GHashTableIter iter;
  gpointer value;

  next = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                (GDestroyNotify) hdd_binding_free);
  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      HddBinding *b = binding_copy (value);
      g_hash_table_replace (next, b->address, b);
    }
  if (replacement)
    g_hash_table_replace (next, replacement->address, replacement);
  else
    g_hash_table_remove (next, address);

  if (!write_locked (self, next, change_is_durable (self, address, replacement), error))
    {
      hdd_error_normalize (error);
      return FALSE;
    }
  g_hash_table_unref (self->entries);
  self->entries = g_steal_pointer (&next);
  sync_markers_locked (self);
  return TRUE;
}

HddBinding *
hdd_store_lookup (HddStore   *self,
                  const char *address)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  HddBinding *b = g_hash_table_lookup (self->entries, address);

  return b ? binding_copy (b) : NULL;
}

gboolean
hdd_store_put (HddStore   *self,
               const char *address,
               const char *original_driver,
               gboolean    persistent,
               GError    **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  if (original_driver && *original_driver && !hdd_store_driver_name_is_valid (original_driver))
    {
      g_autofree char *shown = g_strescape (original_driver, NULL);

      g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                   "“%.64s” is not a driver's name", shown);
      return FALSE;
    }
  return commit (self, address, binding_new (address, original_driver, persistent), error);
}

gboolean
hdd_store_remove (HddStore   *self,
                  const char *address,
                  GError    **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  if (!g_hash_table_contains (self->entries, address))
    return TRUE;
  return commit (self, address, NULL, error);
}

GPtrArray *
hdd_store_list (HddStore *self)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  return list_locked (self);
}
