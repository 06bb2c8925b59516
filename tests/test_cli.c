/* tests/test_cli.c: the gil-lab binary from the outside, as a user meets it
 * (the harness is tests/cli_fixture.h). The contract checked here:
 *
 *   - bad input: exit status 2, exactly one stderr line "gil-lab: ...",
 *     nothing on stdout, and no output folder created; the line names the
 *     option as it was typed and says what is wrong with it, and echoes the
 *     user's input escaped (no raw newline or escape sequence);
 *   - an option given twice: the last value counts, every value is checked;
 *   - every command line that README.md and the help texts show runs (for
 *     `run`, with options appended that shrink the work);
 *   - --version, --help, list, topo, dis, heap: exit 0, and dis shows the
 *     code that runs, heap takes binary byte sizes;
 *   - a small run: exit 0, stdout holds only the chosen format (a CSV header
 *     and one row, or one JSON document), and the folder holds
 *     results.csv and results.json that parse.
 *
 * What a run leaves in its folder (links, locks, full disks, readers that
 * leave, the chart) is tests/test_output.c's.
 */
#include "cli_fixture.h"
#include "json_check.h"

#define CSV_HEADER                                                             \
    "workload,mode,guard,workers,size,repeats,wall_median_s,wall_mean_s,"      \
    "wall_stddev_s,wall_min_s,wall_max_s,cpu_user_s,cpu_sys_s,max_rss_kib,"    \
    "speedup,allocator,immortal,switch_interval_us,warmup,startup_s,"          \
    "worker_min_s,worker_max_s,vol_ctx_switches,invol_ctx_switches,"           \
    "gil_switches,gil_forced_drops,gil_drop_requests,gil_wait_s,rc_local,"     \
    "rc_shared,brc_queued,brc_merged,objects_allocated,arena_bytes_peak,"      \
    "outliers,pin,params,rss_sum_kib,gc_collections_0,gc_collections_1,gc_collections_2,"  \
    "gc_collected_0,gc_collected_1,gc_collected_2,gc_examined,gc_uncollectable,"  \
    "gc_pause_total_s,gc_pause_p50_s,gc_pause_p99_s,gc_pause_max_s,gc_unreachable,gc,"  \
    "gc_thresholds,wall_cv,wall_mad_s,median_ci_low_s,median_ci_high_s,"      \
    "median_ci_level,speedup_ci_low,speedup_ci_high,speedup_ci_level,baseline," \
    "cpu_share,warnings,traced_peak_bytes,traced_peak_blocks,pss_sum_kib,smaps_pss_before_kib,"  \
    "smaps_pss_after_kib,smaps_private_dirty_before_kib,smaps_private_dirty_after_kib,"  \
    "smaps_shared_clean_before_kib,smaps_shared_clean_after_kib,smaps_shared_dirty_before_kib,"  \
    "smaps_shared_dirty_after_kib,gc_pause_p50_0_s,gc_pause_p99_0_s,gc_pause_max_0_s,"  \
    "gc_pause_p50_1_s,gc_pause_p99_1_s,gc_pause_max_1_s,gc_pause_p50_2_s,gc_pause_p99_2_s,"  \
    "gc_pause_max_2_s,"  \
    "check_interval,blocking_calls,blocked_s,gil_switch_wait_s,"    \
    "gil_futile_wakeups,gil_share_min,gil_share_max,gil_jain,starved_workers,"    \
    "requests,throughput_rps,lat_p50_s,lat_p90_s,lat_p99_s,lat_p999_s,lat_max_s," \
    "server_gil_wait_s,trace_events,trace_dropped,gil_wait_min_s,gil_wait_max_s," \
    "gc_examined_0,gc_examined_1,gc_examined_2,gc_uncollectable_0,gc_uncollectable_1," \
    "gc_uncollectable_2,gc_pause_total_0_s,gc_pause_total_1_s,gc_pause_total_2_s," \
    "traced_bytes_end,traced_blocks_end,heap_blocks_end,small_bytes_end,arenas_end,arenas_peak," \
    "gc_freeze"

/* No .timeout: Criterion 2.4's watchdog can leak under ASan (see
 * tests/test_gil.c); CTest's TIMEOUT catches a hang instead. */
TestSuite(cli, .init = make_tmpdir, .fini = remove_tmpdir);

Test(cli, json_validator_self_check)
{
    cr_assert(json_valid("{\"a\": [1, -2.5e3, true, null, \"x\\u00e9\"], \"b\": {}}"));
    cr_assert(!json_valid("{\"a\": nan}"));
    cr_assert(!json_valid("{\"a\": 1,}"));
    cr_assert(!json_valid("{} {}"));
}

/* ------------------------------------------------------------------------
 * Bad input: exit 2, one line, nothing created
 */

Test(cli, unknown_names)
{
    BAD_RUN("-w", "nosuch");
    BAD_RUN("-m", "nosuch");
    BAD_RUN("-g", "nosuch");
    BAD_RUN("-a", "nosuch");
    BAD_RUN("--format", "xml");
    BAD_RUN("--pin", "everywhere");
}

