/* cli/sweep.h: from `run`'s options to the rows of a sweep.
 *
 * Every axis is a list and the sweep is their cross product, in this
 * order (outermost first): workload, size, parameter values, switch
 * interval, guard, allocator, mode (single first: it is the default
 * baseline), workers. The core vetoes each row (run_spec_check) before
 * anything runs.
 *
 * Strong scaling (the default) gives every row the size it was asked for,
 * split over its workers; weak scaling (--scaling weak) gives every worker
 * that size, so a row's size is size x workers: the same wl_share split
 * then hands each worker the same share (Tools/ftscalingbench's shape).
 *
 * --min-time S replaces the default sizes by calibrated ones: a short
 * trial of each workload's single row (doubling its size until one run
 * takes a tenth of S), then the size that makes it take S, rounded up to
 * two significant digits (likwid-bench -s, pyperf's calibration).
 */
#ifndef GL_CLI_SWEEP_H
#define GL_CLI_SWEEP_H

#include "cli/args.h"

/* The rows into *out (malloc'd) and their count into *count. sizes, when
 * not NULL, holds one size per workload of a (the --min-time choice) and
 * replaces -n. Returns CLI_EXIT_OK (with at least one row: a single-only
 * guard's rows are skipped only beside its single row); CLI_EXIT_USAGE with
 * the reason in err when the core refuses a row; CLI_EXIT_FAILED when out
 * of memory. */
int sweep_build(const cli_run_args_t *a, const int64_t *sizes, run_spec_t **out, int *count,
                char *err, size_t errlen);

/* --min-time: one size per workload of a into sizes[], and a sentence per
 * workload saying what was chosen and why into note. Runs trials (seconds
 * of work). Returns 0, or -1 with the reason in err (a trial failed). */
int sweep_min_time(const cli_run_args_t *a, int64_t *sizes, char *note, size_t notelen,
                   char *err, size_t errlen);

/* "countdown threads gil pymalloc j=2" for progress and messages. Cannot
 * fail (truncates). */
void sweep_label(const run_spec_t *s, char *buf, size_t len);

#endif
