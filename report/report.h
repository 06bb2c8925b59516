/* report/report.h: from measured rows to what a speaker puts on a slide.
 *
 * The report layer (gl_report) turns the run_row_t values of runners/runner.h
 * into four outputs that must always agree with each other:
 *
 *   run_row_t ──rep_summarize()──► rep_row_t ──┬─► table.c    hyperfine-like console
 *   (samples)   stats, intervals,   (numbers)  ├─► csv.c      results.csv, stable header
 *               speedup, warnings              ├─► json.c     results.json, Google Benchmark's shape
 *                                              ├─► markdown.c --export-markdown
 *                                              ├─► html.c     gil-lab report
 *                                              └─► plots/     <kind>.dat ► gnuplot ► pictures
 *
 *   results.json ──load.c──► run_row_t again (plot, report, compare, --resume)
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
 *   - speedup: the baseline row's median over this row's (rep_baseline_of),
 *     with Moses' interval; intervals and tests are infer.c's.
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
 * Intervals and tests (infer.c: the methods and their references)
 */

#define REP_CI_LEVEL 0.95       /* the level every interval asks for */
#define REP_ALPHA 0.05          /* significance of compare's test */
#define REP_MWU_EXACT_MAX 50    /* larger samples: normal approximation */

/* An interval and the coverage it really has: with few repeats an
 * order-statistic interval cannot reach 95 % exactly (5 repeats: [min, max]
 * covers 93.75 %), and says so. All NaN when there is none (1 repeat). */
typedef struct rep_interval {
    double lo, hi, level;
} rep_interval_t;

/* The order-statistic interval of the median of x[0..n) at `level` (or the
 * widest there is, with its coverage). Returns 0 (NaN interval when n < 2),
 * or -1 on out-of-memory. */
int rep_median_ci(const double *x, int n, double level, rep_interval_t *ci);

typedef struct rep_mwu {
    double u;       /* pairs (a_i, b_j) with a_i > b_j, ties 1/2 */
    double p;       /* two-sided; NaN when a sample is empty */
    bool exact;     /* exact null distribution, not the normal approximation */
} rep_mwu_t;

/* Mann-Whitney U test of a[0..na) against b[0..nb), two-sided. Returns 0,
 * or -1 on out-of-memory. */
int rep_mwu(const double *a, int na, const double *b, int nb, rep_mwu_t *out);

typedef struct rep_ratio {
    double ratio;       /* Hodges-Lehmann estimate of a / b */
    rep_interval_t ci;  /* Moses' interval */
} rep_ratio_t;

/* The ratio of a's location to b's with its interval (positive values
 * only; NaN otherwise). Returns 0, or -1 on out-of-memory. */
int rep_ratio_ci(const double *a, int na, const double *b, int nb, double level,
                 rep_ratio_t *out);

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
 * The baseline of speedups, and how a sweep was set up (stats.c)
 */

/* Which row a row's speedup is measured against: the axes it names are
 * fixed (-1 / NULL: not named), every other axis is the row's own. So the
 * default, mode single, is "the same guard's single row", and
 * `--baseline single/gil` is "single under the GIL, whatever this row's
 * guard" (see rep_baseline_of for the exact rule). */
typedef struct rep_baseline {
    const workload_t *workload;
    int mode, guard, allocator, workers;
} rep_baseline_t;

/* The default baseline: mode single. Cannot fail. */
rep_baseline_t rep_baseline_default(void);

/* Parse "single/gil", "threads/j:2", "single/none/malloc": '/'-separated
 * names of a mode, guard, allocator or workload, or j:N. Returns 0, or -1
 * with the reason in err (an unknown or repeated axis). */
int rep_baseline_parse(const char *s, rep_baseline_t *b, char *err, size_t errlen);

/* b back as text ("single/gil"). Cannot fail (truncates). */
void rep_baseline_format(const rep_baseline_t *b, char *buf, size_t len);

