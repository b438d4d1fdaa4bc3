/*
 * evrec.c - one evidence log line back into a record, or the reason it is
 * not one.
 *
 * The line is tokenized by the list readers' JSON tokenizer (json_stream.c)
 * over the line in memory. Parsing does not stop at the first field it
 * cannot read: the rest of the object is still walked, so a record of an
 * unknown version, or with one bad field, still yields its channel, time
 * and mail or request identifiers, and the caller can say which incident
 * lost a record instead of only that one was lost.
 *
 * What is whose: a line is ours when it carries "record_version", or a
 * "time" and a "channel" string (records written before the version field
 * existed). A line that is not ours is FOREIGN. One of ours is VERSION when
 * its version is not HG_RECORD_VERSION, BAD when a field has the wrong
 * type, a digest is not hex of its length, a value is longer than the
 * tokenizer keeps, or the JSON breaks off; only the rest is a RECORD. Keys
 * we do not know are skipped: new fields do not change the version.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hashgate/evread.h"
#include "lists/json_stream.h"

typedef struct {
    hg_jstream_t    j;
    hg_evrec_t     *rec;
    char           *buf;
    size_t          cap;
    size_t          used;
    int             ours;           /* record_version seen */
    int             version_bad;    /* a version not read here */
    int             version_nan;    /* ... or not a number at all */
    char            problem[HG_ERR_MAX / 2];  /* the first field not read */
} evp_t;

/* Note the first problem; later ones only repeat what to fix. */
static void
_evp_problem(evp_t *p, const char *fmt, const char *key)
{
    if (p->problem[0] == '\0') {
        snprintf(p->problem, sizeof(p->problem), fmt, key);
    }
}

/*
 * Copy the current string token into buf. NULL (with a problem noted) when
 * it was cut by the tokenizer, holds a NUL, or buf is full.
 */
static const char *
_evp_str(evp_t *p, const char *key)
{
    hg_jstream_t  *j = &p->j;
    char          *s;

    if (j->tok_overflow) {
        _evp_problem(p, "\"%s\" is longer than hashgate reads (4096 bytes)",
                     key);
        return NULL;
    }
    if (memchr(j->tok, '\0', j->tok_len) != NULL) {
        _evp_problem(p, "\"%s\" holds a NUL character", key);
        return NULL;
    }
    if (j->tok_len + 1 > p->cap - p->used) {
        _evp_problem(p, "\"%s\" does not fit the record buffer", key);
        return NULL;
    }
    s = p->buf + p->used;
    memcpy(s, j->tok, j->tok_len + 1);
    p->used += j->tok_len + 1;
    return s;
}

/* t is the value token of key: a string or null into *out. */
static void
_evp_take_str(evp_t *p, hg_jt_t t, const char *key, const char **out)
{
    if (t == HG_JT_NULL) {
        *out = NULL;
    } else if (t == HG_JT_STRING) {
        *out = _evp_str(p, key);
    } else {
        _evp_problem(p, "\"%s\" is not a string", key);
        (void) hg_jstream_skip(&p->j, t);
    }
}

