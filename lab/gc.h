/* lab/gc.h: the cycle collector of CPython's default build, generational,
 * as Modules/gcmodule.c has it in 3.12 (the seed notes' 700/10/10).
 *
 * Reference counting frees an object the moment its count drops to zero,
 * but two objects that refer to each other keep their counts above zero
 * after the program has let go of both: a cycle. The collector finds such
 * garbage among the *containers* (objects that can refer to others: lists,
 * nodes), which it keeps on doubly linked lists through the PyGC_Head in
 * front of each (lab/object.h), one list per generation:
 *
 *   generation 0   new containers; collected when allocations minus
 *                  deallocations of containers exceed threshold 0 (700)
 *   generation 1   survivors of a generation-0 collection; collected when
 *                  more than threshold 1 (10) generation-0 collections
 *                  happened since the last generation-1 collection
 *   generation 2   survivors of generation 1; collected after more than
 *                  threshold 2 (10) generation-1 collections, but only if
 *                  the objects awaiting their first full collection
 *                  (long_lived_pending) are more than 25 % of those that
 *                  survived the last one (long_lived_total): without that
 *                  rule a program building a large structure would pay a
 *                  full collection quadratic in its size
 *   permanent      gc.freeze(): never examined again
 *
 * Collecting a generation (gc_collect_main, CPython's function of that
 * name), younger ones merged into it:
 *
 *   1. update_refs      copy every object's refcount into its gc_refs
 *                       (kept in the high bits of gc_prev meanwhile)
 *   2. subtract_refs    for every reference from one object of the set to
 *                       another (tp_traverse), take one off the target's
 *                       gc_refs: what remains counts references from
 *                       outside the set
 *   3. move_unreachable objects with gc_refs > 0 are reachable, and so is
 *                       everything they reach; the rest move to the
 *                       `unreachable` list
 *   4. survivors move up one generation
 *   5. delete_garbage   clear each unreachable object (tp_clear drops its
 *                       references), which breaks the cycles; refcounting
 *                       then frees them
 *
 * A collection is not run inside the allocation that triggers it: from 3.12
 * the allocation sets the eval breaker's GC bit (_Py_ScheduleGC) and the
 * thread collects at its next eval-breaker check (_Py_RunGC), holding the
 * GIL, so other threads wait.
 *
 * What the lab leaves out: finalizers (__del__, tp_finalize), weak
 * references and callbacks, resurrection, gc.garbage, untracking of tuples
 * and dicts (the lab has neither). None of its objects has a finalizer, so
 * nothing is ever uncollectable; the counter is kept at 0 for the report.
 *
 * The free-threaded collector (3.13t) is in lab/gc_ft.c: no PyGC_Head, no
 * generations, the world stopped while it looks; it shares the passes
 * below.
 */
#ifndef GL_GC_H
#define GL_GC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lab/object.h"

#define GC_GENERATIONS 3

/* Threshold presets: CPython 3.12 (and the seed notes) and 3.13, whose
 * threshold 0 is 2000. */
#define GC_THRESHOLDS_312 {700, 10, 10}
#define GC_THRESHOLDS_313 {2000, 10, 10}
#define GC_MAX_THRESHOLD 1000000000

typedef struct gc_generation {
    gc_head_t head;        /* list head: gc_next/gc_prev of a ring */
    int64_t threshold;
    int64_t count;         /* gen 0: containers allocated - freed; gen n:
                              collections of gen n-1 since the last of gen n */
} gc_generation_t;

/* Statistics per generation (gc.get_stats()), plus what the lab adds. */
typedef struct gc_gen_stats {
    uint64_t collections;
    uint64_t collected;
    uint64_t uncollectable;   /* always 0: nothing has a finalizer */
    uint64_t examined;        /* objects in the collected generations */
} gc_gen_stats_t;

/* One collection: when it started (clock_now_ns), how long it paused the
 * program, which generation (the free-threaded collector: 0 automatic, 2
 * gc.collect()). */
typedef struct gc_event {
    uint64_t start_ns;
    uint64_t pause_ns;
    int generation;
} gc_event_t;

typedef struct gc_state {
    gc_generation_t gen[GC_GENERATIONS];
    gc_generation_t permanent;         /* gc.freeze() */
    int64_t long_lived_total;          /* survivors of the last full collection */
    int64_t long_lived_pending;        /* promoted to gen 2 since */
    bool enabled;                      /* gc.enable() / gc.disable() */
    bool collecting;                   /* __atomic access in the free-threaded build */
    obj_layout_t layout;               /* whose objects: how to read a refcount */
    size_t head;                       /* header bytes between the link and ob_type */
    gc_gen_stats_t stats[GC_GENERATIONS];
    /* Every collection, for the pause percentiles and the memory trace
     * (grows as needed; a failed growth drops the record and counts it in
     * events_lost). */
    gc_event_t *events;
    size_t nevents, cap_events;
    uint64_t events_lost;
} gc_state_t;

typedef struct interp interp_t;

