/* tests/tsan_objlock.c: the per-object lock (gil/objlock.h), PyMutex's
 * protocol, as a plain program for ThreadSanitizer (and every other build).
 * Exits 0 after one line per check, 1 at the first failure.
 *
 *   1. mutual exclusion: threads increment a plain counter under the lock
 *      of one object; no increment is lost (TSan also sees no race).
 *   2. parking: a thread that finds the lock held spins, then sets
 *      HAS_PARKED and parks; unlocking must then wake it (the unlock CAS
 *      fails on the HAS_PARKED bit and takes the slow path).
 *   3. fairness: a waiter parked for more than 1 ms is handed the lock by
 *      the unlocking thread, which therefore cannot take it straight back
 *      (TIME_TO_BE_FAIR_NS in Python/lock.c).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "check.h"
#include "gil/objlock.h"

enum { THREADS = 4, ROUNDS = 20000 };

/* An object with the free-threaded header in front of it, where the lock
 * lives (ob_mutex). */
static struct {
    obj_head_ft_t head;
    obj_t ob;
} target_storage;
#define target (target_storage.ob)
static long counter;

static void *hammer_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        objlock_lock(&target);
        counter++;
        objlock_unlock(&target);
    }
    return NULL;
}

static void mutual_exclusion(void)
{
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_create(&th[i], NULL, hammer_main, NULL) == 0, "pthread_create");
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_join(th[i], NULL) == 0, "pthread_join");
    CHECK(counter == (long)THREADS * ROUNDS, "%ld increments, expected %d", counter, THREADS * ROUNDS);
    CHECK(__atomic_load_n(&obj_ft(&target)->mutex, __ATOMIC_RELAXED) == 0, "the lock is free at the end");
    printf("tsan_objlock: mutual exclusion: ok (%d threads x %d)\n", THREADS, ROUNDS);
}

static int waiter_has_lock;   /* atomic */

static void *waiter_main(void *arg)
{
    (void)arg;
    objlock_lock(&target);
    __atomic_store_n(&waiter_has_lock, 1, __ATOMIC_RELEASE);
    objlock_unlock(&target);
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Wait (up to 5 s) until a thread has parked on the target's lock. */
static void wait_for_parked_waiter(void)
{
    for (int i = 0; i < 5000 && !(__atomic_load_n(&obj_ft(&target)->mutex, __ATOMIC_ACQUIRE) & OBJLOCK_HAS_PARKED); i++)
        sleep_ms(1);
    CHECK(__atomic_load_n(&obj_ft(&target)->mutex, __ATOMIC_ACQUIRE) & OBJLOCK_HAS_PARKED, "the waiter parked");
}

/* 2 and 3: the holder releases to a parked waiter that has waited > 1 ms. */
static void parking_and_hand_off(void)
{
    objlock_lock(&target);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, waiter_main, NULL) == 0, "pthread_create");
    wait_for_parked_waiter();
    sleep_ms(5);   /* well past the 1 ms after which a waiter is owed the lock */
    objlock_unlock(&target);
    /* Handed off: the waiter holds it now, even if it has not run yet, so
     * an attempt to take it back fails. */
    uint8_t expected = 0;
    bool retaken = __atomic_compare_exchange_n(&obj_ft(&target)->mutex, &expected, OBJLOCK_LOCKED, 0,
                                               __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
    CHECK(!retaken, "the unlocking thread took the lock back from a waiter that waited 5 ms");
    CHECK(pthread_join(th, NULL) == 0, "pthread_join");
    CHECK(__atomic_load_n(&waiter_has_lock, __ATOMIC_ACQUIRE) == 1, "the parked waiter got the lock");
    CHECK(__atomic_load_n(&obj_ft(&target)->mutex, __ATOMIC_RELAXED) == 0, "the lock is free at the end");
    printf("tsan_objlock: parking and fair hand-off: ok\n");
}

int main(void)
{
    mutual_exclusion();
    parking_and_hand_off();
    return 0;
}
