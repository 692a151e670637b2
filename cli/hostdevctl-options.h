/* The command line of a subcommand: its options, its arguments, and what
 * hostdevctl says when they are wrong. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Options of a subcommand taking @parameters ("ADDRESS"), with @summary
 * shown by --help. */
GOptionContext *hdc_options_context_new (const char *parameters,
                                         const char *summary);

/* Parses the options of @command; on a usage error prints it and returns
 * FALSE: the caller returns HDC_EXIT_USAGE.  Afterwards argv[1..] are the
 * positional arguments, and their number must be @n_args exactly. */
gboolean hdc_options_parse (GOptionContext *context,
                            const char     *command,
                            int            *argc,
                            char         ***argv,
                            int             n_args,
                            const char     *missing);

/* Prints "hostdevctl: MESSAGE" and a hint at "--help" to stderr, returns
 * HDC_EXIT_USAGE.  @command is NULL for the global command line. */
int hdc_options_usage_error (const char *command,
                             const char *format,
                             ...) G_GNUC_PRINTF (2, 3);

G_END_DECLS
