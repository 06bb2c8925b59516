/* lab/eval_impl.h: the interpreter loop and the object operations that do
 * refcounting, written once and compiled twice per guard.
 *
 * This file is a template, not a header. A guard's translation unit
 * (gil/guard_<name>.c) defines its primitives, then includes this file
 * twice, once with G_IMMORTAL 1 (PEP 683's immortal objects, CPython 3.12+,
 * the default) and once with G_IMMORTAL 0 (--no-immortal: refcounting as
 * before 3.12, with no immortality test anywhere), each time with its own
 * G_SUFFIX for the names it defines. The primitives are macros or static
 * inlines that read G_IMMORTAL where they are used:
 *
 *   g_init_refs(ts, o)    give a new object its first reference
 *   g_incref(ts, o)       Py_INCREF of this guard
 *   g_decref(ts, o)       Py_DECREF of this guard (deallocates at zero)
 *   g_decref_int(ts, o)   _Py_DECREF_SPECIALIZED for an exact int: a
 *                         direct free instead of the type's dealloc in the
 *                         default build; Py_DECREF in the free-threaded one
 *                         (CPython 3.13 has no specialised form there)
 *   g_lock(o), g_unlock(o)
 *                         critical section around container mutation
 *                         (Py_BEGIN_CRITICAL_SECTION); no-ops under a GIL
 *   g_eval_breaker(ts, bits)
 *                         what the loop does when its eval breaker is set
 *   g_periodic(ts, op)    optional: work before each instruction (gil-old:
 *                         the pre-3.2 ticker); nothing for every other guard
 *   g_attach(ts), g_detach(ts)
 *                         a thread starts / stops running bytecode, and
 *                         around every blocking call (CALL_BLOCKING:
 *                         Py_END_ / Py_BEGIN_ALLOW_THREADS)
 *
 * Because every primitive is known at compile time, the loop that comes out
 * has no indirect call and no branch on "which guard" or "immortal or not"
 * per refcount operation: the lab's rule that the measurement must not
 * distort what it measures. The one indirect call per allocation (through
 * the heap's allocator table) and per generic deallocation (through the
 * type's dealloc) are CPython's own.
 *
 * The opcodes do what CPython 3.12's specialised forms do once the loop is
 * warm (Python/bytecodes.c): BINARY_OP on two ints is BINARY_OP_*_INT
 * (result computed and allocated first, then right and left released),
 * COMPARE_OP on two ints is COMPARE_OP_INT (True/False pushed without a
 * reference: they are immortal), POP_JUMP_IF_FALSE tests True/False by
 * identity and releases nothing, BINARY_SUBSCR on a list and an int is
 * BINARY_SUBSCR_LIST_INT, LIST_APPEND appends with no critical section
 * (only list.append() takes one). Without immortality (G_IMMORTAL 0) the
 * bools are counted like any object, as in CPython 3.11. Nothing in the
 * loop exists for error messages: names and symbols are looked up on the
 * error path only.
 *
 * It defines, with G_SUFFIX appended: the list type, the int constructor,
 * list_new/list_append, the eval function and the guard_ops_t table
 * `guard_ops_<suffix>`.
 */
#if !defined(G_SUFFIX) || !defined(G_IMMORTAL) || !defined(G_FREE_THREADED)
#error "define G_SUFFIX, G_IMMORTAL, G_FREE_THREADED and the g_* primitives before including lab/eval_impl.h"
#endif

/* The CPython build this guard models (lab/object.h). */
#define G_LAYOUT (G_FREE_THREADED ? OBJ_LAYOUT_FT : OBJ_LAYOUT_DEFAULT)

#include <stdint.h>
#include <string.h>

#include "lab/blocking.h"
#include "lab/code.h"
#include "lab/gc.h"
#include "lab/gc_ft.h"
#include "lab/interp.h"
#include "lab/object.h"
#include "lab/sizes.h"

#define GL_CAT2(a, b) a##_##b
#define GL_CAT(a, b) GL_CAT2(a, b)
#define G(name) GL_CAT(name, G_SUFFIX)

#ifndef g_periodic
#define g_periodic(ts, op) ((void)0)
#define G_PERIODIC_DEFAULT
#endif

#ifndef GL_LIKELY
#define GL_LIKELY(x) __builtin_expect(!!(x), 1)
#define GL_UNLIKELY(x) __builtin_expect(!!(x), 0)
#endif

/* ---- allocation ------------------------------------------------------ */

