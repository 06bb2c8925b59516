/* lab/eval_impl.h: the interpreter loop and the object operations that do
 * refcounting, written once and compiled once per guard.
 *
 * This file is a template, not a header: a guard's translation unit
 * (gil/guard_<name>.c) defines GUARD_NAME and these inline primitives, then
 * includes it:
 *
 *   g_init_refs(ts, o)   give a new object its first reference
 *   g_incref(ts, o)      Py_INCREF of this guard
 *   g_decref(ts, o)      Py_DECREF of this guard (deallocates at zero)
 *   g_lock(o), g_unlock(o)
 *                        critical section around container mutation
 *                        (Py_BEGIN_CRITICAL_SECTION); no-ops under a GIL
 *   g_eval_breaker(ts, bits)
 *                        what the loop does when its eval breaker is set
 *   g_attach(ts), g_detach(ts)
 *                        a thread starts / stops running bytecode
 *
 * Because every primitive is a static inline known at compile time, the loop
 * that comes out has no indirect call and no branch on "which guard" per
 * refcount operation: that is the lab's rule that the measurement must not
 * distort what it measures. The one indirect call per allocation (through
 * the heap's allocator table) and per deallocation (through the type's
 * dealloc) are CPython's own.
 *
 * It defines, with the guard's name appended: the list type, the int
 * constructor, list_new/list_append, the eval function and the guard_ops_t
 * table `guard_ops_<name>`.
 */
#ifndef GUARD_NAME
#error "define GUARD_NAME and the g_* primitives before including lab/eval_impl.h"
#endif

#include <stdint.h>
#include <string.h>

#include "lab/code.h"
#include "lab/interp.h"
#include "lab/object.h"

#define GL_CAT2(a, b) a##_##b
#define GL_CAT(a, b) GL_CAT2(a, b)
#define G(name) GL_CAT(name, GUARD_NAME)
#define GL_STR2(x) #x
#define GL_STR(x) GL_STR2(x)

/* ---- allocation ------------------------------------------------------ */

static inline obj_t *g_alloc(tstate_t *ts, const type_t *type)
{
    obj_t *o = heap_malloc(ts->heap, type->basicsize);
    if (o == NULL)
        return tstate_error(ts, "MemoryError: cannot allocate %s", type->name);
    o->flags = 0;
    o->mutex = 0;
    o->pad = 0;
    o->type = type;
    g_init_refs(ts, o);
    ts->objects_allocated++;
    return o;
}

/* PyLong_FromLongLong: small values come from the cache (a new reference,
 * which is free when the cache is immortal), others are allocated. */
static inline obj_t *g_int_from(tstate_t *ts, int64_t v)
{
    if (v >= SMALL_INT_MIN && v <= SMALL_INT_MAX) {
        obj_t *o = &ts->interp->small_ints[v - SMALL_INT_MIN].ob;
        g_incref(ts, o);
        return o;
    }
    int_obj_t *io = (int_obj_t *)g_alloc(ts, &int_type);
    if (io == NULL)
        return NULL;
    io->value = v;
    return &io->ob;
}

static inline obj_t *g_bool(tstate_t *ts, int truth)
{
    obj_t *o = truth ? &ts->interp->true_obj.ob : &ts->interp->false_obj.ob;
    g_incref(ts, o);
    return o;
}

/* ---- lists ------------------------------------------------------------- */

static void G(list_dealloc)(tstate_t *ts, obj_t *o);

static const type_t G(list_type) = {
    .name = "list",
    .basicsize = sizeof(list_obj_t),
    .dealloc = G(list_dealloc),
};

/* list_dealloc: drop the items last to first, as CPython does, then the item
 * array and the object. */
static void G(list_dealloc)(tstate_t *ts, obj_t *o)
{
    list_obj_t *l = (list_obj_t *)o;
    for (intptr_t i = l->size; --i >= 0;)
        g_decref(ts, l->items[i]);
    heap_free(ts->heap, l->items);
    ts->objects_freed++;
    heap_free(ts->heap, o);
}

static obj_t *G(list_new)(tstate_t *ts, intptr_t size)
{
    list_obj_t *l = (list_obj_t *)g_alloc(ts, &G(list_type));
    if (l == NULL)
        return NULL;
    l->size = 0;
    l->allocated = 0;
    l->items = NULL;
    if (size > 0) {
        l->items = heap_malloc(ts->heap, (size_t)size * sizeof(obj_t *));
        if (l->items == NULL) {
            G(list_dealloc)(ts, &l->ob);
            return tstate_error(ts, "MemoryError: list of %ld items", (long)size);
        }
        memset(l->items, 0, (size_t)size * sizeof(obj_t *));
        l->allocated = size;
    }
    return &l->ob;
}

