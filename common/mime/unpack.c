/*
 * unpack.c - the streaming MIME push parser: structure, boundaries, limits.
 *
 * The parser is a state machine over the input as it arrives, in chunks of
 * any size. It keeps only what it must: the header block of the entity
 * being read (max_header_bytes), one candidate boundary line (at most
 * UNPACK_CAND_MAX bytes), the line end before it, one frame per open
 * multipart (max_depth) and a decode buffer. Only a line starting with '-'
 * can be a boundary, so body bytes are scanned with memchr for '-' and only
 * such a line, and the line end before it, is held back; in a base64 part
 * ('-' is not in its alphabet) the decoder itself stops at a '-', so an
 * attachment is read once, in large runs.
 *
 * Boundaries. A boundary line is "--" boundary, optionally "--" (the close
 * delimiter), optional blanks, then the line end; the line end BEFORE it
 * belongs to the delimiter (RFC 2046 5.1.1), so the last CRLF or LF of a
 * part is held back until the next line is known not to be a boundary.
 * Any open multipart's boundary ends the inner ones too. After a close
 * delimiter, the epilogue is skipped until an outer boundary or the end,
 * or until its own delimiter comes again: that reopens the multipart and
 * the parts after it are numbered on (union scanning, docs/mime.md).
 * A missing final boundary is tolerated: the end of input closes every
 * part, and a line end held back then is dropped, as the delimiter that
 * did not come would have taken it (Python's email package agrees): a file
 * sent without the close delimiter hashes as the file. A delimiter line
 * cut before its line end is still a delimiter. Lines may end in CRLF or
 * LF; a lone CR is not a line end (Python's email package splits on it
 * too: a boundary after a lone CR is text here).
 *
 * Part numbering follows IMAP BODYSTRUCTURE (RFC 3501 6.4.5):
 *   - a message whose body is not multipart has one part, "1";
 *   - the children of a multipart are numbered from 1 under its own number
 *     ("2" -> "2.1", "2.2"); a top-level multipart's children are "1", "2";
 *   - a message/rfc822 (or message/global) part "P" is not a leaf: the
 *     attached message's parts are numbered under P exactly as a top-level
 *     message's are: "P.1", "P.2" if its body is multipart, else its single
 *     body is "P.1";
 *   - a uuencoded block inside a text part "P" is "P.u1", "P.u2", ...;
 *   - the copies of a part "P" (other readings of it, unpack_copy.c)
 *     are "P.d1", "P.d2", "P.d3".
 * Only leaves are reported; preambles and epilogues are never parts.
 *
 * A leaf's transfer decoding and the uuencoded blocks inside it are
 * unpack_leaf.c's, its other readings unpack_copy.c's; the state they
 * share is in unpack_int.h. Where the standards leave room (parts after a
 * close delimiter, a multipart with text but no part, a field given
 * twice, a NUL in a boundary, a padded delimiter, a line that is not a
 * header), the choices are argued in docs/mime.md.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime/unpack_int.h"

void
hg_unpack_limits_default(hg_unpack_limits_t *l)
{
    l->max_depth = HG_MAX_MIME_DEPTH;
    l->max_parts = HG_MAX_PARTS;
    l->max_header_bytes = HG_MAX_HEADER_BYTES;
    l->max_line_bytes = HG_MAX_LINE_BYTES;
    l->max_part_bytes = 0;
    l->max_total_bytes = 0;
}

/* Record the first error; every later call returns it. */
hg_status_t
hg_unpack_fail(hg_unpack_t *u, hg_status_t st, const char *fmt, ...)
{
    va_list ap;

    if (u->st != HG_OK) {
        return u->st;
    }
    va_start(ap, fmt);
    vsnprintf(u->msg, sizeof(u->msg), fmt, ap);
    va_end(ap);
    u->st = st;
    return st;
}

/* A callback's refusal, made sticky with a message naming the part. */
hg_status_t
hg_unpack_cb_fail(hg_unpack_t *u, hg_status_t st, const char *what,
                  const char *path)
{
    if (st == HG_ECANCEL) {
        return hg_unpack_fail(u, st, "part %s: stopped by the caller", path);
    }
    return hg_unpack_fail(u, st, "part %s: %s callback failed: %s", path, what,
                          hg_status_str(st));
}

