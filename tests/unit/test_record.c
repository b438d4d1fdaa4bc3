/*
 * test_record.c - evidence records carry the fields ARCHITECTURE.md names
 * and never the content; the evidence log is append-only, mode 0640, and a
 * short write (file size limit standing in for a full disk) leaves no half
 * record behind.
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
#include <signal.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "hashgate/record.h"
#include "hashgate/scan.h"
#include "json_check.h"

/* Bytes no record may ever contain. */
static const char  content[] = "CONTENT-MARKER-never-in-a-record";

typedef struct {
    hg_scan_t         *scan;
    hg_scan_result_t   res;
    hg_verdict_t       v;
    hg_record_t        rec;
    hg_json_t          j;
    char               dir[64];
} fx_t;

static int
setup(void **state)
{
    fx_t  *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->scan = hg_scan_new(NULL, HG_ALGS_ALL);
    assert_non_null(f->scan);
    assert_int_equal(hg_scan_buffer(f->scan, content, sizeof(content) - 1,
                                    &f->res), HG_OK);
    f->res.matches[0].list = 0;
    f->res.matches[0].list_name = "hotline-a";
    f->res.matches[0].list_version = "2026-11-01";
    f->res.matches[0].kind = HG_LIST_BLOCK;
    f->res.matches[0].alg = HG_ALG_SHA256;
    f->res.matches[0].label = "cat \"A\"\n";
    f->res.nmatches = f->res.nmatches_total = 1;

    f->v.action = HG_ACT_REJECT;
    f->v.intended = HG_ACT_REJECT;
    f->v.matched = 1;
    f->v.list = "hotline-a";

    f->rec.channel = "smtp";
    f->rec.part = "2.1";
    f->rec.filename = "photo\xFF.jpg";
    f->rec.declared_type = "image/jpeg";
    f->rec.detected_type = "text/plain";
    f->rec.encoding = "base64";
    f->rec.res = &f->res;
    f->rec.verdict = &f->v;
    hg_json_init(&f->j);
    strcpy(f->dir, "/tmp/hg-record-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx_t  *f = *state;
    char   cmd[128];

    hg_scan_free(f->scan);
    hg_json_free(&f->j);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void
format_ok(fx_t *f)
{
    assert_int_equal(hg_record_format(&f->rec, &f->j), HG_OK);
    assert_int_equal(jc_validate(f->j.buf, f->j.len), 0);
    assert_non_null(strchr(f->j.buf, '\n'));
    assert_ptr_equal(strchr(f->j.buf, '\n'), f->j.buf + f->j.len - 1);
}

static void
has(const fx_t *f, const char *needle)
{
    if (strstr(f->j.buf, needle) == NULL) {
        fail_msg("record lacks %s: %s", needle, f->j.buf);
    }
}

static void
lacks(const fx_t *f, const char *needle)
{
    if (strstr(f->j.buf, needle) != NULL) {
        fail_msg("record has %s: %s", needle, f->j.buf);
    }
}

static void
test_record_has_every_field_in_order(void **state)
{
    fx_t        *f = *state;
    char         sha[HG_HEX_MAX], want[256];
    const char  *order[] = { "\"time\":", "\"channel\":\"smtp\"",
        "\"action\":\"reject\"", "\"monitor\":false", "\"lists\":[",
        "\"md5\":", "\"sha1\":", "\"sha256\":", "\"size\":32",
        "\"part\":\"2.1\"", "\"filename\":", "\"declared_type\":\"image/jpeg\"",
        "\"detected_type\":\"text/plain\"", "\"encoding\":\"base64\"",
        "\"client_addr\":\"192.0.2.7\"", "\"queue_id\":\"4Xyz\"" };
    const char  *p, *q;
    size_t       i;

    hg_record_add(&f->rec, "client_addr", "192.0.2.7");
    hg_record_add(&f->rec, "queue_id", "4Xyz");
    format_ok(f);
    /* the version first: a reader knows how to read the rest */
    assert_int_equal(strncmp(f->j.buf, "{\"record_version\":1,\"time\":", 27),
                     0);
    p = f->j.buf;
    for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        q = strstr(p, order[i]);
        if (q == NULL) {
            fail_msg("missing or out of order: %s in %s", order[i], f->j.buf);
        }
        p = q;
    }
    hg_hex_encode(f->res.digests.d[HG_ALG_SHA256], 32, sha);
    snprintf(want, sizeof(want), "{\"list\":\"hotline-a\",\"version\":"
             "\"2026-11-01\",\"algorithm\":\"sha256\",\"digest\":\"%s\","
             "\"label\":\"cat \\\"A\\\"\\n\"}", sha);
    has(f, want);
    has(f, "\"filename\":\"photo\xEF\xBF\xBD.jpg\"");
    lacks(f, "intended_action");
    lacks(f, "allowed_by");
    lacks(f, "held_at");
}

static void
test_record_time_is_rfc3339_utc_with_millis(void **state)
{
    char  t[40];

    (void) state;
    hg_time_rfc3339(t, sizeof(t));
    assert_int_equal(strlen(t), 24);
    assert_true(t[4] == '-' && t[7] == '-' && t[10] == 'T' && t[13] == ':'
                && t[16] == ':' && t[19] == '.' && t[23] == 'Z');
    assert_true(strncmp(t, "20", 2) == 0);
}

static void
test_record_never_contains_content(void **state)
{
    fx_t  *f = *state;

    assert_non_null(f->res.head);
    assert_memory_equal(f->res.head, content, sizeof(content) - 1);
    format_ok(f);
    lacks(f, "CONTENT-MARKER");
    lacks(f, "head");
}

static void
test_record_monitor_gives_intended_action(void **state)
{
    fx_t  *f = *state;

    f->v.action = HG_ACT_LOG;
    f->v.intended = HG_ACT_HOLD;
    f->v.monitor = 1;
    format_ok(f);
    has(f, "\"action\":\"log\",\"intended_action\":\"hold\",\"monitor\":true");

    /* a log list in monitor mode: nothing differs, still monitor */
    f->v.intended = HG_ACT_LOG;
    f->v.monitor = 1;
    format_ok(f);
    has(f, "\"action\":\"log\",\"intended_action\":\"log\",\"monitor\":true");
}

/* The verdict fields of a part's record: its own verdict (v), what its
 * message got (fin). Formats the record of f with them. */
static hg_verdict_t
part_in(fx_t *f, hg_action_t own, const hg_verdict_t *fin)
{
    hg_verdict_t  part, v;

    memset(&part, 0, sizeof(part));
    part.action = own;
    part.intended = own;
    part.matched = 1;
    part.list = "a-list";
    part.monitor = fin->monitor;
    v = hg_record_verdict(&part, fin);
    f->rec.verdict = &v;
    format_ok(f);
    f->rec.verdict = &f->v;
    return v;
}

static hg_verdict_t
final_of(hg_action_t action, hg_action_t intended, int monitor,
         hg_status_t failed)
{
    hg_verdict_t  fin;

    memset(&fin, 0, sizeof(fin));
    fin.action = action;
    fin.intended = intended;
    fin.matched = 1;
    fin.list = "the-strongest";
    fin.monitor = monitor;
    fin.failed = failed != HG_OK;
    fin.fail_status = failed;
    return fin;
}

/* A form or mail with a part on a log list and one on a reject list: both
 * records say reject, and neither claims monitor mode (nginx wrote
 * "monitor":true for the log part, keeping its own "intended" log). */
static void
test_record_part_of_a_stronger_message_says_its_action_not_monitor(void **state)
{
    fx_t          *f = *state;
    hg_verdict_t   fin = final_of(HG_ACT_REJECT, HG_ACT_REJECT, 0, HG_OK);
    hg_verdict_t   v;

    v = part_in(f, HG_ACT_LOG, &fin);
    has(f, "\"action\":\"reject\",\"monitor\":false");
    lacks(f, "intended_action");
    lacks(f, "\"error\"");
    assert_string_equal(v.list, "a-list");      /* the part's own list */

    v = part_in(f, HG_ACT_REJECT, &fin);
    has(f, "\"action\":\"reject\",\"monitor\":false");
    lacks(f, "intended_action");

    fin = final_of(HG_ACT_HOLD, HG_ACT_HOLD, 0, HG_OK);
    (void) part_in(f, HG_ACT_TAG, &fin);
    has(f, "\"action\":\"hold\",\"monitor\":false");
    lacks(f, "intended_action");
}

/* A hold that could not be kept became the fail verdict: the record says
 * so, and what the part asked for, without claiming monitor mode. */
static void
test_record_failure_that_replaced_the_action_gives_intended(void **state)
{
    fx_t          *f = *state;
    hg_verdict_t   fin = final_of(HG_ACT_TEMPFAIL, HG_ACT_HOLD, 0, HG_EIO);

    (void) part_in(f, HG_ACT_HOLD, &fin);
    has(f, "\"action\":\"tempfail\",\"intended_action\":\"hold\","
           "\"monitor\":false");
    has(f, "\"error\":\"I/O error\"");

    /* a log part of the same request says what it asked for */
    (void) part_in(f, HG_ACT_LOG, &fin);
    has(f, "\"action\":\"tempfail\",\"intended_action\":\"log\","
           "\"monitor\":false");

    /* fail-open: passed unscanned after the match */
    fin = final_of(HG_ACT_ACCEPT, HG_ACT_LOG, 0, HG_ELIMIT);
    (void) part_in(f, HG_ACT_LOG, &fin);
    has(f, "\"action\":\"accept\",\"intended_action\":\"log\"");

    /* a reject that outranked a part that could not be scanned: the
     * failure replaced nothing, the record notes it */
    fin = final_of(HG_ACT_REJECT, HG_ACT_REJECT, 0, HG_ELIMIT);
    (void) part_in(f, HG_ACT_LOG, &fin);
    has(f, "\"action\":\"reject\",\"monitor\":false");
    lacks(f, "intended_action");
    has(f, "\"error\":\"limit reached\"");
}

/* Monitor mode: every record says so and what its own part asked for. */
static void
test_record_monitor_mode_gives_each_part_its_intended(void **state)
{
    fx_t          *f = *state;
    hg_verdict_t   fin = final_of(HG_ACT_LOG, HG_ACT_REJECT, 1, HG_OK);
    hg_verdict_t   part, v;

    memset(&part, 0, sizeof(part));
    part.action = HG_ACT_LOG;
    part.intended = HG_ACT_REJECT;
    part.matched = part.monitor = 1;
    v = hg_record_verdict(&part, &fin);
    f->rec.verdict = &v;
    format_ok(f);
    has(f, "\"action\":\"log\",\"intended_action\":\"reject\","
           "\"monitor\":true");

    part.intended = HG_ACT_LOG;
    v = hg_record_verdict(&part, &fin);
    format_ok(f);
    has(f, "\"action\":\"log\",\"intended_action\":\"log\","
           "\"monitor\":true");
    f->rec.verdict = &f->v;
}

static char     split_out[4096];
static size_t   split_len, split_calls, split_n;

static void
split_emit(void *data, size_t i, size_t n, const char *piece, size_t len)
{
    assert_ptr_equal(data, &split_len);
    assert_int_equal(i, ++split_calls);
    assert_true(len > 0 && len <= HG_RECORD_PIECE_MAX);
    /* never the middle of a character */
    assert_true(((unsigned char) piece[0] & 0xC0) != 0x80);
    assert_true(split_len + len <= sizeof(split_out));
    memcpy(split_out + split_len, piece, len);
    split_len += len;
    split_n = n;
}

/* A record for the fallback log comes in numbered pieces that join back
 * into the line, none cut inside a UTF-8 character. */
static void
test_record_split_gives_pieces_that_join_back(void **state)
{
    char    line[2000];
    size_t  i;

    (void) state;
    for (i = 0; i + 3 <= sizeof(line); i += 3) {
        memcpy(line + i, "\xE2\x82\xAC", 3);       /* U+20AC, 3 bytes */
    }
    memset(line + i, 'x', sizeof(line) - i);

    split_len = split_calls = 0;
    hg_record_split(line, sizeof(line), split_emit, &split_len);
    assert_int_equal(split_len, sizeof(line));
    assert_memory_equal(split_out, line, sizeof(line));
    assert_int_equal(split_calls, 3);
    assert_int_equal(split_n, 3);

    split_len = split_calls = 0;
    hg_record_split("{}", 2, split_emit, &split_len);
    assert_int_equal(split_calls, 1);
    assert_memory_equal(split_out, "{}", 2);

    split_len = split_calls = 0;
    hg_record_split("", 0, split_emit, &split_len);
    assert_int_equal(split_calls, 0);
}

static void
test_record_allowed_and_held_and_failed(void **state)
{
    fx_t  *f = *state;

    f->v.action = HG_ACT_NONE;
    f->v.intended = HG_ACT_NONE;
    f->v.allowed_by = "known-good";
    f->rec.held_at = "/var/spool/hashgate/hold/abc";
    format_ok(f);
    has(f, "\"allowed_by\":\"known-good\"");
    has(f, "\"held_at\":\"/var/spool/hashgate/hold/abc\"");

    memset(&f->v, 0, sizeof(f->v));
    f->v.action = HG_ACT_TEMPFAIL;
    f->v.intended = HG_ACT_TEMPFAIL;
    f->v.failed = 1;
    f->v.fail_status = HG_ELIMIT;
    f->rec.res = NULL;
    format_ok(f);
    has(f, "\"action\":\"tempfail\"");
    has(f, "\"error\":\"limit reached\"");
    lacks(f, "\"lists\"");
    lacks(f, "\"sha256\"");
}

static void
test_record_context_arrays_and_nulls(void **state)
{
    fx_t  *f = *state;

    hg_record_add(&f->rec, "mail_from", "<a@example.org>");
    f->rec.ctx[f->rec.nctx].key = "rcpt_to";
    f->rec.ctx[f->rec.nctx].value = "<b@example.org>\0<c\"@example.org>\0";
    f->rec.ctx[f->rec.nctx].is_array = 1;
    f->rec.nctx++;
    hg_record_add(&f->rec, "message_id", NULL);
    format_ok(f);
    has(f, "\"mail_from\":\"<a@example.org>\",\"rcpt_to\":[\"<b@example.org>\","
           "\"<c\\\"@example.org>\"],\"message_id\":null}");
}

static void
test_record_context_stops_at_max(void **state)
{
    fx_t  *f = *state;
    int    i;

    for (i = 0; i < HG_RECORD_MAX_CTX + 4; i++) {
        hg_record_add(&f->rec, "k", "v");
    }
    assert_int_equal(f->rec.nctx, HG_RECORD_MAX_CTX);
    format_ok(f);
}

static void
test_record_only_computed_digests_are_written(void **state)
{
    fx_t       *f = *state;
    hg_scan_t  *s = hg_scan_new(NULL, HG_ALG_BIT(HG_ALG_SHA1));

    assert_non_null(s);
    assert_int_equal(hg_scan_buffer(s, "x", 1, &f->res), HG_OK);
    hg_scan_free(s);
    format_ok(f);
    has(f, "\"sha1\":\"11f6ad8ec52a2984abaafd7c3b516503785c2072\"");
    lacks(f, "\"md5\"");
    lacks(f, "\"sha256\"");
    has(f, "\"lists\":[]");
}

/*
 * A file found inside a zip inside a tar attached as part 2: the record
 * names the whole chain as its part, its path in the innermost container,
 * and each container outermost first with the container's own digests.
 */
static void
test_record_inner_file_names_its_path_and_containers(void **state)
{
    fx_t                  *f = *state;
    hg_record_container_t  cont[2];
    hg_scan_result_t       tar, zip;
    char                   want[512], md5[HG_HEX_MAX], sha[HG_HEX_MAX];
    const char            *order[] = { "\"size\":32",
        "\"part\":\"2!a/b.zip!photos/x.jpg\"",
        "\"inner_path\":\"photos/x.jpg\"", "\"filename\":\"x.jpg\"",
        "\"containers\":[", "\"path\":\"2\"", "\"format\":\"tar\"",
        "\"path\":\"a/b.zip\"", "\"format\":\"zip\"",
        "\"queue_id\":\"4Xyz\"" };
    const char            *p, *q;
    size_t                 i;

    assert_int_equal(hg_scan_buffer(f->scan, "tar bytes", 9, &tar), HG_OK);
    assert_int_equal(hg_scan_buffer(f->scan, "zip", 3, &zip), HG_OK);
    cont[0].path = "2";
    cont[0].format = "tar";
    cont[0].digests = &tar.digests;
    cont[1].path = "a/b.zip";
    cont[1].format = "zip";
    cont[1].digests = &zip.digests;
    f->rec.part = "2!a/b.zip!photos/x.jpg";
    f->rec.inner_path = "photos/x.jpg";
    f->rec.filename = "x.jpg";
    f->rec.containers = cont;
    f->rec.ncontainers = 2;
    hg_record_add(&f->rec, "queue_id", "4Xyz");
    format_ok(f);

    p = f->j.buf;
    for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        if ((q = strstr(p, order[i])) == NULL) {
            fail_msg("missing or out of order: %s in %s", order[i], f->j.buf);
        }
        p = q;
    }
    hg_hex_encode(tar.digests.d[HG_ALG_MD5], 16, md5);
    hg_hex_encode(tar.digests.d[HG_ALG_SHA256], 32, sha);
    snprintf(want, sizeof(want), "{\"path\":\"2\",\"format\":\"tar\","
             "\"md5\":\"%s\",", md5);
    has(f, want);
    snprintf(want, sizeof(want), "\"sha256\":\"%s\",\"size\":9}", sha);
    has(f, want);
    has(f, "\"size\":3}]");
    lacks(f, "not_checked");
}

