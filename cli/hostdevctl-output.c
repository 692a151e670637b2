/* Where hostdevctl writes: failures to stderr, the rest to stdout. */
#include "hostdevctl-output.h"

#include <gio/gio.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "hdd-names.h"
#include "hostdevctl-exit.h"
#include "hostdevctl-format.h"

int
hdc_output_fail (GError *error)
{
  g_autofree char *message = NULL;

  if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
      g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
    {
      /* It was there when we connected: it stopped or crashed since. */
      fprintf (stderr, "hostdevctl: hostdevd is not running (nothing owns %s on the system bus)\n",
               HDD_DBUS_NAME);
      return HDC_EXIT_FAILURE;
    }

  if (g_dbus_error_is_remote_error (error))
    g_dbus_error_strip_remote_error (error);
  /* hostdevd's messages quote what callers and other processes gave it. */
  message = hdc_format_escape (error->message);

  if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY) ||
      g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_TIMEOUT) ||
      g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_TIMED_OUT) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    fprintf (stderr, "hostdevctl: hostdevd did not answer: %s\n", message);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED))
    fprintf (stderr, "hostdevctl: The connection to the system bus was closed\n");
  else
    fprintf (stderr, "hostdevctl: %s\n", message);
  return HDC_EXIT_FAILURE;
}

gboolean
hdc_output_is_terminal (FILE *stream)
{
  return isatty (fileno (stream));
}

guint
hdc_output_terminal_width (void)
{
  struct winsize ws;

  if (!isatty (STDOUT_FILENO) || ioctl (STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0)
    return 0;
  return ws.ws_col;
}