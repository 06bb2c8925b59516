/* runners/runner.c: one row of an experiment.
 *
 * run_session_open validates the spec and builds the bytecode once. Each
 * warm-up and each repeat then runs in a *repeat process* forked for it
 * (run_session_step), which
 *
 *   1. builds a fresh interpreter and the workload's globals, and takes the
 *      leak check's baseline,
 *   2. runs the mode (the timed region lives in the mode runners),
 *   3. drops the globals, lets parked worker threads count their heaps,
 *      and checks that everything the run allocated is gone,
 *   4. folds the workers' results into one run_sample_t and writes it to
 *      the lab process over a pipe,
 *
 * and exits. The lab process only coordinates, so a row never inherits the
 * memory, allocator caches or CPU binding of the rows before it, and its
 * peak RSS is its own. A repeat process that dies is reported with how it
 * ended. Everything here happens outside the timed regions.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab/clock.h"
#include "runners/client.h"
#include "runners/fork.h"
#include "runners/internal.h"
static const char *const mode_names[] = {
#define X(name, desc) #name,
    RUN_MODE_LIST(X)
#undef X
};

static const char *const mode_descriptions[] = {
#define X(name, desc) desc,
    RUN_MODE_LIST(X)
#undef X
};

const char *run_mode_name(run_mode_t mode)
{
    return (unsigned)mode < RUN_MODE_COUNT ? mode_names[mode] : "?";
}

const char *run_mode_description(run_mode_t mode)
{
    return (unsigned)mode < RUN_MODE_COUNT ? mode_descriptions[mode] : "?";
}

int run_mode_find(const char *name)
{
    for (int i = 0; i < RUN_MODE_COUNT; i++)
        if (strcmp(mode_names[i], name) == 0)
            return i;
    return -1;
}

int run_spec_check(const run_spec_t *spec, char *err, size_t errlen)
{
    const workload_t *wl = spec->workload;
    const guard_info_t *g = guard_get(spec->guard);
    if (wl == NULL || g == NULL || (unsigned)spec->mode >= RUN_MODE_COUNT ||
        (unsigned)spec->allocator >= HEAP_COUNT) {
        snprintf(err, errlen, "incomplete run specification");
        return -1;
    }
    if (spec->workers < 1 || spec->workers > RUN_MAX_WORKERS) {
        snprintf(err, errlen, "workers must be between 1 and %d, not %d", RUN_MAX_WORKERS, spec->workers);
        return -1;
    }
    if (spec->mode == RUN_MODE_single && spec->workers != 1) {
        snprintf(err, errlen, "mode single runs exactly one worker, not %d", spec->workers);
        return -1;
    }
    if (!g->threadsafe && spec->mode != RUN_MODE_single) {
        snprintf(err, errlen,
                 "guard '%s' has no lock, so it is only allowed with mode single (with %s it "
                 "would corrupt refcounts or, in processes, measure nothing the gil guard does not)",
                 g->name, run_mode_name(spec->mode));
        return -1;
    }
    if (!run_mode_fits(wl, spec->mode)) {
        snprintf(err, errlen, "%s does not run in mode %s (its workers 1.. spin until worker 0 is "
                 "done; a pool's workers take tasks)", wl->name, run_mode_name(spec->mode));
        return -1;
    }
    if (spec->size < wl->min_size || spec->size > wl->max_size) {
        snprintf(err, errlen, "size for %s must be between %lld and %lld, not %lld", wl->name,
                 (long long)wl->min_size, (long long)wl->max_size, (long long)spec->size);
        return -1;
    }
    for (int i = 0; i < wl->nparams; i++) {
        const wl_param_t *p = &wl->params[i];
        if (spec->params[i] < p->min || spec->params[i] > p->max) {
            snprintf(err, errlen, "parameter %s of %s must be between %lld and %lld, not %lld", p->name,
                     wl->name, (long long)p->min, (long long)p->max, (long long)spec->params[i]);
            return -1;
        }
    }
    if (wl->check != NULL && wl->check(spec->params, spec->immortal, err, errlen) < 0)
        return -1;
    if (wl->build_background != NULL) {
        const char *bg = wl->params[wl->background_param].name;
        int64_t n = spec->params[wl->background_param];
        if (spec->mode == RUN_MODE_single && n != 0) {
            snprintf(err, errlen, "%s in mode single runs worker 0 alone: %s must be 0, not %lld", wl->name,
                     bg, (long long)n);
            return -1;
        }
        if (spec->workers != 1 + n) {
            snprintf(err, errlen, "%s with %s=%lld has %lld workers (one plus the background), not %d",
                     wl->name, bg, (long long)n, (long long)(1 + n), spec->workers);
            return -1;
        }
    } else if (wl_pieces(wl, spec->params, spec->size) < spec->workers) {
        if (wl_unit_of(wl, spec->params) == 1)
            snprintf(err, errlen, "size %lld is smaller than the %d workers it is split over",
                     (long long)spec->size, spec->workers);
        else
            snprintf(err, errlen, "size %lld makes %lld pieces of work (%lld each) for %d workers: "
                     "every worker needs one", (long long)spec->size,
                     (long long)wl_pieces(wl, spec->params, spec->size),
                     (long long)wl_unit_of(wl, spec->params), spec->workers);
        return -1;
    }
    for (int i = 0; i < GC_GENERATIONS; i++) {
        if (spec->gc.thresholds[i] < 0 || spec->gc.thresholds[i] > GC_MAX_THRESHOLD) {
            snprintf(err, errlen, "gc threshold %d must be between 0 and %d, not %lld", i, GC_MAX_THRESHOLD,
                     (long long)spec->gc.thresholds[i]);
            return -1;
        }
    }
    if (spec->repeats < 1 || spec->warmup < 0) {
        snprintf(err, errlen, "repeats must be at least 1 and warm-ups at least 0");
        return -1;
    }
    if (spec->sample_interval_us != 0 && (spec->sample_interval_us < MEMTRACE_MIN_INTERVAL_US ||
                                          spec->sample_interval_us > MEMTRACE_MAX_INTERVAL_US)) {
        snprintf(err, errlen, "sample interval must be between %u and %u us", MEMTRACE_MIN_INTERVAL_US,
                 MEMTRACE_MAX_INTERVAL_US);
        return -1;
    }
    if (spec->switch_interval_us < 1 || spec->switch_interval_us > RUN_MAX_SWITCH_US) {
        snprintf(err, errlen, "switch interval must be between 1 and %u us", RUN_MAX_SWITCH_US);
        return -1;
    }
    if (spec->check_interval < 0 || spec->check_interval > RUN_MAX_CHECK_INTERVAL) {
        snprintf(err, errlen, "check interval must be between 1 and %d ticks", RUN_MAX_CHECK_INTERVAL);
        return -1;
    }
    if (spec->trace_events > RUN_MAX_TRACE_EVENTS) {
        snprintf(err, errlen, "a trace holds at most %d events per thread", RUN_MAX_TRACE_EVENTS);
        return -1;
    }
    return 0;
}

bool run_mode_fits(const workload_t *wl, run_mode_t mode)
{
    return wl->build_background == NULL || mode != RUN_MODE_pool;
}

/* ------------------------------------------------------------------------
 * The leak check
 */

