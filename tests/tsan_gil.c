/* tests/tsan_gil.c: the GIL's race checks as a plain program, meant to run
 * under ThreadSanitizer (Criterion does not). Exits 0 on success, 1 with a
 * message on the first failed check.
 *
 *   1. Mutual exclusion: 4 threads each bump one plain, non-atomic counter
 *      100000 times in a mini interpreter loop (poll the eval breaker every
 *      100 iterations, gil_yield when the drop bit is set). The total must
 *      be exact, no two threads may be inside at once, and TSan must see
 *      every access ordered by the GIL.
 *   2. Handover: two CPU-bound threads that never drop voluntarily both make
 *      progress, which only a drop request plus a forced switch allows.
 *
 * Nothing asserts a timing: where a check needs "the other thread ran", the
 * main thread waits for it (sleeping, bounded at ~30 s).
 */
#include <pthread.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gil/gil.h"

#define NTHREADS 4
#define ITERATIONS 100000
#define DROP_BIT 1u
#define POLL_EVERY 100
#define WORK_STEPS 16

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "tsan_gil: FAILED: %s (%s:%d): ", #cond, __FILE__, \
                    __LINE__);                                                 \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

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
static int inside;              /* plain as well: TSan reports any overlap */
static unsigned violations;     /* atomic */
static int stop;                /* atomic */

static void worker_init(worker_t *w)
{
    memset(w, 0, sizeof *w);
    w->client.eval_breaker = &w->breaker;
    w->client.drop_bit = DROP_BIT;
}

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

static void check_stats(const worker_t *w)
{
    const gil_stats_t *s = &w->client.stats;
    CHECK(s->acquisitions >= s->forced_drops + 1, "acquisitions %llu, forced drops %llu",
          (unsigned long long)s->acquisitions, (unsigned long long)s->forced_drops);
}

/* Returns the number of GIL switches seen. */
static uint64_t mutual_exclusion(void)
{
    worker_t ws[NTHREADS];
    pthread_t th[NTHREADS];

    gil_init(&gil, 500);
    shared_count = 0;
    for (int i = 0; i < NTHREADS; i++) {
        worker_init(&ws[i]);
        ws[i].iterations = ITERATIONS;
    }
    for (int i = 0; i < NTHREADS; i++)
        CHECK(pthread_create(&th[i], NULL, counted_loop, &ws[i]) == 0, "pthread_create");
    for (int i = 0; i < NTHREADS; i++)
        CHECK(pthread_join(th[i], NULL) == 0, "pthread_join");

    CHECK(violations == 0, "%u overlaps", violations);
    CHECK(shared_count == (uint64_t)NTHREADS * ITERATIONS, "count %llu",
          (unsigned long long)shared_count);
    for (int i = 0; i < NTHREADS; i++) {
        CHECK(ws[i].count == ITERATIONS, "thread %d: %llu", i,
              (unsigned long long)ws[i].count);
        check_stats(&ws[i]);
    }
    uint64_t switches = gil_switches(&gil);
    CHECK(switches >= NTHREADS, "%llu switches", (unsigned long long)switches);
    gil_destroy(&gil);
    return switches;
}

/* Returns the number of GIL switches seen. */
static uint64_t handover(void)
{
    worker_t ws[2];
    pthread_t th[2];

    gil_init(&gil, 1000);
    shared_count = 0;
    for (int i = 0; i < 2; i++)
        worker_init(&ws[i]);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&th[i], NULL, spin_loop, &ws[i]) == 0, "pthread_create");

    usleep(200000);
    int both = 0;
    for (int tries = 0; tries < 3000 && !both; tries++) {
        both = __atomic_load_n(&ws[0].progress, __ATOMIC_RELAXED) > 0 &&
               __atomic_load_n(&ws[1].progress, __ATOMIC_RELAXED) > 0;
        if (!both)
            usleep(10000);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_join(th[i], NULL) == 0, "pthread_join");

    CHECK(both, "both CPU-bound threads made progress");
    CHECK(violations == 0, "%u overlaps", violations);
    CHECK(shared_count == ws[0].count + ws[1].count, "count");
    uint64_t forced = 0;
    for (int i = 0; i < 2; i++) {
        check_stats(&ws[i]);
        forced += ws[i].client.stats.forced_drops;
    }
    CHECK(forced >= 1, "no forced drop, yet both ran before stop");
    uint64_t switches = gil_switches(&gil);
    CHECK(switches >= 2, "%llu switches", (unsigned long long)switches);
    gil_destroy(&gil);
    return switches;
}

int main(void)
{
    uint64_t s1 = mutual_exclusion();
    uint64_t s2 = handover();
    printf("tsan_gil: %d threads x %d increments: ok, %llu switches; "
           "handover: ok, %llu switches\n",
           NTHREADS, ITERATIONS, (unsigned long long)s1, (unsigned long long)s2);
    return 0;
}
