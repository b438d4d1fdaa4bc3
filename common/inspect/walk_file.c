/*
 * walk_file.c - one file inside a container: its limits, its digests,
 * its report and, when its bytes make a container, that container's walk.
 *
 * Each block libarchive hands over is hashed where it lies; nothing is
 * copied unless the file turns out to be a container to open in turn, and
 * not even then when all of it lies in one piece of the container's own
 * buffer (stored data read from memory): the nested walk reads it there.
 * Every limit of hg_inspect_limits_t is checked here, before the bytes
 * that would pass it are hashed, so a bomb costs at most one block past
 * its limit. The time limit is checked against CLOCK_MONOTONIC at every
 * header and block; a single libarchive call that runs long is the
 * helper's CPU rlimit's and the caller's timeout's to stop.
 *
 * Images (images asked for): a file whose leading bytes say JPEG, PNG, GIF
 * or WebP is kept like a container (a span of the level's buffer, else a
 * copy), up to the image bytes limit, and decoded and PDQ-hashed at its
 * end (hg_walk_image); its entry carries the result. A decoder that fails
 * gives that file "not decoded", never the walk's end.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <archive.h>

#include "inspect/walk_int.h"

/* Bytes a hole (a sparse file's) is hashed from, a block at a time. */
static const unsigned char  walk_zeros[65536];

hg_walk_rc_t
hg_walk_stop(hg_walk_t *w, hg_status_t st, hg_inspect_limit_t limit,
             const char *fmt, ...)
{
    hg_inspect_done_t  *d = w->done;
    va_list             ap;

    if (d->st == HG_OK || d->st == HG_EFORMAT) {
        d->st = st;
        d->limit = limit;
        va_start(ap, fmt);
        vsnprintf(d->why, sizeof(d->why), fmt, ap);
        va_end(ap);
    }
    return HG_WALK_STOP;
}

hg_walk_rc_t
hg_walk_nomem(hg_walk_t *w, const char *what)
{
    return hg_walk_stop(w, HG_ELIMIT, HG_INSPECT_LIMIT_MEMORY,
                        "memory: out of memory (%s)", what);
}

hg_walk_rc_t
hg_walk_damaged(hg_walk_t *w, const hg_walk_level_t *lv, const char *what)
{
    hg_inspect_done_t  *d = w->done;

    if (d->st == HG_OK) {
        d->st = HG_EFORMAT;
        snprintf(d->why, sizeof(d->why), "damaged %s%s%.*s: %s",
                 lv->format[0] ? lv->format : "container",
                 lv->chain_len ? " at " : "", (int) lv->chain_len,
                 w->chain, what ? what : "unreadable");
    }
    return HG_WALK_BROKEN;
}

