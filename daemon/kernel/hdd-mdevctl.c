#include "hdd-mdevctl.h"

#include "hdd-error.h"
#include "hdd-file.h"
#include "hdd-json.h"
#include "hdd-mdev-names.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_TYPE  "mdev_type"
#define KEY_START "start"
#define KEY_ATTRS "attrs"

/* ---- The config ---- */

static void
attr_free (gpointer data)
{
  HddMdevAttr *a = data;

  g_free (a->name);
  g_free (a->value);
  g_free (a);
}

HddMdevConfig *
hdd_mdev_config_new (const char *uuid,
                     const char *parent,
                     const char *type,
                     gboolean    autostart)
{
  HddMdevConfig *c = g_new0 (HddMdevConfig, 1);

  c->uuid = g_strdup (uuid);
  c->parent = g_strdup (parent);
  c->type = g_strdup (type);
  c->autostart = autostart;
  c->attrs = g_ptr_array_new_with_free_func (attr_free);
  return c;
}

void
hdd_mdev_config_add_attr (HddMdevConfig *config,
                          const char    *name,
                          const char    *value)
{
  HddMdevAttr *a = g_new0 (HddMdevAttr, 1);

  a->name = g_strdup (name);
  a->value = g_strdup (value);
  g_ptr_array_add (config->attrs, a);
}

HddMdevConfig *
hdd_mdev_config_copy (const HddMdevConfig *config)
{
  HddMdevConfig *c = hdd_mdev_config_new (config->uuid, config->parent, config->type,
                                          config->autostart);

  for (guint i = 0; i < config->attrs->len; i++)
    {
      HddMdevAttr *a = g_ptr_array_index (config->attrs, i);
      hdd_mdev_config_add_attr (c, a->name, a->value);
    }
  if (config->extra)
    {
      g_autoptr(GList) members = json_object_get_members (config->extra);

      c->extra = json_object_new ();
      for (GList *l = members; l; l = l->next)
        json_object_set_member (c->extra, l->data,
                                json_node_copy (json_object_get_member (config->extra, l->data)));
    }
  return c;
}

void
hdd_mdev_config_free (HddMdevConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->uuid);
  g_free (config->parent);
  g_free (config->type);
  g_ptr_array_unref (config->attrs);
  g_clear_pointer (&config->extra, json_object_unref);
  g_free (config);
}

gboolean
hdd_mdev_config_equal (const HddMdevConfig *a,
                       const HddMdevConfig *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  if (g_strcmp0 (a->uuid, b->uuid) || g_strcmp0 (a->parent, b->parent) ||
      g_strcmp0 (a->type, b->type) || !a->autostart != !b->autostart ||
      a->attrs->len != b->attrs->len || (a->extra == NULL) != (b->extra == NULL))
    return FALSE;
  for (guint i = 0; i < a->attrs->len; i++)
    {
      const HddMdevAttr *x = g_ptr_array_index (a->attrs, i);
      const HddMdevAttr *y = g_ptr_array_index (b->attrs, i);

      if (g_strcmp0 (x->name, y->name) || g_strcmp0 (x->value, y->value))
        return FALSE;
    }
  if (a->extra)
    {
      /* The other keys in file order: the bytes that would be written. */
      g_autofree char *x = hdd_mdevctl_serialize (a);
      g_autofree char *y = hdd_mdevctl_serialize (b);

      return g_str_equal (x, y);
    }
  return TRUE;
}

GVariant *
hdd_mdevctl_attrs_to_variant (GPtrArray *attrs)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(ss)"));
  for (guint i = 0; attrs && i < attrs->len; i++)
    {
      HddMdevAttr *a = g_ptr_array_index (attrs, i);
      g_variant_builder_add (&b, "(ss)", a->name, a->value);
    }
  return g_variant_builder_end (&b);
}

/* ---- Parsing ---- */

/* Sets @error and returns NULL (for a config) or FALSE (for a check). */
static gpointer
invalid (GError **error, const char *parent, const char *uuid, const char *format, ...)
  G_GNUC_PRINTF (4, 5);