void leak_probe_take(interp_t *interp, leak_probe_t *p)
{
    heap_t *heap = &interp->heap;
    p->blocks = heap_allocated_blocks(heap);
    if (p->blocks >= 0 && heap_blocks_per_thread(heap))
        p->blocks += __atomic_load_n(&interp->thread_blocks, __ATOMIC_RELAXED);
    /* Dead lists kept on freelists are memory, not live objects: a pool
     * worker keeps them from one task to the next, as CPython does. */
    if (p->blocks >= 0)
        p->blocks -= interp_freelist_blocks(interp);
    p->objects = interp_pystats_enabled() ? interp_live_objects(interp) : 0;
}

int leak_probe_check(const leak_probe_t *before, const leak_probe_t *after, char *err, size_t errlen)
{
    int64_t objects = after->objects - before->objects;
    int64_t blocks = before->blocks >= 0 && after->blocks >= 0 ? after->blocks - before->blocks : 0;
    if (objects == 0 && blocks == 0)
        return 0;
    if (interp_pystats_enabled())
        snprintf(err, errlen, "leak check failed: %lld objects (%lld heap blocks) still alive after the run",
                 (long long)objects, (long long)blocks);
    else
        snprintf(err, errlen, "leak check failed: %lld heap blocks still allocated after the run",
                 (long long)blocks);
    return -1;
}

/* ------------------------------------------------------------------------
 * One repeat, inside its repeat process
 */

/* Whether the workers share one GIL, so that fairness among them means
 * something: not under a guard without a GIL, and not when forked, where
 * each worker has a GIL of its own. */
static bool run_shares_one_gil(const run_spec_t *spec)
{
    return guard_get(spec->guard)->has_gil && (spec->mode == RUN_MODE_single || spec->mode == RUN_MODE_threads);
}

/* Fairness under the one GIL (runners/fairness.c). A worker's share is
 * the time it held the GIL (each take to its drop, gil.c) over the wall
 * time, not its run less its waits: a busy machine may leave a thread
 * unscheduled while it neither holds nor waits; its wait is
 * the time it waited to take it, or, forced to drop, for a taker. Fills
 * fair[0..W) and the sample's compact form: the least and most share and
 * wait, Jain's index, the starved. */
static void run_fold_fairness(const run_ctx_t *ctx, run_sample_t *s, run_fair_t *fair)
{
    int w = ctx->spec->workers;
    double share[RUN_MAX_WORKERS];
    s->gil_share_min = s->gil_wait_min_s = INFINITY;
    s->gil_share_max = s->gil_wait_max_s = 0;
    for (int i = 0; i < w; i++) {
        const worker_result_t *r = &ctx->results[i];
        double waited = (double)(r->gil.wait_ns + r->gil.switch_wait_ns) / 1e9;
        share[i] = s->wall_s > 0 ? (double)r->gil.held_ns / 1e9 / s->wall_s : 0;
        fair[i] = (run_fair_t){share[i], waited};
        s->gil_share_min = fmin(s->gil_share_min, share[i]);
        s->gil_share_max = fmax(s->gil_share_max, share[i]);
        s->gil_wait_min_s = fmin(s->gil_wait_min_s, waited);
        s->gil_wait_max_s = fmax(s->gil_wait_max_s, waited);
        s->starved_workers += run_starved(share[i], run_wanted(&fair[i], s->wall_s), w);
    }
    s->gil_jain = run_jain(share, w);
}

/* Add a summary of collections to the sample; pause percentiles are the
 * worst seen (each forked worker has a collector of its own). */
