/*
 * read_csv.c - CSV exports with a header naming the digest column(s).
 *
 * Spreadsheets and case-management tools export hash lists as CSV, and the
 * INTERPOL ICSE / Baseline style uses ';' with a "MD5;SHA1;..." header, so
 * one reader serves both: the separator is whichever of ',' and ';' makes
 * the header name a digest column. Columns are found by name, case-
 * insensitively: md5, sha1 / sha-1, sha256 / sha-256 (any number of them),
 * size (also filesize, file_size, mediasize) and label (also name,
 * filename). A row may carry several digests: each becomes one entry with
 * the row's size and label, all of one record (the row is one file); an
 * empty digest cell is simply absent. A "pdq" column holds PDQ hashes (64
 * hex digits), a "quality" (or "pdq_quality") column their quality: the
 * PDQ hash is an entry of its own beside the row's digests (searched, not
 * looked up: no part of the record), with the row's label.
 *
 * Fields follow RFC 4180: a field may be quoted, a quote inside is doubled,
 * and a quoted field may hold separators and line breaks (a record then
 * spans lines, up to HG_LIST_LINE_MAX bytes in all).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>

#include "hashgate/list.h"
#include "hashgate/pdq.h"
#include "lists/list_util.h"

/* alg_col of the PDQ column: no hg_alg_t */
#define CSV_PDQ         100

/* Columns in one record. Exports have a dozen or two; the bound keeps the
 * field table fixed-size. */
#define CSV_FIELDS_MAX  256

/* Digests on one row: one per digest column, bounded by the columns. */
#define CSV_DIGESTS_MAX  CSV_FIELDS_MAX

typedef struct {
    char        *rec;           /* raw record, HG_LIST_LINE_MAX + 1 */
    size_t       rec_len;
    char        *fbuf;          /* unquoted fields, NUL-terminated */
    const char  *field[CSV_FIELDS_MAX];
    size_t       flen[CSV_FIELDS_MAX];
    size_t       nfields;
    char         sep;
    size_t       ncols;         /* columns the header names */
    int          alg_col[CSV_FIELDS_MAX];   /* hg_alg_t of a column, or -1 */
    long         size_col;
    long         label_col;
    long         quality_col;
} csv_t;

/* Split c->rec into fields. 0 done, 1 inside a quoted field at the end
 * (the record continues on the next line), -1 malformed (*why). */
static int
csv_split(csv_t *c, const char **why)
{
    const char  *p = c->rec, *end = c->rec + c->rec_len;
    char        *o = c->fbuf;

    c->nfields = 0;
    for ( ;; ) {
        if (c->nfields == CSV_FIELDS_MAX) {
            *why = "more than 256 fields";
            return -1;
        }
        c->field[c->nfields] = o;
        if (p < end && *p == '"') {
            p++;
            for ( ;; ) {
                if (p >= end) {
                    return 1;
                }
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        *o++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *o++ = *p++;
            }
            if (p < end && *p != c->sep) {
                *why = "text after a closing quote";
                return -1;
            }
        } else {
            while (p < end && *p != c->sep) {
                if (*p == '"') {
                    *why = "quote inside an unquoted field";
                    return -1;
                }
                *o++ = *p++;
            }
        }
        c->flen[c->nfields] = o - c->field[c->nfields];
        *o++ = '\0';
        c->nfields++;
        if (p >= end) {
            return 0;
        }
        p++;    /* the separator */
    }
}

/*
 * Read one record (which may span lines) into c->rec and split it.
 * Returns 1 with *bad NULL for a record, 1 with *bad set for a bad one,
 * 0 at the end, -1 on a read error.
 */
static int
csv_record(csv_t *c, hg_src_t *src, uint64_t *lineno, const char **bad)
{
    size_t  len;
    int     rc, too_long, split;

    *bad = NULL;
    *lineno = src->line;
    rc = hg_src_line(src, c->rec, HG_LIST_LINE_MAX, &len, &too_long);
    if (rc <= 0) {
        return rc;
    }
    c->rec_len = len;
    for ( ;; ) {
        if (too_long) {
            *bad = "record longer than 65536 bytes";
            return 1;
        }
        split = csv_split(c, bad);
        if (split <= 0) {
            return 1;
        }
        /* a quoted field goes on: join the next line with its line break */
        if (c->rec_len + 1 >= HG_LIST_LINE_MAX) {
            *bad = "record longer than 65536 bytes";
            return 1;
        }
        c->rec[c->rec_len++] = '\n';
        rc = hg_src_line(src, c->rec + c->rec_len,
                         HG_LIST_LINE_MAX - c->rec_len, &len, &too_long);
        if (rc < 0) {
            return -1;
        }
        if (rc == 0) {
            *bad = "unterminated quoted field at end of file";
            return 1;
        }
        c->rec_len += len;
    }
}

