/* report/table.c: the console, laid out like hyperfine so that the audience
 * already knows how to read it:
 *
 *   countdown  threads  gil  pymalloc  j=2  n=50000000
 *     Time (median ± σ):     4.760 s ±  0.012 s    [User: 4.71 s, System: 0.06 s]
 *     Median CI:             4.741 s …  4.779 s    93.8 % (order statistics)
 *     Mean ± σ:              4.761 s ±  0.012 s    CV 0.3 %, MAD 0.008 s
 *     Range (min … max):     4.741 s …  4.779 s    5 runs, 1 warm-up
 *     Workers (own time):    min 4.70 s, max 4.75 s     GIL: 951 switches, 948 forced drops
 *     1.00x slower than single
 *
 * then one summary line per row. The headline is the median (robust to one
 * disturbed repeat) with the sample standard deviation; guard counters are
 * shown only when nonzero, so a pool row does not pretend to have a GIL
 * story. Every number comes from rep_row_t (stats.c); nothing is computed
 * here except unit choice and layout.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "gil/gil.h"
#include "report/report.h"

static void fmt_in(double seconds, rep_unit_t u, int width, char *buf, size_t len)
{
    if (isfinite(seconds))
        snprintf(buf, len, "%*.*f %s", width, u.decimals, seconds * u.scale, u.name);
    else
        snprintf(buf, len, "%*s %s", width, "-", u.name);
}

/* A secondary duration in its own unit, one digit less precise than the
 * headline ("0.60 s", "12.3 ms", "4 µs"). */
static void fmt_time(double seconds, char *buf, size_t len)
{
    rep_unit_t u = rep_time_unit(seconds);
    u.decimals = u.decimals > 0 ? u.decimals - 1 : 0;
    fmt_in(seconds, u, 0, buf, len);
}

