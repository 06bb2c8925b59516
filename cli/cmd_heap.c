/* cli/cmd_heap.c: `gil-lab heap`, a small allocation story told by the
 * pymalloc model's arena/pool map and its size-class table (as
 * sys._debugmallocstats prints them), and, with --picture, drawn as one
 * picture with a panel per step (plots/heapmap.h).
 *
 *   gil-lab heap [-n OBJECTS] [--arena-size BYTES] [--pool-size BYTES]
 *                [--picture FILE.png|FILE.svg]
 *
 * The story follows the seed notes (000, 003, 004): ints of 28 bytes
 * (sys.getsizeof) fill 32-byte blocks in 16 KiB pools inside 1 MiB arenas;
 * freeing every other one leaves pools "used" with holes on their free
 * lists; new ints reuse those holes first (LIFO); freeing everything
 * empties the pools and gives arenas back to the operating system (all but
 * one, which pymalloc keeps). Its geometry options take byte sizes with
 * binary suffixes (256k = 262144) and are checked against pymalloc's rules
 * here, so that a bad size names its option and the rule it breaks.
 *
 * Every option is checked before the story runs, --picture included: its
 * extension picks the format and its folder must exist, so that a typo
 * costs a usage error, not the story. The text view is always printed; the
 * picture is drawn at the end (one scale for every panel), written whole
 * or not at all.
 */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/parse.h"
#include "lab/interp.h"
#include "lab/sizes.h"
#include "plots/gnuplot.h"
#include "plots/heapmap.h"
#include "report/report.h"

/* Where --picture goes: its folder, opened once, and its name in it. */
typedef struct picture {
    const char *path;      /* as given; NULL: no picture */
    rep_outdir_t dir;
    char name[256];
    heapmap_t *map;
} picture_t;

/* One step of the story: its text view, and its panel of the picture
 * (`caption`, shorter than the text's title). Returns 0, or -1 when the
 * picture cannot take the panel (out of memory). */
