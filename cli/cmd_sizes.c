/* cli/cmd_sizes.c: `gil-lab sizes`, how big each object of the lab is,
 * beside what CPython's sys.getsizeof says of the same object, for both
 * CPython builds the lab models.
 *
 * One table per build: CPython 3.12's default build (the guards none and
 * gil) and 3.13t's free-threaded build (atomic and biased). One row per
 * kind of object the lab can make: ints at the 30-bit digit boundaries and
 * in the small-int cache, True, False, None, lists grown by appends (so
 * with CPython's over-allocation), and a Node, the class with __slots__ =
 * ('next', 'data'). The lab has no floats, strings, tuples or dicts, and
 * neither has the table. The columns:
 *
 *   getsizeof          what sys.getsizeof prints in the modelled CPython
 *   <python> <version> what a real interpreter prints (--python)
 *   CPython allocates  the bytes CPython asks of its allocator: the object
 *                      (with its PyGC_Head in the default build) and, for
 *                      a list, the item array, a block of its own
 *   gil-lab allocates  the same in the lab: equal in the default build, 16
 *                      bytes more per free-threaded container (marked *:
 *                      the lab's ring link, lab/gc_ft.h)
 *   pymalloc block     the size class the lab's bytes land in; "malloc"
 *                      above 512 bytes, where pymalloc hands over
 *
 * Every number comes from lab/sizes.h, the sizes the interpreter loop
 * allocates with, so the table cannot drift from what runs.
 *
 * --python (default: python3, when there is one on PATH) runs a real
 * interpreter on a snippet generated from the same rows: it prints its
 * implementation, version and whether it is a free-threaded build, then
 * sys.getsizeof of each row's expression, one per line. Its column goes
 * into the table of its build. A difference from the model is a finding
 * when the interpreter is the version modelled (3.12; 3.13 free-threaded)
 * and is labelled expected for any other version. An interpreter that is
 * missing, fails or prints anything else costs one line on stderr; the
 * lab's columns are printed all the same.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/program.h"
#include "gil/guard.h"
#include "lab/pymalloc.h"
#include "lab/sizes.h"

#define PYTHON_TIMEOUT_S 30        /* default of --timeout */
#define PYTHON_TIMEOUT_MAX_S 3600
#define DEFAULT_PYTHON "python3"
#define PY_COLUMN 16   /* width of the real interpreter's column */

typedef enum row_kind { ROW_INT, ROW_BOOL, ROW_NONE, ROW_LIST, ROW_NODE } row_kind_t;

typedef struct size_row {
    row_kind_t kind;
    int64_t arg;          /* an int's value (bool: 0 or 1); a list's appends */
    const char *python;   /* the expression that makes the same object */
} size_row_t;

#define TWO_TO(n) (INT64_C(1) << (n))

static const size_row_t rows[] = {
    {ROW_INT, 0, "0"},
    {ROW_INT, 1, "1"},
    {ROW_INT, -1, "-1"},
    {ROW_INT, 1000, "1000"},
    {ROW_INT, TWO_TO(30) - 1, "2**30 - 1"},
    {ROW_INT, TWO_TO(30), "2**30"},
    {ROW_INT, -TWO_TO(30), "-2**30"},
    {ROW_INT, TWO_TO(60), "2**60"},
    {ROW_BOOL, 1, "True"},
    {ROW_BOOL, 0, "False"},
    {ROW_NONE, 0, "None"},
    {ROW_LIST, 0, "[]"},
    {ROW_LIST, 1, "appended(1)"},
    {ROW_LIST, 5, "appended(5)"},
    {ROW_LIST, 17, "appended(17)"},
    {ROW_LIST, 100, "appended(100)"},
    {ROW_NODE, 0, "Node()"},
};
#define NROWS (sizeof rows / sizeof rows[0])

/* What the snippet defines before the rows' expressions: Node, and
 * appended(n), a list grown one append at a time as the lab grows one. */
static const char snippet_head[] =
    "import sys, sysconfig\n"
    "class Node:\n"
    "    __slots__ = ('next', 'data')\n"
    "def appended(n):\n"
    "    l = []\n"
    "    for i in range(n):\n"
    "        l.append(None)\n"
    "    return l\n"
    "print('gil-lab-sizes', sys.implementation.name, sys.version.split()[0],\n"
    "      1 if sysconfig.get_config_var('Py_GIL_DISABLED') else 0)\n";

