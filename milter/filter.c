/*
 * filter.c - the libmilter callbacks: hand each message to libhashgate and
 * act on its verdict.
 *
 * A connection context (conn_t) hangs off smfi_setpriv and carries the
 * SMTP context (client, HELO, envelope) and the state of the message being
 * received. At MAIL FROM a message takes the current database (through
 * its mail scan, which holds references) and keeps it to its end, so a
 * reload never changes the rules in the middle of a message. Headers and
 * body go into the mail scan (common/scan/mail_scan.c) as they arrive;
 * each leaf part is hashed as it is decoded and decided when it ends, in
 * every reading of it. A part that must be rejected stops the scan at
 * once and the message is refused: from
 * xxfi_body over TCP, at end of message over a unix socket, where Postfix
 * is told not to wait for replies (see hgf_negotiate). Hold and tag are
 * applied at end of message, where libmilter allows them; a mail that goes
 * on loses there any TagHeader it came with (a sender's forgery).
 * Anything that stops a scan (a limit, malformed input the parser gives up
 * on, no memory) is merged with the parts decided so far (hg_verdict_fail):
 * a reject or hold already sure stands, anything weaker gets OnFail; never
 * a silent pass. A hold is made before the records are written, so they
 * say what was done (hg_decide_hold_failed when it cannot be). A match
 * whose record the evidence log does not take gets what
 * hg_decide_evidence_failed says (a reject or hold stands, a log or tag
 * gets OnFail) and its record goes to the log. _msg_cleanup is the one
 * cleanup for eom, abort, close and early verdicts, and is safe when
 * nothing was set.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "hashgate/magic.h"
#include "hashgate/mail_scan.h"
#include "milter.h"

/* Matching parts remembered per message until the verdict is final. Past
 * this, parts still decide, but get no further record: the first says so
 * in the log, the count of the others is logged with the records (an
 * archive of ten thousand encrypted files must not flood the log). */
#define MAX_HITS            256

/* SMTP strings kept for the record; longer ones are cut (they are names). */
#define CTX_STR_MAX         1024

#define TEMPFAIL_CODE       "451"
#define TEMPFAIL_XCODE      "4.3.0"
#define TEMPFAIL_TEXT       "Message could not be scanned, try again later"

/* A container a file inside an archive was in, kept for its record. */
typedef struct {
    char               *path;
    char                format[32];
    hg_digests_t        digests;
} hit_cont_t;

typedef struct {
    char               *path;
    char               *filename;
    char               *declared;
    char               *encoding;
    char                detected[128];
    hg_scan_result_t    res;        /* match strings point into the message's db */
    hg_verdict_t        v;
    int                 unrecorded; /* the evidence log did not take it */
    /* a file inside an archive */
    char               *inner_path;
    const char         *not_checked;    /* a constant ("encrypted"), or NULL */
    int                 has_image;      /* an image: image is its PDQ result */
    hg_inspect_image_t  image;
    size_t              ncont;
    hit_cont_t          cont[HG_RECORD_MAX_CONTAINERS];
} hit_t;

typedef struct conn_s conn_t;

struct conn_s {
    /* connection */
    unsigned long       noreply;    /* SMFIP_NR_* agreed with the MTA */
    sfsistat            deferred;   /* verdict waiting for eom, or -1 */
    char                client_addr[INET6_ADDRSTRLEN];
    char               *client_name;
    char               *helo;
    hg_mail_scan_t     *ms;         /* holds references to its database */

    /* message */
    int                 in_msg;
    int                 decided;    /* a final reply was given */
    int                 ignore;     /* scanning stopped (OnFail accept) */
    int                 scanning;   /* c->ms has the message open */
    char               *mail_from;
    char               *rcpts;      /* NUL-separated, ended by "" */
    size_t              rcpts_len;
    char               *message_id;
    unsigned            tag_hdrs;   /* incoming headers named TagHeader */
    char                queue_id[64];
    hg_verdict_t        verdict;    /* merged over the parts so far */
    int                 have_verdict;
    hit_t              *hits;
    size_t              nhits;
    size_t              hits_cap;
    size_t              hits_dropped;   /* past MAX_HITS */
    char                fail_msg[HG_ERR_MAX];
    /* metrics: the time in the scan, the end of the message reached,
     * the fail reason found where it happened (+1; 0: from the status) */
    uint64_t            m_busy_ns;
    uint64_t            m_end_ns;
    unsigned            m_reason;
};

static const hg_mconf_t    *conf;
static hg_hash_par_t        *hash_par;   /* ParallelDigests, or NULL */

/* Where sessions borrow archive inspection helpers (inspect.c). */
static hg_mail_inspect_t    inspect_source;

/* libmagic cookies are not thread-safe and slow to load: a small pool. */
static pthread_mutex_t      magic_lock = PTHREAD_MUTEX_INITIALIZER;
static hg_magic_t         **magic_pool;
static size_t               magic_n, magic_cap;

static hg_magic_t *
_magic_get(void)
{
    hg_magic_t *m = NULL;
    hg_err_t    err;

    pthread_mutex_lock(&magic_lock);
    if (magic_n > 0) {
        m = magic_pool[--magic_n];
    }
    pthread_mutex_unlock(&magic_lock);
    if (m == NULL && (m = hg_magic_new(&err)) == NULL) {
        hg_log(HG_LOG_WARNING, "libmagic: %s", err.msg);
    }
    return m;
}

static void
_magic_put(hg_magic_t *m)
{
    if (m == NULL) {
        return;
    }
    pthread_mutex_lock(&magic_lock);
    if (magic_n == magic_cap) {
        size_t       cap = magic_cap ? magic_cap * 2 : 8;
        hg_magic_t **p = realloc(magic_pool, cap * sizeof(*p));

        if (p == NULL) {
            pthread_mutex_unlock(&magic_lock);
            hg_magic_free(m);
            return;
        }
        magic_pool = p;
        magic_cap = cap;
    }
    magic_pool[magic_n++] = m;
    pthread_mutex_unlock(&magic_lock);
}

static char *
_strdup_max(const char *s)
{
    if (s == NULL) {
        return NULL;
    }
    return strndup(s, CTX_STR_MAX);
}

/*
 * A header value on one line, as the MTA logs it and an abuse team will
 * search for it (Postfix's "message-id=<...>"): the line breaks of a folded
 * value dropped, blanks around it trimmed. Cut at CTX_STR_MAX; NULL when
 * out of memory.
 */
