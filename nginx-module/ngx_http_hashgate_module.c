
/*
 * ngx_http_hashgate_module.c - hash request bodies as they stream through
 * nginx and reject or hold uploads listed in a hashgate database.
 *
 * The body is seen in the request body filter chain, in front of nginx's own
 * save filter: every buffer is hashed (and, for a multipart type, fed to
 * libhashgate's form parser so each part is hashed on its own) before it is
 * passed on, so nothing is read twice and nothing of the body is kept here.
 * A form part sent with a base64 or quoted-printable transfer encoding is
 * hashed as sent and, decoded, as the copy "N.d1" the parser reports while
 * "N" is still open (hence a second stream of parts, ctx->decoded): some
 * applications (Go's mime/multipart) decode it and store the decoded file.
 * A JSON or url-encoded body is fed to libhashgate's apibody parser the
 * same way (hashgate_json, hashgate_form): the files web and mobile APIs
 * upload inside it, base64 strings, data: URLs and form fields, are its
 * parts, and go the way form parts go. Such a body that is not well-formed
 * is no error by itself (the application refuses it): what came before
 * the fault was checked, and the log and the records say where it stopped.
 * The verdict is reached at the buffer carrying last_buf, before that buffer
 * is passed on; a match makes the filter return the configured status, which
 * nginx turns into the response (ngx_http_read_client_request_body() and the
 * unbuffered reader both hand a status >= 300 from the filter chain to the
 * request's finalization).
 *
 * With proxy_request_buffering on, the upstream is only contacted after the
 * whole body has passed the chain, so it never sees a listed upload. With it
 * off, earlier buffers are already on their way to the upstream when the
 * last one arrives: the last buffer is held back until the verdict and, on a
 * match, the request is finalized with the status, which closes the upstream
 * connection. The application thus gets a body short of its final bytes (or
 * without the terminating chunk) and a reset connection: the upload never
 * completes there.
 *
 * Archives (zip, 7z, rar, tarballs, files compressed whole, TNEF) are
 * opened by a helper process of the worker (ngx_http_hashgate_inspect.c),
 * never in the worker. A form part or raw body is fed to a spool as it
 * streams; a container is sent to the helper where it ends, and the
 * verdict waits for the helper's answer without blocking the worker: the
 * buffers carrying last_buf are kept here (nginx 1.21.2 lets a request
 * body filter keep buffers: the body counts as read only once the save
 * filter got last_buf), the filter returns NGX_OK, and nginx waits for a
 * read event. When the last inspection of the request is done, its
 * connection's read event is posted: the body reader (or, with request
 * buffering off, the upstream's request handler) runs the filter chain
 * again with no buffers, and the verdict is reached then. While it waits,
 * a client that closes its connection ends the request (499), and the
 * helper's late answer for it is discarded.
 *
 * The database is opened and verified whole at configuration time, so
 * "nginx -t" and "nginx -s reload" refuse an unreadable or corrupt file,
 * and its mapping is shared by every worker. Each worker checks the file's
 * identity once a second, idle or not (hg_db_watch_check), verifies a new
 * file in a thread beside its event loop (ngx_http_hashgate_verify.c) and
 * then swaps to it; a request keeps a reference to the database it started
 * with.
 *
 * Digests are computed on the event loop by default: SHA-256 runs at about
 * twice the rate nginx takes an upload in, and measured here handing large
 * bodies to a thread (hashgate_thread, ngx_http_hashgate_hasher.c) gives no
 * throughput on a busy host, for a few per cent more CPU per byte (about
 * 20% before its hand-off was batched). With several digests to compute,
 * hashgate_parallel_digests runs MD5 on a helper thread beside the others
 * (common/scan/hash_par.c), from the event loop or the hashing thread.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "hashgate/apibody.h"
#include "hashgate/metrics.h"
#include "hashgate/db.h"
#include "hashgate/db_sign.h"
#include "hashgate/db_watch.h"
#include "hashgate/decide.h"
#include "hashgate/hash.h"
#include "hashgate/image_conf.h"
#include "hashgate/inspect.h"
#include "hashgate/list_actions.h"
#include "hashgate/magic.h"
#include "hashgate/record.h"
#include "hashgate/scan.h"
#include "hashgate/status.h"
#include "hashgate/unpack.h"

#if __has_include("inspect/proto.h")
#include "inspect/proto.h"              /* the helper's test hooks */
#define NGX_HTTP_HASHGATE_TEST_HOOKS  1
#endif

#include "ngx_http_hashgate_hasher.h"
#include "ngx_http_hashgate_inspect.h"
#include "ngx_http_hashgate_metrics.h"
#include "ngx_http_hashgate_verify.h"

#include <dlfcn.h>
#include <signal.h>
#include <sys/mman.h>

/* where `make install` puts hashgate-inspect: HG_INSPECT_HELPER_PATH */
#if __has_include("inspect_path.h")
#include "inspect_path.h"
#endif


/* idle scan contexts a worker keeps, to save their EVP setup per request */
#define NGX_HTTP_HASHGATE_SCAN_CACHE   64

/*
 * matches kept for evidence records in one request: a hostile form of
 * thousands of listed parts still decides on all of them, but only this
 * many records are written (the rest are counted in the error log); the
 * room is taken up front for forms, as the hashing thread cannot allocate
 * from the request's pool
 */
#define NGX_HTTP_HASHGATE_MAX_RECORDS  16

/* libmagic's answer, e.g. "application/vnd.openxmlformats-..." */
#define NGX_HTTP_HASHGATE_TYPE_LEN     128

/* form field and file names kept for a record; longer ones are cut */
#define NGX_HTTP_HASHGATE_NAME_LEN     256

/*
 * buffers smaller than this are hashed on the event loop: handing them to
 * the thread costs more than it saves, and small bodies then never wait
 */
#define NGX_HTTP_HASHGATE_THREAD_MIN   8192

/*
 * bodies declared smaller than this are hashed on the event loop (at most
 * about 0.15 ms of SHA-256): the thread pays off for long streams only
 */
#define NGX_HTTP_HASHGATE_THREAD_BODY  (256 * 1024)

/*
 * with archives opened, body bytes after which the hashing thread is made
 * to finish what it holds, so that containers ended by then are posted to
 * the helper before the body's end
 */
#define NGX_HTTP_HASHGATE_KICK         (1024 * 1024)

/* how often an idle worker looks at the database file (one stat) */
#define NGX_HTTP_HASHGATE_REFRESH_MS   1000

/*
 * how often an idle worker looks whether the verify of a new file is done:
 * a request looks too, so this only bounds how long an idle worker keeps
 * the old database after the new one is verified
 */
#define NGX_HTTP_HASHGATE_VERIFY_POLL_MS  20


typedef struct {
    ngx_str_t                  db_path;     /* NUL-terminated */
    hg_db_t                   *db;          /* current in this process */
    hg_db_keys_t              *db_keys;     /* hashgate_database_key, or NULL */
    hg_db_watch_t              watch;       /* the file db came from */
    ngx_http_hashgate_verify_t verify;      /* a new file being verified */
    ngx_uint_t                 spoiled;     /* db's file changed in place */
    time_t                     checked;
    ngx_event_t                refresh;     /* the idle worker's check */
    unsigned                   extra_algs;  /* for $hashgate_sha256 */
    ngx_int_t                  request_id_index;
    ngx_flag_t                 thread;      /* hashgate_thread */
    hg_magic_t                *magic;       /* the event loop's */
    hg_magic_t                *thread_magic;
    ngx_http_hashgate_hasher_t *hasher;
    size_t                     par_min;     /* hashgate_parallel_digests */
    hg_hash_par_t             *par;         /* its helper, or NULL */
    hg_scan_t                **cache;
    ngx_uint_t                 ncache;
    ngx_queue_t                holding;     /* requests with a .part copy */
    ngx_str_t                  helper;      /* hashgate-inspect, resolved */
    u_char                    *helper_conf; /* where it was set, or NULL */
    ngx_uint_t                 helper_line;
    ngx_uint_t                 archives;    /* some location opens them */
    ngx_uint_t                 helper_tried;    /* started once, at -t */
    ngx_http_hashgate_inspect_t *inspect;   /* this worker's helper */
    ngx_uint_t                 inspect_test; /* HASHGATE_INSPECT_TEST=1 */
    ngx_shm_zone_t            *metrics_zone; /* ngx_http_hashgate_metrics.c */
} ngx_http_hashgate_main_conf_t;


/*
 * hashgate_json / hashgate_form: whether bodies of that type are parsed for
 * the files APIs upload inside them (apibody.h), and its limits. Every
 * value is set by the directive (a parameter left out takes its default),
 * so a location without it inherits the whole setting.
 */
typedef struct {
    ngx_flag_t                 enable;
    off_t                      min_size;    /* hg_apibody_limits_t's */
    off_t                      max_depth;
    off_t                      max_parts;   /* max_strings, max_fields */
    off_t                      max_decoded;
    off_t                      max_retained;    /* JSON: read ahead */
} ngx_http_hashgate_apibody_conf_t;


/* One key=value parameter of hashgate_json or hashgate_form. */
typedef struct {
    ngx_str_t                  name;
    size_t                     offset;      /* in the _apibody_conf_t */
    ngx_uint_t                 size;        /* a size (1k, 8m), not a count */
    off_t                      min;
    off_t                      max;
} ngx_http_hashgate_param_t;


/* The image directives, each a bit of img_set (and the cmd's offset). */
#define NGX_HTTP_HASHGATE_IMG_IMAGES    0
#define NGX_HTTP_HASHGATE_IMG_QUALITY   1
#define NGX_HTTP_HASHGATE_IMG_DIHEDRAL  2
#define NGX_HTTP_HASHGATE_IMG_PIXELS    3
#define NGX_HTTP_HASHGATE_IMG_BYTES     4
#define NGX_HTTP_HASHGATE_IMG_TIMEOUT   5
#define NGX_HTTP_HASHGATE_IMG_LIMIT     6


/* hashgate_list_action's table, checked in common/ as the milter's */
typedef struct {
    hg_policy_t                policy;      /* lists[] with file:line */
    u_char                     checked[HG_POLICY_MAX_LISTS];
} ngx_http_hashgate_lists_t;


typedef struct {
    ngx_flag_t                 enable;
    ngx_flag_t                 monitor;
    ngx_flag_t                 multipart;
    ngx_uint_t                 default_action;
    ngx_uint_t                 on_error;    /* unset: the policy's default */
    ngx_http_hashgate_lists_t *lists;
    ngx_uint_t                 reject_status;
    ngx_uint_t                 hold_status;
    ngx_path_t                *hold_path;
    hg_evlog_t                *evlog;
    ngx_uint_t                 evlog_set;   /* "off" counts as set */
    ngx_uint_t                 max_parts;
    ngx_uint_t                 max_depth;
    size_t                     max_header_size;
    hg_policy_t               *policy;
    ngx_uint_t                 may_hold;
    ngx_flag_t                 archives;
    ngx_uint_t                 archive_encrypted;   /* hg_action_t */
    ngx_uint_t                 archive_unreadable;
    ngx_uint_t                 archive_max_depth;
    ngx_uint_t                 archive_max_files;   /* per request */
    off_t                      archive_max_bytes;   /* per request */
    off_t                      archive_max_file_size;
    ngx_uint_t                 archive_max_ratio;
    ngx_msec_t                 archive_timeout;     /* per container */
    /* hashgate_pdq_* and hashgate_image_*: parsed by common/ (image_conf.h);
     * img_set says which were given here (bits NGX_HTTP_HASHGATE_IMG_*) */
    hg_image_conf_t            img;
    ngx_uint_t                 img_set;
    ngx_uint_t                 image_limit;         /* hg_action_t */
    ngx_http_hashgate_apibody_conf_t  json;
    ngx_http_hashgate_apibody_conf_t  form;
} ngx_http_hashgate_loc_conf_t;


/* One object that matched, kept until the request's verdict is final. */
typedef struct {
    hg_scan_result_t           res;
    hg_verdict_t               verdict;
    char                       part[NGX_HTTP_HASHGATE_NAME_LEN];
    char                       filename[NGX_HTTP_HASHGATE_NAME_LEN];
    char                       declared[NGX_HTTP_HASHGATE_TYPE_LEN];
    char                       detected[NGX_HTTP_HASHGATE_TYPE_LEN];
    char                       encoding[16];    /* an apibody part's */
    /* a file inside containers (from r->pool), else NULL */
    char                      *inner_part;  /* part path and chain */
    char                      *inner_name;
    char                      *inner_path;
    const char                *not_checked; /* "encrypted", "unreadable",
                                               "image not decoded", ... */
    hg_inspect_image_t        *image;       /* an image's, from r->pool */
    hg_record_container_t     *containers;  /* the part first */
    size_t                     ncontainers;
    ngx_uint_t                 unrecorded;  /* unsigned unrecorded:1 */
} ngx_http_hashgate_hit_t;


/* What every record of a request names besides its object. */
typedef struct {
    char                      *addr;
    char                      *host;
    char                      *method;
    char                      *uri;
    char                      *reqid;
    char                      *held;
    const char                *stopped;     /* a body not well-formed */
    uint64_t                   stopped_at;
} ngx_http_hashgate_names_t;


/* A record the evidence log did not take, on its way to the error log. */
typedef struct {
    ngx_log_t                 *log;
    ngx_log_t                  bare;        /* log without the request's
                                               ", client: ..." suffix */
    const char                *reqid;
    ngx_uint_t                 n;           /* its number in the request */
    const char                *why;
} ngx_http_hashgate_piece_t;


typedef struct ngx_http_hashgate_ctx_s  ngx_http_hashgate_ctx_t;


/*
 * The parts a parser hands out, one open at a time, each hashed in scan
 * and, when archives are opened, fed to spool: the form parts, and their
 * decoded copies ("2.d1"), which may be open at once and so have their
 * own. The callbacks' context.
 */
typedef struct {
    ngx_http_hashgate_ctx_t   *ctx;
    hg_scan_t                 *scan;
    hg_spool_t                *spool;
    hg_status_t                spool_st;    /* it could not be kept */
    hg_err_t                   spool_err;
    unsigned                   copy:1;      /* copies: named by path, and
                                               dropped when same_bytes */
    unsigned                   api:1;       /* apibody's: named by path */
} ngx_http_hashgate_stream_t;


struct ngx_http_hashgate_ctx_s {
    ngx_http_request_t        *request;
    ngx_http_hashgate_loc_conf_t *conf;
    hg_scan_t                 *body;
    ngx_http_hashgate_stream_t part;
    ngx_http_hashgate_stream_t decoded;     /* a form part's decoded copy */
    hg_unpack_t               *unpack;
    hg_apibody_t              *apibody;     /* or a JSON / url-encoded body */
    hg_apibody_mode_t          api;
    const char                *stopped;     /* apibody: not well-formed */
    uint64_t                   stopped_at;
    /*
     * While pending is not zero the hashing thread owns status, part_status,
     * part_err, verdict, hits, magic and the scan, unpack and apibody
     * objects.
     */
    ngx_uint_t                 pending;
    hg_status_t                status;      /* first error of the body scan */
    hg_status_t                part_status;
    hg_err_t                   part_err;
    hg_magic_t                *magic;       /* of the thread feeding now */
    hg_status_t                loop_status; /* found by the event loop */
    hg_verdict_t               verdict;
    ngx_array_t                hits;
    ngx_uint_t                 hits_dropped;
    off_t                      size;
    off_t                      kick_at;     /* flush the thread from here */

    ngx_fd_t                   hold_fd;
    u_char                    *hold_name;   /* final name, NUL-terminated */
    u_char                    *hold_tmp;

    u_char                     sha256[HG_HEX_MAX];

    ngx_queue_t                queue;       /* in hmcf->holding */

    const char                *what;        /* the failure that decides */

    /*
     * Archives (see ngx_http_hashgate_container_t). The spools and fresh
     * belong to the hashing thread while pending is not zero, like the
     * scan objects; everything else here is the event loop's.
     */
    hg_spool_t                *spool;       /* the raw body */
    hg_status_t                spool_st;    /* it could not be kept */
    hg_err_t                   spool_err;
    ngx_uint_t                 spool_lost;  /* a container not kept */
    ngx_queue_t                fresh;       /* containers ended, not posted */
    ngx_queue_t                containers;  /* posted to the helper */
    ngx_uint_t                 ipending;    /* in containers */
    hg_scan_t                 *inner;       /* matches inner files */
    hg_verdict_t               iverdict;    /* of the files inside */
    ngx_array_t                ihits;
    ngx_uint_t                 ihits_dropped;
    uint64_t                   ifiles;      /* the request's budget spent */
    uint64_t                   ibytes;
    ngx_chain_t               *held;        /* the body's end, waiting */
    unsigned                   test;        /* a test hook for its archives */
    unsigned                   images;      /* HG_INSPECT_IMAGES, _DIHEDRAL:
                                               images decoded, or 0 */

    uint64_t                   m_busy_ns;   /* metrics: time feeding */
    uint64_t                   m_end_ns;    /* the body's end reached */

    unsigned                   decided:1;
    unsigned                   hold_failed:1;
    unsigned                   threaded:1;
    unsigned                   queued:1;
    unsigned                   archives:1;
    unsigned                   waiting:1;   /* held, for the helper */
};


/* A container's place in the chain: the part, then each level inside. */
#define NGX_HTTP_HASHGATE_LEVELS  HG_RECORD_MAX_CONTAINERS


/*
 * A part (or raw body) whose bytes are a container: made where the part
 * ends, perhaps in the hashing thread (hence malloc(), and the fixed
 * strings), posted to the worker's helper from the event loop; freed when
 * its inspection is done, which may be after its request is gone.
 */
typedef struct {
    ngx_http_hashgate_ijob_t   job;         /* first: the job is this */
    ngx_queue_t                link;        /* in ctx->fresh, containers */
    hg_spool_t                *spool;       /* holds job.fd */
    const char                *format;      /* the spool's constant */
    hg_image_format_t          image;       /* the part is this image */
    hg_status_t                st;          /* not kept: why */
    char                       why[HG_ERR_MAX];
    char                       where[32];   /* for the log: "part 2" */
    char                       part[NGX_HTTP_HASHGATE_NAME_LEN];
    char                       filename[NGX_HTTP_HASHGATE_NAME_LEN];
    hg_digests_t               digests;     /* the part's own */
    ngx_uint_t                 bad;         /* the helper said nonsense */
    /* from r->pool while it runs: [0] the part, [d] a container at d */
    hg_record_container_t      level[NGX_HTTP_HASHGATE_LEVELS + 1];
} ngx_http_hashgate_container_t;


typedef struct {
    ngx_uint_t                 conflict;    /* Content-Types that differ */
    ngx_table_elt_t           *coding;      /* a Content-Encoding applied */
} ngx_http_hashgate_headers_t;


static ngx_int_t ngx_http_hashgate_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_http_hashgate_ctx_t *ngx_http_hashgate_create_ctx(
    ngx_http_request_t *r, ngx_http_hashgate_loc_conf_t *hlcf);
static void ngx_http_hashgate_feed(ngx_http_hashgate_ctx_t *ctx, u_char *p,
    size_t size, ngx_uint_t last);
static void ngx_http_hashgate_digest(void *data, u_char *p, size_t size,
    void *local);
static void ngx_http_hashgate_body_end(ngx_http_hashgate_ctx_t *ctx);
static ngx_int_t ngx_http_hashgate_keep(ngx_http_hashgate_ctx_t *ctx,
    ngx_chain_t *in);
static ngx_int_t ngx_http_hashgate_resume(ngx_http_hashgate_ctx_t *ctx,
    ngx_chain_t *in);
static ngx_int_t ngx_http_hashgate_finish(ngx_http_hashgate_ctx_t *ctx,
    ngx_chain_t *out);
static ngx_int_t ngx_http_hashgate_decide(ngx_http_hashgate_ctx_t *ctx);
static void ngx_http_hashgate_metrics_done(ngx_http_hashgate_ctx_t *ctx,
    const char *what);
