/* tests/tsan_guards.c: refcount exactness of the thread-safe guards (gil,
 * atomic, biased) as a plain program, meant to run under ThreadSanitizer
 * (Criterion does not). Exits 0 and prints one line per guard on success;
 * exits 1 with a message at the first failed check. TSan itself fails the
 * run on any data race it sees in the code under test.
 *
 * The scenarios are test_guards.c's, from guard_races.h, at sizes TSan can
 * afford. Per guard and allocator:
 *   1. hammer: 4 threads plus the owning main thread incref/decref a list
 *      and large ints the main thread created, in batches (attached, so
 *      holding the GIL under gil, polling the eval breaker like the
 *      interpreter loop); each worker then drops a reference the main
 *      thread handed it (under biased: the queue-and-merge path). Counts
 *      end exact, and the last decref frees every object exactly once.
 *   2. concurrent list.append on one list: no append lost or duplicated.
 *   3. real bytecode: the `shared` workload run by 4 threads, counts exact
 *      afterwards, with immortal statics (malloc) and with --no-immortal
 *      (pymalloc).
 * Per guard:
 *   4. immortal objects are bit-for-bit unchanged by concurrent traffic.
 *   5. biased only: the owner exits while other threads still hold and use
 *      its objects; half drop theirs before it exits (queued to it, merged
 *      by tstate_delete), half after (merged on the spot); some objects
 *      are merged at a zero local count with shared references left.
 *
 * Allocators: malloc (which TSan intercepts) and the lab's pymalloc (built
 * with TSan, locked under atomic/biased, GIL-protected under gil). Not
 * mimalloc: the system library is not instrumented, so TSan cannot see its
 * internal synchronisation and reports a block's reuse by another thread
 * as a race with its previous owner's writes.
 *
 * Sized to finish in a few seconds under TSan on 2 cores.
 */
#include <stdio.h>

#include "check.h"
#include "guard_races.h"
#include "lab_fixture.h"

static const race_sizes_t sizes = RACE_SIZES_TSAN;

int main(void)
{
    static const guard_kind_t guards[] = {GUARD_gil, GUARD_atomic, GUARD_biased};
    static const heap_kind_t heaps[] = {HEAP_malloc, HEAP_pymalloc};
    for (size_t gi = 0; gi < sizeof(guards) / sizeof(guards[0]); gi++) {
        guard_kind_t g = guards[gi];
        for (size_t hi = 0; hi < sizeof(heaps) / sizeof(heaps[0]); hi++) {
            race_hammer(g, heaps[hi], &sizes);
            race_append(g, heaps[hi], &sizes);
            race_shared_workload(g, heaps[hi], hi == 0, &sizes);
        }
        race_immortal(g, &sizes);
        if (g == GUARD_biased)
            for (size_t hi = 0; hi < sizeof(heaps) / sizeof(heaps[0]); hi++)
                race_owner_exit(heaps[hi], &sizes);
        printf("tsan_guards: %s: ok (hammer %dx%d + owner, append %dx%d, shared workload, immortal%s)\n",
               guard_name(g), RACE_W, sizes.hammer, RACE_W, sizes.appends,
               g == GUARD_biased ? ", owner exit" : "");
    }
    return 0;
}
