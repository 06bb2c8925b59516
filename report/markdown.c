/* report/markdown.c: the summary as a GitHub-flavoured Markdown table, for
 * a slide, an issue or a pull request (hyperfine's --export-markdown):
 *
 *   | workload | mode | guard | allocator | workers | median | median CI | σ | speedup | speedup CI | notes |
 *   |:--|:--|:--|:--|--:|--:|--:|--:|--:|--:|:--|
 *   | countdown | threads | gil | pymalloc | 2 | 1.769 s | 1.70 … 1.85 | 0.155 s | 1.05x | 0.98 … 1.12 | |
 *
 * then a line saying what the numbers are, the machine, and every warning
 * in full. Cells come from the same rep_row_t as the console; text from
 * outside (host and CPU names) has its pipes escaped.
 */
#include <math.h>
#include <stdlib.h>

#include "report/report.h"

/* s with '|' escaped, so a cell cannot split. */
static void md_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n')
            putc(' ', f);
        else
            putc(*s, f);
    }
}

static void md_time(FILE *f, double v, rep_unit_t u)
{
    if (isfinite(v))
        fprintf(f, "%.*f %s", u.decimals, v * u.scale, u.name);
    else
        fputs("–", f);
}

typedef struct warning_ctx {
    FILE *f;
    const char *row;
} warning_ctx_t;

/* One row's warning sentence as a quoted line (rep_warnings_each). */
static void warning_quote(void *arg, const char *sentence)
{
    const warning_ctx_t *w = arg;
    fprintf(w->f, "\n> **Warning** (%s): ", w->row);
    md_text(w->f, sentence);
    fputs("\n", w->f);
}

int rep_markdown_write(FILE *f, const rep_doc_t *doc)
{
    double longest = 0.0;
    char heading[256], machine[320], busy[512];
    rep_unit_t u;

    for (int i = 0; i < doc->nrows; i++)
        longest = fmax(longest, doc->rows[i].wall.median);
    u = rep_time_unit(longest);
    fputs("| workload | mode | guard | allocator | workers | median | median CI | σ | speedup "
          "| speedup CI | notes |\n|:--|:--|:--|:--|--:|--:|--:|--:|--:|--:|:--|\n",
          f);
    for (int i = 0; i < doc->nrows; i++) {
        const rep_row_t *r = &doc->rows[i];
        const run_spec_t *s = &r->run->spec;
        fprintf(f, "| %s | %s | %s | %s | %d | ", s->workload->name, run_mode_name(s->mode),
                guard_name(s->guard), heap_kind_name(s->allocator), s->workers);
        md_time(f, r->wall.median, u);
        fputs(" | ", f);
        if (isfinite(r->median_ci.lo))
            fprintf(f, "%.*f … %.*f", u.decimals, r->median_ci.lo * u.scale, u.decimals,
                    r->median_ci.hi * u.scale);
        fputs(" | ", f);
        md_time(f, r->wall.stddev, u);
        fputs(" | ", f);
        if (isfinite(r->speedup))
            fprintf(f, "%.2fx", r->speedup);
        fputs(" | ", f);
        if (isfinite(r->speedup_ci.lo))
            fprintf(f, "%.2f … %.2f", r->speedup_ci.lo, r->speedup_ci.hi);
        fprintf(f, " | %s |\n", r->warning_text);
    }
    rep_summary_heading(doc->rows, doc->nrows, &doc->setup, heading, sizeof heading);
    rep_machine_line(doc->ctx, machine, sizeof machine);
    fputs("\n", f);
    md_text(f, heading);
    fputs(". Machine: ", f);
    md_text(f, machine);
    fputs("; ", f);
    md_text(f, doc->ctx->os);
    fputs(".\n", f);
    if (rep_busy_warning(doc, busy, sizeof busy)) {
        fputs("\n> **Warning:** ", f);
        md_text(f, busy);
        fputs(".\n", f);
    }
    for (int i = 0; i < doc->nrows; i++)
        if (rep_warnings_each(doc->rows, i, &doc->setup, warning_quote,
                              &(warning_ctx_t){f, doc->rows[i].name}) < 0)
            return -1;
    return ferror(f) ? -1 : 0;
}
