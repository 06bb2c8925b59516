/* tests/test_stats.c: the pure parts of the report and the command line:
 * statistics, outliers, speedup, the short-row warning, the value table,
 * size, byte-size and list parsing, JSON and terminal escaping and the CSV
 * header. No run, no file, no process: rows are built by hand.
 */
#include <criterion/criterion.h>
#define CHECK(cond, ...) cr_assert(cond, __VA_ARGS__)
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "cli/parse.h"
#include "report/report.h"

#define EPS 1e-9

/* ------------------------------------------------------------------------
 * Descriptive statistics
 */

Test(stats, odd_count)
{
    const double x[] = {3.0, 1.0, 2.0};
    rep_stats_t st;

    cr_assert_eq(rep_stats_compute(x, 3, &st), 0);
    cr_assert_eq(st.n, 3);
    cr_assert_float_eq(st.median, 2.0, EPS);
    cr_assert_float_eq(st.mean, 2.0, EPS);
    cr_assert_float_eq(st.stddev, 1.0, EPS);
    cr_assert_float_eq(st.cv, 0.5, EPS);
    cr_assert_float_eq(st.min, 1.0, EPS);
    cr_assert_float_eq(st.max, 3.0, EPS);
    cr_assert_float_eq(st.mad, 1.0, EPS);
    cr_assert_eq(st.outliers, 0);
}

Test(stats, even_count)
{
    const double x[] = {4.0, 1.0, 3.0, 2.0};
    rep_stats_t st;

    cr_assert_eq(rep_stats_compute(x, 4, &st), 0);
    cr_assert_float_eq(st.median, 2.5, EPS);
    cr_assert_float_eq(st.mean, 2.5, EPS);
    cr_assert_float_eq(st.stddev, sqrt(5.0 / 3.0), EPS);   /* sample stddev, n - 1 */
    cr_assert_float_eq(st.min, 1.0, EPS);
    cr_assert_float_eq(st.max, 4.0, EPS);
    cr_assert_float_eq(st.mad, 1.0, EPS);                  /* |dev| = 1.5 1.5 .5 .5 */
}

Test(stats, single_sample)
{
    const double x[] = {5.0};
    rep_stats_t st;

    cr_assert_eq(rep_stats_compute(x, 1, &st), 0);
    cr_assert_float_eq(st.median, 5.0, EPS);
    cr_assert_float_eq(st.mean, 5.0, EPS);
    cr_assert_float_eq(st.min, 5.0, EPS);
    cr_assert_float_eq(st.max, 5.0, EPS);
    cr_assert_float_eq(st.mad, 0.0, EPS);
    cr_assert(isnan(st.stddev), "stddev of one sample is undefined");
    cr_assert(isnan(st.cv));
    cr_assert_eq(st.outliers, 0);
}

Test(stats, no_samples_is_an_error)
{
    rep_stats_t st;
    cr_assert_eq(rep_stats_compute(NULL, 0, &st), -1);
}

Test(stats, input_is_not_reordered)
{
    const double x[] = {3.0, 1.0, 2.0};
    rep_stats_t st;

    rep_stats_compute(x, 3, &st);
    cr_assert(x[0] == 3.0 && x[1] == 1.0 && x[2] == 2.0);
}

Test(outliers, one_slow_run_is_flagged)
{
    const double x[] = {1.00, 1.01, 0.99, 1.00, 1.02, 1.98};
    rep_stats_t st;

    rep_stats_compute(x, 6, &st);
    cr_assert_eq(st.outliers, 1);
}

Test(outliers, ordinary_noise_is_not)
{
    const double x[] = {1.00, 1.03, 0.97, 1.01, 0.99};
    rep_stats_t st;

    rep_stats_compute(x, 5, &st);
    cr_assert_eq(st.outliers, 0);
}

Test(outliers, zero_mad_falls_back_to_mean_absolute_deviation)
{
    const double x[] = {1.0, 1.0, 1.0, 1.0, 5.0};   /* MAD = 0, MeanAD = 0.8 */
    rep_stats_t st;

    rep_stats_compute(x, 5, &st);
    cr_assert_float_eq(st.mad, 0.0, EPS);
    cr_assert_eq(st.outliers, 1);
}

