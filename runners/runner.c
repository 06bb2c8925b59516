/* runners/runner.c: one row of an experiment: validate the spec, then for
 * each warm-up and repeat build a fresh interpreter (so every repeat starts
 * from an empty heap), set up the workload's globals, run the mode, fold the
 * workers' results into a sample, clear the globals and check for leaks.
 * Everything here happens outside the timed regions, which live in the mode
 * runners. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

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
    if (spec->size < wl->min_size || spec->size > wl->max_size) {
        snprintf(err, errlen, "size for %s must be between %lld and %lld, not %lld", wl->name,
                 (long long)wl->min_size, (long long)wl->max_size, (long long)spec->size);
        return -1;
    }
    if (spec->size < spec->workers) {
        snprintf(err, errlen, "size %lld is smaller than the %d workers it is split over",
                 (long long)spec->size, spec->workers);
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
    if (spec->repeats < 1 || spec->warmup < 0) {
        snprintf(err, errlen, "repeats must be at least 1 and warm-ups at least 0");
        return -1;
    }
    if (spec->switch_interval_us < 1 || spec->switch_interval_us > RUN_MAX_SWITCH_US) {
        snprintf(err, errlen, "switch interval must be between 1 and %u us", RUN_MAX_SWITCH_US);
        return -1;
    }
    return 0;
}

/* Fold the workers' results into the sample (sums and worker spread). */
static void run_fold_results(const run_ctx_t *ctx, run_sample_t *s)
{
    int w = ctx->spec->workers;
    double sum = 0;
    s->worker_min_s = s->worker_max_s = ctx->results[0].run_s;
    for (int i = 0; i < w; i++) {
        const worker_result_t *r = &ctx->results[i];
        sum += r->run_s;
        if (r->run_s < s->worker_min_s)
            s->worker_min_s = r->run_s;
        if (r->run_s > s->worker_max_s)
            s->worker_max_s = r->run_s;
        s->gil_acquisitions += r->gil.acquisitions;
        s->gil_forced_drops += r->gil.forced_drops;
        s->gil_drop_requests += r->gil.drop_requests;
        s->gil_wait_s += (double)r->gil.wait_ns / 1e9;
        s->gil_switches += r->gil_switches;
        s->rc_local += r->rc_local;
        s->rc_shared += r->rc_shared;
        s->brc_queued += r->brc_queued;
        s->brc_merged += r->brc_merged;
        s->objects_allocated += r->objects_allocated;
        if (r->heap_bytes_peak > s->heap_bytes_peak)
            s->heap_bytes_peak = r->heap_bytes_peak;
    }
    s->worker_mean_s = sum / w;
}