/* The collector's settings for a run. */
typedef struct gc_config {
    bool disabled;                     /* --gc off: gc.disable() from the start */
    bool freeze;                       /* --gc-freeze: gc.freeze() after the
                                          workload's setup (runners/runner.c) */
    bool thresholds_set;               /* else the modelled build's own */
    int64_t thresholds[GC_GENERATIONS];/* gc.set_threshold(); 0 in the first
                                          turns automatic collection off */
} gc_config_t;

/* The thresholds a configuration means for objects of `layout` (none
 * given: the modelled build's own, 3.12's 700/10/10 for the default build,
 * 3.13's 2000/10/10 for the free-threaded one). Cannot fail. */
void gc_thresholds_of(const gc_config_t *config, obj_layout_t layout, int64_t out[GC_GENERATIONS]);

/* Set up an empty collector for objects of `layout`. Cannot fail. */
void gc_init(gc_state_t *gc, const gc_config_t *config, obj_layout_t layout);
/* Release its pause record. Cannot fail. */
void gc_destroy(gc_state_t *gc);

/* ---- lists of containers (gcmodule.c's gc_list_*) ----------------------- */

/* The two low bits of gc_prev are flags; during a collection the rest
 * holds gc_refs. */
#define GC_PREV_MASK_FINALIZED ((uintptr_t)1)   /* _PyGC_PREV_MASK_FINALIZED */
#define GC_PREV_MASK_COLLECTING ((uintptr_t)2)  /* _PyGC_PREV_MASK_COLLECTING */
#define GC_PREV_SHIFT 2
#define GC_PREV_MASK (~(uintptr_t)0 << GC_PREV_SHIFT)
#define GC_NEXT_MASK_UNREACHABLE ((uintptr_t)1)

static inline void gc_list_init(gc_head_t *list)
{
    list->gc_prev = (uintptr_t)list;
    list->gc_next = (uintptr_t)list;
}

static inline bool gc_list_is_empty(const gc_head_t *list)
{
    return list->gc_next == (uintptr_t)list;
}

static inline gc_head_t *gc_next(const gc_head_t *g)
{
    return (gc_head_t *)g->gc_next;
}

static inline gc_head_t *gc_prev(const gc_head_t *g)
{
    return (gc_head_t *)(g->gc_prev & GC_PREV_MASK);
}

static inline void gc_set_prev(gc_head_t *g, gc_head_t *prev)
{
    g->gc_prev = (g->gc_prev & ~GC_PREV_MASK) | (uintptr_t)prev;
}

/* gc_list_append */
static inline void gc_list_append(gc_head_t *node, gc_head_t *list)
{
    gc_head_t *last = (gc_head_t *)list->gc_prev;
    gc_set_prev(node, last);
    last->gc_next = (uintptr_t)node;
    node->gc_next = (uintptr_t)list;
    list->gc_prev = (uintptr_t)node;
}

/* gc_list_move: unlink node from its list, append it to list. */
static inline void gc_list_move(gc_head_t *node, gc_head_t *list)
{
    gc_head_t *from_prev = gc_prev(node), *from_next = gc_next(node);
    from_prev->gc_next = (uintptr_t)from_next;
    gc_set_prev(from_next, from_prev);
    gc_list_append(node, list);
}

/* gc_list_merge: append `from` to `to`; `from` becomes empty. */
static inline void gc_list_merge(gc_head_t *from, gc_head_t *to)
{
    if (!gc_list_is_empty(from)) {
        gc_head_t *to_tail = (gc_head_t *)to->gc_prev;
        gc_head_t *from_head = gc_next(from), *from_tail = (gc_head_t *)from->gc_prev;
        to_tail->gc_next = (uintptr_t)from_head;
        gc_set_prev(from_head, to_tail);
        to->gc_prev = (uintptr_t)from_tail;
        from_tail->gc_next = (uintptr_t)to;
    }
    gc_list_init(from);
}

static inline int64_t gc_list_size(const gc_head_t *list)
{
    int64_t n = 0;
    for (const gc_head_t *g = gc_next(list); g != list; g = gc_next(g))
        n++;
    return n;
}


/* The link in front of a container's header, in either layout (`head`:
 * the header's size, obj_head_size): the PyGC_Head of the default build,
 * the lab's ring link in the free-threaded one (lab/gc_ft.h). */
static inline gc_head_t *gc_link_of(const obj_t *o, size_t head)
{
    return (gc_head_t *)((uintptr_t)o - head) - 1;
}

static inline obj_t *gc_obj(gc_head_t *g, size_t head)
{
    return (obj_t *)((uintptr_t)(g + 1) + head);
}

/* gc_list_remove: unlink g from the list that holds it. */
static inline void gc_list_remove(gc_head_t *g)
{
    gc_head_t *prev = gc_prev(g), *next = gc_next(g);
    prev->gc_next = (uintptr_t)next;
    gc_set_prev(next, prev);
    g->gc_next = 0;
    g->gc_prev &= GC_PREV_MASK_FINALIZED;
}

/* ---- tracking (default build) ------------------------------------------ */

/* The PyGC_Head of a default-build container. */
static inline gc_head_t *gc_of(const obj_t *o)
{
    return gc_link_of(o, sizeof(obj_head_dflt_t));
}

