#include "hdd-holders.h"

#include "hdd-sysfs.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

/* What is kept of a /proc/PID/comm: the kernel's is at most 15 bytes, a
 * file under a test root or a future kernel may say anything. */
#define COMM_MAX_BYTES 64

/* A node a scan looks for: its name under /dev and what stat() says. */
typedef struct {
  char       *node;
  gboolean    is_chr;
  dev_t       rdev;
  dev_t       dev;
  ino_t       ino;
} Target;

/* What one scan knows of the nodes.  Asked for a list of nodes
 * (@wanted), those; asked for all, each node is stat()ed once per scan and
 * only when a process holds a /dev/vfio/ fd naming it, and the index of
 * every node by device number is built only when a link names a node that
 * is not the file it holds (a private /dev that numbers nodes otherwise):
 * a scan costs what /proc costs, not what the number of devices does. */
typedef struct {
  gboolean    wanted;    /* only the nodes asked for: by_name and index are set */
  GHashTable *by_name;   /* node -> Target, or NULL: no such node */
  GHashTable *index;     /* identity_key() -> Target, or NULL until needed */
} Resolver;

static void
target_free (gpointer data)
{
  Target *t = data;

  g_free (t->node);
  g_free (t);
}

static Target *
target_new (const char *node)
{
  g_autofree char *path = hdd_sysfs_path ("%s", node);
  struct stat st;
  Target *t;

  if (stat (path, &st) < 0)
    return NULL;
  t = g_new0 (Target, 1);
  t->node = g_strdup (node);
  t->is_chr = S_ISCHR (st.st_mode);
  t->rdev = st.st_rdev;
  t->dev = st.st_dev;
  t->ino = st.st_ino;
  return t;
}

void
hdd_holder_free (HddHolder *holder)
{
  if (holder == NULL)
    return;
  g_free (holder->command);
  g_free (holder->node);
  g_free (holder);
}

/* The same inode, or the same character device through another node (a
 * private /dev).  Character major 0 is no device, so rdev 0 never matches. */
static gboolean
target_matches (const Target *t, const struct stat *st)
{
  if (st->st_dev == t->dev && st->st_ino == t->ino)
    return TRUE;
  return t->is_chr && t->rdev != 0 && S_ISCHR (st->st_mode) && st->st_rdev == t->rdev;
}

char *
hdd_holders_sanitize_command (const char *raw,
                              gssize      length)
{
  gsize n = length < 0 ? strlen (raw) : (gsize) length;
  g_autofree char *valid = NULL;
  GString *s;

  if (n > 0 && raw[n - 1] == '\n')
    n--;
  /* Any byte is possible, NUL included: what is not UTF-8 becomes U+FFFD,
   * a control character an escape; the result is a D-Bus string. */
  valid = g_utf8_make_valid (raw, MIN (n, COMM_MAX_BYTES));
  s = g_string_new (NULL);
  for (const char *p = valid; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_iscntrl (c))
        g_string_append_printf (s, "\\x%02x", c);
      else
        g_string_append_unichar (s, c);
    }
  if (s->len == 0)
    g_string_append_c (s, '?');
  return g_string_free (s, FALSE);
}

static char *
read_comm (const char *proc, const char *pid)
{
  g_autofree char *path = g_strdup_printf ("%s/%s/comm", proc, pid);
  g_autofree char *comm = NULL;
  gsize length = 0;

  if (!g_file_get_contents (path, &comm, &length, NULL))
    return g_strdup ("?");
  return hdd_holders_sanitize_command (comm, (gssize) length);
}

/* The target of the fd @link when it names a VFIO node, else NULL:
 * readlink() of /proc/PID/fd/N only asks procfs, while stat() reaches the
 * file's own file system, and a hung NFS mount would hang it.  The node may
 * be seen through a private /dev (libvirt's QEMU) or a test root: only
 * "/dev/vfio/" in it counts, and what follows names the node. */
static char *
link_vfio_target (const char *link)
{
  g_autofree char *target = g_file_read_link (link, NULL);

  return target && strstr (target, "/dev/vfio/") ? g_steal_pointer (&target) : NULL;
}

static int
compare_holders (gconstpointer a, gconstpointer b)
{
  const HddHolder *x = *(HddHolder * const *) a;
  const HddHolder *y = *(HddHolder * const *) b;

  if (x->pid != y->pid)
    return x->pid < y->pid ? -1 : 1;
  return g_strcmp0 (x->node, y->node);
}