static ngx_uint_t ngx_http_hashgate_settled(ngx_http_hashgate_ctx_t *ctx);
static void ngx_http_hashgate_spool_begin(ngx_http_hashgate_ctx_t *ctx,
    hg_spool_t **sp, hg_status_t *st, hg_err_t *err);
static void ngx_http_hashgate_spool_feed(hg_spool_t *sp, hg_status_t *st,
    hg_err_t *err, const u_char *p, size_t size);
static void ngx_http_hashgate_container_end(ngx_http_hashgate_ctx_t *ctx,
    hg_spool_t **sp, hg_status_t *st, hg_err_t *err, const char *where,
    const char *part, const char *filename, const hg_digests_t *digests);
static void ngx_http_hashgate_kick(ngx_http_hashgate_ctx_t *ctx);
static unsigned ngx_http_hashgate_test_hook(ngx_http_request_t *r);
static void ngx_http_hashgate_drop_containers(ngx_http_hashgate_ctx_t *ctx);
static ngx_int_t ngx_http_hashgate_container_start(
    ngx_http_hashgate_ijob_t *job, hg_inspect_limits_t *lim,
    hg_inspect_done_t *done);
static void ngx_http_hashgate_container_done(ngx_http_hashgate_ijob_t *job,
    hg_inspect_done_t *done);
static void ngx_http_hashgate_container_verdict(ngx_http_hashgate_ctx_t *ctx,
    ngx_http_hashgate_container_t *cont, hg_inspect_done_t *done);
static hg_status_t ngx_http_hashgate_inner_entry(void *data,
    const hg_inspect_entry_t *e);
static void ngx_http_hashgate_image(ngx_http_hashgate_ctx_t *ctx,
    ngx_http_hashgate_container_t *cont, const hg_inspect_entry_t *e,
    const hg_inspect_image_t *img, const hg_digests_t *digests,
    uint64_t size);
