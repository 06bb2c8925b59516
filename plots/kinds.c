/* plots/kinds.c: the chart kinds (plots/plot.h's table): what each one
 * takes from results and how it lays the data out, and which kinds `run`
 * draws. Drawing is plots/plot.c's.
 *
 * Several documents (`gil-lab plot A B`) are merged into one set of rows
 * and summarised together, so one chart can hold a gil run and a biased
 * run; when the same row appears in two of them (two machines, two days),
 * its labels carry the folder it came from. Labels name what varies among
 * the rows; what is the same for all goes into the title, spelled as the
 * options that set it.
 */
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "gil/gil.h"
#include "plots/plot.h"

/* ------------------------------------------------------------------------
 * Rows of one or more documents, summarised together
 */

typedef struct merged {
    run_row_t *runs;      /* shallow copies: samples belong to the documents */
    rep_row_t *rows;
    int *origin;          /* which document each row came from */
    int n;
    bool collide;         /* a row name appears in two documents */
    rep_setup_t setup;
} merged_t;

static void merged_free(merged_t *m)
{
    free(m->runs);
    free(m->rows);
    free(m->origin);
}

/* Every row of src, summarised under setup (NULL: the first document's). */
static int merge(const plot_source_t *src, const rep_setup_t *setup, merged_t *m, char *err,
                 size_t errlen)
{
    int total = 0;

    memset(m, 0, sizeof *m);
    for (int d = 0; d < src->ndocs; d++)
        total += src->docs[d].nrows;
    m->runs = calloc((size_t)total + 1, sizeof *m->runs);
    m->rows = calloc((size_t)total + 1, sizeof *m->rows);
    m->origin = calloc((size_t)total + 1, sizeof *m->origin);
    if (!m->runs || !m->rows || !m->origin)
        goto oom;
    for (int d = 0; d < src->ndocs; d++) {
        for (int i = 0; i < src->docs[d].nrows; i++) {
            m->runs[m->n] = *src->docs[d].rows[i].run;
            m->origin[m->n++] = d;
        }
    }
    m->setup = setup ? *setup : src->docs[0].setup;
    if (rep_summarize(m->runs, m->n, &m->setup, m->rows) < 0)
        goto oom;
    for (int i = 0; i < m->n; i++)
        for (int j = i + 1; j < m->n; j++)
            if (m->origin[i] != m->origin[j] && strcmp(m->rows[i].name, m->rows[j].name) == 0)
                m->collide = true;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    merged_free(m);
    return -1;
}

/* Which parts of a row's identity vary over the rows: they go into the
 * labels, the others into the title. */
typedef struct varies {
    bool workload, size, params, switch_us, immortal, pin, guard, allocator, mode, workers;
} varies_t;