static hg_status_t
_reserve(hg_unpack_t *u, void **buf, size_t *cap, size_t need, size_t elem)
{
    size_t  ncap = *cap ? *cap : 16;
    void   *nb;

    if (need <= *cap) {
        return HG_OK;
    }
    while (ncap < need) {
        ncap *= 2;
    }
    if ((nb = realloc(*buf, ncap * elem)) == NULL) {
        return hg_unpack_fail(u, HG_ENOMEM, "out of memory");
    }
    *buf = nb;
    *cap = ncap;
    return HG_OK;
}

/* Set u->path to prefix (prefix_len bytes of it) + "." + n (or "n"). */
static hg_status_t
_path_child(hg_unpack_t *u, size_t prefix_len, const char *sep, unsigned n)
{
    hg_status_t st;
    int         w;

    st = _reserve(u, (void **) &u->path, &u->path_cap,
                  prefix_len + UNPACK_COMPONENT + 1, 1);
    if (st != HG_OK) {
        return st;
    }
    w = snprintf(u->path + prefix_len, UNPACK_COMPONENT + 1, "%s%s%u",
                 prefix_len > 0 ? "." : "", sep, n);
    u->path_len = prefix_len + (size_t) w;
    return HG_OK;
}

/* ---- structure ---- */

static void
_body_reset(hg_unpack_t *u)
{
    u->bs = BS_LINESTART;
    u->pend_len = 0;
    u->cand_len = 0;
}

static hg_status_t
_enter_headers(hg_unpack_t *u)
{
    u->state = ST_HEADERS;
    u->hdr_len = 0;
    u->line_start = 0;
    return HG_OK;
}

/* The entity's header block is complete: decide what it is. */
static hg_status_t
_headers_done(hg_unpack_t *u)
{
    hg_status_t st;
    size_t      own;
    _frame_t   *f;
    const char *e;
    int         coded;

    hg_mime_fields_free(&u->fields);
    if (hg_mime_fields_parse(&u->fields, u->hdr, u->hdr_len) != HG_OK) {
        return hg_unpack_fail(u, HG_ENOMEM, "out of memory");
    }
    u->hdr_len = 0;
    u->line_start = 0;
    if (u->fields.type[0] != '\0') {
        memcpy(u->type, u->fields.type, sizeof(u->type));
    } else {
        /* RFC 2046 5.1.5; Python also reads a malformed type as text/plain */
        snprintf(u->type, sizeof(u->type), "%s",
                 u->in_digest && !u->fields.has_type ? "message/rfc822"
                                                     : "text/plain");
    }
    _body_reset(u);

    if (strncmp(u->type, "multipart/", 10) == 0 && u->fields.boundary_nul) {
        return hg_unpack_fail(u, HG_EFORMAT, "part %s: boundary holds a NUL "
                              "byte", u->msg_root && u->prefix_len == 0
                              ? "0" : u->path);
    }
    if (u->fields.conflict != NULL) {
        return hg_unpack_fail(u, HG_EFORMAT, "part %s: %s given twice, read "
                              "two ways (readers would disagree on what it "
                              "holds)",
                              u->msg_root && u->prefix_len == 0 ? "0" : u->path,
                              u->fields.conflict);
    }
    if (strncmp(u->type, "multipart/", 10) == 0 && u->fields.boundary != NULL) {
        if (strlen(u->fields.boundary) > HG_MIME_BOUNDARY_HARD) {
            return hg_unpack_fail(u, HG_EFORMAT, "part %s: boundary longer "
                                  "than %d characters",
                                  u->msg_root && u->prefix_len == 0
                                  ? "0" : u->path, HG_MIME_BOUNDARY_HARD);
        }
        if (u->depth + 1 > u->lim.max_depth) {
            return hg_unpack_fail(u, HG_ELIMIT, "part %s: nesting deeper "
                                  "than %u (max_depth)",
                                  u->path_len ? u->path : "0",
                                  u->lim.max_depth);
        }
        st = _reserve(u, (void **) &u->frames, &u->frames_cap,
                      u->nframes + 1, sizeof(_frame_t));
        if (st != HG_OK) {
            return st;
        }
        f = &u->frames[u->nframes++];
        f->blen = strlen(u->fields.boundary);
        memcpy(f->boundary, u->fields.boundary, f->blen + 1);
        f->base_len = u->msg_root ? u->prefix_len : u->path_len;
        f->nchildren = 0;
        f->depth = u->depth + 1;
        f->digest = strcmp(u->type, "multipart/digest") == 0;
        f->closed = 0;
        f->text = 0;
        hg_mime_fields_free(&u->fields);
        u->state = ST_BODY;
        u->sink = SINK_DISCARD;         /* the preamble */
        return HG_OK;
    }

    /* a message root's own body is part "prefix.1" */
    if (u->msg_root) {
        own = u->prefix_len;
        if ((st = _path_child(u, own, "", 1)) != HG_OK) {
            return st;
        }
    }

    e = u->fields.encoding;
    coded = strcmp(e, "base64") == 0 || strcmp(e, "quoted-printable") == 0
            || strstr(e, "uu") != NULL;
    if (u->mode == HG_UNPACK_MESSAGE && !coded
        && (strcmp(u->type, "message/rfc822") == 0
            || strcmp(u->type, "message/global") == 0))
    {
        if (u->depth + 1 > u->lim.max_depth) {
            return hg_unpack_fail(u, HG_ELIMIT, "part %s: nesting deeper "
                                  "than %u (max_depth)", u->path,
                                  u->lim.max_depth);
        }
        hg_mime_fields_free(&u->fields);
        u->msg_root = 1;
        u->prefix_len = u->path_len;
        u->depth++;
        u->in_digest = 0;
        return _enter_headers(u);
    }
    return hg_unpack_leaf_begin(u);
}

