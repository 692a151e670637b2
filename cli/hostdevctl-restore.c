/* hostdevctl restore: give a device, or several, back to its host driver
 * (PciDevice.Restore). */
#include "hostdevctl-commands.h"

#include "hdd-names.h"
#include "hostdevctl-batch.h"
#include "hostdevctl-client.h"
#include "hostdevctl-exit.h"
#include "hostdevctl-job.h"
#include "hostdevctl-options.h"
#include "hostdevctl-output.h"

int
hdc_cmd_restore (int argc, char **argv)
{
  const HdcJobOptionsSpec spec = { .flags = HDC_JOB_OPTIONS_FOLLOW };
  g_auto(HdcJobOptions) job_options = { 0 };
  g_autoptr(GOptionContext) context =
    hdc_options_context_new ("ADDRESS…", "Give the PCI device at ADDRESS back to the driver it "
                             "had before hostdevd bound it to vfio-pci (the kernel's choice when "
                             "hostdevd does not know it), forget any persistent binding, and "
                             "wait until it is done.  With several addresses, each is restored "
                             "by a job of its own, several at a time; one that fails does not "
                             "stop the others.");
  g_autoptr(HdcClient) client = NULL;
  g_autoptr(HddDbusPciDevice) device = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *job = NULL;

  hdc_options_add_job (context, &spec, &job_options);
  if (!hdc_options_parse_job (context, "restore", &argc, &argv, HDC_ARGS_ONE_OR_MORE,
                              "Missing the ADDRESS of a PCI device", &job_options))
    return HDC_EXIT_USAGE;
  if (argc > 2 && job_options.json)
    return hdc_options_usage_error ("restore", "--json takes one ADDRESS");

  client = hdc_client_new (&error);
  if (client == NULL)
    return hdc_output_fail (error);
  if (argc > 2)
    return hdc_batch_call (client, (const char * const *) argv + 1, "GetDevice",
                           HDD_IFACE_PCI_DEVICE, "Restore", hdc_client_options_new (NULL),
                           job_options.no_wait);
  hdc_client_watch_jobs (client);
  device = hdc_client_get_device (client, argv[1], FALSE, &error);
  if (device == NULL)
    return hdc_output_fail (error);

  if (!hdd_dbus_pci_device_call_restore_sync (device, hdc_client_options_new (device),
                                              &job, NULL, &error))
    return hdc_output_fail (error);

  return hdc_job_follow (client, job, job_options.no_wait, job_options.json);
}
