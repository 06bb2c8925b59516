/* workloads/cow.c: copy-on-write after fork (issue 10, seed 002's
 * "processes cost more memory" in numbers). Before the workers start, the
 * main thread builds
 *
 *     L = [1000 + i for i in range(objects)]        # -P kind=int
 *     L = [Node() for _ in range(objects)]          # -P kind=node
 *     gc.freeze()                                   # -P heap=frozen
 *     (every object of L, and L, made immortal)     # -P heap=immortal
 *
 * and each worker only reads it:
 *
 *     def cow(n):
 *         while n > 0:
 *             for x in L:
 *                 pass
 *             n -= 1
 *
 * A forked worker starts sharing every page of L with its parent. Reading
 * is not read-only in CPython: `x = L[i]` increfs the item, rebinding x
 * decrefs the previous one, and each write to a count makes the kernel copy
 * the page the object sits in. So plain readers end up with a private copy
 * of nearly the whole heap: the Instagram story. gc.freeze() (3.7) keeps
 * the collector from writing its links into old objects, but not the
 * refcount writes, so a loop that allocates no container (this one) dirties
 * as much frozen as plain. Immortal objects (PEP 683, 3.12; Cinder
 * immortalised the whole heap before forking) are never written by
 * refcounting: their pages stay shared. Threads (-m threads) share one
 * address space: nothing is copied at all.
 *
 * Each worker's /proc/PID/smaps_rollup is read before and after its run
 * (workload_t.smaps): Private_Dirty grows by the pages it copied. `size`
 * counts passes over L, split among the workers (each makes one at least:
 * no mode gives a worker nothing).
 *
 * CPython's immortalisation makes the heap leak by design at exit; the lab
 * makes the objects mortal again at the end of the run (teardown), so that
 * its leak check still holds.
 */
#include <stdio.h>

#include "lab/code.h"
#include "lab/gc.h"
#include "lab/interp.h"
#include "workloads/workload.h"

enum { COW_OBJECTS, COW_KIND, COW_HEAP };
enum { KIND_INT, KIND_NODE };
enum { HEAP_PLAIN, HEAP_FROZEN, HEAP_IMMORTAL };

static const char *const cow_kinds[] = {[KIND_INT] = "int", [KIND_NODE] = "node", NULL};
static const char *const cow_heaps[] = {[HEAP_PLAIN] = "plain", [HEAP_FROZEN] = "frozen",
                                        [HEAP_IMMORTAL] = "immortal", NULL};

static const wl_param_t cow_params[] = {
    [COW_OBJECTS] = {.name = "objects", .help = "objects the parent builds before the workers start",
                     .def = 1000000, .min = 1, .max = 100000000},
    [COW_KIND] = {.name = "kind", .help = "int: distinct ints above the cache; node: containers (Node())",
                  .def = KIND_INT, .min = KIND_INT, .max = KIND_NODE, .choices = cow_kinds},
    [COW_HEAP] = {.name = "heap",
                  .help = "plain; frozen: gc.freeze() before the fork; immortal: every object made immortal",
                  .def = HEAP_PLAIN, .min = HEAP_PLAIN, .max = HEAP_IMMORTAL, .choices = cow_heaps},
};

static int cow_build(code_t *c, const int64_t *params)
{
    code_init(c, "cow", "def cow(n):\n    while n > 0:\n        for x in L:\n            pass\n        n -= 1");
    int n = code_local(c, "n"), i = code_local(c, "i"), x = code_local(c, "x");
    int list = code_global(c, "L");
    code_loop_t passes, items;

    code_countdown_begin(c, n, &passes);
    code_upto_begin(c, i, 0, OP_LOAD_CONST, code_const(c, params[COW_OBJECTS]), &items);
    code_emit(c, OP_LOAD_GLOBAL, list);
    code_emit(c, OP_LOAD_FAST, i);
    code_emit(c, OP_BINARY_SUBSCR, 0);
    code_emit(c, OP_STORE_FAST, x);
    code_upto_end(c, i, &items);
    return code_countdown_end(c, n, 1, &passes);
}

/* Every object of L, and L itself. */
static void cow_for_each(interp_t *interp, void (*fn)(obj_t *o, obj_layout_t layout, intptr_t n))
{
    list_obj_t *l = (list_obj_t *)interp->globals[0];
    for (intptr_t k = 0; k < l->size; k++)
        fn(l->items[k], interp->layout, 1);   /* held by L alone */
    fn(&l->ob, interp->layout, 1);            /* held by the global alone */
}

static void cow_immortalize(obj_t *o, obj_layout_t layout, intptr_t n)
{
    (void)n;
    obj_set_immortal(o, layout);
}

static int cow_setup(tstate_t *ts, const int64_t *params)
{
    const guard_ops_t *ops = ts->interp->ops;
    obj_t *list = ops->list_new(ts, 0);
    if (list == NULL)
        return -1;
    for (int64_t k = 0; k < params[COW_OBJECTS]; k++) {
        obj_t *item = params[COW_KIND] == KIND_NODE ? ops->node_new(ts) : ops->int_new(ts, 1000 + k);
        if (item == NULL || ops->list_append(ts, list, item) < 0) {
            ops->decref(ts, list);
            return -1;
        }
        /* The comprehension's backward jump: collections the allocations
         * make due run here, in the parent, as they would in Python (the
         * nodes end up in the old generations before the fork). */
        ops->handle_pending(ts);
    }
    ts->interp->globals[0] = list;
    if (params[COW_HEAP] == HEAP_FROZEN)
        gc_freeze(ts);
    else if (params[COW_HEAP] == HEAP_IMMORTAL)
        cow_for_each(ts->interp, cow_immortalize);
    return 0;
}

/* Immortalising the heap needs PEP 683's immortal objects. Without them
 * (--no-immortal, CPython before 3.12) no refcount operation tests for the
 * mark: the readers would count the marked objects like any other, and
 * under atomic the first reader's decref would free an object L still
 * holds. */
static int cow_check(const int64_t *params, bool immortal, char *err, size_t errlen)
{
    if (params[COW_HEAP] == HEAP_IMMORTAL && !immortal) {
        snprintf(err, errlen, "-P heap=immortal needs immortal objects (PEP 683), which --no-immortal turns off");
        return -1;
    }
    return 0;
}

static int cow_teardown(tstate_t *ts, const int64_t *params)
{
    if (params[COW_HEAP] == HEAP_IMMORTAL && ts->interp->globals[0] != NULL)
        cow_for_each(ts->interp, obj_set_refcount);
    return 0;
}

const workload_t wl_cow = {
    .name = "cow",
    .description = "forked workers only read a list the parent built: the pages they copy (-P "
                   "heap=plain|frozen|immortal)",
    .default_size = 16,
    .min_size = 1,
    .max_size = 1000000,
    .params = cow_params,
    .nparams = 3,
    .build = cow_build,
    .setup = cow_setup,
    .unit = NULL,
    .size_unit = "passes over the list, one at least per worker",
    .teardown = cow_teardown,
    .check = cow_check,
    .smaps = true,
};
