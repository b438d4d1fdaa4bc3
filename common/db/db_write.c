/*
 * db_write.c - write a built database to its file, atomically.
 *
 * The last stage of a build: the records are sorted and merged
 * (db_sort.c, db_merge.c), then the metadata is built in memory and the
 * data sections are streamed out behind it through a write buffer that
 * also feeds the whole-file SHA-256; the header, with both checksums, is
 * written last. The file goes to a temp name beside the target and is
 * renamed over it (hg_atomic_write_*), so a server never maps half a
 * database.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db/db_build.h"
#include "db/db_format.h"
#include "hashgate/db_sign.h"
#include "hashgate/atomic_write.h"
#include "hashgate/db_pdq.h"

/* Write buffer: large enough that write(2) costs vanish next to hashing. */
#define HG_DBB_WBUF         (1u << 20)

typedef struct {
    int             fd;
    unsigned char  *buf;
    size_t          len;
    uint64_t        off;        /* file offset of buf[0] */
    hg_hash_t      *sha;        /* over everything after the header */
    int             failed;     /* errno of the first failure, or 0 */
} hg_wr_t;

static int
_hg_wr_flush(hg_wr_t *w)
{
    size_t   done = 0;
    ssize_t  n;

    if (w->failed) {
        return -1;
    }
    if (hg_hash_update(w->sha, w->buf, w->len) != HG_OK) {
        w->failed = EIO;
        return -1;
    }
    while (done < w->len) {
        n = pwrite(w->fd, w->buf + done, w->len - done, (off_t) (w->off + done));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            w->failed = errno;
            return -1;
        }
        done += (size_t) n;
    }
    w->off += w->len;
    w->len = 0;
    return 0;
}

static int
_hg_wr(hg_wr_t *w, const void *p, size_t n)
{
    const unsigned char  *s = p;
    size_t                k;

    while (n > 0) {
        if (w->len == HG_DBB_WBUF && _hg_wr_flush(w) != 0) {
            return -1;
        }
        k = HG_DBB_WBUF - w->len < n ? HG_DBB_WBUF - w->len : n;
        memcpy(w->buf + w->len, s, k);
        w->len += k;
        s += k;
        n -= k;
    }
    return 0;
}

static int
_hg_wr_pad_to(hg_wr_t *w, uint64_t align)
{
    static const unsigned char  zero[HG_DB_ROW_ALIGN];
    uint64_t                    at = w->off + w->len;

    return _hg_wr(w, zero, hg_db_align_to(at, align) - at);
}

static int
_hg_wr_pad(hg_wr_t *w)
{
    return _hg_wr_pad_to(w, HG_DB_ALIGN);
}

static unsigned
_hg_bucket_bits(uint64_t rows)
{
    unsigned  bits = 0;

    while (bits < HG_DB_MAX_BUCKET_BITS
           && ((uint64_t) HG_DB_ROWS_PER_BUCKET << (bits + 1)) <= rows)
    {
        bits++;
    }
    return bits;
}

static unsigned
_hg_setw(uint32_t maxv)
{
    return maxv == 0 ? 0 : maxv <= 0xff ? 1 : maxv <= 0xffff ? 2 : 4;
}

/* Append s (NUL included) to a byte vector; its offset in *off. */
static int
_hg_str_add(hg_vec_t *v, const char *s, uint32_t *off)
{
    size_t  n = strlen(s) + 1;

    if (s[0] == '\0') {
        *off = 0;       /* the table starts with "" */
        return 0;
    }
    if (v->n + n > HG_DB_MAX_STRINGS || hg_vec_grow(v, n) != 0) {
        return -1;
    }
    *off = (uint32_t) v->n;
    memcpy(v->p + v->n, s, n);
    v->n += n;
    return 0;
}

/*
 * Build the metadata region (lists, sources, sets, members, strings) into
 * meta; fills the counts of the header.
 */
