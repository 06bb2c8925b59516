/* report/outdir.c: where results go, and how they get there whole.
 *
 * The folder is settled before anything runs: created (with its parents),
 * then proven writable by a probe file that is written, fsynced and removed,
 * so that a read-only disk or a typo in -o costs an error message, not a
 * ten-minute sweep whose numbers cannot be saved.
 *
 * Every file is replaced atomically: written to <name>.tmp.<pid> in the same
 * folder (same file system, so rename(2) is atomic), fsynced, renamed over
 * <name>, and the folder fsynced so that the rename itself survives a crash.
 * A reader (or an interrupted sweep) sees the previous complete file or the
 * new complete file, never a prefix.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report/report.h"

#define RESULTS_ROOT "results"

/* mkdir -p. Returns 0 with *created telling whether the last component is
 * new, or -1 with errno set (ENOTDIR when something not a folder is there). */
static int make_dirs(const char *path, bool *created)
{
    char buf[PATH_MAX];
    struct stat st;

    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    *created = mkdir(buf, 0777) == 0;
    if (*created)
        return 0;
    if (errno != EEXIST)
        return -1;
    if (stat(buf, &st) < 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/* Create, fill, fsync and remove a probe file in dir. Returns 0, or -1 with
 * errno set. */
static int probe_writable(const char *dir)
{
    char path[PATH_MAX];
    int fd, saved;

    if (snprintf(path, sizeof path, "%s/.gil-lab-probe.%ld", dir, (long)getpid()) >=
        (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    if (write(fd, "x", 1) != 1 || fsync(fd) < 0)
        goto fail;
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    return unlink(path);
fail:
    saved = errno ? errno : EIO;
    if (fd >= 0)
        close(fd);
    unlink(path);
    errno = saved;
    return -1;
}

/* Create ./results/<stamp>-<workload>[-k], a folder nobody else has. */
static int make_fresh_dir(const char *workload, char *dir, size_t dirlen)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    bool created;

    if (make_dirs(RESULTS_ROOT, &created) < 0)
        return -1;
    if (!localtime_r(&now, &tm) || !strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm))
        snprintf(stamp, sizeof stamp, "%lld", (long long)now);
    for (int k = 1; k < 1000; k++) {
        int n = k == 1 ? snprintf(dir, dirlen, RESULTS_ROOT "/%s-%s", stamp, workload)
                       : snprintf(dir, dirlen, RESULTS_ROOT "/%s-%s-%d", stamp, workload, k);
        if (n < 0 || (size_t)n >= dirlen) {
            errno = ENAMETOOLONG;
            return -1;
        }
        if (mkdir(dir, 0777) == 0)
            return 0;
        if (errno != EEXIST)
            return -1;
    }
    errno = EEXIST;
    return -1;
}

int rep_outdir_prepare(const char *explicit_dir, const char *workload, char *dir,
                       size_t dirlen, bool *created, char *err, size_t errlen)
{
    *created = false;
    if (explicit_dir) {
        if (!explicit_dir[0]) {
            snprintf(err, errlen, "-o/--output: empty folder name");
            return -1;
        }
        int rc = snprintf(dir, dirlen, "%s", explicit_dir) >= (int)dirlen
                     ? (errno = ENAMETOOLONG, -1)
                     : make_dirs(dir, created);
        if (rc < 0) {
            snprintf(err, errlen, "cannot create output folder '%s': %s", explicit_dir,
                     strerror(errno));
            return -1;
        }
    } else if (make_fresh_dir(workload, dir, dirlen) < 0) {
        snprintf(err, errlen, "cannot create a folder under ./" RESULTS_ROOT ": %s",
                 strerror(errno));
        return -1;
    } else {
        *created = true;
    }
    if (probe_writable(dir) < 0) {
        snprintf(err, errlen, "cannot write to output folder '%s': %s", dir, strerror(errno));
        if (*created)
            rmdir(dir);
        return -1;
    }
    return 0;
}

/* fsync a folder so that a rename inside it is durable; best effort (some
 * file systems refuse to fsync folders, and the data is already safe). */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int rep_write_file(const char *dir, const char *name, rep_fill_fn fill,
                   const rep_doc_t *doc, char *err, size_t errlen)
{
    char path[PATH_MAX], tmp[PATH_MAX + 32];
    FILE *f = NULL;
    int fd = -1, saved;

    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        snprintf(err, errlen, "cannot write %s/%s: %s", dir, name, strerror(errno));
        return -1;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    errno = 0;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        goto fail;
    f = fdopen(fd, "w");
    if (!f)
        goto fail;
    fd = -1;  /* owned by f from here */
    if (fill(f, doc) < 0 || fflush(f) != 0 || fsync(fileno(f)) < 0)
        goto fail;
    if (fclose(f) != 0) {
        f = NULL;
        goto fail;
    }
    f = NULL;
    if (rename(tmp, path) < 0)
        goto fail;
    sync_dir(dir);
    return 0;
fail:
    saved = errno ? errno : EIO;
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(saved));
    return -1;
}
