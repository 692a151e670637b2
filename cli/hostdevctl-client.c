/* The connection to hostdevd, looking up its devices, mdevs and jobs, and
 * the options every method call carries. */
#include "hostdevctl-client.h"

#include <unistd.h>

#include "hdd-mdev-names.h"
#include "hdd-names.h"
#include "hdd-pci-address.h"

static void
explain_connect_error (GError  *cause,
                       GError **error)
{
  if (!g_dbus_error_is_remote_error (cause))
    {
      /* g_bus_get() itself failed: no bus at all, or not allowed on it. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                   "Cannot reach hostdevd: the system bus is not available (%s)",
                   cause->message);
      return;
    }

  if (g_error_matches (cause, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
      g_error_matches (cause, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                   "hostdevd is not running (nothing owns %s on the system bus)",
                   HDD_DBUS_NAME);
      return;
    }

  /* The bus tried to start it through D-Bus activation and failed. */
  g_dbus_error_strip_remote_error (cause);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
               "hostdevd is not running and could not be started: %s", cause->message);
}

void
hdc_client_free (HdcClient *client)
{
  if (client == NULL)
    return;
  g_clear_object (&client->object_manager);
  if (client->followed != NULL)
    g_object_remove_weak_pointer (G_OBJECT (client->followed), (gpointer *) &client->followed);
  g_clear_object (&client->manager);
  g_clear_object (&client->manager_full);
  if (client->job_changes != 0)
    g_dbus_connection_signal_unsubscribe (client->connection, client->job_changes);
  if (client->job_ends != 0)
    g_dbus_connection_signal_unsubscribe (client->connection, client->job_ends);
  g_clear_pointer (&client->ended, g_hash_table_unref);
  if (client->owner_watch != 0)
    g_dbus_connection_signal_unsubscribe (client->connection, client->owner_watch);
  g_free (client->owner);
  g_clear_object (&client->connection);
  g_free (client);
}

static void
on_owner_changed (GDBusConnection *connection,
                  const char      *sender,
                  const char      *path,
                  const char      *interface,
                  const char      *signal,
                  GVariant        *parameters,
                  gpointer         user_data)
{
  HdcClient *client = user_data;
  const char *name, *old_owner, *new_owner;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sss)")))
    return;
  g_variant_get (parameters, "(&s&s&s)", &name, &old_owner, &new_owner);
  if (*new_owner == '\0')
    {
      client->daemon_left = TRUE;
      if (client->waiting != NULL)
        g_main_loop_quit (client->waiting);
    }
}

gboolean
hdc_client_daemon_left (HdcClient *client)
{
  return client->daemon_left;
}

void
hdc_client_quit_if_daemon_leaves (HdcClient *client,
                                  GMainLoop *loop)
{
  client->waiting = loop;
}

