#include "hdd-file.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

/* g_file_set_contents_full()'s temporary names: six random characters. */
#define TEMPORARY_SUFFIX_LEN 7

static gboolean
set_errno_error (GError **error, int err, const char *what, const char *path)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err),
               "Could not %s %s: %s", what, path, g_strerror (err));
  return FALSE;
}

/* fsync of the directory makes a rename or unlink in it durable. */
static gboolean
sync_directory (const char *directory, GError **error)
{
  int fd = open (directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int err;

  if (fd < 0)
    return set_errno_error (error, errno, "sync", directory);
  if (fsync (fd) < 0)
    {
      err = errno;
      close (fd);
      return set_errno_error (error, err, "sync", directory);
    }
  close (fd);
  return TRUE;
}

/* The temporary file is fsynced before the rename (CONSISTENT|DURABLE);
 * GLib does not sync the directory. */
static gboolean
replace (const char *path, const char *directory, const char *data, gsize len, int mode,
         GError **error)
{
  if (g_mkdir_with_parents (directory, 0755) < 0)
    return set_errno_error (error, errno, "create", directory);
  return g_file_set_contents_full (path, data, (gssize) len,
                                   G_FILE_SET_CONTENTS_CONSISTENT |
                                   G_FILE_SET_CONTENTS_DURABLE,
                                   mode, error);
}

gboolean
hdd_file_replace (const char *path,
                  const char *data,
                  gsize       len,
                  int         mode,
                  GError    **error)
{
  g_autofree char *directory = g_path_get_dirname (path);

  return replace (path, directory, data, len, mode, error) &&
         sync_directory (directory, error);
}

gboolean
hdd_file_replace_consistent (const char *path,
                             const char *data,
                             gsize       len,
                             int         mode,
                             GError    **error)
{
  g_autofree char *directory = g_path_get_dirname (path);

  return replace (path, directory, data, len, mode, error);
}

gboolean
hdd_file_delete (const char *path,
                 GError    **error)
{
  g_autofree char *directory = g_path_get_dirname (path);

  if (g_unlink (path) < 0)
    {
      if (errno == ENOENT)
        return TRUE;
      return set_errno_error (error, errno, "delete", path);
    }
  return sync_directory (directory, error);
}

gboolean
hdd_file_is_stale_temporary (const char *name,
                             const char *base)
{
  gsize n = strlen (base);

  return strncmp (name, base, n) == 0 && name[n] == '.' &&
         strlen (name) == n + TEMPORARY_SUFFIX_LEN;
}
