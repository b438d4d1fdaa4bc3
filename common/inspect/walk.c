/*
 * walk.c - open a container in memory and walk every file inside it; the
 * code that parses hostile archives, run only in the sandboxed helper
 * (hashgate-inspect) and the fuzz target.
 *
 * libarchive reads from memory only (archive_read_open_memory): it is
 * given the formats and compression filters we open, one by one, never
 * "all", which would bring in mtree (it opens the files an mtree names)
 * and the filters that run an outside program (lrzip, grzip, lzop).
 * Which container a part is, is decided by its bytes: libarchive's
 * bidding, after hg_inspect_sniff said "container". A file compressed
 * whole (a .gz of a PDF) is read through the raw format, and only when a
 * compression filter was recognised: a plain file is never an archive of
 * itself.
 *
 * A zip is read twice: by its central directory (what unzip and Windows
 * show) and then by its local headers (walk_zip.c), so that an entry
 * hidden from one reader is not hidden from us. RAR 5 encryption, which
 * libarchive 3.6 does not flag, is found by walk_rar.c. TNEF (winmail.dat)
 * is read by our own small reader, tnef.c. Each file inside goes through
 * walk_file.c: limits, hashing, its report and, when it is itself a
 * container, its own walk one level deeper.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <archive.h>
#include <archive_entry.h>

#include "inspect/tnef.h"
#include "inspect/walk_int.h"

/* Headers in a row that libarchive fails without moving on: then the
 * archive is damaged (each failure may still have reported an entry). */
#define WALK_MAX_FAILED     16

typedef int (*walk_filter_pt)(struct archive *);

/* The compression filters we read, each in-process. */
static const walk_filter_pt  walk_filters[] = {
    archive_read_support_filter_gzip,
    archive_read_support_filter_bzip2,
    archive_read_support_filter_xz,
    archive_read_support_filter_lzma,
    archive_read_support_filter_lzip,
    archive_read_support_filter_zstd,
    archive_read_support_filter_lz4,
    archive_read_support_filter_compress,
};

/*
 * Which of them this libarchive was built with: one built without a
 * library says ARCHIVE_WARN and would run the outside program instead,
 * which the sandbox kills. Found once, by registering each on a throwaway
 * archive (no system call).
 */
static unsigned
_walk_filters_usable(void)
{
    static unsigned  mask;
    static int       known;
    struct archive  *a;
    size_t           i;

    if (!known) {
        for (i = 0; i < sizeof(walk_filters) / sizeof(walk_filters[0]); i++) {
            a = archive_read_new();
            if (a == NULL) {
                return 0;           /* out of memory: try again next time */
            }
            if (walk_filters[i](a) == ARCHIVE_OK) {
                mask |= 1u << i;
            }
            archive_read_free(a);
        }
        known = 1;
    }
    return mask;
}

/* Filters and formats, never "all" (see the top of this file). */
static struct archive *
_walk_open(const hg_walk_level_t *lv, int raw)
{
    struct archive  *a;
    unsigned         usable = _walk_filters_usable();
    size_t           i;

    a = archive_read_new();
    if (a == NULL) {
        return NULL;
    }
    for (i = 0; i < sizeof(walk_filters) / sizeof(walk_filters[0]); i++) {
        if (usable & (1u << i)) {
            walk_filters[i](a);
        }
    }
    if (raw) {
        archive_read_support_format_raw(a);
    } else {
        archive_read_support_format_zip(a);     /* central directory, and
                                                 * streaming for a zip that
                                                 * has none */
        archive_read_support_format_7zip(a);
        archive_read_support_format_rar(a);
        archive_read_support_format_rar5(a);
        archive_read_support_format_tar(a);
        archive_read_support_format_cpio(a);
        archive_read_support_format_iso9660(a);
        archive_read_support_format_cab(a);
        archive_read_support_format_ar(a);
        archive_read_support_format_xar(a);
        /* A zip entry whose CRC does not match is hashed all the same
         * (hg_walk_archive_file: what an extractor writes): the check
         * changed nothing but cost a twentieth of the walk's time. */
        (void) archive_read_set_format_option(a, "zip", "ignorecrc32", "1");
    }
    /* a failure here (the filters' bidding) shows at the first header */
    (void) archive_read_open_memory(a, lv->buf, lv->len);
    return a;
}