/*
 * An encrypted file inside an archive: no digest, the size the archive
 * declares, its name and path, and "not_checked" saying why.
 */
static void
test_record_not_checked_file_says_why_with_name_and_size(void **state)
{
    fx_t                  *f = *state;
    hg_record_container_t  cont;
    hg_scan_result_t       none;

    memset(&none, 0, sizeof(none));
    none.digests.size = 123456;
    memset(&cont, 0, sizeof(cont));
    cont.path = "3";
    cont.format = "zip";
    f->v.action = HG_ACT_NONE;
    f->v.intended = HG_ACT_NONE;
    f->v.matched = 0;
    f->v.list = NULL;
    f->rec.res = &none;
    f->rec.part = "3!secret/plan.pdf";
    f->rec.inner_path = "secret/plan.pdf";
    f->rec.filename = "plan.pdf";
    f->rec.not_checked = "encrypted";
    f->rec.containers = &cont;
    f->rec.ncontainers = 1;
    format_ok(f);
    has(f, "\"action\":\"none\"");
    has(f, "\"lists\":[],\"size\":123456,\"part\":\"3!secret/plan.pdf\","
           "\"inner_path\":\"secret/plan.pdf\",\"filename\":\"plan.pdf\"");
    has(f, "\"not_checked\":\"encrypted\",\"containers\":[{\"path\":\"3\","
           "\"format\":\"zip\"}]");
    lacks(f, "\"md5\"");
    lacks(f, "\"sha256\"");
}

