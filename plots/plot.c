/* plots/plot.c: the charts of gil-lab (see plots/plot.h for the kinds).
 *
 * A kind that draws itself (latency, timeline, memtrace) is handed the
 * document (plots/gilcharts.c, plots/memchart.c). Each other kind's fill function turns results into a plot_chart_t; one writer
 * puts any plot_chart_t into <stem>.dat in the layout its script reads
 * (described at the top of plots/bars.gp and plots/lines.gp); gnuplot runs
 * as a program (fork + execvp, no shell) once per picture, inside the
 * results folder:
 *
 *     gnuplot -   < "<size, theme>" + theme.gp + "<variables>" + bars.gp or
 *                   lines.gp, built into the binary
 *                 > <stem>.png.tmp (or .svg.tmp, .pdf.tmp)
 *                2> <stem>.log.tmp
 *
 * Why this shape:
 *
 *   - the scripts are compiled into the binary (the build turns each .gp
 *     into a C array) and reach gnuplot, after plots/theme.gp and a line that
 *     sets the chart's variables, through an anonymous memory file on its standard input, so
 *     a moved or installed binary draws the same chart and no path of the
 *     build machine is baked in (not `gnuplot -e <variables> -`: gnuplot
 *     5.4 then rejects the script's multi-line { } blocks);
 *   - gnuplot writes its picture to standard output, a temporary the lab
 *     created exclusively in the folder (report/outdir.c), and each picture
 *     is checked before it is renamed into place (plots/gnuplot.c runs
 *     gnuplot and checks for every picture of the lab). The pictures of one
 *     chart are renamed together, or none: no chart beats a broken one.
 *
 * Sizes: PNG and SVG are in pixels with fonts in pixels (22 at 1600x900);
 * pdfcairo measures in inches and points and scales fonts by 0.5 by
 * default, so a PDF is drawn at 100 pixels to the inch with fontscale 1
 * and fonts of 0.72 points per pixel: the same proportions as the PNG.
 *
 * The only free text that reaches gnuplot's parser is the labels, title
 * and footer: single-quoted gnuplot strings with quotes doubled and control
 * characters blanked (in the data file: double-quoted with quotes and
 * backslashes blanked). gnuplot's messages go to <stem>.log, kept only
 * when not empty.
 */
#define _GNU_SOURCE /* fdopendir of an openat descriptor, open_memstream */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build_info.h"
#include "gil/gil.h"
#include "plots/gnuplot.h"
#include "plots/plot.h"

/* plots/bars.gp and plots/lines.gp, embedded by the build (CMakeLists.txt). */
extern const unsigned char plot_script_bars[], plot_script_lines[];
extern const size_t plot_script_bars_len, plot_script_lines_len;

plot_opts_t plot_opts_default(void)
{
    return (plot_opts_t){PLOT_PNG | PLOT_SVG, NULL, false, 1600, 900, NULL};
}

/* ------------------------------------------------------------------------
 * Data and variables
 */

/* A label inside the data file's double quotes. */
static void dat_label(FILE *f, const char *s)
{
    putc('"', f);
    for (; *s; s++)
        putc(*s == '"' || *s == '\\' || (unsigned char)*s < 0x20 ? ' ' : *s, f);
    putc('"', f);
}

static void dat_number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, " %.9g", v);
    else
        fputs(" NaN", f);
}

/* <stem>.dat; the layouts are described in plots/bars.gp and lines.gp. */
static int write_data(FILE *f, const plot_chart_t *c)
{
    int stride = c->nseries + 1;

    fprintf(f, "# gil-lab chart data (%s): x, value, error low, error high\n",
            c->shape == PLOT_BARS ? "plots/bars.gp" : "plots/lines.gp");
    for (int s = 0; s < c->nseries; s++) {
        dat_label(f, c->series[s]);
        fputs(" value low high\n", f);
        for (int k = 0; k < c->nclusters; k++) {
            if (isnan(c->v[s][k][0]))
                continue;
            if (c->shape == PLOT_BARS)
                fprintf(f, "%d", k * stride + s);
            else
                fprintf(f, "%.9g", c->x[k]);
            for (int e = 0; e < 3; e++)   /* lines need an error bar: its own value */
                dat_number(f, c->shape == PLOT_LINES && isnan(c->v[s][k][e]) ? c->v[s][k][0]
                                                                               : c->v[s][k][e]);
            putc('\n', f);
        }
        fputs("\n\n", f);
    }
    if (c->shape == PLOT_BARS) {
        fputs("# cluster centres and labels\n", f);
        for (int k = 0; k < c->nclusters; k++) {
            fprintf(f, "%.1f ", k * stride + (c->nseries - 1) / 2.0);
            dat_label(f, c->clusters[k]);
            putc('\n', f);
        }
    }
    return ferror(f) ? -1 : 0;
}

