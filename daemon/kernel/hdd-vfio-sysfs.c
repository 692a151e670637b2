#include "hdd-vfio-sysfs.h"

#include "hdd-error.h"
#include "hdd-sysfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

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

gboolean
hdd_vfio_sysfs_can_revoke (const char *state_dir)
{
  g_autofree char *path = NULL;

  if (state_dir == NULL)
    return FALSE;
  path = g_build_filename (state_dir, "revoke", NULL);
  return hdd_sysfs_exists (path);
}

/* A listing's first entries, from one small getdents64(): glibc's readdir()
 * reads 32 KiB of a directory to return its first entry, a thousand names
 * of a large host's /sys/class/vfio-dev, for each job's end and uevent. */
#define REVOKE_LOOKS_BYTES 2048

gboolean
hdd_vfio_sysfs_kernel_can_revoke (void)
{
  g_autofree char *class = hdd_sysfs_path ("/sys/class/vfio-dev");
  char buf[REVOKE_LOOKS_BYTES] __attribute__ ((aligned (8)));
  guint looked = 0;
  long n;
  int fd = open (class, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    return FALSE;
  n = syscall (SYS_getdents64, fd, buf, sizeof buf);
  close (fd);
  for (long off = 0; off < n && looked < HDD_VFIO_SYSFS_REVOKE_LOOKS;)
    {
      const struct dirent64 *d = (const struct dirent64 *) (void *) (buf + off);
      g_autofree char *state = NULL;

      off += d->d_reclen;
      if (d->d_reclen == 0)
        break;
      if (g_str_equal (d->d_name, ".") || g_str_equal (d->d_name, ".."))
        continue;
      looked++;
      state = g_build_filename (class, d->d_name, NULL);
      if (hdd_vfio_sysfs_can_revoke (state))
        return TRUE;
    }
  return FALSE;
}

gboolean
hdd_vfio_sysfs_may_revoke (GError **error)
{
  struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { { 0 } };

  if (syscall (SYS_capget, &header, data) == 0 &&
      (data[CAP_TO_INDEX (CAP_SYS_ADMIN)].effective & CAP_TO_MASK (CAP_SYS_ADMIN)))
    return TRUE;
  g_set_error_literal (error, HDD_ERROR, HDD_ERROR_NOT_SUPPORTED,
                       "The policy revoke needs CAP_SYS_ADMIN, which hostdevd does not have "
                       "(its unit's CapabilityBoundingSet; see hostdevd's operations guide)");
  return FALSE;
}

gboolean
hdd_vfio_sysfs_release_pending (const char *state_dir)
{
  g_autofree char *path = NULL;
  guint64 pending = 0;

  if (state_dir == NULL)
    return FALSE;
  path = g_build_filename (state_dir, "release_pending", NULL);
  return hdd_sysfs_read_uint (path, &pending, NULL) && pending == 1;
}

HddVfioRevoke
hdd_vfio_sysfs_revoke (const char *state_dir,
                       GError    **error)
{
  g_autoptr(GError) local = NULL;

  if (hdd_sysfs_write_beneath (state_dir, "revoke", "1", &local))
    return HDD_VFIO_REVOKE_DONE;
  if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_BUSY))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return HDD_VFIO_REVOKE_NOT_WAITING;
    }
  if (!hdd_sysfs_exists (state_dir))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local),
                                  "The device's vfio-dev is gone: ");
      return HDD_VFIO_REVOKE_GONE;
    }
  if (!hdd_vfio_sysfs_can_revoke (state_dir))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local),
                                  "The kernel has no revoke attribute for the device: ");
      return HDD_VFIO_REVOKE_UNSUPPORTED;
    }
  g_propagate_error (error, g_steal_pointer (&local));
  return HDD_VFIO_REVOKE_FAILED;
}
