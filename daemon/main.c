/* hostdevd: VFIO passthrough management daemon for KVM hosts. */
#include "config.h"

#include "hdd-authority.h"
#include "hdd-error.h"
#include "hdd-log.h"
#include "hdd-manager.h"
#include "hdd-names.h"
#include "hdd-store.h"

#include <gio/gio.h>
#include <glib-unix.h>
#include <locale.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>

typedef struct {
  GMainLoop    *loop;
  const char   *mdev_dir;
  HddStore     *store;
  HddAuthority *authority;
  HddManager   *manager;
  int           exit_code;
} Daemon;

static gboolean
on_watchdog (gpointer user_data)
{
  sd_notify (0, "WATCHDOG=1");
  return G_SOURCE_CONTINUE;
}

static void
setup_watchdog (void)
{
  guint64 usec = 0;

  /* Feed the watchdog at half its period, from the main loop: a main loop
   * that stops turning is exactly what the watchdog should catch. */
  if (sd_watchdog_enabled (0, &usec) > 0 && usec > 0)
    g_timeout_add ((guint) MAX (usec / 2000, 100), on_watchdog, NULL);
}

static void
on_bus_acquired (GDBusConnection *connection, const char *name, gpointer user_data)
{
  Daemon *d = user_data;

  d->manager = hdd_manager_new (connection, d->store, d->authority, d->mdev_dir);
  hdd_manager_start (d->manager);
}

static void
on_name_acquired (GDBusConnection *connection, const char *name, gpointer user_data)
{
  hdd_message (NULL, 0, "hostdevd %s ready on the bus as %s", PACKAGE_VERSION, name);
  sd_notify (0, "READY=1\nSTATUS=Managing VFIO devices");
  setup_watchdog ();
}

static void
on_name_lost (GDBusConnection *connection, const char *name, gpointer user_data)
{
  Daemon *d = user_data;

  if (connection == NULL)
    g_printerr ("hostdevd: cannot connect to the system bus\n");
  else
    g_printerr ("hostdevd: the name %s is owned by another process "
                "(use --replace to take it over)\n", name);
  d->exit_code = EXIT_FAILURE;
  g_main_loop_quit (d->loop);
}

static gboolean
on_jobs_ended (gpointer user_data)
{
  Daemon *d = user_data;

  hdd_message (NULL, 0, "Every job has ended; stopped");
  g_main_loop_quit (d->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
on_signal (gpointer user_data)
{
  Daemon *d = user_data;

  hdd_message (NULL, 0, "Stopping");
  sd_notify (0, "STOPPING=1\nSTATUS=Stopping: waiting for running jobs to end");
  /* A restart must not leave a device half-bound: the jobs end first
   * (hdd_manager_stop).  The source goes, and GLib gives the signal its
   * default action back: a second SIGTERM ends the daemon at once, and
   * the next start reconciles what that leaves (hdd-reconcile.h). */
  if (d->manager)
    hdd_manager_stop (d->manager, on_jobs_ended, d);
  else
    g_main_loop_quit (d->loop);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *state_dir = NULL;
  g_autofree char *mdev_dir = NULL;
  gboolean replace = FALSE;
  gboolean verbose = FALSE;
  gboolean version = FALSE;
  gboolean polkit_for_root = FALSE;
  Daemon d = { 0 };
  guint owner;
  const GOptionEntry entries[] = {
    { "replace", 'r', 0, G_OPTION_ARG_NONE, &replace, "Replace a running instance", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log debug messages", NULL },
    { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
      "Where persistent bindings live (default: $HOSTDEVD_STATE_DIR or " HDD_STATE_DIR ")", "DIR" },
    { "mdev-dir", 0, 0, G_OPTION_ARG_FILENAME, &mdev_dir,
      "Where mdev definitions live, in mdevctl's format (default: $HOSTDEVD_MDEVCTL_DIR or "
      HDD_MDEVCTL_DIR ")", "DIR" },
    { "polkit-for-root", 0, 0, G_OPTION_ARG_NONE, &polkit_for_root,
      "Ask polkit for callers that are root too (polkitd allows root everything: "
      "without this option they are allowed without asking it)", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL }
  };

  setlocale (LC_ALL, "");
  context = g_option_context_new ("- VFIO passthrough management daemon");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("hostdevd: %s\n", error->message);
      return EXIT_FAILURE;
    }
  if (version)
    {
      g_print ("hostdevd %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }
  if (verbose)
    g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);

  /* Registers the org.hostdevd1.Error.* names before anything can fail. */
  (void) HDD_ERROR;

  if (state_dir == NULL)
    state_dir = g_strdup (g_getenv ("HOSTDEVD_STATE_DIR"));
  if (state_dir == NULL)
    state_dir = g_strdup (HDD_STATE_DIR);
  if (mdev_dir == NULL)
    mdev_dir = g_strdup (g_getenv ("HOSTDEVD_MDEVCTL_DIR"));
  if (mdev_dir == NULL)
    mdev_dir = g_strdup (HDD_MDEVCTL_DIR);

  d.loop = g_main_loop_new (NULL, FALSE);
  d.mdev_dir = mdev_dir;
  d.store = hdd_store_new (state_dir);
  d.authority = hdd_authority_new (polkit_for_root ? HDD_AUTHORITY_ROOT_ASKS_POLKIT
                                                   : HDD_AUTHORITY_NONE);
  if (!hdd_store_load (d.store, &error))
    {
      /* The file was moved aside, not lost: say so loudly and go on, so that
       * the devices can still be managed. */
      hdd_warning (NULL, 0, "%s", error->message);
      g_clear_error (&error);
    }

  g_unix_signal_add (SIGTERM, on_signal, &d);
  g_unix_signal_add (SIGINT, on_signal, &d);

  owner = g_bus_own_name (G_BUS_TYPE_SYSTEM, HDD_DBUS_NAME,
                          G_BUS_NAME_OWNER_FLAGS_ALLOW_REPLACEMENT |
                          (replace ? G_BUS_NAME_OWNER_FLAGS_REPLACE : 0),
                          on_bus_acquired, on_name_acquired, on_name_lost,
                          &d, NULL);
  g_main_loop_run (d.loop);

  g_bus_unown_name (owner);
  g_clear_object (&d.manager);
  g_clear_object (&d.store);
  g_clear_object (&d.authority);
  g_main_loop_unref (d.loop);
  return d.exit_code;
}
