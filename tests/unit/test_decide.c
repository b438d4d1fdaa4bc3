/*
 * test_decide.c - the policy: precedence, per-list actions, allow-lists,
 * monitor mode, fail modes, merging the verdicts of a message's parts and
 * its scan failures (the merge table), a hold that could not be made, and
 * what a match may do when its evidence record cannot be written.
 * Scan results are built by hand; no database is needed.
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

#include "hashgate/decide.h"

static void
add_match(hg_scan_result_t *r, const char *list, unsigned kind)
{
    hg_match_t  *m = &r->matches[r->nmatches++];

    r->nmatches_total++;
    m->list = (uint32_t) r->nmatches;
    m->list_name = list;
    m->list_version = "";
    m->kind = kind;
    m->alg = HG_ALG_SHA256;
}

static void
policy(hg_policy_t *p)
{
    hg_policy_init(p);
    assert_int_equal(hg_policy_set(p, "rej", HG_ACT_REJECT), HG_OK);
    assert_int_equal(hg_policy_set(p, "hold", HG_ACT_HOLD), HG_OK);
    assert_int_equal(hg_policy_set(p, "tag", HG_ACT_TAG), HG_OK);
    assert_int_equal(hg_policy_set(p, "log", HG_ACT_LOG), HG_OK);
}

static hg_verdict_t
decide_lists(const hg_policy_t *p, const char *const *lists)
{
    hg_scan_result_t  r;

    memset(&r, 0, sizeof(r));
    for (; *lists != NULL; lists++) {
        add_match(&r, *lists, HG_LIST_BLOCK);
    }
    return hg_decide(p, &r, HG_OK);
}

static void
test_decide_defaults_are_reject_and_tempfail(void **state)
{
    hg_policy_t  p;

    (void) state;
    hg_policy_init(&p);
    assert_int_equal(p.default_action, HG_ACT_REJECT);
    assert_int_equal(p.on_fail, HG_FAIL_TEMPFAIL);
    assert_int_equal(p.monitor, 0);
    assert_int_equal(p.nlists, 0);
    assert_int_equal(hg_policy_action(&p, "any"), HG_ACT_REJECT);
}

static void
test_decide_clean_object_gives_none(void **state)
{
    hg_policy_t       p;
    hg_scan_result_t  r;
    hg_verdict_t      v;

    (void) state;
    hg_policy_init(&p);
    memset(&r, 0, sizeof(r));
    v = hg_decide(&p, &r, HG_OK);
    assert_int_equal(v.action, HG_ACT_NONE);
    assert_int_equal(v.intended, HG_ACT_NONE);
    assert_false(v.matched);
    assert_false(v.failed);
    assert_false(v.monitor);
    assert_null(v.list);
    assert_null(v.allowed_by);
}

static void
test_decide_list_without_action_gets_default(void **state)
{
    hg_policy_t        p;
    hg_verdict_t       v;
    const char *const  l[] = { "other", NULL };

    (void) state;
    policy(&p);
    v = decide_lists(&p, l);
    assert_int_equal(v.action, HG_ACT_REJECT);
    assert_true(v.matched);
    assert_string_equal(v.list, "other");

    p.default_action = HG_ACT_TAG;
    v = decide_lists(&p, l);
    assert_int_equal(v.action, HG_ACT_TAG);
}

static void
test_decide_each_single_list_gives_its_action(void **state)
{
    hg_policy_t   p;
    hg_verdict_t  v;
    const char   *names[] = { "rej", "hold", "tag", "log" };
    hg_action_t   want[] = { HG_ACT_REJECT, HG_ACT_HOLD, HG_ACT_TAG,
                             HG_ACT_LOG };
    const char   *l[2] = { NULL, NULL };
    size_t        i;

    (void) state;
    policy(&p);
    for (i = 0; i < 4; i++) {
        l[0] = names[i];
        v = decide_lists(&p, l);
        assert_int_equal(v.action, want[i]);
        assert_int_equal(v.intended, want[i]);
        assert_string_equal(v.list, names[i]);
    }
}

static void
test_decide_strongest_action_wins_in_any_order(void **state)
{
    hg_policy_t        p;
    hg_verdict_t       v;
    const char *const  a[] = { "log", "tag", "hold", "rej", NULL };
    const char *const  b[] = { "rej", "hold", "tag", "log", NULL };
    const char *const  c[] = { "tag", "hold", "log", NULL };
    const char *const  d[] = { "log", "tag", "log", NULL };

    (void) state;
    policy(&p);
    v = decide_lists(&p, a);
    assert_int_equal(v.action, HG_ACT_REJECT);
    assert_string_equal(v.list, "rej");
    v = decide_lists(&p, b);
    assert_int_equal(v.action, HG_ACT_REJECT);
    assert_string_equal(v.list, "rej");
    v = decide_lists(&p, c);
    assert_int_equal(v.action, HG_ACT_HOLD);
    assert_string_equal(v.list, "hold");
    v = decide_lists(&p, d);
    assert_int_equal(v.action, HG_ACT_TAG);
    assert_string_equal(v.list, "tag");
}

static void
test_decide_allow_list_suppresses_every_action(void **state)
{
    hg_policy_t       p;
    hg_scan_result_t  r;
    hg_verdict_t      v;

    (void) state;
    policy(&p);
    memset(&r, 0, sizeof(r));
    add_match(&r, "rej", HG_LIST_BLOCK);
    add_match(&r, "known-good", HG_LIST_ALLOW);
    v = hg_decide(&p, &r, HG_OK);
    assert_int_equal(v.action, HG_ACT_NONE);
    assert_int_equal(v.intended, HG_ACT_NONE);
    assert_string_equal(v.allowed_by, "known-good");
    assert_true(v.matched);

    /* the allow-list first, in monitor mode too */
    memset(&r, 0, sizeof(r));
    add_match(&r, "known-good", HG_LIST_ALLOW);
    add_match(&r, "hold", HG_LIST_BLOCK);
    p.monitor = 1;
    v = hg_decide(&p, &r, HG_OK);
    assert_int_equal(v.action, HG_ACT_NONE);
    assert_string_equal(v.allowed_by, "known-good");
}

