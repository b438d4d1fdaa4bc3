/*
 * report_incident.c - evidence records grouped into incidents: one mail,
 * one HTTP request.
 *
 * A mail is known by its Postfix queue ID and its Message-ID together:
 * Postfix reuses short queue IDs, and a Message-ID alone may be missing
 * or forged. A request is known by nginx's $request_id (128 random bits).
 * Records of files that were not checked (encrypted in an archive) or
 * were allowed by an allow-list are not part of a report. A record read
 * twice (a log passed twice, a rotated file and its compressed copy) is
 * kept once.
 *
 * A record of the incident that could not be read (an unknown version, a
 * bad field) refuses the incident: it is listed with the reason, never
 * drafted, since the draft could miss a file. Lines that are not records
 * at all, or torn, cannot be tied to a mail; they are named on stderr and
 * counted in the summary.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "report.h"
#include "util.h"

/* Messages per file and kind of skipped line before they are only counted. */
#define REP_WARN_MAX  10

void
rep_time(int64_t ms, char *out, size_t outlen)
{
    time_t     t = (time_t) (ms / 1000);
    struct tm  tm;
    char       sec[24];

    if (ms < 0 || gmtime_r(&t, &tm) == NULL) {
        snprintf(out, outlen, "1970-01-01T00:00:00.000Z");
        return;
    }
    strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, outlen, "%s.%03dZ", sec, (int) (ms % 1000));
}

static int
_rep_is_match(const hg_evrec_t *r)
{
    return r->nlists > 0 && r->not_checked == NULL && r->allowed_by == NULL;
}

/*
 * The incident key and ID of a record, malloc'd. Returns 0, 1 when the
 * record names no mail or request (*why set), -1 when out of memory.
 */
static int
_rep_key(const hg_evrec_t *r, char **key, char **id, const char **why)
{
    const char  *c = r->channel;
    size_t       n;

    *key = *id = NULL;
    if (c != NULL && strcmp(c, "smtp") == 0) {
        if (r->queue_id == NULL && r->message_id == NULL) {
            *why = "the record names neither a queue ID nor a Message-ID";
            return 1;
        }
        n = strlen("smtp///") + (r->queue_id ? strlen(r->queue_id) : 1)
            + (r->message_id ? strlen(r->message_id) : 1) + 1;
        if ((*key = malloc(n)) == NULL) {
            return -1;
        }
        snprintf(*key, n, "smtp/%s/%s", r->queue_id ? r->queue_id : "-",
                 r->message_id ? r->message_id : "-");
        *id = strdup(r->queue_id ? r->queue_id : r->message_id);
    } else if (c != NULL && strcmp(c, "http") == 0) {
        if (r->request_id == NULL) {
            *why = "the record names no request ID";
            return 1;
        }
        n = strlen("http/") + strlen(r->request_id) + 1;
        if ((*key = malloc(n)) == NULL) {
            return -1;
        }
        snprintf(*key, n, "http/%s", r->request_id);
        *id = strdup(r->request_id);
    } else {
        *why = "the record is of a channel with no incidents (not smtp or "
               "http)";
        return 1;
    }
    if (*id == NULL) {
        free(*key);
        *key = NULL;
        return -1;
    }
    return 0;
}

static rep_incident_t *
_rep_find(rep_set_t *set, const char *key)
{
    size_t  i;

    /* from the newest: the records of one mail come together */
    for (i = set->n; i > 0; i--) {
        if (strcmp(set->inc[i - 1]->key, key) == 0) {
            return set->inc[i - 1];
        }
    }
    return NULL;
}

/* The incident of key, made (taking key and id) if new; NULL on ENOMEM. */
static rep_incident_t *
_rep_incident(rep_set_t *set, char *key, char *id, const char *channel)
{
    rep_incident_t   *inc, **ni;

    inc = _rep_find(set, key);
    if (inc != NULL) {
        free(key);
        free(id);
        return inc;
    }
    if (set->n == set->cap) {
        set->cap = set->cap ? set->cap * 2 : 64;
        ni = realloc(set->inc, set->cap * sizeof(*ni));
        if (ni == NULL) {
            goto nomem;
        }
        set->inc = ni;
    }
    inc = calloc(1, sizeof(*inc));
    if (inc == NULL) {
        goto nomem;
    }
    inc->key = key;
    inc->id = id;
    snprintf(inc->channel, sizeof(inc->channel), "%s", channel);
    inc->first_ms = INT64_MAX;
    inc->last_ms = INT64_MIN;
    set->inc[set->n++] = inc;
    return inc;

nomem:
    free(key);
    free(id);
    return NULL;
}

