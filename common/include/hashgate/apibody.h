/*
 * apibody.h - files that web and mobile APIs upload inside a request body:
 * base64 strings and data: URLs in JSON, and the fields of url-encoded
 * forms, decoded and handed out as parts.
 *
 * A push parser like hg_unpack (unpack.h), with the same callbacks, so a
 * caller that hashes MIME parts hashes these the same way. Fed the body in
 * chunks of any size (one byte at a time works), it never holds a whole
 * value: a base64 string split across many buffers is decoded as it
 * arrives. Memory is fixed per parser (a path buffer, a nesting stack and
 * the few hundred bytes looked at before a string is known to be a
 * candidate).
 *
 * What becomes a part:
 *   - JSON (application/json and any "+json" type): every string value that
 *     is a data: URL with ";base64" (its payload, decoded; the declared type
 *     is the URL's), and every string value that is long (min_bytes decoded
 *     or more) and reads as standard or URL-safe base64 (padding optional,
 *     JSON escapes such as "\/" and "\n" undone first). Member keys are never
 *     parts. The path is the value's JSON pointer (RFC 6901: "/data",
 *     "/files/0/content"; "~" and "/" in keys as "~0" and "~1"); the file
 *     name comes from a sibling "name" or "filename" string member (any
 *     case; the object's first), before or after the value.
 *   - url-encoded forms (application/x-www-form-urlencoded): every field
 *     whose value, percent-decoded ("+" is a space), is a data: URL with
 *     ";base64" (decoded) or is min_bytes long or more (the decoded value
 *     itself, or its base64 decoding when the whole value reads as base64:
 *     decided on its first min_bytes, a space read as the "+" it was
 *     before an unescaped "+" became one). The path and field_name are the
 *     field's name, percent-decoded.
 * In paths, "!" and "%" are written %21 and %25 (as in archive inner paths,
 * whose "!" separates the container from the file inside), control bytes
 * (a NUL escaped in a key) as %XX. A key or field name longer than 256 bytes
 * is cut there (at a character boundary) and its path component ends in
 * "..."; field_name is the cut key, up to a NUL byte in it. min_bytes 0
 * counts as 1. Inside JSON strings, raw control bytes and invalid UTF-8
 * are read as they are (a lenient reader stores them), not as faults.
 *
 * A body that is not well-formed is not an error: the application will
 * refuse it. Parsing stops at the fault, any part open there is ended with
 * what it had (it was checked), later bytes are ignored, and
 * hg_apibody_stopped() says where and why. Limits reached are errors
 * (HG_ELIMIT, the message naming the limit and its value), never a silent
 * pass: the open part is not ended (max_decoded: its bytes up to the limit
 * were handed over). A url-encoded body is always well-formed.
 *
 * JSON is read lazily unless limits.max_retained is 0: a scanner runs
 * ahead (copying the bytes aside) and the tokenizer reads only from where
 * a string may be a part or nesting may pass max_depth (apibody_lazy.c).
 * Parts, their bytes, names, paths and every limit are the same as the
 * tokenizer's alone; a body in which no string could be a part, and the
 * tail after a body's last part, are not read for faults
 * (hg_apibody_stopped() NULL) unless the caller asks with
 * hg_apibody_want_stop() (it will describe the body in a record).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_APIBODY_H
#define HASHGATE_APIBODY_H

#include <stddef.h>
#include <stdint.h>

#include "hashgate/status.h"
#include "hashgate/unpack.h"

/* Defaults for hg_apibody_limits_t; each is settable in config. */
#define HG_APIBODY_MIN_BYTES    1024        /* decoded size of a candidate string */
#define HG_APIBODY_MAX_DEPTH    100         /* JSON nesting, as Ruby's JSON */
#define HG_APIBODY_MAX_PARTS    1000        /* parts a body, as HG_MAX_PARTS */
#define HG_APIBODY_MAX_DECODED  (400ULL * 1024 * 1024)  /* bytes decoded a body */
#define HG_APIBODY_MAX_RETAINED (4u * 1024 * 1024)      /* JSON read ahead */

typedef enum {
    HG_APIBODY_NONE = 0,    /* neither: not for this parser */
    HG_APIBODY_JSON,
    HG_APIBODY_FORM
} hg_apibody_mode_t;

typedef struct {
    size_t          min_bytes;      /* a plain string/field shorter than this
                                       (decoded) is no part; data: URLs are
                                       parts at any size */
    unsigned        max_depth;      /* JSON nesting */
    unsigned        max_parts;
    uint64_t        max_decoded;    /* bytes of all parts together; 0 = no limit */
    size_t          max_retained;   /* JSON: body bytes a scanner may read
                                       ahead of the tokenizer (copied and
                                       held) while no part can be there;
                                       0 = the tokenizer reads every byte.
                                       Not a limit on the body: reaching
                                       it feeds the tokenizer. */
} hg_apibody_limits_t;

typedef struct hg_apibody_s hg_apibody_t;

void hg_apibody_limits_default(hg_apibody_limits_t *l);

/*
 * Which parser a request's Content-Type value (len bytes, not
 * NUL-terminated; parameters such as "; charset=utf-8" allowed, case
 * ignored) calls for: JSON for application/json and type/x+json, FORM for
 * application/x-www-form-urlencoded, NONE otherwise.
 */
hg_apibody_mode_t hg_apibody_mode_of(const char *content_type, size_t len);

/*
 * A parser. The callbacks are unpack.h's: part_begin, part_data...,
 * part_end, one part at a time. hg_part_info_t holds: path and field_name
 * (JSON: the member's key, or NULL in an array) as above; content_type the
 * data: URL's type, lowercase, else "application/octet-stream"; filename
 * from a sibling member or NULL (part_end's info may have one part_begin's
 * had not, when the name followed the value: part_end then comes when the
 * enclosing object closes); encoding "base64", "base64url" or (a form
 * value used as it is) "url-encoded"; depth the JSON nesting. stats give
 * the decoded bytes and the characters that could not be decoded (a string
 * that read as base64 for its first min_bytes but not after).
 * NULL with err set when out of memory or mode is NONE.
 */
hg_apibody_t *hg_apibody_new(hg_apibody_mode_t mode,
                             const hg_apibody_limits_t *limits,
                             const hg_unpack_cb_t *cb, void *cb_ctx,
                             hg_err_t *err);
void hg_apibody_free(hg_apibody_t *b);

/* Feed the next bytes. Stops at the first error, which sticks. */
hg_status_t hg_apibody_feed(hg_apibody_t *b, const void *buf, size_t len,
                            hg_err_t *err);

/* End of input: ends the part still open (a truncated body: see stopped). */
hg_status_t hg_apibody_finish(hg_apibody_t *b, hg_err_t *err);

/* Parts begun so far. */
unsigned hg_apibody_parts(const hg_apibody_t *b);

/*
 * The caller will describe this body in a record (a part matched, or could
 * not be checked): from now on read it to its end, so that
 * hg_apibody_stopped() says where a fault after the last part is, as the
 * tokenizer alone would. Without it the lazy path leaves such a tail
 * unread when nothing in it could be a part: reading it costs more than
 * the rest of the parser on an image upload, and changes no verdict.
 */
void hg_apibody_want_stop(hg_apibody_t *b);

/*
 * NULL while the body is well-formed (after finish: it was, or, read
 * lazily, it held no possible part and was not read for faults; see
 * max_retained). Otherwise a
 * short reason ("expected ':' after a key", "truncated inside a string")
 * and, in *offset, the body offset where parsing stopped.
 */
const char *hg_apibody_stopped(const hg_apibody_t *b, uint64_t *offset);

#endif
