/*
 * xml_stream.h - a small pull tokenizer for XML, for the list readers.
 *
 * Internal to libhashgate. It reads an hg_src_t and hands out start tags
 * (with attributes), end tags and character data, one event at a time,
 * checking that tags nest and match. Memory is fixed: names, attribute
 * values and text runs are bounded (longer text is flagged, not kept), and
 * nesting is limited. What a hash list never needs is refused rather than
 * half-supported: a DOCTYPE (and with it entity definitions and expansion),
 * and entities other than the five predefined ones and character references.
 */
#ifndef HASHGATE_XML_STREAM_H
#define HASHGATE_XML_STREAM_H

#include <stdint.h>

#include "lists/list_util.h"

/* Longest element or attribute name. */
#define HG_XSTREAM_NAME_MAX   128

/* Longest text run or attribute value kept; longer is flagged (overflow)
 * and cut. Fingerprints are at most a few hundred characters. */
#define HG_XSTREAM_TEXT_MAX   4096

/* Attributes kept per start tag; more are a syntax error. */
#define HG_XSTREAM_ATTRS_MAX  16

/* Deepest nesting: hash-sharing documents nest 5-6 levels. */
#define HG_XSTREAM_DEPTH      32

typedef enum {
    HG_XT_ERROR = -1,
    HG_XT_EOF = 0,          /* the root element closed; only space followed */
    HG_XT_START,            /* name, attrs; an empty tag gives START then END */
    HG_XT_END,              /* name */
    HG_XT_TEXT              /* text (entities decoded, CDATA included) */
} hg_xt_t;

typedef struct {
    char    name[HG_XSTREAM_NAME_MAX + 1];
    char    value[HG_XSTREAM_TEXT_MAX + 1];
} hg_xattr_t;

typedef struct {
    hg_src_t        src;
    uint64_t        ev_line;                /* line where the event began */
    char            name[HG_XSTREAM_NAME_MAX + 1];
    const char     *local;                  /* name without its prefix */
    hg_xattr_t      attr[HG_XSTREAM_ATTRS_MAX];
    size_t          nattr;
    char            text[HG_XSTREAM_TEXT_MAX + 1];
    size_t          text_len;
    int             text_overflow;
    int             depth;
    char            stack[HG_XSTREAM_DEPTH][HG_XSTREAM_NAME_MAX + 1];
    int             pending_end;            /* an empty tag's END is due */
    int             seen_root;
    int             done;
    const char     *why;                    /* after HG_XT_ERROR */
    char            whybuf[HG_XSTREAM_NAME_MAX + 64];
    uint64_t        err_line;
} hg_xstream_t;

/* Start reading fp; -1 when out of memory. */
int hg_xstream_init_file(hg_xstream_t *x, FILE *fp);
void hg_xstream_free(hg_xstream_t *x);

/* The next event; after HG_XT_ERROR or HG_XT_EOF every call repeats it. */
hg_xt_t hg_xstream_next(hg_xstream_t *x);

/* Value of the attribute whose local name is name (any case), or NULL. */
const char *hg_xstream_attr(const hg_xstream_t *x, const char *name);

#endif
