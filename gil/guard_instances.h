/* gil/guard_instances.h: compile the interpreter loop (lab/eval_impl.h)
 * twice for the guard GUARD_NAME whose primitives are already defined:
 *
 *   guard_ops_<name>          immortal objects (PEP 683), the default
 *   guard_ops_<name>_mortal   --no-immortal: counting as before 3.12
 *
 * Included once, last, by each gil/guard_<name>.c. */
#ifndef GUARD_NAME
#error "define GUARD_NAME and the g_* primitives before including gil/guard_instances.h"
#endif

#define G_MORTAL_SUFFIX2(n) n##_mortal
#define G_MORTAL_SUFFIX(n) G_MORTAL_SUFFIX2(n)

#define G_IMMORTAL 1
#define G_SUFFIX GUARD_NAME
#include "lab/eval_impl.h"
#undef G_SUFFIX
#undef G_IMMORTAL

#define G_IMMORTAL 0
#define G_SUFFIX G_MORTAL_SUFFIX(GUARD_NAME)
#include "lab/eval_impl.h"
#undef G_SUFFIX
#undef G_IMMORTAL
