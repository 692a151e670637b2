#include "hdd-manager.h"

#include "config.h"
#include "hdd-context.h"
#include "hdd-error.h"
#include "hdd-holders.h"
#include "hdd-job-table.h"
#include "hdd-mdev-manager.h"
#include "hdd-pci-device.h"
#include "hdd-authority.h"
#include "hdd-libvirt.h"
#include "hdd-log.h"
#include "hdd-mdev-names.h"
#include "hdd-names.h"
#include "hdd-options.h"
#include "hdd-pci-address.h"
#include "hdd-pci-ops.h"
#include "hdd-pci-sysfs.h"
#include "hdd-qemu-event.h"
#include "hdd-reconcile.h"
#include "hdd-release-pending.h"
#include "hdd-store.h"
#include "hdd-sysfs.h"
#include "hdd-vfio-sysfs.h"

/* How often the holders of VFIO nodes are looked up; less often when the
 * opens and closes of the host's nodes are watched (hdd_holders_watch_new):
 * then only a holder in a private /dev that libvirt does not tell about
 * waits for the poll. */
#define HOLDERS_POLL_S 2
#define HOLDERS_WATCHED_POLL_S 30

struct _HddManager
{
  HddDbusManagerSkeleton     parent;

  GDBusConnection           *connection;
  GDBusObjectManagerServer  *object_manager;
  GUdevClient               *udev;
  HddStore                  *store;
  HddContext                *context;
  HddAuthority              *authority;
  HddMdevManager            *mdevs;
  HddLibvirt                *libvirt;
  HddJobTable               *jobs;
  HddDeviceServices          services;  /* what the device objects get */

  GHashTable                *devices;   /* address -> HddPciDevice */
  guint                      holders_timer;
  HddHoldersWatch           *holders_watch;
  GCancellable              *holders_cancellable;
  gboolean                   holders_scanning;  /* one scan at a time */
  gboolean                   holders_again;     /* asked for during the scan */
  gboolean                   held;              /* the last scan found holders */
};

static void hdd_manager_iface_init (HddDbusManagerIface *iface);

G_DEFINE_TYPE_WITH_CODE (HddManager, hdd_manager, HDD_DBUS_TYPE_MANAGER_SKELETON,
                         G_IMPLEMENT_INTERFACE (HDD_DBUS_TYPE_MANAGER, hdd_manager_iface_init))

static void
hdd_manager_finalize (GObject *object)
{
  HddManager *self = HDD_MANAGER (object);

  g_clear_handle_id (&self->holders_timer, g_source_remove);
  g_clear_pointer (&self->holders_watch, hdd_holders_watch_free);
  g_cancellable_cancel (self->holders_cancellable);
  g_clear_object (&self->holders_cancellable);
  g_clear_object (&self->udev);
  g_clear_object (&self->mdevs);
  g_clear_object (&self->libvirt);
  g_hash_table_unref (self->devices);
  g_clear_object (&self->jobs);
  g_clear_object (&self->object_manager);
  g_clear_object (&self->context);
  g_clear_object (&self->store);
  g_clear_object (&self->authority);
  g_clear_object (&self->connection);
  G_OBJECT_CLASS (hdd_manager_parent_class)->finalize (object);
}

static void
hdd_manager_class_init (HddManagerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hdd_manager_finalize;
}

static void
hdd_manager_init (HddManager *self)
{
  self->devices = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->holders_cancellable = g_cancellable_new ();
}

HddManager *
hdd_manager_new (GDBusConnection *connection,
                 HddStore        *store,
                 HddAuthority    *authority,
                 const char      *mdev_directory)
{
  HddManager *self = g_object_new (HDD_TYPE_MANAGER, NULL);

  self->connection = g_object_ref (connection);
  self->store = g_object_ref (store);
  self->authority = g_object_ref (authority);
  self->object_manager = g_dbus_object_manager_server_new (HDD_DBUS_PATH);
  self->libvirt = hdd_libvirt_new (NULL);
  self->context = hdd_context_new (store, self->libvirt);
  self->jobs = hdd_job_table_new (self->object_manager, self->authority);
  self->services = (HddDeviceServices) { self->context, self->authority, self->jobs };
  self->mdevs = hdd_mdev_manager_new (&self->services, self->object_manager, self->libvirt,
                                      mdev_directory);

  hdd_dbus_manager_set_version (HDD_DBUS_MANAGER (self), PACKAGE_VERSION);
  hdd_dbus_manager_set_supports_revoke (HDD_DBUS_MANAGER (self), FALSE);
  hdd_dbus_manager_set_state_directory (HDD_DBUS_MANAGER (self),
                                        hdd_store_get_directory (store));
  hdd_dbus_manager_set_mdev_definition_directory (HDD_DBUS_MANAGER (self), mdev_directory);
  hdd_dbus_manager_set_libvirt_uri (HDD_DBUS_MANAGER (self), hdd_libvirt_get_uri (self->libvirt));
  hdd_dbus_manager_set_libvirt_connected (HDD_DBUS_MANAGER (self), FALSE);
  return self;
}

