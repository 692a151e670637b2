/* hostdevctl restore: give a device back to its host driver
 * (PciDevice.Restore). */
#include "hostdevctl-commands.h"

#include "hostdevctl-client.h"
#include "hostdevctl-exit.h"
#include "hostdevctl-job.h"
#include "hostdevctl-options.h"
#include "hostdevctl-output.h"

int
hdc_cmd_restore (int argc, char **argv)
{
  gboolean no_wait = FALSE;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "no-wait", 0, 0, G_OPTION_ARG_NONE, &no_wait,
      "Print the job and return instead of waiting for it", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the job as JSON (see hostdevctl(1))", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    hdc_options_context_new ("ADDRESS", "Give the PCI device at ADDRESS back to the driver it had "
                             "before hostdevd bound it to vfio-pci (the kernel's choice when "
                             "hostdevd does not know it), forget any persistent binding, and "
                             "wait until it is done.");
  g_autoptr(HdcClient) client = NULL;
  g_autoptr(HddDbusPciDevice) device = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *job = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!hdc_options_parse (context, "restore", &argc, &argv, 1, "Missing the ADDRESS of a PCI device"))
    return HDC_EXIT_USAGE;

  client = hdc_client_new (&error);
  if (client == NULL)
    return hdc_output_fail (error);
  device = hdc_client_get_device (client, argv[1], &error);
  if (device == NULL)
    return hdc_output_fail (error);

  if (!hdd_dbus_pci_device_call_restore_sync (device, hdc_client_options_new (device),
                                              &job, NULL, &error))
    return hdc_output_fail (error);

  return hdc_job_follow (client, job, no_wait, json);
}
