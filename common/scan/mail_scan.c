/*
 * mail_scan.c - a mail message's fan-out: each object the parser finds
 * (leaf part, uuencoded block, other reading) into a scan context of its
 * own, each finished object handed to the caller with its result.
 *
 * The parser begins a block and the copies of a part while the part is
 * still open, and the part's converted reading runs beside it, so up to
 * six objects are hashed at once, each in its own context (a slot). A scan
 * that fails does not stop the parser: the object is handed over with
 * that status, and the caller says whether the message goes on (the CLI
 * reports the part and goes on, the milter applies OnFail). Every
 * reading of a part is handed over in one object, so a caller sees the
 * part once, knowing all it matched.
 *
 * Archives: a part or uuencoded block also streams into a spool, which
 * keeps nothing until its first bytes say "container". Only once the part
 * itself has been handed over (a reject there needs no helper) is the
 * container sent to a helper borrowed for it, and each entry the helper
 * reports is matched here (hg_scan_match on the digests it computed) and
 * handed over as an object of its own. The chain of containers an entry
 * is in is kept as the entries come (a container is reported before its
 * files, so the one at depth d is the last container entry seen at d).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashgate/mail_scan.h"
#include "mime/eol.h"

/* The parser's contexts: a main part, a block, three copies. */
#define MAIL_SLOTS      5

/* Longest container name kept ("iso9660" and the like). */
#define FORMAT_MAX      32

typedef struct {
    hg_mail_scan_t     *ms;
    hg_scan_t          *scan;
    hg_mail_kind_t      kind;
    hg_status_t         st;         /* the open object's scan so far */
    hg_spool_t         *spool;      /* parts and blocks, archives on */
    int                 spooling;   /* the open object goes to spool */
    hg_status_t         spool_st;   /* its first spool failure */
    hg_err_t            spool_err;
} _slot_t;

/* One container an entry is in: the part, or a container entry. */
typedef struct {
    char                path[HG_INSPECT_PATH_MAX + 1];
    char                format[FORMAT_MAX];
    hg_digests_t        digests;
} _cont_t;

/* The container part being looked into. */
typedef struct {
    hg_mail_scan_t         *ms;
    _slot_t                *slot;
    const hg_part_info_t   *info;   /* the part's */
    _cont_t                 cont[HG_RECORD_MAX_CONTAINERS];
    hg_record_container_t   rc[HG_RECORD_MAX_CONTAINERS];
    hg_status_t             cb_st;  /* the caller's callback stopped it */
} _insp_t;

struct hg_mail_scan_s {
    _slot_t             slot[MAIL_SLOTS];   /* in hg_mail_kind_t order */
    hg_scan_t          *eol_scan;   /* the open part, line ends converted */
    hg_eol_t            eol;
    int                 eol_open;   /* the open part is undecoded */
    hg_status_t         eol_st;
    hg_unpack_t        *u;          /* the open message, or NULL */
    hg_mail_scan_cb_t   cb;
    void               *ctx;

    /* archives */
    int                 inspect;    /* containers are opened */
    unsigned            images;     /* HG_INSPECT_IMAGES, _DIHEDRAL for the
                                     * open message; 0: none */
    hg_mail_inspect_t   mi;
    uint64_t            files_left; /* of the message's budget */
    uint64_t            bytes_left;
    _insp_t             insp;
    char               *ipath;      /* an inner file's part path */
    size_t              ipath_cap;

    /* one object that is no message */
    int                 obj_open;
    hg_part_info_t      obj_info;
    uint64_t            obj_bytes;
};

hg_mail_scan_t *
hg_mail_scan_new(hg_db_t *db, unsigned extra_algs)
{
    hg_mail_scan_t *ms = calloc(1, sizeof(*ms));
    int             i;

    if (ms == NULL) {
        return NULL;
    }
    for (i = 0; i < MAIL_SLOTS; i++) {
        ms->slot[i].ms = ms;
        ms->slot[i].kind = (hg_mail_kind_t) i;
        if ((ms->slot[i].scan = hg_scan_new(db, extra_algs)) == NULL) {
            hg_mail_scan_free(ms);
            return NULL;
        }
    }
    if ((ms->eol_scan = hg_scan_new(db, extra_algs)) == NULL) {
        hg_mail_scan_free(ms);
        return NULL;
    }
    return ms;
}

