/*
 * xml_stream.c - XML read through libexpat, used by the NCMEC reader.
 *
 * Why expat: an export declares its encoding (<?xml version="1.0"
 * encoding="ISO-8859-1"?>) and XML says how to read it; a tokenizer of our
 * own stored such a file's bytes as invalid UTF-8. Expat reads UTF-8,
 * UTF-16, ISO-8859-1 and US-ASCII itself, and Windows-1252 (and the other
 * names of Latin-1) through the table in util/charset.c; it checks
 * well-formedness to the letter and hands out UTF-8. See
 * docs/list-formats.md for the decision.
 *
 * Why it stays small: a hash-sharing download can be large and comes from
 * outside. The file is pushed through expat a buffer at a time, text is
 * passed on in expat's pieces, and expat's own memory is capped (its
 * allocations go through xs_malloc and friends) since it would otherwise
 * grow a buffer to hold any single tag or comment whole. A DOCTYPE is
 * refused the moment it starts, so no entity is ever defined, expanded or
 * fetched. Every error is reported with its line, in words a person can
 * act on where expat's are terse ("no element found" at the end of a file
 * is "truncated XML: <images> is not closed").
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <expat.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lists/xml_stream.h"
#include "util/charset.h"

/* ---- expat's memory, counted against x->mem.limit ---- */

/* The accounts of the parse running on this thread, for xs_malloc. */
static _Thread_local hg_xstream_mem_t *xs_mem_cur;

/* Each block starts with its size and account, kept aligned. */
typedef union {
    max_align_t     align;
    struct {
        size_t              size;
        hg_xstream_mem_t   *mem;
    }               h;
} xs_block_t;

static void *
xs_malloc(size_t n)
{
    hg_xstream_mem_t  *m = xs_mem_cur;
    xs_block_t        *b;

    if (n > m->limit - m->used) {
        m->over = 1;
        return NULL;
    }
    if ((b = malloc(sizeof(*b) + n)) == NULL) {
        return NULL;
    }
    b->h.size = n;
    b->h.mem = m;
    m->used += n;
    return b + 1;
}

static void *
xs_realloc(void *p, size_t n)
{
    xs_block_t        *b, *nb;
    hg_xstream_mem_t  *m;

    if (p == NULL) {
        return xs_malloc(n);
    }
    b = (xs_block_t *) p - 1;
    m = b->h.mem;
    if (n > b->h.size && n - b->h.size > m->limit - m->used) {
        m->over = 1;
        return NULL;
    }
    if ((nb = realloc(b, sizeof(*nb) + n)) == NULL) {
        return NULL;
    }
    m->used = m->used - nb->h.size + n;
    nb->h.size = n;
    return nb + 1;
}

static void
xs_free(void *p)
{
    xs_block_t  *b;

    if (p == NULL) {
        return;
    }
    b = (xs_block_t *) p - 1;
    b->h.mem->used -= b->h.size;
    free(b);
}

static const XML_Memory_Handling_Suite xs_mem_suite = {
    xs_malloc, xs_realloc, xs_free
};

/* ---- errors ---- */

/* Stop the parse from a handler with a reason (NULL: x->st says why). */
static void
xs_stop(hg_xstream_t *x, hg_status_t st, const char *why)
{
    if (x->st != HG_OK) {
        return;
    }
    x->st = st;
    x->why = why;
    x->err_line = XML_GetCurrentLineNumber(x->parser);
    XML_StopParser(x->parser, XML_FALSE);
}

/* ASCII name characters only: the context is in the file's encoding, and
 * an error message must not carry bytes that are not UTF-8. */
static int
xs_namechar(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == ':' || c == '-'
           || c == '.';
}

/*
 * The name at the error, from expat's input context (raw bytes of the
 * file, so only an ASCII-compatible encoding gives one): skip bytes of
 * lead (such as "&"), then name characters, into out (at most max bytes).
 * "" when there is none.
 */
static const char *
xs_ctx_name(hg_xstream_t *x, const char *lead, char *out, size_t max)
{
    const char  *ctx;
    int          off = 0, size = 0;
    size_t       n = 0, l = strlen(lead);

    out[0] = '\0';
    ctx = XML_GetInputContext(x->parser, &off, &size);
    if (ctx == NULL || off < 0 || size < off || (size_t) (size - off) < l
        || memcmp(ctx + off, lead, l) != 0)
    {
        return out;
    }
    for (ctx += off + l, size -= off + (int) l;
         n < max && n < (size_t) size && xs_namechar((unsigned char) ctx[n]);
         n++)
    {
        out[n] = ctx[n];
    }
    out[n] = '\0';
    return out;
}

