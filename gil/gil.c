/* gil/gil.c: the global interpreter lock, after CPython's "new GIL".
 *
 * THE PROTOCOL
 *
 * The GIL itself is one int, `locked`. Changing it needs `mutex`; a thread
 * that finds it set sleeps on `cond`. Waiting is not passive: a waiter sleeps
 * for at most one switch interval, and if the interval ran out while the
 * same thread kept the GIL (the switch counter did not move), it sets the
 * drop bit in the holder's eval breaker. The holder notices the bit at its
 * next poll and gives the GIL away. Time runs downwards:
 *
 *   A (holder)                                 B (waiter)
 *   ==========                                 ==========
 *   holds the GIL; polls its eval breaker      gil_take: locked == 1
 *   every few instructions                     seen = switch_number
 *      |                                       timed wait on cond ........
 *      |                                          .   one switch interval
 *      |                                          .   (default 5 ms)
 *      |                                       timed out, locked == 1 and
 *      |                                       switch_number == seen:
 *      |   <------- drop request ------------- OR drop_bit into A's breaker
 *   poll sees drop_bit                         (drop_requests++), wait again
 *   gil_yield (forced_drops++)                    .
 *   gil_drop: locked = 0, signal cond  ------> wakes: locked == 0
 *   the drop bit was set, so                   locked = 1, holder = B,
 *   FORCE_SWITCHING: wait on switch_cond       switch_number++
 *   while holder == A                          broadcast switch_cond,
 *      |   <------- forced switch ------------ clear B's own drop bit
 *   holder != A: clear own drop bit            runs; polls its breaker ...
 *   gil_take: locked == 1, timed wait ...
 *   (the roles are now swapped)
 *
 * Without the forced switch, A would return from gil_drop, call gil_take,
 * find the mutex free and `locked` clear and take the GIL back long before
 * the kernel has even scheduled B: the waiter would keep timing out while
 * the holder keeps winning. Two CPU-bound threads, time running right:
 *
 *   A  ####################################|###|~~~|..................|####
 *   B  ....................................|...|...|##################|....
 *      <---------- one interval ---------->1   2   3                  4
 *
 *   1  B's timed wait runs out with no switch: it sets A's drop bit
 *   2  A's next poll sees the bit: gil_yield -> gil_drop, and A waits (~)
 *      for the switch instead of taking the GIL straight back
 *   3  B wakes and takes the GIL; A returns and queues in gil_take (.)
 *   4  one interval later A asks B in turn, and the roles swap
 *
 *   #  holds the GIL    .  waits in gil_take    ~  waits in gil_drop
 *
 * WHICH CPYTHON FUNCTION EACH ONE MIRRORS (Python/ceval_gil.c)
 *
 *   gil_init               create_gil
 *   gil_destroy            destroy_gil
 *   gil_take               take_gil (the FORCE_SWITCHING block included)
 *   gil_drop               drop_gil (the FORCE_SWITCHING block included)
 *   gil_yield              the GIL-drop branch of the eval-breaker handler
 *                          (eval_frame_handle_pending up to 3.11,
 *                          _Py_HandlePending from 3.12): drop_gil + take_gil
 *   gil_reinit_after_fork  _PyEval_ReInitThreads after fork(): recreate the
 *                          GIL and take it for the surviving thread
 *   drop bit               SET_GIL_DROP_REQUEST; from 3.13 the request is a
 *                          bit in the holder thread's own eval breaker, as
 *                          here (_PY_GIL_DROP_REQUEST_BIT)
 *   holder                 gil->last_holder (never cleared on drop)
 *
 * WHERE WE DIFFER, AND WHY
 *
 *   - Statistics (acquisitions, forced drops, drop requests, wait time)
 *     are ours; CPython keeps none. The clock is read only once a thread
 *     has found the GIL taken, so the uncontended path pays nothing.
 *   - gil_drop waits on switch_cond in a loop while holder == self, where
 *     CPython waits once and tolerates a spurious wake-up. gil_take
 *     broadcasts switch_cond where CPython signals: with three or more
 *     threads two former holders can be waiting on switch_cond at once
 *     (A dropped and waits, B took, was asked to drop and waits too); a
 *     single signal could wake the wrong one and leave the other asleep
 *     until some later take, or for ever if no take ever comes.
 *   - The loop cannot hang: the drop bit of `self` is only set by a waiter,
 *     under `mutex`, while `self` holds the GIL. That waiter stays in
 *     gil_take until it has the GIL (our waiters never give up), so some
 *     thread other than `self` will take it and end the wait.
 *   - Misuse (dropping a GIL you do not hold, taking one you already hold,
 *     destroying a held one) aborts with a message, like Py_FatalError.
 *
 * MEMORY ORDERING
 *
 *   `locked`, `holder`, `switch_number` and `interval_us` are plain fields
 *   touched only with __atomic builtins (relaxed: every decision about them
 *   is made under `mutex` or `switch_mutex`, which order the data the GIL
 *   protects). The eval-breaker word is likewise only touched atomically:
 *   waiters OR the bit in, the owner polls and clears it. Writes of `holder`
 *   and `locked` happen with both mutexes held, so a reader holding either
 *   one sees a consistent value.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, pthread_condattr_setclock */

