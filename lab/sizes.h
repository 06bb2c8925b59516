/* lab/sizes.h: how big CPython makes each object, in one place, for both
 * the allocations the interpreter loop makes and what `gil-lab sizes` and
 * the teaching views print.
 *
 * Two numbers per object, as CPython has them:
 *
 *   alloc     the bytes asked of the allocator (PyObject_Malloc): header +
 *             payload, plus the PyGC_Head in front of a default-build
 *             container (_PyType_PreHeaderSize);
 *   getsizeof what sys.getsizeof reports: __sizeof__ plus that pre-header,
 *             and for a list its item array too (list.__sizeof__ adds
 *             allocated * 8).
 *
 * Sizes are CPython 3.12's for the default build and 3.13's for the
 * free-threaded one (Objects/longobject.c int___sizeof__, _PyLong_New,
 * _PyLong_FromMedium; Objects/listobject.c list___sizeof___impl;
 * Python/sysmodule.c _PySys_GetSizeOf).
 */
#ifndef GL_SIZES_H
#define GL_SIZES_H

#include <stddef.h>
#include <stdint.h>

#include "lab/object.h"

/* The CPython version whose sizes `layout` models: "3.12" (default
 * build), "3.13" (free-threaded build). Cannot fail. */
static inline const char *sizes_cpython_version(obj_layout_t layout)
{
    return layout == OBJ_LAYOUT_DEFAULT ? "3.12" : "3.13";
}

/* sizeof(PyObject) in `layout`. */
static inline size_t sizes_object(obj_layout_t layout)
{
    return obj_head_size(layout) + sizeof(obj_t);
}

/* The PyGC_Head in front of a container: 16 bytes in the default build;
 * the free-threaded build keeps its collector state in the header. */
static inline size_t sizes_gc_prefix(obj_layout_t layout)
{
    return layout == OBJ_LAYOUT_DEFAULT ? sizeof(gc_head_t) : 0;
}

/* The link the lab puts in front of a container: the default build's
 * PyGC_Head (CPython's own pre-header), or in the free-threaded build the
 * lab's ring link, which CPython does not have (lab/gc_ft.h): 16 bytes
 * either way, always part of the block the lab allocates. */
static inline size_t sizes_lab_link(void)
{
    return sizeof(gc_head_t);
}

/* What the lab adds to a container beyond CPython's own bytes: 16 in the
 * free-threaded build, none in the default one. */
static inline size_t sizes_lab_extra(obj_layout_t layout)
{
    return sizes_lab_link() - sizes_gc_prefix(layout);
}

/* offsetof(PyLongObject, long_value.ob_digit) + 4 * max(ndigits, 1):
 * int.__sizeof__, which sys.getsizeof reports as is (ints are no
 * containers). 28 for small values in the default build. */
static inline size_t sizes_int(obj_layout_t layout, int64_t v)
{
    return sizes_object(layout) + INT_PAYLOAD(int_ndigits(v));
}

/* What allocating the int v asks for: a compact value (one digit) is made
 * by _PyLong_FromMedium with sizeof(PyLongObject) (the one-digit struct,
 * rounded up to its alignment); a larger one by _PyLong_New with exactly
 * sizes_int. */
static inline size_t sizes_int_alloc(obj_layout_t layout, int64_t v)
{
    size_t exact = sizes_int(layout, v);
    return int_ndigits(v) == 1 ? (exact + 7) & ~(size_t)7 : exact;
}

/* The list object's block: PyGC_Head (default build) + PyListObject. */
static inline size_t sizes_list_alloc(obj_layout_t layout)
{
    return sizes_gc_prefix(layout) + obj_head_size(layout) + sizeof(list_obj_t);
}

/* A Node's block (a class with two __slots__): PyGC_Head (default build) +
 * PyObject + two slots; sys.getsizeof says the same. */
static inline size_t sizes_node_alloc(obj_layout_t layout)
{
    return sizes_gc_prefix(layout) + sizes_object(layout) + sizeof(node_obj_t) - sizeof(obj_t);
}

/* A list's item array of `allocated` slots: a separate block
 * (PyMem_Malloc in list_resize and PyList_New). */
static inline size_t sizes_list_items(intptr_t allocated)
{
    return (size_t)allocated * sizeof(obj_t *);
}

/* What CPython allocates for that item array: in the free-threaded build
 * an 8-byte header (_PyListArray's own `allocated`, which lock-free
 * readers check an index against; Objects/listobject.c
 * list_allocate_array) comes in front of the slots. The lab's arrays have
 * no such header in either layout, and sys.getsizeof does not count it.
 * None for an empty list, which has no array. */
static inline size_t sizes_list_items_cpython(obj_layout_t layout, intptr_t allocated)
{
    if (allocated == 0)
        return 0;
    return (layout == OBJ_LAYOUT_FT ? sizeof(intptr_t) : 0) + sizes_list_items(allocated);
}

/* sys.getsizeof of a list with `allocated` slots: the object, its
 * pre-header and its item array (list.__sizeof__). */
static inline size_t sizes_list(obj_layout_t layout, intptr_t allocated)
{
    return sizes_list_alloc(layout) + sizes_list_items(allocated);
}

/* The slots list_resize gives a list of `size` items that grows to
 * `newsize` (Objects/listobject.c, 3.9+): newsize + newsize/8 + 6, rounded
 * down to a multiple of 4, so that appends are amortised O(1); or newsize
 * rounded up to a multiple of 4 when the growth is bigger than that
 * over-allocation (list.extend of many items). Appending one item at a time
 * from [] gives 0, 4, 8, 16, 24, 32, 40, 52, 64, 76, ... */
static inline size_t sizes_list_grow(intptr_t size, intptr_t newsize)
{
    size_t grown = ((size_t)newsize + ((size_t)newsize >> 3) + 6) & ~(size_t)3;
    if ((size_t)(newsize - size) > grown - (size_t)newsize)
        grown = ((size_t)newsize + 3) & ~(size_t)3;
    return grown;
}

/* The slots of a list made by `n` appends to []: each append that finds
 * no free slot resizes it. Cannot fail. */
static inline intptr_t sizes_list_appended(intptr_t n)
{
    intptr_t allocated = 0;
    for (intptr_t size = 0; size < n; size++)
        if (size == allocated)
            allocated = (intptr_t)sizes_list_grow(size, size + 1);
    return allocated;
}

#endif
