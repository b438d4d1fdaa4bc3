/*
 * json_stream.h - a small pull tokenizer for JSON, for the list readers.
 *
 * Internal to libhashgate. It reads from an hg_src_t (a file or one line in
 * memory) and hands out one token at a time, checking the grammar (commas,
 * colons, nesting) as it goes. Memory is fixed: one token buffer of
 * HG_JSTREAM_TOKEN_MAX bytes and a nesting stack of HG_JSTREAM_DEPTH, so a
 * multi-gigabyte export is read in constant space. A string longer than the
 * token buffer is consumed whole and flagged (tok_overflow), not an error: a
 * reader can then skip the object holding it and go on.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_JSON_STREAM_H
#define HASHGATE_JSON_STREAM_H

#include <stdint.h>

#include "lists/list_util.h"

/* Longest string or number kept. Digests, ids and labels are far shorter;
 * a longer value is flagged and truncated rather than refused. */
#define HG_JSTREAM_TOKEN_MAX  4096

/* Deepest nesting accepted. Hash-list exports nest 3-4 levels; the limit
 * stops a hostile file from making the stack (or a reader's recursion) deep. */
#define HG_JSTREAM_DEPTH      64

typedef enum {
    HG_JT_ERROR = -1,   /* syntax error or read error: see why / src.ioerr */
    HG_JT_EOF = 0,      /* the top-level value ended and only space followed */
    HG_JT_OBJ_BEGIN,
    HG_JT_OBJ_END,
    HG_JT_ARR_BEGIN,
    HG_JT_ARR_END,
    HG_JT_KEY,          /* an object member's name, in tok */
    HG_JT_STRING,       /* a string value, unescaped UTF-8 in tok (invalid
                           bytes read as U+FFFD) */
    HG_JT_NUMBER,       /* a number's text in tok */
    HG_JT_TRUE,
    HG_JT_FALSE,
    HG_JT_NULL
} hg_jt_t;

typedef struct {
    hg_src_t        src;
    uint64_t        tok_off;        /* offset where the last token began */
    char            tok[HG_JSTREAM_TOKEN_MAX + 1];
    size_t          tok_len;
    int             tok_overflow;   /* the string was longer than the buffer */
    int             depth;
    unsigned char   stack[HG_JSTREAM_DEPTH];    /* '{' or '[' */
    int             expect;         /* private: what the grammar allows next */
    const char     *why;            /* after HG_JT_ERROR: a short reason */
    uint64_t        err_off;        /* and where */
} hg_jstream_t;

/* Start reading from fp (-1 when out of memory) or from memory. */
int hg_jstream_init_file(hg_jstream_t *j, FILE *fp);
void hg_jstream_init_mem(hg_jstream_t *j, const void *mem, size_t len);
void hg_jstream_free(hg_jstream_t *j);

/* The next token. After HG_JT_ERROR or HG_JT_EOF every call repeats it. */
hg_jt_t hg_jstream_next(hg_jstream_t *j);

/*
 * Skip the value that token t (just returned) begins: nothing for a scalar,
 * everything up to the matching end for an object or array. Returns t's
 * last token type, or HG_JT_ERROR.
 */
hg_jt_t hg_jstream_skip(hg_jstream_t *j, hg_jt_t t);

/* The current NUMBER token as a non-negative integer: 0, or -1 when it is
 * negative, has a fraction or exponent, or passes UINT64_MAX. */
int hg_jstream_tok_u64(const hg_jstream_t *j, uint64_t *out);

/* "a string", "a number", ... for messages about wrong types. */
const char *hg_jstream_type_name(hg_jt_t t);

#endif
