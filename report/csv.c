/* report/csv.c: results.csv. One header line from rep_columns, one line per
 * (workload, mode, guard, allocator, workers, size) row, RFC 4180 quoting.
 * The header is a contract (scripts and notebooks index columns by name):
 * new columns are only ever appended. A value that does not exist (stddev
 * of one repeat, speedup without a single row) is an empty cell.
 */
#include <string.h>

#include "report/report.h"

/* s as one CSV field, quoted when it holds a separator, quote or newline. */
static void csv_string(FILE *f, const char *s)
{
    if (!s[strcspn(s, ",\"\r\n")]) {
        fputs(s, f);
        return;
    }
    putc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            putc('"', f);
        putc(*s, f);
    }
    putc('"', f);
}

void rep_csv_header(FILE *f)
{
    for (int c = 0; c < rep_ncolumns; c++) {
        if (c)
            putc(',', f);
        fputs(rep_columns[c].name, f);
    }
    putc('\n', f);
}

static void csv_row(FILE *f, const rep_row_t *r)
{
    char buf[64];

    for (int c = 0; c < rep_ncolumns; c++) {
        rep_value_t v = rep_columns[c].get(r);
        if (c)
            putc(',', f);
        if (v.type == REP_V_STR)
            csv_string(f, v.s);
        else if (rep_value_format(v, buf, sizeof buf))
            fputs(buf, f);
    }
    putc('\n', f);
}

int rep_csv_write(FILE *f, const rep_doc_t *doc)
{
    rep_csv_header(f);
    for (int i = 0; i < doc->nrows; i++)
        csv_row(f, &doc->rows[i]);
    return ferror(f) ? -1 : 0;
}

int rep_csv_fill(FILE *f, const rep_doc_t *doc, const void *arg)
{
    (void)arg;
    return rep_csv_write(f, doc);
}
