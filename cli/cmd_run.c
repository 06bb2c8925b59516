/* cli/cmd_run.c: `gil-lab run`, from options to a results folder.
 *
 *   1. parse and check the options (args.c)                  exit 2 on error
 *   2. expand them into rows (sweep.c) and let the core veto
 *      each one (run_spec_check: e.g. guard none with
 *      threads); check that --baseline names a row           exit 2 on error
 *   3. create, open and lock the output folder and prove it
 *      writable (report/outdir.c); a folder another run is
 *      writing is refused here; --resume reads the rows it
 *      already holds, which must belong to this sweep        exit 2 on error
 *   4. --min-time: the trials that choose the sizes
 *   5. run the rows: interleaved by default (one repeat of
 *      each row in turn, round after round, so that drift in
 *      the machine's speed hits every row alike), or one
 *      after the other with --sequential; whenever rows
 *      finish, write results.csv and results.json together,
 *      so an interrupted or failed sweep keeps every row
 *      that has all its repeats                              exit 1 on error
 *   6. draw the charts, export the Markdown table, print the
 *      summary (or the CSV/JSON document) on stdout, say
 *      where the files are on stderr.
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
 * through a file. Before each repeat the run checks stdout (a failed
 * write, or a pipe whose reader has gone, which poll(2) reports as POLLERR)
 * and stops with the finished rows written and one line saying why (exit
 * 1), rather than running the rest of the sweep for nobody.
 *
 * SIGINT: the first one stops the sweep with exit status 130 once what is
 * under way is done: the current row (--sequential), or the current round
 * (interleaved), after which every row that has all its repeats is
 * written. The repeat processes and their workers run in a process group
 * of their own (runner.c), so the terminal's Ctrl-C reaches the lab alone
 * and the repeat under way is finished, not lost. A second Ctrl-C stops at
 * once, as SIGTERM does (cli_stop_now): the repeat under way is killed with
 * its workers and reaped, and the lab dies of SIGINT; the files on disk
 * still hold every finished row because each rewrite is atomic. Forked
 * processes inherit the handler, so in any process other than ours it
 * restores the default action and re-raises.
 *
 * Progress goes to stderr only when stderr is a terminal: one line
 * rewritten in place between repeats (never inside a timed region), with
 * the time elapsed and an estimate of the time left (each row's remaining
 * repeats times its last repeat's duration), cleared before anything else
 * is printed.
 */
#define _GNU_SOURCE /* program_invocation_name */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/sweep.h"
#include "lab/clock.h"
#include "plots/plot.h"
#include "report/report.h"

static volatile sig_atomic_t interrupted;
static pid_t main_pid;

