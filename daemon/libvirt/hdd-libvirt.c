#include "hdd-libvirt.h"

#include "hdd-error.h"
#include "hdd-libvirt-events.h"
#include "hdd-log.h"
#include "hdd-qemu-event.h"
#include "hdd-sysfs.h"

#include <libvirt/libvirt.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>

/* A burst of events (a domain starting with three hostdevs) becomes one
 * scan of the domains. */
#define RESCAN_DELAY_MS 100

enum {
  EVENT_LIFECYCLE,
  EVENT_DEVICE_ADDED,
  EVENT_DEVICE_REMOVED,
  EVENT_DEVICE_REMOVAL_FAILED,
  N_EVENTS
};

struct _HddLibvirtWatch
{
  HddLibvirt *libvirt;
  char       *uuid;
  char       *alias;
  guint       pending;    /* bit per HddLibvirtWatchOutcome */
  GCond       cond;       /* under the libvirt's lock */
};

struct _HddLibvirt
{
  GObject        parent;

  char          *uri;

  /* Shared with job threads. */
  GMutex         lock;
  virConnectPtr  conn;        /* NULL while not connected */
  GPtrArray     *watches;     /* HddLibvirtWatch, borrowed */

  /* Set by the thread that connects, then main context only. */
  int            callbacks[N_EVENTS];
  int            qemu_callback;  /* QMP events of hostdevd's QEMU; -1: none */
  /* Main context only. */
  gboolean       connecting;
  gboolean       reported_failure;
  guint          reconnect_source;
  guint          rescan_source;
  gboolean       scanning;
  gboolean       rescan;
  gboolean       scanned;     /* the domains were read since connecting */
  GHashTable    *by_key;      /* hostdev key -> domain name */
  GHashTable    *running;     /* domain names */
};

G_DEFINE_TYPE (HddLibvirt, hdd_libvirt, G_TYPE_OBJECT)

enum { SIGNAL_CHANGED, SIGNAL_QEMU_EVENT, N_SIGNALS };
static guint signals[N_SIGNALS];

static void disconnect (HddLibvirt *self);

void
hdd_domain_info_free (HddDomainInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info->uuid);
  g_clear_pointer (&info->hostdevs, g_ptr_array_unref);
  g_free (info);
}

/* libvirt prints every error on stderr unless told otherwise; hostdevd
 * reports them itself, in context. */
static void
ignore_error (void *data, virErrorPtr error)
{
}

static void
set_libvirt_error (GError **error, int code, const char *what)
{
  g_set_error (error, HDD_ERROR, code, "%s: %s", what, virGetLastErrorMessage ());
  virResetLastError ();
}

static void
hdd_libvirt_dispose (GObject *object)
{
  HddLibvirt *self = HDD_LIBVIRT (object);

  g_clear_handle_id (&self->reconnect_source, g_source_remove);
  g_clear_handle_id (&self->rescan_source, g_source_remove);
  disconnect (self);
  G_OBJECT_CLASS (hdd_libvirt_parent_class)->dispose (object);
}

static void
hdd_libvirt_finalize (GObject *object)
{
  HddLibvirt *self = HDD_LIBVIRT (object);

  g_free (self->uri);
  g_ptr_array_unref (self->watches);
  g_hash_table_unref (self->by_key);
  g_hash_table_unref (self->running);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (hdd_libvirt_parent_class)->finalize (object);
}

static void
hdd_libvirt_class_init (HddLibvirtClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = hdd_libvirt_dispose;
  G_OBJECT_CLASS (klass)->finalize = hdd_libvirt_finalize;
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_QEMU_EVENT] = g_signal_new ("qemu-event", G_TYPE_FROM_CLASS (klass),
                                             G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                             G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING,
                                             G_TYPE_STRING);
}

static void
hdd_libvirt_init (HddLibvirt *self)
{
  g_mutex_init (&self->lock);
  self->watches = g_ptr_array_new ();
  self->by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->running = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (int i = 0; i < N_EVENTS; i++)
    self->callbacks[i] = -1;
  self->qemu_callback = -1;
}

