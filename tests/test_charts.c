/* tests/test_charts.c: the charts a short run draws and `plot` redraws,
 * from the outside (the harness is tests/cli_fixture.h). Files and data,
 * never timings:
 *
 *   - memory-per-mode (countdown --pss), cow (cow, forked and threaded
 *     readers) and gc-pauses (cycles): drawn by the run, with the series
 *     and clusters the data implies, and redrawn by `plot --chart KIND`
 *     with the same data file;
 *   - the stacked timeline of gil against gil-old: lanes of both rows,
 *     each with spans holding the GIL; `plot --chart timeline` writes the
 *     same data from trace-N.json;
 *   - latency, timeline and memtrace of a convoy run with --trace and
 *     --memory-trace redrawn by `plot` as PDF, dark, at another size, and
 *     every chart in `report`'s page (Python's HTML parser);
 *   - `cycles --gc off`: exit 0 and exactly the containers its size leaves
 *     in unreachable cycles (workloads/cycles.c: a ring of `cycle` nodes
 *     and its data list per `cycle` nodes of -n);
 *   - plot's own refusals, and saved records that are wrong (an event of
 *     no known kind, a memory.csv line of no row): one line, exit 2; a
 *     trace-N.json of an older gil-lab (no events) is a row untraced.
 */
#include "cli_fixture.h"

#include <jansson.h>

TestSuite(charts, .init = make_tmpdir, .fini = remove_tmpdir);

/* gil-lab ARGS... exits 0. */
#define OK(...)                                                                \
    do {                                                                       \
        result_t ok_ = RUN(__VA_ARGS__);                                       \
        cr_assert_eq(ok_.status, 0, "stderr: %s", ok_.err);                    \
        result_free(&ok_);                                                     \
    } while (0)

static char *slurp_in(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", path_in_tmp(dir), name);
    return slurp(path);
}

static bool exists_in(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", path_in_tmp(dir), name);
    return exists(path);
}

/* `plot DIR --chart kind -o out` writes what the run wrote into DIR/<stem>.dat. */
static void replot_same_data(const char *dir, const char *kind, const char *stem)
{
    char out[64], dat[64];
    snprintf(out, sizeof out, "re-%s", kind);
    snprintf(dat, sizeof dat, "%s.dat", stem);
    OK("plot", path_in_tmp(dir), "--chart", kind, "--format", "pdf", "-o", path_in_tmp(out));
    char *ran = slurp_in(dir, dat), *drawn = slurp_in(out, dat);
    cr_expect_str_eq(drawn, ran, "plot --chart %s", kind);
    free(ran);
    free(drawn);
    snprintf(dat, sizeof dat, "%s.pdf", stem);
    cr_expect(exists_in(out, dat), "%s was not drawn", dat);
}

