/* plots/plot.c: the chart of a results folder, drawn by gnuplot.
 *
 * The chart is clustered bars: one cluster per (workload, guard, allocator),
 * one bar per (mode, workers) series, height the median wall time, error bar
 * from the fastest to the slowest repeat. This file lays the bars out (x
 * positions, one data block per series; the format is described at the top
 * of plots/bars.gp), writes them to chart.dat, and runs gnuplot as a program
 * (fork + execvp, no shell) once per picture, inside the results folder:
 *
 *     gnuplot -   < "<variables>; term='png'" + bars.gp, built into the binary
 *                 > chart.png.tmp
 *                2> chart.log.tmp
 *
 * and the same with term='svg' (plots/gnuplot.c runs gnuplot and checks
 * each picture: why the script comes on stdin and the picture goes to
 * stdout is explained there). The two pictures are temporaries the lab
 * created exclusively in the folder (report/outdir.c), renamed into place
 * together, or neither: no chart beats a broken one.
 *
 * The only free text that reaches gnuplot's parser is the title and the
 * footer, passed as single-quoted gnuplot strings with quotes doubled and
 * control characters blanked. gnuplot's messages go to chart.log, kept only
 * when not empty.
 */
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "build_info.h"
#include "gil/gil.h"
#include "plots/gnuplot.h"
#include "report/report.h"

/* plots/bars.gp, embedded by the build (CMakeLists.txt). */
extern const unsigned char plot_script[];
extern const size_t plot_script_len;

#define PLOT_MAX_SERIES 32
#define PLOT_MAX_CLUSTERS 32

typedef struct plot_layout {
    int series[PLOT_MAX_SERIES];     /* first row of each (mode, workers) */
    int clusters[PLOT_MAX_CLUSTERS]; /* first row of each (workload, guard, allocator) */
    int nseries, nclusters;
    bool one_workload, one_size;
    int runs;                        /* repeats of every row, 0 when they differ */
    rep_unit_t unit;                 /* the table's unit for the longest bar */
} plot_layout_t;

typedef bool (*plot_same_fn)(const run_spec_t *a, const run_spec_t *b);

static bool same_series(const run_spec_t *a, const run_spec_t *b)
{
    return a->mode == b->mode && a->workers == b->workers;
}

static bool same_cluster(const run_spec_t *a, const run_spec_t *b)
{
    return a->workload == b->workload && a->guard == b->guard && a->allocator == b->allocator;
}

/* Position of row's group in list, appended when new; -1 when list is full. */
static int group_of(const rep_doc_t *doc, int row, int *list, int *n, int max, plot_same_fn same)
{
    const run_spec_t *spec = &doc->rows[row].run->spec;

    for (int k = 0; k < *n; k++)
        if (same(&doc->rows[list[k]].run->spec, spec))
            return k;
    if (*n == max)
        return -1;
    list[*n] = row;
    return (*n)++;
}

/* Returns 0, or -1 when the rows need more bars than one chart can show. */
static int layout_build(const rep_doc_t *doc, plot_layout_t *L)
{
    const run_spec_t *first = &doc->rows[0].run->spec;
    double top = 0.0;

    memset(L, 0, sizeof *L);
    L->one_workload = L->one_size = true;
    L->runs = doc->rows[0].wall.n;
    for (int i = 0; i < doc->nrows; i++) {
        const rep_row_t *r = &doc->rows[i];
        if (group_of(doc, i, L->series, &L->nseries, PLOT_MAX_SERIES, same_series) < 0 ||
            group_of(doc, i, L->clusters, &L->nclusters, PLOT_MAX_CLUSTERS, same_cluster) < 0)
            return -1;
        L->one_workload &= r->run->spec.workload == first->workload;
        L->one_size &= r->run->spec.size == first->size;
        if (r->wall.n != L->runs)
            L->runs = 0;
        if (r->wall.max > top)
            top = r->wall.max;
    }
    L->unit = rep_time_unit(top);
    return 0;
}