void
hg_mail_scan_free(hg_mail_scan_t *ms)
{
    int i;

    if (ms == NULL) {
        return;
    }
    hg_unpack_free(ms->u);
    for (i = 0; i < MAIL_SLOTS; i++) {
        hg_scan_free(ms->slot[i].scan);
        hg_spool_free(ms->slot[i].spool);
    }
    hg_scan_free(ms->eol_scan);
    free(ms->ipath);
    free(ms);
}

void
hg_mail_scan_set_parallel(hg_mail_scan_t *ms, hg_hash_par_t *par)
{
    int i;

    for (i = 0; i < MAIL_SLOTS; i++) {
        hg_scan_set_parallel(ms->slot[i].scan, par);
    }
    hg_scan_set_parallel(ms->eol_scan, par);
}

hg_db_t *
hg_mail_scan_db(const hg_mail_scan_t *ms)
{
    return hg_scan_db(ms->slot[HG_MAIL_PART].scan);
}

hg_status_t
hg_mail_scan_set_inspect(hg_mail_scan_t *ms, const hg_mail_inspect_t *mi,
                         hg_err_t *err)
{
    static const hg_mail_kind_t spooled[] = { HG_MAIL_PART, HG_MAIL_BLOCK };
    size_t                      i;
    _slot_t                    *sl;

    if (mi == NULL) {
        ms->inspect = 0;
        return HG_OK;
    }
    for (i = 0; i < sizeof(spooled) / sizeof(spooled[0]); i++) {
        sl = &ms->slot[spooled[i]];
        if (sl->spool == NULL && (sl->spool = hg_spool_new()) == NULL) {
            return hg_err_set(err, HG_ENOMEM, "mail scan: out of memory "
                              "for a spool");
        }
    }
    ms->mi = *mi;
    ms->inspect = 1;
    return HG_OK;
}

/* A new message or object: the archive budget is whole again, and images
 * are on or off for it (auto: by the database it is matched against). */
static void
_budget_reset(hg_mail_scan_t *ms)
{
    ms->files_left = ms->mi.limits.max_files;
    ms->bytes_left = ms->mi.limits.max_bytes;
    ms->images = 0;
    if (ms->inspect && hg_image_conf_active(&ms->mi.images,
                                            hg_mail_scan_db(ms)))
    {
        ms->images = HG_INSPECT_IMAGES
                     | (ms->mi.images.dihedral ? HG_INSPECT_DIHEDRAL : 0);
    }
}

/*
 * An image's object (HG_MAIL_IMAGE), after the object its bytes were
 * matched as: its PDQ hash matched when its quality is enough. in: the
 * containers it is in, or NULL for a part; d: its digests.
 */
static hg_status_t
_image_hand(hg_mail_scan_t *ms, _slot_t *s, const hg_part_info_t *info,
            uint64_t size, hg_mail_inner_t *in, const hg_digests_t *d,
            const hg_inspect_image_t *img)
{
    hg_mail_object_t    obj;
    hg_mail_image_t     mi;
    hg_part_stats_t     stats;
    hg_mail_reading_t  *r = &obj.reading[0];

    memset(&obj, 0, sizeof(obj));
    memset(&mi, 0, sizeof(mi));
    memset(&stats, 0, sizeof(stats));
    stats.decoded_bytes = size;
    obj.kind = HG_MAIL_IMAGE;
    obj.info = info;
    obj.stats = &stats;
    obj.nreadings = 1;
    obj.inner = in;
    obj.image = &mi;
    r->st = HG_OK;
    r->res.digests = *d;
    if (r->res.digests.size == 0) {
        r->res.digests.size = size;
    }
    mi.img = img;
    if (img->st != HG_OK) {
        mi.not_checked = img->st == HG_ELIMIT ? "image limit"
                                              : "image not decoded";
    } else if (img->pdq.quality < ms->mi.images.min_quality) {
        mi.low_quality = 1;
    } else {
        r->st = hg_scan_match_pdq(s->scan, &img->pdq, img->dihedral,
                                  &r->res);
    }
    return ms->cb(ms->ctx, &obj);
}

/* ---- archives: one container part, its entries as objects ---- */

static void
_copy_str(char *out, size_t outlen, const char *s)
{
    snprintf(out, outlen, "%s", s != NULL ? s : "");
}

/* The chain of an object at depth (1: in the part) into the record form. */
static size_t
_insp_chain(_insp_t *ic, unsigned depth)
{
    size_t  i, n = depth;

    if (n > HG_RECORD_MAX_CONTAINERS) {
        n = HG_RECORD_MAX_CONTAINERS;
    }
    for (i = 0; i < n; i++) {
        ic->rc[i].path = ic->cont[i].path;
        ic->rc[i].format = ic->cont[i].format[0] ? ic->cont[i].format : NULL;
        ic->rc[i].digests = &ic->cont[i].digests;
    }
    return n;
}