static hg_status_t
_hg_build_meta(hg_dbb_t *b, hg_merge_t *mg, uint64_t created, unsigned fmt,
               hg_vec_t *meta, unsigned char *hdr, hg_err_t *err)
{
    hg_vec_t        strs = { NULL, 0, 0, 1 };
    unsigned char  *p;
    uint64_t        len, at;
    uint32_t        i, first = 0, nsrc, off;
    size_t          s;
    hg_status_t     rc = HG_ENOMEM;

    if (hg_vec_grow(&strs, 1) != 0) {
        goto fail;
    }
    strs.p[strs.n++] = '\0';

    /* room: lists, sources, sets, members; the strings are appended last */
    len = hg_db_align((uint64_t) b->nlists * LIST_REC);
    len = hg_db_align(len + (uint64_t) b->nsrcs * SOURCE_REC);
    len = hg_db_align(len + (uint64_t) mg->sets.sets.n * SET_REC);
    len = len + (uint64_t) mg->sets.members.n * MEMBER_REC;
    if (hg_vec_grow(meta, len + 1) != 0) {
        goto fail;
    }
    memset(meta->p, 0, len);
    meta->n = len;

    at = hg_db_align((uint64_t) b->nlists * LIST_REC);
    for (i = 0; i < b->nlists; i++) {
        hg_dbb_list_t  *l = &b->lists[i];

        p = meta->p + (size_t) i * LIST_REC;
        if (_hg_str_add(&strs, l->name, &off) != 0) {
            goto fail;
        }
        hg_put32(p + LIST_NAME, off);
        if (_hg_str_add(&strs, l->version, &off) != 0) {
            goto fail;
        }
        hg_put32(p + LIST_VERSION, off);
        hg_put32(p + LIST_KIND, l->kind);
        nsrc = 0;
        for (s = 0; s < b->nsrcs; s++) {
            if (b->srcs[s].list != i) {
                continue;
            }
            unsigned char  *sp = meta->p + at + (size_t) (first + nsrc) * SOURCE_REC;

            if (_hg_str_add(&strs, b->srcs[s].name, &off) != 0) {
                goto fail;
            }
            hg_put32(sp + SOURCE_NAME, off);
            memcpy(sp + SOURCE_SHA256, b->srcs[s].sha256, 32);
            nsrc++;
        }
        hg_put32(p + LIST_FIRST_SOURCE, first);
        hg_put32(p + LIST_NSOURCES, nsrc);
        first += nsrc;
        hg_put64(p + LIST_ENTRIES, l->entries);
        hg_put64(p + LIST_COMPILED, l->loaded && !l->touched ? l->compiled
                                                             : created);
        hg_put64(p + LIST_RECORDS, l->records);
    }
    at = hg_db_align(at + (uint64_t) b->nsrcs * SOURCE_REC);
    for (s = 0; s < mg->sets.sets.n; s++) {
        uint32_t  rec[2];

        memcpy(rec, mg->sets.sets.p + s * 8, 8);
        hg_put32(meta->p + at + s * SET_REC + SET_FIRST, rec[0]);
        hg_put32(meta->p + at + s * SET_REC + SET_COUNT, rec[1]);
    }
    at = hg_db_align(at + (uint64_t) mg->sets.sets.n * SET_REC);
    for (s = 0; s < mg->sets.members.n; s++) {
        uint16_t  mm;

        memcpy(&mm, mg->sets.members.p + s * 2, 2);
        hg_put16(meta->p + at + s * MEMBER_REC, mm);
    }

    /* strings, then pad the region */
    len = hg_db_align(meta->n);
    if (hg_vec_grow(meta, len - meta->n + hg_db_align(strs.n)) != 0) {
        goto fail;
    }
    memset(meta->p + meta->n, 0, len - meta->n + hg_db_align(strs.n));
    memcpy(meta->p + len, strs.p, strs.n);
    meta->n = len + hg_db_align(strs.n);

    /* format 3: per list its PDQ entries and threshold */
    if (fmt < 3) {
        goto counts;
    }
    if (hg_vec_grow(meta, (size_t) b->nlists * LPDQ_REC) != 0) {
        goto fail;
    }
    for (i = 0; i < b->nlists; i++) {
        p = meta->p + meta->n + (size_t) i * LPDQ_REC;
        memset(p, 0, LPDQ_REC);
        hg_put64(p + LPDQ_ENTRIES, b->lists[i].pdq_entries);
        hg_put32(p + LPDQ_THRESHOLD, (uint32_t) (b->lists[i].pdq_threshold < 0
                                                 ? HG_PDQ_THRESHOLD
                                                 : b->lists[i].pdq_threshold));
    }
    meta->n += (size_t) b->nlists * LPDQ_REC;
counts:

    hg_put32(hdr + HDR_NLISTS, b->nlists);
    hg_put32(hdr + HDR_NSOURCES, (uint32_t) b->nsrcs);
    hg_put32(hdr + HDR_NSETS, (uint32_t) mg->sets.sets.n);
    hg_put32(hdr + HDR_NMEMBERS, (uint32_t) mg->sets.members.n);
    hg_put64(hdr + HDR_META_LEN, meta->n);
    hg_put64(hdr + HDR_STRINGS_LEN, strs.n);
    rc = HG_OK;
fail:
    hg_vec_free(&strs);
    if (rc != HG_OK) {
        return hg_err_set(err, rc, "out of memory building the metadata");
    }
    return HG_OK;
}

