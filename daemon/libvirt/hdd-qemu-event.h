/* What QEMU says about a VFIO device the host wants back, from the QMP
 * events of hostdevd's QEMU series (qemu-patches/): VFIO_DEVICE_REQUEST
 * for every request of the host kernel, VFIO_DEVICE_UNPLUG_FAILED when
 * QEMU could not start the unplug that the request asked for,
 * VFIO_DEVICE_REVOKED when the host revoked the device and what QEMU did
 * with it (a surprise removal, or a dead device in the guest).  libvirt
 * forwards them (virConnectDomainQemuMonitorEventRegister) as the event's
 * name and its "data" member as JSON text; this turns them into what the
 * jobs show. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Bounds on an event's data, checked before json-glib parses it (see
 * hdd-json.h): the data of the VFIO events is one flat object of a few
 * hundred bytes; the bounds leave room for members a later QEMU adds and
 * refuse what could exhaust the daemon's memory or stack. */
#define HDD_QEMU_EVENT_MAX_SIZE  (64 * 1024)
#define HDD_QEMU_EVENT_MAX_DEPTH 32

/* The events hostdevd listens for, as a libvirt regex. */
#define HDD_QEMU_EVENT_REGEX "^VFIO_DEVICE_(REQUEST|UNPLUG_FAILED|REVOKED)$"

typedef enum {
  HDD_QEMU_EVENT_REQUEST,        /* VFIO_DEVICE_REQUEST */
  HDD_QEMU_EVENT_UNPLUG_FAILED,  /* VFIO_DEVICE_UNPLUG_FAILED */
  HDD_QEMU_EVENT_REVOKED,        /* VFIO_DEVICE_REVOKED */
} HddQemuEventKind;

typedef struct {
  HddQemuEventKind kind;
  char            *key;       /* the device: canonical PCI address or mdev UUID */
  char            *device;    /* QEMU's device id ("hostdev0"), the QOM path without one */
  guint            count;     /* the host's request number (0 for REVOKED) */
  gboolean         pending;   /* REQUEST: an unplug was pending, the guest was not asked */
  char            *reason;    /* UNPLUG_FAILED: why; REVOKED: why the device stays, or NULL */
  char            *action;    /* REVOKED: "surprise-removal", "dead-device" or what a later
                               * QEMU says */
} HddQemuEvent;

void hdd_qemu_event_free (HddQemuEvent *event);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HddQemuEvent, hdd_qemu_event_free)

/* Parses @name and @details (the event's data as JSON).  Fails with
 * HDD_ERROR_INVALID_ARGUMENT for another event, data larger than
 * HDD_QEMU_EVENT_MAX_SIZE or nested deeper than HDD_QEMU_EVENT_MAX_DEPTH or
 * with a NUL in a string, data that is not what the series sends, or a
 * sysfsdev that is neither a PCI device nor an mdev. */
HddQemuEvent *hdd_qemu_event_parse (const char  *name,
                                    const char  *details,
                                    GError     **error);

/* One line for a job's steps and the journal:
 * "QEMU of domain l2 got the host's request 1 for hostdev0". */
char *hdd_qemu_event_describe (const HddQemuEvent *event,
                               const char         *domain);

G_END_DECLS
