#include "hdd-sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <gio/gio.h>
#include <string.h>
#include <unistd.h>

static char *root_override;
static gboolean root_overridden;
G_LOCK_DEFINE_STATIC (root);

const char *
hdd_sysfs_root (void)
{
  const char *root;

  G_LOCK (root);
  if (root_overridden)
    root = root_override ? root_override : "";
  else
    {
      root = g_getenv (HDD_ROOT_ENV);
      if (root == NULL)
        root = "";
    }
  G_UNLOCK (root);
  return root;
}

void
hdd_sysfs_set_root (const char *root)
{
  G_LOCK (root);
  g_free (root_override);
  root_override = g_strdup (root);
  root_overridden = root != NULL;
  G_UNLOCK (root);
}

char *
hdd_sysfs_path (const char *format, ...)
{
  g_autofree char *rel = NULL;
  va_list args;

  va_start (args, format);
  rel = g_strdup_vprintf (format, args);
  va_end (args);

  g_return_val_if_fail (rel[0] == '/', NULL);
  return g_strconcat (hdd_sysfs_root (), rel, NULL);
}

gboolean
hdd_sysfs_read (const char *path,
                char      **contents,
                GError    **error)
{
  g_autoptr(GError) local = NULL;
  char *data = NULL;

  if (!g_file_get_contents (path, &data, NULL, &local))
    {
      int code = local->domain == G_FILE_ERROR
        ? g_io_error_from_file_error (local->code) : G_IO_ERROR_FAILED;
      g_set_error (error, G_IO_ERROR, code, "%s", local->message);
      return FALSE;
    }
  g_strchomp (data);
  *contents = data;
  return TRUE;
}

gboolean
hdd_sysfs_read_uint (const char *path,
                     guint64    *value,
                     GError    **error)
{
  g_autofree char *text = NULL;
  char *end = NULL;
  guint64 v;

  if (!hdd_sysfs_read (path, &text, error))
    return FALSE;

  errno = 0;
  v = g_ascii_strtoull (text, &end, 0);
  if (errno != 0 || end == text || *end != '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s does not hold a number: “%s”", path, text);
      return FALSE;
    }
  *value = v;
  return TRUE;
}

gboolean
hdd_sysfs_write (const char *path,
                 const char *value,
                 GError    **error)
{
  size_t len = strlen (value);
  ssize_t n;
  int fd;

  /* O_TRUNC as a shell's ">" does: harmless on sysfs, and it makes a test
   * tree of regular files behave like attributes. */
  fd = open (path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      int err = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err),
                   "Could not open %s for writing: %s", path, g_strerror (err));
      return FALSE;
    }

  do
    n = write (fd, value, len);
  while (n < 0 && errno == EINTR);

  if (n < 0 || (size_t) n != len)
    {
      int err = n < 0 ? errno : EIO;
      g_autofree char *shown = g_strescape (value, NULL);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err),
                   "Could not write “%s” to %s: %s", shown, path, g_strerror (err));
      close (fd);
      return FALSE;
    }

  if (close (fd) < 0 && errno != EINTR)
    {
      int err = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err),
                   "Could not write to %s: %s", path, g_strerror (err));
      return FALSE;
    }
  return TRUE;
}

/* In the child: nothing of the daemon stays open, its bus connection
 * least of all, which would keep its name on the bus. */
static void
close_all_but (int keep)
{
  if ((keep > 3 && close_range (3, keep - 1, 0) < 0) || close_range (keep + 1, ~0U, 0) < 0)
    for (int i = 3; i < 65536; i++)
      if (i != keep)
        close (i);
}

gboolean
hdd_sysfs_write_detached (const char *path,
                          const char *value,
                          GError    **error)
{
  size_t len = strlen (value);
  sigset_t all;
  int status = 0;
  pid_t parent;
  pid_t pid;
  int fd;

  /* Opened here: between fork() and _exit() the child of a threaded
   * process may only make async-signal-safe calls. */
  fd = open (path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      int err = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err),
                   "Could not open %s for writing: %s", path, g_strerror (err));
      return FALSE;
    }
  sigfillset (&all);
  parent = getpid ();
  pid = fork ();
  if (pid == 0)
    {
      ssize_t n;

      /* A stop of the daemon's service signals the child too: the daemon
       * decides, the child ends with it.  The kernel's wait, once begun,
       * goes on regardless, and the release with it. */
      sigprocmask (SIG_SETMASK, &all, NULL);
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      if (getppid () != parent)
        _exit (EINTR);
      close_all_but (fd);
      do
        n = write (fd, value, len);
      while (n < 0 && errno == EINTR);
      _exit (n == (ssize_t) len ? 0 : n < 0 ? (errno & 0xff) : EIO);
    }
  close (fd);
  if (pid < 0)
    {
      int err = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err),
                   "Could not start the write to %s: %s", path, g_strerror (err));
      return FALSE;
    }
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      {
        int err = errno;
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err),
                     "Lost the write to %s: %s", path, g_strerror (err));
        return FALSE;
      }
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      int err = WIFEXITED (status) ? WEXITSTATUS (status) : EINTR;
      g_autofree char *shown = g_strescape (value, NULL);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err),
                   "Could not write “%s” to %s: %s", shown, path, g_strerror (err));
      return FALSE;
    }
  return TRUE;
}

char *
hdd_sysfs_link_basename (const char *path)
{
  g_autofree char *target = g_file_read_link (path, NULL);

  if (target == NULL)
    return NULL;
  return g_path_get_basename (target);
}

gboolean
hdd_sysfs_exists (const char *path)
{
  return g_file_test (path, G_FILE_TEST_EXISTS);
}
