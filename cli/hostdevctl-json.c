/* JSON for programs.
 *
 * The JSON shape is an interface: docs/hostdevctl.md documents it, and a
 * change here that renames or retypes a key breaks somebody's script. */
#include "hostdevctl-json.h"

#include <stdio.h>

#include "hostdevctl-format.h"

static void
add_string (JsonBuilder *builder,
            const char  *key,
            const char  *value)
{
  json_builder_set_member_name (builder, key);
  if (value == NULL)
    json_builder_add_null_value (builder);
  else
    json_builder_add_string_value (builder, value);
}

/* The daemon says "none" with an empty string; JSON can say it with null. */
static void
add_string_or_null (JsonBuilder *builder,
                    const char  *key,
                    const char  *value)
{
  add_string (builder, key, value && *value ? value : NULL);
}

static void
add_hex (JsonBuilder *builder,
         const char  *key,
         int          digits,
         guint32      value)
{
  g_autofree char *text = g_strdup_printf ("0x%0*x", digits, value);

  add_string (builder, key, text);
}

static void
add_addresses (JsonBuilder        *builder,
               const char         *key,
               const char * const *paths)
{
  json_builder_set_member_name (builder, key);
  json_builder_begin_array (builder);
  for (guint i = 0; paths != NULL && paths[i] != NULL; i++)
    {
      g_autofree char *address = hdc_format_address_from_path (paths[i]);
      json_builder_add_string_value (builder, address);
    }
  json_builder_end_array (builder);
}

static void
add_holders (JsonBuilder *builder,
             GVariant    *holders)
{
  GVariantIter iter;
  guint32 pid;
  const char *command;
  const char *node;

  json_builder_set_member_name (builder, "holders");
  json_builder_begin_array (builder);
  if (holders != NULL && g_variant_is_of_type (holders, G_VARIANT_TYPE ("a(uss)")))
    {
      g_variant_iter_init (&iter, holders);
      while (g_variant_iter_next (&iter, "(u&s&s)", &pid, &command, &node))
        {
          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "pid");
          json_builder_add_int_value (builder, pid);
          add_string (builder, "command", command);
          add_string (builder, "node", node);
          json_builder_end_object (builder);
        }
    }
  json_builder_end_array (builder);
}

/* -1 means "none" or "unknown". */
static void
add_int_or_null (JsonBuilder *builder,
                 const char  *key,
                 gint64       value)
{
  json_builder_set_member_name (builder, key);
  if (value < 0)
    json_builder_add_null_value (builder);
  else
    json_builder_add_int_value (builder, value);
}

static void
add_active_job (JsonBuilder *builder,
                const char  *path)
{
  guint id = hdc_format_job_id_from_path (path);

  add_int_or_null (builder, "active_job", id ? (gint64) id : -1);
}

