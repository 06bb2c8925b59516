/* tests/test_memory.c: what the lab says about memory.
 *
 *   - tracemalloc (lab/tracemalloc.c): the traced total and its peak are
 *     exact through mallocs, reallocs and frees; the trace table survives
 *     any order of inserts and removals (checked against a plain array);
 *     a block allocated before tracing started is ignored when freed.
 *   - seed 001: `[x*x for x in range(n)]` peaks at n ints and an item array
 *     of n slots; the generator form at a few objects, whatever n is.
 *   - copy-on-write (the cow workload): forked readers of a plain heap copy
 *     nearly every page of it, readers of an immortalised heap almost none,
 *     gc.freeze() does not stop refcount writes, and threads copy nothing.
 *   - --pss adds every process's Pss; rows that do not ask leave it empty.
 *   - the heap after the timed region: pymalloc's blocks, arenas now and at
 *     most, and (--tracemalloc) the requested bytes still traced hold what
 *     the run left alive (cycles with the collector off) and little else.
 *   - the collector's statistics per generation add up to the run's totals
 *     (collections, objects examined, freed, uncollectable, pause time),
 *     also summed over forked workers; the free-threaded collector counts
 *     its automatic collections under generation 0 only.
 *   - --memory-trace: samples in time order, every collection marked, the
 *     trace unchanged through the pipe a repeat process sends it on; the
 *     sampler reading the workers' RSS never holds up the fork of the next.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gil/gil.h"
#include "lab/heap.h"
#include "lab/sizes.h"
#include "lab/test_hooks.h"
#include "lab/tracemalloc.h"
#include "runners/memtrace.h"
#include "runners/runner.h"
#include "workloads/workload.h"

/* ---- the tracer --------------------------------------------------------- */

Test(tracemalloc, totals_and_peak_are_exact)
{
    heap_t heap;
    char err[160];
    cr_assert_eq(heap_init(&heap, HEAP_pymalloc, false, NULL, err, sizeof err), 0, "%s", err);
    void *early = heap_malloc(&heap, 40);   /* before tracing: never counted */
    tracer_t t;
    cr_assert_eq(trace_start(&heap, &t), 0);
    void *p[1000];
    for (int i = 0; i < 1000; i++)
        p[i] = heap_malloc(&heap, (size_t)(i % 50) + 1);
    size_t expect = 0;
    for (int i = 0; i < 1000; i++)
        expect += (size_t)(i % 50) + 1;
    size_t current, peak, blocks, peak_blocks;
    trace_get(&t, &current, &peak, &blocks, &peak_blocks);
    cr_assert_eq(current, expect);
    cr_assert_eq(peak, expect);
    cr_assert_eq(blocks, 1000);
    for (int i = 0; i < 1000; i += 2) {
        heap_free(&heap, p[i]);
        expect -= (size_t)(i % 50) + 1;
    }
    size_t before = peak;
    trace_get(&t, &current, &peak, &blocks, NULL);
    cr_assert_eq(current, expect, "frees subtract");
    cr_assert_eq(peak, before, "the peak stays");
    cr_assert_eq(blocks, 500);
    trace_reset_peak(&t);
    p[1] = heap_realloc(&heap, p[1], 4000);   /* was 2 bytes */
    expect += 4000 - 2;
    trace_get(&t, &current, &peak, NULL, NULL);
    cr_assert_eq(current, expect, "realloc replaces the trace");
    cr_assert_eq(peak, expect, "the peak starts again from the reset");
    heap_free(&heap, early);   /* not traced: nothing to remove */
    trace_get(&t, &current, NULL, NULL, NULL);
    cr_assert_eq(current, expect);
    for (int i = 1; i < 1000; i += 2)
        heap_free(&heap, p[i]);
    trace_get(&t, &current, NULL, &blocks, NULL);
    cr_assert_eq(current, 0);
    cr_assert_eq(blocks, 0);
    trace_stop(&heap, &t);
    heap_destroy(&heap);
}

/* Inserts and removals in a pseudo-random order, the table against an
 * array of what is live: linear probing's backward-shift deletion must
 * never lose an entry, whatever the clustering. */
