/* cli/cmd_run.c: `gil-lab run`, from options to a results folder.
 *
 *   1. parse and check the options (args.c)                  exit 2 on error
 *   2. expand them into rows and let the core veto each one
 *      (run_spec_check: e.g. guard none with threads)        exit 2 on error
 *   3. create, open and lock the output folder and prove it
 *      writable (report/outdir.c); a folder another run is
 *      writing is refused here                               exit 2 on error
 *   4. run the rows one by one; after each finished row
 *      write results.csv and results.json together and
 *      print its block, so an interrupted or failed sweep
 *      keeps every row that finished                         exit 1 on error
 *   5. draw the chart, print the summary (or the CSV/JSON document) on
 *      stdout, say where the files are on stderr.
 *
 * Out of memory is exit 1 wherever it happens: it says nothing about the
 * input. A chart that cannot be drawn is exit 1 too (the results stand);
 * only a machine without gnuplot gets a note and exit 0.
 *
 * What the folder holds afterwards: results.csv and results.json always
 * have the same rows, because they are renamed together or not at all; the
 * first write of a run removes the chart files of an earlier run (with
 * --no-plot too), so a chart never sits beside results it was not drawn
 * from; a folder this run created and saved nothing into is removed again.
 *
 * stdout's reader may leave (`| head -1`, `| true`). SIGPIPE is ignored
 * (main.c), so writes fail with EPIPE instead of killing the lab halfway
 * through a file. Before each row, and each step of an interleaved sweep,
 * the run checks stdout (a failed write, or a pipe whose reader has gone,
 * which poll(2) reports as POLLERR) and stops with the finished rows
 * written and one line saying why (exit 1), rather than running the rest
 * of the sweep for nobody.
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
#include <poll.h>
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

/* The rows of the sweep into *out (malloc'd) and their count into *count.
 * Returns CLI_EXIT_OK; CLI_EXIT_USAGE with the reason in err when the core
 * refuses a row; CLI_EXIT_FAILED when out of memory. */
static int build_specs(const cli_run_args_t *a, run_spec_t **out, int *count, char *err,
                       size_t errlen)
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
        return CLI_EXIT_FAILED;
    }
    for (int g = 0; g < a->nguards; g++) {
        guard_kind_t guard = (guard_kind_t)a->guards[g];
        int default_alloc = (int)guard_get(guard)->default_allocator;
        const int *allocs = a->nallocators ? a->allocators : &default_alloc;
        int nallocs = a->nallocators ? a->nallocators : 1;
        for (int al = 0; al < nallocs; al++) {
            for (int m = 0; m < nmodes; m++) {
                bool single = modes[m] == RUN_MODE_single;
                int nw = single || a->workload->build_background ? 1 : a->nworkers;
                /* A workload that cannot run in a mode at all (convoy in a
                 * pool) skips it in a sweep of several modes. */
                if (!run_mode_fits(a->workload, (run_mode_t)modes[m]) && nmodes > 1) {
                    if (g == 0 && al == 0)
                        cli_error("note: skipping mode %s: %s does not run in it",
                                  run_mode_name(modes[m]), a->workload->name);
                    continue;
                }
                for (int w = 0; w < nw; w++) {
                    run_spec_t *s = &specs[n++];
                    s->workload = a->workload;
                    memcpy(s->params, a->params, sizeof s->params);
                    s->size = a->size;
                    s->mode = (run_mode_t)modes[m];
                    s->guard = guard;
                    s->allocator = (heap_kind_t)allocs[al];
                    s->workers = wl_workers(a->workload, s->params, a->workers[w], single);
                    s->switch_interval_us = a->switch_interval_us;
                    s->check_interval = a->check_interval;
                    s->trace_events = a->trace_events;
                    s->pin = a->pin;
                    s->immortal = a->immortal;
                    s->gc = a->gc;
                    s->tracemalloc = a->tracemalloc;
                    s->pss = a->pss;
                    s->memory_trace = a->memory_trace;
                    s->sample_interval_us = a->sample_interval_us;
                    s->warmup = a->warmup;
                    s->repeats = a->repeats;
                    /* A single-only guard in a cross product with other
                     * modes (-g none,gil -m single,threads): its single row
                     * runs, its other rows are skipped with a note. Asked
                     * for on its own (-g none -m threads), it is an error. */
                    if (!guard_get(guard)->threadsafe && s->mode != RUN_MODE_single && has_single) {
                        spec_label(s, label, sizeof label);
                        cli_error("note: skipping %s: guard '%s' runs with mode single only",
                                  label, guard_name(guard));
                        n--;
                        continue;
                    }
                    if (run_spec_check(s, why, sizeof why) < 0) {
                        spec_label(s, label, sizeof label);
                        snprintf(err, errlen, "cannot run %s: %s", label, why);
                        free(specs);
                        return CLI_EXIT_USAGE;
                    }
                }
            }
        }
    }
    *out = specs;
    *count = n;
    return CLI_EXIT_OK;
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

