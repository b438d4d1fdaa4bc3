/*
 * list_util.c - the byte source, line reader and bad-line reporting that
 * every list reader shares (see list_util.h).
 *
 * Lists come from outside and may be huge or hostile, so the source reads
 * through one fixed buffer and the line reader never grows: a line past
 * HG_LIST_LINE_MAX is consumed and flagged, and the reader reports it as a
 * bad line like any other. Every bad line goes through hg_lctx_bad, so a
 * skipped line is always both warned and counted.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hashgate/pdq.h"
#include "lists/list_util.h"

int
hg_src_init_file(hg_src_t *s, FILE *fp)
{
    memset(s, 0, sizeof(*s));
    s->fp = fp;
    s->line = 1;
    s->own = malloc(HG_LIST_IOBUF);
    if (s->own == NULL) {
        return -1;
    }
    s->buf = s->own;

    /* a UTF-8 byte order mark is not content (spreadsheets write one) */
    if (hg_src_fill(s) >= 0) {
        s->pos += hg_list_bom_len(s->buf + s->pos, s->len - s->pos);
    }
    return 0;
}

void
hg_src_init_mem(hg_src_t *s, const void *mem, size_t len)
{
    memset(s, 0, sizeof(*s));
    s->buf = mem;
    s->len = len;
    s->line = 1;
}

void
hg_src_free(hg_src_t *s)
{
    free(s->own);
    s->own = NULL;
    s->buf = NULL;
    s->len = s->pos = 0;
}

int
hg_src_fill(hg_src_t *s)
{
    size_t  n;

    if (s->pos < s->len) {
        return s->buf[s->pos];
    }
    if (s->fp == NULL || s->ioerr) {
        return -1;
    }
    s->base += s->len;
    s->pos = s->len = 0;
    n = fread(s->own, 1, HG_LIST_IOBUF, s->fp);
    if (n == 0) {
        if (ferror(s->fp)) {
            s->ioerr = errno ? errno : EIO;
        }
        return -1;
    }
    s->len = n;
    return s->buf[0];
}

int
hg_src_line(hg_src_t *s, char *buf, size_t max, size_t *len, int *too_long)
{
    size_t                n = 0, chunk, room;
    const unsigned char  *start, *nl;
    int                   any = 0;

    *too_long = 0;
    for ( ;; ) {
        if (s->pos >= s->len && hg_src_fill(s) < 0) {
            if (s->ioerr) {
                return -1;
            }
            if (!any) {
                return 0;
            }
            break;
        }
        any = 1;
        start = s->buf + s->pos;
        nl = memchr(start, '\n', s->len - s->pos);
        chunk = nl ? (size_t) (nl - start) : s->len - s->pos;

        room = max - n;
        if (chunk > room) {
            *too_long = 1;
        }
        memcpy(buf + n, start, chunk < room ? chunk : room);
        n += chunk < room ? chunk : room;
        s->pos += chunk;
        if (nl != NULL) {
            s->pos++;
            s->line++;
            break;
        }
    }
    if (n > 0 && buf[n - 1] == '\r' && !*too_long) {
        n--;
    }
    buf[n] = '\0';
    *len = n;
    return 1;
}

void
hg_lctx_init(hg_lctx_t *c, const char *path, const hg_read_opts_t *opts,
             hg_entry_cb cb, void *cb_ctx, hg_read_stats_t *stats,
             hg_err_t *err)
{
    memset(c, 0, sizeof(*c));
    c->path = path ? path : "(input)";
    c->opts = opts ? opts : &c->opts0;
    c->stats = stats ? stats : &c->stats0;
    c->cb = cb;
    c->cb_ctx = cb_ctx;
    c->err = err;
}

static void
lctx_vformat(hg_lctx_t *c, char *msg, size_t size, uint64_t where,
             const char *fmt, va_list ap)
{
    int  n;

    n = snprintf(msg, size, "%s:%llu: ", c->path, (unsigned long long) where);
    if (n < 0 || (size_t) n >= size) {
        return;
    }
    vsnprintf(msg + n, size - n, fmt, ap);
}

hg_status_t
hg_lctx_bad(hg_lctx_t *c, uint64_t where, const char *fmt, ...)
{
    char     msg[HG_ERR_MAX];
    va_list  ap;

    va_start(ap, fmt);
    lctx_vformat(c, msg, sizeof(msg), where, fmt, ap);
    va_end(ap);

    if (c->opts->strict) {
        return hg_err_set(c->err, HG_EFORMAT, "%s", msg);
    }
    c->stats->skipped++;
    if (c->opts->warn != NULL) {
        c->opts->warn(c->opts->warn_ctx, msg);
    }
    return HG_OK;
}

