/*
 * scan.h - what cmd_scan.c (files, directories, stdin, the report lines)
 * and scan_mail.c (messages, mboxes, Maildirs) share.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_CLI_SCAN_H
#define HASHGATE_CLI_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "hashgate/apibody.h"
#include "hashgate/decide.h"
#include "hashgate/json.h"
#include "hashgate/magic.h"
#include "hashgate/mail_scan.h"
#include "hashgate/scan.h"
#include "hashgate/status.h"
#include "hashgate/unpack.h"

/* Leading bytes read before deciding whether a file is mail. */
#define SCAN_SNIFF_MAX  4096

typedef enum {
    SCAN_MAIL_AUTO = 0,     /* .eml, headers at the start, mbox, Maildir */
    SCAN_MAIL_FORCE,        /* every file is a message (or an mbox) */
    SCAN_MAIL_OFF           /* --raw / --no-mail: plain bytes */
} scan_mail_mode_t;

typedef struct {
    hg_mail_scan_t     *mail_scan;  /* a file or a message, object by object */
    hg_inspector_t     *inspector;  /* archives: the one helper, or NULL */
    hg_magic_t         *magic;      /* only with --json */
    hg_policy_t         policy;
    hg_unpack_limits_t  limits;
    hg_apibody_limits_t body_limits;    /* --json-body, --form-body */
    hg_json_t           j;
    int                 json;
    scan_mail_mode_t    mail;
    int                 in_maildir; /* files under cur/ and new/ are messages */
    int                 matched;    /* something matched: exit 1 */
    int                 failed;     /* something could not be scanned: exit 2 */
    const char         *cur_path;   /* the plain file being scanned */
    unsigned char      *buf;        /* CLI_READ_SIZE */
} scan_ctx_t;

/* Where a leaf part of a message sits, for its report line. */
typedef struct {
    long                message;    /* index in an mbox, from 0 */
    int                 mbox;       /* the file is an mbox */
    const hg_part_info_t *info;     /* NULL for a message-level error */
    uint64_t            decode_errors;
    const char         *line_ends;  /* NULL: as read; "CRLF" or "LF": the
                                     * undecoded part matched with its line
                                     * ends converted so (see scan_mail.c) */
    const hg_scan_result_t *also;   /* the part's other form when its
                                     * line ends converted change its bytes
                                     * (--json shows both), or NULL */
    const char         *also_form;  /* also's: "as read", "CRLF" or "LF" */
    int                 in_file;    /* a file inside a file that is no
                                     * message: PATH!inner, not PATH#part */
    const hg_mail_inner_t *inner;   /* a file inside an archive, or NULL */
    int                 body;       /* a part of a JSON or form body:
                                     * PATH#POINTER, no message index */
    const hg_mail_image_t *image;   /* an image's PDQ result, or NULL */
} scan_part_t;

/*
 * Print the result of one object: a file (part NULL) or a leaf part, and
 * count it towards the exit status. res is NULL when st is not HG_OK; why
 * then says what went wrong (without the path, which is added).
 */
void scan_report(scan_ctx_t *sc, const char *path, const scan_part_t *part,
                 const hg_scan_result_t *res, hg_status_t st, const char *why);

/*
 * Report an object of an archive (obj->inner set): a file inside, a file
 * not checked (encrypted, unreadable: an error, exit 2) or an inspection
 * that stopped (a limit, the helper: "not checked", exit 2). where says
 * where its container is; its info and inner are filled here.
 */
void scan_report_inner(scan_ctx_t *sc, const char *path, scan_part_t *where,
                       const hg_mail_object_t *obj);

/*
 * Report an image (obj->kind HG_MAIL_IMAGE): its format, PDQ hash and
 * quality, and its PDQ matches; or why it has no hash ("NOT CHECKED": an
 * image limit is an error, exit 2; an image that does not decode is not).
 * where: as for scan_report_inner (info, inner and image filled here).
 */
void scan_report_image(scan_ctx_t *sc, const char *path, scan_part_t *where,
                       const hg_mail_object_t *obj);

/* ---- scan_body.c ---- */

/*
 * Scan the request body in path ("-": stdin) as JSON or a url-encoded
 * form: one report per part (and per file inside an archive in one), then
 * a line saying where a body that is not well-formed stopped, or that a
 * body had no part. A limit reached is an error report for the body.
 */
void scan_body(scan_ctx_t *sc, const char *path, hg_apibody_mode_t mode);

/* ---- scan_mail.c ---- */

/* 1 if head (the first bytes of path) starts an mbox: a "From " line. */
int scan_mail_is_mbox(const unsigned char *head, size_t len);

/* 1 if path ends in .eml or head starts with RFC 5322 header fields. */
int scan_mail_is_message(const char *path, const unsigned char *head,
                         size_t len);

/* 1 if dir is a Maildir: it has cur/ and new/ subdirectories. */
int scan_mail_is_maildir(const char *dir);

/*
 * Scan the message (mbox set: every message of the mbox) read from fd, the
 * first head_len bytes of which were already read into head. One report
 * per leaf part; a parse error or limit gives an error report for that
 * message. Returns 0, or -1 when reading fd failed (reported).
 */
int scan_mail_fd(scan_ctx_t *sc, const char *path, int fd,
                 const unsigned char *head, size_t head_len, int mbox);

#endif
