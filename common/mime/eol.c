/*
 * eol.c - a part's bytes with their line ends converted, as they stream by.
 *
 * A mail part without transfer decoding (7bit, 8bit, binary: a raw file)
 * does not keep its line ends on the way: SMTP hands every line over with
 * CRLF, a Unix mailbox (mbox, Maildir) stores LF, and a reader saves the
 * attachment as stored. A listed file sent raw can so arrive as different
 * bytes from the ones its digest is of. The milter therefore hashes such a
 * part also with each CRLF as LF, and "hashgate scan" of stored mail also
 * with each bare LF as CRLF (or, if the mail was stored with CRLF, as the
 * milter does): both tools hash both forms.
 *
 * Streaming, like hg_hash_update: nothing is buffered but one held-back
 * CR, so a CR that ends one chunk and an LF that starts the next are one
 * line end, however the input is cut.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <string.h>

#include "hashgate/scan.h"
#include "mime/eol.h"

void
hg_eol_init(hg_eol_t *e, hg_eol_mode_t mode, hg_eol_out_t out, void *ctx)
{
    e->mode = mode;
    e->out = out;
    e->ctx = ctx;
    e->cr = 0;
    e->changed = 0;
}

/* Write [p, p + len) unless empty. */
static hg_status_t
_eol_put(hg_eol_t *e, const unsigned char *p, size_t len)
{
    return len > 0 ? e->out(e->ctx, p, len) : HG_OK;
}

static hg_status_t
_eol_to_lf(hg_eol_t *e, const unsigned char *p, const unsigned char *end)
{
    const unsigned char *cr;
    hg_status_t          st;

    if (e->cr) {
        e->cr = 0;
        if (*p == '\n') {
            e->changed = 1;     /* the held CR is dropped */
        } else if ((st = e->out(e->ctx, (const unsigned char *) "\r", 1))
                   != HG_OK)
        {
            return st;
        }
    }
    while (p < end) {
        if ((cr = memchr(p, '\r', (size_t) (end - p))) == NULL) {
            return _eol_put(e, p, (size_t) (end - p));
        }
        if ((st = _eol_put(e, p, (size_t) (cr - p))) != HG_OK) {
            return st;
        }
        if (cr + 1 == end) {
            e->cr = 1;          /* the next chunk says whether an LF follows */
            return HG_OK;
        }
        if (cr[1] == '\n') {
            e->changed = 1;
        } else if ((st = e->out(e->ctx, (const unsigned char *) "\r", 1))
                   != HG_OK)
        {
            return st;
        }
        p = cr + 1;
    }
    return HG_OK;
}

static hg_status_t
_eol_to_crlf(hg_eol_t *e, const unsigned char *p, const unsigned char *end)
{
    const unsigned char *lf;
    hg_status_t          st;
    int                  after_cr;

    while (p < end) {
        if ((lf = memchr(p, '\n', (size_t) (end - p))) == NULL) {
            e->cr = end[-1] == '\r';
            return _eol_put(e, p, (size_t) (end - p));
        }
        after_cr = lf > p ? lf[-1] == '\r' : e->cr;
        e->cr = 0;
        if (after_cr) {
            st = _eol_put(e, p, (size_t) (lf + 1 - p));
        } else {
            e->changed = 1;
            if ((st = _eol_put(e, p, (size_t) (lf - p))) == HG_OK) {
                st = e->out(e->ctx, (const unsigned char *) "\r\n", 2);
            }
        }
        if (st != HG_OK) {
            return st;
        }
        p = lf + 1;
    }
    return HG_OK;
}

/*
 * Convert the next len bytes of the object and write them through e->out.
 * The bytes are read, never kept. Returns HG_OK, or the first status out
 * returned other than HG_OK; the object's output is then incomplete and
 * the caller must not use it.
 */
hg_status_t
hg_eol_update(hg_eol_t *e, const unsigned char *buf, size_t len)
{
    if (len == 0) {
        return HG_OK;
    }
    return e->mode == HG_EOL_TO_LF ? _eol_to_lf(e, buf, buf + len)
                                   : _eol_to_crlf(e, buf, buf + len);
}

/*
 * End of the object: a CR held back at the end (HG_EOL_TO_LF) is written,
 * as no LF came after it. e->changed then says whether the output differs
 * from the input. The converter may be started again with hg_eol_init.
 */
hg_status_t
hg_eol_final(hg_eol_t *e)
{
    int  held = e->mode == HG_EOL_TO_LF && e->cr;

    e->cr = 0;
    return held ? e->out(e->ctx, (const unsigned char *) "\r", 1) : HG_OK;
}

hg_status_t
hg_eol_out_scan(void *scan, const unsigned char *buf, size_t len)
{
    return hg_scan_update(scan, buf, len);
}

int
hg_eol_undecoded(const char *encoding)
{
    static const char *const  decoded[] = {
        "base64", "quoted-printable", "x-uuencode", "uuencode", "x-uue", "uue",
        NULL
    };
    size_t                    i;

    if (encoding == NULL) {
        return 1;
    }
    for (i = 0; decoded[i] != NULL; i++) {
        if (strcmp(encoding, decoded[i]) == 0) {
            return 0;
        }
    }
    return 1;
}
