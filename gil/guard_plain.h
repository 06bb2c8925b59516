/* gil/guard_plain.h: the default build's refcount primitives, shared by the
 * "none" and "gil" guards (they differ only in the lock around them).
 *
 * CPython 3.12 (PEP 683) stores the count in the low 32 bits of ob_refcnt;
 * an immortal object has them all set, so incrementing it would wrap to zero
 * and is skipped, and (int32_t)ob_refcnt < 0 identifies it on decref. With
 * G_IMMORTAL 0 (--no-immortal) the tests are not compiled at all: counting
 * is the plain ++ and -- of CPython 3.11. Plain loads and stores: whoever
 * calls these owns the heap (one thread, or the GIL holder).
 */
#ifndef GL_GUARD_PLAIN_H
#define GL_GUARD_PLAIN_H

#include "lab/interp.h"

#define G_FREE_THREADED 0   /* CPython 3.12's default build */

static inline void plain_incref(obj_t *o, int immortal_test)
{
    obj_head_dflt_t *h = obj_dflt(o);
    if (immortal_test) {
        uint32_t next = (uint32_t)h->refcnt + 1;
        if (next == 0)          /* immortal: leave it alone */
            return;
        h->refcnt = (intptr_t)next;
    } else {
        h->refcnt++;
    }
}

static inline void plain_decref(tstate_t *ts, obj_t *o, int immortal_test)
{
    obj_head_dflt_t *h = obj_dflt(o);
    if (immortal_test && (int32_t)h->refcnt < 0)   /* _Py_IsImmortal */
        return;
    if (--h->refcnt == 0)
        o->type->dealloc(ts, o);
}

/* _Py_DECREF_SPECIALIZED(op, PyObject_Free) on an exact int: at zero, the
 * block is freed directly instead of through the type's dealloc. */
static inline void plain_decref_int(tstate_t *ts, obj_t *o, int immortal_test)
{
    obj_head_dflt_t *h = obj_dflt(o);
    if (immortal_test && (int32_t)h->refcnt < 0)
        return;
    if (--h->refcnt == 0) {
        TS_COUNT_HOT(ts, objects_freed);
        heap_free(ts->heap, h);
    }
}

/* The default build's pending work at the eval breaker that every plain
 * guard shares: a scheduled collection (_Py_HandlePending's GC branch). */
static inline void plain_handle_gc(tstate_t *ts, uint32_t bits)
{
    if (bits & EB_GC_SCHEDULED) {
        __atomic_fetch_and(&ts->eval_breaker, ~EB_GC_SCHEDULED, __ATOMIC_RELAXED);
        gc_collect_scheduled(ts);
    }
}

#define g_init_refs(ts, o) ((void)(ts), obj_dflt(o)->refcnt = 1)
#define g_incref(ts, o) ((void)(ts), plain_incref((o), G_IMMORTAL))
#define g_decref(ts, o) plain_decref((ts), (o), G_IMMORTAL)
#define g_decref_int(ts, o) plain_decref_int((ts), (o), G_IMMORTAL)

#endif
