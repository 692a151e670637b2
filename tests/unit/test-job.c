#include "hdd-error.h"
#include "hdd-job.h"

#include <glib/gstdio.h>
#include <string.h>

/* A job function that stops at two gates the test opens. */
typedef struct {
  GMutex   lock;
  GCond    cond;
  int      gate;         /* how far the test lets the job go */
  gboolean release;      /* whether to enter the point of no return */
  gboolean reached_release;
  const char *release_state;  /* vfio-dev directory with the release state */
} Gates;

static void
wait_gate (Gates *g, int n)
{
  g_mutex_lock (&g->lock);
  while (g->gate < n)
    g_cond_wait (&g->cond, &g->lock);
  g_mutex_unlock (&g->lock);
}

static void
open_gate (Gates *g, int n)
{
  g_mutex_lock (&g->lock);
  g->gate = n;
  g_cond_broadcast (&g->cond);
  g_mutex_unlock (&g->lock);
}

static gboolean
gated_func (HddJob *job, gpointer data, GError **error)
{
  Gates *g = data;
  const char *nodes[] = { "/dev/vfio/does-not-exist", NULL };

  hdd_job_step (job, "first step");
  wait_gate (g, 1);
  if (!hdd_job_check_cancelled (job, error))
    return FALSE;
  if (g->release)
    {
      if (!hdd_job_begin_release (job, "0000:01:00.0", nodes, g->release_state, "releasing",
                                  error))
        return FALSE;
      g_atomic_int_set (&g->reached_release, TRUE);
      wait_gate (g, 2);
      hdd_job_end_release (job);
    }
  hdd_job_set_progress (job, 1.0);
  hdd_job_step (job, "done");
  return TRUE;
}

static void
on_completed (HddDbusJob *job, gboolean success, const char *message, gpointer data)
{
  *(gboolean *) data = TRUE;
}

static void
run_until_completed (HddJob *job)
{
  gboolean completed = FALSE;
  gulong id = g_signal_connect (job, "completed", G_CALLBACK (on_completed), &completed);

  while (!completed)
    g_main_context_iteration (NULL, TRUE);
  g_signal_handler_disconnect (job, id);
}

static void
test_completes_with_steps (void)
{
  const char *objects[] = { "/org/hostdevd1/pci/0000_01_00_0", NULL };
  g_autoptr(HddJob) job = hdd_job_new (1, "bind-vfio", objects, ":1.5");
  Gates g = { .gate = 2 };
  g_autoptr(GVariant) steps = NULL;

  hdd_job_run (job, gated_func, &g, NULL);
  run_until_completed (job);
  g_assert_cmpint (hdd_job_get_state (job), ==, HDD_JOB_COMPLETED);
  g_assert_cmpstr (hdd_dbus_job_get_state (HDD_DBUS_JOB (job)), ==, "completed");
  g_assert_cmpstr (hdd_dbus_job_get_status (HDD_DBUS_JOB (job)), ==, "done");
  g_assert_cmpfloat (hdd_dbus_job_get_progress (HDD_DBUS_JOB (job)), ==, 1.0);
  steps = g_variant_ref (hdd_dbus_job_get_steps (HDD_DBUS_JOB (job)));
  g_assert_cmpuint (g_variant_n_children (steps), ==, 2);
  g_assert_cmpuint (hdd_dbus_job_get_end_time (HDD_DBUS_JOB (job)), >=,
                    hdd_dbus_job_get_start_time (HDD_DBUS_JOB (job)));
}

static void
test_cancel_before_point_of_no_return (void)
{
  g_autoptr(HddJob) job = hdd_job_new (2, "bind-vfio", NULL, NULL);
  g_autoptr(GError) error = NULL;
  Gates g = { .gate = 0 };

  hdd_job_run (job, gated_func, &g, NULL);
  g_assert_true (hdd_job_cancel (job, &error));
  g_assert_no_error (error);
  open_gate (&g, 2);
  run_until_completed (job);
  g_assert_cmpint (hdd_job_get_state (job), ==, HDD_JOB_CANCELLED);
  g_assert_cmpstr (hdd_dbus_job_get_error_name (HDD_DBUS_JOB (job)), ==,
                   "org.hostdevd1.Error.Cancelled");
}

