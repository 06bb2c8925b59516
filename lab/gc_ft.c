/* lab/gc_ft.c: the free-threaded cycle collector and the owner rings it
 * walks (design in lab/gc_ft.h). Functions name the ones of CPython 3.13's
 * Python/gc_free_threading.c they follow.
 */
#include "lab/gc_ft.h"

#include <stdlib.h>

#include "gil/brc.h"
#include "gil/stw.h"
#include "lab/clock.h"
#include "lab/interp.h"

/* The block a free-threaded container was allocated in: link, header. */
static void *gc_ft_block(obj_t *o)
{
    return gc_ft_link(o);
}

/* ---- counting --------------------------------------------------------------- */

/* gc_should_collect */
static bool gc_ft_should_collect(gc_state_t *gc)
{
    int64_t count = __atomic_load_n(&gc->gen[0].count, __ATOMIC_RELAXED);
    int64_t threshold = __atomic_load_n(&gc->gen[0].threshold, __ATOMIC_RELAXED);   /* gc.set_threshold */
    if (count <= threshold || threshold == 0 || !__atomic_load_n(&gc->enabled, __ATOMIC_RELAXED))
        return false;
    /* Scale the threshold with the live containers, against quadratic
     * behaviour; threshold 1 at zero keeps the immediate scheduling some
     * CPython tests rely on. */
    return count > __atomic_load_n(&gc->long_lived_total, __ATOMIC_RELAXED) / 4 ||
           __atomic_load_n(&gc->gen[1].threshold, __ATOMIC_RELAXED) == 0;
}

bool gc_ft_flush_count(tstate_t *ts)
{
    gc_state_t *gc = &ts->interp->gc;
    int local = ts->gc_alloc_count;
    ts->gc_alloc_count = 0;
    if (local >= 0) {
        /* record_allocation: add, and schedule a collection if one is due. */
        __atomic_fetch_add(&gc->gen[0].count, (int64_t)local, __ATOMIC_RELAXED);
        return gc_ft_should_collect(gc) && !__atomic_load_n(&gc->collecting, __ATOMIC_RELAXED);
    }
    /* record_deallocation: subtract, but never below zero, as the default
     * build's count never goes (CPython gh-142048, fixed in December 2025:
     * before, the frees of each collection's own garbage drove the count
     * negative, so every collection came 2000 containers later than the
     * last, and the pauses grew with them). */
    int64_t count = __atomic_load_n(&gc->gen[0].count, __ATOMIC_RELAXED), next;
    do {
        next = count + local > 0 ? count + local : 0;
    } while (!__atomic_compare_exchange_n(&gc->gen[0].count, &count, next, false, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
    return false;
}

/* ---- freeing across threads ------------------------------------------------- */

/* Unlink and free, by the owner, or by anyone while the world is stopped. */
static void gc_ft_free_here(interp_t *interp, obj_t *o)
{
    gc_list_remove(gc_ft_link(o));
    heap_free(&interp->heap, gc_ft_block(o));
}

void gc_ft_free_remote(tstate_t *ts, obj_t *o)
{
    interp_t *interp = ts->interp;
    GL_PTHREAD_CHECK(pthread_mutex_lock(&interp->lock));
    /* Read again under the lock: an owner that goes rewrites its
     * containers' slots under it, and its slot may since serve another. */
    uint16_t slot = gc_ft_slot(o);
    tstate_t *owner = slot == GC_FT_ORPHAN ? NULL : interp->gc_owners[slot];
    if (owner == NULL) {
        gc_ft_free_here(interp, o);   /* the orphan ring is kept under the lock */
    } else {
        brc_queue_push(&owner->gc_remote, o);
        __atomic_fetch_or(&owner->eval_breaker, EB_REMOTE_FREE, __ATOMIC_RELAXED);
    }
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&interp->lock));
}

void gc_ft_free(tstate_t *ts, obj_t *o)
{
    if (--ts->gc_alloc_count <= -GC_FT_LOCAL_COUNT)
        gc_ft_flush_count(ts);
    if (gc_ft_slot(o) == ts->gc_slot)
        gc_ft_free_here(ts->interp, o);
    else
        gc_ft_free_remote(ts, o);
}

/* Free every block queued to `owner`: by the owner, or by the collector
 * while the world is stopped. */
static void gc_ft_free_queue_of(interp_t *interp, tstate_t *owner)
{
    size_t count;
    obj_t **items = brc_queue_take(&owner->gc_remote, &count);
    for (size_t i = 0; i < count; i++)
        gc_ft_free_here(interp, items[i]);
    free(items);
}

