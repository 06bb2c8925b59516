/* tests/test_infer.c: the intervals, the test and the baselines against
 * published values and hand-built rows (report/infer.c, report/stats.c).
 *
 *   - median CI: the order-statistic interval of Conover's table (Practical
 *     Nonparametric Statistics, table A3): n = 10 gives ranks (2, 9) with
 *     97.85 % coverage, n = 20 ranks (6, 15) with 95.86 %; n = 5 can only
 *     give [min, max] at 93.75 %;
 *   - Mann-Whitney U: the critical values of the two-sided 5 % table
 *     (n1 = n2 = 5, 6, 8, 10, 20: U = 2, 5, 13, 23, 127), and R's
 *     wilcox.test example (Hollander and Wolfe's data: W = 35, one-sided
 *     p = 0.1272);
 *   - Moses' ratio interval: two samples exactly 2x apart give 2, inside
 *     an interval of 96.8 % coverage (5 and 5 repeats); a sample against
 *     itself gives 1;
 *   - baselines: --baseline single/gil for another guard's rows, weak
 *     scaling's size per worker, and the warnings of impossible speedups.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"

#define EPS 1e-9

/* ------------------------------------------------------------------------
 * Median CI
 */

Test(median_ci, ten_repeats_use_ranks_2_and_9)
{
    const double x[] = {10, 1, 9, 2, 8, 3, 7, 4, 6, 5};
    rep_interval_t ci;

    cr_assert_eq(rep_median_ci(x, 10, 0.95, &ci), 0);
    cr_assert_float_eq(ci.lo, 2.0, EPS);
    cr_assert_float_eq(ci.hi, 9.0, EPS);
    cr_assert_float_eq(ci.level, 1.0 - 2.0 * 11.0 / 1024.0, EPS);   /* 97.85 % */
}

Test(median_ci, twenty_repeats_use_ranks_6_and_15)
{
    double x[20];
    rep_interval_t ci;

    for (int i = 0; i < 20; i++)
        x[i] = 20 - i;   /* 20 .. 1 */
    cr_assert_eq(rep_median_ci(x, 20, 0.95, &ci), 0);
    cr_assert_float_eq(ci.lo, 6.0, EPS);
    cr_assert_float_eq(ci.hi, 15.0, EPS);
    cr_assert_float_eq(ci.level, 0.9586, 1e-4);
}

Test(median_ci, five_repeats_reach_93_75_percent)
{
    const double x[] = {3, 1, 5, 2, 4};
    rep_interval_t ci;

    cr_assert_eq(rep_median_ci(x, 5, 0.95, &ci), 0);
    cr_assert_float_eq(ci.lo, 1.0, EPS);
    cr_assert_float_eq(ci.hi, 5.0, EPS);
    cr_assert_float_eq(ci.level, 0.9375, EPS);
}

Test(median_ci, one_repeat_has_none)
{
    const double x[] = {1.0};
    rep_interval_t ci;

    cr_assert_eq(rep_median_ci(x, 1, 0.95, &ci), 0);
    cr_assert(isnan(ci.lo) && isnan(ci.hi) && isnan(ci.level));
}

/* ------------------------------------------------------------------------
 * Mann-Whitney U
 */

/* a and b of n values each whose U (pairs a_i > b_j) is u, without ties:
 * b = 1..n, and a_i placed above k_i of them, sum of k_i = u. */
static void samples_with_u(int n, int u, double *a, double *b)
{
    for (int i = 0; i < n; i++) {
        int k = u > n ? n : u;
        b[i] = i + 1;
        a[i] = k + 0.5 + i * 1e-6;
        u -= k;
    }
}

static double p_of(int n, int u)
{
    double a[32], b[32];
    rep_mwu_t t;

    samples_with_u(n, u, a, b);
    cr_assert_eq(rep_mwu(a, n, b, n, &t), 0);
    cr_assert_float_eq(t.u, u, EPS);
    cr_assert(t.exact, "no ties: the exact distribution");
    return t.p;
}

