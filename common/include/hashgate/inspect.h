/*
 * inspect.h - look inside containers (archives, files compressed whole,
 * TNEF) without parsing them beside mail or requests.
 *
 * The flow (docs/archives.md):
 *
 *   caller (milter thread, nginx worker, CLI)        hashgate-inspect
 *     part bytes -> hg_spool (sniffs the leading     (seccomp, rlimits)
 *     bytes; a container is copied to a memfd)  --fd-->  hg_inspect_walk:
 *     entries <-- hg_inspect_run / _poll <------------  each inner file
 *     hg_scan_match -> decide -> record                 hashed, nested
 *                                                      containers opened
 *
 * The helper only computes: every inner file comes back as an entry (its
 * path, name, size, digests, flags) and the caller matches, decides and
 * records it like any other part. The walk itself (hg_inspect_walk) is also
 * linked into the fuzz target; nothing but the helper calls it on real input.
 *
 * Part paths: an inner file's part path is its part's path followed, for
 * each container level, by '!' and the path inside that container:
 * "2!photos/a.jpg", "2!inner.tar!sub/b.jpg". A '!' or '%' inside a name is
 * written %21 / %25, so the form is unambiguous.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_INSPECT_H
#define HASHGATE_INSPECT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hashgate/hash.h"
#include "hashgate/image.h"
#include "hashgate/status.h"

/* Defaults; each is a config key in every wrapper. */
#define HG_INSPECT_MAX_DEPTH        8               /* containers in containers */
#define HG_INSPECT_MAX_FILES        10000           /* per message or request */
#define HG_INSPECT_MAX_BYTES        (400ull << 20)  /* expanded, per message/request */
#define HG_INSPECT_MAX_FILE_BYTES   (100ull << 20)  /* one inner file; one container sent */
#define HG_INSPECT_MAX_RATIO        250             /* expanded : container bytes */
#define HG_INSPECT_RATIO_GRACE      (10ull << 20)   /* the ratio applies past this */
#define HG_INSPECT_TIMEOUT_MS       30000           /* one container part, wall clock */
#define HG_INSPECT_MEMORY           (1024ull << 20) /* the helper's address space */

/* Longest inner path kept (bytes); longer ones are cut and flagged. */
#define HG_INSPECT_PATH_MAX         1024

/*
 * Limits for one container part. The caller gives, for max_files and
 * max_bytes, what is left of the message's or request's budget after the
 * parts before it.
 */
typedef struct {
    unsigned        max_depth;
    uint64_t        max_files;
    uint64_t        max_bytes;
    uint64_t        max_file_bytes;
    unsigned        max_ratio;          /* 0: no ratio limit */
    unsigned        timeout_ms;
    unsigned        images;             /* HG_INSPECT_IMAGES, _DIHEDRAL; 0:
                                         * images are not decoded */
    hg_image_limits_t image;            /* for each image decoded */
} hg_inspect_limits_t;

/*
 * Images (issue 17, docs/images.md): with HG_INSPECT_IMAGES a part whose
 * leading bytes say JPEG, PNG, GIF or WebP (hg_image_sniff) is sent to the
 * helper too, and the helper decodes and PDQ-hashes it, and every such
 * file it finds inside a container, under the image limits. The result
 * comes back as an hg_inspect_image_t: in the entry of an inner file, in
 * done for the part itself. HG_INSPECT_DIHEDRAL: with the 8 dihedral
 * hashes (else only the hash itself is sent).
 */
#define HG_INSPECT_IMAGES       0x01
#define HG_INSPECT_DIHEDRAL     0x02

typedef struct {
    hg_image_format_t format;   /* HG_IMAGE_NONE: not an image */
    hg_status_t     st;         /* HG_OK: hashed; HG_EFORMAT: it did not
                                 * decode (why says what the library said);
                                 * HG_ELIMIT: an image limit (why names it) */
    uint32_t        width, height;  /* as declared (0 when unknown) */
    int             dihedral;   /* pdq.dihedral holds the 8 (else only
                                 * pdq.dihedral[HG_PDQ_ORIGINAL]) */
    hg_pdq_result_t pdq;        /* st HG_OK: the hash and quality */
    char            why[160];
} hg_inspect_image_t;

void hg_inspect_limits_default(hg_inspect_limits_t *l);

