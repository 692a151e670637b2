/* hostdevctl persist / forget: record or drop the persistent vfio-pci
 * binding of a device, without touching its current driver. */
#include "hostdevctl-commands.h"

#include <stdio.h>

#include "hostdevctl-client.h"
#include "hostdevctl-exit.h"
#include "hostdevctl-options.h"
#include "hostdevctl-output.h"

typedef gboolean (*CallFunc) (HddDbusPciDevice *proxy,
                              GVariant         *options,
                              GCancellable     *cancellable,
                              GError          **error);

static int
run (int         argc,
     char      **argv,
     const char *command,
     const char *summary,
     CallFunc    call,
     const char *done)
{
  g_autoptr(GOptionContext) context = hdc_options_context_new ("ADDRESS", summary);
  g_autoptr(HdcClient) client = NULL;
  g_autoptr(HddDbusPciDevice) device = NULL;
  g_autoptr(GError) error = NULL;

  if (!hdc_options_parse (context, command, &argc, &argv, 1, "Missing the ADDRESS of a PCI device"))
    return HDC_EXIT_USAGE;

  client = hdc_client_new (&error);
  if (client == NULL)
    return hdc_output_fail (error);
  device = hdc_client_get_device (client, argv[1], TRUE, &error);
  if (device == NULL)
    return hdc_output_fail (error);

  if (!call (device, hdc_client_options_new (device), NULL, &error))
    return hdc_output_fail (error);

  printf ("%s %s\n", hdd_dbus_pci_device_get_address (device), done);
  return HDC_EXIT_OK;
}

int
hdc_cmd_persist (int argc, char **argv)
{
  return run (argc, argv, "persist",
              "Make hostdevd bind the PCI device at ADDRESS to vfio-pci at start-up and "
              "whenever it appears.  The current driver does not change: use "
              "“hostdevctl bind --persist” to bind it now as well.",
              hdd_dbus_pci_device_call_persist_sync,
              "will be bound to vfio-pci at start-up and whenever it appears");
}

int
hdc_cmd_forget (int argc, char **argv)
{
  return run (argc, argv, "forget",
              "Drop the persistent vfio-pci binding of the PCI device at ADDRESS.  The "
              "current driver does not change: use “hostdevctl restore” to give the "
              "device back to its host driver now.",
              hdd_dbus_pci_device_call_forget_sync,
              "is no longer bound to vfio-pci at start-up");
}
