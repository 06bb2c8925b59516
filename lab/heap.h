/* lab/heap.h: the allocator front of the lab's object heap, the equivalent of
 * CPython's PyObject_Malloc/PyObject_Free and the allocator table that
 * PyMem_SetAllocator installs (PyMemAllocatorEx). Every object allocation
 * goes through one indirect call into that table, exactly as in CPython,
 * which is why switching allocators needs no recompilation.
 *
 *   pymalloc  the lab's model of CPython's obmalloc (lab/pymalloc.c); it
 *             relies on its caller for mutual exclusion (the GIL). Under a
 *             no-GIL guard the heap wraps it in one allocator lock: the naive
 *             answer, measured as such.
 *   mimalloc  the real mimalloc (libmimalloc), thread-safe with thread-local
 *             heaps, as free-threaded CPython 3.13+ uses.
 *   malloc    the C library allocator (PYTHONMALLOC=malloc).
 */
#ifndef GL_HEAP_H
#define GL_HEAP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lab/pymalloc.h"

/* X(name, description) */
#define HEAP_LIST(X)                                                           \
    X(pymalloc, "the lab's model of CPython's pymalloc (arenas, pools, blocks)") \
    X(mimalloc, "mimalloc, as in free-threaded CPython")                       \
    X(malloc, "the C library's malloc (PYTHONMALLOC=malloc)")

typedef enum heap_kind {
#define X(name, desc) HEAP_##name,
    HEAP_LIST(X)
#undef X
    HEAP_COUNT
} heap_kind_t;

/* CPython's PyMemAllocatorEx: a context and three functions. */
typedef struct heap_allocator {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*realloc)(void *ctx, void *ptr, size_t size);
    void (*free)(void *ctx, void *ptr);
} heap_allocator_t;

typedef struct heap {
    heap_kind_t kind;
    bool locked;                 /* pymalloc behind the allocator lock */
    heap_allocator_t alloc;
    pym_t *pym;                  /* HEAP_pymalloc only */
    pthread_mutex_t lock;        /* the allocator lock, when `locked` */
} heap_t;

/* Set up a heap of `kind`; `locked` asks for the allocator lock (only
 * meaningful for pymalloc). Returns 0, or -1 with errno set. */
int heap_init(heap_t *heap, heap_kind_t kind, bool locked, const pym_config_t *pym_config);

/* Release the heap (pymalloc: every arena). Cannot fail. */
void heap_destroy(heap_t *heap);

/* In a forked child: re-create the allocator lock. Cannot fail. */
void heap_after_fork_child(heap_t *heap);

static inline void *heap_malloc(heap_t *heap, size_t size)
{
    return heap->alloc.malloc(heap->alloc.ctx, size);
}

static inline void *heap_realloc(heap_t *heap, void *ptr, size_t size)
{
    return heap->alloc.realloc(heap->alloc.ctx, ptr, size);
}

static inline void heap_free(heap_t *heap, void *ptr)
{
    heap->alloc.free(heap->alloc.ctx, ptr);
}

/* Name of an allocator kind. */
const char *heap_kind_name(heap_kind_t kind);
/* One-line description of an allocator kind. */
const char *heap_kind_description(heap_kind_t kind);
/* Allocator by name; returns -1 when unknown. */
int heap_kind_find(const char *name);

#endif