/*
 * A multipart is over (its close delimiter, an outer boundary, the end of
 * input). Having had text but no part, everything in it was preamble that
 * no callback saw: HG_EFORMAT (docs/mime.md).
 */
static hg_status_t
_frame_end(hg_unpack_t *u, const _frame_t *f)
{
    if (f->nchildren > 0 || !f->text) {
        return HG_OK;
    }
    return hg_unpack_fail(u, HG_EFORMAT, "part %.*s: multipart with text but "
                          "no part (its boundary never starts a line): "
                          "nothing to hash",
                          f->base_len > 0 ? (int) f->base_len : 1,
                          f->base_len > 0 ? u->path : "0");
}

/* A boundary line of frame k: end what is open, start what follows. */
static hg_status_t
_boundary(hg_unpack_t *u, unsigned k, int close)
{
    hg_status_t st;
    _frame_t   *f;
    unsigned    i;

    if (u->leaf_open && (st = hg_unpack_leaf_end(u)) != HG_OK) {
        return st;
    }
    for (i = k + 1; i < u->nframes; i++) {
        if ((st = _frame_end(u, &u->frames[i])) != HG_OK) {
            return st;
        }
    }
    u->nframes = k + 1;
    f = &u->frames[k];
    _body_reset(u);
    f->closed = 0;                      /* a delimiter in its epilogue */
    if (close) {
        if ((st = _frame_end(u, f)) != HG_OK) {
            return st;
        }
        f->closed = 1;
        u->state = ST_BODY;
        u->sink = SINK_DISCARD;
        return HG_OK;
    }
    if ((st = _path_child(u, f->base_len, "", ++f->nchildren)) != HG_OK) {
        return st;
    }
    u->msg_root = 0;
    u->depth = f->depth;
    u->in_digest = f->digest;
    return _enter_headers(u);
}

/* Which open frame's boundary is this line (no line end)? -1: none. */
static int
_match(hg_unpack_t *u, const unsigned char *l, size_t len, int *close)
{
    unsigned        i;
    const _frame_t *f;
    size_t          r;

    if (len < 2 || l[0] != '-' || l[1] != '-') {
        return -1;
    }
    for (i = u->nframes; i-- > 0; ) {
        f = &u->frames[i];
        if (len < 2 + f->blen || memcmp(l + 2, f->boundary, f->blen) != 0) {
            continue;
        }
        r = 2 + f->blen;
        *close = 0;
        if (len - r >= 2 && l[r] == '-' && l[r + 1] == '-') {
            *close = 1;
            r += 2;
        }
        while (r < len && (l[r] == ' ' || l[r] == '\t')) {
            r++;
        }
        /* in the epilogue only a delimiter that reopens counts (union scan) */
        if (r == len && !(f->closed && *close)) {
            return (int) i;
        }
    }
    return -1;
}

/*
 * Is any line a boundary? Once every multipart is over nothing could be
 * but a closed one is not over: its own delimiter may reopen it.
 */
static int
_open_frames(const hg_unpack_t *u)
{
    return u->nframes > 0;
}

/* ---- input ---- */

