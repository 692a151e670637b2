#include "hdd-domain-methods.h"

#include "hdd-attach.h"
#include "hdd-bouncer.h"
#include "hdd-context.h"
#include "hdd-device.h"
#include "hdd-error.h"
#include "hdd-job-table.h"
#include "hdd-libvirt.h"
#include "hdd-names.h"
#include "hdd-options.h"
#include "hdd-unplug.h"
#include "hdd-vfio-sysfs.h"

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

static HddLibvirt *
libvirt_of (Target *t)
{
  return hdd_context_get_libvirt (t->services->context);
}

static void
bouncer_dispatch (GObject *object, GDBusMethodInvocation *invocation, GVariant *options,
                  HddBouncerCall call)
{
  call.object = object;
  hdd_bouncer_dispatch (hdd_device_get_services (HDD_DEVICE (object))->authority, invocation,
                        options, &call);
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

/* ---- Unplug and DetachFromDomain ---- */

typedef struct {
  GVariant        *options;
  HddUnplugOptions parsed;
} UnplugRequest;

static void
unplug_request_free (gpointer data)
{
  UnplugRequest *r = data;

  g_variant_unref (r->options);
  g_free (r);
}

static UnplugRequest *
unplug_request_new (GVariant *options)
{
  UnplugRequest *r = g_new0 (UnplugRequest, 1);

  r->options = g_variant_ref (options);
  return r;
}

/* The options, parsed as things are now (the kernel's revoke is read
 * again: Manager.SupportsRevoke follows events, a call cannot wait for
 * them), and a device that can be unplugged (an mdev that runs).  The job
 * checks the device's own vfio-dev. */
static gboolean
check_unplug (gpointer object, gpointer request, GError **error)
{
  UnplugRequest *r = request;
  g_auto(Target) t = { 0 };

  target_init (&t, object);
  if (!hdd_unplug_options_parse (r->options, hdd_vfio_sysfs_kernel_can_revoke (), &r->parsed,
                                 error))
    return FALSE;
  if (r->parsed.policy == HDD_UNPLUG_POLICY_REVOKE && !hdd_vfio_sysfs_may_revoke (error))
    return FALSE;
  return hdd_device_check_unplug (t.device, error);
}

static void
run_unplug (gpointer object, GDBusMethodInvocation *invocation, gpointer request)
{
  UnplugRequest *r = request;
  g_auto(Target) t = { 0 };

  target_init (&t, object);
  start_job (&t, invocation, (HddJobWork) { "unplug", hdd_unplug_run,
             hdd_unplug_new (t.services->context, t.key, &r->parsed, FALSE), hdd_unplug_free });
}

gboolean
hdd_domain_methods_unplug (GObject               *object,
                           GDBusMethodInvocation *invocation,
                           GVariant              *options)
{
  const char *policy = NULL;
  gboolean destroy;

  if (!hdd_options_check_call (invocation, options, unplug_options))
    return TRUE;
  /* Destroying a guest at the deadline is an action of its own. */
  destroy = g_variant_lookup (options, "policy", "&s", &policy) &&
            g_str_equal (policy, hdd_unplug_policy_to_string (HDD_UNPLUG_POLICY_DESTROY_DOMAIN));
  bouncer_dispatch (object, invocation, options,
                    (HddBouncerCall) { .request = unplug_request_new (options),
                                       .request_free = unplug_request_free,
                                       .check = check_unplug, .run = run_unplug,
                                       .also = destroy ? HDD_ACTION_DESTROY_DOMAIN : NULL });
  return TRUE;
}

/* DetachFromDomain: libvirt only, never the kernel, so no revoke. */
static gboolean
check_detach (gpointer object, gpointer request, GError **error)
{
  UnplugRequest *r = request;
  g_auto(Target) t = { 0 };

  target_init (&t, object);
  if (!hdd_unplug_options_parse (r->options, FALSE, &r->parsed, error) ||
      !check_libvirt (libvirt_of (&t), "detach a device from a domain", error))
    return FALSE;
  if (*t.domain)
    return TRUE;
  g_set_error (error, HDD_ERROR, HDD_ERROR_NOT_FOUND,
               "%s is not attached to a running libvirt domain", t.name);
  return FALSE;
}

static void
run_detach (gpointer object, GDBusMethodInvocation *invocation, gpointer request)
{
  UnplugRequest *r = request;
  g_auto(Target) t = { 0 };

  target_init (&t, object);
  start_job (&t, invocation, (HddJobWork) { "detach-from-domain", hdd_unplug_run,
             hdd_unplug_new (t.services->context, t.key, &r->parsed, TRUE), hdd_unplug_free });
}

gboolean
hdd_domain_methods_detach (GObject               *object,
                           GDBusMethodInvocation *invocation,
                           GVariant              *options)
{
  if (hdd_options_check_call (invocation, options, detach_options))
    bouncer_dispatch (object, invocation, options,
                      (HddBouncerCall) { .request = unplug_request_new (options),
                                         .request_free = unplug_request_free,
                                         .check = check_detach, .run = run_detach });
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

typedef struct {
  char     *domain;
  gboolean  persistent;
  gboolean  rom_bar_off;
} AttachRequest;

static void
attach_request_free (gpointer data)
{
  AttachRequest *r = data;

  g_free (r->domain);
  g_free (r);
}

/* A running domain that does not have the device yet, and a device that
 * can be made ready (a viable group, an mdev that runs or is defined). */
static gboolean
check_attach (gpointer object, gpointer request, GError **error)
{
  AttachRequest *r = request;
  g_auto(Target) t = { 0 };
  HddLibvirt *libvirt;

  target_init (&t, object);
  libvirt = libvirt_of (&t);
  if (!hdd_domain_methods_check_name (r->domain, error) ||
      !check_libvirt (libvirt, "attach a device to a domain", error))
    return FALSE;
  if (!hdd_libvirt_domain_is_running (libvirt, r->domain))
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_NOT_FOUND, "No running libvirt domain is named %s",
                   r->domain);
      return FALSE;
    }
  if (*t.domain)
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_BUSY, "%s is attached to domain %s already",
                   t.name, t.domain);
      return FALSE;
    }
  return hdd_device_check_attach (t.device, error);
}