/* One row's bytes in one layout, from lab/sizes.h: the object's block and
 * a list's item array (0: none), as CPython and as the lab allocate them. */
typedef struct row_bytes {
    size_t getsizeof;
    const char *static_why;   /* not allocated: why ("small-int cache"); else NULL */
    size_t cpython[2], lab[2];
} row_bytes_t;

static row_bytes_t row_bytes(const size_row_t *r, obj_layout_t layout)
{
    row_bytes_t b = {0};
    intptr_t slots;

    switch (r->kind) {
    case ROW_INT:
        b.getsizeof = sizes_int(layout, r->arg);
        if (r->arg >= SMALL_INT_MIN && r->arg <= SMALL_INT_MAX)
            b.static_why = "small-int cache";
        else
            b.cpython[0] = b.lab[0] = sizes_int_alloc(layout, r->arg);
        break;
    case ROW_BOOL:
        b.getsizeof = sizes_int(layout, r->arg);
        b.static_why = "singleton";
        break;
    case ROW_NONE:
        b.getsizeof = sizes_object(layout);
        b.static_why = "singleton";
        break;
    case ROW_LIST:
        slots = sizes_list_appended(r->arg);
        b.getsizeof = sizes_list(layout, slots);
        b.cpython[0] = sizes_list_alloc(layout);
        b.cpython[1] = sizes_list_items_cpython(layout, slots);
        b.lab[0] = sizes_list_alloc(layout) + sizes_lab_extra(layout);
        b.lab[1] = sizes_list_items(slots);
        break;
    case ROW_NODE:
        b.getsizeof = b.cpython[0] = sizes_node_alloc(layout);
        b.lab[0] = sizes_node_alloc(layout) + sizes_lab_extra(layout);
        break;
    }
    return b;
}

/* The row's name in the table: its expression, or "[] + 17 appends". */
static void row_label(const size_row_t *r, char *buf, size_t len)
{
    if (r->kind == ROW_LIST && r->arg > 0)
        snprintf(buf, len, "[] + %lld append%s", (long long)r->arg, r->arg == 1 ? "" : "s");
    else
        snprintf(buf, len, "%s", r->python);
}

/* "56" or "56 + 192": the object's block, and the item array's. */
static void fmt_blocks(const size_t blocks[2], const char *mark, char *buf, size_t len)
{
    if (blocks[1])
        snprintf(buf, len, "%zu + %zu%s", blocks[0], blocks[1], mark);
    else
        snprintf(buf, len, "%zu%s", blocks[0], mark);
}

/* The size class pymalloc serves n bytes from, or "malloc". */
static const char *class_of(size_t n, char *buf, size_t len)
{
    size_t cls = pym_class_size(n);
    if (cls)
        snprintf(buf, len, "%zu", cls);
    else
        snprintf(buf, len, "malloc");
    return buf;
}

/* ------------------------------------------------------------------------
 * The real interpreter
 */

typedef struct py_answer {
    char name[64];            /* as given, for the column: its last path part */
    const char *path;         /* as given */
    char impl[32], version[32];
    bool free_threaded;
    long sizes[NROWS];
} py_answer_t;

/* The snippet: its head, then one print per row. Returns it (malloc'd),
 * or NULL when out of memory. */
static char *snippet(void)
{
    size_t len = sizeof snippet_head + NROWS * 64;
    char *text = malloc(len);
    size_t used;

    if (text == NULL)
        return NULL;
    used = (size_t)snprintf(text, len, "%s", snippet_head);
    for (size_t k = 0; k < NROWS && used < len; k++)
        used += (size_t)snprintf(text + used, len - used, "print(sys.getsizeof(%s))\n",
                                 rows[k].python);
    return text;
}

/* A word of the header: letters, digits and . + only. */
static bool plain_word(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n >= max)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '.' && *s != '+')
            return false;
    return true;
}

/* The next line of *text (its end cut off, \r dropped); NULL at the end. */
static char *next_line(char **text)
{
    char *line = *text, *end;

    if (line == NULL || *line == '\0')
        return NULL;
    end = strchr(line, '\n');
    *text = end ? end + 1 : NULL;
    if (end)
        *end = '\0';
    end = line + strlen(line);
    if (end > line && end[-1] == '\r')
        end[-1] = '\0';
    return line;
}

