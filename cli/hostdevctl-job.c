/* Following a job: waiting for it with live progress, the outcome, the
 * exit status.
 *
 * The end of a job is seen in two ways, because either may come first: the
 * State property that the proxy read when it was made (a job that finished
 * before we looked) and the Completed signal (a job that finishes while we
 * wait).  The proxy subscribed to the signal before it read the properties,
 * and the handler is connected before the main loop runs, so no end falls
 * between the two. */
#include "hostdevctl-job.h"

#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>

#include "hdd-names.h"
#include "hostdevctl-exit.h"
#include "hostdevctl-format.h"
#include "hostdevctl-json.h"
#include "hostdevctl-output.h"

gboolean
hdc_job_state_is_final (const char *state)
{
  return g_strcmp0 (state, "completed") == 0 ||
         g_strcmp0 (state, "failed") == 0 ||
         g_strcmp0 (state, "cancelled") == 0;
}

gboolean
hdc_job_refresh (HddDbusJob *job,
                 GError    **error)
{
  GDBusProxy *proxy = G_DBUS_PROXY (job);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) properties = NULL;
  GVariantIter iter;
  const char *name;
  GVariant *value;

  reply = g_dbus_connection_call_sync (g_dbus_proxy_get_connection (proxy),
                                       g_dbus_proxy_get_name (proxy),
                                       g_dbus_proxy_get_object_path (proxy),
                                       "org.freedesktop.DBus.Properties", "GetAll",
                                       g_variant_new ("(s)", HDD_IFACE_JOB),
                                       G_VARIANT_TYPE ("(a{sv})"),
                                       G_DBUS_CALL_FLAGS_NO_AUTO_START,
                                       -1, NULL, error);
  if (reply == NULL)
    return FALSE;

  properties = g_variant_get_child_value (reply, 0);
  g_variant_iter_init (&iter, properties);
  while (g_variant_iter_loop (&iter, "{&sv}", &name, &value))
    g_dbus_proxy_set_cached_property (proxy, name, value);
  return TRUE;
}

typedef struct {
  HddDbusJob *job;
  guint       id;            /* read early: the cache empties when the daemon leaves */
  GMainLoop  *loop;
  gboolean    quiet;         /* --json: stdout is for the JSON only */
  gboolean    live;          /* one updating line on a terminal */
  gboolean    line_shown;
  guint       steps_shown;
  gboolean    completed;     /* the Completed signal came */
  gboolean    success;       /* ... and said so */
  char       *message;       /* ... with this */
  gboolean    vanished;      /* the daemon left the bus */
  gboolean    interrupted;   /* SIGINT / SIGTERM */
} Waiter;

static void
clear_line (Waiter *w)
{
  if (!w->line_shown)
    return;
  fputs ("\r\033[K", stdout);
  fflush (stdout);
  w->line_shown = FALSE;
}

static void
show_live_line (Waiter *w)
{
  const char *state = hdd_dbus_job_get_state (w->job);
  const char *status = hdd_dbus_job_get_status (w->job);
  g_autofree char *holders = NULL;
  g_autofree char *cut = NULL;
  g_autofree char *shown = NULL;
  g_autoptr(GString) line = g_string_new (NULL);
  guint width = hdc_output_terminal_width ();

  g_string_append_printf (line, "[%3.0f%%] %s",
                          hdd_dbus_job_get_progress (w->job) * 100.0, state ? state : "?");
  /* Who holds the device comes before the status: on a narrow terminal it
   * is what the person waiting needs to see.  A job asking a guest through
   * libvirt shows them while still running (and cancelable). */
  if (!hdc_job_state_is_final (state))
    {
      const char *domain = hdd_dbus_job_get_domain (w->job);

      holders = hdc_format_holders (hdd_dbus_job_get_holders (w->job), FALSE);
      if (holders != NULL)
        g_string_append_printf (line, ", held by %s", holders);
      if (domain != NULL && *domain != '\0')
        g_string_append_printf (line, " (domain %s)", domain);
      if (hdd_dbus_job_get_release_requests (w->job) > 0)
        g_string_append_printf (line, ", asked %d times",
                                hdd_dbus_job_get_release_requests (w->job));
    }
  g_string_append_printf (line, ": %s", status ? status : "");

  /* A line that wraps cannot be redrawn with a carriage return. */
  shown = hdc_format_escape (line->str);
  cut = hdc_format_ellipsize (shown, width > 1 ? width - 1 : 79);
  fputs ("\r\033[K", stdout);
  fputs (cut, stdout);
  fflush (stdout);
  w->line_shown = TRUE;
}