static void
_rep_refuse(rep_incident_t *inc, const char *why)
{
    if (inc->refused == NULL) {
        inc->refused = strdup(why);
    }
}

/* The same record: time, part and digests alike. */
static int
_rep_same(const hg_evrec_t *a, const hg_evrec_t *b)
{
#define SAME(x) ((a->x == NULL && b->x == NULL) \
                 || (a->x != NULL && b->x != NULL && strcmp(a->x, b->x) == 0))
    return a->time_ms == b->time_ms && SAME(time) && SAME(part)
           && SAME(inner_path) && SAME(d.md5) && SAME(d.sha1)
           && SAME(d.sha256) && SAME(filename);
#undef SAME
}

/* Add a matched record to its incident. 0, 1 (a duplicate), -1 ENOMEM. */
static int
_rep_add(rep_incident_t *inc, const hg_evrec_t *rec)
{
    hg_evrec_t  **nr;
    size_t        i;

    for (i = 0; i < inc->nrecs; i++) {
        if (_rep_same(inc->recs[i], rec)) {
            return 1;
        }
    }
    if (inc->nrecs == inc->cap) {
        inc->cap = inc->cap ? inc->cap * 2 : 4;
        nr = realloc(inc->recs, inc->cap * sizeof(*nr));
        if (nr == NULL) {
            return -1;
        }
        inc->recs = nr;
    }
    if ((inc->recs[inc->nrecs] = hg_evrec_dup(rec)) == NULL) {
        return -1;
    }
    inc->nrecs++;
    if (rec->time_ms < inc->first_ms) {
        inc->first_ms = rec->time_ms;
    }
    if (rec->time_ms > inc->last_ms) {
        inc->last_ms = rec->time_ms;
    }
    return 0;
}

/* One line that was not a usable record: tie it to its incident. */
static int
_rep_lost(rep_set_t *set, const hg_evrec_t *rec, const char *why)
{
    rep_incident_t  *inc;
    char            *key, *id;
    const char      *nowhy;
    int              k;

    k = _rep_key(rec, &key, &id, &nowhy);
    if (k < 0) {
        return -1;
    }
    if (k > 0) {
        return 0;           /* named on stderr; no incident to refuse */
    }
    inc = _rep_incident(set, key, id, rec->channel);
    if (inc == NULL) {
        return -1;
    }
    _rep_refuse(inc, why);
    if (rec->time_ms >= 0 && rec->time_ms < inc->first_ms) {
        inc->first_ms = rec->time_ms;
    }
    if (rec->time_ms > inc->last_ms) {
        inc->last_ms = rec->time_ms;
    }
    return 0;
}

static int
_rep_record(rep_set_t *set, const hg_evrec_t *rec)
{
    rep_incident_t  *inc;
    char            *key, *id;
    const char      *why;
    int              k;

    if (!_rep_is_match(rec)) {
        set->not_matches++;
        return 0;
    }
    k = _rep_key(rec, &key, &id, &why);
    if (k < 0) {
        return -1;
    }
    if (k > 0) {
        /* a matched file whose mail or request cannot be named */
        fprintf(stderr, "hashgate: report: %s:%" PRIu64 ": %s: not part of "
                "any report\n", rec->file, rec->line, why);
        set->counts[HG_EVREAD_BAD]++;
        return 0;
    }
    inc = _rep_incident(set, key, id, rec->channel);
    if (inc == NULL) {
        return -1;
    }
    k = _rep_add(inc, rec);
    if (k < 0) {
        return -1;
    }
    set->duplicates += (uint64_t) k;
    return 0;
}

