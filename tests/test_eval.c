/* tests/test_eval.c: the interpreter loop (lab/eval_impl.h) and the code
 * checker (lab/code.c).
 *
 * Each opcode test builds a few instructions by hand, runs them under every
 * guard, with immortal statics and with --no-immortal, and checks the
 * refcount bookkeeping afterwards: the reference counts of the objects the
 * test holds, how many objects were allocated and freed, and that the live
 * count is back to its baseline. With --no-immortal the statics (None,
 * True, False, small ints) count too, so a reference leaked or dropped on
 * one of them shows up as a count other than the interpreter's 1.
 *
 * Errors must leave nothing behind: eval returns NULL, ts->error names the
 * exception, and every object the frame held (stack, locals, constants) is
 * released.
 *
 * The labs, the every-guard loops and the leak checks (lab_check_clean,
 * and lab_close's) come from lab_fixture.h.
 */
#include <criterion/criterion.h>
#define CHECK(cond, ...) cr_assert(cond, __VA_ARGS__)

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "lab/code.h"
#include "lab/interp.h"
#include "lab/object.h"
#include "lab_fixture.h"
#include "workloads/workload.h"

static void must_check(const code_t *c)
{
    char err[200] = "";
    cr_assert_eq(code_check(c, err, sizeof(err)), 0, "code_check(%s): %s", c->name, err);
}

static obj_t *run(lab_t *l, const code_t *c, obj_t **args, int nargs)
{
    must_check(c);
    l->ts->error[0] = '\0';
    return l->ops->eval(l->ts, c, args, nargs);
}

/* A new reference to pass as a (stolen) argument while the test keeps its own. */
static obj_t *share(lab_t *l, obj_t *o)
{
    l->ops->incref(l->ts, o);
    return o;
}

/* def name(a, b): return a OP b, OP being the instruction `op arg`.
 * Returns that instruction's index, for code_patch. */
static int a_op_b_code(code_t *c, const char *name, opcode_t op, int32_t arg)
{
    code_init(c, name, NULL);
    int a = code_local(c, "a"), b = code_local(c, "b");
    code_emit(c, OP_LOAD_FAST, a);
    code_emit(c, OP_LOAD_FAST, b);
    int at = code_emit(c, op, arg);
    code_emit(c, OP_RETURN_VALUE, 0);
    return at;
}

/* ---- LOAD_FAST / STORE_FAST --------------------------------------------- */

Test(eval, load_store_fast)
{
    FOR_EACH_LAB(l, HEAP_pymalloc) {
        /* def f(a): b = a; b = 3000; return b */
        code_t c;
        code_init(&c, "f", NULL);
        int a = code_local(&c, "a"), b = code_local(&c, "b");
        code_emit(&c, OP_LOAD_FAST, a);
        code_emit(&c, OP_STORE_FAST, b);
        code_emit(&c, OP_LOAD_CONST, code_const(&c, 3000));
        code_emit(&c, OP_STORE_FAST, b);
        code_emit(&c, OP_LOAD_FAST, b);
        code_emit(&c, OP_RETURN_VALUE, 0);

        obj_t *x = l.ops->int_new(l.ts, 1234);
        obj_t *arg = share(&l, x);
        uint64_t alloc0 = l.ts->count.objects_allocated, freed0 = l.ts->count.objects_freed;
        obj_t *r = run(&l, &c, &arg, 1);
        cr_assert_not_null(r, "%s: %s", l.what, l.ts->error);
        cr_assert_eq(int_value(r), 3000);
        cr_assert_eq(lab_rc(&l, r), 1, "%s: the constant's frame reference was released", l.what);
        cr_assert_eq(lab_rc(&l, x), 1, "%s: a and b released x", l.what);
        cr_assert_eq(l.ts->count.objects_allocated - alloc0, 1, "%s: only the constant 3000", l.what);
        cr_assert_eq(l.ts->count.objects_freed, freed0);
        l.ops->decref(l.ts, r);
        l.ops->decref(l.ts, x);
        lab_check_clean(&l, "load_store_fast");
    }
}

/* STORE_FAST frees the old value right away, not when the frame ends: a
 * countdown keeps two or three ints alive at a time, never the whole run.
 * Kept alive, N ints of 48-byte blocks would need several 1 MiB arenas; the
 * arena high-water mark (obmalloc's narenas_highwater) must stay at one. */
Test(eval, store_fast_frees_old_value_at_once)
{
    enum { N = 100000 };
    _Static_assert(N * 48 > 4 * PYM_DEFAULT_ARENA_SIZE, "kept alive, the ints would span arenas");
    FOR_EACH_GUARD(l, HEAP_pymalloc, true) {
        code_t c;
        cr_assert_eq(wl_countdown.build(&c, NULL), 0);
        obj_t *arg = l.ops->int_new(l.ts, N);
        uint64_t alloc0 = l.ts->count.objects_allocated, freed0 = l.ts->count.objects_freed;
        obj_t *r = run(&l, &c, &arg, 1);
        cr_assert_eq(r, interp_none(l.interp), "%s: countdown returns None (%s)", l.what, l.ts->error);
        l.ops->decref(l.ts, r);
        pym_stats_t st;
        pym_get_stats(l.interp->heap.pym, &st);
        /* Exactly the ints N-1 .. 257 are allocated, and each freed. */
        cr_assert_eq(l.ts->count.objects_allocated - alloc0, N - 1 - SMALL_INT_MAX, "%s", l.what);
        cr_assert_eq(l.ts->count.objects_freed - freed0, N - SMALL_INT_MAX, "%s: the argument too", l.what);
        cr_assert_eq(st.arenas_peak, 1, "%s: %llu arenas at the peak: old values kept alive", l.what,
                     (unsigned long long)st.arenas_peak);
    }
}

/* BINARY_OP computes and allocates its result before it releases its
 * operands, as _BINARY_OP_ADD_INT does. In `a + 1 + 1` the intermediate
 * a+1 lives on the stack only; pymalloc hands blocks out LIFO, so the
 * intermediate takes the block freed just before the run, and the final
 * result must get another block: releasing the intermediate first would
 * give the result that same block. */