static char *ngx_http_hashgate_image_conf(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_http_hashgate_hit_t *ngx_http_hashgate_add_ihit(
    ngx_http_hashgate_ctx_t *ctx,
    ngx_http_hashgate_container_t *cont, const hg_inspect_entry_t *e,
    const hg_scan_result_t *res, const hg_verdict_t *v,
    const char *not_checked);
static void ngx_http_hashgate_drop_body(ngx_http_request_t *r);
static void ngx_http_hashgate_read_headers(ngx_http_request_t *r,
    ngx_http_hashgate_loc_conf_t *hlcf, ngx_http_hashgate_headers_t *hh);
static ngx_uint_t ngx_http_hashgate_multipart(ngx_str_t *type);
static hg_apibody_mode_t ngx_http_hashgate_api_mode(
    ngx_http_hashgate_loc_conf_t *hlcf, ngx_str_t *type);
static const char *ngx_http_hashgate_limit_name(ngx_http_hashgate_ctx_t *ctx,
    const char *why);
static const char *ngx_http_hashgate_api_why(ngx_http_hashgate_ctx_t *ctx,
    const char *why, char *buf, size_t size);
static ngx_int_t ngx_http_hashgate_hold(ngx_http_hashgate_ctx_t *ctx);
static ngx_int_t ngx_http_hashgate_record(ngx_http_hashgate_ctx_t *ctx);
static void ngx_http_hashgate_record_fill(ngx_http_hashgate_hit_t *hit,
    const hg_verdict_t *v, ngx_http_hashgate_names_t *nm, hg_record_t *rec);
static void ngx_http_hashgate_log_piece(void *data, size_t i, size_t n,
    const char *piece, size_t len);
static void ngx_http_hashgate_add_hit(ngx_http_hashgate_ctx_t *ctx,
    const hg_scan_result_t *res, const hg_verdict_t *v, const char *part,
    const char *filename, const char *declared, const char *encoding);
static void ngx_http_hashgate_cleanup(void *data);
static void ngx_http_hashgate_copy(char *dst, size_t size, const char *src);
static char *ngx_http_hashgate_cstr(ngx_pool_t *pool, ngx_str_t *s);
static char *ngx_http_hashgate_strdup(ngx_pool_t *pool, const char *s);

static hg_status_t ngx_http_hashgate_judge(ngx_http_hashgate_stream_t *ps,
    const hg_part_info_t *info, const char *name);
static hg_status_t ngx_http_hashgate_part_begin(void *data,
    const hg_part_info_t *info);
static hg_status_t ngx_http_hashgate_part_data(void *data,
    const unsigned char *buf, size_t len);
static hg_status_t ngx_http_hashgate_part_end(void *data,
    const hg_part_info_t *info, const hg_part_stats_t *stats);

static hg_scan_t *ngx_http_hashgate_scan_get(
    ngx_http_hashgate_main_conf_t *hmcf);
static void ngx_http_hashgate_scan_put(ngx_http_hashgate_main_conf_t *hmcf,
    hg_scan_t *s);
static void ngx_http_hashgate_db_refresh(ngx_http_hashgate_main_conf_t *hmcf,
    ngx_log_t *log);
static void ngx_http_hashgate_db_verified(ngx_http_hashgate_main_conf_t *hmcf,
    ngx_log_t *log);
static void ngx_http_hashgate_db_spoiled(ngx_http_hashgate_main_conf_t *hmcf);

static ngx_int_t ngx_http_hashgate_verdict_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_hashgate_list_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_hashgate_sha256_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

static char *ngx_http_hashgate_parallel_digests(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_hashgate_database_key(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_hashgate_db_trusted(ngx_conf_t *cf,
    ngx_http_hashgate_main_conf_t *hmcf);
static void ngx_http_hashgate_keys_cleanup(void *data);
static char *ngx_http_hashgate_database(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hashgate_list_action(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hashgate_default_action(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_hashgate_hold_path(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hashgate_evidence_log(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hashgate_path_value(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_str_t *value);
static char *ngx_http_hashgate_inspect_helper(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_hashgate_archive_action(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_hashgate_apibody(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_hashgate_apibody_merge(
    ngx_http_hashgate_apibody_conf_t *conf,
    ngx_http_hashgate_apibody_conf_t *prev);
static char *ngx_http_hashgate_helper_check(ngx_conf_t *cf,
    ngx_http_hashgate_main_conf_t *hmcf);
static char *ngx_http_hashgate_helper_try(ngx_conf_t *cf,
    ngx_http_hashgate_main_conf_t *hmcf);
static void ngx_http_hashgate_db_cleanup(void *data);
static void ngx_http_hashgate_evlog_cleanup(void *data);

static ngx_int_t ngx_http_hashgate_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_hashgate_init(ngx_conf_t *cf);
static void *ngx_http_hashgate_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_hashgate_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_hashgate_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static void ngx_http_hashgate_refresh_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_hashgate_init_process(ngx_cycle_t *cycle);
static void ngx_http_hashgate_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_hashgate_on_error[] = {
    { ngx_string("reject"), HG_FAIL_TEMPFAIL },
    { ngx_string("pass"), HG_FAIL_ACCEPT },
    { ngx_null_string, 0 }
};


static ngx_conf_num_bounds_t  ngx_http_hashgate_status_bounds = {
    ngx_conf_check_num_bounds, 400, 599
};


static ngx_conf_num_bounds_t  ngx_http_hashgate_count_bounds = {
    ngx_conf_check_num_bounds, 1, 1000000
};


/* an inner file's record names every container above it (record.h) */
static ngx_conf_num_bounds_t  ngx_http_hashgate_archive_depth_bounds = {
    ngx_conf_check_num_bounds, 1, HG_INSPECT_MAX_DEPTH
};


static ngx_conf_num_bounds_t  ngx_http_hashgate_archive_files_bounds = {
    ngx_conf_check_num_bounds, 1, 100000000
};


static ngx_conf_num_bounds_t  ngx_http_hashgate_archive_ratio_bounds = {
    ngx_conf_check_num_bounds, 0, 1000000
};


/*
 * hashgate_archive_timeout: at most an hour, as the milter's ArchiveTimeout.
 * The helper's limit is 32-bit milliseconds: 2^32 ms + 1 was kept as 1 ms
 * (every archive timed out), 2^32 ms as 0 (the default).
 */
#define NGX_HTTP_HASHGATE_ARCHIVE_TIMEOUT_MAX  (3600 * 1000)

static char *
ngx_http_hashgate_archive_timeout_check(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *ms = data;

    if (*ms > NGX_HTTP_HASHGATE_ARCHIVE_TIMEOUT_MAX) {
        return "is more than 1h";
    }

    return NGX_CONF_OK;
}

static ngx_conf_post_t  ngx_http_hashgate_archive_timeout_post = {
    ngx_http_hashgate_archive_timeout_check
};


/*
 * hashgate_parallel_digests off | size: with two or more digests to
 * compute, updates of size bytes or more run one algorithm on a helper
 * thread of the worker (common/scan/hash_par.c)
 */
static char *
ngx_http_hashgate_parallel_digests(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_hashgate_main_conf_t *hmcf = conf;

    off_t       n;
    ngx_str_t  *value;

    if (hmcf->par_min != NGX_CONF_UNSET_SIZE) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        hmcf->par_min = 0;
        return NGX_CONF_OK;
    }

    /* an offset, not a size: nginx 1.22's sizes have no "g" suffix */
    n = ngx_parse_offset(&value[1]);

    if (n == NGX_ERROR || n < HG_HASH_PAR_MIN_MIN || n > HG_HASH_PAR_MIN_MAX)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" takes \"off\" or a size from 64k to 1g, "
                           "not \"%V\"", &cmd->name, &value[1]);
        return NGX_CONF_ERROR;
    }

    hmcf->par_min = (size_t) n;

    return NGX_CONF_OK;
}


/*
 * hashgate_json and hashgate_form. The bounds keep a parser's memory
 * fixed and small (its nesting stack) and a limit meaningful; sizes are
 * decoded bytes.
 */
static ngx_http_hashgate_param_t  ngx_http_hashgate_json_params[] = {
    { ngx_string("min_size"),
      offsetof(ngx_http_hashgate_apibody_conf_t, min_size), 1,
      1, NGX_MAX_OFF_T_VALUE },
    { ngx_string("max_depth"),
      offsetof(ngx_http_hashgate_apibody_conf_t, max_depth), 0,
      1, 10000 },
    { ngx_string("max_strings"),
      offsetof(ngx_http_hashgate_apibody_conf_t, max_parts), 0,
      1, 1000000 },
    { ngx_string("max_decoded"),
      offsetof(ngx_http_hashgate_apibody_conf_t, max_decoded), 1,
      1, NGX_MAX_OFF_T_VALUE },
    /* 0: the tokenizer reads every byte (no scanning ahead) */
    { ngx_string("max_retained"),
      offsetof(ngx_http_hashgate_apibody_conf_t, max_retained), 1,
      0, 1024 * 1024 * 1024 },
    { ngx_null_string, 0, 0, 0, 0 }
};


static ngx_http_hashgate_param_t  ngx_http_hashgate_form_params[] = {
    { ngx_string("min_size"),
      offsetof(ngx_http_hashgate_apibody_conf_t, min_size), 1,
      1, NGX_MAX_OFF_T_VALUE },
    { ngx_string("max_fields"),
      offsetof(ngx_http_hashgate_apibody_conf_t, max_parts), 0,
      1, 1000000 },
    { ngx_string("max_decoded"),
      offsetof(ngx_http_hashgate_apibody_conf_t, max_decoded), 1,
      1, NGX_MAX_OFF_T_VALUE },
    { ngx_null_string, 0, 0, 0, 0 }
};


static ngx_command_t  ngx_http_hashgate_commands[] = {

    { ngx_string("hashgate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hashgate_loc_conf_t, enable),
      NULL },

    { ngx_string("hashgate_database"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_hashgate_database,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hashgate_database_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_hashgate_database_key,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hashgate_thread"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hashgate_main_conf_t, thread),
      NULL },

    { ngx_string("hashgate_parallel_digests"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_hashgate_parallel_digests,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hashgate_list_action"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_hashgate_list_action,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hashgate_default_action"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hashgate_default_action,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hashgate_monitor"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hashgate_loc_conf_t, monitor),
      NULL },

    { ngx_string("hashgate_reject_status"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hashgate_loc_conf_t, reject_status),
      &ngx_http_hashgate_status_bounds },

    { ngx_string("hashgate_hold_path"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hashgate_hold_path,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hashgate_hold_status"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hashgate_loc_conf_t, hold_status),
      &ngx_http_hashgate_status_bounds },

    { ngx_string("hashgate_evidence_log"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_hashgate_evidence_log,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hashgate_multipart"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hashgate_loc_conf_t, multipart),
      NULL },

    { ngx_string("hashgate_on_error"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hashgate_loc_conf_t, on_error),
      &ngx_http_hashgate_on_error },

    { ngx_string("hashgate_max_parts"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hashgate_loc_conf_t, max_parts),
      &ngx_http_hashgate_count_bounds },

    { ngx_string("hashgate_max_depth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hashgate_loc_conf_t, max_depth),
      &ngx_http_hashgate_count_bounds },

    { ngx_string("hashgate_max_header_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hashgate_loc_conf_t, max_header_size),
      NULL },

    { ngx_string("hashgate_archives"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hashgate_loc_conf_t, archives),
      NULL },

    { ngx_string("hashgate_inspect_helper"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_hashgate_inspect_helper,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hashgate_archive_encrypted"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hashgate_archive_action,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hashgate_loc_conf_t, archive_encrypted),
      NULL },

    { ngx_string("hashgate_archive_unreadable"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hashgate_archive_action,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hashgate_loc_conf_t, archive_unreadable),
      NULL },

    { ngx_string("hashgate_archive_max_depth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hashgate_loc_conf_t, archive_max_depth),
      &ngx_http_hashgate_archive_depth_bounds },

    { ngx_string("hashgate_archive_max_files"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hashgate_loc_conf_t, archive_max_files),
      &ngx_http_hashgate_archive_files_bounds },

    { ngx_string("hashgate_archive_max_bytes"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_off_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hashgate_loc_conf_t, archive_max_bytes),
      NULL },

    { ngx_string("hashgate_archive_max_file_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_off_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hashgate_loc_conf_t, archive_max_file_size),
      NULL },

    { ngx_string("hashgate_archive_max_ratio"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hashgate_loc_conf_t, archive_max_ratio),
      &ngx_http_hashgate_archive_ratio_bounds },

    { ngx_string("hashgate_archive_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hashgate_loc_conf_t, archive_timeout),
      &ngx_http_hashgate_archive_timeout_post },

    { ngx_string("hashgate_pdq_images"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hashgate_image_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_HASHGATE_IMG_IMAGES,
      NULL },

    { ngx_string("hashgate_pdq_min_quality"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hashgate_image_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_HASHGATE_IMG_QUALITY,
      NULL },

    { ngx_string("hashgate_pdq_dihedral"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hashgate_image_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_HASHGATE_IMG_DIHEDRAL,
      NULL },

    { ngx_string("hashgate_image_max_pixels"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hashgate_image_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_HASHGATE_IMG_PIXELS,
      NULL },

    { ngx_string("hashgate_image_max_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hashgate_image_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_HASHGATE_IMG_BYTES,
      NULL },

    { ngx_string("hashgate_image_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hashgate_image_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_HASHGATE_IMG_TIMEOUT,
      NULL },

    { ngx_string("hashgate_image_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hashgate_image_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_HASHGATE_IMG_LIMIT,
      NULL },

    { ngx_string("hashgate_json"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_hashgate_apibody,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hashgate_loc_conf_t, json),
      ngx_http_hashgate_json_params },

    { ngx_string("hashgate_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_hashgate_metrics_directive,
      0,
      0,
      NULL },

    { ngx_string("hashgate_form"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_hashgate_apibody,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hashgate_loc_conf_t, form),
      ngx_http_hashgate_form_params },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_hashgate_module_ctx = {
    ngx_http_hashgate_add_variables,       /* preconfiguration */
    ngx_http_hashgate_init,                /* postconfiguration */

    ngx_http_hashgate_create_main_conf,    /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_hashgate_create_loc_conf,     /* create location configuration */
    ngx_http_hashgate_merge_loc_conf       /* merge location configuration */
};


ngx_module_t  ngx_http_hashgate_module = {
    NGX_MODULE_V1,
    &ngx_http_hashgate_module_ctx,         /* module context */
    ngx_http_hashgate_commands,            /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_hashgate_init_process,        /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_hashgate_exit_process,        /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_hashgate_vars[] = {

    { ngx_string("hashgate_verdict"), NULL,
      ngx_http_hashgate_verdict_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hashgate_list"), NULL,
      ngx_http_hashgate_list_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hashgate_sha256"), NULL,
      ngx_http_hashgate_sha256_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_http_request_body_filter_pt   ngx_http_next_request_body_filter;


static ngx_int_t
ngx_http_hashgate_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    size_t                         size;
    ngx_int_t                      rc;
    ngx_buf_t                     *b;
    ngx_uint_t                     last;
    ngx_chain_t                   *cl;
    ngx_http_hashgate_ctx_t       *ctx;
    ngx_http_hashgate_loc_conf_t  *hlcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_hashgate_module);

    if (ctx == NULL) {
        hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hashgate_module);

        if (!hlcf->enable) {
            return ngx_http_next_request_body_filter(r, in);
        }

        ctx = ngx_http_hashgate_create_ctx(r, hlcf);
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ctx->decided) {
        return ngx_http_next_request_body_filter(r, in);
    }

    if (ctx->waiting) {
        return ngx_http_hashgate_resume(ctx, in);
    }

    last = 0;

    for (cl = in; cl; cl = cl->next) {
        if (cl->buf->last_buf) {
            last = 1;
        }
    }

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file && !ngx_buf_in_memory(b)) {
            /* nginx hands file buffers only to the save filter's callers */
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "hashgate: request body buffer in a file, "
                          "cannot scan it");
            ctx->loop_status = HG_EINVAL;

        } else {
            size = b->last - b->pos;
            if (size) {
                ngx_http_hashgate_feed(ctx, b->pos, size, last);
            }
        }
    }

    if (!last) {
        if (ctx->archives) {
            ngx_http_hashgate_kick(ctx);
        }

        return ngx_http_next_request_body_filter(r, in);
    }

    ngx_http_hashgate_body_end(ctx);

    if (ctx->ipending && !ngx_http_hashgate_settled(ctx)) {
        /* the verdict waits for the helper: see the comment on top */
        rc = ngx_http_hashgate_keep(ctx, in);
        if (rc != NGX_OK) {
            return rc;
        }

        ctx->waiting = 1;
        return NGX_OK;
    }

    return ngx_http_hashgate_finish(ctx, in);
}


/*
 * Keep the buffers that end the body (their links are the caller's, the
 * buffers stay in nginx's busy list meanwhile) until the verdict.
 */
static ngx_int_t
ngx_http_hashgate_keep(ngx_http_hashgate_ctx_t *ctx, ngx_chain_t *in)
{
    ngx_chain_t  *cl, *tl, **ll;

    for (ll = &ctx->held; *ll; ll = &(*ll)->next) { /* void */ }

    for (cl = in; cl; cl = cl->next) {
        tl = ngx_alloc_chain_link(ctx->request->pool);
        if (tl == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        tl->buf = cl->buf;
        *ll = tl;
        ll = &tl->next;
    }

    *ll = NULL;

    return NGX_OK;
}


/*
 * The body filter chain is run again while the end of the body is held:
 * by nginx (with NULL) on a read event of the client's connection or of the
 * upstream's request handler, and by ngx_http_hashgate_container_done()
 * posting the request's read event once the last inspection is done. A
 * client that went away meanwhile ends the request (its inspections are
 * dropped by the pool cleanup); reading the body gives nginx no other
 * chance to notice, since all of it has been read.
 */
static ngx_int_t
ngx_http_hashgate_resume(ngx_http_hashgate_ctx_t *ctx, ngx_chain_t *in)
{
    ngx_int_t          rc;
    ngx_chain_t       *out;
    ngx_connection_t  *c;

    if (in) {
        rc = ngx_http_hashgate_keep(ctx, in);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    if (ctx->ipending && !ngx_http_hashgate_settled(ctx)) {
        c = ctx->request->connection;

        if (c->read->pending_eof || c->read->eof || c->error) {
            ngx_log_error(NGX_LOG_INFO, c->log, 0,
                          "client prematurely closed connection while its "
                          "upload was inspected");
            return NGX_HTTP_CLIENT_CLOSED_REQUEST;
        }

        return NGX_OK;
    }

    ctx->waiting = 0;
    out = ctx->held;
    ctx->held = NULL;

    return ngx_http_hashgate_finish(ctx, out);
}


/* The verdict; then the end of the body goes on, or the status is due. */
static ngx_int_t
ngx_http_hashgate_finish(ngx_http_hashgate_ctx_t *ctx, ngx_chain_t *out)
{
    ngx_int_t  rc;

    /* containers still queued once a reject is sure are not worth opening */
    ngx_http_hashgate_drop_containers(ctx);

    rc = ngx_http_hashgate_decide(ctx);

    if (rc != NGX_OK) {
        /* the last buffer is never passed on: see the comment on top */
        ngx_http_hashgate_drop_body(ctx->request);
        return rc;
    }

    return ngx_http_next_request_body_filter(ctx->request, out);
}


static ngx_uint_t
ngx_http_hashgate_settled(ngx_http_hashgate_ctx_t *ctx)
{
    return hg_verdict_settled(&ctx->verdict)
           || hg_verdict_settled(&ctx->iverdict);
}


/*
 * A refused body must reach nothing that runs after the verdict: an
 * error_page whose location proxies would otherwise send the buffers saved
 * so far and then wait for the declared length (until proxy_read_timeout,
 * the client hanging meanwhile), and $request_body would put them in the
 * access log. Every byte of it was read from the client, so it can become
 * an empty, complete body.
 */
static void
ngx_http_hashgate_drop_body(ngx_http_request_t *r)
{
    if (r->headers_in.chunked) {
        /*
         * nginx reads a chunked body ahead and gives what follows its last
         * chunk (a pipelined request) back to the connection only when the
         * body completes: refused, that request would be lost and its
         * client left waiting, so the connection closes, as nginx does
         * after its own body errors
         */
        r->keepalive = 0;
    }

    if (r->request_body) {
        r->request_body->bufs = NULL;
    }

    r->headers_in.content_length_n = 0;
    r->headers_in.chunked = 0;
}


static ngx_http_hashgate_ctx_t *
ngx_http_hashgate_create_ctx(ngx_http_request_t *r,
    ngx_http_hashgate_loc_conf_t *hlcf)
{
    u_char                            *ct;
    ngx_str_t                         *type;
    ngx_uint_t                         form;
    hg_unpack_cb_t                     cb;
    hg_apibody_mode_t                  mode;
    ngx_pool_cleanup_t                *cln;
    hg_unpack_limits_t                 limits;
    hg_apibody_limits_t                alim;
    ngx_http_hashgate_ctx_t           *ctx;
    ngx_http_hashgate_apibody_conf_t  *ac;
    ngx_http_hashgate_headers_t        hh;
    ngx_http_hashgate_main_conf_t     *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hashgate_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_hashgate_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    ctx->request = r;
    ctx->conf = hlcf;
    ctx->hold_fd = NGX_INVALID_FILE;
    ngx_queue_init(&ctx->fresh);
    ngx_queue_init(&ctx->containers);
    ctx->magic = hmcf->magic;
    ctx->threaded = hmcf->hasher
                    && (r->headers_in.content_length_n < 0
                        || r->headers_in.content_length_n
                           >= NGX_HTTP_HASHGATE_THREAD_BODY);

    cln->handler = ngx_http_hashgate_cleanup;
    cln->data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_http_hashgate_module);

    ngx_http_hashgate_db_refresh(hmcf, r->connection->log);

    if (!hmcf->spoiled && hg_db_lost(hmcf->db)) {
        /* a request read pages the file no longer has (the SIGBUS guard
         * put zeros there): nothing this mapping says can be trusted */
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "hashgate: database \"%s\" was truncated in place "
                      "under its mapping; applying hashgate_on_error until "
                      "a good file is installed by rename",
                      hmcf->db_path.data);
        hg_db_watch_dropped(&hmcf->watch);
        ngx_http_hashgate_db_spoiled(hmcf);
    }

    if (hmcf->spoiled) {
        ctx->status = HG_EIO;
        return ctx;
    }

    ctx->body = ngx_http_hashgate_scan_get(hmcf);
    if (ctx->body == NULL || hg_scan_begin(ctx->body) != HG_OK) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "hashgate: cannot create a scan context");
        ctx->status = HG_ENOMEM;
        return ctx;
    }

    type = r->headers_in.content_type ? &r->headers_in.content_type->value
                                      : NULL;

    ngx_http_hashgate_read_headers(r, hlcf, &hh);

    if (hh.coding) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hashgate: request body has Content-Encoding \"%V\": "
                      "not scanned, since an application that decodes it "
                      "stores other bytes", &hh.coding->value);
        ctx->status = HG_EFORMAT;
        return ctx;
    }

    if (hh.conflict) {
        /*
         * nginx and some applications read the first, others (gunicorn)
         * the last: a form hidden behind a harmless first type would be
         * unpacked there and not here
         */
        ctx->part_status = hg_err_set(&ctx->part_err, HG_EFORMAT,
                                      "conflicting Content-Type headers");
        type = NULL;
    }

    form = hlcf->multipart && type && ngx_http_hashgate_multipart(type);
    mode = (type && !form) ? ngx_http_hashgate_api_mode(hlcf, type)
                           : HG_APIBODY_NONE;

    if (form || mode != HG_APIBODY_NONE) {
        /* all the room the thread may need for records (see MAX_RECORDS) */
        if (ngx_array_init(&ctx->hits, r->pool, NGX_HTTP_HASHGATE_MAX_RECORDS,
                           sizeof(ngx_http_hashgate_hit_t))
            != NGX_OK)
        {
            return NULL;
        }

        cb.part_begin = ngx_http_hashgate_part_begin;
        cb.part_data = ngx_http_hashgate_part_data;
        cb.part_end = ngx_http_hashgate_part_end;

        ctx->part.ctx = ctx;
        ctx->decoded.ctx = ctx;
        ctx->decoded.copy = 1;

        /* a failure here is logged once, by ngx_http_hashgate_decide() */
        ctx->part.scan = ngx_http_hashgate_scan_get(hmcf);
        ctx->decoded.scan = form ? ngx_http_hashgate_scan_get(hmcf) : NULL;
        if (ctx->part.scan == NULL || (form && ctx->decoded.scan == NULL)) {
            ctx->part_status = hg_err_set(&ctx->part_err, HG_ENOMEM,
                                          "cannot create a scan context");
            return ctx;
        }

        ctx->part_err.msg[0] = '\0';
    }

    if (form) {
        ct = ngx_pnalloc(r->pool, type->len + 1);
        if (ct == NULL) {
            return NULL;
        }
        ngx_cpystrn(ct, type->data, type->len + 1);

        hg_unpack_limits_default(&limits);
        limits.max_parts = hlcf->max_parts;
        limits.max_depth = hlcf->max_depth;
        limits.max_header_bytes = hlcf->max_header_size;
        if (limits.max_line_bytes > limits.max_header_bytes) {
            limits.max_line_bytes = limits.max_header_bytes;
        }

        ctx->unpack = hg_unpack_new(HG_UNPACK_FORMDATA, (char *) ct, &limits,
                                    &cb, &ctx->part, &ctx->part_err);
        if (ctx->unpack == NULL) {
            ctx->part_status = HG_EFORMAT;

        } else {
            ctx->part_status = hg_unpack_set_copy_cb(ctx->unpack, &cb,
                                                     &ctx->decoded,
                                                     &ctx->part_err);
        }

    } else if (mode != HG_APIBODY_NONE) {
        ac = (mode == HG_APIBODY_JSON) ? &hlcf->json : &hlcf->form;

        hg_apibody_limits_default(&alim);
        alim.min_bytes = (size_t) ac->min_size;
        alim.max_depth = (unsigned) ac->max_depth;
        alim.max_parts = (unsigned) ac->max_parts;
        alim.max_decoded = (uint64_t) ac->max_decoded;
        alim.max_retained = (size_t) ac->max_retained;

        ctx->api = mode;
        ctx->part.api = 1;

        ctx->apibody = hg_apibody_new(mode, &alim, &cb, &ctx->part,
                                      &ctx->part_err);
        if (ctx->apibody == NULL) {
            ctx->part_status = HG_ENOMEM;
        }
    }

    if (hlcf->archives) {
        ctx->archives = 1;

        /* auto: only with PDQ entries in the database this request uses */
        if (hg_image_conf_active(&hlcf->img,
                                 ctx->body ? hg_scan_db(ctx->body) : NULL))
        {
            ctx->images = HG_INSPECT_IMAGES
                          | (hlcf->img.dihedral ? HG_INSPECT_DIHEDRAL : 0);
        }

        if (hmcf->inspect_test) {
            ctx->test = ngx_http_hashgate_test_hook(r);
        }

        if (ctx->unpack == NULL && ctx->part_status == HG_OK) {
            /* a raw body (PUT, POST): it may itself be a container */
            ngx_http_hashgate_spool_begin(ctx, &ctx->spool, &ctx->spool_st,
                                          &ctx->spool_err);
        }
    }

    if (hlcf->may_hold) {
        if (ngx_http_hashgate_hold(ctx) != NGX_OK) {
            ctx->hold_failed = 1;
        }
    }

    return ctx;
}


/*
 * What the request's headers say about reading its body, in one walk:
 *   - conflict: Content-Type headers that differ, one of them a type whose
 *     body is parsed for parts (multipart, JSON, url-encoded, as
 *     configured): whether it is would depend on who reads it;
 *   - coding: a Content-Encoding other than identity. An application (or
 *     a middleware) that decodes it stores other bytes than the ones sent,
 *     which are all we hash.
 */
static void
ngx_http_hashgate_read_headers(ngx_http_request_t *r,
    ngx_http_hashgate_loc_conf_t *hlcf, ngx_http_hashgate_headers_t *hh)
{
    ngx_str_t         v;
    ngx_uint_t        i, form;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *first;

    ngx_memzero(hh, sizeof(ngx_http_hashgate_headers_t));

    first = r->headers_in.content_type;
    form = 0;
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("Content-Encoding") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Content-Encoding",
                               sizeof("Content-Encoding") - 1) == 0)
        {
            v = h[i].value;

            while (v.len && (v.data[v.len - 1] == ' '
                             || v.data[v.len - 1] == '\t'))
            {
                v.len--;
            }

            if (hh->coding == NULL
                && (v.len != sizeof("identity") - 1
                    || ngx_strncasecmp(v.data, (u_char *) "identity",
                                       sizeof("identity") - 1) != 0))
            {
                hh->coding = &h[i];
            }

            continue;
        }

        if (first == NULL
            || h[i].key.len != sizeof("Content-Type") - 1
            || ngx_strncasecmp(h[i].key.data, (u_char *) "Content-Type",
                               sizeof("Content-Type") - 1) != 0)
        {
            continue;
        }

        if ((hlcf->multipart && ngx_http_hashgate_multipart(&h[i].value))
            || ngx_http_hashgate_api_mode(hlcf, &h[i].value)
               != HG_APIBODY_NONE)
        {
            form |= 1;
        }

        if (&h[i] != first
            && (h[i].value.len != first->value.len
                || ngx_strncmp(h[i].value.data, first->value.data,
                               first->value.len) != 0))
        {
            form |= 2;
        }
    }

    hh->conflict = (form == 3);
}


/*
 * Applications unpack more than multipart/form-data as a form: Rack (Rails)
 * and Apache Commons FileUpload (Java) any multipart/ type with a boundary,
 * formidable (Node) any type with "multipart" anywhere in it. A listed file
 * sent as multipart/mixed would reach them unscanned. (The whole body is
 * hashed as well, whatever its type.)
 */
static ngx_uint_t
ngx_http_hashgate_multipart(ngx_str_t *type)
{
    return ngx_strlcasestrn(type->data, type->data + type->len,
                            (u_char *) "multipart", sizeof("multipart") - 2)
           != NULL;
}


/*
 * apibody's message for the error log: its "part /files/0/content: ..."
 * names the part by a path made of the request's keys, which stay in the
 * records; the log says how many parts had begun instead.
 */
static const char *
ngx_http_hashgate_api_why(ngx_http_hashgate_ctx_t *ctx, const char *why,
    char *buf, size_t size)
{
    const char  *p, *q;

    if (ctx->apibody == NULL || ngx_strncmp(why, "part ", 5) != 0) {
        return why;
    }

    /* the limit's words follow the path, which may hold ": " itself */
    p = NULL;

    for (q = ngx_strstr(why, ": more than "); q;
         q = ngx_strstr(q + 1, ": more than "))
    {
        p = q;
    }

    ngx_snprintf((u_char *) buf, size - 1, "%s, %ui part%s begun%Z",
                 p ? p + 2 : hg_status_str(ctx->part_status),
                 (ngx_uint_t) hg_apibody_parts(ctx->apibody),
                 hg_apibody_parts(ctx->apibody) == 1 ? "" : "s");
    buf[size - 1] = '\0';

    return buf;
}


/*
 * The parameter of hashgate_json or hashgate_form a limit error is about,
 * for the log: apibody's message names the limit as "(max_parts)" in its
 * own words.
 */
static const char *
ngx_http_hashgate_limit_name(ngx_http_hashgate_ctx_t *ctx, const char *why)
{
    ngx_uint_t  json;

    if (ctx->part_status != HG_ELIMIT || ctx->api == HG_APIBODY_NONE) {
        return "";
    }

    json = (ctx->api == HG_APIBODY_JSON);

    if (ngx_strstr(why, "(max_parts)")) {
        return json ? " (hashgate_json max_strings)"
                    : " (hashgate_form max_fields)";
    }

    if (ngx_strstr(why, "(max_decoded)")) {
        return json ? " (hashgate_json max_decoded)"
                    : " (hashgate_form max_decoded)";
    }

    if (json && ngx_strstr(why, "(max_depth)")) {
        return " (hashgate_json max_depth)";
    }

    return json ? " (hashgate_json)" : " (hashgate_form)";
}


/* A JSON or url-encoded body, when hashgate_json or hashgate_form is on. */
static hg_apibody_mode_t
ngx_http_hashgate_api_mode(ngx_http_hashgate_loc_conf_t *hlcf,
    ngx_str_t *type)
{
    hg_apibody_mode_t  mode;

    mode = hg_apibody_mode_of((char *) type->data, type->len);

    if ((mode == HG_APIBODY_JSON && !hlcf->json.enable)
        || (mode == HG_APIBODY_FORM && !hlcf->form.enable))
    {
        return HG_APIBODY_NONE;
    }

    return mode;
}


/*
 * Open the hold copy: the body is written as it passes to a temporary name
 * in the hold dir, renamed when the verdict is hold and removed otherwise.
 * This is the one way to keep it without re-reading nginx's own temp file,
 * which is written after us and is gone once the request ends. The name is
 * made here (UTC time and $request_id), never taken from the request.
 */
static ngx_int_t
ngx_http_hashgate_hold(ngx_http_hashgate_ctx_t *ctx)
{
    u_char                         *p;
    size_t                          len;
    ngx_tm_t                        tm;
    ngx_http_request_t             *r;
    ngx_http_variable_value_t      *id;
    ngx_http_hashgate_main_conf_t  *hmcf;
    ngx_http_hashgate_loc_conf_t   *hlcf;

    r = ctx->request;
    hlcf = ctx->conf;
    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hashgate_module);

    id = ngx_http_get_indexed_variable(r, hmcf->request_id_index);
    if (id == NULL || id->not_found || id->len == 0) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "hashgate: no $request_id for the hold file name");
        return NGX_ERROR;
    }

    ngx_gmtime(ngx_time(), &tm);

    len = hlcf->hold_path->name.len + sizeof("/20260101T000000Z-") - 1
          + id->len + sizeof(".part");

    ctx->hold_name = ngx_pnalloc(r->pool, len);
    ctx->hold_tmp = ngx_pnalloc(r->pool, len);
    if (ctx->hold_name == NULL || ctx->hold_tmp == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(ctx->hold_name, "%V/%4d%02d%02dT%02d%02d%02dZ-%*s",
                    &hlcf->hold_path->name, tm.ngx_tm_year, tm.ngx_tm_mon,
                    tm.ngx_tm_mday, tm.ngx_tm_hour, tm.ngx_tm_min,
                    tm.ngx_tm_sec, (size_t) id->len, id->data);
    *p = '\0';

    ngx_sprintf(ctx->hold_tmp, "%s.part%Z", ctx->hold_name);

    ctx->hold_fd = ngx_open_file(ctx->hold_tmp, NGX_FILE_WRONLY,
                                 NGX_FILE_CREATE_OR_OPEN|O_EXCL|O_NOFOLLOW,
                                 0600);
    if (ctx->hold_fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, ngx_errno,
                      "hashgate: cannot create hold file \"%s\"",
                      ctx->hold_tmp);
        return NGX_ERROR;
    }

    /* removed by ngx_http_hashgate_exit_process() if the worker stops first */
    ngx_queue_insert_tail(&hmcf->holding, &ctx->queue);
    ctx->queued = 1;

    return NGX_OK;
}


static void
ngx_http_hashgate_hold_write(ngx_http_hashgate_ctx_t *ctx, u_char *p,
    size_t size)
{
    ssize_t  n;

    while (size) {
        n = ngx_write_fd(ctx->hold_fd, p, size);

        if (n == -1) {
            if (ngx_errno == NGX_EINTR) {
                continue;
            }

            ngx_log_error(NGX_LOG_ERR, ctx->request->connection->log,
                          ngx_errno, "hashgate: cannot write hold file \"%s\"",
                          ctx->hold_tmp);
            ctx->hold_failed = 1;
            return;
        }

        p += n;
        size -= n;
    }
}


/*
 * Bytes of the body, on the event loop: the hold copy is written here, the
 * digests are computed here or handed to the worker's hashing thread. Once
 * anything is with the thread, everything after it goes there too, so the
 * bytes are digested in order.
 */
static void
ngx_http_hashgate_feed(ngx_http_hashgate_ctx_t *ctx, u_char *p, size_t size,
    ngx_uint_t last)
{
    uint64_t                        t0;
    ngx_http_hashgate_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(ctx->request,
                                         ngx_http_hashgate_module);

    ctx->size += size;
    t0 = hg_metrics_now_ns();

    if (ctx->hold_fd != NGX_INVALID_FILE && !ctx->hold_failed) {
        ngx_http_hashgate_hold_write(ctx, p, size);
    }

    if (ctx->threaded
        && ((!last && size >= NGX_HTTP_HASHGATE_THREAD_MIN)
            || ngx_http_hashgate_hasher_pending(hmcf->hasher, &ctx->pending)))
    {
        ngx_http_hashgate_hasher_post(hmcf->hasher, ngx_http_hashgate_digest,
                                      ctx, p, size, &ctx->pending);
        ctx->m_busy_ns += hg_metrics_now_ns() - t0;
        return;
    }

    ngx_http_hashgate_digest(ctx, p, size, hmcf->magic);
    ctx->m_busy_ns += hg_metrics_now_ns() - t0;
}


/* Digest bytes of the body: in the hashing thread or on the event loop. */
static void
ngx_http_hashgate_digest(void *data, u_char *p, size_t size, void *local)
{
    ngx_http_hashgate_ctx_t  *ctx = data;

    hg_status_t  st;

    ctx->magic = local;

    if (ctx->status == HG_OK) {
        ctx->status = hg_scan_update(ctx->body, p, size);
    }

    if (ctx->unpack && ctx->part_status == HG_OK) {
        st = hg_unpack_feed(ctx->unpack, p, size, &ctx->part_err);
        if (st != HG_OK) {
            ctx->part_status = st;
        }

    } else if (ctx->apibody && ctx->part_status == HG_OK) {
        st = hg_apibody_feed(ctx->apibody, p, size, &ctx->part_err);
        if (st != HG_OK) {
            ctx->part_status = st;
        }
    }

    if (ctx->spool) {
        /* a raw body, JSON or url-encoded ones too: the bytes are what a
         * handler that stores the body whole would keep */
        ngx_http_hashgate_spool_feed(ctx->spool, &ctx->spool_st,
                                     &ctx->spool_err, p, size);
    }
}


/*
 * Parts of a parser (ngx_http_hashgate_stream_t): each is hashed in its
 * stream's scan context and, when archives are opened, fed to the stream's
 * spool, which sniffs its first bytes and keeps a copy only of a container,
 * sent to the helper where the part ends. A decoded copy ("2.d1") is begun
 * and ended while its part is open, in the other stream, and judged as a
 * part is unless its bytes are the part's own (nothing to decode), so one
 * file is not judged twice; its record names it by path, since its field
 * name is also the raw part's. A part of a JSON or url-encoded body comes
 * the same way, named by its path: the JSON pointer of its value or the
 * form field's name.
 */
static hg_status_t
ngx_http_hashgate_part_begin(void *data, const hg_part_info_t *info)
{
    ngx_http_hashgate_stream_t  *ps = data;

    (void) info;

    if (ps->ctx->archives) {
        ngx_http_hashgate_spool_begin(ps->ctx, &ps->spool, &ps->spool_st,
                                      &ps->spool_err);
    }

    return hg_scan_begin(ps->scan);
}


static hg_status_t
ngx_http_hashgate_part_data(void *data, const unsigned char *buf, size_t len)
{
    ngx_http_hashgate_stream_t  *ps = data;

    if (ps->spool) {
        ngx_http_hashgate_spool_feed(ps->spool, &ps->spool_st,
                                     &ps->spool_err, buf, len);
    }

    return hg_scan_update(ps->scan, buf, len);
}


static hg_status_t
ngx_http_hashgate_part_end(void *data, const hg_part_info_t *info,
    const hg_part_stats_t *stats)
{
    ngx_http_hashgate_stream_t  *ps = data;

    hg_scan_result_t  res;

    if (ps->copy && stats->same_bytes) {
        /* the part's own spool has the same bytes: it is the one sent */
        (void) hg_scan_end(ps->scan, &res);
        return HG_OK;
    }

    if (ps->copy || ps->api) {
        return ngx_http_hashgate_judge(ps, info, info->path);
    }

    /* an empty field name (name="") would make the part pass for the
     * whole body in the log and the record */
    return ngx_http_hashgate_judge(ps, info,
                                   info->field_name && info->field_name[0]
                                   ? info->field_name : info->path);
}


/*
 * A part (or a decoded copy) ended: its verdict, its hit, and, if its
 * spool found a container, the container.
 */
static hg_status_t
ngx_http_hashgate_judge(ngx_http_hashgate_stream_t *ps,
    const hg_part_info_t *info, const char *name)
{
    char                      where[32];
    hg_status_t               st;
    hg_verdict_t              v;
    hg_scan_result_t          res;
    ngx_http_hashgate_ctx_t  *ctx;

    ctx = ps->ctx;

    st = hg_scan_end(ps->scan, &res);
    v = hg_decide(ctx->conf->policy, st == HG_OK ? &res : NULL, st);

    if (st == HG_OK) {
        hg_metrics_part(ngx_http_hashgate_metrics, HG_METRICS_UPLOAD,
                        res.digests.size);
    }

    if (v.matched) {
        ngx_http_hashgate_add_hit(ctx, &res, &v, name, info->filename,
                                  info->content_type,
                                  ps->api ? info->encoding : NULL);
    }

    if (ps->api && ctx->apibody && (v.matched || v.failed)) {
        /* a record will describe the body: it says where a fault is */
        hg_apibody_want_stop(ctx->apibody);
    }

    hg_verdict_merge(&ctx->verdict, &v);

    if (hg_verdict_settled(&ctx->verdict)) {
        /* as the milter does: nothing more needs reading (the parser
         * stops, "stopped by the caller") */
        return HG_ECANCEL;
    }

    if (ps->spool && st == HG_OK) {
        /* the part path, never a name from the request, goes to the log:
         * an apibody path is made of them, its part's number is not */
        if (ps->api) {
            ngx_snprintf((u_char *) where, sizeof(where) - 1,
                         "%s part %ui%Z",
                         ctx->api == HG_APIBODY_JSON ? "JSON" : "url-encoded",
                         (ngx_uint_t) hg_apibody_parts(ctx->apibody));

        } else {
            ngx_snprintf((u_char *) where, sizeof(where) - 1,
                         "form part %s%Z", info->path);
        }

        where[sizeof(where) - 1] = '\0';

        ngx_http_hashgate_container_end(ctx, &ps->spool, &ps->spool_st,
                                        &ps->spool_err, where, name,
                                        info->filename, &res.digests);
    }

    return st;
}


/*
 * Archives. A part or raw body is fed to a spool as it streams (it only
 * sniffs the first bytes until it knows: nothing is copied for a part that
 * is no container); where it ends, a container becomes an
 * ngx_http_hashgate_container_t, posted to the worker's helper from the
 * event loop (ngx_http_hashgate_kick). The helper's entries are matched
 * and decided like parts, into ctx->iverdict and ctx->ihits (the hashing
 * thread owns ctx->verdict and ctx->hits meanwhile), and merged at the
 * verdict. These run in the hashing thread as well: no pool, no log.
 */
static void
ngx_http_hashgate_spool_begin(ngx_http_hashgate_ctx_t *ctx, hg_spool_t **sp,
    hg_status_t *st, hg_err_t *err)
{
    if (*sp == NULL) {
        *sp = hg_spool_new();

        if (*sp == NULL) {
            *st = HG_ENOMEM;
            ngx_cpystrn((u_char *) err->msg,
                        (u_char *) "cannot allocate a spool",
                        sizeof(err->msg));
            return;
        }
    }

    hg_spool_images(*sp, ctx->images ? ctx->conf->img.limits.max_bytes : 0);
    hg_spool_begin(*sp, (uint64_t) ctx->conf->archive_max_file_size);
    *st = HG_OK;
    err->msg[0] = '\0';
}


static void
ngx_http_hashgate_spool_feed(hg_spool_t *sp, hg_status_t *st, hg_err_t *err,
    const u_char *p, size_t size)
{
    if (*st == HG_OK) {
        *st = hg_spool_feed(sp, p, size, err);
    }
}


/*
 * An object (a part, a decoded copy, the raw body) ended: if its spool
 * holds a container, or one that could not be kept, it goes to ctx->fresh
 * with the spool (a new one is made for the next part). Nothing happens for
 * an object that is not a container.
 */
static void
ngx_http_hashgate_container_end(ngx_http_hashgate_ctx_t *ctx,
    hg_spool_t **sp, hg_status_t *st, hg_err_t *err, const char *where,
    const char *part, const char *filename, const hg_digests_t *digests)
{
    int                             fd, rc;
    uint64_t                        size;
    const char                     *format;
    hg_status_t                     est;
    hg_image_format_t               image;
    ngx_http_hashgate_container_t  *cont;

    fd = -1;
    size = 0;
    format = NULL;
    est = *st;
    image = *sp != NULL ? hg_spool_image(*sp) : HG_IMAGE_NONE;

    if (est == HG_OK) {
        if (*sp == NULL) {
            return;
        }

        rc = hg_spool_end(*sp, &fd, &size, &format, &est, err);

        if (rc == 0) {
            return;
        }

    } else {
        rc = -1;
    }

    if (ctx->apibody) {
        /*
         * The helper may find a listed file in it after the body has been
         * parsed: the record would then describe the body, so the parser
         * is to read its tail for where it stops (by the same thread that
         * feeds it: here, in the part's end).
         */
        hg_apibody_want_stop(ctx->apibody);
    }

    /* made in the hashing thread too, and it may outlive its request */
    cont = calloc(1, sizeof(ngx_http_hashgate_container_t));

    if (cont == NULL) {
        /* failed by ngx_http_hashgate_kick(), on the event loop */
        ctx->spool_lost = 1;
        return;
    }

    if (rc == 1) {
        cont->spool = *sp;
        *sp = NULL;
        cont->job.fd = fd;
        cont->job.size = size;
        cont->format = format;

    } else {
        cont->job.fd = -1;
        cont->st = (est == HG_OK) ? HG_EIO : est;
        ngx_cpystrn((u_char *) cont->why, (u_char *) err->msg,
                    sizeof(cont->why));
    }

    cont->image = image;
    ngx_cpystrn((u_char *) cont->where, (u_char *) where, sizeof(cont->where));
    ngx_http_hashgate_copy(cont->part, sizeof(cont->part), part);
    ngx_http_hashgate_copy(cont->filename, sizeof(cont->filename), filename);
    cont->digests = *digests;

    ngx_queue_insert_tail(&ctx->fresh, &cont->link);
}


/*
 * Post the containers that ended to the worker's helper (or fail them when
 * there is none). Only when the hashing thread is done with ctx.
 */
static void
ngx_http_hashgate_kick(ngx_http_hashgate_ctx_t *ctx)
{
    ngx_queue_t                    *q;
    hg_inspect_done_t               done;
    ngx_http_hashgate_container_t  *cont;
    ngx_http_hashgate_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(ctx->request,
                                         ngx_http_hashgate_module);

    if (ctx->threaded
        && ngx_http_hashgate_hasher_pending(hmcf->hasher, &ctx->pending))
    {
        /* the thread holds back a part-filled slot and sleeps on fewer
         * bytes than wake it; woken here at every read, it would cost
         * what the batching saves: once a MiB, containers it ended by
         * then are posted on a later call */
        if (ctx->size >= ctx->kick_at) {
            ctx->kick_at = ctx->size + NGX_HTTP_HASHGATE_KICK;
            ngx_http_hashgate_hasher_flush(hmcf->hasher);
        }

        return;
    }

    while (!ngx_queue_empty(&ctx->fresh)) {
        q = ngx_queue_head(&ctx->fresh);
        ngx_queue_remove(q);
        ngx_queue_insert_tail(&ctx->containers, q);
        ctx->ipending++;

        cont = ngx_queue_data(q, ngx_http_hashgate_container_t, link);
        cont->job.data = ctx;
        cont->job.entry = ngx_http_hashgate_inner_entry;
        cont->job.start = ngx_http_hashgate_container_start;
        cont->job.done = ngx_http_hashgate_container_done;
        cont->job.test = ctx->test;

        if (cont->st != HG_OK || hmcf->inspect == NULL) {
            ngx_memzero(&done, sizeof(hg_inspect_done_t));

            if (cont->st != HG_OK) {
                done.st = cont->st;
                /* the spool keeps at most hashgate_archive_max_file_size */
                done.limit = HG_INSPECT_LIMIT_FILE_BYTES;
                ngx_cpystrn((u_char *) done.why, (u_char *) cont->why,
                            sizeof(done.why));

            } else {
                done.st = HG_EIO;
                ngx_cpystrn((u_char *) done.why,
                            (u_char *) "no inspection helper in this worker "
                            "(see the error log at its start)",
                            sizeof(done.why));
            }

            ngx_http_hashgate_container_done(&cont->job, &done);
            continue;
        }

        ngx_http_hashgate_inspect_post(hmcf->inspect, &cont->job);
    }

    if (ctx->spool_lost) {
        ctx->spool_lost = 0;
        ngx_log_error(NGX_LOG_ALERT, ctx->request->connection->log, 0,
                      "hashgate: out of memory keeping a container for "
                      "inspection");
        (void) hg_verdict_fail(ctx->conf->policy, &ctx->iverdict, HG_ENOMEM);
    }
}


/*
 * Tests only (the worker started with HASHGATE_INSPECT_TEST=1, which nginx
 * passes on only with "env HASHGATE_INSPECT_TEST=1;"): the header
 * "X-Hashgate-Inspect-Test: crash|hang|stall" sends the request's archives
 * to the helper as that test hook, so the tests can make it crash or hang
 * mid-archive.
 */
static unsigned
ngx_http_hashgate_test_hook(ngx_http_request_t *r)
{
#ifdef NGX_HTTP_HASHGATE_TEST_HOOKS
    ngx_str_t         v;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != sizeof("X-Hashgate-Inspect-Test") - 1
            || ngx_strncasecmp(h[i].key.data,
                               (u_char *) "X-Hashgate-Inspect-Test",
                               h[i].key.len) != 0)
        {
            continue;
        }

        v = h[i].value;

        if (v.len == 5 && ngx_strncmp(v.data, "crash", 5) == 0) {
            return HG_PROTO_TEST_CRASH;
        }

        if (v.len == 4 && ngx_strncmp(v.data, "hang", 4) == 0) {
            return HG_PROTO_TEST_HANG;
        }

        if (v.len == 5 && ngx_strncmp(v.data, "stall", 5) == 0) {
            return HG_PROTO_TEST_STALL;
        }
    }
#endif

    return 0;
}


/* The request no longer waits for its containers (a verdict, or gone). */
static void
ngx_http_hashgate_drop_containers(ngx_http_hashgate_ctx_t *ctx)
{
    ngx_queue_t                    *q;
    ngx_http_hashgate_container_t  *cont;
    ngx_http_hashgate_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(ctx->request,
                                         ngx_http_hashgate_module);

    while (!ngx_queue_empty(&ctx->containers)) {
        q = ngx_queue_head(&ctx->containers);
        ngx_queue_remove(q);
        ctx->ipending--;

        cont = ngx_queue_data(q, ngx_http_hashgate_container_t, link);

        /* done runs now (queued) or when the helper is through (running) */
        ngx_http_hashgate_inspect_abandon(hmcf->inspect, &cont->job);
    }

    while (!ngx_queue_empty(&ctx->fresh)) {
        q = ngx_queue_head(&ctx->fresh);
        ngx_queue_remove(q);

        cont = ngx_queue_data(q, ngx_http_hashgate_container_t, link);
        hg_spool_free(cont->spool);
        free(cont);
    }
}


/* A container's turn in the helper: its limits, what is left of the budget. */
static ngx_int_t
ngx_http_hashgate_container_start(ngx_http_hashgate_ijob_t *job,
    hg_inspect_limits_t *lim, hg_inspect_done_t *done)
{
    u_char                         *p;
    size_t                          len;
    hg_digests_t                   *d;
    ngx_http_request_t             *r;
    ngx_http_hashgate_ctx_t        *ctx;
    ngx_http_hashgate_loc_conf_t   *hlcf;
    ngx_http_hashgate_main_conf_t  *hmcf;
    ngx_http_hashgate_container_t  *cont;

    cont = (ngx_http_hashgate_container_t *) job;
    ctx = job->data;
    r = ctx->request;
    hlcf = ctx->conf;
    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hashgate_module);

    if (hg_verdict_settled(&ctx->iverdict)) {
        return NGX_DECLINED;
    }

    if (ctx->inner == NULL) {
        ctx->inner = ngx_http_hashgate_scan_get(hmcf);

        if (ctx->inner == NULL) {
            done->st = HG_ENOMEM;
            ngx_cpystrn((u_char *) done->why,
                        (u_char *) "cannot create a scan context",
                        sizeof(done->why));
            return NGX_DECLINED;
        }
    }

    if (ctx->ifiles >= hlcf->archive_max_files
        || ctx->ibytes >= (uint64_t) hlcf->archive_max_bytes)
    {
        done->st = HG_ELIMIT;
        done->limit = ctx->ifiles >= hlcf->archive_max_files
                      ? HG_INSPECT_LIMIT_FILES : HG_INSPECT_LIMIT_BYTES;
        ngx_cpystrn((u_char *) done->why,
                    (u_char *) "the request's archives before this one "
                    "used up its budget", sizeof(done->why));
        return NGX_DECLINED;
    }

    job->algs = hg_scan_algs(ctx->inner);

    lim->max_depth = hlcf->archive_max_depth;
    lim->max_files = hlcf->archive_max_files - ctx->ifiles;
    lim->max_bytes = (uint64_t) hlcf->archive_max_bytes - ctx->ibytes;
    lim->max_file_bytes = (uint64_t) hlcf->archive_max_file_size;
    lim->max_ratio = hlcf->archive_max_ratio;
    lim->timeout_ms = hlcf->archive_timeout;
    lim->images = ctx->images;
    lim->image = hlcf->img.limits;

    /* the chain's first link, named in the records of the files inside */
    len = ngx_strlen(cont->part);
    p = ngx_pnalloc(r->pool, len + 1);
    d = ngx_palloc(r->pool, sizeof(hg_digests_t));

    if (p == NULL || d == NULL) {
        done->st = HG_ENOMEM;
        return NGX_DECLINED;
    }

    ngx_memcpy(p, cont->part, len + 1);
    *d = cont->digests;

    cont->level[0].path = (char *) p;
    cont->level[0].format = cont->format;
    cont->level[0].digests = d;

    return NGX_OK;
}


/*
 * A container is through (or dropped): its verdict joins the request's,
 * and a request waiting only for it is resumed. Frees it.
 */
static void
ngx_http_hashgate_container_done(ngx_http_hashgate_ijob_t *job,
    hg_inspect_done_t *done)
{
    ngx_http_hashgate_ctx_t        *ctx;
    ngx_http_hashgate_container_t  *cont;

    cont = (ngx_http_hashgate_container_t *) job;
    ctx = job->data;

    if (ctx) {
        ngx_queue_remove(&cont->link);
        ctx->ipending--;

        ngx_http_hashgate_container_verdict(ctx, cont, done);

        if (ctx->waiting
            && (ctx->ipending == 0 || ngx_http_hashgate_settled(ctx)))
        {
            ngx_post_event(ctx->request->connection->read, &ngx_posted_events);
        }
    }

    hg_spool_free(cont->spool);
    free(cont);
}


static void
ngx_http_hashgate_container_verdict(ngx_http_hashgate_ctx_t *ctx,
    ngx_http_hashgate_container_t *cont, hg_inspect_done_t *done)
{
    ngx_log_t                 *log;
    hg_verdict_t               v;
    hg_scan_result_t           res;
    ngx_http_hashgate_loc_conf_t  *hlcf;

    log = ctx->request->connection->log;
    hlcf = ctx->conf;

    ctx->ifiles += done->files;
    ctx->ibytes += done->bytes;

    if (cont->bad && done->st == HG_OK) {
        done->st = HG_EIO;
        ngx_cpystrn((u_char *) done->why,
                    (u_char *) "the helper reported an entry deeper than "
                    "the limit", sizeof(done->why));
    }

    /* an image part past the image size limit: not kept, that limit's
     * verdict (hashgate_image_limit) */
    if (cont->image != HG_IMAGE_NONE && cont->job.fd == -1
        && done->st == HG_ELIMIT)
    {
        hg_inspect_image_t  img;

        ngx_memzero(&img, sizeof(hg_inspect_image_t));
        img.format = cont->image;
        img.st = HG_ELIMIT;
        ngx_cpystrn((u_char *) img.why, (u_char *) done->why,
                    sizeof(img.why));
        ngx_http_hashgate_image(ctx, cont, NULL, &img, &cont->digests,
                                cont->digests.size);
        return;
    }

    switch (done->st) {

    case HG_OK:
        if (done->image.format != HG_IMAGE_NONE) {
            /* the part itself is an image */
            ngx_http_hashgate_image(ctx, cont, NULL, &done->image,
                                    &cont->digests, cont->digests.size);
        }
        return;

    case HG_ECANCEL:
        return;

    case HG_EFORMAT:
        /* the entries before the damage stand; the rest was not read */
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "hashgate: %s: damaged archive, read up to the "
                      "damage: %s", cont->where, done->why);

        v = hg_decide_not_checked(hlcf->policy, 0);
        hg_verdict_merge(&ctx->iverdict, &v);

        hg_metrics_not_checked(ngx_http_hashgate_metrics, HG_METRICS_UPLOAD,
                               HG_METRICS_NC_UNREADABLE);

        ngx_memzero(&res, sizeof(hg_scan_result_t));
        res.digests = cont->digests;
        ngx_http_hashgate_add_ihit(ctx, cont, NULL, &res, &v, "unreadable");
        return;

    case HG_ELIMIT:
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "hashgate: %s: archive limit \"%s\" reached, not "
                      "inspected: %s", cont->where,
                      hg_inspect_limit_name(done->limit), done->why);
        break;

    default:
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "hashgate: %s: archive not inspected (%s): %s",
                      cont->where, hg_status_str(done->st), done->why);
    }

    (void) hg_verdict_fail(hlcf->policy, &ctx->iverdict, done->st);
}


/*
 * One file found inside, as the helper reports it, on the event loop: a
 * container comes before its files, so the chain above a file is known
 * when the file arrives.
 */
static hg_status_t
ngx_http_hashgate_inner_entry(void *data, const hg_inspect_entry_t *e)
{
    ngx_http_hashgate_ijob_t *job = data;

    u_char                         *p;
    size_t                          len;
    unsigned                        d;
    hg_status_t                     st;
    hg_digests_t                   *dg;
    hg_verdict_t                    v;
    hg_scan_result_t                res;
    ngx_http_request_t             *r;
    ngx_http_hashgate_ctx_t        *ctx;
    ngx_http_hashgate_container_t  *cont;

    cont = (ngx_http_hashgate_container_t *) job;
    ctx = job->data;
    r = ctx->request;
    d = e->depth;

    if (d < 1 || d > ctx->conf->archive_max_depth
        || d >= NGX_HTTP_HASHGATE_LEVELS)
    {
        cont->bad = 1;
        return HG_OK;
    }

    if (d >= 2 && cont->level[d - 1].format == NULL && e->format) {
        len = ngx_strlen(e->format);
        p = ngx_pnalloc(r->pool, len + 1);
        if (p) {
            ngx_memcpy(p, e->format, len + 1);
            cont->level[d - 1].format = (char *) p;
        }
    }

    if (e->flags & HG_INSPECT_F_CONTAINER) {
        len = ngx_strlen(e->path);
        p = ngx_pnalloc(r->pool, len + 1);
        dg = ngx_palloc(r->pool, sizeof(hg_digests_t));

        if (p == NULL || dg == NULL) {
            cont->bad = 1;
            return HG_OK;
        }

        ngx_memcpy(p, e->path, len + 1);
        *dg = e->digests;

        cont->level[d].path = (char *) p;
        cont->level[d].format = NULL;
        cont->level[d].digests = dg;
    }

    ngx_memzero(&res, sizeof(hg_scan_result_t));
    res.digests = e->digests;
    res.digests.size = e->size;

    if (e->flags & (HG_INSPECT_F_ENCRYPTED|HG_INSPECT_F_UNREADABLE)) {
        v = hg_decide_not_checked(ctx->conf->policy,
                                  (e->flags & HG_INSPECT_F_ENCRYPTED) != 0);
        hg_verdict_merge(&ctx->iverdict, &v);

        hg_metrics_not_checked(ngx_http_hashgate_metrics, HG_METRICS_UPLOAD,
                               (e->flags & HG_INSPECT_F_ENCRYPTED)
                               ? HG_METRICS_NC_ENCRYPTED
                               : HG_METRICS_NC_UNREADABLE);

        ngx_http_hashgate_add_ihit(ctx, cont, e, &res, &v,
                                   (e->flags & HG_INSPECT_F_ENCRYPTED)
                                   ? "encrypted" : "unreadable");
        return HG_OK;
    }

    if (e->digests.algs == 0) {
        return HG_OK;
    }

    st = hg_scan_match(ctx->inner, &e->digests, &res);
    v = hg_decide(ctx->conf->policy, st == HG_OK ? &res : NULL, st);

    if (st != HG_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hashgate: %s: files inside not matched (%s)",
                      cont->where, hg_status_str(st));
    }

    hg_verdict_merge(&ctx->iverdict, &v);

    if (v.matched) {
        ngx_http_hashgate_add_ihit(ctx, cont, e, &res, &v, NULL);
    }

    if (e->image != NULL && st == HG_OK) {
        ngx_http_hashgate_image(ctx, cont, e, e->image, &e->digests, e->size);
    }

    return HG_OK;
}


/*
 * An image's PDQ result (a part's, e NULL, or a file's inside, e), on the
 * event loop: its PDQ hash matched (when its quality reaches
 * hashgate_pdq_min_quality) and decided like any match; one with no hash
 * gets hg_decide_image's verdict (hashgate_image_limit for a limit, accept
 * otherwise) and a record, as a file not checked inside an archive.
 */
static void
ngx_http_hashgate_image(ngx_http_hashgate_ctx_t *ctx,
    ngx_http_hashgate_container_t *cont, const hg_inspect_entry_t *e,
    const hg_inspect_image_t *img, const hg_digests_t *digests, uint64_t size)
{
    hg_status_t               st;
    hg_verdict_t              v;
    hg_scan_result_t          res;
    ngx_http_hashgate_hit_t  *hit;

    ngx_memzero(&res, sizeof(hg_scan_result_t));
    res.digests = *digests;
    res.digests.size = size;

    if (img->st != HG_OK) {
        ngx_log_error(NGX_LOG_NOTICE, ctx->request->connection->log, 0,
                      "hashgate: %s%s%s: image not checked: %s", cont->where,
                      e ? " file " : "", e ? e->chain : "", img->why);

        v = hg_decide_image(ctx->conf->policy, img->st);
        hg_verdict_merge(&ctx->iverdict, &v);

        hit = ngx_http_hashgate_add_ihit(ctx, cont, e, &res, &v,
                                         img->st == HG_ELIMIT
                                         ? "image limit"
                                         : "image not decoded");
        goto keep;
    }

    if (img->pdq.quality < ctx->conf->img.min_quality) {
        return;
    }

    st = hg_scan_match_pdq(ctx->inner, &img->pdq, img->dihedral, &res);
    v = hg_decide(ctx->conf->policy, st == HG_OK ? &res : NULL, st);
    hg_verdict_merge(&ctx->iverdict, &v);

    if (!v.matched) {
        return;
    }

    hit = ngx_http_hashgate_add_ihit(ctx, cont, e, &res, &v, NULL);

keep:

    if (hit == NULL) {
        return;
    }

    hit->image = ngx_palloc(ctx->request->pool, sizeof(hg_inspect_image_t));
    if (hit->image) {
        *hit->image = *img;
    }
}


/*
 * Keep a file inside (e), or the container itself (e NULL), for its
 * evidence record: its part path (the part's and the chain), name, path
 * inside, and the containers above it.
 */
static ngx_http_hashgate_hit_t *
ngx_http_hashgate_add_ihit(ngx_http_hashgate_ctx_t *ctx,
    ngx_http_hashgate_container_t *cont, const hg_inspect_entry_t *e,
    const hg_scan_result_t *res, const hg_verdict_t *v,
    const char *not_checked)
{
    u_char                   *p;
    size_t                    len, n;
    ngx_pool_t               *pool;
    ngx_http_hashgate_hit_t  *hit;

    pool = ctx->request->pool;

    if (ctx->ihits.elts == NULL
        && ngx_array_init(&ctx->ihits, pool, 4,
                          sizeof(ngx_http_hashgate_hit_t))
           != NGX_OK)
    {
        ctx->ihits_dropped++;
        return NULL;
    }

    if (ctx->ihits.nelts >= NGX_HTTP_HASHGATE_MAX_RECORDS) {
        ctx->ihits_dropped++;
        return NULL;
    }

    hit = ngx_array_push(&ctx->ihits);
    if (hit == NULL) {
        ctx->ihits_dropped++;
        return NULL;
    }

    ngx_memzero(hit, sizeof(ngx_http_hashgate_hit_t));

    hit->res = *res;
    hit->res.head = NULL;
    hit->res.head_len = 0;
    hit->verdict = *v;
    hit->not_checked = not_checked;
    ngx_http_hashgate_copy(hit->part, sizeof(hit->part), cont->part);
    ngx_http_hashgate_copy(hit->filename, sizeof(hit->filename),
                           cont->filename);

    if (e == NULL) {
        return hit;
    }

    len = ngx_strlen(cont->part) + ngx_strlen(e->chain);
    hit->inner_part = ngx_pnalloc(pool, len + 1);
    hit->inner_name = ngx_http_hashgate_strdup(pool, e->name ? e->name : "");
    hit->inner_path = ngx_http_hashgate_strdup(pool, e->path);

    n = e->depth;
    hit->containers = ngx_palloc(pool, n * sizeof(hg_record_container_t));

    if (hit->inner_part == NULL || hit->inner_name == NULL
        || hit->inner_path == NULL || hit->containers == NULL)
    {
        /* recorded as the container's part, without the inner fields */
        hit->inner_part = NULL;
        hit->inner_name = NULL;
        hit->inner_path = NULL;
        hit->containers = NULL;
        return hit;
    }

    p = ngx_cpymem(hit->inner_part, cont->part, ngx_strlen(cont->part));
    p = ngx_cpymem(p, e->chain, ngx_strlen(e->chain));
    *p = '\0';

    ngx_memcpy(hit->containers, cont->level,
               n * sizeof(hg_record_container_t));
    hit->ncontainers = n;

    return hit;
}


static void
ngx_http_hashgate_copy(char *dst, size_t size, const char *src)
{
    if (src == NULL) {
        dst[0] = '\0';
        return;
    }

    ngx_cpystrn((u_char *) dst, (u_char *) src, size);
}


/*
 * Keep a match for its evidence record. Called by the hashing thread for
 * form parts: it uses only the room taken when the context was made.
 */
static void
ngx_http_hashgate_add_hit(ngx_http_hashgate_ctx_t *ctx,
    const hg_scan_result_t *res, const hg_verdict_t *v, const char *part,
    const char *filename, const char *declared, const char *encoding)
{
    ngx_http_hashgate_hit_t  *hit;

    if (ctx->hits.elts == NULL
        && ngx_array_init(&ctx->hits, ctx->request->pool, 1,
                          sizeof(ngx_http_hashgate_hit_t))
           != NGX_OK)
    {
        ctx->hits_dropped++;
        return;
    }

    if (ctx->hits.nelts >= NGX_HTTP_HASHGATE_MAX_RECORDS) {
        ctx->hits_dropped++;
        return;
    }

    hit = ngx_array_push(&ctx->hits);
    if (hit == NULL) {
        ctx->hits_dropped++;
        return;
    }

    hit->res = *res;
    hit->verdict = *v;
    hit->inner_part = NULL;
    hit->inner_name = NULL;
    hit->inner_path = NULL;
    hit->not_checked = NULL;
    hit->image = NULL;
    hit->containers = NULL;
    hit->ncontainers = 0;
    ngx_http_hashgate_copy(hit->part, sizeof(hit->part), part);
    ngx_http_hashgate_copy(hit->filename, sizeof(hit->filename), filename);
    ngx_http_hashgate_copy(hit->declared, sizeof(hit->declared), declared);
    ngx_http_hashgate_copy(hit->encoding, sizeof(hit->encoding), encoding);

    /* the head is only valid until the scan context's next object */
    hg_magic_type(ctx->magic, res->head, res->head_len, hit->detected,
                  sizeof(hit->detected));
    hit->res.head = NULL;
    hit->res.head_len = 0;
}


/*
 * The body has ended: wait for the hashing thread, end the form parser and
 * the body's digest, judge the body, and send what is left for the helper
 * (the raw body, if it is a container). The verdict is then due once the
 * inspections are done (ngx_http_hashgate_decide).
 */
static void
ngx_http_hashgate_body_end(ngx_http_hashgate_ctx_t *ctx)
{
    char                          *why, *declared;
    char                           buf[HG_ERR_MAX];
    const char                    *kind;
    hg_err_t                       err;
    ngx_log_t                     *log;
    hg_status_t                    st;
    hg_verdict_t                   v;
    hg_scan_result_t               res;
    ngx_http_request_t            *r;
    ngx_http_hashgate_loc_conf_t  *hlcf;
    ngx_http_hashgate_main_conf_t *hmcf;

    r = ctx->request;
    log = r->connection->log;
    hlcf = ctx->conf;
    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hashgate_module);

    ctx->m_end_ns = hg_metrics_now_ns();

    if (hmcf->hasher) {
        ngx_http_hashgate_hasher_wait(hmcf->hasher, &ctx->pending);
    }

    ctx->magic = hmcf->magic;

    if (ctx->loop_status != HG_OK && ctx->status == HG_OK) {
        ctx->status = ctx->loop_status;
    }

    why = ctx->part_err.msg;
    kind = ctx->api == HG_APIBODY_JSON ? "JSON"
           : ctx->api == HG_APIBODY_FORM ? "url-encoded" : "multipart";

    if (ctx->part_status == HG_OK && ctx->unpack) {
        err.msg[0] = '\0';
        ctx->part_status = hg_unpack_finish(ctx->unpack, &err);
        why = err.msg;
    }

    if (ctx->part_status == HG_OK && ctx->apibody) {
        err.msg[0] = '\0';
        ctx->part_status = hg_apibody_finish(ctx->apibody, &err);
        why = err.msg;
    }

    if (ctx->part_status == HG_ECANCEL && hg_verdict_settled(&ctx->verdict)) {
        /* the parser was stopped at a part to reject: nothing failed */

    } else if (ctx->part_status != HG_OK) {
        ngx_log_error(NGX_LOG_ERR, log, 0, "hashgate: %s body: %s%s", kind,
                      ngx_http_hashgate_api_why(ctx, why, buf, sizeof(buf)),
                      ngx_http_hashgate_limit_name(ctx, why));
        ctx->what = ctx->api ? "body parts not scanned"
                             : "form parts not scanned";
        (void) hg_verdict_fail(hlcf->policy, &ctx->verdict, ctx->part_status);
    }

    if (ctx->apibody) {
        /*
         * not an error by itself: the application will refuse the body;
         * what came before the fault was checked (see apibody.h). A match
         * that decided stops the parser, which then never sees a fault
         * after it, but a body cut inside the matching string has one.
         */
        ctx->stopped = hg_apibody_stopped(ctx->apibody, &ctx->stopped_at);

        if (ctx->stopped) {
            ngx_log_error(NGX_LOG_INFO, log, 0,
                          "hashgate: %s body is not well-formed: parsing "
                          "stopped at byte %uL (%s); %ui part%s before it "
                          "checked", kind, ctx->stopped_at, ctx->stopped,
                          (ngx_uint_t) hg_apibody_parts(ctx->apibody),
                          hg_apibody_parts(ctx->apibody) == 1 ? "" : "s");
        }
    }

    st = ctx->status;
    if (ctx->body && st == HG_OK) {
        st = hg_scan_end(ctx->body, &res);
    }

    if (st != HG_OK) {
        /* the upload is not to blame when the database is */
        ctx->what = hmcf->spoiled
                    ? "body not scanned, the database is unusable"
                    : "body not scanned";
        (void) hg_verdict_fail(hlcf->policy, &ctx->verdict, st);

    } else {
        v = hg_decide(hlcf->policy, &res, HG_OK);

        hg_metrics_part(ngx_http_hashgate_metrics, HG_METRICS_UPLOAD,
                        res.digests.size);

        if (res.digests.algs & HG_ALG_BIT(HG_ALG_SHA256)) {
            hg_hex_encode(res.digests.d[HG_ALG_SHA256], 32,
                          (char *) ctx->sha256);
        }

        if (v.matched) {
            declared = NULL;
            if (r->headers_in.content_type) {
                declared = ngx_http_hashgate_cstr(r->pool,
                                         &r->headers_in.content_type->value);
            }
            ngx_http_hashgate_add_hit(ctx, &res, &v, NULL, NULL, declared,
                                      NULL);
        }

        hg_verdict_merge(&ctx->verdict, &v);

        if (ctx->spool && ctx->unpack == NULL
            && !hg_verdict_settled(&ctx->verdict))
        {
            ngx_http_hashgate_container_end(ctx, &ctx->spool, &ctx->spool_st,
                                            &ctx->spool_err, "request body",
                                            "body", NULL, &res.digests);
        }
    }

    if (ctx->archives) {
        ngx_http_hashgate_kick(ctx);
    }
}


/*
 * The request got its verdict: counted, with its matches, its fail reason
 * (what says which failure decided) and the time hashgate spent on it.
 */
static void
ngx_http_hashgate_metrics_done(ngx_http_hashgate_ctx_t *ctx, const char *what)
{
    uint64_t                  ns;
    ngx_uint_t                i;
    hg_metrics_fail_t         reason;
    ngx_http_hashgate_hit_t  *hit;

    hit = ctx->hits.elts;

    for (i = 0; i < ctx->hits.nelts; i++) {
        hg_metrics_match(ngx_http_hashgate_metrics, hit[i].verdict.list,
                         hit[i].verdict.action);
    }

    if (ctx->verdict.failed
        && (ctx->verdict.action == HG_ACT_TEMPFAIL
            || ctx->verdict.action == HG_ACT_ACCEPT))
    {
        if (ngx_strcmp(what, "a match not recorded") == 0) {
            reason = HG_METRICS_FAIL_EVIDENCE;

        } else if (ngx_strcmp(what, "a match not held") == 0) {
            reason = HG_METRICS_FAIL_HOLD;

        } else if (ngx_strstr(what, "database") != NULL) {
            reason = HG_METRICS_FAIL_DATABASE;

        } else if (ctx->verdict.fail_status == HG_ELIMIT) {
            reason = HG_METRICS_FAIL_LIMIT;

        } else if (ngx_strcmp(what, "archive not inspected") == 0) {
            reason = HG_METRICS_FAIL_HELPER;

        } else {
            reason = HG_METRICS_FAIL_OTHER;
        }

        hg_metrics_fail(ngx_http_hashgate_metrics, HG_METRICS_UPLOAD, reason);
    }

    ns = ctx->m_busy_ns;
    if (ctx->m_end_ns) {
        ns += hg_metrics_now_ns() - ctx->m_end_ns;
    }

    hg_metrics_scanned(ngx_http_hashgate_metrics, HG_METRICS_UPLOAD, ns);
}


static ngx_int_t
ngx_http_hashgate_decide(ngx_http_hashgate_ctx_t *ctx)
{
    const char                    *what;
    ngx_int_t                      rc;
    ngx_uint_t                     i;
    ngx_log_t                     *log;
    hg_action_t                    action;
    ngx_http_request_t            *r;
    ngx_http_hashgate_hit_t       *hit, *ih;
    ngx_http_hashgate_loc_conf_t  *hlcf;

    r = ctx->request;
    log = r->connection->log;
    hlcf = ctx->conf;

    ctx->decided = 1;

    /* the files inside containers count as parts do */
    if (ctx->iverdict.failed && ctx->what == NULL) {
        ctx->what = "archive not inspected";
    }

    hg_verdict_merge(&ctx->verdict, &ctx->iverdict);

    ih = ctx->ihits.elts;

    for (i = 0; i < ctx->ihits.nelts; i++) {
        if (ctx->hits.elts == NULL
            && ngx_array_init(&ctx->hits, r->pool, 1,
                              sizeof(ngx_http_hashgate_hit_t))
               != NGX_OK)
        {
            ctx->hits_dropped += ctx->ihits.nelts - i;
            break;
        }

        if (ctx->hits.nelts >= NGX_HTTP_HASHGATE_MAX_RECORDS) {
            ctx->hits_dropped += ctx->ihits.nelts - i;
            break;
        }

        hit = ngx_array_push(&ctx->hits);
        if (hit == NULL) {
            ctx->hits_dropped += ctx->ihits.nelts - i;
            break;
        }

        *hit = ih[i];
    }

    ctx->hits_dropped += ctx->ihits_dropped;

    what = ctx->what ? ctx->what : "form parts not scanned";

    /*
     * As in the milter: first the hold, which can fail and then gives the
     * fail verdict (hg_decide_hold_failed), then the records, saying what
     * was done
     */

    if (ctx->verdict.action == HG_ACT_HOLD && ctx->hold_failed) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "hashgate: cannot hold the body, applying "
                      "hashgate_on_error");
        what = "a match not held";
        ctx->verdict = hg_decide_hold_failed(hlcf->policy, &ctx->verdict,
                                             HG_EIO);
    }

    if (ctx->verdict.action == HG_ACT_HOLD) {
        if (ngx_close_file(ctx->hold_fd) == NGX_FILE_ERROR
            || ngx_rename_file(ctx->hold_tmp, ctx->hold_name)
               == NGX_FILE_ERROR)
        {
            ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                          "hashgate: cannot keep hold file \"%s\"",
                          ctx->hold_name);
            what = "a match not held";
            ctx->verdict = hg_decide_hold_failed(hlcf->policy, &ctx->verdict,
                                                 HG_EIO);
            ngx_delete_file(ctx->hold_tmp);

        } else {
            ctx->hold_tmp = NULL;
        }

        ctx->hold_fd = NGX_INVALID_FILE;
    }

    action = ctx->verdict.action;

    if (ctx->hits.nelts && ngx_http_hashgate_record(ctx) != NGX_OK) {
        hg_metrics_evidence_failed(ngx_http_hashgate_metrics,
                                   HG_METRICS_UPLOAD);

        if (ctx->verdict.action != action) {
            what = "a match not recorded";
        }
    }

    ngx_http_hashgate_metrics_done(ctx, what);

    if (ctx->hits_dropped) {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "hashgate: %ui more matches not recorded",
                      ctx->hits_dropped);
    }

    switch (ctx->verdict.action) {

    case HG_ACT_REJECT:
        rc = hlcf->reject_status;
        break;

    case HG_ACT_HOLD:
        rc = hlcf->hold_status;
        break;

    case HG_ACT_TEMPFAIL:
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "hashgate: %s (%s), rejected", what,
                      hg_status_str(ctx->verdict.fail_status));
        rc = NGX_HTTP_SERVICE_UNAVAILABLE;
        break;

    case HG_ACT_ACCEPT:
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "hashgate: %s (%s), passed by %s", what,
                      hg_status_str(ctx->verdict.fail_status),
                      hlcf->policy->on_fail_set
                      ? "\"hashgate_on_error pass\""
                      : "\"hashgate_monitor on\", would be rejected (503)");
        rc = NGX_OK;
        break;

    default:
        rc = NGX_OK;
    }

    if (ctx->hold_fd != NGX_INVALID_FILE) {
        ngx_close_file(ctx->hold_fd);
        ctx->hold_fd = NGX_INVALID_FILE;
    }

    if (ctx->hold_tmp) {
        ngx_delete_file(ctx->hold_tmp);
        ctx->hold_tmp = NULL;
    }

    return rc;
}


static char *
ngx_http_hashgate_cstr(ngx_pool_t *pool, ngx_str_t *s)
{
    u_char  *p;

    p = ngx_pnalloc(pool, s->len + 1);
    if (p == NULL) {
        return NULL;
    }

    /* an HTTP/1.0 request without Host has no data here: memcpy(NULL) */
    if (s->len) {
        ngx_memcpy(p, s->data, s->len);
    }

    p[s->len] = '\0';

    return (char *) p;
}


static char *
ngx_http_hashgate_strdup(ngx_pool_t *pool, const char *s)
{
    ngx_str_t  str;

    str.len = ngx_strlen(s);
    str.data = (u_char *) s;

    return ngx_http_hashgate_cstr(pool, &str);
}


/*
 * One evidence record per matched object, to the evidence log and, when the
 * body is held, into NAME.json beside the held body, each saying what is
 * done to the request (ctx->verdict). When a record could not be written
 * everywhere it had to go, ctx->verdict becomes what may still be done
 * (hg_decide_evidence_failed), each such record goes to the error log with
 * that verdict, and NGX_ERROR is returned.
 */
static ngx_int_t
ngx_http_hashgate_record(ngx_http_hashgate_ctx_t *ctx)
{
    u_char                     *json;
    hg_err_t                    err;
    ngx_fd_t                    fd;
    hg_json_t                   j;
    ngx_uint_t                  i, failed;
    hg_record_t                 rec;
    hg_verdict_t                v;
    ngx_http_request_t         *r;
    ngx_http_hashgate_hit_t    *hit;
    ngx_http_variable_value_t  *id;
    ngx_http_hashgate_piece_t   piece;
    ngx_http_hashgate_names_t   nm;
    ngx_http_hashgate_main_conf_t  *hmcf;

    r = ctx->request;
    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hashgate_module);

    nm.addr = ngx_http_hashgate_cstr(r->pool, &r->connection->addr_text);
    nm.host = ngx_http_hashgate_cstr(r->pool, &r->headers_in.server);
    nm.method = ngx_http_hashgate_cstr(r->pool, &r->method_name);
    nm.uri = ngx_http_hashgate_cstr(r->pool, &r->unparsed_uri);

    nm.reqid = NULL;
    id = ngx_http_get_indexed_variable(r, hmcf->request_id_index);
    if (id && !id->not_found) {
        nm.reqid = ngx_pnalloc(r->pool, id->len + 1);
        if (nm.reqid) {
            ngx_memcpy(nm.reqid, id->data, id->len);
            nm.reqid[id->len] = '\0';
        }
    }

    nm.held = (ctx->verdict.action == HG_ACT_HOLD) ? (char *) ctx->hold_name
                                                    : NULL;
    nm.stopped = ctx->stopped;
    nm.stopped_at = ctx->stopped_at;
    json = NULL;
    fd = NGX_INVALID_FILE;

    if (nm.held) {
        /* without it each record goes to the error log instead, below */
        json = ngx_pnalloc(r->pool, ngx_strlen(nm.held) + sizeof(".json"));

        if (json) {
            ngx_sprintf(json, "%s.json%Z", nm.held);

            fd = ngx_open_file(json, NGX_FILE_WRONLY,
                               NGX_FILE_CREATE_OR_OPEN|O_EXCL|O_NOFOLLOW,
                               0600);
            if (fd == NGX_INVALID_FILE) {
                ngx_log_error(NGX_LOG_ERR, r->connection->log, ngx_errno,
                              "hashgate: cannot create \"%s\"", json);
            }
        }
    }

    failed = 0;
    piece.why = NULL;
    hg_json_init(&j);

    hit = ctx->hits.elts;

    for (i = 0; i < ctx->hits.nelts; i++) {

        v = hg_record_verdict(&hit[i].verdict, &ctx->verdict);
        ngx_http_hashgate_record_fill(&hit[i], &v, &nm, &rec);
        hit[i].unrecorded = 0;

        /* names from the request stay out of the error log: record only */
        if (hit[i].not_checked) {
            ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                          "hashgate: not checked (%s) action=%s object=%s "
                          "size=%uL request_id=%s", hit[i].not_checked,
                          hg_action_name(v.action),
                          hit[i].inner_path ? "inner-file" : "archive",
                          (uint64_t) hit[i].res.digests.size,
                          nm.reqid ? nm.reqid : "-");

        } else {
            ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                          "hashgate: match list=\"%s\" action=%s object=%s "
                          "size=%uL request_id=%s",
                          hit[i].verdict.list ? hit[i].verdict.list : "-",
                          hg_action_name(v.action),
                          hit[i].inner_path ? "inner-file"
                          : hit[i].encoding[0]
                            ? (ctx->api == HG_APIBODY_JSON ? "json-value"
                                                           : "form-field")
                          : hit[i].part[0] ? "form-part" : "body",
                          (uint64_t) hit[i].res.digests.size,
                          nm.reqid ? nm.reqid : "-");
        }

        if (hg_record_format(&rec, &j) != HG_OK) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "hashgate: cannot format evidence record");
            hit[i].unrecorded = 1;
            if (piece.why == NULL) {
                piece.why = "cannot format it";
            }
            failed++;
            continue;
        }

        if (ctx->conf->evlog) {
            err.msg[0] = '\0';
            if (hg_evlog_write(ctx->conf->evlog, &j, &err) != HG_OK) {
                /* err.msg is logged with the record, below */
                hit[i].unrecorded = 1;
                if (piece.why == NULL) {
                    piece.why = ngx_http_hashgate_strdup(r->pool, err.msg);
                }
            }
        }

        if (nm.held
            && (fd == NGX_INVALID_FILE
                || ngx_write_fd(fd, j.buf, j.len) != (ssize_t) j.len))
        {
            if (fd != NGX_INVALID_FILE) {
                ngx_log_error(NGX_LOG_ERR, r->connection->log, ngx_errno,
                              "hashgate: cannot write \"%s\"", json);
            }
            hit[i].unrecorded = 1;
            if (piece.why == NULL) {
                piece.why = "no record beside the held body";
            }
        }

        failed += hit[i].unrecorded;
    }

    if (fd != NGX_INVALID_FILE) {
        ngx_close_file(fd);
    }

    if (failed == 0) {
        hg_json_free(&j);
        return NGX_OK;
    }

    /* decided in common/, for every channel alike */
    ctx->verdict = hg_decide_evidence_failed(ctx->conf->policy, &ctx->verdict);

    piece.log = r->connection->log;
    piece.bare = *r->connection->log;
    piece.bare.handler = NULL;
    piece.reqid = nm.reqid ? nm.reqid : "-";
    piece.why = piece.why ? piece.why : "-";

    for (i = 0; i < ctx->hits.nelts; i++) {

        if (!hit[i].unrecorded) {
            continue;
        }

        v = hg_record_verdict(&hit[i].verdict, &ctx->verdict);
        ngx_http_hashgate_record_fill(&hit[i], &v, &nm, &rec);
        piece.n = i + 1;

        if (hg_record_format(&rec, &j) == HG_OK) {
            hg_record_split(j.buf, j.len - 1, ngx_http_hashgate_log_piece,
                            &piece);
        }
    }

    hg_json_free(&j);

    return NGX_ERROR;
}


