/* plots/gnuplot.c: gnuplot as a program, and the check of what it drew
 * (see plots/gnuplot.h).
 *
 * Why the script travels on stdin, after a prelude, through an anonymous
 * memory file: a moved or installed binary draws the same picture (the
 * script is compiled in, no path of the build machine is baked in), and
 * `gnuplot -e <variables> -` is not an option: gnuplot 5.4 then rejects
 * a script's multi-line { } blocks. Why the picture goes to stdout: the
 * caller created that file exclusively in a folder it controls, so a link
 * planted there cannot make gnuplot write elsewhere.
 */
#define _GNU_SOURCE /* memfd_create, pipe2 */
#include "plots/gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* plots/theme.gp, embedded by the build (CMakeLists.txt). */
extern const unsigned char plot_script_theme[];
extern const size_t plot_script_theme_len;

void gp_theme_prelude(FILE *f, const plot_opts_t *opts)
{
    fprintf(f, "width = %d\nheight = %d\ndark = %d\n", opts->width, opts->height, opts->dark ? 1 : 0);
    fwrite(plot_script_theme, 1, plot_script_theme_len, f);
    fputs("\n", f);
}

/* True when the last `n` bytes of the file, trailing white space
 * dropped, are `tail` (n bytes read, at most 64). */
static bool ends_with(int fd, off_t size, size_t n, const char *tail, size_t tail_len)
{
    unsigned char buf[64];
    size_t have;

    if (n > sizeof buf || (off_t)n > size || pread(fd, buf, n, size - (off_t)n) != (ssize_t)n)
        return false;
    have = n;
    while (have > 0 && (buf[have - 1] == '\n' || buf[have - 1] == ' ' || buf[have - 1] == '\r' ||
                        buf[have - 1] == '\t'))
        have--;
    return have >= tail_len && memcmp(buf + have - tail_len, tail, tail_len) == 0;
}

/* A PNG ends with its IEND chunk: length 0, type, CRC. */
static bool png_complete(int fd, off_t size)
{
    static const char iend[] = "\0\0\0\0IEND\xae\x42\x60\x82";

    return ends_with(fd, size, sizeof iend - 1, iend, sizeof iend - 1);
}

/* An SVG document ends with its root element's closing tag. */
static bool svg_complete(int fd, off_t size)
{
    static const char close_tag[] = "</svg>";
    size_t n = size < 64 ? (size_t)size : 64;

    return ends_with(fd, size, n, close_tag, sizeof close_tag - 1);
}

/* A PDF ends with its end-of-file marker. */
static bool pdf_complete(int fd, off_t size)
{
    static const char eof[] = "%%EOF";
    size_t n = size < 64 ? (size_t)size : 64;

    return ends_with(fd, size, n, eof, sizeof eof - 1);
}

const gp_format_t gp_formats[GP_NFORMATS] = {
    {"png", "IEND end marker", png_complete},
    {"svg", "closing </svg> tag", svg_complete},
    {"pdf", "%%EOF marker", pdf_complete},
};

const gp_format_t *gp_format_of(const char *filename)
{
    const char *dot = strrchr(filename, '.');

    for (int k = 0; dot && k < GP_NFORMATS; k++)
        if (strcasecmp(dot + 1, gp_formats[k].term) == 0)
            return &gp_formats[k];
    return NULL;
}

void gp_quote(char *dst, size_t cap, const char *src)
{
    size_t n = 0;

    dst[n++] = '\'';
    for (; *src && n + 3 < cap; src++) {
        unsigned char c = (unsigned char)*src;
        if (c == '\'')
            dst[n++] = '\'';
        dst[n++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    dst[n++] = '\'';
    dst[n] = '\0';
}

/* Write all of buf[0..len) to fd. Returns 0, or -1 with errno set. */
static int write_all(int fd, const void *buf, size_t len)
{
    for (size_t done = 0; done < len;) {
        ssize_t w = write(fd, (const char *)buf + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            errno = w < 0 ? errno : EIO;
            return -1;
        }
        done += (size_t)w;
    }
    return 0;
}

/* prelude, the term line and the script in an anonymous memory file, at
 * its start. Returns its descriptor, or -1 with errno set. */
static int script_file(const char *prelude, const gp_format_t *fmt, const unsigned char *script,
                       size_t script_len)
{
    int fd = memfd_create("gil-lab.gp", MFD_CLOEXEC), saved;
    char term[32];

    if (fd < 0)
        return -1;
    snprintf(term, sizeof term, "\nterm='%s'\n", fmt->term);
    if (write_all(fd, prelude, strlen(prelude)) == 0 && write_all(fd, term, strlen(term)) == 0 &&
        write_all(fd, script, script_len) == 0 && lseek(fd, 0, SEEK_SET) == 0)
        return fd;
    saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

/* Run gnuplot in the folder: script on stdin, picture to out, messages to
 * log. Returns 0, 1 when gnuplot is not installed, or -1; err says why. */
static int run_gnuplot(int dirfd, int script, int out, int log, const char *log_name, char *err,
                       size_t errlen)
{
    char prog[] = "gnuplot", from_stdin[] = "-";
    char *argv[] = {prog, from_stdin, NULL};
    int status, child_errno = 0, fds[2];
    ssize_t got;
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "cannot start gnuplot: %s", strerror(errno));
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        /* Child: only async-signal-safe calls until exec. The lab ignores
         * SIGPIPE; gnuplot gets the default it expects. The close-on-exec
         * pipe reports why exec failed, or closes silently when it worked. */
        close(fds[0]);
        signal(SIGPIPE, SIG_DFL);
        if (fchdir(dirfd) == 0 && dup2(script, 0) >= 0 && dup2(out, 1) >= 0 && dup2(log, 2) >= 0)
            execvp(prog, argv);
        child_errno = errno;
        if (write(fds[1], &child_errno, sizeof child_errno) < 0)
            _exit(126);
        _exit(127);
    }
    close(fds[1]);
    do
        got = read(fds[0], &child_errno, sizeof child_errno);
    while (got < 0 && errno == EINTR);
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            snprintf(err, errlen, "waiting for gnuplot: %s", strerror(errno));
            return -1;
        }
    }
    if (got == (ssize_t)sizeof child_errno) {
        if (child_errno == ENOENT) {
            snprintf(err, errlen, "gnuplot not found (install gnuplot-nox)");
            return 1;
        }
        snprintf(err, errlen, "cannot run gnuplot: %s", strerror(child_errno));
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (WIFEXITED(status))
            snprintf(err, errlen, "gnuplot failed (exit %d)%s%s", WEXITSTATUS(status),
                     log_name ? ", see " : "", log_name ? log_name : "");
        else
            snprintf(err, errlen, "gnuplot killed by signal %d", WTERMSIG(status));
        return -1;
    }
    return 0;
}

