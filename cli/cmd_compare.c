/* cli/cmd_compare.c: `gil-lab compare A B [C ...]`, saved results against
 * the first one, as Google Benchmark's compare.py does it: rows matched by
 * their configuration (report/compare.c says how an axis on which the two
 * differ as a whole is left out), for each the two medians, the ratio B/A
 * with its 95 % interval, and the two-sided Mann-Whitney U test with its
 * p-value; "significant" below p = 0.05, "not significant" otherwise.
 *
 * Output on stdout in one of four formats (table, csv, json, markdown);
 * with -o DIR also comparison.csv, comparison.json and the ratio chart
 * (ratio.png, ratio.svg) in DIR, written like a run's files.
 *
 * Exit status: 0, whatever the ratios, unless --fail-above PCT is given:
 * then 1 when a significant ratio shows B slower than A by more than PCT
 * percent, so that a CI job can gate on it; 2 for bad input (unreadable or
 * mismatched results, fewer than two).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/parse.h"
#include "plots/plot.h"
#include "report/report.h"

typedef enum cmp_format { CMP_TABLE, CMP_CSV, CMP_JSON, CMP_MARKDOWN } cmp_format_t;

typedef struct cmp_ctx {
    const rep_comparison_t *cmp;
    char *const *paths;
    int npaths;
} cmp_ctx_t;

static const char *verdict(const rep_match_t *m)
{
    if (!m->significant)
        return "not significant";
    return m->ratio.ratio > 1.0 ? "significant: slower" : "significant: faster";
}

/* A line per match whose repeats did not get the CPU they could use: the
 * two sides were measured at different times, so a busy side is suspect. */
static void cpu_warnings(FILE *f, const rep_comparison_t *cmp, const char *prefix)
{
    for (int m = 0; m < cmp->nmatches; m++) {
        const rep_match_t *mt = &cmp->matches[m];
        if (!(mt->cpu_share_a < REP_LOW_CPU) && !(mt->cpu_share_b < REP_LOW_CPU))
            continue;
        fprintf(f,
                "%s%s: its repeats got %.0f %% (A) and %.0f %% (%c) of the CPU time they could "
                "use: a difference may be the machine's, not the code's; measure both in one "
                "interleaved run to compare on equal terms.\n",
                prefix, mt->label, mt->cpu_share_a * 100, mt->cpu_share_b * 100,
                'A' + (mt->other < 25 ? mt->other : 25));
    }
}

static void write_table(FILE *f, const cmp_ctx_t *c)
{
    const rep_comparison_t *cmp = c->cmp;
    int width = 3;

    printf("Comparing against A = %s\n", c->paths[0]);
    for (int k = 1; k < c->npaths; k++)
        printf("  %c = %s\n", 'A' + (k < 25 ? k : 25), c->paths[k]);
    if (cmp->ignored[0])
        printf("They differ in %s; rows are matched on everything else.\n", cmp->ignored);
    if (cmp->common[0])
        printf("Every row: %s.\n", cmp->common);
    printf("Ratio = time ÷ A's (Hodges-Lehmann), 95 %% CI (Moses), p: Mann-Whitney U "
           "two-sided, significant below %.2f.\n\n",
           REP_ALPHA);
    for (int m = 0; m < cmp->nmatches; m++)
        if ((int)strlen(cmp->matches[m].label) > width)
            width = (int)strlen(cmp->matches[m].label);
    fprintf(f, "  %-*s  %s  %12s %12s %8s  %-22s %8s  %s\n", width, "row", "vs", "A median",
            "median", "ratio", "95% CI", "p", "");
    for (int m = 0; m < cmp->nmatches; m++) {
        const rep_match_t *mt = &cmp->matches[m];
        rep_unit_t u = rep_time_unit(fmax(mt->median_a, mt->median_b));
        char ci[48] = "-";
        if (isfinite(mt->ratio.ci.lo))   /* with few repeats: the coverage it has */
            snprintf(ci, sizeof ci, mt->ratio.ci.level < REP_CI_LEVEL - 1e-9 ? "%.2f … %.2f (%.0f%%)"
                                                                              : "%.2f … %.2f",
                     mt->ratio.ci.lo, mt->ratio.ci.hi, mt->ratio.ci.level * 100);
        fprintf(f, "  %-*s   %c  %9.*f %-2s %9.*f %-2s %7.2fx  %-22s %8.4f  %s\n", width, mt->label,
                'A' + (mt->other < 25 ? mt->other : 25), u.decimals, mt->median_a * u.scale,
                u.name, u.decimals, mt->median_b * u.scale, u.name, mt->ratio.ratio, ci,
                mt->test.p, verdict(mt));
    }
    if (cmp->unmatched)
        fprintf(f, "\n%d row%s had no partner in the other results.\n", cmp->unmatched,
                cmp->unmatched == 1 ? "" : "s");
    cpu_warnings(f, cmp, "Warning: ");
}

