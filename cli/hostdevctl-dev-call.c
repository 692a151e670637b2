/* What hostdevctl unplug, attach and detach share: a call on a PciDevice
 * or an Mdev (DEV is a PCI address or an mdev UUID) that returns a Job,
 * which the command then follows. */
#include "hostdevctl-dev-call.h"

#include "hostdevctl-client.h"
#include "hostdevctl-job.h"
#include "hostdevctl-options.h"
#include "hostdevctl-output.h"

int
hdc_dev_call_and_follow (const char          *spec,
                         const char          *method,
                         const char          *domain,
                         GVariantDict        *options,
                         const HdcJobOptions *job)
{
  GVariantDict none;
  g_autoptr(HdcClient) client = NULL;
  g_autoptr(GDBusProxy) proxy = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  GVariant *args;
  const char *path;

  client = hdc_client_new (&error);
  if (client == NULL)
    return hdc_output_fail (error);
  hdc_client_watch_jobs (client);
  proxy = hdc_client_get_target (client, spec, &error);
  if (proxy == NULL)
    return hdc_output_fail (error);
  if (options == NULL)
    {
      g_variant_dict_init (&none, NULL);
      options = &none;
    }
  hdc_options_insert_job (job, options);
  hdc_client_options_apply (options, proxy);
  if (domain)
    args = g_variant_new ("(s@a{sv})", domain, g_variant_dict_end (options));
  else
    args = g_variant_new ("(@a{sv})", g_variant_dict_end (options));
  reply = g_dbus_proxy_call_sync (proxy, method, args, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  if (reply == NULL)
    return hdc_output_fail (error);
  g_variant_get (reply, "(&o)", &path);
  return hdc_job_follow (client, path, job->no_wait, job->json);
}
