/* Attribute writes confined below a directory (hdd_sysfs_write_beneath):
 * no name on the way may be a link, with openat2() and with the walk of
 * kernels without it.  And the mdev create job that uses it: an attribute
 * through the mdev's mdev_type link would write the type's create (another
 * mdev) — refused, rolled back, nothing written outside. */
#include "fake-sysfs.h"
#include "hdd-context.h"
#include "hdd-error.h"
#include "hdd-job.h"
#include "hdd-mdev-ops.h"
#include "hdd-mdev-sysfs.h"
#include "hdd-store.h"
#include "hdd-sysfs.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#define UUID  "6d5c2a8e-2f4e-4a9e-9b1f-3c1d2e4f5a61"
#define UUID2 "6d5c2a8e-2f4e-4a9e-9b1f-3c1d2e4f5a62"


static char *
contents (const char *dir, const char *name)
{
  g_autofree char *p = g_build_filename (dir, name, NULL);
  char *data = NULL;

  if (!g_file_get_contents (p, &data, NULL, NULL))
    return NULL;
  return data;
}

static void
put (const char *dir, const char *name, const char *data)
{
  g_autofree char *p = g_build_filename (dir, name, NULL);

  g_assert_true (g_file_set_contents (p, data, -1, NULL));
}

static void
link_at (const char *dir, const char *name, const char *target)
{
  g_autofree char *p = g_build_filename (dir, name, NULL);

  g_assert_cmpint (symlink (target, p), ==, 0);
}

static void
assert_contents (const char *dir, const char *name, const char *expected)
{
  g_autofree char *data = contents (dir, name);

  g_assert_cmpstr (data, ==, expected);
}

