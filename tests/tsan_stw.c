/* tests/tsan_stw.c: stop-the-world pauses and the free-threaded collector
 * (gil/stw.h, lab/gc_ft.h) with threads running, as a plain program for
 * ThreadSanitizer (and every other build). Exits 0 after one line per
 * check, 1 at the first failure. Each check runs under atomic and biased.
 *
 *   1. churn: threads run the cycles workload's bytecode, so collections
 *      are triggered by whichever thread's count crosses the threshold and
 *      run while the others are stopped at their backward jumps; at the
 *      end every ring is freed, nothing leaks, and collections did run.
 *   2. cross-thread frees: a producer makes rings and hands them to
 *      consumers, which drop them; the producer owns every container, so
 *      each free goes to its remote queue (or, biased, through a merge),
 *      while a collector thread keeps stopping the world.
 *   3. threads come and go: while one thread collects in a loop, others
 *      are created, allocate, and are deleted (a thread state born during a
 *      pause waits; one that goes during a pause counts down).
 *   4. a detached owner's counters (biased): an object handed to another
 *      thread and dropped there is queued to its owner; the owner detaches
 *      and reads its counters, as a worker does at the end of its run
 *      (runners/worker.c), while a collection merges its queue. The merge
 *      is counted by the thread that did it, never written into the
 *      counters of a thread that is reading them.
 */
#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdio.h>

#include "check.h"
#include "lab/code.h"
#include "lab/gc.h"
#include "lab/gc_ft.h"
#include "lab/interp.h"
#include "lab_fixture.h"
#include "workloads/workload.h"

enum { THREADS = 3 };

static const guard_kind_t free_threaded[] = {GUARD_atomic, GUARD_biased};

static void start(pthread_t *th, void *(*fn)(void *), void *arg)
{
    CHECK(pthread_create(th, NULL, fn, arg) == 0, "pthread_create");
}

static void join(pthread_t th)
{
    CHECK(pthread_join(th, NULL) == 0, "pthread_join");
}

static tstate_t *new_tstate(interp_t *interp)
{
    tstate_t *ts = tstate_new(interp);
    if (ts == NULL) {
        fputs("tsan_stw: tstate_new failed in a worker\n", stderr);
        abort();   /* a worker cannot CHECK (check.h) */
    }
    return ts;
}

static uint64_t collections(const interp_t *interp)
{
    uint64_t n = 0;
    for (int i = 0; i < GC_GENERATIONS; i++)
        n += interp->gc.stats[i].collections;
    return n;
}

/* What a run's end does: globals dropped, the final collection, freelists
 * and remote queues emptied; then lab_close checks that nothing leaked. */
static void finish(lab_t *l)
{
    l->ops->attach(l->ts);
    interp_clear_globals(l->ts);
    interp_finalize(l->ts);
    l->ops->detach(l->ts);
    lab_close(l);
}

/* ---- 1. churn --------------------------------------------------------------- */

typedef struct churn {
    alignas(64) interp_t *interp;
    const code_t *code;
    int64_t nodes;
    int failed;
} churn_t;

static void *churn_main(void *p)
{
    churn_t *c = p;
    tstate_t *ts = new_tstate(c->interp);
    const guard_ops_t *ops = c->interp->ops;
    ops->attach(ts);
    obj_t *arg = ops->int_new(ts, c->nodes);
    obj_t *r = arg != NULL ? ops->eval(ts, c->code, &arg, 1) : NULL;
    if (r == NULL)
        c->failed = 1;
    else
        ops->decref(ts, r);
    ops->detach(ts);
    tstate_delete(ts);
    return NULL;
}

