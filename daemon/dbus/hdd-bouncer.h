/* Authorization in one place (bolt's bouncer is the model): which polkit
 * action each method that changes something needs is one table in
 * hdd-bouncer.c, looked up by the call's interface and method.  A handler
 * checks its arguments, builds a typed request and hands the call over;
 * it never sees polkit.  The state the call depends on is checked before
 * polkit is asked (so that a caller hears at once) and again once it
 * answered (anything may have changed while it was asked): both by the
 * same @check, by construction. */
#pragma once

#include "hdd-types.h"

#include <gio/gio.h>

G_BEGIN_DECLS

/* Whether the call can go ahead on @object with @request, as things are
 * now; FALSE with @error (returned to the caller) if not. */
typedef gboolean (*HddBouncerCheckFunc) (gpointer  object,
                                         gpointer  request,
                                         GError  **error);

/* The action the call needs besides its own as things are now (an
 * AttachToDomain that will bind the device to vfio-pci needs
 * org.hostdevd1.bind as well), or NULL.  Asked before polkit and again
 * after every answer: an action it names that was not granted yet is
 * asked for before the call runs. */
typedef const char *(*HddBouncerAlsoFunc) (gpointer object,
                                           gpointer request);

/* Does what the call asked for and answers @invocation. */
typedef void (*HddBouncerRunFunc) (gpointer               object,
                                   GDBusMethodInvocation *invocation,
                                   gpointer               request);

typedef struct {
  gpointer            object;        /* the D-Bus object called (a GObject) */
  gpointer            request;       /* the call's checked arguments, or NULL */
  GDestroyNotify      request_free;
  HddBouncerCheckFunc check;         /* NULL: nothing to check */
  HddBouncerRunFunc   run;
  const char         *also;          /* a second action the request needs
                                        (Unplug with policy destroy-domain),
                                        or NULL */
  HddBouncerAlsoFunc  also_of;       /* one that the state decides, or NULL */
} HddBouncerCall;

/* Calls of one sender waiting for polkit, and of all senders
 * (docs/dbus-api.md, "Limits"): one more is refused with LimitExceeded.
 * A sender's waiting calls are cancelled when its bus name goes away. */
#define HDD_BOUNCER_MAX_PENDING_PER_SENDER 16
#define HDD_BOUNCER_MAX_PENDING 256

/* Whether the call on @object by @sender, a method that starts a job, may
 * start one now; FALSE with @error (Busy, LimitExceeded) if not. */
typedef gboolean (*HddBouncerAdmitFunc) (gpointer    data,
                                         gpointer    object,
                                         const char *sender,
                                         GError    **error);

/* Makes @admit the check of every call through @authority that starts a
 * job, made with the call's own checks (before polkit and after): the job
 * table's limits, which it cannot ask the bouncer to know. */
void hdd_bouncer_set_admission (HddAuthority        *authority,
                                HddBouncerAdmitFunc  admit,
                                gpointer             data);

/* The action of @interface_name.@method_name; NULL for a method that needs
 * none (a read, or not in the table). */
const char *hdd_bouncer_action_of (const char *interface_name,
                                   const char *method_name);

/* Checks @call, asks @authority for the invocation's action (interactive
 * when @options says "allow-interaction"), @call->also and what
 * @call->also_of names, checks again (and asks for what also_of names now,
 * if that was not granted yet), and runs @call; any refusal is returned to
 * the caller.  Takes the
 * request (freed with @call->request_free) and holds a reference on the
 * object, the invocation and @options until then. */
void hdd_bouncer_dispatch (HddAuthority          *authority,
                           GDBusMethodInvocation *invocation,
                           GVariant              *options,
                           const HddBouncerCall  *call);

G_END_DECLS
