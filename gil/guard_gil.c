/* gil/guard_gil.c: the "gil" guard, CPython's default build.
 *
 * Refcounts are plain (gil/guard_plain.h) because only the GIL holder runs
 * bytecode. A thread takes the GIL when it attaches and drops it when it
 * detaches (PyEval_RestoreThread / PyEval_SaveThread); while it runs, the
 * interpreter loop polls the eval breaker at every backward jump and, when a
 * waiting thread has set the drop request, hands the GIL over (gil/gil.c).
 * Containers need no lock of their own: the GIL is the lock.
 */
#include "gil/guard_plain.h"

#define GUARD_NAME gil

static inline void g_lock(obj_t *o) { (void)o; }
static inline void g_unlock(obj_t *o) { (void)o; }

/* _Py_HandlePending: a scheduled collection (run holding the GIL, so the
 * other threads wait), then the drop request. */
static void g_eval_breaker(tstate_t *ts, uint32_t bits)
{
    plain_handle_gc(ts, bits);
    if (bits & EB_GIL_DROP_REQUEST)
        gil_yield(&ts->interp->gil, &ts->gil);
}

static void g_attach(tstate_t *ts) { gil_take(&ts->interp->gil, &ts->gil); }
static void g_detach(tstate_t *ts) { gil_drop(&ts->interp->gil, &ts->gil); }

#include "gil/guard_instances.h"
