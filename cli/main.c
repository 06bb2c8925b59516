/* cli/main.c: gil-lab's entry point. With no argument it runs the default
 * experiment, the seed notebook's comparison (countdown of 50M: one thread,
 * two threads, Pool(2), two Processes, under the GIL), so that `make demo`
 * and a bare `gil-lab` reproduce the talk's first slide. Otherwise argv[1]
 * names a command from the table below.
 *
 * Two signals are ignored from the first instruction on, for every command,
 * because both would kill the lab silently in the middle of writing:
 *
 *   SIGPIPE  a reader that has gone (`gil-lab run | head -1`) makes writes
 *            to stdout fail with EPIPE instead; `run` then stops at the next
 *            row with its files written and says why (cmd_run.c)
 *   SIGXFSZ  a file-size limit (ulimit -f) makes writes fail with EFBIG,
 *            handled like a full disk: no broken file, a clear message
 *
 * SIGTERM is caught for every command (cli_stop_now): the processes of the
 * repeat under way, which run in a process group of their own, are killed
 * and reaped, one line says so, and the lab then dies of SIGTERM as it
 * would have, so its parent sees the signal. A second Ctrl-C in `run` does
 * the same (cmd_run.c).
 *
 * Descriptors 0, 1 and 2 are made to exist first (on /dev/null when the
 * caller closed them, `gil-lab run >&-`): otherwise the first file the lab
 * opens would become "stdout", and the table would be written into it.
 *
 * Every error goes through cli_error, which escapes what it prints: a
 * message that echoes the user's input (an unknown guard name holding a
 * newline or an escape sequence) stays one line and cannot drive the
 * terminal.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "build_info.h"
#include "cli/cli.h"
#include "cli/parse.h"
#include "report/report.h"
#include "runners/runner.h"

#define ERROR_MAX 8192   /* longest message, before escaping */

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command_t;

