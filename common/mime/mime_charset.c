/*
 * mime_charset.c - text in a MIME charset converted to UTF-8.
 *
 * File names end up in evidence records and JSON, so every name leaving
 * the MIME header files is valid UTF-8 without NULs, whatever the sender
 * wrote. The charsets we know (UTF-8, US-ASCII, ISO-8859-1, Windows-1252:
 * util/charset.c) are converted here, others through iconv, and anything
 * undecodable becomes U+FFFD (invalid UTF-8: one per maximal subpart,
 * util/utf8.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime/mime_header.h"
#include "util/charset.h"
#include "util/utf8.h"

/* len bytes in charset as UTF-8 by iconv (malloc'd, *outlen bytes and a
 * NUL, which the text may hold too); NULL: no such charset, or no memory. */
static char *
_iconv_utf8(const char *charset, const char *s, size_t len, size_t *outlen)
{
    iconv_t     cd;
    size_t      cap = 4 * len + 16, inleft = len, outleft;
    char       *out, *in = (char *) s, *op;

    cd = iconv_open("UTF-8", charset);
    if (cd == (iconv_t) -1) {
        return NULL;
    }
    if ((out = malloc(cap + 1)) == NULL) {
        iconv_close(cd);
        return NULL;
    }
    op = out;
    outleft = cap;
    while (inleft > 0) {
        if (iconv(cd, &in, &inleft, &op, &outleft) != (size_t) -1) {
            break;
        }
        if (errno == E2BIG || outleft < 3) {
            break;
        }
        /*
         * an undecodable or truncated sequence: one U+FFFD, skip a byte
         * (iconv does not say where a sequence of another charset ends, so
         * maximal subparts are a UTF-8 rule only)
         */
        memcpy(op, HG_UTF8_REPLACEMENT, 3);
        op += 3;
        outleft -= 3;
        in++;
        inleft--;
    }
    iconv(cd, NULL, NULL, &op, &outleft);
    iconv_close(cd);
    *op = '\0';
    *outlen = (size_t) (op - out);
    return out;
}

char *
hg_mime_to_utf8(const char *charset, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *) s;
    unsigned char       *out, *o;
    char                *conv, *clean;
    size_t               i, n;
    uint32_t             cp;
    hg_charset_t         cs = hg_charset_find(charset);

    if (cs == HG_CS_OTHER) {
        conv = _iconv_utf8(charset, s, len, &n);
        if (conv != NULL) {
            /* iconv lets NULs through (UTF-16 "\0\0"); clean once more */
            clean = malloc(3 * n + 1);
            if (clean != NULL) {
                hg_utf8_clean(clean, conv, n, 1);
            }
            free(conv);
            return clean;
        }
        /* an unknown charset: take it as UTF-8, else U+FFFD */
        cs = HG_CS_UTF8;
    }
    if ((out = malloc(3 * len + 1)) == NULL) {
        return NULL;
    }
    if (cs == HG_CS_UTF8) {
        hg_utf8_clean((char *) out, s, len, 1);
        return (char *) out;
    }
    o = out;
    for (i = 0; i < len; i++) {
        cp = hg_charset_byte(cs, p[i]);
        /* NUL and the holes of Windows-1252 */
        o += hg_utf8_encode(cp != 0 ? cp : 0xfffd, o);
    }
    *o = '\0';
    return (char *) out;
}
