/* tests/test_pymalloc.c: the pymalloc model (lab/pymalloc.c) against the
 * behaviour of CPython's obmalloc it claims to reproduce. Every test ends
 * with pym_check, the full heap walk. */
#define _DEFAULT_SOURCE 1   /* msync */
#include <criterion/criterion.h>
#define CHECK(cond, ...) cr_assert(cond, __VA_ARGS__)

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture.h"
#include "lab/pymalloc.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

static void check_ok(const pym_t *pym)
{
    char err[256] = "";
    int rc = pym_check(pym, err, sizeof err);
    cr_assert_eq(rc, 0, "pym_check: %s", err);
}

static pym_stats_t stats_of(const pym_t *pym)
{
    pym_stats_t st;
    pym_get_stats(pym, &st);
    return st;
}

static pym_t *make(size_t arena, size_t pool)
{
    pym_config_t cfg = {.arena_size = arena, .pool_size = pool};
    pym_t *pym = pym_new(&cfg);
    cr_assert_not_null(pym, "pym_new(%zu, %zu): %s", arena, pool,
                       strerror(errno));
    return pym;
}

static size_t class_bytes(size_t n) { return (n + 15) / 16 * 16; }

/* The start of the pool or arena (a power-of-two `size`, aligned to it)
 * that holds p. */
static uintptr_t base_of(const void *p, size_t size) { return (uintptr_t)p & ~(uintptr_t)(size - 1); }

/* The end of a test: free the blocks v[0..n) (NULL ones too, a no-op),
 * walk the heap, and delete it and the array. */
static void free_all_and_delete(pym_t *pym, void **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pym_free(pym, v[i]);
    check_ok(pym);
    free(v);
    pym_delete(pym);
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed * 31u + i * 7u);
}

static int intact(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed * 31u + i * 7u))
            return 0;
    return 1;
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------------------ */

Test(pymalloc, defaults_and_geometry)
{
    pym_t *pym = pym_new(NULL);
    cr_assert_not_null(pym);
    cr_assert_eq(pym_arena_size(pym), PYM_DEFAULT_ARENA_SIZE);
    cr_assert_eq(pym_pool_size(pym), PYM_DEFAULT_POOL_SIZE);
    pym_stats_t st = stats_of(pym);
    cr_assert_eq(st.arenas_current, 0, "no arena before the first malloc");
    check_ok(pym);
    pym_delete(pym);

    pym = make(256 * KiB, 4 * KiB);
    cr_assert_eq(pym_arena_size(pym), 256 * KiB);
    cr_assert_eq(pym_pool_size(pym), 4 * KiB);
    void *p = pym_malloc(pym, 8);
    st = stats_of(pym);
    cr_assert_eq(st.arenas_current, 1);
    cr_assert_eq(st.pools_untouched, 256 / 4 - 1);
    pym_free(pym, p);
    check_ok(pym);
    pym_delete(pym);
    pym_delete(NULL);
}

Test(pymalloc, rejects_bad_geometry)
{
    static const pym_config_t bad[] = {
        {.arena_size = 1 * MiB, .pool_size = 2 * KiB},       /* pool < 4 KiB */
        {.arena_size = 1 * MiB, .pool_size = 12 * KiB},      /* not pow2 */
        {.arena_size = 768 * KiB, .pool_size = 16 * KiB},    /* not pow2 */
        {.arena_size = 8 * KiB, .pool_size = 16 * KiB},      /* arena < pool */
        {.arena_size = 128 * MiB, .pool_size = 16 * KiB},    /* > 64 MiB */
        {.arena_size = 1 * MiB, .pool_size = 3},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        pym_t *pym = pym_new(&bad[i]);
        cr_assert_null(pym, "config %zu accepted", i);
        cr_assert_eq(errno, EINVAL, "config %zu: errno %d", i, errno);
    }
    pym_t *ok = make(64 * MiB, 4 * KiB);   /* the extremes are allowed */
    pym_delete(ok);
}