Test(outliers, identical_runs_have_none)
{
    const double x[] = {2.0, 2.0, 2.0};
    rep_stats_t st;

    rep_stats_compute(x, 3, &st);
    cr_assert_eq(st.outliers, 0);
}

/* ------------------------------------------------------------------------
 * Rows: medians, speedup, names
 */

static const wl_param_t fake_params[] = {{.name = "k", .help = "items", .def = 10, .min = 1, .max = 100}};
static const workload_t fake_wl = {.name = "countdown", .description = "test",
                                   .default_size = 1000, .min_size = 1, .max_size = 1000000,
                                   .params = fake_params, .nparams = 1};

#define MAX_FAKE_SAMPLES 8

typedef struct fake_rows {
    run_row_t runs[8];
    run_sample_t samples[8][MAX_FAKE_SAMPLES];
    rep_row_t rows[8];
    int n;
} fake_rows_t;

/* A row whose repeats take wall[0..nw) seconds. */
static void add_row(fake_rows_t *f, run_mode_t mode, guard_kind_t guard, int workers,
                    const double *wall, int nw)
{
    run_row_t *r = &f->runs[f->n];

    memset(r, 0, sizeof *r);
    r->spec.workload = &fake_wl;
    r->spec.params[0] = 10;
    r->spec.size = 1000;
    r->spec.mode = mode;
    r->spec.guard = guard;
    r->spec.allocator = HEAP_pymalloc;
    r->spec.workers = workers;
    r->spec.switch_interval_us = 5000;
    r->spec.immortal = true;
    r->spec.repeats = nw;
    r->nsamples = nw;
    r->samples = f->samples[f->n];
    for (int k = 0; k < nw; k++) {
        memset(&r->samples[k], 0, sizeof r->samples[k]);
        r->samples[k].wall_s = wall[k];
        r->samples[k].cpu_user_s = wall[k] * 2;
        r->samples[k].gil_switches = (uint64_t)(10 + k);
    }
    f->n++;
}

Test(rows, speedup_against_same_guard_single)
{
    static fake_rows_t f;
    const double one[] = {4.0, 4.2, 3.8}, two[] = {2.0, 2.1, 1.9}, slow[] = {8.0, 8.0, 8.0};

    add_row(&f, RUN_MODE_single, GUARD_gil, 1, one, 3);
    add_row(&f, RUN_MODE_threads, GUARD_gil, 2, two, 3);
    add_row(&f, RUN_MODE_threads, GUARD_gil, 4, slow, 3);
    cr_assert_eq(rep_summarize(f.runs, f.n, NULL, f.rows), 0);
    cr_assert_float_eq(f.rows[0].speedup, 1.0, EPS);
    cr_assert_float_eq(f.rows[1].speedup, 2.0, EPS);
    cr_assert_float_eq(f.rows[2].speedup, 0.5, EPS);
    cr_assert_eq(f.rows[1].baseline, 0);
}

Test(rows, no_single_row_means_no_speedup)
{
    static fake_rows_t f;
    const double two[] = {2.0, 2.1, 1.9};

    add_row(&f, RUN_MODE_threads, GUARD_gil, 2, two, 3);
    add_row(&f, RUN_MODE_processes, GUARD_gil, 2, two, 3);
    cr_assert_eq(rep_summarize(f.runs, f.n, NULL, f.rows), 0);
    cr_assert(isnan(f.rows[0].speedup));
    cr_assert(isnan(f.rows[1].speedup));
}

Test(rows, single_of_another_guard_is_not_a_baseline)
{
    static fake_rows_t f;
    const double one[] = {4.0}, two[] = {2.0};

    add_row(&f, RUN_MODE_single, GUARD_none, 1, one, 1);
    add_row(&f, RUN_MODE_threads, GUARD_gil, 2, two, 1);
    cr_assert_eq(rep_summarize(f.runs, f.n, NULL, f.rows), 0);
    cr_assert(isnan(f.rows[1].speedup));
}