static void
test_decide_allow_list_alone_is_clean(void **state)
{
    hg_policy_t       p;
    hg_scan_result_t  r;
    hg_verdict_t      v;

    (void) state;
    policy(&p);
    memset(&r, 0, sizeof(r));
    add_match(&r, "known-good", HG_LIST_ALLOW);
    v = hg_decide(&p, &r, HG_OK);
    assert_int_equal(v.action, HG_ACT_NONE);
    assert_false(v.matched);
    assert_string_equal(v.allowed_by, "known-good");
}

static void
test_decide_monitor_turns_every_action_into_log(void **state)
{
    hg_policy_t   p;
    hg_verdict_t  v;
    const char   *names[] = { "rej", "hold", "tag", "log" };
    hg_action_t   want[] = { HG_ACT_REJECT, HG_ACT_HOLD, HG_ACT_TAG,
                             HG_ACT_LOG };
    const char   *l[2] = { NULL, NULL };
    size_t        i;

    (void) state;
    policy(&p);
    p.monitor = 1;
    for (i = 0; i < 4; i++) {
        l[0] = names[i];
        v = decide_lists(&p, l);
        assert_int_equal(v.action, HG_ACT_LOG);
        assert_int_equal(v.intended, want[i]);
        assert_true(v.matched);
        assert_true(v.monitor);
    }
}

static void
test_decide_monitor_leaves_clean_objects_clean(void **state)
{
    hg_policy_t       p;
    hg_scan_result_t  r;
    hg_verdict_t      v;

    (void) state;
    hg_policy_init(&p);
    p.monitor = 1;
    memset(&r, 0, sizeof(r));
    v = hg_decide(&p, &r, HG_OK);
    assert_int_equal(v.action, HG_ACT_NONE);
    assert_int_equal(v.intended, HG_ACT_NONE);
}

static void
test_decide_failed_scan_tempfails_by_default(void **state)
{
    hg_policy_t       p;
    hg_scan_result_t  r;
    hg_verdict_t      v;

    (void) state;
    hg_policy_init(&p);
    memset(&r, 0, sizeof(r));
    v = hg_decide(&p, &r, HG_ELIMIT);
    assert_int_equal(v.action, HG_ACT_TEMPFAIL);
    assert_true(v.failed);
    assert_int_equal(v.fail_status, HG_ELIMIT);

    v = hg_decide(&p, NULL, HG_EIO);
    assert_int_equal(v.action, HG_ACT_TEMPFAIL);
    assert_int_equal(v.fail_status, HG_EIO);

    /* no result at all is a failure, never clean */
    v = hg_decide(&p, NULL, HG_OK);
    assert_int_equal(v.action, HG_ACT_TEMPFAIL);
    assert_true(v.failed);
}