/* Columns printed with printf widths count bytes; these count characters. */
static int display_width(const char *s)
{
    int w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

static void put_padded(FILE *f, const char *s, int width, bool right)
{
    int pad = width - display_width(s);
    if (right)
        fprintf(f, "%*s%s", pad > 0 ? pad : 0, "", s);
    else
        fprintf(f, "%s%*s", s, pad > 0 ? pad : 0, "");
}

static const char *plural(double n)
{
    return n == 1.0 ? "" : "s";
}

void rep_table_machine(FILE *f, const rep_context_t *ctx)
{
    char machine[320];

    rep_machine_line(ctx, machine, sizeof machine);
    fprintf(f, "Machine: %s; %s\n\n", machine, ctx->os);
}

/* The row's title line: its spec, plus whatever differs from the defaults. */
static void block_title(FILE *f, const rep_row_t *r)
{
    const run_spec_t *s = &r->run->spec;

    fprintf(f, "%s  %s  %s  %s  j=%d  n=%lld", s->workload->name, run_mode_name(s->mode),
            guard_name(s->guard), heap_kind_name(s->allocator), s->workers,
            (long long)s->size);
    if (r->params[0])
        fprintf(f, "  %s", r->params);
    if (!s->immortal)
        fputs("  no-immortal", f);
    if (s->pin != RUN_PIN_NONE)
        fprintf(f, "  pin=%s", rep_pin_name(s->pin));
    if (s->switch_interval_us != GIL_DEFAULT_INTERVAL_US)
        fprintf(f, "  switch=%lluus", (unsigned long long)s->switch_interval_us);
    if (s->guard == GUARD_gil_old)
        fprintf(f, "  check=%d", s->check_interval ? s->check_interval : GIL_OLD_DEFAULT_CHECK_INTERVAL);
    putc('\n', f);
}

/* "GIL: 951 switches, 948 forced drops, 1.20 s waiting" and the biased
 * counters, each only when nonzero. Returns false when there is nothing. */
static bool guard_stats(const rep_row_t *r, char *buf, size_t len)
{
    const double *m = r->med;
    char a[32], b[32], c[32], d[32];
    size_t n = 0;

    buf[0] = '\0';
    if (m[REP_F_gil_switches] > 0 || m[REP_F_gil_forced_drops] > 0) {
        rep_fmt_count(m[REP_F_gil_switches], a, sizeof a);
        rep_fmt_count(m[REP_F_gil_forced_drops], b, sizeof b);
        n += (size_t)snprintf(buf, len, "GIL: %s switch%s, %s forced drop%s", a,
                              m[REP_F_gil_switches] == 1 ? "" : "es", b,
                              plural(m[REP_F_gil_forced_drops]));
        if (m[REP_F_gil_wait_s] > 0 && n < len) {
            fmt_time(m[REP_F_gil_wait_s], c, sizeof c);
            n += (size_t)snprintf(buf + n, len - n, ", %s waiting", c);
        }
        if (m[REP_F_gil_futile_wakeups] > 0 && n < len) {
            rep_fmt_count(m[REP_F_gil_futile_wakeups], c, sizeof c);
            n += (size_t)snprintf(buf + n, len - n, ", %s futile wake-up%s", c,
                                  plural(m[REP_F_gil_futile_wakeups]));
        }
    }
    if ((m[REP_F_rc_local] > 0 || m[REP_F_rc_shared] > 0 || m[REP_F_brc_queued] > 0 ||
         m[REP_F_brc_merged] > 0) && n < len) {
        rep_fmt_count(m[REP_F_rc_local], a, sizeof a);
        rep_fmt_count(m[REP_F_rc_shared], b, sizeof b);
        rep_fmt_count(m[REP_F_brc_queued], c, sizeof c);
        rep_fmt_count(m[REP_F_brc_merged], d, sizeof d);
        snprintf(buf + n, len - n, "%sBRC: %s local, %s shared ops, %s queued, %s merged",
                 n ? "; " : "", a, b, c, d);
    }
    return buf[0] != '\0';
}

/* The client's figures (convoy): throughput, the latency percentiles and
 * what the server waited for the GIL per request. */
static void block_requests(FILE *f, const double *m)
{
    char n[32], rps[32], p[5][32], wait[32];
    static const rep_field_t fields[5] = {REP_F_lat_p50_s, REP_F_lat_p90_s, REP_F_lat_p99_s,
                                          REP_F_lat_p999_s, REP_F_lat_max_s};

    if (!isfinite(m[REP_F_requests]))
        return;
    rep_fmt_count(m[REP_F_requests], n, sizeof n);
    rep_fmt_count(round(m[REP_F_throughput_rps]), rps, sizeof rps);
    for (int k = 0; k < 5; k++)
        fmt_time(m[fields[k]], p[k], sizeof p[k]);
    fprintf(f, "  Requests:           %s/s (%s answered)    latency p50 %s, p90 %s, p99 %s, "
               "p99.9 %s, max %s\n", rps, n, p[0], p[1], p[2], p[3], p[4]);
    if (isfinite(m[REP_F_server_gil_wait_s])) {
        fmt_time(m[REP_F_server_gil_wait_s], wait, sizeof wait);
        fprintf(f, "  Server:             waited %s for the GIL per request\n", wait);
    }
}

/* The latency histogram of every timed repeat, by decade: where the
 * requests fell ("10-100 µs 94%, 1-10 ms 6%"). */
static void block_histogram(FILE *f, const run_row_t *run)
{
    static const char *const decades[] = {"<1 µs", "1-10 µs", "10-100 µs", "0.1-1 ms", "1-10 ms",
                                          "10-100 ms", "0.1-1 s", "1-10 s", ">=10 s"};
    uint64_t per[sizeof decades / sizeof decades[0]] = {0}, total = 0;
    int shown = 0;

    for (int b = 0; b < RUN_HIST_BUCKETS; b++) {
        int d = b == 0 ? 0 : b == RUN_HIST_BUCKETS - 1 ? 8 : 1 + (b - 1) / 10;
        per[d] += run->latency.count[b];
        total += run->latency.count[b];
    }
    if (total == 0)
        return;
    fputs("  Latency by decade:  ", f);
    for (size_t d = 0; d < sizeof decades / sizeof decades[0]; d++) {
        if (per[d] == 0)
            continue;
        double pct = 100.0 * (double)per[d] / (double)total;
        fprintf(f, "%s%s %.*f%%", shown++ ? ", " : "", decades[d], pct < 1 ? 2 : 0, pct);
    }
    putc('\n', f);
}

/* The workers starved by the median repeat: each worker's median share
 * of the GIL judged against its median demand and its fair share
 * (run_starved), named in
 * `out` ("worker 0, worker 3"). Returns how many, or -1 when the row has no
 * per-worker shares (an older results.json). */
static int starved_names(const run_row_t *run, char *out, size_t len)
{
    int w = run->spec.workers, n = 0;
    size_t used = 0;
    rep_stats_t st;
    out[0] = '\0';
    rep_stats_t wanted;
    double *x = run->fair != NULL && run->nsamples > 0 ? malloc(2 * (size_t)run->nsamples * sizeof *x) : NULL;
    if (x == NULL)
        return -1;
    double *y = x + run->nsamples;
    for (int i = 0; i < w; i++) {
        for (int k = 0; k < run->nsamples; k++) {
            const run_fair_t *f = &run->fair[(size_t)k * (size_t)w + (size_t)i];
            x[k] = f->share;
            y[k] = run_wanted(f, run->samples[k].wall_s);
        }
        if (rep_stats_compute(x, run->nsamples, &st) < 0 ||
            rep_stats_compute(y, run->nsamples, &wanted) < 0 || !run_starved(st.median, wanted.median, w))
            continue;
        if (used < len)
            used += (size_t)snprintf(out + used, len - used, "%sworker %d", n ? ", " : "", i);
        n++;
    }
    free(x);
    return n;
}

/* Fairness under the one GIL the workers share: their shares of it (held /
 * wall, the least and the most), their waits, Jain's index of the shares,
 * and the workers held under half their fair share (1/W of the wall). */
static void block_fairness(FILE *f, const run_row_t *run, const double *m)
{
    int w = run->spec.workers;
    if (w < 2 || !isfinite(m[REP_F_gil_jain]))
        return;
    char wmin[32], wmax[32], names[160];
    fmt_time(m[REP_F_gil_wait_min_s], wmin, sizeof wmin);
    fmt_time(m[REP_F_gil_wait_max_s], wmax, sizeof wmax);
    fprintf(f, "  GIL share:          min %.1f%%, max %.1f%% of the wall time, waited %s to %s    "
               "Jain's index %.2f",
            100.0 * m[REP_F_gil_share_min], 100.0 * m[REP_F_gil_share_max], wmin, wmax, m[REP_F_gil_jain]);
    int starved = starved_names(run, names, sizeof names);
    if (starved > 0)
        fprintf(f, ", starved: %s (held the GIL under half the fair %.1f%%)", names, 100.0 / w);
    else if (starved < 0 && m[REP_F_starved_workers] > 0)
        fprintf(f, ", %.0f starved (held the GIL under half the fair %.1f%%)", m[REP_F_starved_workers],
                100.0 / w);
    putc('\n', f);
}

/* Blocking calls, and the trace's size. */
static void block_io_and_trace(FILE *f, const double *m)
{
    char a[32], b[32];

    if (m[REP_F_blocking_calls] > 0) {
        rep_fmt_count(m[REP_F_blocking_calls], a, sizeof a);
        fmt_time(m[REP_F_blocked_s], b, sizeof b);
        fprintf(f, "  Blocking calls:     %s, %s inside them (the GIL released), summed over workers\n",
                a, b);
    }
    if (isfinite(m[REP_F_trace_events])) {
        rep_fmt_count(m[REP_F_trace_events], a, sizeof a);
        fprintf(f, "  Trace:              %s GIL events", a);
        if (m[REP_F_trace_dropped] > 0) {
            rep_fmt_count(m[REP_F_trace_dropped], b, sizeof b);
            fprintf(f, ", %s dropped (buffers full: raise --trace=EVENTS)", b);
        }
        putc('\n', f);
    }
}

/* Per generation g (0..2): its collections, pauses, objects. The fields
 * of one generation are consecutive in the field list, but not those of
 * every kind, so the table names them here. */
static const rep_field_t gc_collections_f[GC_GENERATIONS] = {REP_F_gc_collections_0, REP_F_gc_collections_1,
                                                             REP_F_gc_collections_2};
static const rep_field_t gc_p50_f[GC_GENERATIONS] = {REP_F_gc_pause_p50_0_s, REP_F_gc_pause_p50_1_s,
                                                     REP_F_gc_pause_p50_2_s};
static const rep_field_t gc_p99_f[GC_GENERATIONS] = {REP_F_gc_pause_p99_0_s, REP_F_gc_pause_p99_1_s,
                                                     REP_F_gc_pause_p99_2_s};
static const rep_field_t gc_max_f[GC_GENERATIONS] = {REP_F_gc_pause_max_0_s, REP_F_gc_pause_max_1_s,
                                                     REP_F_gc_pause_max_2_s};
static const rep_field_t gc_total_f[GC_GENERATIONS] = {REP_F_gc_pause_total_0_s, REP_F_gc_pause_total_1_s,
                                                       REP_F_gc_pause_total_2_s};
static const rep_field_t gc_examined_f[GC_GENERATIONS] = {REP_F_gc_examined_0, REP_F_gc_examined_1,
                                                          REP_F_gc_examined_2};
static const rep_field_t gc_collected_f[GC_GENERATIONS] = {REP_F_gc_collected_0, REP_F_gc_collected_1,
                                                           REP_F_gc_collected_2};
static const rep_field_t gc_uncollectable_f[GC_GENERATIONS] = {REP_F_gc_uncollectable_0, REP_F_gc_uncollectable_1,
                                                               REP_F_gc_uncollectable_2};

/* Append to buf at *n, keeping *n at most len - 1. */
static void gc_append(char *buf, size_t len, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void gc_append(char *buf, size_t len, size_t *n, const char *fmt, ...)
{
    va_list ap;
    if (*n + 1 >= len)
        return;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *n, len - *n, fmt, ap);
    va_end(ap);
    *n = k < 0 ? len - 1 : *n + (size_t)k >= len ? len - 1 : *n + (size_t)k;
}

/* Whether generation g belongs in the lines: every generation of the
 * default build's collector, and of the free-threaded one (which counts an
 * automatic collection under generation 0 and gc.collect() under 2, as
 * gc_free_threading.c's gc_collect_main does) those that ran. */
static bool gc_gen_shown(const rep_row_t *r, int g)
{
    return guard_get(r->run->spec.guard)->layout != OBJ_LAYOUT_FT || r->med[gc_collections_f[g]] > 0;
}

/* "gen0 1300 (p50 15 µs, p99 40 µs, max 117 µs; 20 ms), gen1 118 (...),
 * gen2 8 (...); 74 ms in all" into buf, and into objs "examined 2.1M / 1.3M
 * / 1.0M, freed 3.0M / 0 / 0, uncollectable 0 / 0 / 0 (gen0 / gen1 /
 * gen2)"; or what the collector-off run left behind (objs empty). False
 * when there is nothing to say. */
static bool gc_line(const rep_row_t *r, char *buf, size_t len, char *objs, size_t objs_len)
{
    const double *m = r->med;
    char a[24], b[24], c[24], d[24];
    size_t n = 0, o = 0;
    buf[0] = objs[0] = '\0';
    if (isfinite(m[REP_F_gc_unreachable])) {
        rep_fmt_count(m[REP_F_gc_unreachable], a, sizeof a);
        snprintf(buf, len, "off; %s containers left in unreachable cycles (leaked, as CPython would)", a);
        return true;
    }
    double collections = m[REP_F_gc_collections_0] + m[REP_F_gc_collections_1] + m[REP_F_gc_collections_2];
    if (!isfinite(collections) || collections == 0)
        return false;
    if (guard_get(r->run->spec.guard)->layout == OBJ_LAYOUT_FT)   /* 3.13t: no generations, the world stopped */
        gc_append(buf, len, &n, "stop-the-world, whole heap each: ");
    static const char *const kinds[] = {"examined", "freed", "uncollectable"};
    const rep_field_t *kind_f[] = {gc_examined_f, gc_collected_f, gc_uncollectable_f};
    const char *sep = "";
    for (int g = 0; g < GC_GENERATIONS; g++) {
        if (!gc_gen_shown(r, g))
            continue;
        fmt_time(m[gc_p50_f[g]], a, sizeof a);
        fmt_time(m[gc_p99_f[g]], b, sizeof b);
        fmt_time(m[gc_max_f[g]], c, sizeof c);
        fmt_time(m[gc_total_f[g]], d, sizeof d);
        if (m[gc_collections_f[g]] > 0)
            gc_append(buf, len, &n, "%sgen%d %.0f (p50 %s, p99 %s, max %s; %s)", sep, g, m[gc_collections_f[g]],
                      a, b, c, d);
        else
            gc_append(buf, len, &n, "%sgen%d 0", sep, g);
        sep = ", ";
    }
    fmt_time(m[REP_F_gc_pause_total_s], d, sizeof d);
    gc_append(buf, len, &n, "; %s in all", d);
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        gc_append(objs, objs_len, &o, "%s%s ", k ? ", " : "", kinds[k]);
        sep = "";
        for (int g = 0; g < GC_GENERATIONS; g++) {
            if (!gc_gen_shown(r, g))
                continue;
            rep_fmt_count(m[kind_f[k][g]], a, sizeof a);
            gc_append(objs, objs_len, &o, "%s%s", sep, a);
            sep = " / ";
        }
    }
    sep = " (";
    for (int g = 0; g < GC_GENERATIONS; g++) {
        if (!gc_gen_shown(r, g))
            continue;
        gc_append(objs, objs_len, &o, "%sgen%d", sep, g);
        sep = " / ";
    }
    gc_append(objs, objs_len, &o, ")");
    return true;
}

