/* gil/guard_biased.c: the "biased" guard, biased reference counting as in
 * free-threaded CPython (PEP 703; Include/object.h Py_INCREF/Py_DECREF under
 * Py_GIL_DISABLED).
 *
 * Most objects are only ever touched by the thread that created them, so the
 * creator (the owner, ob_tid) counts in ref_local with plain loads and stores
 * (relaxed atomics, which compile to plain moves: other threads may read the
 * field, never write it). Every other thread adds to the shared count with an
 * atomic instruction. The two meet in gil/brc.c: when the owner's count hits
 * zero, when a non-owner would drive the shared count negative, and when the
 * owner has gone.
 *
 * Statistics: shared operations are counted always (they already cost an
 * atomic); owner-local operations only in builds with GL_RC_STATS, because a
 * counter on the fast path would make the guard look slower than it is.
 */
#include "gil/brc.h"
#include "gil/objlock.h"
#include "lab/interp.h"

#define GUARD_NAME biased

#ifdef GL_RC_STATS
#define RC_LOCAL_STAT(ts) ((ts)->rc_local++)
#else
#define RC_LOCAL_STAT(ts) ((void)0)
#endif

static inline void g_init_refs(tstate_t *ts, obj_t *o)
{
    o->tid = ts->id;
    o->ref_local = 1;
    o->refcnt = 0;
}

static inline int g_is_owner(const tstate_t *ts, const obj_t *o)
{
    return __atomic_load_n(&o->tid, __ATOMIC_RELAXED) == ts->id;
}

static inline void g_incref(tstate_t *ts, obj_t *o)
{
    uint32_t local = __atomic_load_n(&o->ref_local, __ATOMIC_RELAXED);
    if (local == OBJ_IMMORTAL_LOCAL)
        return;
    if (g_is_owner(ts, o)) {
        __atomic_store_n(&o->ref_local, local + 1, __ATOMIC_RELAXED);
        RC_LOCAL_STAT(ts);
    } else {
        __atomic_fetch_add(&o->refcnt, (intptr_t)1 << BRC_SHARED_SHIFT, __ATOMIC_RELAXED);
        ts->rc_shared++;
    }
}

static inline void g_decref(tstate_t *ts, obj_t *o)
{
    uint32_t local = __atomic_load_n(&o->ref_local, __ATOMIC_RELAXED);
    if (local == OBJ_IMMORTAL_LOCAL)
        return;
    if (g_is_owner(ts, o)) {
        local--;
        __atomic_store_n(&o->ref_local, local, __ATOMIC_RELAXED);
        RC_LOCAL_STAT(ts);
        if (local == 0)
            brc_merge_zero_local(ts, o);
    } else {
        ts->rc_shared++;
        brc_decref_shared(ts, o);
    }
}

static inline void g_lock(obj_t *o) { objlock_lock(o); }
static inline void g_unlock(obj_t *o) { objlock_unlock(o); }

/* _Py_HandlePending: another thread queued objects to us. */
static void g_eval_breaker(tstate_t *ts, uint32_t bits)
{
    if (bits & EB_BRC_MERGE) {
        __atomic_fetch_and(&ts->eval_breaker, ~EB_BRC_MERGE, __ATOMIC_RELAXED);
        brc_merge_queue(ts);
    }
}

static void g_attach(tstate_t *ts) { (void)ts; }
static void g_detach(tstate_t *ts) { brc_merge_queue(ts); }

#include "lab/eval_impl.h"
