/*
 * read_jsonl.c - JSON Lines: one object a line.
 *
 * Each line is an object with any of "md5", "sha1", "sha256" (hex strings;
 * one entry each) and optionally "size" (a non-negative integer) and
 * "label" (a string). "pdq" is a PDQ hash (64 hex digits), "quality" its
 * quality 0-100; the PDQ entry is one of its own beside the digests (it
 * is searched, not looked up: no part of the file's record). Other keys
 * are ignored; null means absent. Each line
 * is tokenized on its own (json_stream.c over the line in memory), so a bad
 * line - broken JSON, a wrong type, a duplicate key, text after the
 * object - is reported as "file:line: reason" and skipped, and reading goes
 * on with the next line.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>

#include "hashgate/list.h"
#include "lists/json_stream.h"
#include "lists/list_util.h"

enum { J_MD5, J_SHA1, J_SHA256, J_SIZE, J_LABEL, J_PDQ, J_QUALITY, J_COUNT };

static const char *const jsonl_keys[J_COUNT] = {
    "md5", "sha1", "sha256", "size", "label", "pdq", "quality"
};

typedef struct {
    hg_jstream_t    j;
    char            label[HG_JSTREAM_TOKEN_MAX + 1];
} jsonl_t;

/* Parse one line; *why set and -1 when it is bad. */
static int
jsonl_line(jsonl_t *x, const char *line, size_t len, hg_entry_t e[HG_ALG_COUNT],
           int have[HG_ALG_COUNT], hg_entry_t *pe, int *have_pdq,
           const char **why, char *whybuf, size_t wsz)
{
    static const hg_alg_t  algs[3] = { HG_ALG_MD5, HG_ALG_SHA1, HG_ALG_SHA256 };
    hg_jstream_t  *j = &x->j;
    hg_jt_t        t;
    unsigned       seen = 0;
    int            k, has_size = 0, has_label = 0, a, n = 0, quality = -1;
    uint64_t       size = 0;
    const char    *w;

    hg_jstream_init_mem(j, line, len);
    t = hg_jstream_next(j);
    if (t != HG_JT_OBJ_BEGIN) {
        *why = t == HG_JT_ERROR ? j->why : "the line is not a JSON object";
        return -1;
    }
    for ( ;; ) {
        t = hg_jstream_next(j);
        if (t == HG_JT_OBJ_END) {
            break;
        }
        if (t != HG_JT_KEY) {
            *why = j->why;
            return -1;
        }
        for (k = 0; k < J_COUNT; k++) {
            if (strcmp(j->tok, jsonl_keys[k]) == 0) {
                break;
            }
        }
        if (k < J_COUNT && (seen & (1u << k))) {
            snprintf(whybuf, wsz, "duplicate key \"%s\"", jsonl_keys[k]);
            *why = whybuf;
            return -1;
        }
        t = hg_jstream_next(j);
        if (t == HG_JT_ERROR) {
            *why = j->why;
            return -1;
        }
        if (k == J_COUNT || t == HG_JT_NULL) {
            if (hg_jstream_skip(j, t) == HG_JT_ERROR) {
                *why = j->why;
                return -1;
            }
            continue;
        }
        seen |= 1u << k;
        if (k <= J_SHA256 || k == J_LABEL || k == J_PDQ) {
            if (t != HG_JT_STRING) {
                snprintf(whybuf, wsz, "\"%s\" is %s, expected a string",
                         jsonl_keys[k], hg_jstream_type_name(t));
                *why = whybuf;
                return -1;
            }
            if (j->tok_overflow) {
                snprintf(whybuf, wsz, "\"%s\" is longer than %d bytes",
                         jsonl_keys[k], HG_JSTREAM_TOKEN_MAX);
                *why = whybuf;
                return -1;
            }
        }
        if (k <= J_SHA256) {
            a = algs[k];
            memset(&e[a], 0, sizeof(e[a]));
            if (hg_list_parse_digest_as(&e[a], (hg_alg_t) a, j->tok,
                                        j->tok_len, &w) != 0)
            {
                snprintf(whybuf, wsz, "\"%s\": %s", jsonl_keys[k], w);
                *why = whybuf;
                return -1;
            }
            have[a] = 1;
            n++;
        } else if (k == J_PDQ) {
            memset(pe, 0, sizeof(*pe));
            if (hg_entry_parse_pdq(pe, j->tok, j->tok_len, &w) != 0) {
                snprintf(whybuf, wsz, "\"pdq\": %s", w);
                *why = whybuf;
                return -1;
            }
            *have_pdq = 1;
            n++;
        } else if (k == J_QUALITY) {
            if (t != HG_JT_NUMBER || hg_jstream_tok_u64(j, &size) != 0
                || size > 100)
            {
                *why = "\"quality\" is not a whole number 0 to 100";
                return -1;
            }
            quality = (int) size;
            size = 0;
        } else if (k == J_SIZE) {
            if (t != HG_JT_NUMBER || hg_jstream_tok_u64(j, &size) != 0) {
                snprintf(whybuf, wsz, "\"size\" is %s, expected a "
                         "non-negative integer", t == HG_JT_NUMBER
                         ? "not an integer" : hg_jstream_type_name(t));
                *why = whybuf;
                return -1;
            }
            has_size = 1;
        } else {
            memcpy(x->label, j->tok, j->tok_len + 1);
            has_label = 1;
        }
    }
    t = hg_jstream_next(j);
    if (t != HG_JT_EOF) {
        *why = j->why;
        return -1;
    }
    if (n == 0) {
        *why = "no \"md5\", \"sha1\", \"sha256\" or \"pdq\" key";
        return -1;
    }
    if (*have_pdq) {
        pe->quality = quality;
        pe->label = has_label ? x->label : NULL;
    }
    for (a = 0; a < HG_ALG_COUNT; a++) {
        e[a].has_size = has_size;
        e[a].size = size;
        e[a].label = has_label ? x->label : NULL;
    }
    return 0;
}