Test(charts, memory_cow_and_gc_pause_charts_of_a_short_run)
{
    char *text;

    if (!have_gnuplot())
        cr_skip_test("gnuplot is not installed");
    OK("run", "-w", "countdown", "-m", "single,processes", "-j", "2", "-n", "20000", "-r", "1", "--warmup", "0",
       "--pss", "-o", path_in_tmp("pss"));
    OK("run", "-w", "cow", "-P", "objects=10000", "-n", "2", "-m", "processes,threads", "-j", "2", "-r", "1",
       "--warmup", "0", "-o", path_in_tmp("cow"));
    OK("run", "-w", "cycles", "-m", "single", "-n", "20000", "-r", "1", "--warmup", "0", "-o", path_in_tmp("cyc"));

    cr_expect(exists_in("pss", "memory-per-mode.png") && exists_in("pss", "memory-per-mode.svg"));
    text = slurp_in("pss", "memory-per-mode.dat");
    cr_expect_not_null(strstr(text, "\"single\" value low high\n0 "), "%s", text);
    cr_expect_not_null(strstr(text, "\"processes / j=2\" value low high\n1 "), "%s", text);
    free(text);
    replot_same_data("pss", "memory", "memory-per-mode");

    cr_expect(exists_in("cow", "cow.png") && exists_in("cow", "cow.svg"));
    text = slurp_in("cow", "cow.dat");
    cr_expect_not_null(strstr(text, "\"processes / j=2\" value low high\n0 "), "%s", text);
    cr_expect_not_null(strstr(text, "\"threads / j=2\" value low high\n1 "), "%s", text);
    cr_expect_not_null(strstr(text, "\"objects=10000, kind=int, heap=plain\""), "%s", text);
    free(text);
    replot_same_data("cow", "cow", "cow");

    /* 20000 nodes and 10000 lists: more than 700 new containers, so
     * generation 0 collected; each statistic is a series. */
    cr_expect(exists_in("cyc", "gc-pauses.png") && exists_in("cyc", "gc-pauses.svg"));
    text = slurp_in("cyc", "gc-pauses.dat");
    for (const char *const *s = (const char *const[]){"\"p50\"", "\"p99\"", "\"max\"", "\"gen 0\"", NULL}; *s; s++)
        cr_expect_not_null(strstr(text, *s), "%s in %s", *s, text);
    free(text);
    replot_same_data("cyc", "gcpauses", "gc-pauses");
}

/* The lanes a timeline data file's span block `name` has spans in. */
static unsigned lanes_with_spans(const char *text, const char *name)
{
    const char *block = strstr(text, name);
    unsigned lanes = 0;
    int lane;

    cr_assert_not_null(block, "no block %s", name);
    for (const char *line = strchr(block, '\n') + 1; *line && *line != '\n'; line = strchr(line, '\n') + 1)
        if (sscanf(line, "%d", &lane) == 1 && lane >= 0 && lane < 32)
            lanes |= 1u << lane;
    return lanes;
}

Test(charts, stacked_timeline_has_lanes_of_gil_and_gil_old)
{
    char *text, *again;

    if (!have_gnuplot())
        cr_skip_test("gnuplot is not installed");
    OK("run", "-w", "countdown", "-g", "gil,gil-old", "-m", "threads", "-j", "2", "-n", "200000", "-r", "1",
       "--warmup", "0", "--trace", "-o", path_in_tmp("tl"));
    cr_expect(exists_in("tl", "timeline.png") && exists_in("tl", "timeline.svg"));
    cr_expect(exists_in("tl", "timeline-1.png") && exists_in("tl", "timeline-2.png"));
    cr_expect(exists_in("tl", "trace-1.json") && exists_in("tl", "trace-2.json"));
    text = slurp_in("tl", "timeline.dat");
    cr_expect_not_null(strstr(text, "\"lanes\"\n0 \"gil: worker 0\"\n1 \"gil: worker 1\"\n"
                                    "2 \"gil-old: worker 0\"\n3 \"gil-old: worker 1\"\n"),
                       "%s", strstr(text, "\"lanes\""));
    /* Both workers of both rows held the GIL inside the window. */
    cr_expect_eq(lanes_with_spans(text, "\"holding the GIL\""), 0xfu);
    /* The same data again, from trace-1.json and trace-2.json. */
    OK("plot", path_in_tmp("tl"), "--chart", "timeline", "-o", path_in_tmp("re"));
    again = slurp_in("re", "timeline.dat");
    cr_expect_str_eq(again, text);
    cr_expect(exists_in("re", "timeline-1.png") && exists_in("re", "timeline-2.svg"));
    free(again);
    free(text);
}

/* A PNG's width and height, from its IHDR chunk. */
static void png_size(const char *path, int *w, int *h)
{
    unsigned char b[24];
    FILE *f = fopen(path, "rb");

    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fread(b, 1, sizeof b, f), sizeof b);
    fclose(f);
    *w = b[16] << 24 | b[17] << 16 | b[18] << 8 | b[19];
    *h = b[20] << 24 | b[21] << 16 | b[22] << 8 | b[23];
}

