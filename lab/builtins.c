/* lab/builtins.c: the built-in functions of lab/builtins.h. They run
 * outside the hot loop (a CALL), so they reach the guard through its ops
 * table. */
#include "lab/builtins.h"

#include "lab/gc.h"
#include "lab/interp.h"

/* None, as a new reference. */
static obj_t *builtin_none(tstate_t *ts)
{
    obj_t *none = interp_none(ts->interp);
    ts->interp->ops->incref(ts, none);
    return none;
}

/* Argument i as a generation number, or the default 2 (gc.collect()). */
static int builtin_generation(tstate_t *ts, obj_t *const *args, int nargs, int *gen)
{
    *gen = GC_GENERATIONS - 1;
    if (nargs == 0)
        return 0;
    if (nargs > 1 || !obj_is_int(args[0])) {
        tstate_error(ts, "TypeError: gc.collect() takes one optional int, the generation");
        return -1;
    }
    int64_t g = int_value(args[0]);
    if (g < 0 || g >= GC_GENERATIONS) {
        tstate_error(ts, "ValueError: invalid generation %lld", (long long)g);
        return -1;
    }
    *gen = (int)g;
    return 0;
}

static obj_t *builtin_gc_collect(tstate_t *ts, obj_t *const *args, int nargs)
{
    int gen;
    if (builtin_generation(ts, args, nargs, &gen) < 0)
        return NULL;
    int64_t n = gc_collect(ts, gen);
    return ts->interp->ops->int_new(ts, n);
}

static obj_t *builtin_no_args(tstate_t *ts, int nargs, const char *name)
{
    if (nargs != 0)
        return tstate_error(ts, "TypeError: %s() takes no arguments (%d given)", name, nargs);
    return builtin_none(ts);
}

static obj_t *builtin_gc_disable(tstate_t *ts, obj_t *const *args, int nargs)
{
    (void)args;
    __atomic_store_n(&ts->interp->gc.enabled, false, __ATOMIC_RELAXED);
    return builtin_no_args(ts, nargs, "gc.disable");
}

static obj_t *builtin_gc_enable(tstate_t *ts, obj_t *const *args, int nargs)
{
    (void)args;
    __atomic_store_n(&ts->interp->gc.enabled, true, __ATOMIC_RELAXED);
    return builtin_no_args(ts, nargs, "gc.enable");
}

static obj_t *builtin_gc_freeze(tstate_t *ts, obj_t *const *args, int nargs)
{
    (void)args;
    gc_freeze(ts);
    return builtin_no_args(ts, nargs, "gc.freeze");
}

static obj_t *builtin_gc_unfreeze(tstate_t *ts, obj_t *const *args, int nargs)
{
    (void)args;
    gc_unfreeze(ts);
    return builtin_no_args(ts, nargs, "gc.unfreeze");
}

/* The one argument of a function of one object; NULL with the TypeError. */
static obj_t *builtin_one_arg(tstate_t *ts, obj_t *const *args, int nargs, const char *name)
{
    if (nargs != 1)
        return tstate_error(ts, "TypeError: %s() takes exactly one argument (%d given)", name, nargs);
    return args[0];
}

/* builtin_id: PyLong_FromVoidPtr(v). CPython's PyObject * is the address of
 * the header's first byte; the lab's obj_t * points at ob_type, so the
 * header's size is taken off. */
static obj_t *builtin_id(tstate_t *ts, obj_t *const *args, int nargs)
{
    obj_t *o = builtin_one_arg(ts, args, nargs, "id");
    if (o == NULL)
        return NULL;
    uintptr_t address = (uintptr_t)o - obj_head_size(ts->interp->layout);
    return ts->interp->ops->int_new(ts, (int64_t)address);
}

/* sys_getrefcount_impl: Py_REFCNT(object), which counts the reference the
 * caller's stack holds on the argument while the call runs. */
static obj_t *builtin_sys_getrefcount(tstate_t *ts, obj_t *const *args, int nargs)
{
    obj_t *o = builtin_one_arg(ts, args, nargs, "getrefcount");
    if (o == NULL)
        return NULL;
    return ts->interp->ops->int_new(ts, (int64_t)obj_refcount(o, ts->interp->layout));
}

static const struct {
    const char *name;
    builtin_fn fn;
} builtins[BUILTIN_COUNT] = {
#define X(id, pyname) [BUILTIN_##id] = {pyname, builtin_##id},
    BUILTIN_LIST(X)
#undef X
};

const char *builtin_name(builtin_id_t id)
{
    return builtins[id].name;
}

builtin_fn builtin_function(builtin_id_t id)
{
    return builtins[id].fn;
}
