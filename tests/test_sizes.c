/* tests/test_sizes.c: lab/sizes.h against CPython's own arithmetic, and
 * the lab's real objects against lab/sizes.h.
 *
 * The expected numbers are written from CPython's definitions, not from
 * sizes.h, so that a slip in one is not copied into the other:
 *
 *                                   default build 3.12   free-threaded 3.13t
 *   sizeof(PyObject)                        16                 32
 *   offsetof(PyLongObject, ob_digit)        24                 40
 *   PyGC_Head in front of a container       16                  0
 *   sizeof(PyListObject)                    40                 56
 *   Node (__slots__ next, data)             32                 48
 *
 *   int.__sizeof__ = offsetof(ob_digit) + 4 * max(ndigits, 1), 30-bit digits
 *   _PyLong_FromMedium allocates sizeof(PyLongObject) (one digit, rounded
 *   up to 8); _PyLong_New exactly int.__sizeof__
 *   sys.getsizeof = __sizeof__ + the PyGC_Head of a container
 *   a list's item array is a block of its own: 8 bytes a slot, plus, in
 *   3.13t, an 8-byte _PyListArray header the lab does not model
 *   list_resize grows to newsize + newsize/8 + 6, rounded down to 4
 *
 * and the sys.getsizeof numbers CPython prints (28 for 1, 56 for [], the
 * append series 88, 120, 184, ...) are spelled out as printed.
 */
#include <criterion/criterion.h>
#define CHECK(cond, ...) cr_assert(cond, __VA_ARGS__)

#include <stdint.h>

#include "lab/interp.h"
#include "lab/pymalloc.h"
#include "lab/sizes.h"
#include "lab_fixture.h"

typedef struct cpython_layout {
    size_t object, digit_offset, gc_head, list_object, node;
} cpython_layout_t;

static const cpython_layout_t cpython[OBJ_LAYOUT_COUNT] = {
    [OBJ_LAYOUT_DEFAULT] = {16, 24, 16, 40, 32},
    [OBJ_LAYOUT_FT] = {32, 40, 0, 56, 48},
};

/* Digits of v, counted by the definition: the smallest n with
 * |v| < 2**(30 n), at least one. */
static int digits_of(int64_t v)
{
    uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    int n = 1;
    while (n < 3 && mag >= UINT64_C(1) << (30 * n))
        n++;
    return n;
}

static const int64_t boundaries[] = {
    0, 1, -1, 256, 257, -5, -6, 1000, (INT64_C(1) << 30) - 1, INT64_C(1) << 30,
    -(INT64_C(1) << 30), (INT64_C(1) << 60) - 1, INT64_C(1) << 60, -(INT64_C(1) << 60),
    INT64_MAX, INT64_MIN,
};
#define NBOUNDARIES (sizeof boundaries / sizeof boundaries[0])

Test(sizes, int_getsizeof_is_cpythons_formula_at_every_boundary)
{
    for (int layout = 0; layout < OBJ_LAYOUT_COUNT; layout++) {
        const cpython_layout_t *c = &cpython[layout];
        for (size_t k = 0; k < NBOUNDARIES; k++) {
            int64_t v = boundaries[k];
            int n = digits_of(v);
            cr_expect_eq(int_ndigits(v), n, "%lld: %d digits, CPython needs %d", (long long)v,
                         int_ndigits(v), n);
            cr_expect_eq(sizes_int(layout, v), c->digit_offset + 4u * (size_t)n,
                         "layout %d: sys.getsizeof(%lld)", layout, (long long)v);
        }
    }
}

Test(sizes, int_getsizeof_as_cpython_prints_it)
{
    /* 3.12: 28, 32, 36; 3.13t: 44, 48, 52. */
    static const struct {
        int64_t v;
        size_t dflt, ft;
    } printed[] = {
        {0, 28, 44}, {1, 28, 44}, {-1, 28, 44}, {(INT64_C(1) << 30) - 1, 28, 44},
        {INT64_C(1) << 30, 32, 48}, {-(INT64_C(1) << 30), 32, 48}, {INT64_C(1) << 60, 36, 52},
    };
    for (size_t k = 0; k < sizeof printed / sizeof printed[0]; k++) {
        cr_expect_eq(sizes_int(OBJ_LAYOUT_DEFAULT, printed[k].v), printed[k].dflt, "%lld",
                     (long long)printed[k].v);
        cr_expect_eq(sizes_int(OBJ_LAYOUT_FT, printed[k].v), printed[k].ft, "%lld",
                     (long long)printed[k].v);
    }
}

Test(sizes, int_allocation_is_the_one_digit_struct_or_exact)
{
    for (int layout = 0; layout < OBJ_LAYOUT_COUNT; layout++) {
        size_t one_digit_struct = (cpython[layout].digit_offset + 4 + 7) & ~(size_t)7;
        for (size_t k = 0; k < NBOUNDARIES; k++) {
            int64_t v = boundaries[k];
            size_t expect = digits_of(v) == 1 ? one_digit_struct : sizes_int(layout, v);
            cr_expect_eq(sizes_int_alloc(layout, v), expect, "layout %d: allocating %lld", layout,
                         (long long)v);
        }
    }
    /* The seed's "28 bytes in a 32-byte block"; 3.13t's 44 in 48. */
    cr_expect_eq(pym_class_size(sizes_int_alloc(OBJ_LAYOUT_DEFAULT, 1000)), 32);
    cr_expect_eq(pym_class_size(sizes_int_alloc(OBJ_LAYOUT_FT, 1000)), 48);
    cr_expect_eq(pym_class_size(sizes_int_alloc(OBJ_LAYOUT_DEFAULT, INT64_C(1) << 60)), 48);
}

