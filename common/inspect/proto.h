/*
 * proto.h - the messages between the caller (client.c) and the inspection
 * helper (hashgate-inspect, inspect/main.c).
 *
 * Both ends hold one SOCK_SEQPACKET socketpair: every message is one
 * datagram, so it arrives whole or not at all, and its length is known.
 * A message is a fixed little struct, native byte order and layout (both
 * ends come from the same build; the version and the exact struct sizes
 * catch a helper left over from another one), sometimes followed by
 * strings:
 *
 *   caller -> helper   REQUEST (type INSPECT, or a test hook), the
 *                      container's descriptor beside it (SCM_RIGHTS)
 *   helper -> caller   ENTRY per inner file: depth, flags, size, digests,
 *                      then path, chain, name, format, each NUL-terminated,
 *                      then, for an image, its IMAGE block
 *                      DONE once: status, limit, files, bytes, why, then,
 *                      when the part itself is an image, its IMAGE block
 *
 * Version 2 (issue 17) added images: the request's images flags and image
 * limits, the IMAGE block (format, status, sizes, quality, why, then the
 * PDQ hash, or the 8 dihedral hashes when the request asked for them)
 * after an entry's strings and after DONE, its length in img_len (0: no
 * image). A helper of version 1 left running under a caller of version 2
 * says so and exits (main.c), and the other way round.
 *
 * Each side checks what the other sent before using any of it. The helper
 * parses hostile archives, so the caller treats it as hostile too:
 * hg_proto_reply_check bounds every length, requires NUL-terminated
 * strings with no NUL inside, keeps depth, flags, digests, counts and
 * statuses in range, and demands that entries form a tree (a deeper entry
 * only right after a container). Anything else is "the helper broke the
 * protocol": the caller kills it.
 *
 * Test hooks (HG_PROTO_TEST_*) are request types the helper honours only
 * when it was started with HASHGATE_INSPECT_TEST=1 in its environment
 * (client.c passes that on only when the caller's own environment has it);
 * otherwise it answers DONE with HG_EINVAL. They prove the sandbox and the
 * caller's handling of a dying, hanging or lying helper (docs/security.md).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HG_INSPECT_PROTO_H
#define HG_INSPECT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "hashgate/inspect.h"

#define HG_PROTO_MAGIC      0x31494748u     /* "HGI1" read little-endian */
#define HG_PROTO_VERSION    2

/*
 * Largest message either way. Well under the socket's default send buffer
 * (net.core.wmem_default, 208 KiB), so a whole message always fits; an
 * entry needs at most a few KiB per container level.
 */
#define HG_PROTO_MSG_MAX    65536

/* Longest format name: the walk's HG_WALK_FORMAT_MAX less its NUL
 * ("cpio.lzma.xz.gz"). */
#define HG_PROTO_FORMAT_MAX 31

/* Message types. */
enum {
    HG_PROTO_INSPECT = 1,       /* request: open the container in the fd */
    HG_PROTO_ENTRY = 2,         /* reply: one inner file */
    HG_PROTO_DONE = 3,          /* reply: the last one */

    /* test hooks, HASHGATE_INSPECT_TEST=1 only */
    HG_PROTO_TEST_SYSCALL = 16, /* arg HG_PROTO_SYS_*: try it, say errno */
    HG_PROTO_TEST_CRASH = 17,   /* SIGSEGV */
    HG_PROTO_TEST_HANG = 18,    /* spin forever, answering nothing */
    HG_PROTO_TEST_STALL = 19,   /* one entry, then spin forever */
    HG_PROTO_TEST_ECHO = 20,    /* send back the messages in the payload;
                                 * arg 1: with the request's seq put in */
    HG_PROTO_TEST_CLOSE = 21    /* close the socket, then spin forever */
};

