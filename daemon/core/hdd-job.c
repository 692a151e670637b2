#include "hdd-job.h"

#include "hdd-error.h"
#include "hdd-holders.h"
#include "hdd-log.h"
#include "hdd-names.h"
#include "hdd-sysfs.h"

#include <string.h>

/* How often the holders of a device being released are looked up.  The
 * first look at a release waits HOLDERS_FIRST_POLL_MS: most releases are
 * over by then (nobody holds the device), and a look is a scan of /proc
 * on the main loop that would delay the job's end. */
#define HOLDERS_POLL_MS 1000
#define HOLDERS_FIRST_POLL_MS 100

/* Steps kept per job (docs/dbus-api.md, "Limits"): the first STEPS_HEAD,
 * which say what the job set out to do, and the latest others; what falls
 * in between is counted in one step.  A step repeating the previous one
 * is counted there, and a step's text is cut at STEP_MAX_BYTES. */
#define STEPS_HEAD 10
#define STEP_MAX_BYTES 1024

G_STATIC_ASSERT (HDD_JOB_MAX_STEPS > STEPS_HEAD + 1);

struct _HddJob
{
  HddDbusJobSkeleton parent;

  guint          id;
  char          *path;
  GMainContext  *context;     /* where the D-Bus side lives */

  /* Shared with the worker, under lock. */
  GMutex         lock;
  gboolean       cancel_requested;
  gboolean       past_no_return;
  gboolean       worker_done;   /* the work returned; finish() is on its way */
  char          *qemu_failure;  /* why QEMU could not unplug the device, or NULL */

  /* Main context only. */
  HddJobState    state;
  GArray        *steps;       /* of Step, at most HDD_JOB_MAX_STEPS - 1 */
  guint          steps_left_out;
  gint64         steps_left_out_time;   /* of the latest step left out */
  char          *release_device;
  GStrv          release_nodes;
  char          *release_state;   /* vfio-dev sysfs directory, or NULL */
  gint64         release_requests;
  guint          holders_timer;
  char          *holders_text;
  GCancellable  *holders_scan;   /* the poll's scan under way, or NULL */

  HddJobFunc     func;
  gpointer       data;
  GDestroyNotify destroy;
};

typedef struct {
  gint64  time;
  char   *text;
  guint   count;   /* how many times in a row it was recorded */
} Step;

G_DEFINE_TYPE (HddJob, hdd_job, HDD_DBUS_TYPE_JOB_SKELETON)

static const char * const state_names[] = {
  [HDD_JOB_QUEUED] = "queued",
  [HDD_JOB_RUNNING] = "running",
  [HDD_JOB_WAITING_FOR_RELEASE] = "waiting-for-release",
  [HDD_JOB_COMPLETED] = "completed",
  [HDD_JOB_FAILED] = "failed",
  [HDD_JOB_CANCELLED] = "cancelled",
};

static void
step_clear (gpointer data)
{
  g_free (((Step *) data)->text);
}

static void stop_holders_poll (HddJob *self);

static void
hdd_job_finalize (GObject *object)
{
  HddJob *self = HDD_JOB (object);

  stop_holders_poll (self);
  g_free (self->path);
  g_array_unref (self->steps);
  g_free (self->release_device);
  g_strfreev (self->release_nodes);
  g_free (self->release_state);
  g_free (self->holders_text);
  g_free (self->qemu_failure);
  g_main_context_unref (self->context);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (hdd_job_parent_class)->finalize (object);
}

static void
hdd_job_class_init (HddJobClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hdd_job_finalize;
}

static void
hdd_job_init (HddJob *self)
{
  g_mutex_init (&self->lock);
  self->steps = g_array_new (FALSE, TRUE, sizeof (Step));
  g_array_set_clear_func (self->steps, step_clear);
  self->context = g_main_context_ref_thread_default ();
}

