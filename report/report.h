/* report/report.h: from measured rows to what a speaker puts on a slide.
 *
 * The report layer (gl_report) turns the run_row_t values of runners/runner.h
 * into four outputs that must always agree with each other:
 *
 *   run_row_t ──rep_summarize()──► rep_row_t ──┬─► table.c  hyperfine-like console
 *   (samples)   stats, medians,     (numbers)  ├─► csv.c    results.csv, stable header
 *               speedup, outliers              ├─► json.c   results.json, Google Benchmark-like
 *                                              └─► plot.c   chart.dat ► gnuplot ► chart.png/svg
 *
 * Every number is computed once, in rep_summarize() (stats.c); the writers
 * only format. The CSV columns and the JSON scalar fields come from one
 * table (rep_columns) and the per-repeat fields from one X-macro
 * (REP_SAMPLE_FIELDS), so a new measurement is one line in each list.
 *
 * The files reach the results folder through outdir.c alone (locked
 * folder, exclusive temporaries, renamed together); text from outside goes
 * through text.c before it reaches a terminal or a JSON string.
 *
 * Definitions the outputs rely on (also the README's):
 *   - wall statistics are over the R timed repeats (warm-ups excluded);
 *     stddev uses R-1 and is undefined (NaN: empty in CSV, null in JSON)
 *     for R = 1; cv = stddev / mean; mad = median absolute deviation.
 *   - every other per-row number (cpu_user_s, counters, ...) is the median
 *     over the repeats of that repeat's value.
 *   - an outlier is a repeat whose modified z-score 0.6745 (x - median) / MAD
 *     exceeds 3.5 (Iglewicz and Hoaglin; what hyperfine warns about).
 *   - a row is too short to trust when its median is below
 *     REP_MIN_RELIABLE_S (5 ms, hyperfine's threshold too).
 *   - speedup: see rep_speedup().
 */
#ifndef GL_REPORT_H
#define GL_REPORT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "runners/runner.h"

/* ------------------------------------------------------------------------
 * Descriptive statistics (stats.c)
 */

#define REP_OUTLIER_Z 3.5

typedef struct rep_stats {
    int n;
    double median, mean, stddev, cv, min, max, mad;  /* stddev, cv: NaN when n < 2 */
    int outliers;                                     /* modified z-score > REP_OUTLIER_Z */
} rep_stats_t;

/* Statistics of x[0..n). Returns 0, or -1 when n < 1 or out of memory. */
int rep_stats_compute(const double *x, int n, rep_stats_t *st);

/* ------------------------------------------------------------------------
 * Per-repeat fields: the runner's one list (runners/runner.h), in the order
 * the JSON "repeats" objects list them. A field a row does not measure is
 * NaN in every repeat, and its median too: empty in CSV, null in JSON.
 */
#define REP_SAMPLE_FIELDS RUN_SAMPLE_FIELDS

typedef enum rep_field {
#define X(name, type) REP_F_##name,
    REP_SAMPLE_FIELDS(X)
#undef X
    REP_NFIELDS
} rep_field_t;

/* ------------------------------------------------------------------------
 * One summarized row: what every writer formats.
 */
typedef struct rep_row {
    const run_row_t *run;       /* spec and samples (not owned) */
    rep_stats_t wall;           /* over the repeats' wall_s */
    double med[REP_NFIELDS];    /* median over repeats of every sample field */
    double speedup;             /* NaN when there is no single baseline */
    char name[192];             /* "countdown/threads/gil/pymalloc/j:2/n:50000000" */
    char params[128];           /* "depth=3 items=10"; "" without parameters */
    char gc_thresholds[64];     /* the collector's thresholds: "700,10,10" */
} rep_row_t;

/* Summarize rows[0..n) into out[0..n) (speedups included). Every row needs
 * nsamples >= 1. Returns 0, or -1 on out-of-memory or an empty row. */
int rep_summarize(const run_row_t *rows, int n, rep_row_t *out);

