/*
 * walk_zip.c - a zip's second pass: the files its local headers show that
 * its central directory does not.
 *
 * A zip has two indexes: the central directory at its end, which unzip,
 * Windows and libarchive's seekable reader follow, and the local header
 * before each file's data, which streaming readers (Java's ZipInputStream,
 * libarchive on a pipe, many mail and web scanners) walk from the start.
 * A file can be in one and not the other: left out of the directory, or
 * put after a local header that claims less data than the directory says.
 * So after the first pass (walk.c) this one walks the local headers with
 * libarchive's streaming reader, from the same bytes in memory, and
 * reports every regular file whose data the first pass did not read,
 * flagged HG_INSPECT_F_HIDDEN. A file is known by where its data starts
 * (libarchive's position right after its header, in both readers) and
 * its size: the same local header read twice is the same file, so none
 * is reported twice; one the directory does not point to is new.
 *
 * The streaming reader skips the data of known files without inflating
 * it where the local header gives its size (most zips); a file whose size
 * comes only after its data (a data descriptor) is inflated to be skipped.
 * Where the streaming reader gives up, what it found stands and the zip is
 * not called damaged: the directory's readers read it.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdlib.h>

#include <archive.h>
#include <archive_entry.h>

#include "inspect/walk_int.h"

int
hg_walk_seen_add(hg_walk_seen_t *s, uint64_t off, int64_t size)
{
    void    *v;
    size_t   cap;

    if (s->n == s->cap) {
        cap = s->cap ? s->cap * 2 : 64;
        v = realloc(s->v, cap * sizeof(*s->v));
        if (v == NULL) {
            return -1;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n].off = off;
    s->v[s->n].size = size;
    s->n++;
    return 0;
}

void
hg_walk_seen_free(hg_walk_seen_t *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

static int
_zip_seen_cmp(const void *a, const void *b)
{
    const struct hg_walk_seen_s  *x = a, *y = b;

    return x->off < y->off ? -1 : x->off > y->off;
}

/* Did the first pass read the data at off? A streaming reader may not
 * know the size yet (-1): then the place alone says. */
static int
_zip_seen(const hg_walk_seen_t *s, uint64_t off, int64_t size)
{
    size_t  lo = 0, hi = s->n, mid;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (s->v[mid].off < off) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    for (; lo < s->n && s->v[lo].off == off; lo++) {
        if (size < 0 || s->v[lo].size == size) {
            return 1;
        }
    }
    return 0;
}

hg_walk_rc_t
hg_walk_zip_hidden(hg_walk_t *w, hg_walk_level_t *lv, hg_walk_seen_t *seen)
{
    struct archive        *a;
    struct archive_entry  *e;
    hg_walk_rc_t           rc = HG_WALK_GO;
    int64_t                size;
    int                    r;

    if (seen->n > 1) {
        qsort(seen->v, seen->n, sizeof(*seen->v), _zip_seen_cmp);
    }
    a = archive_read_new();
    if (a == NULL) {
        return hg_walk_nomem(w, "libarchive");
    }
    archive_read_support_format_zip_streamable(a);
    if (archive_read_open_memory(a, lv->buf, lv->len) != ARCHIVE_OK) {
        archive_read_free(a);
        return HG_WALK_GO;
    }
    while ((rc = hg_walk_tick(w)) == HG_WALK_GO) {
        r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) {
            break;
        }
        if (r < ARCHIVE_WARN) {
            if (archive_errno(a) == ENOMEM) {
                rc = hg_walk_nomem(w, "libarchive");
            }
            break;
        }
        size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
        if (_zip_seen(seen, (uint64_t) archive_filter_bytes(a, -1), size)) {
            continue;               /* its data is skipped by the next header */
        }
        rc = hg_walk_entry(w, lv, a, e, HG_INSPECT_F_HIDDEN, NULL, 0);
        if (rc != HG_WALK_GO) {
            break;
        }
    }
    archive_read_free(a);
    return rc;
}