static int
_rep_cmp(const void *a, const void *b)
{
    const rep_incident_t  *x = *(rep_incident_t *const *) a;
    const rep_incident_t  *y = *(rep_incident_t *const *) b;

    if (x->first_ms != y->first_ms) {
        return x->first_ms < y->first_ms ? -1 : 1;
    }
    return strcmp(x->key, y->key);
}

static int
_rep_rec_cmp(const void *a, const void *b)
{
    const hg_evrec_t  *x = *(hg_evrec_t *const *) a;
    const hg_evrec_t  *y = *(hg_evrec_t *const *) b;
    int                c;

    if (x->time_ms != y->time_ms) {
        return x->time_ms < y->time_ms ? -1 : 1;
    }
    c = strcmp(x->file, y->file);
    return c != 0 ? c : (x->line < y->line ? -1 : x->line > y->line);
}

int
rep_load(rep_set_t *set, char *const *files, size_t nfiles)
{
    hg_evread_t      *r;
    hg_evrec_t        rec;
    hg_err_t          err;
    hg_evread_kind_t  k;
    uint64_t          shown[HG_EVREAD_KINDS];
    size_t            i, j;

    for (i = 0; i < nfiles; i++) {
        err.msg[0] = '\0';
        if (hg_evread_open(files[i], &r, &err) != HG_OK) {
            cli_error("report: %s", err.msg);
            set->file_errors++;
            continue;
        }
        memset(shown, 0, sizeof(shown));
        while ((k = hg_evread_next(r, &rec, &err)) != HG_EVREAD_END) {
            if (k == HG_EVREAD_RECORD) {
                if (_rep_record(set, &rec) != 0) {
                    hg_evread_close(r);
                    cli_error("report: out of memory");
                    return -1;
                }
                continue;
            }
            if (++shown[k] <= REP_WARN_MAX || k == HG_EVREAD_ERROR
                || k == HG_EVREAD_VERSION || k == HG_EVREAD_BAD)
            {
                cli_error("report: %s", err.msg);
            }
            if (k == HG_EVREAD_ERROR) {
                set->file_errors++;
                break;
            }
            if ((k == HG_EVREAD_VERSION || k == HG_EVREAD_BAD)
                && _rep_lost(set, &rec, err.msg) != 0)
            {
                hg_evread_close(r);
                cli_error("report: out of memory");
                return -1;
            }
        }
        for (j = 0; j < HG_EVREAD_KINDS; j++) {
            set->counts[j] += hg_evread_counts(r)[j];
            if (shown[j] > REP_WARN_MAX) {
                cli_error("report: %s: %" PRIu64 " more lines of the kind "
                          "\"%s\" not shown", files[i],
                          shown[j] - REP_WARN_MAX, hg_evread_kind_name(j));
            }
        }
        hg_evread_close(r);
    }
    /* (qsort wants an array even for no items) */
    for (i = 0; i < set->n; i++) {
        if (set->inc[i]->nrecs > 1) {
            qsort(set->inc[i]->recs, set->inc[i]->nrecs,
                  sizeof(hg_evrec_t *), _rep_rec_cmp);
        }
    }
    if (set->n > 1) {
        qsort(set->inc, set->n, sizeof(*set->inc), _rep_cmp);
    }
    return 0;
}

void
rep_set_free(rep_set_t *set)
{
    size_t  i, j;

    for (i = 0; i < set->n; i++) {
        for (j = 0; j < set->inc[i]->nrecs; j++) {
            hg_evrec_free(set->inc[i]->recs[j]);
        }
        free(set->inc[i]->recs);
        free(set->inc[i]->key);
        free(set->inc[i]->id);
        free(set->inc[i]->refused);
        free(set->inc[i]);
    }
    free(set->inc);
    memset(set, 0, sizeof(*set));
}

/* ---- selection ---- */

