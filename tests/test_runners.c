/* tests/test_runners.c: the runners (runners/): one row per mode with a
 * tiny size, the isolation of forked workers, spec validation, and how a
 * dead worker is reported.
 *
 *   - run_row in every mode: samples filled and consistent, the countdown's
 *     exact allocation count, GIL and biased counters where they apply,
 *     the progress callback
 *   - forked workers are isolated: a processes run, a pool and a bare fork
 *     (interp_after_fork_child) change nothing the parent can see, even
 *     when the child increfs, allocates and appends
 *   - a fork taken while another thread holds the GIL: the child can still
 *     take its own GIL and run bytecode
 *   - run_spec_check's messages
 *   - pipe_read_all / pipe_write_all at EOF and on a broken pipe,
 *     child_status_text on children that exited or were killed, and an
 *     end-to-end run whose workers are killed mid-run
 *
 * Every child forked here leaves with _exit(), never returning into
 * Criterion; Criterion assertions are made in the parent only.
 */
#define _DEFAULT_SOURCE 1
#include <criterion/criterion.h>
#define CHECK(cond, ...) cr_assert(cond, __VA_ARGS__)

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab/code.h"
#include "lab/interp.h"
#include "lab_fixture.h"
#include "runners/internal.h"
#include "runners/runner.h"
#include "workloads/workload.h"

#define SIZE 20000

static const guard_kind_t threadsafe[] = {GUARD_gil, GUARD_atomic, GUARD_biased};
#define NTHREADSAFE (sizeof(threadsafe) / sizeof(threadsafe[0]))

static run_spec_t spec_of(const workload_t *wl, run_mode_t mode, guard_kind_t guard, int workers)
{
    run_spec_t s = {
        .workload = wl,
        .size = SIZE,
        .mode = mode,
        .guard = guard,
        .allocator = guard_get(guard)->default_allocator,
        .workers = workers,
        .switch_interval_us = GIL_DEFAULT_INTERVAL_US,
        .pin = RUN_PIN_NONE,
        .immortal = true,
        .warmup = 1,
        .repeats = 2,
    };
    for (int i = 0; i < wl->nparams; i++)
        s.params[i] = wl->params[i].def;
    return s;
}

typedef struct progress {
    int calls;
    int last_done;
    int total;
    bool ordered;
} progress_t;

static void on_progress(const run_spec_t *spec, int done, int total, void *arg)
{
    progress_t *p = arg;
    (void)spec;
    if (done != p->last_done + 1)
        p->ordered = false;
    p->last_done = done;
    p->total = total;
    p->calls++;
}

/* Run a row that must succeed; check what every mode fills. */
static void check_row(const run_spec_t *spec, run_row_t *row)
{
    char err[300] = "";
    progress_t prog = {.ordered = true};
    const char *what = run_mode_name(spec->mode);
    const char *gn = guard_name(spec->guard);
    int rc = run_row(spec, row, on_progress, &prog, err, sizeof(err));
    cr_assert_eq(rc, 0, "%s/%s/%s: %s", spec->workload->name, what, gn, err);
    cr_assert_eq(row->nsamples, spec->repeats, "%s/%s: warm-ups are not kept", what, gn);
    cr_assert_not_null(row->samples);
    cr_assert_eq(prog.calls, spec->warmup + spec->repeats, "%s/%s: one progress call per run", what, gn);
    cr_assert_eq(prog.total, spec->warmup + spec->repeats);
    cr_assert(prog.ordered);
    cr_assert_eq(row->spec.workers, spec->workers);
    for (int i = 0; i < row->nsamples; i++) {
        const run_sample_t *s = &row->samples[i];
        cr_assert_gt(s->wall_s, 0, "%s/%s: sample %d wall time", what, gn, i);
        cr_assert_gt(s->worker_min_s, 0, "%s/%s: worker time", what, gn);
        cr_assert_leq(s->worker_min_s, s->worker_mean_s, "%s/%s", what, gn);
        cr_assert_leq(s->worker_mean_s, s->worker_max_s, "%s/%s", what, gn);
        cr_assert_geq(s->cpu_user_s, 0);
        cr_assert_geq(s->cpu_sys_s, 0);
        cr_assert_gt(s->objects_allocated, 0, "%s/%s: workers report their allocations", what, gn);
        cr_assert_gt(s->max_rss_kib, 0, "%s/%s: peak RSS", what, gn);
        if (spec->mode == RUN_MODE_processes || spec->mode == RUN_MODE_pool)
            cr_assert_gt(s->rss_sum_kib, s->max_rss_kib, "%s: the workers' memory is summed", what);
        else
            cr_assert_eq(s->rss_sum_kib, s->max_rss_kib, "%s: one process", what);
        if (spec->mode == RUN_MODE_pool)
            cr_assert_gt(s->startup_s, 0, "pool: start-up measured");
        else
            cr_assert(isnan(s->startup_s), "%s: no start-up column", what);
        if (spec->allocator == HEAP_pymalloc)
            cr_assert_gt(s->arena_bytes_peak, 0, "%s/%s: pymalloc peak reported", what, gn);
        else
            cr_assert(isnan(s->arena_bytes_peak), "%s/%s: no arenas outside pymalloc", what, gn);
        if (guard_get(spec->guard)->has_gil)
            cr_assert_geq(s->gil_acquisitions, spec->workers, "%s: every worker took a GIL", what);
        else
            cr_assert(isnan(s->gil_acquisitions) && isnan(s->gil_switches), "%s/%s: no GIL", what, gn);
        if (spec->guard != GUARD_biased)
            cr_assert(isnan(s->rc_shared) && isnan(s->brc_queued) && isnan(s->brc_merged),
                      "%s/%s: biased counters are not this guard's", what, gn);
        /* Fairness needs workers sharing one GIL: not forked ones, each
         * with a GIL of its own, and not a guard without a GIL. */
        bool one_gil = guard_get(spec->guard)->has_gil &&
                       (spec->mode == RUN_MODE_single || spec->mode == RUN_MODE_threads);
        cr_assert_eq(row->fair != NULL, one_gil, "%s/%s: per-worker shares", what, gn);
        cr_assert_eq(isfinite(s->gil_jain), one_gil, "%s/%s: Jain's index %g", what, gn, s->gil_jain);
    }
}

