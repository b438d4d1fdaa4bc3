/*
 * test_mail_scan_inspect.c - archives in the mail fan-out: a container
 * part (or uuencoded block) is spooled as it streams, sent to a helper
 * after the part itself was handed over, and each file the helper reports
 * becomes an object of its own with its part path ("2!in.tar!b/y.jpg"),
 * name, match and chain of containers (each with its own digests); files
 * that cannot be hashed and damaged containers are "not checked"; a limit
 * or a failed helper is a failure object naming the limit; the files and
 * bytes limits are per message; a stop asked for by the caller stops the
 * inspection too.
 *
 * The helper is played by this file: hg_inspect_run below stands in for
 * the library's (the test binary's own definition is the one linked), and
 * hands over the entries a test scripted, after checking that the spooled
 * bytes are the part's. The spool and hg_scan_match are the library's.
 * Files are seeded random bytes.
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

#include "hashgate/db.h"
#include "hashgate/hash.h"
#include "hashgate/mail_scan.h"
#include "helper_inspect.h"

#define ZIP_LEN     3000
#define FILE_LEN    700
#define MSG_MAX     (64 * 1024)
#define MAX_OBJ     32
#define MAX_ENT     8
#define MAX_RUNS    8

/* ---- the helper, as scripted by a test ---- */

typedef struct {
    unsigned        depth;
    const char     *path;
    const char     *chain;
    const char     *name;
    const char     *format;
    unsigned        flags;
    const unsigned char *data;      /* hashed for its digests, or NULL */
    size_t          len;
} script_ent_t;

typedef struct {
    script_ent_t        ent[MAX_ENT];
    size_t              nent;
    hg_status_t         st;         /* how the run ends */
    hg_inspect_limit_t  limit;
    uint64_t            files, bytes;
} script_t;

static struct {
    script_t            run[MAX_RUNS];  /* one per container part, in turn */
    size_t              nrun;
    size_t              calls;
    hg_inspect_limits_t lim[MAX_RUNS];  /* the limits each call was given */
    const unsigned char *want;      /* the spooled bytes expected */
    size_t              want_len;
    hg_status_t         cb_st;      /* what the last callback returned */
    int                 borrowed;   /* helpers out, to check give_back */
    int                 refuse;     /* borrow returns NULL */
} fake;

hg_status_t
hg_inspect_run(hg_inspector_t *in, int fd, uint64_t size, unsigned algs,
               const hg_inspect_limits_t *lim, hg_inspect_entry_pt cb,
               void *ctx, hg_inspect_done_t *done)
{
    script_t           *s;
    hg_inspect_entry_t  e;
    size_t              i;
    hg_status_t         st;

    assert_ptr_equal(in, &fake);
    assert_true(algs & HG_ALG_BIT(HG_ALG_SHA256));
    assert_true(fake.calls < fake.nrun);
    fake.lim[fake.calls] = *lim;
    s = &fake.run[fake.calls++];
    if (fake.want != NULL) {
        assert_int_equal(size, fake.want_len);
        hgt_assert_fd_holds(fd, fake.want, size);
    }
    memset(done, 0, sizeof(*done));
    for (i = 0; i < s->nent; i++) {
        memset(&e, 0, sizeof(e));
        e.depth = s->ent[i].depth;
        e.path = s->ent[i].path;
        e.chain = s->ent[i].chain;
        e.name = s->ent[i].name;
        e.format = s->ent[i].format;
        e.flags = s->ent[i].flags;
        e.size = s->ent[i].len;
        if (s->ent[i].data != NULL) {
            hgt_digests(s->ent[i].data, s->ent[i].len, &e.digests);
        }
        done->files++;
        done->bytes += e.size;
        if ((st = cb(ctx, &e)) != HG_OK) {
            fake.cb_st = st;
            done->st = st;
            return st;
        }
    }
    if (s->files != 0 || s->bytes != 0) {
        done->files = s->files;
        done->bytes = s->bytes;
    }
    done->st = s->st;
    done->limit = s->limit;
    if (s->st != HG_OK) {
        snprintf(done->why, sizeof(done->why), "scripted %s",
                 hg_status_str(s->st));
    }
    return done->st;
}