HddLibvirt *
hdd_libvirt_new (const char *uri)
{
  HddLibvirt *self = g_object_new (HDD_TYPE_LIBVIRT, NULL);

  if (uri == NULL || *uri == '\0')
    uri = g_getenv (HDD_LIBVIRT_URI_ENV);
  self->uri = g_strdup (uri && *uri ? uri : HDD_LIBVIRT_DEFAULT_URI);
  hdd_libvirt_events_register ();
  virSetErrorFunc (NULL, ignore_error);
  return self;
}

const char *
hdd_libvirt_get_uri (HddLibvirt *self)
{
  return self->uri;
}

gboolean
hdd_libvirt_is_connected (HddLibvirt *self)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  /* Connected, and the domains read once: before that, "no such domain"
   * would be a guess. */
  return self->conn != NULL && self->scanned;
}

const char *
hdd_libvirt_lookup_domain (HddLibvirt *self,
                           const char *key)
{
  return g_hash_table_lookup (self->by_key, key);
}

gboolean
hdd_libvirt_domain_is_running (HddLibvirt *self,
                               const char *name)
{
  return g_hash_table_contains (self->running, name);
}

/* A reference on the connection for a call from any thread, NULL with
 * @error set when there is none. */
static virConnectPtr
acquire (HddLibvirt *self, GError **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  if (self->conn == NULL)
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_NOT_SUPPORTED,
                   "Domains are unknown: hostdevd is not connected to libvirt (%s)", self->uri);
      return NULL;
    }
  virConnectRef (self->conn);
  return self->conn;
}

/* ---- Watches ---- */

static void
notify_watches (HddLibvirt *self, const char *uuid, const char *alias,
                HddLibvirtWatchOutcome outcome)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  for (guint i = 0; i < self->watches->len; i++)
    {
      HddLibvirtWatch *w = g_ptr_array_index (self->watches, i);

      if (uuid && g_strcmp0 (w->uuid, uuid) != 0)
        continue;
      if (alias && w->alias && !g_str_equal (w->alias, alias))
        continue;
      w->pending |= 1u << outcome;
      g_cond_broadcast (&w->cond);
    }
}

HddLibvirtWatch *
hdd_libvirt_watch_new (HddLibvirt *self,
                       const char *uuid,
                       const char *alias)
{
  HddLibvirtWatch *w = g_new0 (HddLibvirtWatch, 1);
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  w->libvirt = g_object_ref (self);
  w->uuid = g_strdup (uuid);
  w->alias = g_strdup (alias);
  g_cond_init (&w->cond);
  g_ptr_array_add (self->watches, w);
  return w;
}

HddLibvirtWatchOutcome
hdd_libvirt_watch_wait (HddLibvirtWatch *w,
                        gint64           until)
{
  /* The most telling first. */
  static const HddLibvirtWatchOutcome order[] = {
    HDD_LIBVIRT_WATCH_REMOVED, HDD_LIBVIRT_WATCH_REMOVAL_FAILED,
    HDD_LIBVIRT_WATCH_STOPPED, HDD_LIBVIRT_WATCH_DISCONNECTED,
  };
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&w->libvirt->lock);

  while (w->pending == 0)
    if (!g_cond_wait_until (&w->cond, &w->libvirt->lock, until))
      return HDD_LIBVIRT_WATCH_NOTHING;
  for (gsize i = 0; i < G_N_ELEMENTS (order); i++)
    if (w->pending & (1u << order[i]))
      {
        w->pending &= ~(1u << order[i]);
        return order[i];
      }
  g_return_val_if_reached (HDD_LIBVIRT_WATCH_NOTHING);
}

void
hdd_libvirt_watch_free (HddLibvirtWatch *w)
{
  HddLibvirt *self;

  if (w == NULL)
    return;
  self = w->libvirt;
  g_mutex_lock (&self->lock);
  g_ptr_array_remove (self->watches, w);
  g_mutex_unlock (&self->lock);
  g_cond_clear (&w->cond);
  g_free (w->uuid);
  g_free (w->alias);
  g_free (w);
  g_object_unref (self);
}

/* ---- Reading the domains (any thread) ---- */

