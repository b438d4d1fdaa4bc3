/*
 * db_build.h - the database builder's insides, shared by the files of its
 * stages: collect entries (db_build.c), sort records (db_sort.c), merge
 * them into rows and list-sets (db_merge.c), write the file (db_write.c).
 *
 * Lists reach tens of millions of digests, so the builder stores entries
 * compactly: per algorithm one array of fixed-width records (digest + a
 * 32-bit tag naming the list, or an index into a side array of entries that
 * carry a size or a label). At write time the arrays are sorted in place
 * (an MSD radix sort: no second copy), duplicates are merged into one row
 * whose tag becomes the index of its set of lists, removals are applied,
 * and the file is streamed out. Peak memory is the records plus small
 * tables; the output goes through the page cache, not the heap.
 *
 * Output is a function of the content only (lists in first-use order,
 * sources in the order given, rows in digest order, sets and labels in
 * order of first use by the rows), so loading a database and writing it
 * again gives the same bytes.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HG_DB_BUILD_H
#define HG_DB_BUILD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "db/db_format.h"
#include "hashgate/db.h"

/*
 * The builder's slots: one per algorithm, then the PDQ entries, which are
 * collected and merged as 32-byte "digests" like SHA-256 (their extras
 * carry a quality where digests carry a size) and written to their own
 * section (db_pdq.c).
 */
#define HG_DBB_PDQ          HG_ALG_COUNT
#define HG_DBB_SLOTS        (HG_ALG_COUNT + 1)

static inline size_t
hg_dbb_slot_len(int slot)
{
    return slot == HG_DBB_PDQ ? 32 : hg_alg_len((hg_alg_t) slot);
}

/* A record's tag: an extras index when this bit is set, else a list id. */
#define TAG_EXTRA           0x80000000u
#define TAG_MAX_INDEX       0x7fffffffu

typedef struct {
    char           *name;
    char           *version;
    unsigned        kind;
    int             loaded;     /* came from hg_dbb_load */
    int             touched;    /* named by hg_dbb_list in this build */
    uint64_t        compiled;   /* from the loaded database */
    uint64_t        entries;    /* counted at write */
    uint64_t        inrec;      /* entries in a stored record, at write */
    uint64_t        records;    /* files listed, at write */
    int             pdq_threshold;  /* -1: not given (HG_PDQ_THRESHOLD) */
    uint64_t        pdq_entries;    /* counted at write */
} hg_dbb_list_t;

typedef struct {
    uint32_t        list;
    char           *name;
    unsigned char   sha256[32];
} hg_dbb_src_t;

typedef struct {
    uint32_t        list;
    uint32_t        label;      /* label id + 1; 0: none */
    uint64_t        size;
    int             has_size;
} hg_dbb_extra_t;

/* An array of fixed-size records. */
typedef struct {
    unsigned char  *p;
    size_t          n;
    size_t          cap;
    size_t          rs;         /* bytes per record */
} hg_vec_t;

/* An extras record of the output, before labels get their offsets. */
typedef struct {
    uint32_t        row;
    uint32_t        list;
    uint32_t        label;      /* label id + 1; 0: none */
    int             has_size;
    uint64_t        size;
} hg_out_extra_t;

struct hg_dbb_s {
    hg_dbb_list_t  *lists;
    uint32_t        nlists;
    hg_dbb_src_t   *srcs;
    size_t          nsrcs;
    hg_vec_t        add[HG_DBB_SLOTS];  /* digest + uint32 tag */
    hg_vec_t        rem[HG_DBB_SLOTS];  /* digest + uint32 list */
    hg_vec_t        extras;             /* hg_dbb_extra_t */

    /*
     * Records: the entries of a file given with others (digest + uint32
     * list + uint64 record id). An entry is held back as pend until the
     * next one says whether its record has a second digest, so a plain
     * list costs nothing here.
     */
    hg_vec_t        recs[HG_ALG_COUNT];
    uint64_t        rec_base;           /* added to e->record: the scope */
    uint64_t        rec_max;            /* highest id given so far */
    int             pend_on;            /* pend holds an entry */
    int             pend_kept;          /* and it is in recs already */
    hg_alg_t        pend_alg;
    uint32_t        pend_list;
    uint64_t        pend_rec;
    unsigned char   pend_digest[HG_DIGEST_MAX];
    int             all_digests;        /* hg_dbb_set_all_digests */
    unsigned        algs;               /* chosen at write */

    /* interned labels: id -> offset in arena; hash table of id + 1 */
    char           *arena;
    size_t          arena_len;
    size_t          arena_cap;
    hg_vec_t        lab_off;            /* uint64_t per id */
    uint32_t       *lab_ht;
    size_t          lab_ht_cap;

    int             written;            /* hg_dbb_write consumed the records */
    unsigned        format;             /* to write; 0: HG_DB_FORMAT */
    const struct hg_db_signer_s *signer;    /* hg_dbb_set_signer; not owned */
    uint64_t        pdq_index_min;      /* PDQ index from this many entries
                                         * on; UINT64_MAX: none (default) */
};

/* Interned list-sets: each distinct set of lists a row is on, once. */
typedef struct {
    hg_vec_t        sets;       /* uint32 first, uint32 count */
    hg_vec_t        members;    /* uint16 */
    uint32_t       *ht;         /* set id + 1 */
    size_t          ht_cap;
} hg_sets_t;

