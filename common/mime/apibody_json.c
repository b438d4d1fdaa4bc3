/*
 * apibody_json.c - the JSON push tokenizer of the API body parser: the
 * structure, the JSON pointer of each value, and sibling names.
 *
 * Outside strings a state machine takes one token at a time through a
 * 256-entry class table (numbers through a small DFA, so "01" or "1."
 * stop the parse as strict readers do). Inside strings only '"' and '\'
 * matter, found 16 bytes at a time (SSE2); a string that ends within the
 * buffer, is too short to decode to min_bytes and is not a data: URL is
 * skipped whole without its bytes being looked at again. Raw control
 * characters and invalid UTF-8 inside strings are read as they are: they
 * change no structure, and a lenient reader would store them, so
 * stopping there would let a file past.
 *
 * Where a value is (RFC 6901): each open container is a frame holding
 * its current key (APIBODY_KEY_MAX bytes at most, in the stack-like arena
 * b->keys) or array index; the pointer is built only when a part begins.
 * A "name" or "filename" string member (the first of the object, any
 * case) is kept in b->names for the object's parts; a part that ends
 * before its object has one is pending until it has (or closes).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "mime/apibody_int.h"

/* Classes of bytes outside strings. */
enum {
    K_OTHER = 0, K_WS, K_LBRACE, K_RBRACE, K_LBRACK, K_RBRACK, K_COLON,
    K_COMMA, K_QUOTE, K_NUM, K_T, K_F, K_N, K_BOM
};

static const unsigned char _k[256] = {
    [' '] = K_WS, ['\t'] = K_WS, ['\n'] = K_WS, ['\r'] = K_WS,
    ['{'] = K_LBRACE, ['}'] = K_RBRACE, ['['] = K_LBRACK, [']'] = K_RBRACK,
    [':'] = K_COLON, [','] = K_COMMA, ['"'] = K_QUOTE,
    ['-'] = K_NUM, ['0' ... '9'] = K_NUM,
    ['t'] = K_T, ['f'] = K_F, ['n'] = K_N, [0xef] = K_BOM,
};

/*
 * Numbers (RFC 8259 6): states 0 after '-', 1 after a leading '0', 2 in
 * the integer, 3 after '.', 4 in the fraction, 5 after 'e', 6 after its
 * sign, 7 in the exponent; NEND: the byte is not part of it (fine in 1, 2,
 * 4, 7), NERR: malformed.
 */
#define NEND    8
#define NERR    9

static const unsigned char _ncls[256] = {
    ['0'] = 1, ['1' ... '9'] = 2, ['-'] = 3, ['+'] = 4, ['.'] = 5,
    ['e'] = 6, ['E'] = 6,
};

static const unsigned char _nnext[8][7] = {
    /* other  0     1-9   -     +     .     e */
    { NERR, 1,    2,    NERR, NERR, NERR, NERR },
    { NEND, NERR, NERR, NERR, NERR, 3,    5    },
    { NEND, 2,    2,    NERR, NERR, 3,    5    },
    { NERR, 4,    4,    NERR, NERR, NERR, NERR },
    { NEND, 4,    4,    NERR, NERR, NERR, 5    },
    { NERR, 7,    7,    6,    6,    NERR, NERR },
    { NERR, 7,    7,    NERR, NERR, NERR, NERR },
    { NEND, 7,    7,    NERR, NERR, NERR, NERR },
};

#define NUM_DONE(s)  ((s) == 1 || (s) == 2 || (s) == 4 || (s) == 7)

static const char   _bom[] = "\xef\xbb\xbf";

static inline uint64_t
_off(const hg_apibody_t *b, const unsigned char *p)
{
    return b->off + (uint64_t) (p - b->base);
}

/*
 * The first '"' or '\' in [p, end), or end. 64 bytes a step, branch-free
 * inside: most strings end in the first step, so the loop's exit is
 * predicted (a 16-byte step mispredicts on every string of 16 to 64).
 */
