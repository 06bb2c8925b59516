/* report/compare.c: which rows of two results are the same experiment, and
 * how they differ (`gil-lab compare`, the ratio chart, calibrate).
 *
 * A row's configuration is its axes (AXIS_LIST). Two result sets usually
 * differ on purpose in one or two of them: a gil run against a biased run
 * (guard and allocator), last week's machine against today's (none). The
 * rule, per pair (docs[0], docs[k]): an axis with exactly one value in each
 * and different values is what the pair compares, so it is left out of the
 * match and named; every other axis must be equal. The work itself
 * (workload, size, parameters) must always be equal: a countdown is never
 * compared with an alloc. Each row of docs[k] is
 * matched with the first row of docs[0] whose key is the same, once.
 *
 * For each match: the Hodges-Lehmann ratio B/A of the repeats' wall times
 * with Moses' 95 % interval, and the two-sided Mann-Whitney U test (infer.c);
 * "significant" at REP_ALPHA, as Google Benchmark's compare.py decides.
 */
#include <stdlib.h>
#include <string.h>

#include "gil/gil.h"
#include "report/report.h"

/* X(axis, format, values...): the axes rows are matched on, each as text. */
#define AXIS_LIST(X)                                                           \
    X(workload, "%s", s->workload->name)                                       \
    X(mode, "%s", run_mode_name(s->mode))                                      \
    X(guard, "%s", guard_name(s->guard))                                       \
    X(allocator, "%s", heap_kind_name(s->allocator))                           \
    X(workers, "%d", s->workers)                                               \
    X(size, "%lld", (long long)s->size)                                        \
    X(switch_interval, "%llu us", (unsigned long long)s->switch_interval_us)   \
    X(immortal, "%s", s->immortal ? "immortal" : "no-immortal")                \
    X(pin, "%s", rep_pin_name(s->pin))                                         \
    X(gc, "%s%s %lld,%lld,%lld", s->gc.disabled ? "off" : "on", s->gc.freeze ? " frozen" : "", \
      (long long)(s->gc.thresholds_set ? s->gc.thresholds[0] : -1),            \
      (long long)(s->gc.thresholds_set ? s->gc.thresholds[1] : -1),            \
      (long long)(s->gc.thresholds_set ? s->gc.thresholds[2] : -1))

enum {
#define X(axis, fmt, ...) AXIS_##axis,
    AXIS_LIST(X)
#undef X
    AXIS_PARAMS,
    NAXES
};

static const char *const axis_names[NAXES] = {
#define X(axis, fmt, ...) #axis,
    AXIS_LIST(X)
#undef X
    "params",
};

/* The value of an axis of s as text. */
static void axis_value(const run_spec_t *s, int axis, char *buf, size_t len)
{
    size_t used = 0;

    switch (axis) {
#define X(axis, fmt, ...)                                                      \
    case AXIS_##axis:                                                          \
        snprintf(buf, len, fmt, __VA_ARGS__);                                  \
        return;
        AXIS_LIST(X)
#undef X
    default:
        buf[0] = '\0';
        for (int p = 0; p < s->workload->nparams && used < len; p++) {
            char value[64];
            wl_param_format(&s->workload->params[p], s->params[p], value, sizeof value);
            used += (size_t)snprintf(buf + used, len - used, "%s%s=%s", p ? " " : "",
                                     s->workload->params[p].name, value);
        }
    }
}

/* Whether every row of doc has the same value of axis; that value into buf. */
static bool one_value(const rep_doc_t *doc, int axis, char *buf, size_t len)
{
    char v[160];

    axis_value(&doc->rows[0].run->spec, axis, buf, len);
    for (int i = 1; i < doc->nrows; i++) {
        axis_value(&doc->rows[i].run->spec, axis, v, sizeof v);
        if (strcmp(v, buf) != 0)
            return false;
    }
    return true;
}

/* Whether rows a and b agree on every axis not in `ignored`. */
static bool same_key(const run_spec_t *a, const run_spec_t *b, const bool *ignored)
{
    char va[160], vb[160];

    for (int axis = 0; axis < NAXES; axis++) {
        if (ignored[axis])
            continue;
        axis_value(a, axis, va, sizeof va);
        axis_value(b, axis, vb, sizeof vb);
        if (strcmp(va, vb) != 0)
            return false;
    }
    return true;
}

/* The row's name without the axes that are compared or the same for every
 * row (those go into `common`): "threads/j:2". The mode is always named. */
static void match_label(const run_spec_t *s, const bool *ignored, char *buf, size_t len)
{
    static const int shown[] = {AXIS_workload, AXIS_mode, AXIS_guard, AXIS_allocator,
                                AXIS_workers, AXIS_size, AXIS_PARAMS, AXIS_switch_interval};
    char v[160];
    size_t used = 0;

    buf[0] = '\0';
    for (size_t k = 0; k < sizeof shown / sizeof shown[0] && used < len; k++) {
        int axis = shown[k];
        if ((ignored[axis] && axis != AXIS_mode) ||
            (axis == AXIS_workers && s->mode == RUN_MODE_single))
            continue;
        if (axis == AXIS_switch_interval && s->switch_interval_us == GIL_DEFAULT_INTERVAL_US)
            continue;
        axis_value(s, axis, v, sizeof v);
        if (!v[0])
            continue;
        used += (size_t)snprintf(buf + used, len - used, "%s%s%s", used ? "/" : "",
                                 axis == AXIS_workers ? "j:" : axis == AXIS_size ? "n:" : "", v);
    }
}

