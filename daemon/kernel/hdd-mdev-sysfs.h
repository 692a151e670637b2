/* What sysfs says about mdev parents, types and mdevs.  Every name passed in
 * was checked (hdd-mdev-names.h), so it is safe in a path.  Nothing here
 * reads an attribute that takes a device lock: the main loop may call it
 * while a remove blocks in the kernel. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* "/sys/bus/mdev/devices/UUID", without the root prefix. */
char *hdd_mdev_sysfs_device_dir (const char *uuid);

/* Whether the mdev exists in the kernel. */
gboolean hdd_mdev_sysfs_is_active (const char *uuid);

/* Canonical UUIDs of the mdevs in the kernel, sorted. */
GPtrArray *hdd_mdev_sysfs_list_active (void);

/* The parent and type of a running mdev; FALSE when it is not running. */
gboolean hdd_mdev_sysfs_read_parent_and_type (const char *uuid,
                                              char      **parent,
                                              char      **type);

/* Names of the mdev parents (/sys/class/mdev_bus), sorted. */
GPtrArray *hdd_mdev_sysfs_list_parents (void);

/* The types @parent offers (mdev_supported_types), sorted; empty when it
 * is no mdev parent, or not yet. */
GPtrArray *hdd_mdev_sysfs_list_types (const char *parent);

gboolean hdd_mdev_sysfs_parent_exists (const char *parent);
/* Whether @parent is registered with mdev (in /sys/class/mdev_bus), its
 * types listed yet or not. */
gboolean hdd_mdev_sysfs_is_parent (const char *parent);
gboolean hdd_mdev_sysfs_type_exists   (const char *parent,
                                 const char *type);

/* Attribute @attr of a type ("name", "description", "device_api"), NULL
 * when the vendor driver does not provide it. */
char *hdd_mdev_sysfs_type_read (const char *parent,
                                const char *type,
                                const char *attr);

/* available_instances of a type; FALSE when it cannot be read. */
gboolean hdd_mdev_sysfs_type_read_available (const char *parent,
                                             const char *type,
                                             guint64    *available);

G_END_DECLS