static const char *
_walk_format_name(int code)
{
    switch (code & ARCHIVE_FORMAT_BASE_MASK) {
    case ARCHIVE_FORMAT_ZIP:        return "zip";
    case ARCHIVE_FORMAT_7ZIP:       return "7z";
    case ARCHIVE_FORMAT_RAR:        return "rar";
    case ARCHIVE_FORMAT_RAR_V5:     return "rar5";
    case ARCHIVE_FORMAT_TAR:        return "tar";
    case ARCHIVE_FORMAT_CPIO:       return "cpio";
    case ARCHIVE_FORMAT_ISO9660:    return "iso9660";
    case ARCHIVE_FORMAT_CAB:        return "cab";
    case ARCHIVE_FORMAT_AR:         return "ar";
    case ARCHIVE_FORMAT_XAR:        return "xar";
    case ARCHIVE_FORMAT_RAW:        return NULL;
    }
    return "archive";
}

/* The filter's name alone ("gzip") and as a suffix (".gz"). */
static const char *
_walk_filter_name(int code, int suffix)
{
    switch (code) {
    case ARCHIVE_FILTER_GZIP:       return suffix ? "gz" : "gzip";
    case ARCHIVE_FILTER_BZIP2:      return suffix ? "bz2" : "bzip2";
    case ARCHIVE_FILTER_XZ:         return "xz";
    case ARCHIVE_FILTER_LZMA:       return "lzma";
    case ARCHIVE_FILTER_LZIP:       return suffix ? "lz" : "lzip";
    case ARCHIVE_FILTER_ZSTD:       return suffix ? "zst" : "zstd";
    case ARCHIVE_FILTER_LZ4:        return "lz4";
    case ARCHIVE_FILTER_COMPRESS:   return suffix ? "Z" : "compress";
    }
    return "filter";
}

/* "zip", "tar.gz", "gzip" (a file compressed whole), "xz.gz". */
static void
_walk_set_format(hg_walk_level_t *lv, struct archive *a)
{
    const char  *base;
    size_t       n;
    int          i, nf;

    base = archive_format(a) != 0 ? _walk_format_name(archive_format(a))
                                  : NULL;
    nf = archive_filter_count(a) - 1;   /* the last is the memory reader */
    if (base == NULL) {
        /* raw: the innermost filter names it; with none, the magic (a
         * container no reader opens, _walk_strong_magic) */
        if (nf > 0) {
            base = _walk_filter_name(archive_filter_code(a, 0), 0);
        } else if (hg_inspect_sniff(lv->buf, lv->len, 1, &base)
                   != HG_SNIFF_YES || base == NULL)
        {
            base = "raw";
        }
        i = 1;
    } else {
        i = 0;
    }
    n = (size_t) snprintf(lv->format, sizeof(lv->format), "%s", base);
    for (; i < nf && n < sizeof(lv->format); i++) {
        n += (size_t) snprintf(lv->format + n, sizeof(lv->format) - n,
                               ".%s",
                               _walk_filter_name(archive_filter_code(a, i),
                                                 1));
    }
}

/*
 * The name a gzip header keeps (FNAME) for the file compressed whole;
 * libarchive's raw format calls every such file "data". *len 0: none.
 */
static const char *
_walk_gzip_name(const unsigned char *b, size_t len, size_t *name_len)
{
    size_t       p = 10, x;
    const void  *nul;

    *name_len = 0;
    if (len < 10 || b[0] != 0x1f || b[1] != 0x8b || b[2] != 8
        || (b[3] & 0x08) == 0)
    {
        return NULL;
    }
    if (b[3] & 0x04) {              /* FEXTRA first */
        if (len - p < 2) {
            return NULL;
        }
        x = (size_t) b[p] | (size_t) b[p + 1] << 8;
        p += 2;
        if (len - p < x) {
            return NULL;
        }
        p += x;
    }
    nul = memchr(b + p, '\0', len - p);
    if (nul == NULL) {
        return NULL;
    }
    *name_len = (size_t) ((const unsigned char *) nul - (b + p));
    return *name_len ? (const char *) b + p : NULL;
}

