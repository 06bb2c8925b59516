/* runners/fork.c: the child side of the forked runners (see fork.h). A
 * forked child inherits a copy of the parent's interpreter, including the
 * globals built before the fork (copy-on-write, as multiprocessing's fork
 * start method gives), and runs with its own GIL. */
#define _GNU_SOURCE /* close_range */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runners/fork.h"

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

int fork_child_init(run_ctx_t *ctx, int index, worker_result_t *r)
{
    memset(r, 0, sizeof(*r));
    interp_after_fork_child(ctx->interp, ctx->main_ts);
    if (ctx->pin != NULL && pin_worker(ctx->pin, index, 1, r->error, sizeof(r->error)) < 0)
        return -1;
    return 0;
}

int fork_child_task(run_ctx_t *ctx, int64_t share, worker_result_t *r)
{
    interp_t *interp = ctx->interp;
    int64_t live_before = interp_live_objects(interp);
    uint64_t switches_before = gil_switches(&interp->gil);
    usage_t before, after;
    usage_get(&before, 0);
    int rc = worker_run(ctx->main_ts, ctx->code, share, r);
    usage_get(&after, 0);
    usage_delta(&r->usage, &before, &after);
    r->gil_switches = gil_switches(&interp->gil) - switches_before;
    r->leaked = interp_live_objects(interp) - live_before;
    if (interp->heap.kind == HEAP_pymalloc) {
        pym_stats_t st;
        pym_get_stats(interp->heap.pym, &st);
        r->heap_bytes_peak = st.bytes_peak;
    }
    return rc;
}

int fork_check_result(run_ctx_t *ctx, int index, const worker_result_t *r)
{
    if (r->error[0] != '\0') {
        snprintf(ctx->err, ctx->errlen, "worker %d: %s", index, r->error);
        return -1;
    }
    if (r->leaked != 0) {
        snprintf(ctx->err, ctx->errlen, "worker %d: leak check failed: %lld objects still alive",
                 index, (long long)r->leaked);
        return -1;
    }
    return 0;
}
