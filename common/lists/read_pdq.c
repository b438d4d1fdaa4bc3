/*
 * read_pdq.c - a file of PDQ hashes: one a line, optionally with its
 * quality and more after commas, as PDQ hashing tools print them
 * ("HASH,QUALITY,FILENAME").
 *
 * 64 hex digits alone are a SHA-256 to the text reader, so a file of bare
 * PDQ hashes is read as such only when named *.pdq or given with
 * --format pdq; lines of "HASH,QUALITY" are recognised by content. "#"
 * starts a comment; blank lines, CRLF and spaces around fields are fine.
 * A third field and after are ignored (tools put the image's file name
 * there, which is no label a list should carry).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <string.h>

#include "hashgate/list.h"
#include "hashgate/pdq.h"
#include "lists/list_util.h"

/* Split "HEX[,QUALITY[,...]]"; -1 with *why when it is not that. */
static int
pdq_parse(const char *p, size_t len, hg_entry_t *e, const char **why)
{
    const char  *comma = memchr(p, ',', len), *q, *end;
    size_t       hl = comma ? (size_t) (comma - p) : len;
    int          quality;

    memset(e, 0, sizeof(*e));
    if (hg_entry_parse_pdq(e, p, hl, why) != 0) {
        return -1;
    }
    if (comma == NULL) {
        return 0;
    }
    q = comma + 1;
    end = memchr(q, ',', len - hl - 1);
    quality = hg_entry_parse_quality(q, end ? (size_t) (end - q)
                                            : len - hl - 1, why);
    if (quality < 0) {
        return -1;
    }
    e->quality = quality;
    return 0;
}

static hg_status_t
pdq_line(hg_lctx_t *c, void *ctx, uint64_t lineno, char *line, size_t len)
{
    const char  *p = line, *why, *hash;
    hg_entry_t   e;

    (void) ctx;
    hash = memchr(line, '#', len);
    if (hash != NULL) {
        len = (size_t) (hash - line);
    }
    hg_list_trim(&p, &len);
    if (len == 0) {
        return HG_OK;
    }
    if (pdq_parse(p, len, &e, &why) != 0) {
        return hg_lctx_bad(c, lineno, "%s", why);
    }
    return hg_lctx_emit(c, &e);
}

static hg_status_t
pdq_read(FILE *fp, const char *path, const hg_read_opts_t *opts,
         hg_entry_cb cb, void *cb_ctx, hg_read_stats_t *stats, hg_err_t *err)
{
    hg_lctx_t  c;

    hg_lctx_init(&c, path, opts, cb, cb_ctx, stats, err);
    return hg_list_each_line(fp, &c, pdq_line, NULL);
}

/*
 * 95 for a .pdq name. 75 when the first line is "HEX64,QUALITY[,...]":
 * no other reader takes that (text refuses the comma, csv wants a header).
 */
static int
pdq_probe(const char *path, const unsigned char *head, size_t head_len)
{
    const char  *p = (const char *) head, *nl, *why;
    size_t       len;
    hg_entry_t   e;

    if (hg_list_has_ext(path, ".pdq")) {
        return 95;
    }
    len = hg_list_bom_len(head, head_len);
    p += len;
    head_len -= len;
    nl = memchr(p, '\n', head_len);
    len = nl ? (size_t) (nl - p) : head_len;
    hg_list_trim(&p, &len);
    if (memchr(p, ',', len) != NULL && pdq_parse(p, len, &e, &why) == 0
        && e.quality >= 0)
    {
        return 75;
    }
    return 0;
}

const hg_reader_t hg_reader_pdq = {
    "pdq",
    "PDQ hashes, one a line: HEX[,QUALITY[,...]] (a *.pdq file or --format pdq)",
    pdq_probe,
    pdq_read
};
