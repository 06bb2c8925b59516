/* tests/blocking_fixture.h: blocking calls with real threads, written once
 * for test_blocking.c (Criterion) and tsan_blocking.c (a plain program under
 * ThreadSanitizer).
 *
 *   blk_releases_the_gil  a thread blocks in recv() inside bytecode; once
 *                         it is in the system call (the blocking_enter
 *                         test hook says so), the main thread attaches,
 *                         which under a GIL guard it can do only if the
 *                         blocked thread let the GIL go, and sends the
 *                         message that wakes it. A GIL that was not
 *                         released is reported after a bounded wait, never
 *                         as a hang.
 *   blk_exclusion         BLK_W threads run `L.append(n); time.sleep(0)`
 *                         in bytecode on one shared global list: every
 *                         sleep drops and re-takes the GIL, and the
 *                         unlocked appends (LIST_APPEND) stay exact only if
 *                         each thread really holds the GIL again when it
 *                         comes back. Under TSan any access after a return
 *                         without the GIL is a race. Without the sleeps,
 *                         only the guard's own switching (gil-old: the
 *                         ticks) hands the GIL around.
 *
 * Both need a guard with a GIL (the appends are unlocked). Workers never
 * CHECK (check.h); the main thread checks after joining.
 */
#ifndef GL_TESTS_BLOCKING_FIXTURE_H
#define GL_TESTS_BLOCKING_FIXTURE_H

#ifndef _GNU_SOURCE
#error "define _GNU_SOURCE before any include: the fixture uses pthread_timedjoin_np"
#endif
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "lab/blocking.h"
#include "lab/code.h"
#include "lab/interp.h"
#include "lab/test_hooks.h"
#include "lab_fixture.h"

#define BLK_W 4
#define BLK_PATIENCE_S 30   /* how long a step may take before it is a failure */

/* def recv_one(fd): return recv(fd) */
static inline void blk_recv_code(code_t *c)
{
    code_init(c, "recv_one", NULL);
    int fd = code_local(c, "fd");
    code_emit(c, OP_LOAD_FAST, fd);
    code_emit(c, OP_CALL_BLOCKING, BLOCKING_RECV);
    code_emit(c, OP_RETURN_VALUE, 0);
}

/* def appender(n):
 *     while n > 0:
 *         L.append(n)        # LIST_APPEND: no lock but the GIL
 *         time.sleep(0)      # drops and re-takes the GIL (with_sleep)
 *         n -= 1            */
static inline void blk_appender_code(code_t *c, bool with_sleep)
{
    code_init(c, "appender", NULL);
    int n = code_local(c, "n");
    int list = code_global(c, "L");
    code_loop_t loop;
    code_countdown_begin(c, n, &loop);
    code_emit(c, OP_LOAD_GLOBAL, list);
    code_emit(c, OP_LOAD_FAST, n);
    code_emit(c, OP_LIST_APPEND, 1);
    code_emit(c, OP_POP_TOP, 0);
    if (with_sleep) {
        code_emit(c, OP_LOAD_CONST, code_const(c, 0));
        code_emit(c, OP_CALL_BLOCKING, BLOCKING_SLEEP);
        code_emit(c, OP_POP_TOP, 0);
    }
    code_countdown_end(c, n, 1, &loop);
}

typedef struct blk_worker {
    alignas(64) interp_t *interp;
    const code_t *code;
    int64_t arg;
    obj_t *result;            /* a new reference, or NULL */
    int64_t value;            /* the result's value when it is an int */
    int failed;               /* 1 when eval raised */
    char error[TSTATE_ERROR_LEN];
} blk_worker_t;

static inline void *blk_worker_main(void *p)
{
    blk_worker_t *w = p;
    tstate_t *ts = tstate_new(w->interp);
    if (ts == NULL)
        abort();   /* a worker must not CHECK; nothing to test without it */
    const guard_ops_t *ops = w->interp->ops;
    ops->attach(ts);
    obj_t *arg = ops->int_new(ts, w->arg);
    obj_t *r = arg != NULL ? ops->eval(ts, w->code, &arg, 1) : NULL;
    w->failed = r == NULL;
    if (r != NULL && obj_is_int(r))
        w->value = int_value(r);
    if (r != NULL)
        ops->decref(ts, r);
    snprintf(w->error, sizeof w->error, "%s", ts->error);
    ops->detach(ts);
    tstate_delete(ts);
    return NULL;
}

static sem_t blk_entered;

static void blk_on_enter(void *ts)
{
    (void)ts;
    sem_post(&blk_entered);
}

