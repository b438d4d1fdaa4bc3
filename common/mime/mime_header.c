/*
 * mime_header.c - Content-Type, Content-Transfer-Encoding and
 * Content-Disposition, read from a part's raw header block and decoded.
 *
 * File names end up in evidence records and JSON, so every name leaving
 * this file is valid UTF-8 without NULs, whatever the sender wrote: RFC 2231
 * (name*0*=utf-8''...%E2...) and RFC 2047 (=?iso-8859-1?q?...?=) are
 * decoded, charsets we know are converted here, others through iconv, and
 * anything undecodable becomes U+FFFD (invalid UTF-8: one per maximal
 * subpart, util/utf8.h). Parsing follows what Python's email
 * package (compat32) accepts, since tests compare against it: parameters
 * split on ';' outside quotes, the first occurrence of a field wins.
 */
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime/decode.h"
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

static int
_hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20;
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

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
                   && (h1 = _hexval(t[i + 1])) >= 0
                   && (h2 = _hexval(t[i + 2])) >= 0)
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

/* Skip blanks (and the line ends unfolding left). */
static const char *
_skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        p++;
    }
    return p;
}

/* End of the segment at p: the next ';' outside a quoted string. */
static const char *
_param_end(const char *p, const char *end)
{
    int     q = 0;

    for (; p < end; p++) {
        if (q && *p == '\\' && p + 1 < end) {
            p++;
        } else if (*p == '"') {
            q = !q;
        } else if (!q && *p == ';') {
            break;
        }
    }
    return p;
}

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
static hg_status_t
_mime_param(const char *value, size_t len, const char *name, char **out,
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
    p = _param_end(p, end);
    while (p < end) {
        p++;
        se = _param_end(p, end);
        eq = memchr(p, '=', (size_t) (se - p));
        if (eq == NULL) {
            p = se;
            continue;
        }
        k = _skip_ws(p, eq);
        for (ke = eq; ke > k && isspace((unsigned char) ke[-1]); ke--) {
        }
        v = _skip_ws(eq + 1, se);
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
                    && (h1 = _hexval(s[j + 1])) >= 0
                    && (h2 = _hexval(s[j + 2])) >= 0)
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
    return _mime_param(value, len, name, out, extended, NULL, NULL);
}

hg_status_t
hg_mime_content_type(const char *value, size_t len, char *type, size_t size,
                     char **boundary, int *twice)
{
    const char *p = value, *end = value + len, *te;
    size_t      n, i, slashes = 0, blen = 0;
    char       *b;
    hg_status_t st;

    *boundary = NULL;
    type[0] = '\0';
    p = _skip_ws(p, end);
    te = _param_end(p, end);
    while (te > p && isspace((unsigned char) te[-1])) {
        te--;
    }
    n = (size_t) (te - p);
    if (n > 0 && n < size) {
        for (i = 0; i < n; i++) {
            type[i] = p[i] == '\0' ? ' ' : (char) tolower((unsigned char) p[i]);
            slashes += p[i] == '/';
        }
        type[n] = '\0';
        if (slashes != 1 || type[0] == '/' || type[n - 1] == '/') {
            type[0] = '\0';
        }
    }
    st = _mime_param(value, len, "boundary", &b, NULL, &blen, twice);
    if (st != HG_OK) {
        free(b);
        return st;
    }
    if (b != NULL && memchr(b, '\0', blen) != NULL) {
        free(b);
        return HG_EFORMAT;
    }
    if (b != NULL) {
        /* Python strips trailing blanks from a boundary */
        n = strlen(b);
        while (n > 0 && (b[n - 1] == ' ' || b[n - 1] == '\t')) {
            b[--n] = '\0';
        }
        if (n == 0) {
            free(b);
            b = NULL;
        }
    }
    *boundary = b;
    return HG_OK;
}

void
hg_mime_fields_init(hg_mime_fields_t *f)
{
    memset(f, 0, sizeof(*f));
}

void
hg_mime_fields_free(hg_mime_fields_t *f)
{
    free(f->boundary);
    free(f->filename);
    free(f->field_name);
    hg_mime_fields_init(f);
}

/*
 * The unfolded value of the field starting at p (malloc'd). NULs become
 * spaces, unless keep_nul: a boundary must be seen as sent to be refused.
 */
