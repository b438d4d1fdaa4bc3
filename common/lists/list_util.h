/*
 * list_util.h - what every list reader shares: a buffered byte source, a
 * bounded line reader, and the one way a bad line is reported.
 *
 * Internal to libhashgate (common/lists/read_*.c, common/lists/json_stream.c);
 * not a public header. Nothing here grows with the
 * input: the source has a fixed buffer and a line longer than
 * HG_LIST_LINE_MAX is reported as a bad line, never allocated.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_LIST_UTIL_H
#define HASHGATE_LIST_UTIL_H

#include <stdint.h>
#include <stdio.h>

#include "hashgate/list.h"

/* Longest line (or CSV record) a reader accepts. Real list lines are under
 * 1 KiB (a digest, a size, a label); 64 KiB leaves room for long labels and
 * still bounds memory against a file with no newlines at all. */
#define HG_LIST_LINE_MAX    (64 * 1024)

/* Read buffer of a file source: large enough that stdio and syscalls stay
 * off the profile, small enough to keep per-reader memory trivial. */
#define HG_LIST_IOBUF       (64 * 1024)

/* Bytes of a file's start that hg_list_read_file hands to the probes. */
#define HG_LIST_HEAD_MAX    4096

/* ---- a byte source: a FILE or a memory buffer ---- */

typedef struct {
    FILE                *fp;        /* NULL for a memory source */
    unsigned char       *own;       /* our read buffer (file sources) */
    const unsigned char *buf;
    size_t               pos;
    size_t               len;
    uint64_t             base;      /* file offset of buf[0] */
    uint64_t             line;      /* 1-based line of the next byte */
    int                  ioerr;     /* a read failed: see errno */
} hg_src_t;

/* Start reading fp; skips a UTF-8 byte order mark. -1 when out of memory. */
int hg_src_init_file(hg_src_t *s, FILE *fp);

/* Read len bytes of memory (not copied; must outlive the source). */
void hg_src_init_mem(hg_src_t *s, const void *mem, size_t len);

/* Frees the read buffer; accepts a source never inited by init_file. */
void hg_src_free(hg_src_t *s);

/* Refill the buffer; returns the next byte or -1 at end (or error). */
int hg_src_fill(hg_src_t *s);

/* Offset of the next byte. */
static inline uint64_t
hg_src_offset(const hg_src_t *s)
{
    return s->base + s->pos;
}

static inline int
hg_src_peek(hg_src_t *s)
{
    if (s->pos < s->len) {
        return s->buf[s->pos];
    }
    return hg_src_fill(s);
}

static inline int
hg_src_getc(hg_src_t *s)
{
    int  c;

    if (s->pos < s->len) {
        c = s->buf[s->pos++];
    } else {
        c = hg_src_fill(s);
        if (c < 0) {
            return c;
        }
        s->pos++;
    }
    if (c == '\n') {
        s->line++;
    }
    return c;
}

/*
 * Read one line into buf (at most max bytes, NUL-terminated, so buf holds
 * max + 1), without its "\n" or "\r\n". A longer line is consumed to its end
 * and *too_long set (buf then holds its first max bytes). Returns 1 for a
 * line, 0 at the end of input, -1 on a read error.
 */
int hg_src_line(hg_src_t *s, char *buf, size_t max, size_t *len,
                int *too_long);

/* ---- reporting, shared by all readers ---- */

/* A reader's view of its caller: defaults filled in, counts in one place. */
typedef struct {
    const char             *path;
    const hg_read_opts_t   *opts;
    hg_read_stats_t        *stats;
    hg_entry_cb             cb;
    void                   *cb_ctx;
    hg_err_t               *err;
    hg_read_opts_t          opts0;  /* used when the caller passed NULL */
    int                     empty_warned;   /* the empty file's digest, once */
    uint64_t                records;        /* the last record handed out */
    hg_read_stats_t         stats0;
} hg_lctx_t;

/* opts and stats may be NULL. Stats are added to, not reset. */
void hg_lctx_init(hg_lctx_t *c, const char *path, const hg_read_opts_t *opts,
                  hg_entry_cb cb, void *cb_ctx, hg_read_stats_t *stats,
                  hg_err_t *err);

/*
 * A bad line or object at where (a line number or byte offset): formats
 * "path:where: reason". Without strict, warns, counts stats->skipped and
 * returns HG_OK (go on); with strict, puts it in err and returns HG_EFORMAT.
 */
hg_status_t hg_lctx_bad(hg_lctx_t *c, uint64_t where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A warning that is not a skipped line (a summary); nothing counted. */
void hg_lctx_warn(hg_lctx_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A fatal error: "path:where: reason" in err, returns HG_EFORMAT. */
hg_status_t hg_lctx_fail(hg_lctx_t *c, uint64_t where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A read error on the file: HG_EIO naming the path. */
hg_status_t hg_lctx_ioerr(hg_lctx_t *c);

/*
 * A new record id for the digests of one listed file (see hg_entry_t.record):
 * a reader that gives several digests of one file sets it on each of them.
 */
uint64_t hg_lctx_record(hg_lctx_t *c);

/* Hand e to the callback and count it; an entry without a record gets one
 * of its own. */
hg_status_t hg_lctx_emit(hg_lctx_t *c, const hg_entry_t *e);

/*
 * The loop of every line format: reads fp one line at a time and calls fn
 * with each non-blank line, trimmed (writable, NUL-terminated, valid during
 * the call). A line longer than HG_LIST_LINE_MAX is reported as a bad line
 * and skipped. Stops at and returns the first status other than HG_OK;
 * HG_EIO on a read error, HG_ENOMEM if the buffers cannot be had.
 */
typedef hg_status_t (*hg_list_line_fn)(hg_lctx_t *c, void *ctx,
                                       uint64_t lineno, char *line,
                                       size_t len);

hg_status_t hg_list_each_line(FILE *fp, hg_lctx_t *c, hg_list_line_fn fn,
                              void *ctx);

/* ---- small parsers ---- */

/* 3 when head starts with a UTF-8 byte order mark, else 0 (for probes). */
size_t hg_list_bom_len(const unsigned char *head, size_t len);

/* 1 for an ASCII hex digit. */
int hg_list_is_hex(int c);


/* Decimal uint64 of exactly len digits (no sign, no space). 0 or -1. */
int hg_list_parse_u64(const char *s, size_t len, uint64_t *out);

/*
 * hg_entry_parse_hex for a field that names its algorithm (a "sha1"
 * column, an "MD5" key): a digest of another length is refused with *why
 * "a 40-digit digest, expected 32". 0 or -1.
 */
int hg_list_parse_digest_as(hg_entry_t *e, hg_alg_t want, const char *hex,
                            size_t len, const char **why);

/* Does path end in ext (".csv"), case-insensitively? */
int hg_list_has_ext(const char *path, const char *ext);

/* Trim spaces, tabs, CR and LF from both ends of [*s, *s + *len). */
void hg_list_trim(const char **s, size_t *len);

/* Case-insensitive compare of [s, s + len) with the C string word. */
int hg_list_word_eq(const char *s, size_t len, const char *word);

#endif
