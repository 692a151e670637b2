/* Tables for people: aligned columns, cut to the terminal. */
#include "hostdevctl-table.h"

#include <stdarg.h>

#include "hostdevctl-format.h"
#include "hostdevctl-output.h"

/* Names of the last column are never cut shorter than this, even on a
 * narrow terminal: a line that wraps beats a name nobody can read. */
#define MIN_LAST_COLUMN 20

struct _HdcTable
{
  guint      n_columns;
  GPtrArray *rows;   /* of GStrv; the first row holds the headers */
  gboolean  *right;  /* per column */
};

HdcTable *
hdc_table_new (const char *first_header,
               ...)
{
  HdcTable *table = g_new0 (HdcTable, 1);
  GPtrArray *headers = g_ptr_array_new ();
  va_list args;

  va_start (args, first_header);
  for (const char *h = first_header; h != NULL; h = va_arg (args, const char *))
    g_ptr_array_add (headers, g_strdup (h));
  va_end (args);

  table->n_columns = headers->len;
  table->right = g_new0 (gboolean, table->n_columns);
  table->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_ptr_array_add (headers, NULL);
  g_ptr_array_add (table->rows, g_ptr_array_free (headers, FALSE));
  return table;
}

void
hdc_table_free (HdcTable *table)
{
  if (table == NULL)
    return;
  g_ptr_array_unref (table->rows);
  g_free (table->right);
  g_free (table);
}

void
hdc_table_align_right (HdcTable *table,
                       guint     column)
{
  g_return_if_fail (column < table->n_columns);
  table->right[column] = TRUE;
}

void
hdc_table_add_row (HdcTable   *table,
                   const char *first_cell,
                   ...)
{
  char **row = g_new0 (char *, table->n_columns + 1);
  va_list args;

  /* The number of cells is known, so that NULL can stand for "none". */
  va_start (args, first_cell);
  for (guint i = 0; i < table->n_columns; i++)
    {
      const char *cell = i == 0 ? first_cell : va_arg (args, const char *);
      /* Cells come from hostdevd, and from other processes through it. */
      row[i] = hdc_format_escape (cell != NULL && *cell != '\0' ? cell : "-");
    }
  va_end (args);
  g_ptr_array_add (table->rows, row);
}

static void
pad (FILE *out, guint n)
{
  for (guint i = 0; i < n; i++)
    fputc (' ', out);
}

void
hdc_table_print (HdcTable *table,
                 FILE     *out)
{
  g_autofree guint *widths = g_new0 (guint, table->n_columns);
  guint last = table->n_columns - 1;
  guint terminal = out == stdout ? hdc_output_terminal_width () : 0;
  guint used = 0;
  guint last_max = G_MAXUINT;

  for (guint r = 0; r < table->rows->len; r++)
    {
      char **row = g_ptr_array_index (table->rows, r);
      for (guint c = 0; c < table->n_columns; c++)
        widths[c] = MAX (widths[c], (guint) g_utf8_strlen (row[c], -1));
    }

  for (guint c = 0; c < last; c++)
    used += widths[c] + 2;
  if (terminal > 0)
    last_max = terminal > used + MIN_LAST_COLUMN ? terminal - used : MIN_LAST_COLUMN;

  for (guint r = 0; r < table->rows->len; r++)
    {
      char **row = g_ptr_array_index (table->rows, r);

      for (guint c = 0; c < table->n_columns; c++)
        {
          guint len = g_utf8_strlen (row[c], -1);

          if (c == last)
            {
              g_autofree char *cut = hdc_format_ellipsize (row[c], last_max);

              /* No trailing blanks after the last column. */
              if (table->right[c])
                pad (out, widths[c] - len);
              fputs (cut, out);
              break;
            }
          if (table->right[c])
            pad (out, widths[c] - len);
          fputs (row[c], out);
          if (!table->right[c])
            pad (out, widths[c] - len);
          fputs ("  ", out);
        }
      fputc ('\n', out);
    }
}
