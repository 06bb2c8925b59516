/* tests/tsan_guards.c: refcount exactness of the thread-safe guards (gil,
 * atomic, biased) as a plain program, meant to run under ThreadSanitizer
 * (Criterion does not). Exits 0 and prints one line per guard on success;
 * exits 1 with a message at the first failed check. TSan itself fails the
 * run on any data race it sees in the code under test.
 *
 * Per guard:
 *   1. hammer: 4 threads plus the owning main thread incref/decref a list
 *      and large ints the main thread created, in batches (attached, so
 *      holding the GIL under gil, polling the eval breaker like the
 *      interpreter loop); each worker then drops a reference the main
 *      thread handed it (under biased: the queue-and-merge path). Counts
 *      end exact, and the last decref frees every object exactly once.
 *   2. concurrent list.append on one list: no append lost or duplicated.
 *   3. real bytecode: the `shared` workload run by 4 threads, counts exact
 *      afterwards, with immortal statics and with --no-immortal.
 *   4. immortal objects are bit-for-bit unchanged by concurrent traffic.
 *   5. biased only: the owner exits while other threads still hold and use
 *      its objects; half drop theirs before it exits (queued to it, merged
 *      by tstate_delete), half after (merged on the spot); some objects
 *      are merged at a zero local count with shared references left.
 *
 * Allocators: malloc (which TSan intercepts) and the lab's pymalloc (built
 * with TSan, locked under atomic/biased, GIL-protected under gil). Not
 * mimalloc: the system library is not instrumented, so TSan cannot see its
 * internal synchronisation and reports a block's reuse by another thread
 * as a race with its previous owner's writes.
 *
 * Sized to finish in a few seconds under TSan on 2 cores.
 */
#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gil/brc.h"
#include "lab/code.h"
#include "lab/interp.h"
#include "lab/object.h"
#include "workloads/workload.h"

#define W 4
#define ITERATIONS 40000
#define BATCH 1000
#define NINTS 6
#define NITEMS 6
#define NOBJS (1 + NITEMS + NINTS)

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "tsan_guards: FAILED: %s (%s:%d): ", #cond,        \
                    __FILE__, __LINE__);                                       \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

#define PCHECK(call) CHECK((call) == 0, "%s", #call)

typedef struct lab {
    interp_t *interp;
    tstate_t *ts;   /* the main thread's, detached between uses */
    const guard_ops_t *ops;
    bool biased;
    const char *what;
} lab_t;

static lab_t lab_open(guard_kind_t guard, heap_kind_t heap, bool immortal)
{
    lab_t l;
    char err[200] = "";
    interp_config_t cfg = {.guard = guard, .allocator = heap, .immortal = immortal, .switch_interval_us = 200};
    l.interp = malloc(sizeof(*l.interp));
    CHECK(l.interp != NULL, "out of memory");
    CHECK(interp_init(l.interp, &cfg, err, sizeof(err)) == 0, "interp_init: %s", err);
    l.ts = tstate_new(l.interp);
    CHECK(l.ts != NULL, "tstate_new");
    l.ops = l.interp->ops;
    l.biased = guard == GUARD_biased;
    l.what = guard_name(guard);
    return l;
}

static void lab_close(lab_t *l)
{
    l->ops->attach(l->ts);
    interp_clear_globals(l->ts);
    l->ops->detach(l->ts);
    tstate_delete(l->ts);
    CHECK(interp_live_objects(l->interp) == 0, "%s: %lld objects leaked", l->what,
          (long long)interp_live_objects(l->interp));
    interp_destroy(l->interp);
    free(l->interp);
}

static intptr_t rc(const lab_t *l, const obj_t *o) { return obj_refcount(o, l->biased); }

static void poll_breaker(interp_t *in, tstate_t *ts)
{
    uint32_t bits = __atomic_load_n(&ts->eval_breaker, __ATOMIC_RELAXED);
    if (in->guard == GUARD_gil && (bits & EB_GIL_DROP_REQUEST))
        gil_yield(&in->gil, &ts->gil);
    if (in->guard == GUARD_biased && (bits & EB_BRC_MERGE)) {
        __atomic_fetch_and(&ts->eval_breaker, ~EB_BRC_MERGE, __ATOMIC_RELAXED);
        brc_merge_queue(ts);
    }
}

