/* tests/guard_races.h: the concurrency scenarios of the thread-safe guards
 * (gil, atomic, biased), written once for test_guards.c (Criterion, full
 * size) and tsan_guards.c (a plain program under ThreadSanitizer, smaller
 * sizes). Each scenario opens its own lab, runs RACE_W threads, checks in
 * the main thread after joining, and closes the lab (no leak, statics as
 * fresh).
 *
 *   race_hammer           RACE_W threads plus the owning main thread
 *                         incref/decref a list and large ints the main
 *                         thread created; each worker then drops one
 *                         reference the main thread handed it (under
 *                         biased: the queue-and-merge path). The counts end
 *                         exact, and dropping the last references frees
 *                         every object exactly once.
 *   race_append           concurrent list.append on one list (per-object
 *                         lock, or the GIL): nothing lost, duplicated or
 *                         reordered within a thread.
 *   race_shared_workload  real bytecode: the `shared` workload by RACE_W
 *                         threads; L's count and, with --no-immortal, the
 *                         statics' counts exact afterwards.
 *   race_immortal         immortal objects bit-for-bit unchanged by
 *                         concurrent traffic, even more decrefs than increfs.
 *   race_owner_exit       biased only: the owner exits while the workers
 *                         still hold and use its objects; half drop theirs
 *                         before it exits (queued to it, merged by
 *                         tstate_delete), half after (merged on the spot);
 *                         odd objects merge at a zero local count with
 *                         shared references left. Every object is freed
 *                         exactly once.
 *
 * A thread touches counts only while attached (under gil: holding the
 * GIL). It attaches, does a batch, polls its eval breaker as the
 * interpreter loop does on a backward jump, and detaches. Workers never
 * CHECK (see check.h): they count failures for the main thread to check,
 * or abort where they cannot go on (no thread state, no objects).
 */
#ifndef GL_TESTS_GUARD_RACES_H
#define GL_TESTS_GUARD_RACES_H

#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "gil/brc.h"
#include "lab/code.h"
#include "lab/interp.h"
#include "lab/object.h"
#include "lab_fixture.h"
#include "workloads/workload.h"

#define RACE_W 4              /* worker threads */
#define RACE_BATCH 1000       /* operations per attach */
#define RACE_NITEMS 8         /* large ints inside the list */
#define RACE_NINTS 8          /* standalone large ints */
#define RACE_NOBJS (1 + RACE_NITEMS + RACE_NINTS)

/* How much each scenario does: the Criterion suite runs more than TSan can
 * afford. Counts are per thread. */
typedef struct race_sizes {
    int hammer;           /* race_hammer: incref/decref pairs */
    int immortal;         /* race_immortal: incref/decref pairs */
    int appends;          /* race_append: list.append calls */
    int64_t share;        /* race_shared_workload: the argument of each thread */
    int exit_traffic;     /* race_owner_exit: pairs per worker and phase (the owner: twice that) */
    int exit_rounds;      /* race_owner_exit: repetitions */
} race_sizes_t;

/* The sizes of test_guards.c (full) and of tsan_guards.c (a few seconds
 * under TSan on 2 cores). */
#define RACE_SIZES_FULL                                                                          \
    {.hammer = 200000, .immortal = 200000, .appends = 20000, .share = 100000,                    \
     .exit_traffic = 10 * RACE_BATCH, .exit_rounds = 5}
#define RACE_SIZES_TSAN                                                                          \
    {.hammer = 40000, .immortal = 10000, .appends = 5000, .share = 20000,                        \
     .exit_traffic = 5 * RACE_BATCH, .exit_rounds = 3}

/* A worker's thread state. Out of memory here ends the program: a worker
 * must not CHECK, and there is nothing to test without one. */
static inline tstate_t *race_tstate_new(interp_t *in)
{
    tstate_t *ts = tstate_new(in);
    if (ts == NULL) {
        fputs("tstate_new: out of memory in a worker thread\n", stderr);
        abort();
    }
    return ts;
}

/* What the interpreter loop does on a backward jump: give the GIL away
 * when asked, merge queued objects, stop for a pause. */
static inline void race_poll_breaker(interp_t *in, tstate_t *ts)
{
    in->ops->handle_pending(ts);
}

