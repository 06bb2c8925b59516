/* tests/test_cli.c: the gil-lab binary from the outside, as a user meets it.
 * The binary is the one CTest names in $GIL_LAB; each case spawns it with
 * posix_spawn, stdout and stderr on pipes, stdin on /dev/null, and a time
 * limit. The contract checked here:
 *
 *   - bad input: exit status 2, exactly one stderr line "gil-lab: ...",
 *     nothing on stdout, and no output folder created;
 *   - --version, --help, list, topo: exit 0;
 *   - a small run: exit 0, stdout holds only the chosen format (a CSV header
 *     and one row, or one JSON document), and the folder holds
 *     results.csv and results.json that parse.
 *
 * Every case that runs gil-lab passes -o inside its own temporary folder,
 * so nothing is ever written under the working directory.
 */
#define _GNU_SOURCE /* nftw */
#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define TIME_LIMIT_S 120
#define MAX_ARGS 48

#define CSV_HEADER                                                             \
    "workload,mode,guard,workers,size,repeats,wall_median_s,wall_mean_s,"      \
    "wall_stddev_s,wall_min_s,wall_max_s,cpu_user_s,cpu_sys_s,max_rss_kib,"    \
    "speedup,allocator,immortal,switch_interval_us,warmup,startup_s,"          \
    "worker_min_s,worker_max_s,vol_ctx_switches,invol_ctx_switches,"           \
    "gil_switches,gil_forced_drops,gil_drop_requests,gil_wait_s,rc_local,"     \
    "rc_shared,brc_queued,brc_merged,objects_allocated,arena_bytes_peak,"      \
    "outliers,pin,params,rss_sum_kib"

typedef struct result {
    int status;         /* exit status, or 128 + signal */
    char *out, *err;    /* NUL-terminated, owned */
    size_t outlen, errlen;
} result_t;

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/gil-lab-test-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_tmpdir(void)
{
    if (tmpdir[0])
        nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* No .timeout: Criterion 2.4's watchdog can leak under ASan (see
 * tests/test_gil.c); CTest's TIMEOUT catches a hang instead. */
TestSuite(cli, .init = make_tmpdir, .fini = remove_tmpdir);

static const char *binary(void)
{
    const char *b = getenv("GIL_LAB");
    cr_assert(b && *b, "GIL_LAB must name the gil-lab binary (set by CTest)");
    return b;
}

static void append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *buf = realloc(*buf, *cap);
        cr_assert_not_null(*buf);
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
}

/* Run gil-lab with args (NULL-terminated, without argv[0]). */
static result_t run_args(const char *const *args)
{
    char *argv[MAX_ARGS + 2];
    int out[2], err[2], n = 0, status;
    size_t outcap = 0, errcap = 0;
    posix_spawn_file_actions_t fa;
    result_t r = {0};
    time_t deadline = time(NULL) + TIME_LIMIT_S;
    pid_t pid;

    argv[n++] = (char *)binary();
    for (; args[n - 1]; n++) {
        cr_assert_lt(n, MAX_ARGS);
        argv[n] = (char *)args[n - 1];
    }
    argv[n] = NULL;
    cr_assert_eq(pipe(out), 0);
    cr_assert_eq(pipe(err), 0);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    posix_spawn_file_actions_addclose(&fa, err[0]);
    posix_spawn_file_actions_addclose(&fa, out[1]);
    posix_spawn_file_actions_addclose(&fa, err[1]);
    cr_assert_eq(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0, "cannot spawn %s",
                 argv[0]);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(err[1]);
    append(&r.out, &r.outlen, &outcap, "", 0);
    append(&r.err, &r.errlen, &errcap, "", 0);

    struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
        int left = (int)(deadline - time(NULL));
        if (left <= 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            cr_assert_fail("gil-lab %s did not finish within %d s", args[0], TIME_LIMIT_S);
        }
        if (poll(fds, 2, left * 1000) < 0) {
            cr_assert_eq(errno, EINTR);
            continue;
        }
        for (int k = 0; k < 2; k++) {
            char buf[4096];
            ssize_t got;
            if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            got = read(fds[k].fd, buf, sizeof buf);
            if (got > 0) {
                if (k == 0)
                    append(&r.out, &r.outlen, &outcap, buf, (size_t)got);
                else
                    append(&r.err, &r.errlen, &errcap, buf, (size_t)got);
            } else if (got == 0 || errno != EINTR) {
                close(fds[k].fd);
                fds[k].fd = -1;
                open_fds--;
            }
        }
    }
    while (waitpid(pid, &status, 0) < 0)
        cr_assert_eq(errno, EINTR);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
}

