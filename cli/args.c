/* cli/args.c: `gil-lab run`'s options, from argv to a checked
 * cli_run_args_t. Every name is looked up in its registry (WL_LIST,
 * RUN_MODE_LIST, GUARD_LIST, HEAP_LIST), every number in its bounds (the
 * workload's size and parameter tables, RUN_MAX_WORKERS, RUN_MAX_SWITCH_US,
 * the limits in args.h), so a typo costs one line on stderr and exit status
 * 2 before any folder is created or any worker started.
 *
 * One rule for an option given twice, the same for every option: the last
 * value counts, and every value given is checked (`-n abc -n 2k` fails). So
 * a documented command line can be shrunk by appending options (the CLI test
 * appends -n 2000 -r 1 to every `run` line of the README). -P is one option
 * per parameter: the last value of each parameter counts.
 *
 * Two passes over argv: the first finds the workload (and reports what
 * getopt itself rejects), since -n and -P are checked against the
 * workload's bounds and -w may come last; the second checks and applies
 * everything else, in order.
 */
#include <getopt.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/parse.h"
#include "gil/gil.h"
#include "report/report.h"

enum { OPT_WARMUP = 256, OPT_SWITCH, OPT_PIN, OPT_NO_IMMORTAL, OPT_FORMAT, OPT_NO_PLOT, OPT_INTERLEAVE,
       OPT_GC, OPT_GC_THRESHOLDS, OPT_TRACEMALLOC, OPT_PSS, OPT_MEMORY_TRACE, OPT_SAMPLE_INTERVAL,
       OPT_CHECK, OPT_TRACE, OPT_TRACE_WINDOW };

static const struct option long_options[] = {
    {"workload", required_argument, NULL, 'w'},
    {"mode", required_argument, NULL, 'm'},
    {"guard", required_argument, NULL, 'g'},
    {"allocator", required_argument, NULL, 'a'},
    {"workers", required_argument, NULL, 'j'},
    {"size", required_argument, NULL, 'n'},
    {"param", required_argument, NULL, 'P'},
    {"repeat", required_argument, NULL, 'r'},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"switch-interval", required_argument, NULL, OPT_SWITCH},
    {"pin", required_argument, NULL, OPT_PIN},
    {"no-immortal", no_argument, NULL, OPT_NO_IMMORTAL},
    {"gc", required_argument, NULL, OPT_GC},
    {"gc-thresholds", required_argument, NULL, OPT_GC_THRESHOLDS},
    {"tracemalloc", no_argument, NULL, OPT_TRACEMALLOC},
    {"pss", no_argument, NULL, OPT_PSS},
    {"memory-trace", no_argument, NULL, OPT_MEMORY_TRACE},
    {"sample-interval", required_argument, NULL, OPT_SAMPLE_INTERVAL},
    {"output", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"no-plot", no_argument, NULL, OPT_NO_PLOT},
    {"interleave", no_argument, NULL, OPT_INTERLEAVE},
    {"check-interval", required_argument, NULL, OPT_CHECK},
    {"trace", optional_argument, NULL, OPT_TRACE},
    {"trace-window", required_argument, NULL, OPT_TRACE_WINDOW},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *const format_list[] = {"table", "csv", "json"};

static const char *workload_at(int i) { return wl_at((size_t)i)->name; }
static const char *mode_at(int i) { return run_mode_name((run_mode_t)i); }
static const char *guard_at(int i) { return guard_name((guard_kind_t)i); }
static const char *heap_at(int i) { return heap_kind_name((heap_kind_t)i); }
static const char *pin_at(int i) { return rep_pin_name((run_pin_t)i); }
static const char *format_at(int i) { return format_list[i]; }

static const cli_names_t mode_names = {"mode", RUN_MODE_COUNT, mode_at};
static const cli_names_t guard_names = {"guard", GUARD_COUNT, guard_at};
static const cli_names_t heap_names = {"allocator", HEAP_COUNT, heap_at};
static const cli_names_t pin_names = {"pinning", RUN_PIN_CORES + 1, pin_at};
static const char *onoff_at(int i) { return i == 0 ? "on" : "off"; }
static const cli_names_t onoff_names = {"setting", 2, onoff_at};
static const cli_names_t format_names = {"format", 3, format_at};

static cli_names_t workload_names(void)
{
    return (cli_names_t){"workload", (int)wl_count(), workload_at};
}

void cli_workload_names(char *buf, size_t len)
{
    cli_names_t names = workload_names();

    cli_names_join(&names, buf, len);
}

/* "<option>: <why>" into err; returns -1. */
static int fail(char *err, size_t errlen, const char *option, const char *why)
{
    snprintf(err, errlen, "%s: %s", option, why);
    return -1;
}

