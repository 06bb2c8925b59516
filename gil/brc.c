/* gil/brc.c: the slow paths of biased reference counting: queueing an
 * object to its owner, merging the two counts, and freeing exactly once.
 * The design is described in gil/brc.h; the fast paths are in
 * gil/guard_biased.c. Each function names the CPython function it models.
 */
#include "gil/brc.h"

#include <stdlib.h>

#include "gil/stw.h"
#include "lab/interp.h"
#include "lab/test_hooks.h"

void brc_queue_init(brc_queue_t *q)
{
    GL_PTHREAD_CHECK(pthread_mutex_init(&q->mutex, NULL));
    q->items = NULL;
    q->count = 0;
    q->capacity = 0;
}

void brc_queue_destroy(brc_queue_t *q)
{
    free(q->items);
    q->items = NULL;
    q->count = q->capacity = 0;
    GL_PTHREAD_CHECK(pthread_mutex_destroy(&q->mutex));
}

void brc_queue_push(brc_queue_t *q, obj_t *o)
{
    GL_PTHREAD_CHECK(pthread_mutex_lock(&q->mutex));
    if (q->count == q->capacity) {
        size_t cap = q->capacity ? q->capacity * 2 : 64;
        obj_t **items = realloc(q->items, cap * sizeof(*items));
        if (items == NULL) {
            fprintf(stderr, "gil-lab: fatal: out of memory in a queue of objects\n");
            abort();
        }
        q->items = items;
        q->capacity = cap;
    }
    q->items[q->count++] = o;
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&q->mutex));
}

obj_t **brc_queue_take(brc_queue_t *q, size_t *count)
{
    GL_PTHREAD_CHECK(pthread_mutex_lock(&q->mutex));
    obj_t **items = q->items;
    *count = q->count;
    q->items = NULL;
    q->count = q->capacity = 0;
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&q->mutex));
    return items;
}

static void brc_dealloc(tstate_t *ts, obj_t *o)
{
    o->type->dealloc(ts, o);
}

/* _Py_ExplicitMergeRefcount: fold the owner's and the shared counts into the
 * shared field, mark it MERGED and give up ownership. `extra` is added to
 * the total (-1 drops the queue's reference). Returns the merged count.
 * Only the owner, or anyone once the owner is gone, may call it: it writes
 * ref_local.
 *
 * The order matters (CPython gh-119999): ref_local and tid are cleared
 * *before* the compare-and-swap that publishes the merged count. The moment
 * MERGED is visible, another thread may drop the last reference through the
 * shared field and free the object; a store after the CAS would then write
 * into freed memory. After the CAS this function touches nothing but its
 * own locals (tests/tsan_brc.c holds it there while a third thread frees
 * the object). */
static intptr_t brc_explicit_merge(obj_t *o, intptr_t extra)
{
    intptr_t local = (intptr_t)__atomic_load_n(&obj_ft(o)->ref_local, __ATOMIC_RELAXED);
    __atomic_store_n(&obj_ft(o)->ref_local, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&obj_ft(o)->tid, 0, __ATOMIC_RELAXED);
    intptr_t shared = __atomic_load_n(&obj_ft(o)->ref_shared, __ATOMIC_RELAXED);
    intptr_t total, merged;
    do {
        /* The shared field is count << 2 | state; the count may be negative
         * (non-owners released references the owner counted), and the
         * arithmetic shift keeps its sign (GCC and Clang guarantee it). */
        total = (shared >> BRC_SHARED_SHIFT) + local + extra;
        merged = (total << BRC_SHARED_SHIFT) | BRC_MERGED;
    } while (!__atomic_compare_exchange_n(&obj_ft(o)->ref_shared, &shared, merged, 0, __ATOMIC_ACQ_REL,
                                          __ATOMIC_RELAXED));
    GL_TEST_HOOK(brc_after_merge, o);
    return total;
}

/* _Py_brc_queue_object: hand `o` to its owner, or merge it here when the
 * owner has exited. The interp lock (CPython: the owner's bucket mutex) is
 * held from the look-up to the push, so that the owner cannot finish
 * brc_remove_thread in between, and while merging for a gone owner. */
static void brc_queue_object(tstate_t *ts, obj_t *o)
{
    interp_t *interp = ts->interp;
    uintptr_t owner_id = __atomic_load_n(&obj_ft(o)->tid, __ATOMIC_ACQUIRE);
    if (owner_id == 0) {
        /* The owner merged the counts meanwhile (tid is cleared before the
         * merged count is published): drop the reference the plain way,
         * through the shared count, as CPython's Py_DECREF does here. */
        brc_decref_shared(ts, o);
        return;
    }
    TS_COUNT(ts, brc_queued);

    GL_PTHREAD_CHECK(pthread_mutex_lock(&interp->lock));
    tstate_t *owner = interp->threads;
    while (owner != NULL && owner->id != owner_id)
        owner = owner->next;
    if (owner != NULL) {
        brc_queue_push(&owner->brc, o);
        __atomic_fetch_or(&owner->eval_breaker, EB_BRC_MERGE, __ATOMIC_RELAXED);
        GL_PTHREAD_CHECK(pthread_mutex_unlock(&interp->lock));
        return;
    }
    /* The owner is gone: nobody will write ref_local again, merge now
     * (the queue's reference, stolen, is the -1). */
    intptr_t left = brc_explicit_merge(o, -1);
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&interp->lock));
    if (left == 0)
        brc_dealloc(ts, o);
}