static inline const unsigned char *
_find_qb(const unsigned char *p, const unsigned char *end)
{
#if defined(__SSE2__)
    const __m128i   q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
    __m128i         v0, v1, v2, v3;
    uint64_t        m;
    unsigned        m16;

#define QB(v)   ((uint64_t) (unsigned) _mm_movemask_epi8(_mm_or_si128(      \
                    _mm_cmpeq_epi8((v), q), _mm_cmpeq_epi8((v), bs))))
    while (end - p >= 64) {
        v0 = _mm_loadu_si128((const __m128i *) (const void *) p);
        v1 = _mm_loadu_si128((const __m128i *) (const void *) (p + 16));
        v2 = _mm_loadu_si128((const __m128i *) (const void *) (p + 32));
        v3 = _mm_loadu_si128((const __m128i *) (const void *) (p + 48));
        m = QB(v0) | QB(v1) << 16 | QB(v2) << 32 | QB(v3) << 48;
        if (m != 0) {
            return p + __builtin_ctzll(m);
        }
        p += 64;
    }
    while (end - p >= 16) {
        v0 = _mm_loadu_si128((const __m128i *) (const void *) p);
        m16 = (unsigned) QB(v0);
        if (m16 != 0) {
            return p + __builtin_ctz(m16);
        }
        p += 16;
    }
#undef QB
#endif
    while (p < end && *p != '"' && *p != '\\') {
        p++;
    }
    return p;
}

/* The first byte that is not a digit in [p, end), or end. */
static inline const unsigned char *
_digits(const unsigned char *p, const unsigned char *end)
{
#if defined(__SSE2__)
    __m128i     v;
    unsigned    m;

    if (end - p >= 16) {
        v = _mm_loadu_si128((const __m128i *) (const void *) p);
        m = (unsigned) _mm_movemask_epi8(_mm_and_si128(
                _mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1))));
        if (m != 0xffff) {
            return p + __builtin_ctz(~m);
        }
        p += 16;
    }
#endif
    while (p < end && (unsigned) (*p - '0') < 10) {
        p++;
    }
    return p;
}

/* 4 bytes at p are those of s (a literal's letters). */
static inline int
_is4(const unsigned char *p, const char *s)
{
    uint32_t    a, c;

    memcpy(&a, p, 4);
    memcpy(&c, s, 4);
    return a == c;
}

static inline hg_apibody_frame_t *
_top(hg_apibody_t *b)
{
    return b->nframes > 0 ? &b->frames[b->nframes - 1] : NULL;
}

static inline void
_value_done(hg_apibody_t *b)
{
    b->js = b->nframes > 0 ? J_AFTER : J_DONE;
}

/* ---- containers ---- */

/* The current key of frame f. */
static inline const unsigned char *
_key_of(const hg_apibody_frame_t *f)
{
    return f->kp != NULL ? f->kp : f->key;
}

static inline int
_push(hg_apibody_t *b, int obj, const unsigned char *p)
{
    hg_apibody_frame_t *f;

    if (b->nframes >= b->lim.max_depth) {
        hg_apibody_fail(b, HG_ELIMIT, "body offset %llu: JSON nesting deeper "
                        "than %u (max_depth)",
                        (unsigned long long) _off(b, p), b->lim.max_depth);
        return -1;
    }
    if (b->nframes == b->frames_cap
        && hg_apibody_reserve(b, (void **) &b->frames, &b->frames_cap,
                              b->nframes + 1, sizeof(*f)) != HG_OK)
    {
        return -1;
    }
    f = &b->frames[b->nframes++];
    f->obj = (unsigned char) obj;
    f->key_name = 0;
    f->key_cut = 0;
    f->has_name = 0;
    f->index = 0;
    f->kp = NULL;
    f->key_len = 0;
    f->name_base = b->names_len;
    f->name_len = 0;
    return 0;
}

