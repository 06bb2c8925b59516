/* report/outdir.c: where results go, how they get there whole, and why the
 * folder can never be used to write anywhere else.
 *
 * The folder is settled before anything runs:
 *
 *   1. created (with its parents) and opened once; from then on every file
 *      is named relative to that descriptor (openat/renameat/unlinkat), so
 *      renaming or replacing a parent folder mid-run changes nothing;
 *   2. locked: REP_LOCK_NAME is opened without following links and
 *      flock'ed exclusively and without waiting, so a second run into the
 *      same folder stops with a clear message instead of silently replacing
 *      the first one's rows. The lock belongs to the open file, so it goes
 *      when the lab and the workers it forked are gone, even after SIGKILL:
 *      a stale lock cannot exist. The file itself stays (removing it would
 *      let a waiting run lock a name nobody else sees);
 *   3. proven writable by a probe file that is written, fsynced and removed,
 *      so that a read-only disk or a typo in -o costs an error message, not
 *      a ten-minute sweep whose numbers cannot be saved.
 *
 * Every file is then written at "<name>.tmp" and renamed over <name>. The
 * temporary is created with O_CREAT|O_EXCL|O_NOFOLLOW: whatever is already
 * at that name (a link planted by someone sharing the folder, a leftover of
 * a killed run) is unlinked, never followed, and the create is retried; no
 * other run writes there while we hold the lock. rename(2) replaces a link
 * at the final name rather than writing through it. Temporaries are fsynced
 * before any rename and the folder after, so a reader (or a crash) sees the
 * previous complete files or the new complete files, never a prefix; and a
 * set of files (results.csv with results.json, chart.png with chart.svg) is
 * renamed together only once every member is safely on disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report/report.h"

#define RESULTS_ROOT "results"
#define PROBE_NAME ".gil-lab.probe"
#define CREATE_TRIES 3      /* unlink-and-create rounds before giving up */
#define MAX_OUTPUTS 4       /* documents written together by rep_write_files */

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

/* Create ./results/<stamp>-<workload>[-k], a folder nobody else has;
 * *root_created tells whether ./results is new too. */
static int make_fresh_dir(const char *workload, char *dir, size_t dirlen, bool *root_created)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;

    if (make_dirs(RESULTS_ROOT, root_created) < 0)
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

