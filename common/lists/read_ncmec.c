/*
 * read_ncmec.c - NCMEC hash-sharing XML (as its v2 entries API returns it),
 * streamed.
 *
 * An entry is an <image> or <video> element (at any depth, usually under
 * <images>/<videos> in a <queryResult>) with an <id>, an optional
 * <classification> and a <fingerprints> element whose children are the
 * digests: <md5>, <sha1> (and <sha256>) hold hex; <pdq> a PDQ hash (64 hex
 * digits, its quality in a quality="N" attribute if given), an entry of
 * its own beside the digests (searched, not looked up: no part of the
 * record); anything else (<pdna>, <tmk-pdqf>, <videntifier>, ...) is a
 * perceptual or vendor fingerprint hashgate cannot use: counted in
 * stats->ignored and named in one summary warning.
 * <fingerprint type="md5">HEX</fingerprint> children are accepted too. <deletedImage>/<deletedVideo> elements, and
 * entries with deleted="true", are removals (e->remove = 1). NCMEC's own
 * deletions often carry only an <id>: those cannot be matched to a digest
 * here, so they are counted as ignored and summed up in a warning.
 *
 * Element names are compared without namespace prefix, case-insensitively.
 * Each entry's label is "id/classification". The XML is read through
 * xml_stream.c (libexpat, in the file's declared encoding, handing out
 * UTF-8), which calls ncmec_start, ncmec_text and ncmec_end as elements
 * come; a syntax error (or a file cut short) refuses the file with
 * "file:line: reason", a bad entry is skipped.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hashgate/list.h"
#include "hashgate/pdq.h"
#include "lists/list_util.h"
#include "lists/xml_stream.h"
#include "util/utf8.h"

/* Usable digests kept per entry: NCMEC gives one MD5 and one SHA-1. */
#define NCMEC_FP_MAX        8

/* Distinct ignored fingerprint types named in the summary warning. */
#define NCMEC_TYPES_MAX     8

/* Longest <id> or <classification> kept for the label. */
#define NCMEC_FIELD_MAX     80

/* Longest fingerprint text kept; longer is flagged (a bad entry).
 * Digests are at most 64 characters, perceptual ones a few hundred. */
#define NCMEC_TEXT_MAX      4096

typedef struct {
    hg_lctx_t      *lc;
    hg_xstream_t   *x;

    /* the entry being read; entry_depth 0 when outside any */
    int             entry_depth;
    uint64_t        entry_line;
    char            entry_name[HG_XSTREAM_NAME_MAX + 1];
    int             deleted;
    int             nfp_total;      /* fingerprint elements seen */
    hg_entry_t      fp[NCMEC_FP_MAX];
    size_t          nfp;
    char            id[NCMEC_FIELD_MAX + 1];
    char            cls[NCMEC_FIELD_MAX + 1];
    int             have_id, have_cls;
    char            bad[2 * HG_XSTREAM_NAME_MAX + 128];

    /* the child whose text is being collected */
    int             cap_what;       /* C_NONE, C_ID, C_CLS, C_FP */
    char            cap_type[HG_XSTREAM_NAME_MAX + 1];
    char            cap_quality[8];     /* a pdq's quality attribute, or "" */
    char            cap[NCMEC_TEXT_MAX + 1];
    size_t          cap_len;
    int             cap_overflow;
    int             in_fps;         /* inside <fingerprints> */

    /* summary */
    uint64_t        ignored_fps;
    char            types[NCMEC_TYPES_MAX][24];
    size_t          ntypes;
    uint64_t        deleted_by_id;
} ncmec_t;

enum { C_NONE, C_ID, C_CLS, C_FP };

static int
ncmec_is_entry(const char *local, int *deleted)
{
    *deleted = 0;
    if (strcasecmp(local, "image") == 0 || strcasecmp(local, "video") == 0) {
        return 1;
    }
    if (strcasecmp(local, "deletedImage") == 0
        || strcasecmp(local, "deletedVideo") == 0)
    {
        *deleted = 1;
        return 1;
    }
    return 0;
}

