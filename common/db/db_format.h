/*
 * db_format.h - the on-disk layout of a compiled database, shared by the
 * builder (db_build.c, db_merge.c, db_write.c), the validator (db_open.c)
 * and the reader (db_lookup.c). Internal to libhashgate; docs/db-format.md
 * is the prose.
 *
 * Everything on disk is little-endian and read through the helpers below,
 * never by casting a pointer into the mapping, so alignment and byte order
 * never matter. Sections have one canonical place: the validator recomputes
 * every offset from the counts and refuses a file whose header disagrees,
 * so sections can neither overlap nor point elsewhere.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_DB_FORMAT_H
#define HASHGATE_DB_FORMAT_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "hashgate/db.h"

/* ---- constants ---- */

#define HG_DB_MAGIC         "HGDB\r\n\x1a\n"    /* 8 bytes; catches text-mode mangling */
#define HG_DB_MAGIC_LEN     8
#define HG_DB_FORMAT        6u                  /* the version this code writes */
#define HG_DB_FORMAT_MIN    1u                  /* the oldest it reads: 1 has no
                                                 * records, each entry is its own */
#define HG_DB_HEADER_SIZE   512u                /* formats 1 and 2 */
#define HG_DB_HEADER_SIZE_V3 1024u              /* format 3: PDQ fields, signature */
#define HG_DB_HEADER_MAX    1024u
#define HG_DB_ALIGN         8u                  /* every section starts 8-aligned */
#define HG_DB_ROW_ALIGN     64u                 /* digest tables: a cache line, so a
                                                 * 16- or 32-byte row never straddles two */

/* Row numbers and bucket bounds are uint32 on disk. */
#define HG_DB_MAX_ROWS      0xfffffffeULL

/*
 * 2^28 buckets (1 GiB of index) is far past any planned list; the cap also
 * keeps a hostile bucket_bits from asking for a shift of 32 or more.
 */
#define HG_DB_MAX_BUCKET_BITS 28u

/*
 * Formats 1 to 4 (the builder writes them for tests): aim for this many
 * rows per bucket. A random read from a large mapping
 * costs ~170-200 ns here (DRAM plus a TLB miss), so a lookup must make
 * only one: with 256 rows a bucket the index is 1/64 byte per row (128 KiB
 * for 10M digests) and stays in cache, and the row is found by
 * interpolating within the bucket (digests are uniform), landing within
 * about 8 rows, whose lines are fetched in parallel. Measured against 64
 * and 128 rows a bucket in one run: 256 was 15% faster than 64 (the index
 * misses cache less), 512 no better.
 */
#define HG_DB_ROWS_PER_BUCKET 256u

/*
 * Format 5: a digest's home slot is its leading 64 bits scaled to
 * rows + rows / HG_DB_HOME_SLACK, and it is stored at its home or, when
 * rows before it took that slot, at the first free slot after: the table
 * stays sorted, each row is a few slots past its home (10 on average at
 * this load, 0.95), and a lookup reads the lines from the home on without
 * reading any index first. The slots left free hold a copy of the row
 * before them; they cost 5 % of the table.
 */
#define HG_DB_HOME_SLACK    20u

/* String offsets are uint32 on disk. */
#define HG_DB_MAX_STRINGS   0xffffffffULL

/* A list version is free text ("2026-11-25", "v42"); bounded for printing. */
#define HG_DB_VERSION_MAX   256

/* ---- header: byte offsets ---- */

#define HDR_MAGIC           0       /* [8]  */
#define HDR_FORMAT          8       /* u32  */
#define HDR_HEADER_SIZE     12      /* u32  */
#define HDR_CREATED         16      /* u64  Unix time */
#define HDR_FILE_SIZE       24      /* u64  */
#define HDR_NLISTS          32      /* u32  */
#define HDR_NSOURCES        36      /* u32  */
#define HDR_NSETS           40      /* u32  */
#define HDR_NMEMBERS        44      /* u32  */
#define HDR_META_LEN        48      /* u64  metadata region, starts at HG_DB_HEADER_SIZE */
#define HDR_STRINGS_LEN     56      /* u64  */
#define HDR_LABELS_OFF      64      /* u64  */
#define HDR_LABELS_LEN      72      /* u64  */
/* 80..127 reserved, zero in version 1; from version 2: */
#define HDR_SCAN_ALGS       80      /* u32  what a scan computes (HG_ALG_BIT mask) */
#define HDR_FLAGS           84      /* u32  HG_DB_FLAG_* */
#define HDR_NRECORDS        88      /* u64  records stored (files with 2+ digests) */
#define HDR_RECORDS_OFF     96      /* u64  */
#define HDR_LINKS_OFF(a)    (104 + 8 * (a))     /* u64 per algorithm */
#define HG_DB_FLAG_ALL_DIGESTS  0x1u    /* compiled with --all-digests */
#define HG_DB_FLAG_PDQ_INDEX    0x2u    /* v6: compiled with --pdq-index on
                                         * (kept by --base; the index itself
                                         * is there from HG_PDQ_INDEX_MIN
                                         * entries on) */
