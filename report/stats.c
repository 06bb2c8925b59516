/* report/stats.c: every number the outputs show, computed once.
 *
 * rep_summarize() turns a run_row_t (R samples) into a rep_row_t: the wall
 * time statistics and outlier count, the median of every other sample field,
 * the speedup against the matching single row, and the row's name. The three
 * writers (table.c, csv.c, json.c) and the chart only format what is here,
 * through the column table at the end of this file, so the console, the CSV,
 * the JSON and the chart cannot disagree.
 *
 * Statistics on a handful of repeats: the median is the headline (robust to
 * one slow run), stddev uses R-1 (sample estimate, undefined for R = 1), and
 * outliers follow Iglewicz and Hoaglin's modified z-score
 *
 *     M_i = 0.6745 (x_i - median) / MAD,   outlier when |M_i| > 3.5
 *
 * where 0.6745 makes MAD comparable to sigma for normal data. When more than
 * half the repeats are identical MAD is 0; the fallback is their
 * mean-absolute-deviation form M_i = (x_i - median) / (1.253314 MeanAD).
 *
 * The small formatting rules every output shares (time units, human counts,
 * byte sizes) live at the end, so the console, the chart and `gil-lab topo`
 * print the same number the same way.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gil/gil.h"
#include "report/report.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of s[0..n), n >= 1, sorting s in place. */
static double median_inplace(double *s, int n)
{
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
}

static int count_outliers(const double *x, int n, double median, double mad)
{
    double scale, mean_ad = 0.0;
    int i, count = 0;

    if (mad > 0.0) {
        scale = mad / 0.6745;
    } else {
        for (i = 0; i < n; i++)
            mean_ad += fabs(x[i] - median);
        mean_ad /= n;
        if (mean_ad == 0.0)
            return 0;  /* all repeats identical */
        scale = 1.253314 * mean_ad;
    }
    for (i = 0; i < n; i++)
        if (fabs(x[i] - median) / scale > REP_OUTLIER_Z)
            count++;
    return count;
}

int rep_stats_compute(const double *x, int n, rep_stats_t *st)
{
    double *s, sum = 0.0, ss = 0.0;
    int i;

    if (n < 1)
        return -1;
    s = malloc((size_t)n * sizeof *s);
    if (!s)
        return -1;
    memcpy(s, x, (size_t)n * sizeof *s);
    st->n = n;
    st->median = median_inplace(s, n);
    st->min = s[0];
    st->max = s[n - 1];
    for (i = 0; i < n; i++)
        sum += x[i];
    st->mean = sum / n;
    for (i = 0; i < n; i++)
        ss += (x[i] - st->mean) * (x[i] - st->mean);
    st->stddev = n > 1 ? sqrt(ss / (n - 1)) : NAN;
    st->cv = st->mean != 0.0 ? st->stddev / st->mean : NAN;
    for (i = 0; i < n; i++)
        s[i] = fabs(x[i] - st->median);
    st->mad = median_inplace(s, n);
    st->outliers = count_outliers(x, n, st->median, st->mad);
    free(s);
    return 0;
}

/* ------------------------------------------------------------------------
 * Sample fields
 */

static const char *const field_names[REP_NFIELDS] = {
#define X(name, type) [REP_F_##name] = #name,
    REP_SAMPLE_FIELDS(X)
#undef X
};

static const rep_vtype_t field_types[REP_NFIELDS] = {
#define X(name, type) [REP_F_##name] = REP_V_##type,
    REP_SAMPLE_FIELDS(X)
#undef X
};

const char *rep_field_name(rep_field_t f)
{
    return field_names[f];
}

rep_value_t rep_field_value(rep_field_t f, double d)
{
    return (rep_value_t){.type = field_types[f], .d = d};
}

rep_value_t rep_sample_value(const run_sample_t *s, rep_field_t f)
{
    switch (f) {
#define X(name, type)                                                          \
    case REP_F_##name:                                                         \
        return rep_field_value(f, s->name);
        REP_SAMPLE_FIELDS(X)
#undef X
    case REP_NFIELDS:
        break;
    }
    return (rep_value_t){.type = REP_V_NUM, .d = NAN};
}

const char *rep_pin_name(run_pin_t pin)
{
    return pin == RUN_PIN_CORES ? "cores" : "none";
}

/* ------------------------------------------------------------------------
 * Baselines
 */

rep_baseline_t rep_baseline_default(void)
{
    return (rep_baseline_t){NULL, RUN_MODE_single, -1, -1, -1};
}

rep_setup_t rep_setup_default(void)
{
    return (rep_setup_t){rep_baseline_default(), REP_STRONG, 0};
}

/* Set *slot to v unless an earlier word of the baseline already set it. */
static int baseline_axis(int *slot, int v, const char *word, char *err, size_t errlen)
{
    if (*slot >= 0) {
        snprintf(err, errlen, "'%s' names an axis given twice", word);
        return -1;
    }
    *slot = v;
    return 0;
}

