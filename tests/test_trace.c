/* tests/test_trace.c: the GIL trace (gil/trace.h, runners/ collection,
 * report/trace.c export).
 *
 *   - a traced row brings back one lane per worker, each in time order,
 *     with the events its thread really had (a take for every drop, a
 *     BLOCK_END for every BLOCK_BEGIN), and counts what a full buffer
 *     dropped
 *   - under gil and gil-old no two threads hold the GIL at once in the
 *     trace: merged by time, every TAKE finds the GIL free and every DROP
 *     is its holder's
 *   - the Chrome Trace Event export is valid JSON (json_check.h) whose
 *     "X" spans per thread do not overlap in time, and the timeline data
 *     has its five blocks
 *   - tracing off records nothing and leaves the trace fields empty
 */
#include <criterion/criterion.h>
#define CHECK(cond, ...) cr_assert(cond, __VA_ARGS__)

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_check.h"
#include "report/report.h"
#include "runners/runner.h"

static run_spec_t traced(const workload_t *wl, run_mode_t mode, guard_kind_t guard, int workers, int64_t size)
{
    run_spec_t s = {
        .workload = wl,
        .size = size,
        .mode = mode,
        .guard = guard,
        .allocator = HEAP_malloc,
        .workers = workers,
        .switch_interval_us = 200,
        .trace_events = 1 << 16,
        .immortal = true,
        .warmup = 1,
        .repeats = 2,
    };
    for (int i = 0; i < wl->nparams; i++)
        s.params[i] = wl->params[i].def;
    return s;
}

