/*
 * scan.c - hash one object's bytes and match them against a database.
 *
 * A scan context belongs to one thread (a milter connection, an nginx
 * worker, the CLI) and is reused for every object it sees: the hashing
 * contexts, the head buffer and the lookup scratch space are allocated
 * once, so scanning an object allocates nothing of ours (OpenSSL 3.0's
 * EVP_DigestInit_ex2 still mallocs once per digest per object; feeding
 * bytes never allocates). The context holds a reference on its database,
 * so a reload that swaps the server's current handle never unmaps a
 * database under a running scan.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>

#include "hashgate/db_pdq.h"
#include "hashgate/scan.h"

struct hg_scan_s {
    hg_db_t        *db;             /* our reference, or NULL */
    unsigned        algs;           /* computed per object */
    hg_hash_t      *hash;
    int             open;           /* between begin and end */
    hg_status_t     error;          /* first update failure of this object */
    size_t          head_len;
    unsigned char   head[HG_SCAN_HEAD_MAX];
    /*
     * One lookup hit per list of the database (a digest is on each list at
     * most once; at most HG_MAX_LISTS, 24 bytes each). Every hit must be
     * seen: one whose size does not fit is dropped, and a list that decides
     * (a block list with a fitting entry, an allow-list) may come after
     * any number of those.
     */
    hg_db_hit_t    *hits;
    size_t          nhits;
};

hg_scan_t *
hg_scan_new(hg_db_t *db, unsigned extra_algs)
{
    hg_scan_t  *s;

    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    s->hash = hg_hash_new();
    if (s->hash == NULL) {
        free(s);
        return NULL;
    }
    s->algs = extra_algs & HG_ALGS_ALL;
    if (db != NULL) {
        s->nhits = hg_db_nlists(db);
        s->hits = malloc((s->nhits ? s->nhits : 1) * sizeof(*s->hits));
        if (s->hits == NULL) {
            hg_hash_free(s->hash);
            free(s);
            return NULL;
        }
        s->db = hg_db_ref(db);
        s->algs |= hg_db_algs(db);
    }
    return s;
}

void
hg_scan_free(hg_scan_t *s)
{
    if (s == NULL) {
        return;
    }
    hg_hash_free(s->hash);
    hg_db_close(s->db);
    free(s->hits);
    free(s);
}

hg_db_t *
hg_scan_db(const hg_scan_t *s)
{
    return s->db;
}

unsigned
hg_scan_algs(const hg_scan_t *s)
{
    return s->algs;
}

/* Start an object; an unfinished one is discarded. */
void
hg_scan_set_parallel(hg_scan_t *s, hg_hash_par_t *par)
{
    hg_hash_set_parallel(s->hash, par);
}

hg_status_t
hg_scan_begin(hg_scan_t *s)
{
    hg_status_t  st;

    s->head_len = 0;
    s->error = HG_OK;
    s->open = 0;
    st = hg_hash_init(s->hash, s->algs);
    if (st != HG_OK) {
        return st;
    }
    s->open = 1;
    return HG_OK;
}

/*
 * Add the object's next bytes (read, never kept beyond the head). After a
 * failure the object is spoiled: later updates return the same status and
 * so does hg_scan_end. HG_EINVAL without hg_scan_begin.
 */
hg_status_t
hg_scan_update(hg_scan_t *s, const void *buf, size_t len)
{
    size_t       n;
    hg_status_t  st;

    if (!s->open) {
        return HG_EINVAL;
    }
    if (s->error != HG_OK) {
        return s->error;
    }
    if (len == 0) {
        return HG_OK;
    }
    if (s->head_len < HG_SCAN_HEAD_MAX) {
        n = HG_SCAN_HEAD_MAX - s->head_len;
        if (n > len) {
            n = len;
        }
        memcpy(s->head + s->head_len, buf, n);
        s->head_len += n;
    }
    st = hg_hash_update(s->hash, buf, len);
    if (st != HG_OK) {
        s->error = st;
    }
    return st;
}

/* The last block-list match in a full res, to make room for an allow-list. */
static hg_match_t *
_scan_block_slot(hg_scan_result_t *res)
{
    size_t  i;

    for (i = res->nmatches; i > 0; i--) {
        if (res->matches[i - 1].kind != HG_LIST_ALLOW) {
            return &res->matches[i - 1];
        }
    }
    return NULL;
}

/* Add the matches of one digest to res, keeping entries whose size fits. */
static void
_scan_match(hg_scan_t *s, hg_alg_t alg, hg_scan_result_t *res)
{
    size_t         total, n, i;
    hg_db_hit_t   *h;
    hg_db_list_t   info;
    hg_match_t    *m;

    total = hg_db_lookup(s->db, alg, res->digests.d[alg], s->hits,
                         s->nhits);
    if (total == 0) {
        return;
    }
    /* only a corrupt file puts a digest on more lists than there are */
    n = total < s->nhits ? total : s->nhits;

    for (i = 0; i < n; i++) {
        h = &s->hits[i];
        if (h->has_size && h->size != res->digests.size) {
            continue;
        }
        res->nmatches_total++;
        if (hg_db_list(s->db, h->list, &info) != HG_OK) {
            continue;
        }
        if (res->nmatches < HG_SCAN_MAX_MATCHES) {
            m = &res->matches[res->nmatches++];
        } else if (info.kind == HG_LIST_ALLOW
                   && (m = _scan_block_slot(res)) != NULL) {
            /* an allow-list decides the object: never crowd it out */
        } else {
            continue;
        }
        m->list = h->list;
        m->list_name = info.name;
        m->list_version = info.version;
        m->kind = info.kind;
        m->alg = alg;
        m->label = h->label;
        /* only on a match, so the extra lookup costs nothing per object */
        if (hg_db_listed(s->db, alg, res->digests.d[alg], h->list,
                         &m->listed) != 0)
        {
            m->listed.algs &= ~res->digests.algs;
        }
    }
}

