/* The jobs that create and remove mdevs.
 *
 * Create writes the UUID to the type's "create", then each attribute in
 * order to the mdev's sysfs directory, as mdevctl does; when anything fails
 * it removes the mdev again, so that nothing is left half-created.  Remove
 * writes 1 to the mdev's "remove", which blocks in the kernel for as long
 * as a process holds the device: the job then waits, showing the holders
 * and the release requests the kernel sent. */
#pragma once

#include "hdd-job.h"
#include "hdd-mdevctl.h"

G_BEGIN_DECLS

/* What a create needs from the kernel, checked in the method call (so the
 * caller hears at once) and again in the job: the parent and the type exist
 * (NotFound), the UUID is not running (AlreadyExists), an instance is left
 * (Busy). */
gboolean hdd_mdev_ops_check_create (const HddMdevConfig *config,
                                    GError             **error);

/* The job that creates the mdev @config says; @operation (a static
 * string): "create-mdev", "start-mdev". */
HddJobWork hdd_mdev_ops_create (HddContext          *context,
                                const HddMdevConfig *config,
                                const char          *operation);

/* The job that removes the running mdev @uuid; @operation: "remove-mdev",
 * "stop-mdev". */
HddJobWork hdd_mdev_ops_remove (HddContext *context,
                                const char *uuid,
                                const char *operation);

/* For another job that holds the mdev's lock (hdd_mdev_ops_lock_key):
 * the work of the create and remove jobs. */
gboolean hdd_mdev_ops_create_locked (HddJob              *job,
                                     const HddMdevConfig *config,
                                     GError             **error);
gboolean hdd_mdev_ops_remove_locked (HddJob     *job,
                                     const char *uuid,
                                     GError    **error);

/* The key of hdd_context_lock() for the mdev @uuid. */
char *hdd_mdev_ops_lock_key (const char *uuid);

/* How long the mdev may take to appear or go once the kernel accepted the
 * write. */
#define HDD_MDEV_SETTLE_TIMEOUT_MS 5000

G_END_DECLS