static void on_sigint(int sig)
{
    static const char msg[] =
        "\ngil-lab: interrupted: stopping after the current row or round (Ctrl-C again to quit now)\n";

    if (interrupted || getpid() != main_pid) {
        cli_stop_now(sig);
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
    sigemptyset(&sa.sa_mask);
    main_pid = getpid();
    sigaction(SIGINT, &sa, NULL);
}

/* Progress on a terminal: where the sweep is, how long it has run, how
 * long it has left. */
typedef struct progress {
    bool tty;
    uint64_t start_ns;
    double *step_s;       /* per row: its last step's duration, 0 before one */
    int *left;            /* per row: steps (warm-ups and repeats) not done */
} progress_t;

/* "1:05" or "1:02:05". */
static void fmt_clock(double s, char *buf, size_t len)
{
    long t = s > 0 ? lround(s) : 0;

    if (t >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

/* The estimate of the time left: every row's steps left times its last
 * step's duration (the mean of the known ones for rows not yet started).
 * Negative when nothing is known yet. */
static double time_left(const progress_t *p, int n)
{
    double known = 0.0, left = 0.0;
    int nknown = 0, unknown_steps = 0;

    for (int i = 0; i < n; i++) {
        if (p->step_s[i] > 0) {
            known += p->step_s[i], nknown++;
            left += p->left[i] * p->step_s[i];
        } else {
            unknown_steps += p->left[i];
        }
    }
    if (!nknown)
        return -1.0;
    return left + unknown_steps * known / nknown;
}

static void progress_show(const progress_t *p, const run_spec_t *specs, int n, int i, int done,
                          const char *where)
{
    const run_spec_t *spec = &specs[i];
    char label[160], elapsed[32], left[32];
    double est = time_left(p, n);

    if (!p->tty)
        return;
    sweep_label(spec, label, sizeof label);
    fmt_clock(clock_seconds(clock_now_ns() - p->start_ns), elapsed, sizeof elapsed);
    if (est >= 0)
        fmt_clock(est, left, sizeof left);
    fprintf(stderr, "\r\033[K%s row %d/%d %s: %s %d/%d · %s elapsed%s%s%s", where, i + 1, n,
            label, done < spec->warmup ? "warm-up" : "repeat",
            done < spec->warmup ? done + 1 : done - spec->warmup + 1,
            done < spec->warmup ? spec->warmup : spec->repeats, elapsed,
            est >= 0 ? ", about " : "", est >= 0 ? left : "", est >= 0 ? " left" : "");
    fflush(stderr);
}

static void progress_clear(const progress_t *p)
{
    if (p->tty) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
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

/* A sweep in progress: its rows, what is saved, and why it stopped early. */
typedef struct sweep {
    const cli_run_args_t *args;
    const run_spec_t *specs;
    int nspecs;
    run_row_t *runs;            /* per spec; complete when finished[i] */
    bool *finished;             /* all repeats done (run here or resumed) */
    bool *printed;              /* its block is on stdout */
    run_row_t *pub;             /* the finished rows, in spec order (shallow copies) */
    int *pub_spec;              /* pub[k] is specs[pub_spec[k]] */
    rep_row_t *rows;            /* pub summarised */
    rep_doc_t doc;
    rep_context_t *ctx;         /* doc.ctx, which publish updates (the state after) */
    rep_outdir_t dir;
    progress_t progress;
    int saved;                  /* rows in results.csv and results.json */
    int resumed;                /* rows read from --resume's folder */
    char notes[2048];           /* --min-time's choices, --resume's rows */
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

/* Whether the sweep must stop before its next step: Ctrl-C, or a stdout
 * that can take no more. */
static bool must_stop(sweep_t *sw)
{
    return interrupted || !stdout_usable(sw);
}

/* "results.csv and results.json in DIR/ hold 2 of 5 rows" or "no row
 * was saved", for messages about a sweep that ended early. */
static void saved_rows(const sweep_t *sw, char *buf, size_t len)
{
    if (sw->saved == 0)
        snprintf(buf, len, "no row was saved");
    else
        snprintf(buf, len, "results.csv and results.json in %s/ hold %d of %d row%s",
                 sw->dir.path, sw->saved, sw->nspecs, sw->nspecs == 1 ? "" : "s");
}

/* Summarise every finished row, write the files (after removing an
 * earlier run's chart, the first time), print the blocks of rows not yet
 * printed (table format) or their notes (csv/json). 0, or -1 after saying
 * why on stderr. */
static int publish(sweep_t *sw)
{
    static const rep_output_t outputs[] = {
        {"results.csv", rep_csv_fill, NULL},
        {"results.json", rep_json_fill, NULL},
        {"memory.csv", rep_memtrace_fill, NULL},   /* --memory-trace only */
    };
    char err[PATH_MAX + 256], kept[PATH_MAX + 128], label[160], note[320];
    int n = 0;

    for (int i = 0; i < sw->nspecs; i++) {
        if (!sw->finished[i])
            continue;
        sw->pub[n] = sw->runs[i];
        sw->pub_spec[n++] = i;
    }
    if (n == sw->saved)
        return 0;
    sw->doc.nrows = n;
    if (rep_summarize(sw->pub, n, &sw->doc.setup, sw->rows) < 0) {
        cli_error("out of memory");
        return -1;
    }
    rep_machine_state_read(&sw->ctx->after);
    if ((sw->saved == 0 && plot_remove(&sw->dir, err, sizeof err) < 0) ||
        rep_write_files(&sw->dir, outputs, sw->args->memory_trace ? 3 : 2, &sw->doc, err, sizeof err) < 0) {
        saved_rows(sw, kept, sizeof kept);
        cli_error("%s in %s/; %s", err, sw->dir.path, kept);
        return -1;
    }
    sw->saved = n;
    for (int k = 0; k < n; k++) {
        int i = sw->pub_spec[k];
        if (sw->printed[i])
            continue;
        sw->printed[i] = true;
        if (sw->args->format == CLI_FORMAT_TABLE) {
            rep_table_block(stdout, sw->rows, k, &sw->doc.setup);
        } else if (rep_short_warning(&sw->rows[k], note, sizeof note)) {
            sweep_label(&sw->specs[i], label, sizeof label);
            cli_error("note: %s: %s", label, note);
        }
    }
    fflush(stdout);
    return 0;
}

/* One warm-up or repeat of row i, timed for the estimate. Returns what
 * run_session_step returns. */
static int step(sweep_t *sw, run_session_t *s, int i, const char *where, char *why, size_t len)
{
    uint64_t t0 = clock_now_ns();
    int done, total, r;

    run_session_progress(s, &done, &total);
    progress_show(&sw->progress, sw->specs, sw->nspecs, i, done, where);
    r = run_session_step(s, why, len);
    sw->progress.step_s[i] = clock_seconds(clock_now_ns() - t0);
    if (r >= 0)
        sw->progress.left[i]--;
    return r;
}

/* Report a row that failed: its label, the reason, what is saved. */
static void row_failed(const sweep_t *sw, int i, const char *why)
{
    char label[160], kept[PATH_MAX + 128];

    sweep_label(&sw->specs[i], label, sizeof label);
    saved_rows(sw, kept, sizeof kept);
    cli_error("%s: %s; %s", label, why, kept);
}

/* --sequential: the rows one after the other, each written when done.
 * Returns 0 when the loop ended (all rows, or stopped), -1 after saying
 * why on stderr. */
static int run_sequential(sweep_t *sw)
{
    char why[PATH_MAX];

    for (int i = 0; i < sw->nspecs && !must_stop(sw); i++) {
        run_session_t *s;
        int r = 1;
        if (sw->finished[i])
            continue;
        s = run_session_open(&sw->specs[i], &sw->runs[i], why, sizeof why);
        if (!s) {
            row_failed(sw, i, why);
            return -1;
        }
        while (r > 0)
            r = step(sw, s, i, "sequential", why, sizeof why);
        run_session_close(s);
        progress_clear(&sw->progress);
        if (r < 0) {
            run_row_free(&sw->runs[i]);
            row_failed(sw, i, why);
            return -1;
        }
        sw->finished[i] = true;
        if (publish(sw) < 0)
            return -1;
    }
    return 0;
}

/* Interleaved: open every unfinished row, then run one warm-up or repeat
 * of each in turn, round after round. Ctrl-C ends the sweep at the end of
 * the current round; rows complete by then are written. Returns 0 when the
 * loop ended, -1 after saying why on stderr. */
static int run_interleaved(sweep_t *sw)
{
    int n = sw->nspecs, rc = 0, rounds = 0;
    run_session_t **sessions = calloc((size_t)n, sizeof *sessions);
    char why[PATH_MAX], where[48];

    if (!sessions) {
        cli_error("out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (sw->finished[i])
            continue;
        sessions[i] = run_session_open(&sw->specs[i], &sw->runs[i], why, sizeof why);
        if (!sessions[i]) {
            row_failed(sw, i, why);
            rc = -1;
            goto out;
        }
        if (sw->specs[i].warmup + sw->specs[i].repeats > rounds)
            rounds = sw->specs[i].warmup + sw->specs[i].repeats;
    }
    for (int round = 0; round < rounds; round++) {
        bool stopping = false;
        snprintf(where, sizeof where, "round %d/%d", round + 1, rounds);
        for (int i = 0; i < n; i++) {
            int r;
            if (!sessions[i])
                continue;
            if (!stdout_usable(sw)) {
                stopping = true;
                break;
            }
            stopping |= interrupted;
            r = step(sw, sessions[i], i, where, why, sizeof why);
            if (r < 0) {
                run_session_close(sessions[i]);
                sessions[i] = NULL;
                run_row_free(&sw->runs[i]);
                progress_clear(&sw->progress);
                publish(sw);    /* rows that finished before it, in the last round */
                row_failed(sw, i, why);
                rc = -1;
                goto out;
            }
            if (r == 0) {
                run_session_close(sessions[i]);
                sessions[i] = NULL;
                sw->finished[i] = true;
            }
        }
        if (stopping || interrupted)
            break;
    }
    progress_clear(&sw->progress);
    rc = publish(sw);
out:
    for (int i = 0; i < n; i++) {
        if (sessions[i]) {
            run_session_close(sessions[i]);
            run_row_free(&sw->runs[i]);
        }
    }
    free(sessions);
    return rc;
}

static int markdown_fill(FILE *f, const rep_doc_t *doc, const void *arg)
{
    (void)arg;
    return rep_markdown_write(f, doc);
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
 * from 1), what `plot --chart timeline` redraws from (the timelines
 * themselves are plot_run_charts'). Returns the status. */
static int write_traces(sweep_t *sw, int status)
{
    char err[PATH_MAX + 256], name[32];

    for (int i = 0; i < sw->saved; i++) {
        if (sw->rows[i].run->gil_trace == NULL)
            continue;
        rep_doc_t one = sw->doc;
        one.rows = &sw->rows[i];
        one.nrows = 1;
        snprintf(name, sizeof name, "trace-%d.json", i + 1);
        rep_output_t out = {name, rep_trace_json, NULL};
        if (rep_write_files(&sw->dir, &out, 1, &one, err, sizeof err) < 0) {
            cli_error("%s", err);
            status = CLI_EXIT_FAILED;
        }
    }
    return status;
}

/* The run after its rows: charts, traces, Markdown, stdout, last message.
 * Returns the exit status. */
static int finish(sweep_t *sw)
{
    const cli_run_args_t *a = sw->args;
    char err[PATH_MAX + 256], busy[512];
    int status = CLI_EXIT_OK;

    if (a->plot)
        status = chart_outcome(sw, plot_run_charts(&sw->dir, &sw->doc, err, sizeof err), "chart", err, status);
    for (int i = 0; a->memory_trace && i < sw->saved; i++)
        if (sw->rows[i].run->trace.dropped > 0)
            cli_error("note: memory trace of %s: %zu samples past the first %u were dropped (a longer "
                      "--sample-interval keeps the whole run)",
                      sw->rows[i].name, sw->rows[i].run->trace.dropped, MEMTRACE_MAX_POINTS);
    status = write_traces(sw, status);
    if (a->markdown && cli_write_file(a->markdown, markdown_fill, &sw->doc, NULL) < 0)
        status = CLI_EXIT_FAILED;
    if (stdout_usable(sw)) {
        if (a->format == CLI_FORMAT_TABLE) {
            rep_table_summary(stdout, sw->rows, sw->saved, &sw->doc.setup);
            if (rep_busy_warning(&sw->doc, busy, sizeof busy))
                printf("\nWarning: %s.\n", busy);
        } else if (a->format == CLI_FORMAT_CSV) {
            rep_csv_write(stdout, &sw->doc);
        } else {
            rep_json_write(stdout, &sw->doc);
        }
        if (a->format != CLI_FORMAT_TABLE && rep_busy_warning(&sw->doc, busy, sizeof busy))
            cli_error("warning: %s", busy);
    }
    if (!stdout_usable(sw)) {
        cli_error("%s; stopped with %d of %d rows, results in %s/", sw->stop, sw->saved,
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

/* --resume: the rows the folder already holds become finished rows of this
 * sweep. Every one must be a row of it, measured the same way. Returns
 * CLI_EXIT_OK (also when the folder holds no results yet), or another
 * status with the reason in err. */
static int resume_rows(sweep_t *sw, char *err, size_t errlen)
{
    rep_results_t old;
    char path[PATH_MAX + 32], name[192];
    int status = CLI_EXIT_OK;

    snprintf(path, sizeof path, "%s/results.json", sw->dir.path);
    if (access(path, F_OK) != 0)
        return CLI_EXIT_OK;
    if (rep_results_load(path, &old, err, errlen) < 0)
        return CLI_EXIT_USAGE;
    for (int k = 0; k < old.nruns && status == CLI_EXIT_OK; k++) {
        run_row_t *o = &old.runs[k];
        int i;
        rep_spec_name(&o->spec, name, sizeof name);
        for (i = 0; i < sw->nspecs; i++) {
            char mine[192];
            rep_spec_name(&sw->specs[i], mine, sizeof mine);
            if (strcmp(mine, name) == 0)
                break;
        }
        if (i == sw->nspecs || o->nsamples != sw->specs[i].repeats ||
            o->spec.warmup != sw->specs[i].warmup) {
            snprintf(err, errlen,
                     "--resume %.2000s: its row %s is not a row of this sweep%s (resume with the "
                     "options of the run that wrote it)",
                     sw->dir.path, name, i < sw->nspecs ? " with the same -r and --warmup" : "");
            status = CLI_EXIT_USAGE;
            break;
        }
        sw->runs[i].spec = sw->specs[i];
        sw->runs[i].nsamples = o->nsamples;
        sw->runs[i].samples = malloc((size_t)o->nsamples * sizeof *o->samples);
        if (!sw->runs[i].samples) {
            snprintf(err, errlen, "out of memory");
            status = CLI_EXIT_FAILED;
            break;
        }
        memcpy(sw->runs[i].samples, o->samples, (size_t)o->nsamples * sizeof *o->samples);
        sw->runs[i].fair = o->fair;   /* taken: the old results are freed below */
        o->fair = NULL;
        sw->finished[i] = true;
        sw->progress.left[i] = 0;
        sw->resumed++;
    }
    if (status == CLI_EXIT_OK && sw->resumed) {
        size_t used = strlen(sw->notes);
        snprintf(sw->notes + used, sizeof sw->notes - used,
                 "%s--resume: %d of %d rows read from %s (run %s)", used ? "\n" : "",
                 sw->resumed, sw->nspecs, path, old.ctx.date);
    }
    rep_results_free(&old);
    return status;
}

/* Allocate the per-row arrays. Returns 0, or -1 when out of memory. */
static int sweep_alloc(sweep_t *sw)
{
    size_t n = (size_t)sw->nspecs;

    sw->runs = calloc(n, sizeof *sw->runs);
    sw->finished = calloc(n, sizeof *sw->finished);
    sw->printed = calloc(n, sizeof *sw->printed);
    sw->pub = calloc(n, sizeof *sw->pub);
    sw->pub_spec = calloc(n, sizeof *sw->pub_spec);
    sw->rows = calloc(n, sizeof *sw->rows);
    sw->progress.step_s = calloc(n, sizeof *sw->progress.step_s);
    sw->progress.left = calloc(n, sizeof *sw->progress.left);
    if (!sw->runs || !sw->finished || !sw->printed || !sw->pub || !sw->pub_spec || !sw->rows ||
        !sw->progress.step_s || !sw->progress.left)
        return -1;
    for (size_t i = 0; i < n; i++)
        sw->progress.left[i] = sw->specs[i].warmup + sw->specs[i].repeats;
    return 0;
}

static void sweep_free(sweep_t *sw)
{
    for (int i = 0; sw->runs && i < sw->nspecs; i++)
        run_row_free(&sw->runs[i]);
    free(sw->runs);
    free(sw->finished);
    free(sw->printed);
    free(sw->pub);
    free(sw->pub_spec);
    free(sw->rows);
    free(sw->progress.step_s);
    free(sw->progress.left);
}

/* Steps 1 and 2: options, rows, the baseline. Returns the status. */
static int plan(int argc, char **argv, cli_run_args_t *args, run_spec_t **specs, int *n)
{
    char err[PATH_MAX + 256], base[96];
    int rc = cli_args_parse(argc, argv, args, err, sizeof err);

    if (rc != 0) {
        if (rc < 0)
            cli_error("%s", err);
        return rc > 0 ? -1 : CLI_EXIT_USAGE;
    }
    rc = sweep_build(args, NULL, specs, n, err, sizeof err);
    if (rc != CLI_EXIT_OK) {
        cli_error("%s", err);
        return rc;
    }
    if (args->baseline_given &&
        !rep_baseline_matches(*specs, *n, &args->setup.baseline, args->setup.scaling)) {
        rep_baseline_format(&args->setup.baseline, base, sizeof base);
        cli_error("--baseline: no row of this sweep is '%s' (add it with -m/-g/-a/-j)", base);
        free(*specs);
        *specs = NULL;
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

int cmd_run(int argc, char **argv)
{
    cli_run_args_t args;
    run_spec_t *specs = NULL;
    rep_context_t ctx = {0};
    sweep_t sw = {.args = &args, .doc = {.ctx = &ctx}, .ctx = &ctx, .dir = {.fd = -1, .lock_fd = -1}};
    char err[PATH_MAX + 256];
    int status;

    status = plan(argc, argv, &args, &specs, &sw.nspecs);
    if (status != CLI_EXIT_OK)
        return status < 0 ? CLI_EXIT_OK : status;
    sw.specs = specs;
    sw.doc.window_from_ms = args.trace_from_ms;
    sw.doc.window_len_ms = args.trace_len_ms;
    if (rep_outdir_open(&sw.dir, args.output, args.workloads[0]->name, err, sizeof err) < 0) {
        cli_error("%s", err);
        status = CLI_EXIT_USAGE;
        goto out;
    }
    status = CLI_EXIT_FAILED;
    if (sweep_alloc(&sw) < 0 || collect_context(&ctx, argc, argv) < 0) {
        cli_error("out of memory");
        goto out;
    }
    if (args.min_time_s > 0) {
        int64_t sizes[16];
        if (sweep_min_time(&args, sizes, sw.notes, sizeof sw.notes, err, sizeof err) < 0) {
            cli_error("%s", err);
            goto out;
        }
        free(specs);
        specs = NULL;
        sweep_free(&sw);
        if ((status = sweep_build(&args, sizes, &specs, &sw.nspecs, err, sizeof err)) !=
            CLI_EXIT_OK) {
            cli_error("%s", err);
            goto out;
        }
        sw.specs = specs;
        status = CLI_EXIT_FAILED;
        if (sweep_alloc(&sw) < 0) {
            cli_error("out of memory");
            goto out;
        }
    }
    if (args.resume && (status = resume_rows(&sw, err, sizeof err)) != CLI_EXIT_OK) {
        cli_error("%s", err);
        goto out;
    }
    status = CLI_EXIT_FAILED;
    sw.doc.rows = sw.rows;
    sw.doc.interleaved = !args.sequential && sw.nspecs > 1;
    sw.doc.setup = args.setup;
    sw.doc.setup.cpus = ctx.num_pus;
    sw.doc.notes = sw.notes;
    sw.progress.tty = isatty(STDERR_FILENO) == 1;
    sw.progress.start_ns = clock_now_ns();
    if (args.format == CLI_FORMAT_TABLE) {
        rep_table_machine(stdout, &ctx);
        if (sw.notes[0])
            printf("%s\n\n", sw.notes);
    } else {
        for (const char *line = sw.notes; *line;) {
            size_t len = strcspn(line, "\n");
            cli_error("note: %.*s", (int)len, line);
            line += len + (line[len] == '\n');
        }
    }
    install_sigint();
    if (sw.resumed && publish(&sw) < 0)
        goto out;
    if ((sw.doc.interleaved ? run_interleaved(&sw) : run_sequential(&sw)) < 0)
        goto out;
    if (sw.saved == 0) {
        if (sw.stop[0])
            cli_error("%s; stopped before any row finished, nothing was saved", sw.stop);
        else
            cli_error("interrupted before any row had all its repeats; nothing was saved");
        status = sw.stop[0] ? CLI_EXIT_FAILED : CLI_EXIT_INTERRUPTED;
        goto out;
    }
    status = finish(&sw);
out:
    rep_outdir_close(&sw.dir, sw.saved == 0);
    sweep_free(&sw);
    free(specs);
    rep_context_free(&ctx);
    return status;
}
