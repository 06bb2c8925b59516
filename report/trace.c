/* report/trace.c: a row's GIL trace (runners/runner.h run_trace_t) as
 * spans, as a Chrome Trace Event file, and as the timeline chart's data.
 *
 * Each lane's events (gil/trace.h) are in its own time order; a small
 * state machine per lane turns them into spans:
 *
 *   WAIT ........ TAKE ##################### DROP      BLOCK_BEGIN ~~~~ BLOCK_END
 *        waiting        holding the GIL                 blocked (GIL released)
 *
 * and GC_BEGIN ... GC_END a collection (inside a holding span under a GIL).
 * A forced DROP (a yield: the thread asks for the GIL again at once) opens
 * a waiting span that its next WAIT continues, so the forced switch's wait
 * shows as waiting, as the fairness figures count it.
 * A span still open when the lane's events end (a full buffer, or a
 * thread that never took the GIL back) closes at the lane's last event.
 * DROP_REQUEST, a forced DROP and EXIT are instants.
 *
 * The Chrome Trace Event format ("JSON Object Format": a traceEvents array
 * of {"name", "ph", "ts", "dur", "pid", "tid", "args"}, timestamps in
 * microseconds) is what Perfetto and chrome://tracing open: complete
 * events (ph "X") for spans, instant events (ph "i", thread scope) for
 * the marks, metadata (ph "M") naming each lane. Times are from the start
 * of the repeat's timed region.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "lab/code.h"
#include "report/report.h"

static const char *const span_names[REP_SPAN_COUNT] = {
    [REP_SPAN_HOLD] = "holding the GIL",
    [REP_SPAN_WAIT] = "waiting for the GIL",
    [REP_SPAN_BLOCKED] = "blocked, GIL released",
    [REP_SPAN_GC] = "collecting cycles",
};

const char *rep_span_name(rep_span_kind_t kind)
{
    return (unsigned)kind < REP_SPAN_COUNT ? span_names[kind] : "?";
}

void rep_trace_walk(const run_trace_lane_t *lane, rep_span_fn on_span, rep_mark_fn on_mark, void *arg)
{
    uint64_t open[REP_SPAN_COUNT];
    uint32_t arg_of[REP_SPAN_COUNT] = {0};   /* the open span's argument */
    bool is_open[REP_SPAN_COUNT] = {false};
    uint64_t last = 0;

    for (uint32_t i = 0; i < lane->count; i++) {
        const trace_event_t *e = &lane->events[i];
        rep_span_kind_t closes = REP_SPAN_COUNT, opens = REP_SPAN_COUNT;
        last = e->t_ns;
        switch ((trace_kind_t)e->kind) {
        case TRACE_WAIT: opens = REP_SPAN_WAIT; break;
        case TRACE_TAKE: closes = REP_SPAN_WAIT; opens = REP_SPAN_HOLD; break;
        case TRACE_DROP:
            closes = REP_SPAN_HOLD;
            /* A forced drop is a yield: the thread wants the GIL back at
             * once, and waits from here (for the switch, then in take). */
            if (e->arg == TRACE_DROP_FORCED)
                opens = REP_SPAN_WAIT;
            break;
        case TRACE_BLOCK_BEGIN: opens = REP_SPAN_BLOCKED; break;
        case TRACE_BLOCK_END: closes = REP_SPAN_BLOCKED; break;
        case TRACE_GC_BEGIN: opens = REP_SPAN_GC; break;
        case TRACE_GC_END: closes = REP_SPAN_GC; break;
        default: break;
        }
        if (closes != REP_SPAN_COUNT && is_open[closes] && on_span) {
            rep_span_t sp = {closes, lane->lane, open[closes], e->t_ns, arg_of[closes]};
            on_span(&sp, arg);
        }
        if (closes != REP_SPAN_COUNT)
            is_open[closes] = false;
        if (opens != REP_SPAN_COUNT && !(opens == REP_SPAN_WAIT && is_open[REP_SPAN_WAIT])) {
            is_open[opens] = true;
            open[opens] = e->t_ns;
            arg_of[opens] = e->arg;
        }
        if (on_mark && (e->kind == TRACE_DROP_REQUEST || e->kind == TRACE_EXIT ||
                        (e->kind == TRACE_DROP && e->arg == TRACE_DROP_FORCED)))
            on_mark(e, arg);
    }
    for (int k = 0; k < REP_SPAN_COUNT && on_span; k++) {
        if (is_open[k]) {
            rep_span_t sp = {(rep_span_kind_t)k, lane->lane, open[k], last, arg_of[k]};
            on_span(&sp, arg);
        }
    }
}

/* ---- Chrome Trace Event JSON -------------------------------------------- */

typedef struct json_ctx {
    FILE *f;
    uint64_t t0;
    bool first;
} json_ctx_t;

