#include "hdd-json.h"

#include "hdd-error.h"

#include <string.h>

static gboolean
refuse (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
refuse (GError **error, const char *format, ...)
{
  g_autofree char *why = NULL;
  va_list args;

  va_start (args, format);
  why = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT, why);
  return FALSE;
}

static gint
hex4 (const char *p, gsize avail)
{
  gint v = 0;

  if (avail < 4)
    return -1;
  for (guint k = 0; k < 4; k++)
    {
      if (!g_ascii_isxdigit (p[k]))
        return -1;
      v = v * 16 + g_ascii_xdigit_value (p[k]);
    }
  return v;
}

/* The XXXX of "\uXXXX" at @p (and the low half of a surrogate pair after
 * it); returns the bytes it used, 0 with @error set when json-glib would
 * make a NUL or invalid UTF-8 of it ("\ud800" alone comes out as three
 * bytes that are no UTF-8, and a D-Bus string cannot carry them). */
static gsize
check_unicode_escape (const char *p, gsize avail, gsize at, GError **error)
{
  gint v = hex4 (p, avail);
  gint low;

  if (v < 0)
    return refuse (error, "it is not JSON (“\\u” without four hex digits at byte %"
                   G_GSIZE_FORMAT ")", at);
  if (v == 0)
    return refuse (error, "a string holds a NUL character (\\u0000, at byte %" G_GSIZE_FORMAT ")",
                   at);
  if (v >= 0xdc00 && v <= 0xdfff)
    return refuse (error, "a string holds half a surrogate pair (at byte %" G_GSIZE_FORMAT ")", at);
  if (v < 0xd800 || v > 0xdbff)
    return 4;
  low = avail >= 10 && p[4] == '\\' && p[5] == 'u' ? hex4 (p + 6, avail - 6) : -1;
  if (low < 0xdc00 || low > 0xdfff)
    return refuse (error, "a string holds half a surrogate pair (at byte %" G_GSIZE_FORMAT ")", at);
  return 10;
}

gboolean
hdd_json_check_bounds (const char *data,
                       gssize      len,
                       gsize       max_size,
                       guint       max_depth,
                       GError    **error)
{
  gsize n = len < 0 ? strnlen (data, max_size + 1) : (gsize) len;
  gboolean in_string = FALSE;
  gboolean escaped = FALSE;
  guint depth = 0;

  if (n > max_size)
    return refuse (error, "it is larger than %" G_GSIZE_FORMAT " bytes", max_size);
  for (gsize i = 0; i < n; i++)
    {
      char c = data[i];

      if (c == '\0')
        return refuse (error, "it holds a NUL byte (at byte %" G_GSIZE_FORMAT ")", i);
      if (in_string)
        {
          if (escaped)
            {
              escaped = FALSE;
              if (c == 'u')
                {
                  gsize used = check_unicode_escape (data + i + 1, n - i - 1, i - 1, error);

                  if (used == 0)
                    return FALSE;
                  i += used;
                }
              else if (strchr ("\"\\/bfnrt", c) == NULL)
                return refuse (error, "it is not JSON (an escape “\\%c” at byte %" G_GSIZE_FORMAT ")",
                               g_ascii_isprint (c) ? c : '?', i - 1);
            }
          else if (c == '\\')
            escaped = TRUE;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      switch (c)
        {
        case '"':
          in_string = TRUE;
          break;
        case '[':
        case '{':
          if (++depth > max_depth)
            return refuse (error, "it nests arrays and objects deeper than %u levels", max_depth);
          break;
        case ']':
        case '}':
          if (depth > 0)
            depth--;
          break;
        case '\'':
        case '/':
        case '#':
          return refuse (error, "it is not JSON (“%c” at byte %" G_GSIZE_FORMAT ")", c, i);
        default:
          break;
        }
    }
  return TRUE;
}
