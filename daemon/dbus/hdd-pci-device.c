#include "hdd-pci-device.h"

#include "hdd-context.h"
#include "hdd-domain-methods.h"
#include "hdd-error.h"
#include "hdd-group.h"
#include "hdd-holders.h"
#include "hdd-libvirt.h"
#include "hdd-log.h"
#include "hdd-bouncer.h"
#include "hdd-job-table.h"
#include "hdd-names.h"
#include "hdd-options.h"
#include "hdd-pci-address.h"
#include "hdd-pci-ops.h"
#include "hdd-pci-sysfs.h"
#include "hdd-store.h"
#include "hdd-sysfs.h"
#include "hdd-vfio-sysfs.h"

struct _HddPciDevice
{
  HddDbusPciDeviceSkeleton parent;

  const HddDeviceServices *services;   /* borrowed from the manager */
  char       *address;
  char       *path;
  /* The VFIO nodes as last read (NULL: none) and whether Holders is not
   * empty: what the holders scans look at, for every device, without the
   * properties' lock. */
  char       *group_node;
  char       *device_node;
  gboolean    held;
};

static void hdd_pci_device_iface_init (HddDbusPciDeviceIface *iface);
static void hdd_pci_device_device_init (HddDeviceInterface *iface);

G_DEFINE_TYPE_WITH_CODE (HddPciDevice, hdd_pci_device, HDD_DBUS_TYPE_PCI_DEVICE_SKELETON,
                         G_IMPLEMENT_INTERFACE (HDD_DBUS_TYPE_PCI_DEVICE,
                                                hdd_pci_device_iface_init)
                         G_IMPLEMENT_INTERFACE (HDD_TYPE_DEVICE, hdd_pci_device_device_init))

static void
hdd_pci_device_finalize (GObject *object)
{
  HddPciDevice *self = HDD_PCI_DEVICE (object);

  g_free (self->address);
  g_free (self->path);
  g_free (self->group_node);
  g_free (self->device_node);
  G_OBJECT_CLASS (hdd_pci_device_parent_class)->finalize (object);
}

static void
hdd_pci_device_class_init (HddPciDeviceClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hdd_pci_device_finalize;
}

static void
hdd_pci_device_init (HddPciDevice *self)
{
}

static guint64
read_id (const char *address, const char *attr)
{
  g_autofree char *path = hdd_sysfs_path ("/sys/bus/pci/devices/%s/%s", address, attr);
  guint64 value = 0;

  hdd_sysfs_read_uint (path, &value, NULL);
  return value;
}

/* "8086:10D3" (PCI_ID, PCI_SUBSYS_ID of the kernel's uevent) */
static gboolean
parse_id_pair (const char *text, guint64 *a, guint64 *b)
{
  g_auto(GStrv) parts = text ? g_strsplit (text, ":", 3) : NULL;

  return parts && g_strv_length (parts) == 2 &&
         g_ascii_string_to_unsigned (parts[0], 16, 0, G_MAXUINT16, a, NULL) &&
         g_ascii_string_to_unsigned (parts[1], 16, 0, G_MAXUINT16, b, NULL);
}

/* The IDs and class: what the kernel put in the device's uevent (PCI_ID,
 * PCI_SUBSYS_ID, PCI_CLASS), which udev has read already, else the five
 * sysfs files (one read each: 50,000 at start-up on a host of 10,000). */
