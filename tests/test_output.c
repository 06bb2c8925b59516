/* tests/test_output.c: what a run leaves in its results folder when the
 * world is hostile (the harness is tests/cli_fixture.h):
 *
 *   - links planted at every name the run writes (temporaries included)
 *     are replaced, never followed: their target is untouched;
 *   - a folder another run holds (its lock taken here, by the test) is
 *     refused with exit 2 before anything runs;
 *   - a full disk: every write past RLIMIT_FSIZE fails with EFBIG, in the
 *     lab and in gnuplot, which is how the lab meets a full disk and needs
 *     neither root nor a hook compiled into the binary. CSV and JSON then
 *     keep the same rows and the message says which; a truncated chart is
 *     never renamed into place. Where the test may mount (root, its own
 *     mount namespace) a real 64 KiB tmpfs repeats the chart case with
 *     ENOSPC;
 *   - no /proc: --memory-trace, --pss and cow each stop with one line
 *     naming the file (tested where the test may hide /proc);
 *   - a stdout reader that leaves before the first row (`| true`) or after
 *     the first block (`| head`): a message, exit 1, and either no folder
 *     or one whose files hold exactly the rows it says; no stdout at all
 *     (`>&-`) is not mistaken for a file of the folder;
 *   - the chart: an earlier run's chart goes when a new run writes the
 *     folder (--no-plot too); no gnuplot is a note and exit 0; the script
 *     is inside the binary (a copy elsewhere draws the same chart); the
 *     title carries every non-default setting; a row too short to measure
 *     is flagged.
 */
#include "cli_fixture.h"

#include <sched.h>
#include <sys/file.h>
#include <sys/mount.h>

TestSuite(output, .init = make_tmpdir, .fini = remove_tmpdir);

/* Every name a run writes in its folder, then each one's temporary. */
static const char *const written[] = {
    "results.csv", "results.json", "chart.png", "chart.svg", "chart.dat", "chart.log",
};
#define NWRITTEN (sizeof written / sizeof written[0])

#define SECRET "a file outside the results folder\n"

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot create %s", path);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

static void make_dir(const char *path)
{
    cr_assert(mkdir(path, 0777) == 0 || errno == EEXIST, "mkdir %s: %s", path, strerror(errno));
}

static void plant_link(const char *dir, const char *name, const char *target)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cr_assert_eq(symlink(target, path), 0, "symlink %s: %s", path, strerror(errno));
}

static bool is_regular(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* No "*.tmp" left in dir. */
static void assert_no_temporaries(const char *dir)
{
    char path[256];

    for (size_t k = 0; k < NWRITTEN; k++) {
        snprintf(path, sizeof path, "%s/%s.tmp", dir, written[k]);
        cr_expect(!exists(path), "%s was left behind", path);
    }
}

/* Occurrences of needle in the file dir/name. */
static int count_in(const char *dir, const char *name, const char *needle)
{
    char path[256], *text;
    int n;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    text = slurp(path);
    n = count_of(text, needle);
    free(text);
    return n;
}

/* Data rows of dir/results.csv (lines after the header). */
static int csv_rows(const char *dir)
{
    return count_in(dir, "results.csv", "\n") - 1;
}

/* Rows in dir/results.json: each has one median aggregate. */
static int json_rows(const char *dir)
{
    return count_in(dir, "results.json", "\"aggregate_name\": \"median\"");
}

static off_t file_size(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "stat %s", path);
    return st.st_size;
}

/* ------------------------------------------------------------------------
 * Planted links and locks
 */

Test(output, planted_links_are_replaced_never_followed)
{
    const char *out = path_in_tmp("out"), *victim = path_in_tmp("victim");
    char tmp[64], *text;
    result_t r;

    make_dir(out);
    write_text(victim, SECRET);
    for (size_t k = 0; k < NWRITTEN; k++) {
        plant_link(out, written[k], victim);
        snprintf(tmp, sizeof tmp, "%s.tmp", written[k]);
        plant_link(out, tmp, victim);
    }
    plant_link(out, ".gil-lab.probe", victim);

    r = RUN("run", "-m", "single", "-n", "10k", "-r", "1", "--warmup", "0", "-o", out);
    cr_expect_eq(r.status, 0, "stderr: %s", r.err);
    result_free(&r);
    text = slurp(victim);
    cr_expect_str_eq(text, SECRET, "the link's target was written through");
    free(text);
    cr_expect(is_regular(path_in_tmp("out/results.csv")));
    cr_expect(is_regular(path_in_tmp("out/results.json")));
    if (have_gnuplot()) {
        cr_expect(file_starts_with(path_in_tmp("out/chart.png"), "\x89PNG", 4));
        cr_expect(is_regular(path_in_tmp("out/chart.svg")));
    }
    cr_expect(!exists(path_in_tmp("out/.gil-lab.probe")));
    assert_no_temporaries(out);
}

