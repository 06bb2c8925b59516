/* tests/test_gc.c: the cycle collectors: the default build's (lab/gc.c)
 * under none and gil, the free-threaded one (lab/gc_ft.c) under atomic and
 * biased, and the opcodes that make containers (CALL of a class,
 * LOAD_ATTR, STORE_ATTR).
 *
 *   - every shape of garbage is freed: a node that refers to itself, two
 *     nodes that refer to each other, a ring of 100,000 (deep enough that
 *     freeing it link by link would overflow the stack without the
 *     trashcan), objects reachable only from a cycle; nothing reachable is
 *     ever freed (a cycle hanging off a live object, a structure under a
 *     global), and under ASan whatever the collector frees is never touched
 *     again
 *   - the thresholds hold exactly: K containers allocated by bytecode give
 *     exactly the generation-0 collections 700/10/10 imply, a collection
 *     waits for the eval breaker, and the long-lived rule holds generation
 *     2 back: 1M containers kept alive give the collections CPython 3.11
 *     ran on the same pattern (1300 / 118 / 8; 455 / 41 / 3 with 2000/10/10)
 *   - the free-threaded trigger holds exactly: counts added every 512
 *     containers, a collection once the count passes 2000; the count never
 *     goes below zero, not even when a thread that freed more containers
 *     than it made goes
 *   - gc.freeze(): frozen objects are never examined; gc.disable(): no
 *     automatic collection, gc.collect() still works; with the collector
 *     off, the unreachable count is exact and nothing is freed
 *   - a container freed by a thread that does not own it waits on the
 *     owner's queue until the owner's next eval-breaker check
 *   - the gc module's other controls called by bytecode or directly:
 *     isenabled, get_count, get_threshold, set_threshold, get_stats, and
 *     the errors of bad arguments
 * (Stop-the-world with threads running is tests/tsan_stw.c.)
 */
#include <criterion/criterion.h>
#define CHECK(cond, ...) cr_assert(cond, __VA_ARGS__)

#include <stdint.h>
#include <string.h>

#include "lab/code.h"
#include "lab/gc.h"
#include "lab/gc_ft.h"
#include "lab/interp.h"
#include "lab_fixture.h"

static const guard_kind_t default_build[] = {GUARD_none, GUARD_gil};
#define NDEFAULT (sizeof default_build / sizeof default_build[0])
static const guard_kind_t every_guard[] = {GUARD_none, GUARD_gil, GUARD_atomic, GUARD_biased};
#define NGUARDS (sizeof every_guard / sizeof every_guard[0])
static const guard_kind_t free_threaded[] = {GUARD_atomic, GUARD_biased};
#define NFT (sizeof free_threaded / sizeof free_threaded[0])

/* A lab whose collector has the given configuration. */
static lab_t gc_lab(guard_kind_t g, heap_kind_t heap, const gc_config_t *gc)
{
    lab_t l = {.layout = guard_get(g)->layout, .immortal = true};
    char err[200] = "";
    interp_config_t cfg = {.guard = g, .allocator = heap, .immortal = true,
                           .switch_interval_us = LAB_SWITCH_INTERVAL_US, .gc = *gc};
    snprintf(l.what, sizeof l.what, "%s/%s", guard_name(g), heap_kind_name(heap));
    l.interp = malloc(sizeof *l.interp);
    cr_assert_not_null(l.interp);
    cr_assert_eq(interp_init(l.interp, &cfg, err, sizeof err), 0, "%s", err);
    l.ts = tstate_new(l.interp);
    l.ops = l.interp->ops;
    l.attached = true;
    l.ops->attach(l.ts);
    lab_snapshot(&l);
    return l;
}

/* a.slot = b, taking a new reference to b. */
static void set_slot(lab_t *l, obj_t *a, int slot, obj_t *b)
{
    l->ops->incref(l->ts, b);
    node_obj_t *n = (node_obj_t *)a;
    obj_t *old = n->slot[slot];
    n->slot[slot] = b;
    if (old != NULL)
        l->ops->decref(l->ts, old);
}