HddJob *
hdd_job_new (guint               id,
             const char         *operation,
             const char * const *objects,
             const char         *started_by)
{
  HddJob *self = g_object_new (HDD_TYPE_JOB, NULL);
  HddDbusJob *iface = HDD_DBUS_JOB (self);
  const char * const none[] = { NULL };

  self->id = id;
  self->path = g_strdup_printf (HDD_DBUS_JOB_PATH_PREFIX "%u", id);
  self->state = HDD_JOB_QUEUED;

  hdd_dbus_job_set_id (iface, id);
  hdd_dbus_job_set_operation (iface, operation);
  hdd_dbus_job_set_objects (iface, objects ? objects : none);
  hdd_dbus_job_set_started_by (iface, started_by ? started_by : "");
  hdd_dbus_job_set_state (iface, state_names[HDD_JOB_QUEUED]);
  hdd_dbus_job_set_status (iface, "Queued");
  hdd_dbus_job_set_holders (iface, g_variant_new_array (G_VARIANT_TYPE ("(uss)"), NULL, 0));
  hdd_dbus_job_set_release_requests (iface, -1);
  hdd_dbus_job_set_steps (iface, g_variant_new_array (G_VARIANT_TYPE ("(ts)"), NULL, 0));
  hdd_dbus_job_set_error_name (iface, "");
  hdd_dbus_job_set_error_message (iface, "");
  hdd_dbus_job_set_domain (iface, "");
  hdd_dbus_job_set_deadline (iface, 0);
  hdd_dbus_job_set_cancelable (iface, TRUE);
  hdd_dbus_job_set_start_time (iface, (guint64) g_get_real_time ());
  return self;
}

guint
hdd_job_get_id (HddJob *self)
{
  return self->id;
}

const char *
hdd_job_get_object_path (HddJob *self)
{
  return self->path;
}

HddJobState
hdd_job_get_state (HddJob *self)
{
  return self->state;
}

gboolean
hdd_job_is_finished (HddJob *self)
{
  return self->state >= HDD_JOB_COMPLETED;
}

/* ---- Main-context side of the reports ---- */

static void
set_state (HddJob *self, HddJobState state)
{
  self->state = state;
  hdd_dbus_job_set_state (HDD_DBUS_JOB (self), state_names[state]);
}

static void
add_published_step (GVariantBuilder *b, const Step *s)
{
  g_autofree char *text = NULL;

  if (s->count > 1)
    text = g_strdup_printf ("%s (%u times)", s->text, s->count);
  g_variant_builder_add (b, "(ts)", (guint64) s->time, text ? text : s->text);
}

static void
publish_steps (HddJob *self)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(ts)"));
  for (guint i = 0; i < self->steps->len; i++)
    {
      if (i == STEPS_HEAD && self->steps_left_out)
        {
          g_autofree char *text = g_strdup_printf ("(%u steps left out)", self->steps_left_out);
          g_variant_builder_add (&b, "(ts)", (guint64) self->steps_left_out_time, text);
        }
      add_published_step (&b, &g_array_index (self->steps, Step, i));
    }
  hdd_dbus_job_set_steps (HDD_DBUS_JOB (self), g_variant_builder_end (&b));
}

static void
add_step (HddJob *self, const char *text)
{
  g_autofree char *bounded = NULL;
  Step *last = self->steps->len ? &g_array_index (self->steps, Step, self->steps->len - 1) : NULL;
  Step s = { g_get_real_time (), NULL, 1 };

  if (strlen (text) > STEP_MAX_BYTES)
    {
      g_autofree char *cut = g_utf8_make_valid (text, STEP_MAX_BYTES);
      text = bounded = g_strconcat (cut, "…", NULL);
    }
  hdd_dbus_job_set_status (HDD_DBUS_JOB (self), text);
  if (last && g_str_equal (last->text, text))
    {
      last->count++;
      last->time = s.time;
      publish_steps (self);
      return;   /* said already: neither a new step nor a line in the log */
    }
  if (self->steps->len == HDD_JOB_MAX_STEPS - 1)
    {
      Step *dropped = &g_array_index (self->steps, Step, STEPS_HEAD);

      self->steps_left_out += dropped->count;
      self->steps_left_out_time = dropped->time;
      g_array_remove_index (self->steps, STEPS_HEAD);
    }
  s.text = g_strdup (text);
  g_array_append_val (self->steps, s);
  /* Published with the step, never after the State a client reads with
   * it; at most HDD_JOB_MAX_STEPS to build. */
  publish_steps (self);
  hdd_message (self->release_device, self->id, "Job %u: %s", self->id, text);
}

