/* cli/cmd_lab.c: `gil-lab dis`, the bytecode a workload runs, like dis.dis
 * (the heap's teaching view is cli/cmd_heap.c).
 *
 *   gil-lab dis [-P NAME=V]... [WORKLOAD...]
 *
 * `dis` shows exactly the code `run` executes: the same -P parameters, and
 * a source text in which each parameter's name is replaced by its value,
 * since the bytecode loads the value as a constant (`x = L[n % 64]` above
 * LOAD_CONST 64); a listing that says `length` above a constant would
 * describe code that does not run.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/parse.h"
#include "lab/code.h"
#include "workloads/workload.h"

static const char dis_help[] =
    "Usage: gil-lab dis [-P NAME=V]... [WORKLOAD...]\n"
    "\n"
    "Print the bytecode of each workload (all when none is named), as Python's\n"
    "dis module would: offsets, jump targets (>>), opcodes and arguments.\n"
    "\n"
    "  -P, --param NAME=V   a workload parameter, as for gil-lab run (one -P per\n"
    "                       parameter, the last value counts); it must be a\n"
    "                       parameter of every workload shown\n"
    "  -h, --help           this help\n"
    "\n"
    "The source above each listing shows the parameters' values where the\n"
    "workload's Python names them, because that is what the code loads:\n"
    "  gil-lab dis countdown\n"
    "  gil-lab dis shared -P length=7\n";

/* src with every identifier that names one of wl's parameters replaced by
 * its value, into buf. Cannot fail (truncates). */
static void source_with_values(const char *src, const workload_t *wl, const int64_t *params,
                               char *buf, size_t len)
{
    size_t used = 0;

    while (*src && used + 1 < len) {
        size_t n = 0;
        char name[64];
        int p = -1, w;

        if (isalpha((unsigned char)*src) || *src == '_')
            while (isalnum((unsigned char)src[n]) || src[n] == '_')
                n++;
        if (n > 0 && n < sizeof name) {
            memcpy(name, src, n);
            name[n] = '\0';
            p = wl_param_find(wl, name);
        }
        if (p >= 0)
            w = wl_param_format(&wl->params[p], params[p], buf + used, len - used);
        else
            w = snprintf(buf + used, len - used, "%.*s", n ? (int)n : 1, src);
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
        src += n ? n : 1;
    }
    buf[used] = '\0';
}

/* Print the code `build` makes for wl. Returns an exit status. */
static int dis_code(const workload_t *wl, int (*build)(code_t *, const int64_t *), const int64_t *params)
{
    code_t code;
    char err[160] = "", source[1024];

    if (build(&code, params) < 0 || code_check(&code, err, sizeof err) < 0) {
        cli_error("cannot build %s: %s", wl->name, err[0] ? err : "code too long");
        return CLI_EXIT_FAILED;
    }
    if (code.source) {
        source_with_values(code.source, wl, params, source, sizeof source);
        code.source = source;
    }
    code_dis(&code, stdout);
    return CLI_EXIT_OK;
}

/* Print one workload's code: worker 0's and, for a workload with a
 * background (convoy), what the other workers run. */
static int dis_one(const workload_t *wl, const int64_t *params)
{
    int rc = dis_code(wl, wl->build, params);
    if (rc == CLI_EXIT_OK && wl->build_background != NULL) {
        printf("\nWorkers 1..%s run, until worker 0 is done:\n",
               wl->params[wl->background_param].name);
        rc = dis_code(wl, wl->build_background, params);
    }
    return rc;
}

int cmd_dis(int argc, char **argv)
{
    static const struct option options[] = {
        {"param", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char **param_args = malloc((size_t)argc * sizeof *param_args);
    const workload_t **wls = malloc((wl_count() + (size_t)argc) * sizeof *wls);
    int64_t (*params)[WL_MAX_PARAMS] = malloc((wl_count() + (size_t)argc) * sizeof *params);
    int nparam_args = 0, nwls = 0, opt, status = CLI_EXIT_USAGE;
    char err[640];

    if (!param_args || !wls || !params) {
        cli_error("out of memory");
        status = CLI_EXIT_FAILED;
        goto out;
    }
    optind = 0;
    while ((opt = cli_getopt(argc, argv, ":P:h", options)) != -1) {
        if (opt == '?')
            goto out;
        if (opt == 'h') {
            fputs(dis_help, stdout);
            status = CLI_EXIT_OK;
            goto out;
        }
        param_args[nparam_args++] = optarg;
    }
    /* Every name and every -P is checked before anything is printed. */
    for (int i = optind; i < argc; i++) {
        wls[nwls] = wl_find(argv[i]);
        if (!wls[nwls]) {
            cli_workload_names(err, sizeof err);
            cli_error("unknown workload '%s' (valid: %s)", argv[i], err);
            goto out;
        }
        nwls++;
    }
    for (size_t i = 0; optind == argc && i < wl_count(); i++)
        wls[nwls++] = wl_at(i);
    for (int w = 0; w < nwls; w++) {
        cli_param_defaults(wls[w], params[w]);
        for (int k = 0; k < nparam_args; k++) {
            if (cli_param_apply(wls[w], param_args[k], params[w], err, sizeof err) < 0) {
                cli_error("%s", err);
                goto out;
            }
        }
    }
    status = CLI_EXIT_OK;
    for (int w = 0; w < nwls && status == CLI_EXIT_OK; w++) {
        if (w > 0)
            putchar('\n');
        status = dis_one(wls[w], params[w]);
    }
out:
    free(param_args);
    free(wls);
    free(params);
    return status;
}
