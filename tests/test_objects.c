/* tests/test_objects.c: the object model (lab/object.h, lab/interp.c and
 * the object operations every guard compiles from lab/eval_impl.h).
 *
 *   - the small-int cache: the seed's id() demo (10 is 10, 257 is not 257)
 *   - immortal objects (PEP 683): no guard's incref/decref changes them and
 *     none frees them, not even after more decrefs than increfs
 *   - --no-immortal: small ints, None, True and False become ordinary
 *     objects whose counts move, held once by the interpreter
 *   - freeing at zero, and the leak counter returning to its baseline
 *   - list growth follows CPython's over-allocation, list dealloc releases
 *     its items
 *   - the same allocation test over every allocator kind (pymalloc also
 *     passes its full heap walk and returns to its byte baseline)
 *
 * Every test loops over every guard: they share one object layout and must
 * agree on everything observable here.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#define CHECK(cond, ...) cr_assert(cond, __VA_ARGS__)

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lab/interp.h"
#include "lab/object.h"
#include "lab/sizes.h"
#include "lab_fixture.h"

/* The raw header bytes a refcount operation could touch, whatever the
 * layout. */
typedef struct snap {
    unsigned char bytes[OBJ_HEAD_FT_SIZE];
} snap_t;

static snap_t snap(const lab_t *l, const obj_t *o)
{
    snap_t s = {{0}};
    size_t n = obj_head_size(l->layout);
    memcpy(s.bytes, (const char *)o - n, n);
    return s;
}

static void assert_same(const lab_t *l, const obj_t *o, snap_t s, const char *what)
{
    snap_t now = snap(l, o);
    cr_assert_eq(memcmp(now.bytes, s.bytes, sizeof s.bytes), 0, "%s: %s: its header changed", l->what, what);
}

/* The field a guard counts in: ob_refcnt, or ob_ref_shared (free-threaded
 * objects with no owner, as the statics are with --no-immortal). */
static intptr_t raw_count(const lab_t *l, const obj_t *o)
{
    return l->layout == OBJ_LAYOUT_DEFAULT ? obj_dflt(o)->refcnt : obj_ft(o)->ref_shared;
}

Test(objects, small_int_identity)
{
    FOR_EACH_GUARD(l, HEAP_malloc, true) {
        /* id(10) == id(10): both come from the cache, nothing is allocated. */
        obj_t *a = l.ops->int_new(l.ts, 10), *b = l.ops->int_new(l.ts, 10);
        cr_assert_eq(a, b, "%s: 10 is 10", l.what);
        cr_assert_eq(a, lab_small_int(&l, 10), "%s: 10 comes from the small-int cache", l.what);
        cr_assert_eq(int_value(a), 10);
        cr_assert_eq(interp_live_objects(l.interp), l.live0, "%s: cached ints are not allocated", l.what);

        /* The cache's edges: -5 and 256 are in it, -6 and 257 are not. */
        cr_assert_eq(l.ops->int_new(l.ts, -5), lab_small_int(&l, -5));
        cr_assert_eq(l.ops->int_new(l.ts, 256), lab_small_int(&l, 256));
        cr_assert_eq(int_value(lab_small_int(&l, -5)), -5);
        cr_assert_eq(int_value(lab_small_int(&l, 256)), 256);

        /* id(257) != id(257): two separate heap objects, one reference each. */
        obj_t *c = l.ops->int_new(l.ts, 257), *d = l.ops->int_new(l.ts, 257);
        obj_t *e = l.ops->int_new(l.ts, -6);
        cr_assert_neq(c, d, "%s: 257 is not 257", l.what);
        cr_assert_eq(int_value(c), 257);
        cr_assert_eq(int_value(d), 257);
        cr_assert_eq(int_value(e), -6);
        cr_assert_eq(c->type, &int_types[l.layout]);
        cr_assert_eq(lab_rc(&l, c), 1);
        cr_assert_eq(lab_rc(&l, d), 1);
        cr_assert_not(obj_is_immortal(c, l.layout));
        cr_assert_eq(interp_live_objects(l.interp), l.live0 + 3);
        l.ops->decref(l.ts, c);
        l.ops->decref(l.ts, d);
        l.ops->decref(l.ts, e);
        cr_assert_eq(interp_live_objects(l.interp), l.live0, "%s", l.what);

        /* Extreme values round-trip. */
        obj_t *big = l.ops->int_new(l.ts, INT64_MAX), *low = l.ops->int_new(l.ts, INT64_MIN);
        cr_assert_eq(int_value(big), INT64_MAX);
        cr_assert_eq(int_value(low), INT64_MIN);
        l.ops->decref(l.ts, big);
        l.ops->decref(l.ts, low);
        cr_assert_eq(interp_live_objects(l.interp), l.live0);
    }
}