static hg_inspector_t *
borrow(void *pool, hg_err_t *err)
{
    if (fake.refuse) {
        hg_err_set(err, HG_EIO, "cannot start the helper");
        return NULL;
    }
    fake.borrowed++;
    return pool;
}

static void
give_back(void *pool, hg_inspector_t *in)
{
    assert_ptr_equal(pool, in);
    fake.borrowed--;
}

/* ---- what the callback was handed ---- */

typedef struct {
    char            path[96];
    char            filename[64];
    hg_mail_kind_t  kind;
    hg_status_t     st;
    char            list[16];
    unsigned char   sha256[32];
    uint64_t        size;
    char            inner_path[64];
    char            not_checked[16];
    int             encrypted;
    size_t          ncont;
    char            cont_path[4][32];
    char            cont_format[4][16];
    unsigned char   cont_sha256[4][32];
    hg_inspect_limit_t limit;
    int             has_done;
} obj_t;

typedef struct {
    obj_t           o[MAX_OBJ];
    unsigned        n;
    int             cancel_at;
} seen_t;

static hg_status_t
collect(void *ctx, const hg_mail_object_t *obj)
{
    seen_t                  *s = ctx;
    obj_t                   *o;
    const hg_mail_inner_t   *in = obj->inner;
    const hg_mail_reading_t *r = &obj->reading[0];
    size_t                   i;

    assert_true(s->n < MAX_OBJ);
    o = &s->o[s->n];
    memset(o, 0, sizeof(*o));
    snprintf(o->path, sizeof(o->path), "%s", obj->info->path);
    snprintf(o->filename, sizeof(o->filename), "%s",
             obj->info->filename != NULL ? obj->info->filename : "");
    o->kind = obj->kind;
    o->st = r->st;
    if (r->st == HG_OK && r->res.nmatches > 0) {
        snprintf(o->list, sizeof(o->list), "%s", r->res.matches[0].list_name);
    }
    if (r->st == HG_OK) {
        memcpy(o->sha256, r->res.digests.d[HG_ALG_SHA256], 32);
        o->size = r->res.digests.size;
    }
    assert_true((in != NULL) == (obj->kind == HG_MAIL_INNER
                                 || obj->kind == HG_MAIL_INSPECT_FAILED));
    if (in != NULL) {
        snprintf(o->inner_path, sizeof(o->inner_path), "%s",
                 in->inner_path != NULL ? in->inner_path : "");
        snprintf(o->not_checked, sizeof(o->not_checked), "%s",
                 in->not_checked != NULL ? in->not_checked : "");
        o->encrypted = in->encrypted;
        o->ncont = in->ncontainers;
        for (i = 0; i < in->ncontainers && i < 4; i++) {
            snprintf(o->cont_path[i], sizeof(o->cont_path[i]), "%s",
                     in->containers[i].path);
            snprintf(o->cont_format[i], sizeof(o->cont_format[i]), "%s",
                     in->containers[i].format != NULL
                     ? in->containers[i].format : "");
            memcpy(o->cont_sha256[i],
                   in->containers[i].digests->d[HG_ALG_SHA256], 32);
        }
        o->has_done = in->done != NULL;
        if (in->done != NULL) {
            o->limit = in->done->limit;
        }
    }
    return (int) s->n++ == s->cancel_at ? HG_ECANCEL : HG_OK;
}

/* ---- fixtures ---- */

typedef struct {
    unsigned char   zip[ZIP_LEN], zip2[ZIP_LEN];    /* "PK\3\4" + bytes */
    unsigned char   plain[FILE_LEN];
    unsigned char   x[FILE_LEN], y[FILE_LEN], tar[FILE_LEN];
    hg_db_t        *db;
    hg_mail_scan_t *ms;
    hg_mail_inspect_t mi;
    seen_t          seen;
} fx_t;

