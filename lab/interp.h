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
#include "gil/stw.h"
#include "lab/builtins.h"
#include "lab/gc.h"
#include "lab/gc_ft.h"
#include "lab/heap.h"
#include "lab/object.h"
#include "lab/tracemalloc.h"

/* Eval-breaker bits (CPython: _PY_GIL_DROP_REQUEST_BIT,
 * _PY_EVAL_EXPLICIT_MERGE_BIT, _PY_GC_SCHEDULED_BIT,
 * _PY_EVAL_PLEASE_STOP_BIT, _PY_ASYNC_EXCEPTION_BIT; REMOTE_FREE is the lab's: blocks other threads
 * freed, which mimalloc reclaims on the owner's next allocation). */
#define EB_GIL_DROP_REQUEST 1u
#define EB_BRC_MERGE 2u
#define EB_GC_SCHEDULED 4u
#define EB_STW_REQUEST 8u
#define EB_REMOTE_FREE 16u
#define EB_ASYNC_EXC 32u  /* PyThreadState_SetAsyncExc: the loop raises SystemExit
                             (the runners stop background workers with it) */

/* Nested container deallocations before the trashcan defers the next one
 * (PyTrash_UNWIND_LEVEL). */
#define TSTATE_TRASH_DEPTH 50

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
    X(brc_merged, 0)     /* biased: queued objects this thread merged */       \
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
    gc_config_t gc;             /* zeros = on, the modelled build's thresholds */
    bool tracemalloc;           /* trace requested bytes (lab/tracemalloc.h) */
} interp_config_t;

struct tstate {
    alignas(64) uint32_t eval_breaker;   /* EB_* bits, __atomic access only */
    interp_t *interp;
    heap_t *heap;                /* == &interp->heap, one load less per allocation */
    uintptr_t id;                /* unique, never reused; owner id for biased */
    gil_client_t gil;
    brc_queue_t brc;             /* objects other threads handed to this owner */
    tstate_counters_t count;
    int trash_depth;             /* nested container deallocations */
    obj_t *trash_later;          /* deferred ones (the trashcan's chain) */
    list_freelist_t list_freelist;  /* free-threaded: per thread */
    int state;                   /* TSTATE_DETACHED/ATTACHED/SUSPENDED (gil/stw.h) */
    /* Free-threaded: this thread's containers (lab/gc_ft.h), its slot
     * number, its allocation count not yet added to the interpreter's, and
     * the blocks of its containers that other threads freed. */
    gc_head_t gc_ring;
    uint16_t gc_slot;
    int gc_alloc_count;
    brc_queue_t gc_remote;
    tstate_t *next;              /* interp's list of live threads */
    char error[TSTATE_ERROR_LEN];/* the current exception, as text */
};

/* A statically allocated object (CPython's _PyRuntime.static_objects):
 * room in front for either layout's header (the default build uses the
 * last 8 bytes of it), then ob_type and the payload of an int, a class or
 * a built-in function. */
typedef struct static_obj {
    alignas(16) unsigned char head[OBJ_HEAD_FT_SIZE];
    union {
        obj_t ob;
        int_obj_t int_;
        class_obj_t class_;
        builtin_obj_t builtin;
    } body;
} static_obj_t;

_Static_assert(offsetof(static_obj_t, body) == OBJ_HEAD_FT_SIZE, "the header ends where ob_type starts");

struct interp {
    guard_kind_t guard;
    const guard_ops_t *ops;
    obj_layout_t layout;
    bool immortal;
    heap_t heap;
    bool tracing;                        /* tracemalloc started */
    tracer_t tracer;
    gil_t gil;
    gc_state_t gc;                       /* the collector's counts and statistics */
    stw_t stw;                           /* stop-the-world pauses */
    /* Free-threaded: the live thread of each owner slot, and the
     * containers of threads that have gone (under `lock`). */
    tstate_t *gc_owners[GC_FT_MAX_OWNERS];
    gc_head_t gc_orphans;
    list_freelist_t list_freelist;       /* default build: per interpreter */

    /* Statically allocated objects, as CPython keeps them in _PyRuntime:
     * None, True, False and the small ints (interp_small_int). */
    static_obj_t none;
    static_obj_t true_obj;
    static_obj_t false_obj;
    static_obj_t small_ints[SMALL_INT_COUNT];
    static_obj_t node_class;             /* the global `Node` */
    static_obj_t builtins[BUILTIN_COUNT];

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

static inline obj_t *interp_node_class(interp_t *interp) { return &interp->node_class.body.ob; }
static inline obj_t *interp_builtin(interp_t *interp, builtin_id_t id)
{
    return &interp->builtins[id].body.ob;
}

/* Set up an interpreter. Returns 0, or -1 with a one-line reason in err. */
int interp_init(interp_t *interp, const interp_config_t *config, char *err, size_t errlen);

/* Tear down an interpreter whose threads have all been deleted and whose
 * globals have been cleared. Cannot fail. */
void interp_destroy(interp_t *interp);

/* Free the list objects kept on a freelist (_PyList_ClearFreeList), on
 * behalf of ts; NULL when no other thread can run (the world stopped, or
 * none left). Cannot fail. */
void interp_clear_freelist(interp_t *interp, list_freelist_t *fl, tstate_t *ts);

/* List objects kept on the freelists of the interpreter and of its live
 * threads (blocks allocated, objects dead). Cannot fail. */
int64_t interp_freelist_blocks(interp_t *interp);

/* What Py_Finalize does to the heap once the globals are gone (ts
 * attached): with the collector off, count the containers left in
 * unreachable cycles, which a program would leak; then a full collection
 * (_PyGC_CollectNoFail, which runs even with the collector off) and the
 * freelists emptied, so that what remains is a leak of the lab's own.
 * Returns the unreachable count (0 with the collector on). Cannot fail. */
int64_t interp_finalize(tstate_t *ts);

/* Create a thread state (detached: it holds no GIL yet; suspended if a
 * pause is on). NULL when out of memory or, free-threaded, out of owner
 * slots. */
tstate_t *tstate_new(interp_t *interp);

/* Delete a detached thread state (tstate_delete_common): it attaches first,
 * waiting out a pause; its counters go to the interp totals; under biased,
 * objects still queued to it are merged first; free-threaded, its
 * containers become orphans. Cannot fail. */
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

/* Record an exception in ts->error (printf-style). Always returns NULL so
 * that error paths read `return tstate_error(ts, ...)`. */
void *tstate_error(tstate_t *ts, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
