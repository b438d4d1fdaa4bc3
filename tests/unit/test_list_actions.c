/*
 * test_list_actions.c - the list-to-action settings both channels check
 * alike: list names follow the database's rule (the one "hashgate compile"
 * applies), actions are those the channel offers, and a repeat is refused
 * naming the file:line of both settings.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hashgate/db.h"
#include "hashgate/list_actions.h"

#define ALL_NAME_CHARS \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

static void
set_ok(hg_policy_t *p, const char *list, const char *action, unsigned line)
{
    hg_err_t    err;

    err.msg[0] = '\0';
    if (hg_policy_list_action(p, list, strlen(list), action, strlen(action),
                              HG_LIST_ACTIONS_MAIL, "/etc/a.conf", line, &err)
        != HG_OK)
    {
        fail_msg("%s %s: %s", list, action, err.msg);
    }
}

static void
test_list_name_rule_is_the_database_rule(void **state)
{
    hg_err_t    err;
    char        longest[HG_LIST_NAME_MAX + 2];

    (void) state;
    assert_int_equal(hg_list_name_check("hotline-2024.v1_a", 17, &err), HG_OK);
    assert_int_equal(hg_list_name_check(ALL_NAME_CHARS, 64, &err), HG_OK);

    memset(longest, 'a', sizeof(longest));
    assert_int_equal(hg_list_name_check(longest, HG_LIST_NAME_MAX, &err),
                     HG_OK);
    assert_int_equal(hg_list_name_check(longest, HG_LIST_NAME_MAX + 1, &err),
                     HG_EINVAL);

    assert_int_equal(hg_list_name_check("", 0, &err), HG_EINVAL);
    assert_int_equal(hg_list_name_check("a/b", 3, &err), HG_EINVAL);
    assert_string_equal(err.msg, "bad list name \"a/b\": 1 to 64 characters "
                        "of A-Z a-z 0-9 . _ -");
    assert_int_equal(hg_list_name_check("caf\xc3\xa9", 5, &err), HG_EINVAL);
    assert_int_equal(hg_list_name_check("a b", 3, &err), HG_EINVAL);
    assert_int_equal(hg_list_name_check("a\0b", 3, &err), HG_EINVAL);
    assert_int_equal(hg_list_name_check("a;", 2, &err), HG_EINVAL);

    /* only len bytes count: a name inside a longer line */
    assert_int_equal(hg_list_name_check("abc def", 3, &err), HG_OK);
}

static void
test_list_action_names_are_the_channels(void **state)
{
    hg_err_t     err;
    hg_action_t  a = HG_ACT_NONE;

    (void) state;
    assert_int_equal(hg_list_action_parse("HOLD", 4, HG_LIST_ACTIONS_MAIL, &a,
                                          &err), HG_OK);
    assert_int_equal(a, HG_ACT_HOLD);
    assert_int_equal(hg_list_action_parse("tag", 3, HG_LIST_ACTIONS_MAIL, &a,
                                          &err), HG_OK);
    assert_int_equal(a, HG_ACT_TAG);

    /* an upload has no header to tag */
    assert_int_equal(hg_list_action_parse("tag", 3, HG_LIST_ACTIONS_HTTP, &a,
                                          &err), HG_EINVAL);
    assert_string_equal(err.msg, "bad action \"tag\": expected reject, hold "
                        "or log");
    assert_int_equal(a, HG_ACT_TAG);

    /* fail verdicts are not list actions */
    assert_int_equal(hg_list_action_parse("tempfail", 8, HG_LIST_ACTIONS_MAIL,
                                          &a, &err), HG_EINVAL);
    assert_string_equal(err.msg, "bad action \"tempfail\": expected reject, "
                        "hold, tag or log");
    assert_int_equal(hg_list_action_parse("none", 4, HG_LIST_ACTIONS_MAIL, &a,
                                          &err), HG_EINVAL);
    assert_int_equal(hg_list_action_parse("rejectx", 6, HG_LIST_ACTIONS_MAIL,
                                          &a, &err), HG_OK);
    assert_int_equal(a, HG_ACT_REJECT);
    assert_int_equal(hg_list_action_parse("a-very-long-action-name", 23,
                                          HG_LIST_ACTIONS_MAIL, &a, &err),
                     HG_EINVAL);
}

