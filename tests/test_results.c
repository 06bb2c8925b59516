/* tests/test_results.c: saved results and the commands that read them,
 * from the outside (the harness is tests/cli_fixture.h):
 *
 *   - results.json has Google Benchmark's shape (the schema test): the
 *     context fields GB's tools read, one iteration entry per repeat and
 *     the mean/median/stddev/cv aggregates, gil-lab's fields alongside;
 *   - compare: a result against itself has nothing significant; against a
 *     copy whose every repeat took twice as long, every row is significant
 *     with 2 inside its ratio's interval; --fail-above gates; Markdown,
 *     CSV and JSON say the same;
 *   - plot on saved results writes the chart data the run wrote; PDF, dark
 *     theme and size; report is one HTML page that parses, closes every
 *     element, loads nothing and holds every chart (and, where headless
 *     Chromium is installed, renders them);
 *   - run: lists on every axis, weak scaling, --baseline, --min-time,
 *     --resume (finished rows are not run again; rows of another sweep are
 *     refused), --export-markdown, interleaving by default;
 *   - calibrate with a fake Python (plumbing, no timing), with a failing
 *     and a missing one (one line, exit 2), and once with the real python3
 *     at a tiny size;
 *   - bad input everywhere: one line, exit 2.
 */
#include "cli_fixture.h"

#include <jansson.h>

TestSuite(results, .init = make_tmpdir, .fini = remove_tmpdir);

/* A tiny run into tmpdir/name with extra arguments (NULL-terminated). */
static void tiny_run(const char *name, const char *const *extra)
{
    const char *args[CLI_MAX_ARGS] = {"run", "-n", "2000", "--warmup", "0", "-o",
                                      path_in_tmp(name)};
    int n = 7;
    result_t r;

    for (; extra && *extra; extra++)
        args[n++] = *extra;
    args[n] = NULL;
    r = cli_run(NULL, args);
    cr_assert_eq(r.status, 0, "run %s: %s", name, r.err);
    result_free(&r);
}

#define TINY(name, ...) tiny_run(name, (const char *const[]){__VA_ARGS__, NULL})

static json_t *load_json(const char *path)
{
    json_error_t e;
    json_t *doc = json_load_file(path, 0, &e);

    cr_assert_not_null(doc, "%s: %s (line %d)", path, e.text, e.line);
    return doc;
}

/* ------------------------------------------------------------------------
 * Google Benchmark's JSON
 */