static void
target_free_nullable (gpointer data)
{
  if (data)
    target_free (data);
}

/* The key of a node in the index: its character device number, or its
 * inode when it is no device (a test root's plain file). */
static char *
identity_key (gboolean is_chr, dev_t rdev, dev_t dev, ino_t ino)
{
  if (is_chr && rdev != 0)
    return g_strdup_printf ("c%" G_GUINT64_FORMAT, (guint64) rdev);
  return g_strdup_printf ("i%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT, (guint64) dev,
                          (guint64) ino);
}

static void
index_add (GHashTable *index, Target *t)
{
  g_hash_table_insert (index, identity_key (t->is_chr, t->rdev, t->dev, t->ino), t);
}

/* Every node under @dir (/dev/vfio, /dev/vfio/devices) into @index. */
static void
index_directory (GHashTable *index, const char *dir)
{
  g_autofree char *path = hdd_sysfs_path ("%s", dir);
  g_autoptr(GDir) d = g_dir_open (path, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *node = g_build_filename (dir, name, NULL);
      Target *t = target_new (node);

      if (t)
        index_add (index, t);
    }
}

static Target *
index_lookup (GHashTable *index, const struct stat *st)
{
  g_autofree char *by_inode = identity_key (FALSE, 0, st->st_dev, st->st_ino);
  g_autofree char *by_rdev = S_ISCHR (st->st_mode)
                             ? identity_key (TRUE, st->st_rdev, 0, 0) : NULL;
  Target *t = g_hash_table_lookup (index, by_inode);

  return t ? t : (by_rdev ? g_hash_table_lookup (index, by_rdev) : NULL);
}

/* The node an fd holds: @name, what its link says ("/dev/vfio/…"), when
 * that node is the file @st; else the node with @st's device number (a
 * private /dev that names its nodes otherwise).  NULL: none wanted. */
static const Target *
resolve (Resolver *r, const char *name, const struct stat *st)
{
  Target *t = NULL;

  if (!g_hash_table_lookup_extended (r->by_name, name, NULL, (gpointer *) &t))
    {
      t = r->wanted ? NULL : target_new (name);
      g_hash_table_insert (r->by_name, g_strdup (name), t);
    }
  if (t && target_matches (t, st))
    return t;
  if (r->index == NULL)
    {
      r->index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, target_free);
      index_directory (r->index, "/dev/vfio");
      index_directory (r->index, "/dev/vfio/devices");
    }
  return index_lookup (r->index, st);
}

static void
scan_process (const char *proc, const char *pid, Resolver *r, GPtrArray *out)
{
  g_autofree char *fd_dir = g_strdup_printf ("%s/%s/fd", proc, pid);
  g_autoptr(GDir) dir = g_dir_open (fd_dir, 0, NULL);
  g_autoptr(GHashTable) seen = NULL;   /* the nodes it holds, once each */
  g_autofree char *comm = NULL;
  const char *fd;

  if (dir == NULL)
    return;  /* exited, or a kernel thread */

  while ((fd = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *link = g_build_filename (fd_dir, fd, NULL);
      g_autofree char *target = link_vfio_target (link);
      const Target *t;
      HddHolder *h;
      struct stat st;

      if (target == NULL || stat (link, &st) < 0 ||
          (t = resolve (r, strstr (target, "/dev/vfio/"), &st)) == NULL)
        continue;
      if (seen == NULL)
        seen = g_hash_table_new (g_str_hash, g_str_equal);
      if (!g_hash_table_add (seen, t->node))
        continue;
      if (comm == NULL)
        comm = read_comm (proc, pid);
      h = g_new0 (HddHolder, 1);
      h->pid = (guint32) strtoul (pid, NULL, 10);
      h->command = g_strdup (comm);
      h->node = g_strdup (t->node);
      g_ptr_array_add (out, h);
    }
}

GPtrArray *
hdd_holders_scan (const char * const *nodes)
{
  g_autoptr(GPtrArray) holders = g_ptr_array_new_with_free_func ((GDestroyNotify) hdd_holder_free);
  g_autoptr(GHashTable) by_name = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                         target_free_nullable);
  g_autoptr(GHashTable) index = NULL;
  g_autofree char *proc_path = hdd_sysfs_path ("/proc");
  g_autoptr(GDir) proc = NULL;
  Resolver r = { .wanted = nodes != NULL, .by_name = by_name };
  const char *name;

  /* Asked for some nodes: those are all the scan knows, by name and by
   * device number; else each node is looked at when a process holds it. */
  if (nodes)
    {
      index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      for (guint i = 0; nodes[i]; i++)
        {
          Target *t = target_new (nodes[i]);

          if (t == NULL || g_hash_table_contains (by_name, nodes[i]))
            {
              target_free_nullable (t);
              continue;
            }
          g_hash_table_insert (by_name, g_strdup (nodes[i]), t);
          index_add (index, t);
        }
      if (g_hash_table_size (index) == 0)
        return g_steal_pointer (&holders);
      r.index = index;
    }

  /* A test root may bring a /proc of its own; else the real one. */
  if (!g_file_test (proc_path, G_FILE_TEST_IS_DIR))
    {
      g_free (proc_path);
      proc_path = g_strdup ("/proc");
    }
  proc = g_dir_open (proc_path, 0, NULL);
  while (proc && (name = g_dir_read_name (proc)) != NULL)
    {
      if (g_ascii_isdigit (name[0]))
        scan_process (proc_path, name, &r, holders);
    }
  if (r.index && r.index != index)
    g_hash_table_unref (r.index);
  g_ptr_array_sort (holders, compare_holders);
  return g_steal_pointer (&holders);
}

