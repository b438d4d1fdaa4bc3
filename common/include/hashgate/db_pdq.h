/*
 * db_pdq.h - PDQ entries in the compiled database: the perceptual hashes a
 * list gives (pdq.h), and the query "every entry within distance d".
 *
 * An exact digest either is on a list or is not; a PDQ hash is near an
 * entry or not, so these are not looked up but searched. Each list that
 * gives PDQ hashes has a threshold (default HG_PDQ_THRESHOLD, settable per
 * list when it is compiled): a scanned image matches an entry when their
 * distance is at most that list's threshold. The image's quality is the
 * caller's business (an image of low quality is not matched at all; see
 * the channels' settings), the entry's, where the list gave one, is kept
 * and reported.
 *
 * Thread-safe and allocation-free like hg_db_lookup. A database of a
 * format without PDQ entries has none: every query answers 0.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_DB_PDQ_H
#define HASHGATE_DB_PDQ_H

#include <stddef.h>
#include <stdint.h>

#include "hashgate/db.h"
#include "hashgate/pdq.h"

#define HG_PDQ_THRESHOLD    31      /* bits; a list's default */
#define HG_PDQ_THRESHOLD_MAX 64     /* past this a search is a scan of everything */

/* One entry near the hash asked about. */
typedef struct {
    uint32_t            list;       /* index for hg_db_list */
    uint64_t            entry;      /* the entry's row among the PDQ entries */
    int                 distance;   /* bits, 0-256 */
    hg_pdq_dihedral_t   via;        /* which of the image's hashes came nearest
                                     * (HG_PDQ_ORIGINAL without dihedral) */
    hg_pdq_hash_t       listed;     /* the entry as the list gives it */
    int                 quality;    /* the list's quality for it; -1: none given */
    const char         *label;      /* in the mapping, or NULL */
} hg_db_pdq_hit_t;

/* PDQ entries stored (distinct hashes). */
uint64_t hg_db_pdq_count(const hg_db_t *db);

/* The threshold of list (an index for hg_db_list); HG_PDQ_THRESHOLD for a
 * list compiled without one. */
int hg_db_pdq_threshold(const hg_db_t *db, uint32_t list);

/*
 * Every (entry, list) pair within max_distance of h (for `hashgate lookup`;
 * max_distance < 0: each list's own threshold), nearest first. Fills up to
 * max hits and returns how many there are (may exceed max).
 */
size_t hg_db_pdq_query(const hg_db_t *db, const hg_pdq_hash_t *h,
                       int max_distance, hg_db_pdq_hit_t *hits, size_t max);

/*
 * What a scanned image matches: entries within their list's threshold of
 * r->hash, or, when dihedral, of the nearest of its 8 dihedral hashes
 * (one hit per entry and list, with the distance of the nearest). Nearest
 * first; fills up to max and returns how many there are.
 */
size_t hg_db_pdq_match(const hg_db_t *db, const hg_pdq_result_t *r,
                       int dihedral, hg_db_pdq_hit_t *hits, size_t max);

/* PDQ entries on list (an index for hg_db_list); 0 before format 3. */
uint64_t hg_db_pdq_list_count(const hg_db_t *db, uint32_t list);

/* 1 when the file holds a search index (else a query scans every entry). */
int hg_db_pdq_indexed(const hg_db_t *db);

/*
 * Call cb once per (PDQ entry, list) pair, in hash order: e->pdq = 1,
 * e->quality, e->label in the mapping (for --base updates and diff;
 * hg_db_foreach calls it after the digests).
 */
hg_status_t hg_db_pdq_foreach(const hg_db_t *db, hg_db_entry_cb cb, void *ctx);

/* ---- building ---- */

/*
 * off (the default, or the base's choice after hg_dbb_load): no search
 * index, the file holds 1.0 x the 32 bytes of each hash and every search
 * scans their first halves (docs/images.md); on: the multi-index from
 * HG_PDQ_INDEX_MIN entries on, about 2.5 x, searches as fast at 1M
 * entries and 2-3 x faster at 10M (with AVX-512 for the scan; without it
 * the index is 3-5 x faster). For each write.
 */
void hg_dbb_set_pdq_index(hg_dbb_t *b, int on);

/*
 * Set the threshold of list (from hg_dbb_list) to bits, 0 to
 * HG_PDQ_THRESHOLD_MAX; HG_EINVAL with err set past it. A list not given
 * one has HG_PDQ_THRESHOLD, or, loaded from a base, the base's.
 */
hg_status_t hg_dbb_pdq_threshold(hg_dbb_t *b, uint32_t list, int bits,
                                 hg_err_t *err);

/*
 * Entries at or above which the compiler writes the search index when
 * asked (hg_dbb_set_pdq_index); below it a query scans every entry.
 * Chosen in session 12 against a scan of 32-byte rows (4,000 entries: the
 * index 10 us, the scan 16). The scan of the heads is faster: the index
 * pays from about 30,000 entries with the scalar loop and about 1M with
 * the AVX-512 one (docs/images.md); below, either takes microseconds.
 * The index answers distances up to 31 exactly (docs/db-format.md, PDQ
 * entries); a larger distance or list threshold makes every query that
 * needs it a scan.
 */
#define HG_PDQ_INDEX_MIN    4096

#endif