Test(eval, binary_op_allocates_before_it_releases)
{
    FOR_EACH_GUARD(l, HEAP_pymalloc, true) {
        code_t c;
        code_init(&c, "f", NULL);
        int a = code_local(&c, "a"), one = code_const(&c, 1);
        code_emit(&c, OP_LOAD_FAST, a);
        code_emit(&c, OP_LOAD_CONST, one);
        code_emit(&c, OP_BINARY_OP, BINOP_ADD);
        code_emit(&c, OP_LOAD_CONST, one);
        code_emit(&c, OP_BINARY_OP, BINOP_ADD);
        code_emit(&c, OP_RETURN_VALUE, 0);

        obj_t *arg = l.ops->int_new(l.ts, 5000);
        obj_t *probe = l.ops->int_new(l.ts, 7777);
        l.ops->decref(l.ts, probe);   /* its block is now the next one handed out */
        obj_t *r = run(&l, &c, &arg, 1);
        cr_assert_not_null(r, "%s: %s", l.what, l.ts->error);
        cr_assert_eq(int_value(r), 5002);
        cr_assert_neq(r, probe, "%s: the intermediate was released before the result was allocated", l.what);
        l.ops->decref(l.ts, r);
    }
}

Test(eval, unbound_local_is_an_error)
{
    FOR_EACH_LAB(l, HEAP_pymalloc) {
        code_t c;
        a_op_b_code(&c, "f", OP_BINARY_OP, BINOP_ADD);
        obj_t *arg = l.ops->int_new(l.ts, 1000);
        cr_assert_null(run(&l, &c, &arg, 1));
        cr_assert(strstr(l.ts->error, "UnboundLocalError") != NULL, "%s: %s", l.what, l.ts->error);
        cr_assert(strstr(l.ts->error, "'b'") != NULL, "%s: %s", l.what, l.ts->error);
        lab_check_clean(&l, "unbound local");
    }
}

/* ---- BINARY_OP ------------------------------------------------------------ */

typedef struct binop_case {
    int64_t a;
    binop_t op;
    int64_t b;
    int64_t expect;
} binop_case_t;

static const binop_case_t binop_cases[] = {
    {3, BINOP_ADD, 4, 7},
    {250, BINOP_ADD, 6, 256},
    {250, BINOP_ADD, 7, 257},
    {1000, BINOP_SUB, 999, 1},
    {-3, BINOP_SUB, 2, -5},
    {-3, BINOP_SUB, 3, -6},
    {20, BINOP_MUL, 20, 400},
    {1000000, BINOP_MUL, 1000000, 1000000000000},
    {7, BINOP_MOD, 3, 1},
    {-7, BINOP_MOD, 3, 2},   /* Python's floored modulo */
    {7, BINOP_MOD, -3, -2},
    {-7, BINOP_MOD, -3, -1},
    {100000, BINOP_MOD, 7, 5},
    {999, BINOP_INPLACE_ADD, 1, 1000},
    {1000, BINOP_INPLACE_SUB, 1, 999},
    {257, BINOP_INPLACE_SUB, 1, 256},
    {INT64_MAX, BINOP_SUB, 1, INT64_MAX - 1},
    {INT64_MIN + 1, BINOP_SUB, 1, INT64_MIN},
};

Test(eval, binary_op_allocates_outside_the_cache_only)
{
    FOR_EACH_LAB(l, HEAP_pymalloc) {
        code_t c;
        int at = a_op_b_code(&c, "binop", OP_BINARY_OP, 0);
        for (size_t i = 0; i < sizeof(binop_cases) / sizeof(binop_cases[0]); i++) {
            const binop_case_t *k = &binop_cases[i];
            code_patch(&c, at, k->op);
            obj_t *x = l.ops->int_new(l.ts, k->a), *y = l.ops->int_new(l.ts, k->b);
            intptr_t rx = lab_rc(&l, x), ry = lab_rc(&l, y);
            obj_t *args[2] = {share(&l, x), share(&l, y)};
            uint64_t alloc0 = l.ts->count.objects_allocated;
            obj_t *r = run(&l, &c, args, 2);
            cr_assert_not_null(r, "%s: %lld %s %lld: %s", l.what, (long long)k->a, binop_symbol(k->op),
                               (long long)k->b, l.ts->error);
            cr_assert_eq(int_value(r), k->expect, "%s: %lld %s %lld = %lld", l.what, (long long)k->a,
                         binop_symbol(k->op), (long long)k->b, (long long)int_value(r));
            bool cached = k->expect >= SMALL_INT_MIN && k->expect <= SMALL_INT_MAX;
            cr_assert_eq(l.ts->count.objects_allocated - alloc0, cached ? 0 : 1,
                         "%s: result %lld %s allocate", l.what, (long long)k->expect,
                         cached ? "must not" : "must");
            if (cached) {
                cr_assert_eq(r, lab_small_int(&l, k->expect), "%s: cached result", l.what);
                if (!l.immortal)
                    cr_assert_eq(lab_rc(&l, r), 2 + (r == x) + (r == y), "%s: a new reference", l.what);
            } else {
                cr_assert_eq(lab_rc(&l, r), 1, "%s", l.what);
            }
            l.ops->decref(l.ts, r);
            cr_assert_eq(lab_rc(&l, x), rx, "%s: operand a released", l.what);
            cr_assert_eq(lab_rc(&l, y), ry, "%s: operand b released", l.what);
            l.ops->decref(l.ts, x);
            l.ops->decref(l.ts, y);
            lab_check_clean(&l, "binary_op");
        }
    }
}

/* ---- COMPARE_OP ----------------------------------------------------------- */

Test(eval, compare_op_returns_the_singletons)
{
    static const int64_t pairs[][2] = {{1, 2}, {2, 2}, {3, 2}, {1000, 2000}, {2000, 2000}, {-7, -1000}};
    FOR_EACH_LAB(l, HEAP_pymalloc) {
        code_t c;
        int at = a_op_b_code(&c, "cmp", OP_COMPARE_OP, 0);
        obj_t *t = interp_true(l.interp), *f = interp_false(l.interp);
        for (int op = 0; op < CMP_COUNT; op++) {
            code_patch(&c, at, op);
            for (size_t p = 0; p < sizeof(pairs) / sizeof(pairs[0]); p++) {
                int64_t va = pairs[p][0], vb = pairs[p][1];
                bool want;
                switch (op) {
                case CMP_LT: want = va < vb; break;
                case CMP_LE: want = va <= vb; break;
                case CMP_EQ: want = va == vb; break;
                case CMP_NE: want = va != vb; break;
                case CMP_GT: want = va > vb; break;
                default: want = va >= vb; break;
                }
                obj_t *args[2] = {l.ops->int_new(l.ts, va), l.ops->int_new(l.ts, vb)};
                uint64_t alloc0 = l.ts->count.objects_allocated;
                obj_t *r = run(&l, &c, args, 2);
                cr_assert_eq(r, want ? t : f, "%s: %lld %s %lld", l.what, (long long)va, cmpop_symbol(op),
                             (long long)vb);
                cr_assert_eq(r->type, &bool_type);
                cr_assert_eq(int_value(r), want);
                cr_assert_eq(l.ts->count.objects_allocated, alloc0, "%s: comparing allocates nothing", l.what);
                if (!l.immortal)
                    cr_assert_eq(lab_rc(&l, r), 2, "%s: the result is a new reference to %s", l.what,
                                 want ? "True" : "False");
                l.ops->decref(l.ts, r);
                lab_check_clean(&l, "compare_op");
            }
        }
    }
}

