/* A persistent D-Bus client of hostdevd, for the lab's benchmarks
 * (tests/lab/bench/bench-paths.sh): the "D-Bus call + Completed" path of
 * issue 17's P1/P2 on a real kernel.
 *
 *   hdd-client [--window N] < COMMANDS
 *
 * One connection to the system bus, subscribed to every Job's Completed
 * signal before the first call.  Each line of COMMANDS is one operation:
 *
 *   create PARENT TYPE UUID     Manager.CreateMdev
 *   remove UUID                 Mdev.Remove
 *   bind ADDRESS                PciDevice.BindVfio
 *   restore ADDRESS             PciDevice.Restore
 *   ping                        Peer.Ping of the daemon: one round trip
 *
 * Without --window, one at a time: the call, then its Job's Completed; one
 * line per operation on stdout, "OP ARG... MICROSECONDS", timed on
 * CLOCK_MONOTONIC from before the call to the signal, or "OP ARG... failed".
 * With --window N, up to N operations in flight (calls made ahead of the
 * signals, as a batch client does), and one line "batch COUNT MICROSECONDS"
 * for all of them.
 * A refused call or a Job that did not succeed is reported on stderr and
 * makes the exit status 1; the remaining operations still run. */
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define BUS_NAME "org.hostdevd1"
#define LINE_MAX_LEN 512

typedef struct {
  GDBusConnection *bus;
  GHashTable *done;      /* job path -> "ok" or the failure message */
  GHashTable *waiting;   /* job path -> the operation's line */
  int failed;   /* operations that failed so far */
} Client;

static gint64
now_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static void
on_completed (GDBusConnection *bus, const char *sender, const char *path,
              const char *iface, const char *signal, GVariant *params, gpointer data)
{
  Client *c = data;
  gboolean ok;
  const char *message;

  if (!g_variant_is_of_type (params, G_VARIANT_TYPE ("(bs)")))
    return;
  g_variant_get (params, "(b&s)", &ok, &message);
  g_hash_table_replace (c->done, g_strdup (path), g_strdup (ok ? "" : message));
}

/* An object path's element from an mdev UUID or a PCI address. */
static char *
path_of (const char *prefix, const char *id)
{
  g_autofree char *element = g_strdup (id);

  g_strcanon (element, "0123456789abcdefABCDEF", '_');
  return g_strconcat (prefix, element, NULL);
}

