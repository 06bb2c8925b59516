/* lab/heap.c: the allocator tables behind heap_malloc/heap_free (see
 * lab/heap.h), one per allocator kind, plus pymalloc behind a lock for the
 * no-GIL guards.
 */
#include "lab/heap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gil/gil.h"
#include "lab/mimalloc_dl.h"

static const char *const heap_names[] = {
#define X(name, desc) #name,
    HEAP_LIST(X)
#undef X
};

static const char *const heap_descriptions[] = {
#define X(name, desc) desc,
    HEAP_LIST(X)
#undef X
};

/* pymalloc, relying on the GIL (or one thread) for exclusion. */
static void *pym_malloc_ctx(void *ctx, size_t size) { return pym_malloc(ctx, size); }
static void *pym_realloc_ctx(void *ctx, void *p, size_t size) { return pym_realloc(ctx, p, size); }
static void pym_free_ctx(void *ctx, void *p) { pym_free(ctx, p); }

/* pymalloc under the allocator lock: what a no-GIL runtime must do if it
 * keeps a single-threaded allocator. */
static void *locked_malloc(void *ctx, size_t size)
{
    heap_t *h = ctx;
    GL_PTHREAD_CHECK(pthread_mutex_lock(&h->lock));
    void *p = pym_malloc(h->pym, size);
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&h->lock));
    return p;
}

static void *locked_realloc(void *ctx, void *ptr, size_t size)
{
    heap_t *h = ctx;
    GL_PTHREAD_CHECK(pthread_mutex_lock(&h->lock));
    void *p = pym_realloc(h->pym, ptr, size);
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&h->lock));
    return p;
}

static void locked_free(void *ctx, void *ptr)
{
    heap_t *h = ctx;
    GL_PTHREAD_CHECK(pthread_mutex_lock(&h->lock));
    pym_free(h->pym, ptr);
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&h->lock));
}

/* mimalloc through the pointers dlsym gave (lab/mimalloc_dl.h): ctx is the
 * table of them, so each call is one load and one indirect jump, what a PLT
 * call to a linked mi_malloc costs. */
static void *mi_malloc_ctx(void *ctx, size_t size) { return ((const mimalloc_dl_t *)ctx)->malloc(size); }
static void *mi_realloc_ctx(void *ctx, void *p, size_t size)
{
    return ((const mimalloc_dl_t *)ctx)->realloc(p, size);
}
static void mi_free_ctx(void *ctx, void *p) { ((const mimalloc_dl_t *)ctx)->free(p); }

static void *libc_malloc_ctx(void *ctx, size_t size) { (void)ctx; return malloc(size ? size : 1); }
static void *libc_realloc_ctx(void *ctx, void *p, size_t size) { (void)ctx; return realloc(p, size ? size : 1); }
static void libc_free_ctx(void *ctx, void *p) { (void)ctx; free(p); }

int heap_init(heap_t *heap, heap_kind_t kind, bool locked, const pym_config_t *pym_config,
              char *err, size_t errlen)
{
    const mimalloc_dl_t *mi;
    memset(heap, 0, sizeof(*heap));
    heap->kind = kind;
    switch (kind) {
    case HEAP_pymalloc:
        heap->pym = pym_new(pym_config);
        if (heap->pym == NULL) {
            snprintf(err, errlen, "cannot set up the pymalloc heap: %s",
                     errno == EINVAL ? "bad arena or pool size" : strerror(errno));
            return -1;
        }
        heap->locked = locked;
        if (locked) {
            GL_PTHREAD_CHECK(pthread_mutex_init(&heap->lock, NULL));
            heap->alloc = (heap_allocator_t){heap, locked_malloc, locked_realloc, locked_free};
        } else {
            heap->alloc = (heap_allocator_t){heap->pym, pym_malloc_ctx, pym_realloc_ctx, pym_free_ctx};
        }
        return 0;
    case HEAP_mimalloc:
        mi = mimalloc_dl_get(err, errlen);
        if (mi == NULL)
            return -1;
        heap->mi = mi;
        heap->alloc = (heap_allocator_t){(void *)mi, mi_malloc_ctx, mi_realloc_ctx, mi_free_ctx};
        return 0;
    case HEAP_malloc:
        heap->alloc = (heap_allocator_t){NULL, libc_malloc_ctx, libc_realloc_ctx, libc_free_ctx};
        return 0;
    default:
        snprintf(err, errlen, "unknown allocator %d", (int)kind);
        return -1;
    }
}

/* mi_block_visit_fun: add up the blocks in use of each area, as CPython's
 * count_blocks (Objects/obmalloc.c) does. */
static bool mi_count_area(const mi_heap_t *heap, const mi_heap_area_t *area, void *block,
                          size_t block_size, void *total)
{
    (void)heap;
    (void)block;
    (void)block_size;
    *(int64_t *)total += (int64_t)area->used;
    return true;
}

int64_t heap_allocated_blocks(heap_t *heap)
{
    switch (heap->kind) {
    case HEAP_pymalloc: {
        if (heap->locked)
            GL_PTHREAD_CHECK(pthread_mutex_lock(&heap->lock));
        int64_t n = (int64_t)pym_allocated_blocks(heap->pym);
        if (heap->locked)
            GL_PTHREAD_CHECK(pthread_mutex_unlock(&heap->lock));
        return n;
    }
    case HEAP_mimalloc: {
        /* Frees by other threads wait in the pages' thread-free lists and
         * still count as used until the owner collects them. Not a forced
         * collect: on the main thread that would also adopt the segments of
         * threads that have exited, and count their blocks as ours. */
        const mimalloc_dl_t *mi = heap->mi;
        mi_heap_t *own = mi->heap_get_default();
        int64_t n = 0;
        mi->heap_collect(own, false);
        mi->heap_visit_blocks(own, false, mi_count_area, &n);
        return n;
    }
    default:
        return -1;
    }
}

bool heap_blocks_per_thread(const heap_t *heap)
{
    return heap->kind == HEAP_mimalloc;
}

void heap_destroy(heap_t *heap)
{
    if (heap->kind == HEAP_pymalloc) {
        pym_delete(heap->pym);
        heap->pym = NULL;
        if (heap->locked)
            GL_PTHREAD_CHECK(pthread_mutex_destroy(&heap->lock));
    }
}

void heap_after_fork_child(heap_t *heap)
{
    if (heap->kind == HEAP_pymalloc && heap->locked)
        GL_PTHREAD_CHECK(pthread_mutex_init(&heap->lock, NULL));
}

const char *heap_kind_name(heap_kind_t kind)
{
    return (unsigned)kind < HEAP_COUNT ? heap_names[kind] : "?";
}

const char *heap_kind_description(heap_kind_t kind)
{
    return (unsigned)kind < HEAP_COUNT ? heap_descriptions[kind] : "?";
}

int heap_kind_find(const char *name)
{
    for (int i = 0; i < HEAP_COUNT; i++)
        if (strcmp(heap_names[i], name) == 0)
            return i;
    return -1;
}
