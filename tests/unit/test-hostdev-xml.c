/* The <hostdev> XML hostdevd gives libvirt, and reading the hostdevs of a
 * domain's live XML as libvirt writes it. */
#include "hdd-error.h"
#include "hdd-hostdev-xml.h"

#include <string.h>

/* What `virsh dumpxml` printed for a running q35 guest with a PCI device
 * attached managed='no', an mdev, a USB hostdev and an SR-IOV interface
 * (libvirt 9.0). */
static const char live_xml[] =
  "<domain type='kvm' id='3' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n"
  "  <name>l2</name>\n"
  "  <uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>\n"
  "  <description>has a &lt;hostdev&gt; in its description &amp; more</description>\n"
  "  <devices>\n"
  "    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
  "    <controller type='pci' index='1' model='pcie-root-port'>\n"
  "      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>\n"
  "    </controller>\n"
  "    <hostdev mode='subsystem' type='pci' managed='no'>\n"
  "      <driver name='vfio'/>\n"
  "      <source>\n"
  "        <address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>\n"
  "      </source>\n"
  "      <alias name='hostdev0'/>\n"
  "      <rom bar='off'/>\n"
  "      <address type='pci' domain='0x0000' bus='0x07' slot='0x1f' function='0x0'/>\n"
  "    </hostdev>\n"
  "    <hostdev mode='subsystem' type='mdev' managed='no' model='vfio-pci' display='off'>\n"
  "      <source>\n"
  "        <address uuid='83B8F4F2-509F-382F-3C1E-E6BFE0FA1001'/>\n"
  "      </source>\n"
  "      <alias name='hostdev1'/>\n"
  "      <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>\n"
  "    </hostdev>\n"
  "    <hostdev mode='subsystem' type='usb' managed='yes'>\n"
  "      <source><vendor id='0x1d6b'/><product id='0x0002'/></source>\n"
  "      <alias name='hostdev2'/>\n"
  "    </hostdev>\n"
  "    <hostdev mode='subsystem' type='pci' managed='yes'>\n"
  "      <source>\n"
  "        <address domain='0x10000' bus='0x3a' slot='0x1f' function='0x7'/>\n"
  "      </source>\n"
  "    </hostdev>\n"
  "    <interface type='hostdev' managed='yes'>\n"
  "      <source><address type='pci' domain='0x0000' bus='0x05' slot='0x10' function='0x1'/></source>\n"
  "    </interface>\n"
  "  </devices>\n"
  "  <qemu:commandline><qemu:arg value='-global'/></qemu:commandline>\n"
  "</domain>\n";

static void
test_parse_live (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) h = hdd_hostdev_parse_domain (live_xml, &error);
  const HddHostdev *pci, *mdev, *managed;

  g_assert_no_error (error);
  g_assert_nonnull (h);
  /* USB and the SR-IOV interface are not subsystem PCI/mdev hostdevs. */
  g_assert_cmpuint (h->len, ==, 3);

  pci = hdd_hostdev_find (h, "0000:01:00.0");
  g_assert_nonnull (pci);
  g_assert_cmpint (pci->kind, ==, HDD_HOSTDEV_PCI);
  g_assert_false (pci->managed);
  g_assert_cmpstr (pci->alias, ==, "hostdev0");
  g_assert_true (pci->rom_bar_off);

  /* The source, not the guest's address, names the device; the UUID is
   * made canonical. */
  g_assert_null (hdd_hostdev_find (h, "0000:07:1f.0"));
  mdev = hdd_hostdev_find (h, "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001");
  g_assert_nonnull (mdev);
  g_assert_cmpint (mdev->kind, ==, HDD_HOSTDEV_MDEV);
  g_assert_cmpstr (mdev->model, ==, "vfio-pci");
  g_assert_cmpstr (mdev->alias, ==, "hostdev1");

  managed = hdd_hostdev_find (h, "10000:3a:1f.7");
  g_assert_nonnull (managed);
  g_assert_true (managed->managed);
  g_assert_null (managed->alias);
}

