/* lab/pymalloc.c: a model of CPython's small-object allocator (pymalloc).
 *
 * ============================================================================
 * Design notes
 * ============================================================================
 *
 * What is modelled
 * ----------------
 * CPython serves every request of 1..512 bytes from its own allocator,
 * Objects/obmalloc.c, and sends the rest to the C library. The allocator is
 * three layers of fixed-size pieces, each carved from the one above:
 *
 *   OS (mmap)
 *    |  one arena = arena_size bytes (1 MiB; 256 KiB before 3.10),
 *    |  mapped aligned to arena_size, so  arena base = p & ~(arena_size - 1)
 *    v
 *   +---------------------------------------------------------------+
 *   | pool 0 | pool 1 | pool 2 | ... | pool_address -> never carved |  arena
 *   +---------------------------------------------------------------+
 *    |  one pool = pool_size bytes (16 KiB; 4 KiB before 3.10), holding
 *    |  blocks of a single size class; pool base = p & ~(pool_size - 1)
 *    v
 *   +--------+-------+-------+-------+-------+-------+--------+-------+
 *   | header | block | block | block | block | block | ...    | waste |
 *   |  48 B  | alloc | free  | alloc | free  |       |        |       |
 *   +--------+-------+---|---+-------+---^---+-------+--------+-------+
 *      |  freeblock      |               |   ^
 *      +-----------------+               |   nextoffset: blocks from here
 *                        +-- next free --+   on are untouched (never used)
 *
 * Pool header fields: ref (blocks handed out), freeblock (head of a LIFO
 * list threaded through the free blocks themselves), nextpool/prevpool
 * (links in usedpools[class] or, singly, in the arena's freepools list),
 * arenaindex, szidx (size class), nextoffset/maxnextoffset (lazy carving:
 * a block is written to only when it is first needed, so untouched pages of
 * a pool are never faulted in).
 *
 * Size classes: one per 16 bytes (ALIGNMENT = 16 since CPython 3.8).
 *
 *   request bytes   class  block  blocks/pool 16 KiB   blocks/pool 4 KiB
 *   ------------------------------------------------------------------
 *        1 -   16       0     16              1021                 253
 *       17 -   32       1     32               510                 126
 *       33 -   48       2     48               340                  84
 *       49 -   64       3     64               255                  63
 *       65 -   80       4     80               204                  50
 *      ...            ...    ...               ...                 ...
 *      497 -  512      31    512                31                   7
 *   (blocks/pool = (pool_size - 48) / block; the remainder is waste)
 *
 *   0 bytes and > 512 bytes go to malloc(). CPython does the same: its
 *   pymalloc_alloc tests "nbytes - 1 >= SMALL_REQUEST_THRESHOLD", which is
 *   true for 0 by unsigned wrap-around, and the raw allocator then turns a
 *   0-byte request into a 1-byte one so every call returns a unique pointer.
 *
 * Pool states (a pool is in exactly one):
 *
 *                   first block              last free block taken
 *   untouched  -------------------> used  -------------------------->  full
 *   (at or past the arena's      (ring in     <--------------------  (linked
 *    pool_address)            usedpools[c])      one block freed     nowhere)
 *                                  |    ^
 *               last block freed   |    |   first block (same class: free
 *                                  v    |   list still valid; else re-init)
 *                                  empty
 *                      (arena->freepools, singly linked)
 *
 *   A class whose only live block is freed and allocated again moves its
 *   pool used -> empty -> used every time, as in CPython; that slow path
 *   costs about twice the fast path.
 *
 *   An arena whose pools are all empty or untouched is unmapped, except when
 *   it is the last arena of usable_arenas (CPython 3.9+, bpo-37257: keeping
 *   one wholly free arena avoids mapping and unmapping an arena on every
 *   iteration of a loop that allocates and frees one object).
 *
 * Block states: untouched (beyond nextoffset) -> allocated -> free (on the
 * pool's freeblock list) -> allocated -> ... Blocks are carved two at a time
 * when a pool is initialised and then one at a time, only when the free list
 * runs dry, so a used pool always has freeblock != NULL.
 *
 * Arenas: an array of arena objects (address 0 = slot unused, the unused ones
 * chained through nextarena). Arenas with at least one free pool form the
 * doubly linked usable_arenas list, sorted by nfreepools ascending: new
 * pools come from the fullest arena, so the emptiest arenas drain and can be
 * returned to the OS. nfp2lasta[n] points to the last arena of the list with
 * n free pools, so that when a pool empties the arena slides to its new place
 * in O(1) instead of walking the list (CPython 3.8+).
 *
 * pym_free is told no size. It computes p's arena base and asks the arena
 * map whether that base is one of our arenas (CPython 3.10+ asks a radix
 * tree, arena_map_is_used). Only if it is does it read the pool header at
 * p & ~(pool_size - 1); otherwise p came from malloc(). The map never reads
 * memory at p, so a foreign pointer is classified without touching it.
 *
 * Simplifications vs CPython
 * --------------------------
 *  - The arena map is an open-addressing hash set keyed by p >> arena_shift,
 *    not a three-level radix tree. Since our arenas are aligned to their
 *    size, one key covers an arena exactly (CPython's arenas are only
 *    page-aligned, so the radix tree marks two leaves per arena with a
 *    split point).
 *  - Alignment makes every pool of an arena usable: ntotalpools is exactly
 *    arena_size / pool_size (CPython loses the first partial pool when the
 *    mmap result is not pool-aligned).
 *  - usedpools is a plain array of list heads (NULL = empty) instead of
 *    CPython's trick of overlaying fake pool headers on the array.
 *  - One allocator per pym_t, no global state; no debug hooks (PYMEM_DEBUG
 *    padding, tracemalloc); no thread safety: like pymalloc, it relies on
 *    the caller (the GIL, or lab/heap.c's lock).
 *
 * What it counts
 * --------------
 * Exactly what obmalloc counts as it runs, and nothing on the fast path:
 * the arenas mapped now, ever and at most (narenas_currently_allocated,
 * ntimes_arena_allocated, narenas_highwater, all on the arena slow path)
 * and the raw blocks passed to malloc (raw_allocated_blocks). Blocks in
 * use, pools by state and bytes are found by walking the arenas when asked
 * (pym_get_stats, pym_allocated_blocks), as sys._debugmallocstats() and
 * sys.getallocatedblocks() do. A counter on the fast path would make every
 * allocation of every guard look slower than CPython's.
 */
