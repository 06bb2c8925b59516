/* lab/object.h: the lab's object model, a miniature of CPython's PyObject.
 *
 * Every object starts with the same 32-byte header, the layout of
 * free-threaded CPython (Include/object.h, Py_GIL_DISABLED). All guards use
 * this one layout so that a comparison between guards measures the refcount
 * protocol, not a difference in object size (the default build's header is
 * 16 bytes: the README says so). What each guard reads and writes:
 *
 *   offset  0          8     9      10     12            16            24      32
 *           +----------+-----+------+------+-------------+-------------+-------+
 *           | tid      |flags|mutex | pad  | ref_local   | refcnt      | type  |
 *           +----------+-----+------+------+-------------+-------------+-------+
 *   none    | -        |  -  |  -   |      | -           | count       | type  |  plain ++/--
 *   gil     | -        |  -  |  -   |      | -           | count       | type  |  plain, GIL held
 *   atomic  | -        |  -  | lock |      | -           | count       | type  |  lock add / lock sub
 *   biased  | owner id |  -  | lock |      | owner count | shared<<2|st| type  |  PEP 703
 *
 * Immortal objects (PEP 683): small ints -5..256, None, True and False are
 * created with refcnt == OBJ_IMMORTAL_REFCNT *and* ref_local == UINT32_MAX,
 * so every guard recognises them with the test its CPython twin uses
 * ((int32_t)refcnt < 0 in the default build, ref_local == UINT32_MAX in the
 * free-threaded one). Refcount operations on them do nothing and they are
 * never freed. With --no-immortal they are ordinary objects that the
 * interpreter holds one reference to, as before CPython 3.12.
 *
 * Biased state bits (the low two bits of refcnt under `biased`):
 *   00 default   shared count in refcnt >> 2, owner counts in ref_local
 *   01 weakrefs  (unused by the lab; kept so the encoding matches CPython)
 *   10 queued    a non-owner would have taken the shared count below zero
 *                and handed the object to its owner's merge queue
 *   11 merged    owner and shared counts merged into refcnt; tid == 0
 */
#ifndef GL_OBJECT_H
#define GL_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tstate tstate_t;
typedef struct type type_t;

typedef struct obj {
    uintptr_t tid;          /* biased: owning thread's id, 0 = no owner */
    uint8_t flags;          /* OBJ_FLAG_* */
    uint8_t mutex;          /* per-object lock (critical sections), 0/1 */
    uint16_t pad;
    uint32_t ref_local;     /* biased: owner's count; UINT32_MAX = immortal */
    intptr_t refcnt;        /* see the table above */
    const type_t *type;
} obj_t;

_Static_assert(sizeof(obj_t) == 32, "object header must match free-threaded CPython (32 bytes)");
_Static_assert(offsetof(obj_t, refcnt) == 16, "refcnt at offset 16");

#define OBJ_IMMORTAL_REFCNT ((intptr_t)UINT32_MAX)  /* _Py_IMMORTAL_REFCNT (3.12, 64-bit) */
#define OBJ_IMMORTAL_LOCAL UINT32_MAX               /* _Py_IMMORTAL_REFCNT_LOCAL */

#define BRC_SHARED_SHIFT 2
#define BRC_FLAG_MASK ((intptr_t)3)
#define BRC_QUEUED ((intptr_t)2)
#define BRC_MERGED ((intptr_t)3)

/* CPython's tp_dealloc: release the object's references and its memory. */
typedef void (*obj_dealloc_fn)(tstate_t *ts, obj_t *o);

struct type {
    const char *name;
    size_t basicsize;
    obj_dealloc_fn dealloc;
};

/* Boxed 64-bit integer (CPython's PyLongObject, without arbitrary precision:
 * arithmetic that overflows int64 is an error in the model). */
typedef struct int_obj {
    obj_t ob;
    int64_t value;
} int_obj_t;

/* Growable array of references (CPython's PyListObject): items is a separate
 * block from the heap's raw allocator, as ob_item comes from PyMem_Malloc. */
typedef struct list_obj {
    obj_t ob;
    intptr_t size;
    intptr_t allocated;
    obj_t **items;
} list_obj_t;

/* The small-int cache of CPython (_PY_NSMALLNEGINTS, _PY_NSMALLPOSINTS). */
#define SMALL_INT_MIN (-5)
#define SMALL_INT_MAX 256
#define SMALL_INT_COUNT (SMALL_INT_MAX - SMALL_INT_MIN + 1)

extern const type_t int_type;
/* The int type's dealloc (PyObject_Free of an int), which the default
 * build's specialised opcodes call directly. Cannot fail. */
void int_dealloc(tstate_t *ts, obj_t *o);
extern const type_t bool_type;
extern const type_t none_type;

static inline bool obj_is_int(const obj_t *o)
{
    return o->type == &int_type || o->type == &bool_type;
}

static inline int64_t int_value(const obj_t *o)
{
    return ((const int_obj_t *)o)->value;
}

/* A new object's first reference in the default build's encoding (none,
 * gil, atomic): a count of one, no owner. */
static inline void obj_init_refs_default(obj_t *o)
{
    o->tid = 0;
    o->ref_local = 0;
    o->refcnt = 1;
}

/* The refcount an object has in the default build's meaning, for tests and
 * the leak check. Under biased, it merges the two counts (owner + shared). */
intptr_t obj_refcount(const obj_t *o, bool biased);

/* True if the object is immortal (PEP 683) in either encoding. */
static inline bool obj_is_immortal(const obj_t *o)
{
    return o->ref_local == OBJ_IMMORTAL_LOCAL;
}

/* Mark an object immortal in both encodings (_Py_SetImmortal). */
static inline void obj_set_immortal(obj_t *o)
{
    o->tid = 0;
    o->ref_local = OBJ_IMMORTAL_LOCAL;
    o->refcnt = OBJ_IMMORTAL_REFCNT;
}

#endif
