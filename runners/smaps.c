/* runners/smaps.c: reading /proc/PID/smaps_rollup (see smaps.h). */
#define _GNU_SOURCE /* getline */
#include "runners/smaps.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The rollup's lines this reads, and where each goes. */
#define SMAPS_FIELDS(X)                                                        \
    X("Rss:", rss_kib)                                                         \
    X("Pss:", pss_kib)                                                         \
    X("Shared_Clean:", shared_clean_kib)                                       \
    X("Shared_Dirty:", shared_dirty_kib)                                       \
    X("Private_Clean:", private_clean_kib)                                     \
    X("Private_Dirty:", private_dirty_kib)

int smaps_read(pid_t pid, smaps_t *out)
{
    char path[64];
    if (pid == 0)
        snprintf(path, sizeof path, "/proc/self/smaps_rollup");
    else
        snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    unsigned found = 0, wanted = 0;
#define X(key, field) wanted++;
    SMAPS_FIELDS(X)
#undef X
    while (getline(&line, &cap, f) > 0) {
        unsigned bit = 0;
#define X(key, field)                                                          \
    if (strncmp(line, key, sizeof key - 1) == 0) {                             \
        out->field = strtod(line + sizeof key - 1, NULL);                      \
        found |= 1u << bit;                                                    \
    }                                                                          \
    bit++;
        SMAPS_FIELDS(X)
#undef X
    }
    free(line);
    fclose(f);
    if (found != (1u << wanted) - 1) {
        errno = ENODATA;
        return -1;
    }
    return 0;
}
