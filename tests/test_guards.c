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
 * The threaded scenarios live in guard_races.h, shared with the TSan driver
 * tsan_guards.c; this suite runs them at full size. Under the gil guard a
 * thread touches counts only while it holds the GIL: it attaches, does a
 * batch of operations, polls its eval breaker as the interpreter loop does,
 * and detaches. Criterion assertions are made in the main thread only,
 * after joining; workers count violations instead.
 */
#include <criterion/criterion.h>
#define CHECK(cond, ...) cr_assert(cond, __VA_ARGS__)

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "gil/brc.h"
#include "guard_races.h"
#include "lab/code.h"
#include "lab/interp.h"
#include "lab/object.h"
#include "lab_fixture.h"
#include "runners/runner.h"
#include "workloads/workload.h"

static const race_sizes_t sizes = RACE_SIZES_FULL;

static const guard_kind_t threadsafe[] = {GUARD_gil, GUARD_atomic, GUARD_biased};
#define NTHREADSAFE (sizeof(threadsafe) / sizeof(threadsafe[0]))

/* ---- the threaded scenarios (guard_races.h) ------------------------------------ */

Test(guards, hammer_default_allocator)
{
    for (size_t i = 0; i < NTHREADSAFE; i++)
        race_hammer(threadsafe[i], guard_get(threadsafe[i])->default_allocator, &sizes);
}

Test(guards, hammer_malloc)
{
    for (size_t i = 0; i < NTHREADSAFE; i++)
        race_hammer(threadsafe[i], HEAP_malloc, &sizes);
}

Test(guards, immortal_untouched_by_concurrent_traffic)
{
    for (size_t i = 0; i < NTHREADSAFE; i++)
        race_immortal(threadsafe[i], &sizes);
}

Test(guards, concurrent_list_append)
{
    for (size_t i = 0; i < NTHREADSAFE; i++)
        race_append(threadsafe[i], HEAP_malloc, &sizes);
}

Test(guards, shared_workload_threads_exact)
{
    for (size_t i = 0; i < NTHREADSAFE; i++)
        for (int imm = 0; imm < 2; imm++)
            race_shared_workload(threadsafe[i], guard_get(threadsafe[i])->default_allocator, imm, &sizes);
}

