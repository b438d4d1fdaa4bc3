/*
 * report.h - what hashgate report and hashgate preserve share: incidents
 * built from evidence records, the reporter's configuration, the state
 * file, the CyberTipline-shaped drafts.
 *
 * An incident is one mail (its Postfix queue ID and Message-ID) or one
 * HTTP request (its request ID), however many of its parts matched. It is
 * drafted from the records of its matched files only; a record of it that
 * cannot be read (an unknown version, a bad field) makes it refused: it is
 * listed with the reason and never drafted, since a draft without that
 * record could leave a file out.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_CLI_REPORT_H
#define HASHGATE_CLI_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hashgate/evread.h"

/* Where things are by default (hashgate(1), docs/operators.md). */
#define REP_DEFAULT_CONF   "/etc/hashgate/reporter.conf"
#define REP_DEFAULT_STATE  "/var/lib/hashgate/report.state"
#define REP_DEFAULT_OUT    "/var/lib/hashgate/reports"
#define REP_DEFAULT_STORE  "/var/lib/hashgate/evidence"
#define REP_DEFAULT_LOGS   { "/var/log/hashgate/evidence.log", \
                             "/var/log/nginx/hashgate/evidence.log", NULL }

/*
 * Incidents whose newest record is younger than this are left for a later
 * run: the records of one mail are written one after another, and a run
 * in between would draft a mail without its last files.
 */
#define REP_SETTLE_MS_DEFAULT  (60 * 1000)

/* NCMEC's incident type for what hashgate finds (its schema's enumeration). */
#define REP_INCIDENT_TYPE \
    "Child Pornography (possession, manufacture, and distribution)"

/* ---- incidents (report_incident.c) ---- */

typedef struct {
    char           *key;        /* state key: "smtp/QUEUEID/MESSAGE-ID",
                                 * "http/REQUEST-ID" */
    char           *id;         /* queue ID, Message-ID or request ID */
    char            channel[8]; /* "smtp" or "http" */
    hg_evrec_t    **recs;       /* the matched files' records, by time */
    size_t          nrecs;
    size_t          cap;
    int64_t         first_ms;
    int64_t         last_ms;
    char           *refused;    /* why it is not drafted, or NULL */
} rep_incident_t;

typedef struct {
    rep_incident_t **inc;       /* by first record time */
    size_t          n;
    size_t          cap;
    uint64_t        counts[HG_EVREAD_KINDS];
    uint64_t        not_matches;    /* records of files not checked or
                                     * allowed: no part of a report */
    uint64_t        duplicates;     /* the same record read twice */
    int             file_errors;    /* files that could not be read (whole
                                     * or to their end) */
} rep_set_t;

/*
 * Read every file (messages on stderr, the first few per file and kind,
 * each "FILE:LINE: why") and group the records into incidents. Returns 0,
 * or -1 when out of memory.
 */
int rep_load(rep_set_t *set, char *const *files, size_t nfiles);
void rep_set_free(rep_set_t *set);

/* Which incidents and files a run is about. */
typedef struct {
    int64_t         since_ms;   /* INT64_MIN: no bound */
    int64_t         until_ms;   /* INT64_MAX: no bound */
    char          **lists;      /* NULL-ended, or NULL for every list */
    const char     *incident;   /* queue ID, Message-ID or request ID */
    int64_t         now_ms;
    int64_t         settle_ms;
} rep_filter_t;

/* 1 if the file of rec is one the filter's lists select. */
int rep_file_selected(const hg_evrec_t *rec, const rep_filter_t *f);

/*
 * 1 if inc is selected: its time within since/until, its ID (or
 * Message-ID) the one asked for, at least one file selected. 0 if not, or
 * -1 when it is selected but too new (newest record within settle_ms of
 * now): the caller says so.
 */
int rep_selected(const rep_incident_t *inc, const rep_filter_t *f);

/* The matched records of inc the filter selects, into out (inc->nrecs). */
size_t rep_files(const rep_incident_t *inc, const rep_filter_t *f,
                 const hg_evrec_t **out);

/*
 * The bytes to upload for a matched file, as "ALG:HEX": the file's own
 * digest, or for a file found inside archives the outermost archive's
 * (the part the mail or request carried). SHA-256 where the record has
 * it. -1 if the record has no digest to name them by.
 */
