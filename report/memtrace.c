/* report/memtrace.c: memory.csv, the samples of `run --memory-trace`, one
 * line per sample or collection, every row's trace after the other:
 *
 *   row,kind,t_s,rss_kib,heap_bytes,heap_blocks,generation,pause_s
 *   alloc/single/gil/pymalloc/j:1/n:1000000,sample,0.005,1624,38216,11,,
 *   cycles/single/gil/pymalloc/j:1/n:300000,gc,0.0121,,,,0,1.4e-05
 *
 * `row` is the row's name in results.csv and results.json. Fields a line
 * does not have are empty: a sample has no generation, a collection no
 * RSS, and heap figures exist only where the run was traced in the
 * sampling process (single, threads). */
#include <math.h>

#include "report/report.h"

/* A number, or nothing for NaN. */
static void memtrace_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, ",%.9g", v);
    else
        fputs(",", f);
}

int rep_memtrace_fill(FILE *f, const rep_doc_t *doc, const void *arg)
{
    (void)arg;
    fputs("row,kind,t_s,rss_kib,heap_bytes,heap_blocks,generation,pause_s\n", f);
    for (int i = 0; i < doc->nrows; i++) {
        const rep_row_t *r = &doc->rows[i];
        const memtrace_t *t = &r->run->trace;
        for (size_t k = 0; k < t->npoints; k++) {
            const memtrace_point_t *p = &t->points[k];
            fprintf(f, "%s,sample,%.9g", r->name, p->t_s);
            memtrace_num(f, p->rss_kib);
            memtrace_num(f, p->heap_bytes);
            memtrace_num(f, p->heap_blocks);
            fputs(",,\n", f);
        }
        for (size_t k = 0; k < t->ngcs; k++) {
            const memtrace_gc_t *g = &t->gcs[k];
            fprintf(f, "%s,gc,%.9g,,,,%d,%.9g\n", r->name, g->t_s, g->generation, g->pause_s);
        }
    }
    return ferror(f) ? -1 : 0;
}

bool rep_has_memtrace(const rep_doc_t *doc)
{
    for (int i = 0; i < doc->nrows; i++)
        if (doc->rows[i].run->trace.npoints > 0)
            return true;
    return false;
}
