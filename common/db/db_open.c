/*
 * db_open.c - map a compiled database and refuse it unless every offset,
 * count and string in it is sound.
 *
 * The file may come from anywhere (a broken transfer, a full disk, someone
 * hostile), and servers read it from every worker, so nothing is trusted:
 * the header and metadata are checksummed, and every section's place is
 * recomputed from the counts with overflow-safe arithmetic and must match
 * the header exactly and end inside the file. Only O(1)-per-section work
 * and O(metadata) work happens here, so opening a 50M-digest file stays in
 * the milliseconds (the bucket index, 1/64 byte a row, is the one table
 * read whole); what lives in the large data sections (digests, set
 * indices, extras, labels) is bounds-checked by db_lookup.c as it is read.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/db_format.h"
#include "hashgate/db.h"
#include "hashgate/db_pdq.h"

/* Work on the whole-file checksum in slices, so one huge update cannot
 * hold a slow mapping fault in the middle of a single EVP call. */
#define HG_DB_VERIFY_SLICE  (4u << 20)

/* The SHA-256 of the file could not be computed: say why, if OpenSSL did. */
static hg_status_t
_hg_sha256_failed(const char *path, hg_err_t *err)
{
    hg_err_t  why;

    if (hg_hash_check(HG_ALG_BIT(HG_ALG_SHA256), &why) != HG_OK) {
        return hg_err_set(err, HG_ECRYPTO, "%s: %s", path, why.msg);
    }
    return hg_err_set(err, HG_ECRYPTO, "%s: cannot compute SHA-256", path);
}

static int
_hg_sha256_parts(const unsigned char *a, size_t alen,
                 const unsigned char *b, uint64_t blen, unsigned char out[32])
{
    hg_hash_t     *h;
    hg_digests_t   d;
    size_t         n;
    int            rc = -1;

    h = hg_hash_new();
    if (h == NULL || hg_hash_init(h, HG_ALG_BIT(HG_ALG_SHA256)) != HG_OK) {
        goto done;
    }
    if (alen > 0 && hg_hash_update(h, a, alen) != HG_OK) {
        goto done;
    }
    while (blen > 0) {
        n = blen < HG_DB_VERIFY_SLICE ? (size_t) blen : HG_DB_VERIFY_SLICE;
        if (hg_hash_update(h, b, n) != HG_OK) {
            goto done;
        }
        b += n;
        blen -= n;
    }
    if (hg_hash_final(h, &d) != HG_OK) {
        goto done;
    }
    memcpy(out, d.d[HG_ALG_SHA256], 32);
    rc = 0;
done:
    hg_hash_free(h);
    return rc;
}

int
hg_db_meta_sha256(const unsigned char *hdr, const unsigned char *meta,
                  uint64_t meta_len, unsigned char out[32])
{
    unsigned char  copy[HG_DB_HEADER_MAX];
    uint32_t       hs = hg_db_header_size(hg_le32(hdr + HDR_FORMAT));

    memcpy(copy, hdr, hs);
    memset(copy + HDR_META_SHA256, 0, 32);
    if (hs > HDR_SIG_AT) {
        /* a signature written there later leaves the checksum alone */
        memset(copy + HDR_SIG_AT, 0, HDR_SIG_LEN);
    }
    return _hg_sha256_parts(copy, hs, meta, meta_len, out);
}

/*
 * Advance *cursor over a section of len bytes that must start exactly at
 * the aligned cursor (when off is not NULL, the header's offset must agree)
 * and end inside the file. Returns 0 or -1 (overflow, misplaced, too long).
 */
static int
_hg_section_at(uint64_t *cursor, uint64_t align, uint64_t off, int check_off,
               uint64_t count, uint64_t recsize, uint64_t file_size)
{
    uint64_t  start = hg_db_align_to(*cursor, align), len;

    if (start < *cursor || start > file_size) {
        return -1;
    }
    if (check_off && off != start) {
        return -1;
    }
    if (recsize != 0 && count > (file_size - start) / recsize) {
        return -1;      /* also catches count * recsize overflowing */
    }
    len = count * recsize;
    *cursor = start + len;
    return 0;
}

static int
_hg_section(uint64_t *cursor, uint64_t off, int check_off, uint64_t count,
            uint64_t recsize, uint64_t file_size)
{
    return _hg_section_at(cursor, HG_DB_ALIGN, off, check_off, count, recsize,
                          file_size);
}