Test(pymalloc, round_trip_all_sizes)
{
    pym_t *pym = pym_new(NULL);
    enum { NSMALL = 513, NLARGE = 6 };
    static const size_t large[NLARGE] = {513, 600, 1024, 4096, 65536, 1 << 20};
    void *p[NSMALL + NLARGE];
    size_t sz[NSMALL + NLARGE];
    uint64_t expect = 0;
    for (size_t i = 0; i < NSMALL + NLARGE; i++) {
        sz[i] = i < NSMALL ? i : large[i - NSMALL];   /* 0..512, then large */
        p[i] = pym_malloc(pym, sz[i]);
        cr_assert_not_null(p[i], "malloc(%zu)", sz[i]);
        fill(p[i], sz[i], (unsigned)i);
        expect += sz[i] == 0 || sz[i] > 512 ? 0 : class_bytes(sz[i]);
    }
    pym_stats_t st = stats_of(pym);
    cr_assert_eq(st.bytes_in_use, expect, "bytes of the small blocks");
    cr_assert_eq(st.raw_blocks, NLARGE + 1, "0 bytes and >512 go to malloc");
    cr_assert_eq(st.blocks_in_use, NSMALL - 1);
    cr_assert_eq(pym_allocated_blocks(pym), NSMALL + NLARGE, "sys.getallocatedblocks()");
    check_ok(pym);

    /* Small blocks: 16-byte aligned and non-overlapping. */
    uintptr_t a[NSMALL];
    for (size_t i = 1; i < NSMALL; i++) {
        cr_assert_eq((uintptr_t)p[i] % 16, 0, "malloc(%zu) misaligned", sz[i]);
        a[i - 1] = (uintptr_t)p[i];
    }
    qsort(a, NSMALL - 1, sizeof a[0], cmp_ptr);
    for (size_t i = 0; i + 1 < NSMALL - 1; i++)
        cr_assert_lt(a[i], a[i + 1], "two live blocks share an address");
    for (size_t i = 0; i < NSMALL + NLARGE; i++)
        cr_assert(intact(p[i], sz[i], (unsigned)i), "block %zu (%zu bytes) "
                  "was overwritten", i, sz[i]);
    for (size_t i = 0; i < NSMALL + NLARGE; i++)
        pym_free(pym, p[i]);
    st = stats_of(pym);
    cr_assert_eq(st.bytes_in_use, 0);
    cr_assert_eq(st.raw_blocks, 0);
    cr_assert_eq(pym_allocated_blocks(pym), 0);
    pym_free(pym, NULL);
    check_ok(pym);
    pym_delete(pym);
}

Test(pymalloc, size_class_selection)
{
    pym_t *pym = pym_new(NULL);
    for (size_t n = 1; n <= 512; n++) {
        void *p = pym_malloc(pym, n);
        pym_stats_t st = stats_of(pym);
        unsigned c = (unsigned)((n - 1) / 16);
        for (unsigned k = 0; k < PYM_NB_SMALL_SIZE_CLASSES; k++)
            cr_assert_eq(st.classes[k].blocks_allocated, k == c,
                         "malloc(%zu) should use class %u (checked %u)", n, c, k);
        cr_assert_eq(st.bytes_in_use, (c + 1) * 16u, "malloc(%zu)", n);
        cr_assert_eq(st.raw_blocks, 0);
        pym_free(pym, p);
    }
    void *z = pym_malloc(pym, 0), *z2 = pym_malloc(pym, 0);
    cr_assert(z && z2 && z != z2, "malloc(0) returns unique pointers");
    pym_stats_t st = stats_of(pym);
    cr_assert_eq(st.raw_blocks, 2, "malloc(0) goes to the system, as CPython");
    pym_free(pym, z);
    pym_free(pym, z2);
    check_ok(pym);
    pym_delete(pym);
}

/* Fill one pool of the 48-byte class and watch it go used -> full -> used
 * -> empty. */
