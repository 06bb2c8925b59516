/* cli/cmd_plot.c: the two commands that present saved results without
 * running anything.
 *
 *   plot    gil-lab plot DIR... [--chart KIND] [--format png,svg,pdf]
 *           [--title T] [--theme light|dark] [--size WxH] [--baseline ROW]
 *           [-o DIR]: one chart kind (plots/plot.h) from one or more
 *           results, merged, into -o (default: the first folder), written
 *           like a run's chart (locked folder, checked pictures renamed
 *           together). The data file is the one the run wrote when drawn
 *           from the same results: the numbers are recomputed from every
 *           saved repeat by the same code.
 *   report  gil-lab report DIR [-o FILE]: the charts that apply, drawn as
 *           SVG into DIR, and one HTML page with them inline
 *           (report/html.c), default DIR/report.html.
 *
 * Bad input (an unreadable or foreign results file, a chart that does not
 * apply, an option out of range) is one line and exit 2; a chart or page
 * that cannot be written is exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "plots/plot.h"
#include "report/report.h"

static void plot_usage(FILE *f)
{
    fputs("Usage: gil-lab plot DIR... [OPTIONS]\n"
          "\n"
          "Redraw a chart from saved results (folders or results.json files) without\n"
          "running anything; several results are merged into one chart.\n"
          "\n"
          "  -c, --chart KIND     ",
          f);
    for (int k = 0; k < plot_nkinds; k++)
        fprintf(f, "%s%s", k ? ", " : "", plot_kinds[k].name);
    fputs(" (default bars):\n", f);
    for (int k = 0; k < plot_nkinds; k++)
        fprintf(f, "                         %-10s %s\n", plot_kinds[k].name,
                plot_kinds[k].description);
    fprintf(f,
            "  -f, --format LIST    png, svg, pdf (default png,svg)\n"
            "  -t, --title T        the chart's title (default: from the data)\n"
            "      --theme T        light or dark (light text for dark slides)\n"
            "  -s, --size WxH       pixels, %d to %d each (default 1600x900; a PDF is\n"
            "                       W/100 x H/100 inches)\n"
            "  -b, --baseline ROW   normalised: the row to divide by (default: the first\n"
            "                       guard), e.g. gil or single/gil\n"
            "  -o, --output DIR     where the chart goes (default: the first folder)\n"
            "  -h, --help           this help\n"
            "\n"
            "Files: <stem>.png/.svg/.pdf and <stem>.dat, the stem being chart for bars,\n"
            "memory-per-mode for memory, gc-pauses for gcpauses, memory for memtrace\n"
            "(drawn from memory.csv), timeline and timeline-N for timeline (drawn from\n"
            "trace-N.json), and the kind's name otherwise. latency, timeline and memtrace\n"
            "draw from one results folder.\n"
            "\n"
            "Example:\n"
            "  gil-lab plot results/gil results/biased --format pdf --theme dark\n",
            PLOT_MIN_SIDE, PLOT_MAX_SIDE);
}

/* Where charts go: -o, or the folder of the first results. */
static void default_output(const rep_results_t *first, char *buf, size_t len)
{
    const char *slash;

    snprintf(buf, len, "%s", first->path);
    slash = strrchr(buf, '/');
    if (slash)
        buf[slash - buf] = '\0';
    else
        snprintf(buf, len, ".");
}

/* Draw kind from res into dir. Returns the exit status. */
static int draw(const char *dir, const plot_kind_t *kind, rep_results_t *res, char *const *labels,
                int n, const plot_opts_t *opts)
{
    rep_doc_t *docs = calloc((size_t)n, sizeof *docs);
    plot_source_t src = {docs, (const char *const *)labels, n, opts};
    rep_outdir_t d;
    char err[PATH_MAX + 256];
    int status = CLI_EXIT_OK;

    if (!docs) {
        cli_error("out of memory");
        return CLI_EXIT_FAILED;
    }
    for (int k = 0; k < n; k++)
        docs[k] = res[k].doc;
    if (rep_outdir_open(&d, dir, "plot", err, sizeof err) < 0) {
        cli_error("%s", err);
        free(docs);
        return CLI_EXIT_USAGE;
    }
    switch (plot_draw(&d, kind, &src, opts, NULL, err, sizeof err)) {
    case PLOT_DRAWN:
        cli_error("%s chart in %s/%s%s.*", kind->name, d.path, kind->stem,
                  kind->draw == plot_timelines ? "*" : "");
        break;
    case PLOT_NO_GNUPLOT:
        cli_error("chart skipped: %s", err);
        break;
    default:
        cli_error("%s chart: %s", kind->name, err);
        status = strstr(err, "cannot write") || strstr(err, "gnuplot") ? CLI_EXIT_FAILED
                                                                       : CLI_EXIT_USAGE;
    }
    rep_outdir_close(&d, false);
    free(docs);
    return status;
}