/* Balanced traffic: `n` incref/decref pairs over objs, in attached batches. */
static inline void race_traffic(interp_t *in, tstate_t *ts, obj_t *const *objs, int nobjs, int n)
{
    const guard_ops_t *ops = in->ops;
    for (int done = 0; done < n; done += RACE_BATCH) {
        ops->attach(ts);
        for (int k = 0; k < RACE_BATCH; k++)
            ops->incref(ts, objs[(done + k) % nobjs]);
        race_poll_breaker(in, ts);
        for (int k = 0; k < RACE_BATCH; k++)
            ops->decref(ts, objs[(done + k) % nobjs]);
        ops->detach(ts);
    }
}

/* objs[0] a list of RACE_NITEMS large ints (objs[1..]), then RACE_NINTS
 * large ints, all owned by `ts` (attached). Returns 0, or -1 when an
 * object could not be made. */
static inline int race_make_objects(const guard_ops_t *ops, tstate_t *ts, obj_t **objs, int64_t base)
{
    obj_t *list = ops->list_new(ts, 0);
    if (list == NULL)
        return -1;
    objs[0] = list;
    for (int i = 0; i < RACE_NITEMS; i++) {
        objs[1 + i] = ops->int_new(ts, base + i);
        if (objs[1 + i] == NULL || ops->list_append(ts, list, objs[1 + i]) < 0)
            return -1;
    }
    for (int i = 0; i < RACE_NINTS; i++)
        if ((objs[1 + RACE_NITEMS + i] = ops->int_new(ts, base + 1000 + i)) == NULL)
            return -1;
    return 0;
}

/* Drop the references race_make_objects made (the list holds its items'). */
static inline void race_drop_objects(const guard_ops_t *ops, tstate_t *ts, obj_t **objs)
{
    ops->decref(ts, objs[0]);
    for (int i = 0; i < RACE_NINTS; i++)
        ops->decref(ts, objs[1 + RACE_NITEMS + i]);
}

static inline void race_start(pthread_t *th, void *(*fn)(void *), void *arg)
{
    CHECK(pthread_create(th, NULL, fn, arg) == 0, "pthread_create");
}

static inline void race_join(pthread_t th)
{
    CHECK(pthread_join(th, NULL) == 0, "pthread_join");
}

/* ---- race_hammer ------------------------------------------------------------ */

typedef struct race_hammer {
    interp_t *interp;
    obj_t *objs[RACE_NOBJS];
    int iterations;
    pthread_barrier_t start;
} race_hammer_t;

typedef struct race_hworker {
    alignas(64) race_hammer_t *h;
    tstate_t *ts;   /* the main thread's; NULL: a worker, which drops a handed reference */
} race_hworker_t;

static inline void *race_hammer_main(void *p)
{
    race_hworker_t *w = p;
    race_hammer_t *h = w->h;
    tstate_t *ts = w->ts != NULL ? w->ts : race_tstate_new(h->interp);
    pthread_barrier_wait(&h->start);
    race_traffic(h->interp, ts, h->objs, RACE_NOBJS, h->iterations);
    if (w->ts == NULL) {
        /* Drop the reference the main thread handed us: under biased it
         * was counted by the owner, so this goes through the queue. */
        h->interp->ops->attach(ts);
        for (int i = 0; i < RACE_NOBJS; i++)
            h->interp->ops->decref(ts, h->objs[i]);
        h->interp->ops->detach(ts);
        tstate_delete(ts);
    }
    return NULL;
}

/* Main builds the objects, hands one reference per object to each worker,
 * hammers as the owner alongside the workers, then checks and frees. */
