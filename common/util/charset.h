/*
 * charset.h - the charset names libhashgate converts without iconv.
 *
 * Internal to libhashgate. MIME header fields (mime/mime_charset.c) and the
 * NCMEC XML reader (lists/xml_stream.c) both meet text declared as
 * ISO-8859-1 or Windows-1252 under one of their many names; the names and
 * the byte tables live here once.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_CHARSET_H
#define HASHGATE_CHARSET_H

#include <stdint.h>

typedef enum {
    HG_CS_OTHER = 0,        /* not one of these: iconv's, or unsupported */
    HG_CS_UTF8,             /* UTF-8 and US-ASCII (read as UTF-8), or "" */
    HG_CS_LATIN1,           /* ISO-8859-1 */
    HG_CS_CP1252            /* Windows-1252 */
} hg_charset_t;

/* Which of the charsets above name is (case-insensitively); NULL is "". */
hg_charset_t hg_charset_find(const char *name);

/*
 * The code point of byte c in single-byte charset cs (HG_CS_LATIN1 or
 * HG_CS_CP1252), or 0 when cs leaves c undefined (five bytes of
 * Windows-1252) and for the byte 0 itself, which callers refuse or replace.
 */
uint32_t hg_charset_byte(hg_charset_t cs, unsigned char c);

#endif
