/* gil/guard_ft.h: what the free-threaded guards (atomic, biased) share
 * besides their refcounting: the per-object lock around container
 * mutation, the thread states' attach/detach protocol that stop-the-world
 * pauses rely on (gil/stw.h), and the eval-breaker requests every thread
 * of a free-threaded interpreter may receive (_Py_HandlePending):
 *
 *   EB_STW_REQUEST   a pause wants this thread stopped (first: a collector
 *                    waits on it)
 *   EB_REMOTE_FREE   other threads freed containers this thread owns
 *   EB_GC_SCHEDULED  a collection is due (lab/gc_ft.h)
 *
 * A guard handles its own bits first (biased: EB_BRC_MERGE), then calls
 * ft_handle_pending.
 */
#ifndef GL_GUARD_FT_H
#define GL_GUARD_FT_H

#include "gil/objlock.h"
#include "gil/stw.h"
#include "lab/gc.h"
#include "lab/gc_ft.h"
#include "lab/interp.h"

#define G_FREE_THREADED 1   /* CPython 3.13t */

static inline void g_lock(obj_t *o) { objlock_lock(o); }
static inline void g_unlock(obj_t *o) { objlock_unlock(o); }

static inline void ft_handle_pending(tstate_t *ts, uint32_t bits)
{
    if (bits & EB_STW_REQUEST)
        tstate_suspend(ts);
    if (bits & EB_REMOTE_FREE)
        gc_ft_free_queued(ts);
    if (bits & EB_GC_SCHEDULED) {
        __atomic_fetch_and(&ts->eval_breaker, ~EB_GC_SCHEDULED, __ATOMIC_RELAXED);
        gc_collect_scheduled(ts);
    }
}

/* _PyThreadState_Attach / _PyThreadState_Detach: no lock to take, only the
 * state word a pause reads. */
static void g_attach(tstate_t *ts) { tstate_attach_state(ts); }
static void g_detach(tstate_t *ts) { tstate_detach_state(ts); }

#endif