/* What the snippet printed, into a. Returns 0, or -1 with why. */
static int parse_answer(char *text, py_answer_t *a, char *why, size_t len)
{
    char *line = next_line(&text), *words[5], *save = NULL;
    int n = 0;

    if (line == NULL) {
        snprintf(why, len, "printed nothing");
        return -1;
    }
    for (char *w = strtok_r(line, " ", &save); w && n < 5; w = strtok_r(NULL, " ", &save))
        words[n++] = w;
    if (n != 4 || strcmp(words[0], "gil-lab-sizes") != 0 || !plain_word(words[1], sizeof a->impl) ||
        !plain_word(words[2], sizeof a->version) || !isdigit((unsigned char)words[2][0]) ||
        (strcmp(words[3], "0") != 0 && strcmp(words[3], "1") != 0)) {
        snprintf(why, len, "its first line is not the snippet's header");
        return -1;
    }
    snprintf(a->impl, sizeof a->impl, "%s", words[1]);
    snprintf(a->version, sizeof a->version, "%s", words[2]);
    a->free_threaded = words[3][0] == '1';
    for (size_t k = 0; k < NROWS; k++) {
        char *end;
        line = next_line(&text);
        if (line == NULL) {
            snprintf(why, len, "printed %zu sizes, %zu expected", k, NROWS);
            return -1;
        }
        a->sizes[k] = isdigit((unsigned char)line[0]) ? strtol(line, &end, 10) : -1;
        if (a->sizes[k] <= 0 || a->sizes[k] > 1000000000 || *end != '\0') {
            snprintf(why, len, "line %zu, '%.40s', is not a size", k + 2, line);
            return -1;
        }
    }
    if (next_line(&text) != NULL) {
        snprintf(why, len, "printed more than %zu sizes", NROWS);
        return -1;
    }
    return 0;
}

/* Run the interpreter on the snippet. Returns PROG_OK with a filled, or
 * the failure with one line in err. */
static prog_status_t ask_python(const char *path, int timeout_s, py_answer_t *a, char *err,
                                size_t errlen)
{
    char *code = snippet(), *out = NULL, why[160];
    const char *argv[] = {path, "-I", "-c", code, NULL};
    const char *base = strrchr(path, '/');
    prog_status_t rc;

    a->path = path;
    snprintf(a->name, sizeof a->name, "%s", base && base[1] ? base + 1 : path);
    if (code == NULL) {
        snprintf(err, errlen, "out of memory");
        return PROG_FAILED;
    }
    rc = prog_capture(argv, timeout_s, &out, err, errlen);
    if (rc == PROG_OK && parse_answer(out, a, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s did not answer as the snippet asks (%s)", path, why);
        rc = PROG_FAILED;
    }
    free(out);
    free(code);
    return rc;
}

/* The interpreter is the CPython version `layout` models. */
static bool is_modelled(const py_answer_t *a, obj_layout_t layout)
{
    const char *v = sizes_cpython_version(layout);
    size_t n = strlen(v);

    return strcmp(a->impl, "cpython") == 0 && strncmp(a->version, v, n) == 0 &&
           !isdigit((unsigned char)a->version[n]) &&
           a->free_threaded == (layout == OBJ_LAYOUT_FT);
}

/* "CPython 3.11.7" or "pypy 3.10.14", free-threaded said. */
static void py_title(const py_answer_t *a, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s%s", strcmp(a->impl, "cpython") == 0 ? "CPython" : a->impl,
             a->version, a->free_threaded ? " (free-threaded build)" : "");
}

/* The sentence under the table of py's build. */
static void py_verdict(const py_answer_t *a, obj_layout_t layout)
{
    char title[96], differ[512] = "";
    size_t used = 0;
    int ndiff = 0;

    for (size_t k = 0; k < NROWS; k++) {
        char label[40];
        if ((size_t)a->sizes[k] == row_bytes(&rows[k], layout).getsizeof)
            continue;
        row_label(&rows[k], label, sizeof label);
        if (used < sizeof differ)
            used += (size_t)snprintf(differ + used, sizeof differ - used, "%s%s", ndiff ? ", " : "",
                                     label);
        ndiff++;
    }
    py_title(a, title, sizeof title);
    if (is_modelled(a, layout) && ndiff == 0)
        printf("  %s is %s, the version modelled: the same as the model in all %zu rows.\n",
               a->path, title, NROWS);
    else if (is_modelled(a, layout))
        printf("  FINDING: %s is %s, the version modelled, and differs from the model in %d "
               "row%s (marked !): %s. The model is wrong there.\n",
               a->path, title, ndiff, ndiff == 1 ? "" : "s", differ);
    else if (ndiff == 0)
        printf("  %s is %s, not the modelled %s%s, and agrees with the model in all %zu rows.\n",
               a->path, title, sizes_cpython_version(layout), layout == OBJ_LAYOUT_FT ? "t" : "",
               NROWS);
    else
        printf("  %s is %s, not the modelled %s%s: it differs in %d row%s (marked !): %s. "
               "Expected between versions, not a fault of the model.\n",
               a->path, title, sizes_cpython_version(layout), layout == OBJ_LAYOUT_FT ? "t" : "",
               ndiff, ndiff == 1 ? "" : "s", differ);
}