static void
set_ids (HddPciDevice *self, GUdevDevice *udev)
{
  HddDbusPciDevice *iface = HDD_DBUS_PCI_DEVICE (self);
  const char *cls = udev ? g_udev_device_get_property (udev, "PCI_CLASS") : NULL;
  guint64 vendor, device, sub_vendor, sub_device, class_code;

  if (!udev ||
      !parse_id_pair (g_udev_device_get_property (udev, "PCI_ID"), &vendor, &device) ||
      !parse_id_pair (g_udev_device_get_property (udev, "PCI_SUBSYS_ID"), &sub_vendor,
                      &sub_device) ||
      !cls || !g_ascii_string_to_unsigned (cls, 16, 0, 0xffffff, &class_code, NULL))
    {
      vendor = read_id (self->address, "vendor");
      device = read_id (self->address, "device");
      sub_vendor = read_id (self->address, "subsystem_vendor");
      sub_device = read_id (self->address, "subsystem_device");
      class_code = read_id (self->address, "class");
    }
  hdd_dbus_pci_device_set_vendor_id (iface, (guint16) vendor);
  hdd_dbus_pci_device_set_device_id (iface, (guint16) device);
  hdd_dbus_pci_device_set_subsystem_vendor_id (iface, (guint16) sub_vendor);
  hdd_dbus_pci_device_set_subsystem_device_id (iface, (guint16) sub_device);
  hdd_dbus_pci_device_set_class (iface, (guint32) class_code);
}

static void refresh_sysfs (HddPciDevice *self, GUdevDevice *udev);

HddPciDevice *
hdd_pci_device_new (const HddDeviceServices *services,
                    const char              *address,
                    GUdevDevice             *udev)
{
  HddPciDevice *self = g_object_new (HDD_TYPE_PCI_DEVICE, NULL);
  HddDbusPciDevice *iface = HDD_DBUS_PCI_DEVICE (self);
  HddPciAddress parsed = { 0 };

  /* Never inside g_assert(): a build with G_DISABLE_ASSERT would not parse
   * at all and publish the device at a path made of stack garbage.  The
   * manager passes canonical addresses only, so this never fails; if it
   * did, both builds stop here alike. */
  if (!hdd_pci_address_parse (address, &parsed, NULL))
    g_error ("hdd_pci_device_new: “%s” is not a PCI address", address);
  self->services = services;
  self->address = g_strdup (address);
  self->path = hdd_pci_address_to_object_path (&parsed);

  hdd_dbus_pci_device_set_address (iface, address);
  set_ids (self, udev);
  hdd_dbus_pci_device_set_active_job (iface, "/");
  hdd_dbus_pci_device_set_domain (iface, "");
  hdd_dbus_pci_device_set_driver_override (iface, "");
  hdd_dbus_pci_device_set_holders (iface, g_variant_new_array (G_VARIANT_TYPE ("(uss)"), NULL, 0));
  refresh_sysfs (self, udev);
  return self;
}

const char *
hdd_pci_device_get_address (HddPciDevice *self)
{
  return self->address;
}

const char *
hdd_pci_device_get_object_path (HddPciDevice *self)
{
  return self->path;
}

void
hdd_pci_device_update_domain (HddPciDevice *self)
{
  HddLibvirt *libvirt = hdd_context_get_libvirt (self->services->context);
  const char *domain = hdd_libvirt_lookup_domain (libvirt, self->address);

  if (g_strcmp0 (domain ? domain : "", hdd_dbus_pci_device_get_domain (HDD_DBUS_PCI_DEVICE (self))))
    hdd_dbus_pci_device_set_domain (HDD_DBUS_PCI_DEVICE (self), domain ? domain : "");
}

/* driver_override_show() takes the device lock, which a blocked unbind
 * holds: read it in a thread so that only that thread waits. */
static void
read_override_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  char *value = hdd_pci_sysfs_read_driver_override (data);

  g_task_return_pointer (task, value ? value : g_strdup (""), g_free);
}

static void
on_override_read (GObject *source, GAsyncResult *res, gpointer user_data)
{
  HddPciDevice *self = HDD_PCI_DEVICE (source);
  g_autofree char *value = g_task_propagate_pointer (G_TASK (res), NULL);

  if (value)
    hdd_dbus_pci_device_set_driver_override (HDD_DBUS_PCI_DEVICE (self), value);
}