/* Strong scaling splits a fixed total size over the workers; weak scaling
 * gives every worker the same share (Tools/ftscalingbench): the row's size
 * is the share times the workers, and its "speedup" is the efficiency
 * T(single) / T(row), 1.0 when perfect. */
typedef enum rep_scaling { REP_STRONG, REP_WEAK } rep_scaling_t;

typedef struct rep_setup {
    rep_baseline_t baseline;
    rep_scaling_t scaling;
    int cpus;             /* PUs of the machine, 0 unknown: caps the expected parallelism */
} rep_setup_t;

/* The default setup: baseline single, strong scaling, CPUs unknown. Cannot
 * fail. */
rep_setup_t rep_setup_default(void);

/* ------------------------------------------------------------------------
 * One summarized row: what every writer formats.
 */

/* X(flag, short text): what can be wrong with a row, pyperf-style. */
#define REP_WARNING_LIST(X)                                                    \
    X(outliers, "outliers")                                                    \
    X(short, "too short")                                                      \
    X(high_cv, "high CV")                                                      \
    X(low_cpu, "low CPU share")                                                \
    X(implausible, "implausible")

enum {
#define X(flag, text) REP_W_BIT_##flag,
    REP_WARNING_LIST(X)
#undef X
    REP_NWARNINGS
};
#define REP_W(flag) (1u << REP_W_BIT_##flag)

#define REP_HIGH_CV 0.10     /* pyperf: "the standard deviation is N % of the mean" above 10 % */
#define REP_LOW_CPU 0.75     /* a row that got less than 3/4 of the CPUs it could use */
#define REP_NOISE 0.05       /* speedups within 5 % of a bound are noise, not physics */

typedef struct rep_row {
    const run_row_t *run;       /* spec and samples (not owned) */
    rep_stats_t wall;           /* over the repeats' wall_s */
    rep_interval_t median_ci;   /* the wall median's order-statistic interval */
    double med[REP_NFIELDS];    /* median over repeats of every sample field */
    double cpu_share;           /* median of the repeats' rep_cpu_share */
    int baseline;               /* index of the baseline row, -1 when none */
    const char *baseline_name;  /* its name, "" when none */
    double speedup;             /* baseline median / this median; NaN without a baseline */
    rep_interval_t speedup_ci;  /* Moses' interval of that ratio */
    unsigned warnings;          /* REP_W(...) bits */
    char warning_text[96];      /* rep_warnings_short of them */
    char name[192];             /* "countdown/threads/gil/pymalloc/j:2/n:50000000" */
    char params[128];           /* "depth=3 items=10"; "" without parameters */
    char gc_thresholds[64];     /* the collector's thresholds: "700,10,10" */
} rep_row_t;

/* How much of the CPUs one repeat could use it got: (user + sys) / wall,
 * over the CPUs the row can keep busy: 1 for single and for threads under
 * a GIL (one runs at a time), else the workers, at most setup->cpus.
 * NaN when not measured. Cannot fail. */
double rep_cpu_share(const run_spec_t *spec, const run_sample_t *s, const rep_setup_t *setup);

/* Whether the row's workers spend a tenth of their time or more blocked in
 * system calls (io, convoy): such a row leaves the CPUs idle by design, so
 * a low CPU share says nothing about the machine, and W threads can wait
 * at once, GIL or not, so its speedup is bounded by W, not by the CPUs. */
bool rep_row_blocks(const rep_row_t *r);

/* Summarize rows[0..n) into out[0..n): statistics, intervals, speedups
 * against setup's baseline (NULL: rep_setup_default()), warnings. Every row
 * needs nsamples >= 1. Returns 0, or -1 on out-of-memory or an empty row. */
int rep_summarize(const run_row_t *rows, int n, const rep_setup_t *setup, rep_row_t *out);

/* The baseline row of rows[i] under b: the first row whose axes equal b's
 * named ones and whose other axes equal rows[i]'s, except that a row found
 * by its guard may use another allocator, and one found by its mode another
 * worker count (single runs one worker); rows agreeing on more of them are
 * preferred. Workload parameters, immortal, switch interval and pinning
 * always match; the size too, or, under weak scaling, the size per worker.
 * Under the default baseline, a row with no single row to go by takes its
 * own mode's row at one worker (j:1). Returns the index, or -1 when there
 * is none. Cannot fail. */
