/* hostdevctl jobs: the jobs hostdevd runs or finished a short while ago. */
#include "hostdevctl-commands.h"

#include <stdio.h>

#include "hostdevctl-client.h"
#include "hostdevctl-exit.h"
#include "hostdevctl-format.h"
#include "hostdevctl-json.h"
#include "hostdevctl-options.h"
#include "hostdevctl-output.h"
#include "hostdevctl-table.h"

static char *
format_objects (const char * const *paths)
{
  g_autoptr(GPtrArray) addresses = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; paths != NULL && paths[i] != NULL; i++)
    g_ptr_array_add (addresses, hdc_format_address_from_path (paths[i]));
  g_ptr_array_add (addresses, NULL);
  return g_strjoinv (",", (char **) addresses->pdata);
}

static void
print_table (GPtrArray *jobs)
{
  g_autoptr(HdcTable) table = hdc_table_new ("ID", "OPERATION", "OBJECT", "STATE",
                                             "PROGRESS", "STATUS", NULL);

  hdc_table_align_right (table, 0);
  hdc_table_align_right (table, 4);
  for (guint i = 0; i < jobs->len; i++)
    {
      HddDbusJob *job = g_ptr_array_index (jobs, i);
      g_autofree char *id = g_strdup_printf ("%u", hdd_dbus_job_get_id (job));
      g_autofree char *objects = format_objects (hdd_dbus_job_get_objects (job));
      g_autofree char *progress = g_strdup_printf ("%.0f%%", hdd_dbus_job_get_progress (job) * 100.0);

      hdc_table_add_row (table, id,
                         hdd_dbus_job_get_operation (job),
                         objects,
                         hdd_dbus_job_get_state (job),
                         progress,
                         hdd_dbus_job_get_status (job));
    }
  hdc_table_print (table, stdout);
}

int
hdc_cmd_jobs (int argc, char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON (see hostdevctl(1))", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    hdc_options_context_new (NULL, "List the jobs hostdevd is running, and those that "
                             "finished recently.");
  g_autoptr(HdcClient) client = NULL;
  g_autoptr(GPtrArray) jobs = NULL;
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!hdc_options_parse (context, "jobs", &argc, &argv, 0, NULL))
    return HDC_EXIT_USAGE;

  client = hdc_client_new (&error);
  if (client == NULL)
    return hdc_output_fail (error);

  jobs = hdc_client_list_jobs (client);
  if (json)
    hdc_json_print_list ("jobs", jobs, (HdcJsonAddFunc) hdc_json_add_job);
  else
    print_table (jobs);
  return HDC_EXIT_OK;
}
