#include "hdd-error.h"
#include "hdd-mdev-names.h"

#include <string.h>

static void
test_uuid_valid (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *lower = hdd_uuid_canonicalize ("83b8f4f2-509f-382f-3c1e-e6bfe0fa1001", &error);
  g_autofree char *upper = hdd_uuid_canonicalize ("83B8F4F2-509F-382F-3C1E-E6BFE0FA1001", &error);

  g_assert_no_error (error);
  g_assert_cmpstr (lower, ==, "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001");
  g_assert_cmpstr (upper, ==, lower);
  g_assert_true (hdd_uuid_is_canonical (lower));
  g_assert_false (hdd_uuid_is_canonical ("83B8F4F2-509F-382F-3C1E-E6BFE0FA1001"));
}

static void
test_uuid_invalid (void)
{
  g_autofree char *huge = g_strnfill (100000, 'a');
  const char *bad[] = {
    "", "x", "83b8f4f2-509f-382f-3c1e-e6bfe0fa100", "83b8f4f2-509f-382f-3c1e-e6bfe0fa10011",
    "83b8f4f2_509f_382f_3c1e_e6bfe0fa1001", "83b8f4f2-509f-382f-3c1ee6bfe0fa1001-",
    "g3b8f4f2-509f-382f-3c1e-e6bfe0fa1001", " 83b8f4f2-509f-382f-3c1e-e6bfe0fa1001",
    "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001\n", "../../../../../../etc/passwd/x/y/z/w",
    "83b8f4f2-509f-382f-3c1e-e6bfe0fa/../", "{83b8f4f2-509f-382f-3c1e-e6bfe0fa1001}",
    huge,
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *u = hdd_uuid_canonicalize (bad[i], &error);

      g_assert_null (u);
      g_assert_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT);
      g_assert_true (g_str_has_prefix (error->message, "Invalid UUID"));
      g_assert_cmpuint (strlen (error->message), <, 200);
      g_assert_false (hdd_uuid_is_canonical (bad[i]));
    }
}

static void
test_names (void)
{
  g_autofree char *long_name = g_strnfill (256, 'a');
  g_autofree char *max_name = g_strnfill (255, 'a');
  const char *good[] = { "mtty", "mtty-2", "0000:00:02.0", "i915-GVTg_V5_4", "0.0.0017", "a+b", max_name };
  const char *bad[] = { "", ".", "..", "a/b", "../mtty", "mtty/..", "a b", "a\nb", "é", long_name };

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    g_assert_true (hdd_mdev_check_name ("parent", good[i], NULL));
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (hdd_mdev_check_name ("type", bad[i], &error));
      g_assert_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT);
      g_assert_true (g_str_has_prefix (error->message, "Invalid mdev type"));
    }
}

/* mdevctl keeps its callouts in /etc/mdevctl.d/scripts.d, beside the
 * parents' directories: never a parent, a fine type. */
static void
test_parent_not_scripts_d (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (hdd_mdev_check_name ("parent", "scripts.d", &error));
  g_assert_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "mdevctl keeps its scripts there"));
  g_assert_true (hdd_mdev_check_name ("type", "scripts.d", NULL));
  g_assert_true (hdd_mdev_check_name ("parent", "scripts.e", NULL));
}

static void
test_attributes (void)
{
  g_autofree char *long_value = g_strnfill (HDD_MDEV_ATTR_VALUE_MAX + 1, 'v');
  g_autofree char *max_value = g_strnfill (HDD_MDEV_ATTR_VALUE_MAX, 'v');
  const char *good[] = { "label", "serial/baud", "a/b/c", "x.y", "vendor/sample_mdev_dev",
                         "driver", "mdev_type", "drivers/x", "power/control" };
  /* The last ones go through the links of every mdev's directory. */
  const char *bad[] = { "", "/label", "label/", "a//b", "../remove", "a/../b", "a/./b", ".",
                        "remove/..", "a b", "a\\b",
                        "mdev_type/create", "driver/unbind", "iommu_group/devices/x",
                        "subsystem/drivers_probe" };
  g_autoptr(GError) error = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    g_assert_true (hdd_mdev_check_attribute (good[i], "1", NULL));
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) e = NULL;

      g_assert_false (hdd_mdev_check_attribute (bad[i], "1", &e));
      g_assert_error (e, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT);
    }
  g_assert_true (hdd_mdev_check_attribute ("label", max_value, NULL));
  g_assert_false (hdd_mdev_check_attribute ("label", long_value, &error));
  g_assert_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "too long"));
}

static void
test_object_paths (void)
{
  g_autofree char *path = hdd_mdev_object_path ("83b8f4f2-509f-382f-3c1e-e6bfe0fa1001");
  g_autofree char *back = hdd_mdev_uuid_from_object_path (path);
  g_autofree char *type = hdd_mdev_type_object_path ("0000:00:02.0", "i915-GVTg_V5_4");
  g_autofree char *mtty = hdd_mdev_type_object_path ("mtty", "mtty-2");

  g_assert_cmpstr (path, ==, "/org/hostdevd1/mdev/83b8f4f2_509f_382f_3c1e_e6bfe0fa1001");
  g_assert_true (g_variant_is_object_path (path));
  g_assert_cmpstr (back, ==, "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001");
  g_assert_null (hdd_mdev_uuid_from_object_path ("/org/hostdevd1/mdev/xyz"));
  g_assert_null (hdd_mdev_uuid_from_object_path ("/org/hostdevd1/pci/0000_01_00_0"));
  /* Escaped so that distinct names never share a path. */
  g_assert_cmpstr (type, ==, "/org/hostdevd1/mdev_type/0000_3a00_3a02_2e0/i915_2dGVTg_5fV5_5f4");
  g_assert_true (g_variant_is_object_path (type));
  g_assert_cmpstr (mtty, ==, "/org/hostdevd1/mdev_type/mtty/mtty_2d2");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/mdev-names/uuid/valid", test_uuid_valid);
  g_test_add_func ("/mdev-names/uuid/invalid", test_uuid_invalid);
  g_test_add_func ("/mdev-names/names", test_names);
  g_test_add_func ("/mdev-names/parent-not-scripts-d", test_parent_not_scripts_d);
  g_test_add_func ("/mdev-names/attributes", test_attributes);
  g_test_add_func ("/mdev-names/object-paths", test_object_paths);
  return g_test_run ();
}
