#include "hdd-bouncer.h"

#include "hdd-authority.h"
#include "hdd-error.h"
#include "hdd-names.h"

/* Every method that changes something, and the action it needs.  A method
 * missing here cannot be dispatched (an internal error, never allowed). */
static const struct {
  const char *interface_name;   /* NULL: any of the device interfaces */
  const char *method_name;
  const char *action;
} rules[] = {
  { HDD_DBUS_NAME ".PciDevice", "BindVfio",         HDD_ACTION_BIND },
  { HDD_DBUS_NAME ".PciDevice", "Restore",          HDD_ACTION_BIND },
  { HDD_DBUS_NAME ".PciDevice", "Persist",          HDD_ACTION_PERSIST },
  { HDD_DBUS_NAME ".PciDevice", "Forget",           HDD_ACTION_PERSIST },
  { NULL,                       "Unplug",           HDD_ACTION_UNPLUG },
  { NULL,                       "AttachToDomain",   HDD_ACTION_ATTACH },
  { NULL,                       "DetachFromDomain", HDD_ACTION_ATTACH },
  { HDD_DBUS_NAME ".Mdev",      "Remove",           HDD_ACTION_MDEV },
  { HDD_DBUS_NAME ".Mdev",      "Stop",             HDD_ACTION_MDEV },
  { HDD_DBUS_NAME ".Mdev",      "Start",            HDD_ACTION_MDEV },
  { HDD_DBUS_NAME ".Mdev",      "Undefine",         HDD_ACTION_MDEV_DEFINE },
  { HDD_DBUS_NAME ".Manager",   "CreateMdev",       HDD_ACTION_MDEV },
  { HDD_DBUS_NAME ".Manager",   "DefineMdev",       HDD_ACTION_MDEV_DEFINE },
  { HDD_DBUS_NAME ".Job",       "Cancel",           HDD_ACTION_CANCEL_ANY },
};

static gboolean
is_device_interface (const char *name)
{
  return g_str_equal (name, HDD_DBUS_NAME ".PciDevice") || g_str_equal (name, HDD_DBUS_NAME ".Mdev");
}

const char *
hdd_bouncer_action_of (const char *interface_name,
                       const char *method_name)
{
  for (guint i = 0; i < G_N_ELEMENTS (rules); i++)
    {
      gboolean iface_ok = rules[i].interface_name
                          ? g_str_equal (rules[i].interface_name, interface_name)
                          : is_device_interface (interface_name);

      if (iface_ok && g_str_equal (rules[i].method_name, method_name))
        return rules[i].action;
    }
  return NULL;
}

/* The methods that start a job: the job table has its say on them too
 * (hdd_bouncer_set_admission). */
static const char * const job_methods[] = {
  "BindVfio", "Restore", "Unplug", "AttachToDomain", "DetachFromDomain",
  "Remove", "Stop", "Start", "CreateMdev", NULL
};

/* ---- The calls waiting for polkit, by sender ---- */

/* What the bouncer keeps per HddAuthority (its object data): the calls
 * waiting for polkit, and the job table's admission. */
typedef struct {
  GHashTable         *senders;   /* unique name -> Sender */
  guint               n_pending;
  HddBouncerAdmitFunc admit;
  gpointer            admit_data;
} State;

/* One sender with calls waiting for polkit: they are cancelled together
 * when its name goes away, and the entry goes with the last of them. */
typedef struct {
  guint         n_pending;
  GCancellable *cancellable;
  guint         watch;
} Sender;

static void
sender_free (gpointer data)
{
  Sender *s = data;

  g_bus_unwatch_name (s->watch);
  g_object_unref (s->cancellable);
  g_free (s);
}

static void
state_free (gpointer data)
{
  State *st = data;

  g_hash_table_unref (st->senders);
  g_free (st);
}