static void churn(guard_kind_t g)
{
    lab_t l = lab_open(g, HEAP_pymalloc, true);
    const workload_t *wl = wl_find("cycles");
    CHECK(wl != NULL, "the cycles workload");
    int64_t params[] = {3, 2};   /* rings of three nodes, each with a list of two ints */
    code_t code;
    CHECK(wl->build(&code, params) == 0, "build");
    l.interp->globals[0] = interp_node_class(l.interp);
    churn_t c[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        c[i] = (churn_t){.interp = l.interp, .code = &code, .nodes = 30000};
        start(&th[i], churn_main, &c[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        join(th[i]);
        CHECK(!c[i].failed, "%s: worker %d failed", l.what, i);
    }
    uint64_t n = collections(l.interp);
    CHECK(n > 0, "%s: no collection ran", l.what);
    finish(&l);
    printf("tsan_stw: churn: %s: %d threads, %llu collections, nothing leaked: ok\n", guard_name(g), THREADS,
           (unsigned long long)n);
}

/* ---- 2. cross-thread frees ------------------------------------------------------ */

enum { RINGS = 4000, RING = 3 };

typedef struct handoff {
    interp_t *interp;
    obj_t *rings[RINGS];       /* published by the producer, one per slot */
    int ready;                 /* atomic: rings published so far */
    int consumed;              /* atomic: rings dropped so far */
    int stop_collector;        /* atomic */
} handoff_t;

typedef struct consumer {
    alignas(64) handoff_t *h;
    int first, step;
} consumer_t;

/* A ring of RING nodes (a new reference to one of them). */
static obj_t *ring_new(const guard_ops_t *ops, tstate_t *ts)
{
    obj_t *first = ops->node_new(ts), *last = first;
    for (int i = 1; i < RING; i++) {
        obj_t *n = ops->node_new(ts);
        ((node_obj_t *)last)->slot[NODE_SLOT_next] = n;   /* steals the new reference */
        last = n;
    }
    ops->incref(ts, first);
    ((node_obj_t *)last)->slot[NODE_SLOT_next] = first;
    return first;
}

static void *producer_main(void *p)
{
    handoff_t *h = p;
    const guard_ops_t *ops = h->interp->ops;
    tstate_t *ts = new_tstate(h->interp);
    ops->attach(ts);
    for (int i = 0; i < RINGS; i++) {
        h->rings[i] = ring_new(ops, ts);
        __atomic_store_n(&h->ready, i + 1, __ATOMIC_RELEASE);
        ops->handle_pending(ts);   /* blocks handed back, merges, pauses */
    }
    /* Stay until every ring is dropped, taking the blocks back. */
    while (__atomic_load_n(&h->consumed, __ATOMIC_ACQUIRE) < RINGS)
        ops->handle_pending(ts);
    ops->detach(ts);
    tstate_delete(ts);
    return NULL;
}

static void *consumer_main(void *p)
{
    consumer_t *c = p;
    handoff_t *h = c->h;
    const guard_ops_t *ops = h->interp->ops;
    tstate_t *ts = new_tstate(h->interp);
    ops->attach(ts);
    for (int i = c->first; i < RINGS; i += c->step) {
        while (__atomic_load_n(&h->ready, __ATOMIC_ACQUIRE) <= i)
            ops->handle_pending(ts);
        ops->decref(ts, h->rings[i]);   /* the ring is garbage now: a cycle */
        __atomic_fetch_add(&h->consumed, 1, __ATOMIC_ACQ_REL);
        ops->handle_pending(ts);
    }
    ops->detach(ts);
    tstate_delete(ts);
    return NULL;
}

static void *collector_main(void *p)
{
    handoff_t *h = p;
    const guard_ops_t *ops = h->interp->ops;
    tstate_t *ts = new_tstate(h->interp);
    ops->attach(ts);
    while (!__atomic_load_n(&h->stop_collector, __ATOMIC_ACQUIRE)) {
        gc_collect(ts, 2);
        ops->handle_pending(ts);
    }
    ops->detach(ts);
    tstate_delete(ts);
    return NULL;
}

static void cross_thread_frees(guard_kind_t g)
{
    lab_t l = lab_open(g, HEAP_malloc, true);
    static handoff_t h;
    h = (handoff_t){.interp = l.interp};
    enum { CONSUMERS = THREADS - 1 };
    consumer_t cs[CONSUMERS];
    pthread_t prod, coll, cons[CONSUMERS];
    start(&coll, collector_main, &h);
    start(&prod, producer_main, &h);
    for (int i = 0; i < CONSUMERS; i++) {
        cs[i] = (consumer_t){.h = &h, .first = i, .step = CONSUMERS};
        start(&cons[i], consumer_main, &cs[i]);
    }
    for (int i = 0; i < CONSUMERS; i++)
        join(cons[i]);
    join(prod);
    __atomic_store_n(&h.stop_collector, 1, __ATOMIC_RELEASE);
    join(coll);
    uint64_t n = collections(l.interp);
    finish(&l);
    printf("tsan_stw: cross-thread frees: %s: %d rings made by one thread, dropped by %d, %llu collections "
           "meanwhile: ok\n",
           guard_name(g), RINGS, CONSUMERS, (unsigned long long)n);
}

/* ---- 3. threads come and go ---------------------------------------------------- */

enum { GENERATIONS_OF_THREADS = 200 };

typedef struct comer {
    alignas(64) interp_t *interp;
    int rounds;
} comer_t;

static void *comer_main(void *p)
{
    comer_t *c = p;
    const guard_ops_t *ops = c->interp->ops;
    for (int r = 0; r < c->rounds; r++) {
        tstate_t *ts = new_tstate(c->interp);
        ops->attach(ts);
        for (int k = 0; k < 8; k++)
            ops->decref(ts, ring_new(ops, ts));   /* garbage the collector thread frees */
        ops->handle_pending(ts);
        ops->detach(ts);
        tstate_delete(ts);   /* its containers become orphans */
    }
    return NULL;
}

static void threads_come_and_go(guard_kind_t g)
{
    lab_t l = lab_open(g, HEAP_malloc, true);
    static handoff_t h;
    h = (handoff_t){.interp = l.interp};
    pthread_t coll, th[THREADS - 1];
    comer_t cs[THREADS - 1];
    start(&coll, collector_main, &h);
    for (int i = 0; i < THREADS - 1; i++) {
        cs[i] = (comer_t){.interp = l.interp, .rounds = GENERATIONS_OF_THREADS};
        start(&th[i], comer_main, &cs[i]);
    }
    for (int i = 0; i < THREADS - 1; i++)
        join(th[i]);
    __atomic_store_n(&h.stop_collector, 1, __ATOMIC_RELEASE);
    join(coll);
    CHECK(l.interp->stw.requested == false, "%s: no pause left behind", l.what);
    finish(&l);
    printf("tsan_stw: threads come and go: %s: %d thread states created and deleted during pauses: ok\n",
           guard_name(g), (THREADS - 1) * GENERATIONS_OF_THREADS);
}

/* ---- 4. a detached owner's counters ------------------------------------------ */

typedef struct merge_race {
    interp_t *interp;
    obj_t *handed;             /* published by the owner */
    int dropped;               /* atomic: the other thread let go of it */
    int detached;              /* atomic: the owner has detached */
    int collected;             /* atomic: the collector is done */
    tstate_counters_t owner_seen;   /* what the owner read, detached */
    uint64_t owner_merged, collector_merged;
} merge_race_t;

static void *merge_owner_main(void *p)
{
    merge_race_t *m = p;
    const guard_ops_t *ops = m->interp->ops;
    tstate_t *ts = new_tstate(m->interp);
    ops->attach(ts);
    obj_t *o = ops->int_new(ts, 100000);   /* owned by this thread */
    ops->incref(ts, o);                    /* one local reference handed over */
    __atomic_store_n(&m->handed, o, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&m->dropped, __ATOMIC_ACQUIRE))
        ;   /* attached, but no eval-breaker check: the queue waits */
    ops->detach(ts);
    __atomic_store_n(&m->detached, 1, __ATOMIC_RELEASE);
    m->owner_seen = ts->count;             /* worker_run's read of its counters */
    while (!__atomic_load_n(&m->collected, __ATOMIC_ACQUIRE))
        ;
    ops->attach(ts);
    m->owner_merged = ts->count.brc_merged;
    ops->decref(ts, o);
    ops->detach(ts);
    tstate_delete(ts);
    return NULL;
}

static void *merge_dropper_main(void *p)
{
    merge_race_t *m = p;
    const guard_ops_t *ops = m->interp->ops;
    tstate_t *ts = new_tstate(m->interp);
    obj_t *o;
    while ((o = __atomic_load_n(&m->handed, __ATOMIC_ACQUIRE)) == NULL)
        ;
    ops->attach(ts);
    ops->decref(ts, o);   /* shared count zero: queued to the owner */
    ops->detach(ts);
    tstate_delete(ts);
    __atomic_store_n(&m->dropped, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void *merge_collector_main(void *p)
{
    merge_race_t *m = p;
    const guard_ops_t *ops = m->interp->ops;
    tstate_t *ts = new_tstate(m->interp);
    ops->attach(ts);
    while (!__atomic_load_n(&m->detached, __ATOMIC_ACQUIRE))
        ops->handle_pending(ts);
    gc_collect(ts, 2);   /* the world stopped: merges the owner's queue */
    m->collector_merged = ts->count.brc_merged;
    ops->detach(ts);
    tstate_delete(ts);
    __atomic_store_n(&m->collected, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void detached_owner_counters(void)
{
    lab_t l = lab_open(GUARD_biased, HEAP_mimalloc, true);
    static merge_race_t m;
    m = (merge_race_t){.interp = l.interp};
    pthread_t owner, dropper, collector;
    start(&collector, merge_collector_main, &m);
    start(&dropper, merge_dropper_main, &m);
    start(&owner, merge_owner_main, &m);
    join(dropper);
    join(collector);
    join(owner);
    CHECK(m.collector_merged == 1, "the collector counts the merge it did (%llu)",
          (unsigned long long)m.collector_merged);
    CHECK(m.owner_merged == 0 && m.owner_seen.brc_merged == 0, "the owner's counters are its own (%llu)",
          (unsigned long long)m.owner_merged);
    finish(&l);
    printf("tsan_stw: a detached owner's counters: biased: its queue merged by a collection, counted by the "
           "collector: ok\n");
}

int main(void)
{
    for (size_t i = 0; i < sizeof free_threaded / sizeof free_threaded[0]; i++) {
        churn(free_threaded[i]);
        cross_thread_frees(free_threaded[i]);
        threads_come_and_go(free_threaded[i]);
    }
    detached_owner_counters();
    return 0;
}
