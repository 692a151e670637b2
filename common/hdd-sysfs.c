#include "hdd-sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <gio/gio.h>
#include <linux/openat2.h>
#include <string.h>
#include <unistd.h>

static char *root_override;
static gboolean root_overridden;
static gint no_openat2;   /* tests: the walk of kernels before 5.6 */
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
  g_autofree char *data = g_malloc (HDD_SYSFS_READ_MAX + 2);
  gsize n = 0;
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

  if (fd < 0)
    {
      int err = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err),
                   "Failed to open file “%s”: %s", path, g_strerror (err));
      return FALSE;
    }
  /* Bounded: a sysfs attribute is one page at most. */
  while (n <= HDD_SYSFS_READ_MAX)
    {
      ssize_t r = read (fd, data + n, HDD_SYSFS_READ_MAX + 1 - n);

      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          int err = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err),
                       "Failed to read from file “%s”: %s", path, g_strerror (err));
          close (fd);
          return FALSE;
        }
      if (r == 0)
        break;
      n += (gsize) r;
    }
  close (fd);
  if (n > HDD_SYSFS_READ_MAX)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s holds more than %d bytes: no attribute does", path, HDD_SYSFS_READ_MAX);
      return FALSE;
    }
  data[n] = '\0';
  g_strchomp (data);
  *contents = g_steal_pointer (&data);
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

/* ---- Writes confined below a directory ---- */

void
hdd_sysfs_set_openat2_disabled (gboolean disabled)
{
  g_atomic_int_set (&no_openat2, disabled);
}

static gboolean
confinement_error (GError **error, const char *dir, const char *relpath, const char *why)
{
  g_autofree char *shown = g_strescape (relpath, NULL);

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_FILENAME,
               "Refusing to write “%s” below %s: %s", shown, dir, why);
  return FALSE;
}

/* Opens @relpath below @dirfd for writing, one name at a time: each
 * directory opened O_PATH|O_NOFOLLOW and checked with fstat() on what was
 * opened (no window between the check and the use), on the same file
 * system as @dirfd, the last name O_NOFOLLOW.  Sets errno: ELOOP for a
 * link, EXDEV for another file system. */
static int
open_beneath_walk (int dirfd, const char *relpath, int flags)
{
  g_auto(GStrv) names = g_strsplit (relpath, "/", -1);
  struct stat top, st;
  int fd = dup (dirfd);
  int err;

  if (fd < 0)
    return -1;
  if (fstat (fd, &top) < 0)
    {
      err = errno;
      close (fd);
      errno = err;
      return -1;
    }
  for (guint i = 0; names[i]; i++)
    {
      int next;

      if (names[i + 1] == NULL)
        next = openat (fd, names[i], flags | O_NOFOLLOW);
      else
        next = openat (fd, names[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
      err = errno;
      close (fd);
      if (next < 0)
        {
          errno = err;
          return -1;
        }
      fd = next;
      if (names[i + 1] == NULL)
        break;
      if (fstat (fd, &st) < 0)
        err = errno;
      else if (S_ISLNK (st.st_mode))
        err = ELOOP;
      else if (!S_ISDIR (st.st_mode))
        err = ENOTDIR;
      else if (st.st_dev != top.st_dev)
        err = EXDEV;
      else
        continue;
      close (fd);
      errno = err;
      return -1;
    }
  return fd;
}

static int
open_beneath (int dirfd, const char *relpath, int flags)
{
  struct open_how how = {
    .flags = (guint64) flags,
    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
  };
  int fd;

  if (!g_atomic_int_get (&no_openat2))
    {
      fd = (int) syscall (SYS_openat2, dirfd, relpath, &how, sizeof how);
      /* ENOSYS: a kernel before 5.6; EPERM: a seccomp filter that does
       * not know the call. */
      if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
        return fd;
    }
  return open_beneath_walk (dirfd, relpath, flags);
}

static gboolean
relpath_is_plain (const char *relpath)
{
  g_auto(GStrv) names = NULL;

  if (relpath == NULL || *relpath == '\0' || *relpath == '/')
    return FALSE;
  names = g_strsplit (relpath, "/", -1);
  for (guint i = 0; names[i]; i++)
    if (*names[i] == '\0' || g_str_equal (names[i], ".") || g_str_equal (names[i], ".."))
      return FALSE;
  return TRUE;
}

gboolean
hdd_sysfs_write_beneath (const char *dir,
                         const char *relpath,
                         const char *value,
                         GError    **error)
{
  g_autofree char *path = NULL;
  size_t len = strlen (value);
  ssize_t n;
  int dirfd, fd, err;

  if (!relpath_is_plain (relpath))
    return confinement_error (error, dir, relpath ? relpath : "",
                              "not a relative path of plain names");
  /* @dir itself may be a link (/sys/bus/mdev/devices/UUID is one): the
   * caller built it from checked names. */
  dirfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    {
      err = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err),
                   "Could not open %s: %s", dir, g_strerror (err));
      return FALSE;
    }
  fd = open_beneath (dirfd, relpath, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
  err = errno;
  close (dirfd);
  path = g_build_filename (dir, relpath, NULL);
  if (fd < 0 && (err == ELOOP || err == EXDEV))
    return confinement_error (error, dir, relpath,
                              err == ELOOP ? "the path goes through a symbolic link"
                                           : "the path leaves the directory");
  if (fd < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err),
                   "Could not open %s for writing: %s", path, g_strerror (err));
      return FALSE;
    }

  do
    n = write (fd, value, len);
  while (n < 0 && errno == EINTR);
  err = n < 0 ? errno : EIO;
  close (fd);
  if (n < 0 || (size_t) n != len)
    {
      g_autofree char *shown = g_strescape (value, NULL);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err),
                   "Could not write “%s” to %s: %s", shown, path, g_strerror (err));
      return FALSE;
    }
  return TRUE;
}

