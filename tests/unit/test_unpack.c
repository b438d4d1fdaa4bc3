/*
 * test_unpack.c - the streaming MIME parser: part paths and names, nesting,
 * boundaries split across chunks, line ends, form-data, and every limit
 * giving HG_ELIMIT with a message instead of a crash or a silent pass.
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

#include "hashgate/unpack.h"

#define MAX_SEEN    64
#define DATA_MAX    8192

typedef struct {
    char            path[64];
    char            type[64];
    char            filename[256];
    char            field[64];
    char            encoding[32];
    int             has_filename, has_field;
    unsigned        depth;
    unsigned char   data[DATA_MAX];
    size_t          len;
    uint64_t        errors;
    int             ended;
} seen_t;

typedef struct {
    seen_t          p[MAX_SEEN];
    unsigned        n;          /* parts begun */
    unsigned        total;      /* parts begun, even past MAX_SEEN */
    int             open;       /* index of the open main part, or -1 */
    int             sub_open;
    int             cancel_at;  /* part_end returns HG_ECANCEL for this index */
    unsigned        same;       /* copies dropped: same_bytes, checked */
} collect_t;

typedef struct {
    collect_t  *c;
    int        *open;
} side_t;

static collect_t    col;
static side_t       main_side, sub_side, copy_side, keep_side, strip_side;
static int          main_open, sub_open, copy_open, keep_open, strip_open;

static hg_status_t
c_begin(void *ctx, const hg_part_info_t *info)
{
    side_t     *s = ctx;
    collect_t  *c = s->c;
    seen_t     *p;

    c->total++;
    assert_int_equal(*s->open, -1);
    if (c->n == MAX_SEEN) {
        *s->open = MAX_SEEN;
        return HG_OK;
    }
    p = &c->p[c->n];
    memset(p, 0, sizeof(*p));
    snprintf(p->path, sizeof(p->path), "%s", info->path);
    snprintf(p->type, sizeof(p->type), "%s", info->content_type);
    if (info->filename != NULL) {
        p->has_filename = 1;
        snprintf(p->filename, sizeof(p->filename), "%s", info->filename);
    }
    if (info->field_name != NULL) {
        p->has_field = 1;
        snprintf(p->field, sizeof(p->field), "%s", info->field_name);
    }
    snprintf(p->encoding, sizeof(p->encoding), "%s", info->encoding);
    p->depth = info->depth;
    *s->open = (int) c->n++;
    return HG_OK;
}

static hg_status_t
c_data(void *ctx, const unsigned char *buf, size_t len)
{
    side_t *s = ctx;
    seen_t *p;

    assert_true(*s->open >= 0);
    if (*s->open == MAX_SEEN) {
        return HG_OK;
    }
    p = &s->c->p[*s->open];
    assert_true(p->len + len <= DATA_MAX);
    memcpy(p->data + p->len, buf, len);
    p->len += len;
    return HG_OK;
}

static hg_status_t
c_end(void *ctx, const hg_part_info_t *info, const hg_part_stats_t *st)
{
    side_t *s = ctx;
    seen_t *p;
    int     i = *s->open;

    assert_true(i >= 0);
    *s->open = -1;
    if (i == MAX_SEEN) {
        return HG_OK;
    }
    p = &s->c->p[i];
    assert_string_equal(p->path, info->path);
    assert_int_equal(st->decoded_bytes, p->len);
    assert_true(!st->same_bytes || s == &copy_side || s == &keep_side
                || s == &strip_side);
    if (st->same_bytes && main_open >= 0 && main_open < MAX_SEEN) {
        /*
         * a copy with nothing new, as callers see it: dropped (the part's
         * bytes are complete by now; checked equal to them first, or for
         * "P.d3" maybe to a copy kept before it)
         */
        seen_t *m = &s->c->p[main_open];
        int     same = m->len == p->len && !memcmp(m->data, p->data, p->len);
        int     k;

        for (k = main_open + 1; !same && s == &strip_side && k < i; k++) {
            same = s->c->p[k].len == p->len
                   && !memcmp(s->c->p[k].data, p->data, p->len);
        }
        assert_true(same);
        memmove(p, p + 1, (s->c->n - (unsigned) i - 1) * sizeof(*p));
        s->c->n--;
        s->c->same++;
        /* parts begun after it and still open moved down one */
        for (k = 0; k < 5; k++) {
            int *o = (int *[]) { &main_open, &sub_open, &copy_open,
                                 &keep_open, &strip_open }[k];

            if (*o > i && *o < MAX_SEEN) {
                (*o)--;
            }
        }
        return HG_OK;
    }
    p->errors = st->decode_errors;
    p->ended = 1;
    return i == s->c->cancel_at ? HG_ECANCEL : HG_OK;
}

static const hg_unpack_cb_t cb = { c_begin, c_data, c_end };

static void
reset(void)
{
    memset(&col, 0, sizeof(col));
    col.cancel_at = -1;
    main_open = -1;
    sub_open = -1;
    main_side.c = &col;
    main_side.open = &main_open;
    sub_side.c = &col;
    sub_side.open = &sub_open;
    copy_open = -1;
    copy_side.c = &col;
    copy_side.open = &copy_open;
    keep_open = strip_open = -1;
    keep_side.c = strip_side.c = &col;
    keep_side.open = &keep_open;
    strip_side.open = &strip_open;
}

static hg_unpack_t *
new_parser(hg_unpack_mode_t mode, const char *ct, const hg_unpack_limits_t *l)
{
    hg_unpack_t    *u;
    hg_err_t        err;

    u = hg_unpack_new(mode, ct, l, &cb, &main_side, &err);
    assert_non_null(u);
    assert_int_equal(hg_unpack_set_embedded_cb(u, &cb, &sub_side, &err), HG_OK);
    assert_int_equal(hg_unpack_set_copy_cb(u, &cb, &copy_side, &err), HG_OK);
    assert_int_equal(hg_unpack_set_eol_copy_cb(u, &cb, &keep_side, &strip_side,
                                               &err), HG_OK);
    return u;
}

/*
 * Parse msg fed in pieces: chunk 0 = whole, else that many bytes at a time;
 * split > 0 cuts it in two at that offset instead. Returns the status of
 * the first failing call, the message in err.
 */
static hg_status_t
parse(hg_unpack_mode_t mode, const char *ct, const hg_unpack_limits_t *l,
      const char *msg, size_t len, size_t chunk, size_t split, hg_err_t *err)
{
    hg_unpack_t    *u;
    hg_status_t     st = HG_OK;
    size_t          off = 0, k;

    reset();
    u = new_parser(mode, ct, l);
    if (split > 0) {
        st = hg_unpack_feed(u, msg, split, err);
        if (st == HG_OK) {
            st = hg_unpack_feed(u, msg + split, len - split, err);
        }
    } else {
        while (st == HG_OK && off < len) {
            k = chunk == 0 || chunk > len - off ? len - off : chunk;
            st = hg_unpack_feed(u, msg + off, k, err);
            off += k;
        }
    }
    if (st == HG_OK) {
        st = hg_unpack_finish(u, err);
    }
    hg_unpack_free(u);
    return st;
}