/*
 * Bytes for the open leaf, or for nothing: a preamble or an epilogue. A
 * preamble is watched for text (_frame_end); blanks and line ends are not.
 */
static hg_status_t
_sink(hg_unpack_t *u, const unsigned char *p, size_t n)
{
    _frame_t   *f;
    size_t      i;

    if (u->sink == SINK_LEAF) {
        return hg_unpack_leaf_data(u, p, n);
    }
    if (u->nframes == 0) {
        return HG_OK;
    }
    f = &u->frames[u->nframes - 1];
    if (f->closed || f->nchildren > 0 || f->text) {
        return HG_OK;
    }
    for (i = 0; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n') {
            f->text = 1;
            break;
        }
    }
    return HG_OK;
}

static hg_status_t
_flush_pend(hg_unpack_t *u)
{
    size_t  n = u->pend_len;

    u->pend_len = 0;
    return n > 0 ? _sink(u, u->pend, n) : HG_OK;
}

/* Body bytes; stops after a boundary line (the state changed). */
static hg_status_t
_body(hg_unpack_t *u, const unsigned char *p, size_t n, size_t *usedp)
{
    const unsigned char *start = p, *q;
    size_t               take, ll, eol;
    hg_status_t          st = HG_OK;
    int                  k, close;

    if (!_open_frames(u)) {
        *usedp = n;
        return _sink(u, p, n);
    }
    while (n > 0 && st == HG_OK) {
        switch (u->bs) {
        case BS_LINESTART:
            if (u->cand_len == 0 && *p != '-') {
                st = _flush_pend(u);
                u->bs = BS_MID;
                u->prev_byte = '\n';
                break;
            }
            take = UNPACK_CAND_MAX - u->cand_len;
            if (take > n) {
                take = n;
            }
            q = memchr(p, '\n', take);
            if (q == NULL) {
                memcpy(u->cand + u->cand_len, p, take);
                u->cand_len += take;
                p += take;
                n -= take;
                if (u->cand_len < UNPACK_CAND_MAX) {
                    break;
                }
                /*
                 * Too long for a boundary: text, unless it is an open
                 * frame's delimiter padded with blanks past what is held.
                 * Readers that allow any padding (Python does) would see
                 * parts where this parser saw text, so that is a limit.
                 */
                if (_match(u, u->cand, u->cand_len, &close) >= 0) {
                    st = hg_unpack_fail(u, HG_ELIMIT, "part %s: boundary "
                                        "line longer than %d bytes (trailing "
                                        "blanks)", u->path_len ? u->path : "0",
                                        UNPACK_CAND_MAX);
                    break;
                }
                ll = u->cand_len;
                u->cand_len = 0;
                if ((st = _flush_pend(u)) != HG_OK) {
                    break;
                }
                if (u->cand[ll - 1] == '\r') {
                    st = _sink(u, u->cand, ll - 1);
                    u->bs = BS_MID_CR;
                } else {
                    st = _sink(u, u->cand, ll);
                    u->bs = BS_MID;
                    u->prev_byte = u->cand[ll - 1];
                }
                break;
            }
            take = (size_t) (q - p) + 1;
            memcpy(u->cand + u->cand_len, p, take);
            u->cand_len += take;
            p += take;
            n -= take;
            ll = u->cand_len;
            eol = ll >= 2 && u->cand[ll - 2] == '\r' ? 2 : 1;
            u->cand_len = 0;
            k = _match(u, u->cand, ll - eol, &close);
            if (k >= 0) {
                u->pend_len = 0;
                st = _boundary(u, (unsigned) k, close);
                *usedp = (size_t) (p - start);
                return st;
            }
            if ((st = _flush_pend(u)) != HG_OK
                || (st = _sink(u, u->cand, ll - eol)) != HG_OK)
            {
                break;
            }
            memcpy(u->pend, u->cand + ll - eol, eol);
            u->pend_len = eol;
            break;

        case BS_MID:
            if (u->sink == SINK_LEAF && u->dec == DEC_B64) {
                st = hg_unpack_b64_run(u, p, n, &take);
                p += take;
                n -= take;
                if (n > 0) {
                    u->bs = BS_LINESTART;   /* at "-" starting a line */
                }
                break;
            }
            /*
             * Only a line starting with '-' can be a boundary, and base64
             * has no '-': look for "\n-" by memchr on '-', so the other line
             * ends pass through with the data in one run.
             */
            for (q = p + 1; (q = memchr(q, '-', (size_t) (p + n - q))) != NULL; q++) {
                if (q[-1] == '\n') {
                    break;
                }
            }
            if (q != NULL) {
                eol = q - 1 > p && q[-2] == '\r' ? 2 : 1;
                take = (size_t) (q - p);
            } else if (p[n - 1] == '\n') {
                eol = n > 1 && p[n - 2] == '\r' ? 2 : 1;
                take = n;
            } else {
                /* no line end to hold back; maybe a CR */
                if (p[n - 1] == '\r') {
                    st = _sink(u, p, n - 1);
                    u->bs = BS_MID_CR;
                } else {
                    st = _sink(u, p, n);
                }
                p += n;
                n = 0;
                break;
            }
            st = _sink(u, p, take - eol);
            memcpy(u->pend, p + take - eol, eol);
            u->pend_len = eol;
            p += take;
            n -= take;
            u->bs = BS_LINESTART;
            break;

        case BS_MID_CR:
            if (*p == '\n') {
                u->pend[0] = '\r';
                u->pend[1] = '\n';
                u->pend_len = 2;
                p++;
                n--;
                u->bs = BS_LINESTART;
            } else {
                st = _sink(u, (const unsigned char *) "\r", 1);
                u->bs = BS_MID;
                u->prev_byte = '\r';
            }
            break;
        }
    }
    *usedp = (size_t) (p - start);
    return st;
}

