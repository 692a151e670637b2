/* Values for people: addresses instead of object paths, holders, times,
 * property values, PCI class names. */
#include "hostdevctl-format.h"

#include <string.h>

#include "hdd-mdev-names.h"
#include "hdd-names.h"
#include "hdd-pci-address.h"

/* What a terminal acts on, or what makes text read in another order than
 * it is stored. */
static gboolean
is_unsafe (gunichar c)
{
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) ||
         (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||
         c == 0x200e || c == 0x200f || c == 0x061c;
}

char *
hdc_format_escape (const char *text)
{
  GString *out;
  const char *p;

  if (text == NULL)
    return NULL;
  out = g_string_sized_new (strlen (text));
  for (p = text; *p != '\0';)
    {
      gunichar c = g_utf8_get_char_validated (p, -1);

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          /* Not UTF-8: the byte, and on with the next one. */
          g_string_append_printf (out, "\\x%02x", (guchar) *p);
          p++;
          continue;
        }
      if (!is_unsafe (c))
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
      else if (c == '\t')
        g_string_append (out, "\\t");
      else if (c == '\n')
        g_string_append (out, "\\n");
      else if (c == '\r')
        g_string_append (out, "\\r");
      else if (c < 0x80)
        g_string_append_printf (out, "\\x%02x", c);
      else
        g_string_append_printf (out, "\\u%04x", c);
      p = g_utf8_next_char (p);
    }
  return g_string_free (out, FALSE);
}

char *
hdc_format_address_from_path (const char *path)
{
  g_auto(GStrv) parts = NULL;
  g_autofree char *address = NULL;
  char *canonical;

  if (path == NULL)
    return NULL;
  if (g_str_has_prefix (path, HDD_DBUS_MDEV_PATH_PREFIX))
    {
      char *uuid = hdd_mdev_uuid_from_object_path (path);
      return uuid ? uuid : g_strdup (path);
    }
  if (!g_str_has_prefix (path, HDD_DBUS_PCI_PATH_PREFIX))
    return g_strdup (path);

  /* /org/hostdevd1/pci/DDDD_BB_DD_F: D-Bus paths allow no ':' or '.' */
  parts = g_strsplit (path + strlen (HDD_DBUS_PCI_PATH_PREFIX), "_", -1);
  if (g_strv_length (parts) != 4)
    return g_strdup (path);
  address = g_strdup_printf ("%s:%s:%s.%s", parts[0], parts[1], parts[2], parts[3]);
  canonical = hdd_pci_address_canonicalize (address, NULL);
  return canonical ? canonical : g_strdup (path);
}

guint
hdc_format_job_id_from_path (const char *path)
{
  guint64 id;

  if (path == NULL ||
      !g_str_has_prefix (path, HDD_DBUS_JOB_PATH_PREFIX) ||
      !g_ascii_string_to_unsigned (path + strlen (HDD_DBUS_JOB_PATH_PREFIX), 10,
                                   1, G_MAXUINT32, &id, NULL))
    return 0;
  return (guint) id;
}

char *
hdc_format_holders (GVariant *holders,
                    gboolean  with_nodes)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_free);
  GVariantIter iter;
  guint32 pid;
  const char *command;
  const char *node;

  if (holders == NULL || !g_variant_is_of_type (holders, G_VARIANT_TYPE ("a(uss)")))
    return NULL;

  g_variant_iter_init (&iter, holders);
  while (g_variant_iter_next (&iter, "(u&s&s)", &pid, &command, &node))
    {
      char *item = with_nodes
        ? g_strdup_printf ("%s[%u] on %s", command, pid, node)
        : g_strdup_printf ("%s[%u]", command, pid);

      /* One process often holds both the group node and the device cdev. */
      if (g_ptr_array_find_with_equal_func (items, item, g_str_equal, NULL))
        g_free (item);
      else
        g_ptr_array_add (items, item);
    }
  if (items->len == 0)
    return NULL;
  g_ptr_array_add (items, NULL);
  return g_strjoinv (", ", (char **) items->pdata);
}

char *
hdc_format_time (gint64   usec,
                 gboolean date)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local (usec / G_USEC_PER_SEC);
  g_autofree char *text = NULL;

  if (dt == NULL)
    return g_strdup ("?");
  if (date)
    return g_date_time_format (dt, "%Y-%m-%d %H:%M:%S");
  text = g_date_time_format (dt, "%H:%M:%S");
  return g_strdup_printf ("%s.%03d", text, (int) ((usec / 1000) % 1000));
}

