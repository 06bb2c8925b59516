/* tests/lab_fixture.h: an interpreter to test in, and its tear-down with the
 * leak checks. Shared by the Criterion suites and the plain TSan drivers;
 * failures go through CHECK (tests/check.h), never through Criterion.
 *
 * A lab is an interpreter (a guard, an allocator, immortal statics or
 * --no-immortal) plus the main thread's state:
 *
 *   lab_open(g, heap, imm)           ts detached: threaded tests attach it
 *                                    around their own batches, as workers do
 *   lab_open_attached(g, heap, imm)  ts attached from open to close:
 *                                    single-threaded tests
 *   lab_close(&l)                    clear the globals, delete ts, then fail
 *                                    unless no object is alive and every
 *                                    static is back at its count in a fresh
 *                                    interpreter (1, or immortal); destroy
 *
 *   lab_snapshot(&l)                 record the live count and the statics'
 *                                    counts now (lab_open records them too)
 *   lab_check_clean(&l, step)        fail unless they are as recorded: with
 *                                    --no-immortal a reference leaked or
 *                                    dropped on None, True, False or a small
 *                                    int shows up here
 *
 *   FOR_EACH_GUARD(l, heap, imm) { ... }   the block once per guard, `l` a
 *   FOR_EACH_LAB(l, heap) { ... }          fresh attached lab; FOR_EACH_LAB
 *                                          also runs both immortal settings.
 *                                          Leave the block by its end or by
 *                                          `continue` (never `break`): the
 *                                          lab is closed at the end.
 */
#ifndef GL_TESTS_LAB_FIXTURE_H
#define GL_TESTS_LAB_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "lab/interp.h"
#include "lab/object.h"

/* Short, so that threaded tests under gil switch often; a single thread
 * never waits for the GIL, so it does not matter to the others. */
#define LAB_SWITCH_INTERVAL_US 200

/* The statically allocated objects, in lab_static order: None, True,
 * False, then the small ints from SMALL_INT_MIN up. */
#define LAB_NSTATICS (3 + SMALL_INT_COUNT)

typedef struct lab {
    interp_t *interp;
    tstate_t *ts;               /* the main thread's */
    const guard_ops_t *ops;
    bool biased;                /* the biased guard (owner and shared counts) */
    obj_layout_t layout;        /* the guard's object header */
    bool immortal;
    bool attached;              /* lab_open_attached: ts attached until close */
    char what[64];              /* "gil", "biased --no-immortal": for messages */
    /* lab_check_clean's baseline, set by lab_snapshot. */
    int64_t live0;
    intptr_t statics[LAB_NSTATICS];
} lab_t;

static inline intptr_t lab_rc(const lab_t *l, const obj_t *o) { return obj_refcount(o, l->layout); }

static inline obj_t *lab_small_int(const lab_t *l, int64_t v)
{
    return interp_small_int(l->interp, v);
}

static inline obj_t *lab_static(const lab_t *l, int i)
{
    interp_t *in = l->interp;
    return i == 0 ? interp_none(in) : i == 1 ? interp_true(in) : i == 2 ? interp_false(in)
                                                                       : lab_small_int(l, SMALL_INT_MIN + i - 3);
}

/* Empty the list freelists (the interpreter's and the main thread's), as
 * a full collection does, so that heap figures show only live objects. */
static inline void lab_clear_freelists(lab_t *l)
{
    interp_clear_freelist(l->interp, &l->interp->list_freelist, NULL);
    interp_clear_freelist(l->interp, &l->ts->list_freelist, l->ts);
}

/* The free-threaded header of o (atomic, biased). */
static inline obj_head_ft_t *lab_ft(const obj_t *o) { return obj_ft(o); }

static inline void lab_snapshot(lab_t *l)
{
    l->live0 = interp_live_objects(l->interp);
    for (int i = 0; i < LAB_NSTATICS; i++)
        l->statics[i] = lab_rc(l, lab_static(l, i));
}

