/* The QMP events libvirt passes on from a guest's QEMU (whose monitor the
 * guest can influence, and whose data is JSON text): the first line of the
 * input is the event's name, the rest its data.  An event that parses
 * names a canonical device and a non-empty QEMU device, and is put in
 * words. */
#include "fuzz-common.h"

#include "hdd-error.h"
#include "hdd-mdev-names.h"
#include "hdd-pci-address.h"
#include "hdd-qemu-event.h"

#include <json-glib/json-glib.h>
#include <string.h>

FUZZ_DEFINE_INITIALIZE ()

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = fuzz_string (data, size);
  char *nl = strchr (text, '\n');
  const char *details = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(HddQemuEvent) event = NULL;
  g_autofree char *words = NULL;
  g_autofree char *words_domain = NULL;

  if (nl)
    {
      *nl = '\0';
      details = nl + 1;
    }
  event = hdd_qemu_event_parse (text, details, &error);
  if (event == NULL)
    {
      FUZZ_CHECK (g_error_matches (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT),
                  "refused with %s", error ? error->message : "no error");
      return 0;
    }
  FUZZ_CHECK (event->key != NULL, "no key");
  if (!hdd_uuid_is_canonical (event->key))
    {
      g_autofree char *canonical = hdd_pci_address_canonicalize (event->key, NULL);
      FUZZ_CHECK (g_strcmp0 (canonical, event->key) == 0, "key “%s”", event->key);
    }
  FUZZ_CHECK (event->device != NULL, "no device");
  FUZZ_CHECK (event->kind != HDD_QEMU_EVENT_UNPLUG_FAILED || event->reason != NULL,
              "no reason of a %d event", event->kind);
  FUZZ_CHECK (event->kind != HDD_QEMU_EVENT_REQUEST || event->reason == NULL,
              "reason of a %d event", event->kind);
  FUZZ_CHECK ((event->kind == HDD_QEMU_EVENT_REVOKED) == (event->action != NULL),
              "action of a %d event", event->kind);
  words = hdd_qemu_event_describe (event, NULL);
  words_domain = hdd_qemu_event_describe (event, "l2");
  FUZZ_CHECK (words != NULL && words_domain != NULL, "not put in words");
  return 0;
}
