/*
 * db_merge.c - turn a build's sorted records into the database's rows.
 *
 * Each distinct digest becomes one row; the lists it is on become one
 * interned list-set (the row stores the set's index), entries of one
 * digest on one list merge into one, removals are applied, and sizes and
 * labels become extras records in row order. The records are rewritten in
 * place as rows, so no second copy of the digests is made.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>

#include "db/db_build.h"
#include "db/db_format.h"

/* ---- list-sets ---- */

static uint64_t
_hg_set_hash(const uint16_t *m, size_t n)
{
    return hg_fnv(m, n * sizeof(*m));
}

static const uint16_t *
_hg_set_members(const hg_sets_t *s, uint32_t id, uint32_t *count)
{
    uint32_t  rec[2];

    memcpy(rec, s->sets.p + (size_t) id * 8, 8);
    *count = rec[1];
    return (const uint16_t *) (const void *) (s->members.p + (size_t) rec[0] * 2);
}

static int
_hg_set_rehash(hg_sets_t *s)
{
    size_t           cap = s->ht_cap ? s->ht_cap * 2 : 256, i, k;
    uint32_t        *ht = calloc(cap, sizeof(*ht)), n;
    const uint16_t  *m;

    if (ht == NULL) {
        return -1;
    }
    for (i = 0; i < s->sets.n; i++) {
        m = _hg_set_members(s, (uint32_t) i, &n);
        k = _hg_set_hash(m, n) & (cap - 1);
        while (ht[k] != 0) {
            k = (k + 1) & (cap - 1);
        }
        ht[k] = (uint32_t) i + 1;
    }
    free(s->ht);
    s->ht = ht;
    s->ht_cap = cap;
    return 0;
}

/* The id of the set of n sorted lists m, created on first use; -1: no memory. */
static int64_t
_hg_set_intern(hg_sets_t *s, const uint16_t *m, size_t n)
{
    const uint16_t  *o;
    uint32_t         on, rec[2];
    size_t           k;

    if (s->sets.n * 2 >= s->ht_cap && _hg_set_rehash(s) != 0) {
        return -1;
    }
    k = _hg_set_hash(m, n) & (s->ht_cap - 1);
    while (s->ht[k] != 0) {
        o = _hg_set_members(s, s->ht[k] - 1, &on);
        if (on == n && memcmp(o, m, n * sizeof(*m)) == 0) {
            return s->ht[k] - 1;
        }
        k = (k + 1) & (s->ht_cap - 1);
    }
    if (s->sets.n >= TAG_MAX_INDEX
        || hg_vec_grow(&s->members, n) != 0 || hg_vec_grow(&s->sets, 1) != 0)
    {
        return -1;
    }
    rec[0] = (uint32_t) s->members.n;
    rec[1] = (uint32_t) n;
    memcpy(s->members.p + s->members.n * 2, m, n * 2);
    s->members.n += n;
    memcpy(s->sets.p + s->sets.n * 8, rec, 8);
    s->sets.n++;
    s->ht[k] = (uint32_t) s->sets.n;
    return (int64_t) s->sets.n - 1;
}

/* ---- merging one algorithm's records ---- */

/* One (list, extras) pair of a digest's group. */
typedef struct {
    uint32_t        list;
    uint32_t        label;
    int             has_size;
    uint64_t        size;
} hg_item_t;

static int
_hg_item_cmp(const void *x, const void *y)
{
    const hg_item_t  *a = x, *b = y;

    return (a->list > b->list) - (a->list < b->list);
}

static int
_hg_u32_cmp(const void *x, const void *y)
{
    uint32_t  a, b;

    memcpy(&a, x, 4);
    memcpy(&b, y, 4);
    return (a > b) - (a < b);
}

/*
 * Sort the records of alg, then rewrite them in place as rows: each
 * distinct digest once, its tag replaced by (set << 1 | has-extras).
 * Several entries of one digest on one list merge to the one that matches
 * more: a size only if every entry gives that same size, else none (any
 * size: an entry without one, or two sizes that disagree, must not be
 * narrowed to one size); the label that sorts first (strcmp).
 */
