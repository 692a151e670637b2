/* hostdevctl types: the mdev types the parent devices offer. */
#include "hostdevctl-commands.h"

#include <stdio.h>

#include "hostdevctl-client.h"
#include "hostdevctl-exit.h"
#include "hostdevctl-json.h"
#include "hostdevctl-options.h"
#include "hostdevctl-output.h"
#include "hostdevctl-table.h"

static void
print_table (GPtrArray *types)
{
  g_autoptr(HdcTable) table = hdc_table_new ("PARENT", "TYPE", "AVAILABLE", "API", "NAME", NULL);

  hdc_table_align_right (table, 2);
  for (guint i = 0; i < types->len; i++)
    {
      HddDbusMdevType *t = g_ptr_array_index (types, i);
      g_autofree char *available = g_strdup_printf ("%u", hdd_dbus_mdev_type_get_available_instances (t));

      hdc_table_add_row (table,
                         hdd_dbus_mdev_type_get_parent (t),
                         hdd_dbus_mdev_type_get_type_id (t),
                         available,
                         hdd_dbus_mdev_type_get_device_api (t),
                         hdd_dbus_mdev_type_get_name (t));
    }
  hdc_table_print (table, stdout);
}

int
hdc_cmd_types (int argc, char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON (see hostdevctl(1))", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    hdc_options_context_new (NULL, "List the mdev types the parent devices of this machine "
                             "offer, and how many more of each they can create.");
  g_autoptr(HdcClient) client = NULL;
  g_autoptr(GPtrArray) types = NULL;
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!hdc_options_parse (context, "types", &argc, &argv, 0, NULL))
    return HDC_EXIT_USAGE;

  client = hdc_client_new (&error);
  if (client == NULL)
    return hdc_output_fail (error);

  types = hdc_client_list_mdev_types (client);
  if (json)
    hdc_json_print_list ("types", types, (HdcJsonAddFunc) hdc_json_add_mdev_type);
  else
    print_table (types);
  return HDC_EXIT_OK;
}