/* release_pending and release_requests of the device's vfio-dev, when the
 * kernel has them.  Both are read without any lock in the kernel, so the
 * main loop may read them while the unbind or remove blocks. */
static void
poll_release_state (HddJob *self)
{
  g_autofree char *pending_path = NULL;
  g_autofree char *requests_path = NULL;
  guint64 pending = 0, requests = 0;

  if (self->release_state == NULL)
    return;
  pending_path = g_build_filename (self->release_state, "release_pending", NULL);
  requests_path = g_build_filename (self->release_state, "release_requests", NULL);
  if (!hdd_sysfs_read_uint (pending_path, &pending, NULL) ||
      !hdd_sysfs_read_uint (requests_path, &requests, NULL) ||
      (gint64) requests == self->release_requests)
    return;  /* not exposed, already gone, or unchanged */

  self->release_requests = (gint64) MIN (requests, (guint64) G_MAXINT32);
  hdd_dbus_job_set_release_requests (HDD_DBUS_JOB (self), (gint32) self->release_requests);
  if (pending && requests > 0)
    {
      g_autofree char *step =
        g_strdup_printf ("The kernel asked the holders of %s to release it "
                         "(request %" G_GUINT64_FORMAT ")", self->release_device, requests);
      add_step (self, step);
    }
}

static void
set_holders (HddJob *self, GPtrArray *holders)
{
  g_autofree char *text = hdd_holders_describe (holders);

  hdd_dbus_job_set_holders (HDD_DBUS_JOB (self), hdd_holders_to_variant (holders));
  if (g_strcmp0 (text, self->holders_text) == 0)
    return;
  g_free (self->holders_text);
  self->holders_text = g_steal_pointer (&text);
  if (*self->holders_text)
    {
      g_autofree char *step = g_strdup_printf ("Waiting for release of %s: %s",
                                               self->release_device, self->holders_text);
      add_step (self, step);
    }
}

static void
on_holders_scanned (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(HddJob) self = user_data;
  g_autoptr(GPtrArray) holders = hdd_holders_scan_finish (result, NULL);

  if (holders == NULL)
    return;  /* cancelled: the release ended meanwhile */
  g_clear_object (&self->holders_scan);
  set_holders (self, holders);
}

/* The holders of the device's nodes, looked up in a thread as the
 * manager's are: a /proc entry may keep its reader waiting, the main loop
 * must not.  One scan at a time; a poll while one runs waits for the next. */
static void
poll_holders (HddJob *self)
{
  poll_release_state (self);
  if (self->holders_scan)
    return;
  self->holders_scan = g_cancellable_new ();
  hdd_holders_scan_async ((const char * const *) self->release_nodes, self->holders_scan,
                          on_holders_scanned, g_object_ref (self));
}

/* The release ended: no poll, and the answer of one under way is dropped. */
static void
stop_holders_poll (HddJob *self)
{
  g_clear_handle_id (&self->holders_timer, g_source_remove);
  if (self->holders_scan)
    g_cancellable_cancel (self->holders_scan);
  g_clear_object (&self->holders_scan);
}

static gboolean
on_holders_timer (gpointer user_data)
{
  poll_holders (HDD_JOB (user_data));
  return G_SOURCE_CONTINUE;
}

static gboolean
on_first_holders_timer (gpointer user_data)
{
  HddJob *self = HDD_JOB (user_data);

  poll_holders (self);
  self->holders_timer = g_timeout_add (HOLDERS_POLL_MS, on_holders_timer, self);
  return G_SOURCE_REMOVE;
}

typedef enum {
  UPDATE_STEP,
  UPDATE_PROGRESS,
  UPDATE_RUNNING,
  UPDATE_BEGIN_RELEASE,
  UPDATE_END_RELEASE,
  UPDATE_WATCH_HOLDERS,
  UPDATE_STATUS,
  UPDATE_DOMAIN,
  UPDATE_DEADLINE,
} UpdateKind;

typedef struct {
  HddJob     *job;
  UpdateKind  kind;
  char       *text;
  char       *step;
  char       *release_state;
  GStrv       nodes;
  double      progress;
  guint64     time;
} Update;

