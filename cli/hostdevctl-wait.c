/* hostdevctl wait / cancel: follow or stop a job by its number or path. */
#include "hostdevctl-commands.h"

#include <stdio.h>

#include "hostdevctl-client.h"
#include "hostdevctl-exit.h"
#include "hostdevctl-job.h"
#include "hostdevctl-options.h"
#include "hostdevctl-output.h"

#define MISSING_JOB "Missing the JOB: its number, as “hostdevctl jobs” shows it, or its object path"

/* Caught before connecting, as a usage error: "wait foo" is a mistake on
 * the command line, not something the daemon refused. */
static gboolean
check_job_spec (const char *command,
                const char *spec)
{
  guint64 id;

  if (spec[0] == '/' || g_ascii_string_to_unsigned (spec, 10, 1, G_MAXUINT32, &id, NULL))
    return TRUE;
  hdc_options_usage_error (command, "“%s” is not a job: give its number, as “hostdevctl jobs” "
                           "shows it, or its object path", spec);
  return FALSE;
}

int
hdc_cmd_wait (int argc, char **argv)
{
  const HdcJobOptionsSpec spec = { .flags = HDC_JOB_OPTION_JSON };
  g_auto(HdcJobOptions) job_options = { 0 };
  g_autoptr(GOptionContext) context =
    hdc_options_context_new ("JOB", "Wait for JOB (a number or an object path) to finish, "
                             "showing its progress.  The exit status says how it ended: "
                             "0 when it completed, 1 when it failed or was cancelled.");
  g_autoptr(HdcClient) client = NULL;
  g_autoptr(HddDbusJob) job = NULL;
  g_autoptr(GError) error = NULL;

  hdc_options_add_job (context, &spec, &job_options);
  if (!hdc_options_parse_job (context, "wait", &argc, &argv, 1, MISSING_JOB, &job_options) ||
      !check_job_spec ("wait", argv[1]))
    return HDC_EXIT_USAGE;

  client = hdc_client_new (&error);
  if (client == NULL)
    return hdc_output_fail (error);
  job = hdc_client_get_job (client, argv[1], &error);
  if (job == NULL)
    return hdc_output_fail (error);

  return hdc_job_wait (client, job, job_options.json);
}

int
hdc_cmd_cancel (int argc, char **argv)
{
  g_autoptr(GOptionContext) context =
    hdc_options_context_new ("JOB", "Cancel JOB (a number or an object path).  A job can no "
                             "longer be cancelled once the kernel is releasing its device.");
  g_autoptr(HdcClient) client = NULL;
  g_autoptr(HddDbusJob) job = NULL;
  g_autoptr(GError) error = NULL;

  if (!hdc_options_parse (context, "cancel", &argc, &argv, 1, MISSING_JOB) ||
      !check_job_spec ("cancel", argv[1]))
    return HDC_EXIT_USAGE;

  client = hdc_client_new (&error);
  if (client == NULL)
    return hdc_output_fail (error);
  job = hdc_client_get_job (client, argv[1], &error);
  if (job == NULL)
    return hdc_output_fail (error);

  if (!hdd_dbus_job_call_cancel_sync (job, hdc_client_options_new (job), NULL, &error))
    return hdc_output_fail (error);

  /* Cancel() only asks: the job stops at its next safe point. */
  printf ("Asked job %u to stop (“hostdevctl wait %u” shows when it has)\n",
          hdd_dbus_job_get_id (job), hdd_dbus_job_get_id (job));
  return HDC_EXIT_OK;
}
