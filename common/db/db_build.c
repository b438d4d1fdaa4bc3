/*
 * db_build.c - collect list entries in memory for a database build.
 *
 * The first stage of a build (see db_build.h for all of them): lists,
 * their sources and their entries go into compact arrays and interned
 * labels, as given, with nothing sorted or merged; hg_dbb_write
 * (db_write.c) does the rest.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>

#include "db/db_build.h"
#include "db/db_format.h"
#include "hashgate/db_pdq.h"

/* ---- small containers ---- */

int
hg_vec_grow(hg_vec_t *v, size_t more)
{
    size_t          cap;
    unsigned char  *p;

    if (v->n + more <= v->cap) {
        return 0;
    }
    cap = v->cap ? v->cap : 1024;
    while (cap < v->n + more) {
        if (cap > SIZE_MAX / 2 / v->rs) {
            return -1;
        }
        cap *= 2;
    }
    p = realloc(v->p, cap * v->rs);
    if (p == NULL) {
        return -1;
    }
    v->p = p;
    v->cap = cap;
    return 0;
}

void *
hg_vec_push(hg_vec_t *v)
{
    if (hg_vec_grow(v, 1) != 0) {
        return NULL;
    }
    return v->p + v->rs * v->n++;
}

void
hg_vec_free(hg_vec_t *v)
{
    free(v->p);
    v->p = NULL;
    v->n = v->cap = 0;
}

/* ---- labels ---- */

static int
_hg_label_rehash(hg_dbb_t *b)
{
    size_t     cap = b->lab_ht_cap ? b->lab_ht_cap * 2 : 1024, i, k;
    uint32_t  *ht = calloc(cap, sizeof(*ht));
    const char *s;

    if (ht == NULL) {
        return -1;
    }
    for (i = 0; i < b->lab_off.n; i++) {
        s = hg_dbb_label(b, (uint32_t) i);
        k = hg_fnv(s, strlen(s)) & (cap - 1);
        while (ht[k] != 0) {
            k = (k + 1) & (cap - 1);
        }
        ht[k] = (uint32_t) i + 1;
    }
    free(b->lab_ht);
    b->lab_ht = ht;
    b->lab_ht_cap = cap;
    return 0;
}

/* The id + 1 of label s, interning it on first use; 0 when out of memory. */
static uint32_t
_hg_label_intern(hg_dbb_t *b, const char *s)
{
    size_t     len = strlen(s), k, cap;
    uint64_t   off;
    char      *a;

    if (b->lab_off.n * 2 >= b->lab_ht_cap && _hg_label_rehash(b) != 0) {
        return 0;
    }
    k = hg_fnv(s, len) & (b->lab_ht_cap - 1);
    while (b->lab_ht[k] != 0) {
        if (strcmp(hg_dbb_label(b, b->lab_ht[k] - 1), s) == 0) {
            return b->lab_ht[k];
        }
        k = (k + 1) & (b->lab_ht_cap - 1);
    }
    if (b->lab_off.n >= TAG_MAX_INDEX) {
        return 0;
    }
    if (b->arena_len + len + 1 > b->arena_cap) {
        cap = b->arena_cap ? b->arena_cap : 4096;
        while (cap < b->arena_len + len + 1) {
            cap *= 2;
        }
        a = realloc(b->arena, cap);
        if (a == NULL) {
            return 0;
        }
        b->arena = a;
        b->arena_cap = cap;
    }
    off = b->arena_len;
    memcpy(b->arena + off, s, len + 1);
    b->arena_len += len + 1;
    if (hg_vec_grow(&b->lab_off, 1) != 0) {
        return 0;
    }
    memcpy(b->lab_off.p + b->lab_off.n * 8, &off, 8);
    b->lab_off.n++;
    b->lab_ht[k] = (uint32_t) b->lab_off.n;
    return (uint32_t) b->lab_off.n;
}

/* ---- building ---- */

hg_dbb_t *
hg_dbb_new(void)
{
    hg_dbb_t  *b = calloc(1, sizeof(*b));
    int        a;

    if (b == NULL) {
        return NULL;
    }
    b->pdq_index_min = UINT64_MAX;      /* no PDQ index unless asked */
    for (a = 0; a < HG_DBB_SLOTS; a++) {
        b->add[a].rs = hg_dbb_slot_len(a) + 4;
        b->rem[a].rs = hg_dbb_slot_len(a) + 4;
    }
    for (a = 0; a < HG_ALG_COUNT; a++) {
        b->recs[a].rs = hg_alg_len(a) + 12;
    }
    b->extras.rs = sizeof(hg_dbb_extra_t);
    b->lab_off.rs = 8;
    return b;
}

