/* runners/pin.h: the one rule for where --pin cores puts a worker, shared
 * by the runners (which bind) and `gil-lab topo` (which shows the mapping):
 * worker i goes to core (i mod number of cores) in hwloc's logical order,
 * bound to all PUs of that core, so that on an SMT machine two workers never
 * share a core before every core has one. */
#ifndef GL_PIN_H
#define GL_PIN_H

#include <hwloc.h>

/* The core worker `worker` is pinned to; NULL when hwloc reports no core. */
hwloc_obj_t pin_core_of(hwloc_topology_t topo, int worker);

#endif