/* ---- BINARY_SUBSCR -------------------------------------------------------- */

static obj_t *make_list(lab_t *l, int n, int64_t first)
{
    obj_t *list = l->ops->list_new(l->ts, 0);
    cr_assert_not_null(list);
    for (int i = 0; i < n; i++)
        cr_assert_eq(l->ops->list_append(l->ts, list, l->ops->int_new(l->ts, first + i)), 0);
    return list;
}

static obj_t *item(obj_t *list, intptr_t i) { return ((list_obj_t *)list)->items[i]; }

Test(eval, binary_subscr_increfs_the_item)
{
    static const struct { int64_t index; int at; } cases[] = {{0, 0}, {1, 1}, {2, 2}, {-1, 2}, {-3, 0}};
    FOR_EACH_LAB(l, HEAP_pymalloc) {
        code_t c;
        code_init(&c, "subscr", NULL);
        int lst = code_local(&c, "L");
        code_emit(&c, OP_LOAD_FAST, lst);
        int at = code_emit(&c, OP_LOAD_CONST, 0);
        code_emit(&c, OP_BINARY_SUBSCR, 0);
        code_emit(&c, OP_RETURN_VALUE, 0);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
            code_const(&c, cases[i].index);
        obj_t *list = make_list(&l, 3, 1000);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            code_patch(&c, at, code_const(&c, cases[i].index));
            obj_t *arg = share(&l, list);
            uint64_t alloc0 = l.ts->count.objects_allocated;
            obj_t *r = run(&l, &c, &arg, 1);
            cr_assert_eq(r, item(list, cases[i].at), "%s: L[%lld] (%s)", l.what, (long long)cases[i].index,
                         l.ts->error);
            cr_assert_eq(lab_rc(&l, r), 2, "%s: the list's reference and the result", l.what);
            cr_assert_eq(lab_rc(&l, list), 1, "%s: the frame released the list", l.what);
            cr_assert_eq(l.ts->count.objects_allocated, alloc0, "%s", l.what);
            l.ops->decref(l.ts, r);
            cr_assert_eq(lab_rc(&l, r), 1);
        }
        l.ops->decref(l.ts, list);
        lab_check_clean(&l, "binary_subscr");
    }
}

/* LOAD_GLOBAL + BINARY_SUBSCR, the shared workload's pair. */
Test(eval, load_global_subscr)
{
    FOR_EACH_LAB(l, HEAP_pymalloc) {
        code_t c;
        code_init(&c, "glob", NULL);
        int g = code_global(&c, "L");
        code_emit(&c, OP_LOAD_GLOBAL, g);
        code_emit(&c, OP_LOAD_CONST, code_const(&c, 1));
        code_emit(&c, OP_BINARY_SUBSCR, 0);
        code_emit(&c, OP_RETURN_VALUE, 0);
        obj_t *list = make_list(&l, 2, 500);
        l.interp->globals[0] = list;
        for (int k = 0; k < 3; k++) {
            obj_t *r = run(&l, &c, NULL, 0);
            cr_assert_eq(r, item(list, 1), "%s: %s", l.what, l.ts->error);
            cr_assert_eq(lab_rc(&l, list), 1, "%s: only the global's reference", l.what);
            cr_assert_eq(lab_rc(&l, r), 2);
            l.ops->decref(l.ts, r);
        }
        /* lab_close clears the global, which frees the list and its items. */
    }
}

/* ---- BUILD_LIST / LIST_APPEND --------------------------------------------- */

Test(eval, build_list)
{
    FOR_EACH_LAB(l, HEAP_pymalloc) {
        code_t c;
        code_init(&c, "build", NULL);
        int a = code_local(&c, "a");
        code_emit(&c, OP_LOAD_FAST, a);
        code_emit(&c, OP_LOAD_CONST, code_const(&c, 2000));
        code_emit(&c, OP_LOAD_CONST, code_const(&c, 7));
        code_emit(&c, OP_LOAD_FAST, a);
        code_emit(&c, OP_BUILD_LIST, 4);
        code_emit(&c, OP_RETURN_VALUE, 0);
        obj_t *x = l.ops->int_new(l.ts, 1000);
        obj_t *arg = share(&l, x);
        uint64_t alloc0 = l.ts->count.objects_allocated;
        obj_t *r = run(&l, &c, &arg, 1);
        cr_assert_not_null(r, "%s: %s", l.what, l.ts->error);
        list_obj_t *list = (list_obj_t *)r;
        cr_assert_str_eq(r->type->name, "list");
        cr_assert_eq(list->size, 4);
        cr_assert_geq(list->allocated, 4);
        cr_assert_eq(item(r, 0), x);
        cr_assert_eq(int_value(item(r, 1)), 2000);
        cr_assert_eq(item(r, 2), lab_small_int(&l, 7));
        cr_assert_eq(item(r, 3), x);
        cr_assert_eq(l.ts->count.objects_allocated - alloc0, 2, "%s: the list and the constant 2000", l.what);
        cr_assert_eq(lab_rc(&l, x), 3, "%s: ours and the list's two", l.what);
        cr_assert_eq(lab_rc(&l, item(r, 1)), 1, "%s: only the list holds 2000", l.what);
        if (!l.immortal)
            cr_assert_eq(lab_rc(&l, lab_small_int(&l, 7)), 2);
        cr_assert_eq(lab_rc(&l, r), 1);
        l.ops->decref(l.ts, r);
        cr_assert_eq(lab_rc(&l, x), 1);
        l.ops->decref(l.ts, x);
        lab_check_clean(&l, "build_list");

        /* The empty list. */
        code_init(&c, "empty", NULL);
        code_emit(&c, OP_BUILD_LIST, 0);
        code_emit(&c, OP_RETURN_VALUE, 0);
        r = run(&l, &c, NULL, 0);
        cr_assert_not_null(r);
        cr_assert_eq(((list_obj_t *)r)->size, 0);
        l.ops->decref(l.ts, r);
        lab_check_clean(&l, "empty list");
    }
}

