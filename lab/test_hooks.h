/* lab/test_hooks.h: places where a test can stop the lab in the middle of
 * a protocol, to reproduce an interleaving that a race needs (a thread
 * freeing an object between two steps of another thread's merge).
 *
 * Compiled only into the core the tests link (GL_TEST_HOOKS, CMake target
 * gl_core_test); in the gil-lab binary every GL_TEST_HOOK is nothing at
 * all, so no timed path carries a branch for a test. Each hook is a
 * function pointer a test sets before the run and clears after; it is
 * called with the object at hand.
 *
 *   brc_after_merge        an explicit merge has just published the merged
 *                          count (gil/brc.c brc_explicit_merge)
 *   brc_before_merge_item  an owner is about to merge one object from its
 *                          queue (gil/brc.c brc_merge_queue)
 *   memtrace_child         the memory sampler is about to read a forked
 *                          worker's RSS (runners/memtrace.c; the pid)
 *   blocking_enter         a thread has detached and is about to make a
 *                          blocking system call (lab/blocking.c blk_call);
 *                          called with its tstate
 */
#ifndef GL_TEST_HOOKS_H
#define GL_TEST_HOOKS_H

#define GL_TEST_HOOK_LIST(X) X(brc_after_merge) X(brc_before_merge_item) X(memtrace_child) X(blocking_enter)

#ifdef GL_TEST_HOOKS
typedef void (*gl_test_hook_fn)(void *arg);
#define X(name) extern gl_test_hook_fn gl_hook_##name;
GL_TEST_HOOK_LIST(X)
#undef X
#define GL_TEST_HOOK(name, arg)                                                \
    do {                                                                       \
        if (gl_hook_##name != 0)                                               \
            gl_hook_##name(arg);                                               \
    } while (0)
#else
#define GL_TEST_HOOK(name, arg) ((void)0)
#endif

#endif
