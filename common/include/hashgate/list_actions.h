/*
 * list_actions.h - the list-to-action settings of a configuration, checked
 * the same way for every channel.
 *
 * hashgate-milter's "ListAction NAME ACTION" and nginx's
 * "hashgate_list_action NAME ACTION;" are one setting: the list name follows
 * the database's rule (the one "hashgate compile" applies), the action is
 * one the channel can carry out, and a list gets its action once per table:
 * a repeat is refused, naming where the first one was, so two lines that
 * disagree never silently leave the last one in force. Messages are the same
 * words on both channels; the wrapper adds its key name and, where its
 * format does not already, its own file:line.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_LIST_ACTIONS_H
#define HASHGATE_LIST_ACTIONS_H

#include <stddef.h>

#include "hashgate/decide.h"
#include "hashgate/status.h"

/* A set of actions a channel offers, a bit per hg_action_t. */
#define HG_ACT_BIT(a)        (1u << (unsigned) (a))

/* Mail: a listed message may be rejected, held, tagged or logged. */
#define HG_LIST_ACTIONS_MAIL (HG_ACT_BIT(HG_ACT_REJECT) | HG_ACT_BIT(HG_ACT_HOLD) \
                              | HG_ACT_BIT(HG_ACT_TAG) | HG_ACT_BIT(HG_ACT_LOG))

/* HTTP: an upload has no header to tag. */
#define HG_LIST_ACTIONS_HTTP (HG_ACT_BIT(HG_ACT_REJECT) | HG_ACT_BIT(HG_ACT_HOLD) \
                              | HG_ACT_BIT(HG_ACT_LOG))

/*
 * Check that name (len bytes, no NUL needed) can name a database list:
 * 1 to HG_LIST_NAME_MAX bytes of A-Z a-z 0-9 . _ -, the rule of the
 * database format. HG_OK, or HG_EINVAL with err saying
 * 'bad list name "NAME": 1 to 64 characters of A-Z a-z 0-9 . _ -'.
 */
hg_status_t hg_list_name_check(const char *name, size_t len, hg_err_t *err);

/*
 * Parse an action name (any case; len bytes, no NUL needed) that must be
 * in allowed (HG_ACT_BIT()s). On HG_OK *out is the action; otherwise
 * HG_EINVAL with err saying 'bad action "X": expected reject, hold, tag or
 * log' (the actions of allowed, strongest first) and *out unchanged.
 */
hg_status_t hg_list_action_parse(const char *name, size_t len,
                                 unsigned allowed, hg_action_t *out,
                                 hg_err_t *err);

/*
 * Parse the action for a file inside an archive that cannot be hashed
 * (the milter's ArchiveEncrypted / ArchiveUnreadable, nginx's
 * hashgate_archive_encrypted / hashgate_archive_unreadable): "accept"
 * (HG_ACT_NONE: it goes on, with a record saying it was not checked) or
 * an action in allowed, any case. HG_EINVAL with err saying 'bad action
 * "X": expected accept, reject, hold, tag or log' and *out unchanged.
 */
hg_status_t hg_not_checked_action_parse(const char *name, size_t len,
                                        unsigned allowed, hg_action_t *out,
                                        hg_err_t *err);

/*
 * Give the list list (list_len bytes) the action named action
 * (action_len bytes) in p, as configured at file:line: both are checked
 * as above, then a list that already has an action in p is refused with
 * HG_EINVAL and 'action for list "NAME" given twice: first at FILE:LINE,
 * again at FILE:LINE'; HG_ELIMIT when HG_POLICY_MAX_LISTS lists already
 * have one. p keeps the pointer file (for that message), not a copy: it
 * must stay valid as long as p is given more lists. On failure p is
 * unchanged.
 */
hg_status_t hg_policy_list_action(hg_policy_t *p, const char *list,
                                  size_t list_len, const char *action,
                                  size_t action_len, unsigned allowed,
                                  const char *file, unsigned long line,
                                  hg_err_t *err);

#endif
