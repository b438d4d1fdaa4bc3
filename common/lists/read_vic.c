/*
 * read_vic.c - Project VIC / VICS exports (OData JSON), streamed.
 *
 * An export is one JSON object whose "value" array holds media objects
 * with "MD5" and "SHA1" (uppercase hex, either may be null), "MediaSize",
 * "Category" and "MediaID". Some exports group media under case objects:
 * an element of "value" may instead (or also) carry a "Media" array of
 * media objects, which is read the same way. Each digest becomes an entry
 * with the media size and the label "MediaID/Category"; with
 * opts->categories ("1,2") media in other categories are counted in
 * stats->ignored and summed up in one warning.
 *
 * Exports run to gigabytes, so the file is never loaded: the pull
 * tokenizer (json_stream.c) hands over one token at a time and a media
 * object is reduced to its few fields as it goes, so memory is fixed
 * whatever the size of the file or of one object. A bad media object (wrong
 * type, bad hex, duplicate key) is skipped with "file:offset: reason"; a
 * syntax error, including a file cut short, refuses the file, since nothing
 * after it can be trusted.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>

#include "hashgate/list.h"
#include "lists/json_stream.h"
#include "lists/list_util.h"
#include "util/utf8.h"

/* Categories in one --category filter; VIC defines a handful. */
#define VIC_CATEGORIES_MAX  64

/* Longest MediaID kept for the label; ids are numbers or short GUIDs. */
#define VIC_ID_MAX          80

/* Known keys of a media object (a bit each, for duplicate detection). */
enum {
    K_MD5, K_SHA1, K_SHA256, K_SIZE, K_CATEGORY, K_ID, K_MEDIA, K_COUNT
};

static const char *const vic_keys[K_COUNT] = {
    "MD5", "SHA1", "SHA256", "MediaSize", "Category", "MediaID", "Media"
};

typedef struct {
    hg_lctx_t      *lc;
    hg_jstream_t   *j;
    uint64_t        cats[VIC_CATEGORIES_MAX];
    size_t          ncats;          /* 0: no filter */
    uint64_t        filtered;       /* digests outside the categories */
} vic_t;

typedef struct {
    hg_entry_t      e[HG_ALG_COUNT];
    int             have[HG_ALG_COUNT];
    int             has_size;
    uint64_t        size;
    int             has_cat;
    uint64_t        cat;
    char            id[VIC_ID_MAX + 1];
    unsigned        seen;
    int             had_media;      /* a case object holding "Media" */
    char            bad[160];       /* first problem, if any */
    uint64_t        bad_off;
} vic_media_t;

static void
vic_media_bad(vic_media_t *m, uint64_t off, const char *fmt, const char *a,
              const char *b)
{
    if (m->bad[0] == '\0') {
        snprintf(m->bad, sizeof(m->bad), fmt, a, b);
        m->bad_off = off;
    }
}

static hg_status_t
vic_syntax(vic_t *v)
{
    if (v->j->src.ioerr) {
        return hg_lctx_ioerr(v->lc);
    }
    return hg_lctx_fail(v->lc, v->j->err_off, "%s", v->j->why);
}

static int
vic_cat_wanted(const vic_t *v, const vic_media_t *m)
{
    size_t  i;

    if (v->ncats == 0) {
        return 1;
    }
    if (!m->has_cat) {
        return 0;
    }
    for (i = 0; i < v->ncats; i++) {
        if (v->cats[i] == m->cat) {
            return 1;
        }
    }
    return 0;
}

static hg_status_t vic_object(vic_t *v, int level, uint64_t obj_off);

/*
 * An array of objects, its '[' just read: the "value" array (level 0) or
 * a case's "Media" list (level 1), named by what in messages. Each object
 * is read at level; anything else is a bad element, skipped.
 */
