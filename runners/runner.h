/* runners/runner.h: how a workload is run and what one run measures.
 *
 * A run_spec_t names one configuration (workload, mode, guard, allocator,
 * workers, size); run_row() executes its warm-ups and repeats and fills a
 * run_row_t with one run_sample_t per repeat. The four modes mirror the seed
 * notebook's four ways of running the countdown:
 *
 *   single     one thread does the whole size (the main thread in Python)
 *   threads    W pthreads share one interpreter, one heap and one guard
 *   processes  W forked children, each its own interpreter (multiprocessing
 *              Process with the fork start method): forked inside the timer
 *   pool       W children forked before the timer and fed one task each;
 *              the timer covers the tasks, close() and join(), as the seed
 *              times multiprocessing.Pool; their start-up has its own column
 *
 * Wall time spans creating, running and joining the workers, as the seed
 * measures it; each worker also records its own run time, started from a
 * common barrier, for the fairness columns. Every warm-up and repeat runs
 * in a process of its own (runners/internal.h), so rows never inherit each
 * other's memory or CPU binding.
 */
#ifndef GL_RUNNER_H
#define GL_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gil/guard.h"
#include "gil/trace.h"
#include "lab/gc.h"
#include "lab/heap.h"
#include "runners/memtrace.h"
#include "workloads/workload.h"

/* X(name, description) — the single list behind the enum, the names, the
 * CLI validation and the help text. */
#define RUN_MODE_LIST(X)                                                        \
    X(single, "one worker, the calling thread, does the whole size")           \
    X(threads, "W threads share one interpreter and its guard")                \
    X(processes, "W forked processes, each with its own interpreter")          \
    X(pool, "W pre-forked processes fed tasks over pipes")

typedef enum run_mode {
#define X(name, desc) RUN_MODE_##name,
    RUN_MODE_LIST(X)
#undef X
    RUN_MODE_COUNT
} run_mode_t;

/* Name of a mode ("single"...). */
const char *run_mode_name(run_mode_t mode);
/* One-line description of a mode. */
const char *run_mode_description(run_mode_t mode);
/* Mode by name; returns -1 when unknown. */
int run_mode_find(const char *name);

typedef enum run_pin { RUN_PIN_NONE, RUN_PIN_CORES } run_pin_t;

#define RUN_MAX_WORKERS 1024
#define RUN_MAX_SWITCH_US 10000000u   /* longest GIL switch interval, 10 s (run_spec_check) */
#define RUN_MAX_CHECK_INTERVAL 1000000     /* gil-old ticks */
#define RUN_MAX_TRACE_EVENTS (1 << 24)     /* per thread: 256 MiB of events */

typedef struct run_spec {
    const workload_t *workload;
    int64_t params[WL_MAX_PARAMS];   /* workload parameters, defaults filled */
    int64_t size;                    /* total iterations, split over workers */
    run_mode_t mode;
    guard_kind_t guard;
    heap_kind_t allocator;
    int workers;                     /* 1 for single */
    uint64_t switch_interval_us;
    int check_interval;              /* gil-old: ticks between releases */
    uint32_t trace_events;           /* GIL trace: events per thread, 0 = off */
    run_pin_t pin;
    bool immortal;                   /* PEP 683 immortal small ints/singletons */
    gc_config_t gc;                  /* the cycle collector (zeros: on, the build's thresholds) */
    bool tracemalloc;                /* trace requested bytes (lab/tracemalloc.h) */
    bool pss;                        /* read every process's Pss at the end of the run */
    bool memory_trace;               /* sample memory over time (runners/memtrace.h) */
    uint64_t sample_interval_us;     /* its interval (0: the default) */
    int warmup;
    int repeats;
} run_spec_t;

/* Everything measured in one repeat: X(name, unit), unit SEC (seconds)
 * or NUM (a count, kibibytes or bytes). This one list generates the struct
 * below and every writer's fields (report/). A field a row does not
 * measure (the GIL's counters under a guard without a GIL, the hot
 * counters in a build without GL_PYSTATS, the pool's start-up in another
 * mode) holds NaN, which the writers show as empty, never as 0. */
