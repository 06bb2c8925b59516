/* runners/pin.c: binding workers to cores with hwloc, by the rule of
 * runners/pin.h. hwloc's logical order follows the topology (packages,
 * caches) rather than the OS numbering. */
#include <errno.h>
#include <hwloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runners/internal.h"
#include "runners/pin.h"

/* Binding needs no undoing: every repeat runs in a process of its own
 * (runners/runner.c), so a pinned `single` worker never outlives its
 * repeat. */
struct pin {
    hwloc_topology_t topo;
    int ncores;
};

pin_t *pin_open(char *err, size_t errlen)
{
    pin_t *pin = calloc(1, sizeof(*pin));
    if (pin == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (hwloc_topology_init(&pin->topo) < 0 || hwloc_topology_load(pin->topo) < 0) {
        snprintf(err, errlen, "hwloc cannot load the topology: %s", strerror(errno));
        free(pin);
        return NULL;
    }
    pin->ncores = hwloc_get_nbobjs_by_type(pin->topo, HWLOC_OBJ_CORE);
    if (pin->ncores <= 0) {
        snprintf(err, errlen, "hwloc reports no cores");
        pin_close(pin);
        return NULL;
    }
    return pin;
}

hwloc_obj_t pin_core_of(hwloc_topology_t topo, int worker)
{
    int ncores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
    if (ncores <= 0)
        return NULL;
    return hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, (unsigned)(worker % ncores));
}

void pin_close(pin_t *pin)
{
    if (pin == NULL)
        return;
    hwloc_topology_destroy(pin->topo);
    free(pin);
}

int pin_worker(pin_t *pin, int i, int process, char *err, size_t errlen)
{
    hwloc_obj_t core = pin_core_of(pin->topo, i);
    if (core == NULL || core->cpuset == NULL) {
        snprintf(err, errlen, "hwloc has no core %d", i % pin->ncores);
        return -1;
    }
    int flags = process ? HWLOC_CPUBIND_PROCESS : HWLOC_CPUBIND_THREAD;
    if (hwloc_set_cpubind(pin->topo, core->cpuset, flags) < 0) {
        snprintf(err, errlen, "cannot pin worker %d to core %d: %s", i, i % pin->ncores, strerror(errno));
        return -1;
    }
    return 0;
}
