/* cli/cmd_lab.c: the two teaching views of the lab's own machinery.
 *
 *   gil-lab dis [-P NAME=V]... [WORKLOAD...]   the bytecode a workload runs,
 *                                             like dis.dis
 *   gil-lab heap [options]      a small allocation story told by the
 *                               pymalloc model's arena/pool map and its
 *                               size-class table (sys._debugmallocstats)
 *
 * `dis` shows exactly the code `run` executes: the same -P parameters, and
 * a source text in which each parameter's name is replaced by its value,
 * since the bytecode loads the value as a constant (`x = L[n % 64]` above
 * LOAD_CONST 64); a listing that says `length` above a constant would
 * describe code that does not run.
 *
 * The heap story follows the seed notes (000, 003, 004): ints fill 48-byte
 * blocks in 16 KiB pools inside 1 MiB arenas; freeing every other one leaves
 * pools "used" with holes on their free lists; new ints reuse those holes
 * first (LIFO); freeing everything empties the pools and gives arenas back
 * to the operating system. Its geometry options take byte sizes with binary
 * suffixes (256k = 262144) and are checked against pymalloc's rules here, so
 * that a bad size names its option and the rule it breaks.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/parse.h"
#include "lab/code.h"
#include "lab/interp.h"
#include "lab/sizes.h"
#include "report/report.h"
#include "workloads/workload.h"

static const char dis_help[] =
    "Usage: gil-lab dis [-P NAME=V]... [WORKLOAD...]\n"
    "\n"
    "Print the bytecode of each workload (all when none is named), as Python's\n"
    "dis module would: offsets, jump targets (>>), opcodes and arguments.\n"
    "\n"
    "  -P, --param NAME=V   a workload parameter, as for gil-lab run (one -P per\n"
    "                       parameter, the last value counts); it must be a\n"
    "                       parameter of every workload shown\n"
    "  -h, --help           this help\n"
    "\n"
    "The source above each listing shows the parameters' values where the\n"
    "workload's Python names them, because that is what the code loads:\n"
    "  gil-lab dis countdown\n"
    "  gil-lab dis shared -P length=7\n";

/* src with every identifier that names one of wl's parameters replaced by
 * its value, into buf. Cannot fail (truncates). */
static void source_with_values(const char *src, const workload_t *wl, const int64_t *params,
                               char *buf, size_t len)
{
    size_t used = 0;

    while (*src && used + 1 < len) {
        size_t n = 0;
        char name[64];
        int p = -1, w;

        if (isalpha((unsigned char)*src) || *src == '_')
            while (isalnum((unsigned char)src[n]) || src[n] == '_')
                n++;
        if (n > 0 && n < sizeof name) {
            memcpy(name, src, n);
            name[n] = '\0';
            p = wl_param_find(wl, name);
        }
        if (p >= 0)
            w = snprintf(buf + used, len - used, "%lld", (long long)params[p]);
        else
            w = snprintf(buf + used, len - used, "%.*s", n ? (int)n : 1, src);
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
        src += n ? n : 1;
    }
    buf[used] = '\0';
}

/* Print the code `build` makes for wl. Returns an exit status. */
static int dis_code(const workload_t *wl, int (*build)(code_t *, const int64_t *), const int64_t *params)
{
    code_t code;
    char err[160] = "", source[1024];

    if (build(&code, params) < 0 || code_check(&code, err, sizeof err) < 0) {
        cli_error("cannot build %s: %s", wl->name, err[0] ? err : "code too long");
        return CLI_EXIT_FAILED;
    }
    if (code.source) {
        source_with_values(code.source, wl, params, source, sizeof source);
        code.source = source;
    }
    code_dis(&code, stdout);
    return CLI_EXIT_OK;
}

/* Print one workload's code: worker 0's and, for a workload with a
 * background (convoy), what the other workers run. */
static int dis_one(const workload_t *wl, const int64_t *params)
{
    int rc = dis_code(wl, wl->build, params);
    if (rc == CLI_EXIT_OK && wl->build_background != NULL) {
        printf("\nWorkers 1..%s run, until worker 0 is done:\n",
               wl->params[wl->background_param].name);
        rc = dis_code(wl, wl->build_background, params);
    }
    return rc;
}

