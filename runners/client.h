/* runners/client.h: the client outside the interpreter (convoy), after the
 * latency and bandwidth tests of CPython's Tools/ccbench/ccbench.py.
 *
 * ccbench runs its client as a separate process that never touches the
 * interpreter under test, so that what it measures is the server's
 * responsiveness and nothing else; so does the lab. The repeat process
 * forks the client before it starts any thread, and the two talk over a
 * socketpair: the server end becomes the interpreter's global 0 (an int,
 * the descriptor), which the workload's bytecode reads with recv() and
 * answers with sendall(). The client
 *
 *   1. waits until the runner says go (client_go: the workers are running),
 *   2. sends request 1, 2, 3, ... (8-byte ints, never 0: a 0 would read as
 *      the end of the stream) back-to-back, or at a fixed rate, and waits
 *      for each reply, which must be the request plus one (the server's
 *      bytecode computes it: a reply proves the server ran);
 *   3. stops after the duration, shuts its end (the server's recv() then
 *      returns 0 and its loop ends), and reports over a pipe: requests,
 *      the time they took, exact latency percentiles (nearest rank over
 *      every request) and a log histogram.
 *
 * Latency is the time from sending a request to reading its reply. At a
 * fixed rate it is counted from when the request was due, not from when it
 * went out (wrk2's correction for coordinated omission): a server that
 * stalls delays every request queued behind the stall, and that delay is
 * its latency too.
 *
 * Nothing waits for ever: a reply that takes longer than the timeout ends
 * the client with "the server stopped answering", the server closing its
 * end early is an error, and a client that dies is reported with how it
 * ended (the runner shuts the server's end when worker 0 is done, so a
 * client still waiting sees the end of the stream at once).
 */
#ifndef GL_RUNNERS_CLIENT_H
#define GL_RUNNERS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "runners/runner.h"
#include "workloads/workload.h"

/* What the client reports; plain data, written to a pipe. */
typedef struct client_result {
    uint64_t requests;       /* replies received and checked */
    double duration_s;       /* from go to the last reply */
    double p50_s, p90_s, p99_s, p999_s, max_s;
    run_hist_t hist;
    char error[200];         /* empty on success */
} client_result_t;

typedef struct client client_t;

/* Make the socketpair and fork the client, which waits for client_go.
 * Call before any thread exists. NULL with a reason in err. */
client_t *client_start(const wl_client_t *cfg, char *err, size_t errlen);

/* The server's end of the socketpair. */
int client_server_fd(const client_t *c);

/* Let the client start sending. Cannot fail (a dead client is reported by
 * client_finish). */
void client_go(client_t *c);

/* Worker 0 has finished: shut the server's end, so that a client still
 * waiting for a reply sees the end of the stream. Idempotent. */
void client_server_done(client_t *c);

/* Wait for the client's report and reap it; release everything. Returns 0
 * with *out filled, or -1 with the client's error (or how it died) in err.
 * NULL c is a no-op returning 0. */
int client_finish(client_t *c, client_result_t *out, char *err, size_t errlen);

#endif
