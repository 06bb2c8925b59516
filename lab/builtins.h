/* lab/builtins.h: the few built-in functions a workload can call (CALL on a
 * built-in object, reached as a global): the gc module's controls, as a
 * Python program calls them.
 *
 *   gc.collect([generation])   collect; returns how many objects it freed
 *   gc.disable(), gc.enable()  stop and restart automatic collection
 *   gc.freeze(), gc.unfreeze() move every tracked object to the permanent
 *                              generation and back (Instagram's pre-fork
 *                              trick; CPython 3.7+)
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
    X(gc_unfreeze, "gc.unfreeze")

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
