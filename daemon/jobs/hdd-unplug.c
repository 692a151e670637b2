#include "hdd-unplug.h"

#include "hdd-context.h"
#include "hdd-device-kind.h"
#include "hdd-error.h"
#include "hdd-holders.h"
#include "hdd-libvirt.h"
#include "hdd-log.h"
#include "hdd-sysfs.h"
#include "hdd-vfio-sysfs.h"

struct _HddUnplug
{
  HddContext          *context;
  HddLibvirt          *libvirt;
  char                *key;
  const HddDeviceKind *kind;
  HddUnplugOptions options;
  gboolean         detach_only;
};

/* One run of the job, in its thread. */
typedef struct {
  HddJob           *job;
  HddUnplug        *u;
  char             *name;          /* "0000:01:00.0", "mdev UUID" */
  HddUnplugMachine  m;
  GStrv             nodes;
  char             *release_state;
  HddDomainInfo    *domain;        /* the domain that has the device, or NULL */
  const HddHostdev *hostdev;       /* its <hostdev>, in domain->hostdevs */
  char             *refusal;       /* why libvirt could not detach it */
  gboolean          had_holders;
  gint64            holders_gone;  /* when the holders were seen gone, monotonic */
  gboolean          stopped;       /* the domain stopped */
  gint64            start;         /* monotonic */
  gint64            deadline;      /* monotonic */
  gboolean          revoke_tried;  /* policy revoke wrote the kernel's revoke */
  char             *revoked_from;  /* whom the kernel revoked it from, NULL if not */
  char             *revoke_who;    /* its holders, found while the release starts */
} Run;

HddUnplug *
hdd_unplug_new (HddContext             *context,
                const char             *key,
                const HddUnplugOptions *options,
                gboolean                detach_only)
{
  HddUnplug *u = g_new0 (HddUnplug, 1);

  u->context = g_object_ref (context);
  u->libvirt = g_object_ref (hdd_context_get_libvirt (context));
  u->key = g_strdup (key);
  u->kind = hdd_device_kind_of_key (key);
  u->options = *options;
  u->detach_only = detach_only;
  return u;
}

void
hdd_unplug_free (gpointer data)
{
  HddUnplug *u = data;

  g_object_unref (u->context);
  g_object_unref (u->libvirt);
  g_free (u->key);
  g_free (u);
}

static void
run_clear (Run *r)
{
  g_free (r->name);
  g_strfreev (r->nodes);
  g_free (r->release_state);
  hdd_domain_info_free (r->domain);
  g_free (r->refusal);
  g_free (r->revoked_from);
  g_free (r->revoke_who);
}

static double
seconds_since (gint64 since)
{
  return (double) (g_get_monotonic_time () - since) / G_USEC_PER_SEC;
}

static GPtrArray *
scan_holders (Run *r)
{
  return hdd_holders_scan ((const char * const *) r->nodes);
}

static char *describe_holders (Run *r, GPtrArray *holders);

/* "deadline in N s", or "deadline passed" once less than half a second
 * (shown as 0 s) is left. */
static char *
describe_deadline (Run *r)
{
  double left = (double) (r->deadline - g_get_monotonic_time ()) / G_USEC_PER_SEC;

  return left >= 0.5 ? g_strdup_printf ("deadline in %.0f s", left)
                     : g_strdup ("deadline passed");
}

/* Progress of a waiting job: the share of its deadline that has passed,
 * between what planning took and the end. */
static void
report_wait (Run *r, const char *what)
{
  double waited = seconds_since (r->start);
  g_autofree char *deadline = describe_deadline (r);
  /* Why it will not finish by itself, when QEMU said so. */
  g_autofree char *failure = hdd_job_dup_qemu_failure (r->job);

  hdd_job_set_progress (r->job, 0.1 + 0.8 * MIN (1.0, waited / r->u->options.deadline_s));
  hdd_job_set_status (r->job, "%s: %.0f s so far, %s%s%s", what, waited, deadline,
                      failure ? "; QEMU cannot unplug it: " : "", failure ? failure : "");
}

/* ---- 1. Who has the device ---- */

/* Policy revoke needs the kernel's revoke for this very device (its
 * vfio-dev): checked before anything is done, and again before the
 * kernel's release starts.  A device without vfio-dev has no VFIO user
 * to revoke, and its release does not wait for one. */