static varies_t what_varies(const merged_t *m)
{
    varies_t v = {0};
    const run_spec_t *a = &m->runs[0].spec;

    for (int i = 1; i < m->n; i++) {
        const run_spec_t *b = &m->runs[i].spec;
        v.workload |= a->workload != b->workload;
        v.size |= a->size != b->size;
        v.params |= memcmp(a->params, b->params, sizeof a->params) != 0;
        v.switch_us |= a->switch_interval_us != b->switch_interval_us;
        v.immortal |= a->immortal != b->immortal;
        v.pin |= a->pin != b->pin;
        v.guard |= a->guard != b->guard;
        v.allocator |= a->allocator != b->allocator;
        v.mode |= a->mode != b->mode;
        v.workers |= a->workers != b->workers;
    }
    return v;
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

/* The parts of row i's identity that vary (or all of `want`), joined with
 * " / ": a cluster or series label. */
static void row_label(const merged_t *m, const plot_source_t *src, int i, varies_t want,
                      char *buf, size_t len)
{
    const run_spec_t *s = &m->runs[i].spec;
    const workload_t *wl = s->workload;
    char size[32];
    size_t used = 0;
    int w;

    buf[0] = '\0';
#define PART(...)                                                              \
    if (used < len && (w = snprintf(buf + used, len - used, "%s", used ? " / " : "")) >= 0 && \
        (used += (size_t)w) < len && (w = snprintf(buf + used, len - used, __VA_ARGS__)) > 0) \
        used += (size_t)w;
    if (m->collide && src->labels)
        PART("%s", src->labels[m->origin[i]])
    if (want.workload)
        PART("%s", wl->name)
    if (want.size) {
        rep_fmt_count((double)s->size, size, sizeof size);
        PART("n=%s", size)
    }
    for (int p = 0; want.params && p < wl->nparams; p++) {
        char value[64];
        wl_param_format(&wl->params[p], s->params[p], value, sizeof value);
        PART("%s=%s", wl->params[p].name, value)
    }
    if (want.switch_us)
        PART("switch %llu us", (unsigned long long)s->switch_interval_us)
    if (want.immortal)
        PART("%s", s->immortal ? "immortal" : "no-immortal")
    if (want.pin)
        PART("pin %s", rep_pin_name(s->pin))
    if (want.mode)
        PART("%s", run_mode_name(s->mode))
    if (want.workers && s->mode != RUN_MODE_single)
        PART("j=%d", s->workers)
    if (want.guard)
        PART("%s", guard_name(s->guard))
    if (want.allocator)
        PART("%s", heap_kind_name(s->allocator))
#undef PART
}

/* The title: the workload and size when they are the same for every row,
 * and every setting that differs from the defaults, spelled as the options
 * that set it ("-P length=7, --no-immortal, --switch-interval 1000, --pin
 * cores, --sequential"), so that a slide says how to reproduce it. */
static void default_title(const merged_t *m, const plot_source_t *src, const char *what,
                          char *buf, size_t len)
{
    const run_spec_t *s = &m->runs[0].spec;
    const workload_t *wl = s->workload;
    varies_t v = what_varies(m);
    char size[32], base[96];
    size_t used = 0;

    buf[0] = '\0';
    if (what)
        list_add(buf, len, &used, "%s", what);
    if (!v.workload)
        list_add(buf, len, &used, "%s", wl->name);
    if (!v.size && !v.workload) {
        rep_fmt_count((double)s->size, size, sizeof size);
        list_add(buf, len, &used, "n=%s", size);
    }
    for (int p = 0; !v.params && !v.workload && p < wl->nparams; p++) {
        char value[64];
        wl_param_format(&wl->params[p], s->params[p], value, sizeof value);
        if (s->params[p] != wl->params[p].def)
            list_add(buf, len, &used, "-P %s=%s", wl->params[p].name, value);
    }
    if (!v.immortal && !s->immortal)
        list_add(buf, len, &used, "--no-immortal");
    if (!v.switch_us && s->switch_interval_us != GIL_DEFAULT_INTERVAL_US)
        list_add(buf, len, &used, "--switch-interval %llu",
                 (unsigned long long)s->switch_interval_us);
    if (!v.pin && s->pin != RUN_PIN_NONE)
        list_add(buf, len, &used, "--pin %s", rep_pin_name(s->pin));
    if (m->setup.scaling == REP_WEAK)
        list_add(buf, len, &used, "--scaling weak");
    if (src->ndocs == 1 && !src->docs[0].interleaved && src->docs[0].nrows > 1)
        list_add(buf, len, &used, "--sequential");
    rep_baseline_format(&m->setup.baseline, base, sizeof base);
    if (strcmp(base, "single") != 0)
        list_add(buf, len, &used, "--baseline %s", base);
}

/* The cluster of row i in c (by label), appended when new. -1 when full. */
static int cluster_of(plot_chart_t *c, const char *label)
{
    for (int k = 0; k < c->nclusters; k++)
        if (strcmp(c->clusters[k], label) == 0)
            return k;
    if (c->nclusters == PLOT_MAX_CLUSTERS)
        return -1;
    snprintf(c->clusters[c->nclusters], sizeof c->clusters[0], "%.*s", (int)sizeof c->clusters[0] - 1, label);
    for (int s = 0; s < PLOT_MAX_SERIES; s++)
        c->v[s][c->nclusters][0] = c->v[s][c->nclusters][1] = c->v[s][c->nclusters][2] = NAN;
    return c->nclusters++;
}

static int series_of(plot_chart_t *c, const char *label)
{
    for (int k = 0; k < c->nseries; k++)
        if (strcmp(c->series[k], label) == 0)
            return k;
    if (c->nseries == PLOT_MAX_SERIES)
        return -1;
    snprintf(c->series[c->nseries], sizeof c->series[0], "%s", label);
    for (int k = 0; k < PLOT_MAX_CLUSTERS; k++)
        c->v[c->nseries][k][0] = c->v[c->nseries][k][1] = c->v[c->nseries][k][2] = NAN;
    return c->nseries++;
}

/* Put value (and error bar) v at (series, cluster) by label. -1 when the
 * chart is full. */
static int chart_put(plot_chart_t *c, const char *series, const char *cluster, double v,
                     double lo, double hi, char *err, size_t errlen)
{
    int s = series_of(c, series), k = s < 0 ? -1 : cluster_of(c, cluster);

    if (s < 0 || k < 0) {
        snprintf(err, errlen, "too many bars for one chart (more than %d series or %d clusters)",
                 PLOT_MAX_SERIES, PLOT_MAX_CLUSTERS);
        return -1;
    }
    c->v[s][k][0] = v;
    c->v[s][k][1] = lo;
    c->v[s][k][2] = hi;
    return 0;
}

/* ------------------------------------------------------------------------
 * The kinds
 */

/* "95 % CI" or, when few repeats cannot reach it, the lowest coverage of
 * the intervals drawn ("at least 67 % CI"). */
static void ci_words(double lowest, char *buf, size_t len)
{
    if (!isfinite(lowest) || lowest >= REP_CI_LEVEL - 1e-9)
        snprintf(buf, len, "%.0f %% CI", REP_CI_LEVEL * 100);
    else
        snprintf(buf, len, "%.0f %%+ CI (the repeats allow no more)", lowest * 100);
}

static int fill_bars(const plot_source_t *src, plot_chart_t *c, char *err, size_t errlen)
{
    merged_t m;
    varies_t v, cluster_parts, series_parts = {.mode = true, .workers = true};
    double top = 0.0;
    rep_unit_t u;
    char cl[160], se[96];
    int runs;

    if (merge(src, NULL, &m, err, errlen) < 0)
        return -1;
    v = what_varies(&m);
    cluster_parts = v;
    cluster_parts.mode = cluster_parts.workers = false;
    cluster_parts.guard = cluster_parts.allocator = true;
    runs = m.rows[0].wall.n;
    for (int i = 0; i < m.n; i++) {
        top = fmax(top, m.rows[i].wall.max);
        if (m.rows[i].wall.n != runs)
            runs = 0;
    }
    u = rep_time_unit(top);
    for (int i = 0; i < m.n; i++) {
        const rep_row_t *r = &m.rows[i];
        row_label(&m, src, i, cluster_parts, cl, sizeof cl);
        row_label(&m, src, i, series_parts, se, sizeof se);
        if (r->run->spec.mode == RUN_MODE_single)
            snprintf(se, sizeof se, "single");
        if (chart_put(c, se, cl, r->wall.median * u.scale, r->wall.min * u.scale,
                      r->wall.max * u.scale, err, errlen) < 0)
            goto fail;
    }
    snprintf(c->unit, sizeof c->unit, "%s", u.name);
    c->decimals = u.decimals;
    snprintf(c->ylabel, sizeof c->ylabel, "wall time (%s), lower is better", u.name);
    if (runs > 0)
        snprintf(c->note, sizeof c->note, "bars: median of %d runs; error bars: min–max", runs);
    else
        snprintf(c->note, sizeof c->note, "bars: median of each row's runs; error bars: min–max");
    default_title(&m, src, NULL, c->title, sizeof c->title);
    merged_free(&m);
    return 0;
fail:
    merged_free(&m);
    return -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Add x to the set xs[0..*nx) unless there or full. */
static void x_add(double *xs, int *nx, double x)
{
    for (int k = 0; k < *nx; k++)
        if (xs[k] == x)
            return;
    if (*nx < PLOT_MAX_CLUSTERS)
        xs[(*nx)++] = x;
}

/* The columns of a line chart: xs sorted, each a cluster labelled by its
 * value ("%g"). */
static void x_columns(plot_chart_t *c, double *xs, int nx)
{
    qsort(xs, (size_t)nx, sizeof *xs, cmp_double);
    c->shape = PLOT_LINES;
    for (int k = 0; k < nx; k++) {
        char label[32];
        snprintf(label, sizeof label, "%g", xs[k]);
        cluster_of(c, label);
        c->x[k] = xs[k];
    }
}

static int fill_scaling(const plot_source_t *src, plot_chart_t *c, char *err, size_t errlen)
{
    merged_t m;
    varies_t parts;
    double xs[PLOT_MAX_CLUSTERS];
    int nx = 0, points = 0;
    char se[96];
    bool weak;

    if (merge(src, NULL, &m, err, errlen) < 0)
        return -1;
    weak = m.setup.scaling == REP_WEAK;
    double lowest = NAN;
    char ci[64];
    parts = what_varies(&m);
    parts.workers = false;
    parts.mode = parts.guard = true;
    /* columns: every worker count, 1 included */
    for (int i = 0; i < m.n; i++)
        x_add(xs, &nx, m.runs[i].spec.workers);
    x_columns(c, xs, nx);
    for (int i = 0; i < m.n; i++) {
        const rep_row_t *r = &m.rows[i];
        char label[32];
        if (r->run->spec.mode == RUN_MODE_single || !isfinite(r->speedup))
            continue;
        row_label(&m, src, i, parts, se, sizeof se);
        snprintf(label, sizeof label, "%d", r->run->spec.workers);
        if (chart_put(c, se, label, r->speedup, r->speedup_ci.lo, r->speedup_ci.hi, err,
                      errlen) < 0)
            goto fail;
        lowest = fmin(lowest, r->speedup_ci.level);
        points++;
        /* the baseline itself: speedup 1 at its own worker count */
        if (m.rows[r->baseline].run->spec.mode == RUN_MODE_single) {
            int s = series_of(c, se);
            if (isnan(c->v[s][0][0]) && xs[0] == 1.0)
                c->v[s][0][0] = 1.0;
        }
    }
    if (points == 0) {
        snprintf(err, errlen, "no row with workers and a baseline to scale against");
        goto fail;
    }
    snprintf(c->unit, sizeof c->unit, "x");
    c->decimals = 2;
    snprintf(c->xlabel, sizeof c->xlabel, "workers");
    snprintf(c->ylabel, sizeof c->ylabel, "%s, higher is better",
             weak ? "efficiency (T single ÷ T row, same work per worker)"
                  : "speedup (T baseline ÷ T row)");
    ci_words(lowest, ci, sizeof ci);
    snprintf(c->note, sizeof c->note, "points: ratio of medians; error bars: %s (Moses); dashed: %s",
             ci, weak ? "perfect weak scaling (1.0)" : "ideal (speedup = workers, up to the CPUs)");
    c->ideal = weak ? 2 : 1;
    default_title(&m, src, weak ? "weak scaling" : "scaling", c->title, sizeof c->title);
    merged_free(&m);
    return 0;
fail:
    merged_free(&m);
    return -1;
}

static int fill_normalised(const plot_source_t *src, plot_chart_t *c, char *err, size_t errlen)
{
    rep_setup_t setup = src->docs[0].setup;
    merged_t m;
    varies_t cluster_parts, series_parts = {.guard = true, .allocator = true};
    char cl[160], se[96], base[96], cis[64];
    double lowest = NAN;
    int bars = 0;

    setup.baseline = (rep_baseline_t){NULL, -1, -1, -1, -1};
    if (src->opts && src->opts->baseline)
        setup.baseline = *src->opts->baseline;
    else
        setup.baseline.guard = src->docs[0].rows[0].run->spec.guard;
    if (merge(src, &setup, &m, err, errlen) < 0)
        return -1;
    cluster_parts = what_varies(&m);
    cluster_parts.guard = cluster_parts.allocator = false;
    cluster_parts.workload = true;
    for (int i = 0; i < m.n; i++) {
        const rep_row_t *r = &m.rows[i];
        const rep_interval_t *ci = &r->speedup_ci;
        if (!isfinite(r->speedup) || r->speedup <= 0)
            continue;
        row_label(&m, src, i, cluster_parts, cl, sizeof cl);
        row_label(&m, src, i, series_parts, se, sizeof se);
        /* time relative to the baseline = 1 / speedup; the interval flips */
        if (chart_put(c, se, cl, 1.0 / r->speedup, isfinite(ci->hi) ? 1.0 / ci->hi : NAN,
                      isfinite(ci->lo) && ci->lo > 0 ? 1.0 / ci->lo : NAN, err, errlen) < 0)
            goto fail;
        lowest = fmin(lowest, ci->level);
        bars++;
    }
    if (bars == 0) {
        rep_baseline_format(&setup.baseline, base, sizeof base);
        snprintf(err, errlen, "no row has a '%s' baseline to be normalised to", base);
        goto fail;
    }
    rep_baseline_format(&setup.baseline, base, sizeof base);
    snprintf(c->unit, sizeof c->unit, "x");
    c->decimals = 2;
    snprintf(c->ylabel, sizeof c->ylabel, "time relative to %s (1.0), lower is better", base);
    ci_words(lowest, cis, sizeof cis);
    snprintf(c->note, sizeof c->note,
             "bars: median ÷ the %s row's median; error bars: %s (Moses); line: 1.0", base, cis);
    c->ref = 1.0;
    default_title(&m, src, "normalised", c->title, sizeof c->title);
    merged_free(&m);
    return 0;
fail:
    merged_free(&m);
    return -1;
}

static int fill_ratio(const plot_source_t *src, plot_chart_t *c, char *err, size_t errlen)
{
    rep_comparison_t cmp;
    char se[160], ci[64];
    double lowest = NAN;

    if (src->ndocs < 2) {
        snprintf(err, errlen, "a ratio chart needs two results or more");
        return -1;
    }
    if (rep_compare(src->docs, src->ndocs, &cmp, err, errlen) < 0)
        return -1;
    for (int k = 0; k < cmp.nmatches; k++) {
        const rep_match_t *mt = &cmp.matches[k];
        snprintf(se, sizeof se, "%s ÷ %s", src->labels ? src->labels[mt->other] : "B",
                 src->labels ? src->labels[0] : "A");
        if (chart_put(c, se, mt->label, mt->ratio.ratio, mt->ratio.ci.lo, mt->ratio.ci.hi, err,
                      errlen) < 0) {
            rep_comparison_free(&cmp);
            return -1;
        }
        lowest = fmin(lowest, mt->ratio.ci.level);
    }
    ci_words(lowest, ci, sizeof ci);
    snprintf(c->unit, sizeof c->unit, "x");
    c->decimals = 2;
    snprintf(c->ylabel, sizeof c->ylabel, "time ratio (1.0 = the same), lower is faster");
    snprintf(c->note, sizeof c->note,
             "bars: Hodges-Lehmann ratio of times; error bars: %s (Moses); line: 1.0", ci);
    snprintf(c->title, sizeof c->title, "compare%s%s%s%s", cmp.common[0] ? ", " : "", cmp.common,
             cmp.ignored[0] ? "; " : "", cmp.ignored);
    c->ref = 1.0;
    rep_comparison_free(&cmp);
    return 0;
}

static int fill_paired(const plot_source_t *src, plot_chart_t *c, char *err, size_t errlen)
{
    rep_comparison_t cmp;
    merged_t lab;
    char se[160], cl[160], ci[64];
    double lowest = NAN;

    if (src->ndocs < 2) {
        snprintf(err, errlen, "a paired chart needs the lab's results and CPython's");
        return -1;
    }
    if (rep_compare(src->docs, src->ndocs, &cmp, err, errlen) < 0)
        return -1;
    if (merge(&(plot_source_t){src->docs, NULL, 1, NULL}, NULL, &lab, err, errlen) < 0) {
        rep_comparison_free(&cmp);
        return -1;
    }
    for (int k = 0; k < cmp.nmatches; k++) {
        const rep_match_t *mt = &cmp.matches[k];
        const rep_row_t *a = &src->docs[0].rows[mt->a], *b = &src->docs[mt->other].rows[mt->b];
        const run_spec_t *s = &a->run->spec;
        if (!isfinite(a->speedup) || s->mode == RUN_MODE_single)
            continue;
        snprintf(cl, sizeof cl, "%s / %s j=%d", s->workload->name, run_mode_name(s->mode),
                 s->workers);
        snprintf(se, sizeof se, "lab (%s)", guard_name(s->guard));
        if (chart_put(c, se, cl, a->speedup, a->speedup_ci.lo, a->speedup_ci.hi, err, errlen) < 0)
            goto fail;
        snprintf(se, sizeof se, "%s",
                 src->docs[mt->other].implementation ? src->docs[mt->other].implementation
                 : src->labels                       ? src->labels[mt->other]
                                                     : "CPython");
        if (chart_put(c, se, cl, b->speedup, b->speedup_ci.lo, b->speedup_ci.hi, err, errlen) < 0)
            goto fail;
        lowest = fmin(lowest, fmin(a->speedup_ci.level, b->speedup_ci.level));
    }
    ci_words(lowest, ci, sizeof ci);
    if (c->nclusters == 0) {
        snprintf(err, errlen, "no row beside single is in both the lab's results and CPython's");
        goto fail;
    }
    snprintf(c->unit, sizeof c->unit, "x");
    c->decimals = 2;
    snprintf(c->ylabel, sizeof c->ylabel, "speedup against its own single row");
    snprintf(c->note, sizeof c->note,
             "bars: T single ÷ T row, each implementation against itself; error bars: %s", ci);
    c->ref = 1.0;
    default_title(&lab, src, "calibration: CPython beside the model", c->title, sizeof c->title);
    merged_free(&lab);
    rep_comparison_free(&cmp);
    return 0;
fail:
    merged_free(&lab);
    rep_comparison_free(&cmp);
    return -1;
}

/* Throughput relative to the baseline (single ÷ row by default), per mode
 * and worker count, one cluster per workload (and whatever else varies):
 * side by side, io and countdown show that threads help one and not the
 * other. */
static int fill_throughput(const plot_source_t *src, plot_chart_t *c, char *err, size_t errlen)
{
    merged_t m;
    varies_t cluster_parts, series_parts = {.mode = true, .workers = true};
    char cl[160], se[96], cis[64];
    double lowest = NAN;

    if (merge(src, NULL, &m, err, errlen) < 0)
        return -1;
    cluster_parts = what_varies(&m);
    cluster_parts.mode = cluster_parts.workers = false;
    cluster_parts.workload = true;
    for (int i = 0; i < m.n; i++) {
        const rep_row_t *r = &m.rows[i];
        if (r->run->spec.mode == RUN_MODE_single || !isfinite(r->speedup) || r->speedup <= 0)
            continue;
        row_label(&m, src, i, cluster_parts, cl, sizeof cl);
        row_label(&m, src, i, series_parts, se, sizeof se);
        if (chart_put(c, se, cl, r->speedup, r->speedup_ci.lo, r->speedup_ci.hi, err, errlen) < 0)
            goto fail;
        lowest = fmin(lowest, r->speedup_ci.level);
    }
    if (c->nseries == 0) {
        snprintf(err, errlen, "no row with a baseline to compare its throughput with");
        goto fail;
    }
    snprintf(c->unit, sizeof c->unit, "x");
    c->decimals = 2;
    c->ref = 1.0;
    snprintf(c->ylabel, sizeof c->ylabel, "throughput ÷ baseline's, higher is better");
    ci_words(lowest, cis, sizeof cis);
    snprintf(c->note, sizeof c->note, "bars: baseline's median ÷ the row's; error bars: %s (Moses); dashed: 1x",
             cis);
    default_title(&m, src, "throughput", c->title, sizeof c->title);
    merged_free(&m);
    return 0;
fail:
    merged_free(&m);
    return -1;
}

/* ---- memory ------------------------------------------------------------ */

/* The smallest and largest of one sample field over a row's repeats. */
static void field_range(const rep_row_t *r, size_t offset, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int k = 0; k < r->run->nsamples; k++) {
        double v = *(const double *)((const char *)&r->run->samples[k] + offset);
        *lo = fmin(*lo, v);
        *hi = fmax(*hi, v);
    }
}

/* "processes cost more memory": the Pss of all of a row's processes (or,
 * without --pss, their peak RSS added up), per mode and worker count. */
static int fill_memory(const plot_source_t *src, plot_chart_t *c, char *err, size_t errlen)
{
    merged_t m;
    varies_t v, cluster_parts, series_parts = {.mode = true, .workers = true};
    char cl[160], se[96];
    bool pss = true;

    if (merge(src, NULL, &m, err, errlen) < 0)
        return -1;
    for (int i = 0; i < m.n; i++)
        pss &= isfinite(m.rows[i].med[REP_F_pss_sum_kib]);
    size_t field = pss ? offsetof(run_sample_t, pss_sum_kib) : offsetof(run_sample_t, rss_sum_kib);
    v = what_varies(&m);
    cluster_parts = v;
    cluster_parts.mode = cluster_parts.workers = false;
    cluster_parts.guard = cluster_parts.allocator = true;
    for (int i = 0; i < m.n; i++) {
        const rep_row_t *r = &m.rows[i];
        double lo, hi;
        field_range(r, field, &lo, &hi);
        row_label(&m, src, i, cluster_parts, cl, sizeof cl);
        row_label(&m, src, i, series_parts, se, sizeof se);
        if (r->run->spec.mode == RUN_MODE_single)
            snprintf(se, sizeof se, "single");
        double med = r->med[pss ? REP_F_pss_sum_kib : REP_F_rss_sum_kib];
        if (chart_put(c, se, cl, med / 1024.0, lo / 1024.0, hi / 1024.0, err, errlen) < 0)
            goto fail;
    }
    snprintf(c->unit, sizeof c->unit, "MiB");
    c->decimals = 1;
    snprintf(c->ylabel, sizeof c->ylabel, "%s, MiB, lower is better",
             pss ? "Pss of all the row's processes" : "peak RSS of all the row's processes, added");
    snprintf(c->note, sizeof c->note, "bars: median over the repeats; error bars: min–max%s",
             pss ? "" : " (RSS counts shared pages once per process: run with --pss)");
    default_title(&m, src, "memory per mode", c->title, sizeof c->title);
    merged_free(&m);
    return 0;
fail:
    merged_free(&m);
    return -1;
}

/* Row i's parameters that differ among the rows ("heap=immortal"), or
 * all of them when none does. */
static void varying_params(const merged_t *m, int i, char *buf, size_t len)
{
    const run_spec_t *s = &m->runs[i].spec;
    size_t used = 0;
    char value[64];

    buf[0] = '\0';
    for (int pass = 0; pass < 2 && used == 0; pass++) {
        for (int p = 0; p < s->workload->nparams; p++) {
            bool varies = false;
            for (int j = 0; j < m->n; j++)
                varies |= m->runs[j].spec.workload == s->workload && m->runs[j].spec.params[p] != s->params[p];
            if (!varies && pass == 0)
                continue;
            wl_param_format(&s->workload->params[p], s->params[p], value, sizeof value);
            list_add(buf, len, &used, "%s=%s", s->workload->params[p].name, value);
        }
    }
}

/* cow: the MiB each worker's reads copied, per million objects, for each
 * heap variant (plain, frozen, immortal) and mode. */
static int fill_cow(const plot_source_t *src, plot_chart_t *c, char *err, size_t errlen)
{
    merged_t m;
    varies_t series_parts = {.mode = true, .workers = true};
    char cl[160], se[96];

    if (merge(src, NULL, &m, err, errlen) < 0)
        return -1;
    for (int i = 0; i < m.n; i++) {
        const rep_row_t *r = &m.rows[i];
        const run_spec_t *s = &r->run->spec;
        int objects = wl_param_find(s->workload, "objects");
        if (objects < 0 || !isfinite(r->med[REP_F_smaps_private_dirty_after_kib]))
            continue;
        double per = (double)s->params[objects] / 1e6 * 1024.0;   /* KiB -> MiB per million */
        double med = (r->med[REP_F_smaps_private_dirty_after_kib] - r->med[REP_F_smaps_private_dirty_before_kib]) / per;
        double lo = INFINITY, hi = -INFINITY;
        for (int k = 0; k < r->run->nsamples; k++) {
            const run_sample_t *x = &r->run->samples[k];
            double d = (x->smaps_private_dirty_after_kib - x->smaps_private_dirty_before_kib) / per;
            lo = fmin(lo, d);
            hi = fmax(hi, d);
        }
        varying_params(&m, i, cl, sizeof cl);
        row_label(&m, src, i, series_parts, se, sizeof se);
        if (chart_put(c, se, cl, med, lo, hi, err, errlen) < 0)
            goto fail;
    }
    if (c->nseries == 0) {
        snprintf(err, errlen, "no row read its processes' memory (the cow workload)");
        goto fail;
    }
    snprintf(c->unit, sizeof c->unit, "MiB");
    c->decimals = 1;
    snprintf(c->ylabel, sizeof c->ylabel, "MiB each worker copied, per million objects read");
    snprintf(c->note, sizeof c->note,
             "bars: Private_Dirty after minus before the reads, median (forked: the workers' mean); "
             "error bars: min–max");
    default_title(&m, src, "copy-on-write after fork", c->title, sizeof c->title);
    merged_free(&m);
    return 0;
fail:
    merged_free(&m);
    return -1;
}

/* The cycle collector's pauses: p50, p99 and max of each generation's
 * collections (the free-threaded collector's are all generation 0), per
 * row. */
static int fill_gc_pauses(const plot_source_t *src, plot_chart_t *c, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        int field[GC_GENERATIONS];
    } stats[] = {
        {"p50", {REP_F_gc_pause_p50_0_s, REP_F_gc_pause_p50_1_s, REP_F_gc_pause_p50_2_s}},
        {"p99", {REP_F_gc_pause_p99_0_s, REP_F_gc_pause_p99_1_s, REP_F_gc_pause_p99_2_s}},
        {"max", {REP_F_gc_pause_max_0_s, REP_F_gc_pause_max_1_s, REP_F_gc_pause_max_2_s}},
    };
    static const int collections[GC_GENERATIONS] = {REP_F_gc_collections_0, REP_F_gc_collections_1,
                                                    REP_F_gc_collections_2};
    merged_t m;
    varies_t parts;
    char row[160], cl[200];

    if (merge(src, NULL, &m, err, errlen) < 0)
        return -1;
    parts = what_varies(&m);
    for (int i = 0; i < m.n; i++) {
        const rep_row_t *r = &m.rows[i];
        row_label(&m, src, i, parts, row, sizeof row);
        for (int g = 0; g < GC_GENERATIONS; g++) {
            if (!(r->med[collections[g]] > 0))
                continue;
            snprintf(cl, sizeof cl, "%s%sgen %d", row, row[0] ? " / " : "", g);
            for (size_t k = 0; k < sizeof stats / sizeof stats[0]; k++)
                if (chart_put(c, stats[k].name, cl, r->med[stats[k].field[g]] * 1e3, NAN, NAN, err, errlen) < 0)
                    goto fail;
        }
    }
    if (c->nseries == 0) {
        snprintf(err, errlen, "no row ran a collection");
        goto fail;
    }
    snprintf(c->unit, sizeof c->unit, "ms");
    c->decimals = 2;
    snprintf(c->ylabel, sizeof c->ylabel, "pause of one collection, ms");
    snprintf(c->note, sizeof c->note,
             "bars: percentiles of the pauses in one run, median over the repeats "
             "(free-threaded: the stop-the-world part)");
    default_title(&m, src, "cycle collector pauses", c->title, sizeof c->title);
    merged_free(&m);
    return 0;
fail:
    merged_free(&m);
    return -1;
}