static void
update_free (gpointer data)
{
  Update *u = data;

  g_object_unref (u->job);
  g_free (u->text);
  g_free (u->step);
  g_free (u->release_state);
  g_strfreev (u->nodes);
  g_free (u);
}

static gboolean
apply_update (gpointer data)
{
  Update *u = data;
  HddJob *self = u->job;

  switch (u->kind)
    {
    case UPDATE_STEP:
      add_step (self, u->text);
      break;
    case UPDATE_PROGRESS:
      hdd_dbus_job_set_progress (HDD_DBUS_JOB (self), u->progress);
      break;
    case UPDATE_RUNNING:
      set_state (self, HDD_JOB_RUNNING);
      break;
    case UPDATE_BEGIN_RELEASE:
    case UPDATE_WATCH_HOLDERS:
      g_free (self->release_device);
      self->release_device = g_strdup (u->text);
      g_strfreev (self->release_nodes);
      self->release_nodes = g_steal_pointer (&u->nodes);
      g_free (self->release_state);
      self->release_state = g_steal_pointer (&u->release_state);
      self->release_requests = -1;
      g_clear_pointer (&self->holders_text, g_free);
      if (u->kind == UPDATE_BEGIN_RELEASE)
        {
          hdd_dbus_job_set_cancelable (HDD_DBUS_JOB (self), FALSE);
          set_state (self, HDD_JOB_WAITING_FOR_RELEASE);
        }
      if (u->step)
        add_step (self, u->step);
      /* A scan of the nodes before these says nothing of these.  A
       * release's first scan waits HOLDERS_FIRST_POLL_MS (most are over
       * by then); a watch looks at once. */
      if (self->holders_scan)
        g_cancellable_cancel (self->holders_scan);
      g_clear_object (&self->holders_scan);
      if (u->kind == UPDATE_WATCH_HOLDERS)
        poll_holders (self);
      if (self->holders_timer == 0)
        self->holders_timer = u->kind == UPDATE_WATCH_HOLDERS
                              ? g_timeout_add (HOLDERS_POLL_MS, on_holders_timer, self)
                              : g_timeout_add (HOLDERS_FIRST_POLL_MS, on_first_holders_timer,
                                               self);
      break;
    case UPDATE_STATUS:
      hdd_dbus_job_set_status (HDD_DBUS_JOB (self), u->text);
      break;
    case UPDATE_DOMAIN:
      hdd_dbus_job_set_domain (HDD_DBUS_JOB (self), u->text);
      break;
    case UPDATE_DEADLINE:
      hdd_dbus_job_set_deadline (HDD_DBUS_JOB (self), u->time);
      break;
    case UPDATE_END_RELEASE:
      stop_holders_poll (self);
      hdd_dbus_job_set_holders (HDD_DBUS_JOB (self),
                                g_variant_new_array (G_VARIANT_TYPE ("(uss)"), NULL, 0));
      if (self->state == HDD_JOB_WAITING_FOR_RELEASE)
        set_state (self, HDD_JOB_RUNNING);
      break;
    }
  return G_SOURCE_REMOVE;
}

/* Always queued, in order, for the main context: g_main_context_invoke()
 * would run @func in the calling worker whenever the main context is not
 * owned at that instant (a test between two iterations). */
static void
invoke_later (GMainContext *context, GSourceFunc func, gpointer data, GDestroyNotify destroy)
{
  g_autoptr(GSource) source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, func, data, destroy);
  g_source_set_static_name (source, "[hostdevd] job report");
  g_source_attach (source, context);
}

static void
post (HddJob *self, Update *u)
{
  u->job = g_object_ref (self);
  invoke_later (self->context, apply_update, u, update_free);
}

/* ---- Worker side ---- */

static void G_GNUC_PRINTF (3, 0)
post_text (HddJob *self, UpdateKind kind, const char *format, va_list args)
{
  Update *u;

  if (self == NULL)
    return;
  u = g_new0 (Update, 1);
  u->kind = kind;
  u->text = g_strdup_vprintf (format, args);
  post (self, u);
}

void
hdd_job_step (HddJob     *self,
              const char *format,
              ...)
{
  va_list args;

  va_start (args, format);
  post_text (self, UPDATE_STEP, format, args);
  va_end (args);
}