static void run_fold_gc(run_sample_t *s, const gc_summary_t *g)
{
    for (int i = 0; i < GC_GENERATIONS; i++) {
        s->gc_examined += (double)g->gen[i].examined;
        s->gc_uncollectable += (double)g->gen[i].uncollectable;
    }
    s->gc_pause_total_s += (double)g->all.total_ns / 1e9;
    s->gc_pause_p50_s = fmax(s->gc_pause_p50_s, (double)g->all.p50_ns / 1e9);
    s->gc_pause_p99_s = fmax(s->gc_pause_p99_s, (double)g->all.p99_ns / 1e9);
    s->gc_pause_max_s = fmax(s->gc_pause_max_s, (double)g->all.max_ns / 1e9);
#define RUN_FOLD_GEN(i)                                                                    \
    s->gc_collections_##i += (double)g->gen[i].collections;                                \
    s->gc_collected_##i += (double)g->gen[i].collected;                                    \
    s->gc_examined_##i += (double)g->gen[i].examined;                                      \
    s->gc_uncollectable_##i += (double)g->gen[i].uncollectable;                            \
    s->gc_pause_total_##i##_s += (double)g->by_gen[i].total_ns / 1e9;                      \
    s->gc_pause_p50_##i##_s = fmax(s->gc_pause_p50_##i##_s, (double)g->by_gen[i].p50_ns / 1e9); \
    s->gc_pause_p99_##i##_s = fmax(s->gc_pause_p99_##i##_s, (double)g->by_gen[i].p99_ns / 1e9); \
    s->gc_pause_max_##i##_s = fmax(s->gc_pause_max_##i##_s, (double)g->by_gen[i].max_ns / 1e9);
    RUN_FOLD_GEN(0)
    RUN_FOLD_GEN(1)
    RUN_FOLD_GEN(2)
#undef RUN_FOLD_GEN
}

void heap_end_read(interp_t *interp, heap_end_t *out)
{
    *out = (heap_end_t){NAN, NAN, NAN, NAN, NAN, NAN};
    if (interp->heap.kind == HEAP_pymalloc) {
        pym_stats_t st;
        pym_get_stats(interp->heap.pym, &st);
        out->blocks = (double)(st.blocks_in_use + st.raw_blocks);
        out->small_bytes = (double)st.bytes_in_use;
        out->arenas = (double)st.arenas_current;
        out->arenas_peak = (double)st.arenas_peak;
    }
    if (interp->tracing) {
        size_t bytes, blocks;
        trace_get(&interp->tracer, &bytes, NULL, &blocks, NULL);
        out->traced_bytes = (double)bytes;
        out->traced_blocks = (double)blocks;
    }
}

/* Add a process's heap after its run: pymalloc's figures are the largest
 * process's (as arena_bytes_peak), the traced ones added (as
 * traced_peak_bytes). fmax passes over a NaN (another allocator). */
static void run_fold_heap_end(run_sample_t *s, const heap_end_t *e)
{
    s->heap_blocks_end = fmax(s->heap_blocks_end, e->blocks);
    s->small_bytes_end = fmax(s->small_bytes_end, e->small_bytes);
    s->arenas_end = fmax(s->arenas_end, e->arenas);
    s->arenas_peak = fmax(s->arenas_peak, e->arenas_peak);
    if (!isnan(e->traced_bytes)) {
        s->traced_bytes_end += e->traced_bytes;
        s->traced_blocks_end += e->traced_blocks;
    }
}

/* Add a process's memory before and after its run, weighted (forked: 1/W
 * each, for the workers' mean). */
static void run_add_smaps(run_sample_t *s, const smaps_t *before, const smaps_t *after, double weight)
{
    s->smaps_pss_before_kib += weight * before->pss_kib;
    s->smaps_pss_after_kib += weight * after->pss_kib;
    s->smaps_private_dirty_before_kib += weight * before->private_dirty_kib;
    s->smaps_private_dirty_after_kib += weight * after->private_dirty_kib;
    s->smaps_shared_clean_before_kib += weight * before->shared_clean_kib;
    s->smaps_shared_clean_after_kib += weight * after->shared_clean_kib;
    s->smaps_shared_dirty_before_kib += weight * before->shared_dirty_kib;
    s->smaps_shared_dirty_after_kib += weight * after->shared_dirty_kib;
}

/* Fold the workers' results into the sample: sums, the workers' spread,
 * and the memory of every process of the run. */
static void run_fold_results(const run_ctx_t *ctx, run_sample_t *s)
{
    int w = ctx->spec->workers;
    bool forked = ctx->spec->mode == RUN_MODE_processes || ctx->spec->mode == RUN_MODE_pool;
    double sum = 0;
    usage_t self;
    usage_get(&self, 0);
    s->max_rss_kib = s->rss_sum_kib = (double)self.max_rss_kib;   /* the repeat process */
    s->worker_min_s = s->worker_max_s = ctx->results[0].run_s;
    for (int i = 0; i < w; i++) {
        const worker_result_t *r = &ctx->results[i];
        sum += r->run_s;
        s->worker_min_s = fmin(s->worker_min_s, r->run_s);
        s->worker_max_s = fmax(s->worker_max_s, r->run_s);
        s->gil_acquisitions += (double)r->gil.acquisitions;
        s->gil_forced_drops += (double)r->gil.forced_drops;
        s->gil_drop_requests += (double)r->gil.drop_requests;
        s->gil_wait_s += (double)r->gil.wait_ns / 1e9;
        s->gil_switches += (double)r->gil_switches;
        s->rc_local += (double)r->count.rc_local;
        s->rc_shared += (double)r->count.rc_shared;
        s->brc_queued += (double)r->count.brc_queued;
        s->brc_merged += (double)r->count.brc_merged;
        s->objects_allocated += (double)r->count.objects_allocated;
        s->arena_bytes_peak = fmax(s->arena_bytes_peak, (double)r->arena_bytes_peak);
        s->blocking_calls += (double)r->count.blocking_calls;
        s->blocked_s += (double)r->count.blocked_ns / 1e9;
        s->gil_switch_wait_s += (double)r->gil.switch_wait_ns / 1e9;
        s->gil_futile_wakeups += (double)r->gil.futile_wakeups;
        if (forked) {
            s->traced_peak_bytes += r->traced_peak_bytes;
            s->traced_peak_blocks += r->traced_peak_blocks;
            run_add_smaps(s, &r->smaps_before, &r->smaps_after, 1.0 / w);
            s->max_rss_kib = fmax(s->max_rss_kib, (double)r->usage.max_rss_kib);
            s->rss_sum_kib += (double)r->usage.max_rss_kib;
            run_fold_gc(s, &r->gc);
            run_fold_heap_end(s, &r->heap_end);
            s->gc_unreachable += (double)r->gc_unreachable;
        }
    }
    s->worker_mean_s = sum / w;
}