/* Does the input at the error start with s? */
static int
xs_ctx_is(hg_xstream_t *x, const char *s)
{
    const char  *ctx;
    int          off = 0, size = 0;
    size_t       l = strlen(s);

    ctx = XML_GetInputContext(x->parser, &off, &size);
    return ctx != NULL && off >= 0 && size >= off
           && (size_t) (size - off) >= l && memcmp(ctx + off, s, l) == 0;
}

/* The byte at the error, or -1. */
static int
xs_ctx_byte(hg_xstream_t *x)
{
    const char  *ctx;
    int          off = 0, size = 0;

    ctx = XML_GetInputContext(x->parser, &off, &size);
    return ctx != NULL && off >= 0 && off < size
           ? (unsigned char) ctx[off] : -1;
}

/* Expat refused the document: x->why in words for the list's owner. */
static hg_status_t
xs_expat_error(hg_xstream_t *x, int utf16)
{
    enum XML_Error  e = XML_GetErrorCode(x->parser);
    char            name[HG_XSTREAM_NAME_MAX + 1];
    const char     *d = x->declared;

    x->err_line = XML_GetCurrentLineNumber(x->parser);
    switch (e) {
    case XML_ERROR_NO_MEMORY:
        if (!x->mem.over) {
            return HG_ENOMEM;
        }
        x->why = "an XML tag, comment or processing instruction too long "
                 "to hold (over 1 MiB)";
        break;
    case XML_ERROR_NO_ELEMENTS:
        if (x->depth > 0) {
            snprintf(x->whybuf, sizeof(x->whybuf), "truncated XML: <%s> is "
                     "not closed", x->stack[x->depth - 1]);
            x->why = x->whybuf;
        } else {
            x->why = "no XML element in the file";
        }
        break;
    case XML_ERROR_UNCLOSED_TOKEN:
        x->why = xs_ctx_is(x, "<!--") ? "truncated XML: unterminated comment"
                 : xs_ctx_is(x, "<?") ? "truncated XML: unterminated <?...?>"
                 : "truncated XML inside a tag";
        break;
    case XML_ERROR_UNCLOSED_CDATA_SECTION:
        x->why = "truncated XML: unterminated CDATA";
        break;
    case XML_ERROR_TAG_MISMATCH:
        xs_ctx_name(x, "", name, HG_XSTREAM_NAME_MAX);
        snprintf(x->whybuf, sizeof(x->whybuf), "</%s> does not close <%s>",
                 name[0] ? name : "...",
                 x->depth > 0 ? x->stack[x->depth - 1] : "");
        x->why = x->whybuf;
        break;
    case XML_ERROR_UNDEFINED_ENTITY:
        xs_ctx_name(x, "&", name, 32);
        snprintf(x->whybuf, sizeof(x->whybuf), "unknown entity &%s; (no DTD "
                 "entities are accepted)", name);
        x->why = x->whybuf;
        break;
    case XML_ERROR_DUPLICATE_ATTRIBUTE:
        xs_ctx_name(x, "", name, HG_XSTREAM_NAME_MAX);
        snprintf(x->whybuf, sizeof(x->whybuf), "duplicate attribute %s",
                 name);
        x->why = x->whybuf;
        break;
    case XML_ERROR_JUNK_AFTER_DOC_ELEMENT:
        x->why = xs_ctx_is(x, "<") ? "a second root element"
                 : "text outside the root element";
        break;
    case XML_ERROR_BAD_CHAR_REF:
        x->why = "bad character reference (not a character XML allows)";
        break;
    case XML_ERROR_UNKNOWN_ENCODING:
        snprintf(x->whybuf, sizeof(x->whybuf), "encoding \"%s\" is not "
                 "supported (UTF-8, UTF-16, ISO-8859-1, US-ASCII and "
                 "windows-1252 are)", d);
        x->why = x->whybuf;
        break;
    case XML_ERROR_INCORRECT_ENCODING:
        snprintf(x->whybuf, sizeof(x->whybuf), "the file is not in the "
                 "encoding \"%s\" its XML declaration names", d);
        x->why = x->whybuf;
        break;
    case XML_ERROR_INVALID_TOKEN:
        if (!utf16 && xs_ctx_byte(x) >= 0x80
            && (d[0] == '\0' || strcasecmp(d, "UTF-8") == 0))
        {
            /* the case of an export that does not say it is Latin-1 */
            x->why = "bytes that are not valid UTF-8 (a file in another "
                     "encoding must say so: <?xml version=\"1.0\" "
                     "encoding=\"ISO-8859-1\"?>)";
            break;
        }
        /* fall through */
    default:
        snprintf(x->whybuf, sizeof(x->whybuf), "XML error: %s",
                 XML_ErrorString(e));
        x->why = x->whybuf;
        break;
    }
    return HG_EFORMAT;
}

