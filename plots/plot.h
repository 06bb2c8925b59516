/* plots/plot.h: the charts, drawn by gnuplot from results.
 *
 * A chart kind is one entry of plot_kinds[] (plot.c): a name, the stem of
 * its files, and a function that extracts its data from one or more
 * results documents into a plot_chart_t. Two embedded gnuplot scripts
 * draw every kind: plots/bars.gp (clustered bars with error bars and an
 * optional reference line) and plots/lines.gp (points joined by lines
 * against a numeric x, with error bars and an optional ideal line). So a
 * new chart (a fairness chart, a memory chart) is one extraction function
 * and one table line, and a new look is one .gp file.
 *
 *   kind        stem        what it shows
 *   bars        chart       median wall time per mode, one cluster per
 *                           guard/allocator (and workload, size, setting
 *                           when they vary), error bars min-max
 *   scaling     scaling     speedup (strong) or efficiency (weak) against
 *                           workers, one line per workload/mode/guard, the
 *                           ideal line, error bars the speedup's 95 % CI
 *   normalised  normalised  each row's time relative to its baseline row
 *                           (default: the first guard of the sweep), one
 *                           cluster per workload, error bars the 95 % CI
 *   ratio       ratio       compare: each matched row's time in B (C, ...)
 *                           over A, error bars the ratio's 95 % CI
 *   paired      paired      calibrate: CPython's time relative to its own
 *                           single row beside the lab's
 *   latency-interval        a client's p50 (solid) and p99 (dashed)
 *               latency-interval  against the switch interval, log axes,
 *                           one pair per mode/guard/parameters
 *   (throughput, memory, cow, gcpauses: see plots/kinds.c's table)
 *   latency     latency     a convoy server's latency percentiles
 *   timeline    timeline    the GIL timeline, timeline-N per traced row
 *   memtrace    memory      memory over time (run --memory-trace)
 *
 * The last three have a script of their own (plots/gilcharts.c,
 * plots/memchart.c) and draw from one document, a run's records or the
 * files it saved (trace-N.json, memory.csv) read back.
 *
 * Every chart says on itself what its bars and error bars are, the machine
 * and the lab's version; text is noenhanced (gil_biased stays as written);
 * bar axes start at zero.
 */
#ifndef GL_PLOT_H
#define GL_PLOT_H

#include "report/report.h"

#define PLOT_MAX_SERIES 32
#define PLOT_MAX_CLUSTERS 64
#define PLOT_MIN_SIDE 200      /* pixels */
#define PLOT_MAX_SIDE 10000

typedef enum plot_status {
    PLOT_FAILED = -1,     /* err says why; no picture of the chart is left in the folder */
    PLOT_DRAWN = 0,       /* every picture asked for is in place */
    PLOT_NO_GNUPLOT = 1,  /* gnuplot is not installed: err says so */
} plot_status_t;

/* Bit k is gp_formats[k] (plots/gnuplot.h). */
enum { PLOT_PNG = 1, PLOT_SVG = 2, PLOT_PDF = 4 };

typedef struct plot_opts {
    unsigned formats;     /* PLOT_PNG | PLOT_SVG | PLOT_PDF */
    const char *title;    /* NULL: from the data */
    bool dark;            /* light text on a dark background, for dark slides */
    int width, height;    /* pixels; a PDF is width/100 x height/100 inches */
    const rep_baseline_t *baseline;   /* normalised: NULL for the first guard */
} plot_opts_t;

/* PNG and SVG, light, 1600x900, title from the data. Cannot fail. */
plot_opts_t plot_opts_default(void);

typedef enum plot_shape { PLOT_BARS, PLOT_LINES } plot_shape_t;

/* What a kind extracts: series x clusters (bars) or series x points
 * (lines), each a value and its error bar; NaN where there is none. */
typedef struct plot_chart {
    plot_shape_t shape;
    int nseries, nclusters;
    char series[PLOT_MAX_SERIES][96];
    char clusters[PLOT_MAX_CLUSTERS][160];   /* bars: labels; lines: unused */
    double x[PLOT_MAX_CLUSTERS];             /* lines: each column's x (workers) */
    double v[PLOT_MAX_SERIES][PLOT_MAX_CLUSTERS][3];   /* value, error low, error high */
    char unit[16];            /* the values' unit, for the labels on bars ("s", "x") */
    int decimals;
    char ylabel[160];
    char xlabel[64];
    char note[256];           /* what the bars or points and error bars are */
    char title[640];          /* first title line */
    double ref;               /* bars: a reference line at this value; NaN: none */
    int ideal;                /* lines: 0 none, 1 y = x, 2 y = 1 */
    int xbase;                /* lines: the log x axis's base (0: 2, for workers) */
    bool ylog;                /* lines: a log y axis, not one from zero */
    bool pairs;               /* lines: series 2k solid, 2k+1 dashed, one colour */
} plot_chart_t;

/* One or more results documents, with a label for each (the folders). */
typedef struct plot_source {
    const rep_doc_t *docs;
    const char *const *labels;
    int ndocs;
    const plot_opts_t *opts;
} plot_source_t;

