/* cli/cmd_run.c: `gil-lab run`, from options to a results folder.
 *
 *   1. parse and check the options (args.c)                  exit 2 on error
 *   2. expand them into rows and let the core veto each one
 *      (run_spec_check: e.g. guard none with threads)        exit 2 on error
 *   3. create the output folder and prove it writable          exit 2 on error
 *   4. run the rows one by one; after each finished row
 *      rewrite results.csv and results.json atomically and
 *      print its block, so an interrupted or failed sweep
 *      keeps every row that finished                         exit 1 on error
 *   5. draw the chart (a failure only says "chart skipped"), print the
 *      summary (or the CSV/JSON document) on stdout, say where the files
 *      are on stderr.
 *
 * Row order: for each guard, each allocator, the modes with `single` moved
 * first, each worker count. Running the baseline first lets every block
 * print its speedup as soon as it finishes.
 *
 * SIGINT: the first one lets the current row finish (threads) or fail
 * (forked workers die of it), then stops with the finished rows written and
 * exit status 130; the handler is one-shot, so a second Ctrl-C kills at
 * once, and the files on disk still hold every finished row because each
 * rewrite is atomic. Forked workers inherit the handler, so in any process
 * other than ours it restores the default action and re-raises.
 *
 * Progress goes to stderr only when stderr is a terminal, one line rewritten
 * in place, from the runner's callback between repeats (never inside a timed
 * region), and is cleared before anything else is printed.
 */
#define _GNU_SOURCE /* program_invocation_name */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "report/report.h"

static volatile sig_atomic_t interrupted;
static pid_t main_pid;

static void on_sigint(int sig)
{
    static const char msg[] =
        "\ngil-lab: interrupted: stopping after the current row (Ctrl-C again to quit now)\n";

    if (getpid() != main_pid) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    interrupted = 1;
    if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0)
        return;
}

static void install_sigint(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND;   /* the second Ctrl-C kills */
    sigemptyset(&sa.sa_mask);
    main_pid = getpid();
    sigaction(SIGINT, &sa, NULL);
}

typedef struct progress {
    bool tty;
    int row, nrows;
} progress_t;

static void spec_label(const run_spec_t *s, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s %s %s j=%d", s->workload->name, run_mode_name(s->mode),
             guard_name(s->guard), heap_kind_name(s->allocator), s->workers);
}

static void on_progress(const run_spec_t *spec, int done, int total, void *arg)
{
    const progress_t *p = arg;
    char label[160];

    if (!p->tty || done >= total)
        return;
    spec_label(spec, label, sizeof label);
    if (done < spec->warmup)
        fprintf(stderr, "\r\033[K[%d/%d] %s ... warm-up %d/%d", p->row + 1, p->nrows, label,
                done + 1, spec->warmup);
    else
        fprintf(stderr, "\r\033[K[%d/%d] %s ... repeat %d/%d", p->row + 1, p->nrows, label,
                done - spec->warmup + 1, spec->repeats);
    fflush(stderr);
}

static void progress_clear(const progress_t *p)
{
    if (p->tty) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
}

/* The rows of the sweep into *out (malloc'd). Returns the count, or -1
 * with the reason in err (a row the core refuses, or out of memory). */
