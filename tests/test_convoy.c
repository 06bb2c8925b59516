/* tests/test_convoy.c: the convoy workload end to end (workloads/convoy.c,
 * runners/client.c, the background workers of runners/).
 *
 *   - every mode it runs in, under gil and biased: the client's replies are
 *     real (the server's blocking calls are exactly two per request plus
 *     the final end-of-stream recv), percentiles ordered, the histogram
 *     holds every request, the background workers were stopped
 *   - a fixed rate sends exactly rate x duration requests
 *   - a server that stops answering, answers wrongly, or dies is a clear
 *     error within the client's timeout, never a hang
 *   - the specs convoy refuses: pool, a worker count that is not 1 +
 *     cpu_threads, single with CPU threads
 *
 * Nothing asserts a timing: durations are short, and only counts and
 * orderings are checked.
 */
#include <criterion/criterion.h>
#define CHECK(cond, ...) cr_assert(cond, __VA_ARGS__)

#include <math.h>
#include <string.h>

#include "lab/code.h"
#include "runners/runner.h"
#include "workloads/workload.h"

enum { CPU_THREADS, WORK, RATE, TIMEOUT_MS };

static run_spec_t convoy_spec(run_mode_t mode, guard_kind_t guard, int cpu_threads)
{
    run_spec_t s = {
        .workload = &wl_convoy,
        .size = 150,   /* ms of client traffic */
        .mode = mode,
        .guard = guard,
        .allocator = HEAP_malloc,
        .switch_interval_us = 1000,
        .immortal = true,
        .warmup = 0,
        .repeats = 1,
    };
    for (int i = 0; i < wl_convoy.nparams; i++)
        s.params[i] = wl_convoy.params[i].def;
    s.params[CPU_THREADS] = cpu_threads;
    s.params[TIMEOUT_MS] = 20000;
    s.workers = 1 + cpu_threads;
    return s;
}

static void run_ok(const run_spec_t *spec, run_row_t *row)
{
    char err[400] = "";
    cr_assert_eq(run_row(spec, row, NULL, NULL, err, sizeof err), 0, "%s %s: %s", run_mode_name(spec->mode),
                 guard_name(spec->guard), err);
    cr_assert_eq(row->nsamples, 1);
}

/* What every successful convoy row must show. */
static void check_convoy(const run_spec_t *spec, const run_row_t *row)
{
    const run_sample_t *s = &row->samples[0];
    const char *what = run_mode_name(spec->mode);
    cr_assert_gt(s->requests, 0, "%s: the client got replies", what);
    /* Worker 0 made one recv and one sendall per request, and one last recv
     * that saw the end of the stream; the CPU-bound workers block never. */
    cr_assert_eq(s->blocking_calls, 2 * s->requests + 1, "%s: %.0f blocking calls for %.0f requests", what,
                 s->blocking_calls, s->requests);
    cr_assert_gt(s->throughput_rps, 0);
    cr_assert(s->lat_p50_s > 0 && s->lat_p50_s <= s->lat_p90_s && s->lat_p90_s <= s->lat_p99_s &&
                  s->lat_p99_s <= s->lat_p999_s && s->lat_p999_s <= s->lat_max_s,
              "%s: percentiles in order: %g %g %g %g %g", what, s->lat_p50_s, s->lat_p90_s, s->lat_p99_s,
              s->lat_p999_s, s->lat_max_s);
    uint64_t in_hist = 0;
    for (int b = 0; b < RUN_HIST_BUCKETS; b++)
        in_hist += row->latency.count[b];
    cr_assert_eq((double)in_hist, s->requests, "%s: every request is in the histogram", what);
    cr_assert_eq(row->latency.count[run_hist_bucket(s->lat_max_s)] > 0, 1, "%s: the max has its bucket", what);
    if (guard_get(spec->guard)->has_gil) {
        cr_assert(isfinite(s->server_gil_wait_s), "%s: the server's GIL wait per request", what);
        if (spec->mode == RUN_MODE_processes)
            cr_assert(isnan(s->gil_jain) && row->fair == NULL, "%s: a GIL each, no fairness among them", what);
        else
            cr_assert(isfinite(s->gil_jain) && s->gil_jain > 0 && s->gil_jain <= 1.0 + 1e-9, "%s: Jain %g",
                      what, s->gil_jain);
    } else {
        cr_assert(isnan(s->server_gil_wait_s) && isnan(s->gil_jain), "%s: no GIL, no GIL figures", what);
    }
}