int rep_baseline_of(const rep_row_t *rows, int n, int i, const rep_baseline_t *b,
                    rep_scaling_t scaling);

/* Whether any of specs[0..n) has a baseline under b (for rejecting a
 * --baseline that names no row before anything runs). Cannot fail. */
bool rep_baseline_matches(const run_spec_t *specs, int n, const rep_baseline_t *b,
                          rep_scaling_t scaling);

/* The sentences behind r's warning bits, one per line prefixed by
 * `prefix` ("  Warning: "), into f. Cannot fail. */
void rep_warnings_write(FILE *f, const rep_row_t *rows, int i, const rep_setup_t *setup,
                        const char *prefix);

/* The same sentences handed one at a time to line(arg, sentence), without
 * a prefix or newline: for writers that mark each up (HTML, Markdown).
 * Nothing when the row has no warning. Returns 0, or -1 on out-of-memory. */
int rep_warnings_each(const rep_row_t *rows, int i, const rep_setup_t *setup,
                      void (*line)(void *arg, const char *sentence), void *arg);

/* "outliers, high CV" for r's bits; "" when none. Cannot fail. */
void rep_warnings_short(unsigned bits, char *buf, size_t len);

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
    bool json;    /* part of the row's spec: on every JSON entry of the row */
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

/* What the machine was doing, read before the first repeat and after the
 * last: pyperf's system checks, for the warnings and the JSON context. */
typedef struct rep_machine_state {
    bool valid;           /* read at all */
    double load[3];       /* /proc/loadavg: 1, 5, 15 minutes; NaN unknown */
    int running;          /* runnable tasks (/proc/stat procs_running, the lab included) */
    double mhz;           /* mean current frequency over the CPUs; NaN unknown */
    char governor[32];    /* cpufreq governor of cpu0, "" when not exposed */
} rep_machine_state_t;

/* Read the machine's state now. Facts that cannot be read are NaN / "".
 * Cannot fail. */
void rep_machine_state_read(rep_machine_state_t *st);

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
    int aslr;             /* /proc/sys/kernel/randomize_va_space, -1 unknown */
    char hypervisor[48];  /* "" on bare metal, else what says it is a VM */
    double mhz_max;       /* highest frequency a CPU reports (cpufreq or cpuinfo); NaN */
    rep_machine_state_t before, after;
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
    bool interleaved;     /* the rows' repeats ran round-robin (not --sequential) */
    rep_setup_t setup;    /* baseline, scaling, CPUs: what rep_summarize was given */
    const char *notes;    /* lines about how the sweep was made (--min-time, --resume); NULL */
    const char *implementation;   /* who measured: NULL for gil-lab, "CPython 3.11.7" */
    int64_t window_from_ms;   /* the GIL timeline's span (--trace-window) */
    int64_t window_len_ms;
} rep_doc_t;

/* The name of the row spec describes (rep_row_t.name). Cannot fail
 * (truncates). */
void rep_spec_name(const run_spec_t *spec, char *buf, size_t len);

/* The charts a report embeds: SVG documents and their captions. */
typedef struct rep_html_charts {
    const char *const *svg;
    const char *const *caption;
    int n;
} rep_html_charts_t;

/* html.c: one self-contained HTML page of doc with the charts of arg (a
 * rep_html_charts_t, or NULL); a rep_fill_fn. Returns 0, or -1 on a stream
 * error. */
int rep_html_write(FILE *f, const rep_doc_t *doc, const void *arg);

/* markdown.c: the summary as a Markdown table, with what its numbers are
 * and every warning below it (hyperfine's --export-markdown). Returns 0,
 * or -1 on a stream error. */
int rep_markdown_write(FILE *f, const rep_doc_t *doc);

/* ------------------------------------------------------------------------
 * Results read back (load.c), for plot, report, compare and --resume
 */

