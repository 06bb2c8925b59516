/* runners/processes.c: the two forked modes, which differ only in what the
 * clock covers, as in the seed notebook:
 *
 *   processes  multiprocessing.Process (fork start method): the timer
 *              starts before W workers are forked and stops once all have
 *              been joined: p.start() ... p.join().
 *   pool       multiprocessing.Pool(W): the W workers are forked before the
 *              timer (their start-up, until each has said it is ready, is
 *              the startup_s column); the timer covers handing them the
 *              tasks, collecting the results, pool.close() and pool.join(),
 *              exactly the region the seed times. A fresh pool per repeat,
 *              as the seed makes one.
 *
 * Each worker has its own copy of the interpreter and its own GIL, so they
 * really run in parallel. Workers and the repeat process talk over two
 * pipes that all the workers share, whatever W is: tasks go down one (a
 * share to count down; closing it is the pool's "close"), messages come
 * back up the other (fork.h: one atomic write each). So a run needs the
 * same four descriptors for 2 workers or 1024.
 *
 * A worker that dies (killed, crashed) cannot report; the repeat process
 * notices because the result pipe stays silent while that worker is gone,
 * checks how it ended, and reports it ("worker 1 (pid N) killed by signal
 * 9"), stopping the others. Nothing waits for ever.
 *
 * With a background (convoy) only workers 1..W-1 are forked: they spin
 * while worker 0, the server, runs in the repeat process (run_lead_here).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab/clock.h"
#include "runners/fork.h"

/* How long the result pipe may stay silent before the workers are checked
 * for one that died. It bounds how late a death is noticed, never a
 * measurement: data wakes the poll at once. */
#define FORKED_SILENCE_MS 50

typedef struct crew {
    run_ctx_t *ctx;
    bool pool;
    int first;             /* worker index of child 0: 1 when the repeat
                              process runs worker 0 itself (a background) */
    int workers, forked;   /* children to fork, children forked */
    pid_t *pids;
    int *status;           /* wait status once reaped */
    bool *reaped;
    int *heard;            /* messages from each worker in this phase */
    int task_fd;           /* write end */
    int result_fd;         /* read end */
} crew_t;

/* Reap worker i if it has ended (wait = block for it). */
static void crew_reap(crew_t *c, int i, bool wait)
{
    if (c->reaped[i])
        return;
    pid_t r;
    while ((r = waitpid(c->pids[i], &c->status[i], wait ? 0 : WNOHANG)) < 0 && errno == EINTR)
        ;
    if (r == c->pids[i])
        c->reaped[i] = true;
}

/* Whether worker i may have ended by now without anything being wrong: a
 * `processes` worker exits once it has sent its result. */
static bool crew_may_have_ended(const crew_t *c, int i, fork_msg_kind_t kind)
{
    return !c->pool && kind == FORK_MSG_RESULT && c->heard[i] > 0;
}

/* Receive `kind` messages: a READY from every worker, or one RESULT per
 * task. Results are stored in the order they arrive: in a pool, as in a
 * multiprocessing.Pool, whichever worker is free takes the next task, so a
 * worker may run two tasks while another runs none (this happens only with
 * tasks shorter than a worker's start). Returns 0, or -1 with ctx->err set
 * (a worker failed, died, or sent nonsense). */
static int crew_collect(crew_t *c, fork_msg_kind_t kind)
{
    run_ctx_t *ctx = c->ctx;
    int dead = -1;
    memset(c->heard, 0, (size_t)c->workers * sizeof *c->heard);
    for (int got = 0; got < c->forked && dead < 0;) {
        struct pollfd pfd = {.fd = c->result_fd, .events = POLLIN};
        int n = poll(&pfd, 1, FORKED_SILENCE_MS);
        if (n < 0 && errno == EINTR)
            continue;
        if (n > 0) {
            fork_msg_t msg;
            if (pipe_read_all(c->result_fd, &msg, sizeof msg) < 0) {
                dead = 0;   /* every worker has gone: find out how below */
                break;
            }
            int i = msg.result.index - c->first;
            if (i < 0 || i >= c->forked || (msg.kind != kind && msg.result.error[0] == '\0') ||
                (kind == FORK_MSG_READY && c->heard[i] > 0)) {
                snprintf(ctx->err, ctx->errlen, "worker %d sent an unexpected message", msg.result.index);
                return -1;
            }
            c->heard[i]++;
            ctx->results[c->first + got++] = msg.result;
            if (msg.result.error[0] != '\0') {
                snprintf(ctx->err, ctx->errlen, "worker %d: %s", msg.result.index, msg.result.error);
                return -1;
            }
            continue;
        }
        /* Silence: has a worker ended that should not have? Its message,
         * had it sent one, would be in the pipe: look once more before
         * saying it died. */
        for (int i = 0; i < c->forked && dead < 0; i++) {
            crew_reap(c, i, false);
            if (c->reaped[i] && !crew_may_have_ended(c, i, kind) && poll(&pfd, 1, 0) == 0)
                dead = i;
        }
    }
    if (dead < 0)
        return 0;
    for (int i = 0; i < c->forked; i++) {
        if (crew_may_have_ended(c, i, kind))
            continue;
        crew_reap(c, i, i == dead);
        if (!c->reaped[i])
            continue;
        char how[96];
        child_status_text(c->status[i], how, sizeof how);
        snprintf(ctx->err, ctx->errlen, "worker %d (pid %d) %s before reporting", c->first + i,
                 (int)c->pids[i], how);
        return -1;
    }
    snprintf(ctx->err, ctx->errlen, "the workers stopped answering");
    return -1;
}