Test(rows, medians_name_and_params)
{
    static fake_rows_t f;
    const double wall[] = {3.0, 1.0, 2.0, 10.0};

    add_row(&f, RUN_MODE_threads, GUARD_gil, 2, wall, 4);
    cr_assert_eq(rep_summarize(f.runs, f.n, NULL, f.rows), 0);
    cr_assert_float_eq(f.rows[0].wall.median, 2.5, EPS);
    cr_assert_float_eq(f.rows[0].med[REP_F_cpu_user_s], 5.0, EPS);
    cr_assert_float_eq(f.rows[0].med[REP_F_gil_switches], 11.5, EPS);
    cr_assert_str_eq(f.rows[0].name, "countdown/threads/gil/pymalloc/j:2/n:1000/k=10");
    cr_assert_str_eq(f.rows[0].params, "k=10");
}

Test(rows, empty_row_is_an_error)
{
    static fake_rows_t f;
    const double wall[] = {1.0};

    add_row(&f, RUN_MODE_single, GUARD_gil, 1, wall, 1);
    f.runs[0].nsamples = 0;
    cr_assert_eq(rep_summarize(f.runs, f.n, NULL, f.rows), -1);
}

Test(rows, short_median_warns_and_suggests_a_size)
{
    static fake_rows_t f;
    const double fast[] = {50e-6, 60e-6, 55e-6}, slow[] = {0.2, 0.21, 0.19};
    char why[256];

    add_row(&f, RUN_MODE_single, GUARD_gil, 1, fast, 3);
    add_row(&f, RUN_MODE_single, GUARD_atomic, 1, slow, 3);
    cr_assert_eq(rep_summarize(f.runs, f.n, NULL, f.rows), 0);
    cr_assert(rep_short_warning(&f.rows[0], why, sizeof why));
    cr_assert_not_null(strstr(why, "median 55.0 µs is below 5 ms"), "%s", why);
    /* 1000 iterations in 55 µs: ~50 ms needs 1000 * 50e-3 / 55e-6 = 909091 */
    cr_assert_not_null(strstr(why, "use a larger -n (e.g. -n 1M)"), "%s", why);
    cr_assert(!rep_short_warning(&f.rows[1], why, sizeof why));
    cr_assert_str_eq(why, "");
}

static void write_block(FILE *f, const void *arg)
{
    rep_setup_t setup = rep_setup_default();
    rep_table_block(f, arg, 0, &setup);
}

Test(rows, short_median_warning_is_in_the_table_block)
{
    static fake_rows_t f;
    const double fast[] = {50e-6};
    char *text;

    add_row(&f, RUN_MODE_single, GUARD_gil, 1, fast, 1);
    cr_assert_eq(rep_summarize(f.runs, f.n, NULL, f.rows), 0);
    text = capture(write_block, &f.rows[0]);
    cr_assert_not_null(strstr(text, "  Warning: median 50.0 µs is below 5 ms"), "%s", text);
    free(text);
}

/* ------------------------------------------------------------------------
 * Values and the CSV header
 */

Test(values, formats)
{
    char buf[64];

    cr_assert(rep_value_format((rep_value_t){.type = REP_V_SEC, .d = 1.5}, buf, sizeof buf));
    cr_assert_str_eq(buf, "1.5");
    cr_assert(!rep_value_format((rep_value_t){.type = REP_V_SEC, .d = NAN}, buf, sizeof buf));
    cr_assert_str_eq(buf, "");
    cr_assert(rep_value_format((rep_value_t){.type = REP_V_NUM, .d = 951}, buf, sizeof buf));
    cr_assert_str_eq(buf, "951");
    cr_assert(rep_value_format((rep_value_t){.type = REP_V_INT, .i = -3}, buf, sizeof buf));
    cr_assert_str_eq(buf, "-3");
    cr_assert(rep_value_format((rep_value_t){.type = REP_V_BOOL, .i = 1}, buf, sizeof buf));
    cr_assert_str_eq(buf, "true");
}

