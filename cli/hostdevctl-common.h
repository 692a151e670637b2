/* What the hostdevctl subcommands share: the connection to hostdevd, looking
 * up devices and jobs, waiting for a job, printing errors, tables and JSON.
 *
 * Every subcommand is a function "int hdc_cmd_NAME (int argc, char **argv)"
 * that parses its own options (so that "hostdevctl bind --help" works without
 * the daemon), connects, and returns the process exit status. */
#pragma once

#include <stdio.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "hdd-dbus-generated.h"

G_BEGIN_DECLS

/* Exit statuses, documented in docs/hostdevctl.md. */
#define HDC_EXIT_OK      0
#define HDC_EXIT_FAILURE 1  /* the daemon refused, a job failed, ... */
#define HDC_EXIT_USAGE   2  /* the command line itself is wrong */

/* ---- Subcommands ---- */

typedef int (*HdcCommandFunc) (int argc, char **argv);

typedef struct {
  const char     *name;
  HdcCommandFunc  run;
  const char     *summary;
} HdcCommand;

int hdc_cmd_list (int argc, char **argv);
int hdc_cmd_show (int argc, char **argv);
int hdc_cmd_bind (int argc, char **argv);
int hdc_cmd_restore (int argc, char **argv);
int hdc_cmd_persist (int argc, char **argv);
int hdc_cmd_forget (int argc, char **argv);
int hdc_cmd_jobs (int argc, char **argv);
int hdc_cmd_wait (int argc, char **argv);
int hdc_cmd_cancel (int argc, char **argv);
int hdc_cmd_monitor (int argc, char **argv);
int hdc_cmd_types (int argc, char **argv);
int hdc_cmd_mdev (int argc, char **argv);
/* hostdevctl-dev-call.c: unplug, attach and detach */
#define HDC_MISSING_DEV "Missing the DEV: a PCI address (0000:01:00.0) or an mdev UUID"
gboolean hdc_parse_deadline      (const char   *command,
                                  const char   *text,
                                  guint32      *deadline);
int      hdc_call_dev_and_follow (const char   *spec,
                                  const char   *method,
                                  const char   *domain,
                                  GVariantDict *options,
                                  gboolean      no_wait,
                                  gboolean      json);

int hdc_cmd_unplug (int argc, char **argv);
int hdc_cmd_attach (int argc, char **argv);
int hdc_cmd_detach (int argc, char **argv);

/* The verbs of "hostdevctl mdev" (argv[0] is the verb). */
int hdc_mdev_list (int argc, char **argv);
int hdc_mdev_create (int argc, char **argv);
int hdc_mdev_define (int argc, char **argv);
int hdc_mdev_remove (int argc, char **argv);
int hdc_mdev_start (int argc, char **argv);
int hdc_mdev_stop (int argc, char **argv);
int hdc_mdev_undefine (int argc, char **argv);

/* ---- Command line ---- */

/* Options of a subcommand taking @parameters ("ADDRESS"), with @summary
 * shown by --help. */
GOptionContext *hdc_option_context_new (const char *parameters,
                                        const char *summary);

/* Parses the options of @command; on a usage error prints it and returns
 * FALSE: the caller returns HDC_EXIT_USAGE.  Afterwards argv[1..] are the
 * positional arguments, and their number must be @n_args exactly. */
gboolean hdc_parse_options (GOptionContext *context,
                            const char     *command,
                            int            *argc,
                            char         ***argv,
                            int             n_args,
                            const char     *missing);

/* Prints "hostdevctl: MESSAGE" and a hint at "--help" to stderr, returns
 * HDC_EXIT_USAGE.  @command is NULL for the global command line. */
int hdc_usage_error (const char *command,
                     const char *format,
                     ...) G_GNUC_PRINTF (2, 3);

/* ---- Errors ---- */

/* Prints "hostdevctl: MESSAGE" to stderr, with the D-Bus decoration of a
 * remote error stripped and bus failures told in words; returns
 * HDC_EXIT_FAILURE. */
int hdc_fail (GError *error);

/* ---- The connection ---- */

typedef struct {
  GDBusObjectManager *object_manager;  /* every device and job */
  HddDbusManager     *manager;         /* /org/hostdevd1, not a managed object */
} HdcClient;

/* Connects to hostdevd on the system bus, starting it through D-Bus
 * activation if needed.  Fails with a sentence that says so plainly when the
 * bus or the daemon is not there. */
HdcClient *hdc_client_new (GError **error);
void hdc_client_free (HdcClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HdcClient, hdc_client_free)

GDBusConnection *hdc_client_get_connection (HdcClient *client);

/* The device at @address, as the daemon resolves it (Manager.GetDevice):
 * the daemon validates the address and says what is wrong with it. */
HddDbusPciDevice *hdc_client_get_device (HdcClient  *client,
                                         const char *address,
                                         GError    **error);

/* Every device, sorted by address / every job, sorted by id / every mdev
 * and mdev type, sorted by parent, then UUID or type (new references). */
GPtrArray *hdc_client_list_devices (HdcClient *client);
GPtrArray *hdc_client_list_jobs (HdcClient *client);
GPtrArray *hdc_client_list_mdevs (HdcClient *client);
GPtrArray *hdc_client_list_mdev_types (HdcClient *client);