Test(tracemalloc, the_table_keeps_every_trace)
{
    heap_t heap;
    char err[160];
    cr_assert_eq(heap_init(&heap, HEAP_malloc, false, NULL, err, sizeof err), 0, "%s", err);
    tracer_t t;
    cr_assert_eq(trace_start(&heap, &t), 0);
    enum { N = 20000 };
    void **live = calloc(N, sizeof *live);
    size_t *sizes = calloc(N, sizeof *sizes);
    cr_assert(live != NULL && sizes != NULL);
    uint64_t x = 88172645463325252u, total = 0, count = 0;
    for (int step = 0; step < 200000; step++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int i = (int)(x % N);
        if (live[i] == NULL) {
            sizes[i] = (size_t)(x >> 40) % 300 + 1;
            live[i] = heap_malloc(&heap, sizes[i]);
            total += sizes[i];
            count++;
        } else {
            heap_free(&heap, live[i]);
            live[i] = NULL;
            total -= sizes[i];
            count--;
        }
    }
    size_t current, blocks;
    trace_get(&t, &current, NULL, &blocks, NULL);
    cr_assert_eq(current, total);
    cr_assert_eq(blocks, count);
    for (int i = 0; i < N; i++)
        if (live[i] != NULL)
            heap_free(&heap, live[i]);
    trace_get(&t, &current, NULL, &blocks, NULL);
    cr_assert_eq(current, 0, "every trace was found again");
    cr_assert_eq(blocks, 0);
    free(live);
    free(sizes);
    trace_stop(&heap, &t);
    heap_destroy(&heap);
}

/* ---- runs ---------------------------------------------------------------- */

static run_spec_t spec_of(const workload_t *wl, run_mode_t mode, guard_kind_t guard, int workers, int64_t size)
{
    run_spec_t s = {
        .workload = wl,
        .size = size,
        .mode = mode,
        .guard = guard,
        .allocator = guard_get(guard)->default_allocator,
        .workers = workers,
        .switch_interval_us = GIL_DEFAULT_INTERVAL_US,
        .immortal = true,
        .warmup = 0,
        .repeats = 1,
    };
    for (int i = 0; i < wl->nparams; i++)
        s.params[i] = wl->params[i].def;
    return s;
}

static void set_param(run_spec_t *s, const char *name, const char *value)
{
    int p = wl_param_find(s->workload, name);
    cr_assert_geq(p, 0, "%s has %s", s->workload->name, name);
    const wl_param_t *pr = &s->workload->params[p];
    s->params[p] = pr->choices != NULL ? wl_param_choice(pr, value) : atoll(value);
    cr_assert_geq(s->params[p], 0, "%s=%s", name, value);
}

static run_sample_t run_one(const run_spec_t *s)
{
    run_row_t row;
    char err[300] = "";
    cr_assert_eq(run_row(s, &row, NULL, NULL, err, sizeof err), 0, "%s: %s", s->workload->name, err);
    run_sample_t sample = row.samples[0];
    run_row_free(&row);
    return sample;
}

/* Seed 001: the list holds n squares at once, the generator one. */
Test(memory, a_list_peaks_with_n_a_generator_does_not)
{
    const int64_t n = 200000;
    guard_kind_t guards[] = {GUARD_gil, GUARD_biased};
    for (size_t g = 0; g < 2; g++) {
        obj_layout_t layout = guard_get(guards[g])->layout;
        run_spec_t s = spec_of(&wl_alloc, RUN_MODE_single, guards[g], 1, n);
        s.tracemalloc = true;
        set_param(&s, "form", "list");
        run_sample_t list = run_one(&s);
        /* Squares of 0..n-1 above 256 are new ints, each its own block. */
        double ints = (double)(n - 17) * (double)sizes_int_alloc(layout, 1000);
        cr_assert_geq(list.traced_peak_bytes, ints + 8.0 * (double)n, "%s: the list holds them all: %.0f",
                      guard_name(guards[g]), list.traced_peak_bytes);
        cr_assert_geq(list.traced_peak_blocks, (double)(n - 17));
        set_param(&s, "form", "gen");
        run_sample_t gen = run_one(&s);
        cr_assert_leq(gen.traced_peak_bytes, 1024, "%s: one square at a time: %.0f", guard_name(guards[g]),
                      gen.traced_peak_bytes);
        s.tracemalloc = false;
        run_sample_t untraced = run_one(&s);
        cr_assert(isnan(untraced.traced_peak_bytes), "not traced: no figure");
    }
}

