#include "hdd-authority.h"

#include "hdd-error.h"

#include <polkit/polkit.h>

struct _HddAuthority
{
  GObject          parent;
  PolkitAuthority *polkit;   /* NULL until the first check connects */
};

G_DEFINE_TYPE (HddAuthority, hdd_authority, G_TYPE_OBJECT)

static void
hdd_authority_finalize (GObject *object)
{
  g_clear_object (&HDD_AUTHORITY (object)->polkit);
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
}

HddAuthority *
hdd_authority_new (void)
{
  return g_object_new (HDD_TYPE_AUTHORITY, NULL);
}

typedef struct {
  char               *action_id;
  PolkitSubject      *subject;
  PolkitCheckAuthorizationFlags flags;
} Check;

static void
check_free (gpointer data)
{
  Check *c = data;

  g_free (c->action_id);
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

  g_task_set_source_tag (task, hdd_authority_check);
  c->action_id = g_strdup (action_id);
  c->subject = polkit_system_bus_name_new (g_dbus_method_invocation_get_sender (invocation));
  c->flags = interactive ? POLKIT_CHECK_AUTHORIZATION_FLAGS_ALLOW_USER_INTERACTION
                         : POLKIT_CHECK_AUTHORIZATION_FLAGS_NONE;
  g_task_set_task_data (task, c, check_free);

  if (self->polkit == NULL)
    polkit_authority_get_async (cancellable, on_connected, task);
  else
    ask (self, task);
}

gboolean
hdd_authority_check_finish (HddAuthority *self,
                            GAsyncResult *result,
                            GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