/*
 * The first bucket whose start is below its predecessor's, or 0. The index
 * is 1/64 byte per row (256 rows a bucket), so this is the one pass at open
 * that grows with the list: well under a millisecond for 10M digests. Lookups clamp
 * the bounds anyway, since a file changed in place under a shared mapping
 * could break this after open.
 */
static uint64_t
_hg_buckets_unsorted(const hg_db_alg_t *al)
{
    uint64_t  k, nb = (uint64_t) 1 << al->bits;
    uint32_t  prev = 0, cur;

    for (k = 1; k <= nb; k++) {
        cur = hg_le32(al->buckets + k * 4);
        if (cur < prev) {
            return k;
        }
        prev = cur;
    }
    return 0;
}

#define BAD(...)  do { \
        hg_err_set(err, HG_EFORMAT, __VA_ARGS__); \
        return HG_EFORMAT; \
    } while (0)

/*
 * The PDQ section (format 3): counts, widths and the canonical place of
 * each table; of the data only the two ends of each chunk's bucket
 * bounds (32 reads, whatever the size). The set index, extras and index
 * rows are checked as a query reads them (db_pdq.c).
 */
static hg_status_t
_hg_pdq_validate(hg_db_t *db, uint64_t *cursor, uint64_t file_size,
                 const char *path, hg_err_t *err)
{
    const unsigned char  *h = db->base;
    hg_db_alg_t          *al = &db->pdq;
    uint64_t              off, nb, blen, ilen;
    int                   c;

    al->dlen = HG_PDQ_BYTES;
    al->count = hg_le64(h + HDR_PDQ_COUNT);
    al->setw = hg_le32(h + HDR_PDQ_SETW);
    al->nextras = hg_le64(h + HDR_PDQ_NEXTRAS);
    db->pdq_bits = hg_le32(h + HDR_PDQ_INDEX_BITS);
    db->pdq_idw = hg_le32(h + HDR_PDQ_IDW);
    if (al->count > HG_DB_MAX_ROWS) {
        BAD("%s: PDQ: %llu entries, more than the format allows", path,
            (unsigned long long) al->count);
    }
    if (al->setw != 0 && al->setw != 1 && al->setw != 2 && al->setw != 4) {
        BAD("%s: PDQ: set index width %u is not 0, 1, 2 or 4", path, al->setw);
    }
    if (al->count > 0 && db->nsets == 0) {
        BAD("%s: PDQ: entries but no list-sets", path);
    }
    if (al->setw == 0 && al->nextras > 0) {
        BAD("%s: PDQ: extras without a set index to flag them", path);
    }
    if (db->pdq_bits > 16 || (db->pdq_bits == 0) != (db->pdq_idw == 0)
        || (db->pdq_idw != 0 && db->pdq_idw != 3 && db->pdq_idw != 4)
        || (db->pdq_idw == 3 && al->count > ((uint64_t) 1 << 24)))
    {
        BAD("%s: PDQ: index of %u bits and %u-byte rows is not valid", path,
            db->pdq_bits, db->pdq_idw);
    }
    off = hg_le64(h + HDR_PDQ_HASHES_OFF);
    if (_hg_section_at(cursor, HG_DB_ROW_ALIGN, off, 1, al->count,
                       HG_PDQ_BYTES, file_size) != 0)
    {
        BAD("%s: PDQ: hash table misplaced or past the end of the file", path);
    }
    al->digests = h + off;
    db->pdq_head = al->digests;
    if (db->format >= 6) {          /* heads, then tails */
        db->pdq_tail = al->digests + al->count * HG_PDQ_HALF;
        db->pdq_step = HG_PDQ_HALF;
    } else {                        /* 32-byte rows */
        db->pdq_tail = al->digests + HG_PDQ_HALF;
        db->pdq_step = HG_PDQ_BYTES;
    }
    off = hg_le64(h + HDR_PDQ_SETIDX_OFF);
    if (_hg_section(cursor, off, 1, al->count, al->setw, file_size) != 0) {
        BAD("%s: PDQ: set index misplaced or past the end of the file", path);
    }
    al->setidx = h + off;
    off = hg_le64(h + HDR_PDQ_EXTRAS_OFF);
    if (_hg_section(cursor, off, 1, al->nextras, EXTRA_REC, file_size) != 0) {
        BAD("%s: PDQ: extras table misplaced or past the end of the file",
            path);
    }
    al->extras = h + off;
    off = hg_le64(h + HDR_PDQ_INDEX_OFF);
    db->pdq_index = NULL;
    if (db->pdq_bits == 0) {
        if (_hg_section(cursor, off, 1, 0, 1, file_size) != 0) {
            BAD("%s: PDQ: index misplaced", path);
        }
        return HG_OK;
    }
    nb = (uint64_t) 1 << db->pdq_bits;
    blen = hg_pdq_bounds_len(db->pdq_bits);
    ilen = hg_pdq_ids_len(al->count, db->pdq_idw);
    if (_hg_section(cursor, off, 1, HG_PDQ_CHUNKS, blen, file_size) != 0
        || _hg_section(cursor, *cursor, 1, HG_PDQ_CHUNKS - 1, ilen,
                       file_size) != 0)
    {
        BAD("%s: PDQ: index misplaced or past the end of the file", path);
    }
    db->pdq_index = h + off;
    for (c = 0; c < HG_PDQ_CHUNKS; c++) {
        const unsigned char  *bk = db->pdq_index + (uint64_t) c * blen;

        if (hg_le32(bk) != 0 || hg_le32(bk + nb * 4) != al->count) {
            BAD("%s: PDQ: index chunk %d does not span the hash table", path,
                c);
        }
    }
    return HG_OK;
}