Test(runners, every_mode_runs_a_row)
{
    for (int m = 0; m < RUN_MODE_COUNT; m++) {
        for (int g = 0; g < GUARD_COUNT; g++) {
            if (!guard_get(g)->threadsafe && m != RUN_MODE_single)
                continue;
            int workers = m == RUN_MODE_single ? 1 : 2;
            run_spec_t spec = spec_of(&wl_countdown, m, g, workers);
            run_row_t row;
            check_row(&spec, &row);
            /* Each worker allocates its argument and share-1 .. 257. */
            for (int i = 0; i < row.nsamples; i++)
                cr_assert_eq(row.samples[i].objects_allocated, SIZE - SMALL_INT_MAX * workers,
                             "%s/%s: %.0f objects", run_mode_name(m), guard_name(g),
                             row.samples[i].objects_allocated);
            run_row_free(&row);
            cr_assert_null(row.samples);
            cr_assert_eq(row.nsamples, 0);
        }
    }
}

/* Two rows stepped round-robin, as --interleave does: each step runs one
 * warm-up or repeat, and both rows end with exactly their repeats
 * (warm-ups discarded). */
Test(runners, sessions_interleave_rows)
{
    run_spec_t specs[2] = {spec_of(&wl_countdown, RUN_MODE_pool, GUARD_gil, 2),
                           spec_of(&wl_shared, RUN_MODE_threads, GUARD_biased, 2)};
    run_row_t rows[2];
    run_session_t *s[2];
    char err[256];
    int steps[2] = {0, 0};

    for (int i = 0; i < 2; i++) {
        s[i] = run_session_open(&specs[i], &rows[i], err, sizeof err);
        cr_assert_not_null(s[i], "%s", err);
    }
    for (int pending = 2; pending > 0;) {
        pending = 0;
        for (int i = 0; i < 2; i++) {
            int done, total;
            run_session_progress(s[i], &done, &total);
            cr_assert_eq(total, specs[i].warmup + specs[i].repeats);
            if (done == total)
                continue;
            int r = run_session_step(s[i], err, sizeof err);
            cr_assert_geq(r, 0, "%s", err);
            steps[i]++;
            pending += r;
        }
    }
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(steps[i], specs[i].warmup + specs[i].repeats);
        cr_assert_eq(run_session_step(s[i], err, sizeof err), 0, "a complete row has no more steps");
        run_session_close(s[i]);
        cr_assert_eq(rows[i].nsamples, specs[i].repeats, "warm-ups are not kept");
        for (int k = 0; k < rows[i].nsamples; k++) {
            cr_assert_gt(rows[i].samples[k].wall_s, 0);
            cr_assert_gt(rows[i].samples[k].objects_allocated, 0);
        }
        run_row_free(&rows[i]);
    }
}

Test(runners, threads_under_the_gil_take_turns)
{
    run_spec_t spec = spec_of(&wl_countdown, RUN_MODE_threads, GUARD_gil, 2);
    spec.size = 400000;
    spec.switch_interval_us = 100;   /* forced drops are all but certain */
    run_row_t row;
    check_row(&spec, &row);
    for (int i = 0; i < row.nsamples; i++) {
        const run_sample_t *s = &row.samples[i];
        cr_assert_geq(s->gil_acquisitions, 2);
        cr_assert_geq(s->gil_switches, 2, "two threads held the one GIL");
        /* Every forced drop waits (forced switching) for the taker, and that
         * wait reaches the sample like every other GIL statistic. */
        if (s->gil_forced_drops > 0)
            cr_assert_gt(s->gil_switch_wait_s, 0, "%.0f forced drops, no switch wait", s->gil_forced_drops);
        cr_assert(isfinite(s->gil_futile_wakeups) && isfinite(s->gil_jain));
    }
    run_row_free(&row);
}

Test(fairness, jain_and_starved_on_known_shares)
{
    const double even[] = {0.5, 0.5}, one[] = {1.0, 0.0}, lopsided[] = {0.45, 0.05}, none[] = {0, 0};
    cr_assert_float_eq(run_jain(even, 2), 1.0, 1e-12);
    cr_assert_float_eq(run_jain(one, 2), 0.5, 1e-12, "one held it all: 1/n");
    cr_assert_float_eq(run_jain(lopsided, 2), 0.25 / (2 * 0.205), 1e-12);
    cr_assert_float_eq(run_jain(none, 2), 1.0, 1e-12, "nobody held it: all alike");
    /* CPU-bound, each wanted the whole run: the fair share of 2 is 1/2,
     * starved is under a quarter. */
    cr_assert_not(run_starved(lopsided[0], 1.0, 2));
    cr_assert(run_starved(lopsided[1], 1.0, 2));
    cr_assert_not(run_starved(0.25, 1.0, 2), "exactly half the fair share is not under it");
    cr_assert(run_starved(0.12, 1.0, 4) && !run_starved(0.13, 1.0, 4), "the fair share of 4 is 1/4");
    cr_assert_not(run_starved(0.0, 1.0, 1), "one worker has nobody to starve it");
    /* A thread blocked most of the run asks for little: held 1 %, waited
     * 0.5 %, it got what it asked for; held 1 %, waited 3 % (the convoy's
     * server), it got a quarter of it. */
    cr_assert_not(run_starved(0.01, 0.015, 2), "blocking is not starving");
    cr_assert(run_starved(0.01, 0.04, 2), "waiting longer than holding is");
    /* wanted = held + waited over the wall: a quarter held, 0.5 s waited of 2 s */
    cr_assert_float_eq(run_wanted(&(run_fair_t){0.25, 0.5}, 2.0), 0.5, 1e-12);
    cr_assert_float_eq(run_wanted(&(run_fair_t){0.25, 0.5}, 0.0), 0.0, 1e-12, "no wall time, no demand");
}

