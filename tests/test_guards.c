/* tests/test_guards.c: refcount exactness under concurrency for the
 * thread-safe guards (gil, atomic, biased), and the paths of biased
 * reference counting one by one (gil/guard_biased.c, gil/brc.c).
 *
 *   - hammer: W threads (plus the owning main thread) incref/decref a set
 *     of shared objects (a list and large ints, created by the main
 *     thread) many times; each worker also drops one reference the main
 *     thread handed it. At the end the counts are exact, and dropping the
 *     last reference frees every object exactly once.
 *   - the same with real bytecode: the `shared` workload run by W threads,
 *     then through the runner (mode threads).
 *   - concurrent list.append on one list (per-object lock, or the GIL).
 *   - immortal objects are untouched by heavy concurrent traffic.
 *   - biased, step by step with several thread states driven from one OS
 *     thread (the guard only looks at ts->id): owner fast path, shared
 *     path, queue and merge, merge at zero local count, owner exit.
 *   - biased owner exit with real threads still holding references.
 *
 * Under the gil guard a thread touches counts only while it holds the GIL:
 * it attaches, does a batch of operations, polls its eval breaker as the
 * interpreter loop does, and detaches. Criterion assertions are made in the
 * main thread only, after joining; workers count violations instead.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gil/brc.h"
#include "lab/code.h"
#include "lab/interp.h"
#include "lab/object.h"
#include "runners/runner.h"
#include "workloads/workload.h"

#define W 4             /* worker threads */
#define ITERATIONS 200000
#define BATCH 1000
#define NINTS 8         /* standalone large ints */
#define NITEMS 8        /* large ints inside the list */
#define NOBJS (1 + NITEMS + NINTS)

static const guard_kind_t threadsafe[] = {GUARD_gil, GUARD_atomic, GUARD_biased};

typedef struct lab {
    interp_t *interp;
    tstate_t *ts;
    const guard_ops_t *ops;
    bool biased;
} lab_t;

/* An interpreter and the main thread's state (detached). */
static lab_t lab_open(guard_kind_t guard, heap_kind_t heap, bool immortal)
{
    lab_t l;
    char err[200] = "";
    interp_config_t cfg = {.guard = guard, .allocator = heap, .immortal = immortal, .switch_interval_us = 200};
    l.interp = malloc(sizeof(*l.interp));
    cr_assert_not_null(l.interp);
    cr_assert_eq(interp_init(l.interp, &cfg, err, sizeof(err)), 0, "interp_init: %s", err);
    l.ts = tstate_new(l.interp);
    cr_assert_not_null(l.ts);
    l.ops = l.interp->ops;
    l.biased = guard == GUARD_biased;
    return l;
}

static void lab_close(lab_t *l)
{
    l->ops->attach(l->ts);
    interp_clear_globals(l->ts);
    l->ops->detach(l->ts);
    tstate_delete(l->ts);
    cr_assert_eq(interp_live_objects(l->interp), 0, "%s: leak at close", guard_name(l->interp->guard));
    interp_destroy(l->interp);
    free(l->interp);
}

static intptr_t rc(const lab_t *l, const obj_t *o) { return obj_refcount(o, l->biased); }

/* What the interpreter loop does on a backward jump, for the guards whose
 * handler is internal: give the GIL away when asked, merge queued objects. */
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

/* Balanced traffic: `n` incref/decref pairs over objs, in batches, each
 * batch with the thread attached (holding the GIL under gil). */
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

/* ---- the hammer ------------------------------------------------------------ */

typedef struct hammer {
    interp_t *interp;
    obj_t *objs[NOBJS];
    pthread_barrier_t start;
} hammer_t;

typedef struct worker {
    alignas(64) hammer_t *h;
    tstate_t *ts;           /* the owner's, for the main thread's run */
    int own_ts;             /* create and delete a thread state */
} worker_t;

static void *hammer_main(void *p)
{
    worker_t *w = p;
    hammer_t *h = w->h;
    tstate_t *ts = w->own_ts ? tstate_new(h->interp) : w->ts;
    pthread_barrier_wait(&h->start);
    traffic(h->interp, ts, h->objs, NOBJS, ITERATIONS);
    if (w->own_ts) {
        /* Drop the reference the main thread handed us: under biased it
         * was counted by the owner, so this goes through the queue. */
        h->interp->ops->attach(ts);
        for (int i = 0; i < NOBJS; i++)
            h->interp->ops->decref(ts, h->objs[i]);
        h->interp->ops->detach(ts);
        tstate_delete(ts);
    }
    return NULL;
}