static hg_status_t
jsonl_each(hg_lctx_t *c, void *ctx, uint64_t lineno, char *line, size_t len)
{
    jsonl_t      *x = ctx;
    char          whybuf[160];
    const char   *why;
    int           a, have[HG_ALG_COUNT], have_pdq = 0;
    hg_entry_t    e[HG_ALG_COUNT], pe;
    uint64_t      rec;
    hg_status_t   st = HG_OK;

    memset(have, 0, sizeof(have));
    if (jsonl_line(x, line, len, e, have, &pe, &have_pdq, &why, whybuf,
                   sizeof(whybuf)) != 0)
    {
        return hg_lctx_bad(c, lineno, "%s", why);
    }
    /* an object is one file: its digests are one record */
    rec = hg_lctx_record(c);
    for (a = 0; a < HG_ALG_COUNT && st == HG_OK; a++) {
        if (have[a]) {
            e[a].record = rec;
            st = hg_lctx_emit(c, &e[a]);
        }
    }
    if (have_pdq && st == HG_OK) {
        pe.record = rec;
        st = hg_lctx_emit(c, &pe);
    }
    return st;
}

static hg_status_t
jsonl_read(FILE *fp, const char *path, const hg_read_opts_t *opts,
           hg_entry_cb cb, void *cb_ctx, hg_read_stats_t *stats,
           hg_err_t *err)
{
    hg_lctx_t    lc;
    jsonl_t     *x;
    hg_status_t  st;

    hg_lctx_init(&lc, path, opts, cb, cb_ctx, stats, err);
    x = malloc(sizeof(*x));
    if (x == NULL) {
        return hg_err_set(err, HG_ENOMEM, "%s: out of memory", lc.path);
    }
    st = hg_list_each_line(fp, &lc, jsonl_each, x);
    free(x);
    return st;
}

/* 85 when the first line is one complete object with a digest key (a
 * ".jsonl"/".ndjson" name: 90 whatever the content). */
static int
jsonl_probe(const char *path, const unsigned char *head, size_t head_len)
{
    const char  *p = (const char *) head, *nl;
    size_t       len;

    if (hg_list_has_ext(path, ".jsonl") || hg_list_has_ext(path, ".ndjson")) {
        return 90;
    }
    len = hg_list_bom_len(head, head_len);
    p += len;
    head_len -= len;
    nl = memchr(p, '\n', head_len);
    len = nl ? (size_t) (nl - p) : head_len;
    if (len > 0 && p[len - 1] == '\r') {
        len--;
    }
    hg_list_trim(&p, &len);
    if (len >= 2 && p[0] == '{' && p[len - 1] == '}'
        && (memmem(p, len, "\"md5\"", 5) || memmem(p, len, "\"sha1\"", 6)
            || memmem(p, len, "\"sha256\"", 8) || memmem(p, len, "\"pdq\"", 5)))
    {
        return 85;
    }
    return 0;
}

const hg_reader_t hg_reader_jsonl = {
    "jsonl",
    "JSON Lines: one object a line with md5/sha1/sha256/pdq, optional size, label, quality",
    jsonl_probe,
    jsonl_read
};
