/*
 * milter.h - hashgate-milter: the map of the daemon.
 *
 * The milter is a thin adapter: libmilter hands over SMTP events, the
 * MIME parser, scanner and policy of libhashgate decide, and this daemon
 * acts (reject, quarantine, add a header) and writes evidence. Files:
 *
 *   main.c      options, start-up checks, daemonising, privileges
 *   conf.c      the configuration file (Key value lines)
 *   log.c       syslog and/or stderr, one line per event
 *   reload.c    the current database, swapped on SIGHUP and by an
 *               identity check of the file; the signal thread
 *   filter.c    the smfiDesc callbacks and per-message state
 *   evidence.c  evidence records (JSON Lines) and their syslog line
 *   inspect.c   the archive inspection helpers, shared by the sessions
 *   metrics.c   the counters (common/metrics) and /metrics (MetricsListen)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_MILTER_H
#define HASHGATE_MILTER_H

/* EvidenceLog destinations besides the file: syslog, journald. */
#define HG_MILTER_EVIDENCE_SINKS  4

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hashgate/db.h"
#include "hashgate/db_sign.h"
#include "hashgate/decide.h"
#include "hashgate/image_conf.h"
#include "hashgate/inspect.h"
#include "hashgate/mail_scan.h"
#include "hashgate/metrics.h"
#include "hashgate/record.h"
#include "hashgate/scan.h"
#include "hashgate/status.h"
#include "hashgate/unpack.h"

#define HG_MILTER_NAME          "hashgate-milter"
#define HG_MILTER_DEFAULT_CONF  "/etc/hashgate/hashgate-milter.conf"

/* A config line longer than this is an error, not silently cut. */
#define HG_CONF_LINE_MAX        4096

/* Room for a path or a socket spec (PATH_MAX is 4096 on Linux). */
#define HG_CONF_PATH_MAX        4096

/* The SMTP reply text may not exceed an SMTP line (RFC 5321: 512 octets). */
#define HG_REPLY_TEXT_MAX       480

/* Default periodic identity check of the database file, seconds. */
#define HG_RELOAD_INTERVAL_DEF  60

/* Default size of a whole message (input bytes): 0 = no limit beyond Postfix's. */
#define HG_MAX_MESSAGE_BYTES_DEF 0

/* Inspection helpers started by default, shared by all sessions: a
 * message waits for one only while another message's archive is open. */
#define HG_INSPECT_HELPERS_DEF  2

/* Log levels, syslog's numbers. */
#define HG_LOG_NONE     (-1)     /* hg_log_setup: nothing to stderr */
#define HG_LOG_ALERT    1
#define HG_LOG_ERR      3
#define HG_LOG_WARNING  4
#define HG_LOG_NOTICE   5
#define HG_LOG_INFO     6
#define HG_LOG_DEBUG    7

/* The parsed configuration. Strings are owned by the struct. */
typedef struct {
    char           *path;           /* the file it was read from */
    char           *socket;         /* as given: unix:/p, local:/p, inet:PORT@HOST, inet6:... */
    char           *socket_path;    /* for unix/local sockets, else NULL */
    int             socket_mode;    /* -1: leave libmilter's default */
    char           *socket_group;   /* NULL: leave it */
    char           *database;
    hg_db_keys_t   *db_keys;        /* RequireSignature: trusted keys, or NULL */
    hg_policy_t     policy;         /* ListAction, DefaultAction, MonitorOnly, OnFail */
    char            reply_code[4];  /* "550" */
    char            reply_xcode[16];/* "5.7.1" */
    char           *reply_text;
    char           *tag_header;
    char           *evidence_log;   /* the file; NULL: records go to syslog only */
    char           *evidence_sinks[HG_MILTER_EVIDENCE_SINKS];
                                    /* EvidenceLog syslog[:...] / journald */
    size_t          nevidence_sinks;
    char           *user;           /* UserID user[:group], NULL when unset */
    char           *group;
    char           *pid_file;
    unsigned        reload_interval;/* seconds, 0 = only on SIGHUP */
    hg_unpack_limits_t limits;      /* MaxDepth, MaxParts, MaxHeaderBytes, MaxMessageBytes */
    int             log_level;
    int             syslog;         /* Syslog yes|no */
    int             syslog_facility;
    int             detect_types;   /* DetectTypes yes|no */
    unsigned        timeout;        /* MilterTimeout: seconds libmilter waits for the MTA */
    int             archives;       /* Archives yes|no: open containers */
    char           *inspect_helper; /* InspectHelper, NULL: the built-in path */
    unsigned        inspect_helpers;/* InspectHelpers: processes, shared */
    hg_inspect_limits_t archive_limits; /* ArchiveMax*, ArchiveTimeout;
                                     * ArchiveEncrypted / ArchiveUnreadable
                                     * are in policy */
    char           *metrics_listen; /* MetricsListen inet:PORT@ADDR or
                                     * unix:PATH; NULL: off */
    size_t          parallel_digests; /* ParallelDigests: split updates of
                                     * this many bytes, 0: off */
    hg_image_conf_t images;         /* PdqImages, PdqMinQuality, PdqDihedral,
                                     * ImageMax*, ImageTimeout (Archives no:
                                     * no images either); ImageLimit is in
                                     * policy */
} hg_mconf_t;

