/* The jobs on their own: a job takes a context (store, libvirt, locks),
 * not the daemon, so that what it does to sysfs and the store — and what it
 * undoes when the kernel refuses — can be run here against the fake kernel,
 * in the order its steps say. */
#include "fake-sysfs.h"
#include "hdd-context.h"
#include "hdd-error.h"
#include "hdd-job.h"
#include "hdd-libvirt.h"
#include "hdd-mdev-ops.h"
#include "hdd-mdev-sysfs.h"
#include "hdd-pci-ops.h"
#include "hdd-pci-sysfs.h"
#include "hdd-store.h"
#include "hdd-unplug.h"

#include <glib/gstdio.h>
#include <string.h>

#define NIC   "0000:01:00.0"   /* alone in IOMMU group 7 */
#define PAIR  "0000:02:00.0"   /* IOMMU group 8, with PEER */
#define PEER  "0000:02:00.1"
#define UUID  "6d5c2a8e-2f4e-4a9e-9b1f-3c1d2e4f5a61"

typedef struct {
  FakeSysfs  *fs;
  char       *state;
  HddStore   *store;
  HddContext *context;
  guint       next_id;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  const char *attributes[] = { "mode", NULL };

  f->fs = fake_sysfs_new ();
  fake_sysfs_add_driver (f->fs, "e1000e");
  fake_sysfs_add_driver (f->fs, "igb");
  fake_sysfs_add_driver (f->fs, "vfio-pci");
  fake_sysfs_add_device (f->fs, NIC, 7, "e1000e");
  fake_sysfs_add_device (f->fs, PAIR, 8, "e1000e");
  fake_sysfs_add_device (f->fs, PEER, 8, "igb");
  fake_sysfs_add_mdev_type (f->fs, "mtty", "mtty-2", attributes);
  fake_kernel_start (f->fs);
  f->state = g_dir_make_tmp ("hostdevd-state-XXXXXX", &error);
  g_assert_no_error (error);
  f->store = hdd_store_new (f->state);
  g_assert_true (hdd_store_load (f->store, &error));
  f->context = hdd_context_new (f->store, NULL);
  f->next_id = 1;
}


static void
teardown (Fixture *f, gconstpointer data)
{
  fake_kernel_stop (f->fs);
  g_clear_object (&f->context);
  g_clear_object (&f->store);
  fake_sysfs_rm_rf (f->state);
  g_free (f->state);
  fake_sysfs_free (f->fs);
}

/* The job's steps, one a line, once the main context delivered them. */
static char *
steps_of (HddJob *job)
{
  GString *text = g_string_new (NULL);
  GVariantIter iter;
  const char *step;

  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_variant_iter_init (&iter, hdd_dbus_job_get_steps (HDD_DBUS_JOB (job)));
  while (g_variant_iter_next (&iter, "(t&s)", NULL, &step))
    g_string_append_printf (text, "%s\n", step);
  return g_string_free (text, FALSE);
}

/* Runs @work to its end in this thread as job N; returns the job. */
static HddJob *
run (Fixture *f, HddJobWork work, gboolean *ok, GError **error)
{
  HddJob *job = hdd_job_new (f->next_id++, work.operation, NULL, NULL);

  *ok = hdd_job_run_sync (job, work.func, work.data, error);
  work.destroy (work.data);
  return job;
}

/* @needles appear in @haystack in this order. */
static void
assert_in_order (const char *haystack, const char * const *needles)
{
  const char *at = haystack;

  for (guint i = 0; needles[i]; i++)
    {
      const char *found = strstr (at, needles[i]);

      if (found == NULL)
        g_error ("“%s” is not in order in:\n%s", needles[i], haystack);
      at = found + strlen (needles[i]);
    }
}

/* Makes writes to @file fail, as a kernel that refuses them: a directory
 * in its place (root writes any file). */
static void
refuse_writes (Fixture *f, const char *file)
{
  g_autofree char *p = g_strconcat (fake_sysfs_root (f->fs), file, NULL);

  g_assert_cmpint (g_unlink (p), ==, 0);
  g_assert_cmpint (g_mkdir (p, 0755), ==, 0);
}