/* "each worker (mean): Private_Dirty 84 KiB → 30.7 MiB, Shared_Dirty
 * 38.4 → 7.7 MiB, Pss 13.0 → 33.5 MiB; its reads dirtied 30.6 MiB per
 * million objects",
 * for a workload that reads its processes' smaps (cow). False otherwise. */
static bool cow_line(const rep_row_t *r, char *buf, size_t len)
{
    const double *m = r->med;
    if (!isfinite(m[REP_F_smaps_private_dirty_after_kib]))
        return false;
    char pd0[24], pd1[24], sc0[24], sc1[24], p0[24], p1[24];
    rep_fmt_bytes(m[REP_F_smaps_private_dirty_before_kib] * 1024.0, pd0, sizeof pd0);
    rep_fmt_bytes(m[REP_F_smaps_private_dirty_after_kib] * 1024.0, pd1, sizeof pd1);
    rep_fmt_bytes(m[REP_F_smaps_shared_dirty_before_kib] * 1024.0, sc0, sizeof sc0);
    rep_fmt_bytes(m[REP_F_smaps_shared_dirty_after_kib] * 1024.0, sc1, sizeof sc1);
    rep_fmt_bytes(m[REP_F_smaps_pss_before_kib] * 1024.0, p0, sizeof p0);
    rep_fmt_bytes(m[REP_F_smaps_pss_after_kib] * 1024.0, p1, sizeof p1);
    const run_spec_t *s = &r->run->spec;
    bool forked = s->mode == RUN_MODE_processes || s->mode == RUN_MODE_pool;
    size_t n = (size_t)snprintf(buf, len, "%s: Private_Dirty %s → %s, Shared_Dirty %s → %s, Pss %s → %s",
                                forked ? "each worker (mean)" : "the process", pd0, pd1, sc0, sc1, p0, p1);
    int objects = wl_param_find(s->workload, "objects");
    double dirtied_mib = (m[REP_F_smaps_private_dirty_after_kib] - m[REP_F_smaps_private_dirty_before_kib]) / 1024.0;
    if (objects >= 0 && n < len)
        snprintf(buf + n, len - n, "; its reads dirtied %.1f MiB per million objects",
                 dirtied_mib / ((double)s->params[objects] / 1e6));
    return true;
}