#define RUN_SAMPLE_FIELDS(X)                                                   \
    X(wall_s, SEC)             /* create + run + join, as the seed times it */ \
    X(startup_s, SEC)          /* pool: forking the pool, before the timer */  \
    X(cpu_user_s, SEC)         /* every process of the run */                  \
    X(cpu_sys_s, SEC)                                                          \
    X(max_rss_kib, NUM)        /* peak RSS of the run's largest process */     \
    X(rss_sum_kib, NUM)        /* peak RSS summed over the run's processes */  \
    X(vol_ctx_switches, NUM)                                                   \
    X(invol_ctx_switches, NUM)                                                 \
    X(worker_min_s, SEC)       /* fastest worker's own run time */             \
    X(worker_max_s, SEC)       /* slowest worker's own run time */             \
    X(worker_mean_s, SEC)                                                      \
    X(gil_switches, NUM)       /* times a GIL changed hands (all GILs) */      \
    X(gil_acquisitions, NUM)                                                   \
    X(gil_forced_drops, NUM)                                                   \
    X(gil_drop_requests, NUM)                                                  \
    X(gil_wait_s, SEC)         /* summed over workers */                       \
    X(rc_local, NUM)           /* biased: owner-local operations (pystats) */  \
    X(rc_shared, NUM)          /* biased: shared atomic operations (pystats) */\
    X(brc_queued, NUM)         /* biased: objects queued to their owner */     \
    X(brc_merged, NUM)         /* biased: queued objects merged */             \
    X(objects_allocated, NUM)  /* pystats builds */                            \
    X(arena_bytes_peak, NUM)   /* pymalloc: most arena memory mapped at once */\
    X(gc_collections_0, NUM)   /* the cycle collector, per generation */       \
    X(gc_collections_1, NUM)                                                   \
    X(gc_collections_2, NUM)                                                   \
    X(gc_collected_0, NUM)     /* objects it freed */                          \
    X(gc_collected_1, NUM)                                                     \
    X(gc_collected_2, NUM)                                                     \
    X(gc_examined, NUM)        /* objects in the generations it collected */   \
    X(gc_uncollectable, NUM)                                                   \
    X(gc_examined_0, NUM)      /* the same, per generation */                  \
    X(gc_examined_1, NUM)                                                      \
    X(gc_examined_2, NUM)                                                      \
    X(gc_uncollectable_0, NUM)                                                 \
    X(gc_uncollectable_1, NUM)                                                 \
    X(gc_uncollectable_2, NUM)                                                 \
    X(gc_pause_total_s, SEC)   /* every collection's pause, added */           \
    X(gc_pause_total_0_s, SEC) /* the same, per generation */                  \
    X(gc_pause_total_1_s, SEC)                                                 \
    X(gc_pause_total_2_s, SEC)                                                 \
    X(gc_pause_p50_s, SEC)     /* forked: the worst worker's */                \
    X(gc_pause_p99_s, SEC)                                                     \
    X(gc_pause_max_s, SEC)                                                     \
    X(gc_pause_p50_0_s, SEC)   /* the same, of each generation's collections */ \
    X(gc_pause_p99_0_s, SEC)                                                   \
    X(gc_pause_max_0_s, SEC)                                                   \
    X(gc_pause_p50_1_s, SEC)                                                   \
    X(gc_pause_p99_1_s, SEC)                                                   \
    X(gc_pause_max_1_s, SEC)                                                   \
    X(gc_pause_p50_2_s, SEC)                                                   \
    X(gc_pause_p99_2_s, SEC)                                                   \
    X(gc_pause_max_2_s, SEC)                                                   \
    X(gc_unreachable, NUM)     /* --gc off: containers leaked in cycles */      \
    X(traced_peak_bytes, NUM)  /* --tracemalloc: requested bytes at the run's  \
                                  peak (forked: the processes' peaks added) */  \
    X(traced_peak_blocks, NUM)                                                 \
    X(traced_bytes_end, NUM)   /* --tracemalloc: requested bytes still traced  \
                                  after the timed region (added as the peak) */ \
    X(traced_blocks_end, NUM)                                                  \
    X(heap_blocks_end, NUM)    /* pymalloc, after the timed region: blocks in  \
                                  use (small and raw), a walk of the arenas */  \
    X(small_bytes_end, NUM)    /* the small ones' bytes (their size classes) */ \
    X(arenas_end, NUM)         /* arenas mapped (forked: the largest worker's, \
                                  as arena_bytes_peak) */                       \
    X(arenas_peak, NUM)        /* most arenas mapped at once (narenas_highwater) */ \
    X(pss_sum_kib, NUM)        /* --pss: Pss added over the run's processes */ \
    X(smaps_pss_before_kib, NUM)   /* cow: each worker before and after its    \
                                      run (forked: the workers' mean) */        \
    X(smaps_pss_after_kib, NUM)                                                \
    X(smaps_private_dirty_before_kib, NUM)                                     \
    X(smaps_private_dirty_after_kib, NUM)                                      \
    X(smaps_shared_clean_before_kib, NUM)                                      \
    X(smaps_shared_clean_after_kib, NUM)                                       \
    X(smaps_shared_dirty_before_kib, NUM)                                      \
    X(smaps_shared_dirty_after_kib, NUM)                                       \
    X(blocking_calls, NUM)     /* CALL_BLOCKING calls, over the workers */     \
    X(blocked_s, SEC)          /* time inside them (GIL released), summed */   \
    X(gil_switch_wait_s, SEC)  /* forced switching: droppers awaiting a taker */\
    X(gil_futile_wakeups, NUM) /* waiters woken to find the GIL taken again */ \
    X(gil_share_min, RATIO)    /* least GIL held / wall, over the workers */   \
    X(gil_share_max, RATIO)    /* (one shared GIL: single, threads) */         \
    X(gil_jain, RATIO)         /* Jain's index of the shares (run_jain) */     \
    X(starved_workers, NUM)    /* held under half their due (run_starved) */  \
    X(requests, NUM)           /* client workloads: replies checked */         \
    X(throughput_rps, NUM)     /* requests per second of client traffic */     \
    X(lat_p50_s, SEC)          /* request latencies, nearest rank */           \
    X(lat_p90_s, SEC)                                                          \
    X(lat_p99_s, SEC)                                                          \
    X(lat_p999_s, SEC)                                                         \
    X(lat_max_s, SEC)                                                          \
    X(server_gil_wait_s, SEC)  /* worker 0's GIL wait per request */           \
    X(trace_events, NUM)       /* GIL trace: events recorded */                \
    X(trace_dropped, NUM)      /* ... and lost to full buffers */              \
    X(gil_wait_min_s, SEC)     /* least GIL wait of a worker (take + switch) */\
    X(gil_wait_max_s, SEC)     /* most */