/* Two threads share one GIL: together they hold it at most the wall time
 * (a little slack for the clock reads around a hand-off), and each is in
 * the row's per-worker shares. */
Test(fairness, threads_share_at_most_the_wall)
{
    static const guard_kind_t gils[] = {GUARD_gil, GUARD_gil_old};
    for (size_t g = 0; g < 2; g++) {
        run_spec_t spec = spec_of(&wl_countdown, RUN_MODE_threads, gils[g], 2);
        spec.size = 400000;
        spec.switch_interval_us = 100;
        run_row_t row;
        check_row(&spec, &row);
        cr_assert_not_null(row.fair);
        for (int k = 0; k < row.nsamples; k++) {
            const run_sample_t *s = &row.samples[k];
            const run_fair_t *f = &row.fair[k * 2];
            double sum = f[0].share + f[1].share;
            cr_assert(f[0].share > 0 && f[1].share > 0, "%s: both held it: %g %g", guard_name(gils[g]), f[0].share,
                      f[1].share);
            cr_assert_leq(sum, 1.0 + 0.02, "%s: one GIL, shares %g + %g", guard_name(gils[g]), f[0].share, f[1].share);
            cr_assert(f[0].wait_s >= 0 && f[1].wait_s >= 0);
            cr_assert_float_eq(s->gil_share_min, fmin(f[0].share, f[1].share), 1e-12);
            cr_assert_float_eq(s->gil_share_max, fmax(f[0].share, f[1].share), 1e-12);
            cr_assert_float_eq(s->gil_wait_max_s, fmax(f[0].wait_s, f[1].wait_s), 1e-12);
            double x[2] = {f[0].share, f[1].share};
            cr_assert_float_eq(s->gil_jain, run_jain(x, 2), 1e-12);
            cr_assert_eq(s->starved_workers, run_starved(x[0], run_wanted(&f[0], s->wall_s), 2) +
                                                 run_starved(x[1], run_wanted(&f[1], s->wall_s), 2));
        }
        run_row_free(&row);
    }
}

Test(runners, other_workloads_in_every_mode)
{
    const workload_t *wls[] = {&wl_alloc, &wl_shared};
    for (size_t w = 0; w < 2; w++) {
        for (int m = 1; m < RUN_MODE_COUNT; m++) {
            for (size_t g = 0; g < NTHREADSAFE; g++) {
                run_spec_t spec = spec_of(wls[w], m, threadsafe[g], 2);
                if (wls[w] == &wl_alloc)
                    spec.params[0] = 100;
                spec.immortal = threadsafe[g] != GUARD_atomic;   /* atomic --no-immortal: contended statics */
                run_row_t row;
                check_row(&spec, &row);
                /* Threads share the main thread's L; a forked worker runs in
                 * the main thread's state, so it owns its copy of L. */
                if (threadsafe[g] == GUARD_biased && wls[w] == &wl_shared && m == RUN_MODE_threads)
                    cr_assert_gt(row.samples[0].rc_shared, 0, "threads: L is not the workers' own");
                run_row_free(&row);
            }
        }
    }
}

/* ---- isolation of forked workers ------------------------------------------ */

/* What the parent can see of its interpreter. */
typedef struct view {
    int64_t live;
    intptr_t list_rc;
    intptr_t list_size;
    intptr_t item_rc;
    int64_t item_value;
    uint64_t blocks;     /* sys.getallocatedblocks() of the pymalloc heap */
    pym_stats_t pym;
} view_t;

static view_t view_of(const lab_t *l)
{
    view_t v;
    memset(&v, 0, sizeof(v));
    obj_t *list = l->interp->globals[0];
    v.live = interp_live_objects(l->interp);
    v.list_rc = obj_refcount(list, l->layout);
    v.list_size = ((list_obj_t *)list)->size;
    v.item_rc = obj_refcount(((list_obj_t *)list)->items[0], l->layout);
    v.item_value = int_value(((list_obj_t *)list)->items[0]);
    if (l->interp->heap.kind == HEAP_pymalloc) {
        pym_get_stats(l->interp->heap.pym, &v.pym);
        v.blocks = pym_allocated_blocks(l->interp->heap.pym);
    }
    return v;
}

