/* report/json.c: results.json, in Google Benchmark's shape so that its
 * tooling (compare.py, the JSON readers of dashboards) reads it, with
 * every gil-lab field alongside:
 *
 *   {"context": {GB: date, host_name, executable, num_cpus, mhz_per_cpu,
 *                cpu_scaling_enabled, caches[{type, level, size,
 *                num_sharing}], load_avg[3], library_build_type;
 *                gil-lab: cpu_model, num_packages, num_cores, num_pus,
 *                numa_nodes, os, compiler, cflags, build_type,
 *                gil_lab_version, git_revision, command_line, aslr,
 *                hypervisor, machine_before{}, machine_after{},
 *                interleaved, scaling, baseline, ci_level, notes[],
 *                warnings[]},
 *    "benchmarks": for each row, in order:
 *       R entries {name, family_index, per_family_instance_index,
 *                  run_name, run_type: "iteration", repetitions,
 *                  repetition_index, threads: 1, iterations: 1,
 *                  real_time, cpu_time, time_unit: "ms",
 *                  <the row's spec>, params{}, <every sample field>,
 *                  cpu_share, and when the workers share one GIL
 *                  gil_workers[{worker, share, wait_s}]: each worker's
 *                  GIL held / wall and its wait in seconds}
 *       then aggregates {... run_type: "aggregate", aggregate_name:
 *                  mean | median | stddev | cv | min | max | mad,
 *                  aggregate_unit: "time" | "percentage"}; the median's
 *                  also carries "row" (every CSV column), "medians" and,
 *                  for a workload with a client (convoy), its
 *                  latency_histogram[{from_s, to_s, count}]}
 *
 * One iteration is one whole run of the workload (Google Benchmark with
 * ->Iterations(1)->Repetitions(R)): real_time is the wall time, cpu_time
 * the CPU time of every process of the run (user + system), both in
 * milliseconds; cv is a fraction, as GB writes it. Per-repeat values are
 * written with 17 significant digits, so that reading them back
 * (load.c) gives the very numbers the run summarised. Numbers that do not
 * exist are null, never NaN; strings are escaped and kept valid UTF-8, so
 * the document always parses.
 */
#include <math.h>
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

