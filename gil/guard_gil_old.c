/* gil/guard_gil_old.c: the "gil-old" guard, CPython's GIL before 3.2.
 *
 * Everything but the lock protocol is the "gil" guard's: plain refcounts
 * (gil/guard_plain.h), no container locks, attach and detach take and
 * drop the GIL (PyEval_RestoreThread / PyEval_SaveThread, and so around
 * every blocking call). The protocol is gil/gil_old.c's: no switch
 * interval and no drop request (the eval breaker only ever carries a
 * scheduled collection);
 * instead the loop ticks before each instruction that Python 3.1's
 * PyEval_EvalFrameEx did not send to `fast_next_opcode`, and every
 * check interval (100 ticks by default) the holder releases the lock and
 * asks for it again at once.
 *
 * The fast instructions, after 3.1's ceval.c: LOAD_FAST, LOAD_CONST,
 * STORE_FAST and POP_TOP end in `goto fast_next_opcode`, and so does
 * POP_JUMP_IF_FALSE on True or False (the only values the lab's loops
 * test). The rest tick: in the countdown, COMPARE_OP, BINARY_OP (3.1's
 * INPLACE_SUBTRACT) and JUMP_BACKWARD (JUMP_ABSOLUTE), three ticks per
 * iteration, so the lock changes hands (or not) every 34 iterations.
 */
#include "gil/guard_plain.h"
#include "lab/code.h"

#define GUARD_NAME gil_old

static const bool gil_old_fast[OP_COUNT] = {
    [OP_LOAD_FAST] = true, [OP_LOAD_CONST] = true, [OP_STORE_FAST] = true,
    [OP_POP_TOP] = true,   [OP_POP_JUMP_IF_FALSE] = true,
};

#define g_periodic(ts, op)                                                     \
    do {                                                                       \
        if (!gil_old_fast[op])                                                 \
            gil_old_tick(&(ts)->interp->gil, &(ts)->gil);                      \
    } while (0)

static inline void g_lock(obj_t *o) { (void)o; }
static inline void g_unlock(obj_t *o) { (void)o; }
/* No drop request reaches the old GIL; a scheduled collection does. */
static void g_eval_breaker(tstate_t *ts, uint32_t bits) { plain_handle_gc(ts, bits); }
static void g_attach(tstate_t *ts) { gil_old_take(&ts->interp->gil, &ts->gil); }
static void g_detach(tstate_t *ts) { gil_old_drop(&ts->interp->gil, &ts->gil); }

#include "gil/guard_instances.h"