/* A ring of `len` nodes; returns one of them (a new reference). */
static obj_t *make_ring(lab_t *l, int len)
{
    obj_t *first = l->ops->node_new(l->ts), *last = first;
    cr_assert_not_null(first);
    for (int i = 1; i < len; i++) {
        obj_t *n = l->ops->node_new(l->ts);
        set_slot(l, last, NODE_SLOT_next, n);
        if (last != first)
            l->ops->decref(l->ts, last);
        last = n;
    }
    set_slot(l, last, NODE_SLOT_next, first);
    if (last != first)
        l->ops->decref(l->ts, last);
    return first;
}

static int64_t live(const lab_t *l) { return interp_live_objects(l->interp) - l->live0; }

/* What a run's end does: drop the globals, finalize (a full collection,
 * freelists emptied), then lab_close's checks. */
static void close_lab(lab_t *l)
{
    interp_clear_globals(l->ts);
    interp_finalize(l->ts);
    lab_close(l);
}

Test(gc, every_shape_of_garbage_is_freed)
{
    static const gc_config_t off = {.disabled = true};
    for (size_t g = 0; g < NGUARDS; g++) {
        for (int h = 0; h < 2; h++) {
            lab_t l = gc_lab(every_guard[g], h ? HEAP_malloc : HEAP_pymalloc, &off);

            /* self-reference, 2-cycle, a long ring */
            l.ops->decref(l.ts, make_ring(&l, 1));
            l.ops->decref(l.ts, make_ring(&l, 2));
            l.ops->decref(l.ts, make_ring(&l, 100000));
            cr_assert_eq(live(&l), 100003, "%s: refcounting alone frees no cycle", l.what);

            /* a cycle carrying a list of ints and a node outside it */
            obj_t *a = make_ring(&l, 2);
            obj_t *data = l.ops->list_new(l.ts, 0);
            for (int i = 0; i < 10; i++)
                cr_assert_eq(l.ops->list_append(l.ts, data, l.ops->int_new(l.ts, 5000 + i)), 0);
            obj_t *tail = l.ops->node_new(l.ts);
            cr_assert_eq(l.ops->list_append(l.ts, data, tail), 0);
            set_slot(&l, a, NODE_SLOT_data, data);
            l.ops->decref(l.ts, data);
            l.ops->decref(l.ts, a);
            cr_assert_eq(live(&l), 100003 + 2 + 1 + 10 + 1);

            int64_t freed = gc_collect(l.ts, 2);
            cr_assert_eq(freed, 100003 + 2 + 1 + 1, "%s: %lld containers collected", l.what, (long long)freed);
            cr_assert_eq(live(&l), 0, "%s: the ints the cycle held went with it", l.what);
            close_lab(&l);
        }
    }
}

Test(gc, nothing_reachable_is_freed)
{
    static const gc_config_t on = {0};
    for (size_t g = 0; g < NGUARDS; g++) {
        lab_t l = gc_lab(every_guard[g], HEAP_malloc, &on);
        /* A global list holding a ring, whose node holds another ring. */
        obj_t *keeper = l.ops->list_new(l.ts, 0);
        obj_t *ring = make_ring(&l, 50);
        obj_t *inner = make_ring(&l, 3);
        set_slot(&l, ring, NODE_SLOT_data, inner);
        l.ops->decref(l.ts, inner);
        cr_assert_eq(l.ops->list_append(l.ts, keeper, ring), 0);
        l.interp->globals[0] = keeper;
        int64_t before = live(&l);
        for (int gen = 0; gen < GC_GENERATIONS; gen++)
            cr_assert_eq(gc_collect(l.ts, gen), 0, "%s: generation %d freed something reachable", l.what, gen);
        cr_assert_eq(l.interp->gc.long_lived_total, 1 + 50 + 3, "%s: every container survived", l.what);
        cr_assert_eq(live(&l), before);
        /* Walk the structure: ASan would report a freed node here. */
        obj_t *n = ((list_obj_t *)keeper)->items[0];
        for (int i = 0; i < 50; i++)
            n = ((node_obj_t *)n)->slot[NODE_SLOT_next];
        cr_assert_eq(n, ring, "%s: the ring is whole", l.what);
        cr_assert_eq(((node_obj_t *)((node_obj_t *)ring)->slot[NODE_SLOT_data])->slot[NODE_SLOT_next]->type,
                     l.ops->node_type);
        close_lab(&l);   /* the globals go, then the final collection frees all */
    }
}

