/* workloads/workload.h: what a workload is. A workload is a small bytecode
 * program (lab/code.h) that the interpreter loop runs once per worker with
 * that worker's share of the size, plus optional setup that builds globals
 * before the workers start. Each workload lives in its own file and is
 * registered by one line in WL_LIST (workloads/registry.c): the CLI, `gil-lab
 * list`, the help text and the parameter validation all come from that table.
 */
#ifndef GL_WORKLOAD_H
#define GL_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct interp interp_t;
typedef struct tstate tstate_t;
typedef struct code code_t;

#define WL_MAX_PARAMS 4

/* A parameter, settable with -P name=value: a bounded integer, or one of
 * a few named values (`choices`: NULL-terminated names of the values 0, 1,
 * ...; then min is 0 and max the last index). */
typedef struct wl_param {
    const char *name;
    const char *help;
    int64_t def, min, max;
    const char *const *choices;
} wl_param_t;

/* A client outside the interpreter (runners/client.h) that exchanges
 * messages with worker 0 over a socketpair whose server end is the
 * interpreter's global 0 (an int, the descriptor). */
typedef struct wl_client {
    int64_t duration_ms;   /* how long it sends requests */
    int64_t rate;          /* requests per second; 0: back-to-back */
    int64_t timeout_ms;    /* the longest wait for one reply before the run fails */
} wl_client_t;

typedef struct workload {
    const char *name;
    const char *description;
    int64_t default_size;      /* total iterations for the whole run */
    int64_t min_size;          /* smallest meaningful size */
    int64_t max_size;
    const wl_param_t *params;  /* nparams entries */
    int nparams;
    /* Build the bytecode one worker runs into `code`; the worker's share of
     * the size arrives at run time as local 0, the function's argument.
     * Returns 0, or -1 on out-of-memory. */
    int (*build)(code_t *code, const int64_t *params);
    /* Optional (may be NULL): create globals before the workers start, in
     * the calling thread `ts` (the main thread). Returns 0, or -1 with
     * ts->error set. Globals are released by the interpreter. */
    int (*setup)(tstate_t *ts, const int64_t *params);
    /* Optional (NULL: 1): how many units of size one indivisible piece of
     * work takes (alloc: a list of k ints). The size is split among the
     * workers in whole pieces (wl_share), so every mode does the same
     * total work. */
    int64_t (*unit)(const int64_t *params);
    /* Optional (NULL: "iterations"): what the size counts, for the help. */
    const char *size_unit;
    /* Optional (convoy): worker 0 runs `build`'s code and the others run
     * this code in the background, until worker 0 has finished; then they
     * are stopped as PyThreadState_SetAsyncExc stops a thread. A row then
     * has 1 + params[background_param] workers (-j does not apply), their
     * shares are not used, and mode single runs worker 0 alone. */
    int (*build_background)(code_t *code, const int64_t *params);
    int background_param;
    /* Optional (convoy): a client talks to worker 0 (wl_client_t); fill
     * *client from the parameters and the size. */
    void (*client)(const int64_t *params, int64_t size, wl_client_t *client);
    /* Optional: undo before the globals are dropped what setup did that
     * the interpreter cannot undo itself (cow: objects made immortal are
     * made mortal again, so that the leak check sees them freed). Returns
     * 0, or -1 with ts->error set. */
    int (*teardown)(tstate_t *ts, const int64_t *params);
    /* Optional: refuse parameters the rest of the run cannot honour (cow's
     * heap=immortal under --no-immortal, which has no immortal objects).
     * Returns 0, or -1 with a one-line reason in err. */
    int (*check)(const int64_t *params, bool immortal, char *err, size_t errlen);
    /* Each worker's memory is read from /proc/PID/smaps_rollup before and
     * after its run (the copy-on-write figures, runners/smaps.h). */
    bool smaps;
} workload_t;

/* X(name): the registered workloads, in the order `gil-lab list` prints. */
#define WL_LIST(X) X(countdown) X(alloc) X(shared) X(cycles) X(cow) X(io) X(convoy)

#define X(name) extern const workload_t wl_##name;
WL_LIST(X)
#undef X

/* Number of registered workloads. */
size_t wl_count(void);
/* The i-th registered workload (i < wl_count()). */
const workload_t *wl_at(size_t i);
/* Workload by name; NULL when unknown. */
const workload_t *wl_find(const char *name);
/* Index of a parameter by name in `wl`; -1 when unknown. */
int wl_param_find(const workload_t *wl, const char *name);
/* The value a choice name means for a parameter with choices; -1 when the
 * name is none of them (or the parameter has none). */
int wl_param_choice(const wl_param_t *p, const char *text);
/* Write value v of p as the user writes it (its choice name, or the
 * integer) into buf; returns what snprintf returns. */
int wl_param_format(const wl_param_t *p, int64_t v, char *buf, size_t len);
/* "plain|frozen|immortal": p's choices joined for messages and help
 * ("N" for an integer parameter). Cannot fail (truncates). */
void wl_param_choices(const wl_param_t *p, char *buf, size_t len);

/* How a size becomes work. The whole pieces a size needs (its units,
 * rounded up: the work really done is wl_pieces * unit, the same in every
 * mode), and worker i's share of them, in units of size: pieces spread
 * evenly, the remainder going to the first workers. Cannot fail. */
int64_t wl_unit_of(const workload_t *wl, const int64_t *params);
int64_t wl_pieces(const workload_t *wl, const int64_t *params, int64_t size);
int64_t wl_share(const workload_t *wl, const int64_t *params, int64_t size, int workers, int i);

/* The workers a row of wl has: 1 + the background count for a workload
 * with a background, else `requested` (-j). In mode single (single =
 * true) the background count is set to 0 in params first. Cannot fail. */
int wl_workers(const workload_t *wl, int64_t *params, int requested, int single);

#endif
