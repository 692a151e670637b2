/* What hostdevctl unplug, attach and detach share: a call on a PciDevice
 * or an Mdev (DEV is a PCI address or an mdev UUID) that returns a Job,
 * which the command then follows. */
#pragma once

#include <gio/gio.h>

#include "hostdevctl-options.h"

G_BEGIN_DECLS

#define HDC_MISSING_DEV "Missing the DEV: a PCI address (0000:01:00.0) or an mdev UUID"

/* Calls @method on the device @spec (with @domain first when not NULL) with
 * @options, the method's own (NULL for none), and those of @job; then
 * follows the job it returns as @job says (hdc_job_follow()). */
int hdc_dev_call_and_follow (const char          *spec,
                             const char          *method,
                             const char          *domain,
                             GVariantDict        *options,
                             const HdcJobOptions *job);

G_END_DECLS
