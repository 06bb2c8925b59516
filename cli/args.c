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
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/parse.h"
#include "gil/gil.h"
#include "report/report.h"

enum {
    OPT_WARMUP = 256, OPT_SWITCH, OPT_PIN, OPT_NO_IMMORTAL, OPT_FORMAT, OPT_NO_PLOT,
    OPT_INTERLEAVE, OPT_SEQUENTIAL, OPT_BASELINE, OPT_SCALING, OPT_MIN_TIME, OPT_RESUME,
    OPT_MARKDOWN, OPT_GC, OPT_GC_THRESHOLDS, OPT_GC_FREEZE, OPT_TRACEMALLOC, OPT_PSS, OPT_MEMORY_TRACE,
    OPT_SAMPLE_INTERVAL, OPT_CHECK, OPT_TRACE, OPT_TRACE_WINDOW,
};

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
    {"gc-freeze", no_argument, NULL, OPT_GC_FREEZE},
    {"tracemalloc", no_argument, NULL, OPT_TRACEMALLOC},
    {"pss", no_argument, NULL, OPT_PSS},
    {"memory-trace", no_argument, NULL, OPT_MEMORY_TRACE},
    {"sample-interval", required_argument, NULL, OPT_SAMPLE_INTERVAL},
    {"output", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"no-plot", no_argument, NULL, OPT_NO_PLOT},
    {"interleave", no_argument, NULL, OPT_INTERLEAVE},
    {"sequential", no_argument, NULL, OPT_SEQUENTIAL},
    {"baseline", required_argument, NULL, OPT_BASELINE},
    {"scaling", required_argument, NULL, OPT_SCALING},
    {"min-time", required_argument, NULL, OPT_MIN_TIME},
    {"resume", required_argument, NULL, OPT_RESUME},
    {"export-markdown", required_argument, NULL, OPT_MARKDOWN},
    {"check-interval", required_argument, NULL, OPT_CHECK},
    {"trace", optional_argument, NULL, OPT_TRACE},
    {"trace-window", required_argument, NULL, OPT_TRACE_WINDOW},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *const format_list[] = {"table", "csv", "json"};
static const char *const scaling_list[] = {"strong", "weak"};

static const char *workload_at(int i) { return wl_at((size_t)i)->name; }
static const char *mode_at(int i) { return run_mode_name((run_mode_t)i); }
static const char *guard_at(int i) { return guard_name((guard_kind_t)i); }
static const char *heap_at(int i) { return heap_kind_name((heap_kind_t)i); }
static const char *pin_at(int i) { return rep_pin_name((run_pin_t)i); }
static const char *format_at(int i) { return format_list[i]; }
static const char *scaling_at(int i) { return scaling_list[i]; }

static const cli_names_t mode_names = {"mode", RUN_MODE_COUNT, mode_at};
static const cli_names_t guard_names = {"guard", GUARD_COUNT, guard_at};
static const cli_names_t heap_names = {"allocator", HEAP_COUNT, heap_at};
static const cli_names_t pin_names = {"pinning", RUN_PIN_CORES + 1, pin_at};
static const char *onoff_at(int i) { return i == 0 ? "on" : "off"; }
static const cli_names_t onoff_names = {"setting", 2, onoff_at};
static const cli_names_t format_names = {"format", 3, format_at};
static const cli_names_t scaling_names = {"scaling", 2, scaling_at};

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
    a->workloads[0] = wl_find("countdown") ? wl_find("countdown") : wl_at(0);
    a->nworkloads = 1;
    for (size_t k = 0; k < sizeof default_modes / sizeof default_modes[0]; k++)
        a->modes[a->nmodes++] = default_modes[k];
    a->guards[a->nguards++] = GUARD_gil;
    a->workers[a->nworkers++] = 2;
    a->repeats = 5;
    a->warmup = 1;
    a->switch_us[a->nswitch++] = GIL_DEFAULT_INTERVAL_US;
    a->gc_off[a->ngc++] = 0;   /* on */
    a->trace_len_ms = CLI_DEFAULT_TRACE_WINDOW_MS;
    a->pin = RUN_PIN_NONE;
    a->immortal = true;
    a->format = CLI_FORMAT_TABLE;
    a->plot = true;
    a->setup = rep_setup_default();
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