Test(convoy, every_mode_under_gil_and_biased)
{
    static const guard_kind_t guards[] = {GUARD_gil, GUARD_biased};
    static const run_mode_t modes[] = {RUN_MODE_single, RUN_MODE_threads, RUN_MODE_processes};
    for (size_t g = 0; g < 2; g++) {
        for (size_t m = 0; m < 3; m++) {
            run_spec_t spec = convoy_spec(modes[m], guards[g], modes[m] == RUN_MODE_single ? 0 : 1);
            run_row_t row;
            run_ok(&spec, &row);
            check_convoy(&spec, &row);
            run_row_free(&row);
        }
    }
}

Test(convoy, two_cpu_threads_under_gil_old)
{
    run_spec_t spec = convoy_spec(RUN_MODE_threads, GUARD_gil_old, 2);
    run_row_t row;
    run_ok(&spec, &row);
    check_convoy(&spec, &row);
    run_row_free(&row);
}

Test(convoy, a_fixed_rate_sends_rate_times_duration)
{
    run_spec_t spec = convoy_spec(RUN_MODE_threads, GUARD_biased, 1);
    spec.params[RATE] = 200;   /* one request due every 5 ms for 150 ms */
    run_row_t row;
    run_ok(&spec, &row);
    cr_assert_eq(row.samples[0].requests, 30, "%.0f requests", row.samples[0].requests);
    check_convoy(&spec, &row);
    run_row_free(&row);
}

/* ---- servers that misbehave ---------------------------------------------- */

static void test_client(const int64_t *params, int64_t size, wl_client_t *c)
{
    (void)params;
    c->duration_ms = size;
    c->rate = 0;
    c->timeout_ms = 300;
}

/* def mute(n): while True: data = recv(sock); if not data: break
 * (reads every request, answers none) */
static int mute_build(code_t *c, const int64_t *params)
{
    (void)params;
    code_init(c, "mute", NULL);
    code_local(c, "n");
    int data = code_local(c, "data");
    int sock = code_global(c, "sock");
    int head = code_emit(c, OP_LOAD_GLOBAL, sock);
    code_emit(c, OP_CALL_BLOCKING, BLOCKING_RECV);
    code_emit(c, OP_STORE_FAST, data);
    code_emit(c, OP_LOAD_FAST, data);
    int exit_jump = code_emit(c, OP_POP_JUMP_IF_FALSE, 0);
    code_emit(c, OP_JUMP_BACKWARD, head);
    code_patch(c, exit_jump, code_emit(c, OP_LOAD_CONST, code_const(c, CODE_CONST_NONE)));
    return code_emit(c, OP_RETURN_VALUE, 0) < 0 ? -1 : 0;
}

/* Answers request r with r + 2: the client must notice. */
static int wrong_build(code_t *c, const int64_t *params)
{
    (void)params;
    code_init(c, "wrong", NULL);
    code_local(c, "n");
    int sock = code_global(c, "sock");
    code_emit(c, OP_LOAD_GLOBAL, sock);
    code_emit(c, OP_LOAD_GLOBAL, sock);
    code_emit(c, OP_CALL_BLOCKING, BLOCKING_RECV);
    code_emit(c, OP_LOAD_CONST, code_const(c, 2));
    code_emit(c, OP_BINARY_OP, BINOP_ADD);
    code_emit(c, OP_CALL_BLOCKING, BLOCKING_SEND);
    code_emit(c, OP_RETURN_VALUE, 0);
    return 0;
}

/* Reads one request and raises: the server is gone, the client must not
 * wait for it. */
static int raising_build(code_t *c, const int64_t *params)
{
    (void)params;
    code_init(c, "raising", NULL);
    code_local(c, "n");
    int sock = code_global(c, "sock");
    code_emit(c, OP_LOAD_GLOBAL, sock);
    code_emit(c, OP_CALL_BLOCKING, BLOCKING_RECV);
    code_emit(c, OP_BUILD_LIST, 0);
    code_emit(c, OP_BINARY_OP, BINOP_ADD);   /* int + list: TypeError */
    code_emit(c, OP_RETURN_VALUE, 0);
    return 0;
}

static workload_t misbehaving(const char *name, int (*build)(code_t *, const int64_t *))
{
    workload_t wl = wl_convoy;
    wl.name = name;
    wl.build = build;
    wl.client = test_client;
    return wl;
}

