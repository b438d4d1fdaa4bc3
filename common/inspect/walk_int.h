/*
 * walk_int.h - the archive walk's private parts, shared by walk.c (the
 * walk of one container), walk_file.c (one inner file: limits, hashing,
 * nested containers, its report), walk_path.c (paths and chains),
 * walk_zip.c (the local-header pass) and walk_rar.c (RAR 5 encryption
 * libarchive 3.6 does not flag).
 *
 * Internal to libhashgate; only the helper and the fuzz target walk.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_WALK_INT_H
#define HASHGATE_WALK_INT_H

#include <stddef.h>
#include <stdint.h>

#include "hashgate/inspect.h"

struct archive;
struct archive_entry;

/* Longest format name: "tar" and up to three filters, "cpio.lzma.xz.gz". */
#define HG_WALK_FORMAT_MAX  32

/* What a step of the walk tells its caller. */
typedef enum {
    HG_WALK_GO = 0,     /* go on */
    HG_WALK_BROKEN,     /* this container is damaged (done says so): its
                         * parent goes on with its next file */
    HG_WALK_STOP        /* done->st is set (a limit, the callback, memory):
                         * unwind everything */
} hg_walk_rc_t;

/* One container being walked: its bytes and where its entries go. */
typedef struct {
    const unsigned char *buf;       /* stable while its entries are walked */
    size_t          len;
    unsigned        depth;          /* of its entries: 1 in the part */
    size_t          chain_len;      /* w->chain[0..chain_len): its prefix */
    char            format[HG_WALK_FORMAT_MAX];
    unsigned char  *copy;           /* a nested container's bytes, while */
    size_t          copy_cap;       /* they are read (reused per file) */
} hg_walk_level_t;

/* Is a file an image (images asked for)? Kept while it may be one. */
typedef enum {
    HG_WALK_IMG_NO = 0,     /* no, or images not asked for */
    HG_WALK_IMG_MAYBE,      /* too few bytes yet to tell */
    HG_WALK_IMG_YES,        /* its bytes are kept to be decoded */
    HG_WALK_IMG_OVER        /* one, past the image bytes limit: not kept */
} hg_walk_img_t;

/* One file inside a container, from its header to its report. */
typedef struct {
    char            path[HG_INSPECT_PATH_MAX + 1];  /* cleaned, cut */
    size_t          path_len;
    unsigned        flags;          /* HG_INSPECT_F_* */
    uint64_t        declared;       /* size from its header; UINT64_MAX none */
    uint64_t        pos;            /* bytes read (holes included) */
    int             hashing;        /* w->hash holds this file */
    hg_sniff_t      sniff;          /* a container? MORE: still reading */
    const char     *sniff_format;
    /* its bytes so far while they all lie in one piece of the level's
     * buffer (stored data read from memory): nothing is copied */
    const unsigned char *span;
    size_t          span_len;
    int             copying;        /* else they are in lv->copy */
    size_t          copy_len;
    hg_digests_t    digests;
    size_t          chain_end;      /* its chain's length once reported */
    hg_walk_img_t   img_state;
    const hg_inspect_image_t *image;    /* &img once decoded, or NULL */
    hg_inspect_image_t img;
} hg_walk_file_t;

typedef struct {
    const hg_inspect_limits_t *lim;
    unsigned        algs;
    hg_inspect_entry_pt cb;
    void           *ctx;
    hg_inspect_done_t *done;
    hg_hash_t      *hash;
    uint64_t        part_len;       /* the part's bytes: the ratio's base */
    uint64_t        deadline_ns;    /* CLOCK_MONOTONIC; 0: none */
    char           *chain;          /* "!a.tar!b/c.jpg", grown as needed */
    size_t          chain_cap;
} hg_walk_t;

/* The data offsets of the entries the central directory gave. */
typedef struct {
    struct hg_walk_seen_s {
        uint64_t    off;
        int64_t     size;
    }              *v;
    size_t          n, cap;
} hg_walk_seen_t;

/* ---- walk.c ---- */

/*
 * Walk the container in lv (buf, len, depth and chain_len set). pending:
 * the file of plv that it is, reported (as a container) once it opens, or
 * as a plain file when it does not; NULL for the part itself.
 */
hg_walk_rc_t hg_walk_container(hg_walk_t *w, hg_walk_level_t *lv,
                               hg_walk_level_t *plv, hg_walk_file_t *pending);

/*
 * One header libarchive read: the file it is, when a regular one, with
 * flags (more may be found). seen: where a zip's first pass records the
 * file's place (NULL: not recorded); rar5: look for RAR 5 encryption.
 */
hg_walk_rc_t hg_walk_entry(hg_walk_t *w, hg_walk_level_t *lv,
                           struct archive *a, struct archive_entry *e,
                           unsigned flags, hg_walk_seen_t *seen, int rar5);

/* ---- walk_file.c ---- */

