/* tests/test_builtins.c: the built-ins seed 002 looks at objects with,
 * called by bytecode under every guard and immortal setting:
 *
 *   - sys.getrefcount(a) counts the argument's own reference on the
 *     stack: a = []; b = a gives 3, as CPython 3.12 prints;
 *   - it reads 2**32 - 1 for an immortal object, and a real count with
 *     --no-immortal;
 *   - id(o) is the address of o's header, where CPython's PyObject *
 *     points, so the ids of two cached small ints are one static object
 *     apart;
 *   - both refuse a wrong number of arguments with a TypeError.
 */
#include <criterion/criterion.h>
#define CHECK(cond, ...) cr_assert(cond, __VA_ARGS__)

#include "lab/code.h"
#include "lab/interp.h"
#include "lab_fixture.h"

/* Globals 0 and 1, in every code below. */
static void set_builtins(lab_t *l, code_t *c)
{
    cr_assert_eq(code_global(c, "id"), 0);
    cr_assert_eq(code_global(c, "sys.getrefcount"), 1);
    l->interp->globals[0] = interp_builtin(l->interp, BUILTIN_id);
    l->interp->globals[1] = interp_builtin(l->interp, BUILTIN_sys_getrefcount);
    l->ops->incref(l->ts, l->interp->globals[0]);
    l->ops->incref(l->ts, l->interp->globals[1]);
}

/* Emit global(constant): the built-in `global` called on a constant. */
static void emit_call_const(code_t *c, int global, int64_t constant)
{
    code_emit(c, OP_LOAD_GLOBAL, global);
    code_emit(c, OP_LOAD_CONST, code_const(c, constant));
    code_emit(c, OP_CALL, 1);
}

/* Run c (no argument) and return its int result. */
static int64_t run_int(lab_t *l, const code_t *c)
{
    char err[160];
    cr_assert_eq(code_check(c, err, sizeof err), 0, "%s", err);
    obj_t *r = l->ops->eval(l->ts, c, NULL, 0);
    cr_assert_not_null(r, "%s: %s", l->what, l->ts->error);
    int64_t v = int_value(r);
    l->ops->decref(l->ts, r);
    return v;
}

Test(builtins, getrefcount_counts_its_argument)
{
    FOR_EACH_LAB(l, HEAP_malloc) {
        /* a = []; b = a; return sys.getrefcount(a) */
        code_t c;
        code_init(&c, "f", NULL);
        set_builtins(&l, &c);
        int a = code_local(&c, "a"), b = code_local(&c, "b");
        code_emit(&c, OP_BUILD_LIST, 0);
        code_emit(&c, OP_STORE_FAST, a);
        code_emit(&c, OP_LOAD_FAST, a);
        code_emit(&c, OP_STORE_FAST, b);
        code_emit(&c, OP_LOAD_GLOBAL, 1);
        code_emit(&c, OP_LOAD_FAST, a);
        code_emit(&c, OP_CALL, 1);
        code_emit(&c, OP_RETURN_VALUE, 0);
        cr_expect_eq(run_int(&l, &c), 3, "%s: a, b and the argument", l.what);

        /* return sys.getrefcount(10): immortal, or counted */
        code_init(&c, "g", NULL);
        set_builtins(&l, &c);
        emit_call_const(&c, 1, 10);
        code_emit(&c, OP_RETURN_VALUE, 0);
        /* Without immortality: the interpreter's reference, the constant's
         * and the argument's. */
        cr_expect_eq(run_int(&l, &c), l.immortal ? OBJ_IMMORTAL_REFCNT : 3, "%s", l.what);
        lab_clear_freelists(&l);
    }
}

Test(builtins, id_is_the_address_of_the_header)
{
    FOR_EACH_GUARD(l, HEAP_pymalloc, true) {
        /* return id(11) - id(10) */
        code_t c;
        code_init(&c, "f", NULL);
        set_builtins(&l, &c);
        emit_call_const(&c, 0, 11);
        emit_call_const(&c, 0, 10);
        code_emit(&c, OP_BINARY_OP, BINOP_SUB);
        code_emit(&c, OP_RETURN_VALUE, 0);
        cr_expect_eq(run_int(&l, &c), (int64_t)sizeof(static_obj_t), "%s", l.what);

        /* id(10) itself */
        code_init(&c, "g", NULL);
        set_builtins(&l, &c);
        emit_call_const(&c, 0, 10);
        code_emit(&c, OP_RETURN_VALUE, 0);
        uintptr_t ten = (uintptr_t)lab_small_int(&l, 10);
        cr_expect_eq((uintptr_t)run_int(&l, &c), ten - obj_head_size(l.layout), "%s", l.what);
    }
}

Test(builtins, wrong_arguments_are_type_errors)
{
    FOR_EACH_GUARD(l, HEAP_malloc, true) {
        for (int g = 0; g < 2; g++) {
            code_t c;
            code_init(&c, "f", NULL);
            set_builtins(&l, &c);
            code_emit(&c, OP_LOAD_GLOBAL, g);
            code_emit(&c, OP_CALL, 0);
            code_emit(&c, OP_RETURN_VALUE, 0);
            cr_expect_null(l.ops->eval(l.ts, &c, NULL, 0), "%s", l.what);
            cr_expect(strstr(l.ts->error, "TypeError") && strstr(l.ts->error, "exactly one argument"),
                      "%s: %s", l.what, l.ts->error);
        }
    }
}