static int
csv_col_is(const char *s, size_t len, const char *const *names)
{
    for ( ; *names != NULL; names++) {
        if (hg_list_word_eq(s, len, *names)) {
            return 1;
        }
    }
    return 0;
}

static const char *const csv_size_names[] = {
    "size", "filesize", "file_size", "file size", "mediasize", NULL
};
static const char *const csv_label_names[] = {
    "label", "name", "filename", "file_name", NULL
};
static const char *const csv_quality_names[] = {
    "quality", "pdq_quality", "pdq quality", NULL
};

/* Map the header's columns; returns how many digest columns it names. */
static int
csv_header(csv_t *c, const char **why)
{
    char         name[16];
    const char  *s;
    size_t       i, len;
    int          alg, ndigest = 0;
    unsigned     seen = 0;

    c->size_col = -1;
    c->label_col = -1;
    c->quality_col = -1;
    c->ncols = c->nfields;
    *why = NULL;
    for (i = 0; i < c->nfields; i++) {
        s = c->field[i];
        len = c->flen[i];
        hg_list_trim(&s, &len);
        c->alg_col[i] = -1;
        alg = -1;
        if (len < sizeof(name)) {
            memcpy(name, s, len);
            name[len] = '\0';
            alg = hg_alg_from_name(name);
            if (hg_list_word_eq(s, len, "pdq")) {
                alg = CSV_PDQ;
            }
        }
        if (alg == CSV_PDQ) {
            if (seen & 0x100) {
                *why = "the header names a digest column twice";
            }
            seen |= 0x100;
            c->alg_col[i] = alg;
            ndigest++;
        } else if (alg >= 0) {
            if (seen & HG_ALG_BIT(alg)) {
                *why = "the header names a digest column twice";
            }
            seen |= HG_ALG_BIT(alg);
            c->alg_col[i] = alg;
            ndigest++;
        } else if (c->size_col < 0 && csv_col_is(s, len, csv_size_names)) {
            c->size_col = (long) i;
        } else if (c->label_col < 0 && csv_col_is(s, len, csv_label_names)) {
            c->label_col = (long) i;
        } else if (c->quality_col < 0
                   && csv_col_is(s, len, csv_quality_names))
        {
            c->quality_col = (long) i;
        }
    }
    return ndigest;
}

static int
csv_blank(const char *s, size_t len)
{
    hg_list_trim(&s, &len);
    return len == 0;
}

/* Try sep on the header record; keeps the split when it names digests. */
static int
csv_try_sep(csv_t *c, char sep, const char **why)
{
    const char  *bad;

    c->sep = sep;
    if (csv_split(c, &bad) != 0) {
        return 0;
    }
    return csv_header(c, why);
}

static hg_status_t
csv_row(csv_t *c, hg_lctx_t *lc, uint64_t lineno)
{
    hg_entry_t   e[CSV_DIGESTS_MAX];
    size_t       i, n = 0, len;
    const char  *s, *why;
    int          has_size = 0, quality = -1;
    uint64_t     size = 0;
    const char  *label = NULL;
    uint64_t     rec;
    hg_status_t  st;

    /* every cell is checked before anything is handed on: a bad row is
     * skipped whole, never half-used */
    /* cells past the header's columns belong to no column */
    for (i = 0; i < c->nfields && i < c->ncols; i++) {
        s = c->field[i];
        len = c->flen[i];
        hg_list_trim(&s, &len);
        if (c->alg_col[i] >= 0) {
            if (len == 0) {
                continue;
            }
            memset(&e[n], 0, sizeof(e[n]));
            if (c->alg_col[i] == CSV_PDQ) {
                if (hg_entry_parse_pdq(&e[n], s, len, &why) != 0) {
                    return hg_lctx_bad(lc, lineno, "column %zu (pdq): %s",
                                       i + 1, why);
                }
                n++;
                continue;
            }
            if (hg_list_parse_digest_as(&e[n], c->alg_col[i], s, len, &why)
                != 0)
            {
                return hg_lctx_bad(lc, lineno, "column %zu (%s): %s", i + 1,
                                   hg_alg_name(c->alg_col[i]), why);
            }
            n++;
        } else if ((long) i == c->size_col && len > 0) {
            if (hg_list_parse_u64(s, len, &size) != 0) {
                return hg_lctx_bad(lc, lineno, "column %zu (size): \"%.*s\" "
                                   "is not a number", i + 1,
                                   (int) (len > 32 ? 32 : len), s);
            }
            has_size = 1;
        } else if ((long) i == c->label_col && len > 0) {
            ((char *) s)[len] = '\0';
            label = s;
        } else if ((long) i == c->quality_col && len > 0) {
            quality = hg_entry_parse_quality(s, len, &why);
            if (quality < 0) {
                return hg_lctx_bad(lc, lineno, "column %zu (quality): %s",
                                   i + 1, why);
            }
        }
    }
    if (n == 0) {
        return hg_lctx_bad(lc, lineno, "no digest in the row");
    }
    /* a row is one file: its digest columns are one record */
    rec = hg_lctx_record(lc);
    for (i = 0; i < n; i++) {
        e[i].record = rec;
        e[i].has_size = e[i].pdq ? 0 : has_size;
        e[i].size = e[i].pdq ? 0 : size;
        e[i].label = label;
        if (e[i].pdq) {
            e[i].quality = quality;
        }
        st = hg_lctx_emit(lc, &e[i]);
        if (st != HG_OK) {
            return st;
        }
    }
    return HG_OK;
}

