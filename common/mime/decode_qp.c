/*
 * decode_qp.c - a streaming quoted-printable decoder.
 *
 * Follows what mail readers (and Python's binascii.a2b_qp, our reference in
 * tests) do rather than the letter of RFC 2045: "=XX" in either case is a
 * byte, "=" before a line end joins the lines, and a malformed "=" sequence
 * is kept as it is instead of being dropped, so no byte of the part is lost;
 * each one is counted. Line ends and trailing blanks are kept. The state
 * between chunks is at most "=" plus one character, so any chunking gives
 * the same bytes.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mime/decode.h"

enum { QP_TEXT = 0, QP_EQ, QP_EQ_HEX, QP_EQ_CR };

static int
_qp_hex(unsigned c)
{
    if (c >= '0' && c <= '9') {
        return (int) (c - '0');
    }
    c |= 0x20;
    if (c >= 'a' && c <= 'f') {
        return (int) (c - 'a' + 10);
    }
    return -1;
}

void
hg_qp_init(hg_qp_t *d)
{
    d->state = QP_TEXT;
    d->hex1 = 0;
    d->errors = 0;
}

size_t
hg_qp_feed(hg_qp_t *d, const unsigned char *in, size_t len, unsigned char *out)
{
    const unsigned char *p = in, *end = in + len, *eq;
    unsigned char       *o = out;
    unsigned             c;

    while (p < end) {
        switch (d->state) {
        case QP_TEXT:
            /* copy the run up to the next '=' in one go */
            eq = memchr(p, '=', (size_t) (end - p));
            if (eq == NULL) {
                memcpy(o, p, (size_t) (end - p));
                o += end - p;
                p = end;
                break;
            }
            memcpy(o, p, (size_t) (eq - p));
            o += eq - p;
            p = eq + 1;
            d->state = QP_EQ;
            break;

        case QP_EQ:
            c = *p;
            if (c == '\n') {
                p++;
                d->state = QP_TEXT;
            } else if (c == '\r') {
                p++;
                d->state = QP_EQ_CR;
            } else if (_qp_hex(c) >= 0) {
                d->hex1 = (unsigned char) c;
                p++;
                d->state = QP_EQ_HEX;
            } else {
                /* keep '=' and look at c again as text */
                *o++ = '=';
                d->errors++;
                d->state = QP_TEXT;
            }
            break;

        case QP_EQ_HEX:
            c = *p;
            if (_qp_hex(c) >= 0) {
                *o++ = (unsigned char) (_qp_hex(d->hex1) << 4 | _qp_hex(c));
                p++;
            } else {
                *o++ = '=';
                *o++ = d->hex1;
                d->errors++;
            }
            d->state = QP_TEXT;
            break;

        case QP_EQ_CR:
            /* "=\r\n" is the soft break; "=\r" then other text drops the CR */
            if (*p == '\n') {
                p++;
            } else {
                d->errors++;
            }
            d->state = QP_TEXT;
            break;
        }
    }
    return (size_t) (o - out);
}

size_t
hg_qp_finish(hg_qp_t *d, unsigned char *out)
{
    size_t  n = 0;

    switch (d->state) {
    case QP_EQ:
        /* a soft break whose line end went with the boundary line */
        break;
    case QP_EQ_HEX:
        out[n++] = '=';
        out[n++] = d->hex1;
        d->errors++;
        break;
    default:
        break;
    }
    d->state = QP_TEXT;
    return n;
}