/*
 * Stop the walk: done gets st, limit and why (a limit replaces a damaged
 * container's HG_EFORMAT; nothing replaces a limit). Returns HG_WALK_STOP.
 */
hg_walk_rc_t hg_walk_stop(hg_walk_t *w, hg_status_t st,
                          hg_inspect_limit_t limit, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The memory limit, what names what could not be allocated. */
hg_walk_rc_t hg_walk_nomem(hg_walk_t *w, const char *what);

/* A container is damaged: done says so unless it already says something;
 * returns HG_WALK_BROKEN. */
hg_walk_rc_t hg_walk_damaged(hg_walk_t *w, const hg_walk_level_t *lv,
                             const char *what);

/* The time limit, checked at every header and block. */
hg_walk_rc_t hg_walk_tick(hg_walk_t *w);

/*
 * Start a file: its raw path, declared size (< 0: unknown), flags. The
 * files limit is checked here; so are the size limits against the
 * declared size, before anything is read.
 */
hg_walk_rc_t hg_walk_file_begin(hg_walk_t *w, hg_walk_file_t *f,
                                const char *raw, size_t raw_len,
                                int64_t declared, unsigned flags);

/* Its next n bytes, at offset off (a hole before them reads as zeros). */
hg_walk_rc_t hg_walk_file_data(hg_walk_t *w, hg_walk_level_t *lv,
                               hg_walk_file_t *f, const void *p, size_t n,
                               uint64_t off);

/* Its end: report it and, when it is a container, walk that in turn. */
hg_walk_rc_t hg_walk_file_end(hg_walk_t *w, hg_walk_level_t *lv,
                              hg_walk_file_t *f);

/*
 * Decode the image in buf and PDQ-hash it under the image limits (and the
 * walk's own deadline) into *img: hashed, or why not (HG_EFORMAT: it does
 * not decode; HG_ELIMIT: an image limit). Only running out of memory stops
 * the walk (HG_WALK_STOP); anything else is the image's result.
 */
hg_walk_rc_t hg_walk_image(hg_walk_t *w, const unsigned char *buf,
                           size_t len, hg_inspect_image_t *img);

/* Report f, a file of level lv: its path, chain, digests and flags. */
hg_walk_rc_t hg_walk_report(hg_walk_t *w, hg_walk_level_t *lv,
                            hg_walk_file_t *f);

/* One regular file of an open archive, from its header on: read with
 * archive_read_data_block, hashed, reported. */
hg_walk_rc_t hg_walk_archive_file(hg_walk_t *w, hg_walk_level_t *lv,
                                  struct archive *a, const char *raw,
                                  size_t raw_len, int64_t declared,
                                  unsigned flags);

/* An archive's fatal error: the memory limit, or damage. */
hg_walk_rc_t hg_walk_archive_error(hg_walk_t *w, hg_walk_level_t *lv,
                                   struct archive *a);

/* ---- walk_path.c ---- */

/* The path from an entry's header: libarchive's (locale) form, else its
 * UTF-8 or wide form; NULL when it has none. *len gets its bytes. */
const char *hg_walk_entry_path(struct archive_entry *e, char *wbuf,
                               size_t wcap, size_t *len);

/* Clean raw (UTF-8 repaired, cut at HG_INSPECT_PATH_MAX) into f->path,
 * flagging HG_INSPECT_F_PATH_CUT when cut. */
void hg_walk_path_set(hg_walk_file_t *f, const char *raw, size_t raw_len);

/* The last component of a path. */
const char *hg_walk_path_name(const char *path);

/*
 * Write "!" and path ('!' and '%' escaped) into the chain after its first
 * at bytes; returns the new length, or 0 when out of memory.
 */
size_t hg_walk_chain_push(hg_walk_t *w, size_t at, const char *path);

/* ---- walk_zip.c ---- */

/* Remember one; 0, or -1 when out of memory. */
int hg_walk_seen_add(hg_walk_seen_t *s, uint64_t off, int64_t size);
void hg_walk_seen_free(hg_walk_seen_t *s);

/*
 * Pass two over a zip read by its central directory: walk its local
 * headers as a streaming reader does, and report, flagged hidden, every
 * regular file whose data the first pass did not read.
 */
hg_walk_rc_t hg_walk_zip_hidden(hg_walk_t *w, hg_walk_level_t *lv,
                                hg_walk_seen_t *seen);

/* ---- walk_rar.c ---- */

/* Does the RAR 5 archive in buf start with an archive encryption header
 * (all later headers encrypted)? */
int hg_walk_rar5_headers_encrypted(const unsigned char *buf, size_t len);

/* Is the file whose header libarchive read from hdr_pos on, its data at
 * data_pos, encrypted? libarchive 3.6 reads the cipher text as the file. */
int hg_walk_rar5_file_encrypted(const unsigned char *buf, size_t len,
                                uint64_t hdr_pos, uint64_t data_pos);

#endif