Test(results, json_has_google_benchmarks_schema)
{
    static const char *const context_keys[] = {
        "date", "host_name", "executable", "num_cpus", "mhz_per_cpu", "cpu_scaling_enabled",
        "caches", "load_avg", "library_build_type", "gil_lab_version", "machine_before",
        "machine_after", "interleaved", "scaling", "baseline",
    };
    static const char *const entry_keys[] = {
        "name", "family_index", "per_family_instance_index", "run_name", "run_type",
        "repetitions", "threads", "iterations", "real_time", "cpu_time", "time_unit",
        "workload", "mode", "guard", "allocator", "workers", "size",
    };
    json_t *doc, *ctx, *benchmarks, *e;
    size_t k;
    int iterations = 0, aggregates[4] = {0};

    TINY("a", "-m", "single,threads", "-j", "2", "-r", "3", "--no-plot");
    doc = load_json(path_in_tmp("a/results.json"));
    ctx = json_object_get(doc, "context");
    for (k = 0; k < sizeof context_keys / sizeof *context_keys; k++)
        cr_expect_not_null(json_object_get(ctx, context_keys[k]), "context lacks %s",
                           context_keys[k]);
    cr_expect(json_is_integer(json_object_get(ctx, "num_cpus")));
    cr_expect(json_is_boolean(json_object_get(ctx, "cpu_scaling_enabled")));
    cr_expect_eq(json_array_size(json_object_get(ctx, "load_avg")), 3);
    json_array_foreach(json_object_get(ctx, "caches"), k, e) {
        cr_expect(json_is_string(json_object_get(e, "type")));
        cr_expect(json_is_integer(json_object_get(e, "level")));
        cr_expect(json_is_integer(json_object_get(e, "size")));
        cr_expect(json_is_integer(json_object_get(e, "num_sharing")));
    }
    benchmarks = json_object_get(doc, "benchmarks");
    json_array_foreach(benchmarks, k, e) {
        const char *type = json_string_value(json_object_get(e, "run_type"));
        for (size_t j = 0; j < sizeof entry_keys / sizeof *entry_keys; j++)
            cr_expect_not_null(json_object_get(e, entry_keys[j]), "entry %zu lacks %s", k,
                               entry_keys[j]);
        cr_expect_str_eq(json_string_value(json_object_get(e, "time_unit")), "ms");
        cr_assert_not_null(type);
        if (strcmp(type, "iteration") == 0) {
            cr_expect(json_is_integer(json_object_get(e, "repetition_index")));
            cr_expect_eq(json_integer_value(json_object_get(e, "iterations")), 1);
            cr_expect(json_is_number(json_object_get(e, "wall_s")), "gil-lab's fields too");
            cr_expect_float_eq(json_number_value(json_object_get(e, "real_time")),
                               json_number_value(json_object_get(e, "wall_s")) * 1e3, 1e-9);
            /* Each worker's GIL, one entry per worker, in order. */
            const json_t *gw = json_object_get(e, "gil_workers");
            int workers = (int)json_integer_value(json_object_get(e, "workers"));
            cr_expect_eq(json_array_size(gw), (size_t)workers);
            for (int i = 0; i < workers; i++) {
                const json_t *w = json_array_get(gw, (size_t)i);
                cr_expect_eq(json_integer_value(json_object_get(w, "worker")), i);
                cr_expect(json_is_number(json_object_get(w, "share")) && json_is_number(json_object_get(w, "wait_s")));
            }
            iterations++;
        } else {
            static const char *const names[] = {"mean", "median", "stddev", "cv"};
            const char *name = json_string_value(json_object_get(e, "aggregate_name"));
            cr_expect_str_eq(type, "aggregate");
            cr_assert_not_null(name);
            for (int a = 0; a < 4; a++)
                aggregates[a] += strcmp(name, names[a]) == 0;
            if (strcmp(name, "cv") == 0)
                cr_expect_str_eq(json_string_value(json_object_get(e, "aggregate_unit")),
                                 "percentage");
        }
    }
    cr_expect_eq(iterations, 2 * 3, "one entry per repeat of each row");
    for (int a = 0; a < 4; a++)
        cr_expect_eq(aggregates[a], 2, "one of each aggregate per row");
    json_decref(doc);
}

/* ------------------------------------------------------------------------
 * compare
 */

/* Copy tmpdir/from/results.json to tmpdir/to/results.json as synthetic
 * results: repeat k of every row took factor x (1 + k/10) seconds. */
static void synthetic_copy(const char *from, const char *to, double factor)
{
    char src[256], dst[256];
    json_t *doc, *e;
    size_t k;

    snprintf(src, sizeof src, "%s/results.json", path_in_tmp(from));
    snprintf(dst, sizeof dst, "%s", path_in_tmp(to));
    cr_assert_eq(mkdir(dst, 0777), 0);
    strncat(dst, "/results.json", sizeof dst - strlen(dst) - 1);
    doc = load_json(src);
    json_array_foreach(json_object_get(doc, "benchmarks"), k, e) {
        if (strcmp(json_string_value(json_object_get(e, "run_type")), "iteration") != 0)
            continue;
        double wall = factor *
                      (1.0 + 0.1 * (double)json_integer_value(json_object_get(e, "repetition_index")));
        json_object_set_new(e, "wall_s", json_real(wall));
        json_object_set_new(e, "real_time", json_real(wall * 1e3));
    }
    cr_assert_eq(json_dump_file(doc, dst, 0), 0);
    json_decref(doc);
}

/* `compare A B --format json [-o out]`: its document, which must hold
 * nmatches matches. The caller frees it. */
static json_t *compare_json(const char *a, const char *b, const char *out, size_t nmatches)
{
    const char *args[] = {"compare", path_in_tmp(a), path_in_tmp(b), "--format", "json",
                          out ? "-o" : NULL, out ? path_in_tmp(out) : NULL, NULL};
    result_t r = cli_run(NULL, args);
    json_t *doc;

    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    doc = json_loads(r.out, 0, NULL);
    cr_assert_not_null(doc, "stdout: %s", r.out);
    cr_expect_eq(json_array_size(json_object_get(doc, "matches")), nmatches);
    result_free(&r);
    return doc;
}

