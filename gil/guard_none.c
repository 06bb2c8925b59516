/* gil/guard_none.c: the "none" guard, plain refcounts and no lock at all.
 *
 * This is CPython's default-build refcounting (Include/object.h,
 * Py_INCREF/Py_DECREF in 3.12) with the GIL taken away. It is only correct
 * with one thread; the lab allows it with `single` alone, as the baseline
 * that shows what the GIL's own bookkeeping costs.
 */
#include "gil/guard_plain.h"

#define GUARD_NAME none

static inline void g_lock(obj_t *o) { (void)o; }
static inline void g_unlock(obj_t *o) { (void)o; }
/* _Py_HandlePending: a scheduled collection is all there can be. */
static void g_eval_breaker(tstate_t *ts, uint32_t bits) { plain_handle_gc(ts, bits); }
static void g_attach(tstate_t *ts) { (void)ts; }
static void g_detach(tstate_t *ts) { (void)ts; }

#include "gil/guard_instances.h"