typedef struct bounds_arg {
    const cli_run_args_t *a;
    int64_t *out;
    const char *param;      /* NULL: the size */
    char *err;
    size_t errlen;
} bounds_arg_t;

/* One item of -n or of a -P list, checked against every workload it
 * applies to. */
static int bounded_item(const char *text, int index, void *arg)
{
    bounds_arg_t *b = arg;
    int64_t v;
    const wl_param_t *named = NULL;   /* a parameter with named values */

    for (int w = 0; b->param && named == NULL && w < b->a->nworkloads; w++) {
        int p = wl_param_find(b->a->workloads[w], b->param);
        if (p >= 0 && b->a->workloads[w]->params[p].choices != NULL)
            named = &b->a->workloads[w]->params[p];
    }
    if (named != NULL) {
        if ((v = wl_param_choice(named, text)) < 0) {
            char choices[160];
            wl_param_choices(named, choices, sizeof choices);
            snprintf(b->err, b->errlen, "'%s' is not one of %s", text, choices);
            return -1;
        }
    } else if (cli_parse_int(text, &v, b->err, b->errlen) < 0) {
        return -1;
    }
    for (int w = 0; w < b->a->nworkloads; w++) {
        const workload_t *wl = b->a->workloads[w];
        int p = b->param ? wl_param_find(wl, b->param) : -1;
        int64_t min = b->param ? (p >= 0 ? wl->params[p].min : INT64_MIN)
                               : wl->min_size > 1 ? wl->min_size : 1;
        int64_t max = b->param ? (p >= 0 ? wl->params[p].max : INT64_MAX) : wl->max_size;
        if (v < min || v > max) {
            snprintf(b->err, b->errlen, "'%s' is out of range (%lld to %lld%s%s)", text,
                     (long long)min, (long long)max, b->a->nworkloads > 1 ? " for " : "",
                     b->a->nworkloads > 1 ? wl->name : "");
            return -1;
        }
    }
    for (int k = 0; k < index; k++) {
        if (b->out[k] == v) {
            snprintf(b->err, b->errlen, "'%s' given twice", text);
            return -1;
        }
    }
    b->out[index] = v;
    return 0;
}

/* -n LIST into a->sizes. 0, or -1 with err set. */
static int size_list(cli_run_args_t *a, const char *arg, char *err, size_t errlen)
{
    char why[384];
    bounds_arg_t b = {a, a->sizes, NULL, why, sizeof why};
    int n = cli_parse_list(arg, CLI_MAX_LIST, bounded_item, &b, why, sizeof why);

    if (n < 0)
        return fail(err, errlen, "-n/--size", why);
    a->nsizes = n;
    return 0;
}

/* -P NAME=LIST: NAME must be a parameter of one of the workloads; every
 * value is checked against each of them. 0, or -1 with err set. */
