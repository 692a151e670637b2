#include "hdd-hostdev-xml.h"

#include "hdd-error.h"
#include "hdd-mdev-names.h"
#include "hdd-pci-address.h"

#include <string.h>

HddHostdev *
hdd_hostdev_new (HddHostdevKind kind,
                 const char    *key)
{
  HddHostdev *h = g_new0 (HddHostdev, 1);

  h->kind = kind;
  h->key = g_strdup (key);
  if (kind == HDD_HOSTDEV_MDEV)
    h->model = g_strdup ("vfio-pci");
  return h;
}

HddHostdev *
hdd_hostdev_copy (const HddHostdev *hostdev)
{
  HddHostdev *h = g_new0 (HddHostdev, 1);

  *h = *hostdev;
  h->key = g_strdup (hostdev->key);
  h->model = g_strdup (hostdev->model);
  h->alias = g_strdup (hostdev->alias);
  return h;
}

void
hdd_hostdev_free (HddHostdev *hostdev)
{
  if (hostdev == NULL)
    return;
  g_free (hostdev->key);
  g_free (hostdev->model);
  g_free (hostdev->alias);
  g_free (hostdev);
}

HddHostdevKind
hdd_hostdev_kind_of_key (const char *key)
{
  return hdd_uuid_is_canonical (key) ? HDD_HOSTDEV_MDEV : HDD_HOSTDEV_PCI;
}

/* ---- Writing ---- */

char *
hdd_hostdev_to_xml (const HddHostdev *h)
{
  GString *xml = g_string_new (NULL);

  if (h->kind == HDD_HOSTDEV_PCI)
    {
      HddPciAddress a = { 0 };

      /* Not inside g_return_val_if_fail(): G_DISABLE_CHECKS would drop the
       * parse with the check. */
      if (!hdd_pci_address_parse (h->key, &a, NULL))
        {
          g_critical ("hdd_hostdev_to_xml: “%s” is not a PCI address", h->key);
          g_string_free (xml, TRUE);
          return NULL;
        }
      g_string_append_printf (xml,
                              "<hostdev mode='subsystem' type='pci' managed='%s'>\n"
                              "  <source>\n"
                              "    <address domain='0x%04x' bus='0x%02x' slot='0x%02x' "
                              "function='0x%x'/>\n"
                              "  </source>\n",
                              h->managed ? "yes" : "no",
                              a.domain, a.bus, a.device, a.function);
    }
  else
    {
      g_autofree char *model = g_markup_escape_text (h->model ? h->model : "vfio-pci", -1);

      if (!hdd_uuid_is_canonical (h->key))
        {
          g_critical ("hdd_hostdev_to_xml: “%s” is not a UUID", h->key);
          g_string_free (xml, TRUE);
          return NULL;
        }
      g_string_append_printf (xml,
                              "<hostdev mode='subsystem' type='mdev' managed='%s' model='%s'>\n"
                              "  <source>\n"
                              "    <address uuid='%s'/>\n"
                              "  </source>\n",
                              h->managed ? "yes" : "no", model, h->key);
    }
  if (h->rom_bar_off)
    g_string_append (xml, "  <rom bar='off'/>\n");
  g_string_append (xml, "</hostdev>\n");
  return g_string_free (xml, FALSE);
}

/* ---- Reading ---- */

/* Element depths in a domain document: <domain> is 1. */
enum {
  DEPTH_DEVICES = 2,
  DEPTH_HOSTDEV = 3,
  DEPTH_SOURCE = 4,   /* also <alias>, <rom> */
  DEPTH_ADDRESS = 5,
};

typedef struct {
  GPtrArray  *hostdevs;
  int         depth;
  gboolean    in_devices;
  gboolean    in_source;
  HddHostdev *current;      /* the open <hostdev>, NULL when none or skipped */
  gboolean    have_source;
} Parse;

static const char *
attribute (const char **names, const char **values, const char *name)
{
  for (guint i = 0; names[i]; i++)
    if (g_str_equal (names[i], name))
      return values[i];
  return NULL;
}

/* libvirt writes "0x01"; plain decimal is accepted as libvirt's parser
 * accepts it. */
static gboolean
parse_number (const char *text, guint64 max, guint64 *out)
{
  guint base = 10;

  if (text == NULL || *text == '\0')
    return FALSE;
  if (g_str_has_prefix (text, "0x") || g_str_has_prefix (text, "0X"))
    {
      text += 2;
      base = 16;
    }
  return g_ascii_string_to_unsigned (text, base, 0, max, out, NULL);
}

static gboolean
parse_pci_source (HddHostdev *h, const char **names, const char **values, GError **error)
{
  guint64 domain, bus, slot, function;
  HddPciAddress a;

  if (!parse_number (attribute (names, values, "domain"), G_MAXUINT32, &domain) ||
      !parse_number (attribute (names, values, "bus"), 0xff, &bus) ||
      !parse_number (attribute (names, values, "slot"), 0x1f, &slot) ||
      !parse_number (attribute (names, values, "function"), 7, &function))
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_FAILED,
                   "A PCI <hostdev> of the domain has a malformed source address");
      return FALSE;
    }
  a.domain = (guint32) domain;
  a.bus = (guint8) bus;
  a.device = (guint8) slot;
  a.function = (guint8) function;
  g_free (h->key);
  h->key = hdd_pci_address_to_string (&a);
  return TRUE;
}

