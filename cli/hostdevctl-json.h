/* JSON for programs.  The shape is an interface: docs/hostdevctl.md
 * documents it, and a change that renames or retypes a key breaks
 * somebody's script. */
#pragma once

#include <json-glib/json-glib.h>

#include "hdd-dbus-generated.h"

G_BEGIN_DECLS

void hdc_json_add_device (JsonBuilder      *builder,
                          HddDbusPciDevice *device);
void hdc_json_add_job (JsonBuilder *builder,
                       HddDbusJob  *job);
void hdc_json_add_mdev (JsonBuilder *builder,
                        HddDbusMdev *mdev);
void hdc_json_add_mdev_type (JsonBuilder     *builder,
                             HddDbusMdevType *type);

/* Pretty-prints the root of @builder on stdout. */
void hdc_json_print (JsonBuilder *builder);

/* Prints {"@key": [OBJECT, ...]}, each object added by @add. */
typedef void (*HdcJsonAddFunc) (JsonBuilder *builder,
                                gpointer     object);
void hdc_json_print_list (const char     *key,
                          GPtrArray      *objects,
                          HdcJsonAddFunc  add);

G_END_DECLS
