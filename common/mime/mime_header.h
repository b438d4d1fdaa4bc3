/*
 * mime_header.h - the MIME header fields the parser needs, decoded.
 *
 * Internal to libhashgate (used by unpack.c). From one part's raw header
 * block it takes Content-Type (type, boundary, name), Content-Transfer-
 * Encoding and Content-Disposition (filename, name), with folding undone,
 * quoted strings unquoted, RFC 2231 parameter continuations and charsets
 * and RFC 2047 encoded words decoded, and every name made valid UTF-8.
 * The fields are read in mime_header.c, parameters in mime_rfc2231.c,
 * encoded words in mime_rfc2047.c and charsets in mime_charset.c.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_MIME_HEADER_H
#define HASHGATE_MIME_HEADER_H

#include <stddef.h>

#include "hashgate/status.h"

/* Longest "type/subtype" kept; longer is malformed and reads as absent. */
#define HG_MIME_TYPE_MAX        127
/* Longest transfer encoding token kept ("quoted-printable" is 16). */
#define HG_MIME_ENCODING_MAX    31
/*
 * Longest boundary followed in mail. RFC 2046 says 70, and form-data is held
 * to that; some mail software writes longer ones, and ignoring a boundary
 * would hash the attachments as one text part, so mail gets some slack.
 */
#define HG_MIME_BOUNDARY_HARD   200
/* RFC 2231 continuation segments joined for one parameter. */
#define HG_MIME_PARAM_SEGMENTS  64

typedef struct {
    char    type[HG_MIME_TYPE_MAX + 1];         /* lowercase; "" if absent or malformed */
    char    encoding[HG_MIME_ENCODING_MAX + 1]; /* lowercase token; "" if absent */
    char   *boundary;       /* Content-Type boundary as sent (bytes, not UTF-8), or NULL */
    char   *filename;       /* UTF-8: disposition filename, else type name, or NULL */
    char   *field_name;     /* UTF-8: Content-Disposition name, or NULL */
    int     has_type;       /* a Content-Type field was present */
    int     boundary_nul;   /* the boundary held a NUL byte: boundary is NULL */
    /*
     * Readers that take the last of a repeated field or parameter would see
     * another structure than we do: NULL, or the field that disagrees with
     * itself ("Content-Type", "Content-Transfer-Encoding"). See
     * hg_mime_fields_parse.
     */
    const char *conflict;
} hg_mime_fields_t;

void hg_mime_fields_init(hg_mime_fields_t *f);

/* Frees the strings and re-inits; safe on an inited struct. */
void hg_mime_fields_free(hg_mime_fields_t *f);

/*
 * Parse a raw header block (field lines with their line ends, no blank
 * line). The first occurrence of each field wins. Fills f, which must be
 * inited; returns HG_ENOMEM only (malformed fields read as absent; a
 * boundary with a NUL byte sets boundary_nul instead, for the caller to
 * refuse: body lines could hold the NUL, a C string cannot). A repeated
 * Content-Type or Content-Transfer-Encoding whose copies would be read into
 * different structures (another boundary, multipart or message or text/plain
 * against a plain leaf, another decoder), or a boundary parameter given
 * twice with different values, sets conflict for the caller to refuse: a
 * reader taking the last copy would find parts we never hash. Copies that
 * differ only in ways that change no hashed byte (application/pdf against
 * application/octet-stream, 7bit against 8bit) are no conflict.
 */
hg_status_t hg_mime_fields_parse(hg_mime_fields_t *f, const char *block,
                                 size_t len);

/*
 * The type of a Content-Type value ("Multipart/Form-Data; boundary=x"):
 * lowercase into type (size bytes; "" if malformed), and its boundary
 * (malloc'd, NULL if none) into *boundary: the bytes as sent, unquoted but
 * never converted to UTF-8, since body lines are matched against them byte
 * for byte. HG_ENOMEM, or HG_EFORMAT (and *boundary NULL) when the boundary
 * holds a NUL byte, sent as such or as RFC 2231 %00. NULs in the type read
 * as blanks. *twice (if not NULL) is set when the boundary parameter is
 * given more than once with different values (plain twice, plain and RFC
 * 2231, one RFC 2231 segment twice); *boundary is then the first reading.
 */
hg_status_t hg_mime_content_type(const char *value, size_t len, char *type,
                                 size_t size, char **boundary, int *twice);

/*
 * The parameter `name` of a field value ("form-data; name=a; filename*=..."),
 * unquoted and with RFC 2231 continuations and charset decoded to UTF-8, in
 * *out (malloc'd, NULL when absent). Sets *extended when RFC 2231 encoding
 * was used (then RFC 2047 does not apply). HG_ENOMEM only.
 */
hg_status_t hg_mime_param(const char *value, size_t len, const char *name,
                          char **out, int *extended);

/* RFC 2047 encoded words in s decoded to UTF-8 (malloc'd; NULL: no memory). */
char *hg_mime_decode_words(const char *s, size_t len);

/*
 * len bytes in charset converted to UTF-8 (malloc'd, NUL-terminated; NULL:
 * no memory). UTF-8, US-ASCII, ISO-8859-1 and Windows-1252 are done here,
 * others by iconv; undecodable bytes become U+FFFD (invalid UTF-8, and text
 * in an unknown charset read as UTF-8: one per maximal subpart; what iconv
 * cannot decode: one per byte), NULs become U+FFFD too.
 */
char *hg_mime_to_utf8(const char *charset, const char *s, size_t len);

#endif
