/*
 * json_check.h - a strict, tiny JSON validator and string decoder for tests.
 *
 * Used by test_json.c, test_record.c and the JSON fuzz target to prove that
 * what hg_json_* writes is JSON (RFC 8259) and valid UTF-8, independently of
 * the writer. Header-only (static functions) so each user compiles its own
 * copy and no other test binary links it.
 *
 *   jc_validate(s, n)        0 when s[0..n) is exactly one JSON value
 *                            (optionally followed by one '\n'), -1 otherwise
 *   jc_decode_string(s, n, out, &outlen)
 *                            s[0..n) is one JSON string literal: decode it
 *                            (escapes, surrogate pairs) into out as UTF-8
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef JSON_CHECK_H
#define JSON_CHECK_H

#include <stddef.h>
#include <string.h>

#define JC_MAX_DEPTH  64

/* each user needs only some of these */
#define JC_FN  static __attribute__((unused))

typedef struct {
    const unsigned char *s;
    size_t               n;
    size_t               i;
    unsigned char       *out;       /* decoded string bytes, or NULL */
    size_t               outlen;
} jc_t;

JC_FN void
jc_ws(jc_t *c)
{
    while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t'
                           || c->s[c->i] == '\n' || c->s[c->i] == '\r')) {
        c->i++;
    }
}

JC_FN void
jc_emit(jc_t *c, unsigned long cp)
{
    unsigned char  b[4];
    size_t         k, n;

    if (cp < 0x80) {
        b[0] = (unsigned char) cp; n = 1;
    } else if (cp < 0x800) {
        b[0] = 0xC0 | (cp >> 6); b[1] = 0x80 | (cp & 0x3F); n = 2;
    } else if (cp < 0x10000) {
        b[0] = 0xE0 | (cp >> 12); b[1] = 0x80 | ((cp >> 6) & 0x3F);
        b[2] = 0x80 | (cp & 0x3F); n = 3;
    } else {
        b[0] = 0xF0 | (cp >> 18); b[1] = 0x80 | ((cp >> 12) & 0x3F);
        b[2] = 0x80 | ((cp >> 6) & 0x3F); b[3] = 0x80 | (cp & 0x3F); n = 4;
    }
    if (c->out != NULL) {
        for (k = 0; k < n; k++) {
            c->out[c->outlen + k] = b[k];
        }
    }
    c->outlen += n;
}

JC_FN int
jc_hex4(jc_t *c, unsigned long *v)
{
    size_t  k;
    int     d;

    if (c->n - c->i < 4) {
        return -1;
    }
    *v = 0;
    for (k = 0; k < 4; k++) {
        d = c->s[c->i + k];
        if (d >= '0' && d <= '9') d -= '0';
        else if (d >= 'a' && d <= 'f') d -= 'a' - 10;
        else if (d >= 'A' && d <= 'F') d -= 'A' - 10;
        else return -1;
        *v = *v * 16 + (unsigned long) d;
    }
    c->i += 4;
    return 0;
}

/* One UTF-8 sequence, RFC 3629 strict; returns its code point or -1. */
JC_FN long
jc_utf8(jc_t *c)
{
    const unsigned char *s = c->s + c->i;
    size_t         left = c->n - c->i, need, k;
    unsigned long  cp;
    unsigned char  lo = 0x80, hi = 0xBF;

    if (s[0] < 0x80) { c->i++; return s[0]; }
    if (s[0] >= 0xC2 && s[0] <= 0xDF) { need = 1; cp = s[0] & 0x1F; }
    else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        need = 2; cp = s[0] & 0x0F;
        if (s[0] == 0xE0) lo = 0xA0;
        if (s[0] == 0xED) hi = 0x9F;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        need = 3; cp = s[0] & 0x07;
        if (s[0] == 0xF0) lo = 0x90;
        if (s[0] == 0xF4) hi = 0x8F;
    } else return -1;
    if (left < need + 1) return -1;
    for (k = 1; k <= need; k++) {
        if ((k == 1 && (s[k] < lo || s[k] > hi))
            || (k > 1 && (s[k] < 0x80 || s[k] > 0xBF))) {
            return -1;
        }
        cp = (cp << 6) | (s[k] & 0x3F);
    }
    c->i += need + 1;
    return (long) cp;
}