static void
test_cancel_refused_while_releasing (void)
{
  g_autoptr(HddJob) job = hdd_job_new (3, "restore", NULL, NULL);
  g_autoptr(GError) error = NULL;
  Gates g = { .gate = 1, .release = TRUE };

  hdd_job_run (job, gated_func, &g, NULL);
  while (!g_atomic_int_get (&g.reached_release))
    g_usleep (1000);
  while (hdd_job_get_state (job) != HDD_JOB_WAITING_FOR_RELEASE)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (hdd_dbus_job_get_cancelable (HDD_DBUS_JOB (job)));
  g_assert_false (hdd_job_cancel (job, &error));
  g_assert_error (error, HDD_ERROR, HDD_ERROR_BUSY);
  open_gate (&g, 2);
  run_until_completed (job);
  g_assert_cmpint (hdd_job_get_state (job), ==, HDD_JOB_COMPLETED);

  g_clear_error (&error);
  g_assert_false (hdd_job_cancel (job, &error));
  g_assert_error (error, HDD_ERROR, HDD_ERROR_BUSY);
  /* No release state given: the kernel does not say. */
  g_assert_cmpint (hdd_dbus_job_get_release_requests (HDD_DBUS_JOB (job)), ==, -1);
}

static void
set_release_state (const char *dir, const char *pending, const char *requests)
{
  g_autofree char *p = g_build_filename (dir, "release_pending", NULL);
  g_autofree char *r = g_build_filename (dir, "release_requests", NULL);

  g_assert_true (g_file_set_contents (p, pending, -1, NULL));
  g_assert_true (g_file_set_contents (r, requests, -1, NULL));
}

static void
wait_for_requests (HddJob *job, int n)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (hdd_dbus_job_get_release_requests (HDD_DBUS_JOB (job)) != n)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
}

/* What vfio-dev's release_pending and release_requests say reaches the
 * job's ReleaseRequests and its steps while it waits. */
static void
test_release_requests_shown (void)
{
  g_autoptr(HddJob) job = hdd_job_new (4, "remove-mdev", NULL, NULL);
  g_autofree char *dir = g_dir_make_tmp ("hostdevd-vfio-dev-XXXXXX", NULL);
  g_autoptr(GString) steps = g_string_new (NULL);
  Gates g = { .gate = 1, .release = TRUE, .release_state = dir };
  GVariantIter iter;
  const char *text;

  set_release_state (dir, "0\n", "0\n");
  hdd_job_run (job, gated_func, &g, NULL);
  wait_for_requests (job, 0);
  set_release_state (dir, "1\n", "1\n");
  wait_for_requests (job, 1);
  set_release_state (dir, "1\n", "3\n");
  wait_for_requests (job, 3);
  open_gate (&g, 2);
  run_until_completed (job);
  g_assert_cmpint (hdd_dbus_job_get_release_requests (HDD_DBUS_JOB (job)), ==, 3);

  g_variant_iter_init (&iter, hdd_dbus_job_get_steps (HDD_DBUS_JOB (job)));
  while (g_variant_iter_next (&iter, "(t&s)", NULL, &text))
    g_string_append_printf (steps, "%s\n", text);
  g_assert_nonnull (strstr (steps->str, "asked the holders of 0000:01:00.0 to release it (request 1)\n"));
  g_assert_nonnull (strstr (steps->str, "(request 3)\n"));

  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *f = g_build_filename (dir, i ? "release_pending" : "release_requests", NULL);
      g_remove (f);
    }
  g_rmdir (dir);
}

/* A job asking a guest (hdd_job_watch_holders) shows the holders but has
 * not passed its point of no return: still running, still cancelable; and
 * what it says of itself (Status, Domain, Deadline) arrives as posted. */
static gboolean
watching_func (HddJob *job, gpointer data, GError **error)
{
  Gates *g = data;
  const char *nodes[] = { "/dev/vfio/does-not-exist", NULL };

  hdd_job_set_domain (job, "guest");
  hdd_job_set_deadline (job, 1234);
  hdd_job_watch_holders (job, "0000:01:00.0", nodes, NULL);
  hdd_job_set_status (job, "Waiting for domain %s", "guest");
  g_atomic_int_set (&g->reached_release, TRUE);
  wait_gate (g, 1);
  return hdd_job_check_cancelled (job, error);
}