/* `n` balanced incref/decref pairs in attached batches. */
static void traffic(interp_t *in, tstate_t *ts, obj_t *const *objs, int nobjs, int n)
{
    const guard_ops_t *ops = in->ops;
    for (int done = 0; done < n; done += BATCH) {
        ops->attach(ts);
        for (int k = 0; k < BATCH; k++)
            ops->incref(ts, objs[(done + k) % nobjs]);
        poll_breaker(in, ts);
        for (int k = 0; k < BATCH; k++)
            ops->decref(ts, objs[(done + k) % nobjs]);
        ops->detach(ts);
    }
}

/* A list of NITEMS large ints plus NINTS large ints, owned by `ts`. */
static void make_objects(const guard_ops_t *ops, tstate_t *ts, obj_t **objs, int64_t base)
{
    obj_t *list = ops->list_new(ts, 0);
    CHECK(list != NULL, "list_new");
    objs[0] = list;
    for (int i = 0; i < NITEMS; i++) {
        objs[1 + i] = ops->int_new(ts, base + i);
        CHECK(objs[1 + i] != NULL && ops->list_append(ts, list, objs[1 + i]) == 0, "append");
    }
    for (int i = 0; i < NINTS; i++)
        objs[1 + NITEMS + i] = ops->int_new(ts, base + 1000 + i);
}

/* ---- 1. hammer ------------------------------------------------------------------ */

typedef struct hammer {
    interp_t *interp;
    obj_t *objs[NOBJS];
    pthread_barrier_t start;
} hammer_t;

typedef struct hworker {
    alignas(64) hammer_t *h;
    tstate_t *ts;   /* NULL: create one, and drop a handed reference */
} hworker_t;

static void *hammer_main(void *p)
{
    hworker_t *w = p;
    hammer_t *h = w->h;
    tstate_t *ts = w->ts != NULL ? w->ts : tstate_new(h->interp);
    CHECK(ts != NULL, "tstate_new");
    pthread_barrier_wait(&h->start);
    traffic(h->interp, ts, h->objs, NOBJS, ITERATIONS);
    if (w->ts == NULL) {
        h->interp->ops->attach(ts);
        for (int i = 0; i < NOBJS; i++)
            h->interp->ops->decref(ts, h->objs[i]);
        h->interp->ops->detach(ts);
        tstate_delete(ts);
    }
    return NULL;
}

static void check_hammer(guard_kind_t g, heap_kind_t heap)
{
    lab_t l = lab_open(g, heap, true);
    hammer_t h = {.interp = l.interp};
    l.ops->attach(l.ts);
    make_objects(l.ops, l.ts, h.objs, 100000);
    for (int i = 0; i < NOBJS; i++)
        for (int k = 0; k < W; k++)
            l.ops->incref(l.ts, h.objs[i]);
    l.ops->detach(l.ts);
    int64_t live0 = interp_live_objects(l.interp);

    PCHECK(pthread_barrier_init(&h.start, NULL, W + 1));
    pthread_t th[W];
    hworker_t ws[W + 1];
    for (int i = 0; i < W; i++) {
        ws[i] = (hworker_t){.h = &h, .ts = NULL};
        PCHECK(pthread_create(&th[i], NULL, hammer_main, &ws[i]));
    }
    ws[W] = (hworker_t){.h = &h, .ts = l.ts};
    hammer_main(&ws[W]);
    for (int i = 0; i < W; i++)
        PCHECK(pthread_join(th[i], NULL));
    pthread_barrier_destroy(&h.start);

    l.ops->attach(l.ts);
    l.ops->detach(l.ts);   /* biased: merge what the workers queued to us */
    for (int i = 0; i < NOBJS; i++)
        CHECK(rc(&l, h.objs[i]) == 1, "%s/%s hammer: object %d count %ld, expected 1", l.what,
              heap_kind_name(heap), i, (long)rc(&l, h.objs[i]));
    CHECK(interp_live_objects(l.interp) == live0, "%s hammer: freed early", l.what);

    l.ops->attach(l.ts);
    uint64_t freed0 = l.ts->objects_freed;
    l.ops->decref(l.ts, h.objs[0]);
    for (int i = 0; i < NINTS; i++)
        l.ops->decref(l.ts, h.objs[1 + NITEMS + i]);
    l.ops->detach(l.ts);
    CHECK(l.ts->objects_freed - freed0 == NOBJS, "%s hammer: %llu frees for %d objects", l.what,
          (unsigned long long)(l.ts->objects_freed - freed0), NOBJS);
    lab_close(&l);
}

