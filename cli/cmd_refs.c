/* cli/cmd_refs.c: `gil-lab refs`, seed 002's notebook cells about
 * identity and reference counts, run by the lab's own interpreter.
 *
 *   gil-lab refs [-g GUARD] [-a ALLOCATOR] [--no-immortal]
 *
 * Four experiments, each a small function of straight-line Python that the
 * view compiles to the lab's bytecode and runs once:
 *
 *   1. sys.getrefcount before and after `b = a`, and after `b = None`
 *      (seed 002, In [6] and [7]);
 *   2. id() of small ints: x = 10; y = x; x += 1; z = 10 (In [1] to [5]),
 *      and the count of an immortal object (PEP 683);
 *   3. a computed int is a new object each time, and a freed block is the
 *      first one reused (pymalloc's LIFO free list);
 *   4. a constant is one object per code object, though not cached.
 *
 * Nothing is simulated: the numbers are the lab's objects' real refcounts
 * and addresses, read by two built-ins the code calls, id() and
 * sys.getrefcount() (lab/builtins.c), as CPython's are read by its own. Each
 * experiment is one table of steps (step_t) from which both the Python
 * text that is printed and the bytecode that runs are generated, so the two
 * cannot disagree. A print() leaves its value on the frame's stack; the
 * function returns them all in one list, which is how the view learns what
 * was "printed" without the lab having a print.
 *
 * Where CPython prints something else, the text says so and why: the small
 * ints' stride in their static array, the immortal refcount, what a
 * version without PEP 683 prints, what an allocator other than pymalloc
 * does with a freed block.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/parse.h"
#include "lab/code.h"
#include "lab/interp.h"
#include "lab/sizes.h"

typedef enum step_kind {
    STEP_NEW_LIST,   /* name = []                    */
    STEP_CONST,      /* name = value                 */
    STEP_NONE,       /* name = None                  */
    STEP_ALIAS,      /* name = other                 */
    STEP_COMPUTE,    /* name = n + value (at run time: n is the argument, 0) */
    STEP_IADD,       /* name += value                */
    STEP_PRINT_ID,   /* print(id(name))              */
    STEP_PRINT_RC,   /* print(sys.getrefcount(name)) */
} step_kind_t;

typedef struct step {
    step_kind_t kind;
    const char *name;
    const char *other;   /* STEP_ALIAS */
    int64_t value;
} step_t;

#define MAX_PRINTS 6   /* printed values wait on a stack of CODE_MAX_STACK */

typedef struct run_env {
    const interp_t *interp;   /* layout, allocator, immortal */
    int64_t printed[MAX_PRINTS];
    int nprinted;
} run_env_t;

typedef struct experiment {
    const char *title;
    const step_t *steps;
    int nsteps;
    /* Text beside print number i ("the same object"): into buf, or "". */
    void (*note)(const run_env_t *env, int i, char *buf, size_t len);
    /* What it shows, and what CPython prints where that differs. */
    void (*explain)(const run_env_t *env);
} experiment_t;

/* The globals every experiment's code object names, in this order. */
enum { GLOBAL_ID, GLOBAL_GETREFCOUNT };

/* ------------------------------------------------------------------------
 * From steps to Python text and to bytecode
 */

static void step_text(const step_t *s, char *buf, size_t len)
{
    switch (s->kind) {
    case STEP_NEW_LIST: snprintf(buf, len, "%s = []", s->name); break;
    case STEP_CONST: snprintf(buf, len, "%s = %lld", s->name, (long long)s->value); break;
    case STEP_NONE: snprintf(buf, len, "%s = None", s->name); break;
    case STEP_ALIAS: snprintf(buf, len, "%s = %s", s->name, s->other); break;
    case STEP_COMPUTE: snprintf(buf, len, "%s = n + %lld", s->name, (long long)s->value); break;
    case STEP_IADD: snprintf(buf, len, "%s += %lld", s->name, (long long)s->value); break;
    case STEP_PRINT_ID: snprintf(buf, len, "print(id(%s))", s->name); break;
    case STEP_PRINT_RC: snprintf(buf, len, "print(sys.getrefcount(%s))", s->name); break;
    }
}