static State *
state_of (HddAuthority *authority)
{
  State *st = g_object_get_data (G_OBJECT (authority), "hdd-bouncer");

  if (st == NULL)
    {
      st = g_new0 (State, 1);
      st->senders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, sender_free);
      g_object_set_data_full (G_OBJECT (authority), "hdd-bouncer", st, state_free);
    }
  return st;
}

void
hdd_bouncer_set_admission (HddAuthority        *authority,
                           HddBouncerAdmitFunc  admit,
                           gpointer             data)
{
  State *st = state_of (authority);

  st->admit = admit;
  st->admit_data = data;
}

static void
on_sender_vanished (GDBusConnection *connection, const char *name, gpointer user_data)
{
  g_debug ("%s left: cancelling its calls waiting for authorization", name);
  g_cancellable_cancel (user_data);
}

typedef struct {
  HddAuthority          *authority;
  GDBusMethodInvocation *invocation;
  GVariant              *options;
  HddBouncerCall         call;
  gboolean               interactive;
  const char            *asking;         /* the action polkit is asked for */
  GPtrArray             *granted;        /* of const char *: actions allowed */
  gboolean               starts_job;
  GCancellable          *cancellable;    /* its sender's, once counted */
} Visit;

/* Counts @v as waiting for polkit, or refuses it: over a limit the caller
 * waits for its earlier calls first, and nothing has been done. */
static gboolean
pending_add (Visit *v)
{
  State *st = state_of (v->authority);
  const char *sender = g_dbus_method_invocation_get_sender (v->invocation);
  Sender *s = g_hash_table_lookup (st->senders, sender);

  if (st->n_pending >= HDD_BOUNCER_MAX_PENDING ||
      (s && s->n_pending >= HDD_BOUNCER_MAX_PENDING_PER_SENDER))
    {
      g_dbus_method_invocation_return_error (v->invocation, HDD_ERROR, HDD_ERROR_LIMIT_EXCEEDED,
                                             "Too many calls wait for authorization (at most "
                                             "%d per caller, %d in all): wait for the answers "
                                             "to the earlier ones",
                                             HDD_BOUNCER_MAX_PENDING_PER_SENDER,
                                             HDD_BOUNCER_MAX_PENDING);
      return FALSE;
    }
  if (s == NULL)
    {
      s = g_new0 (Sender, 1);
      s->cancellable = g_cancellable_new ();
      s->watch = g_bus_watch_name_on_connection (g_dbus_method_invocation_get_connection (v->invocation),
                                                 sender, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                 NULL, on_sender_vanished,
                                                 g_object_ref (s->cancellable), g_object_unref);
      g_hash_table_insert (st->senders, g_strdup (sender), s);
    }
  s->n_pending++;
  st->n_pending++;
  v->cancellable = g_object_ref (s->cancellable);
  return TRUE;
}

static void
pending_remove (Visit *v)
{
  State *st = state_of (v->authority);
  const char *sender = g_dbus_method_invocation_get_sender (v->invocation);
  Sender *s = g_hash_table_lookup (st->senders, sender);

  st->n_pending--;
  if (--s->n_pending == 0)
    g_hash_table_remove (st->senders, sender);
}

static void
visit_free (Visit *v)
{
  if (v->cancellable)
    {
      pending_remove (v);
      g_object_unref (v->cancellable);
    }
  if (v->call.request_free && v->call.request)
    v->call.request_free (v->call.request);
  g_object_unref (v->call.object);
  g_object_unref (v->invocation);
  g_object_unref (v->authority);
  g_variant_unref (v->options);
  g_ptr_array_unref (v->granted);
  g_free (v);
}

/* The call's own check, and for a method that starts a job the job
 * table's: the device has no job, the limits are not reached. */
