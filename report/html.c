/* report/html.c: one self-contained HTML page of a results folder, for a
 * speaker to open offline, print to PDF or attach to a bug report:
 *
 *   title, the machine (context block, the state before and after),
 *   warnings (the busy machine, every row's), the exact command line,
 *   the summary table (median, its CI, σ, speedup and its CI), the charts
 *   (gnuplot's SVG, inline: no file beside the page, no network), every
 *   repeat's wall time per row, and the notes of the sweep.
 *
 * Nothing is fetched: the style is inline, there is no script, and every
 * piece of text from outside (host names, command lines, CPU model) is
 * escaped. The SVG is gnuplot's own document minus its XML prolog, which
 * HTML does not take inline.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "build_info.h"
#include "report/report.h"

/* s with &, <, >, " and ' escaped. */
static void h(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: putc(*s, f);
        }
    }
}

static void cell_time(FILE *f, double v, rep_unit_t u)
{
    fputs("<td class=\"n\">", f);
    if (isfinite(v))
        fprintf(f, "%.*f %s", u.decimals, v * u.scale, u.name);
    else
        fputs("–", f);
    fputs("</td>", f);
}

static void context_row(FILE *f, const char *key, const char *value)
{
    fputs("<tr><th>", f);
    h(f, key);
    fputs("</th><td>", f);
    h(f, value);
    fputs("</td></tr>\n", f);
}

static void state_text(const rep_machine_state_t *st, char *buf, size_t len)
{
    if (!st->valid) {
        snprintf(buf, len, "not recorded");
        return;
    }
    snprintf(buf, len, "load average %.2f %.2f %.2f, %d runnable, %.0f MHz%s%s", st->load[0],
             st->load[1], st->load[2], st->running, st->mhz, st->governor[0] ? ", governor " : "",
             st->governor);
}

static void write_context(FILE *f, const rep_doc_t *doc)
{
    const rep_context_t *c = doc->ctx;
    char buf[512], machine[320];

    rep_machine_line(c, machine, sizeof machine);
    fputs("<h2>Machine</h2>\n<table class=\"ctx\">\n", f);
    context_row(f, "machine", machine);
    context_row(f, "host", c->host_name);
    context_row(f, "system", c->os);
    context_row(f, "virtual machine", c->hypervisor[0] ? c->hypervisor : "no sign of one");
    snprintf(buf, sizeof buf, "%d%s", c->aslr, c->aslr == 2 ? " (full randomisation)" : "");
    context_row(f, "ASLR", c->aslr >= 0 ? buf : "unknown");
    state_text(&c->before, buf, sizeof buf);
    context_row(f, "before the run", buf);
    state_text(&c->after, buf, sizeof buf);
    context_row(f, "after the run", buf);
    context_row(f, "date", c->date);
    snprintf(buf, sizeof buf, "gil-lab %s (git %s, %s build, %s)", GL_VERSION, GL_GIT_REV,
             GL_BUILD_TYPE, GL_COMPILER);
    context_row(f, "measured by", doc->implementation ? doc->implementation : buf);
    context_row(f, "report by", buf);
    fputs("</table>\n", f);
}

typedef struct warning_ctx {
    FILE *f;
    const char *row;
} warning_ctx_t;

/* One row's warning sentence as a list item (rep_warnings_each). */
static void warning_item(void *arg, const char *sentence)
{
    const warning_ctx_t *w = arg;
    fputs("<li><code>", w->f);
    h(w->f, w->row);
    fputs("</code>: ", w->f);
    h(w->f, sentence);
    fputs("</li>\n", w->f);
}

static void write_warnings(FILE *f, const rep_doc_t *doc)
{
    char busy[512];
    bool any = rep_busy_warning(doc, busy, sizeof busy);

    for (int i = 0; i < doc->nrows; i++)
        any |= doc->rows[i].warnings != 0;
    if (!any)
        return;
    fputs("<h2>Warnings</h2>\n<ul class=\"warn\">\n", f);
    if (rep_busy_warning(doc, busy, sizeof busy)) {
        fputs("<li>", f);
        h(f, busy);
        fputs(".</li>\n", f);
    }
    for (int i = 0; i < doc->nrows; i++)
        rep_warnings_each(doc->rows, i, &doc->setup, warning_item,
                          &(warning_ctx_t){f, doc->rows[i].name});
    fputs("</ul>\n", f);
}

