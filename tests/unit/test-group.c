#include "fake-sysfs.h"
#include "hdd-error.h"
#include "hdd-group.h"
#include "hdd-pci-sysfs.h"

#include <string.h>

typedef struct {
  FakeSysfs *fs;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->fs = fake_sysfs_new ();
  fake_sysfs_add_driver (f->fs, "e1000e");
  fake_sysfs_add_driver (f->fs, "vfio-pci");
  fake_sysfs_add_driver (f->fs, "pcieport");
  /* group 3: a lone device; group 5: a two-function card behind a bridge;
   * 0000:09:00.0 has no IOMMU group at all. */
  fake_sysfs_add_device (f->fs, "0000:01:00.0", 3, "e1000e");
  fake_sysfs_add_device (f->fs, "0000:02:00.0", 5, "e1000e");
  fake_sysfs_add_device (f->fs, "0000:02:00.1", 5, "e1000e");
  fake_sysfs_add_device (f->fs, "0000:00:1c.0", 5, "pcieport");
  fake_sysfs_add_device (f->fs, "0000:09:00.0", -1, "e1000e");
}

static void
teardown (Fixture *f, gconstpointer data)
{
  fake_sysfs_free (f->fs);
}

static void
test_lone_device (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  int group = -1;
  g_autoptr(GPtrArray) plan = hdd_group_plan_bind ("0000:01:00.0", FALSE, &group, &error);

  g_assert_no_error (error);
  g_assert_cmpint (group, ==, 3);
  g_assert_cmpuint (plan->len, ==, 1);
  g_assert_cmpstr (plan->pdata[0], ==, "0000:01:00.0");
}

static void
test_not_viable (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  int group = -1;
  g_autoptr(GPtrArray) plan = hdd_group_plan_bind ("0000:02:00.0", FALSE, &group, &error);

  g_assert_null (plan);
  g_assert_error (error, HDD_ERROR, HDD_ERROR_NOT_VIABLE);
  /* Names the blocking device and its driver, not the bridge. */
  g_assert_nonnull (strstr (error->message, "0000:02:00.1 (bound to e1000e)"));
  g_assert_null (strstr (error->message, "0000:00:1c.0"));
  g_assert_cmpint (group, ==, -1);
}

static void
test_whole_group (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  int group = -1;
  g_autoptr(GPtrArray) plan = hdd_group_plan_bind ("0000:02:00.1", TRUE, &group, &error);

  g_assert_no_error (error);
  g_assert_cmpint (group, ==, 5);
  /* The target first, then the other host-bound member; the bridge stays. */
  g_assert_cmpuint (plan->len, ==, 2);
  g_assert_cmpstr (plan->pdata[0], ==, "0000:02:00.1");
  g_assert_cmpstr (plan->pdata[1], ==, "0000:02:00.0");
}

static void
test_viable_once_member_on_vfio (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  int group = -1;
  g_autoptr(GPtrArray) plan = NULL;

  fake_sysfs_set_driver (f->fs, "0000:02:00.1", "vfio-pci");
  plan = hdd_group_plan_bind ("0000:02:00.0", FALSE, &group, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (plan->len, ==, 1);

  fake_sysfs_set_driver (f->fs, "0000:02:00.1", NULL);
  g_clear_pointer (&plan, g_ptr_array_unref);
  plan = hdd_group_plan_bind ("0000:02:00.0", FALSE, &group, &error);
  g_assert_no_error (error);
}

static void
test_no_group (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  int group = -1;
  g_autoptr(GPtrArray) plan = hdd_group_plan_bind ("0000:09:00.0", FALSE, &group, &error);

  g_assert_null (plan);
  g_assert_error (error, HDD_ERROR, HDD_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "intel_iommu=on"));
}

static void
test_driver_classes (void)
{
  g_assert_true (hdd_pci_sysfs_driver_is_vfio ("vfio-pci"));
  g_assert_true (hdd_pci_sysfs_driver_is_vfio ("mlx5_vfio_pci"));
  g_assert_true (hdd_pci_sysfs_driver_is_vfio ("virtio-vfio-pci"));
  g_assert_false (hdd_pci_sysfs_driver_is_vfio ("e1000e"));
  g_assert_false (hdd_pci_sysfs_driver_is_vfio (NULL));
  g_assert_true (hdd_pci_sysfs_driver_keeps_group_viable (NULL));
  g_assert_true (hdd_pci_sysfs_driver_keeps_group_viable ("pci-stub"));
  g_assert_true (hdd_pci_sysfs_driver_keeps_group_viable ("pcieport"));
  g_assert_false (hdd_pci_sysfs_driver_keeps_group_viable ("nvme"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/group/lone-device", Fixture, NULL, setup, test_lone_device, teardown);
  g_test_add ("/group/not-viable", Fixture, NULL, setup, test_not_viable, teardown);
  g_test_add ("/group/whole-group", Fixture, NULL, setup, test_whole_group, teardown);
  g_test_add ("/group/viable-once-member-released", Fixture, NULL, setup,
              test_viable_once_member_on_vfio, teardown);
  g_test_add ("/group/no-group", Fixture, NULL, setup, test_no_group, teardown);
  g_test_add_func ("/group/driver-classes", test_driver_classes);
  return g_test_run ();
}
