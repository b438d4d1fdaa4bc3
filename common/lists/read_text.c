/*
 * read_text.c - plain digest lists: one hex digest a line.
 *
 * The simplest form hotlines and tools (md5deep -q, a column cut from a
 * spreadsheet) produce. Any case; "#" starts a comment, whole-line or
 * trailing; blank lines, CRLF and surrounding spaces or tabs are fine. The
 * algorithm comes from the digest's length: 32 MD5, 40 SHA-1, 64 SHA-256.
 * Anything else on a line makes it a bad line. "pdq:HEX" is a PDQ hash
 * (64 hex digits, which bare would be a SHA-256).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <string.h>
#include <strings.h>

#include "hashgate/list.h"
#include "hashgate/pdq.h"
#include "lists/list_util.h"

static int
text_all_hex(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (!hg_list_is_hex((unsigned char) s[i])) {
            return 0;
        }
    }
    return 1;
}

/*
 * 70 when every complete line of the head is a digest, comment or blank and
 * at least one is a digest: content is the best evidence for this format.
 * 20 for a .txt/.md5/.sha1/.sha256 name whose content says nothing.
 */
static int
text_probe(const char *path, const unsigned char *head, size_t head_len)
{
    const char  *p = (const char *) head, *end = p + head_len, *nl, *hash;
    size_t       len;
    int          digests = 0;

    p += hg_list_bom_len(head, head_len);
    for ( ;; ) {
        nl = memchr(p, '\n', end - p);
        if (nl == NULL) {
            /* a cut line says nothing, but a short head is the whole file
             * and its last line may lack a newline */
            if (head_len >= HG_LIST_HEAD_MAX || p == end) {
                break;
            }
            nl = end;
        }
        len = nl - p;
        hash = memchr(p, '#', len);
        if (hash != NULL) {
            len = hash - p;
        }
        hg_list_trim(&p, &len);
        if (len == 4 + HG_PDQ_HEX_LEN && strncasecmp(p, "pdq:", 4) == 0) {
            p += 4;
            len -= 4;
        }
        if (len > 0) {
            if (hg_alg_from_hexlen(len) < 0 || !text_all_hex(p, len)) {
                digests = -1;
                break;
            }
            digests++;
        }
        if (nl == end) {
            break;
        }
        p = nl + 1;
    }
    if (digests > 0) {
        return 70;
    }
    if (hg_list_has_ext(path, ".txt") || hg_list_has_ext(path, ".md5")
        || hg_list_has_ext(path, ".sha1") || hg_list_has_ext(path, ".sha256"))
    {
        return 20;
    }
    return 0;
}

static hg_status_t
text_line(hg_lctx_t *c, void *ctx, uint64_t lineno, char *line, size_t len)
{
    char        *hash;
    const char  *p = line, *why;
    hg_entry_t   e;

    (void) ctx;
    hash = memchr(line, '#', len);
    if (hash != NULL) {
        len = hash - line;
        hg_list_trim(&p, &len);
        if (len == 0) {
            return HG_OK;
        }
    }
    memset(&e, 0, sizeof(e));
    if (memchr(p, ' ', len) != NULL || memchr(p, '\t', len) != NULL) {
        return hg_lctx_bad(c, lineno, "more than one word on the line "
                           "(expected one hex digest)");
    }
    if (len >= 4 && strncasecmp(p, "pdq:", 4) == 0) {
        /* a PDQ hash: 64 hex digits would otherwise be a SHA-256 */
        if (hg_entry_parse_pdq(&e, p + 4, len - 4, &why) != 0) {
            return hg_lctx_bad(c, lineno, "%s", why);
        }
        return hg_lctx_emit(c, &e);
    }
    if (hg_entry_parse_hex(&e, p, len, &why) != 0) {
        return hg_lctx_bad(c, lineno, "%s", why);
    }
    return hg_lctx_emit(c, &e);
}

static hg_status_t
text_read(FILE *fp, const char *path, const hg_read_opts_t *opts,
          hg_entry_cb cb, void *cb_ctx, hg_read_stats_t *stats, hg_err_t *err)
{
    hg_lctx_t  c;

    hg_lctx_init(&c, path, opts, cb, cb_ctx, stats, err);
    return hg_list_each_line(fp, &c, text_line, NULL);
}

const hg_reader_t hg_reader_text = {
    "text",
    "one hex digest (MD5, SHA-1 or SHA-256) or pdq:HEX a line, # comments",
    text_probe,
    text_read
};
