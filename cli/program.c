/* cli/program.c: run another program, read its stdout, never wait past a
 * time limit (see cli/program.h for the contract).
 *
 * Three pipes connect us to the child: its stdout, its stderr, and a
 * close-on-exec pipe on which the child reports why execvp failed (it
 * closes silently when exec works), so that "not found" is told apart from
 * a program that ran and failed. The child gets a process group of its own
 * so that a time limit kills whatever it started too, and the default
 * SIGPIPE and SIGXFSZ that gil-lab itself ignores (cli/main.c): dispositions
 * set to "ignore" survive exec, and a Python that inherits them behaves
 * differently on a closed pipe.
 *
 * From stderr only the tail is kept, and the message quotes its last
 * non-empty line: for a Python that is the exception ("SyntaxError: ..."),
 * not the "Traceback (most recent call last):" that opens it.
 */
#define _GNU_SOURCE /* pipe2 */
#include "cli/program.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STDERR_TAIL 2048

typedef struct child {
    pid_t pid;
    int out, err;                 /* read ends; -1 once closed */
    char *stdout_buf;
    size_t stdout_len;
    bool stdout_overflow;
    char stderr_tail[STDERR_TAIL + 1];
    size_t stderr_len;
} child_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* The child, between fork and exec: only async-signal-safe calls. */
static void child_exec(const char *const *argv, int null_in, int out, int err, int report)
{
    int saved;

    setpgid(0, 0);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGXFSZ, SIG_DFL);
    if (dup2(null_in, 0) >= 0 && dup2(out, 1) >= 0 && dup2(err, 2) >= 0)
        execvp(argv[0], (char *const *)argv);
    saved = errno;
    if (write(report, &saved, sizeof saved) < 0)
        _exit(126);
    _exit(127);
}

/* Keep the last STDERR_TAIL bytes the child wrote to stderr. */
static void keep_tail(child_t *c, const char *data, size_t n)
{
    if (n >= STDERR_TAIL) {
        memcpy(c->stderr_tail, data + n - STDERR_TAIL, STDERR_TAIL);
        c->stderr_len = STDERR_TAIL;
        return;
    }
    if (c->stderr_len + n > STDERR_TAIL) {
        size_t drop = c->stderr_len + n - STDERR_TAIL;
        memmove(c->stderr_tail, c->stderr_tail + drop, c->stderr_len - drop);
        c->stderr_len -= drop;
    }
    memcpy(c->stderr_tail + c->stderr_len, data, n);
    c->stderr_len += n;
}