/* Speedup of rows[i]: the median wall time of the `single` row with the same
 * workload, size, parameters, guard, allocator and immortal setting, divided
 * by rows[i]'s median. The issue asks for "same workload and size"; with
 * several guards or allocators in one sweep only the same-guard,
 * same-allocator single row isolates the effect of the mode (comparing
 * threads under gil with single under none would mix in the GIL's own cost).
 * Returns NaN when there is no such row. Cannot fail. */
double rep_speedup(const rep_row_t *rows, int n, int i);

/* A row whose median is below REP_MIN_RELIABLE_S measures the clock and
 * the start-up of its workers more than the workload: hyperfine warns below
 * the same 5 ms. */
#define REP_MIN_RELIABLE_S 5e-3

/* When r's median is below REP_MIN_RELIABLE_S, the warning sentence ("median
 * 57.3 µs is below 5 ms: ... use a larger -n (e.g. -n 2M)") into buf and
 * true; else false and buf = "". Cannot fail (truncates). */
bool rep_short_warning(const rep_row_t *r, char *buf, size_t len);

/* ------------------------------------------------------------------------
 * Typed values and the column table shared by the CSV and JSON writers.
 */
typedef enum rep_vtype {
    REP_V_STR,    /* s */
    REP_V_INT,    /* i */
    REP_V_BOOL,   /* i (0/1) */
    REP_V_SEC,    /* d, seconds: %.9g (nanoseconds survive, 3.4e-07 stays nonzero) */
    REP_V_NUM,    /* d, a count or a median of counts: %.15g */
    REP_V_RATIO,  /* d, a ratio: %.6g */
} rep_vtype_t;

typedef struct rep_value {
    rep_vtype_t type;
    const char *s;
    int64_t i;
    double d;     /* NaN: no value (empty CSV cell, JSON null) */
} rep_value_t;

typedef struct rep_column {
    const char *name;
    bool json;    /* also a scalar field of each JSON benchmark */
    rep_value_t (*get)(const rep_row_t *r);
} rep_column_t;

/* The CSV columns, in header order. */
extern const rep_column_t rep_columns[];
extern const int rep_ncolumns;

/* Name of a sample field ("wall_s"). Cannot fail. */
const char *rep_field_name(rep_field_t f);
/* Field f of one repeat as a typed value. Cannot fail. */
rep_value_t rep_sample_value(const run_sample_t *s, rep_field_t f);
/* A field's value holding d (its median, for instance). Cannot fail. */
rep_value_t rep_field_value(rep_field_t f, double d);

/* Name of a pinning policy ("none", "cores"). Cannot fail. */
const char *rep_pin_name(run_pin_t pin);

/* Format v into buf (strings unescaped, booleans as true/false). Returns
 * false (buf = "") when it has no value (NaN or infinite). */
bool rep_value_format(rep_value_t v, char *buf, size_t len);

/* Short human form of a count (decimal units, as the size option reads):
 * exact multiples print exactly (50000000 -> "50M", 100000 -> "100k"),
 * others to 3 significant digits (1234567 -> "1.23M"), below 10000 as an
 * integer (NaN -> "-"). Cannot fail. */
void rep_fmt_count(double v, char *buf, size_t len);

/* The unit a duration is shown in, as hyperfine picks it: s from 1 s (and
 * for 0), else ms, else µs; `decimals` for the headline figure. */
typedef struct rep_unit {
    const char *name;
    double scale;      /* multiply seconds by this */
    int decimals;
} rep_unit_t;

/* The unit for a duration in seconds. Cannot fail. */
rep_unit_t rep_time_unit(double seconds);

/* A size in bytes with binary units: "32 KiB", "4.5 GiB". Cannot fail. */
void rep_fmt_bytes(double bytes, char *buf, size_t len);

/* ------------------------------------------------------------------------
 * Outside text (text.c)
 */

/* Length of the valid UTF-8 sequence at s (s[0] >= 0x80), 0 when it is not
 * one: overlong forms, surrogates and code points past U+10FFFF are invalid.
 * Cannot fail. */
size_t rep_utf8_sequence(const unsigned char *s);

/* src made safe to print on a terminal into buf: control characters,
 * backslashes and invalid UTF-8 become C escapes (\n, \\, \x1b), valid
 * UTF-8 is kept. Cannot fail (truncates, never inside an escape). */