/* Without a terminal (a log, a pipe) every step becomes a line of its own. */
static void
show_new_steps (Waiter *w)
{
  GVariant *steps = hdd_dbus_job_get_steps (w->job);
  gsize n;

  if (steps == NULL || !g_variant_is_of_type (steps, G_VARIANT_TYPE ("a(ts)")))
    return;
  /* Steps are only ever appended, but a PropertiesChanged signal that was
   * queued before the proxy's initial GetAll is applied after it, so the
   * cached list can go back to an older, shorter one for a moment: never
   * count down, or the steps in between are printed twice. */
  n = g_variant_n_children (steps);
  if (n <= w->steps_shown)
    return;
  for (gsize i = w->steps_shown; i < n; i++)
    {
      const char *text;
      g_autofree char *shown = NULL;

      g_variant_get_child (steps, i, "(t&s)", NULL, &text);
      shown = hdc_format_escape (text);
      printf ("%s\n", shown);
    }
  w->steps_shown = n;
  fflush (stdout);
}

static void
show_progress (Waiter *w)
{
  if (w->quiet)
    return;
  if (w->live)
    show_live_line (w);
  else
    show_new_steps (w);
}

static void
on_properties_changed (GDBusProxy         *proxy,
                       GVariant           *changed,
                       const char * const *invalidated,
                       gpointer            user_data)
{
  Waiter *w = user_data;

  show_progress (w);
  /* Completed is the signal to stop; a final State that arrives first
   * (property changes and signals are separate messages) is as good. */
  if (hdc_job_state_is_final (hdd_dbus_job_get_state (w->job)))
    g_main_loop_quit (w->loop);
}

static void
on_completed (HddDbusJob *job,
              gboolean    success,
              const char *message,
              gpointer    user_data)
{
  Waiter *w = user_data;

  w->completed = TRUE;
  w->success = success;
  g_free (w->message);
  w->message = g_strdup (message);
  g_main_loop_quit (w->loop);
}

static gboolean
on_signal (gpointer user_data)
{
  Waiter *w = user_data;

  w->interrupted = TRUE;
  g_main_loop_quit (w->loop);
  return G_SOURCE_CONTINUE;
}

static int
report_outcome (Waiter *w)
{
  guint id = w->id;
  const char *state = hdd_dbus_job_get_state (w->job);
  gboolean ok;

  /* The final state decides; the signal only when the state could not be
   * read again (the daemon went away right after it). */
  if (hdc_job_state_is_final (state))
    ok = g_str_equal (state, "completed");
  else
    ok = w->completed && w->success;

  if (w->quiet)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      hdc_json_add_job (builder, w->job);
      hdc_json_print (builder);
    }
  else if (ok)
    {
      const char *status = hdd_dbus_job_get_status (w->job);
      g_autofree char *shown =
        hdc_format_escape (w->message && *w->message ? w->message : status ? status : "done");

      printf ("Job %u completed: %s\n", id, shown);
    }

  if (!ok)
    {
      const char *message = hdd_dbus_job_get_error_message (w->job);
      g_autofree char *shown_message = NULL;
      g_autofree char *shown_state = hdc_format_escape (state ? state : "failed");

      if (message == NULL || *message == '\0')
        message = w->message;
      shown_message = hdc_format_escape (message);
      if (message != NULL && *message != '\0')
        fprintf (stderr, "hostdevctl: %s\n", shown_message);
      else
        fprintf (stderr, "hostdevctl: Job %u %s\n", id, shown_state);
    }
  return ok ? HDC_EXIT_OK : HDC_EXIT_FAILURE;
}

