/*
 * test_mail_scan.c - the mail fan-out the milter and "hashgate scan" share:
 * each leaf part, uuencoded block and other reading of a part handed over
 * once, with its result; an undecoded part read with its line ends in the
 * other form too (the form the message did not come in), both readings in
 * one object; copies holding nothing new dropped; a reading that could not
 * be checked handed over with its status; the caller's stop; limits; the
 * same objects whatever the chunking; reuse. Files are seeded random bytes.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hashgate/db.h"
#include "hashgate/hash.h"
#include "hashgate/mail_scan.h"

#define FILE_LEN    3000
#define UU_LEN      500
#define MSG_MAX     (64 * 1024)
#define MAX_OBJ     16
#define FILLER      20000   /* rows enough that a truncated file loses pages */

/* What the callback was handed, copied out. */
typedef struct {
    char            path[32];
    hg_mail_kind_t  kind;
    unsigned        nreadings;
    hg_status_t     st[HG_MAIL_READINGS];
    char            line_ends[HG_MAIL_READINGS][8];
    char            list[HG_MAIL_READINGS][16]; /* first list matched, or "" */
    unsigned char   sha256[HG_MAIL_READINGS][32];
    uint64_t        size[HG_MAIL_READINGS];
} obj_t;

typedef struct {
    obj_t           o[MAX_OBJ];
    unsigned        n;
    int             cancel_at;  /* return HG_ECANCEL from this object, or -1 */
} seen_t;

typedef struct {
    char            dir[64];
    char            path[96];
    unsigned char   f1[FILE_LEN], f2[FILE_LEN], f3[FILE_LEN], b[FILE_LEN];
    unsigned char   uu[UU_LEN];
    hg_db_t        *db;
    seen_t          seen;
} fx_t;

/* Seeded bytes, none of them CR, LF or '-' (no line a boundary); an LF
 * every 100 bytes when lines is set (never the last byte). */
static void
fill(unsigned char *p, size_t n, uint32_t seed, int lines)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (unsigned char) (seed >> 24);
        if (p[i] == '\r' || p[i] == '\n' || p[i] == '-') {
            p[i] = 'x';
        }
        if (lines && i % 100 == 99) {
            p[i] = '\n';
        }
    }
}

/* p with each LF as CRLF, into out; returns the length. */
static size_t
to_crlf(const unsigned char *p, size_t n, unsigned char *out)
{
    size_t  i, k = 0;

    for (i = 0; i < n; i++) {
        if (p[i] == '\n') {
            out[k++] = '\r';
        }
        out[k++] = p[i];
    }
    return k;
}

static void
sha256(const unsigned char *p, size_t n, unsigned char out[32])
{
    hg_hash_t      *h = hg_hash_new();
    hg_digests_t    d;

    assert_non_null(h);
    assert_int_equal(hg_hash_init(h, HG_ALG_BIT(HG_ALG_SHA256)), HG_OK);
    assert_int_equal(hg_hash_update(h, p, n), HG_OK);
    assert_int_equal(hg_hash_final(h, &d), HG_OK);
    memcpy(out, d.d[HG_ALG_SHA256], 32);
    hg_hash_free(h);
}

static void
add(hg_dbb_t *b, uint32_t list, const unsigned char *p, size_t n)
{
    hg_entry_t  e;

    memset(&e, 0, sizeof(e));
    e.alg = HG_ALG_SHA256;
    sha256(p, n, e.digest);
    assert_int_equal(hg_dbb_add(b, list, &e), HG_OK);
}

/*
 * lf:   f1 and f3 with LF line ends, b, uu, the QP text without padding
 * crlf: f2 and f3 with CRLF line ends
 * Plus filler rows when filler is set.
 */
static const char qp_text[] = "synthetic quoted-printable line one\r\n"
                              "synthetic quoted-printable line two\r\n"
                              "and a last line";

