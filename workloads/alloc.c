/* workloads/alloc.c: allocation churn, in the spirit of seed 001's
 *
 *     def alloc(n):
 *         while n > 0:
 *             lst = [i for i in range(k)]
 *             n -= k
 *
 * Each round builds a list of k ints and drops the previous one: ints above
 * 256 go through the allocator's small-object pools (48-byte blocks for the
 * 32-byte header + value), the list's item array (8 bytes per slot, grown
 * by CPython's over-allocation) crosses 512 bytes and goes to the system
 * allocator, and the store to `lst` frees the previous list and every int in
 * it. `size` counts ints created; the work comes in whole lists of k (the
 * workload's unit), so the size is rounded up to a multiple of k and split
 * among the workers list by list: every mode builds the same lists.
 */
#include "lab/code.h"
#include "workloads/workload.h"

enum { ALLOC_K };

static const wl_param_t alloc_params[] = {
    [ALLOC_K] = {"k", "ints per list", 1000, 1, 1000000},
};

static int alloc_build(code_t *c, const int64_t *params)
{
    code_init(c, "alloc", "def alloc(n):\n    while n > 0:\n        lst = [i for i in range(k)]\n"
                          "        n -= k");
    int n = code_local(c, "n");
    int i = code_local(c, "i");
    int lst = code_local(c, "lst");
    int k = code_const(c, params[ALLOC_K]);
    int zero = code_const(c, 0);
    int one = code_const(c, 1);
    code_loop_t outer;

    code_countdown_begin(c, n, &outer);
    code_emit(c, OP_BUILD_LIST, 0);
    code_emit(c, OP_LOAD_CONST, zero);
    code_emit(c, OP_STORE_FAST, i);
    int inner = code_emit(c, OP_LOAD_FAST, i);
    code_emit(c, OP_LOAD_CONST, k);
    code_emit(c, OP_COMPARE_OP, CMP_LT);
    int exit_inner = code_emit(c, OP_POP_JUMP_IF_FALSE, 0);
    code_emit(c, OP_LOAD_FAST, i);
    code_emit(c, OP_LIST_APPEND, 1);
    code_emit(c, OP_LOAD_FAST, i);
    code_emit(c, OP_LOAD_CONST, one);
    code_emit(c, OP_BINARY_OP, BINOP_INPLACE_ADD);
    code_emit(c, OP_STORE_FAST, i);
    code_emit(c, OP_JUMP_BACKWARD, inner);
    code_patch(c, exit_inner, code_emit(c, OP_STORE_FAST, lst));
    return code_countdown_end(c, n, params[ALLOC_K], &outer);
}

static int64_t alloc_unit(const int64_t *params)
{
    return params[ALLOC_K];
}

const workload_t wl_alloc = {
    .name = "alloc",
    .description = "lst = [i for i in range(k)] repeatedly (allocator churn)",
    .default_size = 20000000,
    .min_size = 1,
    .max_size = INT64_C(1) << 40,
    .params = alloc_params,
    .nparams = 1,
    .build = alloc_build,
    .setup = NULL,
    .unit = alloc_unit,
};