static void
refresh_override (HddPciDevice *self)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, on_override_read, NULL);

  g_task_set_task_data (task, g_strdup (self->address), g_free);
  g_task_run_in_thread (task, read_override_thread);
}

static GStrv
member_paths (const char *address, int group)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  g_autoptr(GPtrArray) members = group >= 0 ? hdd_pci_sysfs_iommu_group_members (group, NULL) : NULL;

  for (guint i = 0; members && i < members->len; i++)
    {
      const char *member = g_ptr_array_index (members, i);
      HddPciAddress a;
      g_autofree char *path = NULL;

      if (g_str_equal (member, address) || !hdd_pci_address_parse (member, &a, NULL))
        continue;
      path = hdd_pci_address_to_object_path (&a);
      g_strv_builder_add (b, path);
    }
  return g_strv_builder_end (b);
}

/* Everything hdd_pci_device_refresh() reads but driver_override. */
static void
refresh_sysfs (HddPciDevice *self,
               GUdevDevice  *udev)
{
  HddDbusPciDevice *iface = HDD_DBUS_PCI_DEVICE (self);
  HddStore *store = hdd_context_get_store (self->services->context);
  g_autofree char *driver = hdd_pci_sysfs_read_driver (self->address);
  g_autofree char *cdev = NULL;
  g_autofree char *group_node = NULL;
  g_autoptr(HddBinding) binding = hdd_store_lookup (store, self->address);
  g_auto(GStrv) members = NULL;
  int group = hdd_pci_sysfs_read_iommu_group (self->address);

  if (udev)
    {
      const char *vendor = g_udev_device_get_property (udev, "ID_VENDOR_FROM_DATABASE");
      const char *model = g_udev_device_get_property (udev, "ID_MODEL_FROM_DATABASE");

      hdd_dbus_pci_device_set_vendor_name (iface, vendor ? vendor : "");
      hdd_dbus_pci_device_set_device_name (iface, model ? model : "");
    }

  if (hdd_pci_sysfs_driver_is_vfio (driver))
    {
      group_node = hdd_vfio_sysfs_group_node (group);
      cdev = hdd_pci_sysfs_read_vfio_device_node (self->address);
    }

  members = member_paths (self->address, group);
  hdd_dbus_pci_device_set_driver (iface, driver ? driver : "");
  hdd_dbus_pci_device_set_iommu_group (iface, group);
  hdd_dbus_pci_device_set_group_members (iface, (const char * const *) members);
  hdd_dbus_pci_device_set_vfio_group_node (iface, group_node ? group_node : "");
  hdd_dbus_pci_device_set_vfio_device_node (iface, cdev ? cdev : "");
  g_free (self->group_node);
  g_free (self->device_node);
  self->group_node = g_strdup (group_node);
  self->device_node = g_strdup (cdev);
  if (group_node == NULL && cdev == NULL)
    hdd_pci_device_set_holders_from (self, NULL);
  hdd_dbus_pci_device_set_persistent (iface, binding && binding->persistent);
  hdd_dbus_pci_device_set_original_driver (iface, binding && binding->original_driver
                                           ? binding->original_driver : "");
  hdd_pci_device_update_domain (self);
}

void
hdd_pci_device_refresh (HddPciDevice *self,
                        GUdevDevice  *udev)
{
  refresh_sysfs (self, udev);
  if (!hdd_device_is_busy (HDD_DEVICE (self)))
    refresh_override (self);
}

/* Many overrides in one thread: a task per device would cost more than
 * its read (10,000 at start-up). */
static void
read_overrides_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GPtrArray *devices = data;
  GPtrArray *values = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < devices->len; i++)
    {
      char *value = hdd_pci_sysfs_read_driver_override (
        hdd_pci_device_get_address (g_ptr_array_index (devices, i)));

      g_ptr_array_add (values, value ? value : g_strdup (""));
    }
  g_task_return_pointer (task, values, (GDestroyNotify) g_ptr_array_unref);
}

