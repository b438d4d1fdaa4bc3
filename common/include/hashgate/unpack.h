/*
 * unpack.h - a streaming MIME push parser for mail and multipart/form-data.
 *
 * Fed a message (headers then body) or a form-data body in chunks of any
 * size, it finds every leaf part, decodes its transfer encoding (base64,
 * quoted-printable, uuencode, 7bit/8bit/binary) and hands the decoded bytes
 * to callbacks as they come; it never holds a whole part or message.
 * Every multipart type nests; message/rfc822 and message/global recurse.
 * Part paths are as in IMAP BODYSTRUCTURE: "1", "2", "2.1" (common/mime/unpack.c
 * spells out the rules). uuencoded blocks ("begin 644 name") inside text
 * bodies become parts of their own ("1.u1") through the embedded callbacks;
 * a second reading of a part, its decoded copy ("2.d1"), comes through the
 * copy callbacks.
 * Main parts come one at a time: part_begin, part_data..., part_end. Every
 * limit reached gives HG_ELIMIT from feed/finish with a message naming the
 * limit, never a silent pass; any error sticks.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_UNPACK_H
#define HASHGATE_UNPACK_H

#include <stddef.h>
#include <stdint.h>

#include "hashgate/status.h"

/* Defaults for hg_unpack_limits_t; each is overridable in config. */
#define HG_MAX_MIME_DEPTH      20         /* nested multiparts/messages */
#define HG_MAX_PARTS           1000       /* leaf parts in one message */
#define HG_MAX_HEADER_BYTES    (256 * 1024)  /* one part's header block */
#define HG_MAX_LINE_BYTES      (64 * 1024)   /* one header line */
#define HG_MAX_BOUNDARY_LEN    70         /* RFC 2046 */

typedef struct {
    unsigned        max_depth;
    unsigned        max_parts;
    size_t          max_header_bytes;
    size_t          max_line_bytes;
    uint64_t        max_part_bytes;     /* decoded size of one part; 0 = no limit */
    uint64_t        max_total_bytes;    /* input bytes; 0 = no limit */
} hg_unpack_limits_t;

/* What the parser knows of a leaf part. Strings valid until part_end returns. */
typedef struct {
    const char     *path;           /* "1", "2.1", "1.u1", "2.d1" */
    const char     *content_type;   /* lowercase "type/subtype" (default text/plain) */
    const char     *filename;       /* decoded (RFC 2231/2047) UTF-8, or NULL */
    const char     *field_name;     /* form-data field name, or NULL */
    const char     *encoding;       /* "base64", "quoted-printable", "x-uuencode", "7bit", ... */
    unsigned        depth;
} hg_part_info_t;

typedef struct {
    uint64_t        decoded_bytes;
    uint64_t        decode_errors;  /* undecodable characters/lines skipped */
    int             same_bytes;     /* a copy ("P.d1") whose bytes are its
                                     * part's own: nothing new to judge */
} hg_part_stats_t;

typedef struct {
    /* Return HG_OK to go on; HG_ECANCEL (or any error) stops the parser. */
    hg_status_t   (*part_begin)(void *ctx, const hg_part_info_t *info);
    hg_status_t   (*part_data)(void *ctx, const unsigned char *buf, size_t len);
    hg_status_t   (*part_end)(void *ctx, const hg_part_info_t *info,
                              const hg_part_stats_t *stats);
} hg_unpack_cb_t;

typedef enum {
    HG_UNPACK_MESSAGE = 0,  /* RFC 5322 message: headers, blank line, body */
    HG_UNPACK_FORMDATA      /* a multipart/form-data body; boundary given */
} hg_unpack_mode_t;

typedef struct hg_unpack_s hg_unpack_t;

void hg_unpack_limits_default(hg_unpack_limits_t *l);

/*
 * A parser. For HG_UNPACK_FORMDATA, content_type is the request's
 * Content-Type header value (its boundary is used); NULL for messages.
 * Returns NULL when out of memory or (form-data) the content type has no
 * usable boundary (missing, over the length limit, or holding a NUL): err
 * says which.
 */
hg_unpack_t *hg_unpack_new(hg_unpack_mode_t mode, const char *content_type,
                           const hg_unpack_limits_t *limits,
                           const hg_unpack_cb_t *cb, void *cb_ctx,
                           hg_err_t *err);
void hg_unpack_free(hg_unpack_t *u);

