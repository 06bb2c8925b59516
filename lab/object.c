/* lab/object.c: the guard-independent part of the object model: the int,
 * bool and None types and the refcount as a reader sees it. Everything that
 * touches a refcount in a hot path is per guard (lab/eval_impl.h).
 */
#include "lab/object.h"

#include <stdio.h>
#include <stdlib.h>

#include "lab/interp.h"

/* int_dealloc: ints hold no references, so freeing one is the same under
 * every guard. (CPython 3.12 has no int freelist; neither does the lab.) */
void int_dealloc(tstate_t *ts, obj_t *o)
{
    TS_COUNT_HOT(ts, objects_freed);
    heap_free(ts->heap, o);
}

/* The singletons live in the interpreter, never on the heap: reaching their
 * dealloc is a refcounting bug, fatal as CPython's none_dealloc is. */
static void singleton_dealloc(tstate_t *ts, obj_t *o)
{
    (void)ts;
    fprintf(stderr, "gil-lab: fatal: deallocating the %s singleton (refcount bug)\n", o->type->name);
    abort();
}

const type_t int_type = {.name = "int", .basicsize = sizeof(int_obj_t), .dealloc = int_dealloc};
const type_t bool_type = {.name = "bool", .basicsize = sizeof(int_obj_t), .dealloc = singleton_dealloc};
const type_t none_type = {.name = "NoneType", .basicsize = sizeof(obj_t), .dealloc = singleton_dealloc};

intptr_t obj_refcount(const obj_t *o, bool biased)
{
    if (obj_is_immortal(o))
        return OBJ_IMMORTAL_REFCNT;
    if (!biased)
        return __atomic_load_n(&o->refcnt, __ATOMIC_RELAXED);
    intptr_t shared = __atomic_load_n(&o->refcnt, __ATOMIC_RELAXED);
    return (shared >> BRC_SHARED_SHIFT) + (intptr_t)__atomic_load_n(&o->ref_local, __ATOMIC_RELAXED);
}