/* This layout's header: the bytes in front of ob_type. */
#define G_HEAD (G_LAYOUT == OBJ_LAYOUT_FT ? OBJ_HEAD_FT_SIZE : OBJ_HEAD_DFLT_SIZE)
/* This layout's exact int type (PyLong_CheckExact compares with it). */
#define G_INT_TYPE (&int_types[G_LAYOUT])

/* Bytes in front of the header: a container's link (the PyGC_Head of the
 * default build; the lab's ring link in the free-threaded one). */
static inline size_t G(prefix)(const type_t *type)
{
    return (type->flags & TYPE_GC) ? sizes_lab_link() : 0;
}

/* _PyObject_New / _PyObject_GC_New: a block of `size` bytes (lab/sizes.h:
 * pre-header, header, payload), the header initialised, the type set.
 * NULL with a MemoryError on failure. */
static inline obj_t *G(alloc)(tstate_t *ts, const type_t *type, size_t size)
{
    char *block = heap_malloc(ts->heap, size);
    if (GL_UNLIKELY(block == NULL))
        return tstate_error(ts, "MemoryError: cannot allocate %s", type->name);
    obj_t *o = (obj_t *)(block + G(prefix)(type) + G_HEAD);
    o->type = type;
#if G_FREE_THREADED
    obj_ft(o)->padding = 0;   /* the owner slot, for containers (G(gc_link)) */
#endif
    g_init_refs(ts, o);
    TS_COUNT_HOT(ts, objects_allocated);
    return o;
}

/* The block an object was allocated in. */
static inline void *G(block_of)(obj_t *o)
{
    return (char *)o - G_HEAD - G(prefix)(o->type);
}

/* PyLong_FromLongLong: small values come from the cache (a new reference,
 * which costs nothing when the cache is immortal); others are allocated as
 * CPython 3.12 sizes them: a compact value (one digit) takes
 * sizeof(PyLongObject), as _PyLong_FromMedium allocates it; a larger one
 * offsetof(ob_digit) + 4 per digit, as _PyLong_New does. */
static inline obj_t *G(int_from)(tstate_t *ts, int64_t v)
{
    if (v >= SMALL_INT_MIN && v <= SMALL_INT_MAX) {
        obj_t *o = interp_small_int(ts->interp, v);
        g_incref(ts, o);
        return o;
    }
    obj_t *o = G(alloc)(ts, G_INT_TYPE, sizes_int_alloc(G_LAYOUT, v));
    if (o != NULL)
        int_set(o, v);
    return o;
}

/* ---- containers: the collector's bookkeeping and the trashcan --------- */

#if !G_FREE_THREADED
/* _PyObject_GC_Link: a new container counts towards the next collection,
 * which is scheduled through the eval breaker once generation 0's count
 * passes its threshold (_Py_ScheduleGC); it runs at the next check. */
static inline void G(gc_link)(tstate_t *ts, obj_t *o)
{
    gc_head_t *g = gc_of(o);
    g->gc_next = 0;
    g->gc_prev = 0;
    if (GL_UNLIKELY(gc_note_alloc(&ts->interp->gc)))
        __atomic_fetch_or(&ts->eval_breaker, EB_GC_SCHEDULED, __ATOMIC_RELAXED);
}

/* _PyObject_GC_TRACK / PyObject_GC_UnTrack (the latter idempotent). */
static inline void G(gc_track)(tstate_t *ts, obj_t *o) { gc_track(&ts->interp->gc, o); }
static inline void G(gc_untrack)(obj_t *o)
{
    if (gc_is_tracked(o))
        gc_untrack(o);
}

/* PyObject_GC_Del. */
static inline void G(gc_del)(tstate_t *ts, obj_t *o)
{
    gc_note_free(&ts->interp->gc);
    TS_COUNT_HOT(ts, objects_freed);
    heap_free(ts->heap, G(block_of)(o));
}

/* The trashcan's chain runs through the PyGC_Head's prev word. */
static inline obj_t *G(trash_next)(obj_t *o) { return (obj_t *)gc_of(o)->gc_prev; }
static inline void G(trash_set_next)(obj_t *o, obj_t *next) { gc_of(o)->gc_prev = (uintptr_t)next; }
#else
/* _PyObject_GC_Link: record_allocation, and the lab's ring link (lab/gc_ft.h):
 * the container joins this thread's ring, which this thread alone touches. */
static inline void G(gc_link)(tstate_t *ts, obj_t *o)
{
    gc_list_append(gc_ft_link(o), &ts->gc_ring);
    obj_ft(o)->padding = ts->gc_slot;
    if (GL_UNLIKELY(++ts->gc_alloc_count >= GC_FT_LOCAL_COUNT) && gc_ft_flush_count(ts))
        __atomic_fetch_or(&ts->eval_breaker, EB_GC_SCHEDULED, __ATOMIC_RELAXED);
}