void rep_baseline_label(const rep_row_t *r, const rep_row_t *b, char *buf, size_t len)
{
    const run_spec_t *s = &r->run->spec, *bs = &b->run->spec;
    int n = snprintf(buf, len, "%s", run_mode_name(bs->mode));

    if (bs->mode != RUN_MODE_single && n >= 0 && (size_t)n < len)
        n += snprintf(buf + n, len - (size_t)n, " j=%d", bs->workers);
    if (bs->workload != s->workload && n >= 0 && (size_t)n < len)
        n += snprintf(buf + n, len - (size_t)n, " of %s", bs->workload->name);
    if (bs->guard != s->guard && n >= 0 && (size_t)n < len)
        n += snprintf(buf + n, len - (size_t)n, " under %s", guard_name(bs->guard));
    if (bs->allocator != s->allocator && n >= 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, " with %s", heap_kind_name(bs->allocator));
}

void rep_speedup_interval(const rep_row_t *r, char *buf, size_t len)
{
    const rep_interval_t *ci = &r->speedup_ci;
    bool slower = r->speedup < 1.0;

    buf[0] = '\0';
    if (!isfinite(ci->lo) || !isfinite(ci->hi) || ci->lo <= 0)
        return;
    snprintf(buf, len, " (%.0f %% CI %.2fx … %.2fx)", ci->level * 100,
             slower ? 1.0 / ci->hi : ci->lo, slower ? 1.0 / ci->lo : ci->hi);
}