/* Every check on the header and metadata; db->base/size are set. */
static hg_status_t
_hg_db_validate(hg_db_t *db, const char *path, hg_err_t *err)
{
    const unsigned char  *h = db->base;
    unsigned char         sum[32];
    uint64_t              file_size, meta_len, strings_len, cursor, v, tot;
    uint64_t              labels_off, labels_len, k;
    uint32_t              i, j, first, count, prev = 0, hs;
    int                   a;

    if (db->size < HG_DB_HEADER_SIZE) {
        BAD("%s: truncated: %zu bytes, shorter than the %u-byte header",
            path, db->size, HG_DB_HEADER_SIZE);
    }
    if (memcmp(h + HDR_MAGIC, HG_DB_MAGIC, HG_DB_MAGIC_LEN) != 0) {
        BAD("%s: not a hashgate database (bad magic)", path);
    }
    db->format = hg_le32(h + HDR_FORMAT);
    if (db->format > HG_DB_FORMAT) {
        BAD("%s: format version %u is newer than this build reads (%u to "
            "%u): upgrade hashgate, or compile the lists with this version",
            path, db->format, HG_DB_FORMAT_MIN, HG_DB_FORMAT);
    }
    if (db->format < HG_DB_FORMAT_MIN) {
        BAD("%s: format version %u is not supported (this build reads %u "
            "to %u)", path, db->format, HG_DB_FORMAT_MIN, HG_DB_FORMAT);
    }
    hs = db->hdr_size = hg_db_header_size(db->format);
    if (hg_le32(h + HDR_HEADER_SIZE) != hs) {
        BAD("%s: header size %u, expected %u", path,
            hg_le32(h + HDR_HEADER_SIZE), hs);
    }
    if (db->size < hs) {
        BAD("%s: truncated: %zu bytes, shorter than the %u-byte header",
            path, db->size, hs);
    }
    file_size = hg_le64(h + HDR_FILE_SIZE);
    if (file_size != db->size) {
        BAD("%s: file is %zu bytes but its header says %llu (truncated or "
            "extended)", path, db->size, (unsigned long long) file_size);
    }
    meta_len = hg_le64(h + HDR_META_LEN);
    if (meta_len > file_size - hs) {
        BAD("%s: metadata length %llu runs past the end of the file", path,
            (unsigned long long) meta_len);
    }
    if (hg_db_meta_sha256(h, h + hs, meta_len, sum) != 0) {
        return _hg_sha256_failed(path, err);
    }
    if (memcmp(sum, h + HDR_META_SHA256, 32) != 0) {
        BAD("%s: header checksum mismatch (header or metadata corrupted)", path);
    }

    /* The checksum only proves the writer meant it; now prove it is sane. */
    if (db->format == 1
        && (!hg_db_all_zero(h + 80, 48)
            || !hg_db_all_zero(h + HDR_RESERVED_AT,
                             HG_DB_HEADER_SIZE - HDR_RESERVED_AT)))
    {
        BAD("%s: reserved header bytes are not zero", path);
    }
    if (db->format >= 2) {
        db->scan_algs = hg_le32(h + HDR_SCAN_ALGS);
        db->flags = hg_le32(h + HDR_FLAGS);
        db->nrecords = hg_le64(h + HDR_NRECORDS);
        if (db->scan_algs & ~HG_ALGS_ALL) {
            BAD("%s: unknown algorithms 0x%x to compute", path, db->scan_algs);
        }
        if ((db->flags & ~HG_DB_FLAGS_KNOWN)
            || (db->format < 6 && (db->flags & HG_DB_FLAG_PDQ_INDEX)))
        {
            BAD("%s: unknown flags 0x%x", path, db->flags);
        }
        if (!hg_db_all_zero(h + HDR_RECORD_COUNT(0, 0), 8)
            || !hg_db_all_zero(h + HDR_RECORD_COUNT(1, 0), 8))
        {
            BAD("%s: reserved header bytes are not zero", path);
        }
    }
    /*
     * The signature block (HDR_SIG_AT) is not looked at here: it is
     * outside the checksums, and only a caller that requires a signature
     * (db_sign.c) or shows one reads it.
     */
    if ((db->format == 3
         && !hg_db_all_zero(h + HDR_PDQ_RESERVED_AT,
                            HDR_SIG_AT - HDR_PDQ_RESERVED_AT))
        || (db->format >= 4
            && (!hg_db_all_zero(h + HDR_PDQ_RESERVED_AT,
                                HDR_FILTER_BLOCKS(0) - HDR_PDQ_RESERVED_AT)
                || (db->format == 4
                    && !hg_db_all_zero(h + HDR_V4_RESERVED_AT,
                                       HDR_SIG_AT - HDR_V4_RESERVED_AT))
                || (db->format >= 5
                    && !hg_db_all_zero(h + HDR_V5_RESERVED_AT,
                                       HDR_SIG_AT - HDR_V5_RESERVED_AT)))))
    {
        BAD("%s: reserved header bytes are not zero", path);
    }
    db->created = hg_le64(h + HDR_CREATED);
    db->nlists = hg_le32(h + HDR_NLISTS);
    db->nsources = hg_le32(h + HDR_NSOURCES);
    db->nsets = hg_le32(h + HDR_NSETS);
    db->nmembers = hg_le32(h + HDR_NMEMBERS);
    strings_len = hg_le64(h + HDR_STRINGS_LEN);
    if (db->nlists > HG_MAX_LISTS) {
        BAD("%s: %u lists, more than the limit of %u", path, db->nlists,
            HG_MAX_LISTS);
    }

    /* metadata: lists | sources | sets | members | strings | [3] list PDQ */
    cursor = hs;
    if (_hg_section(&cursor, 0, 0, db->nlists, LIST_REC, file_size) != 0) {
        BAD("%s: list table runs past the end of the file", path);
    }
    db->lists = h + hs;
    if (_hg_section(&cursor, 0, 0, db->nsources, SOURCE_REC, file_size) != 0) {
        BAD("%s: source table runs past the end of the file", path);
    }
    db->sources = h + (cursor - (uint64_t) db->nsources * SOURCE_REC);
    if (_hg_section(&cursor, 0, 0, db->nsets, SET_REC, file_size) != 0) {
        BAD("%s: list-set table runs past the end of the file", path);
    }
    db->sets = h + (cursor - (uint64_t) db->nsets * SET_REC);
    if (_hg_section(&cursor, 0, 0, db->nmembers, MEMBER_REC, file_size) != 0) {
        BAD("%s: list-set members run past the end of the file", path);
    }
    db->members = h + (cursor - (uint64_t) db->nmembers * MEMBER_REC);
    if (_hg_section(&cursor, 0, 0, strings_len, 1, file_size) != 0) {
        BAD("%s: string table runs past the end of the file", path);
    }
    db->strings = (const char *) h + (cursor - strings_len);
    db->strings_len = strings_len;
    db->pdq_maxthr = HG_PDQ_THRESHOLD;
    if (db->format >= 3) {
        if (_hg_section(&cursor, 0, 0, db->nlists, LPDQ_REC, file_size) != 0) {
            BAD("%s: list PDQ table runs past the end of the file", path);
        }
        db->pdq_lists = h + (cursor - (uint64_t) db->nlists * LPDQ_REC);
        db->pdq_maxthr = 0;
    }
    if (hg_db_align(cursor) - hs != meta_len) {
        BAD("%s: metadata length %llu does not match its tables (%llu)", path,
            (unsigned long long) meta_len,
            (unsigned long long) (hg_db_align(cursor) - hs));
    }
    if (strings_len == 0 || strings_len > HG_DB_MAX_STRINGS
        || db->strings[strings_len - 1] != '\0')
    {
        BAD("%s: string table is empty, too large or not NUL-terminated", path);
    }

    tot = 0;
    for (i = 0; i < db->nlists; i++) {
        const unsigned char  *l = db->lists + (uint64_t) i * LIST_REC;
        uint32_t              name = hg_le32(l + LIST_NAME);
        uint32_t              ver = hg_le32(l + LIST_VERSION);

        if (name >= strings_len || ver >= strings_len) {
            BAD("%s: list %u: name or version outside the string table",
                path, i);
        }
        if (!hg_db_list_name_ok(db->strings + name)) {
            BAD("%s: list %u: bad list name", path, i);
        }
        if (strnlen(db->strings + ver, HG_DB_VERSION_MAX + 1) > HG_DB_VERSION_MAX) {
            BAD("%s: list %u: version longer than %d bytes", path, i,
                HG_DB_VERSION_MAX);
        }
        if (hg_le32(l + LIST_KIND) > HG_LIST_ALLOW) {
            BAD("%s: list %u: unknown kind %u", path, i, hg_le32(l + LIST_KIND));
        }
        if (hg_le32(l + LIST_FIRST_SOURCE) != tot
            || hg_le32(l + LIST_NSOURCES) > db->nsources - tot)
        {
            BAD("%s: list %u: source range outside the source table", path, i);
        }
        tot += hg_le32(l + LIST_NSOURCES);
        if (!hg_db_all_zero(l + 20, 4)
            || (db->format == 1 && !hg_db_all_zero(l + 40, 8)))
        {
            BAD("%s: list %u: reserved bytes are not zero", path, i);
        }
        if (db->format >= 3) {
            const unsigned char  *lp = db->pdq_lists + (uint64_t) i * LPDQ_REC;
            uint32_t              thr = hg_le32(lp + LPDQ_THRESHOLD);

            if (thr > HG_PDQ_THRESHOLD_MAX) {
                BAD("%s: list %u: PDQ threshold %u is past the maximum %d",
                    path, i, thr, HG_PDQ_THRESHOLD_MAX);
            }
            if (!hg_db_all_zero(lp + 12, 4)) {
                BAD("%s: list %u: reserved bytes are not zero", path, i);
            }
            if ((int) thr > db->pdq_maxthr) {
                db->pdq_maxthr = (int) thr;
            }
        }
    }
    if (tot != db->nsources) {
        BAD("%s: lists claim %llu sources, the table has %u", path,
            (unsigned long long) tot, db->nsources);
    }
    for (i = 0; i < db->nsources; i++) {
        if (hg_le32(db->sources + (uint64_t) i * SOURCE_REC + SOURCE_NAME)
            >= strings_len)
        {
            BAD("%s: source %u: name outside the string table", path, i);
        }
    }
    tot = 0;
    for (i = 0; i < db->nsets; i++) {
        first = hg_le32(db->sets + (uint64_t) i * SET_REC + SET_FIRST);
        count = hg_le32(db->sets + (uint64_t) i * SET_REC + SET_COUNT);
        if (first != tot || count == 0 || count > db->nmembers - tot) {
            BAD("%s: list-set %u: member range is empty or out of bounds",
                path, i);
        }
        for (j = 0; j < count; j++) {
            v = hg_le16(db->members + (uint64_t) (first + j) * MEMBER_REC);
            if (v >= db->nlists || (j > 0 && v <= prev)) {
                BAD("%s: list-set %u: member %u is not a list or not in "
                    "order", path, i, j);
            }
            prev = (uint32_t) v;
        }
        tot += count;
    }
    if (tot != db->nmembers) {
        BAD("%s: list-sets use %llu members, the table has %u", path,
            (unsigned long long) tot, db->nmembers);
    }

    /* data: per algorithm buckets | digests | set index | extras; labels */
    for (a = 0; a < HG_ALG_COUNT; a++) {
        const unsigned char  *ah = h + HDR_ALG(a);
        hg_db_alg_t          *al = &db->alg[a];
        const char           *an = hg_alg_name(a);
        uint64_t              off;

        al->dlen = hg_alg_len(a);
        al->count = hg_le64(ah + ALG_COUNT);
        al->bits = hg_le32(ah + ALG_BUCKET_BITS);
        al->setw = hg_le32(ah + ALG_SETW);
        al->nextras = hg_le64(ah + ALG_NEXTRAS);
        if (al->count > HG_DB_MAX_ROWS) {
            BAD("%s: %s: %llu rows, more than the format allows", path, an,
                (unsigned long long) al->count);
        }
        if (al->bits > HG_DB_MAX_BUCKET_BITS) {
            BAD("%s: %s: %u bucket bits, more than %u", path, an, al->bits,
                HG_DB_MAX_BUCKET_BITS);
        }
        if (al->setw != 0 && al->setw != 1 && al->setw != 2 && al->setw != 4) {
            BAD("%s: %s: set index width %u is not 0, 1, 2 or 4", path, an,
                al->setw);
        }
        if (al->count > 0 && db->nsets == 0) {
            BAD("%s: %s: digests but no list-sets", path, an);
        }
        if (al->setw == 0 && al->nextras > 0) {
            BAD("%s: %s: extras without a set index to flag them", path, an);
        }
        al->rows = al->count;
        if (db->format >= 5) {
            /* key-addressed table (db_place.c): count is its slots */
            al->rows = hg_le64(h + HDR_ALG_ROWS(a));
            al->home = hg_le64(h + HDR_ALG_HOME(a));
            al->base = hg_le64(h + HDR_ALG_BASE(a));
            if (al->rows > al->count || (al->rows == 0) != (al->count == 0)
                || al->bits != 0 || (al->count > 0 && al->home == 0)
                || (al->count > 0 && al->base >= al->home))
            {
                BAD("%s: %s: %llu digests in %llu slots, home range %llu "
                    "from %llu, %u bucket bits: not a keyed table", path, an,
                    (unsigned long long) al->rows,
                    (unsigned long long) al->count,
                    (unsigned long long) al->home,
                    (unsigned long long) al->base, al->bits);
            }
        }
        if (db->format == 1 && !hg_db_all_zero(ah + 56, 8)) {
            BAD("%s: %s: reserved bytes are not zero", path, an);
        }
        off = hg_le64(ah + ALG_BUCKETS_OFF);
        if (_hg_section(&cursor, off, 1, hg_db_buckets_len(al->bits), 1,
                        file_size) != 0)
        {
            BAD("%s: %s: bucket index misplaced or past the end of the file",
                path, an);
        }
        al->buckets = h + off;
        off = hg_le64(ah + ALG_DIGESTS_OFF);
        if (_hg_section_at(&cursor, HG_DB_ROW_ALIGN, off, 1, al->count,
                           al->dlen, file_size) != 0)
        {
            BAD("%s: %s: digest table misplaced or past the end of the file",
                path, an);
        }
        al->digests = h + off;
        off = hg_le64(ah + ALG_SETIDX_OFF);
        if (_hg_section(&cursor, off, 1, al->count, al->setw, file_size) != 0) {
            BAD("%s: %s: set index misplaced or past the end of the file",
                path, an);
        }
        al->setidx = h + off;
        off = hg_le64(ah + ALG_EXTRAS_OFF);
        if (_hg_section(&cursor, off, 1, al->nextras, EXTRA_REC, file_size) != 0) {
            BAD("%s: %s: extras table misplaced or past the end of the file",
                path, an);
        }
        al->extras = h + off;
        if (db->format >= 2) {
            al->nlinks = hg_le64(ah + ALG_NLINKS);
            off = hg_le64(h + HDR_LINKS_OFF(a));
            if (_hg_section(&cursor, off, 1, al->nlinks, LINK_REC,
                            file_size) != 0)
            {
                BAD("%s: %s: record links misplaced or past the end of the "
                    "file", path, an);
            }
            al->links = h + off;
        }
        if (hg_le32(al->buckets) != 0
            || hg_le32(al->buckets + ((uint64_t) 1 << al->bits) * 4) != al->count)
        {
            BAD("%s: %s: bucket index does not span the digest table", path, an);
        }
        if ((k = _hg_buckets_unsorted(al)) != 0) {
            BAD("%s: %s: bucket index decreases at bucket %llu", path, an,
                (unsigned long long) k);
        }
    }
    if (db->format >= 3 && _hg_pdq_validate(db, &cursor, file_size, path,
                                            err) != HG_OK)
    {
        return HG_EFORMAT;
    }
    if (db->format >= 2) {
        uint64_t  off = hg_le64(h + HDR_RECORDS_OFF);

        if (_hg_section(&cursor, off, 1, db->nrecords, RECORD_REC,
                        file_size) != 0)
        {
            BAD("%s: record table misplaced or past the end of the file",
                path);
        }
        db->records = h + off;
    }
    for (a = 0; db->format >= 4 && a < HG_ALG_COUNT; a++) {
        hg_db_alg_t  *al = &db->alg[a];
        uint64_t      off = hg_le64(h + HDR_FILTER_OFF(a));

        al->fblocks = hg_le64(h + HDR_FILTER_BLOCKS(a));
        /* any block count a table's rows can fill; none without rows */
        if ((al->count == 0) != (al->fblocks == 0)
            || al->fblocks > HG_DB_MAX_ROWS)
        {
            BAD("%s: %s: filter of %llu blocks for %llu digests", path,
                hg_alg_name(a), (unsigned long long) al->fblocks,
                (unsigned long long) al->count);
        }
        if (_hg_section_at(&cursor, HG_DB_ROW_ALIGN, off, 1, al->fblocks,
                           HG_DB_FILTER_BLOCK, file_size) != 0)
        {
            BAD("%s: %s: filter misplaced or past the end of the file",
                path, hg_alg_name(a));
        }
        al->filter = al->fblocks > 0 ? h + off : NULL;
    }
    labels_off = hg_le64(h + HDR_LABELS_OFF);
    labels_len = hg_le64(h + HDR_LABELS_LEN);
    if (_hg_section(&cursor, labels_off, 1, labels_len, 1, file_size) != 0) {
        BAD("%s: label table misplaced or past the end of the file", path);
    }
    if (labels_len > HG_DB_MAX_STRINGS
        || (labels_len > 0 && h[labels_off + labels_len - 1] != '\0'))
    {
        BAD("%s: label table too large or not NUL-terminated", path);
    }
    db->labels = (const char *) h + labels_off;
    db->labels_len = labels_len;
    if (hg_db_align(cursor) != file_size) {
        BAD("%s: %llu bytes after the last section", path,
            (unsigned long long) (file_size - cursor));
    }
    return HG_OK;
}

