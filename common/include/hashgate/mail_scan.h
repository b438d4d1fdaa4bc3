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
 * Archives (hg_mail_scan_set_inspect): the bytes of every leaf part and
 * every uuencoded block also go to a spool (inspect.h), which only looks
 * at their first bytes until it knows whether they are a container. The
 * other readings (quoted-printable copies, line ends converted) are not
 * spooled: an archive is binary, and one with its line ends or trailing
 * blanks changed is a damaged archive no reader opens. When a container
 * part ends, after the part itself was handed over, it is sent to an
 * inspection helper (hg_inspect_run: this blocks) and each file inside
 * becomes an object of its own (HG_MAIL_INNER): "2!photos/a.jpg", an
 * archive in an archive "2!a.tar!b/c.jpg". The files and bytes limits are
 * per message: each container part gets what the parts before it left.
 * A file that cannot be hashed (encrypted, unreadable) and a container
 * that turns out damaged are HG_MAIL_INNER objects with not_checked set;
 * an inspection stopped by a limit or a failed helper is an
 * HG_MAIL_INSPECT_FAILED object whose reading[0].st says so (HG_ELIMIT,
 * HG_EIO): nothing after that point of the part was looked at.
 *
 * Images (issue 17): with images on for the message (hg_image_conf_active:
 * PdqImages on, or auto and the database holds PDQ entries), a part or
 * block whose first bytes say JPEG, PNG, GIF or WebP goes to a helper
 * too, which decodes and PDQ-hashes it, as it does images it finds inside
 * containers. Each image then becomes an HG_MAIL_IMAGE object, after the
 * object its bytes were matched as (the part, or the HG_MAIL_INNER file):
 * same info and containers, reading[0].res holding the file's digests and
 * only its PDQ matches (hg_scan_match_pdq, when its quality is at least
 * PdqMinQuality), and image saying what the helper found. An image that
 * did not decode or passed an image limit has image->not_checked set:
 * decide with hg_decide_image.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_MAIL_SCAN_H
#define HASHGATE_MAIL_SCAN_H

#include <stddef.h>

#include "hashgate/db.h"
#include "hashgate/image_conf.h"
#include "hashgate/inspect.h"
#include "hashgate/record.h"
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
    HG_MAIL_COPY_BOTH,      /* "P.d3": both */
    HG_MAIL_INNER,          /* a file inside a container: "2!a/b.jpg" */
    HG_MAIL_INSPECT_FAILED, /* a container part not looked into to its end */
    HG_MAIL_IMAGE           /* an image's PDQ matches (a part's, or a file's
                             * inside a container) */
} hg_mail_kind_t;

typedef struct {
    hg_status_t         st;         /* HG_OK, or why this reading was not
                                     * checked (HG_EIO: database lost) */
    hg_scan_result_t    res;        /* when st is HG_OK; res.head is valid
                                     * until the callback returns */
    const char         *line_ends;  /* NULL: the bytes as decoded; "LF" or
                                     * "CRLF": each line end converted so */
} hg_mail_reading_t;

/* What an HG_MAIL_INNER or HG_MAIL_INSPECT_FAILED object adds. */
typedef struct {
    const hg_inspect_entry_t *entry;    /* the file as the helper reported
                                         * it; NULL for a damaged container
                                         * and for HG_MAIL_INSPECT_FAILED */
    const char     *inner_path;     /* its path in the innermost container,
                                     * or NULL */
    const char     *not_checked;    /* "encrypted", "unreadable": it was not
                                     * hashed (reading[0].res has no
                                     * digests, its size is the declared
                                     * one); decide with
                                     * hg_decide_not_checked. NULL: hashed
                                     * and matched like any part */
    int             encrypted;      /* not_checked because encrypted */
    size_t          ncontainers;    /* 1 + depth of the container it is in */
    const hg_record_container_t *containers;   /* outermost (the part
                                     * itself) first, each with its own
                                     * digests */
    const hg_inspect_done_t *done;  /* how the inspection ended: for a
                                     * damaged container (HG_EFORMAT) and
                                     * HG_MAIL_INSPECT_FAILED (which limit,
                                     * why); else NULL */
} hg_mail_inner_t;

/* What an HG_MAIL_IMAGE object adds. */
typedef struct {
    const hg_inspect_image_t *img;  /* the helper's result */
    const char     *not_checked;    /* "image not decoded", "image limit":
                                     * no PDQ hash (img->why says why); decide
                                     * with hg_decide_image(img->st) */
    int             low_quality;    /* hashed, below PdqMinQuality: not
                                     * matched */
} hg_mail_image_t;

typedef struct {
    hg_mail_kind_t          kind;
    const hg_part_info_t   *info;   /* valid until the callback returns;
                                     * for a file inside a container, path
                                     * is the chain ("2!a.tar!b/c.jpg"),
                                     * filename its name, content_type and
                                     * encoding NULL */
    const hg_part_stats_t  *stats;
    unsigned                nreadings;  /* 1; 2 for an undecoded part whose
                                         * converted bytes differ (or whose
                                         * converted reading failed) */
    hg_mail_reading_t       reading[HG_MAIL_READINGS];
    const hg_mail_inner_t  *inner;  /* HG_MAIL_INNER, HG_MAIL_INSPECT_FAILED,
                                     * an HG_MAIL_IMAGE inside a container;
                                     * else NULL */
    const hg_mail_image_t  *image;  /* HG_MAIL_IMAGE; else NULL */
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
 * Where a context gets an inspection helper for one container part, and
 * the limits it applies. borrow blocks until a helper is free and returns
 * it, or NULL (err says why: the part then gets HG_EIO); give_back returns
 * it after the part. A milter shares a few helpers between its sessions
 * this way; a single-threaded caller lends its one helper.
 */
typedef struct {
    hg_inspector_t     *(*borrow)(void *pool, hg_err_t *err);
    void                (*give_back)(void *pool, hg_inspector_t *in);
    void               *pool;
    hg_inspect_limits_t limits;     /* max_files, max_bytes: per message;
                                     * images and image are set from
                                     * images */
    hg_image_conf_t     images;     /* PDQ: hg_image_conf_default for the
                                     * defaults */
} hg_mail_inspect_t;

/*
 * Split the digests of large parts with par's helpers (hash.h), from the
 * next message on; NULL: not. par must outlive the context's use of it.
 */
void hg_mail_scan_set_parallel(hg_mail_scan_t *ms, hg_hash_par_t *par);

/*
 * Open containers from the next message on, with the helpers and limits
 * of mi (copied; mi->pool must outlive the context); mi NULL: no more.
 * HG_ENOMEM with err set.
 */
hg_status_t hg_mail_scan_set_inspect(hg_mail_scan_t *ms,
                                     const hg_mail_inspect_t *mi,
                                     hg_err_t *err);

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

/*
 * One object that is no message (a file as it is): hashed as a part
 * whose info is *info (path "" gives inner paths "!a/b.jpg"), opened when
 * it is a container as a message's parts are, each object to cb(ctx, ...)
 * with a budget of its own. An open message is dropped. begin: HG_ENOMEM;
 * feed: the scan's failure sticks and goes with the object, so it returns
 * HG_OK; end: cb's status (or HG_EINVAL without an object begun).
 */
hg_status_t hg_mail_scan_object_begin(hg_mail_scan_t *ms,
                                      const hg_part_info_t *info,
                                      hg_mail_scan_cb_t cb, void *ctx);
hg_status_t hg_mail_scan_object_feed(hg_mail_scan_t *ms, const void *buf,
                                     size_t len);
hg_status_t hg_mail_scan_object_end(hg_mail_scan_t *ms);

#endif
