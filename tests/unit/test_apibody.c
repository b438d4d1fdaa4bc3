/*
 * test_apibody.c - files inside JSON and url-encoded bodies (apibody.h):
 * what becomes a part, its path, name, type and decoded bytes (equal to
 * the synthetic file's), what does not, malformed and truncated bodies,
 * and every limit giving HG_ELIMIT with a message naming it. Every body is
 * parsed fed whole, one byte at a time and in 7-byte slices: the three
 * must give the same parts, bytes, status and stop.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hashgate/apibody.h"
#include "mime/apibody_int.h"       /* hg_apibody_lazy_force_path */

#define MAXP    16

typedef struct {
    char            path[1200];
    char            field[300];
    char            name_begin[300];
    char            name_end[300];
    char            type[130];
    char            enc[16];
    int             has_field, has_name_begin, has_name_end;
    unsigned        depth;
    unsigned char  *data;
    size_t          len;
    uint64_t        errors;
    uint64_t        stat_bytes;
    int             ended;
} part_t;

typedef struct {
    part_t          p[MAXP];
    unsigned        n;
    int             open;
    int             cancel_at;      /* part_begin of this index cancels */
    hg_status_t     st;
    char            msg[HG_ERR_MAX];
    char            why[80];
    int             stopped;
    uint64_t        off;
    unsigned        nparts;
    int             want;           /* ask for the stop at each part's end,
                                     * as a server that writes a record */
    hg_apibody_t   *b;
} res_t;

static int  run_want;               /* what run() sets res_t.want to */

static hg_status_t
c_begin(void *ctx, const hg_part_info_t *info)
{
    res_t  *r = ctx;
    part_t *p;

    assert_int_equal(r->open, 0);
    assert_true(r->n < MAXP);
    if ((int) r->n == r->cancel_at) {
        return HG_ECANCEL;
    }
    p = &r->p[r->n++];
    memset(p, 0, sizeof(*p));
    assert_non_null(info->path);
    assert_non_null(info->content_type);
    assert_non_null(info->encoding);
    snprintf(p->path, sizeof(p->path), "%s", info->path);
    snprintf(p->type, sizeof(p->type), "%s", info->content_type);
    snprintf(p->enc, sizeof(p->enc), "%s", info->encoding);
    if (info->field_name != NULL) {
        p->has_field = 1;
        snprintf(p->field, sizeof(p->field), "%s", info->field_name);
    }
    if (info->filename != NULL) {
        p->has_name_begin = 1;
        snprintf(p->name_begin, sizeof(p->name_begin), "%s", info->filename);
    }
    p->depth = info->depth;
    r->open = 1;
    return HG_OK;
}

static hg_status_t
c_data(void *ctx, const unsigned char *buf, size_t len)
{
    res_t  *r = ctx;
    part_t *p = &r->p[r->n - 1];

    assert_int_equal(r->open, 1);
    assert_true(len > 0);
    p->data = realloc(p->data, p->len + len);
    assert_non_null(p->data);
    memcpy(p->data + p->len, buf, len);
    p->len += len;
    return HG_OK;
}

static hg_status_t
c_end(void *ctx, const hg_part_info_t *info, const hg_part_stats_t *st)
{
    res_t  *r = ctx;
    part_t *p = &r->p[r->n - 1];

    assert_int_equal(r->open, 1);
    assert_string_equal(info->path, p->path);
    assert_string_equal(info->content_type, p->type);
    if (info->filename != NULL) {
        p->has_name_end = 1;
        snprintf(p->name_end, sizeof(p->name_end), "%s", info->filename);
    }
    p->errors = st->decode_errors;
    p->stat_bytes = st->decoded_bytes;
    assert_int_equal(st->decoded_bytes, p->len);
    p->ended = 1;
    r->open = 0;
    if (r->want) {
        hg_apibody_want_stop(r->b);
    }
    return HG_OK;
}

static void
res_free(res_t *r)
{
    unsigned    i;

    for (i = 0; i < r->n; i++) {
        free(r->p[i].data);
    }
    memset(r, 0, sizeof(*r));
}

static void
run(hg_apibody_mode_t mode, const hg_apibody_limits_t *lim, const void *body,
    size_t len, size_t step, int cancel_at, res_t *r)
{
    hg_unpack_cb_t  cb = { c_begin, c_data, c_end };
    hg_apibody_t   *b;
    hg_err_t        err;
    const char     *why;
    size_t          off, k;

    memset(r, 0, sizeof(*r));
    r->cancel_at = cancel_at;
    r->want = run_want;
    b = hg_apibody_new(mode, lim, &cb, r, &err);
    assert_non_null(b);
    r->b = b;
    r->st = HG_OK;
    for (off = 0; off < len && r->st == HG_OK; off += k) {
        k = len - off < step ? len - off : step;
        r->st = hg_apibody_feed(b, (const char *) body + off, k, &err);
    }
    if (r->st == HG_OK) {
        r->st = hg_apibody_finish(b, &err);
    }
    if (r->st != HG_OK) {
        snprintf(r->msg, sizeof(r->msg), "%s", err.msg);
    } else {
        assert_int_equal(r->open, 0);   /* finish ends every part */
    }
    why = hg_apibody_stopped(b, &r->off);
    if (why != NULL) {
        r->stopped = 1;
        snprintf(r->why, sizeof(r->why), "%s", why);
    }
    r->nparts = hg_apibody_parts(b);
    r->b = NULL;
    hg_apibody_free(b);
}

static void
same_res(const res_t *a, const res_t *b)
{
    unsigned    i;

    assert_int_equal(a->st, b->st);
    assert_string_equal(a->msg, b->msg);
    assert_int_equal(a->stopped, b->stopped);
    assert_string_equal(a->why, b->why);
    assert_int_equal(a->off, b->off);
    assert_int_equal(a->nparts, b->nparts);
    assert_int_equal(a->n, b->n);
    for (i = 0; i < a->n; i++) {
        const part_t *x = &a->p[i], *y = &b->p[i];

        assert_string_equal(x->path, y->path);
        assert_string_equal(x->field, y->field);
        assert_int_equal(x->has_field, y->has_field);
        assert_string_equal(x->name_begin, y->name_begin);
        assert_int_equal(x->has_name_begin, y->has_name_begin);
        assert_string_equal(x->name_end, y->name_end);
        assert_int_equal(x->has_name_end, y->has_name_end);
        assert_string_equal(x->type, y->type);
        assert_string_equal(x->enc, y->enc);
        assert_int_equal(x->depth, y->depth);
        assert_int_equal(x->len, y->len);
        assert_true(x->len == 0 || memcmp(x->data, y->data, x->len) == 0);
        assert_int_equal(x->errors, y->errors);
        assert_int_equal(x->ended, y->ended);
    }
}

/*
 * The lazy path (JSON): what it gives must be what the tokenizer alone
 * gives - parts, bytes, names, status and message - and where a body
 * stops whenever it says so, or a part ended while the stop was wanted
 * (hg_apibody_want_stop; else a body, or the tail after its last part,
 * with no possible part is not read for faults).
 */
static void
same_lazy(const res_t *full, const res_t *lazy)
{
    res_t   l = *lazy;
    int     ended = 0;
    unsigned i;

    for (i = 0; i < lazy->n; i++) {
        ended |= lazy->p[i].ended;
    }
    if (!lazy->stopped && !(lazy->want && ended)) {
        l.stopped = full->stopped;
        memcpy(l.why, full->why, sizeof(l.why));
        l.off = full->off;
    }
    same_res(full, &l);
}

static int  lazy_path = -1;     /* the scanner's path these tests force */

/*
 * Parse fed whole, byte by byte and in 7-byte slices, by the tokenizer
 * alone (max_retained 0); all must agree. R is that result. Then the
 * same by the lazy path, by each scanner path the CPU has, with the
 * default max_retained and with 100 bytes (reached often), each compared
 * with R.
 */
static res_t    R;