/* Which limit stopped an inspection. */
typedef enum {
    HG_INSPECT_LIMIT_NONE = 0,
    HG_INSPECT_LIMIT_DEPTH,
    HG_INSPECT_LIMIT_FILES,
    HG_INSPECT_LIMIT_BYTES,
    HG_INSPECT_LIMIT_FILE_BYTES,
    HG_INSPECT_LIMIT_RATIO,
    HG_INSPECT_LIMIT_TIME,
    HG_INSPECT_LIMIT_MEMORY
} hg_inspect_limit_t;

/* "depth", "files", "bytes", "file size", "ratio", "time", "memory" */
const char *hg_inspect_limit_name(hg_inspect_limit_t l);

/* ---- what the leading bytes say (caller side, no parsing) ---- */

/* Enough for every signature we know: iso9660's "CD001" is at 32769. */
#define HG_INSPECT_SNIFF_BYTES      32774

typedef enum {
    HG_SNIFF_NO = 0,        /* not a container we open */
    HG_SNIFF_YES,           /* a container; *format names it */
    HG_SNIFF_MORE           /* cannot tell yet: give more bytes (or complete) */
} hg_sniff_t;

/*
 * Look at an object's first len bytes (complete: they are all of it).
 * *format (may be NULL) gets a constant name: "zip", "7z", "rar", "tar",
 * "gzip", "bzip2", "xz", "zstd", "lz4", "cpio", "iso9660", "cab", "ar",
 * "tnef", ...
 */
hg_sniff_t hg_inspect_sniff(const unsigned char *head, size_t len,
                            int complete, const char **format);

/* ---- entries: one per file found inside ---- */

#define HG_INSPECT_F_ENCRYPTED   0x01   /* encrypted: not read, digests none */
#define HG_INSPECT_F_CONTAINER   0x02   /* itself opened: its files follow */
#define HG_INSPECT_F_UNREADABLE  0x04   /* data could not be read (method
                                         * unsupported, damaged): no digests */
#define HG_INSPECT_F_HIDDEN      0x08   /* zip: in a local header only, not in
                                         * the central directory */
#define HG_INSPECT_F_PATH_CUT    0x10   /* path longer than HG_INSPECT_PATH_MAX */

typedef struct {
    unsigned        depth;      /* 1: in the part; 2: in a container at 1 */
    const char     *path;       /* inside its container, UTF-8 (cleaned) */
    const char     *chain;      /* the part path's suffix: "!a.tar!b/c.jpg" */
    const char     *name;       /* last component of path */
    const char     *format;     /* its container's format: "zip", "tar", ... */
    uint64_t        size;       /* bytes read (or declared, when not read) */
    unsigned        flags;      /* HG_INSPECT_F_* */
    hg_digests_t    digests;    /* the algs asked for; algs 0 when not read */
    const hg_inspect_image_t *image;    /* an image (images asked for), its
                                         * PDQ hash or why not; else NULL */
} hg_inspect_entry_t;

/* How an inspection ended. */
typedef struct {
    hg_status_t         st;     /* HG_OK; HG_ELIMIT (limit says which);
                                 * HG_EFORMAT: a container is damaged (the
                                 * entries before it stand); HG_EIO: the
                                 * helper died, hung or broke the protocol */
    hg_inspect_limit_t  limit;
    uint64_t            files;  /* entries reported */
    uint64_t            bytes;  /* bytes expanded */
    char                why[256];   /* one line for the log and the record */
    hg_inspect_image_t  image;  /* the part itself when it is an image
                                 * (image.format set): then no entries */
} hg_inspect_done_t;

/* Called per entry, in archive order, a container before its files.
 * Strings are valid until it returns. Anything but HG_OK stops. */
typedef hg_status_t (*hg_inspect_entry_pt)(void *ctx,
                                           const hg_inspect_entry_t *e);

/*
 * Prepare the process to walk under a sandbox that forbids open(): the
 * time zone is loaded, LC_CTYPE becomes C.UTF-8 (libarchive then converts
 * archive names without iconv's module files) and OpenSSL's digests are
 * fetched. The helper calls it once before its seccomp filter; HG_EINVAL
 * when the C.UTF-8 locale is missing, HG_ECRYPTO when OpenSSL fails.
 */
hg_status_t hg_inspect_walk_init(void);

/*
 * Open the container in buf (format by its bytes) and report every regular
 * file inside, nested containers opened in turn, each hashed with algs.
 * Runs in the helper (and the fuzz target) only: this is where libarchive
 * parses hostile input. Returns done->st.
 */