/* "<name>.tmp" into buf. Returns 0, or -1 with errno = ENAMETOOLONG. */
static int tmp_name(const char *name, char *buf, size_t len)
{
    if (snprintf(buf, len, "%s.tmp", name) >= (int)len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

/* Create tmp in the folder, exclusively and without following a link;
 * whatever is at that name is unlinked first. Open for reading too, so that
 * what another program wrote into it can be checked. Returns the
 * descriptor, or -1 with errno set. */
static int create_exclusive(int dirfd, const char *tmp)
{
    for (int tries = 0; tries < CREATE_TRIES; tries++) {
        int fd = openat(dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd >= 0 || errno != EEXIST)
            return fd;
        if (unlinkat(dirfd, tmp, 0) < 0 && errno != ENOENT)
            return -1;
    }
    errno = EEXIST;
    return -1;
}

/* Create, fill, fsync and remove a probe file. Returns 0, or -1 with errno
 * set. */
static int probe_writable(int dirfd)
{
    int fd = create_exclusive(dirfd, PROBE_NAME), saved = 0;

    if (fd < 0)
        return -1;
    if (write(fd, "x", 1) != 1 || fsync(fd) < 0)
        saved = errno ? errno : EIO;
    if (close(fd) < 0 && !saved)
        saved = errno;
    if (unlinkat(dirfd, PROBE_NAME, 0) < 0 && !saved)
        saved = errno;
    errno = saved;
    return saved ? -1 : 0;
}

/* Open and flock the lock file. Returns 0, or -1 with the reason in err. */
static int take_lock(rep_outdir_t *d, char *err, size_t errlen)
{
    struct stat st;

    /* O_RDONLY: locking needs no write access, and nothing is ever written
     * into this file, so a hard link planted here cannot be used either. */
    d->lock_fd = openat(d->fd, REP_LOCK_NAME,
                        O_RDONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    if (d->lock_fd < 0) {
        if (errno == ELOOP)
            snprintf(err, errlen, "%s/%s is a symbolic link; remove it to use this folder",
                     d->path, REP_LOCK_NAME);
        else
            snprintf(err, errlen, "cannot create %s/%s: %s", d->path, REP_LOCK_NAME,
                     strerror(errno));
        return -1;
    }
    if (fstat(d->lock_fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s/%s is not a regular file; remove it to use this folder",
                 d->path, REP_LOCK_NAME);
        goto fail;
    }
    if (flock(d->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            snprintf(err, errlen,
                     "output folder '%s' is in use by another gil-lab run (it holds %s); "
                     "wait for it or choose another -o",
                     d->path, REP_LOCK_NAME);
        else
            snprintf(err, errlen, "cannot lock %s/%s: %s", d->path, REP_LOCK_NAME,
                     strerror(errno));
        goto fail;
    }
    return 0;
fail:
    /* Not ours: rep_outdir_close must not unlink another run's lock file. */
    close(d->lock_fd);
    d->lock_fd = -1;
    return -1;
}

int rep_outdir_open(rep_outdir_t *d, const char *explicit_dir, const char *workload, char *err,
                    size_t errlen)
{
    d->fd = d->lock_fd = -1;
    d->created = d->root_created = false;
    if (explicit_dir) {
        int rc = snprintf(d->path, sizeof d->path, "%s", explicit_dir) >= (int)sizeof d->path
                     ? (errno = ENAMETOOLONG, -1)
                     : make_dirs(d->path, &d->created);
        if (rc < 0) {
            snprintf(err, errlen, "cannot create output folder '%s': %s", explicit_dir,
                     strerror(errno));
            return -1;
        }
    } else if (make_fresh_dir(workload, d->path, sizeof d->path, &d->root_created) < 0) {
        snprintf(err, errlen, "cannot create a folder under ./" RESULTS_ROOT ": %s",
                 strerror(errno));
        return -1;
    } else {
        d->created = true;
    }
    /* -o may name a link to a folder (the user's own path); a folder this
     * run just created must still be the one it created. */
    d->fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (d->created ? O_NOFOLLOW : 0));
    if (d->fd < 0) {
        snprintf(err, errlen, "cannot open output folder '%s': %s", d->path, strerror(errno));
        goto fail;
    }
    if (take_lock(d, err, errlen) < 0)
        goto fail;
    if (probe_writable(d->fd) < 0) {
        snprintf(err, errlen, "cannot write to output folder '%s': %s", d->path, strerror(errno));
        goto fail;
    }
    return 0;
fail:
    rep_outdir_close(d, true);
    return -1;
}

int rep_outdir_open_existing(rep_outdir_t *d, const char *dir, char *err, size_t errlen)
{
    d->lock_fd = -1;
    d->created = d->root_created = false;
    if (snprintf(d->path, sizeof d->path, "%s", dir) >= (int)sizeof d->path) {
        d->fd = -1;
        snprintf(err, errlen, "folder name too long: '%.64s...'", dir);
        return -1;
    }
    d->fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d->fd < 0) {
        snprintf(err, errlen, "cannot open folder '%s': %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

void rep_outdir_close(rep_outdir_t *d, bool discard)
{
    if (!d)
        return;
    if (discard && d->created) {
        /* lock_fd >= 0 only while we hold the lock; unlinked before it is
         * released, so no other run can be holding this file. */
        if (d->lock_fd >= 0)
            unlinkat(d->fd, REP_LOCK_NAME, 0);
        /* Each fails, harmlessly, when anything else is there. */
        if (rmdir(d->path) == 0 && d->root_created)
            rmdir(RESULTS_ROOT);
    }
    if (d->lock_fd >= 0)
        close(d->lock_fd);
    if (d->fd >= 0)
        close(d->fd);
    d->fd = d->lock_fd = -1;
}

int rep_outdir_remove(const rep_outdir_t *d, const char *name, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    const char *names[2] = {name, tmp};

    if (tmp_name(name, tmp, sizeof tmp) < 0)
        goto fail;
    for (int k = 0; k < 2; k++) {
        if (unlinkat(d->fd, names[k], 0) < 0 && errno != ENOENT) {
            name = names[k];
            goto fail;
        }
    }
    return 0;
fail:
    snprintf(err, errlen, "cannot remove %s: %s", name, strerror(errno));
    return -1;
}

int rep_file_create(rep_file_t *f, const rep_outdir_t *d, const char *name, char *err,
                    size_t errlen)
{
    char tmp[PATH_MAX];

    f->dir = d;
    f->name = name;
    f->pending = false;
    f->fd = tmp_name(name, tmp, sizeof tmp) < 0 ? -1 : create_exclusive(d->fd, tmp);
    if (f->fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    f->pending = true;
    return 0;
}

void rep_file_discard(rep_file_t *files, int n)
{
    char tmp[PATH_MAX];

    for (int i = 0; i < n; i++) {
        rep_file_t *f = &files[i];
        if (f->fd >= 0)
            close(f->fd);
        f->fd = -1;
        if (f->pending && tmp_name(f->name, tmp, sizeof tmp) == 0)
            unlinkat(f->dir->fd, tmp, 0);
        f->pending = false;
    }
}

int rep_file_commit(rep_file_t *files, int n, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    int i;

    for (i = 0; i < n; i++) {
        rep_file_t *f = &files[i];
        int rc = fsync(f->fd), saved = errno;
        if (close(f->fd) < 0 && rc == 0)
            rc = -1, saved = errno;
        f->fd = -1;
        if (rc < 0) {
            errno = saved;
            goto fail;
        }
    }
    for (i = 0; i < n; i++) {
        rep_file_t *f = &files[i];
        if (tmp_name(f->name, tmp, sizeof tmp) < 0 ||
            renameat(f->dir->fd, tmp, f->dir->fd, f->name) < 0)
            goto fail;
        f->pending = false;
    }
    /* Best effort: some file systems refuse to fsync a folder, and the data
     * itself is already safe. */
    if (n > 0)
        fsync(files[0].dir->fd);
    return 0;
fail:
    snprintf(err, errlen, "cannot write %s: %s", files[i].name, strerror(errno ? errno : EIO));
    rep_file_discard(files, n);
    return -1;
}

/* Fill f's temporary with doc through a stdio stream of its own (the
 * descriptor stays open for rep_file_commit's fsync). Returns 0, or -1
 * with errno set. */
static int fill_file(const rep_file_t *f, const rep_output_t *out, const rep_doc_t *doc)
{
    int fd = dup(f->fd), rc;
    FILE *stream = fd < 0 ? NULL : fdopen(fd, "w");

    if (!stream) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    errno = 0;
    rc = out->fill(stream, doc, out->arg) < 0 || fflush(stream) != 0 ? -1 : 0;
    if (rc < 0 && errno == 0)
        errno = EIO;
    if (fclose(stream) != 0 && rc == 0)
        rc = -1;
    return rc;
}

int rep_write_files(const rep_outdir_t *d, const rep_output_t *outs, int n, const rep_doc_t *doc,
                    char *err, size_t errlen)
{
    rep_file_t files[MAX_OUTPUTS];
    int made = 0;

    if (n > MAX_OUTPUTS) {
        snprintf(err, errlen, "cannot write %d files together (at most %d)", n, MAX_OUTPUTS);
        return -1;
    }
    for (; made < n; made++) {
        if (rep_file_create(&files[made], d, outs[made].name, err, errlen) < 0)
            goto fail;
        if (fill_file(&files[made], &outs[made], doc) < 0) {
            snprintf(err, errlen, "cannot write %s: %s", outs[made].name, strerror(errno));
            made++;
            goto fail;
        }
    }
    return rep_file_commit(files, n, err, errlen);
fail:
    rep_file_discard(files, made);
    return -1;
}
