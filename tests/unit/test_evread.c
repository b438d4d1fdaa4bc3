/*
 * test_evread.c - evidence logs read back: what hg_record_format wrote
 * comes back field for field, from plain, gzip, xz and zstd files alike;
 * a torn last line, a record of an unknown version, a line that is not
 * ours, a record with a bad field and a line past the limit are each
 * named (file and line), counted and never read as a record; rotated files
 * are found oldest first.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hashgate/evread.h"
#include "hashgate/record.h"
#include "hashgate/scan.h"
#include "helper_tmpdir.h"

/* A whole record line (no newline) as the milter would write it. */
static const char  rec_mail[] =
    "{\"record_version\":1,\"time\":\"2026-11-25T10:15:00.123Z\","
    "\"channel\":\"smtp\",\"action\":\"reject\",\"monitor\":false,"
    "\"lists\":[{\"list\":\"hotline-a\",\"version\":\"2026-11\","
    "\"algorithm\":\"sha256\",\"digest\":"
    "\"9f2c000000000000000000000000000000000000000000000000000000000001\","
    "\"label\":null}],"
    "\"md5\":\"0123456789abcdef0123456789abcdef\","
    "\"sha256\":\"9f2c000000000000000000000000000000000000000000000000000000000001\","
    "\"size\":48213,\"part\":\"2!inner.tar!b/c.jpg\",\"inner_path\":\"b/c.jpg\","
    "\"filename\":\"c.jpg\",\"containers\":[{\"path\":\"2\",\"format\":\"zip\","
    "\"sha256\":\"aa00000000000000000000000000000000000000000000000000000000000002\","
    "\"size\":120334}],"
    "\"client_addr\":\"192.0.2.7\",\"client_name\":null,\"helo\":\"h.example\","
    "\"mail_from\":\"a@example.org\",\"rcpt_to\":[\"b@example.net\","
    "\"c@example.net\"],\"message_id\":\"<m1@example.org>\","
    "\"queue_id\":\"4F2A81C0D3\"}";

static int
group_setup(void **state)
{
    (void) state;
    return hg_test_tmpdir_make("evread");
}

static int
group_teardown(void **state)
{
    (void) state;
    return hg_test_tmpdir_remove();
}