/* def keep(n): l = []; while n > 0: l.append([]); n -= 1  -- the list is
 * left on the stack, as a comprehension keeps it, and returned. */
static void keep_lists_code(code_t *c)
{
    code_init(c, "keep", NULL);
    int n = code_local(c, "n");
    code_emit(c, OP_BUILD_LIST, 0);
    code_loop_t loop;
    code_countdown_begin(c, n, &loop);
    code_emit(c, OP_BUILD_LIST, 0);
    code_emit(c, OP_LIST_APPEND, 1);
    code_emit(c, OP_LOAD_FAST, n);
    code_emit(c, OP_LOAD_CONST, code_const(c, 1));
    code_emit(c, OP_BINARY_OP, BINOP_INPLACE_SUB);
    code_emit(c, OP_STORE_FAST, n);
    code_emit(c, OP_JUMP_BACKWARD, loop.head);
    code_patch(c, loop.exit_jump, code_emit(c, OP_RETURN_VALUE, 0));
    char err[160] = "";
    cr_assert_eq(code_check(c, err, sizeof err), 0, "%s", err);
}

/* Run keep(k) and report the collections of each generation. */
static void collections_keeping(guard_kind_t g, const gc_config_t *cfg, int64_t k, uint64_t out[3])
{
    lab_t l = gc_lab(g, HEAP_pymalloc, cfg);
    code_t c;
    keep_lists_code(&c);
    obj_t *arg = l.ops->int_new(l.ts, k);
    obj_t *r = l.ops->eval(l.ts, &c, &arg, 1);
    cr_assert_not_null(r, "%s", l.ts->error);
    for (int i = 0; i < GC_GENERATIONS; i++)
        out[i] = l.interp->gc.stats[i].collections;
    cr_assert_eq(((list_obj_t *)r)->size, k);
    l.ops->decref(l.ts, r);
    close_lab(&l);
}

Test(gc, thresholds_are_exact)
{
    static const gc_config_t dflt = {0};
    uint64_t c[3];
    for (size_t g = 0; g < NDEFAULT; g++) {
        /* The outer list and 699 inner ones: 700 containers, count 700,
         * not above the threshold: no collection. One more: one. */
        collections_keeping(default_build[g], &dflt, 699, c);
        cr_assert_eq(c[0] + c[1] + c[2], 0, "700 containers: no collection yet");
        collections_keeping(default_build[g], &dflt, 700, c);
        cr_assert_eq(c[0], 1, "701 containers: one generation-0 collection, not %llu", (unsigned long long)c[0]);
        /* Eleven generation-0 collections, then the twelfth is of
         * generation 1 (its count 11 > threshold 10). */
        collections_keeping(default_build[g], &dflt, 12 * 701, c);
        cr_assert_eq(c[0], 11);
        cr_assert_eq(c[1], 1);
        cr_assert_eq(c[2], 0);
    }
    static const gc_config_t custom = {.thresholds_set = true, .thresholds = {100, 2, 2}};
    /* 404 containers: collections at the 101st, 202nd, 303rd (generation
     * 0, three of them: 3 > 2) and 404th (generation 1). */
    collections_keeping(GUARD_gil, &custom, 403, c);
    cr_assert_eq(c[0], 3, "custom thresholds: %llu", (unsigned long long)c[0]);
    cr_assert_eq(c[1], 1);
    static const gc_config_t zero = {.thresholds_set = true, .thresholds = {0, 10, 10}};
    collections_keeping(GUARD_gil, &zero, 5000, c);
    cr_assert_eq(c[0] + c[1] + c[2], 0, "threshold 0 turns automatic collection off");
}