/* A part that is no inner file has none of the inner-file fields. */
static void
test_record_plain_part_has_no_inner_fields(void **state)
{
    fx_t  *f = *state;

    format_ok(f);
    lacks(f, "inner_path");
    lacks(f, "not_checked");
    lacks(f, "containers");
}

/*
 * A part of a JSON body that was not well-formed: the record says why and
 * at which byte parsing stopped, after not_checked, as a number.
 */
static void
test_record_says_where_a_body_stopped_being_parsed(void **state)
{
    fx_t  *f = *state;

    f->rec.part = "/files/0/content";
    f->rec.encoding = "base64";
    f->rec.parse_stopped = "truncated inside a string";
    f->rec.parse_stopped_at = 409628;
    format_ok(f);
    has(f, "\"encoding\":\"base64\",");
    has(f, "\"parse_stopped\":\"truncated inside a string\","
           "\"parse_stopped_at\":409628");
    f->rec.parse_stopped = NULL;
    format_ok(f);
    lacks(f, "parse_stopped");
}

static off_t
file_size(const char *path)
{
    struct stat  st;

    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static void
test_evlog_creates_0640_and_appends(void **state)
{
    fx_t        *f = *state;
    hg_evlog_t  *l;
    hg_err_t     err;
    char         path[128], buf[4096];
    struct stat  st;
    mode_t       old;
    FILE        *fp;
    size_t       n;

    snprintf(path, sizeof(path), "%s/evidence.log", f->dir);
    old = umask(022);
    assert_int_equal(hg_evlog_open(path, &l, &err), HG_OK);
    umask(old);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);

    format_ok(f);
    assert_int_equal(hg_evlog_write(l, &f->j, &err), HG_OK);
    hg_evlog_close(l);

    /* reopening appends; it does not truncate */
    assert_int_equal(hg_evlog_open(path, &l, &err), HG_OK);
    assert_int_equal(hg_evlog_write(l, &f->j, &err), HG_OK);
    hg_evlog_close(l);
    assert_int_equal(file_size(path), (off_t) (2 * f->j.len));

    fp = fopen(path, "r");
    assert_non_null(fp);
    n = 0;
    while (fgets(buf, sizeof(buf), fp) != NULL) {
        assert_int_equal(jc_validate(buf, strlen(buf)), 0);
        n++;
    }
    fclose(fp);
    assert_int_equal(n, 2);
}

