/* runners/fork.h: the child side shared by every forked process of the lab:
 * the repeat process (runner.c) and the workers of `processes` and `pool`
 * (processes.c). */
#ifndef GL_RUNNERS_FORK_H
#define GL_RUNNERS_FORK_H

#include <stdbool.h>
#include <sys/types.h>

#include "runners/internal.h"

/* In any child, first thing after fork: die with the parent. The child asks
 * for SIGKILL when the thread that forked it exits (PR_SET_PDEATHSIG), then
 * checks that the parent has not already gone between fork and prctl (it
 * would be reparented, and the request would never fire). Returns 0, or -1
 * when the parent is gone: the child must _exit at once. */
int fork_child_bind_to_parent(pid_t parent);

/* In the child, right after fork: close every inherited descriptor but
 * stdin/stdout/stderr and the `n` (at most 8) in `keep`. Cannot fail. */
void fork_child_close_fds(const int *keep, int n);

/* One message from a worker to the repeat process, on the pipe all the
 * workers share. A write of at most PIPE_BUF bytes to a pipe is atomic, so
 * the messages of several workers never interleave. */
typedef enum fork_msg_kind { FORK_MSG_READY, FORK_MSG_RESULT } fork_msg_kind_t;

typedef struct fork_msg {
    fork_msg_kind_t kind;   /* READY: a pool worker is up; RESULT: a task is done */
    worker_result_t result; /* result.index says which worker */
} fork_msg_t;

/* The body of a forked worker: set up (its own GIL, pinning), say READY
 * (pool only), then run tasks read from task_fd, each a share to count
 * down, answering each with a RESULT on result_fd, until the task pipe
 * ends (pool) or after one task (processes). Never returns. */
void fork_worker_main(run_ctx_t *ctx, int index, int task_fd, int result_fd, bool pool)
    __attribute__((noreturn));

#endif