static void
put_file(const char *name, const char *text, size_t len)
{
    FILE  *fp = fopen(hg_test_path(name), "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static void
put_text(const char *name, const char *text)
{
    put_file(name, text, strlen(text));
}

static void
sh(const char *fmt, ...)
{
    char     cmd[1024];
    va_list  ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    if (system(cmd) != 0) {
        fail_msg("command failed: %s", cmd);
    }
}

static hg_evread_t *
open_ok(const char *name)
{
    hg_evread_t  *r;
    hg_err_t      err;

    err.msg[0] = '\0';
    if (hg_evread_open(hg_test_path(name), &r, &err) != HG_OK) {
        fail_msg("open %s: %s", name, err.msg);
    }
    return r;
}

/* Read the next line, expecting kind k; err's text returned. */
static const char *
expect(hg_evread_t *r, hg_evrec_t *rec, hg_evread_kind_t k)
{
    static hg_err_t   err;
    hg_evread_kind_t  got;

    err.msg[0] = '\0';
    got = hg_evread_next(r, rec, &err);
    if (got != k) {
        fail_msg("expected %s, got %s (%s)", hg_evread_kind_name(k),
                 hg_evread_kind_name(got), err.msg);
    }
    return err.msg;
}

static void
contains(const char *s, const char *needle)
{
    if (strstr(s, needle) == NULL) {
        fail_msg("\"%s\" lacks \"%s\"", s, needle);
    }
}

static void
check_mail_record(const hg_evrec_t *r)
{
    const char  *p;

    assert_int_equal(r->version, 1);
    assert_string_equal(r->time, "2026-11-25T10:15:00.123Z");
    assert_true(r->time_ms == 1795601700123LL);
    assert_string_equal(r->channel, "smtp");
    assert_string_equal(r->action, "reject");
    assert_null(r->intended_action);
    assert_false(r->monitor);
    assert_int_equal(r->nlists, 1);
    assert_string_equal(r->lists[0].list, "hotline-a");
    assert_string_equal(r->lists[0].version, "2026-11");
    assert_string_equal(r->lists[0].algorithm, "sha256");
    assert_null(r->lists[0].label);
    assert_string_equal(r->d.md5, "0123456789abcdef0123456789abcdef");
    assert_null(r->d.sha1);
    assert_true(r->d.has_size && r->d.size == 48213);
    assert_string_equal(r->part, "2!inner.tar!b/c.jpg");
    assert_string_equal(r->inner_path, "b/c.jpg");
    assert_int_equal(r->ncontainers, 1);
    assert_string_equal(r->containers[0].path, "2");
    assert_string_equal(r->containers[0].format, "zip");
    assert_true(r->containers[0].d.size == 120334);
    assert_null(r->client_name);
    assert_string_equal(r->helo, "h.example");
    assert_int_equal(r->nrcpt, 2);
    p = r->rcpt_to;
    assert_string_equal(p, "b@example.net");
    p += strlen(p) + 1;
    assert_string_equal(p, "c@example.net");
    p += strlen(p) + 1;
    assert_string_equal(p, "");
    assert_string_equal(r->message_id, "<m1@example.org>");
    assert_string_equal(r->queue_id, "4F2A81C0D3");
    assert_null(r->request_id);
}

static void
test_evread_reads_back_what_the_writer_wrote(void **state)
{
    hg_scan_t         *scan;
    hg_scan_result_t   res;
    hg_verdict_t       v;
    hg_record_t        rec;
    hg_json_t          j;
    hg_evlog_t        *log;
    hg_err_t           err;
    hg_evread_t       *r;
    hg_evrec_t         e;
    char               sha[HG_HEX_MAX];

    (void) state;
    scan = hg_scan_new(NULL, HG_ALGS_ALL);
    assert_non_null(scan);
    assert_int_equal(hg_scan_buffer(scan, "synthetic", 9, &res), HG_OK);
    res.matches[0].list_name = "hotline-a";
    res.matches[0].list_version = "2026-11-01";
    res.matches[0].alg = HG_ALG_SHA256;
    res.matches[0].label = "cat \"A\"\n";
    /* the file's MD5 as the list gives it (here: any 16 bytes) */
    res.matches[0].listed.algs = HG_ALG_BIT(HG_ALG_MD5);
    memset(res.matches[0].listed.d[HG_ALG_MD5], 0xab, 16);
    res.nmatches = res.nmatches_total = 1;
    memset(&v, 0, sizeof(v));
    v.action = HG_ACT_LOG;
    v.intended = HG_ACT_HOLD;
    v.monitor = 1;
    memset(&rec, 0, sizeof(rec));
    rec.channel = "http";
    rec.part = "file";
    rec.filename = "photo\xFF.jpg";     /* written as U+FFFD */
    rec.res = &res;
    rec.verdict = &v;
    hg_record_add(&rec, "client_addr", "192.0.2.8");
    hg_record_add(&rec, "host", "up.example");
    hg_record_add(&rec, "method", "POST");
    hg_record_add(&rec, "uri", "/upload?a=\"b\"");
    hg_record_add(&rec, "request_id", "9c9c7b63aa");
    hg_json_init(&j);
    assert_int_equal(hg_record_format(&rec, &j), HG_OK);
    assert_int_equal(strncmp(j.buf, "{\"record_version\":1,\"time\":", 27), 0);
    unlink(hg_test_path("w.log"));
    assert_int_equal(hg_evlog_open(hg_test_path("w.log"), &log, &err), HG_OK);
    assert_int_equal(hg_evlog_write(log, &j, &err), HG_OK);
    assert_int_equal(hg_evlog_write(log, &j, &err), HG_OK);
    hg_evlog_close(log);

    r = open_ok("w.log");
    expect(r, &e, HG_EVREAD_RECORD);
    assert_int_equal(e.line, 1);
    assert_string_equal(e.channel, "http");
    assert_string_equal(e.action, "log");
    assert_string_equal(e.intended_action, "hold");
    assert_true(e.monitor);
    assert_string_equal(e.lists[0].label, "cat \"A\"\n");
    assert_string_equal(e.lists[0].version, "2026-11-01");
    hg_hex_encode(res.digests.d[HG_ALG_SHA256], 32, sha);
    assert_string_equal(e.d.sha256, sha);
    assert_string_equal(e.lists[0].digest, sha);
    assert_string_equal(e.lists[0].listed.md5, "abababababababababababababababab");
    assert_null(e.lists[0].listed.sha1);
    hg_hex_encode(res.digests.d[HG_ALG_SHA1], 20, sha);
    assert_string_equal(e.d.sha1, sha);
    assert_true(e.d.size == 9);
    assert_string_equal(e.filename, "photo\xEF\xBF\xBD.jpg");
    assert_string_equal(e.uri, "/upload?a=\"b\"");
    assert_string_equal(e.request_id, "9c9c7b63aa");
    assert_true(e.time_ms > 0);
    expect(r, &e, HG_EVREAD_RECORD);
    assert_int_equal(e.line, 2);
    expect(r, &e, HG_EVREAD_END);
    assert_true(hg_evread_counts(r)[HG_EVREAD_RECORD] == 2);
    hg_evread_close(r);
    hg_json_free(&j);
    hg_scan_free(scan);
}

static void
test_evread_reads_back_a_pdq_match(void **state)
{
    hg_scan_t          *scan;
    hg_scan_result_t    res;
    hg_verdict_t        v;
    hg_record_t         rec;
    hg_inspect_image_t  img;
    hg_json_t           j;
    hg_evlog_t         *log;
    hg_err_t            err;
    hg_evread_t        *r;
    hg_evrec_t          e, *d;

    (void) state;
    scan = hg_scan_new(NULL, HG_ALGS_ALL);
    assert_non_null(scan);
    assert_int_equal(hg_scan_buffer(scan, "synthetic", 9, &res), HG_OK);
    res.matches[0].list_name = "pdq-list";
    res.matches[0].list_version = "1";
    res.matches[0].pdq = 1;
    res.matches[0].pdq_distance = 9;
    res.matches[0].pdq_via = HG_PDQ_FLIP_Y;
    memset(res.matches[0].pdq_listed.b, 0xcd, HG_PDQ_BYTES);
    res.matches[0].pdq_listed_quality = 77;
    res.nmatches = res.nmatches_total = 1;
    memset(&img, 0, sizeof(img));
    img.format = HG_IMAGE_WEBP;
    img.st = HG_OK;
    img.dihedral = 1;
    img.pdq.quality = 64;
    memset(img.pdq.hash.b, 0x0f, HG_PDQ_BYTES);
    memset(img.pdq.dihedral[HG_PDQ_FLIP_Y].b, 0xf0, HG_PDQ_BYTES);
    memset(&v, 0, sizeof(v));
    v.action = v.intended = HG_ACT_REJECT;
    memset(&rec, 0, sizeof(rec));
    rec.channel = "smtp";
    rec.part = "2";
    rec.res = &res;
    rec.verdict = &v;
    rec.image = &img;
    hg_json_init(&j);
    assert_int_equal(hg_record_format(&rec, &j), HG_OK);
    unlink(hg_test_path("pdq.log"));
    assert_int_equal(hg_evlog_open(hg_test_path("pdq.log"), &log, &err),
                     HG_OK);
    assert_int_equal(hg_evlog_write(log, &j, &err), HG_OK);
    hg_evlog_close(log);

    /* a record, not a problem: "pdq" is an algorithm the reader knows */
    r = open_ok("pdq.log");
    expect(r, &e, HG_EVREAD_RECORD);
    assert_int_equal(e.nlists, 1);
    assert_string_equal(e.lists[0].algorithm, "pdq");
    assert_string_equal(e.lists[0].digest, "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0"
                        "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0");
    assert_true(e.lists[0].has_distance && e.lists[0].distance == 9);
    assert_string_equal(e.lists[0].dihedral, "flipy");
    assert_string_equal(e.lists[0].listed_pdq, "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
                        "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd");
    assert_true(e.lists[0].has_listed_quality
                && e.lists[0].listed_quality == 77);
    assert_string_equal(e.image_format, "webp");
    assert_string_equal(e.image_pdq, "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"
                        "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f");
    assert_true(e.has_image_quality && e.image_quality == 64);
    /* a copy keeps them */
    d = hg_evrec_dup(&e);
    assert_non_null(d);
    assert_string_equal(d->lists[0].listed_pdq, e.lists[0].listed_pdq);
    assert_string_equal(d->lists[0].dihedral, "flipy");
    assert_string_equal(d->image_pdq, e.image_pdq);
    hg_evrec_free(d);
    expect(r, &e, HG_EVREAD_END);
    hg_evread_close(r);
    hg_json_free(&j);
    hg_scan_free(scan);
}

static void
test_evread_gzip_xz_zstd_read_like_plain(void **state)
{
    char         text[4096];
    const char  *names[] = { "z.log.gz", "z.log.xz", "z.log.zst",
                             "z.log.cat.gz" };
    hg_evread_t *r;
    hg_evrec_t   e;
    size_t       i, n;

    (void) state;
    snprintf(text, sizeof(text), "%s\n%s\n", rec_mail, rec_mail);
    put_text("z.log", text);
    sh("gzip -c %s > %s", hg_test_path("z.log"), hg_test_path("z.log.gz"));
    sh("xz -c %s > %s", hg_test_path("z.log"), hg_test_path("z.log.xz"));
    sh("zstd -q -c %s > %s", hg_test_path("z.log"), hg_test_path("z.log.zst"));
    /* gzip members one after another are one stream to gzip -d */
    sh("cat %s %s > %s", hg_test_path("z.log.gz"), hg_test_path("z.log.gz"),
       hg_test_path("z.log.cat.gz"));
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        r = open_ok(names[i]);
        for (n = 0; hg_evread_next(r, &e, NULL) == HG_EVREAD_RECORD; n++) {
            check_mail_record(&e);
            assert_int_equal(e.line, n + 1);
            assert_string_equal(e.file, hg_test_path(names[i]));
        }
        assert_int_equal(n, i == 3 ? 4 : 2);
        assert_true(hg_evread_counts(r)[HG_EVREAD_ERROR] == 0);
        hg_evread_close(r);
    }
}

static void
test_evread_compression_is_known_by_bytes_not_name(void **state)
{
    char         text[4096];
    hg_evread_t *r;
    hg_evrec_t   e;

    (void) state;
    snprintf(text, sizeof(text), "%s\n", rec_mail);
    put_text("plain.gz", text);
    sh("gzip -c %s > %s", hg_test_path("plain.gz"), hg_test_path("gz.log"));
    r = open_ok("plain.gz");
    expect(r, &e, HG_EVREAD_RECORD);
    check_mail_record(&e);
    hg_evread_close(r);
    r = open_ok("gz.log");
    expect(r, &e, HG_EVREAD_RECORD);
    check_mail_record(&e);
    expect(r, &e, HG_EVREAD_END);
    hg_evread_close(r);
}

static void
test_evread_torn_last_line_is_named_and_skipped(void **state)
{
    char         text[8192];
    const char  *why;
    hg_evread_t *r;
    hg_evrec_t   e;

    (void) state;
    /* the third record lost its end, as a crash mid-write leaves it */
    snprintf(text, sizeof(text), "%s\n%s\n%.*s", rec_mail, rec_mail,
             (int) sizeof(rec_mail) / 2, rec_mail);
    put_text("torn.log", text);
    sh("gzip -c %s > %s", hg_test_path("torn.log"), hg_test_path("torn.gz"));
    r = open_ok("torn.log");
    expect(r, &e, HG_EVREAD_RECORD);
    expect(r, &e, HG_EVREAD_RECORD);
    why = expect(r, &e, HG_EVREAD_TORN);
    contains(why, hg_test_path("torn.log"));
    contains(why, ":3: torn last line");
    expect(r, &e, HG_EVREAD_END);
    assert_true(hg_evread_counts(r)[HG_EVREAD_TORN] == 1);
    hg_evread_close(r);

    /* even a whole object without its newline: the write did not finish */
    snprintf(text, sizeof(text), "%s\n%s", rec_mail, rec_mail);
    put_text("torn2.log", text);
    r = open_ok("torn2.log");
    expect(r, &e, HG_EVREAD_RECORD);
    contains(expect(r, &e, HG_EVREAD_TORN), ":2: torn last line");
    hg_evread_close(r);

    r = open_ok("torn.gz");
    expect(r, &e, HG_EVREAD_RECORD);
    expect(r, &e, HG_EVREAD_RECORD);
    contains(expect(r, &e, HG_EVREAD_TORN), "torn.gz:3: torn last line");
    hg_evread_close(r);
}

static void
test_evread_compressed_file_cut_short_is_an_error_after_what_was_read(void **state)
{
    static char  text[512 * 1024];
    char         name[32];
    const char  *tools[] = { "gzip -c", "xz -c", "zstd -q -c" };
    const char  *ext[] = { "gz", "xz", "zst" };
    const char  *why;
    hg_evread_t *r;
    hg_evrec_t   e;
    struct stat  st;
    size_t       i, len = 0;
    int          n;

    (void) state;
    /* many records, in more than one block of compressed data */
    while (len + sizeof(rec_mail) + 1 < sizeof(text)) {
        len += (size_t) snprintf(text + len, sizeof(text) - len, "%s\n",
                                 rec_mail);
    }
    put_text("many.log", text);
    for (i = 0; i < 3; i++) {
        snprintf(name, sizeof(name), "cut.%s", ext[i]);
        sh("%s %s > %s", tools[i], hg_test_path("many.log"),
           hg_test_path(name));
        assert_int_equal(stat(hg_test_path(name), &st), 0);
        assert_int_equal(truncate(hg_test_path(name), st.st_size - 12), 0);
        r = open_ok(name);
        for (n = 0; hg_evread_next(r, &e, NULL) == HG_EVREAD_RECORD; n++) {
        }
        /* the error came instead of the end: read again to see it */
        hg_evread_close(r);
        r = open_ok(name);
        do {
            hg_err_t          err;
            hg_evread_kind_t  k;

            err.msg[0] = '\0';
            k = hg_evread_next(r, &e, &err);
            if (k == HG_EVREAD_RECORD) {
                continue;
            }
            if (k != HG_EVREAD_ERROR && k != HG_EVREAD_TORN) {
                fail_msg("%s: %s instead of an error", name,
                         hg_evread_kind_name(k));
            }
            why = err.msg;
            contains(why, hg_test_path(name));
            if (k == HG_EVREAD_ERROR) {
                contains(why, "cut short");
                break;
            }
        } while (1);
        assert_true(hg_evread_counts(r)[HG_EVREAD_ERROR] == 1);
        assert_true(n > 0);
        expect(r, &e, HG_EVREAD_END);
        hg_evread_close(r);
    }
}

static void
test_evread_unknown_version_is_skipped_naming_its_mail(void **state)
{
    char         text[8192];
    const char  *why;
    hg_evread_t *r;
    hg_evrec_t   e;

    (void) state;
    snprintf(text, sizeof(text),
             "{\"record_version\":2,\"time\":\"2026-11-25T10:15:00Z\","
             "\"channel\":\"smtp\",\"size\":\"a new meaning\","
             "\"queue_id\":\"ABC123\",\"message_id\":\"<x@y>\"}\n"
             "{\"record_version\":\"two\",\"time\":\"2026-11-25T10:15:00Z\","
             "\"channel\":\"http\",\"request_id\":\"r1\"}\n%s\n", rec_mail);
    put_text("v2.log", text);
    r = open_ok("v2.log");
    why = expect(r, &e, HG_EVREAD_VERSION);
    contains(why, "v2.log:1: a record of version 2");
    assert_int_equal(e.version, 2);
    assert_string_equal(e.queue_id, "ABC123");
    assert_string_equal(e.message_id, "<x@y>");
    assert_string_equal(e.channel, "smtp");
    assert_null(e.action);
    why = expect(r, &e, HG_EVREAD_VERSION);
    contains(why, "v2.log:2: a record whose record_version is not a number");
    assert_string_equal(e.request_id, "r1");
    expect(r, &e, HG_EVREAD_RECORD);
    check_mail_record(&e);
    assert_int_equal(e.line, 3);
    assert_true(hg_evread_counts(r)[HG_EVREAD_VERSION] == 2);
    hg_evread_close(r);
}

static void
test_evread_a_record_without_version_is_version_1(void **state)
{
    char         text[8192];
    hg_evread_t *r;
    hg_evrec_t   e;

    (void) state;
    /* as written before record_version existed */
    snprintf(text, sizeof(text), "{%s\n", rec_mail + strlen("{\"record_version\":1,"));
    put_text("v0.log", text);
    r = open_ok("v0.log");
    expect(r, &e, HG_EVREAD_RECORD);
    check_mail_record(&e);
    hg_evread_close(r);
}

static void
test_evread_lines_not_ours_are_skipped_and_counted(void **state)
{
    char         text[8192];
    const char  *why;
    hg_evread_t *r;
    hg_evrec_t   e;

    (void) state;
    snprintf(text, sizeof(text),
             "192.0.2.1 - - [25/Nov/2026:10:15:00 +0000] \"GET / HTTP/1.1\" 200 1\n"
             "{\"time\":\"2026-11-25T10:15:00Z\",\"status\":200}\n"
             "[1,2,3]\n"
             "\n"
             "   \r\n"
             "{\"msg\":\"something else\"\n"
             "%s\n", rec_mail);
    put_text("foreign.log", text);
    r = open_ok("foreign.log");
    why = expect(r, &e, HG_EVREAD_FOREIGN);
    contains(why, "foreign.log:1: not a hashgate record");
    why = expect(r, &e, HG_EVREAD_FOREIGN);
    contains(why, "foreign.log:2: not a hashgate record (no time and channel)");
    contains(expect(r, &e, HG_EVREAD_FOREIGN), ":3:");
    /* blank lines are passed over, but counted in the line numbers */
    why = expect(r, &e, HG_EVREAD_FOREIGN);
    contains(why, "foreign.log:6: not a hashgate record (broken JSON)");
    expect(r, &e, HG_EVREAD_RECORD);
    assert_int_equal(e.line, 7);
    check_mail_record(&e);
    expect(r, &e, HG_EVREAD_END);
    assert_true(hg_evread_counts(r)[HG_EVREAD_FOREIGN] == 4);
    assert_true(hg_evread_counts(r)[HG_EVREAD_RECORD] == 1);
    hg_evread_close(r);
}

/*
 * One line into a file of its own; the kind and message it reads as. e
 * stays valid until the next call (the reader is kept open until then).
 */
static hg_evread_kind_t
read_one(const char *line, hg_evrec_t *e, char *why, size_t wlen)
{
    static hg_evread_t  *r;
    hg_err_t             err;
    hg_evread_kind_t     k;
    char                 text[16384];

    hg_evread_close(r);
    snprintf(text, sizeof(text), "%s\n", line);
    put_text("one.log", text);
    r = open_ok("one.log");
    err.msg[0] = '\0';
    k = hg_evread_next(r, e, &err);
    snprintf(why, wlen, "%s", err.msg);
    return k;
}

static void
test_evread_a_record_with_a_bad_field_is_never_a_record(void **state)
{
    static const struct {
        const char  *line;
        const char  *why;
    } bad[] = {
        { "{\"time\":\"2026-11-25T10:15:00Z\",\"channel\":\"smtp\","
          "\"size\":\"12\",\"queue_id\":\"Q1\"}",
          "\"size\" is not a non-negative integer" },
        { "{\"time\":\"2026-11-25T10:15:00Z\",\"channel\":\"smtp\","
          "\"sha256\":\"9f2c\",\"queue_id\":\"Q1\"}",
          "\"sha256\" is not a digest of its length" },
        { "{\"time\":\"2026-11-25T10:15:00Z\",\"channel\":\"smtp\","
          "\"queue_id\":\"Q1\",\"queue_id\":\"Q2\"}",
          "\"queue_id\" appears twice" },
        { "{\"time\":\"2026-11-25 10:15\",\"channel\":\"smtp\","
          "\"queue_id\":\"Q1\"}",
          "\"time\" is not an RFC 3339 UTC time" },
        { "{\"time\":\"2026-11-25T10:15:00+02:00\",\"channel\":\"smtp\","
          "\"queue_id\":\"Q1\"}",
          "\"time\" is not an RFC 3339 UTC time" },
        { "{\"time\":\"2026-11-25T10:15:00Z\",\"channel\":\"smtp\","
          "\"queue_id\":\"Q1\",\"lists\":[{\"list\":\"a\",\"algorithm\":"
          "\"sha256\",\"digest\":\"00\"}]}",
          "has a digest not of its length" },
        { "{\"time\":\"2026-11-25T10:15:00Z\",\"channel\":\"smtp\","
          "\"queue_id\":\"Q1\",\"lists\":{}}",
          "\"lists\" is not an array" },
        { "{\"time\":\"2026-11-25T10:15:00Z\",\"channel\":\"smtp\","
          "\"queue_id\":\"Q1\",\"filename\":\"a\\u0000b\"}",
          "holds a NUL character" },
        { "{\"time\":\"2026-11-25T10:15:00Z\",\"channel\":\"smtp\","
          "\"queue_id\":\"Q1\",\"monitor\":1}",
          "\"monitor\" is not true or false" },
        { "{\"record_version\":1,\"channel\":\"smtp\",\"queue_id\":\"Q1\"}",
          "no time" },
        /* a torn record with the next one written after it */
        { "{\"time\":\"2026-11-25T10:15:00Z\",\"channel\":\"smtp\","
          "\"queue_id\":\"Q1\",\"md5\":\"01{\"time\":\"x\"}",
          "JSON breaks off" },
        { "{\"time\":\"2026-11-25T10:15:00Z\",\"channel\":\"smtp\","
          "\"queue_id\":\"Q1\"} trailing",
          "JSON breaks off (text after the JSON value)" },
    };
    hg_evrec_t  e;
    char        why[HG_ERR_MAX];
    size_t      i;

    (void) state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (read_one(bad[i].line, &e, why, sizeof(why)) != HG_EVREAD_BAD) {
            fail_msg("line %zu read as not BAD: %s", i, why);
        }
        contains(why, "one.log:1: a record");
        contains(why, bad[i].why);
        assert_string_equal(e.queue_id, "Q1");
        assert_string_equal(e.channel, "smtp");
        /* nothing a report could use is left */
        assert_null(e.action);
        assert_null(e.d.sha256);
        assert_int_equal(e.nlists, 0);
    }
}

