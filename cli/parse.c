/* cli/parse.c: numbers and lists from the command line (see parse.h for the
 * accepted forms).
 *
 * Integers are parsed exactly, without floating point: the significant
 * digits are collected as text, the decimal exponent is the written exponent
 * plus the suffix's minus the number of fraction digits, and the value is
 * built digit by digit with an overflow check at every step. A negative net
 * exponent is allowed only when it removes trailing zeros ("2.50k" = 2500,
 * "25e-1" is not an integer). Grammar:
 *
 *   [+-] digits ['.' digits] [(e|E) [+-] digits] [k|M|G|T]
 *   digits = [0-9] ('_'? [0-9])*          (underscores only between digits)
 */
#define _GNU_SOURCE /* memmem */
#include <ctype.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/parse.h"

#define MAX_SIG_DIGITS 40   /* more can never fit int64_t after trimming zeros */
#define MAX_EXPONENT 9999
#define LIST_ITEM_MAX 64

typedef struct number {
    char digits[MAX_SIG_DIGITS];   /* significant digits, leading zeros dropped */
    int ndigits;
    bool too_many;                 /* more than MAX_SIG_DIGITS significant digits */
    int frac;                      /* digits after the decimal point */
} number_t;

/* Consume digits ('_'? digit)* at *p into n. Returns the number of digits
 * read, or -1 on a misplaced underscore. */
static int scan_digits(const char **p, number_t *n)
{
    const char *s = *p;
    int count = 0;

    while (isdigit((unsigned char)*s)) {
        if (n->ndigits || *s != '0') {
            if (n->ndigits == MAX_SIG_DIGITS)
                n->too_many = true;
            else
                n->digits[n->ndigits++] = *s;
        }
        count++;
        s++;
        if (*s == '_') {
            if (!isdigit((unsigned char)s[1]))
                return -1;
            s++;
        }
    }
    *p = s;
    return count;
}

static int suffix_exponent(char c)
{
    switch (c) {
    case 'k': case 'K': return 3;
    case 'm': case 'M': return 6;
    case 'g': case 'G': return 9;
    case 't': case 'T': return 12;
    default: return -1;
    }
}

int cli_parse_int(const char *s, int64_t *out, char *err, size_t errlen)
{
    const char *p = s;
    number_t n = {0};
    long exp10 = 0, net;
    uint64_t v = 0;
    bool neg = false;

    if (!*s) {
        snprintf(err, errlen, "empty value");
        return -1;
    }
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (!isdigit((unsigned char)*p) || scan_digits(&p, &n) < 0)
        goto not_a_number;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p) || (n.frac = scan_digits(&p, &n)) < 0)
            goto not_a_number;
    }
    if (*p == 'e' || *p == 'E') {
        bool eneg = false;
        p++;
        if (*p == '+' || *p == '-')
            eneg = *p++ == '-';
        if (!isdigit((unsigned char)*p))
            goto not_a_number;
        for (; isdigit((unsigned char)*p); p++)
            if (exp10 <= MAX_EXPONENT)
                exp10 = exp10 * 10 + (*p - '0');
        if (eneg)
            exp10 = -exp10;
    }
    if (*p && suffix_exponent(*p) >= 0)
        exp10 += suffix_exponent(*p++);
    if (*p)
        goto not_a_number;

    if (n.too_many)
        goto too_large;
    net = exp10 - n.frac;
    if (n.ndigits && net < 0) {
        /* only trailing zeros may be divided away */
        long drop = -net;
        if (drop > n.ndigits)
            goto not_integer;
        for (long k = 0; k < drop; k++)
            if (n.digits[n.ndigits - 1 - k] != '0')
                goto not_integer;
        n.ndigits -= (int)drop;
        net = 0;
    }
    for (int k = 0; k < n.ndigits; k++) {
        unsigned d = (unsigned)(n.digits[k] - '0');
        if (v > ((uint64_t)INT64_MAX - d) / 10)
            goto too_large;
        v = v * 10 + d;
    }
    for (; v && net > 0; net--) {
        if (v > (uint64_t)INT64_MAX / 10)
            goto too_large;
        v *= 10;
    }
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;

