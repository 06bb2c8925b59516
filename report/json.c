/* report/json.c: results.json, in the spirit of Google Benchmark's output:
 *
 *   {"context":    {date, host_name, executable, cpu_model, num_packages,
 *                   num_cores, num_pus, caches[], numa_nodes, os, compiler,
 *                   cflags, build_type, gil_lab_version, git_revision,
 *                   command_line},
 *    "benchmarks": [{name, <spec fields of rep_columns>, params{},
 *                    repeats[{<every sample field>}], medians{...},
 *                    aggregates{median, mean, stddev, cv, min, max, mad},
 *                    latency_histogram[{from_s, to_s, count}] (convoy)}]}
 *
 * "aggregates" are the wall time's (seconds, cv a ratio); "medians" are the
 * per-field medians the CSV shows. Numbers that do not exist are null, never
 * NaN; strings are escaped and kept valid UTF-8, so the document always
 * parses (python3 -m json.tool).
 */
#include <string.h>

#include "build_info.h"
#include "report/report.h"

void rep_json_string(FILE *f, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;

    putc('"', f);
    while (*s) {
        size_t n;
        switch (*s) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*s < 0x20 || *s == 0x7f) {
                fprintf(f, "\\u%04x", *s);
            } else if (*s < 0x80) {
                putc(*s, f);
            } else if ((n = rep_utf8_sequence(s)) > 0) {
                fwrite(s, 1, n, f);
                s += n;
                continue;
            } else {
                fputs("\\ufffd", f);
            }
        }
        s++;
    }
    putc('"', f);
}

static void json_value(FILE *f, rep_value_t v)
{
    char buf[64];

    if (v.type == REP_V_STR)
        rep_json_string(f, v.s);
    else if (rep_value_format(v, buf, sizeof buf))
        fputs(buf, f);
    else
        fputs("null", f);
}

/* `"key": ` preceded by the separator and indentation of a member. */
static void json_key(FILE *f, bool first, const char *indent, const char *key)
{
    fprintf(f, "%s\n%s", first ? "" : ",", indent);
    rep_json_string(f, key);
    fputs(": ", f);
}

static void json_str_member(FILE *f, bool first, const char *indent, const char *key,
                            const char *value)
{
    json_key(f, first, indent, key);
    rep_json_string(f, value);
}

static void json_int_member(FILE *f, const char *indent, const char *key, long long value)
{
    json_key(f, false, indent, key);
    fprintf(f, "%lld", value);
}

static void write_context(FILE *f, const rep_context_t *ctx)
{
    static const char in[] = "    ";

    fputs("  \"context\": {", f);
    json_str_member(f, true, in, "date", ctx->date);
    json_str_member(f, false, in, "host_name", ctx->host_name);
    json_str_member(f, false, in, "executable", ctx->executable);
    json_str_member(f, false, in, "cpu_model", ctx->cpu_model);
    json_int_member(f, in, "num_packages", ctx->num_packages);
    json_int_member(f, in, "num_cores", ctx->num_cores);
    json_int_member(f, in, "num_pus", ctx->num_pus);
    json_key(f, false, in, "caches");
    fputs("[", f);
    for (int c = 0; c < ctx->ncaches; c++) {
        const rep_cache_t *k = &ctx->caches[c];
        fprintf(f, "%s\n      {\"type\": ", c ? "," : "");
        rep_json_string(f, k->type);
        fprintf(f, ", \"level\": %d, \"size\": %llu, \"num_sharing\": %d, \"count\": %d}",
                k->level, (unsigned long long)k->size, k->num_sharing, k->count);
    }
    fputs(ctx->ncaches ? "\n    ]" : "]", f);
    json_int_member(f, in, "numa_nodes", ctx->numa_nodes);
    json_str_member(f, false, in, "os", ctx->os);
    json_str_member(f, false, in, "compiler", GL_COMPILER);
    json_str_member(f, false, in, "cflags", GL_CFLAGS);
    json_str_member(f, false, in, "build_type", GL_BUILD_TYPE);
    json_str_member(f, false, in, "gil_lab_version", GL_VERSION);
    json_str_member(f, false, in, "git_revision", GL_GIT_REV);
    json_str_member(f, false, in, "command_line", ctx->command_line ? ctx->command_line : "");
    fputs("\n  }", f);
}

