/* gil/parking_lot.h: where a thread waits for a one-byte lock, modelled on
 * CPython's parking lot (Python/parking_lot.c, after WebKit's).
 *
 * A lock that must stay one byte (the per-object mutex in every object
 * header) has no room for a queue of waiters. So waiting threads "park" in
 * a global table keyed by the lock's address: a fixed number of buckets,
 * each a mutex and a FIFO of waiters; each waiter sleeps on its own
 * semaphore (here a mutex and a condition variable). Parking re-checks the
 * lock byte under the bucket mutex, so a wake-up can never be lost between
 * the check and the sleep; unparking dequeues the oldest waiter on that
 * address and runs a callback under the bucket mutex, which lets the
 * unlocking thread decide, atomically with the wake-up, whether to hand the
 * lock over (gil/objlock.c).
 *
 * Simplifications: no timeouts, and no detaching the thread state while
 * parked (CPython's PyMutex_Lock passes _PY_LOCK_DETACH, so that a
 * stop-the-world pause need not wait for a thread parked on an object's
 * lock). In the lab a parked thread stays attached: a pause waits until it
 * gets its lock and reaches its next eval-breaker check. No deadlock
 * follows, since no object lock is held across such a check, but the pause
 * is longer by that wait.
 */
#ifndef GL_PARKING_LOT_H
#define GL_PARKING_LOT_H

#include <stdbool.h>
#include <stdint.h>

/* Park the calling thread on `addr` if *addr still equals `expected`
 * (checked under the bucket lock). `park_arg` is handed to the unparker's
 * callback. Returns true once woken by parking_unpark, false at once if
 * *addr had changed. Cannot fail (pthread errors abort). */
bool parking_park(const uint8_t *addr, uint8_t expected, void *park_arg);

/* Called by parking_unpark under the bucket lock: park_arg of the waiter
 * being woken (NULL when nobody waited on addr), the unparker's own arg,
 * and whether other threads are still parked in that bucket. */
typedef void (*parking_unpark_fn)(void *park_arg, void *arg, bool has_more_waiters);

/* Wake the longest-waiting thread parked on `addr`, calling fn first.
 * Cannot fail. */
void parking_unpark(const void *addr, parking_unpark_fn fn, void *arg);

/* In a forked child: re-create the bucket locks (another thread may have
 * held one at the fork) and forget waiters that did not survive it. Cannot
 * fail. */
void parking_after_fork_child(void);

#endif
