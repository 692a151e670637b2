#include "hdd-vfio-sysfs.h"

#include "hdd-sysfs.h"

int
hdd_vfio_sysfs_read_iommu_group (const char *device_dir)
{
  g_autofree char *path = hdd_sysfs_path ("%s/iommu_group", device_dir);
  g_autofree char *name = hdd_sysfs_link_basename (path);
  guint64 group;

  if (name == NULL || !g_ascii_string_to_unsigned (name, 10, 0, G_MAXINT, &group, NULL))
    return -1;
  return (int) group;
}

char *
hdd_vfio_sysfs_read_device_name (const char *device_dir)
{
  g_autofree char *path = hdd_sysfs_path ("%s/vfio-dev", device_dir);
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir == NULL)
    return NULL;
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, "vfio"))
      return g_strdup (name);
  return NULL;
}

char *
hdd_vfio_sysfs_read_device_node (const char *device_dir)
{
  g_autofree char *name = hdd_vfio_sysfs_read_device_name (device_dir);

  return name ? g_strdup_printf ("/dev/vfio/devices/%s", name) : NULL;
}

char *
hdd_vfio_sysfs_group_node (int group)
{
  g_autofree char *node = NULL;
  g_autofree char *path = NULL;

  if (group < 0)
    return NULL;
  node = g_strdup_printf ("/dev/vfio/%d", group);
  path = hdd_sysfs_path ("%s", node);
  return hdd_sysfs_exists (path) ? g_steal_pointer (&node) : NULL;
}

GStrv
hdd_vfio_sysfs_nodes (const char *device_dir)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  int group = hdd_vfio_sysfs_read_iommu_group (device_dir);
  g_autofree char *cdev = hdd_vfio_sysfs_read_device_node (device_dir);

  if (group >= 0)
    {
      g_autofree char *node = g_strdup_printf ("/dev/vfio/%d", group);
      g_strv_builder_add (b, node);
    }
  if (cdev)
    g_strv_builder_add (b, cdev);
  return g_strv_builder_end (b);
}

char *
hdd_vfio_sysfs_release_state_dir (const char *device_dir)
{
  g_autofree char *name = hdd_vfio_sysfs_read_device_name (device_dir);

  return name ? hdd_sysfs_path ("/sys/class/vfio-dev/%s", name) : NULL;
}