static guint32
read_pid (const char *name)
{
  g_autofree char *path = hdd_sysfs_path ("/run/libvirt/qemu/%s.pid", name);
  guint64 pid = 0;

  if (!hdd_sysfs_read_uint (path, &pid, NULL) || pid > G_MAXUINT32)
    return 0;
  return (guint32) pid;
}

static HddDomainInfo *
read_domain (virDomainPtr dom)
{
  char uuid[VIR_UUID_STRING_BUFLEN];
  g_autoptr(HddDomainInfo) info = g_new0 (HddDomainInfo, 1);
  g_autoptr(GError) error = NULL;
  char *xml;

  /* The domain may stop between the listing and this: skip it then. */
  xml = virDomainGetXMLDesc (dom, 0);
  if (xml == NULL || virDomainGetUUIDString (dom, uuid) < 0)
    {
      free (xml);
      virResetLastError ();
      return NULL;
    }
  info->name = g_strdup (virDomainGetName (dom));
  info->uuid = g_strdup (uuid);
  info->pid = read_pid (info->name);
  info->hostdevs = hdd_hostdev_parse_domain (xml, &error);
  free (xml);
  if (info->hostdevs == NULL)
    {
      hdd_warning (NULL, 0, "Cannot read the devices of domain %s: %s", info->name, error->message);
      info->hostdevs = g_ptr_array_new_with_free_func ((GDestroyNotify) hdd_hostdev_free);
    }
  return g_steal_pointer (&info);
}

static GPtrArray *
list_domains (virConnectPtr conn, GError **error)
{
  GPtrArray *domains = g_ptr_array_new_with_free_func ((GDestroyNotify) hdd_domain_info_free);
  virDomainPtr *doms = NULL;
  int n = virConnectListAllDomains (conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);

  if (n < 0)
    {
      set_libvirt_error (error, HDD_ERROR_FAILED, "libvirt could not list the running domains");
      g_ptr_array_unref (domains);
      return NULL;
    }
  for (int i = 0; i < n; i++)
    {
      HddDomainInfo *info = read_domain (doms[i]);

      if (info)
        g_ptr_array_add (domains, info);
      virDomainFree (doms[i]);
    }
  free (doms);
  return domains;
}

HddDomainInfo *
hdd_libvirt_find_hostdev (HddLibvirt  *self,
                          const char  *key,
                          GError     **error)
{
  virConnectPtr conn = acquire (self, error);
  g_autoptr(GPtrArray) domains = NULL;

  if (conn == NULL)
    return NULL;
  domains = list_domains (conn, error);
  virConnectClose (conn);
  for (guint i = 0; domains && i < domains->len; i++)
    {
      HddDomainInfo *info = g_ptr_array_index (domains, i);

      if (hdd_hostdev_find (info->hostdevs, key))
        return g_ptr_array_steal_index (domains, i);
    }
  return NULL;
}

/* ---- Calls on one domain (any thread) ---- */

typedef int (*DomainCall) (virDomainPtr dom, const char *xml, unsigned int flags);

static gboolean
call_on_domain (HddLibvirt *self, const char *name, DomainCall call, const char *xml,
                unsigned int flags, const char *what, GError **error)
{
  virConnectPtr conn = acquire (self, error);
  virDomainPtr dom;
  int rc;

  if (conn == NULL)
    return FALSE;
  dom = virDomainLookupByName (conn, name);
  if (dom == NULL)
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_NOT_FOUND,
                   "libvirt has no domain named %s", name);
      virResetLastError ();
      virConnectClose (conn);
      return FALSE;
    }
  rc = call (dom, xml, flags);
  if (rc < 0)
    {
      g_autofree char *message = g_strdup_printf ("libvirt could not %s domain %s", what, name);
      set_libvirt_error (error, HDD_ERROR_FAILED, message);
    }
  virDomainFree (dom);
  virConnectClose (conn);
  return rc >= 0;
}

static unsigned int
affect (gboolean persistent)
{
  return VIR_DOMAIN_AFFECT_LIVE | (persistent ? VIR_DOMAIN_AFFECT_CONFIG : 0);
}

gboolean
hdd_libvirt_attach (HddLibvirt *self,
                    const char *name,
                    const char *xml,
                    gboolean    persistent,
                    GError    **error)
{
  return call_on_domain (self, name, virDomainAttachDeviceFlags, xml, affect (persistent),
                         "attach the device to", error);
}