/* A client's latency against the switch interval (convoy): per group of
 * rows that differ only in the interval (mode, guard, and the parameters
 * that vary, such as cpu_threads), the median of the repeats' p50 (solid) and p99 (dashed),
 * in ms, both axes logarithmic. */
static int fill_latency_interval(const plot_source_t *src, plot_chart_t *c, char *err, size_t errlen)
{
    merged_t m;
    double xs[PLOT_MAX_CLUSTERS];
    int nx = 0;
    char params[40], rest[40], group[88], se[96], x[32];

    if (merge(src, NULL, &m, err, errlen) < 0)
        return -1;
    varies_t v = what_varies(&m), parts = v;
    parts.switch_us = parts.params = parts.workers = false;   /* workers: 1 + cpu_threads */
    parts.mode = parts.guard = true;
    for (int i = 0; i < m.n; i++)
        if (isfinite(m.rows[i].med[REP_F_requests]))
            x_add(xs, &nx, (double)m.runs[i].spec.switch_interval_us / 1000);
    if (nx < 2) {
        snprintf(err, errlen, "no rows with a client (convoy) at two switch intervals or more");
        merged_free(&m);
        return -1;
    }
    x_columns(c, xs, nx);
    for (int i = 0; i < m.n; i++) {
        const double *med = m.rows[i].med;
        if (!isfinite(med[REP_F_requests]))
            continue;
        params[0] = '\0';
        if (v.params)
            varying_params(&m, i, params, sizeof params);
        row_label(&m, src, i, parts, rest, sizeof rest);
        snprintf(group, sizeof group, "%s%s%s", params, params[0] ? " / " : "", rest);
        snprintf(x, sizeof x, "%g", (double)m.runs[i].spec.switch_interval_us / 1000);
        snprintf(se, sizeof se, "%s p50", group);
        if (chart_put(c, se, x, med[REP_F_lat_p50_s] * 1e3, NAN, NAN, err, errlen) < 0)
            goto fail;
        snprintf(se, sizeof se, "%s p99", group);
        if (chart_put(c, se, x, med[REP_F_lat_p99_s] * 1e3, NAN, NAN, err, errlen) < 0)
            goto fail;
    }
    snprintf(c->unit, sizeof c->unit, "ms");
    c->decimals = 3;
    c->xbase = 10;
    c->ylog = c->pairs = true;
    snprintf(c->xlabel, sizeof c->xlabel, "switch interval (ms, log scale)");
    snprintf(c->ylabel, sizeof c->ylabel, "request latency (ms, log scale), lower is better");
    snprintf(c->note, sizeof c->note,
             "lines: median over the repeats of each repeat's p50 (solid) and p99 (dashed); no error bars");
    default_title(&m, src, "latency against switch interval", c->title, sizeof c->title);
    merged_free(&m);
    return 0;
fail:
    merged_free(&m);
    return -1;
}

