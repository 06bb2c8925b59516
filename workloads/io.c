/* workloads/io.c: threads that wait, the second half of every GIL talk,
 *
 *     def io(n):
 *         while n > 0:
 *             time.sleep(block_us / 1e6)   # blocks with the GIL released
 *             k = work                     # a little interpreter work
 *             while k > 0:
 *                 k -= 1
 *             n -= 1
 *
 * time.sleep is CALL_BLOCKING (lab/blocking.h): Py_BEGIN_ALLOW_THREADS,
 * clock_nanosleep, Py_END_ALLOW_THREADS. While one thread sleeps another
 * holds the GIL, so W threads overlap their waits and finish in about 1/W
 * of the single thread's time, even under the GIL: the "threads are fine
 * for I/O" row beside countdown's "threads gain nothing". The work between
 * waits is what they still take turns for; raise -P work until it is no
 * longer small beside -P block_us and the overlap fades. `size` counts
 * blocking calls over all workers.
 */
#include "lab/code.h"
#include "workloads/workload.h"

enum { IO_BLOCK_US, IO_WORK };

static const wl_param_t io_params[] = {
    [IO_BLOCK_US] = {"block_us", "microseconds each blocking call sleeps", 1000, 1, 10000000},
    [IO_WORK] = {"work", "countdown iterations of interpreter work after each call", 100, 0,
                 100000000},
};

static int io_build(code_t *c, const int64_t *params)
{
    code_init(c, "io", "def io(n):\n    while n > 0:\n        time.sleep(block_us / 1e6)\n"
                       "        k = work\n        while k > 0:\n            k -= 1\n        n -= 1");
    int n = code_local(c, "n");
    int k = code_local(c, "k");
    code_loop_t loop;

    code_countdown_begin(c, n, &loop);
    code_emit(c, OP_LOAD_CONST, code_const(c, params[IO_BLOCK_US]));
    code_emit(c, OP_CALL_BLOCKING, BLOCKING_SLEEP);
    code_emit(c, OP_POP_TOP, 0);
    if (code_emit_work(c, k, params[IO_WORK]) < 0)
        return -1;
    return code_countdown_end(c, n, 1, &loop);
}

const workload_t wl_io = {
    .name = "io",
    .description = "time.sleep(block_us) then a little work, repeatedly (threads overlap waits)",
    .default_size = 2000,
    .min_size = 1,
    .max_size = INT64_C(1) << 40,
    .params = io_params,
    .nparams = 2,
    .build = io_build,
    .setup = NULL,
    .size_unit = "blocking calls",
};
