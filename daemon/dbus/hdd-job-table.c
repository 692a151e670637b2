#include "hdd-job-table.h"

#include "hdd-authority.h"
#include "hdd-bouncer.h"
#include "hdd-error.h"
#include "hdd-log.h"
#include "hdd-names.h"
#include "hdd-options.h"

/* How often a stop looks whether the jobs ended, and says what it waits for. */
#define STOP_POLL_MS 100
#define STOP_REPORT_INTERVAL_US (10 * G_USEC_PER_SEC)

struct _HddJobTable
{
  GObject                   parent;

  GDBusObjectManagerServer *object_manager;
  HddAuthority             *authority;
  GHashTable               *jobs;      /* id -> HddJob */
  guint                     next_id;
  guint                     n_running;  /* jobs not finished, a thread each */
  GHashTable               *running_by_sender;  /* unique name -> count */
  GQueue                    finished;   /* of Retained, the first finished first */

  /* Stopping (hdd_job_table_stop): no new work, waiting for the jobs. */
  gboolean                  stopping;
  guint                     stop_timer;
  gint64                    stop_next_report;
  GSourceFunc               stop_done;
  gpointer                  stop_data;
};

enum { SIGNAL_JOB_FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_TYPE (HddJobTable, hdd_job_table, G_TYPE_OBJECT)

/* A finished job still on the bus, and the timer that takes it off. */
typedef struct {
  HddJobTable *table;
  HddJob      *job;     /* borrowed: self->jobs has it */
  guint        timer;
  GList       *link;    /* in self->finished */
} Retained;

static void
hdd_job_table_finalize (GObject *object)
{
  HddJobTable *self = HDD_JOB_TABLE (object);

  g_clear_handle_id (&self->stop_timer, g_source_remove);
  while (!g_queue_is_empty (&self->finished))
    {
      Retained *r = g_queue_pop_head (&self->finished);

      g_source_remove (r->timer);
      g_free (r);
    }
  hdd_bouncer_set_admission (self->authority, NULL, NULL);
  g_hash_table_unref (self->jobs);
  g_hash_table_unref (self->running_by_sender);
  g_clear_object (&self->object_manager);
  g_clear_object (&self->authority);
  G_OBJECT_CLASS (hdd_job_table_parent_class)->finalize (object);
}

static void
hdd_job_table_class_init (HddJobTableClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hdd_job_table_finalize;
  signals[SIGNAL_JOB_FINISHED] =
    g_signal_new ("job-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 2, HDD_TYPE_JOB, G_TYPE_OBJECT);
}

static void
hdd_job_table_init (HddJobTable *self)
{
  self->jobs = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_object_unref);
  self->running_by_sender = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->next_id = 1;
}

static guint
running_of (HddJobTable *self, const char *sender)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (self->running_by_sender, sender));
}

/* Whether a caller may start a job on @object now (the bouncer asks, with
 * the call's own checks): a device works on one job at a time, and the
 * jobs of a caller and of all are limited, as each has a thread.  The
 * daemon's own jobs (start-up, autostart) are counted, never refused. */
static gboolean
admit (gpointer data, gpointer object, const char *sender, GError **error)
{
  HddJobTable *self = data;

  if (HDD_IS_DEVICE (object) && hdd_device_is_busy (object))
    {
      g_autofree char *name = hdd_device_describe (object);

      g_set_error (error, HDD_ERROR, HDD_ERROR_BUSY,
                   "%s has a job already (%s): wait for it to end, or cancel it", name,
                   hdd_device_get_active_job (object));
      return FALSE;
    }
  if (self->n_running >= HDD_JOB_TABLE_MAX_JOBS)
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_LIMIT_EXCEEDED,
                   "hostdevd runs %u jobs, as many as it takes: wait for some to end",
                   self->n_running);
      return FALSE;
    }
  if (running_of (self, sender) >= HDD_JOB_TABLE_MAX_JOBS_PER_SENDER)
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_LIMIT_EXCEEDED,
                   "%s runs %u jobs, as many as one caller may: wait for some to end",
                   sender, running_of (self, sender));
      return FALSE;
    }
  return TRUE;
}

HddJobTable *
hdd_job_table_new (GDBusObjectManagerServer *object_manager,
                   HddAuthority             *authority)
{
  HddJobTable *self = g_object_new (HDD_TYPE_JOB_TABLE, NULL);

  self->object_manager = g_object_ref (object_manager);
  self->authority = g_object_ref (authority);
  hdd_bouncer_set_admission (authority, admit, self);
  return self;
}

HddJob *
hdd_job_table_lookup (HddJobTable *self,
                      guint        id)
{
  return g_hash_table_lookup (self->jobs, GUINT_TO_POINTER (id));
}