/* What a row does not measure holds NaN (runner.h). */
static void run_mark_unmeasured(const run_spec_t *spec, run_sample_t *s)
{
    bool gil = guard_get(spec->guard)->has_gil, biased = spec->guard == GUARD_biased;
    bool pystats = interp_pystats_enabled();
    if (spec->mode != RUN_MODE_pool)
        s->startup_s = NAN;
    if (!gil)
        s->gil_switches = s->gil_acquisitions = s->gil_forced_drops = s->gil_drop_requests =
            s->gil_wait_s = NAN;
    if (!biased || !pystats)
        s->rc_local = s->rc_shared = NAN;
    if (!biased)
        s->brc_queued = s->brc_merged = NAN;
    if (!pystats)
        s->objects_allocated = NAN;
    if (spec->allocator != HEAP_pymalloc)
        s->arena_bytes_peak = s->heap_blocks_end = s->small_bytes_end = s->arenas_end = s->arenas_peak = NAN;
    if (!gil)
        s->gil_switch_wait_s = s->gil_futile_wakeups = NAN;
    if (!run_shares_one_gil(spec))
        s->gil_share_min = s->gil_share_max = s->gil_jain = s->starved_workers = s->gil_wait_min_s =
            s->gil_wait_max_s = NAN;
    if (spec->workload->client == NULL)
        s->requests = s->throughput_rps = s->lat_p50_s = s->lat_p90_s = s->lat_p99_s =
            s->lat_p999_s = s->lat_max_s = NAN;
    if (spec->workload->client == NULL || !gil)
        s->server_gil_wait_s = NAN;
    if (spec->trace_events == 0)
        s->trace_events = s->trace_dropped = NAN;
    if (!spec->gc.disabled)
        s->gc_unreachable = NAN;
    if (!spec->tracemalloc && !spec->memory_trace)
        s->traced_peak_bytes = s->traced_peak_blocks = s->traced_bytes_end = s->traced_blocks_end = NAN;
    if (!spec->pss)
        s->pss_sum_kib = NAN;
    if (!spec->workload->smaps)
        s->smaps_pss_before_kib = s->smaps_pss_after_kib = s->smaps_private_dirty_before_kib =
            s->smaps_private_dirty_after_kib = s->smaps_shared_clean_before_kib =
                s->smaps_shared_clean_after_kib = s->smaps_shared_dirty_before_kib =
                    s->smaps_shared_dirty_after_kib = NAN;
}

/* Build the interpreter of one repeat and its globals; take the leak
 * check's baseline before the globals exist. */
static int run_prepare(run_ctx_t *ctx, leak_probe_t *baseline)
{
    const run_spec_t *spec = ctx->spec;
    interp_config_t cfg = {
        .guard = spec->guard,
        .allocator = spec->allocator,
        .immortal = spec->immortal,
        .switch_interval_us = spec->switch_interval_us,
        .check_interval = spec->check_interval,
        .gc = spec->gc,
        .tracemalloc = spec->tracemalloc || spec->memory_trace,
    };
    if (interp_init(ctx->interp, &cfg, ctx->err, ctx->errlen) < 0)
        return -1;
    ctx->main_ts = tstate_new(ctx->interp);
    if (ctx->main_ts == NULL) {
        snprintf(ctx->err, ctx->errlen, "out of memory for the main thread state");
        interp_destroy(ctx->interp);
        return -1;
    }
    leak_probe_take(ctx->interp, baseline);
    if (spec->workload->setup != NULL || ctx->client != NULL || spec->gc.freeze) {
        tstate_t *ts = ctx->main_ts;
        ctx->interp->ops->attach(ts);
        int rc = spec->workload->setup != NULL ? spec->workload->setup(ts, spec->params) : 0;
        if (rc == 0 && spec->gc.freeze)
            gc_freeze(ts);   /* what setup built goes to the permanent generation */
        /* A client workload's global 0 is the server's end of the socket. */
        if (rc == 0 && ctx->client != NULL &&
            (ctx->interp->globals[0] = ctx->interp->ops->int_new(ts, client_server_fd(ctx->client))) == NULL)
            rc = -1;
        ctx->interp->ops->detach(ts);
        if (rc < 0) {
            snprintf(ctx->err, ctx->errlen, "setting up %s: %s", spec->workload->name, ts->error);
            tstate_delete(ts);
            interp_destroy(ctx->interp);
            return -1;
        }
    }
    return 0;
}

/* Tear down one repeat's interpreter, with the leak check: once the
 * globals are dropped and the worker threads gone, every block the run
 * allocated must be free again. */