Test(results, compare_with_itself_finds_nothing)
{
    json_t *doc, *m;
    size_t k;

    TINY("a", "-m", "single,threads,processes", "-j", "2", "-r", "5", "--no-plot");
    doc = compare_json("a", "a", NULL, 3);
    json_array_foreach(json_object_get(doc, "matches"), k, m) {
        cr_expect(json_is_false(json_object_get(m, "significant")));
        cr_expect_float_eq(json_number_value(json_object_get(m, "ratio")), 1.0, 1e-12);
        cr_expect_float_eq(json_number_value(json_object_get(m, "p")), 1.0, 1e-12);
    }
    json_decref(doc);
}

Test(results, compare_twice_as_slow_is_significant_with_ratio_2)
{
    result_t r;
    json_t *doc, *m;
    size_t k;
    char *md;

    TINY("run", "-m", "single,threads", "-j", "2", "-r", "5", "--no-plot");
    synthetic_copy("run", "a", 1.0);
    synthetic_copy("run", "b", 2.0);
    doc = compare_json("a", "b", "cmp", 2);
    json_array_foreach(json_object_get(doc, "matches"), k, m) {
        cr_expect(json_is_true(json_object_get(m, "significant")));
        cr_expect_float_eq(json_number_value(json_object_get(m, "ratio")), 2.0, 1e-9);
        cr_expect_lt(json_number_value(json_object_get(m, "ratio_ci_low")), 2.0 + 1e-9);
        cr_expect_gt(json_number_value(json_object_get(m, "ratio_ci_high")), 2.0 - 1e-9);
        cr_expect_lt(json_number_value(json_object_get(m, "p")), 0.05);
    }
    json_decref(doc);
    cr_expect(exists(path_in_tmp("cmp/comparison.csv")));
    cr_expect(exists(path_in_tmp("cmp/comparison.json")));
    if (have_gnuplot())
        cr_expect(exists(path_in_tmp("cmp/ratio.svg")));

    r = RUN("compare", path_in_tmp("a"), path_in_tmp("b"), "--format", "markdown");
    cr_expect_eq(r.status, 0);
    md = r.out;
    cr_expect_not_null(strstr(md, "| 2.00x |"), "%s", md);
    cr_expect_not_null(strstr(md, "significant: slower"), "%s", md);
    /* synthetic seconds for milliseconds of CPU: the busy-machine warning */
    cr_expect_not_null(strstr(md, "of the CPU time they could use"), "%s", md);
    result_free(&r);

    r = RUN("compare", path_in_tmp("a"), path_in_tmp("b"), "--fail-above", "50");
    cr_expect_eq(r.status, 1, "100 %% slower trips --fail-above 50: %s", r.err);
    cr_expect_not_null(strstr(r.err, "--fail-above 50"), "%s", r.err);
    result_free(&r);
    r = RUN("compare", path_in_tmp("a"), path_in_tmp("b"), "--fail-above", "150");
    cr_expect_eq(r.status, 0, "stderr: %s", r.err);
    result_free(&r);
    r = RUN("compare", path_in_tmp("b"), path_in_tmp("a"), "--fail-above", "1", "--format",
            "csv");
    cr_expect_eq(r.status, 0, "faster never trips it: %s", r.err);
    cr_expect_not_null(strstr(r.out, ",0.5,"), "%s", r.out);
    result_free(&r);
}

Test(results, compare_matches_across_guards)
{
    result_t r;

    TINY("gil", "-m", "single,threads", "-j", "2", "-r", "2", "-g", "gil", "--no-plot");
    TINY("biased", "-m", "single,threads", "-j", "2", "-r", "2", "-g", "biased", "--no-plot");
    r = RUN("compare", path_in_tmp("gil"), path_in_tmp("biased"));
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.out, "They differ in guard: gil vs biased"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "Every row: countdown, n=2000."), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\n  single "), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\n  threads/j:2 "), "%s", r.out);
    result_free(&r);
}

/* ------------------------------------------------------------------------
 * plot and report
 */

