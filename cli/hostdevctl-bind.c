/* hostdevctl bind: move a device, or several, to vfio-pci
 * (PciDevice.BindVfio). */
#include "hostdevctl-commands.h"

#include "hdd-names.h"
#include "hostdevctl-batch.h"
#include "hostdevctl-client.h"
#include "hostdevctl-exit.h"
#include "hostdevctl-job.h"
#include "hostdevctl-options.h"
#include "hostdevctl-output.h"

int
hdc_cmd_bind (int argc, char **argv)
{
  gboolean group = FALSE;
  gboolean persist = FALSE;
  const GOptionEntry entries[] = {
    { "group", 'g', 0, G_OPTION_ARG_NONE, &group,
      "Also move the other devices of the IOMMU group that a host driver holds", NULL },
    { "persist", 'p', 0, G_OPTION_ARG_NONE, &persist,
      "Remember the binding: apply it again at start-up and whenever the device appears", NULL },
    { NULL }
  };
  const HdcJobOptionsSpec spec = { .flags = HDC_JOB_OPTIONS_FOLLOW, .entries = entries };
  g_auto(HdcJobOptions) job_options = { 0 };
  g_autoptr(GOptionContext) context =
    hdc_options_context_new ("ADDRESS…", "Bind the PCI device at ADDRESS to vfio-pci, so that "
                             "a virtual machine can use it, and wait until it is done.  "
                             "With several addresses, each is bound by a job of its own, "
                             "several at a time; one that fails does not stop the others.");
  g_autoptr(HdcClient) client = NULL;
  g_autoptr(HddDbusPciDevice) device = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *job = NULL;
  GVariantDict options;

  hdc_options_add_job (context, &spec, &job_options);
  if (!hdc_options_parse_job (context, "bind", &argc, &argv, HDC_ARGS_ONE_OR_MORE,
                              "Missing the ADDRESS of a PCI device", &job_options))
    return HDC_EXIT_USAGE;
  if (argc > 2 && job_options.json)
    return hdc_options_usage_error ("bind", "--json takes one ADDRESS");

  client = hdc_client_new (&error);
  if (client == NULL)
    return hdc_output_fail (error);
  if (argc > 2)
    {
      hdc_client_options_init (&options, NULL);
      g_variant_dict_insert (&options, "group", "b", group);
      g_variant_dict_insert (&options, "persist", "b", persist);
      return hdc_batch_call (client, (const char * const *) argv + 1, "GetDevice",
                             HDD_IFACE_PCI_DEVICE, "BindVfio", g_variant_dict_end (&options),
                             job_options.no_wait);
    }
  hdc_client_watch_jobs (client);
  device = hdc_client_get_device (client, argv[1], FALSE, &error);
  if (device == NULL)
    return hdc_output_fail (error);

  hdc_client_options_init (&options, device);
  g_variant_dict_insert (&options, "group", "b", group);
  g_variant_dict_insert (&options, "persist", "b", persist);
  if (!hdd_dbus_pci_device_call_bind_vfio_sync (device, g_variant_dict_end (&options),
                                                &job, NULL, &error))
    return hdc_output_fail (error);

  return hdc_job_follow (client, job, job_options.no_wait, job_options.json);
}