HdcClient *
hdc_client_new (GError **error)
{
  g_autoptr(HdcClient) client = g_new0 (HdcClient, 1);
  g_autoptr(GError) local = NULL;
  g_autoptr(GDBusMessage) ping = NULL;
  g_autoptr(GDBusMessage) pong = NULL;
  const char *owner;

  client->connection = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, &local);
  if (client->connection == NULL)
    {
      explain_connect_error (local, error);
      return NULL;
    }
  /* One round trip that needs nothing of the daemon but its name; without
   * NO_AUTO_START the bus starts hostdevd (D-Bus activation through
   * systemd) when nobody owns the name, and says why when it cannot.  The
   * answer comes from the daemon's unique name. */
  ping = g_dbus_message_new_method_call (HDD_DBUS_NAME, HDD_DBUS_PATH,
                                         "org.freedesktop.DBus.Peer", "Ping");
  pong = g_dbus_connection_send_message_with_reply_sync (client->connection, ping,
                                                         G_DBUS_SEND_MESSAGE_FLAGS_NONE, -1,
                                                         NULL, NULL, &local);
  if (pong == NULL || g_dbus_message_to_gerror (pong, &local))
    {
      explain_connect_error (local, error);
      return NULL;
    }
  owner = g_dbus_message_get_sender (pong);
  if (owner == NULL || !g_dbus_is_unique_name (owner))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                   "hostdevd is not running (nothing owns %s on the system bus)",
                   HDD_DBUS_NAME);
      return NULL;
    }

  client->owner = g_strdup (owner);
  /* Before anything else is asked of it: whatever proxy is made on its
   * unique name (those of the objects, the jobs), its going is seen here. */
  client->owner_watch =
    g_dbus_connection_signal_subscribe (client->connection, "org.freedesktop.DBus",
                                        "org.freedesktop.DBus", "NameOwnerChanged",
                                        "/org/freedesktop/DBus", owner,
                                        G_DBUS_SIGNAL_FLAGS_NONE, on_owner_changed,
                                        client, NULL);

  /* The Manager lives on the object manager's own path, which is not one
   * of its managed objects: it needs a proxy of its own.  Its methods are
   * called on the daemon that answered, by its unique name, and its
   * properties are not read: no name owner to look up and nothing to
   * download, two round trips less for every command (hdc_client_get_manager_full()
   * for the properties). */
  client->manager = hdd_dbus_manager_proxy_new_sync (client->connection,
                                                     G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START |
                                                     G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES |
                                                     G_DBUS_PROXY_FLAGS_DO_NOT_CONNECT_SIGNALS,
                                                     owner, HDD_DBUS_PATH, NULL, error);
  if (client->manager == NULL)
    return NULL;
  return g_steal_pointer (&client);
}

/* ---- The jobs this client starts ---- */

/* The most early ends kept: a command follows the one job it started. */
#define MAX_ENDED 64

static gboolean
is_followed (HdcClient *client, const char *path)
{
  return client->followed != NULL &&
         g_strcmp0 (g_dbus_proxy_get_object_path (G_DBUS_PROXY (client->followed)), path) == 0;
}

static void
on_job_changed (GDBusConnection *connection,
                const char      *sender,
                const char      *path,
                const char      *interface_name,
                const char      *signal_name,
                GVariant        *parameters,
                gpointer         user_data)
{
  HdcClient *client = user_data;
  GDBusProxy *proxy = G_DBUS_PROXY (client->followed);
  g_autoptr(GVariant) changed = NULL;
  g_autofree const char **invalidated = NULL;
  GVariantIter iter;
  const char *name;
  GVariant *value;

  if (!is_followed (client, path) ||
      !g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sa{sv}as)")))
    return;
  g_variant_get (parameters, "(&s@a{sv}^a&s)", NULL, &changed, &invalidated);
  g_variant_iter_init (&iter, changed);
  while (g_variant_iter_loop (&iter, "{&sv}", &name, &value))
    g_dbus_proxy_set_cached_property (proxy, name, value);
  for (guint i = 0; invalidated[i]; i++)
    g_dbus_proxy_set_cached_property (proxy, invalidated[i], NULL);
  g_signal_emit_by_name (proxy, "g-properties-changed", changed, invalidated);
}

static void
on_job_ended (GDBusConnection *connection,
              const char      *sender,
              const char      *path,
              const char      *interface_name,
              const char      *signal_name,
              GVariant        *parameters,
              gpointer         user_data)
{
  HdcClient *client = user_data;
  const char *message;
  gboolean success;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(bs)")))
    return;
  g_variant_get (parameters, "(b&s)", &success, &message);
  if (is_followed (client, path))
    {
      g_signal_emit_by_name (client->followed, "completed", success, message);
      return;
    }
  if (client->ended_func != NULL)
    {
      client->ended_func (path, success, message, client->ended_data);
      return;
    }
  /* Another job's, or ours before the call that started it returned. */
  if (g_hash_table_size (client->ended) >= MAX_ENDED)
    {
      g_hash_table_remove_all (client->ended);
      client->ended_lost = TRUE;
    }
  g_hash_table_add (client->ended, g_strdup (path));
}

