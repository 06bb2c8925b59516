/* plots/plot.c: the charts of gil-lab (see plots/plot.h for the kinds).
 *
 * Each kind's fill function turns results into a plot_chart_t; one writer
 * puts any plot_chart_t into <stem>.dat in the layout its script reads
 * (described at the top of plots/bars.gp and plots/lines.gp); gnuplot runs
 * as a program (fork + execvp, no shell) once per picture, inside the
 * results folder:
 *
 *     gnuplot -   < "<variables>" + bars.gp or lines.gp, built into the binary
 *                 > <stem>.png.tmp (or .svg.tmp, .pdf.tmp)
 *                2> <stem>.log.tmp
 *
 * Why this shape:
 *
 *   - the scripts are compiled into the binary (the build turns each .gp
 *     into a C array) and reach gnuplot, after a first line that sets its
 *     variables, through an anonymous memory file on its standard input, so
 *     a moved or installed binary draws the same chart and no path of the
 *     build machine is baked in (not `gnuplot -e <variables> -`: gnuplot
 *     5.4 then rejects the script's multi-line { } blocks);
 *   - gnuplot writes its picture to standard output, a temporary the lab
 *     created exclusively in the folder (report/outdir.c): it never opens an
 *     output name of its own, so a link planted in the folder cannot make it
 *     write elsewhere;
 *   - gnuplot exits 0 after writing a truncated picture on a full disk, so
 *     its exit status proves nothing. Each picture is checked before it is
 *     renamed into place: not empty, fsync succeeds, a PNG ends with its
 *     IEND chunk, an SVG with </svg>, a PDF with %%EOF. The pictures of one
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
#define _GNU_SOURCE /* memfd_create */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build_info.h"
#include "gil/gil.h"
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

/* src as a gnuplot single-quoted string: quotes doubled, control characters
 * blanked, truncated to fit cap (cap >= 3). */
static void gp_quote(char *dst, size_t cap, const char *src)
{
    size_t n = 0;

    dst[n++] = '\'';
    for (; *src && n + 3 < cap; src++) {
        unsigned char c = (unsigned char)*src;
        if (c == '\'')
            dst[n++] = '\'';
        dst[n++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    dst[n++] = '\'';
    dst[n] = '\0';
}

/* The gnuplot variables of one picture, as one line of commands. */
static void chart_variables(const plot_chart_t *c, const char *stem, const rep_doc_t *doc,
                            const plot_opts_t *o, const char *term, char *vars, size_t len)
{
    char title2[664], footer[256], machine[320], fmt[16];
    char q1[1300], q2[1332], q3[540], q4[260], q5[520], q6[140], q7[40], q8[40], q9[100];
    double top = 0.0, xmax = 1.0;

    for (int s = 0; s < c->nseries; s++)
        for (int k = 0; k < c->nclusters; k++)
            if (isfinite(c->v[s][k][0]))
                top = fmax(top, fmax(c->v[s][k][0], isfinite(c->v[s][k][2]) ? c->v[s][k][2] : 0));
    for (int k = 0; k < c->nclusters; k++)
        xmax = fmax(xmax, c->x[k]);
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
             "data='%s'; term='%s'; width=%d; height=%d; dark=%d; nseries=%d; nclusters=%d; "
             "unit=%s; valuefmt=%s; hasref=%d; ref=%.9g; ideal=%d; cpus=%d; top=%.9g; xmax=%.9g; "
             "title1=%s; title2=%s; footer=%s; ylab=%s; note=%s; xlab=%s",
             q9, term, o->width, o->height, o->dark ? 1 : 0,
             c->nseries, c->nclusters, q7, q8, isfinite(c->ref) ? 1 : 0,
             isfinite(c->ref) ? c->ref : 0.0, c->ideal, doc->ctx->num_pus, top, xmax, q1, q2, q3,
             q4, q5, q6);
}

/* ------------------------------------------------------------------------
 * Running gnuplot and checking what it wrote
 */

/* Run gnuplot in the folder: script on stdin, picture to out, messages to
 * log. Returns 0, 1 when gnuplot is not installed, or -1; err says why. */
static int run_gnuplot(int dirfd, int script, int out, int log, char *err, size_t errlen)
{
    char prog[] = "gnuplot", from_stdin[] = "-";
    char *argv[] = {prog, from_stdin, NULL};
    int status, child_errno = 0, fds[2];
    ssize_t got;
    pid_t pid;

    if (lseek(script, 0, SEEK_SET) < 0 || pipe2(fds, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "cannot start gnuplot: %s", strerror(errno));
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        /* Child: only async-signal-safe calls until exec. The lab ignores
         * SIGPIPE; gnuplot gets the default it expects. The close-on-exec
         * pipe reports why exec failed, or closes silently when it worked. */
        close(fds[0]);
        signal(SIGPIPE, SIG_DFL);
        if (fchdir(dirfd) == 0 && dup2(script, 0) >= 0 && dup2(out, 1) >= 0 && dup2(log, 2) >= 0)
            execvp(prog, argv);
        child_errno = errno;
        if (write(fds[1], &child_errno, sizeof child_errno) < 0)
            _exit(126);
        _exit(127);
    }
    close(fds[1]);
    do
        got = read(fds[0], &child_errno, sizeof child_errno);
    while (got < 0 && errno == EINTR);
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            snprintf(err, errlen, "waiting for gnuplot: %s", strerror(errno));
            return -1;
        }
    }
    if (got == (ssize_t)sizeof child_errno) {
        if (child_errno == ENOENT) {
            snprintf(err, errlen, "gnuplot not found (install gnuplot-nox)");
            return 1;
        }
        snprintf(err, errlen, "cannot run gnuplot: %s", strerror(child_errno));
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (WIFEXITED(status))
            snprintf(err, errlen, "gnuplot failed (exit %d), see chart.log", WEXITSTATUS(status));
        else
            snprintf(err, errlen, "gnuplot killed by signal %d", WTERMSIG(status));
        return -1;
    }
    return 0;
}

