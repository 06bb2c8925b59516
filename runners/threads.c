/* runners/threads.c: mode `threads`, the seed's two threading.Thread
 * objects: W pthreads share one interpreter (one heap, one guard). Each
 * thread creates its own thread state (CPython's thread bootstrap does), is
 * pinned if asked, waits at a start gate until all W are there, and runs
 * its share. Wall
 * time spans creating, running and joining, as the seed measures it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lab/clock.h"
#include "runners/internal.h"

/* The start gate: every worker checks in and waits; the main thread opens
 * the gate once all W have checked in, so they start together (a barrier),
 * or cancels it if a thread could not be created, so that nobody waits for
 * ever and the error is reported instead of a hang. */
typedef struct gate {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int arrived;
    int state;                        /* 0 closed, 1 open, -1 cancelled */
} gate_t;

typedef struct thread_arg {
    run_ctx_t *ctx;
    gate_t *gate;
    int index;
} thread_arg_t;

/* A worker checks in; returns 1 to run, 0 if the run was cancelled. */
static int gate_enter(gate_t *g)
{
    GL_PTHREAD_CHECK(pthread_mutex_lock(&g->mutex));
    g->arrived++;
    GL_PTHREAD_CHECK(pthread_cond_broadcast(&g->cond));
    while (g->state == 0)
        GL_PTHREAD_CHECK(pthread_cond_wait(&g->cond, &g->mutex));
    int go = g->state > 0;
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&g->mutex));
    return go;
}

/* The main thread opens (after all `n` arrived) or cancels the gate. */
static void gate_release(gate_t *g, int n, int open)
{
    GL_PTHREAD_CHECK(pthread_mutex_lock(&g->mutex));
    while (open && g->arrived < n)
        GL_PTHREAD_CHECK(pthread_cond_wait(&g->cond, &g->mutex));
    g->state = open ? 1 : -1;
    GL_PTHREAD_CHECK(pthread_cond_broadcast(&g->cond));
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&g->mutex));
}

static void *thread_main(void *p)
{
    thread_arg_t *a = p;
    run_ctx_t *ctx = a->ctx;
    worker_result_t *r = &ctx->results[a->index];
    char pin_err[128] = "";

    tstate_t *ts = tstate_new(ctx->interp);
    int pinned = ctx->pin == NULL || pin_worker(ctx->pin, a->index, 0, pin_err, sizeof(pin_err)) == 0;
    /* Everyone checks in, even a thread that failed to set up: the gate
     * counts arrivals, not successes. */
    int go = gate_enter(a->gate);
    if (ts == NULL || !pinned) {
        snprintf(r->error, sizeof(r->error), "%s", ts == NULL ? "out of memory for a thread state" : pin_err);
    } else if (!go) {
        snprintf(r->error, sizeof(r->error), "cancelled");
    } else {
        worker_run(ts, ctx->code, worker_share(ctx->spec->size, ctx->spec->workers, a->index), r);
    }
    if (ts != NULL)
        tstate_delete(ts);
    return NULL;
}

int run_threads(run_ctx_t *ctx, run_sample_t *sample)
{
    int w = ctx->spec->workers;
    pthread_t *tids = calloc((size_t)w, sizeof(*tids));
    thread_arg_t *args = calloc((size_t)w, sizeof(*args));
    gate_t gate = {.arrived = 0, .state = 0};
    int started = 0, rc = -1;
    if (tids == NULL || args == NULL) {
        snprintf(ctx->err, ctx->errlen, "out of memory for %d threads", w);
        goto out;
    }
    GL_PTHREAD_CHECK(pthread_mutex_init(&gate.mutex, NULL));
    GL_PTHREAD_CHECK(pthread_cond_init(&gate.cond, NULL));

    usage_t before, after, delta;
    usage_get(&before, 0);
    uint64_t t0 = clock_now_ns();
    int create_error = 0;
    for (; started < w; started++) {
        args[started] = (thread_arg_t){.ctx = ctx, .gate = &gate, .index = started};
        create_error = pthread_create(&tids[started], NULL, thread_main, &args[started]);
        if (create_error != 0)
            break;
    }
    gate_release(&gate, w, create_error == 0);
    for (int i = 0; i < started; i++)
        GL_PTHREAD_CHECK(pthread_join(tids[i], NULL));
    uint64_t t1 = clock_now_ns();
    usage_get(&after, 0);
    usage_delta(&delta, &before, &after);
    GL_PTHREAD_CHECK(pthread_cond_destroy(&gate.cond));
    GL_PTHREAD_CHECK(pthread_mutex_destroy(&gate.mutex));
    if (create_error != 0) {
        snprintf(ctx->err, ctx->errlen, "cannot create thread %d of %d: %s", started + 1, w,
                 strerror(create_error));
        goto out;
    }

    sample->wall_s = clock_seconds(t1 - t0);
    usage_add_to_sample(sample, &delta);
    rc = 0;
    for (int i = 0; i < w; i++) {
        if (ctx->results[i].error[0] != '\0') {
            snprintf(ctx->err, ctx->errlen, "worker %d: %s", i, ctx->results[i].error);
            rc = -1;
            break;
        }
    }
out:
    free(tids);
    free(args);
    return rc;
}