static gboolean
check_can_revoke (Run *r, GError **error)
{
  g_autofree char *vfio = NULL;

  if (r->u->detach_only || r->u->options.policy != HDD_UNPLUG_POLICY_REVOKE ||
      r->release_state == NULL || !hdd_sysfs_exists (r->release_state) ||
      hdd_vfio_sysfs_can_revoke (r->release_state))
    return TRUE;
  vfio = g_path_get_basename (r->release_state);
  g_set_error (error, HDD_ERROR, HDD_ERROR_NOT_SUPPORTED,
               "The policy revoke needs a kernel that can revoke %s from its user, and this "
               "one cannot (%s has no revoke attribute)", r->name, vfio);
  return FALSE;
}

static gboolean
plan (Run *r, GError **error)
{
  HddUnplug *u = r->u;
  g_autoptr(GPtrArray) holders = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GError) local = NULL;

  if (!u->kind->find_nodes (u->key, &r->nodes, &r->release_state, error) ||
      !check_can_revoke (r, error))
    return FALSE;

  holders = scan_holders (r);
  text = hdd_holders_describe (holders);
  r->had_holders = holders->len > 0;
  if (r->had_holders)
    hdd_job_step (r->job, "Holders of %s: %s", r->name, text);
  else
    hdd_job_step (r->job, "No process holds %s", r->name);

  r->domain = hdd_libvirt_find_hostdev (u->libvirt, u->key, &local);
  if (local)
    hdd_job_step (r->job, "%s", local->message);
  else if (r->domain == NULL)
    hdd_job_step (r->job, "No running libvirt domain has %s", r->name);
  else
    {
      g_autofree char *pid = r->domain->pid ? g_strdup_printf (" (QEMU pid %u)", r->domain->pid)
                                            : g_strdup ("");

      r->hostdev = hdd_hostdev_find (r->domain->hostdevs, u->key);
      hdd_job_set_domain (r->job, r->domain->name);
      hdd_job_step (r->job, "Libvirt domain %s%s has %s as %s", r->domain->name, pid, r->name,
                    r->hostdev->alias ? r->hostdev->alias : "a hostdev without alias");
    }
  hdd_job_set_progress (r->job, 0.1);
  if (u->detach_only && r->domain == NULL)
    {
      if (local)
        g_propagate_error (error, g_steal_pointer (&local));
      else
        g_set_error (error, HDD_ERROR, HDD_ERROR_NOT_FOUND,
                     "%s is not attached to a running libvirt domain", r->name);
      return FALSE;
    }
  return TRUE;
}

/* ---- What the policy does at the deadline ---- */

static void
destroy_domain (Run *r)
{
  g_autoptr(GError) error = NULL;
  const char *name = r->domain->name;

  /* Loud: a guest is killed.  The policy is an explicit choice of the
   * caller, authorized separately (org.hostdevd1.destroy-domain). */
  hdd_warning (r->u->key, hdd_job_get_id (r->job),
               "Job %u: policy destroy-domain: destroying libvirt domain %s, whose guest did "
               "not let %s go within %u s", hdd_job_get_id (r->job), name, r->name,
               r->u->options.deadline_s);
  hdd_job_step (r->job, "Destroying domain %s (policy destroy-domain): its guest did not let %s "
                "go within %u s", name, r->name, r->u->options.deadline_s);
  if (hdd_libvirt_destroy (r->u->libvirt, name, &error))
    hdd_job_step (r->job, "Domain %s was destroyed; waiting for its QEMU to let %s go",
                  name, r->name);
  else
    hdd_job_step (r->job, "Could not destroy domain %s: %s; still waiting", name, error->message);
}