gboolean
hdd_libvirt_detach (HddLibvirt *self,
                    const char *name,
                    const char *xml,
                    gboolean    persistent,
                    GError    **error)
{
  return call_on_domain (self, name, virDomainDetachDeviceFlags, xml, affect (persistent),
                         "detach the device from", error);
}

static int
destroy (virDomainPtr dom, const char *xml, unsigned int flags)
{
  return virDomainDestroy (dom);
}

gboolean
hdd_libvirt_destroy (HddLibvirt *self,
                     const char *name,
                     GError    **error)
{
  return call_on_domain (self, name, destroy, NULL, 0, "destroy", error);
}

/* ---- Keeping the view of the domains current (main context) ---- */

static void
scan_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  HddLibvirt *self = source;
  GError *error = NULL;
  virConnectPtr conn = acquire (self, &error);
  GPtrArray *domains;

  if (conn == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  domains = list_domains (conn, &error);
  virConnectClose (conn);
  if (domains)
    g_task_return_pointer (task, domains, (GDestroyNotify) g_ptr_array_unref);
  else
    g_task_return_error (task, error);
}

static gboolean same_table (GHashTable *a, GHashTable *b);
static void schedule_scan (HddLibvirt *self);

static void
on_scanned (GObject *source, GAsyncResult *res, gpointer user_data)
{
  HddLibvirt *self = HDD_LIBVIRT (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) domains = g_task_propagate_pointer (G_TASK (res), &error);
  g_autoptr(GHashTable) by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GHashTable) running = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gboolean changed;

  self->scanning = FALSE;
  if (domains == NULL)
    g_debug ("libvirt: no scan of the domains: %s", error->message);
  for (guint i = 0; domains && i < domains->len; i++)
    {
      HddDomainInfo *info = g_ptr_array_index (domains, i);

      g_hash_table_add (running, g_strdup (info->name));
      for (guint j = 0; j < info->hostdevs->len; j++)
        {
          HddHostdev *h = g_ptr_array_index (info->hostdevs, j);
          g_hash_table_replace (by_key, g_strdup (h->key), g_strdup (info->name));
        }
    }
  changed = !same_table (by_key, self->by_key) || !same_table (running, self->running);
  if (domains && !self->scanned)
    {
      self->scanned = TRUE;
      changed = TRUE;
    }
  g_hash_table_unref (self->by_key);
  self->by_key = g_steal_pointer (&by_key);
  g_hash_table_unref (self->running);
  self->running = g_steal_pointer (&running);
  if (changed)
    g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  if (self->rescan)
    {
      self->rescan = FALSE;
      schedule_scan (self);
    }
}

static gboolean
same_table (GHashTable *a, GHashTable *b)
{
  GHashTableIter iter;
  gpointer key, value;

  if (g_hash_table_size (a) != g_hash_table_size (b))
    return FALSE;
  g_hash_table_iter_init (&iter, a);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (!g_hash_table_contains (b, key) || g_strcmp0 (value, g_hash_table_lookup (b, key)) != 0)
      return FALSE;
  return TRUE;
}

static gboolean
start_scan (gpointer data)
{
  HddLibvirt *self = data;
  g_autoptr(GTask) task = g_task_new (self, NULL, on_scanned, NULL);

  self->rescan_source = 0;
  self->scanning = TRUE;
  g_task_run_in_thread (task, scan_thread);
  return G_SOURCE_REMOVE;
}

static void
schedule_scan (HddLibvirt *self)
{
  if (self->scanning)
    self->rescan = TRUE;
  else if (self->rescan_source == 0)
    self->rescan_source = g_timeout_add (RESCAN_DELAY_MS, start_scan, self);
}

/* ---- libvirt's events (main context) ---- */

static void
domain_uuid (virDomainPtr dom, char uuid[VIR_UUID_STRING_BUFLEN])
{
  if (virDomainGetUUIDString (dom, uuid) < 0)
    uuid[0] = '\0';
}