/* The top container closes. */
static inline int
_pop(hg_apibody_t *b)
{
    hg_apibody_frame_t *f = _top(b);

    if (b->pending && b->pend_frame == b->nframes - 1
        && hg_apibody_part_end(b) != HG_OK)
    {
        return -1;
    }
    b->names_len = f->name_base;
    b->nframes--;
    return 0;
}

/* A key was read: is it "name" or "filename" (any case)? */
static inline void
_key_end(hg_apibody_frame_t *f)
{
    const unsigned char    *k;
    uint32_t                w4;
    uint64_t                w8;

    f->key_name = 0;
    if (f->key_cut || (f->key_len != 4 && f->key_len != 8)) {
        return;
    }
    k = _key_of(f);
    if (f->key_len == 4) {
        memcpy(&w4, k, 4);
        f->key_name = (w4 | 0x20202020u) == ('n' | 'a' << 8 | 'm' << 16
                                             | (uint32_t) 'e' << 24);
    } else {
        memcpy(&w8, k, 8);
        f->key_name = memcmp(&(uint64_t) { w8 | 0x2020202020202020ULL },
                             "filename", 8) == 0;
    }
}

/* Keys still in the buffer being fed are copied before it goes. */
static void
_keys_keep(hg_apibody_t *b)
{
    size_t  i;

    for (i = 0; i < b->nframes; i++) {
        hg_apibody_frame_t *f = &b->frames[i];

        if (f->kp != NULL) {
            memcpy(f->key, f->kp, f->key_len);
            f->kp = NULL;
        }
    }
}

/* ---- string content ---- */

/* Key content arriving in pieces (escapes, a key split across feeds). */
static void
_key_put(hg_apibody_t *b, const unsigned char *s, size_t n)
{
    hg_apibody_frame_t *f = _top(b);
    size_t              m = APIBODY_KEY_MAX - f->key_len;

    if (n > m) {
        f->key_cut = 1;
        n = m;
    }
    memcpy(f->key + f->key_len, s, n);
    f->key_len += n;
}

static void
_name_put(hg_apibody_t *b, const unsigned char *s, size_t n)
{
    hg_apibody_frame_t *f = _top(b);
    size_t              m = APIBODY_NAME_MAX - (b->names_len - f->name_base);

    if (n > m) {
        b->name_cut = 1;
        n = m;
    }
    if (n == 0 || hg_apibody_reserve(b, (void **) &b->names, &b->names_cap,
                                     b->names_len + n, 1) != HG_OK)
    {
        return;
    }
    memcpy(b->names + b->names_len, s, n);
    b->names_len += n;
}

/* Content of the string being read, escapes undone. */
static void
_put(hg_apibody_t *b, const unsigned char *s, size_t n)
{
    if (b->in_key) {
        _key_put(b, s, n);
        return;
    }
    if (b->cap_name) {
        _name_put(b, s, n);
    }
    if (b->v.state != V_SKIP) {
        hg_apibody_val_feed(b, s, n);
    }
}

static void
_put_cp(hg_apibody_t *b, uint32_t cp)
{
    unsigned char   u[4];
    size_t          n;

    if (cp < 0x80) {
        u[0] = (unsigned char) cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char) (0xc0 | cp >> 6);
        u[1] = (unsigned char) (0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char) (0xe0 | cp >> 12);
        u[1] = (unsigned char) (0x80 | (cp >> 6 & 0x3f));
        u[2] = (unsigned char) (0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (unsigned char) (0xf0 | cp >> 18);
        u[1] = (unsigned char) (0x80 | (cp >> 12 & 0x3f));
        u[2] = (unsigned char) (0x80 | (cp >> 6 & 0x3f));
        u[3] = (unsigned char) (0x80 | (cp & 0x3f));
        n = 4;
    }
    _put(b, u, n);
}

/* A high surrogate not followed by its low half is U+FFFD, as readers
 * replace it. */
static inline void
_flush_hi(hg_apibody_t *b)
{
    if (b->hi != 0) {
        b->hi = 0;
        _put_cp(b, 0xfffd);
    }
}