static bool always(const rep_doc_t *doc)
{
    return doc->nrows > 0;
}

/* Whether some series of the document has two worker counts or more, and
 * a speedup to draw (a convoy sweep of cpu_threads has no single row). */
static bool several_worker_counts(const rep_doc_t *doc)
{
    for (int i = 0; i < doc->nrows; i++)
        for (int j = 0; j < doc->nrows; j++)
            if (doc->rows[i].run->spec.mode != RUN_MODE_single && isfinite(doc->rows[i].speedup) &&
                doc->rows[j].run->spec.mode == doc->rows[i].run->spec.mode &&
                doc->rows[j].run->spec.workers != doc->rows[i].run->spec.workers)
                return true;
    return false;
}

/* Whether the document has several workloads and several guards. */
static bool workloads_by_guards(const rep_doc_t *doc)
{
    bool workloads = false, guards = false;

    for (int i = 1; i < doc->nrows; i++) {
        workloads |= doc->rows[i].run->spec.workload != doc->rows[0].run->spec.workload;
        guards |= doc->rows[i].run->spec.guard != doc->rows[0].run->spec.guard;
    }
    return workloads && guards;
}

/* Whether some row beside single has a speedup to show. */
static bool beside_single(const rep_doc_t *doc)
{
    for (int i = 0; i < doc->nrows; i++)
        if (doc->rows[i].run->spec.mode != RUN_MODE_single && isfinite(doc->rows[i].speedup))
            return true;
    return false;
}

