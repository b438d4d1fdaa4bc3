/*
 * decode_b64.c - a streaming, table-driven base64 decoder.
 *
 * Attachments are mostly base64, so this is the inner loop of mail
 * scanning: it decodes whole quanta of four valid characters at a time from
 * a 256-entry table and only drops to the character-by-character path at
 * line ends, padding and junk. Mail readers are lenient, and so are we:
 * whitespace and odd line lengths are fine, other junk is skipped and
 * counted, so a scan never stops on a damaged attachment but reports it.
 */
#include <stddef.h>
#include <stdint.h>

#include "decode.h"

#define B64_WS      0x40    /* whitespace: skipped silently */
#define B64_PAD     0x41    /* '=' */
#define B64_BAD     0x80    /* anything else: skipped and counted */

static const unsigned char b64_table[256] = {
#define B 0x80
    B, B, B, B, B, B, B, B, B, 0x40, 0x40, 0x40, 0x40, 0x40, B, B,
    B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
    0x40, B, B, B, B, B, B, B, B, B, B, 62, B, B, B, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, B, B, B, 0x41, B, B,
    B, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, B, B, B, B, B,
    B, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, B, B, B, B, B,
    B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
    B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
    B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
    B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
    B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
    B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
    B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
    B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
#undef B
};

void
hg_b64_init(hg_b64_t *d)
{
    d->acc = 0;
    d->n = 0;
    d->pads = 0;
    d->done = 0;
    d->errors = 0;
}

size_t
hg_b64_feed(hg_b64_t *d, const unsigned char *in, size_t len,
            unsigned char *out)
{
    const unsigned char *p = in, *end = in + len;
    unsigned char       *o = out;
    unsigned             c;

    while (p < end) {
        if (d->done) {
            for (; p < end; p++) {
                if (b64_table[*p] != B64_WS) {
                    d->errors++;
                }
            }
            break;
        }

        /* the fast path: whole quanta of valid characters */
        if (d->n == 0 && d->pads == 0) {
            while (end - p >= 4) {
                unsigned a = b64_table[p[0]], b = b64_table[p[1]],
                         e = b64_table[p[2]], f = b64_table[p[3]];

                if ((a | b | e | f) & 0xc0) {
                    break;
                }
                o[0] = (unsigned char) (a << 2 | b >> 4);
                o[1] = (unsigned char) (b << 4 | e >> 2);
                o[2] = (unsigned char) (e << 6 | f);
                o += 3;
                p += 4;
            }
            if (p == end) {
                break;
            }
        }

        c = b64_table[*p++];
        if (c == B64_WS) {
            continue;
        }
        if (c == B64_BAD) {
            d->errors++;
            continue;
        }
        if (c == B64_PAD) {
            if (d->n < 2) {
                /* '=' where no data can end: junk */
                d->errors++;
                continue;
            }
            d->pads++;
            if (d->n + d->pads == 4) {
                if (d->n == 2) {
                    *o++ = (unsigned char) (d->acc >> 4);
                } else {
                    *o++ = (unsigned char) (d->acc >> 10);
                    *o++ = (unsigned char) (d->acc >> 2);
                }
                d->acc = 0;
                d->n = 0;
                d->pads = 0;
                d->done = 1;
            }
            continue;
        }
        if (d->pads > 0) {
            /* "xx=x": the padding was junk; go on with the data */
            d->errors += d->pads;
            d->pads = 0;
        }
        d->acc = d->acc << 6 | c;
        if (++d->n == 4) {
            o[0] = (unsigned char) (d->acc >> 16);
            o[1] = (unsigned char) (d->acc >> 8);
            o[2] = (unsigned char) d->acc;
            o += 3;
            d->acc = 0;
            d->n = 0;
        }
    }
    return (size_t) (o - out);
}

size_t
hg_b64_finish(hg_b64_t *d, unsigned char *out)
{
    size_t  n = 0;

    if (!d->done) {
        switch (d->n) {
        case 1:
            d->errors++;
            break;
        case 2:
            out[n++] = (unsigned char) (d->acc >> 4);
            break;
        case 3:
            out[n++] = (unsigned char) (d->acc >> 10);
            out[n++] = (unsigned char) (d->acc >> 2);
            break;
        default:
            break;
        }
    }
    d->acc = 0;
    d->n = 0;
    d->pads = 0;
    d->done = 1;
    return n;
}