static void pool_states(size_t arena, size_t pool)
{
    pym_t *pym = make(arena, pool);
    const unsigned c = 2;   /* 33..48 bytes */
    void *first = pym_malloc(pym, 48);
    pym_stats_t st = stats_of(pym);
    cr_assert_eq(st.classes[c].pools_used, 1);
    uint64_t cap = st.classes[c].blocks_allocated + st.classes[c].blocks_free;
    cr_assert_eq(cap, (pool - 48) / 48, "blocks per pool");

    void **b = calloc(cap, sizeof *b);
    b[0] = first;
    uintptr_t base = base_of(first, pool);
    for (uint64_t i = 1; i < cap; i++) {
        st = stats_of(pym);
        cr_assert_eq(st.classes[c].pools_full, 0, "full after %lu of %lu",
                     (unsigned long)i, (unsigned long)cap);
        b[i] = pym_malloc(pym, 40);
        cr_assert_eq(base_of(b[i], pool), base,
                     "block %lu left the first pool early", (unsigned long)i);
    }
    st = stats_of(pym);
    cr_assert_eq(st.classes[c].pools_full, 1, "used -> full");
    cr_assert_eq(st.classes[c].pools_used, 0);
    cr_assert_eq(st.classes[c].blocks_free, 0);
    check_ok(pym);

    pym_free(pym, b[cap / 2]);
    st = stats_of(pym);
    cr_assert_eq(st.classes[c].pools_full, 0, "full -> used on one free");
    cr_assert_eq(st.classes[c].pools_used, 1);
    cr_assert_eq(st.classes[c].blocks_free, 1);
    check_ok(pym);

    uint64_t empty_before = st.pools_empty;
    for (uint64_t i = 0; i < cap; i++)
        if (i != cap / 2)
            pym_free(pym, b[i]);
    st = stats_of(pym);
    cr_assert_eq(st.classes[c].pools_used, 0, "used -> empty on last free");
    cr_assert_eq(st.pools_empty, empty_before + 1);
    cr_assert_eq(st.arenas_current, 1, "the only arena is kept");
    check_ok(pym);

    /* The empty pool is reused by another class, re-initialised. */
    void *q = pym_malloc(pym, 500);
    cr_assert_eq(base_of(q, pool), base,
                 "an empty pool is taken before an untouched one");
    st = stats_of(pym);
    cr_assert_eq(st.pools_empty, empty_before);
    cr_assert_eq(st.classes[31].pools_used, 1);
    pym_free(pym, q);
    check_ok(pym);
    free(b);
    pym_delete(pym);
}

Test(pymalloc, pool_state_transitions_16k) { pool_states(1 * MiB, 16 * KiB); }
Test(pymalloc, pool_state_transitions_4k) { pool_states(256 * KiB, 4 * KiB); }

Test(pymalloc, lifo_reuse)
{
    pym_t *pym = pym_new(NULL);
    void *a = pym_malloc(pym, 24), *b = pym_malloc(pym, 24),
         *c = pym_malloc(pym, 32);
    cr_assert(a != b && b != c && a != c);
    pym_free(pym, b);
    cr_assert_eq(pym_malloc(pym, 17), b, "the block just freed comes back");
    pym_free(pym, a);
    pym_free(pym, c);
    cr_assert_eq(pym_malloc(pym, 30), c, "last in, first out");
    cr_assert_eq(pym_malloc(pym, 30), a);
    pym_free(pym, a);
    pym_free(pym, b);
    pym_free(pym, c);
    check_ok(pym);
    pym_delete(pym);
}

/* A full pool that gets a block back goes to the front of its class's used
 * list, so that block is the next one handed out. */
Test(pymalloc, full_pool_returns_to_front)
{
    pym_t *pym = make(256 * KiB, 4 * KiB);
    enum { CAP = (4096 - 48) / 512 };   /* 7 blocks of 512 per pool */
    void *first[CAP], *second;
    for (int i = 0; i < CAP; i++)
        first[i] = pym_malloc(pym, 512);
    second = pym_malloc(pym, 512);   /* opens a second, used pool */
    cr_assert_neq(base_of(second, 4096),
                  base_of(first[0], 4096));
    cr_assert_eq(stats_of(pym).classes[31].pools_full, 1);
    pym_free(pym, first[3]);
    cr_assert_eq(pym_malloc(pym, 512), first[3],
                 "the refilled pool should be used first");
    for (int i = 0; i < CAP; i++)
        pym_free(pym, first[i]);
    pym_free(pym, second);
    check_ok(pym);
    pym_delete(pym);
}

/* Fill arenas with 512-byte blocks until `n` arenas are mapped. Returns the
 * pointer array; *count receives its length. */
static void **fill_arenas(pym_t *pym, uint64_t n, size_t *count)
{
    size_t cap = 1024, len = 0;
    void **v = malloc(cap * sizeof *v);
    for (;;) {
        void *p = pym_malloc(pym, 512);
        cr_assert_not_null(p);
        if (len == cap)
            v = realloc(v, (cap *= 2) * sizeof *v);
        v[len++] = p;
        if (stats_of(pym).arenas_current == n)
            break;
    }
    *count = len;
    return v;
}

