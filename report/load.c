/* report/load.c: a results.json read back into the structures the run had,
 * so that `plot`, `report`, `compare` and `run --resume` work from what a
 * run saved instead of running again.
 *
 * The document is parsed with jansson (the JSON grammar is not the lab's
 * subject). From Google Benchmark's shape (json.c) only the iteration
 * entries are read: they carry the row's spec and every per-repeat field
 * at full precision; the aggregates are recomputed by rep_summarize from
 * those repeats, which is what makes a redrawn chart's data identical to
 * the run's. Entries of one row share their run_name and are consecutive.
 *
 * What is refused, with one line naming the file and the problem: a file
 * that cannot be read or is not JSON (jansson's line and column), a
 * document without "context" and "benchmarks", a row naming a workload,
 * mode, guard or allocator this build does not know, an entry missing a
 * field, a row without repeats.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gil/gil.h"
#include "report/report.h"

/* The number at key, NaN when absent or null. */
static double num_at(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *str_at(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void copy_str(char *dst, size_t len, const json_t *obj, const char *key)
{
    const char *s = str_at(obj, key);
    snprintf(dst, len, "%s", s ? s : "");
}

static void read_state(const json_t *obj, rep_machine_state_t *st)
{
    const json_t *load;

    memset(st, 0, sizeof *st);
    st->load[0] = st->load[1] = st->load[2] = st->mhz = NAN;
    st->running = -1;
    if (!json_is_object(obj))
        return;
    st->valid = true;
    load = json_object_get(obj, "load_avg");
    for (size_t k = 0; k < 3 && k < json_array_size(load); k++)
        if (json_is_number(json_array_get(load, k)))
            st->load[k] = json_number_value(json_array_get(load, k));
    if (isfinite(num_at(obj, "running")))
        st->running = (int)num_at(obj, "running");
    st->mhz = num_at(obj, "mhz");
    copy_str(st->governor, sizeof st->governor, obj, "governor");
}

/* The context block; the doc-level settings into out. */
static int read_context(const json_t *c, rep_results_t *out, char *err, size_t errlen)
{
    rep_context_t *ctx = &out->ctx;
    const json_t *caches = json_object_get(c, "caches"), *notes = json_object_get(c, "notes"), *window;
    const char *base = str_at(c, "baseline"), *line = str_at(c, "command_line");
    size_t used = 0, cap = 0;

    copy_str(ctx->date, sizeof ctx->date, c, "date");
    copy_str(ctx->host_name, sizeof ctx->host_name, c, "host_name");
    copy_str(ctx->executable, sizeof ctx->executable, c, "executable");
    copy_str(ctx->cpu_model, sizeof ctx->cpu_model, c, "cpu_model");
    copy_str(ctx->os, sizeof ctx->os, c, "os");
    copy_str(ctx->hypervisor, sizeof ctx->hypervisor, c, "hypervisor");
    ctx->num_packages = (int)fmax(0, num_at(c, "num_packages"));
    ctx->num_cores = (int)fmax(0, num_at(c, "num_cores"));
    ctx->num_pus = (int)fmax(0, num_at(c, "num_pus"));
    ctx->numa_nodes = (int)fmax(0, num_at(c, "numa_nodes"));
    ctx->aslr = isfinite(num_at(c, "aslr")) ? (int)num_at(c, "aslr") : -1;
    ctx->mhz_max = num_at(c, "mhz_per_cpu");
    for (size_t k = 0; k < json_array_size(caches) && ctx->ncaches < REP_MAX_CACHES; k++) {
        const json_t *e = json_array_get(caches, k);
        rep_cache_t *rc = &ctx->caches[ctx->ncaches++];
        copy_str(rc->type, sizeof rc->type, e, "name");
        rc->level = (int)fmax(0, num_at(e, "level"));
        rc->size = (uint64_t)fmax(0, num_at(e, "size"));
        rc->num_sharing = (int)fmax(0, num_at(e, "num_sharing"));
        rc->count = (int)fmax(0, num_at(e, "count"));
    }
    window = json_object_get(c, "trace_window_ms");
    if (json_array_size(window) == 2) {
        out->window_from_ms = (int64_t)fmax(0, json_number_value(json_array_get(window, 0)));
        out->window_len_ms = (int64_t)fmax(0, json_number_value(json_array_get(window, 1)));
    }
    read_state(json_object_get(c, "machine_before"), &ctx->before);
    read_state(json_object_get(c, "machine_after"), &ctx->after);
    ctx->command_line = strdup(line ? line : "");
    out->interleaved = json_is_true(json_object_get(c, "interleaved"));
    out->setup = rep_setup_default();
    out->setup.cpus = ctx->num_pus;
    out->setup.scaling = str_at(c, "scaling") && strcmp(str_at(c, "scaling"), "weak") == 0
                             ? REP_WEAK
                             : REP_STRONG;
    if (base && base[0] && rep_baseline_parse(base, &out->setup.baseline, err, errlen) < 0)
        return -1;
    snprintf(out->impl, sizeof out->impl, "gil-lab %s",
             str_at(c, "gil_lab_version") ? str_at(c, "gil_lab_version") : "?");
    if (str_at(c, "implementation"))
        copy_str(out->impl, sizeof out->impl, c, "implementation");
    for (size_t k = 0; k < json_array_size(notes); k++) {
        const char *s = json_string_value(json_array_get(notes, k));
        size_t n = s ? strlen(s) : 0;
        char *more;
        if (!s)
            continue;
        more = realloc(out->notes, (cap = used + n + 2));
        if (!more)
            return -1;
        out->notes = more;
        snprintf(out->notes + used, cap - used, "%s%s", used ? "\n" : "", s);
        used += n + (used ? 1 : 0);
    }
    if (!ctx->command_line) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* The collector's settings of an entry: "gc" off, and thresholds other
 * than the modelled build's own (which is what a run given none records). */
static void read_gc(const json_t *e, run_spec_t *spec)
{
    const char *gc = str_at(e, "gc"), *thresholds = str_at(e, "gc_thresholds");
    int64_t t[GC_GENERATIONS], own[GC_GENERATIONS];
    long long a, b, c;

    memset(&spec->gc, 0, sizeof spec->gc);
    spec->gc.disabled = gc && strcmp(gc, "off") == 0;
    spec->gc.freeze = json_is_true(json_object_get(e, "gc_freeze"));
    if (!thresholds || sscanf(thresholds, "%lld,%lld,%lld", &a, &b, &c) != 3)
        return;
    t[0] = a, t[1] = b, t[2] = c;
    gc_thresholds_of(&spec->gc, guard_get(spec->guard)->layout, own);
    if (memcmp(t, own, sizeof t) != 0) {
        memcpy(spec->gc.thresholds, t, sizeof t);
        spec->gc.thresholds_set = true;
    }
}

/* An entry's spec. Returns 0, or -1 with err naming what is wrong. */
static int read_spec(const json_t *e, run_spec_t *spec, char *err, size_t errlen)
{
    const char *wl = str_at(e, "workload"), *mode = str_at(e, "mode"), *guard = str_at(e, "guard"),
               *alloc = str_at(e, "allocator"), *pin = str_at(e, "pin");
    const json_t *params = json_object_get(e, "params");
    int k;

    memset(spec, 0, sizeof *spec);
    if (!wl || !mode || !guard || !alloc) {
        snprintf(err, errlen, "an entry lacks its workload, mode, guard or allocator");
        return -1;
    }
    if (!(spec->workload = wl_find(wl))) {
        snprintf(err, errlen, "unknown workload '%s' (this gil-lab has others)", wl);
        return -1;
    }
    if ((k = run_mode_find(mode)) < 0) {
        snprintf(err, errlen, "unknown mode '%s'", mode);
        return -1;
    }
    spec->mode = (run_mode_t)k;
    if ((k = guard_find(guard)) < 0) {
        snprintf(err, errlen, "unknown guard '%s'", guard);
        return -1;
    }
    spec->guard = (guard_kind_t)k;
    if ((k = heap_kind_find(alloc)) < 0) {
        snprintf(err, errlen, "unknown allocator '%s'", alloc);
        return -1;
    }
    spec->allocator = (heap_kind_t)k;
    spec->workers = (int)num_at(e, "workers");
    spec->size = (int64_t)num_at(e, "size");
    spec->switch_interval_us = (uint64_t)num_at(e, "switch_interval_us");
    spec->warmup = (int)num_at(e, "warmup");
    spec->repeats = (int)num_at(e, "repetitions");
    spec->immortal = !json_is_false(json_object_get(e, "immortal"));
    spec->pin = pin && strcmp(pin, "cores") == 0 ? RUN_PIN_CORES : RUN_PIN_NONE;
    read_gc(e, spec);
    double ticks = num_at(e, "check_interval");
    if (spec->guard == GUARD_gil_old && isfinite(ticks) && ticks >= 1 && ticks <= INT_MAX &&
        (int)ticks != GIL_OLD_DEFAULT_CHECK_INTERVAL)
        spec->check_interval = (int)ticks;
    for (int p = 0; p < spec->workload->nparams; p++) {
        const wl_param_t *pr = &spec->workload->params[p];
        const json_t *v = json_object_get(params, pr->name);
        int choice = json_is_string(v) ? wl_param_choice(pr, json_string_value(v)) : -1;
        spec->params[p] = choice >= 0 ? choice : json_is_integer(v) ? json_integer_value(v) : pr->def;
    }
    if (spec->workers < 1 || spec->size < 1 || spec->repeats < 1) {
        snprintf(err, errlen, "an entry of %s has no valid workers, size or repetitions", wl);
        return -1;
    }
    return 0;
}

void rep_sample_read(const struct json_t *obj, run_sample_t *s)
{
#define X(name, unit) s->name = num_at(obj, #name);
    RUN_SAMPLE_FIELDS(X)
#undef X
}

/* Repeat k's gil_workers (json.c) into row->fair, allocated at the row's
 * first repeat that has them; a row with them in some repeats and not in
 * others, or with another count than its workers, is refused. */
static int read_workers_gil(const json_t *e, run_row_t *row, const char *name, char *err, size_t errlen)
{
    const json_t *a = json_object_get(e, "gil_workers");
    int w = row->spec.workers;
    if (row->nsamples == 0 && json_is_array(a) &&
        (row->fair = calloc((size_t)row->spec.repeats * (size_t)w, sizeof *row->fair)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (row->fair == NULL && a == NULL)
        return 0;
    if (row->fair == NULL || !json_is_array(a) || json_array_size(a) != (size_t)w) {
        snprintf(err, errlen, "a repeat of %s has %zu gil_workers for %d workers", name, json_array_size(a), w);
        return -1;
    }
    for (int i = 0; i < w; i++) {
        const json_t *x = json_array_get(a, (size_t)i);
        row->fair[(size_t)row->nsamples * (size_t)w + (size_t)i] =
            (run_fair_t){num_at(x, "share"), num_at(x, "wait_s")};
    }
    return 0;
}

/* The iteration entries into out->runs. */
static int read_rows(const json_t *benchmarks, rep_results_t *out, char *err, size_t errlen)
{
    size_t n = json_array_size(benchmarks);
    const char *current = NULL;
    run_row_t *row = NULL;

    out->runs = calloc(n ? n : 1, sizeof *out->runs);
    if (!out->runs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t k = 0; k < n; k++) {
        const json_t *e = json_array_get(benchmarks, k);
        const char *type = str_at(e, "run_type"), *name = str_at(e, "run_name");
        if (!json_is_object(e) || !name) {
            snprintf(err, errlen, "benchmark %zu has no run_name", k);
            return -1;
        }
        if (!type || strcmp(type, "iteration") != 0)
            continue;
        if (!current || strcmp(current, name) != 0) {
            row = &out->runs[out->nruns++];
            if (read_spec(e, &row->spec, err, errlen) < 0)
                return -1;
            row->samples = calloc((size_t)row->spec.repeats, sizeof *row->samples);
            if (!row->samples) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            current = name;
        }
        if (row->nsamples == row->spec.repeats) {
            snprintf(err, errlen, "%s has more repeats than its repetitions", name);
            return -1;
        }
        rep_sample_read(e, &row->samples[row->nsamples]);
        if (!(row->samples[row->nsamples].wall_s >= 0)) {
            snprintf(err, errlen, "a repeat of %s has no wall_s", name);
            return -1;
        }
        if (read_workers_gil(e, row, name, err, errlen) < 0)
            return -1;
        row->nsamples++;
    }
    for (int i = 0; i < out->nruns; i++) {
        if (out->runs[i].nsamples != out->runs[i].spec.repeats) {
            snprintf(err, errlen, "a row has %d of its %d repeats", out->runs[i].nsamples,
                     out->runs[i].spec.repeats);
            return -1;
        }
    }
    if (out->nruns == 0) {
        snprintf(err, errlen, "no rows");
        return -1;
    }
    return 0;
}

int rep_results_load(const char *path, rep_results_t *out, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *doc = NULL;
    struct stat st;
    char why[512];

    memset(out, 0, sizeof *out);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(out->path, sizeof out->path, "%s/results.json", path);
    else
        snprintf(out->path, sizeof out->path, "%s", path);
    doc = json_load_file(out->path, 0, &jerr);
    if (!doc) {
        if (access(out->path, R_OK) != 0)
            snprintf(err, errlen, "cannot read %s: %s", out->path, strerror(errno));
        else
            snprintf(err, errlen, "%s is not JSON: %s (line %d, column %d)", out->path, jerr.text,
                     jerr.line, jerr.column);
        return -1;
    }
    if (!json_is_object(json_object_get(doc, "context")) ||
        !json_is_array(json_object_get(doc, "benchmarks"))) {
        snprintf(err, errlen, "%s is not a gil-lab results file (no context and benchmarks)",
                 out->path);
        goto fail;
    }
    if (read_context(json_object_get(doc, "context"), out, why, sizeof why) < 0 ||
        read_rows(json_object_get(doc, "benchmarks"), out, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s: %s", out->path, why);
        goto fail;
    }
    double interval = num_at(json_object_get(doc, "context"), "sample_interval_us");
    for (int i = 0; isfinite(interval) && i < out->nruns; i++)
        out->runs[i].spec.sample_interval_us = (uint64_t)fmax(0, interval);
    if (rep_results_load_records(out, err, errlen) < 0)
        goto fail;
    json_decref(doc);
    return 0;
fail:
    json_decref(doc);
    rep_results_free(out);
    return -1;
}

int rep_results_doc(rep_results_t *r)
{
    free(r->rows);
    r->rows = calloc((size_t)r->nruns, sizeof *r->rows);
    if (!r->rows || rep_summarize(r->runs, r->nruns, &r->setup, r->rows) < 0)
        return -1;
    r->doc = (rep_doc_t){.ctx = &r->ctx, .rows = r->rows, .nrows = r->nruns,
                         .interleaved = r->interleaved, .setup = r->setup, .notes = r->notes,
                         .implementation = strncmp(r->impl, "gil-lab", 7) ? r->impl : NULL,
                         .window_from_ms = r->window_from_ms, .window_len_ms = r->window_len_ms};
    return 0;
}

void rep_results_free(rep_results_t *r)
{
    if (!r)
        return;
    free(r->rows);
    r->rows = NULL;
    for (int i = 0; r->runs && i < r->nruns; i++)
        run_row_free(&r->runs[i]);
    free(r->runs);
    free(r->notes);
    rep_context_free(&r->ctx);
    r->runs = NULL;
    r->notes = NULL;
    r->nruns = 0;
}