static const res_t *
parse_lim(hg_apibody_mode_t mode, const hg_apibody_limits_t *lim,
          const void *body, size_t len)
{
    static const size_t steps[] = { 0, 1, 7, 64, 4096 };
    static res_t        one, seven, lz;
    hg_apibody_limits_t full, lazy;
    size_t              i, r;
    int                 path;

    if (lim != NULL) {
        full = *lim;
    } else {
        hg_apibody_limits_default(&full);
    }
    lazy = full;
    if (lazy.max_retained == 0) {
        lazy.max_retained = HG_APIBODY_MAX_RETAINED;
    }
    full.max_retained = 0;
    res_free(&R);
    run(mode, &full, body, len, len ? len : 1, -1, &R);
    run(mode, &full, body, len, 1, -1, &one);
    same_res(&R, &one);
    res_free(&one);
    run(mode, &full, body, len, 7, -1, &seven);
    same_res(&R, &seven);
    res_free(&seven);
    for (path = HG_APIBODY_LAZY_SCALAR; path <= HG_APIBODY_LAZY_AVX512;
         path++)
    {
        if (lazy_path >= 0 && path != lazy_path) {
            continue;
        }
        if (hg_apibody_lazy_force_path(path) != 0) {
            continue;
        }
        for (r = 0; r < 2; r++) {
            lazy.max_retained = r == 0 ? (lim != NULL && lim->max_retained
                                          ? lim->max_retained
                                          : HG_APIBODY_MAX_RETAINED)
                                       : 100;
            for (i = 0; i < 2 * sizeof(steps) / sizeof(steps[0]); i++) {
                size_t  st = steps[i / 2];

                run_want = i % 2;
                run(mode, &lazy, body, len, st ? st : len ? len : 1, -1,
                    &lz);
                run_want = 0;
                same_lazy(&R, &lz);
                res_free(&lz);
            }
        }
    }
    hg_apibody_lazy_force_path(HG_APIBODY_LAZY_AUTO);
    return &R;
}

/* The lazy path alone (default max_retained), fed in step-byte slices. */
static const res_t *
parse_lazy(const hg_apibody_limits_t *lim, const void *body, size_t len,
           size_t step)
{
    hg_apibody_limits_t l;

    if (lim != NULL) {
        l = *lim;
    } else {
        hg_apibody_limits_default(&l);
    }
    if (l.max_retained == 0) {
        l.max_retained = HG_APIBODY_MAX_RETAINED;
    }
    res_free(&R);
    run(HG_APIBODY_JSON, &l, body, len, step, -1, &R);
    return &R;
}

static const res_t *
parse(hg_apibody_mode_t mode, const char *body)
{
    return parse_lim(mode, NULL, body, strlen(body));
}

/* ---- synthetic files and encodings ---- */

/* n seeded pseudo-random bytes (xorshift64): a stand-in for a file */
static unsigned char *
synth(size_t n, uint64_t seed)
{
    unsigned char  *d = malloc(n ? n : 1);
    size_t          i;

    assert_non_null(d);
    for (i = 0; i < n; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        d[i] = (unsigned char) (seed >> 24);
    }
    return d;
}

/* base64; url: the URL-safe alphabet; pad: with '='; every "lines"
 * characters the string brk (NULL: none); each '/' written as slash */
static char *
b64x(const unsigned char *d, size_t n, int url, int pad, size_t lines,
     const char *brk, const char *slash)
{
    const char *a = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                        : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t      cap = n * 4 / 3 * 4 + 64, o = 0, i, col = 0, k;
    char       *s = malloc(cap), q[4];
    uint32_t    v;
    int         j, nq;

    assert_non_null(s);
    for (i = 0; i < n; i += 3) {
        v = (uint32_t) d[i] << 16;
        if (i + 1 < n) {
            v |= (uint32_t) d[i + 1] << 8;
        }
        if (i + 2 < n) {
            v |= d[i + 2];
        }
        q[0] = a[v >> 18];
        q[1] = a[v >> 12 & 63];
        q[2] = i + 1 < n ? a[v >> 6 & 63] : '=';
        q[3] = i + 2 < n ? a[v & 63] : '=';
        nq = 4;
        if (!pad) {
            nq = i + 2 < n ? 4 : i + 1 < n ? 3 : 2;
        }
        for (j = 0; j < nq; j++) {
            if (q[j] == '/' && slash != NULL) {
                for (k = 0; slash[k]; k++) {
                    s[o++] = slash[k];
                }
            } else {
                s[o++] = q[j];
            }
            if (brk != NULL && ++col == lines) {
                for (k = 0; brk[k]; k++) {
                    s[o++] = brk[k];
                }
                col = 0;
            }
        }
        assert_true(o + 16 < cap);
    }
    s[o] = '\0';
    return s;
}

static char *
b64(const unsigned char *d, size_t n)
{
    return b64x(d, n, 0, 1, 0, NULL, NULL);
}

/* Percent-encode s as a form value: everything but unreserved. */
static char *
pct(const char *s)
{
    char       *o = malloc(strlen(s) * 3 + 1), *w = o;

    assert_non_null(o);
    for (; *s; s++) {
        unsigned char c = (unsigned char) *s;

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')
        {
            *w++ = (char) c;
        } else {
            w += sprintf(w, "%%%02X", c);
        }
    }
    *w = '\0';
    return o;
}

static char *
fmt(const char *f, ...)
{
    va_list ap;
    char   *s;

    va_start(ap, f);
    assert_true(vasprintf(&s, f, ap) >= 0);
    va_end(ap);
    return s;
}

static void
assert_part(const part_t *p, const char *path, const unsigned char *data,
            size_t n)
{
    assert_string_equal(p->path, path);
    assert_int_equal(p->len, n);
    assert_memory_equal(p->data, data, n);
    assert_int_equal(p->stat_bytes, n);
    assert_true(p->ended);
}

#define FILE_N  3000

/* ---- JSON: what becomes a part ---- */

static void
test_json_base64_member_is_a_part_named_by_its_sibling(void **state)
{
    unsigned char  *d = synth(FILE_N, 1);
    char           *e = b64(d, FILE_N);
    char           *body = fmt("{\"name\": \"a.jpg\", \"size\": 3000, "
                               "\"data\": \"%s\"}", e);
    const res_t    *r;

    (void) state;
    r = parse(HG_APIBODY_JSON, body);
    assert_int_equal(r->st, HG_OK);
    assert_false(r->stopped);
    assert_int_equal(r->n, 1);
    assert_int_equal(r->nparts, 1);
    assert_part(&r->p[0], "/data", d, FILE_N);
    assert_string_equal(r->p[0].field, "data");
    assert_true(r->p[0].has_name_begin);
    assert_string_equal(r->p[0].name_begin, "a.jpg");
    assert_string_equal(r->p[0].name_end, "a.jpg");
    assert_string_equal(r->p[0].type, "application/octet-stream");
    assert_string_equal(r->p[0].enc, "base64");
    assert_int_equal(r->p[0].depth, 1);
    assert_int_equal(r->p[0].errors, 0);
    free(body);
    free(e);
    free(d);
}

static void
test_json_data_url_gives_its_type_at_any_size(void **state)
{
    unsigned char  *d = synth(FILE_N, 2), *small = synth(10, 3);
    char           *e = b64(d, FILE_N), *es = b64(small, 10);
    char           *body = fmt("{\"img\": \"data:Image/PNG;name=x.png;BASE64,%s\","
                               " \"tiny\": \"data:;base64,%s\","
                               " \"text\": \"data:text/plain,hello%%20world\"}",
                               e, es);
    const res_t    *r;

    (void) state;
    r = parse(HG_APIBODY_JSON, body);
    assert_int_equal(r->st, HG_OK);
    assert_int_equal(r->n, 2);
    assert_part(&r->p[0], "/img", d, FILE_N);
    assert_string_equal(r->p[0].type, "image/png");
    assert_string_equal(r->p[0].enc, "base64");
    /* a data: URL is a part however small; RFC 2397's default type */
    assert_part(&r->p[1], "/tiny", small, 10);
    assert_string_equal(r->p[1].type, "text/plain");
    free(body);
    free(e);
    free(es);
    free(d);
    free(small);
}

