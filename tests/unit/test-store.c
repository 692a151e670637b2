#include "hdd-error.h"
#include "hdd-store.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  char *dir;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("hostdevd-store-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)))
    {
      g_autofree char *p = g_build_filename (path, name, NULL);
      if (g_file_test (p, G_FILE_TEST_IS_DIR))
        remove_tree (p);
      else
        g_unlink (p);
    }
  g_chmod (path, 0755);
  g_rmdir (path);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  remove_tree (f->dir);
  g_free (f->dir);
}

static guint
count_files (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  while (d && g_dir_read_name (d))
    n++;
  return n;
}

static void
test_roundtrip (Fixture *f, gconstpointer data)
{
  g_autoptr(HddStore) store = hdd_store_new (f->dir);
  g_autoptr(HddStore) again = hdd_store_new (f->dir);
  g_autoptr(GError) error = NULL;
  g_autoptr(HddBinding) a = NULL;
  g_autoptr(HddBinding) b = NULL;
  g_autoptr(GPtrArray) list = NULL;

  g_assert_true (hdd_store_load (store, &error));
  g_assert_no_error (error);
  g_assert_true (hdd_store_put (store, "0000:02:00.0", NULL, FALSE, &error));
  g_assert_true (hdd_store_put (store, "0000:01:00.0", "e1000e", TRUE, &error));
  g_assert_no_error (error);

  g_assert_true (hdd_store_load (again, &error));
  a = hdd_store_lookup (again, "0000:01:00.0");
  b = hdd_store_lookup (again, "0000:02:00.0");
  g_assert_nonnull (a);
  g_assert_cmpstr (a->original_driver, ==, "e1000e");
  g_assert_true (a->persistent);
  g_assert_nonnull (b);
  g_assert_null (b->original_driver);
  g_assert_false (b->persistent);
  list = hdd_store_list (again);
  g_assert_cmpuint (list->len, ==, 2);
  g_assert_cmpstr (((HddBinding *) list->pdata[0])->address, ==, "0000:01:00.0");

  g_assert_true (hdd_store_remove (again, "0000:01:00.0", &error));
  g_assert_true (hdd_store_remove (again, "0000:09:00.0", &error));
  g_assert_no_error (error);
  g_assert_true (hdd_store_load (store, &error));
  g_assert_null (hdd_store_lookup (store, "0000:01:00.0"));
  /* The atomic write leaves no temporary file behind. */
  g_assert_cmpuint (count_files (f->dir), ==, 1);
}

static void
test_corrupt_moved_aside (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "bindings.conf", NULL);
  g_autoptr(HddStore) store = hdd_store_new (f->dir);
  g_autoptr(GError) error = NULL;
  const char *bad[] = {
    "[0000:01:00.0\nPersistent=true\n",
    "[../../etc]\nPersistent=true\n",
    "[0000:01:00.0]\nPersistent=maybe\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_true (g_file_set_contents (path, bad[i], -1, NULL));
      g_assert_false (hdd_store_load (store, &error));
      g_assert_error (error, HDD_ERROR, HDD_ERROR_FAILED);
      g_assert_nonnull (strstr (error->message, "moved to"));
      g_clear_error (&error);
      g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
      {
        g_autoptr(GPtrArray) list = hdd_store_list (store);
        g_assert_cmpuint (list->len, ==, 0);
      }
      g_usleep (2);  /* distinct timestamps for the moved-aside names */
    }
  /* Nothing was deleted: every bad file is still there, renamed. */
  g_assert_cmpuint (count_files (f->dir), ==, G_N_ELEMENTS (bad));
}

static void
test_failed_write_changes_nothing (Fixture *f, gconstpointer data)
{
  g_autoptr(HddStore) store = hdd_store_new (f->dir);
  g_autoptr(GError) error = NULL;
  g_autoptr(HddBinding) b = NULL;

  if (getuid () == 0)
    {
      /* root ignores directory permissions: make the file's place a
       * directory so the rename fails instead. */
      g_autofree char *path = g_build_filename (f->dir, "bindings.conf", NULL);
      g_assert_true (hdd_store_put (store, "0000:01:00.0", "e1000e", TRUE, &error));
      g_unlink (path);
      g_assert_cmpint (g_mkdir (path, 0755), ==, 0);
      g_assert_false (hdd_store_put (store, "0000:02:00.0", NULL, TRUE, &error));
      g_rmdir (path);
    }
  else
    {
      g_assert_true (hdd_store_put (store, "0000:01:00.0", "e1000e", TRUE, &error));
      g_chmod (f->dir, 0555);
      g_assert_false (hdd_store_put (store, "0000:02:00.0", NULL, TRUE, &error));
      g_chmod (f->dir, 0755);
    }
  g_assert_nonnull (error);
  g_assert_true (error->domain == HDD_ERROR);
  g_assert_null (hdd_store_lookup (store, "0000:02:00.0"));
  b = hdd_store_lookup (store, "0000:01:00.0");
  g_assert_nonnull (b);
}

