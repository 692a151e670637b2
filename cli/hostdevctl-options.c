/* The command line of a subcommand: its options, its arguments, and what
 * hostdevctl says when they are wrong. */
#include "hostdevctl-options.h"

#include <stdarg.h>
#include <stdio.h>

#include "hostdevctl-exit.h"

GOptionContext *
hdc_options_context_new (const char *parameters,
                         const char *summary)
{
  GOptionContext *context = g_option_context_new (parameters);

  g_option_context_set_summary (context, summary);
  return context;
}

int
hdc_options_usage_error (const char *command,
                         const char *format,
                         ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  fprintf (stderr, "hostdevctl: %s\n", message);
  fprintf (stderr, "Try “hostdevctl%s%s --help” for more information.\n",
           command ? " " : "", command ? command : "");
  return HDC_EXIT_USAGE;
}

gboolean
hdc_options_parse (GOptionContext *context,
                   const char     *command,
                   int            *argc,
                   char         ***argv,
                   int             n_args,
                   const char     *missing)
{
  g_autoptr(GError) error = NULL;

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      hdc_options_usage_error (command, "%s", error->message);
      return FALSE;
    }
  /* (*argv)[0] is the name of the subcommand. */
  if (n_args == HDC_ARGS_ONE_OR_MORE)
    n_args = MAX (*argc - 1, 1);
  if (*argc - 1 < n_args)
    {
      hdc_options_usage_error (command, "%s", missing);
      return FALSE;
    }
  if (*argc - 1 > n_args)
    {
      hdc_options_usage_error (command, "Unexpected argument “%s”", (*argv)[n_args + 1]);
      return FALSE;
    }
  return TRUE;
}

void
hdc_options_add_job (GOptionContext          *context,
                     const HdcJobOptionsSpec *spec,
                     HdcJobOptions           *values)
{
  const GOptionEntry deadline[] = {
    { "deadline", 'd', 0, G_OPTION_ARG_STRING, &values->deadline_text, spec->deadline_help, "S" },
    { NULL }
  };
  const GOptionEntry policy[] = {
    { "policy", 'p', 0, G_OPTION_ARG_STRING, &values->policy,
      "What happens at the deadline: wait (default), fail, destroy-domain, revoke", "P" },
    { NULL }
  };
  const GOptionEntry persistent[] = {
    { "persistent", 0, 0, G_OPTION_ARG_NONE, &values->persistent, spec->persistent_help, NULL },
    { NULL }
  };
  const GOptionEntry no_wait[] = {
    { "no-wait", 0, 0, G_OPTION_ARG_NONE, &values->no_wait,
      "Print the job and return instead of waiting for it", NULL },
    { NULL }
  };
  const GOptionEntry json[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &values->json, "Print the job as JSON (see hostdevctl(1))", NULL },
    { NULL }
  };

  g_return_if_fail (!(spec->flags & HDC_JOB_OPTION_DEADLINE) || spec->deadline_help != NULL);
  g_return_if_fail (!(spec->flags & HDC_JOB_OPTION_PERSISTENT) || spec->persistent_help != NULL);

  /* The context copies the entries; --help lists them in this order. */
  if (spec->flags & HDC_JOB_OPTION_DEADLINE)
    g_option_context_add_main_entries (context, deadline, NULL);
  if (spec->flags & HDC_JOB_OPTION_POLICY)
    g_option_context_add_main_entries (context, policy, NULL);
  if (spec->flags & HDC_JOB_OPTION_PERSISTENT)
    g_option_context_add_main_entries (context, persistent, NULL);
  if (spec->entries != NULL)
    g_option_context_add_main_entries (context, spec->entries, NULL);
  if (spec->flags & HDC_JOB_OPTION_NO_WAIT)
    g_option_context_add_main_entries (context, no_wait, NULL);
  if (spec->flags & HDC_JOB_OPTION_JSON)
    g_option_context_add_main_entries (context, json, NULL);
}

gboolean
hdc_options_parse_job (GOptionContext *context,
                       const char     *command,
                       int            *argc,
                       char         ***argv,
                       int             n_args,
                       const char     *missing,
                       HdcJobOptions  *values)
{
  guint64 seconds;

  if (!hdc_options_parse (context, command, argc, argv, n_args, missing))
    return FALSE;
  if (values->deadline_text == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (values->deadline_text, 10, 0, G_MAXUINT32, &seconds, NULL))
    {
      hdc_options_usage_error (command, "--deadline takes a whole number of seconds, not “%s”",
                               values->deadline_text);
      return FALSE;
    }
  values->has_deadline = TRUE;
  values->deadline = (guint32) seconds;
  return TRUE;
}

void
hdc_options_insert_job (const HdcJobOptions *values,
                        GVariantDict        *options)
{
  if (values->has_deadline)
    g_variant_dict_insert (options, "deadline", "u", values->deadline);
  if (values->policy)
    g_variant_dict_insert (options, "policy", "s", values->policy);
  if (values->persistent)
    g_variant_dict_insert (options, "persistent", "b", TRUE);
}

void
hdc_options_clear_job (HdcJobOptions *values)
{
  g_clear_pointer (&values->policy, g_free);
  g_clear_pointer (&values->deadline_text, g_free);
}
