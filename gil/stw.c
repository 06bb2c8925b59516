/* gil/stw.c: thread states and stop-the-world pauses (see stw.h). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include "gil/stw.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lab/interp.h"

void stw_init(stw_t *stw)
{
    pthread_condattr_t attr;
    GL_PTHREAD_CHECK(pthread_mutex_init(&stw->mutex, NULL));
    GL_PTHREAD_CHECK(pthread_condattr_init(&attr));
    GL_PTHREAD_CHECK(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC));
    GL_PTHREAD_CHECK(pthread_cond_init(&stw->changed, &attr));
    GL_PTHREAD_CHECK(pthread_condattr_destroy(&attr));
    stw->requested = false;
    stw->countdown = 0;
    stw->requester = NULL;
}

void stw_destroy(stw_t *stw)
{
    GL_PTHREAD_CHECK(pthread_cond_destroy(&stw->changed));
    GL_PTHREAD_CHECK(pthread_mutex_destroy(&stw->mutex));
}

/* park_detached_threads: suspend every DETACHED thread, ask every ATTACHED
 * one to stop. interp->lock held. True when all have stopped. */
static bool stw_park_detached(interp_t *interp)
{
    stw_t *stw = &interp->stw;
    for (tstate_t *t = interp->threads; t != NULL; t = t->next) {
        if (t == stw->requester)
            continue;
        int state = __atomic_load_n(&t->state, __ATOMIC_RELAXED);
        if (state == TSTATE_DETACHED) {
            if (__atomic_compare_exchange_n(&t->state, &state, TSTATE_SUSPENDED, false, __ATOMIC_SEQ_CST,
                                            __ATOMIC_SEQ_CST))
                stw->countdown--;
        } else if (state == TSTATE_ATTACHED) {
            __atomic_fetch_or(&t->eval_breaker, EB_STW_REQUEST, __ATOMIC_RELAXED);
        }
    }
    return stw->countdown == 0;
}

void stw_stop(interp_t *interp, tstate_t *self)
{
    stw_t *stw = &interp->stw;
    /* One pause at a time. A thread that waits for another's pause to end
     * must let that pause happen: it is attached, and the other requester
     * counts on it to stop (CPython detaches while waiting for the lock). */
    for (;;) {
        int rc = pthread_mutex_trylock(&stw->mutex);
        if (rc == 0)
            break;
        if (rc != EBUSY)
            GL_PTHREAD_CHECK(rc);
        if (self != NULL && (__atomic_load_n(&self->eval_breaker, __ATOMIC_RELAXED) & EB_STW_REQUEST))
            tstate_suspend(self);
        else
            sched_yield();
    }
    GL_PTHREAD_CHECK(pthread_mutex_lock(&interp->lock));
    stw->requested = true;
    stw->requester = self;
    stw->countdown = 0;
    for (tstate_t *t = interp->threads; t != NULL; t = t->next)
        if (t != self)
            stw->countdown++;
    /* A thread that attaches between two rounds is asked again: wait a
     * millisecond at most between rounds, as CPython does. */
    while (!stw_park_detached(interp)) {
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_nsec += 1000000;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        int rc = pthread_cond_timedwait(&stw->changed, &interp->lock, &deadline);
        if (rc != ETIMEDOUT)
            GL_PTHREAD_CHECK(rc);
    }
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&interp->lock));
}

void stw_start(interp_t *interp, tstate_t *self)
{
    stw_t *stw = &interp->stw;
    GL_PTHREAD_CHECK(pthread_mutex_lock(&interp->lock));
    stw->requested = false;
    for (tstate_t *t = interp->threads; t != NULL; t = t->next)
        if (t != self)
            __atomic_store_n(&t->state, TSTATE_DETACHED, __ATOMIC_SEQ_CST);
    stw->requester = NULL;
    GL_PTHREAD_CHECK(pthread_cond_broadcast(&stw->changed));
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&interp->lock));
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&stw->mutex));
}

void stw_thread_unlinked(interp_t *interp, tstate_t *ts)
{
    stw_t *stw = &interp->stw;
    if (stw->requested && ts != stw->requester &&
        __atomic_load_n(&ts->state, __ATOMIC_RELAXED) != TSTATE_SUSPENDED && --stw->countdown == 0)
        GL_PTHREAD_CHECK(pthread_cond_broadcast(&stw->changed));
}

static void stw_fatal(const tstate_t *ts, const char *what)
{
    fprintf(stderr, "gil-lab: fatal: thread %lu %s\n", (unsigned long)ts->id, what);
    abort();
}

void tstate_attach_state(tstate_t *ts)
{
    for (;;) {
        int expected = TSTATE_DETACHED;
        if (__atomic_compare_exchange_n(&ts->state, &expected, TSTATE_ATTACHED, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST))
            return;
        if (expected != TSTATE_SUSPENDED)
            stw_fatal(ts, "attached twice");
        /* tstate_wait_attach: sleep until the pause puts us back in
         * DETACHED. */
        interp_t *interp = ts->interp;
        GL_PTHREAD_CHECK(pthread_mutex_lock(&interp->lock));
        while (__atomic_load_n(&ts->state, __ATOMIC_SEQ_CST) == TSTATE_SUSPENDED)
            GL_PTHREAD_CHECK(pthread_cond_wait(&interp->stw.changed, &interp->lock));
        GL_PTHREAD_CHECK(pthread_mutex_unlock(&interp->lock));
    }
}

void tstate_detach_state(tstate_t *ts)
{
    if (__atomic_load_n(&ts->state, __ATOMIC_RELAXED) != TSTATE_ATTACHED)
        stw_fatal(ts, "detached while not attached");
    __atomic_store_n(&ts->state, TSTATE_DETACHED, __ATOMIC_SEQ_CST);
}

void tstate_suspend(tstate_t *ts)
{
    interp_t *interp = ts->interp;
    __atomic_fetch_and(&ts->eval_breaker, ~EB_STW_REQUEST, __ATOMIC_RELAXED);
    GL_PTHREAD_CHECK(pthread_mutex_lock(&interp->lock));
    if (interp->stw.requested) {
        __atomic_store_n(&ts->state, TSTATE_SUSPENDED, __ATOMIC_SEQ_CST);
        if (--interp->stw.countdown == 0)
            GL_PTHREAD_CHECK(pthread_cond_broadcast(&interp->stw.changed));
    } else {
        /* The pause ended before we saw the request: nothing to do. */
        GL_PTHREAD_CHECK(pthread_mutex_unlock(&interp->lock));
        return;
    }
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&interp->lock));
    tstate_attach_state(ts);
}
