/*
 * xml_stream.c - a small pull tokenizer for XML, used by the NCMEC reader.
 *
 * Why not libxml2: a hash-sharing download can be large and comes from
 * outside, and the reader needs only element names, a few attributes and
 * text. Loading a DOM would hold the whole file; a SAX parser would still
 * bring DTDs and entity expansion. This tokenizer keeps one event and a
 * stack of open names, refuses a DOCTYPE outright (so no entity can expand
 * or fetch anything), and reports every error with its line, including a
 * document cut short with elements still open.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lists/xml_stream.h"
#include "util/utf8.h"

int
hg_xstream_init_file(hg_xstream_t *x, FILE *fp)
{
    memset(x, 0, sizeof(*x));
    return hg_src_init_file(&x->src, fp);
}

void
hg_xstream_free(hg_xstream_t *x)
{
    hg_src_free(&x->src);
}

static hg_xt_t
xs_error(hg_xstream_t *x, const char *why)
{
    x->why = x->src.ioerr ? "read error" : why;
    x->err_line = x->src.line;
    x->done = 1;
    return HG_XT_ERROR;
}

static hg_xt_t
xs_error_name(hg_xstream_t *x, const char *fmt, const char *a, const char *b)
{
    snprintf(x->whybuf, sizeof(x->whybuf), fmt, a, b);
    return xs_error(x, x->whybuf);
}

static int
xs_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
xs_namechar(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == ':' || c == '-'
           || c == '.' || c >= 0x80;
}

static void
xs_skip_space(hg_xstream_t *x)
{
    while (xs_space(hg_src_peek(&x->src))) {
        hg_src_getc(&x->src);
    }
}

/* A name at the current position into out; -1 (error set) if none/long. */
static int
xs_name(hg_xstream_t *x, char *out)
{
    size_t  n = 0;

    while (xs_namechar(hg_src_peek(&x->src))) {
        if (n == HG_XSTREAM_NAME_MAX) {
            xs_error(x, "name longer than 128 bytes");
            return -1;
        }
        out[n++] = (char) hg_src_getc(&x->src);
    }
    out[n] = '\0';
    if (n == 0) {
        xs_error(x, hg_src_peek(&x->src) < 0 ? "truncated XML inside a tag"
                 : "expected a name");
        return -1;
    }
    return 0;
}

/* Append a byte to a bounded buffer; flags overflow. */
static void
xs_put(char *buf, size_t *len, int *overflow, unsigned char c)
{
    if (*len < HG_XSTREAM_TEXT_MAX) {
        buf[(*len)++] = (char) c;
    } else {
        *overflow = 1;
    }
}

