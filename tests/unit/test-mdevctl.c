/* mdevctl's definition format: what mdevctl 1.2 wrote (tests/fixtures/mdevctl,
 * made by make-fixtures.sh with the real mdevctl) is read, and written back
 * byte for byte. */
#include "hdd-error.h"
#include "hdd-mdevctl.h"

#include <glib/gstdio.h>
#include <string.h>

#define U1 "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"
#define U2 "83b8f4f2-509f-382f-3c1e-e6bfe0fa1002"

static char *
fixture (const char *name)
{
  g_autofree char *path = g_build_filename (HDD_FIXTURES_DIR, "mdevctl", name, NULL);
  g_autoptr(GError) error = NULL;
  char *data = NULL;

  g_file_get_contents (path, &data, NULL, &error);
  g_assert_no_error (error);
  return data;
}

static HddMdevConfig *
parse_ok (const char *data)
{
  g_autoptr(GError) error = NULL;
  HddMdevConfig *c = hdd_mdevctl_parse (U1, "mtty", data, -1, &error);

  g_assert_no_error (error);
  g_assert_nonnull (c);
  return c;
}

static void
assert_attr (HddMdevConfig *c, guint i, const char *name, const char *value)
{
  HddMdevAttr *a = g_ptr_array_index (c->attrs, i);

  g_assert_cmpstr (a->name, ==, name);
  g_assert_cmpstr (a->value, ==, value);
}

static void
test_read_mdevctl (void)
{
  g_autofree char *auto_data = fixture ("auto-with-attrs.json");
  g_autofree char *manual_data = fixture ("manual-no-attrs.json");
  g_autoptr(HddMdevConfig) a = parse_ok (auto_data);
  g_autoptr(HddMdevConfig) m = parse_ok (manual_data);

  g_assert_cmpstr (a->uuid, ==, U1);
  g_assert_cmpstr (a->parent, ==, "mtty");
  g_assert_cmpstr (a->type, ==, "mtty-2");
  g_assert_true (a->autostart);
  g_assert_cmpuint (a->attrs->len, ==, 4);
  assert_attr (a, 0, "label", "console \"one\"");
  assert_attr (a, 1, "serial/baud", "115200");
  assert_attr (a, 2, "note", "tab\there back\\slash café");
  assert_attr (a, 3, "ctl", "a\001\037z");
  g_assert_null (a->extra);

  g_assert_cmpstr (m->type, ==, "mtty-1");
  g_assert_false (m->autostart);
  g_assert_cmpuint (m->attrs->len, ==, 0);
}

/* What hostdevd writes is what mdevctl writes, to the byte. */
static void
test_write_like_mdevctl (void)
{
  g_autofree char *expected_auto = fixture ("auto-with-attrs.json");
  g_autofree char *expected_manual = fixture ("manual-no-attrs.json");
  g_autoptr(HddMdevConfig) a = hdd_mdev_config_new (U1, "mtty", "mtty-2", TRUE);
  g_autoptr(HddMdevConfig) m = hdd_mdev_config_new (U2, "mtty", "mtty-1", FALSE);
  g_autofree char *auto_data = NULL;
  g_autofree char *manual_data = NULL;

  hdd_mdev_config_add_attr (a, "label", "console \"one\"");
  hdd_mdev_config_add_attr (a, "serial/baud", "115200");
  hdd_mdev_config_add_attr (a, "note", "tab\there back\\slash café");
  hdd_mdev_config_add_attr (a, "ctl", "a\001\037z");
  auto_data = hdd_mdevctl_serialize (a);
  manual_data = hdd_mdevctl_serialize (m);
  g_assert_cmpstr (auto_data, ==, expected_auto);
  g_assert_cmpstr (manual_data, ==, expected_manual);
}

static void
test_round_trip_keeps_order (void)
{
  g_autoptr(HddMdevConfig) c = hdd_mdev_config_new (U1, "mtty", "mtty-1", FALSE);
  const char *names[] = { "zzz", "aaa", "mmm/x", "aaa" };
  g_autofree char *data = NULL;
  g_autofree char *again = NULL;
  g_autoptr(HddMdevConfig) back = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *value = g_strdup_printf ("%u", i);
      hdd_mdev_config_add_attr (c, names[i], value);
    }
  data = hdd_mdevctl_serialize (c);
  back = parse_ok (data);
  g_assert_cmpuint (back->attrs->len, ==, G_N_ELEMENTS (names));
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *value = g_strdup_printf ("%u", i);
      assert_attr (back, i, names[i], value);
    }
  again = hdd_mdevctl_serialize (back);
  g_assert_cmpstr (again, ==, data);
}

/* Keys mdevctl does not know are kept, in order, and written back. */
static void
test_unknown_keys_preserved (void)
{
  const char *data =
    "{\"x-first\": 1, \"mdev_type\": \"mtty-1\", \"start\": \"manual\",\n"
    " \"x-vendor\": {\"list\": [1, 2.5, true, null, \"s\", {}], \"e\": []},\n"
    " \"attrs\": [{\"a\": \"1\", \"b\": \"2\"}]}";
  const char *expected =
    "{\n"
    "  \"mdev_type\": \"mtty-1\",\n"
    "  \"start\": \"manual\",\n"
    "  \"attrs\": [\n"
    "    {\n"
    "      \"a\": \"1\"\n"
    "    },\n"
    "    {\n"
    "      \"b\": \"2\"\n"
    "    }\n"
    "  ],\n"
    "  \"x-first\": 1,\n"
    "  \"x-vendor\": {\n"
    "    \"list\": [\n"
    "      1,\n"
    "      2.5,\n"
    "      true,\n"
    "      null,\n"
    "      \"s\",\n"
    "      {}\n"
    "    ],\n"
    "    \"e\": []\n"
    "  }\n"
    "}";
  g_autoptr(HddMdevConfig) c = parse_ok (data);
  g_autoptr(HddMdevConfig) copy = hdd_mdev_config_copy (c);
  g_autofree char *out = hdd_mdevctl_serialize (copy);

  g_assert_cmpuint (c->attrs->len, ==, 2);
  g_assert_cmpstr (out, ==, expected);
}