/* Fail unless `live` objects are alive and static i counts statics[i]
 * (statics NULL: what it counts in a fresh interpreter). */
static inline void lab_check_counts(const lab_t *l, int64_t live, const intptr_t *statics, const char *step)
{
    CHECK(interp_live_objects(l->interp) == live, "%s: %s: %lld objects leaked", l->what, step,
          (long long)(interp_live_objects(l->interp) - live));
    for (int i = 0; i < LAB_NSTATICS; i++) {
        const obj_t *o = lab_static(l, i);
        intptr_t expect = statics != NULL ? statics[i] : l->immortal ? OBJ_IMMORTAL_REFCNT : 1;
        CHECK(lab_rc(l, o) == expect, "%s: %s: %s%s%.0d count is %ld, expected %ld", l->what, step,
              o->type->name, i >= 3 ? " " : "", i >= 3 ? (int)int_value(o) : 0, (long)lab_rc(l, o),
              (long)expect);
    }
}

static inline void lab_check_clean(const lab_t *l, const char *step)
{
    lab_check_counts(l, l->live0, l->statics, step);
}

/* An interpreter and the main thread's state, detached. */
static inline lab_t lab_open(guard_kind_t guard, heap_kind_t heap, bool immortal)
{
    lab_t l = {.biased = guard == GUARD_biased, .layout = guard_get(guard)->layout, .immortal = immortal};
    char err[200] = "";
    interp_config_t cfg = {
        .guard = guard, .allocator = heap, .immortal = immortal, .switch_interval_us = LAB_SWITCH_INTERVAL_US};
    snprintf(l.what, sizeof(l.what), "%s%s", guard_name(guard), immortal ? "" : " --no-immortal");
    l.interp = malloc(sizeof(*l.interp));
    CHECK(l.interp != NULL, "out of memory");
    CHECK(interp_init(l.interp, &cfg, err, sizeof(err)) == 0, "interp_init: %s", err);
    l.ts = tstate_new(l.interp);
    CHECK(l.ts != NULL, "tstate_new");
    l.ops = l.interp->ops;
    lab_snapshot(&l);
    lab_check_counts(&l, 0, NULL, "at open");
    return l;
}

static inline lab_t lab_open_attached(guard_kind_t guard, heap_kind_t heap, bool immortal)
{
    lab_t l = lab_open(guard, heap, immortal);
    l.attached = true;
    l.ops->attach(l.ts);
    return l;
}

static inline void lab_close(lab_t *l)
{
    if (!l->attached)
        l->ops->attach(l->ts);
    interp_clear_globals(l->ts);
    l->ops->detach(l->ts);
    tstate_delete(l->ts);   /* under biased, merges what is queued to it */
    lab_check_counts(l, 0, NULL, "at close");
    interp_destroy(l->interp);
    free(l->interp);
}

#define FOR_EACH_GUARD(l, heap, immortal) LAB_LOOP(l, GUARD_COUNT, lab_i_, heap, immortal)
#define FOR_EACH_LAB(l, heap) LAB_LOOP(l, 2 * GUARD_COUNT, lab_i_ / 2, heap, lab_i_ % 2 == 0)

/* For lab_i_ from 0 to n-1: the block once, with `l` open (attached) on the
 * guard and immortal setting that guard_of_i and immortal_of_i compute from
 * lab_i_, and closed after the block. */
#define LAB_LOOP(l, n, guard_of_i, heap, immortal_of_i)                                             \
    for (int lab_i_ = 0; lab_i_ < (n); lab_i_++)                                                    \
        for (lab_t l = lab_open_attached((guard_kind_t)(guard_of_i), (heap), (immortal_of_i)),      \
                   *lab_once_ = &l;                                                                 \
             lab_once_ != NULL; lab_close(&l), lab_once_ = NULL)

#endif