/* _PyObject_GC_TRACK / PyObject_GC_UnTrack: the bit in ob_gc_bits. */
static inline void G(gc_track)(tstate_t *ts, obj_t *o)
{
    (void)ts;
    obj_ft(o)->gc_bits |= GC_BITS_TRACKED;
}
static inline void G(gc_untrack)(obj_t *o) { obj_ft(o)->gc_bits &= (uint8_t)~GC_BITS_TRACKED; }

/* PyObject_GC_Del: record_deallocation, and mimalloc's rule for the block:
 * the owner unlinks and frees it on the spot, anyone else hands it over. */
static inline void G(gc_del)(tstate_t *ts, obj_t *o)
{
    TS_COUNT_HOT(ts, objects_freed);
    if (GL_UNLIKELY(--ts->gc_alloc_count <= -GC_FT_LOCAL_COUNT))
        gc_ft_flush_count(ts);
    if (GL_LIKELY(gc_ft_slot(o) == ts->gc_slot)) {
        gc_list_remove(gc_ft_link(o));
        heap_free(ts->heap, gc_ft_link(o));
    } else {
        gc_ft_free_remote(ts, o);
    }
}

/* The trashcan's chain runs through ob_tid, as in CPython 3.13t: the
 * object is dead, no thread owns it any more. */
static inline obj_t *G(trash_next)(obj_t *o) { return (obj_t *)obj_ft(o)->tid; }
static inline void G(trash_set_next)(obj_t *o, obj_t *next) { obj_ft(o)->tid = (uintptr_t)next; }
#endif

/* Py_TRASHCAN_BEGIN / Py_TRASHCAN_END. Freeing a container releases what it
 * holds, which may free another container, and so on: a long chain of
 * nodes would recurse once per link. Past TSTATE_TRASH_DEPTH nested
 * container deallocations the object is put on the thread's trash chain
 * instead (_PyTrash_thread_deposit_object) and deallocated when the
 * outermost deallocation ends (_PyTrash_thread_destroy_chain). begin
 * returns false when the object was deposited: the dealloc stops there. */
static inline bool G(trash_begin)(tstate_t *ts, obj_t *o)
{
    if (GL_UNLIKELY(ts->trash_depth >= TSTATE_TRASH_DEPTH)) {
        G(trash_set_next)(o, ts->trash_later);
        ts->trash_later = o;
        return false;
    }
    ts->trash_depth++;
    return true;
}

static inline void G(trash_end)(tstate_t *ts)
{
    if (--ts->trash_depth == 0) {
        while (GL_UNLIKELY(ts->trash_later != NULL)) {
            obj_t *o = ts->trash_later;
            ts->trash_later = G(trash_next)(o);
            G(trash_set_next)(o, NULL);
            o->type->dealloc(ts, o);
        }
    }
}

/* ---- lists ------------------------------------------------------------- */

static void G(list_dealloc)(tstate_t *ts, obj_t *o);
static void G(list_clear)(tstate_t *ts, obj_t *o);

static const type_t G(list_type) = {
    .name = "list",
    .flags = TYPE_LIST | TYPE_GC,
    .payload = sizeof(list_obj_t) - sizeof(obj_t),
    .dealloc = G(list_dealloc),
    .traverse = list_traverse,
    .clear = G(list_clear),
};

/* The list freelist of CPython 3.12 (per interpreter) and 3.13t (per
 * thread): up to LIST_FREELIST_MAX dead list objects kept for reuse, so
 * that list churn costs neither the allocator nor the collector's count. */
#if G_FREE_THREADED
#define G_LIST_FREELIST(ts) (&(ts)->list_freelist)
#else
#define G_LIST_FREELIST(ts) (&(ts)->interp->list_freelist)
#endif

/* list_dealloc: untrack, drop the items last to first, free the item
 * array, then keep the object on the freelist or free it. */
static void G(list_dealloc)(tstate_t *ts, obj_t *o)
{
    list_obj_t *l = (list_obj_t *)o;
    G(gc_untrack)(o);
    if (!G(trash_begin)(ts, o))
        return;
    if (l->items != NULL) {
        for (intptr_t i = l->size; --i >= 0;)
            g_decref(ts, l->items[i]);
        heap_free(ts->heap, l->items);
    }
    list_freelist_t *fl = G_LIST_FREELIST(ts);
    if (fl->count < LIST_FREELIST_MAX) {
        fl->items[fl->count++] = l;   /* dead as an object, kept as memory */
        TS_COUNT_HOT(ts, objects_freed);
    } else {
        G(gc_del)(ts, o);
    }
    G(trash_end)(ts);
}