/* Megabytes a row's workers dirtied, each, against the heap they read. */
static double dirtied_share(const run_sample_t *r, int64_t objects, size_t object_bytes)
{
    double dirtied = (r->smaps_private_dirty_after_kib - r->smaps_private_dirty_before_kib) * 1024.0;
    return dirtied / ((double)objects * (double)object_bytes);
}

Test(memory, copy_on_write_after_fork)
{
    /* Enough objects that what a process dirties anyway (its stack, the
     * loop's own ints, a sanitizer's bookkeeping) stays a few per cent. */
    const int64_t objects = 300000;
    run_spec_t s = spec_of(&wl_cow, RUN_MODE_processes, GUARD_gil, 2, 2);
    char value[32];
    snprintf(value, sizeof value, "%lld", (long long)objects);
    set_param(&s, "objects", value);
    size_t bytes = sizes_int_alloc(OBJ_LAYOUT_DEFAULT, 1000);   /* 32: one pymalloc block each */

    set_param(&s, "heap", "plain");
    run_sample_t plain = run_one(&s);
    cr_assert_geq(dirtied_share(&plain, objects, bytes), 0.8, "plain readers copy the heap: %.2f",
                  dirtied_share(&plain, objects, bytes));
    set_param(&s, "heap", "frozen");
    run_sample_t frozen = run_one(&s);
    cr_assert_geq(dirtied_share(&frozen, objects, bytes), 0.8, "gc.freeze() does not stop refcount writes");
    set_param(&s, "heap", "immortal");
    run_sample_t immortal = run_one(&s);
    cr_assert_leq(dirtied_share(&immortal, objects, bytes), 0.1, "immortal objects stay shared: %.2f",
                  dirtied_share(&immortal, objects, bytes));
    set_param(&s, "heap", "plain");
    s.mode = RUN_MODE_threads;
    run_sample_t threads = run_one(&s);
    cr_assert_leq(dirtied_share(&threads, objects, bytes), 0.1, "threads copy nothing: %.2f",
                  dirtied_share(&threads, objects, bytes));
}

Test(memory, pss_adds_up_every_process)
{
    run_spec_t s = spec_of(&wl_countdown, RUN_MODE_processes, GUARD_gil, 2, 20000);
    run_sample_t off = run_one(&s);
    cr_assert(isnan(off.pss_sum_kib), "not asked: empty");
    s.pss = true;
    run_sample_t on = run_one(&s);
    cr_assert(isfinite(on.pss_sum_kib) && on.pss_sum_kib > 0, "%f", on.pss_sum_kib);
    cr_assert_leq(on.pss_sum_kib, on.rss_sum_kib, "Pss divides what RSS counts whole");
}

/* The heap after the timed region: with the collector off every node of
 * the dropped rings is still there, with it on next to nothing is; an
 * allocator pymalloc's walk does not know, or no tracer, leaves the
 * figures empty. */
Test(memory, the_heap_at_the_end_of_the_row)
{
    const int64_t nodes = 20000;   /* cycle=2: 10000 rings */
    run_spec_t s = spec_of(&wl_cycles, RUN_MODE_single, GUARD_gil, 1, nodes);
    s.tracemalloc = true;
    s.gc.disabled = true;
    run_sample_t off = run_one(&s);
    cr_assert_geq(off.heap_blocks_end, (double)nodes, "every node is a block: %f", off.heap_blocks_end);
    cr_assert_geq(off.traced_blocks_end, (double)nodes, "%f", off.traced_blocks_end);
    cr_assert_leq(off.traced_bytes_end, off.traced_peak_bytes);
    cr_assert_geq(off.small_bytes_end, off.traced_bytes_end, "size classes round requests up");
    cr_assert(off.arenas_end >= 1 && off.arenas_peak >= off.arenas_end, "%f %f", off.arenas_end, off.arenas_peak);
    s.gc.disabled = false;
    run_sample_t on = run_one(&s);
    cr_assert_lt(on.heap_blocks_end, (double)nodes / 10, "the collector freed the rings: %f", on.heap_blocks_end);
    cr_assert_lt(on.traced_blocks_end, (double)nodes / 10, "%f", on.traced_blocks_end);

    s.tracemalloc = false;
    s.mode = RUN_MODE_processes;
    s.workers = 2;
    s.gc.disabled = true;
    run_sample_t forked = run_one(&s);
    cr_assert_geq(forked.heap_blocks_end, (double)nodes / 2, "the largest worker's half: %f", forked.heap_blocks_end);
    cr_assert(isnan(forked.traced_bytes_end) && isnan(forked.traced_blocks_end), "not traced: empty");
    s.mode = RUN_MODE_single;
    s.workers = 1;
    s.allocator = HEAP_malloc;
    run_sample_t other = run_one(&s);
    cr_assert(isnan(other.heap_blocks_end) && isnan(other.arenas_end) && isnan(other.arenas_peak) &&
                  isnan(other.small_bytes_end),
              "no pymalloc, no walk");
}

