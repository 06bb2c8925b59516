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
 *   mimalloc  the real mimalloc (libmimalloc), thread-safe with a heap per
 *             thread, as free-threaded CPython 3.13+ uses; loaded with
 *             dlopen so that it replaces nobody's malloc (lab/mimalloc_dl.h).
 *   malloc    the C library allocator (PYTHONMALLOC=malloc): glibc's, since
 *             mimalloc's override never enters the process.
 *
 * Nothing here counts allocations: CPython's allocators count nothing on
 * their fast paths either. What the heap holds is computed on demand, as
 * sys.getallocatedblocks() does (heap_allocated_blocks).
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
    const struct mimalloc_dl *mi;/* HEAP_mimalloc only (alloc.ctx may be a tracer's) */
    pthread_mutex_t lock;        /* the allocator lock, when `locked` */
} heap_t;

/* Set up a heap of `kind`; `locked` asks for the allocator lock (only
 * meaningful for pymalloc). Returns 0, or -1 with a one-line reason in err
 * (bad pymalloc geometry, out of memory, mimalloc cannot be loaded). */
int heap_init(heap_t *heap, heap_kind_t kind, bool locked, const pym_config_t *pym_config,
              char *err, size_t errlen);

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

/* Blocks allocated and not yet freed, counted the way CPython's
 * sys.getallocatedblocks() counts them (_PyInterpreterState_GetAllocatedBlocks):
 *   pymalloc  the whole heap, whichever thread asks: a walk that adds up
 *             every pool's count of blocks in use, plus the raw (large)
 *             blocks pymalloc passed to malloc;
 *   mimalloc  the calling thread's own heap only (mimalloc heaps belong to
 *             threads), after collecting the frees other threads made into
 *             it, so a leak check must ask every thread that allocated;
 *   malloc    -1: the C library cannot enumerate its blocks (CPython's
 *             getallocatedblocks() says 0 under PYTHONMALLOC=malloc).
 * Cannot fail otherwise. Not for hot paths: it walks the heap. */
int64_t heap_allocated_blocks(heap_t *heap);

/* Whether heap_allocated_blocks() counts only the calling thread's blocks. */
bool heap_blocks_per_thread(const heap_t *heap);

/* Name of an allocator kind. */
const char *heap_kind_name(heap_kind_t kind);
/* One-line description of an allocator kind. */
const char *heap_kind_description(heap_kind_t kind);
/* Allocator by name; returns -1 when unknown. */
int heap_kind_find(const char *name);

#endif
