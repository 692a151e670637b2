/* The methods PciDevice and Mdev objects share to deal with guests:
 * Unplug, AttachToDomain and DetachFromDomain.  Each checks what it can in
 * the call (options, the domain name, the device's state; bad input changes
 * nothing), asks polkit, then starts a job (hdd-unplug.h, hdd-attach.h)
 * whose path it returns.  @object is an HddPciDevice or an HddMdev. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

gboolean hdd_domain_methods_unplug (GObject               *object,
                                    GDBusMethodInvocation *invocation,
                                    GVariant              *options);

gboolean hdd_domain_methods_attach (GObject               *object,
                                    GDBusMethodInvocation *invocation,
                                    const char            *domain,
                                    GVariant              *options);

gboolean hdd_domain_methods_detach (GObject               *object,
                                    GDBusMethodInvocation *invocation,
                                    GVariant              *options);

/* A libvirt domain name as a caller may give it: 1 to 255 bytes of UTF-8,
 * no control characters, no '/'.  Fails with InvalidArgument. */
gboolean hdd_domain_methods_check_name (const char *name,
                                        GError    **error);

G_END_DECLS