#define _DEFAULT_SOURCE 1   /* MAP_ANONYMOUS even under -std=c11 */
#include "lab/pymalloc.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------
 * Constants and compile-time invariants
 * ------------------------------------------------------------------------- */

#define NCLASSES PYM_NB_SMALL_SIZE_CLASSES
#define MIN_POOL_SIZE PYM_MIN_POOL_SIZE
#define MAX_ARENA_SIZE PYM_MAX_ARENA_SIZE

#define CLASS_OF(n) (((n) - 1) >> 4)             /* request bytes -> class */
#define CLASS_SIZE(c) (((size_t)(c) + 1) << 4)   /* class -> block bytes   */

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

typedef unsigned char block;

/* At the start of every carved pool. */
typedef struct pool_header {
    uint32_t ref;                    /* blocks handed out; 0 = empty pool */
    uint32_t szidx;                  /* size class (stale while empty) */
    block *freeblock;                /* LIFO free list; NULL iff pool full */
    struct pool_header *nextpool;    /* usedpools ring, or freepools chain */
    struct pool_header *prevpool;    /* usedpools ring only */
    uint32_t arenaindex;             /* index into pym->arenas */
    uint32_t nextoffset;             /* offset of the first untouched block */
    uint32_t maxnextoffset;          /* largest valid nextoffset to carve at */
} pool_header;

#define POOL_OVERHEAD \
    ((sizeof(pool_header) + PYM_ALIGNMENT - 1) & ~(size_t)(PYM_ALIGNMENT - 1))

typedef struct arena_object {
    uintptr_t address;               /* base of the mapping; 0 = slot unused */
    block *pool_address;             /* next never-carved pool */
    uint32_t nfreepools;             /* empty + untouched pools */
    uint32_t ntotalpools;
    pool_header *freepools;          /* empty pools, singly linked */
    struct arena_object *nextarena;  /* usable_arenas, or unused slots */
    struct arena_object *prevarena;  /* usable_arenas only */
} arena_object;

_Static_assert((PYM_ALIGNMENT & (PYM_ALIGNMENT - 1)) == 0,
               "alignment must be a power of two");
_Static_assert(PYM_ALIGNMENT == 16, "CLASS_OF/CLASS_SIZE shift by 4");
_Static_assert(PYM_SMALL_REQUEST_THRESHOLD % PYM_ALIGNMENT == 0,
               "alignment must divide the small-request threshold");
_Static_assert(NCLASSES == 32, "16-byte classes up to 512 bytes");
_Static_assert(PYM_ALIGNMENT >= sizeof(block *),
               "a free block must hold the free-list link");
_Static_assert(POOL_OVERHEAD % PYM_ALIGNMENT == 0, "blocks stay aligned");
_Static_assert(POOL_OVERHEAD + 2 * PYM_SMALL_REQUEST_THRESHOLD <= MIN_POOL_SIZE,
               "a pool is initialised by carving two blocks of any class");
_Static_assert(PYM_DEFAULT_ARENA_SIZE % PYM_DEFAULT_POOL_SIZE == 0,
               "arena size not an exact multiple of pool size");
_Static_assert(MAX_ARENA_SIZE <= UINT32_MAX, "pool offsets fit in uint32_t");

/* ---------------------------------------------------------------------------
 * The allocator
 * ------------------------------------------------------------------------- */

#define MAP_EMPTY UINTPTR_MAX        /* no key is >= 2^(64 - 12) */

struct pym {
    /* hot: touched by every malloc/free */
    pool_header *usedpools[NCLASSES];        /* head = where blocks come from */
    uintptr_t arena_mask, pool_mask;         /* size - 1 */
    uintptr_t *map_keys;                     /* arena map: hash set of bases */
    size_t map_mask;                         /* capacity - 1 */
    unsigned map_shift;                      /* 64 - log2(capacity) */
    unsigned arena_shift;                    /* log2(arena_size) */

    /* arenas */
    arena_object *arenas;
    uint32_t maxarenas;
    arena_object *unused_arena_objects;
    arena_object *usable_arenas;
    arena_object **nfp2lasta;                /* [0 .. ntotalpools] */
    size_t map_count;

    /* geometry */
    size_t arena_size, pool_size;
    uint32_t ntotalpools;
    uint32_t capacity[NCLASSES];             /* blocks per pool */

    /* obmalloc's own counters, all off the fast path */
    uint64_t raw_allocated_blocks;           /* requests passed to malloc, live */
    uint64_t arenas_current, arenas_allocated, arenas_peak;
};

/* ---------------------------------------------------------------------------
 * Arena map: is `p` inside one of our arenas? Keys are p >> arena_shift.
 * Linear probing at load <= 1/2, backward-shift deletion (no tombstones).
 * ------------------------------------------------------------------------- */

static inline size_t map_slot(const pym_t *pym, uintptr_t key)
{
    return (size_t)(((uint64_t)key * UINT64_C(0x9E3779B97F4A7C15)) >>
                    pym->map_shift);
}

static inline bool map_has(const pym_t *pym, uintptr_t key)
{
    size_t i = map_slot(pym, key);
    for (;;) {
        uintptr_t k = pym->map_keys[i];
        if (k == key)
            return true;
        if (k == MAP_EMPTY)
            return false;
        i = (i + 1) & pym->map_mask;
    }
}

static void map_put(uintptr_t *keys, size_t mask, unsigned shift,
                    uintptr_t key)
{
    size_t i = (size_t)(((uint64_t)key * UINT64_C(0x9E3779B97F4A7C15)) >>
                        shift);
    while (keys[i] != MAP_EMPTY)
        i = (i + 1) & mask;
    keys[i] = key;
}