/* The gnuplot variables of one picture, as one line of commands. */
static void chart_variables(const plot_chart_t *c, const char *stem, const rep_doc_t *doc,
                            const plot_opts_t *o, const char *term, char *vars, size_t len)
{
    char title2[664], footer[256], machine[320], fmt[16];
    char q1[1300], q2[1332], q3[540], q4[260], q5[520], q6[140], q7[40], q8[40], q9[100];
    double top = 0.0, xmax = 1.0, xmin = INFINITY;

    for (int s = 0; s < c->nseries; s++)
        for (int k = 0; k < c->nclusters; k++)
            if (isfinite(c->v[s][k][0]))
                top = fmax(top, fmax(c->v[s][k][0], isfinite(c->v[s][k][2]) ? c->v[s][k][2] : 0));
    for (int k = 0; k < c->nclusters; k++) {
        xmax = fmax(xmax, c->x[k]);
        xmin = fmin(xmin, c->x[k]);
    }
    rep_machine_line(doc->ctx, machine, sizeof machine);
    snprintf(title2, sizeof title2, "%s; %s", machine, doc->ctx->os);
    snprintf(footer, sizeof footer, "gil-lab %s (%s), %s", GL_VERSION, GL_GIT_REV,
             doc->ctx->date);
    snprintf(fmt, sizeof fmt, "%%.%df%s", c->decimals, strcmp(c->unit, "x") == 0 ? "x" : "");
    snprintf(q9, sizeof q9, "%s.dat", stem);
    gp_quote(q1, sizeof q1, o->title ? o->title : c->title);
    gp_quote(q2, sizeof q2, title2);
    gp_quote(q3, sizeof q3, footer);
    gp_quote(q4, sizeof q4, c->ylabel);
    gp_quote(q5, sizeof q5, c->note);
    gp_quote(q6, sizeof q6, c->xlabel);
    gp_quote(q7, sizeof q7, c->unit);
    gp_quote(q8, sizeof q8, fmt);
    snprintf(vars, len,
             "data='%s'; term='%s'; nseries=%d; nclusters=%d; "
             "unit=%s; valuefmt=%s; hasref=%d; ref=%.9g; ideal=%d; cpus=%d; top=%.9g; xmax=%.9g; "
             "xmin=%.9g; xbase=%d; ylog=%d; pairs=%d; "
             "title1=%s; title2=%s; footer=%s; ylab=%s; note=%s; xlab=%s\n",
             q9, term, c->nseries, c->nclusters, q7, q8, isfinite(c->ref) ? 1 : 0,
             isfinite(c->ref) ? c->ref : 0.0, c->ideal, doc->ctx->num_pus, top, xmax,
             isfinite(xmin) ? xmin : 1.0, c->xbase ? c->xbase : 2, c->ylog ? 1 : 0, c->pairs ? 1 : 0,
             q1, q2, q3, q4, q5, q6);
}

/* <stem>.dat into the folder, through an exclusive temporary. Returns 0,
 * or -1 with the reason in err. */
static int write_dat(const rep_outdir_t *d, const char *name, const plot_chart_t *c, char *err,
                     size_t errlen)
{
    rep_file_t file;
    int fd;
    FILE *f;

    if (rep_file_create(&file, d, name, err, errlen) < 0)
        return -1;
    fd = dup(file.fd);
    f = fd < 0 ? NULL : fdopen(fd, "w");
    if (!f || write_data(f, c) < 0 || fflush(f) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", name, strerror(errno ? errno : EIO));
        if (f)
            fclose(f);
        else if (fd >= 0)
            close(fd);
        rep_file_discard(&file, 1);
        return -1;
    }
    fclose(f);
    return rep_file_commit(&file, 1, err, errlen);
}

void plot_drawn_add(plot_drawn_t *drawn, const char *stem)
{
    if (drawn && drawn->n < PLOT_MAX_DRAWN)
        snprintf(drawn->stems[drawn->n++], sizeof drawn->stems[0], "%s", stem);
}

