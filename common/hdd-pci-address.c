#include "hdd-pci-address.h"

#include "hdd-error.h"
#include "hdd-names.h"

#include <string.h>

/* Longest valid text: 8 + 1 + 2 + 1 + 2 + 1 + 1 */
#define MAX_ADDRESS_LEN 16

/* Reads exactly @min..@max hex digits at *p; advances *p. */
static gboolean
read_hex (const char **p, guint min, guint max, guint32 *value)
{
  guint32 v = 0;
  guint n = 0;

  while (n < max && g_ascii_isxdigit ((*p)[n]))
    {
      v = (v << 4) | (guint32) g_ascii_xdigit_value ((*p)[n]);
      n++;
    }
  if (n < min)
    return FALSE;
  *p += n;
  *value = v;
  return TRUE;
}

static gboolean
invalid (GError **error, const char *why)
{
  g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
               "Invalid PCI address: %s (expected DDDD:BB:DD.F, e.g. 0000:01:00.0)",
               why);
  return FALSE;
}

gboolean
hdd_pci_address_parse (const char    *text,
                       HddPciAddress *out,
                       GError       **error)
{
  const char *p = text;
  guint32 domain = 0, bus, dev, fn;
  gsize len;
  guint colons = 0;

  if (text == NULL || *text == '\0')
    return invalid (error, "it is empty");

  /* Characters first (over at most one byte more than fits), so that a
   * path smuggled in is called what it is, however long it is. */
  len = strnlen (text, MAX_ADDRESS_LEN + 1);
  for (gsize i = 0; i < len; i++)
    {
      if (text[i] == ':')
        colons++;
      else if (text[i] != '.' && !g_ascii_isxdigit (text[i]))
        return invalid (error, "it contains characters other than hex digits, ':' and '.'");
    }
  if (len > MAX_ADDRESS_LEN)
    return invalid (error, "it is too long");

  if (colons == 2)
    {
      if (!read_hex (&p, 4, 8, &domain) || *p++ != ':')
        return invalid (error, "the domain must have 4 to 8 hex digits");
    }
  else if (colons != 1)
    return invalid (error, "wrong number of ':'");

  if (!read_hex (&p, 2, 2, &bus) || *p++ != ':')
    return invalid (error, "the bus must have 2 hex digits");
  if (!read_hex (&p, 2, 2, &dev) || *p++ != '.')
    return invalid (error, "the device must have 2 hex digits");
  if (dev > 0x1f)
    return invalid (error, "the device number must be at most 1f");
  if (!read_hex (&p, 1, 1, &fn) || *p != '\0')
    return invalid (error, "the function must be one digit");
  if (fn > 7)
    return invalid (error, "the function must be 0 to 7");

  if (out)
    {
      out->domain = domain;
      out->bus = (guint8) bus;
      out->device = (guint8) dev;
      out->function = (guint8) fn;
    }
  return TRUE;
}

char *
hdd_pci_address_to_string (const HddPciAddress *a)
{
  return g_strdup_printf ("%04x:%02x:%02x.%x",
                          a->domain, a->bus, a->device, a->function);
}

char *
hdd_pci_address_canonicalize (const char *text,
                              GError    **error)
{
  HddPciAddress a;

  if (!hdd_pci_address_parse (text, &a, error))
    return NULL;
  return hdd_pci_address_to_string (&a);
}

char *
hdd_pci_address_to_object_path (const HddPciAddress *a)
{
  return g_strdup_printf (HDD_DBUS_PCI_PATH_PREFIX "%04x_%02x_%02x_%x",
                          a->domain, a->bus, a->device, a->function);
}