/* conf.c */
/*
 * Read and check the file at path into *conf (fully initialised, even on
 * failure, so hg_mconf_free is always safe). On a bad line returns
 * HG_EFORMAT with err "path:line: reason"; HG_EIO when unreadable.
 */
hg_status_t hg_mconf_load(const char *path, hg_mconf_t *conf, hg_err_t *err);
void hg_mconf_free(hg_mconf_t *conf);

/* log.c */
void hg_log_setup(int use_syslog, int facility, int level, int stderr_max);
void hg_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* reload.c */
/*
 * Open the database at start-up. On failure err is set and the daemon may
 * still run without one (every mail then gets OnFail) until the file is
 * fixed: hg_reload_check picks up a good file when it changes.
 */
hg_status_t hg_reload_init(const char *path, const hg_db_keys_t *keys,
                           hg_err_t *err);

/* A reference to the database in use now; release with hg_db_close. */
hg_db_t *hg_reload_current(void);

/*
 * Try the file again: a good new file replaces the current one (running
 * scans keep theirs), a bad one is logged and refused. force: reopen even
 * when the file's identity has not changed (SIGHUP). Returns 1 when the
 * database was swapped.
 */
int hg_reload_check(int force);

/* Start the thread that waits for SIGHUP and runs the periodic check. */
int hg_reload_thread_start(unsigned interval);

/* The signal libmilter's thread took to stop the milter (SIGTERM, SIGINT),
 * or 0: seen through the interposed sigwait() in reload.c. */
int hg_reload_stop_signal(void);

/* Drop the current database at exit. */
void hg_reload_shutdown(void);

/* Reloads done and refused so far (for logs and tests). */
unsigned long hg_reload_count(void);

/* filter.c */
/* The smfiDesc, set up from conf (which must outlive the milter). */
int hg_filter_register(const hg_mconf_t *conf);
/* Start the ParallelDigests helpers (after any fork); HG_OK when off. */
hg_status_t hg_filter_parallel_start(const hg_mconf_t *c, hg_err_t *err);
/* Sessions still open (their threads may run callbacks at any time). */
unsigned hg_filter_sessions(void);
void hg_filter_shutdown(void);

/* inspect.c */
/*
 * Make the InspectHelpers helpers of c (no process yet). HG_EIO with err
 * naming the program when it is missing or not executable.
 */
hg_status_t hg_inspect_pool_init(const hg_mconf_t *c, hg_err_t *err);

/* Start each helper on an empty zip; HG_EIO with err when one does not
 * run. Call from the main thread, after dropping privileges. */
hg_status_t hg_inspect_pool_start(const hg_mconf_t *c, hg_err_t *err);

/* What a session's mail scan borrows helpers through. */
void hg_inspect_pool_source(const hg_mconf_t *c, hg_mail_inspect_t *mi);

/* "pid,pid" of the helpers, for the start-up log line. */
void hg_inspect_pool_pids(char *out, size_t outlen);

/* Stop the helpers; safe when none were made. */
void hg_inspect_pool_shutdown(void);

/* evidence.c */
hg_status_t hg_evidence_open(const hg_mconf_t *c, hg_err_t *err);
hg_status_t hg_evidence_check_sinks(const hg_mconf_t *c, hg_err_t *err);
void hg_evidence_close(void);

/* Reopen the evidence log's path (SIGHUP, after logrotate moved it). */
void hg_evidence_reopen(void);

/*
 * Write one record (already filled by the caller) to the evidence log and
 * a key=value line to the log. Returns HG_EIO (err says why) when the
 * evidence log did not take it: the caller asks hg_decide_evidence_failed
 * what to do and hands the record, with that verdict, to
 * hg_evidence_fallback.
 */
hg_status_t hg_evidence_write(const hg_record_t *r, hg_err_t *err);

/* The record to the log, in numbered pieces, since the evidence log did
 * not take it (why). */
void hg_evidence_fallback(const hg_record_t *r, const char *why);

/* metrics.c */
/* The counters every part of the daemon moves (see hashgate/metrics.h). */
extern hg_metrics_t *const hg_milter_metrics;

/* A MetricsListen address, parsed. */
typedef struct {
    int                 family;     /* AF_INET, AF_INET6 or AF_UNIX */
    struct sockaddr_in  in;
    struct sockaddr_in6 in6;
    char                path[108];
} hg_metrics_addr_t;

/* Check a MetricsListen value; HG_EINVAL with err saying why. */
hg_status_t hg_metrics_parse(const char *spec, hg_metrics_addr_t *a,
                             hg_err_t *err);

/* Make MetricsListen's socket (nothing when unset): at start, before
 * detaching and dropping privileges. HG_EIO with err when it cannot. */
hg_status_t hg_metrics_bind(const hg_mconf_t *c, hg_err_t *err);

/* Serve /metrics on it from a thread of its own (after detaching). */
hg_status_t hg_metrics_start(hg_err_t *err);

/* Stop serving; remove a unix socket. Safe when never started. */
void hg_metrics_stop(void);

#endif