/*
 * End of input in a body: settle what _body held back. A last line that is
 * an open frame's delimiter without its line end is one (Python's boundary
 * pattern makes the line end optional too). Otherwise no delimiter
 * followed, and the held line start is data; but a held line end with
 * nothing after it is the one that precedes a delimiter (RFC 2046 5.1.1),
 * dropped as it would have been had the close delimiter come: a part cut
 * off there is the file as sent, and hashes as it.
 */
static hg_status_t
_body_end(hg_unpack_t *u)
{
    hg_status_t st = HG_OK;
    size_t      n = u->cand_len;
    int         k, close;

    u->cand_len = 0;
    if (n > 0 && _open_frames(u)) {
        k = _match(u, u->cand, u->cand[n - 1] == '\r' ? n - 1 : n, &close);
        if (k >= 0) {
            u->pend_len = 0;
            return _boundary(u, (unsigned) k, close);
        }
    }
    if (u->bs == BS_MID_CR) {
        st = _sink(u, (const unsigned char *) "\r", 1);
    }
    if (n == 0) {
        u->pend_len = 0;
        return st;
    }
    if (st == HG_OK) {
        st = _flush_pend(u);
    }
    return st == HG_OK ? _sink(u, u->cand, n) : st;
}

/* Does a header line look like a field (Python's headerRE)? */
static int
_is_field_line(const char *l, size_t len)
{
    size_t  i;

    if (len >= 5 && memcmp(l, "From ", 5) == 0) {
        return 1;
    }
    if (len > 0 && (l[0] == ' ' || l[0] == '\t')) {
        return 1;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char) l[i];

        if (c == ':') {
            return 1;
        }
        if (c < 0x21 || c > 0x7e) {
            return 0;
        }
    }
    return 0;
}

static hg_status_t _run(hg_unpack_t *u, const unsigned char *p, size_t n);

/* One complete header line, the last in u->hdr. */
static hg_status_t
_header_line(hg_unpack_t *u)
{
    char           *l = u->hdr + u->line_start;
    size_t          ll = u->hdr_len - u->line_start, eol;
    unsigned char  *copy;
    hg_status_t     st;
    int             k, close;

    eol = ll >= 2 && l[ll - 2] == '\r' ? 2 : 1;
    if (_open_frames(u)
        && (k = _match(u, (unsigned char *) l, ll - eol, &close)) >= 0)
    {
        /* a part with headers and no body */
        u->hdr_len = u->line_start;
        while (u->state == ST_HEADERS) {
            if ((st = _headers_done(u)) != HG_OK) {
                return st;
            }
        }
        return _boundary(u, (unsigned) k, close);
    }
    if (ll == eol) {
        u->hdr_len = u->line_start;
        return _headers_done(u);
    }
    if (_is_field_line(l, ll - eol)) {
        /* NULs stay: hg_mime_fields_parse blanks them, except in a boundary */
        u->line_start = u->hdr_len;
        return HG_OK;
    }
    /* not a header: the body starts with this line */
    if ((copy = malloc(ll)) == NULL) {
        return hg_unpack_fail(u, HG_ENOMEM, "out of memory");
    }
    memcpy(copy, l, ll);
    u->hdr_len = u->line_start;
    st = _headers_done(u);
    if (st == HG_OK) {
        st = _run(u, copy, ll);
    }
    free(copy);
    return st;
}

