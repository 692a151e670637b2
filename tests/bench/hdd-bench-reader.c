/* Read calls from many clients at once, for tests/bench/scale.py.
 *
 *   hdd-bench-reader ADDRESS CLIENTS SECONDS PATH...
 *
 * Forks CLIENTS processes, each with a connection of its own to the bus
 * at ADDRESS; once all are connected, each makes read calls for SECONDS: Properties.GetAll of the
 * object PATH (in turn, starting at a different one per client), with the
 * interface given after a '#' (PATH#INTERFACE), and between two calls waits
 * a random 0-100 ms, as a client that reads now and then does.  Each call is
 * timed on CLOCK_MONOTONIC; a call that fails is an error (exit status 1).
 * Prints one latency per line (microseconds) on stdout, children's lines
 * unordered. */
#include <gio/gio.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define THINK_MAX_US 100000

static gint64
now_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static int
client (const char *address, int index, gint64 start, double seconds, int n_paths, char **paths)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  gint64 end;
  int failed = 0;

  bus = g_dbus_connection_new_for_address_sync (address,
                                                G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                NULL, NULL, &error);
  if (bus == NULL)
    {
      g_printerr ("client %d: %s\n", index, error->message);
      return 1;
    }
  g_random_set_seed ((guint32) (getpid () ^ index));
  /* Every client connected first: what is timed is the calls, not the
   * forks and connections of the others. */
  if (start > now_us ())
    g_usleep ((gulong) (start - now_us ()));
  end = start + (gint64) (seconds * G_USEC_PER_SEC);
  for (int i = index; now_us () < end; i++)
    {
      g_auto(GStrv) parts = g_strsplit (paths[i % n_paths], "#", 2);
      g_autoptr(GVariant) reply = NULL;
      gint64 t0;

      g_usleep ((gulong) g_random_int_range (0, THINK_MAX_US));
      t0 = now_us ();
      reply = g_dbus_connection_call_sync (bus, "org.hostdevd1", parts[0],
                                           "org.freedesktop.DBus.Properties", "GetAll",
                                           g_variant_new ("(s)", parts[1] ? parts[1] : ""),
                                           G_VARIANT_TYPE ("(a{sv})"),
                                           G_DBUS_CALL_FLAGS_NONE, 30000, NULL, &error);
      if (reply == NULL)
        {
          g_printerr ("client %d: GetAll %s: %s\n", index, parts[0], error->message);
          g_clear_error (&error);
          failed = 1;
          continue;
        }
      g_string_append_printf (out, "%" G_GINT64_FORMAT "\n", now_us () - t0);
    }
  /* One write per client: lines of different clients never interleave. */
  fwrite (out->str, 1, out->len, stdout);
  fflush (stdout);
  return failed;
}

int
main (int argc, char **argv)
{
  int clients, status, failed = 0;
  double seconds;
  gint64 start;

  if (argc < 5)
    {
      g_printerr ("usage: %s ADDRESS CLIENTS SECONDS PATH#INTERFACE...\n", argv[0]);
      return 2;
    }
  clients = atoi (argv[2]);
  seconds = g_ascii_strtod (argv[3], NULL);
  start = now_us () + G_USEC_PER_SEC / 2 + clients * 20000;
  fflush (stdout);
  for (int i = 0; i < clients; i++)
    {
      pid_t pid = fork ();

      if (pid < 0)
        {
          perror ("fork");
          return 1;
        }
      if (pid == 0)
        _exit (client (argv[1], i, start, seconds, argc - 4, argv + 4));
    }
  while (wait (&status) > 0)
    if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
      failed = 1;
  return failed;
}