static void
test_watching_stays_cancelable (void)
{
  g_autoptr(HddJob) job = hdd_job_new (5, "unplug", NULL, NULL);
  HddDbusJob *iface = HDD_DBUS_JOB (job);
  g_autoptr(GError) error = NULL;
  Gates g = { .gate = 0 };

  hdd_job_run (job, watching_func, &g, NULL);
  while (g_strcmp0 (hdd_dbus_job_get_status (iface), "Waiting for domain guest") != 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (hdd_dbus_job_get_state (iface), ==, "running");
  g_assert_true (hdd_dbus_job_get_cancelable (iface));
  g_assert_cmpstr (hdd_dbus_job_get_domain (iface), ==, "guest");
  g_assert_cmpuint (hdd_dbus_job_get_deadline (iface), ==, 1234);
  /* A status is no step: only the job's own steps are recorded. */
  g_assert_cmpuint (g_variant_n_children (hdd_dbus_job_get_steps (iface)), ==, 0);

  g_assert_true (hdd_job_cancel (job, &error));
  open_gate (&g, 1);
  run_until_completed (job);
  g_assert_cmpint (hdd_job_get_state (job), ==, HDD_JOB_CANCELLED);
}

/* A Cancel() that comes after the work returned, before the job finished
 * on the main context, is refused: the job ends as its work did, and the
 * answer says so (it used to answer success and end "completed"). */
static gboolean
quiet_gated_func (HddJob *job, gpointer data, GError **error)
{
  wait_gate (data, 1);
  return TRUE;   /* posts nothing after the gate: finish() is all that comes */
}

static void
test_cancel_refused_once_work_returned (void)
{
  g_autoptr(HddJob) job = hdd_job_new (6, "bind-vfio", NULL, NULL);
  g_autoptr(GError) error = NULL;
  Gates g = { .gate = 0 };

  hdd_job_run (job, quiet_gated_func, &g, NULL);
  while (hdd_job_get_state (job) != HDD_JOB_RUNNING)
    g_main_context_iteration (NULL, TRUE);
  open_gate (&g, 1);
  /* The worker returned once its finish waits on the main context. */
  while (!g_main_context_pending (NULL))
    g_usleep (1000);
  g_assert_false (hdd_job_cancel (job, &error));
  g_assert_error (error, HDD_ERROR, HDD_ERROR_BUSY);
  g_assert_nonnull (strstr (error->message, "its work is done"));
  run_until_completed (job);
  g_assert_cmpint (hdd_job_get_state (job), ==, HDD_JOB_COMPLETED);
}

/* A job that reports without end keeps a bounded Steps: repeats counted
 * in one step, the first steps and the latest kept, the rest counted. */
static gboolean
chatty_func (HddJob *job, gpointer data, GError **error)
{
  hdd_job_step (job, "started");
  for (guint i = 0; i < 1000; i++)
    hdd_job_step (job, "same again");
  for (guint i = 0; i < 1000; i++)
    hdd_job_step (job, "step %u", i);
  hdd_job_step (job, "%s", (const char *) data);
  return TRUE;
}

static void
test_steps_bounded (void)
{
  g_autoptr(HddJob) job = hdd_job_new (7, "unplug", NULL, NULL);
  g_autofree char *long_text = g_strnfill (100000, 'x');
  GVariant *steps;
  const char *text;

  hdd_job_run (job, chatty_func, long_text, NULL);
  run_until_completed (job);
  g_assert_cmpint (hdd_job_get_state (job), ==, HDD_JOB_COMPLETED);
  steps = hdd_dbus_job_get_steps (HDD_DBUS_JOB (job));
  g_assert_cmpuint (g_variant_n_children (steps), ==, HDD_JOB_MAX_STEPS);
  g_variant_get_child (steps, 0, "(t&s)", NULL, &text);
  g_assert_cmpstr (text, ==, "started");
  g_variant_get_child (steps, 1, "(t&s)", NULL, &text);
  g_assert_cmpstr (text, ==, "same again (1000 times)");
  g_variant_get_child (steps, 2, "(t&s)", NULL, &text);
  g_assert_cmpstr (text, ==, "step 0");
  /* 1003 steps: 10 kept at the head, the marker, the latest 89. */
  g_variant_get_child (steps, 10, "(t&s)", NULL, &text);
  g_assert_cmpstr (text, ==, "(904 steps left out)");
  g_variant_get_child (steps, 11, "(t&s)", NULL, &text);
  g_assert_cmpstr (text, ==, "step 912");
  g_variant_get_child (steps, HDD_JOB_MAX_STEPS - 2, "(t&s)", NULL, &text);
  g_assert_cmpstr (text, ==, "step 999");
  g_variant_get_child (steps, HDD_JOB_MAX_STEPS - 1, "(t&s)", NULL, &text);
  g_assert_cmpuint (strlen (text), <=, 1024 + strlen ("…"));
  g_assert_true (g_str_has_suffix (text, "…"));
  g_assert_cmpstr (hdd_dbus_job_get_status (HDD_DBUS_JOB (job)), ==, text);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/job/completes-with-steps", test_completes_with_steps);
  g_test_add_func ("/job/cancel-before-point-of-no-return", test_cancel_before_point_of_no_return);
  g_test_add_func ("/job/cancel-refused-while-releasing", test_cancel_refused_while_releasing);
  g_test_add_func ("/job/release-requests-shown", test_release_requests_shown);
  g_test_add_func ("/job/watching-stays-cancelable", test_watching_stays_cancelable);
  g_test_add_func ("/job/cancel-refused-once-work-returned",
                   test_cancel_refused_once_work_returned);
  g_test_add_func ("/job/steps-bounded", test_steps_bounded);
  return g_test_run ();
}