/* TOP/dev is the directory written below; TOP/outside is not. */
static void
test_beneath (gconstpointer data)
{
  gboolean walk = GPOINTER_TO_INT (data);
  g_autoptr(GError) error = NULL;
  g_autofree char *top = g_dir_make_tmp ("hostdevd-beneath-XXXXXX", &error);
  g_autofree char *dev = g_build_filename (top, "dev", NULL);
  g_autofree char *outside = g_build_filename (top, "outside", NULL);
  g_autofree char *dev_link = g_build_filename (top, "dev-link", NULL);
  g_autofree char *sub = g_build_filename (dev, "vendor", NULL);
  const char *escapes[] = { "up/secret", "vendor/up/secret", "secret_link", "../outside/secret",
                            "/etc/passwd", "vendor/../../outside/secret", "", "a//b", "./label" };

  hdd_sysfs_set_openat2_disabled (walk);
  g_assert_cmpint (g_mkdir (dev, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (outside, 0755), ==, 0);
  put (dev, "label", "");
  put (sub, "mode", "");
  put (outside, "secret", "untouched");
  link_at (dev, "up", "../outside");
  link_at (sub, "up", "../../outside");
  link_at (dev, "secret_link", "../outside/secret");
  link_at (top, "dev-link", "dev");

  /* Plain names, one level or more; the directory itself may be a link. */
  g_assert_true (hdd_sysfs_write_beneath (dev, "label", "one", &error));
  g_assert_no_error (error);
  g_assert_true (hdd_sysfs_write_beneath (dev_link, "vendor/mode", "fast", &error));
  g_assert_no_error (error);
  assert_contents (dev, "label", "one");
  assert_contents (sub, "mode", "fast");

  for (guint i = 0; i < G_N_ELEMENTS (escapes); i++)
    {
      g_autoptr(GError) e = NULL;

      if (hdd_sysfs_write_beneath (dev, escapes[i], "pwned", &e))
        g_error ("“%s” was written", escapes[i]);
      g_assert_error (e, G_IO_ERROR, G_IO_ERROR_INVALID_FILENAME);
      g_assert_true (g_str_has_prefix (e->message, "Refusing to write"));
    }
  assert_contents (outside, "secret", "untouched");

  /* A name that is not there is the vendor driver's no, not a refusal. */
  g_assert_false (hdd_sysfs_write_beneath (dev, "no-such", "1", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  hdd_sysfs_set_openat2_disabled (FALSE);
  fake_sysfs_rm_rf (top);
}

/* ---- The mdev create job ---- */

typedef struct {
  FakeSysfs  *fs;
  char       *state;
  HddStore   *store;
  HddContext *context;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  const char *attributes[] = { "mode", NULL };

  hdd_sysfs_set_openat2_disabled (GPOINTER_TO_INT (data));
  f->fs = fake_sysfs_new ();
  fake_sysfs_add_mdev_type (f->fs, "mtty", "mtty-2", attributes);
  fake_kernel_start (f->fs);
  f->state = g_dir_make_tmp ("hostdevd-state-XXXXXX", &error);
  g_assert_no_error (error);
  f->store = hdd_store_new (f->state);
  g_assert_true (hdd_store_load (f->store, &error));
  f->context = hdd_context_new (f->store, NULL);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  fake_kernel_stop (f->fs);
  g_clear_object (&f->context);
  g_clear_object (&f->store);
  fake_sysfs_rm_rf (f->state);
  g_free (f->state);
  fake_sysfs_free (f->fs);
  hdd_sysfs_set_openat2_disabled (FALSE);
}

static gboolean
create (Fixture *f, HddMdevConfig *c, GError **error)
{
  HddJobWork work = hdd_mdev_ops_create (f->context, c, "create-mdev");
  g_autoptr(HddJob) job = hdd_job_new (1, work.operation, NULL, NULL);
  gboolean ok = hdd_job_run_sync (job, work.func, work.data, error);

  work.destroy (work.data);
  return ok;
}

/* The attribute a definition names "mdev_type/create" (hdd-mdev-names.h
 * refuses it at the API and at load; this is what stops any other link). */
static void
test_create_through_link (Fixture *f, gconstpointer data)
{
  g_autoptr(HddMdevConfig) c = hdd_mdev_config_new (UUID, "mtty", "mtty-2", FALSE);
  g_autoptr(GError) error = NULL;
  g_autofree char *types = g_strconcat (fake_sysfs_root (f->fs),
                                        "/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2",
                                        NULL);
  g_autofree char *written = NULL;

  hdd_mdev_config_add_attr (c, "mode", "fast");
  hdd_mdev_config_add_attr (c, "mdev_type/create", UUID2);
  g_assert_false (create (f, c, &error));
  g_assert_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "Attribute mdev_type/create of mdev " UUID
                                            " is not the mdev's own"));
  g_assert_nonnull (strstr (error->message, "symbolic link"));
  /* Rolled back; no second mdev, nothing in the type's create. */
  g_usleep (50 * 1000);
  g_assert_false (hdd_mdev_sysfs_is_active (UUID));
  g_assert_false (hdd_mdev_sysfs_is_active (UUID2));
  written = contents (types, "create");
  g_assert_cmpstr (written, ==, "");
}

static void
test_create_plain (Fixture *f, gconstpointer data)
{
  g_autoptr(HddMdevConfig) c = hdd_mdev_config_new (UUID, "mtty", "mtty-2", FALSE);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *mode = NULL;

  hdd_mdev_config_add_attr (c, "mode", "fast");
  g_assert_true (create (f, c, &error));
  g_assert_no_error (error);
  dir = g_strconcat (fake_sysfs_root (f->fs), "/sys/bus/mdev/devices/" UUID, NULL);
  mode = contents (dir, "mode");
  g_assert_cmpstr (mode, ==, "fast");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/sysfs-beneath/openat2", GINT_TO_POINTER (FALSE), test_beneath);
  g_test_add_data_func ("/sysfs-beneath/walk", GINT_TO_POINTER (TRUE), test_beneath);
  g_test_add ("/sysfs-beneath/mdev-create/plain", Fixture, GINT_TO_POINTER (FALSE),
              setup, test_create_plain, teardown);
  g_test_add ("/sysfs-beneath/mdev-create/through-link", Fixture, GINT_TO_POINTER (FALSE),
              setup, test_create_through_link, teardown);
  g_test_add ("/sysfs-beneath/mdev-create/through-link-walk", Fixture, GINT_TO_POINTER (TRUE),
              setup, test_create_through_link, teardown);
  return g_test_run ();
}
