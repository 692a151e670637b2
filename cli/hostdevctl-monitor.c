/* hostdevctl monitor: print what changes, as it changes, until interrupted.
 *
 * Every line starts with the local time and the object path, so that the
 * output of a long session can be grepped for one device or one job. */
#include "hostdevctl-commands.h"

#include <glib-unix.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>

#include "hdd-names.h"
#include "hostdevctl-client.h"
#include "hostdevctl-exit.h"
#include "hostdevctl-format.h"
#include "hostdevctl-options.h"
#include "hostdevctl-output.h"

static void G_GNUC_PRINTF (2, 3)
say (const char *path,
     const char *format,
     ...)
{
  g_autofree char *now = hdc_format_time (g_get_real_time (), FALSE);
  g_autofree char *text = NULL;
  g_autofree char *shown = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);

  /* Property values and messages come from hostdevd, and from other
   * processes through it. */
  shown = hdc_format_escape (text);
  printf ("%s %s %s\n", now, path, shown);
  /* Somebody may be reading this through a pipe, live. */
  fflush (stdout);
}

static char *
interface_names (GDBusObject *object)
{
  GList *interfaces = g_dbus_object_get_interfaces (object);
  g_autoptr(GString) names = g_string_new (NULL);

  for (GList *l = interfaces; l != NULL; l = l->next)
    {
      GDBusInterfaceInfo *info = g_dbus_interface_get_info (l->data);
      g_string_append_printf (names, "%s%s", names->len ? ", " : "", info ? info->name : "?");
    }
  g_list_free_full (interfaces, g_object_unref);
  return g_strdup (names->str);
}

static void
on_object_added (GDBusObjectManager *manager,
                 GDBusObject        *object,
                 gpointer            user_data)
{
  g_autofree char *names = interface_names (object);

  say (g_dbus_object_get_object_path (object), "added (%s)", names);
}

static void
on_object_removed (GDBusObjectManager *manager,
                   GDBusObject        *object,
                   gpointer            user_data)
{
  say (g_dbus_object_get_object_path (object), "removed");
}

static void
on_interface_added (GDBusObjectManager *manager,
                    GDBusObject        *object,
                    GDBusInterface     *interface,
                    gpointer            user_data)
{
  GDBusInterfaceInfo *info = g_dbus_interface_get_info (interface);

  say (g_dbus_object_get_object_path (object), "interface added (%s)", info ? info->name : "?");
}

static void
on_interface_removed (GDBusObjectManager *manager,
                      GDBusObject        *object,
                      GDBusInterface     *interface,
                      gpointer            user_data)
{
  GDBusInterfaceInfo *info = g_dbus_interface_get_info (interface);

  say (g_dbus_object_get_object_path (object), "interface removed (%s)", info ? info->name : "?");
}

static void
print_changes (const char         *path,
               GVariant           *changed,
               const char * const *invalidated)
{
  GVariantIter iter;
  const char *name;
  GVariant *value;

  g_variant_iter_init (&iter, changed);
  while (g_variant_iter_loop (&iter, "{&sv}", &name, &value))
    {
      g_autofree char *text = hdc_format_property (name, value);
      say (path, "%s: %s", name, text);
    }
  for (guint i = 0; invalidated != NULL && invalidated[i] != NULL; i++)
    say (path, "%s: (invalidated)", invalidated[i]);
}

static void
on_proxy_properties_changed (GDBusObjectManagerClient *manager,
                             GDBusObjectProxy         *object,
                             GDBusProxy               *proxy,
                             GVariant                 *changed,
                             const char * const       *invalidated,
                             gpointer                  user_data)
{
  print_changes (g_dbus_proxy_get_object_path (proxy), changed, invalidated);
}

static void
on_manager_properties_changed (GDBusProxy         *proxy,
                               GVariant           *changed,
                               const char * const *invalidated,
                               gpointer            user_data)
{
  print_changes (g_dbus_proxy_get_object_path (proxy), changed, invalidated);
}