Test(objects, immortal_objects_never_change)
{
    enum { N = 1000 };
    FOR_EACH_GUARD(l, HEAP_malloc, true) {
        interp_t *in = l.interp;
        obj_t *statics[LAB_NSTATICS];   /* None, True, False, the small ints */
        snap_t before[LAB_NSTATICS];
        for (int i = 0; i < LAB_NSTATICS; i++) {
            statics[i] = lab_static(&l, i);
            cr_assert(obj_is_immortal(statics[i], l.layout), "%s: static %d is immortal", l.what, i);
            if (l.layout == OBJ_LAYOUT_DEFAULT) {
                cr_assert_eq(obj_dflt(statics[i])->refcnt, OBJ_IMMORTAL_REFCNT);
            } else {
                cr_assert_eq(obj_ft(statics[i])->ref_local, OBJ_IMMORTAL_LOCAL);
                cr_assert_eq(obj_ft(statics[i])->tid, 0);
            }
            before[i] = snap(&l, statics[i]);
        }
        uint64_t freed0 = l.ts->count.objects_freed;

        /* Balanced traffic, then far more decrefs than increfs: a mortal
         * object would be freed (and the singletons' dealloc aborts). */
        for (int i = 0; i < LAB_NSTATICS; i++) {
            for (int k = 0; k < N; k++)
                l.ops->incref(l.ts, statics[i]);
            for (int k = 0; k < 3 * N; k++)
                l.ops->decref(l.ts, statics[i]);
        }
        for (int i = 0; i < LAB_NSTATICS; i++)
            assert_same(&l, statics[i], before[i], "an immortal object");
        cr_assert_eq(l.ts->count.objects_freed, freed0, "%s: immortal objects are never freed", l.what);
        cr_assert_eq(lab_rc(&l, interp_none(in)), OBJ_IMMORTAL_REFCNT);

        /* Creating them through the constructors does not count either. */
        for (int k = 0; k < N; k++)
            cr_assert_eq(l.ops->int_new(l.ts, 42), lab_small_int(&l, 42));
        assert_same(&l, lab_small_int(&l, 42), before[3 + 42 - SMALL_INT_MIN], "42");
    }
}

Test(objects, no_immortal_makes_statics_ordinary)
{
    FOR_EACH_GUARD(l, HEAP_malloc, false) {
        interp_t *in = l.interp;
        obj_t *statics[] = {interp_none(in), interp_true(in), interp_false(in), lab_small_int(&l, 10),
                            lab_small_int(&l, -5), lab_small_int(&l, 256)};
        uint64_t freed0 = l.ts->count.objects_freed;

        for (size_t i = 0; i < sizeof(statics) / sizeof(statics[0]); i++) {
            obj_t *o = statics[i];
            cr_assert_not(obj_is_immortal(o, l.layout), "%s: static %zu is mortal with --no-immortal", l.what, i);
            cr_assert_eq(lab_rc(&l, o), 1, "%s: the interpreter holds one reference", l.what);
            intptr_t raw = raw_count(&l, o);
            l.ops->incref(l.ts, o);
            cr_assert_eq(lab_rc(&l, o), 2, "%s: static %zu counts", l.what, i);
            /* no owner in the free-threaded header: the shared field counts */
            cr_assert_eq(raw_count(&l, o) - raw,
                         l.layout == OBJ_LAYOUT_FT ? (intptr_t)1 << BRC_SHARED_SHIFT : 1,
                         "%s: the count field moved by one", l.what);
            l.ops->decref(l.ts, o);
            cr_assert_eq(lab_rc(&l, o), 1);
            cr_assert_eq(raw_count(&l, o), raw);
        }

        /* The cache still hands out the same object, with a new reference. */
        obj_t *ten = l.ops->int_new(l.ts, 10);
        cr_assert_eq(ten, lab_small_int(&l, 10));
        cr_assert_eq(lab_rc(&l, ten), 2, "%s: int_new(10) is a new reference", l.what);
        l.ops->decref(l.ts, ten);
        cr_assert_eq(lab_rc(&l, ten), 1);
        cr_assert_eq(l.ts->count.objects_freed, freed0, "%s: statics are never freed", l.what);
    }
}