/* Main builds the objects, hands one reference per object to each worker,
 * hammers as the owner alongside the workers, then checks and frees. */
static void hammer_run(guard_kind_t g, heap_kind_t heap)
{
    lab_t l = lab_open(g, heap, true);
    const char *gn = guard_name(g);
    hammer_t h = {.interp = l.interp};
    interp_t *in = l.interp;
    int64_t live0 = interp_live_objects(in);

    l.ops->attach(l.ts);
    obj_t *list = l.ops->list_new(l.ts, 0);
    h.objs[0] = list;
    for (int i = 0; i < NITEMS; i++) {
        obj_t *it = l.ops->int_new(l.ts, 100000 + i);
        cr_assert_eq(l.ops->list_append(l.ts, list, it), 0);
        h.objs[1 + i] = it;
    }
    for (int i = 0; i < NINTS; i++)
        h.objs[1 + NITEMS + i] = l.ops->int_new(l.ts, 200000 + i);
    for (int i = 0; i < NOBJS; i++)
        for (int k = 0; k < W; k++)
            l.ops->incref(l.ts, h.objs[i]);
    for (int i = 0; i < NOBJS; i++)
        cr_assert_eq(rc(&l, h.objs[i]), 1 + W);
    l.ops->detach(l.ts);

    cr_assert_eq(pthread_barrier_init(&h.start, NULL, W + 1), 0);
    pthread_t th[W];
    worker_t ws[W + 1];
    for (int i = 0; i < W; i++) {
        ws[i] = (worker_t){.h = &h, .own_ts = 1};
        cr_assert_eq(pthread_create(&th[i], NULL, hammer_main, &ws[i]), 0);
    }
    ws[W] = (worker_t){.h = &h, .ts = l.ts, .own_ts = 0};
    hammer_main(&ws[W]);
    for (int i = 0; i < W; i++)
        cr_assert_eq(pthread_join(th[i], NULL), 0);
    pthread_barrier_destroy(&h.start);

    /* Under biased the workers' handed references were queued to us: merge
     * them (detach does, as a thread that stops running bytecode). */
    l.ops->attach(l.ts);
    l.ops->detach(l.ts);
    cr_assert_eq(__atomic_load_n(&l.ts->brc.count, __ATOMIC_RELAXED), 0);
    for (int i = 0; i < NOBJS; i++)
        cr_assert_eq(rc(&l, h.objs[i]), 1, "%s/%s: object %d ends with count %ld, not 1", gn,
                     heap_kind_name(heap), i, (long)rc(&l, h.objs[i]));
    cr_assert_eq(interp_live_objects(in), live0 + NOBJS, "%s: nothing freed early", gn);
    if (l.biased) {
        cr_assert_gt(l.ts->brc_merged, 0, "biased: handed references went through the queue");
        for (int i = 0; i < NOBJS; i++)
            cr_assert_eq(h.objs[i]->refcnt & BRC_FLAG_MASK, BRC_MERGED, "object %d merged", i);
    }

    uint64_t freed0 = 0;
    l.ops->attach(l.ts);
    freed0 = l.ts->objects_freed;
    l.ops->decref(l.ts, list);   /* frees the list and its items */
    for (int i = 0; i < NINTS; i++)
        l.ops->decref(l.ts, h.objs[1 + NITEMS + i]);
    l.ops->detach(l.ts);
    cr_assert_eq(l.ts->objects_freed - freed0, NOBJS, "%s: every object freed exactly once", gn);
    cr_assert_eq(interp_live_objects(in), live0, "%s", gn);
    lab_close(&l);
}

Test(guards, hammer_default_allocator)
{
    for (size_t i = 0; i < sizeof(threadsafe) / sizeof(threadsafe[0]); i++)
        hammer_run(threadsafe[i], guard_get(threadsafe[i])->default_allocator);
}

Test(guards, hammer_malloc)
{
    for (size_t i = 0; i < sizeof(threadsafe) / sizeof(threadsafe[0]); i++)
        hammer_run(threadsafe[i], HEAP_malloc);
}

/* ---- immortal objects under concurrent traffic ----------------------------- */

typedef struct imm_arg {
    interp_t *interp;
    obj_t **objs;
    int n;
} imm_arg_t;

static void *immortal_main(void *p)
{
    imm_arg_t *a = p;
    tstate_t *ts = tstate_new(a->interp);
    traffic(a->interp, ts, a->objs, a->n, ITERATIONS);
    /* More decrefs than increfs: harmless only because they are immortal. */
    a->interp->ops->attach(ts);
    for (int k = 0; k < BATCH; k++)
        a->interp->ops->decref(ts, a->objs[k % a->n]);
    a->interp->ops->detach(ts);
    tstate_delete(ts);
    return NULL;
}

