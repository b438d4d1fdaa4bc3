/*
 * decide.c - the policy: what to do about a scanned object or message.
 *
 * Every wrapper (milter, nginx module, CLI) asks this file and applies the
 * answer; none of them decides on its own, so the rules below hold
 * everywhere:
 *
 *   - each matched block list maps to its own action or the default one,
 *     and the strongest wins: reject > hold > tag > log;
 *   - a match on an allow-list suppresses every action on that object
 *     (the verdict names the allow-list in allowed_by);
 *   - monitor mode turns any action into log and keeps the real one in
 *     intended;
 *   - a scan that did not complete gives the fail verdict (tempfail or
 *     accept), never "clean";
 *   - monitor mode never changes the flow: there a failure is accepted,
 *     its verdict keeping in intended what would have been done (tempfail
 *     by default), unless on_fail was set explicitly, which then applies
 *     as given. An operator trying the filter out must not find mail
 *     delayed by a limit he has not tuned yet; one who wants unscanned
 *     mail held back in monitor mode too says so;
 *   - the verdicts of a message's parts and of its scan failures merge
 *     into one, the same whichever channel and whichever order: a sure
 *     reject or hold outranks a part that could not be scanned, which
 *     outranks tag and log (hg_verdict_merge, hg_verdict_fail);
 *   - a hold that could not be made gives the fail verdict
 *     (hg_decide_hold_failed);
 *   - a match whose evidence record could not be written never gets a
 *     weaker action, and a match that would pass gets the fail verdict
 *     (hg_decide_evidence_failed).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <string.h>
#include <strings.h>

#include "hashgate/decide.h"

static const char *const _action_names[] = {
    [HG_ACT_NONE]     = "none",
    [HG_ACT_LOG]      = "log",
    [HG_ACT_TAG]      = "tag",
    [HG_ACT_HOLD]     = "hold",
    [HG_ACT_REJECT]   = "reject",
    [HG_ACT_TEMPFAIL] = "tempfail",
    [HG_ACT_ACCEPT]   = "accept",
};

#define ACTION_COUNT  (sizeof(_action_names) / sizeof(_action_names[0]))

void
hg_policy_init(hg_policy_t *p)
{
    memset(p, 0, sizeof(*p));
    p->default_action = HG_ACT_REJECT;
    p->on_fail = HG_FAIL_TEMPFAIL;
    p->on_fail_set = 0;
    p->monitor = 0;
    p->image_limit = HG_ACT_TEMPFAIL;
}

hg_fail_mode_t
hg_policy_fail_mode(const hg_policy_t *p)
{
    if (p->monitor && !p->on_fail_set) {
        return HG_FAIL_ACCEPT;
    }
    return p->on_fail;
}

void
hg_policy_finish(hg_policy_t *p)
{
    p->on_fail = hg_policy_fail_mode(p);
}

/*
 * Set the action of the list called list, replacing an earlier setting.
 * Only match actions (none, log, tag, hold, reject) are accepted: tempfail
 * and accept are fail verdicts, not something a list can ask for. Returns
 * HG_EINVAL for an empty or too long name or a bad action, HG_ELIMIT when
 * HG_POLICY_MAX_LISTS lists already have their own action.
 */
hg_status_t
hg_policy_set(hg_policy_t *p, const char *list, hg_action_t a)
{
    size_t  i, len;

    if (list == NULL || (len = strlen(list)) == 0
        || len >= sizeof(p->lists[0].name)) {
        return HG_EINVAL;
    }
    if ((int) a < (int) HG_ACT_NONE || (int) a > (int) HG_ACT_REJECT) {
        return HG_EINVAL;
    }
    for (i = 0; i < p->nlists; i++) {
        if (strcmp(p->lists[i].name, list) == 0) {
            p->lists[i].action = a;
            return HG_OK;
        }
    }
    if (p->nlists >= HG_POLICY_MAX_LISTS) {
        return HG_ELIMIT;
    }
    memcpy(p->lists[p->nlists].name, list, len + 1);
    p->lists[p->nlists].action = a;
    p->nlists++;
    return HG_OK;
}

/* The list's own action, else the default. List names are case-sensitive. */
hg_action_t
hg_policy_action(const hg_policy_t *p, const char *list)
{
    size_t  i;

    if (list != NULL) {
        for (i = 0; i < p->nlists && i < HG_POLICY_MAX_LISTS; i++) {
            if (strcmp(p->lists[i].name, list) == 0) {
                return p->lists[i].action;
            }
        }
    }
    return p->default_action;
}

/* The action's name; "unknown" for a value outside hg_action_t. */
const char *
hg_action_name(hg_action_t a)
{
    if ((unsigned) a >= ACTION_COUNT) {
        return "unknown";
    }
    return _action_names[a];
}

/* The action called name, any case; -1 if unknown or NULL. */
int
hg_action_from_name(const char *name)
{
    size_t  i;

    if (name == NULL) {
        return -1;
    }
    for (i = 0; i < ACTION_COUNT; i++) {
        if (strcasecmp(name, _action_names[i]) == 0) {
            return (int) i;
        }
    }
    return -1;
}

