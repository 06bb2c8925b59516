/* gil/objlock.h: the per-object lock of the no-GIL guards, a one-byte lock
 * in the object header like free-threaded CPython's PyMutex (ob_mutex),
 * taken around container mutation (Py_BEGIN_CRITICAL_SECTION).
 *
 * CPython's PyMutex spins briefly and then parks the thread in a "parking
 * lot" keyed by the lock's address. The lab spins briefly and then yields
 * the CPU (sched_yield), which has the same uncontended cost (one CAS to
 * take, one store to release) and is simpler; the README says so.
 */
#ifndef GL_OBJLOCK_H
#define GL_OBJLOCK_H

#include <sched.h>

#include "lab/object.h"

static inline void objlock_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline void objlock_lock(obj_t *o)
{
    for (int spins = 0;; spins++) {
        uint8_t expected = 0;
        if (__atomic_compare_exchange_n(&o->mutex, &expected, 1, 0, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            return;
        if (spins >= 40)
            sched_yield();
        else
            objlock_cpu_relax();
    }
}

static inline void objlock_unlock(obj_t *o)
{
    __atomic_store_n(&o->mutex, 0, __ATOMIC_RELEASE);
}

#endif