static void
test_evread_a_value_longer_than_read_is_bad_not_cut(void **state)
{
    char        line[12000], why[HG_ERR_MAX];
    hg_evrec_t  e;
    int         n;

    (void) state;
    n = snprintf(line, sizeof(line), "{\"time\":\"2026-11-25T10:15:00Z\","
                 "\"channel\":\"http\",\"request_id\":\"R1\",\"uri\":\"/");
    memset(line + n, 'a', 5000);
    snprintf(line + n + 5000, sizeof(line) - (size_t) n - 5000, "\"}");
    assert_int_equal(read_one(line, &e, why, sizeof(why)), HG_EVREAD_BAD);
    contains(why, "\"uri\" is longer than hashgate reads");
    assert_string_equal(e.request_id, "R1");
}

static void
test_evread_invalid_utf8_reads_as_replacement_characters(void **state)
{
    char        line[8192], why[HG_ERR_MAX];
    hg_evrec_t  e;
    int         n;

    (void) state;
    /* 3000 bytes that are not UTF-8: 9000 bytes of U+FFFD */
    n = snprintf(line, sizeof(line), "{\"time\":\"2026-11-25T10:15:00Z\","
                 "\"channel\":\"http\",\"filename\":\"");
    memset(line + n, 0xFF, 3000);
    snprintf(line + n + 3000, sizeof(line) - (size_t) n - 3000, "\"}");
    assert_int_equal(read_one(line, &e, why, sizeof(why)), HG_EVREAD_BAD);
    contains(why, "\"filename\" is longer than hashgate reads");
    memset(line + n, 0xFF, 1000);
    snprintf(line + n + 1000, sizeof(line) - (size_t) n - 1000, "\"}");
    assert_int_equal(read_one(line, &e, why, sizeof(why)), HG_EVREAD_RECORD);
    assert_int_equal(strlen(e.filename), 3000);
    assert_memory_equal(e.filename, "\xEF\xBF\xBD", 3);
}