static void
test_json_urlsafe_base64_decodes_without_padding(void **state)
{
    unsigned char  *d = synth(FILE_N + 1, 4);
    char           *e = b64x(d, FILE_N + 1, 1, 0, 0, NULL, NULL);
    char           *body = fmt("{\"u\":\"%s\"}", e);
    const res_t    *r;

    (void) state;
    assert_non_null(strpbrk(e, "-_"));
    r = parse(HG_APIBODY_JSON, body);
    assert_int_equal(r->n, 1);
    assert_part(&r->p[0], "/u", d, FILE_N + 1);
    assert_string_equal(r->p[0].enc, "base64url");
    assert_int_equal(r->p[0].errors, 0);
    free(body);
    free(e);
    free(d);
}

static void
test_json_escaped_slashes_and_line_breaks_are_undone(void **state)
{
    unsigned char  *d = synth(FILE_N, 5);
    char           *e1 = b64x(d, FILE_N, 0, 1, 0, NULL, "\\/");
    char           *e2 = b64x(d, FILE_N, 0, 1, 76, "\\r\\n", NULL);
    char           *e3 = b64x(d, FILE_N, 0, 1, 64, "\\n", "\\u002F");
    char           *body = fmt("{\"a\":\"%s\",\"b\":\"%s\",\"c\":\"%s\"}",
                               e1, e2, e3);
    const res_t    *r;
    unsigned        i;

    (void) state;
    assert_non_null(strstr(e1, "\\/"));
    r = parse(HG_APIBODY_JSON, body);
    assert_int_equal(r->n, 3);
    for (i = 0; i < 3; i++) {
        assert_int_equal(r->p[i].len, FILE_N);
        assert_memory_equal(r->p[i].data, d, FILE_N);
        assert_int_equal(r->p[i].errors, 0);
    }
    assert_string_equal(r->p[2].path, "/c");
    free(body);
    free(e1);
    free(e2);
    free(e3);
    free(d);
}

static void
test_json_name_after_the_value_comes_with_part_end(void **state)
{
    unsigned char  *d = synth(FILE_N, 6), *d2 = synth(FILE_N, 7);
    char           *e = b64(d, FILE_N), *e2 = b64(d2, FILE_N);
    char           *body = fmt("[{\"data\":\"%s\",\"x\":[1,{\"name\":\"inner\"}],"
                               "\"fileName\":\"late.png\",\"name\":\"second\"},"
                               "{\"a\":\"%s\",\"b\":\"%s\",\"name\":\"n.bin\"},"
                               "{\"c\":\"%s\"}]", e, e, e2, e2);
    const res_t    *r;

    (void) state;
    r = parse(HG_APIBODY_JSON, body);
    assert_int_equal(r->st, HG_OK);
    assert_int_equal(r->n, 4);
    assert_part(&r->p[0], "/0/data", d, FILE_N);
    assert_false(r->p[0].has_name_begin);
    /* the object's own first name, not a nested object's */
    assert_true(r->p[0].has_name_end);
    assert_string_equal(r->p[0].name_end, "late.png");
    /* a second candidate in the object ends the one pending, unnamed */
    assert_part(&r->p[1], "/1/a", d, FILE_N);
    assert_false(r->p[1].has_name_end);
    assert_part(&r->p[2], "/1/b", d2, FILE_N);
    assert_string_equal(r->p[2].name_end, "n.bin");
    /* no name at all: ended when its object closes */
    assert_part(&r->p[3], "/2/c", d2, FILE_N);
    assert_false(r->p[3].has_name_end);
    free(body);
    free(e);
    free(e2);
    free(d);
    free(d2);
}

static void
test_json_nested_arrays_give_indexed_pointers(void **state)
{
    unsigned char  *d = synth(FILE_N, 8);
    char           *e = b64(d, FILE_N);
    char           *body = fmt("{\"files\":[{\"content\":\"short\"},"
                               "{\"content\":\"%s\",\"filename\":\"f.gif\"},"
                               "[[0,\"%s\"]]], \"top\":[\"%s\"]}", e, e, e);
    const res_t    *r;

    (void) state;
    r = parse(HG_APIBODY_JSON, body);
    assert_int_equal(r->n, 3);
    assert_part(&r->p[0], "/files/1/content", d, FILE_N);
    assert_int_equal(r->p[0].depth, 3);
    assert_string_equal(r->p[0].field, "content");
    assert_string_equal(r->p[0].name_end, "f.gif");
    assert_part(&r->p[1], "/files/2/0/1", d, FILE_N);
    assert_false(r->p[1].has_field);
    assert_int_equal(r->p[1].depth, 4);
    assert_part(&r->p[2], "/top/0", d, FILE_N);
    free(body);
    free(e);
    free(d);
}

static void
test_json_keys_are_escaped_in_the_pointer(void **state)
{
    unsigned char  *d = synth(FILE_N, 9);
    char           *e = b64(d, FILE_N), longkey[301];
    char           *body;
    const res_t    *r;

    (void) state;
    memset(longkey, 'k', 300);
    longkey[300] = '\0';
    body = fmt("{\"a/b\":{\"c~d\":\"%s\"},\"x!y%%z\":\"%s\","
               "\"n\\u0000l\\n\":\"%s\",\"%s\":\"%s\",\"\":\"%s\"}",
               e, e, e, longkey, e, e);
    r = parse(HG_APIBODY_JSON, body);
    assert_int_equal(r->n, 5);
    assert_string_equal(r->p[0].path, "/a~1b/c~0d");
    assert_string_equal(r->p[0].field, "c~d");
    assert_string_equal(r->p[1].path, "/x%21y%25z");
    assert_string_equal(r->p[1].field, "x!y%z");
    assert_string_equal(r->p[2].path, "/n%00l%0A");
    /* cut to 256 bytes, marked */
    assert_int_equal(strlen(r->p[3].path), 1 + 256 + 3);
    assert_string_equal(r->p[3].path + 257, "...");
    assert_int_equal(strlen(r->p[3].field), 256);
    assert_string_equal(r->p[4].path, "/");
    assert_int_equal(r->p[4].len, FILE_N);
    free(body);
    free(e);
    free(d);
}

static void
test_json_clean_api_data_has_no_parts(void **state)
{
    unsigned char  *d = synth(1023, 10), *t = synth(1024, 10);
    char           *e = b64(d, 1023), *et = b64(t, 1024);
    char           *text = malloc(5001), *words = malloc(3001), *body;
    const res_t    *r;
    size_t          i;

    (void) state;
    for (i = 0; i < 5000; i++) {
        text[i] = "Lorem ipsum dolor sit amet, consectetur adipiscing"[i % 50];
    }
    text[5000] = '\0';
    /* letters and blanks only: base64 if blanks were skipped */
    for (i = 0; i < 3000; i++) {
        words[i] = "words \t"[i % 7];
    }
    words[3000] = '\0';
    /* 1023 bytes decoded: one short of min_bytes; then mixed alphabets */
    et[100] = '-';
    et[200] = '+';
    body = fmt("{\"id\":123,\"n\":-0.5e+10,\"ok\":true,\"no\":false,"
               "\"nil\":null,\"tags\":[\"a\",\"b\",[]],\"o\":{},"
               "\"text\":\"%s\",\"almost\":\"%s\",\"mixed\":\"%s\","
               "\"long\":\"%s\\u00e9\",\"words\":\"%s\"}", text, e, et,
               text, words);
    r = parse(HG_APIBODY_JSON, body);
    assert_int_equal(r->st, HG_OK);
    assert_false(r->stopped);
    assert_int_equal(r->n, 0);
    assert_int_equal(r->nparts, 0);
    free(body);
    free(text);
    free(words);
    free(e);
    free(et);
    free(d);
    free(t);
}