static void
_unit(hg_apibody_t *b, uint32_t u)
{
    if (b->hi != 0) {
        if (u >= 0xdc00 && u <= 0xdfff) {
            u = 0x10000 + ((b->hi - 0xd800) << 10) + (u - 0xdc00);
            b->hi = 0;
            _put_cp(b, u);
            return;
        }
        _flush_hi(b);
    }
    if (u >= 0xd800 && u <= 0xdbff) {
        b->hi = u;
        return;
    }
    _put_cp(b, u >= 0xdc00 && u <= 0xdfff ? 0xfffd : u);
}

/* After a '\': the escape's characters. Returns where it stopped. */
static const unsigned char *
_esc(hg_apibody_t *b, const unsigned char *p, const unsigned char *end)
{
    unsigned char   c, x;
    int             h;

    while (p < end && b->esc != 0) {
        c = *p;
        if (b->esc == 1) {
            switch (c) {
            case '"': case '\\': case '/': x = c; break;
            case 'b': x = '\b'; break;
            case 'f': x = '\f'; break;
            case 'n': x = '\n'; break;
            case 'r': x = '\r'; break;
            case 't': x = '\t'; break;
            case 'u':
                b->esc = 2;
                b->u = 0;
                p++;
                continue;
            default:
                hg_apibody_stop(b, "invalid escape in a string", _off(b, p));
                return end;
            }
            b->esc = 0;
            _flush_hi(b);
            _put(b, &x, 1);
            return p + 1;
        }
        h = c >= '0' && c <= '9' ? c - '0'
            : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
            : -1;
        if (h < 0) {
            hg_apibody_stop(b, "invalid \\u escape in a string", _off(b, p));
            return end;
        }
        b->u = b->u << 4 | (uint32_t) h;
        p++;
        if (++b->esc == 6) {
            b->esc = 0;
            _unit(b, b->u);
        }
    }
    return p;
}

/* The object's name is the string just read (names[name_base..]). */
static void
_name_set(hg_apibody_t *b, hg_apibody_frame_t *f)
{
    f->name_len = b->names_len - f->name_base;
    if (b->name_cut) {
        f->name_len = hg_apibody_utf8_trim(b->names + f->name_base,
                                           f->name_len);
        b->names_len = f->name_base + f->name_len;
    }
    f->has_name = 1;
    if (b->pending && b->pend_frame == b->nframes - 1) {
        hg_apibody_part_end(b);
    }
}

static void
_str_end(hg_apibody_t *b)
{
    hg_apibody_frame_t *f;
    int                 was_part;

    _flush_hi(b);
    if (b->in_key) {
        b->in_key = 0;
        f = _top(b);
        if (f->key_cut) {
            f->key_len = hg_apibody_utf8_trim(f->key, f->key_len);
        }
        _key_end(f);
        b->js = J_COLON;
        return;
    }
    f = _top(b);
    was_part = b->v.state == V_B64 || b->v.state == V_DPEEK;
    hg_apibody_val_end(b);
    _value_done(b);
    if (b->cap_name) {
        b->cap_name = 0;
        if (was_part) {
            b->names_len = f->name_base;
        } else if (b->st == HG_OK) {
            _name_set(b, f);
        }
    }
}

/* Inside a string, escapes and all. Returns where it stopped. */
static const unsigned char *
_str(hg_apibody_t *b, const unsigned char *p, const unsigned char *end)
{
    const unsigned char *q;

    for (;;) {
        if (b->esc != 0) {
            p = _esc(b, p, end);
            if (b->esc != 0 || b->stop_why != NULL || b->st != HG_OK) {
                return end;
            }
        }
        q = _find_qb(p, end);
        if (q > p && (b->in_key || b->cap_name || b->v.state != V_SKIP)) {
            _flush_hi(b);
            _put(b, p, (size_t) (q - p));
        }
        if (q == end || b->st != HG_OK) {
            return end;
        }
        if (*q == '"') {
            _str_end(b);
            return q + 1;
        }
        b->esc = 1;
        p = q + 1;
    }
}