static hg_status_t
_headers(hg_unpack_t *u, const unsigned char *p, size_t n, size_t *usedp)
{
    const unsigned char *q;
    size_t               take, line;
    hg_status_t          st;

    q = memchr(p, '\n', n);
    take = q != NULL ? (size_t) (q - p) + 1 : n;
    line = u->hdr_len - u->line_start + take;
    if (line > u->lim.max_line_bytes + 2) {
        return hg_unpack_fail(u, HG_ELIMIT, "part %s: header line longer "
                              "than %zu bytes (max_line_bytes)",
                              u->path_len ? u->path : "0",
                              u->lim.max_line_bytes);
    }
    if (u->hdr_len + take > u->lim.max_header_bytes) {
        return hg_unpack_fail(u, HG_ELIMIT, "part %s: header block larger "
                              "than %zu bytes (max_header_bytes)",
                              u->path_len ? u->path : "0",
                              u->lim.max_header_bytes);
    }
    st = _reserve(u, (void **) &u->hdr, &u->hdr_cap, u->hdr_len + take, 1);
    if (st != HG_OK) {
        return st;
    }
    memcpy(u->hdr + u->hdr_len, p, take);
    u->hdr_len += take;
    *usedp = take;
    return q != NULL ? _header_line(u) : HG_OK;
}

static hg_status_t
_run(hg_unpack_t *u, const unsigned char *p, size_t n)
{
    size_t      used = 0;
    hg_status_t st;

    while (n > 0) {
        if (u->state == ST_HEADERS) {
            st = _headers(u, p, n, &used);
        } else {
            st = _body(u, p, n, &used);
        }
        if (st != HG_OK) {
            return hg_unpack_fail(u, st, "%s", hg_status_str(st));
        }
        p += used;
        n -= used;
    }
    return HG_OK;
}

/* ---- the API ---- */

hg_unpack_t *
hg_unpack_new(hg_unpack_mode_t mode, const char *content_type,
              const hg_unpack_limits_t *limits, const hg_unpack_cb_t *cb,
              void *cb_ctx, hg_err_t *err)
{
    hg_unpack_t    *u;
    char            type[HG_MIME_TYPE_MAX + 1], *b = NULL;
    _frame_t       *f;
    int             twice = 0;

    if (cb == NULL || cb->part_begin == NULL || cb->part_data == NULL
        || cb->part_end == NULL)
    {
        hg_err_set(err, HG_EINVAL, "unpack: every callback must be set");
        return NULL;
    }
    if (mode == HG_UNPACK_FORMDATA) {
        if (content_type == NULL) {
            hg_err_set(err, HG_EINVAL, "form-data: no Content-Type");
            return NULL;
        }
        switch (hg_mime_content_type(content_type, strlen(content_type), type,
                                     sizeof(type), &b, &twice)) {
        case HG_OK:
            break;
        case HG_EFORMAT:
            hg_err_set(err, HG_EFORMAT, "form-data: boundary holds a NUL byte");
            return NULL;
        default:
            hg_err_set(err, HG_ENOMEM, "out of memory");
            return NULL;
        }
        if (b == NULL) {
            hg_err_set(err, HG_EFORMAT, "form-data: no boundary in "
                       "Content-Type");
            return NULL;
        }
        if (twice) {
            /* an application reading the other one would find other files */
            hg_err_set(err, HG_EFORMAT, "form-data: boundary given twice "
                       "with different values");
            free(b);
            return NULL;
        }
        if (strlen(b) > HG_MAX_BOUNDARY_LEN) {
            hg_err_set(err, HG_EFORMAT, "form-data: boundary longer than %d "
                       "characters", HG_MAX_BOUNDARY_LEN);
            free(b);
            return NULL;
        }
    }
    if ((u = calloc(1, sizeof(*u))) == NULL
        || (u->out = malloc(UNPACK_OUT_MAX + HG_UU_OUT_MIN)) == NULL)
    {
        goto nomem;
    }
    u->mode = mode;
    if (limits != NULL) {
        u->lim = *limits;
    } else {
        hg_unpack_limits_default(&u->lim);
    }
    u->cb = *cb;
    u->ctx = cb_ctx;
    u->path_cap = 64;
    if ((u->path = calloc(1, u->path_cap)) == NULL) {
        goto nomem;
    }
    hg_mime_fields_init(&u->fields);
    if (mode == HG_UNPACK_FORMDATA) {
        if ((u->frames = calloc(1, sizeof(_frame_t))) == NULL) {
            goto nomem;
        }
        u->frames_cap = 1;
        f = &u->frames[0];
        f->blen = strlen(b);
        memcpy(f->boundary, b, f->blen + 1);
        f->depth = 1;
        u->nframes = 1;
        u->state = ST_BODY;
        u->sink = SINK_DISCARD;
        _body_reset(u);
    } else {
        u->msg_root = 1;
        _enter_headers(u);
    }
    free(b);
    return u;

nomem:
    free(b);
    hg_unpack_free(u);
    hg_err_set(err, HG_ENOMEM, "out of memory");
    return NULL;
}