Test(results, plot_redraws_the_runs_chart_data)
{
    char *ran, *redrawn;
    result_t r;

    if (!have_gnuplot())
        cr_skip_test("gnuplot is not installed");
    TINY("a", "-m", "single,threads,processes", "-j", "1,2", "-r", "4");
    r = RUN("plot", path_in_tmp("a"), "-o", path_in_tmp("b"));
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    result_free(&r);
    ran = slurp(path_in_tmp("a/chart.dat"));
    redrawn = slurp(path_in_tmp("b/chart.dat"));
    cr_expect_str_eq(redrawn, ran);
    free(ran);
    free(redrawn);
    r = RUN("plot", path_in_tmp("a"), "--chart", "scaling", "-o", path_in_tmp("b"));
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    result_free(&r);
    ran = slurp(path_in_tmp("a/scaling.dat"));
    redrawn = slurp(path_in_tmp("b/scaling.dat"));
    cr_expect_str_eq(redrawn, ran);
    free(ran);
    free(redrawn);
}

/* A convoy sweep of two switch intervals draws latency against the
 * interval: each line (p50, p99) has one point per interval, at the
 * interval in ms; `plot --chart latency-interval` redraws the same data. */
Test(results, latency_against_switch_interval)
{
    static const char *const series[] = {"\"threads / gil p50\"", "\"threads / gil p99\""};
    result_t r;
    char *ran, *redrawn;

    if (!have_gnuplot())
        cr_skip_test("gnuplot is not installed");
    r = RUN("run", "-w", "convoy", "-m", "threads", "-n", "50", "-r", "1", "--warmup", "0", "--switch-interval",
            "1000,5000", "-o", path_in_tmp("a"));
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    result_free(&r);
    ran = slurp(path_in_tmp("a/latency-interval.dat"));
    for (size_t k = 0; k < 2; k++) {
        const char *block = strstr(ran, series[k]);
        double x1, x2, v1, v2;
        cr_assert_not_null(block, "no line %s in:\n%s", series[k], ran);
        block = strchr(block, '\n') + 1;
        /* two points, at 1 and 5 ms, then the block's end */
        cr_assert_eq(sscanf(block, "%lf %lf %*f %*f %lf %lf", &x1, &v1, &x2, &v2), 4, "%s", block);
        cr_expect(x1 == 1.0 && x2 == 5.0, "%s: x %g and %g", series[k], x1, x2);
        cr_expect(v1 > 0 && v2 > 0, "%s: latencies %g %g", series[k], v1, v2);
        const char *after = strchr(strchr(block, '\n') + 1, '\n') + 1;
        cr_expect_eq(*after, '\n', "%s: one point per interval:\n%s", series[k], block);
    }
    r = RUN("plot", path_in_tmp("a"), "--chart", "latency-interval", "-o", path_in_tmp("b"));
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    result_free(&r);
    redrawn = slurp(path_in_tmp("b/latency-interval.dat"));
    cr_expect_str_eq(redrawn, ran);
    free(ran);
    free(redrawn);
}

Test(results, plot_formats_theme_size_and_merge)
{
    char *svg;
    result_t r;

    if (!have_gnuplot())
        cr_skip_test("gnuplot is not installed");
    TINY("gil", "-m", "single,threads", "-j", "2", "-r", "1", "-g", "gil", "--no-plot");
    TINY("biased", "-m", "single,threads", "-j", "2", "-r", "1", "-g", "biased", "--no-plot");
    r = RUN("plot", path_in_tmp("gil"), path_in_tmp("biased"), "--format", "pdf,svg", "--theme",
            "dark", "--size", "800x500", "--title", "two guards", "-o", path_in_tmp("out"));
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    result_free(&r);
    svg = slurp(path_in_tmp("out/chart.svg"));
    cr_expect_not_null(strstr(svg, "width=\"800\" height=\"500\""), "size");
    cr_expect_not_null(strstr(svg, "#1e1e1e"), "dark background");
    cr_expect_not_null(strstr(svg, "two guards"), "title");
    cr_expect_not_null(strstr(svg, "biased"), "both folders in one chart");
    free(svg);
    svg = slurp(path_in_tmp("out/chart.pdf"));
    cr_expect_eq(strncmp(svg, "%PDF", 4), 0);
    free(svg);
    cr_expect(!exists(path_in_tmp("out/chart.png")), "only the formats asked for");
    r = RUN("plot", path_in_tmp("gil"), path_in_tmp("biased"), "--chart", "normalised",
            "--baseline", "gil", "-o", path_in_tmp("out"));
    cr_expect_eq(r.status, 0, "stderr: %s", r.err);
    result_free(&r);
    cr_expect(exists(path_in_tmp("out/normalised.png")));
}

