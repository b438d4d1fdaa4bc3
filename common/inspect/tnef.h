/*
 * tnef.h - a small reader of TNEF streams (winmail.dat,
 * application/ms-tnef): the attachments Outlook and Exchange wrap in them.
 *
 * Internal to libhashgate ([MS-OXTNEF]). Only what the walk needs: each
 * attachment's title (attAttachTitle) and data (attAttachData), which lie
 * in the stream as they are, so an attachment is a pointer into the
 * caller's buffer, never a copy. Every attribute's length is checked
 * against the stream and its checksum verified; MAPI property blocks
 * (attAttachment, attMAPIProps) and message attributes are stepped over.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_TNEF_H
#define HASHGATE_TNEF_H

#include <stddef.h>

#define HG_TNEF_SIGNATURE   0x223e9f78u

typedef struct {
    const unsigned char *title;     /* raw bytes (a code page), NULs cut */
    size_t          title_len;
    const unsigned char *data;      /* NULL: the attachment has no data */
    size_t          data_len;
} hg_tnef_att_t;

typedef struct {
    const unsigned char *buf;
    size_t          len;
    size_t          pos;
    int             open;           /* cur holds an attachment begun */
    hg_tnef_att_t   cur;
    const char     *why;            /* after -1: what is wrong */
} hg_tnef_t;

/* Start reading buf; 0, or -1 when it does not start with the signature. */
int hg_tnef_open(hg_tnef_t *t, const void *buf, size_t len);

/*
 * The next attachment into *att: 1; 0 at the end; -1 when the stream is
 * damaged (an attribute past its end, a bad checksum, an unknown level),
 * t->why saying which. Attachments before stand.
 */
int hg_tnef_next(hg_tnef_t *t, hg_tnef_att_t *att);

#endif