void rep_escape(const char *src, char *buf, size_t len);

/* ------------------------------------------------------------------------
 * Machine facts (context.c)
 */
#define REP_MAX_CACHES 12

typedef struct rep_cache {
    char type[8];         /* "L1d", "L1i", "L2", "L3" */
    int level;
    uint64_t size;        /* bytes, one instance */
    int num_sharing;      /* PUs sharing one instance */
    int count;            /* instances in the machine */
} rep_cache_t;

typedef struct rep_context {
    char date[40];        /* ISO 8601 local time with offset */
    char host_name[256];
    char executable[1024];
    char cpu_model[160];
    char os[320];         /* "Linux 6.1.0 x86_64 #1 SMP ..." */
    int num_packages, num_cores, num_pus, numa_nodes;
    rep_cache_t caches[REP_MAX_CACHES];
    int ncaches;
    char *command_line;   /* owned; shell-quoted argv */
} rep_context_t;

/* Gather the machine facts and record argv. Facts that cannot be read are
 * left "unknown" or 0. Returns 0, or -1 on out-of-memory. */
int rep_context_collect(rep_context_t *ctx, int argc, char **argv);
/* Release what rep_context_collect allocated. NULL-safe. */
void rep_context_free(rep_context_t *ctx);
/* "AMD EPYC, 2 cores, 2 PUs" (cores/PUs omitted when unknown). Cannot fail. */
void rep_machine_line(const rep_context_t *ctx, char *buf, size_t len);

/* ------------------------------------------------------------------------
 * A results document: what the writers and the chart take.
 */
typedef struct rep_doc {
    const rep_context_t *ctx;
    const rep_row_t *rows;
    int nrows;
    bool interleaved;     /* the rows' repeats ran round-robin (--interleave) */
    int64_t window_from_ms;   /* the timeline's span (--trace-window) */
    int64_t window_len_ms;
} rep_doc_t;

/* A file body writer. Returns 0, or -1 when the stream failed. */
typedef int (*rep_fill_fn)(FILE *f, const rep_doc_t *doc);

/* ------------------------------------------------------------------------
 * GIL traces (trace.c): a row's run->trace as spans, Chrome Trace Event
 * JSON and the timeline chart's data.
 */
typedef enum rep_span_kind {
    REP_SPAN_HOLD, REP_SPAN_WAIT, REP_SPAN_BLOCKED, REP_SPAN_GC, REP_SPAN_COUNT
} rep_span_kind_t;

typedef struct rep_span {
    rep_span_kind_t kind;
    uint32_t lane;
    uint64_t t0_ns, t1_ns;    /* CLOCK_MONOTONIC, t0 <= t1 */
    uint32_t arg;             /* BLOCKED: the blocking_t; GC: the generation */
} rep_span_t;

typedef void (*rep_span_fn)(const rep_span_t *span, void *arg);
typedef void (*rep_mark_fn)(const trace_event_t *event, void *arg);

/* Walk one lane: on_span for each span as it closes (in the order of
 * their ends), on_mark for each DROP_REQUEST, forced DROP and EXIT. Either
 * may be NULL. Cannot fail. */
void rep_trace_walk(const run_trace_lane_t *lane, rep_span_fn on_span, rep_mark_fn on_mark, void *arg);

/* "holding the GIL", "waiting for the GIL", "blocked, GIL released",
 * "collecting cycles". */
const char *rep_span_name(rep_span_kind_t kind);

/* rep_fill_fn for a one-row doc whose run has a trace: the Chrome Trace
 * Event document (trace-N.json). -1 on a stream error or without a trace. */
int rep_trace_json(FILE *f, const rep_doc_t *doc);

/* rep_fill_fn: the timeline's data within the doc's window, one lane per
 * traced thread of every row that has a trace, each row timed from its own
 * repeat's start (timeline-N.dat for one row, timeline.dat for the rows of
 * a sweep side by side). -1 on a stream error or when no row has a trace. */
int rep_timeline_data(FILE *f, const rep_doc_t *doc);

/* The lanes rep_timeline_data draws. Cannot fail. */
int rep_timeline_lanes(const rep_doc_t *doc);
/* memtrace.c: memory.csv, every row's memory trace (--memory-trace).
 * Returns 0, or -1 on a stream error. */