static uintptr_t *map_alloc(size_t cap)
{
    uintptr_t *keys = malloc(cap * sizeof *keys);
    if (keys)
        for (size_t i = 0; i < cap; i++)
            keys[i] = MAP_EMPTY;
    return keys;
}

/* On error (out of memory) returns -1 and the map is unchanged. */
static int map_insert(pym_t *pym, uintptr_t key)
{
    if ((pym->map_count + 1) * 2 > pym->map_mask + 1) {
        size_t cap = (pym->map_mask + 1) * 2;
        uintptr_t *keys = map_alloc(cap);
        if (!keys)
            return -1;
        unsigned shift = pym->map_shift - 1;
        for (size_t i = 0; i <= pym->map_mask; i++)
            if (pym->map_keys[i] != MAP_EMPTY)
                map_put(keys, cap - 1, shift, pym->map_keys[i]);
        free(pym->map_keys);
        pym->map_keys = keys;
        pym->map_mask = cap - 1;
        pym->map_shift = shift;
    }
    map_put(pym->map_keys, pym->map_mask, pym->map_shift, key);
    pym->map_count++;
    return 0;
}

static void map_remove(pym_t *pym, uintptr_t key)
{
    size_t mask = pym->map_mask;
    size_t i = map_slot(pym, key);
    while (pym->map_keys[i] != key) {
        assert(pym->map_keys[i] != MAP_EMPTY);
        i = (i + 1) & mask;
    }
    /* Shift later members of the probe run back into the hole. */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; pym->map_keys[j] != MAP_EMPTY;
         j = (j + 1) & mask) {
        size_t home = map_slot(pym, pym->map_keys[j]);
        /* j may move to the hole iff its home is not in (hole, j]. */
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            pym->map_keys[hole] = pym->map_keys[j];
            hole = j;
        }
    }
    pym->map_keys[hole] = MAP_EMPTY;
    pym->map_count--;
}

/* ---------------------------------------------------------------------------
 * Arenas
 * ------------------------------------------------------------------------- */

/* mmap arena_size bytes aligned to arena_size: map twice as much, trim.
 * On error returns NULL. */
