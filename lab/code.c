/* lab/code.c: building, checking and disassembling code objects. The
 * checker plays the role of CPython's compiler guarantees: the interpreter
 * loop trusts every index and the stack depth, so code_check must reject
 * anything that would make it read out of bounds.
 */
#include "lab/code.h"

#include "lab/object.h"

#include <string.h>

static const char *const opcode_names[] = {
#define X(name, has_arg) #name,
    OPCODE_LIST(X)
#undef X
};

static const int opcode_has_arg[] = {
#define X(name, has_arg) has_arg,
    OPCODE_LIST(X)
#undef X
};

static const char *const binop_symbols[] = {
#define X(name, sym) sym,
    BINOP_LIST(X)
#undef X
};

static const char *const cmpop_symbols[] = {
#define X(name, sym) sym,
    CMP_LIST(X)
#undef X
};

static const char *const blocking_names[] = {
#define X(name, what, nargs) what,
    BLOCKING_LIST(X)
#undef X
};

static const int blocking_arg_counts[] = {
#define X(name, what, nargs) nargs,
    BLOCKING_LIST(X)
#undef X
};

const char *opcode_name(opcode_t op) { return (unsigned)op < OP_COUNT ? opcode_names[op] : "?"; }
const char *binop_symbol(binop_t op) { return (unsigned)op < BINOP_COUNT ? binop_symbols[op] : "?"; }
const char *cmpop_symbol(cmpop_t op) { return (unsigned)op < CMP_COUNT ? cmpop_symbols[op] : "?"; }
const char *blocking_name(blocking_t b) { return (unsigned)b < BLOCKING_COUNT ? blocking_names[b] : "?"; }
int blocking_nargs(blocking_t b) { return (unsigned)b < BLOCKING_COUNT ? blocking_arg_counts[b] : 0; }

void code_init(code_t *code, const char *name, const char *source)
{
    memset(code, 0, sizeof(*code));
    code->name = name;
    code->source = source;
}

int code_emit(code_t *code, opcode_t op, int32_t arg)
{
    if (code->ninstrs >= CODE_MAX_INSTRS)
        return -1;
    code->instrs[code->ninstrs] = (instr_t){.op = (uint8_t)op, .arg = arg};
    return code->ninstrs++;
}

void code_patch(code_t *code, int at, int32_t arg)
{
    if (at >= 0 && at < code->ninstrs)
        code->instrs[at].arg = arg;
}

int code_const(code_t *code, int64_t value)
{
    for (int i = 0; i < code->nconsts; i++)
        if (code->consts[i] == value)
            return i;
    if (code->nconsts >= CODE_MAX_CONSTS)
        return -1;
    code->consts[code->nconsts] = value;
    return code->nconsts++;
}