/* After '&': decode one entity reference into buf. -1 on error. */
static int
xs_entity(hg_xstream_t *x, char *buf, size_t *len, int *overflow)
{
    char           ref[12];
    unsigned char  u[HG_UTF8_MAX];
    size_t         n = 0, i;
    int            c;
    unsigned long  cp = 0;
    char          *end;

    for ( ;; ) {
        c = hg_src_getc(&x->src);
        if (c == ';') {
            break;
        }
        if (c < 0 || n == sizeof(ref) - 1) {
            xs_error(x, "bad entity reference (missing ';')");
            return -1;
        }
        ref[n++] = (char) c;
    }
    ref[n] = '\0';
    if (strcmp(ref, "lt") == 0) {
        cp = '<';
    } else if (strcmp(ref, "gt") == 0) {
        cp = '>';
    } else if (strcmp(ref, "amp") == 0) {
        cp = '&';
    } else if (strcmp(ref, "quot") == 0) {
        cp = '"';
    } else if (strcmp(ref, "apos") == 0) {
        cp = '\'';
    } else if (ref[0] == '#' && n > 1) {
        /* strtoul would take a sign or spaces: the first digit is checked */
        end = ref;
        if (ref[1] == 'x' && isxdigit((unsigned char) ref[2])) {
            cp = strtoul(ref + 2, &end, 16);
        } else if (isdigit((unsigned char) ref[1])) {
            cp = strtoul(ref + 1, &end, 10);
        }
        if (end == ref || *end != '\0' || cp == 0
            || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        {
            xs_error_name(x, "bad character reference &%s;%s", ref, "");
            return -1;
        }
    } else {
        xs_error_name(x, "unknown entity &%s; (no DTD entities are "
                      "accepted)%s", ref, "");
        return -1;
    }
    n = hg_utf8_encode((uint32_t) cp, u);
    for (i = 0; i < n; i++) {
        xs_put(buf, len, overflow, u[i]);
    }
    return 0;
}

/* Skip up to and including the terminator (e.g. "-->"). -1 at EOF. */
static int
xs_skip_until(hg_xstream_t *x, const char *term)
{
    size_t  tl = strlen(term), m = 0;
    int     c;

    while (m < tl) {
        c = hg_src_getc(&x->src);
        if (c < 0) {
            return -1;
        }
        if (c == term[m]) {
            m++;
        } else {
            m = c == term[0] ? 1 : 0;
        }
    }
    return 0;
}

static void
xs_set_local(hg_xstream_t *x)
{
    const char  *colon = strrchr(x->name, ':');

    x->local = colon ? colon + 1 : x->name;
}

static hg_xt_t
xs_end_tag(hg_xstream_t *x)
{
    if (xs_name(x, x->name) != 0) {
        return HG_XT_ERROR;
    }
    xs_skip_space(x);
    if (hg_src_getc(&x->src) != '>') {
        return xs_error(x, "expected '>' to close an end tag");
    }
    if (x->depth == 0) {
        return xs_error_name(x, "</%s> without a start tag%s", x->name, "");
    }
    if (strcmp(x->stack[x->depth - 1], x->name) != 0) {
        return xs_error_name(x, "</%s> does not close <%s>", x->name,
                             x->stack[x->depth - 1]);
    }
    x->depth--;
    xs_set_local(x);
    return HG_XT_END;
}

static hg_xt_t
xs_start_tag(hg_xstream_t *x)
{
    hg_xattr_t  *a;
    size_t       i, len;
    int          c, q, overflow;

    if (x->depth == 0 && x->seen_root) {
        return xs_error(x, "a second root element");
    }
    if (x->depth == HG_XSTREAM_DEPTH) {
        return xs_error(x, "XML nested too deeply");
    }
    if (xs_name(x, x->name) != 0) {
        return HG_XT_ERROR;
    }
    x->nattr = 0;
    for ( ;; ) {
        c = hg_src_peek(&x->src);
        if (xs_space(c)) {
            xs_skip_space(x);
            c = hg_src_peek(&x->src);
        }
        if (c == '>' || c == '/') {
            hg_src_getc(&x->src);
            if (c == '/' && hg_src_getc(&x->src) != '>') {
                return xs_error(x, "expected '>' after '/' in a tag");
            }
            x->pending_end = c == '/';
            break;
        }
        if (c < 0) {
            return xs_error(x, "truncated XML inside a tag");
        }
        if (x->nattr == HG_XSTREAM_ATTRS_MAX) {
            return xs_error(x, "more than 16 attributes on one element");
        }
        a = &x->attr[x->nattr];
        if (xs_name(x, a->name) != 0) {
            return HG_XT_ERROR;
        }
        for (i = 0; i < x->nattr; i++) {
            if (strcmp(x->attr[i].name, a->name) == 0) {
                return xs_error_name(x, "duplicate attribute %s on <%s>",
                                     a->name, x->name);
            }
        }
        xs_skip_space(x);
        if (hg_src_getc(&x->src) != '=') {
            return xs_error(x, "expected '=' after an attribute name");
        }
        xs_skip_space(x);
        q = hg_src_getc(&x->src);
        if (q != '"' && q != '\'') {
            return xs_error(x, "expected a quoted attribute value");
        }
        len = 0;
        overflow = 0;
        for ( ;; ) {
            c = hg_src_getc(&x->src);
            if (c == q) {
                break;
            }
            if (c < 0) {
                return xs_error(x, "truncated XML inside an attribute value");
            }
            if (c == '<') {
                return xs_error(x, "'<' in an attribute value");
            }
            if (c == '&') {
                if (xs_entity(x, a->value, &len, &overflow) != 0) {
                    return HG_XT_ERROR;
                }
                continue;
            }
            xs_put(a->value, &len, &overflow, (unsigned char) c);
        }
        a->value[len] = '\0';
        x->nattr++;
    }
    memcpy(x->stack[x->depth++], x->name, sizeof(x->name));
    x->seen_root = 1;
    xs_set_local(x);
    return HG_XT_START;
}

hg_xt_t
hg_xstream_next(hg_xstream_t *x)
{
    int  c, ws;

    if (x->done) {
        return x->why ? HG_XT_ERROR : HG_XT_EOF;
    }
    if (x->pending_end) {
        x->pending_end = 0;
        x->depth--;
        memcpy(x->name, x->stack[x->depth], sizeof(x->name));
        xs_set_local(x);
        return HG_XT_END;
    }

    for ( ;; ) {
        x->ev_line = x->src.line;
        x->text_len = 0;
        x->text_overflow = 0;
        ws = 1;
        while ((c = hg_src_peek(&x->src)) >= 0 && c != '<') {
            hg_src_getc(&x->src);
            if (c == '&') {
                if (xs_entity(x, x->text, &x->text_len, &x->text_overflow)
                    != 0)
                {
                    return HG_XT_ERROR;
                }
                ws = 0;
                continue;
            }
            if (!xs_space(c)) {
                ws = 0;
            }
            xs_put(x->text, &x->text_len, &x->text_overflow, (unsigned char) c);
        }
        x->text[x->text_len] = '\0';
        if (x->depth == 0 && !ws) {
            return xs_error(x, "text outside the root element");
        }
        if (x->depth > 0 && x->text_len > 0) {
            return HG_XT_TEXT;
        }
        if (c < 0) {
            if (x->src.ioerr) {
                return xs_error(x, "read error");
            }
            if (x->depth > 0) {
                return xs_error_name(x, "truncated XML: <%s> is not closed%s",
                                     x->stack[x->depth - 1], "");
            }
            if (!x->seen_root) {
                return xs_error(x, "no XML element in the file");
            }
            x->done = 1;
            return HG_XT_EOF;
        }

        x->ev_line = x->src.line;
        hg_src_getc(&x->src);           /* '<' */
        c = hg_src_peek(&x->src);
        if (c == '/') {
            hg_src_getc(&x->src);
            return xs_end_tag(x);
        }
        if (c == '?') {
            if (xs_skip_until(x, "?>") != 0) {
                return xs_error(x, "truncated XML: unterminated <?...?>");
            }
            continue;
        }
        if (c != '!') {
            return xs_start_tag(x);
        }
        hg_src_getc(&x->src);
        c = hg_src_getc(&x->src);
        if (c == '-' && hg_src_getc(&x->src) == '-') {
            if (xs_skip_until(x, "-->") != 0) {
                return xs_error(x, "truncated XML: unterminated comment");
            }
            continue;
        }
        if (c == '[' && hg_src_getc(&x->src) == 'C'
            && hg_src_getc(&x->src) == 'D' && hg_src_getc(&x->src) == 'A'
            && hg_src_getc(&x->src) == 'T' && hg_src_getc(&x->src) == 'A'
            && hg_src_getc(&x->src) == '[')
        {
            if (x->depth == 0) {
                return xs_error(x, "CDATA outside the root element");
            }
            /* CDATA: copied as is up to "]]>" (tracked apart from the
             * text, which may have overflowed) */
            x->text_len = 0;
            ws = 0;
            for ( ;; ) {
                c = hg_src_getc(&x->src);
                if (c < 0) {
                    return xs_error(x, "truncated XML: unterminated CDATA");
                }
                if (c == '>' && ws >= 2) {
                    break;
                }
                ws = c == ']' ? ws + 1 : 0;
                xs_put(x->text, &x->text_len, &x->text_overflow,
                       (unsigned char) c);
            }
            /* the "]]" before '>' was copied */
            x->text_len = x->text_len >= 2 ? x->text_len - 2 : 0;
            x->text[x->text_len] = '\0';
            return HG_XT_TEXT;
        }
        if (c == 'D') {
            return xs_error(x, "DOCTYPE is not accepted (no DTDs or entities)");
        }
        return xs_error(x, "unexpected '<!'");
    }
}

const char *
hg_xstream_attr(const hg_xstream_t *x, const char *name)
{
    const char  *colon, *local;
    size_t       i;

    for (i = 0; i < x->nattr; i++) {
        colon = strrchr(x->attr[i].name, ':');
        local = colon ? colon + 1 : x->attr[i].name;
        if (strcasecmp(local, name) == 0) {
            return x->attr[i].value;
        }
    }
    return NULL;
}