static int
_evp_hex(const char *s, size_t n)
{
    size_t  i;

    if (s == NULL || strlen(s) != n) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

/* A digest field: lower-case hex of its algorithm's length. */
static void
_evp_take_digest(evp_t *p, hg_jt_t t, const char *key, size_t hexlen,
                 const char **out)
{
    _evp_take_str(p, t, key, out);
    if (*out != NULL && !_evp_hex(*out, hexlen)) {
        _evp_problem(p, "\"%s\" is not a digest of its length", key);
        *out = NULL;
    }
}

static void
_evp_take_u64(evp_t *p, hg_jt_t t, const char *key, uint64_t *out, int *has)
{
    if (t == HG_JT_NUMBER && hg_jstream_tok_u64(&p->j, out) == 0) {
        *has = 1;
    } else {
        _evp_problem(p, "\"%s\" is not a non-negative integer", key);
        (void) hg_jstream_skip(&p->j, t);
    }
}

/* md5, sha1, sha256 and size: in a record and in each container. */
static int
_evp_digest_key(evp_t *p, hg_jt_t t, const char *key, hg_evrec_digests_t *d)
{
    if (strcmp(key, "md5") == 0) {
        _evp_take_digest(p, t, key, 32, &d->md5);
    } else if (strcmp(key, "sha1") == 0) {
        _evp_take_digest(p, t, key, 40, &d->sha1);
    } else if (strcmp(key, "sha256") == 0) {
        _evp_take_digest(p, t, key, 64, &d->sha256);
    } else if (strcmp(key, "size") == 0) {
        _evp_take_u64(p, t, key, &d->size, &d->has_size);
    } else {
        return 0;
    }
    return 1;
}

/*
 * Walk the object whose '{' was just read, calling member() for each key
 * with its value's first token. A duplicate key is a problem (which of the
 * two would a report believe?). Returns -1 on broken JSON.
 */
typedef void (*evp_member_pt)(evp_t *p, const char *key, hg_jt_t t,
                              void *data);

#define EVP_MAX_KEYS  64

static int
_evp_object(evp_t *p, evp_member_pt member, void *data)
{
    hg_jstream_t  *j = &p->j;
    hg_jt_t        t;
    char           key[64], seen[EVP_MAX_KEYS][64];
    size_t         nseen = 0, i;
    int            dup;

    for ( ;; ) {
        t = hg_jstream_next(j);
        if (t == HG_JT_OBJ_END) {
            return 0;
        }
        if (t != HG_JT_KEY) {
            return -1;
        }
        /* our keys are short: a long one is nobody's we read, and is
         * kept cut (a duplicate of it is still found) */
        memcpy(key, j->tok, j->tok_len < sizeof(key) ? j->tok_len + 1
                                                     : sizeof(key));
        key[sizeof(key) - 1] = '\0';
        for (i = 0, dup = 0; i < nseen && !dup; i++) {
            dup = strcmp(seen[i], key) == 0;
        }
        if (dup) {
            _evp_problem(p, "\"%s\" appears twice", key);
        } else if (nseen < EVP_MAX_KEYS) {
            memcpy(seen[nseen++], key, sizeof(key));
        }
        t = hg_jstream_next(j);
        if (t == HG_JT_ERROR || t == HG_JT_EOF) {
            return -1;
        }
        if (dup) {
            (void) hg_jstream_skip(j, t);   /* the first value stands */
        } else {
            member(p, key, t, data);
        }
        if (j->why != NULL) {
            return -1;      /* the skip of a bad value broke off */
        }
    }
}

/* Walk the array whose '[' was just read; item() gets each value's token. */
typedef void (*evp_item_pt)(evp_t *p, hg_jt_t t, size_t i, void *data);

static int
_evp_array(evp_t *p, evp_item_pt item, void *data)
{
    hg_jt_t  t;
    size_t   i;

    for (i = 0; ; i++) {
        t = hg_jstream_next(&p->j);
        if (t == HG_JT_ARR_END) {
            return 0;
        }
        if (t == HG_JT_ERROR || t == HG_JT_EOF || t == HG_JT_OBJ_END
            || t == HG_JT_KEY)
        {
            return -1;
        }
        item(p, t, i, data);
        if (p->j.why != NULL) {
            return -1;
        }
    }
}

/* ---- lists: [{"list":..,"version":..,"algorithm":..,"digest":..,"label":..,
 *              "listed":{"md5":..,...}}] ---- */

/* A match's "listed": digests, or (PDQ) the entry and its quality. */
static void
_evp_match_listed_member(evp_t *p, const char *key, hg_jt_t t, void *data)
{
    hg_evrec_match_t  *m = data;

    if (strcmp(key, "pdq") == 0) {
        _evp_take_digest(p, t, "lists.listed.pdq", 64, &m->listed_pdq);
    } else if (strcmp(key, "quality") == 0) {
        _evp_take_u64(p, t, "lists.listed.quality", &m->listed_quality,
                      &m->has_listed_quality);
    } else if (!_evp_digest_key(p, t, key, &m->listed)) {
        (void) hg_jstream_skip(&p->j, t);
    }
}

static void
_evp_match_member(evp_t *p, const char *key, hg_jt_t t, void *data)
{
    hg_evrec_match_t  *m = data;

    if (strcmp(key, "list") == 0) {
        _evp_take_str(p, t, "lists.list", &m->list);
    } else if (strcmp(key, "version") == 0) {
        _evp_take_str(p, t, "lists.version", &m->version);
    } else if (strcmp(key, "algorithm") == 0) {
        _evp_take_str(p, t, "lists.algorithm", &m->algorithm);
    } else if (strcmp(key, "digest") == 0) {
        _evp_take_str(p, t, "lists.digest", &m->digest);
    } else if (strcmp(key, "label") == 0) {
        _evp_take_str(p, t, "lists.label", &m->label);
    } else if (strcmp(key, "listed") == 0 && t == HG_JT_OBJ_BEGIN) {
        (void) _evp_object(p, _evp_match_listed_member, m);
    } else if (strcmp(key, "distance") == 0) {
        _evp_take_u64(p, t, "lists.distance", &m->distance,
                      &m->has_distance);
    } else if (strcmp(key, "dihedral") == 0) {
        _evp_take_str(p, t, "lists.dihedral", &m->dihedral);
    } else {
        (void) hg_jstream_skip(&p->j, t);
    }
}

static void
_evp_match_item(evp_t *p, hg_jt_t t, size_t i, void *data)
{
    hg_evrec_t        *rec = data;
    hg_evrec_match_t   scratch, *m;
    size_t             hexlen = 0;

    if (t != HG_JT_OBJ_BEGIN) {
        _evp_problem(p, "an item of \"%s\" is not an object", "lists");
        (void) hg_jstream_skip(&p->j, t);
        return;
    }
    if (i >= HG_EVREC_MAX_LISTS) {
        _evp_problem(p, "\"%s\" has more items than a record holds", "lists");
        m = &scratch;
    } else {
        m = &rec->lists[i];
        rec->nlists = i + 1;
    }
    memset(m, 0, sizeof(*m));
    if (_evp_object(p, _evp_match_member, m) != 0) {
        return;
    }
    if (m->list == NULL || m->algorithm == NULL) {
        _evp_problem(p, "an item of \"%s\" lacks its list or algorithm",
                     "lists");
        return;
    }
    if (strcmp(m->algorithm, "md5") == 0) {
        hexlen = 32;
    } else if (strcmp(m->algorithm, "sha1") == 0) {
        hexlen = 40;
    } else if (strcmp(m->algorithm, "sha256") == 0
               || strcmp(m->algorithm, "pdq") == 0) {
        hexlen = 64;
    }
    if (hexlen == 0) {
        _evp_problem(p, "an item of \"%s\" names an unknown algorithm",
                     "lists");
    } else if (m->digest != NULL && !_evp_hex(m->digest, hexlen)) {
        _evp_problem(p, "an item of \"%s\" has a digest not of its length",
                     "lists");
    }
}

/* ---- containers: [{"path":..,"format":..,"md5":..,...,"size":..}] ---- */

static void
_evp_container_member(evp_t *p, const char *key, hg_jt_t t, void *data)
{
    hg_evrec_container_t  *c = data;

    if (strcmp(key, "path") == 0) {
        _evp_take_str(p, t, "containers.path", &c->path);
    } else if (strcmp(key, "format") == 0) {
        _evp_take_str(p, t, "containers.format", &c->format);
    } else if (!_evp_digest_key(p, t, key, &c->d)) {
        (void) hg_jstream_skip(&p->j, t);
    }
}

static void
_evp_container_item(evp_t *p, hg_jt_t t, size_t i, void *data)
{
    hg_evrec_t            *rec = data;
    hg_evrec_container_t   scratch, *c;

    if (t != HG_JT_OBJ_BEGIN) {
        _evp_problem(p, "an item of \"%s\" is not an object", "containers");
        (void) hg_jstream_skip(&p->j, t);
        return;
    }
    if (i >= HG_EVREC_MAX_CONTAINERS) {
        _evp_problem(p, "\"%s\" has more items than a record holds",
                     "containers");
        c = &scratch;
    } else {
        c = &rec->containers[i];
        rec->ncontainers = i + 1;
    }
    memset(c, 0, sizeof(*c));
    (void) _evp_object(p, _evp_container_member, c);
}

/* ---- rcpt_to: ["a@b", ...] into NUL-separated items ended by "" ---- */

static void
_evp_rcpt_item(evp_t *p, hg_jt_t t, size_t i, void *data)
{
    hg_evrec_t  *rec = data;
    const char  *s;

    (void) i;
    if (t != HG_JT_STRING) {
        _evp_problem(p, "an item of \"%s\" is not a string", "rcpt_to");
        (void) hg_jstream_skip(&p->j, t);
        return;
    }
    /* each item follows the one before in buf: one list */
    if ((s = _evp_str(p, "rcpt_to")) != NULL) {
        if (rec->rcpt_to == NULL) {
            rec->rcpt_to = s;
        }
        rec->nrcpt++;
    }
}

/* ---- image: {"format":..,"width":..,"height":..,"pdq":..,"quality":..,
 *              "why":..} ---- */

static void
_evp_image_member(evp_t *p, const char *key, hg_jt_t t, void *data)
{
    hg_evrec_t  *rec = data;

    if (strcmp(key, "format") == 0) {
        _evp_take_str(p, t, "image.format", &rec->image_format);
    } else if (strcmp(key, "pdq") == 0) {
        _evp_take_digest(p, t, "image.pdq", 64, &rec->image_pdq);
    } else if (strcmp(key, "quality") == 0) {
        _evp_take_u64(p, t, "image.quality", &rec->image_quality,
                      &rec->has_image_quality);
    } else if (strcmp(key, "why") == 0) {
        _evp_take_str(p, t, "image.why", &rec->image_why);
    } else {
        (void) hg_jstream_skip(&p->j, t);
    }
}

/* ---- the record ---- */

typedef struct {
    const char   *name;
    size_t        off;      /* of the const char * in hg_evrec_t */
} evp_strkey_t;

#define EVP_S(f)  { #f, offsetof(hg_evrec_t, f) }

/* String fields, written or null. */
static const evp_strkey_t  _evp_strkeys[] = {
    EVP_S(time), EVP_S(channel), EVP_S(action), EVP_S(intended_action),
    EVP_S(allowed_by), EVP_S(error), EVP_S(part), EVP_S(inner_path),
    EVP_S(filename), EVP_S(declared_type), EVP_S(detected_type),
    EVP_S(encoding), EVP_S(held_at), EVP_S(not_checked),
    EVP_S(client_addr), EVP_S(client_name), EVP_S(helo), EVP_S(mail_from),
    EVP_S(message_id), EVP_S(queue_id), EVP_S(host), EVP_S(method),
    EVP_S(uri), EVP_S(request_id)
};

static void
_evp_member(evp_t *p, const char *key, hg_jt_t t, void *data)
{
    hg_evrec_t  *rec = data;
    uint64_t     v;
    int          has = 0;
    size_t       i;

    for (i = 0; i < sizeof(_evp_strkeys) / sizeof(_evp_strkeys[0]); i++) {
        if (strcmp(key, _evp_strkeys[i].name) == 0) {
            _evp_take_str(p, t, key,
                          (const char **) ((char *) rec + _evp_strkeys[i].off));
            return;
        }
    }
    if (strcmp(key, "record_version") == 0) {
        p->ours = 1;
        _evp_take_u64(p, t, key, &v, &has);
        if (has && v != HG_RECORD_VERSION) {
            p->version_bad = 1;
            rec->version = v > 999999 ? 999999 : (unsigned) v;
        }
        /* a version that is not a number is as unknown as a new one */
        if (!has) {
            p->version_bad = 1;
            p->version_nan = 1;
            rec->version = 0;
        }
    } else if (strcmp(key, "monitor") == 0) {
        if (t == HG_JT_TRUE || t == HG_JT_FALSE) {
            rec->monitor = t == HG_JT_TRUE;
        } else {
            _evp_problem(p, "\"%s\" is not true or false", key);
            (void) hg_jstream_skip(&p->j, t);
        }
    } else if (_evp_digest_key(p, t, key, &rec->d)) {
        /* done */
    } else if (strcmp(key, "lists") == 0 && t == HG_JT_ARR_BEGIN) {
        (void) _evp_array(p, _evp_match_item, rec);
    } else if (strcmp(key, "containers") == 0 && t == HG_JT_ARR_BEGIN) {
        (void) _evp_array(p, _evp_container_item, rec);
    } else if (strcmp(key, "image") == 0 && t == HG_JT_OBJ_BEGIN) {
        (void) _evp_object(p, _evp_image_member, rec);
    } else if (strcmp(key, "rcpt_to") == 0 && t == HG_JT_ARR_BEGIN) {
        (void) _evp_array(p, _evp_rcpt_item, rec);
        /* the empty item that ends the list */
        if (rec->rcpt_to != NULL) {
            if (p->used < p->cap) {
                p->buf[p->used++] = '\0';
            } else {
                _evp_problem(p, "\"%s\" does not fit the record buffer",
                             key);
            }
        }
    } else if (strcmp(key, "lists") == 0 || strcmp(key, "containers") == 0
               || strcmp(key, "rcpt_to") == 0)
    {
        _evp_problem(p, "\"%s\" is not an array", key);
        (void) hg_jstream_skip(&p->j, t);
    } else {
        (void) hg_jstream_skip(&p->j, t);
    }
}

/* Only what hg_evread_next promises for VERSION and BAD. */
static void
_evp_keep_keys(hg_evrec_t *rec)
{
    hg_evrec_t  k;

    memset(&k, 0, sizeof(k));
    k.file = rec->file;
    k.line = rec->line;
    k.version = rec->version;
    k.channel = rec->channel;
    k.time = rec->time;
    k.time_ms = rec->time_ms;
    k.queue_id = rec->queue_id;
    k.message_id = rec->message_id;
    k.request_id = rec->request_id;
    *rec = k;
}

hg_evread_kind_t
hg_evrec_parse(hg_evrec_t *rec, const char *line, size_t len, char *buf,
               size_t bufsize, const char *file, uint64_t lineno, hg_err_t *err)
{
    evp_t             *p;
    hg_jt_t            t;
    int                broken = 0, ours;
    hg_evread_kind_t   k;

    memset(rec, 0, sizeof(*rec));
    rec->file = file;
    rec->line = lineno;
    rec->version = HG_RECORD_VERSION;
    rec->time_ms = -1;

    /* 4 KiB of token buffer: not on the stack of every caller */
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        hg_err_set(err, HG_ENOMEM, "%s:%llu: out of memory", file,
                   (unsigned long long) lineno);
        return HG_EVREAD_BAD;
    }
    p->rec = rec;
    p->buf = buf;
    p->cap = bufsize;

    hg_jstream_init_mem(&p->j, line, len);
    t = hg_jstream_next(&p->j);
    if (t != HG_JT_OBJ_BEGIN) {
        hg_jstream_free(&p->j);
        free(p);
        hg_err_set(err, HG_EFORMAT, "%s:%llu: not a hashgate record (not a "
                   "JSON object)", file, (unsigned long long) lineno);
        return HG_EVREAD_FOREIGN;
    }
    if (_evp_object(p, _evp_member, rec) != 0) {
        broken = 1;
    } else if (hg_jstream_next(&p->j) != HG_JT_EOF) {
        broken = 1;
    }

    ours = p->ours || (rec->time != NULL && rec->channel != NULL);
    if (rec->time != NULL && hg_time_parse_rfc3339(rec->time,
                                                   &rec->time_ms) != 0)
    {
        _evp_problem(p, "\"%s\" is not an RFC 3339 UTC time", "time");
    }

    if (!ours) {
        k = HG_EVREAD_FOREIGN;
        hg_err_set(err, HG_EFORMAT, "%s:%llu: not a hashgate record (%s)",
                   file, (unsigned long long) lineno,
                   broken ? "broken JSON" : "no time and channel");
    } else if (p->version_bad) {
        k = HG_EVREAD_VERSION;
        if (p->version_nan) {
            hg_err_set(err, HG_EFORMAT, "%s:%llu: a record whose "
                       "record_version is not a number (this hashgate reads "
                       "version %d)", file, (unsigned long long) lineno,
                       HG_RECORD_VERSION);
        } else {
            hg_err_set(err, HG_EFORMAT, "%s:%llu: a record of version %u, "
                       "which this hashgate does not read (it reads version "
                       "%d)", file, (unsigned long long) lineno,
                       rec->version, HG_RECORD_VERSION);
        }
    } else if (broken) {
        k = HG_EVREAD_BAD;
        hg_err_set(err, HG_EFORMAT, "%s:%llu: a record whose JSON breaks off"
                   " (%s)", file, (unsigned long long) lineno,
                   p->j.why != NULL ? p->j.why : "text after the object");
    } else if (p->problem[0] != '\0' || rec->time == NULL
               || rec->channel == NULL)
    {
        k = HG_EVREAD_BAD;
        hg_err_set(err, HG_EFORMAT, "%s:%llu: a record that cannot be read: "
                   "%s", file, (unsigned long long) lineno,
                   p->problem[0] ? p->problem
                   : rec->time == NULL ? "no time" : "no channel");
    } else {
        k = HG_EVREAD_RECORD;
    }
    if (k == HG_EVREAD_VERSION || k == HG_EVREAD_BAD) {
        _evp_keep_keys(rec);
    }
    hg_jstream_free(&p->j);
    free(p);
    return k;
}