/* ---- handlers ---- */

static void
xs_set_name(hg_xstream_t *x, const char *name)
{
    const char  *colon = strrchr(name, ':');

    x->name = name;
    x->local = colon ? colon + 1 : name;
}

static void XMLCALL
xs_start(void *data, const XML_Char *name, const XML_Char **attrs)
{
    hg_xstream_t  *x = data;
    size_t         i;

    if (x->st != HG_OK) {
        return;                         /* expat may call once more */
    }
    if (strlen(name) > HG_XSTREAM_NAME_MAX) {
        xs_stop(x, HG_EFORMAT, "name longer than 128 bytes");
        return;
    }
    if (x->depth == HG_XSTREAM_DEPTH) {
        xs_stop(x, HG_EFORMAT, "XML nested too deeply");
        return;
    }
    for (i = 0; attrs[i] != NULL; i += 2) {
        if (i / 2 == HG_XSTREAM_ATTRS_MAX) {
            xs_stop(x, HG_EFORMAT, "more than 16 attributes on one element");
            return;
        }
        if (strlen(attrs[i]) > HG_XSTREAM_NAME_MAX) {
            xs_stop(x, HG_EFORMAT, "name longer than 128 bytes");
            return;
        }
    }
    memcpy(x->stack[x->depth], name, strlen(name) + 1);
    x->depth++;
    x->seen_root = 1;
    xs_set_name(x, x->stack[x->depth - 1]);
    x->ev_line = XML_GetCurrentLineNumber(x->parser);
    x->attrs = attrs;
    if (x->cb->start != NULL) {
        hg_status_t st = x->cb->start(x->ctx, x);

        if (st != HG_OK) {
            x->cb_stopped = 1;
            xs_stop(x, st, NULL);
        }
    }
    x->attrs = NULL;
}

static void XMLCALL
xs_end(void *data, const XML_Char *name)
{
    hg_xstream_t  *x = data;
    hg_status_t    st;

    (void) name;                        /* expat checked it is stack's top */
    if (x->st != HG_OK || x->depth == 0) {
        return;
    }
    x->depth--;
    xs_set_name(x, x->stack[x->depth]);
    x->ev_line = XML_GetCurrentLineNumber(x->parser);
    if (x->cb->end != NULL && (st = x->cb->end(x->ctx, x)) != HG_OK) {
        x->cb_stopped = 1;
        xs_stop(x, st, NULL);
    }
}

static void XMLCALL
xs_text(void *data, const XML_Char *s, int len)
{
    hg_xstream_t  *x = data;
    hg_status_t    st;

    if (x->st != HG_OK || x->depth == 0 || len <= 0) {
        return;
    }
    x->ev_line = XML_GetCurrentLineNumber(x->parser);
    if (x->cb->text != NULL
        && (st = x->cb->text(x->ctx, x, s, (size_t) len)) != HG_OK)
    {
        x->cb_stopped = 1;
        xs_stop(x, st, NULL);
    }
}

static void XMLCALL
xs_doctype(void *data, const XML_Char *name, const XML_Char *sysid,
           const XML_Char *pubid, int has_internal_subset)
{
    (void) name;
    (void) sysid;
    (void) pubid;
    (void) has_internal_subset;
    /* before its internal subset is read: nothing was declared */
    xs_stop(data, HG_EFORMAT, "DOCTYPE is not accepted (no DTDs or "
            "entities)");
}

static void XMLCALL
xs_decl(void *data, const XML_Char *version, const XML_Char *encoding,
        int standalone)
{
    hg_xstream_t  *x = data;

    (void) version;
    (void) standalone;
    snprintf(x->declared, sizeof(x->declared), "%s",
             encoding != NULL ? encoding : "");
}

/*
 * An encoding expat does not know by that name: the other names of Latin-1
 * ("latin1"), and Windows-1252, from the table MIME headers use too. Its
 * five undefined bytes (and NUL) are malformed, as a byte invalid in UTF-8
 * is. ("utf8" is not taken: expat reads a multi-byte encoding of ours only
 * up to U+FFFF, so it would refuse valid text.)
 */
