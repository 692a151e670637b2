/* The daemon's object types, declared once (udisks' udisksdaemontypes.h):
 * a header that only passes these around includes this instead of the
 * header that defines them, so that headers do not pull each other in.
 *
 * The layers, each using only those below it (scripts/check-layers.py):
 *   dbus/ → jobs/ → kernel/, libvirt/ → core/ → common/ */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* core/ */
typedef struct _HddAuthority     HddAuthority;
typedef struct _HddContext       HddContext;
typedef struct _HddJob           HddJob;
typedef struct _HddStore         HddStore;

/* libvirt/ */
typedef struct _HddLibvirt       HddLibvirt;

/* jobs/ */
typedef struct _HddDeviceKind    HddDeviceKind;

/* dbus/ */
typedef struct _HddDevice        HddDevice;
typedef struct _HddManager       HddManager;
typedef struct _HddMdev          HddMdev;
typedef struct _HddMdevManager   HddMdevManager;
typedef struct _HddPciDevice     HddPciDevice;

G_END_DECLS