int cmd_plot(int argc, char **argv)
{
    static const struct option options[] = {
        {"chart", required_argument, NULL, 'c'},  {"format", required_argument, NULL, 'f'},
        {"title", required_argument, NULL, 't'},  {"theme", required_argument, NULL, 'T'},
        {"size", required_argument, NULL, 's'},   {"baseline", required_argument, NULL, 'b'},
        {"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const plot_kind_t *kind = plot_kind_find("bars");
    plot_opts_t opts = plot_opts_default();
    rep_baseline_t baseline;
    const char *out = NULL;
    char why[384], dir[PATH_MAX];
    rep_results_t *res;
    int opt, n, status;

    optind = 0;
    while ((opt = cli_getopt(argc, argv, ":c:f:t:s:b:o:h", options)) != -1) {
        switch (opt) {
        case 'c':
            if (!(kind = plot_kind_find(optarg))) {
                char names[256] = "";
                for (int k = 0; k < plot_nkinds; k++)
                    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                             k ? ", " : "", plot_kinds[k].name);
                cli_error("--chart: unknown chart '%s' (valid: %s)", optarg, names);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'f':
            if (plot_parse_formats(optarg, &opts.formats, why, sizeof why) < 0) {
                cli_error("--format: %s", why);
                return CLI_EXIT_USAGE;
            }
            break;
        case 't':
            opts.title = optarg;
            break;
        case 'T':
            if (strcmp(optarg, "light") != 0 && strcmp(optarg, "dark") != 0) {
                cli_error("--theme: unknown theme '%s' (valid: light, dark)", optarg);
                return CLI_EXIT_USAGE;
            }
            opts.dark = strcmp(optarg, "dark") == 0;
            break;
        case 's':
            if (plot_parse_size(optarg, &opts.width, &opts.height, why, sizeof why) < 0) {
                cli_error("--size: %s", why);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'b':
            if (rep_baseline_parse(optarg, &baseline, why, sizeof why) < 0) {
                cli_error("--baseline: %s", why);
                return CLI_EXIT_USAGE;
            }
            opts.baseline = &baseline;
            break;
        case 'o':
            if (!optarg[0]) {
                cli_error("-o/--output: empty folder name");
                return CLI_EXIT_USAGE;
            }
            out = optarg;
            break;
        case 'h':
            plot_usage(stdout);
            return CLI_EXIT_OK;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    n = argc - optind;
    if (n < 1) {
        cli_error("plot needs a results folder or file (see gil-lab plot --help)");
        return CLI_EXIT_USAGE;
    }
    if (!(res = cli_load_results(n, argv + optind)))
        return CLI_EXIT_USAGE;
    if (out)
        snprintf(dir, sizeof dir, "%s", out);
    else
        default_output(&res[0], dir, sizeof dir);
    status = draw(dir, kind, res, argv + optind, n, &opts);
    cli_free_results(res, n);
    return status;
}

/* ------------------------------------------------------------------------
 * report
 */

#define REPORT_MAX_CHARTS PLOT_MAX_DRAWN

/* The whole of a small file (an SVG) into a malloc'd string; NULL when it
 * cannot be read. */
static char *read_file(int dirfd, const char *name)
{
    char *text = NULL, buf[8192];
    size_t len = 0;
    ssize_t got;
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0)
        return NULL;
    while ((got = read(fd, buf, sizeof buf)) > 0) {
        char *more = realloc(text, len + (size_t)got + 1);
        if (!more) {
            free(text);
            close(fd);
            return NULL;
        }
        text = more;
        memcpy(text + len, buf, (size_t)got);
        len += (size_t)got;
        text[len] = '\0';
    }
    close(fd);
    return got < 0 ? (free(text), NULL) : text;
}

static void report_usage(FILE *f)
{
    fputs("Usage: gil-lab report DIR [-o FILE]\n"
          "\n"
          "One self-contained HTML page of a results folder (or results.json): the\n"
          "machine, warnings, the command line, the summary with intervals, every chart\n"
          "that applies (drawn as SVG into the folder and embedded), every repeat. It\n"
          "needs nothing but a browser: open it offline, print it to PDF, attach it.\n"
          "\n"
          "  -o, --output FILE    the page (default DIR/report.html)\n"
          "  -h, --help           this help\n",
          f);
}

int cmd_report(int argc, char **argv)
{
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL;
    char *svg[REPORT_MAX_CHARTS] = {0}, err[PATH_MAX + 256], dir[PATH_MAX], name[64];
    const char *caption[REPORT_MAX_CHARTS];
    rep_results_t *res;
    rep_outdir_t d = {.fd = -1, .lock_fd = -1};
    plot_opts_t opts = plot_opts_default();
    int opt, nsvg = 0, status = CLI_EXIT_OK;

    optind = 0;
    while ((opt = cli_getopt(argc, argv, ":o:h", options)) != -1) {
        if (opt == 'h') {
            report_usage(stdout);
            return CLI_EXIT_OK;
        }
        if (opt != 'o')
            return CLI_EXIT_USAGE;
        if (!optarg[0]) {
            cli_error("-o/--output: empty file name");
            return CLI_EXIT_USAGE;
        }
        out = optarg;
    }
    if (argc - optind != 1) {
        cli_error("report needs one results folder or file (see gil-lab report --help)");
        return CLI_EXIT_USAGE;
    }
    if (!(res = cli_load_results(1, argv + optind)))
        return CLI_EXIT_USAGE;
    default_output(&res[0], dir, sizeof dir);
    if (rep_outdir_open(&d, dir, "report", err, sizeof err) < 0) {
        cli_error("%s", err);
        cli_free_results(res, 1);
        return CLI_EXIT_USAGE;
    }
    opts.formats = PLOT_SVG;
    for (int k = 0; k < plot_nkinds && nsvg < REPORT_MAX_CHARTS; k++) {
        plot_source_t src = {&res[0].doc, NULL, 1, &opts};
        plot_drawn_t drawn = {0};
        char why[512];
        plot_status_t ps;
        if (!plot_kinds[k].fits || !plot_kinds[k].fits(&res[0].doc))
            continue;
        ps = plot_draw(&d, &plot_kinds[k], &src, &opts, &drawn, why, sizeof why);
        if (ps == PLOT_NO_GNUPLOT) {
            cli_error("charts skipped: %s", why);
            break;
        }
        if (ps != PLOT_DRAWN) {
            cli_error("chart not drawn: %s", why);
            status = CLI_EXIT_FAILED;
            goto done;
        }
        for (int p = 0; p < drawn.n && nsvg < REPORT_MAX_CHARTS; p++) {
            snprintf(name, sizeof name, "%s.svg", drawn.stems[p]);
            if (!(svg[nsvg] = read_file(d.fd, name))) {
                cli_error("cannot read %s/%s back: %s", d.path, name, strerror(errno));
                status = CLI_EXIT_FAILED;
                goto done;
            }
            caption[nsvg++] = plot_kinds[k].description;
        }
    }
    {
        rep_html_charts_t charts = {(const char *const *)svg, caption, nsvg};
        rep_output_t page = {"report.html", rep_html_write, &charts};
        if (out) {
            if (cli_write_file(out, rep_html_write, &res[0].doc, &charts) < 0) {
                status = CLI_EXIT_FAILED;
                goto done;
            }
        } else if (rep_write_files(&d, &page, 1, &res[0].doc, err, sizeof err) < 0) {
            cli_error("%s in %s/", err, d.path);
            status = CLI_EXIT_FAILED;
            goto done;
        }
        cli_error("report in %s%s", out ? out : d.path, out ? "" : "/report.html");
    }
done:
    rep_outdir_close(&d, false);
    for (int k = 0; k < nsvg; k++)
        free(svg[k]);
    cli_free_results(res, 1);
    return status;
}