/* ---- copies ---- */

/* Size of a string field's copy (0 for NULL). */
static size_t
_evrec_len(const char *s)
{
    return s != NULL ? strlen(s) + 1 : 0;
}

static size_t
_evrec_rcpt_len(const hg_evrec_t *r)
{
    const char  *s;
    size_t       n = 0, i;

    if (r->rcpt_to == NULL) {
        return 0;
    }
    for (s = r->rcpt_to, i = 0; i < r->nrcpt; i++) {
        n += strlen(s) + 1;
        s += strlen(s) + 1;
    }
    return n + 1;
}

/* Copy *f into the arena at *at, pointing *f at the copy. */
static void
_evrec_put(const char **f, char **at)
{
    size_t  n;

    if (*f == NULL) {
        return;
    }
    n = strlen(*f) + 1;
    memcpy(*at, *f, n);
    *f = *at;
    *at += n;
}

static size_t
_evrec_digests_len(const hg_evrec_digests_t *d)
{
    return _evrec_len(d->md5) + _evrec_len(d->sha1) + _evrec_len(d->sha256);
}

static void
_evrec_digests_put(hg_evrec_digests_t *d, char **at)
{
    _evrec_put(&d->md5, at);
    _evrec_put(&d->sha1, at);
    _evrec_put(&d->sha256, at);
}