/* True when the first line of head names a digest column, split by sep. */
static int
csv_head_names_digest(const unsigned char *head, size_t len, char sep)
{
    const char  *p = (const char *) head, *end = p + len, *f, *nl;
    char         name[16];
    size_t       fl;

    p += hg_list_bom_len(head, len);
    nl = memchr(p, '\n', end - p);
    if (nl == NULL) {
        return 0;
    }
    while (p <= nl) {
        f = p;
        while (p < nl && *p != sep) {
            p++;
        }
        fl = p - f;
        if (fl > 0 && f[fl - 1] == '\r') {
            fl--;
        }
        hg_list_trim(&f, &fl);
        if (fl >= 2 && f[0] == '"' && f[fl - 1] == '"') {
            f++;
            fl -= 2;
        }
        if (fl < sizeof(name)) {
            memcpy(name, f, fl);
            name[fl] = '\0';
            if (hg_alg_from_name(name) >= 0 || hg_list_word_eq(f, fl, "pdq")) {
                return 1;
            }
        }
        p++;
    }
    return 0;
}

/* 80 when the first line is a header naming a digest column (with a .csv
 * name: 85); 30 for a .csv name alone. */
static int
csv_probe(const char *path, const unsigned char *head, size_t head_len)
{
    int  ext = hg_list_has_ext(path, ".csv");

    if (csv_head_names_digest(head, head_len, ',')
        || csv_head_names_digest(head, head_len, ';'))
    {
        return ext ? 85 : 80;
    }
    return ext ? 30 : 0;
}

static hg_status_t
csv_read(FILE *fp, const char *path, const hg_read_opts_t *opts,
         hg_entry_cb cb, void *cb_ctx, hg_read_stats_t *stats, hg_err_t *err)
{
    hg_lctx_t    lc;
    hg_src_t     src;
    csv_t       *c;
    uint64_t     lineno;
    const char  *bad, *why;
    int          rc, have_header = 0, n1, n2;
    hg_status_t  st = HG_OK;

    hg_lctx_init(&lc, path, opts, cb, cb_ctx, stats, err);
    c = calloc(1, sizeof(*c));
    if (c != NULL) {
        c->rec = malloc(HG_LIST_LINE_MAX + 1);
        c->fbuf = malloc(HG_LIST_LINE_MAX + 1);
    }
    if (c == NULL || c->rec == NULL || c->fbuf == NULL
        || hg_src_init_file(&src, fp) != 0)
    {
        if (c != NULL) {
            free(c->rec);
            free(c->fbuf);
        }
        free(c);
        return hg_err_set(err, HG_ENOMEM, "%s: out of memory", lc.path);
    }

    for ( ;; ) {
        c->sep = have_header ? c->sep : ',';
        rc = csv_record(c, &src, &lineno, &bad);
        if (rc <= 0) {
            if (rc < 0) {
                st = hg_lctx_ioerr(&lc);
            } else if (!have_header) {
                st = hg_lctx_fail(&lc, lineno, "no CSV header (empty file)");
            }
            break;
        }
        if (csv_blank(c->rec, c->rec_len)) {
            continue;
        }

        if (!have_header) {
            /* the separator is the one under which the header names
             * digest columns; with both, the one giving more columns */
            why = NULL;
            n2 = csv_try_sep(c, ';', &why);
            n1 = csv_try_sep(c, ',', &why);
            if (n2 > n1) {
                csv_try_sep(c, ';', &why);
            }
            if (n1 == 0 && n2 == 0) {
                st = hg_lctx_fail(&lc, lineno, "the CSV header names no md5, "
                                  "sha1 or sha256 column");
                break;
            }
            if (why != NULL) {
                st = hg_lctx_fail(&lc, lineno, "%s", why);
                break;
            }
            have_header = 1;
            continue;
        }

        if (bad != NULL) {
            st = hg_lctx_bad(&lc, lineno, "%s", bad);
        } else {
            st = csv_row(c, &lc, lineno);
        }
        if (st != HG_OK) {
            break;
        }
    }

    hg_src_free(&src);
    free(c->rec);
    free(c->fbuf);
    free(c);
    return st;
}

const hg_reader_t hg_reader_csv = {
    "csv",
    "CSV with a header naming md5/sha1/sha256 columns (',' or ';'), "
    "optional size and label columns; also INTERPOL ICSE/Baseline style",
    csv_probe,
    csv_read
};
