/* lab/gc_ft.h: the cycle collector of free-threaded CPython 3.13t
 * (Python/gc_free_threading.c), and how the lab finds its containers.
 *
 * WHAT CPYTHON DOES
 *
 * Without a GIL there is no moment when one thread can look at the heap
 * while the others wait for the lock, so the collector makes one: it stops
 * the world (gil/stw.h), every other thread parked at a safe point, and
 * looks at every container of the interpreter at once. There are no
 * generations and no PyGC_Head: a container's state lives in its header
 * (ob_gc_bits: tracked, frozen, unreachable), and the collector finds the
 * containers by walking mimalloc's heaps, where free-threaded CPython
 * allocates every container in a heap of its own per thread.
 *
 *   trigger      record_allocation: each thread counts its container
 *                allocations minus deallocations locally and adds them to
 *                the interpreter's count every 512 (LOCAL_ALLOC_COUNT_
 *                THRESHOLD), so the shared counter is not a hot line; a
 *                collection is due when the count exceeds threshold 0
 *                (2000 in 3.13) and a quarter of the containers that
 *                survived the last collection (gc_should_collect). The
 *                thread that sees it schedules the collection through its
 *                eval breaker, as in the default build.
 *   collection   gc_collect_internal: stop the world; merge every object
 *                queued for a biased-refcount merge (their counts must be
 *                whole); find the unreachable containers with the
 *                default build's passes (refcount minus internal
 *                references, then reachability); give each one reference
 *                so it cannot die early; clear the freelists; start the
 *                world; then clear the garbage (tp_clear) and drop those
 *                references while the other threads run again.
 *   statistics   every collection is a full one; an automatic one counts
 *                as generation 0, gc.collect() as generation 2.
 *
 * WHAT THE LAB DOES DIFFERENTLY
 *
 * The lab's allocators are interchangeable (pymalloc, mimalloc, malloc),
 * and only mimalloc can be walked. So the lab keeps each thread's
 * containers on a ring of its own, through a 16-byte link in front of the
 * header, where the default build has its PyGC_Head; CPython has no such
 * link, so a free-threaded container takes 16 bytes more in the lab than
 * in CPython (the README and `gil-lab sizes` say so). The ring is the
 * lab's stand-in for the thread's mimalloc heap, with mimalloc's rule:
 *
 *   - the allocating thread owns the container; the owner's slot number is
 *     kept in the header's 2-byte _padding field, which CPython 3.13 leaves
 *     unused;
 *   - the owner links and unlinks without any lock or atomic;
 *   - another thread that frees it hands the block to the owner's remote-
 *     free queue (mimalloc's cross-thread free list), and the owner unlinks
 *     and frees it at its next eval-breaker check; a collection frees every
 *     such block while the world is stopped;
 *   - containers of a thread that has gone are "orphans" (mimalloc's
 *     abandoned segments), kept on one ring under interp->lock.
 *
 * The collector merges every ring into one list, runs the passes of
 * lab/gc.c over it (gc_refs in the link, where CPython 3.13t keeps them in
 * ob_tid: the same numbers), and hands the survivors back to their owners.
 * Also left out: deferred reference counting, the "mark alive" pass of
 * 3.14, finalizers and resurrection (so one pause, where CPython pauses a
 * second time to check for resurrected objects).
 */
#ifndef GL_GC_FT_H
#define GL_GC_FT_H

#include <stdbool.h>
#include <stdint.h>

#include "lab/gc.h"

/* LOCAL_ALLOC_COUNT_THRESHOLD */
#define GC_FT_LOCAL_COUNT 512

/* Owner slots: 0 marks an orphan; live threads get 1 .. GC_FT_MAX_OWNERS-1
 * (a slot is reused once its thread has gone). */
#define GC_FT_ORPHAN 0u
#define GC_FT_MAX_OWNERS 4096u
/* The slot of a thread that has given its containers up: matches none. */
#define GC_FT_NO_SLOT 0xffffu

/* The lab's link of a free-threaded container. */
static inline gc_head_t *gc_ft_link(const obj_t *o)
{
    return gc_link_of(o, sizeof(obj_head_ft_t));
}

/* The owner's slot of a container (another thread may be rewriting it:
 * an owner that goes makes its containers orphans). */
static inline uint16_t gc_ft_slot(const obj_t *o)
{
    return __atomic_load_n(&obj_ft(o)->padding, __ATOMIC_RELAXED);
}

/* record_allocation / record_deallocation, past the local threshold: add
 * the thread's count to the interpreter's. Returns true when a collection
 * is now due (the caller schedules it). Cannot fail. */
bool gc_ft_flush_count(tstate_t *ts);

/* PyObject_GC_Del of a container another thread owns (or an orphan):
 * hand the block to its owner, or free an orphan under interp->lock. */
void gc_ft_free_remote(tstate_t *ts, obj_t *o);

/* Free a dead container, whoever owns it (the slow path's entry point for
 * code outside the interpreter loop). Cannot fail. */
void gc_ft_free(tstate_t *ts, obj_t *o);

/* The owner's eval-breaker handler (EB_REMOTE_FREE): unlink and free the
 * blocks other threads freed. Cannot fail. */
void gc_ft_free_queued(tstate_t *ts);

/* gc_collect_main: one collection (`scheduled`: the automatic one, which
 * gives up if another thread collected meanwhile). Returns the number of
 * objects collected. Cannot fail. */
int64_t gc_ft_collect(tstate_t *ts, int generation, bool scheduled);

/* gc_count_unreachable, gc_freeze (on) / gc_unfreeze (off) and
 * gc_generation_size of lab/gc.h, for free-threaded objects: each stops
 * the world. */
int64_t gc_ft_count_unreachable(tstate_t *ts);
void gc_ft_freeze(tstate_t *ts, bool on);
int64_t gc_ft_generation_size(tstate_t *ts, int generation);

/* What Py_Finalize needs before a leak check: with the world stopped, every
 * block queued for its owner freed and every thread's list freelist
 * cleared. Cannot fail. */
void gc_ft_release_all(tstate_t *ts);

/* Thread states: take a slot (interp->lock held; false when all are
 * taken), and give the containers up when the thread goes (ts attached,
 * interp->lock not held): they become orphans. */
bool gc_ft_thread_new(tstate_t *ts);
void gc_ft_thread_gone(tstate_t *ts);

/* In a forked child, after the locks are re-created: the containers of the
 * threads that did not survive become orphans. Cannot fail. */
void gc_ft_after_fork_child(interp_t *interp, tstate_t *ts);

#endif
