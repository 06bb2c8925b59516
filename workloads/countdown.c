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
    code_loop_t loop;
    code_countdown_begin(c, n, &loop);
    return code_countdown_end(c, n, 1, &loop);
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