static void
make_db(fx_t *f, const char *path, int filler)
{
    hg_dbb_t       *b = hg_dbb_new();
    hg_err_t        err;
    uint32_t        lf, crlf, fill_id;
    unsigned char   big[2 * FILE_LEN], obj[16];
    size_t          n;
    unsigned        i;

    assert_non_null(b);
    assert_int_equal(hg_dbb_list(b, "lf", "", HG_LIST_BLOCK, &lf, &err), HG_OK);
    assert_int_equal(hg_dbb_list(b, "crlf", "", HG_LIST_BLOCK, &crlf, &err),
                     HG_OK);
    add(b, lf, f->f1, FILE_LEN);
    add(b, lf, f->f3, FILE_LEN);
    add(b, lf, f->b, FILE_LEN);
    add(b, lf, f->uu, UU_LEN);
    add(b, lf, (const unsigned char *) qp_text, strlen(qp_text));
    n = to_crlf(f->f2, FILE_LEN, big);
    add(b, crlf, big, n);
    n = to_crlf(f->f3, FILE_LEN, big);
    add(b, crlf, big, n);
    if (filler) {
        assert_int_equal(hg_dbb_list(b, "filler", "", HG_LIST_BLOCK, &fill_id,
                                     &err), HG_OK);
        for (i = 0; i < FILLER; i++) {
            memset(obj, 0, sizeof(obj));
            memcpy(obj, &i, sizeof(i));
            add(b, fill_id, obj, sizeof(obj));
        }
    }
    if (hg_dbb_write(b, path, 0, &err) != HG_OK) {
        fail_msg("hg_dbb_write: %s", err.msg);
    }
    hg_dbb_free(b);
}

static int
setup(void **state)
{
    fx_t      *f = calloc(1, sizeof(*f));
    hg_err_t   err;

    assert_non_null(f);
    fill(f->f1, FILE_LEN, 1, 1);
    fill(f->f2, FILE_LEN, 2, 1);
    fill(f->f3, FILE_LEN, 3, 1);
    fill(f->b, FILE_LEN, 4, 0);
    fill(f->uu, UU_LEN, 5, 0);
    strcpy(f->dir, "/tmp/hg-mail-scan-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/test.hgdb", f->dir);
    make_db(f, f->path, 0);
    if (hg_db_open(f->path, 0, &f->db, &err) != HG_OK) {
        fail_msg("hg_db_open: %s", err.msg);
    }
    f->seen.cancel_at = -1;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx_t  *f = *state;

    hg_db_close(f->db);
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* ---- building messages ---- */

typedef struct {
    char    b[MSG_MAX];
    size_t  n;
    int     lf;         /* the message's own lines end in LF */
} msg_t;

static void
put(msg_t *m, const void *p, size_t n)
{
    assert_true(m->n + n <= sizeof(m->b));
    memcpy(m->b + m->n, p, n);
    m->n += n;
}

/* Text whose "\n" are the message's line ends (LF or CRLF). */
static void
text(msg_t *m, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\n' && !m->lf) {
            put(m, "\r", 1);
        }
        put(m, s, 1);
    }
}

static void
msg_start(msg_t *m, int lf)
{
    m->n = 0;
    m->lf = lf;
    text(m, "From: sender@example.org\nTo: rcpt@example.net\n"
         "Subject: synthetic\nMIME-Version: 1.0\n"
         "Content-Type: multipart/mixed; boundary=\"b\"\n\n"
         "--b\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
         "c2VlIGF0dGFjaGVk\n");
}

/* An attachment with this transfer encoding, its body bytes as given. */
static void
msg_part(msg_t *m, const char *encoding, const void *body, size_t n)
{
    text(m, "--b\nContent-Type: application/octet-stream\n"
         "Content-Transfer-Encoding: ");
    text(m, encoding);
    text(m, "\n\n");
    put(m, body, n);
    text(m, "\n");
}

static void
msg_end(msg_t *m)
{
    text(m, "--b--\n");
}

/* base64 in 76-column lines */
static void
msg_b64(msg_t *m, const unsigned char *p, size_t n)
{
    static const char  a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "abcdefghijklmnopqrstuvwxyz0123456789+/";
    char               q[4];
    size_t             i, col = 0;
    uint32_t           v;

    text(m, "--b\nContent-Type: application/octet-stream\n"
         "Content-Transfer-Encoding: base64\n\n");
    for (i = 0; i < n; i += 3) {
        v = (uint32_t) p[i] << 16;
        v |= i + 1 < n ? (uint32_t) p[i + 1] << 8 : 0;
        v |= i + 2 < n ? p[i + 2] : 0;
        q[0] = a[v >> 18];
        q[1] = a[(v >> 12) & 63];
        q[2] = i + 1 < n ? a[(v >> 6) & 63] : '=';
        q[3] = i + 2 < n ? a[v & 63] : '=';
        put(m, q, 4);
        if ((col += 4) == 76) {
            text(m, "\n");
            col = 0;
        }
    }
    text(m, "\n");
}