static int build_specs(const cli_run_args_t *a, run_spec_t **out, char *err, size_t errlen)
{
    int modes[RUN_MODE_COUNT], nmodes = 0, n = 0, max;
    run_spec_t *specs;
    char why[256], label[160];

    for (int m = 0; m < a->nmodes; m++)
        if (a->modes[m] == RUN_MODE_single)
            modes[nmodes++] = RUN_MODE_single;
    int has_single = nmodes > 0;
    for (int m = 0; m < a->nmodes; m++)
        if (a->modes[m] != RUN_MODE_single)
            modes[nmodes++] = a->modes[m];
    max = a->nguards * (a->nallocators ? a->nallocators : 1) * nmodes * a->nworkers;
    specs = calloc((size_t)max, sizeof *specs);
    if (!specs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int g = 0; g < a->nguards; g++) {
        guard_kind_t guard = (guard_kind_t)a->guards[g];
        int default_alloc = (int)guard_get(guard)->default_allocator;
        const int *allocs = a->nallocators ? a->allocators : &default_alloc;
        int nallocs = a->nallocators ? a->nallocators : 1;
        for (int al = 0; al < nallocs; al++) {
            for (int m = 0; m < nmodes; m++) {
                int nw = modes[m] == RUN_MODE_single ? 1 : a->nworkers;
                for (int w = 0; w < nw; w++) {
                    run_spec_t *s = &specs[n++];
                    s->workload = a->workload;
                    memcpy(s->params, a->params, sizeof s->params);
                    s->size = a->size;
                    s->mode = (run_mode_t)modes[m];
                    s->guard = guard;
                    s->allocator = (heap_kind_t)allocs[al];
                    s->workers = modes[m] == RUN_MODE_single ? 1 : a->workers[w];
                    s->switch_interval_us = a->switch_interval_us;
                    s->pin = a->pin;
                    s->immortal = a->immortal;
                    s->warmup = a->warmup;
                    s->repeats = a->repeats;
                    /* A single-only guard in a cross product with other
                     * modes (-g none,gil -m single,threads): its single row
                     * runs, its other rows are skipped with a note. Asked
                     * for on its own (-g none -m threads), it is an error. */
                    if (!guard_get(guard)->threadsafe && s->mode != RUN_MODE_single && has_single) {
                        spec_label(s, label, sizeof label);
                        fprintf(stderr, "gil-lab: note: skipping %s: guard '%s' runs with mode single only\n",
                                label, guard_name(guard));
                        n--;
                        continue;
                    }
                    if (run_spec_check(s, why, sizeof why) < 0) {
                        spec_label(s, label, sizeof label);
                        snprintf(err, errlen, "cannot run %s: %s", label, why);
                        free(specs);
                        return -1;
                    }
                }
            }
        }
    }
    *out = specs;
    return n;
}

/* Record the command line as typed: program name, then this command's argv. */
static int collect_context(rep_context_t *ctx, int argc, char **argv)
{
    char **full = malloc(((size_t)argc + 1) * sizeof *full);
    int rc;

    if (!full)
        return -1;
    full[0] = program_invocation_name;
    memcpy(full + 1, argv, (size_t)argc * sizeof *full);
    rc = rep_context_collect(ctx, argc + 1, full);
    free(full);
    return rc;
}

static int fill_csv(FILE *f, const rep_doc_t *doc)
{
    return rep_csv_write(f, doc);
}

/* The files after a finished row. Returns 0, or -1 with the reason. */
static int save(const char *dir, const rep_doc_t *doc, char *err, size_t errlen)
{
    if (rep_write_file(dir, "results.csv", fill_csv, doc, err, errlen) < 0 ||
        rep_write_file(dir, "results.json", rep_json_write, doc, err, errlen) < 0)
        return -1;
    return 0;
}

/* --interleave: open every row, then run one warm-up or repeat of each in
 * turn until all are complete. Returns the number of rows finished (all of
 * them), or -1: with the reason in err, or with err empty when interrupted. */
static int run_interleaved(const run_spec_t *specs, int n, run_row_t *runs, progress_t *progress,
                           char *err, size_t errlen)
{
    run_session_t **sessions = calloc((size_t)n, sizeof *sessions);
    char why[PATH_MAX], label[160];
    int rc = -1, opened = 0, failed = -1;

    err[0] = '\0';
    if (!sessions) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (; opened < n; opened++) {
        sessions[opened] = run_session_open(&specs[opened], &runs[opened], why, sizeof why);
        if (!sessions[opened]) {
            failed = opened;
            goto out;
        }
    }
    for (int pending = n; pending > 0 && !interrupted;) {
        pending = 0;
        for (int i = 0; i < n && !interrupted; i++) {
            int done, total, r;
            run_session_progress(sessions[i], &done, &total);
            if (done == total)
                continue;
            progress->row = i;
            r = run_session_step(sessions[i], why, sizeof why);
            if (r < 0) {
                failed = i;
                goto out;
            }
            on_progress(&specs[i], done + 1, total, progress);
            pending += r;
        }
    }
    if (interrupted)
        goto out;
    for (int i = 0; i < n; i++) {
        run_session_t *s = sessions[i];
        sessions[i] = NULL;
        run_session_close(s);
    }
    rc = failed < 0 ? n : -1;
out:
    if (failed >= 0 && !interrupted) {
        spec_label(&specs[failed], label, sizeof label);
        snprintf(err, errlen, "%s: %s", label, why);
    }
    for (int i = 0; i < opened; i++)
        if (sessions[i])
            run_session_close(sessions[i]);
    free(sessions);
    if (rc < 0)
        for (int i = 0; i < n; i++)
            run_row_free(&runs[i]);
    return rc;
}

/* Rows first..done-1 have just finished: summarise all done rows, rewrite
 * the files atomically, print the new rows' blocks. 0, or -1 after saying
 * why on stderr. */
