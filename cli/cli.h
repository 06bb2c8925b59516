/* cli/cli.h: the subcommands of gil-lab, one function each, and the exit
 * statuses they share. main.c dispatches on argv[1]; every command receives
 * its own argv (argv[0] is the command's name) and returns the process exit
 * status. Errors are one line on stderr, "gil-lab: <what is wrong>".
 */
#ifndef GL_CLI_H
#define GL_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILED 1        /* a run failed at run time */
#define CLI_EXIT_USAGE 2         /* bad input: nothing ran */
#define CLI_EXIT_INTERRUPTED 130 /* SIGINT; finished rows are kept */

/* `gil-lab run`, also the default experiment (cli/cmd_run.c). */
int cmd_run(int argc, char **argv);
/* `gil-lab list`: the registries (cli/cmd_info.c). */
int cmd_list(int argc, char **argv);
/* `gil-lab topo`: the hwloc topology and --pin cores (cli/cmd_info.c). */
int cmd_topo(int argc, char **argv);
/* `gil-lab dis`: a workload's bytecode (cli/cmd_lab.c). */
int cmd_dis(int argc, char **argv);
/* `gil-lab heap`: the pymalloc model (cli/cmd_lab.c). */
int cmd_heap(int argc, char **argv);
/* `gil-lab sizes`: object sizes beside CPython's (cli/cmd_sizes.c). */
int cmd_sizes(int argc, char **argv);
/* `gil-lab refs`: seed 002's ids and refcounts in the lab (cli/cmd_refs.c). */
int cmd_refs(int argc, char **argv);
/* `gil-lab compare`: saved results against each other (cli/cmd_compare.c). */
int cmd_compare(int argc, char **argv);
/* `gil-lab plot`: charts from saved results (cli/cmd_plot.c). */
int cmd_plot(int argc, char **argv);
/* `gil-lab report`: one HTML page of saved results (cli/cmd_plot.c). */
int cmd_report(int argc, char **argv);
/* `gil-lab calibrate`: the workloads in real CPython beside the lab
 * (cli/cmd_calibrate.c). */
int cmd_calibrate(int argc, char **argv);

/* Helpers every command shares (cli/main.c, cli/args.c). */

/* Print "gil-lab: <message>" and a newline on stderr, the message escaped
 * (rep_escape) so that echoed input cannot split the line or reach the
 * terminal raw. Cannot fail. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The handler that ends the lab at once (SIGTERM; a second SIGINT in
 * `run`): kill and reap the repeat under way (run_kill_repeat), say so on
 * stderr, then die of `sig`. In a forked child, which inherits it, it only
 * dies of `sig`. Async-signal-safe. */
void cli_stop_now(int sig);

struct option;

/* getopt_long over a command's argv (argv[0] is the command's name), with
 * getopt's own complaints turned into one cli_error line that names the
 * option as typed (cli_option_error). optstring must start with ':'; set
 * optind = 0 before the first call. Returns the next option, -1 at the end,
 * or '?' after printing the error. */
int cli_getopt(int argc, char **argv, const char *optstring, const struct option *longopts);

/* After cli_getopt has taken a command's options: refuse any operand left
 * (argv[optind] on), for commands that take none. Returns 0, or -1 after
 * cli_error "unexpected argument 'x' (see gil-lab <command> --help)". */
int cli_no_operands(int argc, char **argv);

/* Parse an integer option value (cli/parse.h forms) in [min, max]. Returns
 * 0, or -1 after printing "gil-lab: <option>: <why>". */
int cli_parse_count(const char *s, const char *option, int64_t min, int64_t max, int64_t *out);

typedef struct rep_results rep_results_t;

/* Load and summarise the results at paths[0..n) (folders or JSON files).
 * Returns the array (free with cli_free_results), or NULL after printing
 * one line naming the file and what is wrong with it. */
rep_results_t *cli_load_results(int n, char *const *paths);
/* Release what cli_load_results returned. NULL-safe. */
void cli_free_results(rep_results_t *res, int n);

typedef struct rep_doc rep_doc_t;

/* Write a file the user named (--export-markdown, report -o) into its
 * folder as outdir.c writes results: filled at "<path>.tmp", created
 * exclusively without following a link, synced, renamed over path.
 * Returns 0, or -1 after printing one line (the temporary is removed). */
int cli_write_file(const char *path, int (*fill)(FILE *f, const rep_doc_t *doc, const void *arg),
                   const rep_doc_t *doc, const void *arg);

/* The registered workload names, "countdown, alloc, shared" (cli/args.c).
 * Cannot fail (truncates). */
void cli_workload_names(char *buf, size_t len);

#endif