/* list_clear (tp_clear): drop the items, keep the object. */
static void G(list_clear)(tstate_t *ts, obj_t *o)
{
    list_obj_t *l = (list_obj_t *)o;
    obj_t **items = l->items;
    intptr_t n = l->size;
    l->items = NULL;
    l->size = l->allocated = 0;
    while (--n >= 0)
        g_decref(ts, items[n]);
    heap_free(ts->heap, items);
}

/* PyList_New: a list object from the freelist or the allocator, an item
 * array of `size` slots, tracked by the collector. */
static obj_t *G(list_new)(tstate_t *ts, intptr_t size)
{
    list_freelist_t *fl = G_LIST_FREELIST(ts);
    list_obj_t *l;
    if (fl->count > 0) {
        l = fl->items[--fl->count];
        g_init_refs(ts, &l->ob);   /* _Py_NewReference */
        TS_COUNT_HOT(ts, objects_allocated);
    } else {
        l = (list_obj_t *)G(alloc)(ts, &G(list_type), sizes_list_alloc(G_LAYOUT) + sizes_lab_extra(G_LAYOUT));
        if (l == NULL)
            return NULL;
        G(gc_link)(ts, &l->ob);
    }
    l->size = 0;
    l->allocated = 0;
    l->items = NULL;
    if (size > 0) {
        l->items = heap_malloc(ts->heap, sizes_list_items(size));
        if (l->items == NULL) {
            G(list_dealloc)(ts, &l->ob);
            return tstate_error(ts, "MemoryError: list of %ld items", (long)size);
        }
        memset(l->items, 0, sizes_list_items(size));
        l->allocated = size;
    }
    G(gc_track)(ts, &l->ob);
    return &l->ob;
}

/* ---- nodes: instances of a class with __slots__ ----------------------- */

static void G(node_dealloc)(tstate_t *ts, obj_t *o);
static void G(node_clear)(tstate_t *ts, obj_t *o);

static const type_t G(node_type) = {
    .name = "Node",
    .flags = TYPE_GC,
    .payload = sizeof(node_obj_t) - sizeof(obj_t),
    .dealloc = G(node_dealloc),
    .traverse = node_traverse,
    .clear = G(node_clear),
};

/* clear_slots (the tp_clear of a class with __slots__): each slot set to
 * NULL before its reference is dropped, so a cycle broken here is seen
 * broken by the dealloc it may trigger. */
static void G(node_clear)(tstate_t *ts, obj_t *o)
{
    node_obj_t *n = (node_obj_t *)o;
    for (int i = 0; i < NODE_SLOTS; i++) {
        obj_t *v = n->slot[i];
        if (v != NULL) {
            n->slot[i] = NULL;
            g_decref(ts, v);
        }
    }
}

/* subtype_dealloc: untrack, clear the slots, free. */
static void G(node_dealloc)(tstate_t *ts, obj_t *o)
{
    G(gc_untrack)(o);
    if (!G(trash_begin)(ts, o))
        return;
    G(node_clear)(ts, o);
    G(gc_del)(ts, o);
    G(trash_end)(ts);
}

/* type_call of the Node class: PyType_GenericAlloc (a container, counted
 * towards a collection), empty slots, tracked. */
static obj_t *G(node_new)(tstate_t *ts)
{
    node_obj_t *n = (node_obj_t *)G(alloc)(ts, &G(node_type), sizes_node_alloc(G_LAYOUT) + sizes_lab_extra(G_LAYOUT));
    if (n == NULL)
        return NULL;
    G(gc_link)(ts, &n->ob);
    for (int i = 0; i < NODE_SLOTS; i++)
        n->slot[i] = NULL;
    G(gc_track)(ts, &n->ob);
    return &n->ob;
}

/* list_resize: CPython's over-allocation (sizes_list_grow: 0, 4, 8, 16,
 * 24, 32, 40, 52, 64, 76, ...) so that appends are amortised O(1). */
static int G(list_resize)(tstate_t *ts, list_obj_t *l, intptr_t newsize)
{
    if (l->allocated >= newsize && newsize >= (l->allocated >> 1)) {
        l->size = newsize;
        return 0;
    }
    size_t new_allocated = sizes_list_grow(l->size, newsize);
    obj_t **items = heap_realloc(ts->heap, l->items, sizes_list_items((intptr_t)new_allocated));
    if (items == NULL) {
        tstate_error(ts, "MemoryError: list resize to %zu", new_allocated);
        return -1;
    }
    l->items = items;
    l->size = newsize;
    l->allocated = (intptr_t)new_allocated;
    return 0;
}