/* A link where the log should be is refused, at open and at reopen, and
 * the file it points to is left untouched. */
static void
test_evlog_refuses_a_symbolic_link(void **state)
{
    fx_t        *f = *state;
    hg_evlog_t  *l;
    hg_err_t     err;
    char         path[128], target[128];
    int          fd;

    snprintf(path, sizeof(path), "%s/ev.log", f->dir);
    snprintf(target, sizeof(target), "%s/secret", f->dir);
    fd = open(target, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(hg_evlog_open(path, &l, &err), HG_EIO);
    assert_null(l);
    assert_non_null(strstr(err.msg, path));

    /* rotated, then a link planted before the reopen */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(hg_evlog_open(path, &l, &err), HG_OK);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(hg_evlog_reopen(l, &err), HG_EIO);
    format_ok(f);
    assert_int_equal(hg_evlog_write(l, &f->j, &err), HG_OK);
    hg_evlog_close(l);
    assert_int_equal(file_size(target), 0);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(unlink(target), 0);
}

static void
test_evlog_reopen_follows_logrotate(void **state)
{
    fx_t        *f = *state;
    hg_evlog_t  *l;
    hg_err_t     err;
    char         path[128], moved[140];
    struct stat  st;

    snprintf(path, sizeof(path), "%s/rot.log", f->dir);
    snprintf(moved, sizeof(moved), "%s.1", path);
    assert_int_equal(hg_evlog_open(path, &l, &err), HG_OK);
    format_ok(f);
    assert_int_equal(hg_evlog_write(l, &f->j, &err), HG_OK);
    assert_int_equal(rename(path, moved), 0);
    assert_int_equal(hg_evlog_reopen(l, &err), HG_OK);
    assert_int_equal(hg_evlog_write(l, &f->j, &err), HG_OK);
    assert_int_equal(hg_evlog_write(l, &f->j, &err), HG_OK);
    assert_int_equal(file_size(moved), (off_t) f->j.len);
    assert_int_equal(file_size(path), (off_t) (2 * f->j.len));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0640, 0640);
    assert_int_equal(st.st_mode & 0007, 0);

    /* a directory that vanished: the old file stays in use */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(unlink(moved), 0);
    assert_int_equal(rmdir(f->dir), 0);
    assert_int_equal(hg_evlog_reopen(l, &err), HG_EIO);
    assert_non_null(strstr(err.msg, "reopen"));
    assert_int_equal(hg_evlog_write(l, &f->j, &err), HG_OK);
    hg_evlog_close(l);
    assert_int_equal(mkdir(f->dir, 0700), 0);
}

