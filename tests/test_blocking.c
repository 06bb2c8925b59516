/* tests/test_blocking.c: CALL_BLOCKING (lab/blocking.c, lab/eval_impl.h)
 * and the pre-3.2 GIL (gil/gil_old.c), under Criterion.
 *
 *   - each blocking builtin under every guard, immortal or not: its result,
 *     the thread's counters, nothing leaked; end of stream is 0
 *   - errors (a bad descriptor, a closed peer, a negative sleep, a list
 *     where an int belongs) raise with the frame released
 *   - code_check knows the stack effect and the bounds of the argument
 *   - with real threads (blocking_fixture.h): a blocked thread has let the
 *     GIL go, and a thread coming back from a blocking call holds it again
 *     (exact unlocked appends), under gil and gil-old
 *   - gil-old: the check interval is honoured exactly (releases = ticks /
 *     (interval + 1)), and ticks alone keep the appends exact
 *   - the free-threaded guards' attach state: attaching twice aborts
 */
#define _GNU_SOURCE 1 /* pthread_timedjoin_np (blocking_fixture.h) */
#include <criterion/criterion.h>
#define CHECK(cond, ...) cr_assert(cond, __VA_ARGS__)

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blocking_fixture.h"
#include "lab/code.h"
#include "lab/interp.h"
#include "lab_fixture.h"
#include "runners/runner.h"
#include "workloads/workload.h"

static void must_check(const code_t *c)
{
    char err[200] = "";
    cr_assert_eq(code_check(c, err, sizeof err), 0, "code_check(%s): %s", c->name, err);
}

/* def echo(a, b): sendall(a, 7000); sleep(0); return recv(b) */
static void echo_code(code_t *c)
{
    code_init(c, "echo", NULL);
    int a = code_local(c, "a"), b = code_local(c, "b");
    code_emit(c, OP_LOAD_FAST, a);
    code_emit(c, OP_LOAD_CONST, code_const(c, 7000));
    code_emit(c, OP_CALL_BLOCKING, BLOCKING_SEND);
    code_emit(c, OP_POP_TOP, 0);
    code_emit(c, OP_LOAD_CONST, code_const(c, 0));
    code_emit(c, OP_CALL_BLOCKING, BLOCKING_SLEEP);
    code_emit(c, OP_POP_TOP, 0);
    code_emit(c, OP_LOAD_FAST, b);
    code_emit(c, OP_CALL_BLOCKING, BLOCKING_RECV);
    code_emit(c, OP_RETURN_VALUE, 0);
}

/* def one(a, b): return <call>(a[, b]) for one blocking call `kind`. */
static void call_code(code_t *c, blocking_t kind)
{
    code_init(c, "one", NULL);
    int a = code_local(c, "a"), b = code_local(c, "b");
    code_emit(c, OP_LOAD_FAST, a);
    if (blocking_nargs(kind) == 2)
        code_emit(c, OP_LOAD_FAST, b);
    code_emit(c, OP_CALL_BLOCKING, kind);
    code_emit(c, OP_RETURN_VALUE, 0);
}

static obj_t *call2(lab_t *l, const code_t *c, obj_t *a, obj_t *b)
{
    obj_t *args[2] = {a, b};
    l->ts->error[0] = '\0';
    return l->ops->eval(l->ts, c, args, 2);
}

static obj_t *int2(lab_t *l, int64_t v) { return l->ops->int_new(l->ts, v); }

Test(blocking, builtins_under_every_guard)
{
    code_t echo, recv1;
    echo_code(&echo);
    call_code(&recv1, BLOCKING_RECV);
    must_check(&echo);
    must_check(&recv1);
    FOR_EACH_LAB(l, HEAP_malloc) {
        int sv[2];
        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        uint64_t calls0 = l.ts->count.blocking_calls;
        obj_t *r = call2(&l, &echo, int2(&l, sv[0]), int2(&l, sv[1]));
        cr_assert_not_null(r, "%s: %s", l.what, l.ts->error);
        cr_assert_eq(int_value(r), 7000, "%s: the message came through", l.what);
        cr_assert_eq(lab_rc(&l, r), 1, "%s: the result is a new int", l.what);
        l.ops->decref(l.ts, r);
        cr_assert_eq(l.ts->count.blocking_calls - calls0, 3, "%s: three blocking calls", l.what);

        /* End of stream: recv gives 0, as recv() gives b''. */
        close(sv[0]);
        r = call2(&l, &recv1, int2(&l, sv[1]), int2(&l, 0));
        cr_assert_not_null(r, "%s: %s", l.what, l.ts->error);
        cr_assert_eq(int_value(r), 0, "%s: end of stream", l.what);
        l.ops->decref(l.ts, r);
        close(sv[1]);
        lab_check_clean(&l, "blocking builtins");
    }
}