static void run_traced(const run_spec_t *spec, run_row_t *row)
{
    char err[400] = "";
    cr_assert_eq(run_row(spec, row, NULL, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_not_null(row->gil_trace, "a traced row keeps its first timed repeat's trace");
    cr_assert_eq(row->gil_trace->nlanes, spec->workers, "one lane per worker");
}

/* Every lane in time order, TAKE/DROP and BLOCK_BEGIN/END alternating. */
static void check_lanes(const run_trace_t *t)
{
    for (int i = 0; i < t->nlanes; i++) {
        const run_trace_lane_t *l = &t->lanes[i];
        int held = 0, blocked = 0;
        cr_assert_eq(l->lane, (uint32_t)i);
        for (uint32_t k = 0; k < l->count; k++) {
            const trace_event_t *e = &l->events[k];
            cr_assert_eq(e->lane, l->lane, "an event in the wrong lane");
            if (k > 0)
                cr_assert_geq(e->t_ns, l->events[k - 1].t_ns, "lane %d: event %u before its predecessor", i, k);
            if (e->kind == TRACE_TAKE)
                cr_assert_eq(held++, 0, "lane %d: took the GIL twice", i);
            if (e->kind == TRACE_DROP)
                cr_assert_eq(held--, 1, "lane %d: dropped a GIL it did not hold", i);
            if (e->kind == TRACE_BLOCK_BEGIN)
                cr_assert_eq(blocked++, 0, "lane %d: nested blocking calls", i);
            if (e->kind == TRACE_BLOCK_END)
                cr_assert_eq(blocked--, 1, "lane %d: a call ended that never began", i);
        }
    }
}

static int by_time(const void *a, const void *b)
{
    const trace_event_t *x = a, *y = b;
    if (x->t_ns != y->t_ns)
        return x->t_ns < y->t_ns ? -1 : 1;
    /* At the same nanosecond a DROP comes before the TAKE it allowed. */
    return (x->kind == TRACE_TAKE) - (y->kind == TRACE_TAKE);
}

/* Merged over every lane by time: at most one holder at any moment. */
static void check_one_holder(const run_trace_t *t)
{
    size_t n = 0, at = 0;
    for (int i = 0; i < t->nlanes; i++)
        n += t->lanes[i].count;
    trace_event_t *all = malloc((n ? n : 1) * sizeof *all);
    cr_assert_not_null(all);
    for (int i = 0; i < t->nlanes; i++)
        for (uint32_t k = 0; k < t->lanes[i].count; k++)
            all[at++] = t->lanes[i].events[k];
    qsort(all, n, sizeof *all, by_time);
    long holder = -1, takes = 0;
    for (size_t k = 0; k < n; k++) {
        if (all[k].kind == TRACE_TAKE) {
            cr_assert_eq(holder, -1, "lane %u took the GIL while lane %ld held it", all[k].lane, holder);
            holder = all[k].lane;
            takes++;
        } else if (all[k].kind == TRACE_DROP) {
            cr_assert_eq(holder, (long)all[k].lane, "lane %u dropped a GIL held by %ld", all[k].lane, holder);
            holder = -1;
        }
    }
    cr_assert_gt(takes, 1, "the GIL changed hands in the trace");
    free(all);
}

Test(trace, countdown_threads_under_both_gils)
{
    static const guard_kind_t guards[] = {GUARD_gil, GUARD_gil_old};
    for (size_t g = 0; g < 2; g++) {
        run_spec_t spec = traced(&wl_countdown, RUN_MODE_threads, guards[g], 3, 600000);
        run_row_t row;
        run_traced(&spec, &row);
        check_lanes(row.gil_trace);
        check_one_holder(row.gil_trace);
        for (int i = 0; i < row.nsamples; i++) {
            cr_assert_gt(row.samples[i].trace_events, 0);
            cr_assert_eq(row.samples[i].trace_dropped, 0, "65536 events are plenty here");
        }
        run_row_free(&row);
    }
}

Test(trace, convoy_shows_blocking_and_one_holder)
{
    run_spec_t spec = traced(&wl_convoy, RUN_MODE_threads, GUARD_gil, 2, 100);
    spec.params[0] = 1;   /* cpu_threads */
    run_row_t row;
    run_traced(&spec, &row);
    check_lanes(row.gil_trace);
    check_one_holder(row.gil_trace);
    uint32_t begins = 0;
    const run_trace_lane_t *server = &row.gil_trace->lanes[0];
    for (uint32_t k = 0; k < server->count; k++)
        begins += server->events[k].kind == TRACE_BLOCK_BEGIN;
    if (row.samples[0].trace_dropped == 0)
        cr_assert_eq(begins, 2 * row.samples[0].requests + 1, "two blocking calls per request, then EOF");
    run_row_free(&row);
}

Test(trace, a_full_buffer_counts_what_it_dropped)
{
    run_spec_t spec = traced(&wl_io, RUN_MODE_threads, GUARD_gil, 2, 200);
    spec.params[0] = 1;   /* block_us */
    spec.trace_events = 8;
    run_row_t row;
    run_traced(&spec, &row);
    for (int i = 0; i < row.gil_trace->nlanes; i++) {
        cr_assert_eq(row.gil_trace->lanes[i].count, 8, "a full buffer keeps its first events");
        cr_assert_gt(row.gil_trace->lanes[i].dropped, 0, "and counts the rest");
    }
    cr_assert_gt(row.samples[0].trace_dropped, 0);
    run_row_free(&row);
}

Test(trace, off_records_nothing)
{
    run_spec_t spec = traced(&wl_countdown, RUN_MODE_threads, GUARD_gil, 2, 20000);
    spec.trace_events = 0;
    run_row_t row;
    char err[300] = "";
    cr_assert_eq(run_row(&spec, &row, NULL, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_null(row.gil_trace);
    cr_assert(isnan(row.samples[0].trace_events) && isnan(row.samples[0].trace_dropped));
    run_row_free(&row);
}

/* ---- the exports ---------------------------------------------------------- */

static char *render(rep_fill_fn fill, const rep_doc_t *doc)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_not_null(f);
    cr_assert_eq(fill(f, doc, NULL), 0);
    cr_assert_eq(fclose(f), 0);
    return text;
}

/* The "X" events of one thread of the Chrome trace, by scanning the lines
 * the writer puts one event on: their [ts, ts + dur) must not overlap for
 * the GIL-holding spans. Returns how many holding spans there were. */
static int check_json_spans(const char *text, int tid)
{
    double last_end = -1e300;
    int spans = 0;
    char needle[64];
    snprintf(needle, sizeof needle, "\"tid\": %d", tid);
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        const char *eol = strchr(line, '\n');
        size_t n = eol ? (size_t)(eol - line) : strlen(line);
        char buf[512];
        if (n >= sizeof buf)
            continue;
        memcpy(buf, line, n);
        buf[n] = '\0';
        if (!strstr(buf, "\"name\": \"holding the GIL\"") || !strstr(buf, needle))
            continue;
        double ts, dur;
        const char *p = strstr(buf, "\"ts\": "), *q = strstr(buf, "\"dur\": ");
        cr_assert(p && q && sscanf(p + 6, "%lf", &ts) == 1 && sscanf(q + 7, "%lf", &dur) == 1, "%s", buf);
        cr_assert_geq(dur, 0);
        cr_assert_geq(ts, last_end - 1e-3, "thread %d: spans overlap at %g us", tid, ts);
        last_end = ts + dur;
        spans++;
    }
    return spans;
}

Test(trace, chrome_json_and_timeline_data)
{
    run_spec_t spec = traced(&wl_countdown, RUN_MODE_threads, GUARD_gil, 2, 400000);
    run_row_t row;
    run_traced(&spec, &row);
    rep_row_t rr;
    cr_assert_eq(rep_summarize(&row, 1, NULL, &rr), 0);
    rep_context_t ctx;
    memset(&ctx, 0, sizeof ctx);
    rep_doc_t doc = {.ctx = &ctx, .rows = &rr, .nrows = 1, .window_from_ms = 0, .window_len_ms = 100};

    char *json = render(rep_trace_json, &doc);
    cr_assert(json_valid(json), "trace JSON does not parse:\n%.2000s", json);
    cr_assert(strstr(json, "{\"traceEvents\": [") == json, "a JSON Object Format trace");
    cr_assert(strstr(json, "\"ph\": \"M\"") && strstr(json, "\"thread_name\""), "lanes are named");
    cr_assert(strstr(json, "\"name\": \"drop request\"") != NULL, "the drop requests are marked");
    int spans = 0;
    for (int tid = 0; tid < 2; tid++)
        spans += check_json_spans(json, tid);
    cr_assert_gt(spans, 2, "holding spans in both lanes");
    free(json);

    char *dat = render(rep_timeline_data, &doc);
    static const char *const blocks[] = {"\"holding the GIL\"", "\"waiting for the GIL\"",
                                         "\"blocked, GIL released\"", "\"collecting cycles\"",
                                         "\"drop request\"", "\"lanes\""};
    const char *at = dat;
    for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
        at = strstr(at, blocks[b]);
        cr_assert_not_null(at, "timeline data lacks block %s:\n%.1000s", blocks[b], dat);
    }
    free(dat);
    run_row_free(&row);
}

/* What rep_trace_walk reported for one lane. */
typedef struct walk_got {
    rep_span_t s[8];
    int n, marks;
} walk_got_t;

static void got_span(const rep_span_t *s, void *arg)
{
    walk_got_t *got = arg;
    if (got->n < 8)
        got->s[got->n++] = *s;
}

static void got_mark(const trace_event_t *e, void *arg)
{
    walk_got_t *got = arg;
    (void)e;
    got->marks++;
}

Test(trace, spans_of_a_lane)
{
    static const trace_event_t ev[] = {
        {1000, TRACE_WAIT, 0, 0},         {2000, TRACE_TAKE, 0, 0},      {5000, TRACE_DROP, 0, TRACE_DROP_VOLUNTARY},
        {5100, TRACE_BLOCK_BEGIN, 0, 1},  {9000, TRACE_BLOCK_END, 0, 1}, {9500, TRACE_TAKE, 0, 0},
        {9600, TRACE_DROP_REQUEST, 0, 1}, {12000, TRACE_DROP, 0, TRACE_DROP_FORCED},
        {12500, TRACE_TAKE, 0, 0},        /* still held when the buffer ends */
    };
    run_trace_lane_t lane = {0, sizeof ev / sizeof ev[0], 0, (trace_event_t *)ev};
    walk_got_t got = {0};
    rep_trace_walk(&lane, got_span, got_mark, &got);
    cr_assert_eq(got.n, 6);
    cr_assert(got.s[0].kind == REP_SPAN_WAIT && got.s[0].t0_ns == 1000 && got.s[0].t1_ns == 2000);
    cr_assert(got.s[1].kind == REP_SPAN_HOLD && got.s[1].t0_ns == 2000 && got.s[1].t1_ns == 5000);
    cr_assert(got.s[2].kind == REP_SPAN_BLOCKED && got.s[2].arg == 1 && got.s[2].t1_ns == 9000);
    cr_assert(got.s[3].kind == REP_SPAN_HOLD && got.s[3].t0_ns == 9500 && got.s[3].t1_ns == 12000);
    cr_assert(got.s[4].kind == REP_SPAN_WAIT && got.s[4].t0_ns == 12000 && got.s[4].t1_ns == 12500,
              "a forced drop is a yield: waiting from the drop to the next take");
    cr_assert(got.s[5].kind == REP_SPAN_HOLD && got.s[5].t0_ns == 12500 && got.s[5].t1_ns == 12500,
              "an open span closes at the lane's last event");
    cr_assert_eq(got.marks, 2, "the drop request and the forced drop");
    cr_assert_str_eq(trace_kind_name(TRACE_DROP_REQUEST), "DROP_REQUEST");
    cr_assert_str_eq(trace_kind_name(TRACE_KIND_COUNT), "?");
}

/* The cycle collector's runs are in the trace, each inside a span in
 * which its thread held the GIL (the default build collects with it). */
static bool inside_a_hold(const run_trace_lane_t *l, uint64_t t0, uint64_t t1)
{
    uint64_t took = 0;
    bool held = false;
    for (uint32_t k = 0; k < l->count; k++) {
        const trace_event_t *e = &l->events[k];
        if (e->kind == TRACE_TAKE) {
            held = true;
            took = e->t_ns;
        } else if (e->kind == TRACE_DROP) {
            if (held && took <= t0 && t1 <= e->t_ns)
                return true;
            held = false;
        }
    }
    return held && took <= t0;   /* still held when the lane's events end */
}

Test(trace, collections_happen_holding_the_gil)
{
    run_spec_t spec = traced(&wl_cycles, RUN_MODE_threads, GUARD_gil, 2, 200000);
    run_row_t row;
    run_traced(&spec, &row);
    check_one_holder(row.gil_trace);
    int collections = 0;
    for (int i = 0; i < row.gil_trace->nlanes; i++) {
        const run_trace_lane_t *l = &row.gil_trace->lanes[i];
        uint64_t began = 0;
        for (uint32_t k = 0; k < l->count; k++) {
            if (l->events[k].kind == TRACE_GC_BEGIN)
                began = l->events[k].t_ns;
            if (l->events[k].kind == TRACE_GC_END) {
                cr_assert(inside_a_hold(l, began, l->events[k].t_ns), "lane %d collected without the GIL", i);
                collections++;
            }
        }
    }
    cr_assert_gt(collections, 0, "the collector ran and the trace shows it");
    run_row_free(&row);
}
