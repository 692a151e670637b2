#include "hdd-sysfs.h"

#include <errno.h>
#include <fcntl.h>
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
