/* Well-known names of the hostdevd D-Bus API. */
#pragma once

#define HDD_DBUS_NAME             "org.hostdevd1"
#define HDD_DBUS_PATH             "/org/hostdevd1"
#define HDD_DBUS_PCI_PATH_PREFIX  "/org/hostdevd1/pci/"
#define HDD_DBUS_JOB_PATH_PREFIX  "/org/hostdevd1/jobs/"
#define HDD_DBUS_MDEV_PATH_PREFIX "/org/hostdevd1/mdev/"
#define HDD_DBUS_MDEV_TYPE_PATH_PREFIX "/org/hostdevd1/mdev_type/"

#define HDD_IFACE_MANAGER    "org.hostdevd1.Manager"
#define HDD_IFACE_PCI_DEVICE "org.hostdevd1.PciDevice"
#define HDD_IFACE_JOB        "org.hostdevd1.Job"
#define HDD_IFACE_MDEV       "org.hostdevd1.Mdev"
#define HDD_IFACE_MDEV_TYPE  "org.hostdevd1.MdevType"

/* polkit actions, see data/org.hostdevd1.policy */
#define HDD_ACTION_BIND        "org.hostdevd1.bind"
#define HDD_ACTION_PERSIST     "org.hostdevd1.persist"
#define HDD_ACTION_CANCEL_ANY  "org.hostdevd1.cancel-any"
#define HDD_ACTION_MDEV        "org.hostdevd1.mdev"
#define HDD_ACTION_MDEV_DEFINE "org.hostdevd1.mdev-define"
#define HDD_ACTION_UNPLUG      "org.hostdevd1.unplug"
#define HDD_ACTION_ATTACH      "org.hostdevd1.attach"
#define HDD_ACTION_DESTROY_DOMAIN "org.hostdevd1.destroy-domain"

/* The option every method accepts to let polkit ask for a password. */
#define HDD_OPTION_ALLOW_INTERACTION "allow-interaction"
