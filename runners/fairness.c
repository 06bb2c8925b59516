/* runners/fairness.c: how evenly W threads shared one GIL.
 *
 * A GIL hands the interpreter to one thread at a time, so over a run of
 * wall time T the W threads together hold it for at most T; shared evenly,
 * each holds T/W. A worker's share is the time it held the GIL over the
 * wall time, and its fair share is 1/W. Jain's index over the shares,
 *
 *     J = (sum x)^2 / (n * sum x^2),
 *
 * is 1 when every worker held it as long as the others and 1/n when one
 * held it all (R. Jain, D. Chiu, W. Hawe, "A Quantitative Measure of
 * Fairness", DEC-TR-301, 1984). A worker is starved when it held the GIL
 * under half of what it was due: its fair share 1/W, or, when it wanted
 * less (an I/O thread blocked most of the run neither holds nor asks),
 * the time it wanted it, held + waited. So a thread that blocks is not
 * starved by its own blocking, but one that waits longer than it holds
 * (the convoy's server) is. Pure arithmetic: the runner feeds it each
 * repeat's shares, the table each worker's median share and demand.
 */
#include "runners/runner.h"

double run_jain(const double *share, int n)
{
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; i++) {
        sum += share[i];
        sum2 += share[i] * share[i];
    }
    /* Nobody held it: all got the same nothing. */
    return sum2 > 0 ? sum * sum / (n * sum2) : 1.0;
}

double run_wanted(const run_fair_t *f, double wall_s)
{
    return wall_s > 0 ? f->share + f->wait_s / wall_s : 0;
}

bool run_starved(double share, double wanted, int n)
{
    /* One worker has nobody to starve it: a low share is its own blocking. */
    double due = wanted < 1.0 / n ? wanted : 1.0 / n;
    return n >= 2 && share < 0.5 * due;
}