/* What HG_PROTO_TEST_SYSCALL tries. */
enum {
    HG_PROTO_SYS_OPEN = 1,      /* open("/etc/passwd"): EACCES */
    HG_PROTO_SYS_OPENAT = 2,    /* openat(AT_FDCWD, "/etc/passwd"): EACCES */
    HG_PROTO_SYS_EXECVE = 3,    /* execve("/bin/true"): killed */
    HG_PROTO_SYS_SOCKET = 4,    /* socket(AF_INET): killed */
    HG_PROTO_SYS_FORK = 5,      /* fork(): killed */
    HG_PROTO_SYS_WRITE_FD = 6,  /* write() to the container's fd: killed */
    HG_PROTO_SYS_MPROTECT_EXEC = 7 /* make a page executable: killed */
};

/* DONE flags. */
#define HG_PROTO_DONE_RETIRE    0x01    /* the helper has used its CPU
                                         * allowance: kill it, start anew */

typedef struct {
    uint32_t        magic;
    uint16_t        version;
    uint16_t        type;
    uint32_t        seq;        /* the request's; replies repeat it */
    uint32_t        len;        /* the whole message, header included */
} hg_proto_hdr_t;

typedef struct {
    hg_proto_hdr_t  h;
    uint32_t        algs;
    uint32_t        max_depth;
    uint64_t        max_files;
    uint64_t        max_bytes;
    uint64_t        max_file_bytes;
    uint32_t        max_ratio;
    uint32_t        timeout_ms;
    uint64_t        deadline_ms;    /* CLOCK_MONOTONIC, ms, shared with the
                                     * caller: the walk stops by then; 0:
                                     * timeout_ms from arrival */
    uint64_t        size;       /* bytes of the container in the fd */
    uint32_t        arg;        /* test hooks: which variant */
    uint32_t        reserved;   /* 0 */
    /* version 2: images */
    uint32_t        images;     /* HG_INSPECT_IMAGES, HG_INSPECT_DIHEDRAL */
    uint32_t        img_timeout_ms;
    uint64_t        img_max_pixels;
    uint64_t        img_max_bytes;
    uint32_t        img_jpeg_min_side;
    uint32_t        reserved2;  /* 0 */
} hg_proto_req_t;               /* then, for TEST_ECHO, the payload */

typedef struct {
    hg_proto_hdr_t  h;
    uint32_t        depth;
    uint32_t        flags;
    uint64_t        size;
    uint32_t        dalgs;      /* digests.algs */
    uint32_t        path_len;   /* string lengths, NUL not counted */
    uint32_t        chain_len;
    uint32_t        name_len;
    uint32_t        format_len;
    uint32_t        img_len;    /* the IMAGE block's bytes; 0: none */
    uint64_t        dsize;      /* digests.size */
    unsigned char   d[HG_ALG_COUNT][HG_DIGEST_MAX];
} hg_proto_entry_t;             /* then path, chain, name, format + NULs,
                                 * then the IMAGE block */

/* An image's result (version 2), unaligned after what it follows. */
typedef struct {
    uint32_t        format;     /* hg_image_format_t, never NONE */
    uint32_t        st;         /* HG_OK, HG_EFORMAT, HG_ELIMIT */
    uint32_t        width;
    uint32_t        height;
    int32_t         quality;    /* 0-100; 0 unless HG_OK */
    uint32_t        nhashes;    /* 0 unless HG_OK; else 1, or 8 when the
                                 * dihedral hashes were asked for */
    char            why[160];   /* NUL-terminated */
} hg_proto_image_t;             /* then nhashes x HG_PDQ_BYTES: the hash,
                                 * or the 8 in hg_pdq_dihedral_t order */

/* The largest IMAGE block. */
#define HG_PROTO_IMAGE_MAX  (sizeof(hg_proto_image_t) \
                             + HG_PDQ_DIHEDRAL_COUNT * HG_PDQ_BYTES)

