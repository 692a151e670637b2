/* The daemon's root object: exports org.hostdevd1.Manager, one PciDevice
 * object per PCI device (kept current through GUdev uevents), and the Jobs;
 * owns the store, the authority and the per-IOMMU-group locks. */
#pragma once

#include "hdd-authority.h"
#include "hdd-dbus-generated.h"
#include "hdd-job.h"
#include "hdd-libvirt.h"
#include "hdd-mdev-manager.h"
#include "hdd-pci-device.h"
#include "hdd-store.h"

G_BEGIN_DECLS

#define HDD_TYPE_MANAGER (hdd_manager_get_type ())
G_DECLARE_FINAL_TYPE (HddManager, hdd_manager, HDD, MANAGER, HddDbusManagerSkeleton)

/* @mdev_directory: where mdev definitions live (mdevctl's format). */
HddManager *hdd_manager_new (GDBusConnection *connection,
                             HddStore        *store,
                             const char      *mdev_directory);

/* Exports the objects, enumerates devices and applies persistent bindings. */
void hdd_manager_start (HddManager *self);

/* Stops taking work: cancels the jobs that can still be cancelled (they
 * roll back), cancels any job started from now on before it runs, and
 * calls @done on the main context once every job has ended.  The objects
 * stay on the bus meanwhile. */
void hdd_manager_stop (HddManager *self,
                       GSourceFunc done,
                       gpointer    user_data);

HddContext   *hdd_manager_get_context   (HddManager *self);
HddAuthority *hdd_manager_get_authority (HddManager *self);
HddMdevManager *hdd_manager_get_mdevs   (HddManager *self);

/* Exports @iface on an object of its own at @path / unexports it. */
void hdd_manager_export   (HddManager             *self,
                           const char             *path,
                           GDBusInterfaceSkeleton *iface);
void hdd_manager_unexport (HddManager *self,
                           const char *path);

/* @address must be canonical. */
HddPciDevice *hdd_manager_lookup_device (HddManager *self,
                                         const char *address);

/* Creates, exports and starts @work (taken) as a job in its own thread on
 * behalf of the sender of @invocation (NULL: the daemon itself) on the
 * object at @object_path; @subject names it in the log.  Returns a
 * borrowed pointer. */
HddJob *hdd_manager_start_job_for (HddManager            *self,
                                   const char            *object_path,
                                   const char            *subject,
                                   GDBusMethodInvocation *invocation,
                                   HddJobWork             work);

/* The same on a PCI device, whose ActiveJob it becomes. */
HddJob *hdd_manager_start_job (HddManager            *self,
                               HddPciDevice          *device,
                               GDBusMethodInvocation *invocation,
                               HddJobWork             work);

G_END_DECLS
