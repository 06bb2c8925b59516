/* lab/gc.c: the generational cycle collector of the default build (design
 * in lab/gc.h). Each function names the one of CPython 3.12's
 * Modules/gcmodule.c it follows; gc_refs live in the high bits of gc_prev
 * during a collection, as there (PyGC_Head is two words since 3.8).
 */
#include "lab/gc.h"

#include <stdlib.h>
#include <string.h>

#include "lab/clock.h"
#include "lab/gc_ft.h"
#include "lab/interp.h"

/* Each build's own: 3.12's for the default build, 3.13's for 3.13t. */
static const int64_t default_thresholds[OBJ_LAYOUT_COUNT][GC_GENERATIONS] = {
    [OBJ_LAYOUT_DEFAULT] = GC_THRESHOLDS_312,
    [OBJ_LAYOUT_FT] = GC_THRESHOLDS_313,
};

/* ---- gc_refs in gc_prev ------------------------------------------------------ */

static int64_t gc_get_refs(const gc_head_t *g)
{
    return (int64_t)(g->gc_prev >> GC_PREV_SHIFT);
}

static void gc_set_refs(gc_head_t *g, int64_t refs)
{
    g->gc_prev = (g->gc_prev & ~GC_PREV_MASK) | ((uintptr_t)refs << GC_PREV_SHIFT);
}

/* gc_reset_refs: the refs, and the COLLECTING mark. */
static void gc_reset_refs(gc_head_t *g, int64_t refs)
{
    g->gc_prev = (g->gc_prev & GC_PREV_MASK_FINALIZED) | GC_PREV_MASK_COLLECTING |
                 ((uintptr_t)refs << GC_PREV_SHIFT);
}

static bool gc_is_collecting(const gc_head_t *g)
{
    return (g->gc_prev & GC_PREV_MASK_COLLECTING) != 0;
}

static void gc_clear_collecting(gc_head_t *g)
{
    g->gc_prev &= ~GC_PREV_MASK_COLLECTING;
}

static bool obj_is_gc(const obj_t *o)
{
    return (o->type->flags & TYPE_GC) != 0;
}

/* ---- the algorithm -------------------------------------------------------------- */

/* update_refs: gc_refs = the refcount, for every object of the set (in
 * the free-threaded layout the owner's and the shared counts added, as
 * merge_refcount reads them with the world stopped). */
static void update_refs(const gc_state_t *gc, gc_head_t *containers)
{
    for (gc_head_t *g = gc_next(containers); g != containers; g = gc_next(g))
        gc_reset_refs(g, obj_refcount(gc_obj(g, gc->head), gc->layout));
}

/* visit_decref (arg: the gc_state_t) */
static int visit_decref(obj_t *o, void *arg)
{
    const gc_state_t *gc = arg;
    if (obj_is_gc(o)) {
        gc_head_t *g = gc_link_of(o, gc->head);
        if (gc_is_collecting(g))
            g->gc_prev -= (uintptr_t)1 << GC_PREV_SHIFT;   /* gc_decref */
    }
    return 0;
}

/* subtract_refs: take off the references from inside the set. */
static void subtract_refs(gc_state_t *gc, gc_head_t *containers)
{
    for (gc_head_t *g = gc_next(containers); g != containers; g = gc_next(g)) {
        obj_t *o = gc_obj(g, gc->head);
        o->type->traverse(o, visit_decref, gc);
    }
}

/* What move_unreachable's visits need: the list being scanned, and where
 * the link sits. */
typedef struct gc_scan {
    gc_head_t *young;
    size_t head;
} gc_scan_t;

/* visit_reachable: o is reached from a reachable object. */
static int visit_reachable(obj_t *o, void *arg)
{
    const gc_scan_t *scan = arg;
    gc_head_t *reachable = scan->young;
    if (!obj_is_gc(o))
        return 0;
    gc_head_t *g = gc_link_of(o, scan->head);
    /* Objects of other generations, and those move_unreachable has already
     * passed, are not marked collecting. */
    if (!gc_is_collecting(g))
        return 0;
    if (g->gc_next & GC_NEXT_MASK_UNREACHABLE) {
        /* Tentatively unreachable, but reachable after all: back to the
         * young list, to be scanned again. The unreachable list's links
         * carry the flag, so unlink by hand. */
        gc_head_t *prev = gc_prev(g);
        gc_head_t *next = (gc_head_t *)(g->gc_next & ~GC_NEXT_MASK_UNREACHABLE);
        prev->gc_next = g->gc_next;   /* keeps the flag */
        gc_set_prev(next, prev);
        gc_list_append(g, reachable);
        gc_set_refs(g, 1);
    } else if (gc_get_refs(g) == 0) {
        /* Still ahead in the young list: reachable, scan it when we get
         * there. */
        gc_set_refs(g, 1);
    }
    return 0;
}

