/* runners/worker.c: the body every worker runs, whatever the mode: attach
 * to the interpreter (take the GIL, under that guard), create the argument,
 * run the bytecode, drop the result, detach. The clock is read once before
 * and once after: nothing in between is instrumented beyond what the guard
 * itself counts. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lab/clock.h"
#include "runners/internal.h"

int worker_smaps(const run_spec_t *spec, smaps_t *out, char *err, size_t errlen)
{
    if (!spec->workload->smaps)
        return 0;
    if (smaps_read(0, out) == 0)
        return 0;
    snprintf(err, errlen, "%s needs /proc/self/smaps_rollup (Linux 4.14+), which cannot be read: %s",
             spec->workload->name, strerror(errno));
    return -1;
}

int64_t worker_share(const run_spec_t *spec, int i)
{
    if (spec->workload->build_background != NULL)
        return i > 0 ? INT64_MAX : 0;
    return wl_share(spec->workload, spec->params, spec->size, spec->workers, i);
}

int worker_run(tstate_t *ts, const code_t *code, int64_t share, worker_result_t *out)
{
    const guard_ops_t *ops = ts->interp->ops;
    /* Only the counters: the rest of the thread state (its list link) may be
     * written by other threads under the interpreter lock meanwhile. */
    const gil_stats_t gil0 = ts->gil.stats;
    const tstate_counters_t count0 = ts->count;

    uint64_t t0 = clock_now_ns();
    ops->attach(ts);
    obj_t *arg = ops->int_new(ts, share);
    obj_t *res = arg != NULL ? ops->eval(ts, code, &arg, 1) : NULL;
    if (res != NULL)
        ops->decref(ts, res);
    ops->detach(ts);
    uint64_t t1 = clock_now_ns();
    if (ts->gil.trace != NULL)
        trace_record_at(ts->gil.trace, TRACE_EXIT, 0, t1);
    /* A stop request is answered by SystemExit, which ends a thread
     * quietly (threading ignores it): not an error. */
    out->stopped = (__atomic_fetch_and(&ts->eval_breaker, ~EB_ASYNC_EXC, __ATOMIC_RELAXED) & EB_ASYNC_EXC) != 0;

    out->run_s = clock_seconds(t1 - t0);
#define X(name) out->gil.name = ts->gil.stats.name - gil0.name;
    GIL_STATS_FIELDS(X)
#undef X
#define X(name, hot) out->count.name = ts->count.name - count0.name;
    TSTATE_COUNTERS(X)
#undef X
    if (res == NULL && !out->stopped) {
        snprintf(out->error, sizeof(out->error), "%s", ts->error[0] ? ts->error : "unknown error");
        return -1;
    }
    out->error[0] = '\0';
    return 0;
}
