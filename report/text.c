/* report/text.c: text that came from outside the lab (an argument, a
 * folder name, a host name) on its way to a parser or a terminal.
 *
 *   rep_utf8_sequence  how long one valid UTF-8 sequence is: the JSON writer
 *                      keeps valid text as written and replaces the rest
 *   rep_escape         a copy that is safe on a terminal: an argument holding
 *                      a newline cannot split an error line in two, and one
 *                      holding ESC [ 3 1 m cannot recolour the user's terminal
 *
 * What rep_escape rewrites, and how (C's own escapes, so the result can be
 * read back by eye):
 *
 *   \n \r \t            as themselves
 *   other C0, DEL       \xNN
 *   C1 (U+0080..U+009F) \xNN per byte: a terminal may take them as controls
 *   invalid UTF-8       \xNN per byte
 *   backslash           \\  (so that a typed "\n" and a real newline differ)
 *
 * Valid UTF-8 text ("µs", "…") passes unchanged: messages use it too.
 */
#include <stdint.h>
#include <string.h>

#include "report/report.h"

size_t rep_utf8_sequence(const unsigned char *s)
{
    unsigned c = s[0];
    uint32_t cp;
    size_t n;

    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)   /* also stops at the terminating NUL */
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* The escape for byte c outside valid printable text, into out (>= 5). */
static void escape_byte(unsigned char c, char out[5])
{
    switch (c) {
    case '\n': memcpy(out, "\\n", 3); break;
    case '\r': memcpy(out, "\\r", 3); break;
    case '\t': memcpy(out, "\\t", 3); break;
    case '\\': memcpy(out, "\\\\", 3); break;
    default: snprintf(out, 5, "\\x%02x", c); break;
    }
}

void rep_escape(const char *src, char *buf, size_t len)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t used = 0;

    if (len == 0)
        return;
    while (*s) {
        char esc[5];
        const char *piece = esc;
        size_t n = rep_utf8_sequence(s), take;

        if (*s >= 0x20 && *s < 0x7f && *s != '\\') {
            piece = (const char *)s, n = 1, take = 1;
        } else if (n > 0 && !(n == 2 && s[0] == 0xc2 && s[1] < 0xa0)) {
            piece = (const char *)s, take = n;   /* valid UTF-8, not a C1 control */
        } else {
            escape_byte(*s, esc);
            n = 1, take = strlen(esc);
        }
        if (used + take >= len)
            break;   /* never cut an escape or a character in half */
        memcpy(buf + used, piece, take);
        used += take;
        s += n;
    }
    buf[used] = '\0';
}
