/* tests/test_gil.c: the GIL (gil/gil.c) under Criterion.
 *
 * Each worker runs a miniature interpreter loop: it takes the GIL, does a
 * unit of work per iteration, and every POLL_EVERY iterations looks at its
 * eval breaker, calling gil_yield when its drop bit is set, exactly as
 * CPython's eval loop does on backward jumps. Nothing here asserts a timing:
 * where a test needs "the other thread got to run", it waits (sleeping, with
 * a generous bound) until it has observed that, then checks counts.
 *
 * Assertions are made in the test's main thread only, after joining: a
 * failing cr_assert in another thread is not safe in Criterion. Workers
 * record violations in a counter instead.
 *
 * No test carries a Criterion `.timeout`: Criterion 2.4's timeout watchdog
 * intermittently leaks 48 bytes in the runner when tests run with --jobs 2,
 * which fails the ASan build. A hang is caught by CTest's TIMEOUT instead.
 */
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdalign.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gil/gil.h"

#define DROP_BIT 1u
#define POLL_EVERY 100
#define WORK_STEPS 32

typedef struct worker {
    alignas(64) gil_client_t client;
    uint32_t breaker;   /* the eval breaker: __atomic only */
    uint64_t count;     /* plain, written only with the GIL held */
    uint64_t progress;  /* atomic copy of count, for readers without the GIL */
    uint64_t iterations;
    uint64_t sink;
} worker_t;

static gil_t gil;
static uint64_t shared_count;   /* plain: the GIL is its only protection */
static volatile int inside;     /* 1 while some thread is in the region */
static unsigned violations;     /* atomic */
static int stop;                /* atomic */

static void worker_init(worker_t *w)
{
    memset(w, 0, sizeof *w);
    w->client.eval_breaker = &w->breaker;
    w->client.drop_bit = DROP_BIT;
}

/* One "bytecode": enter the region, bump the shared counter, do some work,
 * leave. Two threads inside at once would mean the GIL failed. */
static void bump(worker_t *w)
{
    if (inside != 0)
        __atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
    inside = 1;
    shared_count++;
    uint64_t x = w->sink;
    for (int k = 0; k < WORK_STEPS; k++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    w->sink = x;
    w->count++;
    __atomic_store_n(&w->progress, w->count, __ATOMIC_RELAXED);
    inside = 0;
}

static void poll_breaker(worker_t *w)
{
    if (__atomic_load_n(&w->breaker, __ATOMIC_RELAXED) & w->client.drop_bit)
        gil_yield(&gil, &w->client);
}

/* Fixed number of iterations. */
static void *counted_loop(void *arg)
{
    worker_t *w = arg;
    gil_take(&gil, &w->client);
    for (uint64_t i = 1; i <= w->iterations; i++) {
        bump(w);
        if (i % POLL_EVERY == 0)
            poll_breaker(w);
    }
    gil_drop(&gil, &w->client);
    return NULL;
}

/* Until the shared stop flag is set. */
static void *spin_loop(void *arg)
{
    worker_t *w = arg;
    gil_take(&gil, &w->client);
    for (uint64_t i = 1;; i++) {
        bump(w);
        if (i % POLL_EVERY == 0) {
            if (__atomic_load_n(&stop, __ATOMIC_RELAXED))
                break;
            poll_breaker(w);
        }
    }
    gil_drop(&gil, &w->client);
    return NULL;
}

/* Sleep in small steps until every worker in ws[0..n) shows progress beyond
 * `base`, for at most ~30 s. Returns 1 once they all have. */
static int await_progress(worker_t *ws, int n, uint64_t base)
{
    for (int tries = 0; tries < 3000; tries++) {
        int all = 1;
        for (int i = 0; i < n; i++)
            if (__atomic_load_n(&ws[i].progress, __ATOMIC_RELAXED) <= base)
                all = 0;
        if (all)
            return 1;
        usleep(10000);
    }
    return 0;
}

static void reset(uint64_t interval_us)
{
    gil_init(&gil, interval_us);
    shared_count = 0;
    inside = 0;
    violations = 0;
    stop = 0;
}

Test(gil, single_thread_take_drop)
{
    worker_t w;
    worker_init(&w);
    reset(GIL_DEFAULT_INTERVAL_US);

    for (int i = 0; i < 1000; i++) {
        gil_take(&gil, &w.client);
        gil_drop(&gil, &w.client);
    }
    cr_assert_eq(w.client.stats.acquisitions, 1000);
    cr_assert_eq(w.client.stats.drop_requests, 0);
    cr_assert_eq(w.client.stats.forced_drops, 0);
    cr_assert_eq(w.client.stats.wait_ns, 0, "never waited, so no wait time");
    cr_assert_eq(w.breaker, 0);
    /* The first take counts as a switch (CPython: last_holder starts NULL);
     * re-takes by the same thread do not. */
    cr_assert_eq(gil_switches(&gil), 1);

    /* A yield with nobody waiting gives the GIL straight back. */
    gil_take(&gil, &w.client);
    gil_yield(&gil, &w.client);
    gil_drop(&gil, &w.client);
    cr_assert_eq(w.client.stats.forced_drops, 1);
    cr_assert_eq(w.client.stats.acquisitions, 1002);
    gil_destroy(&gil);
}

Test(gil, mutual_exclusion)
{
    enum { N = 4, ITER = 200000 };
    worker_t ws[N];
    pthread_t th[N];

    reset(500);
    for (int i = 0; i < N; i++) {
        worker_init(&ws[i]);
        ws[i].iterations = ITER;
    }
    for (int i = 0; i < N; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, counted_loop, &ws[i]), 0);
    for (int i = 0; i < N; i++)
        cr_assert_eq(pthread_join(th[i], NULL), 0);

    cr_assert_eq(violations, 0, "%u times two threads were inside at once", violations);
    cr_assert_eq(shared_count, (uint64_t)N * ITER);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(ws[i].count, ITER);
        const gil_stats_t *s = &ws[i].client.stats;
        cr_assert_geq(s->acquisitions, s->forced_drops + 1);
    }
    cr_log_info("mutual_exclusion: %llu switches",
                (unsigned long long)gil_switches(&gil));
    cr_assert_geq(gil_switches(&gil), N, "every thread took the GIL at least once");
    gil_destroy(&gil);
}