void gc_ft_free_queued(tstate_t *ts)
{
    __atomic_fetch_and(&ts->eval_breaker, ~EB_REMOTE_FREE, __ATOMIC_RELAXED);
    gc_ft_free_queue_of(ts->interp, ts);
}

/* ---- the world stopped ------------------------------------------------------- */

/* Call fn on every ring: each live thread's, then the orphans'. */
#define GC_FT_FOR_EACH_RING(interp, ring, body)                                \
    do {                                                                       \
        for (tstate_t *t_ = (interp)->threads; t_ != NULL; t_ = t_->next) {    \
            gc_head_t *ring = &t_->gc_ring;                                    \
            body;                                                              \
        }                                                                      \
        gc_head_t *ring = &(interp)->gc_orphans;                               \
        body;                                                                  \
    } while (0)

/* Stop the world and hold interp->lock for the pause, as CPython holds
 * HEAD_LOCK while it visits the heaps: a thread that has left the list but
 * still frees an orphan waits until the collector is done with the rings. */
static void gc_ft_stop(tstate_t *ts)
{
    stw_stop(ts->interp, ts);
    GL_PTHREAD_CHECK(pthread_mutex_lock(&ts->interp->lock));
}

static void gc_ft_start(tstate_t *ts)
{
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&ts->interp->lock));
    stw_start(ts->interp, ts);
}

/* Blocks queued to their owners (what mimalloc would reclaim on each
 * owner's next allocation): the collector frees them all first, so every
 * ring holds only what is allocated. */
static void gc_ft_free_all_queued(interp_t *interp)
{
    for (tstate_t *t = interp->threads; t != NULL; t = t->next) {
        __atomic_fetch_and(&t->eval_breaker, ~EB_REMOTE_FREE, __ATOMIC_RELAXED);
        gc_ft_free_queue_of(interp, t);
    }
}

/* Move every tracked container a collection examines from the owners'
 * rings to `to`: the untracked ones (lists on a freelist) and the frozen
 * ones stay. Returns how many moved. */
static int64_t gc_ft_gather(interp_t *interp, gc_head_t *to)
{
    int64_t n = 0;
    GC_FT_FOR_EACH_RING(interp, ring, {
        gc_head_t *g = gc_next(ring);
        while (g != ring) {
            gc_head_t *next = gc_next(g);
            uint8_t bits = obj_ft(gc_obj(g, sizeof(obj_head_ft_t)))->gc_bits;
            if ((bits & GC_BITS_TRACKED) && !(bits & GC_BITS_FROZEN)) {
                gc_list_move(g, to);
                n++;
            }
            g = next;
        }
    });
    return n;
}

/* Hand every container of `from` back to its owner's ring. */
static void gc_ft_scatter(interp_t *interp, gc_head_t *from)
{
    while (!gc_list_is_empty(from)) {
        gc_head_t *g = gc_next(from);
        uint16_t slot = gc_ft_slot(gc_obj(g, sizeof(obj_head_ft_t)));
        tstate_t *owner = slot == GC_FT_ORPHAN ? NULL : interp->gc_owners[slot];
        gc_list_move(g, owner != NULL ? &owner->gc_ring : &interp->gc_orphans);
    }
}

/* merge_refcount: with the world stopped, fold both counts into the shared
 * field (merged, no owner) and add `extra`. */
static void gc_ft_merge_refcount(obj_t *o, intptr_t extra)
{
    obj_head_ft_t *h = obj_ft(o);
    intptr_t total = (intptr_t)h->ref_local + (h->ref_shared >> BRC_SHARED_SHIFT) + extra;
    h->tid = 0;
    h->ref_local = 0;
    h->ref_shared = (total << BRC_SHARED_SHIFT) | BRC_MERGED;
}

/* ---- collecting -------------------------------------------------------------- */

