/* The mdev half of the daemon: one MdevType object per type each parent
 * offers, one Mdev object per mdev that runs or is defined, kept current
 * through GUdev uevents; the definitions directory (mdevctl's format); the
 * autostart of "start": "auto" definitions at start-up and whenever their
 * parent appears; and the Manager's mdev methods.  Owned by HddManager,
 * main context only. */
#pragma once

#include "hdd-device.h"
#include "hdd-dbus-generated.h"

G_BEGIN_DECLS

#define HDD_TYPE_MDEV_MANAGER (hdd_mdev_manager_get_type ())
G_DECLARE_FINAL_TYPE (HddMdevManager, hdd_mdev_manager, HDD, MDEV_MANAGER, GObject)

/* How long a parent that appeared may take to offer its types before the
 * definitions waiting for them are given up (until it appears again). */
#define HDD_MDEV_AUTOSTART_TIMEOUT_MS 10000
#define HDD_MDEV_AUTOSTART_RETRY_MS   500

/* @services, @object_manager (where it exports its objects) and @libvirt
 * are the manager's; @directory: of the definitions. */
HddMdevManager *hdd_mdev_manager_new (const HddDeviceServices  *services,
                                      GDBusObjectManagerServer *object_manager,
                                      HddLibvirt               *libvirt,
                                      const char               *directory);

/* Exports the types and mdevs, listens to uevents, starts autostart
 * definitions. */
void hdd_mdev_manager_start (HddMdevManager *self);

const char *hdd_mdev_manager_get_directory (HddMdevManager *self);

/* The holders scan: whether an mdev has a VFIO node at all, and the
 * holders found (an index of hdd_holders_index_by_node()). */
gboolean hdd_mdev_manager_has_vfio_node (HddMdevManager *self);
void     hdd_mdev_manager_set_holders   (HddMdevManager *self,
                                         GHashTable     *index);

/* Sets the Domain of every mdev to what libvirt's last scan says. */
void hdd_mdev_manager_update_domains (HddMdevManager *self);

/* org.hostdevd1.Manager methods, on behalf of the manager (@iface). */
gboolean hdd_mdev_manager_handle_get_mdev (HddMdevManager        *self,
                                           HddDbusManager        *iface,
                                           GDBusMethodInvocation *invocation,
                                           const char            *uuid,
                                           GVariant              *options);
gboolean hdd_mdev_manager_handle_create   (HddMdevManager        *self,
                                           HddDbusManager        *iface,
                                           GDBusMethodInvocation *invocation,
                                           const char            *parent,
                                           const char            *type,
                                           const char            *uuid,
                                           GVariant              *attributes,
                                           GVariant              *options);
gboolean hdd_mdev_manager_handle_define   (HddMdevManager        *self,
                                           HddDbusManager        *iface,
                                           GDBusMethodInvocation *invocation,
                                           const char            *parent,
                                           const char            *type,
                                           const char            *uuid,
                                           GVariant              *attributes,
                                           GVariant              *options);

G_END_DECLS
