/* plots/plot.c: the chart of a results folder, drawn by gnuplot.
 *
 * The chart is clustered bars: one cluster per (workload, guard, allocator),
 * one bar per (mode, workers) series, height the median wall time, error bar
 * from the fastest to the slowest repeat. This file only lays the bars out
 * (x positions, one data block per series; the format is described at the
 * top of plots/bars.gp) and runs
 *
 *     gnuplot -e "<variables>" GL_PLOTS_DIR/bars.gp
 *
 * as a program (fork + execvp, no shell) inside the results folder, so that
 * every file name gnuplot sees is a constant. The only free text that reaches
 * gnuplot's parser is the title and the footer, passed as single-quoted
 * gnuplot strings with quotes doubled and control characters blanked.
 * gnuplot writes chart.png.tmp and chart.svg.tmp, renamed into place only
 * when it succeeds; its output goes to chart.log (removed when empty).
 * A missing or failing gnuplot is not an error of the run: the caller says
 * "chart skipped" and the CSV and JSON stand.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build_info.h"
#include "report/report.h"

#ifndef GL_PLOTS_DIR
#error "GL_PLOTS_DIR (the absolute path of plots/) must be defined by the build"
#endif

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

/* src as a gnuplot single-quoted string: quotes doubled, control characters
 * blanked, truncated to fit cap (cap >= 3). */
static void gp_quote(char *dst, size_t cap, const char *src)
{
    size_t n = 0;

    dst[n++] = '\'';
    for (; *src && n + 3 < cap; src++) {
        unsigned char c = (unsigned char)*src;
        if (c == '\'')
            dst[n++] = '\'';
        dst[n++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    dst[n++] = '\'';
    dst[n] = '\0';
}

static void in_dir(char *buf, size_t len, const char *dir, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

/* Run gnuplot in dir with `vars`. Returns 0, or -1 with the reason. */
static int run_gnuplot(const char *dir, char *vars, char *err, size_t errlen)
{
    char prog[] = "gnuplot", opt[] = "-e", script[] = GL_PLOTS_DIR "/bars.gp";
    char *argv[] = {prog, opt, vars, script, NULL};
    int status, child_errno = 0, fds[2];
    ssize_t got;
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        /* Child: only async-signal-safe calls until exec. The close-on-exec
         * pipe reports why exec failed, or closes silently when it worked. */
        int in = open("/dev/null", O_RDONLY | O_CLOEXEC), log = -1;
        close(fds[0]);
        if (chdir(dir) == 0)
            log = open("chart.log", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (log >= 0 && in >= 0 && dup2(in, 0) >= 0 && dup2(log, 1) >= 0 && dup2(log, 2) >= 0)
            execvp(prog, argv);
        child_errno = errno;
        if (write(fds[1], &child_errno, sizeof child_errno) < 0)
            _exit(126);
        _exit(127);
    }
    close(fds[1]);
    do
        got = read(fds[0], &child_errno, sizeof child_errno);
    while (got < 0 && errno == EINTR);
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            snprintf(err, errlen, "waiting for gnuplot: %s", strerror(errno));
            return -1;
        }
    }
    if (got == (ssize_t)sizeof child_errno) {
        if (child_errno == ENOENT)
            snprintf(err, errlen, "gnuplot not found (install gnuplot-nox)");
        else
            snprintf(err, errlen, "cannot run gnuplot: %s", strerror(child_errno));
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (WIFEXITED(status))
            snprintf(err, errlen, "gnuplot failed (exit %d), see %s/chart.log",
                     WEXITSTATUS(status), dir);
        else
            snprintf(err, errlen, "gnuplot killed by signal %d", WTERMSIG(status));
        return -1;
    }
    return 0;
}

int plot_chart(const char *dir, const rep_doc_t *doc, char *err, size_t errlen)
{
    static const char *const outputs[] = {"chart.png", "chart.svg"};
    char vars[3072], title1[160], title2[664], footer[256], machine[320], size[32];
    char q1[400], q2[1332], q3[540], from[PATH_MAX + 8], to[PATH_MAX];
    const run_spec_t *first;
    plot_layout_t L;
    struct stat st;
    int rc = -1;

    if (doc->nrows < 1) {
        snprintf(err, errlen, "no rows");
        return -1;
    }
    if (layout_build(doc, &L) < 0) {
        snprintf(err, errlen, "too many bars for one chart (more than %d series or %d clusters)",
                 PLOT_MAX_SERIES, PLOT_MAX_CLUSTERS);
        return -1;
    }
    if (rep_write_file(dir, "chart.dat", write_data, doc, err, errlen) < 0)
        return -1;

    first = &doc->rows[0].run->spec;
    rep_fmt_count((double)first->size, size, sizeof size);
    if (L.one_workload && L.one_size)
        snprintf(title1, sizeof title1, "%s, n=%s", first->workload->name, size);
    else
        snprintf(title1, sizeof title1, "%s", L.one_workload ? first->workload->name : "gil-lab");
    rep_machine_line(doc->ctx, machine, sizeof machine);
    snprintf(title2, sizeof title2, "%s; %s", machine, doc->ctx->os);
    snprintf(footer, sizeof footer, "gil-lab %s (%s), %s", GL_VERSION, GL_GIT_REV, doc->ctx->date);
    gp_quote(q1, sizeof q1, title1);
    gp_quote(q2, sizeof q2, title2);
    gp_quote(q3, sizeof q3, footer);
    snprintf(vars, sizeof vars,
             "nseries=%d; nclusters=%d; runs=%d; unit='%s'; valuefmt='%%.%df'; "
             "title1=%s; title2=%s; footer=%s; png='chart.png.tmp'; svg='chart.svg.tmp'",
             L.nseries, L.nclusters, L.runs, L.unit.name, L.unit.decimals, q1, q2, q3);

    if (run_gnuplot(dir, vars, err, errlen) < 0)
        goto done;
    for (size_t k = 0; k < sizeof outputs / sizeof outputs[0]; k++) {
        in_dir(to, sizeof to, dir, outputs[k]);
        snprintf(from, sizeof from, "%s.tmp", to);
        if (rename(from, to) < 0) {
            snprintf(err, errlen, "gnuplot wrote no %s: %s", outputs[k], strerror(errno));
            goto done;
        }
    }
    rc = 0;
done:
    for (size_t k = 0; k < sizeof outputs / sizeof outputs[0]; k++) {
        in_dir(to, sizeof to, dir, outputs[k]);
        snprintf(from, sizeof from, "%s.tmp", to);
        unlink(from);
    }
    in_dir(to, sizeof to, dir, "chart.log");
    if (stat(to, &st) == 0 && st.st_size == 0)
        unlink(to);
    return rc;
}