/*
 * Map and validate the database at path; see db.h. The descriptor is
 * closed before returning: the mapping alone keeps the file's pages, so a
 * rename over path later does not disturb this handle.
 */
hg_status_t
hg_db_open(const char *path, unsigned flags, hg_db_t **out, hg_err_t *err)
{
    hg_db_t      *db;
    struct stat   st;
    int           fd;
    void         *map;
    hg_status_t   st_rc;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return hg_err_sys(err, errno == ENOENT ? HG_ENOENT : HG_EIO,
                          "%s: cannot open", path);
    }
    if (fstat(fd, &st) != 0) {
        hg_err_sys(err, HG_EIO, "%s: cannot stat", path);
        close(fd);
        return HG_EIO;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return hg_err_set(err, HG_EFORMAT, "%s: not a regular file", path);
    }
    if (st.st_size < (off_t) HG_DB_HEADER_SIZE) {
        close(fd);
        return hg_err_set(err, HG_EFORMAT, "%s: truncated: %lld bytes, shorter "
                          "than the %u-byte header", path,
                          (long long) st.st_size, HG_DB_HEADER_SIZE);
    }
    map = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        return hg_err_sys(err, HG_EIO, "%s: cannot mmap", path);
    }
    /*
     * Lookups land on random pages; mapped in 2 MiB pieces, where the
     * kernel and filesystem can (see hg_dbb_write), each costs a cheaper
     * TLB miss: measured one random read of a 1.1 GB database 361 -> 290
     * ns. A hint: refused or ignored, nothing changes.
     */
    (void) madvise(map, (size_t) st.st_size, MADV_HUGEPAGE);

    db = calloc(1, sizeof(*db));
    if (db == NULL || (db->path = strdup(path)) == NULL) {
        free(db);
        munmap(map, (size_t) st.st_size);
        return hg_err_set(err, HG_ENOMEM, "%s: out of memory", path);
    }
    db->base = map;
    db->size = (size_t) st.st_size;
    atomic_init(&db->refs, 1);
    atomic_init(&db->lost, 0);
    /* before validation reads it: the file may be truncated right now */
    hg_db_guard_add(db);

    st_rc = _hg_db_validate(db, path, err);
    if (st_rc == HG_OK && (flags & HG_DB_OPEN_VERIFY)) {
        st_rc = hg_db_verify(db, err);
    }
    if (st_rc != HG_OK) {
        hg_db_close(db);
        return st_rc;
    }
    *out = db;
    return HG_OK;
}