static const char *const csv_header =
    "row,vs,median_a_s,median_s,ratio,ratio_ci_low,ratio_ci_high,ratio_ci_level,u,p,exact,"
    "significant\n";

/* One number for CSV and JSON: empty / null when it does not exist. */
static void number(FILE *f, double v, bool json)
{
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else if (json)
        fputs("null", f);
}

static int write_csv(FILE *f, const rep_doc_t *unused, const void *arg)
{
    const cmp_ctx_t *c = arg;

    (void)unused;
    fputs(csv_header, f);
    for (int m = 0; m < c->cmp->nmatches; m++) {
        const rep_match_t *mt = &c->cmp->matches[m];
        const double v[] = {mt->median_a, mt->median_b, mt->ratio.ratio, mt->ratio.ci.lo,
                            mt->ratio.ci.hi, mt->ratio.ci.level, mt->test.u, mt->test.p};
        fprintf(f, "%s,%s", mt->label, c->paths[mt->other]);
        for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
            putc(',', f);
            number(f, v[k], false);
        }
        fprintf(f, ",%s,%s\n", mt->test.exact ? "true" : "false",
                mt->significant ? "true" : "false");
    }
    return ferror(f) ? -1 : 0;
}

static int write_json(FILE *f, const rep_doc_t *unused, const void *arg)
{
    const cmp_ctx_t *c = arg;
    static const char *const keys[] = {"median_a_s", "median_s", "ratio", "ratio_ci_low",
                                       "ratio_ci_high", "ratio_ci_level", "u", "p",
                                       "cpu_share_a", "cpu_share"};
    (void)unused;
    fputs("{\n  \"a\": ", f);
    rep_json_string(f, c->paths[0]);
    fputs(",\n  \"others\": [", f);
    for (int k = 1; k < c->npaths; k++) {
        fputs(k > 1 ? ", " : "", f);
        rep_json_string(f, c->paths[k]);
    }
    fprintf(f, "],\n  \"alpha\": %g,\n  \"ci_level\": %g,\n  \"differ_in\": ", REP_ALPHA,
            REP_CI_LEVEL);
    rep_json_string(f, c->cmp->ignored);
    fprintf(f, ",\n  \"unmatched\": %d,\n  \"matches\": [", c->cmp->unmatched);
    for (int m = 0; m < c->cmp->nmatches; m++) {
        const rep_match_t *mt = &c->cmp->matches[m];
        const double v[] = {mt->median_a, mt->median_b, mt->ratio.ratio, mt->ratio.ci.lo,
                            mt->ratio.ci.hi, mt->ratio.ci.level, mt->test.u, mt->test.p,
                            mt->cpu_share_a, mt->cpu_share_b};
        fputs(m ? ",\n    {\"row\": " : "\n    {\"row\": ", f);
        rep_json_string(f, mt->label);
        fputs(", \"vs\": ", f);
        rep_json_string(f, c->paths[mt->other]);
        for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
            fprintf(f, ", \"%s\": ", keys[k]);
            number(f, v[k], true);
        }
        fprintf(f, ", \"exact\": %s, \"significant\": %s}", mt->test.exact ? "true" : "false",
                mt->significant ? "true" : "false");
    }
    fputs(c->cmp->nmatches ? "\n  ]\n}\n" : "]\n}\n", f);
    return ferror(f) ? -1 : 0;
}

