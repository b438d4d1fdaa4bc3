/*
 * json_stream.c - a small pull tokenizer for JSON (RFC 8259), used by the
 * VIC and JSON Lines readers.
 *
 * Why not a DOM parser: a Project VIC export can be gigabytes, and nothing
 * in a hash list needs more than one media object at a time. The tokenizer
 * keeps one token and a nesting stack; the grammar state (what may come
 * next) is one small integer, so every syntax error, including a file cut
 * short, is found at the byte where it happens and reported with its offset.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <string.h>

#include "lists/json_stream.h"
#include "util/utf8.h"

/* What the grammar allows next. */
enum {
    X_VALUE,            /* any value (top level, after ':' or ',' in an array) */
    X_VALUE_OR_END,     /* just after '[' */
    X_KEY_OR_END,       /* just after '{' */
    X_KEY,              /* after ',' in an object */
    X_COLON,
    X_COMMA_OR_END,
    X_EOF,              /* the top-level value is complete */
    X_DONE              /* EOF or an error was returned: repeat it */
};

static void
js_reset(hg_jstream_t *j)
{
    j->tok_off = 0;
    j->tok_len = 0;
    j->tok[0] = '\0';
    j->tok_overflow = 0;
    j->depth = 0;
    j->expect = X_VALUE;
    j->why = NULL;
    j->err_off = 0;
}

int
hg_jstream_init_file(hg_jstream_t *j, FILE *fp)
{
    js_reset(j);
    return hg_src_init_file(&j->src, fp);
}

void
hg_jstream_init_mem(hg_jstream_t *j, const void *mem, size_t len)
{
    js_reset(j);
    hg_src_init_mem(&j->src, mem, len);
}

void
hg_jstream_free(hg_jstream_t *j)
{
    hg_src_free(&j->src);
}

static hg_jt_t
js_error(hg_jstream_t *j, uint64_t off, const char *why)
{
    j->why = why;
    j->err_off = off;
    j->expect = X_DONE;
    return HG_JT_ERROR;
}

static hg_jt_t
js_eof_error(hg_jstream_t *j)
{
    if (j->src.ioerr) {
        return js_error(j, hg_src_offset(&j->src), "read error");
    }
    return js_error(j, hg_src_offset(&j->src), j->depth == 0
                    ? "truncated JSON: no value"
                    : j->stack[j->depth - 1] == '{'
                    ? "truncated JSON: unterminated object"
                    : "truncated JSON: unterminated array");
}

static void
js_tok_put(hg_jstream_t *j, unsigned char c)
{
    if (j->tok_len < HG_JSTREAM_TOKEN_MAX) {
        j->tok[j->tok_len++] = (char) c;
    } else {
        j->tok_overflow = 1;
    }
}

static void
js_tok_put_n(hg_jstream_t *j, const unsigned char *s, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        js_tok_put(j, s[i]);
    }
}