/* A load of local `name`, or a store into it. */
static void emit_local(code_t *c, opcode_t op, const char *name)
{
    code_emit(c, op, code_local(c, name));
}

static void emit_step(code_t *c, const step_t *s)
{
    switch (s->kind) {
    case STEP_NEW_LIST:
        code_emit(c, OP_BUILD_LIST, 0);
        break;
    case STEP_CONST:
        code_emit(c, OP_LOAD_CONST, code_const(c, s->value));
        break;
    case STEP_NONE:
        code_emit(c, OP_LOAD_CONST, code_const(c, CODE_CONST_NONE));
        break;
    case STEP_ALIAS:
        emit_local(c, OP_LOAD_FAST, s->other);
        break;
    case STEP_COMPUTE:
    case STEP_IADD:
        emit_local(c, OP_LOAD_FAST, s->kind == STEP_COMPUTE ? "n" : s->name);
        code_emit(c, OP_LOAD_CONST, code_const(c, s->value));
        code_emit(c, OP_BINARY_OP, s->kind == STEP_COMPUTE ? BINOP_ADD : BINOP_INPLACE_ADD);
        break;
    case STEP_PRINT_ID:
    case STEP_PRINT_RC:
        /* The value stays on the stack until the final BUILD_LIST. */
        code_emit(c, OP_LOAD_GLOBAL, s->kind == STEP_PRINT_ID ? GLOBAL_ID : GLOBAL_GETREFCOUNT);
        emit_local(c, OP_LOAD_FAST, s->name);
        code_emit(c, OP_CALL, 1);
        return;
    }
    emit_local(c, OP_STORE_FAST, s->name);
}

/* def experiment(n): <steps>; return [<every printed value>]. Returns 0,
 * or -1 with the reason in err. */
static int build(const experiment_t *e, code_t *c, char *err, size_t errlen)
{
    int nprints = 0;

    code_init(c, "experiment", NULL);
    code_local(c, "n");   /* local 0: the argument */
    if (code_global(c, "id") != GLOBAL_ID || code_global(c, "sys.getrefcount") != GLOBAL_GETREFCOUNT) {
        snprintf(err, errlen, "globals out of order");
        return -1;
    }
    for (int i = 0; i < e->nsteps; i++) {
        emit_step(c, &e->steps[i]);
        nprints += e->steps[i].kind == STEP_PRINT_ID || e->steps[i].kind == STEP_PRINT_RC;
    }
    code_emit(c, OP_BUILD_LIST, nprints);
    code_emit(c, OP_RETURN_VALUE, 0);
    return nprints > MAX_PRINTS ? (snprintf(err, errlen, "too many prints"), -1)
                                : code_check(c, err, errlen);
}

/* ------------------------------------------------------------------------
 * The experiments
 */

static bool default_build(const run_env_t *env)
{
    return env->interp->layout == OBJ_LAYOUT_DEFAULT;
}

/* "CPython 3.12" or "CPython 3.13t": the build the guard models. */
static void modelled(const run_env_t *env, char *buf, size_t len)
{
    snprintf(buf, len, "CPython %s%s", sizes_cpython_version(env->interp->layout),
             default_build(env) ? "" : "t");
}

static const step_t refcount_steps[] = {
    {STEP_NEW_LIST, "a", NULL, 0},
    {STEP_PRINT_RC, "a", NULL, 0},
    {STEP_ALIAS, "b", "a", 0},
    {STEP_PRINT_RC, "a", NULL, 0},
    {STEP_NONE, "b", NULL, 0},
    {STEP_PRINT_RC, "a", NULL, 0},
};

/* The counts CPython 3.12 prints (the seed shows the last two). */
static const int64_t refcount_cpython[] = {2, 3, 2};

