/* What hostdevctl unplug, attach and detach share: a call on a PciDevice
 * or an Mdev (DEV is a PCI address or an mdev UUID) that returns a Job,
 * which the command then follows. */
#include "hostdevctl-dev-call.h"

#include "hostdevctl-client.h"
#include "hostdevctl-job.h"
#include "hostdevctl-options.h"
#include "hostdevctl-output.h"

/* "--deadline S": a whole number of seconds; the daemon checks the range. */
gboolean
hdc_dev_call_parse_deadline (const char *command, const char *text, guint32 *deadline)
{
  guint64 value;

  if (g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT32, &value, NULL))
    {
      *deadline = (guint32) value;
      return TRUE;
    }
  hdc_options_usage_error (command, "--deadline takes a whole number of seconds, not “%s”", text);
  return FALSE;
}

/* Calls @method on the device @spec with @options, then follows its job. */
int
hdc_dev_call_and_follow (const char   *spec,
                         const char   *method,
                         const char   *domain,
                         GVariantDict *options,
                         gboolean      no_wait,
                         gboolean      json)
{
  g_autoptr(HdcClient) client = NULL;
  g_autoptr(GDBusProxy) proxy = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  GVariant *args;
  const char *job;

  client = hdc_client_new (&error);
  if (client == NULL)
    return hdc_output_fail (error);
  proxy = hdc_client_get_target (client, spec, &error);
  if (proxy == NULL)
    return hdc_output_fail (error);
  hdc_client_options_apply (options, proxy);
  if (domain)
    args = g_variant_new ("(s@a{sv})", domain, g_variant_dict_end (options));
  else
    args = g_variant_new ("(@a{sv})", g_variant_dict_end (options));
  reply = g_dbus_proxy_call_sync (proxy, method, args, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  if (reply == NULL)
    return hdc_output_fail (error);
  g_variant_get (reply, "(&o)", &job);
  return hdc_job_follow (client, job, no_wait, json);
}