Test(mwu, critical_values_of_the_published_table)
{
    static const struct { int n, critical; } table[] = {
        {5, 2}, {6, 5}, {8, 13}, {10, 23}, {20, 127},
    };

    for (size_t k = 0; k < sizeof table / sizeof table[0]; k++) {
        int n = table[k].n, c = table[k].critical;
        cr_expect_leq(p_of(n, c), 0.05, "n = %d: U = %d must be significant", n, c);
        cr_expect_gt(p_of(n, c + 1), 0.05, "n = %d: U = %d must not be", n, c + 1);
    }
}

Test(mwu, complete_separation_of_five_and_five)
{
    cr_assert_float_eq(p_of(5, 0), 2.0 / 252.0, EPS);
}

Test(mwu, r_wilcox_test_example)
{
    const double x[] = {0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46};
    const double y[] = {1.15, 0.88, 0.90, 0.74, 1.21};
    rep_mwu_t t;

    cr_assert_eq(rep_mwu(x, 10, y, 5, &t), 0);
    cr_assert_float_eq(t.u, 35.0, EPS);
    cr_assert_float_eq(t.p, 2 * 0.1272, 1e-4);
}

Test(mwu, a_sample_against_itself_is_not_significant)
{
    const double x[] = {1.0, 1.1, 0.9, 1.05, 0.95};
    rep_mwu_t t;

    cr_assert_eq(rep_mwu(x, 5, x, 5, &t), 0);
    cr_assert_float_eq(t.p, 1.0, EPS);
    cr_assert(!t.exact, "ties: the normal approximation");
}

Test(mwu, large_samples_use_the_normal_approximation)
{
    double a[60], b[60];
    rep_mwu_t t;

    for (int i = 0; i < 60; i++)
        a[i] = i + 0.25, b[i] = i;
    cr_assert_eq(rep_mwu(a, 60, b, 60, &t), 0);
    cr_assert(!t.exact);
    cr_assert_gt(t.p, 0.5);   /* shifted by a quarter of the spacing: nothing */
}

/* ------------------------------------------------------------------------
 * Ratio with Moses' interval
 */

Test(ratio, two_samples_twice_apart)
{
    const double b[] = {1.0, 1.1, 1.2, 1.3, 1.4};
    double a[5];
    rep_ratio_t r;

    for (int i = 0; i < 5; i++)
        a[i] = 2 * b[i];
    cr_assert_eq(rep_ratio_ci(a, 5, b, 5, 0.95, &r), 0);
    cr_assert_float_eq(r.ratio, 2.0, 1e-12);
    cr_assert_lt(r.ci.lo, 2.0);
    cr_assert_gt(r.ci.hi, 2.0);
    cr_assert_float_eq(r.ci.level, 1.0 - 8.0 / 252.0, EPS);   /* P(U <= 2) = 4/252 */
}

Test(ratio, a_sample_against_itself)
{
    const double x[] = {1.0, 1.3, 0.8, 1.1};
    rep_ratio_t r;

    cr_assert_eq(rep_ratio_ci(x, 4, x, 4, 0.95, &r), 0);
    cr_assert_float_eq(r.ratio, 1.0, 1e-12);
    cr_assert_leq(r.ci.lo, 1.0);
    cr_assert_geq(r.ci.hi, 1.0);
}

Test(ratio, non_positive_times_have_none)
{
    const double a[] = {1.0, 0.0}, b[] = {1.0, 2.0};
    rep_ratio_t r;

    cr_assert_eq(rep_ratio_ci(a, 2, b, 2, 0.95, &r), 0);
    cr_assert(isnan(r.ratio) && isnan(r.ci.lo));
}

/* ------------------------------------------------------------------------
 * Baselines and warnings
 */

