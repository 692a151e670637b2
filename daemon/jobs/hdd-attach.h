/* The AttachToDomain job of a PCI device or an mdev: hostdevd prepares the
 * device (binds it to vfio-pci, creates a defined mdev) and attaches it to
 * a running libvirt domain as <hostdev managed='no'>, so that libvirt
 * never touches the binding hostdevd owns.  When libvirt refuses, what the
 * job prepared is undone. */
#pragma once

#include "hdd-job.h"
#include "hdd-mdevctl.h"

G_BEGIN_DECLS

typedef struct _HddAttach HddAttach;

/* The work of attaching @key (canonical PCI address or mdev UUID) to the
 * running domain @domain.  @definition: the mdev's definition, used when
 * it is not running (NULL for PCI devices).  @persistent: also add it to
 * the domain's persistent definition; @rom_bar_off: <rom bar='off'/>. */
HddAttach *hdd_attach_new  (HddContext          *context,
                            const char          *key,
                            const char          *domain,
                            const HddMdevConfig *definition,
                            gboolean             persistent,
                            gboolean             rom_bar_off);
void       hdd_attach_free (gpointer attach);

/* The polkit action that attaching @key needs besides org.hostdevd1.attach,
 * as things are now: org.hostdevd1.bind for a PCI device that is not on
 * vfio-pci (the job binds it), org.hostdevd1.mdev for an mdev that does
 * not run (the job creates it); NULL when the job changes nothing on the
 * host before it asks libvirt. */
const char *hdd_attach_action_needed (const char *key);

/* Whether the job may bind or create (the caller was authorized for the
 * action above); TRUE unless set.  A job that may not and finds it would
 * have to (the device changed since the call was authorized) fails with
 * NotAuthorized and changes nothing. */
void hdd_attach_set_may_prepare (HddAttach *attach,
                                 gboolean   may_prepare);

/* The HddJobFunc; @data is the HddAttach. */
gboolean hdd_attach_run (HddJob   *job,
                         gpointer  data,
                         GError  **error);

G_END_DECLS