static void
test_evread_a_line_over_the_limit_is_skipped_whole(void **state)
{
    FILE        *fp;
    char        *big;
    const char  *why;
    hg_evread_t *r;
    hg_evrec_t   e;

    (void) state;
    big = malloc(HG_EVREAD_LINE_MAX + 100);
    assert_non_null(big);
    memset(big, 'x', HG_EVREAD_LINE_MAX + 100);
    fp = fopen(hg_test_path("long.log"), "wb");
    assert_non_null(fp);
    fprintf(fp, "%s\n", rec_mail);
    fwrite(big, 1, HG_EVREAD_LINE_MAX + 100, fp);
    fprintf(fp, "\n%s\n", rec_mail);
    /* a line just at the limit is read (and is not ours) */
    fwrite(big, 1, HG_EVREAD_LINE_MAX, fp);
    fprintf(fp, "\n");
    fclose(fp);
    free(big);
    r = open_ok("long.log");
    expect(r, &e, HG_EVREAD_RECORD);
    why = expect(r, &e, HG_EVREAD_LONG);
    contains(why, "long.log:2: a line longer than");
    expect(r, &e, HG_EVREAD_RECORD);
    assert_int_equal(e.line, 3);
    check_mail_record(&e);
    contains(expect(r, &e, HG_EVREAD_FOREIGN), "long.log:4:");
    expect(r, &e, HG_EVREAD_END);
    hg_evread_close(r);
}

