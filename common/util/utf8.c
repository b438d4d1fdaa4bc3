/*
 * utf8.c - UTF-8 checked, encoded and repaired (see utf8.h for the rule).
 *
 * Strings an attacker chose (file names in mail, labels in a downloaded
 * list) end up in evidence records and on terminals, so they are made valid
 * once, here, the same way wherever they come from. hg_utf8_seq is the only
 * place that knows which bytes may follow which: the table of RFC 3629
 * section 4, where the second byte's range depends on the first.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <string.h>

#include "util/utf8.h"

size_t
hg_utf8_encode(uint32_t cp, unsigned char *out)
{
    if (cp < 0x80) {
        out[0] = (unsigned char) cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char) (0xC0 | cp >> 6);
        out[1] = (unsigned char) (0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) {
        return 0;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char) (0xE0 | cp >> 12);
        out[1] = (unsigned char) (0x80 | (cp >> 6 & 0x3F));
        out[2] = (unsigned char) (0x80 | (cp & 0x3F));
        return 3;
    }
    if (cp > 0x10FFFF) {
        return 0;
    }
    out[0] = (unsigned char) (0xF0 | cp >> 18);
    out[1] = (unsigned char) (0x80 | (cp >> 12 & 0x3F));
    out[2] = (unsigned char) (0x80 | (cp >> 6 & 0x3F));
    out[3] = (unsigned char) (0x80 | (cp & 0x3F));
    return 4;
}

int
hg_utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char  c = s[0], lo = 0x80, hi = 0xBF;
    uint32_t       v;
    size_t         need, i;

    if (c < 0x80) {
        if (cp != NULL) {
            *cp = c;
        }
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        v = c & 0x0F;
        if (c == 0xE0) {
            lo = 0xA0;          /* overlong below U+0800 */
        } else if (c == 0xED) {
            hi = 0x9F;          /* U+D800..U+DFFF are surrogates */
        }
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        v = c & 0x07;
        if (c == 0xF0) {
            lo = 0x90;          /* overlong below U+10000 */
        } else if (c == 0xF4) {
            hi = 0x8F;          /* above U+10FFFF */
        }
    } else {
        /* 0x80..0xBF stray, 0xC0/0xC1 always overlong, 0xF5..0xFF beyond
         * U+10FFFF (and the old 5- and 6-byte forms) */
        return -1;
    }
    for (i = 1; i < need; i++) {
        if (i >= n) {
            return 0;
        }
        if (s[i] < lo || s[i] > hi) {
            return -(int) i;
        }
        v = v << 6 | (s[i] & 0x3F);
        lo = 0x80;
        hi = 0xBF;
    }
    if (cp != NULL) {
        *cp = v;
    }
    return (int) need;
}

int
hg_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t               i = 0;
    int                  k;

    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        k = hg_utf8_seq(p + i, n - i, NULL);
        if (k <= 0) {
            return 0;
        }
        i += (size_t) k;
    }
    return 1;
}

size_t
hg_utf8_clean(char *out, const char *s, size_t n, int nul_too)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t               i = 0, w = 0;
    int                  k;

    while (i < n) {
        if (p[i] < 0x80 && (p[i] != '\0' || !nul_too)) {
            out[w++] = s[i++];
            continue;
        }
        k = p[i] == '\0' ? -1 : hg_utf8_seq(p + i, n - i, NULL);
        if (k == 0) {
            k = -(int) (n - i);     /* cut short by the end: one subpart */
        }
        if (k < 0) {
            memcpy(out + w, HG_UTF8_REPLACEMENT, 3);
            w += 3;
            i += (size_t) -k;
        } else {
            memcpy(out + w, s + i, (size_t) k);
            w += (size_t) k;
            i += (size_t) k;
        }
    }
    out[w] = '\0';
    return w;
}

size_t
hg_utf8_cut(const char *s, size_t n, size_t max)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t               k = max;

    if (n <= max) {
        return n;
    }
    /* p[k] is the first byte dropped: a continuation byte means the
     * character it belongs to started before the cut */
    while (k > 0 && max - k < HG_UTF8_MAX - 1 && (p[k] & 0xC0) == 0x80) {
        k--;
    }
    return (p[k] & 0xC0) == 0x80 ? max : k;
}

size_t
hg_utf8_stream_put(hg_utf8_stream_t *u, unsigned char c, unsigned char *out)
{
    size_t  w = 0, bad;
    int     k;

    if (u->len == 0 && c < 0x80) {
        out[0] = c;
        return 1;
    }
    u->buf[u->len++] = c;
    for ( ;; ) {
        k = hg_utf8_seq(u->buf, u->len, NULL);
        if (k == 0) {
            return w;
        }
        if (k > 0) {
            /* what was held was incomplete, so c completed it: k == len */
            memcpy(out + w, u->buf, (size_t) k);
            u->len = 0;
            return w + (size_t) k;
        }
        memcpy(out + w, HG_UTF8_REPLACEMENT, 3);
        w += 3;
        /* everything before c was a valid start, so at most c is left, and
         * it starts anew (a second U+FFFD at most: out holds 8) */
        bad = (size_t) -k;
        memmove(u->buf, u->buf + bad, u->len - bad);
        u->len = (unsigned char) (u->len - bad);
        if (u->len == 0) {
            return w;
        }
        if (u->buf[0] < 0x80) {
            out[w++] = u->buf[0];
            u->len = 0;
            return w;
        }
    }
}

size_t
hg_utf8_stream_end(hg_utf8_stream_t *u, unsigned char *out)
{
    if (u->len == 0) {
        return 0;
    }
    u->len = 0;
    memcpy(out, HG_UTF8_REPLACEMENT, 3);
    return 3;
}