Test(eval, list_append)
{
    FOR_EACH_LAB(l, HEAP_pymalloc) {
        /* def f(a): x = []; 5 on the stack; x.append(a) under it; x.append(2000) */
        code_t c;
        code_init(&c, "append", NULL);
        int a = code_local(&c, "a");
        code_emit(&c, OP_BUILD_LIST, 0);
        code_emit(&c, OP_LOAD_FAST, a);
        code_emit(&c, OP_LIST_APPEND, 1);
        code_emit(&c, OP_LOAD_CONST, code_const(&c, 5));
        code_emit(&c, OP_LOAD_CONST, code_const(&c, 2000));
        code_emit(&c, OP_LIST_APPEND, 2);
        code_emit(&c, OP_POP_TOP, 0);
        code_emit(&c, OP_RETURN_VALUE, 0);
        obj_t *x = l.ops->int_new(l.ts, 1000);
        obj_t *arg = share(&l, x);
        obj_t *r = run(&l, &c, &arg, 1);
        cr_assert_not_null(r, "%s: %s", l.what, l.ts->error);
        cr_assert_eq(((list_obj_t *)r)->size, 2);
        cr_assert_eq(((list_obj_t *)r)->allocated, 4, "%s: CPython's first growth step", l.what);
        cr_assert_eq(item(r, 0), x);
        cr_assert_eq(int_value(item(r, 1)), 2000);
        cr_assert_eq(lab_rc(&l, x), 2);
        cr_assert_eq(lab_rc(&l, item(r, 1)), 1);
        l.ops->decref(l.ts, r);
        cr_assert_eq(lab_rc(&l, x), 1);
        l.ops->decref(l.ts, x);
        lab_check_clean(&l, "list_append");
    }
}

/* ---- RETURN_VALUE ---------------------------------------------------------- */

Test(eval, return_releases_locals_and_constants)
{
    FOR_EACH_LAB(l, HEAP_pymalloc) {
        code_t c;
        code_init(&c, "ret", NULL);
        int a = code_local(&c, "a"), b = code_local(&c, "b"), d = code_local(&c, "d");
        int e = code_local(&c, "e");
        (void)a;
        (void)b;
        code_emit(&c, OP_LOAD_CONST, code_const(&c, 4000));
        code_emit(&c, OP_STORE_FAST, d);
        code_emit(&c, OP_BUILD_LIST, 0);
        code_emit(&c, OP_STORE_FAST, e);
        code_emit(&c, OP_LOAD_CONST, code_const(&c, CODE_CONST_NONE));
        code_emit(&c, OP_RETURN_VALUE, 0);
        obj_t *kept = l.ops->int_new(l.ts, 1000);
        obj_t *args[2] = {share(&l, kept), l.ops->int_new(l.ts, 2000)};
        uint64_t freed0 = l.ts->count.objects_freed;
        obj_t *r = run(&l, &c, args, 2);
        cr_assert_eq(r, interp_none(l.interp), "%s: %s", l.what, l.ts->error);
        if (!l.immortal)
            cr_assert_eq(lab_rc(&l, r), 2);
        l.ops->decref(l.ts, r);
        cr_assert_eq(l.ts->count.objects_freed - freed0, 3, "%s: b, the constant 4000 and the list", l.what);
        cr_assert_eq(lab_rc(&l, kept), 1, "%s: a released", l.what);
        l.ops->decref(l.ts, kept);
        lab_check_clean(&l, "return");
    }
}

/* CPython's RETURN_VALUE leaves an empty stack; code that would leave
 * values under the result (and leak their references) is rejected. */
Test(eval, return_with_values_left_on_the_stack_is_rejected)
{
    code_t c;
    code_init(&c, "leftover", NULL);
    int a = code_local(&c, "a");
    code_emit(&c, OP_LOAD_FAST, a);
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 3000));
    code_emit(&c, OP_RETURN_VALUE, 0);
    char err[200] = "";
    cr_assert_eq(code_check(&c, err, sizeof(err)), -1);
    cr_assert(strstr(err, "RETURN_VALUE") != NULL, "message: %s", err);
}

/* ---- errors: NULL, a message, and nothing leaked --------------------------- */

/* Run `c` expecting an exception whose text contains `expect`. */
static void expect_error(lab_t *l, const code_t *c, obj_t **args, int nargs, const char *expect)
{
    obj_t *r = run(l, c, args, nargs);
    cr_assert_null(r, "%s: %s: expected %s", l->what, c->name, expect);
    cr_assert(strstr(l->ts->error, expect) != NULL, "%s: %s: error is '%s', expected '%s'", l->what, c->name,
              l->ts->error, expect);
}

/* def f(a, b): junk = 5000; return [junk, 7] and then (a OP b), with the
 * list and a copy of junk still on the stack when OP fails. */
static void binop_code(code_t *c, const char *name, binop_t op)
{
    code_init(c, name, NULL);
    int a = code_local(c, "a"), b = code_local(c, "b"), junk = code_local(c, "junk");
    code_emit(c, OP_LOAD_CONST, code_const(c, 5000));
    code_emit(c, OP_STORE_FAST, junk);
    code_emit(c, OP_LOAD_FAST, junk);
    code_emit(c, OP_LOAD_CONST, code_const(c, 7));
    code_emit(c, OP_BUILD_LIST, 2);
    code_emit(c, OP_LOAD_FAST, junk);
    code_emit(c, OP_LOAD_FAST, a);
    code_emit(c, OP_LOAD_FAST, b);
    code_emit(c, OP_BINARY_OP, op);
    code_emit(c, OP_BUILD_LIST, 3);
    code_emit(c, OP_RETURN_VALUE, 0);
}

