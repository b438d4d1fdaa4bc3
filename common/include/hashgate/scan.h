/*
 * scan.h - hash one object's bytes and match them against a database.
 *
 * A scan context is fed one object (a file, a MIME leaf part, an upload) in
 * chunks of any size: hg_scan_begin, hg_scan_update..., hg_scan_end. It
 * computes the digests the database needs plus those asked for, keeps the
 * first HG_SCAN_HEAD_MAX bytes for type detection, and at the end looks each
 * digest up. A list entry carrying a size matches only an object of that
 * size. The context is reusable; hg_scan_update never allocates, while
 * hg_scan_begin costs OpenSSL one small malloc per digest computed (see
 * hash.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_SCAN_H
#define HASHGATE_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "hashgate/db.h"
#include "hashgate/hash.h"
#include "hashgate/pdq.h"
#include "hashgate/status.h"

/* Leading bytes kept for libmagic: enough for every magic rule we rely on. */
#define HG_SCAN_HEAD_MAX   16384

/* Lists one object can match; more are counted in nmatches_total. */
#define HG_SCAN_MAX_MATCHES 16

typedef struct {
    uint32_t        list;       /* index in the database */
    const char     *list_name;  /* strings point into the database mapping */
    const char     *list_version;
    unsigned        kind;       /* HG_LIST_BLOCK or HG_LIST_ALLOW */
    hg_alg_t        alg;        /* which digest matched */
    const char     *label;      /* the entry's label or NULL */
    /*
     * The file's other digests as the list gives them (its record), for
     * the algorithms not computed: listed, not computed (listed.algs;
     * listed.size is 0). A report then carries every digest the list
     * knows for the file.
     */
    hg_digests_t    listed;
    /*
     * A PDQ match (hg_scan_match_pdq): the image's hash came within the
     * list's threshold of an entry. alg is then meaningless; the entry as
     * listed, its quality (-1: the list gave none), the distance in bits
     * and which of the image's hashes came nearest (HG_PDQ_ORIGINAL
     * unless dihedral matching found a turned or mirrored copy).
     */
    int             pdq;
    int             pdq_distance;
    hg_pdq_dihedral_t pdq_via;
    int             pdq_listed_quality;
    hg_pdq_hash_t   pdq_listed;
} hg_match_t;

typedef struct {
    hg_digests_t    digests;
    size_t          nmatches;       /* entries in matches[] */
    size_t          nmatches_total; /* may exceed HG_SCAN_MAX_MATCHES */
    hg_match_t      matches[HG_SCAN_MAX_MATCHES];
    const unsigned char *head;      /* first head_len bytes of the object */
    size_t          head_len;       /* valid until the next hg_scan_begin */
} hg_scan_result_t;

typedef struct hg_scan_s hg_scan_t;

/*
 * A context matching against db (a reference is taken; db may be NULL: then
 * only the digests in extra_algs are computed and nothing matches). Its
 * memory is allocated here, once: about 17 KiB plus 24 bytes per list of
 * db, so every list a digest is on can be looked at.
 * Returns NULL when out of memory or OpenSSL fails.
 */
hg_scan_t *hg_scan_new(hg_db_t *db, unsigned extra_algs);

/* Drops the database reference and frees; accepts NULL. */
void hg_scan_free(hg_scan_t *s);

/* The database in use (no new reference). */
hg_db_t *hg_scan_db(const hg_scan_t *s);

/* Algorithms computed per object (database's | extra). */
unsigned hg_scan_algs(const hg_scan_t *s);

/*
 * Split the digests of large objects with par's helpers (hash.h,
 * hg_hash_set_parallel), or NULL: not. Between objects only.
 */
void hg_scan_set_parallel(hg_scan_t *s, hg_hash_par_t *par);

hg_status_t hg_scan_begin(hg_scan_t *s);
hg_status_t hg_scan_update(hg_scan_t *s, const void *buf, size_t len);

/*
 * Finish the object: digests and matches into res. HG_EIO (and no
 * matches) when the database was lost under its mapping (hg_db_lost):
 * the object was not checked and the caller's fail mode applies.
 */
hg_status_t hg_scan_end(hg_scan_t *s, hg_scan_result_t *res);

/* The same for bytes already in memory: begin, update, end. */
hg_status_t hg_scan_buffer(hg_scan_t *s, const void *buf, size_t len,
                           hg_scan_result_t *res);

/*
 * Match digests computed elsewhere (an inner file the inspection helper
 * hashed) as hg_scan_end would: res gets them and their matches, head none.
 * HG_EIO when the database was lost under its mapping.
 */
hg_status_t hg_scan_match(hg_scan_t *s, const hg_digests_t *d,
                          hg_scan_result_t *res);

/*
 * Match an image's PDQ result (the inspection helper hashed it) against
 * the database's PDQ entries (hg_db_pdq_match; dihedral: against all 8 of
 * its hashes): each entry and list within the list's threshold is added
 * to res as a match with pdq set, after what res holds (an allow-list
 * is never crowded out, as for digests). HG_EIO when the database was
 * lost under its mapping. The caller decides whether the image's quality
 * is worth matching.
 */
hg_status_t hg_scan_match_pdq(hg_scan_t *s, const hg_pdq_result_t *r,
                              int dihedral, hg_scan_result_t *res);

#endif
