/*
 * decode_uu.c - a streaming uudecoder for "begin MODE NAME" ... "end" blocks.
 *
 * uuencode is line-based: each line starts with a length character and
 * carries up to 63 bytes (45 in practice). The decoder keeps one line
 * (HG_UU_LINE_MAX bytes; real lines are 61) and decodes it when its line
 * end arrives. It is used twice: for parts whose Content-Transfer-Encoding
 * is x-uuencode, and by unpack_leaf.c to find blocks inside text bodies,
 * where stop_at_begin lets the parser open a new part at the "begin" line.
 * Like Python's uu handling, short lines are padded with zero sextets and
 * characters after the declared length are ignored; characters outside
 * ' '..'`' are counted as errors.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mime/decode.h"

void
hg_uu_init(hg_uu_t *d, hg_uu_state_t start, int stop_at_begin)
{
    d->state = start;
    d->line_len = 0;
    d->line_over = 0;
    d->line_skip = 0;
    d->stop_at_begin = stop_at_begin;
    d->errors = 0;
    d->skipped = 0;
    d->name[0] = '\0';
}

size_t
hg_uu_decode_line(const unsigned char *line, size_t len, unsigned char *out,
                  uint64_t *errors)
{
    size_t      want, got = 0, i = 1, k;
    unsigned    v[4], c;

    if (len == 0) {
        return 0;
    }
    want = (size_t) ((line[0] - 32) & 63);
    while (got < want) {
        for (k = 0; k < 4; k++, i++) {
            c = i < len ? line[i] : ' ';
            if (c < ' ' || c > '`') {
                (*errors)++;
                c = ' ';
            }
            v[k] = (c - ' ') & 63;
        }
        out[got++] = (unsigned char) (v[0] << 2 | v[1] >> 4);
        if (got < want) {
            out[got++] = (unsigned char) (v[1] << 4 | v[2] >> 2);
        }
        if (got < want) {
            out[got++] = (unsigned char) (v[2] << 6 | v[3]);
        }
    }
    return got;
}

/* "begin" SP 1*octal SP name: copies the name, trailing blanks removed. */
static int
_uu_begin_line(hg_uu_t *d, const unsigned char *l, size_t len)
{
    size_t  i = 6, n;

    if (len < 8 || memcmp(l, "begin ", 6) != 0) {
        return 0;
    }
    while (i < len && l[i] >= '0' && l[i] <= '7') {
        i++;
    }
    if (i == 6 || i >= len || l[i] != ' ') {
        return 0;
    }
    i++;
    while (len > i && (l[len - 1] == ' ' || l[len - 1] == '\t')) {
        len--;
    }
    n = len - i;
    if (n > HG_UU_NAME_MAX) {
        n = HG_UU_NAME_MAX;
    }
    memcpy(d->name, l + i, n);
    d->name[n] = '\0';
    /* a name is text for the record: no NULs or control characters */
    for (i = 0; i < n; i++) {
        if ((unsigned char) d->name[i] < ' ') {
            d->name[i] = '?';
        }
    }
    return 1;
}

static int
_uu_end_line(const unsigned char *l, size_t len)
{
    while (len > 0 && (l[0] == ' ' || l[0] == '\t')) {
        l++;
        len--;
    }
    while (len > 0 && (l[len - 1] == ' ' || l[len - 1] == '\t'
                       || l[len - 1] == '\f')) {
        len--;
    }
    return len == 3 && memcmp(l, "end", 3) == 0;
}

/* One complete line (no line end); returns bytes written to out. */
static size_t
_uu_line(hg_uu_t *d, unsigned char *out)
{
    const unsigned char *l = d->line;
    size_t               len = d->line_len;
    int                  over = d->line_over;

    d->line_len = 0;
    d->line_over = 0;
    d->line_skip = 0;
    if (len > 0 && l[len - 1] == '\r' && !over) {
        len--;
    }
    switch (d->state) {
    case HG_UU_SEEK:
        if (!over && _uu_begin_line(d, l, len)) {
            d->state = HG_UU_BODY;
        } else if (len > 0 || over) {
            d->skipped++;
        }
        return 0;
    case HG_UU_BODY:
        if (!over && _uu_end_line(l, len)) {
            d->state = HG_UU_DONE;
            return 0;
        }
        if (over) {
            d->errors++;
        }
        return hg_uu_decode_line(l, len, out, &d->errors);
    case HG_UU_DONE:
        break;
    }
    return 0;
}

/* The end of a line skipped in SEEK: is it more than a bare CR? */
static void
_uu_skip_end(hg_uu_t *d)
{
    if (d->line_len > 1 || (d->line_len == 1 && d->line[0] != '\r')) {
        d->skipped++;
    }
    d->line_skip = 0;
    d->line_over = 0;
    d->line_len = 0;
}

size_t
hg_uu_feed(hg_uu_t *d, const unsigned char *in, size_t len, size_t *used,
           unsigned char *out, size_t cap)
{
    const unsigned char *p = in, *end = in + len, *nl;
    size_t               o = 0, n, room;
    hg_uu_state_t        prev;

    while (p < end) {
        if (d->state == HG_UU_DONE) {
            /* stop right after "end"; a later call ignores everything */
            if (p == in) {
                p = end;
            }
            break;
        }
        if (d->state == HG_UU_BODY && cap - o < HG_UU_OUT_MIN) {
            break;
        }
        /* in SEEK only a line starting with 'b' is worth keeping */
        if (d->state == HG_UU_SEEK && d->line_len == 0 && !d->line_skip
            && !d->line_over && *p != 'b')
        {
            d->line_skip = 1;
        }
        nl = memchr(p, '\n', (size_t) (end - p));
        n = (size_t) ((nl != NULL ? nl : end) - p);
        if (d->line_skip) {
            /* only whether the line is empty matters: count, keep the last */
            if (n > 0) {
                d->line_len = d->line_len + n > 2 ? 2 : d->line_len + n;
                d->line[0] = p[n - 1];
            }
        } else {
            room = HG_UU_LINE_MAX - d->line_len;
            if (n > room) {
                d->line_over = 1;
            }
            memcpy(d->line + d->line_len, p, n < room ? n : room);
            d->line_len += n < room ? n : room;
        }
        p += n;
        if (nl == NULL) {
            break;
        }
        p++;
        if (d->line_skip) {
            _uu_skip_end(d);
            continue;
        }
        prev = d->state;
        o += _uu_line(d, out + o);
        if (prev == HG_UU_SEEK && d->state == HG_UU_BODY && d->stop_at_begin) {
            break;
        }
    }
    *used = (size_t) (p - in);
    return o;
}

size_t
hg_uu_finish(hg_uu_t *d, unsigned char *out)
{
    size_t  o = 0;

    if (d->line_skip) {
        _uu_skip_end(d);
    } else if (d->line_len > 0 || d->line_over) {
        o = _uu_line(d, out);
    }
    if (d->state == HG_UU_SEEK && d->skipped > 0) {
        /* text that was declared uuencoded but had no "begin" line */
        d->errors++;
    }
    d->state = HG_UU_DONE;
    return o;
}