int rep_baseline_parse(const char *s, rep_baseline_t *b, char *err, size_t errlen)
{
    char copy[256], *save = NULL;
    int k;

    *b = (rep_baseline_t){NULL, -1, -1, -1, -1};
    if (!*s || strlen(s) >= sizeof copy || s[0] == '/' || s[strlen(s) - 1] == '/' ||
        strstr(s, "//")) {
        snprintf(err, errlen, "'%s' is not a row (expected names joined by '/', e.g. single/gil)",
                 s);
        return -1;
    }
    snprintf(copy, sizeof copy, "%s", s);
    for (char *w = strtok_r(copy, "/", &save); w; w = strtok_r(NULL, "/", &save)) {
        long workers;
        char *end;
        if ((k = run_mode_find(w)) >= 0) {
            if (baseline_axis(&b->mode, k, w, err, errlen) < 0)
                return -1;
        } else if ((k = guard_find(w)) >= 0) {
            if (baseline_axis(&b->guard, k, w, err, errlen) < 0)
                return -1;
        } else if ((k = heap_kind_find(w)) >= 0) {
            if (baseline_axis(&b->allocator, k, w, err, errlen) < 0)
                return -1;
        } else if (wl_find(w)) {
            if (b->workload) {
                snprintf(err, errlen, "'%s' names an axis given twice", w);
                return -1;
            }
            b->workload = wl_find(w);
        } else if (w[0] == 'j' && (w[1] == ':' || w[1] == '=') &&
                   (workers = strtol(w + 2, &end, 10)) >= 1 && workers <= RUN_MAX_WORKERS &&
                   !*end && end != w + 2) {
            if (baseline_axis(&b->workers, (int)workers, w, err, errlen) < 0)
                return -1;
        } else {
            snprintf(err, errlen, "'%s' in '%s' is not a mode, guard, allocator, workload or j:N",
                     w, s);
            return -1;
        }
    }
    return 0;
}

