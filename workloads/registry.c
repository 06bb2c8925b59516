/* workloads/registry.c: the table of workloads, generated from WL_LIST. */
#include <stdio.h>
#include <string.h>

#include "workloads/workload.h"

static const workload_t *const workloads[] = {
#define X(name) &wl_##name,
    WL_LIST(X)
#undef X
};

size_t wl_count(void)
{
    return sizeof(workloads) / sizeof(workloads[0]);
}

const workload_t *wl_at(size_t i)
{
    return i < wl_count() ? workloads[i] : NULL;
}

const workload_t *wl_find(const char *name)
{
    for (size_t i = 0; i < wl_count(); i++)
        if (strcmp(workloads[i]->name, name) == 0)
            return workloads[i];
    return NULL;
}

int64_t wl_unit_of(const workload_t *wl, const int64_t *params)
{
    return wl->unit != NULL ? wl->unit(params) : 1;
}

int64_t wl_pieces(const workload_t *wl, const int64_t *params, int64_t size)
{
    int64_t unit = wl_unit_of(wl, params);
    return size / unit + (size % unit != 0);
}

int64_t wl_share(const workload_t *wl, const int64_t *params, int64_t size, int workers, int i)
{
    int64_t pieces = wl_pieces(wl, params, size);
    int64_t mine = pieces / workers + (i < pieces % workers ? 1 : 0);
    return mine * wl_unit_of(wl, params);
}

int wl_param_find(const workload_t *wl, const char *name)
{
    for (int i = 0; i < wl->nparams; i++)
        if (strcmp(wl->params[i].name, name) == 0)
            return i;
    return -1;
}

int wl_workers(const workload_t *wl, int64_t *params, int requested, int single)
{
    if (wl->build_background == NULL)
        return single ? 1 : requested;
    if (single)
        params[wl->background_param] = 0;
    return 1 + (int)params[wl->background_param];
}

int wl_param_choice(const wl_param_t *p, const char *text)
{
    for (int i = 0; p->choices != NULL && p->choices[i] != NULL; i++)
        if (strcmp(p->choices[i], text) == 0)
            return i;
    return -1;
}

int wl_param_format(const wl_param_t *p, int64_t v, char *buf, size_t len)
{
    if (p->choices != NULL && v >= p->min && v <= p->max)
        return snprintf(buf, len, "%s", p->choices[v]);
    return snprintf(buf, len, "%lld", (long long)v);
}

void wl_param_choices(const wl_param_t *p, char *buf, size_t len)
{
    size_t used = 0;
    snprintf(buf, len, "N");
    for (int i = 0; p->choices != NULL && p->choices[i] != NULL && used < len; i++) {
        int w = snprintf(buf + used, len - used, "%s%s", i ? "|" : "", p->choices[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}