static hg_status_t
vic_object_array(vic_t *v, int level, const char *what)
{
    hg_jstream_t  *j = v->j;
    hg_jt_t        t;
    hg_status_t    st;

    for ( ;; ) {
        t = hg_jstream_next(j);
        if (t == HG_JT_ARR_END) {
            return HG_OK;
        }
        if (t == HG_JT_ERROR) {
            return vic_syntax(v);
        }
        if (t == HG_JT_OBJ_BEGIN) {
            st = vic_object(v, level, j->tok_off);
        } else {
            st = hg_lctx_bad(v->lc, j->tok_off, "a \"%s\" element is %s, "
                             "expected an object", what,
                             hg_jstream_type_name(t));
            if (st == HG_OK && hg_jstream_skip(j, t) == HG_JT_ERROR) {
                return vic_syntax(v);
            }
        }
        if (st != HG_OK) {
            return st;
        }
    }
}

/* The value of a known key of a media object; t is its first token. */
static hg_status_t
vic_member(vic_t *v, vic_media_t *m, int k, hg_jt_t t, int level)
{
    hg_jstream_t  *j = v->j;
    static const hg_alg_t  algs[3] = { HG_ALG_MD5, HG_ALG_SHA1, HG_ALG_SHA256 };
    const char    *why;
    uint64_t       off = j->tok_off;
    int            a;

    if (t == HG_JT_NULL) {
        return HG_OK;                   /* VIC writes null for unknown */
    }
    switch (k) {
    case K_MD5:
    case K_SHA1:
    case K_SHA256:
        a = algs[k];
        if (t != HG_JT_STRING) {
            vic_media_bad(m, off, "\"%s\" is %s, expected a string",
                          vic_keys[k], hg_jstream_type_name(t));
            break;
        }
        if (j->tok_len == 0) {
            break;
        }
        if (j->tok_overflow) {
            vic_media_bad(m, off, "\"%s\"%s is longer than 4096 bytes",
                          vic_keys[k], "");
            break;
        }
        memset(&m->e[a], 0, sizeof(m->e[a]));
        if (hg_list_parse_digest_as(&m->e[a], (hg_alg_t) a, j->tok,
                                    j->tok_len, &why) != 0)
        {
            vic_media_bad(m, off, "\"%s\": %s", vic_keys[k], why);
            break;
        }
        m->have[a] = 1;
        break;

    case K_SIZE:
    case K_CATEGORY:
        if (t != HG_JT_NUMBER) {
            vic_media_bad(m, off, "\"%s\" is %s, expected a number",
                          vic_keys[k], hg_jstream_type_name(t));
            break;
        }
        if (hg_jstream_tok_u64(j, k == K_SIZE ? &m->size : &m->cat) != 0) {
            vic_media_bad(m, off, "\"%s\" is not a non-negative integer%s",
                          vic_keys[k], "");
            break;
        }
        if (k == K_SIZE) {
            m->has_size = 1;
        } else {
            m->has_cat = 1;
        }
        break;

    case K_ID:
        if (t != HG_JT_STRING && t != HG_JT_NUMBER) {
            vic_media_bad(m, off, "\"%s\" is %s, expected a string or number",
                          vic_keys[k], hg_jstream_type_name(t));
            break;
        }
        snprintf(m->id, sizeof(m->id), "%.*s",
                 (int) hg_utf8_cut(j->tok, j->tok_len, VIC_ID_MAX), j->tok);
        break;

    case K_MEDIA:
        if (level > 0 || t != HG_JT_ARR_BEGIN) {
            break;                      /* not a case's media list: ignored */
        }
        m->had_media = 1;
        return vic_object_array(v, level + 1, "Media");
    }
    if (hg_jstream_skip(j, t) == HG_JT_ERROR) {
        return vic_syntax(v);
    }
    return HG_OK;
}

