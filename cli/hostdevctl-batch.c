/* Several jobs through one connection, followed through their Completed
 * signals (hostdevctl-batch.h). */
#include "hostdevctl-batch.h"

#include <glib-unix.h>
#include <stdio.h>

#include "hdd-error.h"
#include "hdd-names.h"
#include "hostdevctl-exit.h"
#include "hostdevctl-format.h"

typedef enum {
  ITEM_NOT_STARTED,
  ITEM_RUNNING,
  ITEM_COMPLETED,
  ITEM_FAILED,     /* refused by the daemon, or its job did not complete */
} ItemState;

typedef struct {
  const char *name;
  char       *job;
  ItemState   state;
} Item;

typedef struct {
  Item       *items;
  guint       n_items;
  GHashTable *running;     /* job path -> Item */
  HdcClient  *client;
  gboolean    vanished;    /* hostdevd left the bus */
  gboolean    interrupted; /* Ctrl+C */
} Batch;

static void
print_end (Item *item, gboolean success, const char *message)
{
  g_autofree char *name = hdc_format_escape (item->name);
  g_autofree char *shown = hdc_format_escape (message && *message ? message : NULL);
  guint id = hdc_format_job_id_from_path (item->job);

  if (success)
    printf ("%s: Job %u completed%s%s\n", name, id, shown ? ": " : "", shown ? shown : "");
  else
    fprintf (stderr, "hostdevctl: %s: Job %u failed%s%s\n", name, id,
             shown ? ": " : "", shown ? shown : "");
  fflush (stdout);
}

/* Every end of hostdevd's jobs (the client's Completed subscription):
 * ours are in b->running.  The subscription is made before the first
 * call, and signals are only dispatched between calls, after the reply
 * that named the job: none of ours is missed. */
static void
on_completed (const char *path,
              gboolean    success,
              const char *message,
              gpointer    user_data)
{
  Batch *b = user_data;
  Item *item = g_hash_table_lookup (b->running, path);

  if (item == NULL)
    return;
  item->state = success ? ITEM_COMPLETED : ITEM_FAILED;
  print_end (item, success, message);
  g_hash_table_remove (b->running, path);
}

static gboolean
on_signal (gpointer user_data)
{
  ((Batch *) user_data)->interrupted = TRUE;
  return G_SOURCE_CONTINUE;
}

static gboolean
stopped (Batch *b)
{
  /* hdc_client_new() watches the daemon that answered it: a
   * NameOwnerChanged, dispatched by the iterations of wait_below(). */
  if (hdc_client_daemon_left (b->client))
    b->vanished = TRUE;
  return b->vanished || b->interrupted;
}

/* Dispatches until fewer than @max jobs run, or the batch stops. */
static void
wait_below (Batch *b, guint max)
{
  while (g_hash_table_size (b->running) >= max && !stopped (b))
    g_main_context_iteration (NULL, TRUE);
}

static void
refused (Item *item, GError *error)
{
  g_autofree char *name = hdc_format_escape (item->name);
  g_autofree char *message = NULL;

  if (g_dbus_error_is_remote_error (error))
    g_dbus_error_strip_remote_error (error);
  message = hdc_format_escape (error->message);
  item->state = ITEM_FAILED;
  fprintf (stderr, "hostdevctl: %s: %s\n", name, message);
}

static void
start_item (Batch *b, HdcClient *client, guint i, HdcBatchStartFunc start, gpointer data,
            gboolean no_wait)
{
  Item *item = &b->items[i];

  for (;;)
    {
      g_autoptr(GError) error = NULL;

      if (start (client, i, item->name, data, &item->job, &error))
        break;
      /* Another client's jobs may fill the daemon's overall limit: wait
       * for one of ours and try again, as long as one of ours runs. */
      if (g_error_matches (error, HDD_ERROR, HDD_ERROR_LIMIT_EXCEEDED) &&
          g_hash_table_size (b->running) > 0)
        {
          wait_below (b, g_hash_table_size (b->running));
          if (!stopped (b))
            continue;
        }
      refused (item, error);
      return;
    }
  if (no_wait)
    {
      g_autofree char *name = hdc_format_escape (item->name);

      item->state = ITEM_COMPLETED;
      printf ("%s: Started job %u (%s)\n", name, hdc_format_job_id_from_path (item->job),
              item->job);
      return;
    }
  item->state = ITEM_RUNNING;
  g_hash_table_insert (b->running, item->job, item);
}

/* Items named in the summary of each state; the rest are counted. */
#define SUMMARY_NAMES 8