static gboolean
parse_mdev_source (HddHostdev *h, const char **names, const char **values, GError **error)
{
  const char *text = attribute (names, values, "uuid");
  g_autoptr(GError) local = NULL;
  char *uuid = hdd_uuid_canonicalize (text ? text : "", &local);

  if (uuid == NULL)
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_FAILED,
                   "An mdev <hostdev> of the domain has a malformed source: %s", local->message);
      return FALSE;
    }
  g_free (h->key);
  h->key = uuid;
  return TRUE;
}

static void
start_element (GMarkupParseContext *context, const char *name, const char **names,
               const char **values, gpointer user_data, GError **error)
{
  Parse *p = user_data;
  int depth = ++p->depth;

  /* GMarkup keeps a stack of the open elements: bounded here. */
  if (depth > HDD_HOSTDEV_XML_MAX_DEPTH)
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_FAILED,
                   "The domain XML libvirt returned nests elements deeper than %d levels",
                   HDD_HOSTDEV_XML_MAX_DEPTH);
      return;
    }
  if (depth == DEPTH_DEVICES && g_str_equal (name, "devices"))
    p->in_devices = TRUE;
  else if (depth == DEPTH_HOSTDEV && p->in_devices && g_str_equal (name, "hostdev"))
    {
      const char *mode = attribute (names, values, "mode");
      const char *type = attribute (names, values, "type");
      const char *managed = attribute (names, values, "managed");
      const char *model = attribute (names, values, "model");
      HddHostdevKind kind;

      /* mode defaults to subsystem in libvirt's schema. */
      if (mode && !g_str_equal (mode, "subsystem"))
        return;
      if (g_strcmp0 (type, "pci") == 0)
        kind = HDD_HOSTDEV_PCI;
      else if (g_strcmp0 (type, "mdev") == 0)
        kind = HDD_HOSTDEV_MDEV;
      else
        return;
      p->current = hdd_hostdev_new (kind, NULL);
      p->current->managed = g_strcmp0 (managed, "yes") == 0;
      if (model)
        {
          g_free (p->current->model);
          p->current->model = g_strdup (model);
        }
      p->have_source = FALSE;
    }
  else if (depth == DEPTH_SOURCE && p->current && g_str_equal (name, "source"))
    p->in_source = TRUE;
  else if (depth == DEPTH_SOURCE && p->current && g_str_equal (name, "alias"))
    {
      g_free (p->current->alias);
      p->current->alias = g_strdup (attribute (names, values, "name"));
    }
  else if (depth == DEPTH_SOURCE && p->current && g_str_equal (name, "rom"))
    p->current->rom_bar_off = g_strcmp0 (attribute (names, values, "bar"), "off") == 0;
  else if (depth == DEPTH_ADDRESS && p->in_source && g_str_equal (name, "address"))
    {
      gboolean ok = p->current->kind == HDD_HOSTDEV_PCI
                    ? parse_pci_source (p->current, names, values, error)
                    : parse_mdev_source (p->current, names, values, error);

      p->have_source = ok;
    }
}

static void
end_element (GMarkupParseContext *context, const char *name, gpointer user_data, GError **error)
{
  Parse *p = user_data;
  int depth = p->depth--;

  if (depth == DEPTH_DEVICES && g_str_equal (name, "devices"))
    p->in_devices = FALSE;
  else if (depth == DEPTH_SOURCE && g_str_equal (name, "source"))
    p->in_source = FALSE;
  else if (depth == DEPTH_HOSTDEV && p->current)
    {
      /* A hostdev without a source names no device: nothing to match. */
      if (p->have_source)
        g_ptr_array_add (p->hostdevs, p->current);
      else
        hdd_hostdev_free (p->current);
      p->current = NULL;
    }
}

GPtrArray *
hdd_hostdev_parse_domain (const char *xml,
                          GError    **error)
{
  static const GMarkupParser parser = { start_element, end_element, NULL, NULL, NULL };
  g_autoptr(GPtrArray) hostdevs = g_ptr_array_new_with_free_func ((GDestroyNotify) hdd_hostdev_free);
  g_autoptr(GMarkupParseContext) context = NULL;
  g_autoptr(GError) local = NULL;
  Parse p = { .hostdevs = hostdevs };
  gsize len = strnlen (xml, HDD_HOSTDEV_XML_MAX_SIZE + 1);

  if (len > HDD_HOSTDEV_XML_MAX_SIZE)
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_FAILED,
                   "The domain XML libvirt returned is larger than %d bytes",
                   HDD_HOSTDEV_XML_MAX_SIZE);
      return NULL;
    }
  context = g_markup_parse_context_new (&parser, G_MARKUP_TREAT_CDATA_AS_TEXT, &p, NULL);
  if (!g_markup_parse_context_parse (context, xml, (gssize) len, &local) ||
      !g_markup_parse_context_end_parse (context, &local))
    {
      hdd_hostdev_free (p.current);
      if (local->domain == HDD_ERROR)
        g_propagate_error (error, g_steal_pointer (&local));
      else
        g_set_error (error, HDD_ERROR, HDD_ERROR_FAILED,
                     "The domain XML libvirt returned does not parse: %s", local->message);
      return NULL;
    }
  return g_steal_pointer (&hostdevs);
}

const HddHostdev *
hdd_hostdev_find (GPtrArray  *hostdevs,
                  const char *key)
{
  for (guint i = 0; hostdevs && i < hostdevs->len; i++)
    {
      const HddHostdev *h = g_ptr_array_index (hostdevs, i);

      if (g_strcmp0 (h->key, key) == 0)
        return h;
    }
  return NULL;
}
