/* The daemon's root object: exports org.hostdevd1.Manager, one PciDevice
 * object per PCI device (kept current through GUdev uevents), and the Jobs;
 * owns the store, the authority and the per-IOMMU-group locks. */
#pragma once

#include "hdd-authority.h"
#include "hdd-dbus-generated.h"
#include "hdd-job.h"
#include "hdd-pci-device.h"
#include "hdd-store.h"

G_BEGIN_DECLS

#define HDD_TYPE_MANAGER (hdd_manager_get_type ())
G_DECLARE_FINAL_TYPE (HddManager, hdd_manager, HDD, MANAGER, HddDbusManagerSkeleton)

HddManager *hdd_manager_new (GDBusConnection *connection,
                             HddStore        *store);

/* Exports the objects, enumerates devices and applies persistent bindings. */
void hdd_manager_start (HddManager *self);

HddStore     *hdd_manager_get_store     (HddManager *self);
HddAuthority *hdd_manager_get_authority (HddManager *self);

/* @address must be canonical. */
HddPciDevice *hdd_manager_lookup_device (HddManager *self,
                                         const char *address);

/* Creates, exports and starts a job in its own thread on behalf of the
 * sender of @invocation (NULL: the daemon itself).  Returns a borrowed
 * pointer. */
HddJob *hdd_manager_start_job (HddManager            *self,
                               const char            *operation,
                               HddPciDevice          *device,
                               GDBusMethodInvocation *invocation,
                               HddJobFunc             func,
                               gpointer               data,
                               GDestroyNotify         destroy);

/* --- From a job's thread --- */

/* Waits, with the job queued, until no other job holds @key (an IOMMU
 * group), then takes it.  Fails when the job is cancelled meanwhile. */
gboolean hdd_manager_lock   (HddManager *self,
                             HddJob     *job,
                             const char *key,
                             GError    **error);
void     hdd_manager_unlock (HddManager *self,
                             const char *key);

G_END_DECLS