/* A container whose every header is encrypted: one entry stands for what
 * cannot be listed, its path empty, flagged encrypted. */
static hg_walk_rc_t
_walk_encrypted_headers(hg_walk_t *w, hg_walk_level_t *lv)
{
    hg_walk_file_t  f;
    hg_walk_rc_t    rc;

    rc = hg_walk_file_begin(w, &f, "", 0, -1, HG_INSPECT_F_ENCRYPTED);
    if (rc != HG_WALK_GO) {
        return rc;
    }
    return hg_walk_file_end(w, lv, &f);
}

/* Report the pending file as what it is: a container that opened, or a
 * plain file (not a container, or one whose first header is damaged).
 * Its chain, written then, is the prefix of lv's entries. */
static hg_walk_rc_t
_walk_pending(hg_walk_t *w, hg_walk_level_t *lv, hg_walk_level_t *plv,
              hg_walk_file_t *pending, int opened)
{
    hg_walk_rc_t  rc;

    if (pending == NULL) {
        return HG_WALK_GO;
    }
    if (opened) {
        pending->flags |= HG_INSPECT_F_CONTAINER;
    }
    rc = hg_walk_report(w, plv, pending);
    lv->chain_len = pending->chain_end;
    return rc;
}

static hg_walk_rc_t
_walk_tnef(hg_walk_t *w, hg_walk_level_t *lv, hg_walk_level_t *plv,
           hg_walk_file_t *pending)
{
    hg_tnef_t       t;
    hg_tnef_att_t   att;
    hg_walk_file_t  f;
    hg_walk_rc_t    rc;
    int             r;

    if (hg_tnef_open(&t, lv->buf, lv->len) != 0) {
        return _walk_pending(w, lv, plv, pending, 0);
    }
    snprintf(lv->format, sizeof(lv->format), "tnef");
    rc = _walk_pending(w, lv, plv, pending, 1);
    while (rc == HG_WALK_GO && (rc = hg_walk_tick(w)) == HG_WALK_GO) {
        r = hg_tnef_next(&t, &att);
        if (r == 0) {
            break;
        }
        if (r < 0) {
            return hg_walk_damaged(w, lv, t.why);
        }
        if (att.data == NULL) {
            continue;               /* by reference, or an OLE object */
        }
        rc = hg_walk_file_begin(w, &f, (const char *) att.title,
                                att.title_len, (int64_t) att.data_len, 0);
        if (rc == HG_WALK_GO) {
            rc = hg_walk_file_data(w, lv, &f, att.data, att.data_len, 0);
        }
        if (rc == HG_WALK_GO) {
            rc = hg_walk_file_end(w, lv, &f);
        }
    }
    return rc;
}

/*
 * A container's magic that other files are unlikely to start with: three
 * bytes or more, gzip's two with its deflate method and no reserved flag,
 * bzip2's with its block size digit and first block (or end) magic, not
 * the 2-byte binary cpio ones. A
 * file that has one and that no reader opens is a damaged container (a
 * gzip stream cut short fails libarchive's bidding, so it shows no format
 * and no filter), never a plain file passed as checked.
 */
static int
_walk_strong_magic(const unsigned char *b, size_t len)
{
    const char  *f = NULL;

    if (hg_inspect_sniff(b, len, 1, &f) != HG_SNIFF_YES || f == NULL) {
        return 0;
    }
    if (strcmp(f, "gzip") == 0) {
        return len >= 4 && b[2] == 8 && (b[3] & 0xe0) == 0;
    }
    if (strcmp(f, "bzip2") == 0) {
        /* the block size digit, then a block's or the end's magic */
        return len >= 10 && b[3] >= '1' && b[3] <= '9'
               && (memcmp(b + 4, "\x31\x41\x59\x26\x53\x59", 6) == 0
                   || memcmp(b + 4, "\x17\x72\x45\x38\x50\x90", 6) == 0);
    }
    if (strcmp(f, "cpio") == 0) {
        return b[0] == '0';             /* the ASCII ones: "0707.." */
    }
    return 1;
}