/* One results document as it was written: the machine context, and the
 * rows with every repeat (rebuilt as run_row_t, so rep_summarize gives
 * back the numbers the run printed). */
typedef struct rep_results {
    char path[PATH_MAX];  /* the file read */
    rep_context_t ctx;
    run_row_t *runs;      /* owned */
    int nruns;
    bool interleaved;
    rep_setup_t setup;
    char *notes;          /* owned; NULL when none */
    char impl[96];        /* "gil-lab 0.1.0", or the Python that produced it */
    rep_row_t *rows;      /* owned; rep_results_doc's summary */
    rep_doc_t doc;        /* rep_results_doc's */
    int64_t window_from_ms, window_len_ms;   /* --trace-window, when traced */
} rep_results_t;

/* Summarise r's rows under its own setup into r->doc (what every writer
 * and chart takes). Returns 0, or -1 on out-of-memory. */
int rep_results_doc(rep_results_t *r);

/* Read a results.json (path names the file, or a folder holding one). Every
 * row must name a workload, mode, guard and allocator this build knows and
 * carry its repeats. Returns 0, or -1 with a one-line reason in err (the
 * file cannot be read, is not JSON, is not gil-lab's results, or names
 * something unknown); out is then empty. */
int rep_results_load(const char *path, rep_results_t *out, char *err, size_t errlen);

/* The sample fields of a JSON object (jansson's), by their names in
 * RUN_SAMPLE_FIELDS; a field absent or not a number is NaN. Cannot fail. */
struct json_t;
void rep_sample_read(const struct json_t *obj, run_sample_t *s);

/* records.c: the run's own records beside r's results file, when they are
 * there: trace-N.json's events into row N's gil_trace, memory.csv into the
 * rows' memory traces (rep_results_load calls it). Returns 0, or -1 with
 * one line in err (a record that is there but cannot be read). */
int rep_results_load_records(rep_results_t *r, char *err, size_t errlen);

/* Release what rep_results_load allocated. NULL- and twice-safe. */
void rep_results_free(rep_results_t *r);

/* The machine-wide warning: it was busy before the run (load above what
 * the sweep's widest row leaves free). The sentence into buf and true, or
 * false with buf = "". Cannot fail. */
bool rep_busy_warning(const rep_doc_t *doc, char *buf, size_t len);

/* A file body writer: doc, and arg for writers that need more (NULL for
 * the results files). Returns 0, or -1 when the stream failed. */
typedef int (*rep_fill_fn)(FILE *f, const rep_doc_t *doc, const void *arg);

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
int rep_trace_json(FILE *f, const rep_doc_t *doc, const void *arg);

/* rep_fill_fn: the timeline's data within the doc's window, one lane per
 * traced thread of every row that has a trace, each row timed from its own
 * repeat's start (timeline-N.dat for one row, timeline.dat for the rows of
 * a sweep side by side). -1 on a stream error or when no row has a trace. */
int rep_timeline_data(FILE *f, const rep_doc_t *doc, const void *arg);

/* The lanes rep_timeline_data draws. Cannot fail. */
int rep_timeline_lanes(const rep_doc_t *doc);
/* memtrace.c: memory.csv, every row's memory trace (--memory-trace).
 * Returns 0, or -1 on a stream error. */
int rep_memtrace_fill(FILE *f, const rep_doc_t *doc, const void *arg);
/* Whether any row of doc has a memory trace. */
bool rep_has_memtrace(const rep_doc_t *doc);

/* csv.c: the header line. Cannot fail (stream errors show in ferror). */
void rep_csv_header(FILE *f);
/* csv.c: header and one line per row. Returns 0, or -1 on a stream error. */
int rep_csv_write(FILE *f, const rep_doc_t *doc);
/* csv.c: rep_csv_write as a rep_fill_fn (arg unused). */
int rep_csv_fill(FILE *f, const rep_doc_t *doc, const void *arg);