static int publish_rows(const run_row_t *runs, int first, int done, rep_row_t *rows,
                        rep_doc_t *doc, const char *dir, cli_format_t format)
{
    char err[PATH_MAX + 256];
    doc->nrows = done;
    if (rep_summarize(runs, done, rows) < 0) {
        cli_error("out of memory");
        return -1;
    }
    if (save(dir, doc, err, sizeof err) < 0) {
        cli_error("%s", err);
        return -1;
    }
    for (int i = first; i < done && format == CLI_FORMAT_TABLE; i++)
        rep_table_block(stdout, &rows[i]);
    fflush(stdout);
    return 0;
}

int cmd_run(int argc, char **argv)
{
    cli_run_args_t args;
    run_spec_t *specs = NULL;
    run_row_t *runs = NULL;
    rep_row_t *rows = NULL;
    rep_context_t ctx = {0};
    rep_doc_t doc = {&ctx, NULL, 0};
    progress_t progress = {isatty(STDERR_FILENO) == 1, 0, 0};
    char dir[PATH_MAX], err[PATH_MAX + 256];
    bool created = false, have_dir = false;
    int nspecs, done = 0, status = CLI_EXIT_USAGE, rc;

    rc = cli_args_parse(argc, argv, &args, err, sizeof err);
    if (rc != 0) {
        if (rc < 0)
            cli_error("%s", err);
        return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    nspecs = build_specs(&args, &specs, err, sizeof err);
    if (nspecs < 0) {
        cli_error("%s", err);
        return CLI_EXIT_USAGE;
    }
    if (rep_outdir_prepare(args.output, args.workload->name, dir, sizeof dir, &created, err,
                           sizeof err) < 0) {
        cli_error("%s", err);
        goto out;
    }
    have_dir = true;

    status = CLI_EXIT_FAILED;
    runs = calloc((size_t)nspecs, sizeof *runs);
    rows = calloc((size_t)nspecs, sizeof *rows);
    if (!runs || !rows || collect_context(&ctx, argc, argv) < 0) {
        cli_error("out of memory");
        goto out;
    }
    doc.rows = rows;
    if (args.format == CLI_FORMAT_TABLE)
        rep_table_machine(stdout, &ctx);
    fflush(stdout);
    install_sigint();
    progress.nrows = nspecs;

    if (args.interleave) {
        rc = run_interleaved(specs, nspecs, runs, &progress, err, sizeof err);
        progress_clear(&progress);
        if (rc < 0 && !interrupted) {
            cli_error("%s", err);
            goto out;
        }
        if (rc > 0) {
            done = rc;
            if (publish_rows(runs, 0, done, rows, &doc, dir, args.format) < 0)
                goto out;
        }
    }
    for (int i = 0; i < nspecs && !interrupted && !args.interleave; i++) {
        progress.row = i;
        on_progress(&specs[i], 0, specs[i].warmup + specs[i].repeats, &progress);
        rc = run_row(&specs[i], &runs[done], on_progress, &progress, err, sizeof err);
        progress_clear(&progress);
        if (rc < 0) {
            char label[160];
            if (interrupted)
                break;
            spec_label(&specs[i], label, sizeof label);
            if (done)
                cli_error("%s: %s (%d finished row%s kept in %s)", label, err, done,
                          done == 1 ? "" : "s", dir);
            else
                cli_error("%s: %s", label, err);
            goto out;
        }
        done++;
        if (publish_rows(runs, done - 1, done, rows, &doc, dir, args.format) < 0)
            goto out;
    }
    if (done == 0) {
        cli_error("interrupted before any row finished");
        status = CLI_EXIT_INTERRUPTED;
        goto out;
    }

    if (args.plot && plot_chart(dir, &doc, err, sizeof err) < 0)
        cli_error("chart skipped: %s", err);
    switch (args.format) {
    case CLI_FORMAT_TABLE:
        rep_table_summary(stdout, rows, done);
        break;
    case CLI_FORMAT_CSV:
        rep_csv_write(stdout, &doc);
        break;
    case CLI_FORMAT_JSON:
        rep_json_write(stdout, &doc);
        break;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("cannot write to stdout: %s", strerror(errno));
        goto out;
    }
    if (interrupted)
        cli_error("interrupted: %d of %d rows finished, results in %s/", done, nspecs, dir);
    else
        cli_error("results in %s/", dir);
    status = interrupted ? CLI_EXIT_INTERRUPTED : CLI_EXIT_OK;
out:
    if (have_dir && created && done == 0)
        rmdir(dir);
    for (int i = 0; i < done; i++)
        run_row_free(&runs[i]);
    free(runs);
    free(rows);
    free(specs);
    rep_context_free(&ctx);
    return status;
}
