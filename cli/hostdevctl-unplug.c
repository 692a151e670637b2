/* hostdevctl unplug DEV: PciDevice.Unplug / Mdev.Unplug, followed to the end:
 * the device taken from the guest or process that holds it. */
#include "hostdevctl-commands.h"

#include "hostdevctl-dev-call.h"
#include "hostdevctl-exit.h"
#include "hostdevctl-options.h"

int
hdc_cmd_unplug (int argc, char **argv)
{
  g_autofree char *deadline = NULL;
  g_autofree char *policy = NULL;
  gboolean persistent = FALSE;
  gboolean no_wait = FALSE;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "deadline", 'd', 0, G_OPTION_ARG_STRING, &deadline,
      "Seconds the holder gets to let go before the policy applies (default 30)", "S" },
    { "policy", 'p', 0, G_OPTION_ARG_STRING, &policy,
      "What happens at the deadline: wait (default), fail, destroy-domain", "P" },
    { "persistent", 0, 0, G_OPTION_ARG_NONE, &persistent,
      "Also remove the device from the domain's persistent definition", NULL },
    { "no-wait", 0, 0, G_OPTION_ARG_NONE, &no_wait,
      "Print the job and return instead of waiting for it", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the job as JSON (see hostdevctl(1))", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    hdc_options_context_new ("DEV", "Take the device DEV (a PCI address or an mdev UUID) away "
                             "from the guest or process that holds it, and wait until it is "
                             "free.  A libvirt domain is asked through libvirt; otherwise, or "
                             "when libvirt cannot, the kernel asks the holder (the device then "
                             "goes back to its host driver; an mdev is removed).");
  GVariantDict options;
  guint32 seconds = 0;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!hdc_options_parse (context, "unplug", &argc, &argv, 1, HDC_MISSING_DEV) ||
      (deadline && !hdc_dev_call_parse_deadline ("unplug", deadline, &seconds)))
    return HDC_EXIT_USAGE;

  g_variant_dict_init (&options, NULL);
  if (deadline)
    g_variant_dict_insert (&options, "deadline", "u", seconds);
  if (policy)
    g_variant_dict_insert (&options, "policy", "s", policy);
  if (persistent)
    g_variant_dict_insert (&options, "persistent", "b", TRUE);
  return hdc_dev_call_and_follow (argv[1], "Unplug", NULL, &options, no_wait, json);
}