Test(blocking, sleep_blocks_for_its_time_and_counts_it)
{
    code_t c;
    call_code(&c, BLOCKING_SLEEP);
    lab_t l = lab_open_attached(GUARD_gil, HEAP_pymalloc, true);
    uint64_t blocked0 = l.ts->count.blocked_ns;
    obj_t *r = call2(&l, &c, int2(&l, 2000), int2(&l, 0));
    cr_assert_eq(r, interp_none(l.interp), "%s", l.ts->error);
    l.ops->decref(l.ts, r);
    /* clock_nanosleep never returns early: a lower bound, not a timing. */
    cr_assert_geq(l.ts->count.blocked_ns - blocked0, 2000000, "2 ms asleep");
    lab_close(&l);
}

Test(blocking, errors_raise_and_release_the_frame)
{
    signal(SIGPIPE, SIG_IGN);
    code_t sleep1, recv1, send1;
    call_code(&sleep1, BLOCKING_SLEEP);
    call_code(&recv1, BLOCKING_RECV);
    call_code(&send1, BLOCKING_SEND);
    FOR_EACH_LAB(l, HEAP_malloc) {
        obj_t *r = call2(&l, &sleep1, int2(&l, -1), int2(&l, 0));
        cr_assert_null(r);
        cr_assert(strstr(l.ts->error, "ValueError") != NULL, "%s: %s", l.what, l.ts->error);

        r = call2(&l, &recv1, int2(&l, -1), int2(&l, 0));
        cr_assert_null(r);
        cr_assert(strstr(l.ts->error, "OSError: [Errno 9]") != NULL, "%s: %s", l.what, l.ts->error);

        int sv[2];
        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        close(sv[1]);
        r = call2(&l, &send1, int2(&l, sv[0]), int2(&l, 123456));
        cr_assert_null(r);
        cr_assert(strstr(l.ts->error, "OSError: [Errno 32]") != NULL, "%s: broken pipe: %s", l.what,
                  l.ts->error);
        close(sv[0]);

        /* Half a message, then the end: not a clean end of stream. */
        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        cr_assert_eq(write(sv[1], "abc", 3), 3);
        close(sv[1]);
        r = call2(&l, &recv1, int2(&l, sv[0]), int2(&l, 0));
        cr_assert_null(r);
        cr_assert(strstr(l.ts->error, "ConnectionError") != NULL, "%s: %s", l.what, l.ts->error);
        close(sv[0]);

        obj_t *list = l.ops->list_new(l.ts, 0);
        r = call2(&l, &sleep1, list, int2(&l, 0));
        cr_assert_null(r);
        cr_assert(strstr(l.ts->error, "TypeError: time.sleep() takes ints, not 'list'") != NULL, "%s: %s",
                  l.what, l.ts->error);
        lab_check_clean(&l, "blocking errors");
    }
}

Test(blocking, code_check_knows_the_call)
{
    code_t c;
    char err[200];
    code_init(&c, "badcall", NULL);
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 1));
    code_emit(&c, OP_CALL_BLOCKING, BLOCKING_COUNT);
    code_emit(&c, OP_RETURN_VALUE, 0);
    cr_assert_eq(code_check(&c, err, sizeof err), -1);
    cr_assert(strstr(err, "CALL_BLOCKING has a bad argument") != NULL, "%s", err);

    code_init(&c, "shortstack", NULL);
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 1));
    code_emit(&c, OP_CALL_BLOCKING, BLOCKING_SEND);   /* needs two */
    code_emit(&c, OP_RETURN_VALUE, 0);
    cr_assert_eq(code_check(&c, err, sizeof err), -1);
    cr_assert(strstr(err, "takes the stack out of") != NULL, "%s", err);

    cr_assert_str_eq(blocking_name(BLOCKING_RECV), "socket.recv");
    cr_assert_str_eq(blocking_name(BLOCKING_COUNT), "?");
    cr_assert_eq(blocking_nargs(BLOCKING_SEND), 2);
}

Test(blocking, messages_round_trip)
{
    static const int64_t values[] = {0, 1, -1, 256, INT64_MAX, INT64_MIN, 0x0102030405060708};
    unsigned char buf[BLK_MESSAGE_SIZE];
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        blk_encode(values[i], buf);
        cr_assert_eq(blk_decode(buf), values[i]);
    }
    blk_encode(0x0102030405060708, buf);
    cr_assert_eq(buf[0], 0x08, "little-endian");
}

/* ---- with threads (blocking_fixture.h) ------------------------------------- */