/* ------------------------------------------------------------------------
 * The tables
 */

/* "none, gil": the guards that use `layout`, from the registry. */
static void guards_of(obj_layout_t layout, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (int g = 0; g < GUARD_COUNT && used < len; g++)
        if (guard_get((guard_kind_t)g)->layout == layout)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
                                     guard_name((guard_kind_t)g));
}

static void print_section_head(obj_layout_t layout, const py_answer_t *py)
{
    char guards[128], pyhead[64] = "";

    guards_of(layout, guards, sizeof guards);
    if (layout == OBJ_LAYOUT_DEFAULT)
        printf("CPython %s, default build (gil-lab guards %s)\n"
               "  %zu-byte object header; a %zu-byte PyGC_Head in front of each container "
               "(list, Node)\n",
               sizes_cpython_version(layout), guards, sizes_object(layout),
               sizes_gc_prefix(layout));
    else
        printf("CPython %st, free-threaded build (gil-lab guards %s)\n"
               "  %zu-byte object header (ob_tid, ob_mutex, ob_gc_bits, two refcounts); "
               "no PyGC_Head\n",
               sizes_cpython_version(layout), guards, sizes_object(layout));
    if (py)
        snprintf(pyhead, sizeof pyhead, "%.14s %.9s", py->name, py->version);
    printf("\n  %-17s %9s  %-*s%-20s %-18s %s\n", "object", "getsizeof", py ? PY_COLUMN : 0, pyhead,
           "CPython allocates", "gil-lab allocates", "pymalloc block");
}

static void print_row(const size_row_t *r, obj_layout_t layout, const py_answer_t *py, size_t k)
{
    row_bytes_t b = row_bytes(r, layout);
    char label[40], pycell[32] = "", cpython[40], lab[40], block[40], c1[16], c2[16];
    bool differs = b.lab[0] != b.cpython[0] || b.lab[1] != b.cpython[1];

    row_label(r, label, sizeof label);
    if (py)
        snprintf(pycell, sizeof pycell, "%ld%s", py->sizes[k],
                 (size_t)py->sizes[k] == b.getsizeof ? "" : " !");
    if (b.static_why) {
        snprintf(cpython, sizeof cpython, "- (%s)", b.static_why);
        snprintf(lab, sizeof lab, "-");
        snprintf(block, sizeof block, "-");
    } else {
        fmt_blocks(b.cpython, "", cpython, sizeof cpython);
        fmt_blocks(b.lab, differs ? " *" : "", lab, sizeof lab);
        if (b.lab[1])
            snprintf(block, sizeof block, "%s + %s", class_of(b.lab[0], c1, sizeof c1),
                     class_of(b.lab[1], c2, sizeof c2));
        else
            snprintf(block, sizeof block, "%s", class_of(b.lab[0], c1, sizeof c1));
    }
    printf("  %-17s %9zu  %-*s%-20s %-18s %s\n", label, b.getsizeof, py ? PY_COLUMN : 0, pycell,
           cpython, lab, block);
}