int
hdc_job_wait (HdcClient  *client,
              HddDbusJob *job,
              gboolean    json)
{
  Waiter w = { 0, };
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  guint sigint, sigterm;
  gulong props_id, completed_id;
  int status;

  w.job = job;
  w.id = hdd_dbus_job_get_id (job);
  if (w.id == 0)
    w.id = hdc_format_job_id_from_path (g_dbus_proxy_get_object_path (G_DBUS_PROXY (job)));
  w.loop = loop;
  w.quiet = json;
  w.live = !json && hdc_output_is_terminal (stdout);

  props_id = g_signal_connect (job, "g-properties-changed", G_CALLBACK (on_properties_changed), &w);
  completed_id = g_signal_connect (job, "completed", G_CALLBACK (on_completed), &w);
  /* The job's proxy is on the daemon's unique name (hdc_client_open_job()),
   * which hdc_client_new() watches: the loop ends if the daemon leaves, and
   * the flag says whether it left before. */
  hdc_client_quit_if_daemon_leaves (client, loop);
  /* Ctrl+C stops the waiting, not the job: say how to get back to it. */
  sigint = g_unix_signal_add (SIGINT, on_signal, &w);
  sigterm = g_unix_signal_add (SIGTERM, on_signal, &w);

  show_progress (&w);
  if (!hdc_job_state_is_final (hdd_dbus_job_get_state (job)))
    {
      if (hdc_client_daemon_left (client))
        w.vanished = TRUE;
      else
        g_main_loop_run (loop);
    }

  g_source_remove (sigint);
  g_source_remove (sigterm);
  g_signal_handler_disconnect (job, props_id);
  g_signal_handler_disconnect (job, completed_id);
  hdc_client_quit_if_daemon_leaves (client, NULL);
  if (!w.completed && !w.interrupted && !hdc_job_state_is_final (hdd_dbus_job_get_state (job)) &&
      hdc_client_daemon_left (client))
    w.vanished = TRUE;
  clear_line (&w);

  if (w.interrupted)
    {
      fprintf (stderr, "hostdevctl: Stopped waiting; job %u goes on "
               "(“hostdevctl wait %u” follows it, “hostdevctl cancel %u” stops it)\n",
               w.id, w.id, w.id);
      g_free (w.message);
      return HDC_EXIT_FAILURE;
    }
  if (w.vanished)
    {
      fprintf (stderr, "hostdevctl: hostdevd left the system bus before job %u finished\n",
               w.id);
      g_free (w.message);
      return HDC_EXIT_FAILURE;
    }

  /* The Completed signal may overtake the last property changes: read the
   * final state, status and error from the daemon itself. */
  if (!hdc_job_refresh (job, &error))
    g_debug ("Could not read the final properties of the job: %s", error->message);

  if (!w.quiet && !w.live)
    show_new_steps (&w);
  status = report_outcome (&w);
  g_free (w.message);
  return status;
}

int
hdc_job_follow (HdcClient  *client,
                const char *path,
                gboolean    no_wait,
                gboolean    json)
{
  g_autoptr(HddDbusJob) job = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ended = FALSE;

  /* A job the command started after hdc_client_watch_jobs() is followed
   * through the client's subscriptions, made before the call: nothing is
   * read until it ends, unless a person watches it live on a terminal, it
   * may have ended already, or the properties are the output (--json). */
  if (client->job_changes != 0)
    {
      job = hdc_client_follow_job (client, path, &ended, &error);
      if (job != NULL && (ended || json || (!no_wait && hdc_output_is_terminal (stdout))) &&
          !hdc_job_refresh (job, &error))
        g_clear_object (&job);
    }
  else
    job = hdc_client_open_job (client, path, &error);
  if (job == NULL)
    return hdc_output_fail (error);

  if (!no_wait)
    return hdc_job_wait (client, job, json);

  if (json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      hdc_json_add_job (builder, job);
      hdc_json_print (builder);
    }
  else
    printf ("Started job %u (%s)\n", hdc_format_job_id_from_path (path), path);
  return HDC_EXIT_OK;
}