/* Entries of a finished media object, or its one bad-object report. */
static hg_status_t
vic_media_done(vic_t *v, vic_media_t *m, uint64_t obj_off)
{
    char         label[VIC_ID_MAX + 32];
    uint64_t     rec;
    int          a, n = 0;
    hg_status_t  st;

    if (m->bad[0] != '\0') {
        return hg_lctx_bad(v->lc, m->bad_off, "%s", m->bad);
    }
    for (a = 0; a < HG_ALG_COUNT; a++) {
        n += m->have[a];
    }
    if (n == 0) {
        if (m->had_media) {
            return HG_OK;
        }
        return hg_lctx_bad(v->lc, obj_off, "media object has no MD5 or SHA1");
    }
    if (!vic_cat_wanted(v, m)) {
        v->filtered += n;
        v->lc->stats->ignored += n;
        return HG_OK;
    }

    if (m->has_cat) {
        snprintf(label, sizeof(label), "%s/%llu", m->id,
                 (unsigned long long) m->cat);
    } else {
        snprintf(label, sizeof(label), "%s", m->id);
    }
    /* one media object is one file: its digests are one record */
    rec = hg_lctx_record(v->lc);
    for (a = 0; a < HG_ALG_COUNT; a++) {
        if (!m->have[a]) {
            continue;
        }
        m->e[a].has_size = m->has_size;
        m->e[a].size = m->size;
        m->e[a].label = label[0] != '\0' ? label : NULL;
        m->e[a].record = rec;
        st = hg_lctx_emit(v->lc, &m->e[a]);
        if (st != HG_OK) {
            return st;
        }
    }
    return HG_OK;
}

/* A media (or case) object whose '{' was just read. */
static hg_status_t
vic_object(vic_t *v, int level, uint64_t obj_off)
{
    hg_jstream_t  *j = v->j;
    vic_media_t    m;
    hg_jt_t        t;
    hg_status_t    st;
    int            k;

    memset(&m, 0, sizeof(m));
    for ( ;; ) {
        t = hg_jstream_next(j);
        if (t == HG_JT_OBJ_END) {
            break;
        }
        if (t != HG_JT_KEY) {
            return vic_syntax(v);
        }
        for (k = 0; k < K_COUNT; k++) {
            if (strcasecmp(j->tok, vic_keys[k]) == 0) {
                break;
            }
        }
        if (k < K_COUNT && (m.seen & (1u << k))) {
            vic_media_bad(&m, j->tok_off, "duplicate key \"%s\"%s",
                          vic_keys[k], "");
            k = K_COUNT;
        } else if (k < K_COUNT) {
            m.seen |= 1u << k;
        }
        t = hg_jstream_next(j);
        if (t == HG_JT_ERROR) {
            return vic_syntax(v);
        }
        if (k == K_COUNT) {
            if (hg_jstream_skip(j, t) == HG_JT_ERROR) {
                return vic_syntax(v);
            }
            continue;
        }
        st = vic_member(v, &m, k, t, level);
        if (st != HG_OK) {
            return st;
        }
    }
    return vic_media_done(v, &m, obj_off);
}

/* The "value" array, its '[' just read. */

/* "1,2" into v->cats; -1 when malformed. */
static int
vic_parse_categories(vic_t *v, const char *s)
{
    const char  *p = s, *q;
    size_t       len;

    for ( ;; ) {
        q = strchr(p, ',');
        len = q ? (size_t) (q - p) : strlen(p);
        hg_list_trim(&p, &len);
        if (v->ncats == VIC_CATEGORIES_MAX
            || hg_list_parse_u64(p, len, &v->cats[v->ncats]) != 0)
        {
            return -1;
        }
        v->ncats++;
        if (q == NULL) {
            return 0;
        }
        p = q + 1;
    }
}