static void
test_evread_refuses_bzip2_and_missing_files_naming_them(void **state)
{
    hg_evread_t  *r;
    hg_err_t      err;

    (void) state;
    put_text("b.log.bz2", "BZh91AY&SY");
    assert_int_equal(hg_evread_open(hg_test_path("b.log.bz2"), &r, &err),
                     HG_EIO);
    contains(err.msg, "b.log.bz2: compressed with bzip2");
    assert_int_equal(hg_evread_open(hg_test_path("nothing.log"), &r, &err),
                     HG_EIO);
    contains(err.msg, "nothing.log: cannot open");
    /* an empty file is a log with no records */
    put_text("empty.log", "");
    r = open_ok("empty.log");
    assert_int_equal(hg_evread_next(r, NULL, NULL), HG_EVREAD_END);
    hg_evread_close(r);
}

static void
test_evread_dup_outlives_the_next_line(void **state)
{
    char         text[8192];
    hg_evread_t *r;
    hg_evrec_t   e, *c;

    (void) state;
    snprintf(text, sizeof(text), "%s\n{\"time\":\"2027-01-01T00:00:00Z\","
             "\"channel\":\"http\",\"request_id\":\"zzzzzzzzzzzzzzzzzzzz\","
             "\"filename\":\"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\"}\n", rec_mail);
    put_text("dup.log", text);
    r = open_ok("dup.log");
    expect(r, &e, HG_EVREAD_RECORD);
    c = hg_evrec_dup(&e);
    assert_non_null(c);
    expect(r, &e, HG_EVREAD_RECORD);
    check_mail_record(c);
    assert_string_equal(c->file, hg_test_path("dup.log"));
    hg_evrec_free(c);
    hg_evread_close(r);
}