Test(guards, shared_workload_through_the_runner)
{
    for (size_t gi = 0; gi < NTHREADSAFE; gi++) {
        for (int imm = 0; imm < 2; imm++) {
            guard_kind_t g = threadsafe[gi];
            run_spec_t spec = {
                .workload = &wl_shared,
                .params = {64},
                .size = 200000,
                .mode = RUN_MODE_threads,
                .guard = g,
                .allocator = guard_get(g)->default_allocator,
                .workers = RACE_W,
                .switch_interval_us = LAB_SWITCH_INTERVAL_US,
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
                cr_assert_geq(row.samples[0].gil_acquisitions, RACE_W);
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
    return (t->a ? t->a->count.objects_freed : 0) + t->b->count.objects_freed + t->c->count.objects_freed;
}

Test(biased, owner_fast_path_and_shared_path)
{
    bl_t t = bl_open();
    const guard_ops_t *ops = t.l.ops;
    obj_t *o = ops->int_new(t.a, 1000);
    cr_assert_eq(obj_ft(o)->tid, t.a->id, "the creator owns the object");
    cr_assert_eq(obj_ft(o)->ref_local, 1);
    cr_assert_eq(obj_ft(o)->ref_shared, 0);

    /* Owner: ref_local only. */
    ops->incref(t.a, o);
    ops->incref(t.a, o);
    cr_assert_eq(obj_ft(o)->ref_local, 3);
    cr_assert_eq(obj_ft(o)->ref_shared, 0, "the owner never touches the shared field");
    ops->decref(t.a, o);
    cr_assert_eq(obj_ft(o)->ref_local, 2);
    cr_assert_eq(obj_ft(o)->ref_shared, 0);

    /* Non-owners: the shared field, in steps of 1 << 2, state bits intact. */
    uint64_t shared0 = t.b->count.rc_shared;
    ops->incref(t.b, o);
    cr_assert_eq(obj_ft(o)->ref_shared, (intptr_t)1 << BRC_SHARED_SHIFT);
    ops->incref(t.c, o);
    cr_assert_eq(obj_ft(o)->ref_shared, (intptr_t)2 << BRC_SHARED_SHIFT);
    cr_assert_eq(obj_ft(o)->ref_local, 2, "non-owners never touch ref_local");
    cr_assert_eq(obj_ft(o)->ref_shared & BRC_FLAG_MASK, 0);
    cr_assert_eq(obj_refcount(o, OBJ_LAYOUT_FT), 4);
    cr_assert_eq(t.b->count.rc_shared - shared0, 1);
    ops->decref(t.c, o);
    ops->decref(t.b, o);
    cr_assert_eq(obj_ft(o)->ref_shared, 0);
    cr_assert_eq(obj_ft(o)->tid, t.a->id, "still owned");
    cr_assert_eq(obj_refcount(o, OBJ_LAYOUT_FT), 2);

    /* The owner's count reaching zero with no shared count: freed at once. */
    uint64_t freed0 = t.a->count.objects_freed;
    ops->decref(t.a, o);
    ops->decref(t.a, o);
    cr_assert_eq(t.a->count.objects_freed - freed0, 1);
    bl_close(&t);
}

Test(biased, non_owner_drops_last_reference_queue_and_merge)
{
    bl_t t = bl_open();
    const guard_ops_t *ops = t.l.ops;
    obj_t *o = ops->int_new(t.a, 1000);   /* a's one reference, handed to b */
    uint64_t freed0 = total_freed(&t);

    ops->decref(t.b, o);
    cr_assert_eq(obj_ft(o)->ref_shared & BRC_FLAG_MASK, BRC_QUEUED, "queued to its owner");
    cr_assert_eq(obj_ft(o)->ref_shared >> BRC_SHARED_SHIFT, 0, "the queue keeps the reference: not subtracted");
    cr_assert_eq(obj_ft(o)->ref_local, 1);
    cr_assert(__atomic_load_n(&t.a->eval_breaker, __ATOMIC_RELAXED) & EB_BRC_MERGE,
              "the owner's eval breaker asks for a merge");
    cr_assert_eq(t.b->count.brc_queued, 1);
    cr_assert_eq(t.a->brc.count, 1);
    cr_assert_eq(t.a->brc.items[0], o);
    cr_assert_eq(total_freed(&t), freed0, "not freed before the owner merges");
    cr_assert_eq(interp_live_objects(t.l.interp), t.live0 + 1);

    brc_merge_queue(t.a);
    cr_assert_eq(t.a->count.brc_merged, 1);
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
    cr_assert_eq(r, interp_none(t.l.interp), "%s", t.a->error);
    cr_assert_eq(t.a->brc.count, 0, "JUMP_BACKWARD polled the breaker and merged");
    cr_assert_eq(__atomic_load_n(&t.a->eval_breaker, __ATOMIC_RELAXED) & EB_BRC_MERGE, 0, "bit cleared");
    cr_assert_eq(t.a->count.brc_merged, 10);
    cr_assert_eq(interp_live_objects(t.l.interp), t.live0 + 1, "nine freed, objs[0] still referenced");
    cr_assert_eq(obj_ft(objs[0])->ref_shared, ((intptr_t)1 << BRC_SHARED_SHIFT) | BRC_MERGED);
    cr_assert_eq(obj_ft(objs[0])->tid, 0, "a merged object has no owner");
    cr_assert_eq(obj_refcount(objs[0], OBJ_LAYOUT_FT), 1);
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
    cr_assert_eq(obj_ft(o)->tid, 0, "ownership given up");
    cr_assert_eq(obj_ft(o)->ref_local, 0);
    cr_assert_eq(obj_ft(o)->ref_shared, ((intptr_t)2 << BRC_SHARED_SHIFT) | BRC_MERGED);
    cr_assert_eq(obj_refcount(o, OBJ_LAYOUT_FT), 2);

    ops->decref(t.b, o);
    cr_assert_eq(obj_ft(o)->ref_shared, ((intptr_t)1 << BRC_SHARED_SHIFT) | BRC_MERGED);
    cr_assert_eq(total_freed(&t), freed0);
    ops->incref(t.a, o);   /* the old owner now counts in the shared field too */
    cr_assert_eq(obj_ft(o)->ref_shared, ((intptr_t)2 << BRC_SHARED_SHIFT) | BRC_MERGED);
    ops->decref(t.a, o);
    ops->decref(t.c, o);   /* merged and zero: the last reference frees */
    cr_assert_eq(total_freed(&t), freed0 + 1);
    cr_assert_eq(t.c->count.objects_freed, 1, "freed by the thread that dropped it last");
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
    cr_assert_eq(obj_ft(o)->ref_shared, BRC_QUEUED);
    ops->incref(t.b, o);            /* a hands its last one to b, b copies it */
    cr_assert_eq(obj_ft(o)->ref_shared, ((intptr_t)1 << BRC_SHARED_SHIFT) | BRC_QUEUED);
    ops->decref(t.a, o);            /* ... and both come back to a */
    ops->decref(t.a, o);            /* local 0: merge, the queue's reference remains */
    cr_assert_eq(obj_ft(o)->ref_shared, ((intptr_t)1 << BRC_SHARED_SHIFT) | BRC_MERGED);
    cr_assert_eq(obj_ft(o)->tid, 0);
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
    cr_assert_eq(obj_ft(p)->ref_shared, ((intptr_t)1 << BRC_SHARED_SHIFT) | BRC_MERGED);
    ops->decref(t.c, p);
    cr_assert_eq(t.c->count.objects_freed, 1);
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
    cr_assert_eq(obj_ft(list)->tid, owner);
    cr_assert_eq(interp_live_objects(t.l.interp), t.live0 + 5);

    ops->decref(t.b, list);    /* shared 1 -> 0 */
    cr_assert_eq(obj_ft(list)->ref_shared, 0);
    ops->decref(t.b, list);    /* shared 0: owner gone, merge on the spot */
    cr_assert_eq(obj_ft(list)->ref_shared, ((intptr_t)1 << BRC_SHARED_SHIFT) | BRC_MERGED);
    cr_assert_eq(obj_ft(list)->tid, 0);
    cr_assert_eq(t.b->count.brc_queued, 1);
    cr_assert_eq(interp_live_objects(t.l.interp), t.live0 + 5);
    ops->decref(t.c, list);    /* the last one: list and items freed, once */
    cr_assert_eq(t.c->count.objects_freed, 5);
    cr_assert_eq(interp_live_objects(t.l.interp), t.live0);
    bl_close(&t);
}

/* --no-immortal statics under biased: no owner, merged, shared counting. */
Test(biased, mortal_statics_count_in_the_shared_field)
{
    lab_t l = lab_open(GUARD_biased, HEAP_malloc, false);
    obj_t *t = interp_true(l.interp);
    cr_assert_eq(obj_ft(t)->tid, 0);
    cr_assert_eq(obj_ft(t)->ref_shared, ((intptr_t)1 << BRC_SHARED_SHIFT) | BRC_MERGED);
    l.ops->incref(l.ts, t);
    cr_assert_eq(obj_ft(t)->ref_shared, ((intptr_t)2 << BRC_SHARED_SHIFT) | BRC_MERGED);
    cr_assert_eq(obj_ft(t)->ref_local, 0);
    l.ops->decref(l.ts, t);
    cr_assert_eq(obj_refcount(t, OBJ_LAYOUT_FT), 1);
    lab_close(&l);
}

/* ---- biased owner exit, with real threads (guard_races.h) ------------------------- */

Test(biased, owner_exits_while_others_hold_references)
{
    race_owner_exit(HEAP_malloc, &sizes);
}