static void
scan_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  g_task_return_pointer (task, hdd_holders_scan ((const char * const *) data),
                         (GDestroyNotify) g_ptr_array_unref);
}

void
hdd_holders_scan_async (const char * const *nodes,
                        GCancellable       *cancellable,
                        GAsyncReadyCallback callback,
                        gpointer            user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, hdd_holders_scan_async);
  g_task_set_name (task, "[hostdevd] holders scan");
  g_task_set_task_data (task, g_strdupv ((char **) nodes), (GDestroyNotify) g_strfreev);
  /* A scan stuck in the kernel must not keep its owner waiting. */
  g_task_set_return_on_cancel (task, TRUE);
  g_task_run_in_thread (task, scan_in_thread);
}

GPtrArray *
hdd_holders_scan_finish (GAsyncResult *result,
                         GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

GVariant *
hdd_holders_to_variant (GPtrArray *holders)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(uss)"));
  for (guint i = 0; holders && i < holders->len; i++)
    {
      HddHolder *h = g_ptr_array_index (holders, i);
      g_variant_builder_add (&b, "(uss)", h->pid, h->command, h->node);
    }
  return g_variant_builder_end (&b);
}

GHashTable *
hdd_holders_index_by_node (GPtrArray *holders)
{
  GHashTable *index = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                             (GDestroyNotify) g_ptr_array_unref);

  for (guint i = 0; holders && i < holders->len; i++)
    {
      HddHolder *h = g_ptr_array_index (holders, i);
      GPtrArray *of_node = g_hash_table_lookup (index, h->node);

      if (of_node == NULL)
        {
          of_node = g_ptr_array_new ();
          g_hash_table_insert (index, h->node, of_node);
        }
      g_ptr_array_add (of_node, h);
    }
  return index;
}

GPtrArray *
hdd_holders_lookup (GHashTable *index,
                    const char *node_a,
                    const char *node_b)
{
  GPtrArray *a = node_a && *node_a ? g_hash_table_lookup (index, node_a) : NULL;
  GPtrArray *b = node_b && *node_b ? g_hash_table_lookup (index, node_b) : NULL;
  GPtrArray *mine;

  if (a == NULL && b == NULL)
    return NULL;
  mine = g_ptr_array_new ();
  if (a)
    g_ptr_array_extend (mine, a, NULL, NULL);
  if (b && b != a)
    g_ptr_array_extend (mine, b, NULL, NULL);
  g_ptr_array_sort (mine, compare_holders);
  return mine;
}

GVariant *
hdd_holders_to_variant_if_changed (GVariant  *current,
                                   GPtrArray *holders)
{
  g_autoptr(GVariant) value = NULL;

  /* Nobody held it and nobody does: the common case, without a variant. */
  if ((holders == NULL || holders->len == 0) && current && g_variant_n_children (current) == 0)
    return NULL;
  value = g_variant_ref_sink (hdd_holders_to_variant (holders));

  if (current && g_variant_equal (current, value))
    return NULL;
  return g_steal_pointer (&value);
}

