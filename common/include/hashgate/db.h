/*
 * db.h - the compiled digest database: build it, open it, look digests up.
 *
 * The file format is in docs/db-format.md. A database is built in memory by
 * an hg_dbb_t and written atomically (temp file beside the target, fsync,
 * rename). It is opened read-only with mmap; hg_db_open checks magic,
 * version, header checksum and every offset and count before anything is
 * used, so lookups can trust them. Handles are reference-counted: a server
 * takes a reference per message or request (hg_db_ref) and swaps its current
 * handle on reload; the mapping goes when the last reference is dropped.
 * Lookups are thread-safe; ref/close are atomic.
 *
 * Replace a database by rename (what hg_dbb_write and `hashgate compile`
 * do), never by rewriting the file in place (cp over it, rsync --inplace,
 * a download straight to the path): the open mapping is of that same file,
 * and pages a truncation takes away kill the reading process with SIGBUS.
 * No flag of mmap prevents that (MAP_PRIVATE pages not yet written are
 * still the file's). A server opts in to surviving it with
 * hg_db_guard_install(): the lost mapping is then replaced by zeros and
 * the handle reports hg_db_lost(). What open does catch: a file caught
 * half-written is refused (its size disagrees with its header), and
 * lookups clamp every bound they read, so contents changed under a
 * mapping give wrong answers, not reads outside it.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_DB_H
#define HASHGATE_DB_H

#include <stddef.h>
#include <stdint.h>

#include "hashgate/hash.h"
#include "hashgate/list.h"
#include "hashgate/status.h"

#define HG_LIST_NAME_MAX   64       /* bytes, [A-Za-z0-9._-] */
#define HG_MAX_LISTS       4096     /* lists in one database */

/* List kinds. */
#define HG_LIST_BLOCK      0
#define HG_LIST_ALLOW      1        /* a digest on it never triggers an action */

typedef struct hg_db_s  hg_db_t;
typedef struct hg_dbb_s hg_dbb_t;

/* What hg_db_list gives of one list. Strings point into the mapping. */
typedef struct {
    const char     *name;
    const char     *version;    /* "" when none was given */
    unsigned        kind;       /* HG_LIST_BLOCK or HG_LIST_ALLOW */
    uint64_t        entries;    /* digests on this list */
    uint64_t        compiled;   /* Unix time the list was last compiled */
    size_t          nsources;
    uint64_t        records;    /* files listed: entries grouped by file
                                 * (a version-1 database: = entries) */
} hg_db_list_t;

typedef struct {
    const char     *name;       /* file name as given to compile */
    unsigned char   sha256[32]; /* of the source file's bytes */
} hg_db_source_t;

/* One list a digest is on. */
typedef struct {
    uint32_t        list;       /* index for hg_db_list */
    int             has_size;
    uint64_t        size;
    const char     *label;      /* NUL-terminated, in the mapping, or NULL */
} hg_db_hit_t;

/* ---- building ---- */

hg_dbb_t *hg_dbb_new(void);
void hg_dbb_free(hg_dbb_t *b);

/*
 * The list called name (created on first use, with version and kind; later
 * calls with the same name return the same id). Returns HG_EINVAL for a bad
 * name or HG_ELIMIT past HG_MAX_LISTS.
 */
hg_status_t hg_dbb_list(hg_dbb_t *b, const char *name, const char *version,
                        unsigned kind, uint32_t *id, hg_err_t *err);

/* Record a source file of a list, for provenance. */
hg_status_t hg_dbb_source(hg_dbb_t *b, uint32_t list, const char *name,
                          const unsigned char sha256[32]);

/*
 * Add (or with e->remove, remove) one entry on a list. Entries with the same
 * non-zero e->record, added one after another on one list, are the digests
 * of one file (a record, see list.h): the database keeps that grouping.
 */
hg_status_t hg_dbb_add(hg_dbb_t *b, uint32_t list, const hg_entry_t *e);

/*
 * Start a new numbering of records: entries added from now on never join a
 * record of entries added before, whatever their e->record (each list file
 * numbers its records from 1). Call it before each file.
 */
void hg_dbb_record_scope(hg_dbb_t *b);

/*
 * Make every scan compute MD5, SHA-1 and SHA-256 (compile --all-digests),
 * instead of the cheapest set that covers every record.
 */
void hg_dbb_set_all_digests(hg_dbb_t *b, int on);

/* After a successful hg_dbb_write: the algorithms a scan will compute. */
unsigned hg_dbb_algs(const hg_dbb_t *b);

/*
 * The cheapest set of algorithms covering every record, given how many
 * records have digests of exactly the algorithms of each mask (counts[m],
 * m = 1..7; counts[0] ignored): a record is covered when one of its
 * digests' algorithms is in the set. The cost model is a fixed order from
 * speeds measured with SHA extensions (SHA-NI, ARMv8 crypto), where SHA-1
 * and SHA-256 each run at about 2.4 x the speed of MD5: per byte, SHA-1
 * 720, SHA-256 760, MD5 1800 (ps). Fixed, not measured at compile time, so
 * the same lists always give the same file. 0 when there is no record.
 */
unsigned hg_db_cover(const uint64_t counts[8]);

/* The cost of computing the algorithms of mask, in ps per byte (the model above). */
unsigned hg_db_cover_cost(unsigned mask);

/*
 * Load every list, source and entry of an open database into the builder
 * (for incremental updates: --base).
 */
hg_status_t hg_dbb_load(hg_dbb_t *b, const hg_db_t *db, hg_err_t *err);