#define HG_DB_FLAGS_KNOWN   (HG_DB_FLAG_ALL_DIGESTS | HG_DB_FLAG_PDQ_INDEX)
#define HDR_ALG(a)          (128 + 64 * (a))
#define   ALG_COUNT         0       /* u64  rows (distinct digests) */
#define   ALG_BUCKET_BITS   8       /* u32  */
#define   ALG_SETW          12      /* u32  bytes per row in the set index: 0,1,2,4 */
#define   ALG_BUCKETS_OFF   16      /* u64  */
#define   ALG_DIGESTS_OFF   24      /* u64  */
#define   ALG_SETIDX_OFF    32      /* u64  */
#define   ALG_EXTRAS_OFF    40      /* u64  */
#define   ALG_NEXTRAS       48      /* u64  */
#define   ALG_NLINKS        56      /* u64  version 2; reserved, zero in 1 */
#define HDR_META_SHA256     320     /* [32] header (this field zeroed) + metadata */
#define HDR_FILE_SHA256     352     /* [32] bytes HG_DB_HEADER_SIZE .. end of file */
/* 384..511 reserved, zero in version 1; from version 2 the record counts: */
#define HDR_RESERVED_AT     384
#define HDR_RECORD_COUNTS   384     /* u64 [kind 0..1][mask 0..7]: records of
                                     * block/allow lists whose digests are of
                                     * exactly the algorithms in mask; mask 0
                                     * slots are zero */
#define HDR_RECORD_COUNT(kind, mask)  (HDR_RECORD_COUNTS + 8 * (8 * (kind) + (mask)))

/*
 * Format 3: the header is 1024 bytes. 512..767 describe the PDQ entries
 * (db_pdq.c); 768..1023 hold the signature (db_sign.c), zero while there
 * is none, and are taken as zero by hg_db_meta_sha256 so that signing a
 * file does not change its checksum.
 */
#define HDR_PDQ_COUNT       512     /* u64  PDQ entries (distinct hashes) */
#define HDR_PDQ_SETW        520     /* u32  bytes per set index value: 0,1,2,4 */
#define HDR_PDQ_INDEX_BITS  524     /* u32  bucket bits per chunk of the index; 0: none */
#define HDR_PDQ_HASHES_OFF  528     /* u64  count x 32 bytes, sorted ascending;
                                     * v6: heads then tails (hg_pdq_head) */
#define HDR_PDQ_SETIDX_OFF  536     /* u64  */
#define HDR_PDQ_EXTRAS_OFF  544     /* u64  */
#define HDR_PDQ_NEXTRAS     552     /* u64  */
#define HDR_PDQ_INDEX_OFF   560     /* u64  multi-index (db_pdq.c) */
#define HDR_PDQ_IDW         568     /* u32  bytes per row in the index: 3 or 4; 0: none */
#define HDR_PDQ_RESERVED_AT 572     /* ..767 zero in format 3; in 4, 572..575 */
/*
 * Format 4: per algorithm, a filter of its digests that answers "surely
 * absent" from one cache line (see hg_db_filter_has). Blocks of 64 bytes;
 * 0 blocks when the algorithm has no rows.
 */
#define HDR_FILTER_BLOCKS(a) (576 + 8 * (a))    /* u64 */
#define HDR_FILTER_OFF(a)   (600 + 8 * (a))     /* u64, 64-aligned */
#define HDR_V4_RESERVED_AT  624     /* ..767 zero in format 4 */
/*
 * Format 5: each digest table is key-addressed (see hg_db_home): the
 * table's count is its slots, of which rows are distinct digests, the
 * others copies of the row before them. home is the range the leading 64
 * bits of a digest are scaled to; base is subtracted, so slot 0 holds the
 * first row.
 */