static int
setup(void **state)
{
    fx_t                  *f = calloc(1, sizeof(*f));
    const unsigned char   *listed[1];
    size_t                 len[1] = { FILE_LEN };
    hg_err_t               err;

    assert_non_null(f);
    hgt_fill_as(f->zip, ZIP_LEN, 1, "PK\x03\x04");
    hgt_fill_as(f->zip2, ZIP_LEN, 2, "PK\x03\x04");
    hgt_fill_as(f->plain, FILE_LEN, 3, NULL);   /* no container */
    hgt_fill(f->x, FILE_LEN, 4);
    hgt_fill(f->y, FILE_LEN, 5);
    hgt_fill(f->tar, FILE_LEN, 6);

    listed[0] = f->y;
    f->db = hgt_db_listing("inner", listed, len, 1);
    f->ms = hg_mail_scan_new(f->db, HG_ALGS_ALL);
    assert_non_null(f->ms);

    memset(&fake, 0, sizeof(fake));
    f->mi.borrow = borrow;
    f->mi.give_back = give_back;
    f->mi.pool = &fake;
    hg_inspect_limits_default(&f->mi.limits);
    assert_int_equal(hg_mail_scan_set_inspect(f->ms, &f->mi, &err), HG_OK);
    f->seen.cancel_at = -1;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx_t  *f = *state;

    assert_int_equal(fake.borrowed, 0);
    hg_mail_scan_free(f->ms);
    hg_db_close(f->db);
    free(f);
    return 0;
}

/* ---- messages ---- */

typedef struct {
    char    b[MSG_MAX];
    size_t  n;
} msg_t;

static void
put(msg_t *m, const char *s)
{
    size_t  n = strlen(s);

    assert_true(m->n + n <= sizeof(m->b));
    memcpy(m->b + m->n, s, n);
    m->n += n;
}

static void
b64(msg_t *m, const unsigned char *p, size_t n)
{
    static const char  a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "abcdefghijklmnopqrstuvwxyz0123456789+/";
    char               q[5];
    size_t             i, col = 0;
    uint32_t           v;

    for (i = 0; i < n; i += 3) {
        v = (uint32_t) p[i] << 16;
        v |= i + 1 < n ? (uint32_t) p[i + 1] << 8 : 0;
        v |= i + 2 < n ? p[i + 2] : 0;
        q[0] = a[v >> 18];
        q[1] = a[(v >> 12) & 63];
        q[2] = i + 1 < n ? a[(v >> 6) & 63] : '=';
        q[3] = i + 2 < n ? a[v & 63] : '=';
        q[4] = '\0';
        put(m, q);
        if ((col += 4) == 76) {
            put(m, "\r\n");
            col = 0;
        }
    }
    put(m, "\r\n");
}

/* A text part "1", then each attachment in turn ("2", "3", ...). */
static void
msg(msg_t *m, const unsigned char *const *att, const size_t *len, size_t n)
{
    size_t  i;

    m->n = 0;
    put(m, "From: a@example.org\r\nTo: b@example.net\r\nSubject: s\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n");
    for (i = 0; i < n; i++) {
        put(m, "--b\r\nContent-Type: application/octet-stream\r\n"
            "Content-Disposition: attachment; filename=\"a.bin\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n");
        b64(m, att[i], len[i]);
    }
    put(m, "--b--\r\n");
}

static hg_status_t
scan(fx_t *f, const msg_t *m, size_t step)
{
    hg_err_t    err;
    hg_status_t st;
    size_t      off, n;

    err.msg[0] = '\0';
    st = hg_mail_scan_begin(f->ms, NULL, collect, &f->seen, &err);
    assert_int_equal(st, HG_OK);
    for (off = 0; off < m->n && st == HG_OK; off += n) {
        n = step == 0 || m->n - off < step ? m->n - off : step;
        st = hg_mail_scan_feed(f->ms, m->b + off, n, &err);
    }
    if (st == HG_OK) {
        st = hg_mail_scan_finish(f->ms, &err);
    }
    hg_mail_scan_abort(f->ms);
    return st;
}

static void
one_zip(fx_t *f, msg_t *m)
{
    const unsigned char  *att[] = { f->zip };
    size_t                len[] = { ZIP_LEN };

    msg(m, att, len, 1);
    fake.want = f->zip;
    fake.want_len = ZIP_LEN;
}

static script_ent_t
ent(unsigned depth, const char *path, const char *chain, const char *name,
    const char *format, unsigned flags, const unsigned char *data)
{
    script_ent_t  e;

    e.depth = depth;
    e.path = path;
    e.chain = chain;
    e.name = name;
    e.format = format;
    e.flags = flags;
    e.data = data;
    e.len = data != NULL ? FILE_LEN : 4242;
    return e;
}