/* --pss: with every worker done but still alive (waiting for the task
 * pipe to close), read each one's Pss and the repeat process's own at the
 * same moment, so that the pages they share are divided among all of
 * them once. Inside the timed region: --pss costs a page-table walk per
 * process (the README says so). Returns 0, or -1 with ctx->err set. */
static int crew_pss(crew_t *c, run_sample_t *sample)
{
    smaps_t m;
    if (smaps_read(0, &m) < 0) {
        snprintf(c->ctx->err, c->ctx->errlen, "--pss: cannot read /proc/self/smaps_rollup: %s", strerror(errno));
        return -1;
    }
    sample->pss_sum_kib = m.pss_kib;
    for (int i = 0; i < c->forked; i++) {
        if (smaps_read(c->pids[i], &m) < 0) {
            snprintf(c->ctx->err, c->ctx->errlen, "--pss: cannot read the smaps_rollup of worker %d (pid %d): %s",
                     i, (int)c->pids[i], strerror(errno));
            return -1;
        }
        sample->pss_sum_kib += m.pss_kib;
    }
    return 0;
}

/* Close the task pipe (the pool's close()) and reap every worker (join()).
 * With `kill`, stop them first: the run has failed. Returns 0, or -1 with
 * ctx->err set when a worker did not exit cleanly (err is kept if set). */
static int crew_join(crew_t *c, bool kill_them)
{
    int rc = 0;
    if (c->task_fd >= 0)
        close(c->task_fd);
    c->task_fd = -1;
    for (int i = 0; kill_them && i < c->forked; i++)
        if (!c->reaped[i])
            kill(c->pids[i], SIGKILL);
    for (int i = 0; i < c->forked; i++) {
        crew_reap(c, i, true);
        int st = c->status[i];
        if (!kill_them && rc == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            char how[96];
            child_status_text(st, how, sizeof how);
            snprintf(c->ctx->err, c->ctx->errlen, "worker %d (pid %d) %s", c->first + i, (int)c->pids[i], how);
            rc = -1;
        }
    }
    if (c->result_fd >= 0)
        close(c->result_fd);
    c->result_fd = -1;
    return rc;
}

static void crew_free(crew_t *c)
{
    free(c->pids);
    free(c->status);
    free(c->reaped);
    free(c->heard);
}

/* Fork the workers. Returns 0, or -1 with ctx->err set (those forked are
 * left for crew_join). */
static int crew_fork(crew_t *c)
{
    int task[2], result[2];
    pid_t parent = getpid();
    if (pipe(task) < 0)
        goto fail;
    if (pipe(result) < 0) {
        close(task[0]);
        close(task[1]);
        goto fail;
    }
    c->task_fd = task[1];
    c->result_fd = result[0];
    /* A background worker must not die of a stop that comes before it has
     * installed its handler: it is born with SIGUSR1 blocked. */
    sigset_t stop, saved;
    sigemptyset(&stop);
    sigaddset(&stop, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &stop, &saved);
    for (; c->forked < c->workers; c->forked++) {
        pid_t pid = fork();
        if (pid < 0)
            break;
        if (pid == 0) {
            if (fork_child_bind_to_parent(parent) < 0)
                _exit(3);
            int keep[2] = {task[0], result[1]};
            fork_child_close_fds(keep, 2);
            fork_worker_main(c->ctx, c->first + c->forked, task[0], result[1], c->pool);
        }
        c->pids[c->forked] = pid;
        if (c->ctx->sampler != NULL)
            memtrace_add_child(c->ctx->sampler, pid);
    }
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    close(task[0]);
    close(result[1]);
    if (c->forked == c->workers)
        return 0;
    snprintf(c->ctx->err, c->ctx->errlen, "cannot fork worker %d of %d: %s", c->first + c->forked + 1,
             c->first + c->workers, strerror(fork_errno));
    return -1;
fail:
    snprintf(c->ctx->err, c->ctx->errlen, "cannot create the workers' pipes: %s", strerror(errno));
    return -1;
}