#define HDR_ALG_ROWS(a)     (624 + 8 * (a))     /* u64 distinct digests */
#define HDR_ALG_HOME(a)     (648 + 8 * (a))     /* u64 home range */
#define HDR_ALG_BASE(a)     (672 + 8 * (a))     /* u64 home of slot 0 */
#define HDR_V5_RESERVED_AT  696     /* ..767 zero */
#define HDR_SIG_AT          768     /* signature (db_sign.c) */
#define HDR_SIG_LEN         256

/* The header size of a format version. */
static inline uint32_t
hg_db_header_size(uint32_t format)
{
    return format >= 3 ? HG_DB_HEADER_SIZE_V3 : HG_DB_HEADER_SIZE;
}

/* ---- metadata records ---- */

#define LIST_REC            48
#define   LIST_NAME         0       /* u32 string offset */
#define   LIST_VERSION      4       /* u32 string offset ("" when none) */
#define   LIST_KIND         8       /* u32 HG_LIST_BLOCK / HG_LIST_ALLOW */
#define   LIST_FIRST_SOURCE 12      /* u32 */
#define   LIST_NSOURCES     16      /* u32 */
/*        20..23 reserved */
#define   LIST_ENTRIES      24      /* u64 */
#define   LIST_COMPILED     32      /* u64 Unix time */
#define   LIST_RECORDS      40      /* u64 files listed (version 2; reserved in 1) */

#define SOURCE_REC          40
#define   SOURCE_NAME       0       /* u32 string offset */
/*        4..7 reserved */
#define   SOURCE_SHA256     8       /* [32] */

#define SET_REC             8
#define   SET_FIRST         0       /* u32 index into members */
#define   SET_COUNT         4       /* u32 */

#define MEMBER_REC          2       /* u16 list index, strictly increasing per set */

/* Format 3, after the string table: per list, its PDQ entries and threshold. */
#define LPDQ_REC            16
#define   LPDQ_ENTRIES      0       /* u64 PDQ entries on the list */
#define   LPDQ_THRESHOLD    8       /* u32 bits, 0..HG_PDQ_THRESHOLD_MAX */
/*        12..15 reserved */

/* ---- data records ---- */

#define EXTRA_REC           24
#define   EXTRA_ROW         0       /* u32 */
#define   EXTRA_LIST        4       /* u16 */
#define   EXTRA_FLAGS       6       /* u16 */
#define   EXTRA_SIZE        8       /* u64 */
#define   EXTRA_LABEL       16      /* u32 offset in labels */
/*        20..23 reserved */
#define EXTRA_HAS_SIZE      0x1
#define EXTRA_HAS_LABEL     0x2
#define EXTRA_HAS_QUALITY   0x4     /* PDQ extras only: the quality is in EXTRA_SIZE */

/*
 * A record (version 2): the digests one list gives for one file, when it
 * gives more than one: u16 list, u16 algorithm mask, then per algorithm the
 * row of its digest (0 for an algorithm not in the mask). Sorted by (list,
 * mask, rows), no two alike.
 */
#define RECORD_REC          16
#define   RECORD_LIST       0       /* u16 */
#define   RECORD_ALGS       2       /* u16 HG_ALG_BIT mask, 2+ bits */
#define   RECORD_ROW(a)     (4 + 4 * (a))       /* u32 */

/* A link (version 2), per algorithm: a row in a record, sorted by (row, record). */
#define LINK_REC            8
#define   LINK_ROW          0       /* u32 */
#define   LINK_RECORD       4       /* u32 */

/* A set index value: set << 1 | SETIDX_EXTRAS. */
#define SETIDX_EXTRAS       0x1u

/* ---- little-endian access ---- */

static inline uint16_t
hg_le16(const unsigned char *p)
{
    return (uint16_t) (p[0] | p[1] << 8);
}

