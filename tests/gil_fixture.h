/* tests/gil_fixture.h: a miniature interpreter loop on the GIL (gil/gil.c),
 * and the two scenarios built on it, written once for test_gil.c
 * (Criterion) and tsan_gil.c (a plain program under ThreadSanitizer).
 *
 * A worker runs the loop CPython's eval loop runs: it takes the GIL,
 * executes one "bytecode" per iteration (mini_bump), and every
 * MINI_POLL_EVERY iterations looks at its eval breaker, calling gil_yield
 * when its drop bit is set, as CPython does on backward jumps. A bytecode
 * enters a region, bumps a plain counter that only the GIL protects, does
 * some work and leaves: two threads inside at once would mean the GIL
 * failed, and under TSan any overlap of those plain accesses is a race.
 *
 *   mini_mutual_exclusion  MINI_THREADS counted loops: the total is exact,
 *                          no two threads were inside at once
 *   mini_handover          two CPU-bound loops that never drop the GIL
 *                          voluntarily both make progress, which only a
 *                          drop request plus a forced switch allows
 *
 * Nothing asserts a timing: where a check needs "the other thread ran", the
 * main thread waits for it (sleeping, bounded at ~30 s). Workers never
 * CHECK (see check.h): they count violations; the scenarios check in the
 * main thread after joining.
 */
#ifndef GL_TESTS_GIL_FIXTURE_H
#define GL_TESTS_GIL_FIXTURE_H

#include <pthread.h>
#include <stdalign.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "gil/gil.h"

#define MINI_DROP_BIT 1u
#define MINI_POLL_EVERY 100   /* iterations between eval-breaker polls */
#define MINI_WORK_STEPS 32    /* work per bytecode */
#define MINI_THREADS 4        /* mini_mutual_exclusion's */

/* What the workers share: the GIL and what it protects. */
typedef struct mini {
    gil_t gil;
    uint64_t shared_count;   /* plain: the GIL is its only protection */
    volatile int inside;     /* 1 while a thread is in the region: plain to
                                TSan, volatile so no store is optimised out */
    unsigned violations;     /* atomic */
    int stop;                /* atomic: mini_spin_loop leaves when set */
} mini_t;

typedef struct mini_worker {
    alignas(64) gil_client_t client;
    mini_t *m;
    uint32_t breaker;     /* the eval breaker: __atomic only */
    uint64_t count;       /* plain, written only with the GIL held */
    uint64_t progress;    /* atomic copy of count, for readers without the GIL */
    uint64_t iterations;  /* mini_counted_loop's */
    uint64_t sink;
} mini_worker_t;

/* A fresh GIL (switch interval `interval_us`) and zeroed counters. */
static inline void mini_init(mini_t *m, uint64_t interval_us)
{
    gil_init(&m->gil, interval_us);
    m->shared_count = 0;
    m->inside = 0;
    m->violations = 0;
    m->stop = 0;
}

static inline void mini_worker_init(mini_worker_t *w, mini_t *m)
{
    memset(w, 0, sizeof *w);
    w->m = m;
    w->client.eval_breaker = &w->breaker;
    w->client.drop_bit = MINI_DROP_BIT;
}

/* One "bytecode": enter the region, bump the shared counter, do some work,
 * leave. Two threads inside at once would mean the GIL failed. */