/* Read what is ready on fd (k: 0 stdout, 1 stderr); close it at its end. */
static void drain(child_t *c, int *fd, int k)
{
    char buf[4096];
    ssize_t got = read(*fd, buf, sizeof buf);

    if (got < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (got <= 0) {
        close_fd(fd);
        return;
    }
    if (k == 1) {
        keep_tail(c, buf, (size_t)got);
    } else if (c->stdout_len + (size_t)got > PROG_MAX_OUTPUT) {
        c->stdout_overflow = true;
    } else {
        memcpy(c->stdout_buf + c->stdout_len, buf, (size_t)got);
        c->stdout_len += (size_t)got;
    }
}

/* Read both outputs until they close. Returns false at the deadline. */
static bool read_outputs(child_t *c, double deadline)
{
    while (c->out >= 0 || c->err >= 0) {
        struct pollfd fds[2] = {{c->out, POLLIN, 0}, {c->err, POLLIN, 0}};
        double left = deadline - now_s();
        if (left <= 0)
            return false;
        if (poll(fds, 2, (int)(left * 1000) + 1) < 0) {
            if (errno == EINTR)
                continue;
            close_fd(&c->out);   /* cannot watch them: stop reading, reap */
            close_fd(&c->err);
            break;
        }
        if (fds[0].revents)
            drain(c, &c->out, 0);
        if (fds[1].revents)
            drain(c, &c->err, 1);
    }
    return true;
}

/* Reap the child, waiting at most until the deadline (it may have closed
 * its outputs and gone on running). Returns false at the deadline. */
static bool reap(pid_t pid, int *status, double deadline)
{
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return true;
        if (r < 0 && errno != EINTR)
            return false;
        if (now_s() >= deadline)
            return false;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
}

/* The last non-empty line of what the child wrote to stderr, into buf. */
static void last_stderr_line(child_t *c, char *buf, size_t len)
{
    char *end = c->stderr_tail + c->stderr_len, *start;

    c->stderr_tail[c->stderr_len] = '\0';
    while (end > c->stderr_tail && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
        end--;
    start = end;
    while (start > c->stderr_tail && start[-1] != '\n')
        start--;
    snprintf(buf, len, "%.*s", (int)(end - start), start);
}

/* Why the child, reaped with `status`, did not answer: into err. */
static prog_status_t judge(child_t *c, const char *name, int status, char *err, size_t errlen)
{
    char line[256];

    if (WIFSIGNALED(status)) {
        snprintf(err, errlen, "%s: killed by signal %d", name, WTERMSIG(status));
        return PROG_FAILED;
    }
    if (WEXITSTATUS(status) != 0) {
        last_stderr_line(c, line, sizeof line);
        snprintf(err, errlen, "%s: exited %d%s%s", name, WEXITSTATUS(status), line[0] ? ": " : "",
                 line);
        return PROG_FAILED;
    }
    if (c->stdout_overflow) {
        snprintf(err, errlen, "%s: printed more than %d bytes", name, PROG_MAX_OUTPUT);
        return PROG_FAILED;
    }
    return PROG_OK;
}

/* Start the child. Returns PROG_OK with c filled, or a failure in err. */
static prog_status_t start(const char *const *argv, child_t *c, char *err, size_t errlen)
{
    int out[2] = {-1, -1}, errp[2] = {-1, -1}, report[2] = {-1, -1}, child_errno = 0;
    int null_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    prog_status_t rc = PROG_FAILED;
    ssize_t got;

    if (null_in < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
        pipe2(report, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "%s: cannot start it: %s", argv[0], strerror(errno));
        goto done;
    }
    c->pid = fork();
    if (c->pid < 0) {
        snprintf(err, errlen, "%s: cannot fork: %s", argv[0], strerror(errno));
        goto done;
    }
    if (c->pid == 0)
        child_exec(argv, null_in, out[1], errp[1], report[1]);
    setpgid(c->pid, c->pid);   /* also here: whichever runs first makes the group */
    close_fd(&report[1]);
    do
        got = read(report[0], &child_errno, sizeof child_errno);
    while (got < 0 && errno == EINTR);
    if (got == (ssize_t)sizeof child_errno) {
        while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        snprintf(err, errlen, "%s: %s", argv[0],
                 child_errno == ENOENT ? "not found" : strerror(child_errno));
        rc = child_errno == ENOENT ? PROG_NOT_FOUND : PROG_FAILED;
        goto done;
    }
    c->out = out[0];
    c->err = errp[0];
    out[0] = errp[0] = -1;
    rc = PROG_OK;
done:
    close_fd(&null_in);
    for (int k = 0; k < 2; k++) {
        close_fd(&out[k]);
        close_fd(&errp[k]);
        close_fd(&report[k]);
    }
    return rc;
}

prog_status_t prog_capture(const char *const *argv, int timeout_s, char **out, char *err,
                           size_t errlen)
{
    child_t *c = calloc(1, sizeof *c);
    double deadline = now_s() + timeout_s;
    prog_status_t rc = PROG_FAILED;
    int status;

    *out = NULL;
    if (c == NULL || (c->stdout_buf = malloc(PROG_MAX_OUTPUT + 1)) == NULL) {
        snprintf(err, errlen, "%s: out of memory", argv[0]);
        goto done;
    }
    c->out = c->err = -1;
    rc = start(argv, c, err, errlen);
    if (rc != PROG_OK)
        goto done;
    if (!read_outputs(c, deadline) || !reap(c->pid, &status, deadline)) {
        kill(-c->pid, SIGKILL);
        kill(c->pid, SIGKILL);
        while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        snprintf(err, errlen, "%s: gave no answer within %d s and was stopped", argv[0], timeout_s);
        rc = PROG_FAILED;
        goto done;
    }
    rc = judge(c, argv[0], status, err, errlen);
    if (rc == PROG_OK) {
        c->stdout_buf[c->stdout_len] = '\0';
        *out = c->stdout_buf;
        c->stdout_buf = NULL;
    }
done:
    if (c != NULL) {
        close_fd(&c->out);
        close_fd(&c->err);
        free(c->stdout_buf);
    }
    free(c);
    return rc;
}