/* A sweep in progress: its rows, what is saved, and why it stopped early. */
typedef struct sweep {
    const cli_run_args_t *args;
    const run_spec_t *specs;
    int nspecs;
    run_row_t *runs;
    rep_row_t *rows;
    rep_doc_t doc;
    rep_outdir_t dir;
    progress_t progress;
    int saved;                  /* rows in results.csv and results.json */
    char stop[160];             /* why stdout cannot take more; "" while it can */
} sweep_t;

/* Whether stdout can take more output: false after a failed write, or when
 * it is a pipe whose reader has gone; the reason goes to sw->stop, once. */
static bool stdout_usable(sweep_t *sw)
{
    struct pollfd out = {STDOUT_FILENO, POLLOUT, 0};
    bool failed;
    int error;

    if (sw->stop[0])
        return false;
    errno = 0;
    failed = fflush(stdout) != 0 || ferror(stdout);
    error = errno;   /* 0 when the failure was an earlier write's */
    if (poll(&out, 1, 0) == 1 && (out.revents & POLLERR))
        error = EPIPE;
    if (error == EPIPE)
        snprintf(sw->stop, sizeof sw->stop, "stdout was closed by its reader");
    else if (failed)
        snprintf(sw->stop, sizeof sw->stop, "cannot write to stdout%s%s", error ? ": " : "",
                 error ? strerror(error) : "");
    return sw->stop[0] == '\0';
}

/* Whether the sweep must stop before its next row or step: Ctrl-C, or a
 * stdout that can take no more. */
static bool must_stop(sweep_t *sw)
{
    return interrupted || !stdout_usable(sw);
}

/* "results.csv and results.json hold the first 2 of 5 rows" or "no row
 * was saved", for messages about a sweep that ended early. */
static void saved_rows(const sweep_t *sw, char *buf, size_t len)
{
    if (sw->saved == 0)
        snprintf(buf, len, "no row was saved");
    else
        snprintf(buf, len, "results.csv and results.json in %s/ hold the first %d of %d row%s",
                 sw->dir.path, sw->saved, sw->nspecs, sw->nspecs == 1 ? "" : "s");
}

/* --interleave: open every row, then run one warm-up or repeat of each in
 * turn until all are complete. Returns the number of rows finished (all of
 * them), or -1: with the reason in err, or with err empty when stopped. */
static int run_interleaved(sweep_t *sw, char *err, size_t errlen)
{
    const run_spec_t *specs = sw->specs;
    int n = sw->nspecs, rc = -1, opened = 0, failed = -1;
    run_session_t **sessions = calloc((size_t)n, sizeof *sessions);
    char why[PATH_MAX], label[160];

    err[0] = '\0';
    if (!sessions) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (; opened < n; opened++) {
        sessions[opened] = run_session_open(&specs[opened], &sw->runs[opened], why, sizeof why);
        if (!sessions[opened]) {
            failed = opened;
            goto out;
        }
    }
    for (int pending = n; pending > 0;) {
        pending = 0;
        for (int i = 0; i < n; i++) {
            int done, total, r;
            if (must_stop(sw))
                goto out;
            run_session_progress(sessions[i], &done, &total);
            if (done == total)
                continue;
            sw->progress.row = i;
            r = run_session_step(sessions[i], why, sizeof why);
            if (r < 0) {
                failed = i;
                goto out;
            }
            on_progress(&specs[i], done + 1, total, &sw->progress);
            pending += r;
        }
    }
    for (int i = 0; i < n; i++) {
        run_session_t *s = sessions[i];
        sessions[i] = NULL;
        run_session_close(s);
    }
    rc = failed < 0 ? n : -1;
out:
    if (failed >= 0) {
        spec_label(&specs[failed], label, sizeof label);
        snprintf(err, errlen, "%s: %s", label, why);
    }
    for (int i = 0; i < opened; i++)
        if (sessions[i])
            run_session_close(sessions[i]);
    free(sessions);
    if (rc < 0)
        for (int i = 0; i < n; i++)
            run_row_free(&sw->runs[i]);
    return rc;
}

/* Rows first..done-1 have just finished: summarise all done rows, write the
 * files (after removing an earlier run's chart, the first time), print the
 * new rows' blocks. 0, or -1 after saying why on stderr. */