static gboolean
check (Visit *v)
{
  g_autoptr(GError) error = NULL;
  State *st = state_of (v->authority);

  if ((v->call.check == NULL || v->call.check (v->call.object, v->call.request, &error)) &&
      (!v->starts_job || st->admit == NULL ||
       st->admit (st->admit_data, v->call.object,
                  g_dbus_method_invocation_get_sender (v->invocation), &error)))
    return TRUE;
  g_dbus_method_invocation_return_gerror (v->invocation, error);
  return FALSE;
}

static gboolean
is_granted (Visit *v, const char *action)
{
  return g_ptr_array_find_with_equal_func (v->granted, action, g_str_equal, NULL);
}

/* The next action the call needs that polkit has not allowed yet, as
 * things are now; NULL when all are. */
static const char *
next_action (Visit *v)
{
  const char *also_of;

  if (v->call.also && !is_granted (v, v->call.also))
    return v->call.also;
  also_of = v->call.also_of ? v->call.also_of (v->call.object, v->call.request) : NULL;
  if (also_of && !is_granted (v, also_of))
    return also_of;
  return NULL;
}

static void ask (Visit *v, const char *action);

static void
on_checked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Visit *v = user_data;
  g_autoptr(GError) error = NULL;
  const char *next;

  /* Cancelled too when the caller left: the bus drops that answer. */
  if (!hdd_authority_check_finish (HDD_AUTHORITY (source), result, &error))
    {
      g_dbus_method_invocation_return_gerror (v->invocation, error);
      visit_free (v);
      return;
    }
  g_ptr_array_add (v->granted, (gpointer) v->asking);
  /* Checked again: the caller was asked about while things went on.  The
   * check comes first: what the call needs may depend on what it fills in
   * the request. */
  if (!check (v))
    {
      visit_free (v);
      return;
    }
  next = next_action (v);
  if (next)
    {
      ask (v, next);
      return;
    }
  /* Nothing yields between the check, the last look at what the call
   * needs and the run: all three see the same state. */
  v->call.run (v->call.object, v->invocation, v->call.request);
  visit_free (v);
}

static void
ask (Visit *v, const char *action)
{
  v->asking = action;
  hdd_authority_check (v->authority, v->invocation, action, v->interactive, v->cancellable,
                       on_checked, v);
}

void
hdd_bouncer_dispatch (HddAuthority          *authority,
                      GDBusMethodInvocation *invocation,
                      GVariant              *options,
                      const HddBouncerCall  *call)
{
  const char *action = hdd_bouncer_action_of (g_dbus_method_invocation_get_interface_name (invocation),
                                              g_dbus_method_invocation_get_method_name (invocation));
  Visit *v = g_new0 (Visit, 1);

  v->authority = g_object_ref (authority);
  v->invocation = g_object_ref (invocation);
  v->options = g_variant_ref (options);
  v->call = *call;
  g_object_ref (v->call.object);
  v->granted = g_ptr_array_new ();
  v->starts_job = g_strv_contains (job_methods,
                                   g_dbus_method_invocation_get_method_name (invocation));
  g_variant_lookup (options, "allow-interaction", "b", &v->interactive);

  if (action == NULL)
    {
      g_dbus_method_invocation_return_error (invocation, HDD_ERROR, HDD_ERROR_NOT_AUTHORIZED,
                                             "No authorization is defined for %s.%s",
                                             g_dbus_method_invocation_get_interface_name (invocation),
                                             g_dbus_method_invocation_get_method_name (invocation));
      visit_free (v);
      return;
    }
  if (!check (v))
    {
      visit_free (v);
      return;
    }
  /* Root, known as root: as on_checked() after every answer, without one. */
  if (hdd_authority_allows_at_once (authority, g_dbus_method_invocation_get_sender (invocation)))
    {
      g_debug ("%s is known as root: %s allowed at once",
               g_dbus_method_invocation_get_sender (invocation), action);
      v->call.run (v->call.object, v->invocation, v->call.request);
      visit_free (v);
      return;
    }
  if (!pending_add (v))
    {
      visit_free (v);
      return;
    }
  ask (v, action);
}
