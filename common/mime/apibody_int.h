/*
 * apibody_int.h - the API body parser's state, shared by its three files.
 *
 * Internal to common/mime/: apibody.c (the API, parts, limits and the
 * value reader both syntaxes feed: data: URLs, the base64 decision,
 * decoding), apibody_json.c (the JSON push tokenizer, paths, sibling
 * names) and apibody_form.c (url-encoded fields). A JSON string or a form
 * value reaches the value reader as its content: JSON escapes undone,
 * %XX and "+" decoded, in runs of any size (hg_apibody_val_*).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_APIBODY_INT_H
#define HASHGATE_APIBODY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "hashgate/apibody.h"
#include "mime/decode.h"

/*
 * A key or form field name is kept to this many bytes for the path and
 * field_name; a longer one is cut (at a UTF-8 character boundary) and
 * its path component ends in "..." (so a path stays readable, and the
 * memory a body can make us hold is bounded by max_depth keys).
 */
#define APIBODY_KEY_MAX     256
/* A file name from a "name"/"filename" member: the first bytes kept. */
#define APIBODY_NAME_MAX    255
/* The header of a data: URL (after "data:", before ','): longer is none. */
#define APIBODY_HDR_MAX     256
/* data: URL payload characters read to tell its alphabet before begin. */
#define APIBODY_PEEK        256
/* A data: URL's declared type, lowercase. */
#define APIBODY_TYPE_MAX    127
/* Encoded input decoded at once; the output slice is 3/4 of it. */
#define APIBODY_CHUNK       (64 * 1024)

/* Retained body bytes (the lazy path) are kept in chunks of this size. */
#define APIBODY_RCHUNK      (256 * 1024)

/* The value reader's states (hg_apibody_val_t.state). */
enum {
    V_HEAD = 0,     /* holding the first characters: a part or not? */
    V_DHDR,         /* after "data:", holding the header up to ',' */
    V_DPEEK,        /* a base64 data: URL: holding payload to tell its alphabet */
    V_B64,          /* a part: decoding base64 as it comes */
    V_RAW,          /* a part: a form value as it is (url-encoded) */
    V_SKIP          /* no part: the rest of the value is not looked at */
};

/* Character classes for the base64 decision (apibody.c's tables). */
#define CL_DATA     0x01    /* A-Z a-z 0-9 */
#define CL_STD      0x02    /* + / */
#define CL_URL      0x04    /* - _ */
#define CL_PAD      0x08    /* = */
#define CL_WS       0x10    /* blanks and line ends: skipped */
#define CL_BAD      0x20    /* anything else */

typedef struct {
    int             state;
    int             on;         /* a value is being read */
    unsigned        dpos;       /* "data:" characters matched; 6: not one */
    unsigned        cls;        /* CL_* of the data characters held */
    int             bad;        /* not base64 (form: read as it is) */
    int             pad;        /* '=' seen */
    int             url;        /* decoding the URL-safe alphabet */
    int             is_data;    /* a data: URL */
    size_t          hold_len;
    size_t          hdr_start;  /* data: URL: where its header starts in hold */
    uint64_t        errors;     /* bad %-escapes of a value kept as sent */
    hg_b64_t        dec;
} hg_apibody_val_t;

/*
 * One open JSON container. Its current key is kept by pointer while it is
 * in the buffer being fed (copied into key[] when the feed returns, or
 * written there directly when it spans feeds); names live in the
 * stack-like arena b->names.
 */
typedef struct {
    unsigned char   obj;        /* an object (else an array) */
    unsigned char   key_name;   /* its current key is "name"/"filename" */
    unsigned char   key_cut;    /* its current key was cut */
    unsigned char   has_name;
    uint32_t        index;      /* arrays: the current element's index */
    const unsigned char *kp;    /* the key in the buffer being fed, or NULL */
    size_t          key_len;
    size_t          name_base;  /* its name in b->names */
    size_t          name_len;
    unsigned char   key[APIBODY_KEY_MAX];
} hg_apibody_frame_t;