/* The pictures one plot_draw made, by stem ("timeline-2"): a report
 * embeds each. */
#define PLOT_MAX_DRAWN 64
typedef struct plot_drawn {
    int n;
    char stems[PLOT_MAX_DRAWN][32];
} plot_drawn_t;

/* Add stem to drawn (NULL: nothing). Cannot fail (beyond PLOT_MAX_DRAWN,
 * ignored). */
void plot_drawn_add(plot_drawn_t *drawn, const char *stem);

/* A stacked timeline with more lanes would not read. */
#define PLOT_MAX_STACKED_LANES 24

typedef struct plot_kind {
    const char *name;
    const char *stem;          /* files: <stem>.png/.svg/.pdf, <stem>.dat, <stem>.log */
    const char *description;
    /* Extract the data. 0, or -1 with why the kind does not apply in err.
     * NULL for a kind that draws itself. */
    int (*fill)(const plot_source_t *src, plot_chart_t *c, char *err, size_t errlen);
    /* A chart with a script of its own (latency, timeline, memtrace):
     * draws from one document, its stems into drawn. NULL for the rest. */
    plot_status_t (*draw)(const rep_outdir_t *d, const rep_doc_t *doc, const plot_opts_t *opts,
                          plot_drawn_t *drawn, char *err, size_t errlen);
    /* Whether `run` and `report` draw it for doc unasked; NULL: only on
     * request (plot --chart, compare, calibrate). */
    bool (*fits)(const rep_doc_t *doc);
} plot_kind_t;

extern const plot_kind_t plot_kinds[];
extern const int plot_nkinds;

/* A kind by name; NULL when unknown. */
const plot_kind_t *plot_kind_find(const char *name);

/* Draw kind from src into the folder: <stem>.dat, then one picture per
 * format, each gnuplot's output into a temporary the lab created, checked
 * (size, fsync, the format's end marker) and renamed into place together
 * with the others, or none (a kind with `draw`: what it draws, from one
 * document). The stems drawn are added to `drawn` (NULL: not wanted).
 * Returns the status, with err set unless PLOT_DRAWN. */
plot_status_t plot_draw(const rep_outdir_t *d, const plot_kind_t *kind, const plot_source_t *src,
                        const plot_opts_t *opts, plot_drawn_t *drawn, char *err, size_t errlen);

/* What `run` draws: every kind that fits the document (bars always,
 * scaling when a series has several worker counts, normalised when several
 * workloads ran under several guards, latency, timelines and the memory
 * trace when the run recorded them). PNG and SVG. Returns the first
 * failure's status, or PLOT_DRAWN. */
plot_status_t plot_run_charts(const rep_outdir_t *d, const rep_doc_t *doc, char *err,
                              size_t errlen);

/* The charts of a run's own records, each with a script of its own and
 * drawn straight from the document (no plot_chart_t): kinds latency,
 * timeline and memtrace of the table, plot_draw's `draw` functions.
 *
 * plot_memory: memory.<format> (plots/memchart.c, plots/memory.gp) from
 * the rows' memory traces (run --memory-trace; memory.csv read back).
 * PLOT_FAILED when no row was traced. */
plot_status_t plot_memory(const rep_outdir_t *d, const rep_doc_t *doc, const plot_opts_t *opts,
                          plot_drawn_t *drawn, char *err, size_t errlen);

/* plot_timelines: a GIL timeline (plots/timeline.gp) of each traced row
 * within the doc's window, timeline-N.<format> and .dat for row N
 * (counted from 1), and, when the doc has several rows and at most
 * PLOT_MAX_STACKED_LANES lanes, timeline.<format>: every traced row's
 * lanes stacked on the same window (gil against gil-old)
 * (plots/gilcharts.c; the traces are the run's, or trace-N.json read back).
 * PLOT_FAILED when no row was traced. */
plot_status_t plot_timelines(const rep_outdir_t *d, const rep_doc_t *doc, const plot_opts_t *opts,
                             plot_drawn_t *drawn, char *err, size_t errlen);

/* plot_latency: latency.<format> (plots/latency.gp): the latency
 * percentiles of the rows that have a client, one mark per percentile on
 * a log axis (plots/gilcharts.c). PLOT_FAILED when no row has one. */
plot_status_t plot_latency(const rep_outdir_t *d, const rep_doc_t *doc, const plot_opts_t *opts,
                           plot_drawn_t *drawn, char *err, size_t errlen);

/* Remove every chart file of every kind (pictures, data, log, temporaries)
 * from the folder, so that no chart of an earlier run stays beside new
 * results. Returns 0, or -1 with the reason in err. */
int plot_remove(const rep_outdir_t *d, char *err, size_t errlen);

/* "png,svg,pdf" into PLOT_* bits. Returns 0, or -1 with the reason. */
int plot_parse_formats(const char *s, unsigned *out, char *err, size_t errlen);

/* "1600x900" into pixels, each side in [PLOT_MIN_SIDE, PLOT_MAX_SIDE].
 * Returns 0, or -1 with the reason. */
int plot_parse_size(const char *s, int *width, int *height, char *err, size_t errlen);

#endif