static void
say_deadline (Run *r, HddUnplugAction action)
{
  guint s = r->u->options.deadline_s;
  g_autoptr(GPtrArray) holders = scan_holders (r);
  g_autofree char *text = hdd_holders_describe (holders);
  g_autofree char *who = r->domain ? g_strdup_printf ("domain %s", r->domain->name)
                         : *text ? g_strdup (text) : g_strdup ("its holder");
  g_autofree char *failure = hdd_job_dup_qemu_failure (r->job);

  if (failure)
    hdd_job_step (r->job, "QEMU of %s said it cannot unplug %s: %s", who, r->name, failure);

  switch (action)
    {
    case HDD_UNPLUG_ACTION_RELEASE_KERNEL:
      hdd_job_step (r->job, "Deadline of %u s passed: %s has not let %s go; policy wait: "
                    "releasing it through the kernel, which asks again every 10 s",
                    s, who, r->name);
      break;
    case HDD_UNPLUG_ACTION_REVOKE:
      hdd_job_step (r->job, "Deadline of %u s passed: %s has not let %s go; policy revoke: "
                    "revoking it from its holders once the kernel's release waits for them",
                    s, who, r->name);
      break;
    case HDD_UNPLUG_ACTION_KEEP_WAITING:
      if (r->u->options.policy == HDD_UNPLUG_POLICY_FAIL)
        hdd_job_step (r->job, "Deadline of %u s passed: %s has not let %s go, but the kernel's "
                      "release cannot be interrupted once started (policy fail gives up only "
                      "before it): still waiting", s, who, r->name);
      else if (r->u->options.policy == HDD_UNPLUG_POLICY_DESTROY_DOMAIN && !r->m.domain_known)
        hdd_job_step (r->job, "Deadline of %u s passed: no libvirt domain has %s, so policy "
                      "destroy-domain has nothing to destroy: still waiting for %s",
                      s, r->name, who);
      else
        hdd_job_step (r->job, "Deadline of %u s passed: %s has not let %s go; policy %s: "
                      "still waiting", s, who, r->name,
                      hdd_unplug_policy_to_string (r->u->options.policy));
      break;
    default:
      break;   /* the action says it itself */
    }
}

static gboolean
give_up (Run *r, GError **error)
{
  g_autoptr(GPtrArray) holders = scan_holders (r);
  g_autofree char *text = hdd_holders_describe (holders);

  g_set_error (error, HDD_ERROR, HDD_ERROR_TIMED_OUT,
               "Domain %s did not let %s go within %u s%s%s%s; it was asked to unplug it "
               "and may still do so", r->domain->name, r->name, r->u->options.deadline_s,
               r->u->detach_only ? "" : " (policy fail)", *text ? ": " : "", text);
  return FALSE;
}

/* ---- 2. Asking the guest through libvirt ---- */

static void
say_free_after_guest (Run *r)
{
  g_autoptr(GPtrArray) holders = scan_holders (r);
  g_autofree char *text = hdd_holders_describe (holders);

  if (holders->len > 0)
    /* QEMU keeps a group node open while other devices of the group are
     * still attached. */
    hdd_job_step (r->job, "Domain %s let %s go after %.1f s; still open: %s", r->domain->name,
                  r->name, seconds_since (r->start), text);
  else
    hdd_job_step (r->job, "%s is free after %.1f s: domain %s %s, it stays %sfor the next guest",
                  r->name, seconds_since (r->start), r->domain->name,
                  r->m.destroy_requested ? "was destroyed" : "let it go",
                  r->u->kind->stays);
}

/* Whether the domain still has the device: a removal event of a hostdev
 * without alias may be another device's. */
static gboolean
domain_still_has_it (Run *r)
{
  g_autoptr(HddDomainInfo) now = hdd_libvirt_find_hostdev (r->u->libvirt, r->u->key, NULL);

  return now && g_str_equal (now->uuid, r->domain->uuid);
}

/* What happened while waiting, as an event of the machine; FALSE when
 * nothing did. */
