#include "hdd-domain-methods.h"

#include "hdd-attach.h"
#include "hdd-authority.h"
#include "hdd-context.h"
#include "hdd-device.h"
#include "hdd-error.h"
#include "hdd-job-table.h"
#include "hdd-libvirt.h"
#include "hdd-names.h"
#include "hdd-options.h"
#include "hdd-unplug.h"

#include <string.h>

static const HddOptionSpec unplug_options[] = {
  { "deadline", "u" },
  { "policy", "s" },
  { "persistent", "b" },
  { NULL }
};

static const HddOptionSpec attach_options[] = {
  { "persistent", "b" },
  { "rom-bar", "b" },
  { NULL }
};

static const HddOptionSpec detach_options[] = {
  { "deadline", "u" },
  { "persistent", "b" },
  { NULL }
};

/* The device behind @object, PCI device or mdev alike. */
typedef struct {
  HddDevice               *device;
  const HddDeviceServices *services;
  const char              *key;      /* address or UUID */
  const char              *domain;   /* its Domain property */
  char                    *name;     /* "0000:01:00.0", "mdev UUID" */
} Target;

static void
target_init (Target *t, GObject *object)
{
  t->device = HDD_DEVICE (object);
  t->services = hdd_device_get_services (t->device);
  t->key = hdd_device_get_key (t->device);
  t->domain = hdd_device_get_domain (t->device);
  t->name = hdd_device_describe (t->device);
}

static void
target_clear (Target *t)
{
  g_free (t->name);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Target, target_clear)

static void
start_job (Target *t, GDBusMethodInvocation *invocation, HddJobWork work)
{
  HddJob *job = hdd_job_table_start (t->services->jobs, t->device, invocation, work);

  g_dbus_method_invocation_return_value (invocation,
                                         g_variant_new ("(o)", hdd_job_get_object_path (job)));
}

static void
authorize (Target *t, GObject *object, GDBusMethodInvocation *invocation, GVariant *options,
           const char *action, HddAuthorizedFunc func)
{
  hdd_authority_dispatch (t->services->authority, object, invocation, options, action, func);
}

static HddLibvirt *
libvirt_of (Target *t)
{
  return hdd_context_get_libvirt (t->services->context);
}

static gboolean
fail (GDBusMethodInvocation *invocation, GError *error)
{
  g_dbus_method_invocation_return_gerror (invocation, error);
  return TRUE;
}

static gboolean
supports_revoke (Target *t)
{
  return t->services->supports_revoke;
}

/* ---- Unplug ---- */

static void
do_unplug (gpointer object, GDBusMethodInvocation *invocation, GVariant *options)
{
  g_auto(Target) t = { 0 };
  HddUnplugOptions o;

  g_autoptr(GError) error = NULL;

  target_init (&t, object);
  /* Checked in the call already; checked again, as SupportsRevoke may
   * have changed meanwhile. */
  if (!hdd_unplug_options_parse (options, supports_revoke (&t), &o, &error))
    {
      fail (invocation, error);
      return;
    }
  start_job (&t, invocation, (HddJobWork) { "unplug", hdd_unplug_run,
             hdd_unplug_new (t.services->context, t.key, &o, FALSE), hdd_unplug_free });
}

/* The caller may unplug; destroying a guest is asked for separately. */
static void
on_unplug_authorized (gpointer object, GDBusMethodInvocation *invocation, GVariant *options)
{
  g_auto(Target) t = { 0 };
  const char *policy = NULL;

  target_init (&t, object);
  if (g_variant_lookup (options, "policy", "&s", &policy) &&
      g_str_equal (policy, hdd_unplug_policy_to_string (HDD_UNPLUG_POLICY_DESTROY_DOMAIN)))
    authorize (&t, object, invocation, options, HDD_ACTION_DESTROY_DOMAIN, do_unplug);
  else
    do_unplug (object, invocation, options);
}

gboolean
hdd_domain_methods_unplug (GObject               *object,
                           GDBusMethodInvocation *invocation,
                           GVariant              *options)
{
  g_auto(Target) t = { 0 };
  g_autoptr(GError) error = NULL;
  HddUnplugOptions o;

  target_init (&t, object);
  if (!hdd_options_check_call (invocation, options, unplug_options))
    return TRUE;
  if (!hdd_unplug_options_parse (options, supports_revoke (&t), &o, &error))
    return fail (invocation, error);
  if (!hdd_device_check_unplug (t.device, &error))
    return fail (invocation, error);
  authorize (&t, object, invocation, options, HDD_ACTION_UNPLUG, on_unplug_authorized);
  return TRUE;
}

/* ---- AttachToDomain ---- */