typedef struct run_sample {
#define X(name, unit) double name;
    RUN_SAMPLE_FIELDS(X)
#undef X
} run_sample_t;

/* A latency histogram with log buckets, 10 per decade from 1 us to 10 s:
 * bucket 0 holds what is under 1 us, bucket b in 1..70 holds
 * [10^((b-1)/10), 10^(b/10)) us, bucket 71 everything from 10 s. */
#define RUN_HIST_BUCKETS 72
typedef struct run_hist {
    uint64_t count[RUN_HIST_BUCKETS];
} run_hist_t;

/* The bucket of a latency in seconds; its bounds in seconds (the last
 * bucket's upper bound is infinity). Cannot fail. */
int run_hist_bucket(double seconds);
double run_hist_lower_s(int bucket);
double run_hist_upper_s(int bucket);

/* The GIL trace of one repeat: one lane per traced thread (its worker
 * index), each with the events it recorded, in its own time order. */
typedef struct run_trace_lane {
    uint32_t lane;
    uint32_t count;
    uint64_t dropped;            /* events lost to a full buffer */
    trace_event_t *events;       /* count entries */
} run_trace_lane_t;

typedef struct run_trace {
    uint64_t t0_ns;              /* the start of the repeat's timed region */
    int nlanes;
    run_trace_lane_t *lanes;
} run_trace_t;