Test(cli, unknown_name_lists_valid_names)
{
    result_t r = RUN("run", "-m", "nosuch", "-o", path_in_tmp("out"));
    cr_expect_not_null(strstr(r.err, "single"), "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.err, "threads"), "stderr: %s", r.err);
    assert_usage_error(r, "-m nosuch");
}

Test(cli, bad_workers)
{
    BAD_RUN("-j", "0");
    BAD_RUN("-j", "1025");
    BAD_RUN("-j", "-1");
    BAD_RUN("-j", "two");
    BAD_RUN("-j", "2,2");
    BAD_RUN("-j", "1,,2");
}

Test(cli, bad_size)
{
    BAD_RUN("-n", "0");
    BAD_RUN("-n", "-5");
    BAD_RUN("-n", "abc");
    BAD_RUN("-n", "99999999999999999999");
    BAD_RUN("-n", "1e30");
    BAD_RUN("-n", "2.5");
    BAD_RUN("-n", "");
}

Test(cli, bad_repeat_and_warmup)
{
    BAD_RUN("-r", "0");
    BAD_RUN("-r", "1001");
    BAD_RUN("-r", "x");
    BAD_RUN("--warmup", "-1");
    BAD_RUN("--switch-interval", "0");
}

Test(cli, bad_lists)
{
    BAD_RUN("-m", "single,single");
    BAD_RUN("-m", "single,,threads");
    BAD_RUN("-g", "gil,");
}

Test(cli, bad_params)
{
    BAD_RUN("-P", "nosuch=1");
    BAD_RUN("-P", "novalue");
    BAD_RUN("-P", "=1");
}


/* Find a workload parameter in `gil-lab list` ("-P NAME=N ... range MIN..MAX)")
 * and give it a value just out of bounds. */
Test(cli, param_out_of_bounds)
{
    result_t r = RUN("list");
    char workload[64] = "", name[64] = "", value[96] = "";
    long long min, max;

    cr_assert_eq(r.status, 0);
    for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n")) {
        const char *p, *range;
        if (line[0] == ' ' && line[1] == ' ' && line[2] != ' ')
            sscanf(line, " %63s", workload);
        p = strstr(line, "-P ");
        range = strstr(line, "range ");
        if (p && range && sscanf(p, "-P %63[^=]=", name) == 1 &&
            sscanf(range, "range %lld..%lld", &min, &max) == 2) {
            snprintf(value, sizeof value, "%s=%lld", name,
                     max < 9223372036854775807LL ? max + 1 : min - 1);
            break;
        }
    }
    result_free(&r);
    if (!value[0])
        cr_skip_test("no workload has parameters");
    BAD_RUN("-w", workload, "-P", value);
    snprintf(value, sizeof value, "%s=abc", name);
    BAD_RUN("-w", workload, "-P", value);
}

Test(cli, unknown_options_and_stray_arguments)
{
    BAD_RUN("--bogus");
    BAD_RUN("-x");
    BAD_RUN("stray");
    BAD_RUN("-n", "1k", "extra", "args");
    assert_usage_error(RUN("run", "-o", path_in_tmp("out"), "-w"), "missing value");
    assert_usage_error(RUN("frobnicate"), "unknown command");
    assert_usage_error(RUN("--frobnicate"), "unknown global option");
    assert_usage_error(RUN("list", "extra"), "list extra");
    assert_usage_error(RUN("topo", "--bogus"), "topo --bogus");
}

/* The stderr line of a usage error holds each of the phrases. */
static void assert_usage_says(result_t r, const char *what, const char *const *phrases)
{
    for (const char *const *p = phrases; *p; p++)
        cr_expect_not_null(strstr(r.err, *p), "%s: stderr lacks \"%s\": %s", what, *p, r.err);
    assert_usage_error(r, what);
}

#define USAGE_SAYS(r, ...) assert_usage_says(r, #r, (const char *const[]){__VA_ARGS__, NULL})

Test(cli, option_errors_name_the_option_as_typed)
{
    const char *out = path_in_tmp("out");

    USAGE_SAYS(RUN("run", "--no-plot=1", "-o", out), "--no-plot takes no value", "'--no-plot=1'",
               "see gil-lab run --help");
    USAGE_SAYS(RUN("run", "--interleave=yes", "-o", out), "--interleave takes no value");
    USAGE_SAYS(RUN("run", "--no-immortal=0", "-o", out), "--no-immortal takes no value");
    USAGE_SAYS(RUN("run", "--no-p=1", "-o", out), "--no-plot takes no value", "'--no-p=1'");
    USAGE_SAYS(RUN("run", "--help=x", "-o", out), "--help takes no value", "'--help=x'");
    USAGE_SAYS(RUN("run", "--no", "-o", out), "ambiguous option '--no'", "--no-immortal",
               "--no-plot");
    USAGE_SAYS(RUN("run", "-o", out, "--size"), "--size needs a value");
    USAGE_SAYS(RUN("run", "-o", out, "-r"), "-r needs a value");
    USAGE_SAYS(RUN("heap", "-q5"), "unknown option '-q'", "see gil-lab heap --help");
    USAGE_SAYS(RUN("heap", "--objects"), "--objects needs a value");
    USAGE_SAYS(RUN("dis", "--param"), "--param needs a value");
    USAGE_SAYS(RUN("list", "--help=2"), "--help takes no value", "see gil-lab list --help");
    USAGE_SAYS(RUN("--version=1"), "--version takes no value", "see gil-lab --help");
    USAGE_SAYS(RUN("--"), "unknown option '--'");
}

