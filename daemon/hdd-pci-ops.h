/* The jobs that move PCI devices between drivers. */
#pragma once

#include "hdd-manager.h"

G_BEGIN_DECLS

typedef enum {
  HDD_BIND_FLAGS_NONE = 0,
  HDD_BIND_WHOLE_GROUP = 1 << 0,  /* move the group's host-bound members too */
  HDD_BIND_PERSIST = 1 << 1,      /* record the binding as persistent */
  HDD_BIND_APPLY = 1 << 2,        /* re-applying persistent bindings: move only
                                     members that are persistent themselves */
} HddBindFlags;

HddJob *hdd_pci_ops_start_bind (HddManager            *manager,
                                HddPciDevice          *device,
                                HddBindFlags           flags,
                                GDBusMethodInvocation *invocation);

HddJob *hdd_pci_ops_start_restore (HddManager            *manager,
                                   HddPciDevice          *device,
                                   GDBusMethodInvocation *invocation);

/* The binding of a bind job, for another job that holds the lock of the
 * device's IOMMU group already: checks the group, records the original
 * driver in the store, binds, rolls back what it moved on failure. */
gboolean hdd_pci_ops_bind_locked (HddManager  *manager,
                                  HddJob      *job,
                                  const char  *address,
                                  HddBindFlags flags,
                                  GError     **error);

/* The lock key of @address: its IOMMU group, or the address itself when it
 * has none. */
char *hdd_pci_ops_lock_key (const char *address);

G_END_DECLS