/* _PyList_AppendTakeRef: append, stealing the reference to item; -1 on
 * out-of-memory (the item is released). No lock: the LIST_APPEND opcode
 * appends to a list only its own frame can see. */
static inline int G(list_append_unlocked)(tstate_t *ts, obj_t *o, obj_t *item)
{
    list_obj_t *l = (list_obj_t *)o;
    intptr_t n = l->size;
    if (GL_LIKELY(n < l->allocated)) {
        l->items[n] = item;
        l->size = n + 1;
        return 0;
    }
    if (G(list_resize)(ts, l, n + 1) == 0) {
        l->items[n] = item;
        return 0;
    }
    g_decref(ts, item);
    return -1;
}

/* PyList_Append (list.append()): the same inside the list's critical
 * section, which free-threaded CPython takes because another thread may
 * hold the list. */
static int G(list_append)(tstate_t *ts, obj_t *o, obj_t *item)
{
    g_lock(o);
    int rc = G(list_append_unlocked)(ts, o, item);
    g_unlock(o);
    return rc;
}

/* ---- operators --------------------------------------------------------- */

/* The value of `a op b`; -1 with the exception set (on the error path only:
 * that is where the operator's symbol is looked up). */
static int G(binop)(tstate_t *ts, int op, int64_t a, int64_t b, int64_t *out)
{
    switch (op) {
    case BINOP_ADD:
    case BINOP_INPLACE_ADD:
        if (GL_UNLIKELY(__builtin_add_overflow(a, b, out)))
            goto overflow;
        return 0;
    case BINOP_SUB:
    case BINOP_INPLACE_SUB:
        if (GL_UNLIKELY(__builtin_sub_overflow(a, b, out)))
            goto overflow;
        return 0;
    case BINOP_MUL:
        if (GL_UNLIKELY(__builtin_mul_overflow(a, b, out)))
            goto overflow;
        return 0;
    case BINOP_MOD:
        if (GL_UNLIKELY(b == 0)) {
            tstate_error(ts, "ZeroDivisionError: integer modulo by zero");
            return -1;
        }
        if (b == -1) {   /* INT64_MIN % -1 traps in C; in Python it is 0 */
            *out = 0;
            return 0;
        }
        *out = a % b;
        if (*out != 0 && ((*out < 0) != (b < 0)))   /* Python's floored modulo */
            *out += b;
        return 0;
    default:
        tstate_error(ts, "SystemError: bad BINARY_OP argument %d", op);
        return -1;
    }
overflow:
    tstate_error(ts, "OverflowError: int64 overflow in %s (the model has no bignums)", binop_symbol(op));
    return -1;
}

static int G(compare)(int op, int64_t a, int64_t b)
{
    switch (op) {
    case CMP_LT: return a < b;
    case CMP_LE: return a <= b;
    case CMP_EQ: return a == b;
    case CMP_NE: return a != b;
    case CMP_GT: return a > b;
    default: return a >= b;
    }
}

/* TypeError for an operator on two operands that are not ints. */
static void G(operand_error)(tstate_t *ts, const char *symbol, const obj_t *l, const obj_t *r)
{
    tstate_error(ts, "TypeError: unsupported operand types for %s: '%s' and '%s'", symbol,
                 l->type->name, r->type->name);
}

/* Release the two operands of BINARY_OP/COMPARE_OP, right then left: with
 * the specialised int release when both are exact ints (what the *_INT
 * specialisations do), otherwise the generic one. */
static inline void G(release_operands)(tstate_t *ts, obj_t *l, obj_t *r)
{
    if (GL_LIKELY(l->type == G_INT_TYPE && r->type == G_INT_TYPE)) {
        g_decref_int(ts, r);
        g_decref_int(ts, l);
    } else {
        g_decref(ts, r);
        g_decref(ts, l);
    }
}

/* Python truth of a value that is not True or False. */
static int G(truth)(const interp_t *interp, const obj_t *v)
{
    if (obj_is_int(v))
        return int_value(v) != 0;
    if (v->type->flags & TYPE_LIST)
        return ((const list_obj_t *)v)->size != 0;
    return v != &interp->none.body.ob;
}

/* ---- blocking calls ---------------------------------------------------- */

