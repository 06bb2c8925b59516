/* report/context.c: the facts about the machine that travel with every
 * result, so that a number on a slide can be traced to the hardware that
 * produced it (Google Benchmark's "context" block).
 *
 *   topology  hwloc: packages, cores, PUs, NUMA nodes, and one entry per
 *             cache kind (size of one instance, PUs sharing it, instances)
 *   CPU model /proc/cpuinfo ("model name" on x86, "Model name"/"cpu model"
 *             elsewhere), else hwloc's CPUModel info, else "unknown CPU"
 *   system    uname(2), gethostname(2), /proc/self/exe
 *   date      local time, ISO 8601 with a +hh:mm offset
 *   command   argv, shell-quoted so that it can be pasted back
 *   state     load average and runnable tasks (/proc/loadavg, /proc/stat),
 *             CPU frequency (cpufreq, else /proc/cpuinfo "cpu MHz") and
 *             governor, read before the run and after it; ASLR
 *             (randomize_va_space) and whether the machine is a VM (the
 *             cpuinfo "hypervisor" flag, DMI vendor), as pyperf checks
 *
 * Nothing here is fatal: a fact that cannot be read stays "unknown" or 0.
 */
#include <ctype.h>
#include <hwloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "report/report.h"

/* Copy src into dst trimmed, runs of blanks collapsed to one space. */
static void copy_squeezed(char *dst, size_t len, const char *src)
{
    size_t n = 0;

    while (isspace((unsigned char)*src))
        src++;
    for (; *src && n + 1 < len; src++) {
        if (isspace((unsigned char)*src)) {
            if (n && dst[n - 1] == ' ')
                continue;
            dst[n++] = ' ';
        } else {
            dst[n++] = *src;
        }
    }
    while (n && dst[n - 1] == ' ')
        n--;
    dst[n] = '\0';
}

static void read_cpu_model(char *buf, size_t len)
{
    static const char *const keys[] = {"model name", "Model name", "cpu model", "Hardware"};
    char line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");

    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            if (strncmp(line, keys[k], strlen(keys[k])) == 0) {
                copy_squeezed(buf, len, colon + 1);
                if (buf[0])
                    goto done;
            }
        }
    }
done:
    fclose(f);
}

static void add_cache(rep_context_t *ctx, hwloc_topology_t topo, hwloc_obj_type_t type)
{
    int n = hwloc_get_nbobjs_by_type(topo, type);
    hwloc_obj_t obj = hwloc_get_obj_by_type(topo, type, 0);
    rep_cache_t *c;

    if (n <= 0 || !obj || !obj->attr || ctx->ncaches == REP_MAX_CACHES)
        return;
    c = &ctx->caches[ctx->ncaches++];
    c->level = (int)obj->attr->cache.depth;
    c->size = obj->attr->cache.size;
    c->num_sharing = obj->cpuset ? hwloc_bitmap_weight(obj->cpuset) : 0;
    c->count = n;
    snprintf(c->type, sizeof c->type, "L%d%s", c->level % 10,
             obj->attr->cache.type == HWLOC_OBJ_CACHE_DATA          ? "d"
             : obj->attr->cache.type == HWLOC_OBJ_CACHE_INSTRUCTION ? "i"
                                                                    : "");
}

static void read_topology(rep_context_t *ctx)
{
    static const hwloc_obj_type_t caches[] = {
        HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L1ICACHE, HWLOC_OBJ_L2CACHE, HWLOC_OBJ_L2ICACHE,
        HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L3ICACHE, HWLOC_OBJ_L4CACHE, HWLOC_OBJ_L5CACHE,
    };
    hwloc_topology_t topo;
    hwloc_obj_t pkg;

    if (hwloc_topology_init(&topo) < 0)
        return;
    hwloc_topology_set_icache_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_ALL);
    if (hwloc_topology_load(topo) < 0)
        goto done;
    ctx->num_packages = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
    ctx->num_cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
    ctx->num_pus = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
    ctx->numa_nodes = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
    for (size_t k = 0; k < sizeof caches / sizeof caches[0]; k++)
        add_cache(ctx, topo, caches[k]);
    pkg = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, 0);
    if (!ctx->cpu_model[0] && pkg) {
        const char *model = hwloc_obj_get_info_by_name(pkg, "CPUModel");
        if (model)
            copy_squeezed(ctx->cpu_model, sizeof ctx->cpu_model, model);
    }
done:
    hwloc_topology_destroy(topo);
}

static void read_date(char *buf, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    size_t n;

    if (!localtime_r(&now, &tm) || len < 32)
        return;
    n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S%z", &tm);
    if (n < 5)
        return;
    /* +hhmm -> +hh:mm, the form ISO 8601 tools read most widely */
    memmove(buf + n - 1, buf + n - 2, 3);
    buf[n - 2] = ':';
}

/* argv as one line a shell reads back: arguments with anything but safe
 * characters are single-quoted. NULL on out-of-memory. */