static void
test_json_min_bytes_decoded_is_the_threshold(void **state)
{
    hg_apibody_limits_t lim;
    unsigned char      *d = synth(100, 11);
    char               *e99 = b64(d, 99), *e100 = b64(d, 100);
    char               *body = fmt("[\"%s\",\"%s\"]", e99, e100);
    const res_t        *r;

    (void) state;
    hg_apibody_limits_default(&lim);
    lim.min_bytes = 100;
    r = parse_lim(HG_APIBODY_JSON, &lim, body, strlen(body));
    assert_int_equal(r->n, 1);
    assert_part(&r->p[0], "/1", d, 100);
    free(body);
    free(e99);
    free(e100);
    free(d);
}

static void
test_tiny_min_bytes_still_sees_data_urls(void **state)
{
    hg_apibody_limits_t lim;
    const char         *json = "[\"d\",\"da\",\"data:;base64,QQ==\"]";
    const char         *form = "a=data%3Aimage%2Fgif%3Bbase64%2CQQ%3D%3D&b=da";
    const res_t        *r;

    (void) state;
    hg_apibody_limits_default(&lim);
    lim.min_bytes = 1;
    r = parse_lim(HG_APIBODY_JSON, &lim, json, strlen(json));
    assert_int_equal(r->n, 2);
    assert_part(&r->p[0], "/1", (const unsigned char *) "u", 1);
    assert_part(&r->p[1], "/2", (const unsigned char *) "A", 1);
    assert_string_equal(r->p[1].type, "text/plain");
    r = parse_lim(HG_APIBODY_FORM, &lim, form, strlen(form));
    assert_int_equal(r->n, 2);
    assert_part(&r->p[0], "a", (const unsigned char *) "A", 1);
    assert_string_equal(r->p[0].type, "image/gif");
    assert_part(&r->p[1], "b", (const unsigned char *) "u", 1);
}

static void
test_json_top_level_values(void **state)
{
    unsigned char  *d = synth(FILE_N, 12);
    char           *e = b64(d, FILE_N);
    char           *body = fmt("\xef\xbb\xbf \"%s\"\n", e);
    const res_t    *r;

    (void) state;
    r = parse(HG_APIBODY_JSON, body);
    assert_int_equal(r->st, HG_OK);
    assert_false(r->stopped);
    assert_int_equal(r->n, 1);
    assert_part(&r->p[0], "", d, FILE_N);
    assert_false(r->p[0].has_field);
    assert_int_equal(r->p[0].depth, 0);

    r = parse(HG_APIBODY_JSON, " 12.5e3 ");
    assert_false(r->stopped);
    r = parse(HG_APIBODY_JSON, "-0");
    assert_false(r->stopped);
    r = parse(HG_APIBODY_JSON, "null");
    assert_false(r->stopped);
    r = parse(HG_APIBODY_JSON, "");
    assert_true(r->stopped);
    assert_string_equal(r->why, "empty body: no JSON value");
    r = parse(HG_APIBODY_JSON, " \n ");
    assert_true(r->stopped);
    assert_int_equal(r->off, 3);
    free(body);
    free(e);
    free(d);
}

static void
test_json_long_value_is_decoded_as_it_arrives(void **state)
{
    hg_unpack_cb_t  cb = { c_begin, c_data, c_end };
    size_t          n = 3 << 20, off, k, half;
    unsigned char  *d = synth(n, 24);
    char           *e = b64(d, n), *body = fmt("{\"v\":\"%s\"}", e);
    size_t          len = strlen(body);
    hg_apibody_t   *b;
    hg_err_t        err;
    res_t           r;

    (void) state;
    memset(&r, 0, sizeof(r));
    r.cancel_at = -1;
    b = hg_apibody_new(HG_APIBODY_JSON, NULL, &cb, &r, &err);
    assert_non_null(b);
    half = len / 2;
    for (off = 0; off < half; off += k) {
        k = half - off < 4096 ? half - off : 4096;
        assert_int_equal(hg_apibody_feed(b, body + off, k, &err), HG_OK);
    }
    /* half the value fed: (nearly) half the file handed over, not held */
    assert_int_equal(r.n, 1);
    assert_true(r.p[0].len + 4096 >= (half - 6) / 4 * 3);
    assert_memory_equal(r.p[0].data, d, r.p[0].len);
    assert_int_equal(hg_apibody_feed(b, body + half, len - half, &err), HG_OK);
    assert_int_equal(hg_apibody_finish(b, &err), HG_OK);
    hg_apibody_free(b);
    assert_part(&r.p[0], "/v", d, n);
    res_free(&r);
    free(body);
    free(e);
    free(d);
}

/* ---- JSON: the lazy path (apibody_lazy.c) ---- */

/* The body fed in two pieces, split at every byte, by the lazy path
 * (each scanner path): each must give what the tokenizer alone gives. */
static void
split_everywhere(const hg_apibody_limits_t *lim, const char *body,
                 unsigned parts, size_t stride)
{
    hg_apibody_limits_t full, lazy;
    size_t              len = strlen(body), k, i;
    static res_t        f, l;
    int                 path;
    hg_unpack_cb_t      cb = { c_begin, c_data, c_end };
    hg_apibody_t       *b;
    hg_err_t            err;

    if (lim != NULL) {
        full = *lim;
    } else {
        hg_apibody_limits_default(&full);
    }
    lazy = full;
    full.max_retained = 0;
    run(HG_APIBODY_JSON, &full, body, len, len, -1, &f);
    assert_int_equal(f.n, parts);
    for (path = HG_APIBODY_LAZY_SCALAR; path <= HG_APIBODY_LAZY_AVX512; path++) {
        if (hg_apibody_lazy_force_path(path) != 0) {
            continue;
        }
        for (k = 0; k <= len; k += stride) {
            memset(&l, 0, sizeof(l));
            l.cancel_at = -1;
            b = hg_apibody_new(HG_APIBODY_JSON, &lazy, &cb, &l, &err);
            assert_non_null(b);
            l.st = hg_apibody_feed(b, body, k, &err);
            for (i = 0; i < 1 && l.st == HG_OK; i++) {
                l.st = hg_apibody_feed(b, body + k, len - k, &err);
            }
            if (l.st == HG_OK) {
                l.st = hg_apibody_finish(b, &err);
            }
            if (l.st != HG_OK) {
                snprintf(l.msg, sizeof(l.msg), "%s", err.msg);
            }
            if (hg_apibody_stopped(b, &l.off) != NULL) {
                l.stopped = 1;
                snprintf(l.why, sizeof(l.why), "%s",
                         hg_apibody_stopped(b, NULL));
            }
            l.nparts = hg_apibody_parts(b);
            hg_apibody_free(b);
            same_lazy(&f, &l);
            res_free(&l);
        }
    }
    hg_apibody_lazy_force_path(HG_APIBODY_LAZY_AUTO);
    res_free(&f);
}

static void
test_lazy_strings_split_at_every_byte_keep_their_parts(void **state)
{
    unsigned char  *d = synth(1100, 40);
    char           *e = b64(d, 1100), *body, *m1, *m2, *mid;
    size_t          run, at, n;

    (void) state;
    /*
     * Runs of '\' of every length ending a string, moved across a 64-byte
     * block edge, before a data: URL and a long base64 string. Each run
     * comes twice, at the same place in its block: a scanner that took
     * the run's '"' wrongly would be back in step at the end (and read
     * the body for a string cut short), having missed what lay between.
     */
    for (run = 1; run <= 6; run++) {
        for (at = 51; at < 60; at++) {
            char    pad[80], bs[12], fill[80];

            memset(pad, 'x', at);
            pad[at] = '\0';
            memset(bs, '\\', run);
            bs[run] = '\0';
            /* an odd run escapes the '"' after it: one more ends it */
            m1 = fmt("{\"a\":\"%s%s%s\",", pad, bs, run % 2 ? "\"" : "");
            m2 = fmt("\"c\":\"x%s%s%s\",", pad, bs, run % 2 ? "\"" : "");
            mid = fmt("\"b\":[\"data:text/plain;base64,aGVsbG8=\"],");
            n = 64 - (strlen(m1) + strlen(mid) + 9) % 64;
            memset(fill, 'y', n);
            fill[n] = '\0';
            body = fmt("%s%s\"f\":\"%s\",%s\"name\":\"x.bin\"}", m1, mid, fill,
                       m2);
            split_everywhere(NULL, body, 1, 1);
            free(body);
            body = fmt("%s\"e\":\"%s\",\"f\":\"%s\",%s\"name\":\"x.bin\"}", m1,
                       e, fill, m2);
            free(mid);
            mid = fmt("\"e\":\"%s\",", e);
            n = 64 - (strlen(m1) + strlen(mid) + 9) % 64;
            memset(fill, 'y', n);
            fill[n] = '\0';
            free(body);
            body = fmt("%s%s\"f\":\"%s\",%s\"name\":\"x.bin\"}", m1, mid, fill,
                       m2);
            split_everywhere(NULL, body, 1, 5);
            free(body);
            free(m1);
            free(m2);
            free(mid);
        }
    }
    free(e);
    free(d);
}