static gboolean
next_guest_event (Run *r, HddLibvirtWatch *watch, HddUnplugEvent *event)
{
  gint64 now = g_get_monotonic_time ();
  gint64 until = now + HDD_UNPLUG_TICK_MS * 1000;
  const char *domain = r->domain->name;
  g_autoptr(GPtrArray) holders = NULL;

  if (!r->m.deadline_passed)
    until = MIN (until, r->deadline);
  switch (hdd_libvirt_watch_wait (watch, until))
    {
    case HDD_LIBVIRT_WATCH_REMOVED:
      if (r->hostdev->alias == NULL && domain_still_has_it (r))
        break;
      hdd_job_step (r->job, "Domain %s removed %s after %.1f s (libvirt: device removed)",
                    domain, r->name, seconds_since (r->start));
      *event = HDD_UNPLUG_EVENT_GUEST_REMOVED;
      return TRUE;
    case HDD_LIBVIRT_WATCH_REMOVAL_FAILED:
      r->refusal = g_strdup_printf ("The guest of domain %s refused to unplug %s "
                                    "(libvirt: device removal failed)", domain, r->name);
      hdd_job_step (r->job, "%s", r->refusal);
      *event = HDD_UNPLUG_EVENT_GUEST_REFUSED;
      return TRUE;
    case HDD_LIBVIRT_WATCH_STOPPED:
      hdd_job_step (r->job, "Domain %s stopped", domain);
      r->stopped = TRUE;
      break;
    case HDD_LIBVIRT_WATCH_DISCONNECTED:
      hdd_job_step (r->job, "The connection to libvirt was lost; watching the holders of %s",
                    r->name);
      break;
    case HDD_LIBVIRT_WATCH_NOTHING:
      break;
    }

  /* At the deadline the policy comes first: the scan of /proc takes a
   * while under load, and a release the guest made meanwhile shows in
   * the kernel's release, which finds nobody to wait for. */
  if (!r->m.deadline_passed && g_get_monotonic_time () >= r->deadline)
    {
      *event = HDD_UNPLUG_EVENT_DEADLINE;
      return TRUE;
    }
  holders = scan_holders (r);
  /* Whom a revoke at the deadline would be from, ready before it */
  if (r->u->options.policy == HDD_UNPLUG_POLICY_REVOKE && holders->len > 0)
    {
      g_free (r->revoke_who);
      r->revoke_who = describe_holders (r, holders);
    }
  if (r->had_holders && holders->len == 0)
    {
      if (r->holders_gone == 0)
        {
          r->holders_gone = g_get_monotonic_time ();
          hdd_job_step (r->job, "No process holds %s any more", r->name);
        }
      /* QEMU closes the device before libvirt reports it removed: a moment
       * for that report, so that the job ends when libvirt's view of the
       * domain agrees.  A domain that stopped says nothing more. */
      if (r->stopped ||
          g_get_monotonic_time () - r->holders_gone >= HDD_UNPLUG_REMOVED_GRACE_MS * 1000)
        {
          *event = HDD_UNPLUG_EVENT_HOLDERS_GONE;
          return TRUE;
        }
    }
  if (!r->m.deadline_passed && g_get_monotonic_time () >= r->deadline)
    {
      *event = HDD_UNPLUG_EVENT_DEADLINE;
      return TRUE;
    }
  return FALSE;
}

/* Returns with *@action one of COMPLETE, RELEASE_KERNEL, GIVE_UP, REVOKE;
 * FALSE when cancelled. */
static gboolean
ask_guest (Run *r, HddUnplugAction *action, GError **error)
{
  HddUnplug *u = r->u;
  const char *domain = r->domain->name;
  g_autofree char *xml = hdd_hostdev_to_xml (r->hostdev);
  g_autoptr(HddLibvirtWatch) watch = hdd_libvirt_watch_new (u->libvirt, r->domain->uuid,
                                                            r->hostdev->alias);
  g_autoptr(GError) local = NULL;
  g_autofree char *deadline = NULL;
  g_autofree char *waiting = g_strdup_printf ("Waiting for domain %s to unplug %s",
                                              domain, r->name);

  hdd_job_step (r->job, "Asking libvirt to detach %s from domain %s (live%s)", r->name, domain,
                u->options.persistent ? " and persistent" : "");
  if (!hdd_libvirt_detach (u->libvirt, domain, xml, u->options.persistent, &local))
    {
      r->refusal = g_strdup (local->message);
      hdd_job_step (r->job, "%s", local->message);
      *action = hdd_unplug_machine_next (&r->m, HDD_UNPLUG_EVENT_GUEST_REFUSED, FALSE);
      return TRUE;
    }
  deadline = describe_deadline (r);
  hdd_job_step (r->job, "Libvirt asked the guest of domain %s to unplug %s; waiting for it "
                "(%s)", domain, r->name, deadline);
  hdd_job_watch_holders (r->job, u->key, (const char * const *) r->nodes, r->release_state);

  for (;;)
    {
      HddUnplugEvent event;

      if (!hdd_job_check_cancelled (r->job, NULL))
        {
          g_set_error (error, HDD_ERROR, HDD_ERROR_CANCELLED,
                       "Cancelled; the guest of domain %s was asked to unplug %s already, "
                       "and libvirt completes the unplug if it does", domain, r->name);
          return FALSE;
        }
      if (!next_guest_event (r, watch, &event))
        {
          report_wait (r, waiting);
          continue;
        }
      *action = hdd_unplug_machine_next (&r->m, event, FALSE);
      if (event == HDD_UNPLUG_EVENT_DEADLINE)
        say_deadline (r, *action);
      switch (*action)
        {
        case HDD_UNPLUG_ACTION_KEEP_WAITING:
          continue;
        case HDD_UNPLUG_ACTION_DESTROY_DOMAIN:
          destroy_domain (r);
          continue;
        case HDD_UNPLUG_ACTION_COMPLETE:
          hdd_job_end_release (r->job);
          say_free_after_guest (r);
          return TRUE;
        default:
          return TRUE;
        }
    }
}