/*
 * Open lv with libarchive and read its first header. Returns the archive
 * (NULL: the memory limit or "not a container", *rc says which) with
 * *r the first header's status.
 */
static struct archive *
_walk_first(hg_walk_t *w, hg_walk_level_t *lv, hg_walk_level_t *plv,
            hg_walk_file_t *pending, struct archive_entry **e, int *r,
            hg_walk_rc_t *rc)
{
    struct archive  *a;

    *rc = HG_WALK_GO;
    a = _walk_open(lv, 0);
    if (a == NULL) {
        *rc = hg_walk_nomem(w, "libarchive");
        return NULL;
    }
    *r = archive_read_next_header(a, e);
    if (*r == ARCHIVE_EOF && archive_filter_count(a) < 2) {
        return a;                   /* an empty archive */
    }
    if (*r >= ARCHIVE_WARN && *r != ARCHIVE_EOF) {
        return a;
    }
    if (*r != ARCHIVE_EOF) {
        if (archive_errno(a) == ENOMEM) {
            archive_read_free(a);
            *rc = hg_walk_nomem(w, "libarchive");
            return NULL;
        }
        if (archive_format(a) != 0) {
            return a;               /* a format, damaged: the caller says */
        }
        if (archive_filter_count(a) < 2 && _walk_strong_magic(lv->buf, lv->len)) {
            return a;               /* a container by its magic: damaged */
        }
        if (archive_filter_count(a) < 2) {
            /* no format, no compression: not a container after all */
            archive_read_free(a);
            *rc = _walk_pending(w, lv, plv, pending, 0);
            return NULL;
        }
    }
    /*
     * Compressed whole: the one file inside is the decompressed bytes.
     * So is an empty archive inside a compression filter: 1024 zero bytes
     * are an empty tar, and a gzip of a file starting so must not hide it.
     */
    archive_read_free(a);
    a = _walk_open(lv, 1);
    if (a == NULL) {
        *rc = hg_walk_nomem(w, "libarchive");
        return NULL;
    }
    *r = archive_read_next_header(a, e);
    return a;
}

static int
_walk_is_encrypted_headers(const hg_walk_level_t *lv, struct archive *a)
{
    int  base = archive_format(a) & ARCHIVE_FORMAT_BASE_MASK;

    if (base == ARCHIVE_FORMAT_RAR_V5) {
        return hg_walk_rar5_headers_encrypted(lv->buf, lv->len);
    }
    /* 7z and RAR 4 say so when they refuse the header */
    return (base == ARCHIVE_FORMAT_7ZIP || base == ARCHIVE_FORMAT_RAR)
           && archive_read_has_encrypted_entries(a) > 0;
}