/* The free-threaded trigger (record_allocation, gc_should_collect): the
 * count reaches the interpreter 512 containers at a time, so the first
 * collection comes at the 2048th container (2048 > 2000), and it is a
 * full one, counted as generation 0. */
Test(gc, free_threaded_trigger_is_exact)
{
    static const gc_config_t dflt = {0};
    uint64_t c[3];
    for (size_t g = 0; g < NFT; g++) {
        collections_keeping(free_threaded[g], &dflt, 2046, c);
        cr_assert_eq(c[0] + c[1] + c[2], 0, "%s: 2047 containers: none yet", guard_name(free_threaded[g]));
        collections_keeping(free_threaded[g], &dflt, 2047, c);
        cr_assert(c[0] == 1 && c[1] == 0 && c[2] == 0, "%s: 2048 containers: one collection, %llu/%llu/%llu",
                  guard_name(free_threaded[g]), (unsigned long long)c[0], (unsigned long long)c[1],
                  (unsigned long long)c[2]);
        /* After it, 2048 survivors: the next needs count > 2000 (and >
         * 2048 / 4): again 2048 more, in 512 steps. */
        collections_keeping(free_threaded[g], &dflt, 2 * 2048 - 1, c);
        cr_assert_eq(c[0], 2, "%s: %llu", guard_name(free_threaded[g]), (unsigned long long)c[0]);
    }
}

/* l = [[] for _ in range(10**6)]: 1M containers kept alive, the long-lived
 * rule letting only a few full collections through. CPython 3.11.7 on the
 * lab's machine, counting with gc.get_stats() around that line, ran
 * 1300 / 118 / 8 collections with 700/10/10 and 455 / 41 / 3 with
 * 2000/10/10 (the issue quotes 1302/118/8 and 3.13's 456/41/3, from a
 * measurement with other allocations around it). */
Test(gc, one_million_kept_containers_match_cpython)
{
    static const gc_config_t v312 = {.thresholds_set = true, .thresholds = GC_THRESHOLDS_312};
    static const gc_config_t v313 = {.thresholds_set = true, .thresholds = GC_THRESHOLDS_313};
    uint64_t c[3];
    collections_keeping(GUARD_gil, &v312, 1000000, c);
    cr_assert(c[0] == 1300 && c[1] == 118 && c[2] == 8, "700/10/10: %llu / %llu / %llu",
              (unsigned long long)c[0], (unsigned long long)c[1], (unsigned long long)c[2]);
    collections_keeping(GUARD_gil, &v313, 1000000, c);
    cr_assert(c[0] == 455 && c[1] == 41 && c[2] == 3, "2000/10/10: %llu / %llu / %llu",
              (unsigned long long)c[0], (unsigned long long)c[1], (unsigned long long)c[2]);
}

static void freeze_disable_unreachable(guard_kind_t g)
{
    static const gc_config_t on = {0};
    lab_t l = gc_lab(g, HEAP_pymalloc, &on);
    gc_state_t *gc = &l.interp->gc;

    /* Frozen: never examined, never collected; unfrozen: collected. */
    l.ops->decref(l.ts, make_ring(&l, 5));
    gc_freeze(l.ts);
    cr_assert_eq(gc_generation_size(l.ts, -1), 5);
    uint64_t examined = gc->stats[2].examined;
    cr_assert_eq(gc_collect(l.ts, 2), 0, "frozen objects are never collected");
    cr_assert_eq(gc->stats[2].examined, examined, "nor examined");
    gc_unfreeze(l.ts);
    cr_assert_eq(gc_collect(l.ts, 2), 5);

    /* Disabled: the count grows past the threshold, nothing runs (the
     * free-threaded count arrives 512 at a time). */
    gc->enabled = false;
    code_t c;
    keep_lists_code(&c);
    obj_t *arg = l.ops->int_new(l.ts, 5000);
    obj_t *r = l.ops->eval(l.ts, &c, &arg, 1);
    cr_assert_not_null(r);
    int64_t count[GC_GENERATIONS];
    gc_get_count(gc, count);
    int64_t counted = l.layout == OBJ_LAYOUT_DEFAULT ? 5001 : 5001 / GC_FT_LOCAL_COUNT * GC_FT_LOCAL_COUNT;
    cr_assert_eq(count[0], counted, "%s: every container counted, none collected", l.what);
    cr_assert_eq(gc->stats[0].collections, 0);
    l.ops->decref(l.ts, r);

    /* Off: the unreachable count is exact and frees nothing. */
    for (int i = 0; i < 7; i++)
        l.ops->decref(l.ts, make_ring(&l, 3));
    int64_t alive = live(&l);
    cr_assert_eq(gc_count_unreachable(l.ts), 21);
    cr_assert_eq(live(&l), alive, "counting frees nothing");
    cr_assert_eq(gc_collect(l.ts, 2), 21, "gc.collect() works with the collector disabled");
    close_lab(&l);
}

