/* lab/tracemalloc.h: requested bytes, counted as Python's tracemalloc
 * counts them (Modules/_tracemalloc.c, 3.12).
 *
 * tracemalloc.start() puts hooks in front of the allocators
 * (PyMem_SetAllocator): tracemalloc_alloc calls the real allocator, then
 * records a trace (address -> requested size) in a hash table under
 * TABLES_LOCK and adds the size to the traced total, keeping its peak;
 * tracemalloc_free removes the trace and subtracts. get_traced_memory()
 * returns (current, peak); reset_peak() starts a new peak from current.
 *
 * The lab does the same with its allocator table (lab/heap.h): tracing
 * wraps whatever allocator the heap has, so it costs what tracemalloc
 * costs (a lock and a hash-table operation per allocation and free) and is
 * off unless a run asks for it (`--tracemalloc`), as Python's is off unless
 * started. Requested bytes are what the program asked for: pymalloc
 * rounds each block up to its size class and keeps arenas, so they are
 * less than arena or RSS figures (the seed's 28-byte int in a 32-byte
 * block). What the lab leaves out: the tracebacks (tracemalloc stores one
 * per trace, 1 frame by default), domains and filters.
 */
#ifndef GL_TRACEMALLOC_H
#define GL_TRACEMALLOC_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "lab/heap.h"

typedef struct trace_entry trace_entry_t;

typedef struct tracer {
    heap_allocator_t traced;     /* the allocator the hooks call */
    pthread_mutex_t lock;        /* TABLES_LOCK */
    trace_entry_t *table;        /* open addressing, linear probing */
    size_t capacity;             /* a power of two */
    size_t ntraces, peak_ntraces;
    size_t current, peak;        /* bytes */
} tracer_t;

/* tracemalloc.start(): put the hooks in front of heap's allocator. Returns
 * 0, or -1 when out of memory for the table. */
int trace_start(heap_t *heap, tracer_t *t);

/* tracemalloc.stop(): take them away and free the table. Cannot fail. */
void trace_stop(heap_t *heap, tracer_t *t);

/* get_traced_memory(): bytes traced now and at the peak, and the same in
 * blocks. Any pointer may be NULL. Thread-safe. Cannot fail. */
void trace_get(tracer_t *t, size_t *current, size_t *peak, size_t *blocks, size_t *peak_blocks);

/* reset_peak(): the peaks start again from now. Thread-safe. */
void trace_reset_peak(tracer_t *t);

/* In a forked child: re-create the lock (the table is the child's copy).
 * Cannot fail. */
void trace_after_fork_child(tracer_t *t);

#endif