/* info's path followed by suffix, in ms->ipath; NULL when out of memory. */
static const char *
_inner_path(hg_mail_scan_t *ms, const char *path, const char *suffix)
{
    size_t  n = strlen(path) + strlen(suffix) + 1;
    char   *p;

    if (n > ms->ipath_cap) {
        if ((p = realloc(ms->ipath, n)) == NULL) {
            return NULL;
        }
        ms->ipath = p;
        ms->ipath_cap = n;
    }
    snprintf(ms->ipath, n, "%s%s", path, suffix);
    return ms->ipath;
}

/* An object of the part's inspection (not its entries' own) to the caller. */
static hg_status_t
_insp_hand(_insp_t *ic, hg_mail_kind_t kind, hg_mail_inner_t *in,
           hg_status_t st, uint64_t size)
{
    hg_mail_scan_t     *ms = ic->ms;
    hg_mail_object_t    obj;
    hg_part_stats_t     stats;

    memset(&obj, 0, sizeof(obj));
    memset(&stats, 0, sizeof(stats));
    stats.decoded_bytes = size;
    obj.kind = kind;
    obj.info = ic->info;
    obj.stats = &stats;
    obj.nreadings = 1;
    obj.reading[0].st = st;
    obj.reading[0].res.digests.size = size;
    in->ncontainers = _insp_chain(ic, 1);
    in->containers = ic->rc;
    obj.inner = in;
    return ms->cb(ms->ctx, &obj);
}

/* One file the helper found: matched here, handed over as a part. */
static hg_status_t
_insp_entry(void *ctx, const hg_inspect_entry_t *e)
{
    _insp_t            *ic = ctx;
    hg_mail_scan_t     *ms = ic->ms;
    hg_mail_object_t    obj;
    hg_mail_inner_t     in;
    hg_part_info_t      info;
    hg_part_stats_t     stats;
    hg_mail_reading_t  *r = &obj.reading[0];
    unsigned            d = e->depth;

    if (d < 1 || d > HG_INSPECT_MAX_DEPTH) {
        return ic->cb_st = HG_EINVAL;   /* the client checks replies */
    }
    /* the walk names the container it is in ("tar.gz" where the sniff
     * of the part said "gzip"): its word is kept */
    if (e->format != NULL && e->format[0] != '\0') {
        _copy_str(ic->cont[d - 1].format, FORMAT_MAX, e->format);
    }

    memset(&obj, 0, sizeof(obj));
    memset(&in, 0, sizeof(in));
    memset(&stats, 0, sizeof(stats));
    info = *ic->info;
    info.path = _inner_path(ms, ic->info->path,
                            e->chain != NULL ? e->chain : "");
    if (info.path == NULL) {
        return ic->cb_st = HG_ENOMEM;
    }
    info.filename = e->name;
    info.content_type = NULL;
    info.encoding = NULL;
    info.field_name = NULL;
    stats.decoded_bytes = e->size;

    in.entry = e;
    in.inner_path = e->path;
    in.ncontainers = _insp_chain(ic, d);
    in.containers = ic->rc;
    if (e->flags & (HG_INSPECT_F_ENCRYPTED | HG_INSPECT_F_UNREADABLE)) {
        in.encrypted = (e->flags & HG_INSPECT_F_ENCRYPTED) != 0;
        in.not_checked = in.encrypted ? "encrypted" : "unreadable";
        r->st = HG_OK;
        r->res.digests.size = e->size;
    } else {
        r->st = hg_scan_match(ic->slot->scan, &e->digests, &r->res);
    }
    obj.kind = HG_MAIL_INNER;
    obj.info = &info;
    obj.stats = &stats;
    obj.nreadings = 1;
    obj.inner = &in;

    /* its own files follow: it is the container at depth d for them */
    if ((e->flags & HG_INSPECT_F_CONTAINER) && d < HG_RECORD_MAX_CONTAINERS) {
        _copy_str(ic->cont[d].path, sizeof(ic->cont[d].path), e->path);
        ic->cont[d].format[0] = '\0';
        ic->cont[d].digests = e->digests;
    }
    ic->cb_st = ms->cb(ms->ctx, &obj);
    if (ic->cb_st == HG_OK && e->image != NULL) {
        in.not_checked = NULL;
        ic->cb_st = _image_hand(ms, ic->slot, &info, e->size, &in,
                                &e->digests, e->image);
    }
    return ic->cb_st;
}