void
hdc_json_add_device (JsonBuilder      *builder,
                     HddDbusPciDevice *device)
{
  int group = hdd_dbus_pci_device_get_iommu_group (device);

  json_builder_begin_object (builder);
  add_string (builder, "address", hdd_dbus_pci_device_get_address (device));
  add_string (builder, "path", g_dbus_proxy_get_object_path (G_DBUS_PROXY (device)));
  add_hex (builder, "vendor_id", 4, hdd_dbus_pci_device_get_vendor_id (device));
  add_hex (builder, "device_id", 4, hdd_dbus_pci_device_get_device_id (device));
  add_hex (builder, "subsystem_vendor_id", 4, hdd_dbus_pci_device_get_subsystem_vendor_id (device));
  add_hex (builder, "subsystem_device_id", 4, hdd_dbus_pci_device_get_subsystem_device_id (device));
  add_hex (builder, "class", 6, hdd_dbus_pci_device_get_class (device));
  add_string_or_null (builder, "vendor_name", hdd_dbus_pci_device_get_vendor_name (device));
  add_string_or_null (builder, "device_name", hdd_dbus_pci_device_get_device_name (device));
  add_string_or_null (builder, "driver", hdd_dbus_pci_device_get_driver (device));
  add_string_or_null (builder, "original_driver", hdd_dbus_pci_device_get_original_driver (device));
  add_string_or_null (builder, "driver_override", hdd_dbus_pci_device_get_driver_override (device));

  add_int_or_null (builder, "iommu_group", group);
  add_addresses (builder, "group_members", hdd_dbus_pci_device_get_group_members (device));
  add_string_or_null (builder, "vfio_group_node", hdd_dbus_pci_device_get_vfio_group_node (device));
  add_string_or_null (builder, "vfio_device_node", hdd_dbus_pci_device_get_vfio_device_node (device));
  add_holders (builder, hdd_dbus_pci_device_get_holders (device));

  json_builder_set_member_name (builder, "persistent");
  json_builder_add_boolean_value (builder, hdd_dbus_pci_device_get_persistent (device));
  add_active_job (builder, hdd_dbus_pci_device_get_active_job (device));
  add_string_or_null (builder, "domain", hdd_dbus_pci_device_get_domain (device));
  json_builder_end_object (builder);
}

void
hdc_json_add_mdev (JsonBuilder *builder,
                   HddDbusMdev *mdev)
{
  GVariant *attributes = hdd_dbus_mdev_get_attributes (mdev);

  json_builder_begin_object (builder);
  add_string (builder, "uuid", hdd_dbus_mdev_get_uuid (mdev));
  add_string (builder, "path", g_dbus_proxy_get_object_path (G_DBUS_PROXY (mdev)));
  add_string_or_null (builder, "parent", hdd_dbus_mdev_get_parent (mdev));
  add_string_or_null (builder, "type", hdd_dbus_mdev_get_type_id (mdev));
  json_builder_set_member_name (builder, "active");
  json_builder_add_boolean_value (builder, hdd_dbus_mdev_get_active (mdev));
  json_builder_set_member_name (builder, "defined");
  json_builder_add_boolean_value (builder, hdd_dbus_mdev_get_defined (mdev));
  json_builder_set_member_name (builder, "autostart");
  json_builder_add_boolean_value (builder, hdd_dbus_mdev_get_autostart (mdev));

  /* In order, as they are written: a list, not an object. */
  json_builder_set_member_name (builder, "attributes");
  json_builder_begin_array (builder);
  if (attributes != NULL && g_variant_is_of_type (attributes, G_VARIANT_TYPE ("a(ss)")))
    {
      GVariantIter iter;
      const char *name, *value;

      g_variant_iter_init (&iter, attributes);
      while (g_variant_iter_next (&iter, "(&s&s)", &name, &value))
        {
          json_builder_begin_object (builder);
          add_string (builder, "name", name);
          add_string (builder, "value", value);
          json_builder_end_object (builder);
        }
    }
  json_builder_end_array (builder);

  add_int_or_null (builder, "iommu_group", hdd_dbus_mdev_get_iommu_group (mdev));
  add_string_or_null (builder, "vfio_group_node", hdd_dbus_mdev_get_vfio_group_node (mdev));
  add_string_or_null (builder, "vfio_device_node", hdd_dbus_mdev_get_vfio_device_node (mdev));
  add_holders (builder, hdd_dbus_mdev_get_holders (mdev));
  add_active_job (builder, hdd_dbus_mdev_get_active_job (mdev));
  add_string_or_null (builder, "domain", hdd_dbus_mdev_get_domain (mdev));
  json_builder_end_object (builder);
}