static void assert_view_eq(const view_t *a, const view_t *b, const char *what)
{
    cr_assert_eq(a->live, b->live, "%s: live objects changed in the parent", what);
    cr_assert_eq(a->list_rc, b->list_rc, "%s: the list's count changed in the parent", what);
    cr_assert_eq(a->list_size, b->list_size, "%s: the list grew in the parent", what);
    cr_assert_eq(a->item_rc, b->item_rc, "%s", what);
    cr_assert_eq(a->item_value, b->item_value, "%s", what);
    cr_assert_eq(a->pym.bytes_in_use, b->pym.bytes_in_use, "%s: heap bytes changed in the parent", what);
    cr_assert_eq(a->blocks, b->blocks, "%s: blocks allocated in the parent's heap", what);
    cr_assert_eq(a->pym.raw_blocks, b->pym.raw_blocks, "%s", what);
    cr_assert_eq(a->pym.arenas_allocated, b->pym.arenas_allocated, "%s", what);
}

/* A global list of 8 large ints, as the `shared` workload's L but with
 * heap-allocated items. */
static void make_global_list(lab_t *l)
{
    l->ops->attach(l->ts);
    obj_t *list = l->ops->list_new(l->ts, 0);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(l->ops->list_append(l->ts, list, l->ops->int_new(l->ts, 5000 + i)), 0);
    l->interp->globals[0] = list;
    l->ops->detach(l->ts);
}

/* fork() with a pipe from the child to the parent: returns 0 in the child,
 * with *fd the write end, and the child's pid in the parent, with *fd the
 * read end. */
static pid_t fork_piped(int *fd)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    close(pid == 0 ? p[0] : p[1]);
    *fd = pid == 0 ? p[1] : p[0];
    return pid;
}

/* Reap the child `pid`, which must have exited with status 0. */
static void expect_child_ok(pid_t pid)
{
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    char how[96];
    child_status_text(status, how, sizeof(how));
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %s", how);
}

Test(isolation, bare_fork_child_changes_stay_in_the_child)
{
    for (size_t g = 0; g < NTHREADSAFE; g++) {
        lab_t l = lab_open(threadsafe[g], HEAP_pymalloc, true);
        make_global_list(&l);
        view_t before = view_of(&l);
        int fd;
        pid_t pid = fork_piped(&fd);
        if (pid == 0) {
            alarm(20);   /* a hang in the child becomes SIGALRM, not a stuck test */
            interp_after_fork_child(l.interp, l.ts);
            const guard_ops_t *ops = l.ops;
            obj_t *list = l.interp->globals[0];
            ops->attach(l.ts);
            for (int k = 0; k < 100; k++)
                ops->incref(l.ts, list);
            ops->incref(l.ts, ((list_obj_t *)list)->items[0]);
            int_set(((list_obj_t *)list)->items[1], -1);
            for (int k = 0; k < 1000; k++)
                ops->list_append(l.ts, list, ops->int_new(l.ts, 100000 + k));
            ops->detach(l.ts);
            view_t child = view_of(&l);
            _exit(pipe_write_all(fd, &child, sizeof(child)) == 0 ? 0 : 1);
        }
        view_t child;
        int got = pipe_read_all(fd, &child, sizeof(child));
        close(fd);
        expect_child_ok(pid);
        cr_assert_eq(got, 0);

        /* The child did change its copy... */
        cr_assert_eq(child.list_rc, before.list_rc + 100);
        cr_assert_eq(child.list_size, before.list_size + 1000);
        cr_assert_eq(child.item_rc, before.item_rc + 1);
        cr_assert_eq(child.live, before.live + 1000);
        cr_assert_gt(child.pym.bytes_in_use, before.pym.bytes_in_use);
        /* ... and the parent's is untouched. */
        view_t after = view_of(&l);
        assert_view_eq(&after, &before, guard_name(threadsafe[g]));
        cr_assert_eq(int_value(((list_obj_t *)l.interp->globals[0])->items[1]), 5001);
        lab_close(&l);
    }
}

/* A runner context as runner.c builds it, around our own interpreter. */
typedef struct rig {
    lab_t l;
    run_spec_t spec;
    code_t code;
    worker_result_t *results;
    char err[300];
    run_ctx_t ctx;
    pym_stats_t pym0;   /* the parent's heap before the workers ran */
    uint64_t blocks0;
} rig_t;

static void rig_open(rig_t *r, guard_kind_t g, run_mode_t mode)
{
    signal(SIGPIPE, SIG_IGN);   /* a dead worker's pipe fails the write, not the test */
    r->l = lab_open(g, HEAP_pymalloc, true);
    r->spec = spec_of(&wl_shared, mode, g, 2);
    r->spec.allocator = HEAP_pymalloc;
    r->spec.params[0] = 8;
    cr_assert_eq(wl_shared.build(&r->code, r->spec.params), 0);
    r->l.ops->attach(r->l.ts);
    cr_assert_eq(wl_shared.setup(r->l.ts, r->spec.params), 0);
    r->l.ops->detach(r->l.ts);
    r->results = aligned_alloc(64, 2 * sizeof(worker_result_t));
    cr_assert_not_null(r->results);
    memset(r->results, 0, 2 * sizeof(worker_result_t));
    r->err[0] = '\0';
    r->ctx = (run_ctx_t){.spec = &r->spec, .interp = r->l.interp, .main_ts = r->l.ts, .code = &r->code,
                         .pin = NULL, .results = r->results, .err = r->err, .errlen = sizeof(r->err)};
    pym_get_stats(r->l.interp->heap.pym, &r->pym0);
    r->blocks0 = pym_allocated_blocks(r->l.interp->heap.pym);
}

static void rig_close(rig_t *r)
{
    free(r->results);
    lab_close(&r->l);
}