static void
test_parse_none (void)
{
  const char *xmls[] = {
    "<domain><name>empty</name></domain>",
    "<domain><name>x</name><devices/></domain>",
    /* A hostdev outside <devices> is no device of the domain. */
    "<domain><metadata><hostdev mode='subsystem' type='pci'><source>"
    "<address domain='0' bus='1' slot='0' function='0'/></source></hostdev></metadata></domain>",
    /* Neither is a hostdev without source. */
    "<domain><devices><hostdev mode='subsystem' type='pci'/></devices></domain>",
    /* Nor a capabilities hostdev. */
    "<domain><devices><hostdev mode='capabilities' type='storage'><source>"
    "<block>/dev/sdf1</block></source></hostdev></devices></domain>",
  };

  for (guint i = 0; i < G_N_ELEMENTS (xmls); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) h = hdd_hostdev_parse_domain (xmls[i], &error);

      g_assert_no_error (error);
      g_assert_cmpuint (h->len, ==, 0);
    }
}

static void
test_parse_decimal (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) h = hdd_hostdev_parse_domain (
    "<domain><devices><hostdev type='pci'><source>"
    "<address domain='0' bus='10' slot='31' function='7'/></source></hostdev></devices></domain>",
    &error);

  g_assert_no_error (error);
  g_assert_nonnull (hdd_hostdev_find (h, "0000:0a:1f.7"));
}

static void
test_parse_bad (void)
{
  const char *xmls[] = {
    "<domain><devices>",
    "not xml at all",
    "<domain><devices><hostdev mode='subsystem' type='pci'><source>"
    "<address domain='0x0000' bus='0x100' slot='0x00' function='0x0'/></source></hostdev>"
    "</devices></domain>",
    "<domain><devices><hostdev mode='subsystem' type='pci'><source>"
    "<address domain='0x0000' bus='0x01' slot='0x20' function='0x0'/></source></hostdev>"
    "</devices></domain>",
    "<domain><devices><hostdev mode='subsystem' type='pci'><source>"
    "<address bus='0x01' slot='0x00' function='0x0'/></source></hostdev></devices></domain>",
    "<domain><devices><hostdev mode='subsystem' type='mdev'><source>"
    "<address uuid='not-a-uuid'/></source></hostdev></devices></domain>",
  };

  for (guint i = 0; i < G_N_ELEMENTS (xmls); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) h = hdd_hostdev_parse_domain (xmls[i], &error);

      g_assert_null (h);
      g_assert_error (error, HDD_ERROR, HDD_ERROR_FAILED);
    }
}

/* libvirt's XML is bounded too: GMarkup does not recurse, but keeps every
 * open element; the size bound comes first. */
/* <domain><devices> and then <x> elements: @depth levels in all. */
static char *
nested_xml (guint depth, gboolean closed)
{
  GString *xml = g_string_new ("<domain><devices>");

  for (guint i = 2; i < depth; i++)
    g_string_append (xml, "<x>");
  for (guint i = 2; closed && i < depth; i++)
    g_string_append (xml, "</x>");
  if (closed)
    g_string_append (xml, "</devices></domain>");
  return g_string_free (xml, FALSE);
}

/* libvirt's XML is bounded too: GMarkup does not recurse, but keeps every
 * open element on a stack; the size is checked before it reads. */