/* Chromium's binary, when installed (Debian names it chromium). */
static const char *chromium(void)
{
    static const char *const names[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser"};
    for (size_t k = 0; k < 2; k++)
        if (access(names[k], X_OK) == 0)
            return names[k];
    return NULL;
}

Test(results, report_is_one_html_page_with_every_chart)
{
    char *check, *page;
    result_t r;
    int charts;

    if (!have_gnuplot())
        cr_skip_test("gnuplot is not installed");
    TINY("a", "-w", "countdown,shared", "-g", "gil,atomic", "-m", "single,threads", "-j", "1,2",
         "-r", "2", "--no-plot");
    r = RUN("report", path_in_tmp("a"));
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    result_free(&r);
    page = slurp(path_in_tmp("a/report.html"));
    charts = count_of(page, "<figure>");
    cr_expect_eq(charts, 4, "bars, scaling, normalised and throughput");
    cr_expect_not_null(strstr(page, "gil-lab run -n 2000"), "the command line");
    cr_expect_null(strstr(page, "<script"), "no script");
    cr_expect_null(strstr(page, "<?xml"), "SVG inline without its prolog");
    free(page);
    check = html_check(path_in_tmp("a/report.html"));
    cr_expect_str_eq(check, "ok svg=4 figure=4 table=3\n");
    free(check);
    if (chromium()) {
        char cmd[1024], out[64];
        FILE *p;
        int svgs = 0;
        snprintf(cmd, sizeof cmd,
                 "timeout 120 '%s' --headless --no-sandbox --disable-gpu --dump-dom 'file://%s' "
                 "2>/dev/null "
                 "| grep -o '<svg' | wc -l",
                 chromium(), path_in_tmp("a/report.html"));
        p = popen(cmd, "r");
        if (p && fgets(out, sizeof out, p))
            svgs = atoi(out);
        if (p)
            pclose(p);
        cr_expect_eq(svgs, 4, "Chromium's DOM holds every chart");
    } else {
        cr_log_info("headless Chromium not installed: the HTML parser check stands alone");
    }
    r = RUN("report", path_in_tmp("a"), "-o", path_in_tmp("page.html"));
    cr_expect_eq(r.status, 0, "stderr: %s", r.err);
    result_free(&r);
    cr_expect(exists(path_in_tmp("page.html")));
}

/* ------------------------------------------------------------------------
 * run: lists, scaling, baseline, min-time, resume, markdown
 */

static int lines_of(const char *text)
{
    return count_of(text, "\n");
}

Test(results, every_axis_is_a_list)
{
    result_t r = RUN("run", "-w", "countdown,shared", "-n", "1k,2k", "-P", "length=3,5",
                     "--switch-interval", "1000,5000", "-m", "single", "-r", "1", "--warmup", "0",
                     "--format", "csv", "--no-plot", "-o", path_in_tmp("a"));

    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    /* countdown: 2 sizes x 2 intervals; shared: 2 sizes x 2 lengths x 2 intervals */
    cr_expect_eq(lines_of(r.out), 1 + 4 + 8, "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\nshared,single,gil,1,2000,"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, ",length=5,"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, ",1000,0,"), "switch interval 1000: %s", r.out);
    result_free(&r);
}

Test(results, weak_scaling_gives_every_worker_the_size)
{
    result_t r = RUN("run", "-m", "single,processes", "-j", "1,2", "-n", "1000", "--scaling",
                     "weak", "-r", "1", "--warmup", "0", "--format", "csv", "--no-plot", "-o",
                     path_in_tmp("a"));

    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.out, "\ncountdown,single,gil,1,1000,"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\ncountdown,processes,gil,1,1000,"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\ncountdown,processes,gil,2,2000,"), "%s", r.out);
    result_free(&r);
}

