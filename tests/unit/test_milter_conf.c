/*
 * test_milter_conf.c - the hashgate-milter configuration parser: defaults,
 * quoting and trailing comments, sizes, repeatable and once-only keys, and
 * "file:line: reason" for every kind of mistake. The parser is compiled in
 * from milter/conf.c (the milter is not part of libhashgate).
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
#include <unistd.h>

#include <cmocka.h>

#include "../../milter/conf.c"

static char path[64];

static void
write_conf(const char *text)
{
    int     fd;

    strcpy(path, "/tmp/hg-milter-conf-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
    close(fd);
}

static hg_status_t
load(const char *text, hg_mconf_t *c, hg_err_t *err)
{
    hg_status_t st;

    write_conf(text);
    err->msg[0] = '\0';
    st = hg_mconf_load(path, c, err);
    unlink(path);
    return st;
}

/* The error must be exactly "path:line: ..." and contain needle. */
static void
assert_error_at(const char *text, unsigned line, const char *needle)
{
    hg_mconf_t  c;
    hg_err_t    err;
    char        want[128];

    assert_int_equal(load(text, &c, &err), HG_EFORMAT);
    snprintf(want, sizeof(want), "%s:%u: ", path, line);
    if (strncmp(err.msg, want, strlen(want)) != 0 || !strstr(err.msg, needle)) {
        fail_msg("got '%s', want '%s...%s'", err.msg, want, needle);
    }
    hg_mconf_free(&c);
}

#define BASE "Socket unix:/tmp/m.sock\nDatabase /var/lib/hg.db\n"

static void
test_conf_minimal_file_gets_the_documented_defaults(void **state)
{
    hg_mconf_t  c;
    hg_err_t    err;

    (void) state;
    assert_int_equal(load(BASE, &c, &err), HG_OK);
    assert_string_equal(c.socket_path, "/tmp/m.sock");
    assert_string_equal(c.database, "/var/lib/hg.db");
    assert_string_equal(c.reply_code, "550");
    assert_string_equal(c.reply_xcode, "5.7.1");
    assert_string_equal(c.reply_text,
        "Message rejected: it contains content that is not accepted here");
    assert_string_equal(c.tag_header, "X-Hashgate");
    assert_int_equal(c.policy.on_fail, HG_FAIL_TEMPFAIL);
    assert_int_equal(c.policy.default_action, HG_ACT_REJECT);
    assert_int_equal(c.policy.monitor, 0);
    assert_int_equal(c.reload_interval, 60);
    assert_int_equal(c.limits.max_depth, HG_MAX_MIME_DEPTH);
    assert_int_equal(c.limits.max_parts, HG_MAX_PARTS);
    assert_int_equal(c.limits.max_header_bytes, HG_MAX_HEADER_BYTES);
    assert_int_equal(c.limits.max_total_bytes, 0);
    assert_int_equal(c.detect_types, 1);
    assert_int_equal(c.syslog, 1);
    assert_int_equal(c.socket_mode, -1);
    assert_null(c.user);
    assert_null(c.evidence_log);
    hg_mconf_free(&c);
}

static void
test_conf_quotes_comments_case_and_crlf(void **state)
{
    hg_mconf_t  c;
    hg_err_t    err;

    (void) state;
    assert_int_equal(load("# comment\r\n\r\n  socket   inet:8894@127.0.0.1  # tcp\r\n"
                          "DATABASE \"/db with space\"\r\n"
                          "RejectReply \"554 5.7.1 No # in here\"   # trailing\r\n"
                          "monitoronly YES\r\n", &c, &err), HG_OK);
    assert_string_equal(c.socket, "inet:8894@127.0.0.1");
    assert_null(c.socket_path);
    assert_string_equal(c.database, "/db with space");
    assert_string_equal(c.reply_code, "554");
    assert_string_equal(c.reply_xcode, "5.7.1");
    assert_string_equal(c.reply_text, "No # in here");
    assert_int_equal(c.policy.monitor, 1);
    hg_mconf_free(&c);
}

static void
test_conf_sizes_take_k_m_g_and_header_limit_caps_line_limit(void **state)
{
    hg_mconf_t  c;
    hg_err_t    err;

    (void) state;
    assert_int_equal(load(BASE "MaxMessageBytes 10M\nMaxHeaderBytes 4K\n"
                          "MaxDepth 3\nMaxParts 7\nReloadInterval 0\n",
                          &c, &err), HG_OK);
    assert_int_equal(c.limits.max_total_bytes, 10 * 1024 * 1024);
    assert_int_equal(c.limits.max_header_bytes, 4096);
    assert_true(c.limits.max_line_bytes <= 4096);
    assert_int_equal(c.limits.max_depth, 3);
    assert_int_equal(c.limits.max_parts, 7);
    assert_int_equal(c.reload_interval, 0);
    hg_mconf_free(&c);
}