void rep_table_block(FILE *f, const rep_row_t *rows, int i, const rep_setup_t *setup)
{
    const rep_row_t *r = &rows[i];
    const rep_stats_t *w = &r->wall;
    const run_spec_t *s = &r->run->spec;
    const double *m = r->med;
    rep_unit_t u = rep_time_unit(w->median);
    char t1[48], t2[48], t3[48], guard[256], gcline[400], gcobjs[200], note[320];
    bool has_guard = guard_stats(r, guard, sizeof guard);

    block_title(f, r);

    fmt_in(w->median, u, 8, t1, sizeof t1);
    fmt_time(m[REP_F_cpu_user_s], t2, sizeof t2);
    fmt_time(m[REP_F_cpu_sys_s], t3, sizeof t3);
    if (w->n > 1) {
        char sd[48];
        fmt_in(w->stddev, u, 6, sd, sizeof sd);
        fprintf(f, "  Time (median ± σ):  %s ± %s    [User: %s, System: %s]\n", t1, sd, t2, t3);
    } else {
        fprintf(f, "  Time (one run):     %s    [User: %s, System: %s]\n", t1, t2, t3);
    }

    if (isfinite(r->median_ci.lo)) {
        fmt_in(r->median_ci.lo, u, 8, t1, sizeof t1);
        fmt_in(r->median_ci.hi, u, 6, t2, sizeof t2);
        fprintf(f, "  Median CI:          %s … %s    %.1f %% (order statistics)\n", t1, t2,
                r->median_ci.level * 100);
    }
    if (w->n > 1) {
        fmt_in(w->mean, u, 8, t1, sizeof t1);
        fmt_in(w->stddev, u, 6, t2, sizeof t2);
        fmt_time(w->mad, t3, sizeof t3);
        fprintf(f, "  Mean ± σ:           %s ± %s    CV %.1f %%, MAD %s\n", t1, t2, w->cv * 100,
                t3);
    }
    fmt_in(w->min, u, 8, t1, sizeof t1);
    fmt_in(w->max, u, 6, t2, sizeof t2);
    fprintf(f, "  Range (min … max):  %s … %s    %d run%s, %d warm-up%s", t1, t2, w->n,
            plural(w->n), s->warmup, plural(s->warmup));
    if (m[REP_F_startup_s] > 0) {
        fmt_time(m[REP_F_startup_s], t3, sizeof t3);
        fprintf(f, ", pool start-up %s", t3);
    }
    putc('\n', f);

    if (s->workers > 1) {
        fmt_time(m[REP_F_worker_min_s], t1, sizeof t1);
        fmt_time(m[REP_F_worker_max_s], t2, sizeof t2);
        fprintf(f, "  Workers (own time): min %s, max %s%s%s\n", t1, t2, has_guard ? "     " : "",
                guard);
    } else if (has_guard) {
        fprintf(f, "  Guard:              %s\n", guard);
    }

    block_requests(f, m);
    block_histogram(f, r->run);
    block_fairness(f, r->run, m);
    block_io_and_trace(f, m);

    rep_fmt_bytes(m[REP_F_max_rss_kib] * 1024.0, t1, sizeof t1);
    fprintf(f, "  Memory:             peak RSS %s", t1);
    if (m[REP_F_rss_sum_kib] > m[REP_F_max_rss_kib]) {
        rep_fmt_bytes(m[REP_F_rss_sum_kib] * 1024.0, t2, sizeof t2);
        fprintf(f, " (%s summed over the run's processes)", t2);
    }
    if (isfinite(m[REP_F_objects_allocated])) {
        rep_fmt_count(m[REP_F_objects_allocated], t2, sizeof t2);
        fprintf(f, ", %s objects allocated", t2);
    }
    if (isfinite(m[REP_F_arena_bytes_peak])) {
        rep_fmt_bytes(m[REP_F_arena_bytes_peak], t3, sizeof t3);
        fprintf(f, ", pymalloc arenas peak %s", t3);
        if (isfinite(m[REP_F_arenas_peak]))
            fprintf(f, " (%.0f), %.0f at the end", m[REP_F_arenas_peak], m[REP_F_arenas_end]);
    }
    if (isfinite(m[REP_F_heap_blocks_end])) {
        rep_fmt_count(m[REP_F_heap_blocks_end], t2, sizeof t2);
        rep_fmt_bytes(m[REP_F_small_bytes_end], t3, sizeof t3);
        fprintf(f, " holding %s blocks (small ones %s)", t2, t3);
    }
    if (isfinite(m[REP_F_pss_sum_kib])) {
        rep_fmt_bytes(m[REP_F_pss_sum_kib] * 1024.0, t3, sizeof t3);
        fprintf(f, ", Pss %s over all its processes", t3);
    }
    putc('\n', f);
    if (isfinite(m[REP_F_traced_peak_bytes])) {
        rep_fmt_bytes(m[REP_F_traced_peak_bytes], t1, sizeof t1);
        rep_fmt_count(m[REP_F_traced_peak_blocks], t2, sizeof t2);
        rep_fmt_bytes(m[REP_F_traced_bytes_end], t3, sizeof t3);
        char blocks_end[24];
        rep_fmt_count(m[REP_F_traced_blocks_end], blocks_end, sizeof blocks_end);
        fprintf(f, "  Traced (requested): peak %s in %s blocks, %s in %s at the end%s\n", t1, t2, t3, blocks_end,
                s->mode == RUN_MODE_processes || s->mode == RUN_MODE_pool ? ", the workers' added" : "");
    }
    if (cow_line(r, note, sizeof note))
        fprintf(f, "  Copy-on-write:      %s\n", note);

    if (gc_line(r, gcline, sizeof gcline, gcobjs, sizeof gcobjs)) {
        fprintf(f, "  GC:                 %s\n", gcline);
        if (gcobjs[0])
            fprintf(f, "  GC objects:         %s\n", gcobjs);
    }

    if (isfinite(r->cpu_share))
        fprintf(f, "  CPU share:          %.0f %% of the CPUs the row can use\n", r->cpu_share * 100);
    if (r->baseline >= 0 && r->baseline != (int)(r - rows) && isfinite(r->speedup) &&
        r->speedup > 0) {
        char base[160], ci[96];
        rep_baseline_label(r, &rows[r->baseline], base, sizeof base);
        rep_speedup_interval(r, ci, sizeof ci);
        if (r->speedup >= 1.0)
            fprintf(f, "  %.2fx faster than %s%s\n", r->speedup, base, ci);
        else
            fprintf(f, "  %.2fx slower than %s%s\n", 1.0 / r->speedup, base, ci);
    }
    rep_warnings_write(f, rows, (int)(r - rows), setup, "  Warning: ");
    putc('\n', f);
}