/* zip part 2: a/x.jpg, in.tar (a tar), in.tar's b/y.jpg (listed) */
static void
script_nested(fx_t *f, script_t *s)
{
    s->ent[0] = ent(1, "a/x.jpg", "!a/x.jpg", "x.jpg", "zip", 0, f->x);
    s->ent[1] = ent(1, "in.tar", "!in.tar", "in.tar", "zip",
                    HG_INSPECT_F_CONTAINER, f->tar);
    s->ent[2] = ent(2, "b/y.jpg", "!in.tar!b/y.jpg", "y.jpg", "tar", 0, f->y);
    s->nent = 3;
}

static void
sha(const unsigned char *p, size_t n, unsigned char out[32])
{
    hg_digests_t  d;

    hgt_digests(p, n, &d);
    memcpy(out, d.d[HG_ALG_SHA256], 32);
}

/* ---- tests ---- */

static void
test_inner_files_follow_their_part_with_path_name_and_chain(void **state)
{
    fx_t           *f = *state;
    msg_t          *m = malloc(sizeof(*m));
    unsigned char   want[32];
    obj_t          *o;
    size_t          step;

    assert_non_null(m);
    one_zip(f, m);
    /* the same objects however the message is chunked */
    for (step = 0; step <= 7; step += 7) {
        f->seen.n = 0;
        fake.nrun = 1;
        fake.calls = 0;
        script_nested(f, &fake.run[0]);
        assert_int_equal(scan(f, m, step), HG_OK);
        assert_int_equal(fake.calls, 1);
        assert_int_equal(f->seen.n, 5);

        assert_string_equal(f->seen.o[0].path, "1");
        o = &f->seen.o[1];
        assert_string_equal(o->path, "2");
        assert_int_equal(o->kind, HG_MAIL_PART);

        o = &f->seen.o[2];
        assert_int_equal(o->kind, HG_MAIL_INNER);
        assert_string_equal(o->path, "2!a/x.jpg");
        assert_string_equal(o->filename, "x.jpg");
        assert_string_equal(o->inner_path, "a/x.jpg");
        assert_string_equal(o->list, "");
        assert_int_equal(o->size, FILE_LEN);
        sha(f->x, FILE_LEN, want);
        assert_memory_equal(o->sha256, want, 32);
        assert_int_equal(o->ncont, 1);
        assert_string_equal(o->cont_path[0], "2");
        assert_string_equal(o->cont_format[0], "zip");
        sha(f->zip, ZIP_LEN, want);
        assert_memory_equal(o->cont_sha256[0], want, 32);
        assert_false(o->has_done);

        o = &f->seen.o[3];
        assert_string_equal(o->path, "2!in.tar");
        assert_int_equal(o->ncont, 1);

        o = &f->seen.o[4];
        assert_string_equal(o->path, "2!in.tar!b/y.jpg");
        assert_string_equal(o->filename, "y.jpg");
        assert_string_equal(o->inner_path, "b/y.jpg");
        assert_string_equal(o->list, "inner");
        assert_int_equal(o->ncont, 2);
        assert_string_equal(o->cont_path[0], "2");
        assert_memory_equal(o->cont_sha256[0], want, 32);
        assert_string_equal(o->cont_path[1], "in.tar");
        assert_string_equal(o->cont_format[1], "tar");
        sha(f->tar, FILE_LEN, want);
        assert_memory_equal(o->cont_sha256[1], want, 32);
    }
    free(m);
}

static void
test_encrypted_and_unreadable_files_are_not_checked(void **state)
{
    fx_t   *f = *state;
    msg_t  *m = malloc(sizeof(*m));
    obj_t  *o;

    assert_non_null(m);
    one_zip(f, m);
    fake.nrun = 1;
    fake.run[0].ent[0] = ent(1, "s/plan.pdf", "!s/plan.pdf", "plan.pdf", "zip",
                             HG_INSPECT_F_ENCRYPTED, NULL);
    fake.run[0].ent[1] = ent(1, "odd.bin", "!odd.bin", "odd.bin", "zip",
                             HG_INSPECT_F_UNREADABLE, NULL);
    fake.run[0].nent = 2;
    assert_int_equal(scan(f, m, 0), HG_OK);
    assert_int_equal(f->seen.n, 4);
    o = &f->seen.o[2];
    assert_int_equal(o->kind, HG_MAIL_INNER);
    assert_string_equal(o->path, "2!s/plan.pdf");
    assert_string_equal(o->not_checked, "encrypted");
    assert_true(o->encrypted);
    assert_int_equal(o->size, 4242);
    assert_int_equal(o->st, HG_OK);
    o = &f->seen.o[3];
    assert_string_equal(o->not_checked, "unreadable");
    assert_false(o->encrypted);
    free(m);
}