static char *
_unfold_max(const char *v)
{
    char   *out;
    size_t  i, n = 0;

    while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n') {
        v++;
    }
    if ((out = _strdup_max(v)) == NULL) {
        return NULL;
    }
    for (i = 0; out[i] != '\0'; i++) {
        if (out[i] != '\r' && out[i] != '\n') {
            out[n++] = out[i];
        }
    }
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t')) {
        n--;
    }
    out[n] = '\0';
    return out;
}

/* The queue ID for a log line: "-" until the MTA has given one. */
static const char *
_qid(const conn_t *c)
{
    return c->queue_id[0] ? c->queue_id : "-";
}

static void
_queue_id(SMFICTX *ctx, conn_t *c)
{
    const char *v = smfi_getsymval(ctx, "i");

    if (v != NULL && *v != '\0') {
        snprintf(c->queue_id, sizeof(c->queue_id), "%s", v);
    }
}

/* The one cleanup: eom, abort, close and every early verdict. */
static void
_msg_cleanup(conn_t *c)
{
    size_t  i;

    if (c == NULL) {
        return;
    }
    hg_mail_scan_abort(c->ms);
    c->scanning = 0;
    free(c->mail_from);
    free(c->rcpts);
    free(c->message_id);
    for (i = 0; i < c->nhits; i++) {
        hit_t  *h = &c->hits[i];
        size_t  k;

        free(h->path);
        free(h->filename);
        free(h->declared);
        free(h->encoding);
        free(h->inner_path);
        for (k = 0; k < h->ncont; k++) {
            free(h->cont[k].path);
        }
    }
    free(c->hits);
    c->mail_from = c->rcpts = c->message_id = NULL;
    c->rcpts_len = 0;
    c->tag_hdrs = 0;
    c->hits = NULL;
    c->nhits = c->hits_cap = 0;
    c->hits_dropped = 0;
    c->queue_id[0] = '\0';
    c->fail_msg[0] = '\0';
    c->m_busy_ns = c->m_end_ns = 0;
    c->m_reason = 0;
    c->in_msg = c->decided = c->ignore = c->have_verdict = 0;
    memset(&c->verdict, 0, sizeof(c->verdict));
}

static void
_merge(conn_t *c, const hg_verdict_t *v)
{
    if (!c->have_verdict) {
        c->verdict = *v;
        c->have_verdict = 1;
    } else {
        hg_verdict_merge(&c->verdict, v);
    }
}

/* The message got its verdict: counted, with the time spent on it. */
static void
_metrics_done(conn_t *c)
{
    uint64_t    ns = c->m_busy_ns;

    if (c->m_end_ns != 0) {
        ns += hg_metrics_now_ns() - c->m_end_ns;
    }
    hg_metrics_scanned(hg_milter_metrics, HG_METRICS_MAIL, ns);
}

/* ---- the message's objects, one at a time (common/scan/mail_scan.c) ---- */

/*
 * Remember the part of obj (reading r) decided v for its record. Past
 * MAX_HITS only a log line. HG_ENOMEM when it cannot be kept.
 */
static hg_status_t
_hit_add(conn_t *c, const hg_mail_object_t *obj, const hg_mail_reading_t *r,
         const hg_verdict_t *v)
{
    const hg_part_info_t   *info = obj->info;
    const hg_mail_inner_t  *in = obj->inner;
    hit_t                  *h;
    size_t                  k;

    if (c->nhits == MAX_HITS) {
        if (c->hits_dropped++ == 0) {
            hg_log(HG_LOG_WARNING, "queue_id=%s part=%s: more than %d "
                   "matching or not-checked parts; no record for this one "
                   "or those after it", _qid(c), info->path, MAX_HITS);
        }
        return HG_OK;
    }
    if (c->nhits == c->hits_cap) {
        size_t  cap = c->hits_cap ? c->hits_cap * 2 : 4;
        hit_t  *p = realloc(c->hits, cap * sizeof(*p));

        if (p == NULL) {
            return HG_ENOMEM;
        }
        c->hits = p;
        c->hits_cap = cap;
    }
    h = &c->hits[c->nhits];
    memset(h, 0, sizeof(*h));
    h->path = _strdup_max(info->path);
    h->filename = _strdup_max(info->filename);
    h->declared = _strdup_max(info->content_type);
    h->encoding = _strdup_max(info->encoding);
    c->nhits++;
    if (h->path == NULL) {
        return HG_ENOMEM;
    }
    if (conf->detect_types && r->res.head_len > 0) {
        hg_magic_t *m = _magic_get();

        hg_magic_type(m, r->res.head, r->res.head_len, h->detected,
                      sizeof(h->detected));
        _magic_put(m);
    }
    h->res = r->res;
    h->res.head = NULL;
    h->res.head_len = 0;
    h->v = *v;
    if (obj->image != NULL) {
        h->has_image = 1;
        h->image = *obj->image->img;
        h->not_checked = obj->image->not_checked;
    }
    if (in == NULL) {
        return HG_OK;
    }
    if (obj->image == NULL) {
        h->not_checked = in->not_checked;
    }
    if (in->inner_path != NULL
        && (h->inner_path = _strdup_max(in->inner_path)) == NULL)
    {
        return HG_ENOMEM;
    }
    for (k = 0; k < in->ncontainers && k < HG_RECORD_MAX_CONTAINERS; k++) {
        hit_cont_t  *hc = &h->cont[k];

        if ((hc->path = _strdup_max(in->containers[k].path)) == NULL) {
            return HG_ENOMEM;
        }
        h->ncont = k + 1;
        snprintf(hc->format, sizeof(hc->format), "%s",
                 in->containers[k].format != NULL
                 ? in->containers[k].format : "");
        hc->digests = *in->containers[k].digests;
    }
    return HG_OK;
}

/*
 * A file inside an archive that could not be hashed (encrypted, or
 * unreadable: a method nothing reads, a damaged container): the action
 * configured for such files, and always a record, accept included, so
 * the mail's trace says what was not looked at.
 */