static void
on_overrides_read (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GPtrArray *devices = g_task_get_task_data (G_TASK (res));
  g_autoptr(GPtrArray) values = g_task_propagate_pointer (G_TASK (res), NULL);

  for (guint i = 0; values && i < devices->len; i++)
    {
      HddPciDevice *self = g_ptr_array_index (devices, i);

      /* A job that started meanwhile reads it itself when it ends. */
      if (!hdd_device_is_busy (HDD_DEVICE (self)))
        hdd_dbus_pci_device_set_driver_override (HDD_DBUS_PCI_DEVICE (self),
                                                 g_ptr_array_index (values, i));
    }
}

void
hdd_pci_device_read_overrides (GPtrArray *devices)
{
  g_autoptr(GTask) task = NULL;

  if (devices->len == 0)
    return;
  task = g_task_new (NULL, NULL, on_overrides_read, NULL);
  g_task_set_task_data (task, g_ptr_array_ref (devices), (GDestroyNotify) g_ptr_array_unref);
  g_task_run_in_thread (task, read_overrides_thread);
}

void
hdd_pci_device_set_holders_from (HddPciDevice *self,
                                 GPtrArray    *holders)
{
  g_autoptr(GVariant) value = NULL;
  gboolean held = holders && holders->len > 0;

  if (!held && !self->held)
    return;  /* nobody held it, nobody does */
  value = hdd_holders_to_variant_if_changed (
    hdd_dbus_pci_device_get_holders (HDD_DBUS_PCI_DEVICE (self)), holders);
  self->held = held;
  if (value)
    hdd_dbus_pci_device_set_holders (HDD_DBUS_PCI_DEVICE (self), value);
}

void
hdd_pci_device_get_nodes (HddPciDevice *self,
                          const char  **group_node,
                          const char  **device_node)
{
  *group_node = self->group_node;
  *device_node = self->device_node;
}

/* ---- Methods ---- */

static const HddOptionSpec bind_options[] = {
  { "group", "b" },
  { "persist", "b" },
  { NULL }
};

typedef struct {
  HddBindFlags flags;
} BindRequest;

static void
bouncer_dispatch (HddPciDevice *self, GDBusMethodInvocation *invocation, GVariant *options,
                  HddBouncerCall call)
{
  call.object = self;
  hdd_bouncer_dispatch (self->services->authority, invocation, options, &call);
}

/* Refuses a binding that cannot work right away, so that the caller gets
 * NotViable from the call itself; the job checks again under the group's
 * lock, where it counts. */
static gboolean
check_bind (gpointer object, gpointer request, GError **error)
{
  HddPciDevice *self = object;
  BindRequest *r = request;
  g_autoptr(GPtrArray) plan = NULL;
  int group;

  plan = hdd_group_plan_bind (self->address, (r->flags & HDD_BIND_WHOLE_GROUP) != 0, &group,
                              error);
  return plan != NULL;
}

static void
run_bind (gpointer object, GDBusMethodInvocation *invocation, gpointer request)
{
  HddPciDevice *self = object;
  BindRequest *r = request;
  HddJob *job = hdd_job_table_start (self->services->jobs, HDD_DEVICE (self), invocation,
                                     hdd_pci_ops_bind (self->services->context, self->address,
                                                       r->flags));

  hdd_dbus_pci_device_complete_bind_vfio (HDD_DBUS_PCI_DEVICE (self), invocation,
                                          hdd_job_get_object_path (job));
}

