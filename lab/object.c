/* lab/object.c: the guard-independent part of the object model: the int,
 * bool and None types of each layout, and the refcount as a reader sees it.
 * Everything that touches a refcount in a hot path is per guard
 * (lab/eval_impl.h).
 */
#include "lab/object.h"

#include <stdio.h>
#include <stdlib.h>

#include "lab/interp.h"

/* int_dealloc: ints hold no references, so freeing one is the same under
 * every guard: PyObject_Free of the block, which starts at the header
 * (CPython 3.12 has no int freelist; neither does the lab). */
static void int_dealloc_dflt(tstate_t *ts, obj_t *o)
{
    TS_COUNT_HOT(ts, objects_freed);
    heap_free(ts->heap, obj_dflt(o));
}

static void int_dealloc_ft(tstate_t *ts, obj_t *o)
{
    TS_COUNT_HOT(ts, objects_freed);
    heap_free(ts->heap, obj_ft(o));
}

/* The singletons, classes and built-ins live in the interpreter, never on
 * the heap: reaching their dealloc is a refcounting bug, fatal as CPython's
 * none_dealloc is. */
static void singleton_dealloc(tstate_t *ts, obj_t *o)
{
    (void)ts;
    fprintf(stderr, "gil-lab: fatal: deallocating the %s singleton (refcount bug)\n", o->type->name);
    abort();
}

#define OBJ_INT_TYPE(dealloc_fn)                                               \
    {.name = "int", .flags = TYPE_INT, .payload = INT_PAYLOAD(1), .itemsize = 4, .dealloc = dealloc_fn}

const type_t int_types[OBJ_LAYOUT_COUNT] = {
    [OBJ_LAYOUT_DEFAULT] = OBJ_INT_TYPE(int_dealloc_dflt),
    [OBJ_LAYOUT_FT] = OBJ_INT_TYPE(int_dealloc_ft),
};
const type_t bool_type = {.name = "bool", .flags = TYPE_INT, .payload = INT_PAYLOAD(1), .itemsize = 4,
                          .dealloc = singleton_dealloc};
const type_t none_type = {.name = "NoneType", .payload = 0, .dealloc = singleton_dealloc};
const type_t class_type = {.name = "type", .payload = sizeof(class_obj_t) - sizeof(obj_t),
                           .dealloc = singleton_dealloc};
const type_t builtin_type = {.name = "builtin_function_or_method",
                             .payload = sizeof(builtin_obj_t) - sizeof(obj_t), .dealloc = singleton_dealloc};

const char *node_slot_name(int i)
{
    static const char *const names[NODE_SLOTS] = {
#define X(name) [NODE_SLOT_##name] = #name,
        NODE_SLOT_LIST(X)
#undef X
    };
    return i >= 0 && i < NODE_SLOTS ? names[i] : "?";
}

int node_traverse(obj_t *o, obj_visit_fn visit, void *arg)
{
    node_obj_t *n = (node_obj_t *)o;
    for (int i = 0; i < NODE_SLOTS; i++) {
        if (n->slot[i] != NULL) {
            int rc = visit(n->slot[i], arg);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

int list_traverse(obj_t *o, obj_visit_fn visit, void *arg)
{
    const list_obj_t *l = (const list_obj_t *)o;
    for (intptr_t i = l->size; --i >= 0;) {
        int rc = visit(l->items[i], arg);
        if (rc != 0)
            return rc;
    }
    return 0;
}

size_t obj_head_size(obj_layout_t layout)
{
    return layout == OBJ_LAYOUT_FT ? OBJ_HEAD_FT_SIZE : OBJ_HEAD_DFLT_SIZE;
}

intptr_t obj_refcount(const obj_t *o, obj_layout_t layout)
{
    if (obj_is_immortal(o, layout))
        return OBJ_IMMORTAL_REFCNT;
    if (layout == OBJ_LAYOUT_DEFAULT)
        return __atomic_load_n(&obj_dflt(o)->refcnt, __ATOMIC_RELAXED);
    /* Free-threaded: the owner's count plus the shared one (biased), or
     * the shared field alone (atomic, whose ref_local stays 0). */
    intptr_t shared = __atomic_load_n(&obj_ft(o)->ref_shared, __ATOMIC_RELAXED);
    return (shared >> BRC_SHARED_SHIFT) + (intptr_t)__atomic_load_n(&obj_ft(o)->ref_local, __ATOMIC_RELAXED);
}

bool obj_is_immortal(const obj_t *o, obj_layout_t layout)
{
    if (layout == OBJ_LAYOUT_DEFAULT)
        return (int32_t)__atomic_load_n(&obj_dflt(o)->refcnt, __ATOMIC_RELAXED) < 0;
    return __atomic_load_n(&obj_ft(o)->ref_local, __ATOMIC_RELAXED) == OBJ_IMMORTAL_LOCAL;
}

void obj_set_refcount(obj_t *o, obj_layout_t layout, intptr_t n)
{
    if (layout == OBJ_LAYOUT_DEFAULT) {
        obj_dflt(o)->refcnt = n;
    } else {
        obj_head_ft_t *h = obj_ft(o);
        h->tid = 0;
        h->ref_local = 0;
        h->ref_shared = (n << BRC_SHARED_SHIFT) | BRC_MERGED;
    }
}

void obj_set_immortal(obj_t *o, obj_layout_t layout)
{
    if (layout == OBJ_LAYOUT_DEFAULT) {
        obj_dflt(o)->refcnt = OBJ_IMMORTAL_REFCNT;
    } else {
        obj_head_ft_t *h = obj_ft(o);
        h->tid = 0;
        h->ref_local = OBJ_IMMORTAL_LOCAL;
        h->ref_shared = 0;
    }
}
