/* lab/object.h: the lab's object model, a miniature of CPython's PyObject,
 * laid out byte for byte as the two CPython builds lay it out.
 *
 * THE TWO LAYOUTS
 *
 * The guards with a GIL (none, gil) model CPython 3.12's default build; the
 * free-threaded guards (atomic, biased) model CPython 3.13t (Py_GIL_DISABLED,
 * Include/object.h). An object in memory, lowest address first:
 *
 *   default build, 16-byte header:
 *
 *       [ PyGC_Head: gc_next, gc_prev ]   16 bytes, containers only
 *       [ ob_refcnt                   ]    8
 *       [ ob_type                     ]    8    <- obj_t * points here
 *       [ payload ...                 ]
 *
 *   free-threaded build, 32-byte header:
 *
 *       [ ob_tid                      ]    8    owner thread (biased), 0 = none
 *       [ _padding                    ]    2
 *       [ ob_mutex                    ]    1    per-object lock (PyMutex)
 *       [ ob_gc_bits                  ]    1    collector state
 *       [ ob_ref_local                ]    4    owner's count (biased)
 *       [ ob_ref_shared               ]    8    shared count << 2 | state
 *       [ ob_type                     ]    8    <- obj_t * points here
 *       [ payload ...                 ]
 *
 * CPython's PyObject * points at the first header byte; the lab's obj_t *
 * points at ob_type, and each guard reaches its header fields at fixed
 * negative offsets (obj_dflt, obj_ft). The bytes are CPython's; only the
 * pointer convention differs, so that the code every guard shares (the
 * type, the payload) is written once for both layouts.
 *
 * Payloads are CPython's too: an int is a PyLongObject of 3.12 (lv_tag, then
 * 30-bit digits), a list a PyListObject (ob_size, ob_item, allocated, the
 * items in a separate array), so sizes, pymalloc size classes and memory
 * figures are the real ones: an int below 2**30 takes 28 bytes (16 + 8 + 4)
 * in the default build, in a 32-byte block; 44 in the free-threaded build.
 * lab/sizes.h computes every size as sys.getsizeof does.
 *
 * IMMORTAL OBJECTS (PEP 683)
 *
 * Small ints -5..256, None, True and False are immortal: ob_refcnt ==
 * UINT32_MAX in the default build ((int32_t)ob_refcnt < 0 is the test, as in
 * 3.12), ob_ref_local == UINT32_MAX in the free-threaded one. Refcount
 * operations on them do nothing and they are never freed. With
 * --no-immortal they are ordinary objects that the interpreter holds one
 * reference to, as before CPython 3.12.
 *
 * Biased state bits (the low two bits of ob_ref_shared):
 *   00 default   shared count in ob_ref_shared >> 2, owner counts locally
 *   01 weakrefs  (unused by the lab; kept so the encoding matches CPython)
 *   10 queued    a non-owner would have taken the shared count below zero
 *                and handed the object to its owner's merge queue
 *   11 merged    owner and shared counts merged into ob_ref_shared; tid 0
 */
#ifndef GL_OBJECT_H
#define GL_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tstate tstate_t;
typedef struct type type_t;

/* Which CPython build's object layout an interpreter uses. */
typedef enum obj_layout {
    OBJ_LAYOUT_DEFAULT,   /* CPython 3.12, with the GIL */
    OBJ_LAYOUT_FT,        /* CPython 3.13t, free-threaded */
    OBJ_LAYOUT_COUNT
} obj_layout_t;

/* Every object, seen from the code all layouts share: its type, then the
 * type's payload. */
typedef struct obj {
    const type_t *type;
} obj_t;

/* The default build's header, before ob_type. */
typedef struct obj_head_dflt {
    intptr_t refcnt;              /* ob_refcnt (3.12: low 32 bits count) */
} obj_head_dflt_t;