/*
 * Strength of a match action (reject > hold > tag > log > none), used
 * within one object.
 */
static int
_match_rank(hg_action_t a)
{
    switch (a) {
    case HG_ACT_REJECT: return 4;
    case HG_ACT_HOLD:   return 3;
    case HG_ACT_TAG:    return 2;
    case HG_ACT_LOG:    return 1;
    default:            return 0;
    }
}

/*
 * Strength across a message's parts: reject > hold > tempfail > tag > log >
 * accept > none. A part we could not scan outranks tag and log, so the
 * message is not delivered as if it had been scanned unless the fail mode
 * is accept. A part that is certainly listed for reject or hold outranks
 * the failure, because that decision is already sure: a reject deferred
 * instead would only be sent again (and, with the fail mode accept, let
 * in), and a held item is preserved whole for review, the unscanned rest
 * with it, where a deferral would keep nothing. In monitor mode every
 * match is log and a failure accept, so the flow never changes there;
 * intended merges by the same ranks and keeps what would have been done.
 */
static int
_merge_rank(hg_action_t a)
{
    switch (a) {
    case HG_ACT_REJECT:   return 6;
    case HG_ACT_HOLD:     return 5;
    case HG_ACT_TEMPFAIL: return 4;
    case HG_ACT_TAG:      return 3;
    case HG_ACT_LOG:      return 2;
    case HG_ACT_ACCEPT:   return 1;
    default:              return 0;
    }
}

/*
 * Decide for one object. A scan_status other than HG_OK, or a NULL res,
 * gives the fail verdict: action HG_ACT_TEMPFAIL or HG_ACT_ACCEPT per
 * hg_policy_fail_mode(p), intended what the fail mode would be without
 * monitor mode, failed = 1, fail_status = scan_status (HG_EINVAL when res
 * is NULL with HG_OK). Otherwise: matched and list name the strongest block
 * list; any allow-list match sets allowed_by and makes action and intended
 * HG_ACT_NONE; in monitor mode (monitor = 1) action is HG_ACT_LOG when
 * intended is an action. Strings in the verdict point into res (the database mapping).
 */
hg_verdict_t
hg_decide(const hg_policy_t *p, const hg_scan_result_t *res,
          hg_status_t scan_status)
{
    hg_verdict_t       v;
    const hg_match_t  *m;
    hg_action_t        a, best = HG_ACT_NONE;
    size_t             i, n;

    memset(&v, 0, sizeof(v));
    v.action = HG_ACT_NONE;
    v.intended = HG_ACT_NONE;
    v.fail_status = HG_OK;
    v.monitor = p->monitor != 0;

    if (scan_status != HG_OK || res == NULL) {
        v.failed = 1;
        v.fail_status = scan_status != HG_OK ? scan_status : HG_EINVAL;
        v.action = hg_policy_fail_mode(p) == HG_FAIL_ACCEPT ? HG_ACT_ACCEPT
                                                            : HG_ACT_TEMPFAIL;
        /* what the default fail mode would do, had monitor mode not
         * made it accept */
        v.intended = p->monitor && !p->on_fail_set ? HG_ACT_TEMPFAIL
                                                   : v.action;
        return v;
    }

    n = res->nmatches < HG_SCAN_MAX_MATCHES ? res->nmatches
                                            : HG_SCAN_MAX_MATCHES;
    for (i = 0; i < n; i++) {
        m = &res->matches[i];
        if (m->kind == HG_LIST_ALLOW) {
            if (v.allowed_by == NULL) {
                v.allowed_by = m->list_name;
            }
            continue;
        }
        a = hg_policy_action(p, m->list_name);
        if (!v.matched || _match_rank(a) > _match_rank(best)) {
            best = a;
            v.list = m->list_name;
        }
        v.matched = 1;
    }

    if (_match_rank(best) == 0 || v.allowed_by != NULL) {
        best = HG_ACT_NONE;
    }
    v.intended = best;
    v.action = (p->monitor && best != HG_ACT_NONE) ? HG_ACT_LOG : best;
    return v;
}

/*
 * The verdict of something not checked whose action the admin chose (a
 * file inside an archive that could not be hashed, an image past a limit):
 * a, under monitor mode like any other; list NULL, failed 0.
 */
static hg_verdict_t
_decide_configured(const hg_policy_t *p, hg_action_t a)
{
    hg_verdict_t  v;

    memset(&v, 0, sizeof(v));
    v.fail_status = HG_OK;
    v.monitor = p->monitor != 0;
    v.intended = a;
    v.action = (p->monitor && a != HG_ACT_NONE) ? HG_ACT_LOG : a;
    return v;
}

/*
 * A file inside a container that could not be hashed is not a scan failure
 * (the archive was read; this one file cannot be): the admin's choice for
 * such files applies, recorded as intended, and monitor mode turns it into
 * log like a match.
 */
hg_verdict_t
hg_decide_not_checked(const hg_policy_t *p, int encrypted)
{
    return _decide_configured(p, encrypted ? p->archive_encrypted
                                           : p->archive_unreadable);
}

