/* The kernel's revoke as the adapter sees it (hdd-vfio-sysfs.c): the
 * capability (the attribute, per device and for the whole kernel),
 * release_pending, and what a write of revoke is told — done, the
 * vfio-dev gone, no attribute, another refusal — against a throw-away
 * sysfs tree laid out as the kernel series does: /sys/class/vfio-dev/vfioX
 * links to the device's vfio-dev/vfioX.  (EBUSY, the kernel's answer when
 * no release waits, no file system gives: the lab tests it.) */
#include "fake-sysfs.h"
#include "hdd-error.h"
#include "hdd-sysfs.h"
#include "hdd-vfio-sysfs.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <unistd.h>

typedef struct {
  char *top;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->top = g_dir_make_tmp ("hostdevd-revoke-XXXXXX", &error);
  g_assert_no_error (error);
  hdd_sysfs_set_root (f->top);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  hdd_sysfs_set_root (NULL);
  fake_sysfs_rm_rf (f->top);
  g_free (f->top);
}

/* DEVICE/vfio-dev/NAME, and its /sys/class/vfio-dev link; @revoke: with
 * the attribute.  Returns the state directory as the jobs get it. */
static char *
add_vfio_dev (Fixture *f, const char *device, const char *name, gboolean revoke)
{
  g_autofree char *dir = hdd_sysfs_path ("/sys/devices/%s/vfio-dev/%s", device, name);
  g_autofree char *class = hdd_sysfs_path ("/sys/class/vfio-dev");
  g_autofree char *link = g_build_filename (class, name, NULL);
  g_autofree char *pending = g_build_filename (dir, "release_pending", NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (class, 0755), ==, 0);
  g_assert_cmpint (symlink (dir, link), ==, 0);
  g_assert_true (g_file_set_contents (pending, "0\n", -1, NULL));
  if (revoke)
    {
      g_autofree char *attr = g_build_filename (dir, "revoke", NULL);
      g_assert_true (g_file_set_contents (attr, "", -1, NULL));
    }
  return hdd_sysfs_path ("/sys/class/vfio-dev/%s", name);
}

/* Its /sys/class/vfio-dev link gone, as when the device leaves VFIO. */
static void
remove_vfio_dev (const char *name)
{
  g_autofree char *link = hdd_sysfs_path ("/sys/class/vfio-dev/%s", name);

  g_assert_cmpint (unlink (link), ==, 0);
}

static void
set_attr (const char *state, const char *name, const char *value)
{
  g_autofree char *p = g_build_filename (state, name, NULL);

  g_assert_true (g_file_set_contents (p, value, -1, NULL));
}

static void
test_capability (Fixture *f, gconstpointer data)
{
  g_autofree char *plain = NULL;
  g_autofree char *able = NULL;

  /* No VFIO device: the kernel says nothing. */
  g_assert_false (hdd_vfio_sysfs_kernel_can_revoke ());
  g_assert_false (hdd_vfio_sysfs_can_revoke (NULL));

  plain = add_vfio_dev (f, "pci0000:00/0000:00:03.0", "vfio0", FALSE);
  g_assert_false (hdd_vfio_sysfs_can_revoke (plain));
  g_assert_false (hdd_vfio_sysfs_kernel_can_revoke ());

  able = add_vfio_dev (f, "virtual/mtty/mtty/83b8f4f2-509f-382f-3c1e-e6bfe0fa1001",
                       "vfio1", TRUE);
  g_assert_true (hdd_vfio_sysfs_can_revoke (able));
  g_assert_false (hdd_vfio_sysfs_can_revoke (plain));
  g_assert_true (hdd_vfio_sysfs_kernel_can_revoke ());
  /* The last device with it gone: the kernel says no again. */
  remove_vfio_dev ("vfio1");
  g_assert_false (hdd_vfio_sysfs_kernel_can_revoke ());
}

static void
test_release_pending (Fixture *f, gconstpointer data)
{
  g_autofree char *state = add_vfio_dev (f, "pci0000:00/0000:00:03.0", "vfio0", TRUE);
  g_autofree char *gone = hdd_sysfs_path ("/sys/class/vfio-dev/vfio9");

  g_assert_false (hdd_vfio_sysfs_release_pending (NULL));
  g_assert_false (hdd_vfio_sysfs_release_pending (gone));
  g_assert_false (hdd_vfio_sysfs_release_pending (state));
  set_attr (state, "release_pending", "1\n");
  g_assert_true (hdd_vfio_sysfs_release_pending (state));
  set_attr (state, "release_pending", "2\n");
  g_assert_false (hdd_vfio_sysfs_release_pending (state));
}

