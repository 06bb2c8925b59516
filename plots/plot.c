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
 * The same machinery (plot_draw) draws throughput.png (the bars again, as
 * single ÷ row), latency.png (plots/latency.gp) and the GIL timelines
 * (plots/timeline.gp, data from report/trace.c).
 *
 * The only free text that reaches gnuplot's parser is the title and the
 * footer, passed as single-quoted gnuplot strings with quotes doubled and
 * control characters blanked. gnuplot's messages go to chart.log, kept only
 * when not empty.
 */
#define _GNU_SOURCE /* fdopendir of an openat descriptor */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build_info.h"
#include "gil/gil.h"
#include "plots/gnuplot.h"
#include "report/report.h"

/* plots/bars.gp, timeline.gp and latency.gp, embedded by the build
 * (CMakeLists.txt). */
extern const unsigned char plot_script[], timeline_script[], latency_script[];
extern const size_t plot_script_len, timeline_script_len, latency_script_len;

/* One chart: its files are <base>.png, <base>.svg and <base>.log, its data
 * `data`, its script and the gnuplot variables that go before it. */
typedef struct plot_job {
    const char *base;
    rep_output_t data;
    const unsigned char *script;
    size_t script_len;
    const char *vars;
} plot_job_t;

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

/* The bar of row r: its median, min and max wall time in `unit`, or
 * (relative) its throughput relative to single, single's median ÷ its
 * median, with single's median ÷ its slowest and ÷ its fastest run.
 * False when the row has no such bar (no single row to compare with). */
static bool bar_of(const rep_row_t *r, bool relative, rep_unit_t unit, double v[3])
{
    if (!relative) {
        v[0] = r->wall.median * unit.scale;
        v[1] = r->wall.min * unit.scale;
        v[2] = r->wall.max * unit.scale;
        return true;
    }
    if (!isfinite(r->speedup) || r->wall.max <= 0 || r->wall.min <= 0)
        return false;
    double single = r->speedup * r->wall.median;
    v[0] = r->speedup;
    v[1] = single / r->wall.max;
    v[2] = single / r->wall.min;
    return true;
}