static inline void race_hammer(guard_kind_t g, heap_kind_t heap, const race_sizes_t *sz)
{
    lab_t l = lab_open(g, heap, true);
    const char *hn = heap_kind_name(heap);
    race_hammer_t h = {.interp = l.interp, .iterations = sz->hammer};

    l.ops->attach(l.ts);
    CHECK(race_make_objects(l.ops, l.ts, h.objs, 100000) == 0, "%s: objects: %s", l.what, l.ts->error);
    for (int i = 0; i < RACE_NOBJS; i++)
        for (int k = 0; k < RACE_W; k++)
            l.ops->incref(l.ts, h.objs[i]);
    for (int i = 0; i < RACE_NOBJS; i++)
        CHECK(lab_rc(&l, h.objs[i]) == 1 + RACE_W, "%s: object %d handed out", l.what, i);
    l.ops->detach(l.ts);

    CHECK(pthread_barrier_init(&h.start, NULL, RACE_W + 1) == 0, "pthread_barrier_init");
    pthread_t th[RACE_W];
    race_hworker_t ws[RACE_W + 1];
    for (int i = 0; i < RACE_W; i++) {
        ws[i] = (race_hworker_t){.h = &h, .ts = NULL};
        race_start(&th[i], race_hammer_main, &ws[i]);
    }
    ws[RACE_W] = (race_hworker_t){.h = &h, .ts = l.ts};
    race_hammer_main(&ws[RACE_W]);
    for (int i = 0; i < RACE_W; i++)
        race_join(th[i]);
    pthread_barrier_destroy(&h.start);

    /* Under biased the workers' handed references were queued to us: merge
     * them, as our eval breaker would at our next backward jump. */
    l.ops->attach(l.ts);
    brc_merge_queue(l.ts);
    l.ops->detach(l.ts);
    CHECK(__atomic_load_n(&l.ts->brc.count, __ATOMIC_RELAXED) == 0, "%s: queue merged", l.what);
    for (int i = 0; i < RACE_NOBJS; i++)
        CHECK(lab_rc(&l, h.objs[i]) == 1, "%s/%s hammer: object %d ends with count %ld, not 1", l.what, hn, i,
              (long)lab_rc(&l, h.objs[i]));
    CHECK(interp_live_objects(l.interp) == l.live0 + RACE_NOBJS, "%s/%s hammer: nothing freed early", l.what, hn);
    if (l.biased) {
        CHECK(l.ts->count.brc_merged > 0, "biased: handed references went through the queue");
        for (int i = 0; i < RACE_NOBJS; i++)
            CHECK((obj_ft(h.objs[i])->ref_shared & BRC_FLAG_MASK) == BRC_MERGED, "biased: object %d merged", i);
    }

    l.ops->attach(l.ts);
    uint64_t freed0 = l.ts->count.objects_freed;
    race_drop_objects(l.ops, l.ts, h.objs);   /* frees the list, its items and the ints */
    l.ops->detach(l.ts);
    CHECK(l.ts->count.objects_freed - freed0 == RACE_NOBJS, "%s/%s hammer: %llu frees for %d objects", l.what, hn,
          (unsigned long long)(l.ts->count.objects_freed - freed0), RACE_NOBJS);
    CHECK(interp_live_objects(l.interp) == l.live0, "%s/%s hammer", l.what, hn);
    lab_close(&l);
}

/* ---- race_append ------------------------------------------------------------- */

typedef struct race_aworker {
    alignas(64) interp_t *interp;
    obj_t *list;
    int index;
    int appends;
    int failures;
} race_aworker_t;

static inline void *race_append_main(void *p)
{
    race_aworker_t *a = p;
    const guard_ops_t *ops = a->interp->ops;
    tstate_t *ts = race_tstate_new(a->interp);
    for (int done = 0; done < a->appends; done += RACE_BATCH) {
        ops->attach(ts);
        for (int k = 0; k < RACE_BATCH; k++) {
            obj_t *v = ops->int_new(ts, 1000000 * (a->index + 1) + done + k);
            if (v == NULL || ops->list_append(ts, a->list, v) < 0)
                a->failures++;
        }
        race_poll_breaker(a->interp, ts);
        ops->detach(ts);
    }
    tstate_delete(ts);
    return NULL;
}

