/* Formatting for people (values, tables) and for programs (JSON).
 *
 * The JSON shape is an interface: docs/hostdevctl.md documents it, and a
 * change here that renames or retypes a key breaks somebody's script. */
#include "hostdevctl-common.h"

#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "hdd-mdev-names.h"
#include "hdd-names.h"
#include "hdd-pci-address.h"

/* Names of the last column are never cut shorter than this, even on a
 * narrow terminal: a line that wraps beats a name nobody can read. */
#define MIN_LAST_COLUMN 20

gboolean
hdc_is_terminal (FILE *stream)
{
  return isatty (fileno (stream));
}

guint
hdc_terminal_width (void)
{
  struct winsize ws;

  if (!isatty (STDOUT_FILENO) || ioctl (STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0)
    return 0;
  return ws.ws_col;
}

char *
hdc_address_from_path (const char *path)
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
hdc_job_id_from_path (const char *path)
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
hdc_ellipsize (const char *text,
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
    g_ptr_array_add (items, hdc_address_from_path (path));
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
      guint id = hdc_job_id_from_path (path);

      if (g_str_equal (path, "/"))
        return g_strdup ("-");
      if (id != 0)
        return g_strdup_printf ("job %u", id);
      return hdc_address_from_path (path);
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
hdc_class_name (guint32 klass)
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

/* ---- Tables ---- */

struct _HdcTable
{
  guint      n_columns;
  GPtrArray *rows;   /* of GStrv; the first row holds the headers */
  gboolean  *right;  /* per column */
};

HdcTable *
hdc_table_new (const char *first_header,
               ...)
{
  HdcTable *table = g_new0 (HdcTable, 1);
  GPtrArray *headers = g_ptr_array_new ();
  va_list args;

  va_start (args, first_header);
  for (const char *h = first_header; h != NULL; h = va_arg (args, const char *))
    g_ptr_array_add (headers, g_strdup (h));
  va_end (args);

  table->n_columns = headers->len;
  table->right = g_new0 (gboolean, table->n_columns);
  table->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_ptr_array_add (headers, NULL);
  g_ptr_array_add (table->rows, g_ptr_array_free (headers, FALSE));
  return table;
}

void
hdc_table_free (HdcTable *table)
{
  if (table == NULL)
    return;
  g_ptr_array_unref (table->rows);
  g_free (table->right);
  g_free (table);
}

void
hdc_table_align_right (HdcTable *table,
                       guint     column)
{
  g_return_if_fail (column < table->n_columns);
  table->right[column] = TRUE;
}

void
hdc_table_add_row (HdcTable   *table,
                   const char *first_cell,
                   ...)
{
  char **row = g_new0 (char *, table->n_columns + 1);
  va_list args;

  /* The number of cells is known, so that NULL can stand for "none". */
  va_start (args, first_cell);
  for (guint i = 0; i < table->n_columns; i++)
    {
      const char *cell = i == 0 ? first_cell : va_arg (args, const char *);
      row[i] = g_strdup (cell != NULL && *cell != '\0' ? cell : "-");
    }
  va_end (args);
  g_ptr_array_add (table->rows, row);
}

static void
pad (FILE *out, guint n)
{
  for (guint i = 0; i < n; i++)
    fputc (' ', out);
}

void
hdc_table_print (HdcTable *table,
                 FILE     *out)
{
  g_autofree guint *widths = g_new0 (guint, table->n_columns);
  guint last = table->n_columns - 1;
  guint terminal = out == stdout ? hdc_terminal_width () : 0;
  guint used = 0;
  guint last_max = G_MAXUINT;

  for (guint r = 0; r < table->rows->len; r++)
    {
      char **row = g_ptr_array_index (table->rows, r);
      for (guint c = 0; c < table->n_columns; c++)
        widths[c] = MAX (widths[c], (guint) g_utf8_strlen (row[c], -1));
    }

  for (guint c = 0; c < last; c++)
    used += widths[c] + 2;
  if (terminal > 0)
    last_max = terminal > used + MIN_LAST_COLUMN ? terminal - used : MIN_LAST_COLUMN;

  for (guint r = 0; r < table->rows->len; r++)
    {
      char **row = g_ptr_array_index (table->rows, r);

      for (guint c = 0; c < table->n_columns; c++)
        {
          guint len = g_utf8_strlen (row[c], -1);

          if (c == last)
            {
              g_autofree char *cut = hdc_ellipsize (row[c], last_max);

              /* No trailing blanks after the last column. */
              if (table->right[c])
                pad (out, widths[c] - len);
              fputs (cut, out);
              break;
            }
          if (table->right[c])
            pad (out, widths[c] - len);
          fputs (row[c], out);
          if (!table->right[c])
            pad (out, widths[c] - len);
          fputs ("  ", out);
        }
      fputc ('\n', out);
    }
}

/* ---- JSON ---- */

static void
add_string (JsonBuilder *builder,
            const char  *key,
            const char  *value)
{
  json_builder_set_member_name (builder, key);
  if (value == NULL)
    json_builder_add_null_value (builder);
  else
    json_builder_add_string_value (builder, value);
}

/* The daemon says "none" with an empty string; JSON can say it with null. */
static void
add_string_or_null (JsonBuilder *builder,
                    const char  *key,
                    const char  *value)
{
  add_string (builder, key, value && *value ? value : NULL);
}

static void
add_hex (JsonBuilder *builder,
         const char  *key,
         int          digits,
         guint32      value)
{
  g_autofree char *text = g_strdup_printf ("0x%0*x", digits, value);

  add_string (builder, key, text);
}

static void
add_addresses (JsonBuilder        *builder,
               const char         *key,
               const char * const *paths)
{
  json_builder_set_member_name (builder, key);
  json_builder_begin_array (builder);
  for (guint i = 0; paths != NULL && paths[i] != NULL; i++)
    {
      g_autofree char *address = hdc_address_from_path (paths[i]);
      json_builder_add_string_value (builder, address);
    }
  json_builder_end_array (builder);
}

static void
add_holders (JsonBuilder *builder,
             GVariant    *holders)
{
  GVariantIter iter;
  guint32 pid;
  const char *command;
  const char *node;

  json_builder_set_member_name (builder, "holders");
  json_builder_begin_array (builder);
  if (holders != NULL && g_variant_is_of_type (holders, G_VARIANT_TYPE ("a(uss)")))
    {
      g_variant_iter_init (&iter, holders);
      while (g_variant_iter_next (&iter, "(u&s&s)", &pid, &command, &node))
        {
          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "pid");
          json_builder_add_int_value (builder, pid);
          add_string (builder, "command", command);
          add_string (builder, "node", node);
          json_builder_end_object (builder);
        }
    }
  json_builder_end_array (builder);
}

/* -1 means "none" or "unknown". */
static void
add_int_or_null (JsonBuilder *builder,
                 const char  *key,
                 gint64       value)
{
  json_builder_set_member_name (builder, key);
  if (value < 0)
    json_builder_add_null_value (builder);
  else
    json_builder_add_int_value (builder, value);
}

static void
add_active_job (JsonBuilder *builder,
                const char  *path)
{
  guint id = hdc_job_id_from_path (path);

  add_int_or_null (builder, "active_job", id ? (gint64) id : -1);
}

void
hdc_json_add_device (JsonBuilder      *builder,
                     HddDbusPciDevice *device)
{
  int group = hdd_dbus_pci_device_get_iommu_group (device);

  json_builder_begin_object (builder);
  add_string (builder, "address", hdd_dbus_pci_device_get_address (device));
  add_string (builder, "path", g_dbus_proxy_get_object_path (G_DBUS_PROXY (device)));
  add_hex (builder, "vendor_id", 4, hdd_dbus_pci_device_get_vendor_id (device));
  add_hex (builder, "device_id", 4, hdd_dbus_pci_device_get_device_id (device));
  add_hex (builder, "subsystem_vendor_id", 4, hdd_dbus_pci_device_get_subsystem_vendor_id (device));
  add_hex (builder, "subsystem_device_id", 4, hdd_dbus_pci_device_get_subsystem_device_id (device));
  add_hex (builder, "class", 6, hdd_dbus_pci_device_get_class (device));
  add_string_or_null (builder, "vendor_name", hdd_dbus_pci_device_get_vendor_name (device));
  add_string_or_null (builder, "device_name", hdd_dbus_pci_device_get_device_name (device));
  add_string_or_null (builder, "driver", hdd_dbus_pci_device_get_driver (device));
  add_string_or_null (builder, "original_driver", hdd_dbus_pci_device_get_original_driver (device));
  add_string_or_null (builder, "driver_override", hdd_dbus_pci_device_get_driver_override (device));

  add_int_or_null (builder, "iommu_group", group);
  add_addresses (builder, "group_members", hdd_dbus_pci_device_get_group_members (device));
  add_string_or_null (builder, "vfio_group_node", hdd_dbus_pci_device_get_vfio_group_node (device));
  add_string_or_null (builder, "vfio_device_node", hdd_dbus_pci_device_get_vfio_device_node (device));
  add_holders (builder, hdd_dbus_pci_device_get_holders (device));

  json_builder_set_member_name (builder, "persistent");
  json_builder_add_boolean_value (builder, hdd_dbus_pci_device_get_persistent (device));
  add_active_job (builder, hdd_dbus_pci_device_get_active_job (device));
  add_string_or_null (builder, "domain", hdd_dbus_pci_device_get_domain (device));
  json_builder_end_object (builder);
}

void
hdc_json_add_mdev (JsonBuilder *builder,
                   HddDbusMdev *mdev)
{
  GVariant *attributes = hdd_dbus_mdev_get_attributes (mdev);

  json_builder_begin_object (builder);
  add_string (builder, "uuid", hdd_dbus_mdev_get_uuid (mdev));
  add_string (builder, "path", g_dbus_proxy_get_object_path (G_DBUS_PROXY (mdev)));
  add_string_or_null (builder, "parent", hdd_dbus_mdev_get_parent (mdev));
  add_string_or_null (builder, "type", hdd_dbus_mdev_get_type_id (mdev));
  json_builder_set_member_name (builder, "active");
  json_builder_add_boolean_value (builder, hdd_dbus_mdev_get_active (mdev));
  json_builder_set_member_name (builder, "defined");
  json_builder_add_boolean_value (builder, hdd_dbus_mdev_get_defined (mdev));
  json_builder_set_member_name (builder, "autostart");
  json_builder_add_boolean_value (builder, hdd_dbus_mdev_get_autostart (mdev));

  /* In order, as they are written: a list, not an object. */
  json_builder_set_member_name (builder, "attributes");
  json_builder_begin_array (builder);
  if (attributes != NULL && g_variant_is_of_type (attributes, G_VARIANT_TYPE ("a(ss)")))
    {
      GVariantIter iter;
      const char *name, *value;

      g_variant_iter_init (&iter, attributes);
      while (g_variant_iter_next (&iter, "(&s&s)", &name, &value))
        {
          json_builder_begin_object (builder);
          add_string (builder, "name", name);
          add_string (builder, "value", value);
          json_builder_end_object (builder);
        }
    }
  json_builder_end_array (builder);

  add_int_or_null (builder, "iommu_group", hdd_dbus_mdev_get_iommu_group (mdev));
  add_string_or_null (builder, "vfio_group_node", hdd_dbus_mdev_get_vfio_group_node (mdev));
  add_string_or_null (builder, "vfio_device_node", hdd_dbus_mdev_get_vfio_device_node (mdev));
  add_holders (builder, hdd_dbus_mdev_get_holders (mdev));
  add_active_job (builder, hdd_dbus_mdev_get_active_job (mdev));
  add_string_or_null (builder, "domain", hdd_dbus_mdev_get_domain (mdev));
  json_builder_end_object (builder);
}

void
hdc_json_add_mdev_type (JsonBuilder     *builder,
                        HddDbusMdevType *type)
{
  json_builder_begin_object (builder);
  add_string (builder, "parent", hdd_dbus_mdev_type_get_parent (type));
  add_string (builder, "type", hdd_dbus_mdev_type_get_type_id (type));
  add_string (builder, "path", g_dbus_proxy_get_object_path (G_DBUS_PROXY (type)));
  add_string_or_null (builder, "name", hdd_dbus_mdev_type_get_name (type));
  add_string_or_null (builder, "description", hdd_dbus_mdev_type_get_description (type));
  add_string_or_null (builder, "device_api", hdd_dbus_mdev_type_get_device_api (type));
  json_builder_set_member_name (builder, "available_instances");
  json_builder_add_int_value (builder, hdd_dbus_mdev_type_get_available_instances (type));
  json_builder_end_object (builder);
}

void
hdc_json_add_job (JsonBuilder *builder,
                  HddDbusJob  *job)
{
  GVariant *steps = hdd_dbus_job_get_steps (job);
  guint64 end_time = hdd_dbus_job_get_end_time (job);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_int_value (builder, hdd_dbus_job_get_id (job));
  add_string (builder, "path", g_dbus_proxy_get_object_path (G_DBUS_PROXY (job)));
  add_string (builder, "operation", hdd_dbus_job_get_operation (job));
  add_addresses (builder, "objects", hdd_dbus_job_get_objects (job));
  add_string (builder, "state", hdd_dbus_job_get_state (job));
  json_builder_set_member_name (builder, "progress");
  json_builder_add_double_value (builder, hdd_dbus_job_get_progress (job));
  add_string (builder, "status", hdd_dbus_job_get_status (job));
  json_builder_set_member_name (builder, "cancelable");
  json_builder_add_boolean_value (builder, hdd_dbus_job_get_cancelable (job));
  add_holders (builder, hdd_dbus_job_get_holders (job));
  add_int_or_null (builder, "release_requests", hdd_dbus_job_get_release_requests (job));
  add_string_or_null (builder, "domain", hdd_dbus_job_get_domain (job));
  json_builder_set_member_name (builder, "deadline_usec");
  if (hdd_dbus_job_get_deadline (job) == 0)
    json_builder_add_null_value (builder);
  else
    json_builder_add_int_value (builder, (gint64) hdd_dbus_job_get_deadline (job));

  json_builder_set_member_name (builder, "steps");
  json_builder_begin_array (builder);
  if (steps != NULL && g_variant_is_of_type (steps, G_VARIANT_TYPE ("a(ts)")))
    {
      GVariantIter iter;
      guint64 time;
      const char *text;

      g_variant_iter_init (&iter, steps);
      while (g_variant_iter_next (&iter, "(t&s)", &time, &text))
        {
          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "time_usec");
          json_builder_add_int_value (builder, (gint64) time);
          add_string (builder, "text", text);
          json_builder_end_object (builder);
        }
    }
  json_builder_end_array (builder);

  add_string_or_null (builder, "error_name", hdd_dbus_job_get_error_name (job));
  add_string_or_null (builder, "error_message", hdd_dbus_job_get_error_message (job));
  add_string_or_null (builder, "started_by", hdd_dbus_job_get_started_by (job));
  json_builder_set_member_name (builder, "start_time_usec");
  json_builder_add_int_value (builder, (gint64) hdd_dbus_job_get_start_time (job));
  json_builder_set_member_name (builder, "end_time_usec");
  if (end_time == 0)
    json_builder_add_null_value (builder);
  else
    json_builder_add_int_value (builder, (gint64) end_time);
  json_builder_end_object (builder);
}

void
hdc_json_print_list (const char     *key,
                     GPtrArray      *objects,
                     HdcJsonAddFunc  add)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, key);
  json_builder_begin_array (builder);
  for (guint i = 0; i < objects->len; i++)
    add (builder, g_ptr_array_index (objects, i));
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  hdc_json_print (builder);
}

void
hdc_json_print (JsonBuilder *builder)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = NULL;

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 2);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  fputs (text, stdout);
  fputc ('\n', stdout);
}