/*
 * Look up every digest in res->digests (filled) and add the matches. The
 * one lookup of hg_scan_end and hg_scan_match: digests hashed here and
 * digests the inspection helper hashed are matched alike.
 */
static hg_status_t
_scan_lookup(hg_scan_t *s, hg_scan_result_t *res)
{
    int  a;

    /* zero bytes are nobody's file: a list carrying the empty file's
     * digest would otherwise stop every empty field and part */
    if (s->db == NULL || res->digests.size == 0) {
        return HG_OK;
    }
    /* each lookup waits on memory: let the waits of all digests overlap */
    for (a = 0; a < HG_ALG_COUNT; a++) {
        if (res->digests.algs & HG_ALG_BIT(a)) {
            hg_db_prefetch(s->db, (hg_alg_t) a, res->digests.d[a]);
        }
    }
    for (a = 0; a < HG_ALG_COUNT; a++) {
        if (res->digests.algs & HG_ALG_BIT(a)) {
            _scan_match(s, (hg_alg_t) a, res);
        }
    }
    /* the file was truncated under us (db_guard.c): what we read may be
     * zeros, so "no match" means nothing */
    if (hg_db_lost(s->db)) {
        res->nmatches = 0;
        res->nmatches_total = 0;
        return HG_EIO;
    }
    return HG_OK;
}

/*
 * Finish the object: res gets the digests, size, the first head_len bytes
 * (valid until the next hg_scan_begin) and every list a digest is on,
 * one match per (list, algorithm). Returns the first error of the object,
 * or HG_EINVAL without hg_scan_begin; res is then only zeroed.
 */
hg_status_t
hg_scan_end(hg_scan_t *s, hg_scan_result_t *res)
{
    hg_status_t  st;

    memset(res, 0, sizeof(*res));
    if (!s->open) {
        return HG_EINVAL;
    }
    s->open = 0;
    if (s->error != HG_OK) {
        return s->error;
    }
    st = hg_hash_final(s->hash, &res->digests);
    if (st != HG_OK) {
        return st;
    }
    res->head = s->head;
    res->head_len = s->head_len;
    return _scan_lookup(s, res);
}

/*
 * Match digests computed elsewhere (an inner file of an archive, hashed
 * by the inspection helper): res gets a copy of *d and the matches of the
 * digests d->algs holds, head NULL. An object being fed through
 * hg_scan_update is not disturbed. HG_EIO when the database was lost.
 */
hg_status_t
hg_scan_match(hg_scan_t *s, const hg_digests_t *d, hg_scan_result_t *res)
{
    memset(res, 0, sizeof(*res));
    res->digests = *d;
    res->digests.algs &= HG_ALGS_ALL;
    return _scan_lookup(s, res);
}

hg_status_t
hg_scan_match_pdq(hg_scan_t *s, const hg_pdq_result_t *r, int dihedral,
                  hg_scan_result_t *res)
{
    hg_db_pdq_hit_t  hits[HG_SCAN_MAX_MATCHES];
    hg_db_list_t     info;
    hg_match_t      *m;
    size_t           total, n, i;

    if (s->db == NULL || hg_db_pdq_count(s->db) == 0) {
        return HG_OK;
    }
    total = hg_db_pdq_match(s->db, r, dihedral, hits, HG_SCAN_MAX_MATCHES);
    n = total < HG_SCAN_MAX_MATCHES ? total : HG_SCAN_MAX_MATCHES;
    for (i = 0; i < n; i++) {
        res->nmatches_total++;
        if (hg_db_list(s->db, hits[i].list, &info) != HG_OK) {
            continue;
        }
        if (res->nmatches < HG_SCAN_MAX_MATCHES) {
            m = &res->matches[res->nmatches++];
        } else if (info.kind == HG_LIST_ALLOW
                   && (m = _scan_block_slot(res)) != NULL) {
            /* an allow-list decides the object: never crowd it out */
        } else {
            continue;
        }
        memset(m, 0, sizeof(*m));
        m->list = hits[i].list;
        m->list_name = info.name;
        m->list_version = info.version;
        m->kind = info.kind;
        m->label = hits[i].label;
        m->pdq = 1;
        m->pdq_distance = hits[i].distance;
        m->pdq_via = hits[i].via;
        m->pdq_listed = hits[i].listed;
        m->pdq_listed_quality = hits[i].quality;
    }
    if (total > n) {
        res->nmatches_total += total - n;
    }
    if (hg_db_lost(s->db)) {
        res->nmatches = 0;
        res->nmatches_total = 0;
        return HG_EIO;
    }
    return HG_OK;
}

hg_status_t
hg_scan_buffer(hg_scan_t *s, const void *buf, size_t len,
               hg_scan_result_t *res)
{
    hg_status_t  st;

    st = hg_scan_begin(s);
    if (st == HG_OK) {
        st = hg_scan_update(s, buf, len);
    }
    if (st != HG_OK) {
        memset(res, 0, sizeof(*res));
        s->open = 0;
        return st;
    }
    return hg_scan_end(s, res);
}