static hg_status_t
_not_checked(conn_t *c, const hg_mail_object_t *obj)
{
    const hg_mail_inner_t  *in = obj->inner;
    hg_verdict_t            v;
    hg_status_t             st;
    hg_action_t             a;

    a = in->encrypted ? conf->policy.archive_encrypted
                      : conf->policy.archive_unreadable;
    v = hg_decide_not_checked(&conf->policy, in->encrypted);
    hg_metrics_not_checked(hg_milter_metrics, HG_METRICS_MAIL,
                           in->encrypted ? HG_METRICS_NC_ENCRYPTED
                                         : HG_METRICS_NC_UNREADABLE);
    hg_log(HG_LOG_INFO, "queue_id=%s part=%s: %s, not checked%s%s; %s %s",
           _qid(c), obj->info->path, in->not_checked,
           in->done != NULL ? ": " : "",
           in->done != NULL ? in->done->why : "",
           in->encrypted ? "ArchiveEncrypted" : "ArchiveUnreadable",
           a == HG_ACT_NONE ? "accept" : hg_action_name(a));
    _merge(c, &v);
    if ((st = _hit_add(c, obj, &obj->reading[0], &v)) != HG_OK) {
        return st;
    }
    return hg_verdict_settled(&c->verdict) ? HG_ECANCEL : HG_OK;
}

/*
 * A container part not looked into to its end (a limit, the helper died,
 * hung or could not be had): the message gets the fail verdict, as for
 * any scan that stops (_fail), with the cause in its log line.
 */
static hg_status_t
_inspect_failed(conn_t *c, const hg_mail_object_t *obj)
{
    const hg_inspect_done_t    *d = obj->inner->done;
    hg_status_t                 st = obj->reading[0].st;

    c->m_reason = 1 + (st == HG_ELIMIT ? HG_METRICS_FAIL_LIMIT
                                       : HG_METRICS_FAIL_HELPER);
    if (st == HG_ELIMIT && d->limit != HG_INSPECT_LIMIT_NONE) {
        snprintf(c->fail_msg, sizeof(c->fail_msg), "part %s: archive not "
                 "checked: %s limit reached (%.300s)", obj->info->path,
                 hg_inspect_limit_name(d->limit), d->why);
    } else {
        snprintf(c->fail_msg, sizeof(c->fail_msg), "part %s: archive not "
                 "checked: %.400s", obj->info->path,
                 d->why[0] ? d->why : hg_status_str(st));
    }
    return st != HG_OK ? st : HG_EIO;
}

/* A reading of a part ended: decide, remember a match for its record. */
static hg_status_t
_part_done(conn_t *c, const hg_mail_object_t *obj,
           const hg_mail_reading_t *r)
{
    const hg_part_info_t   *info = obj->info;
    hg_verdict_t            v;
    hg_status_t             st;

    if (r->st != HG_OK) {
        if (hg_db_lost(hg_mail_scan_db(c->ms))) {
            c->m_reason = 1 + HG_METRICS_FAIL_DATABASE;
            hg_log(HG_LOG_ERR, "queue_id=%s part=%s: not checked: the "
                   "database file was truncated in place under its mapping",
                   _qid(c), info->path);
        }
        return r->st;
    }
    if (r->res.nmatches == 0) {
        return HG_OK;
    }
    v = hg_decide(&conf->policy, &r->res, HG_OK);
    if (!v.matched || v.intended == HG_ACT_NONE) {
        /* only allow-lists, or a block list cancelled by an allow-list */
        if (v.allowed_by != NULL) {
            hg_log(HG_LOG_INFO, "queue_id=%s part=%s on allow-list %s: "
                   "no action", _qid(c), info->path, v.allowed_by);
        }
        return HG_OK;
    }
    _merge(c, &v);
    if ((st = _hit_add(c, obj, r, &v)) != HG_OK) {
        return st;
    }
    if (obj->kind == HG_MAIL_IMAGE) {
        const hg_match_t   *m = &r->res.matches[0];
        char                hex[HG_PDQ_HEX_LEN + 1];

        hg_pdq_to_hex(&obj->image->img->pdq.hash, hex);
        hg_log(HG_LOG_INFO, "queue_id=%s part=%s matched by its PDQ hash %s "
               "(quality %d) at distance %d%s%s", _qid(c), info->path, hex,
               obj->image->img->pdq.quality, m->pdq_distance,
               m->pdq_via != HG_PDQ_ORIGINAL ? " as " : "",
               m->pdq_via != HG_PDQ_ORIGINAL
               ? hg_pdq_dihedral_name(m->pdq_via) : "");
    } else if (obj->kind == HG_MAIL_INNER) {
        hg_log(HG_LOG_INFO, "queue_id=%s part=%s matched inside %s",
               _qid(c), info->path, obj->inner->containers[0].format != NULL
               ? obj->inner->containers[0].format : "a container");
    } else if (obj->kind >= HG_MAIL_COPY_STRIP
               && obj->kind <= HG_MAIL_COPY_BOTH) {
        static const char *const how[3] = {
            "without the blanks ending its lines (as RFC 2045 readers "
            "decode it)",
            "with its line ends in the other form (as a Unix mailbox "
            "stores it)",
            "without the blanks ending its lines and with its line ends in "
            "the other form (as RFC 2045 readers decode it from a Unix "
            "mailbox)"
        };

        hg_log(HG_LOG_INFO, "queue_id=%s part=%s matched as "
               "quoted-printable %s", _qid(c), info->path,
               how[obj->kind - HG_MAIL_COPY_STRIP]);
    } else if (r->line_ends != NULL) {
        hg_log(HG_LOG_INFO, "queue_id=%s part=%s matched with its line ends "
               "as %s (as %s)", _qid(c), info->path, r->line_ends,
               r->line_ends[0] == 'L' ? "a Unix mailbox stores it"
                                      : "SMTP carries it");
    }
    /* reject as soon as the part ends: nothing more needs reading */
    return hg_verdict_settled(&c->verdict) ? HG_ECANCEL : HG_OK;
}

/*
 * An image's PDQ result (its bytes were matched as a part or an inner file
 * before): its matches decided like any part's; one that has no hash (it
 * did not decode, or an image limit) gets hg_decide_image's verdict
 * (ImageLimit for a limit, accept otherwise) and, like a file not checked
 * inside an archive, always a record.
 */
