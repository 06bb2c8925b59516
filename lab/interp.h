/* lab/interp.h: the interpreter state and the thread state, the lab's
 * PyInterpreterState and PyThreadState.
 *
 * One interp_t owns what CPython keeps per interpreter: the heap (allocator),
 * the GIL, the statically allocated singletons and small-int cache, the
 * module globals, and the registry of threads that biased refcounting needs
 * to find an object's owner. Each thread that runs bytecode has a tstate_t:
 * its eval-breaker word (polled on every backward jump, as CPython 3.13 keeps
 * eval_breaker per thread), its GIL client, its biased-refcount merge queue,
 * and its counters. A tstate is padded to a cache line so that one thread's
 * counters never share a line with another's.
 *
 * A forked child inherits a copy of everything; interp_after_fork_child()
 * re-creates the locks, as PyOS_AfterFork_Child does.
 */
#ifndef GL_INTERP_H
#define GL_INTERP_H

#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>

#include "gil/brc.h"
#include "gil/gil.h"
#include "gil/guard.h"
#include "lab/heap.h"
#include "lab/object.h"

/* Eval-breaker bits (CPython: _PY_GIL_DROP_REQUEST_BIT, _PY_EVAL_EXPLICIT_MERGE_BIT,
 * _PY_ASYNC_EXCEPTION_BIT). */
#define EB_GIL_DROP_REQUEST 1u
#define EB_BRC_MERGE 2u
#define EB_ASYNC_EXC 4u   /* stop: the loop raises SystemExit (runners stop background workers) */

#define INTERP_MAX_GLOBALS 8
#define TSTATE_ERROR_LEN 160

/* A thread's counters, written only by that thread: X(name, hot). The hot
 * ones sit on fast paths (every allocation, every free, every refcount
 * operation of the biased guard) and are kept only in GL_PYSTATS builds,
 * as CPython keeps such counts only when built with --enable-pystats: in a
 * release build they stay zero and the report leaves them empty. The others
 * count slow paths (an object queued to its owner, a merge). */
#define TSTATE_COUNTERS(X)                                                     \
    X(objects_allocated, 1)                                                    \
    X(objects_freed, 1)                                                        \
    X(rc_local, 1)       /* biased: owner-local operations */                  \
    X(rc_shared, 1)      /* biased: shared (atomic) operations */              \
    X(brc_queued, 0)     /* biased: objects this thread queued to an owner */  \
    X(brc_merged, 0)     /* biased: queued objects this owner merged */        \
    X(blocking_calls, 0) /* CALL_BLOCKING calls (lab/blocking.c) */            \
    X(blocked_ns, 0)     /* time spent inside them, the GIL released */

typedef struct tstate_counters {
#define X(name, hot) uint64_t name;
    TSTATE_COUNTERS(X)
#undef X
} tstate_counters_t;

/* Count one event on ts: TS_COUNT for slow paths, TS_COUNT_HOT for hot ones. */
#define TS_COUNT(ts, name) ((ts)->count.name++)
#ifdef GL_PYSTATS
#define TS_COUNT_HOT(ts, name) TS_COUNT(ts, name)
#else
#define TS_COUNT_HOT(ts, name) ((void)0)
#endif

/* Whether this build keeps the hot counters (GL_PYSTATS). */
bool interp_pystats_enabled(void);

typedef struct interp_config {
    guard_kind_t guard;
    heap_kind_t allocator;
    bool immortal;              /* PEP 683 on (default) or off (--no-immortal) */
    uint64_t switch_interval_us;
    int check_interval;         /* gil-old: ticks between releases (0: 100) */
    pym_config_t pymalloc;      /* zeros = CPython's geometry */
} interp_config_t;

/* tstate->state, CPython 3.13's _Py_THREAD_DETACHED / _Py_THREAD_ATTACHED. */
enum { TSTATE_DETACHED = 0, TSTATE_ATTACHED = 1 };

struct tstate {
    alignas(64) uint32_t eval_breaker;   /* EB_* bits, __atomic access only */
    int state;                   /* TSTATE_*: the free-threaded guards, __atomic */
    interp_t *interp;
    heap_t *heap;                /* == &interp->heap, one load less per allocation */
    uintptr_t id;                /* unique, never reused; owner id for biased */
    gil_client_t gil;
    brc_queue_t brc;             /* objects other threads handed to this owner */
    tstate_counters_t count;
    tstate_t *next;              /* interp's list of live threads */
    char error[TSTATE_ERROR_LEN];/* the current exception, as text */
};