/* Whether every row measured its processes' Pss (--pss). */
static bool measured_pss(const rep_doc_t *doc)
{
    for (int i = 0; i < doc->nrows; i++)
        if (!isfinite(doc->rows[i].med[REP_F_pss_sum_kib]))
            return false;
    return doc->nrows > 0;
}

/* Whether some row read its workers' smaps (cow). */
static bool read_smaps(const rep_doc_t *doc)
{
    for (int i = 0; i < doc->nrows; i++)
        if (isfinite(doc->rows[i].med[REP_F_smaps_private_dirty_after_kib]))
            return true;
    return false;
}

/* Whether rows with a client ran at two switch intervals or more. */
static bool client_intervals(const rep_doc_t *doc)
{
    for (int i = 0; i < doc->nrows; i++)
        for (int j = 0; j < doc->nrows; j++)
            if (isfinite(doc->rows[i].med[REP_F_requests]) && isfinite(doc->rows[j].med[REP_F_requests]) &&
                doc->rows[i].run->spec.switch_interval_us != doc->rows[j].run->spec.switch_interval_us)
                return true;
    return false;
}

/* Whether some row ran a collection. */
static bool collected(const rep_doc_t *doc)
{
    for (int i = 0; i < doc->nrows; i++)
        if (doc->rows[i].med[REP_F_gc_collections_0] + doc->rows[i].med[REP_F_gc_collections_1] +
                doc->rows[i].med[REP_F_gc_collections_2] > 0)
            return true;
    return false;
}