/* chart.dat or throughput.dat. */
static int write_bars(FILE *f, const rep_doc_t *doc, bool relative)
{
    plot_layout_t L;
    char label[128];

    if (layout_build(doc, &L) < 0)
        return -1;
    fprintf(f, "# gil-lab chart data for plots/bars.gp: x, median, min, max (%s)\n",
            relative ? "single's median / the row's" : L.unit.name);
    for (int s = 0; s < L.nseries; s++) {
        const run_spec_t *ss = &doc->rows[L.series[s]].run->spec;
        series_label(ss, label, sizeof label);
        fprintf(f, "\"%s\" median min max\n", label);
        for (int c = 0; c < L.nclusters; c++) {
            const run_spec_t *cs = &doc->rows[L.clusters[c]].run->spec;
            for (int i = 0; i < doc->nrows; i++) {
                const rep_row_t *r = &doc->rows[i];
                double v[3];
                if (!same_series(&r->run->spec, ss) || !same_cluster(&r->run->spec, cs) ||
                    !bar_of(r, relative, L.unit, v))
                    continue;
                fprintf(f, "%d %.9g %.9g %.9g\n", c * (L.nseries + 1) + s, v[0], v[1], v[2]);
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

/* chart.dat; a rep_fill_fn. */
static int write_data(FILE *f, const rep_doc_t *doc)
{
    return write_bars(f, doc, false);
}

/* throughput.dat; a rep_fill_fn. */
static int write_throughput(FILE *f, const rep_doc_t *doc)
{
    return write_bars(f, doc, true);
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

/* Draw one chart: its data, then each format through gnuplot
 * (plots/gnuplot.c) into a temporary, and all renamed together. */
static plot_status_t plot_draw(const rep_outdir_t *d, const plot_job_t *job, const rep_doc_t *doc,
                               char *err, size_t errlen)
{
    char names[GP_NFORMATS][128], log_name[128], vars[4200];
    rep_file_t pictures[GP_NFORMATS], log = {.fd = -1};
    plot_status_t status = PLOT_FAILED;

    for (int k = 0; k < GP_NFORMATS; k++) {
        pictures[k] = (rep_file_t){.fd = -1};
        snprintf(names[k], sizeof names[k], "%s.%s", job->base, gp_formats[k].term);
    }
    snprintf(log_name, sizeof log_name, "%s.log", job->base);
    snprintf(vars, sizeof vars, "%s; data='%s'", job->vars, job->data.name);
    if (rep_write_files(d, &job->data, 1, doc, err, errlen) < 0 ||
        rep_file_create(&log, d, log_name, err, errlen) < 0)
        goto done;
    for (int k = 0; k < GP_NFORMATS; k++) {
        if (rep_file_create(&pictures[k], d, names[k], err, errlen) < 0)
            goto done;
        status = gp_draw(d->fd, vars, job->script, job->script_len, &gp_formats[k], pictures[k].fd, names[k],
                         log.fd, log_name, err, errlen);
        if (status != PLOT_DRAWN)
            goto done;
    }
    status = rep_file_commit(pictures, GP_NFORMATS, err, errlen) == 0 ? PLOT_DRAWN : PLOT_FAILED;
done:
    rep_file_discard(pictures, GP_NFORMATS);
    finish_log(&log);
    return status;
}

plot_status_t plot_chart(const rep_outdir_t *d, const rep_doc_t *doc, char *err, size_t errlen)
{
    char vars[4096];
    plot_layout_t L;

    if (doc->nrows < 1) {
        snprintf(err, errlen, "no rows");
        return PLOT_FAILED;
    }
    if (layout_build(doc, &L) < 0) {
        snprintf(err, errlen, "too many bars for one chart (more than %d series or %d clusters)",
                 PLOT_MAX_SERIES, PLOT_MAX_CLUSTERS);
        return PLOT_FAILED;
    }
    chart_variables(doc, &L, vars, sizeof vars);
    plot_job_t job = {"chart", {"chart.dat", write_data}, plot_script, plot_script_len, vars};
    return plot_draw(d, &job, doc, err, errlen);
}

plot_status_t plot_throughput(const rep_outdir_t *d, const rep_doc_t *doc, char *err, size_t errlen)
{
    char vars[4600];
    plot_layout_t L;
    bool any = false;

    for (int i = 0; i < doc->nrows; i++)
        any |= doc->rows[i].run->spec.mode != RUN_MODE_single && isfinite(doc->rows[i].speedup);
    if (!any || layout_build(doc, &L) < 0)
        return PLOT_DRAWN;   /* nothing relative to draw, or the wall chart said why */
    chart_variables(doc, &L, vars, sizeof vars);
    size_t used = strlen(vars);
    snprintf(vars + used, sizeof vars - used,
             "; valuefmt='%%.2fx'; ylabel='throughput ÷ single, higher is better'; "
             "note='bars: median of single ÷ median of the row; error bars: ÷ its slowest and ÷ its "
             "fastest run'");
    plot_job_t job = {"throughput", {"throughput.dat", write_throughput}, plot_script, plot_script_len, vars};
    return plot_draw(d, &job, doc, err, errlen);
}

/* title1, title2 and footer for a chart of `what` about row r (NULL: the
 * whole doc), as gnuplot assignments. */
static void titles(const rep_doc_t *doc, const char *what, char *vars, size_t len)
{
    char title2[664], footer[256], machine[320], q1[1300], q2[1332], q3[540];

    rep_machine_line(doc->ctx, machine, sizeof machine);
    snprintf(title2, sizeof title2, "%s; %s", machine, doc->ctx->os);
    snprintf(footer, sizeof footer, "gil-lab %s (%s), %s", GL_VERSION, GL_GIT_REV, doc->ctx->date);
    gp_quote(q1, sizeof q1, what);
    gp_quote(q2, sizeof q2, title2);
    gp_quote(q3, sizeof q3, footer);
    snprintf(vars, len, "title1=%s; title2=%s; footer=%s", q1, q2, q3);
}

plot_status_t plot_timeline(const rep_outdir_t *d, const rep_doc_t *doc, int index, char *err,
                            size_t errlen)
{
    const rep_row_t *r = &doc->rows[0];
    const run_spec_t *s = &r->run->spec;
    char base[32], data[40], what[400], vars[4096], sub[300], lock[64];
    size_t used;

    snprintf(base, sizeof base, index > 0 ? "timeline-%d" : "timeline", index);
    snprintf(data, sizeof data, "%s.dat", base);
    bool old_gil = false, new_gil = false;
    for (int i = 0; i < doc->nrows; i++) {
        guard_kind_t g = doc->rows[i].run->spec.guard;
        old_gil |= g == GUARD_gil_old;
        new_gil |= g != GUARD_gil_old && guard_get(g)->has_gil;
    }
    int n = 0;
    lock[0] = '\0';
    if (new_gil)
        n = snprintf(lock, sizeof lock, "switch interval %g ms", (double)s->switch_interval_us / 1000);
    if (old_gil)
        snprintf(lock + n, sizeof lock - (size_t)n, "%sgil-old: a release every %d ticks", n ? ", " : "",
                 s->check_interval ? s->check_interval : GIL_OLD_DEFAULT_CHECK_INTERVAL);
    if (doc->nrows > 1)
        snprintf(what, sizeof what, "GIL timelines: %s %s, %d workers", s->workload->name,
                 run_mode_name(s->mode), s->workers);
    else
        snprintf(what, sizeof what, "GIL timeline: %s %s %s, %d worker%s", s->workload->name,
                 run_mode_name(s->mode), guard_name(s->guard), s->workers, s->workers == 1 ? "" : "s");
    titles(doc, what, vars, sizeof vars);
    used = strlen(vars);
    char subline[400];
    snprintf(subline, sizeof subline, "%s%s%s", lock, lock[0] && r->params[0] ? "; " : "", r->params);
    gp_quote(sub, sizeof sub, subline);
    snprintf(vars + used, sizeof vars - used, "; sub=%s; nlanes=%d; from_ms=%lld; to_ms=%lld", sub,
             rep_timeline_lanes(doc), (long long)doc->window_from_ms,
             (long long)(doc->window_from_ms + doc->window_len_ms));
    plot_job_t job = {base, {data, rep_timeline_data}, timeline_script, timeline_script_len, vars};
    return plot_draw(d, &job, doc, err, errlen);
}

/* latency.dat: per row with a client, its label, p50, p90, p99, max (ms). */
static int write_latency(FILE *f, const rep_doc_t *doc)
{
    int x = 0;
    fputs("# gil-lab latency data for plots/latency.gp: x, p50, p90, p99, p99.9, max (ms), label\n", f);
    for (int i = 0; i < doc->nrows; i++) {
        const rep_row_t *r = &doc->rows[i];
        const run_spec_t *s = &r->run->spec;
        const double *m = r->med;
        if (!isfinite(m[REP_F_requests]))
            continue;
        char label[160], who[32];
        if (s->workload->build_background == NULL)
            snprintf(who, sizeof who, "j=%d", s->workers);
        else if (s->workers == 1)
            snprintf(who, sizeof who, "alone");
        else
            snprintf(who, sizeof who, "+%d CPU", s->workers - 1);
        snprintf(label, sizeof label, "%s %s %s, %g ms", run_mode_name(s->mode), guard_name(s->guard), who,
                 (double)s->switch_interval_us / 1000);
        fprintf(f, "%d %.9g %.9g %.9g %.9g %.9g \"%s\"\n", x++, m[REP_F_lat_p50_s] * 1e3, m[REP_F_lat_p90_s] * 1e3,
                m[REP_F_lat_p99_s] * 1e3, m[REP_F_lat_p999_s] * 1e3, m[REP_F_lat_max_s] * 1e3, label);
    }
    return ferror(f) ? -1 : 0;
}

plot_status_t plot_latency(const rep_outdir_t *d, const rep_doc_t *doc, char *err, size_t errlen)
{
    char vars[4096], what[300];
    int n = 0;

    for (int i = 0; i < doc->nrows; i++)
        n += isfinite(doc->rows[i].med[REP_F_requests]);
    if (n == 0)
        return PLOT_DRAWN;   /* no row has a client: nothing to draw */
    snprintf(what, sizeof what, "Request latency: %s (median of the repeats' percentiles)",
             doc->rows[0].run->spec.workload->name);
    titles(doc, what, vars, sizeof vars);
    size_t used = strlen(vars);
    snprintf(vars + used, sizeof vars - used, "; nrows=%d", n);
    plot_job_t job = {"latency", {"latency.dat", write_latency}, latency_script, latency_script_len, vars};
    return plot_draw(d, &job, doc, err, errlen);
}

/* Whether a folder entry is a chart, trace or memory file a run writes:
 * chart.*, latency.*, throughput.*, timeline*.*, trace-N.json, memory.*. */
static bool is_chart_file(const char *name)
{
    static const char *const prefixes[] = {"chart.", "latency.", "throughput.", "timeline", "trace-", "memory."};
    for (size_t k = 0; k < sizeof prefixes / sizeof prefixes[0]; k++)
        if (strncmp(name, prefixes[k], strlen(prefixes[k])) == 0)
            return true;
    return false;
}

int plot_remove(const rep_outdir_t *d, char *err, size_t errlen)
{
    int fd = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    int rc = 0;

    if (dir == NULL) {
        snprintf(err, errlen, "cannot list %s: %s", d->path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    while (rc == 0 && (e = readdir(dir)) != NULL)
        if (is_chart_file(e->d_name) && strstr(e->d_name, ".tmp") == NULL)
            rc = rep_outdir_remove(d, e->d_name, err, errlen);
    closedir(dir);
    return rc;
}