static int param_list(cli_run_args_t *a, const char *arg, char *err, size_t errlen)
{
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : 0;
    cli_param_list_t list = {.nvalues = 0};
    char why[512], option[96];
    bool known = false;
    int slot;

    if (!eq || len == 0 || len >= sizeof list.name) {
        snprintf(why, sizeof why, "expected NAME=VALUE[,VALUE...], got '%s'", arg);
        return fail(err, errlen, "-P/--param", why);
    }
    memcpy(list.name, arg, len);
    list.name[len] = '\0';
    for (int w = 0; w < a->nworkloads; w++)
        known |= wl_param_find(a->workloads[w], list.name) >= 0;
    if (!known) {
        /* the single-workload message names the valid parameters */
        int64_t scratch[WL_MAX_PARAMS];
        char one[96];
        snprintf(one, sizeof one, "%s=0", list.name);
        if (a->nworkloads == 1)
            return cli_param_apply(a->workloads[0], one, scratch, err, errlen);
        snprintf(why, sizeof why, "unknown parameter '%s': none of the workloads has it",
                 list.name);
        return fail(err, errlen, "-P/--param", why);
    }
    bounds_arg_t b = {a, list.values, list.name, why, sizeof why};
    list.nvalues = cli_parse_list(eq + 1, CLI_MAX_LIST, bounded_item, &b, why, sizeof why);
    if (list.nvalues < 0) {
        snprintf(option, sizeof option, "-P %s", list.name);
        return fail(err, errlen, option, why);
    }
    for (slot = 0; slot < a->nparams; slot++)
        if (strcmp(a->params[slot].name, list.name) == 0)
            break;
    if (slot == CLI_MAX_PARAM_NAMES)
        return fail(err, errlen, "-P/--param", "too many parameters");
    a->params[slot] = list;
    if (slot == a->nparams)
        a->nparams++;
    return 0;
}

typedef struct switch_arg {
    uint64_t *out;
    char *err;
    size_t errlen;
} switch_arg_t;

static int switch_item(const char *text, int index, void *arg)
{
    switch_arg_t *s = arg;
    int64_t v;

    if (cli_parse_int_range(text, 1, RUN_MAX_SWITCH_US, &v, s->err, s->errlen) < 0)
        return -1;
    for (int k = 0; k < index; k++) {
        if (s->out[k] == (uint64_t)v) {
            snprintf(s->err, s->errlen, "'%s' given twice", text);
            return -1;
        }
    }
    s->out[index] = (uint64_t)v;
    return 0;
}

