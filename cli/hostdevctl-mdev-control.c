/* hostdevctl mdev remove / stop / start / undefine: what is done to an
 * existing mdev, named by its UUID. */
#include "hostdevctl-mdev.h"

#include <stdio.h>

#include "hdd-names.h"
#include "hostdevctl-batch.h"
#include "hostdevctl-client.h"
#include "hostdevctl-exit.h"
#include "hostdevctl-job.h"
#include "hostdevctl-options.h"
#include "hostdevctl-output.h"

#define MISSING_UUID "Missing the UUID of an mdev (“hostdevctl mdev list” shows them)"

typedef gboolean (*JobCall) (HddDbusMdev  *proxy,
                             GVariant     *options,
                             char        **job,
                             GCancellable *cancellable,
                             GError      **error);

/* remove, stop, start: a job, followed like "bind" follows its own; with
 * several UUIDs, a job each (hostdevctl-batch.h). */
static int
run_job (int         argc,
         char      **argv,
         const char *command,
         const char *summary,
         const char *method,
         JobCall     call)
{
  const HdcJobOptionsSpec spec = { .flags = HDC_JOB_OPTIONS_FOLLOW };
  g_auto(HdcJobOptions) job_options = { 0 };
  g_autofree char *full_summary =
    g_strconcat (summary, "  With several UUIDs, a job each, several at a time; one that "
                 "fails does not stop the others.", NULL);
  g_autoptr(GOptionContext) context = hdc_options_context_new ("UUID…", full_summary);
  g_autoptr(HdcClient) client = NULL;
  g_autoptr(HddDbusMdev) mdev = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *job = NULL;

  hdc_options_add_job (context, &spec, &job_options);
  if (!hdc_options_parse_job (context, command, &argc, &argv, HDC_ARGS_ONE_OR_MORE,
                              MISSING_UUID, &job_options))
    return HDC_EXIT_USAGE;
  if (argc > 2 && job_options.json)
    return hdc_options_usage_error (command, "--json takes one UUID");

  client = hdc_client_new (&error);
  if (client == NULL)
    return hdc_output_fail (error);
  if (argc > 2)
    return hdc_batch_call (client, (const char * const *) argv + 1, "GetMdev", HDD_IFACE_MDEV,
                           method, hdc_client_options_new (NULL), job_options.no_wait);
  hdc_client_watch_jobs (client);
  mdev = hdc_client_get_mdev (client, argv[1], FALSE, &error);
  if (mdev == NULL || !call (mdev, hdc_client_options_new (mdev), &job, NULL, &error))
    return hdc_output_fail (error);
  return hdc_job_follow (client, job, job_options.no_wait, job_options.json);
}

int
hdc_mdev_remove (int argc, char **argv)
{
  return run_job (argc, argv, "mdev remove",
                  "Remove the running mdev UUID and wait until it is gone.  While a "
                  "process holds it, the kernel waits for it to let go: the progress shows "
                  "who holds it and how often the kernel asked.  A definition stays.",
                  "Remove", hdd_dbus_mdev_call_remove_sync);
}

int
hdc_mdev_stop (int argc, char **argv)
{
  return run_job (argc, argv, "mdev stop",
                  "Remove the running mdev UUID, as “mdev remove” does; its definition "
                  "stays, so that “mdev start” creates it again.",
                  "Stop", hdd_dbus_mdev_call_stop_sync);
}

int
hdc_mdev_start (int argc, char **argv)
{
  return run_job (argc, argv, "mdev start",
                  "Create the defined mdev UUID as its definition says, and wait until "
                  "it is done.",
                  "Start", hdd_dbus_mdev_call_start_sync);
}

int
hdc_mdev_undefine (int argc, char **argv)
{
  g_autoptr(GOptionContext) context =
    hdc_options_context_new ("UUID", "Delete the definition of the mdev UUID.  A running mdev "
                             "keeps running.");
  g_autoptr(HdcClient) client = NULL;
  g_autoptr(HddDbusMdev) mdev = NULL;
  g_autoptr(GError) error = NULL;

  if (!hdc_options_parse (context, "mdev undefine", &argc, &argv, 1, MISSING_UUID))
    return HDC_EXIT_USAGE;

  client = hdc_client_new (&error);
  if (client == NULL)
    return hdc_output_fail (error);
  mdev = hdc_client_get_mdev (client, argv[1], TRUE, &error);
  if (mdev == NULL ||
      !hdd_dbus_mdev_call_undefine_sync (mdev, hdc_client_options_new (mdev), NULL, &error))
    return hdc_output_fail (error);
  printf ("mdev %s is no longer defined\n", hdd_dbus_mdev_get_uuid (mdev));
  return HDC_EXIT_OK;
}