/* What gnuplot wrote into fd is a whole picture, on disk. Returns 0, or -1
 * with the reason in err. */
static int check_picture(const gp_format_t *fmt, const char *name, int fd, char *err,
                         size_t errlen)
{
    struct stat st;

    if (fsync(fd) < 0 || fstat(fd, &st) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", name, strerror(errno));
        return -1;
    }
    if (st.st_size == 0) {
        snprintf(err, errlen, "gnuplot wrote an empty %s (is the disk full?)", name);
        return -1;
    }
    if (!fmt->complete(fd, st.st_size)) {
        snprintf(err, errlen, "gnuplot's %s is truncated (%lld bytes, no %s; is the disk full?)",
                 name, (long long)st.st_size, fmt->marker);
        return -1;
    }
    return 0;
}

plot_status_t gp_draw(int dirfd, const char *prelude, const unsigned char *script,
                      size_t script_len, const gp_format_t *fmt, int out, const char *name,
                      int log, const char *log_name, char *err, size_t errlen)
{
    int fd = script_file(prelude, fmt, script, script_len), rc;

    if (fd < 0) {
        snprintf(err, errlen, "cannot hand gnuplot its script: %s", strerror(errno));
        return PLOT_FAILED;
    }
    rc = run_gnuplot(dirfd, fd, out, log, log_name, err, errlen);
    close(fd);
    if (rc != 0)
        return rc > 0 ? PLOT_NO_GNUPLOT : PLOT_FAILED;
    return check_picture(fmt, name, out, err, errlen) < 0 ? PLOT_FAILED : PLOT_DRAWN;
}

/* Keep gnuplot's log when it said anything, else drop it. */
static void gp_finish_log(rep_file_t *log)
{
    struct stat st;
    char ignored[128];

    if (log->pending && fstat(log->fd, &st) == 0 && st.st_size > 0)
        rep_file_commit(log, 1, ignored, sizeof ignored);
    else
        rep_file_discard(log, 1);
}

plot_status_t gp_draw_pictures(const rep_outdir_t *d, const char *stem, const char *prelude,
                               const unsigned char *script, size_t script_len, unsigned formats, char *err,
                               size_t errlen)
{
    char names[GP_NFORMATS][128], log_name[128];
    rep_file_t pictures[GP_NFORMATS], log = {.fd = -1};
    plot_status_t status = PLOT_FAILED;
    int n = 0;

    for (int k = 0; k < GP_NFORMATS; k++)
        pictures[k] = (rep_file_t){.fd = -1};
    snprintf(log_name, sizeof log_name, "%s.log", stem);
    if (rep_file_create(&log, d, log_name, err, errlen) < 0)
        goto done;
    for (int k = 0; k < GP_NFORMATS; k++) {
        if (!(formats & (1u << k)))
            continue;
        snprintf(names[n], sizeof names[n], "%s.%s", stem, gp_formats[k].term);
        if (rep_file_create(&pictures[n], d, names[n], err, errlen) < 0)
            goto done;
        n++;
        status = gp_draw(d->fd, prelude, script, script_len, &gp_formats[k], pictures[n - 1].fd, names[n - 1],
                         log.fd, log_name, err, errlen);
        if (status != PLOT_DRAWN)
            goto done;
        status = PLOT_FAILED;
    }
    if (rep_file_commit(pictures, n, err, errlen) == 0)
        status = PLOT_DRAWN;
done:
    rep_file_discard(pictures, n);
    gp_finish_log(&log);
    return status;
}