int64_t gc_ft_collect(tstate_t *ts, int generation, bool scheduled)
{
    interp_t *interp = ts->interp;
    gc_state_t *gc = &interp->gc;
    bool idle = false;
    if (!__atomic_compare_exchange_n(&gc->collecting, &idle, true, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        return 0;   /* another thread is collecting */
    if (scheduled && !gc_ft_should_collect(gc)) {
        __atomic_store_n(&gc->collecting, false, __ATOMIC_RELEASE);
        return 0;   /* it collected just now */
    }
    uint64_t t0 = clock_now_ns();
    if (ts->gil.trace != NULL)
        trace_record_at(ts->gil.trace, TRACE_GC_BEGIN, (uint32_t)generation, t0);
    gc_ft_stop(ts);

    /* update collection and allocation counters */
    if (generation + 1 < GC_GENERATIONS)
        gc->gen[generation + 1].count += 1;
    for (int i = 0; i <= generation; i++)
        __atomic_store_n(&gc->gen[i].count, 0, __ATOMIC_RELAXED);

    /* merge_all_queued_objects, and the blocks owed to their owners */
    brc_queue_t to_decref;
    brc_queue_init(&to_decref);
    for (tstate_t *t = interp->threads; t != NULL; t = t->next) {
        __atomic_fetch_and(&t->eval_breaker, ~EB_BRC_MERGE, __ATOMIC_RELAXED);
        brc_merge_queue_stopped(ts, t, &to_decref);
    }
    gc_ft_free_all_queued(interp);

    /* deduce_unreachable_heap, over every ring at once */
    gc_head_t young, unreachable;
    gc_list_init(&young);
    int64_t examined = gc_ft_gather(interp, &young);
    gc_deduce_unreachable(gc, &young, &unreachable);
    __atomic_store_n(&gc->long_lived_total, gc_list_size(&young), __ATOMIC_RELAXED);

    /* scan_heap_visitor: one reference for the work list, so that nothing
     * dies before delete_garbage gets to it. */
    brc_queue_t garbage;
    brc_queue_init(&garbage);
    for (gc_head_t *g = gc_next(&unreachable); g != &unreachable; g = gc_next(g)) {
        obj_t *o = gc_obj(g, sizeof(obj_head_ft_t));
        gc_ft_merge_refcount(o, 1);
        brc_queue_push(&garbage, o);
    }
    gc_restore_unreachable(&unreachable);
    gc_ft_scatter(interp, &young);
    gc_ft_scatter(interp, &unreachable);

    /* _PyGC_ClearAllFreeLists */
    for (tstate_t *t = interp->threads; t != NULL; t = t->next)
        interp_clear_freelist(interp, &t->list_freelist, NULL);

    gc_ft_start(ts);
    uint64_t paused_ns = clock_now_ns() - t0;
    if (ts->gil.trace != NULL)
        trace_record_at(ts->gil.trace, TRACE_GC_END, (uint32_t)generation, t0 + paused_ns);

    /* The world runs again. delete_garbage: release what the merged queues
     * left dead, then clear every unreachable container, dropping the work
     * list's reference last. */
    const guard_ops_t *ops = interp->ops;
    size_t n;
    obj_t **items = brc_queue_take(&to_decref, &n);
    for (size_t i = 0; i < n; i++)
        ops->decref(ts, items[i]);
    free(items);
    brc_queue_destroy(&to_decref);

    int64_t collected = 0;
    items = brc_queue_take(&garbage, &n);
    for (size_t i = 0; i < n; i++) {
        obj_t *o = items[i];
        /* Untracked meanwhile: some other tp_clear released its last
         * outside reference and its dealloc began (the work list's
         * reference keeps the memory until here). */
        if (obj_ft(o)->gc_bits & GC_BITS_TRACKED) {
            collected++;
            o->type->clear(ts, o);
        }
        ops->decref(ts, o);
    }
    free(items);
    brc_queue_destroy(&garbage);

    gc_gen_stats_t *st = &gc->stats[generation];
    st->collections++;
    st->collected += (uint64_t)collected;
    st->examined += (uint64_t)examined;
    gc_record_pause(gc, t0, paused_ns, generation);
    __atomic_store_n(&gc->collecting, false, __ATOMIC_RELEASE);
    return collected;
}

int64_t gc_ft_count_unreachable(tstate_t *ts)
{
    interp_t *interp = ts->interp;
    gc_ft_stop(ts);
    gc_ft_free_all_queued(interp);
    gc_head_t all, unreachable;
    gc_list_init(&all);
    gc_ft_gather(interp, &all);
    gc_deduce_unreachable(&interp->gc, &all, &unreachable);
    int64_t n = gc_list_size(&unreachable);
    gc_restore_unreachable(&unreachable);
    gc_ft_scatter(interp, &all);
    gc_ft_scatter(interp, &unreachable);
    gc_ft_start(ts);
    return n;
}

/* _PyGC_Freeze / _PyGC_Unfreeze: set or clear the frozen bit of every
 * tracked container; 3.13t leaves the count as it is. */
void gc_ft_freeze(tstate_t *ts, bool on)
{
    interp_t *interp = ts->interp;
    gc_ft_stop(ts);
    GC_FT_FOR_EACH_RING(interp, ring, {
        for (gc_head_t *g = gc_next(ring); g != ring; g = gc_next(g)) {
            obj_head_ft_t *h = obj_ft(gc_obj(g, sizeof(obj_head_ft_t)));
            if (h->gc_bits & GC_BITS_TRACKED)
                h->gc_bits = on ? (uint8_t)(h->gc_bits | GC_BITS_FROZEN) : (uint8_t)(h->gc_bits & ~GC_BITS_FROZEN);
        }
    });
    gc_ft_start(ts);
}

int64_t gc_ft_generation_size(tstate_t *ts, int generation)
{
    interp_t *interp = ts->interp;
    if (generation > 0)
        return 0;
    uint8_t want = generation < 0 ? GC_BITS_FROZEN : 0;
    int64_t n = 0;
    gc_ft_stop(ts);
    GC_FT_FOR_EACH_RING(interp, ring, {
        for (gc_head_t *g = gc_next(ring); g != ring; g = gc_next(g)) {
            uint8_t bits = obj_ft(gc_obj(g, sizeof(obj_head_ft_t)))->gc_bits;
            if ((bits & GC_BITS_TRACKED) && (bits & GC_BITS_FROZEN) == want)
                n++;
        }
    });
    gc_ft_start(ts);
    return n;
}

void gc_ft_release_all(tstate_t *ts)
{
    interp_t *interp = ts->interp;
    gc_ft_stop(ts);
    gc_ft_free_all_queued(interp);
    for (tstate_t *t = interp->threads; t != NULL; t = t->next)
        interp_clear_freelist(interp, &t->list_freelist, NULL);
    gc_ft_start(ts);
}

/* ---- threads ------------------------------------------------------------------- */

bool gc_ft_thread_new(tstate_t *ts)
{
    interp_t *interp = ts->interp;
    gc_list_init(&ts->gc_ring);
    brc_queue_init(&ts->gc_remote);
    ts->gc_slot = GC_FT_NO_SLOT;
    for (unsigned s = GC_FT_ORPHAN + 1; s < GC_FT_MAX_OWNERS; s++) {
        if (interp->gc_owners[s] == NULL) {
            interp->gc_owners[s] = ts;
            ts->gc_slot = (uint16_t)s;
            return true;
        }
    }
    return false;
}

/* Make every container of `ring` an orphan (interp->lock held). */
static void gc_ft_abandon(interp_t *interp, gc_head_t *ring)
{
    for (gc_head_t *g = gc_next(ring); g != ring; g = gc_next(g))
        __atomic_store_n(&obj_ft(gc_obj(g, sizeof(obj_head_ft_t)))->padding, (uint16_t)GC_FT_ORPHAN,
                         __ATOMIC_RELAXED);
    gc_list_merge(ring, &interp->gc_orphans);
}

void gc_ft_thread_gone(tstate_t *ts)
{
    interp_t *interp = ts->interp;
    GL_PTHREAD_CHECK(pthread_mutex_lock(&interp->lock));
    gc_ft_free_queue_of(interp, ts);
    gc_ft_abandon(interp, &ts->gc_ring);
    if (ts->gc_slot != GC_FT_NO_SLOT)
        interp->gc_owners[ts->gc_slot] = NULL;
    ts->gc_slot = GC_FT_NO_SLOT;
    /* What the thread had not added yet, added as record_allocation /
     * record_deallocation add it: a thread that freed more containers than
     * it made must not take the count below zero. No collection is
     * scheduled for a thread that goes. */
    (void)gc_ft_flush_count(ts);
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&interp->lock));
    brc_queue_destroy(&ts->gc_remote);
}

void gc_ft_after_fork_child(interp_t *interp, tstate_t *ts)
{
    for (unsigned s = GC_FT_ORPHAN + 1; s < GC_FT_MAX_OWNERS; s++) {
        tstate_t *t = interp->gc_owners[s];
        if (t == NULL || t == ts)
            continue;
        /* The thread is gone with the fork: what it was owed is free now. */
        for (size_t i = 0; i < t->gc_remote.count; i++)
            gc_ft_free_here(interp, t->gc_remote.items[i]);
        gc_ft_abandon(interp, &t->gc_ring);
        interp->gc_owners[s] = NULL;
    }
    GL_PTHREAD_CHECK(pthread_mutex_init(&ts->gc_remote.mutex, NULL));
}