HddContext *
hdd_manager_get_context (HddManager *self)
{
  return self->context;
}

static void scan_holders (HddManager *self);

/* Which domain has which device changed, or libvirt came or went. */
static void
on_libvirt_changed (HddLibvirt *libvirt, gpointer user_data)
{
  HddManager *self = user_data;
  GHashTableIter iter;
  gpointer value;

  hdd_dbus_manager_set_libvirt_connected (HDD_DBUS_MANAGER (self),
                                          hdd_libvirt_is_connected (libvirt));
  g_hash_table_iter_init (&iter, self->devices);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    hdd_pci_device_update_domain (value);
  hdd_mdev_manager_update_domains (self->mdevs);
  /* A domain started or stopped, or got or lost a device: its QEMU, in
   * a private /dev, opened or closed nodes the watch does not see. */
  scan_holders (self);
}

/* What a domain's QEMU said about a VFIO device the host wants back (the
 * events of hostdevd's QEMU series): a step of every job that is working
 * on that device, else a line in the journal.  Only an unplug that could
 * not start is a reason the job keeps; a revoked device is gone. */
static void
on_qemu_event (HddLibvirt *libvirt, const char *domain, const char *name, const char *details,
               gpointer user_data)
{
  HddManager *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(HddQemuEvent) event = hdd_qemu_event_parse (name, details, &error);
  g_autofree char *text = NULL;
  g_autofree char *path = NULL;
  guint noted = 0;

  if (event == NULL)
    {
      hdd_warning (NULL, 0, "Domain %s: ignoring QEMU event %s: %s", domain, name, error->message);
      return;
    }
  text = hdd_qemu_event_describe (event, domain);
  if (hdd_uuid_is_canonical (event->key))
    path = hdd_mdev_object_path (event->key);
  else
    {
      HddPciAddress address;

      if (hdd_pci_address_parse (event->key, &address, NULL))
        path = hdd_pci_address_to_object_path (&address);
    }
  if (path)
    noted = hdd_job_table_note_qemu (self->jobs, path, text,
                                     event->kind == HDD_QEMU_EVENT_UNPLUG_FAILED ? event->reason
                                                                                 : NULL);
  if (noted == 0)
    hdd_message (event->key, 0, "%s", text);
}

HddPciDevice *
hdd_manager_lookup_device (HddManager *self,
                           const char *address)
{
  return g_hash_table_lookup (self->devices, address);
}

/* ---- Devices ---- */

/* Exports @iface on an object of its own at @path / unexports it. */
static void
export (HddManager             *self,
                    const char             *path,
                    GDBusInterfaceSkeleton *iface)
{
  g_autoptr(HddDbusObjectSkeleton) object = hdd_dbus_object_skeleton_new (path);

  g_dbus_object_skeleton_add_interface (G_DBUS_OBJECT_SKELETON (object), iface);
  g_dbus_object_manager_server_export (self->object_manager, G_DBUS_OBJECT_SKELETON (object));
}

static void
unexport (HddManager *self,
                      const char *path)
{
  g_dbus_object_manager_server_unexport (self->object_manager, path);
}

static void
refresh_group_of (HddManager *self, const char *address)
{
  int group = hdd_pci_sysfs_read_iommu_group (address);
  g_autoptr(GPtrArray) members = group >= 0 ? hdd_pci_sysfs_iommu_group_members (group, NULL) : NULL;

  for (guint i = 0; members && i < members->len; i++)
    {
      HddPciDevice *d = hdd_manager_lookup_device (self, g_ptr_array_index (members, i));
      if (d && !g_str_equal (g_ptr_array_index (members, i), address))
        hdd_pci_device_refresh (d, NULL);
    }
}

static gboolean apply_persistent_binding (HddManager *self, HddPciDevice *device);

/* A device that appeared (or one that changed) is made (read again);
 * made ones are added to @made, whose overrides the caller reads. */
