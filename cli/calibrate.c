/* cli/calibrate.c: the Python side of `gil-lab calibrate` (calibrate.h):
 * the embedded scripts on disk, and one Python process per probe or run,
 * with a time limit.
 *
 * A Python is run as a program (fork + execvp, no shell), in a process
 * group of its own so that its multiprocessing children go with it when
 * it is killed; stdin is /dev/null, stdout and stderr are pipes read
 * together under a deadline (poll). What it printed on stdout must be one
 * JSON object (jansson); the last line of its stderr is the reason given
 * when it fails.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/calibrate.h"
#include "report/report.h"

#define OUTPUT_MAX (1 << 20)   /* more than any answer of the driver */

bool cal_has_workload(const char *name)
{
    char path[128];

    snprintf(path, sizeof path, "workloads/%s.py", name);
    for (size_t k = 0; k < cal_nfiles; k++)
        if (strcmp(cal_files[k].path, path) == 0)
            return true;
    return false;
}

void cal_cleanup(const char *dir)
{
    char path[PATH_MAX];

    if (!dir[0])
        return;
    for (size_t k = 0; k < cal_nfiles; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, cal_files[k].path);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/workloads/__pycache__", dir);
    rmdir(path);
    snprintf(path, sizeof path, "%s/workloads", dir);
    rmdir(path);
    rmdir(dir);
}

int cal_extract(char *dir, size_t len, char *err, size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    char path[PATH_MAX];

    snprintf(dir, len, "%s/gil-lab-calibrate-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        snprintf(err, errlen, "cannot create a folder for the Python scripts: %s",
                 strerror(errno));
        dir[0] = '\0';
        return -1;
    }
    snprintf(path, sizeof path, "%s/workloads", dir);
    if (mkdir(path, 0700) < 0)
        goto fail;
    for (size_t k = 0; k < cal_nfiles; k++) {
        int fd;
        snprintf(path, sizeof path, "%s/%s", dir, cal_files[k].path);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            goto fail;
        if (write(fd, cal_files[k].data, cal_files[k].len) != (ssize_t)cal_files[k].len) {
            close(fd);
            goto fail;
        }
        if (close(fd) < 0)
            goto fail;
    }
    return 0;
fail:
    snprintf(err, errlen, "cannot write the Python scripts into %s: %s", dir,
             strerror(errno ? errno : EIO));
    cal_cleanup(dir);
    dir[0] = '\0';
    return -1;
}

/* The last non-empty line of text, into buf. */
static void last_line(const char *text, char *buf, size_t len)
{
    const char *end = text + strlen(text), *start;

    while (end > text && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
        end--;
    start = end;
    while (start > text && start[-1] != '\n')
        start--;
    snprintf(buf, len, "%.*s", (int)(end - start), start);
}

/* Append what fd has to *buf (capped at OUTPUT_MAX). Returns 0 at EOF, 1
 * when more may come, -1 on a read error. */
static int drain(int fd, char **buf, size_t *used)
{
    char chunk[4096];
    ssize_t got = read(fd, chunk, sizeof chunk);

    if (got < 0)
        return errno == EINTR || errno == EAGAIN ? 1 : -1;
    if (got == 0)
        return 0;
    if (*used + (size_t)got < OUTPUT_MAX) {
        char *more = realloc(*buf, *used + (size_t)got + 1);
        if (!more)
            return -1;
        *buf = more;
        memcpy(*buf + *used, chunk, (size_t)got);
        *used += (size_t)got;
        (*buf)[*used] = '\0';
    }
    return 1;
}

/* Run python with args; its stdout into *out (malloc'd). Returns 0 when it
 * exited 0, or -1 with one line in err. */
static int run_python(const char *python, const char *const *args, int timeout_s, char **out,
                      char *err, size_t errlen)
{
    const char *argv[16];
    int pout[2] = {-1, -1}, perr[2] = {-1, -1}, pexec[2] = {-1, -1}, status, child_errno = 0;
    char *text = NULL, *errtext = NULL, line[512];
    size_t nout = 0, nerr = 0;
    time_t deadline = time(NULL) + timeout_s;
    pid_t pid;
    int n = 0;

    argv[n++] = python;
    for (; args[n - 1] && n < 15; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    if (pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0 || pipe2(pexec, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "%s: cannot create a pipe: %s", python, strerror(errno));
        goto fail_pipes;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "%s: cannot fork: %s", python, strerror(errno));
        goto fail_pipes;
    }
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        setpgid(0, 0);
        signal(SIGPIPE, SIG_DFL);
        if (in >= 0 && dup2(in, 0) >= 0 && dup2(pout[1], 1) >= 0 && dup2(perr[1], 2) >= 0)
            execvp(python, (char *const *)argv);
        child_errno = errno;
        if (write(pexec[1], &child_errno, sizeof child_errno) < 0)
            _exit(126);
        _exit(127);
    }
    setpgid(pid, pid);
    close(pout[1]);
    close(perr[1]);
    close(pexec[1]);
    pout[1] = perr[1] = pexec[1] = -1;
    if (read(pexec[0], &child_errno, sizeof child_errno) == (ssize_t)sizeof child_errno) {
        waitpid(pid, &status, 0);
        if (child_errno == ENOENT)
            snprintf(err, errlen, "%s: not found (give a Python with --python PATH)", python);
        else
            snprintf(err, errlen, "%s: cannot run it: %s", python, strerror(child_errno));
        goto fail_pipes;
    }
    {
        struct pollfd fds[2] = {{pout[0], POLLIN, 0}, {perr[0], POLLIN, 0}};
        int open_fds = 2;
        while (open_fds > 0) {
            int left = (int)(deadline - time(NULL)), r;
            if (left <= 0) {
                kill(-pid, SIGKILL);
                waitpid(pid, &status, 0);
                snprintf(err, errlen, "%s: gave no answer within %d s and was stopped", python,
                         timeout_s);
                goto fail;
            }
            if (poll(fds, 2, left * 1000) < 0 && errno != EINTR)
                break;
            for (int k = 0; k < 2; k++) {
                if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                r = k == 0 ? drain(fds[k].fd, &text, &nout) : drain(fds[k].fd, &errtext, &nerr);
                if (r <= 0) {
                    fds[k].fd = -1;
                    open_fds--;
                }
            }
        }
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    kill(-pid, SIGKILL);   /* anything it left behind */
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        last_line(errtext ? errtext : "", line, sizeof line);
        if (WIFEXITED(status))
            snprintf(err, errlen, "%s: exited %d%s%s", python, WEXITSTATUS(status),
                     line[0] ? ": " : "", line);
        else
            snprintf(err, errlen, "%s: killed by signal %d", python, WTERMSIG(status));
        goto fail;
    }
    close(pout[0]);
    close(perr[0]);
    close(pexec[0]);
    free(errtext);
    *out = text ? text : strdup("");
    return *out ? 0 : -1;
fail_pipes:
    for (int k = 0; k < 2; k++) {
        if (pout[k] >= 0)
            close(pout[k]);
        if (perr[k] >= 0)
            close(perr[k]);
        if (pexec[k] >= 0)
            close(pexec[k]);
    }
    free(text);
    free(errtext);
    return -1;
fail:
    close(pout[0]);
    close(perr[0]);
    close(pexec[0]);
    free(text);
    free(errtext);
    return -1;
}

