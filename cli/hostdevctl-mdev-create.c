/* hostdevctl mdev create / define: a new mdev, now (Manager.CreateMdev) or
 * persistently (Manager.DefineMdev).  Both take the parent, the type, an
 * optional UUID and attributes in order. */
#include "hostdevctl-mdev.h"

#include <stdio.h>
#include <string.h>

#include "hdd-names.h"
#include "hostdevctl-client.h"
#include "hostdevctl-exit.h"
#include "hostdevctl-format.h"
#include "hostdevctl-job.h"
#include "hostdevctl-json.h"
#include "hostdevctl-options.h"
#include "hostdevctl-output.h"

typedef struct {
  char          *uuid;
  char         **attrs;        /* NAME=VALUE, in order */
  gboolean       autostart;    /* define */
  gboolean       json;         /* define: the mdev as JSON */
  HdcJobOptions  job_options;  /* create: --no-wait, --json */
} Request;

static void
request_clear (Request *r)
{
  g_free (r->uuid);
  g_strfreev (r->attrs);
  hdc_options_clear_job (&r->job_options);
}

/* a(ss) from the --attr options (floating), or NULL after a usage error
 * that names the bad one. */
static GVariant *
attributes_of (const char *command, char **attrs)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(ss)"));
  for (guint i = 0; attrs && attrs[i]; i++)
    {
      const char *eq = strchr (attrs[i], '=');
      g_autofree char *name = NULL;

      if (eq == NULL || eq == attrs[i])
        {
          hdc_options_usage_error (command, "“%s” is not an attribute: give NAME=VALUE", attrs[i]);
          g_variant_builder_clear (&b);
          return NULL;
        }
      name = g_strndup (attrs[i], eq - attrs[i]);
      g_variant_builder_add (&b, "(ss)", name, eq + 1);
    }
  return g_variant_builder_end (&b);
}

/* Parses "PARENT TYPE [OPTION…]"; with @define, PARENT and TYPE may be left
 * out when --uuid names a running mdev. */
static gboolean
parse (const char *command, const char *summary, gboolean define, int *argc, char ***argv,
       Request *r)
{
  const GOptionEntry common[] = {
    { "uuid", 'u', 0, G_OPTION_ARG_STRING, &r->uuid,
      "The UUID of the mdev (default: a new random one)", "UUID" },
    { "attr", 'a', 0, G_OPTION_ARG_STRING_ARRAY, &r->attrs,
      "Write VALUE to the mdev's attribute NAME after creating it; repeat for more, "
      "they are written in order", "NAME=VALUE" },
    { NULL }
  };
  const HdcJobOptionsSpec create = { .flags = HDC_JOB_OPTIONS_FOLLOW, .entries = common };
  const GOptionEntry define_entries[] = {
    { "auto", 0, 0, G_OPTION_ARG_NONE, &r->autostart,
      "Start the mdev at start-up and whenever its parent appears (\"start\": \"auto\")", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &r->json, "Print the mdev as JSON (see hostdevctl(1))", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = hdc_options_context_new ("PARENT TYPE", summary);
  g_autoptr(GError) error = NULL;

  if (define)
    {
      g_option_context_add_main_entries (context, common, NULL);
      g_option_context_add_main_entries (context, define_entries, NULL);
    }
  else
    hdc_options_add_job (context, &create, &r->job_options);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      hdc_options_usage_error (command, "%s", error->message);
      return FALSE;
    }
  if (*argc == 3 || (define && *argc == 1 && r->uuid))
    return TRUE;
  if (*argc > 3)
    hdc_options_usage_error (command, "Unexpected argument “%s”", (*argv)[3]);
  else
    hdc_options_usage_error (command, "Missing the PARENT and the TYPE of the mdev "
                             "(“hostdevctl types” lists them)");
  return FALSE;
}

int
hdc_mdev_create (int argc, char **argv)
{
  Request r = { 0 };
  g_autoptr(HdcClient) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *mdev = NULL;
  g_autofree char *job = NULL;
  GVariant *attributes;
  int status;

  if (!parse ("mdev create", "Create a mediated device of TYPE on PARENT, write the "
              "attributes in order, and wait until it is done.  When anything fails, "
              "what was created is removed again.", FALSE, &argc, &argv, &r) ||
      !(attributes = attributes_of ("mdev create", r.attrs)))
    {
      request_clear (&r);
      return HDC_EXIT_USAGE;
    }

  client = hdc_client_new (&error);
  if (client == NULL)
    g_variant_unref (g_variant_ref_sink (attributes));
  /* The call takes the floating attributes. */
  if (client == NULL ||
      !hdd_dbus_manager_call_create_mdev_sync (client->manager, argv[1], argv[2],
                                               r.uuid ? r.uuid : "", attributes,
                                               hdc_client_options_new (client->manager),
                                               &mdev, &job, NULL, &error))
    {
      request_clear (&r);
      return hdc_output_fail (error);
    }
  if (!r.job_options.json)
    {
      g_autofree char *uuid = hdc_format_address_from_path (mdev);
      printf ("Creating mdev %s\n", uuid);
      fflush (stdout);
    }
  status = hdc_job_follow (client, job, r.job_options.no_wait, r.job_options.json);
  request_clear (&r);
  return status;
}

int
hdc_mdev_define (int argc, char **argv)
{
  Request r = { 0 };
  g_autoptr(HdcClient) client = NULL;
  g_autoptr(HddDbusMdev) mdev = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  GVariantDict options;
  GVariant *attributes;

  if (!parse ("mdev define", "Define a mediated device of TYPE on PARENT persistently, in "
              "mdevctl's format, without creating it.  PARENT and TYPE may be left out "
              "with --uuid of a running mdev: they are taken from it.", TRUE, &argc, &argv, &r) ||
      !(attributes = attributes_of ("mdev define", r.attrs)))
    {
      request_clear (&r);
      return HDC_EXIT_USAGE;
    }

  client = hdc_client_new (&error);
  if (client != NULL)
    {
      hdc_client_options_init (&options, client->manager);
      g_variant_dict_insert (&options, "autostart", "b", r.autostart);
      if (hdd_dbus_manager_call_define_mdev_sync (client->manager,
                                                  argc == 3 ? argv[1] : "",
                                                  argc == 3 ? argv[2] : "",
                                                  r.uuid ? r.uuid : "", attributes,
                                                  g_variant_dict_end (&options),
                                                  &path, NULL, &error))
        mdev = hdd_dbus_mdev_proxy_new_sync (hdc_client_get_connection (client),
                                             G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                             HDD_DBUS_NAME, path, NULL, &error);
    }
  else
    g_variant_unref (g_variant_ref_sink (attributes));
  request_clear (&r);
  if (mdev == NULL)
    return hdc_output_fail (error);

  if (r.json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      hdc_json_add_mdev (builder, mdev);
      hdc_json_print (builder);
    }
  else
    {
      g_autofree char *uuid = hdc_format_escape (hdd_dbus_mdev_get_uuid (mdev));
      g_autofree char *type_id = hdc_format_escape (hdd_dbus_mdev_get_type_id (mdev));
      g_autofree char *parent = hdc_format_escape (hdd_dbus_mdev_get_parent (mdev));

      printf ("mdev %s is defined (%s on %s, start: %s)\n", uuid, type_id, parent,
              hdd_dbus_mdev_get_autostart (mdev) ? "auto" : "manual");
    }
  return HDC_EXIT_OK;
}