static void
add_device (HddManager *self, GUdevDevice *udev, gboolean apply, GPtrArray *made)
{
  g_autofree char *address = hdd_pci_address_canonicalize (g_udev_device_get_name (udev), NULL);
  HddPciDevice *device;

  if (address == NULL)
    return;
  device = hdd_manager_lookup_device (self, address);
  if (device)
    {
      hdd_pci_device_refresh (device, udev);
      return;
    }
  device = hdd_pci_device_new (&self->services, address, udev);
  g_ptr_array_add (made, g_object_ref (device));
  g_hash_table_insert (self->devices, g_strdup (address), device);
  export (self, hdd_pci_device_get_object_path (device),
                      G_DBUS_INTERFACE_SKELETON (device));
  hdd_info (address, 0, "PCI device %s appeared (driver: %s, IOMMU group %d)", address,
            *hdd_dbus_pci_device_get_driver (HDD_DBUS_PCI_DEVICE (device))
            ? hdd_dbus_pci_device_get_driver (HDD_DBUS_PCI_DEVICE (device)) : "none",
            hdd_dbus_pci_device_get_iommu_group (HDD_DBUS_PCI_DEVICE (device)));
  if (apply)
    apply_persistent_binding (self, device);
}

static void
remove_device (HddManager *self, const char *name)
{
  g_autofree char *address = hdd_pci_address_canonicalize (name, NULL);
  HddPciDevice *device = address ? hdd_manager_lookup_device (self, address) : NULL;

  if (device == NULL)
    return;
  unexport (self, hdd_pci_device_get_object_path (device));
  g_hash_table_remove (self->devices, address);
  hdd_info (address, 0, "PCI device %s went away", address);
}

/* The kernel's revoke shows in every vfio-dev: read again when a device
 * may have come or gone from VFIO (a uevent, a job's end).  The daemon
 * must also be allowed to use it (CAP_SYS_ADMIN). */
static void
update_supports_revoke (HddManager *self)
{
  gboolean can = hdd_vfio_sysfs_kernel_can_revoke () && hdd_vfio_sysfs_may_revoke (NULL);

  if (can != hdd_dbus_manager_get_supports_revoke (HDD_DBUS_MANAGER (self)))
    hdd_dbus_manager_set_supports_revoke (HDD_DBUS_MANAGER (self), can);
}

static void
on_uevent (GUdevClient *client, const char *action, GUdevDevice *udev, gpointer user_data)
{
  HddManager *self = user_data;
  const char *name = g_udev_device_get_name (udev);

  g_debug ("uevent %s %s", action, name);
  /* A job waiting for what sysfs says after its write looks again now. */
  hdd_sysfs_kick ();
  if (g_str_equal (action, "remove"))
    remove_device (self, name);
  else
    {
      g_autoptr(GPtrArray) made = g_ptr_array_new_with_free_func (g_object_unref);

      add_device (self, udev, g_str_equal (action, "add"), made);
      hdd_pci_device_read_overrides (made);
      refresh_group_of (self, name);
    }
  update_supports_revoke (self);
}

/* Starts a job that applies the persistent binding of @device when it has
 * one that is not applied; returns whether it did. */
static gboolean
apply_persistent_binding (HddManager *self, HddPciDevice *device)
{
  const char *address = hdd_pci_device_get_address (device);
  g_autoptr(HddBinding) entry = hdd_store_lookup (self->store, address);
  const char *driver = hdd_dbus_pci_device_get_driver (HDD_DBUS_PCI_DEVICE (device));
  HddJob *job;

  if (entry == NULL || !entry->persistent || hdd_pci_sysfs_driver_is_vfio (driver))
    return FALSE;
  if (hdd_device_is_busy (HDD_DEVICE (device)))
    return FALSE;
  job = hdd_job_table_start (self->jobs, HDD_DEVICE (device), NULL,
                             hdd_pci_ops_bind (self->context, address, HDD_BIND_APPLY));
  hdd_message (address, hdd_job_get_id (job),
               "Applying the persistent vfio-pci binding of %s (job %u)",
               address, hdd_job_get_id (job));
  return TRUE;
}

/* ---- Holders ---- */

/* Each device and mdev looks up its own nodes in the scan's index: an
 * object nobody held and nobody holds costs two lookups, no allocation. */
