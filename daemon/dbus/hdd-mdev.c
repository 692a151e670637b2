#include "hdd-mdev.h"

#include "hdd-context.h"
#include "hdd-domain-methods.h"
#include "hdd-error.h"
#include "hdd-holders.h"
#include "hdd-libvirt.h"
#include "hdd-bouncer.h"
#include "hdd-device.h"
#include "hdd-job-table.h"
#include "hdd-log.h"
#include "hdd-mdevctl.h"
#include "hdd-mdev-names.h"
#include "hdd-mdev-ops.h"
#include "hdd-mdev-sysfs.h"
#include "hdd-names.h"
#include "hdd-options.h"
#include "hdd-vfio-sysfs.h"

struct _HddMdev
{
  HddDbusMdevSkeleton parent;

  const HddDeviceServices *services;   /* borrowed from the manager */
  HddLibvirt     *libvirt;
  char           *directory;   /* of the definitions */
  char           *uuid;
  char           *path;
  HddMdevConfig  *definition;  /* NULL when not defined */
  HddMdevConfig  *created;     /* what CreateMdev asked for, or NULL */
  /* What sysfs said at the last refresh: parent and type when running. */
  char           *sysfs_parent;
  char           *sysfs_type;
  /* The VFIO nodes as last read (NULL: none), and whether Holders is not
   * empty: for the holders scans, without the properties' lock. */
  char           *group_node;
  char           *device_node;
  gboolean        held;
};