/* The mdev @uuid, as the daemon resolves it (Manager.GetMdev). */
HddDbusMdev *hdc_client_get_mdev (HdcClient  *client,
                                  const char *uuid,
                                  GError    **error);

/* The device named by @spec, PCI device or mdev: an mdev UUID (any case),
 * else a PCI address as hdc_client_get_device() takes it.  Returns an
 * HddDbusPciDevice or an HddDbusMdev. */
GDBusProxy *hdc_client_get_target (HdcClient  *client,
                                   const char *spec,
                                   GError    **error);

/* The job named by @spec: a job number (Manager.GetJob) or an object path.
 * The proxy is a fresh one, subscribed to the job's signals before it read
 * the properties, so that waiting on it cannot miss the end. */
HddDbusJob *hdc_client_get_job (HdcClient  *client,
                                const char *spec,
                                GError    **error);
HddDbusJob *hdc_client_open_job (HdcClient  *client,
                                 const char *path,
                                 GError    **error);

/* Starts the options (a{sv}) of a method call through @proxy: every call
 * carries "allow-interaction" when a person sits at the terminal, and then
 * the call waits as long as that person takes to answer polkit. */
void hdc_options_init (GVariantDict *options,
                       gpointer      proxy);

/* Adds the options every call carries to @options, which has others. */
void hdc_options_apply (GVariantDict *options,
                        gpointer      proxy);

/* Floating a{sv} with only the options every call carries. */
GVariant *hdc_options_new (gpointer proxy);

/* ---- Jobs ---- */

gboolean hdc_job_state_is_final (const char *state);

/* Re-reads every property of @job from the daemon. */
gboolean hdc_job_refresh (HddDbusJob *job,
                          GError    **error);

/* Waits for @job to finish, showing its progress on stdout unless @json, and
 * prints the outcome (the job as JSON with @json).  Returns the exit status:
 * HDC_EXIT_OK when the job completed, HDC_EXIT_FAILURE otherwise. */
int hdc_wait_job (HddDbusJob *job,
                  gboolean    json);

/* After a method returned the job at @path: waits for it as above, or with
 * @no_wait prints which job it is (as JSON with @json) and returns. */
int hdc_follow_job (HdcClient  *client,
                    const char *path,
                    gboolean    no_wait,
                    gboolean    json);

/* ---- Formatting ---- */

gboolean hdc_is_terminal (FILE *stream);

/* Columns of the terminal on stdout, 0 when it is not a terminal. */
guint hdc_terminal_width (void);

/* "0000:01:00.0" for /org/hostdevd1/pci/0000_01_00_0, the UUID for an
 * mdev's path, else a copy of @path. */
char *hdc_address_from_path (const char *path);

/* 5 for /org/hostdevd1/jobs/5, 0 (never a job) for anything else. */
guint hdc_job_id_from_path (const char *path);

/* "qemu-system-x86[1234], virtiofsd[99]" for an a(uss) of holders, NULL
 * when there are none. */
char *hdc_format_holders (GVariant *holders,
                          gboolean  with_nodes);

/* Local time of @usec microseconds since the epoch, "HH:MM:SS.mmm" or, with
 * @date, "YYYY-MM-DD HH:MM:SS". */
char *hdc_format_time (gint64   usec,
                       gboolean date);

/* @text cut to @max characters with an ellipsis. */
char *hdc_ellipsize (const char *text,
                     guint       max);

/* @value of property @name, for a person: hex ids, percentages, addresses
 * instead of object paths, "-" for empty. */
char *hdc_format_property (const char *name,
                           GVariant   *value);

/* Human name of the PCI base class of @klass ("Network controller"). */
const char *hdc_class_name (guint32 klass);

/* ---- Tables ---- */

typedef struct _HdcTable HdcTable;

HdcTable *hdc_table_new (const char *first_header,
                         ...) G_GNUC_NULL_TERMINATED;
void hdc_table_free (HdcTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HdcTable, hdc_table_free)

void hdc_table_align_right (HdcTable *table,
                            guint     column);

/* Exactly one cell per column; NULL and "" are shown as "-". */
void hdc_table_add_row (HdcTable *table,
                        const char *first_cell,
                        ...);

/* Prints with aligned columns; on a terminal the last column is cut so that
 * lines do not wrap. */
void hdc_table_print (HdcTable *table,
                      FILE     *out);

/* ---- JSON ---- */

void hdc_json_add_device (JsonBuilder      *builder,
                          HddDbusPciDevice *device);
void hdc_json_add_job (JsonBuilder *builder,
                       HddDbusJob  *job);
void hdc_json_add_mdev (JsonBuilder *builder,
                        HddDbusMdev *mdev);
void hdc_json_add_mdev_type (JsonBuilder     *builder,
                             HddDbusMdevType *type);

/* Pretty-prints the root of @builder on stdout. */
void hdc_json_print (JsonBuilder *builder);

/* Prints {"@key": [OBJECT, ...]}, each object added by @add. */
typedef void (*HdcJsonAddFunc) (JsonBuilder *builder,
                                gpointer     object);
void hdc_json_print_list (const char     *key,
                          GPtrArray      *objects,
                          HdcJsonAddFunc  add);

G_END_DECLS