/* Input echoed in an error cannot split the line or reach the terminal
 * raw: control characters come out as C escapes. */
Test(cli, echoed_input_is_escaped)
{
    const char *out = path_in_tmp("out");
    result_t r = RUN("run", "-g", "gil\n\x1b[31mred", "-o", out);

    cr_expect_null(memchr(r.err, '\x1b', r.errlen), "raw ESC on stderr: %s", r.err);
    cr_expect_not_null(strstr(r.err, "unknown guard 'gil\\n\\x1b[31mred'"), "stderr: %s", r.err);
    assert_usage_error(r, "-g with a newline and an escape sequence");
    USAGE_SAYS(RUN("run", "-o", out, "--bogus\x07"), "unknown option '--bogus\\x07'");
    USAGE_SAYS(RUN("frob\rnicate"), "unknown command 'frob\\rnicate'");
    USAGE_SAYS(RUN("dis", "no\nsuch"), "unknown workload 'no\\nsuch'");
}

/* One rule for every option given twice: the last value counts, and every
 * value given is checked. */
Test(cli, option_given_twice_checks_every_value)
{
    BAD_RUN("-n", "abc", "-n", "2k");
    BAD_RUN("-n", "2k", "-n", "abc");
    BAD_RUN("-r", "0", "-r", "1");
    BAD_RUN("--warmup", "x", "--warmup", "0");
    BAD_RUN("-j", "0", "-j", "2");
    BAD_RUN("-m", "nosuch", "-m", "single");
    BAD_RUN("-g", "nosuch", "-g", "gil");
    BAD_RUN("-a", "nosuch", "-a", "malloc");
    BAD_RUN("-w", "nosuch", "-w", "countdown");
    BAD_RUN("--pin", "x", "--pin", "none");
    BAD_RUN("--format", "x", "--format", "csv");
    BAD_RUN("--switch-interval", "0", "--switch-interval", "5000");
    BAD_RUN("-w", "shared", "-P", "length=0", "-P", "length=7");
    BAD_RUN("-o", "", "-o", path_in_tmp("out"));
    USAGE_SAYS(RUN("heap", "--pool-size", "3000", "--pool-size", "4k"), "--pool-size",
               "not a power of two");
}

Test(cli, option_given_twice_takes_the_last_value)
{
    result_t r = RUN("run", "-w", "alloc", "-w", "shared", "-m", "threads", "-m", "single", "-n",
                     "50M", "-n", "2000", "-r", "5", "-r", "2", "-P", "length=3", "-P", "length=5",
                     "--warmup", "0", "--format", "json", "--format", "csv", "--no-plot", "-o",
                     path_in_tmp("first"), "-o", path_in_tmp("out"));

    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.out, "\nshared,single,gil,1,2000,2,"), "stdout: %s", r.out);
    cr_expect_not_null(strstr(r.out, ",length=5,"), "stdout: %s", r.out);
    cr_expect(exists(path_in_tmp("out/results.csv")));
    cr_expect(!exists(path_in_tmp("first")), "the first -o was used");
    result_free(&r);
}

/* The CLI and the runner share one limit (RUN_MAX_SWITCH_US): the CLI
 * refuses what the runner would, naming the option. */
Test(cli, switch_interval_limit_is_the_runners)
{
    const char *out = path_in_tmp("out");
    result_t r;

    USAGE_SAYS(RUN("run", "--switch-interval", "10000001", "-o", out),
               "gil-lab: --switch-interval: '10000001' is out of range (1 to 10000000)");
    r = RUN("run", "--switch-interval", "10000000", "-m", "single", "-n", "1k", "-r", "1",
            "--warmup", "0", "--no-plot", "-o", out);
    cr_expect_eq(r.status, 0, "stderr: %s", r.err);
    result_free(&r);
}

Test(cli, rows_the_core_refuses)
{
    /* guard none has no lock: the core refuses it with threads */
    BAD_RUN("-g", "none", "-m", "threads", "-j", "2", "-n", "1k");
}

Test(cli, single_only_guard_in_a_cross_product_is_skipped_with_a_note)
{
    const char *out = path_in_tmp("out");
    result_t r = RUN("run", "-w", "countdown", "-g", "none,gil", "-m", "single,threads", "-j", "2",
                     "-n", "10k", "-r", "1", "--warmup", "0", "--format", "csv", "--no-plot", "-o", out);

    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.err, "skipping countdown threads none"), "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.out, "\ncountdown,single,none,1,"), "stdout: %s", r.out);
    cr_expect_not_null(strstr(r.out, "\ncountdown,single,gil,1,"), "stdout: %s", r.out);
    cr_expect_not_null(strstr(r.out, "\ncountdown,threads,gil,2,"), "stdout: %s", r.out);
    cr_expect_null(strstr(r.out, "countdown,threads,none"), "stdout: %s", r.out);
    result_free(&r);
}