Test(results, baseline_names_another_guard)
{
    result_t r = RUN("run", "-g", "gil,biased", "-m", "single,threads", "-j", "2", "-n", "2000",
                     "--baseline", "single/gil", "-r", "1", "--warmup", "0", "--format", "csv",
                     "--no-plot", "-o", path_in_tmp("a"));

    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_eq(count_of(r.out, ",countdown/single/gil/pymalloc/j:1/n:2000,"), 4, "%s", r.out);
    result_free(&r);
    BAD_RUN("--baseline", "single/atomic", "-g", "gil");
    BAD_RUN("--baseline", "frobnicate");
}

/* Half a second: a 50k trial needs about 2 ms; at 0.02 s an ASan build on a
 * machine loaded 15 deep once met the time with the trial's own size. */
Test(results, min_time_chooses_the_size)
{
    result_t r = RUN("run", "-m", "single", "--min-time", "0.5", "-r", "1", "--warmup", "0",
                     "--format", "csv", "--no-plot", "-o", path_in_tmp("a"));
    long long size = 0;

    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.err, "note: --min-time 0.5 s: countdown -n "), "%s", r.err);
    cr_assert_eq(sscanf(strstr(r.out, "\ncountdown,single,gil,1,"), "\ncountdown,single,gil,1,%lld",
                        &size), 1);
    cr_expect_gt(size, 50000, "the trial starts at 50k and only grows");
    result_free(&r);
    BAD_RUN("--min-time", "0");
    BAD_RUN("--min-time", "x");
    /* -n and --min-time both choose the size: the last one counts */
    r = RUN("run", "-m", "single", "--min-time", "100", "-n", "3000", "-r", "1", "--warmup", "0",
            "--format", "csv", "--no-plot", "-o", path_in_tmp("b"));
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.out, "\ncountdown,single,gil,1,3000,"), "%s", r.out);
    result_free(&r);
}

/* The wall times and worker 0's GIL shares of a results.json's repeats, in
 * order, as text. */
static char *walls(const char *dir)
{
    char path[256], *out = NULL;
    size_t len = 0, k;
    FILE *m = open_memstream(&out, &len);
    json_t *doc, *e;

    snprintf(path, sizeof path, "%s/results.json", path_in_tmp(dir));
    doc = load_json(path);
    json_array_foreach(json_object_get(doc, "benchmarks"), k, e)
        if (strcmp(json_string_value(json_object_get(e, "run_type")), "iteration") == 0)
            fprintf(m, "%s %.17g %.17g\n", json_string_value(json_object_get(e, "run_name")),
                    json_number_value(json_object_get(e, "wall_s")),
                    /* each worker's GIL share is read back too (load.c) */
                    json_number_value(json_object_get(json_array_get(json_object_get(e, "gil_workers"), 0), "share")));
    fclose(m);
    json_decref(doc);
    return out;
}

Test(results, resume_keeps_finished_rows)
{
    char *before, *after;
    result_t r;

    TINY("a", "-m", "single,threads", "-j", "2", "-r", "2", "--no-plot");
    before = walls("a");
    r = RUN("run", "-m", "single,threads,processes", "-j", "2", "-n", "2000", "-r", "2",
            "--warmup", "0", "--no-plot", "--resume", path_in_tmp("a"));
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.out, "--resume: 2 of 3 rows read from"), "%s", r.out);
    result_free(&r);
    after = walls("a");
    cr_expect_eq(strncmp(after, before, strlen(before)), 0, "resumed rows kept:\n%s\n%s", before,
                 after);
    cr_expect_not_null(strstr(after, "countdown/processes/"), "the new row ran");
    free(before);
    free(after);
    /* a sweep that does not hold the saved rows is refused */
    r = RUN("run", "-m", "single", "-n", "2000", "-r", "2", "--warmup", "0", "--no-plot",
            "--resume", path_in_tmp("a"));
    cr_expect_eq(r.status, 2, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.err, "is not a row of this sweep"), "%s", r.err);
    result_free(&r);
}