static void
test_decide_failed_scan_accepts_when_fail_open(void **state)
{
    hg_policy_t   p;
    hg_verdict_t  v;

    (void) state;
    hg_policy_init(&p);
    p.on_fail = HG_FAIL_ACCEPT;
    p.on_fail_set = 1;
    v = hg_decide(&p, NULL, HG_ENOMEM);
    assert_int_equal(v.action, HG_ACT_ACCEPT);
    assert_true(v.failed);
    assert_int_equal(v.fail_status, HG_ENOMEM);

    /* monitor mode does not turn a failure into log, and an explicit
     * accept is what would be done without it too */
    p.monitor = 1;
    v = hg_decide(&p, NULL, HG_ELIMIT);
    assert_int_equal(v.action, HG_ACT_ACCEPT);
    assert_int_equal(v.intended, HG_ACT_ACCEPT);
}

static void
test_decide_monitor_accepts_a_failure_unless_on_fail_is_explicit(void **state)
{
    hg_policy_t   p;
    hg_verdict_t  v;

    (void) state;
    hg_policy_init(&p);
    p.monitor = 1;
    assert_int_equal(hg_policy_fail_mode(&p), HG_FAIL_ACCEPT);
    v = hg_decide(&p, NULL, HG_ELIMIT);
    assert_int_equal(v.action, HG_ACT_ACCEPT);
    assert_int_equal(v.intended, HG_ACT_TEMPFAIL);
    assert_true(v.failed);
    assert_true(v.monitor);
    assert_int_equal(v.fail_status, HG_ELIMIT);

    /* settled for wrappers that read on_fail: the same answer, twice */
    hg_policy_finish(&p);
    assert_int_equal(p.on_fail, HG_FAIL_ACCEPT);
    hg_policy_finish(&p);
    v = hg_decide(&p, NULL, HG_EIO);
    assert_int_equal(v.action, HG_ACT_ACCEPT);
    assert_int_equal(v.intended, HG_ACT_TEMPFAIL);

    /* an explicit tempfail holds in monitor mode too */
    hg_policy_init(&p);
    p.monitor = 1;
    p.on_fail = HG_FAIL_TEMPFAIL;
    p.on_fail_set = 1;
    hg_policy_finish(&p);
    assert_int_equal(hg_policy_fail_mode(&p), HG_FAIL_TEMPFAIL);
    v = hg_decide(&p, NULL, HG_ELIMIT);
    assert_int_equal(v.action, HG_ACT_TEMPFAIL);
    assert_int_equal(v.intended, HG_ACT_TEMPFAIL);

    /* without monitor mode the default stays tempfail */
    hg_policy_init(&p);
    hg_policy_finish(&p);
    v = hg_decide(&p, NULL, HG_ELIMIT);
    assert_int_equal(v.action, HG_ACT_TEMPFAIL);
    assert_int_equal(v.intended, HG_ACT_TEMPFAIL);
    assert_false(v.monitor);
}

static void
test_decide_failed_scan_ignores_partial_matches(void **state)
{
    hg_policy_t       p;
    hg_scan_result_t  r;
    hg_verdict_t      v;

    (void) state;
    hg_policy_init(&p);
    memset(&r, 0, sizeof(r));
    add_match(&r, "x", HG_LIST_BLOCK);
    v = hg_decide(&p, &r, HG_ELIMIT);
    assert_int_equal(v.action, HG_ACT_TEMPFAIL);
    assert_false(v.matched);
}

/* A database list name may be HG_LIST_NAME_MAX bytes: it can have an action. */
static void
test_policy_longest_list_name_gets_its_action(void **state)
{
    hg_policy_t  p;
    char         name[HG_LIST_NAME_MAX + 1];

    (void) state;
    memset(name, 'n', HG_LIST_NAME_MAX);
    name[HG_LIST_NAME_MAX] = '\0';
    hg_policy_init(&p);
    assert_int_equal(hg_policy_set(&p, name, HG_ACT_HOLD), HG_OK);
    assert_int_equal(hg_policy_action(&p, name), HG_ACT_HOLD);
}

