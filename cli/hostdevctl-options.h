/* The command line of a subcommand: its options, its arguments, and what
 * hostdevctl says when they are wrong. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Options of a subcommand taking @parameters ("ADDRESS"), with @summary
 * shown by --help. */
GOptionContext *hdc_options_context_new (const char *parameters,
                                         const char *summary);

/* @n_args of a command that takes one positional argument or more. */
#define HDC_ARGS_ONE_OR_MORE (-1)

/* Parses the options of @command; on a usage error prints it and returns
 * FALSE: the caller returns HDC_EXIT_USAGE.  Afterwards argv[1..] are the
 * positional arguments, and their number must be @n_args exactly (or at
 * least one with HDC_ARGS_ONE_OR_MORE). */
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

/* ---- The options of the subcommands that start a job ----
 *
 * bind, restore, unplug, attach, detach, wait and the mdev verbs that
 * start a job share these; one builder declares them, so that their names,
 * letters and help texts cannot drift apart. */

typedef enum {
  HDC_JOB_OPTION_DEADLINE   = 1 << 0,  /* -d, --deadline S */
  HDC_JOB_OPTION_POLICY     = 1 << 1,  /* -p, --policy P */
  HDC_JOB_OPTION_PERSISTENT = 1 << 2,  /* --persistent */
  HDC_JOB_OPTION_NO_WAIT    = 1 << 3,  /* --no-wait */
  HDC_JOB_OPTION_JSON       = 1 << 4,  /* --json: the job as JSON */
} HdcJobOptionFlags;

/* Follow the job, or with --no-wait only say which it is; as JSON with --json. */
#define HDC_JOB_OPTIONS_FOLLOW (HDC_JOB_OPTION_NO_WAIT | HDC_JOB_OPTION_JSON)

/* Which of them a subcommand takes.  --deadline and --persistent say
 * different things to different subcommands: @deadline_help and
 * @persistent_help are their descriptions.  @entries are the subcommand's
 * own options (NULL-terminated, or NULL); --help shows them after
 * --persistent and before --no-wait. */
typedef struct {
  HdcJobOptionFlags   flags;
  const char         *deadline_help;
  const char         *persistent_help;
  const GOptionEntry *entries;
} HdcJobOptionsSpec;

/* What the command line said. */
typedef struct {
  gboolean  has_deadline;
  guint32   deadline;       /* seconds, with has_deadline */
  char     *policy;         /* NULL unless given */
  gboolean  persistent;
  gboolean  no_wait;
  gboolean  json;
  char     *deadline_text;  /* as typed; hdc_options_parse_job() reads it */
} HdcJobOptions;

/* The builder: adds the options @spec names, and its own entries, to
 * @context, to be parsed into @values (zeroed by the caller). */
void hdc_options_add_job (GOptionContext          *context,
                          const HdcJobOptionsSpec *spec,
                          HdcJobOptions           *values);

/* hdc_options_parse(), then checks --deadline: a whole number of seconds
 * (the daemon checks the range). */
gboolean hdc_options_parse_job (GOptionContext *context,
                                const char     *command,
                                int            *argc,
                                char         ***argv,
                                int             n_args,
                                const char     *missing,
                                HdcJobOptions  *values);

/* Adds --deadline, --policy and --persistent, those given, to the options
 * (a{sv}) of the method call that starts the job. */
void hdc_options_insert_job (const HdcJobOptions *values,
                             GVariantDict        *options);

void hdc_options_clear_job (HdcJobOptions *values);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (HdcJobOptions, hdc_options_clear_job)

G_END_DECLS