/* list_resize: CPython's over-allocation pattern 0, 4, 8, 16, 24, 32, 40,
 * 52, 64, 76, ... so that appends are amortised O(1). */
static int g_list_resize(tstate_t *ts, list_obj_t *l, intptr_t newsize)
{
    if (l->allocated >= newsize && newsize >= (l->allocated >> 1)) {
        l->size = newsize;
        return 0;
    }
    size_t new_allocated = ((size_t)newsize + ((size_t)newsize >> 3) + 6) & ~(size_t)3;
    if ((size_t)(newsize - l->size) > new_allocated - (size_t)newsize)
        new_allocated = ((size_t)newsize + 3) & ~(size_t)3;
    obj_t **items = heap_realloc(ts->heap, l->items, new_allocated * sizeof(obj_t *));
    if (items == NULL) {
        tstate_error(ts, "MemoryError: list resize to %zu", new_allocated);
        return -1;
    }
    l->items = items;
    l->size = newsize;
    l->allocated = (intptr_t)new_allocated;
    return 0;
}

/* list.append(item), stealing the reference to item; -1 on out-of-memory
 * (the item is released). Under a no-GIL guard the list's own lock is held,
 * as free-threaded CPython's critical section does. */
static inline int g_list_append(tstate_t *ts, obj_t *o, obj_t *item)
{
    list_obj_t *l = (list_obj_t *)o;
    int rc = 0;
    g_lock(o);
    intptr_t n = l->size;
    if (n < l->allocated) {
        l->items[n] = item;
        l->size = n + 1;
    } else if (g_list_resize(ts, l, n + 1) == 0) {
        l->items[n] = item;
    } else {
        rc = -1;
    }
    g_unlock(o);
    if (rc < 0)
        g_decref(ts, item);
    return rc;
}

/* ---- the interpreter loop --------------------------------------------- */

static int64_t g_binop(tstate_t *ts, int op, int64_t a, int64_t b, int *failed)
{
    int64_t r = 0;
    *failed = 0;
    switch (op) {
    case BINOP_ADD:
    case BINOP_INPLACE_ADD:
        *failed = __builtin_add_overflow(a, b, &r);
        break;
    case BINOP_SUB:
    case BINOP_INPLACE_SUB:
        *failed = __builtin_sub_overflow(a, b, &r);
        break;
    case BINOP_MUL:
        *failed = __builtin_mul_overflow(a, b, &r);
        break;
    case BINOP_MOD:
        if (b == 0) {
            tstate_error(ts, "ZeroDivisionError: integer modulo by zero");
            *failed = 1;
            return 0;
        }
        if (b == -1)   /* INT64_MIN % -1 traps in C; in Python it is 0 */
            return 0;
        r = a % b;
        if (r != 0 && ((r < 0) != (b < 0)))   /* Python's floored modulo */
            r += b;
        return r;
    default:
        tstate_error(ts, "SystemError: bad BINARY_OP argument %d", op);
        *failed = 1;
        return 0;
    }
    if (*failed)
        tstate_error(ts, "OverflowError: int64 overflow in %s (the model has no bignums)", binop_symbol(op));
    return r;
}

static int g_compare(int op, int64_t a, int64_t b)
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

/* The two operands of BINARY_OP and COMPARE_OP, just popped (operands[0]
 * is the left one): their values into *a and *b and both references
 * dropped, as the opcodes do once they have read them. Returns 0, or -1 with
 * a TypeError (the references are dropped then too). */
static inline int g_take_ints(tstate_t *ts, obj_t **operands, const char *op, int64_t *a, int64_t *b)
{
    obj_t *l = operands[0], *r = operands[1];
    int ok = obj_is_int(l) && obj_is_int(r);
    if (ok) {
        *a = int_value(l);
        *b = int_value(r);
    } else {
        *a = *b = 0;
        tstate_error(ts, "TypeError: unsupported operand types for %s: '%s' and '%s'", op,
                     l->type->name, r->type->name);
    }
    g_decref(ts, l);
    g_decref(ts, r);
    return ok ? 0 : -1;
}

/* Run `code`. args become locals 0..nargs-1 (references stolen). Returns the
 * result or NULL with ts->error set. Codes are checked by code_check before
 * they get here, so indices and stack depth are trusted. */
