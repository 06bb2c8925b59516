/* lab/blocking.c: the system calls behind CALL_BLOCKING (see blocking.h).
 * Everything here runs with the calling thread detached: no object is
 * touched, and errors are returned as text for the loop to raise once it
 * has attached again. */
#define _POSIX_C_SOURCE 200809L /* clock_nanosleep */
#include "lab/blocking.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gil/trace.h"
#include "lab/interp.h"
#include "lab/test_hooks.h"

#define NS_PER_SEC 1000000000LL

void blk_encode(int64_t v, unsigned char buf[BLK_MESSAGE_SIZE])
{
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < BLK_MESSAGE_SIZE; i++)
        buf[i] = (unsigned char)(u >> (8 * i));
}

int64_t blk_decode(const unsigned char buf[BLK_MESSAGE_SIZE])
{
    uint64_t u = 0;
    for (int i = 0; i < BLK_MESSAGE_SIZE; i++)
        u |= (uint64_t)buf[i] << (8 * i);
    return (int64_t)u;
}

/* OSError text for errno e, as CPython words it. Returns -1. */
static int os_error(int e, char *err, size_t errlen)
{
    snprintf(err, errlen, "OSError: [Errno %d] %s", e, strerror(e));
    return -1;
}

/* pysleep: sleep to an absolute deadline, so an interrupted sleep resumes
 * for what is left. */
static int blk_sleep(int64_t us, char *err, size_t errlen)
{
    if (us < 0) {
        snprintf(err, errlen, "ValueError: sleep length must be non-negative");
        return -1;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    int64_t ns = deadline.tv_nsec + (us % 1000000) * 1000;
    deadline.tv_sec += (time_t)(us / 1000000 + ns / NS_PER_SEC);
    deadline.tv_nsec = (long)(ns % NS_PER_SEC);
    int rc;
    while ((rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL)) == EINTR)
        ;
    return rc == 0 ? 0 : os_error(rc, err, errlen);
}

/* One message from fd: the value, or 0 when the stream ended before it. */
static int blk_recv(int64_t fd, int64_t *out, char *err, size_t errlen)
{
    unsigned char buf[BLK_MESSAGE_SIZE];
    size_t got = 0;
    while (got < sizeof buf) {
        ssize_t n = read((int)fd, buf + got, sizeof buf - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return os_error(errno, err, errlen);
        if (n == 0) {
            if (got == 0) {
                *out = 0;
                return 0;
            }
            snprintf(err, errlen, "ConnectionError: the stream ended inside a message (%zu of %d bytes)",
                     got, BLK_MESSAGE_SIZE);
            return -1;
        }
        got += (size_t)n;
    }
    *out = blk_decode(buf);
    return 0;
}

static int blk_send(int64_t fd, int64_t v, char *err, size_t errlen)
{
    unsigned char buf[BLK_MESSAGE_SIZE];
    size_t put = 0;
    blk_encode(v, buf);
    while (put < sizeof buf) {
        ssize_t n = write((int)fd, buf + put, sizeof buf - put);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return os_error(errno, err, errlen);
        put += (size_t)n;
    }
    return 0;
}

int blk_call(tstate_t *ts, blocking_t kind, int64_t a, int64_t b, int64_t *out, char *err,
             size_t errlen)
{
    trace_buf_t *trace = ts->gil.trace;
    int rc;
    *out = 0;
    if ((kind == BLOCKING_RECV || kind == BLOCKING_SEND) && (a < 0 || a > INT32_MAX))
        return os_error(EBADF, err, errlen);
    uint64_t t0 = clock_now_ns();
    if (trace != NULL)
        trace_record_at(trace, TRACE_BLOCK_BEGIN, (uint32_t)kind, t0);
    GL_TEST_HOOK(blocking_enter, ts);
    switch (kind) {
    case BLOCKING_SLEEP: rc = blk_sleep(a, err, errlen); break;
    case BLOCKING_RECV: rc = blk_recv(a, out, err, errlen); break;
    case BLOCKING_SEND: rc = blk_send(a, b, err, errlen); break;
    default:
        snprintf(err, errlen, "SystemError: bad CALL_BLOCKING argument %d", (int)kind);
        rc = -1;
        break;
    }
    uint64_t t1 = clock_now_ns();
    ts->count.blocked_ns += t1 - t0;
    ts->count.blocking_calls++;
    if (trace != NULL)
        trace_record_at(trace, TRACE_BLOCK_END, (uint32_t)kind, t1);
    return rc;
}
