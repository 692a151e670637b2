/* hostdevctl detach DEV: DetachFromDomain, followed to the end: through
 * libvirt only, the device stays with VFIO. */
#include "hostdevctl-commands.h"

#include "hostdevctl-dev-call.h"
#include "hostdevctl-exit.h"
#include "hostdevctl-options.h"

int
hdc_cmd_detach (int argc, char **argv)
{
  const HdcJobOptionsSpec spec = {
    .flags = HDC_JOB_OPTION_DEADLINE | HDC_JOB_OPTION_PERSISTENT | HDC_JOB_OPTIONS_FOLLOW,
    .deadline_help = "Seconds the guest gets to let go before the detach fails (default 30)",
    .persistent_help = "Also remove the device from the domain's persistent definition",
  };
  g_auto(HdcJobOptions) job_options = { 0 };
  g_autoptr(GOptionContext) context =
    hdc_options_context_new ("DEV", "Detach the device DEV (a PCI address or an mdev UUID) from "
                             "the libvirt domain that has it, through libvirt only, and wait "
                             "until the guest let it go.  The device stays on vfio-pci (an mdev "
                             "stays).");

  hdc_options_add_job (context, &spec, &job_options);
  if (!hdc_options_parse_job (context, "detach", &argc, &argv, 1, HDC_MISSING_DEV, &job_options))
    return HDC_EXIT_USAGE;

  return hdc_dev_call_and_follow (argv[1], "DetachFromDomain", NULL, NULL, &job_options);
}
