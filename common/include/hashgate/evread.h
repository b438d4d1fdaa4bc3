/*
 * evread.h - reading evidence logs back: plain, rotated and compressed
 * files, one record a line, every line that is not a usable record named.
 *
 * The writer (record.h) puts one JSON object a line, each written whole
 * with one write(2). A reader still meets lines it must not use: the last
 * line of a file cut short (a crash, a copy taken mid-write), a record of
 * a version this hashgate does not know, a line of something else (a log
 * pointed at the wrong file), a record with a field it cannot read. Each
 * is skipped, counted and reported as "FILE:LINE: reason"; none is ever
 * read as a record, so what is built from the records (a report) is never
 * built from a guess.
 *
 * Files compressed by logrotate are read as they are: gzip (zlib), xz
 * (liblzma) and zstd (libzstd), known by their first bytes, not by their
 * names. A program calling these functions links -lz -llzma -lzstd; the
 * servers, which only write records, never do.
 *
 * Usage:
 *     hg_evread_open(path, &r, &err);
 *     while ((k = hg_evread_next(r, &rec, &err)) != HG_EVREAD_END) {
 *         if (k == HG_EVREAD_RECORD) use(&rec); else warn(err.msg);
 *         if (k == HG_EVREAD_ERROR) break;
 *     }
 *     hg_evread_close(r);
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_EVREAD_H
#define HASHGATE_EVREAD_H

#include <stddef.h>
#include <stdint.h>

#include "hashgate/record.h"
#include "hashgate/status.h"

/*
 * Longest line read. A record is a few hundred bytes; a mail to many
 * recipients a few tens of KiB. Past this a line is skipped whole, so a
 * file with no newlines never makes the reader grow without bound.
 */
#define HG_EVREAD_LINE_MAX  (1024 * 1024)

/* At most as many lists and containers as the writer puts in a record. */
#define HG_EVREC_MAX_LISTS       HG_SCAN_MAX_MATCHES
#define HG_EVREC_MAX_CONTAINERS  HG_RECORD_MAX_CONTAINERS

/* ---- records ---- */

typedef struct {
    const char     *md5;        /* hex, or NULL when not in the record */
    const char     *sha1;
    const char     *sha256;
    uint64_t        size;
    int             has_size;
} hg_evrec_digests_t;

typedef struct {
    const char     *list;
    const char     *version;
    const char     *algorithm;  /* "md5", "sha1", "sha256", "pdq" */
    const char     *digest;     /* hex; NULL if the record has none (pdq:
                                 * the image's PDQ hash that matched) */
    const char     *label;      /* NULL for null */
    hg_evrec_digests_t  listed; /* the file's other digests as the list
                                 * gives them (not computed); size unused */
    /* a PDQ match (algorithm "pdq") */
    uint64_t        distance;   /* bits, when has_distance */
    int             has_distance;
    const char     *dihedral;   /* "rotate90", ...; NULL: the image itself */
    const char     *listed_pdq; /* the entry as listed (hex) */
    uint64_t        listed_quality; /* when has_listed_quality */
    int             has_listed_quality;
} hg_evrec_match_t;

typedef struct {
    const char         *path;
    const char         *format;
    hg_evrec_digests_t  d;
} hg_evrec_container_t;

/*
 * One record. Every string is UTF-8 without NUL bytes; a field the record
 * does not have (or has as null) is NULL. Strings belong to the reader and
 * stay valid until its next call, or to hg_evrec_dup()'s copy.
 */
typedef struct {
    const char         *file;       /* where it was read */
    uint64_t            line;       /* 1-based */
    unsigned            version;    /* record_version (1 when absent) */

    const char         *time;       /* as written */
    int64_t             time_ms;    /* the same, in ms since 1970 UTC */
    const char         *channel;    /* "smtp", "http", "file", ... */
    const char         *action;
    const char         *intended_action;
    int                 monitor;
    size_t              nlists;
    hg_evrec_match_t    lists[HG_EVREC_MAX_LISTS];
    const char         *allowed_by;
    const char         *error;

    hg_evrec_digests_t  d;          /* the object's own */
    const char         *part;
    const char         *inner_path;
    const char         *filename;
    const char         *declared_type;
    const char         *detected_type;
    const char         *encoding;
    const char         *held_at;
    const char         *not_checked;
    size_t              ncontainers;
    hg_evrec_container_t containers[HG_EVREC_MAX_CONTAINERS];
    /* an image ("image": issue 17): NULL / 0 when the record has none */
    const char         *image_format;
    const char         *image_pdq;      /* hex */
    uint64_t            image_quality;  /* when has_image_quality */
    int                 has_image_quality;
    const char         *image_why;      /* why it has no PDQ hash */

    /* the channel's context */
    const char         *client_addr;
    const char         *client_name;
    const char         *helo;
    const char         *mail_from;
    const char         *rcpt_to;    /* NUL-separated items, ended by "";
                                     * NULL when the record has none */
    size_t              nrcpt;
    const char         *message_id;
    const char         *queue_id;
    const char         *host;
    const char         *method;
    const char         *uri;
    const char         *request_id;
} hg_evrec_t;

