/* Tables for people: aligned columns, cut to the terminal. */
#pragma once

#include <stdio.h>

#include <glib.h>

G_BEGIN_DECLS

typedef struct _HdcTable HdcTable;

HdcTable *hdc_table_new (const char *first_header,
                         ...) G_GNUC_NULL_TERMINATED;
void hdc_table_free (HdcTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HdcTable, hdc_table_free)

void hdc_table_align_right (HdcTable *table,
                            guint     column);

/* Exactly one cell per column; NULL and "" are shown as "-". */
void hdc_table_add_row (HdcTable *table,
                        const char *first_cell,
                        ...);

/* Prints with aligned columns; on a terminal the last column is cut so that
 * lines do not wrap. */
void hdc_table_print (HdcTable *table,
                      FILE     *out);

G_END_DECLS
