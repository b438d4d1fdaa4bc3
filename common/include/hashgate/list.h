/*
 * list.h - reading digest lists as operators receive them.
 *
 * A reader turns one input file into a stream of hg_entry_t handed to a
 * callback; it never builds the whole list in memory. Each format lives in
 * its own file common/lists/read_NAME.c defining
 *
 *     const hg_reader_t hg_reader_NAME = { ... };
 *
 * and the build collects every such file into the reader table, so adding a
 * format is adding one file. A bad line is reported as "file:line: reason"
 * (or "file:offset: reason" for formats without lines) through opts->warn and
 * skipped, or, with opts->strict, the whole file is refused with that message.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_LIST_H
#define HASHGATE_LIST_H

#include <stdint.h>
#include <stdio.h>

#include "hashgate/hash.h"
#include "hashgate/status.h"

/* One digest as a list gives it. */
typedef struct {
    hg_alg_t        alg;
    unsigned char   digest[HG_DIGEST_MAX];
    int             has_size;   /* the entry matches only objects of size */
    uint64_t        size;       /* bytes; meaningful when has_size */
    const char     *label;      /* entry name/category or NULL; valid during the callback */
    int             remove;     /* the source marks this digest deleted */
    /*
     * The listed file this digest describes. Entries one read hands out
     * with the same record are digests of one file (a VIC media entry, an
     * NCMEC <image>, a CSV row, a JSON Lines object), handed out one after
     * another; matching any of them identifies the file. Readers give every
     * entry a non-zero record (a plain list: one per line), numbered from 1
     * per read. 0, from other producers, is a record of its own.
     */
    uint64_t        record;
    /*
     * A PDQ hash (pdq.h, db_pdq.h) rather than a digest: digest holds its
     * 32 bytes in hex order and alg is HG_ALG_SHA256 (so code that only
     * prints a digest prints its 64 hex digits); has_size is 0. It is
     * searched, not looked up, so it is no part of a record: readers give
     * it a record of its own even beside the MD5 of the same file.
     */
    int             pdq;
    int             quality;    /* PDQ only: the list's quality 0-100, -1: none */
} hg_entry_t;

/* Return HG_OK to go on; anything else stops the reader, which returns it. */
typedef hg_status_t (*hg_entry_cb)(void *ctx, const hg_entry_t *e);

/* A skipped bad line, already formatted "file:line: reason". */
typedef void (*hg_warn_cb)(void *ctx, const char *msg);

typedef struct {
    int             strict;     /* refuse the file at its first bad line */
    hg_warn_cb      warn;       /* may be NULL: warnings are then only counted */
    void           *warn_ctx;
    const char     *categories; /* reader-specific filter (VIC "1,2"), or NULL */
} hg_read_opts_t;

typedef struct {
    uint64_t        entries;    /* handed to the callback */
    uint64_t        skipped;    /* bad lines skipped (each warned) */
    uint64_t        ignored;    /* well-formed but not usable (e.g. PhotoDNA) */
} hg_read_stats_t;

typedef struct {
    const char     *name;       /* "text", "clamav", "csv", ... (--format) */
    const char     *describe;   /* one line for --help */

    /*
     * How sure the reader is that a file is its format, 0 (no) to 100, from
     * the file name and its first head_len bytes.
     */
    int           (*probe)(const char *path, const unsigned char *head,
                           size_t head_len);

    /*
     * Read fp (opened by the caller, named path in messages) to the end.
     * Returns HG_OK, the callback's status, or HG_EFORMAT / HG_EIO with err set.
     */
    hg_status_t   (*read)(FILE *fp, const char *path, const hg_read_opts_t *opts,
                          hg_entry_cb cb, void *cb_ctx, hg_read_stats_t *stats,
                          hg_err_t *err);
} hg_reader_t;

/* The reader called name, or NULL. */
const hg_reader_t *hg_reader_find(const char *name);

/* The reader with the highest probe score for the file, or NULL if none > 0. */
const hg_reader_t *hg_reader_detect(const char *path, const unsigned char *head,
                                    size_t head_len);

/* All readers, NULL-terminated (for --help). */
const hg_reader_t *const *hg_readers(void);

/*
 * Open path, detect its format (or use the reader named format), read it.
 * A convenience for the CLI and tests.
 */
hg_status_t hg_list_read_file(const char *path, const char *format,
                              const hg_read_opts_t *opts, hg_entry_cb cb,
                              void *cb_ctx, hg_read_stats_t *stats,
                              hg_err_t *err);

/*
 * Helper for readers: parse a hex digest of any case, trimmed, and set
 * e->alg and e->digest from its length. Returns 0 or -1 (with *why set to a
 * short reason such as "bad hex" or "digest length 31 is not 32, 40 or 64").
 */
int hg_entry_parse_hex(hg_entry_t *e, const char *hex, size_t len,
                       const char **why);

/*
 * Helper for readers: parse a PDQ hash (exactly 64 hex digits, trimmed)
 * into e (pdq = 1, quality -1). Returns 0 or -1 with *why set.
 */
int hg_entry_parse_pdq(hg_entry_t *e, const char *hex, size_t len,
                       const char **why);

/*
 * Helper for readers: a PDQ quality, a decimal 0-100 (trimmed). Returns it,
 * or -1 (with *why set).
 */
int hg_entry_parse_quality(const char *s, size_t len, const char **why);

#endif