Test(guards, immortal_untouched_by_concurrent_traffic)
{
    for (size_t gi = 0; gi < sizeof(threadsafe) / sizeof(threadsafe[0]); gi++) {
        lab_t l = lab_open(threadsafe[gi], HEAP_malloc, true);
        interp_t *in = l.interp;
        obj_t *objs[] = {&in->none, &in->true_obj.ob, &in->false_obj.ob, &in->small_ints[0].ob,
                         &in->small_ints[5 + 1].ob, &in->small_ints[SMALL_INT_COUNT - 1].ob};
        enum { N = sizeof(objs) / sizeof(objs[0]) };
        obj_t before[N];
        for (int i = 0; i < N; i++)
            before[i] = *objs[i];
        imm_arg_t a = {.interp = in, .objs = objs, .n = N};
        pthread_t th[W];
        for (int i = 0; i < W; i++)
            cr_assert_eq(pthread_create(&th[i], NULL, immortal_main, &a), 0);
        for (int i = 0; i < W; i++)
            cr_assert_eq(pthread_join(th[i], NULL), 0);
        for (int i = 0; i < N; i++) {
            cr_assert_eq(objs[i]->refcnt, before[i].refcnt, "%s: immortal %d refcnt", guard_name(in->guard), i);
            cr_assert_eq(objs[i]->ref_local, before[i].ref_local);
            cr_assert_eq(objs[i]->tid, before[i].tid);
        }
        lab_close(&l);
    }
}

/* ---- concurrent list.append ------------------------------------------------- */

#define APPENDS 20000

typedef struct append_arg {
    alignas(64) interp_t *interp;
    obj_t *list;
    int index;
    int failures;
} append_arg_t;