static int
on_lifecycle (virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
  HddLibvirt *self = opaque;
  char uuid[VIR_UUID_STRING_BUFLEN];

  domain_uuid (dom, uuid);
  g_debug ("libvirt: domain %s: lifecycle event %d (%d)", virDomainGetName (dom), event, detail);
  if (event == VIR_DOMAIN_EVENT_STOPPED)
    notify_watches (self, uuid, NULL, HDD_LIBVIRT_WATCH_STOPPED);
  schedule_scan (self);
  return 0;
}

static void
on_device_added (virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque)
{
  g_debug ("libvirt: domain %s: device %s added", virDomainGetName (dom), alias);
  schedule_scan (opaque);
}

static void
on_device_removed (virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque)
{
  char uuid[VIR_UUID_STRING_BUFLEN];

  domain_uuid (dom, uuid);
  g_debug ("libvirt: domain %s: device %s removed", virDomainGetName (dom), alias);
  notify_watches (opaque, uuid, alias, HDD_LIBVIRT_WATCH_REMOVED);
  schedule_scan (opaque);
}

static void
on_device_removal_failed (virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque)
{
  char uuid[VIR_UUID_STRING_BUFLEN];

  domain_uuid (dom, uuid);
  g_debug ("libvirt: domain %s: removal of device %s failed", virDomainGetName (dom), alias);
  notify_watches (opaque, uuid, alias, HDD_LIBVIRT_WATCH_REMOVAL_FAILED);
}

/* A QMP event of a domain's QEMU, passed through by libvirt (main
 * context, like the others). */
static void
on_qemu_event (virConnectPtr conn, virDomainPtr dom, const char *event, long long seconds,
               unsigned int micros, const char *details, void *opaque)
{
  g_debug ("libvirt: domain %s: QEMU event %s %s", virDomainGetName (dom), event,
           details ? details : "");
  g_signal_emit (opaque, signals[SIGNAL_QEMU_EVENT], 0, virDomainGetName (dom), event, details);
}

/* ---- The connection (main context) ---- */

static gboolean try_connect (gpointer data);

static void
schedule_reconnect (HddLibvirt *self)
{
  if (self->reconnect_source == 0)
    self->reconnect_source = g_timeout_add_seconds (HDD_LIBVIRT_RECONNECT_S, try_connect, self);
}

static void on_close (virConnectPtr conn, int reason, void *opaque);

static void
disconnect (HddLibvirt *self)
{
  virConnectPtr conn;

  g_mutex_lock (&self->lock);
  conn = g_steal_pointer (&self->conn);
  g_mutex_unlock (&self->lock);
  if (conn == NULL)
    return;
  notify_watches (self, NULL, NULL, HDD_LIBVIRT_WATCH_DISCONNECTED);
  for (int i = 0; i < N_EVENTS; i++)
    if (self->callbacks[i] >= 0)
      {
        virConnectDomainEventDeregisterAny (conn, self->callbacks[i]);
        self->callbacks[i] = -1;
      }
  if (self->qemu_callback >= 0)
    virConnectDomainQemuMonitorEventDeregister (conn, self->qemu_callback);
  self->qemu_callback = -1;
  virConnectUnregisterCloseCallback (conn, on_close);
  virResetLastError ();
  virConnectClose (conn);
}

