/* gil/stw.h: thread states and stop-the-world pauses, as free-threaded
 * CPython 3.13t has them (Python/pystate.c: tstate_try_attach,
 * detach_thread, _PyThreadState_Suspend, stop_the_world, start_the_world).
 *
 * Without a GIL, nothing stops other threads from running bytecode while
 * one thread needs the heap to hold still (the cycle collector walking
 * every container). So each thread state has a state word:
 *
 *   DETACHED   not running bytecode (between runs, in a blocking call)
 *   ATTACHED   running bytecode
 *   SUSPENDED  stopped for a pause; may not attach until it ends
 *
 * A pause (stw_stop) flips every DETACHED thread to SUSPENDED with a
 * compare-and-swap, and sets the please-stop bit (EB_STW_REQUEST) in the
 * eval breaker of every ATTACHED one, which suspends itself at its next
 * check (tstate_suspend) and counts down; the requester waits until the
 * count reaches zero. stw_start turns every SUSPENDED thread back to
 * DETACHED and wakes them. A thread that attaches while SUSPENDED waits;
 * a thread state created during a pause starts SUSPENDED.
 *
 * The lab's thread states keep this state under every guard; only the
 * free-threaded guards ever request a pause (with a GIL, holding the GIL
 * is the pause). The lab waits on one condition variable per interpreter
 * where CPython parks on each state word; the protocol is the same.
 */
#ifndef GL_STW_H
#define GL_STW_H

#include <pthread.h>
#include <stdbool.h>

typedef struct interp interp_t;
typedef struct tstate tstate_t;

/* tstate->state: CPython's _Py_THREAD_DETACHED / ATTACHED / SUSPENDED. */
enum { TSTATE_DETACHED = 0, TSTATE_ATTACHED = 1, TSTATE_SUSPENDED = 2 };

/* One interpreter's pause state (_stoptheworld_state). The thread list
 * and the counters are read and written under interp->lock (HEAD_LOCK). */
typedef struct stw {
    pthread_mutex_t mutex;     /* one pause at a time */
    pthread_cond_t changed;    /* with interp->lock: a thread suspended, or the pause ended */
    bool requested;
    int countdown;             /* threads still to stop */
    tstate_t *requester;
} stw_t;

/* Set up, tear down, and (in a forked child) re-create. Cannot fail. */
void stw_init(stw_t *stw);
void stw_destroy(stw_t *stw);

/* _PyEval_StopTheWorld: return once every thread of the interpreter but
 * `self` (which may be NULL) is SUSPENDED. Cannot fail. */
void stw_stop(interp_t *interp, tstate_t *self);

/* _PyEval_StartTheWorld: end the pause `self` started. Cannot fail. */
void stw_start(interp_t *interp, tstate_t *self);

/* The part of tstate_delete_common that concerns a pause: ts has just
 * left the thread list (interp->lock held). If a pause counted on it to
 * stop, it no longer has to. Cannot fail. */
void stw_thread_unlinked(interp_t *interp, tstate_t *ts);

/* tstate_try_attach / tstate_wait_attach: DETACHED -> ATTACHED, waiting
 * while a pause keeps the thread SUSPENDED. Aborts if ts is already
 * attached (Py_FatalError). */
void tstate_attach_state(tstate_t *ts);

/* detach_thread: ATTACHED -> DETACHED. Aborts if ts is not attached. */
void tstate_detach_state(tstate_t *ts);

/* _PyThreadState_Suspend, then re-attach: what an attached thread does at
 * its eval breaker when a pause is requested (EB_STW_REQUEST). Returns
 * attached again, after the pause. Cannot fail. */
void tstate_suspend(tstate_t *ts);

#endif