static hg_status_t
_image(conn_t *c, const hg_mail_object_t *obj)
{
    const hg_mail_image_t  *im = obj->image;
    hg_verdict_t            v;
    hg_status_t             st;

    if (im->not_checked == NULL) {
        if (im->low_quality) {
            hg_log(HG_LOG_DEBUG, "queue_id=%s part=%s: image quality %d "
                   "under PdqMinQuality %d: not matched", _qid(c),
                   obj->info->path, im->img->pdq.quality,
                   conf->images.min_quality);
        }
        return _part_done(c, obj, &obj->reading[0]);
    }
    v = hg_decide_image(&conf->policy, im->img->st);
    hg_log(HG_LOG_INFO, "queue_id=%s part=%s: %s, PDQ not checked: %s%s%s",
           _qid(c), obj->info->path, im->not_checked, im->img->why,
           im->img->st == HG_ELIMIT ? "; ImageLimit " : "",
           im->img->st != HG_ELIMIT ? ""
           : conf->policy.image_limit == HG_ACT_TEMPFAIL ? "fail"
           : conf->policy.image_limit == HG_ACT_NONE ? "accept"
           : hg_action_name(conf->policy.image_limit));
    if (v.failed) {
        snprintf(c->fail_msg, sizeof(c->fail_msg), "part %s: image not "
                 "checked: %.400s", obj->info->path, im->img->why);
    }
    _merge(c, &v);
    if ((st = _hit_add(c, obj, &obj->reading[0], &v)) != HG_OK) {
        return st;
    }
    return hg_verdict_settled(&c->verdict) ? HG_ECANCEL : HG_OK;
}

/*
 * Every reading of the object is decided and recorded, so the verdict and
 * the records show all the part matched; a reject among them wins over a
 * reading that could not be checked (the message is refused either way).
 */
static hg_status_t
_object(void *ctx, const hg_mail_object_t *obj)
{
    conn_t     *c = ctx;
    hg_status_t st, ret = HG_OK;
    unsigned    i;

    if (obj->kind == HG_MAIL_INSPECT_FAILED) {
        return _inspect_failed(c, obj);
    }
    if (obj->kind == HG_MAIL_IMAGE) {
        return _image(c, obj);
    }
    if (obj->inner != NULL && obj->inner->not_checked != NULL) {
        return _not_checked(c, obj);
    }
    if (obj->stats->decode_errors > 0) {
        hg_log(HG_LOG_DEBUG, "queue_id=%s part=%s: %llu undecodable bytes "
               "skipped", _qid(c), obj->info->path,
               (unsigned long long) obj->stats->decode_errors);
    }
    if (obj->kind <= HG_MAIL_BLOCK || obj->kind == HG_MAIL_INNER) {
        /* copies are readings of their part again: not counted */
        hg_metrics_part(hg_milter_metrics, HG_METRICS_MAIL,
                        obj->reading[0].res.digests.size);
    }
    for (i = 0; i < obj->nreadings; i++) {
        st = _part_done(c, obj, &obj->reading[i]);
        if (st == HG_ECANCEL || (st != HG_OK && ret == HG_OK)) {
            ret = st;
        }
    }
    return ret;
}

/* ---- acting ---- */

/* Fill r with hit h's record, its verdict fields v (hg_record_verdict);
 * cont is room for its containers. */
static void
_hit_record(conn_t *c, const hit_t *h, const hg_verdict_t *v,
            const char *held_at, hg_record_t *r,
            hg_record_container_t cont[HG_RECORD_MAX_CONTAINERS])
{
    size_t  k;

    memset(r, 0, sizeof(*r));
    for (k = 0; k < h->ncont; k++) {
        cont[k].path = h->cont[k].path;
        cont[k].format = h->cont[k].format[0] ? h->cont[k].format : NULL;
        cont[k].digests = &h->cont[k].digests;
    }
    r->containers = cont;
    r->ncontainers = h->ncont;
    r->inner_path = h->inner_path;
    r->not_checked = h->not_checked;
    r->image = h->has_image ? &h->image : NULL;
    r->channel = "smtp";
    r->part = h->path;
    r->filename = h->filename;
    r->declared_type = h->declared;
    r->detected_type = h->detected[0] ? h->detected : NULL;
    r->encoding = h->encoding;
    r->held_at = held_at;
    r->res = &h->res;
    r->verdict = v;
    hg_record_add(r, "client_addr", c->client_addr[0] ? c->client_addr : NULL);
    hg_record_add(r, "client_name", c->client_name);
    hg_record_add(r, "helo", c->helo);
    hg_record_add(r, "mail_from", c->mail_from);
    r->ctx[r->nctx].key = "rcpt_to";
    r->ctx[r->nctx].value = c->rcpts != NULL ? c->rcpts : "";
    r->ctx[r->nctx].is_array = 1;
    r->nctx++;
    hg_record_add(r, "message_id", c->message_id);
    hg_record_add(r, "queue_id", c->queue_id[0] ? c->queue_id : NULL);
}

/*
 * Write one record per matching part, each saying what is finally done
 * to the message (*final). When the evidence log does not take one, *final
 * becomes what may still be done (hg_decide_evidence_failed) and each
 * record not taken goes to the log with it. Returns HG_EIO then.
 */
static hg_status_t
_write_records(conn_t *c, hg_verdict_t *final, const char *held_at)
{
    hg_record_t     r;
    hg_record_container_t cont[HG_RECORD_MAX_CONTAINERS];
    hg_verdict_t    v;
    hg_action_t     was = final->action;
    hg_err_t        err, why;
    size_t          i, failed = 0;

    why.msg[0] = '\0';
    if (c->hits_dropped > 0) {
        hg_log(HG_LOG_WARNING, "queue_id=%s: %zu matching or not-checked "
               "parts past the first %d have no record", _qid(c),
               c->hits_dropped, MAX_HITS);
    }
    for (i = 0; i < c->nhits; i++) {
        hit_t  *h = &c->hits[i];

        v = hg_record_verdict(&h->v, final);
        hg_metrics_match(hg_milter_metrics, h->v.list, h->v.action);
        _hit_record(c, h, &v, held_at, &r, cont);
        err.msg[0] = '\0';
        h->unrecorded = hg_evidence_write(&r, &err) != HG_OK;
        if (h->unrecorded && failed++ == 0) {
            why = err;
        }
    }
    if (failed == 0) {
        return HG_OK;
    }

    *final = hg_decide_evidence_failed(&conf->policy, final);
    hg_metrics_evidence_failed(hg_milter_metrics, HG_METRICS_MAIL);
    if (final->action != was) {
        hg_metrics_fail(hg_milter_metrics, HG_METRICS_MAIL,
                        HG_METRICS_FAIL_EVIDENCE);
        hg_log(HG_LOG_ERR, "queue_id=%s: a match not recorded: %s instead "
               "of %s (OnFail)", _qid(c), hg_action_name(final->action),
               hg_action_name(was));
    }
    for (i = 0; i < c->nhits; i++) {
        hit_t  *h = &c->hits[i];

        if (h->unrecorded) {
            v = hg_record_verdict(&h->v, final);
            _hit_record(c, h, &v, held_at, &r, cont);
            hg_evidence_fallback(&r, why.msg);
        }
    }
    return HG_EIO;
}