/* The wall times of a row's repeats into x (at least nsamples long). */
static void walls(const rep_row_t *r, double *x)
{
    for (int k = 0; k < r->run->nsamples; k++)
        x[k] = r->run->samples[k].wall_s;
}

/* Add an axis's value shared by every row to out->common ("countdown,
 * n=10000000"). */
static void common_add(rep_comparison_t *out, int axis, const char *value)
{
    size_t used = strlen(out->common);

    if (used < sizeof out->common)
        snprintf(out->common + used, sizeof out->common - used, "%s%s%.96s", used ? ", " : "",
                 axis == AXIS_size ? "n=" : "", value);
}

static int match_rows(const rep_doc_t *a, const rep_doc_t *b, int other, const bool *ignored,
                      const bool *hidden, rep_comparison_t *out, bool *used_a)
{
    double *x = NULL, *y = NULL;

    for (int j = 0; j < b->nrows; j++) {
        const rep_row_t *rb = &b->rows[j];
        int i;
        for (i = 0; i < a->nrows; i++)
            if (!used_a[i] && same_key(&a->rows[i].run->spec, &rb->run->spec, ignored))
                break;
        if (i == a->nrows) {
            out->unmatched++;
            continue;
        }
        used_a[i] = true;
        const rep_row_t *ra = &a->rows[i];
        rep_match_t *m = &out->matches[out->nmatches];
        memset(m, 0, sizeof *m);
        m->other = other;
        m->a = i;
        m->b = j;
        m->median_a = ra->wall.median;
        m->median_b = rb->wall.median;
        free(x);
        free(y);
        x = malloc((size_t)ra->run->nsamples * sizeof *x);
        y = malloc((size_t)rb->run->nsamples * sizeof *y);
        if (!x || !y)
            goto oom;
        walls(ra, x);
        walls(rb, y);
        if (rep_ratio_ci(y, rb->run->nsamples, x, ra->run->nsamples, REP_CI_LEVEL, &m->ratio) <
                0 ||
            rep_mwu(y, rb->run->nsamples, x, ra->run->nsamples, &m->test) < 0)
            goto oom;
        m->significant = m->test.p < REP_ALPHA;
        m->cpu_share_a = ra->cpu_share;
        m->cpu_share_b = rb->cpu_share;
        match_label(&ra->run->spec, hidden, m->label, sizeof m->label);
        out->nmatches++;
    }
    free(x);
    free(y);
    return 0;
oom:
    free(x);
    free(y);
    return -1;
}

int rep_compare(const rep_doc_t *docs, int ndocs, rep_comparison_t *out, char *err,
                size_t errlen)
{
    int most = 0;
    size_t used = 0;
    bool *used_a = NULL;

    memset(out, 0, sizeof *out);
    for (int k = 1; k < ndocs; k++)
        most += docs[k].nrows;
    out->matches = calloc((size_t)most + 1, sizeof *out->matches);
    used_a = calloc((size_t)docs[0].nrows + 1, sizeof *used_a);
    if (!out->matches || !used_a)
        goto oom;
    for (int k = 1; k < ndocs; k++) {
        bool ignored[NAXES] = {false}, hidden[NAXES];
        char va[160], vb[160];
        for (int axis = 0; axis < NAXES; axis++) {
            /* the work itself must be the same: never compare two workloads,
             * sizes or parameter values */
            if (axis == AXIS_workload || axis == AXIS_size || axis == AXIS_PARAMS ||
                !one_value(&docs[0], axis, va, sizeof va) ||
                !one_value(&docs[k], axis, vb, sizeof vb) || strcmp(va, vb) == 0)
                continue;
            ignored[axis] = true;
            if (used < sizeof out->ignored && !strstr(out->ignored, axis_names[axis]))
                used += (size_t)snprintf(out->ignored + used, sizeof out->ignored - used,
                                         "%s%s: %s vs %s", used ? "; " : "", axis_names[axis],
                                         va, vb);
        }
        /* labels leave out what every row of A shares: it is said once */
        for (int axis = 0; axis < NAXES; axis++) {
            hidden[axis] = ignored[axis] || one_value(&docs[0], axis, va, sizeof va);
            if (k == 1 && !ignored[axis] && hidden[axis] && va[0] &&
                (axis == AXIS_workload || axis == AXIS_size || axis == AXIS_PARAMS))
                common_add(out, axis, va);
        }
        memset(used_a, 0, (size_t)docs[0].nrows * sizeof *used_a);
        if (match_rows(&docs[0], &docs[k], k, ignored, hidden, out, used_a) < 0)
            goto oom;
    }
    free(used_a);
    if (out->nmatches == 0) {
        snprintf(err, errlen,
                 "no row of the first results matches a row of the others (their rows differ "
                 "in more than one value of an axis: compare results of the same sweep)");
        rep_comparison_free(out);
        return -1;
    }
    for (int i = 0; i < docs[0].nrows; i++) {
        bool matched = false;
        for (int m = 0; m < out->nmatches; m++)
            matched |= out->matches[m].a == i;
        out->unmatched += !matched;
    }
    return 0;
oom:
    free(used_a);
    rep_comparison_free(out);
    snprintf(err, errlen, "out of memory");
    return -1;
}

void rep_comparison_free(rep_comparison_t *c)
{
    if (!c)
        return;
    free(c->matches);
    c->matches = NULL;
    c->nmatches = 0;
}