static void
ngx_http_hashgate_record_fill(ngx_http_hashgate_hit_t *hit,
    const hg_verdict_t *v, ngx_http_hashgate_names_t *nm, hg_record_t *rec)
{
    ngx_memzero(rec, sizeof(hg_record_t));

    rec->channel = "http";
    rec->part = hit->inner_part ? hit->inner_part
                : hit->part[0] ? hit->part : NULL;
    rec->filename = hit->inner_name ? hit->inner_name
                    : hit->filename[0] ? hit->filename : NULL;
    rec->inner_path = hit->inner_path;
    rec->not_checked = hit->not_checked;
    rec->image = hit->image;
    rec->containers = hit->containers;
    rec->ncontainers = hit->ncontainers;
    rec->declared_type = hit->declared[0] ? hit->declared : NULL;
    rec->detected_type = hit->detected[0] ? hit->detected : NULL;
    rec->encoding = hit->encoding[0] ? hit->encoding : NULL;
    rec->parse_stopped = nm->stopped;
    rec->parse_stopped_at = nm->stopped_at;
    rec->held_at = nm->held;
    rec->res = &hit->res;
    rec->verdict = v;

    hg_record_add(rec, "client_addr", nm->addr);
    hg_record_add(rec, "host", nm->host);
    hg_record_add(rec, "method", nm->method);
    hg_record_add(rec, "uri", nm->uri);
    hg_record_add(rec, "request_id", nm->reqid);
}


