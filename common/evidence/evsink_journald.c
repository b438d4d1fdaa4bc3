/*
 * evsink_journald.c - evidence records as journal entries, through
 * libsystemd (sd_journal_sendv), with the record's fields as the entry's:
 *
 *   MESSAGE               a line a person reads in journalctl
 *   MESSAGE_ID            the same for every hashgate record, so that
 *                         `journalctl MESSAGE_ID=...` finds them all
 *   PRIORITY              5 (notice); 4 (warning) for a match that stopped
 *                         something or a file that could not be checked
 *   SYSLOG_IDENTIFIER     the server (hashgate-milter, nginx)
 *   HASHGATE_RECORD       the whole record, the JSON line the file holds
 *   HASHGATE_<FIELD>      each field of the record that a pipeline filters
 *                         on: ACTION, CHANNEL, LIST (one per matched list,
 *                         repeated as the journal allows), MD5, SHA1,
 *                         SHA256, SIZE, PART, FILENAME, QUEUE_ID,
 *                         REQUEST_ID, ...
 *
 * The fields come from reading the line back with the same reader
 * `hashgate report` uses (evrec.c), so the entry can never say something
 * the record does not. A record is written only on a match or a file not
 * checked, so the second parse costs nothing that matters.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "hashgate/evread.h"
#include "evidence/evlog_int.h"

/* Picked once for hashgate's records (journalctl MESSAGE_ID=...). */
#define EVSINK_MESSAGE_ID  "4f3c2a9e8b1d47c6a05e7d2b9c81f634"

/* Where journald listens; its absence at start is an error, not a loss. */
#define EVSINK_JOURNAL_SOCKET  "/run/systemd/journal/socket"

/* The fields of one entry: "KEY=value" strings in one growing buffer. */
typedef struct {
    char          *buf;
    size_t         len, cap;
    size_t         off[96];
    size_t         n;
    int            nomem;
} evsink_fields_t;

static void
_evsink_add(evsink_fields_t *f, const char *key, const char *value)
{
    size_t  k, v, need;
    char   *b;

    if (value == NULL || f->nomem || f->n == sizeof(f->off) / sizeof(f->off[0]))
    {
        return;
    }
    k = strlen(key);
    v = strlen(value);
    need = k + 1 + v + 1;
    if (need > f->cap - f->len) {
        size_t  cap = f->cap ? f->cap : 4096;

        while (need > cap - f->len) {
            cap *= 2;
        }
        if ((b = realloc(f->buf, cap)) == NULL) {
            f->nomem = 1;
            return;
        }
        f->buf = b;
        f->cap = cap;
    }
    f->off[f->n++] = f->len;
    memcpy(f->buf + f->len, key, k);
    f->buf[f->len + k] = '=';
    memcpy(f->buf + f->len + k + 1, value, v);
    f->buf[f->len + k + 1 + v] = '\0';
    f->len += need;
}

hg_status_t
hg_evsink_journald_open(hg_evlog_t *l, hg_err_t *err)
{
    /* sd_journal_sendv opens its socket lazily and says nothing about a
     * journald that is not there until the first record: ask now */
    if (access(EVSINK_JOURNAL_SOCKET, W_OK) != 0) {
        return hg_err_sys(err, HG_EIO, "%s: journald is not running here "
                          "(%s)", l->spec, EVSINK_JOURNAL_SOCKET);
    }
    return HG_OK;
}

static void
_evsink_digests(evsink_fields_t *f, const char *prefix,
                const hg_evrec_digests_t *d)
{
    char  key[64], size[32];

    snprintf(key, sizeof(key), "%sMD5", prefix);
    _evsink_add(f, key, d->md5);
    snprintf(key, sizeof(key), "%sSHA1", prefix);
    _evsink_add(f, key, d->sha1);
    snprintf(key, sizeof(key), "%sSHA256", prefix);
    _evsink_add(f, key, d->sha256);
    if (d->has_size) {
        snprintf(key, sizeof(key), "%sSIZE", prefix);
        snprintf(size, sizeof(size), "%llu", (unsigned long long) d->size);
        _evsink_add(f, key, size);
    }
}

/* The record's single string fields, each as HASHGATE_<KEY>. */
static const struct {
    const char  *key;
    size_t       off;
} evsink_strings[] = {
#define EVSINK_STR(key, field)  { "HASHGATE_" key, offsetof(hg_evrec_t, field) }
    EVSINK_STR("TIME", time),                EVSINK_STR("CHANNEL", channel),
    EVSINK_STR("ACTION", action),
    EVSINK_STR("INTENDED_ACTION", intended_action),
    EVSINK_STR("ALLOWED_BY", allowed_by),    EVSINK_STR("ERROR", error),
    EVSINK_STR("PART", part),                EVSINK_STR("INNER_PATH", inner_path),
    EVSINK_STR("FILENAME", filename),
    EVSINK_STR("DECLARED_TYPE", declared_type),
    EVSINK_STR("DETECTED_TYPE", detected_type),
    EVSINK_STR("HELD_AT", held_at),          EVSINK_STR("NOT_CHECKED", not_checked),
    EVSINK_STR("CLIENT_ADDR", client_addr),  EVSINK_STR("CLIENT_NAME", client_name),
    EVSINK_STR("HELO", helo),                EVSINK_STR("MAIL_FROM", mail_from),
    EVSINK_STR("MESSAGE_ID", message_id),    EVSINK_STR("QUEUE_ID", queue_id),
    EVSINK_STR("HOST", host),                EVSINK_STR("METHOD", method),
    EVSINK_STR("URI", uri),                  EVSINK_STR("REQUEST_ID", request_id),
#undef EVSINK_STR
};

