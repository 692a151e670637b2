/* What the jobs that deal with guests (attach, unplug, detach,
 * release-pending) do differently for a PCI device and an mdev, as one
 * table per kind — the model is vfio's struct vfio_device_ops: the jobs call
 * through the table and never switch on the kind.  Every function may run
 * in a job's thread; none touches a D-Bus object. */
#pragma once

#include "hdd-hostdev-xml.h"
#include "hdd-job.h"
#include "hdd-mdevctl.h"
#include "hdd-store.h"

G_BEGIN_DECLS

/* What an attach changed to make the device usable by a guest, to undo. */
typedef struct {
  gboolean    bound;       /* moved to vfio-pci */
  HddBinding *previous;    /* the store entry before, or NULL */
  gboolean    created;     /* the mdev was created */
} HddDevicePrepared;

void hdd_device_prepared_clear (HddDevicePrepared *prepared);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (HddDevicePrepared, hdd_device_prepared_clear)

struct _HddDeviceKind
{
  HddHostdevKind hostdev;

  /* "0000:01:00.0", "mdev UUID": how steps and errors name the device. */
  char *(*describe) (const char *key);

  /* The key of hdd_context_lock() that serializes jobs on the device. */
  char *(*lock_key) (const char *key);

  /* Its VFIO nodes and the sysfs directory of its vfio-dev (release
   * state); fails with NotFound when there is nothing to release. */
  gboolean (*find_nodes) (const char *key,
                          GStrv      *nodes,
                          char      **release_state,
                          GError    **error);

  /* Makes the device usable by a guest (attach), recording in @prepared
   * what it changed; @definition: an mdev's, NULL for PCI devices. */
  gboolean (*prepare) (HddJob              *job,
                       HddContext          *context,
                       const char          *key,
                       const HddMdevConfig *definition,
                       HddDevicePrepared   *prepared,
                       GError             **error);
  void     (*unprepare) (HddJob            *job,
                         HddContext        *context,
                         const char        *key,
                         HddDevicePrepared *prepared);

  /* The model of its <hostdev> (libvirt's), NULL for the default. */
  char *(*hostdev_model) (const char *key);

  /* The release through the kernel that an unplug ends with: the unbind
   * back to the original driver, or the mdev's remove; blocks while the
   * device is held.  @done_text: how the step after it says where the
   * device went ("now on e1000e", "removed"). */
  gboolean (*release) (HddJob     *job,
                       HddContext *context,
                       const char *key,
                       char      **done_text,
                       GError    **error);

  /* The end of a release the kernel finished on its own (release-pending):
   * what the release above does after its write, taking the device's lock
   * where it needs it.  @released: what the step before it adds to "The
   * kernel released DEVICE" ("; it is removed"). */
  gboolean (*finish_release) (HddJob     *job,
                              HddContext *context,
                              const char *key,
                              GError    **error);
  const char *released;

  /* Where a device a guest let go of stays: "on vfio-pci " or "". */
  const char *stays;
};

/* The kind of @key: a canonical mdev UUID or a PCI address. */
const HddDeviceKind *hdd_device_kind_of_key (const char *key);

G_END_DECLS