/* The parent's heap: the children allocated in their own copies. */
static void heap_unchanged(rig_t *r, const char *what)
{
    pym_stats_t st;
    pym_get_stats(r->l.interp->heap.pym, &st);
    cr_assert_eq(pym_allocated_blocks(r->l.interp->heap.pym), r->blocks0,
                 "%s: the children allocated in their own heaps", what);
    cr_assert_eq(st.bytes_in_use, r->pym0.bytes_in_use, "%s", what);
    cr_assert_eq(st.arenas_allocated, r->pym0.arenas_allocated, "%s", what);
}

/* The parent's L, heap and live count after workers ran in forked copies. */
static void parent_unchanged(rig_t *r, const char *what)
{
    heap_unchanged(r, what);
    obj_t *list = r->l.interp->globals[0];
    cr_assert_eq(obj_refcount(list, r->l.layout), 1, "%s: L's count in the parent", what);
    cr_assert_eq(((list_obj_t *)list)->size, 8);
    cr_assert_eq(interp_live_objects(r->l.interp), 1, "%s: only L lives in the parent", what);
    for (int i = 0; i < 2; i++) {
        cr_assert_str_empty(r->results[i].error, "%s: worker %d: %s", what, i, r->results[i].error);
        cr_assert_gt(r->results[i].count.objects_allocated, 0, "%s: worker %d ran", what, i);
    }
}

Test(isolation, processes_run_leaves_the_parent_untouched)
{
    for (size_t g = 0; g < NTHREADSAFE; g++) {
        rig_t r;
        rig_open(&r, threadsafe[g], RUN_MODE_processes);
        uint64_t alloc0 = r.l.ts->count.objects_allocated;
        run_sample_t sample;
        memset(&sample, 0, sizeof(sample));
        cr_assert_eq(run_processes(&r.ctx, &sample), 0, "%s: %s", guard_name(threadsafe[g]), r.err);
        parent_unchanged(&r, "processes");
        cr_assert_eq(r.l.ts->count.objects_allocated, alloc0);
        cr_assert_gt(sample.wall_s, 0);
        rig_close(&r);
    }
}

Test(isolation, pool_leaves_the_parent_untouched)
{
    for (size_t g = 0; g < NTHREADSAFE; g++) {
        rig_t r;
        rig_open(&r, threadsafe[g], RUN_MODE_pool);
        for (int k = 0; k < 3; k++) {
            run_sample_t sample;
            memset(&sample, 0, sizeof(sample));
            memset(r.results, 0, 2 * sizeof(worker_result_t));
            cr_assert_eq(run_pool(&r.ctx, &sample), 0, "%s: %s", guard_name(threadsafe[g]), r.err);
            cr_assert_gt(sample.startup_s, 0);
            cr_assert_gt(sample.wall_s, 0);
            parent_unchanged(&r, "pool");
        }
        rig_close(&r);
    }
}

/* ---- fork while another thread holds the GIL --------------------------------- */

typedef struct holder {
    interp_t *interp;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int holding;
    int release;
} holder_t;

static void *holder_main(void *p)
{
    holder_t *h = p;
    tstate_t *ts = tstate_new(h->interp);
    h->interp->ops->attach(ts);
    pthread_mutex_lock(&h->mutex);
    h->holding = 1;
    pthread_cond_broadcast(&h->cond);
    while (!h->release)
        pthread_cond_wait(&h->cond, &h->mutex);
    pthread_mutex_unlock(&h->mutex);
    h->interp->ops->detach(ts);
    tstate_delete(ts);
    return NULL;
}

Test(isolation, fork_while_another_thread_holds_the_gil)
{
    lab_t l = lab_open(GUARD_gil, HEAP_pymalloc, true);
    holder_t h = {.interp = l.interp, .mutex = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, holder_main, &h), 0);
    pthread_mutex_lock(&h.mutex);
    while (!h.holding)
        pthread_cond_wait(&h.cond, &h.mutex);
    pthread_mutex_unlock(&h.mutex);

    code_t c;
    cr_assert_eq(wl_countdown.build(&c, NULL), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        alarm(20);
        interp_after_fork_child(l.interp, l.ts);
        int64_t live = interp_live_objects(l.interp);
        l.ops->attach(l.ts);   /* would wait for ever on the parent's holder */
        obj_t *arg = l.ops->int_new(l.ts, 5000);
        obj_t *r = l.ops->eval(l.ts, &c, &arg, 1);
        int ok = r == interp_none(l.interp);
        l.ops->detach(l.ts);
        ok = ok && interp_live_objects(l.interp) == live;
        _exit(ok ? 0 : 1);
    }
    expect_child_ok(pid);
    pthread_mutex_lock(&h.mutex);
    h.release = 1;
    pthread_cond_broadcast(&h.cond);
    pthread_mutex_unlock(&h.mutex);
    cr_assert_eq(pthread_join(th, NULL), 0);
    lab_close(&l);
}

/* ---- run_spec_check ------------------------------------------------------------ */

static void expect_invalid(const run_spec_t *spec, const char *expect)
{
    char err[300] = "";
    cr_assert_eq(run_spec_check(spec, err, sizeof(err)), -1, "must be rejected: %s", expect);
    cr_assert(strstr(err, expect) != NULL, "message '%s' lacks '%s'", err, expect);
    /* run_row refuses it the same way, with an empty row. */
    run_row_t row;
    char err2[300] = "";
    cr_assert_eq(run_row(spec, &row, NULL, NULL, err2, sizeof(err2)), -1);
    cr_assert_str_eq(err2, err);
    cr_assert_eq(row.nsamples, 0);
    cr_assert_null(row.samples);
}

