/* plots/memchart.c: memory.png and memory.svg (and .pdf), the chart of a
 * run's memory traces (`run --memory-trace`, runners/memtrace.h), drawn
 * by gnuplot from plots/memory.gp (built into the binary) with the traces
 * as inline data blocks: the data itself is in memory.csv, beside it, which
 * `gil-lab plot --chart memtrace` reads back (report/records.c) to draw
 * the same chart here. The pictures are temporaries the lab created,
 * checked and renamed into place together (plots/gnuplot.h); gnuplot's
 * messages go to memory.log, kept only when not empty. */
#define _GNU_SOURCE /* open_memstream */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_info.h"
#include "plots/gnuplot.h"
#include "plots/plot.h"

/* plots/memory.gp, embedded by the build (CMakeLists.txt). */
extern const unsigned char plot_script_memory[];
extern const size_t plot_script_memory_len;

/* A row's name on the key: only what differs among the traced rows
 * ("threads biased j=2"), the workload when nothing does. */
static void memchart_label(const rep_doc_t *doc, const rep_row_t *r, char *buf, size_t len)
{
    const run_spec_t *s = &r->run->spec;
    bool mode = false, guard = false, workers = false, params = false, alloc = false;
    for (int i = 0; i < doc->nrows; i++) {
        const rep_row_t *o = &doc->rows[i];
        if (o->run->trace.npoints == 0)
            continue;
        mode |= o->run->spec.mode != s->mode;
        guard |= o->run->spec.guard != s->guard;
        alloc |= o->run->spec.allocator != s->allocator;
        workers |= o->run->spec.workers != s->workers;
        params |= strcmp(o->params, r->params) != 0;
    }
    size_t used = 0;
    buf[0] = '\0';
#define MEMCHART_ADD(...)                                                      \
    do {                                                                       \
        int w_ = snprintf(buf + used, len - used, __VA_ARGS__);                \
        if (w_ > 0 && (size_t)w_ < len - used)                                 \
            used += (size_t)w_;                                                \
    } while (0)
    if (mode)
        MEMCHART_ADD("%s%s", used ? " " : "", run_mode_name(s->mode));
    if (guard)
        MEMCHART_ADD("%s%s", used ? " " : "", guard_name(s->guard));
    if (alloc)
        MEMCHART_ADD("%s%s", used ? " " : "", heap_kind_name(s->allocator));
    if (workers)
        MEMCHART_ADD("%sj=%d", used ? " " : "", s->workers);
    if (params)
        MEMCHART_ADD("%s%s", used ? " " : "", r->params);
    if (used == 0)
        MEMCHART_ADD("%s %s", s->workload->name, run_mode_name(s->mode));
#undef MEMCHART_ADD
}

static bool memchart_has_heap(const memtrace_t *t)
{
    return t->npoints > 0 && isfinite(t->points[0].heap_bytes);
}

static void memchart_prelude(FILE *f, const rep_doc_t *doc, const plot_opts_t *opts)
{
    char label[256], quoted[600], title1[400], title2[700], footer[256], machine[320];
    double ymax = 0, xmax = 0;
    int n = 0;

    for (int i = 0; i < doc->nrows; i++)
        n += doc->rows[i].run->trace.npoints > 0;
    fprintf(f, "nrows = %d\narray label[%d]\narray heap[%d]\n", n, n > 0 ? n : 1, n > 0 ? n : 1);
    fputs("$mem << EOD\n", f);
    int k = 0;
    for (int i = 0; i < doc->nrows; i++) {
        const memtrace_t *t = &doc->rows[i].run->trace;
        if (t->npoints == 0)
            continue;
        if (k++ > 0)
            fputs("\n\n", f);
        for (size_t p = 0; p < t->npoints; p++) {
            double heap = t->points[p].heap_bytes / 1048576.0, rss = t->points[p].rss_kib / 1024.0;
            fprintf(f, "%.6f %.6f %.6f\n", t->points[p].t_s, isfinite(heap) ? heap : NAN, rss);
            ymax = fmax(ymax, fmax(isfinite(heap) ? heap : 0, rss));
            xmax = fmax(xmax, t->points[p].t_s);
        }
    }
    fputs("EOD\n$gc << EOD\n", f);
    k = 0;
    for (int i = 0; i < doc->nrows; i++) {
        const memtrace_t *t = &doc->rows[i].run->trace;
        if (t->npoints == 0)
            continue;
        if (k++ > 0)
            fputs("\n\n", f);
        if (t->ngcs == 0)
            fputs("NaN 0 0\n", f);
        for (size_t g = 0; g < t->ngcs; g++)
            fprintf(f, "%.6f %d %.6f\n", t->gcs[g].t_s, t->gcs[g].generation, t->gcs[g].pause_s * 1e3);
    }
    fputs("EOD\n", f);
    k = 0;
    for (int i = 0; i < doc->nrows; i++) {
        const rep_row_t *r = &doc->rows[i];
        if (r->run->trace.npoints == 0)
            continue;
        k++;
        memchart_label(doc, r, label, sizeof label);
        gp_quote(quoted, sizeof quoted, label);
        fprintf(f, "label[%d] = %s\nheap[%d] = %d\n", k, quoted, k, memchart_has_heap(&r->run->trace));
    }
    const run_spec_t *first = &doc->rows[0].run->spec;
    snprintf(title1, sizeof title1, "Memory over time: %s (sampled every %.0f ms)", first->workload->name,
             (first->sample_interval_us ? (double)first->sample_interval_us : MEMTRACE_DEFAULT_INTERVAL_US) / 1e3);
    rep_machine_line(doc->ctx, machine, sizeof machine);
    snprintf(title2, sizeof title2, "%s; %s", machine, doc->ctx->os);
    snprintf(footer, sizeof footer, "gil-lab %s (%s), %s", GL_VERSION, GL_GIT_REV, doc->ctx->date);
    gp_quote(quoted, sizeof quoted, opts->title ? opts->title : title1);
    fprintf(f, "title1 = %s\n", quoted);
    gp_quote(quoted, sizeof quoted, title2);
    fprintf(f, "title2 = %s\n", quoted);
    gp_quote(quoted, sizeof quoted, footer);
    fprintf(f, "footer = %s\nymax = %.6f\nxmax = %.6f\n", quoted, ymax > 0 ? ymax : 1, xmax > 0 ? xmax : 1);
}

plot_status_t plot_memory(const rep_outdir_t *d, const rep_doc_t *doc, const plot_opts_t *opts,
                          plot_drawn_t *drawn, char *err, size_t errlen)
{
    plot_status_t status = PLOT_FAILED;
    char *prelude = NULL;
    size_t prelude_len = 0;

    if (!rep_has_memtrace(doc)) {
        snprintf(err, errlen, "no row has a memory trace (run --memory-trace)");
        return PLOT_FAILED;
    }
    FILE *f = open_memstream(&prelude, &prelude_len);
    if (f == NULL) {
        snprintf(err, errlen, "out of memory");
        return PLOT_FAILED;
    }
    gp_theme_prelude(f, opts);
    memchart_prelude(f, doc, opts);
    if (fclose(f) != 0 || prelude == NULL)
        snprintf(err, errlen, "out of memory");
    else
        status = gp_draw_pictures(d, "memory", prelude, plot_script_memory, plot_script_memory_len,
                                  opts->formats, err, errlen);
    free(prelude);
    if (status == PLOT_DRAWN)
        plot_drawn_add(drawn, "memory");
    return status;
}