Test(gil, drop_request_hands_over)
{
    worker_t ws[2];
    pthread_t th[2];

    reset(1000);
    for (int i = 0; i < 2; i++)
        worker_init(&ws[i]);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, spin_loop, &ws[i]), 0);
    usleep(200000);
    /* Not a timing assertion: keep going until both have run (or ~30 s). */
    int both = await_progress(ws, 2, 0);
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_join(th[i], NULL), 0);

    cr_assert(both, "both CPU-bound threads made progress");
    cr_assert_eq(violations, 0);
    cr_assert_eq(shared_count, ws[0].count + ws[1].count);
    uint64_t forced = 0, requests = 0;
    for (int i = 0; i < 2; i++) {
        const gil_stats_t *s = &ws[i].client.stats;
        cr_assert_gt(ws[i].count, 0);
        cr_assert_geq(s->acquisitions, s->forced_drops + 1);
        forced += s->forced_drops;
        requests += s->drop_requests;
    }
    /* Whoever ran first never drops voluntarily before `stop`, so the other
     * could only have run because it asked and the first one yielded. */
    cr_assert_geq(forced, 1);
    cr_assert_geq(requests, 1);
    cr_assert_geq(gil_switches(&gil), 2);
    gil_destroy(&gil);
}

Test(gil, allow_threads_lets_others_run)
{
    worker_t self, other;
    pthread_t th;

    reset(1000);
    worker_init(&self);
    worker_init(&other);

    gil_take(&gil, &self.client);
    cr_assert_eq(pthread_create(&th, NULL, spin_loop, &other), 0);

    /* We hold the GIL, so `other` cannot have run yet. */
    uint64_t before = other.count;
    int advanced;
    GIL_BEGIN_ALLOW_THREADS(&gil, &self.client)
    usleep(20000);
    /* Not a timing assertion: sleep on until it has run (or ~30 s). */
    advanced = await_progress(&other, 1, before);
    GIL_END_ALLOW_THREADS(&gil, &self.client)

    uint64_t after = other.count;   /* read with the GIL held */
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    gil_drop(&gil, &self.client);
    cr_assert_eq(pthread_join(th, NULL), 0);

    cr_assert(advanced);
    cr_assert_eq(before, 0);
    cr_assert_gt(after, before, "the other thread ran while we slept");
    cr_assert_eq(self.client.stats.acquisitions, 2);
    /* `other` never drops voluntarily, so getting back in took a request. */
    cr_assert_geq(self.client.stats.drop_requests, 1);
    cr_assert_eq(violations, 0);
    gil_destroy(&gil);
}

static void *take_once(void *arg)
{
    worker_t *w = arg;
    gil_take(&gil, &w->client);
    gil_drop(&gil, &w->client);
    return NULL;
}

/* The child's checks; returns the exit code (0 = all good). */
static int child_after_fork(worker_t *self)
{
    uint64_t acq = self->client.stats.acquisitions;

    gil_reinit_after_fork(&gil, &self->client);
    if (__atomic_load_n(&self->breaker, __ATOMIC_RELAXED) & DROP_BIT)
        return 2;   /* a request from a parent thread survived */
    if (!__atomic_load_n(&gil.locked, __ATOMIC_RELAXED) ||
        __atomic_load_n(&gil.holder, __ATOMIC_RELAXED) != &self->client)
        return 3;
    gil_drop(&gil, &self->client);   /* must not wait for a phantom waiter */
    gil_take(&gil, &self->client);
    gil_drop(&gil, &self->client);
    if (self->client.stats.acquisitions != acq + 1)
        return 4;
    gil_destroy(&gil);
    return 0;
}

Test(gil, reinit_after_fork)
{
    worker_t self, waiter;
    pthread_t th;

    reset(1000);
    worker_init(&self);
    worker_init(&waiter);

    gil_take(&gil, &self.client);
    cr_assert_eq(pthread_create(&th, NULL, take_once, &waiter), 0);
    /* Fork while the other thread is waiting and has asked us to drop. */
    int asked = 0;
    for (int tries = 0; tries < 3000 && !asked; tries++) {
        asked = (__atomic_load_n(&self.breaker, __ATOMIC_RELAXED) & DROP_BIT) != 0;
        if (!asked)
            usleep(10000);
    }
    cr_assert(asked, "the waiter set our drop bit");

    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0)
        _exit(child_after_fork(&self));

    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    gil_drop(&gil, &self.client);
    cr_assert_eq(pthread_join(th, NULL), 0);

    cr_assert(WIFEXITED(status), "child did not exit normally");
    cr_assert_eq(WEXITSTATUS(status), 0, "child failed check %d", WEXITSTATUS(status));
    cr_assert_eq(waiter.client.stats.acquisitions, 1);
    gil_destroy(&gil);
}