static void set_defaults(cli_run_args_t *a)
{
    static const run_mode_t default_modes[] = {RUN_MODE_single, RUN_MODE_threads, RUN_MODE_pool,
                                               RUN_MODE_processes};

    memset(a, 0, sizeof *a);
    a->workload = wl_find("countdown");
    if (!a->workload)
        a->workload = wl_at(0);
    for (size_t k = 0; k < sizeof default_modes / sizeof default_modes[0]; k++)
        a->modes[a->nmodes++] = default_modes[k];
    a->guards[a->nguards++] = GUARD_gil;
    a->workers[a->nworkers++] = 2;
    a->repeats = 5;
    a->warmup = 1;
    a->switch_interval_us = GIL_DEFAULT_INTERVAL_US;
    a->trace_len_ms = CLI_DEFAULT_TRACE_WINDOW_MS;
    a->pin = RUN_PIN_NONE;
    a->immortal = true;
    a->format = CLI_FORMAT_TABLE;
    a->plot = true;
}

int cli_param_apply(const workload_t *wl, const char *arg, int64_t *params, char *err,
                    size_t errlen)
{
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : 0;
    char name[64], why[512], valid[256];
    int p;

    if (!eq || len == 0 || len >= sizeof name) {
        snprintf(why, sizeof why, "expected NAME=VALUE, got '%s'", arg);
        return fail(err, errlen, "-P/--param", why);
    }
    memcpy(name, arg, len);
    name[len] = '\0';
    p = wl_param_find(wl, name);
    if (p < 0) {
        size_t used = 0;
        valid[0] = '\0';
        for (int q = 0; q < wl->nparams && used < sizeof valid; q++)
            used += (size_t)snprintf(valid + used, sizeof valid - used, "%s%s", q ? ", " : "",
                                     wl->params[q].name);
        if (wl->nparams)
            snprintf(why, sizeof why, "unknown parameter '%s' for %s (valid: %s)", name, wl->name,
                     valid);
        else
            snprintf(why, sizeof why, "unknown parameter '%s': %s has no parameters", name,
                     wl->name);
        return fail(err, errlen, "-P/--param", why);
    }
    const wl_param_t *pr = &wl->params[p];
    char option[96];
    snprintf(option, sizeof option, "-P %s", name);
    if (pr->choices != NULL) {
        int v = wl_param_choice(pr, eq + 1);
        if (v < 0) {
            char choices[160];
            wl_param_choices(pr, choices, sizeof choices);
            snprintf(why, sizeof why, "'%s' is not one of %s", eq + 1, choices);
            return fail(err, errlen, option, why);
        }
        params[p] = v;
        return 0;
    }
    if (cli_parse_int_range(eq + 1, pr->min, pr->max, &params[p], why, sizeof why) < 0)
        return fail(err, errlen, option, why);
    return 0;
}

void cli_param_defaults(const workload_t *wl, int64_t *params)
{
    for (int p = 0; p < wl->nparams; p++)
        params[p] = wl->params[p].def;
}

/* A name-list option: -1 with err set, or the count. */
static int name_list(const char *s, const cli_names_t *names, int *out, int maxn,
                     const char *option, char *err, size_t errlen)
{
    char why[384];
    int n = cli_parse_name_list(s, names, out, maxn, why, sizeof why);

    return n < 0 ? fail(err, errlen, option, why) : n;
}

/* An integer option in [min, max]: 0, or -1 with err set. */
static int int_option(const char *s, int64_t min, int64_t max, int64_t *out, const char *option,
                      char *err, size_t errlen)
{
    char why[256];

    return cli_parse_int_range(s, min, max, out, why, sizeof why) < 0
               ? fail(err, errlen, option, why)
               : 0;
}

/* --gc-thresholds: three counts, or a CPython version's defaults. */
static int gc_thresholds_option(const char *arg, gc_config_t *gc, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        int64_t t[GC_GENERATIONS];
    } presets[] = {{"3.12", GC_THRESHOLDS_312}, {"3.13", GC_THRESHOLDS_313}};
    int t[GC_GENERATIONS];
    char why[256];

    for (size_t k = 0; k < sizeof presets / sizeof presets[0]; k++) {
        if (strcmp(arg, presets[k].name) == 0) {
            memcpy(gc->thresholds, presets[k].t, sizeof gc->thresholds);
            gc->thresholds_set = true;
            return 0;
        }
    }
    int n = cli_parse_int_list(arg, 0, GC_MAX_THRESHOLD, t, GC_GENERATIONS, why, sizeof why);
    if (n < 0)
        return fail(err, errlen, "--gc-thresholds", why);
    if (n != GC_GENERATIONS)
        return fail(err, errlen, "--gc-thresholds", "give three counts (700,10,10), or 3.12 or 3.13");
    for (int i = 0; i < GC_GENERATIONS; i++)
        gc->thresholds[i] = t[i];
    gc->thresholds_set = true;
    return 0;
}