/* ---- scanning ---- */

static hg_status_t
collect(void *ctx, const hg_mail_object_t *obj)
{
    seen_t     *s = ctx;
    obj_t      *o;
    unsigned    i;

    assert_true(s->n < MAX_OBJ);
    assert_true(obj->nreadings >= 1 && obj->nreadings <= HG_MAIL_READINGS);
    o = &s->o[s->n];
    memset(o, 0, sizeof(*o));
    snprintf(o->path, sizeof(o->path), "%s", obj->info->path);
    o->kind = obj->kind;
    o->nreadings = obj->nreadings;
    for (i = 0; i < obj->nreadings; i++) {
        const hg_mail_reading_t *r = &obj->reading[i];

        o->st[i] = r->st;
        snprintf(o->line_ends[i], sizeof(o->line_ends[i]), "%s",
                 r->line_ends != NULL ? r->line_ends : "");
        if (r->st != HG_OK) {
            continue;
        }
        if (r->res.nmatches > 0) {
            snprintf(o->list[i], sizeof(o->list[i]), "%s",
                     r->res.matches[0].list_name);
        }
        memcpy(o->sha256[i], r->res.digests.d[HG_ALG_SHA256], 32);
        o->size[i] = r->res.digests.size;
    }
    return (int) s->n++ == s->cancel_at ? HG_ECANCEL : HG_OK;
}

/* Scan m in chunks of step bytes (0: at once); returns the status. */
static hg_status_t
scan(hg_mail_scan_t *ms, seen_t *seen, const msg_t *m, size_t step,
     const hg_unpack_limits_t *lim, hg_err_t *err)
{
    hg_status_t st;
    size_t      off, k;

    seen->n = 0;
    st = hg_mail_scan_begin(ms, lim, collect, seen, err);
    for (off = 0; st == HG_OK && off < m->n; off += k) {
        k = step == 0 || m->n - off < step ? m->n - off : step;
        st = hg_mail_scan_feed(ms, m->b + off, k, err);
    }
    if (st == HG_OK) {
        st = hg_mail_scan_finish(ms, err);
    } else {
        hg_mail_scan_abort(ms);
    }
    return st;
}

/* The object at path, which must be there once. */
static const obj_t *
obj_at(const seen_t *s, const char *path)
{
    const obj_t    *found = NULL;
    unsigned        i;

    for (i = 0; i < s->n; i++) {
        if (strcmp(s->o[i].path, path) == 0) {
            assert_null(found);
            found = &s->o[i];
        }
    }
    if (found == NULL) {
        fail_msg("no object %s", path);
    }
    return found;
}

static int
has_obj(const seen_t *s, const char *path)
{
    unsigned    i;

    for (i = 0; i < s->n; i++) {
        if (strcmp(s->o[i].path, path) == 0) {
            return 1;
        }
    }
    return 0;
}

static void
scan_ok(fx_t *f, const msg_t *m)
{
    hg_mail_scan_t *ms = hg_mail_scan_new(f->db, 0);
    hg_err_t        err;

    assert_non_null(ms);
    err.msg[0] = '\0';
    if (scan(ms, &f->seen, m, 0, NULL, &err) != HG_OK) {
        fail_msg("scan: %s", err.msg);
    }
    hg_mail_scan_free(ms);
}

/* ---- tests ---- */

static void
test_mail_scan_base64_part_is_one_object_with_one_reading(void **state)
{
    fx_t           *f = *state;
    msg_t           m;
    const obj_t    *o;
    unsigned char   d[32];

    msg_start(&m, 0);
    msg_b64(&m, f->b, FILE_LEN);
    msg_end(&m);
    scan_ok(f, &m);
    assert_int_equal(f->seen.n, 2);
    o = obj_at(&f->seen, "2");
    assert_int_equal(o->kind, HG_MAIL_PART);
    assert_int_equal(o->nreadings, 1);
    assert_int_equal(o->st[0], HG_OK);
    assert_string_equal(o->line_ends[0], "");
    assert_string_equal(o->list[0], "lf");
    sha256(f->b, FILE_LEN, d);
    assert_memory_equal(o->sha256[0], d, 32);
    assert_string_equal(obj_at(&f->seen, "1")->list[0], "");
}