static void
test_evlog_keeps_existing_mode(void **state)
{
    fx_t        *f = *state;
    hg_evlog_t  *l;
    hg_err_t     err;
    char         path[128];
    struct stat  st;
    int          fd;

    snprintf(path, sizeof(path), "%s/narrow.log", f->dir);
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "x\n", 2), 2);
    close(fd);
    assert_int_equal(hg_evlog_open(path, &l, &err), HG_OK);
    hg_evlog_close(l);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 2);
}

static void
test_evlog_refuses_unfinished_line_and_bad_path(void **state)
{
    fx_t        *f = *state;
    hg_evlog_t  *l;
    hg_err_t     err;
    char         path[128];

    snprintf(path, sizeof(path), "%s/no/such/dir/log", f->dir);
    assert_int_equal(hg_evlog_open(path, &l, &err), HG_EIO);
    assert_null(l);
    assert_non_null(strstr(err.msg, path));

    snprintf(path, sizeof(path), "%s/e.log", f->dir);
    assert_int_equal(hg_evlog_open(path, &l, &err), HG_OK);
    hg_json_reset(&f->j);
    hg_json_obj_begin(&f->j);       /* not done: no newline */
    assert_int_equal(hg_evlog_write(l, &f->j, &err), HG_EINVAL);
    hg_evlog_close(l);
    assert_int_equal(file_size(path), 0);
    hg_evlog_close(NULL);
}