Test(spec_check, rejects_bad_specs)
{
    char err[300] = "";
    run_spec_t ok = spec_of(&wl_countdown, RUN_MODE_threads, GUARD_gil, 4);
    cr_assert_eq(run_spec_check(&ok, err, sizeof(err)), 0, "%s", err);

    run_spec_t s = spec_of(&wl_countdown, RUN_MODE_threads, GUARD_none, 2);
    expect_invalid(&s, "only allowed with mode single");
    s.mode = RUN_MODE_processes;
    expect_invalid(&s, "single");
    s = spec_of(&wl_countdown, RUN_MODE_single, GUARD_none, 1);
    cr_assert_eq(run_spec_check(&s, err, sizeof(err)), 0, "none is fine alone: %s", err);

    s = spec_of(&wl_countdown, RUN_MODE_threads, GUARD_gil, 0);
    expect_invalid(&s, "workers must be between 1 and 1024, not 0");
    s.workers = RUN_MAX_WORKERS + 1;
    expect_invalid(&s, "workers must be between");
    s = spec_of(&wl_countdown, RUN_MODE_single, GUARD_gil, 2);
    expect_invalid(&s, "exactly one worker");

    s = spec_of(&wl_countdown, RUN_MODE_threads, GUARD_gil, 4);
    s.size = 3;
    expect_invalid(&s, "size 3 is smaller than the 4 workers");
    s.size = 0;
    expect_invalid(&s, "size for countdown must be between 1 and");
    s.size = wl_countdown.max_size + 1;
    expect_invalid(&s, "size for countdown must be between");

    s = spec_of(&wl_shared, RUN_MODE_threads, GUARD_gil, 2);
    s.params[0] = 0;
    expect_invalid(&s, "parameter length of shared must be between 1 and 1000000, not 0");
    s.params[0] = 1000001;
    expect_invalid(&s, "parameter length");
    s = spec_of(&wl_alloc, RUN_MODE_threads, GUARD_gil, 2);
    s.params[0] = -1;
    expect_invalid(&s, "parameter k of alloc");

    s = spec_of(&wl_countdown, RUN_MODE_threads, GUARD_gil, 2);
    s.repeats = 0;
    expect_invalid(&s, "repeats must be at least 1");
    s.repeats = 1;
    s.warmup = -1;
    expect_invalid(&s, "warm-ups");
    s.warmup = 0;
    s.switch_interval_us = 0;
    expect_invalid(&s, "switch interval");

    s = spec_of(&wl_countdown, RUN_MODE_threads, GUARD_gil, 2);
    s.workload = NULL;
    cr_assert_eq(run_spec_check(&s, err, sizeof(err)), -1);
    cr_assert(strstr(err, "incomplete") != NULL, "%s", err);
    s.workload = &wl_countdown;
    s.mode = RUN_MODE_COUNT;
    cr_assert_eq(run_spec_check(&s, err, sizeof(err)), -1);
    s.mode = RUN_MODE_threads;
    s.allocator = HEAP_COUNT;
    cr_assert_eq(run_spec_check(&s, err, sizeof(err)), -1);
}

Test(spec_check, mode_names)
{
    for (int m = 0; m < RUN_MODE_COUNT; m++) {
        cr_assert_eq(run_mode_find(run_mode_name(m)), m);
        cr_assert_str_not_empty(run_mode_description(m));
    }
    cr_assert_eq(run_mode_find("thread"), -1);
    cr_assert_str_eq(run_mode_name(RUN_MODE_COUNT), "?");
    cr_assert_eq(run_mode_find("pool"), RUN_MODE_pool);
}

Test(spec_check, worker_shares)
{
    /* size, workers, the alloc unit k (1: countdown) */
    static const struct { int64_t size; int workers; int64_t k; } cases[] = {
        {20000, 2, 1}, {20001, 2, 1}, {7, 7, 1}, {10, 3, 1}, {1000003, 16, 1}, {5, 1, 1},
        {3000, 4, 700}, {3000, 1, 1000}, {1000000, 2, 1000000}, {20000001, 3, 1000},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        const workload_t *wl = cases[c].k == 1 ? &wl_countdown : &wl_alloc;
        run_spec_t spec = spec_of(wl, cases[c].workers == 1 ? RUN_MODE_single : RUN_MODE_threads, GUARD_gil,
                                  cases[c].workers);
        spec.size = cases[c].size;
        if (wl == &wl_alloc)
            spec.params[0] = cases[c].k;
        int64_t sum = 0, lo = INT64_MAX, hi = 0, prev = INT64_MAX;
        for (int i = 0; i < cases[c].workers; i++) {
            int64_t s = worker_share(&spec, i);
            cr_assert_eq(s % cases[c].k, 0, "case %zu: whole pieces of work only", c);
            sum += s;
            lo = s < lo ? s : lo;
            hi = s > hi ? s : hi;
            cr_assert_leq(s, prev, "the remainder goes to the first workers");
            prev = s;
        }
        int64_t pieces = (cases[c].size + cases[c].k - 1) / cases[c].k;
        cr_assert_eq(sum, pieces * cases[c].k, "case %zu: shares add up to the size, in whole pieces", c);
        cr_assert_leq(hi - lo, cases[c].k, "shares differ by at most one piece");
    }
}

/* Every mode does the same work for the same size: the same objects for
 * the same number of workers, whatever the mode (alloc used to build more
 * lists in threads than in single, because its share of a size was rounded
 * up per worker), and single the same as W workers but for what the split
 * itself costs: each worker's argument and loop counter ints. */
