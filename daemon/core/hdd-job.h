/* A long operation, exported as org.hostdevd1.Job.
 *
 * The work runs in a thread of its own; everything it reports (steps,
 * progress, holders) is marshalled to the main context, where the D-Bus
 * properties live.  While the kernel is releasing a device (an unbind or
 * remove that blocks until every user closed it) the job polls the holders
 * of the device's nodes and shows them. */
#pragma once

#include "hdd-dbus-generated.h"
#include "hdd-types.h"

G_BEGIN_DECLS

#define HDD_TYPE_JOB (hdd_job_get_type ())
G_DECLARE_FINAL_TYPE (HddJob, hdd_job, HDD, JOB, HddDbusJobSkeleton)

typedef enum {
  HDD_JOB_QUEUED,
  HDD_JOB_RUNNING,
  HDD_JOB_WAITING_FOR_RELEASE,
  HDD_JOB_COMPLETED,
  HDD_JOB_FAILED,
  HDD_JOB_CANCELLED,
} HddJobState;

/* Runs in the job's thread.  Returns FALSE with @error set on failure. */
typedef gboolean (*HddJobFunc) (HddJob   *job,
                                gpointer  data,
                                GError  **error);

/* A job's work as the jobs layer hands it to whoever starts the job (the
 * D-Bus layer): its operation ("bind-vfio", a static string), the function
 * that runs in the job's thread and its data, freed with @destroy. */
typedef struct {
  const char    *operation;
  HddJobFunc     func;
  gpointer       data;
  GDestroyNotify destroy;
} HddJobWork;

HddJob *hdd_job_new (guint               id,
                     const char         *operation,
                     const char * const *objects,
                     const char         *started_by);

guint       hdd_job_get_id          (HddJob *self);
const char *hdd_job_get_object_path (HddJob *self);
HddJobState hdd_job_get_state       (HddJob *self);
gboolean    hdd_job_is_finished     (HddJob *self);

/* Starts @func in a new thread.  @data is freed with @destroy on the main
 * context once the job finished. */
void hdd_job_run (HddJob        *self,
                  HddJobFunc     func,
                  gpointer       data,
                  GDestroyNotify destroy);

/* Runs @func to completion in the calling thread (unit tests). */
gboolean hdd_job_run_sync (HddJob    *self,
                           HddJobFunc func,
                           gpointer   data,
                           GError   **error);

/* --- Called from the job's thread. --- */

/* Steps a job keeps at most (docs/dbus-api.md, "Limits"). */
#define HDD_JOB_MAX_STEPS 100

/* Records a step ("Unbinding 0000:01:00.0 from e1000e") and makes it the
 * job's Status.  A step that repeats the one before is counted there
 * ("… (3 times)"); past HDD_JOB_MAX_STEPS the oldest steps after the
 * first few are left out and counted in one step. */
void hdd_job_step (HddJob     *self,
                   const char *format,
                   ...) G_GNUC_PRINTF (2, 3);

void hdd_job_set_progress (HddJob *self,
                           double  progress);

void hdd_job_set_running (HddJob *self);

/* Fails with HDD_ERROR_CANCELLED when Cancel() was called. */
gboolean hdd_job_check_cancelled (HddJob  *self,
                                  GError **error);

/* The point of no return: fails with HDD_ERROR_CANCELLED when Cancel() came
 * first, else records @step, makes the job non-cancelable, switches it to
 * waiting-for-release and watches the holders of @nodes until
 * hdd_job_end_release().  @device names the device in the log.
 * @release_state, when not NULL, is the sysfs directory of the device's
 * vfio-dev (/sys/class/vfio-dev/vfioX): its release_pending and
 * release_requests, when the kernel has them, are shown as well. */
gboolean hdd_job_begin_release (HddJob             *self,
                                const char         *device,
                                const char * const *nodes,
                                const char         *release_state,
                                const char         *step,
                                GError            **error);
void     hdd_job_end_release   (HddJob *self);

/* Shows the holders of @nodes (and the release state, as above) while the
 * job waits for them without having passed its point of no return: a guest
 * asked through libvirt.  The job stays cancelable.  hdd_job_end_release()
 * or hdd_job_begin_release() end or take over the watch. */
void hdd_job_watch_holders (HddJob             *self,
                            const char         *device,
                            const char * const *nodes,
                            const char         *release_state);

/* Makes @format the job's Status without recording a step: a waiting job
 * says how long it has waited without filling its Steps. */
void hdd_job_set_status (HddJob     *self,
                         const char *format,
                         ...) G_GNUC_PRINTF (2, 3);

/* The libvirt domain the job deals with ("" or NULL: none). */
void hdd_job_set_domain (HddJob     *self,
                         const char *domain);

/* When the job's deadline passes, in µs since the epoch (0: none). */
void hdd_job_set_deadline (HddJob *self,
                           gint64  deadline);

/* Why QEMU could not unplug the device, as hdd_job_note_qemu() was last
 * told (any thread); NULL when it did not say. */
char *hdd_job_dup_qemu_failure (HddJob *self);

/* --- Main context. --- */

/* Whether @object_path is one of the job's Objects. */
gboolean hdd_job_has_object (HddJob     *self,
                             const char *object_path);

/* Records @text, what the QEMU holding the job's device reported, as a
 * step.  @failure, when not NULL, is why QEMU could not unplug it: the job
 * keeps it for hdd_job_dup_qemu_failure(). */
void hdd_job_note_qemu (HddJob     *self,
                        const char *text,
                        const char *failure);

/* Cancel() on behalf of a caller: fails with HDD_ERROR_BUSY once the job
 * reached its point of no return, its work returned, or it finished. */
gboolean hdd_job_cancel (HddJob  *self,
                         GError **error);

G_END_DECLS
