#include "fake-sysfs.h"

#include "hdd-sysfs.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

struct FakeSysfs
{
  char       *root;
  GPtrArray  *devices;   /* addresses */
  GPtrArray  *drivers;
  GHashTable *fail_probe;   /* "DRIVER", or "ADDRESS DRIVER" for one device */
  GPtrArray  *mdev_types;   /* "PARENT/TYPE" */
  GHashTable *mdev_attrs;   /* attributes an mdev has, by name */
  GThread    *thread;
  gint        stop;
  GMutex      lock;
};

static char *
path (FakeSysfs *fs, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static char *
path (FakeSysfs *fs, const char *fmt, ...)
{
  g_autofree char *rel = NULL;
  va_list args;

  va_start (args, fmt);
  rel = g_strdup_vprintf (fmt, args);
  va_end (args);
  return g_strconcat (fs->root, rel, NULL);
}

static void
write_file (const char *p, const char *contents)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (p, contents, -1, &error);
  g_assert_no_error (error);
}

FakeSysfs *
fake_sysfs_new (void)
{
  FakeSysfs *fs = g_new0 (FakeSysfs, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *p = NULL;

  fs->root = g_dir_make_tmp ("hostdevd-test-XXXXXX", &error);
  g_assert_no_error (error);
  fs->devices = g_ptr_array_new_with_free_func (g_free);
  fs->drivers = g_ptr_array_new_with_free_func (g_free);
  fs->fail_probe = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  fs->mdev_types = g_ptr_array_new_with_free_func (g_free);
  fs->mdev_attrs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_mutex_init (&fs->lock);

  p = path (fs, "/sys/bus/pci/drivers");
  g_assert_cmpint (g_mkdir_with_parents (p, 0755), ==, 0);
  g_free (p);
  p = path (fs, "/sys/kernel/iommu_groups");
  g_assert_cmpint (g_mkdir_with_parents (p, 0755), ==, 0);
  g_free (p);
  p = path (fs, "/dev/vfio");
  g_assert_cmpint (g_mkdir_with_parents (p, 0755), ==, 0);
  g_free (p);
  p = path (fs, "/sys/bus/pci/drivers_probe");
  write_file (p, "");

  hdd_sysfs_set_root (fs->root);
  return fs;
}

void
fake_sysfs_rm_rf (const char *p)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (g_file_test (p, G_FILE_TEST_IS_SYMLINK) || !g_file_test (p, G_FILE_TEST_IS_DIR))
    {
      g_unlink (p);
      return;
    }
  dir = g_dir_open (p, 0, NULL);
  while (dir && (name = g_dir_read_name (dir)))
    {
      g_autofree char *child = g_build_filename (p, name, NULL);
      fake_sysfs_rm_rf (child);
    }
  g_rmdir (p);
}

void
fake_sysfs_free (FakeSysfs *fs)
{
  fake_kernel_stop (fs);
  hdd_sysfs_set_root (NULL);
  fake_sysfs_rm_rf (fs->root);
  g_free (fs->root);
  g_ptr_array_unref (fs->devices);
  g_ptr_array_unref (fs->drivers);
  g_hash_table_unref (fs->fail_probe);
  g_ptr_array_unref (fs->mdev_types);
  g_hash_table_unref (fs->mdev_attrs);
  g_mutex_clear (&fs->lock);
  g_free (fs);
}

const char *
fake_sysfs_root (FakeSysfs *fs)
{
  return fs->root;
}

void
fake_sysfs_add_driver (FakeSysfs *fs, const char *driver)
{
  g_autofree char *dir = path (fs, "/sys/bus/pci/drivers/%s", driver);
  const char *files[] = { "bind", "unbind", NULL };

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  for (guint i = 0; files[i]; i++)
    {
      g_autofree char *f = g_build_filename (dir, files[i], NULL);
      write_file (f, "");
    }
  g_ptr_array_add (fs->drivers, g_strdup (driver));
}

void
fake_sysfs_add_device (FakeSysfs *fs, const char *address, int group, const char *driver)
{
  g_autofree char *dir = path (fs, "/sys/bus/pci/devices/%s", address);
  struct { const char *name, *value; } attrs[] = {
    { "vendor", "0x8086\n" }, { "device", "0x10d3\n" },
    { "subsystem_vendor", "0x8086\n" }, { "subsystem_device", "0x0000\n" },
    { "class", "0x020000\n" }, { "driver_override", "(null)\n" },
  };

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (attrs); i++)
    {
      g_autofree char *f = g_build_filename (dir, attrs[i].name, NULL);
      write_file (f, attrs[i].value);
    }
  if (group >= 0)
    {
      g_autofree char *gdir = path (fs, "/sys/kernel/iommu_groups/%d/devices", group);
      g_autofree char *glink = g_build_filename (dir, "iommu_group", NULL);
      g_autofree char *gtarget = path (fs, "/sys/kernel/iommu_groups/%d", group);
      g_autofree char *mlink = g_build_filename (gdir, address, NULL);

      g_assert_cmpint (g_mkdir_with_parents (gdir, 0755), ==, 0);
      g_assert_cmpint (symlink (gtarget, glink), ==, 0);
      g_assert_cmpint (symlink (dir, mlink), ==, 0);
    }
  g_ptr_array_add (fs->devices, g_strdup (address));
  if (driver)
    fake_sysfs_set_driver (fs, address, driver);
}