static gboolean
handle_bind_vfio (HddDbusPciDevice *iface, GDBusMethodInvocation *invocation, GVariant *options)
{
  BindRequest *r;

  if (!hdd_options_check_call (invocation, options, bind_options))
    return TRUE;
  r = g_new0 (BindRequest, 1);
  if (hdd_options_get_boolean (options, "group", FALSE))
    r->flags |= HDD_BIND_WHOLE_GROUP;
  if (hdd_options_get_boolean (options, "persist", FALSE))
    r->flags |= HDD_BIND_PERSIST;
  bouncer_dispatch (HDD_PCI_DEVICE (iface), invocation, options,
                    (HddBouncerCall) { .request = r, .request_free = g_free,
                                       .check = check_bind, .run = run_bind });
  return TRUE;
}

static void
run_restore (gpointer object, GDBusMethodInvocation *invocation, gpointer request)
{
  HddPciDevice *self = object;
  HddJob *job = hdd_job_table_start (self->services->jobs, HDD_DEVICE (self), invocation,
                                     hdd_pci_ops_restore (self->services->context, self->address));

  hdd_dbus_pci_device_complete_restore (HDD_DBUS_PCI_DEVICE (self), invocation,
                                        hdd_job_get_object_path (job));
}

static gboolean
handle_restore (HddDbusPciDevice *iface, GDBusMethodInvocation *invocation, GVariant *options)
{
  if (hdd_options_check_call (invocation, options, NULL))
    bouncer_dispatch (HDD_PCI_DEVICE (iface), invocation, options,
                      (HddBouncerCall) { .run = run_restore });
  return TRUE;
}

/* Persist and Forget change the store entry a job on the device records
 * and undoes as it goes: they wait for no job, they refuse while one runs
 * (found by the kill -9 soak: a Forget between a bind's record and the
 * kernel's bind dropped the record of a device then bound). */
static gboolean
check_no_job (gpointer object, gpointer request, GError **error)
{
  HddPciDevice *self = object;
  const char *job = hdd_device_get_active_job (HDD_DEVICE (self));

  if (!hdd_device_is_busy (HDD_DEVICE (self)))
    return TRUE;
  g_set_error (error, HDD_ERROR, HDD_ERROR_BUSY,
               "A job works on %s (%s): ask again once it ended", self->address, job);
  return FALSE;
}

static void
run_persist (gpointer object, GDBusMethodInvocation *invocation, gpointer request)
{
  HddPciDevice *self = object;
  HddStore *store = hdd_context_get_store (self->services->context);
  g_autoptr(HddBinding) entry = hdd_store_lookup (store, self->address);
  g_autofree char *driver = hdd_pci_sysfs_read_driver (self->address);
  g_autoptr(GError) error = NULL;
  const char *original;

  if (entry && entry->original_driver)
    original = entry->original_driver;
  else
    original = hdd_pci_sysfs_driver_is_vfio (driver) ? NULL : driver;

  if (!hdd_store_put (store, self->address, original, TRUE, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }
  hdd_message (self->address, 0, "%s: the vfio-pci binding is now persistent", self->address);
  hdd_pci_device_refresh (self, NULL);
  hdd_dbus_pci_device_complete_persist (HDD_DBUS_PCI_DEVICE (self), invocation);
}

static gboolean
handle_persist (HddDbusPciDevice *iface, GDBusMethodInvocation *invocation, GVariant *options)
{
  if (hdd_options_check_call (invocation, options, NULL))
    bouncer_dispatch (HDD_PCI_DEVICE (iface), invocation, options,
                      (HddBouncerCall) { .check = check_no_job, .run = run_persist });
  return TRUE;
}

static void
run_forget (gpointer object, GDBusMethodInvocation *invocation, gpointer request)
{
  HddPciDevice *self = object;
  HddStore *store = hdd_context_get_store (self->services->context);
  g_autoptr(HddBinding) entry = hdd_store_lookup (store, self->address);
  g_autofree char *driver = hdd_pci_sysfs_read_driver (self->address);
  g_autoptr(GError) error = NULL;
  gboolean ok = TRUE;

  /* While the device is on vfio-pci the entry still remembers its original
   * driver for Restore; only the persistence goes. */
  if (entry && hdd_pci_sysfs_driver_is_vfio (driver))
    ok = hdd_store_put (store, self->address, entry->original_driver, FALSE, &error);
  else if (entry)
    ok = hdd_store_remove (store, self->address, &error);
  if (!ok)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }
  if (entry && entry->persistent)
    hdd_message (self->address, 0, "%s: the persistent binding was forgotten", self->address);
  hdd_pci_device_refresh (self, NULL);
  hdd_dbus_pci_device_complete_forget (HDD_DBUS_PCI_DEVICE (self), invocation);
}