/* Start the operation of LINE; returns its Job's path, or NULL (reported). */
static char *
start_op (Client *c, const char *line)
{
  g_auto(GStrv) w = g_strsplit_set (line, " \t", -1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autofree char *path = NULL;
  const char *iface, *method, *job_path;
  GVariant *args;
  guint n = g_strv_length (w);
  char *job = NULL;

  if (n == 1 && strcmp (w[0], "ping") == 0)
    {
      reply = g_dbus_connection_call_sync (c->bus, BUS_NAME, "/org/hostdevd1",
                                           "org.freedesktop.DBus.Peer", "Ping", NULL, NULL,
                                           G_DBUS_CALL_FLAGS_NONE, 60000, NULL, &error);
      if (reply == NULL)
        {
          g_printerr ("hdd-client: ping: %s\n", error->message);
          c->failed++;
          return NULL;
        }
      return g_strdup ("");   /* no job */
    }
  if (n == 4 && strcmp (w[0], "create") == 0)
    {
      path = g_strdup ("/org/hostdevd1");
      iface = BUS_NAME ".Manager", method = "CreateMdev";
      args = g_variant_new ("(sssa(ss)a{sv})", w[1], w[2], w[3], NULL, NULL);
    }
  else if (n == 2 && (strcmp (w[0], "remove") == 0))
    {
      path = path_of ("/org/hostdevd1/mdev/", w[1]);
      iface = BUS_NAME ".Mdev", method = "Remove";
      args = g_variant_new ("(a{sv})", NULL);
    }
  else if (n == 2 && (strcmp (w[0], "bind") == 0 || strcmp (w[0], "restore") == 0))
    {
      path = path_of ("/org/hostdevd1/pci/", w[1]);
      iface = BUS_NAME ".PciDevice", method = w[0][0] == 'b' ? "BindVfio" : "Restore";
      args = g_variant_new ("(a{sv})", NULL);
    }
  else
    {
      g_printerr ("hdd-client: not an operation: %s\n", line);
      c->failed++;
      return NULL;
    }
  reply = g_dbus_connection_call_sync (c->bus, BUS_NAME, path, iface, method, args, NULL,
                                       G_DBUS_CALL_FLAGS_NONE, 60000, NULL, &error);
  if (reply == NULL)
    {
      g_printerr ("hdd-client: %s: %s\n", line, error->message);
      c->failed++;
      return NULL;
    }
  if (g_variant_is_of_type (reply, G_VARIANT_TYPE ("(oo)")))
    {
      g_variant_get (reply, "(&o&o)", NULL, &job_path);
      job = g_strdup (job_path);
    }
  else if (g_variant_is_of_type (reply, G_VARIANT_TYPE ("(o)")))
    g_variant_get (reply, "(o)", &job);
  else
    {
      g_printerr ("hdd-client: %s: unexpected reply %s\n", line,
                  g_variant_get_type_string (reply));
      c->failed++;
    }
  return job;
}

/* Take the ended jobs out of c->waiting; returns how many ended. */
static guint
reap (Client *c)
{
  GHashTableIter it;
  gpointer job, line;
  guint ended = 0;

  g_hash_table_iter_init (&it, c->waiting);
  while (g_hash_table_iter_next (&it, &job, &line))
    {
      const char *message = g_hash_table_lookup (c->done, job);

      if (message == NULL)
        continue;
      if (*message != '\0')
        {
          g_printerr ("hdd-client: %s: job failed: %s\n", (char *) line, message);
          c->failed++;
        }
      g_hash_table_remove (c->done, job);
      g_hash_table_iter_remove (&it);
      ended++;
    }
  return ended;
}

/* Wait until at most LEFT operations are in flight (60 s without a signal
 * is a lost job). */
static void
drain_to (Client *c, guint left)
{
  gint64 give_up = now_us () + 60 * G_USEC_PER_SEC;

  reap (c);
  while (g_hash_table_size (c->waiting) > left)
    {
      if (now_us () > give_up)
        {
          g_printerr ("hdd-client: %u job(s) without Completed after 60 s\n",
                      g_hash_table_size (c->waiting));
          c->failed++;
          g_hash_table_remove_all (c->waiting);
          return;
        }
      g_main_context_iteration (NULL, TRUE);
      if (reap (c) > 0)
        give_up = now_us () + 60 * G_USEC_PER_SEC;
    }
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  Client c = { 0 };
  char line[LINE_MAX_LEN];
  guint window = 0, count = 0;
  gint64 batch_start = 0;

  if (argc == 3 && strcmp (argv[1], "--window") == 0)
    window = (guint) g_ascii_strtoull (argv[2], NULL, 10);
  else if (argc != 1)
    {
      g_printerr ("usage: hdd-client [--window N] < COMMANDS\n");
      return 2;
    }
  c.bus = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, &error);
  if (c.bus == NULL)
    {
      g_printerr ("hdd-client: %s\n", error->message);
      return 1;
    }
  c.done = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  c.waiting = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_dbus_connection_signal_subscribe (c.bus, BUS_NAME, BUS_NAME ".Job", "Completed", NULL, NULL,
                                      G_DBUS_SIGNAL_FLAGS_NONE, on_completed, &c, NULL);
  /* The subscription's AddMatch reaches the bus before the first call: a
   * call on the same connection after it is ordered after it. */
  g_dbus_connection_call_sync (c.bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                               "org.freedesktop.DBus.Peer", "Ping", NULL, NULL,
                               G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
  while (fgets (line, sizeof line, stdin) != NULL)
    {
      gint64 t0;
      char *job;
      int failed;

      g_strchomp (line);
      if (line[0] == '\0')
        continue;
      if (window > 0 && count++ == 0)
        batch_start = now_us ();
      t0 = now_us ();
      failed = c.failed;
      job = start_op (&c, line);
      if (job == NULL)
        {
          if (window == 0)
            printf ("%s failed\n", line), fflush (stdout);
          continue;
        }
      if (*job == '\0')   /* no job to wait for (ping) */
        {
          g_free (job);
          if (window == 0)
            printf ("%s %" G_GINT64_FORMAT "\n", line, now_us () - t0), fflush (stdout);
          continue;
        }
      g_hash_table_replace (c.waiting, job, g_strdup (line));
      if (window > 0)
        {
          drain_to (&c, window - 1);
          continue;
        }
      drain_to (&c, 0);
      if (c.failed > failed)
        printf ("%s failed\n", line);
      else
        printf ("%s %" G_GINT64_FORMAT "\n", line, now_us () - t0);
      fflush (stdout);
    }
  if (window > 0)
    {
      drain_to (&c, 0);
      printf ("batch %u %" G_GINT64_FORMAT "\n", count, now_us () - batch_start);
    }
  return c.failed > 0;
}