/* Mail as SMTP carries it: the raw part is also read with CRLF as LF. */
static void
test_mail_scan_raw_part_of_crlf_mail_also_read_with_lf(void **state)
{
    fx_t           *f = *state;
    msg_t           m;
    const obj_t    *o;
    unsigned char   crlf[2 * FILE_LEN], d[32];
    size_t          n = to_crlf(f->f1, FILE_LEN, crlf);

    msg_start(&m, 0);
    msg_part(&m, "8bit", crlf, n);
    msg_end(&m);
    scan_ok(f, &m);
    o = obj_at(&f->seen, "2");
    assert_int_equal(o->nreadings, 2);
    assert_string_equal(o->line_ends[0], "");
    assert_string_equal(o->list[0], "");
    assert_int_equal(o->size[0], n);
    assert_string_equal(o->line_ends[1], "LF");
    assert_string_equal(o->list[1], "lf");
    sha256(f->f1, FILE_LEN, d);
    assert_memory_equal(o->sha256[1], d, 32);
    assert_int_equal(o->size[1], FILE_LEN);
}

/* Mail from a Unix mailbox: the raw part is also read with LF as CRLF. */
static void
test_mail_scan_raw_part_of_lf_mail_also_read_with_crlf(void **state)
{
    fx_t           *f = *state;
    msg_t           m;
    const obj_t    *o;

    msg_start(&m, 1);
    msg_part(&m, "binary", f->f2, FILE_LEN);
    msg_end(&m);
    scan_ok(f, &m);
    o = obj_at(&f->seen, "2");
    assert_int_equal(o->nreadings, 2);
    assert_string_equal(o->list[0], "");
    assert_string_equal(o->line_ends[1], "CRLF");
    assert_string_equal(o->list[1], "crlf");
    assert_int_equal(o->size[1], FILE_LEN + FILE_LEN / 100);
}

/* Both forms listed: both readings come in the one object of the part. */
static void
test_mail_scan_both_readings_of_a_part_in_one_object(void **state)
{
    fx_t           *f = *state;
    msg_t           m;
    const obj_t    *o;
    unsigned char   crlf[2 * FILE_LEN];
    size_t          n = to_crlf(f->f3, FILE_LEN, crlf);

    msg_start(&m, 0);
    msg_part(&m, "7bit", crlf, n);
    msg_end(&m);
    scan_ok(f, &m);
    assert_int_equal(f->seen.n, 2);
    o = obj_at(&f->seen, "2");
    assert_int_equal(o->nreadings, 2);
    assert_string_equal(o->list[0], "crlf");
    assert_string_equal(o->list[1], "lf");
}

/* Converting changes nothing (no line end in the part): one reading. */
static void
test_mail_scan_raw_part_without_line_ends_has_one_reading(void **state)
{
    fx_t           *f = *state;
    msg_t           m;
    const obj_t    *o;

    msg_start(&m, 0);
    msg_part(&m, "8bit", f->b, FILE_LEN);
    msg_end(&m);
    scan_ok(f, &m);
    o = obj_at(&f->seen, "2");
    assert_int_equal(o->nreadings, 1);
    assert_string_equal(o->list[0], "lf");
}

/* A uuencoded block inside a text part: an object of its own, first. */
static void
test_mail_scan_uuencoded_block_is_an_object_before_its_part(void **state)
{
    fx_t           *f = *state;
    msg_t           m;
    const obj_t    *o;
    char            line[64];
    size_t          i, k, j;
    unsigned        v, c, six;

    m.n = 0;
    m.lf = 0;
    text(&m, "From: sender@example.org\nSubject: uu\n\nhello\n"
         "begin 644 c.bin\n");
    for (i = 0; i < UU_LEN; i += 45) {
        k = UU_LEN - i < 45 ? UU_LEN - i : 45;
        line[0] = (char) (32 + k);
        for (j = 0; j < k; j += 3) {
            v = (unsigned) f->uu[i + j] << 16
                | (j + 1 < k ? (unsigned) f->uu[i + j + 1] << 8 : 0)
                | (j + 2 < k ? f->uu[i + j + 2] : 0);
            for (c = 0; c < 4; c++) {
                six = (v >> (18 - 6 * c)) & 63;
                line[1 + j / 3 * 4 + c] = (char) (six ? six + 32 : '`');
            }
        }
        line[1 + (k + 2) / 3 * 4] = '\0';
        text(&m, line);
        text(&m, "\n");
    }
    text(&m, "`\nend\nbye\n");
    scan_ok(f, &m);
    assert_int_equal(f->seen.n, 2);
    assert_string_equal(f->seen.o[0].path, "1.u1");
    assert_string_equal(f->seen.o[1].path, "1");
    o = &f->seen.o[0];
    assert_int_equal(o->kind, HG_MAIL_BLOCK);
    assert_int_equal(o->nreadings, 1);
    assert_string_equal(o->list[0], "lf");
    assert_int_equal(o->size[0], UU_LEN);
    /* the text part around it: 7bit, so read with LF too */
    assert_int_equal(f->seen.o[1].kind, HG_MAIL_PART);
    assert_int_equal(f->seen.o[1].nreadings, 2);
}