hg_db_t *
hg_db_ref(hg_db_t *db)
{
    atomic_fetch_add_explicit(&db->refs, 1, memory_order_relaxed);
    return db;
}

void
hg_db_close(hg_db_t *db)
{
    if (db == NULL) {
        return;
    }
    /* release: our reads happen before the unmap another thread may do */
    if (atomic_fetch_sub_explicit(&db->refs, 1, memory_order_acq_rel) != 1) {
        return;
    }
    hg_db_guard_remove(db);
    munmap((void *) db->base, db->size);
    free(db->path);
    free(db);
}

/*
 * Format 4: every digest must pass its filter, or a lookup would call it
 * absent. The checksum cannot catch a writer that built a filter wrong.
 */
static hg_status_t
_hg_filters_verify(const hg_db_t *db, hg_err_t *err)
{
    const hg_db_alg_t    *al;
    const unsigned char  *d;
    uint64_t              r;
    int                   a;

    for (a = 0; a < HG_ALG_COUNT; a++) {
        al = &db->alg[a];
        for (r = 0; al->filter != NULL && r < al->count; r++) {
            d = al->digests + r * al->dlen;
            if (!hg_db_filter_has(al->filter + HG_DB_FILTER_BLOCK
                                  * hg_db_filter_block(d, al->fblocks),
                                  hg_db_filter_key(d)))
            {
                return hg_err_set(err, HG_EFORMAT, "%s: %s: digest %llu is "
                                  "missing from the filter", db->path,
                                  hg_alg_name((hg_alg_t) a),
                                  (unsigned long long) r);
            }
        }
    }
    return HG_OK;
}