static void refcount_note(const run_env_t *env, int i, char *buf, size_t len)
{
    static const char *const why[] = {"a + the argument", "a, b + the argument (seed: 3)",
                                      "b = None dropped one (seed: 2)"};
    snprintf(buf, len, "%s", why[i]);
    (void)env;
}

static void refcount_explain(const run_env_t *env)
{
    char build_name[32];
    bool same = true;

    modelled(env, build_name, sizeof build_name);
    for (int i = 0; i < 3; i++)
        same &= env->printed[i] == refcount_cpython[i];
    printf("  One more than the names that refer to the list: while sys.getrefcount runs,\n"
           "  its argument holds a reference too (LOAD_FAST pushed `a` onto the frame's\n"
           "  stack and counted it). %s prints %s2, 3, 2.\n",
           build_name, same ? "the same: " : "");
    if (env->interp->guard == GUARD_biased)
        printf("  Biased counting: the count is the owner's ob_ref_local plus ob_ref_shared;\n"
               "  this thread made the list and owns it, so every change was a plain add to\n"
               "  ob_ref_local.\n");
    else if (env->interp->guard == GUARD_atomic)
        printf("  The atomic guard counted every change with an atomic add on ob_ref_shared.\n");
}

static const step_t small_int_steps[] = {
    {STEP_CONST, "x", NULL, 10},
    {STEP_PRINT_ID, "x", NULL, 0},
    {STEP_ALIAS, "y", "x", 0},
    {STEP_PRINT_ID, "y", NULL, 0},
    {STEP_IADD, "x", NULL, 1},
    {STEP_PRINT_ID, "x", NULL, 0},
    {STEP_CONST, "z", NULL, 10},
    {STEP_PRINT_ID, "z", NULL, 0},
    {STEP_PRINT_RC, "z", NULL, 0},
};

static void small_int_note(const run_env_t *env, int i, char *buf, size_t len)
{
    const int64_t *p = env->printed;

    switch (i) {
    case 1: snprintf(buf, len, "%s", p[1] == p[0] ? "the same object" : "ANOTHER object"); break;
    case 2: snprintf(buf, len, "another object, 11: %+lld bytes", (long long)(p[2] - p[0])); break;
    case 3: snprintf(buf, len, "%s", p[3] == p[0] ? "the same 10 again" : "ANOTHER 10"); break;
    case 4:
        snprintf(buf, len, "%s", p[4] == OBJ_IMMORTAL_REFCNT ? "2**32 - 1: immortal" : "");
        break;
    default: buf[0] = '\0';
    }
}

static void small_int_explain(const run_env_t *env)
{
    char build_name[32];
    /* sizeof(PyLongObject) with one digit: the stride of CPython's static
     * small-int array (_PyRuntime's small_ints). */
    size_t stride = (size_t)sizes_int_alloc(env->interp->layout, 1);

    modelled(env, build_name, sizeof build_name);
    printf("  10 and 11 come from the small-int cache (%d to %d), made when the\n"
           "  interpreter starts: x += 1 fetches 11 and allocates nothing, z = 10 finds\n"
           "  the same 10 again. The addresses are not CPython's, but which ids are equal\n"
           "  is (the seed: 94608059940040 for x, y and z, 94608059940072 for 11).\n"
           "  11 lies %lld bytes after 10 in the lab's array of static objects, which has\n"
           "  room in each for either build's header; %s's array holds bare\n"
           "  PyLongObjects, %zu bytes apart%s.\n",
           SMALL_INT_MIN, SMALL_INT_MAX, (long long)(env->printed[2] - env->printed[0]),
           build_name, stride, default_build(env) ? " (as in the seed)" : "");
    if (env->interp->immortal)
        printf("  %lld (2**32 - 1) marks an immortal object (PEP 683; CPython 3.12 and\n"
               "  3.13 print the same): increfs and decrefs leave it alone, so reading 10\n"
               "  never writes to it; no cache line moves between threads and no page is\n"
               "  copied in a forked child. The count no longer says how many references\n"
               "  there are.\n",
               (long long)OBJ_IMMORTAL_REFCNT);
    else
        printf("  --no-immortal: as before PEP 683, 10 is an ordinary object and every\n"
               "  reference counts: here %lld, the interpreter's own, the code's constant, y,\n"
               "  z and the argument. CPython 3.11 prints about 1000000000 instead: its\n"
               "  static objects start at 999999999 so that no count reaches zero, and every\n"
               "  module that uses 10 adds to it.\n",
               (long long)env->printed[4]);
}

