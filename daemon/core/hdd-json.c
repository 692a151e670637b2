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
              /* The four hex digits that follow are plain bytes to the scan. */
              if (c == 'u' && n - i > 4 && memcmp (data + i + 1, "0000", 4) == 0)
                return refuse (error, "a string holds a NUL character (\\u0000, at byte %"
                               G_GSIZE_FORMAT ")", i - 1);
              escaped = FALSE;
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
