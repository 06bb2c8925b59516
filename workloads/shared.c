/* workloads/shared.c: every worker reads one shared list, built by the main
 * thread before the workers start,
 *
 *     L = list(range(length))          # a global
 *     def shared(n):
 *         while n > 0:
 *             x = L[n % length]
 *             n -= 1
 *
 * LOAD_GLOBAL increfs the list and BINARY_SUBSCR increfs the item; dropping
 * them decrefs. Under the GIL the threads take turns. Under `atomic` every
 * worker's atomic add lands on the same cache line (the list's count) and
 * the line bounces between cores. Under `biased` the main thread owns the
 * list, so every worker pays the shared atomic count. The items are small
 * ints: immortal by default (PEP 683), so only the list's count is
 * contended; with --no-immortal the items, the constant 1 and True are
 * contended too, which is exactly what immortality exists to prevent. This
 * is the lab's version of the shared-object patterns CPython's free-
 * threading scaling benchmarks track.
 */
#include "lab/code.h"
#include "lab/interp.h"
#include "workloads/workload.h"

enum { SHARED_LENGTH };

static const wl_param_t shared_params[] = {
    [SHARED_LENGTH] = {.name = "length", .help = "items in the shared list", .def = 64, .min = 1, .max = 1000000},
};

static int shared_build(code_t *c, const int64_t *params)
{
    code_init(c, "shared", "def shared(n):\n    while n > 0:\n        x = L[n % length]\n"
                           "        n -= 1");
    int n = code_local(c, "n");
    int x = code_local(c, "x");
    int list = code_global(c, "L");
    code_loop_t loop;

    code_countdown_begin(c, n, &loop);
    code_emit(c, OP_LOAD_GLOBAL, list);
    code_emit(c, OP_LOAD_FAST, n);
    code_emit(c, OP_LOAD_CONST, code_const(c, params[SHARED_LENGTH]));
    code_emit(c, OP_BINARY_OP, BINOP_MOD);
    code_emit(c, OP_BINARY_SUBSCR, 0);
    code_emit(c, OP_STORE_FAST, x);
    return code_countdown_end(c, n, 1, &loop);
}

/* L = list(range(length)), global 0, created by the calling (main) thread. */
static int shared_setup(tstate_t *ts, const int64_t *params)
{
    const guard_ops_t *ops = ts->interp->ops;
    obj_t *list = ops->list_new(ts, 0);
    if (list == NULL)
        return -1;
    for (int64_t i = 0; i < params[SHARED_LENGTH]; i++) {
        obj_t *item = ops->int_new(ts, i);
        if (item == NULL || ops->list_append(ts, list, item) < 0) {
            ops->decref(ts, list);
            return -1;
        }
    }
    ts->interp->globals[0] = list;
    return 0;
}

const workload_t wl_shared = {
    .name = "shared",
    .description = "x = L[n % length] on one shared global list (refcount contention)",
    .default_size = 20000000,
    .min_size = 1,
    .max_size = INT64_C(1) << 40,
    .params = shared_params,
    .nparams = 1,
    .build = shared_build,
    .setup = shared_setup,
};