static char *
driver_of (const char *address)
{
  return hdd_pci_sysfs_read_driver (address);
}

/* ---- bind and restore ---- */

static void
test_bind_persist_restore (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HddJob) bind = NULL;
  g_autoptr(HddJob) restore = NULL;
  g_autoptr(HddBinding) entry = NULL;
  g_autofree char *driver = NULL;
  g_autofree char *steps = NULL;
  gboolean ok;

  bind = run (f, hdd_pci_ops_bind (f->context, NIC, HDD_BIND_PERSIST), &ok, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  driver = driver_of (NIC);
  g_assert_cmpstr (driver, ==, "vfio-pci");
  entry = hdd_store_lookup (f->store, NIC);
  g_assert_nonnull (entry);
  g_assert_cmpstr (entry->original_driver, ==, "e1000e");
  g_assert_true (entry->persistent);
  steps = steps_of (bind);
  assert_in_order (steps, (const char *[]) { "Checking IOMMU group of " NIC,
                                             "Bound to vfio-pci; the binding is persistent",
                                             NULL });

  restore = run (f, hdd_pci_ops_restore (f->context, NIC), &ok, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_free (driver);
  driver = driver_of (NIC);
  g_assert_cmpstr (driver, ==, "e1000e");
  g_clear_pointer (&entry, hdd_binding_free);
  entry = hdd_store_lookup (f->store, NIC);
  g_assert_null (entry);
  g_free (steps);
  steps = steps_of (restore);
  g_assert_nonnull (strstr (steps, "Forgot the persistent binding of " NIC));
}

/* The group's second member cannot be bound: the first goes back to its
 * driver and the store is as before. */
static void
test_bind_group_rolls_back (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HddJob) job = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  g_autofree char *pair = NULL;
  g_autofree char *peer = NULL;
  g_autofree char *steps = NULL;
  gboolean ok;

  fake_kernel_fail_probe_of (f->fs, PEER, "vfio-pci");
  job = run (f, hdd_pci_ops_bind (f->context, PAIR, HDD_BIND_WHOLE_GROUP), &ok, &error);
  g_assert_false (ok);
  g_assert_nonnull (error);
  pair = driver_of (PAIR);
  peer = driver_of (PEER);
  steps = steps_of (job);
  assert_in_order (steps, (const char *[]) { "Moving 2 devices of IOMMU group 8 to vfio-pci",
                                             NULL });
  g_assert_cmpstr (pair, ==, "e1000e");
  g_assert_cmpstr (peer, ==, "igb");
  entries = hdd_store_list (f->store);
  g_assert_cmpuint (entries->len, ==, 0);
}

/* An unbind the kernel refuses (the write fails) fails the restore: the
 * device stays on vfio-pci, and its binding persistent. */
static void
test_restore_failure_keeps_persistence (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HddJob) bind = NULL;
  g_autoptr(HddJob) restore = NULL;
  g_autoptr(HddBinding) entry = NULL;
  g_autofree char *driver = NULL;
  gboolean ok;

  bind = run (f, hdd_pci_ops_bind (f->context, NIC, HDD_BIND_PERSIST), &ok, &error);
  g_assert_true (ok);
  refuse_writes (f, "/sys/bus/pci/drivers/vfio-pci/unbind");
  restore = run (f, hdd_pci_ops_restore (f->context, NIC), &ok, &error);
  g_assert_false (ok);
  g_assert_nonnull (error);
  entry = hdd_store_lookup (f->store, NIC);
  g_assert_nonnull (entry);
  g_assert_true (entry->persistent);
  g_assert_cmpstr (entry->original_driver, ==, "e1000e");
  driver = driver_of (NIC);
  g_assert_cmpstr (driver, ==, "vfio-pci");
}

/* ---- the group lock ---- */

typedef struct {
  Fixture *f;
  HddJob  *job;
  gboolean ok;
  GError  *error;
  gboolean done;
} Async;

static gpointer
bind_thread (gpointer data)
{
  Async *a = data;
  HddJobWork work = hdd_pci_ops_bind (a->f->context, NIC, HDD_BIND_FLAGS_NONE);

  a->ok = hdd_job_run_sync (a->job, work.func, work.data, &a->error);
  work.destroy (work.data);
  g_atomic_int_set (&a->done, TRUE);
  return NULL;
}