static void
test_time_parse_rfc3339_takes_utc_only(void **state)
{
    int64_t  ms;

    (void) state;
    assert_int_equal(hg_time_parse_rfc3339("1970-01-01T00:00:00Z", &ms), 0);
    assert_true(ms == 0);
    assert_int_equal(hg_time_parse_rfc3339("2026-11-25T10:15:00.5Z", &ms), 0);
    assert_true(ms == 1795601700500LL);
    assert_int_equal(hg_time_parse_rfc3339("2026-11-25T10:15:00+00:00", &ms), 0);
    assert_true(ms == 1795601700000LL);
    assert_int_equal(hg_time_parse_rfc3339("2024-02-29T00:00:00Z", &ms), 0);
    assert_int_equal(hg_time_parse_rfc3339("2026-02-29T00:00:00Z", &ms), -1);
    assert_int_equal(hg_time_parse_rfc3339("2026-11-25T10:15:00", &ms), -1);
    assert_int_equal(hg_time_parse_rfc3339("2026-11-25T10:15:00+01:00", &ms), -1);
    assert_int_equal(hg_time_parse_rfc3339("2026-11-25T25:15:00Z", &ms), -1);
    assert_int_equal(hg_time_parse_rfc3339("2026-11-25T10:15:00.Z", &ms), -1);
    assert_int_equal(hg_time_parse_rfc3339("2026-11-25", &ms), -1);
    assert_int_equal(hg_time_parse_rfc3339("1969-12-31T23:59:59Z", &ms), -1);
    assert_int_equal(hg_time_parse_rfc3339(NULL, &ms), -1);
}