void
hdc_json_add_mdev_type (JsonBuilder     *builder,
                        HddDbusMdevType *type)
{
  json_builder_begin_object (builder);
  add_string (builder, "parent", hdd_dbus_mdev_type_get_parent (type));
  add_string (builder, "type", hdd_dbus_mdev_type_get_type_id (type));
  add_string (builder, "path", g_dbus_proxy_get_object_path (G_DBUS_PROXY (type)));
  add_string_or_null (builder, "name", hdd_dbus_mdev_type_get_name (type));
  add_string_or_null (builder, "description", hdd_dbus_mdev_type_get_description (type));
  add_string_or_null (builder, "device_api", hdd_dbus_mdev_type_get_device_api (type));
  json_builder_set_member_name (builder, "available_instances");
  json_builder_add_int_value (builder, hdd_dbus_mdev_type_get_available_instances (type));
  json_builder_end_object (builder);
}

void
hdc_json_add_job (JsonBuilder *builder,
                  HddDbusJob  *job)
{
  GVariant *steps = hdd_dbus_job_get_steps (job);
  guint64 end_time = hdd_dbus_job_get_end_time (job);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_int_value (builder, hdd_dbus_job_get_id (job));
  add_string (builder, "path", g_dbus_proxy_get_object_path (G_DBUS_PROXY (job)));
  add_string (builder, "operation", hdd_dbus_job_get_operation (job));
  add_addresses (builder, "objects", hdd_dbus_job_get_objects (job));
  add_string (builder, "state", hdd_dbus_job_get_state (job));
  json_builder_set_member_name (builder, "progress");
  json_builder_add_double_value (builder, hdd_dbus_job_get_progress (job));
  add_string (builder, "status", hdd_dbus_job_get_status (job));
  json_builder_set_member_name (builder, "cancelable");
  json_builder_add_boolean_value (builder, hdd_dbus_job_get_cancelable (job));
  add_holders (builder, hdd_dbus_job_get_holders (job));
  add_int_or_null (builder, "release_requests", hdd_dbus_job_get_release_requests (job));
  add_string_or_null (builder, "domain", hdd_dbus_job_get_domain (job));
  json_builder_set_member_name (builder, "deadline_usec");
  if (hdd_dbus_job_get_deadline (job) == 0)
    json_builder_add_null_value (builder);
  else
    json_builder_add_int_value (builder, (gint64) hdd_dbus_job_get_deadline (job));

  json_builder_set_member_name (builder, "steps");
  json_builder_begin_array (builder);
  if (steps != NULL && g_variant_is_of_type (steps, G_VARIANT_TYPE ("a(ts)")))
    {
      GVariantIter iter;
      guint64 time;
      const char *text;

      g_variant_iter_init (&iter, steps);
      while (g_variant_iter_next (&iter, "(t&s)", &time, &text))
        {
          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "time_usec");
          json_builder_add_int_value (builder, (gint64) time);
          add_string (builder, "text", text);
          json_builder_end_object (builder);
        }
    }
  json_builder_end_array (builder);

  add_string_or_null (builder, "error_name", hdd_dbus_job_get_error_name (job));
  add_string_or_null (builder, "error_message", hdd_dbus_job_get_error_message (job));
  add_string_or_null (builder, "started_by", hdd_dbus_job_get_started_by (job));
  json_builder_set_member_name (builder, "start_time_usec");
  json_builder_add_int_value (builder, (gint64) hdd_dbus_job_get_start_time (job));
  json_builder_set_member_name (builder, "end_time_usec");
  if (end_time == 0)
    json_builder_add_null_value (builder);
  else
    json_builder_add_int_value (builder, (gint64) end_time);
  json_builder_end_object (builder);
}

void
hdc_json_print_list (const char     *key,
                     GPtrArray      *objects,
                     HdcJsonAddFunc  add)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, key);
  json_builder_begin_array (builder);
  for (guint i = 0; i < objects->len; i++)
    add (builder, g_ptr_array_index (objects, i));
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  hdc_json_print (builder);
}

void
hdc_json_print (JsonBuilder *builder)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = NULL;

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 2);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  fputs (text, stdout);
  fputc ('\n', stdout);
}
