/* tests/test_lifecycle.c: the gil-lab binary's processes over their life,
 * run as a user would ($GIL_LAB, set by CTest).
 *
 *   - no orphans: the lab killed mid-row (SIGKILL, SIGTERM) leaves no
 *     repeat process and no worker running. The test makes itself a child
 *     subreaper (PR_SET_CHILD_SUBREAPER), so every process the dead lab
 *     leaves behind is reparented to it and can be watched and reaped;
 *     all of them must be gone within a few seconds. SIGTERM (and a second
 *     Ctrl-C) is caught: the lab kills and reaps the repeat process and its
 *     workers itself before it dies, so none is left for the test to reap.
 *   - Ctrl-C in an interleaved sweep (the lab alone is signalled, as `kill
 *     -INT` does): the current round is finished, every row that then has
 *     all its repeats is written, exit status 130. With one repeat there is
 *     one round, so every row is written, however early the signal came.
 *   - worker limits: a run of 64 forked workers needs a handful of
 *     descriptors, so it works under `ulimit -n 16` (the workers share two
 *     pipes, whatever their number).
 *   - out of memory (a small RLIMIT_AS) is a failed run, exit status 1.
 */
#define _GNU_SOURCE 1
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[64];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/gil-lab-test-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
}

static void remove_tmpdir(void)
{
    if (tmpdir[0])
        nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(lifecycle, .init = make_tmpdir, .fini = remove_tmpdir);

static const char *binary(void)
{
    const char *b = getenv("GIL_LAB");
    cr_assert(b && *b, "GIL_LAB must name the gil-lab binary (set by CTest)");
    return b;
}

static void sleep_ms(long ms)
{
    struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Start gil-lab with args (NULL-terminated, after argv[0]), quiet. With
 * limit > 0 the child runs under that limit of `resource` (RLIMIT_*). */
static pid_t start_lab_limited(const char *const *args, int resource, rlim_t limit)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        const char *argv[32] = {binary()};
        for (int i = 0; args[i] != NULL && i < 30; i++)
            argv[i + 1] = args[i];
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        if (limit > 0) {
            struct rlimit rl = {limit, limit};
            if (setrlimit(resource, &rl) < 0)
                _exit(120);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static pid_t start_lab(const char *const *args)
{
    return start_lab_limited(args, RLIMIT_NOFILE, 0);
}

/* The parent pid and CPU ticks of a process; 0 on success. */
static int proc_stat(pid_t pid, pid_t *ppid, unsigned long *ticks)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    char *p = strrchr(line, ')');
    int pp;
    unsigned long ut, st;
    if (p == NULL || sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &pp, &ut, &st) != 3)
        return -1;
    *ppid = pp;
    *ticks = ut + st;
    return 0;
}

/* Processes descending from `root` (up to 3 generations) that have used
 * some CPU: the lab's busy workers. */
static int busy_descendants(pid_t root)
{
    DIR *d = opendir("/proc");
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        pid_t ppid;
        unsigned long ticks;
        if (*end != '\0' || pid <= 1 || pid == root || proc_stat((pid_t)pid, &ppid, &ticks) < 0 || ticks < 3)
            continue;
        for (int g = 0; g < 3 && ppid > 1; g++) {
            if (ppid == root) {
                n++;
                break;
            }
            unsigned long ignored;
            if (proc_stat(ppid, &ppid, &ignored) < 0)
                break;
        }
    }
    closedir(d);
    return n;
}

/* Kill every child of ours (orphans reparented to us included). Returns
 * how many there were. */
static int kill_children(void)
{
    int n = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        pid_t ppid;
        unsigned long ticks;
        if (*end == '\0' && proc_stat((pid_t)pid, &ppid, &ticks) == 0 && ppid == getpid() &&
            kill((pid_t)pid, SIGKILL) == 0)
            n++;
    }
    if (d != NULL)
        closedir(d);
    return n;
}

/* Reap every child of ours for up to `seconds`; returns how many were
 * still running then. Those are killed, and their orphans after them, so
 * that a failure never leaves processes behind. */
static int survivors_after(int seconds)
{
    time_t deadline = time(NULL) + seconds;
    int left = -1;
    for (;;) {
        pid_t r = waitpid(-1, NULL, WNOHANG);
        if (r < 0 && errno == ECHILD)
            return left < 0 ? 0 : left;
        if (r > 0)
            continue;
        if (time(NULL) >= deadline) {
            int n = kill_children();
            if (left < 0)
                left = n;
        }
        sleep_ms(20);
    }
}

/* Kill the lab with `sig` (sent `times` times) once `busy` processes of
 * its are running. */
