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
 * Statistics: owner-local and shared operations are counted only in
 * GL_PYSTATS builds (TS_COUNT_HOT), as CPython counts them only with
 * --enable-pystats: a counter on the fast path would make the guard look
 * slower than it is. Queueing and merging (slow paths) are always counted.
 */
#include "gil/brc.h"
#include "gil/guard_ft.h"

#define GUARD_NAME biased


static inline void g_init_refs(tstate_t *ts, obj_t *o)
{
    obj_head_ft_t *h = obj_ft(o);
    h->tid = ts->id;
    h->mutex = 0;
    h->gc_bits = 0;
    h->ref_local = 1;
    h->ref_shared = 0;
}

/* _Py_IsOwnedByCurrentThread. An object with no owner (tid 0: merged, or
 * static) is never owned, so it takes the shared path, as in CPython. The
 * owner test is the likely branch: most objects never leave their thread,
 * which is how PGO lays the code out in CPython's builds. */
static inline int biased_is_owner(const tstate_t *ts, const obj_t *o)
{
    return __atomic_load_n(&obj_ft(o)->tid, __ATOMIC_RELAXED) == ts->id;
}

static inline void biased_incref(tstate_t *ts, obj_t *o, int immortal_test)
{
    obj_head_ft_t *h = obj_ft(o);
    uint32_t local = __atomic_load_n(&h->ref_local, __ATOMIC_RELAXED);
    if (immortal_test && local == OBJ_IMMORTAL_LOCAL)
        return;
    if (__builtin_expect(biased_is_owner(ts, o), 1)) {
        __atomic_store_n(&h->ref_local, local + 1, __ATOMIC_RELAXED);
        TS_COUNT_HOT(ts, rc_local);
    } else {
        __atomic_fetch_add(&h->ref_shared, (intptr_t)1 << BRC_SHARED_SHIFT, __ATOMIC_RELAXED);
        TS_COUNT_HOT(ts, rc_shared);
    }
}

static inline void biased_decref(tstate_t *ts, obj_t *o, int immortal_test)
{
    obj_head_ft_t *h = obj_ft(o);
    uint32_t local = __atomic_load_n(&h->ref_local, __ATOMIC_RELAXED);
    if (immortal_test && local == OBJ_IMMORTAL_LOCAL)
        return;
    if (__builtin_expect(biased_is_owner(ts, o), 1)) {
        local--;
        __atomic_store_n(&h->ref_local, local, __ATOMIC_RELAXED);
        TS_COUNT_HOT(ts, rc_local);
        if (local == 0)
            brc_merge_zero_local(ts, o);
    } else {
        TS_COUNT_HOT(ts, rc_shared);
        brc_decref_shared(ts, o);
    }
}

#define g_incref(ts, o) biased_incref((ts), (o), G_IMMORTAL)
#define g_decref(ts, o) biased_decref((ts), (o), G_IMMORTAL)
#define g_decref_int(ts, o) g_decref(ts, o)   /* 3.13t: no specialised form */

/* _Py_HandlePending: another thread queued objects to us (merged here and
 * when the thread state goes, never on attach or detach, as in 3.13t),
 * then what every free-threaded thread handles. */
static void g_eval_breaker(tstate_t *ts, uint32_t bits)
{
    if (bits & EB_BRC_MERGE) {
        __atomic_fetch_and(&ts->eval_breaker, ~EB_BRC_MERGE, __ATOMIC_RELAXED);
        brc_merge_queue(ts);
    }
    ft_handle_pending(ts, bits);
}

#include "gil/guard_instances.h"