static void
parse_ok(const char *msg)
{
    hg_err_t    err;

    assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, NULL, msg, strlen(msg), 0, 0,
                           &err), HG_OK);
}

static seen_t *
part(const char *path)
{
    unsigned    i;

    for (i = 0; i < col.n; i++) {
        if (strcmp(col.p[i].path, path) == 0) {
            assert_true(col.p[i].ended);
            return &col.p[i];
        }
    }
    fail_msg("no part %s", path);
    return NULL;
}

static void
assert_data(const char *path, const char *want)
{
    seen_t *p = part(path);

    assert_int_equal(p->len, strlen(want));
    assert_memory_equal(p->data, want, p->len);
}

static const char nested[] =
    "From: a@example.org\r\n"
    "Subject: nested\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    "\r\n"
    "preamble, ignored\r\n"
    "--outer\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "Hello\r\n"
    "--outer\r\n"
    "Content-Type: application/octet-stream; name=x.bin\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "Content-Disposition: attachment;\r\n"
    "\tfilename=\"a.bin\"\r\n"
    "\r\n"
    "Zm9v\r\n"
    "YmFy\r\n"
    "--outer\r\n"
    "Content-Type: multipart/alternative; boundary=inner\r\n"
    "\r\n"
    "--inner\r\n"
    "\r\n"
    "plain\r\n"
    "--inner\r\n"
    "Content-Type: text/html\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "<b>=3D</b>=\r\n"
    "x\r\n"
    "--inner--\r\n"
    "inner epilogue\r\n"
    "--outer\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: attached\r\n"
    "Content-Type: multipart/mixed; boundary=deep\r\n"
    "\r\n"
    "--deep\r\n"
    "Content-Type: application/pdf\r\n"
    "\r\n"
    "%PDF\r\n"
    "--deep\r\n"
    "\r\n"
    "two\r\n"
    "--deep--\r\n"
    "--outer\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: single\r\n"
    "\r\n"
    "single body\r\n"
    "--outer--\r\n"
    "epilogue\r\n";

static void
check_nested(void)
{
    assert_int_equal(col.n, 7);
    assert_data("1", "Hello");
    assert_data("2", "foobar");
    assert_string_equal(part("2")->filename, "a.bin");
    assert_string_equal(part("2")->encoding, "base64");
    assert_string_equal(part("2")->type, "application/octet-stream");
    assert_data("3.1", "plain");
    assert_string_equal(part("3.1")->type, "text/plain");
    assert_data("3.2", "<b>=</b>x");
    assert_string_equal(part("3.2")->encoding, "quoted-printable");
    assert_data("4.1", "%PDF");
    assert_data("4.2", "two");
    assert_data("5.1", "single body");
    assert_int_equal(part("1")->depth, 1);
    assert_int_equal(part("3.2")->depth, 2);
    assert_int_equal(part("4.1")->depth, 3);
    assert_false(part("1")->has_filename);
}

static void
test_paths_follow_imap_numbering(void **state)
{
    (void) state;
    parse_ok(nested);
    check_nested();
}

static void
test_boundary_split_at_every_offset(void **state)
{
    size_t      len = strlen(nested), i;
    hg_err_t    err;

    (void) state;
    for (i = 1; i < len; i++) {
        assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, NULL, nested, len, 0,
                               i, &err), HG_OK);
        check_nested();
    }
    for (i = 1; i <= 7; i++) {
        assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, NULL, nested, len, i,
                               0, &err), HG_OK);
        check_nested();
    }
}

static void
test_lf_only_gives_the_same_parts(void **state)
{
    char   *lf = malloc(sizeof(nested)), *o = lf;
    size_t  i;

    (void) state;
    for (i = 0; nested[i]; i++) {
        if (nested[i] != '\r') {
            *o++ = nested[i];
        }
    }
    *o = '\0';
    parse_ok(lf);
    free(lf);
    check_nested();
}

static void
test_crlf_before_boundary_belongs_to_it(void **state)
{
    (void) state;
    parse_ok("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nline1\n\n--b\n\n"
             "ends in CRLF\r\n\r\n--b--\n");
    assert_data("1", "line1\n");
    assert_data("2", "ends in CRLF\r\n");
}

static void
test_top_level_single_part_is_1(void **state)
{
    (void) state;
    parse_ok("Subject: x\nContent-Type: application/zip; name=\"z.zip\"\n"
             "Content-Transfer-Encoding: base64\n\nUEsDBA==\n");
    assert_int_equal(col.n, 1);
    assert_data("1", "PK\003\004");
    assert_string_equal(part("1")->filename, "z.zip");
    assert_int_equal(part("1")->depth, 0);
    /* no body at all is still one (empty) part */
    parse_ok("Subject: only headers\n");
    assert_int_equal(col.n, 1);
    assert_data("1", "");
    parse_ok("");
    assert_int_equal(col.n, 1);
}

static void
test_missing_final_boundary_tolerated(void **state)
{
    (void) state;
    parse_ok("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n"
             "Content-Transfer-Encoding: base64\n\nZm9vYmFy\n");
    assert_int_equal(col.n, 2);
    assert_data("1", "one");
    assert_data("2", "foobar");
    /* cut inside the headers of a part */
    parse_ok("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n"
             "Content-Type: image/png\n");
    assert_int_equal(col.n, 2);
    assert_string_equal(part("2")->type, "image/png");
}

/*
 * A multipart cut off after its last part's data and the line end that
 * would precede a delimiter: that line end belongs to the delimiter that
 * never came (RFC 2046; Python drops it too), so the part is the file as
 * sent. One line end only: a second one is data. Mail and form-data, every
 * chunking.
 */
static void
test_missing_final_boundary_drops_held_line_end(void **state)
{
    static const char *const ends[] = { "\n", "\r\n" };
    char         msg[256];
    hg_err_t     err;
    size_t       i, k, len;

    (void) state;
    for (i = 0; i < 2; i++) {
        len = (size_t) snprintf(msg, sizeof(msg), "Content-Type: multipart/mixed;"
                                " boundary=b%s%s--b%sContent-Type: application/"
                                "octet-stream%s%sDATA%s", ends[i], ends[i],
                                ends[i], ends[i], ends[i], ends[i]);
        for (k = 0; k <= 3; k++) {
            assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, NULL, msg, len, k,
                                   0, &err), HG_OK);
            assert_int_equal(col.n, 1);
            assert_data("1", "DATA");
        }
        len = (size_t) snprintf(msg, sizeof(msg), "--b%sContent-Disposition: "
                                "form-data; name=\"f\"; filename=\"x\"%s%s"
                                "DATA%s", ends[i], ends[i], ends[i], ends[i]);
        for (k = 0; k <= 3; k++) {
            assert_int_equal(parse(HG_UNPACK_FORMDATA,
                                   "multipart/form-data; boundary=b", NULL, msg,
                                   len, k, 0, &err), HG_OK);
            assert_int_equal(col.n, 1);
            assert_data("1", "DATA");
        }
    }
    /* only the one line end is the delimiter's */
    parse_ok("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nDATA\r\n\r\n");
    assert_data("1", "DATA\r\n");
    /* a delimiter cut before its line end is still one (Python agrees) */
    parse_ok("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nDATA\n--b");
    assert_int_equal(col.n, 2);
    assert_data("1", "DATA");
    assert_data("2", "");
    parse_ok("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n"
             "DATA\r\n--b--\r");
    assert_int_equal(col.n, 1);
    assert_data("1", "DATA");
    /* a line starting with '-' that is not a delimiter stays data */
    parse_ok("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nDATA\n--c");
    assert_data("1", "DATA\n--c");
}