Test(cli, interleave_runs_every_row)
{
    const char *out = path_in_tmp("out");
    result_t r = RUN("run", "-w", "countdown", "-g", "gil,atomic", "-m", "single,pool", "-j", "2",
                     "-n", "10k", "-r", "2", "--warmup", "1", "--interleave", "--format", "csv",
                     "--no-plot", "-o", out);
    int lines = 0;

    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    for (const char *p = r.out; *p; p++)
        lines += *p == '\n';
    cr_expect_eq(lines, 5, "header + 4 rows: %s", r.out);
    cr_expect_not_null(strstr(r.out, "\ncountdown,pool,atomic,2,10000,2,"), "stdout: %s", r.out);
    result_free(&r);
}

Test(cli, unwritable_output_folder)
{
    const char *file = path_in_tmp("regular-file");
    char under_file[160];
    FILE *f = fopen(file, "w");

    cr_assert_not_null(f);
    fclose(f);
    snprintf(under_file, sizeof under_file, "%s/sub", file);
    assert_usage_error(RUN("run", "-m", "single", "-n", "1k", "-r", "1", "--warmup", "0", "-o",
                           "/proc/gil-lab-x"),
                       "-o /proc/gil-lab-x");
    assert_usage_error(RUN("run", "-m", "single", "-n", "1k", "-r", "1", "--warmup", "0", "-o",
                           under_file),
                       "-o under a regular file");
    assert_usage_error(RUN("run", "-m", "single", "-n", "1k", "-r", "1", "--warmup", "0", "-o",
                           file),
                       "-o a regular file");
}

/* ------------------------------------------------------------------------
 * Informational commands
 */

Test(cli, version)
{
    result_t r = RUN("--version");
    cr_expect_eq(r.status, 0);
    cr_expect_eq(strncmp(r.out, "gil-lab ", 8), 0, "stdout: %s", r.out);
    cr_expect_eq(r.errlen, 0);
    result_free(&r);
}

Test(cli, help_everywhere)
{
    static const char *const cmds[][3] = {
        {"--help", NULL},      {"run", "--help"},     {"list", "--help"},
        {"topo", "--help"},    {"dis", "--help"},     {"heap", "--help"},
        {"compare", "--help"}, {"plot", "--help"},    {"report", "--help"},
        {"calibrate", "--help"},
        {"sizes", "--help"},   {"refs", "--help"},
    };
    for (size_t k = 0; k < sizeof cmds / sizeof cmds[0]; k++) {
        result_t r = cli_run(NULL, cmds[k]);
        cr_expect_eq(r.status, 0, "%s %s", cmds[k][0], cmds[k][1] ? cmds[k][1] : "");
        cr_expect_gt(r.outlen, 0);
        cr_expect_eq(r.errlen, 0, "stderr: %s", r.err);
        result_free(&r);
    }
}

Test(cli, list_names_every_registry)
{
    result_t r = RUN("list");
    cr_expect_eq(r.status, 0);
    cr_expect_not_null(strstr(r.out, "countdown"));
    cr_expect_not_null(strstr(r.out, "processes"));
    cr_expect_not_null(strstr(r.out, "biased"));
    cr_expect_not_null(strstr(r.out, "mimalloc"));
    result_free(&r);
}

Test(cli, topo)
{
    result_t r = RUN("topo");
    cr_expect_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.out, "--pin cores"));
    result_free(&r);
}

/* dis runs -P as run does and shows the code that runs: the parameter's
 * value in the source, where the bytecode loads it as a constant. */
Test(cli, dis_shows_the_code_with_its_parameters)
{
    result_t r = RUN("dis", "shared", "-P", "length=7");

    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.out, "x = L[n % 7]"), "stdout: %s", r.out);
    cr_expect_not_null(strstr(r.out, "LOAD_CONST              1 (7)"), "stdout: %s", r.out);
    cr_expect_null(strstr(r.out, "length"), "a name the code does not load: %s", r.out);
    result_free(&r);

    r = RUN("dis", "alloc", "--param", "k=10");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.out, "range(10)"), "stdout: %s", r.out);
    cr_expect_not_null(strstr(r.out, "n -= 10"), "stdout: %s", r.out);
    result_free(&r);

    r = RUN("dis");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.out, "x = L[n % 64]"), "defaults: %s", r.out);
    result_free(&r);

    USAGE_SAYS(RUN("dis", "-P", "length=7"), "unknown parameter 'length'", "countdown");
    USAGE_SAYS(RUN("dis", "shared", "-P", "length=0"), "-P length", "out of range");
    USAGE_SAYS(RUN("dis", "shared", "-P", "nosuch=1"), "unknown parameter 'nosuch'");
}