static int run_finish(run_ctx_t *ctx, const leak_probe_t *baseline, run_sample_t *sample, int rc)
{
    interp_t *interp = ctx->interp;
    tstate_t *ts = ctx->main_ts;
    const workload_t *wl = ctx->spec->workload;
    interp->ops->attach(ts);
    if (wl->teardown != NULL && wl->teardown(ts, ctx->spec->params) < 0 && rc == 0) {
        snprintf(ctx->err, ctx->errlen, "tearing down %s: %s", wl->name, ts->error);
        rc = -1;
    }
    interp_clear_globals(ts);
    sample->gc_unreachable = (double)interp_finalize(ts);
    interp->ops->detach(ts);
    threads_release(ctx);
    tstate_delete(ts);
    leak_probe_t after;
    leak_probe_take(interp, &after);
    char heap_err[160] = "";
#ifdef GL_DEBUG_CHECKS
    /* The expensive check: walk every arena, pool and free list. */
    if (interp->heap.kind == HEAP_pymalloc)
        pym_check(interp->heap.pym, heap_err, sizeof(heap_err));
#endif
    if (interp->heap.kind == HEAP_pymalloc) {
        pym_stats_t st;
        pym_get_stats(interp->heap.pym, &st);
        sample->arena_bytes_peak = fmax(sample->arena_bytes_peak,
                                        (double)(st.arenas_peak * pym_arena_size(interp->heap.pym)));
    }
    interp_destroy(interp);
    if (rc == 0 && leak_probe_check(baseline, &after, ctx->err, ctx->errlen) < 0)
        return -1;
    if (rc == 0 && heap_err[0] != '\0') {
        snprintf(ctx->err, ctx->errlen, "heap check failed: %s", heap_err);
        return -1;
    }
    return rc;
}

void run_workers_started(run_ctx_t *ctx)
{
    if (ctx->client != NULL)
        client_go(ctx->client);
}

void run_lead_finished(run_ctx_t *ctx)
{
    if (ctx->client != NULL)
        client_server_done(ctx->client);
}

static int run_mode(run_ctx_t *ctx, run_sample_t *sample)
{
    switch (ctx->spec->mode) {
    case RUN_MODE_single: return run_single(ctx, sample);
    case RUN_MODE_threads: return run_threads(ctx, sample);
    case RUN_MODE_processes: return run_processes(ctx, sample);
    case RUN_MODE_pool: return run_pool(ctx, sample);
    default:
        snprintf(ctx->err, ctx->errlen, "unknown mode");
        return -1;
    }
}

/* The mode, and around it the memory figures of a run whose workers all
 * live in this process (single, threads): the tracer's peak, the smaps a
 * workload asks for, the Pss (--pss), all read outside the timed region.
 * Forked workers read their own (fork.c, processes.c). */
static int run_in_process(run_ctx_t *ctx, run_sample_t *sample)
{
    const run_spec_t *spec = ctx->spec;
    interp_t *interp = ctx->interp;
    smaps_t before = {0}, after = {0};
    if (interp->tracing)
        trace_reset_peak(&interp->tracer);
    if (worker_smaps(spec, &before, ctx->err, ctx->errlen) < 0)
        return -1;
    if (run_mode(ctx, sample) < 0)
        return -1;
    heap_end_t end;
    heap_end_read(interp, &end);
    run_fold_heap_end(sample, &end);
    if (worker_smaps(spec, &after, ctx->err, ctx->errlen) < 0)
        return -1;
    run_add_smaps(sample, &before, &after, 1.0);
    if (interp->tracing) {
        size_t peak, peak_blocks;
        trace_get(&interp->tracer, NULL, &peak, NULL, &peak_blocks);
        sample->traced_peak_bytes = (double)peak;
        sample->traced_peak_blocks = (double)peak_blocks;
    }
    if (spec->pss) {
        smaps_t self;
        if (smaps_read(0, &self) < 0) {
            snprintf(ctx->err, ctx->errlen, "--pss: cannot read /proc/self/smaps_rollup: %s", strerror(errno));
            return -1;
        }
        sample->pss_sum_kib = self.pss_kib;
    }
    return 0;
}

/* The run, sampled over time when asked (--memory-trace): the trace goes
 * to *trace. */
static int run_measured(run_ctx_t *ctx, run_sample_t *sample, memtrace_t *trace)
{
    const run_spec_t *spec = ctx->spec;
    bool forked = spec->mode == RUN_MODE_processes || spec->mode == RUN_MODE_pool;
    gc_mark_t gc_before;
    if (spec->memory_trace) {
        uint64_t interval = spec->sample_interval_us ? spec->sample_interval_us : MEMTRACE_DEFAULT_INTERVAL_US;
        gc_mark(&ctx->interp->gc, &gc_before);
        /* Forked workers' heaps are their own: only their RSS is sampled. */
        tracer_t *tracer = ctx->interp->tracing && !forked ? &ctx->interp->tracer : NULL;
        ctx->sampler = memtrace_start(tracer, interval, forked ? (size_t)spec->workers : 0, ctx->err, ctx->errlen);
        if (ctx->sampler == NULL)
            return -1;
    }
    int rc = forked ? run_mode(ctx, sample) : run_in_process(ctx, sample);
    if (ctx->sampler != NULL) {
        if (memtrace_stop(ctx->sampler, &ctx->interp->gc, &gc_before, trace) < 0 && rc == 0) {
            snprintf(ctx->err, ctx->errlen, "out of memory for the memory trace");
            rc = -1;
        }
        ctx->sampler = NULL;
    }
    return rc;
}

/* What one repeat needs: the spec and the row's code, built once. */
typedef struct repeat_job {
    const run_spec_t *spec;
    const code_t *code;
    const code_t *code_background;  /* NULL without a background */
    pin_t *pin;
    bool send_trace;                /* the repeat's trace goes back to the lab */
} repeat_job_t;

/* What one repeat measured, beside the sample: the client's latency
 * histogram, each worker's share of the one GIL (run_shares_one_gil), the
 * GIL trace (spec->workers buffers, or NULL) and the memory trace
 * (--memory-trace). */
typedef struct repeat_out {
    run_sample_t sample;
    run_fair_t fair[RUN_MAX_WORKERS];
    run_hist_t hist;
    trace_buf_t *trace;
    uint64_t t0_ns;
    memtrace_t memtrace;
} repeat_out_t;

