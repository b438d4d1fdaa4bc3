/*
 * list_actions.c - the list-to-action settings of a configuration, checked
 * the same way for every channel.
 *
 * The milter's ListAction and nginx's hashgate_list_action used to check
 * list names each their own way (the milter took any word, nginx its own
 * character test) and disagreed on a repeat (refused by one, last-wins in
 * the other). Both now come here. A list name follows the rule of the
 * database format, hg_db_list_name_ok(), which "hashgate compile" and
 * hg_db_open() apply too: a name the database can never hold is a typo,
 * caught by -t instead of silently matching nothing.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hashgate/list_actions.h"
#include "db/db_format.h"

/* Room for the longest action name ("tempfail") and its NUL. */
#define ACTION_NAME_MAX  16

hg_status_t
hg_list_name_check(const char *name, size_t len, hg_err_t *err)
{
    char    buf[HG_LIST_NAME_MAX + 1];

    /* a NUL inside is not a name character: the copy then fails the rule */
    if (name != NULL && len > 0 && len <= HG_LIST_NAME_MAX
        && memchr(name, '\0', len) == NULL)
    {
        memcpy(buf, name, len);
        buf[len] = '\0';
        if (hg_db_list_name_ok(buf)) {
            return HG_OK;
        }
    }
    return hg_err_set(err, HG_EINVAL, "bad list name \"%.*s\": "
                      HG_DB_LIST_NAME_RULE, (int) (len > 80 ? 80 : len),
                      name != NULL ? name : "", HG_LIST_NAME_MAX);
}

/* "reject, hold, tag or log": the allowed actions, strongest first. */
static void
_expected(unsigned allowed, char *out, size_t outlen)
{
    static const hg_action_t  order[] = {
        HG_ACT_REJECT, HG_ACT_HOLD, HG_ACT_TAG, HG_ACT_LOG, HG_ACT_NONE
    };
    size_t  i, n = 0, k = 0, len = 0;

    for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        n += (allowed & HG_ACT_BIT(order[i])) != 0;
    }
    out[0] = '\0';
    for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        if (!(allowed & HG_ACT_BIT(order[i]))) {
            continue;
        }
        k++;
        snprintf(out + len, outlen - len, "%s%s",
                 k == 1 ? "" : k == n ? " or " : ", ",
                 hg_action_name(order[i]));
        len += strlen(out + len);
    }
}

hg_status_t
hg_list_action_parse(const char *name, size_t len, unsigned allowed,
                     hg_action_t *out, hg_err_t *err)
{
    char    buf[ACTION_NAME_MAX], want[64];
    int     a = -1;

    if (name != NULL && len < sizeof(buf) && memchr(name, '\0', len) == NULL) {
        memcpy(buf, name, len);
        buf[len] = '\0';
        a = hg_action_from_name(buf);
    }
    if (a < 0 || a >= 32 || !(allowed & HG_ACT_BIT(a))) {
        _expected(allowed, want, sizeof(want));
        return hg_err_set(err, HG_EINVAL, "bad action \"%.*s\": expected %s",
                          (int) (len > 80 ? 80 : len),
                          name != NULL ? name : "", want);
    }
    *out = (hg_action_t) a;
    return HG_OK;
}

hg_status_t
hg_not_checked_action_parse(const char *name, size_t len, unsigned allowed,
                            hg_action_t *out, hg_err_t *err)
{
    char    want[64];

    if (name != NULL && len == 6 && strncasecmp(name, "accept", 6) == 0) {
        *out = HG_ACT_NONE;
        return HG_OK;
    }
    /* "none" is no word for it: accept says what happens to the mail */
    allowed &= ~HG_ACT_BIT(HG_ACT_NONE);
    if (hg_list_action_parse(name, len, allowed, out, err) == HG_OK) {
        return HG_OK;
    }
    _expected(allowed, want, sizeof(want));
    return hg_err_set(err, HG_EINVAL, "bad action \"%.*s\": expected "
                      "accept, %s", (int) (len > 80 ? 80 : len),
                      name != NULL ? name : "", want);
}

hg_status_t
hg_policy_list_action(hg_policy_t *p, const char *list, size_t list_len,
                      const char *action, size_t action_len, unsigned allowed,
                      const char *file, unsigned long line, hg_err_t *err)
{
    hg_list_action_t  *la;
    hg_action_t        a = HG_ACT_NONE;
    size_t             i;

    if (hg_list_name_check(list, list_len, err) != HG_OK
        || hg_list_action_parse(action, action_len, allowed, &a, err)
           != HG_OK)
    {
        return HG_EINVAL;
    }
    if (file == NULL) {
        file = "-";
    }
    for (i = 0; i < p->nlists && i < HG_POLICY_MAX_LISTS; i++) {
        la = &p->lists[i];
        if (strlen(la->name) == list_len
            && memcmp(la->name, list, list_len) == 0)
        {
            return hg_err_set(err, HG_EINVAL, "action for list \"%s\" given "
                              "twice: first at %s:%lu, again at %s:%lu",
                              la->name, la->file != NULL ? la->file : "-",
                              la->line, file, line);
        }
    }
    if (p->nlists >= HG_POLICY_MAX_LISTS) {
        return hg_err_set(err, HG_ELIMIT, "more than %d lists with their "
                          "own action", HG_POLICY_MAX_LISTS);
    }
    la = &p->lists[p->nlists];
    memcpy(la->name, list, list_len);
    la->name[list_len] = '\0';
    la->action = a;
    la->file = file;
    la->line = line;
    p->nlists++;
    return HG_OK;
}
