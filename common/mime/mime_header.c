/*
 * mime_header.c - Content-Type, Content-Transfer-Encoding and
 * Content-Disposition, read from a part's raw header block and decoded.
 *
 * This file finds the fields and takes from them what the unpacker needs
 * (type, boundary, encoding, file name), and notices a field repeated in a
 * way that would make readers disagree. Parameters (mime_rfc2231.c),
 * encoded words (mime_rfc2047.c) and charsets (mime_charset.c) have their
 * own files; mime_header.h is the interface of all four. Every name leaving
 * them is valid UTF-8 without NULs. Parsing follows what Python's email
 * package (compat32) accepts, since tests compare against it: the first
 * occurrence of a field wins.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime/mime_header.h"
#include "mime/mime_header_int.h"

hg_status_t
hg_mime_content_type(const char *value, size_t len, char *type, size_t size,
                     char **boundary, int *twice)
{
    const char *p = value, *end = value + len, *te;
    size_t      n, i, slashes = 0, blen = 0;
    char       *b;
    hg_status_t st;

    *boundary = NULL;
    type[0] = '\0';
    p = hg_mime_skip_ws(p, end);
    te = hg_mime_param_end(p, end);
    while (te > p && isspace((unsigned char) te[-1])) {
        te--;
    }
    n = (size_t) (te - p);
    if (n > 0 && n < size) {
        for (i = 0; i < n; i++) {
            type[i] = p[i] == '\0' ? ' ' : (char) tolower((unsigned char) p[i]);
            slashes += p[i] == '/';
        }
        type[n] = '\0';
        if (slashes != 1 || type[0] == '/' || type[n - 1] == '/') {
            type[0] = '\0';
        }
    }
    st = hg_mime_param_read(value, len, "boundary", &b, NULL, &blen, twice);
    if (st != HG_OK) {
        free(b);
        return st;
    }
    if (b != NULL && memchr(b, '\0', blen) != NULL) {
        free(b);
        return HG_EFORMAT;
    }
    if (b != NULL) {
        /* Python strips trailing blanks from a boundary */
        n = strlen(b);
        while (n > 0 && (b[n - 1] == ' ' || b[n - 1] == '\t')) {
            b[--n] = '\0';
        }
        if (n == 0) {
            free(b);
            b = NULL;
        }
    }
    *boundary = b;
    return HG_OK;
}

void
hg_mime_fields_init(hg_mime_fields_t *f)
{
    memset(f, 0, sizeof(*f));
}

void
hg_mime_fields_free(hg_mime_fields_t *f)
{
    free(f->boundary);
    free(f->filename);
    free(f->field_name);
    hg_mime_fields_init(f);
}

/*
 * The unfolded value of the field starting at p (malloc'd). NULs become
 * spaces, unless keep_nul: a boundary must be seen as sent to be refused.
 */
static char *
_field_value(const char *v, const char *end, size_t *outlen, int keep_nul)
{
    char   *out, *o;

    if ((out = malloc((size_t) (end - v) + 1)) == NULL) {
        return NULL;
    }
    o = out;
    for (; v < end; v++) {
        if (*v == '\r' || *v == '\n') {
            continue;
        }
        *o++ = *v == '\0' && !keep_nul ? ' ' : *v;
    }
    *o = '\0';
    *outlen = (size_t) (o - out);
    return out;
}

/*
 * What a Content-Type makes of a part, as far as hashing goes: a multipart
 * with this boundary, an attached message, text (searched for uuencoded
 * blocks) or any other leaf, whose bytes hash the same whatever its type.
 */
static int
_type_class(const char *type, const char *boundary)
{
    if (strncmp(type, "multipart/", 10) == 0 && boundary != NULL) {
        return 1;
    }
    if (strcmp(type, "message/rfc822") == 0
        || strcmp(type, "message/global") == 0)
    {
        return 2;
    }
    if (strcmp(type, "text/plain") == 0 || type[0] == '\0') {
        return 3;                       /* absent or malformed: text/plain */
    }
    return 4;
}

