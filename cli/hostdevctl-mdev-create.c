/* hostdevctl mdev create / define: a new mdev, now (Manager.CreateMdev) or
 * persistently (Manager.DefineMdev).  Both take the parent, the type, an
 * optional UUID and attributes in order; create also takes many at once,
 * from a file (--file) or N of one type (--count). */
#include "hostdevctl-mdev.h"

#include <gio/gunixinputstream.h>
#include <stdio.h>
#include <string.h>

#include "hdd-error.h"
#include "hdd-mdev-names.h"
#include "hdd-names.h"
#include "hostdevctl-batch.h"
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
  char          *file;         /* create: --file */
  int            count;        /* create: --count, -1 when not given */
  HdcJobOptions  job_options;  /* create: --no-wait, --json */
} Request;

static void
request_clear (Request *r)
{
  g_free (r->uuid);
  g_strfreev (r->attrs);
  g_free (r->file);
  hdc_options_clear_job (&r->job_options);
}

/* The most mdevs one command creates (--count, --file). */
#define MAX_BATCH 4096

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
  const GOptionEntry create_entries[] = {
    common[0], common[1],
    { "file", 'f', 0, G_OPTION_ARG_FILENAME, &r->file,
      "Create every mdev FILE lists, one a line: PARENT TYPE [UUID] [NAME=VALUE]… "
      "(“-”: standard input)", "FILE" },
    { "count", 'n', 0, G_OPTION_ARG_INT, &r->count,
      "Create N mdevs of TYPE on PARENT, each with a new random UUID", "N" },
    { NULL }
  };
  const HdcJobOptionsSpec create = { .flags = HDC_JOB_OPTIONS_FOLLOW, .entries = create_entries };
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
  if (r->file && (*argc != 1 || r->uuid || r->attrs || r->count >= 0))
    {
      hdc_options_usage_error (command, "--file takes every mdev from the file: no PARENT, "
                               "TYPE, --uuid, --attr or --count beside it");
      return FALSE;
    }
  if (r->file && r->job_options.json)
    {
      hdc_options_usage_error (command, "--json takes one mdev, not --file");
      return FALSE;
    }
  if (r->file)
    return TRUE;
  if (r->count >= 0 && (r->count < 1 || r->count > MAX_BATCH || r->uuid || r->job_options.json))
    {
      hdc_options_usage_error (command, "--count takes a number from 1 to %d, without --uuid "
                               "or --json", MAX_BATCH);
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

/* ---- Several at once ---- */

typedef struct {
  char     *parent;
  char     *type;
  char     *uuid;
  GVariant *attributes;   /* a(ss), not floating */
} Spec;

static void
spec_free (gpointer data)
{
  Spec *s = data;

  g_free (s->parent);
  g_free (s->type);
  g_free (s->uuid);
  g_clear_pointer (&s->attributes, g_variant_unref);
  g_free (s);
}

/* One mdev from its words (PARENT TYPE [UUID|-] [NAME=VALUE]…), checked as
 * the daemon checks them; NULL with @error saying what is wrong. */
static Spec *
spec_new (char **words, GError **error)
{
  g_autoptr(GPtrArray) attrs = g_ptr_array_new ();
  Spec *s;
  guint i = 2;

  if (g_strv_length (words) < 2)
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                   "Give PARENT TYPE [UUID] [NAME=VALUE]…");
      return NULL;
    }
  if (!hdd_mdev_check_name ("parent", words[0], error) ||
      !hdd_mdev_check_name ("type", words[1], error))
    return NULL;
  s = g_new0 (Spec, 1);
  s->parent = g_strdup (words[0]);
  s->type = g_strdup (words[1]);
  if (words[2] && strchr (words[2], '=') == NULL)
    {
      if (!g_str_equal (words[2], "-") && !(s->uuid = hdd_uuid_canonicalize (words[2], error)))
        {
          spec_free (s);
          return NULL;
        }
      i = 3;
    }
  /* Named before the call, so that every line of the output says which. */
  if (s->uuid == NULL)
    s->uuid = g_uuid_string_random ();
  for (; words[i]; i++)
    {
      const char *eq = strchr (words[i], '=');
      g_autofree char *name = eq ? g_strndup (words[i], eq - words[i]) : NULL;

      if (eq == NULL || eq == words[i])
        {
          g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                       "“%s” is not an attribute: give NAME=VALUE", words[i]);
          spec_free (s);
          return NULL;
        }
      if (!hdd_mdev_check_attribute (name, eq + 1, error))
        {
          spec_free (s);
          return NULL;
        }
      g_ptr_array_add (attrs, words[i]);
    }
  g_ptr_array_add (attrs, NULL);
  s->attributes = g_variant_ref_sink (attributes_of ("mdev create", (char **) attrs->pdata));
  return s;
}

/* Every line of @text (from @file) as a Spec; NULL after saying which
 * line is wrong and why. */
