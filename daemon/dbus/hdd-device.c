#include "hdd-device.h"

#include "hdd-device-kind.h"

G_DEFINE_INTERFACE (HddDevice, hdd_device, G_TYPE_OBJECT)

static void
hdd_device_default_init (HddDeviceInterface *iface)
{
}

const char *
hdd_device_get_key (HddDevice *self)
{
  return HDD_DEVICE_GET_IFACE (self)->get_key (self);
}

const char *
hdd_device_get_object_path (HddDevice *self)
{
  return HDD_DEVICE_GET_IFACE (self)->get_object_path (self);
}

const char *
hdd_device_get_domain (HddDevice *self)
{
  return HDD_DEVICE_GET_IFACE (self)->get_domain (self);
}

const char *
hdd_device_get_active_job (HddDevice *self)
{
  return HDD_DEVICE_GET_IFACE (self)->get_active_job (self);
}

void
hdd_device_set_active_job (HddDevice  *self,
                           const char *path)
{
  HDD_DEVICE_GET_IFACE (self)->set_active_job (self, path);
}

const HddDeviceServices *
hdd_device_get_services (HddDevice *self)
{
  return HDD_DEVICE_GET_IFACE (self)->get_services (self);
}

gboolean
hdd_device_check_unplug (HddDevice *self,
                         GError   **error)
{
  return HDD_DEVICE_GET_IFACE (self)->check_unplug (self, error);
}

gboolean
hdd_device_check_attach (HddDevice *self,
                         GError   **error)
{
  return HDD_DEVICE_GET_IFACE (self)->check_attach (self, error);
}

const HddMdevConfig *
hdd_device_get_definition (HddDevice *self)
{
  return HDD_DEVICE_GET_IFACE (self)->get_definition (self);
}

char *
hdd_device_describe (HddDevice *self)
{
  return hdd_device_kind_of_key (hdd_device_get_key (self))->describe (hdd_device_get_key (self));
}

gboolean
hdd_device_is_busy (HddDevice *self)
{
  return !g_str_equal (hdd_device_get_active_job (self), "/");
}
