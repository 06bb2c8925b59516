/* runners/threads.c: mode `threads`, the seed's two threading.Thread
 * objects: W pthreads share one interpreter (one heap, one guard).
 *
 * A crew of W threads goes through three gates:
 *
 *   start     every thread creates its own thread state (CPython's thread
 *             bootstrap does), is pinned if asked, and checks in; the main
 *             thread opens the gate once all W are there, so they start
 *             together (or cancels it if a thread could not be created, so
 *             that the error is reported instead of a hang);
 *   finished  a thread that has run its share deletes its thread state and
 *             checks out; when the last one has, the clock stops. That is
 *             what Thread.join() waits for in CPython 3.12 (the thread's
 *             tstate lock is released when its state is deleted), and the
 *             seed times start() to join();
 *             With a background (convoy), worker 0 is the lead: when it
 *             has run, it asks every other thread to stop, as
 *             PyThreadState_SetAsyncExc would (the crew keeps their thread
 *             states for that, under its mutex), and the client is told
 *             the server has gone;
 *   release   the threads then wait, outside the timed region, until the
 *             repeat's leak check: with per-thread heaps (mimalloc) the
 *             blocks a thread allocated can only be counted from that
 *             thread, and only once the main thread has dropped the globals
 *             that might still hold some. Each counts its own heap, adds
 *             the count to interp->thread_blocks and exits
 *             (threads_release).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lab/clock.h"
#include "runners/internal.h"

struct parked {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int arrived;                  /* checked in at the start gate */
    int start;                    /* 0 closed, 1 open, -1 cancelled */
    int finished;                 /* done, thread state deleted */
    int released;                 /* 1: count your heap and exit */
    int created;                  /* threads that exist */
    int lead_done;                /* worker 0 has run: stop the others */
    tstate_t **states;            /* each thread's state while it has one */
    pthread_t *tids;
    struct thread_arg *args;
};

typedef struct thread_arg {
    run_ctx_t *ctx;
    parked_t *crew;
    int index;
} thread_arg_t;

/* Wait on the crew's condition until *field reaches `value` (>=). */
static void crew_wait(parked_t *c, const int *field, int value)
{
    while (*field < value)
        GL_PTHREAD_CHECK(pthread_cond_wait(&c->cond, &c->mutex));
}

/* A worker checks in at the start gate; returns 1 to run, 0 if cancelled. */
static int crew_start(parked_t *c)
{
    GL_PTHREAD_CHECK(pthread_mutex_lock(&c->mutex));
    c->arrived++;
    GL_PTHREAD_CHECK(pthread_cond_broadcast(&c->cond));
    while (c->start == 0)
        GL_PTHREAD_CHECK(pthread_cond_wait(&c->cond, &c->mutex));
    int go = c->start > 0;
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&c->mutex));
    return go;
}

/* A worker checks out, then waits until the leak check lets it go. */
static void crew_finish_and_park(parked_t *c)
{
    GL_PTHREAD_CHECK(pthread_mutex_lock(&c->mutex));
    c->finished++;
    GL_PTHREAD_CHECK(pthread_cond_broadcast(&c->cond));
    crew_wait(c, &c->released, 1);
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&c->mutex));
}

/* Publish (ts) or withdraw (NULL) worker i's thread state; a thread that
 * arrives after the lead has finished is asked to stop at once. */
static void crew_register(parked_t *c, int i, tstate_t *ts)
{
    GL_PTHREAD_CHECK(pthread_mutex_lock(&c->mutex));
    c->states[i] = ts;
    if (ts != NULL && c->lead_done)
        worker_request_stop(ts);
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&c->mutex));
}

/* Worker 0 has run: stop the background workers. */
static void crew_lead_finished(parked_t *c)
{
    GL_PTHREAD_CHECK(pthread_mutex_lock(&c->mutex));
    c->lead_done = 1;
    for (int i = 1; i < c->created; i++)
        if (c->states[i] != NULL)
            worker_request_stop(c->states[i]);
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&c->mutex));
}

