/* The QMP events of hostdevd's QEMU series as libvirt passes them on: the
 * event's name and its "data" member as JSON text. */
#include "hdd-error.h"
#include "hdd-qemu-event.h"

#include <string.h>

static void
test_request (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HddQemuEvent) e =
    hdd_qemu_event_parse ("VFIO_DEVICE_REQUEST",
                          "{\"device\": \"hostdev0\", \"path\": \"/machine/peripheral/hostdev0\", "
                          "\"sysfsdev\": \"/sys/bus/pci/devices/0000:01:00.0\", \"count\": 1, "
                          "\"unplug-pending\": false}", &error);
  g_autofree char *text = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (e->kind, ==, HDD_QEMU_EVENT_REQUEST);
  g_assert_cmpstr (e->key, ==, "0000:01:00.0");
  g_assert_cmpstr (e->device, ==, "hostdev0");
  g_assert_cmpuint (e->count, ==, 1);
  g_assert_false (e->pending);
  g_assert_null (e->reason);
  text = hdd_qemu_event_describe (e, "l2");
  g_assert_cmpstr (text, ==, "QEMU of domain l2 got the host's request 1 for hostdev0");
}

/* A repeated request while the guest is unplugging; an mdev named by a
 * sysfsdev in upper case, a device without an id. */
static void
test_request_pending_mdev (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HddQemuEvent) e =
    hdd_qemu_event_parse ("VFIO_DEVICE_REQUEST",
                          "{\"path\": \"/machine/peripheral-anon/device[3]\", "
                          "\"sysfsdev\": \"/sys/bus/mdev/devices/83B8F4F2-509F-382F-3C1E-E6BFE0FA1001\", "
                          "\"count\": 3, \"unplug-pending\": true}", &error);
  g_autofree char *text = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (e->key, ==, "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001");
  g_assert_cmpstr (e->device, ==, "/machine/peripheral-anon/device[3]");
  g_assert_true (e->pending);
  text = hdd_qemu_event_describe (e, NULL);
  g_assert_cmpstr (text, ==, "QEMU got the host's request 3 for /machine/peripheral-anon/device[3]; "
                   "an unplug is pending, so the guest was not asked again");
}

static void
test_unplug_failed (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HddQemuEvent) e =
    hdd_qemu_event_parse ("VFIO_DEVICE_UNPLUG_FAILED",
                          "{\"device\": \"hostdev0\", \"path\": \"/machine/peripheral/hostdev0\", "
                          "\"sysfsdev\": \"/sys/bus/pci/devices/0000:02:00.1\", \"count\": 2, "
                          "\"reason\": \"Hot-unplug failed: unsupported by the port device 'pci.2'\"}",
                          &error);
  g_autofree char *text = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (e->kind, ==, HDD_QEMU_EVENT_UNPLUG_FAILED);
  g_assert_cmpstr (e->key, ==, "0000:02:00.1");
  g_assert_cmpstr (e->reason, ==, "Hot-unplug failed: unsupported by the port device 'pci.2'");
  text = hdd_qemu_event_describe (e, "l2");
  g_assert_cmpstr (text, ==, "QEMU of domain l2 could not unplug hostdev0 on the host's request 2: "
                   "Hot-unplug failed: unsupported by the port device 'pci.2'");
}

/* The host revoked the device: QEMU removed it from a hot-pluggable slot,
 * or kept it as a dead device and says why. */