Test(charts, convoy_charts_redrawn_and_all_in_the_report)
{
    static const char *const kinds[][2] = {{"latency", "latency"}, {"timeline", "timeline-1"}, {"memtrace", "memory"}};
    char name[64], path[512], *page, *check, *svg;
    int w, h;

    if (!have_gnuplot())
        cr_skip_test("gnuplot is not installed");
    OK("run", "-w", "convoy", "-m", "threads", "-n", "200", "-r", "1", "--warmup", "0", "--trace",
       "--memory-trace", "-o", path_in_tmp("c"));
    for (size_t k = 0; k < 3; k++) {
        snprintf(name, sizeof name, "%s.png", kinds[k][1]);
        cr_expect(exists_in("c", name), "the run drew %s", name);
        OK("plot", path_in_tmp("c"), "--chart", kinds[k][0], "--format", "png,svg,pdf", "--theme", "dark", "--size",
           "800x600", "--title", "Slide title", "-o", path_in_tmp("re"));
        snprintf(path, sizeof path, "%s/%s.png", path_in_tmp("re"), kinds[k][1]);
        png_size(path, &w, &h);
        cr_expect(w == 800 && h == 600, "%s is %dx%d", name, w, h);
        snprintf(name, sizeof name, "%s.pdf", kinds[k][1]);
        cr_expect(exists_in("re", name), "%s", name);
        snprintf(name, sizeof name, "%s.svg", kinds[k][1]);
        svg = slurp_in("re", name);
        cr_expect_not_null(strstr(svg, "#1e1e1e"), "%s: the dark background", name);
        cr_expect_not_null(strstr(svg, "Slide title"), "%s: the title asked for", name);
        free(svg);
    }
    /* What the run drew from memory and plot from the saved files agree. */
    for (size_t k = 0; k < 2; k++) {
        snprintf(name, sizeof name, "%s.dat", kinds[k][1]);
        char *ran = slurp_in("c", name), *drawn = slurp_in("re", name);
        cr_expect_str_eq(drawn, ran, "%s", name);
        free(ran);
        free(drawn);
    }

    OK("report", path_in_tmp("c"));
    snprintf(path, sizeof path, "%s/report.html", path_in_tmp("c"));
    page = slurp(path);
    cr_expect_eq(count_of(page, "<figure>"), 4, "bars, latency, the timeline and memory over time");
    cr_expect_not_null(strstr(page, "Request latency: convoy"));
    cr_expect_not_null(strstr(page, "GIL timeline: convoy threads gil"));
    cr_expect_not_null(strstr(page, "Memory over time: convoy"));
    free(page);
    check = html_check(path);
    cr_expect_str_eq(check, "ok svg=4 figure=4 table=3\n");
    free(check);
}

Test(charts, cycles_with_the_collector_off_leaks_exactly_its_rings)
{
    json_error_t e;
    json_t *doc, *benchmarks, *entry;
    char path[512];
    size_t k;
    result_t r;

    /* 1000 nodes in rings of 5, each ring with its data list: 200 rings of
     * 6 containers, all unreachable at the end. */
    r = RUN("run", "-w", "cycles", "-m", "single", "--gc", "off", "-P", "cycle=5", "-P", "payload=1", "-n", "1000",
            "-r", "2", "--warmup", "0", "--no-plot", "--format", "json", "-o", path_in_tmp("off"));
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    doc = json_loads(r.out, 0, &e);
    cr_assert_not_null(doc, "stdout is not JSON: %s", e.text);
    benchmarks = json_object_get(doc, "benchmarks");
    json_array_foreach(benchmarks, k, entry) {
        const char *type = json_string_value(json_object_get(entry, "run_type"));
        cr_expect_str_eq(json_string_value(json_object_get(entry, "gc")), "off");
        if (type && strcmp(type, "iteration") == 0)
            cr_expect_eq(json_number_value(json_object_get(entry, "gc_unreachable")), 1200.0, "repeat %zu",
                         k);
    }
    json_decref(doc);
    result_free(&r);

    /* The table says it in words, with the default ring of 2: 500 rings
     * of 3 containers. */
    r = RUN("run", "-w", "cycles", "-m", "single", "--gc", "off", "-n", "1000", "-r", "1", "--warmup", "0",
            "--no-plot", "-o", path_in_tmp("table"));
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.out, "GC:                 off; 1500 containers left in unreachable cycles"), "%s",
                       r.out);
    result_free(&r);
    snprintf(path, sizeof path, "%s/results.csv", path_in_tmp("table"));
    char *csv = slurp(path);
    cr_expect_not_null(strstr(csv, ",1500,off,"), "%s", csv);
    free(csv);
}

