/* runners/fork.c: the child side of the forked runners (see fork.h). A
 * forked worker inherits a copy of the repeat process's interpreter,
 * including the globals built before the fork (copy-on-write, as
 * multiprocessing's fork start method gives), and runs with its own GIL. */
#define _GNU_SOURCE /* close_range */
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "runners/fork.h"

_Static_assert(sizeof(fork_msg_t) <= PIPE_BUF, "a worker's message must be one atomic pipe write");

int fork_child_bind_to_parent(pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        return -1;
    return getppid() == parent ? 0 : -1;
}

static int fork_cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

void fork_child_close_fds(const int *keep, int n)
{
    int sorted[8];
    if (n > 8)
        n = 8;
    memcpy(sorted, keep, (size_t)n * sizeof(int));
    qsort(sorted, (size_t)n, sizeof(int), fork_cmp_int);
    unsigned from = 3;
    for (int i = 0; i < n; i++) {
        if (sorted[i] < 3 || (unsigned)sorted[i] < from)
            continue;
        if ((unsigned)sorted[i] > from)
            close_range(from, (unsigned)sorted[i] - 1, 0);
        from = (unsigned)sorted[i] + 1;
    }
    close_range(from, UINT_MAX, 0);
}

/* Run one share in the child and fill r: the worker's own figures, its
 * GIL's switches, its heap's high-water mark and resource usage, and the
 * leak check of what the task allocated. */
static void fork_task(run_ctx_t *ctx, int64_t share, worker_result_t *r)
{
    interp_t *interp = ctx->interp;
    leak_probe_t before, after;
    leak_probe_take(interp, &before);
    uint64_t switches_before = gil_switches(&interp->gil);
    gc_mark_t gc_before;
    gc_mark(&interp->gc, &gc_before);
    if (interp->tracing)
        trace_reset_peak(&interp->tracer);
    int rc = worker_smaps(ctx->spec, &r->smaps_before, r->error, sizeof r->error);
    if (rc == 0)
        rc = worker_run(ctx->main_ts, run_code_of(ctx, r->index), share, r);
    if (rc == 0)
        rc = worker_smaps(ctx->spec, &r->smaps_after, r->error, sizeof r->error);
    heap_end_read(interp, &r->heap_end);
    if (interp->tracing) {
        size_t peak, peak_blocks;
        trace_get(&interp->tracer, NULL, &peak, NULL, &peak_blocks);
        r->traced_peak_bytes = (double)peak;
        r->traced_peak_blocks = (double)peak_blocks;
    }
    r->gil_switches = gil_switches(&interp->gil) - switches_before;
    gc_summarize(&interp->gc, &gc_before, &r->gc);
    if (rc == 0) {
        /* The cycles the task dropped are garbage the worker would keep
         * until its next collection: collect them (counting first, with
         * the collector off) so that the leak check sees only leaks. */
        ctx->interp->ops->attach(ctx->main_ts);
        r->gc_unreachable = interp_finalize(ctx->main_ts);
        ctx->interp->ops->detach(ctx->main_ts);
        leak_probe_take(interp, &after);
        leak_probe_check(&before, &after, r->error, sizeof r->error);
    }
    /* The high-water mark read after the run is the same after the
     * collection above, which only frees: one walk for both. */
    if (interp->heap.kind == HEAP_pymalloc)
        r->arena_bytes_peak = (uint64_t)r->heap_end.arenas_peak * pym_arena_size(interp->heap.pym);
    usage_get(&r->usage, 0);
}

/* The background worker's stop: SIGUSR1 from the repeat process sets the
 * asynchronous-exception bit, as a signal sets CPython's eval breaker
 * (_PyEval_SignalReceived): an atomic OR, safe in a handler. */
static tstate_t *fork_stop_ts;

static void fork_on_stop(int sig)
{
    (void)sig;
    worker_request_stop(fork_stop_ts);
}

static void fork_send(int fd, fork_msg_kind_t kind, fork_msg_t *msg)
{
    msg->kind = kind;
    if (pipe_write_all(fd, msg, sizeof *msg) < 0)
        _exit(3);   /* the repeat process has gone */
}

void fork_worker_main(run_ctx_t *ctx, int index, int task_fd, int result_fd, bool pool)
{
    fork_msg_t msg;
    memset(&msg, 0, sizeof msg);
    msg.result.index = index;
    interp_after_fork_child(ctx->interp, ctx->main_ts);
    ctx->main_ts->gil.trace = NULL;   /* only the repeat process's threads are traced */
    if (ctx->code_background != NULL) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = fork_on_stop;
        sigemptyset(&sa.sa_mask);
        fork_stop_ts = ctx->main_ts;
        sigaction(SIGUSR1, &sa, NULL);
    }
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &stop, NULL);   /* crew_fork blocked it */
    if (ctx->pin != NULL && pin_worker(ctx->pin, index, 1, msg.result.error, sizeof msg.result.error) < 0) {
        fork_send(result_fd, pool ? FORK_MSG_READY : FORK_MSG_RESULT, &msg);
        _exit(0);
    }
    if (pool)
        fork_send(result_fd, FORK_MSG_READY, &msg);
    int64_t share;
    while (pipe_read_all(task_fd, &share, sizeof share) == 0) {
        memset(&msg.result, 0, sizeof msg.result);
        msg.result.index = index;
        fork_task(ctx, share, &msg.result);
        fork_send(result_fd, FORK_MSG_RESULT, &msg);
        /* A `processes` worker ends with its task, unless the repeat
         * process wants to read its Pss first (--pss): then it waits for
         * the task pipe to close, as a pool's worker does. */
        if (!pool && !ctx->spec->pss)
            break;
    }
    _exit(0);   /* processes: one task; pool: the task pipe was closed */
}
