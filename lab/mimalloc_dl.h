/* lab/mimalloc_dl.h: mimalloc, loaded so that it replaces nothing.
 *
 * Debian's libmimalloc.so.2 is built to override the C library: besides its
 * own mi_* API it exports malloc, free, realloc, calloc and the rest. Linked
 * the usual way (a DT_NEEDED entry), those definitions enter the process's
 * global symbol scope ahead of glibc's, so *every* malloc in the process
 * becomes mimalloc's: glibc's own, hwloc's, stdio's, and the raw allocations
 * of the lab's pymalloc model, which CPython sends to the C library
 * (PyMem_RawMalloc). A row labelled `-a malloc` would then compare mimalloc
 * with itself.
 *
 * So the lab never links mimalloc. It dlopen()s the library with RTLD_LOCAL,
 * which keeps the library's symbols out of the global scope (nothing else in
 * the process can bind to its malloc), and takes the few mi_* functions it
 * needs with dlsym. A call through one of these pointers costs what a call
 * through the PLT costs (one indirect jump), so the allocator is measured as
 * it would run linked. RTLD_DEEPBIND is not used: the sanitizer runtimes
 * refuse it, and RTLD_LOCAL is enough.
 *
 * tests/test_heap.c proves the split: a block from the `malloc` allocator is
 * outside mimalloc's heap (mi_is_in_heap_region), one from `mimalloc` is in.
 */
#ifndef GL_MIMALLOC_DL_H
#define GL_MIMALLOC_DL_H

#include <stdbool.h>
#include <stddef.h>

#include <mimalloc.h>   /* types only: mi_heap_t, mi_block_visit_fun */

/* The mi_* functions the lab calls, resolved from the loaded library. */
typedef struct mimalloc_dl {
    void *(*malloc)(size_t size);
    void *(*realloc)(void *p, size_t size);
    void (*free)(void *p);
    mi_heap_t *(*heap_get_default)(void);
    void (*heap_collect)(mi_heap_t *heap, bool force);
    bool (*heap_visit_blocks)(const mi_heap_t *heap, bool visit_all_blocks,
                              mi_block_visit_fun *visitor, void *arg);
    bool (*is_in_heap_region)(const void *p);
    int (*version)(void);
} mimalloc_dl_t;

/* The library, loaded on first use (thread-safe). NULL when it cannot be
 * loaded, with the reason (dlerror's text) in err; a later call retries
 * nothing and returns the same failure. */
const mimalloc_dl_t *mimalloc_dl_get(char *err, size_t errlen);

#endif
