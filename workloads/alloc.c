/* workloads/alloc.c: allocation, in seed 001's three forms (-P form=...):
 *
 *   churn (default)           list (build it whole)     gen (one at a time)
 *
 *   while n > 0:              lst = [x*x for x in       for y in (x*x for x in
 *       lst = [i for i in            range(n)]                    range(n)):
 *              range(k)]      for y in lst:                 pass
 *       n -= k                    pass
 *
 * churn builds a list of k ints and drops the previous one, round after
 * round: ints above 256 go through the allocator's small-object pools, the
 * item array (8 bytes per slot, grown by CPython's over-allocation) crosses
 * 512 bytes and goes to the system allocator, and the store to `lst` frees
 * the previous list and every int in it. `size` counts ints created; the
 * work comes in whole lists of k (the workload's unit), so every mode
 * builds the same lists.
 *
 * list and gen are the seed's "inefficient" and "efficient" versions of the
 * same sequence of squares: list holds all n of them (and an item array of
 * n slots) before it reads them, so its peak heap grows with n; gen makes
 * each square, hands it over and drops it, so its peak stays a few objects
 * whatever n is. The lab has no generator objects: gen runs the loop the
 * generator's frame and the consuming for loop run between them, without
 * the frame switch of each item (CPython also allocates one generator and
 * its frame, once). So gen's time is not CPython's; its memory is. Each
 * worker squares its own share of n; k is unused by these two forms.
 */
#include "lab/code.h"
#include "workloads/workload.h"

enum { ALLOC_K, ALLOC_FORM };
enum { FORM_CHURN, FORM_LIST, FORM_GEN };

static const char *const alloc_forms[] = {[FORM_CHURN] = "churn", [FORM_LIST] = "list", [FORM_GEN] = "gen", NULL};

static const wl_param_t alloc_params[] = {
    [ALLOC_K] = {.name = "k", .help = "ints per list (form=churn)", .def = 1000, .min = 1, .max = 1000000},
    [ALLOC_FORM] = {.name = "form",
                    .help = "churn: lists of k, again and again; list: all n squares in one list, then "
                            "read; gen: each square made and dropped (seed 001)",
                    .def = FORM_CHURN,
                    .min = FORM_CHURN,
                    .max = FORM_GEN,
                    .choices = alloc_forms},
};

static int alloc_churn(code_t *c, const int64_t *params)
{
    code_init(c, "alloc", "def alloc(n):\n    while n > 0:\n        lst = [i for i in range(k)]\n"
                          "        n -= k");
    int n = code_local(c, "n");
    int i = code_local(c, "i");
    int lst = code_local(c, "lst");
    code_loop_t outer, items;

    code_countdown_begin(c, n, &outer);
    code_emit(c, OP_BUILD_LIST, 0);
    code_upto_begin(c, i, 0, OP_LOAD_CONST, code_const(c, params[ALLOC_K]), &items);
    code_emit(c, OP_LOAD_FAST, i);
    code_emit(c, OP_LIST_APPEND, 1);
    code_upto_end(c, i, &items);
    code_emit(c, OP_STORE_FAST, lst);
    return code_countdown_end(c, n, params[ALLOC_K], &outer);
}

/* x*x, pushed. */
static void alloc_square(code_t *c, int x)
{
    code_emit(c, OP_LOAD_FAST, x);
    code_emit(c, OP_LOAD_FAST, x);
    code_emit(c, OP_BINARY_OP, BINOP_MUL);
}

static int alloc_return_none(code_t *c)
{
    code_emit(c, OP_LOAD_CONST, code_const(c, CODE_CONST_NONE));
    return code_emit(c, OP_RETURN_VALUE, 0) < 0 ? -1 : 0;
}

static int alloc_list(code_t *c)
{
    code_init(c, "squares_list", "def squares_list(n):\n    lst = [x*x for x in range(n)]\n"
                                 "    for y in lst:\n        pass");
    int n = code_local(c, "n"), x = code_local(c, "x"), lst = code_local(c, "lst");
    int i = code_local(c, "i"), y = code_local(c, "y");
    code_loop_t build, read;

    code_emit(c, OP_BUILD_LIST, 0);
    code_upto_begin(c, x, 0, OP_LOAD_FAST, n, &build);
    alloc_square(c, x);
    code_emit(c, OP_LIST_APPEND, 1);
    code_upto_end(c, x, &build);
    code_emit(c, OP_STORE_FAST, lst);
    /* for y in lst: the list iterator's index, as a local */
    code_upto_begin(c, i, 0, OP_LOAD_FAST, n, &read);
    code_emit(c, OP_LOAD_FAST, lst);
    code_emit(c, OP_LOAD_FAST, i);
    code_emit(c, OP_BINARY_SUBSCR, 0);
    code_emit(c, OP_STORE_FAST, y);
    code_upto_end(c, i, &read);
    return alloc_return_none(c);
}

static int alloc_gen(code_t *c)
{
    code_init(c, "squares_gen", "def squares_gen(n):\n    for y in (x*x for x in range(n)):\n        pass");
    int n = code_local(c, "n"), x = code_local(c, "x"), y = code_local(c, "y");
    code_loop_t each;

    code_upto_begin(c, x, 0, OP_LOAD_FAST, n, &each);
    alloc_square(c, x);            /* the generator yields x*x */
    code_emit(c, OP_STORE_FAST, y);   /* the for loop takes it; the last one goes */
    code_upto_end(c, x, &each);
    return alloc_return_none(c);
}

static int alloc_build(code_t *c, const int64_t *params)
{
    switch (params[ALLOC_FORM]) {
    case FORM_LIST:
        return alloc_list(c);
    case FORM_GEN:
        return alloc_gen(c);
    default:
        return alloc_churn(c, params);
    }
}

/* churn works in whole lists of k; list and gen in single squares. */
static int64_t alloc_unit(const int64_t *params)
{
    return params[ALLOC_FORM] == FORM_CHURN ? params[ALLOC_K] : 1;
}

const workload_t wl_alloc = {
    .name = "alloc",
    .description = "lst = [i for i in range(k)] repeatedly (allocator churn); -P form=list|gen: seed "
                   "001's list against generator",
    .default_size = 20000000,
    .min_size = 1,
    .max_size = INT64_C(1) << 40,
    .params = alloc_params,
    .nparams = 2,
    .build = alloc_build,
    .setup = NULL,
    .unit = alloc_unit,
    .size_unit = "ints created; form=churn: whole lists of k",
};