int
rep_file_selected(const hg_evrec_t *rec, const rep_filter_t *f)
{
    size_t  i, j;

    if (f->lists == NULL) {
        return 1;
    }
    for (i = 0; i < rec->nlists; i++) {
        for (j = 0; f->lists[j] != NULL; j++) {
            if (strcmp(rec->lists[i].list, f->lists[j]) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

/* Message-IDs are asked for with or without their angle brackets. */
static int
_rep_msgid_is(const char *mid, const char *want)
{
    size_t  n = strlen(want);

    if (mid == NULL) {
        return 0;
    }
    if (strcmp(mid, want) == 0) {
        return 1;
    }
    return mid[0] == '<' && strlen(mid) == n + 2 && mid[n + 1] == '>'
           && strncmp(mid + 1, want, n) == 0;
}

int
rep_selected(const rep_incident_t *inc, const rep_filter_t *f)
{
    size_t  i;
    /* a refused one is always named: its lost record may be on any list */
    int     any = inc->refused != NULL;

    if (inc->first_ms < f->since_ms || inc->first_ms > f->until_ms) {
        return 0;
    }
    if (f->incident != NULL && strcmp(inc->id, f->incident) != 0) {
        for (i = 0; i < inc->nrecs; i++) {
            if (_rep_msgid_is(inc->recs[i]->message_id, f->incident)) {
                break;
            }
        }
        if (i == inc->nrecs) {
            return 0;
        }
    }
    for (i = 0; i < inc->nrecs && !any; i++) {
        any = rep_file_selected(inc->recs[i], f);
    }
    if (!any) {
        return 0;
    }
    if (inc->last_ms > f->now_ms - f->settle_ms) {
        return -1;
    }
    return 1;
}

size_t
rep_files(const rep_incident_t *inc, const rep_filter_t *f,
          const hg_evrec_t **out)
{
    size_t  i, n = 0;

    for (i = 0; i < inc->nrecs; i++) {
        if (rep_file_selected(inc->recs[i], f)) {
            out[n++] = inc->recs[i];
        }
    }
    return n;
}

int
rep_upload_ref(const hg_evrec_t *rec, char *out, size_t outlen)
{
    const hg_evrec_digests_t  *d = rec->ncontainers > 0
                                   ? &rec->containers[0].d : &rec->d;

    if (d->sha256 != NULL) {
        snprintf(out, outlen, "sha256:%s", d->sha256);
    } else if (d->sha1 != NULL) {
        snprintf(out, outlen, "sha1:%s", d->sha1);
    } else if (d->md5 != NULL) {
        snprintf(out, outlen, "md5:%s", d->md5);
    } else {
        return -1;
    }
    return 0;
}

/* Keep a name's safe characters: letters, digits, . _ - (no leading .). */
static void
_rep_safe_name(const char *s, char *out, size_t outlen)
{
    size_t  n = 0;

    for ( ; *s != '\0' && n + 1 < outlen; s++) {
        unsigned char  c = (unsigned char) *s;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '_' || c == '-'
            || (c == '.' && n > 0))
        {
            out[n++] = (char) c;
        } else if (n > 0 && out[n - 1] != '_') {
            out[n++] = '_';
        }
    }
    out[n] = '\0';
}

int
rep_match_is_pdq(const hg_evrec_match_t *m)
{
    return m->algorithm != NULL && strcmp(m->algorithm, "pdq") == 0;
}

void
rep_upload_name(const hg_evrec_t *rec, size_t index, char *out, size_t outlen)
{
    char  safe[128], part[64];

    if (rec->ncontainers > 0) {
        _rep_safe_name(rec->containers[0].path ? rec->containers[0].path
                       : "", part, sizeof(part));
        snprintf(out, outlen, "%zu-part-%s.%s", index + 1,
                 part[0] ? part : "x", rec->containers[0].format
                 && rec->containers[0].format[0]
                 ? rec->containers[0].format : "bin");
        _rep_safe_name(out, safe, sizeof(safe));
        snprintf(out, outlen, "%s", safe);
        return;
    }
    _rep_safe_name(rec->filename ? rec->filename : "", safe, sizeof(safe));
    if (safe[0] != '\0') {
        snprintf(out, outlen, "%zu-%s", index + 1, safe);
        return;
    }
    _rep_safe_name(rec->part ? rec->part : "", part, sizeof(part));
    snprintf(out, outlen, "%zu-%s%s.bin", index + 1,
             part[0] ? "part-" : "body", part);
}

char *
rep_record_refs(const hg_evrec_t *const *recs, size_t n)
{
    size_t  i, len = 1;
    char   *s, *p;

    for (i = 0; i < n; i++) {
        len += strlen(recs[i]->file) + 24;
    }
    if ((s = malloc(len)) == NULL) {
        return NULL;
    }
    p = s;
    *p = '\0';
    for (i = 0; i < n; i++) {
        p += snprintf(p, len - (size_t) (p - s), "%s%s:%" PRIu64,
                      i ? ", " : "", recs[i]->file, recs[i]->line);
    }
    return s;
}

/* ---- what report and preserve share ---- */

int64_t
rep_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
rep_time_opt(const char *s, int end, int64_t *ms)
{
    char  buf[40];

    if (strlen(s) == 10) {
        snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
        if (hg_time_parse_rfc3339(buf, ms) != 0) {
            return -1;
        }
        if (end) {
            *ms += 24 * 3600 * 1000LL - 1;
        }
        return 0;
    }
    return hg_time_parse_rfc3339(s, ms);
}

int
rep_push(char ***v, size_t *n, char *s)
{
    char  **nv;

    if (s == NULL || (nv = realloc(*v, (*n + 2) * sizeof(*nv))) == NULL) {
        free(s);
        return -1;
    }
    *v = nv;
    nv[(*n)++] = s;
    nv[*n] = NULL;
    return 0;
}

int
rep_log_files(const char *cmd, char *const *logs, size_t nlogs, int only,
              char ***files, size_t *n)
{
    static const char  *defaults[] = REP_DEFAULT_LOGS;
    char              **rot;
    size_t              i, j, nrot;
    hg_err_t            err;
    struct stat         sb;
    int                 given = nlogs > 0;

    *files = NULL;
    *n = 0;
    if (!given) {
        for (i = 0; defaults[i] != NULL; i++) {
            nlogs++;
        }
        logs = (char *const *) defaults;
    }
    for (i = 0; i < nlogs; i++) {
        /* the default logs are read where they exist */
        if (!given && stat(logs[i], &sb) != 0) {
            continue;
        }
        if (only) {
            if (rep_push(files, n, strdup(logs[i])) != 0) {
                goto nomem;
            }
            continue;
        }
        err.msg[0] = '\0';
        if (hg_evread_rotated(logs[i], &rot, &nrot, &err) != HG_OK) {
            cli_error("%s: %s", cmd, err.msg);
            return -1;
        }
        if (nrot == 0) {
            hg_evread_paths_free(rot);
            cli_error("%s: %s: no such file, nor rotated files of it", cmd,
                      logs[i]);
            return -1;
        }
        for (j = 0; j < nrot; j++) {
            if (rep_push(files, n, rot[j]) != 0) {
                for (j++; j < nrot; j++) {
                    free(rot[j]);
                }
                free(rot);
                goto nomem;
            }
        }
        free(rot);
    }
    if (*n == 0) {
        cli_error("%s: no evidence logs found (give the logs to read)", cmd);
        return -1;
    }
    return 0;
nomem:
    cli_error("%s: out of memory", cmd);
    return -1;
}

void
rep_incident_name(const rep_incident_t *inc, const char *suffix, char *out,
                  size_t outlen)
{
    char    t[40], id[80];
    size_t  i, k = 0;

    for (i = 0; inc->id[i] != '\0' && k + 1 < sizeof(id); i++) {
        char  c = inc->id[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')
        {
            id[k++] = c;
        } else if (c != '<' && c != '>') {
            id[k++] = '_';
        }
    }
    id[k] = '\0';
    rep_time(inc->first_ms, t, sizeof(t));
    /* 2026-11-25T10:15:00.123Z -> 20261125T101500Z */
    snprintf(out, outlen, "%.4s%.2s%.2sT%.2s%.2s%.2sZ-%s-%s%s", t, t + 5,
             t + 8, t + 11, t + 14, t + 17, inc->channel, k ? id : "x",
             suffix);
}