static gpointer
invalid (GError **error, const char *parent, const char *uuid, const char *format, ...)
{
  g_autofree char *why = NULL;
  va_list args;

  va_start (args, format);
  why = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
               "The definition of mdev %s on %s is invalid: %s", uuid, parent, why);
  return NULL;
}

static const char *
string_member (JsonObject *object, const char *key)
{
  JsonNode *node = json_object_get_member (object, key);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* "attrs": [ { "name": "value" }, ... ], in order, as mdevctl 1.2 reads
 * it (MDev::add_attributes): missing or null is no attribute; anything but
 * a list is refused, and so is an element that is not an object or whose
 * object has not exactly one member ({} as well as {"a": .., "b": ..}).
 * A value that is not a string makes mdevctl panic; here it is refused.
 * An object with a key twice is one member, the last value: serde_json and
 * json-glib agree on that. */
static gboolean
parse_attrs (HddMdevConfig *c, JsonNode *attrs, GError **error)
{
  JsonArray *array;

  if (attrs == NULL || JSON_NODE_HOLDS_NULL (attrs))
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (attrs))
    return GPOINTER_TO_INT (invalid (error, c->parent, c->uuid, "“" KEY_ATTRS "” is not a list"));

  array = json_node_get_array (attrs);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *item = json_array_get_element (array, i);
      g_autoptr(GList) members = NULL;
      g_autoptr(GError) local = NULL;
      JsonObject *object;
      const char *name, *value;

      if (!JSON_NODE_HOLDS_OBJECT (item))
        return GPOINTER_TO_INT (invalid (error, c->parent, c->uuid,
                        "attribute %u is not an object {\"name\": \"value\"}", i + 1));
      object = json_node_get_object (item);
      if (json_object_get_size (object) != 1)
        return GPOINTER_TO_INT (invalid (error, c->parent, c->uuid,
                        "attribute %u has %u members, not one {\"name\": \"value\"} "
                        "as mdevctl requires", i + 1, json_object_get_size (object)));
      members = json_object_get_members (object);
      name = members->data;
      value = string_member (object, name);
      if (!hdd_mdev_check_attribute (name, value, &local))
        return GPOINTER_TO_INT (invalid (error, c->parent, c->uuid, "%s", local->message));
      if (value == NULL)
        return GPOINTER_TO_INT (invalid (error, c->parent, c->uuid,
                        "the value of attribute “%s” is not a string", name));
      hdd_mdev_config_add_attr (c, name, value);
    }
  return TRUE;
}

/* Whether a number in @node reads as infinity or NaN (1e999): json-glib
 * takes it, serde_json (mdevctl) does not, and it cannot be written back.
 * The depth was bounded before parsing (hdd_json_check_bounds). */
static gboolean
has_non_finite (JsonNode *node)
{
  if (JSON_NODE_HOLDS_VALUE (node))
    return json_node_get_value_type (node) == G_TYPE_DOUBLE &&
           !isfinite (json_node_get_double (node));
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        if (has_non_finite (json_array_get_element (array, i)))
          return TRUE;
    }
  else if (JSON_NODE_HOLDS_OBJECT (node))
    {
      g_autoptr(GList) values = json_object_get_values (json_node_get_object (node));

      for (GList *l = values; l; l = l->next)
        if (has_non_finite (l->data))
          return TRUE;
    }
  return FALSE;
}

