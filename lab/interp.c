/* lab/interp.c: creating and tearing down interpreters and thread states
 * (CPython's pystate.c, in miniature): the statically allocated singletons
 * and small-int cache, the thread registry, the leak-check totals, and the
 * re-initialisation a forked child needs.
 */
#include "lab/interp.h"

#include "gil/parking_lot.h"
#include "lab/test_hooks.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* A static object: immortal (PEP 683) unless the run asked for
 * --no-immortal, in which case it carries the one reference the interpreter
 * holds: ob_refcnt 1 in the default build; in the free-threaded one, no
 * owner and the merged state, so that every thread counts it through the
 * shared field. Either way it is never freed: the interpreter's reference
 * never goes away. Returns the object. */
static obj_t *interp_static_object(interp_t *interp, static_obj_t *slot, const type_t *type)
{
    memset(slot, 0, sizeof(*slot));
    obj_t *o = &slot->body.ob;
    o->type = type;
    if (interp->immortal)
        obj_set_immortal(o, interp->layout);
    else if (interp->layout == OBJ_LAYOUT_DEFAULT)
        obj_dflt(o)->refcnt = 1;
    else
        obj_ft(o)->ref_shared = ((intptr_t)1 << BRC_SHARED_SHIFT) | BRC_MERGED;
    return o;
}

int interp_init(interp_t *interp, const interp_config_t *config, char *err, size_t errlen)
{
    memset(interp, 0, sizeof(*interp));
    interp->guard = config->guard;
    interp->ops = guard_get(config->guard)->ops[config->immortal];
    interp->layout = guard_get(config->guard)->layout;
    interp->immortal = config->immortal;

    /* pymalloc needs a lock exactly when no GIL serialises its callers. */
    const guard_info_t *g = guard_get(config->guard);
    bool locked = g->threadsafe && !g->has_gil;
    if (heap_init(&interp->heap, config->allocator, locked, &config->pymalloc, err, errlen) < 0)
        return -1;
    gil_init(&interp->gil, config->switch_interval_us ? config->switch_interval_us
                                                      : GIL_DEFAULT_INTERVAL_US);
    gil_old_init(&interp->gil, config->check_interval);
    GL_PTHREAD_CHECK(pthread_mutex_init(&interp->lock, NULL));
    interp->next_tid = 1;

    interp_static_object(interp, &interp->none, &none_type);
    int_set(interp_static_object(interp, &interp->true_obj, &bool_type), 1);
    int_set(interp_static_object(interp, &interp->false_obj, &bool_type), 0);
    for (int i = 0; i < SMALL_INT_COUNT; i++)
        int_set(interp_static_object(interp, &interp->small_ints[i], &int_types[interp->layout]),
                SMALL_INT_MIN + i);
    return 0;
}

void interp_destroy(interp_t *interp)
{
    gil_destroy(&interp->gil);
    GL_PTHREAD_CHECK(pthread_mutex_destroy(&interp->lock));
    heap_destroy(&interp->heap);
}

tstate_t *tstate_new(interp_t *interp)
{
    tstate_t *ts = aligned_alloc(64, sizeof(tstate_t));
    if (ts == NULL)
        return NULL;
    memset(ts, 0, sizeof(*ts));
    ts->interp = interp;
    ts->heap = &interp->heap;
    ts->gil.eval_breaker = &ts->eval_breaker;
    ts->gil.drop_bit = EB_GIL_DROP_REQUEST;
    brc_queue_init(&ts->brc);

    GL_PTHREAD_CHECK(pthread_mutex_lock(&interp->lock));
    ts->id = interp->next_tid++;
    ts->next = interp->threads;
    interp->threads = ts;
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&interp->lock));
    return ts;
}

#ifdef GL_TEST_HOOKS
#define X(name) gl_test_hook_fn gl_hook_##name;
GL_TEST_HOOK_LIST(X)
#undef X
#endif

bool interp_pystats_enabled(void)
{
#ifdef GL_PYSTATS
    return true;
#else
    return false;
#endif
}

void tstate_delete(tstate_t *ts)
{
    interp_t *interp = ts->interp;

    /* Merge what other threads queued to us, then leave the registry, as
     * CPython's _Py_brc_remove_thread does (gil/brc.h says why in this
     * order). Without the biased guard the queue is always empty. */
    brc_remove_thread(ts);
    brc_queue_destroy(&ts->brc);

    GL_PTHREAD_CHECK(pthread_mutex_lock(&interp->lock));
    interp->gone_allocated += ts->count.objects_allocated;
    interp->gone_freed += ts->count.objects_freed;
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&interp->lock));
    free(ts);
}

void interp_clear_globals(tstate_t *ts)
{
    interp_t *interp = ts->interp;
    for (int i = 0; i < INTERP_MAX_GLOBALS; i++) {
        obj_t *o = interp->globals[i];
        interp->globals[i] = NULL;
        if (o != NULL)
            interp->ops->decref(ts, o);
    }
}

int64_t interp_live_objects(interp_t *interp)
{
    GL_PTHREAD_CHECK(pthread_mutex_lock(&interp->lock));
    int64_t live = (int64_t)(interp->gone_allocated - interp->gone_freed);
    for (tstate_t *t = interp->threads; t != NULL; t = t->next)
        live += (int64_t)(__atomic_load_n(&t->count.objects_allocated, __ATOMIC_RELAXED) -
                          __atomic_load_n(&t->count.objects_freed, __ATOMIC_RELAXED));
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&interp->lock));
    return live;
}

void interp_after_fork_child(interp_t *interp, tstate_t *ts)
{
    /* Only the forking thread survives a fork. Its counters move into the
     * totals so the child's leak check starts from what it inherited. */
    GL_PTHREAD_CHECK(pthread_mutex_init(&interp->lock, NULL));
    for (tstate_t *t = interp->threads; t != NULL; t = t->next) {
        if (t != ts) {
            interp->gone_allocated += t->count.objects_allocated;
            interp->gone_freed += t->count.objects_freed;
        }
    }
    interp->threads = ts;
    ts->next = NULL;
    GL_PTHREAD_CHECK(pthread_mutex_init(&ts->brc.mutex, NULL));
    parking_after_fork_child();
    gil_reinit_after_fork(&interp->gil, &ts->gil);
    gil_drop(&interp->gil, &ts->gil);
    heap_after_fork_child(&interp->heap);
}

/* Aborts when ts is already attached (a thread that attached twice). */
void tstate_attach_state(tstate_t *ts)
{
    int expected = TSTATE_DETACHED;
    if (!__atomic_compare_exchange_n(&ts->state, &expected, TSTATE_ATTACHED, false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST)) {
        fprintf(stderr, "gil-lab: fatal: tstate_attach: thread %lu is already attached\n",
                (unsigned long)ts->id);
        abort();
    }
}

/* Aborts when ts is not attached. */
void tstate_detach_state(tstate_t *ts)
{
    if (__atomic_load_n(&ts->state, __ATOMIC_RELAXED) != TSTATE_ATTACHED) {
        fprintf(stderr, "gil-lab: fatal: tstate_detach: thread %lu is not attached\n",
                (unsigned long)ts->id);
        abort();
    }
    __atomic_store_n(&ts->state, TSTATE_DETACHED, __ATOMIC_SEQ_CST);
}

void *tstate_error(tstate_t *ts, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ts->error, sizeof(ts->error), fmt, ap);
    va_end(ap);
    return NULL;
}
