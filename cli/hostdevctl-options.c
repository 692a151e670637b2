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
