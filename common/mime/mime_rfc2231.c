/*
 * mime_rfc2231.c - the parameters of a header field value
 * ("attachment; filename*0*=utf-8''r%C3%A9sum; filename*1=.pdf").
 *
 * Parsing follows what Python's email package (compat32) accepts, since
 * tests compare against it: parameters split on ';' outside quotes, a
 * quoted value is unquoted, RFC 2231 continuations are joined in the order
 * of their index, and an RFC 2231 value's %XX bytes are converted from its
 * charset (mime_charset.c). A parameter given twice with different values
 * is reported, since a reader taking the last copy would see another one.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime/mime_header.h"
#include "mime/mime_header_int.h"

/* Unquote a trimmed value into out (room for n + 1); returns the length. */
static size_t
_unquote(const char *v, size_t n, char *out)
{
    size_t  i, w = 0;

    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        for (i = 1; i + 1 < n; i++) {
            if (v[i] == '\\' && i + 2 < n) {
                i++;
            }
            out[w++] = v[i];
        }
    } else if (n >= 2 && v[0] == '<' && v[n - 1] == '>') {
        /* Python's unquote also strips angle brackets */
        memcpy(out, v + 1, n - 2);
        w = n - 2;
    } else {
        memcpy(out, v, n);
        w = n;
    }
    out[w] = '\0';
    return w;
}

typedef struct {
    unsigned        index;
    int             encoded;
    const char     *v;
    size_t          n;
} _segment_t;

static int
_seg_cmp(const void *a, const void *b)
{
    const _segment_t *x = a, *y = b;

    return x->index < y->index ? -1 : x->index > y->index;
}

/* Do two trimmed values read the same once unquoted? -1: no memory. */
static int
_same_value(const char *a, size_t an, const char *b, size_t bn)
{
    char   *buf;
    size_t  x, y;
    int     same;

    if ((buf = malloc(an + bn + 2)) == NULL) {
        return -1;
    }
    x = _unquote(a, an, buf);
    y = _unquote(b, bn, buf + an + 1);
    same = x == y && memcmp(buf, buf + an + 1, x) == 0;
    free(buf);
    return same;
}

/*
 * hg_mime_param, or with rawlen the parameter's bytes as sent (unquoted and
 * RFC 2231 %XX decoded, no charset conversion) and their count in *rawlen,
 * which a NUL among them makes larger than strlen: a boundary is matched
 * against body lines byte for byte, so it must not be turned into UTF-8.
 * twice (if not NULL) is set when the parameter is given more than once
 * with different values (see hg_mime_content_type).
 */