static void *thread_main(void *p)
{
    thread_arg_t *a = p;
    run_ctx_t *ctx = a->ctx;
    worker_result_t *r = &ctx->results[a->index];
    char pin_err[128] = "";

    tstate_t *ts = tstate_new(ctx->interp);
    if (ts != NULL) {
        ts->gil.trace = ctx->trace != NULL ? &ctx->trace[a->index] : NULL;
        crew_register(a->crew, a->index, ts);
    }
    int pinned = ctx->pin == NULL || pin_worker(ctx->pin, a->index, 0, pin_err, sizeof(pin_err)) == 0;
    /* Everyone checks in, even a thread that failed to set up: the gate
     * counts arrivals, not successes. */
    int go = crew_start(a->crew);
    if (ts == NULL || !pinned) {
        snprintf(r->error, sizeof(r->error), "%s", ts == NULL ? "out of memory for a thread state" : pin_err);
    } else if (!go) {
        snprintf(r->error, sizeof(r->error), "cancelled");
    } else {
        worker_run(ts, run_code_of(ctx, a->index), worker_share(ctx->spec, a->index), r);
    }
    if (ts != NULL) {
        crew_register(a->crew, a->index, NULL);
        tstate_delete(ts);
    }
    if (a->index == 0 && ctx->code_background != NULL) {
        crew_lead_finished(a->crew);
        run_lead_finished(ctx);
    }
    crew_finish_and_park(a->crew);

    heap_t *heap = &ctx->interp->heap;
    if (heap_blocks_per_thread(heap))
        __atomic_fetch_add(&ctx->interp->thread_blocks, heap_allocated_blocks(heap), __ATOMIC_RELAXED);
    return NULL;
}

static void crew_free(parked_t *c)
{
    GL_PTHREAD_CHECK(pthread_cond_destroy(&c->cond));
    GL_PTHREAD_CHECK(pthread_mutex_destroy(&c->mutex));
    free(c->tids);
    free(c->args);
    free(c->states);
    free(c);
}

int run_threads(run_ctx_t *ctx, run_sample_t *sample)
{
    int w = ctx->spec->workers;
    parked_t *crew = calloc(1, sizeof(*crew));
    if (crew == NULL || (crew->tids = calloc((size_t)w, sizeof(pthread_t))) == NULL ||
        (crew->args = calloc((size_t)w, sizeof(thread_arg_t))) == NULL ||
        (crew->states = calloc((size_t)w, sizeof(tstate_t *))) == NULL) {
        if (crew != NULL) {
            free(crew->tids);
            free(crew->args);
            free(crew);
        }
        snprintf(ctx->err, ctx->errlen, "out of memory for %d threads", w);
        return -1;
    }
    GL_PTHREAD_CHECK(pthread_mutex_init(&crew->mutex, NULL));
    GL_PTHREAD_CHECK(pthread_cond_init(&crew->cond, NULL));

    usage_t before, after, delta;
    usage_get(&before, 0);
    uint64_t t0 = clock_now_ns();
    int create_error = 0;
    for (; crew->created < w; crew->created++) {
        int i = crew->created;
        crew->args[i] = (thread_arg_t){.ctx = ctx, .crew = crew, .index = i};
        create_error = pthread_create(&crew->tids[i], NULL, thread_main, &crew->args[i]);
        if (create_error != 0)
            break;
    }
    GL_PTHREAD_CHECK(pthread_mutex_lock(&crew->mutex));
    if (create_error == 0)
        crew_wait(crew, &crew->arrived, w);
    crew->start = create_error == 0 ? 1 : -1;
    GL_PTHREAD_CHECK(pthread_cond_broadcast(&crew->cond));
    if (create_error == 0)
        run_workers_started(ctx);
    crew_wait(crew, &crew->finished, crew->created);
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&crew->mutex));
    uint64_t t1 = clock_now_ns();
    usage_get(&after, 0);
    usage_delta(&delta, &before, &after);
    ctx->parked = crew;

    if (create_error != 0) {
        snprintf(ctx->err, ctx->errlen, "cannot create thread %d of %d: %s", crew->created + 1, w,
                 strerror(create_error));
        return -1;
    }
    sample->wall_s = clock_seconds(t1 - t0);
    usage_add_to_sample(sample, &delta);
    for (int i = 0; i < w; i++) {
        if (ctx->results[i].error[0] != '\0') {
            snprintf(ctx->err, ctx->errlen, "worker %d: %s", i, ctx->results[i].error);
            return -1;
        }
    }
    return 0;
}

void threads_release(run_ctx_t *ctx)
{
    parked_t *crew = ctx->parked;
    if (crew == NULL)
        return;
    GL_PTHREAD_CHECK(pthread_mutex_lock(&crew->mutex));
    crew->released = 1;
    GL_PTHREAD_CHECK(pthread_cond_broadcast(&crew->cond));
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&crew->mutex));
    for (int i = 0; i < crew->created; i++)
        GL_PTHREAD_CHECK(pthread_join(crew->tids[i], NULL));
    crew_free(crew);
    ctx->parked = NULL;
}
