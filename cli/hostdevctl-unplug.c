/* hostdevctl unplug DEV: PciDevice.Unplug / Mdev.Unplug, followed to the end:
 * the device taken from the guest or process that holds it. */
#include "hostdevctl-commands.h"

#include "hostdevctl-dev-call.h"
#include "hostdevctl-exit.h"
#include "hostdevctl-options.h"

int
hdc_cmd_unplug (int argc, char **argv)
{
  const HdcJobOptionsSpec spec = {
    .flags = HDC_JOB_OPTION_DEADLINE | HDC_JOB_OPTION_POLICY | HDC_JOB_OPTION_PERSISTENT |
             HDC_JOB_OPTIONS_FOLLOW,
    .deadline_help = "Seconds the holder gets to let go before the policy applies (default 30)",
    .persistent_help = "Also remove the device from the domain's persistent definition",
  };
  g_auto(HdcJobOptions) job_options = { 0 };
  g_autoptr(GOptionContext) context =
    hdc_options_context_new ("DEV", "Take the device DEV (a PCI address or an mdev UUID) away "
                             "from the guest or process that holds it, and wait until it is "
                             "free.  A libvirt domain is asked through libvirt; otherwise, or "
                             "when libvirt cannot, the kernel asks the holder (the device then "
                             "goes back to its host driver; an mdev is removed).");

  hdc_options_add_job (context, &spec, &job_options);
  if (!hdc_options_parse_job (context, "unplug", &argc, &argv, 1, HDC_MISSING_DEV, &job_options))
    return HDC_EXIT_USAGE;

  return hdc_dev_call_and_follow (argv[1], "Unplug", NULL, NULL, &job_options);
}