/*
 * Format 5: a lookup walks forward from a digest's home slot and takes
 * the first slot holding it, so the slots must not decrease, every row
 * (a slot unlike the one before) must be at or after its home, and the
 * rows must be as many as the header says.
 */
static hg_status_t
_hg_slots_verify(const hg_db_t *db, hg_err_t *err)
{
    const hg_db_alg_t    *al;
    const unsigned char  *d;
    const char           *an;
    uint64_t              s, rows;
    int                   a, c;

    for (a = 0; db->format >= 5 && a < HG_ALG_COUNT; a++) {
        al = &db->alg[a];
        an = hg_alg_name((hg_alg_t) a);
        for (s = 0, rows = 0; s < al->count; s++) {
            d = al->digests + s * al->dlen;
            c = s > 0 ? memcmp(d - al->dlen, d, al->dlen) : -1;
            if (c > 0) {
                return hg_err_set(err, HG_EFORMAT, "%s: %s: slot %llu is "
                                  "out of order", db->path, an,
                                  (unsigned long long) s);
            }
            if (c == 0) {
                continue;
            }
            rows++;
            if (hg_db_home(hg_db_prefix64(d), al->home, al->base) > s) {
                return hg_err_set(err, HG_EFORMAT, "%s: %s: the digest in "
                                  "slot %llu is before its home", db->path,
                                  an, (unsigned long long) s);
            }
        }
        if (rows != al->rows) {
            return hg_err_set(err, HG_EFORMAT, "%s: %s: %llu digests, the "
                              "header says %llu", db->path, an,
                              (unsigned long long) rows,
                              (unsigned long long) al->rows);
        }
    }
    return HG_OK;
}