HddMdevConfig *
hdd_mdevctl_parse (const char *uuid,
                   const char *parent,
                   const char *data,
                   gssize      len,
                   GError    **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  g_autoptr(HddMdevConfig) c = NULL;
  g_autoptr(GList) members = NULL;
  JsonNode *root;
  JsonObject *object;
  const char *type, *start;

  /* Before json-glib: its parser recurses without a limit, and a NUL in a
   * string would silently cut it short. */
  if (!hdd_json_check_bounds (data, len, HDD_MDEVCTL_MAX_SIZE, HDD_MDEVCTL_MAX_DEPTH, &local))
    return invalid (error, parent, uuid, "%s", local->message);
  if (!json_parser_load_from_data (parser, data, len, &local))
    return invalid (error, parent, uuid, "it is not JSON (%s)", local->message);
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return invalid (error, parent, uuid, "it is not a JSON object");
  if (has_non_finite (root))
    return invalid (error, parent, uuid, "a number is out of range (mdevctl refuses it too; "
                    "written back it would not be JSON)");
  object = json_node_get_object (root);

  type = string_member (object, KEY_TYPE);
  if (type == NULL)
    return invalid (error, parent, uuid, "“" KEY_TYPE "” is missing or not a string");
  if (!hdd_mdev_check_name ("type", type, &local))
    return invalid (error, parent, uuid, "%s", local->message);

  start = string_member (object, KEY_START);
  if (start == NULL || !(g_str_equal (start, "auto") || g_str_equal (start, "manual")))
    return invalid (error, parent, uuid, "“" KEY_START "” must be “auto” or “manual”");

  c = hdd_mdev_config_new (uuid, parent, type, g_str_equal (start, "auto"));
  if (!parse_attrs (c, json_object_get_member (object, KEY_ATTRS), error))
    return NULL;

  members = json_object_get_members (object);
  for (GList *l = members; l; l = l->next)
    {
      const char *key = l->data;

      if (g_str_equal (key, KEY_TYPE) || g_str_equal (key, KEY_START) ||
          g_str_equal (key, KEY_ATTRS))
        continue;
      if (c->extra == NULL)
        c->extra = json_object_new ();
      json_object_set_member (c->extra, key, json_node_copy (json_object_get_member (object, key)));
    }
  return g_steal_pointer (&c);
}

/* ---- Writing, as serde_json's PrettyFormatter does ---- */

static void
indent (GString *out, guint depth)
{
  for (guint i = 0; i < depth; i++)
    g_string_append (out, "  ");
}

/* serde_json escapes '"', '\\' and the control characters (short forms
 * where JSON has them, else \u00XX in lower case) and nothing else: not
 * '/', not DEL, not non-ASCII. */
static void
write_string (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (const guchar *p = (const guchar *) s; *p; p++)
    {
      switch (*p)
        {
        case '"': g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\b': g_string_append (out, "\\b"); break;
        case '\f': g_string_append (out, "\\f"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          if (*p < 0x20)
            g_string_append_printf (out, "\\u%04x", *p);
          else
            g_string_append_c (out, (char) *p);
        }
    }
  g_string_append_c (out, '"');
}

/* The shortest form that reads back as the same double, with a ".0" on
 * whole numbers as serde_json writes them. */
static void
write_double (GString *out, double d)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  const char *formats[] = { "%.15g", "%.16g", "%.17g" };

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_ascii_formatd (buf, sizeof buf, formats[i], d);
      if (g_ascii_strtod (buf, NULL) == d)
        break;
    }
  g_string_append (out, buf);
  if (strpbrk (buf, ".eEn") == NULL)
    g_string_append (out, ".0");
}

static void write_node (GString *out, JsonNode *node, guint depth);

static void
write_object (GString *out, JsonObject *object, guint depth)
{
  g_autoptr(GList) members = json_object_get_members (object);

  if (members == NULL)
    {
      g_string_append (out, "{}");
      return;
    }
  g_string_append (out, "{\n");
  for (GList *l = members; l; l = l->next)
    {
      indent (out, depth + 1);
      write_string (out, l->data);
      g_string_append (out, ": ");
      write_node (out, json_object_get_member (object, l->data), depth + 1);
      g_string_append (out, l->next ? ",\n" : "\n");
    }
  indent (out, depth);
  g_string_append_c (out, '}');
}

static void
write_array (GString *out, JsonArray *array, guint depth)
{
  guint n = json_array_get_length (array);

  if (n == 0)
    {
      g_string_append (out, "[]");
      return;
    }
  g_string_append (out, "[\n");
  for (guint i = 0; i < n; i++)
    {
      indent (out, depth + 1);
      write_node (out, json_array_get_element (array, i), depth + 1);
      g_string_append (out, i + 1 < n ? ",\n" : "\n");
    }
  indent (out, depth);
  g_string_append_c (out, ']');
}