/* CALL_BLOCKING: a builtin that blocks (lab/blocking.h), called the way
 * CPython calls one: arguments read and released with the GIL held,
 * Py_BEGIN_ALLOW_THREADS (g_detach), the system call, Py_END_ALLOW_THREADS
 * (g_attach), then the exception or the result. Out of line, as CPython's
 * builtins are: its locals must not cost the loop's other opcodes a
 * register. Releases the blocking_nargs(which) values at args; returns the
 * result (a new reference), or NULL with the exception set. */
static __attribute__((noinline)) obj_t *G(call_blocking)(tstate_t *ts, blocking_t which, obj_t **args)
{
    int n = blocking_nargs(which);
    int64_t v[2] = {0, 0};
    for (int i = 0; i < n; i++) {
        if (GL_UNLIKELY(!obj_is_int(args[i]))) {
            tstate_error(ts, "TypeError: %s() takes ints, not '%s'", blocking_name(which), args[i]->type->name);
            for (int k = 0; k < n; k++)
                g_decref(ts, args[k]);
            return NULL;
        }
        v[i] = int_value(args[i]);
    }
    for (int i = n; --i >= 0;)
        g_decref(ts, args[i]);
    char why[TSTATE_ERROR_LEN];
    int64_t value;
    g_detach(ts);
    int rc = blk_call(ts, which, v[0], v[1], &value, why, sizeof why);
    g_attach(ts);
    if (GL_UNLIKELY(rc < 0))
        return tstate_error(ts, "%s", why);
    if (which == BLOCKING_RECV)
        return G(int_from)(ts, value);
    obj_t *none = interp_none(ts->interp);
    g_incref(ts, none);
    return none;
}

/* ---- the interpreter loop --------------------------------------------- */

/* Run `code`. args become locals 0..nargs-1 (references stolen). Returns the
 * result or NULL with ts->error set. Codes are checked by code_check before
 * they get here, so indices and stack depth are trusted. */