Test(objects, freed_at_refcount_zero)
{
    FOR_EACH_GUARD(l, HEAP_malloc, true) {
        uint64_t alloc0 = l.ts->count.objects_allocated, freed0 = l.ts->count.objects_freed;

        obj_t *o = l.ops->int_new(l.ts, 1000);
        cr_assert_eq(l.ts->count.objects_allocated, alloc0 + 1);
        cr_assert_eq(interp_live_objects(l.interp), l.live0 + 1);
        cr_assert_eq(lab_rc(&l, o), 1);
        for (int k = 0; k < 5; k++)
            l.ops->incref(l.ts, o);
        cr_assert_eq(lab_rc(&l, o), 6, "%s", l.what);
        for (int k = 0; k < 5; k++)
            l.ops->decref(l.ts, o);
        cr_assert_eq(lab_rc(&l, o), 1, "%s", l.what);
        cr_assert_eq(l.ts->count.objects_freed, freed0, "%s: not freed while referenced", l.what);
        l.ops->decref(l.ts, o);
        cr_assert_eq(l.ts->count.objects_freed, freed0 + 1, "%s: freed at zero", l.what);
        cr_assert_eq(interp_live_objects(l.interp), l.live0, "%s", l.what);

        obj_t *list = l.ops->list_new(l.ts, 0);
        cr_assert_eq(interp_live_objects(l.interp), l.live0 + 1);
        l.ops->decref(l.ts, list);
        cr_assert_eq(l.ts->count.objects_freed, freed0 + 2);
        cr_assert_eq(interp_live_objects(l.interp), l.live0, "%s", l.what);
    }
}

Test(objects, list_append_over_allocation)
{
    /* CPython's list_resize: what `allocated` is after each append. */
    static const intptr_t expected[] = {0, 4, 8, 16, 24, 32, 40, 52, 64, 76};
    enum { NEXP = sizeof(expected) / sizeof(expected[0]), NITEMS = 76 };
    FOR_EACH_GUARD(l, HEAP_pymalloc, true) {
        uint64_t freed0 = l.ts->count.objects_freed;
        obj_t *items[NITEMS];

        obj_t *o = l.ops->list_new(l.ts, 0);
        list_obj_t *list = (list_obj_t *)o;
        intptr_t seen[NEXP + 4];
        int nseen = 0;
        seen[nseen++] = list->allocated;
        cr_assert_eq(list->size, 0);
        for (int i = 0; i < NITEMS; i++) {
            items[i] = l.ops->int_new(l.ts, 1000 + i);
            cr_assert_eq(l.ops->list_append(l.ts, o, items[i]), 0, "%s: append %d", l.what, i);
            cr_assert_eq(list->size, i + 1);
            cr_assert_geq(list->allocated, list->size);
            if (list->allocated != seen[nseen - 1]) {
                cr_assert_lt(nseen, NEXP + 4, "%s: too many resizes", l.what);
                seen[nseen++] = list->allocated;
            }
        }
        cr_assert_eq(nseen, NEXP, "%s: %d distinct sizes, expected %d", l.what, nseen, (int)NEXP);
        for (int i = 0; i < NEXP; i++)
            cr_assert_eq(seen[i], expected[i], "%s: allocation %d is %ld, CPython has %ld", l.what, i,
                         (long)seen[i], (long)expected[i]);
        for (int i = 0; i < NITEMS; i++) {
            cr_assert_eq(list->items[i], items[i], "%s: item %d kept its place", l.what, i);
            cr_assert_eq(lab_rc(&l, items[i]), 1, "%s: append stole the reference", l.what);
        }
        cr_assert_eq(interp_live_objects(l.interp), l.live0 + NITEMS + 1);

        l.ops->decref(l.ts, o);
        cr_assert_eq(l.ts->count.objects_freed, freed0 + NITEMS + 1, "%s: list and items freed", l.what);
        cr_assert_eq(interp_live_objects(l.interp), l.live0);
        /* The list object itself went to the freelist (CPython 3.12 keeps
         * up to 80); the item array was freed. */
        pym_stats_t st;
        pym_get_stats(l.interp->heap.pym, &st);
        cr_assert_eq(st.bytes_in_use, pym_class_size(sizes_list_alloc(l.layout) + sizes_lab_extra(l.layout)),
                     "%s: only the list object is kept, on the freelist", l.what);
        lab_clear_freelists(&l);
        pym_get_stats(l.interp->heap.pym, &st);
        cr_assert_eq(st.bytes_in_use, 0, "%s: the item array was freed too", l.what);
    }
}

