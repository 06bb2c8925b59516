/* tests/tsan_gil.c: the GIL's race checks as a plain program, meant to run
 * under ThreadSanitizer (Criterion does not). Exits 0 on success, 1 with a
 * message on the first failed check. The scenarios are test_gil.c's, from
 * gil_fixture.h:
 *
 *   1. Mutual exclusion: 4 threads each bump one plain, non-atomic counter
 *      100000 times in a mini interpreter loop (poll the eval breaker every
 *      100 iterations, gil_yield when the drop bit is set). The total must
 *      be exact, no two threads may be inside at once, and TSan must see
 *      every access ordered by the GIL.
 *   2. Handover: two CPU-bound threads that never drop voluntarily both make
 *      progress, which only a drop request plus a forced switch allows.
 *
 * Nothing asserts a timing: where a check needs "the other thread ran", the
 * main thread waits for it (sleeping, bounded at ~30 s).
 */
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "gil_fixture.h"

#define ITERATIONS 100000

int main(void)
{
    mini_t m;
    uint64_t s1 = mini_mutual_exclusion(&m, ITERATIONS);
    uint64_t s2 = mini_handover(&m);
    printf("tsan_gil: %d threads x %d increments: ok, %llu switches; "
           "handover: ok, %llu switches\n",
           MINI_THREADS, ITERATIONS, (unsigned long long)s1, (unsigned long long)s2);
    return 0;
}
