/*
 * mime_rfc2047.c - RFC 2047 encoded words (=?iso-8859-1?q?...?=) in a
 * header value, decoded to UTF-8.
 *
 * Senders put them where RFC 2047 does not allow them (inside a quoted
 * filename) and Python's email package decodes them there, so this file
 * does too, for file names to read as it reads them. Blanks between two
 * encoded words vanish; what is not a well-formed word stays as text, made
 * valid UTF-8.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "mime/decode.h"
#include "mime/mime_header.h"
#include "mime/mime_header_int.h"
#include "util/utf8.h"

/* One RFC 2047 encoded word's text decoded (B or Q) into out. */
static size_t
_ew_decode(char enc, const char *t, size_t n, unsigned char *out)
{
    hg_b64_t    b;
    size_t      i, w = 0;
    int         h1, h2;

    if (enc == 'b' || enc == 'B') {
        hg_b64_init(&b);
        w = hg_b64_feed(&b, (const unsigned char *) t, n, out);
        w += hg_b64_finish(&b, out + w);
        return w;
    }
    for (i = 0; i < n; i++) {
        if (t[i] == '_') {
            out[w++] = ' ';
        } else if (t[i] == '=' && i + 2 < n
                   && (h1 = hg_mime_hexval(t[i + 1])) >= 0
                   && (h2 = hg_mime_hexval(t[i + 2])) >= 0)
        {
            out[w++] = (unsigned char) (h1 << 4 | h2);
            i += 2;
        } else {
            out[w++] = (unsigned char) t[i];
        }
    }
    return w;
}

/*
 * Parse "=?charset?E?text?=" at s (n bytes available). Returns its length
 * or 0 when s does not start a well-formed encoded word.
 */
static size_t
_ew_parse(const char *s, size_t n, const char **cs, size_t *cslen, char *enc,
          const char **text, size_t *tlen)
{
    size_t  i = 2, j;

    if (n < 8 || s[0] != '=' || s[1] != '?') {
        return 0;
    }
    for (j = i; j < n && s[j] != '?' && !isspace((unsigned char) s[j]); j++) {
    }
    if (j == i || j + 2 >= n || s[j] != '?' || s[j + 2] != '?') {
        return 0;
    }
    *cs = s + i;
    *cslen = j - i;
    *enc = s[j + 1];
    if (*enc != 'b' && *enc != 'B' && *enc != 'q' && *enc != 'Q') {
        return 0;
    }
    i = j + 3;
    for (j = i; j + 1 < n && !(s[j] == '?' && s[j + 1] == '='); j++) {
        if (isspace((unsigned char) s[j])) {
            return 0;
        }
    }
    if (j + 1 >= n) {
        return 0;
    }
    *text = s + i;
    *tlen = j - i;
    return j + 2;
}

char *
hg_mime_decode_words(const char *s, size_t len)
{
    char           *out, *conv, cs[64];
    unsigned char  *tmp;
    const char     *csp, *text;
    size_t          i = 0, w = 0, ewlen, cslen, tlen, n, k, lit, cap;
    char            enc;
    int             last_ew = 0;
    const char     *star;

    /* decoded words grow at most 3x (U+FFFD per byte); iconv output 4x */
    cap = 4 * len + 16;
    if ((out = malloc(cap)) == NULL) {
        return NULL;
    }
    if ((tmp = malloc(len + 4)) == NULL) {
        free(out);
        return NULL;
    }
    while (i < len) {
        ewlen = _ew_parse(s + i, len - i, &csp, &cslen, &enc, &text, &tlen);
        if (ewlen > 0) {
            n = _ew_decode(enc, text, tlen, tmp);
            /* RFC 2231 section 5: "charset*language" */
            star = memchr(csp, '*', cslen);
            if (star != NULL) {
                cslen = (size_t) (star - csp);
            }
            if (cslen >= sizeof(cs)) {
                cslen = sizeof(cs) - 1;
            }
            memcpy(cs, csp, cslen);
            cs[cslen] = '\0';
            conv = hg_mime_to_utf8(cs, (const char *) tmp, n);
            if (conv == NULL) {
                free(tmp);
                free(out);
                return NULL;
            }
            k = strlen(conv);
            if (w + k >= cap) {
                k = cap - w - 1;
            }
            memcpy(out + w, conv, k);
            w += k;
            free(conv);
            i += ewlen;
            last_ew = 1;
            continue;
        }
        /* blanks between two encoded words vanish */
        for (lit = i; lit < len && (s[lit] == ' ' || s[lit] == '\t'); lit++) {
        }
        if (last_ew && lit > i && lit < len
            && _ew_parse(s + lit, len - lit, &csp, &cslen, &enc, &text, &tlen))
        {
            i = lit;
            continue;
        }
        last_ew = 0;
        /* a run of literal text up to the next "=?" */
        for (lit = i + 1; lit < len && !(s[lit] == '=' && lit + 1 < len
                                         && s[lit + 1] == '?'); lit++) {
        }
        n = lit - i;
        if (w + 3 * n >= cap) {
            n = (cap - w - 1) / 3;
        }
        w += hg_utf8_clean(out + w, s + i, n, 1);
        i = lit;
    }
    out[w] = '\0';
    free(tmp);
    return out;
}
