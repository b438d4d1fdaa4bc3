/*
 * xml_stream.h - XML read through libexpat, a buffer at a time, for the
 * list readers.
 *
 * Internal to libhashgate. hg_xstream_parse pushes a file through expat
 * and hands the reader start tags (with attributes), text and end tags as
 * they come, in UTF-8 whatever the file's declared encoding. Memory is
 * fixed: one read buffer, expat's allocations capped at
 * HG_XSTREAM_MEM_MAX, and bounded names, attribute counts and nesting.
 * What a hash list never needs is refused rather than half-supported: a
 * DOCTYPE (and with it entity definitions and expansion), and so every
 * entity but the five predefined ones and character references.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_XML_STREAM_H
#define HASHGATE_XML_STREAM_H

#include <stdint.h>
#include <stdio.h>

#include "hashgate/status.h"

/* Longest element or attribute name. */
#define HG_XSTREAM_NAME_MAX   128

/* Attributes accepted per start tag; more are an error. */
#define HG_XSTREAM_ATTRS_MAX  16

/* Deepest nesting: hash-sharing documents nest 5-6 levels. */
#define HG_XSTREAM_DEPTH      32

/* Bytes read from the file and pushed into expat at a time. */
#define HG_XSTREAM_CHUNK      (64 * 1024)

/*
 * Most memory expat may hold for one file. Text is handed on in pieces,
 * but expat keeps a whole tag, comment or processing instruction in its
 * buffer (which doubles as it grows): this cap makes one of more than
 * about 1 MiB an error instead of an allocation as large as the file.
 * NCMEC's are well under 1 KiB.
 */
#define HG_XSTREAM_MEM_MAX    (4 * 1024 * 1024)

typedef struct hg_xstream_s hg_xstream_t;

/*
 * What the reader is called with. Each returns HG_OK to go on; any other
 * status stops the parse, and hg_xstream_parse returns it.
 *   start  an element began: x->name, x->local, x->depth (1 for the root),
 *          x->ev_line, and its attributes through hg_xstream_attr (valid
 *          during the call). An empty tag gives start, then end.
 *   text   n bytes of its text (character data, CDATA, references decoded;
 *          valid UTF-8), in as many pieces as expat likes.
 *   end    the element x->name (x->local) ended; x->depth is its parent's.
 */
typedef struct {
    hg_status_t   (*start)(void *ctx, hg_xstream_t *x);
    hg_status_t   (*text)(void *ctx, hg_xstream_t *x, const char *s,
                          size_t n);
    hg_status_t   (*end)(void *ctx, hg_xstream_t *x);
} hg_xstream_cb_t;

/* Expat's allocations for one parse, and the cap on them. */
typedef struct {
    size_t          used;
    size_t          limit;
    int             over;           /* an allocation was refused by the cap */
} hg_xstream_mem_t;

struct hg_xstream_s {
    /* the event, for the callbacks */
    uint64_t        ev_line;                /* line where the event began */
    const char     *name;
    const char     *local;                  /* name without its prefix */
    int             depth;

    /* after an error (hg_xstream_parse returned HG_EFORMAT or HG_EIO) */
    const char     *why;                    /* HG_EFORMAT: the reason */
    uint64_t        err_line;               /* and its line */
    int             ioerr;                  /* HG_EIO: a read failed */
    int             cb_stopped;             /* a callback's status ended it */

    /* private */
    void           *parser;                 /* XML_Parser */
    const hg_xstream_cb_t *cb;
    void           *ctx;
    const char    **attrs;                  /* expat's, during start */
    hg_status_t     st;                     /* why the parse was stopped */
    int             seen_root;
    hg_xstream_mem_t mem;
    char            stack[HG_XSTREAM_DEPTH][HG_XSTREAM_NAME_MAX + 1];
    char            declared[40];           /* encoding of <?xml ...?> */
    char            whybuf[HG_XSTREAM_NAME_MAX * 2 + 128];
};

/*
 * Read fp to its end through expat, calling cb with ctx. Returns HG_OK
 * when the whole document was read and well-formed; a callback's status
 * (x->cb_stopped set) when one stopped it; HG_EFORMAT with x->why and
 * x->err_line for a document that is not well-formed XML, is cut short,
 * uses what is refused here, or passes a limit; HG_EIO (x->ioerr) when a
 * read failed; HG_ENOMEM. x needs no set-up and holds nothing afterwards.
 */
hg_status_t hg_xstream_parse(hg_xstream_t *x, FILE *fp,
                             const hg_xstream_cb_t *cb, void *ctx);

/*
 * During start: the value of the attribute whose local name is name (any
 * case), or NULL.
 */
const char *hg_xstream_attr(const hg_xstream_t *x, const char *name);

#endif