/*
 * Callbacks for embedded parts: uuencoded blocks found inside text/plain
 * parts of mail ("1.u1"). An embedded part is a part of its own that is
 * begun and ended while its main part is still open (the main part is
 * hashed whole, block included), so its bytes come here, never to the
 * main part_data: a caller hashing parts uses a second context. Without
 * this call, blocks inside text are not looked for. Call before the first
 * feed. HG_EINVAL if a callback is NULL, HG_ENOMEM.
 */
hg_status_t hg_unpack_set_embedded_cb(hg_unpack_t *u, const hg_unpack_cb_t *cb,
                                      void *cb_ctx, hg_err_t *err);

/*
 * Callbacks for decoded copies ("2.d1"): the same part read as another
 * reader reads it, begun after its part begins and ended before it ends,
 * so a caller hashing parts uses a third context (an embedded block may be
 * open at the same time). The copy has its part's type, names and
 * encoding.
 *   - form-data: a part whose Content-Transfer-Encoding is base64 or
 *     quoted-printable is reported raw ("2"), as RFC 7578 readers see it,
 *     and decoded as its copy, as readers that decode it anyway (Go's
 *     mime/multipart) store it;
 *   - both modes: a quoted-printable part's copy loses the blanks, tabs and
 *     CRs ending a line, as RFC 2045 6.7 (3), Go, GMime and Perl decode it
 *     (the mail part itself keeps them, as Python's email package does).
 * A copy is not counted against max_parts (there are at most three a
 * part). part_end's stats->same_bytes says the copy's bytes were its
 * part's own (always so for quoted-printable mail without blanks ending a
 * line): the caller may then drop it unjudged, so one file is not
 * reported twice.
 * Without this call no copies are made. Call before the first feed.
 * HG_EINVAL if a callback is NULL, HG_ENOMEM.
 */
hg_status_t hg_unpack_set_copy_cb(hg_unpack_t *u, const hg_unpack_cb_t *cb,
                                  void *cb_ctx, hg_err_t *err);

/*
 * Callbacks for the line-end copies of a quoted-printable mail part:
 * "2.d2" is read as the part is (blanks kept) and "2.d3" as its "2.d1"
 * (blanks deleted), but with the part's line ends in the form the
 * message did not come in: CRLF as LF for mail as SMTP carries it (and a
 * Unix mailbox stores it as LF, where a reader decodes a hard line break
 * as LF), LF as CRLF for a message read from such a mailbox. keep_ctx and
 * strip_ctx are the contexts of the two, which may be open at once with
 * "2.d1" and a uuencoded block. stats->same_bytes at their end says the
 * copy holds nothing new: "2.d2" has the part's bytes when no hard line
 * break was converted (soft breaks decode the same either way), "2.d3"
 * those of "2.d1" or "2.d2". Not counted against max_parts. Call before
 * the first feed. HG_EINVAL if a callback is NULL, HG_ENOMEM.
 */
hg_status_t hg_unpack_set_eol_copy_cb(hg_unpack_t *u, const hg_unpack_cb_t *cb,
                                      void *keep_ctx, void *strip_ctx,
                                      hg_err_t *err);

/* Feed the next bytes. Stops at the first error, which sticks. */
hg_status_t hg_unpack_feed(hg_unpack_t *u, const void *buf, size_t len,
                           hg_err_t *err);

/*
 * End of input: closes open parts. A missing final boundary is tolerated:
 * the line end held back before it is dropped, as it belongs to the
 * delimiter (RFC 2046), so a file sent that way hashes as the file. A
 * multipart that held text but produced no part (its boundary never came)
 * gives HG_EFORMAT: nothing in it was scanned.
 */
hg_status_t hg_unpack_finish(hg_unpack_t *u, hg_err_t *err);

/* Leaf parts seen so far, uuencoded blocks included, copies not. */
unsigned hg_unpack_parts(const hg_unpack_t *u);

/*
 * 1 if the message's lines end in a bare LF, as a Unix mailbox stores
 * mail; 0 if in CRLF, as SMTP carries it, or before any line end was fed
 * (a part can only begin that early if it is empty). The first line end
 * says. The "other form" of a part's line ends is the one this does not
 * say: the line-end copies use it, and so does hg_mail_scan.
 */
int hg_unpack_lf_message(const hg_unpack_t *u);

#endif