static void
_evsink_record(evsink_fields_t *f, const hg_evrec_t *r)
{
    const char  *rc;
    size_t       i;

    for (i = 0; i < sizeof(evsink_strings) / sizeof(evsink_strings[0]); i++) {
        _evsink_add(f, evsink_strings[i].key,
                    *(const char *const *) ((const char *) r
                                            + evsink_strings[i].off));
    }
    _evsink_add(f, "HASHGATE_MONITOR", r->monitor ? "1" : "0");
    /* repeated fields, as the journal allows: one per list, container,
     * recipient */
    for (i = 0; i < r->nlists; i++) {
        _evsink_add(f, "HASHGATE_LIST", r->lists[i].list);
        _evsink_add(f, "HASHGATE_LIST_VERSION", r->lists[i].version);
        _evsink_add(f, "HASHGATE_MATCHED_ALGORITHM", r->lists[i].algorithm);
        _evsink_add(f, "HASHGATE_LABEL", r->lists[i].label);
    }
    _evsink_digests(f, "HASHGATE_", &r->d);
    for (i = 0; i < r->ncontainers; i++) {
        _evsink_add(f, "HASHGATE_CONTAINER_PATH", r->containers[i].path);
        _evsink_add(f, "HASHGATE_CONTAINER_SHA256",
                    r->containers[i].d.sha256);
    }
    for (rc = r->rcpt_to; rc != NULL && *rc; rc += strlen(rc) + 1) {
        _evsink_add(f, "HASHGATE_RCPT_TO", rc);
    }
}

/* "hashgate: reject smtp 4XyzQ part 2 list=blk sha256=..." */
static void
_evsink_message(char *m, size_t size, const hg_evrec_t *r)
{
    const char  *id = r->queue_id ? r->queue_id
                      : r->request_id ? r->request_id : "-";
    const char  *digest = r->nlists > 0 && r->lists[0].digest
                          ? r->lists[0].digest
                          : r->d.sha256 ? r->d.sha256 : "-";

    snprintf(m, size, "hashgate: %s %s %s part %s%s%s%s list=%s %s=%s",
             r->action ? r->action : "-", r->channel ? r->channel : "-", id,
             r->part ? r->part : "-", r->not_checked ? " not checked (" : "",
             r->not_checked ? r->not_checked : "",
             r->not_checked ? ")" : "",
             r->nlists > 0 ? r->lists[0].list : "-",
             r->nlists > 0 && r->lists[0].algorithm ? r->lists[0].algorithm
             : "sha256", digest);
}

hg_status_t
hg_evsink_journald_write(hg_evlog_t *l, const char *line, size_t len,
                         hg_err_t *err)
{
    evsink_fields_t   f;
    struct iovec      iov[sizeof(f.off) / sizeof(f.off[0])];
    hg_evrec_t        rec;
    hg_err_t          perr;
    hg_status_t       st = HG_OK;
    char             *buf, msg[512], *record;
    size_t            i, n = len > 0 && line[len - 1] == '\n' ? len - 1 : len;
    int               rc, stopped;

    memset(&f, 0, sizeof(f));
    buf = malloc(HG_EVREC_BUF(n));
    record = malloc(n + 1);
    if (buf == NULL || record == NULL) {
        free(buf);
        free(record);
        return hg_err_set(err, HG_ENOMEM, "%s: out of memory", l->spec);
    }
    memcpy(record, line, n);
    record[n] = '\0';
    if (hg_evrec_parse(&rec, line, n, buf, HG_EVREC_BUF(n), l->spec, 0,
                       &perr) != HG_EVREAD_RECORD)
    {
        /* never lose it: the whole line still goes, with what was read */
        memset(&rec, 0, sizeof(rec));
    }
    _evsink_message(msg, sizeof(msg), &rec);
    stopped = rec.action != NULL && (strcmp(rec.action, "reject") == 0
                                     || strcmp(rec.action, "hold") == 0
                                     || strcmp(rec.action, "tempfail") == 0);
    _evsink_add(&f, "MESSAGE", msg);
    _evsink_add(&f, "MESSAGE_ID", EVSINK_MESSAGE_ID);
    _evsink_add(&f, "PRIORITY", stopped || rec.not_checked ? "4" : "5");
    _evsink_add(&f, "SYSLOG_IDENTIFIER", l->ident);
    _evsink_add(&f, "HASHGATE_RECORD", record);
    _evsink_record(&f, &rec);
    if (f.nomem) {
        st = hg_err_set(err, HG_ENOMEM, "%s: out of memory", l->spec);
        goto done;
    }
    for (i = 0; i < f.n; i++) {
        iov[i].iov_base = f.buf + f.off[i];
        iov[i].iov_len = strlen(f.buf + f.off[i]);
    }
    rc = sd_journal_sendv(iov, (int) f.n);
    if (rc < 0) {
        errno = -rc;
        st = hg_err_sys(err, HG_EIO, "%s: journald did not take the "
                        "evidence record", l->spec);
    }
done:
    free(f.buf);
    free(buf);
    free(record);
    return st;
}