/* ---- A job's life ---- */

static void
forget (Retained *r)
{
  HddJobTable *self = r->table;

  g_queue_delete_link (&self->finished, r->link);
  g_dbus_object_manager_server_unexport (self->object_manager,
                                         hdd_job_get_object_path (r->job));
  g_hash_table_remove (self->jobs, GUINT_TO_POINTER (hdd_job_get_id (r->job)));
  g_free (r);
}

static gboolean
on_retention_over (gpointer data)
{
  forget (data);
  return G_SOURCE_REMOVE;
}

/* Keeps @job on the bus for HDD_JOB_TABLE_RETENTION_S, and at most
 * HDD_JOB_TABLE_MAX_FINISHED finished jobs in all. */
static void
retain (HddJobTable *self, HddJob *job)
{
  Retained *r = g_new0 (Retained, 1);

  while (self->finished.length >= HDD_JOB_TABLE_MAX_FINISHED)
    {
      Retained *first = g_queue_peek_head (&self->finished);

      g_source_remove (first->timer);
      forget (first);
    }
  r->table = self;
  r->job = job;
  r->timer = g_timeout_add_seconds (HDD_JOB_TABLE_RETENTION_S, on_retention_over, r);
  g_queue_push_tail (&self->finished, r);
  r->link = self->finished.tail;
}

static void
on_job_completed (HddDbusJob *iface, gboolean success, const char *message, gpointer user_data)
{
  HddJobTable *self = user_data;
  HddJob *job = HDD_JOB (iface);
  HddDevice *device = g_object_get_data (G_OBJECT (job), "hdd-device");
  const char *sender = hdd_dbus_job_get_started_by (iface);

  self->n_running--;
  if (*sender)
    {
      guint n = running_of (self, sender) - 1;

      if (n)
        g_hash_table_insert (self->running_by_sender, g_strdup (sender), GUINT_TO_POINTER (n));
      else
        g_hash_table_remove (self->running_by_sender, sender);
    }
  if (device && g_str_equal (hdd_device_get_active_job (device), hdd_job_get_object_path (job)))
    hdd_device_set_active_job (device, "/");
  g_signal_emit (self, signals[SIGNAL_JOB_FINISHED], 0, job, device);
  retain (self, job);
}

static void
run_cancel (gpointer object, GDBusMethodInvocation *invocation, gpointer request)
{
  g_autoptr(GError) error = NULL;

  if (hdd_job_cancel (HDD_JOB (object), &error))
    hdd_dbus_job_complete_cancel (HDD_DBUS_JOB (object), invocation);
  else
    g_dbus_method_invocation_return_gerror (invocation, error);
}

/* The caller that started a job may cancel it; anyone else needs
 * org.hostdevd1.cancel-any. */
static gboolean
on_handle_cancel (HddDbusJob *iface, GDBusMethodInvocation *invocation,
                  GVariant *options, gpointer user_data)
{
  HddJobTable *self = user_data;
  g_autoptr(GError) error = NULL;

  if (!hdd_options_check (options, NULL, &error))
    g_dbus_method_invocation_return_gerror (invocation, error);
  else if (g_strcmp0 (hdd_dbus_job_get_started_by (iface),
                      g_dbus_method_invocation_get_sender (invocation)) == 0)
    run_cancel (iface, invocation, NULL);
  else
    hdd_bouncer_dispatch (self->authority, invocation, options,
                          &(HddBouncerCall) { .object = iface, .run = run_cancel });
  return TRUE;
}

static HddJob *
start (HddJobTable *self, HddDevice *device, const char *object_path, const char *subject,
       GDBusMethodInvocation *invocation, HddJobWork work)
{
  const char *objects[] = { object_path, NULL };
  const char *sender = invocation ? g_dbus_method_invocation_get_sender (invocation) : NULL;
  guint id = self->next_id++;
  HddJob *job = hdd_job_new (id, work.operation, objects, sender);
  g_autoptr(HddDbusObjectSkeleton) object = hdd_dbus_object_skeleton_new (
    hdd_job_get_object_path (job));

  g_hash_table_insert (self->jobs, GUINT_TO_POINTER (id), job);
  self->n_running++;
  if (sender)
    g_hash_table_insert (self->running_by_sender, g_strdup (sender),
                         GUINT_TO_POINTER (running_of (self, sender) + 1));
  if (device)
    {
      g_object_set_data_full (G_OBJECT (job), "hdd-device", g_object_ref (device), g_object_unref);
      hdd_device_set_active_job (device, hdd_job_get_object_path (job));
    }
  /* After the skeleton's own handler, which sends Completed on the bus: the
   * caller hears of the end first, then the owners read their devices
   * again (job-finished).  A call it makes on hearing comes after both. */
  g_signal_connect_object (job, "completed", G_CALLBACK (on_job_completed), self,
                           G_CONNECT_AFTER);
  g_signal_connect_object (job, "handle-cancel", G_CALLBACK (on_handle_cancel), self, 0);
  g_dbus_object_skeleton_add_interface (G_DBUS_OBJECT_SKELETON (object),
                                        G_DBUS_INTERFACE_SKELETON (job));
  g_dbus_object_manager_server_export (self->object_manager, G_DBUS_OBJECT_SKELETON (object));

  hdd_message (subject, id, "Job %u: %s %s, started by %s",
               id, work.operation, subject, sender ? sender : "hostdevd");
  if (self->stopping)
    {
      /* Nothing new starts while the daemon waits for its jobs to end: the
       * job ends cancelled before it touched anything. */
      hdd_job_step (job, "hostdevd is stopping; ask again once it is back");
      hdd_job_cancel (job, NULL);
    }
  hdd_job_run (job, work.func, work.data, work.destroy);
  return job;
}