static char *
_field_value(const char *v, const char *end, size_t *outlen, int keep_nul)
{
    char   *out, *o;

    if ((out = malloc((size_t) (end - v) + 1)) == NULL) {
        return NULL;
    }
    o = out;
    for (; v < end; v++) {
        if (*v == '\r' || *v == '\n') {
            continue;
        }
        *o++ = *v == '\0' && !keep_nul ? ' ' : *v;
    }
    *o = '\0';
    *outlen = (size_t) (o - out);
    return out;
}

/*
 * What a Content-Type makes of a part, as far as hashing goes: a multipart
 * with this boundary, an attached message, text (searched for uuencoded
 * blocks) or any other leaf, whose bytes hash the same whatever its type.
 */
static int
_type_class(const char *type, const char *boundary)
{
    if (strncmp(type, "multipart/", 10) == 0 && boundary != NULL) {
        return 1;
    }
    if (strcmp(type, "message/rfc822") == 0
        || strcmp(type, "message/global") == 0)
    {
        return 2;
    }
    if (strcmp(type, "text/plain") == 0 || type[0] == '\0') {
        return 3;                       /* absent or malformed: text/plain */
    }
    return 4;
}

/*
 * A second Content-Type (v, n: unfolded, NULs kept) against what the first
 * gave f: 1 if a reader taking it would see another structure, -1: no
 * memory.
 */
static int
_type_disagrees(const hg_mime_fields_t *f, const char *v, size_t n)
{
    char        type[HG_MIME_TYPE_MAX + 1], *b = NULL;
    int         c1, c2, twice = 0, differ;
    hg_status_t st;

    st = hg_mime_content_type(v, n, type, sizeof(type), &b, &twice);
    if (st == HG_ENOMEM) {
        return -1;
    }
    if (st == HG_EFORMAT || twice || f->boundary_nul) {
        free(b);
        return 1;               /* a NUL or a doubled boundary: refused */
    }
    c1 = _type_class(f->type, f->boundary);
    c2 = _type_class(type, b);
    differ = c1 != c2
             || (c1 == 1 && strcmp(f->boundary, b) != 0);
    free(b);
    return differ;
}

/* The decoder an encoding token selects (unpack.c picks the same way). */
static int
_encoding_class(const char *e)
{
    if (strcmp(e, "base64") == 0) {
        return 1;
    }
    if (strcmp(e, "quoted-printable") == 0) {
        return 2;
    }
    return strstr(e, "uu") != NULL ? 3 : 0;
}

/* The first token of a Content-Transfer-Encoding value, lowercase. */
static void
_encoding_token(const char *v, size_t n, char *out)
{
    const char *end = v + n;
    size_t      k = 0;

    for (v = _skip_ws(v, end); v < end && k < HG_MIME_ENCODING_MAX; v++) {
        unsigned char c = (unsigned char) *v;

        if (isspace(c) || c == ';' || c == '(') {
            break;
        }
        out[k++] = (char) tolower(c);
    }
    out[k] = '\0';
}

/* A filename parameter, RFC 2047 decoded unless RFC 2231 was used. */
static hg_status_t
_name_param(const char *v, size_t n, const char *name, char **out)
{
    char       *raw, *dec;
    int         ext;
    hg_status_t st;

    if ((st = hg_mime_param(v, n, name, &raw, &ext)) != HG_OK) {
        return st;
    }
    if (raw == NULL || ext || strstr(raw, "=?") == NULL) {
        *out = raw;
        return HG_OK;
    }
    dec = hg_mime_decode_words(raw, strlen(raw));
    free(raw);
    *out = dec;
    return dec != NULL ? HG_OK : HG_ENOMEM;
}

enum { FIELD_OTHER = 0, FIELD_TYPE, FIELD_DISPOSITION, FIELD_ENCODING };

/*
 * The field starting at p: which one it is, where its value starts (*val,
 * after the colon) and where it ends (returned: the first line end not
 * followed by a blank, or end).
 */
static const char *
_next_field(const char *p, const char *end, int *which, const char **val)
{
    const char *fe = p, *le, *colon;
    size_t      nlen;

    for (;;) {
        le = memchr(fe, '\n', (size_t) (end - fe));
        if (le == NULL) {
            fe = end;
            break;
        }
        fe = le + 1;
        if (fe >= end || (*fe != ' ' && *fe != '\t')) {
            break;
        }
    }
    *which = FIELD_OTHER;
    if ((colon = memchr(p, ':', (size_t) (fe - p))) == NULL) {
        return fe;
    }
    *val = colon + 1;
    nlen = (size_t) (colon - p);
    while (nlen > 0 && (p[nlen - 1] == ' ' || p[nlen - 1] == '\t')) {
        nlen--;
    }
    if (nlen == 12 && strncasecmp(p, "content-type", 12) == 0) {
        *which = FIELD_TYPE;
    } else if (nlen == 19 && strncasecmp(p, "content-disposition", 19) == 0) {
        *which = FIELD_DISPOSITION;
    } else if (nlen == 25
               && strncasecmp(p, "content-transfer-encoding", 25) == 0) {
        *which = FIELD_ENCODING;
    }
    return fe;
}

