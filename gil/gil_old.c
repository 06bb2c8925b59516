/* gil/gil_old.c: the GIL before CPython 3.2, for the history slide.
 *
 * Up to 3.1 the GIL was an ordinary lock, `interpreter_lock`, and the eval
 * loop (Python/ceval.c, PyEval_EvalFrameEx) did this at the top of every
 * instruction that did not take the fast path:
 *
 *     if (--_Py_Ticker < 0) {
 *         _Py_Ticker = _Py_CheckInterval;            100 by default
 *         PyThread_release_lock(interpreter_lock);   give another thread a chance
 *         PyThread_acquire_lock(interpreter_lock, 1);
 *     }
 *
 * The lock is Python/thread_pthread.h's mutex-and-condition variant (the
 * one Beazley measured; Linux builds used a POSIX semaphore, which behaves
 * the same way here): a `locked` flag under a mutex, waiters sleeping on a
 * condition variable, and a release that clears the flag and signals one
 * waiter. Nothing hands the lock over. The releasing thread is already
 * running; the signalled one must first be woken and scheduled, so on a
 * multi-core machine the releaser is usually back in acquire, finds the
 * flag clear and takes it again before the waiter even runs. The waiter
 * wakes, finds the lock taken, and sleeps again: a futile wake-up. That is
 * the "GIL battle" of David Beazley's "Inside the Python GIL" (2009): two
 * CPU-bound threads on two cores run slower than one, and a thread that
 * wakes from I/O may wait many check intervals for its turn.
 *
 *   A (holder, core 0)                     B (waiter, core 1)
 *   100 ticks of bytecode                  cond_wait(lock_released) ...
 *   release: locked = 0, signal ---------> (being woken: the kernel must
 *   acquire: locked == 0, take it          schedule it first)
 *   100 ticks of bytecode                  wakes: locked == 1, wait again
 *                                          (futile_wakeups++)
 *
 * WHICH CPYTHON CODE EACH FUNCTION MIRRORS
 *
 *   gil_old_take                    PyThread_acquire_lock(lock, 1): mutex,
 *                                   while (locked) cond_wait, locked = 1
 *   gil_old_drop                    PyThread_release_lock: mutex, locked =
 *                                   0, unlock, cond_signal
 *   gil_old_tick (gil.h)            `if (--_Py_Ticker < 0)` in ceval.c
 *   gil_old_release_and_reacquire   the body of that `if`
 *
 * The loop calls gil_old_tick before every instruction that 3.1 did not
 * send to `fast_next_opcode` (gil/guard_gil_old.c lists them). The drop
 * bit, the switch interval and forced switching do not exist here; the
 * fields this protocol shares with the new one (`locked`, `holder`,
 * `switch_number`, `mutex`, `cond`) keep their meaning, so the statistics,
 * the trace and the fork handling are the same for both.
 */
#include "gil/gil.h"

static void fatal(const char *what)
{
    fprintf(stderr, "gil-lab: fatal: %s\n", what);
    abort();
}

void gil_old_init(gil_t *gil, int ticks)
{
    gil->check_interval = ticks > 0 ? ticks : GIL_OLD_DEFAULT_CHECK_INTERVAL;
    gil->ticker = gil->check_interval;
}

/* Time held (held_ns). A check interval's release and re-take come every
 * few microseconds, too often for two more clock reads, so a thread's
 * turn is not closed at its release: it stays open (gil->turn) until the
 * thread drops the lock for good (gil_old_drop) or another thread takes
 * it, which closes it at that moment, the hand-off's latency included. The
 * clock is read only then, on a wait (read anyway) and on a first take.
 * gil->turn, took_ns and held_ns are written under the mutex; gil->turn is
 * never a thread gone (it drops the lock for good before it goes), unlike
 * gil->holder. */
void gil_old_take(gil_t *gil, gil_client_t *self)
{
    uint64_t now = 0;
    GL_PTHREAD_CHECK(pthread_mutex_lock(&gil->mutex));
    if (__atomic_load_n(&gil->locked, __ATOMIC_RELAXED)) {
        if (__atomic_load_n(&gil->holder, __ATOMIC_RELAXED) == self)
            fatal("gil_old_take: this client already holds the GIL");
        uint64_t start = clock_now_ns();
        if (self->trace != NULL)
            trace_record_at(self->trace, TRACE_WAIT, 0, start);
        while (__atomic_load_n(&gil->locked, __ATOMIC_RELAXED)) {
            GL_PTHREAD_CHECK(pthread_cond_wait(&gil->cond, &gil->mutex));
            if (__atomic_load_n(&gil->locked, __ATOMIC_RELAXED))
                self->stats.futile_wakeups++;
        }
        now = clock_now_ns();
        self->stats.wait_ns += now - start;
    }
    __atomic_store_n(&gil->locked, 1, __ATOMIC_RELAXED);
    if (__atomic_load_n(&gil->holder, __ATOMIC_RELAXED) != self) {
        __atomic_store_n(&gil->holder, self, __ATOMIC_RELAXED);
        __atomic_fetch_add(&gil->switch_number, 1, __ATOMIC_RELAXED);
    }
    if (gil->turn != self) {
        if (now == 0)
            now = clock_now_ns();
        if (gil->turn != NULL)
            gil->turn->stats.held_ns += now - gil->turn->took_ns;
        gil->turn = self;
        self->took_ns = now;
    }
    self->stats.acquisitions++;
    if (self->trace != NULL)
        trace_record(self->trace, TRACE_TAKE, 0);
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&gil->mutex));
}

/* Release with `why` recorded in the trace (TRACE_DROP_*). */
static void gil_old_release(gil_t *gil, gil_client_t *self, uint32_t why)
{
    if (self->trace != NULL)
        trace_record(self->trace, TRACE_DROP, why);
    GL_PTHREAD_CHECK(pthread_mutex_lock(&gil->mutex));
    if (!__atomic_load_n(&gil->locked, __ATOMIC_RELAXED) ||
        __atomic_load_n(&gil->holder, __ATOMIC_RELAXED) != self)
        fatal("gil_old_drop: this client does not hold the GIL");
    __atomic_store_n(&gil->locked, 0, __ATOMIC_RELAXED);
    if (why == TRACE_DROP_VOLUNTARY && gil->turn == self) {
        self->stats.held_ns += clock_now_ns() - self->took_ns;
        gil->turn = NULL;
    }
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&gil->mutex));
    /* thread_pthread.h signals after unlocking: "wake up someone (anyone,
     * if any) waiting on the lock". */
    GL_PTHREAD_CHECK(pthread_cond_signal(&gil->cond));
}

void gil_old_drop(gil_t *gil, gil_client_t *self)
{
    gil_old_release(gil, self, TRACE_DROP_VOLUNTARY);
}

void gil_old_release_and_reacquire(gil_t *gil, gil_client_t *self)
{
    gil->ticker = gil->check_interval;
    self->stats.forced_drops++;
    gil_old_release(gil, self, TRACE_DROP_FORCED);
    gil_old_take(gil, self);
}