static void series_label(const run_spec_t *s, char *buf, size_t len)
{
    if (s->mode == RUN_MODE_single)
        snprintf(buf, len, "%s", run_mode_name(s->mode));
    else
        snprintf(buf, len, "%s j=%d", run_mode_name(s->mode), s->workers);
}

static void cluster_label(const run_spec_t *s, bool one_workload, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s / %s", one_workload ? "" : s->workload->name,
             one_workload ? "" : ": ", guard_name(s->guard), heap_kind_name(s->allocator));
}

/* chart.dat; a rep_fill_fn. */
static int write_data(FILE *f, const rep_doc_t *doc)
{
    plot_layout_t L;
    char label[128];

    if (layout_build(doc, &L) < 0)
        return -1;
    fprintf(f, "# gil-lab chart data for plots/bars.gp: x, median, min, max (%s)\n", L.unit.name);
    for (int s = 0; s < L.nseries; s++) {
        const run_spec_t *ss = &doc->rows[L.series[s]].run->spec;
        series_label(ss, label, sizeof label);
        fprintf(f, "\"%s\" median min max\n", label);
        for (int c = 0; c < L.nclusters; c++) {
            const run_spec_t *cs = &doc->rows[L.clusters[c]].run->spec;
            for (int i = 0; i < doc->nrows; i++) {
                const rep_row_t *r = &doc->rows[i];
                if (!same_series(&r->run->spec, ss) || !same_cluster(&r->run->spec, cs))
                    continue;
                fprintf(f, "%d %.9g %.9g %.9g\n", c * (L.nseries + 1) + s,
                        r->wall.median * L.unit.scale, r->wall.min * L.unit.scale,
                        r->wall.max * L.unit.scale);
            }
        }
        fputs("\n\n", f);
    }
    fputs("# cluster centres and labels\n", f);
    for (int c = 0; c < L.nclusters; c++) {
        cluster_label(&doc->rows[L.clusters[c]].run->spec, L.one_workload, label, sizeof label);
        fprintf(f, "%.1f \"%s\"\n", c * (L.nseries + 1) + (L.nseries - 1) / 2.0, label);
    }
    return ferror(f) ? -1 : 0;
}

/* Append ", " (unless first) and the formatted item to buf. Cannot fail
 * (truncates). */
static void __attribute__((format(printf, 4, 5)))
list_add(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
    va_list ap;
    int w;

    if (*used && *used < len && (w = snprintf(buf + *used, len - *used, ", ")) > 0)
        *used += (size_t)w;
    if (*used >= len)
        return;
    va_start(ap, fmt);
    w = vsnprintf(buf + *used, len - *used, fmt, ap);
    va_end(ap);
    if (w > 0)
        *used += (size_t)w;
}

/* The run's settings that differ from the defaults, spelled as the options
 * that set them ("-P length=7, --no-immortal, --switch-interval 1000, --pin
 * cores, --interleave"), so that a slide says how to reproduce it. The CLI
 * gives every row the same settings; the first row's stand for all. */
static void settings_line(const rep_doc_t *doc, char *buf, size_t len)
{
    const run_spec_t *s = &doc->rows[0].run->spec;
    const workload_t *wl = s->workload;
    size_t used = 0;

    buf[0] = '\0';
    for (int p = 0; p < wl->nparams; p++)
        if (s->params[p] != wl->params[p].def)
            list_add(buf, len, &used, "-P %s=%lld", wl->params[p].name, (long long)s->params[p]);
    if (!s->immortal)
        list_add(buf, len, &used, "--no-immortal");
    if (s->switch_interval_us != GIL_DEFAULT_INTERVAL_US)
        list_add(buf, len, &used, "--switch-interval %llu",
                 (unsigned long long)s->switch_interval_us);
    if (s->pin != RUN_PIN_NONE)
        list_add(buf, len, &used, "--pin %s", rep_pin_name(s->pin));
    if (doc->interleaved)
        list_add(buf, len, &used, "--interleave");
}

