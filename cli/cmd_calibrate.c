/* cli/cmd_calibrate.c: `gil-lab calibrate`, the model beside the real
 * interpreter, on the same machine, in one interleaved run.
 *
 *   1. options; the Python scripts (calibrate.h) written to a private
 *      folder; every --python probed: what it is (a GIL build, modelled by
 *      the gil guard, or a free-threaded one, modelled by biased) and one
 *      tiny run of each workload. A Python that is missing or fails is one
 *      line and exit 2, before anything is measured.
 *   2. the rows: for every Python, the cross product of workloads, modes
 *      and worker counts (sweep.c builds it, as for `run`) under the guard
 *      that models it; the lab runs the same rows.
 *   3. rounds: one warm-up or repeat of every lab row, then of every
 *      Python row, round after round, so that the machine's drift hits
 *      both alike.
 *   4. the folder: results.csv/.json (the lab), python-N.json (each
 *      Python, the lab's format with its "implementation"), fidelity.csv,
 *      and the paired chart (paired.png/.svg: each implementation's speedup
 *      against its own single row, side by side); the fidelity table on
 *      stdout.
 *
 * The default size is a tenth of the workload's (CPython is slower per
 * iteration than the lab on some workloads and a calibration runs every
 * row twice); -n sets one size for all. Ctrl-C stops at once and saves
 * nothing.
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/calibrate.h"
#include "cli/cli.h"
#include "cli/parse.h"
#include "cli/sweep.h"
#include "gil/gil.h"
#include "plots/plot.h"
#include "report/report.h"

#define CAL_MAX_PYTHONS 8

/* One implementation's rows: the lab's (py == NULL) or a Python's. */
typedef struct cal_set {
    const cal_python_t *py;
    run_spec_t *specs;
    int n;
    run_row_t *runs;
    rep_row_t *rows;
    rep_doc_t doc;
} cal_set_t;

typedef struct cal_args {
    cli_run_args_t run;              /* the sweep's axes, for sweep_build */
    cal_python_t pythons[CAL_MAX_PYTHONS];
    int npythons;
    bool plot;
} cal_args_t;

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: gil-lab calibrate [OPTIONS]\n"
            "\n"
            "Run the workloads in real Python beside the model, in the same modes and\n"
            "sizes, interleaved in one run, and show how faithful the model is: per\n"
            "workload and mode, each one's time and speedup against its own single row,\n"
            "the difference, and nanoseconds per iteration. A GIL build is set beside the\n"
            "gil guard, a free-threaded one beside biased.\n"
            "\n"
            "      --python PATH    a Python to calibrate against, repeatable (default:\n"
            "                       python3 on PATH)\n"
            "  -w, --workload LIST  workloads with a Python version (default: all of them)\n"
            "  -m, --mode LIST      single, threads, processes, pool (default all four)\n"
            "  -j, --workers LIST   worker counts (default 2)\n"
            "  -n, --size N         the size of every workload (default: a tenth of each\n"
            "                       workload's own)\n"
            "  -r, --repeat R       timed runs per row, 1 to %d (default 5)\n"
            "      --warmup W       untimed runs before them (default 1)\n"
            "  -o, --output DIR     results folder (default ./results/<date>-calibrate)\n"
            "      --no-plot        no paired chart\n"
            "  -h, --help           this help\n"
            "\n"
            "Example:\n"
            "  gil-lab calibrate -w countdown -m single,threads,processes -n 2M\n"
            "\n"
            "Exit status: 0 done; 1 a run failed after it started; 2 bad usage, or a\n"
            "Python that is missing or fails (one line says which).\n",
            CLI_MAX_REPEATS);
}

static const char *mode_at(int i) { return run_mode_name((run_mode_t)i); }
static const char *workload_at(int i) { return wl_at((size_t)i)->name; }