static void signal_mid_row(const char *mode, int busy_wanted, int sig, int times)
{
    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0, "PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
    const char *args[] = {"run", "-w", "countdown", "-m", mode, "-j", "2", "-n", "4000000000", "-r", "1",
                          "--warmup", "0", "--no-plot", "-o", tmpdir, NULL};
    pid_t lab = start_lab(args);
    int busy = 0;
    for (int i = 0; i < 500 && busy < busy_wanted; i++) {   /* up to 10 s for the workers to start */
        sleep_ms(20);
        busy = busy_descendants(lab);
    }
    cr_assert_geq(busy, busy_wanted, "%s: the workers never got going", mode);
    for (int i = 0; i < times; i++) {
        if (i > 0)
            sleep_ms(100);   /* the first one handled before the next */
        cr_assert_eq(kill(lab, sig), 0);
    }
    int status;
    cr_assert_eq(waitpid(lab, &status, 0), lab);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == sig, "%s: the lab died of signal %d", mode, sig);
    /* A dead lab's children are reparented to us before we can reap it:
     * any process of its still around now was not reaped by the lab. */
    bool reaped = sig == SIGKILL || (waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
    cr_assert_eq(survivors_after(5), 0, "%s: processes of the lab outlived it (signal %d)", mode, sig);
    cr_assert(reaped, "%s: the lab left its processes for someone else to reap (signal %d)", mode, sig);
}

static void kill_mid_row(const char *mode, int busy_wanted, int sig)
{
    signal_mid_row(mode, busy_wanted, sig, 1);
}

/* Forked modes: two busy workers; threads: one busy repeat process. */
Test(lifecycle, sigkill_leaves_no_worker_of_processes) { kill_mid_row("processes", 2, SIGKILL); }
Test(lifecycle, sigkill_leaves_no_repeat_process_of_threads) { kill_mid_row("threads", 1, SIGKILL); }
Test(lifecycle, sigterm_kills_and_reaps_the_workers_of_pool) { kill_mid_row("pool", 2, SIGTERM); }
Test(lifecycle, sigterm_kills_and_reaps_the_workers_of_processes) { kill_mid_row("processes", 2, SIGTERM); }
Test(lifecycle, second_sigint_kills_and_reaps_the_workers) { signal_mid_row("processes", 2, SIGINT, 2); }

Test(lifecycle, sigint_finishes_the_round_and_keeps_its_rows)
{
    char csv[128];
    const char *args[] = {"run", "-w", "countdown", "-m", "single,threads,processes", "-j", "2",
                          "-n", "50M", "-r", "1", "--warmup", "0", "--no-plot", "-o", tmpdir,
                          NULL};
    pid_t lab = start_lab(args);
    int busy = 0, status, rows = -1, c;
    FILE *f;

    for (int i = 0; i < 500 && busy < 1; i++) {   /* the first row under way */
        sleep_ms(20);
        busy = busy_descendants(lab);
    }
    cr_assert_geq(busy, 1, "the first row never got going");
    cr_assert_eq(kill(lab, SIGINT), 0);
    cr_assert_eq(waitpid(lab, &status, 0), lab);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 130, "exit status %#x", status);
    snprintf(csv, sizeof csv, "%s/results.csv", tmpdir);
    f = fopen(csv, "r");
    cr_assert_not_null(f, "no results.csv");
    while ((c = fgetc(f)) != EOF)
        rows += c == '\n';   /* the header, then one line per row */
    fclose(f);
    cr_expect_eq(rows, 3, "the round was finished: every row has its one repeat");
}

Test(lifecycle, many_workers_under_a_small_descriptor_limit)
{
    const char *args[] = {"run", "-w", "countdown", "-m", "processes,pool", "-j", "64", "-n", "64000",
                          "-r", "1", "--warmup", "0", "--no-plot", "-o", tmpdir, NULL};
    pid_t lab = start_lab_limited(args, RLIMIT_NOFILE, 16);
    int status;
    cr_assert_eq(waitpid(lab, &status, 0), lab);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "64 workers under ulimit -n 16: status %#x",
              status);
}

/* Out of memory says nothing about the input: a run that cannot allocate
 * (a list of 2^40 squares under a 128 MiB address space) fails with exit
 * status 1, not 2. ASan reserves terabytes of shadow memory at start-up,
 * so it cannot run under a small RLIMIT_AS. */
Test(lifecycle, out_of_memory_is_a_failed_run)
{
#ifdef __SANITIZE_ADDRESS__
    cr_skip_test("an address-space limit stops ASan itself");
#else
    const char *args[] = {"run", "-w", "alloc", "-P", "form=list", "-n", "1T", "-m", "single", "-r", "1",
                          "--warmup", "0", "--no-plot", "-o", tmpdir, NULL};
    pid_t lab = start_lab_limited(args, RLIMIT_AS, (rlim_t)128 << 20);
    int status;
    cr_assert_eq(waitpid(lab, &status, 0), lab);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "out of memory: status %#x", status);
#endif
}