static void
test_conf_list_actions_user_group_and_socket_mode(void **state)
{
    hg_mconf_t  c;
    hg_err_t    err;

    (void) state;
    assert_int_equal(load(BASE "ListAction hotline reject\nListAction review  hold\n"
                          "ListAction t tag\nDefaultAction log\nOnFail accept\n"
                          "UserID hashgate:postfix\nSocketMode 0660\n"
                          "SocketGroup postfix\n", &c, &err), HG_OK);
    assert_int_equal(c.policy.nlists, 3);
    assert_int_equal(hg_policy_action(&c.policy, "hotline"), HG_ACT_REJECT);
    assert_int_equal(hg_policy_action(&c.policy, "review"), HG_ACT_HOLD);
    assert_int_equal(hg_policy_action(&c.policy, "t"), HG_ACT_TAG);
    assert_int_equal(hg_policy_action(&c.policy, "other"), HG_ACT_LOG);
    assert_int_equal(c.policy.on_fail, HG_FAIL_ACCEPT);
    assert_string_equal(c.user, "hashgate");
    assert_string_equal(c.group, "postfix");
    assert_int_equal(c.socket_mode, 0660);
    assert_string_equal(c.socket_group, "postfix");
    hg_mconf_free(&c);
}

static void
test_conf_mistakes_name_file_and_line(void **state)
{
    (void) state;
    assert_error_at(BASE "Frobnicate yes\n", 3, "unknown key 'Frobnicate'");
    assert_error_at(BASE "\n# x\nListAction a destroy\n", 5, "expected reject, hold");
    assert_error_at(BASE "ListAction a reject\nListAction a hold\n", 4, "given twice");
    assert_error_at(BASE "ListAction lonely\n", 3, "ListAction NAME ACTION");
    assert_error_at(BASE "Database /other\n", 3, "Database given twice");
    assert_error_at(BASE "MaxParts 0\n", 3, "out of range");
    assert_error_at(BASE "MaxDepth 12x\n", 3, "not a number");
    assert_error_at(BASE "MaxHeaderBytes 1\n", 3, "out of range");
    assert_error_at(BASE "OnFail sometimes\n", 3, "expected tempfail or accept");
    assert_error_at(BASE "Syslog maybe\n", 3, "not yes or no");
    assert_error_at(BASE "LogLevel loud\n", 3, "LogLevel 'loud'");
    assert_error_at(BASE "SyslogFacility kern\n", 3, "SyslogFacility");
    assert_error_at(BASE "SocketMode 999\n", 3, "octal mode");
    assert_error_at(BASE "RejectReply 450 4.7.1 later\n", 3, "5XX X.Y.Z");
    assert_error_at(BASE "RejectReply 550 4.7.1 mixed\n", 3, "5XX 5.Y.Z");
    assert_error_at(BASE "RejectReply 550 5.7.1 100%\n", 3, "without '%'");
    assert_error_at(BASE "TagHeader Bad:Name\n", 3, "not a header field name");
    assert_error_at(BASE "EvidenceLog relative.log\n", 3, "must be absolute");
    assert_error_at(BASE "PidFile x.pid\n", 3, "must be absolute");
    assert_error_at(BASE "UserID :grp\n", 3, "user or user:group");
    assert_error_at("Socket unix:relative\n", 1, "must be absolute");
    assert_error_at("Socket inet:99999@127.0.0.1\n", 1, "inet:PORT@HOST");
    assert_error_at("Socket smtp:25\n", 1, "expected unix:PATH");
    assert_error_at(BASE "Socket unix:/x\n", 3, "Socket given twice");
    assert_error_at(BASE "DetectTypes\n", 3, "needs a value");
    assert_error_at("Database /d\n", 1, "Socket is not set");
    assert_error_at("Socket unix:/s\n\n", 2, "Database is not set");
    assert_error_at("Socket inet:25@127.0.0.1\nDatabase /d\nSocketMode 0660\n", 3,
                    "apply only to unix sockets");
}