static const step_t new_int_steps[] = {
    {STEP_COMPUTE, "x", NULL, 1000},
    {STEP_PRINT_ID, "x", NULL, 0},
    {STEP_COMPUTE, "y", NULL, 1000},
    {STEP_PRINT_ID, "y", NULL, 0},
    {STEP_NONE, "x", NULL, 0},
    {STEP_NONE, "y", NULL, 0},
    {STEP_COMPUTE, "z", NULL, 1000},
    {STEP_PRINT_ID, "z", NULL, 0},
};

static void new_int_note(const run_env_t *env, int i, char *buf, size_t len)
{
    const int64_t *p = env->printed;

    if (i == 1)
        snprintf(buf, len, "%s", p[1] != p[0] ? "a new object, equal to x" : "THE SAME as x");
    else if (i == 2)
        snprintf(buf, len, "%s",
                 p[2] == p[1] ? "y's: last freed, first reused"
                 : p[2] == p[0] ? "x's address" : "a third address");
    else
        buf[0] = '\0';
}

static void new_int_explain(const run_env_t *env)
{
    const int64_t *p = env->printed;
    size_t block = pym_class_size(sizes_int_alloc(env->interp->layout, 1000));

    printf("  1000 is beyond the cache, so each n + 1000 makes a new int (n is the\n"
           "  argument, 0, so that the sum is computed as it runs, not folded into a\n"
           "  constant): two equal ints alive at once are two objects, with two ids.\n");
    if (env->interp->heap.kind == HEAP_pymalloc)
        printf("  Each takes a %zu-byte block. Freeing x, then y, pushed their blocks on the\n"
               "  pool's free list, y's on top: pymalloc's free list is LIFO (pool->freeblock),\n"
               "  so z %s. CPython 3.12 does the same: an id is\n"
               "  unique only among objects alive at the same time.\n",
               block, p[2] == p[1] ? "got y's block and y's id" : "did NOT get y's block");
    else if (env->interp->heap.kind == HEAP_mimalloc)
        printf("  With mimalloc, z %s: a freed block goes to its page's\n"
               "  local free list, and allocation takes from the page's main free list until\n"
               "  that runs dry, so the last block freed is not the next one handed out.\n"
               "  (pymalloc, CPython 3.12's allocator, would have given z y's block: try\n"
               "  gil-lab refs -a pymalloc.)\n",
               p[2] == p[1] ? "got y's address all the same" : "did not get y's address");
    else
        printf("  With the C library's malloc, z %s (glibc's per-thread cache\n"
               "  of small blocks is LIFO too, like pymalloc's pools).\n",
               p[2] == p[1] ? "got y's address" : "did not get y's address");
}

static const step_t constant_steps[] = {
    {STEP_CONST, "a", NULL, 1000},
    {STEP_CONST, "b", NULL, 1000},
    {STEP_PRINT_ID, "a", NULL, 0},
    {STEP_PRINT_ID, "b", NULL, 0},
};

static void constant_note(const run_env_t *env, int i, char *buf, size_t len)
{
    if (i == 1)
        snprintf(buf, len, "%s", env->printed[1] == env->printed[0] ? "the same object"
                                                                    : "ANOTHER object");
    else
        buf[0] = '\0';
}

static void constant_explain(const run_env_t *env)
{
    (void)env;
    printf("  1000 is not cached, yet a and b are one object: the compiler keeps each\n"
           "  distinct constant of a code object once (co_consts), and LOAD_CONST hands\n"
           "  out that object. CPython does the same within a function or a cell; in a\n"
           "  notebook, a = 1000 and b = 1000 in two cells are two code objects, two ints.\n");
}