/* Preallocated, zero-filled (so that no page fault waits inside the timed
 * region) trace buffers, one per worker. NULL on out-of-memory. */
static trace_buf_t *run_trace_alloc(int workers, uint32_t capacity)
{
    trace_buf_t *t = aligned_alloc(64, sizeof(trace_buf_t) * (size_t)workers);
    if (t == NULL)
        return NULL;
    memset(t, 0, sizeof(trace_buf_t) * (size_t)workers);
    for (int i = 0; i < workers; i++) {
        t[i].lane = (uint16_t)i;
        t[i].capacity = capacity;
        t[i].events = calloc(capacity, sizeof(trace_event_t));
        if (t[i].events == NULL) {
            for (int k = 0; k < i; k++)
                free(t[k].events);
            free(t);
            return NULL;
        }
        memset(t[i].events, 0, capacity * sizeof(trace_event_t));
    }
    return t;
}

static void run_trace_bufs_free(trace_buf_t *t, int workers)
{
    for (int i = 0; t != NULL && i < workers; i++)
        free(t[i].events);
    free(t);
}

/* The client's figures into the sample. */
static void run_fold_client(const run_ctx_t *ctx, const client_result_t *c, run_sample_t *s)
{
    s->requests = (double)c->requests;
    s->throughput_rps = c->duration_s > 0 ? (double)c->requests / c->duration_s : 0;
    s->lat_p50_s = c->p50_s;
    s->lat_p90_s = c->p90_s;
    s->lat_p99_s = c->p99_s;
    s->lat_p999_s = c->p999_s;
    s->lat_max_s = c->max_s;
    s->server_gil_wait_s = c->requests > 0 ? (double)ctx->results[0].gil.wait_ns / 1e9 / (double)c->requests : 0;
}

/* The whole of one repeat. Returns 0 with *out filled (out->trace owned by
 * the caller), or -1 with err. */
static int run_repeat(const repeat_job_t *job, repeat_out_t *out, char *err, size_t errlen)
{
    const run_spec_t *spec = job->spec;
    int rc = -1;
    leak_probe_t baseline;
    client_result_t cres;
    run_ctx_t ctx = {.spec = spec, .code = job->code, .code_background = job->code_background,
                     .pin = job->pin, .err = err, .errlen = errlen};
    memset(out, 0, sizeof *out);
    ctx.interp = malloc(sizeof *ctx.interp);
    ctx.results = aligned_alloc(64, sizeof(worker_result_t) * (size_t)spec->workers);
    if (ctx.interp == NULL || ctx.results == NULL ||
        (spec->trace_events > 0 && (ctx.trace = run_trace_alloc(spec->workers, spec->trace_events)) == NULL)) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    memset(ctx.results, 0, sizeof(worker_result_t) * (size_t)spec->workers);
    if (spec->workload->client != NULL) {
        wl_client_t cfg;
        spec->workload->client(spec->params, spec->size, &cfg);
        if ((ctx.client = client_start(&cfg, err, errlen)) == NULL)
            goto out;
    }
    if (run_prepare(&ctx, &baseline) < 0) {
        client_finish(ctx.client, &cres, err, 0);
        goto out;
    }
    /* The shared GIL's hand-overs and collections (single, threads);
     * forked workers report their own, folded in below. Worker 0 runs on
     * the main thread state in single mode and, with a background, in
     * processes mode: that is the thread state traced as lane 0 then. */
    uint64_t switches = gil_switches(&ctx.interp->gil);
    gc_mark_t gc_before;
    gc_summary_t gc_run;
    gc_mark(&ctx.interp->gc, &gc_before);
    ctx.main_ts->gil.trace = ctx.trace;
    out->t0_ns = clock_now_ns();
    rc = run_measured(&ctx, &out->sample, &out->memtrace);
    ctx.main_ts->gil.trace = NULL;
    out->sample.gil_switches = (double)(gil_switches(&ctx.interp->gil) - switches);
    gc_summarize(&ctx.interp->gc, &gc_before, &gc_run);
    run_fold_gc(&out->sample, &gc_run);
    if (client_finish(ctx.client, &cres, rc == 0 ? err : ctx.err, rc == 0 ? errlen : 0) < 0 && rc == 0)
        rc = -1;
    rc = run_finish(&ctx, &baseline, &out->sample, rc);
    if (rc == 0) {
        run_fold_results(&ctx, &out->sample);
        if (run_shares_one_gil(spec))
            run_fold_fairness(&ctx, &out->sample, out->fair);
        if (ctx.client != NULL) {
            run_fold_client(&ctx, &cres, &out->sample);
            out->hist = cres.hist;
        }
        for (int i = 0; ctx.trace != NULL && i < spec->workers; i++) {
            out->sample.trace_events += ctx.trace[i].count;
            out->sample.trace_dropped += (double)ctx.trace[i].dropped;
        }
        run_mark_unmeasured(spec, &out->sample);
        out->trace = ctx.trace;
        ctx.trace = NULL;
    }
out:
    run_trace_bufs_free(ctx.trace, spec->workers);
    free(ctx.results);
    free(ctx.interp);
    return rc;
}

/* What a repeat process sends back; then fair_workers run_fair_t (the
 * workers' shares of the one GIL); then, when traced, its memory trace
 * (memtrace_write) and each GIL-traced lane as a trace_lane_wire_t and its
 * events. */
typedef struct repeat_msg {
    int rc;
    bool traced;
    int fair_workers;
    int trace_lanes;
    uint64_t t0_ns;
    run_sample_t sample;
    run_hist_t hist;
    char err[512];
} repeat_msg_t;

typedef struct trace_lane_wire {
    uint32_t lane;
    uint32_t count;
    uint64_t dropped;
} trace_lane_wire_t;

