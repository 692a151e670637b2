#include "fake-sysfs.h"
#include "hdd-binder.h"
#include "hdd-error.h"
#include "hdd-holders.h"
#include "hdd-pci-sysfs.h"
#include "hdd-sysfs.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  FakeSysfs *fs;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->fs = fake_sysfs_new ();
  fake_sysfs_add_driver (f->fs, "e1000e");
  fake_sysfs_add_driver (f->fs, "vfio-pci");
  fake_sysfs_add_device (f->fs, "0000:01:00.0", 7, "e1000e");
  fake_kernel_start (f->fs);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  fake_sysfs_free (f->fs);
}

static void
test_bind_and_restore (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *driver = NULL;
  g_autofree char *override = NULL;
  g_autofree char *after = NULL;
  g_auto(GStrv) nodes = NULL;

  hdd_binder_bind_vfio (NULL, "0000:01:00.0", "e1000e", &error);
  g_assert_no_error (error);
  driver = hdd_pci_sysfs_read_driver ("0000:01:00.0");
  override = hdd_pci_sysfs_read_driver_override ("0000:01:00.0");
  g_assert_cmpstr (driver, ==, "vfio-pci");
  g_assert_cmpstr (override, ==, "vfio-pci");
  nodes = hdd_pci_sysfs_vfio_nodes ("0000:01:00.0");
  g_assert_cmpstr (nodes[0], ==, "/dev/vfio/7");

  /* Binding again is a no-op that succeeds. */
  g_assert_true (hdd_binder_bind_vfio (NULL, "0000:01:00.0", "vfio-pci", &error));

  g_assert_true (hdd_binder_restore (NULL, "0000:01:00.0", "e1000e", &after, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (after, ==, "e1000e");
  g_clear_pointer (&override, g_free);
  override = hdd_pci_sysfs_read_driver_override ("0000:01:00.0");
  g_assert_null (override);
}

static void
test_restore_unknown_original (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *after = NULL;

  g_assert_true (hdd_binder_bind_vfio (NULL, "0000:01:00.0", "e1000e", &error));
  /* Without a recorded original driver the kernel's probe decides. */
  g_assert_true (hdd_binder_restore (NULL, "0000:01:00.0", NULL, &after, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (after, ==, "e1000e");
}

static void
test_restore_not_on_vfio (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *after = NULL;

  g_assert_true (hdd_binder_restore (NULL, "0000:01:00.0", NULL, &after, &error));
  g_assert_cmpstr (after, ==, "e1000e");
}

static void
test_probe_failure_rolls_back (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *driver = NULL;
  g_autofree char *override = NULL;

  fake_kernel_fail_probe (f->fs, "vfio-pci");
  g_assert_false (hdd_binder_bind_vfio (NULL, "0000:01:00.0", "e1000e", &error));
  g_assert_error (error, HDD_ERROR, HDD_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "vfio-pci did not bind 0000:01:00.0"));

  /* Back where it was: the host driver, no override. */
  for (guint i = 0; i < 500 && driver == NULL; i++)
    {
      driver = hdd_pci_sysfs_read_driver ("0000:01:00.0");
      if (driver == NULL)
        g_usleep (10000);
    }
  g_assert_cmpstr (driver, ==, "e1000e");
  override = hdd_pci_sysfs_read_driver_override ("0000:01:00.0");
  g_assert_null (override);
}

static void
test_missing_vfio_driver (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *override = NULL;

  fake_sysfs_free (f->fs);
  f->fs = fake_sysfs_new ();
  fake_sysfs_add_driver (f->fs, "e1000e");
  fake_sysfs_add_device (f->fs, "0000:01:00.0", 7, "e1000e");

  g_assert_false (hdd_binder_bind_vfio (NULL, "0000:01:00.0", "e1000e", &error));
  g_assert_error (error, HDD_ERROR, HDD_ERROR_NOT_SUPPORTED);
  /* Refused before anything was written. */
  override = hdd_pci_sysfs_read_driver_override ("0000:01:00.0");
  g_assert_null (override);
}

static void
test_holders (Fixture *f, gconstpointer data)
{
  g_autofree char *node = NULL;
  const char *nodes[] = { "/dev/vfio/7", "/dev/vfio/404", NULL };
  g_autoptr(GPtrArray) none = NULL;
  g_autoptr(GPtrArray) held = NULL;
  g_autoptr(GPtrArray) after = NULL;
  g_autofree char *text = NULL;
  int fd;

  g_assert_true (hdd_binder_bind_vfio (NULL, "0000:01:00.0", "e1000e", NULL));
  none = hdd_holders_scan (nodes);
  g_assert_cmpuint (none->len, ==, 0);

  node = hdd_sysfs_path ("/dev/vfio/7");
  fd = open (node, O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  held = hdd_holders_scan (nodes);
  g_assert_cmpuint (held->len, ==, 1);
  g_assert_cmpuint (((HddHolder *) held->pdata[0])->pid, ==, (guint) getpid ());
  g_assert_cmpstr (((HddHolder *) held->pdata[0])->node, ==, "/dev/vfio/7");
  text = hdd_holders_describe (held);
  g_assert_nonnull (strstr (text, "holds /dev/vfio/7"));
  close (fd);

  after = hdd_holders_scan (nodes);
  g_assert_cmpuint (after->len, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/binder/bind-and-restore", Fixture, NULL, setup, test_bind_and_restore, teardown);
  g_test_add ("/binder/restore-unknown-original", Fixture, NULL, setup,
              test_restore_unknown_original, teardown);
  g_test_add ("/binder/restore-not-on-vfio", Fixture, NULL, setup, test_restore_not_on_vfio, teardown);
  g_test_add ("/binder/probe-failure-rolls-back", Fixture, NULL, setup,
              test_probe_failure_rolls_back, teardown);
  g_test_add ("/binder/missing-vfio-driver", Fixture, NULL, setup, test_missing_vfio_driver, teardown);
  g_test_add ("/binder/holders", Fixture, NULL, setup, test_holders, teardown);
  return g_test_run ();
}
