/* runners/single.c: mode `single`, the seed's "SINGLE THREAD (MAIN)": the
 * calling thread runs the whole size. No thread is created, so the main
 * thread is also the owner of the globals under the biased guard, as in a
 * Python script that builds a list and then loops over it. (It runs in the
 * repeat's own process, so pinning it needs no undoing.) A workload with a
 * client (convoy) runs its server alone here. */
#include "lab/clock.h"
#include "runners/internal.h"

int run_single(run_ctx_t *ctx, run_sample_t *sample)
{
    if (ctx->pin != NULL && pin_worker(ctx->pin, 0, 0, ctx->err, ctx->errlen) < 0)
        return -1;
    usage_t before, after, delta;
    usage_get(&before, 0);
    uint64_t t0 = clock_now_ns();
    run_workers_started(ctx);
    int rc = worker_run(ctx->main_ts, ctx->code, worker_share(ctx->spec, 0), &ctx->results[0]);
    run_lead_finished(ctx);
    uint64_t t1 = clock_now_ns();
    usage_get(&after, 0);
    usage_delta(&delta, &before, &after);

    sample->wall_s = clock_seconds(t1 - t0);
    usage_add_to_sample(sample, &delta);
    if (rc < 0)
        snprintf(ctx->err, ctx->errlen, "worker 0: %s", ctx->results[0].error);
    return rc;
}