static void
test_conf_archives_default_on_with_the_documented_limits(void **state)
{
    hg_mconf_t  c;
    hg_err_t    err;

    (void) state;
    assert_int_equal(load(BASE, &c, &err), HG_OK);
    assert_int_equal(c.archives, 1);
    assert_null(c.inspect_helper);
    assert_int_equal(c.inspect_helpers, 2);
    assert_int_equal(c.policy.archive_encrypted, HG_ACT_NONE);
    assert_int_equal(c.policy.archive_unreadable, HG_ACT_NONE);
    assert_int_equal(c.archive_limits.max_depth, 8);
    assert_int_equal(c.archive_limits.max_files, 10000);
    assert_int_equal(c.archive_limits.max_bytes, 400ull << 20);
    assert_int_equal(c.archive_limits.max_file_bytes, 100ull << 20);
    assert_int_equal(c.archive_limits.max_ratio, 250);
    assert_int_equal(c.archive_limits.timeout_ms, 30000);
    hg_mconf_free(&c);

    assert_int_equal(load(BASE "Archives no\nInspectHelper /opt/hg/inspect\n"
                          "InspectHelpers 5\nArchiveEncrypted HOLD\n"
                          "ArchiveUnreadable reject\nArchiveMaxDepth 3\n"
                          "ArchiveMaxFiles 20\nArchiveMaxBytes 1G\n"
                          "ArchiveMaxFileBytes 64K\nArchiveMaxRatio 0\n"
                          "ArchiveTimeout 7\n", &c, &err), HG_OK);
    assert_int_equal(c.archives, 0);
    assert_string_equal(c.inspect_helper, "/opt/hg/inspect");
    assert_int_equal(c.inspect_helpers, 5);
    assert_int_equal(c.policy.archive_encrypted, HG_ACT_HOLD);
    assert_int_equal(c.policy.archive_unreadable, HG_ACT_REJECT);
    assert_int_equal(c.archive_limits.max_depth, 3);
    assert_int_equal(c.archive_limits.max_files, 20);
    assert_int_equal(c.archive_limits.max_bytes, 1ull << 30);
    assert_int_equal(c.archive_limits.max_file_bytes, 64 * 1024);
    assert_int_equal(c.archive_limits.max_ratio, 0);
    assert_int_equal(c.archive_limits.timeout_ms, 7000);
    hg_mconf_free(&c);

    assert_int_equal(load(BASE "ArchiveEncrypted accept\n", &c, &err), HG_OK);
    assert_int_equal(c.policy.archive_encrypted, HG_ACT_NONE);
    hg_mconf_free(&c);
}

static void
test_conf_archive_mistakes_name_file_and_line(void **state)
{
    (void) state;
    assert_error_at(BASE "Archives perhaps\n", 3, "not yes or no");
    assert_error_at(BASE "InspectHelper bin/inspect\n", 3, "must be absolute");
    assert_error_at(BASE "InspectHelpers 0\n", 3, "out of range");
    assert_error_at(BASE "InspectHelpers 65\n", 3, "out of range");
    assert_error_at(BASE "ArchiveEncrypted drop\n", 3, "ArchiveEncrypted: bad "
                    "action \"drop\": expected accept, reject, hold, tag or log");
    assert_error_at(BASE "ArchiveUnreadable tempfail\n", 3,
                    "ArchiveUnreadable: bad action");
    assert_error_at(BASE "ArchiveMaxDepth 9\n", 3, "out of range");
    assert_error_at(BASE "ArchiveMaxDepth 0\n", 3, "out of range");
    assert_error_at(BASE "ArchiveMaxFiles 0\n", 3, "out of range");
    assert_error_at(BASE "ArchiveMaxFiles 10K\n", 3, "not a number");
    assert_error_at(BASE "ArchiveMaxBytes 12\n", 3, "out of range");
    assert_error_at(BASE "ArchiveMaxBytes 100T\n", 3, "not a number");
    assert_error_at(BASE "ArchiveMaxFileBytes 65G\n", 3, "out of range");
    assert_error_at(BASE "ArchiveMaxRatio -1\n", 3, "not a number");
    assert_error_at(BASE "ArchiveTimeout 0\n", 3, "out of range");
    assert_error_at(BASE "ArchiveTimeout 30s\n", 3, "not a number");
    assert_error_at(BASE "ArchiveMaxFiles 5\nArchiveMaxFiles 6\n", 4,
                    "ArchiveMaxFiles given twice");
    /* keys past the 32nd have a bit of their own in the given-once set:
     * with 32 bits ArchiveMaxRatio (the 33rd) was "given twice" after
     * Socket (the first), see the test above */
    assert_error_at(BASE "ArchiveTimeout 5\nArchiveTimeout 6\n", 4,
                    "ArchiveTimeout given twice");
}

