/* gil/guard_atomic.c: the "atomic" guard, every refcount operation an atomic
 * read-modify-write and no GIL: the Gilectomy's design (Larry Hastings,
 * 2016), whose lesson was that atomics on every incref/decref make single-
 * threaded code markedly slower and make shared objects' counts bounce
 * between cores.
 *
 * The thread that takes a count to zero (fetch_sub returned 1) is the only
 * one that frees the object: exactly once. Immortal objects (PEP 683) are
 * recognised by the free-threaded build's test and skipped, which is what
 * keeps threads from fighting over the count of `1` or `True`. List
 * mutation through list.append() takes the list's lock (gil/objlock.h);
 * reads are lock-free, as in free-threaded CPython.
 */
#include "gil/guard_ft.h"

#define GUARD_NAME atomic

/* The free-threaded header, counted the Gilectomy's way: the whole count in
 * ob_ref_shared (in CPython 3.13t's encoding, count << 2, so that readers
 * of either free-threaded guard agree), ob_ref_local 0 except UINT32_MAX
 * for the immortals, whose test is the free-threaded build's. */
static inline void atomic_init_refs(obj_t *o)
{
    obj_head_ft_t *h = obj_ft(o);
    h->tid = 0;
    h->mutex = 0;
    h->gc_bits = 0;
    h->ref_local = 0;
    h->ref_shared = (intptr_t)1 << BRC_SHARED_SHIFT;
}

static inline void atomic_incref(obj_t *o, int immortal_test)
{
    obj_head_ft_t *h = obj_ft(o);
    if (immortal_test && __atomic_load_n(&h->ref_local, __ATOMIC_RELAXED) == OBJ_IMMORTAL_LOCAL)
        return;
    __atomic_fetch_add(&h->ref_shared, (intptr_t)1 << BRC_SHARED_SHIFT, __ATOMIC_RELAXED);
}

static inline void atomic_decref(tstate_t *ts, obj_t *o, int immortal_test)
{
    obj_head_ft_t *h = obj_ft(o);
    if (immortal_test && __atomic_load_n(&h->ref_local, __ATOMIC_RELAXED) == OBJ_IMMORTAL_LOCAL)
        return;
    /* acq_rel: the freeing thread must see every other thread's writes to
     * the object before it tears it down. */
    intptr_t old = __atomic_fetch_sub(&h->ref_shared, (intptr_t)1 << BRC_SHARED_SHIFT, __ATOMIC_ACQ_REL);
    if ((old >> BRC_SHARED_SHIFT) == 1)
        o->type->dealloc(ts, o);
}

#define g_init_refs(ts, o) ((void)(ts), atomic_init_refs(o))
#define g_incref(ts, o) ((void)(ts), atomic_incref((o), G_IMMORTAL))
#define g_decref(ts, o) atomic_decref((ts), (o), G_IMMORTAL)
#define g_decref_int(ts, o) g_decref(ts, o)   /* no specialised form without a GIL */

static inline void g_eval_breaker(tstate_t *ts, uint32_t bits) { ft_handle_pending(ts, bits); }

#include "gil/guard_instances.h"