/* The repeat process's body: run, report, exit. */
static void repeat_process_main(const repeat_job_t *job, int fd) __attribute__((noreturn));
static void repeat_process_main(const repeat_job_t *job, int fd)
{
    repeat_msg_t msg;
    repeat_out_t out;
    memset(&msg, 0, sizeof msg);
    msg.rc = run_repeat(job, &out, msg.err, sizeof msg.err);
    msg.sample = out.sample;
    msg.hist = out.hist;
    msg.t0_ns = out.t0_ns;
    msg.traced = msg.rc == 0 && job->spec->memory_trace;
    msg.trace_lanes = msg.rc == 0 && job->send_trace && out.trace != NULL ? job->spec->workers : 0;
    msg.fair_workers = msg.rc == 0 && run_shares_one_gil(job->spec) ? job->spec->workers : 0;
    int ok = pipe_write_all(fd, &msg, sizeof msg) == 0 &&
             pipe_write_all(fd, out.fair, (size_t)msg.fair_workers * sizeof(run_fair_t)) == 0 &&
             (!msg.traced || memtrace_write(fd, &out.memtrace) == 0);
    for (int i = 0; ok && i < msg.trace_lanes; i++) {
        trace_lane_wire_t w = {out.trace[i].lane, out.trace[i].count, out.trace[i].dropped};
        ok = pipe_write_all(fd, &w, sizeof w) == 0 &&
             pipe_write_all(fd, out.trace[i].events, w.count * sizeof(trace_event_t)) == 0;
    }
    _exit(ok ? 0 : 3);
}

void run_trace_free(run_trace_t *t)
{
    if (t == NULL)
        return;
    for (int i = 0; i < t->nlanes; i++)
        free(t->lanes[i].events);
    free(t->lanes);
    free(t);
}

/* Read the lanes that follow a repeat message. NULL when the pipe failed
 * or memory ran out. */
static run_trace_t *run_trace_read(int fd, int nlanes, uint64_t t0_ns)
{
    run_trace_t *t = calloc(1, sizeof *t);
    if (t == NULL || (t->lanes = calloc((size_t)nlanes, sizeof *t->lanes)) == NULL) {
        free(t);
        return NULL;
    }
    t->t0_ns = t0_ns;
    for (; t->nlanes < nlanes; t->nlanes++) {
        trace_lane_wire_t w;
        run_trace_lane_t *l = &t->lanes[t->nlanes];
        if (pipe_read_all(fd, &w, sizeof w) < 0 || w.count > RUN_MAX_TRACE_EVENTS)
            goto fail;
        *l = (run_trace_lane_t){w.lane, w.count, w.dropped, malloc((w.count ? w.count : 1) * sizeof(trace_event_t))};
        if (l->events == NULL || pipe_read_all(fd, l->events, w.count * sizeof(trace_event_t)) < 0) {
            free(l->events);
            goto fail;
        }
    }
    return t;
fail:
    run_trace_free(t);
    return NULL;
}

/* The repeat under way: the repeat process leads a process group of its
 * own, which its workers and its client join by being forked from it, so
 * one kill reaches them all. The lab is their child subreaper
 * (run_session_open): a worker whose repeat process died comes back to the
 * lab, which reaps it, and nothing of a repeat is left for init. 0 between
 * repeats. A sig_atomic_t because run_kill_repeat reads it in a handler. */
static volatile sig_atomic_t run_group;

/* Reap every process of group `pgid` that is a child of ours, waiting for
 * those still running. Async-signal-safe. */
static void run_reap_group(pid_t pgid)
{
    while (waitpid(-pgid, NULL, 0) > 0 || errno == EINTR)
        ;
}

bool run_kill_repeat(void)
{
    pid_t pgid = run_group;
    int saved = errno;

    if (pgid > 0) {
        kill(-pgid, SIGKILL);
        run_reap_group(pgid);
    }
    errno = saved;
    return pgid > 0;
}

/* Fork a repeat process and wait for what it measured: the sample, the
 * latency histogram, the workers' GIL shares into fair (spec->workers
 * slots, filled when they share one GIL), the memory trace
 * (--memory-trace) and (job->send_trace) the GIL trace into *trace.
 * SIGINT and SIGTERM are held while run_group changes, so that a handler
 * never sees a group being made or already reaped. */