/* ---- 2. concurrent list.append ---------------------------------------------------- */

#define APPENDS 5000

typedef struct aworker {
    alignas(64) interp_t *interp;
    obj_t *list;
    int index;
    int failures;
} aworker_t;

static void *append_main(void *p)
{
    aworker_t *a = p;
    const guard_ops_t *ops = a->interp->ops;
    tstate_t *ts = tstate_new(a->interp);
    CHECK(ts != NULL, "tstate_new");
    for (int done = 0; done < APPENDS; done += BATCH) {
        ops->attach(ts);
        for (int k = 0; k < BATCH; k++) {
            obj_t *v = ops->int_new(ts, 1000000 * (a->index + 1) + done + k);
            if (v == NULL || ops->list_append(ts, a->list, v) < 0)
                a->failures++;
        }
        poll_breaker(a->interp, ts);
        ops->detach(ts);
    }
    tstate_delete(ts);
    return NULL;
}

static void check_append(guard_kind_t g, heap_kind_t heap)
{
    lab_t l = lab_open(g, heap, true);
    l.ops->attach(l.ts);
    obj_t *list = l.ops->list_new(l.ts, 0);
    l.ops->detach(l.ts);
    aworker_t ws[W];
    pthread_t th[W];
    for (int i = 0; i < W; i++) {
        ws[i] = (aworker_t){.interp = l.interp, .list = list, .index = i};
        PCHECK(pthread_create(&th[i], NULL, append_main, &ws[i]));
    }
    for (int i = 0; i < W; i++)
        PCHECK(pthread_join(th[i], NULL));
    list_obj_t *lo = (list_obj_t *)list;
    CHECK(lo->size == W * APPENDS, "%s append: %ld items, expected %d", l.what, (long)lo->size, W * APPENDS);
    int64_t next[W] = {0};
    for (intptr_t i = 0; i < lo->size; i++) {
        int64_t v = int_value(lo->items[i]);
        int t = (int)(v / 1000000) - 1;
        CHECK(t >= 0 && t < W && v % 1000000 == next[t], "%s append: item %ld is %lld", l.what, (long)i,
              (long long)v);
        next[t]++;
    }
    for (int i = 0; i < W; i++)
        CHECK(ws[i].failures == 0, "%s append: failures", l.what);
    l.ops->attach(l.ts);
    l.ops->decref(l.ts, list);
    l.ops->detach(l.ts);
    lab_close(&l);
}

/* ---- 3. the shared workload ---------------------------------------------------------- */

typedef struct eworker {
    alignas(64) interp_t *interp;
    const code_t *code;
    obj_t *result;
    char error[TSTATE_ERROR_LEN];
} eworker_t;

static void *eval_main(void *p)
{
    eworker_t *e = p;
    const guard_ops_t *ops = e->interp->ops;
    tstate_t *ts = tstate_new(e->interp);
    CHECK(ts != NULL, "tstate_new");
    ops->attach(ts);
    obj_t *arg = ops->int_new(ts, 20000);
    e->result = arg != NULL ? ops->eval(ts, e->code, &arg, 1) : NULL;
    snprintf(e->error, sizeof(e->error), "%s", ts->error);
    if (e->result != NULL)
        ops->decref(ts, e->result);
    ops->detach(ts);
    tstate_delete(ts);
    return NULL;
}