hg_status_t
hg_mime_param_read(const char *value, size_t len, const char *name, char **out,
                   int *extended, size_t *rawlen, int *twice)
{
    const char     *p = value, *end = value + len, *se, *eq, *k, *ke, *v, *ve;
    size_t          nl = strlen(name), nseg = 0, i, w, total = 0;
    _segment_t      seg[HG_MIME_PARAM_SEGMENTS];
    const char     *plain = NULL, *q1, *q2;
    size_t          plain_n = 0;
    char           *buf, *res, charset[64];
    unsigned        idx;
    int             enc, any_ext = 0, h1, h2;

    *out = NULL;
    if (extended != NULL) {
        *extended = 0;
    }
    if (twice != NULL) {
        *twice = 0;
    }
    /* the first segment is the value itself (type, disposition) */
    p = hg_mime_param_end(p, end);
    while (p < end) {
        p++;
        se = hg_mime_param_end(p, end);
        eq = memchr(p, '=', (size_t) (se - p));
        if (eq == NULL) {
            p = se;
            continue;
        }
        k = hg_mime_skip_ws(p, eq);
        for (ke = eq; ke > k && isspace((unsigned char) ke[-1]); ke--) {
        }
        v = hg_mime_skip_ws(eq + 1, se);
        for (ve = se; ve > v && isspace((unsigned char) ve[-1]); ve--) {
        }
        p = se;
        if ((size_t) (ke - k) < nl || strncasecmp(k, name, nl) != 0) {
            continue;
        }
        k += nl;
        if (k == ke) {
            if (plain == NULL) {
                plain = v;
                plain_n = (size_t) (ve - v);
            } else if (twice != NULL && !*twice) {
                if ((h1 = _same_value(plain, plain_n, v,
                                      (size_t) (ve - v))) < 0)
                {
                    return HG_ENOMEM;
                }
                *twice = !h1;
            }
            continue;
        }
        if (*k != '*') {
            continue;
        }
        k++;
        idx = 0;
        enc = 0;
        if (k == ke) {
            enc = 1;                        /* name*=charset'lang'value */
        } else {
            if (!isdigit((unsigned char) *k)) {
                continue;
            }
            for (; k < ke && isdigit((unsigned char) *k); k++) {
                idx = idx * 10 + (unsigned) (*k - '0');
                if (idx > 100000) {
                    break;
                }
            }
            if (k < ke && *k == '*' && k + 1 == ke) {
                enc = 1;
            } else if (k != ke) {
                continue;
            }
        }
        if (nseg < HG_MIME_PARAM_SEGMENTS) {
            seg[nseg].index = idx;
            seg[nseg].encoded = enc;
            seg[nseg].v = v;
            seg[nseg].n = (size_t) (ve - v);
            total += seg[nseg].n;
            nseg++;
            any_ext |= enc;
        }
    }

    if (nseg == 0) {
        if (plain == NULL) {
            return HG_OK;
        }
        if ((res = malloc(plain_n + 1)) == NULL) {
            return HG_ENOMEM;
        }
        w = _unquote(plain, plain_n, res);
        if (rawlen != NULL) {
            *rawlen = w;
            *out = res;
            return HG_OK;
        }
        *out = hg_mime_to_utf8("utf-8", res, w);
        free(res);
        return *out != NULL ? HG_OK : HG_ENOMEM;
    }

    qsort(seg, nseg, sizeof(seg[0]), _seg_cmp);
    for (i = 1; twice != NULL && i < nseg; i++) {
        if (seg[i].index != seg[i - 1].index) {
            continue;
        }
        if (seg[i].encoded != seg[i - 1].encoded) {
            *twice = 1;
            continue;
        }
        h1 = _same_value(seg[i].v, seg[i].n, seg[i - 1].v, seg[i - 1].n);
        if (h1 < 0) {
            return HG_ENOMEM;
        }
        *twice |= !h1;
    }
    if ((buf = malloc(total + 1)) == NULL) {
        return HG_ENOMEM;
    }
    charset[0] = '\0';
    w = 0;
    for (i = 0; i < nseg; i++) {
        char   *tmp = buf + w;
        size_t  n = _unquote(seg[i].v, seg[i].n, tmp), j, o = 0;
        char   *s = tmp;

        if (seg[i].encoded) {
            if (i == 0) {
                /* charset'language'text */
                q1 = memchr(s, '\'', n);
                q2 = q1 != NULL ? memchr(q1 + 1, '\'', n - (size_t) (q1 + 1 - s))
                                : NULL;
                if (q2 != NULL) {
                    size_t csn = (size_t) (q1 - s);

                    if (csn >= sizeof(charset)) {
                        csn = sizeof(charset) - 1;
                    }
                    memcpy(charset, s, csn);
                    charset[csn] = '\0';
                    n -= (size_t) (q2 + 1 - s);
                    s = (char *) q2 + 1;
                }
            }
            for (j = 0; j < n; j++) {
                if (s[j] == '%' && j + 2 < n
                    && (h1 = hg_mime_hexval(s[j + 1])) >= 0
                    && (h2 = hg_mime_hexval(s[j + 2])) >= 0)
                {
                    tmp[o++] = (char) (h1 << 4 | h2);
                    j += 2;
                } else {
                    tmp[o++] = s[j];
                }
            }
            n = o;
        } else if (s != tmp) {
            memmove(tmp, s, n);
        }
        w += n;
    }
    if (rawlen != NULL) {
        buf[w] = '\0';
        *rawlen = w;
        *out = buf;
        /* a plain value beside the RFC 2231 one, which wins here */
        if (twice != NULL && plain != NULL && !*twice) {
            if ((h1 = _same_value(plain, plain_n, buf, w)) < 0) {
                return HG_ENOMEM;   /* *out is the caller's to free */
            }
            *twice = !h1;
        }
    } else {
        *out = hg_mime_to_utf8(any_ext ? charset : "utf-8", buf, w);
        free(buf);
        if (*out == NULL) {
            return HG_ENOMEM;
        }
    }
    if (extended != NULL) {
        *extended = any_ext;
    }
    return HG_OK;
}

hg_status_t
hg_mime_param(const char *value, size_t len, const char *name, char **out,
              int *extended)
{
    return hg_mime_param_read(value, len, name, out, extended, NULL, NULL);
}
