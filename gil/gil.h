/* gil/gil.h: the global interpreter lock, modelled on CPython's "new GIL"
 * (Python/ceval_gil.c, Antoine Pitrou, CPython 3.2+).
 *
 * The protocol, in one paragraph: the GIL is a `locked` flag guarded by a
 * mutex and a condition variable. A thread that wants it waits on the
 * condition for one switch interval (default 5 ms). If the interval passes
 * and no switch happened meanwhile (the switch counter did not move), it sets
 * the GIL_DROP_REQUEST bit in the *holder's* eval breaker. The holder polls its
 * eval breaker on every backward jump of the interpreter loop; seeing the bit
 * it drops the GIL and, because FORCE_SWITCHING is on, waits on a second
 * condition until some other thread has actually taken it before it may ask
 * for the GIL again. That forced switch is what stops the dropping thread from
 * re-taking the lock before the woken waiter is even scheduled.
 *
 * The module is a leaf: it knows nothing of objects or interpreters. A thread
 * is represented by a gil_client_t, which points at the thread's eval-breaker
 * word and carries that thread's statistics.
 *
 * pthread calls return their error code; every such call goes through
 * GL_PTHREAD_CHECK, which aborts with the call's text and strerror(rc):
 * a failing mutex is a broken process, not a recoverable error.
 */
#ifndef GL_GIL_H
#define GL_GIL_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gil/trace.h"

