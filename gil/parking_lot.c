/* gil/parking_lot.c: the parking lot (see parking_lot.h). Each function
 * names the CPython function it models (Python/parking_lot.c). */
#include "gil/parking_lot.h"

#include <pthread.h>
#include <stddef.h>

#include "gil/gil.h"   /* GL_PTHREAD_CHECK */

#define PARKING_BUCKETS 257   /* NUM_BUCKETS: a prime, so addresses spread */

typedef struct waiter {
    struct waiter *next;
    const void *addr;
    void *park_arg;
    /* _PySemaphore: one waiter, one wake-up */
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    bool woken;
} waiter_t;

typedef struct bucket {
    pthread_mutex_t mutex;
    waiter_t *head, *tail;    /* FIFO of every waiter hashed here */
    int nwaiters;
} bucket_t;

static bucket_t buckets[PARKING_BUCKETS] = {
    [0 ... PARKING_BUCKETS - 1] = {.mutex = PTHREAD_MUTEX_INITIALIZER},
};

static bucket_t *bucket_of(const void *addr)
{
    return &buckets[(uintptr_t)addr % PARKING_BUCKETS];
}

/* _PyParkingLot_Park, without a timeout. */
bool parking_park(const uint8_t *addr, uint8_t expected, void *park_arg)
{
    bucket_t *b = bucket_of(addr);
    waiter_t w = {.addr = addr, .park_arg = park_arg};

    GL_PTHREAD_CHECK(pthread_mutex_lock(&b->mutex));
    if (__atomic_load_n(addr, __ATOMIC_RELAXED) != expected) {
        GL_PTHREAD_CHECK(pthread_mutex_unlock(&b->mutex));
        return false;   /* Py_PARK_AGAIN */
    }
    GL_PTHREAD_CHECK(pthread_mutex_init(&w.mutex, NULL));
    GL_PTHREAD_CHECK(pthread_cond_init(&w.cond, NULL));
    if (b->tail != NULL)
        b->tail->next = &w;
    else
        b->head = &w;
    b->tail = &w;
    b->nwaiters++;
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&b->mutex));

    GL_PTHREAD_CHECK(pthread_mutex_lock(&w.mutex));
    while (!w.woken)
        GL_PTHREAD_CHECK(pthread_cond_wait(&w.cond, &w.mutex));
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&w.mutex));
    GL_PTHREAD_CHECK(pthread_cond_destroy(&w.cond));
    GL_PTHREAD_CHECK(pthread_mutex_destroy(&w.mutex));
    return true;   /* Py_PARK_OK */
}

/* dequeue(): the oldest waiter on addr, unlinked; NULL if none. */
static waiter_t *bucket_dequeue(bucket_t *b, const void *addr)
{
    waiter_t *prev = NULL;
    for (waiter_t *w = b->head; w != NULL; prev = w, w = w->next) {
        if (w->addr != addr)
            continue;
        if (prev != NULL)
            prev->next = w->next;
        else
            b->head = w->next;
        if (b->tail == w)
            b->tail = prev;
        b->nwaiters--;
        return w;
    }
    return NULL;
}

/* _PyParkingLot_Unpark. Like CPython, "more waiters" counts the whole
 * bucket: a false yes only costs the next unlock a trip here. */
void parking_unpark(const void *addr, parking_unpark_fn fn, void *arg)
{
    bucket_t *b = bucket_of(addr);
    GL_PTHREAD_CHECK(pthread_mutex_lock(&b->mutex));
    waiter_t *w = bucket_dequeue(b, addr);
    fn(w != NULL ? w->park_arg : NULL, arg, b->nwaiters > 0);
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&b->mutex));
    if (w != NULL) {
        /* _PySemaphore_Wakeup. The waiter's stack frame stays valid until
         * it has seen `woken` under its own mutex. */
        GL_PTHREAD_CHECK(pthread_mutex_lock(&w->mutex));
        w->woken = true;
        GL_PTHREAD_CHECK(pthread_cond_signal(&w->cond));
        GL_PTHREAD_CHECK(pthread_mutex_unlock(&w->mutex));
    }
}

/* _PyParkingLot_AfterFork. */
void parking_after_fork_child(void)
{
    for (int i = 0; i < PARKING_BUCKETS; i++) {
        GL_PTHREAD_CHECK(pthread_mutex_init(&buckets[i].mutex, NULL));
        buckets[i].head = buckets[i].tail = NULL;
        buckets[i].nwaiters = 0;
    }
}
