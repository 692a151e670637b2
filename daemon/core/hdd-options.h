/* Checking the "a{sv} options" argument every method takes. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  const char *name;
  const char *type;   /* GVariant type string, e.g. "b" */
} HddOptionSpec;

/* Fails with HDD_ERROR_INVALID_ARGUMENT when @options holds a key that is not
 * in @spec (terminated by { NULL }), or a value of another type.  The common
 * option "allow-interaction" (b) is always accepted. */
gboolean hdd_options_check (GVariant            *options,
                            const HddOptionSpec *spec,
                            GError             **error);

/* hdd_options_check() for a method call: on failure returns the error to
 * the caller of @invocation and FALSE. */
gboolean hdd_options_check_call (GDBusMethodInvocation *invocation,
                                 GVariant              *options,
                                 const HddOptionSpec   *spec);

/* The boolean option @name, or @fallback when absent.  Call after
 * hdd_options_check() has vouched for the type. */
gboolean hdd_options_get_boolean (GVariant   *options,
                                  const char *name,
                                  gboolean    fallback);

G_END_DECLS