#define EXPERIMENT(title, steps, note, explain)                                \
    {title, steps, (int)(sizeof steps / sizeof steps[0]), note, explain}

static const experiment_t experiments[] = {
    EXPERIMENT("sys.getrefcount counts references (seed 002, In [6] and [7])", refcount_steps,
               refcount_note, refcount_explain),
    EXPERIMENT("small ints are cached objects (seed 002, In [1] to [5])", small_int_steps,
               small_int_note, small_int_explain),
    EXPERIMENT("a computed int is a new object, and a freed block is reused first", new_int_steps,
               new_int_note, new_int_explain),
    EXPERIMENT("a constant is one object per code object", constant_steps, constant_note,
               constant_explain),
};
#define NEXPERIMENTS (int)(sizeof experiments / sizeof experiments[0])

/* ------------------------------------------------------------------------
 * Running them
 */

/* Run one experiment in ts: its printed values into env. Returns 0, or -1
 * with the reason in err. */
static int run_experiment(tstate_t *ts, const experiment_t *e, run_env_t *env, char *err,
                          size_t errlen)
{
    const guard_ops_t *ops = ts->interp->ops;
    code_t code;
    obj_t *arg, *result;

    if (build(e, &code, err, errlen) < 0)
        return -1;
    arg = ops->int_new(ts, 0);
    result = arg ? ops->eval(ts, &code, &arg, 1) : NULL;
    if (result == NULL) {
        snprintf(err, errlen, "%s", ts->error);
        return -1;
    }
    list_obj_t *list = (list_obj_t *)result;
    env->nprinted = (int)list->size;
    for (int i = 0; i < env->nprinted; i++)
        env->printed[i] = int_value(list->items[i]);
    ops->decref(ts, result);
    return 0;
}

static void print_experiment(int number, const experiment_t *e, const run_env_t *env)
{
    int printed = 0;

    printf("%d. %s\n\n", number, e->title);
    for (int i = 0; i < e->nsteps; i++) {
        const step_t *s = &e->steps[i];
        char text[64], note[128];
        step_text(s, text, sizeof text);
        if (s->kind != STEP_PRINT_ID && s->kind != STEP_PRINT_RC) {
            printf("    %s\n", text);
            continue;
        }
        e->note(env, printed, note, sizeof note);
        if (note[0])
            printf("    %-28s %-16" PRId64 " %s\n", text, env->printed[printed], note);
        else
            printf("    %-28s %" PRId64 "\n", text, env->printed[printed]);
        printed++;
    }
    putchar('\n');
    e->explain(env);
    putchar('\n');
}

/* Globals 0 and 1 of every experiment: the built-ins id and
 * sys.getrefcount (the globals' references, as a module's dict holds
 * them). */
static void set_globals(tstate_t *ts)
{
    interp_t *interp = ts->interp;
    obj_t *id = interp_builtin(interp, BUILTIN_id);
    obj_t *getrefcount = interp_builtin(interp, BUILTIN_sys_getrefcount);

    interp->ops->incref(ts, id);
    interp->ops->incref(ts, getrefcount);
    interp->globals[GLOBAL_ID] = id;
    interp->globals[GLOBAL_GETREFCOUNT] = getrefcount;
}

