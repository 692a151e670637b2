/* hostdevctl mdev: mediated devices.  "mdev VERB ..." dispatches to the
 * verbs (hostdevctl-mdev-create.c, hostdevctl-mdev-control.c); "mdev list"
 * is here. */
#include "hostdevctl-commands.h"

#include <stdio.h>

#include "hostdevctl-client.h"
#include "hostdevctl-exit.h"
#include "hostdevctl-format.h"
#include "hostdevctl-json.h"
#include "hostdevctl-mdev.h"
#include "hostdevctl-options.h"
#include "hostdevctl-output.h"
#include "hostdevctl-table.h"

static const HdcCommand verbs[] = {
  { "list",     hdc_mdev_list,     "List the mdevs, running and defined" },
  { "create",   hdc_mdev_create,   "Create an mdev" },
  { "remove",   hdc_mdev_remove,   "Remove a running mdev" },
  { "define",   hdc_mdev_define,   "Define a persistent mdev (mdevctl's format)" },
  { "undefine", hdc_mdev_undefine, "Delete the definition of an mdev" },
  { "start",    hdc_mdev_start,    "Create a defined mdev" },
  { "stop",     hdc_mdev_stop,     "Remove a running mdev, keeping its definition" },
};

static int
usage (const char *message)
{
  GString *text = g_string_new (NULL);

  g_string_append_printf (text, "%s; the verbs are:", message);
  for (gsize i = 0; i < G_N_ELEMENTS (verbs); i++)
    g_string_append_printf (text, "%s %s", i ? "," : "", verbs[i].name);
  hdc_options_usage_error ("mdev", "%s", text->str);
  g_string_free (text, TRUE);
  return HDC_EXIT_USAGE;
}

int
hdc_cmd_mdev (int argc, char **argv)
{
  g_autofree char *prgname = NULL;
  g_autofree char *message = NULL;

  if (argc < 2)
    return usage ("Missing a VERB");
  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h"))
    {
      printf ("Usage:\n  hostdevctl mdev VERB [OPTION…] [ARGUMENTS]\n\nVerbs:\n");
      for (gsize i = 0; i < G_N_ELEMENTS (verbs); i++)
        printf ("  %-9s %s\n", verbs[i].name, verbs[i].summary);
      printf ("\nRun “hostdevctl mdev VERB --help” for the options of a verb.\n");
      return HDC_EXIT_OK;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (verbs); i++)
    {
      if (!g_str_equal (verbs[i].name, argv[1]))
        continue;
      prgname = g_strdup_printf ("hostdevctl mdev %s", verbs[i].name);
      g_set_prgname (prgname);
      return verbs[i].run (argc - 1, argv + 1);
    }
  message = g_strdup_printf ("Unknown verb “%s”", argv[1]);
  return usage (message);
}

static const char *
state_of (HddDbusMdev *m)
{
  if (hdd_dbus_mdev_get_active (m))
    return "active";
  return hdd_dbus_mdev_get_defined (m) ? "defined" : "-";
}

static void
print_table (GPtrArray *mdevs)
{
  g_autoptr(HdcTable) table = hdc_table_new ("UUID", "PARENT", "TYPE", "STATE", "START",
                                             "GROUP", "HOLDERS", "JOB", NULL);

  hdc_table_align_right (table, 5);
  for (guint i = 0; i < mdevs->len; i++)
    {
      HddDbusMdev *m = g_ptr_array_index (mdevs, i);
      g_autofree char *group = NULL;
      g_autofree char *holders = hdc_format_holders (hdd_dbus_mdev_get_holders (m), FALSE);
      guint job = hdc_format_job_id_from_path (hdd_dbus_mdev_get_active_job (m));
      g_autofree char *job_text = job ? g_strdup_printf ("%u", job) : NULL;
      const char *start = NULL;

      if (hdd_dbus_mdev_get_iommu_group (m) >= 0)
        group = g_strdup_printf ("%d", hdd_dbus_mdev_get_iommu_group (m));
      if (hdd_dbus_mdev_get_defined (m))
        start = hdd_dbus_mdev_get_autostart (m) ? "auto" : "manual";
      hdc_table_add_row (table, hdd_dbus_mdev_get_uuid (m), hdd_dbus_mdev_get_parent (m),
                         hdd_dbus_mdev_get_type_id (m), state_of (m), start, group, holders,
                         job_text);
    }
  hdc_table_print (table, stdout);
}

int
hdc_mdev_list (int argc, char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON (see hostdevctl(1))", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    hdc_options_context_new (NULL, "List the mediated devices: those that run and those that "
                             "are defined, sorted by parent and UUID.");
  g_autoptr(HdcClient) client = NULL;
  g_autoptr(GPtrArray) mdevs = NULL;
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!hdc_options_parse (context, "mdev list", &argc, &argv, 0, NULL))
    return HDC_EXIT_USAGE;

  client = hdc_client_new (&error);
  if (client == NULL)
    return hdc_output_fail (error);

  mdevs = hdc_client_list_mdevs (client);
  if (json)
    hdc_json_print_list ("mdevs", mdevs, (HdcJsonAddFunc) hdc_json_add_mdev);
  else
    print_table (mdevs);
  return HDC_EXIT_OK;
}