/* The group's /dev/vfio node of a device @driver is about to bind. */
static void
sync_vfio_nodes (FakeSysfs *fs, const char *address, const char *driver)
{
  g_autofree char *glink = path (fs, "/sys/bus/pci/devices/%s/iommu_group", address);
  g_autofree char *target = g_file_read_link (glink, NULL);
  g_autofree char *group = target ? g_path_get_basename (target) : NULL;
  g_autofree char *node = group ? path (fs, "/dev/vfio/%s", group) : NULL;

  if (node && g_strcmp0 (driver, "vfio-pci") == 0)
    write_file (node, "");
}

void
fake_sysfs_set_driver (FakeSysfs *fs, const char *address, const char *driver)
{
  g_autofree char *link = path (fs, "/sys/bus/pci/devices/%s/driver", address);

  g_unlink (link);
  /* As vfio-pci's probe does: the node is there before the driver link,
   * which is what a binder waiting for the link sees first. */
  sync_vfio_nodes (fs, address, driver);
  if (driver)
    {
      g_autofree char *target = path (fs, "/sys/bus/pci/drivers/%s", driver);
      g_assert_cmpint (symlink (target, link), ==, 0);
    }
}

char *
fake_sysfs_get_driver (FakeSysfs *fs, const char *address)
{
  g_autofree char *link = path (fs, "/sys/bus/pci/devices/%s/driver", address);
  g_autofree char *target = g_file_read_link (link, NULL);

  return target ? g_path_get_basename (target) : NULL;
}

/* Returns and clears what was written to @p. */
static char *
take (const char *p)
{
  char *contents = NULL;

  if (!g_file_get_contents (p, &contents, NULL, NULL) || contents[0] == '\0')
    {
      g_free (contents);
      return NULL;
    }
  write_file (p, "");
  return g_strstrip (contents);
}

static char *
read_override (FakeSysfs *fs, const char *address)
{
  g_autofree char *p = path (fs, "/sys/bus/pci/devices/%s/driver_override", address);
  char *v = NULL;

  g_file_get_contents (p, &v, NULL, NULL);
  g_strstrip (v);
  if (*v == '\0' || g_str_equal (v, "(null)"))
    g_clear_pointer (&v, g_free);
  return v;
}

/* The kernel binds a probing device to its driver_override, or else to the
 * "native" driver, here e1000e. */
static void
probe (FakeSysfs *fs, const char *address, const char *only)
{
  g_autofree char *override = read_override (fs, address);
  const char *driver = override ? override : "e1000e";
  g_autofree char *one = NULL;

  if (only && g_strcmp0 (only, driver) != 0 && override)
    return;  /* driver_override forbids binding another driver */
  if (only)
    driver = only;
  one = g_strdup_printf ("%s %s", address, driver);
  if (g_hash_table_contains (fs->fail_probe, driver) || g_hash_table_contains (fs->fail_probe, one))
    return;
  fake_sysfs_set_driver (fs, address, driver);
}

/* The mdev core: a UUID written to a type's create makes the mdev, with
 * the attributes its vendor driver has; 1 written to its remove removes it. */