/* The free-threaded header, before ob_type (CPython 3.13t field order). */
typedef struct obj_head_ft {
    uintptr_t tid;                /* ob_tid: owning thread's id, 0 = no owner */
    uint16_t padding;             /* _padding */
    uint8_t mutex;                /* ob_mutex: per-object lock (gil/objlock.h) */
    uint8_t gc_bits;              /* ob_gc_bits */
    uint32_t ref_local;           /* ob_ref_local: owner's count; UINT32_MAX = immortal */
    intptr_t ref_shared;          /* ob_ref_shared: shared count << 2 | state */
} obj_head_ft_t;

/* ob_gc_bits (_PyGC_BITS_*): the free-threaded build keeps a container's
 * collector state here. The lab uses TRACKED and FROZEN. */
#define GC_BITS_TRACKED 1u
#define GC_BITS_FINALIZED 2u
#define GC_BITS_UNREACHABLE 4u
#define GC_BITS_FROZEN 8u

/* PyGC_Head: in front of every container of the default build. */
typedef struct gc_head {
    uintptr_t gc_next;
    uintptr_t gc_prev;
} gc_head_t;

_Static_assert(sizeof(obj_head_dflt_t) + sizeof(obj_t) == 16, "default-build PyObject is 16 bytes");
_Static_assert(sizeof(obj_head_ft_t) + sizeof(obj_t) == 32, "free-threaded PyObject is 32 bytes");
_Static_assert(offsetof(obj_head_ft_t, ref_local) == 12 && offsetof(obj_head_ft_t, ref_shared) == 16,
               "free-threaded field offsets as in CPython 3.13t");
_Static_assert(sizeof(gc_head_t) == 16, "PyGC_Head is 16 bytes");

/* Bytes of header before ob_type, per layout. */
#define OBJ_HEAD_DFLT_SIZE sizeof(obj_head_dflt_t)
#define OBJ_HEAD_FT_SIZE sizeof(obj_head_ft_t)

static inline obj_head_dflt_t *obj_dflt(const obj_t *o)
{
    return (obj_head_dflt_t *)(uintptr_t)o - 1;
}

static inline obj_head_ft_t *obj_ft(const obj_t *o)
{
    return (obj_head_ft_t *)(uintptr_t)o - 1;
}

#define OBJ_IMMORTAL_REFCNT ((intptr_t)UINT32_MAX)  /* _Py_IMMORTAL_REFCNT (3.12, 64-bit) */
#define OBJ_IMMORTAL_LOCAL UINT32_MAX               /* _Py_IMMORTAL_REFCNT_LOCAL */

#define BRC_SHARED_SHIFT 2
#define BRC_FLAG_MASK ((intptr_t)3)
#define BRC_QUEUED ((intptr_t)2)
#define BRC_MERGED ((intptr_t)3)

/* CPython's tp_dealloc: release the object's references and its memory. */
typedef void (*obj_dealloc_fn)(tstate_t *ts, obj_t *o);
/* visitproc: called for each object a container refers to; 0 to go on. */
typedef int (*obj_visit_fn)(obj_t *o, void *arg);
/* tp_traverse: visit each reference the container holds (never NULL). */
typedef int (*obj_traverse_fn)(obj_t *o, obj_visit_fn visit, void *arg);
/* tp_clear: drop the container's references (the collector breaks cycles
 * with it). */
typedef void (*obj_clear_fn)(tstate_t *ts, obj_t *o);

/* What kind of object a type makes (CPython's Py_TPFLAGS_LONG_SUBCLASS,
 * Py_TPFLAGS_LIST_SUBCLASS, Py_TPFLAGS_HAVE_GC). */
#define TYPE_INT 1u     /* int and bool */
#define TYPE_LIST 2u
#define TYPE_GC 4u      /* a container: PyGC_Head in front (default build) */

