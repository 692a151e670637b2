/* mdevctl's definition format: what mdevctl 1.2 wrote (tests/fixtures/mdevctl,
 * made by make-fixtures.sh with the real mdevctl) is read, and written back
 * byte for byte. */
#include "hdd-error.h"
#include "hdd-mdev-names.h"
#include "hdd-mdevctl.h"

#include <glib/gstdio.h>
#include <string.h>
#include <time.h>
#include <utime.h>

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
    " \"attrs\": [{\"a\": \"1\"}, {\"b\": \"2\"}]}";
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
    /* out of a double's range: infinity, written back as "inf" (fuzz-mdevctl) */
    { "{\"mdev_type\": \"mtty-1\", \"start\": \"auto\", \"x\": 1e999}", "out of range" },
    { "{\"mdev_type\": \"mtty-1\", \"start\": \"auto\", \"x\": [{\"y\": -1e400}]}", "out of range" },
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

/* Refused with a sentence that says @why, after the usual prefix. */
static void
assert_refused (const char *data, gssize len, const char *why)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HddMdevConfig) c = hdd_mdevctl_parse (U1, "mtty", data, len, &error);

  g_assert_null (c);
  g_assert_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT);
  g_assert_true (g_str_has_prefix (error->message,
                                   "The definition of mdev " U1 " on mtty is invalid: "));
  if (strstr (error->message, why) == NULL)
    g_error ("“%.80s”: “%s” does not say “%s”", data, error->message, why);
}

/* {"mdev_type": "mtty-1", "start": "manual", "x": [[...]]}: @depth levels
 * in all, the outer object included. */
static char *
nested (guint depth)
{
  GString *s = g_string_new ("{\"mdev_type\": \"mtty-1\", \"start\": \"manual\", \"x\": ");

  for (guint i = 1; i < depth; i++)
    g_string_append_c (s, '[');
  for (guint i = 1; i < depth; i++)
    g_string_append_c (s, ']');
  g_string_append_c (s, '}');
  return g_string_free (s, FALSE);
}

/* json-glib's parser recurses once per level: 100000 '[' overflowed the
 * stack (SIGSEGV) before the scan.  mdevctl's limit is the bound: 127
 * levels read, 128 refused (mdevctl: "recursion limit exceeded"). */
static void
test_depth_bound (void)
{
  g_autofree char *deep = g_strnfill (100000, '[');
  g_autofree char *deep_small = g_strnfill (60000, '[');
  g_autofree char *at_limit = nested (HDD_MDEVCTL_MAX_DEPTH);
  g_autofree char *over = nested (HDD_MDEVCTL_MAX_DEPTH + 1);
  g_autoptr(HddMdevConfig) c = NULL;

  g_assert_cmpint (HDD_MDEVCTL_MAX_DEPTH, ==, 127);
  assert_refused (deep, -1, "is invalid: it is");   /* larger, and deeper */
  assert_refused (deep_small, -1, "deeper than 127 levels");
  assert_refused (over, -1, "deeper than 127 levels");
  c = parse_ok (at_limit);
  g_assert_nonnull (c->extra);
}

static void
test_size_bound (void)
{
  g_autofree char *pad = g_strnfill (HDD_MDEVCTL_MAX_SIZE, ' ');
  g_autofree char *big = g_strconcat ("{\"mdev_type\": \"mtty-1\", \"start\": \"manual\"}", pad, NULL);
  g_autofree char *fits = g_strndup (big, HDD_MDEVCTL_MAX_SIZE);
  g_autoptr(HddMdevConfig) c = parse_ok (fits);

  assert_refused (big, -1, "larger than 65536 bytes");
  assert_refused (big, (gssize) strlen (big), "larger than 65536 bytes");
}

/* json-glib returns "x\u0000y" as "x", and keeps no length to tell: the
 * scan refuses the escape, and a raw NUL byte. */