/*
 * One piece of a record the evidence log did not take, to the error log at
 * "error", error_log's default level; joined in order, the pieces of
 * "record request_id=R N" give its line. They are written without the
 * request's ", client: ..." suffix, which would run into the record's text.
 */
static void
ngx_http_hashgate_log_piece(void *data, size_t i, size_t n,
    const char *piece, size_t len)
{
    ngx_http_hashgate_piece_t  *p = data;

    if (i == 1) {
        ngx_log_error(NGX_LOG_ERR, p->log, 0,
                      "hashgate: evidence log write failed (%s); record %ui "
                      "of request_id=%s follows in %uz piece%s", p->why,
                      p->n, p->reqid, n, n == 1 ? "" : "s");
    }

    ngx_log_error(NGX_LOG_ERR, &p->bare, 0,
                  "hashgate: record request_id=%s %ui %uz/%uz: %*s",
                  p->reqid, p->n, i, n, len, piece);
}


static void
ngx_http_hashgate_cleanup(void *data)
{
    ngx_http_hashgate_ctx_t  *ctx = data;

    ngx_http_hashgate_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(ctx->request,
                                         ngx_http_hashgate_module);

    /* a request ended early: the thread must be done with its objects */
    if (hmcf->hasher) {
        ngx_http_hashgate_hasher_wait(hmcf->hasher, &ctx->pending);
    }

    if (ctx->hold_fd != NGX_INVALID_FILE) {
        ngx_close_file(ctx->hold_fd);
    }

    if (ctx->hold_tmp) {
        /* the request ended before its verdict */
        ngx_delete_file(ctx->hold_tmp);
    }

    if (ctx->queued) {
        ngx_queue_remove(&ctx->queue);
    }

    /* a late reply of the helper is discarded: see the inspect file */
    ngx_http_hashgate_drop_containers(ctx);
    hg_spool_free(ctx->spool);
    hg_spool_free(ctx->part.spool);
    hg_spool_free(ctx->decoded.spool);

    if (ctx->inner) {
        ngx_http_hashgate_scan_put(hmcf, ctx->inner);
    }

    hg_unpack_free(ctx->unpack);
    hg_apibody_free(ctx->apibody);

    if (ctx->body) {
        ngx_http_hashgate_scan_put(hmcf, ctx->body);
    }

    if (ctx->part.scan) {
        ngx_http_hashgate_scan_put(hmcf, ctx->part.scan);
    }

    if (ctx->decoded.scan) {
        ngx_http_hashgate_scan_put(hmcf, ctx->decoded.scan);
    }
}