static void expect_failure(const workload_t *wl, run_mode_t mode, const char *needle)
{
    run_spec_t spec = convoy_spec(mode, GUARD_gil, mode == RUN_MODE_single ? 0 : 1);
    spec.workload = wl;
    spec.size = 10000;   /* far longer than the timeout: the failure must end it */
    run_row_t row;
    char err[400] = "";
    cr_assert_eq(run_row(&spec, &row, NULL, NULL, err, sizeof err), -1, "%s: the run must fail", wl->name);
    cr_assert(strstr(err, needle) != NULL, "%s/%s: '%s' lacks '%s'", wl->name, run_mode_name(mode), err, needle);
    cr_assert_eq(row.nsamples, 0);
}

Test(convoy, a_server_that_stops_answering_is_an_error)
{
    workload_t wl = misbehaving("mute", mute_build);
    expect_failure(&wl, RUN_MODE_threads, "the server stopped answering: no reply to request 1");
    expect_failure(&wl, RUN_MODE_processes, "the server stopped answering");
}

Test(convoy, a_wrong_echo_is_an_error)
{
    workload_t wl = misbehaving("wrong", wrong_build);
    expect_failure(&wl, RUN_MODE_single, "reply 1 is 3, expected 2: the echo is wrong");
}

Test(convoy, a_server_that_raises_ends_the_run)
{
    workload_t wl = misbehaving("raising", raising_build);
    expect_failure(&wl, RUN_MODE_threads, "worker 0: TypeError");
    expect_failure(&wl, RUN_MODE_processes, "worker 0: TypeError");
}

/* ---- specs convoy refuses ------------------------------------------------- */

static void expect_invalid(const run_spec_t *spec, const char *needle)
{
    char err[300] = "";
    cr_assert_eq(run_spec_check(spec, err, sizeof err), -1, "accepted");
    cr_assert(strstr(err, needle) != NULL, "'%s' lacks '%s'", err, needle);
}

Test(convoy, refused_specs)
{
    run_spec_t s = convoy_spec(RUN_MODE_pool, GUARD_gil, 1);
    expect_invalid(&s, "convoy does not run in mode pool");
    cr_assert(!run_mode_fits(&wl_convoy, RUN_MODE_pool));
    cr_assert(run_mode_fits(&wl_countdown, RUN_MODE_pool));

    s = convoy_spec(RUN_MODE_threads, GUARD_gil, 2);
    s.workers = 2;
    expect_invalid(&s, "convoy with cpu_threads=2 has 3 workers (one plus the background), not 2");

    s = convoy_spec(RUN_MODE_single, GUARD_gil, 0);
    s.params[CPU_THREADS] = 1;
    expect_invalid(&s, "convoy in mode single runs worker 0 alone: cpu_threads must be 0, not 1");

    int64_t params[WL_MAX_PARAMS] = {3, 10, 0, 1000};
    cr_assert_eq(wl_workers(&wl_convoy, params, 7, 0), 4, "1 + cpu_threads, whatever -j says");
    cr_assert_eq(wl_workers(&wl_convoy, params, 7, 1), 1, "single: the server alone");
    cr_assert_eq(params[CPU_THREADS], 0, "single sets cpu_threads to 0");
    cr_assert_eq(wl_workers(&wl_countdown, params, 7, 0), 7);
}

Test(convoy, histogram_buckets)
{
    cr_assert_eq(run_hist_bucket(0.0), 0);
    cr_assert_eq(run_hist_bucket(0.5e-6), 0);
    cr_assert_eq(run_hist_bucket(1e-6), 1);
    cr_assert_eq(run_hist_bucket(4.5e-3), 37, "4.5 ms is in [3.98, 5.01) ms");
    cr_assert_eq(run_hist_bucket(100.0), RUN_HIST_BUCKETS - 1);
    for (int b = 1; b < RUN_HIST_BUCKETS - 1; b++) {
        double mid = sqrt(run_hist_lower_s(b) * run_hist_upper_s(b));
        cr_assert_eq(run_hist_bucket(mid), b, "bucket %d holds its own middle", b);
        cr_assert_float_eq(run_hist_upper_s(b), run_hist_lower_s(b + 1), 1e-15);
    }
    cr_assert(isinf(run_hist_upper_s(RUN_HIST_BUCKETS - 1)));
}
