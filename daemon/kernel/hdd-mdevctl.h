/* Persistent mdev definitions in mdevctl's format, shared with mdevctl.
 *
 * One file per mdev, DIR/PARENT/UUID (DIR is /etc/mdevctl.d unless
 * configured otherwise), holding a JSON object:
 *
 *   {
 *     "mdev_type": "mtty-2",
 *     "start": "auto",
 *     "attrs": [
 *       {
 *         "name": "value"
 *       }
 *     ]
 *   }
 *
 * Files are parsed with json-glib and written byte for byte as mdevctl 1.2
 * writes them (serde_json's pretty printer: two spaces, "key": value, no
 * final newline), so that mdevctl and hostdevd read each other's files and
 * a definition written by either looks the same.  Keys mdevctl does not
 * know are kept and written back after the known ones.  Files are replaced
 * atomically (hdd_file_replace). */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct {
  char *name;    /* path below the mdev's sysfs directory */
  char *value;
} HddMdevAttr;

typedef struct {
  char       *uuid;       /* canonical */
  char       *parent;
  char       *type;
  gboolean    autostart;  /* "start": "auto" */
  GPtrArray  *attrs;      /* of HddMdevAttr, in the order they are written */
  JsonObject *extra;      /* other keys, in file order; NULL when none */
} HddMdevConfig;

HddMdevConfig *hdd_mdev_config_new  (const char *uuid,
                                     const char *parent,
                                     const char *type,
                                     gboolean    autostart);
HddMdevConfig *hdd_mdev_config_copy (const HddMdevConfig *config);
void           hdd_mdev_config_free (HddMdevConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HddMdevConfig, hdd_mdev_config_free)

void hdd_mdev_config_add_attr (HddMdevConfig *config,
                               const char    *name,
                               const char    *value);

/* The attributes as a(ss) (floating). */
GVariant *hdd_mdevctl_attrs_to_variant (GPtrArray *attrs);

/* Parses the contents of the definition of @uuid on @parent (both already
 * checked).  Fails with HDD_ERROR_INVALID_ARGUMENT and a sentence naming
 * what is wrong: not JSON, not an object, "mdev_type" or "start" missing or
 * invalid, "attrs" not a list of objects of strings, an attribute name that
 * is not a safe path. */
HddMdevConfig *hdd_mdevctl_parse (const char *uuid,
                                  const char *parent,
                                  const char *data,
                                  gssize      len,
                                  GError    **error);

/* The file contents, exactly as mdevctl 1.2 writes them. */
char *hdd_mdevctl_serialize (const HddMdevConfig *config);

/* DIR/PARENT/UUID */
char *hdd_mdevctl_path (const char *directory,
                        const char *parent,
                        const char *uuid);

/* Reads every definition below @directory, sorted by parent and UUID.
 * Files that cannot be read are skipped (and left alone), each with a
 * sentence added to @problems (of strings; may be NULL); temporaries left
 * behind by a crash of hdd_file_replace() are deleted. */
GPtrArray *hdd_mdevctl_load_all (const char *directory,
                                 GPtrArray  *problems);

/* Writes the definition (atomically) / deletes it. */
gboolean hdd_mdevctl_save   (const char          *directory,
                             const HddMdevConfig *config,
                             GError             **error);
gboolean hdd_mdevctl_delete (const char *directory,
                             const char *parent,
                             const char *uuid,
                             GError    **error);

G_END_DECLS