/*
 * Quoted-printable with its hard line breaks padded: "2.d1" (padding
 * deleted) is the listed text, handed over as a copy; unpadded, "2.d1"
 * would be the part's own bytes and is not handed over.
 */
static void
test_mail_scan_qp_copy_handed_over_only_when_it_holds_new_bytes(void **state)
{
    fx_t           *f = *state;
    msg_t           m;
    const obj_t    *o;
    static const char padded[] = "synthetic quoted-printable line one \t \r\n"
                                 "synthetic quoted-printable line two  \r\n"
                                 "and a last line";

    msg_start(&m, 0);
    msg_part(&m, "quoted-printable", padded, strlen(padded));
    msg_end(&m);
    scan_ok(f, &m);
    o = obj_at(&f->seen, "2.d1");
    assert_int_equal(o->kind, HG_MAIL_COPY_STRIP);
    assert_int_equal(o->nreadings, 1);
    assert_string_equal(o->list[0], "lf");
    assert_string_equal(obj_at(&f->seen, "2")->list[0], "");
    assert_int_equal(obj_at(&f->seen, "2")->nreadings, 1);  /* decoded */
    assert_int_equal(obj_at(&f->seen, "2.d2")->kind, HG_MAIL_COPY_EOL);
    assert_int_equal(obj_at(&f->seen, "2.d3")->kind, HG_MAIL_COPY_BOTH);

    msg_start(&m, 0);
    msg_part(&m, "quoted-printable", qp_text, strlen(qp_text));
    msg_end(&m);
    scan_ok(f, &m);
    assert_string_equal(obj_at(&f->seen, "2")->list[0], "lf");
    assert_false(has_obj(&f->seen, "2.d1"));
    assert_false(has_obj(&f->seen, "2.d3"));
    /* its hard line breaks as LF are new bytes: "2.d2" is judged */
    assert_true(has_obj(&f->seen, "2.d2"));
}

/* The callback's stop ends the message there: no object after it. */
static void
test_mail_scan_callback_stop_ends_the_message(void **state)
{
    fx_t           *f = *state;
    msg_t           m;
    hg_mail_scan_t *ms = hg_mail_scan_new(f->db, 0);
    hg_err_t        err;

    assert_non_null(ms);
    msg_start(&m, 0);
    msg_b64(&m, f->b, FILE_LEN);
    msg_b64(&m, f->f1, FILE_LEN);
    msg_end(&m);
    f->seen.cancel_at = 1;
    err.msg[0] = '\0';
    assert_int_equal(scan(ms, &f->seen, &m, 0, NULL, &err), HG_ECANCEL);
    assert_int_equal(f->seen.n, 2);
    assert_non_null(strstr(err.msg, "part 2"));
    assert_non_null(strstr(err.msg, "stopped by the caller"));
    /* the context goes on with the next message */
    f->seen.cancel_at = -1;
    assert_int_equal(scan(ms, &f->seen, &m, 0, NULL, &err), HG_OK);
    assert_int_equal(f->seen.n, 3);
    hg_mail_scan_free(ms);
}