hg_status_t
hg_dbb_merge_alg(hg_merge_t *mg, int a, hg_err_t *err)
{
    hg_dbb_t        *b = mg->b;
    hg_vec_t        *v = &b->add[a], *rv = &b->rem[a];
    size_t           dlen = hg_dbb_slot_len(a), rs = v->rs, r, e, w, ri, i, j;
    uint32_t         tag, val, nrem;
    hg_item_t       *it, *out;
    hg_out_extra_t  *ox;
    uint16_t        *m;
    int64_t          set;
    int              flag;

    hg_dbb_sort(v->p, v->n, rs, dlen);
    hg_dbb_sort(rv->p, rv->n, rv->rs, dlen);

    mg->extras_at[a] = mg->oextras.n;
    w = 0;
    ri = 0;
    for (r = 0; r < v->n; r = e) {
        const unsigned char  *d = v->p + r * rs;

        mg->items.n = 0;
        for (e = r; e < v->n && memcmp(v->p + e * rs, d, dlen) == 0; e++) {
            memcpy(&tag, v->p + e * rs + dlen, 4);
            it = hg_vec_push(&mg->items);
            if (it == NULL) {
                return hg_err_set(err, HG_ENOMEM, "out of memory");
            }
            memset(it, 0, sizeof(*it));
            if (tag & TAG_EXTRA) {
                const hg_dbb_extra_t  *x = (const hg_dbb_extra_t *) (const void *)
                    (b->extras.p + (size_t) (tag & ~TAG_EXTRA) * b->extras.rs);

                it->list = x->list;
                it->label = x->label;
                it->has_size = x->has_size;
                it->size = x->size;
            } else {
                it->list = tag;
            }
        }

        /* removals of this digest */
        while (ri < rv->n && memcmp(rv->p + ri * rv->rs, d, dlen) < 0) {
            ri++;
        }
        mg->removed.n = 0;
        for (; ri < rv->n && memcmp(rv->p + ri * rv->rs, d, dlen) == 0; ri++) {
            uint32_t  *l = hg_vec_push(&mg->removed);

            if (l == NULL) {
                return hg_err_set(err, HG_ENOMEM, "out of memory");
            }
            memcpy(l, rv->p + ri * rv->rs + dlen, 4);
        }
        nrem = (uint32_t) mg->removed.n;
        if (nrem > 1) {
            qsort(mg->removed.p, nrem, 4, _hg_u32_cmp);
        }

        /* merge per list, drop removed lists */
        it = (hg_item_t *) (void *) mg->items.p;
        qsort(it, mg->items.n, sizeof(*it), _hg_item_cmp);
        out = it;
        for (i = 0; i < mg->items.n; i = j) {
            hg_item_t  cur = it[i];

            for (j = i + 1; j < mg->items.n && it[j].list == cur.list; j++) {
                if (a == HG_DBB_PDQ) {
                    /* a PDQ quality: the highest given */
                    if (it[j].has_size
                        && (!cur.has_size || it[j].size > cur.size))
                    {
                        cur.has_size = 1;
                        cur.size = it[j].size;
                    }
                } else if (!it[j].has_size || it[j].size != cur.size) {
                    cur.has_size = 0;
                    cur.size = 0;
                }
                if (it[j].label != 0
                    && (cur.label == 0
                        || strcmp(hg_dbb_label(b, it[j].label - 1),
                                  hg_dbb_label(b, cur.label - 1)) < 0))
                {
                    cur.label = it[j].label;
                }
            }
            if (nrem > 0 && bsearch(&cur.list, mg->removed.p, nrem, 4,
                                    _hg_u32_cmp) != NULL)
            {
                continue;
            }
            *out++ = cur;
        }
        mg->items.n = (size_t) (out - it);
        if (mg->items.n == 0) {
            continue;
        }
        if (w >= HG_DB_MAX_ROWS) {
            return hg_err_set(err, HG_ELIMIT, "more than %llu %s digests",
                              (unsigned long long) HG_DB_MAX_ROWS,
                              a == HG_DBB_PDQ ? "PDQ" : hg_alg_name(a));
        }

        mg->members.n = 0;
        if (hg_vec_grow(&mg->members, mg->items.n) != 0) {
            return hg_err_set(err, HG_ENOMEM, "out of memory");
        }
        m = (uint16_t *) (void *) mg->members.p;
        flag = 0;
        for (i = 0; i < mg->items.n; i++) {
            m[i] = (uint16_t) it[i].list;
            if (a == HG_DBB_PDQ) {
                b->lists[it[i].list].pdq_entries++;
            } else {
                b->lists[it[i].list].entries++;
            }
            mg->pairs[b->lists[it[i].list].kind][a]++;
            if (!it[i].has_size && it[i].label == 0) {
                continue;
            }
            flag = 1;
            ox = hg_vec_push(&mg->oextras);
            if (ox == NULL) {
                return hg_err_set(err, HG_ENOMEM, "out of memory");
            }
            ox->row = (uint32_t) w;
            ox->list = it[i].list;
            ox->label = it[i].label;
            ox->has_size = it[i].has_size;
            ox->size = it[i].size;
        }
        set = _hg_set_intern(&mg->sets, m, mg->items.n);
        if (set < 0) {
            return hg_err_set(err, HG_ENOMEM, "out of memory");
        }
        val = (uint32_t) set << 1 | (flag ? SETIDX_EXTRAS : 0);
        if (val > mg->maxv[a]) {
            mg->maxv[a] = val;
        }
        if (w != r) {
            memcpy(v->p + w * rs, d, dlen);
        }
        memcpy(v->p + w * rs + dlen, &val, 4);
        w++;
    }
    mg->rows[a] = w;
    v->n = w;
    return HG_OK;
}

void
hg_dbb_merge_init(hg_merge_t *mg, hg_dbb_t *b)
{
    memset(mg, 0, sizeof(*mg));
    mg->b = b;
    mg->items.rs = sizeof(hg_item_t);
    mg->removed.rs = 4;
    mg->members.rs = 2;
    mg->oextras.rs = sizeof(hg_out_extra_t);
    mg->sets.sets.rs = 8;
    mg->sets.members.rs = 2;
}

void
hg_dbb_merge_free(hg_merge_t *mg)
{
    int  a;

    hg_vec_free(&mg->sets.sets);
    hg_vec_free(&mg->sets.members);
    free(mg->sets.ht);
    hg_vec_free(&mg->items);
    hg_vec_free(&mg->removed);
    hg_vec_free(&mg->members);
    hg_vec_free(&mg->oextras);
    hg_vec_free(&mg->records);
    for (a = 0; a < HG_ALG_COUNT; a++) {
        hg_vec_free(&mg->links[a]);
        free(mg->slot[a]);
        mg->slot[a] = NULL;
    }
}
