/* cli/sweep.c: the cross product of `run`'s lists (see sweep.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/sweep.h"

void sweep_label(const run_spec_t *s, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s %s %s j=%d", s->workload->name, run_mode_name(s->mode),
             guard_name(s->guard), heap_kind_name(s->allocator), s->workers);
}

/* The sweep being built: the rows so far and the axes fixed by the outer
 * loops. */
typedef struct builder {
    const cli_run_args_t *a;
    run_spec_t *specs;
    int n, cap;
    bool has_single;
    int modes[RUN_MODE_COUNT], nmodes;   /* single first */
    run_spec_t proto;                     /* workload, size, params, switch set */
    int64_t size;                         /* strong: total; weak: per worker */
} builder_t;

/* Add the rows of every guard, allocator, mode and worker count for
 * b->proto. Returns CLI_EXIT_OK, or another status with err set. */
static int add_inner(builder_t *b, char *err, size_t errlen)
{
    const cli_run_args_t *a = b->a;
    char why[256], label[160];

    for (int g = 0; g < a->nguards; g++) {
        guard_kind_t guard = (guard_kind_t)a->guards[g];
        int default_alloc = (int)guard_get(guard)->default_allocator;
        const int *allocs = a->nallocators ? a->allocators : &default_alloc;
        int nallocs = a->nallocators ? a->nallocators : 1;
        for (int al = 0; al < nallocs; al++) {
            for (int m = 0; m < b->nmodes; m++) {
                const workload_t *wl = b->proto.workload;
                bool single = b->modes[m] == RUN_MODE_single;
                int nw = single || wl->build_background ? 1 : a->nworkers;
                /* A workload that cannot run in a mode at all (convoy in a
                 * pool) skips it in a sweep of several modes. */
                if (!run_mode_fits(wl, (run_mode_t)b->modes[m]) && b->nmodes > 1) {
                    if (g == 0 && al == 0)
                        cli_error("note: skipping mode %s: %s does not run in it", run_mode_name(b->modes[m]),
                                  wl->name);
                    continue;
                }
                for (int w = 0; w < nw; w++) {
                    run_spec_t s = b->proto;
                    s.mode = (run_mode_t)b->modes[m];
                    s.guard = guard;
                    s.allocator = (heap_kind_t)allocs[al];
                    s.workers = wl_workers(wl, s.params, a->workers[w], single);
                    s.size = a->setup.scaling == REP_WEAK && b->size <= INT64_MAX / s.workers
                                 ? b->size * s.workers
                                 : a->setup.scaling == REP_WEAK ? INT64_MAX : b->size;
                    /* A single-only guard in a cross product with other
                     * modes (-g none,gil -m single,threads): its single row
                     * runs, its other rows are skipped with a note. Asked
                     * for on its own (-g none -m threads), it is an error. */
                    if (!guard_get(guard)->threadsafe && s.mode != RUN_MODE_single &&
                        b->has_single) {
                        sweep_label(&s, label, sizeof label);
                        cli_error("note: skipping %s: guard '%s' runs with mode single only",
                                  label, guard_name(guard));
                        continue;
                    }
                    if (run_spec_check(&s, why, sizeof why) < 0) {
                        sweep_label(&s, label, sizeof label);
                        snprintf(err, errlen, "cannot run %s: %s", label, why);
                        return CLI_EXIT_USAGE;
                    }
                    if (b->n == b->cap) {
                        int cap = b->cap ? 2 * b->cap : 16;
                        run_spec_t *more = realloc(b->specs, (size_t)cap * sizeof *more);
                        if (!more) {
                            snprintf(err, errlen, "out of memory");
                            return CLI_EXIT_FAILED;
                        }
                        b->specs = more, b->cap = cap;
                    }
                    b->specs[b->n++] = s;
                }
            }
        }
    }
    return CLI_EXIT_OK;
}

/* Every combination of the -P lists that apply to the workload, from
 * parameter `p` on, then the switch intervals. */
static int add_params(builder_t *b, int p, char *err, size_t errlen)
{
    const cli_run_args_t *a = b->a;
    const workload_t *wl = b->proto.workload;
    int status;

    for (; p < a->nparams; p++) {
        int slot = wl_param_find(wl, a->params[p].name);
        if (slot < 0)
            continue;
        for (int v = 0; v < a->params[p].nvalues; v++) {
            b->proto.params[slot] = a->params[p].values[v];
            if ((status = add_params(b, p + 1, err, errlen)) != CLI_EXIT_OK)
                return status;
        }
        return CLI_EXIT_OK;
    }
    for (int s = 0; s < a->nswitch; s++) {
        for (int g = 0; g < a->ngc; g++) {
            b->proto.switch_interval_us = a->switch_us[s];
            b->proto.gc.disabled = a->gc_off[g] == 1;
            if ((status = add_inner(b, err, errlen)) != CLI_EXIT_OK)
                return status;
        }
    }
    return CLI_EXIT_OK;
}