Test(eval, errors_overflow)
{
    static const struct { int64_t a; binop_t op; int64_t b; } cases[] = {
        {INT64_MAX, BINOP_ADD, 1},       {INT64_MAX, BINOP_INPLACE_ADD, INT64_MAX},
        {INT64_MIN, BINOP_SUB, 1},       {INT64_MIN, BINOP_INPLACE_SUB, INT64_MAX},
        {INT64_MAX, BINOP_MUL, 2},       {INT64_MIN, BINOP_MUL, -1},
        {4294967296, BINOP_MUL, 4294967296},
    };
    FOR_EACH_LAB(l, HEAP_pymalloc) {
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            code_t c;
            binop_code(&c, "overflow", cases[i].op);
            obj_t *x = l.ops->int_new(l.ts, cases[i].a), *y = l.ops->int_new(l.ts, cases[i].b);
            intptr_t rx = lab_rc(&l, x), ry = lab_rc(&l, y);
            obj_t *args[2] = {share(&l, x), share(&l, y)};
            expect_error(&l, &c, args, 2, "OverflowError");
            cr_assert(strstr(l.ts->error, binop_symbol(cases[i].op)) != NULL, "%s: %s", l.what, l.ts->error);
            cr_assert_eq(lab_rc(&l, x), rx, "%s: operand released", l.what);
            cr_assert_eq(lab_rc(&l, y), ry, "%s: operand released", l.what);
            l.ops->decref(l.ts, x);
            l.ops->decref(l.ts, y);
            lab_check_clean(&l, "overflow");
        }
    }
}

Test(eval, errors_modulo_by_zero)
{
    FOR_EACH_LAB(l, HEAP_pymalloc) {
        code_t c;
        binop_code(&c, "mod0", BINOP_MOD);
        obj_t *args[2] = {l.ops->int_new(l.ts, 1000), l.ops->int_new(l.ts, 0)};
        expect_error(&l, &c, args, 2, "ZeroDivisionError");
        lab_check_clean(&l, "modulo by zero");

        /* The operation works when it can: the same code, a valid divisor. */
        obj_t *ok[2] = {l.ops->int_new(l.ts, 1000), l.ops->int_new(l.ts, 7)};
        obj_t *r = run(&l, &c, ok, 2);
        cr_assert_not_null(r, "%s: %s", l.what, l.ts->error);
        cr_assert_eq(int_value(item(r, 2)), 1000 % 7);
        l.ops->decref(l.ts, r);
        lab_check_clean(&l, "modulo");
    }
}

/* -2**63 % -1 is 0 in Python; in C it is undefined (x86-64 traps). */
Test(eval, modulo_int64_min_by_minus_one)
{
    FOR_EACH_LAB(l, HEAP_pymalloc) {
        code_t c;
        binop_code(&c, "modmin", BINOP_MOD);
        obj_t *args[2] = {l.ops->int_new(l.ts, INT64_MIN), l.ops->int_new(l.ts, -1)};
        obj_t *r = run(&l, &c, args, 2);
        cr_assert_not_null(r, "%s: %s", l.what, l.ts->error);
        cr_assert_eq(int_value(item(r, 2)), 0, "%s: -2**63 %% -1 == 0", l.what);
        l.ops->decref(l.ts, r);
        lab_check_clean(&l, "INT64_MIN % -1");
    }
}

Test(eval, errors_index_out_of_range)
{
    static const int64_t bad[] = {3, 4, 1000, -4, -1000};
    FOR_EACH_LAB(l, HEAP_pymalloc) {
        code_t c;
        code_init(&c, "index", NULL);
        int lst = code_local(&c, "L"), i = code_local(&c, "i");
        code_emit(&c, OP_LOAD_CONST, code_const(&c, 9000));   /* extra stack entry */
        code_emit(&c, OP_LOAD_FAST, lst);
        code_emit(&c, OP_LOAD_FAST, i);
        code_emit(&c, OP_BINARY_SUBSCR, 0);
        code_emit(&c, OP_BUILD_LIST, 2);
        code_emit(&c, OP_RETURN_VALUE, 0);
        obj_t *list = make_list(&l, 3, 1000);
        for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
            obj_t *idx = l.ops->int_new(l.ts, bad[k]);
            intptr_t ridx = lab_rc(&l, idx);
            obj_t *args[2] = {share(&l, list), share(&l, idx)};
            expect_error(&l, &c, args, 2, "IndexError");
            cr_assert_eq(lab_rc(&l, list), 1, "%s: list released", l.what);
            cr_assert_eq(lab_rc(&l, idx), ridx, "%s: index released", l.what);
            for (int j = 0; j < 3; j++)
                cr_assert_eq(lab_rc(&l, item(list, j)), 1, "%s: items untouched", l.what);
            l.ops->decref(l.ts, idx);
        }
        l.ops->decref(l.ts, list);
        lab_check_clean(&l, "index error");
    }
}

Test(eval, errors_name_error)
{
    FOR_EACH_LAB(l, HEAP_pymalloc) {
        code_t c;
        code_init(&c, "name", NULL);
        int a = code_local(&c, "a");
        int present = code_global(&c, "present"), missing = code_global(&c, "missing");
        code_emit(&c, OP_LOAD_FAST, a);
        code_emit(&c, OP_LOAD_GLOBAL, present);
        code_emit(&c, OP_LOAD_GLOBAL, missing);
        code_emit(&c, OP_BUILD_LIST, 3);
        code_emit(&c, OP_RETURN_VALUE, 0);
        obj_t *g = make_list(&l, 2, 300);
        l.interp->globals[present] = g;
        obj_t *args[1] = {l.ops->int_new(l.ts, 1000)};
        expect_error(&l, &c, args, 1, "NameError: name 'missing' is not defined");
        cr_assert_eq(lab_rc(&l, g), 1, "%s: the global's loaded reference was released", l.what);
        cr_assert_eq(interp_live_objects(l.interp), l.live0 + 3, "%s: only the global remains", l.what);
    }
}

Test(eval, errors_type_error)
{
    FOR_EACH_LAB(l, HEAP_pymalloc) {
        code_t c;
        binop_code(&c, "typeerr", BINOP_ADD);
        obj_t *args[2] = {l.ops->int_new(l.ts, 1000), make_list(&l, 2, 1000)};
        expect_error(&l, &c, args, 2, "TypeError");
        lab_check_clean(&l, "int + list");

        code_init(&c, "subscr_int", NULL);
        int a = code_local(&c, "a");
        code_emit(&c, OP_LOAD_FAST, a);
        code_emit(&c, OP_LOAD_CONST, code_const(&c, 0));
        code_emit(&c, OP_BINARY_SUBSCR, 0);
        code_emit(&c, OP_RETURN_VALUE, 0);
        obj_t *arg = l.ops->int_new(l.ts, 1000);
        expect_error(&l, &c, &arg, 1, "TypeError");
        lab_check_clean(&l, "1000[0]");
    }
}