/* Four hex digits of a \u escape, or -1. */
static long
js_hex4(hg_jstream_t *j)
{
    long  v = 0;
    int   i, c;

    for (i = 0; i < 4; i++) {
        c = hg_src_getc(&j->src);
        if (c >= '0' && c <= '9') {
            v = v * 16 + (c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v = v * 16 + (c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v = v * 16 + (c - 'A' + 10);
        } else {
            return -1;
        }
    }
    return v;
}

/*
 * The opening quote is consumed. Raw bytes that are not valid UTF-8 become
 * U+FFFD, one per maximal subpart (util/utf8.h), so a string handed on is
 * valid UTF-8, unless it overflowed (then it is cut, maybe mid-character).
 */
static int
js_string(hg_jstream_t *j)
{
    int               c;
    long              cp, lo;
    hg_utf8_stream_t  u = { .len = 0 };
    unsigned char     out[HG_UTF8_STREAM_OUT];

    j->tok_len = 0;
    j->tok_overflow = 0;
    for ( ;; ) {
        c = hg_src_getc(&j->src);
        if (c < 0) {
            js_error(j, hg_src_offset(&j->src), j->src.ioerr ? "read error"
                     : "truncated JSON: unterminated string");
            return -1;
        }
        if (c < 0x80 && u.len > 0) {
            /* a character cut short by an ASCII byte */
            js_tok_put_n(j, out, hg_utf8_stream_end(&u, out));
        }
        if (c == '"') {
            break;
        }
        if (c < 0x20) {
            js_error(j, hg_src_offset(&j->src) - 1,
                     "control character in a string");
            return -1;
        }
        if (c >= 0x80) {
            js_tok_put_n(j, out, hg_utf8_stream_put(&u, (unsigned char) c,
                                                    out));
            continue;
        }
        if (c != '\\') {
            js_tok_put(j, (unsigned char) c);
            continue;
        }
        c = hg_src_getc(&j->src);
        switch (c) {
        case '"': case '\\': case '/':
            js_tok_put(j, (unsigned char) c);
            break;
        case 'b': js_tok_put(j, '\b'); break;
        case 'f': js_tok_put(j, '\f'); break;
        case 'n': js_tok_put(j, '\n'); break;
        case 'r': js_tok_put(j, '\r'); break;
        case 't': js_tok_put(j, '\t'); break;
        case 'u':
            cp = js_hex4(j);
            if (cp < 0) {
                js_error(j, hg_src_offset(&j->src), "bad \\u escape");
                return -1;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (hg_src_getc(&j->src) != '\\'
                    || hg_src_getc(&j->src) != 'u'
                    || (lo = js_hex4(j)) < 0xDC00 || lo > 0xDFFF)
                {
                    js_error(j, hg_src_offset(&j->src),
                             "unpaired UTF-16 surrogate in \\u escape");
                    return -1;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                js_error(j, hg_src_offset(&j->src),
                         "unpaired UTF-16 surrogate in \\u escape");
                return -1;
            }
            js_tok_put_n(j, out, hg_utf8_encode((uint32_t) cp, out));
            break;
        default:
            js_error(j, hg_src_offset(&j->src), c < 0
                     ? "truncated JSON: unterminated string"
                     : "bad escape in a string");
            return -1;
        }
    }
    j->tok[j->tok_len] = '\0';
    return 0;
}

static int
js_isdigit(int c)
{
    return c >= '0' && c <= '9';
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?  first char not consumed. */
static int
js_number(hg_jstream_t *j)
{
    hg_src_t  *s = &j->src;
    int        c;

    j->tok_len = 0;
    j->tok_overflow = 0;
    if (hg_src_peek(s) == '-') {
        js_tok_put(j, (unsigned char) hg_src_getc(s));
    }
    c = hg_src_peek(s);
    if (c == '0') {
        js_tok_put(j, (unsigned char) hg_src_getc(s));
    } else if (js_isdigit(c)) {
        while (js_isdigit(hg_src_peek(s))) {
            js_tok_put(j, (unsigned char) hg_src_getc(s));
        }
    } else {
        goto bad;
    }
    if (hg_src_peek(s) == '.') {
        js_tok_put(j, (unsigned char) hg_src_getc(s));
        if (!js_isdigit(hg_src_peek(s))) {
            goto bad;
        }
        while (js_isdigit(hg_src_peek(s))) {
            js_tok_put(j, (unsigned char) hg_src_getc(s));
        }
    }
    c = hg_src_peek(s);
    if (c == 'e' || c == 'E') {
        js_tok_put(j, (unsigned char) hg_src_getc(s));
        c = hg_src_peek(s);
        if (c == '+' || c == '-') {
            js_tok_put(j, (unsigned char) hg_src_getc(s));
        }
        if (!js_isdigit(hg_src_peek(s))) {
            goto bad;
        }
        while (js_isdigit(hg_src_peek(s))) {
            js_tok_put(j, (unsigned char) hg_src_getc(s));
        }
    }
    j->tok[j->tok_len] = '\0';
    return 0;

bad:
    js_error(j, hg_src_offset(s), "bad number");
    return -1;
}

static int
js_literal(hg_jstream_t *j, const char *word)
{
    const char  *p;

    for (p = word; *p; p++) {
        if (hg_src_getc(&j->src) != *p) {
            js_error(j, j->tok_off, "bad literal (expected true, false, "
                     "null, a number, a string, an object or an array)");
            return -1;
        }
    }
    return 0;
}

/* After a complete value: what follows depends on the container. */
static void
js_value_done(hg_jstream_t *j)
{
    j->expect = j->depth > 0 ? X_COMMA_OR_END : X_EOF;
}

static hg_jt_t
js_push(hg_jstream_t *j, unsigned char what)
{
    if (j->depth >= HG_JSTREAM_DEPTH) {
        return js_error(j, j->tok_off, "JSON nested too deeply");
    }
    j->stack[j->depth++] = what;
    if (what == '{') {
        j->expect = X_KEY_OR_END;
        return HG_JT_OBJ_BEGIN;
    }
    j->expect = X_VALUE_OR_END;
    return HG_JT_ARR_BEGIN;
}

static hg_jt_t
js_pop(hg_jstream_t *j, int c)
{
    unsigned char  want = c == '}' ? '{' : '[';

    if (j->depth == 0 || j->stack[j->depth - 1] != want) {
        return js_error(j, j->tok_off, c == '}' ? "unexpected '}'"
                        : "unexpected ']'");
    }
    j->depth--;
    js_value_done(j);
    return c == '}' ? HG_JT_OBJ_END : HG_JT_ARR_END;
}

static hg_jt_t
js_value(hg_jstream_t *j, int c)
{
    switch (c) {
    case '{':
        hg_src_getc(&j->src);
        return js_push(j, '{');
    case '[':
        hg_src_getc(&j->src);
        return js_push(j, '[');
    case '"':
        hg_src_getc(&j->src);
        if (js_string(j) != 0) {
            return HG_JT_ERROR;
        }
        js_value_done(j);
        return HG_JT_STRING;
    case 't':
        if (js_literal(j, "true") != 0) {
            return HG_JT_ERROR;
        }
        js_value_done(j);
        return HG_JT_TRUE;
    case 'f':
        if (js_literal(j, "false") != 0) {
            return HG_JT_ERROR;
        }
        js_value_done(j);
        return HG_JT_FALSE;
    case 'n':
        if (js_literal(j, "null") != 0) {
            return HG_JT_ERROR;
        }
        js_value_done(j);
        return HG_JT_NULL;
    default:
        if (c == '-' || js_isdigit(c)) {
            if (js_number(j) != 0) {
                return HG_JT_ERROR;
            }
            js_value_done(j);
            return HG_JT_NUMBER;
        }
        return js_error(j, j->tok_off, "expected a JSON value");
    }
}

hg_jt_t
hg_jstream_next(hg_jstream_t *j)
{
    int  c;

    for ( ;; ) {
        if (j->expect == X_DONE) {
            return j->why != NULL ? HG_JT_ERROR : HG_JT_EOF;
        }
        c = hg_src_peek(&j->src);
        while (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            hg_src_getc(&j->src);
            c = hg_src_peek(&j->src);
        }
        j->tok_off = hg_src_offset(&j->src);
        if (c < 0) {
            if (j->expect == X_EOF && !j->src.ioerr) {
                j->expect = X_DONE;
                return HG_JT_EOF;
            }
            return js_eof_error(j);
        }

        switch (j->expect) {
        case X_EOF:
            return js_error(j, j->tok_off, "text after the JSON value");

        case X_COLON:
            if (c != ':') {
                return js_error(j, j->tok_off, "expected ':' after a key");
            }
            hg_src_getc(&j->src);
            j->expect = X_VALUE;
            continue;

        case X_COMMA_OR_END:
            if (c == ',') {
                hg_src_getc(&j->src);
                j->expect = j->stack[j->depth - 1] == '{' ? X_KEY : X_VALUE;
                continue;
            }
            if (c == '}' || c == ']') {
                hg_src_getc(&j->src);
                return js_pop(j, c);
            }
            return js_error(j, j->tok_off, j->stack[j->depth - 1] == '{'
                            ? "expected ',' or '}' in an object"
                            : "expected ',' or ']' in an array");

        case X_KEY_OR_END:
            if (c == '}') {
                hg_src_getc(&j->src);
                return js_pop(j, c);
            }
            /* fall through */
        case X_KEY:
            if (c != '"') {
                return js_error(j, j->tok_off, "expected a quoted key");
            }
            hg_src_getc(&j->src);
            if (js_string(j) != 0) {
                return HG_JT_ERROR;
            }
            j->expect = X_COLON;
            return HG_JT_KEY;

        case X_VALUE_OR_END:
            if (c == ']') {
                hg_src_getc(&j->src);
                return js_pop(j, c);
            }
            /* fall through */
        default:
            return js_value(j, c);
        }
    }
}

hg_jt_t
hg_jstream_skip(hg_jstream_t *j, hg_jt_t t)
{
    int  depth;

    if (t != HG_JT_OBJ_BEGIN && t != HG_JT_ARR_BEGIN) {
        return t;
    }
    depth = 1;
    while (depth > 0) {
        t = hg_jstream_next(j);
        switch (t) {
        case HG_JT_OBJ_BEGIN:
        case HG_JT_ARR_BEGIN:
            depth++;
            break;
        case HG_JT_OBJ_END:
        case HG_JT_ARR_END:
            depth--;
            break;
        case HG_JT_ERROR:
        case HG_JT_EOF:
            return HG_JT_ERROR;
        default:
            break;
        }
    }
    return t;
}

int
hg_jstream_tok_u64(const hg_jstream_t *j, uint64_t *out)
{
    if (j->tok_overflow) {
        return -1;
    }
    return hg_list_parse_u64(j->tok, j->tok_len, out);
}

const char *
hg_jstream_type_name(hg_jt_t t)
{
    switch (t) {
    case HG_JT_OBJ_BEGIN: return "an object";
    case HG_JT_ARR_BEGIN: return "an array";
    case HG_JT_STRING:    return "a string";
    case HG_JT_NUMBER:    return "a number";
    case HG_JT_TRUE:
    case HG_JT_FALSE:     return "a boolean";
    case HG_JT_NULL:      return "null";
    default:              return "not a value";
    }
}
