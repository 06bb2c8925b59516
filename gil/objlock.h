/* gil/objlock.h: the per-object lock of the no-GIL guards, a one-byte lock
 * in the object header like free-threaded CPython's PyMutex (ob_mutex),
 * taken around container mutation (Py_BEGIN_CRITICAL_SECTION, as in
 * list.append()).
 *
 * The byte holds two bits, as PyMutex's does (Include/cpython/lock.h):
 *
 *   LOCKED      some thread holds the lock
 *   HAS_PARKED  some thread is (or may be) parked waiting for it
 *
 * Uncontended, locking is one compare-and-swap 0 -> LOCKED and unlocking
 * one compare-and-swap LOCKED -> 0 (PyMutex_Lock / PyMutex_Unlock). The
 * unlock CAS fails only when HAS_PARKED is set, and then the slow path
 * wakes a waiter. Contended, a thread spins a little (yielding the CPU
 * between tries), then sets HAS_PARKED and parks in the parking lot
 * (gil/parking_lot.h); a waiter that has waited more than 1 ms is handed
 * the lock directly by the unlocking thread, so nobody starves
 * (Python/lock.c: _PyMutex_LockTimed, _PyMutex_TryUnlock, mutex_unpark).
 */
#ifndef GL_OBJLOCK_H
#define GL_OBJLOCK_H

#include "lab/object.h"

#define OBJLOCK_LOCKED 1u      /* _Py_LOCKED */
#define OBJLOCK_HAS_PARKED 2u  /* _Py_HAS_PARKED */

/* The contended paths (gil/objlock.c). Cannot fail; unlocking a lock that
 * is not held aborts, as Py_FatalError does. */
void objlock_lock_slow(obj_t *o);
void objlock_unlock_slow(obj_t *o);

static inline void objlock_lock(obj_t *o)
{
    uint8_t expected = 0;
    if (!__atomic_compare_exchange_n(&obj_ft(o)->mutex, &expected, OBJLOCK_LOCKED, 0, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        objlock_lock_slow(o);
}

static inline void objlock_unlock(obj_t *o)
{
    uint8_t expected = OBJLOCK_LOCKED;
    if (!__atomic_compare_exchange_n(&obj_ft(o)->mutex, &expected, 0, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        objlock_unlock_slow(o);
}

#endif