/* An error deep in a loop that has built a list of 300 ints: the list, its
 * items, the loop variables and the constants all go. */
Test(eval, error_inside_a_loop_releases_everything)
{
    FOR_EACH_LAB(l, HEAP_pymalloc) {
        /* def f(n): lst = []; while n > 0: lst.append(n + 1000); n -= 1
         *           return lst[1000] */
        code_t c;
        code_init(&c, "loop", NULL);
        int n = code_local(&c, "n"), lst = code_local(&c, "lst");
        code_emit(&c, OP_BUILD_LIST, 0);
        code_emit(&c, OP_STORE_FAST, lst);
        int loop = code_emit(&c, OP_LOAD_FAST, n);
        code_emit(&c, OP_LOAD_CONST, code_const(&c, 0));
        code_emit(&c, OP_COMPARE_OP, CMP_GT);
        int exit_jump = code_emit(&c, OP_POP_JUMP_IF_FALSE, 0);
        code_emit(&c, OP_LOAD_FAST, lst);
        code_emit(&c, OP_LOAD_FAST, n);
        code_emit(&c, OP_LOAD_CONST, code_const(&c, 1000));
        code_emit(&c, OP_BINARY_OP, BINOP_ADD);
        code_emit(&c, OP_LIST_APPEND, 1);
        code_emit(&c, OP_POP_TOP, 0);
        code_emit(&c, OP_LOAD_FAST, n);
        code_emit(&c, OP_LOAD_CONST, code_const(&c, 1));
        code_emit(&c, OP_BINARY_OP, BINOP_INPLACE_SUB);
        code_emit(&c, OP_STORE_FAST, n);
        code_emit(&c, OP_JUMP_BACKWARD, loop);
        code_patch(&c, exit_jump, code_emit(&c, OP_LOAD_FAST, lst));
        code_emit(&c, OP_LOAD_CONST, code_const(&c, 1000));
        code_emit(&c, OP_BINARY_SUBSCR, 0);
        code_emit(&c, OP_RETURN_VALUE, 0);
        obj_t *arg = l.ops->int_new(l.ts, 300);
        uint64_t alloc0 = l.ts->count.objects_allocated;
        expect_error(&l, &c, &arg, 1, "IndexError");
        cr_assert_geq(l.ts->count.objects_allocated - alloc0, 301, "%s: the loop ran", l.what);
        lab_check_clean(&l, "error in a loop");
    }
}

/* ---- code_check ------------------------------------------------------------ */

static void expect_rejected(const code_t *c, const char *expect)
{
    char err[200] = "";
    cr_assert_eq(code_check(c, err, sizeof(err)), -1, "%s must be rejected (%s)", c->name, expect);
    cr_assert(strstr(err, expect) != NULL, "%s: message '%s' lacks '%s'", c->name, err, expect);
    cr_assert(strstr(err, c->name) != NULL, "the message names the code: '%s'", err);
}

Test(code_check, bad_indices)
{
    code_t c;
    code_init(&c, "badlocal", NULL);
    code_local(&c, "a");
    code_emit(&c, OP_LOAD_FAST, 1);
    code_emit(&c, OP_RETURN_VALUE, 0);
    expect_rejected(&c, "bad argument 1");

    code_init(&c, "negstore", NULL);
    code_local(&c, "a");
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 1));
    code_emit(&c, OP_STORE_FAST, -1);
    code_emit(&c, OP_LOAD_FAST, 0);
    code_emit(&c, OP_RETURN_VALUE, 0);
    expect_rejected(&c, "STORE_FAST has a bad argument -1");

    code_init(&c, "badconst", NULL);
    code_const(&c, 1);
    code_emit(&c, OP_LOAD_CONST, 1);
    code_emit(&c, OP_RETURN_VALUE, 0);
    expect_rejected(&c, "LOAD_CONST has a bad argument");

    code_init(&c, "badglobal", NULL);
    code_emit(&c, OP_LOAD_GLOBAL, 0);
    code_emit(&c, OP_RETURN_VALUE, 0);
    expect_rejected(&c, "LOAD_GLOBAL has a bad argument");

    code_init(&c, "badbinop", NULL);
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 1));
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 2));
    code_emit(&c, OP_BINARY_OP, BINOP_COUNT);
    code_emit(&c, OP_RETURN_VALUE, 0);
    expect_rejected(&c, "BINARY_OP has a bad argument");

    code_init(&c, "badcmp", NULL);
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 1));
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 2));
    code_emit(&c, OP_COMPARE_OP, -1);
    code_emit(&c, OP_RETURN_VALUE, 0);
    expect_rejected(&c, "COMPARE_OP has a bad argument");

    code_init(&c, "badop", NULL);
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 1));
    code_emit(&c, OP_COUNT, 0);
    code_emit(&c, OP_RETURN_VALUE, 0);
    expect_rejected(&c, "unknown opcode");
}

Test(code_check, jumps_out_of_range)
{
    code_t c;
    code_init(&c, "farjump", NULL);
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 1));
    code_emit(&c, OP_POP_JUMP_IF_FALSE, 10);
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 1));
    code_emit(&c, OP_RETURN_VALUE, 0);
    expect_rejected(&c, "POP_JUMP_IF_FALSE has a bad argument 10");

    code_init(&c, "backjump", NULL);
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 1));
    code_emit(&c, OP_POP_JUMP_IF_FALSE, 0);   /* forward jumps only */
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 1));
    code_emit(&c, OP_RETURN_VALUE, 0);
    expect_rejected(&c, "POP_JUMP_IF_FALSE has a bad argument 0");

    code_init(&c, "fwdback", NULL);
    code_emit(&c, OP_JUMP_BACKWARD, 2);       /* backward jumps only */
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 1));
    code_emit(&c, OP_RETURN_VALUE, 0);
    expect_rejected(&c, "JUMP_BACKWARD has a bad argument 2");

    code_init(&c, "negjump", NULL);
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 1));
    code_emit(&c, OP_JUMP_BACKWARD, -1);
    code_emit(&c, OP_RETURN_VALUE, 0);
    expect_rejected(&c, "JUMP_BACKWARD has a bad argument -1");
}

