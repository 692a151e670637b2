/* The Jobs on the bus: numbers them, exports them under
 * /org/hostdevd1/jobs/N, answers their Cancel() (the caller that started a
 * job may cancel it; anyone else needs org.hostdevd1.cancel-any), keeps
 * finished jobs visible for a while, and stops the daemon's work.  A job
 * started on a device becomes its ActiveJob until it ends; then
 * "job-finished" tells whoever owns the device.  Main context only. */
#pragma once

#include "hdd-device.h"
#include "hdd-job.h"

G_BEGIN_DECLS

#define HDD_TYPE_JOB_TABLE (hdd_job_table_get_type ())
G_DECLARE_FINAL_TYPE (HddJobTable, hdd_job_table, HDD, JOB_TABLE, GObject)

/* Finished jobs stay visible this long, so that a caller that did not
 * follow a job (a late `hostdevctl wait`, `hostdevctl jobs`) still finds
 * out how it ended, and at most this many of them: past that, the one
 * that finished first goes first.  A caller that follows its job hears
 * Completed; the journal keeps every job's end. */
#define HDD_JOB_TABLE_RETENTION_S 60
#define HDD_JOB_TABLE_MAX_FINISHED 128

/* Jobs not finished, of one caller and of all (docs/dbus-api.md,
 * "Limits"): a call that would start one more is refused with
 * LimitExceeded, and one on a device that has a job with Busy, before
 * polkit is asked and again after (hdd_bouncer_set_admission). */
#define HDD_JOB_TABLE_MAX_JOBS_PER_SENDER 16
#define HDD_JOB_TABLE_MAX_JOBS 64

HddJobTable *hdd_job_table_new (GDBusObjectManagerServer *object_manager,
                                HddAuthority             *authority);

/* Creates, exports and starts @work (taken) as a job in its own thread on
 * behalf of the sender of @invocation (NULL: the daemon itself) on
 * @device, whose ActiveJob it becomes.  Returns a borrowed pointer. */
HddJob *hdd_job_table_start (HddJobTable           *self,
                             HddDevice             *device,
                             GDBusMethodInvocation *invocation,
                             HddJobWork             work);

/* The same on an object that has no HddDevice (an mdev being removed has
 * none): @object_path, and @subject to name it in the log. */
HddJob *hdd_job_table_start_for (HddJobTable           *self,
                                 const char            *object_path,
                                 const char            *subject,
                                 GDBusMethodInvocation *invocation,
                                 HddJobWork             work);

/* The job numbered @id, NULL when there is none (any more). */
HddJob *hdd_job_table_lookup (HddJobTable *self,
                              guint        id);

/* Records what a domain's QEMU said (hdd_job_note_qemu) on every running
 * job on @object_path; returns on how many. */
guint hdd_job_table_note_qemu (HddJobTable *self,
                               const char  *object_path,
                               const char  *text,
                               const char  *failure);

/* Stops taking work: cancels the jobs that can still be cancelled (they
 * roll back), cancels any job started from now on before it runs, and
 * calls @done on the main context once every job has ended. */
void hdd_job_table_stop (HddJobTable *self,
                         GSourceFunc  done,
                         gpointer     user_data);

/* Signal "job-finished" (HddJob *job, HddDevice *device or NULL): a job
 * ended; its device no longer has it as ActiveJob. */

G_END_DECLS
