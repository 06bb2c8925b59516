/* runners/internal.h: what the four runners share and nothing outside
 * runners/ needs: the per-worker result (sent over a pipe by forked
 * workers, hence plain data), the body every worker runs, resource usage,
 * pinning, the leak check, and the mode entry points that runner.c
 * dispatches to.
 *
 * Where each piece runs. The lab process only coordinates: every warm-up
 * and repeat runs in a *repeat process* forked for it (runner.c), which
 * builds the interpreter, runs the mode and checks for leaks, then reports
 * one run_sample_t and exits. Inside it:
 *
 *   single     the repeat process's main thread is the worker
 *   threads    W pthreads in the repeat process (threads.c)
 *   processes  W worker processes forked by the repeat process, inside the
 *   pool       timer (processes) or before it (pool) (processes.c, fork.c)
 *
 * So no row inherits memory, allocator caches or a CPU binding from the row
 * before it, and each row's peak RSS is its own.
 */
#ifndef GL_RUNNERS_INTERNAL_H
#define GL_RUNNERS_INTERNAL_H

#include <stdalign.h>
#include <sys/types.h>

#include "lab/code.h"
#include "lab/interp.h"
#include "runners/runner.h"
#include "runners/smaps.h"

/* Resource usage, from getrusage. */
typedef struct usage {
    double user_s;
    double sys_s;
    long max_rss_kib;
    long vol_cs;
    long invol_cs;
} usage_t;

/* Read RUSAGE_SELF (children = 0) or RUSAGE_CHILDREN (children = 1). */
void usage_get(usage_t *u, int children);
/* u = after - before (max RSS is taken from `after`: it is a high-water mark). */
void usage_delta(usage_t *u, const usage_t *before, const usage_t *after);
/* Add u's CPU times and context switches to the sample. */
void usage_add_to_sample(run_sample_t *s, const usage_t *u);

/* The heap after the timed region, read outside it: pymalloc's figures
 * from a walk of its arenas (pym_get_stats, as sys._debugmallocstats
 * walks them; NaN under another allocator) and the tracer's current
 * totals (tracemalloc.get_traced_memory()[0]; NaN when not tracing). */
typedef struct heap_end {
    double blocks, small_bytes, arenas, arenas_peak;
    double traced_bytes, traced_blocks;
} heap_end_t;

/* Read it while no thread of the interpreter allocates (its workers done).
 * Cannot fail. */
void heap_end_read(interp_t *interp, heap_end_t *out);

/* One worker's outcome; plain data so that forked workers can write it to a
 * pipe. Padded to a cache line: threads write their own slot of an array. */
typedef struct worker_result {
    alignas(64) double run_s;     /* the worker's own time, barrier to done */
    gil_stats_t gil;
    uint64_t gil_switches;        /* forked: the child's own GIL */
    tstate_counters_t count;      /* what the worker's thread counted */
    uint64_t arena_bytes_peak;    /* forked: the child's pymalloc high-water */
    heap_end_t heap_end;          /* forked: the child's heap after its run */
    gc_summary_t gc;              /* forked: the child's collections */
    int64_t gc_unreachable;       /* forked, collector off: cycles left */
    usage_t usage;                /* forked: the child's own resource usage */
    double traced_peak_bytes;     /* forked, --tracemalloc: the child's peak */
    double traced_peak_blocks;
    smaps_t smaps_before;         /* workload_t.smaps: around the run */
    smaps_t smaps_after;
    int index;                    /* forked: which worker (one shared pipe) */
    int stopped;                  /* a background worker stopped by the runner */
    char error[TSTATE_ERROR_LEN]; /* empty when the worker succeeded */
} worker_result_t;

/* Run `code` for `share` iterations in `ts` (detached on entry and exit):
 * attach, build the argument, eval, detach. A run ended by
 * worker_request_stop is a success with out->stopped set. Fills `out`;
 * returns 0, or -1 with out->error set. */
int worker_run(tstate_t *ts, const code_t *code, int64_t share, worker_result_t *out);

/* PyThreadState_SetAsyncExc(SystemExit): ask the thread running ts to stop
 * at its next eval-breaker check (a backward jump). Safe from any thread
 * and from a signal handler. */
static inline void worker_request_stop(tstate_t *ts)
{
    __atomic_fetch_or(&ts->eval_breaker, EB_ASYNC_EXC, __ATOMIC_RELAXED);
}