static void
test_nul_refused (void)
{
  const char raw[] = "{\"mdev_type\": \"mtty-1\0x\", \"start\": \"auto\"}";
  g_autoptr(HddMdevConfig) ok = NULL;
  g_autoptr(HddMdevConfig) pair = NULL;

  assert_refused ("{\"mdev_type\": \"mtty-1\", \"start\": \"auto\", "
                  "\"attrs\": [{\"label\": \"x\\u0000y\"}]}", -1, "NUL");
  assert_refused ("{\"mdev_type\": \"mtty-1\", \"start\": \"auto\", "
                  "\"attrs\": [{\"label\\u0000/../../x\": \"1\"}]}", -1, "NUL");
  assert_refused ("{\"mdev_type\": \"mtty-1\\u0000\", \"start\": \"auto\"}", -1, "NUL");
  assert_refused (raw, sizeof raw - 1, "NUL byte");
  /* json-glib's octal escapes, a NUL too; JSON has none. */
  assert_refused ("{\"mdev_type\": \"mtty-1\", \"start\": \"auto\", "
                  "\"attrs\": [{\"label\": \"x\\0y\"}]}", -1, "not JSON (an escape");
  /* Half a surrogate pair came out as bytes that are no UTF-8, and the
   * Attributes property cannot carry them; a whole pair is fine. */
  assert_refused ("{\"mdev_type\": \"mtty-1\", \"start\": \"auto\", "
                  "\"attrs\": [{\"label\": \"x\\ud800y\"}]}", -1, "half a surrogate pair");
  assert_refused ("{\"mdev_type\": \"mtty-1\", \"start\": \"auto\", "
                  "\"attrs\": [{\"label\": \"x\\udc00\"}]}", -1, "half a surrogate pair");
  assert_refused ("{\"mdev_type\": \"mtty-1\", \"start\": \"auto\", "
                  "\"attrs\": [{\"label\": \"x\\u12\"}]}", -1, "four hex digits");
  /* An escaped backslash before "u0000" is no NUL. */
  ok = parse_ok ("{\"mdev_type\": \"mtty-1\", \"start\": \"auto\", "
                 "\"attrs\": [{\"label\": \"x\\\\u0000\"}]}");
  g_assert_cmpstr (((HddMdevAttr *) ok->attrs->pdata[0])->value, ==, "x\\u0000");
  pair = parse_ok ("{\"mdev_type\": \"mtty-1\", \"start\": \"auto\", "
                   "\"attrs\": [{\"label\": \"\\ud83d\\ude00 \\u00e9\\/\"}]}");
  g_assert_cmpstr (((HddMdevAttr *) pair->attrs->pdata[0])->value, ==, "\xf0\x9f\x98\x80 é/");
}

/* What json-glib takes but JSON (and mdevctl) does not: it would hide
 * brackets from the scan. */
static void
test_not_json_refused (void)
{
  assert_refused ("{'mdev_type': 'mtty-1', 'start': 'auto'}", -1, "not JSON");
  assert_refused ("/* \" */ {\"mdev_type\": \"mtty-1\", \"start\": \"auto\"}", -1, "not JSON");
}

/* mdevctl 1.2 (MDev::add_attributes): each element of "attrs" an object
 * of exactly one member; {} and two members refused ("too many fields");
 * null and a missing "attrs" are none; a key twice is one, the last. */
