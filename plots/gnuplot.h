/* plots/gnuplot.h: running gnuplot on a script built into the binary, and
 * proving that what it drew is whole. Every picture of the lab goes
 * through here: the results charts (plots/plot.c), the heap map
 * (plots/heapmap.c) and the memory chart (plots/memchart.c).
 *
 * gnuplot runs as a program (fork + execvp, no shell) in a given folder,
 * reads its script from an anonymous memory file on stdin (a prelude of
 * variables and data blocks, then `term`, then the embedded script), and
 * writes the picture to its stdout, a file the caller created: it never
 * opens an output name of its own. Its exit status proves nothing (it
 * exits 0 after writing a truncated PNG on a full disk), so the picture is
 * checked afterwards: fsync succeeds, it is not empty, and it ends as its
 * format must (a PNG with its IEND chunk, an SVG with </svg>, a PDF with
 * %%EOF).
 */
#ifndef GL_PLOTS_GNUPLOT_H
#define GL_PLOTS_GNUPLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "plots/plot.h"

/* A picture format: the scripts' `term` variable, which is also the file
 * extension, and how to tell a complete file of it. */
typedef struct gp_format {
    const char *term;                      /* "png", "svg" */
    const char *marker;                    /* what a complete file ends with */
    bool (*complete)(int fd, off_t size);
} gp_format_t;

#define GP_NFORMATS 3
extern const gp_format_t gp_formats[GP_NFORMATS];   /* png, svg, pdf */
/* The pictures every chart of a run has: the first two, PNG and SVG. */
#define GP_RUN_FORMATS 2

/* The format of a file by its name's extension (".png", ".svg", any
 * case); NULL when it is none of them. Cannot fail. */
const gp_format_t *gp_format_of(const char *filename);

/* src as a gnuplot single-quoted string: quotes doubled, control
 * characters blanked, truncated to fit cap (cap >= 3). Cannot fail. */
void gp_quote(char *dst, size_t cap, const char *src);

/* Run gnuplot inside folder dirfd on prelude, "term='<fmt>'" and the
 * script, its picture going to `out` and its messages to `log`; then check
 * the picture. `name` is the picture as messages name it; `log_name` the
 * log file to point at when gnuplot fails (NULL: none). Returns
 * PLOT_DRAWN, or PLOT_NO_GNUPLOT / PLOT_FAILED with one line in err. */
plot_status_t gp_draw(int dirfd, const char *prelude, const unsigned char *script,
                      size_t script_len, const gp_format_t *fmt, int out, const char *name,
                      int log, const char *log_name, char *err, size_t errlen);

/* The head of a prelude for plots/latency.gp, timeline.gp and memory.gp:
 * width, height and dark from opts, then plots/theme.gp (the colours,
 * font sizes and theme_terminal the scripts use). Cannot fail (stream
 * errors show in ferror). */
void gp_theme_prelude(FILE *f, const plot_opts_t *opts);

/* Draw <stem>.<format> for each format bit set in `formats` (bit k:
 * gp_formats[k]; PLOT_PNG | PLOT_SVG for a run's charts) from prelude and
 * script, inside the folder: every picture a temporary, checked, and all
 * renamed into place together, or none; gnuplot's messages in <stem>.log,
 * kept only when not empty. Returns the status, with err set unless
 * PLOT_DRAWN. */
plot_status_t gp_draw_pictures(const rep_outdir_t *d, const char *stem, const char *prelude,
                               const unsigned char *script, size_t script_len, unsigned formats, char *err,
                               size_t errlen);

#endif
