/* The hostdevd error domain.  Every code maps to a D-Bus error name
 * org.hostdevd1.Error.<Name>, so that a caller sees the same error whether it
 * came from the daemon's own checks or from a failed sysfs write. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  HDD_ERROR_FAILED,            /* org.hostdevd1.Error.Failed */
  HDD_ERROR_INVALID_ARGUMENT,  /* .InvalidArgument */
  HDD_ERROR_NOT_FOUND,         /* .NotFound */
  HDD_ERROR_BUSY,              /* .Busy */
  HDD_ERROR_NOT_AUTHORIZED,    /* .NotAuthorized */
  HDD_ERROR_NOT_VIABLE,        /* .NotViable: IOMMU group not viable */
  HDD_ERROR_NOT_SUPPORTED,     /* .NotSupported */
  HDD_ERROR_CANCELLED,         /* .Cancelled */
  HDD_ERROR_TIMED_OUT,         /* .TimedOut */
  HDD_ERROR_ALREADY_EXISTS,    /* .AlreadyExists: e.g. an mdev UUID in use */
  HDD_ERROR_LIMIT_EXCEEDED,    /* .LimitExceeded: too many pending calls or
                                  jobs (docs/dbus-api.md, "Limits") */
} HddError;

#define HDD_ERROR_N_ERRORS (HDD_ERROR_LIMIT_EXCEEDED + 1)

#define HDD_ERROR (hdd_error_quark ())
GQuark hdd_error_quark (void);

/* Turns any GError into one of the HDD_ERROR domain, keeping the message, so
 * that what crosses the bus is always org.hostdevd1.Error.*. */
void hdd_error_normalize (GError **error);

G_END_DECLS