static int publish_rows(sweep_t *sw, int first, int done)
{
    static const rep_output_t outputs[] = {
        {"results.csv", fill_csv},
        {"results.json", rep_json_write},
        {"memory.csv", rep_memtrace_csv},   /* --memory-trace only */
    };
    char err[PATH_MAX + 256], kept[PATH_MAX + 128], label[160], note[320];

    sw->doc.nrows = done;
    if (rep_summarize(sw->runs, done, sw->rows) < 0) {
        cli_error("out of memory");
        return -1;
    }
    if ((sw->saved == 0 && plot_remove(&sw->dir, err, sizeof err) < 0) ||
        rep_write_files(&sw->dir, outputs, sw->args->memory_trace ? 3 : 2, &sw->doc, err, sizeof err) < 0) {
        saved_rows(sw, kept, sizeof kept);
        cli_error("%s in %s/; %s", err, sw->dir.path, kept);
        return -1;
    }
    sw->saved = done;
    for (int i = first; i < done; i++) {
        if (sw->args->format == CLI_FORMAT_TABLE) {
            rep_table_block(stdout, &sw->rows[i]);
        } else if (rep_short_warning(&sw->rows[i], note, sizeof note)) {
            spec_label(&sw->specs[i], label, sizeof label);
            cli_error("note: %s: %s", label, note);
        }
    }
    fflush(stdout);
    return 0;
}

/* The rows one after the other. Returns 0 when the loop ended (all rows,
 * or stopped), -1 after saying why on stderr. */
static int run_sequential(sweep_t *sw)
{
    char err[PATH_MAX + 256], kept[PATH_MAX + 128], label[160];

    for (int i = 0; i < sw->nspecs && !must_stop(sw); i++) {
        const run_spec_t *spec = &sw->specs[i];
        sw->progress.row = i;
        on_progress(spec, 0, spec->warmup + spec->repeats, &sw->progress);
        if (run_row(spec, &sw->runs[i], on_progress, &sw->progress, err, sizeof err) < 0) {
            progress_clear(&sw->progress);
            if (interrupted)
                return 0;
            spec_label(spec, label, sizeof label);
            saved_rows(sw, kept, sizeof kept);
            cli_error("%s: %s; %s", label, err, kept);
            return -1;
        }
        progress_clear(&sw->progress);
        if (publish_rows(sw, i, i + 1) < 0)
            return -1;
    }
    return 0;
}

/* What a chart's status means for the run: a note without gnuplot, exit 1
 * when it could not be drawn. Returns the status to keep. */
static int chart_outcome(const sweep_t *sw, plot_status_t chart, const char *what, const char *err,
                         int status)
{
    if (chart == PLOT_NO_GNUPLOT) {
        cli_error("%s skipped: %s", what, err);
    } else if (chart == PLOT_FAILED) {
        cli_error("%s not drawn: %s (in %s/; results.csv and results.json are complete)", what, err,
                  sw->dir.path);
        return CLI_EXIT_FAILED;
    }
    return status;
}

/* --trace: for every saved row with a trace, trace-N.json (N counts rows
 * from 1) and, unless --no-plot, its timeline chart; with several rows,
 * also their timelines stacked on one chart. Returns the status. */
static int write_traces(sweep_t *sw, int status)
{
    const cli_run_args_t *a = sw->args;
    char err[PATH_MAX + 256], name[32], what[48];

    if (a->plot && sw->saved > 1 && rep_timeline_lanes(&sw->doc) > 0 &&
        rep_timeline_lanes(&sw->doc) <= CLI_MAX_STACKED_LANES) {
        rep_doc_t traced = sw->doc;
        traced.nrows = sw->saved;
        status = chart_outcome(sw, plot_timeline(&sw->dir, &traced, 0, err, sizeof err), "timelines", err,
                               status);
    }

    for (int i = 0; i < sw->saved; i++) {
        if (sw->runs[i].gil_trace == NULL)
            continue;
        rep_doc_t one = sw->doc;
        one.rows = &sw->rows[i];
        one.nrows = 1;
        snprintf(name, sizeof name, "trace-%d.json", i + 1);
        rep_output_t out = {name, rep_trace_json};
        if (rep_write_files(&sw->dir, &out, 1, &one, err, sizeof err) < 0) {
            cli_error("%s", err);
            status = CLI_EXIT_FAILED;
            continue;
        }
        if (!a->plot)
            continue;
        snprintf(what, sizeof what, "timeline of row %d", i + 1);
        status = chart_outcome(sw, plot_timeline(&sw->dir, &one, i + 1, err, sizeof err), what, err, status);
    }
    return status;
}

/* The run after its rows: chart, stdout, last message. Returns the exit
 * status. */
