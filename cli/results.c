/* cli/results.c: the saved results that plot, report and compare read,
 * loaded and summarised, or one line saying which one is wrong. */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

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
    char dir_buf[PATH_MAX], base_buf[PATH_MAX], err[PATH_MAX + 128];
    rep_outdir_t dir;
    int rc;

    if (snprintf(dir_buf, sizeof dir_buf, "%s", path) >= (int)sizeof dir_buf) {
        cli_error("cannot write %s: file name too long", path);
        return -1;
    }
    snprintf(base_buf, sizeof base_buf, "%s", path);
    /* The file goes through the folder's descriptor as a results file does
     * (outdir.c): its temporary is created with O_EXCL|O_NOFOLLOW, so a
     * link planted at "<path>.tmp" is removed, never written through. */
    rep_output_t out = {basename(base_buf), fill, arg};
    rc = rep_outdir_open_existing(&dir, dirname(dir_buf), err, sizeof err);
    if (rc == 0)
        rc = rep_write_files(&dir, &out, 1, doc, err, sizeof err);
    rep_outdir_close(&dir, false);
    if (rc < 0)
        cli_error("%s: %s", path, err);
    return rc;
}
