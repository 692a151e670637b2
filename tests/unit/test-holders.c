#include "hdd-holders.h"
#include "hdd-sysfs.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A test root with /dev/vfio/3 and a fake /proc whose processes hold it. */
typedef struct {
  char *root;
  char *node;   /* the real path of /dev/vfio/3 */
} Fixture;

static char *
root_path (Fixture *f, const char *rel)
{
  return g_strconcat (f->root, rel, NULL);
}

static void
make_dirs (Fixture *f, const char *rel)
{
  g_autofree char *p = root_path (f, rel);

  g_assert_cmpint (g_mkdir_with_parents (p, 0755), ==, 0);
}

/* Process @pid of the fake /proc, with fd @fd pointing at @target (a real
 * path) and @comm (@len bytes) as its comm; comm NULL: none written. */
static void
add_process (Fixture *f, const char *pid, const char *fd, const char *target,
             const char *comm, gssize len)
{
  g_autofree char *fd_dir = g_strdup_printf ("/proc/%s/fd", pid);
  g_autofree char *link = g_strdup_printf ("%s/proc/%s/fd/%s", f->root, pid, fd);
  g_autofree char *comm_path = g_strdup_printf ("%s/proc/%s/comm", f->root, pid);

  make_dirs (f, fd_dir);
  g_assert_cmpint (symlink (target, link), ==, 0);
  if (comm)
    g_assert_true (g_file_set_contents (comm_path, comm, len, NULL));
}

static void
setup (Fixture *f, gconstpointer data)
{
  f->root = g_dir_make_tmp ("hostdevd-holders-XXXXXX", NULL);
  g_assert_nonnull (f->root);
  make_dirs (f, "/dev/vfio");
  f->node = root_path (f, "/dev/vfio/3");
  g_assert_true (g_file_set_contents (f->node, "", 0, NULL));
  hdd_sysfs_set_root (f->root);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", f->root);

  hdd_sysfs_set_root (NULL);
  g_assert_true (g_spawn_command_line_sync (cmd, NULL, NULL, NULL, NULL));
  g_free (f->node);
  g_free (f->root);
}

static GPtrArray *
scan (void)
{
  const char *nodes[] = { "/dev/vfio/3", NULL };

  return hdd_holders_scan (nodes);
}

/* A comm is any bytes: what reaches D-Bus is valid UTF-8 without control
 * characters (a non-UTF-8 string is a GLib critical, fatal in the tests). */
static void
test_command_sanitized (Fixture *f, gconstpointer data)
{
  static const char comm[] = "\xff\xfe" "bad\x1b[31m\0x\n";
  g_autoptr(GPtrArray) holders = NULL;
  g_autoptr(GVariant) value = NULL;
  HddHolder *h;

  add_process (f, "100", "5", f->node, comm, sizeof comm - 1);
  holders = scan ();
  g_assert_cmpuint (holders->len, ==, 1);
  h = g_ptr_array_index (holders, 0);
  g_assert_cmpuint (h->pid, ==, 100);
  g_assert_true (g_utf8_validate (h->command, -1, NULL));
  g_assert_cmpstr (h->command, ==, "\xef\xbf\xbd\xef\xbf\xbd" "bad\\x1b[31m\xef\xbf\xbdx");
  value = g_variant_ref_sink (hdd_holders_to_variant (holders));
  g_assert_true (g_variant_is_of_type (value, G_VARIANT_TYPE ("a(uss)")));
}

static void
test_command_bounded (Fixture *f, gconstpointer data)
{
  g_autofree char *long_comm = g_strnfill (4096, '\x01');
  g_autofree char *s = hdd_holders_sanitize_command (long_comm, -1);

  g_assert_cmpuint (strlen (s), ==, 64 * strlen ("\\x01"));
  g_clear_pointer (&s, g_free);
  s = hdd_holders_sanitize_command ("", 0);
  g_assert_cmpstr (s, ==, "?");
  g_clear_pointer (&s, g_free);
  s = hdd_holders_sanitize_command ("qemu-system-x86\n", -1);
  g_assert_cmpstr (s, ==, "qemu-system-x86");
}