/* Sub-microsecond repeats keep their value: written with 6 decimals they
 * were 0, while the speedup was computed from the real value. */
Test(values, seconds_keep_nine_significant_digits)
{
    char buf[64];

    cr_assert(rep_value_format((rep_value_t){.type = REP_V_SEC, .d = 3.4e-7}, buf, sizeof buf));
    cr_assert_str_eq(buf, "3.4e-07");
    cr_assert(rep_value_format((rep_value_t){.type = REP_V_SEC, .d = 1.23456789123}, buf,
                               sizeof buf));
    cr_assert_str_eq(buf, "1.23456789");
    cr_assert(rep_value_format((rep_value_t){.type = REP_V_SEC, .d = 123.000000456}, buf,
                               sizeof buf));
    cr_assert_str_eq(buf, "123");
}

Test(values, human_counts)
{
    char buf[32];

    rep_fmt_count(50000000, buf, sizeof buf);
    cr_assert_str_eq(buf, "50M");
    rep_fmt_count(100000, buf, sizeof buf);
    cr_assert_str_eq(buf, "100k");
    rep_fmt_count(1500, buf, sizeof buf);
    cr_assert_str_eq(buf, "1500");
    rep_fmt_count(1234567, buf, sizeof buf);
    cr_assert_str_eq(buf, "1.23M");
    rep_fmt_count(NAN, buf, sizeof buf);
    cr_assert_str_eq(buf, "-");
}

static void write_header(FILE *f, const void *arg)
{
    (void)arg;
    rep_csv_header(f);
}

Test(csv, header_is_the_contract)
{
    char *text = capture(write_header, NULL);

    cr_assert_str_eq(text,
                     "workload,mode,guard,workers,size,repeats,wall_median_s,wall_mean_s,"
                     "wall_stddev_s,wall_min_s,wall_max_s,cpu_user_s,cpu_sys_s,max_rss_kib,"
                     "speedup,allocator,immortal,switch_interval_us,warmup,startup_s,"
                     "worker_min_s,worker_max_s,vol_ctx_switches,invol_ctx_switches,"
                     "gil_switches,gil_forced_drops,gil_drop_requests,gil_wait_s,rc_local,"
                     "rc_shared,brc_queued,brc_merged,objects_allocated,arena_bytes_peak,"
                     "outliers,pin,params,rss_sum_kib,gc_collections_0,gc_collections_1,"
                     "gc_collections_2,gc_collected_0,gc_collected_1,gc_collected_2,gc_examined,"
                     "gc_uncollectable,gc_pause_total_s,gc_pause_p50_s,gc_pause_p99_s,"
                     "gc_pause_max_s,gc_unreachable,gc,gc_thresholds,wall_cv,wall_mad_s,"
                     "median_ci_low_s,median_ci_high_s,median_ci_level,speedup_ci_low,"
                     "speedup_ci_high,speedup_ci_level,baseline,cpu_share,warnings,"
                     "traced_peak_bytes,traced_peak_blocks,pss_sum_kib,smaps_pss_before_kib,"
                     "smaps_pss_after_kib,smaps_private_dirty_before_kib,smaps_private_dirty_after_kib,"
                     "smaps_shared_clean_before_kib,smaps_shared_clean_after_kib,"
                     "smaps_shared_dirty_before_kib,smaps_shared_dirty_after_kib,"
                     "gc_pause_p50_0_s,gc_pause_p99_0_s,gc_pause_max_0_s,gc_pause_p50_1_s,"
                     "gc_pause_p99_1_s,gc_pause_max_1_s,gc_pause_p50_2_s,gc_pause_p99_2_s,"
                     "gc_pause_max_2_s,check_interval,blocking_calls,blocked_s,gil_switch_wait_s,"
                     "gil_futile_wakeups,gil_share_min,gil_share_max,gil_jain,starved_workers,requests,"
                     "throughput_rps,lat_p50_s,lat_p90_s,lat_p99_s,lat_p999_s,lat_max_s,server_gil_wait_s,"
                     "trace_events,trace_dropped,gil_wait_min_s,gil_wait_max_s,gc_examined_0,gc_examined_1,"
                     "gc_examined_2,gc_uncollectable_0,gc_uncollectable_1,gc_uncollectable_2,"
                     "gc_pause_total_0_s,gc_pause_total_1_s,gc_pause_total_2_s,traced_bytes_end,"
                     "traced_blocks_end,heap_blocks_end,small_bytes_end,arenas_end,arenas_peak,gc_freeze\n");
    free(text);
}

