/*
 * db_build.c - collect list entries in memory and write a compiled
 * database file atomically.
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
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db/db_format.h"
#include "hashgate/db.h"

/* Below this many records a bucket of the radix sort is insertion-sorted. */
#define HG_SORT_SMALL       24

/* Write buffer: large enough that write(2) costs vanish next to hashing. */
#define HG_DBB_WBUF         (1u << 20)

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
    hg_vec_t        add[HG_ALG_COUNT];  /* digest + uint32 tag */
    hg_vec_t        rem[HG_ALG_COUNT];  /* digest + uint32 list */
    hg_vec_t        extras;             /* hg_dbb_extra_t */

    /* interned labels: id -> offset in arena; hash table of id + 1 */
    char           *arena;
    size_t          arena_len;
    size_t          arena_cap;
    hg_vec_t        lab_off;            /* uint64_t per id */
    uint32_t       *lab_ht;
    size_t          lab_ht_cap;

    int             written;            /* hg_dbb_write consumed the records */
};

/* ---- small containers ---- */

static int
_hg_vec_grow(hg_vec_t *v, size_t more)
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

static void *
_hg_vec_push(hg_vec_t *v)
{
    if (_hg_vec_grow(v, 1) != 0) {
        return NULL;
    }
    return v->p + v->rs * v->n++;
}

static void
_hg_vec_free(hg_vec_t *v)
{
    free(v->p);
    v->p = NULL;
    v->n = v->cap = 0;
}

static uint64_t
_hg_fnv(const void *p, size_t n)
{
    const unsigned char  *s = p;
    uint64_t              h = 1469598103934665603ULL;

    while (n--) {
        h = (h ^ *s++) * 1099511628211ULL;
    }
    return h;
}

/* ---- labels ---- */