/*
 * The part in slot s ended and was handed over: if it is a container,
 * look inside. Returns the callback's status (HG_ECANCEL once a reject is
 * sure), or HG_OK; a failure of the inspection itself is an object.
 */
static hg_status_t
_inspect(hg_mail_scan_t *ms, _slot_t *s, const hg_part_info_t *info,
         const hg_digests_t *part)
{
    _insp_t            *ic = &ms->insp;
    hg_inspect_limits_t lim = ms->mi.limits;
    hg_inspect_done_t   done;
    hg_inspect_image_t  img;
    hg_mail_inner_t     in;
    hg_inspector_t     *helper;
    hg_err_t            err;
    hg_status_t         st = HG_OK;
    const char         *format = NULL;
    uint64_t            size = 0;
    int                 fd = -1, r;

    memset(&done, 0, sizeof(done));
    memset(&in, 0, sizeof(in));
    err.msg[0] = '\0';
    s->spooling = 0;
    r = hg_spool_end(s->spool, &fd, &size, &format, &st, &err);
    if (r == 0 && s->spool_st == HG_OK) {
        return HG_OK;
    }

    ic->ms = ms;
    ic->slot = s;
    ic->info = info;
    ic->cb_st = HG_OK;
    _copy_str(ic->cont[0].path, sizeof(ic->cont[0].path), info->path);
    _copy_str(ic->cont[0].format, FORMAT_MAX, format);
    ic->cont[0].digests = *part;
    in.done = &done;

    /* an image past the image bytes limit: that limit's verdict */
    if (hg_spool_image(s->spool) != HG_IMAGE_NONE
        && (s->spool_st == HG_ELIMIT || (r < 0 && st == HG_ELIMIT)))
    {
        memset(&img, 0, sizeof(img));
        img.format = hg_spool_image(s->spool);
        img.st = HG_ELIMIT;
        snprintf(img.why, sizeof(img.why), "%.*s", (int) sizeof(img.why) - 1,
                 s->spool_st != HG_OK ? s->spool_err.msg : err.msg);
        return _image_hand(ms, s, info, size, NULL, part, &img);
    }
    if (s->spool_st != HG_OK || r < 0) {
        done.st = s->spool_st != HG_OK ? s->spool_st : st;
        if (done.st == HG_ELIMIT) {
            done.limit = HG_INSPECT_LIMIT_FILE_BYTES;
        }
        snprintf(done.why, sizeof(done.why), "%.*s",
                 (int) sizeof(done.why) - 1,
                 s->spool_st != HG_OK ? s->spool_err.msg : err.msg);
        return _insp_hand(ic, HG_MAIL_INSPECT_FAILED, &in, done.st, size);
    }

    /* what the parts before this one left of the message's budget */
    if (ms->files_left == 0 || ms->bytes_left == 0) {
        done.st = HG_ELIMIT;
        done.limit = ms->files_left == 0 ? HG_INSPECT_LIMIT_FILES
                                         : HG_INSPECT_LIMIT_BYTES;
        snprintf(done.why, sizeof(done.why), "the message's %s limit was "
                 "used up by the containers before this one",
                 hg_inspect_limit_name(done.limit));
        return _insp_hand(ic, HG_MAIL_INSPECT_FAILED, &in, done.st, size);
    }
    lim.max_files = ms->files_left;
    lim.max_bytes = ms->bytes_left;
    lim.images = ms->images;
    lim.image = ms->mi.images.limits;

    if ((helper = ms->mi.borrow(ms->mi.pool, &err)) == NULL) {
        done.st = HG_EIO;
        snprintf(done.why, sizeof(done.why), "no inspection helper: %.200s",
                 err.msg[0] ? err.msg : "none to be had");
        return _insp_hand(ic, HG_MAIL_INSPECT_FAILED, &in, done.st, size);
    }
    (void) hg_inspect_run(helper, fd, size, hg_scan_algs(s->scan), &lim,
                          _insp_entry, ic, &done);
    ms->mi.give_back(ms->mi.pool, helper);

    ms->files_left -= done.files < ms->files_left ? done.files
                                                   : ms->files_left;
    ms->bytes_left -= done.bytes < ms->bytes_left ? done.bytes
                                                   : ms->bytes_left;
    if (ic->cb_st != HG_OK) {
        return ic->cb_st;           /* the caller stopped it */
    }
    switch (done.st) {
    case HG_OK:
        if (done.image.format != HG_IMAGE_NONE) {
            return _image_hand(ms, s, info, size, NULL, part, &done.image);
        }
        return HG_OK;
    case HG_EFORMAT:
        /* what was read before the damage stands; the rest is unreadable */
        in.not_checked = "unreadable";
        return _insp_hand(ic, HG_MAIL_INNER, &in, HG_OK, size);
    default:
        return _insp_hand(ic, HG_MAIL_INSPECT_FAILED, &in, done.st, size);
    }
}

