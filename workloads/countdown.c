/* workloads/countdown.c: the seed notebook's contagem_regressiva,
 *
 *     def countdown(n):
 *         while n > 0:
 *             n -= 1
 *
 * Pure interpreter overhead: per iteration two loads, a compare that yields
 * the True singleton, a subtraction that allocates a new int (outside the
 * small-int cache) and a store that frees the old one, and a backward jump
 * that polls the eval breaker. Under the GIL, threads take turns; in forked
 * processes each has its own GIL and they really run in parallel.
 */
#include "lab/code.h"
#include "workloads/workload.h"

static int countdown_build(code_t *c, const int64_t *params)
{
    (void)params;
    code_init(c, "countdown", "def countdown(n):\n    while n > 0:\n        n -= 1");
    int n = code_local(c, "n");
    int loop = code_emit(c, OP_LOAD_FAST, n);
    code_emit(c, OP_LOAD_CONST, code_const(c, 0));
    code_emit(c, OP_COMPARE_OP, CMP_GT);
    int exit_jump = code_emit(c, OP_POP_JUMP_IF_FALSE, 0);
    code_emit(c, OP_LOAD_FAST, n);
    code_emit(c, OP_LOAD_CONST, code_const(c, 1));
    code_emit(c, OP_BINARY_OP, BINOP_INPLACE_SUB);
    code_emit(c, OP_STORE_FAST, n);
    code_emit(c, OP_JUMP_BACKWARD, loop);
    code_patch(c, exit_jump, code_emit(c, OP_LOAD_CONST, code_const(c, CODE_CONST_NONE)));
    return code_emit(c, OP_RETURN_VALUE, 0) < 0 ? -1 : 0;
}

const workload_t wl_countdown = {
    .name = "countdown",
    .description = "while n > 0: n -= 1  (the seed's CPU-bound loop)",
    .default_size = 50000000,
    .min_size = 1,
    .max_size = INT64_C(1) << 40,
    .params = NULL,
    .nparams = 0,
    .build = countdown_build,
    .setup = NULL,
};