Test(output, lock_file_that_is_a_link_is_refused)
{
    const char *out = path_in_tmp("out"), *victim = path_in_tmp("victim");
    char *text;
    result_t r;

    make_dir(out);
    write_text(victim, SECRET);
    plant_link(out, ".gil-lab.lock", victim);
    r = RUN("run", "-m", "single", "-n", "1k", "-o", out);
    cr_expect_eq(r.status, 2, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.err, ".gil-lab.lock is a symbolic link"), "stderr: %s", r.err);
    result_free(&r);
    text = slurp(victim);
    cr_expect_str_eq(text, SECRET);
    free(text);
    cr_expect(!exists(path_in_tmp("out/results.csv")));
}

/* The test holds the folder's lock, as a running gil-lab would. */
Test(output, folder_in_use_is_refused_before_running)
{
    const char *out = path_in_tmp("out");
    int fd;
    result_t r;

    make_dir(out);
    fd = open(path_in_tmp("out/.gil-lab.lock"), O_RDONLY | O_CREAT, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
    r = RUN("run", "-m", "single", "-n", "1k", "-o", out);
    cr_expect_eq(r.status, 2, "stderr: %s", r.err);
    cr_expect_eq(r.outlen, 0, "something ran: %s", r.out);
    cr_expect_not_null(strstr(r.err, "is in use by another gil-lab run"), "stderr: %s", r.err);
    cr_expect_eq(count_of(r.err, "\n"), 1, "one line: %s", r.err);
    result_free(&r);
    cr_expect(!exists(path_in_tmp("out/results.csv")));
    close(fd);

    r = RUN("run", "-m", "single", "-n", "1k", "-r", "1", "--warmup", "0", "--no-plot", "-o",
            out);
    cr_expect_eq(r.status, 0, "once the lock is released: %s", r.err);
    result_free(&r);
}

/* ------------------------------------------------------------------------
 * A full disk
 */

static long json_size_of_run(const char *dir, const char *modes)
{
    result_t r = RUN("run", "-m", modes, "-j", "2", "-n", "10k", "-r", "1", "--warmup", "0",
                     "--sequential", "--no-plot", "-o", dir);
    char path[256];

    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    result_free(&r);
    snprintf(path, sizeof path, "%s/results.json", dir);
    return (long)file_size(path);
}

/* The second row's JSON does not fit: both files keep the first row. */
Test(output, write_failure_keeps_csv_and_json_in_step)
{
    long one = json_size_of_run(path_in_tmp("one"), "single");
    long two = json_size_of_run(path_in_tmp("two"), "single,threads");
    cli_opts_t full = {.fsize_limit = (one + two) / 2};
    const char *out = path_in_tmp("out");
    result_t r = RUN_WITH(&full, "run", "-m", "single,threads", "-j", "2", "-n", "10k", "-r", "1",
                          "--warmup", "0", "--sequential", "--no-plot", "-o", out);

    cr_expect_eq(r.status, 1, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.err, "cannot write results.json: File too large"), "stderr: %s",
                       r.err);
    cr_expect_not_null(strstr(r.err, "hold 1 of 2 rows"), "stderr: %s", r.err);
    result_free(&r);
    cr_expect_eq(csv_rows(out), 1);
    cr_expect_eq(json_rows(out), 1);
    assert_no_temporaries(out);
}

