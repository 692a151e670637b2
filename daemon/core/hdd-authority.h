/* Whether a caller may do something: polkit, asked asynchronously, denying
 * whenever polkit cannot answer.  Which action a method needs is decided in
 * one place above it (dbus/hdd-bouncer.c). */
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