void
hg_dbb_free(hg_dbb_t *b)
{
    uint32_t  i;
    size_t    s;
    int       a;

    if (b == NULL) {
        return;
    }
    for (i = 0; i < b->nlists; i++) {
        free(b->lists[i].name);
        free(b->lists[i].version);
    }
    free(b->lists);
    for (s = 0; s < b->nsrcs; s++) {
        free(b->srcs[s].name);
    }
    free(b->srcs);
    for (a = 0; a < HG_DBB_SLOTS; a++) {
        hg_vec_free(&b->add[a]);
        hg_vec_free(&b->rem[a]);
    }
    for (a = 0; a < HG_ALG_COUNT; a++) {
        hg_vec_free(&b->recs[a]);
    }
    hg_vec_free(&b->extras);
    hg_vec_free(&b->lab_off);
    free(b->arena);
    free(b->lab_ht);
    free(b);
}

/* Find or create; loaded lists are not marked touched. */
static hg_status_t
_hg_dbb_list(hg_dbb_t *b, const char *name, const char *version,
             unsigned kind, int loading, uint32_t *id, hg_err_t *err)
{
    hg_dbb_list_t  *l;
    uint32_t        i;

    if (version == NULL) {
        version = "";
    }
    if (!hg_db_list_name_ok(name)) {
        return hg_err_set(err, HG_EINVAL, "bad list name \"%.80s\": "
                          HG_DB_LIST_NAME_RULE, name, HG_LIST_NAME_MAX);
    }
    if (strlen(version) > HG_DB_VERSION_MAX) {
        return hg_err_set(err, HG_EINVAL, "list %s: version longer than %d "
                          "bytes", name, HG_DB_VERSION_MAX);
    }
    if (kind != HG_LIST_BLOCK && kind != HG_LIST_ALLOW) {
        return hg_err_set(err, HG_EINVAL, "list %s: unknown kind %u", name, kind);
    }
    for (i = 0; i < b->nlists; i++) {
        l = &b->lists[i];
        if (strcmp(l->name, name) != 0) {
            continue;
        }
        if (!loading) {
            /* an update names a loaded list: it is recompiled, and a new
             * version given with it replaces the old one */
            if (l->loaded && !l->touched && version[0] != '\0'
                && strcmp(l->version, version) != 0)
            {
                char  *v = strdup(version);

                if (v == NULL) {
                    return hg_err_set(err, HG_ENOMEM, "out of memory");
                }
                free(l->version);
                l->version = v;
            }
            l->touched = 1;
        }
        *id = i;
        return HG_OK;
    }
    if (b->nlists >= HG_MAX_LISTS) {
        return hg_err_set(err, HG_ELIMIT, "list %s: more than %d lists", name,
                          HG_MAX_LISTS);
    }
    l = realloc(b->lists, (b->nlists + 1) * sizeof(*l));
    if (l == NULL) {
        return hg_err_set(err, HG_ENOMEM, "out of memory");
    }
    b->lists = l;
    l = &b->lists[b->nlists];
    memset(l, 0, sizeof(*l));
    l->name = strdup(name);
    l->version = strdup(version);
    if (l->name == NULL || l->version == NULL) {
        free(l->name);
        free(l->version);
        return hg_err_set(err, HG_ENOMEM, "out of memory");
    }
    l->kind = kind;
    l->pdq_threshold = -1;
    l->loaded = loading;
    l->touched = !loading;
    *id = b->nlists++;
    return HG_OK;
}

/*
 * Version and kind come from the first call for a name. For a list loaded
 * from a base database, a later call marks it recompiled (its compile time
 * becomes this build's) and a non-empty version replaces the loaded one.
 */
hg_status_t
hg_dbb_list(hg_dbb_t *b, const char *name, const char *version, unsigned kind,
            uint32_t *id, hg_err_t *err)
{
    return _hg_dbb_list(b, name, version, kind, 0, id, err);
}