static void
ncmec_bad(ncmec_t *n, const char *fmt, const char *a, const char *b)
{
    if (n->bad[0] == '\0') {
        snprintf(n->bad, sizeof(n->bad), fmt, a, b);
    }
}

static void
ncmec_note_type(ncmec_t *n, const char *type)
{
    size_t  i;

    n->ignored_fps++;
    n->lc->stats->ignored++;
    for (i = 0; i < n->ntypes; i++) {
        if (strcasecmp(n->types[i], type) == 0) {
            return;
        }
    }
    if (n->ntypes < NCMEC_TYPES_MAX) {
        snprintf(n->types[n->ntypes++], sizeof(n->types[0]), "%.23s", type);
    }
}

static hg_status_t
ncmec_start(void *ctx, hg_xstream_t *x)
{
    ncmec_t       *n = ctx;
    const char    *v;
    int            deleted;

    if (n->entry_depth == 0) {
        if (!ncmec_is_entry(x->local, &deleted)) {
            return HG_OK;
        }
        n->entry_depth = x->depth;
        n->entry_line = x->ev_line;
        snprintf(n->entry_name, sizeof(n->entry_name), "%s", x->local);
        v = hg_xstream_attr(x, "deleted");
        n->deleted = deleted || (v != NULL && (strcasecmp(v, "true") == 0
                                               || strcmp(v, "1") == 0));
        n->nfp = 0;
        n->nfp_total = 0;
        n->have_id = n->have_cls = 0;
        n->id[0] = n->cls[0] = '\0';
        n->bad[0] = '\0';
        n->in_fps = 0;
        n->cap_what = C_NONE;
        return HG_OK;
    }

    n->cap_what = C_NONE;
    if (x->depth == n->entry_depth + 1) {
        if (strcasecmp(x->local, "fingerprints") == 0) {
            n->in_fps = 1;
        } else if (strcasecmp(x->local, "id") == 0) {
            if (n->have_id) {
                ncmec_bad(n, "<%s> has more than one <id>%s", n->entry_name,
                          "");
            }
            n->have_id = 1;
            n->cap_what = C_ID;
        } else if (strcasecmp(x->local, "classification") == 0) {
            if (n->have_cls) {
                ncmec_bad(n, "<%s> has more than one <classification>%s",
                          n->entry_name, "");
            }
            n->have_cls = 1;
            n->cap_what = C_CLS;
        }
    } else if (n->in_fps && x->depth == n->entry_depth + 2) {
        n->nfp_total++;
        n->cap_what = C_FP;
        v = NULL;
        if (strcasecmp(x->local, "fingerprint") == 0) {
            v = hg_xstream_attr(x, "type");
            if (v == NULL) {
                ncmec_bad(n, "<fingerprint> without a type attribute%s%s",
                          "", "");
                v = "?";
            }
        }
        snprintf(n->cap_type, sizeof(n->cap_type), "%s", v ? v : x->local);
        v = hg_xstream_attr(x, "quality");
        snprintf(n->cap_quality, sizeof(n->cap_quality), "%s",
                 v == NULL ? "" : strlen(v) < sizeof(n->cap_quality) ? v : "?");
    }
    n->cap_len = 0;
    n->cap_overflow = 0;
    return HG_OK;
}

/* Text comes in pieces: collected for the child being captured. */
static hg_status_t
ncmec_text(void *ctx, hg_xstream_t *x, const char *s, size_t len)
{
    ncmec_t       *n = ctx;
    size_t         room;

    (void) x;
    if (n->cap_what == C_NONE) {
        return HG_OK;
    }
    room = NCMEC_TEXT_MAX - n->cap_len;
    if (len > room) {
        n->cap_overflow = 1;
    }
    memcpy(n->cap + n->cap_len, s, len < room ? len : room);
    n->cap_len += len < room ? len : room;
    n->cap[n->cap_len] = '\0';
    return HG_OK;
}