static void
test_revoked (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HddQemuEvent) e =
    hdd_qemu_event_parse ("VFIO_DEVICE_REVOKED",
                          "{\"device\": \"hostdev0\", \"path\": \"/machine/peripheral/hostdev0\", "
                          "\"sysfsdev\": \"/sys/bus/pci/devices/0000:01:00.0\", "
                          "\"action\": \"surprise-removal\"}", &error);
  g_autoptr(HddQemuEvent) dead =
    hdd_qemu_event_parse ("VFIO_DEVICE_REVOKED",
                          "{\"path\": \"/machine/peripheral-anon/device[1]\", "
                          "\"sysfsdev\": \"/sys/bus/mdev/devices/83b8f4f2-509f-382f-3c1e-e6bfe0fa1001\", "
                          "\"action\": \"dead-device\", "
                          "\"reason\": \"Hot-unplug failed: unsupported by the port device 'pci.3'\"}",
                          &error);
  g_autoptr(HddQemuEvent) later =
    hdd_qemu_event_parse ("VFIO_DEVICE_REVOKED",
                          "{\"device\": \"ua-edu\", \"path\": \"/machine/peripheral/ua-edu\", "
                          "\"sysfsdev\": \"/sys/bus/pci/devices/0000:02:00.0\", "
                          "\"action\": \"something-new\"}", &error);
  g_autofree char *text = NULL;
  g_autofree char *dead_text = NULL;
  g_autofree char *later_text = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (e->kind, ==, HDD_QEMU_EVENT_REVOKED);
  g_assert_cmpstr (e->key, ==, "0000:01:00.0");
  g_assert_cmpstr (e->device, ==, "hostdev0");
  g_assert_cmpstr (e->action, ==, "surprise-removal");
  g_assert_cmpuint (e->count, ==, 0);
  g_assert_null (e->reason);
  text = hdd_qemu_event_describe (e, "l2");
  g_assert_cmpstr (text, ==, "QEMU of domain l2 lost hostdev0 to the host's revocation and "
                   "removed it from the guest (surprise removal)");

  g_assert_cmpstr (dead->key, ==, "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001");
  g_assert_cmpstr (dead->action, ==, "dead-device");
  g_assert_cmpstr (dead->reason, ==, "Hot-unplug failed: unsupported by the port device 'pci.3'");
  dead_text = hdd_qemu_event_describe (dead, "l2");
  g_assert_cmpstr (dead_text, ==, "QEMU of domain l2 lost /machine/peripheral-anon/device[1] to "
                   "the host's revocation; it stays in the guest as a dead device: "
                   "Hot-unplug failed: unsupported by the port device 'pci.3'");

  later_text = hdd_qemu_event_describe (later, NULL);
  g_assert_cmpstr (later_text, ==, "QEMU lost ua-edu to the host's revocation (something-new)");
}

/* Anything else is refused with a message that says what is wrong. */
static void
test_bad (void)
{
  static const struct {
    const char *name, *details, *message;
  } cases[] = {
    { "DEVICE_DELETED", "{\"path\": \"/x\"}", "Not a VFIO event: DEVICE_DELETED" },
    { NULL, "{}", "Not a VFIO event: (none)" },
    { "VFIO_DEVICE_REQUEST", NULL, "VFIO_DEVICE_REQUEST without a data object" },
    { "VFIO_DEVICE_REQUEST", "[1]", "VFIO_DEVICE_REQUEST without a data object" },
    /* JSON with no value at all: no root node (found by fuzz-qemu-event) */
    { "VFIO_DEVICE_REQUEST", "", "VFIO_DEVICE_REQUEST without a data object" },
    { "VFIO_DEVICE_REQUEST", " \n\t", "VFIO_DEVICE_REQUEST without a data object" },
    { "VFIO_DEVICE_REQUEST", "{", "VFIO_DEVICE_REQUEST without a data object: " },
    { "VFIO_DEVICE_REQUEST", "{\"path\": \"/x\", \"sysfsdev\": \"/sys/bus/pci/devices/0000:01:00.0\", "
      "\"count\": 1}", "QEMU event without a boolean member \"unplug-pending\"" },
    { "VFIO_DEVICE_REQUEST", "{\"path\": \"/x\", \"sysfsdev\": 7, \"count\": 1, "
      "\"unplug-pending\": false}", "QEMU event without a string member \"sysfsdev\"" },
    { "VFIO_DEVICE_REQUEST", "{\"path\": \"/x\", \"sysfsdev\": \"/s\", \"count\": \"1\", "
      "\"unplug-pending\": false}", "QEMU event without a number member \"count\"" },
    { "VFIO_DEVICE_UNPLUG_FAILED", "{\"path\": \"/x\", \"sysfsdev\": \"/sys/bus/pci/devices/0000:01:00.0\", "
      "\"count\": 1}", "QEMU event without a string member \"reason\"" },
    { "VFIO_DEVICE_REVOKED", "{\"path\": \"/x\", \"sysfsdev\": \"/sys/bus/pci/devices/0000:01:00.0\"}",
      "QEMU event without a string member \"action\"" },
    { "VFIO_DEVICE_REVOKED", "{\"path\": \"/x\", \"sysfsdev\": \"/sys/bus/pci/devices/0000:01:00.0\", "
      "\"action\": \"dead-device\", \"reason\": 1}", "QEMU event without a string member \"reason\"" },
    { "VFIO_DEVICE_REQUEST", "{\"path\": \"/x\", \"sysfsdev\": \"/sys/bus/platform/devices/fake\", "
      "\"count\": 1, \"unplug-pending\": false}",
      "VFIO_DEVICE_REQUEST for /sys/bus/platform/devices/fake, which is neither a PCI device nor an mdev" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(HddQemuEvent) e = hdd_qemu_event_parse (cases[i].name, cases[i].details, &error);

      g_assert_null (e);
      g_assert_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT);
      g_assert_true (g_str_has_prefix (error->message, cases[i].message));
    }
}