int rep_memtrace_csv(FILE *f, const rep_doc_t *doc);
/* Whether any row of doc has a memory trace. */
bool rep_has_memtrace(const rep_doc_t *doc);

/* csv.c: the header line. Cannot fail (stream errors show in ferror). */
void rep_csv_header(FILE *f);
/* csv.c: header and one line per row. Returns 0, or -1 on a stream error. */
int rep_csv_write(FILE *f, const rep_doc_t *doc);

/* json.c: s as a JSON string literal, quotes included; control characters
 * escaped, invalid UTF-8 replaced by U+FFFD. Cannot fail (see ferror). */
void rep_json_string(FILE *f, const char *s);
/* json.c: the whole document. Returns 0, or -1 on a stream error. */
int rep_json_write(FILE *f, const rep_doc_t *doc);

/* table.c: the machine line printed above the blocks. Cannot fail. */
void rep_table_machine(FILE *f, const rep_context_t *ctx);
/* table.c: one hyperfine-like block for a row. Cannot fail. */
void rep_table_block(FILE *f, const rep_row_t *r);
/* table.c: the compact summary, one line per row. Cannot fail. */
void rep_table_summary(FILE *f, const rep_row_t *rows, int n);

/* ------------------------------------------------------------------------
 * Output folder and atomic files (outdir.c)
 */

#define REP_LOCK_NAME ".gil-lab.lock"   /* flock'ed by the run that writes the folder */

typedef struct rep_outdir {
    char path[PATH_MAX];  /* the folder, as messages name it */
    int fd;               /* the folder, opened once: every file is made relative to it */
    int lock_fd;          /* REP_LOCK_NAME, locked until rep_outdir_close */
    bool created;         /* this run created the folder */
    bool root_created;    /* ... and ./results above it */
} rep_outdir_t;

/* Choose, create, open and lock the output folder, and prove it writable
 * (a probe file written, fsynced and removed). explicit_dir (may be NULL)
 * is used as given, created with its parents, and may already hold results;
 * otherwise a new ./results/<YYYYmmdd-HHMMSS>-<workload> is created (-2,
 * -3... appended when taken). Returns 0; or -1 with a one-line reason in
 * err: the folder cannot be made or written, or another run holds its lock
 * (nothing is left behind). */
int rep_outdir_open(rep_outdir_t *d, const char *explicit_dir, const char *workload, char *err,
                    size_t errlen);

/* Open an existing folder to write one file into, as a command that owns
 * no results folder does (gil-lab heap --picture): neither created nor
 * locked nor probed; the file still goes through rep_file_create and
 * rep_file_commit. Returns 0, or -1 with a one-line reason in err. */
int rep_outdir_open_existing(rep_outdir_t *d, const char *dir, char *err, size_t errlen);

/* Release the lock and the descriptors. With discard, a folder this run
 * created is removed again when it holds nothing but the lock file (and
 * ./results with it, when this run created that too). NULL- and
 * twice-safe. Cannot fail. */
void rep_outdir_close(rep_outdir_t *d, bool discard);

/* Remove name and its temporary from the folder, when present. Returns 0, or
 * -1 with the reason in err ("cannot remove chart.png: Is a directory"). */
int rep_outdir_remove(const rep_outdir_t *d, const char *name, char *err, size_t errlen);

/* A file on its way into the folder. It is written at "<name>.tmp", created
 * with O_CREAT|O_EXCL|O_NOFOLLOW relative to the folder's descriptor (a
 * link or file planted at that name is removed first, never followed or
 * written through) and renamed over <name> only by rep_file_commit. */
typedef struct rep_file {
    const rep_outdir_t *dir;
    const char *name;     /* the final name, "results.csv" */
    int fd;               /* open on the temporary until it is synced; else -1 */
    bool pending;         /* the temporary exists and is not renamed yet */
} rep_file_t;

/* Create name's temporary. Returns 0, or -1 with the reason in err (f is
 * then empty, and discarding it is harmless). */
int rep_file_create(rep_file_t *f, const rep_outdir_t *d, const char *name, char *err,
                    size_t errlen);