#include "gil/gil.h"

#include <errno.h>
#include <time.h>

#define NS_PER_SEC 1000000000ull

/* Print `what` and abort: the GIL has been misused or the system is broken. */
static void fatal(const char *what)
{
    fprintf(stderr, "gil-lab: fatal: %s\n", what);
    abort();
}

static struct timespec now_monotonic(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        fatal("clock_gettime(CLOCK_MONOTONIC) failed");
    return ts;
}

static uint64_t timespec_ns(struct timespec ts)
{
    return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static struct timespec timespec_add_us(struct timespec ts, uint64_t us)
{
    ts.tv_sec += (time_t)(us / 1000000u);
    ts.tv_nsec += (long)(us % 1000000u) * 1000L;
    if (ts.tv_nsec >= (long)NS_PER_SEC) {
        ts.tv_sec += 1;
        ts.tv_nsec -= (long)NS_PER_SEC;
    }
    return ts;
}

/* Create the two mutexes and condition variables; `cond` measures its
 * timeouts on CLOCK_MONOTONIC so that a wall-clock step cannot stretch or
 * shorten a switch interval. */
static void sync_init(gil_t *gil)
{
    pthread_condattr_t attr;

    GL_PTHREAD_CHECK(pthread_mutex_init(&gil->mutex, NULL));
    GL_PTHREAD_CHECK(pthread_condattr_init(&attr));
    GL_PTHREAD_CHECK(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC));
    GL_PTHREAD_CHECK(pthread_cond_init(&gil->cond, &attr));
    GL_PTHREAD_CHECK(pthread_condattr_destroy(&attr));
    GL_PTHREAD_CHECK(pthread_mutex_init(&gil->switch_mutex, NULL));
    GL_PTHREAD_CHECK(pthread_cond_init(&gil->switch_cond, NULL));
}

static void drop_bit_clear(gil_client_t *c)
{
    __atomic_fetch_and(c->eval_breaker, ~c->drop_bit, __ATOMIC_RELAXED);
}

static int drop_bit_is_set(const gil_client_t *c)
{
    return (__atomic_load_n(c->eval_breaker, __ATOMIC_RELAXED) & c->drop_bit) != 0;
}

/* Wait on `cond` until `deadline` (CLOCK_MONOTONIC). Returns 1 if the wait
 * timed out, 0 if it was woken (possibly spuriously). */
static int cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *mutex,
                           const struct timespec *deadline)
{
    int rc = pthread_cond_timedwait(cond, mutex, deadline);
    if (rc == ETIMEDOUT)
        return 1;
    GL_PTHREAD_CHECK(rc);
    return 0;
}

/* Interval 0 means the default (CPython refuses a non-positive interval).
 * Cannot fail. */
