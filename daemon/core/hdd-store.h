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

/* Reads the file.  A missing file is an empty store.  A file that cannot be
 * parsed is moved aside (bindings.conf.corrupt-TIMESTAMP, never deleted) and
 * reported through @error; the store is then empty. */
gboolean hdd_store_load (HddStore *self,
                         GError  **error);

/* A copy of the entry for @address, or NULL. */
HddBinding *hdd_store_lookup (HddStore   *self,
                              const char *address);

/* Adds or replaces the entry for @address and writes the file.  On failure
 * the store is unchanged. */
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