enum { SIGNAL_UNDEFINED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void hdd_mdev_iface_init (HddDbusMdevIface *iface);
static void hdd_mdev_device_init (HddDeviceInterface *iface);

G_DEFINE_TYPE_WITH_CODE (HddMdev, hdd_mdev, HDD_DBUS_TYPE_MDEV_SKELETON,
                         G_IMPLEMENT_INTERFACE (HDD_DBUS_TYPE_MDEV, hdd_mdev_iface_init)
                         G_IMPLEMENT_INTERFACE (HDD_TYPE_DEVICE, hdd_mdev_device_init))

static void
hdd_mdev_finalize (GObject *object)
{
  HddMdev *self = HDD_MDEV (object);

  g_free (self->uuid);
  g_free (self->path);
  g_free (self->sysfs_parent);
  g_free (self->sysfs_type);
  g_free (self->directory);
  g_clear_object (&self->libvirt);
  hdd_mdev_config_free (self->definition);
  hdd_mdev_config_free (self->created);
  G_OBJECT_CLASS (hdd_mdev_parent_class)->finalize (object);
}

static void
hdd_mdev_class_init (HddMdevClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hdd_mdev_finalize;
  /* Undefine() deleted the definition: the owner may drop the object. */
  signals[SIGNAL_UNDEFINED] = g_signal_new ("undefined", G_TYPE_FROM_CLASS (klass),
                                            G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                            G_TYPE_NONE, 0);
}

static void
hdd_mdev_init (HddMdev *self)
{
}

HddMdev *
hdd_mdev_new (const HddDeviceServices *services,
              HddLibvirt              *libvirt,
              const char              *directory,
              const char              *uuid)
{
  HddMdev *self = g_object_new (HDD_TYPE_MDEV, NULL);
  HddDbusMdev *iface = HDD_DBUS_MDEV (self);

  self->services = services;
  self->libvirt = g_object_ref (libvirt);
  self->directory = g_strdup (directory);
  self->uuid = g_strdup (uuid);
  self->path = hdd_mdev_object_path (uuid);
  hdd_dbus_mdev_set_uuid (iface, uuid);
  hdd_dbus_mdev_set_active_job (iface, "/");
  hdd_dbus_mdev_set_domain (iface, "");
  hdd_dbus_mdev_set_holders (iface, g_variant_new_array (G_VARIANT_TYPE ("(uss)"), NULL, 0));
  hdd_mdev_refresh (self);
  return self;
}

const char *
hdd_mdev_get_uuid (HddMdev *self)
{
  return self->uuid;
}

const char *
hdd_mdev_get_object_path (HddMdev *self)
{
  return self->path;
}


void
hdd_mdev_update_domain (HddMdev *self)
{
  HddLibvirt *libvirt = self->libvirt;
  const char *domain = hdd_libvirt_lookup_domain (libvirt, self->uuid);

  if (g_strcmp0 (domain ? domain : "", hdd_dbus_mdev_get_domain (HDD_DBUS_MDEV (self))))
    hdd_dbus_mdev_set_domain (HDD_DBUS_MDEV (self), domain ? domain : "");
}

const HddMdevConfig *
hdd_mdev_get_definition (HddMdev *self)
{
  return self->definition;
}

static void publish (HddMdev *self);

/* A definition changes what the daemon knows, not what sysfs says: the
 * properties are set again without reading sysfs (a reload of many
 * definitions reads no mdev's directory). */
void
hdd_mdev_set_definition (HddMdev             *self,
                         const HddMdevConfig *definition)
{
  g_clear_pointer (&self->definition, hdd_mdev_config_free);
  if (definition)
    self->definition = hdd_mdev_config_copy (definition);
  publish (self);
}

void
hdd_mdev_set_created (HddMdev             *self,
                      const HddMdevConfig *created)
{
  g_clear_pointer (&self->created, hdd_mdev_config_free);
  if (created)
    self->created = hdd_mdev_config_copy (created);
  publish (self);
}

/* The properties from the last sysfs read and the definition (or what
 * CreateMdev asked for). */
static void
publish (HddMdev *self)
{
  HddDbusMdev *iface = HDD_DBUS_MDEV (self);
  const HddMdevConfig *config = self->definition ? self->definition : self->created;
  const char *parent = self->sysfs_parent;
  const char *type = self->sysfs_type;

  if (parent == NULL && config)
    {
      parent = config->parent;
      type = config->type;
    }
  hdd_dbus_mdev_set_parent (iface, parent ? parent : "");
  hdd_dbus_mdev_set_type_id (iface, type ? type : "");
  hdd_dbus_mdev_set_defined (iface, self->definition != NULL);
  hdd_dbus_mdev_set_autostart (iface, self->definition && self->definition->autostart);
  hdd_dbus_mdev_set_attributes (iface, hdd_mdevctl_attrs_to_variant (config ? config->attrs : NULL));
}

void
hdd_mdev_refresh (HddMdev *self)
{
  HddDbusMdev *iface = HDD_DBUS_MDEV (self);
  g_autofree char *dir = hdd_mdev_sysfs_device_dir (self->uuid);
  g_autofree char *parent = NULL;
  g_autofree char *type = NULL;
  g_autofree char *group_node = NULL;
  g_autofree char *cdev = NULL;
  gboolean active = hdd_mdev_sysfs_read_parent_and_type (self->uuid, &parent, &type);
  int group = active ? hdd_vfio_sysfs_read_iommu_group (dir) : -1;

  if (active)
    {
      group_node = hdd_vfio_sysfs_group_node (group);
      cdev = hdd_vfio_sysfs_read_device_node (dir);
    }
  else if (!hdd_mdev_is_busy (self))
    g_clear_pointer (&self->created, hdd_mdev_config_free);  /* it is gone */
  g_free (self->sysfs_parent);
  g_free (self->sysfs_type);
  self->sysfs_parent = g_steal_pointer (&parent);
  self->sysfs_type = g_steal_pointer (&type);

  publish (self);
  hdd_dbus_mdev_set_active (iface, active);
  hdd_dbus_mdev_set_iommu_group (iface, group);
  hdd_dbus_mdev_set_vfio_group_node (iface, group_node ? group_node : "");
  hdd_dbus_mdev_set_vfio_device_node (iface, cdev ? cdev : "");
  g_free (self->group_node);
  g_free (self->device_node);
  self->group_node = g_strdup (group_node);
  self->device_node = g_strdup (cdev);
  if (group_node == NULL && cdev == NULL)
    hdd_mdev_set_holders_from (self, NULL);
  hdd_mdev_update_domain (self);
}

gboolean
hdd_mdev_is_busy (HddMdev *self)
{
  return !g_str_equal (hdd_dbus_mdev_get_active_job (HDD_DBUS_MDEV (self)), "/");
}

gboolean
hdd_mdev_is_wanted (HddMdev *self)
{
  return hdd_dbus_mdev_get_active (HDD_DBUS_MDEV (self)) || self->definition != NULL ||
         hdd_mdev_is_busy (self);
}

void
hdd_mdev_set_holders_from (HddMdev   *self,
                           GPtrArray *holders)
{
  g_autoptr(GVariant) value = NULL;
  gboolean held = holders && holders->len > 0;

  if (!held && !self->held)
    return;  /* nobody held it, nobody does */
  value = hdd_holders_to_variant_if_changed (hdd_dbus_mdev_get_holders (HDD_DBUS_MDEV (self)),
                                             holders);
  self->held = held;
  if (value)
    hdd_dbus_mdev_set_holders (HDD_DBUS_MDEV (self), value);
}

void
hdd_mdev_get_nodes (HddMdev     *self,
                    const char **group_node,
                    const char **device_node)
{
  *group_node = self->group_node;
  *device_node = self->device_node;
}

/* ---- Methods ---- */

static void
bouncer_dispatch (HddMdev *self, GDBusMethodInvocation *invocation, GVariant *options,
                  HddBouncerCall call)
{
  call.object = self;
  hdd_bouncer_dispatch (self->services->authority, invocation, options, &call);
}

static void
return_job (HddMdev *self, GDBusMethodInvocation *invocation, HddJobWork work)
{
  HddJob *job = hdd_job_table_start (self->services->jobs, HDD_DEVICE (self), invocation, work);

  g_dbus_method_invocation_return_value (invocation,
                                         g_variant_new ("(o)", hdd_job_get_object_path (job)));
}

static gboolean
check_running (gpointer object, gpointer request, GError **error)
{
  HddMdev *self = object;

  if (hdd_mdev_sysfs_is_active (self->uuid))
    return TRUE;
  g_set_error (error, HDD_ERROR, HDD_ERROR_NOT_FOUND, "mdev %s is not running", self->uuid);
  return FALSE;
}

static void
run_remove (gpointer object, GDBusMethodInvocation *invocation, gpointer request)
{
  HddMdev *self = object;
  const char *operation = g_str_equal (g_dbus_method_invocation_get_method_name (invocation),
                                       "Stop") ? "stop-mdev" : "remove-mdev";

  return_job (self, invocation, hdd_mdev_ops_remove (self->services->context, self->uuid,
                                                     operation));
}

/* Remove and Stop: the same, by two names. */
static gboolean
handle_remove (HddDbusMdev *iface, GDBusMethodInvocation *invocation, GVariant *options)
{
  if (hdd_options_check_call (invocation, options, NULL))
    bouncer_dispatch (HDD_MDEV (iface), invocation, options,
                      (HddBouncerCall) { .check = check_running, .run = run_remove });
  return TRUE;
}

static gboolean
check_defined (gpointer object, gpointer request, GError **error)
{
  HddMdev *self = object;

  if (self->definition)
    return TRUE;
  g_set_error (error, HDD_ERROR, HDD_ERROR_NOT_FOUND, "mdev %s is not defined", self->uuid);
  return FALSE;
}

/* Start: defined, and the kernel can create it (parent, type, UUID free,
 * an instance left). */
static gboolean
check_start (gpointer object, gpointer request, GError **error)
{
  HddMdev *self = object;

  return check_defined (self, request, error) &&
         hdd_mdev_ops_check_create (self->definition, error);
}

static void
run_start (gpointer object, GDBusMethodInvocation *invocation, gpointer request)
{
  HddMdev *self = object;

  return_job (self, invocation, hdd_mdev_ops_create (self->services->context, self->definition,
                                                     "start-mdev"));
}

static gboolean
handle_start (HddDbusMdev *iface, GDBusMethodInvocation *invocation, GVariant *options)
{
  if (hdd_options_check_call (invocation, options, NULL))
    bouncer_dispatch (HDD_MDEV (iface), invocation, options,
                      (HddBouncerCall) { .check = check_start, .run = run_start });
  return TRUE;
}

static void
run_undefine (gpointer object, GDBusMethodInvocation *invocation, gpointer request)
{
  HddMdev *self = object;
  g_autoptr(GError) error = NULL;

  if (!hdd_mdevctl_delete (self->directory, self->definition->parent, self->uuid, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }
  hdd_message (self->uuid, 0, "mdev %s is no longer defined", self->uuid);
  hdd_mdev_set_definition (self, NULL);
  hdd_dbus_mdev_complete_undefine (HDD_DBUS_MDEV (self), invocation);
  g_signal_emit (self, signals[SIGNAL_UNDEFINED], 0);
}

static gboolean
handle_undefine (HddDbusMdev *iface, GDBusMethodInvocation *invocation, GVariant *options)
{
  if (hdd_options_check_call (invocation, options, NULL))
    bouncer_dispatch (HDD_MDEV (iface), invocation, options,
                      (HddBouncerCall) { .check = check_defined, .run = run_undefine });
  return TRUE;
}

static gboolean
handle_unplug (HddDbusMdev *iface, GDBusMethodInvocation *invocation, GVariant *options)
{
  return hdd_domain_methods_unplug (G_OBJECT (iface), invocation, options);
}

static gboolean
handle_attach_to_domain (HddDbusMdev *iface, GDBusMethodInvocation *invocation,
                         const char *domain, GVariant *options)
{
  return hdd_domain_methods_attach (G_OBJECT (iface), invocation, domain, options);
}

static gboolean
handle_detach_from_domain (HddDbusMdev *iface, GDBusMethodInvocation *invocation,
                           GVariant *options)
{
  return hdd_domain_methods_detach (G_OBJECT (iface), invocation, options);
}

static void
hdd_mdev_iface_init (HddDbusMdevIface *iface)
{
  iface->handle_unplug = handle_unplug;
  iface->handle_attach_to_domain = handle_attach_to_domain;
  iface->handle_detach_from_domain = handle_detach_from_domain;
  iface->handle_remove = handle_remove;
  iface->handle_stop = handle_remove;
  iface->handle_start = handle_start;
  iface->handle_undefine = handle_undefine;
}

/* ---- HddDevice ---- */

static const char *
device_get_key (HddDevice *device)
{
  return HDD_MDEV (device)->uuid;
}

static const char *
device_get_object_path (HddDevice *device)
{
  return HDD_MDEV (device)->path;
}

static const char *
device_get_domain (HddDevice *device)
{
  return hdd_dbus_mdev_get_domain (HDD_DBUS_MDEV (device));
}

static const char *
device_get_active_job (HddDevice *device)
{
  return hdd_dbus_mdev_get_active_job (HDD_DBUS_MDEV (device));
}

static void
device_set_active_job (HddDevice *device, const char *path)
{
  hdd_dbus_mdev_set_active_job (HDD_DBUS_MDEV (device), path);
}

static const HddDeviceServices *
device_get_services (HddDevice *device)
{
  return HDD_MDEV (device)->services;
}

/* Only a running mdev can be unplugged. */
static gboolean
device_check_unplug (HddDevice *device, GError **error)
{
  HddMdev *self = HDD_MDEV (device);

  if (hdd_mdev_sysfs_is_active (self->uuid))
    return TRUE;
  g_set_error (error, HDD_ERROR, HDD_ERROR_NOT_FOUND, "mdev %s is not running", self->uuid);
  return FALSE;
}

/* An attach starts a defined mdev that does not run. */
static gboolean
device_check_attach (HddDevice *device, GError **error)
{
  HddMdev *self = HDD_MDEV (device);

  if (hdd_mdev_sysfs_is_active (self->uuid) || self->definition)
    return TRUE;
  g_set_error (error, HDD_ERROR, HDD_ERROR_NOT_FOUND, "mdev %s is neither running nor defined",
               self->uuid);
  return FALSE;
}

static const HddMdevConfig *
device_get_definition (HddDevice *device)
{
  return HDD_MDEV (device)->definition;
}

static void
hdd_mdev_device_init (HddDeviceInterface *iface)
{
  iface->get_key = device_get_key;
  iface->get_object_path = device_get_object_path;
  iface->get_domain = device_get_domain;
  iface->get_active_job = device_get_active_job;
  iface->set_active_job = device_set_active_job;
  iface->get_services = device_get_services;
  iface->check_unplug = device_check_unplug;
  iface->check_attach = device_check_attach;
  iface->get_definition = device_get_definition;
}
