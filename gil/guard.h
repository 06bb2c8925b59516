/* gil/guard.h: the registry of guard strategies, the ways the lab protects
 * its refcounted heap from concurrent threads.
 *
 *   none    plain counts, no lock: the single-thread baseline that measures
 *           what the GIL itself costs (only legal with one thread)
 *   gil     one global interpreter lock (CPython's default build)
 *   atomic  every incref/decref an atomic read-modify-write, per-object
 *           locks on container mutation (the Gilectomy's approach)
 *   biased  biased reference counting (PEP 703, free-threaded CPython)
 *   gil-old the GIL before CPython 3.2: a plain lock released and re-taken
 *           every check interval of "ticks" (gil/gil_old.c)
 *
 * Each guard is its own translation unit (gil/guard_<name>.c) that defines
 * its refcount primitives and then compiles the interpreter loop template
 * (lab/eval_impl.h) twice, with and without immortal objects
 * (gil/guard_instances.h): choosing a guard costs one indirect call per
 * run, never a branch per refcount operation.
 * The guard_ops_t table below is for everything outside the hot loop (setup,
 * tests, teardown). Adding a guard: one file plus one line in GUARD_LIST.
 */
#ifndef GL_GUARD_H
#define GL_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#include "lab/heap.h"
#include "lab/object.h"

/* X(name, spelling, threadsafe, has a GIL, default allocator, object
 * layout, description): `name` makes the C identifiers (GUARD_gil_old,
 * guard_ops_gil_old), the spelling is what people type and read (-g
 * gil-old, the reports); the layout is the CPython build the guard models
 * (lab/object.h). */
#define GUARD_LIST(X)                                                          \
    X(none, "none", false, false, HEAP_pymalloc, OBJ_LAYOUT_DEFAULT,           \
      "plain refcounts and no lock: single-thread baseline, unsafe with threads") \
    X(gil, "gil", true, true, HEAP_pymalloc, OBJ_LAYOUT_DEFAULT,               \
      "one global interpreter lock, CPython's new GIL (3.2+)")                 \
    X(atomic, "atomic", true, false, HEAP_mimalloc, OBJ_LAYOUT_FT,             \
      "per-object atomic refcounts and per-object locks, no GIL")              \
    X(biased, "biased", true, false, HEAP_mimalloc, OBJ_LAYOUT_FT,             \
      "biased refcounting: owner-local + shared atomic counts (PEP 703)")      \
    X(gil_old, "gil-old", true, true, HEAP_pymalloc, OBJ_LAYOUT_DEFAULT,       \
      "the GIL before 3.2: released and re-taken every 100 ticks")

typedef enum guard_kind {
#define X(name, spelling, ts, gil, alloc, layout, desc) GUARD_##name,
    GUARD_LIST(X)
#undef X
    GUARD_COUNT
} guard_kind_t;

typedef struct interp interp_t;
typedef struct tstate tstate_t;
typedef struct obj obj_t;
typedef struct code code_t;

/* The per-guard operations, one table per guard translation unit, emitted
 * by the template (lab/eval_impl.h). Function pointers are fine here: none of
 * these is called per refcount operation inside the interpreter loop (eval
 * is called once per worker run). */
typedef struct guard_ops {
    /* Run `code` to completion in `ts` with `args` as its first locals (the
     * references are stolen). Returns the result (a new reference) or NULL
     * on error with ts->error set. */
    obj_t *(*eval)(tstate_t *ts, const code_t *code, obj_t **args, int nargs);
    void (*incref)(tstate_t *ts, obj_t *o);
    void (*decref)(tstate_t *ts, obj_t *o);
    /* Object constructors and container operations of this guard, for setup
     * code and tests. NULL (or -1) on out-of-memory with ts->error set. */
    obj_t *(*int_new)(tstate_t *ts, int64_t v);
    obj_t *(*list_new)(tstate_t *ts, intptr_t size);
    obj_t *(*node_new)(tstate_t *ts);   /* Node(): both slots empty */
    int (*list_append)(tstate_t *ts, obj_t *list, obj_t *item);  /* steals item */
    /* Thread attach/detach, called by every thread that runs bytecode before
     * its first and after its last instruction (PyEval_RestoreThread /
     * PyEval_SaveThread: the GIL is taken and dropped here; free-threaded,
     * the thread's state word changes, which a stop-the-world pause reads).
     * The same pair brackets blocking calls, as Py_BEGIN/END_ALLOW_THREADS. */
    void (*attach)(tstate_t *ts);
    void (*detach)(tstate_t *ts);
    /* What the loop does at a backward jump when the eval breaker is set
     * (_Py_HandlePending: yield the GIL, merge, stop for a pause, collect),
     * for C code that runs long without bytecode. ts attached. */
    void (*handle_pending)(tstate_t *ts);
    /* This guard's list and node types (their deallocs release what they
     * hold with the guard's own decref). */
    const type_t *list_type;
    const type_t *node_type;
} guard_ops_t;

/* A registered guard: the facts from GUARD_LIST and its operations. */
typedef struct guard_info {
    const char *name;
    const char *description;
    bool threadsafe;               /* may run with more than one thread */
    bool has_gil;                  /* serialises bytecode with interp->gil */
    heap_kind_t default_allocator; /* what CPython's build would use */
    obj_layout_t layout;           /* the build's object header */
    const guard_ops_t *ops[2];     /* [immortal]: the loop compiled without
                                      (--no-immortal) and with PEP 683 */
} guard_info_t;

/* The registered guard `kind` (never NULL for a valid kind). */
const guard_info_t *guard_get(guard_kind_t kind);
/* Guard name of `kind`. */
const char *guard_name(guard_kind_t kind);
/* Guard by name; returns -1 when unknown. */
int guard_find(const char *name);

#endif
