/* The connection to hostdevd, looking up its devices, mdevs and jobs, and
 * the options every method call carries. */
#pragma once

#include <gio/gio.h>

#include "hdd-dbus-generated.h"

G_BEGIN_DECLS

/* The end of a job (its Completed signal): hdc_client_on_job_ended(). */
typedef void (*HdcJobEndedFunc) (const char *path,
                                 gboolean    success,
                                 const char *message,
                                 gpointer    user_data);

typedef struct {
  GDBusConnection    *connection;
  HddDbusManager     *manager;         /* /org/hostdevd1 for calls: no properties */
  HddDbusManager     *manager_full;    /* ... with its properties: only once asked for */
  char               *owner;           /* the daemon's unique name, from its Ping */
  guint               owner_watch;     /* NameOwnerChanged of owner: it left */
  gboolean            daemon_left;     /* ... seen */
  GMainLoop          *waiting;         /* quit when it is (borrowed) */
  GDBusObjectManager *object_manager;  /* every object: only once asked for */
  guint               job_changes;     /* PropertiesChanged of the daemon's jobs */
  guint               job_ends;        /* Completed of the daemon's jobs */
  HddDbusJob         *followed;        /* where they go (borrowed) */
  GHashTable         *ended;           /* jobs whose Completed came before they were followed */
  gboolean            ended_lost;      /* ... more than kept */
  HdcJobEndedFunc     ended_func;      /* told of the others' ends, when set */
  gpointer            ended_data;
} HdcClient;

/* Connects to hostdevd on the system bus, starting it through D-Bus
 * activation if needed.  Fails with a sentence that says so plainly when the
 * bus or the daemon is not there.  A command that acts on one object costs
 * a few round trips, however many objects the daemon has: the object
 * manager, which downloads them all, is made only for the commands that
 * list or follow everything (hdc_client_get_object_manager). */
HdcClient *hdc_client_new (GError **error);
void hdc_client_free (HdcClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HdcClient, hdc_client_free)

GDBusConnection *hdc_client_get_connection (HdcClient *client);

/* Whether the daemon that answered hdc_client_new() left the bus since
 * (a proxy made on its unique name does not follow its owner). */
gboolean hdc_client_daemon_left (HdcClient *client);
/* ... and @loop (NULL: none) is quit when it leaves. */
void hdc_client_quit_if_daemon_leaves (HdcClient *client,
                                       GMainLoop *loop);

/* The Manager with its properties, following the daemon's name (a proxy
 * of its own, made on the first call); client->manager is for calls only. */
HddDbusManager *hdc_client_get_manager_full (HdcClient *client,
                                             GError   **error);

/* Every object of the daemon (GetManagedObjects, then kept current): made
 * on the first call.  NULL with @error when the daemon does not answer. */
GDBusObjectManager *hdc_client_get_object_manager (HdcClient *client,
                                                   GError   **error);

/* The device at @address, as the daemon resolves it (Manager.GetDevice):
 * the daemon validates the address and says what is wrong with it. */
HddDbusPciDevice *hdc_client_get_device (HdcClient  *client,
                                         const char *address,
                                         gboolean    with_properties,
                                         GError    **error);

/* Every device, sorted by address / every job, sorted by id / every mdev
 * and mdev type, sorted by parent, then UUID or type (new references);
 * empty, with a message on stderr, when the daemon stopped answering. */
GPtrArray *hdc_client_list_devices (HdcClient *client);
GPtrArray *hdc_client_list_jobs (HdcClient *client);
GPtrArray *hdc_client_list_mdevs (HdcClient *client);
GPtrArray *hdc_client_list_mdev_types (HdcClient *client);

/* The mdev @uuid, as the daemon resolves it (Manager.GetMdev). */
HddDbusMdev *hdc_client_get_mdev (HdcClient  *client,
                                  const char *uuid,
                                  gboolean    with_properties,
                                  GError    **error);

/* The device named by @spec, PCI device or mdev: an mdev UUID (any case),
 * else a PCI address as hdc_client_get_device() takes it.  Returns an
 * HddDbusPciDevice or an HddDbusMdev. */
GDBusProxy *hdc_client_get_target (HdcClient  *client,
                                   const char *spec,
                                   GError    **error);

/* The job named by @spec: a job number (Manager.GetJob) or an object path.
 * The proxy is a fresh one, subscribed to the job's signals before it read
 * the properties, so that waiting on it cannot miss the end. */
HddDbusJob *hdc_client_get_job (HdcClient  *client,
                                const char *spec,
                                GError    **error);
HddDbusJob *hdc_client_open_job (HdcClient  *client,
                                 const char *path,
                                 GError    **error);

/* Before a call that starts a job: its progress and its end are seen from
 * the moment it exists, through two subscriptions (PropertiesChanged and
 * Completed of the daemon's jobs) sent ahead of the call, without a proxy
 * that subscribes and reads every property first (hdc_client_follow_job()). */
void hdc_client_watch_jobs (HdcClient *client);

/* Before the calls that start several jobs (a batch): @func (NULL: none)
 * is told of the end of every job of the daemon but the one
 * hdc_client_follow_job() follows, through the Completed subscription of
 * hdc_client_watch_jobs(), made here if it is not yet (their progress is
 * not subscribed to). */
void hdc_client_on_job_ended (HdcClient      *client,
                              HdcJobEndedFunc func,
                              gpointer        user_data);

/* The job at @path that a call made after hdc_client_watch_jobs() started:
 * a proxy that has read nothing yet, kept current by those subscriptions
 * (its "g-properties-changed" and "completed" signals are emitted as the
 * daemon's come), until the next call.  @ended says whether it may have
 * ended before this call: its properties are then to be read
 * (hdc_job_refresh()), as they are at the end. */
HddDbusJob *hdc_client_follow_job (HdcClient  *client,
                                   const char *path,
                                   gboolean   *ended,
                                   GError    **error);

/* Starts the options (a{sv}) of a method call through @proxy: every call
 * carries "allow-interaction" when a person sits at the terminal, and then
 * the call waits as long as that person takes to answer polkit. */
void hdc_client_options_init (GVariantDict *options,
                              gpointer      proxy);

/* Adds the options every call carries to @options, which has others. */
void hdc_client_options_apply (GVariantDict *options,
                               gpointer      proxy);

/* Floating a{sv} with only the options every call carries. */
GVariant *hdc_client_options_new (gpointer proxy);

G_END_DECLS