hg_evrec_t *
hg_evrec_dup(const hg_evrec_t *rec)
{
    hg_evrec_t  *c;
    size_t       n = 0, i, rl;
    char        *at;

    for (i = 0; i < sizeof(_evp_strkeys) / sizeof(_evp_strkeys[0]); i++) {
        n += _evrec_len(*(const char *const *) ((const char *) rec
                                                 + _evp_strkeys[i].off));
    }
    n += _evrec_len(rec->file) + _evrec_digests_len(&rec->d);
    for (i = 0; i < rec->nlists; i++) {
        n += _evrec_len(rec->lists[i].list) + _evrec_len(rec->lists[i].version)
             + _evrec_len(rec->lists[i].algorithm)
             + _evrec_len(rec->lists[i].digest)
             + _evrec_len(rec->lists[i].label)
             + _evrec_len(rec->lists[i].dihedral)
             + _evrec_len(rec->lists[i].listed_pdq)
             + _evrec_digests_len(&rec->lists[i].listed);
    }
    n += _evrec_len(rec->image_format) + _evrec_len(rec->image_pdq)
         + _evrec_len(rec->image_why);
    for (i = 0; i < rec->ncontainers; i++) {
        n += _evrec_len(rec->containers[i].path)
             + _evrec_len(rec->containers[i].format)
             + _evrec_digests_len(&rec->containers[i].d);
    }
    rl = _evrec_rcpt_len(rec);
    n += rl;

    c = malloc(sizeof(*c) + n);
    if (c == NULL) {
        return NULL;
    }
    *c = *rec;
    at = (char *) (c + 1);
    for (i = 0; i < sizeof(_evp_strkeys) / sizeof(_evp_strkeys[0]); i++) {
        _evrec_put((const char **) ((char *) c + _evp_strkeys[i].off), &at);
    }
    _evrec_put(&c->file, &at);
    _evrec_digests_put(&c->d, &at);
    for (i = 0; i < c->nlists; i++) {
        _evrec_put(&c->lists[i].list, &at);
        _evrec_put(&c->lists[i].version, &at);
        _evrec_put(&c->lists[i].algorithm, &at);
        _evrec_put(&c->lists[i].digest, &at);
        _evrec_put(&c->lists[i].label, &at);
        _evrec_put(&c->lists[i].dihedral, &at);
        _evrec_put(&c->lists[i].listed_pdq, &at);
        _evrec_digests_put(&c->lists[i].listed, &at);
    }
    _evrec_put(&c->image_format, &at);
    _evrec_put(&c->image_pdq, &at);
    _evrec_put(&c->image_why, &at);
    for (i = 0; i < c->ncontainers; i++) {
        _evrec_put(&c->containers[i].path, &at);
        _evrec_put(&c->containers[i].format, &at);
        _evrec_digests_put(&c->containers[i].d, &at);
    }
    if (rec->rcpt_to != NULL) {
        memcpy(at, rec->rcpt_to, rl - 1);
        at[rl - 1] = '\0';
        c->rcpt_to = at;
    }
    return c;
}

