/*
 * json.c - a small JSON writer that never emits broken JSON.
 *
 * Evidence records carry strings an attacker chose (file names, Message-IDs,
 * URIs), so every string goes through one escaper: valid UTF-8 (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF) is copied,
 * anything else becomes U+FFFD, one replacement per maximal invalid
 * subpart (util/utf8.c, the library's one rule). Control characters, DEL
 * and U+2028/U+2029 are written as \uXXXX so a line can never be split or
 * hide text in a terminal.
 *
 * The writer tracks its own structure: commas are placed by it, and a misuse
 * (a value where a key is due, a key in an array, an end without a begin,
 * nesting deeper than HG_JSON_MAX_DEPTH, a second top-level value) makes the
 * writer stop writing and hg_json_done return HG_EINVAL, so a caller's bug
 * gives an error, not a malformed line.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashgate/json.h"
#include "util/utf8.h"

/* Per-container state kept in need_comma[depth - 1]. */
#define J_COMMA   0x1   /* an element was written: the next needs a comma */
#define J_KEY     0x2   /* a key was written: its value is due */
#define J_OBJ     0x4   /* the container is an object */

/* j->oom values: 0 fine, J_ENOMEM allocation failed, J_EINVAL misuse. */
#define J_ENOMEM  1
#define J_EINVAL  2

/* First allocation: one evidence record usually fits. */
#define J_INITIAL_CAP  1024

void
hg_json_init(hg_json_t *j)
{
    memset(j, 0, sizeof(*j));
}

void
hg_json_reset(hg_json_t *j)
{
    char    *buf = j->buf;
    size_t   cap = j->cap;

    memset(j, 0, sizeof(*j));
    j->buf = buf;
    j->cap = cap;
    if (buf != NULL) {
        buf[0] = '\0';
    }
}

void
hg_json_free(hg_json_t *j)
{
    free(j->buf);
    memset(j, 0, sizeof(*j));
}

/* Make room for n more bytes plus the NUL kept after the text. */
static int
_json_reserve(hg_json_t *j, size_t n)
{
    size_t   need, cap;
    char    *p;

    if (j->oom) {
        return -1;
    }
    /* Catch size_t overflow */
    if (n > (size_t) -1 / 2 - j->len - 1) {
        j->oom = J_ENOMEM;
        return -1;
    }
    need = j->len + n + 1;
    if (need <= j->cap) {
        return 0;
    }
    cap = j->cap ? j->cap : J_INITIAL_CAP;
    while (cap < need) {
        cap *= 2;
    }
    p = realloc(j->buf, cap);
    if (p == NULL) {
        j->oom = J_ENOMEM;
        return -1;
    }
    j->buf = p;
    j->cap = cap;
    return 0;
}

static void
_json_put(hg_json_t *j, const char *s, size_t n)
{
    if (_json_reserve(j, n) != 0) {
        return;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = '\0';
}

static void
_json_bad(hg_json_t *j)
{
    if (!j->oom) {
        j->oom = J_EINVAL;
    }
}

/*
 * Called before every value: writes the comma if one is due and checks that
 * a value is allowed here. Returns 0 when the value may be written.
 */
static int
_json_value_pos(hg_json_t *j)
{
    int  *st;

    if (j->oom) {
        return -1;
    }
    if (j->depth == 0) {
        /* one top-level value per line */
        if (j->len != 0) {
            _json_bad(j);
            return -1;
        }
        return 0;
    }
    st = &j->need_comma[j->depth - 1];
    if (*st & J_OBJ) {
        if (!(*st & J_KEY)) {
            _json_bad(j);
            return -1;
        }
        *st = (*st & ~J_KEY) | J_COMMA;
        return 0;
    }
    if (*st & J_COMMA) {
        _json_put(j, ",", 1);
    }
    *st |= J_COMMA;
    return j->oom ? -1 : 0;
}

static void
_json_open(hg_json_t *j, char c, int obj)
{
    if (_json_value_pos(j) != 0) {
        return;
    }
    if (j->depth >= HG_JSON_MAX_DEPTH) {
        _json_bad(j);
        return;
    }
    _json_put(j, &c, 1);
    j->need_comma[j->depth] = obj ? J_OBJ : 0;
    j->depth++;
}

static void
_json_close(hg_json_t *j, char c, int obj)
{
    int  st;

    if (j->oom) {
        return;
    }
    if (j->depth == 0) {
        _json_bad(j);
        return;
    }
    st = j->need_comma[j->depth - 1];
    if (!!(st & J_OBJ) != obj || (st & J_KEY)) {
        _json_bad(j);
        return;
    }
    _json_put(j, &c, 1);
    j->depth--;
}

void
hg_json_obj_begin(hg_json_t *j)
{
    _json_open(j, '{', 1);
}

void
hg_json_obj_end(hg_json_t *j)
{
    _json_close(j, '}', 1);
}

void
hg_json_arr_begin(hg_json_t *j)
{
    _json_open(j, '[', 0);
}

void
hg_json_arr_end(hg_json_t *j)
{
    _json_close(j, ']', 0);
}

static void
_json_escape(hg_json_t *j, const char *str, size_t n)
{
    static const char  hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *) str;
    size_t         i = 0, run;
    int            k;
    uint32_t       cp;
    char           esc[8];

    _json_put(j, "\"", 1);
    while (i < n && !j->oom) {
        /* copy the longest run that needs nothing */
        run = i;
        while (run < n && s[run] >= 0x20 && s[run] < 0x7F && s[run] != '"'
               && s[run] != '\\') {
            run++;
        }
        if (run > i) {
            _json_put(j, str + i, run - i);
            i = run;
            continue;
        }

        if (s[i] < 0x80) {
            switch (s[i]) {
            case '"':  _json_put(j, "\\\"", 2); break;
            case '\\': _json_put(j, "\\\\", 2); break;
            case '\b': _json_put(j, "\\b", 2); break;
            case '\f': _json_put(j, "\\f", 2); break;
            case '\n': _json_put(j, "\\n", 2); break;
            case '\r': _json_put(j, "\\r", 2); break;
            case '\t': _json_put(j, "\\t", 2); break;
            default:
                /* other C0 controls and DEL */
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[s[i] >> 4];
                esc[5] = hex[s[i] & 0xF];
                _json_put(j, esc, 6);
                break;
            }
            i++;
            continue;
        }

        k = hg_utf8_seq(s + i, n - i, &cp);
        if (k == 0) {
            k = -(int) (n - i);     /* cut short by the end of the string */
        }
        if (k < 0) {
            _json_put(j, HG_UTF8_REPLACEMENT, 3);
            i += (size_t) -k;
        } else if (cp == 0x2028 || cp == 0x2029) {
            /* line and paragraph separators end lines in some readers */
            _json_put(j, cp == 0x2028 ? "\\u2028" : "\\u2029", 6);
            i += 3;
        } else {
            _json_put(j, str + i, (size_t) k);
            i += (size_t) k;
        }
    }
    _json_put(j, "\"", 1);
}