/* move_unreachable: scan `young`; whatever is reachable from outside (refs
 * > 0), or from something reachable, stays; the rest moves to
 * `unreachable`, whose links carry GC_NEXT_MASK_UNREACHABLE until the end.
 * `young` is singly linked during the scan; its prev links are rebuilt. */
static void move_unreachable(const gc_state_t *gc, gc_head_t *young, gc_head_t *unreachable)
{
    gc_scan_t scan = {young, gc->head};
    gc_head_t *prev = young;
    gc_head_t *g = gc_next(young);
    while (g != young) {
        if (gc_get_refs(g) != 0) {
            obj_t *o = gc_obj(g, gc->head);
            /* visit_reachable may append to young, changing g's next when
             * g is last: read it only after the traversal. */
            o->type->traverse(o, visit_reachable, &scan);
            gc_set_prev(g, prev);
            gc_clear_collecting(g);
            prev = g;
        } else {
            prev->gc_next = g->gc_next;
            gc_head_t *last = (gc_head_t *)unreachable->gc_prev;
            last->gc_next = GC_NEXT_MASK_UNREACHABLE | (uintptr_t)g;
            gc_set_prev(g, last);
            g->gc_next = GC_NEXT_MASK_UNREACHABLE | (uintptr_t)unreachable;
            unreachable->gc_prev = (uintptr_t)g;
        }
        g = gc_next(prev);
    }
    young->gc_prev = (uintptr_t)prev;
    unreachable->gc_next &= ~GC_NEXT_MASK_UNREACHABLE;
}

/* The end of move_legacy_finalizers, without finalizers: clear the flag
 * move_unreachable left on the unreachable list's links. */
static void clear_unreachable_mask(gc_head_t *unreachable)
{
    for (gc_head_t *g = gc_next(unreachable); g != unreachable; g = gc_next(g))
        g->gc_next &= ~GC_NEXT_MASK_UNREACHABLE;
}

void gc_deduce_unreachable(gc_state_t *gc, gc_head_t *base, gc_head_t *unreachable)
{
    update_refs(gc, base);
    subtract_refs(gc, base);
    gc_list_init(unreachable);
    move_unreachable(gc, base, unreachable);
    clear_unreachable_mask(unreachable);
}

void gc_restore_unreachable(gc_head_t *unreachable)
{
    for (gc_head_t *g = gc_next(unreachable); g != unreachable; g = gc_next(g))
        gc_clear_collecting(g);
}

void gc_delete_garbage(tstate_t *ts, gc_head_t *collectable, gc_head_t *old)
{
    const guard_ops_t *ops = ts->interp->ops;
    size_t head = ts->interp->gc.head;
    while (!gc_list_is_empty(collectable)) {
        gc_head_t *g = gc_next(collectable);
        obj_t *o = gc_obj(g, head);
        gc_clear_collecting(g);
        ops->incref(ts, o);
        o->type->clear(ts, o);
        ops->decref(ts, o);
        if (gc_next(collectable) == g)
            gc_list_move(g, old);   /* still alive */
    }
}

void gc_record_pause(gc_state_t *gc, uint64_t start_ns, uint64_t pause_ns, int generation)
{
    if (gc->nevents == gc->cap_events) {
        size_t cap = gc->cap_events ? 2 * gc->cap_events : 256;
        gc_event_t *e = realloc(gc->events, cap * sizeof *e);
        if (e == NULL) {
            gc->events_lost++;
            return;
        }
        gc->events = e;
        gc->cap_events = cap;
    }
    gc->events[gc->nevents++] = (gc_event_t){start_ns, pause_ns, generation};
}