static void
write_node (GString *out, JsonNode *node, guint depth)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      write_object (out, json_node_get_object (node), depth);
      break;
    case JSON_NODE_ARRAY:
      write_array (out, json_node_get_array (node), depth);
      break;
    case JSON_NODE_NULL:
      g_string_append (out, "null");
      break;
    case JSON_NODE_VALUE:
      if (json_node_get_value_type (node) == G_TYPE_STRING)
        write_string (out, json_node_get_string (node));
      else if (json_node_get_value_type (node) == G_TYPE_BOOLEAN)
        g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
      else if (json_node_get_value_type (node) == G_TYPE_DOUBLE)
        write_double (out, json_node_get_double (node));
      else
        g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
      break;
    }
}

/* The object in mdevctl's key order: mdev_type, start, attrs; then the
 * keys it does not know. */
static JsonNode *
config_to_node (const HddMdevConfig *config)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, KEY_TYPE);
  json_builder_add_string_value (b, config->type);
  json_builder_set_member_name (b, KEY_START);
  json_builder_add_string_value (b, config->autostart ? "auto" : "manual");
  json_builder_set_member_name (b, KEY_ATTRS);
  json_builder_begin_array (b);
  for (guint i = 0; i < config->attrs->len; i++)
    {
      HddMdevAttr *a = g_ptr_array_index (config->attrs, i);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, a->name);
      json_builder_add_string_value (b, a->value);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  if (config->extra)
    {
      g_autoptr(GList) members = json_object_get_members (config->extra);

      for (GList *l = members; l; l = l->next)
        {
          json_builder_set_member_name (b, l->data);
          json_builder_add_value (b, json_node_copy (json_object_get_member (config->extra,
                                                                             l->data)));
        }
    }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

char *
hdd_mdevctl_serialize (const HddMdevConfig *config)
{
  g_autoptr(JsonNode) root = config_to_node (config);
  GString *out = g_string_new (NULL);

  write_node (out, root, 0);
  return g_string_free (out, FALSE);
}

/* ---- The directory ---- */

char *
hdd_mdevctl_path (const char *directory,
                  const char *parent,
                  const char *uuid)
{
  return g_build_filename (directory, parent, uuid, NULL);
}

/* At most HDD_MDEVCTL_MAX_SIZE + 1 bytes of a regular file: enough to
 * know it is too large.  O_NONBLOCK: a FIFO put in place of a definition
 * must not hang the daemon; it is no regular file and refused. */
static char *
read_bounded (const char *path, gsize *len, GError **error)
{
  g_autofree char *data = NULL;
  struct stat st;
  gsize n = 0;
  int fd = open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

  if (fd < 0)
    {
      int err = errno;

      g_set_error (error, HDD_ERROR, HDD_ERROR_FAILED, "Could not read %s: %s", path,
                   g_strerror (err));
      return NULL;
    }
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_FAILED, "Could not read %s: it is not a "
                   "regular file", path);
      close (fd);
      return NULL;
    }
  data = g_malloc (HDD_MDEVCTL_MAX_SIZE + 2);
  while (n <= HDD_MDEVCTL_MAX_SIZE)
    {
      ssize_t r = read (fd, data + n, HDD_MDEVCTL_MAX_SIZE + 1 - n);

      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          int err = errno;

          g_set_error (error, HDD_ERROR, HDD_ERROR_FAILED, "Could not read %s: %s", path,
                       g_strerror (err));
          close (fd);
          return NULL;
        }
      if (r == 0)
        break;
      n += (gsize) r;
    }
  close (fd);
  data[n] = '\0';
  *len = n;
  return g_steal_pointer (&data);
}

static HddMdevConfig *
load_file (const char *directory, const char *parent, const char *uuid, GError **error)
{
  g_autofree char *path = hdd_mdevctl_path (directory, parent, uuid);
  g_autofree char *data = NULL;
  gsize len = 0;

  data = read_bounded (path, &len, error);
  if (data == NULL)
    return NULL;
  /* More than the bound: hdd_mdevctl_parse() says so. */
  return hdd_mdevctl_parse (uuid, parent, data, (gssize) len, error);
}