/* Only the daemon that answered: its unique name, known from the Ping. */
static void
subscribe_ends (HdcClient *client)
{
  if (client->job_ends != 0)
    return;
  client->ended = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  client->job_ends =
    g_dbus_connection_signal_subscribe (client->connection, client->owner, HDD_IFACE_JOB,
                                        "Completed", NULL, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                        on_job_ended, client, NULL);
}

void
hdc_client_watch_jobs (HdcClient *client)
{
  if (client->job_changes == 0)
    client->job_changes =
      g_dbus_connection_signal_subscribe (client->connection, client->owner,
                                          "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                          NULL, HDD_IFACE_JOB, G_DBUS_SIGNAL_FLAGS_NONE,
                                          on_job_changed, client, NULL);
  subscribe_ends (client);
}

void
hdc_client_on_job_ended (HdcClient      *client,
                         HdcJobEndedFunc func,
                         gpointer        user_data)
{
  subscribe_ends (client);
  client->ended_func = func;
  client->ended_data = user_data;
}

HddDbusJob *
hdc_client_follow_job (HdcClient  *client,
                       const char *path,
                       gboolean   *ended,
                       GError    **error)
{
  HddDbusJob *job;

  g_return_val_if_fail (client->job_changes != 0, NULL);
  if (!g_variant_is_object_path (path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "“%s” is not a D-Bus object path", path);
      return NULL;
    }
  /* Nothing to read and nothing to subscribe to: no round trip. */
  job = hdd_dbus_job_proxy_new_sync (client->connection,
                                     G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START |
                                     G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES |
                                     G_DBUS_PROXY_FLAGS_DO_NOT_CONNECT_SIGNALS,
                                     client->owner, path, NULL, error);
  if (job == NULL)
    return NULL;
  if (client->followed != NULL)
    g_object_remove_weak_pointer (G_OBJECT (client->followed), (gpointer *) &client->followed);
  client->followed = job;
  g_object_add_weak_pointer (G_OBJECT (job), (gpointer *) &client->followed);
  *ended = client->ended_lost || g_hash_table_contains (client->ended, path);
  return job;
}

HddDbusManager *
hdc_client_get_manager_full (HdcClient *client,
                             GError   **error)
{
  if (client->manager_full == NULL)
    client->manager_full = hdd_dbus_manager_proxy_new_sync (client->connection,
                                                            G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                                            HDD_DBUS_NAME, HDD_DBUS_PATH,
                                                            NULL, error);
  return client->manager_full;
}

GDBusConnection *
hdc_client_get_connection (HdcClient *client)
{
  return client->connection;
}

GDBusObjectManager *
hdc_client_get_object_manager (HdcClient *client,
                               GError   **error)
{
  if (client->object_manager == NULL)
    client->object_manager =
      hdd_dbus_object_manager_client_new_sync (client->connection,
                                               G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_DO_NOT_AUTO_START,
                                               HDD_DBUS_NAME, HDD_DBUS_PATH, NULL, error);
  return client->object_manager;
}

void
hdc_client_options_init (GVariantDict *options,
                         gpointer      proxy)
{
  g_variant_dict_init (options, NULL);
  hdc_client_options_apply (options, proxy);
}

void
hdc_client_options_apply (GVariantDict *options,
                          gpointer      proxy)
{
  /* Only a person at a terminal can answer a polkit agent; a script would
   * only hang waiting for one. */
  if (isatty (STDIN_FILENO))
    {
      g_variant_dict_insert (options, HDD_OPTION_ALLOW_INTERACTION, "b", TRUE);
      if (proxy != NULL)
        g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (proxy), G_MAXINT);
    }
}

GVariant *
hdc_client_options_new (gpointer proxy)
{
  GVariantDict options;

  hdc_client_options_init (&options, proxy);
  return g_variant_dict_end (&options);
}

