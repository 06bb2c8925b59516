/* gil/trace.h: the GIL timeline, recorded from the lock's own events.
 *
 * Every thread that takes part in a traced run gets one trace_buf_t, made
 * and zero-filled before the timed region: a fixed array of events that
 * only its own thread writes, with no lock, no allocation and no atomic.
 * The buffers sit in an array of cache-line-aligned slots so that two
 * threads recording at once never share a line. An event is written at a
 * GIL transition or around a blocking call, never inside the interpreter
 * loop's own work: a CPU-bound thread records a handful per switch
 * interval, an echo server four per request. A full buffer keeps its
 * first events and counts what it had to drop (the report says so).
 *
 *   lane 0  ..WWWW####################|~~|.....................|###...
 *   lane 1  ######....................|..|#####################|...###
 *               ^ WAIT  ^ DROP_REQUEST  ^ DROP (forced)  ^ TAKE
 *
 * The events, and who records them:
 *
 *   WAIT          gil_take found the GIL held and starts waiting
 *   TAKE          gil_take: this thread now holds the GIL
 *   DROP          gil_drop: released; arg TRACE_DROP_FORCED when a drop
 *                 request made it let go, TRACE_DROP_VOLUNTARY otherwise
 *                 (a blocking call, or the thread detaching)
 *   DROP_REQUEST  a waiter set the holder's drop request; arg = the
 *                 holder's lane
 *   BLOCK_BEGIN   a blocking call starts (lab/blocking.c); arg = which
 *   BLOCK_END     ... and returns
 *   EXIT          the worker has finished its run and detached for good
 *   GC_BEGIN      the cycle collector starts (lab/gc.c, lab/gc_ft.c); arg =
 *                 the generation
 *   GC_END        ... and is done (the world restarted, under 3.13t)
 *
 * A disabled trace is a NULL trace_buf_t pointer in the thread's GIL
 * client: the one test `if (trace != NULL)` sits on paths that already
 * take a mutex or make a system call.
 */
#ifndef GL_GIL_TRACE_H
#define GL_GIL_TRACE_H

#include <stdalign.h>
#include <stdint.h>

#include "lab/clock.h"

/* X(name) */
#define TRACE_EVENT_LIST(X)                                                    \
    X(WAIT) X(TAKE) X(DROP) X(DROP_REQUEST) X(BLOCK_BEGIN) X(BLOCK_END) X(EXIT) X(GC_BEGIN) X(GC_END)

typedef enum trace_kind {
#define X(name) TRACE_##name,
    TRACE_EVENT_LIST(X)
#undef X
    TRACE_KIND_COUNT
} trace_kind_t;

enum { TRACE_DROP_VOLUNTARY = 0, TRACE_DROP_FORCED = 1 };

/* One event: 16 bytes, four to a cache line. */
typedef struct trace_event {
    uint64_t t_ns;     /* CLOCK_MONOTONIC */
    uint16_t kind;     /* trace_kind_t */
    uint16_t lane;     /* the recording thread's lane (its worker index) */
    uint32_t arg;
} trace_event_t;

_Static_assert(sizeof(trace_event_t) == 16, "a trace event is 16 bytes");

/* One thread's buffer. Invariant: count <= capacity; count + dropped is
 * the number of events the thread tried to record. */
typedef struct trace_buf {
    alignas(64) trace_event_t *events;   /* capacity entries, preallocated */
    uint32_t capacity;
    uint32_t count;
    uint64_t dropped;
    uint16_t lane;
} trace_buf_t;

_Static_assert(sizeof(trace_buf_t) == 64, "one buffer header per cache line");

/* Record an event that happened at t_ns on b (not NULL). Cannot fail:
 * when b is full the event is counted as dropped. */
static inline void trace_record_at(trace_buf_t *b, trace_kind_t kind, uint32_t arg, uint64_t t_ns)
{
    if (b->count == b->capacity) {
        b->dropped++;
        return;
    }
    b->events[b->count++] = (trace_event_t){t_ns, (uint16_t)kind, b->lane, arg};
}

/* The same, now. */
static inline void trace_record(trace_buf_t *b, trace_kind_t kind, uint32_t arg)
{
    trace_record_at(b, kind, arg, clock_now_ns());
}

/* Name of an event kind ("TAKE"). */
const char *trace_kind_name(trace_kind_t kind);

#endif