plot_status_t plot_draw(const rep_outdir_t *d, const plot_kind_t *kind, const plot_source_t *src,
                        const plot_opts_t *opts, plot_drawn_t *drawn, char *err, size_t errlen)
{
    char vars[8192], dat[80], *prelude = NULL;
    size_t prelude_len = 0;
    plot_chart_t *c;
    plot_status_t status = PLOT_FAILED;
    FILE *f;

    if (kind->draw) {
        if (src->ndocs != 1) {
            snprintf(err, errlen, "the %s chart draws one results folder, not %d", kind->name, src->ndocs);
            return PLOT_FAILED;
        }
        return kind->draw(d, &src->docs[0], opts, drawn, err, errlen);
    }
    if (!(c = calloc(1, sizeof *c))) {
        snprintf(err, errlen, "out of memory");
        return PLOT_FAILED;
    }
    c->ref = NAN;
    if (src->ndocs < 1 || src->docs[0].nrows < 1) {
        snprintf(err, errlen, "no rows");
        goto done;
    }
    if (kind->fill(src, c, err, errlen) < 0)
        goto done;
    snprintf(dat, sizeof dat, "%s.dat", kind->stem);
    if (write_dat(d, dat, c, err, errlen) < 0)
        goto done;
    /* The term line gp_draw adds after these variables is the one that counts. */
    chart_variables(c, kind->stem, &src->docs[0], opts, "png", vars, sizeof vars);
    if (!(f = open_memstream(&prelude, &prelude_len))) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    gp_theme_prelude(f, opts);
    fputs(vars, f);
    if (fclose(f) != 0 || prelude == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    status = gp_draw_pictures(d, kind->stem, prelude, c->shape == PLOT_BARS ? plot_script_bars : plot_script_lines,
                              c->shape == PLOT_BARS ? plot_script_bars_len : plot_script_lines_len, opts->formats,
                              err, errlen);
    if (status == PLOT_DRAWN)
        plot_drawn_add(drawn, kind->stem);
done:
    free(prelude);
    free(c);
    return status;
}

int plot_remove(const rep_outdir_t *d, char *err, size_t errlen)
{
    static const char *const exts[] = {"png", "svg", "pdf", "dat", "log"};
    /* The data the memory chart is drawn from (the kinds' own files are
     * the loop's); every trace and timeline (one per row, numbered). */
    static const char *const memory[] = {"memory.csv"};
    char name[96];

    for (int k = 0; k < plot_nkinds; k++) {
        for (size_t e = 0; e < sizeof exts / sizeof exts[0]; e++) {
            snprintf(name, sizeof name, "%s.%s", plot_kinds[k].stem, exts[e]);
            if (rep_outdir_remove(d, name, err, errlen) < 0)
                return -1;
        }
    }
    for (size_t k = 0; k < sizeof memory / sizeof memory[0]; k++)
        if (rep_outdir_remove(d, memory[k], err, errlen) < 0)
            return -1;
    /* Every trace and timeline, numbered by row. */
    int fd = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    int rc = 0;

    if (dir == NULL) {
        snprintf(err, errlen, "cannot list %s: %s", d->path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    while (rc == 0 && (e = readdir(dir)) != NULL)
        if ((strncmp(e->d_name, "trace-", 6) == 0 || strncmp(e->d_name, "timeline-", 9) == 0) &&
            strstr(e->d_name, ".tmp") == NULL)
            rc = rep_outdir_remove(d, e->d_name, err, errlen);
    closedir(dir);
    return rc;
}

int plot_parse_formats(const char *s, unsigned *out, char *err, size_t errlen)
{
    char copy[128], *save = NULL;

    *out = 0;
    if (!*s || strlen(s) >= sizeof copy || s[strlen(s) - 1] == ',' || strstr(s, ",,") ||
        s[0] == ',') {
        snprintf(err, errlen, "'%s' is not a list of formats (png, svg, pdf)", s);
        return -1;
    }
    snprintf(copy, sizeof copy, "%s", s);
    for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        int k;
        for (k = 0; k < GP_NFORMATS; k++)
            if (strcmp(w, gp_formats[k].term) == 0)
                break;
        if (k == GP_NFORMATS) {
            snprintf(err, errlen, "unknown format '%s' (valid: png, svg, pdf)", w);
            return -1;
        }
        if (*out & (1u << k)) {
            snprintf(err, errlen, "'%s' given twice in list '%s'", w, s);
            return -1;
        }
        *out |= 1u << k;
    }
    return 0;
}

int plot_parse_size(const char *s, int *width, int *height, char *err, size_t errlen)
{
    char *end;
    long w = strtol(s, &end, 10), h;

    if (end == s || *end != 'x' || !end[1] || (h = strtol(end + 1, &end, 10), *end) ||
        w < PLOT_MIN_SIDE || w > PLOT_MAX_SIDE || h < PLOT_MIN_SIDE || h > PLOT_MAX_SIDE ||
        !(s[0] >= '0' && s[0] <= '9')) {
        snprintf(err, errlen, "'%s' is not WIDTHxHEIGHT in pixels, each %d to %d", s,
                 PLOT_MIN_SIDE, PLOT_MAX_SIDE);
        return -1;
    }
    *width = (int)w;
    *height = (int)h;
    return 0;
}