/* Index of `name` in a name table of `*count` entries, added if new. */
static int code_name_index(const char **names, int *count, const char *name)
{
    for (int i = 0; i < *count; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    if (*count >= CODE_MAX_LOCALS)
        return -1;
    names[*count] = name;
    return (*count)++;
}

int code_local(code_t *code, const char *name)
{
    return code_name_index(code->localnames, &code->nlocals, name);
}

int code_global(code_t *code, const char *name)
{
    return code_name_index(code->globalnames, &code->nglobals, name);
}

void code_countdown_begin(code_t *code, int local, code_loop_t *loop)
{
    loop->head = code_emit(code, OP_LOAD_FAST, local);
    code_emit(code, OP_LOAD_CONST, code_const(code, 0));
    code_emit(code, OP_COMPARE_OP, CMP_GT);
    loop->exit_jump = code_emit(code, OP_POP_JUMP_IF_FALSE, 0);
}

int code_countdown_end(code_t *code, int local, int64_t step, const code_loop_t *loop)
{
    code_emit(code, OP_LOAD_FAST, local);
    code_emit(code, OP_LOAD_CONST, code_const(code, step));
    code_emit(code, OP_BINARY_OP, BINOP_INPLACE_SUB);
    code_emit(code, OP_STORE_FAST, local);
    code_emit(code, OP_JUMP_BACKWARD, loop->head);
    code_patch(code, loop->exit_jump, code_emit(code, OP_LOAD_CONST, code_const(code, CODE_CONST_NONE)));
    return code_emit(code, OP_RETURN_VALUE, 0) < 0 ? -1 : 0;
}

int code_emit_work(code_t *code, int local, int64_t count)
{
    if (count == 0)
        return 0;
    code_emit(code, OP_LOAD_CONST, code_const(code, count));
    code_emit(code, OP_STORE_FAST, local);
    code_loop_t loop;
    code_countdown_begin(code, local, &loop);
    code_emit(code, OP_LOAD_FAST, local);
    code_emit(code, OP_LOAD_CONST, code_const(code, 1));
    code_emit(code, OP_BINARY_OP, BINOP_INPLACE_SUB);
    code_emit(code, OP_STORE_FAST, local);
    int back = code_emit(code, OP_JUMP_BACKWARD, loop.head);
    code_patch(code, loop.exit_jump, code->ninstrs);
    return back < 0 ? -1 : 0;
}

void code_upto_begin(code_t *code, int v, int64_t start, opcode_t limit_op, int limit_arg, code_loop_t *loop)
{
    code_emit(code, OP_LOAD_CONST, code_const(code, start));
    code_emit(code, OP_STORE_FAST, v);
    loop->head = code_emit(code, OP_LOAD_FAST, v);
    code_emit(code, limit_op, limit_arg);
    code_emit(code, OP_COMPARE_OP, CMP_LT);
    loop->exit_jump = code_emit(code, OP_POP_JUMP_IF_FALSE, 0);
}

void code_upto_end(code_t *code, int v, const code_loop_t *loop)
{
    code_emit(code, OP_LOAD_FAST, v);
    code_emit(code, OP_LOAD_CONST, code_const(code, 1));
    code_emit(code, OP_BINARY_OP, BINOP_INPLACE_ADD);
    code_emit(code, OP_STORE_FAST, v);
    code_emit(code, OP_JUMP_BACKWARD, loop->head);
    code_patch(code, loop->exit_jump, code->ninstrs);
}

/* Stack effect of one instruction: values popped and pushed. */
static void code_stack_effect(const instr_t *in, int *pop, int *push)
{
    *pop = 0;
    *push = 0;
    switch ((opcode_t)in->op) {
    case OP_LOAD_FAST: case OP_LOAD_CONST: case OP_LOAD_GLOBAL: *push = 1; break;
    case OP_STORE_FAST: case OP_POP_TOP: case OP_POP_JUMP_IF_FALSE: *pop = 1; break;
    case OP_BINARY_OP: case OP_COMPARE_OP: case OP_BINARY_SUBSCR: *pop = 2; *push = 1; break;
    case OP_BUILD_LIST: *pop = in->arg; *push = 1; break;
    case OP_LIST_APPEND: *pop = 1; break;
    case OP_RETURN_VALUE: *pop = 1; break;
    case OP_CALL: *pop = in->arg + 1; *push = 1; break;
    case OP_LOAD_ATTR: *pop = 1; *push = 1; break;
    case OP_STORE_ATTR: *pop = 2; break;
    case OP_CALL_BLOCKING: *pop = blocking_nargs(in->arg); *push = 1; break;
    default: break;
    }
}

/* Check one instruction's argument against the code's tables. */
static int code_check_arg(const code_t *code, const instr_t *in, int at, char *err, size_t errlen)
{
    int32_t a = in->arg;
    int bad = 0;
    switch ((opcode_t)in->op) {
    case OP_LOAD_FAST: case OP_STORE_FAST: bad = a < 0 || a >= code->nlocals; break;
    case OP_LOAD_CONST: bad = a < 0 || a >= code->nconsts; break;
    case OP_LOAD_GLOBAL: bad = a < 0 || a >= code->nglobals; break;
    case OP_BINARY_OP: bad = a < 0 || a >= BINOP_COUNT; break;
    case OP_COMPARE_OP: bad = a < 0 || a >= CMP_COUNT; break;
    case OP_POP_JUMP_IF_FALSE: bad = a <= at || a >= code->ninstrs; break;
    case OP_JUMP_BACKWARD: bad = a < 0 || a > at; break;
    case OP_BUILD_LIST: bad = a < 0 || a > CODE_MAX_STACK; break;
    case OP_LIST_APPEND: bad = a < 1; break;
    case OP_CALL: bad = a < 0 || a >= CODE_MAX_STACK; break;
    case OP_LOAD_ATTR: case OP_STORE_ATTR: bad = a < 0 || a >= NODE_SLOTS; break;
    case OP_CALL_BLOCKING: bad = a < 0 || a >= BLOCKING_COUNT; break;
    default: break;
    }
    if (bad)
        snprintf(err, errlen, "%s: instruction %d %s has a bad argument %d", code->name, at,
                 opcode_name(in->op), a);
    return bad ? -1 : 0;
}

int code_check(const code_t *code, char *err, size_t errlen)
{
    /* Depth at the entry of each instruction, -1 = not reached yet. Jumps
     * must agree on the depth they arrive with, as in CPython's compiler. */
    int depth[CODE_MAX_INSTRS];
    for (int i = 0; i < CODE_MAX_INSTRS; i++)
        depth[i] = -1;
    if (code->ninstrs == 0 || code->instrs[code->ninstrs - 1].op != OP_RETURN_VALUE) {
        snprintf(err, errlen, "%s: code must end with RETURN_VALUE", code->name);
        return -1;
    }
    depth[0] = 0;
    for (int at = 0; at < code->ninstrs; at++) {
        const instr_t *in = &code->instrs[at];
        if (in->op >= OP_COUNT) {
            snprintf(err, errlen, "%s: instruction %d has unknown opcode %d", code->name, at, in->op);
            return -1;
        }
        if (code_check_arg(code, in, at, err, errlen) < 0)
            return -1;
        if (depth[at] < 0) {   /* only reachable backwards: dead code */
            snprintf(err, errlen, "%s: instruction %d is unreachable", code->name, at);
            return -1;
        }
        int pop, push;
        code_stack_effect(in, &pop, &push);
        if (in->op == OP_LIST_APPEND && depth[at] - 1 < in->arg) {
            snprintf(err, errlen, "%s: instruction %d LIST_APPEND reaches below the stack", code->name, at);
            return -1;
        }
        if (in->op == OP_RETURN_VALUE && depth[at] > 1) {
            snprintf(err, errlen, "%s: instruction %d RETURN_VALUE leaves %d values on the stack",
                     code->name, at, depth[at] - 1);
            return -1;
        }
        int after = depth[at] - pop;
        if (after < 0 || after + push > CODE_MAX_STACK) {
            snprintf(err, errlen, "%s: instruction %d %s takes the stack out of 0..%d", code->name, at,
                     opcode_name(in->op), CODE_MAX_STACK);
            return -1;
        }
        after += push;
        int targets[2] = {-1, -1};
        if (in->op == OP_RETURN_VALUE)
            continue;
        if (in->op == OP_JUMP_BACKWARD) {
            targets[0] = in->arg;
        } else {
            targets[0] = at + 1;
            if (in->op == OP_POP_JUMP_IF_FALSE)
                targets[1] = in->arg;
        }
        for (int k = 0; k < 2; k++) {
            int t = targets[k];
            if (t < 0)
                continue;
            if (t >= code->ninstrs || (depth[t] >= 0 && depth[t] != after)) {
                snprintf(err, errlen, "%s: instruction %d jumps to %d with an inconsistent stack",
                         code->name, at, t);
                return -1;
            }
            depth[t] = after;
        }
    }
    return 0;
}

/* The argument column of dis: what the argument means. */
static void code_dis_arg(const code_t *code, const instr_t *in, char *buf, size_t len)
{
    buf[0] = '\0';
    switch ((opcode_t)in->op) {
    case OP_LOAD_FAST: case OP_STORE_FAST:
        snprintf(buf, len, "(%s)", code->localnames[in->arg]);
        break;
    case OP_LOAD_GLOBAL:
        snprintf(buf, len, "(%s)", code->globalnames[in->arg]);
        break;
    case OP_LOAD_CONST:
        if (code->consts[in->arg] == CODE_CONST_NONE)
            snprintf(buf, len, "(None)");
        else
            snprintf(buf, len, "(%lld)", (long long)code->consts[in->arg]);
        break;
    case OP_BINARY_OP: snprintf(buf, len, "(%s)", binop_symbol(in->arg)); break;
    case OP_COMPARE_OP: snprintf(buf, len, "(%s)", cmpop_symbol(in->arg)); break;
    case OP_POP_JUMP_IF_FALSE: case OP_JUMP_BACKWARD:
        snprintf(buf, len, "(to %d)", in->arg * 2);
        break;
    case OP_LOAD_ATTR: case OP_STORE_ATTR:
        snprintf(buf, len, "(%s)", node_slot_name(in->arg));
        break;
    case OP_CALL_BLOCKING: snprintf(buf, len, "(%s)", blocking_name(in->arg)); break;
    default: break;
    }
}

void code_dis(const code_t *code, FILE *out)
{
    /* Jump targets get the ">>" marker, offsets count 2 bytes per
     * instruction, as CPython's wordcode does. */
    char is_target[CODE_MAX_INSTRS] = {0};
    for (int i = 0; i < code->ninstrs; i++)
        if (code->instrs[i].op == OP_POP_JUMP_IF_FALSE || code->instrs[i].op == OP_JUMP_BACKWARD)
            is_target[code->instrs[i].arg] = 1;
    fprintf(out, "Disassembly of <code object %s>:\n", code->name);
    if (code->source != NULL)
        fprintf(out, "%s\n\n", code->source);
    for (int i = 0; i < code->ninstrs; i++) {
        const instr_t *in = &code->instrs[i];
        char meaning[64];
        code_dis_arg(code, in, meaning, sizeof(meaning));
        fprintf(out, "  %2s %6d %-20s", is_target[i] ? ">>" : "", i * 2, opcode_name(in->op));
        if (opcode_has_arg[in->op])
            fprintf(out, " %4d %s", in->arg, meaning);
        fputc('\n', out);
    }
}