int cmd_dis(int argc, char **argv)
{
    static const struct option options[] = {
        {"param", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char **param_args = malloc((size_t)argc * sizeof *param_args);
    const workload_t **wls = malloc((wl_count() + (size_t)argc) * sizeof *wls);
    int64_t (*params)[WL_MAX_PARAMS] = malloc((wl_count() + (size_t)argc) * sizeof *params);
    int nparam_args = 0, nwls = 0, opt, status = CLI_EXIT_USAGE;
    char err[640];

    if (!param_args || !wls || !params) {
        cli_error("out of memory");
        status = CLI_EXIT_FAILED;
        goto out;
    }
    optind = 0;
    while ((opt = cli_getopt(argc, argv, ":P:h", options)) != -1) {
        if (opt == '?')
            goto out;
        if (opt == 'h') {
            fputs(dis_help, stdout);
            status = CLI_EXIT_OK;
            goto out;
        }
        param_args[nparam_args++] = optarg;
    }
    /* Every name and every -P is checked before anything is printed. */
    for (int i = optind; i < argc; i++) {
        wls[nwls] = wl_find(argv[i]);
        if (!wls[nwls]) {
            cli_workload_names(err, sizeof err);
            cli_error("unknown workload '%s' (valid: %s)", argv[i], err);
            goto out;
        }
        nwls++;
    }
    for (size_t i = 0; optind == argc && i < wl_count(); i++)
        wls[nwls++] = wl_at(i);
    for (int w = 0; w < nwls; w++) {
        cli_param_defaults(wls[w], params[w]);
        for (int k = 0; k < nparam_args; k++) {
            if (cli_param_apply(wls[w], param_args[k], params[w], err, sizeof err) < 0) {
                cli_error("%s", err);
                goto out;
            }
        }
    }
    status = CLI_EXIT_OK;
    for (int w = 0; w < nwls && status == CLI_EXIT_OK; w++) {
        if (w > 0)
            putchar('\n');
        status = dis_one(wls[w], params[w]);
    }
out:
    free(param_args);
    free(wls);
    free(params);
    return status;
}

static void heap_show(interp_t *interp, const char *title)
{
    printf("\n=== %s (blocks in use: %lld)\n\n", title, (long long)heap_allocated_blocks(&interp->heap));
    pym_print_map(interp->heap.pym, stdout);
    putchar('\n');
    pym_print_classes(interp->heap.pym, stdout);
}

/* Replace the odd items of `list` by None: every other int is freed. */
static void heap_punch_holes(tstate_t *ts, obj_t *list)
{
    const guard_ops_t *ops = ts->interp->ops;
    list_obj_t *l = (list_obj_t *)list;
    for (intptr_t i = 1; i < l->size; i += 2) {
        obj_t *old = l->items[i];
        ops->incref(ts, interp_none(ts->interp));
        l->items[i] = interp_none(ts->interp);
        ops->decref(ts, old);
    }
}

/* Append `count` fresh ints starting at `first` (outside the small-int
 * cache, so each is a block of its own). Returns 0, or -1 with ts->error. */
static int heap_fill(tstate_t *ts, obj_t *list, int64_t first, int64_t count)
{
    const guard_ops_t *ops = ts->interp->ops;
    for (int64_t i = 0; i < count; i++) {
        obj_t *o = ops->int_new(ts, first + i);
        if (o == NULL || ops->list_append(ts, list, o) < 0)
            return -1;
    }
    return 0;
}

static int heap_story(const pym_config_t *geometry, int64_t count)
{
    interp_config_t cfg = {.guard = GUARD_gil, .allocator = HEAP_pymalloc, .immortal = true,
                           .pymalloc = *geometry};
    interp_t interp;
    char err[160];
    if (interp_init(&interp, &cfg, err, sizeof(err)) < 0) {
        cli_error("%s", err);
        return CLI_EXIT_FAILED;
    }
    tstate_t *ts = tstate_new(&interp);
    if (ts == NULL) {
        cli_error("out of memory");
        interp_destroy(&interp);
        return CLI_EXIT_FAILED;
    }
    const guard_ops_t *ops = interp.ops;
    int rc = CLI_EXIT_FAILED;
    ops->attach(ts);
    obj_t *list = ops->list_new(ts, 0);
    if (list == NULL || heap_fill(ts, list, 1000, count) < 0)
        goto fail;
    printf("x = [i for i in range(1000, %lld)]   # %lld ints: sys.getsizeof %zu bytes -> "
           "%zu-byte blocks\n",
           (long long)(1000 + count), (long long)count, sizes_int(interp.layout, 1000),
           pym_class_size(sizes_int_alloc(interp.layout, 1000)));
    heap_show(&interp, "1. after building the list");

    heap_punch_holes(ts, list);
    heap_show(&interp, "2. after x[1::2] = [None] * ...: every other int freed, pools full of holes");

    if (heap_fill(ts, list, 1000000, count / 2) < 0)
        goto fail;
    heap_show(&interp, "3. after appending count/2 new ints: the holes are reused first");

    ops->decref(ts, list);
    list = NULL;
    heap_show(&interp, "4. after del x: pools empty, arenas returned to the OS (one is kept)");
    rc = CLI_EXIT_OK;
fail:
    if (rc != CLI_EXIT_OK)
        cli_error("%s", ts->error);
    if (list != NULL)
        ops->decref(ts, list);
    ops->detach(ts);
    tstate_delete(ts);
    interp_destroy(&interp);
    return rc;
}

static const char heap_help[] =
    "Usage: gil-lab heap [-n OBJECTS] [--arena-size BYTES] [--pool-size BYTES]\n"
    "\n"
    "Tell an allocation story with the pymalloc model and print, after each\n"
    "step, the arena/pool map and the size-class table:\n"
    "  1. build a list of OBJECTS ints (default 50000, 2 to 10M)\n"
    "  2. free every other int: pools keep holes on their free lists\n"
    "  3. append OBJECTS/2 new ints: freed blocks are reused first\n"
    "  4. free everything: empty arenas go back to the OS\n"
    "\n"
    "Geometry defaults to CPython 3.10+: 1 MiB arenas, 16 KiB pools. Sizes are\n"
    "bytes with binary suffixes (4k = 4KiB = 4096, 1M = 1MiB), powers of two:\n"
    "pools of at least 4 KiB, arenas of at most 64 MiB and at least one pool\n"
    "(and a multiple of the page size). The seed notes' older geometry:\n"
    "  gil-lab heap --arena-size 256k --pool-size 4k\n"
    "An option given twice takes its last value; every value is checked.\n";

static bool is_pow2(int64_t v)
{
    return v > 0 && (v & (v - 1)) == 0;
}

/* One --arena-size or --pool-size value: a power of two within pymalloc's
 * bounds. Returns 0, or -1 after cli_error. */
static int parse_geometry(const char *arg, const char *option, int64_t min, int64_t max,
                          size_t *out)
{
    char why[256], bound[32], given[32];
    int64_t v;

    if (cli_parse_bytes(arg, &v, why, sizeof why) < 0) {
        cli_error("%s: %s", option, why);
        return -1;
    }
    rep_fmt_bytes((double)v, given, sizeof given);
    if (!is_pow2(v)) {
        cli_error("%s: %s (%s) is not a power of two (e.g. 4k, 16k, 256k, 1M)", option, arg,
                  given);
        return -1;
    }
    if (v < min || v > max) {
        rep_fmt_bytes((double)(v < min ? min : max), bound, sizeof bound);
        cli_error("%s: %s is %s the %s of %s", option, given, v < min ? "below" : "above",
                  v < min ? "minimum" : "maximum", bound);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

/* The rules between the two sizes. Returns 0, or -1 after cli_error. */
static int check_geometry(pym_config_t *g)
{
    size_t arena = g->arena_size ? g->arena_size : PYM_DEFAULT_ARENA_SIZE;
    size_t pool = g->pool_size ? g->pool_size : PYM_DEFAULT_POOL_SIZE;
    long page = sysconf(_SC_PAGESIZE);
    char a[32], p[32];

    rep_fmt_bytes((double)arena, a, sizeof a);
    rep_fmt_bytes((double)pool, p, sizeof p);
    if (arena < pool) {
        cli_error("--arena-size: an arena of %s cannot hold a pool of %s (--pool-size): "
                  "the arena size must be a multiple of the pool size",
                  a, p);
        return -1;
    }
    if (page > 0 && arena % (size_t)page != 0) {
        rep_fmt_bytes((double)page, p, sizeof p);
        cli_error("--arena-size: %s is not a multiple of the page size (%s)", a, p);
        return -1;
    }
    return 0;
}

int cmd_heap(int argc, char **argv)
{
    static const struct option options[] = {
        {"objects", required_argument, NULL, 'n'},
        {"arena-size", required_argument, NULL, 'A'},
        {"pool-size", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    pym_config_t geometry = {0, 0};
    int64_t count = 50000;
    int opt;

    optind = 0;
    while ((opt = cli_getopt(argc, argv, ":n:h", options)) != -1) {
        switch (opt) {
        case 'n':
            if (cli_parse_count(optarg, "-n/--objects", 2, 10000000, &count) < 0)
                return CLI_EXIT_USAGE;
            break;
        case 'A':
            if (parse_geometry(optarg, "--arena-size", (int64_t)PYM_MIN_POOL_SIZE,
                               (int64_t)PYM_MAX_ARENA_SIZE, &geometry.arena_size) < 0)
                return CLI_EXIT_USAGE;
            break;
        case 'S':
            if (parse_geometry(optarg, "--pool-size", (int64_t)PYM_MIN_POOL_SIZE,
                               (int64_t)PYM_MAX_ARENA_SIZE, &geometry.pool_size) < 0)
                return CLI_EXIT_USAGE;
            break;
        case 'h':
            fputs(heap_help, stdout);
            return CLI_EXIT_OK;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("unexpected argument '%s' (see gil-lab heap --help)", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if (check_geometry(&geometry) < 0)
        return CLI_EXIT_USAGE;
    return heap_story(&geometry, count);
}