static void
test_lazy_escapes_that_spell_data_are_seen(void **state)
{
    static const char *const heads[] = {
        "\\u0064ata:", "\\u0044ATA:", "d\\u0061ta:", "dat\\u0061:",
        "data\\u003a", "\\u0064\\u0061\\u0074\\u0061\\u003a",
    };
    char           *body;
    const res_t    *r;
    size_t          i;

    (void) state;
    for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        body = fmt("[1,{\"file\":\"%simage/png;base64,aGVsbG8gd29ybGQ=\"}]",
                   heads[i]);
        r = parse(HG_APIBODY_JSON, body);
        assert_int_equal(r->n, 1);
        assert_string_equal(r->p[0].path, "/1/file");
        assert_string_equal(r->p[0].type, "image/png");
        r = parse_lazy(NULL, body, strlen(body), 4096);
        assert_int_equal(r->n, 1);
        assert_string_equal(r->p[0].type, "image/png");
        assert_int_equal(r->p[0].len, 11);
        split_everywhere(NULL, body, 1, 1);
        free(body);
    }
}

static void
test_lazy_long_strings_at_the_threshold(void **state)
{
    hg_apibody_limits_t lim;
    unsigned char      *d = synth(1200, 41);
    char               *e = b64(d, 1200), *body;
    const res_t        *r;
    size_t              need, at, n;

    (void) state;
    hg_apibody_limits_default(&lim);
    lim.min_bytes = 300;
    need = (300 * 4 + 2) / 3;           /* 400 characters decode to 300 */
    for (at = 0; at < 64; at += 7) {
        for (n = need - 1; n <= need + 1; n++) {
            char    pad[70];

            memset(pad, ' ', at);
            pad[at] = '\0';
            body = fmt("%s{\"k\":\"%.*s\"}", pad, (int) n, e);
            r = parse_lim(HG_APIBODY_JSON, &lim, body, strlen(body));
            assert_int_equal(r->n, n >= need ? 1 : 0);
            r = parse_lazy(&lim, body, strlen(body), 4096);
            assert_int_equal(r->n, n >= need ? 1 : 0);
            free(body);
        }
    }
    /* escapes make a string longer raw than decoded: "\/" is one '/' */
    body = fmt("{\"k\":\"%.*s\\/\"}", (int) (need - 2), e);
    r = parse_lim(HG_APIBODY_JSON, &lim, body, strlen(body));
    assert_int_equal(r->n, 0);
    free(body);
    body = fmt("{\"k\":\"%.*s\\/\\/\"}", (int) (need - 2), e);
    r = parse_lim(HG_APIBODY_JSON, &lim, body, strlen(body));
    assert_int_equal(r->n, 1);
    split_everywhere(&lim, body, 1, 1);
    free(body);
    free(e);
    free(d);
}

static void
test_lazy_cap_reached_mid_body_reads_on(void **state)
{
    hg_apibody_limits_t lim;
    unsigned char      *d = synth(FILE_N, 42);
    char               *e = b64(d, FILE_N), *body, *rec;
    size_t              i;
    const res_t        *r;

    (void) state;
    rec = fmt("%s", "");
    for (i = 0; i < 300; i++) {
        char *n = fmt("%s{\"id\":%zu,\"name\":\"user %zu\",\"tags\":[\"a\","
                      "\"b\"],\"ok\":true,\"x\":null},", rec, i, i);
        free(rec);
        rec = n;
    }
    body = fmt("{\"list\":[%s{}],\"up\":{\"data\":\"%s\",\"filename\":"
               "\"late.bin\"},\"more\":[%s{}]}", rec, e, rec);
    hg_apibody_limits_default(&lim);
    lim.max_retained = 1000;            /* reached many times */
    r = parse_lim(HG_APIBODY_JSON, &lim, body, strlen(body));
    assert_int_equal(r->n, 1);
    assert_part(&r->p[0], "/up/data", d, FILE_N);
    assert_string_equal(r->p[0].name_end, "late.bin");
    r = parse_lazy(&lim, body, strlen(body), 512);
    assert_int_equal(r->n, 1);
    assert_part(&r->p[0], "/up/data", d, FILE_N);
    assert_string_equal(r->p[0].name_end, "late.bin");
    free(body);
    free(rec);
    free(e);
    free(d);
}

static void
test_lazy_body_without_candidates_is_not_read_for_faults(void **state)
{
    char           *deep = malloc(2 * 101 + 1);
    const res_t    *r;

    (void) state;
    /* no string could be a part: where it breaks is not looked for */
    r = parse_lazy(NULL, "{\"a\":1 \"b\":2}", 13, 4096);
    assert_int_equal(r->st, HG_OK);
    assert_false(r->stopped);
    r = parse_lazy(NULL, "[1,2", 4, 1);
    assert_false(r->stopped);
    /* cut inside a string: it may have been a part, so it is read */
    r = parse_lazy(NULL, "[1,\"ab", 6, 4096);
    assert_true(r->stopped);
    assert_string_equal(r->why, "truncated inside a string");
    /* nesting is counted all the same: the limit holds */
    memset(deep, '[', 101);
    memset(deep + 101, ']', 101);
    deep[202] = '\0';
    r = parse_lazy(NULL, deep, 202, 4096);
    assert_int_equal(r->st, HG_ELIMIT);
    assert_non_null(strstr(r->msg, "deeper than 100 (max_depth)"));
    assert_non_null(strstr(r->msg, "offset 100"));
    r = parse_lazy(NULL, deep + 1, 200, 4096);
    assert_int_equal(r->st, HG_OK);
    free(deep);
}

/* ---- JSON: malformed and truncated ---- */

static void
test_json_truncated_body_ends_the_part_and_says_so(void **state)
{
    unsigned char  *d = synth(FILE_N, 13);
    char           *e = b64(d, FILE_N);
    char           *body = fmt("{\"data\":\"%s\"}", e);
    size_t          cut = 9 + 2000;     /* 1500 bytes of the file */
    const res_t    *r;

    (void) state;
    r = parse_lim(HG_APIBODY_JSON, NULL, body, cut);
    assert_int_equal(r->st, HG_OK);
    assert_int_equal(r->n, 1);
    assert_part(&r->p[0], "/data", d, 1500);
    assert_true(r->stopped);
    assert_string_equal(r->why, "truncated inside a string");
    assert_int_equal(r->off, cut);

    /* cut after the value: the part is whole, the object is not */
    r = parse_lim(HG_APIBODY_JSON, NULL, body, strlen(body) - 1);
    assert_int_equal(r->n, 1);
    assert_part(&r->p[0], "/data", d, FILE_N);
    assert_string_equal(r->why, "truncated inside an object");
    r = parse(HG_APIBODY_JSON, "[1,2");
    assert_string_equal(r->why, "truncated inside an array");
    r = parse(HG_APIBODY_JSON, "tru");
    assert_string_equal(r->why, "truncated inside a literal");
    r = parse(HG_APIBODY_JSON, "-");
    assert_string_equal(r->why, "truncated inside a number");
    free(body);
    free(e);
    free(d);
}