/* ---- the parser's callbacks; ctx is the slot the object goes into ---- */

/* A part or block begins: its bytes go to the spool too, archives on. */
static void
_spool_begin(_slot_t *s)
{
    hg_mail_scan_t *ms = s->ms;

    s->spooling = ms->inspect && s->spool != NULL;
    if (s->spooling) {
        hg_spool_images(s->spool, ms->images
                                  ? ms->mi.images.limits.max_bytes : 0);
        hg_spool_begin(s->spool, ms->mi.limits.max_file_bytes);
        s->spool_st = HG_OK;
        s->spool_err.msg[0] = '\0';
    }
}

static hg_status_t
_begin(void *ctx, const hg_part_info_t *info)
{
    _slot_t        *s = ctx;
    hg_mail_scan_t *ms = s->ms;

    s->st = hg_scan_begin(s->scan);
    _spool_begin(s);
    if (s->kind != HG_MAIL_PART) {
        return HG_OK;
    }
    /* decoded bytes are the same however the mail was stored */
    ms->eol_open = hg_eol_undecoded(info->encoding);
    if (ms->eol_open) {
        hg_eol_init(&ms->eol,
                    hg_unpack_lf_message(ms->u) ? HG_EOL_TO_CRLF
                                                : HG_EOL_TO_LF,
                    hg_eol_out_scan, ms->eol_scan);
        ms->eol_st = hg_scan_begin(ms->eol_scan);
    }
    return HG_OK;
}

static hg_status_t
_data(void *ctx, const unsigned char *buf, size_t len)
{
    _slot_t        *s = ctx;
    hg_mail_scan_t *ms = s->ms;

    if (s->st == HG_OK) {
        s->st = hg_scan_update(s->scan, buf, len);
    }
    if (s->spooling && s->spool_st == HG_OK) {
        s->spool_st = hg_spool_feed(s->spool, buf, len, &s->spool_err);
    }
    if (s->kind == HG_MAIL_PART && ms->eol_open && ms->eol_st == HG_OK) {
        ms->eol_st = hg_eol_update(&ms->eol, buf, len);
    }
    return HG_OK;
}

/*
 * End the open part's converted reading into r. Returns 1 if it is one
 * to hand over: its bytes differ from the part's, or it failed (a
 * reading that was not checked is never dropped).
 */
static int
_eol_end(hg_mail_scan_t *ms, hg_mail_reading_t *r)
{
    hg_status_t st = ms->eol_st;

    ms->eol_open = 0;
    if (st == HG_OK) {
        st = hg_eol_final(&ms->eol);
    }
    if (st == HG_OK) {
        st = hg_scan_end(ms->eol_scan, &r->res);
    }
    r->st = st;
    r->line_ends = ms->eol.mode == HG_EOL_TO_LF ? "LF" : "CRLF";
    return st != HG_OK || ms->eol.changed;
}

static hg_status_t
_end(void *ctx, const hg_part_info_t *info, const hg_part_stats_t *stats)
{
    _slot_t            *s = ctx;
    hg_mail_scan_t     *ms = s->ms;
    hg_mail_object_t    obj;
    hg_mail_reading_t  *r = &obj.reading[0];
    hg_digests_t        own;
    hg_status_t         st;

    r->st = s->st;
    r->line_ends = NULL;
    if (r->st == HG_OK) {
        r->st = hg_scan_end(s->scan, &r->res);
    }
    if (s->kind >= HG_MAIL_COPY_STRIP && stats->same_bytes) {
        return HG_OK;           /* judged with its part or a copy before */
    }
    obj.kind = s->kind;
    obj.info = info;
    obj.stats = stats;
    obj.nreadings = 1;
    obj.inner = NULL;
    obj.image = NULL;
    if (s->kind == HG_MAIL_PART && ms->eol_open
        && _eol_end(ms, &obj.reading[1]))
    {
        obj.nreadings = 2;
    }
    st = ms->cb(ms->ctx, &obj);
    if (st != HG_OK || !s->spooling) {
        s->spooling = 0;
        return st;
    }
    /* a part not checked itself was judged above (its status) */
    memset(&own, 0, sizeof(own));
    if (r->st == HG_OK) {
        own = r->res.digests;
    }
    return _inspect(ms, s, info, &own);
}