static inline bool gc_is_tracked(const obj_t *o)
{
    return gc_of(o)->gc_next != 0;
}

/* _PyObject_GC_TRACK: append to generation 0. */
static inline void gc_track(gc_state_t *gc, obj_t *o)
{
    gc_list_append(gc_of(o), &gc->gen[0].head);
}

/* _PyObject_GC_UNTRACK: unlink from whatever list holds it. */
static inline void gc_untrack(obj_t *o)
{
    gc_list_remove(gc_of(o));
}

/* _PyObject_GC_Link's accounting for a new container: count it in
 * generation 0, and say whether a collection is now due (the caller
 * schedules it through its eval breaker, _Py_ScheduleGC). */
static inline bool gc_note_alloc(gc_state_t *gc)
{
    gc->gen[0].count++;
    return gc->gen[0].count > gc->gen[0].threshold && gc->enabled && gc->gen[0].threshold != 0 &&
           !gc->collecting;
}

/* PyObject_GC_Del's accounting for a freed container. */
static inline void gc_note_free(gc_state_t *gc)
{
    if (gc->gen[0].count > 0)
        gc->gen[0].count--;
}

/* ---- collecting ----------------------------------------------------------- */

/* Each of these works on either build's collector: the generational one
 * here, the free-threaded one (lab/gc_ft.h) when the interpreter's objects
 * are laid out free-threaded. They are called by a thread that is
 * attached (holds the GIL under `gil`). */

/* _Py_RunGC: collect the oldest generation whose count exceeds its
 * threshold (the long-lived rule applying to generation 2). Returns the
 * number of objects collected. Cannot fail. */
int64_t gc_collect_scheduled(tstate_t *ts);

/* gc.collect(generation): collect `generation` and every younger one (the
 * free-threaded collector always collects everything, and counts it under
 * `generation`). Returns the number of objects collected. Cannot fail. */
int64_t gc_collect(tstate_t *ts, int generation);

/* Count the containers no reference from outside reaches in the
 * generations a full collection examines (not the frozen ones: no
 * collection ever frees those, the collector on or off), without changing
 * anything: what would leak with the collector off. Cannot fail. */
int64_t gc_count_unreachable(tstate_t *ts);

/* gc.freeze(): every tracked object goes to the permanent generation,
 * where collections never look; gc.unfreeze() puts them back in the
 * oldest. Cannot fail. */
void gc_freeze(tstate_t *ts);
void gc_unfreeze(tstate_t *ts);

/* gc.get_count(): the three counts. Cannot fail. */
void gc_get_count(const gc_state_t *gc, int64_t out[GC_GENERATIONS]);

/* Containers in one generation (gc.get_objects(gen) length; -1: the
 * permanent generation). The free-threaded collector has one generation
 * (0) besides the permanent one. Cannot fail. */
int64_t gc_generation_size(tstate_t *ts, int generation);

/* ---- the passes both collectors share (lab/gc.c) ------------------------ */

/* deduce_unreachable: update_refs, subtract_refs, move_unreachable over
 * the list `base`; the unreachable ones end up on `unreachable` (still
 * marked collecting), the rest stay on `base`, unmarked. */
void gc_deduce_unreachable(gc_state_t *gc, gc_head_t *base, gc_head_t *unreachable);
/* Unmark what gc_deduce_unreachable left on `unreachable`, to keep it. */
void gc_restore_unreachable(gc_head_t *unreachable);
/* delete_garbage: tp_clear each object of `collectable` (keeping it alive
 * meanwhile), which breaks its cycles; whatever is still alive afterwards
 * moves to `old`. */
void gc_delete_garbage(tstate_t *ts, gc_head_t *collectable, gc_head_t *old);
/* Keep a collection's pause for the percentiles. */
void gc_record_pause(gc_state_t *gc, uint64_t start_ns, uint64_t pause_ns, int generation);

/* ---- what a run reports ----------------------------------------------------- */

/* Where the statistics stood at some moment, to report a run's share. */
typedef struct gc_mark {
    gc_gen_stats_t stats[GC_GENERATIONS];
    size_t nevents;
} gc_mark_t;

/* The distribution of some pauses (nearest rank); zeros when none. */
typedef struct gc_pauses {
    uint64_t count;
    uint64_t total_ns, p50_ns, p99_ns, max_ns;
} gc_pauses_t;

/* A run's collections: per generation, and the pauses' distribution, of
 * all of them and of each generation's. */
typedef struct gc_summary {
    gc_gen_stats_t gen[GC_GENERATIONS];
    gc_pauses_t all;
    gc_pauses_t by_gen[GC_GENERATIONS];
} gc_summary_t;

/* Mark the statistics now. Cannot fail. */
void gc_mark(const gc_state_t *gc, gc_mark_t *mark);
/* What happened since `mark`: counts and pause percentiles (nearest
 * rank). Returns 0, or -1 when out of memory for sorting the pauses (the
 * counts are filled, the percentiles 0). */
int gc_summarize(const gc_state_t *gc, const gc_mark_t *mark, gc_summary_t *out);

#endif
