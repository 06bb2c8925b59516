/* plots/gilcharts.c: the charts of the GIL's behaviour that are not a kind
 * of plots/kinds.c, each with a script of its own:
 *
 *   timeline   plots/timeline.gp: who held, waited for and dropped the GIL,
 *              lane per thread, over a window of one traced repeat (data:
 *              report/trace.c); timeline-N for row N, timeline for every
 *              traced row stacked on one window (gil against gil-old)
 *   latency    plots/latency.gp: a convoy server's latency percentiles,
 *              p50 as bars, p90/p99/p99.9/max as marks, log axis
 *
 * Each writes its data file (<stem>.dat) through the results folder, then
 * hands plots/theme.gp, the variables and its script to gp_draw_pictures
 * (plots/gnuplot.c): the formats asked for, checked, renamed together.
 * The same functions draw during a run and for `gil-lab plot --chart
 * timeline|latency` from the saved files (report/records.c). */
#define _GNU_SOURCE /* open_memstream */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_info.h"
#include "gil/gil.h"
#include "plots/gnuplot.h"
#include "plots/plot.h"

/* plots/timeline.gp and plots/latency.gp, embedded by the build. */
extern const unsigned char plot_script_timeline[], plot_script_latency[];
extern const size_t plot_script_timeline_len, plot_script_latency_len;

/* title1 (opts' title, or `what`), title2 and footer, as gnuplot
 * assignments. */
static void titles(const rep_doc_t *doc, const plot_opts_t *opts, const char *what, char *vars, size_t len)
{
    char title2[664], footer[256], machine[320], q1[1300], q2[1332], q3[540];

    rep_machine_line(doc->ctx, machine, sizeof machine);
    snprintf(title2, sizeof title2, "%s; %s", machine, doc->ctx->os);
    snprintf(footer, sizeof footer, "gil-lab %s (%s), %s", GL_VERSION, GL_GIT_REV, doc->ctx->date);
    gp_quote(q1, sizeof q1, opts->title ? opts->title : what);
    gp_quote(q2, sizeof q2, title2);
    gp_quote(q3, sizeof q3, footer);
    snprintf(vars, len, "title1=%s; title2=%s; footer=%s", q1, q2, q3);
}

/* <stem>.dat from fill, then the pictures. */
static plot_status_t draw(const rep_outdir_t *d, const char *stem, rep_fill_fn fill, const rep_doc_t *doc,
                          const plot_opts_t *opts, const char *vars, const unsigned char *script,
                          size_t script_len, plot_drawn_t *drawn, char *err, size_t errlen)
{
    plot_status_t status = PLOT_FAILED;
    char data[64], *prelude = NULL;
    size_t prelude_len = 0;
    FILE *f;

    snprintf(data, sizeof data, "%s.dat", stem);
    rep_output_t out = {data, fill, NULL};
    if (rep_write_files(d, &out, 1, doc, err, errlen) < 0)
        return PLOT_FAILED;
    if ((f = open_memstream(&prelude, &prelude_len)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return PLOT_FAILED;
    }
    gp_theme_prelude(f, opts);
    fprintf(f, "%s; data='%s'\n", vars, data);
    if (fclose(f) != 0 || prelude == NULL)
        snprintf(err, errlen, "out of memory");
    else
        status = gp_draw_pictures(d, stem, prelude, script, script_len, opts->formats, err, errlen);
    free(prelude);
    if (status == PLOT_DRAWN)
        plot_drawn_add(drawn, stem);
    return status;
}

/* One timeline: timeline-<index> of a one-row doc, or (index 0) timeline
 * of every row's lanes stacked. */
static plot_status_t timeline(const rep_outdir_t *d, const rep_doc_t *doc, int index, const plot_opts_t *opts,
                              plot_drawn_t *drawn, char *err, size_t errlen)
{
    const rep_row_t *r = &doc->rows[0];
    const run_spec_t *s = &r->run->spec;
    char base[32], what[400], vars[4096], sub[300], lock[64], subline[400];
    size_t used;

    snprintf(base, sizeof base, index > 0 ? "timeline-%d" : "timeline", index);
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
    titles(doc, opts, what, vars, sizeof vars);
    used = strlen(vars);
    snprintf(subline, sizeof subline, "%s%s%s", lock, lock[0] && r->params[0] ? "; " : "", r->params);
    gp_quote(sub, sizeof sub, subline);
    snprintf(vars + used, sizeof vars - used, "; sub=%s; nlanes=%d; from_ms=%lld; to_ms=%lld", sub,
             rep_timeline_lanes(doc), (long long)doc->window_from_ms,
             (long long)(doc->window_from_ms + doc->window_len_ms));
    return draw(d, base, rep_timeline_data, doc, opts, vars, plot_script_timeline, plot_script_timeline_len,
                drawn, err, errlen);
}

plot_status_t plot_timelines(const rep_outdir_t *d, const rep_doc_t *doc, const plot_opts_t *opts,
                             plot_drawn_t *drawn, char *err, size_t errlen)
{
    int lanes = rep_timeline_lanes(doc);
    plot_status_t status = PLOT_DRAWN;

    if (lanes == 0) {
        snprintf(err, errlen, "no row was traced (run --trace)");
        return PLOT_FAILED;
    }
    if (doc->nrows > 1 && lanes <= PLOT_MAX_STACKED_LANES)
        status = timeline(d, doc, 0, opts, drawn, err, errlen);
    for (int i = 0; i < doc->nrows && status == PLOT_DRAWN; i++) {
        if (doc->rows[i].run->gil_trace == NULL)
            continue;
        rep_doc_t one = *doc;
        one.rows = &doc->rows[i];
        one.nrows = 1;
        status = timeline(d, &one, i + 1, opts, drawn, err, errlen);
    }
    return status;
}

/* latency.dat: per row with a client, its label, p50, p90, p99, p99.9, max (ms). */
static int write_latency(FILE *f, const rep_doc_t *doc, const void *arg)
{
    int x = 0;
    (void)arg;
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

plot_status_t plot_latency(const rep_outdir_t *d, const rep_doc_t *doc, const plot_opts_t *opts,
                           plot_drawn_t *drawn, char *err, size_t errlen)
{
    char vars[4096], what[300];
    int n = 0;

    for (int i = 0; i < doc->nrows; i++)
        n += isfinite(doc->rows[i].med[REP_F_requests]);
    if (n == 0) {
        snprintf(err, errlen, "no row has a client's latencies (the convoy workload)");
        return PLOT_FAILED;
    }
    snprintf(what, sizeof what, "Request latency: %s (median of the repeats' percentiles)",
             doc->rows[0].run->spec.workload->name);
    titles(doc, opts, what, vars, sizeof vars);
    size_t used = strlen(vars);
    snprintf(vars + used, sizeof vars - used, "; nrows=%d", n);
    return draw(d, "latency", write_latency, doc, opts, vars, plot_script_latency, plot_script_latency_len, drawn,
                err, errlen);
}