Test(blocking, a_blocked_thread_lets_the_gil_go)
{
    blk_releases_the_gil(GUARD_gil);
    blk_releases_the_gil(GUARD_gil_old);
}

Test(blocking, threads_coming_back_hold_the_gil_again)
{
    uint64_t s1 = blk_exclusion(GUARD_gil, HEAP_pymalloc, 3000, true);
    uint64_t s2 = blk_exclusion(GUARD_gil_old, HEAP_pymalloc, 3000, true);
    cr_assert_gt(s1, BLK_W, "gil: the sleeps handed the GIL around");
    cr_assert_gt(s2, BLK_W, "gil-old: the sleeps handed the GIL around");
}

/* ---- gil-old ---------------------------------------------------------------- */

Test(gil_old, check_interval_is_honoured)
{
    static const int intervals[] = {10, 100, 1};
    code_t c;
    cr_assert_eq(wl_countdown.build(&c, NULL), 0);
    must_check(&c);
    for (size_t i = 0; i < sizeof intervals / sizeof intervals[0]; i++) {
        int n = intervals[i];
        lab_t l = lab_open_attached(GUARD_gil_old, HEAP_pymalloc, true);
        gil_old_init(&l.interp->gil, n);
        gil_stats_t s0 = l.ts->gil.stats;
        enum { K = 1000 };
        obj_t *arg = int2(&l, K);
        obj_t *r = l.ops->eval(l.ts, &c, &arg, 1);
        cr_assert_eq(r, interp_none(l.interp), "%s", l.ts->error);
        l.ops->decref(l.ts, r);
        /* Ticks: COMPARE_OP, BINARY_OP, JUMP_BACKWARD per iteration, then
         * the last COMPARE_OP and RETURN_VALUE. `--ticker < 0` releases on
         * every (n + 1)th. */
        uint64_t ticks = 3 * K + 2, releases = ticks / (uint64_t)(n + 1);
        cr_assert_eq(l.ts->gil.stats.forced_drops - s0.forced_drops, releases,
                     "interval %d: %llu releases, expected %llu", n,
                     (unsigned long long)(l.ts->gil.stats.forced_drops - s0.forced_drops),
                     (unsigned long long)releases);
        cr_assert_eq(l.ts->gil.stats.acquisitions - s0.acquisitions, releases,
                     "each release is followed by an acquire");
        cr_assert_eq(l.interp->gil.ticker, n - (int)(ticks % (uint64_t)(n + 1)), "ticker left");
        cr_assert_eq(l.ts->eval_breaker, 0, "the old GIL never sets the eval breaker");
        lab_close(&l);
    }
}

Test(gil_old, ticks_alone_keep_threads_apart)
{
    uint64_t switches = blk_exclusion(GUARD_gil_old, HEAP_pymalloc, 20000, false);
    cr_log_info("gil-old exclusion: %llu switches", (unsigned long long)switches);
}

/* ---- the free-threaded guards' attach state --------------------------------- */

Test(attach_state, attaching_twice_aborts)
{
    static const guard_kind_t free_threaded[] = {GUARD_atomic, GUARD_biased};
    for (size_t i = 0; i < 2; i++) {
        lab_t l = lab_open_attached(free_threaded[i], HEAP_malloc, true);
        cr_assert_eq(l.ts->state, TSTATE_ATTACHED);
        fflush(NULL);
        pid_t pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0) {
            int devnull = open("/dev/null", O_WRONLY);
            dup2(devnull, 2);
            l.ops->attach(l.ts);   /* must abort: "non-NULL old thread state" */
            _exit(0);
        }
        int status;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "%s: a second attach aborts", l.what);
        l.ops->detach(l.ts);
        cr_assert_eq(l.ts->state, TSTATE_DETACHED);
        l.ops->attach(l.ts);
        lab_close(&l);
    }
}

/* --check-interval reaches the interpreter of every repeat. */
Test(gil_old, check_interval_reaches_the_runner)
{
    run_spec_t spec = {
        .workload = &wl_countdown, .size = 1000, .mode = RUN_MODE_single, .guard = GUARD_gil_old,
        .allocator = HEAP_pymalloc, .workers = 1, .switch_interval_us = GIL_DEFAULT_INTERVAL_US,
        .check_interval = 10, .immortal = true, .warmup = 1, .repeats = 2,
    };
    run_row_t row;
    char err[300] = "";
    cr_assert_eq(run_row(&spec, &row, NULL, NULL, err, sizeof err), 0, "%s", err);
    for (int i = 0; i < row.nsamples; i++)
        cr_assert_eq(row.samples[i].gil_forced_drops, (3 * 1000 + 2) / 11, "repeat %d: %.0f releases", i,
                     row.samples[i].gil_forced_drops);
    run_row_free(&row);
}
