/* workloads/convoy.c: the convoy effect (David Beazley, "Understanding the
 * Python GIL", PyCon 2010; bpo-7946), as CPython's Tools/ccbench measures
 * it: an echo server in one interpreter thread, CPU-bound threads beside
 * it, and a client outside the interpreter (runners/client.h) that sends
 * requests and times each reply.
 *
 *     def echo_server(n):                   # worker 0
 *         while True:
 *             data = sock.recv(8)           # blocks, GIL released
 *             if not data:
 *                 break
 *             k = work                      # a little work per request
 *             while k > 0:
 *                 k -= 1
 *             sock.sendall(data + 1)        # GIL released again
 *
 *     def spin(n):                          # workers 1..cpu_threads
 *         while n > 0:
 *             n -= 1
 *
 * The server spends almost all its time in recv() with the GIL released.
 * When a request arrives it must take the GIL back; alone it gets it at
 * once, but beside a CPU-bound thread that holds it, take_gil waits one
 * switch interval, asks for a drop, and only then runs: every request can
 * cost up to an interval of waiting, and so can each send. Under a guard
 * without a GIL, or with the CPU work in other processes (mode processes:
 * the spinning workers are forked, each with its own GIL, and the server
 * runs alone in the repeat process), nothing stands in its way.
 *
 * The size is the client's duration in milliseconds. The CPU-bound workers
 * spin until the server is done (the client stopped), then are stopped.
 * `sock` is global 0, the descriptor of the server's end of the socketpair.
 */
#include "lab/code.h"
#include "workloads/workload.h"

enum { CONVOY_CPU_THREADS, CONVOY_WORK, CONVOY_RATE, CONVOY_TIMEOUT_MS };

static const wl_param_t convoy_params[] = {
    [CONVOY_CPU_THREADS] = {"cpu_threads", "CPU-bound workers beside the echo server", 1, 0, 63},
    [CONVOY_WORK] = {"work", "countdown iterations the server runs per request", 10, 0, 100000000},
    [CONVOY_RATE] = {"rate", "requests per second, 0 for back-to-back", 0, 0, 1000000},
    [CONVOY_TIMEOUT_MS] = {"timeout_ms", "longest wait for one reply before the run fails", 10000, 1,
                           600000},
};

static int convoy_build(code_t *c, const int64_t *params)
{
    code_init(c, "echo_server", "def echo_server(n):\n    while True:\n        data = sock.recv(8)\n"
                                "        if not data:\n            break\n        k = work\n"
                                "        while k > 0:\n            k -= 1\n"
                                "        sock.sendall(data + 1)");
    code_local(c, "n");
    int data = code_local(c, "data");
    int k = code_local(c, "k");
    int sock = code_global(c, "sock");

    int head = code_emit(c, OP_LOAD_GLOBAL, sock);
    code_emit(c, OP_CALL_BLOCKING, BLOCKING_RECV);
    code_emit(c, OP_STORE_FAST, data);
    code_emit(c, OP_LOAD_FAST, data);
    int exit_jump = code_emit(c, OP_POP_JUMP_IF_FALSE, 0);
    if (code_emit_work(c, k, params[CONVOY_WORK]) < 0)
        return -1;
    code_emit(c, OP_LOAD_GLOBAL, sock);
    code_emit(c, OP_LOAD_FAST, data);
    code_emit(c, OP_LOAD_CONST, code_const(c, 1));
    code_emit(c, OP_BINARY_OP, BINOP_ADD);
    code_emit(c, OP_CALL_BLOCKING, BLOCKING_SEND);
    code_emit(c, OP_POP_TOP, 0);
    code_emit(c, OP_JUMP_BACKWARD, head);
    code_patch(c, exit_jump, code_emit(c, OP_LOAD_CONST, code_const(c, CODE_CONST_NONE)));
    return code_emit(c, OP_RETURN_VALUE, 0) < 0 ? -1 : 0;
}

static int convoy_build_background(code_t *c, const int64_t *params)
{
    (void)params;
    code_init(c, "spin", "def spin(n):\n    while n > 0:\n        n -= 1");
    int n = code_local(c, "n");
    code_loop_t loop;
    code_countdown_begin(c, n, &loop);
    return code_countdown_end(c, n, 1, &loop);
}

static void convoy_client(const int64_t *params, int64_t size, wl_client_t *client)
{
    client->duration_ms = size;
    client->rate = params[CONVOY_RATE];
    client->timeout_ms = params[CONVOY_TIMEOUT_MS];
}

const workload_t wl_convoy = {
    .name = "convoy",
    .description = "an echo server thread beside CPU-bound ones, a client outside (latency)",
    .default_size = 2000,
    .min_size = 10,
    .max_size = 3600000,
    .params = convoy_params,
    .nparams = 4,
    .build = convoy_build,
    .setup = NULL,
    .size_unit = "milliseconds of client traffic",
    .build_background = convoy_build_background,
    .background_param = CONVOY_CPU_THREADS,
    .client = convoy_client,
};