void
hdd_job_set_progress (HddJob *self,
                      double  progress)
{
  Update *u;

  if (self == NULL)
    return;
  u = g_new0 (Update, 1);
  u->kind = UPDATE_PROGRESS;
  u->progress = CLAMP (progress, 0.0, 1.0);
  post (self, u);
}

void
hdd_job_set_running (HddJob *self)
{
  Update *u;

  if (self == NULL)
    return;
  u = g_new0 (Update, 1);
  u->kind = UPDATE_RUNNING;
  post (self, u);
}

gboolean
hdd_job_check_cancelled (HddJob  *self,
                         GError **error)
{
  g_autoptr(GMutexLocker) locker = NULL;

  if (self == NULL)
    return TRUE;
  locker = g_mutex_locker_new (&self->lock);
  if (self->cancel_requested)
    {
      g_set_error_literal (error, HDD_ERROR, HDD_ERROR_CANCELLED,
                           "The job was cancelled before it changed anything "
                           "it could not undo");
      return FALSE;
    }
  return TRUE;
}

gboolean
hdd_job_begin_release (HddJob             *self,
                       const char         *device,
                       const char * const *nodes,
                       const char         *release_state,
                       const char         *step,
                       GError            **error)
{
  Update *u;

  if (self == NULL)
    return TRUE;

  g_mutex_lock (&self->lock);
  if (self->cancel_requested)
    {
      g_mutex_unlock (&self->lock);
      return hdd_job_check_cancelled (self, error);
    }
  self->past_no_return = TRUE;
  g_mutex_unlock (&self->lock);

  u = g_new0 (Update, 1);
  u->kind = UPDATE_BEGIN_RELEASE;
  u->text = g_strdup (device);
  u->step = g_strdup (step);
  u->release_state = g_strdup (release_state);
  u->nodes = g_strdupv ((char **) nodes);
  post (self, u);
  return TRUE;
}

void
hdd_job_watch_holders (HddJob             *self,
                       const char         *device,
                       const char * const *nodes,
                       const char         *release_state)
{
  Update *u;

  if (self == NULL)
    return;
  u = g_new0 (Update, 1);
  u->kind = UPDATE_WATCH_HOLDERS;
  u->text = g_strdup (device);
  u->release_state = g_strdup (release_state);
  u->nodes = g_strdupv ((char **) nodes);
  post (self, u);
}

void
hdd_job_set_status (HddJob     *self,
                    const char *format,
                    ...)
{
  va_list args;

  va_start (args, format);
  post_text (self, UPDATE_STATUS, format, args);
  va_end (args);
}

void
hdd_job_set_domain (HddJob     *self,
                    const char *domain)
{
  Update *u;

  if (self == NULL)
    return;
  u = g_new0 (Update, 1);
  u->kind = UPDATE_DOMAIN;
  u->text = g_strdup (domain ? domain : "");
  post (self, u);
}

void
hdd_job_set_deadline (HddJob *self,
                      gint64  deadline)
{
  Update *u;

  if (self == NULL)
    return;
  u = g_new0 (Update, 1);
  u->kind = UPDATE_DEADLINE;
  u->time = (guint64) MAX (deadline, 0);
  post (self, u);
}

void
hdd_job_end_release (HddJob *self)
{
  Update *u;

  if (self == NULL)
    return;
  u = g_new0 (Update, 1);
  u->kind = UPDATE_END_RELEASE;
  post (self, u);
}

/* ---- Running and finishing ---- */

typedef struct {
  HddJob *job;
  GError *error;
} Outcome;

