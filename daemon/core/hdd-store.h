/* Bindings hostdevd made, persisted under the state directory.
 *
 * Each entry records the driver a device had before hostdevd moved it to
 * vfio-pci (so Restore can give it back, even after a daemon restart) and
 * whether the binding is persistent (re-applied at start-up and whenever the
 * device appears).  The file is rewritten whole and atomically on every
 * change: a temporary file, fsync, rename, fsync of the directory.  Safe to
 * use from several threads.
 *
 * Next to it, persistent/ADDRESS exists for every persistent binding: what
 * the udev rule tests to start hostdevd early when such a device appears. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef struct {
  char     *address;
  char     *original_driver;  /* NULL when unknown */
  gboolean  persistent;
} HddBinding;

void hdd_binding_free (HddBinding *binding);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HddBinding, hdd_binding_free)

#define HDD_TYPE_STORE (hdd_store_get_type ())
G_DECLARE_FINAL_TYPE (HddStore, hdd_store, HDD, STORE, GObject)

HddStore *hdd_store_new (const char *directory);

const char *hdd_store_get_directory (HddStore *self);

/* The largest bindings.conf read (an entry takes some 70 bytes). */
#define HDD_STORE_MAX_FILE_SIZE (1024 * 1024)

/* Whether @name can be a Linux driver's name as it appears in
 * /sys/bus/pci/drivers/: 1 to 255 printable ASCII characters (spaces
 * allowed: old drivers had them), no "/", not "." nor "..".  What the store
 * keeps as an original driver becomes part of a sysfs path. */
gboolean hdd_store_driver_name_is_valid (const char *name);

/* Reads the file.  A missing file is an empty store.  A file that cannot be
 * parsed (or is larger than HDD_STORE_MAX_FILE_SIZE, holds a NUL, or an
 * OriginalDriver that is not a driver's name) is moved aside
 * (bindings.conf.corrupt-TIMESTAMP, never deleted) and reported through
 * @error; the store is then empty. */
gboolean hdd_store_load (HddStore *self,
                         GError  **error);

/* A copy of the entry for @address, or NULL. */
HddBinding *hdd_store_lookup (HddStore   *self,
                              const char *address);

/* Adds or replaces the entry for @address and writes the file.  On failure
 * (an @original_driver that is not a driver's name, a failed write) the
 * store is unchanged. */
gboolean hdd_store_put (HddStore   *self,
                        const char *address,
                        const char *original_driver,
                        gboolean    persistent,
                        GError    **error);

/* Drops the entry for @address (no-op when absent) and writes the file. */
gboolean hdd_store_remove (HddStore   *self,
                           const char *address,
                           GError    **error);

/* Copies of all entries, sorted by address. */
GPtrArray *hdd_store_list (HddStore *self);

G_END_DECLS
