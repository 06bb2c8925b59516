/* cli/results.c: the saved results that plot, report and compare read,
 * loaded and summarised, or one line saying which one is wrong. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include <unistd.h>

#include "report/report.h"

rep_results_t *cli_load_results(int n, char *const *paths)
{
    rep_results_t *res = calloc((size_t)(n > 0 ? n : 1), sizeof *res);
    char err[PATH_MAX + 512];

    if (!res) {
        cli_error("out of memory");
        return NULL;
    }
    for (int k = 0; k < n; k++) {
        if (rep_results_load(paths[k], &res[k], err, sizeof err) < 0) {
            cli_error("%s", err);
            goto fail;
        }
        if (rep_results_doc(&res[k]) < 0) {
            cli_error("out of memory");
            goto fail;
        }
    }
    return res;
fail:
    cli_free_results(res, n);
    return NULL;
}

void cli_free_results(rep_results_t *res, int n)
{
    for (int k = 0; res && k < n; k++)
        rep_results_free(&res[k]);
    free(res);
}

int cli_write_file(const char *path, int (*fill)(FILE *f, const rep_doc_t *doc, const void *arg),
                   const rep_doc_t *doc, const void *arg)
{
    char tmp[PATH_MAX + 8];
    FILE *f;

    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        cli_error("cannot write %s: file name too long", path);
        return -1;
    }
    errno = 0;
    f = fopen(tmp, "w");
    if (!f || fill(f, doc, arg) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0 ||
        (f = NULL, rename(tmp, path) < 0)) {
        cli_error("cannot write %s: %s", path, strerror(errno ? errno : EIO));
        if (f)
            fclose(f);
        remove(tmp);
        return -1;
    }
    return 0;
}
