/*
 * record.c - evidence records: one JSON line per match, never content.
 *
 * A record is what an abuse team needs to file a report and to find the
 * preserved item: when, on which channel, what was done (and, in monitor
 * mode, what would have been), which lists matched with which digest, the
 * object's digests, size, names and types, and the channel's context. The
 * object's bytes are never written: res->head is deliberately not used here.
 *
 * A record describes one matching part and says what was done to its
 * message or request as a whole: hg_record_verdict() builds its verdict
 * fields from the part's own verdict and the final one, so every channel
 * fills them alike. "monitor" is true only in monitor mode;
 * "intended_action" is written only where the part's own action was
 * replaced by monitor mode or by a failure (the fail verdict), never
 * because another part of the same message asked for more.
 *
 * Each item of "lists" is {list, version, algorithm, digest, label, and
 * "listed": the file's other digests as the list gives them, for the
 * algorithms not computed, when the list gives more than the one matched}.
 * A PDQ match (an image near a listed PDQ hash) is an item with
 * "algorithm": "pdq", "digest" the image's PDQ hash (the dihedral one that
 * came nearest), "distance" in bits, "dihedral" when that hash was not the
 * image's own ("rotate90", "flipx", ...), and "listed": {"pdq": the entry,
 * "quality": the list's quality for it, when given}.
 *
 * An image (issue 17) has "image": {format, width, height, and either
 * "pdq" and "quality", or "why" it has no hash}, after "containers". All
 * of these are fields added to version 1: readers that do not know them
 * skip them.
 *
 * Field order is fixed (record_version, time, channel, action,
 * intended_action, monitor, lists, allowed_by, error, md5, sha1, sha256,
 * size, part, inner_path, filename, declared_type, detected_type,
 * encoding, held_at, not_checked, parse_stopped, parse_stopped_at,
 * containers, image, then the context pairs in
 * the order added). Optional fields
 * whose value is NULL are left out; a context pair with a NULL value is
 * written as null.
 *
 * A file found inside an archive is a part of its own: "part" is the whole
 * chain ("2!photos/a.jpg"), "inner_path" its path in the innermost
 * container, "filename" its name, and "containers" each container it was
 * in, outermost (the attachment itself) first, with the container's own
 * digests, so a report can name the archive that carried it as well. A
 * file that could not be hashed (encrypted, unreadable) has no digests:
 * its size is the one the archive declares and "not_checked" says why.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hashgate/record.h"
#include "util/utf8.h"

/*
 * Build the verdict fields of a part's record; see record.h. Neither
 * argument is changed; strings in the result point where part's did.
 */
hg_verdict_t
hg_record_verdict(const hg_verdict_t *part, const hg_verdict_t *final)
{
    hg_verdict_t  v = *part;
    int           fail_verdict;

    v.action = final->action;
    v.failed = final->failed;
    v.fail_status = final->fail_status;
    v.monitor = final->monitor || part->monitor;

    /* the failure decided only when the fail verdict is what was done: a
     * reject that outranked a part that could not be scanned is a reject */
    fail_verdict = final->failed && (final->action == HG_ACT_TEMPFAIL
                                     || final->action == HG_ACT_ACCEPT);
    if (!v.monitor && !fail_verdict) {
        v.intended = v.action;
    }
    return v;
}

void
hg_record_add(hg_record_t *r, const char *key, const char *value)
{
    if (r->nctx >= HG_RECORD_MAX_CTX) {
        return;
    }
    r->ctx[r->nctx].key = key;
    r->ctx[r->nctx].value = value;
    r->ctx[r->nctx].is_array = 0;
    r->nctx++;
}

/* RFC 3339 UTC with milliseconds: 2026-11-26T05:11:30.123Z */
void
hg_time_rfc3339(char *out, size_t outlen)
{
    struct timespec  ts;
    struct tm        tm;
    char             sec[24];

    if (out == NULL || outlen == 0) {
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, outlen, "%s.%03ldZ", sec, ts.tv_nsec / 1000000L);
}

static void
_record_kv_opt(hg_json_t *j, const char *key, const char *value)
{
    if (value != NULL) {
        hg_json_kv_str(j, key, value);
    }
}

/* value holds NUL-separated items ended by an empty one. */
static void
_record_array(hg_json_t *j, const char *value)
{
    const char  *p;

    hg_json_arr_begin(j);
    for (p = value; *p != '\0'; p += strlen(p) + 1) {
        hg_json_str(j, p);
    }
    hg_json_arr_end(j);
}