static void
test_evlog_full_device_gives_eio(void **state)
{
    fx_t        *f = *state;
    hg_evlog_t  *l;
    hg_err_t     err;

    if (access("/dev/full", W_OK) != 0) {
        fail_msg("/dev/full is not writable here");
    }
    assert_int_equal(hg_evlog_open("/dev/full", &l, &err), HG_OK);
    format_ok(f);
    assert_int_equal(hg_evlog_write(l, &f->j, &err), HG_EIO);
    assert_non_null(strstr(err.msg, "/dev/full"));
    hg_evlog_close(l);
}

/* A file size limit makes write() short, as a full disk does. */
static void
test_evlog_short_write_leaves_no_half_record(void **state)
{
    fx_t           *f = *state;
    hg_evlog_t     *l;
    hg_err_t        err;
    char            path[128], buf[8192];
    struct rlimit   old, lim;
    void          (*oldsig)(int);
    off_t           before;
    FILE           *fp;
    size_t          n;

    snprintf(path, sizeof(path), "%s/full.log", f->dir);
    assert_int_equal(hg_evlog_open(path, &l, &err), HG_OK);
    format_ok(f);
    assert_int_equal(hg_evlog_write(l, &f->j, &err), HG_OK);
    before = file_size(path);

    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    oldsig = signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = (rlim_t) before + f->j.len / 2;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);

    assert_int_equal(hg_evlog_write(l, &f->j, &err), HG_EIO);
    assert_non_null(strstr(err.msg, "short write"));
    assert_int_equal(file_size(path), before);
    /* and again, now that the file is exactly at its old end */
    assert_int_equal(hg_evlog_write(l, &f->j, &err), HG_EIO);
    assert_int_equal(file_size(path), before);

    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, oldsig);

    /* with room again, the next record follows the last whole one */
    assert_int_equal(hg_evlog_write(l, &f->j, &err), HG_OK);
    hg_evlog_close(l);
    fp = fopen(path, "r");
    assert_non_null(fp);
    n = 0;
    while (fgets(buf, sizeof(buf), fp) != NULL) {
        assert_int_equal(jc_validate(buf, strlen(buf)), 0);
        n++;
    }
    fclose(fp);
    assert_int_equal(n, 2);
}