static void
test_limit_or_dead_helper_is_a_failure_naming_it(void **state)
{
    fx_t   *f = *state;
    msg_t  *m = malloc(sizeof(*m));
    obj_t  *o;

    assert_non_null(m);
    one_zip(f, m);
    fake.nrun = 2;
    fake.run[0].ent[0] = ent(1, "a/x.jpg", "!a/x.jpg", "x.jpg", "zip", 0,
                             f->x);
    fake.run[0].nent = 1;
    fake.run[0].st = HG_ELIMIT;
    fake.run[0].limit = HG_INSPECT_LIMIT_RATIO;
    assert_int_equal(scan(f, m, 0), HG_OK);
    assert_int_equal(f->seen.n, 4);
    assert_string_equal(f->seen.o[2].path, "2!a/x.jpg");
    o = &f->seen.o[3];
    assert_int_equal(o->kind, HG_MAIL_INSPECT_FAILED);
    assert_string_equal(o->path, "2");
    assert_int_equal(o->st, HG_ELIMIT);
    assert_true(o->has_done);
    assert_int_equal(o->limit, HG_INSPECT_LIMIT_RATIO);
    assert_int_equal(o->ncont, 1);

    f->seen.n = 0;
    fake.run[1].st = HG_EIO;
    assert_int_equal(scan(f, m, 0), HG_OK);
    assert_int_equal(f->seen.n, 3);
    assert_int_equal(f->seen.o[2].kind, HG_MAIL_INSPECT_FAILED);
    assert_int_equal(f->seen.o[2].st, HG_EIO);

    /* no helper to be had: the same */
    f->seen.n = 0;
    fake.refuse = 1;
    assert_int_equal(scan(f, m, 0), HG_OK);
    assert_int_equal(fake.calls, 2);
    assert_int_equal(f->seen.n, 3);
    assert_int_equal(f->seen.o[2].kind, HG_MAIL_INSPECT_FAILED);
    assert_int_equal(f->seen.o[2].st, HG_EIO);
    free(m);
}

static void
test_damaged_container_keeps_files_before_then_unreadable(void **state)
{
    fx_t   *f = *state;
    msg_t  *m = malloc(sizeof(*m));
    obj_t  *o;

    assert_non_null(m);
    one_zip(f, m);
    fake.nrun = 1;
    script_nested(f, &fake.run[0]);
    fake.run[0].st = HG_EFORMAT;
    assert_int_equal(scan(f, m, 0), HG_OK);
    assert_int_equal(f->seen.n, 6);
    assert_string_equal(f->seen.o[4].list, "inner");
    o = &f->seen.o[5];
    assert_int_equal(o->kind, HG_MAIL_INNER);
    assert_string_equal(o->path, "2");
    assert_string_equal(o->not_checked, "unreadable");
    assert_false(o->encrypted);
    assert_true(o->has_done);
    assert_int_equal(o->st, HG_OK);
    free(m);
}

/* The files and bytes limits are the message's: each container gets what
 * those before it left, and a new message starts afresh. */
