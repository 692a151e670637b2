/* Files that must never be seen torn: the bindings and the mdev
 * definitions. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Replaces @path by @data atomically and durably: a temporary file
 * (PATH.XXXXXX) in the same directory, fsync, rename, fsync of the
 * directory.  Creates the directory (0755) when it is missing.  A crash at
 * any moment leaves the old or the new file, never a torn one. */
gboolean hdd_file_replace (const char *path,
                           const char *data,
                           gsize       len,
                           int         mode,
                           GError    **error);

/* As hdd_file_replace(), without the fsync of the directory: the new file
 * is complete on disk before it takes the old one's name (a crash at any
 * moment, power loss included, leaves the old or the new file, never a
 * torn or empty one), but after a power loss the rename itself may be
 * undone, leaving the old file.  For a change that the next boot does not
 * need (hdd-store.c says which); one fsync instead of two. */
gboolean hdd_file_replace_consistent (const char *path,
                                      const char *data,
                                      gsize       len,
                                      int         mode,
                                      GError    **error);

/* Deletes @path and makes that durable (fsync of the directory).  A file
 * that is not there is not an error. */
gboolean hdd_file_delete (const char *path,
                          GError    **error);

/* Whether @name is a temporary file hdd_file_replace() left behind when a
 * crash hit between its write and its rename: "@base.XXXXXX". */
gboolean hdd_file_is_stale_temporary (const char *name,
                                      const char *base);

G_END_DECLS