static void
on_proxy_signal (GDBusObjectManagerClient *manager,
                 GDBusObjectProxy         *object,
                 GDBusProxy               *proxy,
                 const char               *sender,
                 const char               *signal_name,
                 GVariant                 *parameters,
                 gpointer                  user_data)
{
  const char *path = g_dbus_proxy_get_object_path (proxy);

  if (g_str_equal (signal_name, "Completed") &&
      g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(bs)")))
    {
      gboolean success;
      const char *message;

      g_variant_get (parameters, "(b&s)", &success, &message);
      say (path, "Completed: %s: %s", success ? "success" : "failure", message);
    }
  else
    {
      g_autofree char *text = g_variant_print (parameters, FALSE);
      say (path, "%s: %s", signal_name, text);
    }
}

static void
on_name_owner (GObject    *object,
               GParamSpec *pspec,
               gpointer    user_data)
{
  g_autofree char *owner =
    g_dbus_object_manager_client_get_name_owner (G_DBUS_OBJECT_MANAGER_CLIENT (object));

  if (owner != NULL)
    say (HDD_DBUS_PATH, "hostdevd is on the bus (%s)", owner);
  else
    say (HDD_DBUS_PATH, "hostdevd left the bus");
}

static gboolean
on_signal (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_CONTINUE;
}

int
hdc_cmd_monitor (int argc, char **argv)
{
  g_autoptr(GOptionContext) context =
    hdc_options_context_new (NULL, "Print, as they happen, the devices and jobs that appear "
                             "and go, every change of their properties, and the end of "
                             "every job, until interrupted (Ctrl+C).");
  g_autoptr(HdcClient) client = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *owner = NULL;
  GDBusObjectManager *all = NULL;
  HddDbusManager *manager = NULL;
  guint sigint, sigterm;

  if (!hdc_options_parse (context, "monitor", &argc, &argv, 0, NULL))
    return HDC_EXIT_USAGE;

  client = hdc_client_new (&error);
  if (client == NULL || (all = hdc_client_get_object_manager (client, &error)) == NULL ||
      (manager = hdc_client_get_manager_full (client, &error)) == NULL)
    return hdc_output_fail (error);

  loop = g_main_loop_new (NULL, FALSE);
  g_signal_connect (all, "object-added", G_CALLBACK (on_object_added), NULL);
  g_signal_connect (all, "object-removed", G_CALLBACK (on_object_removed), NULL);
  g_signal_connect (all, "interface-added", G_CALLBACK (on_interface_added), NULL);
  g_signal_connect (all, "interface-removed", G_CALLBACK (on_interface_removed), NULL);
  g_signal_connect (all, "interface-proxy-properties-changed",
                    G_CALLBACK (on_proxy_properties_changed), NULL);
  g_signal_connect (all, "interface-proxy-signal",
                    G_CALLBACK (on_proxy_signal), NULL);
  g_signal_connect (all, "notify::name-owner", G_CALLBACK (on_name_owner), NULL);
  g_signal_connect (manager, "g-properties-changed",
                    G_CALLBACK (on_manager_properties_changed), NULL);
  sigint = g_unix_signal_add (SIGINT, on_signal, loop);
  sigterm = g_unix_signal_add (SIGTERM, on_signal, loop);

  /* Printed once everything is connected: whoever starts a monitor and then
   * changes something can wait for this line and miss nothing. */
  owner = g_dbus_object_manager_client_get_name_owner (G_DBUS_OBJECT_MANAGER_CLIENT (all));
  say (HDD_DBUS_PATH, "Monitoring hostdevd %s (%s); Ctrl+C stops",
       hdd_dbus_manager_get_version (manager)
         ? hdd_dbus_manager_get_version (manager) : "?",
       owner ? owner : "?");

  g_main_loop_run (loop);

  g_source_remove (sigint);
  g_source_remove (sigterm);
  return HDC_EXIT_OK;
}