/*
 * The extras records of slot a, in row order; labels get their offsets in
 * order of first use. A PDQ slot's "size" is the entry's quality.
 */
static int
_hg_write_extras(hg_wr_t *w, hg_dbb_t *b, hg_merge_t *mg, int a,
                 uint32_t *lab_map, uint64_t *labels_len, hg_vec_t *lab_order)
{
    unsigned char    xr[EXTRA_REC];
    uint64_t         x;
    unsigned         has_size = a == HG_DBB_PDQ ? EXTRA_HAS_QUALITY
                                                : EXTRA_HAS_SIZE;

    for (x = mg->extras_at[a]; x < mg->extras_at[a + 1]; x++) {
        const hg_out_extra_t  *o = (const hg_out_extra_t *) (const void *)
                                   (mg->oextras.p + x * mg->oextras.rs);

        memset(xr, 0, sizeof(xr));
        /* format 5: the row's slot (db_place.c) */
        hg_put32(xr + EXTRA_ROW, a < HG_ALG_COUNT && mg->slot[a] != NULL
                                 && o->row < mg->rows[a]
                                 ? mg->slot[a][o->row] : o->row);
        hg_put16(xr + EXTRA_LIST, (uint16_t) o->list);
        hg_put16(xr + EXTRA_FLAGS, (o->has_size ? has_size : 0)
                                   | (o->label ? EXTRA_HAS_LABEL : 0));
        hg_put64(xr + EXTRA_SIZE, o->size);
        if (o->label) {
            uint32_t  id = o->label - 1;

            if (lab_map[id] == UINT32_MAX) {
                const char  *s = hg_dbb_label(b, id);
                uint32_t    *po;

                if (*labels_len + strlen(s) + 1 > HG_DB_MAX_STRINGS) {
                    w->failed = EFBIG;
                    return -1;
                }
                lab_map[id] = (uint32_t) *labels_len;
                *labels_len += strlen(s) + 1;
                po = hg_vec_push(lab_order);
                if (po == NULL) {
                    w->failed = ENOMEM;
                    return -1;
                }
                *po = id;
            }
            hg_put32(xr + EXTRA_LABEL, lab_map[id]);
        }
        if (_hg_wr(w, xr, sizeof(xr)) != 0) {
            return -1;
        }
    }
    return 0;
}

/*
 * Format 5: the digest table and set index by slot. A free slot repeats
 * the row before it and has set index value 0 (never read: a lookup stops
 * at the first slot holding its digest, the row).
 */
static int
_hg_write_slots(hg_wr_t *w, const hg_vec_t *v, const hg_merge_t *mg, int a,
                size_t dlen, unsigned setw, int setidx)
{
    static const unsigned char  zero[4];
    const unsigned char        *row, *item, *fill = zero;
    unsigned char               le[4];
    uint64_t                    rows = mg->rows[a], r, s = 0, pos = 0;
    size_t                      len = setidx ? setw : dlen;
    uint32_t                    val;

    for (r = 0; r < rows; r++, s++) {
        row = v->p + r * v->rs;
        pos = hg_dbb_slot(mg, a, row, r, pos);
        item = row;
        if (setidx) {
            memcpy(&val, row + dlen, 4);
            hg_put32(le, val);
            item = le;
        }
        for (; s < pos; s++) {
            if (_hg_wr(w, fill, len) != 0) {
                return -1;
            }
        }
        if (_hg_wr(w, item, len) != 0) {
            return -1;
        }
        if (!setidx) {
            fill = row;
        }
    }
    return 0;
}