void gil_init(gil_t *gil, uint64_t interval_us)
{
    memset(gil, 0, sizeof *gil);
    __atomic_store_n(&gil->interval_us,
                     interval_us ? interval_us : GIL_DEFAULT_INTERVAL_US,
                     __ATOMIC_RELAXED);
    sync_init(gil);
}

/* Aborts if the GIL is still held; otherwise cannot fail. */
void gil_destroy(gil_t *gil)
{
    if (__atomic_load_n(&gil->locked, __ATOMIC_RELAXED))
        fatal("gil_destroy: the GIL is still held");
    GL_PTHREAD_CHECK(pthread_cond_destroy(&gil->switch_cond));
    GL_PTHREAD_CHECK(pthread_mutex_destroy(&gil->switch_mutex));
    GL_PTHREAD_CHECK(pthread_cond_destroy(&gil->cond));
    GL_PTHREAD_CHECK(pthread_mutex_destroy(&gil->mutex));
}

/* Aborts if `self` already holds the GIL; otherwise cannot fail. */
void gil_take(gil_t *gil, gil_client_t *self)
{
    GL_PTHREAD_CHECK(pthread_mutex_lock(&gil->mutex));

    if (__atomic_load_n(&gil->locked, __ATOMIC_RELAXED)) {
        if (__atomic_load_n(&gil->holder, __ATOMIC_RELAXED) == self)
            fatal("gil_take: this client already holds the GIL");

        uint64_t interval = __atomic_load_n(&gil->interval_us, __ATOMIC_RELAXED);
        struct timespec now = now_monotonic();
        uint64_t start_ns = timespec_ns(now);
        if (self->trace != NULL)
            trace_record_at(self->trace, TRACE_WAIT, 0, start_ns);

        for (;;) {
            uint64_t seen = __atomic_load_n(&gil->switch_number, __ATOMIC_RELAXED);
            struct timespec deadline = timespec_add_us(now, interval);
            int timed_out = cond_wait_until(&gil->cond, &gil->mutex, &deadline);

            int locked = __atomic_load_n(&gil->locked, __ATOMIC_RELAXED);
            if (!locked)
                break;
            if (!timed_out)
                self->stats.futile_wakeups++;
            /* A whole interval went by with one thread holding the GIL: ask
             * it to let go. (If the switch counter moved, someone else got
             * a turn meanwhile and the new holder gets a fresh interval.) */
            if (timed_out &&
                __atomic_load_n(&gil->switch_number, __ATOMIC_RELAXED) == seen) {
                gil_client_t *holder = __atomic_load_n(&gil->holder, __ATOMIC_RELAXED);
                __atomic_fetch_or(holder->eval_breaker, holder->drop_bit,
                                  __ATOMIC_RELAXED);
                self->stats.drop_requests++;
                if (self->trace != NULL)
                    trace_record(self->trace, TRACE_DROP_REQUEST,
                                 holder->trace != NULL ? holder->trace->lane : 0);
            }
            now = now_monotonic();
        }
        self->took_ns = timespec_ns(now_monotonic());
        self->stats.wait_ns += self->took_ns - start_ns;
    } else {
        /* Held from here: one clock read per take and per drop, which
         * happen at most once a switch interval or around a blocking call,
         * each already a mutex and a condition variable. */
        self->took_ns = timespec_ns(now_monotonic());
    }

    /* Ours. Publish the new holder under switch_mutex too, so that a former
     * holder waiting in gil_drop cannot miss the change. */
    GL_PTHREAD_CHECK(pthread_mutex_lock(&gil->switch_mutex));
    __atomic_store_n(&gil->locked, 1, __ATOMIC_RELAXED);
    if (__atomic_load_n(&gil->holder, __ATOMIC_RELAXED) != self) {
        __atomic_store_n(&gil->holder, self, __ATOMIC_RELAXED);
        __atomic_fetch_add(&gil->switch_number, 1, __ATOMIC_RELAXED);
    }
    GL_PTHREAD_CHECK(pthread_cond_broadcast(&gil->switch_cond));
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&gil->switch_mutex));

    /* A request aimed at us while we were a previous holder is stale now. */
    drop_bit_clear(self);
    self->stats.acquisitions++;
    if (self->trace != NULL)
        trace_record(self->trace, TRACE_TAKE, 0);

    GL_PTHREAD_CHECK(pthread_mutex_unlock(&gil->mutex));
}