HddJob *
hdd_job_table_start (HddJobTable           *self,
                     HddDevice             *device,
                     GDBusMethodInvocation *invocation,
                     HddJobWork             work)
{
  return start (self, device, hdd_device_get_object_path (device), hdd_device_get_key (device),
                invocation, work);
}

HddJob *
hdd_job_table_start_for (HddJobTable           *self,
                         const char            *object_path,
                         const char            *subject,
                         GDBusMethodInvocation *invocation,
                         HddJobWork             work)
{
  return start (self, NULL, object_path, subject, invocation, work);
}

guint
hdd_job_table_note_qemu (HddJobTable *self,
                         const char  *object_path,
                         const char  *text,
                         const char  *failure)
{
  GHashTableIter iter;
  gpointer value;
  guint noted = 0;

  g_hash_table_iter_init (&iter, self->jobs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      HddJobState state = hdd_job_get_state (value);

      if ((state == HDD_JOB_RUNNING || state == HDD_JOB_WAITING_FOR_RELEASE) &&
          hdd_job_has_object (value, object_path))
        {
          hdd_job_note_qemu (value, text, failure);
          noted++;
        }
    }
  return noted;
}

/* ---- Stopping ---- */

static guint
unfinished_jobs (HddJobTable *self, GString *which)
{
  GHashTableIter iter;
  gpointer value;
  guint n = 0;

  g_hash_table_iter_init (&iter, self->jobs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      HddJob *job = value;

      if (hdd_job_is_finished (job))
        continue;
      n++;
      g_string_append_printf (which, "%sjob %u (%s, %s: %s)", which->len ? "; " : "",
                              hdd_job_get_id (job),
                              hdd_dbus_job_get_operation (HDD_DBUS_JOB (job)),
                              hdd_dbus_job_get_state (HDD_DBUS_JOB (job)),
                              hdd_dbus_job_get_status (HDD_DBUS_JOB (job)));
    }
  return n;
}

static gboolean
on_stop_timer (gpointer user_data)
{
  HddJobTable *self = user_data;
  g_autoptr(GString) which = g_string_new (NULL);
  gint64 now = g_get_monotonic_time ();

  if (unfinished_jobs (self, which) == 0)
    {
      self->stop_timer = 0;
      self->stop_done (self->stop_data);
      return G_SOURCE_REMOVE;
    }
  /* A job waiting for a VM to release a device takes as long as the VM:
   * say now and then what the stop waits for. */
  if (now >= self->stop_next_report)
    {
      hdd_message (NULL, 0, "Stopping: waiting for %s", which->str);
      self->stop_next_report = now + STOP_REPORT_INTERVAL_US;
    }
  return G_SOURCE_CONTINUE;
}

void
hdd_job_table_stop (HddJobTable *self,
                    GSourceFunc  done,
                    gpointer     user_data)
{
  GHashTableIter iter;
  gpointer value;

  if (self->stopping)
    return;
  self->stopping = TRUE;
  self->stop_done = done;
  self->stop_data = user_data;

  /* A job that can still be cancelled has done nothing it cannot undo: it
   * rolls back.  The others have started what only the kernel can finish
   * (an unbind, an mdev removal) and run to their end, so that no device
   * is left half-bound. */
  g_hash_table_iter_init (&iter, self->jobs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      HddJob *job = value;

      if (!hdd_job_is_finished (job) && hdd_job_cancel (job, NULL))
        hdd_message (NULL, hdd_job_get_id (job), "Stopping: cancelled job %u (%s)",
                     hdd_job_get_id (job), hdd_dbus_job_get_operation (HDD_DBUS_JOB (job)));
    }
  self->stop_timer = g_timeout_add (STOP_POLL_MS, on_stop_timer, self);
}