/* gnuplot exits 0 after writing a truncated PNG; the lab must notice. */
Test(output, truncated_chart_is_not_kept)
{
    cli_opts_t full = {.fsize_limit = 20000};   /* a chart.png is ~50 KB, results ~3 KB */
    const char *out = path_in_tmp("out");
    result_t r;

    if (!have_gnuplot())
        cr_skip_test("gnuplot is not installed");
    r = RUN_WITH(&full, "run", "-m", "single", "-n", "10k", "-r", "1", "--warmup", "0", "-o",
                 out);
    cr_expect_eq(r.status, 1, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.err, "chart not drawn: gnuplot's chart.png is truncated"),
                       "stderr: %s", r.err);
    result_free(&r);
    cr_expect(!exists(path_in_tmp("out/chart.png")));
    cr_expect(!exists(path_in_tmp("out/chart.svg")));
    cr_expect_eq(csv_rows(out), 1);
    assert_no_temporaries(out);
}

/* The same on a real full file system, where this test may mount one. */
Test(output, full_tmpfs)
{
    const char *disk = path_in_tmp("disk"), *out = path_in_tmp("disk/out");
    result_t r;

    if (!have_gnuplot())
        cr_skip_test("gnuplot is not installed");
    make_dir(disk);
    if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("tmpfs", disk, "tmpfs", 0, "size=64k") < 0)
        cr_skip_test("cannot mount a tmpfs here (%s); the RLIMIT_FSIZE cases stand in",
                     strerror(errno));
    r = RUN("run", "-m", "single", "-n", "10k", "-r", "1", "--warmup", "0", "-o", out);
    cr_expect_eq(r.status, 1, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.err, "chart not drawn"), "stderr: %s", r.err);
    result_free(&r);
    cr_expect(!exists(path_in_tmp("disk/out/chart.png")));
    cr_expect(!exists(path_in_tmp("disk/out/chart.svg")));
    cr_expect_eq(csv_rows(out), 1);
    assert_no_temporaries(out);
    umount2(disk, MNT_DETACH);
}

/* One line on stderr that says `says`, and exit 1. */
static void assert_fails_saying(result_t r, const char *says)
{
    cr_expect_eq(r.status, 1, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.err, says), "stderr lacks \"%s\": %s", says, r.err);
    cr_expect(r.errlen > 0 && !memchr(r.err, '\n', r.errlen - 1), "one line: %s", r.err);
    result_free(&r);
}

/* No /proc (a container without it, a hardened mount): every figure read
 * from it costs one line and exit 1, never a zero where a size should be.
 * The test hides /proc under an empty tmpfs where it may mount. */
Test(output, unreadable_proc)
{
    const char *out = path_in_tmp("out");

#ifdef __SANITIZE_ADDRESS__
    /* The sanitizers themselves read /proc (the binary's name, its
     * threads for the leak check): the release build runs this test. */
    cr_skip_test("a sanitized gil-lab cannot run without /proc");
#endif
    if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("tmpfs", "/proc", "tmpfs", 0, "size=64k") < 0)
        cr_skip_test("cannot hide /proc here (%s)", strerror(errno));
    assert_fails_saying(RUN("run", "--memory-trace", "-m", "single", "-n", "1k", "-r", "1", "--warmup", "0",
                            "--no-plot", "-o", out),
                        "--memory-trace: cannot read /proc/self/statm");
    assert_fails_saying(RUN("run", "--pss", "-m", "processes", "-n", "1k", "-r", "1", "--warmup", "0",
                            "--no-plot", "-o", out),
                        "--pss: cannot read /proc/self/smaps_rollup");
    assert_fails_saying(RUN("run", "-w", "cow", "-P", "objects=100", "-m", "single", "-n", "1", "-r", "1",
                            "--warmup", "0", "--no-plot", "-o", out),
                        "cow needs /proc/self/smaps_rollup");
    umount2("/proc", MNT_DETACH);
}

/* ------------------------------------------------------------------------
 * A stdout reader that leaves
 */

/* `gil-lab run | true`: nothing runs, nothing stays, and it says so. */
Test(output, stdout_without_reader_leaves_no_folder)
{
    static const char *const formats[] = {"table", "csv"};
    const char *cwd = path_in_tmp("cwd");
    cli_opts_t no_reader = {.stdout_mode = CLI_OUT_NO_READER, .cwd = cwd};

    make_dir(cwd);
    for (size_t k = 0; k < 2; k++) {
        result_t r = RUN_WITH(&no_reader, "run", "-m", "single", "-n", "1k", "-r", "1",
                              "--warmup", "0", "--format", formats[k]);
        cr_expect_eq(r.status, 1, "%s: stderr: %s", formats[k], r.err);
        cr_expect_str_eq(r.err, "gil-lab: stdout was closed by its reader; stopped before any "
                                "row finished, nothing was saved\n");
        result_free(&r);
        cr_expect(!exists(path_in_tmp("cwd/results")), "%s: a results folder was left",
                  formats[k]);
    }
}