/*
 * A multipart whose boundary never comes has only a preamble: no part would
 * be hashed, and the bytes (Python reads them as the body of a leaf) would
 * pass as clean. Text there with no child part is HG_EFORMAT, so the fail
 * mode applies, whether the multipart ends at the end of input, at its own
 * close delimiter or at an outer boundary; mail and form-data. An empty or
 * blank body (an empty form: only the close delimiter) is no part, no error.
 */
static void
test_multipart_without_any_part_is_a_format_error(void **state)
{
    static const char *const bad[] = {
        "Content-Type: multipart/mixed; boundary=b\n\nFILE BYTES\n",
        "Content-Type: multipart/mixed; boundary=b\n\nFILE BYTES\n--b--\n",
        ("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: "
         "multipart/mixed; boundary=in\n\nFILE BYTES\n--b--\n"),
        ("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: "
         "multipart/mixed; boundary=in\n\nFILE BYTES\n"),
    };
    static const char *const fine[] = {
        "Content-Type: multipart/mixed; boundary=b\n\n",
        "Content-Type: multipart/mixed; boundary=b\n\n \r\n\t\n--b--\n",
        ("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: "
         "multipart/mixed; boundary=in\n\n--in--\n--b\n\nx\n--b--\n"),
    };
    hg_err_t    err;
    size_t      i, k;

    (void) state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        for (k = 0; k <= 2; k++) {
            assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, NULL, bad[i],
                                   strlen(bad[i]), k, 0, &err), HG_EFORMAT);
            assert_non_null(strstr(err.msg, "no part"));
            assert_int_equal(col.n, 0);
        }
    }
    for (i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
        assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, NULL, fine[i],
                               strlen(fine[i]), 1, 0, &err), HG_OK);
    }
    assert_int_equal(col.n, 1);
    assert_data("2", "x");

    assert_int_equal(parse(HG_UNPACK_FORMDATA, "multipart/form-data; boundary=b",
                           NULL, "FILE BYTES\r\n", 12, 0, 0, &err), HG_EFORMAT);
    assert_int_equal(parse(HG_UNPACK_FORMDATA, "multipart/form-data; boundary=b",
                           NULL, "FILE BYTES\r\n--b--\r\n", 19, 0, 0, &err),
                     HG_EFORMAT);
    assert_int_equal(parse(HG_UNPACK_FORMDATA, "multipart/form-data; boundary=b",
                           NULL, "--b--\r\n", 7, 0, 0, &err), HG_OK);
    assert_int_equal(col.n, 0);
}

static void
test_quoted_boundary_and_outer_boundary_closes_inner(void **state)
{
    (void) state;
    parse_ok("Content-Type: multipart/mixed;\n boundary=\"a b:c=?\"\n\n"
             "--a b:c=?\nContent-Type: multipart/mixed; boundary=in\n\n"
             "--in\n\nunclosed inner\n--a b:c=? \t\n\nafter\n--a b:c=?--\n");
    assert_int_equal(col.n, 2);
    assert_data("1.1", "unclosed inner");
    assert_data("2", "after");
}

/*
 * A boundary with 8-bit bytes (not UTF-8) is matched byte for byte, as
 * mail and HTTP software that splits on the raw bytes does: otherwise the
 * whole body would be a preamble and its attachment never hashed.
 */
static void
test_boundary_with_8bit_bytes_is_matched_as_sent(void **state)
{
    hg_err_t             err;
    static const char    form[] =
        "--\xe9t\xe9\r\n"
        "Content-Disposition: form-data; name=\"f\"; filename=\"x.bin\"\r\n"
        "\r\n"
        "payload\r\n"
        "--\xe9t\xe9--\r\n";

    (void) state;
    parse_ok("Content-Type: multipart/mixed; boundary=\"\xe9t\xe9\"\n\n"
             "--\xe9t\xe9\nContent-Type: application/octet-stream\n"
             "Content-Transfer-Encoding: base64\n\nZm9vYmFy\n"
             "--\xe9t\xe9--\n");
    assert_int_equal(col.n, 1);
    assert_data("1", "foobar");
    assert_int_equal(parse(HG_UNPACK_FORMDATA,
                           "multipart/form-data; boundary=\xe9t\xe9", NULL,
                           form, sizeof(form) - 1, 0, 0, &err), HG_OK);
    assert_int_equal(col.n, 1);
    assert_data("1", "payload");
}

/*
 * A delimiter line padded with more blanks than the parser holds is not
 * silently text (which would make every part a preamble, unhashed): the
 * parse fails with HG_ELIMIT. Fewer blanks are a boundary as usual.
 */
static void
test_boundary_with_too_many_trailing_blanks_is_a_limit(void **state)
{
    static char  msg[4096];
    char         pad[1200];
    hg_err_t     err;
    hg_status_t  st;

    (void) state;
    memset(pad, ' ', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    snprintf(msg, sizeof(msg), "Content-Type: multipart/mixed; boundary=b\n\n"
             "--b%.40s\n\none\n--b--%.40s\n", pad, pad);
    parse_ok(msg);
    assert_int_equal(col.n, 1);
    assert_data("1", "one");

    snprintf(msg, sizeof(msg), "Content-Type: multipart/mixed; boundary=b\n\n"
             "--b%s\n\nhidden\n--b--\n", pad);
    st = parse(HG_UNPACK_MESSAGE, NULL, NULL, msg, strlen(msg), 0, 0, &err);
    assert_int_equal(st, HG_ELIMIT);
    assert_non_null(strstr(err.msg, "boundary line"));
    /* the same cut into small chunks */
    st = parse(HG_UNPACK_MESSAGE, NULL, NULL, msg, strlen(msg), 7, 0, &err);
    assert_int_equal(st, HG_ELIMIT);
}

static void
test_multipart_without_boundary_is_a_text_leaf(void **state)
{
    (void) state;
    parse_ok("Content-Type: multipart/mixed\n\n--x\n\nbody\n--x--\n");
    assert_int_equal(col.n, 1);
    assert_string_equal(part("1")->type, "multipart/mixed");
    assert_data("1", "--x\n\nbody\n--x--\n");
}

static void
test_rfc2231_and_rfc2047_names(void **state)
{
    (void) state;
    parse_ok("Content-Type: multipart/mixed; boundary=b\n\n"
             "--b\nContent-Disposition: attachment;\n"
             " filename*0*=UTF-8''r%C3%A9sum;\n filename*1*=%C3%A9.pdf\n\nx\n"
             "--b\nContent-Disposition: attachment; filename*=iso-8859-1'fr'%E9t%E9.jpg\n\nx\n"
             "--b\nContent-Disposition: attachment;\n"
             " filename=\"=?UTF-8?B?5pel5pys?= =?UTF-8?Q?_=E8=AA=9E.txt?=\"\n\nx\n"
             "--b\nContent-Type: application/x; name=\"=?windows-1252?q?=80uro.xls?=\"\n\nx\n"
             "--b\nContent-Disposition: attachment; filename=\"a\\\"q\\\".txt\"\n\nx\n"
             "--b--\n");
    assert_int_equal(col.n, 5);
    assert_string_equal(part("1")->filename, "r\xc3\xa9sum\xc3\xa9.pdf");
    assert_string_equal(part("2")->filename, "\xc3\xa9t\xc3\xa9.jpg");
    assert_string_equal(part("3")->filename, "\xe6\x97\xa5\xe6\x9c\xac \xe8\xaa\x9e.txt");
    assert_string_equal(part("4")->filename, "\xe2\x82\xacuro.xls");
    assert_string_equal(part("5")->filename, "a\"q\".txt");
}

static void
test_uuencode_in_text_becomes_parts(void **state)
{
    static const char msg[] =
        "Content-Type: text/plain\n\nsee below\nbegin 644 cat.txt\n#0V%T\n`\nend\n"
        "and\nbegin 600 two.bin\n#9&]G\n`\nend\nbye\n";
    hg_err_t    err;
    size_t      i;

    (void) state;
    for (i = 0; i < strlen(msg); i++) {
        assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, NULL, msg, strlen(msg),
                               i == 0 ? 1 : 0, i, &err), HG_OK);
        assert_int_equal(col.n, 3);
        assert_data("1.u1", "Cat");
        assert_string_equal(part("1.u1")->filename, "cat.txt");
        assert_data("1.u2", "dog");
        assert_string_equal(part("1.u2")->filename, "two.bin");
        assert_string_equal(part("1.u2")->encoding, "x-uuencode");
        /* the text part is still hashed whole */
        assert_data("1", msg + strlen("Content-Type: text/plain\n\n"));
    }
}