static void arenas_returned(size_t arena, size_t pool)
{
    pym_t *pym = make(arena, pool);
    size_t n;
    void **v = fill_arenas(pym, 3, &n);
    pym_stats_t st = stats_of(pym);
    cr_assert_eq(st.arenas_current, 3);
    cr_assert_eq(st.arenas_freed, 0);
    check_ok(pym);

    /* Empty the first arena while the third still has blocks: it is
     * returned to the OS. */
    uintptr_t first = base_of(v[0], arena);
    for (size_t i = 0; i < n; i++)
        if (base_of(v[i], arena) == first) {
            pym_free(pym, v[i]);
            v[i] = NULL;
        }
    st = stats_of(pym);
    cr_assert_eq(st.arenas_current, 2, "an empty arena is unmapped");
    cr_assert_eq(st.arenas_freed, 1);
    cr_assert_eq(st.arenas_peak, 3);
    errno = 0;
    cr_assert_eq(msync((void *)first, 4096, MS_ASYNC), -1,
                 "the arena's pages are still mapped");
    cr_assert_eq(errno, ENOMEM);
    check_ok(pym);

    /* Empty everything: CPython keeps the last usable arena (bpo-37257). */
    for (size_t i = 0; i < n; i++)
        pym_free(pym, v[i]);
    st = stats_of(pym);
    cr_assert_eq(st.arenas_current, 1, "one wholly free arena is kept");
    cr_assert_eq(st.arenas_freed, 2);
    cr_assert_eq(st.bytes_in_use, 0);
    check_ok(pym);

    /* ... and reused without mapping a new one. */
    void *p = pym_malloc(pym, 100);
    st = stats_of(pym);
    cr_assert_eq(st.arenas_allocated, 3);
    cr_assert_eq(st.arenas_current, 1);
    pym_free(pym, p);
    check_ok(pym);
    free(v);
    pym_delete(pym);
}

Test(pymalloc, arena_returned_1m) { arenas_returned(1 * MiB, 16 * KiB); }
Test(pymalloc, arena_returned_256k) { arenas_returned(256 * KiB, 4 * KiB); }

/* The fullest arena serves new pools, so emptier arenas can drain. */
Test(pymalloc, fullest_arena_first)
{
    const size_t arena = 256 * KiB, pool = 4 * KiB;
    pym_t *pym = make(arena, pool);
    size_t n;
    void **v = fill_arenas(pym, 2, &n);
    /* Arena A (first) is full, B has one pool. Freeing the first half of
     * the blocks empties about half of A's pools: A is still fuller than
     * B, so it heads usable_arenas. */
    uintptr_t a = base_of(v[0], arena);
    uintptr_t b = base_of(v[n - 1], arena);
    cr_assert_neq(a, b);
    for (size_t i = 0; i < n / 2; i++) {
        pym_free(pym, v[i]);
        v[i] = NULL;
    }
    check_ok(pym);
    /* A new class needs a new pool: it must come from A (fewer free pools). */
    void *p = pym_malloc(pym, 16);
    cr_assert_eq(base_of(p, arena), a,
                 "new pool not taken from the fullest arena");
    pym_free(pym, p);
    free_all_and_delete(pym, v, n);
}

/* Free the blocks of `npools` whole pools of 512-byte blocks in `arena`
 * (7 blocks per 4 KiB pool); v is in allocation order. */
static void empty_pools(pym_t *pym, void **v, size_t n, uintptr_t arena,
                        size_t npools)
{
    size_t freed = 0;
    for (size_t i = 0; i < n && freed < npools * 7; i++)
        if (v[i] && base_of(v[i], 256 * KiB) == arena) {
            pym_free(pym, v[i]);
            v[i] = NULL;
            freed++;
        }
}

/* usable_arenas stays sorted by free pools: an arena that gains free pools
 * slides right past arenas that now have fewer (the nfp2lasta trick). */
