/* lab/clock.h: the one clock every timing in the lab reads: CLOCK_MONOTONIC,
 * immune to wall-clock adjustments, read only outside hot loops. */
#ifndef GL_CLOCK_H
#define GL_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static inline double clock_seconds(uint64_t ns)
{
    return (double)ns / 1e9;
}

#endif