/* The SMTP reply that goes with a refusal. */
static void
_set_reply(SMFICTX *ctx, sfsistat r)
{
    if (r == SMFIS_REJECT) {
        smfi_setreply(ctx, (char *) conf->reply_code,
                      (char *) conf->reply_xcode, conf->reply_text);
    } else if (r == SMFIS_TEMPFAIL) {
        smfi_setreply(ctx, TEMPFAIL_CODE, TEMPFAIL_XCODE, TEMPFAIL_TEXT);
    }
}

static sfsistat
_tempfail(SMFICTX *ctx, conn_t *c)
{
    _metrics_done(c);
    _set_reply(ctx, SMFIS_TEMPFAIL);
    _msg_cleanup(c);
    return SMFIS_TEMPFAIL;
}

static sfsistat _reject(SMFICTX *ctx, conn_t *c);

/* What a message whose scan stopped gets (v merged with the failure). */
static const char *
_fail_outcome(const hg_verdict_t *v)
{
    switch (v->action) {
    case HG_ACT_REJECT:
        return "rejected for an earlier part: 550";
    case HG_ACT_HOLD:
        return "held for an earlier part, the rest with it";
    case HG_ACT_TEMPFAIL:
        return "OnFail tempfail: 451";
    default:
        break;
    }
    /* log, tag or accept: the fail mode is accept */
    if (!conf->policy.monitor || conf->policy.on_fail_set) {
        return "OnFail accept: delivered unscanned";
    }
    /* in monitor mode without OnFail, intended says what would be done */
    switch (v->intended) {
    case HG_ACT_REJECT:
        return "MonitorOnly: delivered unscanned, would be rejected for an "
               "earlier part: 550";
    case HG_ACT_HOLD:
        return "MonitorOnly: delivered unscanned, would be held for an "
               "earlier part";
    default:
        return "MonitorOnly: delivered unscanned, would be OnFail "
               "tempfail: 451";
    }
}

/*
 * The scan stopped with st: the rest of the message is not scanned. What
 * it gets is the merge of its parts so far with the fail verdict, decided
 * in common/ for every channel (hg_verdict_fail): a reject or hold already
 * sure stands, anything weaker gets OnFail. A reject or a tempfail is
 * given now, with the records of the matches seen so far; anything else
 * (hold, tag, log, accept) is applied at end of message, where libmilter
 * allows it, and SMFIS_CONTINUE is returned.
 */
static sfsistat
_fail(SMFICTX *ctx, conn_t *c, hg_status_t st, const char *why)
{
    hg_verdict_t    fin;
    hg_action_t     a;

    c->have_verdict = 1;            /* from zero when nothing matched yet */
    a = hg_verdict_fail(&conf->policy, &c->verdict, st);
    c->ignore = 1;
    if (a != HG_ACT_REJECT && a != HG_ACT_HOLD) {
        /* not decided by an earlier part: the fail verdict */
        hg_metrics_fail(hg_milter_metrics, HG_METRICS_MAIL,
                        c->m_reason ? c->m_reason - 1
                                    : hg_metrics_fail_reason(st));
    }

    hg_log(HG_LOG_WARNING, "queue_id=%s client=%s: not scanned: %s (%s); "
           "%s", _qid(c),
           c->client_addr[0] ? c->client_addr : "-",
           why && *why ? why : "-", hg_status_str(st),
           _fail_outcome(&c->verdict));

    switch (a) {
    case HG_ACT_REJECT:
        return _reject(ctx, c);

    case HG_ACT_TEMPFAIL:
        /* the parts matched so far are recorded as deferred, and why */
        fin = c->verdict;
        (void) _write_records(c, &fin, NULL);
        return _tempfail(ctx, c);

    default:
        return SMFIS_CONTINUE;
    }
}

static sfsistat
_reject(SMFICTX *ctx, conn_t *c)
{
    hg_verdict_t    fin = c->verdict;

    /* a reject stands without its record (hg_decide_evidence_failed) */
    (void) _write_records(c, &fin, NULL);
    if (fin.action == HG_ACT_TEMPFAIL) {
        return _tempfail(ctx, c);
    }
    _metrics_done(c);
    _set_reply(ctx, SMFIS_REJECT);
    _msg_cleanup(c);
    return SMFIS_REJECT;
}

/*
 * Remove the headers named TagHeader the message came with, before it goes
 * on: downstream rules trust that header, so a sender must not bring his
 * own ("no match" on a listed mail, "match" on a clean one). Last first,
 * so the indexes of the others do not move.
 */
static void
_strip_tag_headers(SMFICTX *ctx, conn_t *c)
{
    unsigned    i;

    for (i = c->tag_hdrs; i > 0; i--) {
        if (smfi_chgheader(ctx, conf->tag_header, (int) i, NULL)
            != MI_SUCCESS)
        {
            hg_log(HG_LOG_ERR, "queue_id=%s: cannot remove an incoming %s "
                   "header (is the MTA allowing header changes?)", _qid(c),
                   conf->tag_header);
            return;
        }
    }
}

/* Feed bytes; on a final verdict returns it, else SMFIS_CONTINUE. */
static sfsistat
_feed(SMFICTX *ctx, conn_t *c, const void *buf, size_t len)
{
    hg_err_t    err;
    hg_status_t st;
    uint64_t    t0;

    if (c->ignore || !c->scanning) {
        return SMFIS_CONTINUE;
    }
    err.msg[0] = '\0';
    t0 = hg_metrics_now_ns();
    st = hg_mail_scan_feed(c->ms, buf, len, &err);
    c->m_busy_ns += hg_metrics_now_ns() - t0;
    if (st == HG_OK) {
        return SMFIS_CONTINUE;
    }
    if (st == HG_ECANCEL && c->have_verdict
        && hg_verdict_settled(&c->verdict))
    {
        return _reject(ctx, c);
    }
    return _fail(ctx, c, st, c->fail_msg[0] ? c->fail_msg : err.msg);
}