typedef struct chart_format {
    unsigned bit;
    const char *term;                      /* the scripts' term */
    const char *ext;
    const char *marker;                    /* what a complete file ends with */
    bool (*complete)(int fd, off_t size);
} chart_format_t;

/* True when the last `n` bytes of the file, trailing white space
 * dropped, are `tail` (n bytes read, at most 64). */
static bool ends_with(int fd, off_t size, size_t n, const char *tail, size_t tail_len)
{
    unsigned char buf[64];
    size_t have;

    if (n > sizeof buf || (off_t)n > size || pread(fd, buf, n, size - (off_t)n) != (ssize_t)n)
        return false;
    have = n;
    while (have > 0 && (buf[have - 1] == '\n' || buf[have - 1] == ' ' || buf[have - 1] == '\r' ||
                        buf[have - 1] == '\t'))
        have--;
    return have >= tail_len && memcmp(buf + have - tail_len, tail, tail_len) == 0;
}

/* A PNG ends with its IEND chunk: length 0, type, CRC. */
static bool png_complete(int fd, off_t size)
{
    static const char iend[] = "\0\0\0\0IEND\xae\x42\x60\x82";

    return ends_with(fd, size, sizeof iend - 1, iend, sizeof iend - 1);
}

/* An SVG document ends with its root element's closing tag. */
static bool svg_complete(int fd, off_t size)
{
    static const char close_tag[] = "</svg>";

    return ends_with(fd, size, size < 64 ? (size_t)size : 64, close_tag, sizeof close_tag - 1);
}

/* A PDF ends with its end-of-file marker. */
static bool pdf_complete(int fd, off_t size)
{
    static const char eof[] = "%%EOF";

    return ends_with(fd, size, size < 64 ? (size_t)size : 64, eof, sizeof eof - 1);
}

static const chart_format_t formats[] = {
    {PLOT_PNG, "png", "png", "IEND end marker", png_complete},
    {PLOT_SVG, "svg", "svg", "closing </svg> tag", svg_complete},
    {PLOT_PDF, "pdf", "pdf", "%%EOF marker", pdf_complete},
};
#define NFORMATS (int)(sizeof formats / sizeof formats[0])

/* What gnuplot wrote into fd is a whole picture, on disk. Returns 0, or -1
 * with the reason in err. */
static int check_picture(const chart_format_t *fmt, const char *name, int fd, char *err,
                         size_t errlen)
{
    struct stat st;

    if (fsync(fd) < 0 || fstat(fd, &st) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", name, strerror(errno));
        return -1;
    }
    if (st.st_size == 0) {
        snprintf(err, errlen, "gnuplot wrote an empty %s (is the disk full?)", name);
        return -1;
    }
    if (!fmt->complete(fd, st.st_size)) {
        snprintf(err, errlen, "gnuplot's %s is truncated (%lld bytes, no %s; is the disk full?)",
                 name, (long long)st.st_size, fmt->marker);
        return -1;
    }
    return 0;
}

