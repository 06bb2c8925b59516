/* report/records.c: a run's own records read back beside its results, so
 * that `gil-lab plot` and `gil-lab report` draw the GIL timelines and the
 * memory chart by the code the run drew them with (plots/gilcharts.c,
 * plots/memchart.c):
 *
 *   trace-N.json   row N's GIL trace: its "gilLabEvents" (report/trace.c
 *                  writes the lock's events there, per lane, as flat
 *                  triples t_ns, kind, arg) back into run->gil_trace
 *   memory.csv     every row's memory trace (report/memtrace.c), matched
 *                  to its row by name, back into run->trace
 *
 * A file that is not there is no error (the run had no --trace or no
 * --memory-trace), nor a trace-N.json without gilLabEvents (an older
 * gil-lab's: the row is then drawn as untraced); a file that is there and
 * wrong is. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report/report.h"

/* Event times are kept relative to an origin far from zero, so that an
 * event before the timed region (a wait begun just before it) stays an
 * unsigned time, as it was in the run. */
#define RECORDS_T0_NS (UINT64_C(1) << 62)

/* The folder of the results file r was read from, with a slash. */
static void folder_of(const rep_results_t *r, char *buf, size_t len)
{
    const char *slash = strrchr(r->path, '/');

    if (slash)
        snprintf(buf, len, "%.*s", (int)(slash - r->path + 1), r->path);
    else
        snprintf(buf, len, "./");
}

/* One lane of "gilLabEvents". Returns 0, or -1 with err set. */
static int read_lane(const json_t *j, run_trace_lane_t *lane, char *err, size_t errlen)
{
    const json_t *events = json_object_get(j, "events"), *id = json_object_get(j, "lane"),
                 *dropped = json_object_get(j, "dropped");
    size_t n = json_array_size(events);

    if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) > UINT16_MAX ||
        !json_is_array(events) || n % 3 != 0 || n / 3 > UINT32_MAX) {
        snprintf(err, errlen, "a lane of gilLabEvents has no lane number or no events triples");
        return -1;
    }
    lane->lane = (uint32_t)json_integer_value(id);
    lane->dropped = json_is_integer(dropped) && json_integer_value(dropped) > 0
                        ? (uint64_t)json_integer_value(dropped) : 0;
    lane->count = (uint32_t)(n / 3);
    lane->events = calloc(lane->count ? lane->count : 1, sizeof *lane->events);
    if (!lane->events) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (uint32_t k = 0; k < lane->count; k++) {
        const json_t *t = json_array_get(events, 3 * k), *kind = json_array_get(events, 3 * k + 1),
                     *arg = json_array_get(events, 3 * k + 2);
        if (!json_is_integer(t) || !json_is_integer(kind) || !json_is_integer(arg) ||
            json_integer_value(kind) < 0 || json_integer_value(kind) >= TRACE_KIND_COUNT ||
            json_integer_value(arg) < 0 || json_integer_value(arg) > UINT32_MAX ||
            llabs(json_integer_value(t)) > (long long)(RECORDS_T0_NS / 2)) {
            snprintf(err, errlen, "event %u of lane %u is not t_ns, kind, arg", k, lane->lane);
            return -1;
        }
        lane->events[k] = (trace_event_t){RECORDS_T0_NS + (uint64_t)json_integer_value(t),
                                          (uint16_t)json_integer_value(kind), (uint16_t)lane->lane,
                                          (uint32_t)json_integer_value(arg)};
    }
    return 0;
}

/* trace-<row + 1>.json into run->gil_trace, when it is there. Returns 0,
 * or -1 with err set. */