/* gc.freeze() and the counts, as each build has it: 3.12's gc_freeze_impl
 * zeroes all three generations' counts (the next generation-1 and -2
 * collections count afresh), 3.13t's _PyGC_Freeze only sets the frozen
 * bits and leaves its count alone. */
Test(gc, freeze_resets_the_counts_as_the_build_does)
{
    static const gc_config_t on = {0};
    for (size_t g = 0; g < NGUARDS; g++) {
        lab_t l = gc_lab(every_guard[g], HEAP_pymalloc, &on);
        code_t c;
        keep_lists_code(&c);
        obj_t *arg = l.ops->int_new(l.ts, 3 * 2048 + 600);   /* a few collections, then some more */
        obj_t *r = l.ops->eval(l.ts, &c, &arg, 1);
        cr_assert_not_null(r, "%s", l.ts->error);
        int64_t before[GC_GENERATIONS], after[GC_GENERATIONS];
        gc_get_count(&l.interp->gc, before);
        cr_assert(before[0] > 0 && before[1] > 0, "%s: counts %lld/%lld", l.what, (long long)before[0],
                  (long long)before[1]);
        gc_freeze(l.ts);
        gc_get_count(&l.interp->gc, after);
        for (int i = 0; i < GC_GENERATIONS; i++)
            cr_assert_eq(after[i], l.layout == OBJ_LAYOUT_DEFAULT ? 0 : before[i], "%s: count %d is %lld", l.what, i,
                         (long long)after[i]);
        gc_unfreeze(l.ts);
        l.ops->decref(l.ts, r);
        close_lab(&l);
    }
}

Test(gc, freeze_disable_and_the_unreachable_count)
{
    freeze_disable_unreachable(GUARD_gil);
    freeze_disable_unreachable(GUARD_atomic);
    freeze_disable_unreachable(GUARD_biased);
}

/* mimalloc's rule in the free-threaded build: a container another thread
 * frees stays linked (and allocated) until its owner's next check. */
Test(gc, a_container_freed_by_another_thread_goes_back_to_its_owner)
{
    static const gc_config_t on = {0};
    for (size_t g = 0; g < NFT; g++) {
        lab_t l = gc_lab(free_threaded[g], HEAP_malloc, &on);
        tstate_t *other = tstate_new(l.interp);
        cr_assert_not_null(other);
        obj_t *n = l.ops->node_new(l.ts);
        cr_assert_eq(gc_ft_slot(n), l.ts->gc_slot, "%s: the allocating thread owns it", l.what);
        l.ops->detach(l.ts);
        l.ops->attach(other);
        l.ops->decref(other, n);
        l.ops->detach(other);
        cr_assert(!gc_list_is_empty(&l.ts->gc_ring), "%s: still linked in the owner's ring", l.what);
        if (free_threaded[g] == GUARD_atomic)   /* freed by `other`, the block handed back */
            cr_assert_eq(l.ts->gc_remote.count, 1, "%s: on the owner's remote-free queue", l.what);
        else   /* biased: the owner's local count still holds it: queued for a merge */
            cr_assert_eq(l.ts->brc.count, 1, "%s: queued to its owner for a merge", l.what);
        l.ops->attach(l.ts);
        l.ops->handle_pending(l.ts);
        cr_assert_eq(l.ts->gc_remote.count, 0, "%s: the owner took its block back", l.what);
        cr_assert(gc_list_is_empty(&l.ts->gc_ring), "%s: unlinked and freed", l.what);
        tstate_delete(other);
        close_lab(&l);
    }
}