static void write_doc_csv(FILE *f, const void *arg)
{
    rep_csv_write(f, arg);
}

static void write_doc_json(FILE *f, const void *arg)
{
    rep_json_write(f, arg);
}

/* The document of one threads/gil row with a single 1 s repeat (so no
 * stddev, and no single row to compute a speedup from), as `print` writes
 * it. The caller frees the text. */
static char *one_row_document(const rep_context_t *ctx, void (*print)(FILE *f, const void *arg))
{
    static fake_rows_t f;
    const double wall[] = {1.0};
    rep_doc_t doc = {.ctx = ctx, .rows = f.rows, .nrows = 1, .setup = rep_setup_default()};

    memset(&f, 0, sizeof f);
    add_row(&f, RUN_MODE_threads, GUARD_gil, 2, wall, 1);
    cr_assert_eq(rep_summarize(f.runs, f.n, NULL, f.rows), 0);
    return capture(print, &doc);
}

Test(csv, undefined_values_are_empty_cells)
{
    rep_context_t ctx = {.cpu_model = "test"};
    char *text = one_row_document(&ctx, write_doc_csv);

    /* stddev of one repeat: empty; no single row: empty speedup */
    cr_assert_not_null(strstr(text, "\ncountdown,threads,gil,2,1000,1,1,1,,"));
    cr_assert_null(strstr(text, "nan"));
    free(text);
}

Test(json, document_has_no_nan)
{
    rep_context_t ctx = {.cpu_model = "test", .command_line = "gil-lab run"};
    char *text = one_row_document(&ctx, write_doc_json);

    cr_assert_null(strstr(text, "nan"));
    cr_assert_not_null(strstr(text, "\"speedup\": null"));
    cr_assert_not_null(strstr(text, "\"aggregate_name\": \"stddev\""));
    cr_assert_not_null(strstr(text, "\"name\": \"countdown/threads/gil/pymalloc/j:2/n:1000/k=10\""));
    cr_assert_not_null(strstr(text, "\"params\": {\"k\": 10}"));
    free(text);
}

/* ------------------------------------------------------------------------
 * The busy-machine warning (rep_busy_warning)
 */

static void write_doc_html(FILE *f, const void *arg)
{
    rep_html_write(f, arg, NULL);
}

/* A processes row of 2 workers on a 4-CPU machine whose load average was
 * `load` before the run: 2 CPUs are free for the others. */
static rep_doc_t busy_doc(rep_context_t *ctx, double load)
{
    static fake_rows_t f;
    const double wall[] = {1.0, 1.1};

    memset(&f, 0, sizeof f);
    *ctx = (rep_context_t){.cpu_model = "test", .command_line = "gil-lab run", .num_pus = 4};
    ctx->before = (rep_machine_state_t){.valid = true, .load = {load, load, load}, .running = 1};
    add_row(&f, RUN_MODE_processes, GUARD_gil, 2, wall, 2);
    cr_assert_eq(rep_summarize(f.runs, f.n, NULL, f.rows), 0);
    return (rep_doc_t){.ctx = ctx, .rows = f.rows, .nrows = 1, .setup = rep_setup_default()};
}