static obj_t *G(eval)(tstate_t *ts, const code_t *code, obj_t **args, int nargs)
{
    interp_t *interp = ts->interp;
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
        consts[nconsts] = c == CODE_CONST_NONE ? (g_incref(ts, &interp->none), &interp->none)
                                               : g_int_from(ts, c);
        if (consts[nconsts] == NULL)
            goto error;
    }

    /* Dispatch with computed gotos, as CPython does (USE_COMPUTED_GOTOS):
     * every opcode ends in its own indirect jump, which the branch
     * predictor learns per opcode; a switch funnels all of them through one
     * jump and makes the cost of dispatch depend on code layout. The
     * opcodes are checked by code_check, so the table is never indexed out
     * of range. */
    static const void *const dispatch_table[OP_COUNT] = {
#define X(name, has_arg) [OP_##name] = &&TARGET_##name,
        OPCODE_LIST(X)
#undef X
    };
#define DISPATCH()                                                             \
    do {                                                                       \
        in = pc++;                                                             \
        goto *dispatch_table[in->op];                                          \
    } while (0)

    const instr_t *pc = code->instrs;
    const instr_t *in;
    DISPATCH();
    {
        TARGET_LOAD_FAST: {
            obj_t *v = locals[in->arg];
            if (v == NULL) {
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
            if (v == NULL) {
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
            int64_t a, b;
            sp -= 2;
            if (g_take_ints(ts, sp, binop_symbol(in->arg), &a, &b) < 0)
                goto error;
            int failed;
            int64_t v = g_binop(ts, in->arg, a, b, &failed);
            obj_t *res = failed ? NULL : g_int_from(ts, v);
            if (res == NULL)
                goto error;
            *sp++ = res;
            DISPATCH();
        }
        TARGET_COMPARE_OP: {
            int64_t a, b;
            sp -= 2;
            if (g_take_ints(ts, sp, cmpop_symbol(in->arg), &a, &b) < 0)
                goto error;
            *sp++ = g_bool(ts, g_compare(in->arg, a, b));
            DISPATCH();
        }
        TARGET_BINARY_SUBSCR: {
            obj_t *idx = *--sp, *container = *--sp;
            if (container->type != &G(list_type) || !obj_is_int(idx)) {
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
            if (i < 0 || i >= l->size) {
                tstate_error(ts, "IndexError: list index out of range");
                g_decref(ts, idx);
                g_decref(ts, container);
                goto error;
            }
            obj_t *item = l->items[i];
            g_incref(ts, item);
            g_decref(ts, idx);
            g_decref(ts, container);
            *sp++ = item;
            DISPATCH();
        }
        TARGET_POP_JUMP_IF_FALSE: {
            obj_t *v = *--sp;
            int truth = obj_is_int(v)          ? int_value(v) != 0
                        : v->type == &G(list_type) ? ((list_obj_t *)v)->size != 0
                                                   : v != &interp->none;
            g_decref(ts, v);
            if (!truth)
                pc = code->instrs + in->arg;
            DISPATCH();
        }
        TARGET_JUMP_BACKWARD: {
            /* CHECK_EVAL_BREAKER(): the one place a long loop lets the GIL go
             * and an owner merges its biased-refcount queue. */
            uint32_t bits = __atomic_load_n(&ts->eval_breaker, __ATOMIC_RELAXED);
            if (bits != 0)
                g_eval_breaker(ts, bits);
            pc = code->instrs + in->arg;
            DISPATCH();
        }
        TARGET_BUILD_LIST: {
            obj_t *l = G(list_new)(ts, in->arg);
            if (l == NULL)
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
            if (g_list_append(ts, sp[-in->arg], v) < 0)
                goto error;
            DISPATCH();
        }
        TARGET_RETURN_VALUE:
            result = *--sp;
            goto done;
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
static obj_t *G(int_new)(tstate_t *ts, int64_t v) { return g_int_from(ts, v); }
static int G(list_append_ool)(tstate_t *ts, obj_t *l, obj_t *item) { return g_list_append(ts, l, item); }

const guard_ops_t G(guard_ops) = {
    .eval = G(eval),
    .incref = G(incref_ool),
    .decref = G(decref_ool),
    .int_new = G(int_new),
    .list_new = G(list_new),
    .list_append = G(list_append_ool),
    .attach = g_attach,
    .detach = g_detach,
};