static void
set_holders (HddManager *self, GPtrArray *holders)
{
  g_autoptr(GHashTable) index = hdd_holders_index_by_node (holders);
  GHashTableIter iter;
  gpointer value;

  self->held = holders != NULL && holders->len > 0;
  g_hash_table_iter_init (&iter, self->devices);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      const char *group_node, *device_node;
      g_autoptr(GPtrArray) mine = NULL;

      hdd_pci_device_get_nodes (value, &group_node, &device_node);
      if (group_node || device_node)
        mine = hdd_holders_lookup (index, group_node, device_node);
      hdd_pci_device_set_holders_from (value, mine);
    }
  hdd_mdev_manager_set_holders (self->mdevs, index);
}

static void
on_holders_scanned (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) holders = hdd_holders_scan_finish (result, &error);
  HddManager *self = user_data;

  if (holders == NULL)
    return;  /* cancelled: the manager is gone */
  self->holders_scanning = FALSE;
  set_holders (self, holders);
  if (self->holders_again)
    scan_holders (self);
}

/* Whether any device or mdev has a VFIO node: else there is nothing to
 * hold, and no scan. */
static gboolean
any_vfio_node (HddManager *self)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->devices);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      const char *group_node, *device_node;

      hdd_pci_device_get_nodes (value, &group_node, &device_node);
      if (group_node || device_node)
        return TRUE;
    }
  return hdd_mdev_manager_has_vfio_node (self->mdevs);
}

/* Who holds the VFIO nodes, looked up in a thread: a process's /proc
 * entries may keep a reader waiting (the kernel's locks), and the main
 * loop must not wait with it.  One scan at a time: one asked for while a
 * scan runs follows it.  The scan looks at the /dev/vfio fds of the
 * processes, whatever the number of devices (hdd_holders_scan()). */
static void
scan_holders (HddManager *self)
{
  if (self->holders_scanning)
    {
      self->holders_again = TRUE;
      return;
    }
  self->holders_again = FALSE;
  if (!any_vfio_node (self))
    {
      set_holders (self, NULL);
      return;
    }
  self->holders_scanning = TRUE;
  hdd_holders_scan_async (NULL, self->holders_cancellable, on_holders_scanned, self);
}

static gboolean
on_holders_timer (gpointer user_data)
{
  scan_holders (user_data);
  return G_SOURCE_CONTINUE;
}

/* A node of the host's /dev/vfio was opened, closed or removed.  Nodes
 * only removed while nobody held any (a burst of mdevs removed, devices
 * unbound) leave nobody holding anything: no scan of every process. */
static void
on_vfio_nodes_changed (gboolean only_removed, gpointer user_data)
{
  HddManager *self = user_data;

  if (only_removed && !self->held && !self->holders_scanning)
    return;
  scan_holders (self);
}

/* ---- Jobs ---- */

/* Whether @device (a PciDevice or an Mdev) is known to be held. */
static gboolean
device_has_holders (GObject *device)
{
  GVariant *holders = NULL;

  if (HDD_DBUS_IS_PCI_DEVICE (device))
    holders = hdd_dbus_pci_device_get_holders (HDD_DBUS_PCI_DEVICE (device));
  else if (HDD_DBUS_IS_MDEV (device))
    holders = hdd_dbus_mdev_get_holders (HDD_DBUS_MDEV (device));
  return holders != NULL && g_variant_n_children (holders) > 0;
}

/* A job ended: what it worked on is read again, and so are the holders
 * when they may have changed with it (no stale list): when its device
 * was held (they let go, or lost it), or when opens and closes are not
 * watched.  A device nobody held is held after a job only once someone
 * opens its node, which the watch sees (and libvirt's events, for QEMU's
 * private /dev): a burst of creates or bindings made a scan of every
 * process each. */
static void
on_job_finished (HddJobTable *jobs, HddJob *job, GObject *device, gpointer user_data)
{
  HddManager *self = user_data;

  if (device && HDD_IS_PCI_DEVICE (device))
    {
      hdd_pci_device_refresh (HDD_PCI_DEVICE (device), NULL);
      refresh_group_of (self, hdd_pci_device_get_address (HDD_PCI_DEVICE (device)));
    }
  if (device == NULL || device_has_holders (device) ||
      !hdd_holders_watch_is_active (self->holders_watch))
    scan_holders (self);
  update_supports_revoke (self);
}

void
hdd_manager_stop (HddManager *self,
                  GSourceFunc done,
                  gpointer    user_data)
{
  hdd_job_table_stop (self->jobs, done, user_data);
}

/* ---- Manager methods ---- */

