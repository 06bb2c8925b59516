/* cli/cmd_info.c: the two commands that describe rather than measure.
 *
 *   list  everything a run can name, generated from the registries (WL_LIST
 *         with each workload's size bounds and -P table, RUN_MODE_LIST,
 *         GUARD_LIST, HEAP_LIST), so the listing cannot drift from the code
 *   topo  the machine as hwloc sees it (packages, cores, PUs, NUMA nodes,
 *         caches) and where `--pin cores` puts each worker, so that a
 *         speaker can say which cores a "2 workers" bar used
 */
#include <getopt.h>
#include <hwloc.h>

#include "cli/cli.h"
#include "report/report.h"
#include "runners/pin.h"
#include "runners/runner.h"

#define TOPO_MAX_WORKER_LINES 64

/* Commands without options: only -h/--help. Returns 1 when the help was
 * printed, 0 to go on, -1 after an error message. */
static int no_options(int argc, char **argv, const char *help)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    optind = 0;
    while ((opt = cli_getopt(argc, argv, ":h", options)) != -1) {
        if (opt != 'h')
            return -1;
        fputs(help, stdout);
        return 1;
    }
    return cli_no_operands(argc, argv);
}

static int exit_for(int rc)
{
    return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

int cmd_list(int argc, char **argv)
{
    int rc = no_options(argc, argv,
                        "Usage: gil-lab list\n\n"
                        "The workloads (default size, size bounds, -P parameters with their\n"
                        "defaults and ranges), modes, guards and allocators gil-lab run\n"
                        "accepts.\n");
    char def[32];

    if (rc != 0)
        return exit_for(rc);
    puts("Workloads (-w NAME; -n SIZE; -P NAME=N)");
    for (size_t i = 0; i < wl_count(); i++) {
        const workload_t *wl = wl_at(i);
        rep_fmt_count((double)wl->default_size, def, sizeof def);
        printf("  %-10s %s\n", wl->name, wl->description);
        printf("  %-10s size (%s): default %s (%lld), range %lld..%lld\n", "",
               wl->size_unit ? wl->size_unit : "iterations", def, (long long)wl->default_size,
               (long long)wl->min_size, (long long)wl->max_size);
        for (int p = 0; p < wl->nparams; p++) {
            const wl_param_t *pr = &wl->params[p];
            char choices[160], def_value[64];
            wl_param_choices(pr, choices, sizeof choices);
            wl_param_format(pr, pr->def, def_value, sizeof def_value);
            if (pr->choices != NULL)
                printf("  %-10s -P %s=%s  %s (default %s)\n", "", pr->name, choices, pr->help, def_value);
            else
                printf("  %-10s -P %s=N  %s (default %lld, range %lld..%lld)\n", "", pr->name, pr->help,
                       (long long)pr->def, (long long)pr->min, (long long)pr->max);
        }
    }
    puts("\nModes (-m LIST; -j sets W)");
    for (int m = 0; m < RUN_MODE_COUNT; m++)
        printf("  %-10s %s\n", run_mode_name((run_mode_t)m),
               run_mode_description((run_mode_t)m));
    puts("\nGuards (-g LIST)");
    for (int g = 0; g < GUARD_COUNT; g++) {
        const guard_info_t *info = guard_get((guard_kind_t)g);
        printf("  %-10s %s\n  %-10s %s; default allocator %s\n", info->name, info->description,
               "", info->threadsafe ? "any mode" : "single mode only",
               heap_kind_name(info->default_allocator));
    }
    puts("\nAllocators (-a LIST)");
    for (int h = 0; h < HEAP_COUNT; h++)
        printf("  %-10s %s\n", heap_kind_name((heap_kind_t)h),
               heap_kind_description((heap_kind_t)h));
    return CLI_EXIT_OK;
}

/* One package (or the whole machine): its cores and their PUs. */
static void print_cores(hwloc_topology_t topo, hwloc_const_cpuset_t set)
{
    int ncores = hwloc_get_nbobjs_inside_cpuset_by_type(topo, set, HWLOC_OBJ_CORE);

    for (int c = 0; c < ncores; c++) {
        hwloc_obj_t core =
            hwloc_get_obj_inside_cpuset_by_type(topo, set, HWLOC_OBJ_CORE, (unsigned)c);
        int npus = hwloc_get_nbobjs_inside_cpuset_by_type(topo, core->cpuset, HWLOC_OBJ_PU);
        printf("    Core L#%u:", core->logical_index);
        for (int p = 0; p < npus; p++) {
            hwloc_obj_t pu = hwloc_get_obj_inside_cpuset_by_type(topo, core->cpuset,
                                                                 HWLOC_OBJ_PU, (unsigned)p);
            printf("%s PU L#%u (cpu %u)", p ? "," : "", pu->logical_index, pu->os_index);
        }
        putchar('\n');
    }
}

/* Where --pin cores puts worker i (runners/pin.h). */
static void print_pinning(hwloc_topology_t topo)
{
    int ncores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
    int lines = ncores + 1 < TOPO_MAX_WORKER_LINES ? ncores + 1 : TOPO_MAX_WORKER_LINES;
    char cpus[256];

    if (ncores <= 0) {
        puts("\n--pin cores: hwloc reports no cores; pinning would fail");
        return;
    }
    printf("\n--pin cores: worker i runs on core L#(i mod %d), on all PUs of that core;\n"
           "W workers use workers 0..W-1:\n", ncores);
    for (int i = 0; i < lines; i++) {
        hwloc_obj_t core = pin_core_of(topo, i);
        hwloc_bitmap_list_snprintf(cpus, sizeof cpus, core->cpuset);
        printf("  worker %-3d core L#%-3u cpus %s%s\n", i, core->logical_index, cpus,
               i == ncores ? "   (from here on workers share cores)" : "");
    }
}

int cmd_topo(int argc, char **argv)
{
    int rc = no_options(argc, argv,
                        "Usage: gil-lab topo\n\n"
                        "The machine as hwloc sees it: packages, cores, PUs, NUMA nodes and\n"
                        "caches, and the cores `gil-lab run --pin cores` gives each worker.\n");
    hwloc_topology_t topo;
    rep_context_t ctx;
    char machine[320], cpus[256], bytes[32];
    int npkg, nnuma;

    if (rc != 0)
        return exit_for(rc);
    if (rep_context_collect(&ctx, 0, NULL) < 0) {
        cli_error("out of memory");
        return CLI_EXIT_FAILED;
    }
    if (hwloc_topology_init(&topo) < 0 || hwloc_topology_load(topo) < 0) {
        cli_error("hwloc cannot read this machine's topology");
        rep_context_free(&ctx);
        return CLI_EXIT_FAILED;
    }
    rep_machine_line(&ctx, machine, sizeof machine);
    printf("Machine: %s; %s\n", machine, ctx.os);
    printf("  %d package%s, %d core%s, %d PU%s, %d NUMA node%s\n", ctx.num_packages,
           ctx.num_packages == 1 ? "" : "s", ctx.num_cores, ctx.num_cores == 1 ? "" : "s",
           ctx.num_pus, ctx.num_pus == 1 ? "" : "s", ctx.numa_nodes,
           ctx.numa_nodes == 1 ? "" : "s");

    puts("\nTopology (hwloc logical indexes L#, OS cpu numbers in parentheses)");
    npkg = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
    for (int p = 0; p < npkg; p++) {
        hwloc_obj_t pkg = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, (unsigned)p);
        printf("  Package L#%u\n", pkg->logical_index);
        print_cores(topo, pkg->cpuset);
    }
    if (npkg <= 0) {
        puts("  Machine");
        print_cores(topo, hwloc_topology_get_topology_cpuset(topo));
    }

    nnuma = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
    puts("\nNUMA nodes");
    for (int n = 0; n < nnuma; n++) {
        hwloc_obj_t node = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)n);
        hwloc_bitmap_list_snprintf(cpus, sizeof cpus, node->cpuset);
        rep_fmt_bytes(node->attr ? (double)node->attr->numanode.local_memory : 0, bytes,
                      sizeof bytes);
        printf("  Node L#%u: %s, cpus %s\n", node->logical_index, bytes, cpus);
    }

    puts("\nCaches");
    for (int c = 0; c < ctx.ncaches; c++) {
        const rep_cache_t *k = &ctx.caches[c];
        rep_fmt_bytes((double)k->size, bytes, sizeof bytes);
        printf("  %-4s %-8s x %d, each shared by %d PU%s\n", k->type, bytes, k->count,
               k->num_sharing, k->num_sharing == 1 ? "" : "s");
    }

    print_pinning(topo);
    hwloc_topology_destroy(topo);
    rep_context_free(&ctx);
    return CLI_EXIT_OK;
}
