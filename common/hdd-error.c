#include "hdd-error.h"

#include <gio/gio.h>

static const GDBusErrorEntry hdd_error_entries[] = {
  { HDD_ERROR_FAILED,           "org.hostdevd1.Error.Failed" },
  { HDD_ERROR_INVALID_ARGUMENT, "org.hostdevd1.Error.InvalidArgument" },
  { HDD_ERROR_NOT_FOUND,        "org.hostdevd1.Error.NotFound" },
  { HDD_ERROR_BUSY,             "org.hostdevd1.Error.Busy" },
  { HDD_ERROR_NOT_AUTHORIZED,   "org.hostdevd1.Error.NotAuthorized" },
  { HDD_ERROR_NOT_VIABLE,       "org.hostdevd1.Error.NotViable" },
  { HDD_ERROR_NOT_SUPPORTED,    "org.hostdevd1.Error.NotSupported" },
  { HDD_ERROR_CANCELLED,        "org.hostdevd1.Error.Cancelled" },
  { HDD_ERROR_TIMED_OUT,        "org.hostdevd1.Error.TimedOut" },
  { HDD_ERROR_ALREADY_EXISTS,   "org.hostdevd1.Error.AlreadyExists" },
  { HDD_ERROR_LIMIT_EXCEEDED,   "org.hostdevd1.Error.LimitExceeded" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (hdd_error_entries) == HDD_ERROR_N_ERRORS);

GQuark
hdd_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("hostdevd-error-quark", &quark,
                                      hdd_error_entries,
                                      G_N_ELEMENTS (hdd_error_entries));
  return (GQuark) quark;
}

static HddError
code_from_io_error (int code)
{
  switch (code)
    {
    case G_IO_ERROR_NOT_FOUND:
      return HDD_ERROR_NOT_FOUND;
    case G_IO_ERROR_BUSY:
      return HDD_ERROR_BUSY;
    case G_IO_ERROR_PERMISSION_DENIED:
      return HDD_ERROR_NOT_AUTHORIZED;
    case G_IO_ERROR_INVALID_ARGUMENT:
      return HDD_ERROR_INVALID_ARGUMENT;
    case G_IO_ERROR_NOT_SUPPORTED:
      return HDD_ERROR_NOT_SUPPORTED;
    case G_IO_ERROR_CANCELLED:
      return HDD_ERROR_CANCELLED;
    case G_IO_ERROR_TIMED_OUT:
      return HDD_ERROR_TIMED_OUT;
    case G_IO_ERROR_EXISTS:
      return HDD_ERROR_ALREADY_EXISTS;
    default:
      return HDD_ERROR_FAILED;
    }
}

void
hdd_error_normalize (GError **error)
{
  HddError code = HDD_ERROR_FAILED;
  GError *e;

  if (error == NULL || *error == NULL || (*error)->domain == HDD_ERROR)
    return;

  e = *error;
  if (e->domain == G_IO_ERROR)
    code = code_from_io_error (e->code);
  else if (e->domain == G_DBUS_ERROR && e->code == G_DBUS_ERROR_INVALID_ARGS)
    code = HDD_ERROR_INVALID_ARGUMENT;

  *error = g_error_new_literal (HDD_ERROR, code, e->message);
  g_error_free (e);
}