static obj_t *G(eval)(tstate_t *ts, const code_t *code, obj_t **args, int nargs)
{
    interp_t *interp = ts->interp;
    obj_t *const true_obj = interp_true(interp), *const false_obj = interp_false(interp);
    obj_t *const none = interp_none(interp);
    obj_t *consts[CODE_MAX_CONSTS];
    obj_t *locals[CODE_MAX_LOCALS] = {0};
    obj_t *stack[CODE_MAX_STACK];
    obj_t **sp = stack;
    obj_t *result = NULL;
    int nconsts = 0;

    for (int i = 0; i < nargs; i++)
        locals[i] = args[i];
    for (; nconsts < code->nconsts; nconsts++) {
        int64_t c = code->consts[nconsts];
        consts[nconsts] = c == CODE_CONST_NONE ? (g_incref(ts, none), none) : G(int_from)(ts, c);
        if (consts[nconsts] == NULL)
            goto error;
    }

    /* Dispatch with computed gotos, as CPython does (USE_COMPUTED_GOTOS):
     * every opcode ends in its own indirect jump, which the branch
     * predictor learns per opcode. The opcodes are checked by code_check,
     * so the table is never indexed out of range. */
    static const void *const dispatch_table[OP_COUNT] = {
#define X(name, has_arg) [OP_##name] = &&TARGET_##name,
        OPCODE_LIST(X)
#undef X
    };
#define DISPATCH()                                                             \
    do {                                                                       \
        in = pc++;                                                             \
        g_periodic(ts, in->op);                                                \
        goto *dispatch_table[in->op];                                          \
    } while (0)

    const instr_t *pc = code->instrs;
    const instr_t *in;
    DISPATCH();
    {
        TARGET_LOAD_FAST: {
            obj_t *v = locals[in->arg];
            if (GL_UNLIKELY(v == NULL)) {
                tstate_error(ts, "UnboundLocalError: '%s'", code->localnames[in->arg]);
                goto error;
            }
            g_incref(ts, v);
            *sp++ = v;
            DISPATCH();
        }
        TARGET_LOAD_CONST:
            g_incref(ts, consts[in->arg]);
            *sp++ = consts[in->arg];
            DISPATCH();
        TARGET_LOAD_GLOBAL: {
            obj_t *v = interp->globals[in->arg];
            if (GL_UNLIKELY(v == NULL)) {
                tstate_error(ts, "NameError: name '%s' is not defined", code->globalnames[in->arg]);
                goto error;
            }
            g_incref(ts, v);
            *sp++ = v;
            DISPATCH();
        }
        TARGET_STORE_FAST: {
            obj_t *old = locals[in->arg];
            locals[in->arg] = *--sp;
            if (old != NULL)
                g_decref(ts, old);
            DISPATCH();
        }
        TARGET_POP_TOP:
            g_decref(ts, *--sp);
            DISPATCH();
        TARGET_BINARY_OP: {
            obj_t *r = *--sp, *l = *--sp, *res = NULL;
            int64_t v;
            if (GL_UNLIKELY(!obj_is_int(l) || !obj_is_int(r)))
                G(operand_error)(ts, binop_symbol(in->arg), l, r);
            else if (G(binop)(ts, in->arg, int_value(l), int_value(r), &v) == 0)
                res = G(int_from)(ts, v);
            G(release_operands)(ts, l, r);
            if (GL_UNLIKELY(res == NULL))
                goto error;
            *sp++ = res;
            DISPATCH();
        }
        TARGET_COMPARE_OP: {
            obj_t *r = *--sp, *l = *--sp;
            if (GL_UNLIKELY(!obj_is_int(l) || !obj_is_int(r))) {
                G(operand_error)(ts, cmpop_symbol(in->arg), l, r);
                G(release_operands)(ts, l, r);
                goto error;
            }
            obj_t *res = G(compare)(in->arg, int_value(l), int_value(r)) ? true_obj : false_obj;
            G(release_operands)(ts, l, r);
#if !G_IMMORTAL
            g_incref(ts, res);   /* 3.11: Py_NewRef(Py_True) */
#endif
            *sp++ = res;
            DISPATCH();
        }
        TARGET_BINARY_SUBSCR: {
            obj_t *idx = *--sp, *container = *--sp;
            if (GL_UNLIKELY(container->type != &G(list_type) || !obj_is_int(idx))) {
                tstate_error(ts, "TypeError: '%s' indices on '%s'", idx->type->name, container->type->name);
                g_decref(ts, idx);
                g_decref(ts, container);
                goto error;
            }
            /* Lock-free read, as free-threaded CPython's list_get_item_ref;
             * the lab never resizes a list another thread is reading. */
            list_obj_t *l = (list_obj_t *)container;
            int64_t i = int_value(idx);
            if (i < 0)
                i += l->size;
            if (GL_UNLIKELY(i < 0 || i >= l->size)) {
                tstate_error(ts, "IndexError: list index out of range");
                g_decref(ts, idx);
                g_decref(ts, container);
                goto error;
            }
            obj_t *item = l->items[i];
            g_incref(ts, item);
            if (GL_LIKELY(idx->type == G_INT_TYPE))
                g_decref_int(ts, idx);
            else
                g_decref(ts, idx);
            g_decref(ts, container);
            *sp++ = item;
            DISPATCH();
        }
        TARGET_POP_JUMP_IF_FALSE: {
            obj_t *v = *--sp;
#if G_IMMORTAL
            /* 3.12: the bools are tested by identity and never released */
            if (v == false_obj) {
                pc = code->instrs + in->arg;
            } else if (v != true_obj) {
                int truth = G(truth)(interp, v);
                g_decref(ts, v);
                if (!truth)
                    pc = code->instrs + in->arg;
            }
#else
            /* 3.11: the bools are counted, released like any value */
            int truth = v == true_obj || (v != false_obj && G(truth)(interp, v));
            g_decref(ts, v);
            if (!truth)
                pc = code->instrs + in->arg;
#endif
            DISPATCH();
        }
        TARGET_JUMP_BACKWARD: {
            /* CHECK_EVAL_BREAKER(): the one place a long loop lets the GIL go
             * and an owner merges its biased-refcount queue. */
            uint32_t bits = __atomic_load_n(&ts->eval_breaker, __ATOMIC_RELAXED);
            if (GL_UNLIKELY(bits != 0)) {
                /* An asynchronous exception (PyThreadState_SetAsyncExc),
                 * raised here as _Py_HandlePending raises it. */
                if (bits & EB_ASYNC_EXC) {
                    tstate_error(ts, "SystemExit: stopped by the runner");
                    goto error;
                }
                g_eval_breaker(ts, bits);
            }
            pc = code->instrs + in->arg;
            DISPATCH();
        }
        TARGET_BUILD_LIST: {
            obj_t *l = G(list_new)(ts, in->arg);
            if (GL_UNLIKELY(l == NULL))
                goto error;
            sp -= in->arg;
            for (int i = 0; i < in->arg; i++)
                ((list_obj_t *)l)->items[i] = sp[i];
            ((list_obj_t *)l)->size = in->arg;
            *sp++ = l;
            DISPATCH();
        }
        TARGET_LIST_APPEND: {
            obj_t *v = *--sp;
            if (GL_UNLIKELY(G(list_append_unlocked)(ts, sp[-in->arg], v) < 0))
                goto error;
            DISPATCH();
        }
        TARGET_CALL: {
            /* CALL argc: [callable, arg1 .. argc] -> result. The two kinds
             * of callable the lab has: a class (its instance, as
             * CALL_ALLOC_AND_ENTER_INIT makes one; no arguments) and a
             * built-in function (CALL_BUILTIN_FAST). */
            int argc = in->arg;
            obj_t **argv = sp - argc, *callable = argv[-1], *res;
            if (callable->type == &class_type && argc == 0)
                res = G(node_new)(ts);
            else if (callable->type == &builtin_type)
                res = ((builtin_obj_t *)callable)->fn(ts, argv, argc);
            else
                res = tstate_error(ts, "TypeError: '%s' object is not callable with %d arguments",
                                   callable->type->name, argc);
            while (sp > argv - 1)
                g_decref(ts, *--sp);
            if (GL_UNLIKELY(res == NULL))
                goto error;
            *sp++ = res;
            DISPATCH();
        }
        TARGET_LOAD_ATTR: {
            /* LOAD_ATTR_SLOT: owner.slot, a new reference; owner released. */
            obj_t *owner = sp[-1];
            obj_t *v = owner->type == &G(node_type) ? ((node_obj_t *)owner)->slot[in->arg] : NULL;
            if (GL_UNLIKELY(v == NULL)) {
                tstate_error(ts, "AttributeError: '%s' object has no attribute '%s'", owner->type->name,
                             node_slot_name(in->arg));
                goto error;
            }
            g_incref(ts, v);
            sp[-1] = v;
            g_decref(ts, owner);
            DISPATCH();
        }
        TARGET_STORE_ATTR: {
            /* STORE_ATTR_SLOT: owner.slot = value (TOS1), stealing value;
             * the old value and owner released. */
            obj_t *owner = *--sp, *value = *--sp;
            if (GL_UNLIKELY(owner->type != &G(node_type))) {
                tstate_error(ts, "AttributeError: '%s' object has no attribute '%s'", owner->type->name,
                             node_slot_name(in->arg));
                g_decref(ts, value);
                g_decref(ts, owner);
                goto error;
            }
            node_obj_t *n = (node_obj_t *)owner;
            obj_t *old = n->slot[in->arg];
            n->slot[in->arg] = value;
            if (old != NULL)
                g_decref(ts, old);
            g_decref(ts, owner);
            DISPATCH();
        }
        TARGET_RETURN_VALUE:
            result = *--sp;
            goto done;
        TARGET_CALL_BLOCKING: {
            sp -= blocking_nargs(in->arg);
            obj_t *res = G(call_blocking)(ts, (blocking_t)in->arg, sp);
            if (GL_UNLIKELY(res == NULL))
                goto error;
            *sp++ = res;
            DISPATCH();
        }
    }
#undef DISPATCH

error:
    while (sp > stack)
        g_decref(ts, *--sp);
done:
    for (int i = 0; i < CODE_MAX_LOCALS; i++)
        if (locals[i] != NULL)
            g_decref(ts, locals[i]);
    for (int i = 0; i < nconsts; i++)
        g_decref(ts, consts[i]);
    return result;
}