/* "A, B and 3 more" of the items in @state, for the summary. */
static char *
names_in (Batch *b, ItemState state, guint *count)
{
  g_autoptr(GString) s = g_string_new (NULL);

  *count = 0;
  for (guint i = 0; i < b->n_items; i++)
    if (b->items[i].state == state)
      {
        g_autofree char *name = hdc_format_escape (b->items[i].name);

        if ((*count)++ < SUMMARY_NAMES)
          g_string_append_printf (s, "%s%s", s->len ? ", " : "", name);
      }
  if (*count > SUMMARY_NAMES)
    g_string_append_printf (s, " and %u more", *count - SUMMARY_NAMES);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static int
summarize (Batch *b)
{
  guint n_failed, n_running, n_not_started, n_completed;
  g_autofree char *failed = names_in (b, ITEM_FAILED, &n_failed);
  g_autofree char *running = names_in (b, ITEM_RUNNING, &n_running);
  g_autofree char *not_started = names_in (b, ITEM_NOT_STARTED, &n_not_started);
  g_autofree char *completed = names_in (b, ITEM_COMPLETED, &n_completed);

  if (n_failed + n_running + n_not_started == 0)
    return HDC_EXIT_OK;
  if (b->vanished)
    fprintf (stderr, "hostdevctl: hostdevd left the system bus\n");
  else if (b->interrupted)
    fprintf (stderr, "hostdevctl: Stopped; the jobs started go on (“hostdevctl jobs” "
             "lists them)\n");
  fprintf (stderr, "hostdevctl: %u of %u completed", n_completed, b->n_items);
  if (n_failed)
    fprintf (stderr, "; failed: %s", failed);
  if (n_running)
    fprintf (stderr, "; not finished: %s", running);
  if (n_not_started)
    fprintf (stderr, "; not started: %s", not_started);
  fprintf (stderr, "\n");
  return HDC_EXIT_FAILURE;
}

int
hdc_batch_run (HdcClient          *client,
               const char * const *names,
               HdcBatchStartFunc   start,
               gpointer            data,
               gboolean            no_wait)
{
  Batch b = { 0 };
  guint sigint, sigterm;
  int status;

  b.n_items = g_strv_length ((char **) names);
  b.items = g_new0 (Item, b.n_items);
  for (guint i = 0; i < b.n_items; i++)
    b.items[i].name = names[i];
  b.running = g_hash_table_new (g_str_hash, g_str_equal);
  b.client = client;

  /* Before the first call: the bus applies the match before it passes
   * on any later message of this connection. */
  hdc_client_on_job_ended (client, on_completed, &b);
  sigint = g_unix_signal_add (SIGINT, on_signal, &b);
  sigterm = g_unix_signal_add (SIGTERM, on_signal, &b);

  for (guint i = 0; i < b.n_items && !stopped (&b); i++)
    {
      wait_below (&b, HDC_BATCH_WINDOW);
      if (!stopped (&b))
        start_item (&b, client, i, start, data, no_wait);
    }
  wait_below (&b, 1);

  status = summarize (&b);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  hdc_client_on_job_ended (client, NULL, NULL);
  for (guint i = 0; i < b.n_items; i++)
    g_free (b.items[i].job);
  g_free (b.items);
  g_hash_table_unref (b.running);
  return status;
}

int
hdc_batch_call_timeout (GVariant *options)
{
  gboolean interactive = FALSE;

  g_variant_lookup (options, HDD_OPTION_ALLOW_INTERACTION, "b", &interactive);
  return interactive ? G_MAXINT : -1;
}

typedef struct {
  char       **paths;
  const char  *interface_name;
  const char  *method;
  GVariant    *options;
} Call;

static gboolean
start_call (HdcClient *client, guint index, const char *name, gpointer data, char **job,
            GError **error)
{
  Call *c = data;
  g_autoptr(GVariant) reply = NULL;

  reply = g_dbus_connection_call_sync (hdc_client_get_connection (client), HDD_DBUS_NAME,
                                       c->paths[index], c->interface_name, c->method,
                                       g_variant_new ("(@a{sv})", c->options),
                                       G_VARIANT_TYPE ("(o)"), G_DBUS_CALL_FLAGS_NO_AUTO_START,
                                       hdc_batch_call_timeout (c->options), NULL, error);
  if (reply == NULL)
    return FALSE;
  g_variant_get (reply, "(o)", job);
  return TRUE;
}

int
hdc_batch_call (HdcClient          *client,
                const char * const *names,
                const char         *getter,
                const char         *interface_name,
                const char         *method,
                GVariant           *options,
                gboolean            no_wait)
{
  Call c = { NULL, interface_name, method, g_variant_ref_sink (options) };
  guint n = g_strv_length ((char **) names);
  int status = HDC_EXIT_OK;

  c.paths = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GVariant) reply = NULL;
      g_autoptr(GError) error = NULL;

      reply = g_dbus_connection_call_sync (hdc_client_get_connection (client), HDD_DBUS_NAME,
                                           HDD_DBUS_PATH, HDD_IFACE_MANAGER, getter,
                                           g_variant_new ("(s@a{sv})", names[i],
                                                          g_variant_new ("a{sv}", NULL)),
                                           G_VARIANT_TYPE ("(o)"),
                                           G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, NULL, &error);
      if (reply == NULL)
        {
          g_autofree char *name = hdc_format_escape (names[i]);
          g_autofree char *message = NULL;

          if (g_dbus_error_is_remote_error (error))
            g_dbus_error_strip_remote_error (error);
          message = hdc_format_escape (error->message);
          fprintf (stderr, "hostdevctl: %s: %s\nhostdevctl: Nothing was started\n", name,
                   message);
          status = HDC_EXIT_FAILURE;
          break;
        }
      g_variant_get (reply, "(o)", &c.paths[i]);
      for (guint j = 0; j < i; j++)
        if (g_str_equal (c.paths[j], c.paths[i]))
          {
            g_autofree char *first = hdc_format_escape (names[j]);
            g_autofree char *second = hdc_format_escape (names[i]);

            fprintf (stderr, "hostdevctl: %s and %s are the same; name each once\n"
                     "hostdevctl: Nothing was started\n", first, second);
            status = HDC_EXIT_USAGE;
          }
      if (status != HDC_EXIT_OK)
        break;
    }
  if (status == HDC_EXIT_OK)
    status = hdc_batch_run (client, names, start_call, &c, no_wait);
  g_strfreev (c.paths);
  g_variant_unref (c.options);
  return status;
}