/* Byte sizes take binary suffixes; a bad geometry names its option and the
 * rule it breaks. */
Test(cli, heap_geometry)
{
    result_t r = RUN("heap", "-n", "2000", "--arena-size", "256k", "--pool-size", "4k");

    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.out, "256 KiB"), "stdout: %s", r.out);
    result_free(&r);
    r = RUN("heap", "-n", "2000", "--arena-size", "1MiB", "--pool-size", "16KiB");
    cr_expect_eq(r.status, 0, "stderr: %s", r.err);
    result_free(&r);

    USAGE_SAYS(RUN("heap", "--arena-size", "300000"), "--arena-size", "not a power of two");
    USAGE_SAYS(RUN("heap", "--arena-size", "256000"), "--arena-size", "not a power of two");
    USAGE_SAYS(RUN("heap", "--pool-size", "1k"), "--pool-size", "below the minimum of 4 KiB");
    USAGE_SAYS(RUN("heap", "--arena-size", "128M"), "--arena-size", "above the maximum of 64 MiB");
    USAGE_SAYS(RUN("heap", "--arena-size", "8k"), "--arena-size", "multiple of the pool size");
    USAGE_SAYS(RUN("heap", "--pool-size", "4.5k"), "--pool-size", "not a byte size");
    USAGE_SAYS(RUN("heap", "-n", "1"), "-n/--objects", "out of range");
    USAGE_SAYS(RUN("heap", "stray"), "unexpected argument 'stray'");
}

/* ------------------------------------------------------------------------
 * Every command line the documentation shows
 */

#define MAX_DOC_COMMANDS 64

typedef struct doc_commands {
    char line[MAX_DOC_COMMANDS][256];
    char where[MAX_DOC_COMMANDS][64];
    int n;
} doc_commands_t;

/* A synopsis, not a command: a placeholder word (DIR, NAME=V, N), an
 * optional part ([...]), an ellipsis or a choice (none|cores). */
static bool is_synopsis(const char *line)
{
    char copy[256], *save = NULL;

    if (strpbrk(line, "[]<>|") || strstr(line, "...") || strstr(line, "…"))
        return true;
    snprintf(copy, sizeof copy, "%s", line);
    for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
        if (isupper((unsigned char)w[0]) && strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_=") ==
                                                strlen(w))
            return true;
    return false;
}

/* Record text[0..len) when it is a gil-lab command line. */
static void add_command(doc_commands_t *d, const char *text, size_t len, const char *where)
{
    char line[256];

    while (len && isspace((unsigned char)*text))
        text++, len--;
    while (len && isspace((unsigned char)text[len - 1]))
        len--;
    if (len >= sizeof line || strncmp(text, "gil-lab", 7) != 0 || (len > 7 && text[7] != ' '))
        return;
    snprintf(line, sizeof line, "%.*s", (int)len, text);
    /* Bare `gil-lab` is the default experiment; `gil-lab --help` shows its
     * argv, which runs below as a `run` line. */
    if (strcmp(line, "gil-lab") == 0 || is_synopsis(line))
        return;
    for (int k = 0; k < d->n; k++)
        if (strcmp(d->line[k], line) == 0)
            return;
    cr_assert_lt(d->n, MAX_DOC_COMMANDS, "more documented commands than the test holds");
    snprintf(d->line[d->n], sizeof d->line[0], "%s", line);
    snprintf(d->where[d->n], sizeof d->where[0], "%s", where);
    d->n++;
}

/* The `...` spans of prose (a span may cross a line break: newlines count
 * as blanks). */
static void add_spans(doc_commands_t *d, char *prose, const char *where)
{
    for (char *c = prose; *c; c++)
        if (*c == '\n')
            *c = ' ';
    for (const char *p = strchr(prose, '`'); p; p = strchr(p, '`')) {
        const char *end = strchr(p + 1, '`');
        if (!end)
            return;
        add_command(d, p + 1, (size_t)(end - p - 1), where);
        p = end + 1;
    }
}

/* Markdown: the lines of ```sh blocks (comments dropped), and the `...`
 * spans of everything outside code blocks. */
static void scan_markdown(doc_commands_t *d, const char *text, const char *where)
{
    char *prose = calloc(strlen(text) + 1, 1);
    size_t used = 0;
    bool fence = false, shell = false;

    cr_assert_not_null(prose);
    for (const char *line = text; *line;) {
        size_t len = strcspn(line, "\n");
        if (strncmp(line, "```", 3) == 0) {
            fence = !fence;
            shell = fence && len == 5 && strncmp(line + 3, "sh", 2) == 0;
        } else if (shell) {
            size_t code = strcspn(line, "#\n");
            add_command(d, line, code, where);
        } else if (!fence) {
            memcpy(prose + used, line, len);
            used += len;
            prose[used++] = '\n';
        }
        line += len + (line[len] == '\n');
    }
    prose[used] = '\0';
    add_spans(d, prose, where);
    free(prose);
}

/* A help text: indented example lines (up to a description column of three
 * blanks) and `...` spans. */
