/*
 * record.h - evidence records: one JSON line per match, never content.
 *
 * The fields are those of ARCHITECTURE.md, after the record's version
 * (record_version, HG_RECORD_VERSION): time (RFC 3339 UTC), channel,
 * action, lists matched (name, version, algorithm, label), every digest
 * computed, part size, path, file name, declared and detected type, and the
 * channel's context as ordered key/value pairs (SMTP: client_addr,
 * client_name, helo, mail_from, rcpt_to, message_id, queue_id; HTTP:
 * client_addr, host, method, uri, request_id). The log file is opened
 * append-only, mode 0640, and each record is written with one write(2), so
 * readers never see half a line.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_RECORD_H
#define HASHGATE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "hashgate/decide.h"
#include "hashgate/inspect.h"
#include "hashgate/json.h"
#include "hashgate/scan.h"
#include "hashgate/status.h"

#define HG_RECORD_MAX_CTX  16

/*
 * The version of the record format written (the first field of every
 * record, "record_version"). Readers (evread.h) skip records of a version
 * they do not know, so it changes whenever a field's meaning or type
 * changes or a field goes away; a new field alone does not change it.
 */
#define HG_RECORD_VERSION  1

/* Containers an inner file was found in, outermost (the part) first. */
#define HG_RECORD_MAX_CONTAINERS  (HG_INSPECT_MAX_DEPTH + 1)

typedef struct {
    const char         *path;       /* part path ("2") or path inside the
                                     * container before it */
    const char         *format;     /* "zip", "tar", "gzip", ... */
    const hg_digests_t *digests;    /* the container's own */
} hg_record_container_t;

typedef struct {
    const char     *key;
    const char     *value;      /* NULL writes null */
    int             is_array;   /* value holds NUL-separated items, ended by "" */
} hg_record_ctx_t;

typedef struct {
    const char     *channel;        /* "smtp", "http", "file" */
    const char     *part;           /* "2.1", form field, or NULL */
    const char     *filename;
    const char     *declared_type;
    const char     *detected_type;
    const char     *encoding;
    const char     *held_at;        /* where the preserved copy is, or NULL */
    const char     *inner_path;     /* a file inside containers: its path in
                                     * the innermost one, else NULL */
    const char     *not_checked;    /* why it was not hashed ("encrypted",
                                     * "unreadable"), else NULL */
    const char     *parse_stopped;  /* a body parsed for parts (apibody.h)
                                     * that was not well-formed: why parsing
                                     * stopped, else NULL */
    uint64_t        parse_stopped_at;   /* and at which byte of the body */
    size_t          ncontainers;
    const hg_record_container_t *containers;
    const hg_inspect_image_t *image;    /* an image: its PDQ hash and
                                         * quality, or why it has none;
                                         * else NULL */
    const hg_scan_result_t *res;    /* digests, size, matches */
    const hg_verdict_t     *verdict;
    size_t          nctx;
    hg_record_ctx_t ctx[HG_RECORD_MAX_CTX];
} hg_record_t;

/*
 * The verdict fields of one part's record, from the part's own verdict and
 * the final verdict of its message or request: action (what was done to
 * the whole), failed, fail_status and monitor are final's; list, allowed_by
 * and matched the part's; intended is the part's own action where monitor
 * mode or a failure replaced it, else equal to action (no intended_action
 * in the record). Point hg_record_t.verdict at the result.
 */
hg_verdict_t hg_record_verdict(const hg_verdict_t *part,
                               const hg_verdict_t *final);

/* Add a context field; silently ignored past HG_RECORD_MAX_CTX. */
void hg_record_add(hg_record_t *r, const char *key, const char *value);

/* Write r as one JSON object line into j (reset first). */
hg_status_t hg_record_format(const hg_record_t *r, hg_json_t *j);

/*
 * The fields of a PDQ match's item, as records and `hashgate scan --json`
 * give them: "algorithm": "pdq", the image's hash that came nearest (when
 * img is not NULL), the label, the distance, the dihedral, the entry as
 * listed with its quality.
 */
void hg_record_pdq_match(hg_json_t *j, const hg_match_t *m,
                         const hg_inspect_image_t *img);

typedef struct hg_evlog_s hg_evlog_t;

/* Open (create 0640) path for appending. */
hg_status_t hg_evlog_open(const char *path, hg_evlog_t **out, hg_err_t *err);

/*
 * Open a destination by the name an operator configures:
 *   /absolute/path              the JSON Lines file (hg_evlog_open);
 *   syslog[:FACILITY[:SOCKET]]  each record as one syslog message of the
 *                               same JSON, facility local0..local7, user,
 *                               daemon, mail, auth, authpriv (default
 *                               daemon), to SOCKET (default /dev/log);
 *   journald                    each record as a journal entry whose
 *                               fields are the record's (HASHGATE_LIST=,
 *                               HASHGATE_SHA256=, ... and HASHGATE_RECORD=
 *                               the whole line), through libsystemd.
 * ident is the syslog tag and journald's SYSLOG_IDENTIFIER. HG_EINVAL with
 * err saying why for a name of none of these forms or a bad facility;
 * HG_EIO when the destination cannot be reached now (no syslog socket, no
 * journald): a server refuses to start rather than lose records.
 */
hg_status_t hg_evlog_open_spec(const char *spec, const char *ident,
                               hg_evlog_t **out, hg_err_t *err);

/* The name's syntax alone (for configuration checks): HG_EINVAL with err
 * saying why, nothing opened. */
hg_status_t hg_evlog_spec_check(const char *spec, hg_err_t *err);

/*
 * Destinations chain: hg_evlog_write gives each record to every one of
 * them, hg_evlog_reopen reopens each file, hg_evlog_close closes them all.
 */
void hg_evlog_append(hg_evlog_t **head, hg_evlog_t *next);
const char *hg_evlog_name(const hg_evlog_t *l);
void hg_evlog_close(hg_evlog_t *l);

/*
 * Append one line (as made by hg_record_format) with a single write, to
 * every destination of the chain. HG_EIO with err set (naming the first
 * destination that failed) when any did not take it (e.g. disk full:
 * nothing partial is left in a file, a short write is truncated back).
 */
hg_status_t hg_evlog_write(hg_evlog_t *l, const hg_json_t *line, hg_err_t *err);

/*
 * Reopen the log's path (after logrotate moved it): later writes go to the
 * new file. Safe while other threads write. On failure the old file stays
 * in use and HG_EIO is returned with err set.
 */
hg_status_t hg_evlog_reopen(hg_evlog_t *l, hg_err_t *err);

/*
 * A record the evidence log did not take goes to the server's own log
 * (syslog, nginx's error_log) in numbered pieces of at most this many
 * bytes: classic syslog (RFC 3164) carries 1024 bytes a message with its
 * header, and a record with many recipients in one line would be cut
 * there and lose its last fields (Message-ID, queue ID).
 */
#define HG_RECORD_PIECE_MAX  768

typedef void (*hg_record_piece_pt)(void *data, size_t i, size_t n,
                                   const char *piece, size_t len);

/*
 * Cut a record line (len bytes, its newline left out) into pieces of at
 * most HG_RECORD_PIECE_MAX bytes, never inside a UTF-8 character, and hand
 * each to emit in order, numbered i = 1..n: joined in order they give the
 * line back. An empty line gives no piece.
 */
void hg_record_split(const char *line, size_t len, hg_record_piece_pt emit,
                     void *data);

/* RFC 3339 UTC time with milliseconds into out (>= 32 bytes). */
void hg_time_rfc3339(char *out, size_t outlen);

#endif