/* What the attach job will do to the host before it asks libvirt, as
 * things are now (what hdd_device_kind's prepare does): a PCI device not
 * on vfio-pci is taken from its driver, which is what org.hostdevd1.bind
 * allows; an mdev that does not run is created, which is
 * org.hostdevd1.mdev's.  org.hostdevd1.attach alone lets a VM operator
 * give a guest what the host has already set aside for guests. */
static const char *
attach_also (gpointer object, gpointer request)
{
  return hdd_attach_action_needed (hdd_device_get_key (HDD_DEVICE (object)));
}

static void
run_attach (gpointer object, GDBusMethodInvocation *invocation, gpointer request)
{
  AttachRequest *r = request;
  g_auto(Target) t = { 0 };

  HddAttach *attach;

  target_init (&t, object);
  attach = hdd_attach_new (t.services->context, t.key, r->domain,
                           hdd_device_get_definition (t.device), r->persistent, r->rom_bar_off);
  /* The bouncer asked polkit for what attach_also() says now: the job may
   * bind or create only if that was part of it. */
  hdd_attach_set_may_prepare (attach, attach_also (object, request) != NULL);
  start_job (&t, invocation, (HddJobWork) { "attach-to-domain", hdd_attach_run, attach,
                                            hdd_attach_free });
}

gboolean
hdd_domain_methods_attach (GObject               *object,
                           GDBusMethodInvocation *invocation,
                           const char            *domain,
                           GVariant              *options)
{
  AttachRequest *r;

  if (!hdd_options_check_call (invocation, options, attach_options))
    return TRUE;
  r = g_new0 (AttachRequest, 1);
  r->domain = g_strdup (domain);
  r->persistent = hdd_options_get_boolean (options, "persistent", FALSE);
  r->rom_bar_off = !hdd_options_get_boolean (options, "rom-bar", TRUE);
  bouncer_dispatch (object, invocation, options,
                    (HddBouncerCall) { .request = r, .request_free = attach_request_free,
                                       .check = check_attach, .run = run_attach,
                                       .also_of = attach_also });
  return TRUE;
}