/* What python printed, as one JSON object; NULL with err set. */
static json_t *answer(const char *python, const char *text, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *obj = json_loads(text, 0, &jerr);
    char first[120];

    if (json_is_object(obj))
        return obj;
    json_decref(obj);
    snprintf(first, sizeof first, "%.*s", (int)strcspn(text, "\n"), text);
    snprintf(err, errlen, "%s: did not answer as gil-lab's driver does (printed '%s')", python,
             first);
    return NULL;
}

int cal_probe(const char *dir, cal_python_t *py, char *err, size_t errlen)
{
    char driver[PATH_MAX], *text = NULL;
    const char *args[] = {"-I", driver, dir, "probe", NULL};
    json_t *obj;
    const char *s;

    snprintf(driver, sizeof driver, "%s/driver.py", dir);
    if (run_python(py->path, args, CAL_PROBE_TIMEOUT_S, &text, err, errlen) < 0)
        return -1;
    obj = answer(py->path, text, err, errlen);
    free(text);
    if (!obj)
        return -1;
    s = json_string_value(json_object_get(obj, "implementation"));
    snprintf(py->implementation, sizeof py->implementation, "%s", s ? s : "Python");
    s = json_string_value(json_object_get(obj, "version"));
    snprintf(py->version, sizeof py->version, "%s", s ? s : "?");
    s = json_string_value(json_object_get(obj, "executable"));
    snprintf(py->executable, sizeof py->executable, "%s", s ? s : py->path);
    py->gil = !json_is_false(json_object_get(obj, "gil"));
    snprintf(py->label, sizeof py->label, "%s %s%s", py->implementation, py->version,
             py->gil ? "" : " free-threaded");
    json_decref(obj);
    return 0;
}

int cal_run(const char *dir, const cal_python_t *py, const run_spec_t *spec,
            run_sample_t *sample, char *err, size_t errlen)
{
    char driver[PATH_MAX], workers[16], size[32], params[WL_MAX_PARAMS][96], *text = NULL;
    const char *args[8 + WL_MAX_PARAMS + 1] = {"-I", driver, dir, "run", spec->workload->name,
                                               run_mode_name(spec->mode), workers, size};
    const workload_t *wl = spec->workload;
    json_t *obj;
    int n = 8;

    snprintf(driver, sizeof driver, "%s/driver.py", dir);
    snprintf(workers, sizeof workers, "%d", spec->workers);
    snprintf(size, sizeof size, "%lld", (long long)spec->size);
    for (int p = 0; p < wl->nparams; p++) {
        char value[64];
        wl_param_format(&wl->params[p], spec->params[p], value, sizeof value);
        snprintf(params[p], sizeof params[p], "%s=%s", wl->params[p].name, value);
        args[n++] = params[p];
    }
    args[n] = NULL;
    if (run_python(py->path, args, CAL_STEP_TIMEOUT_S, &text, err, errlen) < 0)
        return -1;
    obj = answer(py->path, text, err, errlen);
    free(text);
    if (!obj)
        return -1;
    rep_sample_read(obj, sample);
    json_decref(obj);
    if (!(sample->wall_s > 0.0)) {
        snprintf(err, errlen, "%s: its answer has no wall_s", py->path);
        return -1;
    }
    return 0;
}