Test(pymalloc, arena_slides_right)
{
    const size_t arena = 256 * KiB;
    pym_t *pym = make(arena, 4 * KiB);
    size_t n;
    void **v = fill_arenas(pym, 3, &n);
    uintptr_t a = base_of(v[0], arena);
    uintptr_t b = base_of(v[n - 8], arena);
    cr_assert_neq(a, b, "A and B are the two full arenas");
    empty_pools(pym, v, n, b, 10);   /* B: 10 free pools */
    empty_pools(pym, v, n, a, 5);    /* A: 5, so A heads the list */
    check_ok(pym);
    void *p = pym_malloc(pym, 16);
    cr_assert_eq(base_of(p, arena), a);
    pym_free(pym, p);
    empty_pools(pym, v, n, a, 10);   /* A: 15 > B: 10, A moves after B */
    check_ok(pym);
    p = pym_malloc(pym, 16);
    cr_assert_eq(base_of(p, arena), b,
                 "B is now the fullest usable arena");
    pym_free(pym, p);
    free_all_and_delete(pym, v, n);
}

Test(pymalloc, raw_blocks_counted)
{
    pym_t *pym = pym_new(NULL);
    unsigned char *p = pym_malloc(pym, 513);
    unsigned char *q = pym_malloc(pym, 100000);
    cr_assert(p && q);
    fill(p, 513, 1);
    fill(q, 100000, 2);
    pym_stats_t st = stats_of(pym);
    cr_assert_eq(st.raw_blocks, 2, "raw_allocated_blocks");
    cr_assert_eq(st.bytes_in_use, 0, "raw blocks' bytes are the C library's business");
    cr_assert_eq(st.arenas_current, 0, "large blocks do not map arenas");
    cr_assert_eq(pym_allocated_blocks(pym), 2);
    check_ok(pym);
    cr_assert(intact(p, 513, 1) && intact(q, 100000, 2));
    pym_free(pym, p);
    cr_assert_eq(stats_of(pym).raw_blocks, 1);
    pym_free(pym, q);
    cr_assert_eq(pym_allocated_blocks(pym), 0);
    pym_delete(pym);
}

Test(pymalloc, realloc_across_boundary)
{
    pym_t *pym = pym_new(NULL);
    unsigned char *p = pym_realloc(pym, NULL, 100);   /* acts as malloc */
    cr_assert_not_null(p);
    fill(p, 100, 7);
    cr_assert_eq(stats_of(pym).classes[6].blocks_allocated, 1);

    /* Within the class, and shrinking by <= 25%: in place. */
    cr_assert_eq(pym_realloc(pym, p, 112), p);
    cr_assert_eq(pym_realloc(pym, p, 90), p);

    /* Small -> large. */
    unsigned char *l = pym_realloc(pym, p, 5000);
    cr_assert_not_null(l);
    cr_assert(intact(l, 100, 7), "data lost crossing 512 bytes upwards");
    pym_stats_t st = stats_of(pym);
    cr_assert_eq(st.raw_blocks, 1);
    cr_assert_eq(st.classes[6].blocks_allocated, 0);
    cr_assert_eq(st.bytes_in_use, 0);
    fill(l, 5000, 8);

    /* Large -> small size: CPython leaves it with the system allocator. */
    unsigned char *s = pym_realloc(pym, l, 64);
    cr_assert_not_null(s);
    cr_assert(intact(s, 64, 8), "data lost shrinking a large block");
    st = stats_of(pym);
    cr_assert_eq(st.raw_blocks, 1, "still a raw block");
    cr_assert_eq(st.bytes_in_use, 0);
    check_ok(pym);
    pym_free(pym, s);

    /* Small -> smaller class, shrinking by more than 25%: moves. */
    unsigned char *m = pym_malloc(pym, 512);
    fill(m, 512, 9);
    unsigned char *m2 = pym_realloc(pym, m, 100);
    cr_assert_neq(m2, m);
    cr_assert(intact(m2, 100, 9));
    st = stats_of(pym);
    cr_assert_eq(st.classes[31].blocks_allocated, 0);
    cr_assert_eq(st.classes[6].blocks_allocated, 1);
    pym_free(pym, m2);
    st = stats_of(pym);
    cr_assert_eq(st.bytes_in_use, 0);
    cr_assert_eq(pym_allocated_blocks(pym), 0);
    check_ok(pym);
    pym_delete(pym);
}

/* Thousands of seeded random operations; the statistics (a heap walk) must
 * agree with a shadow model, and the heap with its invariants, throughout. */
static size_t accounted(size_t n, int large)
{
    return large ? 0 : class_bytes(n);
}

