/* runners/processes.c: mode `processes`, the seed's multiprocessing.Process
 * (fork start method): W children forked per repeat, each with its own
 * interpreter copy and its own GIL, so they really run in parallel. A "go"
 * pipe is the start barrier: children block reading it until the parent has
 * forked them all. Results come back over one pipe per child. A child that
 * dies (killed, crashed) is reported with how it ended, never waited on for
 * ever: its pipe reads EOF. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab/clock.h"
#include "runners/fork.h"

static void child_main(run_ctx_t *ctx, int index, int go_fd, int result_fd)
{
    worker_result_t r;
    char go;
    if (fork_child_init(ctx, index, &r) < 0 || pipe_read_all(go_fd, &go, 1) < 0) {
        if (r.error[0] == '\0')
            snprintf(r.error, sizeof(r.error), "cancelled before start");
    } else {
        fork_child_task(ctx, worker_share(ctx->spec->size, ctx->spec->workers, index), &r);
    }
    _exit(pipe_write_all(result_fd, &r, sizeof(r)) == 0 ? 0 : 3);
}

int run_processes(run_ctx_t *ctx, run_sample_t *sample)
{
    int w = ctx->spec->workers;
    pid_t *pids = calloc((size_t)w, sizeof(*pids));
    int *fds = malloc((size_t)w * sizeof(*fds));
    int go[2] = {-1, -1};
    int forked = 0, rc = -1;
    if (pids == NULL || fds == NULL || pipe(go) < 0) {
        snprintf(ctx->err, ctx->errlen, "cannot set up %d processes: %s", w, strerror(errno));
        goto out;
    }

    usage_t self0, kids0, self1, kids1, dself, dkids;
    usage_get(&self0, 0);
    usage_get(&kids0, 1);
    uint64_t t0 = clock_now_ns();
    for (; forked < w; forked++) {
        int p[2];
        if (pipe(p) < 0)
            break;
        pid_t pid = fork();
        if (pid < 0) {
            close(p[0]);
            close(p[1]);
            break;
        }
        if (pid == 0) {
            int keep[2] = {go[0], p[1]};
            fork_child_close_fds(keep, 2);
            child_main(ctx, forked, go[0], p[1]);
        }
        close(p[1]);
        pids[forked] = pid;
        fds[forked] = p[0];
    }
    int fork_error = forked < w ? errno : 0;
    close(go[0]);
    go[0] = -1;
    if (fork_error == 0) {
        char start[RUN_MAX_WORKERS] = {0};   /* one byte per child opens the gate */
        pipe_write_all(go[1], start, (size_t)w);
    }
    close(go[1]);   /* with fork_error: EOF tells the children to give up */
    go[1] = -1;

    rc = 0;
    for (int i = 0; i < forked; i++) {
        if (pipe_read_all(fds[i], &ctx->results[i], sizeof(ctx->results[i])) < 0) {
            memset(&ctx->results[i], 0, sizeof(ctx->results[i]));
            snprintf(ctx->results[i].error, sizeof(ctx->results[i].error), "died before reporting");
        }
        close(fds[i]);
    }
    for (int i = 0; i < forked; i++) {
        int status;
        while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR)
            ;
        if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            char how[96];
            child_status_text(status, how, sizeof(how));
            snprintf(ctx->err, ctx->errlen, "worker %d (pid %d) %s", i, (int)pids[i], how);
            rc = -1;
        }
    }
    uint64_t t1 = clock_now_ns();
    usage_get(&self1, 0);
    usage_get(&kids1, 1);
    if (fork_error != 0) {
        snprintf(ctx->err, ctx->errlen, "cannot fork worker %d of %d: %s", forked + 1, w,
                 strerror(fork_error));
        rc = -1;
    }
    for (int i = 0; rc == 0 && i < w; i++)
        rc = fork_check_result(ctx, i, &ctx->results[i]);
    if (rc < 0)
        goto out;

    usage_delta(&dself, &self0, &self1);
    usage_delta(&dkids, &kids0, &kids1);
    sample->wall_s = clock_seconds(t1 - t0);
    dself.max_rss_kib = 0;   /* the parent only waits: peak RSS is the children's */
    usage_add_to_sample(sample, &dself);
    usage_add_to_sample(sample, &dkids);
out:
    if (go[0] >= 0)
        close(go[0]);
    if (go[1] >= 0)
        close(go[1]);
    free(pids);
    free(fds);
    return rc;
}