Test(code_check, stack_bounds)
{
    code_t c;
    code_init(&c, "underflow", NULL);
    code_emit(&c, OP_POP_TOP, 0);
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 1));
    code_emit(&c, OP_RETURN_VALUE, 0);
    expect_rejected(&c, "POP_TOP takes the stack out of 0..");

    code_init(&c, "binunder", NULL);
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 1));
    code_emit(&c, OP_BINARY_OP, BINOP_ADD);
    code_emit(&c, OP_RETURN_VALUE, 0);
    expect_rejected(&c, "BINARY_OP takes the stack out of");

    code_init(&c, "retempty", NULL);
    code_emit(&c, OP_RETURN_VALUE, 0);
    expect_rejected(&c, "RETURN_VALUE takes the stack out of");

    code_init(&c, "buildunder", NULL);
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 1));
    code_emit(&c, OP_BUILD_LIST, 2);
    code_emit(&c, OP_RETURN_VALUE, 0);
    expect_rejected(&c, "BUILD_LIST takes the stack out of");

    code_init(&c, "appendunder", NULL);
    code_emit(&c, OP_BUILD_LIST, 0);
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 1));
    code_emit(&c, OP_LIST_APPEND, 2);
    code_emit(&c, OP_RETURN_VALUE, 0);
    expect_rejected(&c, "LIST_APPEND reaches below the stack");

    code_init(&c, "appendzero", NULL);
    code_emit(&c, OP_BUILD_LIST, 0);
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 1));
    code_emit(&c, OP_LIST_APPEND, 0);
    code_emit(&c, OP_RETURN_VALUE, 0);
    expect_rejected(&c, "LIST_APPEND has a bad argument 0");

    /* CODE_MAX_STACK values fit, one more does not. */
    code_init(&c, "overflow", NULL);
    for (int i = 0; i <= CODE_MAX_STACK; i++)
        code_emit(&c, OP_LOAD_CONST, code_const(&c, 1));
    code_emit(&c, OP_BUILD_LIST, CODE_MAX_STACK + 1);
    code_emit(&c, OP_RETURN_VALUE, 0);
    expect_rejected(&c, "takes the stack out of 0..8");

    code_init(&c, "fullstack", NULL);
    for (int i = 0; i < CODE_MAX_STACK; i++)
        code_emit(&c, OP_LOAD_CONST, code_const(&c, 1000 + i % 3));
    code_emit(&c, OP_BUILD_LIST, CODE_MAX_STACK);
    code_emit(&c, OP_RETURN_VALUE, 0);
    must_check(&c);
    FOR_EACH_GUARD(l, HEAP_malloc, false) {
        obj_t *r = run(&l, &c, NULL, 0);
        cr_assert_not_null(r, "%s: %s", l.what, l.ts->error);
        cr_assert_eq(((list_obj_t *)r)->size, CODE_MAX_STACK);
        for (int i = 0; i < CODE_MAX_STACK; i++)
            cr_assert_eq(int_value(item(r, i)), 1000 + i % 3);
        l.ops->decref(l.ts, r);
    }
}

Test(code_check, must_end_in_return)
{
    code_t c;
    code_init(&c, "noreturn", NULL);
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 1));
    code_emit(&c, OP_POP_TOP, 0);
    expect_rejected(&c, "must end with RETURN_VALUE");

    code_init(&c, "empty", NULL);
    expect_rejected(&c, "must end with RETURN_VALUE");
}

Test(code_check, inconsistent_depth_at_jump_target)
{
    /* while n: push n (leaks one stack slot per iteration) */
    code_t c;
    code_init(&c, "grows", NULL);
    int n = code_local(&c, "n");
    int loop = code_emit(&c, OP_LOAD_FAST, n);
    int exit_jump = code_emit(&c, OP_POP_JUMP_IF_FALSE, 0);
    code_emit(&c, OP_LOAD_FAST, n);
    code_emit(&c, OP_JUMP_BACKWARD, loop);
    code_patch(&c, exit_jump, code_emit(&c, OP_LOAD_CONST, code_const(&c, CODE_CONST_NONE)));
    code_emit(&c, OP_RETURN_VALUE, 0);
    expect_rejected(&c, "instruction 3 jumps to 0 with an inconsistent stack");

    /* A forward jump and the fall-through disagree. */
    code_init(&c, "merge", NULL);
    n = code_local(&c, "n");
    code_emit(&c, OP_LOAD_FAST, n);
    code_emit(&c, OP_LOAD_FAST, n);
    exit_jump = code_emit(&c, OP_POP_JUMP_IF_FALSE, 0);   /* depth 1 at the target */
    code_emit(&c, OP_LOAD_FAST, n);                        /* depth 2 falling through */
    code_patch(&c, exit_jump, code_emit(&c, OP_RETURN_VALUE, 0));
    expect_rejected(&c, "inconsistent stack");

    /* Unreachable code after an unconditional jump. */
    code_init(&c, "dead", NULL);
    code_emit(&c, OP_JUMP_BACKWARD, 0);
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 1));
    code_emit(&c, OP_RETURN_VALUE, 0);
    expect_rejected(&c, "unreachable");
}

/* ---- the workloads ---------------------------------------------------------- */

static void default_params(const workload_t *wl, int64_t *params)
{
    for (int i = 0; i < WL_MAX_PARAMS; i++)
        params[i] = i < wl->nparams ? wl->params[i].def : 0;
}