/* The gnuplot variables common to both pictures, as one line of commands. */
static void chart_variables(const rep_doc_t *doc, const plot_layout_t *L, char *vars,
                            size_t len)
{
    char title1[640], title2[664], footer[256], machine[320], size[32], settings[480];
    char q1[1300], q2[1332], q3[540];
    const run_spec_t *first = &doc->rows[0].run->spec;

    rep_fmt_count((double)first->size, size, sizeof size);
    settings_line(doc, settings, sizeof settings);
    if (L->one_workload && L->one_size)
        snprintf(title1, sizeof title1, "%s, n=%s%s%s", first->workload->name, size,
                 settings[0] ? ", " : "", settings);
    else
        snprintf(title1, sizeof title1, "%s%s%s",
                 L->one_workload ? first->workload->name : "gil-lab", settings[0] ? ", " : "",
                 settings);
    rep_machine_line(doc->ctx, machine, sizeof machine);
    snprintf(title2, sizeof title2, "%s; %s", machine, doc->ctx->os);
    snprintf(footer, sizeof footer, "gil-lab %s (%s), %s", GL_VERSION, GL_GIT_REV,
             doc->ctx->date);
    gp_quote(q1, sizeof q1, title1);
    gp_quote(q2, sizeof q2, title2);
    gp_quote(q3, sizeof q3, footer);
    snprintf(vars, len,
             "nseries=%d; nclusters=%d; runs=%d; unit='%s'; valuefmt='%%.%df'; "
             "title1=%s; title2=%s; footer=%s",
             L->nseries, L->nclusters, L->runs, L->unit.name, L->unit.decimals, q1, q2, q3);
}

/* Keep gnuplot's log when it said anything, else drop it. */
static void finish_log(rep_file_t *log)
{
    struct stat st;
    char ignored[128];

    if (log->pending && fstat(log->fd, &st) == 0 && st.st_size > 0)
        rep_file_commit(log, 1, ignored, sizeof ignored);
    else
        rep_file_discard(log, 1);
}

plot_status_t plot_chart(const rep_outdir_t *d, const rep_doc_t *doc, char *err, size_t errlen)
{
    static const rep_output_t data = {"chart.dat", write_data};
    char vars[4096], names[GP_NFORMATS][16];
    rep_file_t pictures[GP_NFORMATS], log = {.fd = -1};
    plot_layout_t L;
    plot_status_t status = PLOT_FAILED;

    for (int k = 0; k < GP_NFORMATS; k++) {
        pictures[k] = (rep_file_t){.fd = -1};
        snprintf(names[k], sizeof names[k], "chart.%s", gp_formats[k].term);
    }
    if (doc->nrows < 1) {
        snprintf(err, errlen, "no rows");
        return PLOT_FAILED;
    }
    if (layout_build(doc, &L) < 0) {
        snprintf(err, errlen, "too many bars for one chart (more than %d series or %d clusters)",
                 PLOT_MAX_SERIES, PLOT_MAX_CLUSTERS);
        return PLOT_FAILED;
    }
    if (rep_write_files(d, &data, 1, doc, err, errlen) < 0 ||
        rep_file_create(&log, d, "chart.log", err, errlen) < 0)
        goto done;
    chart_variables(doc, &L, vars, sizeof vars);
    for (int k = 0; k < GP_NFORMATS; k++) {
        if (rep_file_create(&pictures[k], d, names[k], err, errlen) < 0)
            goto done;
        status = gp_draw(d->fd, vars, plot_script, plot_script_len, &gp_formats[k],
                         pictures[k].fd, names[k], log.fd, "chart.log", err, errlen);
        if (status != PLOT_DRAWN)
            goto done;
    }
    status = rep_file_commit(pictures, GP_NFORMATS, err, errlen) == 0 ? PLOT_DRAWN : PLOT_FAILED;
done:
    rep_file_discard(pictures, GP_NFORMATS);
    finish_log(&log);
    return status;
}

int plot_remove(const rep_outdir_t *d, char *err, size_t errlen)
{
    static const char *const files[] = {"chart.png",  "chart.svg",  "chart.dat",  "chart.log",
                                        "memory.png", "memory.svg", "memory.log", "memory.csv"};

    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++)
        if (rep_outdir_remove(d, files[k], err, errlen) < 0)
            return -1;
    return 0;
}