static gboolean
marked (Fixture *f, const char *address)
{
  g_autofree char *p = g_build_filename (f->dir, "persistent", address, NULL);

  return g_file_test (p, G_FILE_TEST_IS_REGULAR);
}

/* persistent/ADDRESS exists exactly for the persistent bindings: what the
 * udev rule tests. */
static void
test_udev_markers (Fixture *f, gconstpointer data)
{
  g_autoptr(HddStore) store = hdd_store_new (f->dir);
  g_autoptr(HddStore) again = hdd_store_new (f->dir);
  g_autoptr(GError) error = NULL;
  g_autofree char *markers = g_build_filename (f->dir, "persistent", NULL);
  g_autofree char *stray = g_build_filename (markers, "0000:07:00.0", NULL);

  g_assert_true (hdd_store_load (store, &error));
  g_assert_false (g_file_test (markers, G_FILE_TEST_EXISTS));
  g_assert_true (hdd_store_put (store, "0000:01:00.0", "e1000e", TRUE, &error));
  g_assert_true (hdd_store_put (store, "0000:02:00.0", "e1000e", FALSE, &error));
  g_assert_no_error (error);
  g_assert_true (marked (f, "0000:01:00.0"));
  g_assert_false (marked (f, "0000:02:00.0"));

  /* Forget: the marker goes; persist: it comes. */
  g_assert_true (hdd_store_put (store, "0000:01:00.0", "e1000e", FALSE, &error));
  g_assert_true (hdd_store_put (store, "0000:02:00.0", "e1000e", TRUE, &error));
  g_assert_false (marked (f, "0000:01:00.0"));
  g_assert_true (marked (f, "0000:02:00.0"));

  /* What a crash between the key file and the markers leaves is put right
   * at the next load. */
  g_assert_true (g_file_set_contents (stray, "", 0, NULL));
  g_assert_true (hdd_store_load (again, &error));
  g_assert_false (g_file_test (stray, G_FILE_TEST_EXISTS));
  g_assert_true (marked (f, "0000:02:00.0"));

  /* No persistent binding left: no directory left either. */
  g_assert_true (hdd_store_remove (again, "0000:02:00.0", &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (markers, G_FILE_TEST_EXISTS));
}

/* Loads @len bytes of @text as bindings.conf: TRUE if the store took it;
 * otherwise checks that the file was moved aside and nothing loaded. */
static gboolean
load_text (Fixture *f, const char *text, gssize len)
{
  g_autofree char *path = g_build_filename (f->dir, "bindings.conf", NULL);
  g_autoptr(HddStore) store = hdd_store_new (f->dir);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = NULL;
  gboolean ok;

  g_assert_true (g_file_set_contents (path, text, len, NULL));
  ok = hdd_store_load (store, &error);
  list = hdd_store_list (store);
  if (ok)
    {
      g_assert_no_error (error);
      g_assert_cmpuint (list->len, >, 0);
      return TRUE;
    }
  g_assert_error (error, HDD_ERROR, HDD_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "moved to"));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (list->len, ==, 0);
  g_usleep (2);
  return FALSE;
}

static void
test_driver_names (Fixture *f, gconstpointer data)
{
  g_autofree char *long_name = g_strnfill (256, 'a');
  g_autofree char *longest = g_strnfill (255, 'a');
  const char *good[] = { "e1000e", "snd_hda_intel", "vfio-pci", "xhci_hcd", "Intel ICH",
                         "8250_pci", "a.b+c:d", longest };
  const char *bad[] = { "", ".", "..", "../../../../tmp/x", "a/b", "/", "e1000e\n",
                        "e\033[2J", "caf\xc3\xa9", "\xff", "tab\there", long_name };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    g_assert_true (hdd_store_driver_name_is_valid (good[i]));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_false (hdd_store_driver_name_is_valid (bad[i]));
  g_assert_false (hdd_store_driver_name_is_valid (NULL));
}

/* bindings.conf is written by whoever can write the state directory: what
 * it says the original driver was becomes /sys/bus/pci/drivers/DRIVER/bind. */
