/* tests/check.h: CHECK(cond, fmt, ...), the one way the shared test fixtures
 * (lab_fixture.h, guard_races.h, gil_fixture.h) report a failed check.
 *
 * The fixtures serve two kinds of programs:
 *
 *   - Criterion suites (test_*.c). Each defines CHECK as cr_assert before it
 *     includes a fixture:
 *         #include <criterion/criterion.h>
 *         #define CHECK(cond, ...) cr_assert(cond, __VA_ARGS__)
 *   - plain drivers (tsan_*.c), which run under ThreadSanitizer where
 *     Criterion cannot. They take the default below: print the condition,
 *     where it failed and the message on stderr, and exit 1.
 *
 * Either way CHECK is called from the test's main thread only: a failing
 * cr_assert in another thread is not safe, so worker threads count their
 * failures and the main thread checks the counts after joining.
 */
#ifndef GL_TESTS_CHECK_H
#define GL_TESTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#ifndef CHECK
#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "FAILED: %s (%s:%d): ", #cond, __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            exit(1);                                                           \
        }                                                                      \
    } while (0)
#endif

#endif