void brc_decref_shared(tstate_t *ts, obj_t *o)
{
    intptr_t shared = __atomic_load_n(&obj_ft(o)->ref_shared, __ATOMIC_RELAXED);
    intptr_t next;
    int queue;
    do {
        /* Shared count zero in the default state: the reference being
         * dropped was counted by the owner. Don't subtract; queue it, and
         * let the queue hold that reference until the owner merges. */
        queue = shared == 0;
        next = queue ? BRC_QUEUED : shared - ((intptr_t)1 << BRC_SHARED_SHIFT);
    } while (!__atomic_compare_exchange_n(&obj_ft(o)->ref_shared, &shared, next, 0, __ATOMIC_ACQ_REL,
                                          __ATOMIC_RELAXED));
    if (queue)
        brc_queue_object(ts, o);
    else if (next == BRC_MERGED)   /* merged and now zero: last reference */
        brc_dealloc(ts, o);
}

void brc_merge_zero_local(tstate_t *ts, obj_t *o)
{
    intptr_t shared = __atomic_load_n(&obj_ft(o)->ref_shared, __ATOMIC_ACQUIRE);
    if (shared == 0) {   /* fast path: nobody else ever counted it */
        brc_dealloc(ts, o);
        return;
    }
    __atomic_store_n(&obj_ft(o)->tid, 0, __ATOMIC_RELAXED);
    intptr_t merged;
    do {
        merged = (shared & ~BRC_FLAG_MASK) | BRC_MERGED;
    } while (!__atomic_compare_exchange_n(&obj_ft(o)->ref_shared, &shared, merged, 0, __ATOMIC_ACQ_REL,
                                          __ATOMIC_ACQUIRE));
    if (merged == BRC_MERGED)
        brc_dealloc(ts, o);
}

/* merge_queued_objects: merge each object, dropping the queue's reference. */
static void brc_merge_items(tstate_t *ts, obj_t **items, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        GL_TEST_HOOK(brc_before_merge_item, items[i]);
        TS_COUNT(ts, brc_merged);
        if (brc_explicit_merge(items[i], -1) == 0)
            brc_dealloc(ts, items[i]);
    }
    free(items);
}

void brc_merge_queue(tstate_t *ts)
{
    size_t count;
    obj_t **items = brc_queue_take(&ts->brc, &count);
    brc_merge_items(ts, items, count);
}

void brc_merge_queue_stopped(tstate_t *ts, tstate_t *owner, brc_queue_t *to_decref)
{
    size_t count;
    obj_t **items = brc_queue_take(&owner->brc, &count);
    for (size_t i = 0; i < count; i++) {
        obj_t *o = items[i];
        TS_COUNT(ts, brc_merged);
        if (brc_explicit_merge(o, -1) != 0)
            continue;
        if ((o->type->flags & TYPE_GC) && (obj_ft(o)->gc_bits & GC_BITS_TRACKED))
            continue;   /* the collector finds it unreachable */
        __atomic_fetch_add(&obj_ft(o)->ref_shared, (intptr_t)1 << BRC_SHARED_SHIFT, __ATOMIC_RELAXED);
        brc_queue_push(to_decref, o);
    }
    free(items);
}

void brc_remove_thread(tstate_t *ts)
{
    interp_t *interp = ts->interp;
    brc_queue_t *q = &ts->brc;
    for (;;) {
        size_t count;
        GL_PTHREAD_CHECK(pthread_mutex_lock(&interp->lock));
        GL_PTHREAD_CHECK(pthread_mutex_lock(&q->mutex));
        obj_t **items = q->items;
        count = q->count;
        q->items = NULL;
        q->count = q->capacity = 0;
        if (count == 0) {
            for (tstate_t **p = &interp->threads; *p != NULL; p = &(*p)->next) {
                if (*p == ts) {
                    *p = ts->next;
                    break;
                }
            }
            stw_thread_unlinked(interp, ts);
        }
        GL_PTHREAD_CHECK(pthread_mutex_unlock(&q->mutex));
        GL_PTHREAD_CHECK(pthread_mutex_unlock(&interp->lock));
        if (count == 0) {
            free(items);
            return;
        }
        brc_merge_items(ts, items, count);
    }
}
