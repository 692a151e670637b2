/* hostdevctl attach DEV DOMAIN: AttachToDomain, followed to the end: the
 * device prepared by hostdevd and given to a running libvirt domain. */
#include "hostdevctl-commands.h"

#include "hostdevctl-dev-call.h"
#include "hostdevctl-exit.h"
#include "hostdevctl-options.h"

int
hdc_cmd_attach (int argc, char **argv)
{
  gboolean no_rom_bar = FALSE;
  const GOptionEntry entries[] = {
    { "no-rom-bar", 0, 0, G_OPTION_ARG_NONE, &no_rom_bar,
      "Do not show the guest the device's option ROM (<rom bar='off'/>)", NULL },
    { NULL }
  };
  const HdcJobOptionsSpec spec = {
    .flags = HDC_JOB_OPTION_PERSISTENT | HDC_JOB_OPTIONS_FOLLOW,
    .persistent_help = "Also add the device to the domain's persistent definition",
    .entries = entries,
  };
  g_auto(HdcJobOptions) job_options = { 0 };
  g_autoptr(GOptionContext) context =
    hdc_options_context_new ("DEV DOMAIN", "Give the device DEV (a PCI address or an mdev UUID) "
                             "to the running libvirt domain DOMAIN: bind it to vfio-pci or "
                             "create the defined mdev when needed, then attach it through "
                             "libvirt with managed='no', and wait until it is done.");
  GVariantDict options;

  hdc_options_add_job (context, &spec, &job_options);
  if (!hdc_options_parse_job (context, "attach", &argc, &argv, 2,
                              argc < 2 ? HDC_MISSING_DEV : "Missing the DOMAIN (virsh list shows them)",
                              &job_options))
    return HDC_EXIT_USAGE;

  g_variant_dict_init (&options, NULL);
  if (no_rom_bar)
    g_variant_dict_insert (&options, "rom-bar", "b", FALSE);
  return hdc_dev_call_and_follow (argv[1], "AttachToDomain", argv[2], &options, &job_options);
}