/* ArchiveEncrypted and its kin: accept (none) or the channel's actions. */
static void
test_not_checked_action_is_accept_or_a_list_action(void **state)
{
    hg_err_t     err;
    hg_action_t  a = HG_ACT_REJECT;

    (void) state;
    assert_int_equal(hg_not_checked_action_parse("Accept", 6,
                                                 HG_LIST_ACTIONS_MAIL, &a,
                                                 &err), HG_OK);
    assert_int_equal(a, HG_ACT_NONE);
    assert_int_equal(hg_not_checked_action_parse("hold", 4,
                                                 HG_LIST_ACTIONS_MAIL, &a,
                                                 &err), HG_OK);
    assert_int_equal(a, HG_ACT_HOLD);
    assert_int_equal(hg_not_checked_action_parse("tag", 3,
                                                 HG_LIST_ACTIONS_HTTP, &a,
                                                 &err), HG_EINVAL);
    assert_string_equal(err.msg, "bad action \"tag\": expected accept, "
                        "reject, hold or log");
    assert_int_equal(a, HG_ACT_HOLD);
    assert_int_equal(hg_not_checked_action_parse("none", 4,
                                                 HG_LIST_ACTIONS_MAIL
                                                 | HG_ACT_BIT(HG_ACT_NONE),
                                                 &a, &err), HG_EINVAL);
    assert_string_equal(err.msg, "bad action \"none\": expected accept, "
                        "reject, hold, tag or log");
    assert_int_equal(hg_not_checked_action_parse("acceptx", 7,
                                                 HG_LIST_ACTIONS_MAIL, &a,
                                                 &err), HG_EINVAL);
    assert_int_equal(hg_not_checked_action_parse("accept", 3,
                                                 HG_LIST_ACTIONS_MAIL, &a,
                                                 &err), HG_EINVAL);
}

static void
test_list_action_repeat_names_both_places(void **state)
{
    hg_policy_t  p;
    hg_err_t     err;

    (void) state;
    hg_policy_init(&p);
    set_ok(&p, "hotline", "reject", 3);
    set_ok(&p, "review", "hold", 4);
    assert_int_equal(hg_policy_action(&p, "hotline"), HG_ACT_REJECT);
    assert_int_equal(hg_policy_action(&p, "review"), HG_ACT_HOLD);

    /* the same action again is a repeat too: one line per list */
    assert_int_equal(hg_policy_list_action(&p, "hotline", 7, "log", 3,
                                           HG_LIST_ACTIONS_MAIL,
                                           "/etc/b.conf", 9, &err),
                     HG_EINVAL);
    assert_string_equal(err.msg, "action for list \"hotline\" given twice: "
                        "first at /etc/a.conf:3, again at /etc/b.conf:9");
    assert_int_equal(hg_policy_action(&p, "hotline"), HG_ACT_REJECT);
    assert_int_equal(p.nlists, 2);

    /* list names are case-sensitive, as in the database */
    set_ok(&p, "Hotline", "log", 10);
    assert_int_equal(p.nlists, 3);
    assert_string_equal(p.lists[2].file, "/etc/a.conf");
    assert_int_equal(p.lists[2].line, 10);

    /* a bad name or action leaves the table as it was */
    assert_int_equal(hg_policy_list_action(&p, "x y", 3, "log", 3,
                                           HG_LIST_ACTIONS_MAIL, "f", 1, &err),
                     HG_EINVAL);
    assert_non_null(strstr(err.msg, "bad list name"));
    assert_int_equal(hg_policy_list_action(&p, "xy", 2, "drop", 4,
                                           HG_LIST_ACTIONS_MAIL, "f", 1, &err),
                     HG_EINVAL);
    assert_non_null(strstr(err.msg, "bad action \"drop\""));
    assert_int_equal(p.nlists, 3);
}

static void
test_list_action_table_is_bounded(void **state)
{
    static hg_policy_t  p;
    hg_err_t            err;
    char                name[16];
    int                 i;

    (void) state;
    hg_policy_init(&p);
    for (i = 0; i < HG_POLICY_MAX_LISTS; i++) {
        snprintf(name, sizeof(name), "l%d", i);
        set_ok(&p, name, "log", (unsigned) i + 1);
    }
    assert_int_equal(hg_policy_list_action(&p, "more", 4, "log", 3,
                                           HG_LIST_ACTIONS_MAIL, "f", 1, &err),
                     HG_ELIMIT);
    assert_non_null(strstr(err.msg, "more than 256 lists"));
    assert_int_equal(p.nlists, HG_POLICY_MAX_LISTS);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_name_rule_is_the_database_rule),
        cmocka_unit_test(test_list_action_names_are_the_channels),
        cmocka_unit_test(test_not_checked_action_is_accept_or_a_list_action),
        cmocka_unit_test(test_list_action_repeat_names_both_places),
        cmocka_unit_test(test_list_action_table_is_bounded),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