static void random_ops(size_t arena, size_t pool, uint64_t seed)
{
    enum { SLOTS = 10000, OPS = 80000 };
    pym_t *pym = make(arena, pool);
    unsigned char **p = calloc(SLOTS, sizeof *p);
    size_t *len = calloc(SLOTS, sizeof *len);    /* bytes of pattern */
    size_t *acct = calloc(SLOTS, sizeof *acct);  /* bytes counted */
    char *large = calloc(SLOTS, 1);
    uint64_t live = 0, bytes = 0, nlarge = 0, s = seed;
    for (int op = 0; op < OPS; op++) {
        size_t i = xorshift(&s) % SLOTS;
        uint64_t r = xorshift(&s);
        size_t n = r % 100 < 90 ? (size_t)(r >> 8) % 513          /* 0..512 */
                                : 513 + (size_t)(r >> 8) % 4000;
        if (p[i])
            cr_assert(intact(p[i], len[i], (unsigned)i), "op %d: corrupted", op);
        if (p[i] && r % 7 == 0) {
            unsigned char *q = pym_realloc(pym, p[i], n);
            cr_assert_not_null(q);
            size_t keep = n < len[i] ? n : len[i];
            cr_assert(intact(q, keep, (unsigned)i), "op %d: realloc lost data",
                      op);
            bytes -= acct[i];
            if (large[i]) {                 /* stays with malloc (CPython) */
                acct[i] = accounted(n, 1);
            } else if (n != 0 && n <= acct[i] && 4 * n > 3 * acct[i]) {
                cr_assert_eq(q, p[i], "op %d: realloc %zu -> %zu should stay "
                             "in place", op, acct[i], n);
            } else {
                cr_assert_neq(q, p[i], "op %d: realloc should move", op);
                large[i] = n == 0 || n > 512;
                nlarge += large[i];
                acct[i] = accounted(n, large[i]);
            }
            bytes += acct[i];
            p[i] = q;
            len[i] = n;
            fill(q, n, (unsigned)i);
        } else if (p[i]) {
            pym_free(pym, p[i]);
            bytes -= acct[i];
            nlarge -= large[i];
            p[i] = NULL;
            live--;
        } else {
            p[i] = pym_malloc(pym, n);
            cr_assert_not_null(p[i]);
            len[i] = n;
            large[i] = n == 0 || n > 512;
            acct[i] = accounted(n, large[i]);
            fill(p[i], n, (unsigned)i);
            bytes += acct[i];
            nlarge += large[i];
            live++;
        }
        if (op % 2000 == 0 || op == OPS - 1) {
            pym_stats_t st = stats_of(pym);
            cr_assert_eq(pym_allocated_blocks(pym), live, "op %d", op);
            cr_assert_eq(st.blocks_in_use + st.raw_blocks, live, "op %d", op);
            cr_assert_eq(st.raw_blocks, nlarge, "op %d", op);
            cr_assert_eq(st.bytes_in_use, bytes, "op %d", op);
            check_ok(pym);
        }
    }
    pym_stats_t st = stats_of(pym);
    cr_assert_gt(st.arenas_peak, 1, "the run should span several arenas");
    /* Tear down in slot order (random heap order), walking the heap as
     * arenas drain, slide right and get unmapped. */
    for (size_t i = 0; i < SLOTS; i++) {
        pym_free(pym, p[i]);
        if (i % 500 == 0)
            check_ok(pym);
    }
    st = stats_of(pym);
    cr_assert_eq(st.bytes_in_use, 0);
    cr_assert_eq(pym_allocated_blocks(pym), 0);
    cr_assert_eq(st.arenas_current, 1, "all but the reserve arena returned");
    check_ok(pym);
    free(p);
    free(len);
    free(acct);
    free(large);
    pym_delete(pym);
}

Test(pymalloc, random_ops_1m_16k) { random_ops(1 * MiB, 16 * KiB, 0x9e3779b97f4a7c15u); }
Test(pymalloc, random_ops_256k_4k) { random_ops(256 * KiB, 4 * KiB, 12345); }

Test(pymalloc, check_detects_corruption)
{
    pym_t *pym = pym_new(NULL);
    void *a = pym_malloc(pym, 64), *b = pym_malloc(pym, 64);
    pym_free(pym, a);
    check_ok(pym);
    /* Point a's free-list link into the middle of b. */
    void *saved = *(void **)a;
    *(void **)a = (unsigned char *)b + 8;
    char err[256] = "";
    cr_assert_eq(pym_check(pym, err, sizeof err), -1, "corruption missed");
    cr_assert(strstr(err, "free block") != NULL, "reason: %s", err);
    *(void **)a = saved;
    check_ok(pym);
    pym_free(pym, b);
    pym_delete(pym);
}