char *
hdd_holders_describe (GPtrArray *holders)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; holders && i < holders->len; i++)
    {
      HddHolder *h = g_ptr_array_index (holders, i);
      g_string_append_printf (s, "%s%s (pid %u) holds %s",
                              i ? ", " : "", h->command, h->pid, h->node);
    }
  return g_string_free (s, FALSE);
}

/* ---- Opens and closes through the host's /dev ---- */

#define WATCH_MASK (IN_OPEN | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE | IN_CREATE | IN_DELETE | \
                    IN_DELETE_SELF | IN_MOVE_SELF)

struct _HddHoldersWatch {
  int                 fd;
  guint               source;
  HddHoldersWatchFunc func;
  gpointer            data;
};

/* /dev/vfio and /dev/vfio/devices, those that exist now; again when one
 * appears (vfio loaded later, the first cdev).  Adding an existing watch
 * again changes nothing. */
static void
watch_add_directories (HddHoldersWatch *w)
{
  const char * const dirs[] = { "/dev/vfio", "/dev/vfio/devices" };

  g_autofree char *dev = hdd_sysfs_path ("/dev");

  for (gsize i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *path = hdd_sysfs_path ("%s", dirs[i]);

      inotify_add_watch (w->fd, path, WATCH_MASK | IN_ONLYDIR);
    }
  /* For /dev/vfio to appear: only what is made in /dev, not its opens. */
  inotify_add_watch (w->fd, dev, IN_CREATE | IN_ONLYDIR);
}

static gboolean
on_watch_readable (int fd, GIOCondition condition, gpointer user_data)
{
  HddHoldersWatch *w = user_data;
  char buf[4096] __attribute__ ((aligned (__alignof__ (struct inotify_event))));
  gboolean touched = FALSE;   /* a node opened or closed */
  gboolean removed = FALSE;   /* a node or a directory removed */
  gboolean rewatch = FALSE;   /* a directory made or removed */
  ssize_t n;

  /* A burst of events is one call.  Only events of the nodes inside
   * count, and directories made or removed, not opens of the directories:
   * a scan's own listing of /dev/vfio and /dev/vfio/devices (the index,
   * hdd_holders_scan()) opens them, and would start the next scan,
   * forever.  Nor does a node or a directory being made: nobody holds a
   * node that did not exist, and whoever opens it next is seen opening it
   * (a burst of new mdevs or bindings made a scan of every process each;
   * /dev/vfio/devices comes and goes with a host's only cdev).  The one
   * open missed is one made in the moment between a directory's making
   * and its watch: the owner's periodic scan finds it. */
  while ((n = read (fd, buf, sizeof buf)) > 0)
    {
      for (char *p = buf; p < buf + n;)
        {
          const struct inotify_event *ev = (const struct inotify_event *) (void *) p;
          gboolean node = ev->len > 0 && !(ev->mask & IN_ISDIR);

          if (node && (ev->mask & (IN_OPEN | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE)))
            touched = TRUE;
          else if (node && (ev->mask & IN_DELETE))
            removed = TRUE;
          else if (!node && (ev->mask & (IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)))
            removed = rewatch = TRUE;
          else if (!node && (ev->mask & IN_CREATE))
            rewatch = TRUE;
          p += sizeof (struct inotify_event) + ev->len;
        }
    }
  if (n < 0 && errno != EAGAIN && errno != EINTR)
    {
      w->source = 0;
      return G_SOURCE_REMOVE;
    }
  if (rewatch)
    watch_add_directories (w);
  if (touched || removed)
    w->func (!touched, w->data);
  return G_SOURCE_CONTINUE;
}

HddHoldersWatch *
hdd_holders_watch_new (HddHoldersWatchFunc func,
                       gpointer            data)
{
  HddHoldersWatch *w = g_new0 (HddHoldersWatch, 1);

  w->fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  w->func = func;
  w->data = data;
  if (w->fd >= 0)
    {
      watch_add_directories (w);
      w->source = g_unix_fd_add (w->fd, G_IO_IN, on_watch_readable, w);
    }
  return w;
}

gboolean
hdd_holders_watch_is_active (HddHoldersWatch *w)
{
  return w && w->source != 0;
}

void
hdd_holders_watch_free (HddHoldersWatch *w)
{
  if (w == NULL)
    return;
  g_clear_handle_id (&w->source, g_source_remove);
  if (w->fd >= 0)
    close (w->fd);
  g_free (w);
}
