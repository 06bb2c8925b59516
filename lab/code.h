/* lab/code.h: bytecode, the lab's code objects (CPython's PyCodeObject).
 *
 * The opcodes are a handful of CPython 3.12's, with the same names and the
 * same refcount and allocation work, so that a workload's cost per iteration
 * has the same shape as in CPython:
 *
 *   LOAD_FAST i          push locals[i]                          incref
 *   LOAD_CONST i         push consts[i]                          incref (no-op if immortal)
 *   LOAD_GLOBAL i        push globals[i]                         incref (shared object!)
 *   STORE_FAST i         locals[i] = pop()                       decref old value (may free)
 *   POP_TOP              pop()                                   decref
 *   BINARY_OP op         push(l op r)                            allocate result outside the
 *                                                                small-int cache; decref l, r
 *   COMPARE_OP op        push(l op r)                            True/False; decref l, r
 *   BINARY_SUBSCR        push(list[i])                           incref item; decref list, i
 *   POP_JUMP_IF_FALSE t  if not pop(): jump to t                 decref
 *   JUMP_BACKWARD t      jump to t                               poll the eval breaker
 *   BUILD_LIST n         push a new list of the n popped items   allocate list (+ items)
 *   LIST_APPEND i        stack[-i].append(pop())                 may realloc items
 *   RETURN_VALUE         return pop()                            decref every local
 *   CALL n               push(f(args)) for [f, arg1..n]          a class: allocate an instance
 *                                                                (a container); a built-in
 *   LOAD_ATTR i          push(pop().slot_i)                      incref slot; decref owner
 *   STORE_ATTR i         owner = pop(); owner.slot_i = pop()     decref old value, owner
 *   CALL_BLOCKING k      push(k(*args)): a builtin that blocks   decref the args; the GIL
 *                        (time.sleep, socket.recv/sendall)       released around the call
 *
 * Constants are stored as integers and materialised as objects when a worker
 * starts (small ones come from the small-int cache and are immortal), so the
 * same code can run under any guard.
 */
#ifndef GL_CODE_H
#define GL_CODE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* X(name, has_arg) */
#define OPCODE_LIST(X)                                                         \
    X(LOAD_FAST, 1)                                                            \
    X(LOAD_CONST, 1)                                                           \
    X(LOAD_GLOBAL, 1)                                                          \
    X(STORE_FAST, 1)                                                           \
    X(POP_TOP, 0)                                                              \
    X(BINARY_OP, 1)                                                            \
    X(COMPARE_OP, 1)                                                           \
    X(BINARY_SUBSCR, 0)                                                        \
    X(POP_JUMP_IF_FALSE, 1)                                                    \
    X(JUMP_BACKWARD, 1)                                                        \
    X(BUILD_LIST, 1)                                                           \
    X(LIST_APPEND, 1)                                                          \
    X(RETURN_VALUE, 0)                                                         \
    X(CALL, 1)                                                                 \
    X(LOAD_ATTR, 1)                                                            \
    X(STORE_ATTR, 1)                                                           \
    X(CALL_BLOCKING, 1)

typedef enum opcode {
#define X(name, has_arg) OP_##name,
    OPCODE_LIST(X)
#undef X
    OP_COUNT
} opcode_t;

/* X(name, symbol) — BINARY_OP arguments, CPython's NB_* order subset. */
#define BINOP_LIST(X) X(ADD, "+") X(SUB, "-") X(MUL, "*") X(MOD, "%") X(INPLACE_ADD, "+=") X(INPLACE_SUB, "-=")
typedef enum binop {
#define X(name, sym) BINOP_##name,
    BINOP_LIST(X)
#undef X
    BINOP_COUNT
} binop_t;

/* X(name, symbol) — COMPARE_OP arguments. */
#define CMP_LIST(X) X(LT, "<") X(LE, "<=") X(EQ, "==") X(NE, "!=") X(GT, ">") X(GE, ">=")
typedef enum cmpop {
#define X(name, sym) CMP_##name,
    CMP_LIST(X)
#undef X
    CMP_COUNT
} cmpop_t;

/* X(name, what it models, arguments) — CALL_BLOCKING arguments: the
 * builtins that block with the GIL released (lab/blocking.h runs them).
 * Each pops its arguments (ints) and pushes its result:
 *
 *   sleep(us)         time.sleep(us / 1e6)     -> None
 *   recv(fd)          socket.recv on fd: one 8-byte message as an int,
 *                     0 at end of stream (b'' is falsy, as in Python)
 *   sendall(fd, v)    socket.sendall on fd: v as one 8-byte message -> None
 */
