/* Values for people: addresses instead of object paths, holders, times,
 * property values, PCI class names. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* @text as it may safely reach a terminal: control characters (C0, DEL,
 * C1), the bidirectional overrides and isolates, and bytes that are not
 * UTF-8 are written as escapes ("\t", "\n", "\r", "\x1b" for a byte or a
 * C0 control, "\u009b" for a code point); everything else is kept as it
 * is.  Every string from hostdevd (or any other process) that hostdevctl
 * prints for a person goes through this; JSON output is escaped by
 * json-glib instead.  NULL for NULL. */
char *hdc_format_escape (const char *text);

/* "0000:01:00.0" for /org/hostdevd1/pci/0000_01_00_0, the UUID for an
 * mdev's path, else a copy of @path. */
char *hdc_format_address_from_path (const char *path);

/* 5 for /org/hostdevd1/jobs/5, 0 (never a job) for anything else. */
guint hdc_format_job_id_from_path (const char *path);

/* "qemu-system-x86[1234], virtiofsd[99]" for an a(uss) of holders, NULL
 * when there are none. */
char *hdc_format_holders (GVariant *holders,
                          gboolean  with_nodes);

/* Local time of @usec microseconds since the epoch, "HH:MM:SS.mmm" or, with
 * @date, "YYYY-MM-DD HH:MM:SS". */
char *hdc_format_time (gint64   usec,
                       gboolean date);

/* @text cut to @max characters with an ellipsis. */
char *hdc_format_ellipsize (const char *text,
                            guint       max);

/* @value of property @name, for a person: hex ids, percentages, addresses
 * instead of object paths, "-" for empty. */
char *hdc_format_property (const char *name,
                           GVariant   *value);

/* Human name of the PCI base class of @klass ("Network controller"). */
const char *hdc_format_class_name (guint32 klass);

G_END_DECLS