/* The share of worker `i` of the spec's workers (wl_share); a background
 * worker (i > 0 of a workload with a background) runs until it is
 * stopped, so its share is as large as an int can hold. */
int64_t worker_share(const run_spec_t *spec, int i);

/* Pinning with hwloc: worker i -> core (i mod cores), PUs of that core. */
typedef struct pin pin_t;
/* Load the topology. NULL with a reason in err on failure. */
pin_t *pin_open(char *err, size_t errlen);
void pin_close(pin_t *pin);
/* Bind the calling thread (process = 0) or the whole calling process
 * (process = 1) to worker i's core. Returns 0, or -1 with a reason. */
int pin_worker(pin_t *pin, int i, int process, char *err, size_t errlen);

/* The leak check's view of an interpreter: what is alive now. Blocks are
 * counted as sys.getallocatedblocks() counts them (lab/heap.h; -1 when the
 * allocator cannot tell); objects only in GL_PYSTATS builds (else 0). */
typedef struct leak_probe {
    int64_t blocks;
    int64_t objects;
} leak_probe_t;

/* Take the probe from the calling thread, adding the blocks that parked
 * worker threads counted in their own heaps (interp->thread_blocks).
 * Cannot fail. */
void leak_probe_take(interp_t *interp, leak_probe_t *p);
/* Compare a probe with its baseline: 0 when nothing is left, -1 with
 * "N objects (M blocks) still alive" in err. Cannot fail otherwise. */
int leak_probe_check(const leak_probe_t *before, const leak_probe_t *after, char *err, size_t errlen);

/* Threads that finished their run but still exist (threads.c): they wait
 * until the repeat's leak check, so that the blocks they allocated can
 * still be counted in their own heaps. */
typedef struct parked parked_t;

/* What a mode runner gets: a ready interpreter (globals set up), its main
 * thread state (detached), the code, and the spec. */
typedef struct client client_t;

typedef struct run_ctx {
    const run_spec_t *spec;
    interp_t *interp;
    tstate_t *main_ts;
    const code_t *code;
    const code_t *code_background;/* what workers 1.. run, NULL: `code` */
    client_t *client;             /* the client outside, or NULL */
    trace_buf_t *trace;           /* spec->workers buffers, or NULL */
    pin_t *pin;                   /* NULL when not pinning */
    worker_result_t *results;     /* spec->workers slots */
    parked_t *parked;             /* threads: workers waiting to exit */
    memtrace_sampler_t *sampler;  /* --memory-trace: forked workers join it */
    char *err;
    size_t errlen;
} run_ctx_t;

/* The code worker i runs. */
static inline const code_t *run_code_of(const run_ctx_t *ctx, int i)
{
    return i > 0 && ctx->code_background != NULL ? ctx->code_background : ctx->code;
}

/* The workers are running: let the client start (no-op without one). */
void run_workers_started(run_ctx_t *ctx);

/* Worker 0 has finished: a client still waiting sees the end of the
 * stream. (Stopping the background workers is each mode's business: they
 * are threads or processes.) */
void run_lead_finished(run_ctx_t *ctx);
/* The process's memory before or after a run, for a workload that asks
 * (workload_t.smaps). Returns 0, or -1 with a reason in err. */
int worker_smaps(const run_spec_t *spec, smaps_t *out, char *err, size_t errlen);

/* Mode runners: fill ctx->results and the timing fields of `sample` (wall,
 * usage, start-up). Return 0, or -1 with ctx->err set. */
int run_single(run_ctx_t *ctx, run_sample_t *sample);
int run_threads(run_ctx_t *ctx, run_sample_t *sample);
int run_processes(run_ctx_t *ctx, run_sample_t *sample);
int run_pool(run_ctx_t *ctx, run_sample_t *sample);

/* Let the threads parked by run_threads count their heaps and exit, and
 * join them. NULL-safe no-op when nothing is parked. Cannot fail. */
void threads_release(run_ctx_t *ctx);

/* Shared by the forked runners: write/read a whole buffer over a pipe,
 * retrying on EINTR and short transfers. 0, or -1 (errno set; 0-byte read
 * at EOF gives errno = EPIPE). */
int pipe_write_all(int fd, const void *buf, size_t len);
int pipe_read_all(int fd, void *buf, size_t len);

/* Describe how a child ended, for error messages ("killed by signal 9"). */
void child_status_text(int status, char *buf, size_t len);

#endif