/* A string value that may be a part (or a name), after its '"' at p. */
static const unsigned char *
_str_value(hg_apibody_t *b, const unsigned char *p, const unsigned char *end,
           int cap)
{
    if (cap) {
        b->names_len = _top(b)->name_base;
        b->name_cut = 0;
    }
    b->in_key = 0;
    b->cap_name = cap;
    hg_apibody_val_begin(b);
    b->js = J_STR;
    return _str(b, p, end);
}

/* A key with escapes or cut by the feed's end, after its '"' at p. */
static const unsigned char *
_key(hg_apibody_t *b, const unsigned char *p, const unsigned char *end)
{
    hg_apibody_frame_t *f = _top(b);

    f->kp = NULL;
    f->key_len = 0;
    f->key_cut = 0;
    f->key_name = 0;
    b->in_key = 1;
    b->js = J_STR;
    return _str(b, p, end);
}

/* A number cut by the end of the previous feed. */
static const unsigned char *
_num(hg_apibody_t *b, const unsigned char *p, const unsigned char *end)
{
    unsigned    s = (unsigned) b->num, ns;

    for (; p < end; p++) {
        ns = _nnext[s][_ncls[*p]];
        if (ns >= NEND) {
            if (ns == NERR) {
                hg_apibody_stop(b, "invalid number", _off(b, p));
                return end;
            }
            _value_done(b);
            return p;
        }
        s = ns;
    }
    b->num = (int) s;
    return p;
}

/* A literal (or a byte order mark) from b->lit[b->lit_pos]. */
static const unsigned char *
_lit(hg_apibody_t *b, const unsigned char *p, const unsigned char *end)
{
    for (; b->lit[b->lit_pos] != '\0'; p++, b->lit_pos++) {
        if (p == end) {
            return p;
        }
        if (*p != (unsigned char) b->lit[b->lit_pos]) {
            hg_apibody_stop(b, b->lit == _bom ? "expected a value"
                                              : "invalid literal", _off(b, p));
            return end;
        }
    }
    if (b->lit == _bom) {
        b->js = J_VALUE;        /* a UTF-8 byte order mark, skipped */
    } else {
        _value_done(b);
    }
    return p;
}

/* Skip blanks; at the feed's end, remember state S and return. */
#define WS(S)                                                               \
    do {                                                                    \
        while (p < end && _k[*p] == K_WS) {                                 \
            p++;                                                            \
        }                                                                   \
        if (p == end) {                                                     \
            b->js = (S);                                                    \
            goto out;                                                       \
        }                                                                   \
    } while (0)

#define STOP(why, at)                                                       \
    do {                                                                    \
        hg_apibody_stop(b, (why), _off(b, (at)));                           \
        goto out;                                                           \
    } while (0)

/*
 * The tokenizer. The common tokens are read in place, each state a label
 * (no dispatch per token); a token cut by the feed's end, a string with
 * an escape, and one that may be a part or a name go through the
 * functions above, which leave the state in b->js.
 */