Test(busy, load_above_the_free_cpus_warns_in_every_output)
{
    rep_context_t ctx;
    rep_doc_t doc = busy_doc(&ctx, 3.5);
    char buf[512], *json, *html;

    cr_assert(rep_busy_warning(&doc, buf, sizeof buf));
    cr_expect_not_null(strstr(buf, "the machine was busy before the run: load average 3.50"), "%s", buf);
    cr_expect_not_null(strstr(buf, "on 4 CPUs of which the widest row needs 2"), "%s", buf);
    json = capture(write_doc_json, &doc);
    html = capture(write_doc_html, &doc);
    cr_expect_not_null(strstr(json, "the machine was busy before the run"));
    cr_expect_not_null(strstr(html, "<h2>Warnings</h2>"));
    cr_expect_not_null(strstr(html, "the machine was busy before the run"));
    free(json);
    free(html);
}

Test(busy, load_within_the_free_cpus_does_not)
{
    rep_context_t ctx;
    rep_doc_t doc = busy_doc(&ctx, 1.0);
    char buf[512], *json, *html;

    cr_expect_not(rep_busy_warning(&doc, buf, sizeof buf));
    cr_expect_str_eq(buf, "");
    json = capture(write_doc_json, &doc);
    html = capture(write_doc_html, &doc);
    cr_expect_null(strstr(json, "busy"));
    cr_expect_null(strstr(html, "busy"));
    free(json);
    free(html);
}

/* ------------------------------------------------------------------------
 * JSON strings
 */

static void write_string(FILE *f, const void *arg)
{
    rep_json_string(f, arg);
}

static void assert_json(const char *in, const char *expected)
{
    char *text = capture(write_string, in);
    cr_assert_str_eq(text, expected, "escaping %s", in);
    free(text);
}