static inline void race_append(guard_kind_t g, heap_kind_t heap, const race_sizes_t *sz)
{
    lab_t l = lab_open(g, heap, true);
    const int total = RACE_W * sz->appends;
    l.ops->attach(l.ts);
    obj_t *list = l.ops->list_new(l.ts, 0);
    CHECK(list != NULL, "%s: list_new", l.what);
    l.ops->detach(l.ts);
    race_aworker_t ws[RACE_W];
    pthread_t th[RACE_W];
    for (int i = 0; i < RACE_W; i++) {
        ws[i] = (race_aworker_t){.interp = l.interp, .list = list, .index = i, .appends = sz->appends};
        race_start(&th[i], race_append_main, &ws[i]);
    }
    for (int i = 0; i < RACE_W; i++)
        race_join(th[i]);
    for (int i = 0; i < RACE_W; i++)
        CHECK(ws[i].failures == 0, "%s append: %d failures in thread %d", l.what, ws[i].failures, i);

    list_obj_t *lo = (list_obj_t *)list;
    CHECK(lo->size == total, "%s: %ld items, expected %d: appends were lost", l.what, (long)lo->size, total);
    /* Each thread's items appear once, in that thread's order. */
    int64_t next[RACE_W] = {0};
    for (intptr_t i = 0; i < lo->size; i++) {
        int64_t v = int_value(lo->items[i]);
        int t = (int)(v / 1000000) - 1;
        CHECK(t >= 0 && t < RACE_W, "%s: bad item %lld", l.what, (long long)v);
        CHECK(v % 1000000 == next[t], "%s: thread %d's items out of order or duplicated (item %ld is %lld)",
              l.what, t, (long)i, (long long)v);
        next[t]++;
        CHECK(lab_rc(&l, lo->items[i]) == 1, "%s: item %ld held by the list only", l.what, (long)i);
    }
    CHECK(interp_live_objects(l.interp) == l.live0 + 1 + total, "%s: the list and its items", l.what);
    l.ops->attach(l.ts);
    l.ops->decref(l.ts, list);
    l.ops->detach(l.ts);
    lab_close(&l);
}

/* ---- race_shared_workload ------------------------------------------------------ */

typedef struct race_eworker {
    alignas(64) interp_t *interp;
    const code_t *code;
    int64_t share;
    obj_t *result;
    char error[TSTATE_ERROR_LEN];
} race_eworker_t;

static inline void *race_eval_main(void *p)
{
    race_eworker_t *e = p;
    const guard_ops_t *ops = e->interp->ops;
    tstate_t *ts = race_tstate_new(e->interp);
    ops->attach(ts);
    obj_t *arg = ops->int_new(ts, e->share);
    e->result = arg != NULL ? ops->eval(ts, e->code, &arg, 1) : NULL;
    snprintf(e->error, sizeof(e->error), "%s", ts->error);
    if (e->result != NULL)
        ops->decref(ts, e->result);
    ops->detach(ts);
    tstate_delete(ts);
    return NULL;
}

static inline void race_shared_workload(guard_kind_t g, heap_kind_t heap, bool immortal, const race_sizes_t *sz)
{
    lab_t l = lab_open(g, heap, immortal);
    int64_t params[WL_MAX_PARAMS] = {16};
    code_t c;
    char err[200] = "";
    CHECK(wl_shared.build(&c, params) == 0, "%s: shared does not build", l.what);
    CHECK(code_check(&c, err, sizeof(err)) == 0, "%s: %s", l.what, err);
    l.ops->attach(l.ts);
    CHECK(wl_shared.setup(l.ts, params) == 0, "%s: setup: %s", l.what, l.ts->error);
    l.ops->detach(l.ts);
    obj_t *list = l.interp->globals[0];
    lab_snapshot(&l);   /* L holds the small ints 0..15 */

    race_eworker_t ws[RACE_W];
    pthread_t th[RACE_W];
    for (int i = 0; i < RACE_W; i++) {
        ws[i] = (race_eworker_t){.interp = l.interp, .code = &c, .share = sz->share};
        race_start(&th[i], race_eval_main, &ws[i]);
    }
    for (int i = 0; i < RACE_W; i++)
        race_join(th[i]);
    for (int i = 0; i < RACE_W; i++)
        CHECK(ws[i].result == interp_none(l.interp), "%s shared: worker %d: %s", l.what, i, ws[i].error);

    l.ops->attach(l.ts);
    brc_merge_queue(l.ts);   /* biased: what the owner's eval breaker does */
    l.ops->detach(l.ts);
    CHECK(lab_rc(&l, list) == 1, "%s shared: L's count is %ld after the run", l.what, (long)lab_rc(&l, list));
    CHECK(interp_live_objects(l.interp) == l.live0, "%s shared: leak", l.what);
    if (!immortal) {
        interp_t *in = l.interp;
        for (int v = 0; v < 16; v++)
            CHECK(lab_rc(&l, lab_small_int(&l, v)) == 2, "%s shared: item %d held by L and the interpreter only",
                  l.what, v);
        CHECK(lab_rc(&l, interp_true(in)) == 1, "%s shared: True", l.what);
        CHECK(lab_rc(&l, interp_false(in)) == 1, "%s shared: False", l.what);
        CHECK(lab_rc(&l, interp_none(in)) == 1, "%s shared: None", l.what);
    }
    lab_check_clean(&l, "shared workload");
    lab_close(&l);   /* clears L: checks that it and its items are freed */
}