/* sem_wait with a bound: 1 when posted, 0 after BLK_PATIENCE_S. */
static inline int blk_sem_wait_bounded(sem_t *s)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += BLK_PATIENCE_S;
    int rc;
    while ((rc = sem_timedwait(s, &deadline)) < 0 && errno == EINTR)
        ;
    return rc == 0;
}

typedef struct blk_prober {
    lab_t *l;
    int attached;   /* atomic: 1 once ops->attach returned */
} blk_prober_t;

/* The main thread's attach, run in a helper so that a GIL that was never
 * released shows up as a timeout instead of a hang. */
static inline void *blk_prober_main(void *p)
{
    blk_prober_t *pr = p;
    pr->l->ops->attach(pr->l->ts);
    __atomic_store_n(&pr->attached, 1, __ATOMIC_RELEASE);
    return NULL;
}

static inline void blk_releases_the_gil(guard_kind_t g)
{
    lab_t l = lab_open(g, HEAP_malloc, true);
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
    code_t c;
    blk_recv_code(&c);
    char err[200] = "";
    CHECK(code_check(&c, err, sizeof err) == 0, "%s", err);

    CHECK(sem_init(&blk_entered, 0, 0) == 0, "sem_init");
    gl_hook_blocking_enter = blk_on_enter;
    blk_worker_t w = {.interp = l.interp, .code = &c, .arg = sv[0]};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, blk_worker_main, &w) == 0, "pthread_create");
    CHECK(blk_sem_wait_bounded(&blk_entered), "the worker never reached its blocking call");

    /* The worker is inside recv(): attaching must not wait for it. */
    blk_prober_t pr = {.l = &l};
    pthread_t prober;
    CHECK(pthread_create(&prober, NULL, blk_prober_main, &pr) == 0, "pthread_create");
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += BLK_PATIENCE_S;
    CHECK(pthread_timedjoin_np(prober, NULL, &deadline) == 0,
          "%s: the main thread could not attach while a thread was blocked in recv(): "
          "the blocking call kept the GIL", l.what);
    CHECK(__atomic_load_n(&pr.attached, __ATOMIC_ACQUIRE) == 1, "attached");

    unsigned char msg[BLK_MESSAGE_SIZE];
    blk_encode(4141, msg);
    CHECK(write(sv[1], msg, sizeof msg) == (ssize_t)sizeof msg, "write");
    l.ops->detach(l.ts);
    CHECK(pthread_join(th, NULL) == 0, "pthread_join");
    gl_hook_blocking_enter = NULL;
    sem_destroy(&blk_entered);

    CHECK(!w.failed, "%s: recv raised %s", l.what, w.error);
    CHECK(w.value == 4141, "%s: recv returned %lld", l.what, (long long)w.value);
    close(sv[0]);
    close(sv[1]);
    lab_close(&l);
}

/* BLK_W threads of `iterations` appends (and sleeps) each. Returns the
 * GIL switches seen. */
static inline uint64_t blk_exclusion(guard_kind_t g, heap_kind_t heap, int64_t iterations, bool with_sleep)
{
    lab_t l = lab_open(g, heap, true);
    code_t c;
    blk_appender_code(&c, with_sleep);
    char err[200] = "";
    CHECK(code_check(&c, err, sizeof err) == 0, "%s", err);
    l.ops->attach(l.ts);
    obj_t *list = l.ops->list_new(l.ts, 0);
    CHECK(list != NULL, "list_new");
    l.interp->globals[0] = list;
    l.ops->detach(l.ts);
    lab_snapshot(&l);

    uint64_t switches0 = gil_switches(&l.interp->gil);
    blk_worker_t ws[BLK_W];
    pthread_t th[BLK_W];
    for (int i = 0; i < BLK_W; i++) {
        ws[i] = (blk_worker_t){.interp = l.interp, .code = &c, .arg = iterations};
        CHECK(pthread_create(&th[i], NULL, blk_worker_main, &ws[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < BLK_W; i++)
        CHECK(pthread_join(th[i], NULL) == 0, "pthread_join");
    uint64_t switches = gil_switches(&l.interp->gil) - switches0;

    for (int i = 0; i < BLK_W; i++)
        CHECK(!ws[i].failed, "%s: worker %d raised %s", l.what, i, ws[i].error);
    list_obj_t *lo = (list_obj_t *)list;
    CHECK(lo->size == BLK_W * iterations, "%s: %ld appends survived of %lld", l.what, (long)lo->size,
          (long long)(BLK_W * iterations));
    /* Each value n..1 was appended once by each thread. */
    int64_t sum = 0;
    for (intptr_t i = 0; i < lo->size; i++)
        sum += int_value(lo->items[i]);
    CHECK(sum == BLK_W * iterations * (iterations + 1) / 2, "%s: the appended values", l.what);
    lab_close(&l);   /* frees L and everything in it */
    return switches;
}

#endif