/* A source already recorded for the list (same name, same SHA-256) is kept once. */
hg_status_t
hg_dbb_source(hg_dbb_t *b, uint32_t list, const char *name,
              const unsigned char sha256[32])
{
    hg_dbb_src_t  *s;
    size_t         i;

    if (list >= b->nlists || name == NULL) {
        return HG_EINVAL;
    }
    for (i = 0; i < b->nsrcs; i++) {
        if (b->srcs[i].list == list && strcmp(b->srcs[i].name, name) == 0
            && memcmp(b->srcs[i].sha256, sha256, 32) == 0)
        {
            return HG_OK;
        }
    }
    s = realloc(b->srcs, (b->nsrcs + 1) * sizeof(*s));
    if (s == NULL) {
        return HG_ENOMEM;
    }
    b->srcs = s;
    s = &b->srcs[b->nsrcs];
    s->name = strdup(name);
    if (s->name == NULL) {
        return HG_ENOMEM;
    }
    s->list = list;
    memcpy(s->sha256, sha256, 32);
    b->nsrcs++;
    return HG_OK;
}

/*
 * Additions are kept as given; e->remove records a removal of that digest
 * from that list (whatever its size or label), applied at write time after
 * every addition of the build, so its position among the adds is
 * irrelevant. HG_EINVAL for an unknown list or algorithm or after a write.
 */
hg_status_t
hg_dbb_add(hg_dbb_t *b, uint32_t list, const hg_entry_t *e)
{
    hg_dbb_extra_t  *x;
    unsigned char   *r;
    uint32_t         tag = list, label = 0;
    size_t           dlen;
    int              slot = e->pdq ? HG_DBB_PDQ : (int) e->alg;
    int              has_size = e->pdq ? e->quality >= 0 : e->has_size;
    uint64_t         size = e->pdq ? (uint64_t) e->quality : e->size;

    if (b->written || list >= b->nlists
        || (!e->pdq && (unsigned) e->alg >= HG_ALG_COUNT)
        || (e->pdq && e->quality > 100))
    {
        return HG_EINVAL;
    }
    dlen = hg_dbb_slot_len(slot);
    if (e->remove) {
        r = hg_vec_push(&b->rem[slot]);
        if (r == NULL) {
            return HG_ENOMEM;
        }
        memcpy(r, e->digest, dlen);
        memcpy(r + dlen, &list, 4);
        return HG_OK;
    }
    if (e->label != NULL && e->label[0] != '\0') {
        label = _hg_label_intern(b, e->label);
        if (label == 0) {
            return HG_ENOMEM;
        }
    }
    if (has_size || label != 0) {
        if (b->extras.n > TAG_MAX_INDEX) {
            return HG_ELIMIT;
        }
        x = hg_vec_push(&b->extras);
        if (x == NULL) {
            return HG_ENOMEM;
        }
        x->list = list;
        x->label = label;
        x->has_size = has_size != 0;
        x->size = has_size ? size : 0;
        tag = TAG_EXTRA | (uint32_t) (b->extras.n - 1);
    }
    r = hg_vec_push(&b->add[slot]);
    if (r == NULL) {
        return HG_ENOMEM;
    }
    memcpy(r, e->digest, dlen);
    memcpy(r + dlen, &tag, 4);
    if (e->record != 0 && !e->pdq) {
        return hg_dbb_rec_add(b, list, e);
    }
    return HG_OK;
}

typedef struct {
    hg_dbb_t   *b;
    uint32_t   *map;        /* database list index -> builder id */
} hg_load_ctx_t;

static hg_status_t
_hg_load_entry(void *ctx, uint32_t list, const hg_entry_t *e)
{
    hg_load_ctx_t  *lc = ctx;

    return hg_dbb_add(lc->b, lc->map[list], e);
}

/*
 * The stored records of db, each under a new id: their entries were added
 * by hg_db_foreach already; only the grouping is added here. A record
 * naming a list or row outside the file (only a corrupt file has one) is
 * skipped.
 */
static hg_status_t
_hg_load_records(hg_dbb_t *b, const hg_db_t *db, const uint32_t *map)
{
    const unsigned char  *r;
    uint64_t              i, id;
    uint32_t              list, row;
    unsigned              mask;
    hg_status_t           st;
    int                   a;

    hg_dbb_record_scope(b);
    for (i = 0; i < db->nrecords; i++) {
        r = db->records + i * RECORD_REC;
        list = hg_le16(r + RECORD_LIST);
        mask = hg_le16(r + RECORD_ALGS);
        if (list >= db->nlists) {
            continue;
        }
        id = b->rec_base + i + 1;
        for (a = 0; a < HG_ALG_COUNT; a++) {
            row = hg_le32(r + RECORD_ROW(a));
            if (!(mask & HG_ALG_BIT(a)) || row >= db->alg[a].count) {
                continue;
            }
            st = hg_dbb_rec_push(b, (hg_alg_t) a,
                                 db->alg[a].digests + (uint64_t) row * db->alg[a].dlen,
                                 map[list], id);
            if (st != HG_OK) {
                return st;
            }
        }
    }
    b->rec_max = b->rec_base + db->nrecords;
    hg_dbb_record_scope(b);
    return HG_OK;
}

