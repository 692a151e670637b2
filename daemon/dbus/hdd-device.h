/* What a PCI device and an mdev object share (power-profiles-daemon's
 * driver base class is the model): the domain methods (Unplug,
 * AttachToDomain, DetachFromDomain), the job table and the holders scan
 * use this interface and never switch on the type.  Main context only. */
#pragma once

#include "hdd-mdevctl.h"
#include "hdd-types.h"

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _HddJobTable HddJobTable;

/* What every device object is given at construction instead of a pointer
 * to its parent: borrowed, alive as long as the daemon. */
typedef struct {
  HddContext   *context;
  HddAuthority *authority;
  HddJobTable  *jobs;
} HddDeviceServices;

#define HDD_TYPE_DEVICE (hdd_device_get_type ())
G_DECLARE_INTERFACE (HddDevice, hdd_device, HDD, DEVICE, GObject)

struct _HddDeviceInterface
{
  GTypeInterface parent;

  const char *(*get_key)         (HddDevice *self);  /* PCI address or mdev UUID */
  const char *(*get_object_path) (HddDevice *self);
  const char *(*get_domain)      (HddDevice *self);  /* "" when none */
  const char *(*get_active_job)  (HddDevice *self);  /* "/" when none */
  void        (*set_active_job)  (HddDevice  *self,
                                  const char *path);
  const HddDeviceServices *(*get_services) (HddDevice *self);

  /* What Unplug and AttachToDomain need the device to be, checked in the
   * call and again once the caller is authorized. */
  gboolean (*check_unplug) (HddDevice *self,
                            GError   **error);
  gboolean (*check_attach) (HddDevice *self,
                            GError   **error);

  /* An mdev's definition (attach creates it from it); NULL for others. */
  const HddMdevConfig *(*get_definition) (HddDevice *self);
};

const char *hdd_device_get_key         (HddDevice *self);
const char *hdd_device_get_object_path (HddDevice *self);
const char *hdd_device_get_domain      (HddDevice *self);
const char *hdd_device_get_active_job  (HddDevice *self);
void        hdd_device_set_active_job  (HddDevice  *self,
                                        const char *path);
const HddDeviceServices *hdd_device_get_services (HddDevice *self);
gboolean    hdd_device_check_unplug    (HddDevice *self,
                                        GError   **error);
gboolean    hdd_device_check_attach    (HddDevice *self,
                                        GError   **error);
const HddMdevConfig *hdd_device_get_definition (HddDevice *self);

/* "0000:01:00.0", "mdev UUID": how messages name it. */
char *hdd_device_describe (HddDevice *self);

/* Whether a job works on the device. */
gboolean hdd_device_is_busy (HddDevice *self);

G_END_DECLS