static void check_shared_workload(guard_kind_t g, heap_kind_t heap, bool immortal)
{
    lab_t l = lab_open(g, heap, immortal);
    int64_t params[WL_MAX_PARAMS] = {16};
    code_t c;
    char err[200] = "";
    CHECK(wl_shared.build(&c, params) == 0 && code_check(&c, err, sizeof(err)) == 0, "shared: %s", err);
    l.ops->attach(l.ts);
    CHECK(wl_shared.setup(l.ts, params) == 0, "setup: %s", l.ts->error);
    l.ops->detach(l.ts);
    obj_t *list = l.interp->globals[0];
    int64_t live0 = interp_live_objects(l.interp);
    eworker_t ws[W];
    pthread_t th[W];
    for (int i = 0; i < W; i++) {
        ws[i] = (eworker_t){.interp = l.interp, .code = &c};
        PCHECK(pthread_create(&th[i], NULL, eval_main, &ws[i]));
    }
    for (int i = 0; i < W; i++)
        PCHECK(pthread_join(th[i], NULL));
    for (int i = 0; i < W; i++)
        CHECK(ws[i].result == &l.interp->none, "%s shared: worker %d: %s", l.what, i, ws[i].error);
    l.ops->attach(l.ts);
    l.ops->detach(l.ts);
    CHECK(rc(&l, list) == 1, "%s shared: L's count %ld", l.what, (long)rc(&l, list));
    CHECK(interp_live_objects(l.interp) == live0, "%s shared: leak", l.what);
    if (!immortal) {
        interp_t *in = l.interp;
        for (int v = 0; v < 16; v++)
            CHECK(rc(&l, &in->small_ints[v - SMALL_INT_MIN].ob) == 2, "%s shared --no-immortal: item %d", l.what, v);
        CHECK(rc(&l, &in->true_obj.ob) == 1 && rc(&l, &in->false_obj.ob) == 1 && rc(&l, &in->none) == 1,
              "%s shared --no-immortal: singletons", l.what);
        CHECK(rc(&l, &in->small_ints[1 - SMALL_INT_MIN].ob) == 2, "%s shared --no-immortal: 1", l.what);
    }
    lab_close(&l);
}

/* ---- 4. immortal objects ----------------------------------------------------------------- */

typedef struct iworker {
    alignas(64) interp_t *interp;
    obj_t **objs;
    int n;
} iworker_t;

static void *immortal_main(void *p)
{
    iworker_t *a = p;
    tstate_t *ts = tstate_new(a->interp);
    CHECK(ts != NULL, "tstate_new");
    traffic(a->interp, ts, a->objs, a->n, ITERATIONS / 4);
    tstate_delete(ts);
    return NULL;
}

static void check_immortal(guard_kind_t g)
{
    lab_t l = lab_open(g, HEAP_malloc, true);
    interp_t *in = l.interp;
    obj_t *objs[] = {&in->none, &in->true_obj.ob, &in->false_obj.ob, &in->small_ints[0].ob,
                     &in->small_ints[SMALL_INT_COUNT - 1].ob};
    enum { N = sizeof(objs) / sizeof(objs[0]) };
    obj_t before[N];
    for (int i = 0; i < N; i++)
        before[i] = *objs[i];
    iworker_t ws[W];
    pthread_t th[W];
    for (int i = 0; i < W; i++) {
        ws[i] = (iworker_t){.interp = in, .objs = objs, .n = N};
        PCHECK(pthread_create(&th[i], NULL, immortal_main, &ws[i]));
    }
    for (int i = 0; i < W; i++)
        PCHECK(pthread_join(th[i], NULL));
    for (int i = 0; i < N; i++)
        CHECK(objs[i]->refcnt == before[i].refcnt && objs[i]->ref_local == before[i].ref_local &&
                  objs[i]->tid == before[i].tid,
              "%s: immortal object %d changed", l.what, i);
    lab_close(&l);
}

/* ---- 5. biased: the owner exits while others hold references ------------------------------ */

typedef struct exit_ctx {
    interp_t *interp;
    obj_t *objs[NOBJS];
    pthread_barrier_t created, early, gone;
} exit_ctx_t;

typedef struct xworker {
    alignas(64) exit_ctx_t *x;
    int early;
} xworker_t;

static void *exit_owner_main(void *p)
{
    exit_ctx_t *x = p;
    const guard_ops_t *ops = x->interp->ops;
    tstate_t *ts = tstate_new(x->interp);
    CHECK(ts != NULL, "tstate_new");
    ops->attach(ts);
    make_objects(ops, ts, x->objs, 300000);
    /* Even objects: the workers' references come out of our local count. */
    for (int i = 0; i < NOBJS; i += 2)
        for (int k = 0; k < W; k++)
            ops->incref(ts, x->objs[i]);
    pthread_barrier_wait(&x->created);
    pthread_barrier_wait(&x->early);
    traffic(x->interp, ts, x->objs, NOBJS, 5 * BATCH);
    /* Drop our own references (the list holds the items'): odd objects hit
     * a zero local count with shared references left, and merge. */
    ops->decref(ts, x->objs[0]);
    for (int i = 0; i < NINTS; i++)
        ops->decref(ts, x->objs[1 + NITEMS + i]);
    ops->detach(ts);
    tstate_delete(ts);   /* merges what early droppers queued to us */
    pthread_barrier_wait(&x->gone);
    return NULL;
}