/* Release a trace. NULL-safe. */
void run_trace_free(run_trace_t *t);

/* Fairness under one GIL shared by W threads (runners/fairness.c): a
 * worker's share is the time it held the GIL over the wall time, its fair
 * share 1/W. Jain's index of the shares, (sum x)^2 / (n sum x^2): 1 when
 * all held it alike, 1/n when one held it all. Cannot fail; n >= 1. */
double run_jain(const double *share, int n);
/* Whether a worker of n that held `share` of the wall time and wanted
 * `wanted` of it (held + waited) is starved: under half of the lesser of
 * 1/n and `wanted`. One worker alone is never starved. */
bool run_starved(double share, double wanted, int n);

/* One worker's GIL in one repeat. */
typedef struct run_fair {
    double share;                   /* GIL held / wall */
    double wait_s;                  /* waiting to take it, or for a taker */
} run_fair_t;

/* The part of a repeat of wall_s seconds in which the worker wanted the
 * GIL: held + waited, over the wall; 0 without a wall time. Cannot fail. */
double run_wanted(const run_fair_t *f, double wall_s);

typedef struct run_row {
    run_spec_t spec;
    int nsamples;                   /* == spec.repeats on success */
    run_sample_t *samples;          /* owned; free with run_row_free */
    run_fair_t *fair;               /* nsamples x spec.workers, repeat-major,
                                       when the workers share one GIL; else
                                       NULL; owned */
    memtrace_t trace;               /* --memory-trace: the first timed repeat's */
    run_hist_t latency;             /* client workloads: every timed repeat's */
    run_trace_t *gil_trace;         /* spec.trace_events: the first timed
                                       repeat's GIL trace; owned */
} run_row_t;

/* Progress callback, called after each warm-up and repeat (outside any timed
 * region). `done` counts finished runs of `total` (warm-ups included). */
typedef void (*run_progress_fn)(const run_spec_t *spec, int done, int total, void *arg);

/* Run warm-ups then repeats. On error returns -1 with a one-line message in
 * `err` (the row is left empty); samples already gathered are discarded. */
int run_row(const run_spec_t *spec, run_row_t *row, run_progress_fn progress,
            void *progress_arg, char *err, size_t errlen);

/* The same, one step at a time, for sweeps that interleave the repeats of
 * several rows (round-robin): a slow drift of the machine's speed (another
 * tenant on a VM, thermal limits) then spreads evenly over the rows instead
 * of favouring the ones that ran first. */
typedef struct run_session run_session_t;
/* Check the spec, build the code, load the topology if pinning. NULL with
 * err set on error. */
run_session_t *run_session_open(const run_spec_t *spec, run_row_t *row, char *err, size_t errlen);
/* Run the next warm-up or repeat. Returns 1 while more remain, 0 once the
 * row is complete, -1 on error (err set; the session must still be closed). */
int run_session_step(run_session_t *s, char *err, size_t errlen);
/* Warm-ups and repeats done so far, of how many. */
void run_session_progress(const run_session_t *s, int *done, int *total);
/* Release the session. NULL is accepted. Cannot fail. */
void run_session_close(run_session_t *s);

/* For a handler about to end the lab (SIGTERM, a second Ctrl-C): SIGKILL
 * the repeat under way, its repeat process with its workers and client,
 * which form one process group, and reap them all before returning. Does
 * nothing between repeats. Returns whether a repeat was under way.
 * Async-signal-safe (kill and waitpid only); cannot fail. */
bool run_kill_repeat(void);

/* Release a row's samples. NULL-safe. */
void run_row_free(run_row_t *row);

/* Validate a spec before anything runs (guard/mode/allocator compatibility,
 * worker and size bounds). Returns 0, or -1 with the reason in `err`. */
int run_spec_check(const run_spec_t *spec, char *err, size_t errlen);

/* Whether a workload can run in a mode at all (convoy: not in a pool,
 * whose workers take tasks, not a background role). */
bool run_mode_fits(const workload_t *wl, run_mode_t mode);

#endif
