/* The one place where hostdevd touches /sys and /dev.
 *
 * Paths are built with hdd_sysfs_path(), which prefixes them with the
 * directory named by $HOSTDEVD_ROOT (empty by default).  The unit tests point
 * it at a temporary tree; the integration tests leave it empty and run the
 * daemon under umockdev, whose preload library redirects /sys and /dev. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define HDD_ROOT_ENV "HOSTDEVD_ROOT"

/* The prefix in force, "" when none.  Read from the environment once. */
const char *hdd_sysfs_root (void);

/* Sets the prefix explicitly (tests).  NULL resets to the environment. */
void hdd_sysfs_set_root (const char *root);

/* root + the formatted absolute path ("/sys/bus/pci/..."). */
char *hdd_sysfs_path (const char *format, ...) G_GNUC_PRINTF (1, 2);

/* The most hdd_sysfs_read() reads: an attribute is one page at most. */
#define HDD_SYSFS_READ_MAX (64 * 1024)

/* Reads a whole attribute and strips trailing white space.  A file of more
 * than HDD_SYSFS_READ_MAX bytes is refused (G_IO_ERROR_INVALID_DATA). */
gboolean hdd_sysfs_read (const char *path,
                         char      **contents,
                         GError    **error);

/* Reads a number written in decimal or 0x-hex, as sysfs does. */
gboolean hdd_sysfs_read_uint (const char *path,
                              guint64    *value,
                              GError    **error);

/* Writes @value with a single write(2), as sysfs attributes require.  May
 * block for as long as the kernel does (an unbind of a device in use). */
gboolean hdd_sysfs_write (const char *path,
                          const char *value,
                          GError    **error);

/* hdd_sysfs_write() of @relpath below the directory @dir, confined there:
 * @relpath is plain names separated by '/' (no "", ".", ".." and no
 * leading '/'), and no name on the way may be a symbolic link or a mount
 * point — openat2() with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or where
 * the kernel has no openat2() (before 5.6), a walk that opens one name at a
 * time with O_NOFOLLOW.  @dir itself is followed.  A path that would leave
 * @dir fails with G_IO_ERROR_INVALID_FILENAME and writes nothing; other
 * failures are those of hdd_sysfs_write(). */
gboolean hdd_sysfs_write_beneath (const char *dir,
                                  const char *relpath,
                                  const char *value,
                                  GError    **error);

/* Tests: hdd_sysfs_write_beneath() walks as on a kernel without openat2(). */
void hdd_sysfs_set_openat2_disabled (gboolean disabled);

/* hdd_sysfs_write() from a child process of its own, waited for: for the
 * writes the kernel blocks until a device's users let it go (an unbind
 * from vfio-pci, an mdev's remove), which it cannot interrupt.  A thread
 * blocked there would keep a killed daemon from ever exiting, and its bus
 * name taken; the child keeps nothing of the daemon open and is killed
 * with it, which the kernel's wait ignores: the release goes on, and the
 * next daemon finds it (release_pending). */
gboolean hdd_sysfs_write_detached (const char *path,
                                   const char *value,
                                   GError    **error);

/* Sleeps before the next look at sysfs for what the kernel does after a
 * write: the real kernel has mostly done it when the write returns, a
 * probe or a fake kernel may take a few milliseconds more, so the sleeps
 * are short at first (0.25 ms, doubling to 2 ms) and 16 ms after about
 * 50 ms, and end early at a hdd_sysfs_kick().  @attempt counts the looks
 * (0 before the first sleep).  FALSE, without sleeping, once the monotonic
 * time @deadline has passed. */
gboolean hdd_sysfs_wait_next (guint *attempt,
                              gint64 deadline);

/* Something in sysfs changed (a uevent came): every hdd_sysfs_wait_next()
 * sleeping ends now, and its caller looks again; one that is not sleeping
 * does not sleep at its next call.  From any thread. */
void     hdd_sysfs_kick      (void);

/* The last component of the symbolic link at @path, or NULL when there is no
 * link (e.g. the "driver" link of an unbound device). */
char *hdd_sysfs_link_basename (const char *path);

gboolean hdd_sysfs_exists (const char *path);

G_END_DECLS