static void
test_policy_set_replaces_and_refuses_bad_input(void **state)
{
    hg_policy_t  p;
    char         name[80];
    size_t       i;

    (void) state;
    hg_policy_init(&p);
    assert_int_equal(hg_policy_set(&p, "a", HG_ACT_LOG), HG_OK);
    assert_int_equal(hg_policy_set(&p, "a", HG_ACT_HOLD), HG_OK);
    assert_int_equal(p.nlists, 1);
    assert_int_equal(hg_policy_action(&p, "a"), HG_ACT_HOLD);
    assert_int_equal(hg_policy_action(&p, "A"), HG_ACT_REJECT);

    assert_int_equal(hg_policy_set(&p, "", HG_ACT_LOG), HG_EINVAL);
    assert_int_equal(hg_policy_set(&p, NULL, HG_ACT_LOG), HG_EINVAL);
    memset(name, 'x', HG_LIST_NAME_MAX + 1);
    name[HG_LIST_NAME_MAX + 1] = '\0';
    assert_int_equal(hg_policy_set(&p, name, HG_ACT_LOG), HG_EINVAL);
    name[HG_LIST_NAME_MAX] = '\0';
    assert_int_equal(hg_policy_set(&p, name, HG_ACT_LOG), HG_OK);
    assert_int_equal(hg_policy_set(&p, "b", HG_ACT_TEMPFAIL), HG_EINVAL);
    assert_int_equal(hg_policy_set(&p, "b", HG_ACT_ACCEPT), HG_EINVAL);
    assert_int_equal(hg_policy_set(&p, "b", (hg_action_t) 99), HG_EINVAL);

    hg_policy_init(&p);
    for (i = 0; i < HG_POLICY_MAX_LISTS; i++) {
        snprintf(name, sizeof(name), "l%zu", i);
        assert_int_equal(hg_policy_set(&p, name, HG_ACT_TAG), HG_OK);
    }
    assert_int_equal(hg_policy_set(&p, "one-more", HG_ACT_TAG), HG_ELIMIT);
    assert_int_equal(hg_policy_set(&p, "l0", HG_ACT_LOG), HG_OK);
}

static void
test_action_names_round_trip_any_case(void **state)
{
    int  a;

    (void) state;
    for (a = HG_ACT_NONE; a <= HG_ACT_ACCEPT; a++) {
        assert_int_equal(hg_action_from_name(hg_action_name((hg_action_t) a)),
                         a);
    }
    assert_string_equal(hg_action_name(HG_ACT_REJECT), "reject");
    assert_string_equal(hg_action_name(HG_ACT_HOLD), "hold");
    assert_int_equal(hg_action_from_name("REJECT"), HG_ACT_REJECT);
    assert_int_equal(hg_action_from_name("Hold"), HG_ACT_HOLD);
    assert_int_equal(hg_action_from_name("tAg"), HG_ACT_TAG);
    assert_int_equal(hg_action_from_name("bounce"), -1);
    assert_int_equal(hg_action_from_name(""), -1);
    assert_int_equal(hg_action_from_name(NULL), -1);
    assert_int_equal(hg_action_from_name("rejectx"), -1);
}

static hg_verdict_t
verdict(hg_action_t a, const char *list)
{
    hg_verdict_t  v;

    memset(&v, 0, sizeof(v));
    v.action = a;
    v.intended = a;
    v.list = list;
    v.matched = list != NULL;
    if (a == HG_ACT_TEMPFAIL || a == HG_ACT_ACCEPT) {
        v.failed = 1;
        v.fail_status = HG_ELIMIT;
    }
    return v;
}

/* Every ordered pair: the merge keeps the stronger, whichever comes first. */
static void
test_merge_order_for_every_pair(void **state)
{
    const hg_action_t  order[] = { HG_ACT_NONE, HG_ACT_ACCEPT, HG_ACT_LOG,
                                   HG_ACT_TAG, HG_ACT_TEMPFAIL, HG_ACT_HOLD,
                                   HG_ACT_REJECT };
    size_t             i, k;
    hg_verdict_t       m, a, b;

    (void) state;
    for (i = 0; i < 7; i++) {
        for (k = 0; k < 7; k++) {
            a = verdict(order[i], order[i] == HG_ACT_NONE ? NULL : "A");
            b = verdict(order[k], order[k] == HG_ACT_NONE ? NULL : "B");
            memset(&m, 0, sizeof(m));
            hg_verdict_merge(&m, &a);
            hg_verdict_merge(&m, &b);
            assert_int_equal(m.action, order[i > k ? i : k]);
            assert_int_equal(m.failed, a.failed || b.failed);
        }
    }
}

static void
test_merge_unscanned_part_keeps_message_from_passing(void **state)
{
    hg_verdict_t  m, clean, fail, tag;

    (void) state;
    memset(&m, 0, sizeof(m));
    clean = verdict(HG_ACT_NONE, NULL);
    fail = verdict(HG_ACT_TEMPFAIL, NULL);
    tag = verdict(HG_ACT_TAG, "t");
    hg_verdict_merge(&m, &clean);
    hg_verdict_merge(&m, &fail);
    hg_verdict_merge(&m, &tag);
    hg_verdict_merge(&m, &clean);
    assert_int_equal(m.action, HG_ACT_TEMPFAIL);
    assert_true(m.failed);
    assert_true(m.matched);
    assert_int_equal(m.fail_status, HG_ELIMIT);
}

