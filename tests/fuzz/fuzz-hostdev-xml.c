/* The live XML of a running domain, as libvirt returns it (and as anyone
 * able to define a domain shapes it): hdd_hostdev_parse_domain().  Every
 * hostdev found must carry a canonical key, and the <hostdev> hostdevd
 * writes for it (hdd_hostdev_to_xml) must parse back to the same device. */
#include "fuzz-common.h"

#include "hdd-error.h"
#include "hdd-hostdev-xml.h"
#include "hdd-mdev-names.h"
#include "hdd-pci-address.h"

FUZZ_DEFINE_INITIALIZE ()

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *xml = fuzz_string (data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) hostdevs = hdd_hostdev_parse_domain (xml, &error);

  if (hostdevs == NULL)
    {
      FUZZ_CHECK (g_error_matches (error, HDD_ERROR, HDD_ERROR_FAILED),
                  "refused with %s", error ? error->message : "no error");
      return 0;
    }
  for (guint i = 0; i < hostdevs->len; i++)
    {
      const HddHostdev *h = g_ptr_array_index (hostdevs, i);
      g_autofree char *written = NULL;
      g_autofree char *domain = NULL;
      g_autoptr(GPtrArray) back = NULL;
      const HddHostdev *b;

      FUZZ_CHECK (h->key != NULL, "hostdev %u without a key", i);
      if (h->kind == HDD_HOSTDEV_PCI)
        {
          g_autofree char *canonical = hdd_pci_address_canonicalize (h->key, NULL);
          FUZZ_CHECK (g_strcmp0 (canonical, h->key) == 0, "PCI key “%s”", h->key);
        }
      else
        FUZZ_CHECK (hdd_uuid_is_canonical (h->key), "mdev key “%s”", h->key);
      FUZZ_CHECK (hdd_hostdev_kind_of_key (h->key) == h->kind, "kind of “%s”", h->key);
      FUZZ_CHECK (hdd_hostdev_find (hostdevs, h->key) != NULL, "“%s” not found", h->key);

      written = hdd_hostdev_to_xml (h);
      domain = g_strdup_printf ("<domain><devices>%s</devices></domain>", written);
      back = hdd_hostdev_parse_domain (domain, &error);
      FUZZ_CHECK (back != NULL && back->len == 1, "what was written does not parse back: %s\n%s",
                  error ? error->message : "", domain);
      b = g_ptr_array_index (back, 0);
      FUZZ_CHECK (b->kind == h->kind && g_strcmp0 (b->key, h->key) == 0 &&
                  g_strcmp0 (b->model, h->model) == 0, "changed by a round trip:\n%s", domain);
    }
  return 0;
}
