/* workloads/cycles.c: seed 000's reference cycles,
 *
 *     class Node:
 *         __slots__ = ('next', 'data')
 *
 *     def cycles(n):
 *         while n > 0:
 *             first = Node()
 *             last = first
 *             i = 1
 *             while i < cycle:            # a ring of `cycle` nodes
 *                 node = Node()
 *                 last.next = node
 *                 last = node
 *                 i += 1
 *             last.next = first           # closed: a.next = b; b.next = a
 *             first.data = [j + 1000 for j in range(payload)]
 *             n -= cycle
 *
 * Each round drops its ring: every node is still referenced by the one
 * before it, so reference counting alone frees none of them. The cycle
 * collector does (its generation-0 collections come every 700 new
 * containers: nodes and the data lists); with --gc off the rings
 * accumulate, memory grows with the run, and the end of the run reports
 * how many containers were left in unreachable cycles (a leak by design,
 * as CPython would leak them) instead of failing.
 *
 * `size` counts nodes; the work comes in whole rings (the unit is `cycle`),
 * the same in every mode. The comprehension is inlined as CPython 3.12
 * inlines it (PEP 709): the list stays on the stack and LIST_APPEND adds to
 * it; a `while` over j stands in for FOR_ITER over the range.
 */
#include "lab/code.h"
#include "lab/interp.h"
#include "workloads/workload.h"

enum { CYCLES_CYCLE, CYCLES_PAYLOAD };

static const wl_param_t cycles_params[] = {
    [CYCLES_CYCLE] = {.name = "cycle", .help = "nodes per ring (1: a node that refers to itself)", .def = 2,
                      .min = 1, .max = 1000000},
    [CYCLES_PAYLOAD] = {.name = "payload", .help = "ints in the list each ring's first node carries", .def = 0,
                        .min = 0, .max = 100000},
};

static int cycles_build(code_t *c, const int64_t *params)
{
    code_init(c, "cycles",
              "def cycles(n):\n    while n > 0:\n        first = Node()\n        last = first\n"
              "        i = 1\n        while i < cycle:\n            node = Node()\n"
              "            last.next = node\n            last = node\n            i += 1\n"
              "        last.next = first\n        first.data = [j + 1000 for j in range(payload)]\n"
              "        n -= cycle");
    int n = code_local(c, "n"), first = code_local(c, "first"), last = code_local(c, "last");
    int i = code_local(c, "i"), node = code_local(c, "node"), j = code_local(c, "j");
    int node_class = code_global(c, "Node");
    code_loop_t outer, ring, items;

    code_countdown_begin(c, n, &outer);
    code_emit(c, OP_LOAD_GLOBAL, node_class);
    code_emit(c, OP_CALL, 0);
    code_emit(c, OP_STORE_FAST, first);
    code_emit(c, OP_LOAD_FAST, first);
    code_emit(c, OP_STORE_FAST, last);
    code_upto_begin(c, i, 1, OP_LOAD_CONST, code_const(c, params[CYCLES_CYCLE]), &ring);
    code_emit(c, OP_LOAD_GLOBAL, node_class);
    code_emit(c, OP_CALL, 0);
    code_emit(c, OP_STORE_FAST, node);
    code_emit(c, OP_LOAD_FAST, node);
    code_emit(c, OP_LOAD_FAST, last);
    code_emit(c, OP_STORE_ATTR, NODE_SLOT_next);
    code_emit(c, OP_LOAD_FAST, node);
    code_emit(c, OP_STORE_FAST, last);
    code_upto_end(c, i, &ring);
    code_emit(c, OP_LOAD_FAST, first);
    code_emit(c, OP_LOAD_FAST, last);
    code_emit(c, OP_STORE_ATTR, NODE_SLOT_next);
    code_emit(c, OP_BUILD_LIST, 0);
    code_upto_begin(c, j, 0, OP_LOAD_CONST, code_const(c, params[CYCLES_PAYLOAD]), &items);
    code_emit(c, OP_LOAD_FAST, j);
    code_emit(c, OP_LOAD_CONST, code_const(c, 1000));
    code_emit(c, OP_BINARY_OP, BINOP_ADD);
    code_emit(c, OP_LIST_APPEND, 1);
    code_upto_end(c, j, &items);
    code_emit(c, OP_LOAD_FAST, first);
    code_emit(c, OP_STORE_ATTR, NODE_SLOT_data);
    return code_countdown_end(c, n, params[CYCLES_CYCLE], &outer);
}

/* Node, global 0: the class, a static of the interpreter. */
static int cycles_setup(tstate_t *ts, const int64_t *params)
{
    (void)params;
    obj_t *node_class = interp_node_class(ts->interp);
    ts->interp->ops->incref(ts, node_class);   /* the global's reference */
    ts->interp->globals[0] = node_class;
    return 0;
}

static int64_t cycles_unit(const int64_t *params)
{
    return params[CYCLES_CYCLE];
}

const workload_t wl_cycles = {
    .name = "cycles",
    .description = "rings of Node objects dropped at once (seed 000: what only the cycle collector frees)",
    .default_size = 2000000,
    .min_size = 1,
    .max_size = INT64_C(1) << 40,
    .params = cycles_params,
    .nparams = 2,
    .build = cycles_build,
    .setup = cycles_setup,
    .unit = cycles_unit,
    .size_unit = "nodes, in whole rings of cycle",
};
