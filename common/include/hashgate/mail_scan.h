/*
 * mail_scan.h - scan a mail message object by object: its leaf parts, the
 * uuencoded blocks inside them and their other readings, each hashed and
 * matched as it streams by.
 *
 * The fan-out the milter and "hashgate scan" share. A message is fed in
 * chunks of any size (hg_mail_scan_begin, hg_mail_scan_feed...,
 * hg_mail_scan_finish); each object that ends is handed to the caller's
 * callback with its part info and its scan result, and the caller decides,
 * records and acts. The objects of a message:
 *   - every leaf part ("1", "2.1"), the bytes a reader decodes;
 *   - every uuencoded block inside a text part ("1.u1");
 *   - the other readings of a quoted-printable part ("2.d1" to "2.d3",
 *     see hg_unpack_set_copy_cb and hg_unpack_set_eol_copy_cb); one whose
 *     bytes are its part's own or an earlier copy's is not handed over, so
 *     one file is not judged twice.
 * A part sent without transfer decoding (7bit, 8bit, binary) has a second
 * reading in the same object: its bytes with each line end in the form the
 * message did not come in (CRLF as LF for mail as SMTP carries it, LF as
 * CRLF for mail read from a Unix mailbox), as a reader saves the
 * attachment where the mail is stored the other way (common/mime/eol.c).
 *
 * Nothing holds a message or a part: as many scan contexts as objects can
 * be open at once (six) are fed in step.
 * A context is one thread's; it holds references on its database.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_MAIL_SCAN_H
#define HASHGATE_MAIL_SCAN_H

#include <stddef.h>

#include "hashgate/db.h"
#include "hashgate/scan.h"
#include "hashgate/status.h"
#include "hashgate/unpack.h"

/* The readings one object can have: as decoded, line ends converted. */
#define HG_MAIL_READINGS    2

typedef enum {
    HG_MAIL_PART = 0,       /* a leaf part: "1", "2.1" */
    HG_MAIL_BLOCK,          /* a uuencoded block in a text part: "1.u1" */
    HG_MAIL_COPY_STRIP,     /* "P.d1": without the blanks ending its lines */
    HG_MAIL_COPY_EOL,       /* "P.d2": its hard line ends in the other form */
    HG_MAIL_COPY_BOTH       /* "P.d3": both */
} hg_mail_kind_t;

typedef struct {
    hg_status_t         st;         /* HG_OK, or why this reading was not
                                     * checked (HG_EIO: database lost) */
    hg_scan_result_t    res;        /* when st is HG_OK; res.head is valid
                                     * until the callback returns */
    const char         *line_ends;  /* NULL: the bytes as decoded; "LF" or
                                     * "CRLF": each line end converted so */
} hg_mail_reading_t;

typedef struct {
    hg_mail_kind_t          kind;
    const hg_part_info_t   *info;   /* valid until the callback returns */
    const hg_part_stats_t  *stats;
    unsigned                nreadings;  /* 1; 2 for an undecoded part whose
                                         * converted bytes differ (or whose
                                         * converted reading failed) */
    hg_mail_reading_t       reading[HG_MAIL_READINGS];
} hg_mail_object_t;

/*
 * Called once per finished object, in the order they end (a block or a
 * copy before the part it is in). Return HG_OK to go on; anything else
 * (HG_ECANCEL once the verdict is known) stops the message, and the feed
 * or finish that was running returns it, err naming the part.
 */
typedef hg_status_t (*hg_mail_scan_cb_t)(void *ctx,
                                         const hg_mail_object_t *obj);

typedef struct hg_mail_scan_s hg_mail_scan_t;

/*
 * A context matching against db (each of its scan contexts takes a
 * reference; db may be NULL: then only extra_algs are computed, see
 * hg_scan_new). Returns NULL when out of memory or OpenSSL fails.
 */
hg_mail_scan_t *hg_mail_scan_new(hg_db_t *db, unsigned extra_algs);

/* Drops an open message and the database references; accepts NULL. */
void hg_mail_scan_free(hg_mail_scan_t *ms);

/* The database in use (no new reference). */
hg_db_t *hg_mail_scan_db(const hg_mail_scan_t *ms);

/*
 * Start a message (an open one is dropped): its objects go to cb(ctx, ...).
 * limits NULL: the defaults. HG_ENOMEM with err set.
 */
hg_status_t hg_mail_scan_begin(hg_mail_scan_t *ms,
                               const hg_unpack_limits_t *limits,
                               hg_mail_scan_cb_t cb, void *ctx,
                               hg_err_t *err);

/*
 * The message's next bytes, headers first. Returns the parser's error (a
 * limit, a malformed structure) or the callback's; it sticks for the rest
 * of the message. HG_EINVAL without an open message.
 */
hg_status_t hg_mail_scan_feed(hg_mail_scan_t *ms, const void *buf, size_t len,
                              hg_err_t *err);

/*
 * End of the message: the open objects end (and are handed over). The
 * message is closed whatever the result. HG_EINVAL without one.
 */
hg_status_t hg_mail_scan_finish(hg_mail_scan_t *ms, hg_err_t *err);

/* Drop the open message unfinished; nothing more is handed over. Safe
 * when none is open. */
void hg_mail_scan_abort(hg_mail_scan_t *ms);

#endif