enum { COL_WORKLOAD, COL_MODE, COL_GUARD, COL_ALLOC, COL_WORKERS, COL_MEDIAN, COL_CI, COL_SIGMA,
       COL_SPEEDUP, COL_SPEEDUP_CI, COL_NOTE, NCOLS };

/* One summary line's cells. */
static void summary_cells(const rep_row_t *r, rep_unit_t u, char cells[NCOLS][96])
{
    const run_spec_t *s = &r->run->spec;
    char lo[32], hi[32];

    snprintf(cells[COL_WORKLOAD], 96, "%s", s->workload->name);
    snprintf(cells[COL_MODE], 96, "%s", run_mode_name(s->mode));
    snprintf(cells[COL_GUARD], 96, "%s", guard_name(s->guard));
    snprintf(cells[COL_ALLOC], 96, "%s", heap_kind_name(s->allocator));
    snprintf(cells[COL_WORKERS], 96, "%d", s->workers);
    fmt_in(r->wall.median, u, 0, cells[COL_MEDIAN], 64);
    if (isfinite(r->median_ci.lo)) {
        rep_unit_t bare = u;
        bare.name = "";
        fmt_in(r->median_ci.lo, bare, 0, lo, sizeof lo);
        fmt_in(r->median_ci.hi, bare, 0, hi, sizeof hi);
        lo[strlen(lo) - 1] = hi[strlen(hi) - 1] = '\0';   /* the unit's blank */
        snprintf(cells[COL_CI], 96, "%s … %s", lo, hi);
    } else {
        snprintf(cells[COL_CI], 96, "-");
    }
    if (isfinite(r->wall.stddev))
        fmt_in(r->wall.stddev, u, 0, cells[COL_SIGMA], 64);
    else
        snprintf(cells[COL_SIGMA], 96, "-");
    if (isfinite(r->speedup))
        snprintf(cells[COL_SPEEDUP], 96, "%.2fx", r->speedup);
    else
        snprintf(cells[COL_SPEEDUP], 96, "-");
    if (isfinite(r->speedup_ci.lo))
        snprintf(cells[COL_SPEEDUP_CI], 96, "%.2f … %.2f", r->speedup_ci.lo, r->speedup_ci.hi);
    else
        snprintf(cells[COL_SPEEDUP_CI], 96, "-");
    /* A client workload's wall time is its duration: its figures go in the
     * note, before the warnings. */
    const double *m = r->med;
    char note[400];
    int used = 0;
    note[0] = '\0';
    if (isfinite(m[REP_F_requests])) {
        char rps[32], p50[32], p99[32];
        rep_fmt_count(round(m[REP_F_throughput_rps]), rps, sizeof rps);
        fmt_time(m[REP_F_lat_p50_s], p50, sizeof p50);
        fmt_time(m[REP_F_lat_p99_s], p99, sizeof p99);
        used = snprintf(note, sizeof note, "%s req/s, p50 %s, p99 %s", rps, p50, p99);
    }
    if (m[REP_F_starved_workers] > 0 && used >= 0 && (size_t)used < sizeof note)
        used += snprintf(note + used, sizeof note - (size_t)used, "%s%.0f starved", used ? "; " : "",
                         m[REP_F_starved_workers]);
    if (r->warning_text[0] && used >= 0 && (size_t)used < sizeof note)
        snprintf(note + used, sizeof note - (size_t)used, "%s%s", used ? "; " : "", r->warning_text);
    snprintf(cells[COL_NOTE], 96, "%.95s", note);
}