static int XMLCALL
xs_unknown_encoding(void *data, const XML_Char *name, XML_Encoding *info)
{
    hg_xstream_t  *x = data;
    hg_charset_t   cs = hg_charset_find(name);
    uint32_t       cp;
    int            i;

    /* the declaration handler has not run yet: name it for the error */
    snprintf(x->declared, sizeof(x->declared), "%s", name);
    if (cs != HG_CS_LATIN1 && cs != HG_CS_CP1252) {
        return XML_STATUS_ERROR;
    }
    for (i = 0; i < 256; i++) {
        cp = hg_charset_byte(cs, (unsigned char) i);
        info->map[i] = cp != 0 ? (int) cp : -1;
    }
    info->data = NULL;
    info->convert = NULL;
    info->release = NULL;
    return XML_STATUS_OK;
}

/* ---- the parse ---- */

/* Does the file start as UTF-16 (a byte order mark, or "<" in 16 bits)? */
static int
xs_utf16(const unsigned char *b, size_t n)
{
    return n >= 2 && ((b[0] == 0xFE && b[1] == 0xFF)
                      || (b[0] == 0xFF && b[1] == 0xFE)
                      || (b[0] == '<' && b[1] == 0)
                      || (b[0] == 0 && b[1] == '<'));
}

static hg_status_t
xs_run(hg_xstream_t *x, XML_Parser p, FILE *fp)
{
    void           *buf;
    size_t          n;
    int             final = 0, first = 1, utf16 = 0;

    while (!final) {
        if ((buf = XML_GetBuffer(p, HG_XSTREAM_CHUNK)) == NULL) {
            return xs_expat_error(x, utf16);
        }
        n = fread(buf, 1, HG_XSTREAM_CHUNK, fp);
        if (n < HG_XSTREAM_CHUNK) {
            if (ferror(fp)) {
                x->ioerr = 1;
                return HG_EIO;
            }
            final = 1;
        }
        if (first) {
            utf16 = xs_utf16(buf, n);
            first = 0;
        }
        if (XML_ParseBuffer(p, (int) n, final) != XML_STATUS_OK) {
            if (x->st != HG_OK) {
                return x->st;           /* a handler stopped it */
            }
            return xs_expat_error(x, utf16);
        }
    }
    return x->st;
}

hg_status_t
hg_xstream_parse(hg_xstream_t *x, FILE *fp, const hg_xstream_cb_t *cb,
                 void *ctx)
{
    hg_xstream_mem_t  *saved = xs_mem_cur;
    XML_Parser         p;
    hg_status_t        st;
    int                e;

    memset(x, 0, sizeof(*x));
    x->cb = cb;
    x->ctx = ctx;
    x->mem.limit = HG_XSTREAM_MEM_MAX;
    xs_mem_cur = &x->mem;

    p = XML_ParserCreate_MM(NULL, &xs_mem_suite, NULL);
    if (p == NULL) {
        xs_mem_cur = saved;
        return HG_ENOMEM;
    }
    x->parser = p;
    XML_SetUserData(p, x);
    XML_SetElementHandler(p, xs_start, xs_end);
    XML_SetCharacterDataHandler(p, xs_text);
    XML_SetStartDoctypeDeclHandler(p, xs_doctype);
    XML_SetXmlDeclHandler(p, xs_decl);
    XML_SetUnknownEncodingHandler(p, xs_unknown_encoding, x);
    /* never read an external entity or DTD (the default, said aloud) */
    XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);

    st = xs_run(x, p, fp);
    if (st == HG_EFORMAT && x->why == NULL) {
        x->why = "malformed XML";
    }

    e = errno;                          /* for the caller's message */
    XML_ParserFree(p);
    errno = e;
    x->parser = NULL;
    xs_mem_cur = saved;
    return st;
}

const char *
hg_xstream_attr(const hg_xstream_t *x, const char *name)
{
    const char  *colon, *local;
    size_t       i;

    if (x->attrs == NULL) {
        return NULL;
    }
    for (i = 0; x->attrs[i] != NULL; i += 2) {
        colon = strrchr(x->attrs[i], ':');
        local = colon ? colon + 1 : x->attrs[i];
        if (strcasecmp(local, name) == 0) {
            return x->attrs[i + 1];
        }
    }
    return NULL;
}
