/* runners/memtrace.h: memory over time (`run --memory-trace`), what
 * memory_profiler's `mprof run` records and `mprof plot` draws: every few
 * milliseconds, and once more when the run ends, from a thread of its own
 * outside the interpreter loop, the repeat process samples
 *
 *   rss_kib      the resident set of the repeat process and of every worker
 *                process it has forked (/proc/PID/statm), added up
 *   heap_bytes   the bytes the program asked for and still holds, with the
 *                number of blocks (tracemalloc's current figures: a traced
 *                run), for the workers that run in this process (single,
 *                threads); a forked worker's heap is its own, out of reach
 *
 * and, once the run is over, the collections the cycle collector ran in
 * this process: when each started, its pause and its generation.
 *
 * The sampler takes the tracer's lock and reads /proc: a few microseconds
 * per sample, on a core the workers may want. A traced run is slower than
 * an untraced one anyway; the table says the row was traced.
 */
#ifndef GL_RUNNERS_MEMTRACE_H
#define GL_RUNNERS_MEMTRACE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lab/gc.h"
#include "lab/tracemalloc.h"

/* Sampling intervals run --sample-interval accepts, in microseconds. */
#define MEMTRACE_MIN_INTERVAL_US 1000u
#define MEMTRACE_MAX_INTERVAL_US 1000000u
#define MEMTRACE_DEFAULT_INTERVAL_US 5000u
/* Samples kept per run at most (about 2 minutes at 1 ms); later ones are
 * dropped and counted. */
#define MEMTRACE_MAX_POINTS 131072u

typedef struct memtrace_point {
    double t_s;            /* since the run started */
    double rss_kib;
    double heap_bytes;     /* NaN when not traced or not in this process */
    double heap_blocks;
} memtrace_point_t;

typedef struct memtrace_gc {
    double t_s;            /* when the collection started */
    double pause_s;
    int generation;
} memtrace_gc_t;

/* One run's trace, plain data (it crosses a pipe). */
typedef struct memtrace {
    memtrace_point_t *points;
    size_t npoints;
    size_t dropped;        /* samples past MEMTRACE_MAX_POINTS */
    memtrace_gc_t *gcs;
    size_t ngcs;
} memtrace_t;

typedef struct memtrace_sampler memtrace_sampler_t;

/* Start sampling every interval_us (tracer may be NULL: no heap figures),
 * with room for max_children worker processes. Returns NULL with a reason
 * in err when out of memory or the thread cannot start. */
memtrace_sampler_t *memtrace_start(tracer_t *tracer, uint64_t interval_us, size_t max_children, char *err,
                                   size_t errlen);

/* A worker process was forked: add its RSS from now on (beyond
 * max_children, ignored). Thread-safe; never waits for a sample. */
void memtrace_add_child(memtrace_sampler_t *s, pid_t pid);

/* Stop, take the samples, and add the collections of `gc` that started
 * since the mark (in-process collectors only). Returns 0, or -1 when out
 * of memory (out is then empty). Frees the sampler. */
int memtrace_stop(memtrace_sampler_t *s, const gc_state_t *gc, const gc_mark_t *since, memtrace_t *out);

/* Free a trace's arrays. NULL-safe. */
void memtrace_free(memtrace_t *t);

/* Send a trace over a pipe / receive one (the arrays allocated). 0, or -1
 * (errno set; out is empty). */
int memtrace_write(int fd, const memtrace_t *t);
int memtrace_read(int fd, memtrace_t *out);

#endif