void rep_summary_heading(const rep_row_t *rows, int n, const rep_setup_t *setup, char *buf,
                         size_t len)
{
    char base[96], level[48] = "";
    int runs = n ? rows[0].wall.n : 0;

    for (int i = 0; i < n; i++)
        if (rows[i].wall.n != runs)
            runs = 0;
    /* the coverage the repeats allow: 95 % asked, 93.75 % with 5 repeats */
    if (runs > 1 && isfinite(rows[0].median_ci.level))
        snprintf(level, sizeof level, "%.1f %% ", rows[0].median_ci.level * 100);
    rep_baseline_format(&setup->baseline, base, sizeof base);
    snprintf(buf, len,
             "median of %s%d run%s with its %sCI from order statistics; %s = %s ÷ row%s%s, "
             "with Moses' CI",
             runs ? "" : "up to ", runs ? runs : n ? rows[0].wall.n : 0, runs == 1 ? "" : "s",
             level, setup->scaling == REP_WEAK ? "efficiency (weak scaling)" : "speedup",
             base[0] ? base : "single",
             strcmp(base, "single") == 0 ? " of the same guard and allocator" : "",
             setup->scaling == REP_WEAK ? ", same size per worker" : "");
}

void rep_table_summary(FILE *f, const rep_row_t *rows, int n, const rep_setup_t *setup)
{
    static const char *const heads[NCOLS] = {"workload", "mode",   "guard",     "allocator",
                                             "workers",  "median", "median CI", "σ",
                                             "speedup",  "speedup CI", ""};
    static const bool right[NCOLS] = {[COL_WORKERS] = true, [COL_MEDIAN] = true,
                                      [COL_CI] = true,      [COL_SIGMA] = true,
                                      [COL_SPEEDUP] = true, [COL_SPEEDUP_CI] = true};
    char cells[NCOLS][96], heading[256];
    int width[NCOLS];
    double longest = 0.0;
    rep_unit_t u;

    if (n == 0)
        return;
    for (int i = 0; i < n; i++)
        if (rows[i].wall.median > longest)
            longest = rows[i].wall.median;
    u = rep_time_unit(longest);
    for (int c = 0; c < NCOLS; c++)
        width[c] = display_width(heads[c]);
    for (int i = 0; i < n; i++) {
        summary_cells(&rows[i], u, cells);
        for (int c = 0; c < NCOLS; c++)
            if (display_width(cells[c]) > width[c])
                width[c] = display_width(cells[c]);
    }
    rep_summary_heading(rows, n, setup, heading, sizeof heading);
    fprintf(f, "Summary (%s)\n", heading);
    for (int i = -1; i < n; i++) {
        if (i >= 0)
            summary_cells(&rows[i], u, cells);
        fputs(" ", f);
        for (int c = 0; c < NCOLS; c++) {
            const char *cell = i < 0 ? heads[c] : cells[c];
            if (c == NCOLS - 1) {
                fprintf(f, "%s%s", cell[0] ? "  " : "", cell);
                break;
            }
            fputs(" ", f);
            put_padded(f, cell, width[c], right[c]);
        }
        putc('\n', f);
    }
}