Test(runners, equal_work_in_every_mode)
{
    for (size_t w = 0; w < wl_count(); w++) {
        const workload_t *wl = wl_at(w);
        if (wl->build_background != NULL)
            continue;   /* convoy: a duration, not a split of work (test_convoy.c) */
        for (int workers = 2; workers <= 4; workers += 2) {
            double objects[RUN_MODE_COUNT];
            for (int m = RUN_MODE_threads; m <= RUN_MODE_COUNT; m++) {
                run_mode_t mode = m < RUN_MODE_COUNT ? (run_mode_t)m : RUN_MODE_single;   /* single last */
                run_spec_t spec = spec_of(wl, mode, GUARD_gil, mode == RUN_MODE_single ? 1 : workers);
                spec.size = 30000;
                spec.warmup = 0;
                spec.repeats = 1;
                if (wl == &wl_alloc)
                    spec.params[0] = 1000;   /* 30 lists: 15 or 7-8 per worker */
                if (wl == &wl_cow)
                    spec.params[wl_param_find(wl, "objects")] = 10;   /* passes over 10 objects */
                if (wl == &wl_io)
                    spec.params[0] = 1;      /* block_us */
                run_row_t row;
                char err[300] = "";
                cr_assert_eq(run_row(&spec, &row, NULL, NULL, err, sizeof err), 0, "%s", err);
                double got = row.samples[0].objects_allocated;
                run_row_free(&row);
                if (mode == RUN_MODE_single) {
                    /* What the split itself costs: W-1 more loop counters,
                     * each stopping at the small-int cache (single counts
                     * at most 256 more ints down), and W argument ints. A
                     * list of k, a ring or a pass more or less falls outside. */
                    double d = got - objects[RUN_MODE_threads];
                    cr_assert(d >= -workers && d <= (workers - 1) * (SMALL_INT_MAX + 1),
                              "%s j=%d: single allocated %.0f objects, threads %.0f", wl->name, workers, got,
                              objects[RUN_MODE_threads]);
                    continue;
                }
                objects[m] = got;
                cr_assert_eq(objects[m], objects[RUN_MODE_threads], "%s j=%d: %s allocated %.0f objects, threads %.0f",
                             wl->name, workers, run_mode_name(m), objects[m], objects[RUN_MODE_threads]);
            }
        }
    }
    /* The bug's own example: -P k=1000 -n 3000 is three lists, in single as
     * in threads; four workers cannot share three lists. */
    run_spec_t one = spec_of(&wl_alloc, RUN_MODE_single, GUARD_gil, 1);
    run_spec_t three = spec_of(&wl_alloc, RUN_MODE_threads, GUARD_gil, 3);
    run_spec_t four = spec_of(&wl_alloc, RUN_MODE_threads, GUARD_gil, 4);
    one.size = three.size = four.size = 3000;
    one.params[0] = three.params[0] = four.params[0] = 1000;
    run_row_t r1, r3;
    char err[300] = "";
    cr_assert_eq(run_row(&one, &r1, NULL, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(run_row(&three, &r3, NULL, NULL, err, sizeof err), 0, "%s", err);
    /* 3 lists x (1 list + 1 item array... counted as objects: the list and
     * the 743 ints above 256), plus loop counters and arguments above 256 */
    double lists_objects = 3 * (1 + 1000 - (SMALL_INT_MAX + 1));
    cr_assert_geq(r1.samples[0].objects_allocated, lists_objects);
    cr_assert_geq(r3.samples[0].objects_allocated, lists_objects);
    cr_assert_lt(r3.samples[0].objects_allocated - r1.samples[0].objects_allocated, 10,
                 "single %.0f, threads(3) %.0f: the same three lists", r1.samples[0].objects_allocated,
                 r3.samples[0].objects_allocated);
    run_row_free(&r1);
    run_row_free(&r3);
    expect_invalid(&four, "every worker needs one");
}

/* ---- pipes and child status ------------------------------------------------------ */

Test(pipes, read_all_at_eof_is_epipe)
{
    int p[2];
    char buf[16];
    cr_assert_eq(pipe(p), 0);
    close(p[1]);
    errno = 0;
    cr_assert_eq(pipe_read_all(p[0], buf, sizeof(buf)), -1);
    cr_assert_eq(errno, EPIPE);
    close(p[0]);

    /* A short message followed by EOF is an error too. */
    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(pipe_write_all(p[1], "abc", 3), 0);
    close(p[1]);
    errno = 0;
    cr_assert_eq(pipe_read_all(p[0], buf, 8), -1);
    cr_assert_eq(errno, EPIPE);
    close(p[0]);

    /* Closed descriptor: -1 with read's own errno. */
    errno = 0;
    cr_assert_eq(pipe_read_all(p[0], buf, 1), -1);
    cr_assert_eq(errno, EBADF);
}

Test(pipes, read_all_assembles_short_reads)
{
    int fd;
    pid_t pid = fork_piped(&fd);
    if (pid == 0) {
        /* A record in three pieces, with pauses between them. */
        int ok = pipe_write_all(fd, "hello ", 6) == 0;
        usleep(20000);
        ok = ok && pipe_write_all(fd, "pipe", 4) == 0;
        usleep(20000);
        ok = ok && pipe_write_all(fd, "!", 1) == 0;
        _exit(ok ? 0 : 1);
    }
    char buf[12] = "";
    cr_assert_eq(pipe_read_all(fd, buf, 11), 0);
    cr_assert_str_eq(buf, "hello pipe!");
    close(fd);
    expect_child_ok(pid);
}

Test(pipes, write_all_to_a_closed_reader_is_epipe)
{
    signal(SIGPIPE, SIG_IGN);
    int p[2];
    cr_assert_eq(pipe(p), 0);
    close(p[0]);
    errno = 0;
    cr_assert_eq(pipe_write_all(p[1], "x", 1), -1);
    cr_assert_eq(errno, EPIPE);
    close(p[1]);
}

/* Fork a child that waits to be killed, or exits with `code`. */
static int child_status(int sig, int code)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        if (sig == 0)
            _exit(code);
        for (;;)
            pause();
    }
    if (sig != 0)
        cr_assert_eq(kill(pid, sig), 0);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return status;
}

