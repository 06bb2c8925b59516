/* gil/objlock.c: the contended paths of the per-object lock (design in
 * objlock.h), after CPython's Python/lock.c. */
#include "gil/objlock.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "gil/parking_lot.h"
#include "lab/clock.h"

/* MAX_SPIN_COUNT of --disable-gil builds: yield this many times before
 * parking. */
#define OBJLOCK_SPINS 40
/* TIME_TO_BE_FAIR_NS: a waiter parked longer than this is handed the lock. */
#define OBJLOCK_FAIR_NS 1000000u

/* mutex_entry: what a parked waiter shares with the thread that wakes it. */
typedef struct objlock_waiter {
    uint64_t time_to_be_fair;   /* written by the waiter */
    int handed_off;             /* written by the unlocking thread */
} objlock_waiter_t;

/* _PyMutex_LockTimed with no timeout. */
void objlock_lock_slow(obj_t *o)
{
    uint8_t v = __atomic_load_n(&obj_ft(o)->mutex, __ATOMIC_RELAXED);
    objlock_waiter_t entry = {.time_to_be_fair = clock_now_ns() + OBJLOCK_FAIR_NS};
    int spins = 0;
    for (;;) {
        if ((v & OBJLOCK_LOCKED) == 0) {
            if (__atomic_compare_exchange_n(&obj_ft(o)->mutex, &v, (uint8_t)(v | OBJLOCK_LOCKED), 0,
                                            __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
                return;
            continue;   /* v was reloaded by the failed CAS */
        }
        if (!(v & OBJLOCK_HAS_PARKED) && spins < OBJLOCK_SPINS) {
            sched_yield();
            spins++;
            v = __atomic_load_n(&obj_ft(o)->mutex, __ATOMIC_RELAXED);
            continue;
        }
        uint8_t parked = (uint8_t)(v | OBJLOCK_HAS_PARKED);
        if (!(v & OBJLOCK_HAS_PARKED) &&
            !__atomic_compare_exchange_n(&obj_ft(o)->mutex, &v, parked, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            continue;
        if (parking_park(&obj_ft(o)->mutex, parked, &entry) && entry.handed_off)
            return;   /* the unlocking thread made us the holder */
        v = __atomic_load_n(&obj_ft(o)->mutex, __ATOMIC_RELAXED);
    }
}

/* mutex_unpark: called under the bucket lock with the waiter being woken
 * (or NULL). Decide the new lock byte: hand the lock over if the waiter has
 * waited long enough, keep HAS_PARKED if others still wait. */
static void objlock_unpark(void *park_arg, void *arg, bool has_more_waiters)
{
    objlock_waiter_t *entry = park_arg;
    obj_t *o = arg;
    uint8_t v = 0;
    if (entry != NULL) {
        int fair = clock_now_ns() > entry->time_to_be_fair;
        entry->handed_off = fair;
        if (fair)
            v |= OBJLOCK_LOCKED;
        if (has_more_waiters)
            v |= OBJLOCK_HAS_PARKED;
    }
    __atomic_store_n(&obj_ft(o)->mutex, v, __ATOMIC_RELEASE);
}

/* _PyMutex_TryUnlock, failing loudly as _PyMutex_UnlockSlow does. */
void objlock_unlock_slow(obj_t *o)
{
    uint8_t v = __atomic_load_n(&obj_ft(o)->mutex, __ATOMIC_RELAXED);
    for (;;) {
        if ((v & OBJLOCK_LOCKED) == 0) {
            fprintf(stderr, "gil-lab: fatal: unlocking an object lock that is not locked\n");
            abort();
        }
        if (v & OBJLOCK_HAS_PARKED) {
            parking_unpark(&obj_ft(o)->mutex, objlock_unpark, o);
            return;
        }
        if (__atomic_compare_exchange_n(&obj_ft(o)->mutex, &v, 0, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
            return;
    }
}