/* A double at full precision, or null. */
static void json_exact(FILE *f, double d)
{
    if (isfinite(d))
        fprintf(f, "%.17g", d);
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

static void json_num_member(FILE *f, const char *indent, const char *key, double value)
{
    json_key(f, false, indent, key);
    json_exact(f, value);
}

static void json_state(FILE *f, const char *indent, const char *key, const rep_machine_state_t *st)
{
    json_key(f, false, indent, key);
    if (!st->valid) {
        fputs("null", f);
        return;
    }
    fputs("{\"load_avg\": [", f);
    for (int k = 0; k < 3; k++) {
        fputs(k ? ", " : "", f);
        json_exact(f, st->load[k]);
    }
    fprintf(f, "], \"running\": %d, \"mhz\": ", st->running);
    json_exact(f, st->mhz);
    fputs(", \"governor\": ", f);
    rep_json_string(f, st->governor);
    putc('}', f);
}

/* The lines of text as a JSON array of strings. */
static void json_lines(FILE *f, const char *text)
{
    char line[1024];
    bool first = true;

    putc('[', f);
    for (const char *p = text ? text : ""; *p;) {
        size_t len = strcspn(p, "\n");
        snprintf(line, sizeof line, "%.*s", (int)len, p);
        fputs(first ? "" : ", ", f);
        rep_json_string(f, line);
        first = false;
        p += len + (p[len] == '\n');
    }
    putc(']', f);
}

static void write_context(FILE *f, const rep_doc_t *doc)
{
    static const char in[] = "    ";
    const rep_context_t *ctx = doc->ctx;
    char base[96], busy[512];

    fputs("  \"context\": {", f);
    json_str_member(f, true, in, "date", ctx->date);
    json_str_member(f, false, in, "host_name", ctx->host_name);
    json_str_member(f, false, in, "executable", ctx->executable);
    json_num_member(f, in, "num_cpus", ctx->num_pus);
    json_num_member(f, in, "mhz_per_cpu", isfinite(ctx->mhz_max) ? round(ctx->mhz_max) : NAN);
    json_key(f, false, in, "cpu_scaling_enabled");
    fputs(ctx->before.governor[0] && strcmp(ctx->before.governor, "performance") != 0 ? "true"
                                                                                      : "false",
          f);
    json_key(f, false, in, "caches");
    fputs("[", f);
    for (int c = 0; c < ctx->ncaches; c++) {
        const rep_cache_t *k = &ctx->caches[c];
        const char *kind = strchr(k->type, 'd') ? "Data" : strchr(k->type, 'i') ? "Instruction"
                                                                                : "Unified";
        fprintf(f, "%s\n      {\"type\": \"%s\", \"level\": %d, \"size\": %llu, "
                   "\"num_sharing\": %d, \"name\": ",
                c ? "," : "", kind, k->level, (unsigned long long)k->size, k->num_sharing);
        rep_json_string(f, k->type);
        fprintf(f, ", \"count\": %d}", k->count);
    }
    fputs(ctx->ncaches ? "\n    ]" : "]", f);
    json_key(f, false, in, "load_avg");
    fputs("[", f);
    for (int k = 0; k < 3; k++) {
        fputs(k ? ", " : "", f);
        json_exact(f, ctx->before.load[k]);
    }
    fputs("]", f);
    json_str_member(f, false, in, "library_build_type",
                    strcmp(GL_BUILD_TYPE, "Debug") == 0 ? "debug" : "release");
    json_str_member(f, false, in, "cpu_model", ctx->cpu_model);
    json_num_member(f, in, "num_packages", ctx->num_packages);
    json_num_member(f, in, "num_cores", ctx->num_cores);
    json_num_member(f, in, "num_pus", ctx->num_pus);
    json_num_member(f, in, "numa_nodes", ctx->numa_nodes);
    json_str_member(f, false, in, "os", ctx->os);
    json_str_member(f, false, in, "compiler", GL_COMPILER);
    json_str_member(f, false, in, "cflags", GL_CFLAGS);
    json_str_member(f, false, in, "build_type", GL_BUILD_TYPE);
    json_str_member(f, false, in, "gil_lab_version", GL_VERSION);
    if (doc->implementation)
        json_str_member(f, false, in, "implementation", doc->implementation);
    json_str_member(f, false, in, "git_revision", GL_GIT_REV);
    json_str_member(f, false, in, "command_line", ctx->command_line ? ctx->command_line : "");
    json_num_member(f, in, "aslr", ctx->aslr >= 0 ? ctx->aslr : NAN);
    json_str_member(f, false, in, "hypervisor", ctx->hypervisor);
    json_state(f, in, "machine_before", &ctx->before);
    json_state(f, in, "machine_after", &ctx->after);
    json_key(f, false, in, "interleaved");
    fputs(doc->interleaved ? "true" : "false", f);
    json_str_member(f, false, in, "scaling", doc->setup.scaling == REP_WEAK ? "weak" : "strong");
    rep_baseline_format(&doc->setup.baseline, base, sizeof base);
    json_str_member(f, false, in, "baseline", base);
    json_num_member(f, in, "ci_level", REP_CI_LEVEL);
    /* What `plot --chart timeline|memtrace` needs beside trace-N.json and
     * memory.csv to draw the run's own chart again. */
    if (rep_timeline_lanes(doc) > 0) {
        json_key(f, false, in, "trace_window_ms");
        fprintf(f, "[%lld, %lld]", (long long)doc->window_from_ms, (long long)doc->window_len_ms);
    }
    if (rep_has_memtrace(doc) && doc->nrows > 0)
        json_num_member(f, in, "sample_interval_us",
                        doc->rows[0].run->spec.sample_interval_us ? (double)doc->rows[0].run->spec.sample_interval_us
                                                                  : MEMTRACE_DEFAULT_INTERVAL_US);
    json_key(f, false, in, "notes");
    json_lines(f, doc->notes);
    json_key(f, false, in, "warnings");
    json_lines(f, rep_busy_warning(doc, busy, sizeof busy) ? busy : NULL);
    fputs("\n  }", f);
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

/* The members every entry of a row shares: GB's identity, the spec. */
static void write_identity(FILE *f, const rep_row_t *r, int family, const char *name,
                           const char *run_type)
{
    static const char in[] = "      ";
    const run_spec_t *spec = &r->run->spec;

    json_str_member(f, true, in, "name", name);
    json_num_member(f, in, "family_index", family);
    json_num_member(f, in, "per_family_instance_index", 0);
    json_str_member(f, false, in, "run_name", r->name);
    json_str_member(f, false, in, "run_type", run_type);
    json_num_member(f, in, "repetitions", r->run->nsamples);
    json_num_member(f, in, "threads", 1);
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
}

/* Repeat k's gil_workers array, when the row has one. */
static void write_workers_gil(FILE *f, const run_row_t *run, int k, const char *in)
{
    int w = run->spec.workers;
    if (run->fair == NULL)
        return;
    json_key(f, false, in, "gil_workers");
    putc('[', f);
    for (int i = 0; i < w; i++) {
        const run_fair_t *x = &run->fair[(size_t)k * (size_t)w + (size_t)i];
        fprintf(f, "%s{\"worker\": %d, \"share\": ", i ? ", " : "", i);
        json_exact(f, x->share);
        fputs(", \"wait_s\": ", f);
        json_exact(f, x->wait_s);
        putc('}', f);
    }
    putc(']', f);
}

static void write_iteration(FILE *f, const rep_doc_t *doc, const rep_row_t *r, int family, int k)
{
    static const char in[] = "      ";
    const run_sample_t *s = &r->run->samples[k];

    fputs("    {", f);
    write_identity(f, r, family, r->name, "iteration");
    json_num_member(f, in, "repetition_index", k);
    json_num_member(f, in, "iterations", 1);
    json_num_member(f, in, "real_time", s->wall_s * 1e3);
    json_num_member(f, in, "cpu_time", (s->cpu_user_s + s->cpu_sys_s) * 1e3);
    json_str_member(f, false, in, "time_unit", "ms");
    for (int field = 0; field < REP_NFIELDS; field++)
        json_num_member(f, in, rep_field_name((rep_field_t)field),
                        rep_sample_value(s, (rep_field_t)field).d);
    json_num_member(f, in, "cpu_share", rep_cpu_share(&r->run->spec, s, &doc->setup));
    write_workers_gil(f, r->run, k, in);
    fputs("\n    }", f);
}

/* {"wall_s": ..., ...}: the per-field medians. */
static void write_medians(FILE *f, const double *med)
{
    putc('{', f);
    for (int k = 0; k < REP_NFIELDS; k++) {
        rep_field_t field = (rep_field_t)k;
        fputs(k ? ", " : "", f);
        rep_json_string(f, rep_field_name(field));
        fputs(": ", f);
        json_value(f, rep_field_value(field, med[k]));
    }
    putc('}', f);
}

/* {"workload": ..., every CSV column}. */
static void write_columns(FILE *f, const rep_row_t *r)
{
    putc('{', f);
    for (int c = 0; c < rep_ncolumns; c++) {
        fputs(c ? ", " : "", f);
        rep_json_string(f, rep_columns[c].name);
        fputs(": ", f);
        json_value(f, rep_columns[c].get(r));
    }
    putc('}', f);
}

static void write_aggregates(FILE *f, const rep_row_t *r, int family)
{
    static const char in[] = "      ";
    const rep_stats_t *w = &r->wall;
    const struct { const char *name; double real, cpu; bool percent; } agg[] = {
        {"mean", w->mean, NAN, false},     {"median", w->median, NAN, false},
        {"stddev", w->stddev, NAN, false}, {"cv", w->cv, w->cv, true},
        {"min", w->min, NAN, false},       {"max", w->max, NAN, false},
        {"mad", w->mad, NAN, false},
    };
    char name[256];

    for (size_t a = 0; a < sizeof agg / sizeof agg[0]; a++) {
        double cpu = r->med[REP_F_cpu_user_s] + r->med[REP_F_cpu_sys_s];
        snprintf(name, sizeof name, "%s_%s", r->name, agg[a].name);
        fputs(",\n    {", f);
        write_identity(f, r, family, name, "aggregate");
        json_str_member(f, false, in, "aggregate_name", agg[a].name);
        json_str_member(f, false, in, "aggregate_unit", agg[a].percent ? "percentage" : "time");
        json_num_member(f, in, "iterations", r->run->nsamples);
        json_num_member(f, in, "real_time", agg[a].percent ? agg[a].real : agg[a].real * 1e3);
        /* cpu_time of the median: the median repeat's CPU; others: not kept */
        json_num_member(f, in, "cpu_time",
                        agg[a].percent ? agg[a].cpu
                        : strcmp(agg[a].name, "median") == 0 ? cpu * 1e3
                                                             : NAN);
        json_str_member(f, false, in, "time_unit", "ms");
        if (strcmp(agg[a].name, "median") == 0) {
            json_key(f, false, in, "row");
            write_columns(f, r);
            json_key(f, false, in, "medians");
            write_medians(f, r->med);
            write_histogram(f, r->run, in);
        }
        fputs("\n    }", f);
    }
}

int rep_json_write(FILE *f, const rep_doc_t *doc)
{
    bool first = true;

    fputs("{\n", f);
    write_context(f, doc);
    fputs(",\n  \"benchmarks\": [", f);
    for (int i = 0; i < doc->nrows; i++) {
        const rep_row_t *r = &doc->rows[i];
        for (int k = 0; k < r->run->nsamples; k++) {
            fputs(first ? "\n" : ",\n", f);
            first = false;
            write_iteration(f, doc, r, i, k);
        }
        write_aggregates(f, r, i);
    }
    fputs(doc->nrows ? "\n  ]\n}\n" : "]\n}\n", f);
    return ferror(f) ? -1 : 0;
}

int rep_json_fill(FILE *f, const rep_doc_t *doc, const void *arg)
{
    (void)arg;
    return rep_json_write(f, doc);
}