/* json.c: s as a JSON string literal, quotes included; control characters
 * escaped, invalid UTF-8 replaced by U+FFFD. Cannot fail (see ferror). */
void rep_json_string(FILE *f, const char *s);
/* json.c: the whole document. Returns 0, or -1 on a stream error. */
int rep_json_write(FILE *f, const rep_doc_t *doc);
/* json.c: rep_json_write as a rep_fill_fn (arg unused). */
int rep_json_fill(FILE *f, const rep_doc_t *doc, const void *arg);

/* table.c: the machine line printed above the blocks. Cannot fail. */
void rep_table_machine(FILE *f, const rep_context_t *ctx);
/* table.c: one hyperfine-like block for rows[i] (its baseline is another
 * of rows). Cannot fail. */
void rep_table_block(FILE *f, const rep_row_t *rows, int i, const rep_setup_t *setup);
/* table.c: the compact summary, one line per row. Cannot fail. */
void rep_table_summary(FILE *f, const rep_row_t *rows, int n, const rep_setup_t *setup);
/* table.c: what the summary's numbers are ("median of 5 runs, 95 % CI ...;
 * speedup = single ÷ row ..."). Cannot fail (truncates). */
void rep_summary_heading(const rep_row_t *rows, int n, const rep_setup_t *setup, char *buf,
                         size_t len);
/* table.c: how r's baseline b differs from r ("single under gil"). Cannot
 * fail (truncates). */
void rep_baseline_label(const rep_row_t *r, const rep_row_t *b, char *buf, size_t len);
/* table.c: " (95 % CI 1.89x … 1.97x)" for r's speedup, in the direction the
 * sentence reads (faster or slower); "" without an interval. Cannot fail. */
void rep_speedup_interval(const rep_row_t *r, char *buf, size_t len);

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
    const void *arg;      /* handed to fill */
} rep_output_t;

/* Write outs[0..n) of doc into the folder all or nothing: every one filled
 * at its temporary, then rep_file_commit. Returns 0, or -1 with the reason
 * in err ("cannot write results.json: No space left on device") and the
 * previous files intact. */
int rep_write_files(const rep_outdir_t *d, const rep_output_t *outs, int n, const rep_doc_t *doc,
                    char *err, size_t errlen);

/* ------------------------------------------------------------------------
 * Comparing results (compare.c)
 */

/* One row of the first document matched with one of another's. */
typedef struct rep_match {
    int other;             /* which document (1 .. ndocs-1) */
    int a, b;              /* the row in docs[0] and in docs[other] */
    double median_a, median_b;
    rep_ratio_t ratio;     /* time in B over time in A, with its interval */
    rep_mwu_t test;        /* Mann-Whitney U of B's repeats against A's */
    bool significant;      /* test.p < REP_ALPHA */
    double cpu_share_a, cpu_share_b;   /* the rows' CPU shares: a busy side is suspect */
    char label[192];       /* the row's axes that vary among A's rows: "threads/j:2" */
} rep_match_t;

typedef struct rep_comparison {
    rep_match_t *matches;  /* owned */
    int nmatches;
    int unmatched;         /* rows of any document without a partner */
    char ignored[320];     /* "guard: gil vs biased; allocator: pymalloc vs mimalloc" */
    char common[256];      /* what every row shares: "countdown, n=10000000" */
} rep_comparison_t;

/* Match the rows of docs[1..ndocs) to those of docs[0] by their
 * configuration (workload, mode, guard, allocator, workers, size,
 * parameters, switch interval, immortal, pinning). An axis other than the
 * workload, size and parameters that has one value in docs[0] and another
 * single value in docs[k] (a gil run against a biased run) is what the two
 * differ in: it is left out of the match and named in `ignored`. Returns 0 with at least one match; -1 with the
 * reason in err when nothing matches (mismatched results) or out of
 * memory. */
int rep_compare(const rep_doc_t *docs, int ndocs, rep_comparison_t *out, char *err,
                size_t errlen);

/* Release a comparison. NULL- and twice-safe. */
void rep_comparison_free(rep_comparison_t *c);

#endif
