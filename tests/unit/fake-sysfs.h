/* A throw-away sysfs tree for unit tests, under $HOSTDEVD_ROOT.
 *
 * The tree has the shape the kernel gives /sys/bus/pci: device directories
 * with vendor/device/class, driver and iommu_group links, driver
 * directories, /sys/kernel/iommu_groups/N/devices links and /dev/vfio/N.
 * FakeKernel plays the kernel's part for driver_override, unbind, bind and
 * drivers_probe: it polls what the code under test wrote and moves the
 * driver links the way the kernel would. */
#pragma once

#include <glib.h>

typedef struct FakeSysfs FakeSysfs;

FakeSysfs  *fake_sysfs_new (void);
void        fake_sysfs_free (FakeSysfs *fs);
/* Removes @path and all below it, without following symlinks. */
void        fake_sysfs_rm_rf (const char *path);
const char *fake_sysfs_root (FakeSysfs *fs);

void fake_sysfs_add_driver (FakeSysfs *fs, const char *driver);
/* group < 0: no IOMMU group.  driver NULL: unbound. */
void fake_sysfs_add_device (FakeSysfs *fs, const char *address, int group,
                            const char *driver);
/* Binds or unbinds (driver NULL) as the kernel would. */
void fake_sysfs_set_driver (FakeSysfs *fs, const char *address, const char *driver);
char *fake_sysfs_get_driver (FakeSysfs *fs, const char *address);

/* Starts/stops the thread that plays the kernel. */
void fake_kernel_start (FakeSysfs *fs);
void fake_kernel_stop (FakeSysfs *fs);
/* Drivers the fake kernel refuses to bind anything to (a probe failure). */
void fake_kernel_fail_probe (FakeSysfs *fs, const char *driver);
/* The same for one device only. */
void fake_kernel_fail_probe_of (FakeSysfs *fs, const char *address, const char *driver);

/* An mdev parent offering @type, whose mdevs have @attributes (NULL-
 * terminated; writing any other attribute fails as a vendor driver's
 * refusal would).  The fake kernel plays the mdev core: create, remove. */
void fake_sysfs_add_mdev_type (FakeSysfs *fs, const char *parent, const char *type,
                               const char * const *attributes);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FakeSysfs, fake_sysfs_free)
