/* tests/test_heap.c: the allocator front (lab/heap.c) and how mimalloc is
 * loaded (lab/mimalloc_dl.h).
 *
 *   - `-a malloc` is the C library's allocator, not mimalloc: its blocks,
 *     pymalloc's raw blocks and a plain malloc() of this process all lie
 *     outside mimalloc's heap (mi_is_in_heap_region), while `-a mimalloc`
 *     blocks lie inside it. Linking Debian's libmimalloc would make every
 *     malloc of the process mimalloc's; this is the test that it does not.
 *   - heap_allocated_blocks, the leak check's count (sys.getallocatedblocks):
 *     exact for pymalloc from any thread; for mimalloc, the calling thread's
 *     own heap, including frees made by other threads; -1 for malloc.
 */
#include <criterion/criterion.h>
#define CHECK(cond, ...) cr_assert(cond, __VA_ARGS__)

#include <pthread.h>
#include <stdlib.h>

#include "lab/heap.h"
#include "lab/mimalloc_dl.h"

static const mimalloc_dl_t *mimalloc(void)
{
    char err[256] = "";
    const mimalloc_dl_t *mi = mimalloc_dl_get(err, sizeof err);
    cr_assert_not_null(mi, "%s", err);
    return mi;
}

static heap_t heap_of(heap_kind_t kind)
{
    heap_t h;
    char err[256] = "";
    cr_assert_eq(heap_init(&h, kind, false, NULL, err, sizeof err), 0, "%s", err);
    return h;
}

Test(heap, malloc_is_the_c_library_and_mimalloc_is_mimalloc)
{
#ifdef __SANITIZE_ADDRESS__
    /* mimalloc places its segments at hinted addresses that ASan's shadow
     * memory occupies, so they land where mi_is_in_heap_region's segment
     * map does not look; the release build runs this test. */
    cr_skip_test("mi_is_in_heap_region does not see mimalloc's segments under ASan");
#endif
    const mimalloc_dl_t *mi = mimalloc();
    heap_t libc = heap_of(HEAP_malloc), mim = heap_of(HEAP_mimalloc), pym = heap_of(HEAP_pymalloc);

    void *a = heap_malloc(&libc, 48), *b = heap_malloc(&mim, 48), *raw = heap_malloc(&pym, 4096);
    void *plain = malloc(48);
    cr_assert(a && b && raw && plain);
    cr_assert_not(mi->is_in_heap_region(a), "-a malloc handed out a mimalloc block");
    cr_assert_not(mi->is_in_heap_region(raw), "pymalloc's raw blocks must come from the C library");
    cr_assert_not(mi->is_in_heap_region(plain), "mimalloc replaced the process's malloc");
    cr_assert(mi->is_in_heap_region(b), "-a mimalloc handed out a block mimalloc does not know");
    cr_assert_geq(mi->version(), 200, "mimalloc 2.x");

    free(plain);
    heap_free(&pym, raw);
    heap_free(&mim, b);
    heap_free(&libc, a);
    heap_destroy(&pym);
    heap_destroy(&mim);
    heap_destroy(&libc);
}

Test(heap, allocated_blocks_pymalloc_and_malloc)
{
    heap_t pym = heap_of(HEAP_pymalloc), libc = heap_of(HEAP_malloc);
    cr_assert_eq(heap_allocated_blocks(&pym), 0);
    void *p[5];
    for (int i = 0; i < 4; i++)
        p[i] = heap_malloc(&pym, 40);
    p[4] = heap_malloc(&pym, 2000);   /* a raw block counts too */
    cr_assert_eq(heap_allocated_blocks(&pym), 5);
    cr_assert_not(heap_blocks_per_thread(&pym), "pymalloc is one heap for every thread");
    for (int i = 0; i < 5; i++)
        heap_free(&pym, p[i]);
    cr_assert_eq(heap_allocated_blocks(&pym), 0);
    cr_assert_eq(heap_allocated_blocks(&libc), -1, "glibc cannot enumerate its blocks");
    heap_destroy(&pym);
    heap_destroy(&libc);
}

/* Another thread allocates from its own mimalloc heap, or frees ours. */
typedef struct other {
    heap_t *heap;
    void *block;        /* to free, or NULL to allocate one */
    int64_t own_blocks; /* what that thread's count says */
} other_t;

static void *other_main(void *p)
{
    other_t *o = p;
    if (o->block != NULL) {
        heap_free(o->heap, o->block);
    } else {
        o->block = heap_malloc(o->heap, 64);
        o->own_blocks = heap_allocated_blocks(o->heap);
    }
    return NULL;
}

static void run_other(other_t *o)
{
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, other_main, o), 0);
    cr_assert_eq(pthread_join(th, NULL), 0);
}

Test(heap, allocated_blocks_mimalloc_is_per_thread)
{
    heap_t mim = heap_of(HEAP_mimalloc);
    cr_assert(heap_blocks_per_thread(&mim));
    int64_t base = heap_allocated_blocks(&mim);
    void *mine = heap_malloc(&mim, 64);
    cr_assert_eq(heap_allocated_blocks(&mim), base + 1);

    /* A block another thread allocates is in its heap, not ours. (Its
     * thread then exits with the block live; freeing it from here is
     * fine, and the count of our own heap is unaffected.) */
    other_t o = {.heap = &mim};
    run_other(&o);
    cr_assert_eq(o.own_blocks, 1, "the other thread counts its own block");
    cr_assert_eq(heap_allocated_blocks(&mim), base + 1, "ours only");
    heap_free(&mim, o.block);

    /* A block of ours freed by another thread leaves our count once our
     * heap collects the free (heap_allocated_blocks does). */
    other_t f = {.heap = &mim, .block = mine};
    run_other(&f);
    cr_assert_eq(heap_allocated_blocks(&mim), base, "a cross-thread free is counted");
    heap_destroy(&mim);
}
