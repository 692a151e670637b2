#include "hdd-error.h"
#include "hdd-pci-address.h"

#include <gio/gio.h>
#include <string.h>

static void
test_valid (void)
{
  struct { const char *in, *out, *path; } cases[] = {
    { "0000:01:00.0", "0000:01:00.0", "/org/hostdevd1/pci/0000_01_00_0" },
    { "01:00.0", "0000:01:00.0", "/org/hostdevd1/pci/0000_01_00_0" },
    { "0000:AF:1F.7", "0000:af:1f.7", "/org/hostdevd1/pci/0000_af_1f_7" },
    { "10000:e1:00.3", "10000:e1:00.3", "/org/hostdevd1/pci/10000_e1_00_3" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      HddPciAddress a;
      g_autofree char *canonical = NULL;
      g_autofree char *path = NULL;

      g_assert_true (hdd_pci_address_parse (cases[i].in, &a, &error));
      g_assert_no_error (error);
      canonical = hdd_pci_address_to_string (&a);
      path = hdd_pci_address_to_object_path (&a);
      g_assert_cmpstr (canonical, ==, cases[i].out);
      g_assert_cmpstr (path, ==, cases[i].path);
      g_assert_true (g_variant_is_object_path (path));
    }
}

static void
test_invalid (void)
{
  g_autofree char *huge = g_strnfill (10 * 1024, 'a');
  const char *cases[] = {
    "", "0000:00:1f.7/../../x", "../../etc", "0000:01:00", "0000:01:00.8",
    "0000:01:20.0", "000:01:00.0", "0000:1:00.0", "0000:01:0.0", "0000:01:00.00",
    "0000:01:00.0 ", " 0000:01:00.0", "0000:01:00.0\n", "0000:01:00.0:", "g000:01:00.0",
    "0000:01:00.-1", "0000::00.0", "0000:01:00.0/driver", "123456789:01:00.0", "\xff\xfe",
    "0000:01:00,0", huge,
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *canonical = hdd_pci_address_canonicalize (cases[i], &error);

      g_assert_null (canonical);
      g_assert_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT);
      /* The message never echoes the input back: it may be huge or hostile. */
      g_assert_null (strstr (error->message, "etc"));
      g_assert_cmpuint (strlen (error->message), <, 200);
    }
  g_assert_null (hdd_pci_address_canonicalize (NULL, NULL));
}

static void
test_dbus_error_names (void)
{
  g_autoptr(GError) error = g_error_new (HDD_ERROR, HDD_ERROR_NOT_VIABLE, "x");
  g_autofree char *name = g_dbus_error_encode_gerror (error);
  g_autoptr(GError) io = g_error_new (G_IO_ERROR, G_IO_ERROR_BUSY, "busy");

  g_assert_cmpstr (name, ==, "org.hostdevd1.Error.NotViable");
  hdd_error_normalize (&io);
  g_assert_error (io, HDD_ERROR, HDD_ERROR_BUSY);
  g_assert_cmpstr (io->message, ==, "busy");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pci-address/valid", test_valid);
  g_test_add_func ("/pci-address/invalid", test_invalid);
  g_test_add_func ("/error/dbus-names", test_dbus_error_names);
  return g_test_run ();
}
