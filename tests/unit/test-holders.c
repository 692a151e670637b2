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

/* Asked for every node: each process's VFIO fds, by the node they hold. */
static void
test_scan_all (Fixture *f, gconstpointer data)
{
  g_autofree char *node5 = root_path (f, "/dev/vfio/5");
  g_autoptr(GPtrArray) holders = NULL;
  g_autoptr(GHashTable) index = NULL;
  g_autoptr(GPtrArray) of3 = NULL;
  g_autoptr(GPtrArray) of5 = NULL;
  g_autoptr(GPtrArray) none = NULL;

  g_assert_true (g_file_set_contents (node5, "", 0, NULL));
  add_process (f, "110", "5", f->node, "qemu-a\n", -1);
  add_process (f, "111", "6", node5, "qemu-b\n", -1);
  add_process (f, "111", "7", f->node, NULL, 0);
  holders = hdd_holders_scan (NULL);
  g_assert_cmpuint (holders->len, ==, 3);
  index = hdd_holders_index_by_node (holders);
  of3 = hdd_holders_lookup (index, "/dev/vfio/3", NULL);
  of5 = hdd_holders_lookup (index, "", "/dev/vfio/5");
  none = hdd_holders_lookup (index, "/dev/vfio/9", "/dev/vfio/devices/vfio0");
  g_assert_cmpuint (of3->len, ==, 2);
  g_assert_cmpuint (((HddHolder *) g_ptr_array_index (of3, 0))->pid, ==, 110);
  g_assert_cmpuint (((HddHolder *) g_ptr_array_index (of3, 1))->pid, ==, 111);
  g_assert_cmpuint (of5->len, ==, 1);
  g_assert_cmpstr (((HddHolder *) g_ptr_array_index (of5, 0))->command, ==, "qemu-b");
  g_assert_null (none);
}

/* A private /dev (libvirt's QEMU) may name a node otherwise: the fd's link
 * says /dev/vfio/9, the file is the host's /dev/vfio/3 (here the same
 * inode; in life the same character device).  Found by device number. */
static void
test_private_dev_by_device_number (Fixture *f, gconstpointer data)
{
  g_autofree char *private_node = root_path (f, "/ns/dev/vfio/9");
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GPtrArray) listed = NULL;

  make_dirs (f, "/ns/dev/vfio");
  g_assert_cmpint (link (f->node, private_node), ==, 0);
  add_process (f, "120", "5", private_node, "qemu\n", -1);
  all = hdd_holders_scan (NULL);
  g_assert_cmpuint (all->len, ==, 1);
  g_assert_cmpstr (((HddHolder *) g_ptr_array_index (all, 0))->node, ==, "/dev/vfio/3");
  listed = scan ();
  g_assert_cmpuint (listed->len, ==, 1);
  g_assert_cmpstr (((HddHolder *) g_ptr_array_index (listed, 0))->node, ==, "/dev/vfio/3");
}

typedef struct {
  guint    calls;
  gboolean only_removed;   /* of the last call */
} Changes;

static void
on_nodes_changed (gboolean only_removed, gpointer user_data)
{
  Changes *c = user_data;

  c->calls++;
  c->only_removed = only_removed;
}