/* The JSON tokenizer's states outside strings. */
enum {
    J_VALUE = 0,    /* a value is expected */
    J_VALUE_OR_END, /* after '[' */
    J_KEY_OR_END,   /* after '{' */
    J_KEY,          /* after ',' in an object */
    J_COLON,
    J_AFTER,        /* after a value inside a container */
    J_DONE,         /* after the top-level value */
    J_STR,          /* inside a string */
    J_NUM,
    J_LIT
};

/*
 * The lazy path (apibody_lazy.c): the scanner running ahead of the
 * tokenizer, and the bytes it retained since the tokenizer last read.
 */
typedef struct {
    int             usable;     /* JSON, max_retained > 0, need >= 64 */
    int             on;         /* scanning ahead; else the tokenizer reads */
    int             flagged;    /* the last block scanned may need it */
    uint64_t        start;      /* body offset of the first retained byte */
    uint64_t        len;        /* bytes retained */
    uint64_t        pos;        /* body offset of the next block to scan */
    uint64_t        in_str;     /* all ones: the last block ended in a string */
    uint64_t        esc;        /* 1: ... after an odd run of '\' */
    uint64_t        str_start;  /* body offset of that string's '"' */
    int64_t         depth;      /* brackets opened less closed */
    uint64_t        p_open, p_d, p_a, p_bs;    /* the block before's masks */
    unsigned char **chunks;
    size_t          nchunks, chunks_cap;
} hg_apibody_lazy_t;

/* hg_apibody_lazy_force_path's paths */
enum {
    HG_APIBODY_LAZY_AUTO = 0,
    HG_APIBODY_LAZY_SCALAR,
    HG_APIBODY_LAZY_AVX2,
    HG_APIBODY_LAZY_AVX512
};

struct hg_apibody_s {
    hg_apibody_mode_t   mode;
    hg_apibody_limits_t lim;
    hg_unpack_cb_t      cb;
    void               *ctx;

    hg_status_t         st;         /* the first error; it sticks */
    char                msg[HG_ERR_MAX];
    int                 finished;
    const char         *stop_why;   /* not well-formed: where it stopped */
    int                 want_stop;  /* hg_apibody_want_stop: read to the end */
    uint64_t            stop_off;
    uint64_t            off;        /* body bytes before the current feed */
    const unsigned char *base;      /* the current feed's start */

    /* parts */
    unsigned            nparts;
    uint64_t            decoded;    /* of every part together */
    int                 part_open;
    int                 pending;    /* decoded whole, ended by a name or
                                     * its object's close */
    size_t              pend_frame;
    hg_part_info_t      info;
    hg_part_stats_t     stats;
    char               *ppath;      /* info.path: a copy, as keys change */
    size_t              ppath_cap;
    char                pfield[APIBODY_KEY_MAX + 1];
    char                pname[APIBODY_NAME_MAX + 1];
    char                ptype[APIBODY_TYPE_MAX + 1];

    /* the value being read */
    hg_apibody_val_t    v;
    size_t              min_bytes;  /* at least 1 */
    size_t              need;       /* JSON: base64 characters that decide */
    size_t              hold_cap;
    unsigned char      *hold;
    unsigned char      *out;        /* APIBODY_CHUNK / 4 * 3 + 8 */
    unsigned char      *tr;         /* APIBODY_CHUNK: alphabet translated */

    /* JSON */
    int                 js;         /* J_* */
    int                 in_key;     /* the string is a key */
    int                 want;       /* its content is needed (not skipped) */
    int                 cap_name;   /* ... as the object's name */
    int                 name_cut;   /* ... which was longer than kept */
    unsigned            esc;        /* 0; 1 after '\'; 2..5 \u digits read + 1 */
    uint32_t            u;          /* the \u code unit being read */
    uint32_t            hi;         /* a high surrogate waiting for its pair */
    int                 num;        /* number state */
    const char         *lit;        /* "true", "false", "null" */
    unsigned            lit_pos;
    int                 bom;        /* bytes of a leading UTF-8 BOM matched */
    int                 seen;       /* a non-blank byte was fed */
    hg_apibody_frame_t *frames;
    size_t              nframes, frames_cap;
    unsigned char      *names;
    size_t              names_len, names_cap;

