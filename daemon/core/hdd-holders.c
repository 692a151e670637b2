#include "hdd-holders.h"

#include "hdd-sysfs.h"

#include <gio/gio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* What is kept of a /proc/PID/comm: the kernel's is at most 15 bytes, a
 * file under a test root or a future kernel may say anything. */
#define COMM_MAX_BYTES 64

typedef struct {
  const char *node;
  gboolean    is_chr;
  dev_t       rdev;
  dev_t       dev;
  ino_t       ino;
} Target;

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

/* Whether the fd @link points at a VFIO node: readlink() of /proc/PID/fd/N
 * only asks procfs, while stat() reaches the file's own file system, and a
 * hung NFS mount would hang it.  The node may be seen through a private
 * /dev (libvirt's QEMU) or a test root: only "/dev/vfio/" in it counts. */
static gboolean
link_is_vfio (const char *link)
{
  g_autofree char *target = g_file_read_link (link, NULL);

  return target && strstr (target, "/dev/vfio/") != NULL;
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
scan_process (const char *proc, const char *pid, const Target *targets, guint n_targets,
              GPtrArray *out)
{
  g_autofree char *fd_dir = g_strdup_printf ("%s/%s/fd", proc, pid);
  g_autoptr(GDir) dir = g_dir_open (fd_dir, 0, NULL);
  g_autofree gboolean *seen = g_new0 (gboolean, n_targets);
  const char *fd;

  if (dir == NULL)
    return;  /* exited, or a kernel thread */

  while ((fd = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *link = g_build_filename (fd_dir, fd, NULL);
      struct stat st;

      if (!link_is_vfio (link) || stat (link, &st) < 0)
        continue;
      for (guint i = 0; i < n_targets; i++)
        {
          HddHolder *h;

          if (seen[i] || !target_matches (&targets[i], &st))
            continue;
          seen[i] = TRUE;
          h = g_new0 (HddHolder, 1);
          h->pid = (guint32) strtoul (pid, NULL, 10);
          h->command = read_comm (proc, pid);
          h->node = g_strdup (targets[i].node);
          g_ptr_array_add (out, h);
        }
    }
}

GPtrArray *
hdd_holders_scan (const char * const *nodes)
{
  g_autoptr(GPtrArray) holders = g_ptr_array_new_with_free_func ((GDestroyNotify) hdd_holder_free);
  g_autoptr(GArray) targets = g_array_new (FALSE, TRUE, sizeof (Target));
  g_autofree char *proc_path = hdd_sysfs_path ("/proc");
  g_autoptr(GDir) proc = NULL;
  const char *name;

  for (guint i = 0; nodes && nodes[i]; i++)
    {
      g_autofree char *path = hdd_sysfs_path ("%s", nodes[i]);
      struct stat st;
      Target t = { .node = nodes[i] };

      if (stat (path, &st) < 0)
        continue;
      t.is_chr = S_ISCHR (st.st_mode);
      t.rdev = st.st_rdev;
      t.dev = st.st_dev;
      t.ino = st.st_ino;
      g_array_append_val (targets, t);
    }
  if (targets->len == 0)
    return g_steal_pointer (&holders);

  /* A test root may bring a /proc of its own; else the real one. */
  if (!g_file_test (proc_path, G_FILE_TEST_IS_DIR))
    {
      g_free (proc_path);
      proc_path = g_strdup ("/proc");
    }
  proc = g_dir_open (proc_path, 0, NULL);
  if (proc == NULL)
    return g_steal_pointer (&holders);

  while ((name = g_dir_read_name (proc)) != NULL)
    {
      if (!g_ascii_isdigit (name[0]))
        continue;
      scan_process (proc_path, name, (const Target *) (void *) targets->data, targets->len,
                    holders);
    }
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

void
hdd_holders_add_nodes (GPtrArray  *nodes,
                       const char *node_a,
                       const char *node_b)
{
  if (node_a && *node_a)
    g_ptr_array_add (nodes, g_strdup (node_a));
  if (node_b && *node_b)
    g_ptr_array_add (nodes, g_strdup (node_b));
}

GPtrArray *
hdd_holders_of (GPtrArray  *holders,
                const char *node_a,
                const char *node_b)
{
  GPtrArray *mine = g_ptr_array_new ();

  for (guint i = 0; holders && i < holders->len; i++)
    {
      HddHolder *h = g_ptr_array_index (holders, i);

      if ((node_a && *node_a && g_str_equal (h->node, node_a)) ||
          (node_b && *node_b && g_str_equal (h->node, node_b)))
        g_ptr_array_add (mine, h);
    }
  return mine;
}

GVariant *
hdd_holders_to_variant_if_changed (GVariant  *current,
                                   GPtrArray *holders)
{
  g_autoptr(GVariant) value = g_variant_ref_sink (hdd_holders_to_variant (holders));

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