static void
test_mail_scan_limit_is_an_error_naming_it(void **state)
{
    fx_t               *f = *state;
    msg_t               m;
    hg_mail_scan_t     *ms = hg_mail_scan_new(f->db, 0);
    hg_unpack_limits_t  lim;
    hg_err_t            err;

    assert_non_null(ms);
    hg_unpack_limits_default(&lim);
    lim.max_parts = 1;
    msg_start(&m, 0);
    msg_b64(&m, f->b, FILE_LEN);
    msg_end(&m);
    err.msg[0] = '\0';
    assert_int_equal(scan(ms, &f->seen, &m, 0, &lim, &err), HG_ELIMIT);
    assert_non_null(strstr(err.msg, "max_parts"));
    hg_mail_scan_free(ms);
}

/* Byte by byte or at once: the same objects, readings and digests. */
static void
test_mail_scan_same_objects_whatever_the_chunking(void **state)
{
    fx_t           *f = *state;
    msg_t           m;
    hg_mail_scan_t *ms = hg_mail_scan_new(f->db, 0);
    hg_err_t        err;
    seen_t         *whole = calloc(1, sizeof(*whole));
    unsigned char   crlf[2 * FILE_LEN];
    size_t          n = to_crlf(f->f3, FILE_LEN, crlf), step;
    unsigned        i;
    static const char qp[] = "a =\r\nsoft break \r\nhard ";

    assert_non_null(ms);
    assert_non_null(whole);
    whole->cancel_at = -1;
    msg_start(&m, 0);
    msg_part(&m, "8bit", crlf, n);
    msg_part(&m, "quoted-printable", qp, strlen(qp));
    msg_b64(&m, f->b, FILE_LEN);
    msg_end(&m);
    assert_int_equal(scan(ms, whole, &m, 0, NULL, &err), HG_OK);
    assert_true(whole->n >= 5);
    for (step = 1; step < 8; step += 6) {
        assert_int_equal(scan(ms, &f->seen, &m, step, NULL, &err), HG_OK);
        assert_int_equal(f->seen.n, whole->n);
        for (i = 0; i < whole->n; i++) {
            assert_memory_equal(&f->seen.o[i], &whole->o[i], sizeof(obj_t));
        }
    }
    free(whole);
    hg_mail_scan_free(ms);
}

static void
test_mail_scan_needs_a_begun_message(void **state)
{
    fx_t           *f = *state;
    msg_t           m;
    hg_mail_scan_t *ms = hg_mail_scan_new(f->db, 0);
    hg_err_t        err;

    assert_non_null(ms);
    assert_ptr_equal(hg_mail_scan_db(ms), f->db);
    assert_int_equal(hg_mail_scan_feed(ms, "x", 1, &err), HG_EINVAL);
    assert_int_equal(hg_mail_scan_finish(ms, &err), HG_EINVAL);
    hg_mail_scan_abort(ms);     /* nothing open: no-op */

    /* a message dropped half-way hands over nothing more */
    msg_start(&m, 0);
    msg_b64(&m, f->b, FILE_LEN);
    msg_end(&m);
    f->seen.n = 0;
    assert_int_equal(hg_mail_scan_begin(ms, NULL, collect, &f->seen, &err),
                     HG_OK);
    assert_int_equal(hg_mail_scan_feed(ms, m.b, m.n / 2, &err), HG_OK);
    hg_mail_scan_abort(ms);
    assert_int_equal(f->seen.n, 1);
    assert_int_equal(hg_mail_scan_finish(ms, &err), HG_EINVAL);
    assert_int_equal(f->seen.n, 1);
    /* a finished message is closed */
    assert_int_equal(scan(ms, &f->seen, &m, 0, NULL, &err), HG_OK);
    assert_int_equal(hg_mail_scan_feed(ms, "x", 1, &err), HG_EINVAL);
    hg_mail_scan_free(ms);
    hg_mail_scan_free(NULL);
}

/* The context keeps its database: the caller's handle may go. */
static void
test_mail_scan_holds_its_database(void **state)
{
    fx_t           *f = *state;
    msg_t           m;
    hg_mail_scan_t *ms;
    hg_db_t        *db;
    hg_err_t        err;

    assert_int_equal(hg_db_open(f->path, 0, &db, &err), HG_OK);
    ms = hg_mail_scan_new(db, 0);
    assert_non_null(ms);
    hg_db_close(db);
    msg_start(&m, 0);
    msg_b64(&m, f->b, FILE_LEN);
    msg_end(&m);
    assert_int_equal(scan(ms, &f->seen, &m, 0, NULL, &err), HG_OK);
    assert_string_equal(obj_at(&f->seen, "2")->list[0], "lf");
    hg_mail_scan_free(ms);

    /* no database: digests only, every one asked for */
    ms = hg_mail_scan_new(NULL, HG_ALGS_ALL);
    assert_non_null(ms);
    assert_null(hg_mail_scan_db(ms));
    assert_int_equal(scan(ms, &f->seen, &m, 0, NULL, &err), HG_OK);
    assert_string_equal(obj_at(&f->seen, "2")->list[0], "");
    assert_int_equal(obj_at(&f->seen, "2")->size[0], FILE_LEN);
    hg_mail_scan_free(ms);
}