/* Abort with the failing pthread call's own text and the error it returned. */
#define GL_PTHREAD_CHECK(call)                                                 \
    do {                                                                       \
        int gl_rc_ = (call);                                                   \
        if (gl_rc_ != 0) {                                                     \
            fprintf(stderr, "gil-lab: fatal: %s: %s (%s:%d)\n", #call,         \
                    strerror(gl_rc_), __FILE__, __LINE__);                     \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* Default switch interval, as sys.getswitchinterval() == 0.005. */
#define GIL_DEFAULT_INTERVAL_US 5000u

/* Per-thread GIL statistics, X(name): every one a uint64_t count. Written
 * only by the owning thread (or under the GIL mutex), read after the thread
 * has been joined. */
#define GIL_STATS_FIELDS(X)                                                    \
    X(acquisitions)   /* times this thread took the GIL */                     \
    X(forced_drops)   /* drops because another thread set the drop request */  \
    X(drop_requests)  /* times this thread, waiting, set a drop request */     \
    X(wait_ns)        /* total time spent waiting to take the GIL */           \
    X(switch_wait_ns) /* FORCE_SWITCHING: time a dropper waited for the        \
                         waiter to take it */                                  \
    X(futile_wakeups) /* woken by a release, found the GIL taken again */    \
    X(held_ns)        /* time holding the GIL, each take to its drop */

typedef struct gil_stats {
#define X(name) uint64_t name;
    GIL_STATS_FIELDS(X)
#undef X
} gil_stats_t;

/* One thread as the GIL sees it (CPython: the PyThreadState fields the GIL
 * touches). `eval_breaker` points at the thread's eval-breaker word; the GIL
 * sets `drop_bit` in it to ask this thread to let go. */
typedef struct gil_client {
    uint32_t *eval_breaker;   /* accessed only with __atomic builtins */
    uint32_t drop_bit;
    gil_stats_t stats;
    uint64_t took_ns;         /* when this thread last took the GIL (held_ns) */
    trace_buf_t *trace;       /* NULL unless this thread is traced (gil/trace.h) */
} gil_client_t;

typedef struct gil {
    /* `locked`, `holder` and `switch_number` are read without the mutex by
     * waiters and by the holder's fast paths; every access is atomic. */
    int locked;                   /* 1 while some thread holds the GIL */
    gil_client_t *holder;         /* last thread that took it (CPython: last_holder) */
    uint64_t switch_number;       /* times the GIL changed hands */
    uint64_t interval_us;         /* the switch interval */

    /* The pre-3.2 protocol (gil/gil_old.c) only: the check interval in
     * ticks and the countdown to the next release, _Py_CheckInterval and
     * _Py_Ticker. Only the holder touches `ticker`. */
    int check_interval;
    int ticker;
    gil_client_t *turn;           /* whose time held runs (gil_old_take) */

    pthread_mutex_t mutex;        /* protects `locked` transitions, with `cond` */
    pthread_cond_t cond;          /* signalled when the GIL is released */
    pthread_mutex_t switch_mutex; /* FORCE_SWITCHING: with `switch_cond` */
    pthread_cond_t switch_cond;   /* signalled when a waiter has taken the GIL */
} gil_t;

/* Initialise an unlocked GIL with the given switch interval (µs, > 0).
 * Cannot fail (pthread errors abort). */
void gil_init(gil_t *gil, uint64_t interval_us);

/* Destroy an unlocked GIL. Cannot fail. */
void gil_destroy(gil_t *gil);

/* Block until `self` holds the GIL (CPython: take_gil). Clears the drop
 * request bit in self's eval breaker once the GIL is held. Cannot fail. */
void gil_take(gil_t *gil, gil_client_t *self);

/* Release the GIL held by `self` (CPython: drop_gil). If a drop request was
 * pending for `self`, waits (forced switching) until another thread has taken
 * the GIL. Cannot fail. */
void gil_drop(gil_t *gil, gil_client_t *self);

/* The eval-breaker handler: called by the holder when it sees its drop bit.
 * Drops the GIL (counting a forced drop), lets another thread run, takes it
 * again. Cannot fail. */
void gil_yield(gil_t *gil, gil_client_t *self);

/* CPython PyOS_AfterFork_Child / _PyEval_ReInitThreads: in a forked child the
 * mutexes may have been copied mid-use by another thread; re-create them and
 * make `self` the holder. Cannot fail. */
void gil_reinit_after_fork(gil_t *gil, gil_client_t *self);

/* Py_BEGIN_ALLOW_THREADS / Py_END_ALLOW_THREADS: bracket a blocking call
 * (I/O, sleep) so that other threads run while this one waits. */
#define GIL_BEGIN_ALLOW_THREADS(gil, self) gil_drop((gil), (self));
#define GIL_END_ALLOW_THREADS(gil, self) gil_take((gil), (self));

/* Number of times the GIL changed hands so far. */
uint64_t gil_switches(const gil_t *gil);

/* ---- the GIL before CPython 3.2 (gil/gil_old.c) --------------------------- */

/* sys.getcheckinterval() == 100 */
#define GIL_OLD_DEFAULT_CHECK_INTERVAL 100

/* Use `gil` (initialised by gil_init, unlocked) with the old protocol and a
 * check interval of `ticks` (> 0; 0 means the default). Cannot fail. */
void gil_old_init(gil_t *gil, int ticks);

/* PyThread_acquire_lock(interpreter_lock, 1) with the mutex-and-condition
 * lock of Python/thread_pthread.h: wait on the condition until the lock is
 * free, with no timeout and no drop request. Aborts if `self` already
 * holds it; otherwise cannot fail. */
void gil_old_take(gil_t *gil, gil_client_t *self);

/* PyThread_release_lock(interpreter_lock): clear the flag, signal one
 * waiter, return at once. Aborts if `self` does not hold it. */
void gil_old_drop(gil_t *gil, gil_client_t *self);

/* The periodic release of the old eval loop, once the ticker has run out:
 * reset it, release the lock and immediately ask for it again ("give
 * another thread a chance"). Counted as a forced drop. For the holder;
 * cannot fail. */
void gil_old_release_and_reacquire(gil_t *gil, gil_client_t *self);

/* One tick, for the holder: `if (--_Py_Ticker < 0)` at the top of the old
 * eval loop. */
static inline void gil_old_tick(gil_t *gil, gil_client_t *self)
{
    if (--gil->ticker < 0)
        gil_old_release_and_reacquire(gil, self);
}

#endif
