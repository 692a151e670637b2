/* One PCI device, exported as org.hostdevd1.PciDevice. */
#pragma once

#include "hdd-dbus-generated.h"
#include "hdd-device.h"

#include <gudev/gudev.h>

G_BEGIN_DECLS

#define HDD_TYPE_PCI_DEVICE (hdd_pci_device_get_type ())
G_DECLARE_FINAL_TYPE (HddPciDevice, hdd_pci_device, HDD, PCI_DEVICE, HddDbusPciDeviceSkeleton)

/* @address must be canonical.  The object implements HddDevice.  Its IDs
 * come from @udev's properties when the kernel's uevent has them.  Its
 * DriverOverride is read by hdd_pci_device_read_overrides(), which the
 * caller runs once for all the devices it made. */
HddPciDevice *hdd_pci_device_new (const HddDeviceServices *services,
                                  const char              *address,
                                  GUdevDevice             *udev);

const char *hdd_pci_device_get_address     (HddPciDevice *self);
const char *hdd_pci_device_get_object_path (HddPciDevice *self);

/* Sets Domain to what libvirt's last scan says (hdd-libvirt.h). */
void hdd_pci_device_update_domain (HddPciDevice *self);

/* Re-reads what sysfs and the store say.  Never touches attributes whose
 * read takes the device lock (driver_override): an unbind blocked in the
 * kernel holds that lock, and the main loop must not wait for it.  The
 * override is read in a thread instead. */
void hdd_pci_device_refresh (HddPciDevice *self,
                             GUdevDevice  *udev);

/* Reads the driver_override of @devices (HddPciDevice, referenced) in one
 * thread, and sets each DriverOverride that no job is changing. */
void hdd_pci_device_read_overrides (GPtrArray *devices);

/* The VFIO group and device nodes as last read, NULL for none: for the
 * holders scans, which look at every device (no property lock). */
void hdd_pci_device_get_nodes (HddPciDevice *self,
                               const char  **group_node,
                               const char  **device_node);

/* Sets the holders found by the manager's scan. */
void hdd_pci_device_set_holders_from (HddPciDevice *self,
                                      GPtrArray    *holders);

G_END_DECLS
