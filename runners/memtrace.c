/* runners/memtrace.c: the sampler thread of a memory trace (see
 * memtrace.h). */
#define _GNU_SOURCE
#include "runners/memtrace.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gil/gil.h"
#include "lab/clock.h"
#include "lab/test_hooks.h"
#include "runners/internal.h"

struct memtrace_sampler {
    pthread_t thread;
    pthread_mutex_t lock;       /* stop; adding a child */
    pthread_cond_t wake;        /* the stop (CLOCK_MONOTONIC, as the ticks) */
    tracer_t *tracer;
    uint64_t interval_ns;
    uint64_t t0_ns;
    bool stop;
    /* Room for every worker, made at the start: a child is written, then
     * published by a release store of nchildren, so that the sampler reads
     * the list without a lock and never holds up the next fork while it
     * reads a thousand /proc files. */
    pid_t *children;
    size_t nchildren, cap_children;
    memtrace_t trace;
    size_t cap_points;
    bool failed;                /* out of memory for the points */
};

/* Resident KiB of a process (0: the calling one) from /proc/PID/statm;
 * NaN when it cannot be read (errno set): a worker that has gone. */
static double memtrace_rss_kib(pid_t pid)
{
    char path[48];
    if (pid == 0)
        snprintf(path, sizeof path, "/proc/self/statm");
    else
        snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
    /* open and read into the stack, no stdio: the repeat process forks
     * its workers while this thread samples, and a fork while another
     * thread holds an allocator's lock (stdio's buffer) can leave the
     * child's allocator locked for ever under a sanitizer's runtime. */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NAN;
    char text[128];
    ssize_t got = read(fd, text, sizeof text - 1);
    close(fd);
    unsigned long size, resident;
    if (got <= 0 || (text[got] = '\0', sscanf(text, "%lu %lu", &size, &resident)) != 2) {
        errno = ENODATA;
        return NAN;
    }
    return (double)resident * (double)sysconf(_SC_PAGESIZE) / 1024.0;
}

static void memtrace_sample(memtrace_sampler_t *s)
{
    memtrace_point_t p = {.t_s = clock_seconds(clock_now_ns() - s->t0_ns), .heap_bytes = NAN, .heap_blocks = NAN};
    p.rss_kib = memtrace_rss_kib(0);
    size_t nchildren = __atomic_load_n(&s->nchildren, __ATOMIC_ACQUIRE);
    for (size_t i = 0; i < nchildren; i++) {
        GL_TEST_HOOK(memtrace_child, &s->children[i]);
        double kib = memtrace_rss_kib(s->children[i]);
        p.rss_kib += isnan(kib) ? 0 : kib;   /* gone: nothing resident */
    }
    if (s->tracer != NULL) {
        size_t bytes, blocks;
        trace_get(s->tracer, &bytes, NULL, &blocks, NULL);
        p.heap_bytes = (double)bytes;
        p.heap_blocks = (double)blocks;
    }
    memtrace_t *t = &s->trace;
    if (t->npoints == MEMTRACE_MAX_POINTS || s->failed) {
        t->dropped++;
        return;
    }
    if (t->npoints == s->cap_points) {
        size_t cap = s->cap_points ? 2 * s->cap_points : 1024;
        memtrace_point_t *grown = realloc(t->points, cap * sizeof *grown);
        if (grown == NULL) {
            s->failed = true;
            return;
        }
        t->points = grown;
        s->cap_points = cap;
    }
    t->points[t->npoints++] = p;
}

/* A sample at every tick until the stop, which wakes the sampler at once
 * for a last sample at the run's end: a run shorter than the interval
 * still has two points (one draws no line), and the repeat does not wait
 * out an interval of up to a second before it can report. */
static void *memtrace_main(void *arg)
{
    memtrace_sampler_t *s = arg;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    bool stop = false;
    while (!stop) {
        memtrace_sample(s);
        uint64_t ns = (uint64_t)next.tv_nsec + s->interval_ns;
        next.tv_sec += (time_t)(ns / 1000000000u);
        next.tv_nsec = (long)(ns % 1000000000u);
        GL_PTHREAD_CHECK(pthread_mutex_lock(&s->lock));
        int rc = 0;
        while (!s->stop && rc != ETIMEDOUT) {
            rc = pthread_cond_timedwait(&s->wake, &s->lock, &next);
            if (rc != ETIMEDOUT)
                GL_PTHREAD_CHECK(rc);
        }
        stop = s->stop;
        GL_PTHREAD_CHECK(pthread_mutex_unlock(&s->lock));
    }
    memtrace_sample(s);
    return NULL;
}

