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

static inline void plain_incref(obj_t *o, int immortal_test)
{
    if (immortal_test) {
        uint32_t next = (uint32_t)o->refcnt + 1;
        if (next == 0)          /* immortal: leave it alone */
            return;
        o->refcnt = (intptr_t)next;
    } else {
        o->refcnt++;
    }
}

static inline void plain_decref(tstate_t *ts, obj_t *o, int immortal_test)
{
    if (immortal_test && (int32_t)o->refcnt < 0)   /* _Py_IsImmortal */
        return;
    if (--o->refcnt == 0)
        o->type->dealloc(ts, o);
}

/* _Py_DECREF_SPECIALIZED(op, PyObject_Free) on an exact int: at zero, a
 * direct call to the int's free instead of one through its type. */
static inline void plain_decref_int(tstate_t *ts, obj_t *o, int immortal_test)
{
    if (immortal_test && (int32_t)o->refcnt < 0)
        return;
    if (--o->refcnt == 0)
        int_dealloc(ts, o);
}

#define g_init_refs(ts, o) ((void)(ts), obj_init_refs_default(o))
#define g_incref(ts, o) ((void)(ts), plain_incref((o), G_IMMORTAL))
#define g_decref(ts, o) plain_decref((ts), (o), G_IMMORTAL)
#define g_decref_int(ts, o) plain_decref_int((ts), (o), G_IMMORTAL)

#endif