Test(objects, list_dealloc_releases_items)
{
    FOR_EACH_GUARD(l, HEAP_malloc, false) {
        uint64_t freed0 = l.ts->count.objects_freed;
        interp_t *in = l.interp;

        obj_t *kept = l.ops->int_new(l.ts, 5000);       /* we keep a reference */
        obj_t *only = l.ops->int_new(l.ts, 6000);       /* the list's alone */
        obj_t *inner = l.ops->list_new(l.ts, 0);
        obj_t *deep = l.ops->int_new(l.ts, 7000);
        cr_assert_eq(l.ops->list_append(l.ts, inner, deep), 0);

        obj_t *outer = l.ops->list_new(l.ts, 0);
        l.ops->incref(l.ts, kept);
        cr_assert_eq(l.ops->list_append(l.ts, outer, kept), 0);
        cr_assert_eq(l.ops->list_append(l.ts, outer, only), 0);
        cr_assert_eq(l.ops->list_append(l.ts, outer, inner), 0);
        cr_assert_eq(l.ops->list_append(l.ts, outer, l.ops->int_new(l.ts, 5)), 0);
        l.ops->incref(l.ts, interp_none(in));
        cr_assert_eq(l.ops->list_append(l.ts, outer, interp_none(in)), 0);
        l.ops->incref(l.ts, kept);   /* twice in the list */
        cr_assert_eq(l.ops->list_append(l.ts, outer, kept), 0);

        cr_assert_eq(lab_rc(&l, kept), 3);
        cr_assert_eq(lab_rc(&l, lab_small_int(&l, 5)), 2);
        cr_assert_eq(lab_rc(&l, interp_none(in)), 2);
        cr_assert_eq(interp_live_objects(l.interp), l.live0 + 5);

        l.ops->decref(l.ts, outer);
        cr_assert_eq(lab_rc(&l, kept), 1, "%s: both of the list's references dropped", l.what);
        cr_assert_eq(lab_rc(&l, lab_small_int(&l, 5)), 1, "%s: (mortal) 5 released", l.what);
        cr_assert_eq(lab_rc(&l, interp_none(in)), 1, "%s: None released", l.what);
        cr_assert_eq(l.ts->count.objects_freed, freed0 + 4, "%s: outer, only, inner and deep freed", l.what);
        cr_assert_eq(interp_live_objects(l.interp), l.live0 + 1);
        l.ops->decref(l.ts, kept);
        cr_assert_eq(interp_live_objects(l.interp), l.live0);
    }
}

/* ---- the allocator test, once per allocator kind --------------------- */

ParameterizedTestParameters(objects, allocator)
{
    static heap_kind_t kinds[HEAP_COUNT];
    for (int i = 0; i < HEAP_COUNT; i++)
        kinds[i] = (heap_kind_t)i;
    return cr_make_param_array(heap_kind_t, kinds, HEAP_COUNT);
}