/* What one line turned out to be. */
typedef enum {
    HG_EVREAD_RECORD = 0,   /* a record: *rec is filled */
    HG_EVREAD_END,          /* no more lines in the file */
    HG_EVREAD_TORN,         /* the file ends inside a line: skipped */
    HG_EVREAD_LONG,         /* a line over HG_EVREAD_LINE_MAX: skipped */
    HG_EVREAD_FOREIGN,      /* not a hashgate record: skipped */
    HG_EVREAD_VERSION,      /* a record of a version not read here: skipped */
    HG_EVREAD_BAD,          /* a record with a field that cannot be read:
                             * skipped */
    HG_EVREAD_ERROR,        /* the file cannot be read on (I/O, broken
                             * compressed data); stop reading it */
    HG_EVREAD_KINDS
} hg_evread_kind_t;

/*
 * Records are read in version HG_RECORD_VERSION (record.h). A record
 * without "record_version", written before the field existed, is read as
 * version 1: it is the same format. Keys not known here are skipped.
 */

typedef struct hg_evread_s hg_evread_t;

/*
 * Open an evidence log (plain, gzip, xz or zstd, known by its first
 * bytes). HG_EIO with err naming path when it cannot be opened or is
 * compressed in a way not read here (bzip2); HG_ENOMEM.
 */
hg_status_t hg_evread_open(const char *path, hg_evread_t **out, hg_err_t *err);

/* Close; accepts NULL. */
void hg_evread_close(hg_evread_t *r);

/*
 * The next line, as what it turned out to be. For HG_EVREAD_RECORD *rec
 * is filled (strings valid until the next call); for every other kind
 * but END, err says "FILE:LINE: why". For VERSION and BAD, rec->channel,
 * time, queue_id, message_id and request_id are set where the line had
 * them readable (else NULL), so a caller can tell which mail or request
 * lost a record; its other fields are unset. Blank lines are passed over.
 * After ERROR or END every call returns END.
 */
hg_evread_kind_t hg_evread_next(hg_evread_t *r, hg_evrec_t *rec,
                                hg_err_t *err);

/* How many lines of each kind were read so far. */
const uint64_t *hg_evread_counts(const hg_evread_t *r);

/* "record", "torn last line", ... for summaries. */
const char *hg_evread_kind_name(hg_evread_kind_t k);

/*
 * Room hg_evrec_parse needs for the strings of a line of len bytes: an
 * invalid UTF-8 byte is read as U+FFFD, three bytes.
 */
#define HG_EVREC_BUF(len)  (3 * (size_t) (len) + 64)

/*
 * Parse one line (len bytes, no newline) into rec. file and lineno only go
 * into rec and messages. Strings are copied into buf (bufsize bytes, at
 * least HG_EVREC_BUF(len)), so rec is valid as long as buf is. Returns
 * RECORD, FOREIGN, VERSION or BAD as hg_evread_next does, err set for all
 * but RECORD.
 */
hg_evread_kind_t hg_evrec_parse(hg_evrec_t *rec, const char *line, size_t len,
                                char *buf, size_t bufsize, const char *file,
                                uint64_t lineno, hg_err_t *err);

/*
 * A copy of rec that owns its strings (one allocation; free with
 * hg_evrec_free). NULL when out of memory.
 */
hg_evrec_t *hg_evrec_dup(const hg_evrec_t *rec);
void hg_evrec_free(hg_evrec_t *rec);

/*
 * RFC 3339 time in UTC ("2026-11-26T05:11:30Z", with or without a
 * fraction of a second, "Z" or "+00:00") to ms since 1970. Returns -1 when
 * s is not such a time (other offsets included: records are written in
 * UTC), or is before 1970.
 */
int hg_time_parse_rfc3339(const char *s, int64_t *ms);

/*
 * The rotated files of a log and the log itself, oldest first: for
 * "evidence.log", "evidence.log-20261001.gz" (logrotate's dateext, by
 * date), "evidence.log.13.gz" ... "evidence.log.1" (by number, highest
 * first), then "evidence.log" if it exists. Any of .gz, .xz, .zst after
 * the suffix. *paths is a NULL-ended array (free with hg_evread_paths_free);
 * HG_EIO with err naming the directory when it cannot be read.
 */
hg_status_t hg_evread_rotated(const char *path, char ***paths, size_t *n,
                              hg_err_t *err);
void hg_evread_paths_free(char **paths);

#endif
