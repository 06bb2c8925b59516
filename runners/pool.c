/* runners/pool.c: mode `pool`, the seed's multiprocessing.Pool: W workers
 * are forked once per row and then fed one task per worker per repeat over
 * pipes (a task is the share to count down; the answer is a
 * worker_result_t). Forking the pool is timed separately, as start-up, the
 * cost Pool(processes=W) pays before the seed's timer starts. Closing the
 * task pipe is the workers' signal to exit. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab/clock.h"
#include "runners/fork.h"

struct pool {
    int workers;
    pid_t *pids;
    int *task_fds;      /* parent writes tasks */
    int *result_fds;    /* parent reads results */
};

static void pool_child(run_ctx_t *ctx, int index, int task_fd, int result_fd)
{
    worker_result_t r;
    char ready = fork_child_init(ctx, index, &r) == 0 ? 'r' : 'x';
    if (pipe_write_all(result_fd, &ready, 1) < 0 || ready != 'r')
        _exit(3);
    int64_t share;
    while (pipe_read_all(task_fd, &share, sizeof(share)) == 0) {
        memset(&r, 0, sizeof(r));
        fork_child_task(ctx, share, &r);
        if (pipe_write_all(result_fd, &r, sizeof(r)) < 0)
            _exit(3);
    }
    _exit(0);   /* EOF on the task pipe: the pool is closing */
}

/* Reap every worker; if `err` is non-NULL and still empty, describe the
 * first one that did not exit cleanly. */
static void pool_reap(pool_t *pool, char *err, size_t errlen)
{
    for (int i = 0; i < pool->workers; i++) {
        if (pool->task_fds[i] >= 0)
            close(pool->task_fds[i]);
        if (pool->result_fds[i] >= 0)
            close(pool->result_fds[i]);
        pool->task_fds[i] = pool->result_fds[i] = -1;
    }
    for (int i = 0; i < pool->workers; i++) {
        int status;
        if (pool->pids[i] <= 0)
            continue;
        while (waitpid(pool->pids[i], &status, 0) < 0 && errno == EINTR)
            ;
        if (err != NULL && err[0] == '\0' && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            char how[96];
            child_status_text(status, how, sizeof(how));
            snprintf(err, errlen, "pool worker %d (pid %d) %s", i, (int)pool->pids[i], how);
        }
        pool->pids[i] = 0;
    }
}

static void pool_free(pool_t *pool)
{
    free(pool->pids);
    free(pool->task_fds);
    free(pool->result_fds);
    free(pool);
}

pool_t *pool_open(run_ctx_t *ctx, double *startup_s)
{
    int w = ctx->spec->workers;
    pool_t *pool = calloc(1, sizeof(*pool));
    if (pool == NULL)
        goto oom;
    pool->pids = calloc((size_t)w, sizeof(pid_t));
    pool->task_fds = malloc((size_t)w * sizeof(int));
    pool->result_fds = malloc((size_t)w * sizeof(int));
    if (pool->pids == NULL || pool->task_fds == NULL || pool->result_fds == NULL)
        goto oom;
    for (int i = 0; i < w; i++)
        pool->task_fds[i] = pool->result_fds[i] = -1;

    uint64_t t0 = clock_now_ns();
    for (; pool->workers < w; pool->workers++) {
        int i = pool->workers, task[2], result[2];
        if (pipe(task) < 0)
            goto fail_errno;
        if (pipe(result) < 0) {
            close(task[0]);
            close(task[1]);
            goto fail_errno;
        }
        pid_t pid = fork();
        if (pid < 0) {
            close(task[0]);
            close(task[1]);
            close(result[0]);
            close(result[1]);
            goto fail_errno;
        }
        if (pid == 0) {
            /* Earlier workers' parent ends (and any other open pool's) are
             * ours too after fork: keep only our own two ends, or those
             * workers would never see EOF on close. */
            int keep[2] = {task[0], result[1]};
            fork_child_close_fds(keep, 2);
            pool_child(ctx, i, task[0], result[1]);
        }
        close(task[0]);
        close(result[1]);
        pool->pids[i] = pid;
        pool->task_fds[i] = task[1];
        pool->result_fds[i] = result[0];
    }
    for (int i = 0; i < w; i++) {
        char ready;
        if (pipe_read_all(pool->result_fds[i], &ready, 1) < 0 || ready != 'r') {
            snprintf(ctx->err, ctx->errlen, "pool worker %d failed to start", i);
            pool_reap(pool, ctx->err, ctx->errlen);
            pool_free(pool);
            return NULL;
        }
    }
    *startup_s = clock_seconds(clock_now_ns() - t0);
    return pool;

fail_errno:
    snprintf(ctx->err, ctx->errlen, "cannot start pool worker %d of %d: %s", pool->workers + 1, w,
             strerror(errno));
    pool_reap(pool, NULL, 0);
    pool_free(pool);
    return NULL;
oom:
    snprintf(ctx->err, ctx->errlen, "out of memory for a pool of %d", w);
    if (pool != NULL)
        pool_free(pool);
    return NULL;
}

int pool_run(pool_t *pool, run_ctx_t *ctx, run_sample_t *sample)
{
    int w = pool->workers;
    usage_t self0, self1, dself;
    usage_get(&self0, 0);
    uint64_t t0 = clock_now_ns();
    for (int i = 0; i < w; i++) {
        int64_t share = worker_share(ctx->spec->size, w, i);
        if (pipe_write_all(pool->task_fds[i], &share, sizeof(share)) < 0)
            goto dead;
    }
    for (int i = 0; i < w; i++)
        if (pipe_read_all(pool->result_fds[i], &ctx->results[i], sizeof(ctx->results[i])) < 0)
            goto dead;
    uint64_t t1 = clock_now_ns();
    usage_get(&self1, 0);
    usage_delta(&dself, &self0, &self1);

    sample->wall_s = clock_seconds(t1 - t0);
    dself.max_rss_kib = 0;   /* the parent only waits: peak RSS is the workers' */
    usage_add_to_sample(sample, &dself);
    for (int i = 0; i < w; i++) {
        usage_add_to_sample(sample, &ctx->results[i].usage);
        if (fork_check_result(ctx, i, &ctx->results[i]) < 0)
            return -1;
    }
    return 0;

dead:
    /* A worker went away mid-task: reap them all to say how it ended. */
    ctx->err[0] = '\0';
    pool_reap(pool, ctx->err, ctx->errlen);
    if (ctx->err[0] == '\0')
        snprintf(ctx->err, ctx->errlen, "a pool worker stopped answering");
    return -1;
}

void pool_close(pool_t *pool)
{
    if (pool == NULL)
        return;
    pool_reap(pool, NULL, 0);
    pool_free(pool);
}