Test(results, markdown_export_and_interleaving)
{
    char *md, *json;
    result_t r = RUN("run", "-m", "single,threads", "-j", "2", "-n", "2000", "-r", "2",
                     "--warmup", "0", "--no-plot", "--export-markdown", path_in_tmp("t.md"),
                     "-o", path_in_tmp("a"));

    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    result_free(&r);
    md = slurp(path_in_tmp("t.md"));
    cr_expect_eq(strncmp(md, "| workload | mode | guard |", 26), 0, "%s", md);
    cr_expect_eq(count_of(md, "\n| countdown |"), 2, "%s", md);
    free(md);
    json = slurp(path_in_tmp("a/results.json"));
    cr_expect_not_null(strstr(json, "\"interleaved\": true"), "interleaved by default");
    free(json);
}

/* A link planted at the export's temporary name is removed, not written
 * through: the file it points at is untouched. */
Test(results, markdown_export_never_writes_through_a_planted_link)
{
    char victim[256], *text;
    FILE *f;
    result_t r;

    snprintf(victim, sizeof victim, "%s", path_in_tmp("victim"));
    f = fopen(victim, "w");
    cr_assert_not_null(f);
    fputs("precious\n", f);
    fclose(f);
    cr_assert_eq(symlink(victim, path_in_tmp("t.md.tmp")), 0, "symlink: %s", strerror(errno));
    r = RUN("run", "-m", "single", "-n", "1000", "-r", "1", "--warmup", "0", "--no-plot",
            "--export-markdown", path_in_tmp("t.md"), "-o", path_in_tmp("a"));
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    result_free(&r);
    text = slurp(victim);
    cr_expect_str_eq(text, "precious\n", "the link's target was written through");
    free(text);
    text = slurp(path_in_tmp("t.md"));
    cr_expect_eq(strncmp(text, "| workload | mode | guard |", 26), 0, "%s", text);
    free(text);
    cr_expect(!exists(path_in_tmp("t.md.tmp")));
}

/* ------------------------------------------------------------------------
 * calibrate
 */

/* A fake Python: answers the probe, and every run with a fixed sample. */
static const char *fake_python(const char *body)
{
    const char *path = path_in_tmp("fake-python");
    FILE *f = fopen(path, "w");

    cr_assert_not_null(f);
    fprintf(f, "#!/bin/sh\n%s", body);
    fclose(f);
    cr_assert_eq(chmod(path, 0755), 0);
    return path;
}

#define FAKE_ANSWERS                                                           \
    "case \"$4\" in\n"                                                         \
    "probe) echo '{\"implementation\": \"FakePython\", \"version\": \"0.1\", \"gil\": true, " \
    "\"executable\": \"fake\"}';;\n"                                           \
    "run) echo '{\"wall_s\": 0.5, \"cpu_user_s\": 0.5, \"cpu_sys_s\": 0, "     \
    "\"worker_min_s\": 0.5, \"worker_max_s\": 0.5, \"worker_mean_s\": 0.5}';;\n" \
    "esac\n"

Test(results, calibrate_plumbing_with_a_fake_python)
{
    const char *python = fake_python(FAKE_ANSWERS);
    char *csv;
    result_t r = RUN("calibrate", "--python", python, "-w", "countdown,io", "-m", "single,threads",
                     "-j", "2", "-n", "20", "-r", "2", "--warmup", "0", "-o", path_in_tmp("c"));

    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.out, "Fidelity: FakePython 0.1"), "%s", r.out);
    result_free(&r);
    csv = slurp(path_in_tmp("c/fidelity.csv"));
    cr_expect_not_null(strstr(csv, "\ncountdown,single,1,20,FakePython 0.1,0.5,1,gil,"), "%s",
                       csv);
    cr_expect_not_null(strstr(csv, "\ncountdown,threads,2,20,FakePython 0.1,0.5,1,gil,"), "%s",
                       csv);
    cr_expect_not_null(strstr(csv, "\nio,threads,2,20,FakePython 0.1,0.5,1,gil,"), "%s", csv);
    free(csv);
    cr_expect(exists(path_in_tmp("c/python-1.json")));
    r = RUN("compare", path_in_tmp("c/results.json"), path_in_tmp("c/python-1.json"));
    cr_expect_eq(r.status, 0, "the Python's results are the lab's format: %s", r.err);
    result_free(&r);
    if (have_gnuplot())
        cr_expect(exists(path_in_tmp("c/paired.svg")));
}