static void
test_uuencode_transfer_encoding(void **state)
{
    (void) state;
    parse_ok("Content-Type: multipart/mixed; boundary=b\n\n--b\n"
             "Content-Type: application/octet-stream\n"
             "Content-Transfer-Encoding: X-UUENCODE\n\n"
             "begin 644 cat.txt\n#0V%T\n`\nend\n--b--\n");
    assert_int_equal(col.n, 1);
    assert_data("1", "Cat");
    assert_string_equal(part("1")->encoding, "x-uuencode");
}

static void
test_uuencode_label_without_begin_hashed_as_is(void **state)
{
    static const char m[] =
        "Content-Type: multipart/mixed; boundary=b\n\n"
        "--b\nContent-Transfer-Encoding: x-uuencode\n\nraw bytes, no begin\n"
        "--b\nContent-Transfer-Encoding: x-uuencode\n\n\nbegin 644 c\n#0V%T\n`\nend\n"
        "--b\nContent-Transfer-Encoding: x-uuencode\n\nbeg\n"
        "--b\nContent-Transfer-Encoding: x-uuencode\n\n--b--\n";
    hg_err_t    err;
    size_t      i, len = sizeof(m) - 1;

    (void) state;
    for (i = 0; i < len; i++) {
        assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, NULL, m, len,
                               i == 0 ? 1 : 0, i, &err), HG_OK);
        assert_int_equal(col.n, 4);
        assert_data("1", "raw bytes, no begin");
        assert_int_equal(part("1")->errors, 1);
        assert_data("2", "Cat");
        assert_int_equal(part("2")->errors, 0);
        assert_data("3", "beg");
        assert_int_equal(part("3")->errors, 1);
        assert_data("4", "");
        assert_int_equal(part("4")->errors, 0);
    }
}

static void
test_base64_junk_counted_in_stats(void **state)
{
    (void) state;
    parse_ok("Content-Transfer-Encoding: base64\n\nZm9v!YmFy*\n");
    assert_data("1", "foobar");
    assert_int_equal(part("1")->errors, 2);
}

static void
test_base64_dash_lines_split_anywhere(void **state)
{
    static const char m[] =
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        "Zm9v\r\n-!-\r\n--bx\r\nYm-Fy\r\n--b\r\n\r\ntext-\r\n--b--\r\n";
    hg_err_t    err;
    size_t      i, len = sizeof(m) - 1;

    (void) state;
    for (i = 0; i < len; i++) {
        assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, NULL, m, len,
                               i == 0 ? 1 : 0, i, &err), HG_OK);
        assert_int_equal(col.n, 2);
        /* "--bx" is not the boundary; every '-' and '!' is junk */
        assert_data("1", "fooo\x16&\x17");
        assert_int_equal(part("1")->errors, 6);
        assert_data("2", "text-");
    }
}

static const char form[] =
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"title\"\r\n"
    "\r\n"
    "hello\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"f1\"; filename=\"a.bin\"\r\n"
    "Content-Type: application/octet-stream\r\n"
    "\r\n"
    "\x00\x01--XyZ not a boundary\r\n\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"f2\"; filename*=UTF-8''%C3%BC.png\r\n"
    "Content-Type: image/png\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "Zm9v\r\n"
    "--XyZ--\r\n";

static void
test_formdata_several_files(void **state)
{
    hg_err_t    err;
    size_t      len = sizeof(form) - 1, i;

    (void) state;
    for (i = 0; i < len; i++) {
        assert_int_equal(parse(HG_UNPACK_FORMDATA,
                               "multipart/form-data; boundary=\"XyZ\"", NULL,
                               form, len, i == 0 ? 1 : 0, i, &err), HG_OK);
        /* the three parts, and the decoded copy of the base64 one */
        assert_int_equal(col.n, 4);
        assert_data("1", "hello");
        assert_string_equal(part("1")->field, "title");
        assert_false(part("1")->has_filename);
        assert_int_equal(part("2")->len, 24);
        assert_memory_equal(part("2")->data, "\x00\x01--XyZ not a boundary\r\n", 24);
        assert_string_equal(part("2")->filename, "a.bin");
        assert_string_equal(part("2")->field, "f1");
        assert_string_equal(part("2")->encoding, "binary");
        /* a form part is reported as sent (RFC 7578 4.7)... */
        assert_data("3", "Zm9v");
        assert_string_equal(part("3")->filename, "\xc3\xbc.png");
        assert_string_equal(part("3")->encoding, "base64");
        /* ...and decoded too, as some readers store it */
        assert_data("3.d1", "foo");
        assert_string_equal(part("3.d1")->filename, "\xc3\xbc.png");
        assert_string_equal(part("3.d1")->field, "f2");
        assert_string_equal(part("3.d1")->type, "image/png");
        assert_int_equal(part("3.d1")->depth, part("3")->depth + 1);
    }
}

/*
 * Form parts with a quoted-printable or base64 transfer encoding: the raw
 * part "N" as now, plus its decoded bytes as "N.d1" (Go's mime/multipart
 * decodes quoted-printable), at every chunking. Parts without one, or with
 * 7bit/8bit/binary, give no extra part.
 */
