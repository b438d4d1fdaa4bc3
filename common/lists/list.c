/*
 * list.c - the reader table: find a reader by name, pick one by probing a
 * file, and read a list file from its path.
 *
 * The readers themselves live one per file in common/lists/read_NAME.c; the
 * Makefile collects them into hg_reader_table (build/gen/readers.c), so this
 * file never names a format. Detection asks every reader how sure it is
 * (0-100) from the file name and its first HG_LIST_HEAD_MAX bytes and takes
 * the highest score; on a tie the earlier reader in the table wins, so probes
 * are written to avoid ties (docs/list-formats.md lists the scores).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hashgate/list.h"
#include "lists/list_util.h"

extern const hg_reader_t *const hg_reader_table[];

const hg_reader_t *
hg_reader_find(const char *name)
{
    const hg_reader_t *const  *r;

    if (name == NULL) {
        return NULL;
    }
    for (r = hg_reader_table; *r != NULL; r++) {
        if (strcasecmp((*r)->name, name) == 0) {
            return *r;
        }
    }
    return NULL;
}

const hg_reader_t *
hg_reader_detect(const char *path, const unsigned char *head, size_t head_len)
{
    const hg_reader_t *const  *r;
    const hg_reader_t         *best = NULL;
    int                        score, best_score = 0;

    for (r = hg_reader_table; *r != NULL; r++) {
        score = (*r)->probe(path, head, head_len);
        if (score > best_score) {
            best_score = score;
            best = *r;
        }
    }
    return best;
}

const hg_reader_t *const *
hg_readers(void)
{
    return hg_reader_table;
}

/*
 * Reads the whole file (the caller's stats are reset first, so they count
 * this file). The file is probed from its first bytes and then rewound, so
 * it must be seekable; a format given by name skips the probe.
 */
hg_status_t
hg_list_read_file(const char *path, const char *format,
                  const hg_read_opts_t *opts, hg_entry_cb cb, void *cb_ctx,
                  hg_read_stats_t *stats, hg_err_t *err)
{
    const hg_reader_t  *r = NULL;
    FILE               *fp;
    unsigned char       head[HG_LIST_HEAD_MAX];
    size_t              n;
    hg_read_stats_t     local;
    hg_status_t         st;

    if (path == NULL) {
        return hg_err_set(err, HG_EINVAL, "no list file given");
    }
    if (format != NULL) {
        r = hg_reader_find(format);
        if (r == NULL) {
            return hg_err_set(err, HG_EINVAL, "unknown list format \"%s\"",
                              format);
        }
    }

    fp = fopen(path, "rbe");
    if (fp == NULL) {
        return hg_err_sys(err, errno == ENOENT ? HG_ENOENT : HG_EIO,
                          "%s: open", path);
    }

    if (r == NULL) {
        n = fread(head, 1, sizeof(head), fp);
        if (ferror(fp)) {
            st = hg_err_sys(err, HG_EIO, "%s: read", path);
            fclose(fp);
            return st;
        }
        r = hg_reader_detect(path, head, n);
        if (r == NULL) {
            fclose(fp);
            return hg_err_set(err, HG_EFORMAT, "%s: cannot tell the list "
                              "format (name it with --format)", path);
        }
        if (fseek(fp, 0, SEEK_SET) != 0) {
            st = hg_err_sys(err, HG_EIO, "%s: rewind after probing", path);
            fclose(fp);
            return st;
        }
    }

    if (stats == NULL) {
        stats = &local;
    }
    memset(stats, 0, sizeof(*stats));
    st = r->read(fp, path, opts, cb, cb_ctx, stats, err);
    fclose(fp);
    return st;
}

int
hg_entry_parse_hex(hg_entry_t *e, const char *hex, size_t len,
                   const char **why)
{
    /* per thread, so concurrent readers never share a reason */
    static _Thread_local char  reason[64];
    int                        alg;

    hg_list_trim(&hex, &len);
    alg = hg_alg_from_hexlen(len);
    if (alg < 0) {
        if (why != NULL) {
            snprintf(reason, sizeof(reason),
                     "digest length %zu is not 32, 40 or 64", len);
            *why = reason;
        }
        return -1;
    }
    if (hg_hex_decode(hex, len, e->digest) != 0) {
        if (why != NULL) {
            *why = "bad hex";
        }
        return -1;
    }
    e->alg = (hg_alg_t) alg;
    return 0;
}