static void
test_malformed_rejected (void)
{
  struct { const char *data; const char *why; } bad[] = {
    { "", "not a JSON object" },
    { "{", "not JSON" },
    { "[]", "not a JSON object" },
    { "\"mtty-1\"", "not a JSON object" },
    { "{\"start\": \"auto\"}", "“mdev_type” is missing" },
    { "{\"mdev_type\": 2, \"start\": \"auto\"}", "“mdev_type” is missing or not a string" },
    { "{\"mdev_type\": \"../../x\", \"start\": \"auto\"}", "Invalid mdev type" },
    { "{\"mdev_type\": \"mtty-1\"}", "“start” must be" },
    { "{\"mdev_type\": \"mtty-1\", \"start\": \"sometimes\"}", "“start” must be" },
    { "{\"mdev_type\": \"mtty-1\", \"start\": \"auto\", \"attrs\": {}}", "not a list" },
    { "{\"mdev_type\": \"mtty-1\", \"start\": \"auto\", \"attrs\": [\"a\"]}", "not an object" },
    { "{\"mdev_type\": \"mtty-1\", \"start\": \"auto\", \"attrs\": [{\"a\": 1}]}", "not a string" },
    { "{\"mdev_type\": \"mtty-1\", \"start\": \"auto\", \"attrs\": [{\"../remove\": \"1\"}]}",
      "Invalid mdev attribute" },
    { "{\"mdev_type\": \"mtty-1\", \"start\": \"auto\"} trailing", "not JSON" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(HddMdevConfig) c = hdd_mdevctl_parse (U1, "mtty", bad[i].data, -1, &error);

      g_assert_null (c);
      g_assert_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT);
      g_assert_true (g_str_has_prefix (error->message,
                                       "The definition of mdev " U1 " on mtty is invalid: "));
      if (strstr (error->message, bad[i].why) == NULL)
        g_error ("%s: “%s” does not say “%s”", bad[i].data, error->message, bad[i].why);
    }
}

static void
rm_rf (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)))
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        rm_rf (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
test_directory (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("hostdevd-mdevctl-XXXXXX", &error);
  g_autoptr(HddMdevConfig) c = hdd_mdev_config_new (U1, "mtty", "mtty-2", TRUE);
  g_autofree char *path = hdd_mdevctl_path (dir, "mtty", U1);
  g_autofree char *bad = hdd_mdevctl_path (dir, "mtty", U2);
  g_autofree char *stale = g_strconcat (path, ".ABC123", NULL);
  g_autofree char *scripts = g_build_filename (dir, "scripts.d", "callouts", NULL);
  g_autofree char *written = NULL;
  g_autofree char *expected = NULL;
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);

  hdd_mdev_config_add_attr (c, "label", "x");
  g_assert_true (hdd_mdevctl_save (dir, c, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &written, NULL, NULL));
  expected = hdd_mdevctl_serialize (c);
  g_assert_cmpstr (written, ==, expected);

  /* A file that does not parse is reported and left alone; a temporary a
   * crash left behind goes; mdevctl's scripts.d is no parent. */
  g_assert_true (g_file_set_contents (bad, "{ not json", -1, NULL));
  g_assert_true (g_file_set_contents (stale, "{", -1, NULL));
  g_assert_cmpint (g_mkdir_with_parents (scripts, 0755), ==, 0);
  all = hdd_mdevctl_load_all (dir, problems);
  g_assert_cmpuint (all->len, ==, 1);
  g_assert_cmpstr (((HddMdevConfig *) all->pdata[0])->uuid, ==, U1);
  g_assert_true (((HddMdevConfig *) all->pdata[0])->autostart);
  g_assert_cmpuint (problems->len, ==, 1);
  g_assert_nonnull (strstr (problems->pdata[0], U2));
  g_assert_true (g_file_test (bad, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (stale, G_FILE_TEST_EXISTS));

  g_assert_true (hdd_mdevctl_delete (dir, "mtty", U1, &error));
  g_assert_true (hdd_mdevctl_delete (dir, "mtty", U1, &error));  /* gone already: fine */
  g_assert_no_error (error);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  rm_rf (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/mdevctl/read-what-mdevctl-wrote", test_read_mdevctl);
  g_test_add_func ("/mdevctl/write-like-mdevctl", test_write_like_mdevctl);
  g_test_add_func ("/mdevctl/round-trip-keeps-order", test_round_trip_keeps_order);
  g_test_add_func ("/mdevctl/unknown-keys-preserved", test_unknown_keys_preserved);
  g_test_add_func ("/mdevctl/malformed-rejected", test_malformed_rejected);
  g_test_add_func ("/mdevctl/directory", test_directory);
  return g_test_run ();
}