void
hg_lctx_warn(hg_lctx_t *c, const char *fmt, ...)
{
    char     msg[HG_ERR_MAX];
    va_list  ap;
    int      n;

    if (c->opts->warn == NULL) {
        return;
    }
    n = snprintf(msg, sizeof(msg), "%s: ", c->path);
    if (n < 0 || (size_t) n >= sizeof(msg)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
    va_end(ap);
    c->opts->warn(c->opts->warn_ctx, msg);
}

hg_status_t
hg_lctx_fail(hg_lctx_t *c, uint64_t where, const char *fmt, ...)
{
    char     msg[HG_ERR_MAX];
    va_list  ap;

    va_start(ap, fmt);
    lctx_vformat(c, msg, sizeof(msg), where, fmt, ap);
    va_end(ap);
    return hg_err_set(c->err, HG_EFORMAT, "%s", msg);
}

hg_status_t
hg_lctx_ioerr(hg_lctx_t *c)
{
    return hg_err_sys(c->err, HG_EIO, "%s: read", c->path);
}

uint64_t
hg_lctx_record(hg_lctx_t *c)
{
    return ++c->records;
}

hg_status_t
hg_lctx_emit(hg_lctx_t *c, const hg_entry_t *e)
{
    hg_entry_t  own;

    if (!e->remove && !e->pdq && !c->empty_warned
        && hg_digest_is_empty(e->alg, e->digest))
    {
        /* kept (the list says so), but hg_scan_end never matches it */
        c->empty_warned = 1;
        hg_lctx_warn(c, "lists the %s of the empty file; it is never "
                     "matched (every empty upload, form field and part "
                     "would be)", hg_alg_name(e->alg));
    }
    if (e->record == 0) {
        own = *e;
        own.record = hg_lctx_record(c);
        e = &own;
    }
    c->stats->entries++;
    return c->cb ? c->cb(c->cb_ctx, e) : HG_OK;
}

hg_status_t
hg_list_each_line(FILE *fp, hg_lctx_t *c, hg_list_line_fn fn, void *ctx)
{
    hg_src_t     src;
    char        *line;
    const char  *p;
    size_t       len;
    uint64_t     lineno;
    int          rc, too_long;
    hg_status_t  st = HG_OK;

    line = malloc(HG_LIST_LINE_MAX + 1);
    if (line == NULL || hg_src_init_file(&src, fp) != 0) {
        free(line);
        return hg_err_set(c->err, HG_ENOMEM, "%s: out of memory", c->path);
    }
    for ( ;; ) {
        lineno = src.line;
        rc = hg_src_line(&src, line, HG_LIST_LINE_MAX, &len, &too_long);
        if (rc <= 0) {
            if (rc < 0) {
                st = hg_lctx_ioerr(c);
            }
            break;
        }
        p = line;
        hg_list_trim(&p, &len);
        if (too_long) {
            st = hg_lctx_bad(c, lineno, "line longer than %d bytes",
                             HG_LIST_LINE_MAX);
        } else if (len > 0) {
            ((char *) p)[len] = '\0';
            st = fn(c, ctx, lineno, (char *) p, len);
        }
        if (st != HG_OK) {
            break;
        }
    }
    hg_src_free(&src);
    free(line);
    return st;
}

size_t
hg_list_bom_len(const unsigned char *head, size_t len)
{
    return len >= 3 && memcmp(head, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

int
hg_list_is_hex(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
           || (c >= 'A' && c <= 'F');
}

int
hg_list_parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t  v = 0;
    size_t    i;

    if (len == 0) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        /* Catch uint64_t overflow */
        if (v > (UINT64_MAX - (uint64_t) (s[i] - '0')) / 10) {
            return -1;
        }
        v = v * 10 + (uint64_t) (s[i] - '0');
    }
    *out = v;
    return 0;
}

int
hg_list_parse_digest_as(hg_entry_t *e, hg_alg_t want, const char *hex,
                        size_t len, const char **why)
{
    static _Thread_local char  reason[64];

    if (hg_entry_parse_hex(e, hex, len, why) != 0) {
        return -1;
    }
    if (e->alg != want) {
        hg_list_trim(&hex, &len);
        snprintf(reason, sizeof(reason), "a %zu-digit digest, expected %zu",
                 len, 2 * hg_alg_len(want));
        *why = reason;
        return -1;
    }
    return 0;
}

int
hg_list_has_ext(const char *path, const char *ext)
{
    size_t  pl, el;

    if (path == NULL) {
        return 0;
    }
    pl = strlen(path);
    el = strlen(ext);
    return pl > el && strcasecmp(path + pl - el, ext) == 0;
}

static int
list_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void
hg_list_trim(const char **s, size_t *len)
{
    while (*len > 0 && list_space(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && list_space((*s)[*len - 1])) {
        (*len)--;
    }
}

int
hg_list_word_eq(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

int
hg_entry_parse_pdq(hg_entry_t *e, const char *hex, size_t len,
                   const char **why)
{
    static _Thread_local char  reason[64];
    hg_pdq_hash_t              h;

    hg_list_trim(&hex, &len);
    if (len != HG_PDQ_HEX_LEN) {
        snprintf(reason, sizeof(reason), "a PDQ hash of %zu hex digits, "
                 "expected 64", len);
        *why = reason;
        return -1;
    }
    if (hg_pdq_from_hex(hex, len, &h) != 0) {
        *why = "bad hex in a PDQ hash";
        return -1;
    }
    e->pdq = 1;
    e->alg = HG_ALG_SHA256;
    e->quality = -1;
    e->has_size = 0;
    memcpy(e->digest, h.b, HG_PDQ_BYTES);
    return 0;
}

int
hg_entry_parse_quality(const char *s, size_t len, const char **why)
{
    uint64_t  v;

    hg_list_trim(&s, &len);
    if (hg_list_parse_u64(s, len, &v) != 0 || v > 100) {
        *why = "a PDQ quality is a whole number 0 to 100";
        return -1;
    }
    return (int) v;
}