static int read_gil_trace(const char *folder, int row, run_row_t *run, char *err, size_t errlen)
{
    char path[PATH_MAX + 32], why[256];
    json_error_t jerr;
    json_t *doc, *lanes;
    run_trace_t *t = NULL;

    snprintf(path, sizeof path, "%strace-%d.json", folder, row + 1);
    if (!(doc = json_load_file(path, 0, &jerr))) {
        if (access(path, F_OK) != 0 && errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s is not JSON: %s (line %d)", path, jerr.text, jerr.line);
        return -1;
    }
    lanes = json_object_get(doc, "gilLabEvents");
    if (lanes == NULL) {
        json_decref(doc);   /* an older gil-lab's: its spans only, nothing to redraw from */
        return 0;
    }
    if (!json_is_array(lanes) || json_array_size(lanes) == 0 || json_array_size(lanes) > 4096) {
        snprintf(err, errlen, "%s: gilLabEvents is not an array of lanes", path);
        goto fail;
    }
    if (!(t = calloc(1, sizeof *t)) || !(t->lanes = calloc(json_array_size(lanes), sizeof *t->lanes))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    t->t0_ns = RECORDS_T0_NS;
    for (size_t i = 0; i < json_array_size(lanes); i++) {
        t->nlanes++;
        if (read_lane(json_array_get(lanes, i), &t->lanes[i], why, sizeof why) < 0) {
            snprintf(err, errlen, "%s: %s", path, why);
            goto fail;
        }
    }
    run->gil_trace = t;
    json_decref(doc);
    return 0;
fail:
    run_trace_free(t);
    json_decref(doc);
    return -1;
}

/* A memory.csv field: a number, NaN when empty. */
static double csv_number(const char *s)
{
    return *s == '\0' || *s == ',' || *s == '\n' ? NAN : strtod(s, NULL);
}

/* arr (n elements) with room for one more: it doubles at each power of
 * two (memtrace_t keeps no capacity). NULL when out of memory (arr is
 * then unchanged). */
static void *grow(void *arr, size_t n, size_t size)
{
    if (n & (n - 1))
        return arr;   /* not a power of two: there is room */
    return realloc(arr, (n ? 2 * n : 1) * size);
}

/* Append one memory.csv line (its row already found) to t. Returns 0, or
 * -1 when it is not a sample or collection, or out of memory. */
static int add_line(memtrace_t *t, const char *kind, const char *const field[6])
{
    if (strncmp(kind, "sample,", 7) == 0) {
        memtrace_point_t *p = grow(t->points, t->npoints, sizeof *p);
        if (!p)
            return -1;
        t->points = p;
        t->points[t->npoints++] = (memtrace_point_t){csv_number(field[0]), csv_number(field[1]),
                                                     csv_number(field[2]), csv_number(field[3])};
        return 0;
    }
    if (strncmp(kind, "gc,", 3) == 0) {
        memtrace_gc_t *g = grow(t->gcs, t->ngcs, sizeof *g);
        if (!g)
            return -1;
        t->gcs = g;
        t->gcs[t->ngcs++] = (memtrace_gc_t){csv_number(field[0]), csv_number(field[5]), (int)csv_number(field[4])};
        return 0;
    }
    return -1;
}

/* memory.csv into the rows' run->trace, when it is there. Returns 0, or
 * -1 with err set. */
static int read_memtrace(const char *folder, rep_results_t *r, char *err, size_t errlen)
{
    char path[PATH_MAX + 32], *line = NULL, name[256];
    size_t cap = 0;
    long lineno = 0;
    FILE *f;

    snprintf(path, sizeof path, "%smemory.csv", folder);
    if (!(f = fopen(path, "r")))
        return errno == ENOENT ? 0 : (snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno)), -1);
    while (getline(&line, &cap, f) > 0) {
        /* row,kind,t_s,rss_kib,heap_bytes,heap_blocks,generation,pause_s:
         * the row's name may hold commas, so the fields count from the end. */
        const char *field[6], *kind;
        char *c = line + strlen(line);
        int i = 0, found = -1;
        if (lineno++ == 0)
            continue;   /* the header */
        while (c > line && i < 7)
            if (*--c == ',')
                i++;
        if (i < 7 || c == line || (size_t)(c - line) >= sizeof name) {
            snprintf(err, errlen, "%s line %ld is not a memory.csv line", path, lineno);
            goto fail;
        }
        snprintf(name, sizeof name, "%.*s", (int)(c - line), line);
        kind = c + 1;
        field[0] = strchr(kind, ',') + 1;
        for (i = 1; i < 6; i++)
            field[i] = strchr(field[i - 1], ',') + 1;
        for (int k = 0; k < r->nruns && found < 0; k++) {
            char own[256];
            rep_spec_name(&r->runs[k].spec, own, sizeof own);
            if (strcmp(own, name) == 0)
                found = k;
        }
        if (found < 0) {
            snprintf(err, errlen, "%s line %ld names a row the results do not have", path, lineno);
            goto fail;
        }
        if (add_line(&r->runs[found].trace, kind, field) < 0) {
            snprintf(err, errlen, "%s line %ld is neither a sample nor a collection", path, lineno);
            goto fail;
        }
    }
    free(line);
    fclose(f);
    return 0;
fail:
    free(line);
    fclose(f);
    return -1;
}

int rep_results_load_records(rep_results_t *r, char *err, size_t errlen)
{
    char folder[PATH_MAX];

    folder_of(r, folder, sizeof folder);
    for (int i = 0; i < r->nruns; i++)
        if (read_gil_trace(folder, i, &r->runs[i], err, errlen) < 0)
            return -1;
    return read_memtrace(folder, r, err, errlen);
}
