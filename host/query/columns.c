/* Column helpers used by the vtab, the context decoder and extension mode. */
#include "host/query/columns.h"

#include <string.h>

const char *orchard_column_type_name(orchard_column_type type)
{
    switch (type) {
    case ORCHARD_TYPE_INTEGER: return "INTEGER";
    case ORCHARD_TYPE_BIGINT: return "BIGINT";
    case ORCHARD_TYPE_UNSIGNED_BIGINT: return "UNSIGNED BIGINT";
    case ORCHARD_TYPE_DOUBLE: return "DOUBLE";
    case ORCHARD_TYPE_BLOB: return "BLOB";
    case ORCHARD_TYPE_TEXT:
    default: return "TEXT";
    }
}

int orchard_column_takes_constraints(const orchard_column *col)
{
    return (col->options & (ORCHARD_COLUMN_INDEX | ORCHARD_COLUMN_REQUIRED |
                            ORCHARD_COLUMN_ADDITIONAL)) != 0;
}

const orchard_column *orchard_table_column(const orchard_table *table, const char *name)
{
    for (size_t i = 0; i < table->n_columns; i++)
        if (strcmp(table->columns[i]->name, name) == 0)
            return table->columns[i];
    return NULL;
}