static gboolean
on_closed_idle (gpointer data)
{
  HddLibvirt *self = data;

  hdd_warning (NULL, 0, "The connection to libvirt (%s) was closed; domains are unknown "
               "until it is back (trying every %d s)", self->uri, HDD_LIBVIRT_RECONNECT_S);
  disconnect (self);
  self->scanned = FALSE;
  g_hash_table_remove_all (self->by_key);
  g_hash_table_remove_all (self->running);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  self->reported_failure = TRUE;
  schedule_reconnect (self);
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

/* Called by libvirt, possibly with its locks held: the teardown waits for
 * the main loop. */
static void
on_close (virConnectPtr conn, int reason, void *opaque)
{
  HddLibvirt *self = opaque;

  g_debug ("libvirt: connection closed (reason %d)", reason);
  g_idle_add (on_closed_idle, g_object_ref (self));
}

static void
register_events (HddLibvirt *self, virConnectPtr conn)
{
  static const struct {
    int id;
    virConnectDomainEventGenericCallback cb;
  } events[N_EVENTS] = {
    [EVENT_LIFECYCLE] = { VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK (on_lifecycle) },
    [EVENT_DEVICE_ADDED] = { VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
                             VIR_DOMAIN_EVENT_CALLBACK (on_device_added) },
    [EVENT_DEVICE_REMOVED] = { VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
                               VIR_DOMAIN_EVENT_CALLBACK (on_device_removed) },
    [EVENT_DEVICE_REMOVAL_FAILED] = { VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED,
                                      VIR_DOMAIN_EVENT_CALLBACK (on_device_removal_failed) },
  };

  for (int i = 0; i < N_EVENTS; i++)
    {
      self->callbacks[i] = virConnectDomainEventRegisterAny (conn, NULL, events[i].id,
                                                             events[i].cb, self, NULL);
      if (self->callbacks[i] < 0)
        {
          hdd_warning (NULL, 0, "libvirt (%s) will not report domain event %d: %s",
                       self->uri, events[i].id, virGetLastErrorMessage ());
          virResetLastError ();
        }
    }
  /* The QMP events of hostdevd's QEMU series: only the QEMU driver has
   * monitor events, other drivers fail, and a stock QEMU never sends them. */
  self->qemu_callback =
    virConnectDomainQemuMonitorEventRegister (conn, NULL, HDD_QEMU_EVENT_REGEX, on_qemu_event,
                                              self, NULL,
                                              VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_REGEX);
  if (self->qemu_callback < 0)
    {
      g_debug ("libvirt (%s) will not pass QEMU's events on: %s", self->uri,
               virGetLastErrorMessage ());
      virResetLastError ();
    }
  /* Only the remote driver has these; the others fail, harmlessly.  The
   * keepalive notices a libvirtd that hangs, the close callback one that
   * went away. */
  if (virConnectRegisterCloseCallback (conn, on_close, self, NULL) < 0)
    virResetLastError ();
  if (virConnectSetKeepAlive (conn, 5, 3) < 0)
    virResetLastError ();
}

/* The registrations are calls to libvirtd too: made here, so that a
 * libvirtd that hangs never stops the main loop (and its watchdog). */
static void
connect_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  virConnectPtr conn = virConnectOpen (data);

  if (conn == NULL)
    {
      g_task_return_new_error (task, HDD_ERROR, HDD_ERROR_FAILED, "%s", virGetLastErrorMessage ());
      virResetLastError ();
      return;
    }
  register_events (source, conn);
  g_task_return_pointer (task, conn, (GDestroyNotify) virConnectClose);
}

static void
on_connected (GObject *source, GAsyncResult *res, gpointer user_data)
{
  HddLibvirt *self = HDD_LIBVIRT (source);
  g_autoptr(GError) error = NULL;
  virConnectPtr conn = g_task_propagate_pointer (G_TASK (res), &error);

  self->connecting = FALSE;
  if (conn == NULL)
    {
      if (!self->reported_failure)
        hdd_message (NULL, 0, "libvirt (%s) is not reachable: %s; domains are unknown until "
                     "it is (trying every %d s)", self->uri, error->message,
                     HDD_LIBVIRT_RECONNECT_S);
      self->reported_failure = TRUE;
      schedule_reconnect (self);
      return;
    }
  self->reported_failure = FALSE;
  g_mutex_lock (&self->lock);
  self->conn = conn;
  g_mutex_unlock (&self->lock);
  hdd_message (NULL, 0, "Connected to libvirt (%s)", self->uri);
  /* "changed" comes with the first scan. */
  schedule_scan (self);
}

static gboolean
try_connect (gpointer data)
{
  HddLibvirt *self = data;
  g_autoptr(GTask) task = NULL;

  self->reconnect_source = 0;
  if (self->connecting || hdd_libvirt_is_connected (self))
    return G_SOURCE_REMOVE;
  self->connecting = TRUE;
  task = g_task_new (self, NULL, on_connected, NULL);
  g_task_set_task_data (task, g_strdup (self->uri), g_free);
  g_task_run_in_thread (task, connect_thread);
  return G_SOURCE_REMOVE;
}

void
hdd_libvirt_start (HddLibvirt *self)
{
  try_connect (self);
}
