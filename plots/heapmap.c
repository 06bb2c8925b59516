/* plots/heapmap.c: the heap map picture (see plots/heapmap.h).
 *
 * Each panel is a snapshot of every pool of every mapped arena (lab/
 * pymalloc.h, pym_walk_pools): its arena slot, its place in the arena, and
 * one number for its colour:
 *
 *   fill = blocks in use / blocks per pool   used and full pools: (0, 1]
 *          0                                 empty (initialised) pools
 *          UNTOUCHED                         never carved (grey)
 *          NaN                               no arena in that slot (blank)
 *
 * At draw time the panels become one gnuplot data block, each panel an
 * index of the same regular grid (arena slots x pools), which plots/
 * heap.gp draws `with image`; the variables, the captions and the data
 * block are the prelude plots/gnuplot.c puts in front of the script. No
 * data file is left beside the picture, and gnuplot's messages go to an
 * anonymous memory file whose last line joins the error when it fails.
 */
#define _GNU_SOURCE /* memfd_create, open_memstream */
#include "plots/heapmap.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "build_info.h"
#include "plots/gnuplot.h"

/* plots/heap.gp, embedded by the build (CMakeLists.txt). */
extern const unsigned char plot_script_heap[];
extern const size_t plot_script_heap_len;

#define UNTOUCHED (-0.2)   /* heap.gp's palette starts here, in grey */

typedef struct heap_cell {
    uint32_t arena, pool;
    float fill;
} heap_cell_t;

typedef struct heap_panel {
    char caption[256];
    heap_cell_t *cells;
    size_t ncells, cap;
    bool failed;          /* out of memory while walking */
} heap_panel_t;

struct heapmap {
    char title[256];
    heap_panel_t panels[HEAPMAP_MAX_PANELS];
    int npanels;
    uint32_t nslots;      /* the highest arena slot seen, + 1 */
    uint32_t npools;      /* pools per arena */
    size_t pool_size, arena_size;
};

/* A panel's counts, for its caption. */
typedef struct panel_counts {
    heap_panel_t *panel;
    unsigned arenas, full, used, empty;
    uint64_t blocks;
    uint32_t last_slot;
} panel_counts_t;

heapmap_t *heapmap_new(const char *title)
{
    heapmap_t *m = calloc(1, sizeof *m);

    if (m != NULL)
        snprintf(m->title, sizeof m->title, "%s", title);
    return m;
}

void heapmap_free(heapmap_t *m)
{
    if (m == NULL)
        return;
    for (int k = 0; k < m->npanels; k++)
        free(m->panels[k].cells);
    free(m);
}

static void add_cell(const pym_pool_info_t *p, void *arg)
{
    panel_counts_t *c = arg;
    heap_panel_t *panel = c->panel;
    float fill = p->state == PYM_POOL_UNTOUCHED ? (float)UNTOUCHED
                 : p->capacity ? (float)p->blocks_in_use / (float)p->capacity
                               : 0.0f;

    if (panel->ncells == panel->cap) {
        size_t cap = panel->cap ? 2 * panel->cap : 256;
        heap_cell_t *cells = realloc(panel->cells, cap * sizeof *cells);
        if (cells == NULL) {
            panel->failed = true;
            return;
        }
        panel->cells = cells;
        panel->cap = cap;
    }
    panel->cells[panel->ncells++] = (heap_cell_t){p->arena, p->pool, fill};
    c->arenas += p->pool == 0;
    c->full += p->state == PYM_POOL_FULL;
    c->used += p->state == PYM_POOL_USED;
    c->empty += p->state == PYM_POOL_EMPTY;
    c->blocks += p->blocks_in_use;
    c->last_slot = p->arena;
}

int heapmap_add(heapmap_t *m, const pym_t *pym, const char *caption)
{
    heap_panel_t *panel;
    panel_counts_t c = {0};

    if (m->npanels == HEAPMAP_MAX_PANELS)
        return -1;
    panel = &m->panels[m->npanels];
    c.panel = panel;
    pym_walk_pools(pym, add_cell, &c);
    if (panel->failed) {
        free(panel->cells);
        memset(panel, 0, sizeof *panel);
        return -1;
    }
    snprintf(panel->caption, sizeof panel->caption,
             "%s: %u arena%s; pools %u full, %u used, %u empty; %llu block%s in use", caption,
             c.arenas, c.arenas == 1 ? "" : "s", c.full, c.used, c.empty,
             (unsigned long long)c.blocks, c.blocks == 1 ? "" : "s");
    if (c.arenas > 0 && c.last_slot + 1 > m->nslots)
        m->nslots = c.last_slot + 1;
    m->npools = (uint32_t)(pym_arena_size(pym) / pym_pool_size(pym));
    m->pool_size = pym_pool_size(pym);
    m->arena_size = pym_arena_size(pym);
    m->npanels++;
    return 0;
}

/* The fill of (slot, pool) in panel, or NaN: no arena there. */
static double cell_value(const heap_panel_t *panel, size_t *at, uint32_t slot, uint32_t pool)
{
    /* Cells come in slot order, pools in order: one pass, in step. */
    while (*at < panel->ncells && (panel->cells[*at].arena < slot ||
                                   (panel->cells[*at].arena == slot && panel->cells[*at].pool < pool)))
        (*at)++;
    if (*at < panel->ncells && panel->cells[*at].arena == slot && panel->cells[*at].pool == pool)
        return panel->cells[*at].fill;
    return NAN;
}

