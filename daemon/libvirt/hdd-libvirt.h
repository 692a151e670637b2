/* hostdevd's connection to libvirt: which running domain uses which device,
 * and the calls the jobs make (attach, detach, destroy) with the events
 * they wait for (device removed, removal failed, domain stopped).
 *
 * The URI is $HOSTDEVD_LIBVIRT_URI, else qemu:///system (the integration
 * tests use libvirt's test driver, test:///PATH.xml).  The daemon works
 * without libvirt: until a connection succeeds domains are unknown, and
 * it tries again every few seconds; when libvirtd goes away (a restart) the
 * close callback notices and it reconnects.  Events arrive in the main
 * loop (hdd-libvirt-events.c); the domains' live XML is read in a thread,
 * again after every lifecycle and device event.
 *
 * Functions marked "any thread" make libvirt calls and may block: the jobs
 * call them from their own thread, never the main loop. */
#pragma once

#include "hdd-hostdev-xml.h"

#include <gio/gio.h>

G_BEGIN_DECLS

#define HDD_LIBVIRT_URI_ENV     "HOSTDEVD_LIBVIRT_URI"
#define HDD_LIBVIRT_DEFAULT_URI "qemu:///system"
/* How often an unreachable libvirt is tried again. */
#define HDD_LIBVIRT_RECONNECT_S 5

#define HDD_TYPE_LIBVIRT (hdd_libvirt_get_type ())
G_DECLARE_FINAL_TYPE (HddLibvirt, hdd_libvirt, HDD, LIBVIRT, GObject)

/* A running domain and its subsystem hostdevs. */
typedef struct {
  char      *name;
  char      *uuid;
  guint32    pid;        /* QEMU's, from libvirt's pid file; 0 when unknown */
  GPtrArray *hostdevs;   /* of HddHostdev */
} HddDomainInfo;

void hdd_domain_info_free (HddDomainInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HddDomainInfo, hdd_domain_info_free)

/* @uri NULL: $HOSTDEVD_LIBVIRT_URI, else qemu:///system. */
HddLibvirt *hdd_libvirt_new (const char *uri);

/* Connects (in a thread) and keeps connected. */
void hdd_libvirt_start (HddLibvirt *self);

/* ---- Main context ---- */

const char *hdd_libvirt_get_uri       (HddLibvirt *self);
/* Connected, and the running domains read at least once. */
gboolean    hdd_libvirt_is_connected  (HddLibvirt *self);

/* The running domain whose live XML has a hostdev for @key (a canonical
 * PCI address or mdev UUID), as of the last scan; NULL when none or while
 * domains are unknown. */
const char *hdd_libvirt_lookup_domain (HddLibvirt *self,
                                       const char *key);

/* Whether @name is a running domain, as of the last scan. */
gboolean    hdd_libvirt_domain_is_running (HddLibvirt *self,
                                           const char *name);

/* Signal "changed": the connection came or went, or the last scan found
 * the hostdevs of the running domains changed.
 * Signal "qemu-event" (domain name, event name, details as JSON text): a
 * QMP event of hdd-qemu-event.h's kinds from a domain's QEMU. */

/* ---- Any thread ---- */

/* The running domain that has a hostdev for @key, read from libvirt now.
 * NULL without @error set when none has; NULL with @error set when libvirt
 * cannot say (not connected, a call failed). */
HddDomainInfo *hdd_libvirt_find_hostdev (HddLibvirt  *self,
                                         const char  *key,
                                         GError     **error);

/* virDomainAttachDeviceFlags / virDomainDetachDeviceFlags with @xml on the
 * running domain @name, live, and with @persistent also its persistent
 * definition.  A detach returns once libvirt asked the guest: the removal
 * itself is reported by a watch (below). */
gboolean hdd_libvirt_attach (HddLibvirt *self,
                             const char *name,
                             const char *xml,
                             gboolean    persistent,
                             GError    **error);
gboolean hdd_libvirt_detach (HddLibvirt *self,
                             const char *name,
                             const char *xml,
                             gboolean    persistent,
                             GError    **error);

/* virDomainDestroy: the guest's QEMU is killed, its devices are free. */
gboolean hdd_libvirt_destroy (HddLibvirt *self,
                              const char *name,
                              GError    **error);

typedef enum {
  HDD_LIBVIRT_WATCH_NOTHING,         /* nothing happened before the timeout */
  HDD_LIBVIRT_WATCH_REMOVED,         /* DEVICE_REMOVED of the alias */
  HDD_LIBVIRT_WATCH_REMOVAL_FAILED,  /* DEVICE_REMOVAL_FAILED of the alias */
  HDD_LIBVIRT_WATCH_STOPPED,         /* the domain stopped */
  HDD_LIBVIRT_WATCH_DISCONNECTED,    /* the connection to libvirt was lost */
} HddLibvirtWatchOutcome;

typedef struct _HddLibvirtWatch HddLibvirtWatch;

/* Watches the device @alias (NULL: any device) of domain @uuid.  Made
 * before the detach, so that an event that comes at once is not missed. */
HddLibvirtWatch *hdd_libvirt_watch_new (HddLibvirt *self,
                                        const char *uuid,
                                        const char *alias);

/* Waits until something happened to the watched device or
 * g_get_monotonic_time() reaches @until; each outcome is returned once. */
HddLibvirtWatchOutcome hdd_libvirt_watch_wait (HddLibvirtWatch *watch,
                                               gint64           until);

void hdd_libvirt_watch_free (HddLibvirtWatch *watch);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HddLibvirtWatch, hdd_libvirt_watch_free)

G_END_DECLS