struct type {
    const char *name;
    unsigned flags;       /* TYPE_* */
    size_t payload;       /* bytes after ob_type: tp_basicsize minus PyObject */
    size_t itemsize;      /* tp_itemsize: int digits are 4 bytes */
    obj_dealloc_fn dealloc;
    obj_traverse_fn traverse;   /* containers (TYPE_GC) only */
    obj_clear_fn clear;         /* containers only */
};

/* CPython 3.12's PyLongObject after the PyObject header: lv_tag holds the
 * number of 30-bit digits << 3 and the sign in its low bits (0 positive,
 * 1 zero, 2 negative); a "compact" int has at most one digit. The lab's
 * ints are 64-bit values (arithmetic that overflows int64 is an error), so
 * at most three digits. */
typedef struct int_obj {
    obj_t ob;
    uintptr_t lv_tag;
    uint32_t digit[3];
} int_obj_t;

#define INT_DIGIT_BITS 30
#define INT_DIGIT_MASK ((UINT32_C(1) << INT_DIGIT_BITS) - 1)
#define INT_NON_SIZE_BITS 3
#define INT_SIGN_MASK 3u
#define INT_SIGN_ZERO 1u
#define INT_SIGN_NEGATIVE 2u
/* Bytes of an int after its header: lv_tag and n digits (n >= 1, as
 * int.__sizeof__ counts zero), exactly offsetof(PyLongObject, ob_digit)
 * minus the header, plus 4n. */
#define INT_PAYLOAD(n) (sizeof(uintptr_t) + 4u * (size_t)(n))

/* CPython's PyListObject after the PyObject header; ob_item comes from the
 * heap's own allocator, as PyMem_Malloc. */
typedef struct list_obj {
    obj_t ob;
    intptr_t size;        /* ob_size */
    obj_t **items;        /* ob_item */
    intptr_t allocated;
} list_obj_t;

/* An instance of a class with __slots__ = ('next', 'data') and nothing
 * else (no __dict__, no __weakref__): CPython gives it tp_basicsize =
 * sizeof(PyObject) + 8 per slot and makes it a container. It is the lab's
 * Node, what the cycle examples of seed 000 are built from (a.next = b;
 * b.next = a). A slot never assigned is NULL (AttributeError on reading). */
#define NODE_SLOT_LIST(X) X(next) X(data)
enum {
#define X(name) NODE_SLOT_##name,
    NODE_SLOT_LIST(X)
#undef X
    NODE_SLOTS
};
typedef struct node_obj {
    obj_t ob;
    obj_t *slot[NODE_SLOTS];
} node_obj_t;

/* The name of slot i ("next"), for dis and messages; "?" when out of range. */
const char *node_slot_name(int i);

/* tp_traverse of nodes: visit each slot that is set. */
int node_traverse(obj_t *o, obj_visit_fn visit, void *arg);

/* A class object, the value of the global `Node`: calling it makes an
 * instance of `instance_type` (the guard's node type). Statically
 * allocated and immortal in the lab, as a static type is in CPython. */
typedef struct class_obj {
    obj_t ob;
    const type_t *instance_type;
} class_obj_t;

/* A built-in function (gc.collect and friends): CALL calls fn with the
 * arguments (borrowed); it returns a new reference, or NULL with the
 * thread's error set. */
typedef obj_t *(*builtin_fn)(tstate_t *ts, obj_t *const *args, int nargs);
typedef struct builtin_obj {
    obj_t ob;
    const char *name;
    builtin_fn fn;
} builtin_obj_t;

extern const type_t class_type;      /* "type" */
extern const type_t builtin_type;    /* "builtin_function_or_method" */

/* tp_traverse of lists: visit every item. Returns what visit returned
 * first non-zero, or 0. */
int list_traverse(obj_t *o, obj_visit_fn visit, void *arg);

/* The list freelist (PyList_MAXFREELIST): dead list objects kept for the
 * next PyList_New, per interpreter in 3.12, per thread in 3.13t. */