char *
hdc_format_ellipsize (const char *text,
                      guint       max)
{
  g_autofree char *cut = NULL;

  if (text == NULL)
    return NULL;
  if ((guint) g_utf8_strlen (text, -1) <= max || max < 2)
    return g_strdup (text);
  cut = g_utf8_substring (text, 0, max - 1);
  return g_strconcat (cut, "…", NULL);
}

static char *
format_paths (GVariant *paths)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_free);
  GVariantIter iter;
  const char *path;

  g_variant_iter_init (&iter, paths);
  while (g_variant_iter_next (&iter, "&o", &path))
    g_ptr_array_add (items, hdc_format_address_from_path (path));
  if (items->len == 0)
    return g_strdup ("-");
  g_ptr_array_add (items, NULL);
  return g_strjoinv (", ", (char **) items->pdata);
}

char *
hdc_format_property (const char *name,
                     GVariant   *value)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT16))
    return g_strdup_printf ("0x%04x", g_variant_get_uint16 (value));

  if (g_str_equal (name, "Class") && g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    return g_strdup_printf ("0x%06x", g_variant_get_uint32 (value));

  if (g_str_equal (name, "Progress") && g_variant_is_of_type (value, G_VARIANT_TYPE_DOUBLE))
    return g_strdup_printf ("%.0f%%", g_variant_get_double (value) * 100.0);

  if (g_str_equal (name, "IommuGroup") && g_variant_is_of_type (value, G_VARIANT_TYPE_INT32))
    return g_variant_get_int32 (value) < 0
      ? g_strdup ("-") : g_strdup_printf ("%d", g_variant_get_int32 (value));

  if ((g_str_has_suffix (name, "Time") || g_str_equal (name, "Deadline")) &&
      g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    return g_variant_get_uint64 (value) == 0
      ? g_strdup ("-") : hdc_format_time ((gint64) g_variant_get_uint64 (value), TRUE);

  if (g_variant_is_of_type (value, G_VARIANT_TYPE ("a(uss)")))
    {
      char *holders = hdc_format_holders (value, TRUE);
      return holders ? holders : g_strdup ("-");
    }

  if (g_variant_is_of_type (value, G_VARIANT_TYPE ("a(ts)")))
    {
      /* The whole history is long; what changed is the newest step. */
      gsize n = g_variant_n_children (value);
      const char *text;

      if (n == 0)
        return g_strdup ("-");
      g_variant_get_child (value, n - 1, "(t&s)", NULL, &text);
      return g_strdup_printf ("[%" G_GSIZE_FORMAT "] %s", n, text);
    }

  if (g_variant_is_of_type (value, G_VARIANT_TYPE_OBJECT_PATH_ARRAY))
    return format_paths (value);

  if (g_variant_is_of_type (value, G_VARIANT_TYPE_OBJECT_PATH))
    {
      const char *path = g_variant_get_string (value, NULL);
      guint id = hdc_format_job_id_from_path (path);

      if (g_str_equal (path, "/"))
        return g_strdup ("-");
      if (id != 0)
        return g_strdup_printf ("job %u", id);
      return hdc_format_address_from_path (path);
    }

  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    {
      const char *s = g_variant_get_string (value, NULL);
      return g_strdup (*s ? s : "-");
    }

  if (g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    return g_strdup (g_variant_get_boolean (value) ? "yes" : "no");

  return g_variant_print (value, FALSE);
}

const char *
hdc_format_class_name (guint32 klass)
{
  /* PCI base classes (PCI Code and ID Assignment Specification). */
  static const char * const names[] = {
    [0x00] = "Unclassified device",
    [0x01] = "Mass storage controller",
    [0x02] = "Network controller",
    [0x03] = "Display controller",
    [0x04] = "Multimedia controller",
    [0x05] = "Memory controller",
    [0x06] = "Bridge",
    [0x07] = "Communication controller",
    [0x08] = "Generic system peripheral",
    [0x09] = "Input device controller",
    [0x0a] = "Docking station",
    [0x0b] = "Processor",
    [0x0c] = "Serial bus controller",
    [0x0d] = "Wireless controller",
    [0x0e] = "Intelligent controller",
    [0x0f] = "Satellite communications controller",
    [0x10] = "Encryption controller",
    [0x11] = "Signal processing controller",
    [0x12] = "Processing accelerator",
    [0x13] = "Non-essential instrumentation",
  };
  guint base = (klass >> 16) & 0xff;

  if (base < G_N_ELEMENTS (names))
    return names[base];
  if (base == 0x40)
    return "Coprocessor";
  return "Unassigned class";
}