static gboolean
job_says (HddJob *job, const char *text)
{
  g_autofree char *steps = steps_of (job);

  return strstr (steps, text) != NULL;
}

/* A job waits, queued, while another holds its group, and goes on once it
 * is free; a Cancel() while it waits ends it with nothing done. */
static void
test_group_lock (Fixture *f, gconstpointer data)
{
  g_autofree char *key = hdd_pci_ops_lock_key (NIC);
  g_autoptr(HddJob) holder = hdd_job_new (90, "bind-vfio", NULL, NULL);
  Async a = { .f = f, .job = hdd_job_new (91, "bind-vfio", NULL, NULL) };
  Async b = { .f = f, .job = hdd_job_new (92, "bind-vfio", NULL, NULL) };
  g_autofree char *driver = NULL;
  GThread *thread;

  g_assert_cmpstr (key, ==, "group:7");
  g_assert_true (hdd_context_lock (f->context, holder, key, NULL));

  /* Cancelled while it waits. */
  thread = g_thread_new ("bind-b", bind_thread, &b);
  while (!job_says (b.job, "Waiting for another job on IOMMU group:7"))
    g_usleep (10000);
  g_assert_true (hdd_job_cancel (b.job, NULL));
  g_thread_join (thread);
  g_assert_false (b.ok);
  g_assert_error (b.error, HDD_ERROR, HDD_ERROR_CANCELLED);
  driver = driver_of (NIC);
  g_assert_cmpstr (driver, ==, "e1000e");

  /* Goes on once the group is free. */
  thread = g_thread_new ("bind-a", bind_thread, &a);
  while (!job_says (a.job, "Waiting for another job on IOMMU group:7"))
    g_usleep (10000);
  g_assert_false (g_atomic_int_get (&a.done));
  hdd_context_unlock (f->context, key);
  g_thread_join (thread);
  g_assert_no_error (a.error);
  g_assert_true (a.ok);
  g_free (driver);
  driver = driver_of (NIC);
  g_assert_cmpstr (driver, ==, "vfio-pci");
  g_object_unref (a.job);
  g_object_unref (b.job);
  g_clear_error (&b.error);
}

/* ---- mdev create and remove ---- */

static HddMdevConfig *
mdev_config (const char *attr, const char *value)
{
  HddMdevConfig *c = hdd_mdev_config_new (UUID, "mtty", "mtty-2", FALSE);

  if (attr)
    hdd_mdev_config_add_attr (c, attr, value);
  return c;
}