static hg_scan_t *
ngx_http_hashgate_scan_get(ngx_http_hashgate_main_conf_t *hmcf)
{
    hg_scan_t  *s;

    while (hmcf->ncache) {
        s = hmcf->cache[--hmcf->ncache];

        if (hg_scan_db(s) == hmcf->db) {
            return s;
        }

        hg_scan_free(s);
    }

    s = hg_scan_new(hmcf->db, hmcf->extra_algs);

    if (s && hmcf->par) {
        hg_scan_set_parallel(s, hmcf->par);
    }

    return s;
}


static void
ngx_http_hashgate_scan_put(ngx_http_hashgate_main_conf_t *hmcf, hg_scan_t *s)
{
    if (hmcf->cache == NULL || hg_scan_db(s) != hmcf->db
        || hmcf->ncache == NGX_HTTP_HASHGATE_SCAN_CACHE)
    {
        hg_scan_free(s);
        return;
    }

    hmcf->cache[hmcf->ncache++] = s;
}


/* what stays in use after a new file was refused or the file went */
static const char *
ngx_http_hashgate_db_keeps(ngx_http_hashgate_main_conf_t *hmcf)
{
    return hmcf->spoiled ? "applying hashgate_on_error until a good file is "
                           "installed by rename"
                         : "still using the one loaded";
}


/*
 * Swap to a new database file if the one at the configured path changed.
 * At most one stat a second per worker from requests, and one per timer
 * tick (the watcher decides what is new; a refused file is not tried again
 * until it changes). A new file is opened here, its whole-file checksum
 * verified in a thread (ngx_http_hashgate_verify.c) while the loaded
 * database keeps serving, and it is swapped in on the first call after.
 */
static void
ngx_http_hashgate_db_refresh(ngx_http_hashgate_main_conf_t *hmcf,
    ngx_log_t *log)
{
    hg_db_t       *db;
    hg_err_t       msg;
    hg_db_ident_t  id;

    if (hmcf->db == NULL) {
        return;
    }

    if (hmcf->verify.running) {
        if (ngx_http_hashgate_verify_done(&hmcf->verify) == NGX_OK) {
            ngx_http_hashgate_db_verified(hmcf, log);
        }

        return;
    }

    if (hmcf->checked == ngx_time()) {
        return;
    }

    hmcf->checked = ngx_time();

    switch (hg_db_watch_check(&hmcf->watch, 0, &id, &msg)) {

    case HG_DB_WATCH_NEW:
        break;

    case HG_DB_WATCH_MISSING:
        if (msg.msg[0] != '\0') {
            ngx_log_error(NGX_LOG_ERR, log, 0, "hashgate: %s; %s", msg.msg,
                          ngx_http_hashgate_db_keeps(hmcf));
        }

        return;

    default:
        return;
    }

    /*
     * O(metadata): a truncated or garbage file is refused at once, and so
     * is one not signed by a trusted key (the signature covers the
     * header, whose checksums the verify thread then holds the rest to)
     */
    if (hg_db_open((char *) hmcf->db_path.data, 0, &db, &hmcf->verify.err)
        != HG_OK)
    {
        db = NULL;

    } else if (hmcf->db_keys != NULL
               && hg_db_check_signature(db, hmcf->db_keys, &hmcf->verify.err)
                  != HG_OK)
    {
        hg_db_close(db);
        db = NULL;
    }

    if (db == NULL) {
        hmcf->verify.id = id;
        hmcf->verify.db = NULL;
        ngx_http_hashgate_db_verified(hmcf, log);
        return;
    }

    /* O(size): the whole-file checksum, beside the event loop */
    if (ngx_http_hashgate_verify_start(&hmcf->verify, db, &id) != NGX_OK) {
        ngx_http_hashgate_db_verified(hmcf, log);
    }
}


/* The verify of a new file ended: swap to it, or refuse it. */
static void
ngx_http_hashgate_db_verified(ngx_http_hashgate_main_conf_t *hmcf,
    ngx_log_t *log)
{
    hg_db_t                     *old;
    hg_err_t                     msg;
    ngx_http_hashgate_verify_t  *v = &hmcf->verify;

    if (v->db == NULL) {
        hg_metrics_db_refused(ngx_http_hashgate_metrics, &v->id);

        if (hg_db_watch_refused(&hmcf->watch, &v->id, &v->err, &msg)
            == HG_DB_WATCH_SPOILED)
        {
            /*
             * the file we have mapped was rewritten in place, not replaced
             * by a rename: our mapping shows its new bytes, so it can no
             * longer be trusted; the fail mode applies until a good file
             */
            ngx_http_hashgate_db_spoiled(hmcf);

            ngx_log_error(NGX_LOG_ALERT, log, 0, "hashgate: %s; %s", msg.msg,
                          ngx_http_hashgate_db_keeps(hmcf));
            return;
        }

        ngx_log_error(NGX_LOG_ERR, log, 0, "hashgate: %s; %s", msg.msg,
                      ngx_http_hashgate_db_keeps(hmcf));
        return;
    }

    old = hmcf->db;
    hmcf->db = v->db;
    v->db = NULL;
    hg_db_watch_loaded(&hmcf->watch, &v->id);
    hmcf->spoiled = 0;
    hg_metrics_db_loaded(ngx_http_hashgate_metrics, hmcf->db, &v->id,
                         ngx_time());

    /* requests running keep their own references to the old one */
    hg_db_close(old);

    while (hmcf->ncache) {
        hg_scan_free(hmcf->cache[--hmcf->ncache]);
    }

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "hashgate: database \"%s\" reloaded, verified in %M ms",
                  hmcf->db_path.data, v->took);
}


/* Nothing the database in use says can be trusted any more. */
static void
ngx_http_hashgate_db_spoiled(ngx_http_hashgate_main_conf_t *hmcf)
{
    hmcf->spoiled = 1;
    hg_metrics_db_dropped(ngx_http_hashgate_metrics);

    while (hmcf->ncache) {
        hg_scan_free(hmcf->cache[--hmcf->ncache]);
    }
}


static ngx_http_hashgate_ctx_t *
ngx_http_hashgate_var_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t       *cln;
    ngx_http_hashgate_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_hashgate_module);

    if (ctx == NULL) {
        /*
         * an internal redirect (error_page after a reject) clears module
         * contexts; the pool cleanup still knows ours
         */
        for (cln = r->main->pool->cleanup; cln; cln = cln->next) {
            if (cln->handler == ngx_http_hashgate_cleanup) {
                ctx = cln->data;
                break;
            }
        }
    }

    if (ctx == NULL || !ctx->decided) {
        return NULL;
    }

    return ctx;
}


static void
ngx_http_hashgate_var_set(ngx_http_variable_value_t *v, const char *s)
{
    if (s == NULL || *s == '\0') {
        v->not_found = 1;
        return;
    }

    v->len = ngx_strlen(s);
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = (u_char *) s;
}