static void *exit_worker_main(void *p)
{
    xworker_t *w = p;
    exit_ctx_t *x = w->x;
    const guard_ops_t *ops = x->interp->ops;
    tstate_t *ts = tstate_new(x->interp);
    CHECK(ts != NULL, "tstate_new");
    pthread_barrier_wait(&x->created);
    for (int i = 1; i < NOBJS; i += 2)   /* odd objects: our own shared reference */
        ops->incref(ts, x->objs[i]);
    traffic(x->interp, ts, x->objs, NOBJS, 5 * BATCH);
    if (w->early)
        for (int i = 0; i < NOBJS; i++)
            ops->decref(ts, x->objs[i]);
    pthread_barrier_wait(&x->early);
    /* The late droppers keep every object alive until `gone`. */
    traffic(x->interp, ts, x->objs, NOBJS, 5 * BATCH);
    pthread_barrier_wait(&x->gone);
    if (!w->early) {
        traffic(x->interp, ts, x->objs, NOBJS, 5 * BATCH);
        for (int i = 0; i < NOBJS; i++)
            ops->decref(ts, x->objs[i]);
    }
    tstate_delete(ts);
    return NULL;
}

static void check_owner_exit(heap_kind_t heap)
{
    for (int round = 0; round < 3; round++) {
        lab_t l = lab_open(GUARD_biased, heap, true);
        exit_ctx_t x = {.interp = l.interp};
        PCHECK(pthread_barrier_init(&x.created, NULL, W + 1));
        PCHECK(pthread_barrier_init(&x.early, NULL, W + 1));
        PCHECK(pthread_barrier_init(&x.gone, NULL, W + 1));
        pthread_t owner, th[W];
        xworker_t ws[W];
        PCHECK(pthread_create(&owner, NULL, exit_owner_main, &x));
        for (int i = 0; i < W; i++) {
            ws[i] = (xworker_t){.x = &x, .early = i % 2};
            PCHECK(pthread_create(&th[i], NULL, exit_worker_main, &ws[i]));
        }
        PCHECK(pthread_join(owner, NULL));
        for (int i = 0; i < W; i++)
            PCHECK(pthread_join(th[i], NULL));
        pthread_barrier_destroy(&x.created);
        pthread_barrier_destroy(&x.early);
        pthread_barrier_destroy(&x.gone);
        CHECK(l.interp->gone_allocated == NOBJS, "owner exit: %llu allocated",
              (unsigned long long)l.interp->gone_allocated);
        CHECK(l.interp->gone_freed == NOBJS, "owner exit (round %d): %llu frees for %d objects", round,
              (unsigned long long)l.interp->gone_freed, NOBJS);
        lab_close(&l);
    }
}

int main(void)
{
    static const guard_kind_t guards[] = {GUARD_gil, GUARD_atomic, GUARD_biased};
    static const heap_kind_t heaps[] = {HEAP_malloc, HEAP_pymalloc};
    for (size_t gi = 0; gi < sizeof(guards) / sizeof(guards[0]); gi++) {
        guard_kind_t g = guards[gi];
        for (size_t hi = 0; hi < sizeof(heaps) / sizeof(heaps[0]); hi++) {
            check_hammer(g, heaps[hi]);
            check_append(g, heaps[hi]);
            check_shared_workload(g, heaps[hi], hi == 0);
        }
        check_immortal(g);
        if (g == GUARD_biased)
            for (size_t hi = 0; hi < sizeof(heaps) / sizeof(heaps[0]); hi++)
                check_owner_exit(heaps[hi]);
        printf("tsan_guards: %s: ok (hammer %dx%d + owner, append %dx%d, shared workload, immortal%s)\n",
               guard_name(g), W, ITERATIONS, W, APPENDS, g == GUARD_biased ? ", owner exit" : "");
    }
    return 0;
}