/* A one-of-names option: the index, or -1 with err set. */
static int one_name(const char *s, const cli_names_t *names, const char *option, char *err,
                    size_t errlen)
{
    char why[384];
    int i = cli_parse_name(s, names, why, sizeof why);

    return i < 0 ? fail(err, errlen, option, why) : i;
}

/* --trace-window [FROM:]LEN, in milliseconds into the traced repeat. */
static int trace_window(cli_run_args_t *a, const char *arg, char *err, size_t errlen)
{
    const char *colon = strchr(arg, ':');
    char from[32];

    a->trace_from_ms = 0;
    if (colon) {
        if ((size_t)(colon - arg) >= sizeof from)
            return fail(err, errlen, "--trace-window", "expected [FROM:]LENGTH in milliseconds");
        memcpy(from, arg, (size_t)(colon - arg));
        from[colon - arg] = '\0';
        if (int_option(from, 0, CLI_MAX_TRACE_WINDOW_MS, &a->trace_from_ms, "--trace-window", err,
                       errlen) < 0)
            return -1;
        arg = colon + 1;
    }
    return int_option(arg, 1, CLI_MAX_TRACE_WINDOW_MS, &a->trace_len_ms, "--trace-window", err, errlen);
}

/* Apply one option of the second pass. Returns 0, or -1 with err set. */
static int apply_option(cli_run_args_t *a, int opt, const char *arg, char *err, size_t errlen)
{
    int64_t v;
    int k;
    char why[256];

    switch (opt) {
    case 'm':
        a->nmodes = name_list(arg, &mode_names, a->modes, RUN_MODE_COUNT, "-m/--mode", err,
                              errlen);
        return a->nmodes < 0 ? -1 : 0;
    case 'g':
        a->nguards = name_list(arg, &guard_names, a->guards, GUARD_COUNT, "-g/--guard", err,
                               errlen);
        return a->nguards < 0 ? -1 : 0;
    case 'a':
        a->nallocators = name_list(arg, &heap_names, a->allocators, HEAP_COUNT,
                                   "-a/--allocator", err, errlen);
        return a->nallocators < 0 ? -1 : 0;
    case 'j':
        if (a->workload->build_background != NULL) {
            snprintf(why, sizeof why, "%s has one server and -P %s CPU-bound workers; -j does not apply",
                     a->workload->name, a->workload->params[a->workload->background_param].name);
            return fail(err, errlen, "-j/--workers", why);
        }
        a->nworkers = cli_parse_int_list(arg, 1, RUN_MAX_WORKERS, a->workers,
                                         CLI_MAX_WORKER_COUNTS, why, sizeof why);
        return a->nworkers < 0 ? fail(err, errlen, "-j/--workers", why) : 0;
    case 'n':
        return int_option(arg, a->workload->min_size > 1 ? a->workload->min_size : 1,
                          a->workload->max_size, &a->size, "-n/--size", err, errlen);
    case 'P':
        return cli_param_apply(a->workload, arg, a->params, err, errlen);
    case 'r':
        if (int_option(arg, 1, CLI_MAX_REPEATS, &v, "-r/--repeat", err, errlen) < 0)
            return -1;
        a->repeats = (int)v;
        return 0;
    case OPT_WARMUP:
        if (int_option(arg, 0, CLI_MAX_WARMUP, &v, "--warmup", err, errlen) < 0)
            return -1;
        a->warmup = (int)v;
        return 0;
    case OPT_SWITCH:
        if (int_option(arg, 1, RUN_MAX_SWITCH_US, &v, "--switch-interval", err, errlen) < 0)
            return -1;
        a->switch_interval_us = (uint64_t)v;
        return 0;
    case OPT_CHECK:
        if (int_option(arg, 1, RUN_MAX_CHECK_INTERVAL, &v, "--check-interval", err, errlen) < 0)
            return -1;
        a->check_interval = (int)v;
        return 0;
    case OPT_TRACE:
        v = CLI_DEFAULT_TRACE_EVENTS;
        if (arg && int_option(arg, 1, RUN_MAX_TRACE_EVENTS, &v, "--trace", err, errlen) < 0)
            return -1;
        a->trace_events = (uint32_t)v;
        return 0;
    case OPT_TRACE_WINDOW:
        return trace_window(a, arg, err, errlen);
    case OPT_PIN:
        if ((k = one_name(arg, &pin_names, "--pin", err, errlen)) < 0)
            return -1;
        a->pin = (run_pin_t)k;
        return 0;
    case OPT_NO_IMMORTAL:
        a->immortal = false;
        return 0;
    case OPT_GC:
        if ((k = one_name(arg, &onoff_names, "--gc", err, errlen)) < 0)
            return -1;
        a->gc.disabled = k == 1;
        return 0;
    case OPT_GC_THRESHOLDS:
        return gc_thresholds_option(arg, &a->gc, err, errlen);
    case OPT_TRACEMALLOC:
        a->tracemalloc = true;
        return 0;
    case OPT_PSS:
        a->pss = true;
        return 0;
    case OPT_MEMORY_TRACE:
        a->memory_trace = true;
        return 0;
    case OPT_SAMPLE_INTERVAL:
        if (int_option(arg, MEMTRACE_MIN_INTERVAL_US / 1000, MEMTRACE_MAX_INTERVAL_US / 1000, &v, "--sample-interval",
                       err, errlen) < 0)
            return -1;
        a->sample_interval_us = (uint64_t)v * 1000u;
        return 0;
    case 'o':
        if (!arg[0])
            return fail(err, errlen, "-o/--output", "empty folder name");
        a->output = arg;
        return 0;
    case OPT_FORMAT:
        if ((k = one_name(arg, &format_names, "--format", err, errlen)) < 0)
            return -1;
        a->format = (cli_format_t)k;
        return 0;
    case OPT_INTERLEAVE:
        a->interleave = true;
        return 0;
    case OPT_NO_PLOT:
        a->plot = false;
        return 0;
    default:
        return 0;   /* -w and -h: the first pass's */
    }
}