/* One line naming why, exit 2. */
static void refused(result_t r, const char *why)
{
    cr_expect_not_null(strstr(r.err, why), "stderr: %s", r.err);
    assert_usage_error(r, why);
}

Test(charts, plot_refuses_what_it_cannot_draw)
{
    result_t r;

    OK("run", "-w", "countdown", "-m", "single", "-n", "2000", "-r", "1", "--warmup", "0", "--no-plot", "-o",
       path_in_tmp("plain"));
    r = RUN("plot", path_in_tmp("plain"), "--chart", "timeline", "-o", path_in_tmp("x"));
    refused(r, "no row was traced (run --trace)");
    r = RUN("plot", path_in_tmp("plain"), "--chart", "memtrace", "-o", path_in_tmp("x"));
    refused(r, "no row has a memory trace (run --memory-trace)");
    r = RUN("plot", path_in_tmp("plain"), "--chart", "latency", "-o", path_in_tmp("x"));
    refused(r, "no row has a client's latencies");
    r = RUN("plot", path_in_tmp("plain"), path_in_tmp("plain"), "--chart", "latency", "-o", path_in_tmp("x"));
    refused(r, "the latency chart draws one results folder, not 2");
}

/* text into tmpdir/dir/name. */
static void put_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", path_in_tmp(dir), name);
    f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

Test(charts, saved_records_that_are_wrong_are_refused)
{
    char path[512];
    result_t r;

    OK("run", "-w", "countdown", "-m", "single", "-n", "2000", "-r", "1", "--warmup", "0", "--no-plot", "-o",
       path_in_tmp("rec"));
    /* An older gil-lab's trace: spans only. The row is untraced. */
    put_file("rec", "trace-1.json", "{\"traceEvents\": []}\n");
    r = RUN("plot", path_in_tmp("rec"), "--chart", "timeline", "-o", path_in_tmp("x"));
    refused(r, "no row was traced (run --trace)");
    /* An event of a kind gil/trace.h does not have. */
    put_file("rec", "trace-1.json",
             "{\"traceEvents\": [], \"gilLabEvents\": [{\"lane\": 0, \"dropped\": 0, \"events\": [5, 99, 0]}]}\n");
    r = RUN("plot", path_in_tmp("rec"), "--chart", "timeline", "-o", path_in_tmp("x"));
    refused(r, "trace-1.json: event 0 of lane 0 is not t_ns, kind, arg");
    snprintf(path, sizeof path, "%s/trace-1.json", path_in_tmp("rec"));
    cr_assert_eq(unlink(path), 0);
    /* A memory trace of a row the results do not have. */
    put_file("rec", "memory.csv",
             "row,kind,t_s,rss_kib,heap_bytes,heap_blocks,generation,pause_s\n"
             "alloc/single/gil/pymalloc/j:1/n:5,sample,0.005,1624,38216,11,,\n");
    r = RUN("plot", path_in_tmp("rec"), "--chart", "memtrace", "-o", path_in_tmp("x"));
    refused(r, "memory.csv line 2 names a row the results do not have");
}
