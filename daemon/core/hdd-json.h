/* Bounds on JSON text from outside (mdevctl definitions, QMP events),
 * checked before json-glib sees it.
 *
 * json-glib 1.6's parser recurses once per nesting level, with no limit of
 * its own: 100000 '[' exhaust the stack and kill the daemon.  Its lexer
 * (GScanner) also accepts more than JSON — single-quoted strings and C
 * comments, and escapes JSON has not, octal ones among them — and turns an
 * escaped NUL ("\u0000", "\0") into the end of the C string it returns,
 * silently: "x\u0000y" reads back as "x", and the length json-glib saw is
 * not kept.  Half a surrogate pair ("\ud800") comes out as bytes that are
 * not UTF-8, which no D-Bus string may carry.  So the text is scanned once here, byte by
 * byte, with the lexical state of JSON (inside a string, after a
 * backslash): the nesting depth is counted outside strings, and anything
 * that would make json-glib's view differ from this scan's is refused.
 * A streaming reader with a depth count was the alternative; json-glib has
 * none that does not build the tree recursively, and this scan is 60 lines
 * that run in O(n) without allocating. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Checks @len bytes at @data (@len -1: up to a NUL, at most @max_size + 1
 * bytes looked at).  Fails with HDD_ERROR_INVALID_ARGUMENT and a sentence
 * (no prefix: the caller says what the text is) when the text is longer
 * than @max_size bytes, nests arrays and objects deeper than @max_depth
 * (the outermost counts as 1), holds a NUL byte or a "\u0000" escape or
 * half a surrogate pair, an escape JSON does not have ("\0", "\x41"), or
 * something outside strings that is not JSON but that json-glib would take
 * (a single quote, a comment). */
gboolean hdd_json_check_bounds (const char *data,
                                gssize      len,
                                gsize       max_size,
                                guint       max_depth,
                                GError    **error);

G_END_DECLS