    /* forms */
    unsigned char      *fbuf;       /* a value's run, %XX decoded */
    int                 fs;         /* 0 name, 1 value */
    unsigned            pct;        /* 0; 1 after '%'; 2 after '%X' */
    unsigned char       pct_hi;
    unsigned char       fname[APIBODY_KEY_MAX];
    size_t              fname_len;
    int                 fname_cut;

    hg_apibody_lazy_t   lz;
};

/* ---- apibody.c ---- */

/* Record the first error (a limit, a callback, memory); it sticks. */
hg_status_t hg_apibody_fail(hg_apibody_t *b, hg_status_t st,
                            const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Not well-formed at body offset off: the open part ends with what it had
 * (and a pending one), later bytes are ignored. Returns the status of
 * ending the part.
 */
hg_status_t hg_apibody_stop(hg_apibody_t *b, const char *why, uint64_t off);

/* Grow *buf (elem-byte items) to hold need items. HG_ENOMEM sticks. */
hg_status_t hg_apibody_reserve(hg_apibody_t *b, void **buf, size_t *cap,
                               size_t need, size_t elem);

/* Append s (n bytes) to a path, "~" and "/" as "~0" "~1" when ptr, and
 * "!", "%" and control bytes as %XX. HG_ENOMEM. */
hg_status_t hg_apibody_path_put(hg_apibody_t *b, size_t *len,
                                const unsigned char *s, size_t n, int ptr);

/* A value begins; its content comes through val_feed, then val_end. */
void hg_apibody_val_begin(hg_apibody_t *b);
hg_status_t hg_apibody_val_feed(hg_apibody_t *b, const unsigned char *p,
                                size_t n);
/* The value ended (or the body stopped inside it: cut). */
hg_status_t hg_apibody_val_end(hg_apibody_t *b);

/* End the open part (a pending one with the name it has now). */
hg_status_t hg_apibody_part_end(hg_apibody_t *b);

/* n, less an incomplete UTF-8 character at the end of s (a cut one). */
size_t hg_apibody_utf8_trim(const unsigned char *s, size_t n);

/* ---- apibody_json.c ---- */

hg_status_t hg_apibody_json_feed(hg_apibody_t *b, const unsigned char *p,
                                 size_t n);
hg_status_t hg_apibody_json_finish(hg_apibody_t *b);
/* Fill b->info's path, field_name, filename and depth for a new part. */
hg_status_t hg_apibody_json_info(hg_apibody_t *b);
/* The name the pending part's object has now, into b->info.filename. */
void hg_apibody_json_pending_name(hg_apibody_t *b);

/* ---- apibody_lazy.c ---- */

/* JSON with lz.usable: the body's next bytes, and its end. */
void hg_apibody_lazy_feed(hg_apibody_t *b, const unsigned char *p, size_t n);
void hg_apibody_lazy_finish(hg_apibody_t *b);
void hg_apibody_lazy_free(hg_apibody_t *b);
/* 1 when the lazy path pays on this CPU (or a path is forced). */
int hg_apibody_lazy_worth(void);

/*
 * Tests: the scanner's block masks from plain C, AVX2 or AVX-512 BW only
 * (HG_APIBODY_LAZY_AUTO: the best the CPU has). -1 when the CPU has not
 * the path. Process-wide.
 */
int hg_apibody_lazy_force_path(int path);

/* ---- apibody_form.c ---- */

hg_status_t hg_apibody_form_feed(hg_apibody_t *b, const unsigned char *p,
                                 size_t n);
hg_status_t hg_apibody_form_finish(hg_apibody_t *b);
hg_status_t hg_apibody_form_info(hg_apibody_t *b);

#endif
