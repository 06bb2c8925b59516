/* runners/hist.c: the latency histogram's buckets (runner.h): 10 per
 * decade from 1 us to 10 s, enough to see a switch interval's step (5 ms
 * falls in [3.98, 5.01) ms) without drowning a chart in bars. */
#include <math.h>

#include "runners/runner.h"

#define HIST_PER_DECADE 10
#define HIST_FIRST_S 1e-6

int run_hist_bucket(double seconds)
{
    if (!(seconds >= HIST_FIRST_S))
        return 0;
    double b = floor(HIST_PER_DECADE * log10(seconds / HIST_FIRST_S)) + 1;
    return b >= RUN_HIST_BUCKETS - 1 ? RUN_HIST_BUCKETS - 1 : (int)b;
}

double run_hist_lower_s(int bucket)
{
    return bucket <= 0 ? 0.0 : HIST_FIRST_S * pow(10.0, (double)(bucket - 1) / HIST_PER_DECADE);
}

double run_hist_upper_s(int bucket)
{
    return bucket >= RUN_HIST_BUCKETS - 1 ? INFINITY : HIST_FIRST_S * pow(10.0, (double)bucket / HIST_PER_DECADE);
}