hg_walk_rc_t
hg_walk_tick(hg_walk_t *w)
{
    struct timespec  ts;

    if (w->deadline_ns == 0) {
        return HG_WALK_GO;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if ((uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec
        < w->deadline_ns)
    {
        return HG_WALK_GO;
    }
    return hg_walk_stop(w, HG_ELIMIT, HG_INSPECT_LIMIT_TIME,
                        "time: more than %u ms", w->lim->timeout_ms);
}

/* The size limits for n more bytes of f: its own, the walk's and, for
 * bytes really read (not a declared size), the expansion ratio. */
static hg_walk_rc_t
_walk_limits(hg_walk_t *w, const hg_walk_file_t *f, uint64_t n, int read)
{
    const hg_inspect_limits_t  *lim = w->lim;
    uint64_t                    total = w->done->bytes + n;

    if (n > lim->max_file_bytes || f->pos > lim->max_file_bytes - n) {
        return hg_walk_stop(w, HG_ELIMIT, HG_INSPECT_LIMIT_FILE_BYTES,
                            "file size: %s is over %llu bytes", f->path,
                            (unsigned long long) lim->max_file_bytes);
    }
    if (total > lim->max_bytes || total < n) {
        return hg_walk_stop(w, HG_ELIMIT, HG_INSPECT_LIMIT_BYTES,
                            "bytes: over %llu bytes expanded",
                            (unsigned long long) lim->max_bytes);
    }
    /* compression ratios of 10 to 20 are common and any ratio is fine
     * for a small part; past the grace a bomb is told by its ratio */
    if (read && lim->max_ratio > 0 && total > HG_INSPECT_RATIO_GRACE
        && total / lim->max_ratio > w->part_len)
    {
        return hg_walk_stop(w, HG_ELIMIT, HG_INSPECT_LIMIT_RATIO,
                            "ratio: %llu bytes expanded from %llu "
                            "(over %u to 1)", (unsigned long long) total,
                            (unsigned long long) w->part_len,
                            lim->max_ratio);
    }
    return HG_WALK_GO;
}

hg_walk_rc_t
hg_walk_file_begin(hg_walk_t *w, hg_walk_file_t *f, const char *raw,
                   size_t raw_len, int64_t declared, unsigned flags)
{
    memset(f, 0, sizeof(*f));
    f->flags = flags;
    f->declared = declared >= 0 ? (uint64_t) declared : UINT64_MAX;
    f->sniff = HG_SNIFF_MORE;
    f->img_state = (w->lim->images & HG_INSPECT_IMAGES) ? HG_WALK_IMG_MAYBE
                                                        : HG_WALK_IMG_NO;
    hg_walk_path_set(f, raw, raw_len);

    if (w->done->files >= w->lim->max_files) {
        return hg_walk_stop(w, HG_ELIMIT, HG_INSPECT_LIMIT_FILES,
                            "files: over %llu files",
                            (unsigned long long) w->lim->max_files);
    }
    if (flags & HG_INSPECT_F_ENCRYPTED) {
        return HG_WALK_GO;          /* not read */
    }
    /* a declared size over a limit stops before anything is inflated */
    if (declared > 0 && _walk_limits(w, f, (uint64_t) declared, 0)
                        != HG_WALK_GO)
    {
        return HG_WALK_STOP;
    }
    if (hg_hash_init(w->hash, w->algs) != HG_OK) {
        return hg_walk_nomem(w, "hashing");
    }
    f->hashing = 1;
    return HG_WALK_GO;
}

/* Keep n more bytes of a file that may be a container. */
static hg_walk_rc_t
_walk_keep(hg_walk_t *w, hg_walk_level_t *lv, hg_walk_file_t *f,
           const unsigned char *p, size_t n)
{
    size_t          cap;
    unsigned char  *c;

    if (n > lv->copy_cap - f->copy_len) {
        cap = lv->copy_cap ? lv->copy_cap : 65536;
        while (cap - f->copy_len < n) {
            if (cap > SIZE_MAX / 2) {
                return hg_walk_nomem(w, "a nested container");
            }
            cap *= 2;
        }
        c = realloc(lv->copy, cap);
        if (c == NULL) {
            return hg_walk_nomem(w, "a nested container");
        }
        lv->copy = c;
        lv->copy_cap = cap;
    }
    memcpy(lv->copy + f->copy_len, p, n);
    f->copy_len += n;
    return HG_WALK_GO;
}

/* Is f still to be kept: it may be a container, or it is an image? */
static int
_walk_keeping(const hg_walk_file_t *f)
{
    return f->sniff != HG_SNIFF_NO || f->img_state == HG_WALK_IMG_MAYBE
           || f->img_state == HG_WALK_IMG_YES;
}

/* What f's kept bytes say of it as an image (complete: they are all). */
static void
_walk_img_sniff(hg_walk_t *w, hg_walk_level_t *lv, hg_walk_file_t *f,
                int complete)
{
    const unsigned char  *data = f->copying ? lv->copy : f->span;
    size_t                len = f->copying ? f->copy_len : f->span_len;

    if (f->img_state == HG_WALK_IMG_MAYBE && (len >= 12 || complete)) {
        /* 12 bytes: WebP's RIFF....WEBP, the longest signature */
        f->img_state = hg_image_sniff(data, len) != HG_IMAGE_NONE
                       ? HG_WALK_IMG_YES : HG_WALK_IMG_NO;
    }
    if (f->img_state == HG_WALK_IMG_YES
        && (uint64_t) len > w->lim->image.max_bytes)
    {
        f->img_state = HG_WALK_IMG_OVER;
    }
}

/* Follow the bytes of f for hg_inspect_sniff, and keep them while it may
 * be a container or is an image: as a span of the level's buffer, else a
 * copy. */
static hg_walk_rc_t
_walk_track(hg_walk_t *w, hg_walk_level_t *lv, hg_walk_file_t *f,
            const unsigned char *p, size_t n)
{
    hg_walk_rc_t  rc;

    if (!_walk_keeping(f) || n == 0) {
        return HG_WALK_GO;
    }
    if (!f->copying) {
        uintptr_t  b = (uintptr_t) lv->buf, q = (uintptr_t) p;

        if (q >= b && n <= lv->len && q - b <= lv->len - n
            && (f->span_len == 0 || p == f->span + f->span_len))
        {
            if (f->span_len == 0) {
                f->span = p;
            }
            f->span_len += n;
            if (f->sniff == HG_SNIFF_MORE) {
                f->sniff = hg_inspect_sniff(f->span, f->span_len, 0,
                                            &f->sniff_format);
            }
            _walk_img_sniff(w, lv, f, 0);
            return HG_WALK_GO;
        }
        f->copying = 1;
        f->copy_len = 0;
        if (f->span_len > 0) {
            rc = _walk_keep(w, lv, f, f->span, f->span_len);
            if (rc != HG_WALK_GO) {
                return rc;
            }
        }
    }
    rc = _walk_keep(w, lv, f, p, n);
    if (rc == HG_WALK_GO && f->sniff == HG_SNIFF_MORE) {
        f->sniff = hg_inspect_sniff(lv->copy, f->copy_len, 0,
                                    &f->sniff_format);
    }
    if (rc == HG_WALK_GO) {
        _walk_img_sniff(w, lv, f, 0);
    }
    return rc;
}

static hg_walk_rc_t
_walk_bytes(hg_walk_t *w, hg_walk_level_t *lv, hg_walk_file_t *f,
            const unsigned char *p, size_t n)
{
    hg_walk_rc_t  rc;

    rc = _walk_limits(w, f, n, 1);
    if (rc != HG_WALK_GO) {
        return rc;
    }
    if (hg_hash_update(w->hash, p, n) != HG_OK) {
        return hg_walk_nomem(w, "hashing");
    }
    f->pos += n;
    w->done->bytes += n;
    return _walk_track(w, lv, f, p, n);
}

hg_walk_rc_t
hg_walk_file_data(hg_walk_t *w, hg_walk_level_t *lv, hg_walk_file_t *f,
                  const void *p, size_t n, uint64_t off)
{
    hg_walk_rc_t  rc;
    uint64_t      k;

    rc = hg_walk_tick(w);
    /* a sparse file's hole reads as zeros, as extracting it gives */
    while (rc == HG_WALK_GO && off > f->pos) {
        k = off - f->pos;
        if (k > sizeof(walk_zeros)) {
            k = sizeof(walk_zeros);
        }
        rc = _walk_bytes(w, lv, f, walk_zeros, (size_t) k);
    }
    if (rc != HG_WALK_GO) {
        return rc;
    }
    if (off < f->pos) {
        /* blocks going back: no extractor would agree on the bytes */
        f->flags |= HG_INSPECT_F_UNREADABLE;
        return HG_WALK_GO;
    }
    return _walk_bytes(w, lv, f, p, n);
}

hg_walk_rc_t
hg_walk_report(hg_walk_t *w, hg_walk_level_t *lv, hg_walk_file_t *f)
{
    hg_inspect_entry_t  e;
    size_t              end;
    hg_status_t         st;

    end = hg_walk_chain_push(w, lv->chain_len, f->path);
    if (end == 0) {
        return hg_walk_nomem(w, "the chain");
    }
    memset(&e, 0, sizeof(e));
    e.depth = lv->depth;
    e.path = f->path;
    e.chain = w->chain;
    e.name = hg_walk_path_name(f->path);
    e.format = lv->format;
    e.flags = f->flags;
    e.image = f->image;
    if (f->flags & (HG_INSPECT_F_ENCRYPTED | HG_INSPECT_F_UNREADABLE)) {
        e.size = f->declared != UINT64_MAX ? f->declared : f->pos;
    } else {
        e.size = f->pos;
        e.digests = f->digests;
    }
    f->chain_end = end;
    w->done->files++;
    st = w->cb(w->ctx, &e);
    if (st != HG_OK) {
        return hg_walk_stop(w, st, HG_INSPECT_LIMIT_NONE,
                            "stopped by the caller at %s (%s)", w->chain,
                            hg_status_str(st));
    }
    return HG_WALK_GO;
}

hg_walk_rc_t
hg_walk_image(hg_walk_t *w, const unsigned char *buf, size_t len,
              hg_inspect_image_t *img)
{
    hg_image_limits_t  il = w->lim->image;
    hg_image_info_t    info;
    hg_err_t           err;
    hg_status_t        st;
    struct timespec    ts;
    uint64_t           now, left;
    int                k;

    /* the walk's deadline bounds an image's time too */
    if (w->deadline_ns != 0) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        now = (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
        left = now < w->deadline_ns ? (w->deadline_ns - now) / 1000000u : 0;
        if (left == 0) {
            left = 1;
        }
        if (il.timeout_ms == 0 || left < il.timeout_ms) {
            il.timeout_ms = (unsigned) left;
        }
    }
    memset(img, 0, sizeof(*img));
    memset(&info, 0, sizeof(info));
    err.msg[0] = '\0';
    st = hg_image_pdq(buf, len, &il, &info, &err);
    if (st == HG_ENOMEM) {
        return hg_walk_nomem(w, "an image");
    }
    img->format = info.format != HG_IMAGE_NONE ? info.format
                                               : hg_image_sniff(buf, len);
    img->width = info.width;
    img->height = info.height;
    if (st == HG_OK) {
        img->st = HG_OK;
        img->pdq = info.pdq;
        img->dihedral = (w->lim->images & HG_INSPECT_DIHEDRAL) != 0;
        if (!img->dihedral) {
            for (k = 1; k < HG_PDQ_DIHEDRAL_COUNT; k++) {
                memset(&img->pdq.dihedral[k], 0, sizeof(img->pdq.dihedral[k]));
            }
        }
        return HG_WALK_GO;
    }
    img->st = st == HG_ELIMIT ? HG_ELIMIT : HG_EFORMAT;
    snprintf(img->why, sizeof(img->why), "%.*s", (int) sizeof(img->why) - 1,
             err.msg[0] ? err.msg : hg_status_str(st));
    return HG_WALK_GO;
}

/* f is an image: decode it (or say why not) before it is reported. */
static hg_walk_rc_t
_walk_file_image(hg_walk_t *w, hg_walk_level_t *lv, hg_walk_file_t *f)
{
    hg_inspect_image_t   *img = &f->img;
    const unsigned char  *data = f->copying ? lv->copy : f->span;
    size_t                len = f->copying ? f->copy_len : f->span_len;
    hg_walk_rc_t          rc;

    _walk_img_sniff(w, lv, f, 1);
    if (f->img_state == HG_WALK_IMG_OVER) {
        memset(img, 0, sizeof(*img));
        img->format = hg_image_sniff(data, len);
        img->st = HG_ELIMIT;
        snprintf(img->why, sizeof(img->why), "%s: over %llu bytes",
                 hg_image_format_name(img->format),
                 (unsigned long long) w->lim->image.max_bytes);
        f->image = img;
        return HG_WALK_GO;
    }
    if (f->img_state != HG_WALK_IMG_YES) {
        return HG_WALK_GO;
    }
    rc = hg_walk_image(w, data, len, img);
    if (rc == HG_WALK_GO) {
        f->image = img;
    }
    return rc;
}

hg_walk_rc_t
hg_walk_file_end(hg_walk_t *w, hg_walk_level_t *lv, hg_walk_file_t *f)
{
    hg_walk_level_t  nested;
    hg_walk_rc_t     rc;
    const unsigned char *data;
    size_t           len;

    if (f->hashing) {
        f->hashing = 0;
        if (hg_hash_final(w->hash, &f->digests) != HG_OK) {
            return hg_walk_nomem(w, "hashing");
        }
    }
    if (f->flags & (HG_INSPECT_F_ENCRYPTED | HG_INSPECT_F_UNREADABLE)) {
        return hg_walk_report(w, lv, f);
    }
    if (f->sniff == HG_SNIFF_MORE) {
        data = f->copying ? lv->copy : f->span;
        len = f->copying ? f->copy_len : f->span_len;
        f->sniff = hg_inspect_sniff(data, len, 1, &f->sniff_format);
    }
    if (f->sniff != HG_SNIFF_YES) {
        if (f->img_state != HG_WALK_IMG_NO
            && (rc = _walk_file_image(w, lv, f)) != HG_WALK_GO)
        {
            return rc;
        }
        return hg_walk_report(w, lv, f);
    }
    if (lv->depth >= w->lim->max_depth) {
        rc = hg_walk_report(w, lv, f);
        if (rc != HG_WALK_GO) {
            return rc;
        }
        return hg_walk_stop(w, HG_ELIMIT, HG_INSPECT_LIMIT_DEPTH,
                            "depth: %s is a %s at depth %u (limit %u)",
                            w->chain, f->sniff_format, lv->depth,
                            w->lim->max_depth);
    }

    memset(&nested, 0, sizeof(nested));
    nested.buf = f->copying ? lv->copy : f->span;
    nested.len = f->copying ? f->copy_len : f->span_len;
    nested.depth = lv->depth + 1;
    /* nested.chain_len: set when f is reported, as the container opens */
    rc = hg_walk_container(w, &nested, lv, f);
    free(nested.copy);
    /* a damaged nested container is noted; this one goes on */
    return rc == HG_WALK_BROKEN ? HG_WALK_GO : rc;
}

hg_walk_rc_t
hg_walk_archive_error(hg_walk_t *w, hg_walk_level_t *lv, struct archive *a)
{
    if (archive_errno(a) == ENOMEM) {
        return hg_walk_nomem(w, "libarchive");
    }
    return hg_walk_damaged(w, lv, archive_error_string(a));
}

hg_walk_rc_t
hg_walk_archive_file(hg_walk_t *w, hg_walk_level_t *lv, struct archive *a,
                     const char *raw, size_t raw_len, int64_t declared,
                     unsigned flags)
{
    hg_walk_file_t  f;
    hg_walk_rc_t    rc;
    const void     *p;
    size_t          n;
    la_int64_t      off;
    int             r, broken = 0;

    rc = hg_walk_file_begin(w, &f, raw, raw_len, declared, flags);
    if (rc != HG_WALK_GO) {
        return rc;
    }
    while (!(f.flags & (HG_INSPECT_F_ENCRYPTED | HG_INSPECT_F_UNREADABLE))) {
        off = 0;
        r = archive_read_data_block(a, &p, &n, &off);
        if (r == ARCHIVE_EOF) {
            /* a hole at the end of a sparse file */
            if (off > 0 && (uint64_t) off > f.pos) {
                rc = hg_walk_file_data(w, lv, &f, p, 0, (uint64_t) off);
            }
            break;
        }
        if (r == ARCHIVE_OK || (r == ARCHIVE_WARN && n > 0)) {
            /* a WARN with bytes: they are what an extractor writes (a bad
             * CRC, say); hashing them keeps a listed file listed */
            rc = hg_walk_file_data(w, lv, &f, p, n, off < 0 ? 0
                                   : (uint64_t) off);
        } else if (r == ARCHIVE_WARN) {
            break;                  /* the end, with a complaint */
        } else if (r == ARCHIVE_FATAL) {
            if (archive_errno(a) == ENOMEM) {
                return hg_walk_nomem(w, "libarchive");
            }
            f.flags |= HG_INSPECT_F_UNREADABLE;
            broken = 1;
        } else {
            /* FAILED, RETRY: this file's data, not the archive, is bad
             * (an unsupported method, say); the next header may read */
            f.flags |= HG_INSPECT_F_UNREADABLE;
        }
        if (rc != HG_WALK_GO) {
            return rc;
        }
    }
    if (rc == HG_WALK_GO) {
        rc = hg_walk_file_end(w, lv, &f);
    }
    if (rc == HG_WALK_GO && broken) {
        rc = hg_walk_archive_error(w, lv, a);
    }
    return rc;
}
