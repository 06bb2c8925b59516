/* tests/cli_fixture.h: the gil-lab binary from the outside, as a user meets
 * it, for the suites that run it (test_cli.c: input and commands;
 * test_output.c: what a run leaves in its folder; test_results.c and
 * test_charts.c: results, charts and reports). Criterion-only: all are
 * Criterion suites, so failures are cr_assert.
 *
 * The binary is the one CTest names in $GIL_LAB. cli_run() forks and execs
 * it with stdin on /dev/null, stdout and stderr on pipes and a time limit,
 * and returns its exit status and both outputs. Options shape the child as
 * the hostile cases need:
 *
 *   fsize_limit   RLIMIT_FSIZE in bytes: every write past it fails (EFBIG),
 *                 in gil-lab and in the gnuplot it starts, as on a full disk
 *   stdout_mode   CLI_OUT_PIPE: read everything (the usual case)
 *                 CLI_OUT_NO_READER: the read end is closed before the
 *                   child starts (`gil-lab run | true`)
 *                 CLI_OUT_CLOSE_AT: read until `close_at` appears on stdout,
 *                   then close it (`gil-lab run | head -5`)
 *                 CLI_OUT_CLOSED: no descriptor 1 at all (`gil-lab run >&-`)
 *   cwd           working directory of the child (NULL: ours)
 *   path          $PATH of the child (NULL: ours)
 *
 * Every case works inside its own temporary folder (tmpdir, removed by the
 * suite's .fini): nothing is ever written under the working directory.
 */
#ifndef GL_TESTS_CLI_FIXTURE_H
#define GL_TESTS_CLI_FIXTURE_H

#define _GNU_SOURCE /* nftw */
#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CLI_TIME_LIMIT_S 120
#define CLI_MAX_ARGS 64

typedef enum cli_out_mode {
    CLI_OUT_PIPE,
    CLI_OUT_NO_READER,
    CLI_OUT_CLOSE_AT,
    CLI_OUT_CLOSED,
} cli_out_mode_t;

typedef struct cli_opts {
    long fsize_limit;          /* bytes; 0: no limit */
    cli_out_mode_t stdout_mode;
    const char *close_at;      /* CLI_OUT_CLOSE_AT: close stdout once this was read */
    const char *cwd;
    const char *path;
} cli_opts_t;

typedef struct result {
    int status;         /* exit status, or 128 + signal */
    char *out, *err;    /* NUL-terminated, owned */
    size_t outlen, errlen;
} result_t;

static char tmpdir[64];

static inline void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/gil-lab-test-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
}

