/* runners/client.c: the client outside the interpreter (see client.h). */
#define _GNU_SOURCE /* pipe2 */
#include "runners/client.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab/blocking.h"
#include "lab/clock.h"
#include "runners/fork.h"

struct client {
    pid_t pid;
    int server_fd;     /* the interpreter's end */
    int go_fd;         /* write end: one byte = go; closed = give up */
    int result_fd;     /* read end of the client's report */
};

/* ------------------------------------------------------------------------
 * The client process
 */

/* A growing array of latencies (seconds, as float: 7 significant digits
 * are plenty, and half the memory of double at a million requests). */
typedef struct samples {
    float *v;
    size_t n, cap;
} samples_t;

static int samples_add(samples_t *s, double x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 65536;
        float *v = realloc(s->v, cap * sizeof *v);
        if (v == NULL)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = (float)x;
    return 0;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n), n > 0. */
static double nearest_rank(const float *v, size_t n, double p)
{
    size_t rank = (size_t)ceil(p * (double)n);
    return v[rank > 0 ? rank - 1 : 0];
}

static void summarise(samples_t *s, client_result_t *r)
{
    r->requests = s->n;
    if (s->n == 0)
        return;
    for (size_t i = 0; i < s->n; i++)
        r->hist.count[run_hist_bucket(s->v[i])]++;
    qsort(s->v, s->n, sizeof *s->v, cmp_float);
    r->p50_s = nearest_rank(s->v, s->n, 0.50);
    r->p90_s = nearest_rank(s->v, s->n, 0.90);
    r->p99_s = nearest_rank(s->v, s->n, 0.99);
    r->p999_s = nearest_rank(s->v, s->n, 0.999);
    r->max_s = s->v[s->n - 1];
}

/* Read one reply into *v, waiting at most until deadline_ns. Returns 0, or
 * -1 with the reason in r->error. */
static int read_reply(int fd, uint64_t request, uint64_t deadline_ns, int64_t *v, client_result_t *r)
{
    unsigned char buf[BLK_MESSAGE_SIZE];
    size_t got = 0;
    while (got < sizeof buf) {
        uint64_t now = clock_now_ns();
        int left_ms = now >= deadline_ns ? 0 : (int)((deadline_ns - now + 999999) / 1000000);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = poll(&p, 1, left_ms);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc == 0) {
            snprintf(r->error, sizeof r->error,
                     "the server stopped answering: no reply to request %llu within the timeout",
                     (unsigned long long)request);
            return -1;
        }
        ssize_t n = rc < 0 ? -1 : read(fd, buf + got, sizeof buf - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(r->error, sizeof r->error, "the server closed the connection at request %llu%s%s",
                     (unsigned long long)request, n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
            return -1;
        }
        got += (size_t)n;
    }
    *v = blk_decode(buf);
    return 0;
}

static int send_request(int fd, uint64_t request, client_result_t *r)
{
    unsigned char buf[BLK_MESSAGE_SIZE];
    blk_encode((int64_t)request, buf);
    size_t put = 0;
    while (put < sizeof buf) {
        ssize_t n = send(fd, buf + put, sizeof buf - put, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(r->error, sizeof r->error, "cannot send request %llu: %s", (unsigned long long)request,
                     strerror(errno));
            return -1;
        }
        put += (size_t)n;
    }
    return 0;
}

/* The request loop. Returns 0, or -1 with r->error set. */
static int client_loop(int fd, const wl_client_t *cfg, samples_t *lat, client_result_t *r)
{
    uint64_t start = clock_now_ns(), end = start + (uint64_t)cfg->duration_ms * 1000000u;
    uint64_t timeout = (uint64_t)cfg->timeout_ms * 1000000u;
    uint64_t due, last = start;
    for (uint64_t request = 1;; request++) {
        if (cfg->rate > 0) {
            due = start + (uint64_t)((double)(request - 1) * 1e9 / (double)cfg->rate);
            if (due >= end)
                break;
            struct timespec ts = {(time_t)(due / 1000000000u), (long)(due % 1000000000u)};
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
                ;
        } else {
            due = clock_now_ns();
            if (due >= end)
                break;
        }
        uint64_t sent = due;   /* at a fixed rate: when it was due */
        int64_t reply;
        if (send_request(fd, request, r) < 0 || read_reply(fd, request, clock_now_ns() + timeout, &reply, r) < 0)
            return -1;
        last = clock_now_ns();
        if (reply != (int64_t)request + 1) {
            snprintf(r->error, sizeof r->error, "reply %llu is %lld, expected %llu: the echo is wrong",
                     (unsigned long long)request, (long long)reply, (unsigned long long)request + 1);
            return -1;
        }
        if (samples_add(lat, clock_seconds(last - sent)) < 0) {
            snprintf(r->error, sizeof r->error, "out of memory after %llu requests", (unsigned long long)request);
            return -1;
        }
    }
    r->duration_s = clock_seconds(last - start);
    return 0;
}

