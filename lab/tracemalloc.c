/* lab/tracemalloc.c: the tracing hooks and their table (see
 * lab/tracemalloc.h). Functions name the _tracemalloc.c ones they follow.
 * The table is allocated with the C library's malloc, as tracemalloc keeps
 * its own tables out of the traced domains. */
#include "lab/tracemalloc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gil/gil.h"

struct trace_entry {
    uintptr_t addr;   /* 0: empty */
    size_t size;
};

#define TRACE_MIN_CAPACITY 1024

static size_t trace_slot(const tracer_t *t, uintptr_t addr)
{
    /* Addresses are 16-byte aligned: mix the bits before masking. */
    uint64_t h = (uint64_t)addr * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 20) & (t->capacity - 1);
}

/* Insert without growing (there is room). */
static void trace_put(tracer_t *t, uintptr_t addr, size_t size)
{
    size_t i = trace_slot(t, addr);
    while (t->table[i].addr != 0)
        i = (i + 1) & (t->capacity - 1);
    t->table[i].addr = addr;
    t->table[i].size = size;
}

/* Keep the load under a half. Returns -1 when out of memory. */
static int trace_grow(tracer_t *t)
{
    if (2 * (t->ntraces + 1) <= t->capacity)
        return 0;
    trace_entry_t *old = t->table;
    size_t old_capacity = t->capacity;
    trace_entry_t *table = calloc(2 * old_capacity, sizeof *table);
    if (table == NULL)
        return -1;
    t->table = table;
    t->capacity = 2 * old_capacity;
    for (size_t i = 0; i < old_capacity; i++)
        if (old[i].addr != 0)
            trace_put(t, old[i].addr, old[i].size);
    free(old);
    return 0;
}

/* tracemalloc_add_trace. Lock held. -1 when the table cannot grow. */
static int trace_add(tracer_t *t, void *ptr, size_t size)
{
    if (trace_grow(t) < 0)
        return -1;
    trace_put(t, (uintptr_t)ptr, size);
    t->ntraces++;
    t->current += size;
    if (t->current > t->peak)
        t->peak = t->current;
    if (t->ntraces > t->peak_ntraces)
        t->peak_ntraces = t->ntraces;
    return 0;
}

/* tracemalloc_remove_trace: linear probing's deletion, shifting back the
 * entries of the run that follows so no tombstone is left. Lock held. */
static void trace_remove(tracer_t *t, void *ptr)
{
    uintptr_t addr = (uintptr_t)ptr;
    size_t mask = t->capacity - 1, i = trace_slot(t, addr);
    while (t->table[i].addr != addr) {
        if (t->table[i].addr == 0)
            return;   /* not traced: allocated before tracing started */
        i = (i + 1) & mask;
    }
    t->current -= t->table[i].size;
    t->ntraces--;
    for (size_t j = (i + 1) & mask; t->table[j].addr != 0; j = (j + 1) & mask) {
        size_t home = trace_slot(t, t->table[j].addr);
        /* Move j back into the hole at i unless its home lies in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            t->table[i] = t->table[j];
            i = j;
        }
    }
    t->table[i].addr = 0;
}

/* tracemalloc_alloc */
static void *trace_malloc(void *ctx, size_t size)
{
    tracer_t *t = ctx;
    void *p = t->traced.malloc(t->traced.ctx, size);
    if (p == NULL)
        return NULL;
    GL_PTHREAD_CHECK(pthread_mutex_lock(&t->lock));
    int rc = trace_add(t, p, size);
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&t->lock));
    if (rc < 0) {   /* as tracemalloc: no trace, no memory */
        t->traced.free(t->traced.ctx, p);
        return NULL;
    }
    return p;
}

/* tracemalloc_realloc */
static void *trace_realloc(void *ctx, void *ptr, size_t size)
{
    tracer_t *t = ctx;
    void *p = t->traced.realloc(t->traced.ctx, ptr, size);
    if (p == NULL)
        return NULL;
    GL_PTHREAD_CHECK(pthread_mutex_lock(&t->lock));
    if (ptr != NULL)
        trace_remove(t, ptr);
    int rc = trace_add(t, p, size);
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&t->lock));
    if (rc < 0) {
        /* The old block is gone (moved or freed by the realloc) and the new
         * one cannot be traced: tracemalloc_realloc calls Py_FatalError
         * here, and so does the lab. (Unreachable in practice: a trace was
         * just removed, so the table had room.) */
        fprintf(stderr, "gil-lab: fatal: tracemalloc: out of memory for the trace of a realloc\n");
        abort();
    }
    return p;
}

/* tracemalloc_free */
static void trace_free(void *ctx, void *ptr)
{
    tracer_t *t = ctx;
    if (ptr == NULL)
        return;
    t->traced.free(t->traced.ctx, ptr);
    GL_PTHREAD_CHECK(pthread_mutex_lock(&t->lock));
    trace_remove(t, ptr);
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&t->lock));
}

int trace_start(heap_t *heap, tracer_t *t)
{
    memset(t, 0, sizeof *t);
    t->capacity = TRACE_MIN_CAPACITY;
    t->table = calloc(t->capacity, sizeof *t->table);
    if (t->table == NULL)
        return -1;
    GL_PTHREAD_CHECK(pthread_mutex_init(&t->lock, NULL));
    t->traced = heap->alloc;
    heap->alloc = (heap_allocator_t){.ctx = t, .malloc = trace_malloc, .realloc = trace_realloc, .free = trace_free};
    return 0;
}

void trace_stop(heap_t *heap, tracer_t *t)
{
    heap->alloc = t->traced;
    GL_PTHREAD_CHECK(pthread_mutex_destroy(&t->lock));
    free(t->table);
    t->table = NULL;
}

void trace_get(tracer_t *t, size_t *current, size_t *peak, size_t *blocks, size_t *peak_blocks)
{
    GL_PTHREAD_CHECK(pthread_mutex_lock(&t->lock));
    if (current != NULL)
        *current = t->current;
    if (peak != NULL)
        *peak = t->peak;
    if (blocks != NULL)
        *blocks = t->ntraces;
    if (peak_blocks != NULL)
        *peak_blocks = t->peak_ntraces;
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&t->lock));
}

void trace_reset_peak(tracer_t *t)
{
    GL_PTHREAD_CHECK(pthread_mutex_lock(&t->lock));
    t->peak = t->current;
    t->peak_ntraces = t->ntraces;
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&t->lock));
}

void trace_after_fork_child(tracer_t *t)
{
    GL_PTHREAD_CHECK(pthread_mutex_init(&t->lock, NULL));
}