/* Hand every worker its share (the seed's apply_async / Process args). */
static int crew_send_tasks(crew_t *c)
{
    for (int i = c->first; i < c->first + c->workers; i++) {
        int64_t share = worker_share(c->ctx->spec, i);
        if (pipe_write_all(c->task_fd, &share, sizeof share) < 0) {
            snprintf(c->ctx->err, c->ctx->errlen, "cannot hand out the tasks: %s", strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* A workload with a background (convoy): worker 0 runs here, in the
 * repeat process, alone in its interpreter, while the forked workers spin;
 * when it is done they are stopped with SIGUSR1 (fork.c turns it into the
 * same asynchronous stop a thread gets). */
static int run_lead_here(crew_t *c)
{
    run_ctx_t *ctx = c->ctx;
    int rc = worker_run(ctx->main_ts, ctx->code, worker_share(ctx->spec, 0), &ctx->results[0]);
    run_lead_finished(ctx);
    for (int i = 0; i < c->forked; i++)
        kill(c->pids[i], SIGUSR1);
    if (rc < 0)
        snprintf(ctx->err, ctx->errlen, "worker 0: %s", ctx->results[0].error);
    return rc;
}

static int run_forked(run_ctx_t *ctx, run_sample_t *sample, bool pool)
{
    int first = ctx->code_background != NULL ? 1 : 0;
    int w = ctx->spec->workers - first;
    crew_t c = {.ctx = ctx, .pool = pool, .first = first, .workers = w, .task_fd = -1, .result_fd = -1};
    c.pids = calloc((size_t)w, sizeof *c.pids);
    c.status = calloc((size_t)w, sizeof *c.status);
    c.reaped = calloc((size_t)w, sizeof *c.reaped);
    c.heard = calloc((size_t)w, sizeof *c.heard);
    if (c.pids == NULL || c.status == NULL || c.reaped == NULL || c.heard == NULL) {
        snprintf(ctx->err, ctx->errlen, "out of memory for %d workers", w);
        crew_free(&c);
        return -1;
    }

    /* CPU: the repeat process over the timed region, and every worker
     * from its fork to its end (a pool's start-up included). */
    usage_t self0, kids0, self1, kids1, d;
    usage_get(&kids0, 1);
    usage_get(&self0, 0);
    uint64_t t0 = clock_now_ns();
    int rc = crew_fork(&c);
    if (rc == 0 && pool) {
        rc = crew_collect(&c, FORK_MSG_READY);
        uint64_t ready = clock_now_ns();
        sample->startup_s = clock_seconds(ready - t0);
        t0 = ready;
        usage_get(&self0, 0);
    }
    if (rc == 0)
        rc = crew_send_tasks(&c);
    if (rc == 0)
        run_workers_started(ctx);
    if (rc == 0 && first)
        rc = run_lead_here(&c);
    if (rc == 0)
        rc = crew_collect(&c, FORK_MSG_RESULT);
    if (rc == 0 && ctx->spec->pss)
        rc = crew_pss(&c, sample);
    int joined = crew_join(&c, rc < 0);
    uint64_t t1 = clock_now_ns();
    usage_get(&self1, 0);
    usage_get(&kids1, 1);
    crew_free(&c);
    if (rc < 0 || joined < 0)
        return -1;

    sample->wall_s = clock_seconds(t1 - t0);
    usage_delta(&d, &self0, &self1);
    usage_add_to_sample(sample, &d);
    usage_delta(&d, &kids0, &kids1);
    usage_add_to_sample(sample, &d);
    return 0;
}

int run_processes(run_ctx_t *ctx, run_sample_t *sample)
{
    return run_forked(ctx, sample, false);
}

int run_pool(run_ctx_t *ctx, run_sample_t *sample)
{
    return run_forked(ctx, sample, true);
}
