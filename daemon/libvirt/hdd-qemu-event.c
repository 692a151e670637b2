#include "hdd-qemu-event.h"

#include "hdd-error.h"
#include "hdd-json.h"
#include "hdd-mdev-names.h"
#include "hdd-pci-address.h"

#include <json-glib/json-glib.h>

void
hdd_qemu_event_free (HddQemuEvent *event)
{
  if (event == NULL)
    return;
  g_free (event->key);
  g_free (event->device);
  g_free (event->reason);
  g_free (event->action);
  g_free (event);
}

/* The device behind QEMU's sysfsdev: /sys/bus/pci/devices/ADDR for host=
 * devices (QEMU builds that path itself), any path ending in the mdev's
 * UUID or the PCI address for sysfsdev= ones. */
static char *
key_of_sysfsdev (const char *sysfsdev)
{
  g_autofree char *base = g_path_get_basename (sysfsdev);
  char *key = hdd_uuid_canonicalize (base, NULL);

  return key ? key : hdd_pci_address_canonicalize (base, NULL);
}

static gboolean
member (JsonObject *o, const char *name, GType type, GError **error)
{
  JsonNode *node = json_object_get_member (o, name);

  if (node && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type)
    return TRUE;
  g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
               "QEMU event without a %s member \"%s\"",
               type == G_TYPE_STRING ? "string" : type == G_TYPE_BOOLEAN ? "boolean" : "number",
               name);
  return FALSE;
}

HddQemuEvent *
hdd_qemu_event_parse (const char  *name,
                      const char  *details,
                      GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(HddQemuEvent) event = g_new0 (HddQemuEvent, 1);
  g_autoptr(GError) local = NULL;
  JsonObject *o;
  gint64 count;

  if (g_strcmp0 (name, "VFIO_DEVICE_REQUEST") == 0)
    event->kind = HDD_QEMU_EVENT_REQUEST;
  else if (g_strcmp0 (name, "VFIO_DEVICE_UNPLUG_FAILED") == 0)
    event->kind = HDD_QEMU_EVENT_UNPLUG_FAILED;
  else if (g_strcmp0 (name, "VFIO_DEVICE_REVOKED") == 0)
    event->kind = HDD_QEMU_EVENT_REVOKED;
  else
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT, "Not a VFIO event: %s",
                   name ? name : "(none)");
      return NULL;
    }
  if (details && !hdd_json_check_bounds (details, -1, HDD_QEMU_EVENT_MAX_SIZE,
                                         HDD_QEMU_EVENT_MAX_DEPTH, &local))
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                   "%s refused: its data is not what QEMU sends: %s", name, local->message);
      return NULL;
    }
  /* Empty data or blanks load with no root node at all. */
  if (details == NULL || !json_parser_load_from_data (parser, details, -1, &local) ||
      json_parser_get_root (parser) == NULL ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT, "%s without a data object%s%s",
                   name, local ? ": " : "", local ? local->message : "");
      return NULL;
    }
  o = json_node_get_object (json_parser_get_root (parser));
  if (!member (o, "path", G_TYPE_STRING, error) ||
      !member (o, "sysfsdev", G_TYPE_STRING, error))
    return NULL;
  if (event->kind != HDD_QEMU_EVENT_REVOKED && !member (o, "count", G_TYPE_INT64, error))
    return NULL;
  if (event->kind == HDD_QEMU_EVENT_REQUEST && !member (o, "unplug-pending", G_TYPE_BOOLEAN, error))
    return NULL;
  if (event->kind == HDD_QEMU_EVENT_UNPLUG_FAILED && !member (o, "reason", G_TYPE_STRING, error))
    return NULL;
  if (event->kind == HDD_QEMU_EVENT_REVOKED &&
      (!member (o, "action", G_TYPE_STRING, error) ||
       (json_object_has_member (o, "reason") && !member (o, "reason", G_TYPE_STRING, error))))
    return NULL;

  event->key = key_of_sysfsdev (json_object_get_string_member (o, "sysfsdev"));
  if (event->key == NULL)
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                   "%s for %s, which is neither a PCI device nor an mdev", name,
                   json_object_get_string_member (o, "sysfsdev"));
      return NULL;
    }
  count = json_object_get_int_member_with_default (o, "count", 0);
  event->count = (guint) CLAMP (count, 0, G_MAXUINT);
  event->device = g_strdup (json_object_get_string_member_with_default (o, "device", NULL));
  if (event->device == NULL || *event->device == '\0')
    {
      g_free (event->device);
      event->device = g_strdup (json_object_get_string_member (o, "path"));
    }
  if (event->kind == HDD_QEMU_EVENT_REQUEST)
    event->pending = json_object_get_boolean_member (o, "unplug-pending");
  else
    event->reason = g_strdup (json_object_get_string_member_with_default (o, "reason", NULL));
  if (event->kind == HDD_QEMU_EVENT_REVOKED)
    event->action = g_strdup (json_object_get_string_member (o, "action"));
  return g_steal_pointer (&event);
}

char *
hdd_qemu_event_describe (const HddQemuEvent *event,
                         const char         *domain)
{
  g_autofree char *qemu = domain ? g_strdup_printf ("QEMU of domain %s", domain) : g_strdup ("QEMU");

  switch (event->kind)
    {
    case HDD_QEMU_EVENT_REQUEST:
      if (event->pending)
        return g_strdup_printf ("%s got the host's request %u for %s; an unplug is pending, "
                                "so the guest was not asked again", qemu, event->count,
                                event->device);
      /* Whether the guest could be asked comes next, as a failure. */
      return g_strdup_printf ("%s got the host's request %u for %s", qemu, event->count,
                              event->device);
    case HDD_QEMU_EVENT_UNPLUG_FAILED:
      return g_strdup_printf ("%s could not unplug %s on the host's request %u: %s", qemu,
                              event->device, event->count, event->reason);
    case HDD_QEMU_EVENT_REVOKED:
      if (g_strcmp0 (event->action, "surprise-removal") == 0)
        return g_strdup_printf ("%s lost %s to the host's revocation and removed it from the "
                                "guest (surprise removal)", qemu, event->device);
      if (g_strcmp0 (event->action, "dead-device") == 0)
        return g_strdup_printf ("%s lost %s to the host's revocation; it stays in the guest as "
                                "a dead device%s%s", qemu, event->device,
                                event->reason ? ": " : "", event->reason ? event->reason : "");
      return g_strdup_printf ("%s lost %s to the host's revocation (%s)%s%s", qemu, event->device,
                              event->action, event->reason ? ": " : "",
                              event->reason ? event->reason : "");
    }
  g_return_val_if_reached (NULL);
}