/* Write one algorithm's buckets, digests and set index; fill its header. */
static int
_hg_write_alg(hg_wr_t *w, hg_dbb_t *b, hg_merge_t *mg, int a,
              unsigned char *hdr, uint32_t *lab_map, uint64_t *labels_len,
              hg_vec_t *lab_order)
{
    hg_vec_t        *v = &b->add[a];
    unsigned char   *ah = hdr + HDR_ALG(a), le[4];
    size_t           dlen = hg_alg_len(a), rs = v->rs;
    uint64_t         rows = mg->rows[a], r, nb, k;
    unsigned         bits = _hg_bucket_bits(rows), setw = _hg_setw(mg->maxv[a]);
    uint32_t        *bk, val;
    int              keyed = mg->keyed && rows > 0;

    if (keyed) {
        /* format 5: no bucket index is read; one bucket spans the slots */
        bits = 0;
        hg_put64(hdr + HDR_ALG_ROWS(a), rows);
        hg_put64(hdr + HDR_ALG_HOME(a), mg->home[a]);
        hg_put64(hdr + HDR_ALG_BASE(a), mg->base[a]);
    }
    hg_put64(ah + ALG_COUNT, keyed ? mg->slots[a] : rows);
    hg_put32(ah + ALG_BUCKET_BITS, bits);
    hg_put32(ah + ALG_SETW, setw);

    /* buckets: bk[k] = first row of bucket k, bk[nb] = rows */
    nb = (uint64_t) 1 << bits;
    bk = calloc(nb + 1, sizeof(*bk));
    if (bk == NULL) {
        w->failed = ENOMEM;
        return -1;
    }
    for (r = 0; !keyed && r < rows; r++) {
        k = bits ? hg_db_prefix32(v->p + r * rs) >> (32 - bits) : 0;
        bk[k + 1]++;
    }
    if (keyed) {
        bk[1] = (uint32_t) mg->slots[a];    /* one bucket: every slot */
    }
    for (k = 0; k < nb; k++) {
        bk[k + 1] += bk[k];
    }
    if (_hg_wr_pad(w) != 0) {
        free(bk);
        return -1;
    }
    hg_put64(ah + ALG_BUCKETS_OFF, w->off + w->len);
    for (k = 0; k <= nb; k++) {
        hg_put32(le, bk[k]);
        if (_hg_wr(w, le, 4) != 0) {
            free(bk);
            return -1;
        }
    }
    free(bk);

    if (_hg_wr_pad_to(w, HG_DB_ROW_ALIGN) != 0) {
        return -1;
    }
    hg_put64(ah + ALG_DIGESTS_OFF, w->off + w->len);
    if (keyed && _hg_write_slots(w, v, mg, a, dlen, setw, 0) != 0) {
        return -1;
    }
    for (r = 0; !keyed && r < rows; r++) {
        if (_hg_wr(w, v->p + r * rs, dlen) != 0) {
            return -1;
        }
    }

    if (_hg_wr_pad(w) != 0) {
        return -1;
    }
    hg_put64(ah + ALG_SETIDX_OFF, w->off + w->len);
    if (keyed && setw > 0 && _hg_write_slots(w, v, mg, a, dlen, setw, 1) != 0) {
        return -1;
    }
    for (r = 0; !keyed && setw > 0 && r < rows; r++) {
        memcpy(&val, v->p + r * rs + dlen, 4);
        hg_put32(le, val);
        if (_hg_wr(w, le, setw) != 0) {
            return -1;
        }
    }

    if (_hg_wr_pad(w) != 0) {
        return -1;
    }
    hg_put64(ah + ALG_EXTRAS_OFF, w->off + w->len);
    hg_put64(ah + ALG_NEXTRAS, mg->extras_at[a + 1] - mg->extras_at[a]);
    if (_hg_write_extras(w, b, mg, a, lab_map, labels_len, lab_order) != 0) {
        return -1;
    }

    /* links from rows to their records (already in disk form) */
    if (_hg_wr_pad(w) != 0) {
        return -1;
    }
    hg_put64(hdr + HDR_LINKS_OFF(a), w->off + w->len);
    hg_put64(ah + ALG_NLINKS, mg->links[a].n);
    if (mg->links[a].n > 0
        && _hg_wr(w, mg->links[a].p, mg->links[a].n * LINK_REC) != 0)
    {
        return -1;
    }
    return 0;
}