/* A regular file last changed HDD_MDEVCTL_TEMPORARY_AGE_S ago or more. */
static gboolean
is_old_regular_file (const char *path)
{
  struct stat st;

  return lstat (path, &st) == 0 && S_ISREG (st.st_mode) &&
         st.st_mtime + HDD_MDEVCTL_TEMPORARY_AGE_S <= g_get_real_time () / G_USEC_PER_SEC;
}

static void
load_parent (const char *directory, const char *parent, GPtrArray *out, GPtrArray *problems)
{
  g_autofree char *dir_path = g_build_filename (directory, parent, NULL);
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir_path, name, NULL);
      g_autoptr(GError) error = NULL;
      HddMdevConfig *c;

      if (!hdd_uuid_is_canonical (name))
        {
          /* UUID.XXXXXX: the temporary of a write a crash interrupted,
           * or of a write under way (another writer's, or ours in a job's
           * thread) when it is younger than that. */
          g_autofree char *base = g_strndup (name, HDD_UUID_LEN);

          if (hdd_uuid_is_canonical (base) && hdd_file_is_stale_temporary (name, base) &&
              is_old_regular_file (path))
            hdd_file_delete (path, NULL);
          continue;
        }
      if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
        continue;
      c = load_file (directory, parent, name, &error);
      if (c == NULL)
        {
          if (problems)
            g_ptr_array_add (problems, g_strdup_printf ("Ignoring %s: %s", path, error->message));
          continue;
        }
      g_ptr_array_add (out, c);
    }
}

static int
compare_configs (gconstpointer a, gconstpointer b)
{
  const HddMdevConfig *x = *(HddMdevConfig * const *) a;
  const HddMdevConfig *y = *(HddMdevConfig * const *) b;
  int c = g_strcmp0 (x->parent, y->parent);

  return c ? c : g_strcmp0 (x->uuid, y->uuid);
}

GPtrArray *
hdd_mdevctl_load_all (const char *directory,
                      GPtrArray  *problems)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) hdd_mdev_config_free);
  g_autoptr(GDir) dir = g_dir_open (directory, 0, NULL);
  const char *name;

  /* scripts.d (mdevctl's callouts) is a directory too, and no parent:
   * hdd_mdev_check_name() refuses the name. */
  while (dir && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (directory, name, NULL);

      if (hdd_mdev_check_name ("parent", name, NULL) &&
          g_file_test (path, G_FILE_TEST_IS_DIR))
        load_parent (directory, name, out, problems);
    }
  g_ptr_array_sort (out, compare_configs);
  return out;
}

gboolean
hdd_mdevctl_save (const char          *directory,
                  const HddMdevConfig *config,
                  GError             **error)
{
  g_autofree char *path = hdd_mdevctl_path (directory, config->parent, config->uuid);
  g_autofree char *data = hdd_mdevctl_serialize (config);
  g_autoptr(GError) local = NULL;
  gsize len = strlen (data);

  if (!hdd_mdev_check_name ("parent", config->parent, error))
    return FALSE;
  if (len > HDD_MDEVCTL_MAX_SIZE)
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                   "The definition of mdev %s would be %" G_GSIZE_FORMAT " bytes long, more "
                   "than the %d bytes of a definition file", config->uuid, len,
                   HDD_MDEVCTL_MAX_SIZE);
      return FALSE;
    }
  if (hdd_file_replace (path, data, len, 0644, &local))
    return TRUE;
  g_set_error (error, HDD_ERROR, HDD_ERROR_FAILED,
               "Could not write the definition of mdev %s: %s", config->uuid, local->message);
  return FALSE;
}

gboolean
hdd_mdevctl_delete (const char *directory,
                    const char *parent,
                    const char *uuid,
                    GError    **error)
{
  g_autofree char *path = hdd_mdevctl_path (directory, parent, uuid);
  g_autoptr(GError) local = NULL;

  if (hdd_file_delete (path, &local))
    return TRUE;
  g_set_error (error, HDD_ERROR, HDD_ERROR_FAILED,
               "Could not delete the definition of mdev %s: %s", uuid, local->message);
  return FALSE;
}