static void
test_merge_sure_reject_outranks_unscanned_part(void **state)
{
    hg_verdict_t  m, fail, rej;

    (void) state;
    memset(&m, 0, sizeof(m));
    fail = verdict(HG_ACT_TEMPFAIL, NULL);
    rej = verdict(HG_ACT_REJECT, "r");
    hg_verdict_merge(&m, &fail);
    hg_verdict_merge(&m, &rej);
    assert_int_equal(m.action, HG_ACT_REJECT);
    assert_string_equal(m.list, "r");
    assert_true(m.failed);
}

static void
test_merge_keeps_list_of_strongest_and_first_allow(void **state)
{
    hg_verdict_t  m, a, b, c;

    (void) state;
    memset(&m, 0, sizeof(m));
    a = verdict(HG_ACT_TAG, "tagger");
    b = verdict(HG_ACT_HOLD, "holder");
    c = verdict(HG_ACT_NONE, NULL);
    c.allowed_by = "good";
    hg_verdict_merge(&m, &a);
    hg_verdict_merge(&m, &c);
    hg_verdict_merge(&m, &b);
    hg_verdict_merge(&m, &a);
    assert_int_equal(m.action, HG_ACT_HOLD);
    assert_string_equal(m.list, "holder");
    assert_string_equal(m.allowed_by, "good");
}

static void
test_merge_monitor_keeps_strongest_intended(void **state)
{
    hg_policy_t        p;
    hg_verdict_t       m, v;
    const char *const  l1[] = { "tag", NULL };
    const char *const  l2[] = { "rej", NULL };
    const char *const  l3[] = { "hold", NULL };

    (void) state;
    policy(&p);
    p.monitor = 1;
    memset(&m, 0, sizeof(m));
    v = decide_lists(&p, l1);
    hg_verdict_merge(&m, &v);
    v = decide_lists(&p, l2);
    hg_verdict_merge(&m, &v);
    v = decide_lists(&p, l3);
    hg_verdict_merge(&m, &v);
    assert_int_equal(m.action, HG_ACT_LOG);
    assert_int_equal(m.intended, HG_ACT_REJECT);
    assert_string_equal(m.list, "rej");
    assert_true(m.monitor);
}

/*
 * The merge table (docs/operators.md): the strongest part of a message and
 * a part that could not be scanned, in each mode, whatever the failure and
 * whichever comes first. A sure reject or hold stands; tag and log get the
 * fail verdict; monitor mode never changes the flow unless OnFail is set.
 */
enum { MODE_TEMPFAIL, MODE_ACCEPT, MODE_MONITOR, MODE_MONITOR_TEMPFAIL };

static const struct {
    const char   *list;         /* the strongest part's list, or NULL */
    int           mode;
    hg_action_t   action;       /* the message's */
    hg_action_t   intended;
} merge_table[] = {
    { NULL,   MODE_TEMPFAIL, HG_ACT_TEMPFAIL, HG_ACT_TEMPFAIL },
    { "log",  MODE_TEMPFAIL, HG_ACT_TEMPFAIL, HG_ACT_TEMPFAIL },
    { "tag",  MODE_TEMPFAIL, HG_ACT_TEMPFAIL, HG_ACT_TEMPFAIL },
    { "hold", MODE_TEMPFAIL, HG_ACT_HOLD,     HG_ACT_HOLD },
    { "rej",  MODE_TEMPFAIL, HG_ACT_REJECT,   HG_ACT_REJECT },

    { NULL,   MODE_ACCEPT,   HG_ACT_ACCEPT,   HG_ACT_ACCEPT },
    { "log",  MODE_ACCEPT,   HG_ACT_LOG,      HG_ACT_LOG },
    { "tag",  MODE_ACCEPT,   HG_ACT_TAG,      HG_ACT_TAG },
    { "hold", MODE_ACCEPT,   HG_ACT_HOLD,     HG_ACT_HOLD },
    { "rej",  MODE_ACCEPT,   HG_ACT_REJECT,   HG_ACT_REJECT },

    /* intended: what would be done without monitor mode */
    { NULL,   MODE_MONITOR,  HG_ACT_ACCEPT,   HG_ACT_TEMPFAIL },
    { "log",  MODE_MONITOR,  HG_ACT_LOG,      HG_ACT_TEMPFAIL },
    { "tag",  MODE_MONITOR,  HG_ACT_LOG,      HG_ACT_TEMPFAIL },
    { "hold", MODE_MONITOR,  HG_ACT_LOG,      HG_ACT_HOLD },
    { "rej",  MODE_MONITOR,  HG_ACT_LOG,      HG_ACT_REJECT },

    { NULL,   MODE_MONITOR_TEMPFAIL, HG_ACT_TEMPFAIL, HG_ACT_TEMPFAIL },
    { "log",  MODE_MONITOR_TEMPFAIL, HG_ACT_TEMPFAIL, HG_ACT_TEMPFAIL },
    { "tag",  MODE_MONITOR_TEMPFAIL, HG_ACT_TEMPFAIL, HG_ACT_TEMPFAIL },
    { "hold", MODE_MONITOR_TEMPFAIL, HG_ACT_TEMPFAIL, HG_ACT_HOLD },
    { "rej",  MODE_MONITOR_TEMPFAIL, HG_ACT_TEMPFAIL, HG_ACT_REJECT },
};