static void
test_json_malformed_body_stops_where_it_breaks(void **state)
{
    static const struct {
        const char *body;
        const char *why;
        uint64_t    off;
    } cases[] = {
        { "{\"a\":1 \"b\":2}",  "expected ',' or '}'", 7 },
        { "[1 2]",              "expected ',' or ']'", 3 },
        { "{'a':1}",            "expected a key (a string)", 1 },
        { "{\"a\" 1}",          "expected ':' after a key", 5 },
        { "{\"a\":01}",         "invalid number", 6 },
        { "[1.]",               "invalid number", 3 },
        { "[1e]",               "invalid number", 3 },
        { "[-x]",               "invalid number", 2 },
        { "[tru]",              "invalid literal", 4 },
        { "[nul1]",             "invalid literal", 4 },
        { "[1,]",               "expected a value", 3 },
        { "{\"a\":1,}",         "expected a key (a string)", 7 },
        { "{\"a\":1]",          "expected ',' or '}'", 6 },
        { "{} {}",              "data after the top-level value", 3 },
        { "[\"a\\x\"]",         "invalid escape in a string", 4 },
        { "[\"\\u12G4\"]",      "invalid \\u escape in a string", 6 },
        { "[\x01]",             "expected a value", 1 },
        { "x\xef\xbb\xbf",      "expected a value", 0 },
        { " \xef\xbb\xbf{}",    "expected a value", 1 },
        { "\xef\xbb{}",         "expected a value", 2 },
    };
    const res_t    *r;
    size_t          i;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        r = parse(HG_APIBODY_JSON, cases[i].body);
        assert_int_equal(r->st, HG_OK);
        assert_true(r->stopped);
        if (strcmp(r->why, cases[i].why) != 0 || r->off != cases[i].off) {
            fail_msg("%s: stopped '%s' at %llu, expected '%s' at %llu",
                     cases[i].body, r->why, (unsigned long long) r->off,
                     cases[i].why, (unsigned long long) cases[i].off);
        }
    }
}

static void
test_json_fault_ends_the_open_part_and_ignores_the_rest(void **state)
{
    unsigned char  *d = synth(FILE_N, 14);
    char           *e = b64(d, FILE_N);
    char           *body = fmt("{\"a\":\"%s\" \"b\":\"%s\"}", e, e);
    const res_t    *r;

    (void) state;
    r = parse(HG_APIBODY_JSON, body);
    assert_int_equal(r->st, HG_OK);
    assert_int_equal(r->n, 1);          /* what came after was not read */
    assert_part(&r->p[0], "/a", d, FILE_N);
    assert_string_equal(r->why, "expected ',' or '}'");
    assert_int_equal(r->off, 6 + strlen(e) + 2);
    free(body);
    free(e);
    free(d);
}

/*
 * The lazy path leaves the tail after the last part unread for faults
 * unless the caller wants the stop (it will write a record): then the
 * fault is placed exactly as the tokenizer places it.
 */
static void
test_json_lazy_reads_the_tail_for_its_fault_only_when_asked(void **state)
{
    unsigned char  *d = synth(FILE_N, 15);
    char           *e = b64(d, FILE_N);
    char           *pad = malloc(2 * 8000 + 1), *body;
    size_t          fault, i;
    const res_t    *r;

    (void) state;
    /* the part's object closes, then 16 KB of numbers (several feeds),
     * then the fault */
    assert_non_null(pad);
    for (i = 0; i < 8000; i++) {
        memcpy(pad + 2 * i, "0,", 2);
    }
    pad[2 * 8000 - 1] = '\0';
    body = fmt("{\"f\": {\"a\":\"%s\"}, \"pad\": [%s], \"n\": [1, 2 3]}",
               e, pad);
    fault = strlen(body) - 3;
    run_want = 0;
    r = parse_lazy(NULL, body, strlen(body), 4096);
    assert_int_equal(r->st, HG_OK);
    assert_int_equal(r->n, 1);
    assert_part(&r->p[0], "/f/a", d, FILE_N);
    assert_false(r->stopped);
    run_want = 1;
    r = parse_lazy(NULL, body, strlen(body), 4096);
    run_want = 0;
    assert_int_equal(r->n, 1);
    assert_true(r->stopped);
    assert_string_equal(r->why, "expected ',' or ']'");
    assert_int_equal(r->off, fault);
    /* the tokenizer alone always says so */
    r = parse(HG_APIBODY_JSON, body);
    assert_true(r->stopped);
    assert_int_equal(r->off, fault);
    free(body);
    free(pad);
    free(e);
    free(d);
}

/* ---- JSON: limits ---- */

static void
test_json_deep_nesting_is_a_limit(void **state)
{
    char           *body = malloc(2 * 102 + 1);
    const res_t    *r;

    (void) state;
    memset(body, '[', 100);
    memset(body + 100, ']', 100);
    body[200] = '\0';
    r = parse(HG_APIBODY_JSON, body);
    assert_int_equal(r->st, HG_OK);
    assert_false(r->stopped);

    memset(body, '[', 101);
    memset(body + 101, ']', 101);
    body[202] = '\0';
    r = parse(HG_APIBODY_JSON, body);
    assert_int_equal(r->st, HG_ELIMIT);
    assert_non_null(strstr(r->msg, "deeper than 100 (max_depth)"));
    assert_non_null(strstr(r->msg, "offset 100"));
    free(body);
}

static void
test_json_too_many_parts_is_a_limit(void **state)
{
    hg_apibody_limits_t lim;
    unsigned char      *d = synth(FILE_N, 15);
    char               *e = b64(d, FILE_N);
    char               *body = fmt("{\"a\":\"%s\",\"b\":[\"%s\",\"%s\"]}",
                                   e, e, e);
    const res_t        *r;

    (void) state;
    hg_apibody_limits_default(&lim);
    lim.max_parts = 2;
    r = parse_lim(HG_APIBODY_JSON, &lim, body, strlen(body));
    assert_int_equal(r->st, HG_ELIMIT);
    assert_int_equal(r->n, 2);
    assert_string_equal(r->msg, "part /b/1: more than 2 parts (max_parts)");
    free(body);
    free(e);
    free(d);
}

static void
test_json_max_decoded_is_a_limit(void **state)
{
    hg_apibody_limits_t lim;
    unsigned char      *d = synth(FILE_N, 16);
    char               *e = b64(d, FILE_N);
    char               *body = fmt("[\"%s\",\"%s\"]", e, e);
    const res_t        *r;

    (void) state;
    hg_apibody_limits_default(&lim);
    lim.max_decoded = 2 * FILE_N;
    r = parse_lim(HG_APIBODY_JSON, &lim, body, strlen(body));
    assert_int_equal(r->st, HG_OK);
    assert_int_equal(r->n, 2);
    lim.max_decoded = 2 * FILE_N - 1;
    r = parse_lim(HG_APIBODY_JSON, &lim, body, strlen(body));
    assert_int_equal(r->st, HG_ELIMIT);
    assert_non_null(strstr(r->msg, "part /1: more than 5999 bytes decoded in "
                                   "the body (max_decoded)"));
    assert_true(r->p[1].len < FILE_N);  /* nothing past the limit */
    free(body);
    free(e);
    free(d);
}

static void
test_callback_cancel_stops_the_parser(void **state)
{
    unsigned char  *d = synth(FILE_N, 17);
    char           *e = b64(d, FILE_N);
    char           *body = fmt("[\"%s\",\"%s\"]", e, e);
    res_t           r;

    (void) state;
    run(HG_APIBODY_JSON, NULL, body, strlen(body), 5, 1, &r);
    assert_int_equal(r.st, HG_ECANCEL);
    assert_string_equal(r.msg, "part /1: stopped by the caller");
    assert_int_equal(r.n, 1);
    res_free(&r);
    free(body);
    free(e);
    free(d);
}

/* ---- JSON: damaged values ---- */