static void print_map(FILE *f, const void *pym) { pym_print_map(pym, f); }
static void print_classes(FILE *f, const void *pym) { pym_print_classes(pym, f); }

Test(pymalloc, print_views)
{
    pym_t *pym = make(256 * KiB, 4 * KiB);
    size_t n;
    void **v = fill_arenas(pym, 2, &n);
    void *x = pym_malloc(pym, 48);
    char *buf = capture(print_map, pym);
    cr_assert(strstr(buf, "2 arenas") != NULL, "map: %s", buf);
    cr_assert(strstr(buf, "legend") != NULL);
    cr_assert(strstr(buf, "################") != NULL, "full pools: %s", buf);
    cr_assert(strstr(buf, "+") != NULL && strstr(buf, "_") != NULL);
    int arenas = 0;
    for (char *s = buf; (s = strstr(s, "\narena ")); s++)
        arenas++;
    cr_assert_eq(arenas, 2, "one line per arena: %s", buf);
    free(buf);

    buf = capture(print_classes, pym);
    cr_assert(strstr(buf, "arenas allocated current") != NULL, "%s", buf);
    cr_assert(strstr(buf, "   31    512          65") != NULL, "class 31 row: %s", buf);
    cr_assert(strstr(buf, "    2     48           1               1            83") != NULL,
              "class 2 row: %s", buf);
    cr_assert(strstr(buf, "    0     16") == NULL, "empty class printed");
    free(buf);

    pym_free(pym, x);
    free_all_and_delete(pym, v, n);
}

/* pym_walk_pools' totals, as pym_get_stats counts them. */
typedef struct walk_totals {
    uint64_t pools[4], blocks, bytes, calls;
    uint32_t last_arena, last_pool;
    bool ordered;
} walk_totals_t;

static void count_pool(const pym_pool_info_t *p, void *arg)
{
    walk_totals_t *t = arg;
    if (t->calls > 0 && !(p->arena > t->last_arena ||
                          (p->arena == t->last_arena && p->pool == t->last_pool + 1)))
        t->ordered = false;
    t->last_arena = p->arena;
    t->last_pool = p->pool;
    t->calls++;
    t->pools[p->state]++;
    t->blocks += p->blocks_in_use;
    t->bytes += p->blocks_in_use * p->block_size;
    if (p->state == PYM_POOL_FULL)
        cr_assert_eq(p->blocks_in_use, p->capacity, "a full pool's blocks are all in use");
    if (p->state == PYM_POOL_USED)
        cr_assert(p->blocks_in_use > 0 && p->blocks_in_use < p->capacity);
    if (p->state == PYM_POOL_EMPTY || p->state == PYM_POOL_UNTOUCHED)
        cr_assert(p->blocks_in_use == 0 && p->block_size == 0 && p->capacity == 0);
}

Test(pymalloc, walk_pools_agrees_with_the_stats)
{
    pym_t *pym = make(256 * KiB, 4 * KiB);
    size_t n;
    void **v = fill_arenas(pym, 2, &n);
    void *x = pym_malloc(pym, 48);
    for (size_t i = 0; i < n; i += 3)   /* holes: some pools become used, some empty */
        pym_free(pym, v[i]), v[i] = NULL;
    pym_stats_t st = stats_of(pym);
    walk_totals_t t = {.ordered = true};

    pym_walk_pools(pym, count_pool, &t);
    cr_assert(t.ordered, "arenas in slot order, pools in address order");
    cr_assert_eq(t.calls, st.arenas_current * (256 / 4), "every pool of every arena, once");
    cr_assert_eq(t.pools[PYM_POOL_FULL], st.pools_full);
    cr_assert_eq(t.pools[PYM_POOL_USED], st.pools_used);
    cr_assert_eq(t.pools[PYM_POOL_EMPTY], st.pools_empty);
    cr_assert_eq(t.pools[PYM_POOL_UNTOUCHED], st.pools_untouched);
    cr_assert_eq(t.blocks, st.blocks_in_use);
    cr_assert_eq(t.bytes, st.bytes_in_use);

    pym_free(pym, x);
    free_all_and_delete(pym, v, n);
}