#define RUN(...) run_args((const char *const[]){__VA_ARGS__, NULL})

static void result_free(result_t *r)
{
    free(r->out);
    free(r->err);
}

static const char *path_in_tmp(const char *name)
{
    static char path[4][128];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", tmpdir, name);
    return p;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Exit 2, one "gil-lab: " line on stderr, empty stdout, no folder. */
static void assert_usage_error(result_t r, const char *what)
{
    cr_expect_eq(r.status, 2, "%s: exit status %d, stderr: %s", what, r.status, r.err);
    cr_expect_eq(r.outlen, 0, "%s: stdout not empty: %s", what, r.out);
    cr_expect_eq(strncmp(r.err, "gil-lab: ", 9), 0, "%s: stderr: %s", what, r.err);
    cr_expect(r.errlen > 0 && r.err[r.errlen - 1] == '\n' && !memchr(r.err, '\n', r.errlen - 1),
              "%s: stderr must be exactly one line: %s", what, r.err);
    cr_expect(!exists(path_in_tmp("out")), "%s: the output folder was created", what);
    result_free(&r);
}

#define BAD_RUN(...)                                                           \
    assert_usage_error(RUN("run", __VA_ARGS__, "-o", path_in_tmp("out")), #__VA_ARGS__)

/* ------------------------------------------------------------------------
 * A minimal JSON validator (RFC 8259 grammar; no semantics).
 */

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static const char *json_value(const char *p, int depth);

static const char *json_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    while (*p != '"') {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int k = 1; k <= 4; k++)
                    if (!isxdigit((unsigned char)p[k]))
                        return NULL;
                p += 4;
            } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
                return NULL;
            }
        }
        p++;
    }
    return p + 1;
}

static const char *json_number(const char *p)
{
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (isdigit((unsigned char)*p))
        while (isdigit((unsigned char)*p))
            p++;
    else
        return NULL;
    if (*p == '.') {
        if (!isdigit((unsigned char)*++p))
            return NULL;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return NULL;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return p;
}

static const char *json_members(const char *p, int depth, char close, bool object)
{
    p = json_ws(p + 1);
    if (*p == close)
        return p + 1;
    for (;;) {
        if (object) {
            p = json_string(json_ws(p));
            if (!p || *(p = json_ws(p)) != ':')
                return NULL;
            p++;
        }
        p = json_value(p, depth + 1);
        if (!p)
            return NULL;
        p = json_ws(p);
        if (*p == close)
            return p + 1;
        if (*p++ != ',')
            return NULL;
    }
}

static const char *json_value(const char *p, int depth)
{
    if (depth > 64)
        return NULL;
    p = json_ws(p);
    switch (*p) {
    case '{': return json_members(p, depth, '}', true);
    case '[': return json_members(p, depth, ']', false);
    case '"': return json_string(p);
    case 't': return strncmp(p, "true", 4) ? NULL : p + 4;
    case 'f': return strncmp(p, "false", 5) ? NULL : p + 5;
    case 'n': return strncmp(p, "null", 4) ? NULL : p + 4;
    default: return json_number(p);
    }
}

/* True when text is exactly one JSON document (whitespace around it). */
static bool json_valid(const char *text)
{
    const char *end = json_value(text, 0);
    return end && *json_ws(end) == '\0';
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t len = 0, cap = 0;
    char buf[4096];
    size_t got;

    cr_assert_not_null(f, "cannot open %s", path);
    append(&text, &len, &cap, "", 0);
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        append(&text, &len, &cap, buf, got);
    fclose(f);
    return text;
}

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
        {"--help", NULL}, {"run", "--help"}, {"list", "--help"}, {"topo", "--help"},
        {"dis", "--help"}, {"heap", "--help"},
    };
    for (size_t k = 0; k < sizeof cmds / sizeof cmds[0]; k++) {
        result_t r = run_args(cmds[k]);
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