/* The digests in d, then its size, into the open object. */
static void
_record_digests(hg_json_t *j, const hg_digests_t *d)
{
    char    hex[HG_HEX_MAX];
    int     a;

    for (a = 0; a < HG_ALG_COUNT; a++) {
        if (d->algs & HG_ALG_BIT(a)) {
            hg_hex_encode(d->d[a], hg_alg_len((hg_alg_t) a), hex);
            hg_json_kv_str(j, hg_alg_name((hg_alg_t) a), hex);
        }
    }
    hg_json_kv_uint(j, "size", d->size);
}

/* The containers of a file found inside archives, outermost first. */
static void
_record_containers(hg_json_t *j, const hg_record_t *r)
{
    const hg_record_container_t *c;
    size_t                       i;

    hg_json_key(j, "containers");
    hg_json_arr_begin(j);
    for (i = 0; i < r->ncontainers && i < HG_RECORD_MAX_CONTAINERS; i++) {
        c = &r->containers[i];
        hg_json_obj_begin(j);
        _record_kv_opt(j, "path", c->path);
        _record_kv_opt(j, "format", c->format);
        if (c->digests != NULL) {
            _record_digests(j, c->digests);
        }
        hg_json_obj_end(j);
    }
    hg_json_arr_end(j);
}

/* The rest of a PDQ match's item: the image's hash that came nearest,
 * the distance, the dihedral, the entry as listed. */
void
hg_record_pdq_match(hg_json_t *j, const hg_match_t *m,
                    const hg_inspect_image_t *img)
{
    char  hex[HG_PDQ_HEX_LEN + 1];

    hg_json_kv_str(j, "algorithm", "pdq");
    if (img != NULL && img->st == HG_OK
        && (unsigned) m->pdq_via < HG_PDQ_DIHEDRAL_COUNT)
    {
        hg_pdq_to_hex(m->pdq_via == HG_PDQ_ORIGINAL ? &img->pdq.hash
                      : &img->pdq.dihedral[m->pdq_via], hex);
        hg_json_kv_str(j, "digest", hex);
    }
    hg_json_kv_str(j, "label", m->label);
    hg_json_kv_uint(j, "distance", (uint64_t) m->pdq_distance);
    if (m->pdq_via != HG_PDQ_ORIGINAL) {
        hg_json_kv_str(j, "dihedral", hg_pdq_dihedral_name(m->pdq_via));
    }
    hg_json_key(j, "listed");
    hg_json_obj_begin(j);
    hg_pdq_to_hex(&m->pdq_listed, hex);
    hg_json_kv_str(j, "pdq", hex);
    if (m->pdq_listed_quality >= 0) {
        hg_json_kv_uint(j, "quality", (uint64_t) m->pdq_listed_quality);
    }
    hg_json_obj_end(j);
}

/* An image's own fields. */
static void
_record_image(hg_json_t *j, const hg_inspect_image_t *img)
{
    char  hex[HG_PDQ_HEX_LEN + 1];

    hg_json_key(j, "image");
    hg_json_obj_begin(j);
    hg_json_kv_str(j, "format", hg_image_format_name(img->format));
    if (img->width > 0 && img->height > 0) {
        hg_json_kv_uint(j, "width", img->width);
        hg_json_kv_uint(j, "height", img->height);
    }
    if (img->st == HG_OK) {
        hg_pdq_to_hex(&img->pdq.hash, hex);
        hg_json_kv_str(j, "pdq", hex);
        hg_json_kv_uint(j, "quality", (uint64_t) img->pdq.quality);
    } else {
        hg_json_kv_str(j, "why", img->why[0] ? img->why
                                             : hg_status_str(img->st));
    }
    hg_json_obj_end(j);
}

static void
_record_lists(hg_json_t *j, const hg_scan_result_t *res,
              const hg_inspect_image_t *img)
{
    const hg_match_t  *m;
    char               hex[HG_HEX_MAX];
    size_t             i;
    int                a;

    hg_json_key(j, "lists");
    hg_json_arr_begin(j);
    for (i = 0; i < res->nmatches && i < HG_SCAN_MAX_MATCHES; i++) {
        m = &res->matches[i];
        hg_json_obj_begin(j);
        hg_json_kv_str(j, "list", m->list_name);
        hg_json_kv_str(j, "version", m->list_version);
        if (m->pdq) {
            hg_record_pdq_match(j, m, img);
            hg_json_obj_end(j);
            continue;
        }
        hg_json_kv_str(j, "algorithm", hg_alg_name(m->alg));
        if ((unsigned) m->alg < HG_ALG_COUNT
            && (res->digests.algs & HG_ALG_BIT(m->alg))) {
            hg_hex_encode(res->digests.d[m->alg], hg_alg_len(m->alg), hex);
            hg_json_kv_str(j, "digest", hex);
        }
        hg_json_kv_str(j, "label", m->label);
        if (m->listed.algs & HG_ALGS_ALL) {
            /* the file's other digests as the list gives them, not computed */
            hg_json_key(j, "listed");
            hg_json_obj_begin(j);
            for (a = 0; a < HG_ALG_COUNT; a++) {
                if (m->listed.algs & HG_ALG_BIT(a)) {
                    hg_hex_encode(m->listed.d[a], hg_alg_len((hg_alg_t) a), hex);
                    hg_json_kv_str(j, hg_alg_name((hg_alg_t) a), hex);
                }
            }
            hg_json_obj_end(j);
        }
        hg_json_obj_end(j);
    }
    hg_json_arr_end(j);
}