/* The free-threaded count never goes below zero (gh-142048), not even when
 * a thread that freed more containers than it made goes: what it had not
 * yet added is added the way record_deallocation adds it. */
Test(gc, a_thread_that_goes_leaves_no_negative_count)
{
    static const gc_config_t on = {0};
    enum { N = 100 };   /* fewer than GC_FT_LOCAL_COUNT: nothing flushed yet */
    for (size_t g = 0; g < NFT; g++) {
        lab_t l = gc_lab(free_threaded[g], HEAP_malloc, &on);
        tstate_t *other = tstate_new(l.interp);
        cr_assert_not_null(other);
        obj_t *nodes[N];
        for (int i = 0; i < N; i++) {
            nodes[i] = l.ops->node_new(l.ts);
            cr_assert_not_null(nodes[i]);
        }
        /* `other` takes a reference to each, the owner drops its own: the
         * last reference is other's, so other frees them all. */
        l.ops->detach(l.ts);
        l.ops->attach(other);
        for (int i = 0; i < N; i++)
            l.ops->incref(other, nodes[i]);
        l.ops->detach(other);
        l.ops->attach(l.ts);
        for (int i = 0; i < N; i++)
            l.ops->decref(l.ts, nodes[i]);
        l.ops->detach(l.ts);
        l.ops->attach(other);
        for (int i = 0; i < N; i++)
            l.ops->decref(other, nodes[i]);
        l.ops->detach(other);
        cr_assert_eq(other->gc_alloc_count, -N, "%s: other freed them", l.what);
        tstate_delete(other);
        int64_t count[GC_GENERATIONS];
        gc_get_count(&l.interp->gc, count);
        cr_assert_eq(count[0], 0, "%s: count %lld after a thread that freed %d containers went", l.what,
                     (long long)count[0], N);
        l.ops->attach(l.ts);
        close_lab(&l);
    }
}

/* The opcodes: Node() by CALL, STORE_ATTR/LOAD_ATTR on its slots, a
 * built-in called by CALL, and their errors. */
