/* report/infer.c: the inferential statistics behind every interval and
 * every "significant" the lab prints. All three are distribution-free
 * (timings are skewed and bounded below, never normal) and exact for the
 * handful of repeats a benchmark has, so a printed 95 % means what it says:
 *
 *   rep_median_ci   the order-statistic interval of one median. With n
 *                   repeats, the number below the true median is
 *                   Binomial(n, 1/2), so [x(c), x(n+1-c)] (1-based order
 *                   statistics) covers it with probability
 *                   1 - 2 P(B <= c-1); c is the largest rank that keeps
 *                   that at or above the level asked for. With n = 5 no
 *                   rank reaches 95 %: [min, max] covers 93.75 %, and the
 *                   achieved coverage is what the interval reports
 *                   (Conover, Practical Nonparametric Statistics, 3.6).
 *
 *   rep_mwu         the Mann-Whitney U test, two-sided, as Google
 *                   Benchmark's compare.py runs it (scipy's mannwhitneyu):
 *                   exact null distribution when both samples have at most
 *                   REP_MWU_EXACT_MAX values and there are no ties, else
 *                   the normal approximation with the tie correction and
 *                   a continuity correction.
 *
 *   rep_ratio_ci    a ratio of two samples' location with its interval:
 *                   the Hodges-Lehmann estimate and Moses' interval on
 *                   log-times. Of the na*nb differences log a_i - log b_j,
 *                   the median estimates log(a/b), and [D(c), D(na nb+1-c)]
 *                   covers it with probability 1 - 2 P(U <= c-1), U the
 *                   same Mann-Whitney statistic (Hollander and Wolfe,
 *                   Nonparametric Statistical Methods, 4.3). Working on
 *                   logs makes the interval a ratio's ("2.00x [1.93,
 *                   2.07]") and the test and the interval agree: the
 *                   interval excludes 1 exactly when the exact test
 *                   rejects at the same level.
 *
 * The null distribution of U is counted by the recurrence
 * N(m, n, u) = N(m-1, n, u-n) + N(m, n-1, u) over arrangements of the two
 * samples, in doubles (C(100, 50) ~ 1e29 fits).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* P(B <= k) for B ~ Binomial(n, 1/2). */
static double binom_half_cdf(int n, int k)
{
    double sum = 0.0;

    for (int i = 0; i <= k && i <= n; i++)
        sum += exp(lgamma(n + 1.0) - lgamma(i + 1.0) - lgamma(n - i + 1.0) - n * log(2.0));
    return sum > 1.0 ? 1.0 : sum;
}

