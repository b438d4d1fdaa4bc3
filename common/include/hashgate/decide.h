/*
 * decide.h - the policy: what to do about a scanned object or message.
 *
 * One function decides for every wrapper. Each matched block list maps to an
 * action (its own, else the default); the strongest wins:
 * reject > hold > tag > log. A digest on an allow-list never triggers an
 * action (the verdict says allowed_by). Monitor mode turns every action into
 * log while keeping what would have been done. A scan that could not complete
 * (a limit, an error, no database) gives the fail verdict: on_fail's, but in
 * monitor mode accept unless on_fail was set explicitly, since monitor mode
 * never changes the flow (hg_policy_fail_mode). The verdicts of a message's
 * parts and failures merge into one (hg_verdict_merge, hg_verdict_fail);
 * every channel applies that one verdict.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_DECIDE_H
#define HASHGATE_DECIDE_H

#include "hashgate/scan.h"
#include "hashgate/status.h"

typedef enum {
    HG_ACT_NONE = 0,    /* clean */
    HG_ACT_LOG,         /* record only */
    HG_ACT_TAG,         /* record + a header */
    HG_ACT_HOLD,        /* record + preserve (hold queue / hold dir) */
    HG_ACT_REJECT,      /* record + refuse */
    HG_ACT_TEMPFAIL,    /* could not scan: refuse for now (4xx / 503) */
    HG_ACT_ACCEPT       /* could not scan: let it through (fail-open) */
} hg_action_t;

typedef enum {
    HG_FAIL_TEMPFAIL = 0,   /* default */
    HG_FAIL_ACCEPT
} hg_fail_mode_t;

#define HG_POLICY_MAX_LISTS  256

typedef struct {
    char            name[HG_LIST_NAME_MAX + 1];    /* any database list name */
    hg_action_t     action;
    const char     *file;       /* where it was configured (the caller's), or NULL */
    unsigned long   line;
} hg_list_action_t;

typedef struct {
    hg_action_t     default_action;     /* for lists without their own; default reject */
    hg_fail_mode_t  on_fail;            /* the mode that applies after hg_policy_finish */
    int             on_fail_set;        /* on_fail was configured explicitly */
    int             monitor;            /* every action becomes log */
    hg_action_t     archive_encrypted;  /* an encrypted file inside a container:
                                         * HG_ACT_NONE (accept, with a record
                                         * saying "encrypted, not checked") by
                                         * default; log, tag, hold or reject */
    hg_action_t     archive_unreadable; /* a damaged container or an entry in
                                         * a method nothing reads: the same */
    hg_action_t     image_limit;        /* an image past an image limit
                                         * (pixels, bytes, time): HG_ACT_TEMPFAIL
                                         * (the default) is the fail verdict,
                                         * as for archive limits; else accept
                                         * (HG_ACT_NONE), log, tag, hold or
                                         * reject as archive_encrypted */
    size_t          nlists;
    hg_list_action_t lists[HG_POLICY_MAX_LISTS];
} hg_policy_t;

typedef struct {
    hg_action_t     action;     /* what to do now */
    hg_action_t     intended;   /* what would be done without monitor mode */
    int             matched;    /* a block list matched */
    int             failed;     /* the scan did not complete */
    hg_status_t     fail_status;
    const char     *list;       /* the list that decided, or NULL */
    const char     *allowed_by; /* an allow-list that suppressed a match, or NULL */
    int             monitor;    /* decided in monitor mode (record's "monitor") */
} hg_verdict_t;

/* Defaults: reject, tempfail, monitor off, no per-list actions. */
void hg_policy_init(hg_policy_t *p);

/* Set a list's action; HG_ELIMIT / HG_EINVAL on too many or a bad name. */
hg_status_t hg_policy_set(hg_policy_t *p, const char *list, hg_action_t a);

/*
 * The fail mode that applies: accept in monitor mode unless on_fail_set,
 * else on_fail.
 */