Test(pipes, child_status_text)
{
    char buf[96];
    child_status_text(child_status(SIGKILL, 0), buf, sizeof(buf));
    cr_assert(strstr(buf, "killed by signal 9") != NULL, "%s", buf);
    child_status_text(child_status(SIGTERM, 0), buf, sizeof(buf));
    cr_assert(strstr(buf, "killed by signal 15") != NULL, "%s", buf);
    child_status_text(child_status(0, 7), buf, sizeof(buf));
    cr_assert_str_eq(buf, "exited with status 7");
    child_status_text(child_status(0, 0), buf, sizeof(buf));
    cr_assert_str_eq(buf, "exited with status 0");
}

/* ---- workers killed mid-run --------------------------------------------------------- */

/* Kills every process below this one that has used some CPU (so a pool
 * worker is killed in its task, not while idle), until told to stop: the
 * grandchildren (workers of a repeat process) when `depth` is 2, the
 * children (repeat processes) when it is 1. The runners do not expose their
 * pids; /proc does. */
typedef struct killer {
    pid_t parent;
    int depth;
    int killed;
} killer_t;

/* The parent pid and CPU ticks of process `pid`; 0 on success. */
static int proc_stat(pid_t pid, int *ppid, unsigned long *ticks)
{
    char path[64], line[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(line, 1, sizeof(line) - 1, f);
    fclose(f);
    line[n] = '\0';
    char *p = strrchr(line, ')');   /* the command name may hold spaces */
    unsigned long utime = 0, stime = 0;
    if (p == NULL || sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", ppid, &utime,
                            &stime) != 3)
        return -1;
    *ticks = utime + stime;
    return 0;
}

/* How many generations below `ancestor` process `pid` is (0 if not). */
static int generation_below(pid_t pid, pid_t ancestor)
{
    for (int g = 1; g <= 3; g++) {
        int ppid;
        unsigned long ticks;
        if (proc_stat(pid, &ppid, &ticks) < 0 || ppid <= 1)
            return 0;
        if (ppid == ancestor)
            return g;
        pid = ppid;
    }
    return 0;
}

static void kill_busy_children(killer_t *k)
{
    DIR *d = opendir("/proc");
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        int ppid;
        unsigned long ticks;
        if (*end != '\0' || pid <= 1 || pid == getpid() || proc_stat((pid_t)pid, &ppid, &ticks) < 0)
            continue;
        if (ticks >= 5 && generation_below((pid_t)pid, k->parent) == k->depth && kill((pid_t)pid, SIGKILL) == 0)
            k->killed++;
    }
    closedir(d);
}

/* The killer is a process of its own, not a thread: a thread here would
 * make this process multi-threaded when run_row forks the repeat process,
 * and the child could inherit a lock the killer held at that moment (under
 * ASan, the allocator's lock taken in opendir or fopen: the repeat
 * process's threads then hang in their first free, and nothing kills a
 * process that uses no CPU). It stops when `stop` (a pipe) closes and exits
 * with 1 if it killed anything. */
static pid_t killer_start(pid_t parent, int depth, int *stop)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(fds[1]);
        killer_t k = {.parent = parent, .depth = depth};
        struct pollfd stopped = {.fd = fds[0], .events = POLLIN};
        do
            kill_busy_children(&k);
        while (poll(&stopped, 1, 10) == 0);
        _exit(k.killed > 0);
    }
    close(fds[0]);
    *stop = fds[1];
    return pid;
}

/* Stop the killer; true if it killed a process. */
static bool killer_stop(pid_t pid, int stop)
{
    int status;
    close(stop);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) && WEXITSTATUS(status) == 1;
}

Test(runners, killed_workers_are_reported)
{
    /* A killed worker process, and a killed repeat process (which is where
     * single and threads run). */
    static const struct {
        run_mode_t mode;
        int depth;
        const char *says;
    } cases[] = {
        {RUN_MODE_processes, 2, "worker"},
        {RUN_MODE_pool, 2, "worker"},
        {RUN_MODE_threads, 1, "the repeat process"},
    };
    for (size_t m = 0; m < sizeof cases / sizeof cases[0]; m++) {
        const char *what = run_mode_name(cases[m].mode);
        run_spec_t spec = spec_of(&wl_countdown, cases[m].mode, GUARD_gil, 2);
        spec.size = INT64_C(2000000000);   /* far longer than it takes to be killed */
        spec.warmup = 0;
        spec.repeats = 1;
        int stop;
        pid_t killer = killer_start(getpid(), cases[m].depth, &stop);
        run_row_t row;
        char err[300] = "";
        int rc = run_row(&spec, &row, NULL, NULL, err, sizeof(err));
        bool killed = killer_stop(killer, stop);
        cr_assert_eq(rc, -1, "%s: a killed process fails the row", what);
        cr_assert(killed, "%s: the killer killed a process", what);
        cr_assert(strstr(err, "killed by signal 9") != NULL, "%s: '%s'", what, err);
        cr_assert(strstr(err, cases[m].says) != NULL, "%s: '%s'", what, err);
        cr_assert_eq(row.nsamples, 0);
        cr_assert_null(row.samples);
    }
}