static void *map_aligned(size_t size)
{
    size_t span = 2 * size;
    void *raw = mmap(NULL, span, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    uintptr_t start = (uintptr_t)raw;
    uintptr_t base = (start + size - 1) & ~(uintptr_t)(size - 1);
    size_t head = base - start, tail = span - head - size;
    if (head)
        munmap(raw, head);
    if (tail)
        munmap((void *)(base + size), tail);
    return (void *)base;
}

/* Map a fresh arena and take an arena object for it. Called only when
 * usable_arenas is empty, so growing (moving) the arena array cannot
 * invalidate a list pointer, as in CPython's new_arena. On error returns
 * NULL with errno = ENOMEM. */
static arena_object *new_arena(pym_t *pym)
{
    assert(pym->usable_arenas == NULL);
    if (pym->unused_arena_objects == NULL) {
        uint32_t n = pym->maxarenas ? pym->maxarenas * 2 : 16;
        if (n <= pym->maxarenas)
            goto nomem;
        arena_object *a = realloc(pym->arenas, n * sizeof *a);
        if (!a)
            goto nomem;
        pym->arenas = a;
        for (uint32_t i = pym->maxarenas; i < n; i++) {
            a[i].address = 0;
            a[i].nextarena = i + 1 < n ? &a[i + 1] : NULL;
        }
        pym->unused_arena_objects = &a[pym->maxarenas];
        pym->maxarenas = n;
    }

    void *base = map_aligned(pym->arena_size);
    if (!base)
        goto nomem;
    if (map_insert(pym, (uintptr_t)base >> pym->arena_shift) < 0) {
        munmap(base, pym->arena_size);
        goto nomem;
    }

    arena_object *ao = pym->unused_arena_objects;
    pym->unused_arena_objects = ao->nextarena;
    ao->address = (uintptr_t)base;
    ao->pool_address = base;
    ao->nfreepools = ao->ntotalpools = pym->ntotalpools;
    ao->freepools = NULL;
    ao->nextarena = ao->prevarena = NULL;

    pym->arenas_current++;
    pym->arenas_allocated++;
    if (pym->arenas_current > pym->arenas_peak)
        pym->arenas_peak = pym->arenas_current;
    return ao;

nomem:
    errno = ENOMEM;
    return NULL;
}

/* Return a wholly free arena (already unlinked) to the OS. */
static void free_arena(pym_t *pym, arena_object *ao)
{
    map_remove(pym, ao->address >> pym->arena_shift);
    munmap((void *)ao->address, pym->arena_size);
    ao->address = 0;
    ao->nextarena = pym->unused_arena_objects;
    ao->prevarena = NULL;
    pym->unused_arena_objects = ao;
    pym->arenas_current--;
}

static void unlink_arena(pym_t *pym, arena_object *ao)
{
    if (ao->prevarena)
        ao->prevarena->nextarena = ao->nextarena;
    else
        pym->usable_arenas = ao->nextarena;
    if (ao->nextarena)
        ao->nextarena->prevarena = ao->prevarena;
    ao->nextarena = ao->prevarena = NULL;
}

/* ---------------------------------------------------------------------------
 * Pools
 * ------------------------------------------------------------------------- */

/* Slow path of malloc: class c has no used pool. Take a pool from the
 * fullest usable arena and hand out its first block. On error returns NULL
 * with errno = ENOMEM. */
static void *alloc_from_new_pool(pym_t *pym, unsigned c)
{
    if (UNLIKELY(pym->usable_arenas == NULL)) {
        arena_object *fresh = new_arena(pym);
        if (!fresh)
            return NULL;
        pym->usable_arenas = fresh;
        assert(pym->nfp2lasta[fresh->nfreepools] == NULL);
        pym->nfp2lasta[fresh->nfreepools] = fresh;
    }
    arena_object *ao = pym->usable_arenas;
    assert(ao->nfreepools > 0 && ao->prevarena == NULL);

    /* ao stays at the head: it only gets fuller. Fix the nfp2lasta
     * entries for its old and new counts. */
    if (pym->nfp2lasta[ao->nfreepools] == ao)
        pym->nfp2lasta[ao->nfreepools] = NULL;
    if (ao->nfreepools > 1) {
        assert(pym->nfp2lasta[ao->nfreepools - 1] == NULL);
        pym->nfp2lasta[ao->nfreepools - 1] = ao;
    }

    pool_header *pool = ao->freepools;
    bool same_class = false;
    if (pool) {
        ao->freepools = pool->nextpool;
        same_class = pool->szidx == c;
    } else {
        pool = (pool_header *)ao->pool_address;
        ao->pool_address += pym->pool_size;
        pool->arenaindex = (uint32_t)(ao - pym->arenas);
    }
    if (--ao->nfreepools == 0)       /* full arena: linked nowhere */
        unlink_arena(pym, ao);

    pool->nextpool = pool->prevpool = pool;
    pym->usedpools[c] = pool;
    pool->ref = 1;

    block *bp;
    if (same_class) {
        /* Its free list (at least the two blocks carved at init) and
         * nextoffset are still valid: no need to touch the blocks. */
        bp = pool->freeblock;
        assert(bp != NULL);
        pool->freeblock = *(block **)bp;
        assert(pool->freeblock != NULL);   /* >= 2 blocks were free */
        return bp;
    }
    size_t size = CLASS_SIZE(c);
    pool->szidx = c;
    bp = (block *)pool + POOL_OVERHEAD;
    pool->nextoffset = (uint32_t)(POOL_OVERHEAD + 2 * size);
    pool->maxnextoffset = (uint32_t)(pym->pool_size - size);
    pool->freeblock = bp + size;
    *(block **)pool->freeblock = NULL;
    return bp;
}

/* The pool's free list just ran dry: carve one untouched block, or, if
 * none is left, the pool is full and leaves usedpools. */
static void pool_extend(pym_t *pym, pool_header *pool, unsigned c)
{
    if (pool->nextoffset <= pool->maxnextoffset) {
        pool->freeblock = (block *)pool + pool->nextoffset;
        pool->nextoffset += (uint32_t)CLASS_SIZE(c);
        *(block **)pool->freeblock = NULL;
        return;
    }
    /* used -> full. pool is the head of usedpools[c]. */
    assert(pym->usedpools[c] == pool);
    pool_header *next = pool->nextpool;
    if (next == pool) {
        pym->usedpools[c] = NULL;
    } else {
        pool_header *prev = pool->prevpool;
        next->prevpool = prev;
        prev->nextpool = next;
        pym->usedpools[c] = next;
    }
    pool->nextpool = pool->prevpool = NULL;
}

/* full -> used: link at the front of usedpools so the block just freed is
 * the next one handed out (CPython: insert_to_usedpool). */
static void pool_full_to_used(pym_t *pym, pool_header *pool, unsigned c)
{
    pool_header *head = pym->usedpools[c];
    if (head) {
        pool_header *prev = head->prevpool;
        pool->nextpool = head;
        pool->prevpool = prev;
        head->prevpool = pool;
        prev->nextpool = pool;
    } else {
        pool->nextpool = pool->prevpool = pool;
    }
    pym->usedpools[c] = pool;
}

/* used -> empty: the pool goes to its arena's freepools, and the arena
 * moves right in usable_arenas (or is unmapped). CPython:
 * insert_to_freepool. */
static void pool_used_to_empty(pym_t *pym, pool_header *pool, unsigned c)
{
    pool_header *next = pool->nextpool, *prev = pool->prevpool;
    if (next == pool) {
        pym->usedpools[c] = NULL;
    } else {
        next->prevpool = prev;
        prev->nextpool = next;
        if (pym->usedpools[c] == pool)
            pym->usedpools[c] = next;
    }

    arena_object *ao = &pym->arenas[pool->arenaindex];
    pool->prevpool = NULL;
    pool->nextpool = ao->freepools;
    ao->freepools = pool;

    uint32_t nf = ao->nfreepools;
    arena_object *lastnf = pym->nfp2lasta[nf];   /* NULL when nf == 0 */
    if (lastnf == ao) {
        arena_object *p = ao->prevarena;
        pym->nfp2lasta[nf] = (p && p->nfreepools == nf) ? p : NULL;
    }
    ao->nfreepools = ++nf;

    if (nf == 1) {
        /* The arena was full, so it is not on usable_arenas. A wholly free
         * arena (only possible when it holds a single pool) would land at
         * the head with others after it: unmap it unless it is alone. */
        if (nf == ao->ntotalpools && pym->usable_arenas != NULL) {
            free_arena(pym, ao);
            return;
        }
        ao->prevarena = NULL;
        ao->nextarena = pym->usable_arenas;
        if (pym->usable_arenas)
            pym->usable_arenas->prevarena = ao;
        pym->usable_arenas = ao;
        if (pym->nfp2lasta[1] == NULL)
            pym->nfp2lasta[1] = ao;
        return;
    }

    /* Wholly free: unmap it, unless it is the last arena of usable_arenas
     * (bpo-37257, see the notes at the top). */
    if (nf == ao->ntotalpools && ao->nextarena != NULL) {
        unlink_arena(pym, ao);
        free_arena(pym, ao);
        return;
    }

    if (pym->nfp2lasta[nf] == NULL)
        pym->nfp2lasta[nf] = ao;
    if (ao == lastnf)       /* already right of every arena with nf - 1 */
        return;
    /* Slide ao right, to just after lastnf (the last arena that still has
     * the old count). */
    assert(lastnf != NULL && ao->nextarena != NULL);
    unlink_arena(pym, ao);
    ao->prevarena = lastnf;
    ao->nextarena = lastnf->nextarena;
    if (lastnf->nextarena)
        lastnf->nextarena->prevarena = ao;
    lastnf->nextarena = ao;
}

/* ---------------------------------------------------------------------------
 * Raw blocks: requests pymalloc does not serve go to the C library
 * (PyMem_RawMalloc), counted as obmalloc counts them.
 * ------------------------------------------------------------------------- */

/* On error returns NULL (errno set by malloc). */
static void *raw_malloc(pym_t *pym, size_t size)
{
    void *p = malloc(size ? size : 1);   /* as PyMem_RawMalloc: never 0 bytes */
    if (p)
        pym->raw_allocated_blocks++;
    return p;
}

static void raw_free(pym_t *pym, void *ptr)
{
    pym->raw_allocated_blocks--;
    free(ptr);
}

/* ---------------------------------------------------------------------------
 * Public API
 * ------------------------------------------------------------------------- */

static bool is_pow2(size_t x) { return x && (x & (x - 1)) == 0; }

pym_t *pym_new(const pym_config_t *config)
{
    size_t arena = config && config->arena_size ? config->arena_size
                                                : PYM_DEFAULT_ARENA_SIZE;
    size_t pool = config && config->pool_size ? config->pool_size
                                              : PYM_DEFAULT_POOL_SIZE;
    long page = sysconf(_SC_PAGESIZE);
    if (!is_pow2(arena) || !is_pow2(pool) || pool < MIN_POOL_SIZE ||
        arena < pool || arena % pool != 0 || arena > MAX_ARENA_SIZE ||
        (page > 0 && arena % (size_t)page != 0)) {
        errno = EINVAL;
        return NULL;
    }

    pym_t *pym = calloc(1, sizeof *pym);
    if (!pym)
        goto nomem;
    pym->arena_size = arena;
    pym->pool_size = pool;
    pym->arena_mask = arena - 1;
    pym->pool_mask = pool - 1;
    pym->arena_shift = (unsigned)__builtin_ctzll(arena);
    pym->ntotalpools = (uint32_t)(arena / pool);
    for (unsigned c = 0; c < NCLASSES; c++)
        pym->capacity[c] = (uint32_t)((pool - POOL_OVERHEAD) / CLASS_SIZE(c));

    pym->nfp2lasta = calloc(pym->ntotalpools + 1, sizeof *pym->nfp2lasta);
    if (!pym->nfp2lasta)
        goto nomem;
    enum { MAP_INITIAL = 64 };
    pym->map_keys = map_alloc(MAP_INITIAL);
    if (!pym->map_keys)
        goto nomem;
    pym->map_mask = MAP_INITIAL - 1;
    pym->map_shift = 64 - 6;
    return pym;

nomem:
    pym_delete(pym);
    errno = ENOMEM;
    return NULL;
}

void pym_delete(pym_t *pym)
{
    if (!pym)
        return;
    for (uint32_t i = 0; i < pym->maxarenas; i++)
        if (pym->arenas[i].address)
            munmap((void *)pym->arenas[i].address, pym->arena_size);
    free(pym->arenas);
    free(pym->nfp2lasta);
    free(pym->map_keys);
    free(pym);
}

void *pym_malloc(pym_t *pym, size_t size)
{
    if (LIKELY(size - 1 < PYM_SMALL_REQUEST_THRESHOLD)) {
        unsigned c = (unsigned)CLASS_OF(size);
        pool_header *pool = pym->usedpools[c];
        block *bp;
        if (LIKELY(pool != NULL)) {
            bp = pool->freeblock;
            assert(bp != NULL);
            pool->ref++;
            pool->freeblock = *(block **)bp;
            if (UNLIKELY(pool->freeblock == NULL))
                pool_extend(pym, pool, c);
        } else {
            bp = alloc_from_new_pool(pym, c);
            if (UNLIKELY(bp == NULL))
                return NULL;
        }
        return bp;
    }
    return raw_malloc(pym, size);
}

void pym_free(pym_t *pym, void *ptr)
{
    if (UNLIKELY(ptr == NULL))
        return;
    uintptr_t p = (uintptr_t)ptr;
    if (UNLIKELY(!map_has(pym, p >> pym->arena_shift))) {
        raw_free(pym, ptr);
        return;
    }
    pool_header *pool = (pool_header *)(p & ~pym->pool_mask);
    unsigned c = pool->szidx;
    assert(pool->ref > 0 && c < NCLASSES);
    block *last = pool->freeblock;
    *(block **)ptr = last;
    pool->freeblock = (block *)ptr;
    pool->ref--;
    if (UNLIKELY(last == NULL)) {
        /* full -> used; ref > 0 since a pool holds >= 7 blocks */
        pool_full_to_used(pym, pool, c);
        return;
    }
    if (UNLIKELY(pool->ref == 0))
        pool_used_to_empty(pym, pool, c);
}

void *pym_realloc(pym_t *pym, void *ptr, size_t size)
{
    if (ptr == NULL)
        return pym_malloc(pym, size);
    uintptr_t p = (uintptr_t)ptr;
    if (!map_has(pym, p >> pym->arena_shift)) {
        /* CPython never moves a malloc()ed block into pymalloc, even when
         * it shrinks below 512 bytes. */
        return realloc(ptr, size ? size : 1);
    }
    const pool_header *pool = (const pool_header *)(p & ~pym->pool_mask);
    size_t have = CLASS_SIZE(pool->szidx);
    size_t keep = have;
    if (size <= have) {
        /* Same class, or shrinking by at most a quarter: stay in place
         * (CPython: pymalloc_realloc). */
        if (4 * size > 3 * have)
            return ptr;
        keep = size;
    }
    void *n = pym_malloc(pym, size);
    if (!n)
        return NULL;
    memcpy(n, ptr, keep);
    pym_free(pym, ptr);
    return n;
}

/* The state of a carved pool, read from its header alone. */
typedef enum pool_state { POOL_EMPTY, POOL_USED, POOL_FULL } pool_state_t;

static pool_state_t pool_state(const pool_header *p)
{
    if (p->ref == 0)
        return POOL_EMPTY;
    return p->freeblock == NULL ? POOL_FULL : POOL_USED;
}

/* Number of pools of arena `ao` ever carved (the rest are untouched). */
static uint32_t arena_carved(const pym_t *pym, const arena_object *ao)
{
    return (uint32_t)(((uintptr_t)ao->pool_address - ao->address) / pym->pool_size);
}

static const pool_header *arena_pool(const pym_t *pym, const arena_object *ao, uint32_t k)
{
    return (const pool_header *)(ao->address + (uintptr_t)k * pym->pool_size);
}

void pym_get_stats(const pym_t *pym, pym_stats_t *out)
{
    memset(out, 0, sizeof *out);
    out->arenas_current = pym->arenas_current;
    out->arenas_allocated = pym->arenas_allocated;
    out->arenas_freed = pym->arenas_allocated - pym->arenas_current;
    out->arenas_peak = pym->arenas_peak;
    out->raw_blocks = pym->raw_allocated_blocks;
    for (uint32_t i = 0; i < pym->maxarenas; i++) {
        const arena_object *ao = &pym->arenas[i];
        if (ao->address == 0)
            continue;
        uint32_t carved = arena_carved(pym, ao);
        out->pools_untouched += ao->ntotalpools - carved;
        for (uint32_t k = 0; k < carved; k++) {
            const pool_header *p = arena_pool(pym, ao, k);
            pym_class_stats_t *cs = &out->classes[p->szidx];
            switch (pool_state(p)) {
            case POOL_EMPTY: out->pools_empty++; continue;
            case POOL_USED: cs->pools_used++; break;
            case POOL_FULL: cs->pools_full++; break;
            }
            cs->blocks_allocated += p->ref;
        }
    }
    for (unsigned c = 0; c < NCLASSES; c++) {
        pym_class_stats_t *cs = &out->classes[c];
        /* "avail blocks" of sys._debugmallocstats: capacity of the used
         * pools minus what they hand out (full pools contribute 0). */
        cs->blocks_free = pym->capacity[c] * (cs->pools_used + cs->pools_full) -
                          cs->blocks_allocated;
        out->pools_used += cs->pools_used;
        out->pools_full += cs->pools_full;
        out->blocks_in_use += cs->blocks_allocated;
        out->bytes_in_use += cs->blocks_allocated * CLASS_SIZE(c);
    }
}

uint64_t pym_allocated_blocks(const pym_t *pym)
{
    uint64_t n = pym->raw_allocated_blocks;
    for (uint32_t i = 0; i < pym->maxarenas; i++) {
        const arena_object *ao = &pym->arenas[i];
        if (ao->address == 0)
            continue;
        uint32_t carved = arena_carved(pym, ao);
        for (uint32_t k = 0; k < carved; k++)
            n += arena_pool(pym, ao, k)->ref;   /* empty pools hold 0 */
    }
    return n;
}

size_t pym_arena_size(const pym_t *pym) { return pym->arena_size; }
size_t pym_pool_size(const pym_t *pym) { return pym->pool_size; }

/* ---------------------------------------------------------------------------
 * pym_check: the expensive walk
 * ------------------------------------------------------------------------- */

#define FAIL(...)                                   \
    do {                                            \
        if (err && errlen)                          \
            snprintf(err, errlen, __VA_ARGS__);     \
        rc = -1;                                    \
        goto out;                                   \
    } while (0)

static bool in_our_arena(const pym_t *pym, const void *p)
{
    return map_has(pym, (uintptr_t)p >> pym->arena_shift);
}

int pym_check(const pym_t *pym, char *err, size_t errlen)
{
    int rc = 0;
    uint64_t used[NCLASSES] = {0};
    uint64_t narenas = 0, nusable = 0;
    const size_t ps = pym->pool_size;
    const uint32_t ntotal = pym->ntotalpools;
    unsigned char *mark = calloc(ntotal, 1);
    if (!mark) {
        if (err && errlen)
            snprintf(err, errlen, "pym_check: out of memory");
        return -1;
    }

    /* 1. Every arena, every pool, every free list. */
    uint64_t nunused = 0;
    for (const arena_object *u = pym->unused_arena_objects; u; u = u->nextarena) {
        if (u->address != 0)
            FAIL("arena slot %td is on the unused list but mapped",
                 u - pym->arenas);
        if (++nunused > pym->maxarenas)
            FAIL("unused arena list has a cycle");
    }
    for (uint32_t i = 0; i < pym->maxarenas; i++) {
        const arena_object *ao = &pym->arenas[i];
        if (ao->address == 0)
            continue;
        narenas++;
        if (ao->address & pym->arena_mask)
            FAIL("arena %u at %#" PRIxPTR " is not aligned", i, ao->address);
        if (!in_our_arena(pym, (void *)ao->address))
            FAIL("arena %u is missing from the arena map", i);
        if (ao->ntotalpools != ntotal)
            FAIL("arena %u has %u pools, expected %u", i, ao->ntotalpools,
                 ntotal);
        uintptr_t pa = (uintptr_t)ao->pool_address;
        if (pa < ao->address || pa > ao->address + pym->arena_size ||
            (pa - ao->address) % ps)
            FAIL("arena %u: pool_address out of range", i);
        uint32_t carved = (uint32_t)((pa - ao->address) / ps);
        uint32_t untouched = ntotal - carved;

        memset(mark, 0, ntotal);
        uint32_t nfree = 0;
        for (const pool_header *p = ao->freepools; p; p = p->nextpool) {
            uintptr_t a = (uintptr_t)p;
            if (a < ao->address || a >= pa || (a - ao->address) % ps)
                FAIL("arena %u: free pool %p outside its carved pools", i,
                     (void *)p);
            size_t k = (a - ao->address) / ps;
            if (mark[k])
                FAIL("arena %u: free pool list has a cycle", i);
            mark[k] = 1;
            if (p->ref != 0)
                FAIL("arena %u: empty pool %zu has ref %u", i, k, p->ref);
            nfree++;
        }
        if (ao->nfreepools != nfree + untouched)
            FAIL("arena %u: nfreepools %u != %u empty + %u untouched", i,
                 ao->nfreepools, nfree, untouched);
        if (ao->nfreepools > 0)
            nusable++;

        for (uint32_t k = 0; k < carved; k++) {
            if (mark[k])
                continue;
            const block *base = (const block *)(ao->address + k * ps);
            const pool_header *p = (const pool_header *)base;
            if (p->arenaindex != i)
                FAIL("arena %u pool %u: arenaindex %u", i, k, p->arenaindex);
            if (p->szidx >= NCLASSES)
                FAIL("arena %u pool %u: bad size class %u", i, k, p->szidx);
            if (p->ref == 0)
                FAIL("arena %u pool %u: ref 0 but not on freepools", i, k);
            unsigned c = p->szidx;
            size_t size = CLASS_SIZE(c);
            if (p->maxnextoffset != ps - size ||
                p->nextoffset < POOL_OVERHEAD + 2 * size ||
                p->nextoffset > p->maxnextoffset + size ||
                (p->nextoffset - POOL_OVERHEAD) % size)
                FAIL("arena %u pool %u: bad nextoffset %u", i, k,
                     p->nextoffset);
            uint32_t ncarved = (uint32_t)((p->nextoffset - POOL_OVERHEAD) / size);
            const block *lo = base + POOL_OVERHEAD, *hi = base + p->nextoffset;
            uint32_t flen = 0;
            for (const block *b = p->freeblock; b; b = *(block *const *)b) {
                if (b < lo || b >= hi || (size_t)(b - lo) % size)
                    FAIL("arena %u pool %u: free block %p outside the pool or "
                         "misaligned for %zu-byte blocks", i, k, (void *)b, size);
                if (++flen > ncarved)
                    FAIL("arena %u pool %u: free list has a cycle", i, k);
            }
            if (flen != ncarved - p->ref)
                FAIL("arena %u pool %u: %u free blocks != %u carved - %u ref",
                     i, k, flen, ncarved, p->ref);
            if (p->freeblock == NULL) {
                if (ncarved != pym->capacity[c])
                    FAIL("arena %u pool %u: no free block but %u untouched",
                         i, k, pym->capacity[c] - ncarved);
                if (p->nextpool || p->prevpool)
                    FAIL("arena %u pool %u: full pool is still linked", i, k);
            } else {
                used[c]++;
            }
        }
    }
    if (narenas != pym->arenas_current)
        FAIL("walk found %" PRIu64 " arenas, stats say %" PRIu64, narenas,
             pym->arenas_current);
    if (narenas + nunused != pym->maxarenas)
        FAIL("%" PRIu64 " mapped + %" PRIu64 " unused arena slots != %u",
             narenas, nunused, pym->maxarenas);
    if (pym->map_count != narenas)
        FAIL("arena map holds %zu keys for %" PRIu64 " arenas", pym->map_count,
             narenas);
    if (pym->arenas_current > pym->arenas_allocated ||
        pym->arenas_peak < pym->arenas_current)
        FAIL("arena counters disagree (current %" PRIu64 ", allocated %" PRIu64
             ", peak %" PRIu64 ")", pym->arenas_current, pym->arenas_allocated,
             pym->arenas_peak);

    /* 2. usedpools rings hold exactly the used pools the walk found. */
    for (unsigned c = 0; c < NCLASSES; c++) {
        const pool_header *head = pym->usedpools[c];
        uint64_t n = 0;
        if (head) {
            const pool_header *p = head;
            do {
                if (!in_our_arena(pym, p) || ((uintptr_t)p & pym->pool_mask))
                    FAIL("usedpools[%u] links to %p, not a pool", c, (void *)p);
                if (p->szidx != c || p->ref == 0 || p->freeblock == NULL)
                    FAIL("usedpools[%u] holds a pool that is not used/class %u",
                         c, c);
                if (p->nextpool->prevpool != p)
                    FAIL("usedpools[%u] ring has a broken back link", c);
                if (++n > used[c])
                    FAIL("usedpools[%u] ring longer than %" PRIu64 " pools", c,
                         used[c]);
                p = p->nextpool;
            } while (p != head);
        }
        if (n != used[c])
            FAIL("usedpools[%u] ring has %" PRIu64 " pools, walk found %" PRIu64,
                 c, n, used[c]);
    }

    /* 3. usable_arenas: sorted by nfreepools, nfp2lasta exact, at most one
     * wholly free arena and only at the tail. */
    uint64_t nlist = 0;
    const arena_object *prev = NULL;
    for (const arena_object *a = pym->usable_arenas; a; a = a->nextarena) {
        if (a->address == 0 || a->nfreepools == 0)
            FAIL("usable_arenas holds an unmapped or full arena");
        if (a->prevarena != prev)
            FAIL("usable_arenas has a broken back link");
        if (prev && prev->nfreepools > a->nfreepools)
            FAIL("usable_arenas not sorted (%u before %u free pools)",
                 prev->nfreepools, a->nfreepools);
        bool last_of_count = !a->nextarena ||
                             a->nextarena->nfreepools != a->nfreepools;
        if (last_of_count && pym->nfp2lasta[a->nfreepools] != a)
            FAIL("nfp2lasta[%u] is not the last arena with that count",
                 a->nfreepools);
        if (a->nfreepools == ntotal && a->nextarena)
            FAIL("a wholly free arena is not the tail of usable_arenas");
        if (++nlist > narenas)
            FAIL("usable_arenas has a cycle");
        prev = a;
    }
    if (nlist != nusable)
        FAIL("usable_arenas holds %" PRIu64 " arenas, %" PRIu64
             " have free pools", nlist, nusable);
    for (uint32_t n = 0; n <= ntotal; n++) {
        const arena_object *a = pym->nfp2lasta[n];
        if (!a)
            continue;
        if (a->address == 0 || a->nfreepools != n ||
            (a->nextarena && a->nextarena->nfreepools == n))
            FAIL("nfp2lasta[%u] is stale", n);
        bool found = false;
        for (const arena_object *b = pym->usable_arenas; b; b = b->nextarena)
            found |= b == a;
        if (!found)
            FAIL("nfp2lasta[%u] points outside usable_arenas", n);
    }

out:
    free(mark);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Teaching views
 * ------------------------------------------------------------------------- */

static void print_size(FILE *out, size_t bytes)
{
    if (bytes % (1u << 20) == 0)
        fprintf(out, "%zu MiB", bytes >> 20);
    else
        fprintf(out, "%zu KiB", bytes >> 10);
}

void pym_walk_pools(const pym_t *pym, pym_pool_fn fn, void *arg)
{
    static const pym_pool_state_t states[] = {
        [POOL_EMPTY] = PYM_POOL_EMPTY, [POOL_USED] = PYM_POOL_USED, [POOL_FULL] = PYM_POOL_FULL};

    for (uint32_t i = 0; i < pym->maxarenas; i++) {
        const arena_object *ao = &pym->arenas[i];
        if (!ao->address)
            continue;
        uint32_t carved = arena_carved(pym, ao);
        for (uint32_t k = 0; k < ao->ntotalpools; k++) {
            pym_pool_info_t info = {.arena = i, .arena_address = ao->address, .pool = k,
                                    .npools = ao->ntotalpools, .state = PYM_POOL_UNTOUCHED};
            if (k < carved) {
                const pool_header *p = arena_pool(pym, ao, k);
                info.state = states[pool_state(p)];
                if (info.state != PYM_POOL_EMPTY) {
                    info.block_size = CLASS_SIZE(p->szidx);
                    info.blocks_in_use = p->ref;
                    info.capacity = pym->capacity[p->szidx];
                }
            }
            fn(&info, arg);
        }
    }
}

/* pym_print_map's state while the pools go by. */
typedef struct map_printer {
    FILE *out;
    unsigned nfull, nused, nfree;
} map_printer_t;

static void print_pool(const pym_pool_info_t *p, void *arg)
{
    enum { PER_LINE = 64 };
    static const char chars[] = {
        [PYM_POOL_UNTOUCHED] = '_', [PYM_POOL_EMPTY] = '.', [PYM_POOL_USED] = '+',
        [PYM_POOL_FULL] = '#'};
    map_printer_t *m = arg;

    if (p->pool == 0) {
        m->nfull = m->nused = m->nfree = 0;
        fprintf(m->out, "arena %3u %#14" PRIxPTR " |", p->arena, p->arena_address);
    } else if (p->pool % PER_LINE == 0) {
        fprintf(m->out, "|\n%*s|", 25, "");
    }
    fputc(chars[p->state], m->out);
    m->nfull += p->state == PYM_POOL_FULL;
    m->nused += p->state == PYM_POOL_USED;
    m->nfree += p->state == PYM_POOL_EMPTY || p->state == PYM_POOL_UNTOUCHED;
    if (p->pool + 1 == p->npools)
        fprintf(m->out, "| %u full, %u used, %u free\n", m->nfull, m->nused, m->nfree);
}

void pym_print_map(const pym_t *pym, FILE *out)
{
    map_printer_t m = {.out = out};

    fprintf(out, "pymalloc map: %" PRIu64 " arena%s of ", pym->arenas_current,
            pym->arenas_current == 1 ? "" : "s");
    print_size(out, pym->arena_size);
    fprintf(out, ", %u pools of ", pym->ntotalpools);
    print_size(out, pym->pool_size);
    fprintf(out, " each\n"
                 "legend: '#' full  '+' used  '.' empty (initialised)  "
                 "'_' untouched\n");
    pym_walk_pools(pym, print_pool, &m);
}

void pym_print_classes(const pym_t *pym, FILE *out)
{
    pym_stats_t st;
    pym_get_stats(pym, &st);
    fprintf(out, "Small block threshold = %u, in %u size classes.\n\n",
            PYM_SMALL_REQUEST_THRESHOLD, NCLASSES);
    fprintf(out, "class   size   num pools   blocks in use  avail blocks\n"
                 "-----   ----   ---------   -------------  ------------\n");
    uint64_t tpools = 0, tblocks = 0, tavail = 0;
    for (unsigned c = 0; c < NCLASSES; c++) {
        const pym_class_stats_t *cs = &st.classes[c];
        uint64_t npools = cs->pools_used + cs->pools_full;
        if (npools == 0)
            continue;
        fprintf(out, "%5u %6zu %11" PRIu64 " %15" PRIu64 " %13" PRIu64 "\n",
                c, CLASS_SIZE(c), npools, cs->blocks_allocated, cs->blocks_free);
        tpools += npools;
        tblocks += cs->blocks_allocated;
        tavail += cs->blocks_free;
    }
    fprintf(out, "total %6s %11" PRIu64 " %15" PRIu64 " %13" PRIu64 "\n\n", "",
            tpools, tblocks, tavail);
    const char *fmt = "# %-32s = %20" PRIu64 "\n";
    fprintf(out, fmt, "arenas allocated total", st.arenas_allocated);
    fprintf(out, fmt, "arenas reclaimed", st.arenas_freed);
    fprintf(out, fmt, "arenas highwater mark", st.arenas_peak);
    fprintf(out, fmt, "arenas allocated current", st.arenas_current);
    fprintf(out, fmt, "pools used / full", st.pools_used + st.pools_full);
    fprintf(out, fmt, "pools empty (initialised)", st.pools_empty);
    fprintf(out, fmt, "pools untouched", st.pools_untouched);
    fprintf(out, fmt, "bytes in small blocks", st.bytes_in_use);
    fprintf(out, fmt, "raw blocks (to malloc)", st.raw_blocks);
    char label[64];
    snprintf(label, sizeof label, "%" PRIu64 " arenas * %zu bytes/arena",
             st.arenas_current, pym->arena_size);
    fprintf(out, "%-34s = %20" PRIu64 "\n", label,
            st.arenas_current * (uint64_t)pym->arena_size);
}
