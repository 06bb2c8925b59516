/* lab/heap.c: the allocator tables behind heap_malloc/heap_free (see
 * lab/heap.h), one per allocator kind, plus pymalloc behind a lock for the
 * no-GIL guards.
 */
#include "lab/heap.h"

#include <errno.h>
#include <mimalloc.h>
#include <stdlib.h>
#include <string.h>

#include "gil/gil.h"

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

static void *mi_malloc_ctx(void *ctx, size_t size) { (void)ctx; return mi_malloc(size); }
static void *mi_realloc_ctx(void *ctx, void *p, size_t size) { (void)ctx; return mi_realloc(p, size); }
static void mi_free_ctx(void *ctx, void *p) { (void)ctx; mi_free(p); }

static void *libc_malloc_ctx(void *ctx, size_t size) { (void)ctx; return malloc(size ? size : 1); }
static void *libc_realloc_ctx(void *ctx, void *p, size_t size) { (void)ctx; return realloc(p, size ? size : 1); }
static void libc_free_ctx(void *ctx, void *p) { (void)ctx; free(p); }

int heap_init(heap_t *heap, heap_kind_t kind, bool locked, const pym_config_t *pym_config)
{
    memset(heap, 0, sizeof(*heap));
    heap->kind = kind;
    switch (kind) {
    case HEAP_pymalloc:
        heap->pym = pym_new(pym_config);
        if (heap->pym == NULL)
            return -1;
        heap->locked = locked;
        if (locked) {
            GL_PTHREAD_CHECK(pthread_mutex_init(&heap->lock, NULL));
            heap->alloc = (heap_allocator_t){heap, locked_malloc, locked_realloc, locked_free};
        } else {
            heap->alloc = (heap_allocator_t){heap->pym, pym_malloc_ctx, pym_realloc_ctx, pym_free_ctx};
        }
        return 0;
    case HEAP_mimalloc:
        heap->alloc = (heap_allocator_t){NULL, mi_malloc_ctx, mi_realloc_ctx, mi_free_ctx};
        return 0;
    case HEAP_malloc:
        heap->alloc = (heap_allocator_t){NULL, libc_malloc_ctx, libc_realloc_ctx, libc_free_ctx};
        return 0;
    default:
        errno = EINVAL;
        return -1;
    }
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