static void write_summary(FILE *f, const rep_doc_t *doc)
{
    double longest = 0.0;
    char heading[256];
    rep_unit_t u;

    for (int i = 0; i < doc->nrows; i++)
        longest = fmax(longest, doc->rows[i].wall.median);
    u = rep_time_unit(longest);
    rep_summary_heading(doc->rows, doc->nrows, &doc->setup, heading, sizeof heading);
    fputs("<h2>Summary</h2>\n<p class=\"what\">", f);
    h(f, heading);
    fputs(".</p>\n<table class=\"rows\">\n<thead><tr><th>workload</th><th>mode</th>"
          "<th>guard</th><th>allocator</th><th>workers</th><th>median</th><th>median CI</th>"
          "<th>σ</th><th>CPU share</th><th>speedup</th><th>speedup CI</th><th>warnings</th>"
          "</tr></thead>\n<tbody>\n",
          f);
    for (int i = 0; i < doc->nrows; i++) {
        const rep_row_t *r = &doc->rows[i];
        const run_spec_t *s = &r->run->spec;
        fprintf(f, "<tr%s><td>", r->warnings ? " class=\"flag\"" : "");
        h(f, s->workload->name);
        fprintf(f, "</td><td>%s</td><td>%s</td><td>%s</td><td class=\"n\">%d</td>",
                run_mode_name(s->mode), guard_name(s->guard), heap_kind_name(s->allocator),
                s->workers);
        cell_time(f, r->wall.median, u);
        if (isfinite(r->median_ci.lo))
            fprintf(f, "<td class=\"n\">%.*f … %.*f (%.0f %%)</td>", u.decimals,
                    r->median_ci.lo * u.scale, u.decimals, r->median_ci.hi * u.scale,
                    r->median_ci.level * 100);
        else
            fputs("<td class=\"n\">–</td>", f);
        cell_time(f, r->wall.stddev, u);
        if (isfinite(r->cpu_share))
            fprintf(f, "<td class=\"n\">%.0f %%</td>", r->cpu_share * 100);
        else
            fputs("<td class=\"n\">–</td>", f);
        if (isfinite(r->speedup))
            fprintf(f, "<td class=\"n\">%.2fx</td>", r->speedup);
        else
            fputs("<td class=\"n\">–</td>", f);
        if (isfinite(r->speedup_ci.lo))
            fprintf(f, "<td class=\"n\">%.2f … %.2f (%.0f %%)</td>", r->speedup_ci.lo,
                    r->speedup_ci.hi, r->speedup_ci.level * 100);
        else
            fputs("<td class=\"n\">–</td>", f);
        fputs("<td>", f);
        h(f, r->warning_text);
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody>\n</table>\n", f);
}

static void write_repeats(FILE *f, const rep_doc_t *doc)
{
    fputs("<h2>Every repeat</h2>\n<p class=\"what\">Wall time of each timed repeat, in the "
          "order they ran.</p>\n<table class=\"rows\">\n",
          f);
    for (int i = 0; i < doc->nrows; i++) {
        const rep_row_t *r = &doc->rows[i];
        rep_unit_t u = rep_time_unit(r->wall.max);
        fputs("<tr><td><code>", f);
        h(f, r->name);
        fputs("</code></td><td>", f);
        for (int k = 0; k < r->run->nsamples; k++)
            fprintf(f, "%s%.*f", k ? ", " : "", u.decimals + 1,
                    r->run->samples[k].wall_s * u.scale);
        fprintf(f, " %s</td></tr>\n", u.name);
    }
    fputs("</table>\n", f);
}

/* An SVG document without what precedes its root element. */
static void write_svg(FILE *f, const char *svg)
{
    const char *root = strstr(svg, "<svg");

    fputs(root ? root : "", f);
}

int rep_html_write(FILE *f, const rep_doc_t *doc, const void *arg)
{
    const rep_html_charts_t *charts = arg;
    char title[256];

    snprintf(title, sizeof title, "gil-lab report: %s, %s",
             doc->nrows ? doc->rows[0].run->spec.workload->name : "no rows", doc->ctx->date);
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", f);
    h(f, title);
    fputs("</title>\n<style>\n"
          "body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;"
          "color:#222;line-height:1.4}\n"
          "table{border-collapse:collapse;margin:.5em 0 1.5em}\n"
          "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}\n"
          "td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
          "tr.flag td{background:#fff4e0}\n"
          "ul.warn li{color:#8a4b00}\n"
          "pre{background:#f4f4f4;padding:.6em;overflow-x:auto;white-space:pre-wrap}\n"
          "figure{margin:1.5em 0}figure svg{width:100%;height:auto}\n"
          "p.what{color:#555}\n"
          "@media print{body{max-width:none}figure{break-inside:avoid}}\n"
          "</style>\n</head>\n<body>\n<h1>",
          f);
    h(f, title);
    fputs("</h1>\n", f);
    write_context(f, doc);
    write_warnings(f, doc);
    fputs("<h2>Command line</h2>\n<pre>", f);
    h(f, doc->ctx->command_line);
    fputs("</pre>\n", f);
    if (doc->notes && doc->notes[0]) {
        fputs("<pre>", f);
        h(f, doc->notes);
        fputs("</pre>\n", f);
    }
    write_summary(f, doc);
    if (charts && charts->n > 0)
        fputs("<h2>Charts</h2>\n", f);
    for (int k = 0; charts && k < charts->n; k++) {
        fputs("<figure>\n", f);
        write_svg(f, charts->svg[k]);
        fputs("\n<figcaption>", f);
        h(f, charts->caption[k]);
        fputs("</figcaption>\n</figure>\n", f);
    }
    write_repeats(f, doc);
    fputs("</body>\n</html>\n", f);
    return ferror(f) ? -1 : 0;
}