/* `gil-lab run --sequential | head`: the reader leaves after the first
 * block; the run stops at the next row, its files holding the rows it
 * reports. */
Test(output, stdout_reader_leaving_stops_the_sweep)
{
    cli_opts_t head = {.stdout_mode = CLI_OUT_CLOSE_AT, .close_at = "  Time ("};
    const char *out = path_in_tmp("out");
    const char *said;
    int kept = -1, total = -1;
    result_t r = RUN_WITH(&head, "run", "-m", "single,threads", "-j", "1,2,3,4,5,6,7,8", "-n",
                          "2M", "-r", "2", "--warmup", "0", "--sequential", "--no-plot", "-o", out);

    cr_expect_eq(r.status, 1, "stderr: %s", r.err);
    said = strstr(r.err, "gil-lab: stdout was closed by its reader; stopped with ");
    cr_assert_not_null(said, "stderr: %s", r.err);
    cr_assert_eq(sscanf(said, "gil-lab: stdout was closed by its reader; stopped with %d of %d",
                        &kept, &total), 2);
    cr_expect_eq(total, 9);
    cr_expect(kept >= 1 && kept < total, "kept %d of %d rows", kept, total);
    cr_expect_eq(csv_rows(out), kept);
    cr_expect_eq(json_rows(out), kept);
    result_free(&r);
}

/* `gil-lab run >&-`: descriptor 1 does not exist, so the first file the
 * lab opened used to become its stdout. It must not receive the table. */
Test(output, closed_stdout_is_not_a_results_file)
{
    cli_opts_t closed = {.stdout_mode = CLI_OUT_CLOSED};
    const char *out = path_in_tmp("out");
    result_t r = RUN_WITH(&closed, "run", "-m", "single", "-n", "1k", "-r", "1", "--warmup", "0",
                          "--no-plot", "-o", out);

    cr_expect_eq(r.status, 0, "stderr: %s", r.err);
    result_free(&r);
    cr_expect_eq(csv_rows(out), 1);
    cr_expect_eq(count_in(out, "results.csv", "Machine:"), 0, "the table went into the CSV");
    cr_expect_eq(count_in(out, "results.json", "Machine:"), 0, "the table went into the JSON");
}

/* ------------------------------------------------------------------------
 * The chart
 */

Test(output, earlier_chart_goes_when_the_folder_is_written)
{
    const char *out = path_in_tmp("out");
    char path[256];
    result_t r;

    make_dir(out);
    for (size_t k = 0; k < NWRITTEN; k++) {
        snprintf(path, sizeof path, "%s/%s", out, written[k]);
        write_text(path, "an earlier run's file\n");
        snprintf(path, sizeof path, "%s/%s.tmp", out, written[k]);
        write_text(path, "a killed run's temporary\n");
    }
    r = RUN("run", "-m", "single", "-n", "1k", "-r", "1", "--warmup", "0", "--no-plot", "-o",
            out);
    cr_expect_eq(r.status, 0, "stderr: %s", r.err);
    result_free(&r);
    for (size_t k = 2; k < NWRITTEN; k++) {
        snprintf(path, sizeof path, "%s/%s", out, written[k]);
        cr_expect(!exists(path), "%s of an earlier run is still there", path);
    }
    cr_expect_eq(csv_rows(out), 1);
    assert_no_temporaries(out);
}

Test(output, missing_gnuplot_is_a_note)
{
    cli_opts_t no_gnuplot = {.path = "/nonexistent"};
    const char *out = path_in_tmp("out");
    result_t r = RUN_WITH(&no_gnuplot, "run", "-m", "single", "-n", "1k", "-r", "1", "--warmup",
                          "0", "-o", out);

    cr_expect_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.err, "chart skipped: gnuplot not found"), "stderr: %s", r.err);
    result_free(&r);
    cr_expect(!exists(path_in_tmp("out/chart.png")));
    cr_expect(!exists(path_in_tmp("out/chart.log")));
    cr_expect_eq(csv_rows(out), 1);
}