static void client_main(int fd, int go_fd, int result_fd, const wl_client_t *cfg) __attribute__((noreturn));
static void client_main(int fd, int go_fd, int result_fd, const wl_client_t *cfg)
{
    client_result_t r;
    samples_t lat = {0};
    char go;
    memset(&r, 0, sizeof r);
    ssize_t n;
    while ((n = read(go_fd, &go, 1)) < 0 && errno == EINTR)
        ;
    if (n != 1)
        _exit(0);   /* the run failed before it started: nothing to report */
    if (client_loop(fd, cfg, &lat, &r) == 0)
        summarise(&lat, &r);
    /* The end of our requests: the server's recv() returns 0. */
    shutdown(fd, SHUT_RDWR);
    free(lat.v);
    _exit(pipe_write_all(result_fd, &r, sizeof r) == 0 ? 0 : 3);
}

/* ------------------------------------------------------------------------
 * The runner's side
 */

client_t *client_start(const wl_client_t *cfg, char *err, size_t errlen)
{
    int sv[2] = {-1, -1}, go[2] = {-1, -1}, res[2] = {-1, -1};
    client_t *c = calloc(1, sizeof *c);
    pid_t parent = getpid();
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 || pipe2(go, O_CLOEXEC) < 0 ||
        pipe2(res, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "cannot create the client's socketpair and pipes: %s", strerror(errno));
        goto fail;
    }
    fflush(NULL);
    c->pid = fork();
    if (c->pid < 0) {
        snprintf(err, errlen, "cannot fork the client: %s", strerror(errno));
        goto fail;
    }
    if (c->pid == 0) {
        if (fork_child_bind_to_parent(parent) < 0)
            _exit(3);
        int keep[3] = {sv[1], go[0], res[1]};
        fork_child_close_fds(keep, 3);
        signal(SIGINT, SIG_IGN);   /* the lab handles Ctrl-C; we end with the socket */
        client_main(sv[1], go[0], res[1], cfg);
    }
    close(sv[1]);
    close(go[0]);
    close(res[1]);
    c->server_fd = sv[0];
    c->go_fd = go[1];
    c->result_fd = res[0];
    return c;
fail:
    for (int i = 0; i < 2; i++) {
        if (sv[i] >= 0)
            close(sv[i]);
        if (go[i] >= 0)
            close(go[i]);
        if (res[i] >= 0)
            close(res[i]);
    }
    free(c);
    return NULL;
}

int client_server_fd(const client_t *c)
{
    return c->server_fd;
}

void client_go(client_t *c)
{
    char go = 1;
    if (pipe_write_all(c->go_fd, &go, 1) < 0)
        return;   /* the client is gone: client_finish says how */
}

void client_server_done(client_t *c)
{
    shutdown(c->server_fd, SHUT_RDWR);
}

int client_finish(client_t *c, client_result_t *out, char *err, size_t errlen)
{
    if (c == NULL)
        return 0;
    close(c->go_fd);   /* a client never told to go leaves now */
    memset(out, 0, sizeof *out);
    int got = pipe_read_all(c->result_fd, out, sizeof *out) == 0;
    int status = 0;
    while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
        ;
    close(c->result_fd);
    close(c->server_fd);
    int rc = 0;
    if (!got) {
        char how[96];
        child_status_text(status, how, sizeof how);
        snprintf(err, errlen, "the client (pid %d) %s without a report", (int)c->pid, how);
        rc = -1;
    } else if (out->error[0] != '\0') {
        snprintf(err, errlen, "client: %s", out->error);
        rc = -1;
    }
    free(c);
    return rc;
}
