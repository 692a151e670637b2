/* hostdevctl: the command line client of hostdevd.
 *
 * Global options come before the subcommand; everything after it belongs to
 * the subcommand, which parses it itself (see hostdevctl-commands.h). */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "hdd-error.h"
#include "hostdevctl-commands.h"
#include "hostdevctl-exit.h"
#include "hostdevctl-options.h"

static const HdcCommand commands[] = {
  { "list",    hdc_cmd_list,    "List the PCI devices" },
  { "show",    hdc_cmd_show,    "Show every property of one device" },
  { "bind",    hdc_cmd_bind,    "Bind a device to vfio-pci" },
  { "restore", hdc_cmd_restore, "Give a device back to its host driver" },
  { "persist", hdc_cmd_persist, "Bind a device to vfio-pci at every start" },
  { "forget",  hdc_cmd_forget,  "Drop the persistent binding of a device" },
  { "jobs",    hdc_cmd_jobs,    "List the jobs" },
  { "wait",    hdc_cmd_wait,    "Wait for a job to finish" },
  { "cancel",  hdc_cmd_cancel,  "Cancel a job" },
  { "monitor", hdc_cmd_monitor, "Print changes as they happen" },
  { "types",   hdc_cmd_types,   "List the mdev types of the parent devices" },
  { "mdev",    hdc_cmd_mdev,    "Create, remove, define and list mdevs" },
  { "unplug",  hdc_cmd_unplug,  "Take a device away from the guest that holds it" },
  { "attach",  hdc_cmd_attach,  "Give a device to a running libvirt domain" },
  { "detach",  hdc_cmd_detach,  "Detach a device from its libvirt domain" },
  { "help",    NULL,            "Show the help of a command" },
};

static const HdcCommand *
find_command (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (commands[i].name, name))
      return &commands[i];
  return NULL;
}

static char *
describe_commands (void)
{
  GString *text = g_string_new ("Commands:\n");

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    g_string_append_printf (text, "  %-9s %s\n", commands[i].name, commands[i].summary);
  g_string_append (text, "\nRun “hostdevctl COMMAND --help” for the options of a command.\n"
                         "Exit status: 0 on success, 1 on failure, 2 on a usage error.");
  return g_string_free (text, FALSE);
}

static int
run_command (const HdcCommand *command,
             int               argc,
             char            **argv)
{
  g_autofree char *prgname = g_strdup_printf ("hostdevctl %s", command->name);

  /* So that "--help" of the subcommand says "hostdevctl bind [OPTION…]". */
  g_set_prgname (prgname);
  return command->run (argc, argv);
}

/* "hostdevctl help [COMMAND]" */
static int
run_help (GOptionContext *context,
          int             argc,
          char          **argv)
{
  const HdcCommand *command;
  g_autofree char *help = NULL;
  char *help_argv[] = { NULL, (char *) "--help", NULL };

  command = argc < 2 ? NULL : find_command (argv[1]);
  if (argc >= 2 && command == NULL)
    return hdc_options_usage_error (NULL, "Unknown command “%s”", argv[1]);
  if (command == NULL || command->run == NULL)
    {
      help = g_option_context_get_help (context, TRUE, NULL);
      fputs (help, stdout);
      return HDC_EXIT_OK;
    }
  help_argv[0] = argv[1];
  return run_command (command, 2, help_argv);
}

int
main (int argc, char **argv)
{
  gboolean version = FALSE;
  const GOptionEntry entries[] = {
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("COMMAND [ARGUMENTS…]");
  g_autoptr(GError) error = NULL;
  g_autofree char *description = describe_commands ();
  const HdcCommand *command;

  setlocale (LC_ALL, "");
  g_set_prgname ("hostdevctl");
  /* Remote org.hostdevd1.Error.* then arrive as HDD_ERROR codes. */
  (void) hdd_error_quark ();

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context, "Manage VFIO passthrough of PCI devices through hostdevd.");
  g_option_context_set_description (context, description);
  /* Stop at the subcommand: its options are its own. */
  g_option_context_set_strict_posix (context, TRUE);

  if (!g_option_context_parse (context, &argc, &argv, &error))
    return hdc_options_usage_error (NULL, "%s", error->message);

  if (version)
    {
      printf ("hostdevctl %s\n", PACKAGE_VERSION);
      return HDC_EXIT_OK;
    }

  if (argc < 2)
    return hdc_options_usage_error (NULL, "Missing a COMMAND");

  command = find_command (argv[1]);
  if (command == NULL)
    return hdc_options_usage_error (NULL, "Unknown command “%s”", argv[1]);
  if (command->run == NULL)
    return run_help (context, argc - 1, argv + 1);

  return run_command (command, argc - 1, argv + 1);
}