Test(eval, workloads_run_under_every_guard)
{
    enum { SIZE = 3000 };
    cr_assert_geq(wl_count(), 3);
    for (size_t w = 0; w < wl_count(); w++) {
        const workload_t *wl = wl_at(w);
        if (wl->client != NULL)
            continue;   /* it needs its client to answer (test_convoy.c) */
        int64_t params[WL_MAX_PARAMS];
        default_params(wl, params);
        if (wl == &wl_alloc)
            params[0] = 100;   /* k: 30 rounds of 100 */
        if (wl == &wl_cow)
            params[wl_param_find(wl, "objects")] = 100;   /* 3000 passes over 100 */
        if (wl == &wl_io)
            params[0] = 1;     /* block_us: 3000 sleeps of 1 us */
        code_t c;
        cr_assert_eq(wl->build(&c, params), 0, "%s builds", wl->name);
        cr_assert_str_eq(c.name, wl->name);
        must_check(&c);
        for (int g = 0; g < GUARD_COUNT; g++) {
            for (int imm = 0; imm < 2; imm++) {
                heap_kind_t heap = g == GUARD_gil || g == GUARD_none ? HEAP_pymalloc : HEAP_mimalloc;
                lab_t l = lab_open_attached(g, heap, imm);
                lab_t fresh = l;
                if (wl->setup != NULL) {
                    cr_assert_eq(wl->setup(l.ts, params), 0, "%s setup: %s", wl->name, l.ts->error);
                    cr_assert_not_null(l.interp->globals[0]);
                    lab_snapshot(&l);   /* L's items hold small ints */
                }
                uint64_t alloc0 = l.ts->count.objects_allocated;
                obj_t *arg = l.ops->int_new(l.ts, SIZE);
                obj_t *r = l.ops->eval(l.ts, &c, &arg, 1);
                cr_assert_eq(r, interp_none(l.interp), "%s under %s: returns None (%s)", wl->name, l.what, l.ts->error);
                l.ops->decref(l.ts, r);
                interp_finalize(l.ts);   /* the cycles the workload dropped, as at exit */
                lab_check_clean(&l, wl->name);
                if (wl == &wl_countdown)
                    cr_assert_eq(l.ts->count.objects_allocated - alloc0, SIZE - SMALL_INT_MAX,
                                 "countdown(%d) allocates the argument and %d..257", SIZE, SIZE - 1);
                else if (wl == &wl_io)
                    cr_assert_eq(l.ts->count.blocking_calls, SIZE, "io(%d) sleeps %d times", SIZE, SIZE);
                else
                    cr_assert_gt(l.ts->count.objects_allocated - alloc0, 1, "%s ran", wl->name);
                if (wl == &wl_shared) {
                    obj_t *list = l.interp->globals[0];
                    cr_assert_eq(((list_obj_t *)list)->size, params[0]);
                    cr_assert_eq(lab_rc(&l, list), 1, "%s: only the global holds L", l.what);
                }
                l = fresh;   /* lab_close clears the globals */
                lab_close(&l);
            }
        }
    }
}

/* ---- code_dis ---------------------------------------------------------------- */

static void print_dis(FILE *f, const void *c) { code_dis(c, f); }

static char *dis_text(const code_t *c) { return capture(print_dis, c); }

Test(code_dis, countdown)
{
    code_t c;
    cr_assert_eq(wl_countdown.build(&c, NULL), 0);
    char *text = dis_text(&c);
    static const char *const expect[] = {
        "Disassembly of <code object countdown>", "while n > 0:", "LOAD_FAST", "(n)", "LOAD_CONST",
        "(0)", "COMPARE_OP", "(>)", "POP_JUMP_IF_FALSE", "BINARY_OP", "(-=)", "STORE_FAST",
        "JUMP_BACKWARD", "(to 0)", ">>", "(None)", "RETURN_VALUE",
    };
    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
        cr_assert(strstr(text, expect[i]) != NULL, "dis lacks '%s':\n%s", expect[i], text);
    /* One line per instruction after the header. */
    int lines = 0;
    for (const char *p = strstr(text, "\n\n"); p != NULL && *p; p++)
        lines += *p == '\n';
    cr_assert_eq(lines, c.ninstrs + 2, "dis:\n%s", text);
    free(text);
}

Test(code_dis, every_opcode_by_name)
{
    code_t c;
    code_init(&c, "all", NULL);
    int a = code_local(&c, "a");
    int g = code_global(&c, "G");
    code_emit(&c, OP_LOAD_FAST, a);
    code_emit(&c, OP_STORE_FAST, a);
    int loop = code_emit(&c, OP_LOAD_GLOBAL, g);
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 0));
    code_emit(&c, OP_BINARY_SUBSCR, 0);
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 3));
    code_emit(&c, OP_BINARY_OP, BINOP_MUL);
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 3));
    code_emit(&c, OP_COMPARE_OP, CMP_LE);
    int j = code_emit(&c, OP_POP_JUMP_IF_FALSE, 0);
    code_emit(&c, OP_JUMP_BACKWARD, loop);
    code_patch(&c, j, code_emit(&c, OP_BUILD_LIST, 0));
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 9));
    code_emit(&c, OP_LIST_APPEND, 1);
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 9));
    code_emit(&c, OP_POP_TOP, 0);
    code_emit(&c, OP_LOAD_GLOBAL, g);
    code_emit(&c, OP_CALL, 0);
    code_emit(&c, OP_LOAD_FAST, a);
    code_emit(&c, OP_STORE_ATTR, NODE_SLOT_next);
    code_emit(&c, OP_LOAD_FAST, a);
    code_emit(&c, OP_LOAD_ATTR, NODE_SLOT_data);
    code_emit(&c, OP_LOAD_CONST, code_const(&c, 0));
    code_emit(&c, OP_CALL_BLOCKING, BLOCKING_SLEEP);
    code_emit(&c, OP_POP_TOP, 0);
    code_emit(&c, OP_POP_TOP, 0);
    code_emit(&c, OP_RETURN_VALUE, 0);
    must_check(&c);
    char *text = dis_text(&c);
    cr_assert(strstr(text, "(next)") != NULL && strstr(text, "(data)") != NULL, "%s", text);
    for (int op = 0; op < OP_COUNT; op++)
        cr_assert(strstr(text, opcode_name(op)) != NULL, "dis lacks %s:\n%s", opcode_name(op), text);
    cr_assert(strstr(text, "(G)") != NULL, "%s", text);
    cr_assert(strstr(text, "(*)") != NULL, "%s", text);
    cr_assert(strstr(text, "(<=)") != NULL, "%s", text);
    cr_assert(strstr(text, "(to 4)") != NULL, "jump offsets count 2 bytes:\n%s", text);
    cr_assert(strstr(text, "CALL_BLOCKING           0 (time.sleep)") != NULL, "%s", text);
    free(text);
    cr_assert_str_eq(opcode_name(OP_COUNT), "?");
    cr_assert_str_eq(binop_symbol(BINOP_COUNT), "?");
    cr_assert_str_eq(cmpop_symbol(CMP_COUNT), "?");
}