static hg_status_t
vic_run(vic_t *v)
{
    hg_jstream_t  *j = v->j;
    hg_jt_t        t;
    hg_status_t    st;
    int            have_value = 0;

    t = hg_jstream_next(j);
    if (t == HG_JT_ERROR) {
        return vic_syntax(v);
    }
    if (t != HG_JT_OBJ_BEGIN) {
        return hg_lctx_fail(v->lc, j->tok_off, "a VIC export is a JSON "
                            "object with a \"value\" array, not %s",
                            hg_jstream_type_name(t));
    }
    for ( ;; ) {
        t = hg_jstream_next(j);
        if (t == HG_JT_OBJ_END) {
            break;
        }
        if (t != HG_JT_KEY) {
            return vic_syntax(v);
        }
        if (strcmp(j->tok, "value") != 0) {
            if (hg_jstream_skip(j, hg_jstream_next(j)) == HG_JT_ERROR) {
                return vic_syntax(v);
            }
            continue;
        }
        if (have_value) {
            return hg_lctx_fail(v->lc, j->tok_off, "duplicate key \"value\"");
        }
        have_value = 1;
        t = hg_jstream_next(j);
        if (t == HG_JT_ERROR) {
            return vic_syntax(v);
        }
        if (t != HG_JT_ARR_BEGIN) {
            return hg_lctx_fail(v->lc, j->tok_off, "\"value\" is %s, "
                                "expected an array", hg_jstream_type_name(t));
        }
        st = vic_object_array(v, 0, "value");
        if (st != HG_OK) {
            return st;
        }
    }
    if (hg_jstream_next(j) != HG_JT_EOF) {
        return vic_syntax(v);
    }
    if (!have_value) {
        return hg_lctx_fail(v->lc, 0, "no \"value\" array: not a VIC export");
    }
    return HG_OK;
}

static hg_status_t
vic_read(FILE *fp, const char *path, const hg_read_opts_t *opts,
         hg_entry_cb cb, void *cb_ctx, hg_read_stats_t *stats, hg_err_t *err)
{
    hg_lctx_t     lc;
    vic_t         v;
    hg_status_t   st;

    hg_lctx_init(&lc, path, opts, cb, cb_ctx, stats, err);
    memset(&v, 0, sizeof(v));
    v.lc = &lc;
    if (lc.opts->categories != NULL
        && vic_parse_categories(&v, lc.opts->categories) != 0)
    {
        return hg_err_set(err, HG_EINVAL, "bad category list \"%s\" (expected "
                          "numbers separated by commas, at most %d)",
                          lc.opts->categories, VIC_CATEGORIES_MAX);
    }
    v.j = malloc(sizeof(*v.j));
    if (v.j == NULL || hg_jstream_init_file(v.j, fp) != 0) {
        free(v.j);
        return hg_err_set(err, HG_ENOMEM, "%s: out of memory", lc.path);
    }

    st = vic_run(&v);
    if (st == HG_OK && v.filtered > 0) {
        hg_lctx_warn(&lc, "%llu digests outside categories %s ignored",
                     (unsigned long long) v.filtered, lc.opts->categories);
    }
    hg_jstream_free(v.j);
    free(v.j);
    return st;
}

/* 95 when the head shows OData ("odata.") or a "value" array of objects
 * with MD5/SHA1 keys; 30 for a .json name alone. */
static int
vic_probe(const char *path, const unsigned char *head, size_t head_len)
{
    const char  *h = (const char *) head;
    size_t       i;

    if (head == NULL) {
        /* never so with head_len > 0; said for gcc's -Wnonnull under
         * -fsanitize=undefined, which cannot see it */
        return 0;
    }
    i = hg_list_bom_len(head, head_len);
    while (i < head_len && (h[i] == ' ' || h[i] == '\t' || h[i] == '\n'
                            || h[i] == '\r'))
    {
        i++;
    }
    if (i < head_len && h[i] == '{') {
        if (memmem(head, head_len, "\"odata.", 7) != NULL
            || memmem(head, head_len, "\"@odata.", 8) != NULL)
        {
            return 95;
        }
        if (memmem(head, head_len, "\"value\"", 7) != NULL
            && (memmem(head, head_len, "\"MD5\"", 5) != NULL
                || memmem(head, head_len, "\"SHA1\"", 6) != NULL))
        {
            return 95;
        }
    }
    return hg_list_has_ext(path, ".json") ? 30 : 0;
}

const hg_reader_t hg_reader_vic = {
    "vic",
    "Project VIC / VICS OData JSON export (value[] media with MD5, SHA1, "
    "MediaSize, Category, MediaID), streamed",
    vic_probe,
    vic_read
};