/* ---- race_immortal ----------------------------------------------------------- */

typedef struct race_iworker {
    alignas(64) interp_t *interp;
    obj_t **objs;
    int n;
    int iterations;
} race_iworker_t;

static inline void *race_immortal_main(void *p)
{
    race_iworker_t *a = p;
    tstate_t *ts = race_tstate_new(a->interp);
    race_traffic(a->interp, ts, a->objs, a->n, a->iterations);
    /* More decrefs than increfs: harmless only because they are immortal. */
    a->interp->ops->attach(ts);
    for (int k = 0; k < RACE_BATCH; k++)
        a->interp->ops->decref(ts, a->objs[k % a->n]);
    a->interp->ops->detach(ts);
    tstate_delete(ts);
    return NULL;
}

static inline void race_immortal(guard_kind_t g, const race_sizes_t *sz)
{
    lab_t l = lab_open(g, HEAP_malloc, true);
    interp_t *in = l.interp;
    obj_t *objs[] = {interp_none(in), interp_true(in), interp_false(in), interp_small_int(in, SMALL_INT_MIN),
                     interp_small_int(in, 1), interp_small_int(in, SMALL_INT_MAX)};
    enum { N = sizeof(objs) / sizeof(objs[0]) };
    /* Every header byte, whatever the layout (a static has room for the
     * larger header in front of it). */
    unsigned char before[N][OBJ_HEAD_FT_SIZE];
    for (int i = 0; i < N; i++)
        memcpy(before[i], (const char *)objs[i] - OBJ_HEAD_FT_SIZE, OBJ_HEAD_FT_SIZE);
    race_iworker_t ws[RACE_W];
    pthread_t th[RACE_W];
    for (int i = 0; i < RACE_W; i++) {
        ws[i] = (race_iworker_t){.interp = in, .objs = objs, .n = N, .iterations = sz->immortal};
        race_start(&th[i], race_immortal_main, &ws[i]);
    }
    for (int i = 0; i < RACE_W; i++)
        race_join(th[i]);
    for (int i = 0; i < N; i++)
        CHECK(memcmp(before[i], (const char *)objs[i] - OBJ_HEAD_FT_SIZE, OBJ_HEAD_FT_SIZE) == 0,
              "%s: immortal %d: its header changed", l.what, i);
    lab_close(&l);
}

/* ---- race_owner_exit (biased) --------------------------------------------------- */

typedef struct race_exit {
    interp_t *interp;
    obj_t *objs[RACE_NOBJS];
    int traffic;                 /* per worker and phase */
    pthread_barrier_t created;   /* owner -> workers: objects ready */
    pthread_barrier_t early;     /* early droppers done */
    pthread_barrier_t gone;      /* owner has exited */
} race_exit_t;

typedef struct race_xworker {
    alignas(64) race_exit_t *x;
    int early;
} race_xworker_t;

static inline void *race_exit_owner_main(void *p)
{
    race_exit_t *x = p;
    const guard_ops_t *ops = x->interp->ops;
    tstate_t *ts = race_tstate_new(x->interp);
    ops->attach(ts);
    if (race_make_objects(ops, ts, x->objs, 300000) < 0) {
        fprintf(stderr, "owner: %s\n", ts->error);
        abort();   /* the workers would use what is not there */
    }
    /* Even objects: the workers' references come out of our local count. */
    for (int i = 0; i < RACE_NOBJS; i += 2)
        for (int k = 0; k < RACE_W; k++)
            ops->incref(ts, x->objs[i]);
    ops->detach(ts);
    pthread_barrier_wait(&x->created);
    /* Workers now hold their references (odd ones taken after `created`,
     * so wait for the early droppers before letting go of ours). */
    pthread_barrier_wait(&x->early);
    race_traffic(x->interp, ts, x->objs, RACE_NOBJS, 2 * x->traffic);
    /* Drop our own references: odd objects hit a zero local count with
     * shared references left, and merge. */
    ops->attach(ts);
    race_drop_objects(ops, ts, x->objs);
    ops->detach(ts);
    tstate_delete(ts);   /* merges what early droppers queued to us */
    pthread_barrier_wait(&x->gone);
    return NULL;
}

