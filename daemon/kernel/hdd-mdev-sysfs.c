#include "hdd-mdev-sysfs.h"

#include "hdd-mdev-names.h"
#include "hdd-sysfs.h"

#define MDEV_DEVICES "/sys/bus/mdev/devices"
#define MDEV_BUS     "/sys/class/mdev_bus"

char *
hdd_mdev_sysfs_device_dir (const char *uuid)
{
  return g_strdup_printf (MDEV_DEVICES "/%s", uuid);
}

gboolean
hdd_mdev_sysfs_is_active (const char *uuid)
{
  g_autofree char *path = hdd_sysfs_path (MDEV_DEVICES "/%s", uuid);

  return hdd_sysfs_exists (path);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* Entries of the directory @rel (below the root) accepted by @keep. */
static GPtrArray *
list_dir (const char *rel, gboolean (*keep) (const char *name))
{
  g_autofree char *path = hdd_sysfs_path ("%s", rel);
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)) != NULL)
    if (keep (name))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_strings);
  return names;
}

static gboolean
is_name (const char *name)
{
  return hdd_mdev_check_name ("name", name, NULL);
}

GPtrArray *
hdd_mdev_sysfs_list_active (void)
{
  return list_dir (MDEV_DEVICES, hdd_uuid_is_canonical);
}

gboolean
hdd_mdev_sysfs_read_parent_and_type (const char *uuid,
                                     char      **parent,
                                     char      **type)
{
  g_autofree char *link = hdd_sysfs_path (MDEV_DEVICES "/%s", uuid);
  g_autofree char *type_link = hdd_sysfs_path (MDEV_DEVICES "/%s/mdev_type", uuid);
  g_autofree char *target = g_file_read_link (link, NULL);
  g_autofree char *device = NULL;

  /* ../../../devices/.../PARENT/UUID: the mdev is a child of its parent. */
  if (target == NULL)
    return FALSE;
  device = g_path_get_dirname (target);
  *parent = g_path_get_basename (device);
  *type = hdd_sysfs_link_basename (type_link);
  if (*type == NULL)
    *type = g_strdup ("");
  return TRUE;
}

GPtrArray *
hdd_mdev_sysfs_list_parents (void)
{
  return list_dir (MDEV_BUS, is_name);
}

GPtrArray *
hdd_mdev_sysfs_list_types (const char *parent)
{
  g_autofree char *rel = g_strdup_printf (MDEV_BUS "/%s/mdev_supported_types", parent);

  return list_dir (rel, is_name);
}

gboolean
hdd_mdev_sysfs_parent_exists (const char *parent)
{
  g_autofree char *path = hdd_sysfs_path (MDEV_BUS "/%s/mdev_supported_types", parent);

  return hdd_sysfs_exists (path);
}

gboolean
hdd_mdev_sysfs_is_parent (const char *parent)
{
  g_autofree char *path = hdd_sysfs_path (MDEV_BUS "/%s", parent);

  return hdd_sysfs_exists (path);
}

gboolean
hdd_mdev_sysfs_type_exists (const char *parent,
                            const char *type)
{
  g_autofree char *path = hdd_sysfs_path (MDEV_BUS "/%s/mdev_supported_types/%s/create",
                                          parent, type);

  return hdd_sysfs_exists (path);
}

char *
hdd_mdev_sysfs_type_read (const char *parent,
                          const char *type,
                          const char *attr)
{
  g_autofree char *path = hdd_sysfs_path (MDEV_BUS "/%s/mdev_supported_types/%s/%s",
                                          parent, type, attr);
  char *value = NULL;

  if (!hdd_sysfs_read (path, &value, NULL))
    return NULL;
  return value;
}

gboolean
hdd_mdev_sysfs_type_read_available (const char *parent,
                                    const char *type,
                                    guint64    *available)
{
  g_autofree char *path = hdd_sysfs_path (MDEV_BUS "/%s/mdev_supported_types/%s/available_instances",
                                          parent, type);

  return hdd_sysfs_read_uint (path, available, NULL);
}