static const char cte_form[] =
    "--b\r\n"
    "Content-Disposition: form-data; name=\"q\"; filename=\"q.bin\"\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: Quoted-Printable\r\n"
    "\r\n"
    "=00=01ab=3D=\r\n"
    "cd\r\n"
    "e=FF\r\n"
    "--b\r\n"
    "Content-Disposition: form-data; name=\"s\"; filename=\"s.bin\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "AAEC\r\n"
    "/w==\r\n"
    "--b\r\n"
    "Content-Disposition: form-data; name=\"plain\"\r\n"
    "\r\n"
    "=3D Zm9v\r\n"
    "--b\r\n"
    "Content-Disposition: form-data; name=\"seven\"\r\n"
    "Content-Transfer-Encoding: 7bit\r\n"
    "\r\n"
    "=3D\r\n"
    "--b\r\n"
    "Content-Disposition: form-data; name=\"eight\"\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "=3D\r\n"
    "--b\r\n"
    "Content-Disposition: form-data; name=\"bin\"\r\n"
    "Content-Transfer-Encoding: binary\r\n"
    "\r\n"
    "Zm9v\r\n"
    "--b\r\n"
    "Content-Disposition: form-data; name=\"empty\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "\r\n"
    "--b--\r\n";

static void
test_formdata_transfer_encoding_decoded_copy(void **state)
{
    hg_err_t    err;
    size_t      len = sizeof(cte_form) - 1, i;
    seen_t     *p;

    (void) state;
    for (i = 0; i < len; i++) {
        assert_int_equal(parse(HG_UNPACK_FORMDATA,
                               "multipart/form-data; boundary=b", NULL,
                               cte_form, len, i == 0 ? 1 : 0, i, &err), HG_OK);
        assert_int_equal(col.n, 10);
        assert_data("1", "=00=01ab=3D=\r\ncd\r\ne=FF");
        assert_string_equal(part("1")->encoding, "quoted-printable");
        p = part("1.d1");
        assert_int_equal(p->len, 11);
        assert_memory_equal(p->data, "\x00\x01" "ab=cd\r\ne\xff", 11);
        assert_int_equal(p->errors, 0);
        assert_string_equal(p->filename, "q.bin");
        assert_string_equal(p->field, "q");
        assert_string_equal(p->encoding, "quoted-printable");
        assert_data("2", "AAEC\r\n/w==");
        p = part("2.d1");
        assert_int_equal(p->len, 4);
        assert_memory_equal(p->data, "\x00\x01\x02\xff", 4);
        assert_string_equal(p->filename, "s.bin");
        assert_data("3", "=3D Zm9v");
        assert_data("4", "=3D");
        assert_data("5", "=3D");
        assert_data("6", "Zm9v");
        assert_data("7", "");
        assert_data("7.d1", "");
        /* the copy is begun and ended inside its part: it follows it */
        assert_string_equal(col.p[0].path, "1");
        assert_string_equal(col.p[1].path, "1.d1");
        assert_string_equal(col.p[2].path, "2");
        assert_string_equal(col.p[3].path, "2.d1");
        assert_string_equal(col.p[4].path, "3");
        assert_string_equal(col.p[8].path, "7");
        assert_string_equal(col.p[9].path, "7.d1");
    }
}

/*
 * The decoded copy of a quoted-printable form part loses the blanks, tabs
 * and CRs ending a line, as RFC 2045 6.7 (3) asks and Go's reader does
 * (padding lines must not make a copy that hashes differently from the
 * file Go stores); the line end stays CRLF or LF; "=" then blanks is a soft
 * break. The raw part keeps every byte.
 */
static void
test_formdata_qp_copy_drops_trailing_blanks(void **state)
{
    static const char f[] =
        "--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        "ab  \r\ncd\t\r\r\nef=\r\ng\rh =  \r\nij\nk= l \t\r\n--b--\r\n";
    hg_err_t    err;
    size_t      i;
    char        big[6000];
    size_t      blen;
    static const size_t chunks[] = { 0, 1, 7, 1000, 4097, 5000 };

    (void) state;
    for (i = 0; i < strlen(f); i++) {
        assert_int_equal(parse(HG_UNPACK_FORMDATA, "multipart/form-data; "
                               "boundary=b", NULL, f, strlen(f),
                               i == 0 ? 1 : 0, i, &err), HG_OK);
        assert_int_equal(col.n, 2);
        assert_data("1", "ab  \r\ncd\t\r\r\nef=\r\ng\rh =  \r\nij\nk= l \t");
        assert_data("1.d1", "ab\r\ncd\r\nefg\rh ij\nk= l");
    }
    /*
     * a run of blanks longer than is held is passed on, not lost: the copy
     * then has the part's own bytes, and says so
     */
    blen = (size_t) snprintf(big, sizeof(big), "--b\r\nContent-Transfer-"
                             "Encoding: quoted-printable\r\n\r\nx");
    memset(big + blen, ' ', 5000);
    blen += 5000;
    blen += (size_t) snprintf(big + blen, sizeof(big) - blen, "y\r\n--b--\r\n");
    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        assert_int_equal(parse(HG_UNPACK_FORMDATA, "multipart/form-data; "
                               "boundary=b", NULL, big, blen, chunks[i], 0,
                               &err), HG_OK);
        assert_int_equal(part("1")->len, 5002);
        assert_int_equal(col.n, 1);
        assert_int_equal(col.same, 1);
    }
    /*
     * such a run before a line end: its last (5001 - 1) % 4096 + 1 blanks
     * (the CR kept as CRLF) are deleted, at any chunking
     */
    blen -= strlen("y\r\n--b--\r\n");
    blen += (size_t) snprintf(big + blen, sizeof(big) - blen,
                              "\r\ny\r\n--b--\r\n");
    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        assert_int_equal(parse(HG_UNPACK_FORMDATA, "multipart/form-data; "
                               "boundary=b", NULL, big, blen, chunks[i], 0,
                               &err), HG_OK);
        assert_int_equal(part("1")->len, 5004);
        assert_int_equal(part("1.d1")->len, 4100);
        assert_memory_equal(part("1.d1")->data + 4097, "\r\ny", 3);
    }
}

/* Without copy callbacks a form part is reported as sent, alone. */
static void
test_formdata_no_decoded_copy_without_copy_cb(void **state)
{
    hg_unpack_t    *u;
    hg_err_t        err;

    (void) state;
    reset();
    u = hg_unpack_new(HG_UNPACK_FORMDATA, "multipart/form-data; boundary=b",
                      NULL, &cb, &main_side, &err);
    assert_non_null(u);
    assert_int_equal(hg_unpack_feed(u, cte_form, sizeof(cte_form) - 1, &err),
                     HG_OK);
    assert_int_equal(hg_unpack_finish(u, &err), HG_OK);
    assert_int_equal(hg_unpack_parts(u), 7);
    hg_unpack_free(u);
    assert_int_equal(col.n, 7);
    assert_data("2", "AAEC\r\n/w==");
}

/*
 * A decoded copy is not counted against max_parts: there is at most one
 * per part, which was (decoding only shrinks, so max_part_bytes stops the
 * part before its copy).
 */