hg_fail_mode_t hg_policy_fail_mode(const hg_policy_t *p);

/*
 * Call once monitor, on_fail and on_fail_set are configured: sets on_fail
 * to hg_policy_fail_mode(p), so a wrapper reading on_fail sees the mode
 * that applies. Idempotent.
 */
void hg_policy_finish(hg_policy_t *p);

/* The action for list (its own or the default). */
hg_action_t hg_policy_action(const hg_policy_t *p, const char *list);

/* "reject", "hold", "tag", "log" (and "none", "tempfail", "accept") */
const char *hg_action_name(hg_action_t a);

/* Parse an action name; -1 if unknown. */
int hg_action_from_name(const char *name);

/*
 * Decide for one object. res may be NULL when scan_status != HG_OK; then the
 * fail verdict is returned.
 */
hg_verdict_t hg_decide(const hg_policy_t *p, const hg_scan_result_t *res,
                       hg_status_t scan_status);

/*
 * Combine the verdicts of a message's parts, and of its scan failures
 * (hg_decide's fail verdict), into the message's: the stronger action wins,
 * reject > hold > tempfail > tag > log > accept > none, whichever comes
 * first. A sure reject or hold is never weakened by a part that could not
 * be scanned; a tag or log is (the message would pass as if scanned).
 * A zeroed hg_verdict_t is a valid starting point.
 */
void hg_verdict_merge(hg_verdict_t *into, const hg_verdict_t *v);

/*
 * The scan of a message or request stopped with st (a limit, malformed
 * input, a database or memory error) before its end: fold hg_decide's fail
 * verdict for st into *into (hg_verdict_merge) and return the action now
 * due. The rest is not scanned; the caller applies the action returned.
 */
hg_action_t hg_verdict_fail(const hg_policy_t *p, hg_verdict_t *into,
                            hg_status_t st);

/*
 * Nothing later can change v: a later part or a failure would not change
 * its action (reject). The caller may stop scanning.
 */
int hg_verdict_settled(const hg_verdict_t *v);

/*
 * The verdict when the hold that v asks for could not be made (the MTA
 * refused to quarantine, the body could not be kept): the fail verdict for
 * st (action and intended as hg_decide gives them), failed = 1 and
 * fail_status = st (what decided, over an earlier failure the hold
 * outranked); list, matched, allowed_by and monitor stay v's. v is returned as it is when its action is not hold.
 * Call it before writing the records, so they say what was done.
 */
hg_verdict_t hg_decide_hold_failed(const hg_policy_t *p,
                                   const hg_verdict_t *v, hg_status_t st);

/*
 * The verdict to apply when the evidence record of a match could not be
 * written (the caller sends it to its fallback log instead): reject and
 * hold stand, log and tag become tempfail when the fail mode is tempfail.
 * See decide.c for why.
 */
hg_verdict_t hg_decide_evidence_failed(const hg_policy_t *p,
                                       const hg_verdict_t *v);

/*
 * The verdict of a file inside a container that could not be hashed:
 * encrypted (encrypted != 0) or unreadable. Its action is the policy's
 * archive_encrypted / archive_unreadable, under monitor mode like any
 * other; list is NULL, failed 0 (the scan itself did not fail: the
 * configured action is what the admin chose for such files).
 */
hg_verdict_t hg_decide_not_checked(const hg_policy_t *p, int encrypted);

/*
 * The verdict of an image whose PDQ hash could not be had (its digests
 * were matched like any part's): st HG_ELIMIT, an image limit: the
 * policy's image_limit (the fail verdict for HG_ACT_TEMPFAIL, else as
 * hg_decide_not_checked); anything else (it did not decode: damaged, a
 * CMYK JPEG): accept, with the record saying so. An image that does not
 * decode is no failure of its message, and its bytes were still matched.
 */
hg_verdict_t hg_decide_image(const hg_policy_t *p, hg_status_t st);

#endif