static void check_pym(const lab_t *l, const char *what)
{
    if (l->interp->heap.kind != HEAP_pymalloc)
        return;
    char err[256] = "";
    cr_assert_eq(pym_check(l->interp->heap.pym, err, sizeof(err)), 0, "%s: pym_check: %s", what, err);
}

ParameterizedTest(heap_kind_t *kind, objects, allocator)
{
    enum { NINTS = 20000, NLISTS = 200, PER_LIST = 100 };
    obj_t **ints = malloc(NINTS * sizeof(*ints));
    obj_t **lists = malloc(NLISTS * sizeof(*lists));
    cr_assert_not_null(ints);
    cr_assert_not_null(lists);
    FOR_EACH_GUARD(l, *kind, true) {
        char what[sizeof(l.what) + 16];
        snprintf(what, sizeof(what), "%s/%s", l.what, heap_kind_name(*kind));
        cr_assert_eq(l.interp->heap.kind, *kind);
        pym_stats_t st0 = {0}, st;
        if (*kind == HEAP_pymalloc)
            pym_get_stats(l.interp->heap.pym, &st0);
        int64_t blocks0 = heap_allocated_blocks(&l.interp->heap);

        for (int i = 0; i < NINTS; i++) {
            ints[i] = l.ops->int_new(l.ts, 1000 + i);
            cr_assert_not_null(ints[i], "%s: %s", what, l.ts->error);
            cr_assert_eq(int_value(ints[i]), 1000 + i);
        }
        /* Item arrays grow past pymalloc's 512-byte limit: the large path. */
        for (int i = 0; i < NLISTS; i++) {
            lists[i] = l.ops->list_new(l.ts, 0);
            cr_assert_not_null(lists[i], "%s: %s", what, l.ts->error);
            for (int k = 0; k < PER_LIST; k++)
                cr_assert_eq(l.ops->list_append(l.ts, lists[i], l.ops->int_new(l.ts, -1000 - k)), 0);
        }
        cr_assert_eq(interp_live_objects(l.interp), l.live0 + NINTS + NLISTS * (1 + PER_LIST), "%s", what);
        check_pym(&l, what);
        if (*kind == HEAP_pymalloc) {
            pym_get_stats(l.interp->heap.pym, &st);
            cr_assert_gt(st.bytes_in_use, st0.bytes_in_use);
            cr_assert_eq(st.raw_blocks - st0.raw_blocks, NLISTS, "%s: item arrays are large", what);
        }
        if (*kind != HEAP_malloc)   /* every object and item array is a block */
            cr_assert_eq(heap_allocated_blocks(&l.interp->heap) - blocks0,
                         NINTS + NLISTS * (2 + PER_LIST), "%s: sys.getallocatedblocks()", what);
        else
            cr_assert_eq(heap_allocated_blocks(&l.interp->heap), -1, "glibc cannot count its blocks");
        /* Every value still intact (no block handed out twice). */
        for (int i = 0; i < NINTS; i++)
            cr_assert_eq(int_value(ints[i]), 1000 + i, "%s: int %d overwritten", what, i);

        /* Free in an interleaved order: odd ints, lists, even ints. */
        for (int i = 1; i < NINTS; i += 2)
            l.ops->decref(l.ts, ints[i]);
        check_pym(&l, what);
        for (int i = 0; i < NLISTS; i++)
            l.ops->decref(l.ts, lists[i]);
        for (int i = 0; i < NINTS; i += 2)
            l.ops->decref(l.ts, ints[i]);

        cr_assert_eq(interp_live_objects(l.interp), l.live0, "%s: live count back to baseline", what);
        lab_clear_freelists(&l);   /* the dead lists' objects, kept for reuse */
        check_pym(&l, what);
        if (*kind == HEAP_pymalloc) {
            pym_get_stats(l.interp->heap.pym, &st);
            cr_assert_eq(st.bytes_in_use, st0.bytes_in_use, "%s: bytes in use back to baseline", what);
            cr_assert_eq(st.raw_blocks, st0.raw_blocks, "%s", what);
        }
        if (*kind != HEAP_malloc)
            cr_assert_eq(heap_allocated_blocks(&l.interp->heap), blocks0, "%s: every block freed", what);
    }
    free(ints);
    free(lists);
}
