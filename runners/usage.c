/* runners/usage.c: resource usage (getrusage) and the small I/O helpers the
 * forked runners share. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runners/internal.h"

static double tv_seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

void usage_get(usage_t *u, int children)
{
    struct rusage ru;
    getrusage(children ? RUSAGE_CHILDREN : RUSAGE_SELF, &ru);
    u->user_s = tv_seconds(ru.ru_utime);
    u->sys_s = tv_seconds(ru.ru_stime);
    u->max_rss_kib = ru.ru_maxrss;
    u->vol_cs = ru.ru_nvcsw;
    u->invol_cs = ru.ru_nivcsw;
}

void usage_delta(usage_t *u, const usage_t *before, const usage_t *after)
{
    u->user_s = after->user_s - before->user_s;
    u->sys_s = after->sys_s - before->sys_s;
    u->max_rss_kib = after->max_rss_kib;
    u->vol_cs = after->vol_cs - before->vol_cs;
    u->invol_cs = after->invol_cs - before->invol_cs;
}

void usage_add_to_sample(run_sample_t *s, const usage_t *u)
{
    s->cpu_user_s += u->user_s;
    s->cpu_sys_s += u->sys_s;
    s->vol_ctx_switches += (double)u->vol_cs;
    s->invol_ctx_switches += (double)u->invol_cs;
}

int pipe_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int pipe_read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            errno = EPIPE;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void child_status_text(int status, char *buf, size_t len)
{
    if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else if (WIFEXITED(status))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    else
        snprintf(buf, len, "ended with wait status %#x", status);
}