/* A fingerprint element ended: keep its digest or count its type. */
static void
ncmec_fingerprint(ncmec_t *n)
{
    const char  *s = n->cap, *why;
    size_t       len = n->cap_len;
    int          alg, pdq = strcasecmp(n->cap_type, "pdq") == 0;
    hg_entry_t  *e;

    alg = hg_alg_from_name(n->cap_type);
    if (alg < 0 && !pdq) {
        ncmec_note_type(n, n->cap_type);
        return;
    }
    if (n->cap_overflow) {
        ncmec_bad(n, "<%s> fingerprint longer than 4096 bytes%s", n->cap_type,
                  "");
        return;
    }
    if (n->nfp == NCMEC_FP_MAX) {
        ncmec_bad(n, "more than 8 md5/sha1/sha256/pdq fingerprints in one "
                  "entry%s%s", "", "");
        return;
    }
    e = &n->fp[n->nfp];
    memset(e, 0, sizeof(*e));
    if (pdq) {
        if (hg_entry_parse_pdq(e, s, len, &why) != 0) {
            ncmec_bad(n, "<%s> fingerprint: %s", n->cap_type, why);
            return;
        }
        if (n->cap_quality[0] != '\0') {
            e->quality = hg_entry_parse_quality(n->cap_quality,
                                                strlen(n->cap_quality), &why);
            if (e->quality < 0) {
                ncmec_bad(n, "<%s> fingerprint: %s", n->cap_type, why);
                return;
            }
        }
        n->nfp++;
        return;
    }
    if (hg_list_parse_digest_as(e, (hg_alg_t) alg, s, len, &why) != 0) {
        ncmec_bad(n, "<%s> fingerprint: %s", n->cap_type, why);
        return;
    }
    n->nfp++;
}

static void
ncmec_keep_field(char *dst, const char *s, size_t len)
{
    hg_list_trim(&s, &len);
    snprintf(dst, NCMEC_FIELD_MAX + 1, "%.*s",
             (int) hg_utf8_cut(s, len, NCMEC_FIELD_MAX), s);
}

static hg_status_t
ncmec_entry_done(ncmec_t *n)
{
    char         label[2 * NCMEC_FIELD_MAX + 2];
    uint64_t     rec;
    size_t       i;
    hg_status_t  st;

    n->entry_depth = 0;
    if (n->bad[0] != '\0') {
        return hg_lctx_bad(n->lc, n->entry_line, "%s", n->bad);
    }
    if (n->nfp == 0) {
        if (n->deleted) {
            n->deleted_by_id++;
            n->lc->stats->ignored++;
            return HG_OK;
        }
        if (n->nfp_total == 0) {
            return hg_lctx_bad(n->lc, n->entry_line, "<%s> has no "
                               "fingerprints", n->entry_name);
        }
        return HG_OK;           /* only perceptual types: already counted */
    }
    if (n->id[0] != '\0' && n->cls[0] != '\0') {
        snprintf(label, sizeof(label), "%s/%s", n->id, n->cls);
    } else {
        snprintf(label, sizeof(label), "%s", n->id[0] ? n->id : n->cls);
    }
    /* an <image> or <video> is one file: its digests are one record */
    rec = hg_lctx_record(n->lc);
    for (i = 0; i < n->nfp; i++) {
        n->fp[i].record = rec;
        n->fp[i].label = label[0] ? label : NULL;
        n->fp[i].remove = n->deleted;
        st = hg_lctx_emit(n->lc, &n->fp[i]);
        if (st != HG_OK) {
            return st;
        }
    }
    return HG_OK;
}