/*
 * Check both checksums: header+metadata and the whole file after the
 * header, then that the filters hold every digest. O(file size);
 * HG_EFORMAT names what failed.
 */
hg_status_t
hg_db_verify(const hg_db_t *db, hg_err_t *err)
{
    const unsigned char  *h = db->base;
    unsigned char         sum[32];
    hg_status_t           rc;

    if (hg_db_meta_sha256(h, h + db->hdr_size, hg_le64(h + HDR_META_LEN),
                          sum) != 0)
    {
        return _hg_sha256_failed(db->path, err);
    }
    if (memcmp(sum, h + HDR_META_SHA256, 32) != 0) {
        return hg_err_set(err, HG_EFORMAT, "%s: header checksum mismatch "
                          "(header or metadata corrupted)", db->path);
    }
    if (_hg_sha256_parts(NULL, 0, h + db->hdr_size,
                         db->size - db->hdr_size, sum) != 0)
    {
        return _hg_sha256_failed(db->path, err);
    }
    if (memcmp(sum, h + HDR_FILE_SHA256, 32) != 0) {
        return hg_err_set(err, HG_EFORMAT, "%s: file checksum mismatch "
                          "(contents corrupted)", db->path);
    }
    rc = _hg_slots_verify(db, err);
    if (rc != HG_OK) {
        return rc;
    }
    return _hg_filters_verify(db, err);
}

const char *
hg_db_path(const hg_db_t *db)
{
    return db->path;
}

uint64_t
hg_db_created(const hg_db_t *db)
{
    return db->created;
}

uint64_t
hg_db_file_size(const hg_db_t *db)
{
    return db->size;
}

uint32_t
hg_db_version(const hg_db_t *db)
{
    return db->format;
}