#define BLOCKING_LIST(X)                                                       \
    X(SLEEP, "time.sleep", 1)                                                  \
    X(RECV, "socket.recv", 1)                                                  \
    X(SEND, "socket.sendall", 2)
typedef enum blocking {
#define X(name, what, nargs) BLOCKING_##name,
    BLOCKING_LIST(X)
#undef X
    BLOCKING_COUNT
} blocking_t;

typedef struct instr {
    uint8_t op;
    int32_t arg;
} instr_t;

#define CODE_MAX_INSTRS 64
#define CODE_MAX_CONSTS 8
#define CODE_MAX_LOCALS 8
#define CODE_MAX_STACK 8
#define CODE_CONST_NONE INT64_MIN   /* the constant None */

typedef struct code {
    const char *name;                        /* function name, for dis */
    const char *source;                      /* the Python it models, for dis */
    instr_t instrs[CODE_MAX_INSTRS];
    int ninstrs;
    int64_t consts[CODE_MAX_CONSTS];         /* CODE_CONST_NONE for None */
    int nconsts;
    const char *localnames[CODE_MAX_LOCALS]; /* local 0 is the argument */
    int nlocals;
    const char *globalnames[CODE_MAX_LOCALS];
    int nglobals;
} code_t;

/* Start a code object. Cannot fail. */
void code_init(code_t *code, const char *name, const char *source);

/* Append an instruction; returns its index (the target of a later jump), or
 * -1 when the code is full (a bug in the workload, reported by code_check). */
int code_emit(code_t *code, opcode_t op, int32_t arg);

/* Patch the argument of instruction `at` (forward jumps). */
void code_patch(code_t *code, int at, int32_t arg);

/* Index of a constant (added if new); -1 when the table is full. */
int code_const(code_t *code, int64_t value);

/* Index of a local by name (added if new); -1 when full. */
int code_local(code_t *code, const char *name);

/* Index of a global by name (added if new); -1 when full. */
int code_global(code_t *code, const char *name);

/* The loop every workload is built around, the seed's countdown:
 *
 *     while n > 0:        code_countdown_begin(code, n, &loop)
 *         <body>
 *         n -= step       code_countdown_end(code, n, step, &loop)
 *     return None
 *
 * begin emits the test and fills `loop`; end emits the decrement, the
 * backward jump (where the eval breaker is polled), and `return None` as the
 * exit target. end returns 0, or -1 when the code is full. */
typedef struct code_loop {
    int head;        /* first instruction of the test */
    int exit_jump;   /* the POP_JUMP_IF_FALSE to patch */
} code_loop_t;
void code_countdown_begin(code_t *code, int local, code_loop_t *loop);
int code_countdown_end(code_t *code, int local, int64_t step, const code_loop_t *loop);

/* The counting loop a `for v in range(start, limit)` compiles to here (the
 * lab has no iterators: a while loop over an int, as CPython's FOR_ITER
 * over a range amounts to):
 *
 *     v = start           code_upto_begin(code, v, start, limit_op,
 *     while v < limit:                    limit_arg, &loop)
 *         <body>
 *         v += 1          code_upto_end(code, v, &loop)
 *
 * The limit is loaded with limit_op/limit_arg: LOAD_CONST of a constant
 * index, or LOAD_FAST of a local. end leaves the exit patched to the next
 * instruction. */
void code_upto_begin(code_t *code, int v, int64_t start, opcode_t limit_op, int limit_arg, code_loop_t *loop);
void code_upto_end(code_t *code, int v, const code_loop_t *loop);
/* A little interpreter work inside a larger body (io, convoy):
 *
 *     k = count
 *     while k > 0:
 *         k -= 1
 *
 * in local `local`, falling through to whatever is emitted next (which must
 * exist: the loop's exit jumps there). Nothing for count 0. Returns 0, or
 * -1 when the code is full. */
int code_emit_work(code_t *code, int local, int64_t count);

/* Verify the code can run: indices in range, jumps in range, the stack depth
 * never exceeds CODE_MAX_STACK nor goes negative, the last instruction
 * returns. Returns 0, or -1 with a one-line reason in `err`. */
int code_check(const code_t *code, char *err, size_t errlen);

/* Print the code like Python's dis.dis. */
void code_dis(const code_t *code, FILE *out);

/* Opcode and operator names. */
const char *opcode_name(opcode_t op);
const char *binop_symbol(binop_t op);
const char *cmpop_symbol(cmpop_t op);
/* What a CALL_BLOCKING argument models ("time.sleep"), and how many values
 * it pops (0 for an unknown one). */
const char *blocking_name(blocking_t b);
int blocking_nargs(blocking_t b);

#endif