static const char *
_hg_label_str(const hg_dbb_t *b, uint32_t id)
{
    uint64_t  off;

    memcpy(&off, b->lab_off.p + (size_t) id * 8, 8);
    return b->arena + off;
}

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
        s = _hg_label_str(b, (uint32_t) i);
        k = _hg_fnv(s, strlen(s)) & (cap - 1);
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
    k = _hg_fnv(s, len) & (b->lab_ht_cap - 1);
    while (b->lab_ht[k] != 0) {
        if (strcmp(_hg_label_str(b, b->lab_ht[k] - 1), s) == 0) {
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
    if (_hg_vec_grow(&b->lab_off, 1) != 0) {
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
    for (a = 0; a < HG_ALG_COUNT; a++) {
        b->add[a].rs = hg_alg_len(a) + 4;
        b->rem[a].rs = hg_alg_len(a) + 4;
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
    for (a = 0; a < HG_ALG_COUNT; a++) {
        _hg_vec_free(&b->add[a]);
        _hg_vec_free(&b->rem[a]);
    }
    _hg_vec_free(&b->extras);
    _hg_vec_free(&b->lab_off);
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

    if (b->written || list >= b->nlists || (unsigned) e->alg >= HG_ALG_COUNT) {
        return HG_EINVAL;
    }
    dlen = hg_alg_len(e->alg);
    if (e->remove) {
        r = _hg_vec_push(&b->rem[e->alg]);
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
    if (e->has_size || label != 0) {
        if (b->extras.n > TAG_MAX_INDEX) {
            return HG_ELIMIT;
        }
        x = _hg_vec_push(&b->extras);
        if (x == NULL) {
            return HG_ENOMEM;
        }
        x->list = list;
        x->label = label;
        x->has_size = e->has_size != 0;
        x->size = e->has_size ? e->size : 0;
        tag = TAG_EXTRA | (uint32_t) (b->extras.n - 1);
    }
    r = _hg_vec_push(&b->add[e->alg]);
    if (r == NULL) {
        return HG_ENOMEM;
    }
    memcpy(r, e->digest, dlen);
    memcpy(r + dlen, &tag, 4);
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
 * Lists keep their database order, version, kind and compile time; a list
 * of the same name already in the builder is merged into.
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
    }
done:
    free(lc.map);
    return rc;
}

uint64_t
hg_dbb_pending(const hg_dbb_t *b)
{
    uint64_t  n = 0;
    int       a;

    for (a = 0; a < HG_ALG_COUNT; a++) {
        n += b->add[a].n + b->rem[a].n;
    }
    return n;
}

/* ---- sorting fixed-width records in place ---- */

static void
_hg_isort(unsigned char *base, size_t n, size_t rs, size_t klen, size_t depth,
          unsigned char *tmp)
{
    size_t  i, j;

    for (i = 1; i < n; i++) {
        if (memcmp(base + (i - 1) * rs + depth, base + i * rs + depth,
                   klen - depth) <= 0)
        {
            continue;
        }
        memcpy(tmp, base + i * rs, rs);
        j = i;
        do {
            memcpy(base + j * rs, base + (j - 1) * rs, rs);
            j--;
        } while (j > 0 && memcmp(base + (j - 1) * rs + depth, tmp + depth,
                                 klen - depth) > 0);
        memcpy(base + j * rs, tmp, rs);
    }
}

/*
 * American flag sort on byte depth of the key, then each bucket on the next
 * byte. Recursion is at most klen deep; records are swapped through tmp.
 */
static void
_hg_rsort(unsigned char *base, size_t n, size_t rs, size_t klen, size_t depth,
          unsigned char *tmp)
{
    size_t          count[256], next[256], end[256], pos;
    unsigned char  *r;
    unsigned        c, k;

    if (n <= HG_SORT_SMALL) {
        if (depth < klen) {
            _hg_isort(base, n, rs, klen, depth, tmp);
        }
        return;
    }
    if (depth >= klen) {
        return;
    }
    memset(count, 0, sizeof(count));
    for (pos = 0; pos < n; pos++) {
        count[base[pos * rs + depth]]++;
    }
    for (pos = 0, k = 0; k < 256; k++) {
        next[k] = pos;
        pos += count[k];
        end[k] = pos;
    }
    for (k = 0; k < 256; k++) {
        while (next[k] < end[k]) {
            r = base + next[k] * rs;
            c = r[depth];
            if (c == k) {
                next[k]++;
                continue;
            }
            memcpy(tmp, r, rs);
            memcpy(r, base + next[c] * rs, rs);
            memcpy(base + next[c] * rs, tmp, rs);
            next[c]++;
        }
    }
    for (pos = 0, k = 0; k < 256; k++) {
        if (count[k] > 1) {
            _hg_rsort(base + pos * rs, count[k], rs, klen, depth + 1, tmp);
        }
        pos += count[k];
    }
}

/* ---- list-sets ---- */

typedef struct {
    hg_vec_t        sets;       /* uint32 first, uint32 count */
    hg_vec_t        members;    /* uint16 */
    uint32_t       *ht;         /* set id + 1 */
    size_t          ht_cap;
} hg_sets_t;

static uint64_t
_hg_set_hash(const uint16_t *m, size_t n)
{
    return _hg_fnv(m, n * sizeof(*m));
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
        || _hg_vec_grow(&s->members, n) != 0 || _hg_vec_grow(&s->sets, 1) != 0)
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

typedef struct {
    hg_dbb_t       *b;
    hg_sets_t       sets;
    hg_vec_t        items;      /* hg_item_t, one digest's group */
    hg_vec_t        removed;    /* uint32 lists removed from one digest */
    hg_vec_t        members;    /* uint16, scratch */
    hg_vec_t        oextras;    /* hg_out_extra_t, every algorithm in order */
    uint64_t        rows[HG_ALG_COUNT];
    uint32_t        maxv[HG_ALG_COUNT];
    uint64_t        extras_at[HG_ALG_COUNT + 1];
} hg_merge_t;

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
static hg_status_t
_hg_merge_alg(hg_merge_t *mg, int a, hg_err_t *err)
{
    hg_dbb_t        *b = mg->b;
    hg_vec_t        *v = &b->add[a], *rv = &b->rem[a];
    size_t           dlen = hg_alg_len(a), rs = v->rs, r, e, w, ri, i, j;
    unsigned char    tmp[HG_DIGEST_MAX + 4];
    uint32_t         tag, val, nrem;
    hg_item_t       *it, *out;
    hg_out_extra_t  *ox;
    uint16_t        *m;
    int64_t          set;
    int              flag;

    _hg_rsort(v->p, v->n, rs, dlen, 0, tmp);
    _hg_rsort(rv->p, rv->n, rv->rs, dlen, 0, tmp);

    mg->extras_at[a] = mg->oextras.n;
    w = 0;
    ri = 0;
    for (r = 0; r < v->n; r = e) {
        const unsigned char  *d = v->p + r * rs;

        mg->items.n = 0;
        for (e = r; e < v->n && memcmp(v->p + e * rs, d, dlen) == 0; e++) {
            memcpy(&tag, v->p + e * rs + dlen, 4);
            it = _hg_vec_push(&mg->items);
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
            uint32_t  *l = _hg_vec_push(&mg->removed);

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
                if (!it[j].has_size || it[j].size != cur.size) {
                    cur.has_size = 0;
                    cur.size = 0;
                }
                if (it[j].label != 0
                    && (cur.label == 0
                        || strcmp(_hg_label_str(b, it[j].label - 1),
                                  _hg_label_str(b, cur.label - 1)) < 0))
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
                              hg_alg_name(a));
        }

        mg->members.n = 0;
        if (_hg_vec_grow(&mg->members, mg->items.n) != 0) {
            return hg_err_set(err, HG_ENOMEM, "out of memory");
        }
        m = (uint16_t *) (void *) mg->members.p;
        flag = 0;
        for (i = 0; i < mg->items.n; i++) {
            m[i] = (uint16_t) it[i].list;
            b->lists[it[i].list].entries++;
            if (!it[i].has_size && it[i].label == 0) {
                continue;
            }
            flag = 1;
            ox = _hg_vec_push(&mg->oextras);
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

/* ---- writing ---- */

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
    if (v->n + n > HG_DB_MAX_STRINGS || _hg_vec_grow(v, n) != 0) {
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
_hg_build_meta(hg_dbb_t *b, hg_merge_t *mg, uint64_t created, hg_vec_t *meta,
               unsigned char *hdr, hg_err_t *err)
{
    hg_vec_t        strs = { NULL, 0, 0, 1 };
    unsigned char  *p;
    uint64_t        len, at;
    uint32_t        i, first = 0, nsrc, off;
    size_t          s;
    hg_status_t     rc = HG_ENOMEM;

    if (_hg_vec_grow(&strs, 1) != 0) {
        goto fail;
    }
    strs.p[strs.n++] = '\0';

    /* room: lists, sources, sets, members; the strings are appended last */
    len = hg_db_align((uint64_t) b->nlists * LIST_REC);
    len = hg_db_align(len + (uint64_t) b->nsrcs * SOURCE_REC);
    len = hg_db_align(len + (uint64_t) mg->sets.sets.n * SET_REC);
    len = len + (uint64_t) mg->sets.members.n * MEMBER_REC;
    if (_hg_vec_grow(meta, len + 1) != 0) {
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
    if (_hg_vec_grow(meta, len - meta->n + hg_db_align(strs.n)) != 0) {
        goto fail;
    }
    memset(meta->p + meta->n, 0, len - meta->n + hg_db_align(strs.n));
    memcpy(meta->p + len, strs.p, strs.n);
    meta->n = len + hg_db_align(strs.n);

    hg_put32(hdr + HDR_NLISTS, b->nlists);
    hg_put32(hdr + HDR_NSOURCES, (uint32_t) b->nsrcs);
    hg_put32(hdr + HDR_NSETS, (uint32_t) mg->sets.sets.n);
    hg_put32(hdr + HDR_NMEMBERS, (uint32_t) mg->sets.members.n);
    hg_put64(hdr + HDR_META_LEN, meta->n);
    hg_put64(hdr + HDR_STRINGS_LEN, strs.n);
    rc = HG_OK;
fail:
    _hg_vec_free(&strs);
    if (rc != HG_OK) {
        return hg_err_set(err, rc, "out of memory building the metadata");
    }
    return HG_OK;
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
    uint64_t         rows = mg->rows[a], r, nb, x, k;
    unsigned         bits = _hg_bucket_bits(rows), setw = _hg_setw(mg->maxv[a]);
    uint32_t        *bk, val;
    unsigned char    xr[EXTRA_REC];

    hg_put64(ah + ALG_COUNT, rows);
    hg_put32(ah + ALG_BUCKET_BITS, bits);
    hg_put32(ah + ALG_SETW, setw);

    /* buckets: bk[k] = first row of bucket k, bk[nb] = rows */
    nb = (uint64_t) 1 << bits;
    bk = calloc(nb + 1, sizeof(*bk));
    if (bk == NULL) {
        w->failed = ENOMEM;
        return -1;
    }
    for (r = 0; r < rows; r++) {
        k = bits ? hg_db_prefix32(v->p + r * rs) >> (32 - bits) : 0;
        bk[k + 1]++;
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
    for (r = 0; r < rows; r++) {
        if (_hg_wr(w, v->p + r * rs, dlen) != 0) {
            return -1;
        }
    }

    if (_hg_wr_pad(w) != 0) {
        return -1;
    }
    hg_put64(ah + ALG_SETIDX_OFF, w->off + w->len);
    for (r = 0; setw > 0 && r < rows; r++) {
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
    for (x = mg->extras_at[a]; x < mg->extras_at[a + 1]; x++) {
        const hg_out_extra_t  *o = (const hg_out_extra_t *) (const void *)
                                   (mg->oextras.p + x * mg->oextras.rs);

        memset(xr, 0, sizeof(xr));
        hg_put32(xr + EXTRA_ROW, o->row);
        hg_put16(xr + EXTRA_LIST, (uint16_t) o->list);
        hg_put16(xr + EXTRA_FLAGS, (o->has_size ? EXTRA_HAS_SIZE : 0)
                                   | (o->label ? EXTRA_HAS_LABEL : 0));
        hg_put64(xr + EXTRA_SIZE, o->size);
        if (o->label) {
            uint32_t  id = o->label - 1;

            if (lab_map[id] == UINT32_MAX) {
                const char  *s = _hg_label_str(b, id);
                uint32_t    *po;

                if (*labels_len + strlen(s) + 1 > HG_DB_MAX_STRINGS) {
                    w->failed = EFBIG;
                    return -1;
                }
                lab_map[id] = (uint32_t) *labels_len;
                *labels_len += strlen(s) + 1;
                po = _hg_vec_push(lab_order);
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

static void
_hg_merge_free(hg_merge_t *mg)
{
    _hg_vec_free(&mg->sets.sets);
    _hg_vec_free(&mg->sets.members);
    free(mg->sets.ht);
    _hg_vec_free(&mg->items);
    _hg_vec_free(&mg->removed);
    _hg_vec_free(&mg->members);
    _hg_vec_free(&mg->oextras);
}

/* fsync the directory holding path, so the rename itself is durable. */
static int
_hg_fsync_dir(const char *path)
{
    char  *copy = strdup(path), *dir;
    int    fd, rc = -1;

    if (copy == NULL) {
        errno = ENOMEM;
        return -1;
    }
    dir = dirname(copy);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        rc = fsync(fd);
        close(fd);
    }
    free(copy);
    return rc;
}

/*
 * Sort, merge, and write to a temp file beside path, fsync it, rename it
 * over path and fsync the directory. On any failure before the rename the
 * temp file is removed and path is untouched; if only the directory fsync
 * after it fails, the new file is in place and HG_EIO says "fsync of its
 * directory". The builder is consumed: after this call
 * (successful or not) only hg_dbb_free may follow.
 */
hg_status_t
hg_dbb_write(hg_dbb_t *b, const char *path, uint64_t created, hg_err_t *err)
{
    hg_merge_t      mg;
    hg_vec_t        meta = { NULL, 0, 0, 1 }, lab_order = { NULL, 0, 0, 4 };
    hg_wr_t         w = { -1, NULL, 0, HG_DB_HEADER_SIZE, NULL, 0 };
    unsigned char   hdr[HG_DB_HEADER_SIZE], sum[32];
    uint32_t       *lab_map = NULL;
    uint64_t        labels_len = 0, x;
    hg_digests_t    dg;
    hg_status_t     rc;
    hg_err_t        why;
    char           *tmp = NULL;
    size_t          i;
    int             a;

    if (b->written) {
        return hg_err_set(err, HG_EINVAL, "%s: builder already written", path);
    }
    b->written = 1;
    if (created == 0) {
        created = (uint64_t) time(NULL);
    }
    memset(&mg, 0, sizeof(mg));
    mg.b = b;
    mg.items.rs = sizeof(hg_item_t);
    mg.removed.rs = 4;
    mg.members.rs = 2;
    mg.oextras.rs = sizeof(hg_out_extra_t);
    mg.sets.sets.rs = 8;
    mg.sets.members.rs = 2;
    memset(hdr, 0, sizeof(hdr));

    for (i = 0; i < b->nlists; i++) {
        b->lists[i].entries = 0;
    }
    for (a = 0; a < HG_ALG_COUNT; a++) {
        rc = _hg_merge_alg(&mg, a, err);
        if (rc != HG_OK) {
            goto out;
        }
        _hg_vec_free(&b->rem[a]);
    }
    mg.extras_at[HG_ALG_COUNT] = mg.oextras.n;
    _hg_vec_free(&b->extras);

    rc = _hg_build_meta(b, &mg, created, &meta, hdr, err);
    if (rc != HG_OK) {
        goto out;
    }

    rc = HG_ENOMEM;
    lab_map = malloc((b->lab_off.n ? b->lab_off.n : 1) * sizeof(*lab_map));
    w.buf = malloc(HG_DBB_WBUF);
    w.sha = hg_hash_new();
    tmp = malloc(strlen(path) + 8);
    if (lab_map == NULL || w.buf == NULL || w.sha == NULL || tmp == NULL) {
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
    sprintf(tmp, "%s.XXXXXX", path);
    w.fd = mkstemp(tmp);
    if (w.fd < 0) {
        rc = hg_err_sys(err, HG_EIO, "%s: cannot create a temp file beside it",
                        path);
        free(tmp);
        tmp = NULL;
        goto out;
    }
    /* a database is read by server workers under other users */
    if (fchmod(w.fd, 0644) != 0) {
        rc = hg_err_sys(err, HG_EIO, "%s: fchmod", tmp);
        goto out;
    }

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
    if (_hg_wr_pad(&w) != 0) {
        goto io;
    }
    hg_put64(hdr + HDR_LABELS_OFF, w.off + w.len);
    hg_put64(hdr + HDR_LABELS_LEN, labels_len);
    for (x = 0; x < lab_order.n; x++) {
        uint32_t     id;
        const char  *s;

        memcpy(&id, lab_order.p + x * 4, 4);
        s = _hg_label_str(b, id);
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
    hg_put32(hdr + HDR_FORMAT, HG_DB_FORMAT);
    hg_put32(hdr + HDR_HEADER_SIZE, HG_DB_HEADER_SIZE);
    hg_put64(hdr + HDR_CREATED, created);
    hg_put64(hdr + HDR_FILE_SIZE, w.off);
    memcpy(hdr + HDR_FILE_SHA256, dg.d[HG_ALG_SHA256], 32);
    if (hg_db_meta_sha256(hdr, meta.p, meta.n, sum) != 0) {
        rc = hg_err_set(err, HG_ECRYPTO, "%s: SHA-256 failed", path);
        goto out;
    }
    memcpy(hdr + HDR_META_SHA256, sum, 32);
    if (pwrite(w.fd, hdr, sizeof(hdr), 0) != (ssize_t) sizeof(hdr)) {
        w.failed = errno ? errno : EIO;
        goto io;
    }
    if (fsync(w.fd) != 0) {
        w.failed = errno;
        goto io;
    }
    /*
     * Written pages sit in the page cache in small pieces. Dropped now
     * (they are on disk), the servers' first reads bring them back in the
     * 2 MiB pieces they ask for (MADV_HUGEPAGE in hg_db_open), where the
     * kernel and filesystem can: a lookup then costs one TLB entry per
     * 2 MiB instead of per 4 KiB. Only a hint; nothing depends on it.
     */
    (void) posix_fadvise(w.fd, 0, 0, POSIX_FADV_DONTNEED);
    if (close(w.fd) != 0) {
        w.fd = -1;
        w.failed = errno;
        goto io;
    }
    w.fd = -1;
    if (rename(tmp, path) != 0) {
        rc = hg_err_sys(err, HG_EIO, "%s: cannot rename %s over it", path, tmp);
        goto out;
    }
    free(tmp);
    tmp = NULL;
    if (_hg_fsync_dir(path) != 0) {
        rc = hg_err_sys(err, HG_EIO, "%s: fsync of its directory", path);
        goto out;
    }
    rc = HG_OK;
    goto out;

io:
    errno = w.failed ? w.failed : EIO;
    rc = hg_err_sys(err, errno == ENOMEM ? HG_ENOMEM : HG_EIO,
                    "%s: writing %s", path, tmp);
out:
    if (w.fd >= 0) {
        close(w.fd);
    }
    if (tmp != NULL) {
        unlink(tmp);
        free(tmp);
    }
    free(w.buf);
    hg_hash_free(w.sha);
    free(lab_map);
    _hg_vec_free(&lab_order);
    _hg_vec_free(&meta);
    _hg_merge_free(&mg);
    return rc;
}