gboolean
hdd_domain_methods_check_name (const char *name,
                       GError    **error)
{
  const char *p;

  if (*name == '\0' || strlen (name) > 255 || !g_utf8_validate (name, -1, NULL))
    goto bad;
  for (p = name; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == '/' || g_unichar_iscntrl (c))
        goto bad;
    }
  return TRUE;

bad:
  {
    g_autofree char *shown = g_strescape (name, NULL);

    g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                 "Invalid domain name “%.64s”: 1 to 255 characters, no “/” and no "
                 "control characters", shown);
    return FALSE;
  }
}

static void
do_attach (gpointer object, GDBusMethodInvocation *invocation, GVariant *options)
{
  g_auto(Target) t = { 0 };
  const HddMdevConfig *definition = NULL;
  const char *domain = g_object_get_data (G_OBJECT (invocation), "hdd-domain");
  gboolean persistent = hdd_options_get_boolean (options, "persistent", FALSE);
  gboolean rom_bar = hdd_options_get_boolean (options, "rom-bar", TRUE);

  target_init (&t, object);
  definition = hdd_device_get_definition (t.device);
  start_job (&t, invocation, (HddJobWork) { "attach-to-domain", hdd_attach_run,
             hdd_attach_new (t.services->context, t.key, domain, definition, persistent,
                             !rom_bar), hdd_attach_free });
}

static gboolean
check_libvirt (HddLibvirt *libvirt, const char *what, GError **error)
{
  if (hdd_libvirt_is_connected (libvirt))
    return TRUE;
  g_set_error (error, HDD_ERROR, HDD_ERROR_NOT_SUPPORTED,
               "Cannot %s: hostdevd is not connected to libvirt (%s)", what,
               hdd_libvirt_get_uri (libvirt));
  return FALSE;
}

gboolean
hdd_domain_methods_attach (GObject               *object,
                           GDBusMethodInvocation *invocation,
                           const char            *domain,
                           GVariant              *options)
{
  g_auto(Target) t = { 0 };
  g_autoptr(GError) error = NULL;
  HddLibvirt *libvirt;

  target_init (&t, object);
  libvirt = libvirt_of (&t);
  if (!hdd_options_check_call (invocation, options, attach_options))
    return TRUE;
  if (!hdd_domain_methods_check_name (domain, &error) ||
      !check_libvirt (libvirt, "attach a device to a domain", &error))
    return fail (invocation, error);
  if (!hdd_libvirt_domain_is_running (libvirt, domain))
    {
      g_set_error (&error, HDD_ERROR, HDD_ERROR_NOT_FOUND, "No running libvirt domain is named %s",
                   domain);
      return fail (invocation, error);
    }
  if (*t.domain)
    {
      g_set_error (&error, HDD_ERROR, HDD_ERROR_BUSY, "%s is attached to domain %s already",
                   t.name, t.domain);
      return fail (invocation, error);
    }
  if (!hdd_device_check_attach (t.device, &error))
    return fail (invocation, error);
  g_object_set_data_full (G_OBJECT (invocation), "hdd-domain", g_strdup (domain), g_free);
  authorize (&t, object, invocation, options, HDD_ACTION_ATTACH, do_attach);
  return TRUE;
}

/* ---- DetachFromDomain ---- */

static void
do_detach (gpointer object, GDBusMethodInvocation *invocation, GVariant *options)
{
  g_auto(Target) t = { 0 };
  HddUnplugOptions o;

  g_autoptr(GError) error = NULL;

  target_init (&t, object);
  if (!hdd_unplug_options_parse (options, FALSE, &o, &error))
    {
      fail (invocation, error);
      return;
    }
  start_job (&t, invocation, (HddJobWork) { "detach-from-domain", hdd_unplug_run,
             hdd_unplug_new (t.services->context, t.key, &o, TRUE), hdd_unplug_free });
}

gboolean
hdd_domain_methods_detach (GObject               *object,
                           GDBusMethodInvocation *invocation,
                           GVariant              *options)
{
  g_auto(Target) t = { 0 };
  g_autoptr(GError) error = NULL;
  HddUnplugOptions o;

  target_init (&t, object);
  if (!hdd_options_check_call (invocation, options, detach_options))
    return TRUE;
  if (!hdd_unplug_options_parse (options, FALSE, &o, &error) ||
      !check_libvirt (libvirt_of (&t), "detach a device from a domain", &error))
    return fail (invocation, error);
  if (*t.domain == '\0')
    {
      g_set_error (&error, HDD_ERROR, HDD_ERROR_NOT_FOUND,
                   "%s is not attached to a running libvirt domain", t.name);
      return fail (invocation, error);
    }
  authorize (&t, object, invocation, options, HDD_ACTION_ATTACH, do_detach);
  return TRUE;
}