hg_walk_rc_t
hg_walk_entry(hg_walk_t *w, hg_walk_level_t *lv, struct archive *a,
              struct archive_entry *e, unsigned flags, hg_walk_seen_t *seen,
              int rar5)
{
    char          wbuf[4 * HG_INSPECT_PATH_MAX + 8];
    const char   *path, *gz;
    size_t        len, n;
    int64_t       size;
    uint64_t      data_pos;

    size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
    data_pos = (uint64_t) archive_filter_bytes(a, -1);
    if (seen != NULL && hg_walk_seen_add(seen, data_pos, size) != 0) {
        return hg_walk_nomem(w, "zip offsets");
    }
    if (archive_entry_filetype(e) != AE_IFREG) {
        return HG_WALK_GO;          /* directories, links, devices */
    }
    /* a hard link's data is its target's, reported with the target */
    if (archive_entry_hardlink(e) != NULL && size <= 0) {
        return HG_WALK_GO;
    }
    if (archive_entry_is_encrypted(e)) {
        flags |= HG_INSPECT_F_ENCRYPTED;
    } else if (rar5
               && hg_walk_rar5_file_encrypted(lv->buf, lv->len,
                      (uint64_t) archive_read_header_position(a), data_pos))
    {
        flags |= HG_INSPECT_F_ENCRYPTED;
    }
    path = hg_walk_entry_path(e, wbuf, sizeof(wbuf), &len);
    if (path == NULL) {
        path = "";
        len = 0;
    }
    if ((archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_RAW
        && (gz = _walk_gzip_name(lv->buf, lv->len, &n)) != NULL)
    {
        path = gz;
        len = n;
    }
    return hg_walk_archive_file(w, lv, a, path, len, size, flags);
}

static hg_walk_rc_t
_walk_archive(hg_walk_t *w, hg_walk_level_t *lv, hg_walk_level_t *plv,
              hg_walk_file_t *pending)
{
    struct archive        *a;
    struct archive_entry  *e;
    hg_walk_seen_t         seen;
    hg_walk_rc_t           rc;
    int                    r, zip, rar5, failed = 0;

    a = _walk_first(w, lv, plv, pending, &e, &r, &rc);
    if (a == NULL) {
        return rc;
    }
    _walk_set_format(lv, a);

    if (r < ARCHIVE_WARN) {
        if (_walk_is_encrypted_headers(lv, a)) {
            archive_read_free(a);
            rc = _walk_pending(w, lv, plv, pending, 1);
            return rc == HG_WALK_GO ? _walk_encrypted_headers(w, lv) : rc;
        }
        /* damaged before its first file: whatever it is, we cannot say */
        rc = _walk_pending(w, lv, plv, pending, 0);
        if (rc == HG_WALK_GO) {
            rc = hg_walk_archive_error(w, lv, a);
        }
        archive_read_free(a);
        return rc;
    }
    rc = _walk_pending(w, lv, plv, pending, 1);
    if (rc != HG_WALK_GO) {
        archive_read_free(a);
        return rc;
    }

    /* a zip read by its central directory gets the local-header pass */
    zip = (archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_ZIP
          && archive_filter_count(a) == 1;
    rar5 = (archive_format(a) & ARCHIVE_FORMAT_BASE_MASK)
           == ARCHIVE_FORMAT_RAR_V5 && archive_filter_count(a) == 1;
    memset(&seen, 0, sizeof(seen));

    while (r != ARCHIVE_EOF) {
        if (r >= ARCHIVE_WARN) {
            failed = 0;
            rc = hg_walk_entry(w, lv, a, e, 0, zip ? &seen : NULL, rar5);
        } else if (r == ARCHIVE_FATAL || ++failed > WALK_MAX_FAILED) {
            rc = hg_walk_archive_error(w, lv, a);
        } else {
            /* a header libarchive could not use, the next one may be:
             * the container is damaged all the same, never skipped
             * silently */
            (void) hg_walk_archive_error(w, lv, a);
            rc = w->done->st == HG_ELIMIT ? HG_WALK_STOP : HG_WALK_GO;
        }
        if (rc == HG_WALK_GO) {
            rc = hg_walk_tick(w);
        }
        if (rc != HG_WALK_GO) {
            break;
        }
        r = archive_read_next_header(a, &e);
    }
    archive_read_free(a);

    if (zip && rc != HG_WALK_STOP) {
        hg_walk_rc_t  rc2 = hg_walk_zip_hidden(w, lv, &seen);

        if (rc2 == HG_WALK_STOP) {
            rc = rc2;
        }
    }
    hg_walk_seen_free(&seen);
    return rc;
}

hg_walk_rc_t
hg_walk_container(hg_walk_t *w, hg_walk_level_t *lv, hg_walk_level_t *plv,
                  hg_walk_file_t *pending)
{
    const char  *format = NULL;

    lv->format[0] = '\0';
    if (hg_inspect_sniff(lv->buf, lv->len, 1, &format) == HG_SNIFF_YES
        && strcmp(format, "tnef") == 0)
    {
        return _walk_tnef(w, lv, plv, pending);
    }
    return _walk_archive(w, lv, plv, pending);
}

static uint64_t
_walk_now_ns(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/*
 * Prepare the process for walking under a sandbox that forbids open():
 * glibc opens the time zone file on the first mktime (zip, RAR and
 * ISO 9660 dates), and in the "C" locale libarchive converts names with
 * iconv, whose gconv modules are files. In C.UTF-8 it converts UTF-8 and
 * UTF-16 names itself.
 */
hg_status_t
hg_inspect_walk_init(void)
{
    hg_err_t  err;

    tzset();
    (void) _walk_filters_usable();
    if (setlocale(LC_CTYPE, "C.UTF-8") == NULL
        && setlocale(LC_CTYPE, "C.utf8") == NULL)
    {
        return HG_EINVAL;
    }
    return hg_hash_global_init(&err);
}

hg_status_t
hg_inspect_walk(const void *buf, size_t len, unsigned algs,
                const hg_inspect_limits_t *lim, hg_inspect_entry_pt cb,
                void *ctx, hg_inspect_done_t *done)
{
    hg_inspect_limits_t  deflim;
    hg_walk_t            w;
    hg_walk_level_t      lv;
    hg_err_t             err;
    hg_status_t          st;

    memset(done, 0, sizeof(*done));
    if ((buf == NULL && len > 0) || cb == NULL) {
        done->st = HG_EINVAL;
        snprintf(done->why, sizeof(done->why), "nothing to walk");
        return done->st;
    }
    if (lim == NULL) {
        hg_inspect_limits_default(&deflim);
        lim = &deflim;
    }
    algs &= HG_ALGS_ALL;
    st = hg_hash_check(algs, &err);
    if (st != HG_OK) {
        done->st = st;
        snprintf(done->why, sizeof(done->why), "%.*s",
                 (int) sizeof(done->why) - 1, err.msg);
        return st;
    }

    memset(&w, 0, sizeof(w));
    w.lim = lim;
    w.algs = algs;
    w.cb = cb;
    w.ctx = ctx;
    w.done = done;
    w.part_len = len;
    if (lim->timeout_ms > 0) {
        w.deadline_ns = _walk_now_ns() + (uint64_t) lim->timeout_ms * 1000000u;
    }
    memset(&lv, 0, sizeof(lv));
    lv.buf = buf;
    lv.len = len;
    lv.depth = 1;
    w.hash = hg_hash_new();
    if (w.hash == NULL || hg_walk_chain_push(&w, 0, "") == 0) {
        hg_walk_nomem(&w, "the walk");
    } else if (lim->max_depth < 1) {
        hg_walk_stop(&w, HG_ELIMIT, HG_INSPECT_LIMIT_DEPTH,
                     "depth: the part is a container (limit %u)",
                     lim->max_depth);
    } else if ((lim->images & HG_INSPECT_IMAGES)
               && hg_image_sniff(buf, len) != HG_IMAGE_NONE
               && hg_inspect_sniff(buf, len, 1, NULL) != HG_SNIFF_YES)
    {
        /* the part is an image: decoded, nothing inside it */
        if (len > lim->image.max_bytes) {
            done->image.format = hg_image_sniff(buf, len);
            done->image.st = HG_ELIMIT;
            snprintf(done->image.why, sizeof(done->image.why),
                     "%s: over %llu bytes",
                     hg_image_format_name(done->image.format),
                     (unsigned long long) lim->image.max_bytes);
        } else if (hg_walk_image(&w, buf, len, &done->image) != HG_WALK_GO) {
            done->image.format = HG_IMAGE_NONE;
        }
        if (done->st == HG_OK) {
            snprintf(done->why, sizeof(done->why), "an image");
        }
    } else {
        lv.chain_len = 0;
        hg_walk_container(&w, &lv, NULL, NULL);
        if (done->st == HG_OK && lv.format[0] == '\0') {
            snprintf(done->why, sizeof(done->why),
                     "not a container any reader opens");
        }
    }
    free(lv.copy);
    free(w.chain);
    hg_hash_free(w.hash);
    return done->st;
}