/* --min-time S: seconds, decimal, above 0. */
static int seconds_option(const char *s, double *out, char *err, size_t errlen)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (!*s || *end || errno || !(v > 0.0) || v > CLI_MAX_MIN_TIME_S || isspace((unsigned char)*s)) {
        char why[160];
        snprintf(why, sizeof why, "'%s' is not a number of seconds above 0 and at most %d", s,
                 CLI_MAX_MIN_TIME_S);
        return fail(err, errlen, "--min-time", why);
    }
    *out = v;
    return 0;
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
    char why[384];

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
        for (int w = 0; w < a->nworkloads; w++) {
            const workload_t *wl = a->workloads[w];
            if (wl->build_background != NULL) {
                snprintf(why, sizeof why, "%s has one server and -P %s CPU-bound workers; -j does not apply",
                         wl->name, wl->params[wl->background_param].name);
                return fail(err, errlen, "-j/--workers", why);
            }
        }
        a->workers_given = true;
        a->nworkers = cli_parse_int_list(arg, 1, RUN_MAX_WORKERS, a->workers,
                                         CLI_MAX_WORKER_COUNTS, why, sizeof why);
        return a->nworkers < 0 ? fail(err, errlen, "-j/--workers", why) : 0;
    case 'n':   /* -n and --min-time both choose the size: the last counts */
        a->min_time_s = 0;
        return size_list(a, arg, err, errlen);
    case 'P':
        return param_list(a, arg, err, errlen);
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
    case OPT_SWITCH: {
        switch_arg_t sa = {a->switch_us, why, sizeof why};
        k = cli_parse_list(arg, CLI_MAX_LIST, switch_item, &sa, why, sizeof why);
        if (k < 0)
            return fail(err, errlen, "--switch-interval", why);
        a->nswitch = k;
        return 0;
    }
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
        a->ngc = name_list(arg, &onoff_names, a->gc_off, 2, "--gc", err, errlen);
        return a->ngc < 0 ? -1 : 0;
    case OPT_GC_THRESHOLDS:
        return gc_thresholds_option(arg, &a->gc, err, errlen);
    case OPT_GC_FREEZE:
        a->gc.freeze = true;
        return 0;
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
        a->sequential = false;
        return 0;
    case OPT_SEQUENTIAL:
        a->sequential = true;
        return 0;
    case OPT_BASELINE:
        if (rep_baseline_parse(arg, &a->setup.baseline, why, sizeof why) < 0)
            return fail(err, errlen, "--baseline", why);
        a->baseline_given = true;
        return 0;
    case OPT_SCALING:
        if ((k = one_name(arg, &scaling_names, "--scaling", err, errlen)) < 0)
            return -1;
        a->setup.scaling = (rep_scaling_t)k;
        return 0;
    case OPT_MIN_TIME:
        a->nsizes = 0;
        return seconds_option(arg, &a->min_time_s, err, errlen);
    case OPT_RESUME:
        if (!arg[0])
            return fail(err, errlen, "--resume", "empty folder name");
        a->resume = arg;
        return 0;
    case OPT_MARKDOWN:
        if (!arg[0])
            return fail(err, errlen, "--export-markdown", "empty file name");
        a->markdown = arg;
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
        case 'w': {
            int idx[16];
            if ((k = name_list(optarg, &wl_names, idx, 16, "-w/--workload", err, errlen)) < 0)
                return -1;
            for (int w = 0; w < k; w++)
                a->workloads[w] = wl_at((size_t)idx[w]);
            a->nworkloads = k;
            break;
        }
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
    rc = scan(argc, argv, a, false, err, errlen);
    if (rc != 0)
        return rc;
    if (a->sample_interval_us != 0 && !a->memory_trace)
        return fail(err, errlen, "--sample-interval", "it sets the interval of --memory-trace, which is not on");
    if (a->resume && a->output && strcmp(a->resume, a->output) != 0)
        return fail(err, errlen, "--resume",
                    "it writes into the folder it resumes: drop -o or give the same folder");
    if (a->resume)
        a->output = a->resume;
    return 0;
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
            "Measure the cross product of every list below: workloads x sizes x parameter\n"
            "values x switch intervals x guards x allocators x modes x worker counts; one\n"
            "row per combination (single ignores -j and runs first: it is the default\n"
            "baseline of every speedup). Prints a table, writes results.csv, results.json\n"
            "and the charts into the output folder.\n"
            "\n"
            "What runs (every option takes a comma list):\n"
            "  -w, --workload LIST      %s (default countdown)\n"
            "  -m, --mode LIST          %s\n"
            "                           (default single,threads,pool,processes)\n"
            "  -g, --guard LIST         %s (default gil)\n"
            "  -a, --allocator LIST     %s\n"
            "                           (default: each guard's own, see gil-lab list)\n"
            "  -j, --workers LIST       worker counts, 1 to %d (default 2; convoy: 1 +\n"
            "                           -P cpu_threads, no -j)\n"
            "  -n, --size LIST          iterations (default: each workload's; io: blocking\n"
            "                           calls, convoy: ms of client traffic); 50M, 2e6,\n"
            "                           50_000_000, 1k, 1G; split over the workers, or each\n"
            "                           worker's own with --scaling weak\n"
            "  -P, --param NAME=LIST    a workload parameter's values, one -P per parameter\n"
            "                           (see `gil-lab list`); applies to the workloads that\n"
            "                           have it\n"
            "      --switch-interval LIST  GIL switch intervals in microseconds, 1 to %u\n"
            "                           (default %u, as sys.getswitchinterval() = 0.005)\n"
            "      --scaling strong|weak  strong: the size is the total work (default);\n"
            "                           weak: every worker does the size, and the speedup is\n"
            "                           the efficiency T(single) / T(row)\n"
            "      --min-time S         choose each workload's size so that its single row\n"
            "                           takes at least S seconds (a short trial first);\n"
            "                           of -n and --min-time, the one given last counts\n"
            "\n"
            "How it is measured:\n"
            "  -r, --repeat R           timed runs per row, 1 to %d (default 5)\n"
            "      --warmup W           untimed runs before them, 0 to %d (default 1)\n"
            "      --sequential         run each row's repeats together, row after row; the\n"
            "                           default interleaves them (row 1 repeat 1, row 2\n"
            "                           repeat 1, ...) so that drift in the machine's speed\n"
            "                           hits every row alike (--interleave: the default)\n"
            "      --baseline ROW       what speedups are against: mode, guard, allocator,\n"
            "                           workload or j:N joined by '/' (default single, the\n"
            "                           same guard's); e.g. single/gil\n"
            "      --check-interval N   gil-old: ticks between releases, 1 to %d (default %d,\n"
            "                           as sys.getcheckinterval() before 3.2)\n"
            "      --pin none|cores     bind worker i to core i mod cores (default none)\n"
            "      --no-immortal        count references on small ints and singletons too\n"
            "                           (before PEP 683)\n"
            "      --gc LIST            the cycle collector: on, off or on,off (default on);\n"
            "                           off leaks cycles, reported at the end of each run\n"
            "      --gc-thresholds T    T0,T1,T2 as gc.set_threshold, or 3.12 (700,10,10)\n"
            "                           or 3.13 (2000,10,10); default: the modelled\n"
            "                           build's, 3.12 under none/gil, 3.13 under\n"
            "                           atomic/biased (stop-the-world, no generations)\n"
            "      --gc-freeze          gc.freeze() after the workload's setup, before the\n"
            "                           timer: what setup built (shared's list, cow's)\n"
            "                           is never examined again; the other workloads\n"
            "                           build nothing before the timer\n"
            "      --tracemalloc        trace requested bytes as tracemalloc does: each\n"
            "                           row's peak (a lock and a table update per\n"
            "                           allocation, so its times are slower)\n"
            "      --pss                Pss of every process of the run, added up at its\n"
            "                           end (forked rows: read inside the timed region)\n"
            "      --memory-trace       sample memory over time (RSS of every process,\n"
            "                           traced heap bytes, collections): memory.csv and\n"
            "                           the memory chart, like mprof run / mprof plot\n"
            "      --sample-interval MS its interval, 1 to 1000 ms (default 5)\n"
            "\n"
            "Output:\n"
            "  -o, --output DIR         results folder, created if needed; locked while a\n"
            "                           run writes it, so a second run into it stops at once\n"
            "                           (default: a new ./results/<date>-<time>-<workload>)\n"
            "      --resume DIR         run into DIR, keeping the rows it already holds (they\n"
            "                           must be rows of this sweep) instead of running them\n"
            "      --format F           table, csv or json: what goes to stdout (default\n"
            "                           table); the files are written in every format, and\n"
            "                           notes and progress go to stderr\n"
            "      --export-markdown FILE  the summary as a Markdown table\n"
            "      --no-plot            do not run gnuplot (an earlier run's charts in the\n"
            "                           folder are removed all the same)\n"
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
            "A scaling run:\n"
            "  gil-lab run -m threads,processes -g gil,atomic,biased -j 1,2,4\n"
            "\n"
            "Exit status: 0 done; 1 a run failed, a file or the chart could not be written,\n"
            "or stdout was closed; 2 bad usage or a folder in use (nothing ran); 130\n"
            "interrupted (after the current row, or the current round when interleaved).\n"
            "After 1 and 130 the files keep every row that has all its repeats.\n",
            workloads, modes, guards, heaps, RUN_MAX_WORKERS, RUN_MAX_SWITCH_US,
            GIL_DEFAULT_INTERVAL_US, CLI_MAX_REPEATS, CLI_MAX_WARMUP, RUN_MAX_CHECK_INTERVAL,
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
