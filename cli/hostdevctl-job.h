/* Following a job: waiting for it with its progress on stdout, and
 * printing how it ended. */
#pragma once

#include <glib.h>

#include "hdd-dbus-generated.h"
#include "hostdevctl-client.h"

G_BEGIN_DECLS

gboolean hdc_job_state_is_final (const char *state);

/* Re-reads every property of @job from the daemon. */
gboolean hdc_job_refresh (HddDbusJob *job,
                          GError    **error);

/* Waits for @job (opened through @client) to finish, showing its progress
 * on stdout unless @json, and prints the outcome (the job as JSON with
 * @json); stops when the daemon leaves the bus.  Returns the exit status:
 * HDC_EXIT_OK when the job completed, HDC_EXIT_FAILURE otherwise. */
int hdc_job_wait (HdcClient  *client,
                  HddDbusJob *job,
                  gboolean    json);

/* After a method returned the job at @path: waits for it as above, or with
 * @no_wait prints which job it is (as JSON with @json) and returns. */
int hdc_job_follow (HdcClient  *client,
                    const char *path,
                    gboolean    no_wait,
                    gboolean    json);

G_END_DECLS
