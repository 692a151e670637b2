/* Whether a caller may do something: polkit, asked asynchronously, denying
 * whenever polkit cannot answer.  Which action a method needs is decided in
 * one place above it (dbus/hdd-bouncer.c). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define HDD_TYPE_AUTHORITY (hdd_authority_get_type ())
G_DECLARE_FINAL_TYPE (HddAuthority, hdd_authority, HDD, AUTHORITY, GObject)

typedef enum {
  HDD_AUTHORITY_NONE             = 0,
  /* Ask polkit for callers that are root too, whose answer polkitd gives
   * without looking at the action (tests with a mock polkitd). */
  HDD_AUTHORITY_ROOT_ASKS_POLKIT = 1 << 0,
} HddAuthorityFlags;

HddAuthority *hdd_authority_new (HddAuthorityFlags flags);

/* Whether the sender of @invocation may perform @action_id: allowed at
 * once when the caller is root (uid 0, as the bus daemon knows it), as
 * polkitd would answer; else polkit is asked.  @interactive lets polkit
 * ask for credentials. */
void hdd_authority_check (HddAuthority          *self,
                          GDBusMethodInvocation *invocation,
                          const char            *action_id,
                          gboolean               interactive,
                          GCancellable          *cancellable,
                          GAsyncReadyCallback    callback,
                          gpointer               user_data);

/* Whether hdd_authority_check() would allow every action to @sender at
 * once, without asking anyone: it is root, and the bus daemon said so
 * already (its uid is remembered).  The bouncer then runs the call without
 * waiting for an answer, or watching the sender while it waits. */
gboolean hdd_authority_allows_at_once (HddAuthority *self,
                                       const char   *sender);

/* TRUE when allowed; else FALSE with HDD_ERROR_NOT_AUTHORIZED. */
gboolean hdd_authority_check_finish (HddAuthority *self,
                                     GAsyncResult *result,
                                     GError      **error);

G_END_DECLS
