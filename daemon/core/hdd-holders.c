#include "hdd-holders.h"

#include "hdd-sysfs.h"

#include <stdlib.h>
#include <sys/stat.h>

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

static char *
read_comm (const char *pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/comm", pid);
  char *comm = NULL;

  if (!g_file_get_contents (path, &comm, NULL, NULL))
    return g_strdup ("?");
  g_strchomp (comm);
  return comm;
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
scan_process (const char *pid, const Target *targets, guint n_targets, GPtrArray *out)
{
  g_autofree char *fd_dir = g_strdup_printf ("/proc/%s/fd", pid);
  g_autoptr(GDir) dir = g_dir_open (fd_dir, 0, NULL);
  g_autofree gboolean *seen = g_new0 (gboolean, n_targets);
  const char *fd;

  if (dir == NULL)
    return;  /* exited, or a kernel thread */

  while ((fd = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *link = g_build_filename (fd_dir, fd, NULL);
      struct stat st;

      if (stat (link, &st) < 0)
        continue;
      for (guint i = 0; i < n_targets; i++)
        {
          HddHolder *h;

          if (seen[i] || !target_matches (&targets[i], &st))
            continue;
          seen[i] = TRUE;
          h = g_new0 (HddHolder, 1);
          h->pid = (guint32) strtoul (pid, NULL, 10);
          h->command = read_comm (pid);
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

  proc = g_dir_open ("/proc", 0, NULL);
  if (proc == NULL)
    return g_steal_pointer (&holders);

  while ((name = g_dir_read_name (proc)) != NULL)
    {
      if (!g_ascii_isdigit (name[0]))
        continue;
      scan_process (name, (const Target *) (void *) targets->data, targets->len, holders);
    }
  g_ptr_array_sort (holders, compare_holders);
  return g_steal_pointer (&holders);
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