/* The state of merging, kept across the algorithms for the writer. */
typedef struct {
    hg_dbb_t       *b;
    hg_sets_t       sets;
    hg_vec_t        items;      /* hg_item_t, one digest's group */
    hg_vec_t        removed;    /* uint32 lists removed from one digest */
    hg_vec_t        members;    /* uint16, scratch */
    hg_vec_t        oextras;    /* hg_out_extra_t, every algorithm in order */
    uint64_t        rows[HG_DBB_SLOTS];
    uint32_t        maxv[HG_DBB_SLOTS];
    uint64_t        extras_at[HG_DBB_SLOTS + 1];
    uint64_t        pairs[2][HG_DBB_SLOTS];     /* (row, list) per kind */

    /* records (db_records.c) */
    hg_vec_t        records;    /* RECORD_REC bytes each, as on disk */
    hg_vec_t        links[HG_ALG_COUNT];        /* LINK_REC each, as on disk */
    uint64_t        counts[2][8];               /* per kind, per mask */

    /*
     * format 5 placement (db_place.c): table length, home range and base;
     * the slot of each row where rows are named (records, links, extras)
     */
    int             keyed;
    uint32_t       *slot[HG_ALG_COUNT];
    uint64_t        slots[HG_ALG_COUNT];
    uint64_t        home[HG_ALG_COUNT];
    uint64_t        base[HG_ALG_COUNT];
} hg_merge_t;

/*
 * Write an older format (2, without PDQ entries) instead of HG_DB_FORMAT:
 * for tests of reading old files. hg_dbb_write refuses PDQ entries then.
 */
void hg_dbb_set_format(hg_dbb_t *b, unsigned format);

/* Index the PDQ entries from min entries on (small indexed files for
 * tests and fuzzing seeds); UINT64_MAX: never, the default. */
void hg_dbb_set_pdq_index_min(hg_dbb_t *b, uint64_t min);

/* ---- small containers (db_build.c) ---- */

/* Room for more records; 0, or -1 when out of memory (v unchanged). */
int hg_vec_grow(hg_vec_t *v, size_t more);

/* A new record at the end, uninitialized; NULL when out of memory. */
void *hg_vec_push(hg_vec_t *v);

void hg_vec_free(hg_vec_t *v);

/* FNV-1a: the hash of the label and list-set tables. */
static inline uint64_t
hg_fnv(const void *p, size_t n)
{
    const unsigned char  *s = p;
    uint64_t              h = 1469598103934665603ULL;

    while (n--) {
        h = (h ^ *s++) * 1099511628211ULL;
    }
    return h;
}

/* The text of interned label id (its id + 1 is what records carry). */
static inline const char *
hg_dbb_label(const hg_dbb_t *b, uint32_t id)
{
    uint64_t  off;

    memcpy(&off, b->lab_off.p + (size_t) id * 8, 8);
    return b->arena + off;
}

/* ---- db_sort.c ---- */

#define HG_DBB_SORT_RS_MAX  64

/*
 * Sort n records of rs bytes (rs <= HG_DBB_SORT_RS_MAX) in place by their
 * first klen bytes, compared as memcmp does. Not stable.
 */
void hg_dbb_sort(unsigned char *base, size_t n, size_t rs, size_t klen);

/* ---- db_merge.c ---- */

void hg_dbb_merge_init(hg_merge_t *mg, hg_dbb_t *b);
hg_status_t hg_dbb_merge_alg(hg_merge_t *mg, int a, hg_err_t *err);
void hg_dbb_merge_free(hg_merge_t *mg);

/* ---- db_place.c ---- */

/*
 * Format 5: give every row of each digest table its slot (db_format.h,
 * HG_DB_HOME_SLACK) and renumber what names rows (records, links; extras
 * are renumbered as they are written). HG_ENOMEM, or HG_ELIMIT past the
 * format's row numbers.
 */
hg_status_t hg_dbb_place(hg_merge_t *mg, hg_err_t *err);

/*
 * The slot of row r of table a whose digest is d, the row before it being
 * in slot prev (any value for r = 0): its home, or the slot after prev.
 */
static inline uint64_t
hg_dbb_slot(const hg_merge_t *mg, int a, const unsigned char *d, uint64_t r,
            uint64_t prev)
{
    uint64_t  h = hg_db_home(hg_db_prefix64(d), mg->home[a], mg->base[a]);

    return r == 0 || h > prev ? h : prev + 1;
}

/* ---- db_records.c ---- */

/* Keep an entry of a record (hg_dbb_add); HG_ENOMEM. */
hg_status_t hg_dbb_rec_add(hg_dbb_t *b, uint32_t list, const hg_entry_t *e);

/* Push one digest of record id straight into recs (loading a base). */
hg_status_t hg_dbb_rec_push(hg_dbb_t *b, hg_alg_t alg,
                            const unsigned char *digest, uint32_t list,
                            uint64_t id);

/*
 * After every algorithm is merged: join the records' digests to their rows
 * (dropping digests no longer on their list), keep the records left with
 * digests of two or more algorithms, build the links, count records per
 * kind and mask and per list, and choose b->algs.
 */
hg_status_t hg_dbb_records(hg_merge_t *mg, hg_err_t *err);

#endif