/* Entries added so far (before deduplication). */
uint64_t hg_dbb_pending(const hg_dbb_t *b);

/*
 * Sort, deduplicate and write the database to path atomically. created is
 * the creation time to store (0: now). Returns HG_EIO/HG_ENOMEM with err set.
 */
hg_status_t hg_dbb_write(hg_dbb_t *b, const char *path, uint64_t created,
                         hg_err_t *err);

/* ---- reading ---- */

#define HG_DB_OPEN_VERIFY   0x1     /* also check the whole-file checksum */

/*
 * Map and validate the database at path. On success *out holds one
 * reference. A truncated, corrupted or hostile file gives HG_EFORMAT with a
 * message naming path and what is wrong; nothing outside the file is read.
 */
hg_status_t hg_db_open(const char *path, unsigned flags, hg_db_t **out,
                       hg_err_t *err);

/* Take another reference; returns db. */
hg_db_t *hg_db_ref(hg_db_t *db);

/* Drop a reference; unmaps on the last. Accepts NULL. */
void hg_db_close(hg_db_t *db);

/* Check the whole-file checksum (O(size)). */
hg_status_t hg_db_verify(const hg_db_t *db, hg_err_t *err);

/*
 * Opt in, once per process and before threads start, to surviving a
 * database file truncated in place under a live mapping. It installs a
 * SIGBUS handler: a fault on a page of a database mapped by hg_db_open
 * replaces that whole mapping with zero pages and marks the handle lost;
 * the read is retried and sees zeros, which lookups survive (no hits), and
 * hg_scan_end reports HG_EIO for a lost handle. A SIGBUS anywhere else
 * goes to the handler installed before, or kills the process as it would
 * have. The library never installs it on its own. Idempotent.
 */
hg_status_t hg_db_guard_install(hg_err_t *err);

/*
 * 1 once the handle's file was truncated under its mapping (see
 * hg_db_guard_install): nothing it says can be trusted any more; drop it
 * and open the file again when a good one is in place. 0 for NULL.
 */
int hg_db_lost(const hg_db_t *db);

const char *hg_db_path(const hg_db_t *db);
uint64_t hg_db_created(const hg_db_t *db);      /* Unix time */
uint64_t hg_db_file_size(const hg_db_t *db);
uint32_t hg_db_version(const hg_db_t *db);      /* format version */

/*
 * What a scan computes: the set stored by the compiler (the cheapest that
 * covers every record of every list, or all three with --all-digests).
 * Every channel (milter, nginx module, hashgate scan) computes exactly
 * this, through hg_scan_new. A version-1 database: every algorithm that
 * has a digest.
 */
unsigned hg_db_algs(const hg_db_t *db);

/* Compiled with --all-digests (hg_dbb_set_all_digests). */
int hg_db_all_digests(const hg_db_t *db);

/*
 * Records (listed files) of the lists of kind (HG_LIST_BLOCK or
 * HG_LIST_ALLOW) whose digests are of exactly the algorithms in mask
 * (1..7). A version-1 database has none stored: 0.
 */
uint64_t hg_db_records(const hg_db_t *db, unsigned kind, unsigned mask);

/*
 * The other digests the list gives for the file that (alg, digest) names
 * on list: the digests of its record(s), as listed, not computed. Fills
 * out->d[b] for each other algorithm b and returns their mask (also in
 * out->algs; out->size 0); 0 when the digest is its own record. Where a
 * digest is in several records of one list giving different digests of
 * one algorithm (a list contradicting itself), the first record's is
 * given. Never allocates.
 */
unsigned hg_db_listed(const hg_db_t *db, hg_alg_t alg,
                      const unsigned char *digest, uint32_t list,
                      hg_digests_t *out);

/* Distinct digests stored for alg. */
uint64_t hg_db_count(const hg_db_t *db, hg_alg_t alg);

/* Bytes of alg's absent-digest filter (format 4; 0 before, or no digests). */
uint64_t hg_db_filter_bytes(const hg_db_t *db, hg_alg_t alg);

size_t hg_db_nlists(const hg_db_t *db);
hg_status_t hg_db_list(const hg_db_t *db, size_t i, hg_db_list_t *out);
hg_status_t hg_db_list_source(const hg_db_t *db, size_t list, size_t i,
                              hg_db_source_t *out);

/* Index of the list called name, or -1. */
long hg_db_find_list(const hg_db_t *db, const char *name);

/*
 * Find digest (hg_alg_len(alg) bytes). Fills up to max hits (one per list
 * the digest is on) and returns how many lists it is on (may exceed max).
 * 0 means absent. Never allocates.
 */
size_t hg_db_lookup(const hg_db_t *db, hg_alg_t alg,
                    const unsigned char *digest, hg_db_hit_t *hits,
                    size_t max);

/*
 * Start fetching the rows a lookup of digest will read, and return at
 * once. A lookup waits mostly for memory; prefetching every digest of an
 * object (MD5, SHA-1, SHA-256) before looking any of them up lets those
 * waits overlap. Only a hint: reads nothing, never faults.
 */
void hg_db_prefetch(const hg_db_t *db, hg_alg_t alg,
                    const unsigned char *digest);

/*
 * Call cb once per (digest, list) pair in the database, in digest order per
 * algorithm (for --base updates and diff). e->label points into the mapping.
 * Stops at and returns the first status other than HG_OK.
 */
typedef hg_status_t (*hg_db_entry_cb)(void *ctx, uint32_t list,
                                      const hg_entry_t *e);
hg_status_t hg_db_foreach(const hg_db_t *db, hg_db_entry_cb cb, void *ctx);

#endif
