/* hostdevctl list: every PCI device, one line each. */
#include "hostdevctl-commands.h"

#include <stdio.h>

#include "hostdevctl-client.h"
#include "hostdevctl-exit.h"
#include "hostdevctl-format.h"
#include "hostdevctl-json.h"
#include "hostdevctl-options.h"
#include "hostdevctl-output.h"
#include "hostdevctl-table.h"

/* Names from pci.ids run to 90 characters; beyond this they stop helping
 * anyone find a device in a list. */
#define NAME_MAX_CHARS 60

static char *
device_name (HddDbusPciDevice *device)
{
  const char *vendor = hdd_dbus_pci_device_get_vendor_name (device);
  const char *name = hdd_dbus_pci_device_get_device_name (device);
  g_autofree char *full = NULL;

  if (vendor && *vendor && name && *name)
    full = g_strdup_printf ("%s %s", vendor, name);
  else if (name && *name)
    full = g_strdup (name);
  else if (vendor && *vendor)
    full = g_strdup (vendor);
  else
    return NULL;
  return hdc_format_ellipsize (full, NAME_MAX_CHARS);
}

static void
print_table (GPtrArray *devices)
{
  g_autoptr(HdcTable) table = hdc_table_new ("ADDRESS", "ID", "CLASS", "DRIVER", "GROUP",
                                             "VFIO", "HOLDERS", "PERSISTENT", "NAME", NULL);

  hdc_table_align_right (table, 4);
  for (guint i = 0; i < devices->len; i++)
    {
      HddDbusPciDevice *d = g_ptr_array_index (devices, i);
      g_autofree char *id = g_strdup_printf ("%04x:%04x",
                                             hdd_dbus_pci_device_get_vendor_id (d),
                                             hdd_dbus_pci_device_get_device_id (d));
      g_autofree char *klass = g_strdup_printf ("%06x", hdd_dbus_pci_device_get_class (d));
      g_autofree char *group = NULL;
      g_autofree char *holders = hdc_format_holders (hdd_dbus_pci_device_get_holders (d), FALSE);
      g_autofree char *name = device_name (d);
      const char *vfio = hdd_dbus_pci_device_get_vfio_group_node (d);

      if (hdd_dbus_pci_device_get_iommu_group (d) >= 0)
        group = g_strdup_printf ("%d", hdd_dbus_pci_device_get_iommu_group (d));
      /* Without a group node the device may still be usable through its
       * cdev (iommufd). */
      if (vfio == NULL || *vfio == '\0')
        vfio = hdd_dbus_pci_device_get_vfio_device_node (d);

      hdc_table_add_row (table,
                         hdd_dbus_pci_device_get_address (d),
                         id, klass,
                         hdd_dbus_pci_device_get_driver (d),
                         group, vfio, holders,
                         hdd_dbus_pci_device_get_persistent (d) ? "yes" : NULL,
                         name);
    }
  hdc_table_print (table, stdout);
}

int
hdc_cmd_list (int argc, char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON (see hostdevctl(1))", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    hdc_options_context_new (NULL, "List the PCI devices of this machine, sorted by address.");
  g_autoptr(HdcClient) client = NULL;
  g_autoptr(GPtrArray) devices = NULL;
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!hdc_options_parse (context, "list", &argc, &argv, 0, NULL))
    return HDC_EXIT_USAGE;

  client = hdc_client_new (&error);
  if (client == NULL)
    return hdc_output_fail (error);

  devices = hdc_client_list_devices (client);
  if (json)
    hdc_json_print_list ("devices", devices, (HdcJsonAddFunc) hdc_json_add_device);
  else
    print_table (devices);
  return HDC_EXIT_OK;
}