static void
test_conf_list_names_follow_the_database_rule(void **state)
{
    hg_mconf_t  c;
    hg_err_t    err;
    char        want[512];

    (void) state;
    /* the words of hashgate compile and nginx -t */
    assert_error_at(BASE "ListAction a/b reject\n", 3,
                    "ListAction: bad list name \"a/b\": 1 to 64 characters "
                    "of A-Z a-z 0-9 . _ -");
    assert_error_at(BASE "ListAction caf\xc3\xa9 log\n", 3, "bad list name");
    assert_error_at(BASE "ListAction "
                    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                    " log\n", 3, "bad list name");
    assert_error_at(BASE "DefaultAction drop\n", 3,
                    "DefaultAction: bad action \"drop\": expected reject, hold, "
                    "tag or log");

    /* a repeat names where the first one is */
    assert_int_equal(load(BASE "ListAction hot reject\n# x\nListAction hot log\n",
                          &c, &err), HG_EFORMAT);
    snprintf(want, sizeof(want), "%s:5: ListAction: action for list \"hot\" "
             "given twice: first at %s:3, again at %s:5", path, path, path);
    assert_string_equal(err.msg, want);
    hg_mconf_free(&c);
}

static void
test_conf_monitor_only_accepts_failures_unless_on_fail_is_set(void **state)
{
    hg_mconf_t  c;
    hg_err_t    err;

    (void) state;
    assert_int_equal(load(BASE "MonitorOnly yes\n", &c, &err), HG_OK);
    assert_int_equal(c.policy.on_fail, HG_FAIL_ACCEPT);
    assert_int_equal(hg_decide(&c.policy, NULL, HG_ELIMIT).action,
                     HG_ACT_ACCEPT);
    hg_mconf_free(&c);

    assert_int_equal(load("OnFail tempfail\n" BASE "MonitorOnly yes\n", &c,
                          &err), HG_OK);
    assert_int_equal(c.policy.on_fail, HG_FAIL_TEMPFAIL);
    assert_int_equal(hg_decide(&c.policy, NULL, HG_ELIMIT).action,
                     HG_ACT_TEMPFAIL);
    hg_mconf_free(&c);

    assert_int_equal(load(BASE "MonitorOnly no\n", &c, &err), HG_OK);
    assert_int_equal(c.policy.on_fail, HG_FAIL_TEMPFAIL);
    hg_mconf_free(&c);
}

static void
test_conf_overlong_line_is_an_error_not_a_cut(void **state)
{
    char   *text = malloc(HG_CONF_LINE_MAX + 200);

    (void) state;
    assert_non_null(text);
    strcpy(text, BASE "EvidenceLog /");
    memset(text + strlen(text), 'a', HG_CONF_LINE_MAX + 10);
    strcpy(text + strlen(BASE) + 13 + HG_CONF_LINE_MAX + 10, "\n");
    assert_error_at(text, 3, "line longer than");
    free(text);
}

static void
test_conf_missing_file_is_eio(void **state)
{
    hg_mconf_t  c;
    hg_err_t    err;

    (void) state;
    assert_int_equal(hg_mconf_load("/nonexistent/hg.conf", &c, &err), HG_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/hg.conf"));
    hg_mconf_free(&c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf_minimal_file_gets_the_documented_defaults),
        cmocka_unit_test(test_conf_quotes_comments_case_and_crlf),
        cmocka_unit_test(test_conf_sizes_take_k_m_g_and_header_limit_caps_line_limit),
        cmocka_unit_test(test_conf_list_actions_user_group_and_socket_mode),
        cmocka_unit_test(test_conf_mistakes_name_file_and_line),
        cmocka_unit_test(test_conf_archives_default_on_with_the_documented_limits),
        cmocka_unit_test(test_conf_archive_mistakes_name_file_and_line),
        cmocka_unit_test(test_conf_list_names_follow_the_database_rule),
        cmocka_unit_test(test_conf_monitor_only_accepts_failures_unless_on_fail_is_set),
        cmocka_unit_test(test_conf_overlong_line_is_an_error_not_a_cut),
        cmocka_unit_test(test_conf_missing_file_is_eio),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