hg_verdict_t
hg_decide_image(const hg_policy_t *p, hg_status_t st)
{
    if (st != HG_ELIMIT) {
        return _decide_configured(p, HG_ACT_NONE);
    }
    if (p->image_limit == HG_ACT_TEMPFAIL) {
        return hg_decide(p, NULL, HG_ELIMIT);
    }
    return _decide_configured(p, p->image_limit);
}

/*
 * Fold the verdict of one more part into into. The stronger action (by
 * _merge_rank) wins and brings its list; intended is merged the same way;
 * matched and failed accumulate; the first allowed_by and the first failure
 * status are kept. A zeroed hg_verdict_t is a valid starting point.
 */
void
hg_verdict_merge(hg_verdict_t *into, const hg_verdict_t *v)
{
    int  take;

    take = _merge_rank(v->action) > _merge_rank(into->action)
           || (_merge_rank(v->action) == _merge_rank(into->action)
               && _merge_rank(v->intended) > _merge_rank(into->intended));

    if (_merge_rank(v->intended) > _merge_rank(into->intended)) {
        into->intended = v->intended;
    }
    if (take) {
        into->action = v->action;
        if (v->list != NULL) {
            into->list = v->list;
        }
    }
    if (into->list == NULL) {
        into->list = v->list;
    }
    if (into->allowed_by == NULL) {
        into->allowed_by = v->allowed_by;
    }
    if (v->failed && !into->failed) {
        into->fail_status = v->fail_status;
    }
    into->matched |= v->matched;
    into->failed |= v->failed;
    into->monitor |= v->monitor;
}

/*
 * Fold the fail verdict for st (hg_decide(p, NULL, st)) into into and
 * return into->action. into may be zeroed (nothing decided yet).
 */
hg_action_t
hg_verdict_fail(const hg_policy_t *p, hg_verdict_t *into, hg_status_t st)
{
    hg_verdict_t  fv = hg_decide(p, NULL, st);

    hg_verdict_merge(into, &fv);
    return into->action;
}

/* Only a reject: a hold must still see a later reject, which outranks it. */
int
hg_verdict_settled(const hg_verdict_t *v)
{
    return v->action == HG_ACT_REJECT;
}

/*
 * A hold not made: the fail verdict, as for a scan that failed with st,
 * since the item was neither preserved nor checked by anyone. Reject is not
 * an option: the match asked to keep the item for review, not to refuse it,
 * and with the fail mode tempfail it comes back and is held then.
 */
hg_verdict_t
hg_decide_hold_failed(const hg_policy_t *p, const hg_verdict_t *v,
                      hg_status_t st)
{
    hg_verdict_t  out = *v, fv;

    if (v->action != HG_ACT_HOLD) {
        return out;
    }
    fv = hg_decide(p, NULL, st);
    out.action = fv.action;
    out.intended = fv.intended;
    out.failed = 1;
    out.fail_status = fv.fail_status;   /* what decided, over a limit before */
    return out;
}


/*
 * The verdict to apply to a message or request whose evidence record (of
 * one or more of its matches) could not be written; the caller has put
 * the record in its own log instead (syslog, nginx's error_log), where it
 * is kept but not where the abuse team reads. "No evidence, no action"
 * means: nothing may pass whose only trace would be that fallback line.
 *
 *   - reject stands. The bytes were refused and never got in; a tempfail
 *     would refuse them too, but only to have the sender come back with
 *     the same item (a mail server for days, each try another fallback
 *     record; a bot perhaps never), and with the fail mode accept a
 *     refused item would have to be let in. The record is in the fallback
 *     log, whole.
 *   - hold stands. The preserved copy (Postfix's hold queue, the hold
 *     directory with its NAME.json) is the evidence; a tempfail would
 *     throw it away and keep only the fallback line.
 *   - log and tag pass the item, and the record is all that marks it: with
 *     the fail verdict tempfail they are refused for now (451, 503) and
 *     recorded when the item comes back; with accept they stand (tag keeps
 *     its header) and the record is in the fallback log.
 *   - a fail verdict (tempfail, accept) and no action are left as they are.
 *
 * The fail verdict is hg_decide's for a scan that failed, so monitor mode
 * and on_fail weigh here as they do there. The returned verdict is v with
 * failed = 1 and fail_status = HG_EIO (unless v had already failed), so
 * the fallback record says why it is there; intended keeps what the match
 * asked for.
 */
hg_verdict_t
hg_decide_evidence_failed(const hg_policy_t *p, const hg_verdict_t *v)
{
    hg_verdict_t  out = *v, fv;

    if (_match_rank(v->action) == 0) {
        return out;
    }
    if (!out.failed) {
        out.failed = 1;
        out.fail_status = HG_EIO;
    }
    if (v->action == HG_ACT_LOG || v->action == HG_ACT_TAG) {
        fv = hg_decide(p, NULL, HG_EIO);
        if (fv.action == HG_ACT_TEMPFAIL) {
            out.action = HG_ACT_TEMPFAIL;
        }
    }
    return out;
}