static int heap_show(interp_t *interp, picture_t *pic, const char *title, const char *caption)
{
    printf("\n=== %s (blocks in use: %lld)\n\n", title, (long long)heap_allocated_blocks(&interp->heap));
    pym_print_map(interp->heap.pym, stdout);
    putchar('\n');
    pym_print_classes(interp->heap.pym, stdout);
    return pic->map ? heapmap_add(pic->map, interp->heap.pym, caption) : 0;
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

static int heap_story(const pym_config_t *geometry, int64_t count, picture_t *pic)
{
    interp_config_t cfg = {.guard = GUARD_gil, .allocator = HEAP_pymalloc, .immortal = true,
                           .pymalloc = *geometry};
    interp_t interp;
    char err[160], title[160];
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
    snprintf(title, sizeof title, "x = [i for i in range(1000, %lld)]: %lld ints, sys.getsizeof %zu "
             "bytes, in %zu-byte blocks", (long long)(1000 + count), (long long)count,
             sizes_int(interp.layout, 1000), pym_class_size(sizes_int_alloc(interp.layout, 1000)));
    printf("%s\n", title);
    if (pic->path && (pic->map = heapmap_new(title)) == NULL)
        goto oom;
    if (heap_show(&interp, pic, "1. after building the list", "1. the list built") < 0)
        goto oom;

    heap_punch_holes(ts, list);
    if (heap_show(&interp, pic, "2. after x[1::2] = [None] * ...: every other int freed, pools full of holes",
                  "2. x[1::2] = [None] * ...: every other int freed") < 0)
        goto oom;

    if (heap_fill(ts, list, 1000000, count / 2) < 0)
        goto fail;
    if (heap_show(&interp, pic, "3. after appending count/2 new ints: the holes are reused first",
                  "3. count/2 new ints appended: the holes reused first") < 0)
        goto oom;

    pym_stats_t before, after;
    char text[200], caption[120];
    pym_get_stats(interp.heap.pym, &before);
    ops->decref(ts, list);
    list = NULL;
    pym_get_stats(interp.heap.pym, &after);
    snprintf(caption, sizeof caption, "4. del x: %llu of %llu arenas returned to the OS",
             (unsigned long long)(before.arenas_current - after.arenas_current),
             (unsigned long long)before.arenas_current);
    snprintf(text, sizeof text, "4. after del x: %llu of %llu arenas returned to the OS (pymalloc "
             "keeps one wholly free arena, and cannot return one that still holds a block)",
             (unsigned long long)(before.arenas_current - after.arenas_current),
             (unsigned long long)before.arenas_current);
    if (heap_show(&interp, pic, text, caption) < 0)
        goto oom;
    rc = CLI_EXIT_OK;
    goto done;
oom:
    snprintf(ts->error, sizeof ts->error, "out of memory for the picture");
fail:
    cli_error("%s", ts->error);
done:
    if (list != NULL)
        ops->decref(ts, list);
    ops->detach(ts);
    tstate_delete(ts);
    interp_destroy(&interp);
    return rc;
}

/* --picture FILE: a .png or .svg in a folder that exists. Returns 0 with
 * pic's folder open, or -1 after cli_error. */
static int picture_open(picture_t *pic, const char *path)
{
    char dir_buf[4096], base_buf[4096], err[512];
    const char *base;

    if (path[0] == '\0') {
        cli_error("--picture: empty file name (see gil-lab heap --help)");
        return -1;
    }
    if (snprintf(dir_buf, sizeof dir_buf, "%s", path) >= (int)sizeof dir_buf) {
        cli_error("--picture: the path is too long");
        return -1;
    }
    snprintf(base_buf, sizeof base_buf, "%s", path);
    base = basename(base_buf);
    if (path[strlen(path) - 1] == '/' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0 ||
        gp_format_of(base) == NULL) {
        cli_error("--picture: '%s' must be a file name ending in .png or .svg", path);
        return -1;
    }
    if (snprintf(pic->name, sizeof pic->name, "%s", base) >= (int)sizeof pic->name) {
        cli_error("--picture: the file name is too long");
        return -1;
    }
    if (rep_outdir_open_existing(&pic->dir, dirname(dir_buf), err, sizeof err) < 0) {
        cli_error("--picture: %s", err);
        return -1;
    }
    pic->path = path;
    return 0;
}

/* Draw the picture the story collected. Returns the exit status. */
static int picture_draw(picture_t *pic)
{
    char err[640];
    plot_status_t status = heapmap_draw(pic->map, &pic->dir, pic->name, err, sizeof err);

    if (status != PLOT_DRAWN) {
        cli_error("picture not drawn: %s (the text view above is complete)", err);
        return CLI_EXIT_FAILED;
    }
    printf("\nPicture: %s\n", pic->path);
    return CLI_EXIT_OK;
}

static const char heap_help[] =
    "Usage: gil-lab heap [-n OBJECTS] [--arena-size BYTES] [--pool-size BYTES]\n"
    "                    [--picture FILE]\n"
    "\n"
    "Tell an allocation story with the pymalloc model and print, after each\n"
    "step, the arena/pool map and the size-class table:\n"
    "  1. build a list of OBJECTS ints (default 50000, 2 to 10M)\n"
    "  2. free every other int: pools keep holes on their free lists\n"
    "  3. append OBJECTS/2 new ints: freed blocks are reused first\n"
    "  4. free everything: empty arenas go back to the OS, but for one spare\n"
    "\n"
    "  -n, --objects N      the ints of step 1\n"
    "      --arena-size B   arena size (default 1M)\n"
    "      --pool-size B    pool size (default 16k)\n"
    "      --picture FILE   also draw the four maps as one picture, FILE ending in\n"
    "                       .png or .svg, in a folder that exists: a panel per step,\n"
    "                       each pool coloured by the share of its blocks in use\n"
    "                       (needs gnuplot)\n"
    "  -h, --help           this help\n"
    "\n"
    "Geometry defaults to CPython 3.10+: 1 MiB arenas, 16 KiB pools. Sizes are\n"
    "bytes with binary suffixes (4k = 4KiB = 4096, 1M = 1MiB), powers of two:\n"
    "pools of at least 4 KiB, arenas of at most 64 MiB and at least one pool\n"
    "(and a multiple of the page size). The seed notes' older geometry:\n"
    "  gil-lab heap --arena-size 256k --pool-size 4k\n"
    "The story as a picture, with enough ints to fill ten arenas:\n"
    "  gil-lab heap -n 300000 --picture heap.svg\n"
    "An option given twice takes its last value; every value is checked.\n"
    "Exit status: 0 done; 1 the story or the picture failed (the text view is\n"
    "printed all the same); 2 bad options (nothing ran).\n";

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
    enum { OPT_PICTURE = 256 };
    static const struct option options[] = {
        {"objects", required_argument, NULL, 'n'},
        {"arena-size", required_argument, NULL, 'A'},
        {"pool-size", required_argument, NULL, 'S'},
        {"picture", required_argument, NULL, OPT_PICTURE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    pym_config_t geometry = {0, 0};
    picture_t pic = {.dir = {.fd = -1, .lock_fd = -1}};
    const char *picture = NULL;
    int64_t count = 50000;
    int opt, rc;

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
        case OPT_PICTURE:
            picture = optarg;
            break;
        case 'h':
            fputs(heap_help, stdout);
            return CLI_EXIT_OK;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (cli_no_operands(argc, argv) < 0)
        return CLI_EXIT_USAGE;
    if (check_geometry(&geometry) < 0 || (picture && picture_open(&pic, picture) < 0))
        return CLI_EXIT_USAGE;
    rc = heap_story(&geometry, count, &pic);
    if (rc == CLI_EXIT_OK && pic.map)
        rc = picture_draw(&pic);
    heapmap_free(pic.map);
    rep_outdir_close(&pic.dir, false);
    return rc;
}