/* A proxy only to call methods on loads nothing: one GetAll less. */
static GDBusProxyFlags
proxy_flags (gboolean with_properties)
{
  return G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START |
         (with_properties ? 0 : G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES |
                                G_DBUS_PROXY_FLAGS_DO_NOT_CONNECT_SIGNALS);
}

HddDbusPciDevice *
hdc_client_get_device (HdcClient  *client,
                       const char *address,
                       gboolean    with_properties,
                       GError    **error)
{
  g_autofree char *path = NULL;

  /* The address goes to the daemon as typed: it is the one that knows
   * which forms it accepts, and it says what is wrong with the others. */
  if (!hdd_dbus_manager_call_get_device_sync (client->manager, address,
                                              hdc_client_options_new (client->manager),
                                              &path, NULL, error))
    return NULL;
  return hdd_dbus_pci_device_proxy_new_sync (hdc_client_get_connection (client),
                                             proxy_flags (with_properties),
                                             client->owner, path, NULL, error);
}

static int
compare_devices (gconstpointer a,
                 gconstpointer b)
{
  const char *sa = hdd_dbus_pci_device_get_address (*(HddDbusPciDevice **) a);
  const char *sb = hdd_dbus_pci_device_get_address (*(HddDbusPciDevice **) b);
  HddPciAddress pa, pb;

  /* Numerically, so that a domain 10000 sorts after 0000. */
  if (sa && sb &&
      hdd_pci_address_parse (sa, &pa, NULL) &&
      hdd_pci_address_parse (sb, &pb, NULL))
    {
      if (pa.domain != pb.domain)
        return pa.domain < pb.domain ? -1 : 1;
      if (pa.bus != pb.bus)
        return pa.bus < pb.bus ? -1 : 1;
      if (pa.device != pb.device)
        return pa.device < pb.device ? -1 : 1;
      if (pa.function != pb.function)
        return pa.function < pb.function ? -1 : 1;
      return 0;
    }
  return g_strcmp0 (sa, sb);
}

static int
compare_jobs (gconstpointer a,
              gconstpointer b)
{
  guint ia = hdd_dbus_job_get_id (*(HddDbusJob **) a);
  guint ib = hdd_dbus_job_get_id (*(HddDbusJob **) b);

  return ia < ib ? -1 : ia > ib ? 1 : 0;
}

/* The objects that have @interface_name, sorted by @compare. */
static GPtrArray *
list_interfaces (HdcClient    *client,
                 const char   *interface_name,
                 GCompareFunc  compare)
{
  GPtrArray *found = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;
  GDBusObjectManager *all = hdc_client_get_object_manager (client, &error);
  GList *objects;

  if (all == NULL)
    {
      g_printerr ("hostdevctl: cannot list the objects of hostdevd: %s\n", error->message);
      return found;
    }
  objects = g_dbus_object_manager_get_objects (all);

  for (GList *l = objects; l != NULL; l = l->next)
    {
      GDBusInterface *iface = g_dbus_object_get_interface (l->data, interface_name);

      if (iface != NULL)
        g_ptr_array_add (found, iface);
    }
  g_list_free_full (objects, g_object_unref);
  g_ptr_array_sort (found, compare);
  return found;
}

GPtrArray *
hdc_client_list_devices (HdcClient *client)
{
  return list_interfaces (client, HDD_IFACE_PCI_DEVICE, compare_devices);
}

GPtrArray *
hdc_client_list_jobs (HdcClient *client)
{
  return list_interfaces (client, HDD_IFACE_JOB, compare_jobs);
}

static int
compare_mdevs (gconstpointer a,
               gconstpointer b)
{
  HddDbusMdev *x = *(HddDbusMdev **) a;
  HddDbusMdev *y = *(HddDbusMdev **) b;
  int c = g_strcmp0 (hdd_dbus_mdev_get_parent (x), hdd_dbus_mdev_get_parent (y));

  return c ? c : g_strcmp0 (hdd_dbus_mdev_get_uuid (x), hdd_dbus_mdev_get_uuid (y));
}

