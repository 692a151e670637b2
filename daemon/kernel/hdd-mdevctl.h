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
 * atomically (hdd_file_replace).
 *
 * Anyone with root may write into the directory: a file is read only up to
 * HDD_MDEVCTL_MAX_SIZE bytes and refused when it is larger or nests deeper
 * than HDD_MDEVCTL_MAX_DEPTH (checked before json-glib parses it, see
 * hdd-json.h).  A refused file is reported, ignored and left as it is. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The largest definition file read or written: mdevctl's are a few hundred
 * bytes; 64 KiB leave room for a dozen attributes of the longest name and
 * value (hdd-mdev-names.h). */
#define HDD_MDEVCTL_MAX_SIZE (64 * 1024)

/* The deepest nesting of arrays and objects in a definition, the outer
 * object counting as 1: mdevctl's own limit (serde_json's recursion limit
 * of 128 refuses a 128th level), so that mdevctl and hostdevd refuse the
 * same files. */
#define HDD_MDEVCTL_MAX_DEPTH 127

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
/* Whether @a and @b (either may be NULL) say the same: what a definition
 * file that did not change reads as. */
gboolean       hdd_mdev_config_equal (const HddMdevConfig *a,
                                      const HddMdevConfig *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HddMdevConfig, hdd_mdev_config_free)

void hdd_mdev_config_add_attr (HddMdevConfig *config,
                               const char    *name,
                               const char    *value);

/* The attributes as a(ss) (floating). */
GVariant *hdd_mdevctl_attrs_to_variant (GPtrArray *attrs);

/* Parses the contents of the definition of @uuid on @parent (both already
 * checked).  Fails with HDD_ERROR_INVALID_ARGUMENT and a sentence naming
 * what is wrong: larger than HDD_MDEVCTL_MAX_SIZE, nested deeper than
 * HDD_MDEVCTL_MAX_DEPTH, a NUL in a string, not JSON, not an object,
 * "mdev_type" or "start" missing or invalid, "attrs" not as mdevctl 1.2
 * reads it (missing, null, or a list of objects of exactly one member whose
 * value is a string), an attribute name that is not a safe path
 * (hdd_mdev_check_attribute). */
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

/* A temporary of hdd_file_replace() this old is a crash's leftover; a
 * younger one is a write under way, another writer's maybe. */
#define HDD_MDEVCTL_TEMPORARY_AGE_S 60

/* Reads every definition below @directory, sorted by parent and UUID.
 * Files that cannot be read or are refused are skipped (and left alone),
 * each with a sentence added to @problems (of strings; may be NULL);
 * temporaries left behind by a crash of hdd_file_replace() (older than
 * HDD_MDEVCTL_TEMPORARY_AGE_S) are deleted, younger ones left alone.
 * mdevctl's scripts.d is no parent (hdd_mdev_check_name). */
GPtrArray *hdd_mdevctl_load_all (const char *directory,
                                 GPtrArray  *problems);

/* Writes the definition (atomically) / deletes it.  A definition whose
 * file would be larger than HDD_MDEVCTL_MAX_SIZE is not written
 * (HDD_ERROR_INVALID_ARGUMENT): it would be refused when read back. */
gboolean hdd_mdevctl_save   (const char          *directory,
                             const HddMdevConfig *config,
                             GError             **error);
gboolean hdd_mdevctl_delete (const char *directory,
                             const char *parent,
                             const char *uuid,
                             GError    **error);

G_END_DECLS