static void
test_hostile_original_driver (Fixture *f, gconstpointer data)
{
  const char *bad[] = {
    "[0000:01:00.0]\nOriginalDriver=../../../../sys/kernel/x\nPersistent=true\n",
    "[0000:01:00.0]\nOriginalDriver=a/b\nPersistent=false\n",
    "[0000:01:00.0]\nOriginalDriver=..\nPersistent=false\n",
    "[0000:01:00.0]\nOriginalDriver=e\\e[2J\nPersistent=false\n",  /* "\e" is no escape */
    "[0000:01:00.0]\nOriginalDriver=e1000e\\n\nPersistent=false\n",
    "[0000:01:00.0]\nOriginalDriver=\xff\xfe\nPersistent=false\n",  /* not UTF-8 */
    "[0000:01:00.0]\nOriginalDriver=e1000e\nPersistent=false\n"
    "[0000:02:00.0]\nOriginalDriver=.\nPersistent=false\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_false (load_text (f, bad[i], -1));
  /* Every bad file is kept, renamed, for whoever looks into it. */
  g_assert_cmpuint (count_files (f->dir), ==, G_N_ELEMENTS (bad));

  g_assert_true (load_text (f, "[0000:01:00.0]\nOriginalDriver=snd_hda_intel\n"
                               "Persistent=false\n", -1));
  g_assert_true (load_text (f, "[0000:01:00.0]\nOriginalDriver=\nPersistent=false\n", -1));
  g_assert_true (load_text (f, "[0000:01:00.0]\nPersistent=true\n", -1));
}

static void
test_file_size_bound (Fixture *f, gconstpointer data)
{
  const char *entry = "[0000:01:00.0]\nOriginalDriver=e1000e\nPersistent=false\n";
  gsize entry_len = strlen (entry);
  g_autoptr(GString) text = g_string_new (entry);

  /* Exactly at the bound: read. */
  while (text->len < HDD_STORE_MAX_FILE_SIZE)
    g_string_append_c (text, text->len + 1 < HDD_STORE_MAX_FILE_SIZE ? '#' : '\n');
  g_assert_cmpuint (text->len, ==, HDD_STORE_MAX_FILE_SIZE);
  g_assert_cmpuint (entry_len, <, text->len);
  g_assert_true (load_text (f, text->str, text->len));
  /* One byte more: refused, moved aside, never read whole. */
  g_string_insert_c (text, entry_len, '#');
  g_assert_false (load_text (f, text->str, text->len));
  /* A NUL would cut what GKeyFile sees: refused too. */
  g_assert_false (load_text (f, "[0000:01:00.0]\nOriginalDriver=e1000e\0x\nPersistent=false\n",
                             56));
}

static void
test_put_refuses_bad_driver (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "bindings.conf", NULL);
  g_autoptr(HddStore) store = hdd_store_new (f->dir);
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  g_assert_true (hdd_store_load (store, &error));
  g_assert_true (hdd_store_put (store, "0000:01:00.0", "e1000e", FALSE, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &before, NULL, NULL));
  g_assert_false (hdd_store_put (store, "0000:01:00.0", "../x", TRUE, &error));
  g_assert_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT);
  g_assert_true (g_file_get_contents (path, &after, NULL, NULL));
  g_assert_cmpstr (before, ==, after);
  {
    g_autoptr(HddBinding) b = hdd_store_lookup (store, "0000:01:00.0");
    g_assert_cmpstr (b->original_driver, ==, "e1000e");
    g_assert_false (b->persistent);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/store/roundtrip", Fixture, NULL, setup, test_roundtrip, teardown);
  g_test_add ("/store/corrupt-moved-aside", Fixture, NULL, setup, test_corrupt_moved_aside, teardown);
  g_test_add ("/store/failed-write-changes-nothing", Fixture, NULL, setup,
              test_failed_write_changes_nothing, teardown);
  g_test_add ("/store/udev-markers", Fixture, NULL, setup, test_udev_markers, teardown);
  g_test_add ("/store/driver-names", Fixture, NULL, setup, test_driver_names, teardown);
  g_test_add ("/store/hostile-original-driver", Fixture, NULL, setup,
              test_hostile_original_driver, teardown);
  g_test_add ("/store/file-size-bound", Fixture, NULL, setup, test_file_size_bound, teardown);
  g_test_add ("/store/put-refuses-bad-driver", Fixture, NULL, setup,
              test_put_refuses_bad_driver, teardown);
  return g_test_run ();
}