Test(gc, call_and_attribute_opcodes)
{
    FOR_EACH_LAB(l, HEAP_malloc) {
        /* def f(): a = Node(); b = Node(); a.next = b; b.next = a;
         *          return gc.collect() after dropping them... here:
         *          return a.next */
        code_t c;
        code_init(&c, "f", NULL);
        int a = code_local(&c, "a"), b = code_local(&c, "b");
        int node = code_global(&c, "Node");
        code_emit(&c, OP_LOAD_GLOBAL, node);
        code_emit(&c, OP_CALL, 0);
        code_emit(&c, OP_STORE_FAST, a);
        code_emit(&c, OP_LOAD_GLOBAL, node);
        code_emit(&c, OP_CALL, 0);
        code_emit(&c, OP_STORE_FAST, b);
        code_emit(&c, OP_LOAD_FAST, b);
        code_emit(&c, OP_LOAD_FAST, a);
        code_emit(&c, OP_STORE_ATTR, NODE_SLOT_next);
        code_emit(&c, OP_LOAD_FAST, a);
        code_emit(&c, OP_LOAD_FAST, b);
        code_emit(&c, OP_STORE_ATTR, NODE_SLOT_next);
        code_emit(&c, OP_LOAD_FAST, a);
        code_emit(&c, OP_LOAD_ATTR, NODE_SLOT_next);
        code_emit(&c, OP_RETURN_VALUE, 0);
        char err[160] = "";
        cr_assert_eq(code_check(&c, err, sizeof err), 0, "%s", err);
        l.interp->globals[0] = interp_node_class(l.interp);
        l.ops->incref(l.ts, l.interp->globals[0]);

        obj_t *r = l.ops->eval(l.ts, &c, NULL, 0);
        cr_assert_not_null(r, "%s: %s", l.what, l.ts->error);
        cr_assert_eq(r->type, l.ops->node_type);
        cr_assert_eq(lab_rc(&l, r), 2, "%s: b is held by a.next and by us", l.what);
        obj_t *other = ((node_obj_t *)r)->slot[NODE_SLOT_next];
        cr_assert_eq(lab_rc(&l, other), 1, "%s: a is held by b.next only", l.what);
        cr_assert_eq(((node_obj_t *)other)->slot[NODE_SLOT_next], r);
        /* Break the cycle by hand, as tp_clear would. */
        node_obj_t *bn = (node_obj_t *)r;
        obj_t *an = bn->slot[NODE_SLOT_next];
        bn->slot[NODE_SLOT_next] = NULL;
        l.ops->decref(l.ts, an);
        l.ops->decref(l.ts, r);

        /* An unset slot is an AttributeError; an int is not callable. */
        code_t e;
        code_init(&e, "e", NULL);
        code_emit(&e, OP_LOAD_GLOBAL, code_global(&e, "Node"));
        code_emit(&e, OP_CALL, 0);
        code_emit(&e, OP_LOAD_ATTR, NODE_SLOT_data);
        code_emit(&e, OP_RETURN_VALUE, 0);
        cr_assert_null(l.ops->eval(l.ts, &e, NULL, 0));
        cr_assert(strstr(l.ts->error, "AttributeError") && strstr(l.ts->error, "data"), "%s", l.ts->error);
        code_init(&e, "e", NULL);
        code_emit(&e, OP_LOAD_CONST, code_const(&e, 7));
        code_emit(&e, OP_CALL, 0);
        code_emit(&e, OP_RETURN_VALUE, 0);
        cr_assert_null(l.ops->eval(l.ts, &e, NULL, 0));
        cr_assert(strstr(l.ts->error, "not callable"), "%s", l.ts->error);
        lab_check_clean(&l, "opcodes");
    }
}

/* gc.collect(), called by bytecode, returns what it freed. */
Test(gc, gc_collect_builtin)
{
    static const gc_config_t off = {.disabled = true};
    lab_t l = gc_lab(GUARD_gil, HEAP_malloc, &off);
    l.ops->decref(l.ts, make_ring(&l, 4));
    code_t c;
    code_init(&c, "f", NULL);
    code_emit(&c, OP_LOAD_GLOBAL, code_global(&c, "gc.collect"));
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 2));
    code_emit(&c, OP_CALL, 1);
    code_emit(&c, OP_RETURN_VALUE, 0);
    l.interp->globals[0] = interp_builtin(l.interp, BUILTIN_gc_collect);
    obj_t *r = l.ops->eval(l.ts, &c, NULL, 0);
    cr_assert_not_null(r, "%s", l.ts->error);
    cr_assert_eq(int_value(r), 4, "gc.collect(2) found the ring of four");
    l.ops->decref(l.ts, r);
    close_lab(&l);
}

/* builtin(args...) called directly: a new reference, or NULL with the
 * error. */
static obj_t *call_builtin(lab_t *l, builtin_id_t id, obj_t *const *args, int nargs)
{
    return builtin_function(id)(l->ts, args, nargs);
}

/* Item i of a list of ints the gc built-ins return. */
static int64_t item(obj_t *list, intptr_t i)
{
    list_obj_t *lst = (list_obj_t *)list;
    cr_assert_lt(i, lst->size);
    return int_value(lst->items[i]);
}

/* The gc module's controls (Modules/gcmodule.c): isenabled after disable,
 * set_threshold from bytecode keeping the thresholds not given,
 * get_count counting the containers made since, get_stats counting a
 * gc.collect(0) under generation 0 (the free-threaded collector too, as
 * gc_free_threading.c's gc_collect_main counts it); bad arguments are
 * the errors CPython raises. */