static void
test_formdata_decoded_copy_limits(void **state)
{
    hg_unpack_limits_t  l;
    hg_err_t            err;
    static const char   f[] =
        "--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        "=41=42=43\r\n--b--\r\n";

    (void) state;
    hg_unpack_limits_default(&l);
    l.max_parts = 1;
    assert_int_equal(parse(HG_UNPACK_FORMDATA, "multipart/form-data; boundary=b",
                           &l, f, strlen(f), 0, 0, &err), HG_OK);
    assert_data("1.d1", "ABC");
    l.max_parts = 0;
    assert_int_equal(parse(HG_UNPACK_FORMDATA, "multipart/form-data; boundary=b",
                           &l, f, strlen(f), 0, 0, &err), HG_ELIMIT);
    assert_non_null(strstr(err.msg, "part 1: more than 0 parts"));
}

/*
 * Mail: base64 and raw parts have one reading. A quoted-printable part is
 * decoded keeping the blanks that end a line (Python); its copy "N.d1"
 * deletes them (RFC 2045 6.7 (3), Go, GMime, Perl). Without such blanks
 * the copy has the part's bytes and says so (same_bytes), at every
 * chunking.
 */
static void
test_message_qp_copy_deletes_trailing_blanks(void **state)
{
    static const char m[] =
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=41=42\r\n"
        "--b\r\nContent-Transfer-Encoding: base64\r\n\r\nQUI=\r\n"
        "--b\r\nContent-Transfer-Encoding: binary\r\n\r\n=41\r\n"
        "--b\r\nContent-Type: text/plain\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        "a=00b \t\r\ncd=  \r\nef\r\r\ng\r\n"
        "begin 644 u.bin\r\n#86)C\r\n`\r\nend \r\n--b--\r\n";
    hg_err_t    err;
    size_t      i;

    (void) state;
    for (i = 0; i < strlen(m); i++) {
        assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, NULL, m, strlen(m),
                               i == 0 ? 1 : 0, i, &err), HG_OK);
        /* part 1's three copies: its own bytes (no blank, no line end) */
        assert_int_equal(col.same, 3);
        assert_int_equal(col.n, 8);
        assert_data("1", "AB");
        assert_data("2", "AB");
        assert_data("3", "=41");
        /* as Python reads it: blanks kept, "=  " is no soft break */
        assert_int_equal(part("4")->len, 53);
        assert_memory_equal(part("4")->data, "a\0b \t\r\ncd=  \r\nef\r\r\ng"
                            "\r\nbegin 644 u.bin\r\n#86)C\r\n`\r\nend ", 53);
        /* as the RFC reads it: blanks gone, "=" then a soft break */
        assert_int_equal(part("4.d1")->len, 44);
        assert_memory_equal(part("4.d1")->data, "a\0b\r\ncdef\r\ng\r\n"
                            "begin 644 u.bin\r\n#86)C\r\n`\r\nend", 44);
        assert_string_equal(part("4.d1")->type, "text/plain");
        assert_string_equal(part("4.d1")->encoding, "quoted-printable");
        assert_int_equal(part("4.d1")->depth, part("4")->depth + 1);
        /*
         * as a Unix mailbox stores it, hard line ends LF ("=  " is no soft
         * break), blanks kept ("P.d2") or deleted ("P.d3")
         */
        assert_int_equal(part("4.d2")->len, 46);
        assert_memory_equal(part("4.d2")->data, "a\0b \t\ncd=  \nef\r\ng\n"
                            "begin 644 u.bin\n#86)C\n`\nend ", 46);
        assert_int_equal(part("4.d3")->len, 38);
        assert_memory_equal(part("4.d3")->data, "a\0b\ncdef\ng\n"
                            "begin 644 u.bin\n#86)C\n`\nend", 38);
        /* a uuencoded block inside, open at the same time as the copies */
        assert_data("4.u1", "abc");
    }
}

/*
 * The line-end copies of a message stored with LF: "P.d2" has CRLF hard
 * line ends; a soft break decodes the same either way, so a part with
 * only soft breaks has no copy worth judging; "P.d3" without a blank
 * deleted is "P.d2" and is dropped too.
 */
static void
test_message_qp_line_end_copies(void **state)
{
    static const char m[] =
        "Content-Type: multipart/mixed; boundary=b\n\n"
        "--b\nContent-Transfer-Encoding: quoted-printable\n\nab\ncd=\nef\n"
        "--b\nContent-Transfer-Encoding: quoted-printable\n\n=00=01=\n=02\n"
        "--b--\n";
    hg_err_t    err;
    size_t      i;

    (void) state;
    for (i = 0; i < strlen(m); i++) {
        assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, NULL, m, strlen(m),
                               i == 0 ? 1 : 0, i, &err), HG_OK);
        assert_int_equal(col.n, 3);
        assert_int_equal(col.same, 5);
        assert_data("1", "ab\ncdef");
        assert_data("1.d2", "ab\r\ncdef");
        assert_int_equal(part("2")->len, 3);
        assert_memory_equal(part("2")->data, "\0\1\2", 3);
    }
}

static void
test_formdata_bad_boundary_refused(void **state)
{
    hg_err_t    err;
    char        ct[128];

    (void) state;
    snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%071d", 0);
    assert_null(hg_unpack_new(HG_UNPACK_FORMDATA, ct, NULL, &cb, NULL, &err));
    assert_non_null(strstr(err.msg, "longer than 70"));
    snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%070d", 0);
    hg_unpack_free(hg_unpack_new(HG_UNPACK_FORMDATA, ct, NULL, &cb, NULL, &err));
    assert_null(hg_unpack_new(HG_UNPACK_FORMDATA, "multipart/form-data", NULL,
                              &cb, NULL, &err));
    assert_non_null(strstr(err.msg, "no boundary"));
    assert_null(hg_unpack_new(HG_UNPACK_FORMDATA, "multipart/form-data; boundary=\"\"",
                              NULL, &cb, NULL, &err));
}

/* A message of n parts, each "--b\n\nx\n". */
static char *
many_parts(unsigned n, size_t *len)
{
    static const char head[] = "Content-Type: multipart/mixed; boundary=b\n\n";
    char       *m = malloc(sizeof(head) + (size_t) n * 7 + 8), *o;
    unsigned    i;

    assert_non_null(m);
    o = m + sprintf(m, "%s", head);
    for (i = 0; i < n; i++) {
        o += sprintf(o, "--b\n\nx\n");
    }
    o += sprintf(o, "--b--\n");
    *len = (size_t) (o - m);
    return m;
}

static void
test_max_parts_limit(void **state)
{
    hg_unpack_limits_t  l;
    hg_err_t            err;
    size_t              len;
    char               *m = many_parts(10000, &len);
    hg_unpack_t        *u;

    (void) state;
    hg_unpack_limits_default(&l);
    assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, &l, m, len, 4096, 0, &err),
                     HG_ELIMIT);
    assert_non_null(strstr(err.msg, "max_parts"));
    assert_int_equal(col.total, 1000);
    l.max_parts = 20000;
    assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, &l, m, len, 4096, 0, &err),
                     HG_OK);
    assert_int_equal(col.total, 10000);

    /* errors stick */
    l.max_parts = 3;
    reset();
    u = new_parser(HG_UNPACK_MESSAGE, NULL, &l);
    assert_int_equal(hg_unpack_feed(u, m, len, &err), HG_ELIMIT);
    assert_int_equal(hg_unpack_feed(u, "x", 1, &err), HG_ELIMIT);
    assert_non_null(strstr(err.msg, "max_parts"));
    assert_int_equal(hg_unpack_finish(u, &err), HG_ELIMIT);
    assert_int_equal(hg_unpack_parts(u), 3);
    hg_unpack_free(u);
    free(m);
}