static void
test_attrs_like_mdevctl (void)
{
  g_autoptr(HddMdevConfig) dup = NULL;
  g_autoptr(HddMdevConfig) null_attrs = NULL;

  assert_refused ("{\"mdev_type\": \"mtty-1\", \"start\": \"auto\", \"attrs\": [{}]}", -1,
                  "attribute 1 has 0 members");
  assert_refused ("{\"mdev_type\": \"mtty-1\", \"start\": \"auto\", "
                  "\"attrs\": [{\"a\": \"1\"}, {\"a\": \"1\", \"b\": \"2\"}]}", -1,
                  "attribute 2 has 2 members");
  assert_refused ("{\"mdev_type\": \"mtty-1\", \"start\": \"auto\", \"attrs\": 5}", -1,
                  "not a list");
  assert_refused ("{\"mdev_type\": \"mtty-1\", \"start\": \"auto\", "
                  "\"attrs\": [{\"mdev_type/create\": \"" U2 "\"}]}", -1, "Invalid mdev attribute");
  dup = parse_ok ("{\"mdev_type\": \"mtty-1\", \"start\": \"auto\", "
                  "\"attrs\": [{\"a\": \"1\", \"a\": \"2\"}]}");
  g_assert_cmpuint (dup->attrs->len, ==, 1);
  assert_attr (dup, 0, "a", "2");
  null_attrs = parse_ok ("{\"mdev_type\": \"mtty-1\", \"start\": \"auto\", \"attrs\": null}");
  g_assert_cmpuint (null_attrs->attrs->len, ==, 0);
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
  g_autofree char *fresh = g_strconcat (path, ".DEF456", NULL);
  struct utimbuf old = { 0 };
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
   * crash left behind (an old one) goes, a write under way (a young one)
   * stays; mdevctl's scripts.d is no parent. */
  g_assert_true (g_file_set_contents (bad, "{ not json", -1, NULL));
  g_assert_true (g_file_set_contents (stale, "{", -1, NULL));
  old.actime = old.modtime = time (NULL) - HDD_MDEVCTL_TEMPORARY_AGE_S - 5;
  g_assert_cmpint (utime (stale, &old), ==, 0);
  g_assert_true (g_file_set_contents (fresh, "{", -1, NULL));
  g_assert_cmpint (g_mkdir_with_parents (scripts, 0755), ==, 0);
  all = hdd_mdevctl_load_all (dir, problems);
  g_assert_cmpuint (all->len, ==, 1);
  g_assert_cmpstr (((HddMdevConfig *) all->pdata[0])->uuid, ==, U1);
  g_assert_true (((HddMdevConfig *) all->pdata[0])->autostart);
  g_assert_cmpuint (problems->len, ==, 1);
  g_assert_nonnull (strstr (problems->pdata[0], U2));
  g_assert_true (g_file_test (bad, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (stale, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (fresh, G_FILE_TEST_EXISTS));
  g_unlink (fresh);

  g_assert_true (hdd_mdevctl_delete (dir, "mtty", U1, &error));
  g_assert_true (hdd_mdevctl_delete (dir, "mtty", U1, &error));  /* gone already: fine */
  g_assert_no_error (error);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  rm_rf (dir);
}

/* Hostile files in the directory: each reported once, left as it is, and
 * the others still read; scripts.d holds no definitions. */
static void
test_directory_hostile (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("hostdevd-mdevctl-XXXXXX", &error);
  g_autoptr(HddMdevConfig) good = hdd_mdev_config_new (U1, "mtty", "mtty-2", TRUE);
  g_autoptr(HddMdevConfig) in_scripts = hdd_mdev_config_new (U1, "scripts.d", "mtty-2", TRUE);
  g_autofree char *deep_path = hdd_mdevctl_path (dir, "mtty", U2);
  g_autofree char *big_path = hdd_mdevctl_path (dir, "mdpy", U2);
  g_autofree char *scripts_path = hdd_mdevctl_path (dir, "scripts.d", U2);
  g_autofree char *deep = g_strnfill (100000, '[');
  g_autofree char *big = g_strnfill (4 * HDD_MDEVCTL_MAX_SIZE, ' ');
  g_autofree char *mdpy = g_build_filename (dir, "mdpy", NULL);
  g_autofree char *scripts = g_build_filename (dir, "scripts.d", NULL);
  g_autofree char *value = g_strnfill (HDD_MDEV_ATTR_VALUE_MAX, 'v');
  const char *head = "{\"mdev_type\": \"mtty-1\", \"start\": \"auto\"}";
  g_autofree char *kept = NULL;
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);

  g_assert_true (hdd_mdevctl_save (dir, good, &error));
  g_assert_cmpint (g_mkdir (mdpy, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (scripts, 0755), ==, 0);
  g_assert_true (g_file_set_contents (deep_path, deep, -1, NULL));
  memcpy (big, head, strlen (head));
  g_assert_true (g_file_set_contents (big_path, big, -1, NULL));
  g_assert_true (g_file_set_contents (scripts_path, "{\"mdev_type\": \"mtty-1\", \"start\": \"auto\"}",
                                      -1, NULL));

  all = hdd_mdevctl_load_all (dir, problems);
  g_assert_cmpuint (all->len, ==, 1);
  g_assert_cmpstr (((HddMdevConfig *) all->pdata[0])->parent, ==, "mtty");
  g_assert_cmpuint (problems->len, ==, 2);
  for (guint i = 0; i < problems->len; i++)
    g_assert_true (strstr (problems->pdata[i], "deeper than 127 levels") ||
                   strstr (problems->pdata[i], "larger than 65536 bytes"));
  g_assert_true (g_file_get_contents (deep_path, &kept, NULL, NULL));
  g_assert_cmpstr (kept, ==, deep);

  /* Nor is a definition written there, or one too large to read back. */
  g_assert_false (hdd_mdevctl_save (dir, in_scripts, &error));
  g_assert_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  for (guint i = 0; i < 20; i++)
    hdd_mdev_config_add_attr (good, "label", value);
  g_assert_false (hdd_mdevctl_save (dir, good, &error));
  g_assert_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "more than the 65536 bytes"));
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
  g_test_add_func ("/mdevctl/bounds/depth", test_depth_bound);
  g_test_add_func ("/mdevctl/bounds/size", test_size_bound);
  g_test_add_func ("/mdevctl/bounds/nul", test_nul_refused);
  g_test_add_func ("/mdevctl/bounds/not-json", test_not_json_refused);
  g_test_add_func ("/mdevctl/attrs-like-mdevctl", test_attrs_like_mdevctl);
  g_test_add_func ("/mdevctl/directory-hostile", test_directory_hostile);
  return g_test_run ();
}