static void
test_files_and_bytes_budget_is_per_message(void **state)
{
    fx_t                 *f = *state;
    msg_t                *m = malloc(sizeof(*m));
    const unsigned char  *att[] = { f->zip, f->zip2, f->zip };
    size_t                len[] = { ZIP_LEN, ZIP_LEN, ZIP_LEN };
    hg_err_t              err;

    assert_non_null(m);
    f->mi.limits.max_files = 5;
    f->mi.limits.max_bytes = 1000000;
    assert_int_equal(hg_mail_scan_set_inspect(f->ms, &f->mi, &err), HG_OK);
    msg(m, att, len, 3);
    fake.nrun = 3;
    fake.run[0].files = 3;
    fake.run[0].bytes = 1000;
    fake.run[1].files = 2;
    fake.run[1].bytes = 10;
    assert_int_equal(scan(f, m, 0), HG_OK);
    assert_int_equal(fake.calls, 2);
    assert_int_equal(fake.lim[0].max_files, 5);
    assert_int_equal(fake.lim[0].max_bytes, 1000000);
    assert_int_equal(fake.lim[1].max_files, 2);
    assert_int_equal(fake.lim[1].max_bytes, 999000);
    /* the third finds nothing left: a limit, no helper asked */
    assert_int_equal(f->seen.n, 5);
    assert_string_equal(f->seen.o[4].path, "4");
    assert_int_equal(f->seen.o[4].kind, HG_MAIL_INSPECT_FAILED);
    assert_int_equal(f->seen.o[4].st, HG_ELIMIT);
    assert_int_equal(f->seen.o[4].limit, HG_INSPECT_LIMIT_FILES);

    f->seen.n = 0;
    fake.calls = 0;
    fake.run[0].files = fake.run[1].files = 0;
    fake.run[0].bytes = fake.run[1].bytes = 0;
    assert_int_equal(scan(f, m, 0), HG_OK);
    assert_int_equal(fake.calls, 3);
    assert_int_equal(fake.lim[2].max_files, 5);
    free(m);
}

static void
test_only_containers_go_to_the_helper(void **state)
{
    fx_t                 *f = *state;
    msg_t                *m = malloc(sizeof(*m));
    const unsigned char  *att[] = { f->plain, f->plain };
    size_t                len[] = { FILE_LEN, FILE_LEN };

    assert_non_null(m);
    msg(m, att, len, 2);
    assert_int_equal(scan(f, m, 0), HG_OK);
    assert_int_equal(fake.calls, 0);
    assert_int_equal(f->seen.n, 3);
    free(m);
}

/* A reject on the part needs no look inside; a stop on a file inside
 * stops the message there. */
static void
test_a_stop_on_the_part_or_a_file_stops_the_inspection(void **state)
{
    fx_t   *f = *state;
    msg_t  *m = malloc(sizeof(*m));

    assert_non_null(m);
    one_zip(f, m);
    fake.nrun = 2;
    script_nested(f, &fake.run[0]);
    script_nested(f, &fake.run[1]);
    f->seen.cancel_at = 1;
    assert_int_equal(scan(f, m, 0), HG_ECANCEL);
    assert_int_equal(fake.calls, 0);
    assert_int_equal(f->seen.n, 2);

    f->seen.n = 0;
    f->seen.cancel_at = 2;
    assert_int_equal(scan(f, m, 0), HG_ECANCEL);
    assert_int_equal(fake.calls, 1);
    assert_int_equal(fake.cb_st, HG_ECANCEL);
    assert_int_equal(f->seen.n, 3);
    free(m);
}

static void
test_uuencoded_container_block_is_opened(void **state)
{
    fx_t           *f = *state;
    msg_t          *m = malloc(sizeof(*m));
    unsigned char   line[64];
    size_t          i, k, n;
    char            out[128];

    assert_non_null(m);
    m->n = 0;
    put(m, "From: a@example.org\r\nSubject: uu\r\n\r\nhere it is\r\n"
        "begin 644 a.zip\r\n");
    for (i = 0; i < ZIP_LEN; i += n) {
        n = ZIP_LEN - i < 45 ? ZIP_LEN - i : 45;
        memcpy(line, f->zip + i, n);
        memset(line + n, 0, 3);
        out[0] = (char) (32 + n);
        for (k = 0; k < (n + 2) / 3; k++) {
            const unsigned char  *p = line + 3 * k;
            unsigned              c[4], j;

            c[0] = p[0] >> 2;
            c[1] = ((p[0] & 3) << 4) | (p[1] >> 4);
            c[2] = ((p[1] & 15) << 2) | (p[2] >> 6);
            c[3] = p[2] & 63;
            for (j = 0; j < 4; j++) {
                out[1 + 4 * k + j] = (char) (c[j] ? c[j] + 32 : '`');
            }
        }
        out[1 + 4 * k] = '\0';
        put(m, out);
        put(m, "\r\n");
    }
    put(m, "`\r\nend\r\n");
    fake.want = f->zip;
    fake.want_len = ZIP_LEN;
    fake.nrun = 1;
    script_nested(f, &fake.run[0]);
    assert_int_equal(scan(f, m, 0), HG_OK);
    assert_int_equal(fake.calls, 1);
    assert_int_equal(f->seen.n, 5);
    assert_string_equal(f->seen.o[0].path, "1.u1");
    assert_string_equal(f->seen.o[1].path, "1.u1!a/x.jpg");
    assert_string_equal(f->seen.o[3].path, "1.u1!in.tar!b/y.jpg");
    assert_string_equal(f->seen.o[3].list, "inner");
    assert_string_equal(f->seen.o[4].path, "1");
    free(m);
}