static void
test_mdev_create_remove (Fixture *f, gconstpointer data)
{
  g_autoptr(HddMdevConfig) c = mdev_config ("mode", "fast");
  g_autoptr(GError) error = NULL;
  g_autoptr(HddJob) create = NULL;
  g_autoptr(HddJob) remove = NULL;
  g_autofree char *steps = NULL;
  gboolean ok;

  create = run (f, hdd_mdev_ops_create (f->context, c, "create-mdev"), &ok, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_true (hdd_mdev_sysfs_is_active (UUID));
  steps = steps_of (create);
  assert_in_order (steps, (const char *[]) { "Creating mdev " UUID,
                                             "Setting attribute mode of mdev " UUID,
                                             "Created mdev " UUID, NULL });

  remove = run (f, hdd_mdev_ops_remove (f->context, UUID, "remove-mdev"), &ok, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_false (hdd_mdev_sysfs_is_active (UUID));
}

/* The vendor driver refuses an attribute: the mdev is removed again. */
static void
test_mdev_create_rolls_back (Fixture *f, gconstpointer data)
{
  g_autoptr(HddMdevConfig) c = mdev_config ("no-such-attribute", "1");
  g_autoptr(GError) error = NULL;
  g_autoptr(HddJob) job = NULL;
  g_autofree char *steps = NULL;
  gboolean ok;

  job = run (f, hdd_mdev_ops_create (f->context, c, "create-mdev"), &ok, &error);
  g_assert_false (ok);
  g_assert_error (error, HDD_ERROR, HDD_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "rejected attribute no-such-attribute"));
  g_assert_false (hdd_mdev_sysfs_is_active (UUID));
  steps = steps_of (job);
  assert_in_order (steps, (const char *[]) { "Creating mdev " UUID,
                                             "Setting attribute no-such-attribute",
                                             "Removing mdev " UUID " again", NULL });
}

/* ---- unplug ---- */

/* No process holds the device and libvirt knows no domain: the unplug
 * releases it through the kernel, back to its original driver, and drops
 * the record of a binding that was not persistent. */
static void
test_unplug_through_kernel (Fixture *f, gconstpointer data)
{
  g_autoptr(HddLibvirt) libvirt = hdd_libvirt_new ("test:///nowhere");
  g_autoptr(HddContext) context = hdd_context_new (f->store, libvirt);
  HddUnplugOptions options = { .deadline_s = 5, .policy = HDD_UNPLUG_POLICY_FAIL };
  HddUnplug *unplug;
  g_autoptr(GError) error = NULL;
  g_autoptr(HddJob) bind = NULL;
  g_autoptr(HddJob) job = NULL;
  g_autoptr(HddBinding) entry = NULL;
  g_autofree char *driver = NULL;
  g_autofree char *steps = NULL;
  gboolean ok;

  bind = run (f, hdd_pci_ops_bind (context, NIC, HDD_BIND_FLAGS_NONE), &ok, &error);
  g_assert_true (ok);
  unplug = hdd_unplug_new (context, NIC, &options, FALSE);
  job = run (f, (HddJobWork) { "unplug", hdd_unplug_run, unplug, hdd_unplug_free }, &ok, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  driver = driver_of (NIC);
  g_assert_cmpstr (driver, ==, "e1000e");
  entry = hdd_store_lookup (f->store, NIC);
  g_assert_null (entry);
  steps = steps_of (job);
  assert_in_order (steps, (const char *[]) {
    "Unplugging " NIC ": deadline 5 s, policy fail",
    "No process holds " NIC,
    "hostdevd is not connected to libvirt",
    "Releasing " NIC " through the kernel",
    NIC " is free after ",
    "released through the kernel, now on e1000e", NULL });
}

/* DetachFromDomain goes through libvirt only: without a domain that has
 * the device it fails and leaves the device where it is. */
static void
test_detach_without_domain_fails (Fixture *f, gconstpointer data)
{
  g_autoptr(HddLibvirt) libvirt = hdd_libvirt_new ("test:///nowhere");
  g_autoptr(HddContext) context = hdd_context_new (f->store, libvirt);
  HddUnplugOptions options = { .deadline_s = 5, .policy = HDD_UNPLUG_POLICY_FAIL };
  g_autoptr(GError) error = NULL;
  g_autoptr(HddJob) bind = NULL;
  g_autoptr(HddJob) job = NULL;
  g_autofree char *driver = NULL;
  gboolean ok;

  bind = run (f, hdd_pci_ops_bind (context, NIC, HDD_BIND_FLAGS_NONE), &ok, &error);
  g_assert_true (ok);
  job = run (f, (HddJobWork) { "detach-from-domain", hdd_unplug_run,
                               hdd_unplug_new (context, NIC, &options, TRUE), hdd_unplug_free },
             &ok, &error);
  g_assert_false (ok);
  g_assert_nonnull (error);
  driver = driver_of (NIC);
  g_assert_cmpstr (driver, ==, "vfio-pci");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, func) g_test_add ("/jobs/" name, Fixture, NULL, setup, func, teardown)
  ADD ("bind/persist-then-restore", test_bind_persist_restore);
  ADD ("bind/group-rolls-back", test_bind_group_rolls_back);
  ADD ("restore/failure-keeps-persistence", test_restore_failure_keeps_persistence);
  ADD ("lock/waits-and-cancels", test_group_lock);
  ADD ("mdev/create-remove", test_mdev_create_remove);
  ADD ("mdev/create-rolls-back", test_mdev_create_rolls_back);
  ADD ("unplug/through-kernel", test_unplug_through_kernel);
  ADD ("detach/without-domain-fails", test_detach_without_domain_fails);
  return g_test_run ();
}