static const workload_t fake_wl = {.name = "countdown", .description = "test",
                                   .default_size = 1000, .min_size = 1, .max_size = 1000000};

typedef struct rows {
    run_row_t runs[8];
    run_sample_t samples[8][5];
    rep_row_t rows[8];
    int n;
} rows_t;

/* A row of 5 repeats around `wall`, using `cpu` CPUs' worth of time. */
static void add(rows_t *f, run_mode_t mode, guard_kind_t guard, heap_kind_t alloc, int workers,
                int64_t size, double wall, double cpu)
{
    run_row_t *r = &f->runs[f->n];

    memset(r, 0, sizeof *r);
    r->spec = (run_spec_t){.workload = &fake_wl, .size = size, .mode = mode, .guard = guard,
                           .allocator = alloc, .workers = workers, .switch_interval_us = 5000,
                           .immortal = true, .repeats = 5};
    r->nsamples = 5;
    r->samples = f->samples[f->n];
    for (int k = 0; k < 5; k++) {
        memset(&r->samples[k], 0, sizeof r->samples[k]);
        r->samples[k].wall_s = wall * (1.0 + 0.001 * k);
        r->samples[k].cpu_user_s = r->samples[k].wall_s * cpu;
    }
    f->n++;
}

Test(baseline, parse_and_format)
{
    rep_baseline_t b;
    char err[256], text[64];

    cr_assert_eq(rep_baseline_parse("single/gil", &b, err, sizeof err), 0);
    cr_assert_eq(b.mode, RUN_MODE_single);
    cr_assert_eq(b.guard, GUARD_gil);
    cr_assert_eq(b.allocator, -1);
    rep_baseline_format(&b, text, sizeof text);
    cr_assert_str_eq(text, "single/gil");
    cr_assert_eq(rep_baseline_parse("threads/j:4/malloc", &b, err, sizeof err), 0);
    cr_assert_eq(b.workers, 4);
    cr_assert_eq(b.allocator, HEAP_malloc);
    cr_assert_eq(rep_baseline_parse("single/nosuch", &b, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "'nosuch'"), "%s", err);
    cr_assert_eq(rep_baseline_parse("gil/atomic", &b, err, sizeof err), -1);
    cr_assert_eq(rep_baseline_parse("single//gil", &b, err, sizeof err), -1);
}

Test(baseline, another_guards_single_row)
{
    static rows_t f;
    rep_setup_t setup = rep_setup_default();
    char err[128];

    add(&f, RUN_MODE_single, GUARD_gil, HEAP_pymalloc, 1, 1000, 4.0, 1.0);
    add(&f, RUN_MODE_single, GUARD_biased, HEAP_mimalloc, 1, 1000, 5.0, 1.0);
    add(&f, RUN_MODE_threads, GUARD_biased, HEAP_mimalloc, 2, 1000, 2.5, 2.0);
    cr_assert_eq(rep_baseline_parse("single/gil", &setup.baseline, err, sizeof err), 0);
    cr_assert_eq(rep_summarize(f.runs, f.n, &setup, f.rows), 0);
    cr_assert_eq(f.rows[2].baseline, 0, "biased threads against gil single");
    cr_assert_float_eq(f.rows[2].speedup, 4.0 / 2.5, EPS);
    cr_assert_str_eq(f.rows[2].baseline_name, f.rows[0].name);
    /* the default: the same guard's single row */
    cr_assert_eq(rep_summarize(f.runs, f.n, NULL, f.rows), 0);
    cr_assert_eq(f.rows[2].baseline, 1);
    cr_assert_float_eq(f.rows[2].speedup, 2.0, EPS);
    cr_assert_lt(f.rows[2].speedup_ci.lo, 2.0);
    cr_assert_gt(f.rows[2].speedup_ci.hi, 2.0);
}