static void scan_help(doc_commands_t *d, char *text, const char *where)
{
    char *save = NULL;

    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        const char *start = line + strspn(line, " "), *gap = strstr(start, "   ");
        if (start > line && strncmp(start, "gil-lab", 7) == 0)
            add_command(d, start, gap ? (size_t)(gap - start) : strlen(start), where);
        add_spans(d, line, where);
    }
}

/* Run one documented line in cwd; `run` and `calibrate` lines get options
 * appended that shrink the work (the last value of an option counts), the
 * size only when the line does not set one (cow's -n counts passes over a
 * whole heap, few already). */
static void run_documented(const char *line, const char *where, int index, const char *cwd)
{
    static const char *const shrink[] = {"-n", "2000", "-r", "1", "--warmup", "0", "--no-plot",
                                         "-o"};
    char copy[256], out[64], *save = NULL;
    const char *args[CLI_MAX_ARGS + 1];
    cli_opts_t opts = {.cwd = cwd};
    int n = 0;
    bool shrinks, help = false, sized = false;
    result_t r;

    snprintf(copy, sizeof copy, "%s", line);
    strtok_r(copy, " ", &save);   /* "gil-lab" */
    for (char *w = strtok_r(NULL, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        cr_assert_lt(n, CLI_MAX_ARGS - 12);
        help |= strcmp(w, "--help") == 0;
        sized |= strcmp(w, "-n") == 0;
        args[n++] = w;
    }
    shrinks = n > 0 && (strcmp(args[0], "run") == 0 || strcmp(args[0], "calibrate") == 0);
    snprintf(out, sizeof out, "doc-%d", index);
    if (shrinks && !help) {
        bool resume = false;
        for (int k = 0; k < n; k++)
            resume |= strcmp(args[k], "--resume") == 0;
        /* --resume names its own folder: -o must not differ from it */
        for (size_t k = sized ? 2 : 0; k < sizeof shrink / sizeof shrink[0] - (resume ? 1 : 0); k++)
            args[n++] = shrink[k];
        if (!resume)
            args[n++] = path_in_tmp(out);
    }
    args[n] = NULL;
    cr_log_info("%s: %s", where, line);
    r = cli_run(&opts, args);   /* a picture a line names lands in cwd */
    cr_expect_eq(r.status, 0, "%s: `%s` exited %d: %s", where, line, r.status, r.err);
    result_free(&r);
}

/* What the documented compare, plot and report lines read: results/gil and
 * results/biased, tiny runs, and results/convoy, a tiny convoy run with
 * --trace and --memory-trace, in cwd (the documented run lines write
 * elsewhere: run_documented gives them -o). */
static void documented_results(const char *cwd)
{
    static const char *const guards[] = {"gil", "biased"};
    char dir[256];
    result_t convoy;

    snprintf(dir, sizeof dir, "%s/results/convoy", cwd);
    convoy = RUN("run", "-w", "convoy", "-m", "threads", "-n", "200", "-r", "1", "--warmup", "0", "--trace",
                 "--memory-trace", "--no-plot", "-o", dir);
    cr_assert_eq(convoy.status, 0, "stderr: %s", convoy.err);
    result_free(&convoy);

    for (size_t k = 0; k < 2; k++) {
        result_t r;
        snprintf(dir, sizeof dir, "%s/results/%s", cwd, guards[k]);
        r = RUN("run", "-g", guards[k], "-m", "single,threads", "-j", "1,2", "-n", "2000", "-r",
                "2", "--warmup", "0", "-o", dir);
        cr_assert_eq(r.status, 0, "stderr: %s", r.err);
        result_free(&r);
    }
}

Test(cli, every_documented_command_runs)
{
    static const char *const helps[][3] = {
        {"--help", NULL},      {"run", "--help"},  {"list", "--help"},
        {"topo", "--help"},    {"dis", "--help"},  {"heap", "--help"},
        {"compare", "--help"}, {"plot", "--help"}, {"report", "--help"},
        {"calibrate", "--help"},
        {"sizes", "--help"},   {"refs", "--help"},
    };
    static doc_commands_t d;
    const char *source = getenv("GL_SOURCE_DIR");
    char readme[512], cwd[160], *text;

    cr_assert(source && *source, "GL_SOURCE_DIR must name the source tree (set by CTest)");
    snprintf(readme, sizeof readme, "%s/README.md", source);
    text = slurp(readme);
    scan_markdown(&d, text, "README.md");
    free(text);
    for (size_t k = 0; k < sizeof helps / sizeof helps[0]; k++) {
        result_t r = cli_run(NULL, helps[k]);
        char where[64];
        cr_assert_eq(r.status, 0);
        snprintf(where, sizeof where, "gil-lab %s%s%s", helps[k][0], helps[k][1] ? " " : "",
                 helps[k][1] ? helps[k][1] : "");
        scan_help(&d, r.out, where);
        result_free(&r);
    }
    /* README: the run lines, list, dis, heap, topo, --version, compare,
     * plot, report, calibrate; the helps: the default experiment, the
     * last-value example, dis, heap, and each command's example. */
    cr_assert_geq(d.n, 16, "only %d documented command lines found", d.n);
    snprintf(cwd, sizeof cwd, "%s", path_in_tmp("docs"));
    cr_assert_eq(mkdir(cwd, 0777), 0);
    documented_results(cwd);
    for (int k = 0; k < d.n; k++)
        run_documented(d.line[k], d.where[k], k, cwd);
}

/* ------------------------------------------------------------------------
 * Small runs
 */

Test(cli, csv_run_writes_files_and_only_csv_on_stdout)
{
    const char *out = path_in_tmp("out");
    char csv[160], json[160];
    result_t r = RUN("run", "-w", "countdown", "-m", "single", "-n", "100k", "-r", "1",
                     "--warmup", "0", "--format", "csv", "-o", out);
    char *line2, *end, *text;

    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_assert_eq(strncmp(r.out, CSV_HEADER "\n", strlen(CSV_HEADER) + 1), 0, "stdout: %s", r.out);
    line2 = r.out + strlen(CSV_HEADER) + 1;
    end = strchr(line2, '\n');
    cr_assert_not_null(end, "no data row: %s", r.out);
    cr_assert_eq(end[1], '\0', "more than header + 1 row: %s", r.out);
    cr_assert_eq(strncmp(line2, "countdown,single,gil,1,100000,1,", 32), 0, "row: %s", line2);
    result_free(&r);

    snprintf(csv, sizeof csv, "%s/results.csv", out);
    snprintf(json, sizeof json, "%s/results.json", out);
    text = slurp(csv);
    cr_expect_eq(strncmp(text, CSV_HEADER "\n", strlen(CSV_HEADER) + 1), 0);
    free(text);
    text = slurp(json);
    cr_expect(json_valid(text), "results.json is not valid JSON");
    cr_expect_not_null(strstr(text, "\"benchmarks\""));
    cr_expect_not_null(strstr(text, "\"context\""));
    free(text);
}

Test(cli, json_run_prints_one_document)
{
    const char *out = path_in_tmp("out");
    result_t r = RUN("run", "-m", "single,threads", "-j", "2", "-n", "100k", "-r", "2",
                     "--warmup", "0", "--format", "json", "--no-plot", "-o", out);

    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect(json_valid(r.out), "stdout is not one JSON document: %s", r.out);
    cr_expect_not_null(strstr(r.out, "\"name\": \"countdown/threads/gil/"));
    cr_expect_not_null(strstr(r.out, "\"speedup\": "));
    result_free(&r);
}

Test(cli, table_run)
{
    result_t r = RUN("run", "-m", "single,threads", "-n", "100k", "-r", "2", "--warmup", "0",
                     "--no-plot", "-o", path_in_tmp("out"));

    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.out, "Machine: "));
    cr_expect_not_null(strstr(r.out, "Time (median ± σ):"));
    cr_expect_not_null(strstr(r.out, "Summary"));
    cr_expect(exists(path_in_tmp("out/results.csv")));
    result_free(&r);
}