static hg_status_t
ncmec_end(void *ctx, hg_xstream_t *x)
{
    ncmec_t       *n = ctx;
    int            depth = x->depth + 1;     /* of the element that closed */

    if (n->entry_depth == 0) {
        return HG_OK;
    }
    if (depth == n->entry_depth) {
        return ncmec_entry_done(n);
    }
    if (depth == n->entry_depth + 1) {
        if (n->cap_what == C_ID) {
            ncmec_keep_field(n->id, n->cap, n->cap_len);
        } else if (n->cap_what == C_CLS) {
            ncmec_keep_field(n->cls, n->cap, n->cap_len);
        }
        if (strcasecmp(x->local, "fingerprints") == 0) {
            n->in_fps = 0;
        }
    } else if (n->in_fps && depth == n->entry_depth + 2
               && n->cap_what == C_FP)
    {
        ncmec_fingerprint(n);
    }
    n->cap_what = C_NONE;
    return HG_OK;
}

static const hg_xstream_cb_t ncmec_cbs = {
    ncmec_start, ncmec_text, ncmec_end
};

static hg_status_t
ncmec_read(FILE *fp, const char *path, const hg_read_opts_t *opts,
           hg_entry_cb cb, void *cb_ctx, hg_read_stats_t *stats,
           hg_err_t *err)
{
    hg_lctx_t     lc;
    ncmec_t      *n;
    char          types[NCMEC_TYPES_MAX * 26];
    size_t        i, len = 0;
    hg_status_t   st;

    hg_lctx_init(&lc, path, opts, cb, cb_ctx, stats, err);
    n = calloc(1, sizeof(*n));
    if (n != NULL) {
        n->x = malloc(sizeof(*n->x));
    }
    if (n == NULL || n->x == NULL) {
        if (n != NULL) {
            free(n->x);
        }
        free(n);
        return hg_err_set(err, HG_ENOMEM, "%s: out of memory", lc.path);
    }
    n->lc = &lc;

    st = hg_xstream_parse(n->x, fp, &ncmec_cbs, n);
    if (st != HG_OK && !n->x->cb_stopped) {
        /* the XML's own error; a callback's status is passed on as it is */
        if (st == HG_EIO) {
            st = hg_lctx_ioerr(&lc);
        } else if (st == HG_EFORMAT) {
            st = hg_lctx_fail(&lc, n->x->err_line, "%s", n->x->why);
        } else {
            st = hg_err_set(err, st, "%s: %s", lc.path, hg_status_str(st));
        }
    }
    if (st == HG_OK && n->ignored_fps > 0) {
        types[0] = '\0';
        for (i = 0; i < n->ntypes; i++) {
            len += snprintf(types + len, sizeof(types) - len, "%s%s",
                            i ? ", " : "", n->types[i]);
        }
        hg_lctx_warn(&lc, "%llu fingerprints of types other than md5/sha1/"
                     "sha256/pdq ignored (%s)",
                     (unsigned long long) n->ignored_fps, types);
    }
    if (st == HG_OK && n->deleted_by_id > 0) {
        hg_lctx_warn(&lc, "%llu deleted entries name no md5/sha1 fingerprint "
                     "(id only) and were not applied",
                     (unsigned long long) n->deleted_by_id);
    }
    free(n->x);
    free(n);
    return st;
}

/* 95 for an NCMEC document (its namespace, or <fingerprints> in the head);
 * 30 for a .xml name alone. */
static int
ncmec_probe(const char *path, const unsigned char *head, size_t head_len)
{
    if (memmem(head, head_len, "hashsharing", 11) != NULL
        || memmem(head, head_len, "<fingerprints", 13) != NULL)
    {
        return 95;
    }
    return hg_list_has_ext(path, ".xml") ? 30 : 0;
}

const hg_reader_t hg_reader_ncmec = {
    "ncmec",
    "NCMEC hash-sharing XML: <image>/<video> entries with <fingerprints> "
    "md5/sha1; deleted entries are removals",
    ncmec_probe,
    ncmec_read
};