Test(baseline, weak_scaling_matches_the_size_per_worker)
{
    static rows_t f;
    rep_setup_t setup = rep_setup_default();

    setup.scaling = REP_WEAK;
    add(&f, RUN_MODE_single, GUARD_gil, HEAP_pymalloc, 1, 1000, 1.0, 1.0);
    add(&f, RUN_MODE_processes, GUARD_gil, HEAP_pymalloc, 2, 2000, 1.0, 2.0);
    cr_assert_eq(rep_summarize(f.runs, f.n, &setup, f.rows), 0);
    cr_assert_eq(f.rows[1].baseline, 0);
    cr_assert_float_eq(f.rows[1].speedup, 1.0, EPS);   /* efficiency */
    cr_assert_eq(rep_summarize(f.runs, f.n, NULL, f.rows), 0);
    cr_assert_eq(f.rows[1].baseline, -1, "strong scaling: sizes differ");
}

/* A scaling sweep without a single row (-m threads,processes -j 1,2,4)
 * scales each mode against its own one-worker row; a single row, when
 * there is one, stays the baseline. */
Test(baseline, one_worker_row_without_single)
{
    static rows_t f, g;

    add(&f, RUN_MODE_threads, GUARD_biased, HEAP_mimalloc, 1, 1000, 2.0, 1.0);
    add(&f, RUN_MODE_threads, GUARD_biased, HEAP_mimalloc, 2, 1000, 1.0, 2.0);
    add(&f, RUN_MODE_processes, GUARD_biased, HEAP_mimalloc, 1, 1000, 2.2, 1.0);
    add(&f, RUN_MODE_processes, GUARD_biased, HEAP_mimalloc, 2, 1000, 1.1, 2.0);
    cr_assert_eq(rep_summarize(f.runs, f.n, NULL, f.rows), 0);
    cr_assert_eq(f.rows[1].baseline, 0);
    cr_assert_eq(f.rows[3].baseline, 2, "processes against processes j=1");
    cr_assert_float_eq(f.rows[1].speedup, 2.0, 0.01);

    add(&g, RUN_MODE_single, GUARD_biased, HEAP_mimalloc, 1, 1000, 1.9, 1.0);
    add(&g, RUN_MODE_threads, GUARD_biased, HEAP_mimalloc, 1, 1000, 2.0, 1.0);
    add(&g, RUN_MODE_threads, GUARD_biased, HEAP_mimalloc, 2, 1000, 1.0, 2.0);
    cr_assert_eq(rep_summarize(g.runs, g.n, NULL, g.rows), 0);
    cr_assert_eq(g.rows[2].baseline, 0, "the single row first");
}

Test(warnings, gil_threads_faster_than_single_is_implausible)
{
    static rows_t f;
    char *text = NULL;
    size_t len = 0;
    FILE *m;

    /* the single row got 68 % of a CPU: slowed by something else */
    add(&f, RUN_MODE_single, GUARD_gil, HEAP_pymalloc, 1, 1000, 1.45, 0.68);
    add(&f, RUN_MODE_threads, GUARD_gil, HEAP_pymalloc, 2, 1000, 1.0, 1.0);
    cr_assert_eq(rep_summarize(f.runs, f.n, NULL, f.rows), 0);
    cr_assert(f.rows[1].warnings & REP_W(implausible));
    cr_assert(f.rows[0].warnings & REP_W(low_cpu));
    cr_assert(!(f.rows[1].warnings & REP_W(low_cpu)));
    m = open_memstream(&text, &len);
    rep_warnings_write(m, f.rows, 1, &(rep_setup_t){rep_baseline_default(), REP_STRONG, 2}, "");
    fclose(m);
    cr_assert_not_null(strstr(text, "threads under the GIL ran 1.45x faster than single"), "%s",
                       text);
    cr_assert_not_null(strstr(text, "its CPU share: 68 %"), "%s", text);
    free(text);
}