/*
 * A second Content-Type (v, n: unfolded, NULs kept) against what the first
 * gave f: 1 if a reader taking it would see another structure, -1: no
 * memory.
 */
static int
_type_disagrees(const hg_mime_fields_t *f, const char *v, size_t n)
{
    char        type[HG_MIME_TYPE_MAX + 1], *b = NULL;
    int         c1, c2, twice = 0, differ;
    hg_status_t st;

    st = hg_mime_content_type(v, n, type, sizeof(type), &b, &twice);
    if (st == HG_ENOMEM) {
        return -1;
    }
    if (st == HG_EFORMAT || twice || f->boundary_nul) {
        free(b);
        return 1;               /* a NUL or a doubled boundary: refused */
    }
    c1 = _type_class(f->type, f->boundary);
    c2 = _type_class(type, b);
    differ = c1 != c2
             || (c1 == 1 && strcmp(f->boundary, b) != 0);
    free(b);
    return differ;
}

/* The decoder an encoding token selects (unpack.c picks the same way). */
static int
_encoding_class(const char *e)
{
    if (strcmp(e, "base64") == 0) {
        return 1;
    }
    if (strcmp(e, "quoted-printable") == 0) {
        return 2;
    }
    return strstr(e, "uu") != NULL ? 3 : 0;
}

/* The first token of a Content-Transfer-Encoding value, lowercase. */
static void
_encoding_token(const char *v, size_t n, char *out)
{
    const char *end = v + n;
    size_t      k = 0;

    v = hg_mime_skip_ws(v, end);
    for (; v < end && k < HG_MIME_ENCODING_MAX; v++) {
        unsigned char c = (unsigned char) *v;

        if (isspace(c) || c == ';' || c == '(') {
            break;
        }
        out[k++] = (char) tolower(c);
    }
    out[k] = '\0';
}

/* A filename parameter, RFC 2047 decoded unless RFC 2231 was used. */
static hg_status_t
_name_param(const char *v, size_t n, const char *name, char **out)
{
    char       *raw, *dec;
    int         ext;
    hg_status_t st;

    if ((st = hg_mime_param(v, n, name, &raw, &ext)) != HG_OK) {
        return st;
    }
    if (raw == NULL || ext || strstr(raw, "=?") == NULL) {
        *out = raw;
        return HG_OK;
    }
    dec = hg_mime_decode_words(raw, strlen(raw));
    free(raw);
    *out = dec;
    return dec != NULL ? HG_OK : HG_ENOMEM;
}

enum { FIELD_OTHER = 0, FIELD_TYPE, FIELD_DISPOSITION, FIELD_ENCODING };

/*
 * The field starting at p: which one it is, where its value starts (*val,
 * after the colon) and where it ends (returned: the first line end not
 * followed by a blank, or end).
 */
static const char *
_next_field(const char *p, const char *end, int *which, const char **val)
{
    const char *fe = p, *le, *colon;
    size_t      nlen;

    for (;;) {
        le = memchr(fe, '\n', (size_t) (end - fe));
        if (le == NULL) {
            fe = end;
            break;
        }
        fe = le + 1;
        if (fe >= end || (*fe != ' ' && *fe != '\t')) {
            break;
        }
    }
    *which = FIELD_OTHER;
    if ((colon = memchr(p, ':', (size_t) (fe - p))) == NULL) {
        return fe;
    }
    *val = colon + 1;
    nlen = (size_t) (colon - p);
    while (nlen > 0 && (p[nlen - 1] == ' ' || p[nlen - 1] == '\t')) {
        nlen--;
    }
    if (nlen == 12 && strncasecmp(p, "content-type", 12) == 0) {
        *which = FIELD_TYPE;
    } else if (nlen == 19 && strncasecmp(p, "content-disposition", 19) == 0) {
        *which = FIELD_DISPOSITION;
    } else if (nlen == 25
               && strncasecmp(p, "content-transfer-encoding", 25) == 0) {
        *which = FIELD_ENCODING;
    }
    return fe;
}