/* gc_collect_main: collect `generation` and the younger ones. */
static int64_t gc_collect_main(tstate_t *ts, int generation)
{
    gc_state_t *gc = &ts->interp->gc;
    uint64_t t0 = clock_now_ns();
    if (ts->gil.trace != NULL)
        trace_record_at(ts->gil.trace, TRACE_GC_BEGIN, (uint32_t)generation, t0);

    /* update collection and allocation counters */
    if (generation + 1 < GC_GENERATIONS)
        gc->gen[generation + 1].count += 1;
    for (int i = 0; i <= generation; i++)
        gc->gen[i].count = 0;

    /* merge younger generations with the one being collected */
    for (int i = 0; i < generation; i++)
        gc_list_merge(&gc->gen[i].head, &gc->gen[generation].head);
    gc_head_t *young = &gc->gen[generation].head;
    gc_head_t *old = generation < GC_GENERATIONS - 1 ? &gc->gen[generation + 1].head : young;
    int64_t examined = gc_list_size(young);

    gc_head_t unreachable;
    gc_deduce_unreachable(gc, young, &unreachable);

    /* Survivors move to the next generation. */
    if (young != old) {
        if (generation == GC_GENERATIONS - 2)
            gc->long_lived_pending += gc_list_size(young);
        gc_list_merge(young, old);
    } else {
        gc->long_lived_pending = 0;
        gc->long_lived_total = gc_list_size(young);
    }

    int64_t collected = gc_list_size(&unreachable);
    gc_delete_garbage(ts, &unreachable, old);
    if (generation == GC_GENERATIONS - 1)   /* clear_freelists */
        interp_clear_freelist(ts->interp, &ts->interp->list_freelist, NULL);

    gc_gen_stats_t *st = &gc->stats[generation];
    st->collections++;
    st->collected += (uint64_t)collected;
    st->examined += (uint64_t)examined;
    uint64_t t1 = clock_now_ns();
    gc_record_pause(gc, t0, t1 - t0, generation);
    if (ts->gil.trace != NULL)
        trace_record_at(ts->gil.trace, TRACE_GC_END, (uint32_t)generation, t1);
    return collected;
}

int64_t gc_collect(tstate_t *ts, int generation)
{
    if (ts->interp->layout == OBJ_LAYOUT_FT)
        return gc_ft_collect(ts, generation, false);
    gc_state_t *gc = &ts->interp->gc;
    if (gc->collecting)   /* already collecting: as gc.collect() does */
        return 0;
    gc->collecting = true;
    int64_t n = gc_collect_main(ts, generation);
    gc->collecting = false;
    return n;
}

/* gc_collect_generations */
int64_t gc_collect_scheduled(tstate_t *ts)
{
    if (ts->interp->layout == OBJ_LAYOUT_FT)
        return gc_ft_collect(ts, 0, true);
    gc_state_t *gc = &ts->interp->gc;
    if (gc->collecting || !gc->enabled)
        return 0;
    for (int i = GC_GENERATIONS - 1; i >= 0; i--) {
        if (gc->gen[i].count > gc->gen[i].threshold) {
            /* The long-lived rule: a full collection only when the objects
             * promoted since the last one are over 25 % of its survivors. */
            if (i == GC_GENERATIONS - 1 && gc->long_lived_pending < gc->long_lived_total / 4)
                continue;
            return gc_collect(ts, i);
        }
    }
    return 0;
}

int64_t gc_count_unreachable(tstate_t *ts)
{
    if (ts->interp->layout == OBJ_LAYOUT_FT)
        return gc_ft_count_unreachable(ts);
    gc_state_t *gc = &ts->interp->gc;
    gc_head_t all, unreachable;
    gc_list_init(&all);
    for (int i = 0; i < GC_GENERATIONS; i++)
        gc_list_merge(&gc->gen[i].head, &all);
    gc_deduce_unreachable(gc, &all, &unreachable);
    int64_t n = gc_list_size(&unreachable);
    /* Put everything back where a full collection's survivors go: the
     * oldest generation. Nothing is freed. */
    gc_restore_unreachable(&unreachable);
    gc_list_merge(&unreachable, &all);
    gc_list_merge(&all, &gc->gen[GC_GENERATIONS - 1].head);
    return n;
}

void gc_freeze(tstate_t *ts)
{
    if (ts->interp->layout == OBJ_LAYOUT_FT) {
        gc_ft_freeze(ts, true);
        return;
    }
    gc_state_t *gc = &ts->interp->gc;
    /* gc_freeze_impl: every generation's count starts again, not only
     * generation 0's. */
    for (int i = 0; i < GC_GENERATIONS; i++) {
        gc_list_merge(&gc->gen[i].head, &gc->permanent.head);
        gc->gen[i].count = 0;
    }
}