hg_status_t
hg_apibody_json_feed(hg_apibody_t *b, const unsigned char *p, size_t n)
{
    const unsigned char    *end = p + n, *q;
    hg_apibody_frame_t     *f;
    unsigned                s, ns;
    size_t                  len;
    int                     cap;

resume:
    if (b->st != HG_OK || b->stop_why != NULL
        || (p == end && b->js >= J_STR))
    {
        goto out;
    }
    switch (b->js) {
    case J_STR:
        p = _str(b, p, end);
        goto resume;
    case J_NUM:
        p = _num(b, p, end);
        goto resume;
    case J_LIT:
        p = _lit(b, p, end);
        goto resume;
    case J_VALUE_OR_END:
        goto value_or_end;
    case J_KEY_OR_END:
        goto key_or_end;
    case J_KEY:
        goto key;
    case J_COLON:
        goto colon;
    case J_AFTER:
        goto after;
    case J_DONE:
        goto done;
    default:
        goto value;
    }

value_or_end:
    WS(J_VALUE_OR_END);
    if (*p == ']') {
        p++;
        goto pop;
    }
value:
    WS(J_VALUE);
    /* strings first: most values are, and a branch predicts better */
    if (*p == '"') {
        f = _top(b);
        cap = f != NULL && f->obj && f->key_name && !f->has_name;
        q = _find_qb(++p, end);
        len = (size_t) (q - p);
        if (q < end && *q == '"' && len < b->need
            && !(len >= 5 && (p[0] | 0x20) == 'd'
                 && strncasecmp((const char *) p, "data:", 5) == 0))
        {
            /* whole, short, no escape, no data: URL: no part */
            if (cap) {
                if (len > APIBODY_NAME_MAX) {
                    len = hg_apibody_utf8_trim(p, APIBODY_NAME_MAX);
                }
                b->names_len = f->name_base;
                if (hg_apibody_reserve(b, (void **) &b->names, &b->names_cap,
                                       b->names_len + len + 1, 1) != HG_OK)
                {
                    goto out;
                }
                memcpy(b->names + b->names_len, p, len);
                b->names_len += len;
                b->name_cut = 0;
                _name_set(b, f);
            }
            p = q + 1;
            goto value_done;
        }
        p = _str_value(b, p, end, cap);
        goto resume;
    }
    switch (_k[*p]) {
    case K_NUM:
        s = *p == '-' ? 0 : *p == '0' ? 1 : 2;
        for (q = p + 1;; q++) {
            if (s == 2 || s == 4 || s == 7) {
                q = _digits(q, end);
            }
            if (q == end) {
                b->num = (int) s;
                b->js = J_NUM;
                goto out;
            }
            ns = _nnext[s][_ncls[*q]];
            if (ns >= NEND) {
                break;
            }
            s = ns;
        }
        if (ns == NERR) {
            STOP("invalid number", q);
        }
        p = q;
        goto value_done;
    case K_LBRACE:
        if (_push(b, 1, p) != 0) {
            goto out;
        }
        p++;
        goto key_or_end;
    case K_LBRACK:
        if (_push(b, 0, p) != 0) {
            goto out;
        }
        p++;
        goto value_or_end;
    case K_T:
        b->lit = "true";
        if (end - p >= 4 && _is4(p, "true")) {
            p += 4;
            goto value_done;
        }
        break;
    case K_F:
        b->lit = "false";
        if (end - p >= 5 && _is4(p + 1, "alse")) {
            p += 5;
            goto value_done;
        }
        break;
    case K_N:
        b->lit = "null";
        if (end - p >= 4 && _is4(p, "null")) {
            p += 4;
            goto value_done;
        }
        break;
    case K_BOM:
        if (_off(b, p) == 0) {
            b->lit = _bom;
            break;
        }
        /* fall through */
    default:
        STOP("expected a value", p);
    }
    b->lit_pos = 0;
    b->js = J_LIT;
    p = _lit(b, p, end);
    goto resume;

value_done:
    if (b->nframes == 0) {
        goto done;
    }
after:
    WS(J_AFTER);
    f = _top(b);
    if (*p == ',') {
        p++;
        if (f->obj) {
            goto key;
        }
        f->index++;
        goto value;
    }
    if (*p == (f->obj ? '}' : ']')) {
        p++;
        goto pop;
    }
    STOP(f->obj ? "expected ',' or '}'" : "expected ',' or ']'", p);

pop:
    if (_pop(b) != 0) {
        goto out;
    }
    goto value_done;

key_or_end:
    WS(J_KEY_OR_END);
    if (*p == '}') {
        p++;
        goto pop;
    }
key:
    WS(J_KEY);
    if (*p != '"') {
        STOP("expected a key (a string)", p);
    }
    q = _find_qb(++p, end);
    if (q == end || *q != '"') {
        p = _key(b, p, end);
        goto resume;
    }
    f = _top(b);
    f->kp = p;
    f->key_len = (size_t) (q - p);
    f->key_cut = 0;
    if (f->key_len > APIBODY_KEY_MAX) {
        f->key_len = hg_apibody_utf8_trim(p, APIBODY_KEY_MAX);
        f->key_cut = 1;
    }
    _key_end(f);
    p = q + 1;
colon:
    WS(J_COLON);
    if (*p != ':') {
        STOP("expected ':' after a key", p);
    }
    p++;
    goto value;

done:
    WS(J_DONE);
    STOP("data after the top-level value", p);

out:
    _keys_keep(b);
    return b->st;
}

