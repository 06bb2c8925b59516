/* lab/builtins.c: the built-in functions of lab/builtins.h. They run
 * outside the hot loop (a CALL), so they reach the guard through its ops
 * table. */
#include "lab/builtins.h"

#include <limits.h>

#include "lab/gc.h"
#include "lab/gc_ft.h"
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

/* gc_isenabled_impl */
static obj_t *builtin_gc_isenabled(tstate_t *ts, obj_t *const *args, int nargs)
{
    (void)args;
    if (nargs != 0)
        return tstate_error(ts, "TypeError: gc.isenabled() takes no arguments (%d given)", nargs);
    interp_t *interp = ts->interp;
    obj_t *b = __atomic_load_n(&interp->gc.enabled, __ATOMIC_RELAXED) ? interp_true(interp) : interp_false(interp);
    interp->ops->incref(ts, b);
    return b;
}

/* A new list of n ints (the tuple CPython's Py_BuildValue("(iii)") makes);
 * NULL with the error set when out of memory. */
static obj_t *builtin_int_list(tstate_t *ts, const int64_t *v, int n)
{
    const guard_ops_t *ops = ts->interp->ops;
    obj_t *list = ops->list_new(ts, 0);
    for (int i = 0; list != NULL && i < n; i++) {
        obj_t *item = ops->int_new(ts, v[i]);
        if (item == NULL || ops->list_append(ts, list, item) < 0) {
            ops->decref(ts, list);
            list = NULL;
        }
    }
    return list;
}

/* gc_get_count_impl: the free-threaded build first adds the calling
 * thread's buffered count to the interpreter's, as 3.13t does. */
static obj_t *builtin_gc_get_count(tstate_t *ts, obj_t *const *args, int nargs)
{
    (void)args;
    if (nargs != 0)
        return tstate_error(ts, "TypeError: gc.get_count() takes no arguments (%d given)", nargs);
    if (ts->interp->layout == OBJ_LAYOUT_FT)
        gc_ft_flush_count(ts);
    int64_t count[GC_GENERATIONS];
    gc_get_count(&ts->interp->gc, count);
    return builtin_int_list(ts, count, GC_GENERATIONS);
}

/* gc_get_threshold_impl */
static obj_t *builtin_gc_get_threshold(tstate_t *ts, obj_t *const *args, int nargs)
{
    (void)args;
    if (nargs != 0)
        return tstate_error(ts, "TypeError: gc.get_threshold() takes no arguments (%d given)", nargs);
    int64_t threshold[GC_GENERATIONS];
    for (int i = 0; i < GC_GENERATIONS; i++)
        threshold[i] = __atomic_load_n(&ts->interp->gc.gen[i].threshold, __ATOMIC_RELAXED);
    return builtin_int_list(ts, threshold, GC_GENERATIONS);
}

/* gc_set_threshold (Modules/gcmodule.c, 3.12): PyArg_ParseTuple "i|ii",
 * so one to three C ints, the ones given set and the others kept; no
 * other check (0 in the first turns automatic collection off, as in
 * --gc-thresholds). The stores are atomic because the free-threaded
 * trigger reads the thresholds from every thread (gc_ft_should_collect). */
static obj_t *builtin_gc_set_threshold(tstate_t *ts, obj_t *const *args, int nargs)
{
    if (nargs < 1 || nargs > GC_GENERATIONS)
        return tstate_error(ts, "TypeError: gc.set_threshold() takes 1 to 3 arguments (%d given)", nargs);
    for (int i = 0; i < nargs; i++) {
        if (!obj_is_int(args[i]))
            return tstate_error(ts, "TypeError: gc.set_threshold() takes ints");
        if (int_value(args[i]) < INT_MIN || int_value(args[i]) > INT_MAX)
            return tstate_error(ts, "OverflowError: signed integer is greater than maximum");
    }
    for (int i = 0; i < nargs; i++)
        __atomic_store_n(&ts->interp->gc.gen[i].threshold, int_value(args[i]), __ATOMIC_RELAXED);
    return builtin_none(ts);
}

/* gc_get_stats_impl: a snapshot of each generation's statistics (the
 * free-threaded collector counts each collection under the generation it
 * was asked for, as gc_free_threading.c's gc_collect_main does). No
 * collection runs meanwhile: the caller is attached, and a collection
 * needs the GIL or the world stopped. */
static obj_t *builtin_gc_get_stats(tstate_t *ts, obj_t *const *args, int nargs)
{
    (void)args;
    if (nargs != 0)
        return tstate_error(ts, "TypeError: gc.get_stats() takes no arguments (%d given)", nargs);
    const guard_ops_t *ops = ts->interp->ops;
    obj_t *list = ops->list_new(ts, 0);
    for (int i = 0; list != NULL && i < GC_GENERATIONS; i++) {
        const gc_gen_stats_t *st = &ts->interp->gc.stats[i];
        int64_t v[] = {(int64_t)st->collections, (int64_t)st->collected, (int64_t)st->uncollectable};
        obj_t *item = builtin_int_list(ts, v, 3);
        if (item == NULL || ops->list_append(ts, list, item) < 0) {
            ops->decref(ts, list);
            list = NULL;
        }
    }
    return list;
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
