/*
 * tnef.c - a small reader of TNEF streams: each attachment's title and
 * data, as [MS-OXTNEF] lays them out.
 *
 * A stream is a 4-byte signature, a 2-byte key, then attributes: a level
 * byte (1 message, 2 attachment), a 4-byte id, a 4-byte length, the data
 * and a 2-byte checksum (the sum of the data bytes). An attachment starts
 * at attAttachRendData; its attAttachTitle and attAttachData follow.
 *
 * Why our own and not Debian's libytnef: libytnef had a run of memory-
 * safety CVEs in 2017 (CVE-2017-6298 to -6306 among them), prints to
 * stdout from inside the library (the helper's stdout is its protocol),
 * and its entry point opens a file by name, which the helper's sandbox
 * forbids. What we need is about a hundred lines that check every length
 * before using it; see docs/archives.md.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <string.h>

#include "inspect/tnef.h"

#define TNEF_LVL_MESSAGE        1
#define TNEF_LVL_ATTACHMENT     2

#define ATT_ATTACH_REND_DATA    0x00069002u
#define ATT_ATTACH_TITLE        0x00018010u
#define ATT_ATTACH_DATA         0x0006800fu

/* level, id, length before the data; checksum after */
#define TNEF_ATTR_HEAD          9
#define TNEF_ATTR_TAIL          2

static uint32_t
_tnef_le32(const unsigned char *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
           | (uint32_t) p[3] << 24;
}

static unsigned
_tnef_sum(const unsigned char *p, size_t n)
{
    uint32_t  s = 0;
    size_t    i;

    /* 32 bits hold 16 M bytes of 0xff; fold before that */
    while (n > 0) {
        size_t  k = n < (1u << 23) ? n : (1u << 23);

        for (i = 0; i < k; i++) {
            s += p[i];
        }
        s &= 0xffff;
        p += k;
        n -= k;
    }
    return s;
}

int
hg_tnef_open(hg_tnef_t *t, const void *buf, size_t len)
{
    memset(t, 0, sizeof(*t));
    t->buf = buf;
    t->len = len;
    if (len < 6 || _tnef_le32(t->buf) != HG_TNEF_SIGNATURE) {
        t->why = "no TNEF signature";
        return -1;
    }
    t->pos = 6;     /* the key: only for encoding OEM text, unused */
    return 0;
}

int
hg_tnef_next(hg_tnef_t *t, hg_tnef_att_t *att)
{
    const unsigned char  *a, *d;
    uint32_t              id, n;
    unsigned              level;

    for (;;) {
        if (t->pos == t->len) {
            if (t->open) {
                *att = t->cur;
                t->open = 0;
                return 1;
            }
            return 0;
        }
        if (t->len - t->pos < TNEF_ATTR_HEAD + TNEF_ATTR_TAIL) {
            t->why = "truncated attribute";
            return -1;
        }
        a = t->buf + t->pos;
        level = a[0];
        id = _tnef_le32(a + 1);
        n = _tnef_le32(a + 5);
        if (n > t->len - t->pos - TNEF_ATTR_HEAD - TNEF_ATTR_TAIL) {
            t->why = "attribute longer than the stream";
            return -1;
        }
        d = a + TNEF_ATTR_HEAD;
        if ((unsigned) (d[n] | d[n + 1] << 8) != _tnef_sum(d, n)) {
            t->why = "attribute checksum wrong";
            return -1;
        }
        t->pos += TNEF_ATTR_HEAD + (size_t) n + TNEF_ATTR_TAIL;

        if (level == TNEF_LVL_MESSAGE) {
            continue;
        }
        if (level != TNEF_LVL_ATTACHMENT) {
            t->why = "unknown attribute level";
            return -1;
        }
        switch (id) {
        case ATT_ATTACH_REND_DATA:
            /* a new attachment: the one before, if any, is complete */
            if (t->open) {
                *att = t->cur;
                memset(&t->cur, 0, sizeof(t->cur));
                return 1;
            }
            t->open = 1;
            break;
        case ATT_ATTACH_TITLE:
            t->open = 1;
            t->cur.title = d;
            t->cur.title_len = strnlen((const char *) d, n);
            break;
        case ATT_ATTACH_DATA:
            t->open = 1;
            t->cur.data = d;
            t->cur.data_len = n;
            break;
        default:
            break;
        }
    }
}