void
hg_unpack_free(hg_unpack_t *u)
{
    unsigned    i;

    if (u == NULL) {
        return;
    }
    hg_mime_fields_free(&u->fields);
    free(u->frames);
    free(u->path);
    free(u->hdr);
    free(u->out);
    free(u->sub_out);
    free(u->sub_path);
    free(u->copy_out);
    free(u->copy_stage);
    for (i = 0; i < UNPACK_COPIES; i++) {
        free(u->copies[i].path);
    }
    free(u);
}

static hg_status_t
_sticky(hg_unpack_t *u, hg_err_t *err)
{
    return hg_err_set(err, u->st, "%s", u->msg);
}

hg_status_t
hg_unpack_feed(hg_unpack_t *u, const void *buf, size_t len, hg_err_t *err)
{
    if (u->st != HG_OK) {
        return _sticky(u, err);
    }
    if (u->finished) {
        hg_unpack_fail(u, HG_EINVAL, "unpack: fed after finish");
        return _sticky(u, err);
    }
    if (u->lim.max_total_bytes > 0
        && len > u->lim.max_total_bytes - u->total_in)
    {
        hg_unpack_fail(u, HG_ELIMIT, "input larger than %llu bytes "
                       "(max_total_bytes)",
                       (unsigned long long) u->lim.max_total_bytes);
        return _sticky(u, err);
    }
    u->total_in += len;
    if (u->mode == HG_UNPACK_MESSAGE && !u->eol_known && len > 0) {
        /* the message's first line end says which form its lines are in */
        const unsigned char *b = buf, *nl = memchr(b, '\n', len);

        if (nl != NULL) {
            u->eol_known = 1;
            u->eol_crlf = nl > b ? nl[-1] == '\r' : u->last_in == '\r';
        }
        u->last_in = b[len - 1];
    }
    if (_run(u, buf, len) != HG_OK) {
        return _sticky(u, err);
    }
    return HG_OK;
}

hg_status_t
hg_unpack_finish(hg_unpack_t *u, hg_err_t *err)
{
    hg_status_t st = HG_OK;
    unsigned    i;

    if (u->st != HG_OK) {
        return _sticky(u, err);
    }
    if (u->finished) {
        return HG_OK;
    }
    u->finished = 1;
    /* a header block cut short still makes its part */
    while (st == HG_OK && u->state == ST_HEADERS) {
        st = _headers_done(u);
    }
    if (st == HG_OK && u->state == ST_BODY) {
        st = _body_end(u);
    }
    /* a delimiter cut by the end began a part: it has no headers either */
    while (st == HG_OK && u->state == ST_HEADERS) {
        st = _headers_done(u);
    }
    if (st == HG_OK && u->leaf_open) {
        st = hg_unpack_leaf_end(u);
    }
    for (i = 0; st == HG_OK && i < u->nframes; i++) {
        st = _frame_end(u, &u->frames[i]);
    }
    if (st != HG_OK) {
        hg_unpack_fail(u, st, "%s", hg_status_str(st));
        return _sticky(u, err);
    }
    return HG_OK;
}

unsigned
hg_unpack_parts(const hg_unpack_t *u)
{
    return u->nparts;
}

int
hg_unpack_lf_message(const hg_unpack_t *u)
{
    return u->eol_known && !u->eol_crlf;
}