memtrace_sampler_t *memtrace_start(tracer_t *tracer, uint64_t interval_us, size_t max_children, char *err,
                                   size_t errlen)
{
    /* The samples' RSS starts with this process's own: without it (no
     * /proc) the trace would be zeros, so the run stops here instead, as
     * --pss and cow do. */
    if (isnan(memtrace_rss_kib(0))) {
        snprintf(err, errlen, "--memory-trace: cannot read /proc/self/statm: %s", strerror(errno));
        return NULL;
    }
    memtrace_sampler_t *s = calloc(1, sizeof *s);
    if (s != NULL && max_children > 0 && (s->children = calloc(max_children, sizeof *s->children)) == NULL) {
        free(s);
        s = NULL;
    }
    if (s == NULL) {
        snprintf(err, errlen, "out of memory for the memory trace");
        return NULL;
    }
    s->cap_children = max_children;
    GL_PTHREAD_CHECK(pthread_mutex_init(&s->lock, NULL));
    pthread_condattr_t attr;
    GL_PTHREAD_CHECK(pthread_condattr_init(&attr));
    GL_PTHREAD_CHECK(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC));
    GL_PTHREAD_CHECK(pthread_cond_init(&s->wake, &attr));
    GL_PTHREAD_CHECK(pthread_condattr_destroy(&attr));
    s->tracer = tracer;
    s->interval_ns = interval_us * 1000u;
    s->t0_ns = clock_now_ns();
    int rc = pthread_create(&s->thread, NULL, memtrace_main, s);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the memory sampler: %s", strerror(rc));
        GL_PTHREAD_CHECK(pthread_cond_destroy(&s->wake));
        GL_PTHREAD_CHECK(pthread_mutex_destroy(&s->lock));
        free(s->children);
        free(s);
        return NULL;
    }
    return s;
}

void memtrace_add_child(memtrace_sampler_t *s, pid_t pid)
{
    GL_PTHREAD_CHECK(pthread_mutex_lock(&s->lock));
    size_t n = s->nchildren;
    if (n < s->cap_children) {
        s->children[n] = pid;
        __atomic_store_n(&s->nchildren, n + 1, __ATOMIC_RELEASE);
    }
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&s->lock));
}

int memtrace_stop(memtrace_sampler_t *s, const gc_state_t *gc, const gc_mark_t *since, memtrace_t *out)
{
    GL_PTHREAD_CHECK(pthread_mutex_lock(&s->lock));
    s->stop = true;
    GL_PTHREAD_CHECK(pthread_cond_signal(&s->wake));
    GL_PTHREAD_CHECK(pthread_mutex_unlock(&s->lock));
    GL_PTHREAD_CHECK(pthread_join(s->thread, NULL));
    *out = s->trace;
    bool failed = s->failed;
    size_t n = gc->nevents - since->nevents;
    if (!failed && n > 0) {
        out->gcs = malloc(n * sizeof *out->gcs);
        failed = out->gcs == NULL;
        for (size_t k = 0; !failed && k < n; k++) {
            const gc_event_t *e = &gc->events[since->nevents + k];
            out->gcs[k] = (memtrace_gc_t){.t_s = clock_seconds(e->start_ns - s->t0_ns),
                                          .pause_s = clock_seconds(e->pause_ns),
                                          .generation = e->generation};
        }
        out->ngcs = failed ? 0 : n;
    }
    GL_PTHREAD_CHECK(pthread_cond_destroy(&s->wake));
    GL_PTHREAD_CHECK(pthread_mutex_destroy(&s->lock));
    free(s->children);
    free(s);
    if (failed) {
        memtrace_free(out);
        return -1;
    }
    return 0;
}

void memtrace_free(memtrace_t *t)
{
    if (t == NULL)
        return;
    free(t->points);
    free(t->gcs);
    memset(t, 0, sizeof *t);
}

/* The counts first, then each array. */
int memtrace_write(int fd, const memtrace_t *t)
{
    size_t head[3] = {t->npoints, t->dropped, t->ngcs};
    if (pipe_write_all(fd, head, sizeof head) < 0)
        return -1;
    if (t->npoints && pipe_write_all(fd, t->points, t->npoints * sizeof *t->points) < 0)
        return -1;
    if (t->ngcs && pipe_write_all(fd, t->gcs, t->ngcs * sizeof *t->gcs) < 0)
        return -1;
    return 0;
}

int memtrace_read(int fd, memtrace_t *out)
{
    size_t head[3];
    memset(out, 0, sizeof *out);
    if (pipe_read_all(fd, head, sizeof head) < 0)
        return -1;
    if (head[0] > MEMTRACE_MAX_POINTS || head[2] > ((size_t)1 << 26)) {
        errno = EPROTO;
        return -1;
    }
    out->points = head[0] ? malloc(head[0] * sizeof *out->points) : NULL;
    out->gcs = head[2] ? malloc(head[2] * sizeof *out->gcs) : NULL;
    if ((head[0] && out->points == NULL) || (head[2] && out->gcs == NULL)) {
        memtrace_free(out);
        errno = ENOMEM;
        return -1;
    }
    out->npoints = head[0];
    out->dropped = head[1];
    out->ngcs = head[2];
    if ((out->npoints && pipe_read_all(fd, out->points, out->npoints * sizeof *out->points) < 0) ||
        (out->ngcs && pipe_read_all(fd, out->gcs, out->ngcs * sizeof *out->gcs) < 0)) {
        memtrace_free(out);
        return -1;
    }
    return 0;
}
