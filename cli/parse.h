/* cli/parse.h: numbers and lists as people type them on a command line.
 *
 * Integers accept the forms a talk or a notebook uses for iteration counts:
 * 50000000, 50_000_000, 50M, 2e6, 2.5M, 1k (k, M, G, T are decimal: 10^3,
 * 10^6, 10^9, 10^12, case-insensitive). The value must be an exact integer
 * that fits int64_t: "2.5" and "1e30" are errors, never rounded or clamped.
 * Byte sizes are the other way round, as memory is counted: 4096, 4k, 4K or
 * 4KiB are 4096 bytes (k/KiB = 2^10, M/MiB = 2^20, G/GiB = 2^30).
 * Lists are comma-separated with no empty items and no duplicates.
 *
 * Every function reports a problem as a short phrase in `err` ("'2.5' is not
 * an integer"), without the option name and without "gil-lab: ", which the
 * caller adds.
 */
#ifndef GL_CLI_PARSE_H
#define GL_CLI_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Parse s as an integer. Returns 0, or -1 with the reason in err. */
int cli_parse_int(const char *s, int64_t *out, char *err, size_t errlen);

/* Parse s as a byte size: digits ('_' between them allowed) and an optional
 * binary suffix k, K, KiB, M, MiB, G or GiB. Returns 0, or -1 with the
 * reason in err. */
int cli_parse_bytes(const char *s, int64_t *out, char *err, size_t errlen);

/* cli_parse_int, then require min <= value <= max. Returns 0, or -1. */
int cli_parse_int_range(const char *s, int64_t min, int64_t max, int64_t *out, char *err,
                        size_t errlen);

/* Call item(text, index, arg) for each comma-separated item of s (copied,
 * NUL-terminated). Returns the count (>= 1), or -1 with the reason in err:
 * an empty list or item, an item too long, more than maxn items, or the
 * item's own error (item writes it to err itself and returns -1). */
int cli_parse_list(const char *s, int maxn, int (*item)(const char *text, int index, void *arg),
                   void *arg, char *err, size_t errlen);

/* A comma list of integers, each in [min, max], at most maxn of them.
 * Returns the count (>= 1), or -1 with the reason in err. */
int cli_parse_int_list(const char *s, int min, int max, int *out, int maxn, char *err,
                       size_t errlen);

/* A registry of names to choose from: name(i) for 0 <= i < count. */
typedef struct cli_names {
    const char *what;              /* "mode", "guard"...: for messages */
    int count;
    const char *(*name)(int i);
} cli_names_t;

/* "a, b, c" into buf. Cannot fail (truncates). */
void cli_names_join(const cli_names_t *names, char *buf, size_t len);

/* Index of name s in names. Returns it, or -1 with "unknown <what> 's'
 * (valid: a, b, c)" in err. */
int cli_parse_name(const char *s, const cli_names_t *names, char *err, size_t errlen);

/* A comma list of names, at most maxn. Returns the count (>= 1) with the
 * indexes in out, or -1 with the reason in err. */
int cli_parse_name_list(const char *s, const cli_names_t *names, int *out, int maxn, char *err,
                        size_t errlen);

struct option;

/* What went wrong when getopt_long (called with opterr = 0 and an optstring
 * starting with ':') returned opt, ':' or '?', from argv, optind and
 * optopt: the option named as the user typed it and what is wrong with it
 * ("--no-plot takes no value (given '--no-plot=1')", "-n needs a value",
 * "ambiguous option '--no' (could be --no-immortal, --no-plot)", "unknown
 * option '-q'"), then " (see gil-lab <command> --help)". Always returns -1. */
int cli_option_error(int opt, char *const *argv, const struct option *longopts,
                     const char *command, char *err, size_t errlen);

#endif
