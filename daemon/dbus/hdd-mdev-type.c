#include "hdd-mdev-type.h"

#include "hdd-mdev-names.h"
#include "hdd-mdev-sysfs.h"

struct _HddMdevType
{
  HddDbusMdevTypeSkeleton parent;

  char *path;
};

G_DEFINE_TYPE (HddMdevType, hdd_mdev_type, HDD_DBUS_TYPE_MDEV_TYPE_SKELETON)

static void
hdd_mdev_type_finalize (GObject *object)
{
  g_free (HDD_MDEV_TYPE (object)->path);
  G_OBJECT_CLASS (hdd_mdev_type_parent_class)->finalize (object);
}

static void
hdd_mdev_type_class_init (HddMdevTypeClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hdd_mdev_type_finalize;
}

static void
hdd_mdev_type_init (HddMdevType *self)
{
}

HddMdevType *
hdd_mdev_type_new (const char *parent,
                   const char *type_id)
{
  HddMdevType *self = g_object_new (HDD_TYPE_MDEV_TYPE, NULL);

  self->path = hdd_mdev_type_object_path (parent, type_id);
  hdd_dbus_mdev_type_set_parent (HDD_DBUS_MDEV_TYPE (self), parent);
  hdd_dbus_mdev_type_set_type_id (HDD_DBUS_MDEV_TYPE (self), type_id);
  hdd_mdev_type_refresh (self);
  return self;
}

const char *
hdd_mdev_type_get_object_path (HddMdevType *self)
{
  return self->path;
}

void
hdd_mdev_type_refresh (HddMdevType *self)
{
  HddDbusMdevType *iface = HDD_DBUS_MDEV_TYPE (self);
  const char *parent = hdd_dbus_mdev_type_get_parent (iface);
  const char *type = hdd_dbus_mdev_type_get_type_id (iface);
  g_autofree char *name = hdd_mdev_sysfs_type_read (parent, type, "name");
  g_autofree char *description = hdd_mdev_sysfs_type_read (parent, type, "description");
  g_autofree char *device_api = hdd_mdev_sysfs_type_read (parent, type, "device_api");

  hdd_dbus_mdev_type_set_name (iface, name ? name : "");
  hdd_dbus_mdev_type_set_description (iface, description ? description : "");
  hdd_dbus_mdev_type_set_device_api (iface, device_api ? device_api : "");
  hdd_mdev_type_refresh_available (self);
}

void
hdd_mdev_type_refresh_available (HddMdevType *self)
{
  HddDbusMdevType *iface = HDD_DBUS_MDEV_TYPE (self);
  guint64 available = 0;

  hdd_mdev_sysfs_type_read_available (hdd_dbus_mdev_type_get_parent (iface),
                                      hdd_dbus_mdev_type_get_type_id (iface), &available);
  hdd_dbus_mdev_type_set_available_instances (iface, (guint32) MIN (available, G_MAXUINT32));
}