/* Only fds whose link names a /dev/vfio/ node are stat()ed: the same file
 * reached through another path (here a hard link elsewhere; in life, any
 * file on a hung NFS mount) is never looked at. */
static void
test_only_vfio_links (Fixture *f, gconstpointer data)
{
  g_autofree char *other = root_path (f, "/mnt/nfs/file");
  g_autoptr(GPtrArray) holders = NULL;

  make_dirs (f, "/mnt/nfs");
  g_assert_cmpint (link (f->node, other), ==, 0);
  add_process (f, "101", "6", other, "cat\n", -1);
  add_process (f, "102", "7", f->node, "qemu\n", -1);
  holders = scan ();
  g_assert_cmpuint (holders->len, ==, 1);
  g_assert_cmpuint (((HddHolder *) g_ptr_array_index (holders, 0))->pid, ==, 102);
}

typedef struct {
  GPtrArray *holders;
  GString   *order;
} AsyncState;

static void
on_scanned (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AsyncState *st = user_data;
  g_autoptr(GError) error = NULL;

  st->holders = hdd_holders_scan_finish (result, &error);
  g_assert_no_error (error);
  g_string_append (st->order, "scanned;");
}

/* Whether a file descriptor of this process other than @fd is open on
 * @path: the scan's thread has opened the FIFO. */
static gboolean
opened_elsewhere (const char *path, int fd)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *link = g_build_filename ("/proc/self/fd", name, NULL);
      g_autofree char *target = g_file_read_link (link, NULL);

      if (atoi (name) != fd && g_strcmp0 (target, path) == 0)
        return TRUE;
    }
  return FALSE;
}

static gboolean
on_tick (gpointer user_data)
{
  AsyncState *st = user_data;

  g_string_append (st->order, "tick;");
  return G_SOURCE_REMOVE;
}

/* A scan that cannot finish (a comm that is a FIFO nobody writes to, as a
 * stand-in for a /proc entry that blocks) keeps no one waiting: the main
 * context goes on, and the scan answers once it can. */
static void
test_async_scan_does_not_block (Fixture *f, gconstpointer data)
{
  const char *nodes[] = { "/dev/vfio/3", NULL };
  g_autofree char *fifo = root_path (f, "/proc/103/comm");
  AsyncState st = { NULL, g_string_new (NULL) };
  int fd;

  add_process (f, "103", "8", f->node, NULL, 0);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  /* The only writer: the scan's read waits until it closes. */
  fd = open (fifo, O_RDWR);
  g_assert_cmpint (fd, >=, 0);

  hdd_holders_scan_async (nodes, NULL, on_scanned, &st);
  g_timeout_add (50, on_tick, &st);
  while (st.order->len == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (st.order->str, ==, "tick;");

  /* Written and closed once the scan reads: else its open() would wait
   * for a writer that came and went. */
  while (!opened_elsewhere (fifo, fd))
    g_usleep (1000);
  g_assert_cmpint (write (fd, "qemu\n", 5), ==, 5);
  close (fd);
  while (st.holders == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (st.order->str, ==, "tick;scanned;");
  g_assert_cmpuint (st.holders->len, ==, 1);
  g_assert_cmpstr (((HddHolder *) g_ptr_array_index (st.holders, 0))->command, ==, "qemu");
  g_ptr_array_unref (st.holders);
  g_string_free (st.order, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/holders/command-sanitized", Fixture, NULL, setup, test_command_sanitized,
              teardown);
  g_test_add ("/holders/command-bounded", Fixture, NULL, setup, test_command_bounded, teardown);
  g_test_add ("/holders/only-vfio-links", Fixture, NULL, setup, test_only_vfio_links, teardown);
  g_test_add ("/holders/async-scan-does-not-block", Fixture, NULL, setup,
              test_async_scan_does_not_block, teardown);
  return g_test_run ();
}
