/* What hostdevctl unplug, attach and detach share: a call on a PciDevice
 * or an Mdev (DEV is a PCI address or an mdev UUID) that returns a Job,
 * which the command then follows. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define HDC_MISSING_DEV "Missing the DEV: a PCI address (0000:01:00.0) or an mdev UUID"

/* "--deadline S": a whole number of seconds; the daemon checks the range.
 * On a usage error prints it and returns FALSE. */
gboolean hdc_dev_call_parse_deadline (const char *command,
                                      const char *text,
                                      guint32    *deadline);

/* Calls @method on the device @spec with @options (and @domain first when
 * not NULL), then follows its job (hdc_job_follow()). */
int hdc_dev_call_and_follow (const char   *spec,
                             const char   *method,
                             const char   *domain,
                             GVariantDict *options,
                             gboolean      no_wait,
                             gboolean      json);

G_END_DECLS
