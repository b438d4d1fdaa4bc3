/*
 * walk_rar.c - RAR 5 encryption, which libarchive 3.6 (Debian 12's) does
 * not flag: it reads an encrypted file's cipher text as if it were the
 * file, and refuses an archive whose headers are encrypted with no sign
 * that they are.
 *
 * A RAR 5 block is a CRC32, a vint header size, the header (vint type,
 * vint flags, then an extra-area size and a data size when the flags say
 * so, the type's fields, the extra area) and its data. A file header
 * (type 2) whose extra area holds a record of type 1 is encrypted; an
 * archive encryption header (type 4) right after the signature encrypts
 * every header after it (RARLAB, "RAR 5.0 archive format"). Only bytes
 * libarchive has already walked are looked at, each length checked
 * against the buffer.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <string.h>

#include "inspect/walk_int.h"

#define RAR5_SIG            "Rar!\x1a\x07\x01\x00"
#define RAR5_SIG_LEN        8
#define RAR5_HEAD_FILE      2
#define RAR5_HEAD_CRYPT     4
#define RAR5_FLAG_EXTRA     0x0001
#define RAR5_FLAG_DATA      0x0002
#define RAR5_EXTRA_CRYPT    0x01
#define RAR5_MAX_HEADER     (2u << 20)  /* libarchive's bound too */
#define RAR5_MAX_BLOCKS     64          /* service blocks before a file */

/* A vint at *p (before end): 7 bits a byte, low first. 0 if it is cut. */
static int
_rar5_vint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    unsigned  shift;

    *v = 0;
    for (shift = 0; *p < end && shift < 64; shift += 7) {
        unsigned char  b = *(*p)++;

        *v |= (uint64_t) (b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            return 1;
        }
    }
    return 0;
}

typedef struct {
    uint64_t             type, flags, extra, data;
    const unsigned char *head, *end;    /* the header after its size */
} rar5_block_t;

/* The block at off; 0 if it does not fit in the buffer. */
static int
_rar5_block(const unsigned char *buf, size_t len, uint64_t off,
            rar5_block_t *b)
{
    const unsigned char  *p, *end = buf + len;
    uint64_t              size;

    if (off > len || len - off < 5) {
        return 0;
    }
    p = buf + off + 4;                  /* after the CRC */
    if (!_rar5_vint(&p, end, &size) || size > RAR5_MAX_HEADER
        || size > (uint64_t) (end - p))
    {
        return 0;
    }
    b->head = p;
    b->end = p + size;
    b->extra = b->data = 0;
    if (!_rar5_vint(&p, b->end, &b->type)
        || !_rar5_vint(&p, b->end, &b->flags)
        || ((b->flags & RAR5_FLAG_EXTRA) && !_rar5_vint(&p, b->end, &b->extra))
        || ((b->flags & RAR5_FLAG_DATA) && !_rar5_vint(&p, b->end, &b->data))
        || b->extra > (uint64_t) (b->end - p))
    {
        return 0;
    }
    return 1;
}

int
hg_walk_rar5_headers_encrypted(const unsigned char *buf, size_t len)
{
    rar5_block_t  b;

    return len >= RAR5_SIG_LEN && memcmp(buf, RAR5_SIG, RAR5_SIG_LEN) == 0
           && _rar5_block(buf, len, RAR5_SIG_LEN, &b)
           && b.type == RAR5_HEAD_CRYPT;
}

int
hg_walk_rar5_file_encrypted(const unsigned char *buf, size_t len,
                            uint64_t hdr_pos, uint64_t data_pos)
{
    rar5_block_t          b;
    const unsigned char  *p;
    uint64_t              off = hdr_pos, rsize, rtype;
    unsigned              i;

    for (i = 0; i < RAR5_MAX_BLOCKS && off < data_pos; i++) {
        if (!_rar5_block(buf, len, off, &b)) {
            return 0;
        }
        if ((uint64_t) (b.end - buf) == data_pos) {
            if (b.type != RAR5_HEAD_FILE) {
                return 0;
            }
            /* the extra area closes the header: records of size, type */
            p = b.end - b.extra;
            while (p < b.end) {
                const unsigned char  *rec;

                if (!_rar5_vint(&p, b.end, &rsize)
                    || rsize > (uint64_t) (b.end - p))
                {
                    return 0;
                }
                rec = p;
                if (_rar5_vint(&rec, p + rsize, &rtype)
                    && rtype == RAR5_EXTRA_CRYPT)
                {
                    return 1;
                }
                p += rsize;
            }
            return 0;
        }
        if (b.data > len) {
            return 0;
        }
        off = (uint64_t) (b.end - buf) + b.data;
    }
    return 0;
}
