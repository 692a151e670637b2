/* The names of mdevs callers and definition files give: UUIDs, parent and
 * type names, attribute paths.  What is accepted must be safe in a path
 * (no "/" in a name, no "." or ".." component, no empty component) and
 * make valid D-Bus object paths that lead back to the same name. */
#include "fuzz-common.h"

#include "hdd-mdev-names.h"

#include <gio/gio.h>
#include <string.h>

FUZZ_DEFINE_INITIALIZE ()

static void
check_uuid (const char *text)
{
  g_autofree char *uuid = hdd_uuid_canonicalize (text, NULL);
  g_autofree char *path = NULL;
  g_autofree char *back = NULL;
  g_autofree char *from_text = hdd_mdev_uuid_from_object_path (text);

  if (from_text)
    FUZZ_CHECK (hdd_uuid_is_canonical (from_text), "“%s” from “%s”", from_text, text);
  if (uuid == NULL)
    {
      FUZZ_CHECK (!hdd_uuid_is_canonical (text), "canonical “%s” refused", text);
      return;
    }
  FUZZ_CHECK (strlen (uuid) == HDD_UUID_LEN && hdd_uuid_is_canonical (uuid),
              "“%s” gave “%s”", text, uuid);
  FUZZ_CHECK (g_ascii_strcasecmp (uuid, text) == 0, "“%s” is not “%s”", uuid, text);
  path = hdd_mdev_object_path (uuid);
  FUZZ_CHECK (g_variant_is_object_path (path), "“%s”", path);
  back = hdd_mdev_uuid_from_object_path (path);
  FUZZ_CHECK (g_strcmp0 (back, uuid) == 0, "“%s” back from “%s”", back, path);
}

static gboolean
safe_component (const char *s, gsize n)
{
  return n > 0 && !(n == 1 && s[0] == '.') && !(n == 2 && s[0] == '.' && s[1] == '.') &&
         memchr (s, '/', n) == NULL;
}

static void
check_names (const char *a, const char *b)
{
  g_autofree char *path = NULL;
  gboolean parent_ok = hdd_mdev_check_name ("parent", a, NULL);
  gboolean type_ok = hdd_mdev_check_name ("type", b, NULL);

  if (parent_ok)
    FUZZ_CHECK (safe_component (a, strlen (a)), "parent “%s” accepted", a);
  if (type_ok)
    FUZZ_CHECK (safe_component (b, strlen (b)), "type “%s” accepted", b);
  /* Object paths are made of any name the sysfs directory shows. */
  path = hdd_mdev_type_object_path (a, b);
  FUZZ_CHECK (g_variant_is_object_path (path), "“%s”", path);

  if (hdd_mdev_check_attribute (a, b, NULL))
    {
      const char *p = a;

      FUZZ_CHECK (strlen (b) <= HDD_MDEV_ATTR_VALUE_MAX, "value of %zu bytes", strlen (b));
      for (;;)
        {
          const char *slash = strchr (p, '/');
          gsize n = slash ? (gsize) (slash - p) : strlen (p);

          FUZZ_CHECK (safe_component (p, n), "attribute “%s” accepted", a);
          if (slash == NULL)
            break;
          p = slash + 1;
        }
    }
}

/* Input: the first line is one name, the rest another (the attribute's
 * value, the type of the parent). */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = fuzz_string (data, size);
  char *nl = strchr (text, '\n');

  check_uuid (text);
  if (nl)
    *nl = '\0';
  check_names (text, nl ? nl + 1 : "");
  return 0;
}
