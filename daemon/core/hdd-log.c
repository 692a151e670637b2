#include "hdd-log.h"

/* g_log_structured_array() expects the syslog priority among the fields. */
static const char *
priority_of (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_ERROR)
    return "3";
  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    return "4";
  if (level & G_LOG_LEVEL_MESSAGE)
    return "5";
  if (level & G_LOG_LEVEL_INFO)
    return "6";
  return "7";
}

void
hdd_log (GLogLevelFlags level,
         const char    *device,
         guint          job,
         const char    *format,
         ...)
{
  g_autofree char *message = NULL;
  g_autofree char *job_text = job ? g_strdup_printf ("%u", job) : NULL;
  GLogField fields[6];
  gsize n = 0;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  fields[n++] = (GLogField) { "PRIORITY", priority_of (level), -1 };
  fields[n++] = (GLogField) { "GLIB_DOMAIN", "hostdevd", -1 };
  fields[n++] = (GLogField) { "MESSAGE", message, -1 };
  if (device)
    fields[n++] = (GLogField) { "HOSTDEVD_DEVICE", device, -1 };
  if (job_text)
    fields[n++] = (GLogField) { "HOSTDEVD_JOB", job_text, -1 };

  g_log_structured_array (level, fields, n);
}
