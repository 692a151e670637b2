#include "hdd-mdev-names.h"

#include "hdd-error.h"
#include "hdd-names.h"

#include <string.h>

#define NAME_MAX_LEN 255
#define ATTRIBUTE_MAX_LEN 1024

/* The links the kernel puts in every mdev's sysfs directory: an attribute
 * path through one of them leaves the mdev (mdev_type/create makes another
 * mdev, driver/unbind unbinds it).  Refused up front; the write itself is
 * confined too (hdd_sysfs_write_beneath), for the links no list names. */
static const char * const mdev_links[] = { "driver", "iommu_group", "mdev_type", "subsystem" };

/* Shown in errors: escaped and cut, however hostile the input. */
static char *
shown (const char *text)
{
  g_autofree char *cut = g_strndup (text, 64);
  g_autofree char *escaped = g_strescape (cut, NULL);

  return strlen (text) > 64 ? g_strconcat (escaped, "…", NULL) : g_steal_pointer (&escaped);
}

char *
hdd_uuid_canonicalize (const char *text,
                       GError    **error)
{
  gsize len;

  if (text == NULL || *text == '\0')
    {
      g_set_error_literal (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                           "Invalid UUID: it is empty");
      return NULL;
    }
  len = strnlen (text, HDD_UUID_LEN + 1);
  for (gsize i = 0; i < len; i++)
    {
      gboolean dash = i == 8 || i == 13 || i == 18 || i == 23;

      if (dash ? text[i] != '-' : !g_ascii_isxdigit (text[i]))
        {
          g_autofree char *s = shown (text);
          g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                       "Invalid UUID “%s” (expected 8-4-4-4-12 hex digits, "
                       "e.g. 83b8f4f2-509f-382f-3c1e-e6bfe0fa1001)", s);
          return NULL;
        }
    }
  if (len != HDD_UUID_LEN)
    {
      g_autofree char *s = shown (text);
      g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                   "Invalid UUID “%s”: it must be 36 characters long", s);
      return NULL;
    }
  return g_ascii_strdown (text, -1);
}

gboolean
hdd_uuid_is_canonical (const char *text)
{
  g_autofree char *canonical = hdd_uuid_canonicalize (text, NULL);

  return canonical && g_str_equal (canonical, text);
}

static gboolean
is_name_char (char c)
{
  return g_ascii_isalnum (c) || strchr ("_.:+-", c) != NULL;
}

/* One name (or attribute path component) of @len bytes at @name. */
static gboolean
valid_name (const char *name, gsize len)
{
  if (len == 0 || len > NAME_MAX_LEN)
    return FALSE;
  if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!is_name_char (name[i]))
      return FALSE;
  return TRUE;
}

gboolean
hdd_mdev_check_name (const char *what,
                     const char *name,
                     GError    **error)
{
  g_autofree char *s = NULL;

  /* strnlen() stops one past the longest name: too long is invalid. */
  if (name && valid_name (name, strnlen (name, NAME_MAX_LEN + 1)))
    {
      if (g_strcmp0 (what, "parent") != 0 || !g_str_equal (name, HDD_MDEVCTL_RESERVED_DIR))
        return TRUE;
      g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                   "Invalid mdev parent “%s”: mdevctl keeps its scripts there", name);
      return FALSE;
    }
  if (name == NULL || *name == '\0')
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                   "Invalid mdev %s: it is empty", what);
      return FALSE;
    }
  s = shown (name);
  g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
               "Invalid mdev %s “%s”: a name is 1 to %d letters, digits and “_.:+-”, "
               "and not “.” or “..”", what, s, NAME_MAX_LEN);
  return FALSE;
}

static gboolean
is_mdev_link (const char *name, gsize len)
{
  for (guint i = 0; i < G_N_ELEMENTS (mdev_links); i++)
    if (strlen (mdev_links[i]) == len && strncmp (name, mdev_links[i], len) == 0)
      return TRUE;
  return FALSE;
}

gboolean
hdd_mdev_check_attribute (const char *name,
                          const char *value,
                          GError    **error)
{
  g_autofree char *s = NULL;
  gsize len = name ? strnlen (name, ATTRIBUTE_MAX_LEN + 1) : 0;
  gboolean ok = len > 0 && len <= ATTRIBUTE_MAX_LEN;

  for (const char *p = name; ok && p; )
    {
      const char *slash = strchr (p, '/');
      gsize n = slash ? (gsize) (slash - p) : strlen (p);

      ok = valid_name (p, n);
      p = slash ? slash + 1 : NULL;
    }
  if (!ok)
    {
      s = shown (name ? name : "");
      g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                   "Invalid mdev attribute “%s”: an attribute is a path below the "
                   "mdev's sysfs directory, names of letters, digits and “_.:+-” "
                   "separated by “/”, without “.” or “..”", s);
      return FALSE;
    }
  if (strchr (name, '/') && is_mdev_link (name, (gsize) (strchr (name, '/') - name)))
    {
      s = shown (name);
      g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                   "Invalid mdev attribute “%s”: it goes through the link “%.*s” out of "
                   "the mdev's sysfs directory", s, (int) (strchr (name, '/') - name), name);
      return FALSE;
    }
  if (value && strlen (value) > HDD_MDEV_ATTR_VALUE_MAX)
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                   "The value of mdev attribute “%s” is too long (at most %d bytes)",
                   name, HDD_MDEV_ATTR_VALUE_MAX);
      return FALSE;
    }
  return TRUE;
}

char *
hdd_mdev_object_path (const char *uuid)
{
  g_autofree char *label = g_strdup (uuid);

  g_strdelimit (label, "-", '_');
  return g_strconcat (HDD_DBUS_MDEV_PATH_PREFIX, label, NULL);
}

char *
hdd_mdev_uuid_from_object_path (const char *path)
{
  g_autofree char *uuid = NULL;

  if (path == NULL || !g_str_has_prefix (path, HDD_DBUS_MDEV_PATH_PREFIX))
    return NULL;
  uuid = g_strdup (path + strlen (HDD_DBUS_MDEV_PATH_PREFIX));
  g_strdelimit (uuid, "_", '-');
  return hdd_uuid_is_canonical (uuid) ? g_steal_pointer (&uuid) : NULL;
}

static void
append_escaped (GString *s, const char *label)
{
  if (*label == '\0')
    g_string_append_c (s, '_');
  for (const char *p = label; *p; p++)
    {
      if (g_ascii_isalnum (*p))
        g_string_append_c (s, *p);
      else
        g_string_append_printf (s, "_%02x", (guchar) *p);
    }
}

char *
hdd_mdev_type_object_path (const char *parent,
                           const char *type)
{
  GString *s = g_string_new (HDD_DBUS_MDEV_TYPE_PATH_PREFIX);

  append_escaped (s, parent);
  g_string_append_c (s, '/');
  append_escaped (s, type);
  return g_string_free (s, FALSE);
}