static GPtrArray *
specs_of_file (const char *file, const char *text)
{
  g_autoptr(GPtrArray) specs = g_ptr_array_new_with_free_func (spec_free);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint n = 0; lines[n]; n++)
    {
      g_auto(GStrv) words = NULL;
      g_autoptr(GError) error = NULL;
      const char *line = lines[n] + strspn (lines[n], " \t\r");
      Spec *s;

      if (*line == '\0' || *line == '#')
        continue;
      if (!g_shell_parse_argv (line, NULL, &words, &error) ||
          !(s = spec_new (words, &error)))
        {
          hdc_options_usage_error ("mdev create", "%s:%u: %s", file, n + 1, error->message);
          return NULL;
        }
      g_ptr_array_add (specs, s);
      if (specs->len > MAX_BATCH)
        {
          hdc_options_usage_error ("mdev create", "%s: more than %d mdevs", file, MAX_BATCH);
          return NULL;
        }
    }
  if (specs->len == 0)
    {
      hdc_options_usage_error ("mdev create", "%s lists no mdev", file);
      return NULL;
    }
  return g_steal_pointer (&specs);
}

static GPtrArray *
read_specs (const char *file)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  gsize len = 0;

  if (g_str_equal (file, "-"))
    {
      g_autoptr(GInputStream) in = g_unix_input_stream_new (0, FALSE);
      g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();

      if (g_output_stream_splice (out, in, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL,
                                  &error) >= 0)
        {
          /* NUL-terminated for the parser. */
          g_output_stream_write_all (out, "", 1, NULL, NULL, NULL);
          text = g_memory_output_stream_steal_data (G_MEMORY_OUTPUT_STREAM (out));
        }
    }
  else
    g_file_get_contents (file, &text, &len, &error);
  if (text == NULL)
    {
      hdc_options_usage_error ("mdev create", "Cannot read %s: %s", file, error->message);
      return NULL;
    }
  return specs_of_file (file, text);
}

typedef struct {
  GPtrArray *specs;
  GVariant  *options;
} Batch;

static gboolean
start_create (HdcClient *client, guint index, const char *name, gpointer data, char **job,
              GError **error)
{
  Batch *b = data;
  Spec *s = g_ptr_array_index (b->specs, index);
  g_autofree char *mdev = NULL;

  return hdd_dbus_manager_call_create_mdev_sync (client->manager, s->parent, s->type, s->uuid,
                                                 s->attributes, b->options, &mdev, job,
                                                 NULL, error);
}

/* --file, --count: every mdev checked, then created by a job each. */
static int
create_many (Request *r, int argc, char **argv)
{
  g_autoptr(GPtrArray) specs = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(HdcClient) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  Batch b;
  int status;

  if (r->file)
    specs = read_specs (r->file);
  else
    {
      specs = g_ptr_array_new_with_free_func (spec_free);
      for (int i = 0; i < r->count; i++)
        {
          g_autoptr(GPtrArray) words = g_ptr_array_new ();
          Spec *s;

          g_ptr_array_add (words, argv[1]);
          g_ptr_array_add (words, argv[2]);
          for (guint j = 0; r->attrs && r->attrs[j]; j++)
            g_ptr_array_add (words, r->attrs[j]);
          g_ptr_array_add (words, NULL);
          s = spec_new ((char **) words->pdata, &error);
          if (s == NULL)
            {
              hdc_options_usage_error ("mdev create", "%s", error->message);
              return HDC_EXIT_USAGE;
            }
          g_ptr_array_add (specs, s);
        }
    }
  if (specs == NULL)
    return HDC_EXIT_USAGE;
  for (guint i = 0; i < specs->len; i++)
    {
      Spec *s = g_ptr_array_index (specs, i);

      if (!g_hash_table_add (seen, s->uuid))
        return hdc_options_usage_error ("mdev create", "UUID %s is listed twice; nothing was "
                                        "created", s->uuid);
      g_ptr_array_add (names, s->uuid);
    }
  g_ptr_array_add (names, NULL);

  client = hdc_client_new (&error);
  if (client == NULL)
    return hdc_output_fail (error);
  b.specs = specs;
  b.options = g_variant_ref_sink (hdc_client_options_new (NULL));
  if (hdc_batch_call_timeout (b.options) == G_MAXINT)
    g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (client->manager), G_MAXINT);
  status = hdc_batch_run (client, (const char * const *) names->pdata, start_create, &b,
                          r->job_options.no_wait);
  g_variant_unref (b.options);
  return status;
}

int
hdc_mdev_create (int argc, char **argv)
{
  Request r = { .count = -1 };
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
  if (r.file || r.count >= 0)
    {
      g_variant_unref (g_variant_ref_sink (attributes));
      status = create_many (&r, argc, argv);
      request_clear (&r);
      return status;
    }

  client = hdc_client_new (&error);
  if (client == NULL)
    g_variant_unref (g_variant_ref_sink (attributes));
  else
    hdc_client_watch_jobs (client);
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
  Request r = { .count = -1 };
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