/* ---- out-of-line entry points for setup code and tests ---------------- */

static void G(incref_ool)(tstate_t *ts, obj_t *o) { g_incref(ts, o); }
static void G(decref_ool)(tstate_t *ts, obj_t *o) { g_decref(ts, o); }
static obj_t *G(int_new)(tstate_t *ts, int64_t v) { return G(int_from)(ts, v); }
static void G(handle_pending)(tstate_t *ts)
{
    uint32_t bits = __atomic_load_n(&ts->eval_breaker, __ATOMIC_RELAXED);
    if (bits != 0)
        g_eval_breaker(ts, bits);
}

const guard_ops_t G(guard_ops) = {
    .eval = G(eval),
    .incref = G(incref_ool),
    .decref = G(decref_ool),
    .int_new = G(int_new),
    .list_new = G(list_new),
    .node_new = G(node_new),
    .list_append = G(list_append),
    .attach = g_attach,
    .detach = g_detach,
    .handle_pending = G(handle_pending),
    .list_type = &G(list_type),
    .node_type = &G(node_type),
};

#undef G
#undef GL_CAT
#undef GL_CAT2
#undef G_HEAD
#undef G_INT_TYPE
#undef G_LAYOUT
#undef G_LIST_FREELIST
#ifdef G_PERIODIC_DEFAULT
#undef g_periodic
#undef G_PERIODIC_DEFAULT
#endif