#define LIST_FREELIST_MAX 80
typedef struct list_freelist {
    list_obj_t *items[LIST_FREELIST_MAX];
    int count;
} list_freelist_t;

/* The small-int cache of CPython (_PY_NSMALLNEGINTS, _PY_NSMALLPOSINTS). */
#define SMALL_INT_MIN (-5)
#define SMALL_INT_MAX 256
#define SMALL_INT_COUNT (SMALL_INT_MAX - SMALL_INT_MIN + 1)

/* The types every interpreter shares, per layout where their deallocation
 * depends on it (lab/object.c). Lists are per guard (lab/eval_impl.h). */
extern const type_t int_types[OBJ_LAYOUT_COUNT];
extern const type_t bool_type;
extern const type_t none_type;

/* Bytes of header before ob_type in `layout`. Cannot fail. */
size_t obj_head_size(obj_layout_t layout);

/* The refcount in the default build's meaning (OBJ_IMMORTAL_REFCNT for an
 * immortal object), for tests and teaching views: under the free-threaded
 * layout, the owner's and the shared counts added. Cannot fail. */
intptr_t obj_refcount(const obj_t *o, obj_layout_t layout);

/* True if the object is immortal (PEP 683) in `layout`'s encoding. */
bool obj_is_immortal(const obj_t *o, obj_layout_t layout);

/* Give an object exactly n references, in the free-threaded layout as a
 * merged count without owner (what _Py_ExplicitMergeRefcount leaves), which
 * both free-threaded guards count through the shared field. For undoing
 * obj_set_immortal with the world quiet (one thread). Cannot fail. */
void obj_set_refcount(obj_t *o, obj_layout_t layout, intptr_t n);

/* Mark an object immortal (_Py_SetImmortal). Cannot fail. */
void obj_set_immortal(obj_t *o, obj_layout_t layout);

static inline bool obj_is_int(const obj_t *o)
{
    return (o->type->flags & TYPE_INT) != 0;
}

/* _PyLong_IsCompact: at most one digit, the fast path of every opcode. */
static inline bool int_is_compact(const obj_t *o)
{
    return ((const int_obj_t *)o)->lv_tag < (2u << INT_NON_SIZE_BITS);
}

/* The value of an int: the compact value (_PyLong_CompactValue) or, for
 * two or three digits, their combination. */
static inline int64_t int_value(const obj_t *o)
{
    const int_obj_t *io = (const int_obj_t *)o;
    int64_t sign = 1 - (int64_t)(io->lv_tag & INT_SIGN_MASK);
    uintptr_t ndigits = io->lv_tag >> INT_NON_SIZE_BITS;
    if (ndigits <= 1)
        return sign * (int64_t)io->digit[0];
    uint64_t mag = 0;
    for (uintptr_t i = ndigits; i-- > 0;)
        mag = (mag << INT_DIGIT_BITS) | io->digit[i];
    return sign < 0 ? (int64_t)(0 - mag) : (int64_t)mag;
}

/* Digits CPython needs for v (at least one). Cannot fail. */
static inline int int_ndigits(int64_t v)
{
    uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    int n = 1;
    while (mag >> INT_DIGIT_BITS) {
        mag >>= INT_DIGIT_BITS;
        n++;
    }
    return n;
}

/* Write v into an int's payload (lv_tag and digits), as _PyLong_New and
 * its callers do. The int must have room for int_ndigits(v) digits. */
static inline void int_set(obj_t *o, int64_t v)
{
    int_obj_t *io = (int_obj_t *)o;
    uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    int n = 0;
    do {
        io->digit[n++] = (uint32_t)(mag & INT_DIGIT_MASK);
        mag >>= INT_DIGIT_BITS;
    } while (mag != 0);
    uintptr_t sign = v == 0 ? INT_SIGN_ZERO : v < 0 ? INT_SIGN_NEGATIVE : 0;
    io->lv_tag = ((uintptr_t)n << INT_NON_SIZE_BITS) | sign;
}

#endif