/* One pass over argv. The first (workload_pass) applies -w, prints --help
 * and reports getopt's own errors; the second applies everything else.
 * Returns 0, 1 after --help, or -1 with err set. */
static int scan(int argc, char **argv, cli_run_args_t *a, bool workload_pass, char *err,
                size_t errlen)
{
    cli_names_t wl_names = workload_names();
    int opt, k;

    opterr = 0;
    optind = 0;   /* glibc's full reset, even after a half-read "-rn5" */
    while ((opt = getopt_long(argc, argv, ":w:m:g:a:j:n:P:r:o:h", long_options, NULL)) != -1) {
        if (!workload_pass) {
            if (apply_option(a, opt, optarg, err, errlen) < 0)
                return -1;
            continue;
        }
        switch (opt) {
        case 'w':
            if ((k = one_name(optarg, &wl_names, "-w/--workload", err, errlen)) < 0)
                return -1;
            a->workload = wl_at((size_t)k);
            break;
        case 'h':
            cli_args_usage(stdout);
            return 1;
        case ':':
        case '?':
            return cli_option_error(opt, argv, long_options, "run", err, errlen);
        default:
            break;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
        return -1;
    }
    return 0;
}

int cli_args_parse(int argc, char **argv, cli_run_args_t *a, char *err, size_t errlen)
{
    int rc;

    set_defaults(a);
    rc = scan(argc, argv, a, true, err, errlen);
    if (rc != 0)
        return rc;
    a->size = a->workload->default_size;
    cli_param_defaults(a->workload, a->params);
    return scan(argc, argv, a, false, err, errlen);
}

void cli_args_usage(FILE *f)
{
    char workloads[256], modes[128], guards[128], heaps[128];

    cli_workload_names(workloads, sizeof workloads);
    cli_names_join(&mode_names, modes, sizeof modes);
    cli_names_join(&guard_names, guards, sizeof guards);
    cli_names_join(&heap_names, heaps, sizeof heaps);
    fprintf(f,
            "Usage: gil-lab run [OPTIONS]\n"
            "\n"
            "Measure one workload over the cross product of modes x guards x allocators x\n"
            "worker counts; one row per combination (single ignores -j and runs first: it\n"
            "is the baseline of every speedup). Prints a table, writes results.csv,\n"
            "results.json and chart.png/.svg into the output folder.\n"
            "\n"
            "What runs:\n"
            "  -w, --workload NAME      %s (default countdown)\n"
            "  -m, --mode LIST          %s\n"
            "                           (default single,threads,pool,processes)\n"
            "  -g, --guard LIST         %s (default gil)\n"
            "  -a, --allocator LIST     %s\n"
            "                           (default: each guard's own, see gil-lab list)\n"
            "  -j, --workers LIST       worker counts, 1 to %d (default 2; convoy: 1 +\n"
            "                           -P cpu_threads, no -j)\n"
            "  -n, --size N             total iterations, split over the workers (default:\n"
            "                           the workload's; io: blocking calls, convoy: ms of\n"
            "                           client traffic); 50M, 2e6, 50_000_000, 1k, 1G\n"
            "  -P, --param NAME=V       a workload parameter, one -P per parameter (see\n"
            "                           `gil-lab list`)\n"
            "\n"
            "How it is measured:\n"
            "  -r, --repeat R           timed runs per row, 1 to %d (default 5)\n"
            "      --warmup W           untimed runs before them, 0 to %d (default 1)\n"
            "      --switch-interval US GIL switch interval in microseconds, 1 to %u\n"
            "                           (default %u, as sys.getswitchinterval() = 0.005)\n"
            "      --check-interval N   gil-old: ticks between releases, 1 to %d (default %d,\n"
            "                           as sys.getcheckinterval() before 3.2)\n"
            "      --pin none|cores     bind worker i to core i mod cores (default none)\n"
            "      --no-immortal        count references on small ints and singletons too\n"
            "                           (before PEP 683)\n"
            "      --gc on|off          the cycle collector (default on); off leaks cycles,\n"
            "                           reported at the end of each run\n"
            "      --gc-thresholds T    T0,T1,T2 as gc.set_threshold, or 3.12 (700,10,10)\n"
            "                           or 3.13 (2000,10,10); default: the modelled\n"
            "                           build's, 3.12 under none/gil, 3.13 under\n"
            "                           atomic/biased (stop-the-world, no generations)\n"
            "      --tracemalloc        trace requested bytes as tracemalloc does: each\n"
            "                           row's peak (a lock and a table update per\n"
            "                           allocation, so its times are slower)\n"
            "      --pss                Pss of every process of the run, added up at its\n"
            "                           end (forked rows: read inside the timed region)\n"
            "      --memory-trace       sample memory over time (RSS of every process,\n"
            "                           traced heap bytes, collections): memory.csv and\n"
            "                           the memory chart, like mprof run / mprof plot\n"
            "      --sample-interval MS its interval, 1 to 1000 ms (default 5)\n"
            "      --interleave         run the rows' repeats round-robin (row 1 repeat 1,\n"
            "                           row 2 repeat 1, ...) so that drift in the machine's\n"
            "                           speed hits every row alike; rows then all finish\n"
            "                           at the end, so an interrupted sweep keeps none\n"
            "\n"
            "Output:\n"
            "  -o, --output DIR         results folder, created if needed; locked while a\n"
            "                           run writes it, so a second run into it stops at once\n"
            "                           (default: a new ./results/<date>-<time>-<workload>)\n"
            "      --format F           table, csv or json: what goes to stdout (default\n"
            "                           table); the files are written in every format, and\n"
            "                           notes and progress go to stderr\n"
            "      --no-plot            do not run gnuplot (an earlier run's chart in the\n"
            "                           folder is removed all the same)\n"
            "      --trace[=EVENTS]     record the GIL's events per thread (default %d\n"
            "                           each) and write trace-N.json (Chrome Trace Event\n"
            "                           format: Perfetto, chrome://tracing) and the\n"
            "                           timeline chart timeline-N.png/.svg for row N, from\n"
            "                           its first timed repeat; threads of the repeat\n"
            "                           process only (forked workers have their own GIL)\n"
            "      --trace-window [FROM:]MS  the span the timeline shows, in ms from the\n"
            "                           start of the repeat (default 0:%d)\n"
            "  -h, --help               this help\n"
            "\n"
            "An option given twice takes its last value, and every value given is checked:\n"
            "  gil-lab run -n 50M -r 5 -n 2000 -r 1     runs -n 2000 -r 1\n"
            "\n"
            "Exit status: 0 done; 1 a run failed, a file or the chart could not be written,\n"
            "or stdout was closed; 2 bad usage or a folder in use (nothing ran); 130\n"
            "interrupted. After 1 and 130 the files keep every finished row.\n",
            workloads, modes, guards, heaps, RUN_MAX_WORKERS, CLI_MAX_REPEATS, CLI_MAX_WARMUP,
            RUN_MAX_SWITCH_US, GIL_DEFAULT_INTERVAL_US, RUN_MAX_CHECK_INTERVAL,
            GIL_OLD_DEFAULT_CHECK_INTERVAL, CLI_DEFAULT_TRACE_EVENTS, CLI_DEFAULT_TRACE_WINDOW_MS);
}

const cli_names_t *cli_guard_names(void)
{
    return &guard_names;
}

const cli_names_t *cli_heap_names(void)
{
    return &heap_names;
}