static void
test_max_depth_limit(void **state)
{
    char        m[8192], *o = m;
    int         i;
    hg_err_t    err;
    hg_unpack_limits_t l;

    (void) state;
    for (i = 0; i < 25; i++) {
        o += sprintf(o, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
    }
    o += sprintf(o, "\ndeep\n");
    assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, NULL, m, strlen(m), 0, 0, &err),
                     HG_ELIMIT);
    assert_non_null(strstr(err.msg, "max_depth"));
    hg_unpack_limits_default(&l);
    l.max_depth = 30;
    assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, &l, m, strlen(m), 0, 0, &err),
                     HG_OK);
    assert_int_equal(col.n, 1);
    assert_string_equal(col.p[0].path, "1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1");
    /* the line end a missing delimiter would own is not data */
    assert_data(col.p[0].path, "deep");
    assert_int_equal(col.p[0].depth, 25);

    /* message/rfc822 nesting counts too */
    o = m;
    for (i = 0; i < 25; i++) {
        o += sprintf(o, "Content-Type: message/rfc822\n\n");
    }
    o += sprintf(o, "\nbody\n");
    assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, NULL, m, strlen(m), 0, 0, &err),
                     HG_ELIMIT);
    assert_non_null(strstr(err.msg, "max_depth"));
}

static void
test_header_limits(void **state)
{
    size_t      n = 70000, i;
    char       *m = malloc(n + 64);
    hg_err_t    err;
    hg_unpack_limits_t l;

    (void) state;
    memcpy(m, "X-Long: ", 8);
    memset(m + 8, 'a', n);
    memcpy(m + 8 + n, "\n\nbody\n", 8);
    assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, NULL, m, strlen(m), 1000, 0,
                           &err), HG_ELIMIT);
    assert_non_null(strstr(err.msg, "max_line_bytes"));

    /* many short lines: the block limit */
    hg_unpack_limits_default(&l);
    l.max_header_bytes = 1024;
    for (i = 0; i + 8 < n; i += 8) {
        memcpy(m + i, "X-A: b\r\n", 8);
    }
    memcpy(m + i, "\r\n", 3);
    assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, &l, m, strlen(m), 0, 0, &err),
                     HG_ELIMIT);
    assert_non_null(strstr(err.msg, "max_header_bytes"));
    free(m);
}

static void
test_size_limits(void **state)
{
    hg_err_t    err;
    hg_unpack_limits_t l;
    static const char m[] = "Content-Transfer-Encoding: base64\n\nZm9vYmFy\n";

    (void) state;
    hg_unpack_limits_default(&l);
    l.max_part_bytes = 5;
    assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, &l, m, strlen(m), 1, 0, &err),
                     HG_ELIMIT);
    assert_non_null(strstr(err.msg, "max_part_bytes"));
    l.max_part_bytes = 6;
    assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, &l, m, strlen(m), 1, 0, &err),
                     HG_OK);
    l.max_total_bytes = 10;
    assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, &l, m, strlen(m), 3, 0, &err),
                     HG_ELIMIT);
    assert_non_null(strstr(err.msg, "max_total_bytes"));
}

static void
test_nuls_and_garbage_do_not_crash(void **state)
{
    static const char m[] =
        "Content-Type: multipart/mixed; bou\0ndary=b; boundary=\"b\0\"\n"
        "X-\0: \0\0\n\n--b\nContent-Type: \0/\0\n\n\0\0\0\n--b\n\0\n\n--b--\n";
    static const char m2[] =
        "Content-Type: multipart/mixed; bou\0ndary=b; boundary=\"b\"\n"
        "X-\0: \0\0\n\n--b\nContent-Type: \0/\0\n\n\0\0\0\n--b\n\0\n\n--b--\n";
    hg_err_t    err;
    size_t      i;

    (void) state;
    for (i = 1; i <= 3; i++) {
        /* the boundary "b\0" itself holds a NUL: refused */
        assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, NULL, m, sizeof(m) - 1,
                               i, 0, &err), HG_EFORMAT);
        assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, NULL, m2, sizeof(m2) - 1,
                               i, 0, &err), HG_OK);
        assert_int_equal(col.n, 2);
        assert_int_equal(part("1")->len, 3);
        assert_memory_equal(part("1")->data, "\0\0\0", 3);
    }
}

/*
 * A Content-Type or Content-Transfer-Encoding given twice so that the
 * copies read as different structures, or a boundary parameter given twice
 * with different values: a reader taking the last copy would find parts we
 * never hash, so it is refused (HG_EFORMAT, the fail mode). Copies that
 * change no hashed byte pass.
 */
static void
test_conflicting_fields_are_refused(void **state)
{
    static const struct {
        const char *msg;
        const char *why;
    } bad[] = {
        { "Content-Type: multipart/mixed; boundary=A\n"
          "Content-Type: multipart/mixed; boundary=B\n\n"
          "--A\n\na\n--B\n\nb\n--A--\n", "part 0: Content-Type given twice" },
        { "Content-Type: multipart/mixed; boundary=A; boundary=B\n\n"
          "--A\n\na\n--A--\n", "part 0: Content-Type given twice" },
        { "Content-Type: multipart/mixed; boundary=A; boundary*=''B\n\n"
          "--A\n\na\n--A--\n", "part 0: Content-Type given twice" },
        { "Content-Type: multipart/mixed; boundary*0=A; boundary*0=B\n\n"
          "--A\n\na\n--A--\n", "part 0: Content-Type given twice" },
        { "Content-Type: multipart/mixed; boundary=A\n\n--A\n"
          "Content-Transfer-Encoding: 7bit\nContent-Transfer-Encoding: base64"
          "\n\nQUJD\n--A--\n", "part 1: Content-Transfer-Encoding given twice" },
        { "Content-Type: multipart/mixed; boundary=A\n\n--A\n\na\n--A\n"
          "Content-Type: text/plain\nContent-Type: message/rfc822\n\n"
          "Content-Type: image/jpeg\n\nJPEG\n--A--\n",
          "part 2: Content-Type given twice" },
        { "Content-Type: application/octet-stream\n"
          "Content-Type: multipart/mixed; boundary=A\n\n--A\n\na\n--A--\n",
          "part 0: Content-Type given twice" },
    };
    static const char *const fine[] = {
        ("Content-Type: multipart/mixed; boundary=A\n"
         "Content-Type: Multipart/Mixed; boundary=\"A\"\n\n--A\n\nFILE\n--A--\n"),
        ("Content-Type: multipart/mixed; boundary=A; boundary=\"A\"\n\n"
         "--A\n\nFILE\n--A--\n"),
        ("Content-Type: multipart/mixed; boundary=A\n\n--A\n"
         "Content-Transfer-Encoding: 7bit\nContent-Transfer-Encoding: 8BIT\n"
         "Content-Type: application/pdf\n"
         "Content-Type: application/octet-stream\n\nFILE\n--A--\n"),
    };
    hg_err_t        err;
    hg_unpack_t    *u;
    size_t          i, k;

    (void) state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        for (k = 0; k <= 3; k += 3) {
            assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, NULL, bad[i].msg,
                                   strlen(bad[i].msg), k, 0, &err), HG_EFORMAT);
            if (strstr(err.msg, bad[i].why) == NULL) {
                fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg,
                         bad[i].why);
            }
        }
    }
    for (i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
        assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, NULL, fine[i],
                               strlen(fine[i]), 1, 0, &err), HG_OK);
        assert_int_equal(col.n, 1);
        assert_data("1", "FILE");
    }
    u = hg_unpack_new(HG_UNPACK_FORMDATA, "multipart/form-data; boundary=A; "
                      "boundary=B", NULL, &cb, NULL, &err);
    assert_null(u);
    assert_non_null(strstr(err.msg, "boundary given twice"));
    assert_int_equal(parse(HG_UNPACK_FORMDATA, "multipart/form-data; "
                           "boundary=A; boundary=A", NULL,
                           "--A\r\n\r\nFILE\r\n--A--\r\n", 20, 0, 0, &err),
                     HG_OK);
    assert_data("1", "FILE");
}

