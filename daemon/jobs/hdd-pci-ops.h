/* The jobs that move PCI devices between drivers: bind to vfio-pci (the
 * device, or its whole IOMMU group) and restore to the host driver, each
 * under the lock of the device's IOMMU group, recording in the store before
 * sysfs is touched and rolling back what it moved when the kernel refuses. */
#pragma once

#include "hdd-job.h"

G_BEGIN_DECLS

typedef enum {
  HDD_BIND_FLAGS_NONE = 0,
  HDD_BIND_WHOLE_GROUP = 1 << 0,  /* move the group's host-bound members too */
  HDD_BIND_PERSIST = 1 << 1,      /* record the binding as persistent */
  HDD_BIND_APPLY = 1 << 2,        /* re-applying persistent bindings: move only
                                     members that are persistent themselves */
} HddBindFlags;

/* The "bind-vfio" job of the device at @address (canonical). */
HddJobWork hdd_pci_ops_bind (HddContext  *context,
                             const char  *address,
                             HddBindFlags flags);

/* The "restore" job: back to the original driver, the binding forgotten. */
HddJobWork hdd_pci_ops_restore (HddContext *context,
                                const char *address);

/* The binding of a bind job, for another job that holds the lock of the
 * device's IOMMU group already: checks the group, records the original
 * driver in the store, binds, rolls back what it moved on failure. */
gboolean hdd_pci_ops_bind_locked (HddContext  *context,
                                  HddJob      *job,
                                  const char  *address,
                                  HddBindFlags flags,
                                  GError     **error);

/* The lock key of @address: its IOMMU group, or the address itself when it
 * has none. */
char *hdd_pci_ops_lock_key (const char *address);

G_END_DECLS