/*
 * Every Content-Type and Content-Transfer-Encoding after the first against
 * what the first gave f: sets f->conflict where they disagree.
 */
static hg_status_t
_find_conflict(hg_mime_fields_t *f, const char *p, const char *end)
{
    const char *fe, *val = NULL;
    char       *v, enc[HG_MIME_ENCODING_MAX + 1];
    size_t      vn;
    int         which, seen_type = 0, seen_enc = 0, d;

    for (; p < end && f->conflict == NULL; p = fe) {
        fe = _next_field(p, end, &which, &val);
        if (which == FIELD_TYPE && seen_type++ > 0) {
            if ((v = _field_value(val, fe, &vn, 1)) == NULL) {
                return HG_ENOMEM;
            }
            d = _type_disagrees(f, v, vn);
            free(v);
            if (d < 0) {
                return HG_ENOMEM;
            }
            f->conflict = d ? "Content-Type" : NULL;
        } else if (which == FIELD_ENCODING && seen_enc++ > 0) {
            if ((v = _field_value(val, fe, &vn, 0)) == NULL) {
                return HG_ENOMEM;
            }
            _encoding_token(v, vn, enc);
            free(v);
            if (_encoding_class(enc) != _encoding_class(f->encoding)) {
                f->conflict = "Content-Transfer-Encoding";
            }
        }
    }
    return HG_OK;
}

hg_status_t
hg_mime_fields_parse(hg_mime_fields_t *f, const char *block, size_t len)
{
    const char *p = block, *end, *fe, *val = NULL;
    char       *ct = NULL, *cd = NULL, *cte = NULL, **slot, *tn = NULL;
    char       *ctraw = NULL;
    size_t      ctn = 0, cdn = 0, cten = 0, ctrawn = 0, vn;
    int         which, twice = 0;
    hg_status_t st = HG_OK;

    if (len == 0) {
        return HG_OK;           /* block may be NULL: no arithmetic on it */
    }
    end = block + len;
    for (; p < end; p = fe) {
        fe = _next_field(p, end, &which, &val);
        slot = which == FIELD_TYPE ? &ct
               : which == FIELD_DISPOSITION ? &cd
               : which == FIELD_ENCODING ? &cte : NULL;
        if (slot == NULL || *slot != NULL) {
            continue;
        }
        if ((*slot = _field_value(val, fe, &vn, 0)) == NULL) {
            st = HG_ENOMEM;
            goto out;
        }
        if (slot == &ct) {
            ctn = vn;
            if ((ctraw = _field_value(val, fe, &ctrawn, 1)) == NULL) {
                st = HG_ENOMEM;
                goto out;
            }
        } else if (slot == &cd) {
            cdn = vn;
        } else {
            cten = vn;
        }
    }

    if (ct != NULL) {
        f->has_type = 1;
        st = hg_mime_content_type(ctraw, ctrawn, f->type, sizeof(f->type),
                                  &f->boundary, &twice);
        if (st == HG_EFORMAT) {
            f->boundary_nul = 1;
            st = HG_OK;
        }
        if (st != HG_OK) {
            goto out;
        }
        if (twice && strncmp(f->type, "multipart/", 10) == 0) {
            f->conflict = "Content-Type";       /* its boundary, twice */
        }
    }
    if (cte != NULL) {
        _encoding_token(cte, cten, f->encoding);
    }
    if (cd != NULL) {
        if ((st = _name_param(cd, cdn, "filename", &f->filename)) != HG_OK
            || (st = _name_param(cd, cdn, "name", &f->field_name)) != HG_OK)
        {
            goto out;
        }
    }
    if (f->filename == NULL && ct != NULL) {
        if ((st = _name_param(ct, ctn, "name", &tn)) != HG_OK) {
            goto out;
        }
        f->filename = tn;
    }
    if (f->conflict == NULL) {
        st = _find_conflict(f, block, end);
    }
out:
    free(ct);
    free(ctraw);
    free(cd);
    free(cte);
    return st;
}