/* A statically allocated object (CPython's _PyRuntime.static_objects):
 * room in front for either layout's header (the default build uses the
 * last 8 bytes of it), then ob_type and an int's payload. */
typedef struct static_obj {
    alignas(16) unsigned char head[OBJ_HEAD_FT_SIZE];
    int_obj_t body;
} static_obj_t;

_Static_assert(offsetof(static_obj_t, body) == OBJ_HEAD_FT_SIZE, "the header ends where ob_type starts");

struct interp {
    guard_kind_t guard;
    const guard_ops_t *ops;
    obj_layout_t layout;
    bool immortal;
    heap_t heap;
    gil_t gil;

    /* Statically allocated objects, as CPython keeps them in _PyRuntime:
     * None, True, False and the small ints (interp_small_int). */
    static_obj_t none;
    static_obj_t true_obj;
    static_obj_t false_obj;
    static_obj_t small_ints[SMALL_INT_COUNT];

    obj_t *globals[INTERP_MAX_GLOBALS];   /* module globals, LOAD_GLOBAL */

    /* Threads: the live list (for biased owner look-ups) and the totals of
     * threads that have gone, under `lock`. */
    pthread_mutex_t lock;
    tstate_t *threads;
    uintptr_t next_tid;
    uint64_t gone_allocated;
    uint64_t gone_freed;
    /* Blocks still allocated in the own heaps of worker threads that have
     * gone (heaps per thread: mimalloc), added by each before it exits;
     * the leak check's share of those threads (runners/threads.c). */
    int64_t thread_blocks;
};

/* The statics as objects. Cannot fail. */
static inline obj_t *interp_none(interp_t *interp) { return &interp->none.body.ob; }
static inline obj_t *interp_true(interp_t *interp) { return &interp->true_obj.body.ob; }
static inline obj_t *interp_false(interp_t *interp) { return &interp->false_obj.body.ob; }
/* The cached int v, SMALL_INT_MIN <= v <= SMALL_INT_MAX. */
static inline obj_t *interp_small_int(interp_t *interp, int64_t v)
{
    return &interp->small_ints[v - SMALL_INT_MIN].body.ob;
}

/* Set up an interpreter. Returns 0, or -1 with a one-line reason in err. */
int interp_init(interp_t *interp, const interp_config_t *config, char *err, size_t errlen);

/* Tear down an interpreter whose threads have all been deleted and whose
 * globals have been cleared. Cannot fail. */
void interp_destroy(interp_t *interp);

/* Create a thread state (detached: it holds no GIL yet). NULL on OOM. */
tstate_t *tstate_new(interp_t *interp);

/* Delete a detached thread state: its counters go to the interp totals and,
 * under biased, objects still queued to it are merged first. Cannot fail. */
void tstate_delete(tstate_t *ts);

/* Drop the interpreter's references to its globals (ts must be attached). */
void interp_clear_globals(tstate_t *ts);

/* Objects allocated minus objects freed, over every thread live or gone: the
 * leak check compares this before and after a run. */
int64_t interp_live_objects(interp_t *interp);

/* In a forked child: re-create every lock (GIL, heap lock, thread registry)
 * and forget the threads that did not survive the fork; `ts` (the forking
 * thread) stays, detached. Cannot fail. */
void interp_after_fork_child(interp_t *interp, tstate_t *ts);

/* The free-threaded build's attach and detach (Python/pystate.c,
 * tstate_try_attach and tstate_set_detached, 3.13t): with no GIL to take,
 * a thread announces that it runs bytecode by a compare-and-swap of its
 * state from DETACHED to ATTACHED, and that it stopped by an atomic store.
 * (CPython waits when a stop-the-world pause has SUSPENDED it; the lab has
 * no such pause yet, so the swap only fails on misuse, which aborts like
 * Py_FatalError.) */
void tstate_attach_state(tstate_t *ts);
void tstate_detach_state(tstate_t *ts);

/* Record an exception in ts->error (printf-style). Always returns NULL so
 * that error paths read `return tstate_error(ts, ...)`. */
void *tstate_error(tstate_t *ts, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
