/*
 * unpack_int.h - the MIME parser's state, shared by its three files.
 *
 * Internal to common/mime/: unpack.c (structure, boundaries, input, the
 * API), unpack_leaf.c (a leaf's transfer decoding, the uuencoded blocks
 * inside text) and unpack_copy.c (a leaf's other readings, "P.d1" to
 * "P.d3"). Each function here has its contract where it is defined;
 * docs/mime.md argues the choices the parser makes.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_UNPACK_INT_H
#define HASHGATE_UNPACK_INT_H

#include <stddef.h>
#include <stdint.h>

#include "hashgate/unpack.h"
#include "mime/decode.h"
#include "mime/mime_header.h"

/*
 * Input is decoded, and handed to callbacks, in slices of at most this:
 * small enough to be still in cache when the callback hashes them.
 */
#define UNPACK_OUT_MAX      (32 * 1024)
/*
 * Blanks held after the longest boundary (a shorter one leaves room for
 * more); a delimiter padded past the candidate gives HG_ELIMIT.
 */
#define UNPACK_BOUNDARY_WS  64
/* A candidate boundary line: "--" boundary "--" blanks CRLF. */
#define UNPACK_CAND_MAX     (2 + HG_MIME_BOUNDARY_HARD + 2 + UNPACK_BOUNDARY_WS + 2)
/*
 * Blanks (and CRs) held at the end of a line of a quoted-printable form
 * part, to delete them if the line ends there. Go's quoted-printable
 * reader fails on a line longer than its 4096-byte buffer, so a longer run
 * is passed on rather than held.
 */
#define UNPACK_QP_WS_MAX    4096
/*
 * One path component: "." and a 32-bit number, or ".u" or ".d" and one
 * (".u4294967295" is 12 characters).
 */
#define UNPACK_COMPONENT    13

enum { ST_HEADERS = 0, ST_BODY };
enum { SINK_DISCARD = 0, SINK_LEAF };
enum { BS_LINESTART = 0, BS_MID, BS_MID_CR };
enum { DEC_NONE = 0, DEC_B64, DEC_QP, DEC_UU };

typedef struct {
    char        boundary[HG_MIME_BOUNDARY_HARD + 1];
    size_t      blen;
    size_t      base_len;       /* its children's path prefix in u->path */
    unsigned    nchildren;
    unsigned    depth;          /* of its children */
    int         digest;         /* multipart/digest: children default to message/rfc822 */
    int         closed;         /* close delimiter seen: in the epilogue */
    int         text;           /* its preamble had a byte other than blanks */
} _frame_t;

/* What a copy does to a quoted-printable part's line ends. */
enum { COPY_EOL_ASIS = 0, COPY_EOL_LF, COPY_EOL_CRLF };

/*
 * One reading of the open leaf besides its own ("P.d1", "P.d2", "P.d3"),
 * fed the leaf's raw bytes: a form part's transfer encoding decoded, or a
 * mail part's quoted-printable read another way (see _copy_raw).
 */
typedef struct {
    const hg_unpack_cb_t *cb;       /* NULL: this copy is never made */
    void               *ctx;
    int                 on;         /* made for the open leaf */
    int                 dec;        /* DEC_B64 or DEC_QP */
    int                 strip;      /* QP: the blanks ending a line go */
    int                 eol;        /* QP: COPY_EOL_* */
    hg_b64_t            b64;
    hg_qp_t             qp;
    unsigned char       ws[UNPACK_QP_WS_MAX]; /* QP: blanks held */
    size_t              ws_len;
    unsigned char       last;       /* last byte staged: '=' before a
                                     * line end makes it a soft break */
    int                 dropped;    /* a blank deleted */
    int                 converted;  /* a hard line end converted */
    uint64_t            in;         /* bytes given to the decoder */
    char               *path;
    hg_part_info_t      info;
    hg_part_stats_t     stats;
} _copy_t;

#define UNPACK_COPIES       3

