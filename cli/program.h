/* cli/program.h: running another program and reading what it prints, for
 * the views that put a real CPython beside the lab (`gil-lab sizes
 * --python`).
 *
 * The program is started as a program (fork + execvp, no shell: its name
 * and arguments are never parsed by anyone), in a process group of its
 * own, with stdin on /dev/null, its stdout read into memory and its stderr
 * kept for the message when it fails. It has a time limit; past it the
 * whole group is killed. Whatever it does (it is missing, not executable,
 * exits non-zero, dies of a signal, floods its output, never answers) the
 * caller gets back one line that says so: never a hang, never a crash.
 */
#ifndef GL_CLI_PROGRAM_H
#define GL_CLI_PROGRAM_H

#include <stddef.h>

#define PROG_MAX_OUTPUT (64 * 1024)   /* bytes of stdout kept; more is an error */

typedef enum prog_status {
    PROG_FAILED = -1,    /* err says why (exit status, signal, time limit, ...) */
    PROG_OK = 0,         /* exited 0; out holds its stdout */
    PROG_NOT_FOUND = 1,  /* no such program (execvp: ENOENT); err says so */
} prog_status_t;

/* Run argv[0] with argv (NULL-terminated) for at most timeout_s seconds.
 * On PROG_OK, *out is its stdout, NUL-terminated, malloc'd (the caller
 * frees it); otherwise *out is NULL and err holds one line naming argv[0]:
 * "python3: exited 1: SyntaxError: invalid syntax". */
prog_status_t prog_capture(const char *const *argv, int timeout_s, char **out, char *err,
                           size_t errlen);

#endif
