/* Several jobs through one connection: hostdevctl bind and restore with
 * several addresses, mdev create with --file or --count, mdev remove,
 * start and stop with several UUIDs (docs/hostdevctl.md, "Several at
 * once").  Every item is checked by its command before anything starts;
 * the batch then starts one job per item, at most HDC_BATCH_WINDOW at a
 * time, and follows each to its end through the Job's Completed signal.
 * An item the daemon refuses or whose job fails is reported on stderr and
 * the others go on: nothing that succeeded is undone. */
#pragma once

#include <glib.h>

#include "hostdevctl-client.h"

G_BEGIN_DECLS

/* Jobs of one batch running at once: the daemon's limit per caller
 * (docs/dbus-api.md, "Limits"), over which it answers LimitExceeded. */
#define HDC_BATCH_WINDOW 16

/* Starts the job of item @index (named @name in the output): the method
 * call, returning the job's object path in @job, or FALSE with @error
 * when the daemon refused. */
typedef gboolean (*HdcBatchStartFunc) (HdcClient  *client,
                                       guint       index,
                                       const char *name,
                                       gpointer    data,
                                       char      **job,
                                       GError    **error);

/* Runs the items named @names (NULL-terminated) through @start; with
 * @no_wait only starts them and says which job each is.  Prints a line
 * per item as it ends, and at the end which failed.  Returns the exit
 * status: HDC_EXIT_OK when every job completed, HDC_EXIT_FAILURE
 * otherwise. */
int hdc_batch_run (HdcClient          *client,
                   const char * const *names,
                   HdcBatchStartFunc   start,
                   gpointer            data,
                   gboolean            no_wait);

/* The same method on several objects: @getter ("GetDevice", "GetMdev")
 * resolves each of @names through the Manager, all of them before any job
 * starts (a name the daemon does not know stops the batch before anything
 * is done), then @method (of @interface_name) is called on each with
 * @options (a{sv}, taken when floating). */
int hdc_batch_call (HdcClient          *client,
                    const char * const *names,
                    const char         *getter,
                    const char         *interface_name,
                    const char         *method,
                    GVariant           *options,
                    gboolean            no_wait);

/* The timeout of a call carrying @options: none while a person may be
 * answering polkit (allow-interaction). */
int hdc_batch_call_timeout (GVariant *options);

G_END_DECLS
