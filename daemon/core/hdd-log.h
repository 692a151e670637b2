/* Structured logging: every message about a device or a job carries
 * HOSTDEVD_DEVICE= and HOSTDEVD_JOB= journal fields, so that
 * `journalctl HOSTDEVD_DEVICE=0000:01:00.0` tells a device's whole story. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void hdd_log (GLogLevelFlags level,
              const char    *device,
              guint          job,
              const char    *format,
              ...) G_GNUC_PRINTF (4, 5);

#define hdd_info(device, job, ...)    hdd_log (G_LOG_LEVEL_INFO, device, job, __VA_ARGS__)
#define hdd_message(device, job, ...) hdd_log (G_LOG_LEVEL_MESSAGE, device, job, __VA_ARGS__)
#define hdd_warning(device, job, ...) hdd_log (G_LOG_LEVEL_WARNING, device, job, __VA_ARGS__)

G_END_DECLS
