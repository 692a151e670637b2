#include "hdd-options.h"

#include "hdd-error.h"
#include "hdd-names.h"

static const HddOptionSpec common_options[] = {
  { HDD_OPTION_ALLOW_INTERACTION, "b" },
  { NULL }
};

static const HddOptionSpec *
lookup (const HddOptionSpec *spec, const char *name)
{
  for (; spec && spec->name; spec++)
    if (g_str_equal (spec->name, name))
      return spec;
  return NULL;
}

gboolean
hdd_options_check (GVariant            *options,
                   const HddOptionSpec *spec,
                   GError             **error)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;

  g_return_val_if_fail (g_variant_is_of_type (options, G_VARIANT_TYPE_VARDICT), FALSE);

  g_variant_iter_init (&iter, options);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
    {
      const HddOptionSpec *s = lookup (spec, key);

      if (s == NULL)
        s = lookup (common_options, key);
      if (s == NULL)
        {
          g_autofree char *shown = g_strescape (key, NULL);
          g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                       "Unknown option “%.64s”", shown);
          g_variant_unref (value);
          return FALSE;
        }
      if (!g_variant_is_of_type (value, G_VARIANT_TYPE (s->type)))
        {
          g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                       "Option “%s” must be of type “%s”, not “%s”",
                       s->name, s->type, g_variant_get_type_string (value));
          g_variant_unref (value);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
hdd_options_check_call (GDBusMethodInvocation *invocation,
                        GVariant              *options,
                        const HddOptionSpec   *spec)
{
  g_autoptr(GError) error = NULL;

  if (hdd_options_check (options, spec, &error))
    return TRUE;
  g_dbus_method_invocation_return_gerror (invocation, error);
  return FALSE;
}

gboolean
hdd_options_get_boolean (GVariant   *options,
                         const char *name,
                         gboolean    fallback)
{
  gboolean value;

  if (g_variant_lookup (options, name, "b", &value))
    return value;
  return fallback;
}