static gboolean
handle_forget (HddDbusPciDevice *iface, GDBusMethodInvocation *invocation, GVariant *options)
{
  if (hdd_options_check_call (invocation, options, NULL))
    bouncer_dispatch (HDD_PCI_DEVICE (iface), invocation, options,
                      (HddBouncerCall) { .check = check_no_job, .run = run_forget });
  return TRUE;
}

static gboolean
handle_unplug (HddDbusPciDevice *iface, GDBusMethodInvocation *invocation, GVariant *options)
{
  return hdd_domain_methods_unplug (G_OBJECT (iface), invocation, options);
}

static gboolean
handle_attach_to_domain (HddDbusPciDevice *iface, GDBusMethodInvocation *invocation,
                         const char *domain, GVariant *options)
{
  return hdd_domain_methods_attach (G_OBJECT (iface), invocation, domain, options);
}

static gboolean
handle_detach_from_domain (HddDbusPciDevice *iface, GDBusMethodInvocation *invocation,
                           GVariant *options)
{
  return hdd_domain_methods_detach (G_OBJECT (iface), invocation, options);
}

static void
hdd_pci_device_iface_init (HddDbusPciDeviceIface *iface)
{
  iface->handle_unplug = handle_unplug;
  iface->handle_attach_to_domain = handle_attach_to_domain;
  iface->handle_detach_from_domain = handle_detach_from_domain;
  iface->handle_bind_vfio = handle_bind_vfio;
  iface->handle_restore = handle_restore;
  iface->handle_persist = handle_persist;
  iface->handle_forget = handle_forget;
}

/* ---- HddDevice ---- */

static const char *
device_get_key (HddDevice *device)
{
  return HDD_PCI_DEVICE (device)->address;
}

static const char *
device_get_object_path (HddDevice *device)
{
  return HDD_PCI_DEVICE (device)->path;
}

static const char *
device_get_domain (HddDevice *device)
{
  return hdd_dbus_pci_device_get_domain (HDD_DBUS_PCI_DEVICE (device));
}

static const char *
device_get_active_job (HddDevice *device)
{
  return hdd_dbus_pci_device_get_active_job (HDD_DBUS_PCI_DEVICE (device));
}

static void
device_set_active_job (HddDevice *device, const char *path)
{
  hdd_dbus_pci_device_set_active_job (HDD_DBUS_PCI_DEVICE (device), path);
}

static const HddDeviceServices *
device_get_services (HddDevice *device)
{
  return HDD_PCI_DEVICE (device)->services;
}

static gboolean
device_check_unplug (HddDevice *device, GError **error)
{
  return TRUE;
}

/* As BindVfio does: a device whose group cannot be bound is refused now. */
static gboolean
device_check_attach (HddDevice *device, GError **error)
{
  HddPciDevice *self = HDD_PCI_DEVICE (device);
  g_autofree char *driver = hdd_pci_sysfs_read_driver (self->address);
  g_autoptr(GPtrArray) plan = NULL;
  int group;

  if (hdd_pci_sysfs_driver_is_vfio (driver))
    return TRUE;
  plan = hdd_group_plan_bind (self->address, FALSE, &group, error);
  return plan != NULL;
}

static const HddMdevConfig *
device_get_definition (HddDevice *device)
{
  return NULL;
}

static void
hdd_pci_device_device_init (HddDeviceInterface *iface)
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
