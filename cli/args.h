/* cli/args.h: the options of `gil-lab run`, parsed and checked against the
 * registries (workloads, modes, guards, allocators) before anything runs.
 * What the options mean is in cli_args_usage(); what they become (the cross
 * product of rows) is cmd_run.c's business.
 */
#ifndef GL_CLI_ARGS_H
#define GL_CLI_ARGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "report/report.h"
#include "runners/runner.h"

#define CLI_MAX_WORKER_COUNTS 64   /* items in -j */
#define CLI_MAX_LIST 64            /* items in -n, --switch-interval, one -P */
#define CLI_MAX_REPEATS 1000
#define CLI_MAX_WARMUP 1000
#define CLI_MAX_PARAM_NAMES 8      /* distinct -P names */
#define CLI_MAX_MIN_TIME_S 3600
#define CLI_DEFAULT_TRACE_EVENTS 262144  /* --trace: events per thread (4 MiB) */
#define CLI_DEFAULT_TRACE_WINDOW_MS 100  /* --trace-window: the chart's span */
#define CLI_MAX_TRACE_WINDOW_MS 3600000

typedef enum cli_format { CLI_FORMAT_TABLE, CLI_FORMAT_CSV, CLI_FORMAT_JSON } cli_format_t;

/* One -P NAME=V1,V2: the values of a parameter, for every workload that
 * has one by that name. */
typedef struct cli_param_list {
    char name[64];
    int64_t values[CLI_MAX_LIST];
    int nvalues;
} cli_param_list_t;

/* Every axis is a list; the sweep is their cross product (cmd_run.c). */
typedef struct cli_run_args {
    const workload_t *workloads[16];
    int nworkloads;
    int modes[RUN_MODE_COUNT];
    int nmodes;
    int guards[GUARD_COUNT];
    int nguards;
    int allocators[HEAP_COUNT];
    int nallocators;                  /* 0: each guard's default allocator */
    int workers[CLI_MAX_WORKER_COUNTS];
    int nworkers;
    int64_t sizes[CLI_MAX_LIST];      /* strong: total; weak: per worker */
    int nsizes;                       /* 0: each workload's default size */
    cli_param_list_t params[CLI_MAX_PARAM_NAMES];
    int nparams;
    uint64_t switch_us[CLI_MAX_LIST];
    int nswitch;
    int repeats;
    int warmup;
    bool workers_given;               /* -j appeared (convoy sets its own) */
    int check_interval;               /* gil-old: ticks (0: 100) */
    uint32_t trace_events;            /* --trace: events per thread, 0 = off */
    int64_t trace_from_ms;            /* --trace-window FROM:LEN (ms into the repeat) */
    int64_t trace_len_ms;
    run_pin_t pin;
    bool immortal;
    gc_config_t gc;                   /* --gc-thresholds (disabled: from gc_off) */
    int gc_off[2];                    /* --gc: 0 on, 1 off, a list */
    int ngc;
    bool tracemalloc;                 /* --tracemalloc */
    bool pss;                         /* --pss */
    bool memory_trace;                /* --memory-trace */
    uint64_t sample_interval_us;      /* --sample-interval (0: default) */
    const char *output;               /* -o; NULL: a new folder under ./results */
    const char *resume;               /* --resume DIR: -o DIR, finished rows kept */
    const char *markdown;             /* --export-markdown FILE */
    cli_format_t format;
    bool plot;
    bool sequential;                  /* rows one after the other (default: interleaved) */
    rep_setup_t setup;                /* --baseline, --scaling */
    bool baseline_given;              /* --baseline: it must name a row */
    double min_time_s;                /* --min-time; 0: not asked */
} cli_run_args_t;

/* Parse the options of `run` (argv[0] is "run"; getopt may reorder argv).
 * Returns 0 when a run is ready, 1 when --help was printed, or -1 with a
 * one-line reason in err. */
int cli_args_parse(int argc, char **argv, cli_run_args_t *args, char *err, size_t errlen);

/* The workload's default parameters into params[0..wl->nparams). Cannot
 * fail. */
void cli_param_defaults(const workload_t *wl, int64_t *params);

/* Apply one -P NAME=VALUE to params: NAME must be one of wl's parameters and
 * VALUE in its bounds. Returns 0, or -1 with "-P/--param: <why>" in err. */
int cli_param_apply(const workload_t *wl, const char *arg, int64_t *params, char *err,
                    size_t errlen);

/* The help of `run`, with the names from the registries. Cannot fail. */
void cli_args_usage(FILE *f);

/* The guard and allocator registries as name lists (cli/parse.h), for
 * other commands that take one of each. Cannot fail. */
struct cli_names;
const struct cli_names *cli_guard_names(void);
const struct cli_names *cli_heap_names(void);

#endif