static void write_markdown(FILE *f, const cmp_ctx_t *c)
{
    fputs("| row | vs | A median (s) | median (s) | ratio | 95% CI | p | |\n"
          "|:--|:--|--:|--:|--:|--:|--:|:--|\n",
          f);
    for (int m = 0; m < c->cmp->nmatches; m++) {
        const rep_match_t *mt = &c->cmp->matches[m];
        fprintf(f, "| %s | %c | %.4g | %.4g | %.2fx | ", mt->label,
                'A' + (mt->other < 25 ? mt->other : 25), mt->median_a, mt->median_b,
                mt->ratio.ratio);
        if (isfinite(mt->ratio.ci.lo))
            fprintf(f, "%.2f … %.2f", mt->ratio.ci.lo, mt->ratio.ci.hi);
        fprintf(f, " | %.4f | %s |\n", mt->test.p, verdict(mt));
    }
    fprintf(f, "\nRatio: time ÷ A's time (Hodges-Lehmann) with its 95 %% CI (Moses); p: "
               "Mann-Whitney U, two-sided; significant below %.2f.%s%s\n",
            REP_ALPHA, c->cmp->ignored[0] ? " The results differ in " : "", c->cmp->ignored);
    cpu_warnings(f, c->cmp, "\n> **Warning:** ");
}

/* The files of -o DIR: comparison.csv and .json, and the ratio chart. */
static int write_folder(const char *dir, const cmp_ctx_t *c, rep_results_t *res, bool plot)
{
    const rep_output_t outputs[] = {
        {"comparison.csv", write_csv, c},
        {"comparison.json", write_json, c},
    };
    rep_outdir_t d;
    rep_doc_t *docs = calloc((size_t)c->npaths, sizeof *docs);
    char err[PATH_MAX + 256];
    int status = CLI_EXIT_OK;

    if (!docs) {
        cli_error("out of memory");
        return CLI_EXIT_FAILED;
    }
    if (rep_outdir_open(&d, dir, "compare", err, sizeof err) < 0) {
        cli_error("%s", err);
        free(docs);
        return CLI_EXIT_USAGE;
    }
    if (rep_write_files(&d, outputs, 2, &res[0].doc, err, sizeof err) < 0) {
        cli_error("%s in %s/", err, dir);
        status = CLI_EXIT_FAILED;
    } else if (plot) {
        plot_opts_t opts = plot_opts_default();
        plot_source_t src = {docs, (const char *const *)c->paths, c->npaths, &opts};
        for (int k = 0; k < c->npaths; k++)
            docs[k] = res[k].doc;
        plot_status_t ps = plot_draw(&d, plot_kind_find("ratio"), &src, &opts, NULL, err, sizeof err);
        if (ps == PLOT_NO_GNUPLOT) {
            cli_error("chart skipped: %s", err);
        } else if (ps == PLOT_FAILED) {
            cli_error("chart not drawn: %s", err);
            status = CLI_EXIT_FAILED;
        }
    }
    rep_outdir_close(&d, status != CLI_EXIT_OK);
    free(docs);
    return status;
}

static void usage(FILE *f)
{
    fputs("Usage: gil-lab compare A B [C ...] [OPTIONS]\n"
          "\n"
          "Compare saved results (folders or results.json files) against the first one:\n"
          "rows are matched by their configuration (an axis on which A and B differ as a\n"
          "whole, such as -g gil against -g biased, is left out of the match and named);\n"
          "for each, both medians, the ratio B/A with its 95% CI, and whether the\n"
          "difference is significant (Mann-Whitney U, two-sided, p < 0.05).\n"
          "\n"
          "  -f, --format F       table, csv, json or markdown on stdout (default table)\n"
          "  -o, --output DIR     also write comparison.csv, comparison.json and the ratio\n"
          "                       chart (ratio.png, ratio.svg) into DIR\n"
          "      --no-plot        with -o: no chart\n"
          "      --fail-above PCT exit 1 when a significant ratio shows B slower than A\n"
          "                       by more than PCT percent (a CI gate); default: exit 0\n"
          "  -h, --help           this help\n"
          "\n"
          "Example:\n"
          "  gil-lab compare results/gil results/biased --format markdown\n"
          "\n"
          "Exit status: 0 compared; 1 --fail-above tripped or a file could not be written;\n"
          "2 bad usage, unreadable results or results with no row in common.\n",
          f);
}