static void
test_revoke_results (Fixture *f, gconstpointer data)
{
  g_autofree char *state = add_vfio_dev (f, "pci0000:00/0000:00:03.0", "vfio0", TRUE);
  g_autofree char *plain = add_vfio_dev (f, "pci0000:00/0000:00:04.0", "vfio1", FALSE);
  g_autofree char *gone = hdd_sysfs_path ("/sys/class/vfio-dev/vfio9");
  g_autofree char *attr = g_build_filename (state, "revoke", NULL);
  g_autofree char *written = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (hdd_vfio_sysfs_revoke (state, &error), ==, HDD_VFIO_REVOKE_DONE);
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (attr, &written, NULL, NULL));
  g_assert_cmpstr (written, ==, "1");

  g_assert_cmpint (hdd_vfio_sysfs_revoke (plain, &error), ==, HDD_VFIO_REVOKE_UNSUPPORTED);
  g_assert_nonnull (error);
  g_assert_true (g_str_has_prefix (error->message,
                                   "The kernel has no revoke attribute for the device: "));
  g_clear_error (&error);

  g_assert_cmpint (hdd_vfio_sysfs_revoke (gone, &error), ==, HDD_VFIO_REVOKE_GONE);
  g_assert_true (g_str_has_prefix (error->message, "The device's vfio-dev is gone: "));
  g_clear_error (&error);

  /* Another refusal: the attribute cannot be written. */
  g_assert_cmpint (g_unlink (attr), ==, 0);
  g_assert_cmpint (g_mkdir (attr, 0755), ==, 0);
  g_assert_cmpint (hdd_vfio_sysfs_revoke (state, &error), ==, HDD_VFIO_REVOKE_FAILED);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_IS_DIRECTORY);
  g_clear_error (&error);
}

/* The write goes to that attribute and nowhere else: a revoke that is a
 * link is not followed. */
static void
test_revoke_never_follows_a_link (Fixture *f, gconstpointer data)
{
  g_autofree char *state = add_vfio_dev (f, "pci0000:00/0000:00:03.0", "vfio0", FALSE);
  g_autofree char *elsewhere = g_build_filename (f->top, "elsewhere", NULL);
  g_autofree char *attr = g_build_filename (state, "revoke", NULL);
  g_autofree char *left = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (elsewhere, "", -1, NULL));
  g_assert_cmpint (symlink (elsewhere, attr), ==, 0);
  g_assert_cmpint (hdd_vfio_sysfs_revoke (state, &error), ==, HDD_VFIO_REVOKE_FAILED);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_FILENAME);
  g_assert_true (g_file_get_contents (elsewhere, &left, NULL, NULL));
  g_assert_cmpstr (left, ==, "");
}

/* The kernel checks CAP_SYS_ADMIN: the daemon asks its own effective set. */
static void
test_may_revoke (void)
{
  g_autofree char *status = NULL;
  g_auto(GStrv) lines = NULL;
  guint64 effective = 0;
  g_autoptr(GError) error = NULL;
  gboolean may;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  lines = g_strsplit (status, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    if (g_str_has_prefix (lines[i], "CapEff:"))
      effective = g_ascii_strtoull (lines[i] + 7, NULL, 16);
  may = hdd_vfio_sysfs_may_revoke (&error);
  g_assert_cmpint (may, ==, (effective >> 21) & 1);   /* CAP_SYS_ADMIN */
  if (!may)
    g_assert_error (error, HDD_ERROR, HDD_ERROR_NOT_SUPPORTED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/vfio-revoke/capability", Fixture, NULL, setup, test_capability, teardown);
  g_test_add ("/vfio-revoke/release-pending", Fixture, NULL, setup, test_release_pending,
              teardown);
  g_test_add ("/vfio-revoke/results", Fixture, NULL, setup, test_revoke_results, teardown);
  g_test_add ("/vfio-revoke/never-follows-a-link", Fixture, NULL, setup,
              test_revoke_never_follows_a_link, teardown);
  g_test_add_func ("/vfio-revoke/may-revoke", test_may_revoke);
  return g_test_run ();
}
