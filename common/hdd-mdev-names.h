/* Names of mediated devices: UUIDs, parent and type names, attribute paths,
 * and the D-Bus object paths made of them.
 *
 * Every name a caller or a definition file gives goes through one of the
 * checks below before it is used in a path: they accept only the characters
 * the kernel uses for such names, so nothing can smuggle a '/' or ".." into
 * a sysfs or /etc path. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Characters of a UUID: 8-4-4-4-12 hex digits. */
#define HDD_UUID_LEN 36

/* mdevctl's directory for its callouts and notifiers, beside the parents'
 * directories in /etc/mdevctl.d: never a parent. */
#define HDD_MDEVCTL_RESERVED_DIR "scripts.d"

/* Longest attribute value written to sysfs: one page minus the NUL. */
#define HDD_MDEV_ATTR_VALUE_MAX 4095

/* Accepts the 8-4-4-4-12 hexadecimal form, upper or lower case, and returns
 * it in lower case as the kernel and mdevctl write it.  Fails with
 * HDD_ERROR_INVALID_ARGUMENT and a sentence saying what is wrong. */
char *hdd_uuid_canonicalize (const char *text,
                             GError    **error);

/* Whether @text is a UUID in canonical (lower-case) form. */
gboolean hdd_uuid_is_canonical (const char *text);

/* A parent ("mtty", "0000:00:02.0") or type ("mtty-1", "i915-GVTg_V5_4")
 * name: 1 to 255 letters, digits and "_.:+-", not "." or "..".  @what names
 * the argument in the error ("parent", "type"); a "parent" is also never
 * HDD_MDEVCTL_RESERVED_DIR. */
gboolean hdd_mdev_check_name (const char *what,
                              const char *name,
                              GError    **error);

/* An attribute path relative to the mdev's sysfs directory: names as above,
 * separated by single '/' (mdevctl writes such paths, and a vendor driver's
 * attribute group is a subdirectory: mtty's vendor/sample_mdev_dev).  A
 * path whose first name is one of the links the kernel puts in every
 * mdev's directory (driver, iommu_group, mdev_type, subsystem) is refused:
 * it leads out of the mdev.  Links elsewhere are refused when the
 * attribute is written (hdd_sysfs_write_beneath). */
gboolean hdd_mdev_check_attribute (const char *name,
                                   const char *value,
                                   GError    **error);

/* /org/hostdevd1/mdev/83b8f4f2_509f_... for a canonical UUID. */
char *hdd_mdev_object_path (const char *uuid);

/* The UUID of an mdev object path, NULL for any other path. */
char *hdd_mdev_uuid_from_object_path (const char *path);

/* /org/hostdevd1/mdev_type/PARENT/TYPE, each escaped: letters and digits
 * stay, every other byte becomes "_" and two hex digits. */
char *hdd_mdev_type_object_path (const char *parent,
                                 const char *type);

G_END_DECLS
