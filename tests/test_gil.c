/* tests/test_gil.c: the GIL (gil/gil.c) under Criterion.
 *
 * Each worker runs a miniature interpreter loop (gil_fixture.h, shared with
 * the TSan driver tsan_gil.c): it takes the GIL, does a unit of work per
 * iteration, and every MINI_POLL_EVERY iterations looks at its eval
 * breaker, calling gil_yield when its drop bit is set, exactly as CPython's
 * eval loop does on backward jumps. Nothing here asserts a timing: where a
 * test needs "the other thread got to run", it waits (sleeping, with a
 * generous bound) until it has observed that, then checks counts.
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
#define CHECK(cond, ...) cr_assert(cond, __VA_ARGS__)

#include <pthread.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gil/gil.h"
#include "gil_fixture.h"

Test(gil, single_thread_take_drop)
{
    mini_t m;
    mini_worker_t w;
    mini_init(&m, GIL_DEFAULT_INTERVAL_US);
    mini_worker_init(&w, &m);

    for (int i = 0; i < 1000; i++) {
        gil_take(&m.gil, &w.client);
        gil_drop(&m.gil, &w.client);
    }
    cr_assert_eq(w.client.stats.acquisitions, 1000);
    cr_assert_eq(w.client.stats.drop_requests, 0);
    cr_assert_eq(w.client.stats.forced_drops, 0);
    cr_assert_eq(w.client.stats.wait_ns, 0, "never waited, so no wait time");
    cr_assert_eq(w.breaker, 0);
    /* The first take counts as a switch (CPython: last_holder starts NULL);
     * re-takes by the same thread do not. */
    cr_assert_eq(gil_switches(&m.gil), 1);

    /* A yield with nobody waiting gives the GIL straight back. */
    gil_take(&m.gil, &w.client);
    gil_yield(&m.gil, &w.client);
    gil_drop(&m.gil, &w.client);
    cr_assert_eq(w.client.stats.forced_drops, 1);
    cr_assert_eq(w.client.stats.acquisitions, 1002);
    gil_destroy(&m.gil);
}

Test(gil, mutual_exclusion)
{
    mini_t m;
    uint64_t switches = mini_mutual_exclusion(&m, 200000);
    cr_log_info("mutual_exclusion: %llu switches", (unsigned long long)switches);
}

Test(gil, drop_request_hands_over)
{
    mini_t m;
    mini_handover(&m);
}

/* A fresh GIL; `self` takes it, then `other` starts running fn, which can
 * only wait for it. */
static pthread_t start_while_holding(mini_t *m, mini_worker_t *self, mini_worker_t *other, void *(*fn)(void *))
{
    pthread_t th;
    mini_init(m, 1000);
    mini_worker_init(self, m);
    mini_worker_init(other, m);
    gil_take(&m->gil, &self->client);
    cr_assert_eq(pthread_create(&th, NULL, fn, other), 0);
    return th;
}

Test(gil, allow_threads_lets_others_run)
{
    mini_t m;
    mini_worker_t self, other;
    pthread_t th = start_while_holding(&m, &self, &other, mini_spin_loop);

    /* We hold the GIL, so `other` cannot have run yet. */
    uint64_t before = other.count;
    int advanced;
    GIL_BEGIN_ALLOW_THREADS(&m.gil, &self.client)
    usleep(20000);
    /* Not a timing assertion: sleep on until it has run (or ~30 s). */
    advanced = mini_await_progress(&other, 1, before);
    GIL_END_ALLOW_THREADS(&m.gil, &self.client)

    uint64_t after = other.count;   /* read with the GIL held */
    __atomic_store_n(&m.stop, 1, __ATOMIC_RELAXED);
    gil_drop(&m.gil, &self.client);
    cr_assert_eq(pthread_join(th, NULL), 0);

    cr_assert(advanced);
    cr_assert_eq(before, 0);
    cr_assert_gt(after, before, "the other thread ran while we slept");
    cr_assert_eq(self.client.stats.acquisitions, 2);
    /* `other` never drops voluntarily, so getting back in took a request. */
    cr_assert_geq(self.client.stats.drop_requests, 1);
    cr_assert_eq(m.violations, 0);
    gil_destroy(&m.gil);
}

static void *take_once(void *arg)
{
    mini_worker_t *w = arg;
    gil_take(&w->m->gil, &w->client);
    gil_drop(&w->m->gil, &w->client);
    return NULL;
}

/* The child's checks; returns the exit code (0 = all good). */
static int child_after_fork(mini_worker_t *self)
{
    gil_t *gil = &self->m->gil;
    uint64_t acq = self->client.stats.acquisitions;

    gil_reinit_after_fork(gil, &self->client);
    if (__atomic_load_n(&self->breaker, __ATOMIC_RELAXED) & MINI_DROP_BIT)
        return 2;   /* a request from a parent thread survived */
    if (!__atomic_load_n(&gil->locked, __ATOMIC_RELAXED) ||
        __atomic_load_n(&gil->holder, __ATOMIC_RELAXED) != &self->client)
        return 3;
    gil_drop(gil, &self->client);   /* must not wait for a phantom waiter */
    gil_take(gil, &self->client);
    gil_drop(gil, &self->client);
    if (self->client.stats.acquisitions != acq + 1)
        return 4;
    gil_destroy(gil);
    return 0;
}

Test(gil, reinit_after_fork)
{
    mini_t m;
    mini_worker_t self, waiter;
    pthread_t th = start_while_holding(&m, &self, &waiter, take_once);
    /* Fork while the other thread is waiting and has asked us to drop. */
    int asked = 0;
    for (int tries = 0; tries < 3000 && !asked; tries++) {
        asked = (__atomic_load_n(&self.breaker, __ATOMIC_RELAXED) & MINI_DROP_BIT) != 0;
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
    gil_drop(&m.gil, &self.client);
    cr_assert_eq(pthread_join(th, NULL), 0);

    cr_assert(WIFEXITED(status), "child did not exit normally");
    cr_assert_eq(WEXITSTATUS(status), 0, "child failed check %d", WEXITSTATUS(status));
    cr_assert_eq(waiter.client.stats.acquisitions, 1);
    gil_destroy(&m.gil);
}