static inline void mini_bump(mini_worker_t *w)
{
    mini_t *m = w->m;
    if (m->inside != 0)
        __atomic_fetch_add(&m->violations, 1, __ATOMIC_RELAXED);
    m->inside = 1;
    m->shared_count++;
    uint64_t x = w->sink;
    for (int k = 0; k < MINI_WORK_STEPS; k++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    w->sink = x;
    w->count++;
    __atomic_store_n(&w->progress, w->count, __ATOMIC_RELAXED);
    m->inside = 0;
}

static inline void mini_poll_breaker(mini_worker_t *w)
{
    if (__atomic_load_n(&w->breaker, __ATOMIC_RELAXED) & w->client.drop_bit)
        gil_yield(&w->m->gil, &w->client);
}

/* A thread: w->iterations bytecodes. */
static inline void *mini_counted_loop(void *arg)
{
    mini_worker_t *w = arg;
    gil_take(&w->m->gil, &w->client);
    for (uint64_t i = 1; i <= w->iterations; i++) {
        mini_bump(w);
        if (i % MINI_POLL_EVERY == 0)
            mini_poll_breaker(w);
    }
    gil_drop(&w->m->gil, &w->client);
    return NULL;
}

/* A thread: bytecodes until m->stop is set. */
static inline void *mini_spin_loop(void *arg)
{
    mini_worker_t *w = arg;
    gil_take(&w->m->gil, &w->client);
    for (uint64_t i = 1;; i++) {
        mini_bump(w);
        if (i % MINI_POLL_EVERY == 0) {
            if (__atomic_load_n(&w->m->stop, __ATOMIC_RELAXED))
                break;
            mini_poll_breaker(w);
        }
    }
    gil_drop(&w->m->gil, &w->client);
    return NULL;
}

/* Sleep in small steps until every worker in ws[0..n) shows progress beyond
 * `base`, for at most ~30 s. Returns 1 once they all have, else 0. */
static inline int mini_await_progress(mini_worker_t *ws, int n, uint64_t base)
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

static inline void mini_check_stats(const mini_worker_t *w, int i)
{
    const gil_stats_t *s = &w->client.stats;
    CHECK(s->acquisitions >= s->forced_drops + 1, "thread %d: acquisitions %llu, forced drops %llu", i,
          (unsigned long long)s->acquisitions, (unsigned long long)s->forced_drops);
}

/* MINI_THREADS threads of `iterations` bytecodes each. Returns the number
 * of GIL switches seen. */
static inline uint64_t mini_mutual_exclusion(mini_t *m, uint64_t iterations)
{
    mini_worker_t ws[MINI_THREADS];
    pthread_t th[MINI_THREADS];

    mini_init(m, 500);
    for (int i = 0; i < MINI_THREADS; i++) {
        mini_worker_init(&ws[i], m);
        ws[i].iterations = iterations;
    }
    for (int i = 0; i < MINI_THREADS; i++)
        CHECK(pthread_create(&th[i], NULL, mini_counted_loop, &ws[i]) == 0, "pthread_create");
    for (int i = 0; i < MINI_THREADS; i++)
        CHECK(pthread_join(th[i], NULL) == 0, "pthread_join");

    CHECK(m->violations == 0, "%u times two threads were inside at once", m->violations);
    CHECK(m->shared_count == (uint64_t)MINI_THREADS * iterations, "count %llu",
          (unsigned long long)m->shared_count);
    for (int i = 0; i < MINI_THREADS; i++) {
        CHECK(ws[i].count == iterations, "thread %d: %llu", i, (unsigned long long)ws[i].count);
        mini_check_stats(&ws[i], i);
    }
    uint64_t switches = gil_switches(&m->gil);
    CHECK(switches >= MINI_THREADS, "every thread took the GIL at least once: %llu switches",
          (unsigned long long)switches);
    gil_destroy(&m->gil);
    return switches;
}

/* Two spinning threads. Returns the number of GIL switches seen. */
static inline uint64_t mini_handover(mini_t *m)
{
    mini_worker_t ws[2];
    pthread_t th[2];

    mini_init(m, 1000);
    for (int i = 0; i < 2; i++)
        mini_worker_init(&ws[i], m);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&th[i], NULL, mini_spin_loop, &ws[i]) == 0, "pthread_create");
    usleep(200000);
    /* Not a timing assertion: keep going until both have run (or ~30 s). */
    int both = mini_await_progress(ws, 2, 0);
    __atomic_store_n(&m->stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_join(th[i], NULL) == 0, "pthread_join");

    CHECK(both, "both CPU-bound threads made progress");
    CHECK(m->violations == 0, "%u overlaps", m->violations);
    CHECK(m->shared_count == ws[0].count + ws[1].count, "count");
    uint64_t forced = 0, requests = 0;
    for (int i = 0; i < 2; i++) {
        CHECK(ws[i].count > 0, "thread %d ran", i);
        mini_check_stats(&ws[i], i);
        forced += ws[i].client.stats.forced_drops;
        requests += ws[i].client.stats.drop_requests;
    }
    /* Whoever ran first never drops voluntarily before `stop`, so the other
     * could only have run because it asked and the first one yielded. */
    CHECK(forced >= 1, "no forced drop, yet both ran before stop");
    CHECK(requests >= 1, "no drop request, yet both ran before stop");
    uint64_t switches = gil_switches(&m->gil);
    CHECK(switches >= 2, "%llu switches", (unsigned long long)switches);
    gil_destroy(&m->gil);
    return switches;
}

#endif
