/* tests/tsan_brc.c: two races of biased reference counting, each
 * reproduced step by step with the test hooks of lab/test_hooks.h, as a
 * plain program meant for ThreadSanitizer (and run under ASan too). Exits 0
 * after one line per scenario; exits 1 at the first failed check; the
 * sanitizers fail the run on a use-after-free or a data race.
 *
 * 1. merge, then the last reference goes (CPython gh-119999). Owner A holds
 *    an object X whose local count covers two references, B's and C's. B
 *    drops its reference: the shared count is zero, so X is queued to A. A
 *    merges its queue: the total is 1 (C's), published as MERGED. Right
 *    then (the brc_after_merge hook holds A there) thread C drops the last
 *    reference through the shared count and frees X. When the merge wrote
 *    ref_local and tid after its compare-and-swap, A then wrote into freed
 *    memory: ASan reports heap-use-after-free, TSan a race with the free.
 *    The allocator is glibc's (`-a malloc`) so that the sanitizers see the
 *    free.
 *
 * 2. a thread is deleted with work queued (CPython's _Py_brc_remove_thread).
 *    Owner A has X queued to it and owns Y, whose only reference is B's. A
 *    is deleted; while it merges X (the brc_before_merge_item hook holds it
 *    there) thread B drops Y, whose shared count is zero. A is still
 *    registered, so Y must go to A's queue and A must merge and free it
 *    before it leaves. When A was unlinked before merging, B found no owner
 *    and merged Y itself, writing ref_local while A could still be doing
 *    owner refcounting on it: B freed Y, which the check below refuses.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "check.h"
#include "lab/test_hooks.h"
#include "lab_fixture.h"

/* A helper thread with its own thread state that drops one reference when
 * told to, and says when it has. */
typedef struct dropper {
    interp_t *interp;
    obj_t *victim;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    bool go, done;
    uint64_t freed;       /* objects this thread freed (pystats) */
    uint64_t queued;      /* objects this thread queued or merged for a gone owner */
} dropper_t;

static void *dropper_main(void *p)
{
    dropper_t *d = p;
    tstate_t *ts = tstate_new(d->interp);
    CHECK(ts != NULL, "tstate_new");
    pthread_mutex_lock(&d->mutex);
    while (!d->go)
        pthread_cond_wait(&d->cond, &d->mutex);
    pthread_mutex_unlock(&d->mutex);

    d->interp->ops->attach(ts);
    d->interp->ops->decref(ts, d->victim);
    d->interp->ops->detach(ts);
    uint64_t freed = ts->count.objects_freed, queued = ts->count.brc_queued;

    pthread_mutex_lock(&d->mutex);
    d->freed = freed;
    d->queued = queued;
    d->done = true;
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->mutex);
    tstate_delete(ts);
    return NULL;
}

static pthread_t dropper_start(dropper_t *d, interp_t *interp)
{
    *d = (dropper_t){.interp = interp};
    pthread_mutex_init(&d->mutex, NULL);
    pthread_cond_init(&d->cond, NULL);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, dropper_main, d) == 0, "pthread_create");
    return th;
}

/* Tell the dropper to drop `victim` and wait until it has. */
static void dropper_run(dropper_t *d, obj_t *victim)
{
    pthread_mutex_lock(&d->mutex);
    d->victim = victim;
    d->go = true;
    pthread_cond_broadcast(&d->cond);
    while (!d->done)
        pthread_cond_wait(&d->cond, &d->mutex);
    pthread_mutex_unlock(&d->mutex);
}

static void dropper_join(dropper_t *d, pthread_t th)
{
    CHECK(pthread_join(th, NULL) == 0, "pthread_join");
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->mutex);
}

/* ---- 1. merge, then the last reference goes --------------------------------- */

static dropper_t thread_c;
static obj_t *merge_target;
static int merge_hook_calls;

static void after_merge(void *o)
{
    if (o != merge_target)
        return;
    merge_hook_calls++;
    dropper_run(&thread_c, o);   /* C drops the last reference: X is freed */
}

static void merge_then_last_drop(void)
{
    lab_t l = lab_open(GUARD_biased, HEAP_malloc, true);
    const guard_ops_t *ops = l.ops;
    tstate_t *a = l.ts, *b = tstate_new(l.interp);
    CHECK(b != NULL, "tstate_new");
    pthread_t th = dropper_start(&thread_c, l.interp);

    ops->attach(a);
    obj_t *x = ops->int_new(a, 1000000);
    ops->incref(a, x);                       /* A's local count: B's and C's references */
    ops->decref(b, x);                       /* B: shared count 0 -> queued to A */
    CHECK(__atomic_load_n(&a->brc.count, __ATOMIC_RELAXED) == 1, "X is queued to its owner");

    merge_target = x;
    gl_hook_brc_after_merge = after_merge;
    brc_merge_queue(a);                      /* merged to 1; C frees X inside the hook */
    gl_hook_brc_after_merge = NULL;
    ops->detach(a);
    dropper_join(&thread_c, th);

    CHECK(merge_hook_calls == 1, "the hook held the merge once");
    CHECK(thread_c.freed == 1, "C dropped the last reference and freed X (%llu)",
          (unsigned long long)thread_c.freed);
    tstate_delete(b);
    lab_close(&l);
    printf("tsan_brc: merge then last drop: ok\n");
}

/* ---- 2. a thread deleted with work queued ---------------------------------- */

static dropper_t thread_b;
static obj_t *first_item, *owned_y;
static int item_hook_calls;

static void before_merge_item(void *o)
{
    if (o != first_item)
        return;
    item_hook_calls++;
    dropper_run(&thread_b, owned_y);   /* B drops Y while A is being deleted */
}

static void delete_with_work_queued(void)
{
    lab_t l = lab_open(GUARD_biased, HEAP_malloc, true);
    const guard_ops_t *ops = l.ops;
    tstate_t *a = tstate_new(l.interp), *b = tstate_new(l.interp);
    CHECK(a != NULL && b != NULL, "tstate_new");
    pthread_t th = dropper_start(&thread_b, l.interp);

    ops->attach(a);
    obj_t *x = ops->int_new(a, 2000000);   /* B's reference, counted by A */
    obj_t *y = ops->int_new(a, 3000000);   /* likewise */
    ops->detach(a);
    ops->decref(b, x);                       /* queued to A */
    int64_t live = interp_live_objects(l.interp);

    first_item = x;
    owned_y = y;
    gl_hook_brc_before_merge_item = before_merge_item;
    tstate_delete(a);                        /* merges X; B drops Y meanwhile */
    gl_hook_brc_before_merge_item = NULL;
    dropper_join(&thread_b, th);

    CHECK(item_hook_calls == 1, "the hook held A's merge once");
    CHECK(thread_b.freed == 0, "B freed Y: it merged an object whose owner was still registered");
    CHECK(thread_b.queued == 1, "B queued Y to its owner");
    CHECK(interp_live_objects(l.interp) == live - 2, "A merged and freed both X and Y before leaving");
    tstate_delete(b);
    lab_close(&l);
    printf("tsan_brc: delete with work queued: ok\n");
}

int main(void)
{
    merge_then_last_drop();
    delete_with_work_queued();
    return 0;
}