static void *append_main(void *p)
{
    append_arg_t *a = p;
    const guard_ops_t *ops = a->interp->ops;
    tstate_t *ts = tstate_new(a->interp);
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

Test(guards, concurrent_list_append)
{
    for (size_t gi = 0; gi < sizeof(threadsafe) / sizeof(threadsafe[0]); gi++) {
        lab_t l = lab_open(threadsafe[gi], HEAP_malloc, true);
        const char *gn = guard_name(threadsafe[gi]);
        l.ops->attach(l.ts);
        obj_t *list = l.ops->list_new(l.ts, 0);
        l.ops->detach(l.ts);
        append_arg_t args[W];
        pthread_t th[W];
        for (int i = 0; i < W; i++) {
            args[i] = (append_arg_t){.interp = l.interp, .list = list, .index = i};
            cr_assert_eq(pthread_create(&th[i], NULL, append_main, &args[i]), 0);
        }
        for (int i = 0; i < W; i++)
            cr_assert_eq(pthread_join(th[i], NULL), 0);
        for (int i = 0; i < W; i++)
            cr_assert_eq(args[i].failures, 0);

        list_obj_t *lo = (list_obj_t *)list;
        cr_assert_eq(lo->size, W * APPENDS, "%s: %ld items, expected %d: appends were lost", gn,
                     (long)lo->size, W * APPENDS);
        /* Each thread's items appear once, in that thread's order. */
        int64_t next[W] = {0};
        for (intptr_t i = 0; i < lo->size; i++) {
            int64_t v = int_value(lo->items[i]);
            int t = (int)(v / 1000000) - 1;
            cr_assert(t >= 0 && t < W, "%s: bad item %lld", gn, (long long)v);
            cr_assert_eq(v % 1000000, next[t], "%s: thread %d's items out of order or duplicated", gn, t);
            next[t]++;
            cr_assert_eq(rc(&l, lo->items[i]), 1);
        }
        cr_assert_eq(interp_live_objects(l.interp), 1 + W * APPENDS);
        l.ops->attach(l.ts);
        l.ops->decref(l.ts, list);
        l.ops->detach(l.ts);
        lab_close(&l);
    }
}

/* ---- real bytecode: the shared workload by W threads ------------------------- */

typedef struct eval_arg {
    alignas(64) interp_t *interp;
    const code_t *code;
    int64_t share;
    obj_t *result;
    char error[TSTATE_ERROR_LEN];
} eval_arg_t;

static void *eval_main(void *p)
{
    eval_arg_t *a = p;
    const guard_ops_t *ops = a->interp->ops;
    tstate_t *ts = tstate_new(a->interp);
    ops->attach(ts);
    obj_t *arg = ops->int_new(ts, a->share);
    a->result = ops->eval(ts, a->code, &arg, 1);
    snprintf(a->error, sizeof(a->error), "%s", ts->error);
    if (a->result != NULL)
        ops->decref(ts, a->result);
    ops->detach(ts);
    tstate_delete(ts);
    return NULL;
}

Test(guards, shared_workload_threads_exact)
{
    for (size_t gi = 0; gi < sizeof(threadsafe) / sizeof(threadsafe[0]); gi++) {
        for (int imm = 0; imm < 2; imm++) {
            guard_kind_t g = threadsafe[gi];
            lab_t l = lab_open(g, guard_get(g)->default_allocator, imm);
            const char *gn = guard_name(g);
            int64_t params[WL_MAX_PARAMS] = {16};
            code_t c;
            cr_assert_eq(wl_shared.build(&c, params), 0);
            char err[200] = "";
            cr_assert_eq(code_check(&c, err, sizeof(err)), 0, "%s", err);
            l.ops->attach(l.ts);
            cr_assert_eq(wl_shared.setup(l.ts, params), 0, "%s", l.ts->error);
            l.ops->detach(l.ts);
            obj_t *list = l.interp->globals[0];
            int64_t live0 = interp_live_objects(l.interp);

            eval_arg_t args[W];
            pthread_t th[W];
            for (int i = 0; i < W; i++) {
                args[i] = (eval_arg_t){.interp = l.interp, .code = &c, .share = 100000};
                cr_assert_eq(pthread_create(&th[i], NULL, eval_main, &args[i]), 0);
            }
            for (int i = 0; i < W; i++)
                cr_assert_eq(pthread_join(th[i], NULL), 0);
            for (int i = 0; i < W; i++)
                cr_assert_eq(args[i].result, &l.interp->none, "%s: worker %d: %s", gn, i, args[i].error);

            l.ops->attach(l.ts);
            l.ops->detach(l.ts);   /* biased: merge anything queued to the owner */
            cr_assert_eq(rc(&l, list), 1, "%s%s: L's count is %ld after the run", gn, imm ? "" : " --no-immortal",
                         (long)rc(&l, list));
            cr_assert_eq(interp_live_objects(l.interp), live0, "%s: leak", gn);
            if (!imm) {
                interp_t *in = l.interp;
                for (int v = 0; v < 16; v++)
                    cr_assert_eq(rc(&l, &in->small_ints[v - SMALL_INT_MIN].ob), 2,
                                 "%s --no-immortal: item %d held by L and the interpreter only", gn, v);
                cr_assert_eq(rc(&l, &in->true_obj.ob), 1, "%s --no-immortal: True", gn);
                cr_assert_eq(rc(&l, &in->false_obj.ob), 1, "%s --no-immortal: False", gn);
                cr_assert_eq(rc(&l, &in->none), 1, "%s --no-immortal: None", gn);
            }
            lab_close(&l);   /* clears L: checks that it and its items are freed */
        }
    }
}

Test(guards, shared_workload_through_the_runner)
{
    for (size_t gi = 0; gi < sizeof(threadsafe) / sizeof(threadsafe[0]); gi++) {
        for (int imm = 0; imm < 2; imm++) {
            guard_kind_t g = threadsafe[gi];
            run_spec_t spec = {
                .workload = &wl_shared,
                .params = {64},
                .size = 200000,
                .mode = RUN_MODE_threads,
                .guard = g,
                .allocator = guard_get(g)->default_allocator,
                .workers = W,
                .switch_interval_us = 200,
                .immortal = imm,
                .warmup = 0,
                .repeats = 2,
            };
            run_row_t row;
            char err[300] = "";
            int r = run_row(&spec, &row, NULL, NULL, err, sizeof(err));
            cr_assert_eq(r, 0, "%s%s: %s", guard_name(g), imm ? "" : " --no-immortal", err);
            cr_assert_eq(row.nsamples, 2);
            if (g == GUARD_biased)
                cr_assert_gt(row.samples[0].rc_shared, 0, "workers do not own L");
            if (g == GUARD_gil)
                cr_assert_geq(row.samples[0].gil_acquisitions, W);
            run_row_free(&row);
        }
    }
}

/* ---- biased, path by path ------------------------------------------------------ */

typedef struct bl {
    lab_t l;
    tstate_t *a, *b, *c;   /* thread states: a is the owner */
    int64_t live0;
} bl_t;

static bl_t bl_open(void)
{
    bl_t t;
    t.l = lab_open(GUARD_biased, HEAP_malloc, true);
    t.a = tstate_new(t.l.interp);
    t.b = tstate_new(t.l.interp);
    t.c = tstate_new(t.l.interp);
    cr_assert(t.a && t.b && t.c);
    cr_assert(t.a->id != t.b->id && t.b->id != t.c->id && t.a->id != t.c->id);
    t.live0 = interp_live_objects(t.l.interp);
    return t;
}

static void bl_close(bl_t *t)
{
    if (t->a != NULL)
        tstate_delete(t->a);
    tstate_delete(t->b);
    tstate_delete(t->c);
    cr_assert_eq(interp_live_objects(t->l.interp), t->live0);
    lab_close(&t->l);
}

static uint64_t total_freed(const bl_t *t)
{
    return (t->a ? t->a->objects_freed : 0) + t->b->objects_freed + t->c->objects_freed;
}

Test(biased, owner_fast_path_and_shared_path)
{
    bl_t t = bl_open();
    const guard_ops_t *ops = t.l.ops;
    obj_t *o = ops->int_new(t.a, 1000);
    cr_assert_eq(o->tid, t.a->id, "the creator owns the object");
    cr_assert_eq(o->ref_local, 1);
    cr_assert_eq(o->refcnt, 0);

    /* Owner: ref_local only. */
    ops->incref(t.a, o);
    ops->incref(t.a, o);
    cr_assert_eq(o->ref_local, 3);
    cr_assert_eq(o->refcnt, 0, "the owner never touches the shared field");
    ops->decref(t.a, o);
    cr_assert_eq(o->ref_local, 2);
    cr_assert_eq(o->refcnt, 0);

    /* Non-owners: the shared field, in steps of 1 << 2, state bits intact. */
    uint64_t shared0 = t.b->rc_shared;
    ops->incref(t.b, o);
    cr_assert_eq(o->refcnt, (intptr_t)1 << BRC_SHARED_SHIFT);
    ops->incref(t.c, o);
    cr_assert_eq(o->refcnt, (intptr_t)2 << BRC_SHARED_SHIFT);
    cr_assert_eq(o->ref_local, 2, "non-owners never touch ref_local");
    cr_assert_eq(o->refcnt & BRC_FLAG_MASK, 0);
    cr_assert_eq(obj_refcount(o, true), 4);
    cr_assert_eq(t.b->rc_shared - shared0, 1);
    ops->decref(t.c, o);
    ops->decref(t.b, o);
    cr_assert_eq(o->refcnt, 0);
    cr_assert_eq(o->tid, t.a->id, "still owned");
    cr_assert_eq(obj_refcount(o, true), 2);

    /* The owner's count reaching zero with no shared count: freed at once. */
    uint64_t freed0 = t.a->objects_freed;
    ops->decref(t.a, o);
    ops->decref(t.a, o);
    cr_assert_eq(t.a->objects_freed - freed0, 1);
    bl_close(&t);
}

Test(biased, non_owner_drops_last_reference_queue_and_merge)
{
    bl_t t = bl_open();
    const guard_ops_t *ops = t.l.ops;
    obj_t *o = ops->int_new(t.a, 1000);   /* a's one reference, handed to b */
    uint64_t freed0 = total_freed(&t);

    ops->decref(t.b, o);
    cr_assert_eq(o->refcnt & BRC_FLAG_MASK, BRC_QUEUED, "queued to its owner");
    cr_assert_eq(o->refcnt >> BRC_SHARED_SHIFT, 0, "the queue keeps the reference: not subtracted");
    cr_assert_eq(o->ref_local, 1);
    cr_assert(__atomic_load_n(&t.a->eval_breaker, __ATOMIC_RELAXED) & EB_BRC_MERGE,
              "the owner's eval breaker asks for a merge");
    cr_assert_eq(t.b->brc_queued, 1);
    cr_assert_eq(t.a->brc.count, 1);
    cr_assert_eq(t.a->brc.items[0], o);
    cr_assert_eq(total_freed(&t), freed0, "not freed before the owner merges");
    cr_assert_eq(interp_live_objects(t.l.interp), t.live0 + 1);

    brc_merge_queue(t.a);
    cr_assert_eq(t.a->brc_merged, 1);
    cr_assert_eq(t.a->brc.count, 0);
    cr_assert_eq(total_freed(&t), freed0 + 1, "the merge frees it, once");
    cr_assert_eq(interp_live_objects(t.l.interp), t.live0);
    bl_close(&t);
}

/* The owner merges from its eval breaker while running bytecode. */
Test(biased, owner_merges_from_the_eval_breaker)
{
    bl_t t = bl_open();
    const guard_ops_t *ops = t.l.ops;
    obj_t *objs[10];
    for (int i = 0; i < 10; i++)
        objs[i] = ops->int_new(t.a, 1000 + i);
    ops->incref(t.a, objs[0]);   /* a keeps one reference to objs[0] */
    for (int i = 0; i < 10; i++)
        ops->decref(t.b, objs[i]);
    cr_assert_eq(t.a->brc.count, 10);
    cr_assert_eq(interp_live_objects(t.l.interp), t.live0 + 10);

    code_t c;
    cr_assert_eq(wl_countdown.build(&c, NULL), 0);
    obj_t *arg = ops->int_new(t.a, 10);
    obj_t *r = ops->eval(t.a, &c, &arg, 1);
    cr_assert_eq(r, &t.l.interp->none, "%s", t.a->error);
    cr_assert_eq(t.a->brc.count, 0, "JUMP_BACKWARD polled the breaker and merged");
    cr_assert_eq(__atomic_load_n(&t.a->eval_breaker, __ATOMIC_RELAXED) & EB_BRC_MERGE, 0, "bit cleared");
    cr_assert_eq(t.a->brc_merged, 10);
    cr_assert_eq(interp_live_objects(t.l.interp), t.live0 + 1, "nine freed, objs[0] still referenced");
    cr_assert_eq(objs[0]->refcnt, ((intptr_t)1 << BRC_SHARED_SHIFT) | BRC_MERGED);
    cr_assert_eq(objs[0]->tid, 0, "a merged object has no owner");
    cr_assert_eq(obj_refcount(objs[0], true), 1);
    ops->decref(t.a, objs[0]);   /* no longer the owner: the shared path frees it */
    cr_assert_eq(interp_live_objects(t.l.interp), t.live0);
    bl_close(&t);
}

Test(biased, merge_zero_local_with_shared_references)
{
    bl_t t = bl_open();
    const guard_ops_t *ops = t.l.ops;
    obj_t *o = ops->int_new(t.a, 1000);
    ops->incref(t.b, o);
    ops->incref(t.c, o);
    uint64_t freed0 = total_freed(&t);

    ops->decref(t.a, o);   /* local count 0, shared count 2: merge, don't free */
    cr_assert_eq(total_freed(&t), freed0);
    cr_assert_eq(o->tid, 0, "ownership given up");
    cr_assert_eq(o->ref_local, 0);
    cr_assert_eq(o->refcnt, ((intptr_t)2 << BRC_SHARED_SHIFT) | BRC_MERGED);
    cr_assert_eq(obj_refcount(o, true), 2);

    ops->decref(t.b, o);
    cr_assert_eq(o->refcnt, ((intptr_t)1 << BRC_SHARED_SHIFT) | BRC_MERGED);
    cr_assert_eq(total_freed(&t), freed0);
    ops->incref(t.a, o);   /* the old owner now counts in the shared field too */
    cr_assert_eq(o->refcnt, ((intptr_t)2 << BRC_SHARED_SHIFT) | BRC_MERGED);
    ops->decref(t.a, o);
    ops->decref(t.c, o);   /* merged and zero: the last reference frees */
    cr_assert_eq(total_freed(&t), freed0 + 1);
    cr_assert_eq(t.c->objects_freed, 1, "freed by the thread that dropped it last");
    bl_close(&t);
}

/* The owner's local count reaches zero while the object sits in its queue
 * with a positive shared count; the later merge of the queue frees it. */
Test(biased, merge_zero_local_while_queued)
{
    bl_t t = bl_open();
    const guard_ops_t *ops = t.l.ops;
    obj_t *o = ops->int_new(t.a, 1000);
    ops->incref(t.a, o);            /* a holds 2 (local 2) */
    ops->decref(t.b, o);            /* one handed to b, dropped: queued */
    cr_assert_eq(o->refcnt, BRC_QUEUED);
    ops->incref(t.b, o);            /* a hands its last one to b, b copies it */
    cr_assert_eq(o->refcnt, ((intptr_t)1 << BRC_SHARED_SHIFT) | BRC_QUEUED);
    ops->decref(t.a, o);            /* ... and both come back to a */
    ops->decref(t.a, o);            /* local 0: merge, the queue's reference remains */
    cr_assert_eq(o->refcnt, ((intptr_t)1 << BRC_SHARED_SHIFT) | BRC_MERGED);
    cr_assert_eq(o->tid, 0);
    cr_assert_eq(interp_live_objects(t.l.interp), t.live0 + 1);
    brc_merge_queue(t.a);           /* drops the queue's reference: zero */
    cr_assert_eq(interp_live_objects(t.l.interp), t.live0);
    cr_assert_eq(total_freed(&t), 1);
    bl_close(&t);
}

Test(biased, owner_exit_merges_its_queue)
{
    bl_t t = bl_open();
    const guard_ops_t *ops = t.l.ops;
    obj_t *o = ops->int_new(t.a, 1000);
    obj_t *p = ops->int_new(t.a, 2000);
    ops->incref(t.a, p);
    ops->decref(t.b, o);   /* both queued to a */
    ops->decref(t.b, p);
    cr_assert_eq(t.a->brc.count, 2);
    tstate_delete(t.a);    /* merges: o freed, p survives with one reference */
    t.a = NULL;
    cr_assert_eq(interp_live_objects(t.l.interp), t.live0 + 1);
    cr_assert_eq(p->refcnt, ((intptr_t)1 << BRC_SHARED_SHIFT) | BRC_MERGED);
    ops->decref(t.c, p);
    cr_assert_eq(t.c->objects_freed, 1);
    bl_close(&t);
}

Test(biased, owner_exit_with_references_outstanding)
{
    bl_t t = bl_open();
    const guard_ops_t *ops = t.l.ops;
    obj_t *list = ops->list_new(t.a, 0);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(ops->list_append(t.a, list, ops->int_new(t.a, 1000 + i)), 0);
    ops->incref(t.a, list);    /* local 2: a hands one to b and one to c */
    ops->incref(t.b, list);    /* b also takes a shared reference */
    /* a holds nothing: exit. Its objects keep its id in tid. */
    uintptr_t owner = t.a->id;
    tstate_delete(t.a);
    t.a = NULL;
    cr_assert_eq(list->tid, owner);
    cr_assert_eq(interp_live_objects(t.l.interp), t.live0 + 5);

    ops->decref(t.b, list);    /* shared 1 -> 0 */
    cr_assert_eq(list->refcnt, 0);
    ops->decref(t.b, list);    /* shared 0: owner gone, merge on the spot */
    cr_assert_eq(list->refcnt, ((intptr_t)1 << BRC_SHARED_SHIFT) | BRC_MERGED);
    cr_assert_eq(list->tid, 0);
    cr_assert_eq(t.b->brc_queued, 1);
    cr_assert_eq(interp_live_objects(t.l.interp), t.live0 + 5);
    ops->decref(t.c, list);    /* the last one: list and items freed, once */
    cr_assert_eq(t.c->objects_freed, 5);
    cr_assert_eq(interp_live_objects(t.l.interp), t.live0);
    bl_close(&t);
}

/* --no-immortal statics under biased: no owner, merged, shared counting. */
Test(biased, mortal_statics_count_in_the_shared_field)
{
    lab_t l = lab_open(GUARD_biased, HEAP_malloc, false);
    obj_t *t = &l.interp->true_obj.ob;
    cr_assert_eq(t->tid, 0);
    cr_assert_eq(t->refcnt, ((intptr_t)1 << BRC_SHARED_SHIFT) | BRC_MERGED);
    l.ops->incref(l.ts, t);
    cr_assert_eq(t->refcnt, ((intptr_t)2 << BRC_SHARED_SHIFT) | BRC_MERGED);
    cr_assert_eq(t->ref_local, 0);
    l.ops->decref(l.ts, t);
    cr_assert_eq(obj_refcount(t, true), 1);
    lab_close(&l);
}

/* ---- biased owner exit, with real threads --------------------------------------- */

/* The owner creates the objects, gives each worker a reference (to even
 * objects through its local count, to odd ones the workers take shared
 * references themselves), drops its own and exits while the workers
 * hammer. Half the workers drop their references before the owner exits
 * (queued to it, merged by tstate_delete), half after (merged on the spot).
 * Every object must be freed exactly once. */
typedef struct exit_ctx {
    interp_t *interp;
    obj_t *objs[NOBJS];
    pthread_barrier_t created;   /* owner -> workers: objects ready */
    pthread_barrier_t early;     /* early droppers done */
    pthread_barrier_t gone;      /* owner has exited */
    uintptr_t owner_id;
} exit_ctx_t;

typedef struct exit_worker {
    alignas(64) exit_ctx_t *x;
    int early;
} exit_worker_t;

static void *exit_owner_main(void *p)
{
    exit_ctx_t *x = p;
    const guard_ops_t *ops = x->interp->ops;
    tstate_t *ts = tstate_new(x->interp);
    ops->attach(ts);
    x->owner_id = ts->id;
    obj_t *list = ops->list_new(ts, 0);
    x->objs[0] = list;
    for (int i = 0; i < NITEMS; i++) {
        x->objs[1 + i] = ops->int_new(ts, 300000 + i);
        ops->list_append(ts, list, x->objs[1 + i]);
    }
    for (int i = 0; i < NINTS; i++)
        x->objs[1 + NITEMS + i] = ops->int_new(ts, 400000 + i);
    for (int i = 0; i < NOBJS; i += 2)
        for (int k = 0; k < W; k++)
            ops->incref(ts, x->objs[i]);
    pthread_barrier_wait(&x->created);
    /* Workers now hold their references (odd ones taken after `created`,
     * so wait for the early droppers before letting go of ours). */
    pthread_barrier_wait(&x->early);
    traffic(x->interp, ts, x->objs, NOBJS, 20 * BATCH);
    for (int i = 0; i < NOBJS; i++)
        if (i != 0 && i <= NITEMS)
            continue;   /* the list's items: the list holds them */
        else
            ops->decref(ts, x->objs[i]);
    ops->detach(ts);
    tstate_delete(ts);
    pthread_barrier_wait(&x->gone);
    return NULL;
}

static void *exit_worker_main(void *p)
{
    exit_worker_t *w = p;
    exit_ctx_t *x = w->x;
    const guard_ops_t *ops = x->interp->ops;
    tstate_t *ts = tstate_new(x->interp);
    pthread_barrier_wait(&x->created);
    for (int i = 1; i < NOBJS; i += 2)
        ops->incref(ts, x->objs[i]);
    traffic(x->interp, ts, x->objs, NOBJS, 10 * BATCH);
    if (w->early)
        for (int i = 0; i < NOBJS; i++)
            ops->decref(ts, x->objs[i]);
    pthread_barrier_wait(&x->early);
    traffic(x->interp, ts, x->objs, NOBJS, 10 * BATCH);   /* while the owner exits */
    pthread_barrier_wait(&x->gone);
    if (!w->early) {
        /* Early droppers hold nothing any more; late ones still keep every
         * object alive, so the traffic is safe. */
        traffic(x->interp, ts, x->objs, NOBJS, 10 * BATCH);
        for (int i = 0; i < NOBJS; i++)
            ops->decref(ts, x->objs[i]);
    }
    tstate_delete(ts);
    return NULL;
}

Test(biased, owner_exits_while_others_hold_references)
{
    for (int round = 0; round < 5; round++) {
        lab_t l = lab_open(GUARD_biased, HEAP_malloc, true);
        exit_ctx_t x = {.interp = l.interp};
        int64_t live0 = interp_live_objects(l.interp);
        cr_assert_eq(pthread_barrier_init(&x.created, NULL, W + 1), 0);
        cr_assert_eq(pthread_barrier_init(&x.early, NULL, W + 1), 0);
        cr_assert_eq(pthread_barrier_init(&x.gone, NULL, W + 1), 0);
        pthread_t owner, th[W];
        exit_worker_t ws[W];
        cr_assert_eq(pthread_create(&owner, NULL, exit_owner_main, &x), 0);
        for (int i = 0; i < W; i++) {
            ws[i] = (exit_worker_t){.x = &x, .early = i % 2};
            cr_assert_eq(pthread_create(&th[i], NULL, exit_worker_main, &ws[i]), 0);
        }
        cr_assert_eq(pthread_join(owner, NULL), 0);
        for (int i = 0; i < W; i++)
            cr_assert_eq(pthread_join(th[i], NULL), 0);
        pthread_barrier_destroy(&x.created);
        pthread_barrier_destroy(&x.early);
        pthread_barrier_destroy(&x.gone);

        /* Allocated NOBJS, freed exactly NOBJS (a double free would count
         * twice, and ASan would see it): all threads are gone, so the
         * totals are final. */
        cr_assert_eq(l.interp->gone_allocated - l.interp->gone_freed, 0, "round %d: %lld alive", round,
                     (long long)(l.interp->gone_allocated - l.interp->gone_freed));
        cr_assert_eq(l.interp->gone_allocated, NOBJS);
        cr_assert_eq(interp_live_objects(l.interp), live0);
        lab_close(&l);
    }
}