/*
 * Format 4: algorithm a's absent-digest filter (db_format.h), after the
 * record table. Its rows are sorted, so the blocks fill in order: one
 * block is built at a time.
 */
static int
_hg_write_filter(hg_wr_t *w, hg_dbb_t *b, hg_merge_t *mg, int a,
                 unsigned char *hdr)
{
    const hg_vec_t  *v = &b->add[a];
    uint64_t         rows = mg->rows[a], nb = hg_db_filter_blocks_for(rows);
    uint64_t         r = 0, k, blk;
    unsigned char    block[HG_DB_FILTER_BLOCK];

    if (_hg_wr_pad_to(w, HG_DB_ROW_ALIGN) != 0) {
        return -1;
    }
    hg_put64(hdr + HDR_FILTER_BLOCKS(a), nb);
    hg_put64(hdr + HDR_FILTER_OFF(a), w->off + w->len);
    for (k = 0; k < nb; k++) {
        memset(block, 0, sizeof(block));
        for (; r < rows; r++) {
            const unsigned char  *d = v->p + r * v->rs;

            blk = hg_db_filter_block(d, nb);
            if (blk != k) {
                break;
            }
            hg_db_filter_set(block, hg_db_filter_key(d));
        }
        if (_hg_wr(w, block, sizeof(block)) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Index bucket bits: about one row a bucket, at most the chunk's 16. */
static unsigned
_hg_pdq_bits(uint64_t rows)
{
    unsigned  bits = 1;

    while (bits < 16 && ((uint64_t) 2 << bits) <= rows) {
        bits++;
    }
    return bits;
}

/*
 * The multi-index (docs/db-format.md, PDQ): per chunk the bucket bounds
 * of its leading bits over rows sorted by that chunk; then, for chunks 1
 * to 15, the rows in that order (chunk 0's order is the table's own).
 * Built one chunk at a time by a counting sort, so memory is 4 bytes a
 * row plus the bounds.
 */
static int
_hg_write_pdq_index(hg_wr_t *w, const hg_vec_t *v, uint64_t rows,
                    unsigned bits, unsigned idw)
{
    uint64_t        nb = (uint64_t) 1 << bits, k, r;
    uint32_t       *bk = malloc((nb + 1) * sizeof(*bk));
    uint32_t       *pos = malloc(nb * sizeof(*pos));
    uint32_t       *ids = malloc((rows ? rows : 1) * sizeof(*ids));
    unsigned char   le[4];
    int             c, rc = -1;

    if (bk == NULL || pos == NULL || ids == NULL) {
        w->failed = ENOMEM;
        goto done;
    }
    for (c = 0; c < HG_PDQ_CHUNKS; c++) {
        memset(bk, 0, (nb + 1) * sizeof(*bk));
        for (r = 0; r < rows; r++) {
            bk[(hg_pdq_chunk(v->p + r * v->rs, c) >> (16 - bits)) + 1]++;
        }
        for (k = 0; k < nb; k++) {
            bk[k + 1] += bk[k];
        }
        for (k = 0; k <= nb; k++) {
            hg_put32(le, bk[k]);
            if (_hg_wr(w, le, 4) != 0) {
                goto done;
            }
        }
        if (_hg_wr_pad(w) != 0) {
            goto done;
        }
    }
    for (c = 1; c < HG_PDQ_CHUNKS; c++) {
        memset(pos, 0, nb * sizeof(*pos));
        for (r = 0; r < rows; r++) {
            pos[hg_pdq_chunk(v->p + r * v->rs, c) >> (16 - bits)]++;
        }
        for (k = 0, r = 0; k < nb; k++) {
            uint32_t  n = pos[k];

            pos[k] = (uint32_t) r;
            r += n;
        }
        for (r = 0; r < rows; r++) {
            ids[pos[hg_pdq_chunk(v->p + r * v->rs, c) >> (16 - bits)]++]
                = (uint32_t) r;
        }
        for (r = 0; r < rows; r++) {
            hg_put32(le, ids[r]);
            if (_hg_wr(w, le, idw) != 0) {
                goto done;
            }
        }
        if (_hg_wr_pad(w) != 0) {
            goto done;
        }
    }
    rc = 0;
done:
    free(bk);
    free(pos);
    free(ids);
    return rc;
}

/* The PDQ section: hashes, set index, extras, index; its header fields. */
static int
_hg_write_pdq(hg_wr_t *w, hg_dbb_t *b, hg_merge_t *mg, unsigned char *hdr,
              unsigned fmt, uint32_t *lab_map, uint64_t *labels_len,
              hg_vec_t *lab_order)
{
    hg_vec_t   *v = &b->add[HG_DBB_PDQ];
    uint64_t    rows = mg->rows[HG_DBB_PDQ], r, at, part;
    unsigned    setw = _hg_setw(mg->maxv[HG_DBB_PDQ]), bits = 0, idw = 0;
    uint32_t    val;
    unsigned char le[4];

    if (rows > 0 && rows >= b->pdq_index_min) {
        bits = _hg_pdq_bits(rows);
        idw = rows <= ((uint64_t) 1 << 24) ? 3 : 4;
    }
    hg_put64(hdr + HDR_PDQ_COUNT, rows);
    hg_put32(hdr + HDR_PDQ_SETW, setw);
    hg_put32(hdr + HDR_PDQ_INDEX_BITS, bits);
    hg_put32(hdr + HDR_PDQ_IDW, idw);

    if (_hg_wr_pad_to(w, HG_DB_ROW_ALIGN) != 0) {
        return -1;
    }
    hg_put64(hdr + HDR_PDQ_HASHES_OFF, w->off + w->len);
    /* format 6: every head, then every tail (hg_pdq_head); before: rows */
    part = fmt >= 6 ? HG_PDQ_HALF : HG_PDQ_BYTES;
    for (at = 0; at < HG_PDQ_BYTES; at += part) {
        for (r = 0; r < rows; r++) {
            if (_hg_wr(w, v->p + r * v->rs + at, part) != 0) {
                return -1;
            }
        }
    }
    if (_hg_wr_pad(w) != 0) {
        return -1;
    }
    hg_put64(hdr + HDR_PDQ_SETIDX_OFF, w->off + w->len);
    for (r = 0; setw > 0 && r < rows; r++) {
        memcpy(&val, v->p + r * v->rs + HG_PDQ_BYTES, 4);
        hg_put32(le, val);
        if (_hg_wr(w, le, setw) != 0) {
            return -1;
        }
    }
    if (_hg_wr_pad(w) != 0) {
        return -1;
    }
    hg_put64(hdr + HDR_PDQ_EXTRAS_OFF, w->off + w->len);
    hg_put64(hdr + HDR_PDQ_NEXTRAS, mg->extras_at[HG_DBB_PDQ + 1]
                                    - mg->extras_at[HG_DBB_PDQ]);
    if (_hg_write_extras(w, b, mg, HG_DBB_PDQ, lab_map, labels_len,
                         lab_order) != 0)
    {
        return -1;
    }
    if (_hg_wr_pad(w) != 0) {
        return -1;
    }
    hg_put64(hdr + HDR_PDQ_INDEX_OFF, w->off + w->len);
    if (bits > 0) {
        return _hg_write_pdq_index(w, v, rows, bits, idw);
    }
    return 0;
}

/*
 * Sort, merge, and write to a temp file beside path, fsync it, rename it
 * over path and fsync the directory (hg_atomic_write_*). On any failure
 * before the rename the temp file is removed and path is untouched; if
 * only the directory fsync after it fails, the new file is in place and
 * HG_EIO says "fsync of its directory". The builder is consumed: after
 * this call (successful or not) only hg_dbb_free may follow.
 */
hg_status_t
hg_dbb_write(hg_dbb_t *b, const char *path, uint64_t created, hg_err_t *err)
{
    hg_merge_t          mg;
    hg_atomic_write_t   aw = { -1, NULL, NULL, 0 };
    hg_vec_t        meta = { NULL, 0, 0, 1 }, lab_order = { NULL, 0, 0, 4 };
    unsigned        fmt = b->format ? b->format : HG_DB_FORMAT;
    uint32_t        hs = hg_db_header_size(fmt);
    hg_wr_t         w = { -1, NULL, 0, hs, NULL, 0 };
    unsigned char   hdr[HG_DB_HEADER_MAX], sum[32];
    uint32_t       *lab_map = NULL;
    uint64_t        labels_len = 0, x;
    hg_digests_t    dg;
    hg_status_t     rc;
    hg_err_t        why;
    size_t          i;
    int             a;

    if (b->written) {
        return hg_err_set(err, HG_EINVAL, "%s: builder already written", path);
    }
    b->written = 1;
    if (created == 0) {
        created = (uint64_t) time(NULL);
    }
    hg_dbb_merge_init(&mg, b);
    memset(hdr, 0, sizeof(hdr));

    for (i = 0; i < b->nlists; i++) {
        b->lists[i].entries = 0;
        b->lists[i].inrec = 0;
        b->lists[i].records = 0;
        b->lists[i].pdq_entries = 0;
    }
    for (a = 0; a < HG_DBB_SLOTS; a++) {
        rc = hg_dbb_merge_alg(&mg, a, err);
        if (rc != HG_OK) {
            goto out;
        }
        hg_vec_free(&b->rem[a]);
    }
    mg.extras_at[HG_DBB_SLOTS] = mg.oextras.n;
    hg_vec_free(&b->extras);
    rc = hg_dbb_records(&mg, err);
    if (rc != HG_OK) {
        goto out;
    }
    if (fmt < 2 || fmt > HG_DB_FORMAT || (fmt < 3 && mg.rows[HG_DBB_PDQ] > 0)) {
        rc = hg_err_set(err, HG_EINVAL, "%s: format %u cannot hold this "
                        "database", path, fmt);
        goto out;
    }

    if (fmt >= 5 && (rc = hg_dbb_place(&mg, err)) != HG_OK) {
        goto out;
    }
    rc = _hg_build_meta(b, &mg, created, fmt, &meta, hdr, err);
    if (rc != HG_OK) {
        goto out;
    }

    rc = HG_ENOMEM;
    lab_map = malloc((b->lab_off.n ? b->lab_off.n : 1) * sizeof(*lab_map));
    w.buf = malloc(HG_DBB_WBUF);
    w.sha = hg_hash_new();
    if (lab_map == NULL || w.buf == NULL || w.sha == NULL) {
        hg_err_set(err, rc, "%s: out of memory", path);
        goto out;
    }
    memset(lab_map, 0xff, (b->lab_off.n ? b->lab_off.n : 1) * sizeof(*lab_map));
    if (hg_hash_check(HG_ALG_BIT(HG_ALG_SHA256), &why) != HG_OK) {
        rc = hg_err_set(err, HG_ECRYPTO, "%s: %s", path, why.msg);
        goto out;
    }
    if (hg_hash_init(w.sha, HG_ALG_BIT(HG_ALG_SHA256)) != HG_OK) {
        rc = hg_err_set(err, HG_ECRYPTO, "%s: SHA-256 unavailable", path);
        goto out;
    }
    /*
     * A database is read by server workers under other users: 0644.
     * Its written pages sit in the page cache in small pieces; dropped
     * once on disk (DONTNEED), the servers' first reads bring them back in
     * the 2 MiB pieces they ask for (MADV_HUGEPAGE in hg_db_open), where
     * the kernel and filesystem can: a lookup then costs one TLB entry per
     * 2 MiB instead of per 4 KiB. Only a hint; nothing depends on it.
     */
    rc = hg_atomic_write_begin(&aw, path, 0644, HG_ATOMIC_WRITE_DONTNEED,
                               err);
    if (rc != HG_OK) {
        goto out;
    }
    w.fd = aw.fd;

    if (_hg_wr(&w, meta.p, meta.n) != 0) {
        goto io;
    }
    for (a = 0; a < HG_ALG_COUNT; a++) {
        if (_hg_write_alg(&w, b, &mg, a, hdr, lab_map, &labels_len,
                          &lab_order) != 0)
        {
            goto io;
        }
    }
    if (fmt >= 3
        && _hg_write_pdq(&w, b, &mg, hdr, fmt, lab_map, &labels_len,
                         &lab_order) != 0)
    {
        goto io;
    }
    if (_hg_wr_pad(&w) != 0) {
        goto io;
    }
    hg_put64(hdr + HDR_RECORDS_OFF, w.off + w.len);
    hg_put64(hdr + HDR_NRECORDS, mg.records.n);
    if (mg.records.n > 0
        && _hg_wr(&w, mg.records.p, mg.records.n * RECORD_REC) != 0)
    {
        goto io;
    }
    for (a = 0; fmt >= 4 && a < HG_ALG_COUNT; a++) {
        if (_hg_write_filter(&w, b, &mg, a, hdr) != 0) {
            goto io;
        }
    }
    if (_hg_wr_pad(&w) != 0) {
        goto io;
    }
    hg_put64(hdr + HDR_LABELS_OFF, w.off + w.len);
    hg_put64(hdr + HDR_LABELS_LEN, labels_len);
    for (x = 0; x < lab_order.n; x++) {
        uint32_t     id;
        const char  *s;

        memcpy(&id, lab_order.p + x * 4, 4);
        s = hg_dbb_label(b, id);
        if (_hg_wr(&w, s, strlen(s) + 1) != 0) {
            goto io;
        }
    }
    if (_hg_wr_pad(&w) != 0 || _hg_wr_flush(&w) != 0) {
        goto io;
    }
    if (hg_hash_final(w.sha, &dg) != HG_OK) {
        rc = hg_err_set(err, HG_ECRYPTO, "%s: SHA-256 failed", path);
        goto out;
    }

    memcpy(hdr + HDR_MAGIC, HG_DB_MAGIC, HG_DB_MAGIC_LEN);
    hg_put32(hdr + HDR_FORMAT, fmt);
    hg_put32(hdr + HDR_HEADER_SIZE, hs);
    hg_put64(hdr + HDR_CREATED, created);
    hg_put32(hdr + HDR_SCAN_ALGS, b->algs);
    hg_put32(hdr + HDR_FLAGS, (b->all_digests ? HG_DB_FLAG_ALL_DIGESTS : 0)
                              | (fmt >= 6 && b->pdq_index_min != UINT64_MAX
                                 ? HG_DB_FLAG_PDQ_INDEX : 0));
    for (i = 0; i < 2; i++) {
        unsigned  m;

        for (m = 1; m < 8; m++) {
            hg_put64(hdr + HDR_RECORD_COUNT(i, m), mg.counts[i][m]);
        }
    }
    hg_put64(hdr + HDR_FILE_SIZE, w.off);
    memcpy(hdr + HDR_FILE_SHA256, dg.d[HG_ALG_SHA256], 32);
    if (hg_db_meta_sha256(hdr, meta.p, meta.n, sum) != 0) {
        rc = hg_err_set(err, HG_ECRYPTO, "%s: SHA-256 failed", path);
        goto out;
    }
    memcpy(hdr + HDR_META_SHA256, sum, 32);
    /* last: the signature covers the header, checksums and all */
    if (b->signer != NULL
        && (rc = hg_db_sign_header(hdr, hs, b->signer, err)) != HG_OK)
    {
        goto out;
    }
    if (pwrite(w.fd, hdr, hs, 0) != (ssize_t) hs) {
        w.failed = errno ? errno : EIO;
        goto io;
    }
    rc = hg_atomic_write_commit(&aw, err);
    goto out;

io:
    errno = w.failed ? w.failed : EIO;
    rc = hg_err_sys(err, errno == ENOMEM ? HG_ENOMEM : HG_EIO,
                    "%s: writing %s", path, aw.tmp);
out:
    hg_atomic_write_abort(&aw);
    free(w.buf);
    hg_hash_free(w.sha);
    free(lab_map);
    hg_vec_free(&lab_order);
    hg_vec_free(&meta);
    hg_dbb_merge_free(&mg);
    return rc;
}