static void
test_json_invalid_base64_after_the_first_kib_is_counted(void **state)
{
    unsigned char  *d = synth(FILE_N, 18);
    char           *e = b64(d, FILE_N), *bad = malloc(strlen(e) + 16), *body;
    const res_t    *r;
    size_t          n = strlen(e);

    (void) state;
    /* three junk characters well past the 1366 that decide */
    memcpy(bad, e, 2000);
    memcpy(bad + 2000, "*.", 2);
    memcpy(bad + 2002, e + 2000, 1000);
    memcpy(bad + 3002, "\\u00e9", 6);       /* two UTF-8 bytes */
    memcpy(bad + 3008, e + 3000, n - 3000 + 1);
    body = fmt("{\"f\":\"%s\"}", bad);
    r = parse(HG_APIBODY_JSON, body);
    assert_int_equal(r->n, 1);
    assert_part(&r->p[0], "/f", d, FILE_N);
    assert_int_equal(r->p[0].errors, 4);
    free(body);
    free(bad);
    free(e);
    free(d);
}

static void
test_json_nul_bytes_and_invalid_utf8_do_not_stop_it(void **state)
{
    unsigned char  *d = synth(FILE_N, 19);
    char           *e = b64(d, FILE_N), *body;
    size_t          n = strlen(e), len;
    const res_t    *r;

    (void) state;
    /* \u0000 in the first characters: not base64 */
    body = fmt("{\"a\":\"\\u0000%s\",\"b\":\"AB\\u0000CD\",\"c\":\"\xff\xfe\xc0\xaf"
               "\xed\xa0\x80\",\"\xff\":1,\"d\":\"%s\"}", e, e);
    r = parse(HG_APIBODY_JSON, body);
    assert_int_equal(r->st, HG_OK);
    assert_false(r->stopped);
    assert_int_equal(r->n, 1);
    assert_part(&r->p[0], "/d", d, FILE_N);
    free(body);

    /* raw NUL bytes: inside a string, read as they are; outside, a fault */
    body = fmt("{\"t\":\"a%cb\",\"d\":\"%s%c\"}", 'X', e, 'Y');
    len = strlen(body);
    body[7] = '\0';
    body[len - 3] = '\0';               /* after the base64: one error */
    r = parse_lim(HG_APIBODY_JSON, NULL, body, len);
    assert_false(r->stopped);
    assert_int_equal(r->n, 1);
    assert_part(&r->p[0], "/d", d, FILE_N);
    assert_int_equal(r->p[0].errors, 1);
    body[len - 1] = '\0';               /* the closing brace */
    r = parse_lim(HG_APIBODY_JSON, NULL, body, len);
    assert_true(r->stopped);
    assert_string_equal(r->why, "expected ',' or '}'");
    assert_int_equal(r->off, len - 1);
    free(body);
    (void) n;
    free(e);
    free(d);
}

/* ---- forms ---- */

static void
test_form_base64_field_is_a_part(void **state)
{
    unsigned char  *d = synth(FILE_N, 20);
    char           *e = b64(d, FILE_N), *pe = pct(e);
    char           *body = fmt("user=jo+e&file=%s&x=%%41", pe);
    const res_t    *r;

    (void) state;
    r = parse(HG_APIBODY_FORM, body);
    assert_int_equal(r->st, HG_OK);
    assert_false(r->stopped);
    assert_int_equal(r->n, 1);
    assert_part(&r->p[0], "file", d, FILE_N);
    assert_string_equal(r->p[0].field, "file");
    assert_string_equal(r->p[0].enc, "base64");
    assert_false(r->p[0].has_name_begin);
    assert_int_equal(r->p[0].errors, 0);
    free(body);

    /* '+' sent unescaped arrives as ' ': read back as '+' */
    body = fmt("file=%s", e);
    r = parse(HG_APIBODY_FORM, body);
    assert_int_equal(r->n, 1);
    assert_part(&r->p[0], "file", d, FILE_N);
    assert_int_equal(r->p[0].errors, 0);
    free(body);
    free(pe);
    free(e);

    e = b64x(d, FILE_N, 1, 0, 0, NULL, NULL);
    body = fmt("u=%s", e);
    r = parse(HG_APIBODY_FORM, body);
    assert_int_equal(r->n, 1);
    assert_part(&r->p[0], "u", d, FILE_N);
    assert_string_equal(r->p[0].enc, "base64url");
    free(body);
    free(e);
    free(d);
}

static void
test_form_long_value_is_a_part_as_sent(void **state)
{
    char           *text = malloc(2001), *body, *pt;
    const res_t    *r;
    size_t          i;

    (void) state;
    for (i = 0; i < 2000; i++) {
        text[i] = "Hello, world! 100% & more = fine.\n"[i % 34];
    }
    text[2000] = '\0';
    pt = pct(text);
    body = fmt("a=1&t%%C3%%A9xt=%s&b=2", pt);
    r = parse(HG_APIBODY_FORM, body);
    assert_int_equal(r->n, 1);
    assert_part(&r->p[0], "t\xc3\xa9xt", (const unsigned char *) text, 2000);
    assert_string_equal(r->p[0].enc, "url-encoded");
    assert_string_equal(r->p[0].type, "application/octet-stream");
    free(body);

    /* '+' is a space there */
    for (i = 0; i < 2000; i++) {
        text[i] = i % 5 == 4 ? ' ' : 'w';
        pt[i] = i % 5 == 4 ? '+' : 'w';
    }
    pt[2000] = '\0';
    body = fmt("t=%s", pt);
    r = parse(HG_APIBODY_FORM, body);
    assert_int_equal(r->n, 1);
    /* all "w+w" reads as base64 (' ' for '+'): decoded, not as sent */
    assert_string_equal(r->p[0].enc, "base64");
    free(body);
    pt[3] = '.';
    text[3] = '.';
    body = fmt("t=%s", pt);
    r = parse(HG_APIBODY_FORM, body);
    assert_int_equal(r->n, 1);
    assert_part(&r->p[0], "t", (const unsigned char *) text, 2000);
    assert_string_equal(r->p[0].enc, "url-encoded");
    free(body);
    free(pt);
    free(text);
}

static void
test_form_bad_percent_escapes_are_kept_and_counted(void **state)
{
    char           *v = malloc(1501), *body;
    unsigned char  *want = malloc(1600);
    const res_t    *r;
    size_t          i;

    (void) state;
    for (i = 0; i < 1500; i++) {
        v[i] = '.';
    }
    v[1500] = '\0';
    body = fmt("f=%%zz%s%%4g%%", v);
    memcpy(want, "%zz", 3);
    memcpy(want + 3, v, 1500);
    memcpy(want + 1503, "%4g%", 4);
    r = parse(HG_APIBODY_FORM, body);
    assert_int_equal(r->n, 1);
    assert_part(&r->p[0], "f", want, 1507);
    assert_int_equal(r->p[0].errors, 3);
    free(body);
    free(want);
    free(v);
}

static void
test_form_data_url_field(void **state)
{
    unsigned char  *d = synth(FILE_N, 21);
    char           *e = b64(d, FILE_N), *url = fmt("data:image/jpeg;base64,%s", e);
    char           *pu = pct(url), *body = fmt("img=%s&img2=%s", pu, url);
    const res_t    *r;

    (void) state;
    r = parse(HG_APIBODY_FORM, body);
    assert_int_equal(r->n, 2);
    assert_part(&r->p[0], "img", d, FILE_N);
    assert_string_equal(r->p[0].type, "image/jpeg");
    /* sent with '+' unescaped, as canvas.toDataURL() posts often are */
    assert_part(&r->p[1], "img2", d, FILE_N);
    assert_int_equal(r->p[1].errors, 0);
    free(body);
    free(pu);
    free(url);
    free(e);
    free(d);
}

static void
test_form_small_and_odd_fields_are_no_parts(void **state)
{
    static const char *const bodies[] = {
        "", "a", "a=", "=", "&&&", "a=1&b=2&c", "%", "a=%", "a%zz=b%",
        "x=data%3Aimage%2Fpng%3Bbase64%2CAAAA%3D",
    };
    const res_t    *r;
    size_t          i;

    (void) state;
    for (i = 0; i + 1 < sizeof(bodies) / sizeof(bodies[0]); i++) {
        r = parse(HG_APIBODY_FORM, bodies[i]);
        assert_int_equal(r->st, HG_OK);
        assert_false(r->stopped);
        assert_int_equal(r->n, 0);
    }
    /* but a data: URL is a part however small */
    r = parse(HG_APIBODY_FORM, bodies[i]);
    assert_int_equal(r->n, 1);
    assert_part(&r->p[0], "x", (const unsigned char *) "\0\0\0", 3);
}

