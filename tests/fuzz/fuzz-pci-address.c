/* PCI addresses as callers send them (GetDevice, bindings.conf sections):
 * whatever parses must print as the canonical form, which parses again to
 * the same address and makes a valid object path. */
#include "fuzz-common.h"

#include "hdd-pci-address.h"

#include <gio/gio.h>
#include <string.h>

FUZZ_DEFINE_INITIALIZE ()

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = fuzz_string (data, size);
  g_autoptr(GError) error = NULL;
  g_autofree char *canonical = NULL;
  g_autofree char *again = NULL;
  g_autofree char *path = NULL;
  HddPciAddress a, b;

  if (!hdd_pci_address_parse (text, &a, &error))
    {
      FUZZ_CHECK (error != NULL && error->message[0] != '\0', "no reason for refusing “%s”", text);
      FUZZ_CHECK (hdd_pci_address_canonicalize (text, NULL) == NULL, "parse and canonicalize disagree");
      return 0;
    }
  FUZZ_CHECK (error == NULL, "accepted with an error");
  FUZZ_CHECK (a.device <= 0x1f && a.function <= 7, "“%s”: device %x function %x", text,
              a.device, a.function);
  canonical = hdd_pci_address_to_string (&a);
  FUZZ_CHECK (strchr (canonical, '/') == NULL && strstr (canonical, "..") == NULL,
              "“%s” gave “%s”", text, canonical);
  FUZZ_CHECK (hdd_pci_address_parse (canonical, &b, NULL), "canonical “%s” refused", canonical);
  FUZZ_CHECK (memcmp (&a, &b, sizeof a) == 0, "“%s” and “%s” differ", text, canonical);
  again = hdd_pci_address_canonicalize (text, NULL);
  FUZZ_CHECK (g_strcmp0 (again, canonical) == 0, "“%s”: “%s” vs “%s”", text, again, canonical);
  path = hdd_pci_address_to_object_path (&a);
  FUZZ_CHECK (g_variant_is_object_path (path), "“%s” is not an object path", path);
  return 0;
}