struct hg_unpack_s {
    hg_unpack_mode_t    mode;
    hg_unpack_limits_t  lim;
    hg_unpack_cb_t      cb;
    void               *ctx;
    hg_unpack_cb_t      ecb;        /* embedded (uuencoded) parts */
    void               *ectx;
    int                 has_ecb;
    hg_unpack_cb_t      ccb;        /* decoded copies ("P.d1") */
    hg_unpack_cb_t      lcb;        /* line-end copies ("P.d2", "P.d3") */

    hg_status_t         st;         /* sticky */
    char                msg[HG_ERR_MAX];
    int                 finished;
    uint64_t            total_in;
    unsigned            nparts;

    _frame_t           *frames;
    unsigned            nframes;
    size_t              frames_cap;

    /* the entity being read */
    int                 state;
    char               *path;
    size_t              path_len, path_cap;
    size_t              prefix_len; /* a message root: its parts' prefix */
    int                 msg_root;
    unsigned            depth;
    int                 in_digest;

    /* its header block */
    char               *hdr;
    size_t              hdr_len, hdr_cap, line_start;

    /* body scanning */
    int                 sink;
    int                 bs;
    unsigned char       prev_byte;  /* last body byte a base64 run consumed */
    unsigned char       pend[2];
    size_t              pend_len;
    unsigned char       cand[UNPACK_CAND_MAX];
    size_t              cand_len;

    /* the open leaf */
    int                 leaf_open;
    hg_mime_fields_t    fields;
    char                type[HG_MIME_TYPE_MAX + 1];
    char                encoding[HG_MIME_ENCODING_MAX + 1];
    hg_part_info_t      info;
    hg_part_stats_t     stats;
    int                 dec;
    int                 uu_probe;   /* DEC_UU: first bytes not seen yet */
    int                 uu_raw;     /* declared uuencoded, but no "begin" */
    unsigned char       probe[6];
    size_t              probe_len;
    hg_b64_t            b64;
    hg_qp_t             qp;
    hg_uu_t             uu;
    unsigned char      *out;

    /* uuencoded blocks inside a text leaf of mail (scan): "P.uN" */
    int                 scan;
    hg_uu_t             suu;
    int                 sub_open;
    unsigned            nsub;
    char               *sub_path;
    hg_part_info_t      sub_info;
    hg_part_stats_t     sub_stats;
    unsigned char      *sub_out;

    /* the open leaf's other readings, and what they share */
    _copy_t             copies[UNPACK_COPIES];
    int                 copying;    /* a copy is open */
    unsigned char      *copy_stage; /* QP: raw text for a copy's decoder */
    size_t              stage_len;
    unsigned char      *copy_out;
    int                 eol_known;  /* the message's first line end seen */
    int                 eol_crlf;   /* ... and it was CRLF */
    unsigned char       last_in;    /* the last byte fed (a CR before LF?) */
};

/* ---- unpack.c ---- */

hg_status_t hg_unpack_fail(hg_unpack_t *u, hg_status_t st, const char *fmt,
                           ...) __attribute__((format(printf, 3, 4)));
hg_status_t hg_unpack_cb_fail(hg_unpack_t *u, hg_status_t st,
                              const char *what, const char *path);

/* ---- unpack_leaf.c ---- */

hg_status_t hg_unpack_part_bytes(hg_unpack_t *u, const hg_unpack_cb_t *cb,
                                 void *ctx, hg_part_stats_t *stats,
                                 const char *path, const unsigned char *buf,
                                 size_t n);
hg_status_t hg_unpack_leaf_begin(hg_unpack_t *u);
hg_status_t hg_unpack_leaf_data(hg_unpack_t *u, const unsigned char *p,
                                size_t n);
hg_status_t hg_unpack_leaf_end(hg_unpack_t *u);
hg_status_t hg_unpack_b64_run(hg_unpack_t *u, const unsigned char *p,
                              size_t n, size_t *usedp);

/* ---- unpack_copy.c ---- */

hg_status_t hg_unpack_copies_begin(hg_unpack_t *u, const char *e);
hg_status_t hg_unpack_copy_raw(hg_unpack_t *u, const unsigned char *p,
                               size_t n);
hg_status_t hg_unpack_copies_end(hg_unpack_t *u);

#endif