static void
test_container_over_the_file_size_limit_is_a_failure(void **state)
{
    fx_t       *f = *state;
    msg_t      *m = malloc(sizeof(*m));
    hg_err_t    err;

    assert_non_null(m);
    f->mi.limits.max_file_bytes = ZIP_LEN - 1;
    assert_int_equal(hg_mail_scan_set_inspect(f->ms, &f->mi, &err), HG_OK);
    one_zip(f, m);
    fake.nrun = 1;
    assert_int_equal(scan(f, m, 0), HG_OK);
    assert_int_equal(fake.calls, 0);
    assert_int_equal(f->seen.n, 3);
    assert_int_equal(f->seen.o[2].kind, HG_MAIL_INSPECT_FAILED);
    assert_int_equal(f->seen.o[2].st, HG_ELIMIT);
    assert_int_equal(f->seen.o[2].limit, HG_INSPECT_LIMIT_FILE_BYTES);
    free(m);
}

static void
test_archives_off_sends_nothing(void **state)
{
    fx_t   *f = *state;
    msg_t  *m = malloc(sizeof(*m));

    assert_non_null(m);
    assert_int_equal(hg_mail_scan_set_inspect(f->ms, NULL, NULL), HG_OK);
    one_zip(f, m);
    assert_int_equal(scan(f, m, 0), HG_OK);
    assert_int_equal(fake.calls, 0);
    assert_int_equal(f->seen.n, 2);
    free(m);
}

/* A file that is no message (hashgate scan on a .zip): the object and
 * its files, the files' paths "!a/x.jpg" under an empty part path. */
static void
test_plain_object_is_opened_too(void **state)
{
    fx_t            *f = *state;
    hg_part_info_t   info;
    size_t           i;

    memset(&info, 0, sizeof(info));
    info.path = "";
    info.filename = "photos.zip";
    fake.want = f->zip;
    fake.want_len = ZIP_LEN;
    fake.nrun = 1;
    script_nested(f, &fake.run[0]);
    assert_int_equal(hg_mail_scan_object_begin(f->ms, &info, collect,
                                               &f->seen), HG_OK);
    for (i = 0; i < ZIP_LEN; i += 1000) {
        assert_int_equal(hg_mail_scan_object_feed(f->ms, f->zip + i, 1000),
                         HG_OK);
    }
    assert_int_equal(hg_mail_scan_object_end(f->ms), HG_OK);
    assert_int_equal(f->seen.n, 4);
    assert_string_equal(f->seen.o[0].path, "");
    assert_int_equal(f->seen.o[0].size, ZIP_LEN);
    assert_string_equal(f->seen.o[1].path, "!a/x.jpg");
    assert_string_equal(f->seen.o[3].path, "!in.tar!b/y.jpg");
    assert_string_equal(f->seen.o[3].list, "inner");
    assert_string_equal(f->seen.o[3].cont_path[0], "");
    assert_int_equal(hg_mail_scan_object_end(f->ms), HG_EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_inner_files_follow_their_part_with_path_name_and_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encrypted_and_unreadable_files_are_not_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_or_dead_helper_is_a_failure_naming_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_container_keeps_files_before_then_unreadable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_and_bytes_budget_is_per_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_only_containers_go_to_the_helper, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_stop_on_the_part_or_a_file_stops_the_inspection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uuencoded_container_block_is_opened, setup, teardown),
        cmocka_unit_test_setup_teardown(test_container_over_the_file_size_limit_is_a_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_archives_off_sends_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plain_object_is_opened_too, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