/* A parameter with named values takes one of them, nothing else (not even
 * its index), and says which. */
Test(cli, named_param_values)
{
    USAGE_SAYS(RUN("run", "-w", "cow", "-P", "heap=nope"), "-P heap", "'nope' is not one of plain|frozen|immortal");
    USAGE_SAYS(RUN("run", "-w", "alloc", "-P", "form=1"), "'1' is not one of churn|list|gen");
    result_t r = RUN("list");
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "-P form=churn|list|gen") != NULL, "list names the values: %s", r.out);
    cr_assert(strstr(r.out, "(default churn)") != NULL);
    result_free(&r);
    r = RUN("dis", "alloc", "-P", "form=gen");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "squares_gen") != NULL, "%s", r.out);
    result_free(&r);
}

/* An immortalised heap needs immortal objects: under --no-immortal no
 * refcount operation tests for them, so the readers would count the
 * "immortal" objects (and, under atomic, free them while L holds them). */
Test(cli, immortal_heap_needs_immortal_objects)
{
    static const char *const guards[] = {"gil", "atomic", "biased"};
    for (size_t i = 0; i < sizeof guards / sizeof guards[0]; i++)
        USAGE_SAYS(RUN("run", "-w", "cow", "-P", "heap=immortal", "--no-immortal", "-g", guards[i], "-m",
                       "single", "-n", "1", "-P", "objects=1000", "-r", "1", "--warmup", "0", "--no-plot",
                       "-o", path_in_tmp("out")),
                   "heap=immortal", "--no-immortal");
}

/* The sampling interval is checked like every count. */
Test(cli, sample_interval_bounds)
{
    USAGE_SAYS(RUN("run", "--memory-trace", "--sample-interval", "0"), "--sample-interval");
    USAGE_SAYS(RUN("run", "--memory-trace", "--sample-interval", "1001"), "--sample-interval");
    USAGE_SAYS(RUN("run", "--sample-interval", "5ms"), "--sample-interval");
    USAGE_SAYS(RUN("run", "--sample-interval", "5"), "--sample-interval", "--memory-trace");
}

