/* lab/pymalloc.h: a model of CPython's small-object allocator
 * (Objects/obmalloc.c, "pymalloc"), with CPython 3.10+ geometry by default:
 * 1 MiB arenas, 16 KiB pools, 16-byte size classes up to 512 bytes.
 * Requests above 512 bytes (and of 0 bytes) go to the system malloc, as
 * PyObject_Malloc does. The design picture lives at the top of pymalloc.c.
 *
 * Not thread-safe, exactly as pymalloc relies on the GIL; a no-GIL guard wraps
 * it in one lock (lab/heap.c).
 */
#ifndef GL_PYMALLOC_H
#define GL_PYMALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PYM_ALIGNMENT 16u                   /* size-class step (ALIGNMENT) */
#define PYM_SMALL_REQUEST_THRESHOLD 512u    /* largest pymalloc request */
#define PYM_NB_SMALL_SIZE_CLASSES (PYM_SMALL_REQUEST_THRESHOLD / PYM_ALIGNMENT)

#define PYM_DEFAULT_ARENA_SIZE (1u << 20)   /* 1 MiB (ARENA_SIZE, 3.10+) */
#define PYM_DEFAULT_POOL_SIZE (1u << 14)    /* 16 KiB (POOL_SIZE, 3.10+) */
#define PYM_MIN_POOL_SIZE ((size_t)4096)    /* geometry limits pym_new accepts */
#define PYM_MAX_ARENA_SIZE ((size_t)64 << 20)

typedef struct pym_config {
    size_t arena_size;   /* power of two, a multiple of pool_size; 0 = default */
    size_t pool_size;    /* power of two, >= 4 KiB;                 0 = default */
} pym_config_t;

/* What the heap holds, in the spirit of sys._debugmallocstats(). The
 * allocator counts only what CPython's obmalloc counts as it runs (arenas
 * mapped now, ever and at most; raw blocks passed to malloc): nothing on
 * the fast path. Everything else is computed by walking the arenas when
 * asked (pym_get_stats), as _PyObject_DebugMallocStats does. */
typedef struct pym_class_stats {
    uint64_t blocks_allocated;   /* blocks of this class currently handed out */
    uint64_t blocks_free;        /* free blocks in used pools of this class */
    uint64_t pools_used;         /* pools of this class neither empty nor full */
    uint64_t pools_full;         /* pools of this class with no free block */
} pym_class_stats_t;

typedef struct pym_stats {
    uint64_t arenas_current;     /* arenas mapped now (narenas_currently_allocated) */
    uint64_t arenas_allocated;   /* arenas ever mapped (ntimes_arena_allocated) */
    uint64_t arenas_freed;       /* arenas returned to the OS (allocated - current) */
    uint64_t arenas_peak;        /* most arenas mapped at once (narenas_highwater) */
    uint64_t pools_used;         /* pools in state "used" (all classes) */
    uint64_t pools_full;         /* pools in state "full" */
    uint64_t pools_empty;        /* initialised pools on arena free lists */
    uint64_t pools_untouched;    /* never carved pools left in mapped arenas */
    uint64_t blocks_in_use;      /* small blocks handed out */
    uint64_t bytes_in_use;       /* those blocks' bytes (class sizes) */
    uint64_t raw_blocks;         /* live requests passed to malloc (raw_allocated_blocks) */
    pym_class_stats_t classes[PYM_NB_SMALL_SIZE_CLASSES];
} pym_stats_t;

/* The block size pymalloc hands out for a request of `size` bytes (its
 * size class, a multiple of 16), or 0 when the request goes to malloc
 * (0 bytes, or more than 512). Cannot fail. */
static inline size_t pym_class_size(size_t size)
{
    if (size - 1 >= PYM_SMALL_REQUEST_THRESHOLD)
        return 0;
    return (size + PYM_ALIGNMENT - 1) & ~(size_t)(PYM_ALIGNMENT - 1);
}

typedef struct pym pym_t;

/* Create an allocator. On error (bad geometry, out of memory) returns NULL and
 * sets errno (EINVAL or ENOMEM). */
pym_t *pym_new(const pym_config_t *config);

/* Release every arena. Raw blocks still live (requests above 512 bytes,
 * which went to malloc) are not tracked, as in CPython: freeing them is
 * their owner's business. NULL is accepted. */
void pym_delete(pym_t *pym);

/* PyObject_Malloc: on out-of-memory returns NULL. pym_malloc(p, 0) returns a
 * unique pointer, as CPython does. */
void *pym_malloc(pym_t *pym, size_t size);

/* PyObject_Realloc: NULL `ptr` acts as malloc; on failure returns NULL and
 * leaves `ptr` untouched. */
void *pym_realloc(pym_t *pym, void *ptr, size_t size);

/* PyObject_Free: NULL is accepted. Decides small vs large with the arena map
 * (CPython: address_in_range), not with a size argument. */
void pym_free(pym_t *pym, void *ptr);

/* Walk the arenas and fill *out. Cannot fail. Not for hot paths. */
void pym_get_stats(const pym_t *pym, pym_stats_t *out);

/* sys.getallocatedblocks() for this heap: every pool's count of blocks in
 * use plus the raw blocks, as _PyInterpreterState_GetAllocatedBlocks adds
 * them up. Walks every arena; cannot fail. */
uint64_t pym_allocated_blocks(const pym_t *pym);

/* The expensive check: walks every arena, pool and free list and verifies
 * the state invariants (a pool's blocks are handed out, on its free list or
 * untouched; usedpools rings, freepools lists, usable_arenas order and
 * nfp2lasta agree with the pools' states; the arena counters agree with
 * the mapped arenas). Returns 0 when consistent; -1 with a one-line reason
 * in `err` otherwise. */
int pym_check(const pym_t *pym, char *err, size_t errlen);

/* One pool, as pym_walk_pools reports it. */
typedef enum pym_pool_state {
    PYM_POOL_UNTOUCHED,   /* never carved */
    PYM_POOL_EMPTY,       /* carved, no block in use */
    PYM_POOL_USED,        /* some blocks in use, some free */
    PYM_POOL_FULL,        /* every block in use */
} pym_pool_state_t;

typedef struct pym_pool_info {
    uint32_t arena;             /* the arena's slot in the arena table */
    uintptr_t arena_address;
    uint32_t pool;              /* the pool's place in its arena, 0 first */
    uint32_t npools;            /* pools in the arena */
    pym_pool_state_t state;
    size_t block_size;          /* its size class; 0 when untouched or empty */
    uint32_t blocks_in_use;
    uint32_t capacity;          /* blocks per pool of that class; 0 likewise */
} pym_pool_info_t;

typedef void (*pym_pool_fn)(const pym_pool_info_t *pool, void *arg);

/* Call fn for every pool of every mapped arena, arenas in slot order and
 * pools in address order. Walks every arena, as pym_get_stats does; not
 * for hot paths. Cannot fail. */
void pym_walk_pools(const pym_t *pym, pym_pool_fn fn, void *arg);

/* Teaching views for `gil-lab heap`: one line per arena with one character
 * per pool, and the size-class table of sys._debugmallocstats(). */
void pym_print_map(const pym_t *pym, FILE *out);
void pym_print_classes(const pym_t *pym, FILE *out);

/* The geometry actually in use. */
size_t pym_arena_size(const pym_t *pym);
size_t pym_pool_size(const pym_t *pym);

#endif