static ngx_int_t
ngx_http_hashgate_verdict_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_hashgate_ctx_t  *ctx;

    ctx = ngx_http_hashgate_var_ctx(r);

    ngx_http_hashgate_var_set(v, ctx ? hg_action_name(ctx->verdict.action)
                                     : NULL);
    return NGX_OK;
}


static ngx_int_t
ngx_http_hashgate_list_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_hashgate_ctx_t  *ctx;

    ctx = ngx_http_hashgate_var_ctx(r);

    ngx_http_hashgate_var_set(v, ctx ? ctx->verdict.list : NULL);
    return NGX_OK;
}


static ngx_int_t
ngx_http_hashgate_sha256_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_hashgate_ctx_t  *ctx;

    ctx = ngx_http_hashgate_var_ctx(r);

    ngx_http_hashgate_var_set(v, ctx ? (char *) ctx->sha256 : NULL);
    return NGX_OK;
}


static char *
ngx_http_hashgate_database(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hashgate_main_conf_t *hmcf = conf;

    hg_err_t             err;
    ngx_str_t           *value;
    hg_db_ident_t        id;
    ngx_pool_cleanup_t  *cln;

    if (hmcf->db_path.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_http_hashgate_path_value(cf, cmd, &value[1]) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    hmcf->db_path = value[1];

    if (ngx_conf_full_name(cf->cycle, &hmcf->db_path, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_hashgate_db_cleanup;
    cln->data = hmcf;

    hg_db_watch_init(&hmcf->watch, (char *) hmcf->db_path.data);

    if (hg_db_watch_check(&hmcf->watch, 1, &id, &err)
        == HG_DB_WATCH_MISSING)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "hashgate_database: %s",
                           err.msg);
        return NGX_CONF_ERROR;
    }

    err.msg[0] = '\0';

    /*
     * a file rewritten in place under our mapping must cost requests the
     * fail verdict, not the worker (see hg_db_guard_install); set in the
     * master, so every worker inherits it
     */
    if (hg_db_guard_install(&err) != HG_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", err.msg);
        return NGX_CONF_ERROR;
    }

    /* as the milter: never scan with one of the three digests missing */
    if (hg_hash_global_init(&err) != HG_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "hashgate: %s", err.msg);
        return NGX_CONF_ERROR;
    }

    /*
     * the whole file is verified, as the milter does: here in the master,
     * so "nginx -t" and "nginx -s reload" refuse a corrupt file, and
     * every worker inherits a verified mapping
     */
    if (hg_db_open((char *) hmcf->db_path.data, HG_DB_OPEN_VERIFY,
                   &hmcf->db, &err)
        != HG_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hashgate_database refused: %s", err.msg);
        return NGX_CONF_ERROR;
    }

    hg_db_watch_loaded(&hmcf->watch, &id);

    return ngx_http_hashgate_db_trusted(cf, hmcf);
}


/*
 * hashgate_database_key FILE: the database must be signed by one of the
 * public keys in FILE, at start, at "nginx -t", at every reload of the
 * configuration and every new file the workers see.
 */
static char *
ngx_http_hashgate_database_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_hashgate_main_conf_t *hmcf = conf;

    hg_err_t             err;
    ngx_str_t           *value, name;
    ngx_pool_cleanup_t  *cln;

    if (hmcf->db_keys) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_http_hashgate_path_value(cf, cmd, &value[1]) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    name = value[1];

    if (ngx_conf_full_name(cf->cycle, &name, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    err.msg[0] = '\0';

    if (hg_db_keys_load((char *) name.data, &hmcf->db_keys, &err) != HG_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "hashgate_database_key: %s",
                           err.msg);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_hashgate_keys_cleanup;
    cln->data = hmcf;

    return ngx_http_hashgate_db_trusted(cf, hmcf);
}


/* With both the database and the keys given, in either order: check. */
static char *
ngx_http_hashgate_db_trusted(ngx_conf_t *cf,
    ngx_http_hashgate_main_conf_t *hmcf)
{
    hg_err_t  err;

    if (hmcf->db == NULL || hmcf->db_keys == NULL) {
        return NGX_CONF_OK;
    }

    err.msg[0] = '\0';

    /* the whole-file checksum was verified when the database was opened */
    if (hg_db_check_signature(hmcf->db, hmcf->db_keys, &err) != HG_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hashgate_database refused: %s", err.msg);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void
ngx_http_hashgate_keys_cleanup(void *data)
{
    ngx_http_hashgate_main_conf_t *hmcf = data;

    hg_db_keys_free(hmcf->db_keys);
    hmcf->db_keys = NULL;
}


static void
ngx_http_hashgate_db_cleanup(void *data)
{
    ngx_http_hashgate_main_conf_t *hmcf = data;

    while (hmcf->ncache) {
        hg_scan_free(hmcf->cache[--hmcf->ncache]);
    }

    hg_db_close(hmcf->db);
    hmcf->db = NULL;
}


/*
 * The list name and action rules, and the refusal of a list given twice
 * in one block, are the milter's ListAction's: hg_policy_list_action.
 */
static char *
ngx_http_hashgate_list_action(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hashgate_loc_conf_t *hlcf = conf;

    hg_err_t    err;
    ngx_str_t  *value;

    value = cf->args->elts;

    if (hlcf->lists == NULL) {
        hlcf->lists = ngx_pcalloc(cf->pool, sizeof(ngx_http_hashgate_lists_t));
        if (hlcf->lists == NULL) {
            return NGX_CONF_ERROR;
        }

        hg_policy_init(&hlcf->lists->policy);
    }

    err.msg[0] = '\0';

    /* the file name lives as long as the cycle's pool */
    if (hg_policy_list_action(&hlcf->lists->policy, (char *) value[1].data,
                              value[1].len, (char *) value[2].data,
                              value[2].len, HG_LIST_ACTIONS_HTTP,
                              (char *) cf->conf_file->file.name.data,
                              cf->conf_file->line, &err)
        != HG_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V: %s", &cmd->name,
                           err.msg);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_hashgate_default_action(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_hashgate_loc_conf_t *hlcf = conf;

    hg_err_t      err;
    ngx_str_t    *value;
    hg_action_t   a;

    if (hlcf->default_action != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    err.msg[0] = '\0';

    if (hg_list_action_parse((char *) value[1].data, value[1].len,
                             HG_LIST_ACTIONS_HTTP, &a, &err)
        != HG_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V: %s", &cmd->name,
                           err.msg);
        return NGX_CONF_ERROR;
    }

    hlcf->default_action = a;

    return NGX_CONF_OK;
}


static char *
ngx_http_hashgate_hold_path(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hashgate_loc_conf_t *hlcf = conf;

    u_char           *name;
    size_t            len;
    ngx_str_t        *value;
    ngx_path_t       *path;
    ngx_file_info_t   fi;

    if (hlcf->hold_path != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_http_hashgate_path_value(cf, cmd, &value[1]) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    path = ngx_pcalloc(cf->pool, sizeof(ngx_path_t));
    if (path == NULL) {
        return NGX_CONF_ERROR;
    }

    path->name = value[1];

    if (path->name.len > 1 && path->name.data[path->name.len - 1] == '/') {
        path->name.len--;
    }

    if (ngx_conf_full_name(cf->cycle, &path->name, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    path->conf_file = cf->conf_file->file.name.data;
    path->line = cf->conf_file->line;

    /*
     * nginx creates it at startup, mode 0700, owned by the worker user, but
     * makes only its last component, with no file:line if that fails, and
     * chowns whatever is there: a file there is refused here, and so is a
     * missing parent
     */
    name = ngx_pnalloc(cf->pool, path->name.len + 1);
    if (name == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_cpystrn(name, path->name.data, path->name.len + 1);

    if (ngx_file_info(name, &fi) != NGX_FILE_ERROR) {
        if (!ngx_is_dir(&fi)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "hashgate_hold_path \"%s\" is not a directory",
                               name);
            return NGX_CONF_ERROR;
        }

    } else {
        for (len = path->name.len; len > 1 && name[len - 1] != '/'; len--) {
            /* void */
        }

        name[len] = '\0';

        if (ngx_file_info(name, &fi) == NGX_FILE_ERROR || !ngx_is_dir(&fi)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "hashgate_hold_path \"%V\" cannot be created: "
                               "no directory \"%s\"", &path->name, name);
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_add_path(cf, &path) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    hlcf->hold_path = path;

    return NGX_CONF_OK;
}


/*
 * hashgate_evidence_log off | FILE [syslog[:FACILITY[:SOCKET]]] [journald]:
 * one file (relative to the prefix) and the log pipeline's destinations
 * beside it, or only those. All are opened by the master, so workers
 * append through inherited descriptors, and an unreachable syslog socket
 * or journald fails nginx -t rather than losing records later.
 */
static char *
ngx_http_hashgate_evidence_log(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hashgate_loc_conf_t *hlcf = conf;

    hg_err_t             err;
    hg_evlog_t          *l;
    ngx_str_t           *value, name;
    ngx_uint_t           i, files;
    ngx_pool_cleanup_t  *cln;

    if (hlcf->evlog_set) {
        return "is duplicate";
    }

    hlcf->evlog_set = 1;
    value = cf->args->elts;

    if (value[1].len == 3 && ngx_strncmp(value[1].data, "off", 3) == 0) {
        if (cf->args->nelts > 2) {
            return "\"off\" cannot be given with destinations";
        }
        return NGX_CONF_OK;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_hashgate_evlog_cleanup;
    cln->data = NULL;
    files = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_http_hashgate_path_value(cf, cmd, &value[i]) != NGX_CONF_OK) {
            return NGX_CONF_ERROR;
        }

        name = value[i];
        err.msg[0] = '\0';

        if (ngx_strcmp(name.data, "journald") == 0
            || ngx_strcmp(name.data, "syslog") == 0
            || ngx_strncmp(name.data, "syslog:", 7) == 0)
        {
            if (hg_evlog_open_spec((char *) name.data, "nginx", &l, &err)
                != HG_OK)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "hashgate_evidence_log: %s", err.msg);
                return NGX_CONF_ERROR;
            }

        } else {
            if (++files > 1) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "hashgate_evidence_log: one file only "
                                   "(\"%V\"); syslog and journald may be "
                                   "given beside it", &value[i]);
                return NGX_CONF_ERROR;
            }

            if (ngx_conf_full_name(cf->cycle, &name, 0) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

            if (hg_evlog_open((char *) name.data, &l, &err) != HG_OK) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "hashgate_evidence_log: %s", err.msg);
                return NGX_CONF_ERROR;
            }
        }

        hg_evlog_append(&hlcf->evlog, l);
        cln->data = hlcf->evlog;
    }

    return NGX_CONF_OK;
}


static void
ngx_http_hashgate_evlog_cleanup(void *data)
{
    hg_evlog_close(data);
}


/*
 * A file name is handed on as a C string: a NUL byte in it (possible in a
 * quoted value) would quietly name another file than the config shows.
 */
static char *
ngx_http_hashgate_path_value(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_str_t *value)
{
    if (ngx_strlchr(value->data, value->data + value->len, '\0') != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" directive has a NUL byte", &cmd->name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_hashgate_inspect_helper(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_hashgate_main_conf_t *hmcf = conf;

    ngx_str_t  *value;

    if (hmcf->helper.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_http_hashgate_path_value(cf, cmd, &value[1]) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    hmcf->helper = value[1];

    if (ngx_conf_full_name(cf->cycle, &hmcf->helper, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* checked once a location opens archives, naming this line */
    hmcf->helper_conf = cf->conf_file->file.name.data;
    hmcf->helper_line = cf->conf_file->line;

    return NGX_CONF_OK;
}


/*
 * hashgate_archive_encrypted / _unreadable: what a file inside a container
 * that cannot be hashed does to the request, in the milter's words
 * (hg_not_checked_action_parse). "accept" lets it pass with a record;
 * "tag", as for lists, has no meaning for an upload.
 */
/*
 * hashgate_pdq_images, _pdq_min_quality, _pdq_dihedral, hashgate_image_max_pixels,
 * _max_size, _timeout, _limit: the values parsed and checked by common/
 * (image_conf.h), the milter's PdqImages ... ImageLimit alike. A timeout
 * is seconds, with or without nginx's "s".
 */
static char *
ngx_http_hashgate_image_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hashgate_loc_conf_t *hlcf = conf;

    size_t        len;
    hg_err_t      err;
    ngx_str_t    *value;
    ngx_uint_t    bit;
    hg_status_t   st;
    hg_action_t   a;
    const char   *v;

    bit = cmd->offset;

    if (hlcf->img_set & (1 << bit)) {
        return "is duplicate";
    }

    value = cf->args->elts;
    v = (const char *) value[1].data;
    len = value[1].len;
    err.msg[0] = '\0';

    switch (bit) {

    case NGX_HTTP_HASHGATE_IMG_IMAGES:
        st = hg_image_conf_images(&hlcf->img, v, len, &err);
        break;

    case NGX_HTTP_HASHGATE_IMG_QUALITY:
        st = hg_image_conf_min_quality(&hlcf->img, v, len, &err);
        break;

    case NGX_HTTP_HASHGATE_IMG_DIHEDRAL:
        st = hg_image_conf_dihedral(&hlcf->img, v, len, &err);
        break;

    case NGX_HTTP_HASHGATE_IMG_PIXELS:
        st = hg_image_conf_max_pixels(&hlcf->img, v, len, &err);
        break;

    case NGX_HTTP_HASHGATE_IMG_BYTES:
        st = hg_image_conf_max_bytes(&hlcf->img, v, len, &err);
        break;

    case NGX_HTTP_HASHGATE_IMG_TIMEOUT:
        if (len > 1 && v[len - 1] == 's') {
            len--;
        }
        st = hg_image_conf_timeout(&hlcf->img, v, len, &err);
        break;

    default: /* NGX_HTTP_HASHGATE_IMG_LIMIT */
        st = hg_image_conf_limit_action(v, len, HG_LIST_ACTIONS_HTTP, &a,
                                        &err);
        if (st == HG_OK) {
            hlcf->image_limit = a;
        }
    }

    if (st != HG_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V: %s", &cmd->name,
                           err.msg);
        return NGX_CONF_ERROR;
    }

    hlcf->img_set |= 1 << bit;

    return NGX_CONF_OK;
}


static char *
ngx_http_hashgate_archive_action(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    hg_err_t     err, mail;
    ngx_str_t   *value;
    ngx_uint_t  *field;
    hg_action_t  a;

    field = (ngx_uint_t *) (p + cmd->offset);

    if (*field != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    err.msg[0] = '\0';

    if (hg_not_checked_action_parse((char *) value[1].data, value[1].len,
                                    HG_LIST_ACTIONS_HTTP, &a, &err)
        != HG_OK)
    {
        /* a mail action: say why it is none here */
        mail.msg[0] = '\0';
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V: %s%s", &cmd->name,
                           err.msg,
                           hg_not_checked_action_parse(
                               (char *) value[1].data, value[1].len,
                               HG_LIST_ACTIONS_MAIL, &a, &mail)
                           == HG_OK
                           ? " (an upload has no header to tag)" : "");
        return NGX_CONF_ERROR;
    }

    *field = a;

    return NGX_CONF_OK;
}


/*
 * hashgate_json on|off [min_size=SIZE] [max_depth=N] [max_strings=N]
 * [max_decoded=SIZE] [max_retained=SIZE] and hashgate_form on|off [min_size=SIZE]
 * [max_fields=N] [max_decoded=SIZE], in the way of nginx's own key=value
 * parameters (open_file_cache, proxy_cache_path). A parameter left out
 * takes apibody.h's default.
 */
static char *
ngx_http_hashgate_apibody(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    off_t                              v, *field;
    u_char                            *eq;
    ngx_str_t                         *value, name, arg;
    ngx_uint_t                         i;
    ngx_http_hashgate_param_t         *pm;
    ngx_http_hashgate_apibody_conf_t  *ac;

    ac = (ngx_http_hashgate_apibody_conf_t *) (p + cmd->offset);

    if (ac->enable != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcasecmp(value[1].data, (u_char *) "on") == 0) {
        ac->enable = 1;

    } else if (ngx_strcasecmp(value[1].data, (u_char *) "off") == 0) {
        ac->enable = 0;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V: invalid value \"%V\", expected \"on\" or "
                           "\"off\" first", &cmd->name, &value[1]);
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        eq = ngx_strlchr(value[i].data, value[i].data + value[i].len, '=');

        if (eq == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%V: invalid parameter \"%V\", expected "
                               "name=value", &cmd->name, &value[i]);
            return NGX_CONF_ERROR;
        }

        name.data = value[i].data;
        name.len = eq - value[i].data;
        arg.data = eq + 1;
        arg.len = value[i].data + value[i].len - arg.data;

        for (pm = cmd->post; pm->name.len; pm++) {
            if (pm->name.len == name.len
                && ngx_strncmp(pm->name.data, name.data, name.len) == 0)
            {
                break;
            }
        }

        if (pm->name.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%V: unknown parameter \"%V\"", &cmd->name,
                               &name);
            return NGX_CONF_ERROR;
        }

        field = (off_t *) ((char *) ac + pm->offset);

        if (*field != NGX_CONF_UNSET) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%V: parameter \"%V\" given twice",
                               &cmd->name, &name);
            return NGX_CONF_ERROR;
        }

        v = pm->size ? ngx_parse_offset(&arg) : ngx_atoof(arg.data, arg.len);

        if (v == NGX_ERROR || v < pm->min || v > pm->max) {
            if (pm->size) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "%V: invalid value \"%V\" for \"%V\": "
                                   "expected a size of at least %O byte "
                                   "(such as 512, 64k, 8m)", &cmd->name,
                                   &arg, &name, pm->min);

            } else {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "%V: invalid value \"%V\" for \"%V\": "
                                   "expected a number from %O to %O",
                                   &cmd->name, &arg, &name, pm->min,
                                   pm->max);
            }

            return NGX_CONF_ERROR;
        }

        *field = v;
    }

    return NGX_CONF_OK;
}


/*
 * A location without the directive takes its parent's whole setting, and
 * a directive without a parameter that parameter's default.
 */
static void
ngx_http_hashgate_apibody_merge(ngx_http_hashgate_apibody_conf_t *conf,
    ngx_http_hashgate_apibody_conf_t *prev)
{
    hg_apibody_limits_t  def;

    if (conf->enable == NGX_CONF_UNSET) {
        *conf = *prev;
    }

    hg_apibody_limits_default(&def);

    ngx_conf_merge_value(conf->enable, NGX_CONF_UNSET, 1);
    ngx_conf_merge_off_value(conf->min_size, NGX_CONF_UNSET,
                             (off_t) def.min_bytes);
    ngx_conf_merge_off_value(conf->max_depth, NGX_CONF_UNSET,
                             (off_t) def.max_depth);
    ngx_conf_merge_off_value(conf->max_parts, NGX_CONF_UNSET,
                             (off_t) def.max_parts);
    ngx_conf_merge_off_value(conf->max_decoded, NGX_CONF_UNSET,
                             (off_t) def.max_decoded);
    ngx_conf_merge_off_value(conf->max_retained, NGX_CONF_UNSET,
                             (off_t) def.max_retained);
}


/*
 * Archives are opened only by hashgate-inspect: "nginx -t" refuses a
 * configuration that opens them without it. Unless hashgate_inspect_helper
 * names it, it is the installed one or, in a build tree, the one beside
 * this module's file.
 */