static int run_repeat_isolated(const repeat_job_t *job, run_sample_t *sample, run_hist_t *hist,
                               run_fair_t *fair, memtrace_t *memtrace, run_trace_t **trace,
                               char *err, size_t errlen)
{
    int fds[2];
    pid_t parent = getpid();
    if (pipe(fds) < 0) {
        snprintf(err, errlen, "cannot create a pipe for the repeat: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);   /* nothing buffered may be written twice */
    sigset_t stops, saved;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stops, &saved);
    pid_t pid = fork();
    if (pid < 0) {
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        snprintf(err, errlen, "cannot fork the repeat process: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (fork_child_bind_to_parent(parent) < 0)
            _exit(3);
        fork_child_close_fds(&fds[1], 1);
        repeat_process_main(job, fds[1]);
    }
    setpgid(pid, pid);   /* both sides, so the group exists whichever runs first */
    run_group = pid;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    close(fds[1]);
    repeat_msg_t *msg = malloc(sizeof *msg);
    int got = msg != NULL && pipe_read_all(fds[0], msg, sizeof *msg) == 0;
    if (got && msg->fair_workers > 0)
        got = msg->fair_workers == job->spec->workers &&
              pipe_read_all(fds[0], fair, (size_t)msg->fair_workers * sizeof(run_fair_t)) == 0;
    if (got && msg->traced)
        got = memtrace_read(fds[0], memtrace) == 0;
    if (got && msg->rc == 0 && msg->trace_lanes > 0 &&
        (*trace = run_trace_read(fds[0], msg->trace_lanes, msg->t0_ns)) == NULL)
        got = 0;
    close(fds[0]);
    int status;
    pthread_sigmask(SIG_BLOCK, &stops, NULL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    run_reap_group(pid);   /* the workers of a repeat process that died */
    run_group = 0;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    int rc = -1;
    if (msg == NULL) {
        snprintf(err, errlen, "out of memory");
    } else if (!got) {
        char how[96];
        child_status_text(status, how, sizeof how);
        snprintf(err, errlen, "the repeat process (pid %d) %s", (int)pid, how);
    } else if (msg->rc < 0) {
        snprintf(err, errlen, "%s", msg->err);
    } else {
        *sample = msg->sample;
        *hist = msg->hist;
        rc = 0;
    }
    free(msg);
    return rc;
}

/* ------------------------------------------------------------------------
 * Sessions
 */

/* A row in progress: what lives from the first warm-up to the last repeat. */
struct run_session {
    run_row_t *row;
    code_t code;
    code_t code_background;
    pin_t *pin;
    int done;                 /* warm-ups and repeats finished */
    int total;
};

static void run_session_free(run_session_t *s)
{
    if (s == NULL)
        return;
    pin_close(s->pin);
    free(s);
}

run_session_t *run_session_open(const run_spec_t *spec, run_row_t *row, char *err, size_t errlen)
{
    memset(row, 0, sizeof(*row));
    row->spec = *spec;
    err[0] = '\0';
    if (run_spec_check(spec, err, errlen) < 0)
        return NULL;

    /* A process that dies closes its pipe; writing to it must be an error
     * we report, not a SIGPIPE that kills the lab. */
    signal(SIGPIPE, SIG_IGN);
    /* The workers of a repeat process that dies come back to us to be
     * reaped (run_group). */
    prctl(PR_SET_CHILD_SUBREAPER, 1);

    run_session_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->row = row;
    s->total = spec->warmup + spec->repeats;
    const workload_t *wl = spec->workload;
    if (wl->build(&s->code, spec->params) < 0 || code_check(&s->code, err, errlen) < 0 ||
        (wl->build_background != NULL && (wl->build_background(&s->code_background, spec->params) < 0 ||
                                          code_check(&s->code_background, err, errlen) < 0))) {
        if (err[0] == '\0')
            snprintf(err, errlen, "cannot build the bytecode of %s", wl->name);
        goto fail;
    }
    row->samples = calloc((size_t)spec->repeats, sizeof(run_sample_t));
    if (run_shares_one_gil(spec))
        row->fair = calloc((size_t)spec->repeats * (size_t)spec->workers, sizeof(run_fair_t));
    if (row->samples == NULL || (run_shares_one_gil(spec) && row->fair == NULL)) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (spec->pin == RUN_PIN_CORES && (s->pin = pin_open(err, errlen)) == NULL)
        goto fail;
    return s;
fail:
    run_row_free(row);
    run_session_free(s);
    return NULL;
}

int run_session_step(run_session_t *s, char *err, size_t errlen)
{
    const run_spec_t *spec = &s->row->spec;
    run_sample_t sample;
    run_hist_t hist;
    memtrace_t memtrace = {0};
    run_trace_t *trace = NULL;
    run_fair_t *fair = s->row->fair != NULL ? s->row->fair + (size_t)s->row->nsamples * (size_t)spec->workers
                                            : NULL;
    err[0] = '\0';
    if (s->done >= s->total)
        return 0;
    repeat_job_t job = {
        .spec = spec,
        .code = &s->code,
        .code_background = spec->workload->build_background != NULL ? &s->code_background : NULL,
        .pin = s->pin,
        .send_trace = s->done == spec->warmup,   /* the first timed repeat's */
    };
    /* A warm-up's shares land in the slots of the next repeat, which
     * overwrites them. */
    if (run_repeat_isolated(&job, &sample, &hist, fair, &memtrace, &trace, err, errlen) < 0)
        return -1;
    /* The first timed repeat's traces are the row's, as mprof plots one run. */
    if (s->done == spec->warmup)
        s->row->trace = memtrace;
    else
        memtrace_free(&memtrace);
    if (s->done >= spec->warmup) {
        s->row->samples[s->row->nsamples++] = sample;
        for (int b = 0; b < RUN_HIST_BUCKETS; b++)
            s->row->latency.count[b] += hist.count[b];
    }
    if (trace != NULL)
        s->row->gil_trace = trace;
    s->done++;
    return s->done < s->total ? 1 : 0;
}

void run_session_progress(const run_session_t *s, int *done, int *total)
{
    *done = s->done;
    *total = s->total;
}

void run_session_close(run_session_t *s)
{
    run_session_free(s);
}

int run_row(const run_spec_t *spec, run_row_t *row, run_progress_fn progress, void *progress_arg,
            char *err, size_t errlen)
{
    run_session_t *s = run_session_open(spec, row, err, errlen);
    if (s == NULL)
        return -1;
    int r;
    while ((r = run_session_step(s, err, errlen)) > 0)
        if (progress != NULL)
            progress(spec, s->done, s->total, progress_arg);
    if (r == 0 && progress != NULL)
        progress(spec, s->done, s->total, progress_arg);
    run_session_close(s);
    if (r < 0)
        run_row_free(row);
    return r;
}

void run_row_free(run_row_t *row)
{
    if (row == NULL)
        return;
    free(row->samples);
    row->samples = NULL;
    free(row->fair);
    row->fair = NULL;
    row->nsamples = 0;
    run_trace_free(row->gil_trace);
    row->gil_trace = NULL;
    memtrace_free(&row->trace);
}
