/* The a{sv} options every method takes, as any caller can send them: the
 * input is the serialized GVariant (D-Bus's format), taken as untrusted
 * data as GDBus would take it off the wire.  The check must refuse what
 * its spec does not name or types otherwise, accept the rest, and agree
 * with itself on the normal form. */
#include "fuzz-common.h"

#include "hdd-error.h"
#include "hdd-options.h"

FUZZ_DEFINE_INITIALIZE ()

static const HddOptionSpec spec[] = {
  { "group", "b" },
  { "persist", "b" },
  { "policy", "s" },
  { "timeout", "u" },
  { "attributes", "a(ss)" },
  { NULL }
};

static gboolean
expected (GVariant *options)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;

  g_variant_iter_init (&iter, options);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
    {
      const char *type = NULL;

      for (guint i = 0; spec[i].name; i++)
        if (g_str_equal (spec[i].name, key))
          type = spec[i].type;
      if (g_str_equal (key, "allow-interaction"))
        type = "b";
      if (type == NULL || !g_variant_is_of_type (value, G_VARIANT_TYPE (type)))
        {
          g_variant_unref (value);
          return FALSE;
        }
    }
  return TRUE;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(GVariant) options = g_variant_ref_sink (
      g_variant_new_from_bytes (G_VARIANT_TYPE_VARDICT, bytes, FALSE));
  g_autoptr(GVariant) normal = g_variant_get_normal_form (options);
  g_autoptr(GError) error = NULL;
  gboolean ok = hdd_options_check (options, spec, &error);
  gboolean ok_normal = hdd_options_check (normal, spec, NULL);

  FUZZ_CHECK (ok == ok_normal, "%d on the input, %d on its normal form", ok, ok_normal);
  FUZZ_CHECK (ok == expected (normal), "check says %d", ok);
  if (!ok)
    {
      FUZZ_CHECK (g_error_matches (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT),
                  "refused with %s", error ? error->message : "no error");
      FUZZ_CHECK (g_utf8_validate (error->message, -1, NULL), "message not UTF-8");
      return 0;
    }
  (void) hdd_options_get_boolean (options, "group", FALSE);
  (void) hdd_options_get_boolean (options, "allow-interaction", FALSE);
  return 0;
}