int rep_upload_ref(const hg_evrec_t *rec, char *out, size_t outlen);

/* 1 if m is a PDQ match (an image near a listed PDQ hash). */
int rep_match_is_pdq(const hg_evrec_match_t *m);

/* The name a matched file is uploaded under ("photo.jpg", "part-2.zip"). */
void rep_upload_name(const hg_evrec_t *rec, size_t index, char *out,
                     size_t outlen);

/* "FILE:LINE" of every record of a file list, comma-separated (malloc'd). */
char *rep_record_refs(const hg_evrec_t *const *recs, size_t n);

/* ms since 1970 as RFC 3339 UTC with milliseconds. */
void rep_time(int64_t ms, char *out, size_t outlen);

/* The time now, in ms since 1970. */
int64_t rep_now_ms(void);

/*
 * A time option: RFC 3339 UTC, or a date (its first ms; with end, its
 * last). -1 if it is neither.
 */
int rep_time_opt(const char *s, int end, int64_t *ms);

/* Append malloc'd s to the NULL-ended array *v of *n; -1 on ENOMEM (s
 * freed). */
int rep_push(char ***v, size_t *n, char *s);

/*
 * The files to read for the command cmd: each of logs with its rotated
 * files (only: just the file), or with no logs the default ones that
 * exist. *files is NULL-ended (free each, then it). -1 with the reason
 * printed.
 */
int rep_log_files(const char *cmd, char *const *logs, size_t nlogs, int only,
                  char ***files, size_t *n);

/* An incident's file name: its time, channel and ID, then suffix
 * ("20261125T101500Z-smtp-4F2A81C0D3.xml"). */
void rep_incident_name(const rep_incident_t *inc, const char *suffix,
                       char *out, size_t outlen);

/* ---- the reporter (report_conf.c) ---- */

typedef struct {
    char   *company;            /* Company: into companyTemplate */
    char   *first_name;
    char   *last_name;
    char   *email;
    char   *phone;
    char   *company_template;   /* text added after the company's name */
    char   *terms_of_service;
    char   *legal_url;
    char   *esp_service;        /* the name of the mail or web service */
    char   *web_scheme;         /* "https" (default) or "http": records
                                 * have host and URI, not the scheme */
    char   *endpoint;           /* the reporting API's base URI (--submit) */
    char   *credentials;        /* the file with its user and password */
} rep_conf_t;

/*
 * Read the reporter's configuration ("Name value" lines, # comments).
 * Returns 0, or -1 with "FILE:LINE: why" (or "FILE: why") printed.
 */
int rep_conf_load(const char *path, rep_conf_t *c);
void rep_conf_free(rep_conf_t *c);

/* ---- the state file (report_state.c) ---- */

/*
 * What happened to an incident, from the state file's events (appended,
 * one a line, never rewritten): drafted, then for --submit the report
 * opened (its report ID), each file uploaded (its file ID) and described,
 * and the report finished or retracted.
 */
#define REP_MAX_FILES  256

typedef struct {
    char           *key;
    char           *drafted;        /* when, or NULL */
    char           *draft_path;
    int             submitting;     /* /submit sent, no answer recorded */
    char           *report_id;      /* the service's, once opened */
    char           *file_id[REP_MAX_FILES];
    int             described[REP_MAX_FILES];
    char           *finished;       /* when, or NULL */
    char           *retracted;
} rep_state_entry_t;

typedef struct {
    char               *path;
    int                 fd;         /* open, locked, appending */
    rep_state_entry_t  *e;
    size_t              n;
    size_t              cap;
} rep_state_t;

/*
 * Open (create 0600) and lock the state file, reading its events. Only one
 * run at a time: a second gets -1 with an error saying so. -1 with the
 * reason printed ("FILE:LINE: ..." for a line that cannot be read).
 * readonly: only read it (a missing file is an empty state), no lock, no
 * rep_state_add.
 */
int rep_state_open(const char *path, int readonly, rep_state_t *st);
void rep_state_close(rep_state_t *st);

/* The entry of key, or NULL. */
const rep_state_entry_t *rep_state_get(const rep_state_t *st, const char *key);

/*
 * Append one event (and fsync) and apply it: "drafted" (a = path; after a
 * retraction it starts the incident afresh), "submitting" (before
 * /submit is sent), "submit-failed" (the service said no), "opened"
 * (a = report ID), "uploaded" (a = index, b = file ID), "described"
 * (a = index), "finished", "retracted". -1 with the reason printed when
 * it cannot be written: the caller stops.
 */
