/* tests/tsan_blocking.c: blocking calls and the pre-3.2 GIL under
 * ThreadSanitizer (Criterion does not run there). Exits 0 on success, 1 at
 * the first failed check; TSan fails the run on any race it sees. The
 * scenarios are test_blocking.c's, from blocking_fixture.h, under gil and
 * gil-old:
 *
 *   1. a thread blocked in recv() inside bytecode has let the GIL go: the
 *      main thread can attach and send the message that wakes it
 *   2. 4 threads append to one global list, unlocked, around sleep(0):
 *      every append counted, every access ordered by the GIL
 *   3. gil-old without sleeps: only the check interval's release and
 *      re-acquire hands the lock around, and the appends stay exact
 */
#define _GNU_SOURCE 1 /* pthread_timedjoin_np (blocking_fixture.h) */
#include <stdio.h>

#include "blocking_fixture.h"
#include "check.h"

int main(void)
{
    static const guard_kind_t guards[] = {GUARD_gil, GUARD_gil_old};
    for (size_t i = 0; i < sizeof guards / sizeof guards[0]; i++) {
        blk_releases_the_gil(guards[i]);
        uint64_t s = blk_exclusion(guards[i], HEAP_malloc, 500, true);
        printf("tsan_blocking: %s: a blocked thread lets go; %dx500 appends around sleeps exact (%llu switches)\n",
               guard_name(guards[i]), BLK_W, (unsigned long long)s);
    }
    uint64_t s = blk_exclusion(GUARD_gil_old, HEAP_malloc, 5000, false);
    printf("tsan_blocking: gil-old: %dx5000 appends by ticks alone exact (%llu switches)\n", BLK_W,
           (unsigned long long)s);
    return 0;
}