static int
compare_mdev_types (gconstpointer a,
                    gconstpointer b)
{
  HddDbusMdevType *x = *(HddDbusMdevType **) a;
  HddDbusMdevType *y = *(HddDbusMdevType **) b;
  int c = g_strcmp0 (hdd_dbus_mdev_type_get_parent (x), hdd_dbus_mdev_type_get_parent (y));

  return c ? c : g_strcmp0 (hdd_dbus_mdev_type_get_type_id (x), hdd_dbus_mdev_type_get_type_id (y));
}

GPtrArray *
hdc_client_list_mdevs (HdcClient *client)
{
  return list_interfaces (client, HDD_IFACE_MDEV, compare_mdevs);
}

GPtrArray *
hdc_client_list_mdev_types (HdcClient *client)
{
  return list_interfaces (client, HDD_IFACE_MDEV_TYPE, compare_mdev_types);
}

HddDbusMdev *
hdc_client_get_mdev (HdcClient  *client,
                     const char *uuid,
                     gboolean    with_properties,
                     GError    **error)
{
  g_autofree char *path = NULL;

  if (!hdd_dbus_manager_call_get_mdev_sync (client->manager, uuid,
                                            hdc_client_options_new (client->manager),
                                            &path, NULL, error))
    return NULL;
  return hdd_dbus_mdev_proxy_new_sync (hdc_client_get_connection (client),
                                       proxy_flags (with_properties),
                                       client->owner, path, NULL, error);
}

GDBusProxy *
hdc_client_get_target (HdcClient  *client,
                       const char *spec,
                       GError    **error)
{
  g_autofree char *uuid = hdd_uuid_canonicalize (spec, NULL);

  /* Anything that is not a UUID goes to the daemon as an address, which
   * then says what is wrong with it. */
  if (uuid)
    return G_DBUS_PROXY (hdc_client_get_mdev (client, uuid, FALSE, error));
  return G_DBUS_PROXY (hdc_client_get_device (client, spec, FALSE, error));
}

HddDbusJob *
hdc_client_open_job (HdcClient  *client,
                     const char *path,
                     GError    **error)
{
  g_autoptr(HddDbusJob) job = NULL;
  g_autoptr(GVariant) state = NULL;

  if (!g_variant_is_object_path (path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "“%s” is not a D-Bus object path", path);
      return NULL;
    }

  /* A proxy of its own rather than the object manager's: its signal
   * subscription is in place before it reads the properties, so a job
   * that ends at any moment is seen either as ended in the properties or
   * through its Completed signal. */
  job = hdd_dbus_job_proxy_new_sync (hdc_client_get_connection (client),
                                     G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                     client->owner, path, NULL, error);
  if (job == NULL)
    return NULL;

  /* A proxy is made even for an object that does not exist; it then has
   * no properties. */
  state = g_dbus_proxy_get_cached_property (G_DBUS_PROXY (job), "State");
  if (state == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "There is no job %s (finished jobs are forgotten after a while)", path);
      return NULL;
    }
  return g_steal_pointer (&job);
}

HddDbusJob *
hdc_client_get_job (HdcClient  *client,
                    const char *spec,
                    GError    **error)
{
  g_autofree char *path = NULL;
  guint64 id;

  if (spec[0] == '/')
    return hdc_client_open_job (client, spec, error);

  if (!g_ascii_string_to_unsigned (spec, 10, 1, G_MAXUINT32, &id, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "“%s” is not a job: give its number, as “hostdevctl jobs” shows it, "
                   "or its object path", spec);
      return NULL;
    }
  if (!hdd_dbus_manager_call_get_job_sync (client->manager, (guint) id,
                                           hdc_client_options_new (client->manager),
                                           &path, NULL, error))
    return NULL;
  return hdc_client_open_job (client, path, error);
}