/* Threads that wait overlap their waits, GIL or not: io's threads(2) twice
 * as fast as single at a few per cent of a CPU is the lesson, not a busy
 * machine; gil-old is a GIL too; but more speedup than workers is still
 * impossible. */
Test(warnings, blocking_rows_are_bounded_by_their_workers)
{
    static rows_t f;
    rep_setup_t setup = rep_setup_default();

    setup.cpus = 2;
    add(&f, RUN_MODE_single, GUARD_gil, HEAP_pymalloc, 1, 1000, 2.0, 0.03);
    add(&f, RUN_MODE_threads, GUARD_gil, HEAP_pymalloc, 2, 1000, 1.0, 0.06);
    add(&f, RUN_MODE_threads, GUARD_gil, HEAP_pymalloc, 4, 1000, 0.5, 0.12);
    add(&f, RUN_MODE_threads, GUARD_gil, HEAP_pymalloc, 3, 1000, 0.5, 0.12);
    for (int i = 0; i < f.n; i++)
        for (int k = 0; k < 5; k++)   /* each worker blocked 90 % of the wall */
            f.samples[i][k].blocked_s = 0.9 * f.samples[i][k].wall_s * f.runs[i].spec.workers;
    cr_assert_eq(rep_summarize(f.runs, f.n, &setup, f.rows), 0);
    for (int i = 0; i < 3; i++) {
        cr_assert(rep_row_blocks(&f.rows[i]));
        cr_assert_eq(f.rows[i].warnings & (REP_W(low_cpu) | REP_W(implausible)), 0, "row %d: %s", i,
                     f.rows[i].warning_text);
    }
    cr_assert(f.rows[3].warnings & REP_W(implausible), "4x with 3 workers");

    static rows_t g;   /* the same row without its blocking: a busy machine */
    add(&g, RUN_MODE_single, GUARD_gil_old, HEAP_pymalloc, 1, 1000, 2.0, 0.5);
    add(&g, RUN_MODE_threads, GUARD_gil_old, HEAP_pymalloc, 2, 1000, 1.0, 1.0);
    cr_assert_eq(rep_summarize(g.runs, g.n, &setup, g.rows), 0);
    cr_assert(!rep_row_blocks(&g.rows[1]));
    cr_assert(g.rows[0].warnings & REP_W(low_cpu));
    cr_assert(!(g.rows[1].warnings & REP_W(low_cpu)), "one CPU is all threads under gil-old can use");
    cr_assert(g.rows[1].warnings & REP_W(implausible), "gil-old threads 2x faster than single");
}

Test(warnings, speedup_above_the_cpus)
{
    static rows_t f;
    rep_setup_t setup = rep_setup_default();

    setup.cpus = 2;
    add(&f, RUN_MODE_single, GUARD_atomic, HEAP_mimalloc, 1, 1000, 3.0, 1.0);
    add(&f, RUN_MODE_processes, GUARD_atomic, HEAP_mimalloc, 4, 1000, 1.0, 2.0);
    add(&f, RUN_MODE_processes, GUARD_atomic, HEAP_mimalloc, 2, 1000, 1.6, 2.0);
    cr_assert_eq(rep_summarize(f.runs, f.n, &setup, f.rows), 0);
    cr_assert(f.rows[1].warnings & REP_W(implausible), "3x on 2 CPUs");
    cr_assert(!(f.rows[2].warnings & REP_W(implausible)), "1.9x on 2 CPUs is fine");
}

Test(warnings, high_cv)
{
    static rows_t f;

    add(&f, RUN_MODE_single, GUARD_gil, HEAP_pymalloc, 1, 1000, 1.0, 1.0);
    f.samples[0][4].wall_s = 2.0;
    cr_assert_eq(rep_summarize(f.runs, f.n, NULL, f.rows), 0);
    cr_assert(f.rows[0].warnings & REP_W(high_cv));
    cr_assert_not_null(strstr(f.rows[0].warning_text, "high CV"));
}
