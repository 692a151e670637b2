/* hostdevctl attach DEV DOMAIN: AttachToDomain, followed to the end: the
 * device prepared by hostdevd and given to a running libvirt domain. */
#include "hostdevctl-commands.h"

#include "hostdevctl-dev-call.h"
#include "hostdevctl-exit.h"
#include "hostdevctl-options.h"

int
hdc_cmd_attach (int argc, char **argv)
{
  gboolean persistent = FALSE;
  gboolean no_rom_bar = FALSE;
  gboolean no_wait = FALSE;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "persistent", 0, 0, G_OPTION_ARG_NONE, &persistent,
      "Also add the device to the domain's persistent definition", NULL },
    { "no-rom-bar", 0, 0, G_OPTION_ARG_NONE, &no_rom_bar,
      "Do not show the guest the device's option ROM (<rom bar='off'/>)", NULL },
    { "no-wait", 0, 0, G_OPTION_ARG_NONE, &no_wait,
      "Print the job and return instead of waiting for it", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the job as JSON (see hostdevctl(1))", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    hdc_options_context_new ("DEV DOMAIN", "Give the device DEV (a PCI address or an mdev UUID) "
                             "to the running libvirt domain DOMAIN: bind it to vfio-pci or "
                             "create the defined mdev when needed, then attach it through "
                             "libvirt with managed='no', and wait until it is done.");
  GVariantDict options;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!hdc_options_parse (context, "attach", &argc, &argv, 2,
                          argc < 2 ? HDC_MISSING_DEV : "Missing the DOMAIN (virsh list shows them)"))
    return HDC_EXIT_USAGE;

  g_variant_dict_init (&options, NULL);
  if (persistent)
    g_variant_dict_insert (&options, "persistent", "b", TRUE);
  if (no_rom_bar)
    g_variant_dict_insert (&options, "rom-bar", "b", FALSE);
  return hdc_dev_call_and_follow (argv[1], "AttachToDomain", argv[2], &options, no_wait, json);
}
