/* runners/internal.h: what the four runners share and nothing outside
 * runners/ needs: the per-worker result (sent over a pipe by forked
 * workers, hence plain data), the body every worker runs, resource usage,
 * pinning, and the mode entry points that runner.c dispatches to.
 */
#ifndef GL_RUNNERS_INTERNAL_H
#define GL_RUNNERS_INTERNAL_H

#include <stdalign.h>
#include <sys/types.h>

#include "lab/code.h"
#include "lab/interp.h"
#include "runners/runner.h"

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
/* Add u's CPU times and context switches to the sample; its max RSS becomes
 * the larger of the two. */
void usage_add_to_sample(run_sample_t *s, const usage_t *u);

/* One worker's outcome; plain data so that forked workers can write it to a
 * pipe. Padded to a cache line: threads write their own slot of an array. */
typedef struct worker_result {
    alignas(64) double run_s;     /* the worker's own time, barrier to done */
    gil_stats_t gil;
    uint64_t gil_switches;        /* processes/pool: the child's own GIL */
    uint64_t rc_local, rc_shared, brc_queued, brc_merged;
    uint64_t objects_allocated;
    uint64_t heap_bytes_peak;     /* processes/pool: the child's pymalloc peak */
    usage_t usage;                /* pool: the task's own resource usage */
    int64_t leaked;               /* processes/pool: objects left alive */
    char error[TSTATE_ERROR_LEN]; /* empty when the worker succeeded */
} worker_result_t;

/* Run `code` for `share` iterations in `ts` (detached on entry and exit):
 * attach, build the argument, eval, detach. Fills `out`; returns 0, or -1
 * with out->error set. */
int worker_run(tstate_t *ts, const code_t *code, int64_t share, worker_result_t *out);

/* The share of worker `i` of `workers`: size split evenly, the remainder
 * going to the first workers. */
int64_t worker_share(int64_t size, int workers, int i);

/* Pinning with hwloc: worker i -> core (i mod cores), PUs of that core. */
typedef struct pin pin_t;
/* Load the topology. NULL with a reason in err on failure. */
pin_t *pin_open(char *err, size_t errlen);
void pin_close(pin_t *pin);
/* Bind the calling thread (process = 0) or the whole calling process
 * (process = 1) to worker i's core. Returns 0, or -1 with a reason. */
int pin_worker(pin_t *pin, int i, int process, char *err, size_t errlen);
/* Give the calling thread back the binding it had when pin_open ran (for
 * `single`, which pins the caller itself). Cannot fail. */
void pin_restore(pin_t *pin);

/* What a mode runner gets: a ready interpreter (globals set up), its main
 * thread state (detached), the code, and the spec. */
typedef struct run_ctx {
    const run_spec_t *spec;
    interp_t *interp;
    tstate_t *main_ts;
    const code_t *code;
    pin_t *pin;                   /* NULL when not pinning */
    worker_result_t *results;     /* spec->workers slots */
    char *err;
    size_t errlen;
} run_ctx_t;

/* Mode runners: fill ctx->results and the timing fields of `sample` (wall,
 * usage). Return 0, or -1 with ctx->err set. */
int run_single(run_ctx_t *ctx, run_sample_t *sample);
int run_threads(run_ctx_t *ctx, run_sample_t *sample);
int run_processes(run_ctx_t *ctx, run_sample_t *sample);

/* The pool lives across the repeats of a row. */
typedef struct pool pool_t;
/* Fork the workers; *startup_s receives the time it took until every worker
 * reported ready. NULL with ctx->err set on failure. */
pool_t *pool_open(run_ctx_t *ctx, double *startup_s);
/* One repeat: one task per worker. 0, or -1 with ctx->err set. */
int pool_run(pool_t *pool, run_ctx_t *ctx, run_sample_t *sample);
/* Stop and reap the workers. Cannot fail. */
void pool_close(pool_t *pool);

/* Shared by the forked runners: write/read a whole buffer over a pipe,
 * retrying on EINTR and short transfers. 0, or -1 (errno set; 0-byte read
 * at EOF gives errno = EPIPE). */
int pipe_write_all(int fd, const void *buf, size_t len);
int pipe_read_all(int fd, void *buf, size_t len);

/* Describe how a child ended, for error messages ("killed by signal 9"). */
void child_status_text(int status, char *buf, size_t len);

#endif
