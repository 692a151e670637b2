/* The <hostdev> elements of libvirt domain XML: those hostdevd hands to
 * libvirt (attach, detach) and those it reads from a running domain's live
 * XML to know which domain uses which device.  Pure: no libvirt, no sysfs. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  HDD_HOSTDEV_PCI,   /* type='pci': a PCI device on vfio-pci */
  HDD_HOSTDEV_MDEV,  /* type='mdev': a mediated device */
} HddHostdevKind;

typedef struct {
  HddHostdevKind kind;
  char          *key;      /* canonical PCI address or lower-case UUID */
  gboolean       managed;  /* managed='yes': libvirt binds the device itself */
  char          *model;    /* mdev model (vfio-pci, vfio-ccw, vfio-ap), else NULL */
  char          *alias;    /* libvirt's alias ("hostdev0"), NULL when none */
  gboolean       rom_bar_off;  /* <rom bar='off'/> */
} HddHostdev;

HddHostdev *hdd_hostdev_new  (HddHostdevKind kind,
                              const char    *key);
HddHostdev *hdd_hostdev_copy (const HddHostdev *hostdev);
void        hdd_hostdev_free (HddHostdev *hostdev);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HddHostdev, hdd_hostdev_free)

/* The <hostdev mode='subsystem'> element for @hostdev, as libvirt's
 * virDomainAttachDeviceFlags() and virDomainDetachDeviceFlags() take it
 * (libvirt finds the device to detach by its source alone).  @hostdev->key
 * must be canonical. */
char *hdd_hostdev_to_xml (const HddHostdev *hostdev);

/* Bounds on a domain's XML, checked while GMarkup reads it: libvirt's
 * remote protocol carries no string over 4 MiB, and libvirt parses its XML
 * with libxml2, whose default limit on nesting is 256 elements. */
#define HDD_HOSTDEV_XML_MAX_SIZE  (16 * 1024 * 1024)
#define HDD_HOSTDEV_XML_MAX_DEPTH 256

/* The subsystem hostdevs (PCI and mdev) in <devices> of the domain XML
 * @xml, as HddHostdev in document order.  Hostdevs of other kinds (USB,
 * SCSI, capabilities) are skipped.  Fails with HDD_ERROR_FAILED when @xml
 * is larger than HDD_HOSTDEV_XML_MAX_SIZE, nests elements deeper than
 * HDD_HOSTDEV_XML_MAX_DEPTH, is not well-formed, or a PCI or mdev source
 * address is malformed. */
GPtrArray *hdd_hostdev_parse_domain (const char *xml,
                                     GError    **error);

/* The hostdev of @hostdevs (an array of HddHostdev) whose key is @key. */
const HddHostdev *hdd_hostdev_find (GPtrArray  *hostdevs,
                                    const char *key);

/* The kind of device @key names: an mdev for a UUID, else a PCI device. */
HddHostdevKind hdd_hostdev_kind_of_key (const char *key);

G_END_DECLS