static const hg_unpack_cb_t _mail_cb = { _begin, _data, _end };

/* ---- a message ---- */

hg_status_t
hg_mail_scan_begin(hg_mail_scan_t *ms, const hg_unpack_limits_t *limits,
                   hg_mail_scan_cb_t cb, void *ctx, hg_err_t *err)
{
    _slot_t    *sl = ms->slot;
    hg_status_t st;

    hg_mail_scan_abort(ms);
    ms->cb = cb;
    ms->ctx = ctx;
    _budget_reset(ms);
    ms->u = hg_unpack_new(HG_UNPACK_MESSAGE, NULL, limits, &_mail_cb,
                          &sl[HG_MAIL_PART], err);
    if (ms->u == NULL) {
        return HG_ENOMEM;       /* a message has no boundary to refuse */
    }
    st = hg_unpack_set_embedded_cb(ms->u, &_mail_cb, &sl[HG_MAIL_BLOCK], err);
    if (st == HG_OK) {
        st = hg_unpack_set_copy_cb(ms->u, &_mail_cb, &sl[HG_MAIL_COPY_STRIP],
                                   err);
    }
    if (st == HG_OK) {
        st = hg_unpack_set_eol_copy_cb(ms->u, &_mail_cb,
                                       &sl[HG_MAIL_COPY_EOL],
                                       &sl[HG_MAIL_COPY_BOTH], err);
    }
    if (st != HG_OK) {
        hg_mail_scan_abort(ms);
    }
    return st;
}

hg_status_t
hg_mail_scan_feed(hg_mail_scan_t *ms, const void *buf, size_t len,
                  hg_err_t *err)
{
    if (ms->u == NULL) {
        return hg_err_set(err, HG_EINVAL, "mail scan: no message begun");
    }
    return hg_unpack_feed(ms->u, buf, len, err);
}

hg_status_t
hg_mail_scan_finish(hg_mail_scan_t *ms, hg_err_t *err)
{
    hg_status_t st;

    if (ms->u == NULL) {
        return hg_err_set(err, HG_EINVAL, "mail scan: no message begun");
    }
    st = hg_unpack_finish(ms->u, err);
    hg_mail_scan_abort(ms);
    return st;
}

void
hg_mail_scan_abort(hg_mail_scan_t *ms)
{
    if (ms == NULL) {
        return;
    }
    hg_unpack_free(ms->u);
    ms->u = NULL;
    ms->eol_open = 0;
    ms->obj_open = 0;
    ms->slot[HG_MAIL_PART].spooling = 0;
    ms->slot[HG_MAIL_BLOCK].spooling = 0;
}

/* ---- one object that is no message ---- */

hg_status_t
hg_mail_scan_object_begin(hg_mail_scan_t *ms, const hg_part_info_t *info,
                          hg_mail_scan_cb_t cb, void *ctx)
{
    hg_mail_scan_abort(ms);
    ms->cb = cb;
    ms->ctx = ctx;
    _budget_reset(ms);
    ms->obj_info = *info;
    ms->obj_open = 1;
    ms->obj_bytes = 0;
    /* _begin's line-end reading is for mail: a file has one form */
    ms->slot[HG_MAIL_PART].st = hg_scan_begin(ms->slot[HG_MAIL_PART].scan);
    _spool_begin(&ms->slot[HG_MAIL_PART]);
    return HG_OK;
}

hg_status_t
hg_mail_scan_object_feed(hg_mail_scan_t *ms, const void *buf, size_t len)
{
    if (!ms->obj_open) {
        return HG_EINVAL;
    }
    ms->obj_bytes += len;
    return _data(&ms->slot[HG_MAIL_PART], buf, len);
}

hg_status_t
hg_mail_scan_object_end(hg_mail_scan_t *ms)
{
    hg_part_stats_t stats;
    hg_status_t     st;

    if (!ms->obj_open) {
        return HG_EINVAL;
    }
    memset(&stats, 0, sizeof(stats));
    stats.decoded_bytes = ms->obj_bytes;
    st = _end(&ms->slot[HG_MAIL_PART], &ms->obj_info, &stats);
    ms->obj_open = 0;
    return st;
}