JC_FN int
jc_string(jc_t *c)
{
    unsigned long  v, lo;
    long           cp;

    if (c->i >= c->n || c->s[c->i] != '"') return -1;
    c->i++;
    for (;;) {
        if (c->i >= c->n) return -1;
        if (c->s[c->i] == '"') { c->i++; return 0; }
        if (c->s[c->i] < 0x20) return -1;
        if (c->s[c->i] == '\\') {
            c->i++;
            if (c->i >= c->n) return -1;
            switch (c->s[c->i++]) {
            case '"': jc_emit(c, '"'); break;
            case '\\': jc_emit(c, '\\'); break;
            case '/': jc_emit(c, '/'); break;
            case 'b': jc_emit(c, '\b'); break;
            case 'f': jc_emit(c, '\f'); break;
            case 'n': jc_emit(c, '\n'); break;
            case 'r': jc_emit(c, '\r'); break;
            case 't': jc_emit(c, '\t'); break;
            case 'u':
                if (jc_hex4(c, &v) != 0) return -1;
                if (v >= 0xDC00 && v <= 0xDFFF) return -1;  /* lone low */
                if (v >= 0xD800 && v <= 0xDBFF) {
                    if (c->n - c->i < 6 || c->s[c->i] != '\\'
                        || c->s[c->i + 1] != 'u') return -1;
                    c->i += 2;
                    if (jc_hex4(c, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF) {
                        return -1;
                    }
                    v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
                }
                jc_emit(c, v);
                break;
            default:
                return -1;
            }
            continue;
        }
        cp = jc_utf8(c);
        if (cp < 0) return -1;
        jc_emit(c, (unsigned long) cp);
    }
}

JC_FN int
jc_number(jc_t *c)
{
    size_t  st;

    if (c->i < c->n && c->s[c->i] == '-') c->i++;
    if (c->i >= c->n) return -1;
    if (c->s[c->i] == '0') {
        c->i++;
    } else if (c->s[c->i] >= '1' && c->s[c->i] <= '9') {
        while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9') c->i++;
    } else {
        return -1;
    }
    if (c->i < c->n && c->s[c->i] == '.') {
        c->i++; st = c->i;
        while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9') c->i++;
        if (c->i == st) return -1;
    }
    if (c->i < c->n && (c->s[c->i] == 'e' || c->s[c->i] == 'E')) {
        c->i++;
        if (c->i < c->n && (c->s[c->i] == '+' || c->s[c->i] == '-')) c->i++;
        st = c->i;
        while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9') c->i++;
        if (c->i == st) return -1;
    }
    return 0;
}

JC_FN int
jc_lit(jc_t *c, const char *w)
{
    size_t  len = strlen(w);

    if (c->n - c->i < len || memcmp(c->s + c->i, w, len) != 0) return -1;
    c->i += len;
    return 0;
}

JC_FN int
jc_value(jc_t *c, int depth)
{
    int  first;

    if (depth > JC_MAX_DEPTH) return -1;
    jc_ws(c);
    if (c->i >= c->n) return -1;
    switch (c->s[c->i]) {
    case '"':
        return jc_string(c);
    case '{':
    case '[': {
        unsigned char close = c->s[c->i] == '{' ? '}' : ']';
        c->i++;
        first = 1;
        for (;;) {
            jc_ws(c);
            if (c->i < c->n && c->s[c->i] == close) { c->i++; return 0; }
            if (!first) {
                if (c->i >= c->n || c->s[c->i] != ',') return -1;
                c->i++;
                jc_ws(c);
            }
            first = 0;
            if (close == '}') {
                if (jc_string(c) != 0) return -1;
                jc_ws(c);
                if (c->i >= c->n || c->s[c->i] != ':') return -1;
                c->i++;
            }
            if (jc_value(c, depth + 1) != 0) return -1;
        }
    }
    case 't': return jc_lit(c, "true");
    case 'f': return jc_lit(c, "false");
    case 'n': return jc_lit(c, "null");
    default:  return jc_number(c);
    }
}

JC_FN int
jc_validate(const char *s, size_t n)
{
    jc_t  c;

    memset(&c, 0, sizeof(c));
    c.s = (const unsigned char *) s;
    c.n = (n > 0 && s[n - 1] == '\n') ? n - 1 : n;
    if (jc_value(&c, 0) != 0) return -1;
    /* one line: no whitespace and no second value after the first */
    return c.i == c.n ? 0 : -1;
}

JC_FN int
jc_decode_string(const char *s, size_t n, unsigned char *out, size_t *outlen)
{
    jc_t  c;

    memset(&c, 0, sizeof(c));
    c.s = (const unsigned char *) s;
    c.n = n;
    c.out = out;
    if (jc_string(&c) != 0 || c.i != n) return -1;
    *outlen = c.outlen;
    return 0;
}

#endif