/*
 * Every Content-Type and Content-Transfer-Encoding after the first against
 * what the first gave f: sets f->conflict where they disagree.
 */
static hg_status_t
_find_conflict(hg_mime_fields_t *f, const char *p, const char *end)
{
    const char *fe, *val = NULL;
    char       *v, enc[HG_MIME_ENCODING_MAX + 1];
    size_t      vn;
    int         which, seen_type = 0, seen_enc = 0, d;

    for (; p < end && f->conflict == NULL; p = fe) {
        fe = _next_field(p, end, &which, &val);
        if (which == FIELD_TYPE && seen_type++ > 0) {
            if ((v = _field_value(val, fe, &vn, 1)) == NULL) {
                return HG_ENOMEM;
            }
            d = _type_disagrees(f, v, vn);
            free(v);
            if (d < 0) {
                return HG_ENOMEM;
            }
            f->conflict = d ? "Content-Type" : NULL;
        } else if (which == FIELD_ENCODING && seen_enc++ > 0) {
            if ((v = _field_value(val, fe, &vn, 0)) == NULL) {
                return HG_ENOMEM;
            }
            _encoding_token(v, vn, enc);
            free(v);
            if (_encoding_class(enc) != _encoding_class(f->encoding)) {
                f->conflict = "Content-Transfer-Encoding";
            }
        }
    }
    return HG_OK;
}

hg_status_t
hg_mime_fields_parse(hg_mime_fields_t *f, const char *block, size_t len)
{
    const char *p = block, *end, *fe, *val = NULL;
    char       *ct = NULL, *cd = NULL, *cte = NULL, **slot, *tn = NULL;
    char       *ctraw = NULL;
    size_t      ctn = 0, cdn = 0, cten = 0, ctrawn = 0, vn;
    int         which, twice = 0;
    hg_status_t st = HG_OK;

    if (len == 0) {
        return HG_OK;           /* block may be NULL: no arithmetic on it */
    }
    end = block + len;
    for (; p < end; p = fe) {
        fe = _next_field(p, end, &which, &val);
        slot = which == FIELD_TYPE ? &ct
               : which == FIELD_DISPOSITION ? &cd
               : which == FIELD_ENCODING ? &cte : NULL;
        if (slot == NULL || *slot != NULL) {
            continue;
        }
        if ((*slot = _field_value(val, fe, &vn, 0)) == NULL) {
            st = HG_ENOMEM;
            goto out;
        }
        if (slot == &ct) {
            ctn = vn;
            if ((ctraw = _field_value(val, fe, &ctrawn, 1)) == NULL) {
                st = HG_ENOMEM;
                goto out;
            }
        } else if (slot == &cd) {
            cdn = vn;
        } else {
            cten = vn;
        }
    }

    if (ct != NULL) {
        f->has_type = 1;
        st = hg_mime_content_type(ctraw, ctrawn, f->type, sizeof(f->type),
                                  &f->boundary, &twice);
        if (st == HG_EFORMAT) {
            f->boundary_nul = 1;
            st = HG_OK;
        }
        if (st != HG_OK) {
            goto out;
        }
        if (twice && strncmp(f->type, "multipart/", 10) == 0) {
            f->conflict = "Content-Type";       /* its boundary, twice */
        }
    }
    if (cte != NULL) {
        _encoding_token(cte, cten, f->encoding);
    }
    if (cd != NULL) {
        if ((st = _name_param(cd, cdn, "filename", &f->filename)) != HG_OK
            || (st = _name_param(cd, cdn, "name", &f->field_name)) != HG_OK)
        {
            goto out;
        }
    }
    if (f->filename == NULL && ct != NULL) {
        if ((st = _name_param(ct, ctn, "name", &tn)) != HG_OK) {
            goto out;
        }
        f->filename = tn;
    }
    if (f->conflict == NULL) {
        st = _find_conflict(f, block, end);
    }
out:
    free(ct);
    free(ctraw);
    free(cd);
    free(cte);
    return st;
}
