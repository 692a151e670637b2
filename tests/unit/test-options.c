#include "hdd-error.h"
#include "hdd-options.h"

static const HddOptionSpec spec[] = {
  { "group", "b" },
  { "deadline", "u" },
  { NULL }
};

static GVariant *
parse (const char *text)
{
  g_autoptr(GError) error = NULL;
  GVariant *v = g_variant_parse (G_VARIANT_TYPE_VARDICT, text, NULL, NULL, &error);

  g_assert_no_error (error);
  return g_variant_ref_sink (v);
}

static void
test_accepts (void)
{
  g_autoptr(GVariant) o = parse ("{'group': <true>, 'deadline': <uint32 5>, 'allow-interaction': <false>}");
  g_autoptr(GError) error = NULL;

  g_assert_true (hdd_options_check (o, spec, &error));
  g_assert_no_error (error);
  g_assert_true (hdd_options_get_boolean (o, "group", FALSE));
  g_assert_false (hdd_options_get_boolean (o, "persist", FALSE));
  g_assert_true (hdd_options_get_boolean (o, "persist", TRUE));
}

static void
test_rejects (void)
{
  const char *cases[] = {
    "{'unknown': <true>}",
    "{'group': <'yes'>}",
    "{'group': <1>}",
    "{'deadline': <int32 5>}",
    "{'allow-interaction': <'true'>}",
    "{'': <true>}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GVariant) o = parse (cases[i]);
      g_autoptr(GError) error = NULL;

      g_assert_false (hdd_options_check (o, spec, &error));
      g_assert_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT);
    }
}

static void
test_no_spec (void)
{
  g_autoptr(GVariant) ok = parse ("{'allow-interaction': <true>}");
  g_autoptr(GVariant) bad = parse ("{'group': <true>}");
  g_autoptr(GError) error = NULL;

  g_assert_true (hdd_options_check (ok, NULL, NULL));
  g_assert_false (hdd_options_check (bad, NULL, &error));
  g_assert_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/options/accepts", test_accepts);
  g_test_add_func ("/options/rejects", test_rejects);
  g_test_add_func ("/options/no-spec", test_no_spec);
  return g_test_run ();
}