static gboolean
on_timeout (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* An open of a node of the host's /dev/vfio is told at once, and so is a
 * close; /dev/vfio/devices is watched once it appears. */
static void
test_watch_opens (Fixture *f, gconstpointer data)
{
  g_autofree char *cdev = root_path (f, "/dev/vfio/devices/vfio0");
  g_autoptr(HddHoldersWatch) watch = NULL;
  Changes changes = { 0, };
  gboolean timed_out = FALSE;
  int fd;

  watch = hdd_holders_watch_new (on_nodes_changed, &changes);
  g_assert_true (hdd_holders_watch_is_active (watch));
  fd = open (f->node, O_RDONLY);
  g_assert_cmpint (fd, >=, 0);
  g_timeout_add_seconds (5, on_timeout, &timed_out);
  while (changes.calls == 0 && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (changes.calls, >, 0);
  g_assert_false (changes.only_removed);
  changes.calls = 0;
  close (fd);
  while (changes.calls == 0 && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (changes.calls, >, 0);

  /* A node that is made is no reason to scan: nobody holds it yet. */
  {
    g_autofree char *made = root_path (f, "/dev/vfio/77");

    while (g_main_context_iteration (NULL, FALSE))
      ;
    changes.calls = 0;
    g_assert_cmpint (mkfifo (made, 0600), ==, 0);
    g_usleep (100 * 1000);
    while (g_main_context_iteration (NULL, FALSE))
      ;
    g_assert_cmpuint (changes.calls, ==, 0);
    /* ... and the first open of it is seen. */
    fd = open (made, O_RDONLY | O_NONBLOCK);
    g_assert_cmpint (fd, >=, 0);
    while (changes.calls == 0 && !timed_out)
      g_main_context_iteration (NULL, TRUE);
    g_assert_cmpuint (changes.calls, >, 0);
    g_assert_false (changes.only_removed);
    close (fd);
    while (g_main_context_iteration (NULL, FALSE))
      ;
    /* A node removed is told as only removed: nobody can hold it from
     * now on (the owner scans only when someone held anything). */
    changes.calls = 0;
    g_assert_cmpint (unlink (made), ==, 0);
    while (changes.calls == 0 && !timed_out)
      g_main_context_iteration (NULL, TRUE);
    g_assert_cmpuint (changes.calls, ==, 1);
    g_assert_true (changes.only_removed);
  }

  /* A directory made is no reason to scan either (the cdevs' comes and
   * goes with a host's only cdev), but it is watched from then on. */
  changes.calls = 0;
  make_dirs (f, "/dev/vfio/devices");
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpint (mkfifo (cdev, 0600), ==, 0);   /* made, not opened */
  g_usleep (100 * 1000);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (changes.calls, ==, 0);
  fd = open (cdev, O_RDONLY | O_NONBLOCK);
  g_assert_cmpint (fd, >=, 0);
  while (changes.calls == 0 && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  close (fd);
  g_assert_false (timed_out);
  g_assert_false (changes.only_removed);

  /* The node and its directory removed: told, as only removed. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  changes.calls = 0;
  g_assert_cmpint (unlink (cdev), ==, 0);
  {
    g_autofree char *devices = root_path (f, "/dev/vfio/devices");

    g_assert_cmpint (rmdir (devices), ==, 0);
  }
  while (changes.calls == 0 && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_usleep (100 * 1000);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (changes.calls, >, 0);
  g_assert_true (changes.only_removed);
  g_assert_false (timed_out);

  /* A scan that lists /dev/vfio (a node named otherwise, as through a
   * private /dev) opens the directory: that is no reason to scan again,
   * else the scans would follow each other forever. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  make_dirs (f, "/ns/dev/vfio");
  {
    g_autofree char *private_node = root_path (f, "/ns/dev/vfio/9");
    g_autoptr(GPtrArray) holders = NULL;

    g_assert_cmpint (link (f->node, private_node), ==, 0);
    add_process (f, "130", "5", private_node, "qemu\n", -1);
    while (g_main_context_iteration (NULL, FALSE))
      ;
    changes.calls = 0;
    holders = hdd_holders_scan (NULL);
    g_assert_cmpuint (holders->len, ==, 1);
    g_usleep (100 * 1000);
    while (g_main_context_iteration (NULL, FALSE))
      ;
    g_assert_cmpuint (changes.calls, ==, 0);
  }
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
  g_test_add ("/holders/scan-all", Fixture, NULL, setup, test_scan_all, teardown);
  g_test_add ("/holders/private-dev-by-device-number", Fixture, NULL, setup,
              test_private_dev_by_device_number, teardown);
  g_test_add ("/holders/watch-opens", Fixture, NULL, setup, test_watch_opens, teardown);
  g_test_add ("/holders/async-scan-does-not-block", Fixture, NULL, setup,
              test_async_scan_does_not_block, teardown);
  return g_test_run ();
}