static gboolean
handle_get_device (HddDbusManager *iface, GDBusMethodInvocation *invocation,
                   const char *address, GVariant *options)
{
  HddManager *self = HDD_MANAGER (iface);
  g_autoptr(GError) error = NULL;
  g_autofree char *canonical = NULL;
  HddPciDevice *device;

  if (!hdd_options_check (options, NULL, &error) ||
      !(canonical = hdd_pci_address_canonicalize (address, &error)))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return TRUE;
    }
  device = hdd_manager_lookup_device (self, canonical);
  if (device == NULL)
    {
      g_dbus_method_invocation_return_error (invocation, HDD_ERROR, HDD_ERROR_NOT_FOUND,
                                             "No PCI device %s", canonical);
      return TRUE;
    }
  hdd_dbus_manager_complete_get_device (iface, invocation, hdd_pci_device_get_object_path (device));
  return TRUE;
}

static gboolean
handle_get_job (HddDbusManager *iface, GDBusMethodInvocation *invocation,
                guint id, GVariant *options)
{
  HddManager *self = HDD_MANAGER (iface);
  g_autoptr(GError) error = NULL;
  HddJob *job;

  if (!hdd_options_check (options, NULL, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return TRUE;
    }
  job = hdd_job_table_lookup (self->jobs, id);
  if (job == NULL)
    {
      g_dbus_method_invocation_return_error (invocation, HDD_ERROR, HDD_ERROR_NOT_FOUND,
                                             "No job %u (finished jobs are kept for %d s)",
                                             id, HDD_JOB_TABLE_RETENTION_S);
      return TRUE;
    }
  hdd_dbus_manager_complete_get_job (iface, invocation, hdd_job_get_object_path (job));
  return TRUE;
}

/* The mdev methods are the mdev half's. */
static gboolean
handle_get_mdev (HddDbusManager *iface, GDBusMethodInvocation *invocation,
                 const char *uuid, GVariant *options)
{
  return hdd_mdev_manager_handle_get_mdev (HDD_MANAGER (iface)->mdevs, iface, invocation, uuid,
                                           options);
}

static gboolean
handle_create_mdev (HddDbusManager *iface, GDBusMethodInvocation *invocation,
                    const char *parent, const char *type, const char *uuid,
                    GVariant *attributes, GVariant *options)
{
  return hdd_mdev_manager_handle_create (HDD_MANAGER (iface)->mdevs, iface, invocation, parent,
                                         type, uuid, attributes, options);
}

static gboolean
handle_define_mdev (HddDbusManager *iface, GDBusMethodInvocation *invocation,
                    const char *parent, const char *type, const char *uuid,
                    GVariant *attributes, GVariant *options)
{
  return hdd_mdev_manager_handle_define (HDD_MANAGER (iface)->mdevs, iface, invocation, parent,
                                         type, uuid, attributes, options);
}

static void
hdd_manager_iface_init (HddDbusManagerIface *iface)
{
  iface->handle_get_device = handle_get_device;
  iface->handle_get_job = handle_get_job;
  iface->handle_get_mdev = handle_get_mdev;
  iface->handle_create_mdev = handle_create_mdev;
  iface->handle_define_mdev = handle_define_mdev;
}

/* ---- Start-up ---- */

/* A device whose store entry does not match sysfs (hdd-reconcile.h) gets a
 * "reconcile" job, unless it went away or another job took it meanwhile:
 * that job decides. */
static void
on_reconcile_examined (GObject *source, GAsyncResult *result, gpointer user_data)
{
  HddManager *self = user_data;
  const char *address = NULL;
  HddReconcileAction action = hdd_reconcile_examine_finish (result, &address);
  const char *why = hdd_reconcile_describe (action);
  HddPciDevice *device = hdd_manager_lookup_device (self, address);
  HddJob *job;

  if (why == NULL || device == NULL || hdd_device_is_busy (HDD_DEVICE (device)))
    return;
  job = hdd_job_table_start (self->jobs, HDD_DEVICE (device), NULL,
                             hdd_reconcile_repair (self->context, address));
  hdd_message (address, hdd_job_get_id (job), "Reconciling %s: %s (job %u)",
               address, why, hdd_job_get_id (job));
}

/* A job follows each release the kernel is still in the middle of. */
static void
adopt_pending_releases (HddManager *self)
{
  g_autoptr(GPtrArray) found = hdd_release_pending_find ();

  for (guint i = 0; i < found->len; i++)
    {
      HddReleasePending *p = g_ptr_array_steal_index (found, i--);
      g_autofree char *key = g_strdup (p->key);
      g_autofree char *vfio = g_strdup (p->vfio);
      HddPciDevice *device = key ? hdd_manager_lookup_device (self, key) : NULL;
      g_autofree char *path = NULL;
      HddJob *job;

      if (key == NULL)
        {
          hdd_warning (NULL, 0, "The kernel is releasing %s (%s), a device hostdevd does not "
                       "manage", p->vfio, p->target);
          hdd_release_pending_free (p);
          continue;
        }
      if (device)
        job = hdd_job_table_start (self->jobs, HDD_DEVICE (device), NULL,
                                   hdd_release_pending_watch (self->context, p));
      else
        {
          /* An mdev being removed has no object: its bus entry is gone. */
          path = hdd_mdev_object_path (key);
          job = hdd_job_table_start_for (self->jobs, path, key, NULL,
                                         hdd_release_pending_watch (self->context, p));
        }
      hdd_warning (key, hdd_job_get_id (job), "The kernel is still releasing %s (%s): a release "
                   "started before hostdevd did is waiting for its holders; job %u follows it",
                   key, vfio, hdd_job_get_id (job));
    }
}

void
hdd_manager_start (HddManager *self)
{
  const char *subsystems[] = { "pci", NULL };
  g_autolist(GUdevDevice) devices = NULL;
  g_autoptr(GPtrArray) bindings = NULL;
  g_autoptr(GPtrArray) made = NULL;

  g_autoptr(GError) error = NULL;
  gint64 t0, t1;

  /* The Manager interface shares /org/hostdevd1 with the object manager,
   * which can only export objects below itself. */
  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self), self->connection,
                                         HDD_DBUS_PATH, &error))
    g_error ("Cannot export %s: %s", HDD_DBUS_PATH, error->message);

  self->udev = g_udev_client_new (subsystems);
  g_signal_connect (self->udev, "uevent", G_CALLBACK (on_uevent), self);
  /* How long udev's listing and the objects take, in the log: what a
   * start-up with many devices spends its time on. */
  t0 = g_get_monotonic_time ();
  devices = g_udev_client_query_by_subsystem (self->udev, "pci");
  t1 = g_get_monotonic_time ();
  made = g_ptr_array_new_with_free_func (g_object_unref);
  for (GList *l = devices; l; l = l->next)
    add_device (self, l->data, FALSE, made);
  hdd_pci_device_read_overrides (made);
  update_supports_revoke (self);
  hdd_message (NULL, 0, "Managing %u PCI devices (udev listed them in %.2f s, their objects "
               "took %.2f s)", g_hash_table_size (self->devices), (t1 - t0) / 1e6,
               (g_get_monotonic_time () - t1) / 1e6);

  /* Re-apply persistent bindings of the devices present now (the others
   * are applied when they appear), and repair what a job that stopped
   * half-way left on the rest (hdd-reconcile.h). */
  bindings = hdd_store_list (self->store);
  for (guint i = 0; i < bindings->len; i++)
    {
      HddBinding *b = g_ptr_array_index (bindings, i);
      HddPciDevice *device = hdd_manager_lookup_device (self, b->address);

      if (device == NULL)
        {
          if (b->persistent)
            hdd_info (b->address, 0, "Persistent binding of %s waits for the device to appear",
                      b->address);
        }
      else if (!apply_persistent_binding (self, device))
        hdd_reconcile_examine_async (self->context, b->address, on_reconcile_examined, self);
    }

  g_signal_connect_object (self->jobs, "job-finished", G_CALLBACK (on_job_finished), self, 0);
  hdd_mdev_manager_start (self->mdevs);
  g_signal_connect_object (self->libvirt, "changed", G_CALLBACK (on_libvirt_changed), self, 0);
  g_signal_connect_object (self->libvirt, "qemu-event", G_CALLBACK (on_qemu_event), self, 0);
  hdd_libvirt_start (self->libvirt);
  adopt_pending_releases (self);
  /* Every object on the bus at once, once start-up made them: objects
   * exported one by one on a connection each sent InterfacesAdded, and
   * each property set during start-up PropertiesChanged (15,000 of each
   * at the start of a host of 10,000 devices and 5,000 mdevs).  Nobody
   * can ask before the name is taken, after this returns. */
  g_dbus_object_manager_server_set_connection (self->object_manager, self->connection);
  self->holders_watch = hdd_holders_watch_new (on_vfio_nodes_changed, self);
  self->holders_timer = g_timeout_add_seconds (hdd_holders_watch_is_active (self->holders_watch)
                                               ? HOLDERS_WATCHED_POLL_S : HOLDERS_POLL_S,
                                               on_holders_timer, self);
}