/*
 * The database truncated in place under the scan: each reading is handed
 * over with HG_EIO (not as clean), the converted one too, and the
 * message goes on when the callback says so. In a child: the SIGBUS guard
 * is process-wide and cmocka catches SIGBUS itself.
 */
static fx_t *lost_fx;

static void
child_lost(void)
{
    fx_t           *f = lost_fx;
    char            p[128];
    hg_db_t        *db;
    hg_err_t        err;
    hg_mail_scan_t *ms;
    hg_scan_t      *s;
    hg_scan_result_t res;
    msg_t           m;
    unsigned char   crlf[2 * FILE_LEN], obj[16];
    size_t          n = to_crlf(f->f1, FILE_LEN, crlf);
    unsigned        i;

    snprintf(p, sizeof(p), "%s/lost.hgdb", f->dir);
    if (hg_db_guard_install(&err) != HG_OK
        || hg_db_open(p, 0, &db, &err) != HG_OK
        || (ms = hg_mail_scan_new(db, 0)) == NULL
        || (s = hg_scan_new(db, 0)) == NULL)
    {
        _exit(3);
    }
    if (truncate(p, 4096) != 0) {
        _exit(3);
    }
    /* look rows up until one is on a lost page */
    for (i = 0; i < FILLER && !hg_db_lost(db); i += 97) {
        memset(obj, 0, sizeof(obj));
        memcpy(obj, &i, sizeof(i));
        (void) hg_scan_buffer(s, obj, sizeof(obj), &res);
    }
    if (!hg_db_lost(db)) {
        _exit(4);
    }
    msg_start(&m, 0);
    msg_part(&m, "8bit", crlf, n);
    msg_b64(&m, f->b, FILE_LEN);
    msg_end(&m);
    if (scan(ms, &f->seen, &m, 0, NULL, &err) != HG_OK || f->seen.n != 3) {
        _exit(5);
    }
    for (i = 0; i < f->seen.n; i++) {
        if (f->seen.o[i].st[0] != HG_EIO || f->seen.o[i].list[0][0] != '\0') {
            _exit(6);
        }
    }
    /* the raw part: its converted reading is not dropped unchecked */
    if (f->seen.o[1].nreadings != 2 || f->seen.o[1].st[1] != HG_EIO) {
        _exit(7);
    }
    _exit(0);
}

static void
test_mail_scan_reading_not_checked_is_handed_over_with_status(void **state)
{
    fx_t   *f = *state;
    char    p[128];
    pid_t   pid;
    int     status;

    snprintf(p, sizeof(p), "%s/lost.hgdb", f->dir);
    make_db(f, p, 1);
    lost_fx = f;
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGBUS, SIG_DFL);
        child_lost();
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    unlink(p);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

#define T(fn)  cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_mail_scan_base64_part_is_one_object_with_one_reading),
        T(test_mail_scan_raw_part_of_crlf_mail_also_read_with_lf),
        T(test_mail_scan_raw_part_of_lf_mail_also_read_with_crlf),
        T(test_mail_scan_both_readings_of_a_part_in_one_object),
        T(test_mail_scan_raw_part_without_line_ends_has_one_reading),
        T(test_mail_scan_uuencoded_block_is_an_object_before_its_part),
        T(test_mail_scan_qp_copy_handed_over_only_when_it_holds_new_bytes),
        T(test_mail_scan_callback_stop_ends_the_message),
        T(test_mail_scan_limit_is_an_error_naming_it),
        T(test_mail_scan_same_objects_whatever_the_chunking),
        T(test_mail_scan_needs_a_begun_message),
        T(test_mail_scan_holds_its_database),
        T(test_mail_scan_reading_not_checked_is_handed_over_with_status),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
