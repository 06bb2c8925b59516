/* lab/mimalloc_dl.c: loading mimalloc without letting it replace malloc
 * (why: lab/mimalloc_dl.h). */
#include "lab/mimalloc_dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#ifndef GL_MIMALLOC_SONAME
#error "GL_MIMALLOC_SONAME (mimalloc's shared-library name) must be defined by the build"
#endif

static pthread_once_t mimalloc_once = PTHREAD_ONCE_INIT;
static mimalloc_dl_t mimalloc;
static const mimalloc_dl_t *mimalloc_loaded;
static char mimalloc_error[256];

/* dlsym into *slot; false (with the reason recorded) when missing. */
static bool mimalloc_resolve(void *lib, const char *name, void *slot)
{
    void *fn = dlsym(lib, name);
    if (fn == NULL) {
        snprintf(mimalloc_error, sizeof mimalloc_error, "%s has no %s", GL_MIMALLOC_SONAME, name);
        return false;
    }
    memcpy(slot, &fn, sizeof fn);   /* object pointer to function pointer, as POSIX allows */
    return true;
}

static void mimalloc_load(void)
{
    void *lib = dlopen(GL_MIMALLOC_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        const char *why = dlerror();
        snprintf(mimalloc_error, sizeof mimalloc_error, "cannot load %s: %s", GL_MIMALLOC_SONAME,
                 why ? why : "unknown error");
        return;
    }
    if (mimalloc_resolve(lib, "mi_malloc", &mimalloc.malloc) &&
        mimalloc_resolve(lib, "mi_realloc", &mimalloc.realloc) &&
        mimalloc_resolve(lib, "mi_free", &mimalloc.free) &&
        mimalloc_resolve(lib, "mi_heap_get_default", &mimalloc.heap_get_default) &&
        mimalloc_resolve(lib, "mi_heap_collect", &mimalloc.heap_collect) &&
        mimalloc_resolve(lib, "mi_heap_visit_blocks", &mimalloc.heap_visit_blocks) &&
        mimalloc_resolve(lib, "mi_is_in_heap_region", &mimalloc.is_in_heap_region) &&
        mimalloc_resolve(lib, "mi_version", &mimalloc.version))
        mimalloc_loaded = &mimalloc;
    /* The library stays loaded for the life of the process either way:
     * mimalloc registers thread-exit hooks that must not be unmapped. */
}

const mimalloc_dl_t *mimalloc_dl_get(char *err, size_t errlen)
{
    pthread_once(&mimalloc_once, mimalloc_load);
    if (mimalloc_loaded == NULL && err != NULL)
        snprintf(err, errlen, "%s", mimalloc_error);
    return mimalloc_loaded;
}