/* Feed "Name: value\r\n", turning bare LFs of folded lines into CRLF. */
static sfsistat
_feed_header(SMFICTX *ctx, conn_t *c, const char *name, const char *value)
{
    sfsistat    r;
    const char *s, *nl;

    if ((r = _feed(ctx, c, name, strlen(name))) != SMFIS_CONTINUE
        || (r = _feed(ctx, c, ": ", 2)) != SMFIS_CONTINUE)
    {
        return r;
    }
    for (s = value; (nl = strchr(s, '\n')) != NULL; s = nl + 1) {
        size_t  n = (size_t) (nl - s);

        if (n > 0 && s[n - 1] == '\r') {
            n--;
        }
        if ((r = _feed(ctx, c, s, n)) != SMFIS_CONTINUE
            || (r = _feed(ctx, c, "\r\n", 2)) != SMFIS_CONTINUE)
        {
            return r;
        }
    }
    if ((r = _feed(ctx, c, s, strlen(s))) != SMFIS_CONTINUE) {
        return r;
    }
    return _feed(ctx, c, "\r\n", 2);
}

/* ---- the callbacks ---- */

/*
 * Over a unix socket the milter asks Postfix not to wait for a reply to
 * the envelope commands, each header and each body chunk (SMFIP_NR_*): a
 * 2 MiB attachment is ~40 body chunks, each otherwise a round trip between
 * cleanup and the milter, and a small mail is mostly round trips.
 * A verdict reached there (reject, tempfail) is then given at end of
 * message, which changes nothing the SMTP client sees: Postfix has the
 * whole message before it asks the milter, and answers DATA only after
 * end of message. Scanning still stops as soon as the verdict is known.
 * Over TCP the replies stay: without them Postfix's small writes wait for
 * delayed ACKs (Nagle), ~40 ms each.
 */
#define NOREPLY_UNIX    (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL \
                         | SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_EOH \
                         | SMFIP_NR_BODY)

/*
 * Connection contexts alive: sessions libmilter still runs. smfi_main()
 * returns on SIGTERM without ending them (an idle one sits in a read), so
 * main() asks (hg_filter_sessions) before it frees what they use.
 */
static pthread_mutex_t  live_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned         live;

/* A new connection context, or NULL when out of memory. */
static conn_t *
_conn_new(void)
{
    conn_t *c = calloc(1, sizeof(*c));

    if (c != NULL) {
        c->deferred = -1;
        pthread_mutex_lock(&live_lock);
        live++;
        pthread_mutex_unlock(&live_lock);
    }
    return c;
}

static sfsistat
hgf_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
              unsigned long f2, unsigned long f3, unsigned long *pf0,
              unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    conn_t *c = smfi_getpriv(ctx);

    (void) f2;
    (void) f3;
    if (c == NULL && (c = _conn_new()) != NULL) {
        smfi_setpriv(ctx, c);
    }
    *pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE);
    *pf1 = f1 & SMFIP_NOUNKNOWN;
    if (c != NULL && conf->socket_path != NULL) {
        c->noreply = f1 & NOREPLY_UNIX;
        *pf1 |= c->noreply | (f1 & SMFIP_NODATA);
    }
    *pf2 = 0;
    *pf3 = 0;
    return SMFIS_CONTINUE;
}

/* The reply of a callback whose step may have SMFIP_NR_* agreed. */
static sfsistat
_reply(conn_t *c, unsigned long step, sfsistat r)
{
    if (c == NULL || !(c->noreply & step)) {
        return r;
    }
    if (r != SMFIS_CONTINUE && c->deferred == -1) {
        c->deferred = r;
    }
    return SMFIS_NOREPLY;
}

static sfsistat
_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
    conn_t *c = smfi_getpriv(ctx);

    if (c == NULL) {
        c = _conn_new();
    }
    if (c == NULL) {
        hg_log(HG_LOG_ERR, "connect: out of memory");
        return conf->policy.on_fail == HG_FAIL_ACCEPT ? SMFIS_ACCEPT
                                                      : SMFIS_TEMPFAIL;
    }
    if (sa != NULL && sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *) sa)->sin_addr,
                  c->client_addr, sizeof(c->client_addr));
    } else if (sa != NULL && sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *) sa)->sin6_addr,
                  c->client_addr, sizeof(c->client_addr));
    }
    c->client_name = _strdup_max(hostname);
    smfi_setpriv(ctx, c);
    return SMFIS_CONTINUE;
}

static sfsistat
hgf_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
    sfsistat    r = _connect(ctx, hostname, sa);

    return _reply(smfi_getpriv(ctx), SMFIP_NR_CONN, r);
}

static sfsistat
hgf_helo(SMFICTX *ctx, char *helo)
{
    conn_t *c = smfi_getpriv(ctx);

    if (c != NULL) {
        free(c->helo);
        c->helo = _strdup_max(helo);
    }
    return _reply(c, SMFIP_NR_HELO, SMFIS_CONTINUE);
}

static sfsistat
_envfrom(SMFICTX *ctx, char **argv)
{
    conn_t     *c = smfi_getpriv(ctx);
    hg_db_t    *db;
    hg_err_t    err;
    const char *from = argv[0];
    size_t      n;

    if (c == NULL) {
        return SMFIS_TEMPFAIL;
    }
    _msg_cleanup(c);
    c->deferred = -1;
    c->in_msg = 1;
    _queue_id(ctx, c);

    n = strlen(from);
    if (n >= 2 && from[0] == '<' && from[n - 1] == '>') {
        c->mail_from = strndup(from + 1, n - 2 < CTX_STR_MAX ? n - 2 : CTX_STR_MAX);
    } else {
        c->mail_from = _strdup_max(from);
    }

    /* the database this message will be scanned with, to its end */
    db = hg_reload_current();
    if (db == NULL) {
        c->m_reason = 1 + HG_METRICS_FAIL_DATABASE;
        return _fail(ctx, c, HG_ENOENT, "no database loaded");
    }
    if (c->ms == NULL || hg_mail_scan_db(c->ms) != db) {
        hg_mail_scan_free(c->ms);
        c->ms = hg_mail_scan_new(db, 0);
        if (c->ms != NULL) {
            hg_mail_scan_set_parallel(c->ms, hash_par);
        }
        if (c->ms != NULL && conf->archives
            && hg_mail_scan_set_inspect(c->ms, &inspect_source, &err)
               != HG_OK)
        {
            hg_mail_scan_free(c->ms);
            c->ms = NULL;
        }
    }
    hg_db_close(db);
    if (c->ms == NULL || c->mail_from == NULL) {
        return _fail(ctx, c, HG_ENOMEM, "cannot start a scan");
    }
    err.msg[0] = '\0';
    if (hg_mail_scan_begin(c->ms, &conf->limits, _object, c, &err) != HG_OK) {
        return _fail(ctx, c, HG_ENOMEM, err.msg);
    }
    c->scanning = 1;
    return SMFIS_CONTINUE;
}