/* The child of hdd_sysfs_write_detached(): it runs on a stack of its own
 * in the daemon's memory (CLONE_VM) while the thread that started it is
 * suspended (CLONE_VFORK), so it makes raw system calls only: no libc
 * state (errno, locks, an LD_PRELOAD wrapper) of the daemon is touched. */
typedef struct {
  int         fd;
  const char *value;
  size_t      len;
  pid_t       parent;
} Writer;

/* Code run on the child's stack is not instrumented: a sanitizer would
 * poison shadow memory for a stack that is unmapped once the child ends. */
#define CHILD_CODE __attribute__ ((no_sanitize_address, no_sanitize ("undefined")))

/* Nothing of the daemon stays open in the child, its bus connection least
 * of all, which would keep its name on the bus. */
CHILD_CODE static void
close_all_but (int keep)
{
  if ((keep > 3 && syscall (SYS_close_range, 3, keep - 1, 0) < 0) ||
      syscall (SYS_close_range, keep + 1, ~0U, 0) < 0)
    for (int i = 3; i < 65536; i++)
      if (i != keep)
        syscall (SYS_close, i);
}

CHILD_CODE static int
detached_writer (void *data)
{
  const Writer *w = data;
  long n;

  /* Every signal stays blocked, as at the clone (hdd_sysfs_write_detached):
   * no handler of the daemon ever runs in the child.  A stop of the daemon
   * kills the child with the thread that waits for it: the daemon decides,
   * the child ends with it.  The kernel's wait, once begun, goes on
   * regardless, and the release with it. */
  syscall (SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (syscall (SYS_getppid) != w->parent)
    syscall (SYS_exit, EINTR);
  close_all_but (w->fd);
  do
    n = syscall (SYS_write, w->fd, w->value, w->len);
  while (n < 0 && errno == EINTR);
  syscall (SYS_exit, n == (long) w->len ? 0 : n < 0 ? (errno & 0xff) : EIO);
  return 0;
}

/* posix_spawn()'s way to start a process (clone with CLONE_VM and
 * CLONE_VFORK): no copy of the daemon's page tables, which fork() made
 * for every detached write (2.5 ms here, more with a bigger daemon). */
#define WRITER_STACK_SIZE (64 * 1024)

gboolean
hdd_sysfs_write_detached (const char *path,
                          const char *value,
                          GError    **error)
{
  Writer w = { -1, value, strlen (value), getpid () };
  sigset_t all, old;
  int status = 0;
  int clone_errno = 0;
  void *stack;
  pid_t pid;

  /* Opened here: the child makes no call that could fail on a path. */
  w.fd = open (path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
  if (w.fd < 0)
    {
      int err = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err),
                   "Could not open %s for writing: %s", path, g_strerror (err));
      return FALSE;
    }
  stack = mmap (NULL, WRITER_STACK_SIZE, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED)
    {
      int err = errno;
      close (w.fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err),
                   "Could not start the write to %s: %s", path, g_strerror (err));
      return FALSE;
    }
  /* The child starts with every signal blocked and keeps them so. */
  sigfillset (&all);
  pthread_sigmask (SIG_SETMASK, &all, &old);
  pid = clone (detached_writer, (char *) stack + WRITER_STACK_SIZE,
               CLONE_VM | CLONE_VFORK | SIGCHLD, &w);
  if (pid < 0)
    clone_errno = errno;
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  /* CLONE_VFORK: the child has exited by now, its stack is free. */
  munmap (stack, WRITER_STACK_SIZE);
  close (w.fd);
  if (pid < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (clone_errno),
                   "Could not start the write to %s: %s", path, g_strerror (clone_errno));
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

/* hdd_sysfs_wait_next(): 0.25, 0.5, 1 ms, then every 2 ms for about 50 ms,
 * then every 16 ms. */
#define WAIT_SHORT_LOOKS  28
#define WAIT_SHORT_MAX_US 2000
#define WAIT_LONG_US      16000

/* hdd_sysfs_kick(): how many came, and the count each waiting thread saw
 * when its last sleep ended. */
static GMutex kick_lock;
static GCond kick_cond;
static guint64 kick_count;
static _Thread_local guint64 kick_seen;

gboolean
hdd_sysfs_wait_next (guint *attempt,
                     gint64 deadline)
{
  gint64 now = g_get_monotonic_time ();
  gint64 sleep_us = MIN ((gint64) 250 << MIN (*attempt, 3),
                         *attempt < WAIT_SHORT_LOOKS ? WAIT_SHORT_MAX_US : WAIT_LONG_US);
  gint64 end;

  if (now >= deadline)
    return FALSE;
  end = now + MIN (sleep_us, deadline - now);
  g_mutex_lock (&kick_lock);
  /* The first sleep cannot know whether a kick came after the caller's
   * look: it is short.  Later ones end at once when one came since the
   * last sleep ended, which may be after the look. */
  if (*attempt == 0)
    kick_seen = kick_count;
  while (kick_count == kick_seen && g_cond_wait_until (&kick_cond, &kick_lock, end))
    ;
  kick_seen = kick_count;
  g_mutex_unlock (&kick_lock);
  (*attempt)++;
  return TRUE;
}

void
hdd_sysfs_kick (void)
{
  g_mutex_lock (&kick_lock);
  kick_count++;
  g_cond_broadcast (&kick_cond);
  g_mutex_unlock (&kick_lock);
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
