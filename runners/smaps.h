/* runners/smaps.h: a process's memory as the kernel accounts it after a
 * fork, from /proc/PID/smaps_rollup (Linux 4.14+): the figures that show
 * copy-on-write at work.
 *
 *   Rss            pages mapped, shared or not
 *   Pss            each page divided by the number of processes that map
 *                  it: summed over a family of processes, their real cost
 *   Shared_Clean   pages still shared with another process, unwritten
 *   Shared_Dirty   written before the fork, still shared
 *   Private_Dirty  written, and this process's own: after a fork, a page
 *                  the child wrote has been copied for it
 *
 * Reading it walks the process's page tables, so it is not free; the lab
 * reads it outside workers' own timers and only when a run asks.
 */
#ifndef GL_RUNNERS_SMAPS_H
#define GL_RUNNERS_SMAPS_H

#include <sys/types.h>

typedef struct smaps {
    double rss_kib, pss_kib, shared_clean_kib, shared_dirty_kib, private_clean_kib, private_dirty_kib;
} smaps_t;

/* Read process pid's rollup (0: the calling process). Returns 0, or -1
 * (errno set) when the file cannot be read or lacks a field. */
int smaps_read(pid_t pid, smaps_t *out);

#endif
