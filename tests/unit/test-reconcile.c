/* The start-up reconciliation table (hdd-reconcile.h), and the binder's
 * repairs it relies on, against the fake sysfs. */
#include "fake-sysfs.h"
#include "hdd-binder.h"
#include "hdd-pci-sysfs.h"
#include "hdd-reconcile.h"
#include "hdd-sysfs.h"

static void
test_decide (void)
{
  HddBinding persistent = { "0000:01:00.0", "e1000e", TRUE };
  HddBinding transient = { "0000:01:00.0", "e1000e", FALSE };
  const struct {
    const HddBinding  *entry;
    const char        *driver;
    const char        *override;
    HddReconcileAction want;
  } cases[] = {
    /* Consistent bindings. */
    { &persistent, "vfio-pci", "vfio-pci", HDD_RECONCILE_NONE },
    { &transient, "vfio-pci", "vfio-pci", HDD_RECONCILE_NONE },
    { &transient, "mlx5_vfio_pci", "vfio-pci", HDD_RECONCILE_NONE },
    /* A restore stopped before its unbind: on vfio-pci, no override. */
    { &persistent, "vfio-pci", NULL, HDD_RECONCILE_KEEP_OVERRIDE },
    { &transient, "vfio-pci", NULL, HDD_RECONCILE_KEEP_OVERRIDE },
    { &transient, "vfio-pci", "e1000e", HDD_RECONCILE_KEEP_OVERRIDE },
    /* Persistent and not applied, whatever a bind left: apply it. */
    { &persistent, "e1000e", NULL, HDD_RECONCILE_APPLY },
    { &persistent, NULL, "vfio-pci", HDD_RECONCILE_APPLY },
    { &persistent, NULL, NULL, HDD_RECONCILE_APPLY },
    /* Not persistent and not on vfio-pci: undo and forget. */
    { &transient, "e1000e", NULL, HDD_RECONCILE_UNDO },
    { &transient, "e1000e", "vfio-pci", HDD_RECONCILE_UNDO },
    { &transient, NULL, "vfio-pci", HDD_RECONCILE_UNDO },
    { &transient, NULL, NULL, HDD_RECONCILE_UNDO },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("case %u: %s, driver %s, override %s", i,
                      cases[i].entry->persistent ? "persistent" : "transient",
                      cases[i].driver, cases[i].override);
      g_assert_cmpint (hdd_reconcile_decide (cases[i].entry, cases[i].driver,
                                             cases[i].override), ==, cases[i].want);
    }
}

static void
write_override (const char *address, const char *value)
{
  g_autofree char *path = hdd_sysfs_path ("/sys/bus/pci/devices/%s/driver_override", address);

  g_assert_true (hdd_sysfs_write (path, value, NULL));
}

/* What a bind killed between its unbind and its probe leaves: the override
 * is cleared and the original driver gets the device back. */
static void
test_undo_after_unbind (void)
{
  g_autoptr(FakeSysfs) fs = fake_sysfs_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *driver = NULL;
  g_autofree char *override = NULL;

  fake_sysfs_add_driver (fs, "e1000e");
  fake_sysfs_add_driver (fs, "vfio-pci");
  fake_sysfs_add_device (fs, "0000:01:00.0", 7, NULL);
  write_override ("0000:01:00.0", "vfio-pci");
  fake_kernel_start (fs);

  g_assert_true (hdd_binder_undo_partial (NULL, "0000:01:00.0", "e1000e", &driver, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (driver, ==, "e1000e");
  override = hdd_pci_sysfs_read_driver_override ("0000:01:00.0");
  g_assert_null (override);
}

/* A bind killed before its unbind: the override goes, the driver stays. */
static void
test_undo_before_unbind (void)
{
  g_autoptr(FakeSysfs) fs = fake_sysfs_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *driver = NULL;
  g_autofree char *override = NULL;

  fake_sysfs_add_driver (fs, "e1000e");
  fake_sysfs_add_driver (fs, "vfio-pci");
  fake_sysfs_add_device (fs, "0000:01:00.0", 7, "e1000e");
  write_override ("0000:01:00.0", "vfio-pci");
  fake_kernel_start (fs);

  g_assert_true (hdd_binder_undo_partial (NULL, "0000:01:00.0", "e1000e", &driver, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (driver, ==, "e1000e");
  override = hdd_pci_sysfs_read_driver_override ("0000:01:00.0");
  g_assert_null (override);
}

static void
test_keep_override (void)
{
  g_autoptr(FakeSysfs) fs = fake_sysfs_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *driver = NULL;
  g_autofree char *override = NULL;

  fake_sysfs_add_driver (fs, "vfio-pci");
  fake_sysfs_add_device (fs, "0000:01:00.0", 7, "vfio-pci");
  fake_kernel_start (fs);

  g_assert_true (hdd_binder_keep_override (NULL, "0000:01:00.0", &error));
  g_assert_no_error (error);
  override = hdd_pci_sysfs_read_driver_override ("0000:01:00.0");
  driver = hdd_pci_sysfs_read_driver ("0000:01:00.0");
  g_assert_cmpstr (override, ==, "vfio-pci");
  g_assert_cmpstr (driver, ==, "vfio-pci");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/reconcile/decide", test_decide);
  g_test_add_func ("/reconcile/undo-after-unbind", test_undo_after_unbind);
  g_test_add_func ("/reconcile/undo-before-unbind", test_undo_before_unbind);
  g_test_add_func ("/reconcile/keep-override", test_keep_override);
  return g_test_run ();
}
