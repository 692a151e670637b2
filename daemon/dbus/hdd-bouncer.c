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

typedef struct {
  HddAuthority          *authority;
  GDBusMethodInvocation *invocation;
  GVariant              *options;
  HddBouncerCall         call;
  gboolean               interactive;
  const char            *asking;         /* the action polkit is asked for */
  GPtrArray             *granted;        /* of const char *: actions allowed */
} Visit;

static void
visit_free (Visit *v)
{
  if (v->call.request_free && v->call.request)
    v->call.request_free (v->call.request);
  g_object_unref (v->call.object);
  g_object_unref (v->invocation);
  g_object_unref (v->authority);
  g_variant_unref (v->options);
  g_ptr_array_unref (v->granted);
  g_free (v);
}

static gboolean
check (Visit *v)
{
  g_autoptr(GError) error = NULL;

  if (v->call.check == NULL || v->call.check (v->call.object, v->call.request, &error))
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
  hdd_authority_check (v->authority, v->invocation, action, v->interactive, NULL, on_checked, v);
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
  ask (v, action);
}