static sfsistat
hgf_envfrom(SMFICTX *ctx, char **argv)
{
    sfsistat    r = _envfrom(ctx, argv);

    return _reply(smfi_getpriv(ctx), SMFIP_NR_MAIL, r);
}

static sfsistat
_envrcpt(SMFICTX *ctx, char **argv)
{
    conn_t     *c = smfi_getpriv(ctx);
    const char *r = argv[0];
    size_t      n = strlen(r);
    char       *p;

    if (c == NULL || !c->in_msg) {
        return SMFIS_CONTINUE;
    }
    if (n >= 2 && r[0] == '<' && r[n - 1] == '>') {
        r++;
        n -= 2;
    }
    if (n > CTX_STR_MAX) {
        n = CTX_STR_MAX;
    }
    /* items, each NUL-ended, then the final "" */
    p = realloc(c->rcpts, c->rcpts_len + n + 2);
    if (p == NULL) {
        /*
         * Refuse this recipient only. A tempfail at RCPT never ends the
         * message (the MTA goes on with the other recipients), so the
         * message must stay in scanning: cleaning it up here, as _fail
         * does, would let it through unscanned for the others.
         */
        hg_log(HG_LOG_WARNING, "queue_id=%s client=%s: out of memory for "
               "a recipient; 451 for that recipient",
               _qid(c),
               c->client_addr[0] ? c->client_addr : "-");
        _set_reply(ctx, SMFIS_TEMPFAIL);
        return SMFIS_TEMPFAIL;
    }
    memcpy(p + c->rcpts_len, r, n);
    c->rcpts_len += n + 1;
    p[c->rcpts_len - 1] = '\0';
    p[c->rcpts_len] = '\0';
    c->rcpts = p;
    _queue_id(ctx, c);
    return SMFIS_CONTINUE;
}

static sfsistat
hgf_envrcpt(SMFICTX *ctx, char **argv)
{
    sfsistat    r = _envrcpt(ctx, argv);

    return _reply(smfi_getpriv(ctx), SMFIP_NR_RCPT, r);
}

/*
 * Nothing to decide at DATA, but having this callback matters over TCP:
 * without it Postfix sends the DATA-stage macros with no reply expected,
 * the milter's kernel delays its ACK, and the cleanup server's next small
 * write waits for that ACK under Nagle: ~40 ms per mail. A reply to DATA
 * carries the ACK at once.
 */
static sfsistat
hgf_data(SMFICTX *ctx)
{
    conn_t *c = smfi_getpriv(ctx);

    if (c != NULL && c->in_msg) {
        _queue_id(ctx, c);
    }
    return SMFIS_CONTINUE;
}

static sfsistat
hgf_header(SMFICTX *ctx, char *name, char *value)
{
    conn_t *c = smfi_getpriv(ctx);

    if (c == NULL || !c->in_msg) {
        return _reply(c, SMFIP_NR_HDR, SMFIS_CONTINUE);
    }
    if (!strcasecmp(name, conf->tag_header)) {
        c->tag_hdrs++;
    }
    if (c->message_id == NULL && !strcasecmp(name, "Message-ID")) {
        c->message_id = _unfold_max(value);
    }
    return _reply(c, SMFIP_NR_HDR, _feed_header(ctx, c, name, value));
}

static sfsistat
hgf_eoh(SMFICTX *ctx)
{
    conn_t *c = smfi_getpriv(ctx);

    if (c == NULL || !c->in_msg) {
        return _reply(c, SMFIP_NR_EOH, SMFIS_CONTINUE);
    }
    _queue_id(ctx, c);
    return _reply(c, SMFIP_NR_EOH, _feed(ctx, c, "\r\n", 2));
}

static sfsistat
hgf_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    conn_t *c = smfi_getpriv(ctx);

    if (c == NULL || !c->in_msg) {
        return _reply(c, SMFIP_NR_BODY, SMFIS_CONTINUE);
    }
    return _reply(c, SMFIP_NR_BODY, _feed(ctx, c, chunk, len));
}

