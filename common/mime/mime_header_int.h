/*
 * mime_header_int.h - what the files behind mime_header.h share.
 *
 * Internal to mime_header.c, mime_rfc2047.c and mime_rfc2231.c (the
 * unpacker includes mime_header.h only): the small lexing steps a field
 * value, its parameters and its encoded words are read with, and the full
 * parameter reader that hg_mime_param and hg_mime_content_type share.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_MIME_HEADER_INT_H
#define HASHGATE_MIME_HEADER_INT_H

#include <stddef.h>

#include "hashgate/status.h"

/* The value of hex digit c, or -1. */
static inline int
hg_mime_hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20;
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* Skip blanks (and the line ends unfolding left). */
static inline const char *
hg_mime_skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        p++;
    }
    return p;
}

/* End of the segment at p: the next ';' outside a quoted string. */
static inline const char *
hg_mime_param_end(const char *p, const char *end)
{
    int     q = 0;

    for (; p < end; p++) {
        if (q && *p == '\\' && p + 1 < end) {
            p++;
        } else if (*p == '"') {
            q = !q;
        } else if (!q && *p == ';') {
            break;
        }
    }
    return p;
}

/*
 * The parameter name of a field value as hg_mime_param reads it, or with
 * rawlen its bytes as sent (for a boundary), and twice set when it is
 * given twice with different values. See mime_rfc2231.c.
 */
hg_status_t hg_mime_param_read(const char *value, size_t len,
                               const char *name, char **out, int *extended,
                               size_t *rawlen, int *twice);

#endif