static inline uint32_t
hg_le32(const unsigned char *p)
{
    uint32_t  v;

    memcpy(&v, p, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

static inline uint64_t
hg_le64(const unsigned char *p)
{
    uint64_t  v;

    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline void
hg_put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char) v;
    p[1] = (unsigned char) (v >> 8);
}

static inline void
hg_put32(unsigned char *p, uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    memcpy(p, &v, 4);
}

static inline void
hg_put64(unsigned char *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(p, &v, 8);
}

/* The leading 64 bits of a digest, big-endian: its position in the key space. */
static inline uint64_t
hg_db_prefix64(const unsigned char *d)
{
    uint64_t  v;

    memcpy(&v, d, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/*
 * Format 5: the home of a digest whose leading 64 bits are key64 in a table
 * of home range home: key64 scaled to [0, home), minus the table's base.
 * Monotone in the key, so the rows, stored at or after their homes, are in
 * digest order. Below base (only a digest before the first row) is slot 0.
 */
static inline uint64_t
hg_db_home(uint64_t key64, uint64_t home, uint64_t base)
{
    uint64_t  h = (uint64_t) (((unsigned __int128) key64 * home) >> 64);

    return h > base ? h - base : 0;
}

/* The leading 32 bits of a digest, big-endian: what buckets are keyed on. */
static inline uint32_t
hg_db_prefix32(const unsigned char *d)
{
    return (uint32_t) d[0] << 24 | (uint32_t) d[1] << 16
           | (uint32_t) d[2] << 8 | d[3];
}

static inline uint64_t
hg_db_align_to(uint64_t v, uint64_t to)
{
    return (v + (to - 1)) & ~(to - 1);
}

static inline uint64_t
hg_db_align(uint64_t v)
{
    return hg_db_align_to(v, HG_DB_ALIGN);
}

/* Bytes of the bucket table for bits: (2^bits + 1) uint32 bounds. */
static inline uint64_t
hg_db_buckets_len(unsigned bits)
{
    return (((uint64_t) 1 << bits) + 1) * 4;
}

/*
 * A list name: 1 to HG_LIST_NAME_MAX bytes of A-Z a-z 0-9 . _ - (it goes
 * into log lines, headers and file names unquoted). s need only be
 * readable up to its NUL or HG_LIST_NAME_MAX + 1 bytes. HG_DB_LIST_NAME_RULE
 * says it in a message, with HG_LIST_NAME_MAX as its one int argument.
 */
#define HG_DB_LIST_NAME_RULE  "1 to %d characters of A-Z a-z 0-9 . _ -"

static inline int
hg_db_list_name_ok(const char *s)
{
    size_t  n = strnlen(s, HG_LIST_NAME_MAX + 1), i;

    if (n == 0 || n > HG_LIST_NAME_MAX) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        unsigned char  c = (unsigned char) s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
        {
            return 0;
        }
    }
    return 1;
}

/* ---- the absent-digest filter (format 4) ---- */

/*
 * A blocked Bloom filter per algorithm: each digest sets HG_DB_FILTER_K
 * bits in one 64-byte block, so "surely absent" costs one cache line, not
 * the window of rows a lookup reads (nearly every lookup is of a digest
 * that is not listed). Digests are uniform, so their own bits serve as the
 * hashes: the leading 64 bits pick the block (a multiply, any block
 * count), the next 63 bits the HG_DB_FILTER_K 9-bit positions in it. At
 * HG_DB_FILTER_BITS bits a digest, about 1 % of absent digests pass and
 * go on to the rows. Digests are sorted, so a writer fills the blocks in
 * order.
 */
#define HG_DB_FILTER_BITS   10u     /* bits a digest the writer allots */
#define HG_DB_FILTER_K      7u
#define HG_DB_FILTER_BLOCK  64u

/* Blocks the writer gives rows digests (0 for none). */
static inline uint64_t
hg_db_filter_blocks_for(uint64_t rows)
{
    return rows == 0 ? 0 : (rows * HG_DB_FILTER_BITS + 511) / 512;
}

/* The block of a digest among blocks (> 0). */
static inline uint64_t
hg_db_filter_block(const unsigned char *d, uint64_t blocks)
{
    return (uint64_t) (((unsigned __int128) hg_db_prefix64(d) * blocks) >> 64);
}

/* The bit positions (0..511) come from digest bytes 8..15. */
static inline uint64_t
hg_db_filter_key(const unsigned char *d)
{
    return hg_le64(d + 8);
}

/* Set a digest's bits in its block (the writer; blk is 64 bytes). */
static inline void
hg_db_filter_set(unsigned char *blk, uint64_t key)
{
    unsigned  j, b;

    for (j = 0; j < HG_DB_FILTER_K; j++, key >>= 9) {
        b = (unsigned) (key & 511);
        blk[b >> 3] |= (unsigned char) (1u << (b & 7));
    }
}

/* 0: the digest is surely not in the table; 1: it may be. */
static inline int
hg_db_filter_has(const unsigned char *blk, uint64_t key)
{
    unsigned  j, b;

    for (j = 0; j < HG_DB_FILTER_K; j++, key >>= 9) {
        b = (unsigned) (key & 511);
        if (!(blk[b >> 3] & (1u << (b & 7)))) {
            return 0;
        }
    }
    return 1;
}

/* ---- PDQ ---- */

#define HG_PDQ_CHUNKS       16      /* the index: 16 chunks of 16 bits */

/* Chunk c (0..15) of a PDQ hash: bytes 2c and 2c + 1, big-endian, so
 * chunk 0 is the leading 16 bits (the order of the sorted hash table). */
static inline unsigned
hg_pdq_chunk(const unsigned char *h, int c)
{
    return (unsigned) h[2 * c] << 8 | h[2 * c + 1];
}

/* Bytes of one chunk's bucket bounds in the index, padded to 8. */
static inline uint64_t
hg_pdq_bounds_len(unsigned bits)
{
    return hg_db_align(hg_db_buckets_len(bits));
}

/* Bytes of one chunk's row table in the index (chunks 1..15), padded to 8. */
static inline uint64_t
hg_pdq_ids_len(uint64_t count, unsigned idw)
{
    return hg_db_align(count * idw);
}

/* n bytes at p are all zero: reserved fields, an empty signature block. */
static inline int
hg_db_all_zero(const unsigned char *p, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (p[i] != 0) {
            return 0;
        }
    }
    return 1;
}

/* ---- the open handle ---- */

typedef struct {
    uint64_t             count;     /* rows */
    unsigned             bits;      /* bucket bits */
    unsigned             setw;      /* bytes per set index value */
    size_t               dlen;      /* digest bytes */
    const unsigned char *buckets;
    const unsigned char *digests;
    const unsigned char *setidx;
    const unsigned char *extras;
    uint64_t             nextras;
    const unsigned char *links;
    uint64_t             nlinks;
    const unsigned char *filter;    /* format 4; NULL before */
    uint64_t             fblocks;   /* its 64-byte blocks */
    uint64_t             rows;      /* distinct digests: count before 5 */
    uint64_t             home;      /* format 5: home range, 0 before */
    uint64_t             base;      /* format 5: home of slot 0 */
} hg_db_alg_t;

/* First extras record with a row >= row (they are sorted by row). */
static inline uint64_t
hg_db_extras_find(const hg_db_alg_t *al, uint64_t row)
{
    uint64_t  lo = 0, hi = al->nextras, mid;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (hg_le32(al->extras + mid * EXTRA_REC + EXTRA_ROW) < row) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* The set index value of row (set << 1 | SETIDX_EXTRAS), digests and PDQ alike. */
static inline uint32_t
hg_db_setidx(const hg_db_alg_t *al, uint64_t row)
{
    const unsigned char  *p = al->setidx + row * al->setw;

    switch (al->setw) {
    case 1:  return p[0];
    case 2:  return hg_le16(p);
    case 4:  return hg_le32(p);
    default: return 0;
    }
}

struct hg_db_s {
    atomic_long          refs;
    atomic_int           lost;      /* pages taken away: now zeros (db_guard.c) */
    int                  guard_slot;
    char                *path;
    const unsigned char *base;      /* the mapping */
    size_t               size;
    uint32_t             format;
    uint64_t             created;
    uint32_t             nlists;
    uint32_t             nsources;
    uint32_t             nsets;
    uint32_t             nmembers;
    const unsigned char *lists;
    const unsigned char *sources;
    const unsigned char *sets;
    const unsigned char *members;
    const char          *strings;   /* last byte is NUL (checked at open) */
    uint64_t             strings_len;
    const char          *labels;    /* last byte is NUL when labels_len > 0 */
    uint64_t             labels_len;
    hg_db_alg_t          alg[HG_ALG_COUNT];
    unsigned             scan_algs; /* what a scan computes */
    unsigned             flags;     /* HG_DB_FLAG_* */
    const unsigned char *records;
    uint64_t             nrecords;
    uint32_t             hdr_size;  /* hg_db_header_size(format) */

    /* PDQ entries (format 3): rows as an hg_db_alg_t of 32-byte "digests"
     * (pdq.digests is the table; read a hash through hg_pdq_head/tail) */
    hg_db_alg_t          pdq;
    const unsigned char *pdq_head;  /* bytes 0..15 of row 0 */
    const unsigned char *pdq_tail;  /* bytes 16..31 of row 0 */
    unsigned             pdq_step;  /* bytes from a row's half to the next
                                     * row's: 16 (v6 columns) or 32 */
    const unsigned char *pdq_lists; /* LPDQ_REC per list */
    const unsigned char *pdq_index; /* NULL: no index (brute force) */
    unsigned             pdq_bits;
    unsigned             pdq_idw;
    int                  pdq_maxthr;    /* the largest list threshold */
};

/*
 * The PDQ hash table. Format 6 stores it as two columns, the first 16
 * bytes of every hash (its head) in row order, then the last 16 (its
 * tail): a scan reads only the heads, since a hash within 31 bits of an
 * entry is within 31 bits of it on the head's 128, where an unrelated
 * head is about 64 bits away (db_pdq.c). Formats 3 to 5 interleave them,
 * one 32-byte row a hash. hg_pdq_row copies row's hash whole.
 */
#define HG_PDQ_HALF         16

static inline const unsigned char *
hg_pdq_head(const struct hg_db_s *db, uint64_t row)
{
    return db->pdq_head + row * db->pdq_step;
}

static inline const unsigned char *
hg_pdq_tail(const struct hg_db_s *db, uint64_t row)
{
    return db->pdq_tail + row * db->pdq_step;
}

static inline void
hg_pdq_row(const struct hg_db_s *db, uint64_t row, unsigned char out[32])
{
    memcpy(out, hg_pdq_head(db, row), HG_PDQ_HALF);
    memcpy(out + HG_PDQ_HALF, hg_pdq_tail(db, row), HG_PDQ_HALF);
}

/*
 * The loops that compute PDQ distances (db_pdq.c, db_pdq_heads.c) are also
 * built with the POPCNT instruction and picked at load time (without it,
 * -O2 for x86-64 calls a library function per word: measured 3x slower at
 * 1M entries).
 */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HG_PDQ_POPCNT   __attribute__((target_clones("popcnt", "default")))
#else
#define HG_PDQ_POPCNT
#endif

/* Bits in which a head differs from the head qh of a hash searched. */
static inline int
hg_pdq_head_dist(const unsigned char *head, const uint64_t qh[2])
{
    uint64_t  x[2];

    memcpy(x, head, HG_PDQ_HALF);
    return __builtin_popcountll(x[0] ^ qh[0])
           + __builtin_popcountll(x[1] ^ qh[1]);
}

/*
 * Rows from .. from + n - 1 whose head is within radius of the head of one
 * of the nq (1 to 8) hashes searched, ascending, into near (room for n);
 * returns how many (db_pdq_heads.c). hg_pdq_heads_simd(0) makes it use the
 * scalar loop whatever the processor (tests of both).
 */
size_t hg_pdq_heads_near(const struct hg_db_s *db, uint64_t from, uint64_t n,
                         const uint64_t (*qh)[2], int nq, int radius,
                         uint64_t *near);
void hg_pdq_heads_simd(int on);

/*
 * SHA-256 of the header (with its HDR_META_SHA256 field, and in format 3
 * the signature bytes HDR_SIG_AT.., taken as zero) followed by meta_len
 * bytes of metadata. hdr is hg_db_header_size(its format) bytes.
 * Returns 0, or -1 if OpenSSL fails.
 */
int hg_db_meta_sha256(const unsigned char *hdr, const unsigned char *meta,
                      uint64_t meta_len, unsigned char out[32]);

/*
 * Register a fresh mapping with the SIGBUS guard (if installed) before
 * anything reads it, and take it out before it is unmapped. db_guard.c.
 */
void hg_db_guard_add(hg_db_t *db);
void hg_db_guard_remove(hg_db_t *db);

#endif
