/* Where hostdevctl writes: failures to stderr, the rest to stdout, which
 * may be a terminal. */
#pragma once

#include <stdio.h>

#include <glib.h>

G_BEGIN_DECLS

/* Prints "hostdevctl: MESSAGE" to stderr, with the D-Bus decoration of a
 * remote error stripped and bus failures told in words; returns
 * HDC_EXIT_FAILURE. */
int hdc_output_fail (GError *error);

gboolean hdc_output_is_terminal (FILE *stream);

/* Columns of the terminal on stdout, 0 when it is not a terminal. */
guint hdc_output_terminal_width (void);

G_END_DECLS