static double us_since(uint64_t t, uint64_t t0)
{
    return t >= t0 ? (double)(t - t0) / 1e3 : -(double)(t0 - t) / 1e3;
}

static void json_sep(json_ctx_t *j)
{
    fputs(j->first ? "\n  " : ",\n  ", j->f);
    j->first = false;
}

static void json_span(const rep_span_t *s, void *arg)
{
    json_ctx_t *j = arg;
    json_sep(j);
    fprintf(j->f, "{\"name\": \"%s\", \"cat\": \"%s\", \"ph\": \"X\", \"ts\": %.3f, \"dur\": %.3f, "
                  "\"pid\": 1, \"tid\": %" PRIu32,
            s->kind == REP_SPAN_BLOCKED ? blocking_name((blocking_t)s->arg) : rep_span_name(s->kind),
            s->kind == REP_SPAN_GC ? "gc" : "gil", us_since(s->t0_ns, j->t0), (double)(s->t1_ns - s->t0_ns) / 1e3,
            s->lane);
    if (s->kind == REP_SPAN_BLOCKED)
        fputs(", \"args\": {\"state\": \"blocked, GIL released\"}", j->f);
    if (s->kind == REP_SPAN_GC)
        fprintf(j->f, ", \"args\": {\"generation\": %" PRIu32 "}", s->arg);
    fputs("}", j->f);
}

static void json_mark(const trace_event_t *e, void *arg)
{
    json_ctx_t *j = arg;
    json_sep(j);
    if (e->kind == TRACE_DROP_REQUEST)
        fprintf(j->f, "{\"name\": \"drop request\", \"cat\": \"gil\", \"ph\": \"i\", \"s\": \"t\", "
                      "\"ts\": %.3f, \"pid\": 1, \"tid\": %u, \"args\": {\"holder\": %" PRIu32 "}}",
                us_since(e->t_ns, j->t0), e->lane, e->arg);
    else
        fprintf(j->f, "{\"name\": \"%s\", \"cat\": \"gil\", \"ph\": \"i\", \"s\": \"t\", \"ts\": %.3f, "
                      "\"pid\": 1, \"tid\": %u}",
                e->kind == TRACE_EXIT ? "exit" : "forced drop", us_since(e->t_ns, j->t0), e->lane);
}

/* "worker 0 (server)" and the like: what the lane is. */
static void lane_label(const run_spec_t *spec, uint32_t lane, char *buf, size_t len)
{
    const char *role = "";
    if (spec->workload->build_background != NULL)
        role = lane == 0 ? " (server)" : " (CPU-bound)";
    snprintf(buf, len, "worker %" PRIu32 "%s", lane, role);
}

int rep_trace_json(FILE *f, const rep_doc_t *doc, const void *arg)
{
    (void)arg;
    const rep_row_t *r = &doc->rows[0];
    const run_trace_t *t = r->run->gil_trace;
    json_ctx_t j = {.f = f, .first = true};
    char label[64];

    if (t == NULL)
        return -1;
    j.t0 = t->t0_ns;
    fputs("{\"traceEvents\": [", f);
    json_sep(&j);
    fputs("{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": 1, \"args\": {\"name\": ", f);
    rep_json_string(f, r->name);
    fputs("}}", f);
    for (int i = 0; i < t->nlanes; i++) {
        lane_label(&r->run->spec, t->lanes[i].lane, label, sizeof label);
        json_sep(&j);
        fprintf(f, "{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": %" PRIu32 ", \"args\": "
                   "{\"name\": \"%s\"}}",
                t->lanes[i].lane, label);
        rep_trace_walk(&t->lanes[i], json_span, json_mark, &j);
    }
    fputs("\n], \"displayTimeUnit\": \"ms\", \"otherData\": {\"row\": ", f);
    rep_json_string(f, r->name);
    fprintf(f, ", \"guard\": \"%s\", \"switch_interval_us\": %llu, \"dropped_events\": [",
            guard_name(r->run->spec.guard), (unsigned long long)r->run->spec.switch_interval_us);
    for (int i = 0; i < t->nlanes; i++)
        fprintf(f, "%s%" PRIu64, i ? ", " : "", t->lanes[i].dropped);
    fputs("]},\n", f);
    /* The lock's own events, which the spans above were made from: what
     * `gil-lab plot --chart timeline` reads back (report/records.c) to
     * draw the timeline by the same code as the run: per lane, its events
     * as flat triples (ns since the timed region's start, the kind of
     * gil/trace.h, its argument). Trace viewers take a member they do not
     * know for metadata. */
    fputs("\"gilLabEvents\": [", f);
    for (int i = 0; i < t->nlanes; i++) {
        const run_trace_lane_t *lane = &t->lanes[i];
        fprintf(f, "%s\n  {\"lane\": %" PRIu32 ", \"dropped\": %" PRIu64 ", \"events\": [", i ? "," : "",
                lane->lane, lane->dropped);
        for (uint32_t k = 0; k < lane->count; k++) {
            const trace_event_t *e = &lane->events[k];
            fprintf(f, "%s%" PRId64 ",%u,%" PRIu32, k ? "," : "", (int64_t)(e->t_ns - t->t0_ns), e->kind, e->arg);
        }
        fputs("]}", f);
    }
    fputs("\n]}\n", f);
    return ferror(f) ? -1 : 0;
}