int sweep_build(const cli_run_args_t *a, const int64_t *sizes, run_spec_t **out, int *count,
                char *err, size_t errlen)
{
    builder_t b = {.a = a};
    int status = CLI_EXIT_OK;

    for (int m = 0; m < a->nmodes; m++)
        if (a->modes[m] == RUN_MODE_single)
            b.modes[b.nmodes++] = RUN_MODE_single;
    b.has_single = b.nmodes > 0;
    for (int m = 0; m < a->nmodes; m++)
        if (a->modes[m] != RUN_MODE_single)
            b.modes[b.nmodes++] = a->modes[m];
    for (int w = 0; w < a->nworkloads && status == CLI_EXIT_OK; w++) {
        const workload_t *wl = a->workloads[w];
        int nsizes = sizes || !a->nsizes ? 1 : a->nsizes;
        for (int k = 0; k < nsizes && status == CLI_EXIT_OK; k++) {
            memset(&b.proto, 0, sizeof b.proto);
            b.proto.workload = wl;
            for (int p = 0; p < wl->nparams; p++)
                b.proto.params[p] = wl->params[p].def;
            b.proto.pin = a->pin;
            b.proto.immortal = a->immortal;
            b.proto.gc = a->gc;
            b.proto.tracemalloc = a->tracemalloc;
            b.proto.pss = a->pss;
            b.proto.memory_trace = a->memory_trace;
            b.proto.sample_interval_us = a->sample_interval_us;
            b.proto.check_interval = a->check_interval;
            b.proto.trace_events = a->trace_events;
            b.proto.warmup = a->warmup;
            b.proto.repeats = a->repeats;
            b.size = sizes ? sizes[w] : a->nsizes ? a->sizes[k] : wl->default_size;
            status = add_params(&b, 0, err, errlen);
        }
    }
    if (status != CLI_EXIT_OK) {
        free(b.specs);
        return status;
    }
    *out = b.specs;
    *count = b.n;
    return CLI_EXIT_OK;
}

/* Round up to two significant digits: 2345678 -> 2400000. */
static int64_t round_up_2(double v)
{
    double unit = 1.0;

    while (v >= 100 * unit)
        unit *= 10;
    return (int64_t)(ceil(v / unit) * unit);
}

int sweep_min_time(const cli_run_args_t *a, int64_t *sizes, char *note, size_t notelen,
                   char *err, size_t errlen)
{
    size_t used = 0;

    note[0] = '\0';
    for (int w = 0; w < a->nworkloads; w++) {
        const workload_t *wl = a->workloads[w];
        run_spec_t s = {.workload = wl, .mode = RUN_MODE_single, .workers = 1, .repeats = 1,
                        .guard = (guard_kind_t)a->guards[0], .pin = a->pin,
                        .immortal = a->immortal, .switch_interval_us = a->switch_us[0]};
        int64_t trial = wl->default_size / 1000 > wl->min_size ? wl->default_size / 1000
                                                                : wl->min_size;
        double wall = 0.0, want = a->min_time_s;
        char label[160], n1[32], n2[32];

        s.allocator = a->nallocators ? (heap_kind_t)a->allocators[0]
                                     : guard_get(s.guard)->default_allocator;
        for (int p = 0; p < wl->nparams; p++)
            s.params[p] = wl->params[p].def;
        for (int p = 0; p < a->nparams; p++) {
            int slot = wl_param_find(wl, a->params[p].name);
            if (slot >= 0)
                s.params[slot] = a->params[p].values[0];
        }
        for (;;) {
            run_row_t row;
            s.size = trial;
            if (run_row(&s, &row, NULL, NULL, err, errlen) < 0) {
                sweep_label(&s, label, sizeof label);
                char why[512];
                snprintf(why, sizeof why, "%s", err);
                snprintf(err, errlen, "--min-time trial of %s: %s", label, why);
                return -1;
            }
            wall = row.samples[0].wall_s;
            run_row_free(&row);
            if (wall >= want / 10 || trial > wl->max_size / 2)
                break;
            trial *= 2;
        }
        sizes[w] = wall > 0 ? round_up_2((double)trial * want / wall) : trial;
        if (sizes[w] > wl->max_size)
            sizes[w] = wl->max_size;
        if (sizes[w] < trial && wall < want)
            sizes[w] = trial;
        rep_fmt_count((double)sizes[w], n1, sizeof n1);
        rep_fmt_count((double)trial, n2, sizeof n2);
        if (used < notelen)
            used += (size_t)snprintf(note + used, notelen - used,
                                     "%s--min-time %g s: %s -n %s (a trial of %s took %.3g s)",
                                     used ? "\n" : "", want, wl->name, n1, n2, wall);
    }
    return 0;
}
