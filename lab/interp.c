/* lab/interp.c: creating and tearing down interpreters and thread states
 * (CPython's pystate.c, in miniature): the statically allocated singletons
 * and small-int cache, the thread registry, the leak-check totals, and the
 * re-initialisation a forked child needs.
 */
#include "lab/interp.h"

#include "gil/parking_lot.h"
#include "lab/sizes.h"
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
    if (config->tracemalloc) {
        if (trace_start(&interp->heap, &interp->tracer) < 0) {
            snprintf(err, errlen, "out of memory for tracemalloc's table");
            heap_destroy(&interp->heap);
            return -1;
        }
        interp->tracing = true;
    }
    gil_init(&interp->gil, config->switch_interval_us ? config->switch_interval_us
                                                      : GIL_DEFAULT_INTERVAL_US);
    gil_old_init(&interp->gil, config->check_interval);
    gc_init(&interp->gc, &config->gc, interp->layout);
    stw_init(&interp->stw);
    gc_list_init(&interp->gc_orphans);
    GL_PTHREAD_CHECK(pthread_mutex_init(&interp->lock, NULL));
    interp->next_tid = 1;

    interp_static_object(interp, &interp->none, &none_type);
    int_set(interp_static_object(interp, &interp->true_obj, &bool_type), 1);
    int_set(interp_static_object(interp, &interp->false_obj, &bool_type), 0);
    for (int i = 0; i < SMALL_INT_COUNT; i++)
        int_set(interp_static_object(interp, &interp->small_ints[i], &int_types[interp->layout]),
                SMALL_INT_MIN + i);
    class_obj_t *node = (class_obj_t *)interp_static_object(interp, &interp->node_class, &class_type);
    node->instance_type = interp->ops->node_type;
    for (int i = 0; i < BUILTIN_COUNT; i++) {
        builtin_obj_t *b = (builtin_obj_t *)interp_static_object(interp, &interp->builtins[i], &builtin_type);
        b->name = builtin_name((builtin_id_t)i);
        b->fn = builtin_function((builtin_id_t)i);
    }
    return 0;
}

void interp_clear_freelist(interp_t *interp, list_freelist_t *fl, tstate_t *ts)
{
    while (fl->count > 0) {
        obj_t *o = &fl->items[--fl->count]->ob;
        if (interp->layout == OBJ_LAYOUT_DEFAULT) {
            gc_note_free(&interp->gc);   /* PyObject_GC_Del */
            heap_free(&interp->heap, gc_of(o));
        } else if (ts != NULL) {
            gc_ft_free(ts, o);
        } else {
            gc_list_remove(gc_ft_link(o));
            heap_free(&interp->heap, gc_ft_link(o));
        }
    }
}

int64_t interp_freelist_blocks(interp_t *interp)
{
    GL_PTHREAD_CHECK(pthread_mutex_lock(&interp->lock));
    int64_t n = interp->list_freelist.count;
    for (tstate_t *t = interp->threads; t != NULL; t = t->next)
        n += t->list_freelist.count;
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&interp->lock));
    return n;
}

int64_t interp_finalize(tstate_t *ts)
{
    interp_t *interp = ts->interp;
    int64_t unreachable = 0;
    if (!__atomic_load_n(&interp->gc.enabled, __ATOMIC_RELAXED))
        unreachable = gc_count_unreachable(ts);
    gc_collect(ts, GC_GENERATIONS - 1);
    if (interp->layout == OBJ_LAYOUT_FT)
        gc_ft_release_all(ts);
    else
        interp_clear_freelist(interp, &interp->list_freelist, NULL);
    return unreachable;
}

void interp_destroy(interp_t *interp)
{
    interp_clear_freelist(interp, &interp->list_freelist, NULL);
    gc_destroy(&interp->gc);
    stw_destroy(&interp->stw);
    gil_destroy(&interp->gil);
    GL_PTHREAD_CHECK(pthread_mutex_destroy(&interp->lock));
    if (interp->tracing)
        trace_stop(&interp->heap, &interp->tracer);
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
    if (interp->layout == OBJ_LAYOUT_FT && !gc_ft_thread_new(ts)) {
        GL_PTHREAD_CHECK(pthread_mutex_unlock(&interp->lock));
        brc_queue_destroy(&ts->gc_remote);
        brc_queue_destroy(&ts->brc);
        free(ts);
        return NULL;
    }
    /* new_threadstate: a thread born during a pause waits for its end. */
    ts->state = interp->stw.requested ? TSTATE_SUSPENDED : TSTATE_DETACHED;
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

    /* Attached from here on, so that a pause waits for the thread to be
     * gone (it counts down when it leaves the list). */
    tstate_attach_state(ts);
    interp_clear_freelist(interp, &ts->list_freelist, ts);
    if (interp->layout == OBJ_LAYOUT_FT)
        gc_ft_thread_gone(ts);
    /* Merge what other threads queued to us, then leave the registry, as
     * CPython's _Py_brc_remove_thread does (gil/brc.h says why in this
     * order). Without the biased guard the queue is always empty. Lists
     * freed by the merge land on the freelist: orphans by now, freed under
     * the lock, which a collection holds while it looks at the rings. */
    brc_remove_thread(ts);
    brc_queue_destroy(&ts->brc);
    interp_clear_freelist(interp, &ts->list_freelist, ts);

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
    ts->state = TSTATE_DETACHED;
    stw_init(&interp->stw);
    GL_PTHREAD_CHECK(pthread_mutex_init(&ts->brc.mutex, NULL));
    parking_after_fork_child();
    gil_reinit_after_fork(&interp->gil, &ts->gil);
    gil_drop(&interp->gil, &ts->gil);
    heap_after_fork_child(&interp->heap);
    if (interp->tracing)
        trace_after_fork_child(&interp->tracer);
    if (interp->layout == OBJ_LAYOUT_FT)
        gc_ft_after_fork_child(interp, ts);
}

void *tstate_error(tstate_t *ts, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ts->error, sizeof(ts->error), fmt, ap);
    va_end(ap);
    return NULL;
}