static const command_t commands[] = {
    {"run", cmd_run, "measure a workload across modes, guards, allocators, worker counts"},
    {"list", cmd_list, "workloads (sizes, parameters), modes, guards and allocators"},
    {"topo", cmd_topo, "this machine's topology, and the cores --pin cores uses"},
    {"dis", cmd_dis, "a workload's bytecode"},
    {"heap", cmd_heap, "the pymalloc model's arenas, pools and size classes, or a picture"},
    {"sizes", cmd_sizes, "object sizes beside CPython's sys.getsizeof, both builds"},
    {"refs", cmd_refs, "seed 002's ids and reference counts, in the lab's interpreter"},
    {"compare", cmd_compare, "saved results against each other, with significance"},
    {"plot", cmd_plot, "redraw a chart from saved results"},
    {"report", cmd_report, "one self-contained HTML page of saved results"},
    {"calibrate", cmd_calibrate, "the workloads in real CPython beside the model"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* The default experiment, as one explicit command line. */
static char *default_argv[] = {
    "run", "-w", "countdown", "-m", "single,threads,pool,processes", "-j", "2", "-n", "50M",
    "-g", "gil", "-r", "5", "--warmup", "1", NULL,
};

void cli_error(const char *fmt, ...)
{
    char text[ERROR_MAX], safe[ERROR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    rep_escape(text, safe, sizeof safe);
    fflush(stdout);
    fprintf(stderr, "gil-lab: %s\n", safe);
}

int cli_parse_count(const char *s, const char *option, int64_t min, int64_t max, int64_t *out)
{
    char why[256];

    if (cli_parse_int_range(s, min, max, out, why, sizeof why) < 0) {
        cli_error("%s: %s", option, why);
        return -1;
    }
    return 0;
}

int cli_getopt(int argc, char **argv, const char *optstring, const struct option *longopts)
{
    char err[640];
    int opt;

    opterr = 0;
    opt = getopt_long(argc, argv, optstring, longopts, NULL);
    if (opt != ':' && opt != '?')
        return opt;
    cli_option_error(opt, argv, longopts, argv[0], err, sizeof err);
    cli_error("%s", err);
    return '?';
}

int cli_no_operands(int argc, char **argv)
{
    if (optind >= argc)
        return 0;
    cli_error("unexpected argument '%s' (see gil-lab %s --help)", argv[optind], argv[0]);
    return -1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "gil-lab %s: measure what the GIL costs, and what removing it costs.\n"
            "\n"
            "Usage: gil-lab [COMMAND [OPTIONS]]\n"
            "\n"
            "Without a command, runs the default experiment (the seed notebook's):\n"
            "  gil-lab",
            GL_VERSION);
    for (size_t k = 0; default_argv[k]; k++)
        fprintf(f, " %s", default_argv[k]);
    fputs("\n\nCommands:\n", f);
    for (size_t k = 0; k < NCOMMANDS; k++)
        fprintf(f, "  %-9s %s\n", commands[k].name, commands[k].summary);
    fputs("\n"
          "  -h, --help     this help; `gil-lab COMMAND --help` for a command's options\n"
          "  -V, --version  version and git revision\n",
          f);
}

/* The options before a command: -h/--help, -V/--version. Returns the exit
 * status. */
static int global_option(char *program, char *option)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    char *args[] = {program, option, NULL}, err[512];
    int opt;

    opterr = 0;
    optind = 0;
    opt = getopt_long(2, args, ":hV", options, NULL);
    if (opt == 'h') {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (opt == 'V') {
        printf("gil-lab %s (git %s, %s build, %s)\n", GL_VERSION, GL_GIT_REV, GL_BUILD_TYPE,
               GL_COMPILER);
        return CLI_EXIT_OK;
    }
    if (opt == ':' || opt == '?')
        cli_option_error(opt, args, options, NULL, err, sizeof err);
    else   /* "--", which getopt takes for the end of the options */
        snprintf(err, sizeof err, "unknown option '%s' (see gil-lab --help)", option);
    cli_error("%s", err);
    return CLI_EXIT_USAGE;
}

static int unknown_command(const char *name)
{
    char valid[128];
    size_t used = 0;

    for (size_t k = 0; k < NCOMMANDS && used < sizeof valid; k++)
        used += (size_t)snprintf(valid + used, sizeof valid - used, "%s%s", k ? ", " : "",
                                 commands[k].name);
    cli_error("unknown command '%s' (valid: %s)", name, valid);
    return CLI_EXIT_USAGE;
}

static pid_t lab_pid;

#define STOP_KILLED ": the repeat under way was killed with its workers and reaped; the files hold every finished row\n"

void cli_stop_now(int sig)
{
    static const char term[] = "\ngil-lab: terminated\n", term_run[] = "\ngil-lab: terminated" STOP_KILLED,
                      intr[] = "\ngil-lab: interrupted again\n", intr_run[] = "\ngil-lab: interrupted again" STOP_KILLED;

    if (getpid() == lab_pid) {   /* a forked child inherits the handler, not the job */
        bool repeat = run_kill_repeat();
        const char *msg = sig == SIGINT ? (repeat ? intr_run : intr) : (repeat ? term_run : term);
        if (write(STDERR_FILENO, msg, strlen(msg)) < 0) {   /* both async-signal-safe */
            /* stderr is gone: nothing more to say */
        }
    }
    signal(sig, SIG_DFL);
    raise(sig);   /* delivered when the handler returns: the lab dies of sig */
}

/* Open /dev/null on whichever of 0, 1, 2 is closed. Cannot fail (without
 * /dev/null there is nothing better to do). */
static void std_fds_open(void)
{
    for (int fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF && open("/dev/null", O_RDWR) != fd)
            return;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : NULL;

    std_fds_open();
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    lab_pid = getpid();
    signal(SIGTERM, cli_stop_now);
    if (!name)
        return cmd_run((int)(sizeof default_argv / sizeof default_argv[0]) - 1, default_argv);
    if (strcmp(name, "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (name[0] == '-' && name[1])
        return global_option(argv[0], argv[1]);
    for (size_t k = 0; k < NCOMMANDS; k++)
        if (strcmp(name, commands[k].name) == 0)
            return commands[k].run(argc - 1, argv + 1);
    return unknown_command(name);
}
