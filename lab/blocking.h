/* lab/blocking.h: the system calls behind CALL_BLOCKING, the builtins that
 * block with the GIL released.
 *
 * In CPython a builtin that may block wraps its system call in
 * Py_BEGIN_ALLOW_THREADS / Py_END_ALLOW_THREADS (Include/ceval.h), which
 * are PyEval_SaveThread() and PyEval_RestoreThread(): drop the GIL (3.13t:
 * _PyThreadState_Detach), make the call, take it back
 * (_PyThreadState_Attach), and only then turn a failure into an exception.
 * The interpreter loop (lab/eval_impl.h) does exactly that around blk_call:
 *
 *     g_detach(ts)                Py_BEGIN_ALLOW_THREADS
 *     blk_call(ts, kind, ...)     the system call; touches no object
 *     g_attach(ts)                Py_END_ALLOW_THREADS
 *     error? -> tstate_error      the exception, with the GIL held again
 *
 * The calls, after the CPython functions they follow:
 *
 *   sleep(us)       Modules/timemodule.c pysleep(): clock_nanosleep on
 *                   CLOCK_MONOTONIC to an absolute deadline, resumed after
 *                   EINTR (PEP 475)
 *   recv(fd)        Modules/socketmodule.c sock_recv(): read() until one
 *                   8-byte message is in, retried on EINTR; end of stream
 *                   gives 0, as recv() gives b''
 *   sendall(fd, v)  sock_sendall(): write() until the 8 bytes are out
 *
 * Messages are 8-byte little-endian integers: the lab has no bytes type,
 * so the payload is the int itself (int.from_bytes / to_bytes in Python).
 * read()/write() work on a pipe as on a socketpair.
 *
 * What the lab adds: the calling thread's counters (blocking calls, time
 * blocked, for the fairness figures) and, when tracing, a BLOCK_BEGIN and
 * BLOCK_END event. That is two clock reads per blocking call: a few tens
 * of nanoseconds beside a system call that takes microseconds, and never
 * inside the interpreter loop's own work.
 */
#ifndef GL_BLOCKING_H
#define GL_BLOCKING_H

#include <stddef.h>
#include <stdint.h>

#include "lab/code.h"

typedef struct tstate tstate_t;

/* Bytes of one message on the wire. */
#define BLK_MESSAGE_SIZE 8

/* Run blocking call `kind` with its integer arguments a (and b), with the
 * calling thread detached: it reads and writes only ts's own counters and
 * trace buffer, never an object. Returns 0 with the result in *out (recv:
 * the message, 0 at end of stream; others 0), or -1 with the exception's
 * text in err ("ValueError: ...", "OSError: [Errno 9] ..."). */
int blk_call(tstate_t *ts, blocking_t kind, int64_t a, int64_t b, int64_t *out, char *err,
             size_t errlen);

/* One message, as sendall/recv put it on the wire. Cannot fail. */
void blk_encode(int64_t v, unsigned char buf[BLK_MESSAGE_SIZE]);
int64_t blk_decode(const unsigned char buf[BLK_MESSAGE_SIZE]);

#endif
