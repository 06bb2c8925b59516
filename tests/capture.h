/* tests/capture.h: what a printing function writes, as a string, for the
 * suites that check printed output (test_eval's disassembly, test_pymalloc's
 * heap views, test_stats' CSV and JSON). Failures go through CHECK
 * (tests/check.h).
 */
#ifndef GL_TESTS_CAPTURE_H
#define GL_TESTS_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "check.h"

/* Run print(f, arg) into a memory stream; returns the text, NUL-terminated,
 * which the caller frees. Kept out of line: inlined into a caller, GCC 12
 * takes the returned text for a pointer to the local `text` and warns
 * (-Wdangling-pointer). */
__attribute__((noinline, unused)) static char *capture(void (*print)(FILE *f, const void *arg), const void *arg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK(f != NULL, "open_memstream");
    print(f, arg);
    CHECK(fclose(f) == 0, "fclose of the memory stream");
    return text;
}

#endif