/* drop_gil; `why` is what the trace records (TRACE_DROP_*). */
static void gil_release(gil_t *gil, gil_client_t *self, uint32_t why)
{
    /* Recorded while the GIL is still ours: a trace never shows the next
     * holder's TAKE before this DROP. */
    self->stats.held_ns += timespec_ns(now_monotonic()) - self->took_ns;
    if (self->trace != NULL)
        trace_record(self->trace, TRACE_DROP, why);
    GL_PTHREAD_CHECK(pthread_mutex_lock(&gil->mutex));
    if (!__atomic_load_n(&gil->locked, __ATOMIC_RELAXED) ||
        __atomic_load_n(&gil->holder, __ATOMIC_RELAXED) != self)
        fatal("gil_drop: this client does not hold the GIL");
    __atomic_store_n(&gil->locked, 0, __ATOMIC_RELAXED);
    GL_PTHREAD_CHECK(pthread_cond_signal(&gil->cond));
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&gil->mutex));

    /* Forced switching: we were asked to drop, so a waiter exists. Do not
     * return (and maybe re-take the GIL at once) before it has the GIL. No
     * new request can reach us from here on: requests go to the holder. */
    if (drop_bit_is_set(self)) {
        uint64_t t0 = timespec_ns(now_monotonic());
        GL_PTHREAD_CHECK(pthread_mutex_lock(&gil->switch_mutex));
        while (__atomic_load_n(&gil->holder, __ATOMIC_RELAXED) == self)
            GL_PTHREAD_CHECK(pthread_cond_wait(&gil->switch_cond, &gil->switch_mutex));
        GL_PTHREAD_CHECK(pthread_mutex_unlock(&gil->switch_mutex));
        drop_bit_clear(self);
        self->stats.switch_wait_ns += timespec_ns(now_monotonic()) - t0;
    }
}

/* Aborts if `self` does not hold the GIL; otherwise cannot fail. */
void gil_drop(gil_t *gil, gil_client_t *self)
{
    gil_release(gil, self, TRACE_DROP_VOLUNTARY);
}

/* Must be called by the holder. Cannot fail. */
void gil_yield(gil_t *gil, gil_client_t *self)
{
    self->stats.forced_drops++;
    gil_release(gil, self, TRACE_DROP_FORCED);
    gil_take(gil, self);
}

/* Call in the child only, from the thread that called fork(), before any
 * other GIL call. The old mutexes and conditions are not destroyed: another
 * (now vanished) thread may have held them at the fork. Cannot fail. */
void gil_reinit_after_fork(gil_t *gil, gil_client_t *self)
{
    sync_init(gil);
    __atomic_store_n(&gil->locked, 1, __ATOMIC_RELAXED);
    if (__atomic_load_n(&gil->holder, __ATOMIC_RELAXED) != self) {
        __atomic_store_n(&gil->holder, self, __ATOMIC_RELAXED);
        __atomic_fetch_add(&gil->switch_number, 1, __ATOMIC_RELAXED);
    }
    /* A request from a parent thread that does not exist here: without this
     * our next gil_drop would wait for a switch that can never come. */
    drop_bit_clear(self);
    /* The child's turn with the GIL starts here (held_ns). */
    self->took_ns = timespec_ns(now_monotonic());
    gil->turn = self;
}

/* Counts every change of holder, including the very first take (CPython's
 * last_holder starts out NULL). Cannot fail. */
uint64_t gil_switches(const gil_t *gil)
{
    return __atomic_load_n(&gil->switch_number, __ATOMIC_RELAXED);
}