/* ---- 3. Releasing through the kernel ---- */

typedef struct {
  HddJob    *job;
  HddUnplug *u;
  GMutex     lock;
  GCond      cond;
  gboolean   done;
  char      *done_text;   /* where the device went */
  gboolean   ok;
  GError    *error;
} Writer;

static gpointer
writer_thread (gpointer data)
{
  Writer *w = data;
  GError *error = NULL;
  char *done = NULL;
  gboolean ok;

  ok = w->u->kind->release (w->job, w->u->context, w->u->key, &done, &error);
  g_mutex_lock (&w->lock);
  w->done_text = done;
  w->done = TRUE;
  w->ok = ok;
  w->error = error;
  g_cond_broadcast (&w->cond);
  g_mutex_unlock (&w->lock);
  return NULL;
}

static gboolean
wait_for_writer (Writer *w, gint64 until)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&w->lock);

  while (!w->done)
    if (!g_cond_wait_until (&w->cond, &w->lock, until))
      break;
  return w->done;
}

/* "qemu-system-x86 (pid 1234) of domain guest": the processes that hold
 * the device, each once, and the domain whose QEMU it is. */
static char *
describe_holders (Run *r, GPtrArray *holders)
{
  g_autoptr(GString) text = g_string_new (NULL);
  guint32 last = 0;

  for (guint i = 0; i < holders->len; i++)
    {
      HddHolder *h = g_ptr_array_index (holders, i);

      if (h->pid == last)
        continue;   /* sorted by pid: the same process with another node */
      last = h->pid;
      g_string_append_printf (text, "%s%s (pid %u)", text->len ? ", " : "", h->command, h->pid);
    }
  if (text->len == 0)
    g_string_append (text, "its users");
  if (r->domain)
    g_string_append_printf (text, " of domain %s", r->domain->name);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static char *
describe_users (Run *r)
{
  g_autoptr(GPtrArray) holders = scan_holders (r);

  return describe_holders (r, holders);
}

/* Policy revoke, once the kernel's release waits for the holders
 * (release_pending 1): the kernel takes the device from them — their open
 * files of it fail from then on, the processes live on — and the waiting
 * unbind or remove completes.  A refusal leaves the release to its
 * holders, as policy wait does: it cannot be interrupted. */
static void
revoke_users (Run *r)
{
  g_autofree char *who = r->revoke_who ? g_steal_pointer (&r->revoke_who) : describe_users (r);
  g_autoptr(GError) error = NULL;
  guint id = hdd_job_get_id (r->job);

  r->revoke_tried = TRUE;
  hdd_job_step (r->job, "Revoking %s from %s (policy revoke): the kernel's release waits for "
                "them", r->name, who);
  switch (hdd_vfio_sysfs_revoke (r->release_state, &error))
    {
    case HDD_VFIO_REVOKE_DONE:
      /* Loud, as a destroy is: a guest loses a device it did not give up. */
      hdd_warning (r->u->key, id, "Job %u: policy revoke: the kernel revoked %s from %s, "
                   "which did not let it go within %u s", id, r->name, who,
                   r->u->options.deadline_s);
      hdd_job_step (r->job, "The kernel revoked %s from %s: their open files of it fail from "
                    "now on, the processes live on; waiting for the release to end",
                    r->name, who);
      r->revoked_from = g_steal_pointer (&who);
      break;
    case HDD_VFIO_REVOKE_NOT_WAITING:
      hdd_job_step (r->job, "Did not revoke %s: the kernel says no release waits for its users "
                    "any more (%s): they let it go at that moment", r->name, error->message);
      break;
    case HDD_VFIO_REVOKE_GONE:
      hdd_job_step (r->job, "Did not revoke %s: %s; the release ended meanwhile",
                    r->name, error->message);
      break;
    case HDD_VFIO_REVOKE_UNSUPPORTED:
      hdd_job_step (r->job, "Cannot revoke %s (NotSupported): %s; waiting for its holders as "
                    "policy wait does", r->name, error->message);
      break;
    case HDD_VFIO_REVOKE_FAILED:
      hdd_job_step (r->job, "The kernel refused to revoke %s: %s; waiting for its holders as "
                    "policy wait does", r->name, error->message);
      break;
    }
}

/* How the step after the release says it: " after revoking it from …". */
static char *
said_revoked (Run *r)
{
  if (r->revoked_from)
    return g_strdup_printf (" after revoking it from %s", r->revoked_from);
  if (r->revoke_tried)
    return g_strdup (" without a revocation: its holders let it go");
  return g_strdup ("");
}

/* How often the release loop looks at release_pending while a revoke is
 * due: from 1 ms, doubling to 64 ms (the unbind's wait starts within a few
 * milliseconds of its write, or later on a loaded host). */
#define REVOKE_POLL_FIRST_US 1000
#define REVOKE_POLL_LAST_US (64 * 1000)

static gboolean
release_kernel (Run *r, GError **error)
{
  g_autofree char *thread_name = g_strdup_printf ("job-%u-release", hdd_job_get_id (r->job));
  g_autofree char *waiting = g_strdup_printf ("Waiting for the kernel to release %s", r->name);
  g_autofree char *to_revoke = g_strdup_printf ("Waiting for the kernel's release of %s to wait "
                                                 "for its holders, to revoke it", r->name);
  Writer w = { .job = r->job, .u = r->u };
  g_autofree char *done = NULL;
  g_autofree char *revoked = NULL;
  GThread *thread;
  gboolean ok;

  if (r->domain)
    hdd_job_step (r->job, "Releasing %s through the kernel: it asks QEMU of domain %s to let "
                  "it go", r->name, r->domain->name);
  else
    hdd_job_step (r->job, "Releasing %s through the kernel%s", r->name,
                  r->had_holders ? ": it asks the holders to let it go" : "");
  g_mutex_init (&w.lock);
  g_cond_init (&w.cond);
  /* The unbind or remove blocks in the kernel while the device is held:
   * it runs in a thread of its own, so that this one keeps reporting and
   * applies the policy at the deadline. */
  thread = g_thread_new (thread_name, writer_thread, &w);
  for (gint64 revoke_poll = REVOKE_POLL_FIRST_US;; )
    {
      HddUnplugAction action;
      gboolean to_be_revoked = r->m.revoke_requested && !r->revoke_tried;
      gint64 now = g_get_monotonic_time ();
      gint64 until = now + HDD_UNPLUG_TICK_MS * 1000;

      /* Whom it will be revoked from: the scan of /proc takes a while
       * (half a second under TCG), so it runs while the kernel's release
       * starts in the writer thread, not after it waits. */
      if (to_be_revoked && r->revoke_who == NULL)
        r->revoke_who = describe_users (r);
      /* The kernel accepts a revoke only while its release waits. */
      if (to_be_revoked && hdd_vfio_sysfs_release_pending (r->release_state))
        revoke_users (r);
      /* The deadline is kept to the tick, not to the next one; a revoke
       * that is due is done as soon as the kernel's release waits, which
       * is milliseconds after the write: look again soon, then less so. */
      if (!r->m.deadline_passed)
        until = MIN (until, r->deadline);
      if (r->m.revoke_requested && !r->revoke_tried)
        {
          until = MIN (until, now + revoke_poll);
          revoke_poll = MIN (revoke_poll * 2, REVOKE_POLL_LAST_US);
        }
      if (wait_for_writer (&w, until))
        break;
      if (r->m.deadline_passed || g_get_monotonic_time () < r->deadline)
        {
          report_wait (r, to_be_revoked && !r->revoke_tried ? to_revoke : waiting);
          continue;
        }
      action = hdd_unplug_machine_next (&r->m, HDD_UNPLUG_EVENT_DEADLINE, FALSE);
      say_deadline (r, action);
      if (action == HDD_UNPLUG_ACTION_DESTROY_DOMAIN)
        destroy_domain (r);
    }
  g_thread_join (thread);
  ok = w.ok;
  done = w.done_text;
  if (!ok)
    g_propagate_error (error, w.error);
  g_mutex_clear (&w.lock);
  g_cond_clear (&w.cond);
  if (!ok)
    return FALSE;

  hdd_unplug_machine_next (&r->m, HDD_UNPLUG_EVENT_KERNEL_RELEASED, FALSE);
  revoked = said_revoked (r);
  hdd_job_step (r->job, "%s is free after %.1f s: released through the kernel%s%s%s",
                r->name, seconds_since (r->start), revoked,
                g_str_has_prefix (done, "now") ? ", " : *revoked ? ", and " : " and ", done);
  return TRUE;
}

/* ---- The job ---- */

static gboolean
unplug_locked (HddJob *job, gpointer data, GError **error)
{
  Run *r = data;
  HddUnplugAction action;

  hdd_job_step (r->job, "%s %s: deadline %u s%s%s", r->u->detach_only ? "Detaching" : "Unplugging",
                r->name,
                r->u->options.deadline_s, r->u->detach_only ? "" : ", policy ",
                r->u->detach_only ? "" : hdd_unplug_policy_to_string (r->u->options.policy));
  if (!plan (r, error) || !hdd_job_check_cancelled (r->job, error))
    return FALSE;

  action = hdd_unplug_machine_next (&r->m, HDD_UNPLUG_EVENT_PLANNED, r->domain != NULL);
  for (;;)
    switch (action)
      {
      case HDD_UNPLUG_ACTION_ASK_GUEST:
        if (!ask_guest (r, &action, error))
          return FALSE;
        break;
      case HDD_UNPLUG_ACTION_COMPLETE:
        return TRUE;
      case HDD_UNPLUG_ACTION_RELEASE_KERNEL:
        if (!r->u->detach_only)
          return release_kernel (r, error);
        /* DetachFromDomain goes through libvirt only. */
        g_set_error (error, HDD_ERROR, HDD_ERROR_FAILED, "%s", r->refusal ? r->refusal
                     : "Libvirt could not detach the device");
        return FALSE;
      case HDD_UNPLUG_ACTION_GIVE_UP:
        return give_up (r, error);
      case HDD_UNPLUG_ACTION_REVOKE:
        /* From asking the guest: the kernel's release, which the revoke
         * ends.  Checked again before this point of no return. */
        if (!check_can_revoke (r, error))
          return FALSE;
        return release_kernel (r, error);
      case HDD_UNPLUG_ACTION_KEEP_WAITING:
      case HDD_UNPLUG_ACTION_DESTROY_DOMAIN:
        g_return_val_if_reached (FALSE);
      }
}

gboolean
hdd_unplug_run (HddJob   *job,
                gpointer  data,
                GError  **error)
{
  HddUnplug *u = data;
  g_autofree char *key = u->kind->lock_key (u->key);
  Run r = { .job = job, .u = u, .name = u->kind->describe (u->key) };
  gboolean ok;

  /* A DetachFromDomain gives up at its deadline: it never goes on through
   * the kernel. */
  hdd_unplug_machine_init (&r.m, u->detach_only ? HDD_UNPLUG_POLICY_FAIL : u->options.policy);
  r.start = g_get_monotonic_time ();
  r.deadline = r.start + (gint64) u->options.deadline_s * G_USEC_PER_SEC;
  hdd_job_set_deadline (job, g_get_real_time () + (gint64) u->options.deadline_s * G_USEC_PER_SEC);
  ok = hdd_context_run_locked (u->context, job, key, unplug_locked, &r, error);
  hdd_job_end_release (job);
  run_clear (&r);
  return ok;
}