/*
 * Format r into j (reset first) as one JSON object ending in '\n'.
 * Returns hg_json_done's status: HG_OK, or HG_ENOMEM.
 */
hg_status_t
hg_record_format(const hg_record_t *r, hg_json_t *j)
{
    const hg_verdict_t      *v = r->verdict;
    const hg_scan_result_t  *res = r->res;
    char                     now[40];
    size_t                   i;

    hg_json_reset(j);
    hg_time_rfc3339(now, sizeof(now));

    hg_json_obj_begin(j);
    /* first, so a reader knows how to read the rest (evread.h) */
    hg_json_kv_uint(j, "record_version", HG_RECORD_VERSION);
    hg_json_kv_str(j, "time", now);
    hg_json_kv_str(j, "channel", r->channel);

    if (v != NULL) {
        /* intended differs from action only where hg_record_verdict() kept
         * it (monitor mode, a failure); in monitor mode it is always said */
        hg_json_kv_str(j, "action", hg_action_name(v->action));
        if (v->monitor || v->intended != v->action) {
            hg_json_kv_str(j, "intended_action", hg_action_name(v->intended));
        }
        hg_json_key(j, "monitor");
        hg_json_bool(j, v->monitor != 0);
    }

    if (res != NULL) {
        _record_lists(j, res, r->image);
    }
    if (v != NULL) {
        _record_kv_opt(j, "allowed_by", v->allowed_by);
        if (v->failed) {
            hg_json_kv_str(j, "error", hg_status_str(v->fail_status));
        }
    }

    if (res != NULL) {
        _record_digests(j, &res->digests);
    }

    _record_kv_opt(j, "part", r->part);
    _record_kv_opt(j, "inner_path", r->inner_path);
    _record_kv_opt(j, "filename", r->filename);
    _record_kv_opt(j, "declared_type", r->declared_type);
    _record_kv_opt(j, "detected_type", r->detected_type);
    _record_kv_opt(j, "encoding", r->encoding);
    _record_kv_opt(j, "held_at", r->held_at);
    _record_kv_opt(j, "not_checked", r->not_checked);
    if (r->parse_stopped != NULL) {
        hg_json_kv_str(j, "parse_stopped", r->parse_stopped);
        hg_json_kv_uint(j, "parse_stopped_at", r->parse_stopped_at);
    }
    if (r->ncontainers > 0 && r->containers != NULL) {
        _record_containers(j, r);
    }
    if (r->image != NULL && r->image->format != HG_IMAGE_NONE) {
        _record_image(j, r->image);
    }

    for (i = 0; i < r->nctx && i < HG_RECORD_MAX_CTX; i++) {
        if (r->ctx[i].key == NULL) {
            continue;
        }
        hg_json_key(j, r->ctx[i].key);
        if (r->ctx[i].is_array && r->ctx[i].value != NULL) {
            _record_array(j, r->ctx[i].value);
        } else {
            hg_json_str(j, r->ctx[i].value);
        }
    }
    hg_json_obj_end(j);
    return hg_json_done(j);
}

/* Length of the next piece of p (len > 0 bytes left): at most
 * HG_RECORD_PIECE_MAX, not cutting a UTF-8 character in two. */
static size_t
_record_piece(const char *p, size_t len)
{
    size_t  n = hg_utf8_cut(p, len, HG_RECORD_PIECE_MAX);

    /* a record is valid UTF-8, so this only guards against a stall */
    return n > 0 ? n : (len < HG_RECORD_PIECE_MAX ? len : HG_RECORD_PIECE_MAX);
}

void
hg_record_split(const char *line, size_t len, hg_record_piece_pt emit,
                void *data)
{
    size_t  off, n, i, count = 0;

    for (off = 0; off < len; off += _record_piece(line + off, len - off)) {
        count++;
    }
    for (off = 0, i = 1; off < len; off += n, i++) {
        n = _record_piece(line + off, len - off);
        emit(data, i, count, line + off, n);
    }
}