static void
mode_policy(hg_policy_t *p, int mode)
{
    policy(p);
    p->monitor = mode == MODE_MONITOR || mode == MODE_MONITOR_TEMPFAIL;
    p->on_fail = mode == MODE_ACCEPT ? HG_FAIL_ACCEPT : HG_FAIL_TEMPFAIL;
    p->on_fail_set = mode == MODE_ACCEPT || mode == MODE_MONITOR_TEMPFAIL;
    hg_policy_finish(p);
}

static void
test_merge_table_parts_and_scan_failures(void **state)
{
    const hg_status_t  fails[] = { HG_ELIMIT, HG_EFORMAT, HG_EIO, HG_ENOMEM,
                                   HG_ENOENT };
    hg_policy_t        p;
    hg_verdict_t       m, part, clean;
    hg_action_t        a;
    size_t             i, f;
    int                order;
    const char        *lists[2] = { NULL, NULL };

    (void) state;
    for (i = 0; i < sizeof(merge_table) / sizeof(merge_table[0]); i++) {
        mode_policy(&p, merge_table[i].mode);
        lists[0] = merge_table[i].list;
        part = decide_lists(&p, lists);
        clean = decide_lists(&p, lists + 1);
        for (f = 0; f < sizeof(fails) / sizeof(fails[0]); f++) {
            for (order = 0; order < 2; order++) {
                memset(&m, 0, sizeof(m));
                hg_verdict_merge(&m, &clean);
                if (order == 0) {
                    hg_verdict_merge(&m, &part);
                    a = hg_verdict_fail(&p, &m, fails[f]);
                } else {
                    a = hg_verdict_fail(&p, &m, fails[f]);
                    hg_verdict_merge(&m, &part);
                }
                hg_verdict_merge(&m, &clean);
#define ROW_CHECK(cond)                                                   \
    do {                                                                  \
        if (!(cond)) {                                                    \
            print_message("merge table row %zu (%s), %s, %s first: %s\n",  \
                          i, lists[0] ? lists[0] : "clean",               \
                          hg_status_str(fails[f]),                        \
                          order ? "failure" : "part", #cond);             \
            fail();                                                       \
        }                                                                 \
    } while (0)

                ROW_CHECK(order == 1 || a == merge_table[i].action);
                ROW_CHECK(m.action == merge_table[i].action);
                ROW_CHECK(m.intended == merge_table[i].intended);
                ROW_CHECK(m.failed && m.fail_status == fails[f]);
                ROW_CHECK(m.monitor == p.monitor);
                ROW_CHECK(m.matched == (merge_table[i].list != NULL));
                ROW_CHECK(lists[0] != NULL ? m.list != NULL
                                             && strcmp(m.list, lists[0]) == 0
                                           : m.list == NULL);
#undef ROW_CHECK
            }
        }
    }
}

/* Only a reject is settled: a hold must still see a later reject. */
static void
test_verdict_settled_only_by_reject(void **state)
{
    hg_action_t   a;
    hg_verdict_t  v;

    (void) state;
    for (a = HG_ACT_NONE; a <= HG_ACT_ACCEPT; a++) {
        v = verdict(a, "x");
        assert_int_equal(hg_verdict_settled(&v), a == HG_ACT_REJECT);
    }
}

static void
test_hold_failed_gives_the_fail_verdict(void **state)
{
    hg_policy_t   p;
    hg_verdict_t  v, out;
    hg_action_t   a;

    (void) state;
    policy(&p);
    v = verdict(HG_ACT_HOLD, "hold");
    out = hg_decide_hold_failed(&p, &v, HG_EIO);
    assert_int_equal(out.action, HG_ACT_TEMPFAIL);
    assert_int_equal(out.intended, HG_ACT_TEMPFAIL);
    assert_true(out.failed);
    assert_int_equal(out.fail_status, HG_EIO);
    assert_string_equal(out.list, "hold");
    assert_true(out.matched);

    /* over a limit the hold had outranked: the cause is the hold's */
    v.failed = 1;
    v.fail_status = HG_ELIMIT;
    out = hg_decide_hold_failed(&p, &v, HG_EIO);
    assert_int_equal(out.fail_status, HG_EIO);

    p.on_fail = HG_FAIL_ACCEPT;
    p.on_fail_set = 1;
    v = verdict(HG_ACT_HOLD, "hold");
    out = hg_decide_hold_failed(&p, &v, HG_EIO);
    assert_int_equal(out.action, HG_ACT_ACCEPT);
    assert_true(out.failed);

    /* anything but a hold is left alone */
    for (a = HG_ACT_NONE; a <= HG_ACT_ACCEPT; a++) {
        if (a == HG_ACT_HOLD) {
            continue;
        }
        v = verdict(a, "x");
        out = hg_decide_hold_failed(&p, &v, HG_EIO);
        assert_memory_equal(&out, &v, sizeof(v));
    }
}

/* No evidence, no action: nothing passes whose only trace would be the
 * fallback log; a reject or hold never becomes weaker. */
static void
test_evidence_failed_reject_and_hold_stand_log_and_tag_tempfail(void **state)
{
    hg_policy_t   p;
    hg_verdict_t  v, out;
    hg_action_t   a;

    (void) state;
    policy(&p);
    for (a = HG_ACT_LOG; a <= HG_ACT_REJECT; a++) {
        v = verdict(a, "some-list");
        out = hg_decide_evidence_failed(&p, &v);
        assert_int_equal(out.action, a >= HG_ACT_HOLD ? a : HG_ACT_TEMPFAIL);
        assert_int_equal(out.intended, a);          /* what it asked for */
        assert_true(out.failed);
        assert_int_equal(out.fail_status, HG_EIO);
        assert_string_equal(out.list, "some-list");
    }

    /* fail-open: log and tag pass as asked (tag keeps its header) */
    p.on_fail = HG_FAIL_ACCEPT;
    for (a = HG_ACT_LOG; a <= HG_ACT_REJECT; a++) {
        v = verdict(a, "some-list");
        out = hg_decide_evidence_failed(&p, &v);
        assert_int_equal(out.action, a);
        assert_true(out.failed);
    }
}

static void
test_evidence_failed_monitor_and_fail_verdicts(void **state)
{
    hg_policy_t        p;
    hg_verdict_t       v, out;
    const char *const  rej[] = { "rej", NULL };

    (void) state;
    policy(&p);
    p.monitor = 1;
    v = decide_lists(&p, rej);
    out = hg_decide_evidence_failed(&p, &v);
    /* monitor mode never changes the flow: the match is still only logged */
    assert_int_equal(out.action, HG_ACT_LOG);
    assert_int_equal(out.intended, HG_ACT_REJECT);
    assert_true(out.monitor);
    assert_true(out.failed);

    /* unless OnFail was set explicitly: then it applies, as for a scan */
    p.on_fail = HG_FAIL_TEMPFAIL;
    p.on_fail_set = 1;
    out = hg_decide_evidence_failed(&p, &v);
    assert_int_equal(out.action, HG_ACT_TEMPFAIL);
    assert_int_equal(out.intended, HG_ACT_REJECT);
    p.on_fail_set = 0;

    /* a fail verdict, and no action, stay as they are, with their cause */
    v = verdict(HG_ACT_TEMPFAIL, "some-list");
    out = hg_decide_evidence_failed(&p, &v);
    assert_int_equal(out.action, HG_ACT_TEMPFAIL);
    assert_int_equal(out.fail_status, HG_ELIMIT);
    v = verdict(HG_ACT_ACCEPT, NULL);
    out = hg_decide_evidence_failed(&p, &v);
    assert_int_equal(out.action, HG_ACT_ACCEPT);
    v = verdict(HG_ACT_NONE, NULL);
    out = hg_decide_evidence_failed(&p, &v);
    assert_int_equal(out.action, HG_ACT_NONE);
    assert_false(out.failed);
}

/*
 * A file inside an archive that could not be hashed gets the admin's
 * choice for such files: accept (none) by default, the configured action
 * otherwise, log in monitor mode with the action kept as intended; never
 * the fail verdict, and never a list.
 */
static void
test_not_checked_gives_the_configured_action(void **state)
{
    hg_policy_t   p;
    hg_verdict_t  v, m;

    (void) state;
    hg_policy_init(&p);
    v = hg_decide_not_checked(&p, 1);
    assert_int_equal(v.action, HG_ACT_NONE);
    assert_int_equal(v.intended, HG_ACT_NONE);
    assert_false(v.failed);
    assert_false(v.matched);
    assert_null(v.list);

    p.archive_encrypted = HG_ACT_HOLD;
    p.archive_unreadable = HG_ACT_REJECT;
    v = hg_decide_not_checked(&p, 1);
    assert_int_equal(v.action, HG_ACT_HOLD);
    v = hg_decide_not_checked(&p, 0);
    assert_int_equal(v.action, HG_ACT_REJECT);
    assert_false(v.failed);

    /* merged with a tag of another part, the stronger wins */
    memset(&m, 0, sizeof(m));
    m.action = m.intended = HG_ACT_TAG;
    hg_verdict_merge(&m, &v);
    assert_int_equal(m.action, HG_ACT_REJECT);

    p.monitor = 1;
    v = hg_decide_not_checked(&p, 1);
    assert_int_equal(v.action, HG_ACT_LOG);
    assert_int_equal(v.intended, HG_ACT_HOLD);
    assert_true(v.monitor);
    p.archive_encrypted = HG_ACT_NONE;
    v = hg_decide_not_checked(&p, 1);
    assert_int_equal(v.action, HG_ACT_NONE);
}

static void
test_image_without_a_hash_gets_image_limit_or_accept(void **state)
{
    hg_policy_t   p;
    hg_verdict_t  v;

    (void) state;
    hg_policy_init(&p);
    /* it did not decode: accepted (its bytes were matched anyway) */
    v = hg_decide_image(&p, HG_EFORMAT);
    assert_int_equal(v.action, HG_ACT_NONE);
    assert_false(v.failed);
    assert_false(v.matched);

    /* a limit, by default: the fail verdict, as archive limits */
    assert_int_equal(p.image_limit, HG_ACT_TEMPFAIL);
    v = hg_decide_image(&p, HG_ELIMIT);
    assert_int_equal(v.action, HG_ACT_TEMPFAIL);
    assert_true(v.failed);
    assert_int_equal(v.fail_status, HG_ELIMIT);
    p.on_fail = HG_FAIL_ACCEPT;
    v = hg_decide_image(&p, HG_ELIMIT);
    assert_int_equal(v.action, HG_ACT_ACCEPT);

    /* a configured action, under monitor mode like any other */
    p.image_limit = HG_ACT_REJECT;
    v = hg_decide_image(&p, HG_ELIMIT);
    assert_int_equal(v.action, HG_ACT_REJECT);
    assert_false(v.failed);
    p.monitor = 1;
    v = hg_decide_image(&p, HG_ELIMIT);
    assert_int_equal(v.action, HG_ACT_LOG);
    assert_int_equal(v.intended, HG_ACT_REJECT);
    v = hg_decide_image(&p, HG_EFORMAT);
    assert_int_equal(v.action, HG_ACT_NONE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decide_defaults_are_reject_and_tempfail),
        cmocka_unit_test(test_decide_clean_object_gives_none),
        cmocka_unit_test(test_decide_list_without_action_gets_default),
        cmocka_unit_test(test_decide_each_single_list_gives_its_action),
        cmocka_unit_test(test_decide_strongest_action_wins_in_any_order),
        cmocka_unit_test(test_decide_allow_list_suppresses_every_action),
        cmocka_unit_test(test_decide_allow_list_alone_is_clean),
        cmocka_unit_test(test_decide_monitor_turns_every_action_into_log),
        cmocka_unit_test(test_decide_monitor_leaves_clean_objects_clean),
        cmocka_unit_test(test_decide_failed_scan_tempfails_by_default),
        cmocka_unit_test(test_decide_failed_scan_accepts_when_fail_open),
        cmocka_unit_test(test_decide_monitor_accepts_a_failure_unless_on_fail_is_explicit),
        cmocka_unit_test(test_decide_failed_scan_ignores_partial_matches),
        cmocka_unit_test(test_policy_set_replaces_and_refuses_bad_input),
        cmocka_unit_test(test_policy_longest_list_name_gets_its_action),
        cmocka_unit_test(test_action_names_round_trip_any_case),
        cmocka_unit_test(test_merge_order_for_every_pair),
        cmocka_unit_test(test_merge_unscanned_part_keeps_message_from_passing),
        cmocka_unit_test(test_merge_sure_reject_outranks_unscanned_part),
        cmocka_unit_test(test_merge_keeps_list_of_strongest_and_first_allow),
        cmocka_unit_test(test_merge_monitor_keeps_strongest_intended),
        cmocka_unit_test(test_evidence_failed_reject_and_hold_stand_log_and_tag_tempfail),
        cmocka_unit_test(test_evidence_failed_monitor_and_fail_verdicts),
        cmocka_unit_test(test_merge_table_parts_and_scan_failures),
        cmocka_unit_test(test_verdict_settled_only_by_reject),
        cmocka_unit_test(test_hold_failed_gives_the_fail_verdict),
        cmocka_unit_test(test_not_checked_gives_the_configured_action),
        cmocka_unit_test(test_image_without_a_hash_gets_image_limit_or_accept),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
