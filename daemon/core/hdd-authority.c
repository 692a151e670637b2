#include "hdd-authority.h"

#include "hdd-error.h"

#include <polkit/polkit.h>

/* Unique bus names whose uid is remembered (hdd_authority_check). */
#define MAX_KNOWN_SENDERS 256

struct _HddAuthority
{
  GObject          parent;
  PolkitAuthority *polkit;   /* NULL until the first check connects */
  gboolean         root_asks_polkit;
  GHashTable      *uids;     /* unique bus name -> uid + 1 (0: none) */
};

G_DEFINE_TYPE (HddAuthority, hdd_authority, G_TYPE_OBJECT)

static void
hdd_authority_finalize (GObject *object)
{
  g_clear_object (&HDD_AUTHORITY (object)->polkit);
  g_clear_pointer (&HDD_AUTHORITY (object)->uids, g_hash_table_unref);
  G_OBJECT_CLASS (hdd_authority_parent_class)->finalize (object);
}

static void
hdd_authority_class_init (HddAuthorityClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hdd_authority_finalize;
}

static void
hdd_authority_init (HddAuthority *self)
{
  self->uids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

HddAuthority *
hdd_authority_new (HddAuthorityFlags flags)
{
  HddAuthority *self = g_object_new (HDD_TYPE_AUTHORITY, NULL);

  self->root_asks_polkit = (flags & HDD_AUTHORITY_ROOT_ASKS_POLKIT) != 0;
  return self;
}

typedef struct {
  char               *action_id;
  char               *sender;
  PolkitSubject      *subject;
  PolkitCheckAuthorizationFlags flags;
} Check;

static void
check_free (gpointer data)
{
  Check *c = data;

  g_free (c->action_id);
  g_free (c->sender);
  g_clear_object (&c->subject);
  g_free (c);
}

static void
deny (GTask *task, const char *action_id, const char *why)
{
  g_task_return_new_error (task, HDD_ERROR, HDD_ERROR_NOT_AUTHORIZED,
                           "Not authorized to perform %s%s%s", action_id,
                           why ? ": " : "", why ? why : "");
}

static void
on_checked (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  Check *c = g_task_get_task_data (task);
  g_autoptr(PolkitAuthorizationResult) result = NULL;
  g_autoptr(GError) error = NULL;

  result = polkit_authority_check_authorization_finish (POLKIT_AUTHORITY (source), res, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, g_steal_pointer (&error));   /* the caller left */
      return;
    }
  if (result == NULL)
    {
      g_warning ("polkit could not check %s: %s", c->action_id, error->message);
      deny (task, c->action_id, "the authorization service did not answer");
      return;
    }
  if (polkit_authorization_result_get_is_authorized (result))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  deny (task, c->action_id,
        polkit_authorization_result_get_is_challenge (result)
        ? "authentication is required (try the option allow-interaction)" : NULL);
}

static void
ask (HddAuthority *self, GTask *task)
{
  Check *c = g_task_get_task_data (task);

  polkit_authority_check_authorization (self->polkit, c->subject, c->action_id,
                                        NULL, c->flags,
                                        g_task_get_cancellable (task),
                                        on_checked, task);
}

static void
on_connected (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  HddAuthority *self = g_task_get_source_object (task);
  Check *c = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  PolkitAuthority *polkit = polkit_authority_get_finish (res, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (polkit == NULL)
    {
      g_warning ("Cannot reach polkit: %s", error->message);
      deny (task, c->action_id, "the authorization service is not available");
      return;
    }
  if (self->polkit == NULL)
    self->polkit = polkit;
  else
    g_object_unref (polkit);
  ask (self, g_steal_pointer (&task));
}

/* polkitd allows uid 0 every action before it looks at an action's
 * defaults or at any rule (check_authorization_sync(): "uid 0, root, is
 * _always_ authorized for anything"), so its answer for root is known
 * without asking it: a call from root is allowed here, unless the daemon
 * was told to ask polkit anyway (--polkit-for-root).  The uid is the bus
 * daemon's, from the credentials of the caller's connection, the same
 * polkitd would get for the same unique name; a name whose uid cannot be
 * had (the caller left) goes to polkit, never taken for root.  A unique
 * name is never given to another connection in the bus's lifetime, so its
 * uid is remembered (at most MAX_KNOWN_SENDERS names, then forgotten all
 * at once). */
static void
ask_or_allow (HddAuthority *self, GTask *task, guint32 uid)
{
  Check *c = g_task_get_task_data (task);

  if (uid == 0)
    {
      g_debug ("%s is root: %s allowed without asking polkit", c->sender, c->action_id);
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  if (self->polkit == NULL)
    polkit_authority_get_async (g_task_get_cancellable (task), on_connected, task);
  else
    ask (self, task);
}

static void
on_uid (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  HddAuthority *self = g_task_get_source_object (task);
  Check *c = g_task_get_task_data (task);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  guint32 uid = G_MAXUINT32;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, g_steal_pointer (&error));   /* the caller left */
      g_object_unref (task);
      return;
    }
  if (reply)
    {
      g_variant_get (reply, "(u)", &uid);
      if (g_hash_table_size (self->uids) >= MAX_KNOWN_SENDERS)
        g_hash_table_remove_all (self->uids);
      g_hash_table_insert (self->uids, g_strdup (c->sender), GUINT_TO_POINTER (uid + 1));
    }
  else
    g_debug ("No uid for %s (%s): polkit decides", c->sender, error->message);
  ask_or_allow (self, task, uid);
}

void
hdd_authority_check (HddAuthority          *self,
                     GDBusMethodInvocation *invocation,
                     const char            *action_id,
                     gboolean               interactive,
                     GCancellable          *cancellable,
                     GAsyncReadyCallback    callback,
                     gpointer               user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  Check *c = g_new0 (Check, 1);

  GDBusConnection *connection = g_dbus_method_invocation_get_connection (invocation);
  gpointer known;

  g_task_set_source_tag (task, hdd_authority_check);
  c->action_id = g_strdup (action_id);
  c->sender = g_strdup (g_dbus_method_invocation_get_sender (invocation));
  c->subject = polkit_system_bus_name_new (c->sender);
  c->flags = interactive ? POLKIT_CHECK_AUTHORIZATION_FLAGS_ALLOW_USER_INTERACTION
                         : POLKIT_CHECK_AUTHORIZATION_FLAGS_NONE;
  g_task_set_task_data (task, c, check_free);

  if (self->root_asks_polkit || c->sender == NULL || *c->sender != ':')
    ask_or_allow (self, task, G_MAXUINT32);
  else if ((known = g_hash_table_lookup (self->uids, c->sender)))
    ask_or_allow (self, task, GPOINTER_TO_UINT (known) - 1);
  else
    g_dbus_connection_call (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                            "org.freedesktop.DBus", "GetConnectionUnixUser",
                            g_variant_new ("(s)", c->sender), G_VARIANT_TYPE ("(u)"),
                            G_DBUS_CALL_FLAGS_NONE, -1, cancellable, on_uid, task);
}

gboolean
hdd_authority_allows_at_once (HddAuthority *self,
                              const char   *sender)
{
  gpointer known;

  if (self->root_asks_polkit || sender == NULL || *sender != ':')
    return FALSE;
  known = g_hash_table_lookup (self->uids, sender);
  return known != NULL && GPOINTER_TO_UINT (known) - 1 == 0;
}

gboolean
hdd_authority_check_finish (HddAuthority *self,
                            GAsyncResult *result,
                            GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
