/* plots/heapmap.h: the pymalloc heap as a picture, for `gil-lab heap
 * --picture`: one panel per step of a story, each the occupancy map of the
 * arenas (rows) and their pools (columns), a pool's colour saying how many
 * of its blocks are in use. The text view (pym_print_map) draws the same
 * map with one character per pool; the picture adds how full each pool is.
 *
 * Snapshots are taken as the story goes (heapmap_add) and drawn once at the
 * end, so that every panel shares one scale: the same arena rows and pool
 * columns, an arena given back to the OS leaving its row blank.
 */
#ifndef GL_PLOTS_HEAPMAP_H
#define GL_PLOTS_HEAPMAP_H

#include "lab/pymalloc.h"
#include "plots/plot.h"

#define HEAPMAP_MAX_PANELS 8
#define HEAPMAP_MAX_ROWS 64   /* arena rows drawn; further arenas are counted, not drawn */

typedef struct heapmap heapmap_t;

/* An empty map with a title (the story, for the picture's heading).
 * NULL when out of memory. */
heapmap_t *heapmap_new(const char *title);

/* Add a panel: pym's pools now, under `caption`. Returns 0, or -1 when
 * out of memory or past HEAPMAP_MAX_PANELS. */
int heapmap_add(heapmap_t *m, const pym_t *pym, const char *caption);

/* Draw the panels into file `name` of folder d, PNG or SVG by the name's
 * extension, through gnuplot (plots/heap.gp): written at name.tmp, checked
 * and renamed into place, or not at all. Returns PLOT_DRAWN, or
 * PLOT_NO_GNUPLOT / PLOT_FAILED with one line in err. */
plot_status_t heapmap_draw(const heapmap_t *m, const rep_outdir_t *d, const char *name, char *err,
                           size_t errlen);

/* Release m. NULL is accepted. */
void heapmap_free(heapmap_t *m);

#endif