static void print_section(obj_layout_t layout, const py_answer_t *py)
{
    bool mine = py && py->free_threaded == (layout == OBJ_LAYOUT_FT);

    print_section_head(layout, mine ? py : NULL);
    for (size_t k = 0; k < NROWS; k++)
        print_row(&rows[k], layout, mine ? py : NULL, k);
    putchar('\n');
    if (layout == OBJ_LAYOUT_FT)
        printf("  * gil-lab allocates %zu bytes more per container than CPython: the link of its\n"
               "    per-thread ring of containers (lab/gc_ft.h); CPython 3.13t finds them by\n"
               "    walking mimalloc's heaps instead. And %zu bytes less per list item array:\n"
               "    CPython 3.13t keeps the array's capacity in front of it (_PyListArray),\n"
               "    for readers that take no lock; the lab does not model that header.\n"
               "  CPython 3.13t allocates with mimalloc, not pymalloc: the block column is what\n"
               "  gil-lab's pymalloc gives these guards with -a pymalloc (their default is\n"
               "  mimalloc, as in CPython).\n",
               sizes_lab_extra(layout), sizes_list_items_cpython(layout, 1) - sizes_list_items(1));
    if (mine)
        py_verdict(py, layout);
    else if (py)
        printf("  %s is not a %s build: no real interpreter beside this table.\n", py->path,
               layout == OBJ_LAYOUT_FT ? "free-threaded" : "default");
    putchar('\n');
}

static const char sizes_help[] =
    "Usage: gil-lab sizes [--python PATH | --no-python] [--timeout SECONDS]\n"
    "\n"
    "How big each object of the lab is, beside what CPython's sys.getsizeof says\n"
    "of it, in both builds the lab models: CPython 3.12 (guards none, gil) and the\n"
    "free-threaded 3.13t (atomic, biased). For each object: sys.getsizeof, the\n"
    "bytes CPython allocates, the bytes gil-lab allocates, and the pymalloc size\n"
    "class they land in. Small ints -5..256, True, False and None are static\n"
    "objects: nothing is allocated for them.\n"
    "\n"
    "  --python PATH   also run this Python and print its sys.getsizeof of the same\n"
    "                  objects beside the model's, in the table of its build\n"
    "                  (default: python3, when there is one on PATH)\n"
    "  --no-python     the model's numbers only\n"
    "  --timeout S     how long that Python may take, 1 to 3600 s (default 30)\n"
    "  -h, --help      this help\n"
    "\n"
    "A difference from the model is a FINDING when that Python is the version\n"
    "modelled (3.12, or 3.13 free-threaded), and expected for any other version.\n"
    "Exit status: 0 when the tables are printed (differences are marked, not\n"
    "errors; also when there is no python3 on PATH); 1 when the Python asked for\n"
    "cannot be run, fails or prints something else (the lab's columns are printed\n"
    "all the same, and one line on stderr says why); 2 for bad options.\n"
    "  gil-lab sizes\n"
    "  gil-lab sizes --no-python\n";

int cmd_sizes(int argc, char **argv)
{
    static const struct option options[] = {
        {"python", required_argument, NULL, 'p'},
        {"no-python", no_argument, NULL, 'N'},
        {"timeout", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *python = DEFAULT_PYTHON;
    bool explicit = false, ask = true;
    py_answer_t answer;
    char err[512];
    prog_status_t rc = PROG_OK;
    int64_t timeout_s = PYTHON_TIMEOUT_S;
    int opt;

    optind = 0;
    while ((opt = cli_getopt(argc, argv, ":h", options)) != -1) {
        switch (opt) {
        case 'p':
            if (optarg[0] == '\0') {
                cli_error("--python: empty path (see gil-lab sizes --help)");
                return CLI_EXIT_USAGE;
            }
            python = optarg;
            explicit = ask = true;
            break;
        case 'N':
            ask = false;
            break;
        case 'T':
            if (cli_parse_count(optarg, "--timeout", 1, PYTHON_TIMEOUT_MAX_S, &timeout_s) < 0)
                return CLI_EXIT_USAGE;
            break;
        case 'h':
            fputs(sizes_help, stdout);
            return CLI_EXIT_OK;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (cli_no_operands(argc, argv) < 0)
        return CLI_EXIT_USAGE;
    if (ask)
        rc = ask_python(python, (int)timeout_s, &answer, err, sizeof err);
    printf("Object sizes in bytes: the model (lab/sizes.h) beside CPython's sys.getsizeof\n\n");
    for (int layout = 0; layout < OBJ_LAYOUT_COUNT; layout++)
        print_section((obj_layout_t)layout, ask && rc == PROG_OK ? &answer : NULL);
    if (!ask || rc == PROG_OK)
        return CLI_EXIT_OK;
    if (rc == PROG_NOT_FOUND && !explicit) {
        cli_error("no %s on PATH: the model's numbers only (--python PATH names a Python)",
                  DEFAULT_PYTHON);
        return CLI_EXIT_OK;
    }
    cli_error("%s; the model's numbers only", err);
    return CLI_EXIT_FAILED;
}
