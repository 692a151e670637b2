/* PCI addresses as the kernel names devices: "DDDD:BB:DD.F".
 *
 * Every address that reaches a sysfs path goes through hdd_pci_address_parse
 * first: it accepts only hexadecimal fields of the right width, so nothing a
 * caller sends can smuggle a '/' or ".." into a path. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  guint32 domain;
  guint8  bus;
  guint8  device;   /* 0 .. 0x1f */
  guint8  function; /* 0 .. 7 */
} HddPciAddress;

/* Parses "DDDD:BB:DD.F" (domain of 4 to 8 hex digits) or the short form
 * "BB:DD.F" (domain 0).  Hex digits may be upper or lower case.  Fails with
 * HDD_ERROR_INVALID_ARGUMENT and a sentence saying why. */
gboolean hdd_pci_address_parse (const char    *text,
                                 HddPciAddress *out,
                                 GError       **error);

/* Canonical kernel form, lower case: "0000:01:00.0".  Free with g_free. */
char *hdd_pci_address_to_string (const HddPciAddress *address);

/* Parses @text and returns its canonical form, or NULL with @error set. */
char *hdd_pci_address_canonicalize (const char *text,
                                    GError    **error);

/* D-Bus object path of the device: /org/hostdevd1/pci/0000_01_00_0 */
char *hdd_pci_address_to_object_path (const HddPciAddress *address);

G_END_DECLS