/* {"wall_s": ..., ...} on one line, from one repeat or from the medians. */
static void write_fields(FILE *f, const run_sample_t *sample, const double *med)
{
    putc('{', f);
    for (int k = 0; k < REP_NFIELDS; k++) {
        rep_field_t field = (rep_field_t)k;
        if (k)
            fputs(", ", f);
        rep_json_string(f, rep_field_name(field));
        fputs(": ", f);
        json_value(f, sample ? rep_sample_value(sample, field) : rep_field_value(field, med[k]));
    }
    putc('}', f);
}

/* A client workload's latency histogram over every timed repeat, its
 * non-empty buckets as {"from_s", "to_s" (null: no upper bound), "count"}. */
static void write_histogram(FILE *f, const run_row_t *run, const char *in)
{
    bool any = false;
    for (int b = 0; b < RUN_HIST_BUCKETS && !any; b++)
        any = run->latency.count[b] > 0;
    if (!any)
        return;
    json_key(f, false, in, "latency_histogram");
    putc('[', f);
    for (int b = 0, first = 1; b < RUN_HIST_BUCKETS; b++) {
        if (run->latency.count[b] == 0)
            continue;
        fprintf(f, "%s{\"from_s\": %.9g, \"to_s\": ", first ? "" : ", ", run_hist_lower_s(b));
        json_value(f, (rep_value_t){.type = REP_V_NUM, .d = run_hist_upper_s(b)});
        fprintf(f, ", \"count\": %llu}", (unsigned long long)run->latency.count[b]);
        first = 0;
    }
    putc(']', f);
}

static void write_benchmark(FILE *f, const rep_row_t *r)
{
    static const char in[] = "      ";
    const run_spec_t *spec = &r->run->spec;
    const rep_stats_t *w = &r->wall;
    const struct { const char *name; double value; rep_vtype_t type; } agg[] = {
        {"median", w->median, REP_V_SEC}, {"mean", w->mean, REP_V_SEC},
        {"stddev", w->stddev, REP_V_SEC}, {"cv", w->cv, REP_V_RATIO},
        {"min", w->min, REP_V_SEC},       {"max", w->max, REP_V_SEC},
        {"mad", w->mad, REP_V_SEC},
    };

    fputs("    {", f);
    json_str_member(f, true, in, "name", r->name);
    for (int c = 0; c < rep_ncolumns; c++) {
        if (!rep_columns[c].json)
            continue;
        json_key(f, false, in, rep_columns[c].name);
        json_value(f, rep_columns[c].get(r));
    }
    json_key(f, false, in, "params");
    putc('{', f);
    for (int p = 0; p < spec->workload->nparams; p++) {
        fputs(p ? ", " : "", f);
        const wl_param_t *pr = &spec->workload->params[p];
        rep_json_string(f, pr->name);
        if (pr->choices != NULL) {
            fputs(": ", f);
            rep_json_string(f, pr->choices[spec->params[p]]);
        } else {
            fprintf(f, ": %lld", (long long)spec->params[p]);
        }
    }
    putc('}', f);
    json_key(f, false, in, "repeats");
    putc('[', f);
    for (int k = 0; k < r->run->nsamples; k++) {
        fprintf(f, "%s\n%s  ", k ? "," : "", in);
        write_fields(f, &r->run->samples[k], NULL);
    }
    fprintf(f, "\n%s]", in);
    json_key(f, false, in, "medians");
    write_fields(f, NULL, r->med);
    json_key(f, false, in, "aggregates");
    putc('{', f);
    for (size_t a = 0; a < sizeof agg / sizeof agg[0]; a++) {
        fprintf(f, "%s\"%s\": ", a ? ", " : "", agg[a].name);
        json_value(f, (rep_value_t){.type = agg[a].type, .d = agg[a].value});
    }
    putc('}', f);
    write_histogram(f, r->run, in);
    fputs("\n    }", f);
}

int rep_json_write(FILE *f, const rep_doc_t *doc)
{
    fputs("{\n", f);
    write_context(f, doc->ctx);
    fputs(",\n  \"benchmarks\": [", f);
    for (int i = 0; i < doc->nrows; i++) {
        fputs(i ? ",\n" : "\n", f);
        write_benchmark(f, &doc->rows[i]);
    }
    fputs(doc->nrows ? "\n  ]\n}\n" : "]\n}\n", f);
    return ferror(f) ? -1 : 0;
}