typedef struct {
    hg_proto_hdr_t  h;
    uint32_t        st;         /* hg_status_t */
    uint32_t        limit;      /* hg_inspect_limit_t */
    uint64_t        files;      /* entries sent for this request */
    uint64_t        bytes;
    uint32_t        flags;      /* HG_PROTO_DONE_* */
    uint32_t        img_len;    /* the IMAGE block's bytes; 0: none */
    char            why[256];   /* NUL-terminated */
} hg_proto_done_t;              /* then the part's IMAGE block */

/*
 * What the caller expects of the replies to one request; hg_proto_expect
 * starts it, hg_proto_reply_check follows the entries.
 */
typedef struct {
    uint32_t        seq;
    unsigned        algs;
    unsigned        images;         /* HG_INSPECT_IMAGES, _DIHEDRAL */
    unsigned        max_depth;
    uint64_t        max_entries;
    uint64_t        entries;        /* seen so far */
    unsigned        last_depth;     /* 0 before the first entry */
    unsigned        last_flags;
    unsigned        done_flags;     /* HG_PROTO_DONE_*, once done */
    hg_inspect_image_t image;       /* the last entry's image (e->image
                                     * points here) */
} hg_proto_expect_t;

/* ---- caller side ---- */

/* Fill a request of type for the container of size bytes. */
void hg_proto_req_init(hg_proto_req_t *r, unsigned type, uint32_t seq,
                       unsigned algs, const hg_inspect_limits_t *lim,
                       uint64_t size);

/* Start checking the replies to request r. */
void hg_proto_expect(hg_proto_expect_t *x, const hg_proto_req_t *r);

/*
 * Check one reply (msg, len bytes, as received) against x. Returns
 * HG_PROTO_ENTRY with *e filled (its strings point into msg), HG_PROTO_DONE
 * with *d filled (why made printable), or -1 with why (whylen bytes) saying
 * what was wrong. x advances past each entry.
 */
int hg_proto_reply_check(hg_proto_expect_t *x, const void *msg, size_t len,
                         hg_inspect_entry_t *e, hg_inspect_done_t *d,
                         char *why, size_t whylen);

/* ---- helper side ---- */

/*
 * Check a request (msg, len bytes) into *r; *payload / *plen get what
 * follows the struct (TEST_ECHO). Returns 0, or -1 with why. A version
 * other than ours is -2: the reply format may not be the caller's either.
 */
int hg_proto_req_check(const void *msg, size_t len, hg_proto_req_t *r,
                       const unsigned char **payload, size_t *plen,
                       char *why, size_t whylen);

/*
 * Write entry e of request seq into buf (cap bytes). Returns its length,
 * 0 when it does not fit (a chain too long for one message).
 */
size_t hg_proto_entry_encode(void *buf, size_t cap, uint32_t seq,
                             const hg_inspect_entry_t *e);

/*
 * Write the DONE message for d (its image block when d->image.format is
 * set) into buf (at least sizeof(hg_proto_done_t) + HG_PROTO_IMAGE_MAX
 * bytes); returns its length.
 */
size_t hg_proto_done_encode(void *buf, uint32_t seq,
                            const hg_inspect_done_t *d, unsigned flags);

/* ---- test entry points (tests/unit only) ---- */

/*
 * hg_inspect_run and hg_inspect_send with another request type (a test
 * hook), its arg and a payload; fd may be -1 (no descriptor sent).
 */
hg_status_t hg_inspect_send_type(hg_inspector_t *in, unsigned type,
                                 uint32_t arg, const void *payload,
                                 size_t plen, int fd, uint64_t size,
                                 unsigned algs,
                                 const hg_inspect_limits_t *lim,
                                 hg_err_t *err);

hg_status_t hg_inspect_run_type(hg_inspector_t *in, unsigned type,
                                uint32_t arg, const void *payload,
                                size_t plen, int fd, uint64_t size,
                                unsigned algs,
                                const hg_inspect_limits_t *lim,
                                hg_inspect_entry_pt cb, void *ctx,
                                hg_inspect_done_t *done);

#endif