static void
test_evread_rotated_files_come_oldest_first(void **state)
{
    char    **paths;
    size_t    n, i;
    hg_err_t  err;
    const char *want[] = { "ev.log-20261001.gz", "ev.log-20261101",
                           "ev.log.3.xz", "ev.log.2.gz", "ev.log.1", "ev.log" };

    (void) state;
    put_text("ev.log", "");
    put_text("ev.log.1", "");
    put_text("ev.log.2.gz", "");
    put_text("ev.log.3.xz", "");
    put_text("ev.log-20261101", "");
    put_text("ev.log-20261001.gz", "");
    /* not rotations of ev.log */
    put_text("ev.log.old", "");
    put_text("ev.log.1.bak", "");
    put_text("ev.logx", "");
    put_text("ev.log.2.gz.tmp", "");
    mkdir(hg_test_path("ev.log.9"), 0700);
    assert_int_equal(hg_evread_rotated(hg_test_path("ev.log"), &paths, &n,
                                       &err), HG_OK);
    rmdir(hg_test_path("ev.log.9"));
    assert_int_equal(n, 6);
    for (i = 0; i < n; i++) {
        assert_string_equal(paths[i], hg_test_path(want[i]));
    }
    assert_null(paths[n]);
    hg_evread_paths_free(paths);

    assert_int_equal(hg_evread_rotated("/nonexistent-dir/ev.log", &paths, &n,
                                       &err), HG_EIO);
    contains(err.msg, "/nonexistent-dir/");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_evread_reads_back_what_the_writer_wrote),
        cmocka_unit_test(test_evread_reads_back_a_pdq_match),
        cmocka_unit_test(test_evread_gzip_xz_zstd_read_like_plain),
        cmocka_unit_test(test_evread_compression_is_known_by_bytes_not_name),
        cmocka_unit_test(test_evread_torn_last_line_is_named_and_skipped),
        cmocka_unit_test(test_evread_compressed_file_cut_short_is_an_error_after_what_was_read),
        cmocka_unit_test(test_evread_unknown_version_is_skipped_naming_its_mail),
        cmocka_unit_test(test_evread_a_record_without_version_is_version_1),
        cmocka_unit_test(test_evread_lines_not_ours_are_skipped_and_counted),
        cmocka_unit_test(test_evread_a_record_with_a_bad_field_is_never_a_record),
        cmocka_unit_test(test_evread_a_value_longer_than_read_is_bad_not_cut),
        cmocka_unit_test(test_evread_invalid_utf8_reads_as_replacement_characters),
        cmocka_unit_test(test_evread_a_line_over_the_limit_is_skipped_whole),
        cmocka_unit_test(test_evread_refuses_bzip2_and_missing_files_naming_them),
        cmocka_unit_test(test_evread_dup_outlives_the_next_line),
        cmocka_unit_test(test_time_parse_rfc3339_takes_utc_only),
        cmocka_unit_test(test_evread_rotated_files_come_oldest_first),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