/* ---- the timeline chart's data ------------------------------------------ */

typedef struct dat_ctx {
    FILE *f;
    uint64_t t0, from, to;    /* the window, absolute ns (each row its own) */
    int kind;                 /* the span kind this pass writes, -1: marks */
    uint32_t offset;          /* lanes of the rows before this one */
} dat_ctx_t;

static void dat_span(const rep_span_t *s, void *arg)
{
    dat_ctx_t *d = arg;
    if ((int)s->kind != d->kind || s->t1_ns < d->from || s->t0_ns > d->to)
        return;
    uint64_t a = s->t0_ns < d->from ? d->from : s->t0_ns, b = s->t1_ns > d->to ? d->to : s->t1_ns;
    fprintf(d->f, "%" PRIu32 " %.6f %.6f\n", d->offset + s->lane, us_since(a, d->t0) / 1e3,
            us_since(b, d->t0) / 1e3);
}

static void dat_mark(const trace_event_t *e, void *arg)
{
    dat_ctx_t *d = arg;
    if (d->kind != -1 || e->kind != TRACE_DROP_REQUEST || e->t_ns < d->from || e->t_ns > d->to)
        return;
    fprintf(d->f, "%" PRIu32 " %.6f %" PRIu32 "\n", d->offset + e->lane, us_since(e->t_ns, d->t0) / 1e3,
            d->offset + e->arg);
}

int rep_timeline_lanes(const rep_doc_t *doc)
{
    int n = 0;
    for (int i = 0; i < doc->nrows; i++)
        if (doc->rows[i].run->gil_trace != NULL)
            n += doc->rows[i].run->gil_trace->nlanes;
    return n;
}

/* One span kind (or the marks, kind -1) of every traced row. */
static void dat_block(FILE *f, const rep_doc_t *doc, int kind)
{
    dat_ctx_t d = {.f = f, .kind = kind};
    fprintf(f, "\"%s\"\n", kind >= 0 ? rep_span_name((rep_span_kind_t)kind) : "drop request");
    fputs("-1 0 0\n", f);   /* gnuplot needs one row in every block */
    for (int r = 0; r < doc->nrows; r++) {
        const run_trace_t *t = doc->rows[r].run->gil_trace;
        if (t == NULL)
            continue;
        d.t0 = t->t0_ns;
        d.from = t->t0_ns + (uint64_t)doc->window_from_ms * 1000000u;
        d.to = d.from + (uint64_t)doc->window_len_ms * 1000000u;
        for (int i = 0; i < t->nlanes; i++)
            rep_trace_walk(&t->lanes[i], dat_span, dat_mark, &d);
        d.offset += (uint32_t)t->nlanes;
    }
    fputs("\n\n", f);
}

int rep_timeline_data(FILE *f, const rep_doc_t *doc, const void *arg)
{
    (void)arg;
    uint32_t offset = 0;
    if (rep_timeline_lanes(doc) == 0)
        return -1;
    fputs("# gil-lab timeline data for plots/timeline.gp, one lane per traced thread of each row;\n"
          "# blocks 0-3: lane, from_ms, to_ms of spans holding / waiting for the GIL / blocked /\n"
          "# collecting cycles; block 4: lane, at_ms, holder lane of each drop request;\n"
          "# block 5: lane, label\n",
          f);
    for (int kind = 0; kind < REP_SPAN_COUNT; kind++)
        dat_block(f, doc, kind);
    dat_block(f, doc, -1);
    fputs("\"lanes\"\n", f);
    for (int r = 0; r < doc->nrows; r++) {
        const rep_row_t *row = &doc->rows[r];
        const run_trace_t *t = row->run->gil_trace;
        for (int i = 0; t != NULL && i < t->nlanes; i++) {
            char label[96], lane[128];
            lane_label(&row->run->spec, t->lanes[i].lane, label, sizeof label);
            if (t->lanes[i].dropped > 0 && t->lanes[i].count > 0) {
                size_t n = strlen(label);
                snprintf(label + n, sizeof label - n, " [full at %.0f ms]",
                         us_since(t->lanes[i].events[t->lanes[i].count - 1].t_ns, t->t0_ns) / 1e3);
            }
            if (doc->nrows > 1)
                snprintf(lane, sizeof lane, "%s: %s", guard_name(row->run->spec.guard), label);
            else
                snprintf(lane, sizeof lane, "%s", label);
            fprintf(f, "%" PRIu32 " \"%s\"\n", offset++, lane);
        }
    }
    return ferror(f) ? -1 : 0;
}