static int finish(sweep_t *sw)
{
    const cli_run_args_t *a = sw->args;
    char err[PATH_MAX + 256];
    int status = CLI_EXIT_OK;

    if (a->plot) {
        plot_status_t chart = plot_chart(&sw->dir, &sw->doc, err, sizeof err);
        status = chart_outcome(sw, chart, "chart", err, status);
        if (chart != PLOT_NO_GNUPLOT && a->memory_trace && rep_has_memtrace(&sw->doc) &&
            plot_memory(&sw->dir, &sw->doc, err, sizeof err) == PLOT_FAILED) {
            cli_error("memory chart not drawn: %s (in %s/; memory.csv is complete)", err, sw->dir.path);
            status = CLI_EXIT_FAILED;
        }
        if (chart != PLOT_NO_GNUPLOT) {
            status = chart_outcome(sw, plot_latency(&sw->dir, &sw->doc, err, sizeof err), "latency chart", err,
                                   status);
            status = chart_outcome(sw, plot_throughput(&sw->dir, &sw->doc, err, sizeof err), "throughput chart",
                                   err, status);
        }
    }
    status = write_traces(sw, status);
    if (stdout_usable(sw)) {
        if (a->format == CLI_FORMAT_TABLE)
            rep_table_summary(stdout, sw->rows, sw->saved);
        else if (a->format == CLI_FORMAT_CSV)
            rep_csv_write(stdout, &sw->doc);
        else
            rep_json_write(stdout, &sw->doc);
    }
    if (!stdout_usable(sw)) {
        cli_error("%s; stopped after %d of %d rows, results in %s/", sw->stop, sw->saved,
                  sw->nspecs, sw->dir.path);
        return CLI_EXIT_FAILED;
    }
    if (interrupted) {
        cli_error("interrupted: %d of %d rows finished, results in %s/", sw->saved, sw->nspecs,
                  sw->dir.path);
        return CLI_EXIT_INTERRUPTED;
    }
    cli_error("results in %s/", sw->dir.path);
    return status;
}

int cmd_run(int argc, char **argv)
{
    cli_run_args_t args;
    run_spec_t *specs = NULL;
    rep_context_t ctx = {0};
    sweep_t sw = {.args = &args, .doc = {.ctx = &ctx}, .dir = {.fd = -1, .lock_fd = -1}};
    char err[PATH_MAX + 256];
    int status, rc;

    rc = cli_args_parse(argc, argv, &args, err, sizeof err);
    if (rc != 0) {
        if (rc < 0)
            cli_error("%s", err);
        return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    status = build_specs(&args, &specs, &sw.nspecs, err, sizeof err);
    if (status != CLI_EXIT_OK) {
        cli_error("%s", err);
        return status;
    }
    sw.specs = specs;
    sw.doc.interleaved = args.interleave;
    sw.doc.window_from_ms = args.trace_from_ms;
    sw.doc.window_len_ms = args.trace_len_ms;
    sw.progress = (progress_t){isatty(STDERR_FILENO) == 1, 0, sw.nspecs};
    if (rep_outdir_open(&sw.dir, args.output, args.workload->name, err, sizeof err) < 0) {
        cli_error("%s", err);
        status = CLI_EXIT_USAGE;
        goto out;
    }

    status = CLI_EXIT_FAILED;
    sw.runs = calloc((size_t)sw.nspecs, sizeof *sw.runs);
    sw.rows = calloc((size_t)sw.nspecs, sizeof *sw.rows);
    if (!sw.runs || !sw.rows || collect_context(&ctx, argc, argv) < 0) {
        cli_error("out of memory");
        goto out;
    }
    sw.doc.rows = sw.rows;
    if (args.format == CLI_FORMAT_TABLE)
        rep_table_machine(stdout, &ctx);
    install_sigint();

    if (args.interleave) {
        rc = run_interleaved(&sw, err, sizeof err);
        progress_clear(&sw.progress);
        if (rc < 0 && err[0]) {
            cli_error("%s; no row was saved", err);
            goto out;
        }
        if (rc > 0 && publish_rows(&sw, 0, rc) < 0)
            goto out;
    } else if (run_sequential(&sw) < 0) {
        goto out;
    }
    if (sw.saved == 0) {
        if (sw.stop[0])
            cli_error("%s; stopped before any row finished, nothing was saved", sw.stop);
        else
            cli_error("interrupted before any row finished");
        status = sw.stop[0] ? CLI_EXIT_FAILED : CLI_EXIT_INTERRUPTED;
        goto out;
    }
    status = finish(&sw);
out:
    rep_outdir_close(&sw.dir, sw.saved == 0);
    for (int i = 0; sw.runs && i < sw.nspecs; i++)
        run_row_free(&sw.runs[i]);
    free(sw.runs);
    free(sw.rows);
    free(specs);
    rep_context_free(&ctx);
    return status;
}
