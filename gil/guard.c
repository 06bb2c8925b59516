/* gil/guard.c: the guard registry, generated from GUARD_LIST. */
#include "gil/guard.h"

#include <string.h>

#define X(name, spelling, ts, gil, alloc, layout, desc) extern const guard_ops_t guard_ops_##name, guard_ops_##name##_mortal;
GUARD_LIST(X)
#undef X

static const guard_info_t guards[] = {
#define X(name, spelling, ts, gil, alloc, layout, desc)                                          \
    {spelling, desc, ts, gil, alloc, layout, {&guard_ops_##name##_mortal, &guard_ops_##name}},
    GUARD_LIST(X)
#undef X
};

_Static_assert(sizeof(guards) / sizeof(guards[0]) == GUARD_COUNT, "one entry per guard");

const guard_info_t *guard_get(guard_kind_t kind)
{
    return (unsigned)kind < GUARD_COUNT ? &guards[kind] : NULL;
}

const char *guard_name(guard_kind_t kind)
{
    return (unsigned)kind < GUARD_COUNT ? guards[kind].name : "?";
}

int guard_find(const char *name)
{
    for (int i = 0; i < GUARD_COUNT; i++)
        if (strcmp(guards[i].name, name) == 0)
            return i;
    return -1;
}