/* Per generation: each figure of the row is the sum of its generations',
 * in one process and summed over forked workers; the free-threaded
 * collector (gc_free_threading.c's gc_collect_main) counts an automatic
 * collection under generation 0. */
Test(memory, collector_statistics_per_generation_add_up)
{
    static const struct { run_mode_t mode; guard_kind_t guard; int workers; } rows[] = {
        {RUN_MODE_single, GUARD_gil, 1}, {RUN_MODE_processes, GUARD_gil, 2}, {RUN_MODE_single, GUARD_biased, 1},
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        run_spec_t s = spec_of(&wl_cycles, rows[k].mode, rows[k].guard, rows[k].workers, 100000);
        run_sample_t o = run_one(&s);
        double collections[] = {o.gc_collections_0, o.gc_collections_1, o.gc_collections_2};
        double examined[] = {o.gc_examined_0, o.gc_examined_1, o.gc_examined_2};
        double collected[] = {o.gc_collected_0, o.gc_collected_1, o.gc_collected_2};
        double uncollectable[] = {o.gc_uncollectable_0, o.gc_uncollectable_1, o.gc_uncollectable_2};
        double pause[] = {o.gc_pause_total_0_s, o.gc_pause_total_1_s, o.gc_pause_total_2_s};
        double sum_examined = 0, sum_uncollectable = 0, sum_pause = 0;
        for (int g = 0; g < GC_GENERATIONS; g++) {
            cr_assert_geq(examined[g], collected[g], "row %zu gen %d: what it freed it examined", k, g);
            if (collections[g] == 0)
                cr_assert_eq(pause[g], 0, "row %zu gen %d: no collection, no pause", k, g);
            cr_assert_leq(pause[g], o.gc_pause_total_s);
            sum_examined += examined[g];
            sum_uncollectable += uncollectable[g];
            sum_pause += pause[g];
        }
        cr_assert_gt(collections[0], 0, "row %zu: the cycles collected", k);
        cr_assert_eq(sum_examined, o.gc_examined, "row %zu", k);
        cr_assert_eq(sum_uncollectable, o.gc_uncollectable, "row %zu", k);
        cr_assert_float_eq(sum_pause, o.gc_pause_total_s, 1e-9, "row %zu: %g vs %g", k, sum_pause,
                           o.gc_pause_total_s);
        if (rows[k].guard == GUARD_biased)
            cr_assert(collections[1] == 0 && collections[2] == 0 && examined[1] == 0,
                      "3.13t: automatic collections are generation 0's");
        else
            cr_assert_gt(collections[1], 0, "row %zu: generation 1 ran too", k);
    }
}

/* --memory-trace: samples in time order with the heap where it is in reach,
 * the collections with their generations; over a pipe and back intact. */