static gboolean
finish (gpointer data)
{
  Outcome *o = data;
  HddJob *self = o->job;
  HddDbusJob *iface = HDD_DBUS_JOB (self);
  const char *message;

  stop_holders_poll (self);
  hdd_dbus_job_set_holders (iface, g_variant_new_array (G_VARIANT_TYPE ("(uss)"), NULL, 0));
  hdd_dbus_job_set_cancelable (iface, FALSE);
  hdd_dbus_job_set_end_time (iface, (guint64) g_get_real_time ());

  if (o->error == NULL)
    {
      hdd_dbus_job_set_progress (iface, 1.0);
      set_state (self, HDD_JOB_COMPLETED);
      message = hdd_dbus_job_get_status (iface);
    }
  else
    {
      g_autofree char *name = NULL;

      hdd_error_normalize (&o->error);
      name = g_dbus_error_encode_gerror (o->error);
      hdd_dbus_job_set_error_name (iface, name);
      hdd_dbus_job_set_error_message (iface, o->error->message);
      add_step (self, o->error->message);
      set_state (self, o->error->code == HDD_ERROR_CANCELLED
                 ? HDD_JOB_CANCELLED : HDD_JOB_FAILED);
      message = o->error->message;
      hdd_log (self->state == HDD_JOB_CANCELLED ? G_LOG_LEVEL_MESSAGE : G_LOG_LEVEL_WARNING,
               self->release_device, self->id, "Job %u (%s) %s: %s",
               self->id, hdd_dbus_job_get_operation (iface),
               state_names[self->state], message);
    }

  if (self->destroy)
    self->destroy (self->data);
  self->data = NULL;
  self->destroy = NULL;

  /* Property changes go out in a batch on idle; send them first so that a
   * client reacting to Completed reads the final State. */
  g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (self));
  hdd_dbus_job_emit_completed (iface, o->error == NULL, message);

  g_clear_error (&o->error);
  g_object_unref (self);
  g_free (o);
  return G_SOURCE_REMOVE;
}

static gpointer
job_thread (gpointer data)
{
  HddJob *self = data;
  Outcome *o = g_new0 (Outcome, 1);

  o->job = self;  /* the reference taken by hdd_job_run() */
  if (hdd_job_check_cancelled (self, &o->error))
    {
      hdd_job_set_running (self);
      self->func (self, self->data, &o->error);
    }
  /* From here on the outcome is decided: a Cancel() is refused rather
   * than answered with a success the job's end would contradict. */
  g_mutex_lock (&self->lock);
  self->worker_done = TRUE;
  g_mutex_unlock (&self->lock);
  invoke_later (self->context, finish, o, NULL);
  return NULL;
}

void
hdd_job_run (HddJob        *self,
             HddJobFunc     func,
             gpointer       data,
             GDestroyNotify destroy)
{
  g_autofree char *name = g_strdup_printf ("job-%u", self->id);

  self->func = func;
  self->data = data;
  self->destroy = destroy;
  g_thread_unref (g_thread_new (name, job_thread, g_object_ref (self)));
}

gboolean
hdd_job_run_sync (HddJob    *self,
                  HddJobFunc func,
                  gpointer   data,
                  GError   **error)
{
  gboolean ok;

  set_state (self, HDD_JOB_RUNNING);
  ok = func (self, data, error);
  set_state (self, ok ? HDD_JOB_COMPLETED : HDD_JOB_FAILED);
  return ok;
}

gboolean
hdd_job_cancel (HddJob  *self,
                GError **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  if (hdd_job_is_finished (self))
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_BUSY,
                   "Job %u already finished", self->id);
      return FALSE;
    }
  if (self->past_no_return)
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_BUSY,
                   "Job %u can no longer be cancelled: the kernel is releasing "
                   "the device and that cannot be undone", self->id);
      return FALSE;
    }
  if (self->worker_done && !self->cancel_requested)
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_BUSY,
                   "Job %u can no longer be cancelled: its work is done and it is "
                   "finishing", self->id);
      return FALSE;
    }
  self->cancel_requested = TRUE;
  hdd_dbus_job_set_cancelable (HDD_DBUS_JOB (self), FALSE);
  return TRUE;
}

gboolean
hdd_job_has_object (HddJob     *self,
                    const char *object_path)
{
  const char * const *objects = hdd_dbus_job_get_objects (HDD_DBUS_JOB (self));

  return objects && g_strv_contains (objects, object_path);
}

void
hdd_job_note_qemu (HddJob     *self,
                   const char *text,
                   const char *failure)
{
  add_step (self, text);
  if (failure == NULL)
    return;
  g_mutex_lock (&self->lock);
  g_free (self->qemu_failure);
  self->qemu_failure = g_strdup (failure);
  g_mutex_unlock (&self->lock);
}

char *
hdd_job_dup_qemu_failure (HddJob *self)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  return g_strdup (self->qemu_failure);
}
