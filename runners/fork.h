/* runners/fork.h: the child side shared by `processes` and `pool`: what a
 * freshly forked worker does before and after running bytecode. */
#ifndef GL_RUNNERS_FORK_H
#define GL_RUNNERS_FORK_H

#include "runners/internal.h"

/* In the child, right after fork: close every inherited descriptor but
 * stdin/stdout/stderr and the `n` in `keep`. Another row's pool may be open
 * (--interleave): holding a copy of its pipes would keep its workers from
 * ever seeing the end of their task pipe. Cannot fail. */
void fork_child_close_fds(const int *keep, int n);

/* In the child, right after fork: re-create the interpreter's locks (its
 * own GIL from now on) and pin the process if asked. Returns 0, or -1 with
 * r->error set. */
int fork_child_init(run_ctx_t *ctx, int index, worker_result_t *r);

/* In the child: run one share and fill `r`, including the leak check and
 * the child's own GIL switches and heap peak. Returns 0, or -1 with
 * r->error set. */
int fork_child_task(run_ctx_t *ctx, int64_t share, worker_result_t *r);

/* In the parent: fold the workers' results into the sample's GIL/BRC
 * counters is done by runner.c; this checks a child's reported error and
 * leak. Returns 0, or -1 with ctx->err set. */
int fork_check_result(run_ctx_t *ctx, int index, const worker_result_t *r);

#endif