int rep_median_ci(const double *x, int n, double level, rep_interval_t *ci)
{
    double alpha = 1.0 - level, *s;
    int c = 1;

    ci->lo = ci->hi = ci->level = NAN;
    if (n < 2)
        return 0;
    s = malloc((size_t)n * sizeof *s);
    if (!s)
        return -1;
    memcpy(s, x, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    while (c + 1 <= (n + 1) / 2 && binom_half_cdf(n, c) <= alpha / 2)
        c++;
    ci->lo = s[c - 1];
    ci->hi = s[n - c];
    ci->level = 1.0 - 2.0 * binom_half_cdf(n, c - 1);
    free(s);
    return 0;
}

/* The exact null distribution of U for samples of m and n: cdf[u] =
 * P(U <= u), u = 0..m*n. NULL on out-of-memory. */
static double *mwu_cdf(int m, int n)
{
    int top = m * n;
    /* count[j][u] for the current i: arrangements of i and j values */
    double *prev = calloc((size_t)(n + 1) * (size_t)(top + 1), sizeof *prev);
    double *cur = calloc((size_t)(n + 1) * (size_t)(top + 1), sizeof *cur);
    double *cdf = malloc(((size_t)top + 1) * sizeof *cdf), total = 0.0, run = 0.0;
    size_t w = (size_t)top + 1;

    if (!prev || !cur || !cdf)
        goto fail;
    for (int j = 0; j <= n; j++)
        prev[(size_t)j * w] = 1.0;   /* i = 0: one arrangement, U = 0 */
    for (int i = 1; i <= m; i++) {
        memset(cur, 0, (size_t)(n + 1) * w * sizeof *cur);
        cur[0] = 1.0;                 /* j = 0 */
        for (int j = 1; j <= n; j++)
            for (int u = 0; u <= i * j; u++)
                cur[(size_t)j * w + (size_t)u] =
                    (u >= j ? prev[(size_t)j * w + (size_t)(u - j)] : 0.0) +
                    cur[(size_t)(j - 1) * w + (size_t)u];
        double *t = prev;
        prev = cur;
        cur = t;
    }
    for (int u = 0; u <= top; u++)
        total += prev[(size_t)n * w + (size_t)u];
    for (int u = 0; u <= top; u++) {
        run += prev[(size_t)n * w + (size_t)u];
        cdf[u] = run / total;
    }
    free(prev);
    free(cur);
    return cdf;
fail:
    free(prev);
    free(cur);
    free(cdf);
    return NULL;
}

/* Standard normal upper tail. */
static double normal_sf(double z)
{
    return 0.5 * erfc(z / sqrt(2.0));
}

/* z with P(Z > z) = p, 0 < p < 1/2, by bisection (ample for an interval's
 * edge rank). */
static double normal_upper_quantile(double p)
{
    double lo = 0.0, hi = 40.0;

    for (int k = 0; k < 200; k++) {
        double mid = (lo + hi) / 2.0;
        if (normal_sf(mid) > p)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2.0;
}

int rep_mwu(const double *a, int na, const double *b, int nb, rep_mwu_t *out)
{
    int n = na + nb;
    double *all, u = 0.0, ties = 0.0, mean, var;
    bool tied = false;

    memset(out, 0, sizeof *out);
    out->p = NAN;
    if (na < 1 || nb < 1)
        return 0;
    /* U of a: pairs with a_i > b_j, ties counting one half. */
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++)
            u += a[i] > b[j] ? 1.0 : a[i] == b[j] ? 0.5 : 0.0;
    out->u = u;
    all = malloc((size_t)n * sizeof *all);
    if (!all)
        return -1;
    memcpy(all, a, (size_t)na * sizeof *all);
    memcpy(all + na, b, (size_t)nb * sizeof *all);
    qsort(all, (size_t)n, sizeof *all, cmp_double);
    for (int i = 0; i < n;) {
        int k = i;
        while (k < n && all[k] == all[i])
            k++;
        double t = k - i;
        ties += t * t * t - t;
        tied |= t > 1;
        i = k;
    }
    free(all);
    mean = na * (double)nb / 2.0;
    if (!tied && na <= REP_MWU_EXACT_MAX && nb <= REP_MWU_EXACT_MAX) {
        double *cdf = mwu_cdf(na, nb), lo = fmin(u, na * (double)nb - u);
        if (!cdf)
            return -1;
        out->p = fmin(1.0, 2.0 * cdf[(int)lo]);
        out->exact = true;
        free(cdf);
        return 0;
    }
    var = na * (double)nb / 12.0 * ((n + 1) - ties / ((double)n * (n - 1)));
    if (var <= 0.0) {
        out->p = 1.0;   /* every value equal: no evidence of a difference */
        return 0;
    }
    out->p = fmin(1.0, 2.0 * normal_sf(fmax(0.0, fabs(u - mean) - 0.5) / sqrt(var)));
    return 0;
}

int rep_ratio_ci(const double *a, int na, const double *b, int nb, double level,
                 rep_ratio_t *out)
{
    size_t m = (size_t)na * (size_t)nb, k = 0;
    double *d, alpha = 1.0 - level, lo_tail;
    int c = 1;

    out->ratio = out->ci.lo = out->ci.hi = out->ci.level = NAN;
    if (na < 1 || nb < 1)
        return 0;
    for (int i = 0; i < na; i++)
        if (!(a[i] > 0.0))
            return 0;
    for (int j = 0; j < nb; j++)
        if (!(b[j] > 0.0))
            return 0;
    d = malloc(m * sizeof *d);
    if (!d)
        return -1;
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++)
            d[k++] = log(a[i]) - log(b[j]);
    qsort(d, m, sizeof *d, cmp_double);
    out->ratio = exp(m % 2 ? d[m / 2] : (d[m / 2 - 1] + d[m / 2]) / 2.0);
    if (na <= REP_MWU_EXACT_MAX && nb <= REP_MWU_EXACT_MAX) {
        double *cdf = mwu_cdf(na, nb);
        if (!cdf) {
            free(d);
            return -1;
        }
        while ((size_t)c + 1 <= (m + 1) / 2 && cdf[c] <= alpha / 2)
            c++;
        lo_tail = cdf[c - 1];
        free(cdf);
    } else {
        double z = normal_upper_quantile(alpha / 2);
        double sd = sqrt(na * (double)nb * (na + nb + 1) / 12.0);
        c = (int)floor(m / 2.0 - z * sd);
        if (c < 1)
            c = 1;
        lo_tail = alpha / 2;
    }
    out->ci.level = 1.0 - 2.0 * lo_tail;
    if (out->ci.level > 0.0) {
        out->ci.lo = exp(d[c - 1]);
        out->ci.hi = exp(d[m - (size_t)c]);
    } else {
        out->ci.level = NAN;
    }
    free(d);
    return 0;
}