/* Build the interpreter of one repeat and its globals. */
static int run_prepare(run_ctx_t *ctx)
{
    const run_spec_t *spec = ctx->spec;
    interp_config_t cfg = {
        .guard = spec->guard,
        .allocator = spec->allocator,
        .immortal = spec->immortal,
        .switch_interval_us = spec->switch_interval_us,
    };
    if (interp_init(ctx->interp, &cfg, ctx->err, ctx->errlen) < 0)
        return -1;
    ctx->main_ts = tstate_new(ctx->interp);
    if (ctx->main_ts == NULL) {
        snprintf(ctx->err, ctx->errlen, "out of memory for the main thread state");
        interp_destroy(ctx->interp);
        return -1;
    }
    if (spec->workload->setup != NULL) {
        tstate_t *ts = ctx->main_ts;
        ctx->interp->ops->attach(ts);
        int rc = spec->workload->setup(ts, spec->params);
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

/* Tear down one repeat's interpreter; the leak check: every object created
 * since the interpreter started must be gone once its globals are. */
static int run_finish(run_ctx_t *ctx, run_sample_t *sample, int rc)
{
    interp_t *interp = ctx->interp;
    tstate_t *ts = ctx->main_ts;
    interp->ops->attach(ts);
    interp_clear_globals(ts);
    interp->ops->detach(ts);
    int64_t live = interp_live_objects(interp);
    char heap_err[160] = "";
#ifdef GL_DEBUG_CHECKS
    /* The expensive check: walk every arena, pool and free list. */
    if (interp->heap.kind == HEAP_pymalloc)
        pym_check(interp->heap.pym, heap_err, sizeof(heap_err));
#endif
    if (interp->heap.kind == HEAP_pymalloc && sample != NULL) {
        pym_stats_t st;
        pym_get_stats(interp->heap.pym, &st);
        if (st.bytes_peak > sample->heap_bytes_peak)
            sample->heap_bytes_peak = st.bytes_peak;
    }
    tstate_delete(ts);
    interp_destroy(interp);
    if (rc == 0 && live != 0) {
        snprintf(ctx->err, ctx->errlen, "leak check failed: %lld objects still alive after the run",
                 (long long)live);
        return -1;
    }
    if (rc == 0 && heap_err[0] != '\0') {
        snprintf(ctx->err, ctx->errlen, "heap check failed: %s", heap_err);
        return -1;
    }
    return rc;
}

static int run_mode(run_ctx_t *ctx, pool_t *pool, run_sample_t *sample)
{
    switch (ctx->spec->mode) {
    case RUN_MODE_single: return run_single(ctx, sample);
    case RUN_MODE_threads: return run_threads(ctx, sample);
    case RUN_MODE_processes: return run_processes(ctx, sample);
    case RUN_MODE_pool: return pool_run(pool, ctx, sample);
    default:
        snprintf(ctx->err, ctx->errlen, "unknown mode");
        return -1;
    }
}

/* A row in progress: everything that lives from the first warm-up to the
 * last repeat. */
struct run_session {
    run_row_t *row;
    code_t code;
    interp_t *interp;         /* rebuilt every repeat (pool: once per row) */
    worker_result_t *results;
    run_ctx_t ctx;
    pool_t *pool;
    double startup_s;
    int done;                 /* warm-ups and repeats finished */
    int total;
};

static void run_session_free(run_session_t *s)
{
    pin_close(s->ctx.pin);
    free(s->results);
    free(s->interp);
    free(s);
}

run_session_t *run_session_open(const run_spec_t *spec, run_row_t *row, char *err, size_t errlen)
{
    memset(row, 0, sizeof(*row));
    row->spec = *spec;
    err[0] = '\0';
    if (run_spec_check(spec, err, errlen) < 0)
        return NULL;

    /* A worker that dies closes its pipe; writing to it must be an error we
     * report, not a SIGPIPE that kills the lab. */
    signal(SIGPIPE, SIG_IGN);

    run_session_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->row = row;
    s->total = spec->warmup + spec->repeats;
    if (spec->workload->build(&s->code, spec->params) < 0 || code_check(&s->code, err, errlen) < 0) {
        if (err[0] == '\0')
            snprintf(err, errlen, "cannot build the bytecode of %s", spec->workload->name);
        goto fail;
    }
    s->interp = malloc(sizeof(*s->interp));
    s->results = aligned_alloc(64, sizeof(worker_result_t) * (size_t)spec->workers);
    row->samples = calloc((size_t)spec->repeats, sizeof(run_sample_t));
    s->ctx = (run_ctx_t){.spec = &row->spec, .interp = s->interp, .code = &s->code,
                         .results = s->results, .err = err, .errlen = errlen};
    if (s->interp == NULL || s->results == NULL || row->samples == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (spec->pin == RUN_PIN_CORES && (s->ctx.pin = pin_open(err, errlen)) == NULL)
        goto fail;
    if (spec->mode == RUN_MODE_pool) {
        /* The pool forks from one interpreter and keeps it across repeats,
         * as a multiprocessing.Pool keeps its workers. */
        if (run_prepare(&s->ctx) < 0)
            goto fail;
        s->pool = pool_open(&s->ctx, &s->startup_s);
        if (s->pool == NULL) {
            run_finish(&s->ctx, NULL, -1);
            goto fail;
        }
    }
    return s;
fail:
    run_row_free(row);
    run_session_free(s);
    return NULL;
}

int run_session_step(run_session_t *s, char *err, size_t errlen)
{
    run_ctx_t *ctx = &s->ctx;
    const run_spec_t *spec = ctx->spec;
    run_sample_t sample;
    ctx->err = err;
    ctx->errlen = errlen;
    err[0] = '\0';
    if (s->done >= s->total)
        return 0;
    memset(&sample, 0, sizeof(sample));
    memset(s->results, 0, sizeof(worker_result_t) * (size_t)spec->workers);
    if (s->pool == NULL && run_prepare(ctx) < 0)
        return -1;
    /* The shared GIL's hand-overs (single, threads); forked workers report
     * their own GIL's, folded in below. */
    uint64_t switches = gil_switches(&s->interp->gil);
    int r = run_mode(ctx, s->pool, &sample);
    sample.gil_switches = gil_switches(&s->interp->gil) - switches;
    if (s->pool == NULL)
        r = run_finish(ctx, &sample, r);
    if (r < 0)
        return -1;
    run_fold_results(ctx, &sample);
    sample.startup_s = s->startup_s;
    if (s->done >= spec->warmup)
        s->row->samples[s->row->nsamples++] = sample;
    s->done++;
    return s->done < s->total ? 1 : 0;
}

void run_session_progress(const run_session_t *s, int *done, int *total)
{
    *done = s->done;
    *total = s->total;
}

int run_session_close(run_session_t *s, char *err, size_t errlen)
{
    int rc = 0;
    if (s == NULL)
        return 0;
    s->ctx.err = err;
    s->ctx.errlen = errlen;
    if (s->pool != NULL) {
        pool_close(s->pool);
        rc = run_finish(&s->ctx, NULL, 0);
    }
    run_session_free(s);
    return rc;
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
    if (r == 0) {
        r = run_session_close(s, err, errlen);
    } else {
        char ignored[8];
        run_session_close(s, ignored, sizeof(ignored));
    }
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
    row->nsamples = 0;
}