/* Make `dir` look empty to this process and its children: a tmpfs over it
 * in a mount namespace of their own. Returns false where the test may not
 * mount (not root, no CAP_SYS_ADMIN). */
static bool hide_folder(const char *dir)
{
    return geteuid() == 0 && unshare(CLONE_NEWNS) == 0 &&
           mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
           mount("tmpfs", dir, "tmpfs", MS_RDONLY, "size=4k") == 0;
}

/* The script is in the binary: a copy elsewhere draws the chart, also when
 * the source tree's plots/ (where the build used to send gnuplot) is empty. */
Test(output, chart_from_a_moved_binary)
{
    const char *source = getenv("GL_SOURCE_DIR"), *copy = path_in_tmp("gil-lab");
    char plots[512], buf[65536];
    FILE *in, *to;
    size_t got;
    bool hidden;
    result_t r;

    if (!have_gnuplot())
        cr_skip_test("gnuplot is not installed");
    cr_assert(source && *source, "GL_SOURCE_DIR must name the source tree (set by CTest)");
    in = fopen(binary(), "rb");
    to = fopen(copy, "wb");
    cr_assert(in && to);
    while ((got = fread(buf, 1, sizeof buf, in)) > 0)
        cr_assert_eq(fwrite(buf, 1, got, to), got);
    fclose(in);
    cr_assert_eq(fclose(to), 0);
    cr_assert_eq(chmod(copy, 0755), 0);
    snprintf(plots, sizeof plots, "%s/plots", source);
    hidden = hide_folder(plots);
    if (!hidden)
        cr_log_warn("cannot hide %s here: only the copy is checked", plots);

    setenv("GIL_LAB", copy, 1);
    r = RUN("run", "-m", "single", "-n", "1k", "-r", "1", "--warmup", "0", "-o",
            path_in_tmp("out"));
    if (hidden)
        umount2(plots, MNT_DETACH);
    cr_expect_eq(r.status, 0, "stderr: %s", r.err);
    result_free(&r);
    cr_expect(file_starts_with(path_in_tmp("out/chart.png"), "\x89PNG", 4));
    cr_expect(is_regular(path_in_tmp("out/chart.svg")));
}

Test(output, chart_title_carries_every_setting)
{
    const char *out = path_in_tmp("out");
    char *svg;
    result_t r;

    if (!have_gnuplot())
        cr_skip_test("gnuplot is not installed");
    r = RUN("run", "-w", "shared", "-P", "length=7", "--no-immortal", "--switch-interval", "1000",
            "--pin", "cores", "--sequential", "-m", "single,threads", "-j", "1", "-n", "2000",
            "-r", "1", "--warmup", "0", "-o", out);
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    result_free(&r);
    svg = slurp(path_in_tmp("out/chart.svg"));
    cr_expect_not_null(strstr(svg, "shared, n=2k, -P length=7, --no-immortal, "
                                   "--switch-interval 1000, --pin cores, --sequential"),
                       "title not found in chart.svg");
    free(svg);

    r = RUN("run", "-w", "shared", "-m", "single", "-n", "2000", "-r", "1", "--warmup", "0", "-o",
            out);
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    result_free(&r);
    svg = slurp(path_in_tmp("out/chart.svg"));
    cr_expect_not_null(strstr(svg, "shared, n=2k<"), "defaults add nothing to the title");
    free(svg);
}

/* A row of microseconds measures the clock: the table and, for the other
 * formats, stderr say so. One iteration, so that even a sanitizer build on a
 * busy machine stays far below the 5 ms line (1k once took 5.2 ms there). */
Test(output, short_rows_are_flagged)
{
    result_t r = RUN("run", "-m", "single", "-n", "1", "-r", "1", "--warmup", "0", "--no-plot",
                     "-o", path_in_tmp("out"));

    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.out, "  Warning: median "), "stdout: %s", r.out);
    cr_expect_not_null(strstr(r.out, "is below 5 ms: timer and start-up noise dominate"),
                       "stdout: %s", r.out);
    result_free(&r);
    r = RUN("run", "-m", "single", "-n", "1", "-r", "1", "--warmup", "0", "--no-plot",
            "--format", "csv", "-o", path_in_tmp("out"));
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.err, "gil-lab: note: countdown single gil pymalloc j=1: median "),
                       "stderr: %s", r.err);
    result_free(&r);
}