static int refs_run(const interp_config_t *cfg)
{
    interp_t interp;
    tstate_t *ts;
    char err[200];
    int status = CLI_EXIT_OK;

    if (interp_init(&interp, cfg, err, sizeof err) < 0) {
        cli_error("%s", err);
        return CLI_EXIT_FAILED;
    }
    ts = tstate_new(&interp);
    if (ts == NULL) {
        cli_error("out of memory");
        interp_destroy(&interp);
        return CLI_EXIT_FAILED;
    }
    interp.ops->attach(ts);
    set_globals(ts);
    printf("gil-lab refs: seed 002's ids and reference counts, run by gil-lab's interpreter\n"
           "  guard %s (CPython %s%s's objects), allocator %s,\n"
           "  immortal objects %s\n"
           "  Each block is the body of a function f(n), run once as f(0); beside each\n"
           "  print() is what it printed: the lab's objects' own refcounts and addresses\n"
           "  (id() is where an object's header starts, as in CPython).\n\n",
           guard_name(cfg->guard), sizes_cpython_version(interp.layout),
           interp.layout == OBJ_LAYOUT_FT ? "t" : "", heap_kind_name(cfg->allocator),
           cfg->immortal ? "on (PEP 683)" : "off (--no-immortal, as before CPython 3.12)");
    for (int k = 0; k < NEXPERIMENTS; k++) {
        run_env_t env = {.interp = &interp};
        if (run_experiment(ts, &experiments[k], &env, err, sizeof err) < 0) {
            cli_error("experiment %d failed: %s", k + 1, err);
            status = CLI_EXIT_FAILED;
            break;
        }
        print_experiment(k + 1, &experiments[k], &env);
    }
    interp_clear_globals(ts);
    interp_finalize(ts);   /* the freelists too: nothing is left for a leak checker */
    interp.ops->detach(ts);
    tstate_delete(ts);
    interp_destroy(&interp);
    return status;
}

static const char refs_help[] =
    "Usage: gil-lab refs [-g GUARD] [-a ALLOCATOR] [--no-immortal]\n"
    "\n"
    "Seed 002's cells about identity and reference counts, run by gil-lab's own\n"
    "interpreter on its own objects: sys.getrefcount before and after b = a, id()\n"
    "of small ints (the small-int cache), a computed int that is a new object\n"
    "each time and a freed block that is reused first, and a constant shared by\n"
    "one code object. Where CPython prints something else, the view says so and\n"
    "why.\n"
    "\n"
    "  -g, --guard G        the guard, and so the object layout (default gil:\n"
    "                       CPython 3.12's; atomic and biased: 3.13t's)\n"
    "  -a, --allocator A    the allocator (default: the guard's own, pymalloc or\n"
    "                       mimalloc): it decides which block a new object takes\n"
    "      --no-immortal    small ints, None, True and False counted as ordinary\n"
    "                       objects, as before CPython 3.12\n"
    "  -h, --help           this help\n"
    "\n"
    "Exit status: 0 shown; 1 an experiment failed; 2 bad options.\n"
    "  gil-lab refs\n"
    "  gil-lab refs --no-immortal\n"
    "  gil-lab refs -g biased\n"
    "  gil-lab refs -g biased -a pymalloc\n";

int cmd_refs(int argc, char **argv)
{
    enum { OPT_NO_IMMORTAL = 256 };
    static const struct option options[] = {
        {"guard", required_argument, NULL, 'g'},
        {"allocator", required_argument, NULL, 'a'},
        {"no-immortal", no_argument, NULL, OPT_NO_IMMORTAL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    interp_config_t cfg = {.guard = GUARD_gil, .immortal = true};
    int allocator = -1, opt, k;
    char why[256];

    optind = 0;
    while ((opt = cli_getopt(argc, argv, ":g:a:h", options)) != -1) {
        switch (opt) {
        case 'g':
        case 'a':
            k = cli_parse_name(optarg, opt == 'g' ? cli_guard_names() : cli_heap_names(), why,
                               sizeof why);
            if (k < 0) {
                cli_error("%s: %s", opt == 'g' ? "-g/--guard" : "-a/--allocator", why);
                return CLI_EXIT_USAGE;
            }
            if (opt == 'g')
                cfg.guard = (guard_kind_t)k;
            else
                allocator = k;
            break;
        case OPT_NO_IMMORTAL:
            cfg.immortal = false;
            break;
        case 'h':
            fputs(refs_help, stdout);
            return CLI_EXIT_OK;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (cli_no_operands(argc, argv) < 0)
        return CLI_EXIT_USAGE;
    cfg.allocator = allocator >= 0 ? (heap_kind_t)allocator : guard_get(cfg.guard)->default_allocator;
    return refs_run(&cfg);
}