/*
 * write(2) seen by the library: passed through, and once armed, after the
 * write to the file with inode hook_ino, hook_fn runs (another process
 * appending between the library's write and its clean-up).
 */
static ino_t    hook_ino;
static void   (*hook_fn)(void);

ssize_t
write(int fd, const void *buf, size_t n)
{
    ssize_t       r = syscall(SYS_write, fd, buf, n);
    struct stat   st;
    void        (*fn)(void) = hook_fn;

    if (fn != NULL && fstat(fd, &st) == 0 && st.st_ino == hook_ino) {
        hook_fn = NULL;
        fn();
    }
    return r;
}

static const char      *other_path;
static struct rlimit    other_lim;
static pid_t            other_pid;
static const char       other_line[] = "{\"other\":\"process\"}\n";

/* Another process (a second nginx worker) writes one whole record. */
static void
other_writer(void)
{
    hg_evlog_t       *l;
    hg_err_t          err;
    hg_json_t         j;
    struct timespec   ts = { 0, 10 * 1000 * 1000 };
    int               i, status;

    other_pid = fork();
    assert_true(other_pid >= 0);
    if (other_pid == 0) {
        hg_json_init(&j);
        hg_json_obj_begin(&j);
        hg_json_kv_str(&j, "other", "process");
        hg_json_obj_end(&j);
        if (setrlimit(RLIMIT_FSIZE, &other_lim) != 0
            || hg_json_done(&j) != HG_OK
            || hg_evlog_open(other_path, &l, &err) != HG_OK
            || hg_evlog_write(l, &j, &err) != HG_OK)
        {
            _exit(1);
        }
        _exit(0);
    }
    /* give it time to append (it cannot while the writer holds the log) */
    for (i = 0; i < 30; i++) {
        if (waitpid(other_pid, &status, WNOHANG) == other_pid) {
            other_pid = -status - 1;
            return;
        }
        nanosleep(&ts, NULL);
    }
}

static void
test_evlog_short_write_cleanup_keeps_other_writers_records(void **state)
{
    fx_t           *f = *state;
    hg_evlog_t     *l;
    hg_err_t        err;
    char            path[128], buf[8192];
    struct rlimit   lim;
    struct stat     st;
    void          (*oldsig)(int);
    off_t           before;
    FILE           *fp;
    size_t          n = 0, others = 0;
    int             status;

    snprintf(path, sizeof(path), "%s/shared.log", f->dir);
    assert_int_equal(hg_evlog_open(path, &l, &err), HG_OK);
    format_ok(f);
    assert_int_equal(hg_evlog_write(l, &f->j, &err), HG_OK);
    before = file_size(path);
    assert_int_equal(stat(path, &st), 0);

    assert_int_equal(getrlimit(RLIMIT_FSIZE, &other_lim), 0);
    oldsig = signal(SIGXFSZ, SIG_IGN);
    lim = other_lim;
    lim.rlim_cur = (rlim_t) before + f->j.len / 2;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    other_path = path;
    other_pid = 0;
    hook_ino = st.st_ino;
    hook_fn = other_writer;
    assert_int_equal(hg_evlog_write(l, &f->j, &err), HG_EIO);
    hook_fn = NULL;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &other_lim), 0);
    signal(SIGXFSZ, oldsig);
    if (other_pid > 0) {
        assert_int_equal(waitpid(other_pid, &status, 0), other_pid);
    } else {
        status = -(other_pid + 1);
    }
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    hg_evlog_close(l);

    fp = fopen(path, "r");
    assert_non_null(fp);
    while (fgets(buf, sizeof(buf), fp) != NULL) {
        assert_int_equal(jc_validate(buf, strlen(buf)), 0);
        others += strcmp(buf, other_line) == 0;
        n++;
    }
    fclose(fp);
    assert_int_equal(others, 1);
    assert_int_equal(n, 2);
    assert_int_equal(file_size(path), before + (off_t) strlen(other_line));
}