static inline void *race_exit_worker_main(void *p)
{
    race_xworker_t *w = p;
    race_exit_t *x = w->x;
    const guard_ops_t *ops = x->interp->ops;
    tstate_t *ts = race_tstate_new(x->interp);
    pthread_barrier_wait(&x->created);
    ops->attach(ts);
    for (int i = 1; i < RACE_NOBJS; i += 2)   /* odd objects: our own shared reference */
        ops->incref(ts, x->objs[i]);
    ops->detach(ts);
    race_traffic(x->interp, ts, x->objs, RACE_NOBJS, x->traffic);
    ops->attach(ts);
    if (w->early)
        for (int i = 0; i < RACE_NOBJS; i++)
            ops->decref(ts, x->objs[i]);
    ops->detach(ts);
    pthread_barrier_wait(&x->early);
    race_traffic(x->interp, ts, x->objs, RACE_NOBJS, x->traffic);   /* while the owner exits */
    pthread_barrier_wait(&x->gone);
    if (!w->early) {
        /* Early droppers hold nothing any more; late ones still keep every
         * object alive, so the traffic is safe. */
        race_traffic(x->interp, ts, x->objs, RACE_NOBJS, x->traffic);
        ops->attach(ts);
        for (int i = 0; i < RACE_NOBJS; i++)
            ops->decref(ts, x->objs[i]);
        ops->detach(ts);
    }
    tstate_delete(ts);
    return NULL;
}

static inline void race_owner_exit(heap_kind_t heap, const race_sizes_t *sz)
{
    for (int round = 0; round < sz->exit_rounds; round++) {
        lab_t l = lab_open(GUARD_biased, heap, true);
        race_exit_t x = {.interp = l.interp, .traffic = sz->exit_traffic};
        CHECK(pthread_barrier_init(&x.created, NULL, RACE_W + 1) == 0, "pthread_barrier_init");
        CHECK(pthread_barrier_init(&x.early, NULL, RACE_W + 1) == 0, "pthread_barrier_init");
        CHECK(pthread_barrier_init(&x.gone, NULL, RACE_W + 1) == 0, "pthread_barrier_init");
        pthread_t owner, th[RACE_W];
        race_xworker_t ws[RACE_W];
        race_start(&owner, race_exit_owner_main, &x);
        for (int i = 0; i < RACE_W; i++) {
            ws[i] = (race_xworker_t){.x = &x, .early = i % 2};
            race_start(&th[i], race_exit_worker_main, &ws[i]);
        }
        race_join(owner);
        for (int i = 0; i < RACE_W; i++)
            race_join(th[i]);
        pthread_barrier_destroy(&x.created);
        pthread_barrier_destroy(&x.early);
        pthread_barrier_destroy(&x.gone);

        /* Allocated RACE_NOBJS, freed exactly RACE_NOBJS (a double free
         * would count twice, and ASan would see it): all threads are gone,
         * so the totals are final. */
        interp_t *in = l.interp;
        CHECK(in->gone_allocated - in->gone_freed == 0, "owner exit (%s, round %d): %lld alive",
              heap_kind_name(heap), round, (long long)(in->gone_allocated - in->gone_freed));
        CHECK(in->gone_allocated == RACE_NOBJS, "owner exit: %llu allocated",
              (unsigned long long)in->gone_allocated);
        CHECK(in->gone_freed == RACE_NOBJS, "owner exit (round %d): %llu frees for %d objects", round,
              (unsigned long long)in->gone_freed, RACE_NOBJS);
        CHECK(interp_live_objects(in) == l.live0, "owner exit (round %d): live objects", round);
        lab_close(&l);
    }
}

#endif
