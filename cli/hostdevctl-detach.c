/* hostdevctl detach DEV: DetachFromDomain, followed to the end: through
 * libvirt only, the device stays with VFIO. */
#include "hostdevctl-commands.h"

#include "hostdevctl-dev-call.h"
#include "hostdevctl-exit.h"
#include "hostdevctl-options.h"

int
hdc_cmd_detach (int argc, char **argv)
{
  g_autofree char *deadline = NULL;
  gboolean persistent = FALSE;
  gboolean no_wait = FALSE;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "deadline", 'd', 0, G_OPTION_ARG_STRING, &deadline,
      "Seconds the guest gets to let go before the detach fails (default 30)", "S" },
    { "persistent", 0, 0, G_OPTION_ARG_NONE, &persistent,
      "Also remove the device from the domain's persistent definition", NULL },
    { "no-wait", 0, 0, G_OPTION_ARG_NONE, &no_wait,
      "Print the job and return instead of waiting for it", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the job as JSON (see hostdevctl(1))", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    hdc_options_context_new ("DEV", "Detach the device DEV (a PCI address or an mdev UUID) from "
                             "the libvirt domain that has it, through libvirt only, and wait "
                             "until the guest let it go.  The device stays on vfio-pci (an mdev "
                             "stays).");
  GVariantDict options;
  guint32 seconds = 0;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!hdc_options_parse (context, "detach", &argc, &argv, 1, HDC_MISSING_DEV) ||
      (deadline && !hdc_dev_call_parse_deadline ("detach", deadline, &seconds)))
    return HDC_EXIT_USAGE;

  g_variant_dict_init (&options, NULL);
  if (deadline)
    g_variant_dict_insert (&options, "deadline", "u", seconds);
  if (persistent)
    g_variant_dict_insert (&options, "persistent", "b", TRUE);
  return hdc_dev_call_and_follow (argv[1], "DetachFromDomain", NULL, &options, no_wait, json);
}