/*
 * Lists keep their database order, version, kind and compile time; a list
 * of the same name already in the builder is merged into; records keep
 * their grouping.
 */
hg_status_t
hg_dbb_load(hg_dbb_t *b, const hg_db_t *db, hg_err_t *err)
{
    hg_load_ctx_t   lc;
    hg_db_list_t    l;
    hg_db_source_t  s;
    hg_status_t     rc;
    size_t          i, j, n = hg_db_nlists(db);

    lc.b = b;
    lc.map = calloc(n ? n : 1, sizeof(*lc.map));
    if (lc.map == NULL) {
        return hg_err_set(err, HG_ENOMEM, "out of memory");
    }
    for (i = 0; i < n; i++) {
        hg_db_list(db, i, &l);
        rc = _hg_dbb_list(b, l.name, l.version, l.kind, 1, &lc.map[i], err);
        if (rc != HG_OK) {
            goto done;
        }
        if (b->lists[lc.map[i]].loaded && !b->lists[lc.map[i]].touched) {
            b->lists[lc.map[i]].compiled = l.compiled;
        }
        /* the base's threshold, unless this build set one already */
        if (db->format >= 3 && b->lists[lc.map[i]].pdq_threshold < 0) {
            b->lists[lc.map[i]].pdq_threshold = hg_db_pdq_threshold(db, (uint32_t) i);
        }
        for (j = 0; j < l.nsources; j++) {
            hg_db_list_source(db, i, j, &s);
            rc = hg_dbb_source(b, lc.map[i], s.name, s.sha256);
            if (rc != HG_OK) {
                hg_err_set(err, rc, "%s: %s", hg_db_path(db), hg_status_str(rc));
                goto done;
            }
        }
    }
    rc = hg_db_foreach(db, _hg_load_entry, &lc);
    if (rc != HG_OK) {
        hg_err_set(err, rc, "%s: loading entries: %s", hg_db_path(db),
                   hg_status_str(rc));
        goto done;
    }
    rc = _hg_load_records(b, db, lc.map);
    if (rc != HG_OK) {
        hg_err_set(err, rc, "%s: loading records: %s", hg_db_path(db),
                   hg_status_str(rc));
    }
    if (db->flags & HG_DB_FLAG_ALL_DIGESTS) {
        b->all_digests = 1;     /* an update keeps what the base chose */
    }
    if ((db->flags & HG_DB_FLAG_PDQ_INDEX) || hg_db_pdq_indexed(db)) {
        b->pdq_index_min = HG_PDQ_INDEX_MIN;    /* so does its PDQ index */
    }
done:
    free(lc.map);
    return rc;
}

hg_status_t
hg_dbb_pdq_threshold(hg_dbb_t *b, uint32_t list, int bits, hg_err_t *err)
{
    if (list >= b->nlists) {
        return hg_err_set(err, HG_EINVAL, "no list %u", list);
    }
    if (bits < 0 || bits > HG_PDQ_THRESHOLD_MAX) {
        return hg_err_set(err, HG_EINVAL, "list %s: PDQ threshold %d is not "
                          "0 to %d bits", b->lists[list].name, bits,
                          HG_PDQ_THRESHOLD_MAX);
    }
    b->lists[list].pdq_threshold = bits;
    return HG_OK;
}

void
hg_dbb_set_format(hg_dbb_t *b, unsigned format)
{
    b->format = format;
}

void
hg_dbb_set_pdq_index_min(hg_dbb_t *b, uint64_t min)
{
    b->pdq_index_min = min;
}

void
hg_dbb_set_pdq_index(hg_dbb_t *b, int on)
{
    b->pdq_index_min = on ? HG_PDQ_INDEX_MIN : UINT64_MAX;
}

uint64_t
hg_dbb_pending(const hg_dbb_t *b)
{
    uint64_t  n = 0;
    int       a;

    for (a = 0; a < HG_DBB_SLOTS; a++) {
        n += b->add[a].n + b->rem[a].n;
    }
    return n;
}