Test(results, calibrate_refuses_missing_and_failing_pythons)
{
    const char *failing = fake_python("echo 'boom: no such thing' >&2\nexit 3\n");
    result_t r;

    r = RUN("calibrate", "--python", failing, "-o", path_in_tmp("c"));
    cr_expect_not_null(strstr(r.err, "exited 3: boom: no such thing"), "%s", r.err);
    assert_usage_error(r, "failing python");
    r = RUN("calibrate", "--python", path_in_tmp("no-python-here"), "-o", path_in_tmp("c"));
    cr_expect_not_null(strstr(r.err, "not found"), "%s", r.err);
    assert_usage_error(r, "missing python");
    cr_expect(!exists(path_in_tmp("c")));
}

Test(results, calibrate_with_the_real_python3)
{
    result_t r;

    if (system("python3 -c '' >/dev/null 2>&1") != 0)
        cr_skip_test("python3 is not installed");
    r = RUN("calibrate", "-m", "single,threads,pool", "-j", "2", "-n", "2000", "-r", "1",
            "--warmup", "0", "--no-plot", "-o", path_in_tmp("c"));
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.out, "Fidelity: CPython 3."), "%s", r.out);
    cr_expect_eq(count_of(r.out, "\n  shared "), 3, "%s", r.out);
    result_free(&r);
    /* io at its own small size: its 1 ms sleeps add up */
    r = RUN("calibrate", "-w", "io", "-m", "single,threads", "-j", "2", "-n", "20", "-r", "1",
            "--warmup", "0", "--no-plot", "-o", path_in_tmp("io"));
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_eq(count_of(r.out, "\n  io "), 2, "%s", r.out);
    result_free(&r);
}

/* ------------------------------------------------------------------------
 * Bad input
 */

Test(results, bad_input_is_one_line)
{
    char junk[160];
    FILE *f;

    snprintf(junk, sizeof junk, "%s", path_in_tmp("junk.json"));
    f = fopen(junk, "w");

    cr_assert_not_null(f);
    fputs("{\"context\": {}, \"benchmarks\": [{\"run_name\": \"x\", \"run_type\": \"iteration\", "
          "\"workload\": \"nosuch\", \"mode\": \"single\", \"guard\": \"gil\", "
          "\"allocator\": \"pymalloc\"}]}",
          f);
    fclose(f);
    TINY("a", "-m", "single", "-r", "1", "--no-plot");
    TINY("s", "-w", "shared", "-m", "threads", "-r", "1", "--no-plot");
    assert_usage_error(RUN("compare", path_in_tmp("a")), "compare one");
    assert_usage_error(RUN("compare", path_in_tmp("a"), path_in_tmp("nothing")), "unreadable");
    assert_usage_error(RUN("compare", path_in_tmp("a"), junk), "unknown workload");
    assert_usage_error(RUN("compare", path_in_tmp("a"), path_in_tmp("s")), "no common row");
    assert_usage_error(RUN("compare", path_in_tmp("a"), "/etc/passwd"), "not JSON");
    assert_usage_error(RUN("plot", path_in_tmp("nothing")), "plot unreadable");
    assert_usage_error(RUN("plot", junk), "plot junk");
    assert_usage_error(RUN("plot", path_in_tmp("a"), "--chart", "pie"), "unknown chart");
    assert_usage_error(RUN("plot", path_in_tmp("a"), "--format", "gif"), "unknown format");
    assert_usage_error(RUN("plot", path_in_tmp("a"), "--size", "10x10"), "tiny size");
    assert_usage_error(RUN("plot", path_in_tmp("a"), "--theme", "pink"), "unknown theme");
    assert_usage_error(RUN("plot", path_in_tmp("a"), "--chart", "ratio"), "ratio of one");
    assert_usage_error(RUN("report", path_in_tmp("nothing")), "report unreadable");
    assert_usage_error(RUN("report"), "report nothing");
    BAD_RUN("-w", "");
    BAD_RUN("-n", "1k,1k");
    BAD_RUN("-P", "length=3,3", "-w", "shared");
    BAD_RUN("--switch-interval", "100,");
    BAD_RUN("--scaling", "diagonal");
    BAD_RUN("--resume", "");
}