Test(sizes, containers_and_singletons)
{
    for (int layout = 0; layout < OBJ_LAYOUT_COUNT; layout++) {
        const cpython_layout_t *c = &cpython[layout];
        cr_expect_eq(sizes_object(layout), c->object, "layout %d: sys.getsizeof(None)", layout);
        cr_expect_eq(sizes_list(layout, 0), c->gc_head + c->list_object, "layout %d: []", layout);
        cr_expect_eq(sizes_list_alloc(layout), c->gc_head + c->list_object);
        cr_expect_eq(sizes_node_alloc(layout), c->gc_head + c->node, "layout %d: Node()", layout);
        cr_expect_eq(sizes_list(layout, 8), c->gc_head + c->list_object + 64);
        /* 3.13t's item array carries its capacity in front (_PyListArray). */
        cr_expect_eq(sizes_list_items_cpython(layout, 8), (layout == OBJ_LAYOUT_FT ? 8u : 0u) + 64);
        cr_expect_eq(sizes_list_items_cpython(layout, 0), 0);
        /* The lab's ring link: 16 bytes CPython 3.13t does not have. */
        cr_expect_eq(sizes_lab_extra(layout), layout == OBJ_LAYOUT_FT ? 16u : 0u);
        cr_expect_eq(sizes_gc_prefix(layout) + sizes_lab_extra(layout), sizes_lab_link());
    }
    cr_expect_eq(sizes_list(OBJ_LAYOUT_DEFAULT, 0), 56);
    cr_expect_eq(sizes_list(OBJ_LAYOUT_FT, 0), 56);
    cr_expect_eq(sizes_node_alloc(OBJ_LAYOUT_DEFAULT), 48);
}

Test(sizes, list_growth_is_list_resize)
{
    /* Objects/listobject.c: "The growth pattern is: 0, 4, 8, 16, 24, 32,
     * 40, 52, 64, 76, ..." */
    static const intptr_t pattern[] = {0, 4, 8, 16, 24, 32, 40, 52, 64, 76, 92, 108, 128};
    size_t step = 0;
    for (intptr_t n = 0; n <= 128; n++) {
        intptr_t allocated = sizes_list_appended(n);
        while (step + 1 < sizeof pattern / sizeof pattern[0] && pattern[step] < n)
            step++;
        cr_expect_eq(allocated, pattern[step], "%ld appends: %ld slots, CPython has %ld", (long)n,
                     (long)allocated, (long)pattern[step]);
    }
    /* sys.getsizeof of a list made by appends, as CPython 3.9+ prints it. */
    cr_expect_eq(sizes_list(OBJ_LAYOUT_DEFAULT, sizes_list_appended(1)), 88);
    cr_expect_eq(sizes_list(OBJ_LAYOUT_DEFAULT, sizes_list_appended(5)), 120);
    cr_expect_eq(sizes_list(OBJ_LAYOUT_DEFAULT, sizes_list_appended(17)), 248);
    cr_expect_eq(sizes_list(OBJ_LAYOUT_DEFAULT, sizes_list_appended(100)), 920);
    /* A growth bigger than the over-allocation is taken exactly
     * ([].extend(range(100)): 856 bytes). */
    cr_expect_eq(sizes_list_grow(0, 100), 100);
    cr_expect_eq(sizes_list(OBJ_LAYOUT_DEFAULT, (intptr_t)sizes_list_grow(0, 100)), 856);
}

/* Bytes pymalloc hands out now. */
static uint64_t bytes_in_use(const lab_t *l)
{
    pym_stats_t st;
    pym_get_stats(l->interp->heap.pym, &st);
    return st.bytes_in_use;
}

Test(sizes, the_labs_objects_take_what_sizes_h_says)
{
    FOR_EACH_GUARD(l, HEAP_pymalloc, true) {
        obj_layout_t layout = l.layout;
        for (size_t k = 0; k < NBOUNDARIES; k++) {
            int64_t v = boundaries[k];
            uint64_t before = bytes_in_use(&l);
            obj_t *o = l.ops->int_new(l.ts, v);
            bool cached = v >= SMALL_INT_MIN && v <= SMALL_INT_MAX;
            cr_assert_not_null(o);
            cr_expect_eq(bytes_in_use(&l) - before, cached ? 0 : pym_class_size(sizes_int_alloc(layout, v)),
                         "%s: int %lld", l.what, (long long)v);
            l.ops->decref(l.ts, o);
        }

        static const intptr_t appends[] = {0, 1, 5, 17, 40};
        for (size_t k = 0; k < sizeof appends / sizeof appends[0]; k++) {
            uint64_t before = bytes_in_use(&l);
            obj_t *list = l.ops->list_new(l.ts, 0);
            cr_assert_not_null(list);
            for (intptr_t i = 0; i < appends[k]; i++)
                cr_assert_eq(l.ops->list_append(l.ts, list, l.ops->int_new(l.ts, 0)), 0);
            intptr_t allocated = sizes_list_appended(appends[k]);
            cr_expect_eq(((list_obj_t *)list)->allocated, allocated);
            cr_expect_eq(bytes_in_use(&l) - before,
                         pym_class_size(sizes_list_alloc(layout) + sizes_lab_extra(layout)) +
                             (allocated ? pym_class_size(sizes_list_items(allocated)) : 0),
                         "%s: list of %ld appends", l.what, (long)appends[k]);
            l.ops->decref(l.ts, list);
            lab_clear_freelists(&l);
        }

        uint64_t before = bytes_in_use(&l);
        obj_t *node = l.ops->node_new(l.ts);
        cr_assert_not_null(node);
        cr_expect_eq(bytes_in_use(&l) - before,
                     pym_class_size(sizes_node_alloc(layout) + sizes_lab_extra(layout)), "%s: Node()",
                     l.what);
        l.ops->decref(l.ts, node);
    }
}