static sfsistat
hgf_eom(SMFICTX *ctx)
{
    conn_t         *c = smfi_getpriv(ctx);
    hg_err_t        err;
    hg_status_t     st;
    hg_verdict_t    fin;
    sfsistat        r;
    char            held_at[128], hdr[256];
    const char     *list;

    if (c != NULL && c->deferred != -1) {
        /* decided in a callback that could not reply; cleaned up then */
        r = c->deferred;
        c->deferred = -1;
        _set_reply(ctx, r);
        return r;
    }
    if (c == NULL || !c->in_msg) {
        return SMFIS_CONTINUE;
    }
    _queue_id(ctx, c);
    c->m_end_ns = hg_metrics_now_ns();
    if (!c->ignore && c->scanning) {
        err.msg[0] = '\0';
        c->scanning = 0;
        st = hg_mail_scan_finish(c->ms, &err);
        if (st == HG_ECANCEL && c->have_verdict
            && hg_verdict_settled(&c->verdict))
        {
            return _reject(ctx, c);
        }
        if (st != HG_OK
            && (r = _fail(ctx, c, st, c->fail_msg[0] ? c->fail_msg : err.msg))
               != SMFIS_CONTINUE)
        {
            return r;
        }
    }
    _strip_tag_headers(ctx, c);
    if (!c->have_verdict) {
        /* a scan that stopped has one (_fail) */
        hg_log(HG_LOG_DEBUG, "queue_id=%s: clean", _qid(c));
        _metrics_done(c);
        _msg_cleanup(c);
        return SMFIS_CONTINUE;
    }

    if (c->verdict.action == HG_ACT_REJECT) {
        return _reject(ctx, c);
    }
    fin = c->verdict;
    list = fin.list != NULL ? fin.list : "-";

    /*
     * As nginx does with its hold file: first the hold, which can fail,
     * then the records, saying what was really done; a hold not made gets
     * the fail verdict (hg_decide_hold_failed). A record not written then
     * leaves a hold standing (hg_decide_evidence_failed).
     */
    held_at[0] = '\0';
    if (fin.action == HG_ACT_HOLD) {
        if (fin.list != NULL) {
            snprintf(hdr, sizeof(hdr), "hashgate: matched list %s", list);
        } else {
            /* ArchiveEncrypted, ArchiveUnreadable or ImageLimit hold */
            snprintf(hdr, sizeof(hdr), "hashgate: an archive or image "
                     "could not be checked");
        }
        if (smfi_quarantine(ctx, hdr) == MI_SUCCESS) {
            snprintf(held_at, sizeof(held_at), "postfix hold queue, queue "
                     "id %s", c->queue_id[0] ? c->queue_id : "unknown");
        } else {
            fin = hg_decide_hold_failed(&conf->policy, &fin, HG_EIO);
            hg_metrics_fail(hg_milter_metrics, HG_METRICS_MAIL,
                            HG_METRICS_FAIL_HOLD);
            hg_log(HG_LOG_ERR, "queue_id=%s: smfi_quarantine failed (is "
                   "the MTA allowing quarantine?); %s", _qid(c),
                   fin.action == HG_ACT_TEMPFAIL
                   ? "OnFail tempfail: 451"
                   : "OnFail accept: delivered, not held");
        }
    }
    /* without its record a match may do less (hg_decide_evidence_failed) */
    (void) _write_records(c, &fin, held_at[0] ? held_at : NULL);

    switch (fin.action) {
    case HG_ACT_TEMPFAIL:
        return _tempfail(ctx, c);

    case HG_ACT_HOLD:
        /* quarantined above */
        break;

    case HG_ACT_TAG:
    case HG_ACT_LOG:
        if (fin.action == HG_ACT_TAG || conf->policy.monitor) {
            /* no list: the ArchiveEncrypted / ArchiveUnreadable action */
            const char *what = fin.list != NULL ? "match" : "not checked";

            if (conf->policy.monitor) {
                snprintf(hdr, sizeof(hdr), "%s; list=%s; action=log; "
                         "monitor=%s", what, list,
                         hg_action_name(fin.intended));
            } else {
                snprintf(hdr, sizeof(hdr), "%s; list=%s; action=tag", what,
                         list);
            }
            if (smfi_addheader(ctx, conf->tag_header, hdr) != MI_SUCCESS) {
                hg_log(HG_LOG_ERR, "queue_id=%s: smfi_addheader failed",
                       _qid(c));
            }
        }
        break;

    default:
        /* accept: a failure with OnFail accept, or a hold not made */
        break;
    }
    _metrics_done(c);
    _msg_cleanup(c);
    return SMFIS_CONTINUE;
}

static sfsistat
hgf_abort(SMFICTX *ctx)
{
    conn_t *c = smfi_getpriv(ctx);

    if (c != NULL) {
        _msg_cleanup(c);
        c->deferred = -1;
    }
    return SMFIS_CONTINUE;
}

static sfsistat
hgf_close(SMFICTX *ctx)
{
    conn_t *c = smfi_getpriv(ctx);

    if (c != NULL) {
        _msg_cleanup(c);
        hg_mail_scan_free(c->ms);
        free(c->client_name);
        free(c->helo);
        free(c);
        smfi_setpriv(ctx, NULL);
        pthread_mutex_lock(&live_lock);
        live--;
        pthread_mutex_unlock(&live_lock);
    }
    return SMFIS_CONTINUE;
}

static struct smfiDesc hgf_desc = {
    HG_MILTER_NAME,                     /* filter name */
    SMFI_VERSION,                       /* libmilter version code */
    SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE,
                                        /* tag header, forged ones out;
                                         * hold queue */
    hgf_connect,                        /* connection info */
    hgf_helo,                           /* SMTP HELO */
    hgf_envfrom,                        /* envelope sender: a message starts */
    hgf_envrcpt,                        /* envelope recipient */
    hgf_header,                         /* header, fed to the parser */
    hgf_eoh,                            /* end of header */
    hgf_body,                           /* body block, fed to the parser */
    hgf_eom,                            /* end of message: hold, tag */
    hgf_abort,                          /* message aborted */
    hgf_close,                          /* connection cleanup */
    NULL,                               /* unknown SMTP command */
    hgf_data,                           /* DATA: a reply, see hgf_data */
    hgf_negotiate                       /* options: no replies over unix */
};

int
hg_filter_register(const hg_mconf_t *c)
{
    conf = c;
    hg_inspect_pool_source(c, &inspect_source);
    return smfi_register(hgf_desc);
}

/*
 * ParallelDigests: one helper thread for each online CPU but one (at least
 * one, at most 8), shared by all sessions; a session finding them all busy
 * hashes alone (common/scan/hash_par.c).
 */
hg_status_t
hg_filter_parallel_start(const hg_mconf_t *c, hg_err_t *err)
{
    long        n;

    if (c->parallel_digests == 0) {
        return HG_OK;
    }
    n = sysconf(_SC_NPROCESSORS_ONLN) - 1;
    n = n < 1 ? 1 : n > 8 ? 8 : n;
    hash_par = hg_hash_par_new(c->parallel_digests, (unsigned) n, err);
    return hash_par != NULL ? HG_OK : HG_ENOMEM;
}

unsigned
hg_filter_sessions(void)
{
    unsigned    n;

    pthread_mutex_lock(&live_lock);
    n = live;
    pthread_mutex_unlock(&live_lock);
    return n;
}

void
hg_filter_shutdown(void)
{
    size_t  i;

    pthread_mutex_lock(&magic_lock);
    for (i = 0; i < magic_n; i++) {
        hg_magic_free(magic_pool[i]);
    }
    free(magic_pool);
    magic_pool = NULL;
    magic_n = magic_cap = 0;
    pthread_mutex_unlock(&magic_lock);

    hg_hash_par_free(hash_par);
    hash_par = NULL;
}