Test(memory, memory_trace_samples_and_collections)
{
    run_spec_t s = spec_of(&wl_cycles, RUN_MODE_single, GUARD_gil, 1, 200000);
    s.memory_trace = true;
    s.sample_interval_us = 1000;
    run_row_t row;
    char err[300] = "";
    cr_assert_eq(run_row(&s, &row, NULL, NULL, err, sizeof err), 0, "%s", err);
    const memtrace_t *t = &row.trace;
    cr_assert_gt(t->npoints, 0, "at least the first sample");
    for (size_t k = 0; k < t->npoints; k++) {
        cr_assert(isfinite(t->points[k].heap_bytes) && t->points[k].rss_kib > 0, "sample %zu", k);
        if (k > 0)
            cr_assert_gt(t->points[k].t_s, t->points[k - 1].t_s, "in time order");
    }
    cr_assert_eq(t->ngcs, (size_t)(row.samples[0].gc_collections_0 + row.samples[0].gc_collections_1 +
                                   row.samples[0].gc_collections_2),
                 "every collection of the run is marked");
    for (size_t k = 0; k < t->ngcs; k++)
        cr_assert(t->gcs[k].generation >= 0 && t->gcs[k].generation < GC_GENERATIONS && t->gcs[k].pause_s >= 0);
    cr_assert(isfinite(row.samples[0].traced_peak_bytes), "a trace traces the heap");

    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    memtrace_t back;
    cr_assert_eq(memtrace_write(fds[1], t), 0);
    cr_assert_eq(memtrace_read(fds[0], &back), 0);
    cr_assert_eq(back.npoints, t->npoints);
    cr_assert_eq(back.ngcs, t->ngcs);
    cr_assert_eq(memcmp(back.points, t->points, t->npoints * sizeof *t->points), 0);
    memtrace_free(&back);
    close(fds[0]);
    close(fds[1]);
    run_row_free(&row);

    /* Forked workers: their RSS is added, their heaps are out of reach. */
    s = spec_of(&wl_countdown, RUN_MODE_processes, GUARD_gil, 2, 2000000);
    s.memory_trace = true;
    s.sample_interval_us = 1000;
    cr_assert_eq(run_row(&s, &row, NULL, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_gt(row.trace.npoints, 0);
    cr_assert(isnan(row.trace.points[0].heap_bytes));
    run_row_free(&row);
}

/* Stop a sampler started by the test itself (no collector ran: an empty
 * one stands in) and take its trace. */
static memtrace_t stop_sampler(memtrace_sampler_t *s)
{
    gc_state_t gc;
    gc_init(&gc, NULL, OBJ_LAYOUT_DEFAULT);
    gc_mark_t none;
    gc_mark(&gc, &none);
    memtrace_t t;
    cr_assert_eq(memtrace_stop(s, &gc, &none, &t), 0);
    gc_destroy(&gc);
    return t;
}

/* The sampler reads every worker's /proc file per sample (milliseconds for
 * a thousand workers), while the repeat process forks workers inside the
 * timed region and registers each one: registering must not wait for a
 * sample to finish. The hook holds the sampler in the middle of reading a
 * worker's RSS until the next registration has returned, or gives up after
 * a few seconds and says so. */
static int child_registered, sampler_in_child, sampler_gave_up;

static void hold_sampler_until_registered(void *pid)
{
    (void)pid;
    if (__atomic_exchange_n(&sampler_in_child, 1, __ATOMIC_ACQ_REL))
        return;   /* later samples pass */
    for (int ms = 0; ms < 5000 && !__atomic_load_n(&child_registered, __ATOMIC_ACQUIRE); ms++)
        usleep(1000);
    if (!__atomic_load_n(&child_registered, __ATOMIC_ACQUIRE))
        __atomic_store_n(&sampler_gave_up, 1, __ATOMIC_RELEASE);
}

Test(memory, sampling_never_holds_up_a_fork)
{
    char err[200] = "";
    gl_hook_memtrace_child = hold_sampler_until_registered;
    memtrace_sampler_t *s = memtrace_start(NULL, 1000, 2, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    memtrace_add_child(s, getpid());   /* a process to read: this one */
    while (!__atomic_load_n(&sampler_in_child, __ATOMIC_ACQUIRE))
        usleep(100);
    memtrace_add_child(s, getpid());   /* the next worker forked meanwhile */
    __atomic_store_n(&child_registered, 1, __ATOMIC_RELEASE);
    memtrace_t t = stop_sampler(s);
    gl_hook_memtrace_child = NULL;
    cr_assert(!__atomic_load_n(&sampler_gave_up, __ATOMIC_ACQUIRE),
              "registering a worker waited for the sampler to finish reading the others");
    cr_assert_gt(t.npoints, 0);
    memtrace_free(&t);
}

/* A run shorter than the interval still has its first sample and one at
 * its end (one point draws no line), and stopping does not wait out the
 * interval: the last sample is taken at the stop, not at the next tick a
 * second later. */
Test(memory, a_trace_ends_with_a_sample_at_the_stop)
{
    char err[200] = "";
    memtrace_sampler_t *s = memtrace_start(NULL, MEMTRACE_MAX_INTERVAL_US, 0, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    memtrace_t t = stop_sampler(s);
    cr_assert_eq(t.npoints, 2, "the first sample and the last: %zu", t.npoints);
    cr_assert_lt(t.points[1].t_s, 0.5 * MEMTRACE_MAX_INTERVAL_US / 1e6, "taken at the stop, not a tick later: %.3f s",
                 t.points[1].t_s);
    memtrace_free(&t);
}