void gc_unfreeze(tstate_t *ts)
{
    if (ts->interp->layout == OBJ_LAYOUT_FT) {
        gc_ft_freeze(ts, false);
        return;
    }
    gc_state_t *gc = &ts->interp->gc;
    gc_list_merge(&gc->permanent.head, &gc->gen[GC_GENERATIONS - 1].head);
}

void gc_get_count(const gc_state_t *gc, int64_t out[GC_GENERATIONS])
{
    for (int i = 0; i < GC_GENERATIONS; i++)   /* atomic: the free-threaded build's count is shared */
        out[i] = __atomic_load_n(&gc->gen[i].count, __ATOMIC_RELAXED);
}

int64_t gc_generation_size(tstate_t *ts, int generation)
{
    if (ts->interp->layout == OBJ_LAYOUT_FT)
        return gc_ft_generation_size(ts, generation);
    gc_state_t *gc = &ts->interp->gc;
    return gc_list_size(generation < 0 ? &gc->permanent.head : &gc->gen[generation].head);
}

void gc_mark(const gc_state_t *gc, gc_mark_t *mark)
{
    memcpy(mark->stats, gc->stats, sizeof mark->stats);
    mark->nevents = gc->nevents;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The p-th percentile of sorted[0..n), nearest rank. */
static uint64_t nearest_rank(const uint64_t *sorted, size_t n, unsigned p)
{
    size_t rank = (n * p + 99) / 100;   /* ceil(p/100 * n) */
    return sorted[rank > 0 ? rank - 1 : 0];
}

int gc_summarize(const gc_state_t *gc, const gc_mark_t *mark, gc_summary_t *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < GC_GENERATIONS; i++) {
        out->gen[i].collections = gc->stats[i].collections - mark->stats[i].collections;
        out->gen[i].collected = gc->stats[i].collected - mark->stats[i].collected;
        out->gen[i].uncollectable = gc->stats[i].uncollectable - mark->stats[i].uncollectable;
        out->gen[i].examined = gc->stats[i].examined - mark->stats[i].examined;
    }
    size_t n = gc->nevents - mark->nevents;
    if (n == 0)
        return 0;
    uint64_t *sorted = malloc(n * sizeof *sorted);
    if (sorted == NULL)
        return -1;
    /* generation -1: every collection; then each generation's own. */
    for (int g = -1; g < GC_GENERATIONS; g++) {
        size_t m = 0;
        for (size_t k = 0; k < n; k++)
            if (g < 0 || gc->events[mark->nevents + k].generation == g)
                sorted[m++] = gc->events[mark->nevents + k].pause_ns;
        gc_pauses_t *p = g < 0 ? &out->all : &out->by_gen[g];
        if (m == 0)
            continue;
        qsort(sorted, m, sizeof *sorted, cmp_u64);
        p->count = m;
        for (size_t k = 0; k < m; k++)
            p->total_ns += sorted[k];
        p->p50_ns = nearest_rank(sorted, m, 50);
        p->p99_ns = nearest_rank(sorted, m, 99);
        p->max_ns = sorted[m - 1];
    }
    free(sorted);
    return 0;
}

void gc_thresholds_of(const gc_config_t *config, obj_layout_t layout, int64_t out[GC_GENERATIONS])
{
    bool given = config != NULL && config->thresholds_set;
    for (int i = 0; i < GC_GENERATIONS; i++)
        out[i] = given ? config->thresholds[i] : default_thresholds[layout][i];
}

void gc_init(gc_state_t *gc, const gc_config_t *config, obj_layout_t layout)
{
    memset(gc, 0, sizeof *gc);
    gc->layout = layout;
    gc->head = obj_head_size(layout);
    int64_t thresholds[GC_GENERATIONS];
    gc_thresholds_of(config, layout, thresholds);
    for (int i = 0; i < GC_GENERATIONS; i++) {
        gc_list_init(&gc->gen[i].head);
        gc->gen[i].threshold = thresholds[i];
    }
    gc_list_init(&gc->permanent.head);
    gc->enabled = config == NULL || !config->disabled;
}

void gc_destroy(gc_state_t *gc)
{
    free(gc->events);
    gc->events = NULL;
    gc->nevents = gc->cap_events = 0;
}