static void
mdev_core (FakeSysfs *fs)
{
  for (guint i = 0; i < fs->mdev_types->len; i++)
    {
      const char *pt = g_ptr_array_index (fs->mdev_types, i);
      g_autofree char *create = path (fs, "/sys/class/mdev_bus/%s/create", pt);
      g_autofree char *uuid = take (create);
      g_autofree char *dir = uuid ? path (fs, "/sys/bus/mdev/devices/%s", uuid) : NULL;
      g_autofree char *tmp = uuid ? path (fs, "/sys/bus/mdev/devices/.%s", uuid) : NULL;
      GHashTableIter iter;
      gpointer name;

      if (uuid == NULL)
        continue;
      /* Made aside and renamed into place: the kernel's mdev has its
       * attributes when it appears. */
      g_assert_cmpint (g_mkdir_with_parents (tmp, 0755), ==, 0);
      g_hash_table_iter_init (&iter, fs->mdev_attrs);
      while (g_hash_table_iter_next (&iter, &name, NULL))
        {
          g_autofree char *attr = g_build_filename (tmp, name, NULL);
          write_file (attr, "");
        }
      {
        g_autofree char *remove = g_build_filename (tmp, "remove", NULL);
        g_autofree char *type_link = g_build_filename (tmp, "mdev_type", NULL);
        g_autofree char *type_dir = path (fs, "/sys/class/mdev_bus/%s", pt);

        write_file (remove, "");
        /* As the kernel's: a link out of the mdev's directory. */
        g_assert_cmpint (symlink (type_dir, type_link), ==, 0);
      }
      g_assert_cmpint (g_rename (tmp, dir), ==, 0);
    }
  {
    g_autofree char *devices = path (fs, "/sys/bus/mdev/devices");
    g_autoptr(GDir) d = g_dir_open (devices, 0, NULL);
    const char *uuid;

    while (d && (uuid = g_dir_read_name (d)) != NULL)
      {
        g_autofree char *dir = g_build_filename (devices, uuid, NULL);
        g_autofree char *remove = g_build_filename (dir, "remove", NULL);
        g_autofree char *what = take (remove);

        if (what && g_str_equal (what, "1"))
          fake_sysfs_rm_rf (dir);
      }
  }
}

static gpointer
kernel_thread (gpointer data)
{
  FakeSysfs *fs = data;

  while (!g_atomic_int_get (&fs->stop))
    {
      g_autofree char *probe_path = path (fs, "/sys/bus/pci/drivers_probe");
      g_autofree char *probed = NULL;

      g_mutex_lock (&fs->lock);
      /* The kernel handles each write before the writer goes on; a poller
       * cannot, so it takes a probe request before looking at unbinds: an
       * unbind written before the probe is then handled first. */
      probed = take (probe_path);
      for (guint i = 0; i < fs->drivers->len; i++)
        {
          const char *drv = g_ptr_array_index (fs->drivers, i);
          g_autofree char *unbind = path (fs, "/sys/bus/pci/drivers/%s/unbind", drv);
          g_autofree char *bind = path (fs, "/sys/bus/pci/drivers/%s/bind", drv);
          g_autofree char *u = take (unbind);
          g_autofree char *b = take (bind);
          if (u)
            {
              g_autofree char *cur = fake_sysfs_get_driver (fs, u);
              if (g_strcmp0 (cur, drv) == 0)
                fake_sysfs_set_driver (fs, u, NULL);
            }
          if (b)
            probe (fs, b, drv);
        }
      if (probed)
        {
          g_autofree char *cur = fake_sysfs_get_driver (fs, probed);
          if (cur == NULL)
            probe (fs, probed, NULL);
        }
      mdev_core (fs);
      g_mutex_unlock (&fs->lock);
      g_usleep (2000);
    }
  return NULL;
}

void
fake_kernel_start (FakeSysfs *fs)
{
  g_atomic_int_set (&fs->stop, 0);
  fs->thread = g_thread_new ("fake-kernel", kernel_thread, fs);
}

void
fake_kernel_stop (FakeSysfs *fs)
{
  if (fs->thread == NULL)
    return;
  g_atomic_int_set (&fs->stop, 1);
  g_thread_join (fs->thread);
  fs->thread = NULL;
}

void
fake_kernel_fail_probe (FakeSysfs *fs, const char *driver)
{
  g_mutex_lock (&fs->lock);
  g_hash_table_add (fs->fail_probe, g_strdup (driver));
  g_mutex_unlock (&fs->lock);
}

void
fake_kernel_fail_probe_of (FakeSysfs *fs, const char *address, const char *driver)
{
  g_mutex_lock (&fs->lock);
  g_hash_table_add (fs->fail_probe, g_strdup_printf ("%s %s", address, driver));
  g_mutex_unlock (&fs->lock);
}

void
fake_sysfs_add_mdev_type (FakeSysfs *fs, const char *parent, const char *type,
                          const char * const *attributes)
{
  g_autofree char *dir = path (fs, "/sys/class/mdev_bus/%s/mdev_supported_types/%s", parent, type);
  g_autofree char *create = g_build_filename (dir, "create", NULL);
  g_autofree char *available = g_build_filename (dir, "available_instances", NULL);
  g_autofree char *api = g_build_filename (dir, "device_api", NULL);
  g_autofree char *devices = path (fs, "/sys/bus/mdev/devices");

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (devices, 0755), ==, 0);
  write_file (create, "");
  write_file (available, "4\n");
  write_file (api, "vfio-pci\n");
  g_mutex_lock (&fs->lock);
  g_ptr_array_add (fs->mdev_types, g_strdup_printf ("%s/mdev_supported_types/%s", parent, type));
  for (guint i = 0; attributes && attributes[i]; i++)
    g_hash_table_add (fs->mdev_attrs, g_strdup (attributes[i]));
  g_mutex_unlock (&fs->lock);
}