Test(json, escapes_specials_and_controls)
{
    assert_json("plain", "\"plain\"");
    assert_json("", "\"\"");
    assert_json("a\"b\\c", "\"a\\\"b\\\\c\"");
    assert_json("tab\tnl\ncr\r", "\"tab\\tnl\\ncr\\r\"");
    assert_json("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
    assert_json("\b\f", "\"\\b\\f\"");
}

Test(json, keeps_utf8_and_replaces_invalid_bytes)
{
    assert_json("min … max µs", "\"min … max µs\"");
    assert_json("\xf0\x9f\x90\x8d", "\"\xf0\x9f\x90\x8d\"");       /* 4-byte sequence */
    assert_json("a\xff" "b", "\"a\\ufffdb\"");                     /* never valid */
    assert_json("\xc0\xaf", "\"\\ufffd\\ufffd\"");                 /* overlong '/' */
    assert_json("\xe2\x82", "\"\\ufffd\\ufffd\"");                 /* truncated */
    assert_json("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");     /* surrogate */
}

/* ------------------------------------------------------------------------
 * Text for a terminal
 */

static void assert_escaped(const char *in, size_t cap, const char *expected)
{
    char buf[128];

    cr_assert_leq(cap, sizeof buf);
    rep_escape(in, buf, cap);
    cr_assert_str_eq(buf, expected, "escaping '%s'", in);
}

Test(escape, controls_backslashes_and_invalid_bytes)
{
    assert_escaped("plain text", 64, "plain text");
    assert_escaped("gil\n\x1b[31mred", 64, "gil\\n\\x1b[31mred");
    assert_escaped("a\tb\rc\x7f", 64, "a\\tb\\rc\\x7f");
    assert_escaped("back\\slash", 64, "back\\\\slash");
    assert_escaped("a\xff" "b", 64, "a\\xffb");                 /* invalid UTF-8 */
    assert_escaped("\xc2\x9b" "1m", 64, "\\xc2\\x9b1m");        /* C1 CSI as UTF-8 */
}

Test(escape, keeps_valid_utf8)
{
    assert_escaped("min … max µs", 64, "min … max µs");
    assert_escaped("\xf0\x9f\x90\x8d", 64, "\xf0\x9f\x90\x8d");
}

Test(escape, truncates_between_escapes)
{
    assert_escaped("ab\ncd", 4, "ab");       /* "\\n" would not fit whole */
    assert_escaped("a…", 3, "a");            /* nor would the 3-byte '…' */
    assert_escaped("abc", 1, "");
}

/* ------------------------------------------------------------------------
 * Byte sizes
 */

typedef int (*parse_fn)(const char *s, int64_t *out, char *err, size_t errlen);

static int64_t accepted(parse_fn parse, const char *s)
{
    char err[256] = "";
    int64_t v = -12345;

    cr_assert_eq(parse(s, &v, err, sizeof err), 0, "'%s' rejected: %s", s, err);
    return v;
}

static void rejected(parse_fn parse, const char *s, const char *why)
{
    char err[256] = "";
    int64_t v = 7;

    cr_assert_eq(parse(s, &v, err, sizeof err), -1, "'%s' accepted", s);
    cr_assert_eq(v, 7, "output written on error");
    cr_assert_not_null(strstr(err, why), "'%s': got '%s', expected '%s'", s, err, why);
}

static int64_t bytes_ok(const char *s) { return accepted(cli_parse_bytes, s); }
static void bytes_bad(const char *s, const char *why) { rejected(cli_parse_bytes, s, why); }
static int64_t parse_ok(const char *s) { return accepted(cli_parse_int, s); }
static void parse_bad(const char *s, const char *why) { rejected(cli_parse_int, s, why); }

Test(bytes, binary_suffixes)
{
    cr_assert_eq(bytes_ok("4096"), 4096);
    cr_assert_eq(bytes_ok("4k"), 4096);
    cr_assert_eq(bytes_ok("4K"), 4096);
    cr_assert_eq(bytes_ok("4KiB"), 4096);
    cr_assert_eq(bytes_ok("256k"), 262144);
    cr_assert_eq(bytes_ok("1M"), 1048576);
    cr_assert_eq(bytes_ok("1MiB"), 1048576);
    cr_assert_eq(bytes_ok("2G"), INT64_C(2147483648));
    cr_assert_eq(bytes_ok("1_024"), 1024);
    cr_assert_eq(bytes_ok("0"), 0);
}

Test(bytes, rejected_forms)
{
    bytes_bad("", "not a byte size");
    bytes_bad("k", "not a byte size");
    bytes_bad("4.5k", "not a byte size");
    bytes_bad("2e3k", "not a byte size");
    bytes_bad("-4k", "not a byte size");
    bytes_bad("4kb", "not a byte size");
    bytes_bad("4 k", "not a byte size");
    bytes_bad("_4k", "misplaced '_'");
    bytes_bad("4__0k", "misplaced '_'");
    bytes_bad("40_k", "misplaced '_'");
    bytes_bad("9999999999999999999999999", "too large");
    bytes_bad("99999999999G", "too large");
    bytes_bad("99999999999999999999999999999999", "too large");
}

/* ------------------------------------------------------------------------
 * Size parsing
 */

Test(parse, accepted_forms)
{
    cr_assert_eq(parse_ok("50000000"), 50000000);
    cr_assert_eq(parse_ok("50M"), 50000000);
    cr_assert_eq(parse_ok("50m"), 50000000);
    cr_assert_eq(parse_ok("2e6"), 2000000);
    cr_assert_eq(parse_ok("2E6"), 2000000);
    cr_assert_eq(parse_ok("50_000_000"), 50000000);
    cr_assert_eq(parse_ok("1k"), 1000);
    cr_assert_eq(parse_ok("1K"), 1000);
    cr_assert_eq(parse_ok("1G"), 1000000000);
    cr_assert_eq(parse_ok("2.5M"), 2500000);
    cr_assert_eq(parse_ok("1.5k"), 1500);
    cr_assert_eq(parse_ok("2.50k"), 2500);
    cr_assert_eq(parse_ok("250e-1"), 25);
    cr_assert_eq(parse_ok("0"), 0);
    cr_assert_eq(parse_ok("007"), 7);
    cr_assert_eq(parse_ok("+5"), 5);
    cr_assert_eq(parse_ok("-5"), -5);
    cr_assert_eq(parse_ok("9223372036854775807"), INT64_MAX);
    cr_assert_eq(parse_ok("9.2e18"), 9200000000000000000);
    cr_assert_eq(parse_ok("0e999999"), 0);
}

Test(parse, rejected_forms)
{
    parse_bad("", "empty");
    parse_bad("abc", "not a number");
    parse_bad("2.5", "not an integer");
    parse_bad("1.2345k", "not an integer");
    parse_bad("25e-1", "not an integer");
    parse_bad("1e30", "too large");
    parse_bad("99999999999999999999", "too large");
    parse_bad("9223372036854775808", "too large");
    parse_bad("1e-999999999999", "not an integer");
    parse_bad("5_", "not a number");
    parse_bad("_5", "not a number");
    parse_bad("5__0", "not a number");
    parse_bad(" 5", "not a number");
    parse_bad("5 ", "not a number");
    parse_bad("1.", "not a number");
    parse_bad(".5", "not a number");
    parse_bad("e5", "not a number");
    parse_bad("0x10", "not a number");
    parse_bad("5kk", "not a number");
    parse_bad("5x", "not a number");
    parse_bad("-", "not a number");
}

Test(parse, ranges)
{
    char err[128];
    int64_t v;

    cr_assert_eq(cli_parse_int_range("0", 1, 100, &v, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "out of range"));
    cr_assert_eq(cli_parse_int_range("-5", 1, 100, &v, err, sizeof err), -1);
    cr_assert_eq(cli_parse_int_range("101", 1, 100, &v, err, sizeof err), -1);
    cr_assert_eq(cli_parse_int_range("100", 1, 100, &v, err, sizeof err), 0);
    cr_assert_eq(v, 100);
}

/* ------------------------------------------------------------------------
 * List parsing
 */

Test(lists, integers)
{
    int out[4];
    char err[128];

    cr_assert_eq(cli_parse_int_list("1,2,4", 1, 1024, out, 4, err, sizeof err), 3);
    cr_assert(out[0] == 1 && out[1] == 2 && out[2] == 4);
    cr_assert_eq(cli_parse_int_list("2", 1, 1024, out, 4, err, sizeof err), 1);
    cr_assert_eq(cli_parse_int_list("1k", 1, 1024, out, 4, err, sizeof err), 1);
    cr_assert_eq(out[0], 1000);
}

static void list_bad(const char *s, const char *why)
{
    int out[4];
    char err[128] = "";

    cr_assert_eq(cli_parse_int_list(s, 1, 1024, out, 4, err, sizeof err), -1, "'%s' accepted", s);
    cr_assert_not_null(strstr(err, why), "'%s': got '%s'", s, err);
}

Test(lists, integer_errors)
{
    list_bad("", "empty list");
    list_bad("1,,2", "empty item");
    list_bad(",1", "empty item");
    list_bad("1,", "empty item");
    list_bad("2,2", "given twice");
    list_bad("2,2.0", "given twice");
    list_bad("0", "out of range");
    list_bad("1025", "out of range");
    list_bad("1,2,3,4,5", "too many");
    list_bad("1,x", "not a number");
}

static const char *const abc[] = {"alpha", "beta", "gamma"};
static const char *abc_at(int i) { return abc[i]; }
static const cli_names_t abc_names = {"letter", 3, abc_at};

Test(lists, names)
{
    int out[3];
    char err[256] = "";

    cr_assert_eq(cli_parse_name_list("gamma,alpha", &abc_names, out, 3, err, sizeof err), 2);
    cr_assert(out[0] == 2 && out[1] == 0);
    cr_assert_eq(cli_parse_name_list("alpha,alpha", &abc_names, out, 3, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "given twice"));
    cr_assert_eq(cli_parse_name_list("alpha,,beta", &abc_names, out, 3, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "empty item"));
    cr_assert_eq(cli_parse_name_list("delta", &abc_names, out, 3, err, sizeof err), -1);
    cr_assert_str_eq(err, "unknown letter 'delta' (valid: alpha, beta, gamma)");
    cr_assert_eq(cli_parse_name("beta", &abc_names, err, sizeof err), 1);
    cr_assert_eq(cli_parse_name("Beta", &abc_names, err, sizeof err), -1);
}
