/* gil/guard_plain.h: the default build's refcount primitives, shared by the
 * "none" and "gil" guards (they differ only in the lock around them).
 *
 * CPython 3.12 (PEP 683) stores the count in the low 32 bits of ob_refcnt;
 * an immortal object has them all set, so incrementing it would wrap to zero
 * and is skipped, and (int32_t)ob_refcnt < 0 identifies it on decref. Plain
 * loads and stores: whoever calls these owns the heap (one thread, or the
 * GIL holder).
 */
#ifndef GL_GUARD_PLAIN_H
#define GL_GUARD_PLAIN_H

#include "lab/interp.h"

static inline void g_init_refs(tstate_t *ts, obj_t *o)
{
    (void)ts;
    obj_init_refs_default(o);
}

static inline void g_incref(tstate_t *ts, obj_t *o)
{
    (void)ts;
    uint32_t cur = (uint32_t)o->refcnt;
    uint32_t next = cur + 1;
    if (next == 0)          /* immortal: leave it alone */
        return;
    o->refcnt = (intptr_t)next;
}

static inline void g_decref(tstate_t *ts, obj_t *o)
{
    if ((int32_t)o->refcnt < 0)   /* _Py_IsImmortal */
        return;
    if (--o->refcnt == 0)
        o->type->dealloc(ts, o);
}

#endif