static void
test_record_pdq_match_and_image(void **state)
{
    fx_t               *f = *state;
    hg_inspect_image_t  img;
    hg_match_t         *m = &f->res.matches[0];

    memset(&img, 0, sizeof(img));
    img.format = HG_IMAGE_JPEG;
    img.st = HG_OK;
    img.width = 320;
    img.height = 240;
    img.pdq.quality = 88;
    memset(img.pdq.hash.b, 0x11, HG_PDQ_BYTES);
    img.pdq.dihedral[0] = img.pdq.hash;
    memset(img.pdq.dihedral[HG_PDQ_ROTATE_90].b, 0x22, HG_PDQ_BYTES);
    m->pdq = 1;
    m->pdq_distance = 6;
    m->pdq_via = HG_PDQ_ORIGINAL;
    memset(m->pdq_listed.b, 0x13, HG_PDQ_BYTES);
    m->pdq_listed_quality = 90;
    f->rec.image = &img;
    format_ok(f);
    has(f, "\"algorithm\":\"pdq\",\"digest\":\"1111111111111111111111111111"
        "111111111111111111111111111111111111\"");
    has(f, "\"distance\":6,\"listed\":{\"pdq\":\"131313131313131313131313"
        "1313131313131313131313131313131313131313\",\"quality\":90}");
    lacks(f, "\"dihedral\"");
    has(f, "\"image\":{\"format\":\"jpeg\",\"width\":320,\"height\":240,"
        "\"pdq\":\"1111111111111111111111111111111111111111111111111111111111"
        "111111\",\"quality\":88}");

    /* a turned copy: the dihedral hash that matched, named */
    m->pdq_via = HG_PDQ_ROTATE_90;
    m->pdq_listed_quality = -1;
    format_ok(f);
    has(f, "\"digest\":\"2222222222222222222222222222222222222222222222222"
        "222222222222222\"");
    has(f, "\"dihedral\":\"rotate90\"");
    has(f, "\"listed\":{\"pdq\":\"1313131313131313131313131313131313131313"
        "131313131313131313131313\"}");

    /* an image without a hash: why */
    m->pdq = 0;
    img.st = HG_ELIMIT;
    snprintf(img.why, sizeof(img.why), "png: 70000 x 70000 pixels");
    f->rec.not_checked = "image limit";
    format_ok(f);
    has(f, "\"not_checked\":\"image limit\"");
    has(f, "\"image\":{\"format\":\"jpeg\",\"width\":320,\"height\":240,"
        "\"why\":\"png: 70000 x 70000 pixels\"}");
    lacks(f, "\"quality\"");
    f->rec.image = NULL;
    f->rec.not_checked = NULL;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_record_has_every_field_in_order, setup, teardown),
        cmocka_unit_test(test_record_time_is_rfc3339_utc_with_millis),
        cmocka_unit_test_setup_teardown(test_record_never_contains_content, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_monitor_gives_intended_action, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_part_of_a_stronger_message_says_its_action_not_monitor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_failure_that_replaced_the_action_gives_intended, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_monitor_mode_gives_each_part_its_intended, setup, teardown),
        cmocka_unit_test(test_record_split_gives_pieces_that_join_back),
        cmocka_unit_test_setup_teardown(test_record_allowed_and_held_and_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_context_arrays_and_nulls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_context_stops_at_max, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_only_computed_digests_are_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_inner_file_names_its_path_and_containers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_not_checked_file_says_why_with_name_and_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_plain_part_has_no_inner_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_says_where_a_body_stopped_being_parsed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evlog_creates_0640_and_appends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evlog_reopen_follows_logrotate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evlog_refuses_a_symbolic_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evlog_keeps_existing_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evlog_refuses_unfinished_line_and_bad_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evlog_full_device_gives_eio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evlog_short_write_leaves_no_half_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evlog_short_write_cleanup_keeps_other_writers_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_pdq_match_and_image, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