/* Whether some row has a client's latencies (convoy). */
static bool has_latency(const rep_doc_t *doc)
{
    for (int i = 0; i < doc->nrows; i++)
        if (isfinite(doc->rows[i].med[REP_F_requests]))
            return true;
    return false;
}

/* Whether some row has a GIL trace (run --trace). */
static bool has_gil_trace(const rep_doc_t *doc)
{
    return rep_timeline_lanes(doc) > 0;
}

const plot_kind_t plot_kinds[] = {
    {"bars", "chart", "median wall time per mode and guard, error bars min-max", fill_bars, NULL,
     always},
    {"scaling", "scaling", "speedup against workers, with the ideal line", fill_scaling, NULL,
     several_worker_counts},
    {"normalised", "normalised", "each guard's time relative to a baseline, per workload",
     fill_normalised, NULL, workloads_by_guards},
    {"ratio", "ratio", "compare: time ratios of matched rows, with intervals", fill_ratio, NULL, NULL},
    {"paired", "paired", "calibrate: CPython's speedups beside the model's", fill_paired, NULL, NULL},
    {"throughput", "throughput", "each mode's throughput relative to its single row, per workload",
     fill_throughput, NULL, beside_single},
    {"memory", "memory-per-mode", "Pss (or RSS) of all a row's processes, per mode", fill_memory, NULL,
     measured_pss},
    {"cow", "cow", "MiB each forked reader copied, per heap variant and mode", fill_cow, NULL, read_smaps},
    {"gcpauses", "gc-pauses", "the cycle collector's pause p50/p99/max per generation", fill_gc_pauses, NULL,
     collected},
    {"latency-interval", "latency-interval", "a client's p50 and p99 latency against the switch interval",
     fill_latency_interval, NULL, client_intervals},
    {"latency", "latency", "a convoy server's latency percentiles (p50 bars, p90/p99/max marks)", NULL,
     plot_latency, has_latency},
    {"timeline", "timeline", "the GIL timeline of each traced row (--trace), and of all stacked", NULL,
     plot_timelines, has_gil_trace},
    {"memtrace", "memory", "memory over time, with the collections (--memory-trace)", NULL, plot_memory,
     rep_has_memtrace},
};
const int plot_nkinds = (int)(sizeof plot_kinds / sizeof plot_kinds[0]);

const plot_kind_t *plot_kind_find(const char *name)
{
    for (int k = 0; k < plot_nkinds; k++)
        if (strcmp(plot_kinds[k].name, name) == 0)
            return &plot_kinds[k];
    return NULL;
}

plot_status_t plot_run_charts(const rep_outdir_t *d, const rep_doc_t *doc, char *err,
                              size_t errlen)
{
    plot_opts_t opts = plot_opts_default();
    plot_source_t src = {doc, NULL, 1, &opts};
    plot_status_t status = PLOT_DRAWN;

    for (int k = 0; k < plot_nkinds && status == PLOT_DRAWN; k++)
        if (plot_kinds[k].fits && plot_kinds[k].fits(doc))
            status = plot_draw(d, &plot_kinds[k], &src, &opts, NULL, err, errlen);
    return status;
}
