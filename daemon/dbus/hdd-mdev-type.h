/* One mdev type of one parent device, exported as org.hostdevd1.MdevType. */
#pragma once

#include "hdd-dbus-generated.h"

G_BEGIN_DECLS

#define HDD_TYPE_MDEV_TYPE (hdd_mdev_type_get_type ())
G_DECLARE_FINAL_TYPE (HddMdevType, hdd_mdev_type, HDD, MDEV_TYPE, HddDbusMdevTypeSkeleton)

/* @parent and @type_id must have passed hdd_mdev_check_name(). */
HddMdevType *hdd_mdev_type_new (const char *parent,
                                const char *type_id);

const char *hdd_mdev_type_get_object_path (HddMdevType *self);

/* Re-reads what the vendor driver says, available_instances above all. */
void hdd_mdev_type_refresh (HddMdevType *self);
/* Only available_instances, the one attribute an mdev made or removed
 * changes: one read, where a refresh reads four. */
void hdd_mdev_type_refresh_available (HddMdevType *self);

G_END_DECLS
