/* The daemon's root object: exports org.hostdevd1.Manager, one PciDevice
 * object per PCI device (kept current through GUdev uevents), and the Jobs;
 * owns the store, the authority and the per-IOMMU-group locks. */
#pragma once

#include "hdd-dbus-generated.h"
#include "hdd-types.h"

G_BEGIN_DECLS

#define HDD_TYPE_MANAGER (hdd_manager_get_type ())
G_DECLARE_FINAL_TYPE (HddManager, hdd_manager, HDD, MANAGER, HddDbusManagerSkeleton)

/* @authority: who may do what (the manager keeps a reference);
 * @mdev_directory: where mdev definitions live (mdevctl's format). */
HddManager *hdd_manager_new (GDBusConnection *connection,
                             HddStore        *store,
                             HddAuthority    *authority,
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

/* @address must be canonical. */
HddPciDevice *hdd_manager_lookup_device (HddManager *self,
                                         const char *address);

G_END_DECLS