static inline int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static inline void remove_tmpdir(void)
{
    if (tmpdir[0])
        nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static inline const char *binary(void)
{
    const char *b = getenv("GIL_LAB");
    cr_assert(b && *b, "GIL_LAB must name the gil-lab binary (set by CTest)");
    return b;
}

static inline void append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
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

/* The child, between fork and exec: only async-signal-safe calls. */
static inline void child_exec(const cli_opts_t *o, char **argv, char **envp, int out, int err)
{
    int in = open("/dev/null", O_RDONLY);

    if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        _exit(125);
    if (o->stdout_mode == CLI_OUT_CLOSED)
        close(1);
    if (o->fsize_limit > 0) {
        struct rlimit rl = {(rlim_t)o->fsize_limit, (rlim_t)o->fsize_limit};
        if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
            _exit(125);
    }
    if (o->cwd && chdir(o->cwd) < 0)
        _exit(125);
    execve(argv[0], argv, envp);
    _exit(126);
}

extern char **environ;

/* Our environment with PATH replaced by path (when not NULL), built before
 * the fork since the child may not allocate. The caller frees the array
 * and *path_entry. */
static inline char **child_environment(const char *path, char **path_entry)
{
    size_t n = 0, k = 0;
    char **envp;

    while (environ[n])
        n++;
    envp = calloc(n + 2, sizeof *envp);
    cr_assert_not_null(envp);
    *path_entry = NULL;
    if (path) {
        cr_assert_gt(asprintf(path_entry, "PATH=%s", path), 0);
        envp[k++] = *path_entry;
    }
    for (size_t i = 0; i < n; i++)
        if (!path || strncmp(environ[i], "PATH=", 5) != 0)
            envp[k++] = environ[i];
    return envp;
}

/* Run gil-lab with args (NULL-terminated, without argv[0]). */
static inline result_t cli_run(const cli_opts_t *opts, const char *const *args)
{
    static const cli_opts_t defaults = {0};
    const cli_opts_t *o = opts ? opts : &defaults;
    char *argv[CLI_MAX_ARGS + 2], *path_entry, **envp = child_environment(o->path, &path_entry);
    int out[2], err[2], n = 0, status;
    size_t outcap = 0, errcap = 0;
    result_t r = {0};
    time_t deadline = time(NULL) + CLI_TIME_LIMIT_S;
    pid_t pid;

    argv[n++] = (char *)binary();
    for (; args[n - 1]; n++) {
        cr_assert_lt(n, CLI_MAX_ARGS);
        argv[n] = (char *)args[n - 1];
    }
    argv[n] = NULL;
    cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
    cr_assert_eq(pipe2(err, O_CLOEXEC), 0);
    if (o->stdout_mode == CLI_OUT_NO_READER) {
        close(out[0]);
        out[0] = -1;
    }
    pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0)
        child_exec(o, argv, envp, out[1], err[1]);
    free(envp);
    free(path_entry);
    close(out[1]);
    close(err[1]);
    append(&r.out, &r.outlen, &outcap, "", 0);
    append(&r.err, &r.errlen, &errcap, "", 0);

    struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open_fds = out[0] >= 0 ? 2 : 1;
    while (open_fds > 0) {
        int left = (int)(deadline - time(NULL));
        if (left <= 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            cr_assert_fail("gil-lab %s did not finish within %d s", args[0], CLI_TIME_LIMIT_S);
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
            }
            if (got == 0 || (got < 0 && errno != EINTR) ||
                (k == 0 && o->stdout_mode == CLI_OUT_CLOSE_AT && strstr(r.out, o->close_at))) {
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

#define RUN(...) cli_run(NULL, (const char *const[]){__VA_ARGS__, NULL})
#define RUN_WITH(opts, ...) cli_run(opts, (const char *const[]){__VA_ARGS__, NULL})

static inline void result_free(result_t *r)
{
    free(r->out);
    free(r->err);
}

/* tmpdir/name, in one of four rotating buffers. */
static inline const char *path_in_tmp(const char *name)
{
    static char path[4][160];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", tmpdir, name);
    return p;
}

static inline bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Exit 2, one "gil-lab: " line on stderr, empty stdout, no folder. */
static inline void assert_usage_error(result_t r, const char *what)
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

/* The whole file at path, NUL-terminated; the caller frees it. */
static inline char *slurp(const char *path)
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

/* The file at path starts with magic[0..n), n <= 16 (a PNG's signature). */
static inline bool file_starts_with(const char *path, const char *magic, size_t n)
{
    char buf[16] = {0};
    FILE *f = fopen(path, "rb");
    bool ok = f && fread(buf, 1, n, f) == n && memcmp(buf, magic, n) == 0;

    if (f)
        fclose(f);
    return ok;
}

/* The file at path ends with tail[0..n), trailing blanks and newlines
 * dropped, n <= 64 (a PNG's IEND chunk, an SVG's </svg>). */
static inline bool file_ends_with(const char *path, const char *tail, size_t n)
{
    unsigned char buf[64];
    FILE *f = fopen(path, "rb");
    long size = -1;
    size_t got = 0;

    if (f && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= (long)n &&
        fseek(f, size > 64 ? size - 64 : 0, SEEK_SET) == 0)
        got = fread(buf, 1, sizeof buf, f);
    if (f)
        fclose(f);
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
        got--;
    return got >= n && memcmp(buf + got - n, tail, n) == 0;
}

/* Occurrences of needle in haystack. */
static inline int count_of(const char *haystack, const char *needle)
{
    int n = 0;
    for (const char *p = haystack; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* True when gnuplot is on $PATH: the chart cases need it. */
static inline bool have_gnuplot(void)
{
    const char *path = getenv("PATH");
    char dir[4096], exe[4200];

    for (const char *p = path ? path : ""; *p;) {
        size_t len = strcspn(p, ":");
        snprintf(dir, sizeof dir, "%.*s", (int)len, p);
        snprintf(exe, sizeof exe, "%s/gnuplot", dir[0] ? dir : ".");
        if (access(exe, X_OK) == 0)
            return true;
        p += len + (p[len] == ':');
    }
    return false;
}

/* Run tests/html_check.py (Python's HTML parser) on the page at `path`:
 * the line it prints, malloc'd (for report's pages). */
static inline char *html_check(const char *path)
{
    char cmd[1200], line[256] = "";
    FILE *p;

    snprintf(cmd, sizeof cmd, "python3 '%s/tests/html_check.py' '%s' 2>&1", getenv("GL_SOURCE_DIR"), path);
    p = popen(cmd, "r");
    cr_assert_not_null(p);
    if (!fgets(line, sizeof line, p))
        line[0] = '\0';
    pclose(p);
    return strdup(line);
}

#endif