/* Write all of buf[0..len) to fd. Returns 0, or -1 with errno set. */
static int write_all(int fd, const void *buf, size_t len)
{
    for (size_t done = 0; done < len;) {
        ssize_t w = write(fd, (const char *)buf + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            errno = w < 0 ? errno : EIO;
            return -1;
        }
        done += (size_t)w;
    }
    return 0;
}

/* vars, a newline and an embedded script in an anonymous memory file.
 * Returns its descriptor, or -1 with errno set. */
static int script_file(const char *vars, const unsigned char *script, size_t len)
{
    int fd = memfd_create("chart.gp", MFD_CLOEXEC), saved;

    if (fd < 0)
        return -1;
    if (write_all(fd, vars, strlen(vars)) == 0 && write_all(fd, "\n", 1) == 0 &&
        write_all(fd, script, len) == 0)
        return fd;
    saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

/* Keep gnuplot's log when it said anything, else drop it. */
static void finish_log(rep_file_t *log)
{
    struct stat st;
    char ignored[128];

    if (log->pending && fstat(log->fd, &st) == 0 && st.st_size > 0)
        rep_file_commit(log, 1, ignored, sizeof ignored);
    else
        rep_file_discard(log, 1);
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

plot_status_t plot_draw(const rep_outdir_t *d, const plot_kind_t *kind, const plot_source_t *src,
                        const plot_opts_t *opts, char *err, size_t errlen)
{
    char vars[8192], names[NFORMATS][80], dat[80], logname[80];
    rep_file_t pictures[NFORMATS], log = {.fd = -1};
    plot_chart_t *c = calloc(1, sizeof *c);
    plot_status_t status = PLOT_FAILED;
    int n = 0;

    for (int k = 0; k < NFORMATS; k++)
        pictures[k] = (rep_file_t){.fd = -1};
    if (!c) {
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
    snprintf(logname, sizeof logname, "%s.log", kind->stem);
    if (write_dat(d, dat, c, err, errlen) < 0 ||
        rep_file_create(&log, d, logname, err, errlen) < 0)
        goto done;
    for (int k = 0; k < NFORMATS; k++) {
        int script, rc;
        if (!(opts->formats & formats[k].bit))
            continue;
        chart_variables(c, kind->stem, &src->docs[0], opts, formats[k].term, vars, sizeof vars);
        script = c->shape == PLOT_BARS ? script_file(vars, plot_script_bars, plot_script_bars_len)
                                       : script_file(vars, plot_script_lines,
                                                     plot_script_lines_len);
        if (script < 0) {
            snprintf(err, errlen, "cannot hand gnuplot its script: %s", strerror(errno));
            goto done;
        }
        snprintf(names[n], sizeof names[n], "%s.%s", kind->stem, formats[k].ext);
        rc = rep_file_create(&pictures[n], d, names[n], err, errlen) < 0
                 ? -1
                 : run_gnuplot(d->fd, script, pictures[n].fd, log.fd, err, errlen);
        close(script);
        n++;
        if (rc != 0) {
            status = rc > 0 ? PLOT_NO_GNUPLOT : PLOT_FAILED;
            goto done;
        }
        if (check_picture(&formats[k], names[n - 1], pictures[n - 1].fd, err, errlen) < 0)
            goto done;
    }
    if (rep_file_commit(pictures, n, err, errlen) == 0)
        status = PLOT_DRAWN;
done:
    rep_file_discard(pictures, n);
    finish_log(&log);
    free(c);
    return status;
}

int plot_remove(const rep_outdir_t *d, char *err, size_t errlen)
{
    static const char *const exts[] = {"png", "svg", "pdf", "dat", "log"};
    char name[96];

    for (int k = 0; k < plot_nkinds; k++) {
        for (size_t e = 0; e < sizeof exts / sizeof exts[0]; e++) {
            snprintf(name, sizeof name, "%s.%s", plot_kinds[k].stem, exts[e]);
            if (rep_outdir_remove(d, name, err, errlen) < 0)
                return -1;
        }
    }
    return 0;
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
        for (k = 0; k < NFORMATS; k++)
            if (strcmp(w, formats[k].ext) == 0)
                break;
        if (k == NFORMATS) {
            snprintf(err, errlen, "unknown format '%s' (valid: png, svg, pdf)", w);
            return -1;
        }
        if (*out & formats[k].bit) {
            snprintf(err, errlen, "'%s' given twice in list '%s'", w, s);
            return -1;
        }
        *out |= formats[k].bit;
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