not_a_number:
    snprintf(err, errlen, "'%s' is not a number", s);
    return -1;
not_integer:
    snprintf(err, errlen, "'%s' is not an integer", s);
    return -1;
too_large:
    snprintf(err, errlen, "'%s' is too large", s);
    return -1;
}

int cli_parse_bytes(const char *s, int64_t *out, char *err, size_t errlen)
{
    static const struct { const char *suffix; int shift; } suffixes[] = {
        {"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"k", 10}, {"K", 10}, {"M", 20}, {"G", 30},
    };
    size_t len = strlen(s), digits = len;
    char number[32];
    int shift = 0;
    int64_t v;

    for (size_t k = 0; k < sizeof suffixes / sizeof suffixes[0]; k++) {
        size_t n = strlen(suffixes[k].suffix);
        if (len > n && strcmp(s + len - n, suffixes[k].suffix) == 0) {
            digits = len - n;
            shift = suffixes[k].shift;
            break;
        }
    }
    /* Only digits before the suffix: "1.5k" or "2e3k" would need rounding
     * or mix decimal and binary units. */
    if (!*s || strspn(s, "0123456789_") != digits) {
        snprintf(err, errlen, "'%s' is not a byte size (digits and an optional binary suffix: "
                              "4096, 4k = 4KiB = 4096, 1M = 1MiB)", s);
        return -1;
    }
    if (s[0] == '_' || s[digits - 1] == '_' || memmem(s, digits, "__", 2)) {
        snprintf(err, errlen, "'%s' is not a byte size (misplaced '_')", s);
        return -1;
    }
    /* What is left is digits and single underscores: only their value can
     * be wrong. */
    if (digits >= sizeof number)
        goto too_large;
    memcpy(number, s, digits);
    number[digits] = '\0';
    if (cli_parse_int(number, &v, err, errlen) < 0 || v > INT64_MAX >> shift)
        goto too_large;
    *out = v << shift;
    return 0;
too_large:
    snprintf(err, errlen, "'%s' is too large", s);
    return -1;
}

int cli_parse_int_range(const char *s, int64_t min, int64_t max, int64_t *out, char *err,
                        size_t errlen)
{
    int64_t v;

    if (cli_parse_int(s, &v, err, errlen) < 0)
        return -1;
    if (v < min || v > max) {
        snprintf(err, errlen, "'%s' is out of range (%lld to %lld)", s, (long long)min,
                 (long long)max);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_list(const char *s, int maxn, int (*item)(const char *text, int index, void *arg),
                      void *arg, char *err, size_t errlen)
{
    char buf[LIST_ITEM_MAX];
    int count = 0;

    if (!*s) {
        snprintf(err, errlen, "empty list");
        return -1;
    }
    for (const char *p = s;; p++) {
        size_t len = strcspn(p, ",");
        if (len == 0) {
            snprintf(err, errlen, "empty item in list '%s'", s);
            return -1;
        }
        if (count == maxn) {
            snprintf(err, errlen, "too many items in list '%s' (at most %d)", s, maxn);
            return -1;
        }
        if (len >= sizeof buf) {
            snprintf(err, errlen, "item too long in list '%s'", s);
            return -1;
        }
        memcpy(buf, p, len);
        buf[len] = '\0';
        if (item(buf, count, arg) < 0)
            return -1;
        count++;
        p += len;
        if (!*p)
            return count;
    }
}

/* Fail when out[index] repeats an earlier item. */
static int check_duplicate(const int *out, int index, const char *text, const char *list,
                           char *err, size_t errlen)
{
    for (int k = 0; k < index; k++) {
        if (out[k] == out[index]) {
            snprintf(err, errlen, "'%s' given twice in list '%s'", text, list);
            return -1;
        }
    }
    return 0;
}

typedef struct int_list_arg {
    const char *list;
    int min, max;
    int *out;
    char *err;
    size_t errlen;
} int_list_arg_t;

static int int_item(const char *text, int index, void *arg)
{
    int_list_arg_t *a = arg;
    int64_t v;

    if (cli_parse_int_range(text, a->min, a->max, &v, a->err, a->errlen) < 0)
        return -1;
    a->out[index] = (int)v;
    return check_duplicate(a->out, index, text, a->list, a->err, a->errlen);
}

int cli_parse_int_list(const char *s, int min, int max, int *out, int maxn, char *err,
                       size_t errlen)
{
    int_list_arg_t a = {s, min, max, out, err, errlen};

    return cli_parse_list(s, maxn, int_item, &a, err, errlen);
}

void cli_names_join(const cli_names_t *names, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (int i = 0; i < names->count && used < len; i++) {
        int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", names->name(i));
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

int cli_parse_name(const char *s, const cli_names_t *names, char *err, size_t errlen)
{
    char valid[256];

    for (int i = 0; i < names->count; i++)
        if (strcmp(s, names->name(i)) == 0)
            return i;
    cli_names_join(names, valid, sizeof valid);
    snprintf(err, errlen, "unknown %s '%s' (valid: %s)", names->what, s, valid);
    return -1;
}

typedef struct name_list_arg {
    const char *list;
    const cli_names_t *names;
    int *out;
    char *err;
    size_t errlen;
} name_list_arg_t;

static int name_item(const char *text, int index, void *arg)
{
    name_list_arg_t *a = arg;

    a->out[index] = cli_parse_name(text, a->names, a->err, a->errlen);
    if (a->out[index] < 0)
        return -1;
    return check_duplicate(a->out, index, text, a->list, a->err, a->errlen);
}

int cli_parse_name_list(const char *s, const cli_names_t *names, int *out, int maxn, char *err,
                        size_t errlen)
{
    name_list_arg_t a = {s, names, out, err, errlen};

    return cli_parse_list(s, maxn, name_item, &a, err, errlen);
}

/* ", given 'typed'" when the user typed something other than the option's
 * full name (an abbreviation, or a value glued on with '='); else "". */
static void given(const char *typed, const char *canonical, char *buf, size_t len)
{
    buf[0] = '\0';
    if (strcmp(typed, canonical) != 0)
        snprintf(buf, len, ", given '%s'", typed);
}

int cli_option_error(int opt, char *const *argv, const struct option *longopts,
                     const char *command, char *err, size_t errlen)
{
    const char *word = argv[optind - 1];
    char what[512], canonical[80], note[320];

    if (strncmp(word, "--", 2) == 0 && word[2]) {
        /* getopt_long has no way to say which long option it meant, so look
         * again: an exact name wins over abbreviations, as in getopt_long. */
        const char *name = word + 2;
        size_t nlen = strcspn(name, "="), used = 0;
        const struct option *match = NULL;
        int nmatch = 0;
        char names[256] = "";

        for (const struct option *o = longopts; o->name; o++) {
            if (strncmp(o->name, name, nlen) != 0)
                continue;
            if (strlen(o->name) == nlen) {
                match = o, nmatch = 1;
                break;
            }
            match = o, nmatch++;
            if (used < sizeof names)
                used += (size_t)snprintf(names + used, sizeof names - used, "%s--%s",
                                         used ? ", " : "", o->name);
        }
        snprintf(canonical, sizeof canonical, "--%s", match ? match->name : "");
        given(word, canonical, note, sizeof note);
        if (nmatch == 0)
            snprintf(what, sizeof what, "unknown option '%.*s'", (int)nlen + 2, word);
        else if (nmatch > 1)
            snprintf(what, sizeof what, "ambiguous option '%.*s' (could be %s)", (int)nlen + 2,
                     word, names);
        else if (opt == ':')
            snprintf(what, sizeof what, "%s needs a value%s", canonical, note);
        else if (name[nlen] == '=' && match->has_arg == no_argument)
            snprintf(what, sizeof what, "%s takes no value%s", canonical, note);
        else
            snprintf(what, sizeof what, "cannot use option '%s'", word);
    } else if (opt == ':') {
        snprintf(what, sizeof what, "-%c needs a value", optopt);
    } else {
        snprintf(what, sizeof what, "unknown option '-%c'", optopt);
    }
    snprintf(err, errlen, "%s (see gil-lab %s%s--help)", what, command ? command : "",
             command ? " " : "");
    return -1;
}
