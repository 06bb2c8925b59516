/* gil/trace.c: names of the trace events (gil/trace.h). */
#include "gil/trace.h"

static const char *const trace_kind_names[] = {
#define X(name) #name,
    TRACE_EVENT_LIST(X)
#undef X
};

const char *trace_kind_name(trace_kind_t kind)
{
    return (unsigned)kind < TRACE_KIND_COUNT ? trace_kind_names[kind] : "?";
}