/* ------------------------------------------------------------------------
 * Issue 9: blocking calls, convoy, gil-old, the GIL trace
 */

Test(cli, bad_trace_convoy_and_gil_old_options)
{
    BAD_RUN("--check-interval", "0");
    BAD_RUN("--check-interval", "1000001");
    BAD_RUN("--trace=0");
    BAD_RUN("--trace=lots");
    BAD_RUN("--trace-window", "0");
    BAD_RUN("--trace-window", "5:0");
    BAD_RUN("--trace-window", "x:10");
    BAD_RUN("--trace-window", "");
    BAD_RUN("-w", "convoy", "-j", "2");
    BAD_RUN("-w", "convoy", "-P", "cpu_threads=64");
    BAD_RUN("-w", "convoy", "-P", "cpu_threads=-1");
    BAD_RUN("-w", "convoy", "-P", "rate=-1");
    BAD_RUN("-w", "convoy", "-P", "timeout_ms=0");
    BAD_RUN("-w", "convoy", "-n", "5");
    BAD_RUN("-w", "convoy", "-m", "pool");
    BAD_RUN("-w", "io", "-P", "block_us=0");
    BAD_RUN("-w", "io", "-P", "work=-1");
}

/* A traced convoy run: the pool row is skipped with a note, the table
 * has the client's figures, the folder the trace, its timeline and the
 * latency chart. */
Test(cli, traced_convoy_writes_trace_timeline_and_latency)
{
    const char *out = path_in_tmp("out");
    char path[200];
    result_t r = RUN("run", "-w", "convoy", "-m", "threads,pool", "-n", "100", "-r", "1", "--warmup", "0",
                     "--trace", "--trace-window", "10:50", "-o", out);
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_assert(strstr(r.err, "note: skipping mode pool: convoy does not run in it") != NULL, "%s", r.err);
    cr_assert(strstr(r.out, "Requests:") && strstr(r.out, "latency p50") && strstr(r.out, "GIL share:") &&
                  strstr(r.out, "Trace:"),
              "%s", r.out);
    result_free(&r);
    snprintf(path, sizeof path, "%s/trace-1.json", out);
    char *text = slurp(path);
    cr_expect(json_valid(text), "trace-1.json is not valid JSON");
    cr_expect_not_null(strstr(text, "\"worker 0 (server)\""));
    free(text);
    static const char *const files[] = {"timeline-1.png", "timeline-1.svg", "timeline-1.dat", "latency.png",
                                        "latency.svg"};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        snprintf(path, sizeof path, "%s/%s", out, files[k]);
        cr_expect(exists(path), "%s was not written", files[k]);
    }
}

/* io beside its single row draws throughput.png (single ÷ row); a sweep
 * without a single row has nothing to draw it from. */
Test(cli, throughput_chart_needs_a_single_row)
{
    const char *out = path_in_tmp("out"), *other = path_in_tmp("other");
    char path[200];
    result_t r = RUN("run", "-w", "io", "-m", "single,threads", "-j", "2", "-n", "40", "-P", "block_us=100",
                     "-r", "1", "--warmup", "0", "-o", out);
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    result_free(&r);
    snprintf(path, sizeof path, "%s/throughput.png", out);
    cr_expect(exists(path), "throughput.png was not drawn");
    snprintf(path, sizeof path, "%s/throughput.dat", out);
    char *text = slurp(path);
    cr_expect(strstr(text, "\"threads / j=2\"") != NULL, "%s", text);
    free(text);

    r = RUN("run", "-w", "io", "-m", "threads", "-j", "2", "-n", "40", "-P", "block_us=100", "-r", "1",
            "--warmup", "0", "-o", other);
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    result_free(&r);
    snprintf(path, sizeof path, "%s/throughput.png", other);
    cr_expect(!exists(path), "no single row, yet a throughput chart");
}

/* --gc-freeze: accepted, recorded in the CSV and in the row's name, and
 * read back from results.json (compare of the folder with itself matches
 * the row). */
Test(cli, gc_freeze_is_recorded)
{
    const char *out = path_in_tmp("out");
    result_t r = RUN("run", "-w", "shared", "-m", "single", "-n", "2000", "-r", "1", "--warmup", "0",
                     "--gc-freeze", "--format", "csv", "--no-plot", "-o", out);
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect(r.out[strlen(r.out) - 1] == '\n' && strstr(r.out, ",true\n") != NULL, "gc_freeze true: %s", r.out);
    result_free(&r);
    char *json = slurp(path_in_tmp("out/results.json"));
    cr_expect_not_null(strstr(json, "/gc:freeze"), "the row's name says it");
    cr_expect_not_null(strstr(json, "\"gc_freeze\": true"), "the configuration says it");
    free(json);
    r = RUN("compare", out, out);
    cr_expect_eq(r.status, 0, "read back: %s", r.err);
    cr_expect_not_null(strstr(r.out, "shared"), "%s", r.out);
    result_free(&r);
}