/*
 * A NUL in a boundary parameter (sent raw or as RFC 2231 %00) is refused
 * with HG_EFORMAT: it used to become a blank while body lines kept the
 * NUL, so no line matched and every part hid in the preamble, unhashed.
 * NULs elsewhere in the header block still read as blanks.
 */
static void
test_boundary_with_nul_is_refused(void **state)
{
    static const char raw[] =
        "Content-Type: multipart/mixed; boundary=\"a\0b\"\n\n"
        "--a\0b\nContent-Type: application/octet-stream\n\nFILE\n--a\0b--\n";
    static const char pct[] =
        "Content-Type: multipart/mixed; boundary*=''a%00b\n\n"
        "--a\0b\n\nFILE\n--a\0b--\n";
    static const char nested[] =
        "Content-Type: multipart/mixed; boundary=o\n\n--o\n"
        "Content-Type: multipart/mixed;\n boundary=\"a\0b\"\n\n"
        "--a\0b\n\nFILE\n--a\0b--\n--o--\n";
    static const char other[] =
        "Subject: x\0y\nContent-Type: multipart/mixed; boundary=b;"
        " name=\"n\0m\"\n\n--b\n\nFILE\n--b--\n";
    hg_err_t    err;
    hg_unpack_t *u;

    (void) state;
    assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, NULL, raw, sizeof(raw) - 1,
                           0, 0, &err), HG_EFORMAT);
    assert_non_null(strstr(err.msg, "NUL"));
    assert_int_equal(col.n, 0);
    assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, NULL, pct, sizeof(pct) - 1,
                           0, 0, &err), HG_EFORMAT);
    assert_non_null(strstr(err.msg, "NUL"));
    assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, NULL, nested,
                           sizeof(nested) - 1, 3, 0, &err), HG_EFORMAT);
    assert_non_null(strstr(err.msg, "part 1: boundary holds a NUL"));
    assert_int_equal(parse(HG_UNPACK_MESSAGE, NULL, NULL, other,
                           sizeof(other) - 1, 0, 0, &err), HG_OK);
    assert_int_equal(col.n, 1);
    assert_data("1", "FILE");
    /* form-data: a C string cannot hold the NUL, RFC 2231 can */
    u = hg_unpack_new(HG_UNPACK_FORMDATA, "multipart/form-data; "
                      "boundary*=''a%00b", NULL, &cb, NULL, &err);
    assert_null(u);
    assert_non_null(strstr(err.msg, "NUL"));
    assert_int_equal(parse(HG_UNPACK_FORMDATA, "multipart/form-data; boundary=o",
                           NULL, nested + 41, sizeof(nested) - 42, 0, 0, &err),
                     HG_EFORMAT);
}

static void
test_callback_cancel_stops_the_parser(void **state)
{
    hg_err_t    err;
    hg_unpack_t *u;

    (void) state;
    reset();
    col.cancel_at = 0;
    u = new_parser(HG_UNPACK_MESSAGE, NULL, NULL);
    assert_int_equal(hg_unpack_feed(u, nested, strlen(nested), &err), HG_ECANCEL);
    assert_int_equal(col.n, 1);
    assert_non_null(strstr(err.msg, "part 1"));
    assert_int_equal(hg_unpack_finish(u, &err), HG_ECANCEL);
    hg_unpack_free(u);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths_follow_imap_numbering),
        cmocka_unit_test(test_boundary_split_at_every_offset),
        cmocka_unit_test(test_lf_only_gives_the_same_parts),
        cmocka_unit_test(test_crlf_before_boundary_belongs_to_it),
        cmocka_unit_test(test_top_level_single_part_is_1),
        cmocka_unit_test(test_missing_final_boundary_tolerated),
        cmocka_unit_test(test_missing_final_boundary_drops_held_line_end),
        cmocka_unit_test(test_multipart_without_any_part_is_a_format_error),
        cmocka_unit_test(test_quoted_boundary_and_outer_boundary_closes_inner),
        cmocka_unit_test(test_multipart_without_boundary_is_a_text_leaf),
        cmocka_unit_test(test_boundary_with_8bit_bytes_is_matched_as_sent),
        cmocka_unit_test(test_boundary_with_too_many_trailing_blanks_is_a_limit),
        cmocka_unit_test(test_rfc2231_and_rfc2047_names),
        cmocka_unit_test(test_uuencode_in_text_becomes_parts),
        cmocka_unit_test(test_uuencode_transfer_encoding),
        cmocka_unit_test(test_uuencode_label_without_begin_hashed_as_is),
        cmocka_unit_test(test_base64_junk_counted_in_stats),
        cmocka_unit_test(test_base64_dash_lines_split_anywhere),
        cmocka_unit_test(test_formdata_several_files),
        cmocka_unit_test(test_formdata_transfer_encoding_decoded_copy),
        cmocka_unit_test(test_formdata_qp_copy_drops_trailing_blanks),
        cmocka_unit_test(test_formdata_no_decoded_copy_without_copy_cb),
        cmocka_unit_test(test_formdata_decoded_copy_limits),
        cmocka_unit_test(test_message_qp_copy_deletes_trailing_blanks),
        cmocka_unit_test(test_message_qp_line_end_copies),
        cmocka_unit_test(test_formdata_bad_boundary_refused),
        cmocka_unit_test(test_max_parts_limit),
        cmocka_unit_test(test_max_depth_limit),
        cmocka_unit_test(test_header_limits),
        cmocka_unit_test(test_size_limits),
        cmocka_unit_test(test_nuls_and_garbage_do_not_crash),
        cmocka_unit_test(test_boundary_with_nul_is_refused),
        cmocka_unit_test(test_conflicting_fields_are_refused),
        cmocka_unit_test(test_callback_cancel_stops_the_parser),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