static void
test_form_field_names_in_paths(void **state)
{
    unsigned char  *d = synth(FILE_N, 22);
    char           *e = b64(d, FILE_N), *pe = pct(e);
    char           *body = fmt("a%%21b%%25c%%2Fd%%00=%s&=%s", pe, pe);
    const res_t    *r;

    (void) state;
    r = parse(HG_APIBODY_FORM, body);
    assert_int_equal(r->n, 2);
    assert_string_equal(r->p[0].path, "a%21b%25c/d%00");
    assert_string_equal(r->p[0].field, "a!b%c/d");
    assert_string_equal(r->p[1].path, "");
    free(body);
    free(pe);
    free(e);
    free(d);
}

static void
test_form_limits(void **state)
{
    hg_apibody_limits_t lim;
    unsigned char      *d = synth(FILE_N, 23);
    char               *e = b64(d, FILE_N), *pe = pct(e);
    char               *body = fmt("a=%s&b=%s", pe, pe);
    const res_t        *r;

    (void) state;
    hg_apibody_limits_default(&lim);
    lim.max_parts = 1;
    r = parse_lim(HG_APIBODY_FORM, &lim, body, strlen(body));
    assert_int_equal(r->st, HG_ELIMIT);
    assert_string_equal(r->msg, "part b: more than 1 parts (max_parts)");
    hg_apibody_limits_default(&lim);
    lim.max_decoded = 4000;
    r = parse_lim(HG_APIBODY_FORM, &lim, body, strlen(body));
    assert_int_equal(r->st, HG_ELIMIT);
    assert_non_null(strstr(r->msg, "(max_decoded)"));
    free(body);
    free(pe);
    free(e);
    free(d);
}

/* ---- the API ---- */

static void
test_mode_of_content_types(void **state)
{
    static const struct {
        const char         *ct;
        hg_apibody_mode_t   mode;
    } cases[] = {
        { "application/json", HG_APIBODY_JSON },
        { "Application/JSON; charset=utf-8", HG_APIBODY_JSON },
        { "  application/json  ;x=y", HG_APIBODY_JSON },
        { "application/vnd.api+json", HG_APIBODY_JSON },
        { "application/merge-patch+JSON", HG_APIBODY_JSON },
        { "application/x-www-form-urlencoded", HG_APIBODY_FORM },
        { "APPLICATION/X-WWW-FORM-URLENCODED;charset=UTF-8", HG_APIBODY_FORM },
        { "multipart/form-data; boundary=x", HG_APIBODY_NONE },
        { "text/json", HG_APIBODY_NONE },
        { "application/jsonx", HG_APIBODY_NONE },
        { "application/json x", HG_APIBODY_NONE },
        { "application/", HG_APIBODY_NONE },
        { "/json", HG_APIBODY_NONE },
        { "json", HG_APIBODY_NONE },
        { "", HG_APIBODY_NONE },
        { "application/x+json/y", HG_APIBODY_NONE },
    };
    size_t  i;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (hg_apibody_mode_of(cases[i].ct, strlen(cases[i].ct))
            != cases[i].mode)
        {
            fail_msg("'%s': not mode %d", cases[i].ct, cases[i].mode);
        }
    }
    /* the length counts, not a NUL */
    assert_int_equal(hg_apibody_mode_of("application/jsonp", 16),
                     HG_APIBODY_JSON);
    assert_int_equal(hg_apibody_mode_of(NULL, 0), HG_APIBODY_NONE);
}

static void
test_new_refuses_bad_arguments_and_feed_after_finish(void **state)
{
    hg_unpack_cb_t  cb = { c_begin, c_data, c_end }, half = { c_begin, NULL, c_end };
    hg_apibody_t   *b;
    hg_err_t        err;
    res_t           r;

    (void) state;
    memset(&r, 0, sizeof(r));
    assert_null(hg_apibody_new(HG_APIBODY_NONE, NULL, &cb, &r, &err));
    assert_null(hg_apibody_new(HG_APIBODY_JSON, NULL, &half, &r, &err));
    assert_non_null(strstr(err.msg, "callback"));
    b = hg_apibody_new(HG_APIBODY_JSON, NULL, &cb, &r, &err);
    assert_non_null(b);
    assert_int_equal(hg_apibody_feed(b, "{}", 2, &err), HG_OK);
    assert_int_equal(hg_apibody_finish(b, &err), HG_OK);
    assert_null(hg_apibody_stopped(b, NULL));
    assert_int_equal(hg_apibody_feed(b, "1", 1, &err), HG_EINVAL);
    assert_int_equal(hg_apibody_finish(b, &err), HG_EINVAL);   /* sticks */
    hg_apibody_free(b);
    hg_apibody_free(NULL);
}

static int
teardown(void **state)
{
    (void) state;
    res_free(&R);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_base64_member_is_a_part_named_by_its_sibling),
        cmocka_unit_test(test_json_data_url_gives_its_type_at_any_size),
        cmocka_unit_test(test_json_urlsafe_base64_decodes_without_padding),
        cmocka_unit_test(test_json_escaped_slashes_and_line_breaks_are_undone),
        cmocka_unit_test(test_json_name_after_the_value_comes_with_part_end),
        cmocka_unit_test(test_json_nested_arrays_give_indexed_pointers),
        cmocka_unit_test(test_json_keys_are_escaped_in_the_pointer),
        cmocka_unit_test(test_json_clean_api_data_has_no_parts),
        cmocka_unit_test(test_json_min_bytes_decoded_is_the_threshold),
        cmocka_unit_test(test_tiny_min_bytes_still_sees_data_urls),
        cmocka_unit_test(test_json_top_level_values),
        cmocka_unit_test(test_json_long_value_is_decoded_as_it_arrives),
        cmocka_unit_test(test_lazy_strings_split_at_every_byte_keep_their_parts),
        cmocka_unit_test(test_lazy_escapes_that_spell_data_are_seen),
        cmocka_unit_test(test_lazy_long_strings_at_the_threshold),
        cmocka_unit_test(test_lazy_cap_reached_mid_body_reads_on),
        cmocka_unit_test(test_lazy_body_without_candidates_is_not_read_for_faults),
        cmocka_unit_test(test_json_truncated_body_ends_the_part_and_says_so),
        cmocka_unit_test(test_json_malformed_body_stops_where_it_breaks),
        cmocka_unit_test(test_json_fault_ends_the_open_part_and_ignores_the_rest),
        cmocka_unit_test(test_json_lazy_reads_the_tail_for_its_fault_only_when_asked),
        cmocka_unit_test(test_json_deep_nesting_is_a_limit),
        cmocka_unit_test(test_json_too_many_parts_is_a_limit),
        cmocka_unit_test(test_json_max_decoded_is_a_limit),
        cmocka_unit_test(test_callback_cancel_stops_the_parser),
        cmocka_unit_test(test_json_invalid_base64_after_the_first_kib_is_counted),
        cmocka_unit_test(test_json_nul_bytes_and_invalid_utf8_do_not_stop_it),
        cmocka_unit_test(test_form_base64_field_is_a_part),
        cmocka_unit_test(test_form_long_value_is_a_part_as_sent),
        cmocka_unit_test(test_form_bad_percent_escapes_are_kept_and_counted),
        cmocka_unit_test(test_form_data_url_field),
        cmocka_unit_test(test_form_small_and_odd_fields_are_no_parts),
        cmocka_unit_test(test_form_field_names_in_paths),
        cmocka_unit_test(test_form_limits),
        cmocka_unit_test(test_mode_of_content_types),
        cmocka_unit_test(test_new_refuses_bad_arguments_and_feed_after_finish),
    };

    return cmocka_run_group_tests(tests, NULL, teardown);
}