/* "16 KiB", "1 MiB". */
static void fmt_size(size_t bytes, char *buf, size_t len)
{
    rep_fmt_bytes((double)bytes, buf, len);
}

/* The variables, captions and data block in front of heap.gp, into f.
 * gnuplot's `with image` wants a grid of at least 2 x 2, so a heap of one
 * arena (or of one pool per arena) gets a blank row (column) more. */
static void write_prelude(FILE *f, const heapmap_t *m)
{
    uint32_t rows = m->nslots < 2 ? 2 : m->nslots > HEAPMAP_MAX_ROWS ? HEAPMAP_MAX_ROWS : m->nslots;
    uint32_t cols = m->npools < 2 ? 2 : m->npools;
    char q[600], pool[32], arena[32], note[400];
    /* 18 pixels an arena row, a panel at most 300 pixels high. */
    int height = 240 + m->npanels * (80 + (rows > 16 ? 300 : 18 * (int)rows));

    fmt_size(m->pool_size, pool, sizeof pool);
    fmt_size(m->arena_size, arena, sizeof arena);
    fprintf(f, "npanels=%d; npools=%u; nrows=%u; height=%d\n", m->npanels, cols, rows, height);
    gp_quote(q, sizeof q, m->title);
    fprintf(f, "title1=%s\n", q);
    snprintf(note, sizeof note,
             "columns: the %u pools (%s) of an arena; rows: arenas (%s)%s; colour: blocks in "
             "use / blocks per pool; grey: pool never used; blank row: no arena there",
             m->npools, pool, arena,
             m->nslots > HEAPMAP_MAX_ROWS ? " (only the first 64 drawn)" : "");
    gp_quote(q, sizeof q, note);
    fprintf(f, "note=%s\n", q);
    snprintf(note, sizeof note, "gil-lab %s (%s), the pymalloc model (lab/pymalloc.c)", GL_VERSION,
             GL_GIT_REV);
    gp_quote(q, sizeof q, note);
    fprintf(f, "footer=%s\narray caption[%d]\n", q, m->npanels);
    for (int k = 0; k < m->npanels; k++) {
        gp_quote(q, sizeof q, m->panels[k].caption);
        fprintf(f, "caption[%d]=%s\n", k + 1, q);
    }
    fputs("$map << EOD\n", f);
    for (int k = 0; k < m->npanels; k++) {
        size_t at = 0;
        for (uint32_t slot = 0; slot < rows; slot++) {
            for (uint32_t p = 0; p < cols; p++) {
                double v = cell_value(&m->panels[k], &at, slot, p);
                if (isnan(v))
                    fprintf(f, "%u %u NaN\n", p, slot);
                else
                    fprintf(f, "%u %u %.4f\n", p, slot, v);
            }
            fputc('\n', f);
        }
        fputc('\n', f);
    }
    fputs("EOD\n", f);
}

/* The last non-empty line gnuplot wrote to log, appended to err. */
static void add_gnuplot_message(int log, char *err, size_t errlen)
{
    char buf[512], *end, *start;
    off_t size = lseek(log, 0, SEEK_END);
    size_t n = size > (off_t)sizeof buf - 1 ? sizeof buf - 1 : (size_t)(size > 0 ? size : 0);
    ssize_t got = n ? pread(log, buf, n, size - (off_t)n) : 0;
    size_t used = strlen(err);

    if (got <= 0)
        return;
    buf[got] = '\0';
    end = buf + got;
    while (end > buf && (end[-1] == '\n' || end[-1] == ' '))
        *--end = '\0';
    start = end;
    while (start > buf && start[-1] != '\n')
        start--;
    if (*start && used < errlen)
        snprintf(err + used, errlen - used, ": %s", start);
}

plot_status_t heapmap_draw(const heapmap_t *m, const rep_outdir_t *d, const char *name, char *err,
                           size_t errlen)
{
    const gp_format_t *fmt = gp_format_of(name);
    rep_file_t picture = {.fd = -1};
    plot_status_t status = PLOT_FAILED;
    char *prelude = NULL;
    size_t prelude_len = 0;
    FILE *f;
    int log = -1;

    if (fmt == NULL || m->npanels == 0) {
        snprintf(err, errlen, "%s", fmt ? "nothing to draw" : "a picture is a .png or an .svg");
        return PLOT_FAILED;
    }
    f = open_memstream(&prelude, &prelude_len);
    if (f == NULL) {
        snprintf(err, errlen, "out of memory");
        return PLOT_FAILED;
    }
    write_prelude(f, m);
    if (fclose(f) != 0 || prelude == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    log = memfd_create("gnuplot.log", MFD_CLOEXEC);
    if (log < 0) {
        snprintf(err, errlen, "cannot keep gnuplot's messages: %s", strerror(errno));
        goto done;
    }
    if (rep_file_create(&picture, d, name, err, errlen) < 0)
        goto done;
    status = gp_draw(d->fd, prelude, plot_script_heap, plot_script_heap_len, fmt, picture.fd, name, log, NULL,
                     err, errlen);
    if (status == PLOT_FAILED)
        add_gnuplot_message(log, err, errlen);
    if (status == PLOT_DRAWN && rep_file_commit(&picture, 1, err, errlen) < 0)
        status = PLOT_FAILED;
done:
    rep_file_discard(&picture, 1);
    if (log >= 0)
        close(log);
    free(prelude);
    return status;
}