int rep_state_add(rep_state_t *st, const char *event, const char *key,
                  const char *a, const char *b);

/*
 * Fields of the state file and the evidence manifest: tab-separated, each
 * percent-encoded where it holds a blank, a control, '%' or DEL.
 * rep_field_enc writes s encoded at out (3 * strlen(s) + 1 bytes) and
 * returns the end; rep_field_dec decodes in place (-1 if broken or NUL);
 * rep_field_split cuts a line (no newline) into at most max decoded
 * fields, -1 if there are more or one is empty or broken.
 */
char *rep_field_enc(char *out, const char *s);
int rep_field_dec(char *s);
int rep_field_split(char *line, char **f, size_t max, size_t *nf);

/* ---- drafts (report_xml.c) ---- */

typedef struct rep_xml_s rep_xml_t;

/*
 * The schema drafts are checked against: xsd_path, or NULL for the one
 * built into the program (cli/cybertip.xsd). -1 with the reason printed.
 */
int rep_xml_open(const char *xsd_path, rep_xml_t **out);
void rep_xml_close(rep_xml_t *x);

/*
 * The draft of inc (its files the filter selects) as a cybertipDraft
 * document in *out (malloc'd, *len bytes), checked against the schema
 * first. -1 with why (naming the records) when it is not valid: then
 * nothing is returned.
 */
int rep_xml_draft(rep_xml_t *x, const rep_incident_t *inc,
                  const rep_filter_t *f, const rep_conf_t *conf,
                  char **out, size_t *len, char *why, size_t wlen);

/*
 * Check buf against the schema; root is the element it must start with
 * ("report", "fileDetails", "cybertipDraft"). 0, or -1 with why.
 */
int rep_xml_validate(rep_xml_t *x, const char *buf, size_t len,
                     const char *root, char *why, size_t wlen);

/* ---- submission (report_submit.c) ---- */

typedef struct {
    const char     *endpoint;       /* base URI, no trailing slash needed */
    const char     *credentials;    /* file: "Username x" / "Password y" */
    const char     *store;          /* the evidence store (preserve.h) */
    const char     *incident;       /* only this one (an ID in its key) */
    int             retract;        /* retract instead of submitting */
    int             resubmit;       /* submit although an earlier /submit
                                     * went unanswered */
} rep_submit_opts_t;

/*
 * Submit every drafted incident not yet finished (or only o->incident),
 * resuming where a run stopped; with o->retract, retract the begun one.
 * Returns CLI_EXIT_OK, or CLI_EXIT_ERROR with each reason printed.
 */
int rep_submit(const rep_submit_opts_t *o, rep_xml_t *x, rep_state_t *st);

/* ---- a matched file's bytes in a preserved item (report_extract.c) ---- */

typedef struct {
    char    ref[80];        /* "sha256:HEX" (rep_upload_ref) */
    int     found;
    int     is_item;        /* the whole item is the file */
    char   *path;           /* with out_dir: where the bytes are (the item
                             * itself when is_item); malloc'd */
} rep_want_t;

typedef enum {
    REP_ITEM_MAIL = 0,      /* a whole message, as postcat -bh prints it */
    REP_ITEM_BODY           /* an upload's body: raw, or multipart */
} rep_item_kind_t;

/*
 * Look for each want's bytes in the preserved item: the item itself and
 * every reading of every MIME part, matched by digest only. With out_dir,
 * the bytes found are written there as file-N (N the want's index + 1)
 * and want->path set. Returns 0 (each want's found says), -1 with why on
 * a read or write error.
 */
int rep_extract(const char *item, rep_item_kind_t kind, rep_want_t *w,
                size_t nw, const char *out_dir, char *why, size_t wlen);

/* ---- text and JSON (report_text.c) ---- */

void rep_print_text(FILE *fp, const rep_incident_t *inc,
                    const rep_filter_t *f, const rep_state_entry_t *se);
void rep_print_json(FILE *fp, const rep_incident_t *inc,
                    const rep_filter_t *f, const rep_state_entry_t *se);

/* What the state says of an incident, in words. */
void rep_state_words(const rep_state_entry_t *se, char *out, size_t outlen);

#endif