void rep_baseline_format(const rep_baseline_t *b, char *buf, size_t len)
{
    const char *parts[5];
    char workers[24];
    size_t used = 0;
    int np = 0;

    if (b->workload)
        parts[np++] = b->workload->name;
    if (b->mode >= 0)
        parts[np++] = run_mode_name((run_mode_t)b->mode);
    if (b->guard >= 0)
        parts[np++] = guard_name((guard_kind_t)b->guard);
    if (b->allocator >= 0)
        parts[np++] = heap_kind_name((heap_kind_t)b->allocator);
    if (b->workers >= 0) {
        snprintf(workers, sizeof workers, "j:%d", b->workers);
        parts[np++] = workers;
    }
    buf[0] = '\0';
    for (int k = 0; k < np && used < len; k++) {
        int w = snprintf(buf + used, len - used, "%s%s", k ? "/" : "", parts[k]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* The part of a row that every baseline shares with it. */
static bool same_context(const run_spec_t *a, const run_spec_t *b, rep_scaling_t scaling)
{
    bool size = scaling == REP_WEAK ? a->size * b->workers == b->size * a->workers
                                    : a->size == b->size;
    return size && a->immortal == b->immortal && a->switch_interval_us == b->switch_interval_us &&
           a->pin == b->pin &&
           (a->workload != b->workload || memcmp(a->params, b->params, sizeof a->params) == 0);
}

/* -1 when base cannot be row's baseline under b, else how many of the free
 * axes agree (higher is better). */
static int baseline_score(const run_spec_t *row, const run_spec_t *base, const rep_baseline_t *b,
                          rep_scaling_t scaling)
{
    if (!same_context(row, base, scaling) ||
        base->workload != (b->workload ? b->workload : row->workload) ||
        (int)base->mode != (b->mode >= 0 ? b->mode : (int)row->mode) ||
        (int)base->guard != (b->guard >= 0 ? b->guard : (int)row->guard))
        return -1;
    if (b->allocator >= 0 ? (int)base->allocator != b->allocator
                          : b->guard < 0 && base->allocator != row->allocator)
        return -1;
    if (b->workers >= 0 ? base->workers != b->workers
                        : b->mode < 0 && base->workers != row->workers)
        return -1;
    return 2 * (base->allocator == row->allocator) + (base->workers == row->workers);
}

static int best_baseline(const rep_row_t *rows, int n, int i, const rep_baseline_t *b,
                         rep_scaling_t scaling)
{
    int best = -1, best_score = -1;

    for (int j = 0; j < n; j++) {
        int score = baseline_score(&rows[i].run->spec, &rows[j].run->spec, b, scaling);
        if (score > best_score)
            best = j, best_score = score;
    }
    return best;
}

int rep_baseline_of(const rep_row_t *rows, int n, int i, const rep_baseline_t *b,
                    rep_scaling_t scaling)
{
    static const rep_baseline_t one_worker = {NULL, -1, -1, -1, 1};
    rep_baseline_t def = rep_baseline_default();
    bool by_default = b->workload == def.workload && b->mode == def.mode && b->guard == def.guard &&
                      b->allocator == def.allocator && b->workers == def.workers;
    int best = best_baseline(rows, n, i, b, scaling);

    /* A sweep of -j 1,2,4 without a single row scales against its own
     * mode at one worker, as a scaling curve does. */
    if (best < 0 && by_default)
        best = best_baseline(rows, n, i, &one_worker, scaling);
    return best;
}

bool rep_baseline_matches(const run_spec_t *specs, int n, const rep_baseline_t *b,
                          rep_scaling_t scaling)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (baseline_score(&specs[i], &specs[j], b, scaling) >= 0)
                return true;
    return false;
}

/* ------------------------------------------------------------------------
 * Rows
 */

/* CPUs a row can keep busy: one under a GIL shared by threads (the new
 * GIL's or the old one's). */
static double parallel_width(const run_spec_t *spec, const rep_setup_t *setup)
{
    double w = spec->mode == RUN_MODE_single ||
                       (spec->mode == RUN_MODE_threads && guard_get(spec->guard)->has_gil)
                   ? 1.0
                   : spec->workers;
    return setup->cpus > 0 && w > setup->cpus ? setup->cpus : w;
}

bool rep_row_blocks(const rep_row_t *r)
{
    double blocked = r->med[REP_F_blocked_s];
    return isfinite(blocked) && blocked >= 0.1 * r->wall.median * r->run->spec.workers;
}

double rep_cpu_share(const run_spec_t *spec, const run_sample_t *s, const rep_setup_t *setup)
{
    if (!(s->wall_s > 0.0))
        return NAN;
    return (s->cpu_user_s + s->cpu_sys_s) / s->wall_s / parallel_width(spec, setup);
}

/* A size that would bring a row of `median` seconds at `size` to about ten
 * times the reliable minimum: one significant digit, rounded up. */
static double suggested_size(double size, double median)
{
    double want = size * (10 * REP_MIN_RELIABLE_S / median), unit = 1.0;

    while (want >= 10 * unit)
        unit *= 10;
    return ceil(want / unit) * unit;
}

bool rep_short_warning(const rep_row_t *r, char *buf, size_t len)
{
    const run_spec_t *spec = &r->run->spec;
    double median = r->wall.median, size;
    rep_unit_t u = rep_time_unit(median), t = rep_time_unit(REP_MIN_RELIABLE_S);
    char n[32];
    int w;

    buf[0] = '\0';
    if (!(median < REP_MIN_RELIABLE_S))
        return false;
    w = snprintf(buf, len,
                 "median %.*f %s is below %.0f %s: timer and start-up noise dominate at this "
                 "size; use a larger -n",
                 u.decimals, median * u.scale, u.name, REP_MIN_RELIABLE_S * t.scale, t.name);
    size = median > 0 ? suggested_size((double)spec->size, median) : 0;
    if (size > (double)spec->workload->max_size)
        size = (double)spec->workload->max_size;
    if (size > (double)spec->size && w > 0 && (size_t)w < len) {
        rep_fmt_count(size, n, sizeof n);
        snprintf(buf + w, len - (size_t)w, " (e.g. -n %s)", n);
    }
    return true;
}

/* The row's name, unique within a sweep whatever its axes: the spec's
 * axes, then its parameters and every setting that differs from the
 * default ("shared/threads/gil/pymalloc/j:2/n:20000000/length=7/
 * switch:1000us"). Compare and --resume match rows by it. */
void rep_spec_name(const run_spec_t *spec, char *buf, size_t len)
{
    const workload_t *wl = spec->workload;
    int w = snprintf(buf, len, "%s/%s/%s/%s/j:%d/n:%lld", wl->name, run_mode_name(spec->mode),
                     guard_name(spec->guard), heap_kind_name(spec->allocator), spec->workers,
                     (long long)spec->size);
    size_t n = w < 0 ? len : (size_t)w;

    for (int p = 0; p < wl->nparams && n < len; p++) {
        char value[64];
        wl_param_format(&wl->params[p], spec->params[p], value, sizeof value);
        n += (size_t)snprintf(buf + n, len - n, "/%s=%s", wl->params[p].name, value);
    }
    if (spec->switch_interval_us != GIL_DEFAULT_INTERVAL_US && n < len)
        n += (size_t)snprintf(buf + n, len - n, "/switch:%lluus",
                              (unsigned long long)spec->switch_interval_us);
    if (!spec->immortal && n < len)
        n += (size_t)snprintf(buf + n, len - n, "/no-immortal");
    if (spec->pin != RUN_PIN_NONE && n < len)
        n += (size_t)snprintf(buf + n, len - n, "/pin:%s", rep_pin_name(spec->pin));
    if (spec->gc.disabled && n < len)
        n += (size_t)snprintf(buf + n, len - n, "/gc:off");
    if (spec->gc.freeze && n < len)
        n += (size_t)snprintf(buf + n, len - n, "/gc:freeze");
    if (spec->gc.thresholds_set && n < len)
        snprintf(buf + n, len - n, "/gc:%lld,%lld,%lld", (long long)spec->gc.thresholds[0],
                 (long long)spec->gc.thresholds[1], (long long)spec->gc.thresholds[2]);
}

static void describe(rep_row_t *r)
{
    const run_spec_t *spec = &r->run->spec;
    const workload_t *wl = spec->workload;
    size_t used = 0;

    r->params[0] = '\0';
    for (int p = 0; p < wl->nparams && used < sizeof r->params; p++) {
        char value[64];
        wl_param_format(&wl->params[p], spec->params[p], value, sizeof value);
        int w = snprintf(r->params + used, sizeof r->params - used, "%s%s=%s", p ? " " : "", wl->params[p].name,
                         value);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    int64_t t[GC_GENERATIONS];
    gc_thresholds_of(&spec->gc, guard_get(spec->guard)->layout, t);
    snprintf(r->gc_thresholds, sizeof r->gc_thresholds, "%lld,%lld,%lld", (long long)t[0],
             (long long)t[1], (long long)t[2]);
    rep_spec_name(spec, r->name, sizeof r->name);
}

/* ------------------------------------------------------------------------
 * Warnings
 */

static const char *const warning_texts[REP_NWARNINGS] = {
#define X(flag, text) [REP_W_BIT_##flag] = text,
    REP_WARNING_LIST(X)
#undef X
};

void rep_warnings_short(unsigned bits, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (int k = 0; k < REP_NWARNINGS && used < len; k++) {
        if (!(bits & (1u << k)))
            continue;
        int w = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", warning_texts[k]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

void rep_warnings_write(FILE *f, const rep_row_t *rows, int i, const rep_setup_t *setup,
                        const char *prefix)
{
    const rep_row_t *r = &rows[i];
    const run_spec_t *s = &r->run->spec;
    char note[320];

    if (r->warnings & REP_W(outliers))
        fprintf(f,
                "%s%d statistical outlier%s (modified z-score > %.1f); rerun on a quieter "
                "system or with more --warmup.\n",
                prefix, r->wall.outliers, r->wall.outliers == 1 ? "" : "s", REP_OUTLIER_Z);
    if ((r->warnings & REP_W(short)) && rep_short_warning(r, note, sizeof note))
        fprintf(f, "%s%s.\n", prefix, note);
    if (r->warnings & REP_W(high_cv))
        fprintf(f,
                "%sthe repeats disagree: their standard deviation is %.0f %% of the mean (above "
                "%.0f %%); rerun on a quieter machine or with more -r.\n",
                prefix, r->wall.cv * 100, REP_HIGH_CV * 100);
    if (r->warnings & REP_W(low_cpu))
        fprintf(f,
                "%sthe repeats got %.0f %% of the CPU time they could use (median): something "
                "else was running, so these times are too slow.\n",
                prefix, r->cpu_share * 100);
    if (r->warnings & REP_W(implausible)) {
        const rep_row_t *b = &rows[r->baseline];
        if (s->mode == RUN_MODE_threads && guard_get(s->guard)->has_gil && !rep_row_blocks(r))
            fprintf(f,
                    "%simplausible: threads under the GIL ran %.2fx faster than single, beyond "
                    "noise; one thread runs at a time, so the single row was slowed by something "
                    "else (its CPU share: %.0f %%). Do not use this result.\n",
                    prefix, r->speedup, b->cpu_share * 100);
        else
            fprintf(f,
                    "%simplausible: %s %.2fx is above the %s the row can use; the baseline was "
                    "slowed by something else (its CPU share: %.0f %%). Do not use this result.\n",
                    prefix, setup->scaling == REP_WEAK ? "efficiency" : "speedup", r->speedup,
                    setup->scaling == REP_WEAK ? "1.0 of perfect weak scaling"
                    : rep_row_blocks(r)        ? "workers"
                                               : "CPUs",
                    b->cpu_share * 100);
    }
}

int rep_warnings_each(const rep_row_t *rows, int i, const rep_setup_t *setup,
                      void (*line)(void *arg, const char *sentence), void *arg)
{
    char *text = NULL, *save = NULL;
    size_t len = 0;
    FILE *m;

    if (!rows[i].warnings)
        return 0;
    if (!(m = open_memstream(&text, &len)))
        return -1;
    rep_warnings_write(m, rows, i, setup, "");
    if (fclose(m) != 0) {
        free(text);
        return -1;
    }
    for (char *s = strtok_r(text, "\n", &save); s; s = strtok_r(NULL, "\n", &save))
        line(arg, s);
    free(text);
    return 0;
}

/* Whether the row's speedup is physically impossible: GIL threads beating
 * single beyond noise, or more speedup than CPUs the row can use. Only
 * against the same guard and allocator's single row, where physics bounds
 * the answer. */
static bool implausible(const rep_row_t *r, const rep_row_t *base, const rep_setup_t *setup)
{
    const run_spec_t *s = &r->run->spec, *b = &base->run->spec;
    double bound;

    if (b->mode != RUN_MODE_single || b->guard != s->guard || b->allocator != s->allocator ||
        s->mode == RUN_MODE_single)
        return false;
    bound = setup->scaling == REP_WEAK ? 1.0
            : rep_row_blocks(r)          ? s->workers
                                         : parallel_width(s, setup);
    return r->speedup > bound * (1.0 + REP_NOISE) && r->speedup_ci.lo > bound;
}

/* The speedup, its interval and the warnings, once every row has its
 * statistics. Returns 0, or -1 on out-of-memory. */
static int compare_to_baseline(const run_row_t *rows, int n, const rep_setup_t *setup,
                               rep_row_t *out, double *x, double *y)
{
    for (int i = 0; i < n; i++) {
        rep_row_t *r = &out[i];
        int b = rep_baseline_of(out, n, i, &setup->baseline, setup->scaling);
        rep_ratio_t ratio;

        r->baseline = b;
        r->baseline_name = b >= 0 ? out[b].name : "";
        r->speedup = NAN;
        r->speedup_ci = (rep_interval_t){NAN, NAN, NAN};
        if (b >= 0 && r->wall.median > 0.0) {
            r->speedup = out[b].wall.median / r->wall.median;
            for (int k = 0; k < rows[b].nsamples; k++)
                x[k] = rows[b].samples[k].wall_s;
            for (int k = 0; k < rows[i].nsamples; k++)
                y[k] = rows[i].samples[k].wall_s;
            if (b != i) {
                if (rep_ratio_ci(x, rows[b].nsamples, y, rows[i].nsamples, REP_CI_LEVEL, &ratio) < 0)
                    return -1;
                r->speedup_ci = ratio.ci;
            }
        }
        if (r->wall.outliers > 0)
            r->warnings |= REP_W(outliers);
        if (r->wall.median < REP_MIN_RELIABLE_S)
            r->warnings |= REP_W(short);
        if (r->wall.cv > REP_HIGH_CV)
            r->warnings |= REP_W(high_cv);
        if (r->cpu_share < REP_LOW_CPU && !rep_row_blocks(r))
            r->warnings |= REP_W(low_cpu);
        if (b >= 0 && b != i && implausible(r, &out[b], setup))
            r->warnings |= REP_W(implausible);
        rep_warnings_short(r->warnings, r->warning_text, sizeof r->warning_text);
    }
    return 0;
}

int rep_summarize(const run_row_t *rows, int n, const rep_setup_t *setup, rep_row_t *out)
{
    rep_setup_t defaults = rep_setup_default();
    double *x = NULL, *y = NULL;
    int i, k, maxs = 1;

    if (!setup)
        setup = &defaults;
    for (i = 0; i < n; i++) {
        if (rows[i].nsamples < 1)
            return -1;
        if (rows[i].nsamples > maxs)
            maxs = rows[i].nsamples;
    }
    x = malloc((size_t)maxs * sizeof *x);
    y = malloc((size_t)maxs * sizeof *y);
    if (!x || !y)
        goto fail;
    for (i = 0; i < n; i++) {
        rep_row_t *r = &out[i];
        int ns = rows[i].nsamples;

        memset(r, 0, sizeof *r);
        r->run = &rows[i];
        for (k = 0; k < ns; k++)
            x[k] = rows[i].samples[k].wall_s;
        if (rep_stats_compute(x, ns, &r->wall) < 0 ||
            rep_median_ci(x, ns, REP_CI_LEVEL, &r->median_ci) < 0)
            goto fail;
        for (int f = 0; f < REP_NFIELDS; f++) {
            for (k = 0; k < ns; k++)
                x[k] = rep_sample_value(&rows[i].samples[k], (rep_field_t)f).d;
            r->med[f] = median_inplace(x, ns);
        }
        for (k = 0; k < ns; k++)
            x[k] = rep_cpu_share(&rows[i].spec, &rows[i].samples[k], setup);
        r->cpu_share = median_inplace(x, ns);
        describe(r);
    }
    if (compare_to_baseline(rows, n, setup, out, x, y) < 0)
        goto fail;
    free(x);
    free(y);
    return 0;
fail:
    free(x);
    free(y);
    return -1;
}

/* ------------------------------------------------------------------------
 * Values and the column table
 */

static rep_value_t v_str(const char *s) { return (rep_value_t){.type = REP_V_STR, .s = s}; }
static rep_value_t v_int(int64_t i) { return (rep_value_t){.type = REP_V_INT, .i = i}; }
static rep_value_t v_bool(bool b) { return (rep_value_t){.type = REP_V_BOOL, .i = b}; }
static rep_value_t v_sec(double d) { return (rep_value_t){.type = REP_V_SEC, .d = d}; }
static rep_value_t v_ratio(double d) { return (rep_value_t){.type = REP_V_RATIO, .d = d}; }

/* gil-old's ticks between releases; no value under any other guard. */
static rep_value_t v_check_interval(const run_spec_t *s)
{
    int ticks = s->check_interval ? s->check_interval : GIL_OLD_DEFAULT_CHECK_INTERVAL;
    return (rep_value_t){.type = REP_V_NUM, .d = s->guard == GUARD_gil_old ? ticks : NAN};
}

#define SPEC (&r->run->spec)
#define MED(f) rep_field_value(REP_F_##f, r->med[REP_F_##f])

/* X(column, spec, value): the CSV header order. The first fifteen are
 * the contract of the issue; the rest follow; new columns go at the end.
 * `spec` marks the row's configuration, which the JSON repeats on every
 * entry of the row (json.c); all columns are in its median entry's "row". */
#define REP_COLUMN_LIST(X)                                                     \
    X(workload, true, v_str(SPEC->workload->name))                             \
    X(mode, true, v_str(run_mode_name(SPEC->mode)))                            \
    X(guard, true, v_str(guard_name(SPEC->guard)))                             \
    X(workers, true, v_int(SPEC->workers))                                     \
    X(size, true, v_int(SPEC->size))                                           \
    X(repeats, false, v_int(r->wall.n))                                        \
    X(wall_median_s, false, v_sec(r->wall.median))                             \
    X(wall_mean_s, false, v_sec(r->wall.mean))                                 \
    X(wall_stddev_s, false, v_sec(r->wall.stddev))                             \
    X(wall_min_s, false, v_sec(r->wall.min))                                   \
    X(wall_max_s, false, v_sec(r->wall.max))                                   \
    X(cpu_user_s, false, MED(cpu_user_s))                                      \
    X(cpu_sys_s, false, MED(cpu_sys_s))                                        \
    X(max_rss_kib, false, MED(max_rss_kib))                                    \
    X(speedup, false, v_ratio(r->speedup))                                      \
    X(allocator, true, v_str(heap_kind_name(SPEC->allocator)))                 \
    X(immortal, true, v_bool(SPEC->immortal))                                  \
    X(switch_interval_us, true, v_int((int64_t)SPEC->switch_interval_us))      \
    X(warmup, true, v_int(SPEC->warmup))                                       \
    X(startup_s, false, MED(startup_s))                                        \
    X(worker_min_s, false, MED(worker_min_s))                                  \
    X(worker_max_s, false, MED(worker_max_s))                                  \
    X(vol_ctx_switches, false, MED(vol_ctx_switches))                          \
    X(invol_ctx_switches, false, MED(invol_ctx_switches))                      \
    X(gil_switches, false, MED(gil_switches))                                  \
    X(gil_forced_drops, false, MED(gil_forced_drops))                          \
    X(gil_drop_requests, false, MED(gil_drop_requests))                        \
    X(gil_wait_s, false, MED(gil_wait_s))                                      \
    X(rc_local, false, MED(rc_local))                                          \
    X(rc_shared, false, MED(rc_shared))                                        \
    X(brc_queued, false, MED(brc_queued))                                      \
    X(brc_merged, false, MED(brc_merged))                                      \
    X(objects_allocated, false, MED(objects_allocated))                        \
    X(arena_bytes_peak, false, MED(arena_bytes_peak))                          \
    X(outliers, false, v_int(r->wall.outliers))                                 \
    X(pin, true, v_str(rep_pin_name(SPEC->pin)))                               \
    X(params, false, v_str(r->params))                                         \
    X(rss_sum_kib, false, MED(rss_sum_kib))                                    \
    X(gc_collections_0, false, MED(gc_collections_0))                          \
    X(gc_collections_1, false, MED(gc_collections_1))                          \
    X(gc_collections_2, false, MED(gc_collections_2))                          \
    X(gc_collected_0, false, MED(gc_collected_0))                              \
    X(gc_collected_1, false, MED(gc_collected_1))                              \
    X(gc_collected_2, false, MED(gc_collected_2))                              \
    X(gc_examined, false, MED(gc_examined))                                    \
    X(gc_uncollectable, false, MED(gc_uncollectable))                          \
    X(gc_pause_total_s, false, MED(gc_pause_total_s))                          \
    X(gc_pause_p50_s, false, MED(gc_pause_p50_s))                              \
    X(gc_pause_p99_s, false, MED(gc_pause_p99_s))                              \
    X(gc_pause_max_s, false, MED(gc_pause_max_s))                              \
    X(gc_unreachable, false, MED(gc_unreachable))                              \
    X(gc, true, v_str(SPEC->gc.disabled ? "off" : "on"))                       \
    X(gc_thresholds, true, v_str(r->gc_thresholds))                            \
    X(wall_cv, false, v_ratio(r->wall.cv))                                     \
    X(wall_mad_s, false, v_sec(r->wall.mad))                                   \
    X(median_ci_low_s, false, v_sec(r->median_ci.lo))                          \
    X(median_ci_high_s, false, v_sec(r->median_ci.hi))                         \
    X(median_ci_level, false, v_ratio(r->median_ci.level))                     \
    X(speedup_ci_low, false, v_ratio(r->speedup_ci.lo))                         \
    X(speedup_ci_high, false, v_ratio(r->speedup_ci.hi))                        \
    X(speedup_ci_level, false, v_ratio(r->speedup_ci.level))                    \
    X(baseline, false, v_str(r->baseline_name))                                 \
    X(cpu_share, false, v_ratio(r->cpu_share))                                 \
    X(warnings, false, v_str(r->warning_text))                                 \
    X(traced_peak_bytes, false, MED(traced_peak_bytes))                        \
    X(traced_peak_blocks, false, MED(traced_peak_blocks))                      \
    X(pss_sum_kib, false, MED(pss_sum_kib))                                    \
    X(smaps_pss_before_kib, false, MED(smaps_pss_before_kib))                  \
    X(smaps_pss_after_kib, false, MED(smaps_pss_after_kib))                    \
    X(smaps_private_dirty_before_kib, false, MED(smaps_private_dirty_before_kib)) \
    X(smaps_private_dirty_after_kib, false, MED(smaps_private_dirty_after_kib))   \
    X(smaps_shared_clean_before_kib, false, MED(smaps_shared_clean_before_kib))   \
    X(smaps_shared_clean_after_kib, false, MED(smaps_shared_clean_after_kib))     \
    X(smaps_shared_dirty_before_kib, false, MED(smaps_shared_dirty_before_kib))   \
    X(smaps_shared_dirty_after_kib, false, MED(smaps_shared_dirty_after_kib))   \
    X(gc_pause_p50_0_s, false, MED(gc_pause_p50_0_s))                          \
    X(gc_pause_p99_0_s, false, MED(gc_pause_p99_0_s))                          \
    X(gc_pause_max_0_s, false, MED(gc_pause_max_0_s))                          \
    X(gc_pause_p50_1_s, false, MED(gc_pause_p50_1_s))                          \
    X(gc_pause_p99_1_s, false, MED(gc_pause_p99_1_s))                          \
    X(gc_pause_max_1_s, false, MED(gc_pause_max_1_s))                          \
    X(gc_pause_p50_2_s, false, MED(gc_pause_p50_2_s))                          \
    X(gc_pause_p99_2_s, false, MED(gc_pause_p99_2_s))                          \
    X(gc_pause_max_2_s, false, MED(gc_pause_max_2_s))                          \
    X(check_interval, true, v_check_interval(SPEC))                            \
    X(blocking_calls, false, MED(blocking_calls))                              \
    X(blocked_s, false, MED(blocked_s))                                        \
    X(gil_switch_wait_s, false, MED(gil_switch_wait_s))                        \
    X(gil_futile_wakeups, false, MED(gil_futile_wakeups))                      \
    X(gil_share_min, false, MED(gil_share_min))                                \
    X(gil_share_max, false, MED(gil_share_max))                                \
    X(gil_jain, false, MED(gil_jain))                                          \
    X(starved_workers, false, MED(starved_workers))                            \
    X(requests, false, MED(requests))                                          \
    X(throughput_rps, false, MED(throughput_rps))                              \
    X(lat_p50_s, false, MED(lat_p50_s))                                        \
    X(lat_p90_s, false, MED(lat_p90_s))                                        \
    X(lat_p99_s, false, MED(lat_p99_s))                                        \
    X(lat_p999_s, false, MED(lat_p999_s))                                      \
    X(lat_max_s, false, MED(lat_max_s))                                        \
    X(server_gil_wait_s, false, MED(server_gil_wait_s))                        \
    X(trace_events, false, MED(trace_events))                                  \
    X(trace_dropped, false, MED(trace_dropped))                                \
    X(gil_wait_min_s, false, MED(gil_wait_min_s))                              \
    X(gil_wait_max_s, false, MED(gil_wait_max_s))                              \
    X(gc_examined_0, false, MED(gc_examined_0))                                \
    X(gc_examined_1, false, MED(gc_examined_1))                                \
    X(gc_examined_2, false, MED(gc_examined_2))                                \
    X(gc_uncollectable_0, false, MED(gc_uncollectable_0))                      \
    X(gc_uncollectable_1, false, MED(gc_uncollectable_1))                      \
    X(gc_uncollectable_2, false, MED(gc_uncollectable_2))                      \
    X(gc_pause_total_0_s, false, MED(gc_pause_total_0_s))                      \
    X(gc_pause_total_1_s, false, MED(gc_pause_total_1_s))                      \
    X(gc_pause_total_2_s, false, MED(gc_pause_total_2_s))                      \
    X(traced_bytes_end, false, MED(traced_bytes_end))                          \
    X(traced_blocks_end, false, MED(traced_blocks_end))                        \
    X(heap_blocks_end, false, MED(heap_blocks_end))                            \
    X(small_bytes_end, false, MED(small_bytes_end))                            \
    X(arenas_end, false, MED(arenas_end))                                      \
    X(arenas_peak, false, MED(arenas_peak))                                    \
    X(gc_freeze, true, v_bool(SPEC->gc.freeze))

#define X(col, json, expr)                                                     \
    static rep_value_t col_##col(const rep_row_t *r) { return expr; }
REP_COLUMN_LIST(X)
#undef X

const rep_column_t rep_columns[] = {
#define X(col, json, expr) {#col, json, col_##col},
    REP_COLUMN_LIST(X)
#undef X
};
const int rep_ncolumns = (int)(sizeof rep_columns / sizeof rep_columns[0]);

bool rep_value_format(rep_value_t v, char *buf, size_t len)
{
    buf[0] = '\0';
    switch (v.type) {
    case REP_V_STR:
        snprintf(buf, len, "%s", v.s ? v.s : "");
        return true;
    case REP_V_INT:
        snprintf(buf, len, "%lld", (long long)v.i);
        return true;
    case REP_V_BOOL:
        snprintf(buf, len, "%s", v.i ? "true" : "false");
        return true;
    case REP_V_SEC:
    case REP_V_NUM:
    case REP_V_RATIO:
        break;
    }
    if (!isfinite(v.d))
        return false;
    snprintf(buf, len, v.type == REP_V_SEC ? "%.9g" : v.type == REP_V_RATIO ? "%.6g" : "%.15g",
             v.d);
    return true;
}

void rep_fmt_count(double v, char *buf, size_t len)
{
    static const struct { double unit; const char *suffix; } units[] = {
        {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"},
    };
    double a = fabs(v);

    if (!isfinite(v)) {
        snprintf(buf, len, "-");
        return;
    }
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        double q = v / units[u].unit;
        if (a < units[u].unit)
            continue;
        if (q == floor(q))
            snprintf(buf, len, "%.0f%s", q, units[u].suffix);
        else if (a >= 1e4)
            snprintf(buf, len, fabs(q) < 100 ? "%.3g%s" : "%.0f%s", q, units[u].suffix);
        else
            continue;  /* 1500 reads better as 1500 than as 1.5k */
        return;
    }
    snprintf(buf, len, v == floor(v) ? "%.0f" : "%.1f", v);
}

rep_unit_t rep_time_unit(double seconds)
{
    if (!(seconds < 1.0) || seconds == 0.0)
        return (rep_unit_t){"s", 1.0, 3};
    if (seconds >= 1e-3)
        return (rep_unit_t){"ms", 1e3, 1};
    return (rep_unit_t){"µs", 1e6, 1};
}

void rep_fmt_bytes(double bytes, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    size_t u = 0;

    while (bytes >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
        bytes /= 1024.0;
        u++;
    }
    snprintf(buf, len, bytes == floor(bytes) ? "%.0f %s" : "%.1f %s", bytes, units[u]);
}

bool rep_busy_warning(const rep_doc_t *doc, char *buf, size_t len)
{
    const rep_machine_state_t *st = &doc->ctx->before;
    int cpus = doc->setup.cpus > 0 ? doc->setup.cpus : doc->ctx->num_pus;
    double need = 1.0, others;

    buf[0] = '\0';
    if (!st->valid || cpus <= 0 || isnan(st->load[0]))
        return false;
    for (int i = 0; i < doc->nrows; i++)
        need = fmax(need, parallel_width(&doc->rows[i].run->spec, &doc->setup));
    others = fmax(st->load[0], st->running - 1.0);
    if (others <= cpus - need + 0.5)
        return false;
    snprintf(buf, len,
             "the machine was busy before the run: load average %.2f, %d runnable task%s "
             "besides the lab, on %d CPU%s of which the widest row needs %.0f; times may be slow "
             "and noisy (see each row's CPU share)",
             st->load[0], st->running - 1, st->running - 1 == 1 ? "" : "s", cpus,
             cpus == 1 ? "" : "s", need);
    return true;
}
