/* bindings.conf, the key file of the state directory, as a crash, a disk
 * or a person may leave it: loaded from a directory of its own.  A file
 * that loads must be written back (hdd_store_put of an entry it holds,
 * which rewrites the whole file) and load again to the same entries; one
 * that does not must be moved aside, never lost. */
#include "fuzz-common.h"

#include "hdd-error.h"
#include "hdd-pci-address.h"
#include "hdd-store.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

static char *dir;
static char *path;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  /* $TMPDIR: scripts/fuzz.sh points it at a tmpfs, where the store's
   * fsyncs cost nothing. */
  dir = g_dir_make_tmp ("fuzz-store-XXXXXX", NULL);
  if (dir == NULL)
    abort ();
  path = g_build_filename (dir, "bindings.conf", NULL);
  return 0;
}

static void
empty_dir (const char *d)
{
  g_autoptr(GDir) gd = g_dir_open (d, 0, NULL);
  const char *name;

  while (gd && (name = g_dir_read_name (gd)))
    {
      g_autofree char *p = g_build_filename (d, name, NULL);

      if (g_file_test (p, G_FILE_TEST_IS_DIR))
        {
          empty_dir (p);
          g_rmdir (p);
        }
      else
        g_unlink (p);
    }
}

static gboolean
same_lists (GPtrArray *a, GPtrArray *b)
{
  if (a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++)
    {
      HddBinding *x = g_ptr_array_index (a, i), *y = g_ptr_array_index (b, i);

      if (g_strcmp0 (x->address, y->address) != 0 ||
          g_strcmp0 (x->original_driver, y->original_driver) != 0 ||
          !x->persistent != !y->persistent)
        return FALSE;
    }
  return TRUE;
}

static guint
count_aside (void)
{
  g_autoptr(GDir) gd = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  while (gd && (name = g_dir_read_name (gd)))
    n += g_str_has_prefix (name, "bindings.conf.corrupt-");
  return n;
}

static void
run (const uint8_t *data, size_t size)
{
  g_autoptr(HddStore) store = hdd_store_new (dir);
  g_autoptr(HddStore) reloaded = NULL;
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GPtrArray) relist = NULL;
  g_autoptr(GError) error = NULL;
  HddBinding *first;

  if (!g_file_set_contents (path, (const char *) data, (gssize) size, NULL))
    abort ();
  if (!hdd_store_load (store, &error))
    {
      g_autoptr(GPtrArray) none = hdd_store_list (store);

      FUZZ_CHECK (error != NULL, "refused without a reason");
      FUZZ_CHECK (!g_file_test (path, G_FILE_TEST_EXISTS) && count_aside () == 1,
                  "a file that does not load was not moved aside: %s", error->message);
      FUZZ_CHECK (none->len == 0, "%u entries from a refused file", none->len);
      return;
    }
  list = hdd_store_list (store);
  for (guint i = 0; i < list->len; i++)
    {
      HddBinding *b = g_ptr_array_index (list, i);
      g_autofree char *canonical = hdd_pci_address_canonicalize (b->address, NULL);
      FUZZ_CHECK (g_strcmp0 (canonical, b->address) == 0, "entry “%s”", b->address);
    }
  if (list->len == 0)
    return;
  first = g_ptr_array_index (list, 0);
  FUZZ_CHECK (hdd_store_put (store, first->address, first->original_driver,
                             first->persistent, &error), "put: %s", error->message);
  reloaded = hdd_store_new (dir);
  FUZZ_CHECK (hdd_store_load (reloaded, &error), "what the store wrote does not load: %s",
              error->message);
  relist = hdd_store_list (reloaded);
  FUZZ_CHECK (same_lists (list, relist), "entries changed by a rewrite");
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  run (data, size);
  empty_dir (dir);
  return 0;
}