static void
assert_refused (const char *details, const char *why)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HddQemuEvent) e = hdd_qemu_event_parse ("VFIO_DEVICE_REQUEST", details, &error);

  g_assert_null (e);
  g_assert_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT);
  g_assert_true (g_str_has_prefix (error->message, "VFIO_DEVICE_REQUEST refused: "));
  if (strstr (error->message, why) == NULL)
    g_error ("“%s” does not say “%s”", error->message, why);
}

/* Data from the monitor is bounded before json-glib parses it: its parser
 * recursed 100000 times here and overflowed the stack (SIGSEGV). */
static void
test_bounds (void)
{
  g_autofree char *deep = g_strnfill (100000, '[');
  g_autofree char *deep_small = g_strnfill (HDD_QEMU_EVENT_MAX_DEPTH + 1, '[');
  g_autofree char *pad = g_strnfill (HDD_QEMU_EVENT_MAX_SIZE, ' ');
  g_autofree char *big = g_strconcat ("{\"path\": \"/x\", \"sysfsdev\": "
                                      "\"/sys/bus/pci/devices/0000:01:00.0\", \"count\": 1, "
                                      "\"unplug-pending\": false}", pad, NULL);

  assert_refused (deep, "larger than 65536 bytes");
  assert_refused (deep_small, "deeper than 32 levels");
  assert_refused (big, "larger than 65536 bytes");
  /* "x\u0000y" would be read as "x". */
  assert_refused ("{\"path\": \"/x\", \"sysfsdev\": "
                  "\"/sys/bus/pci/devices/0000:01:00.0\\u0000/../x\", \"count\": 1, "
                  "\"unplug-pending\": false}", "NUL");
  /* The device's id goes into a job's steps, a D-Bus string: no half
   * surrogate, which json-glib turned into bytes that are no UTF-8. */
  assert_refused ("{\"device\": \"host\\ud800\", \"path\": \"/x\", \"sysfsdev\": "
                  "\"/sys/bus/pci/devices/0000:01:00.0\", \"count\": 1, "
                  "\"unplug-pending\": false}", "half a surrogate pair");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qemu-event/request", test_request);
  g_test_add_func ("/qemu-event/request-pending-mdev", test_request_pending_mdev);
  g_test_add_func ("/qemu-event/unplug-failed", test_unplug_failed);
  g_test_add_func ("/qemu-event/revoked", test_revoked);
  g_test_add_func ("/qemu-event/bad", test_bad);
  g_test_add_func ("/qemu-event/bounds", test_bounds);
  return g_test_run ();
}