void
hg_evrec_free(hg_evrec_t *rec)
{
    free(rec);
}

/* ---- times ---- */

/* n decimal digits at s into *v; -1 if any is not a digit. */
static int
_evt_digits(const char *s, int n, int *v)
{
    int  i;

    *v = 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        *v = *v * 10 + (s[i] - '0');
    }
    return 0;
}

int
hg_time_parse_rfc3339(const char *s, int64_t *ms)
{
    struct tm   tm;
    int         y, mo, d, h, mi, sec, frac = 0, scale = 100;
    const char *p;
    time_t      t;

    if (s == NULL || strlen(s) < 20
        || _evt_digits(s, 4, &y) || s[4] != '-'
        || _evt_digits(s + 5, 2, &mo) || s[7] != '-'
        || _evt_digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't')
        || _evt_digits(s + 11, 2, &h) || s[13] != ':'
        || _evt_digits(s + 14, 2, &mi) || s[16] != ':'
        || _evt_digits(s + 17, 2, &sec))
    {
        return -1;
    }
    p = s + 19;
    if (*p == '.') {
        if (p[1] < '0' || p[1] > '9') {
            return -1;
        }
        for (p++; *p >= '0' && *p <= '9'; p++) {
            frac += (*p - '0') * scale;
            scale /= 10;
        }
    }
    if (!((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0')
        && strcmp(p, "+00:00") != 0 && strcmp(p, "-00:00") != 0)
    {
        return -1;
    }
    /* records are written now: a year before 1970 is not one of theirs,
     * and would give a negative time */
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23
        || mi > 59 || sec > 60)
    {
        return -1;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    /* timegm normalizes 31 February: a date that moved was not a date */
    if (t == (time_t) -1 || tm.tm_mday != d || tm.tm_mon != mo - 1) {
        return -1;
    }
    *ms = (int64_t) t * 1000 + frac;
    return 0;
}