static char *
ngx_http_hashgate_helper_check(ngx_conf_t *cf,
    ngx_http_hashgate_main_conf_t *hmcf)
{
    u_char           *p, *name;
    size_t            len;
    Dl_info           dli;
    ngx_file_info_t   fi;

    if (hmcf->helper.data == NULL) {

#ifdef HG_INSPECT_HELPER_PATH
        ngx_str_set(&hmcf->helper, HG_INSPECT_HELPER_PATH);

        if (ngx_file_info(hmcf->helper.data, &fi) == NGX_FILE_ERROR)
#endif
        {
            if (dladdr((void *) &ngx_http_hashgate_module, &dli) != 0
                && dli.dli_fname
                && (p = (u_char *) strrchr(dli.dli_fname, '/'))
                   != NULL)
            {
                len = p - (u_char *) dli.dli_fname + 1;

                name = ngx_pnalloc(cf->pool,
                                   len + sizeof("hashgate-inspect"));
                if (name == NULL) {
                    return NGX_CONF_ERROR;
                }

                p = ngx_cpymem(name, dli.dli_fname, len);
                ngx_memcpy(p, "hashgate-inspect", sizeof("hashgate-inspect"));

                hmcf->helper.data = name;
                hmcf->helper.len = len + sizeof("hashgate-inspect") - 1;
            }
        }
    }

    if (hmcf->helper.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hashgate_archives: no inspection helper found: "
                           "set \"hashgate_inspect_helper\", or "
                           "\"hashgate_archives off\"");
        return NGX_CONF_ERROR;
    }

    if (ngx_file_info(hmcf->helper.data, &fi) == NGX_FILE_ERROR
        || !ngx_is_file(&fi)
        || access((char *) hmcf->helper.data, X_OK) != 0)
    {
        if (hmcf->helper_conf) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                               "hashgate_inspect_helper \"%V\" (%s:%ui) is "
                               "not an executable file",
                               &hmcf->helper, hmcf->helper_conf,
                               hmcf->helper_line);

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                               "hashgate_archives: no inspection helper at "
                               "\"%V\": install it, set "
                               "\"hashgate_inspect_helper\", or "
                               "\"hashgate_archives off\"", &hmcf->helper);
        }

        return NGX_CONF_ERROR;
    }

    if (!hmcf->helper_tried) {
        hmcf->helper_tried = 1;
        return ngx_http_hashgate_helper_try(cf, hmcf);
    }

    return NGX_CONF_OK;
}


static hg_status_t
ngx_http_hashgate_no_entry(void *data, const hg_inspect_entry_t *e)
{
    return HG_OK;
}


/*
 * Start the helper once on an empty zip, as the milter does: a helper
 * whose sandbox cannot load on this kernel, or a broken program, fails
 * "nginx -t" and the reload instead of every upload with an archive. In
 * the master, whose SIGCHLD handler reaps any child (and logs one it does
 * not know) once it runs: the signal waits until the helper is reaped.
 */
static char *
ngx_http_hashgate_helper_try(ngx_conf_t *cf,
    ngx_http_hashgate_main_conf_t *hmcf)
{
    static const u_char  empty_zip[22] = { 'P', 'K', 5, 6 };

    int                   fd;
    pid_t                 pid;
    sigset_t              set, old;
    hg_err_t              err;
    hg_inspector_t       *in;
    hg_inspect_done_t     done;
    hg_inspect_limits_t   lim;

    fd = memfd_create("hashgate-selftest", MFD_CLOEXEC);

    if (fd == -1
        || write(fd, empty_zip, sizeof(empty_zip)) != sizeof(empty_zip))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "hashgate_archives: no memfd to try the "
                           "inspection helper on");
        if (fd != -1) {
            close(fd);
        }
        return NGX_CONF_ERROR;
    }

    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &old);

    ngx_memzero(&done, sizeof(hg_inspect_done_t));
    err.msg[0] = '\0';
    pid = 0;

    in = hg_inspector_new((char *) hmcf->helper.data, &err);

    if (in) {
        hg_inspect_limits_default(&lim);
        lim.timeout_ms = 10000;

        (void) hg_inspect_run(in, fd, sizeof(empty_zip),
                              HG_ALG_BIT(HG_ALG_SHA256), &lim,
                              ngx_http_hashgate_no_entry, NULL, &done);
        pid = hg_inspector_pid(in);
        hg_inspector_free(in);
    }

    sigprocmask(SIG_SETMASK, &old, NULL);
    close(fd);

    /* an answer of any kind but a dead helper's will do */
    if (in == NULL || pid <= 0 || done.st == HG_EIO || done.st == HG_ENOMEM) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hashgate_archives: the inspection helper \"%V\" "
                           "does not run: %s", &hmcf->helper,
                           in == NULL ? err.msg
                           : done.why[0] ? done.why
                           : hg_status_str(done.st));
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_hashgate_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_hashgate_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hashgate_init(ngx_conf_t *cf)
{
    ngx_str_t                       name;
    ngx_uint_t                      i;
    ngx_http_variable_t            *v;
    ngx_http_core_main_conf_t      *cmcf;
    ngx_http_hashgate_main_conf_t  *hmcf;

    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hashgate_module);

    /*
     * off by default: measured here, the thread bought no throughput on a
     * busy host (every core already taken) and costs a few per cent more
     * CPU per byte (the copy into the ring, a wake-up every 256 KiB); it helps
     * where cores are idle while large uploads stream in
     */
    if (hmcf->thread == NGX_CONF_UNSET) {
        hmcf->thread = 0;
    }

    if (hmcf->par_min == NGX_CONF_UNSET_SIZE) {
        hmcf->par_min = 0;
    }

    ngx_str_set(&name, "request_id");
    hmcf->request_id_index = ngx_http_get_variable_index(cf, &name);
    if (hmcf->request_id_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    /* SHA-256 of every body is only worth computing if someone reads it */
    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    v = cmcf->variables.elts;

    for (i = 0; i < cmcf->variables.nelts; i++) {
        if (v[i].name.len == sizeof("hashgate_sha256") - 1
            && ngx_strncmp(v[i].name.data, "hashgate_sha256",
                           sizeof("hashgate_sha256") - 1) == 0)
        {
            hmcf->extra_algs = HG_ALG_BIT(HG_ALG_SHA256);
        }
    }

    hmcf->cache = ngx_palloc(cf->pool,
                       NGX_HTTP_HASHGATE_SCAN_CACHE * sizeof(hg_scan_t *));
    if (hmcf->cache == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_hashgate_metrics_check(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    /* counters in shared memory, where a database or hashgate_metrics is */
    hmcf->metrics_zone = ngx_http_hashgate_metrics_zone(cf, &hmcf->db,
                                                        &hmcf->watch.used);
    if (hmcf->metrics_zone == NULL && hmcf->db) {
        return NGX_ERROR;
    }

    ngx_http_next_request_body_filter = ngx_http_top_request_body_filter;
    ngx_http_top_request_body_filter = ngx_http_hashgate_body_filter;

    return NGX_OK;
}


static void *
ngx_http_hashgate_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_hashgate_main_conf_t  *hmcf;

    hmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hashgate_main_conf_t));
    if (hmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     hmcf->db_path = { 0, NULL };
     *     hmcf->db = NULL;
     *     hmcf->extra_algs = 0;
     *     hmcf->cache = NULL;
     */

    hmcf->request_id_index = NGX_CONF_UNSET;
    hmcf->thread = NGX_CONF_UNSET;
    hmcf->par_min = NGX_CONF_UNSET_SIZE;
    ngx_queue_init(&hmcf->holding);

    return hmcf;
}


static void *
ngx_http_hashgate_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_hashgate_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hashgate_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->lists = NULL;
     *     conf->evlog = NULL;
     *     conf->evlog_set = 0;
     *     conf->policy = NULL;
     */

    conf->enable = NGX_CONF_UNSET;
    conf->monitor = NGX_CONF_UNSET;
    conf->multipart = NGX_CONF_UNSET;
    conf->default_action = NGX_CONF_UNSET_UINT;
    conf->on_error = NGX_CONF_UNSET_UINT;
    conf->reject_status = NGX_CONF_UNSET_UINT;
    conf->hold_status = NGX_CONF_UNSET_UINT;
    conf->hold_path = NGX_CONF_UNSET_PTR;
    conf->max_parts = NGX_CONF_UNSET_UINT;
    conf->max_depth = NGX_CONF_UNSET_UINT;
    conf->max_header_size = NGX_CONF_UNSET_SIZE;
    conf->archives = NGX_CONF_UNSET;
    hg_image_conf_default(&conf->img);
    conf->img_set = 0;
    conf->image_limit = HG_ACT_TEMPFAIL;
    conf->archive_encrypted = NGX_CONF_UNSET_UINT;
    conf->archive_unreadable = NGX_CONF_UNSET_UINT;
    conf->archive_max_depth = NGX_CONF_UNSET_UINT;
    conf->archive_max_files = NGX_CONF_UNSET_UINT;
    conf->archive_max_bytes = NGX_CONF_UNSET;
    conf->archive_max_file_size = NGX_CONF_UNSET;
    conf->archive_max_ratio = NGX_CONF_UNSET_UINT;
    conf->archive_timeout = NGX_CONF_UNSET_MSEC;
    conf->json.enable = NGX_CONF_UNSET;
    conf->json.min_size = NGX_CONF_UNSET;
    conf->json.max_depth = NGX_CONF_UNSET;
    conf->json.max_parts = NGX_CONF_UNSET;
    conf->json.max_decoded = NGX_CONF_UNSET;
    conf->json.max_retained = NGX_CONF_UNSET;
    conf->form = conf->json;

    return conf;
}


static char *
ngx_http_hashgate_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_hashgate_loc_conf_t *prev = parent;
    ngx_http_hashgate_loc_conf_t *conf = child;

    ngx_uint_t                       i;
    hg_policy_t                     *p;
    hg_list_action_t                *la;
    ngx_http_hashgate_main_conf_t   *hmcf;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_value(conf->monitor, prev->monitor, 0);
    ngx_conf_merge_value(conf->multipart, prev->multipart, 1);
    ngx_conf_merge_uint_value(conf->default_action, prev->default_action,
                              HG_ACT_REJECT);
    /* left unset when not given: monitor mode then passes (decide.c) */
    ngx_conf_merge_uint_value(conf->on_error, prev->on_error,
                              NGX_CONF_UNSET_UINT);
    ngx_conf_merge_uint_value(conf->reject_status, prev->reject_status,
                              NGX_HTTP_FORBIDDEN);
    ngx_conf_merge_uint_value(conf->hold_status, prev->hold_status,
                              NGX_HTTP_FORBIDDEN);
    ngx_conf_merge_ptr_value(conf->hold_path, prev->hold_path, NULL);
    ngx_conf_merge_uint_value(conf->max_parts, prev->max_parts, HG_MAX_PARTS);
    ngx_conf_merge_uint_value(conf->max_depth, prev->max_depth,
                              HG_MAX_MIME_DEPTH);
    ngx_conf_merge_size_value(conf->max_header_size, prev->max_header_size,
                              HG_MAX_HEADER_BYTES);

    ngx_conf_merge_value(conf->archives, prev->archives, 1);

    /* each image directive not given here: the enclosing level's value */
    if (!(conf->img_set & (1 << NGX_HTTP_HASHGATE_IMG_IMAGES))) {
        conf->img.images = prev->img.images;
    }
    if (!(conf->img_set & (1 << NGX_HTTP_HASHGATE_IMG_QUALITY))) {
        conf->img.min_quality = prev->img.min_quality;
    }
    if (!(conf->img_set & (1 << NGX_HTTP_HASHGATE_IMG_DIHEDRAL))) {
        conf->img.dihedral = prev->img.dihedral;
    }
    if (!(conf->img_set & (1 << NGX_HTTP_HASHGATE_IMG_PIXELS))) {
        conf->img.limits.max_pixels = prev->img.limits.max_pixels;
    }
    if (!(conf->img_set & (1 << NGX_HTTP_HASHGATE_IMG_BYTES))) {
        conf->img.limits.max_bytes = prev->img.limits.max_bytes;
    }
    if (!(conf->img_set & (1 << NGX_HTTP_HASHGATE_IMG_TIMEOUT))) {
        conf->img.limits.timeout_ms = prev->img.limits.timeout_ms;
    }
    if (!(conf->img_set & (1 << NGX_HTTP_HASHGATE_IMG_LIMIT))) {
        conf->image_limit = prev->image_limit;
    }
    ngx_conf_merge_uint_value(conf->archive_encrypted, prev->archive_encrypted,
                              HG_ACT_NONE);
    ngx_conf_merge_uint_value(conf->archive_unreadable,
                              prev->archive_unreadable, HG_ACT_NONE);
    ngx_conf_merge_uint_value(conf->archive_max_depth, prev->archive_max_depth,
                              HG_INSPECT_MAX_DEPTH);
    ngx_conf_merge_uint_value(conf->archive_max_files, prev->archive_max_files,
                              HG_INSPECT_MAX_FILES);
    ngx_conf_merge_off_value(conf->archive_max_bytes, prev->archive_max_bytes,
                             (off_t) HG_INSPECT_MAX_BYTES);
    ngx_conf_merge_off_value(conf->archive_max_file_size,
                             prev->archive_max_file_size,
                             (off_t) HG_INSPECT_MAX_FILE_BYTES);
    ngx_conf_merge_uint_value(conf->archive_max_ratio, prev->archive_max_ratio,
                              HG_INSPECT_MAX_RATIO);
    ngx_conf_merge_msec_value(conf->archive_timeout, prev->archive_timeout,
                              HG_INSPECT_TIMEOUT_MS);

    ngx_http_hashgate_apibody_merge(&conf->json, &prev->json);
    ngx_http_hashgate_apibody_merge(&conf->form, &prev->form);

    if (!conf->evlog_set) {
        conf->evlog = prev->evlog;
        conf->evlog_set = prev->evlog_set;
    }

    if (conf->archive_max_bytes <= 0 || conf->archive_max_file_size <= 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hashgate_archive_max_bytes and "
                           "hashgate_archive_max_file_size must be more "
                           "than 0");
        return NGX_CONF_ERROR;
    }

    if (conf->archive_timeout == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hashgate_archive_timeout must be more than 0");
        return NGX_CONF_ERROR;
    }

    if (conf->lists == NULL) {
        conf->lists = prev->lists;
    }

    if (conf->max_header_size < 64) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hashgate_max_header_size must be at least 64");
        return NGX_CONF_ERROR;
    }

    p = ngx_palloc(cf->pool, sizeof(hg_policy_t));
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    if (conf->lists) {
        ngx_memcpy(p, &conf->lists->policy, sizeof(hg_policy_t));

    } else {
        hg_policy_init(p);
    }

    p->default_action = conf->default_action;
    p->monitor = conf->monitor;
    p->archive_encrypted = conf->archive_encrypted;
    p->archive_unreadable = conf->archive_unreadable;
    p->image_limit = conf->image_limit;

    if (conf->on_error != NGX_CONF_UNSET_UINT) {
        p->on_fail = conf->on_error;
        p->on_fail_set = 1;
    }

    hg_policy_finish(p);

    conf->may_hold = (conf->default_action == HG_ACT_HOLD)
                     || (conf->archives
                         && (conf->archive_encrypted == HG_ACT_HOLD
                             || conf->archive_unreadable == HG_ACT_HOLD
                             || conf->image_limit == HG_ACT_HOLD));

    for (i = 0; i < p->nlists; i++) {
        if (p->lists[i].action == HG_ACT_HOLD) {
            conf->may_hold = 1;
        }
    }

    if (conf->monitor) {
        conf->may_hold = 0;
    }

    conf->policy = p;

    if (!conf->enable) {
        return NGX_CONF_OK;
    }

    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hashgate_module);

    if (hmcf->db == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hashgate on\" needs \"hashgate_database\" "
                           "at http level");
        return NGX_CONF_ERROR;
    }

    /* a list may be added to the database later: a warning, once */
    if (conf->lists) {
        la = conf->lists->policy.lists;

        for (i = 0; i < conf->lists->policy.nlists; i++) {
            if (conf->lists->checked[i]) {
                continue;
            }

            conf->lists->checked[i] = 1;

            if (hg_db_find_list(hmcf->db, la[i].name) < 0) {
                ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                              "hashgate_list_action: no list \"%s\" in "
                              "\"%s\" in %s:%ul", la[i].name,
                              hmcf->db_path.data, la[i].file, la[i].line);
            }
        }
    }

    if (conf->may_hold && conf->hold_path == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the \"hold\" action needs \"hashgate_hold_path\"");
        return NGX_CONF_ERROR;
    }

    if (conf->archives) {
        hmcf->archives = 1;
        return ngx_http_hashgate_helper_check(cf, hmcf);
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_hashgate_init_process(ngx_cycle_t *cycle)
{
    char                           *p;
    hg_err_t                        err;
    ngx_http_hashgate_main_conf_t  *hmcf;

    hmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_hashgate_module);

    ngx_http_hashgate_metrics_process(hmcf ? hmcf->metrics_zone : NULL);

    if (hmcf == NULL || hmcf->db == NULL) {
        return NGX_OK;
    }

    err.msg[0] = '\0';

    /* only names the true type in evidence records: not worth failing for */
    hmcf->magic = hg_magic_new(&err);
    if (hmcf->magic == NULL) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "hashgate: no detected types in records: %s", err.msg);
    }

    /* a worker respawned after a crash checks the file at once */
    hmcf->checked = 0;

    /*
     * requests check the file too, but a worker that serves none would keep
     * an old database for good (and, if the file is later spoiled, disagree
     * with the others): a timer bounds that to about a second; cancelable,
     * so it never holds up a graceful shutdown
     */
    hmcf->refresh.handler = ngx_http_hashgate_refresh_handler;
    hmcf->refresh.data = hmcf;
    hmcf->refresh.log = cycle->log;
    hmcf->refresh.cancelable = 1;
    ngx_add_timer(&hmcf->refresh, NGX_HTTP_HASHGATE_REFRESH_MS);

    if (hmcf->par_min) {
        hmcf->par = hg_hash_par_new(hmcf->par_min, 1, &err);

        if (hmcf->par == NULL) {
            ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                          "hashgate: %s, computing digests one after the "
                          "other", err.msg);
        }
    }

    if (hmcf->thread) {
        hmcf->thread_magic = hg_magic_new(&err);
        hmcf->hasher = ngx_http_hashgate_hasher_create(cycle,
                                                       hmcf->thread_magic);
    }

    if (hmcf->archives) {
        p = getenv("HASHGATE_INSPECT_TEST");
        hmcf->inspect_test = (p && ngx_strcmp(p, "1") == 0);

        /* the helper itself is started on first use */
        hmcf->inspect = ngx_http_hashgate_inspect_create(cycle,
                                                (char *) hmcf->helper.data);
    }

    return NGX_OK;
}


static void
ngx_http_hashgate_refresh_handler(ngx_event_t *ev)
{
    ngx_http_hashgate_main_conf_t  *hmcf = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    /* a request's look earlier in this second must not delay this one */
    hmcf->checked = 0;

    ngx_http_hashgate_db_refresh(hmcf, ev->log);
    ngx_add_timer(ev, hmcf->verify.running ? NGX_HTTP_HASHGATE_VERIFY_POLL_MS
                                           : NGX_HTTP_HASHGATE_REFRESH_MS);
}


static void
ngx_http_hashgate_exit_process(ngx_cycle_t *cycle)
{
    ngx_queue_t                    *q;
    ngx_http_hashgate_ctx_t        *ctx;
    ngx_http_hashgate_main_conf_t  *hmcf;

    hmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_hashgate_module);

    if (hmcf == NULL) {
        return;
    }

    /*
     * a fast shutdown (SIGTERM) exits with requests still open and runs no
     * request cleanup: a copy of an upload never judged must not stay
     */
    for (q = ngx_queue_head(&hmcf->holding);
         q != ngx_queue_sentinel(&hmcf->holding);
         q = ngx_queue_next(q))
    {
        ctx = ngx_queue_data(q, ngx_http_hashgate_ctx_t, queue);

        if (ctx->hold_tmp) {
            ngx_delete_file(ctx->hold_tmp);
        }
    }

    ngx_http_hashgate_hasher_destroy(hmcf->hasher);
    hmcf->hasher = NULL;

    /* after the hashing thread, the last that could be using it */
    hg_hash_par_free(hmcf->par);
    hmcf->par = NULL;

    ngx_http_hashgate_inspect_destroy(hmcf->inspect);
    hmcf->inspect = NULL;

    ngx_http_hashgate_verify_wait(&hmcf->verify);

    hg_magic_free(hmcf->thread_magic);
    hmcf->thread_magic = NULL;

    hg_magic_free(hmcf->magic);
    hmcf->magic = NULL;
}
