/* The one place that decides whether a caller may do something: polkit,
 * asked asynchronously, denying whenever polkit cannot answer. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define HDD_TYPE_AUTHORITY (hdd_authority_get_type ())
G_DECLARE_FINAL_TYPE (HddAuthority, hdd_authority, HDD, AUTHORITY, GObject)

HddAuthority *hdd_authority_new (void);

/* Asks polkit whether the sender of @invocation may perform @action_id.
 * @interactive lets polkit ask for credentials. */
void hdd_authority_check (HddAuthority          *self,
                          GDBusMethodInvocation *invocation,
                          const char            *action_id,
                          gboolean               interactive,
                          GCancellable          *cancellable,
                          GAsyncReadyCallback    callback,
                          gpointer               user_data);

/* TRUE when allowed; else FALSE with HDD_ERROR_NOT_AUTHORIZED. */
gboolean hdd_authority_check_finish (HddAuthority *self,
                                     GAsyncResult *result,
                                     GError      **error);

G_END_DECLS

G_BEGIN_DECLS

/* Called once the caller was found authorized. */
typedef void (*HddAuthorizedFunc) (gpointer               object,
                                   GDBusMethodInvocation *invocation,
                                   GVariant              *options);

/* Checks @action_id for the sender of @invocation (interactive when
 * @options says "allow-interaction") and then calls @func, or returns
 * org.hostdevd1.Error.NotAuthorized to the caller.  Holds a reference on
 * @object, @invocation and @options until then. */
void hdd_authority_dispatch (HddAuthority          *self,
                             GObject               *object,
                             GDBusMethodInvocation *invocation,
                             GVariant              *options,
                             const char            *action_id,
                             HddAuthorizedFunc      func);

G_END_DECLS