hg_status_t hg_inspect_walk(const void *buf, size_t len, unsigned algs,
                            const hg_inspect_limits_t *lim,
                            hg_inspect_entry_pt cb, void *ctx,
                            hg_inspect_done_t *done);

/* ---- the spool: a part's bytes on their way to the helper ---- */

typedef struct hg_spool_s hg_spool_t;

hg_spool_t *hg_spool_new(void);
void hg_spool_free(hg_spool_t *sp);

/* A new object; at most max_bytes of a container are kept (more: limit). */
void hg_spool_begin(hg_spool_t *sp, uint64_t max_bytes);

/* Its next bytes: sniffed, then copied into a memfd if a container. */
hg_status_t hg_spool_feed(hg_spool_t *sp, const void *buf, size_t len,
                          hg_err_t *err);

/*
 * End of the object. Returns 1 with *fd (owned by the spool, valid until
 * the next begin), *size and *format when it is a container to inspect;
 * 0 when it is not; -1 when it is one but could not be kept (*st:
 * HG_ELIMIT past max_bytes; HG_EFORMAT an iso9660 image whose first
 * bytes said text or a JPEG, PNG, ..., so were not held; HG_EIO /
 * HG_ENOMEM), err saying why.
 */
int hg_spool_end(hg_spool_t *sp, int *fd, uint64_t *size,
                 const char **format, hg_status_t *st, hg_err_t *err);

/*
 * Images from the next hg_spool_begin on: an object whose first bytes say
 * JPEG, PNG, GIF or WebP is kept like a container (for the helper to
 * decode), up to max_bytes (more: HG_ELIMIT at hg_spool_end); 0: images
 * are not kept. The setting stays until changed.
 */
void hg_spool_images(hg_spool_t *sp, uint64_t max_bytes);

/* The current object's image format (HG_IMAGE_NONE: not an image kept). */
hg_image_format_t hg_spool_image(const hg_spool_t *sp);

/* Bytes of the current object copied so far (its head; a container's
 * bytes): what it cost beyond its hashing, for tests and benches. */
uint64_t hg_spool_copied(const hg_spool_t *sp);

/* ---- the helper, from the caller's side ---- */

typedef struct hg_inspector_s hg_inspector_t;

/*
 * One helper process (started on first use, restarted after it dies).
 * helper_path NULL: hashgate-inspect beside the running program when that
 * exists (a build tree), else HG_INSPECT_HELPER_PATH (where `make install`
 * puts it), else ../libexec/hashgate/hashgate-inspect from the program.
 * NULL with err when the helper is not there (a config check can say so).
 */
hg_inspector_t *hg_inspector_new(const char *helper_path, hg_err_t *err);

/* Stops the helper (SIGKILL, reaped) and frees; accepts NULL. */
void hg_inspector_free(hg_inspector_t *in);

pid_t hg_inspector_pid(const hg_inspector_t *in);       /* 0: not running */
uint64_t hg_inspector_restarts(const hg_inspector_t *in);

/*
 * Blocking (milter thread, CLI): send the container in fd (size bytes),
 * hand each entry to cb, wait at most lim->timeout_ms. A helper that dies,
 * hangs or answers nonsense is killed (restarted on next use) and
 * done->st is HG_EIO with the cause in done->why.
 */
hg_status_t hg_inspect_run(hg_inspector_t *in, int fd, uint64_t size,
                           unsigned algs, const hg_inspect_limits_t *lim,
                           hg_inspect_entry_pt cb, void *ctx,
                           hg_inspect_done_t *done);

/*
 * Non-blocking (nginx worker): hg_inspect_send starts one inspection;
 * watch hg_inspector_socket for reading and call hg_inspect_poll on each
 * event: it hands over what has arrived and returns 1 when done is filled,
 * 0 when more is to come. hg_inspect_deadline gives the absolute monotonic
 * time (ms) after which the caller calls hg_inspect_cancel (done: time).
 */
hg_status_t hg_inspect_send(hg_inspector_t *in, int fd, uint64_t size,
                            unsigned algs, const hg_inspect_limits_t *lim,
                            hg_err_t *err);
int hg_inspector_socket(const hg_inspector_t *in);
int hg_inspect_poll(hg_inspector_t *in, hg_inspect_entry_pt cb, void *ctx,
                    hg_inspect_done_t *done);
uint64_t hg_inspect_deadline(const hg_inspector_t *in);
void hg_inspect_cancel(hg_inspector_t *in, hg_inspect_done_t *done);

#endif