static char *quote_command(int argc, char **argv)
{
    char *out = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&out, &len);

    if (!m)
        return NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (i)
            putc(' ', m);
        if (a[0] && !a[strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                 "0123456789_./:=,+-@%")]) {
            fputs(a, m);
            continue;
        }
        putc('\'', m);
        for (; *a; a++) {
            if (*a == '\'')
                fputs("'\\''", m);
            else
                putc(*a, m);
        }
        putc('\'', m);
    }
    if (fclose(m) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* The first line of a small /proc or /sys file into buf; false when it
 * cannot be read. */
static bool read_line(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    bool ok = f && fgets(buf, (int)len, f);

    if (f)
        fclose(f);
    if (ok)
        buf[strcspn(buf, "\n")] = '\0';
    return ok;
}

/* Mean of the "cpu MHz" lines of /proc/cpuinfo and their maximum; NaN
 * when there are none. */
static void cpuinfo_mhz(double *mean, double *max)
{
    char line[256];
    double sum = 0.0, top = NAN, v;
    int n = 0;
    FILE *f = fopen("/proc/cpuinfo", "r");

    *mean = *max = NAN;
    if (!f)
        return;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "cpu MHz", 7) == 0 && sscanf(strchr(line, ':') ? strchr(line, ':') + 1 : "", "%lf", &v) == 1) {
            sum += v, n++;
            top = isnan(top) || v > top ? v : top;
        }
    fclose(f);
    if (n) {
        *mean = sum / n;
        *max = top;
    }
}

void rep_machine_state_read(rep_machine_state_t *st)
{
    char line[256];
    double khz, max;
    FILE *f;

    memset(st, 0, sizeof *st);
    st->valid = true;
    st->load[0] = st->load[1] = st->load[2] = NAN;
    st->running = -1;
    if (read_line("/proc/loadavg", line, sizeof line))
        sscanf(line, "%lf %lf %lf", &st->load[0], &st->load[1], &st->load[2]);
    if ((f = fopen("/proc/stat", "r"))) {
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "procs_running %d", &st->running) == 1)
                break;
        fclose(f);
    }
    if (read_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", line, sizeof line) &&
        sscanf(line, "%lf", &khz) == 1)
        st->mhz = khz / 1000.0;
    else
        cpuinfo_mhz(&st->mhz, &max);
    if (!read_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", st->governor,
                   sizeof st->governor))
        st->governor[0] = '\0';
}

/* ASLR, the hypervisor and the top frequency: facts that do not change
 * during a run. */
static void read_static_state(rep_context_t *ctx)
{
    char line[256];
    double khz, mean;
    FILE *f;

    ctx->aslr = -1;
    if (read_line("/proc/sys/kernel/randomize_va_space", line, sizeof line))
        sscanf(line, "%d", &ctx->aslr);
    if (read_line("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq", line, sizeof line) &&
        sscanf(line, "%lf", &khz) == 1)
        ctx->mhz_max = khz / 1000.0;
    else
        cpuinfo_mhz(&mean, &ctx->mhz_max);
    ctx->hypervisor[0] = '\0';
    if (read_line("/sys/class/dmi/id/sys_vendor", line, sizeof line) &&
        (strstr(line, "QEMU") || strstr(line, "VMware") || strstr(line, "Xen") ||
         strstr(line, "Microsoft") || strstr(line, "innotek") || strstr(line, "Amazon EC2") ||
         strstr(line, "Google"))) {
        copy_squeezed(ctx->hypervisor, sizeof ctx->hypervisor, line);
        return;
    }
    if ((f = fopen("/proc/cpuinfo", "r"))) {
        char *flags = NULL;   /* the flags line is longer than any buffer */
        size_t cap = 0;
        while (getline(&flags, &cap, f) > 0)
            if (strncmp(flags, "flags", 5) == 0 && strstr(flags, " hypervisor")) {
                snprintf(ctx->hypervisor, sizeof ctx->hypervisor, "hypervisor flag set");
                break;
            }
        free(flags);
        fclose(f);
    }
}

int rep_context_collect(rep_context_t *ctx, int argc, char **argv)
{
    struct utsname u;
    ssize_t n;

    memset(ctx, 0, sizeof *ctx);
    snprintf(ctx->host_name, sizeof ctx->host_name, "unknown");
    snprintf(ctx->executable, sizeof ctx->executable, "unknown");
    snprintf(ctx->os, sizeof ctx->os, "unknown");
    read_date(ctx->date, sizeof ctx->date);
    if (gethostname(ctx->host_name, sizeof ctx->host_name - 1) < 0)
        snprintf(ctx->host_name, sizeof ctx->host_name, "unknown");
    n = readlink("/proc/self/exe", ctx->executable, sizeof ctx->executable - 1);
    if (n > 0)
        ctx->executable[n] = '\0';
    if (uname(&u) == 0)
        snprintf(ctx->os, sizeof ctx->os, "%s %s %s", u.sysname, u.release, u.machine);
    read_cpu_model(ctx->cpu_model, sizeof ctx->cpu_model);
    read_topology(ctx);
    if (!ctx->cpu_model[0])
        snprintf(ctx->cpu_model, sizeof ctx->cpu_model, "unknown CPU");
    read_static_state(ctx);
    rep_machine_state_read(&ctx->before);
    ctx->command_line = quote_command(argc, argv);
    return ctx->command_line ? 0 : -1;
}

void rep_context_free(rep_context_t *ctx)
{
    if (!ctx)
        return;
    free(ctx->command_line);
    ctx->command_line = NULL;
}

void rep_machine_line(const rep_context_t *ctx, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s", ctx->cpu_model);

    if (n >= 0 && (size_t)n < len && ctx->num_packages > 1)
        n += snprintf(buf + n, len - (size_t)n, ", %d packages", ctx->num_packages);
    if (n >= 0 && (size_t)n < len && ctx->num_cores > 0)
        n += snprintf(buf + n, len - (size_t)n, ", %d core%s", ctx->num_cores,
                      ctx->num_cores == 1 ? "" : "s");
    if (n >= 0 && (size_t)n < len && ctx->num_pus > 0)
        snprintf(buf + n, len - (size_t)n, ", %d PU%s", ctx->num_pus,
                 ctx->num_pus == 1 ? "" : "s");
}