/* Make files[0..n) durable and put them in place together: fsync every
 * temporary, and only when all succeeded rename each over its name and
 * fsync the folder. Returns 0; or -1 with the reason in err, every
 * temporary removed and every previous file left as it was (a rename that
 * replaces an existing name takes no space, so it is the fsyncs that see a
 * full disk). */
int rep_file_commit(rep_file_t *files, int n, char *err, size_t errlen);

/* Close and remove the temporaries of files[0..n) not yet committed.
 * Cannot fail. */
void rep_file_discard(rep_file_t *files, int n);

/* One document of a results folder: its name and the function that fills it. */
typedef struct rep_output {
    const char *name;
    rep_fill_fn fill;
} rep_output_t;

/* Write outs[0..n) of doc into the folder all or nothing: every one filled
 * at its temporary, then rep_file_commit. Returns 0, or -1 with the reason
 * in err ("cannot write results.json: No space left on device") and the
 * previous files intact. */
int rep_write_files(const rep_outdir_t *d, const rep_output_t *outs, int n, const rep_doc_t *doc,
                    char *err, size_t errlen);

/* ------------------------------------------------------------------------
 * Chart (plots/plot.c)
 */

typedef enum plot_status {
    PLOT_FAILED = -1,     /* err says why; no chart is left in the folder */
    PLOT_DRAWN = 0,       /* chart.png and chart.svg are in place */
    PLOT_NO_GNUPLOT = 1,  /* gnuplot is not installed: err says so */
} plot_status_t;

/* Draw chart.png and chart.svg of doc into the folder with gnuplot (the
 * script plots/bars.gp, built into the binary), after writing the bars'
 * data to chart.dat. gnuplot writes into temporaries the lab created;
 * each is checked (size, fsync, the PNG end marker, the SVG closing tag)
 * and both are renamed into place, or neither. gnuplot's messages go to
 * chart.log, kept only when not empty. Cannot fail otherwise than by the
 * returned status. */
plot_status_t plot_chart(const rep_outdir_t *d, const rep_doc_t *doc, char *err, size_t errlen);

/* Draw memory.png and memory.svg (plots/memory.gp) from the rows' memory
 * traces, as plot_chart draws its chart; gnuplot's messages go to
 * memory.log. PLOT_FAILED when no row was traced. */
plot_status_t plot_memory(const rep_outdir_t *d, const rep_doc_t *doc, char *err, size_t errlen);

/* Draw a GIL timeline (plots/timeline.gp) of doc's traced rows within its
 * window: timeline-<index>.png/.svg and .dat for a one-row doc (index > 0),
 * timeline.png/.svg/.dat with every traced row's lanes stacked, on the
 * same window, for index 0 (the gil-old vs gil pair of a sweep). As
 * plot_chart otherwise. */
plot_status_t plot_timeline(const rep_outdir_t *d, const rep_doc_t *doc, int index, char *err,
                            size_t errlen);

/* Draw latency.png/.svg (plots/latency.gp): the latency percentiles of the
 * rows that have a client, one mark per percentile on a log axis. Nothing
 * (PLOT_DRAWN) when no row has one. As plot_chart otherwise. */
plot_status_t plot_latency(const rep_outdir_t *d, const rep_doc_t *doc, char *err, size_t errlen);

/* Draw throughput.png/.svg (plots/bars.gp again): per mode and worker
 * count, the throughput relative to the same workload's single row (single
 * ÷ row), one cluster per workload, guard and allocator: side by side, io
 * and countdown show that threads help one and not the other. Nothing
 * (PLOT_DRAWN) when no row has a single row to compare with. As plot_chart
 * otherwise. */
plot_status_t plot_throughput(const rep_outdir_t *d, const rep_doc_t *doc, char *err, size_t errlen);

/* Remove every chart, trace and memory file (chart.*, latency.*,
 * throughput.*, timeline*, trace-N.json, memory.*, and their temporaries)
 * from the folder, so that no chart of an earlier run stays beside new
 * results. Returns 0, or -1 with the reason in err. */
int plot_remove(const rep_outdir_t *d, char *err, size_t errlen);

#endif