hg_status_t
hg_apibody_json_finish(hg_apibody_t *b)
{
    const char         *why;
    hg_apibody_frame_t *f = _top(b);

    if (b->js == J_DONE
        || (b->js == J_NUM && f == NULL && NUM_DONE((unsigned) b->num)))
    {
        return b->st;
    }
    if (b->js == J_STR) {
        why = "truncated inside a string";
    } else if (f != NULL) {
        why = f->obj ? "truncated inside an object" : "truncated inside an array";
    } else if (b->js == J_NUM) {
        why = "truncated inside a number";
    } else if (b->js == J_LIT) {
        why = b->lit == _bom ? "empty body: no JSON value"
                             : "truncated inside a literal";
    } else {
        why = "empty body: no JSON value";
    }
    return hg_apibody_stop(b, why, b->off);
}

/* Append n bytes of s to the part's path as they are. */
static hg_status_t
_path_lit(hg_apibody_t *b, size_t *len, const char *s, size_t n)
{
    if (hg_apibody_reserve(b, (void **) &b->ppath, &b->ppath_cap,
                           *len + n + 1, 1) != HG_OK)
    {
        return b->st;
    }
    memcpy(b->ppath + *len, s, n);
    *len += n;
    b->ppath[*len] = '\0';
    return HG_OK;
}

hg_status_t
hg_apibody_json_info(hg_apibody_t *b)
{
    hg_apibody_frame_t *f;
    size_t              i, len = 0;
    char                num[16];
    int                 w;

    b->ppath[0] = '\0';
    for (i = 0; i < b->nframes; i++) {
        f = &b->frames[i];
        if (_path_lit(b, &len, "/", 1) != HG_OK) {
            return b->st;
        }
        if (f->obj) {
            if (hg_apibody_path_put(b, &len, _key_of(f), f->key_len, 1)
                != HG_OK
                || (f->key_cut && _path_lit(b, &len, "...", 3) != HG_OK))
            {
                return b->st;
            }
        } else {
            w = snprintf(num, sizeof(num), "%u", (unsigned) f->index);
            if (_path_lit(b, &len, num, (size_t) w) != HG_OK) {
                return b->st;
            }
        }
    }
    b->info.path = b->ppath;
    b->info.depth = (unsigned) b->nframes;
    b->info.field_name = NULL;
    b->info.filename = NULL;
    f = _top(b);
    if (f != NULL && f->obj) {
        memcpy(b->pfield, _key_of(f), f->key_len);
        b->pfield[f->key_len] = '\0';
        b->info.field_name = b->pfield;
    }
    hg_apibody_json_pending_name(b);
    return HG_OK;
}

void
hg_apibody_json_pending_name(hg_apibody_t *b)
{
    hg_apibody_frame_t *f;

    if (b->mode != HG_APIBODY_JSON || b->nframes == 0) {
        return;
    }
    f = &b->frames[b->pending ? b->pend_frame : b->nframes - 1];
    if (f->obj && f->has_name) {
        memcpy(b->pname, b->names + f->name_base, f->name_len);
        b->pname[f->name_len] = '\0';
        b->info.filename = b->pname;
    }
}