int cmd_compare(int argc, char **argv)
{
    static const struct option options[] = {
        {"format", required_argument, NULL, 'f'}, {"output", required_argument, NULL, 'o'},
        {"no-plot", no_argument, NULL, 'P'},       {"fail-above", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    static const char *const formats[] = {"table", "csv", "json", "markdown"};
    cmp_format_t format = CMP_TABLE;
    const char *out = NULL;
    bool plot = true;
    int64_t fail_above = -1;
    rep_results_t *res;
    rep_comparison_t cmp;
    rep_doc_t *docs;
    char err[PATH_MAX + 256];
    int opt, n, status = CLI_EXIT_OK;

    optind = 0;
    while ((opt = cli_getopt(argc, argv, ":f:o:h", options)) != -1) {
        switch (opt) {
        case 'f':
            for (n = 0; n < 4 && strcmp(optarg, formats[n]) != 0; n++)
                ;
            if (n == 4) {
                cli_error("--format: unknown format '%s' (valid: table, csv, json, markdown)",
                          optarg);
                return CLI_EXIT_USAGE;
            }
            format = (cmp_format_t)n;
            break;
        case 'o':
            if (!optarg[0]) {
                cli_error("-o/--output: empty folder name");
                return CLI_EXIT_USAGE;
            }
            out = optarg;
            break;
        case 'P':
            plot = false;
            break;
        case 'F':
            if (cli_parse_count(optarg, "--fail-above", 0, 100000, &fail_above) < 0)
                return CLI_EXIT_USAGE;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    n = argc - optind;
    if (n < 2) {
        cli_error("compare needs two results or more (see gil-lab compare --help)");
        return CLI_EXIT_USAGE;
    }
    if (!(res = cli_load_results(n, argv + optind)))
        return CLI_EXIT_USAGE;
    docs = calloc((size_t)n, sizeof *docs);
    if (!docs) {
        cli_free_results(res, n);
        cli_error("out of memory");
        return CLI_EXIT_FAILED;
    }
    for (int k = 0; k < n; k++)
        docs[k] = res[k].doc;
    if (rep_compare(docs, n, &cmp, err, sizeof err) < 0) {
        cli_error("%s", err);
        status = CLI_EXIT_USAGE;
        goto out;
    }
    cmp_ctx_t c = {&cmp, argv + optind, n};
    if (format == CMP_TABLE)
        write_table(stdout, &c);
    else if (format == CMP_CSV)
        write_csv(stdout, NULL, &c);
    else if (format == CMP_JSON)
        write_json(stdout, NULL, &c);
    else
        write_markdown(stdout, &c);
    fflush(stdout);
    if (out)
        status = write_folder(out, &c, res, plot);
    if (status == CLI_EXIT_OK && fail_above >= 0) {
        for (int m = 0; m < cmp.nmatches; m++) {
            const rep_match_t *mt = &cmp.matches[m];
            if (mt->significant && mt->ratio.ratio > 1.0 + (double)fail_above / 100.0) {
                cli_error("--fail-above %lld: %s is %.0f %% slower in %s (p = %.4f)",
                          (long long)fail_above, mt->label, (mt->ratio.ratio - 1.0) * 100,
                          argv[optind + mt->other], mt->test.p);
                status = CLI_EXIT_FAILED;
            }
        }
    }
    rep_comparison_free(&cmp);
out:
    free(docs);
    cli_free_results(res, n);
    return status;
}