void
hg_json_key(hg_json_t *j, const char *key)
{
    int  *st;

    if (j->oom) {
        return;
    }
    if (key == NULL || j->depth == 0) {
        _json_bad(j);
        return;
    }
    st = &j->need_comma[j->depth - 1];
    if (!(*st & J_OBJ) || (*st & J_KEY)) {
        _json_bad(j);
        return;
    }
    if (*st & J_COMMA) {
        _json_put(j, ",", 1);
    }
    _json_escape(j, key, strlen(key));
    _json_put(j, ":", 1);
    *st |= J_KEY;
}

void
hg_json_strn(hg_json_t *j, const char *s, size_t n)
{
    if (s == NULL) {
        hg_json_null(j);
        return;
    }
    if (_json_value_pos(j) != 0) {
        return;
    }
    _json_escape(j, s, n);
}

void
hg_json_str(hg_json_t *j, const char *s)
{
    hg_json_strn(j, s, s ? strlen(s) : 0);
}

static void
_json_raw_value(hg_json_t *j, const char *s, size_t n)
{
    if (_json_value_pos(j) != 0) {
        return;
    }
    _json_put(j, s, n);
}

void
hg_json_uint(hg_json_t *j, uint64_t v)
{
    char  num[24];
    int   n = snprintf(num, sizeof(num), "%llu", (unsigned long long) v);

    _json_raw_value(j, num, (size_t) n);
}

void
hg_json_int(hg_json_t *j, int64_t v)
{
    char  num[24];
    int   n = snprintf(num, sizeof(num), "%lld", (long long) v);

    _json_raw_value(j, num, (size_t) n);
}

void
hg_json_bool(hg_json_t *j, int v)
{
    if (v) {
        _json_raw_value(j, "true", 4);
    } else {
        _json_raw_value(j, "false", 5);
    }
}

void
hg_json_null(hg_json_t *j)
{
    _json_raw_value(j, "null", 4);
}

void
hg_json_kv_str(hg_json_t *j, const char *key, const char *s)
{
    hg_json_key(j, key);
    hg_json_str(j, s);
}

void
hg_json_kv_uint(hg_json_t *j, const char *key, uint64_t v)
{
    hg_json_key(j, key);
    hg_json_uint(j, v);
}

/*
 * Finish the line: HG_ENOMEM if an allocation failed, HG_EINVAL if the
 * writer was misused, a container is still open or nothing was written;
 * otherwise appends '\n' and returns HG_OK. j->buf stays NUL-terminated.
 */
hg_status_t
hg_json_done(hg_json_t *j)
{
    if (j->oom == J_ENOMEM) {
        return HG_ENOMEM;
    }
    if (j->oom || j->depth != 0 || j->len == 0) {
        return HG_EINVAL;
    }
    _json_put(j, "\n", 1);
    return j->oom ? HG_ENOMEM : HG_OK;
}