/* Options into a. Returns 0, 1 after --help, or -1 after an error line. */
static int parse(int argc, char **argv, cal_args_t *a)
{
    static const struct option options[] = {
        {"python", required_argument, NULL, 'p'},  {"workload", required_argument, NULL, 'w'},
        {"mode", required_argument, NULL, 'm'},    {"workers", required_argument, NULL, 'j'},
        {"size", required_argument, NULL, 'n'},    {"repeat", required_argument, NULL, 'r'},
        {"warmup", required_argument, NULL, 'W'},  {"output", required_argument, NULL, 'o'},
        {"no-plot", no_argument, NULL, 'P'},       {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const cli_names_t modes = {"mode", RUN_MODE_COUNT, mode_at};
    const cli_names_t workloads = {"workload", (int)wl_count(), workload_at};
    cli_run_args_t *r = &a->run;
    char why[384];
    int64_t v;
    int opt, idx[16], k;

    memset(a, 0, sizeof *a);
    for (size_t w = 0; w < wl_count() && r->nworkloads < 16; w++)
        if (cal_has_workload(wl_at(w)->name))
            r->workloads[r->nworkloads++] = wl_at(w);
    for (int m = 0; m < RUN_MODE_COUNT; m++)
        r->modes[r->nmodes++] = m;
    r->workers[r->nworkers++] = 2;
    r->switch_us[r->nswitch++] = GIL_DEFAULT_INTERVAL_US;
    r->gc_off[r->ngc++] = 0;
    r->repeats = 5;
    r->warmup = 1;
    r->immortal = true;
    r->setup = rep_setup_default();
    a->plot = true;
    optind = 0;
    while ((opt = cli_getopt(argc, argv, ":w:m:j:n:r:o:h", options)) != -1) {
        switch (opt) {
        case 'p':
            if (!optarg[0] || a->npythons == CAL_MAX_PYTHONS) {
                cli_error("--python: %s", optarg[0] ? "too many Pythons" : "empty path");
                return -1;
            }
            a->pythons[a->npythons++].path = optarg;
            break;
        case 'w':
            if ((k = cli_parse_name_list(optarg, &workloads, idx, 16, why, sizeof why)) < 0) {
                cli_error("-w/--workload: %s", why);
                return -1;
            }
            for (int w = 0; w < k; w++) {
                if (!cal_has_workload(wl_at((size_t)idx[w])->name)) {
                    cli_error("-w/--workload: %s has no Python version (calibrate/workloads/)",
                              wl_at((size_t)idx[w])->name);
                    return -1;
                }
                r->workloads[w] = wl_at((size_t)idx[w]);
            }
            r->nworkloads = k;
            break;
        case 'm':
            if ((r->nmodes = cli_parse_name_list(optarg, &modes, r->modes, RUN_MODE_COUNT, why,
                                                 sizeof why)) < 0) {
                cli_error("-m/--mode: %s", why);
                return -1;
            }
            break;
        case 'j':
            if ((r->nworkers = cli_parse_int_list(optarg, 1, RUN_MAX_WORKERS, r->workers,
                                                  CLI_MAX_WORKER_COUNTS, why, sizeof why)) < 0) {
                cli_error("-j/--workers: %s", why);
                return -1;
            }
            break;
        case 'n':
            if (cli_parse_count(optarg, "-n/--size", 1, INT64_C(1) << 40, &v) < 0)
                return -1;
            r->sizes[0] = v;
            r->nsizes = 1;
            break;
        case 'r':
            if (cli_parse_count(optarg, "-r/--repeat", 1, CLI_MAX_REPEATS, &v) < 0)
                return -1;
            r->repeats = (int)v;
            break;
        case 'W':
            if (cli_parse_count(optarg, "--warmup", 0, CLI_MAX_WARMUP, &v) < 0)
                return -1;
            r->warmup = (int)v;
            break;
        case 'o':
            if (!optarg[0]) {
                cli_error("-o/--output: empty folder name");
                return -1;
            }
            r->output = optarg;
            break;
        case 'P':
            a->plot = false;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            return -1;
        }
    }
    if (optind < argc) {
        cli_error("unexpected argument '%s' (see gil-lab calibrate --help)", argv[optind]);
        return -1;
    }
    if (a->npythons == 0)
        a->pythons[a->npythons++].path = "python3";
    return 0;
}

/* The rows of one implementation: the sweep under `guard`. Returns the
 * exit status (the reason printed). */
static int build_set(const cal_args_t *a, guard_kind_t guard, cal_set_t *set)
{
    cli_run_args_t r = a->run;
    int64_t sizes[16];
    char err[512];
    int status;

    r.guards[0] = guard;
    r.nguards = 1;
    for (int w = 0; w < r.nworkloads; w++)
        sizes[w] = r.nsizes ? r.sizes[0] : r.workloads[w]->default_size / 10;
    status = sweep_build(&r, sizes, &set->specs, &set->n, err, sizeof err);
    if (status != CLI_EXIT_OK) {
        cli_error("%s", err);
        return status;
    }
    set->runs = calloc((size_t)set->n, sizeof *set->runs);
    set->rows = calloc((size_t)set->n, sizeof *set->rows);
    if (!set->runs || !set->rows) {
        cli_error("out of memory");
        return CLI_EXIT_FAILED;
    }
    for (int i = 0; i < set->n; i++) {
        set->runs[i].spec = set->specs[i];
        set->runs[i].samples = calloc((size_t)set->specs[i].repeats, sizeof(run_sample_t));
        if (!set->runs[i].samples) {
            cli_error("out of memory");
            return CLI_EXIT_FAILED;
        }
    }
    return CLI_EXIT_OK;
}

static void free_set(cal_set_t *set)
{
    for (int i = 0; set->runs && i < set->n; i++)
        run_row_free(&set->runs[i]);
    free(set->runs);
    free(set->rows);
    free(set->specs);
}

/* Every round: one step of each lab row (sessions), then one run of each
 * Python row. Returns 0, or -1 after an error line. */
static int run_rounds(const char *dir, cal_set_t *sets, int nsets, int rounds, int warmup)
{
    cal_set_t *lab = &sets[0];
    run_session_t **sessions = calloc((size_t)lab->n, sizeof *sessions);
    char err[1024], label[160];
    int rc = -1;

    if (!sessions) {
        cli_error("out of memory");
        return -1;
    }
    for (int i = 0; i < lab->n; i++) {
        sessions[i] = run_session_open(&lab->specs[i], &lab->runs[i], err, sizeof err);
        if (!sessions[i]) {
            sweep_label(&lab->specs[i], label, sizeof label);
            cli_error("%s: %s", label, err);
            goto out;
        }
    }
    for (int round = 0; round < rounds; round++) {
        for (int i = 0; i < lab->n; i++) {
            if (run_session_step(sessions[i], err, sizeof err) < 0) {
                sweep_label(&lab->specs[i], label, sizeof label);
                cli_error("lab %s: %s", label, err);
                goto out;
            }
        }
        for (int s = 1; s < nsets; s++) {
            for (int i = 0; i < sets[s].n; i++) {
                run_row_t *row = &sets[s].runs[i];
                run_sample_t sample;
                if (cal_run(dir, sets[s].py, &row->spec, &sample, err, sizeof err) < 0) {
                    sweep_label(&row->spec, label, sizeof label);
                    cli_error("%s %s: %s", sets[s].py->label, label, err);
                    goto out;
                }
                if (round >= warmup)
                    row->samples[row->nsamples++] = sample;
            }
        }
    }
    rc = 0;
out:
    for (int i = 0; i < lab->n; i++)
        run_session_close(sessions[i]);
    free(sessions);
    return rc;
}

/* The fidelity rows of one Python against the lab: its rows matched with
 * the lab's (the same names: same guard, same allocator). */
typedef struct fidelity {
    const cal_set_t *lab, *py;
    rep_comparison_t cmp;
} fidelity_t;

static double ns_per_iteration(const rep_row_t *r)
{
    return r->wall.median / (double)r->run->spec.size * 1e9;
}

static int fidelity_csv(FILE *f, const rep_doc_t *unused, const void *arg)
{
    const fidelity_t *fids = arg;

    (void)unused;
    fputs("workload,mode,workers,size,python,cpython_median_s,cpython_speedup,lab_guard,"
          "lab_median_s,lab_speedup,speedup_difference,cpython_ns_per_iteration,"
          "lab_ns_per_iteration,cpython_cpu_share,lab_cpu_share\n",
          f);
    for (const fidelity_t *fd = fids; fd->lab; fd++) {
        for (int m = 0; m < fd->cmp.nmatches; m++) {
            const rep_row_t *l = &fd->lab->rows[fd->cmp.matches[m].a];
            const rep_row_t *p = &fd->py->rows[fd->cmp.matches[m].b];
            const run_spec_t *s = &l->run->spec;
            fprintf(f, "%s,%s,%d,%lld,%s,%.9g,%.6g,%s,%.9g,%.6g,%.6g,%.6g,%.6g,%.3g,%.3g\n",
                    s->workload->name, run_mode_name(s->mode), s->workers, (long long)s->size,
                    fd->py->py->label, p->wall.median, p->speedup, guard_name(s->guard),
                    l->wall.median, l->speedup, l->speedup - p->speedup, ns_per_iteration(p),
                    ns_per_iteration(l), p->cpu_share, l->cpu_share);
        }
    }
    return ferror(f) ? -1 : 0;
}

static void fidelity_table(FILE *f, const fidelity_t *fd)
{
    char busy[512];

    fprintf(f, "\nFidelity: %s (%s) beside the lab's %s guard\n", fd->py->py->label,
            fd->py->py->executable, guard_name(fd->py->specs[0].guard));
    fprintf(f, "  %-10s %-10s %3s  %10s %8s  %10s %8s  %7s  %13s %9s  %s\n", "workload", "mode",
            "j", "CPython", "speedup", "lab", "speedup", "Δ", "CPython ns/it", "lab ns/it",
            "CPU share (CPython, lab)");
    for (int m = 0; m < fd->cmp.nmatches; m++) {
        const rep_row_t *l = &fd->lab->rows[fd->cmp.matches[m].a];
        const rep_row_t *p = &fd->py->rows[fd->cmp.matches[m].b];
        const run_spec_t *s = &l->run->spec;
        rep_unit_t u = rep_time_unit(fmax(l->wall.median, p->wall.median));
        fprintf(f,
                "  %-10s %-10s %3d  %7.*f %-2s %7.2fx  %7.*f %-2s %7.2fx  %+7.2f  %13.1f %9.1f  "
                "%3.0f %%, %3.0f %%%s\n",
                s->workload->name, run_mode_name(s->mode), s->workers, u.decimals,
                p->wall.median * u.scale, u.name, p->speedup, u.decimals,
                l->wall.median * u.scale, u.name, l->speedup, l->speedup - p->speedup,
                ns_per_iteration(p), ns_per_iteration(l), p->cpu_share * 100, l->cpu_share * 100,
                !rep_row_blocks(l) && (p->cpu_share < REP_LOW_CPU || l->cpu_share < REP_LOW_CPU)
                    ? "  (busy)"
                    : "");
    }
    fputs("  speedup = the implementation's own single row ÷ this row; Δ = lab - CPython;\n"
          "  (busy): a side got less than 75 % of the CPU it could use, so its speedup is\n"
          "  the machine's as much as the implementation's\n",
          f);
    if (rep_busy_warning(&fd->lab->doc, busy, sizeof busy))
        fprintf(f, "Warning: %s.\n", busy);
}

/* Summarise, write the folder, print the fidelity tables. Returns the
 * exit status. */
static int publish(const cal_args_t *a, cal_set_t *sets, int nsets, rep_context_t *ctx)
{
    rep_outdir_t d;
    fidelity_t fids[CAL_MAX_PYTHONS + 1] = {{0}};
    rep_doc_t docs[CAL_MAX_PYTHONS + 1];
    const char *labels[CAL_MAX_PYTHONS + 1];
    char err[PATH_MAX + 256], name[32];
    int status = CLI_EXIT_OK, nf = 0;

    if (rep_outdir_open(&d, a->run.output, "calibrate", err, sizeof err) < 0) {
        cli_error("%s", err);
        return CLI_EXIT_USAGE;
    }
    rep_machine_state_read(&ctx->after);
    for (int s = 0; s < nsets; s++) {
        rep_setup_t setup = rep_setup_default();
        setup.cpus = ctx->num_pus;
        if (rep_summarize(sets[s].runs, sets[s].n, &setup, sets[s].rows) < 0) {
            cli_error("out of memory");
            status = CLI_EXIT_FAILED;
            goto out;
        }
        sets[s].doc = (rep_doc_t){.ctx = ctx, .rows = sets[s].rows, .nrows = sets[s].n,
                                  .interleaved = true, .setup = setup,
                                  .implementation = sets[s].py ? sets[s].py->label : NULL};
        docs[s] = sets[s].doc;
        labels[s] = sets[s].py ? sets[s].py->label : "lab";
        rep_output_t out[] = {{"results.csv", rep_csv_fill, NULL},
                              {"results.json", rep_json_fill, NULL}};
        snprintf(name, sizeof name, "python-%d.json", s);
        if (s > 0)
            out[0] = (rep_output_t){name, rep_json_fill, NULL};
        if (rep_write_files(&d, out, s > 0 ? 1 : 2, &sets[s].doc, err, sizeof err) < 0) {
            cli_error("%s in %s/", err, d.path);
            status = CLI_EXIT_FAILED;
            goto out;
        }
    }
    for (int s = 1; s < nsets; s++) {
        rep_doc_t pair[2] = {sets[0].doc, sets[s].doc};
        fids[nf].lab = &sets[0];
        fids[nf].py = &sets[s];
        if (rep_compare(pair, 2, &fids[nf].cmp, err, sizeof err) < 0) {
            cli_error("%s", err);
            status = CLI_EXIT_FAILED;
            goto out;
        }
        fidelity_table(stdout, &fids[nf++]);
    }
    rep_output_t fo = {"fidelity.csv", fidelity_csv, fids};
    if (rep_write_files(&d, &fo, 1, &sets[0].doc, err, sizeof err) < 0) {
        cli_error("%s in %s/", err, d.path);
        status = CLI_EXIT_FAILED;
        goto out;
    }
    if (a->plot) {
        plot_opts_t opts = plot_opts_default();
        plot_source_t src = {docs, labels, nsets, &opts};
        plot_status_t ps = plot_draw(&d, plot_kind_find("paired"), &src, &opts, NULL, err, sizeof err);
        if (ps == PLOT_NO_GNUPLOT) {
            cli_error("chart skipped: %s", err);
        } else if (ps != PLOT_DRAWN) {
            cli_error("chart not drawn: %s", err);
            status = CLI_EXIT_FAILED;
        }
    }
    cli_error("results in %s/", d.path);
out:
    for (int k = 0; k < nf; k++)
        rep_comparison_free(&fids[k].cmp);
    rep_outdir_close(&d, status != CLI_EXIT_OK);
    return status;
}

int cmd_calibrate(int argc, char **argv)
{
    cal_args_t *a = calloc(1, sizeof *a);
    cal_set_t sets[CAL_MAX_PYTHONS + 1];
    rep_context_t ctx = {0};
    char dir[PATH_MAX] = "", err[PATH_MAX + 512];
    bool guards[GUARD_COUNT] = {false};
    int status = CLI_EXIT_USAGE, nsets = 1, rc;

    memset(sets, 0, sizeof sets);
    if (!a) {
        cli_error("out of memory");
        return CLI_EXIT_FAILED;
    }
    if ((rc = parse(argc, argv, a)) != 0) {
        free(a);
        return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    if (cal_extract(dir, sizeof dir, err, sizeof err) < 0) {
        cli_error("%s", err);
        status = CLI_EXIT_FAILED;
        goto out;
    }
    for (int p = 0; p < a->npythons; p++) {
        if (cal_probe(dir, &a->pythons[p], err, sizeof err) < 0) {
            cli_error("--python %s", err);
            goto out;
        }
        guards[a->pythons[p].gil ? GUARD_gil : GUARD_biased] = true;
    }
    /* the lab's rows: every guard that models one of the Pythons */
    for (int g = 0; g < GUARD_COUNT; g++) {
        if (!guards[g])
            continue;
        a->run.guards[a->run.nguards++] = g;
    }
    {
        cli_run_args_t lab = a->run;
        char why[512];
        int64_t sizes[16];
        for (int w = 0; w < lab.nworkloads; w++)
            sizes[w] = lab.nsizes ? lab.sizes[0] : lab.workloads[w]->default_size / 10;
        if ((status = sweep_build(&lab, sizes, &sets[0].specs, &sets[0].n, why, sizeof why)) !=
            CLI_EXIT_OK) {
            cli_error("%s", why);
            goto out;
        }
        sets[0].runs = calloc((size_t)sets[0].n, sizeof *sets[0].runs);
        sets[0].rows = calloc((size_t)sets[0].n, sizeof *sets[0].rows);
        if (!sets[0].runs || !sets[0].rows) {
            cli_error("out of memory");
            status = CLI_EXIT_FAILED;
            goto out;
        }
    }
    for (int p = 0; p < a->npythons; p++, nsets++) {
        sets[nsets].py = &a->pythons[p];
        if ((status = build_set(a, a->pythons[p].gil ? GUARD_gil : GUARD_biased, &sets[nsets])) !=
            CLI_EXIT_OK)
            goto out;
    }
    status = CLI_EXIT_FAILED;
    {
        char **full = calloc((size_t)argc + 2, sizeof *full);
        if (!full) {
            cli_error("out of memory");
            goto out;
        }
        full[0] = "gil-lab";
        memcpy(full + 1, argv, (size_t)argc * sizeof *full);
        rc = rep_context_collect(&ctx, argc + 1, full);
        free(full);
        if (rc < 0) {
            cli_error("out of memory");
            goto out;
        }
    }
    for (int p = 0; p < a->npythons; p++)
        fprintf(stderr, "gil-lab: calibrating against %s (%s)\n", a->pythons[p].label,
                a->pythons[p].executable);
    if (run_rounds(dir, sets, nsets, a->run.warmup + a->run.repeats, a->run.warmup) < 0)
        goto out;
    status = publish(a, sets, nsets, &ctx);
out:
    for (int s = 0; s < nsets; s++)
        free_set(&sets[s]);
    cal_cleanup(dir);
    rep_context_free(&ctx);
    free(a);
    return status;
}
