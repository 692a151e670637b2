/* hostdevctl show: every property of one device. */
#include "hostdevctl-commands.h"

#include <stdio.h>
#include <string.h>

#include "hostdevctl-client.h"
#include "hostdevctl-exit.h"
#include "hostdevctl-format.h"
#include "hostdevctl-json.h"
#include "hostdevctl-options.h"
#include "hostdevctl-output.h"

typedef struct {
  const char *label;
  char       *value;
} Field;

static void
field_clear (gpointer data)
{
  g_free (((Field *) data)->value);
}

/* Takes @value; NULL or "" is shown as "-". */
static void
add (GArray     *fields,
     const char *label,
     char       *value)
{
  Field f = { label, value };

  if (f.value == NULL || *f.value == '\0')
    {
      g_free (f.value);
      f.value = g_strdup ("-");
    }
  g_array_append_val (fields, f);
}

/* "0x8086 Intel Corporation", or only the id when the hardware database
 * does not know it. */
static char *
id_and_name (guint16     id,
             const char *name)
{
  if (name == NULL || *name == '\0')
    return g_strdup_printf ("0x%04x", id);
  return g_strdup_printf ("0x%04x %s", id, name);
}

static char *
format_members (const char * const *paths)
{
  g_autoptr(GPtrArray) addresses = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; paths != NULL && paths[i] != NULL; i++)
    g_ptr_array_add (addresses, hdc_format_address_from_path (paths[i]));
  g_ptr_array_add (addresses, NULL);
  return g_strjoinv (", ", (char **) addresses->pdata);
}

static void
print_text (HddDbusPciDevice *d,
            gboolean          libvirt_connected)
{
  g_autoptr(GArray) fields = g_array_new (FALSE, TRUE, sizeof (Field));
  const char *active_job = hdd_dbus_pci_device_get_active_job (d);
  guint job_id = hdc_format_job_id_from_path (active_job);
  int group = hdd_dbus_pci_device_get_iommu_group (d);
  guint32 klass = hdd_dbus_pci_device_get_class (d);
  gsize width = 0;

  g_array_set_clear_func (fields, field_clear);

  add (fields, "Address", g_strdup (hdd_dbus_pci_device_get_address (d)));
  add (fields, "Object", g_strdup (g_dbus_proxy_get_object_path (G_DBUS_PROXY (d))));
  add (fields, "Vendor", id_and_name (hdd_dbus_pci_device_get_vendor_id (d),
                                      hdd_dbus_pci_device_get_vendor_name (d)));
  add (fields, "Device", id_and_name (hdd_dbus_pci_device_get_device_id (d),
                                      hdd_dbus_pci_device_get_device_name (d)));
  add (fields, "Subsystem", g_strdup_printf ("0x%04x:0x%04x",
                                             hdd_dbus_pci_device_get_subsystem_vendor_id (d),
                                             hdd_dbus_pci_device_get_subsystem_device_id (d)));
  add (fields, "Class", g_strdup_printf ("0x%06x %s", klass, hdc_format_class_name (klass)));
  add (fields, "Driver", g_strdup (hdd_dbus_pci_device_get_driver (d)));
  add (fields, "Original driver", g_strdup (hdd_dbus_pci_device_get_original_driver (d)));
  add (fields, "Driver override", g_strdup (hdd_dbus_pci_device_get_driver_override (d)));
  add (fields, "IOMMU group", group >= 0 ? g_strdup_printf ("%d", group) : NULL);
  add (fields, "Group members", format_members (hdd_dbus_pci_device_get_group_members (d)));
  add (fields, "VFIO group node", g_strdup (hdd_dbus_pci_device_get_vfio_group_node (d)));
  add (fields, "VFIO device node", g_strdup (hdd_dbus_pci_device_get_vfio_device_node (d)));
  add (fields, "Holders", hdc_format_holders (hdd_dbus_pci_device_get_holders (d), TRUE));
  /* "-" would claim no domain has it: without libvirt nobody knows. */
  add (fields, "Domain", libvirt_connected ? g_strdup (hdd_dbus_pci_device_get_domain (d))
                                           : g_strdup ("unknown (hostdevd is not connected to libvirt)"));
  add (fields, "Persistent", g_strdup (hdd_dbus_pci_device_get_persistent (d) ? "yes" : "no"));
  add (fields, "Active job", job_id ? g_strdup_printf ("%u (%s)", job_id, active_job) : NULL);

  for (guint i = 0; i < fields->len; i++)
    width = MAX (width, strlen (g_array_index (fields, Field, i).label));
  for (guint i = 0; i < fields->len; i++)
    {
      Field *f = &g_array_index (fields, Field, i);
      g_autofree char *value = hdc_format_escape (f->value);

      printf ("%s:%*s %s\n", f->label, (int) (width - strlen (f->label)), "", value);
    }
}

int
hdc_cmd_show (int argc, char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON (see hostdevctl(1))", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    hdc_options_context_new ("ADDRESS", "Show every property of the PCI device at ADDRESS "
                             "(DDDD:BB:DD.F or BB:DD.F).");
  g_autoptr(HdcClient) client = NULL;
  g_autoptr(HddDbusPciDevice) device = NULL;
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!hdc_options_parse (context, "show", &argc, &argv, 1, "Missing the ADDRESS of a PCI device"))
    return HDC_EXIT_USAGE;

  client = hdc_client_new (&error);
  if (client == NULL)
    return hdc_output_fail (error);
  device = hdc_client_get_device (client, argv[1], TRUE, &error);
  if (device == NULL)
    return hdc_output_fail (error);

  if (json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      hdc_json_add_device (builder, device);
      hdc_json_print (builder);
    }
  else
    {
      HddDbusManager *manager = hdc_client_get_manager_full (client, NULL);

      print_text (device, manager != NULL && hdd_dbus_manager_get_libvirt_connected (manager));
    }
  return HDC_EXIT_OK;
}
