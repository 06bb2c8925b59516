/* lab/builtins.h: the few built-in functions a workload can call (CALL on a
 * built-in object, reached as a global): the gc module's controls, as a
 * Python program calls them, and the two functions seed 002 looks at
 * objects with.
 *
 *   gc.collect([generation])   collect; returns how many objects it freed
 *   gc.disable(), gc.enable()  stop and restart automatic collection
 *   gc.freeze(), gc.unfreeze() move every tracked object to the permanent
 *                              generation and back (Instagram's pre-fork
 *                              trick; CPython 3.7+)
 *   gc.isenabled()             True or False
 *   gc.get_count()             the three counts
 *   gc.get_threshold()         the three thresholds
 *   gc.set_threshold(t0[, t1[, t2]])  set the ones given
 *   gc.get_stats()             per generation: collections, collected,
 *                              uncollectable
 *
 * The lab has no tuple and no dict: gc.get_count() and gc.get_threshold()
 * return a list of three ints where CPython returns a tuple, and
 * gc.get_stats() a list of three [collections, collected, uncollectable]
 * lists where CPython has three dicts with those keys, in that order.
 *   id(o)                      o's address, where its header starts (as
 *                              CPython's PyObject * points there)
 *   sys.getrefcount(o)         o's refcount, its argument's reference
 *                              included; 4294967295 for an immortal object
 *
 * Each is a statically allocated, immortal builtin_obj_t of the
 * interpreter (interp_builtin); adding one is a line in BUILTIN_LIST and
 * its function in lab/builtins.c.
 */
#ifndef GL_BUILTINS_H
#define GL_BUILTINS_H

#include "lab/object.h"

/* X(id, Python name) */
#define BUILTIN_LIST(X)                                                        \
    X(gc_collect, "gc.collect")                                                \
    X(gc_disable, "gc.disable")                                                \
    X(gc_enable, "gc.enable")                                                  \
    X(gc_freeze, "gc.freeze")                                                  \
    X(gc_unfreeze, "gc.unfreeze")                                              \
    X(gc_isenabled, "gc.isenabled")                                            \
    X(gc_get_count, "gc.get_count")                                            \
    X(gc_get_threshold, "gc.get_threshold")                                    \
    X(gc_set_threshold, "gc.set_threshold")                                    \
    X(gc_get_stats, "gc.get_stats")                                            \
    X(id, "id")                                                                \
    X(sys_getrefcount, "sys.getrefcount")

typedef enum builtin_id {
#define X(id, pyname) BUILTIN_##id,
    BUILTIN_LIST(X)
#undef X
    BUILTIN_COUNT
} builtin_id_t;

/* The Python name of a built-in ("gc.collect"). Cannot fail. */
const char *builtin_name(builtin_id_t id);
/* Its C function. Cannot fail. */
builtin_fn builtin_function(builtin_id_t id);

#endif