static void
test_parse_bounds (void)
{
  g_autofree char *at_limit = nested_xml (HDD_HOSTDEV_XML_MAX_DEPTH, TRUE);
  g_autofree char *over = nested_xml (HDD_HOSTDEV_XML_MAX_DEPTH + 1, TRUE);
  g_autofree char *big = g_malloc (HDD_HOSTDEV_XML_MAX_SIZE + 64);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) fits = hdd_hostdev_parse_domain (at_limit, &error);
  g_autoptr(GPtrArray) h = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (fits->len, ==, 0);

  h = hdd_hostdev_parse_domain (over, &error);
  g_assert_null (h);
  g_assert_error (error, HDD_ERROR, HDD_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "deeper than 256 levels"));
  g_clear_error (&error);

  memset (big, ' ', HDD_HOSTDEV_XML_MAX_SIZE + 63);
  big[HDD_HOSTDEV_XML_MAX_SIZE + 63] = '\0';
  memcpy (big, "<domain/>", 9);
  h = hdd_hostdev_parse_domain (big, &error);
  g_assert_null (h);
  g_assert_error (error, HDD_ERROR, HDD_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "larger than 16777216 bytes"));
}

static void
test_write_pci (void)
{
  g_autoptr(HddHostdev) h = hdd_hostdev_new (HDD_HOSTDEV_PCI, "0000:01:00.0");
  g_autofree char *xml = hdd_hostdev_to_xml (h);
  g_autofree char *xml_rom = NULL;

  g_assert_cmpstr (xml, ==,
                   "<hostdev mode='subsystem' type='pci' managed='no'>\n"
                   "  <source>\n"
                   "    <address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>\n"
                   "  </source>\n"
                   "</hostdev>\n");
  h->rom_bar_off = TRUE;
  xml_rom = hdd_hostdev_to_xml (h);
  g_assert_nonnull (strstr (xml_rom, "  <rom bar='off'/>\n</hostdev>\n"));
}

static void
test_write_mdev (void)
{
  g_autoptr(HddHostdev) h = hdd_hostdev_new (HDD_HOSTDEV_MDEV, "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001");
  g_autofree char *xml = NULL;

  g_free (h->model);
  h->model = g_strdup ("vfio-ccw");
  xml = hdd_hostdev_to_xml (h);
  g_assert_cmpstr (xml, ==,
                   "<hostdev mode='subsystem' type='mdev' managed='no' model='vfio-ccw'>\n"
                   "  <source>\n"
                   "    <address uuid='83b8f4f2-509f-382f-3c1e-e6bfe0fa1001'/>\n"
                   "  </source>\n"
                   "</hostdev>\n");
}

/* What hostdevd writes, libvirt echoes in the live XML: reading it back
 * finds the same device. */
static void
test_round_trip (void)
{
  const char *keys[] = { "0000:00:00.0", "0000:ff:1f.7", "ffff:3a:00.1", "12345678:01:02.3",
                         "00000000-0000-0000-0000-000000000000" };

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_autoptr(HddHostdev) h = hdd_hostdev_new (hdd_hostdev_kind_of_key (keys[i]), keys[i]);
      g_autofree char *hostdev = hdd_hostdev_to_xml (h);
      g_autofree char *domain = g_strdup_printf ("<domain><devices>%s</devices></domain>", hostdev);
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) parsed = hdd_hostdev_parse_domain (domain, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (parsed->len, ==, 1);
      g_assert_cmpstr (((HddHostdev *) g_ptr_array_index (parsed, 0))->key, ==, keys[i]);
      g_assert_cmpint (((HddHostdev *) g_ptr_array_index (parsed, 0))->kind, ==, h->kind);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hostdev-xml/parse-live", test_parse_live);
  g_test_add_func ("/hostdev-xml/parse-none", test_parse_none);
  g_test_add_func ("/hostdev-xml/parse-decimal", test_parse_decimal);
  g_test_add_func ("/hostdev-xml/parse-bad", test_parse_bad);
  g_test_add_func ("/hostdev-xml/parse-bounds", test_parse_bounds);
  g_test_add_func ("/hostdev-xml/write-pci", test_write_pci);
  g_test_add_func ("/hostdev-xml/write-mdev", test_write_mdev);
  g_test_add_func ("/hostdev-xml/round-trip", test_round_trip);
  return g_test_run ();
}