Test(gc, gc_module_builtins)
{
    static const gc_config_t on = {0};
    for (size_t g = 0; g < NGUARDS; g++) {
        lab_t l = gc_lab(every_guard[g], HEAP_malloc, &on);
        obj_t *r = call_builtin(&l, BUILTIN_gc_isenabled, NULL, 0);
        cr_assert_eq(r, interp_true(l.interp), "%s", l.what);
        l.ops->decref(l.ts, r);
        l.ops->decref(l.ts, call_builtin(&l, BUILTIN_gc_disable, NULL, 0));
        r = call_builtin(&l, BUILTIN_gc_isenabled, NULL, 0);
        cr_assert_eq(r, interp_false(l.interp), "%s", l.what);
        l.ops->decref(l.ts, r);
        l.ops->decref(l.ts, call_builtin(&l, BUILTIN_gc_enable, NULL, 0));

        /* gc.set_threshold(5000, 3) by bytecode */
        int64_t own[GC_GENERATIONS];
        gc_thresholds_of(NULL, l.layout, own);
        code_t c;
        code_init(&c, "f", NULL);
        code_emit(&c, OP_LOAD_GLOBAL, code_global(&c, "gc.set_threshold"));
        code_emit(&c, OP_LOAD_CONST, code_const(&c, 5000));
        code_emit(&c, OP_LOAD_CONST, code_const(&c, 3));
        code_emit(&c, OP_CALL, 2);
        code_emit(&c, OP_RETURN_VALUE, 0);
        l.interp->globals[0] = interp_builtin(l.interp, BUILTIN_gc_set_threshold);
        r = l.ops->eval(l.ts, &c, NULL, 0);
        cr_assert_eq(r, interp_none(l.interp), "%s: %s", l.what, l.ts->error);
        l.ops->decref(l.ts, r);
        r = call_builtin(&l, BUILTIN_gc_get_threshold, NULL, 0);
        cr_assert(item(r, 0) == 5000 && item(r, 1) == 3 && item(r, 2) == own[2], "%s", l.what);
        l.ops->decref(l.ts, r);

        r = call_builtin(&l, BUILTIN_gc_get_count, NULL, 0);
        int64_t before = item(r, 0);
        l.ops->decref(l.ts, r);   /* the list it made and freed: counted out again */
        obj_t *kept[10];
        for (int i = 0; i < 10; i++)
            kept[i] = l.ops->node_new(l.ts);
        r = call_builtin(&l, BUILTIN_gc_get_count, NULL, 0);
        cr_assert_eq(item(r, 0) - before, 10, "%s: ten containers since", l.what);
        l.ops->decref(l.ts, r);

        l.ops->decref(l.ts, make_ring(&l, 3));
        gc_collect(l.ts, 0);
        r = call_builtin(&l, BUILTIN_gc_get_stats, NULL, 0);
        obj_t *gen0 = ((list_obj_t *)r)->items[0];
        cr_assert(item(gen0, 0) == 1 && item(gen0, 1) == 3 && item(gen0, 2) == 0, "%s", l.what);
        for (int i = 1; i < GC_GENERATIONS; i++)
            cr_assert_eq(item(((list_obj_t *)r)->items[i], 0), 0, "%s gen %d", l.what, i);
        l.ops->decref(l.ts, r);

        obj_t *big = l.ops->int_new(l.ts, INT64_C(1) << 40);
        cr_assert_null(call_builtin(&l, BUILTIN_gc_set_threshold, &big, 1));
        cr_assert(strstr(l.ts->error, "OverflowError"), "%s", l.ts->error);
        l.ops->decref(l.ts, big);
        cr_assert_null(call_builtin(&l, BUILTIN_gc_set_threshold, NULL, 0));
        cr_assert(strstr(l.ts->error, "TypeError"), "%s", l.ts->error);
        cr_assert_null(call_builtin(&l, BUILTIN_gc_get_count, kept, 1));
        cr_assert(strstr(l.ts->error, "TypeError"), "%s", l.ts->error);
        for (int i = 0; i < 10; i++)
            l.ops->decref(l.ts, kept[i]);
        close_lab(&l);
    }
}
