/* gil/brc.h: the slow paths of biased reference counting (Choi, Shull and
 * Torrellas, PACT 2018), as free-threaded CPython implements them
 * (Python/brc.c and Objects/object.c, PEP 703).
 *
 * The fast paths (owner increments ref_local without atomics, everyone else
 * does an atomic add on the shared count) are inline in gil/guard_biased.c.
 * What lives here is what happens when counts must meet:
 *
 *  - A non-owner decref that finds the shared count at zero cannot subtract
 *    (the owner may still hold local references). It marks the object
 *    QUEUED and pushes it on the owner's queue, keeping one reference for
 *    the queue, then sets the owner's EB_BRC_MERGE eval-breaker bit.
 *  - The owner, at its next eval-breaker check, merges every queued object:
 *    counts are folded into the shared field with the MERGED state, the
 *    queue's reference is dropped, and the object is freed if nothing is
 *    left.
 *  - When the owner's local count reaches zero it merges too, and frees the
 *    object if the shared count was zero.
 *  - If the owner has already exited, the non-owner merges on the spot.
 *  - A thread that goes merges its queue before it is unlinked
 *    (brc_remove_thread), so an owner never disappears with work pending.
 *
 * Thread ids are never reused in the lab, so "owner not found" really means
 * the owner has gone (CPython reuses ids and copes; the README says so).
 */
#ifndef GL_BRC_H
#define GL_BRC_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef struct obj obj_t;
typedef struct tstate tstate_t;

/* The per-owner queue of objects handed over by other threads. */
typedef struct brc_queue {
    pthread_mutex_t mutex;
    obj_t **items;
    size_t count;
    size_t capacity;
} brc_queue_t;

/* Initialise an empty queue. Cannot fail. */
void brc_queue_init(brc_queue_t *q);
/* Free an empty queue's storage. Cannot fail. */
void brc_queue_destroy(brc_queue_t *q);

/* Append o (the queue's mutex taken). Out of memory is fatal, as in
 * CPython. The queue is a plain array of objects, also the shape the
 * collector's work lists take (lab/gc_ft.c). */
void brc_queue_push(brc_queue_t *q, obj_t *o);
/* Take every item out (the mutex taken); the caller frees the array.
 * Cannot fail. */
obj_t **brc_queue_take(brc_queue_t *q, size_t *count);

/* Non-owner decref slow path (CPython _Py_DecRefShared): the shared count of
 * `o` is being dropped by `ts`, which is not the owner. Frees the object when
 * this was the last reference. Cannot fail (out of memory for the queue is
 * fatal, as in CPython). */
void brc_decref_shared(tstate_t *ts, obj_t *o);

/* Owner's local count reached zero (CPython _Py_MergeZeroLocalRefcount). */
void brc_merge_zero_local(tstate_t *ts, obj_t *o);

/* Owner's eval-breaker handler (CPython _Py_brc_merge_refcounts): merge and
 * possibly free every object queued to `ts`. */
void brc_merge_queue(tstate_t *ts);

/* merge_queued_objects (gc_free_threading.c), for the collector `ts` while
 * the world is stopped (so the owner's local count may be written by
 * another thread): merge every object queued to `owner`, dropping the
 * queue's reference. A dead tracked container is left alone: its count of
 * 0 makes it garbage for the collection about to run. Any other dead
 * object gets one reference back and goes on `to_decref`, to be released
 * once the world runs again. The merges count on ts: a detached owner may
 * be reading its own counters meanwhile. Cannot fail. */
void brc_merge_queue_stopped(tstate_t *ts, tstate_t *owner, brc_queue_t *to_decref);

/* A thread state is going (CPython _Py_brc_remove_thread): merge every
 * object queued to it, and only once its queue is empty, under the lock
 * that queueing threads take, unlink it from the interpreter's threads.
 * From then on other threads find its objects ownerless and merge them
 * themselves; before then they queue to it. Unlinking first would let a
 * thread merge an object (writing ref_local) while this one, still merging
 * its queue, may do owner-local refcounting on the same object. Cannot
 * fail. */
void brc_remove_thread(tstate_t *ts);

#endif
