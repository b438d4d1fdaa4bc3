/*
 * evread.c - evidence log files read back line by line: plain, gzip, xz or
 * zstd, and the rotated files beside a log.
 *
 * logrotate compresses old logs (gzip by default, xz or zstd where an
 * operator set compresscmd), so a report over the last year reads mostly
 * compressed files. Each is decompressed as a stream into a fixed input
 * buffer; only the current line is kept, and a line longer than
 * HG_EVREAD_LINE_MAX is skipped whole, so memory does not grow with a
 * file. The compression is known by the file's first bytes, never its
 * name: a rotated file not yet compressed (delaycompress) and a file
 * renamed by hand read alike.
 *
 * A file that ends inside a line has a torn last line: the writer puts
 * each record in one write(2) and cuts a short one back, so this is a
 * crash or a copy taken mid-write. It is named and skipped. A compressed
 * file cut short, or with corrupt data, stops with an error naming the
 * file and the last line read: what came before it is still used.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "hashgate/evread.h"

/* Compressed bytes read at a time, and decompressed bytes produced. */
#define EVREAD_IOBUF  (64 * 1024)

typedef enum {
    EVZ_PLAIN = 0,
    EVZ_GZIP,
    EVZ_XZ,
    EVZ_ZSTD
} evz_t;

struct hg_evread_s {
    char           *path;
    int             fd;
    evz_t           z;
    gzFile          gz;         /* EVZ_GZIP: zlib reads the fd itself */
    lzma_stream     xz;
    ZSTD_DStream   *zs;
    size_t          zs_last;    /* ZSTD_decompressStream's last hint: 0 at
                                 * the end of a frame */
    int             in_eof;
    unsigned char  *in;         /* compressed input (xz, zstd) */
    size_t          in_pos, in_len;

    unsigned char  *out;        /* decompressed bytes not yet split */
    size_t          out_pos, out_len;
    int             out_eof;    /* no more decompressed bytes */
    const char     *late;       /* an error found while returning bytes
                                 * decoded before it: reported next */

    char           *line;       /* the line being assembled */
    size_t          line_len;
    size_t          line_cap;
    int             skipping;   /* inside a line over the limit */
    uint64_t        lineno;     /* of the line last returned */

    char           *strbuf;     /* the record's strings */
    size_t          strbuf_cap;

    int             done;
    uint64_t        counts[HG_EVREAD_KINDS];
};

static const char *const _evread_kind_names[HG_EVREAD_KINDS] = {
    "record", "end", "torn last line", "line too long",
    "not a hashgate record", "record of an unknown version",
    "unreadable record", "read error"
};

const char *
hg_evread_kind_name(hg_evread_kind_t k)
{
    return (unsigned) k < HG_EVREAD_KINDS ? _evread_kind_names[k] : "?";
}

const uint64_t *
hg_evread_counts(const hg_evread_t *r)
{
    return r->counts;
}

/* What the first bytes say the file is; -1 for a format not read here. */
static int
_evread_sniff(const unsigned char *b, size_t n, evz_t *z)
{
    static const unsigned char xz_magic[6] = { 0xFD, '7', 'z', 'X', 'Z', 0 };

    *z = EVZ_PLAIN;
    if (n >= 2 && b[0] == 0x1F && b[1] == 0x8B) {
        *z = EVZ_GZIP;
    } else if (n >= 6 && memcmp(b, xz_magic, 6) == 0) {
        *z = EVZ_XZ;
    } else if (n >= 4 && b[0] == 0x28 && b[1] == 0xB5 && b[2] == 0x2F
               && b[3] == 0xFD)
    {
        *z = EVZ_ZSTD;
    } else if (n >= 3 && b[0] == 'B' && b[1] == 'Z' && b[2] == 'h') {
        return -1;
    }
    return 0;
}

hg_status_t
hg_evread_open(const char *path, hg_evread_t **out, hg_err_t *err)
{
    hg_evread_t    *r;
    unsigned char   head[8];
    ssize_t         n;
    int             fd;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        return hg_err_sys(err, HG_EIO, "%s: cannot open", path);
    }
    do {
        n = pread(fd, head, sizeof(head), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        hg_err_sys(err, HG_EIO, "%s: cannot read", path);
        close(fd);
        return HG_EIO;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        close(fd);
        return hg_err_set(err, HG_ENOMEM, "%s: out of memory", path);
    }
    r->fd = fd;                 /* from here on closed by hg_evread_close */
    if ((r->path = strdup(path)) == NULL
        || (r->out = malloc(EVREAD_IOBUF)) == NULL)
    {
        goto nomem;
    }
    if (_evread_sniff(head, (size_t) n, &r->z) != 0) {
        hg_err_set(err, HG_EIO, "%s: compressed with bzip2, which hashgate "
                   "does not read (decompress it, or use gzip, xz or zstd)",
                   path);
        hg_evread_close(r);
        return HG_EIO;
    }
    switch (r->z) {
    case EVZ_GZIP:
        /* gzread reads concatenated members, as gzip -d does */
        r->gz = gzdopen(fd, "rb");
        if (r->gz == NULL) {
            goto nomem;
        }
        r->fd = -1;             /* closed by gzclose */
        break;
    case EVZ_XZ:
        if ((r->in = malloc(EVREAD_IOBUF)) == NULL
            || lzma_stream_decoder(&r->xz, UINT64_MAX, LZMA_CONCATENATED)
               != LZMA_OK)
        {
            goto nomem;
        }
        break;
    case EVZ_ZSTD:
        if ((r->in = malloc(EVREAD_IOBUF)) == NULL
            || (r->zs = ZSTD_createDStream()) == NULL)
        {
            goto nomem;
        }
        break;
    case EVZ_PLAIN:
        break;
    }
    *out = r;
    return HG_OK;

nomem:
    hg_evread_close(r);
    return hg_err_set(err, HG_ENOMEM, "%s: out of memory", path);
}

void
hg_evread_close(hg_evread_t *r)
{
    if (r == NULL) {
        return;
    }
    if (r->gz != NULL) {
        gzclose(r->gz);
    }
    /* calloc's zeros are LZMA_STREAM_INIT: safe to end unused */
    lzma_end(&r->xz);
    ZSTD_freeDStream(r->zs);
    if (r->fd >= 0) {
        close(r->fd);
    }
    free(r->in);
    free(r->out);
    free(r->line);
    free(r->strbuf);
    free(r->path);
    free(r);
}

/* Refill r->in from the file (xz, zstd); -1 with err on a read error. */
static int
_evread_input(hg_evread_t *r, hg_err_t *err)
{
    ssize_t  n;

    if (r->in_pos < r->in_len || r->in_eof) {
        return 0;
    }
    do {
        n = read(r->fd, r->in, EVREAD_IOBUF);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        hg_err_sys(err, HG_EIO, "%s: read error after line %llu", r->path,
                   (unsigned long long) r->lineno);
        return -1;
    }
    r->in_pos = 0;
    r->in_len = (size_t) n;
    r->in_eof = n == 0;
    return 0;
}

/*
 * Fill r->out with the next decompressed bytes. 0 with out_len > 0, or
 * with out_eof set at the end; -1 with err set on a read or data error.
 */
static int
_evread_fill(hg_evread_t *r, hg_err_t *err)
{
    ssize_t       n;
    int           zerr;
    lzma_ret      lr;
    ZSTD_inBuffer  zi;
    ZSTD_outBuffer zo;

    r->out_pos = r->out_len = 0;
    if (r->late != NULL) {
        hg_err_set(err, HG_EIO, "%s: %s after line %llu", r->path, r->late,
                   (unsigned long long) r->lineno);
        return -1;
    }
    while (r->out_len == 0 && !r->out_eof) {
        switch (r->z) {
        case EVZ_PLAIN:
            do {
                n = read(r->fd, r->out, EVREAD_IOBUF);
            } while (n < 0 && errno == EINTR);
            if (n < 0) {
                hg_err_sys(err, HG_EIO, "%s: read error after line %llu",
                           r->path, (unsigned long long) r->lineno);
                return -1;
            }
            r->out_len = (size_t) n;
            r->out_eof = n == 0;
            break;

        case EVZ_GZIP:
            n = gzread(r->gz, r->out, EVREAD_IOBUF);
            if (n < 0) {
                const char *m = gzerror(r->gz, &zerr);

                hg_err_set(err, HG_EIO, "%s: gzip data broken after line "
                           "%llu: %s", r->path, (unsigned long long) r->lineno,
                           zerr == Z_ERRNO ? strerror(errno) : m);
                return -1;
            }
            r->out_len = (size_t) n;
            r->out_eof = n == 0;
            /* zlib reports a file cut short only as a short read */
            if (n == 0) {
                (void) gzerror(r->gz, &zerr);
                if (zerr != Z_OK && zerr != Z_STREAM_END) {
                    r->late = "gzip data cut short";
                    return _evread_fill(r, err);
                }
            }
            break;

        case EVZ_XZ:
            if (_evread_input(r, err) != 0) {
                return -1;
            }
            r->xz.next_in = r->in + r->in_pos;
            r->xz.avail_in = r->in_len - r->in_pos;
            r->xz.next_out = r->out;
            r->xz.avail_out = EVREAD_IOBUF;
            lr = lzma_code(&r->xz, r->in_eof ? LZMA_FINISH : LZMA_RUN);
            r->in_pos = r->in_len - r->xz.avail_in;
            r->out_len = EVREAD_IOBUF - r->xz.avail_out;
            if (lr == LZMA_STREAM_END) {
                r->out_eof = r->out_len == 0;
            } else if (lr != LZMA_OK) {
                /* the lines decoded before the damage are used first */
                r->late = lr == LZMA_BUF_ERROR ? "xz data cut short"
                          : lr == LZMA_MEM_ERROR ? "xz data needing more "
                            "memory" : "xz data broken";
                if (r->out_len > 0) {
                    break;
                }
                return _evread_fill(r, err);
            } else if (r->in_eof && r->out_len == 0) {
                r->late = "xz data cut short";
                return _evread_fill(r, err);
            }
            break;

        case EVZ_ZSTD:
            if (_evread_input(r, err) != 0) {
                return -1;
            }
            if (r->in_eof && r->in_pos == r->in_len) {
                /* a frame still open at the end of the file is cut short */
                if (r->zs_last != 0) {
                    r->late = "zstd data cut short";
                    return _evread_fill(r, err);
                }
                r->out_eof = 1;
                break;
            }
            zi.src = r->in + r->in_pos;
            zi.size = r->in_len - r->in_pos;
            zi.pos = 0;
            zo.dst = r->out;
            zo.size = EVREAD_IOBUF;
            zo.pos = 0;
            r->zs_last = ZSTD_decompressStream(r->zs, &zo, &zi);
            r->in_pos += zi.pos;
            r->out_len = zo.pos;
            if (ZSTD_isError(r->zs_last)) {
                r->late = "zstd data broken";
                if (r->out_len > 0) {
                    break;
                }
                return _evread_fill(r, err);
            }
            break;
        }
    }
    return 0;
}

/*
 * Assemble the next line into r->line. Returns HG_EVREAD_RECORD for a
 * whole line (to be parsed), LONG, TORN, END or ERROR.
 */
static hg_evread_kind_t
_evread_line(hg_evread_t *r, hg_err_t *err)
{
    unsigned char  *nl;
    size_t          n, need;
    char           *p;

    r->line_len = 0;
    for ( ;; ) {
        if (r->out_pos == r->out_len) {
            if (r->out_eof) {
                break;
            }
            if (_evread_fill(r, err) != 0) {
                return HG_EVREAD_ERROR;
            }
            continue;
        }
        nl = memchr(r->out + r->out_pos, '\n', r->out_len - r->out_pos);
        n = (nl != NULL ? (size_t) (nl - r->out) : r->out_len) - r->out_pos;
        if (!r->skipping) {
            if (r->line_len + n > HG_EVREAD_LINE_MAX) {
                r->skipping = 1;
            } else {
                need = r->line_len + n + 1;
                if (need > r->line_cap) {
                    need = need < 4096 ? 4096 : need * 2;
                    if (need > HG_EVREAD_LINE_MAX + 1) {
                        need = HG_EVREAD_LINE_MAX + 1;
                    }
                    p = realloc(r->line, need);
                    if (p == NULL) {
                        hg_err_set(err, HG_ENOMEM, "%s:%llu: out of memory",
                                   r->path,
                                   (unsigned long long) r->lineno + 1);
                        return HG_EVREAD_ERROR;
                    }
                    r->line = p;
                    r->line_cap = need;
                }
                memcpy(r->line + r->line_len, r->out + r->out_pos, n);
                r->line_len += n;
            }
        }
        r->out_pos += n;
        if (nl != NULL) {
            r->out_pos++;
            r->lineno++;
            if (r->skipping) {
                r->skipping = 0;
                hg_err_set(err, HG_ELIMIT, "%s:%llu: a line longer than %d "
                           "bytes: skipped", r->path,
                           (unsigned long long) r->lineno,
                           HG_EVREAD_LINE_MAX);
                return HG_EVREAD_LONG;
            }
            r->line[r->line_len] = '\0';
            return HG_EVREAD_RECORD;
        }
    }
    if (r->skipping || r->line_len > 0) {
        r->lineno++;
        hg_err_set(err, HG_EFORMAT, "%s:%llu: torn last line (the file ends "
                   "inside it, no newline): skipped", r->path,
                   (unsigned long long) r->lineno);
        r->skipping = 0;
        return HG_EVREAD_TORN;
    }
    return HG_EVREAD_END;
}

static int
_evread_blank(const char *s, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') {
            return 0;
        }
    }
    return 1;
}

hg_evread_kind_t
hg_evread_next(hg_evread_t *r, hg_evrec_t *rec, hg_err_t *err)
{
    hg_evread_kind_t  k;
    size_t            need;
    char             *p;

    for ( ;; ) {
        if (r->done) {
            return HG_EVREAD_END;
        }
        k = _evread_line(r, err);
        if (k == HG_EVREAD_END || k == HG_EVREAD_ERROR) {
            r->done = 1;
            r->counts[k]++;
            return k;
        }
        if (k != HG_EVREAD_RECORD) {
            r->counts[k]++;
            return k;
        }
        if (_evread_blank(r->line, r->line_len)) {
            continue;
        }
        need = HG_EVREC_BUF(r->line_len);
        if (need > r->strbuf_cap) {
            p = realloc(r->strbuf, need);
            if (p == NULL) {
                r->done = 1;
                r->counts[HG_EVREAD_ERROR]++;
                hg_err_set(err, HG_ENOMEM, "%s:%llu: out of memory", r->path,
                           (unsigned long long) r->lineno);
                return HG_EVREAD_ERROR;
            }
            r->strbuf = p;
            r->strbuf_cap = need;
        }
        k = hg_evrec_parse(rec, r->line, r->line_len, r->strbuf,
                           r->strbuf_cap, r->path, r->lineno, err);
        r->counts[k]++;
        return k;
    }
}

/* ---- rotated files ---- */

/* Compression suffixes logrotate may add. */
static const char *const _evread_zext[] = { "", ".gz", ".xz", ".zst", NULL };

/*
 * If name is base + sep + digits + a compression suffix, *num is the
 * digits' value and 1 is returned.
 */
static int
_evread_rotated_name(const char *name, const char *base, char sep,
                     unsigned long long *num)
{
    size_t       bl = strlen(base);
    const char  *p, *d;
    size_t       i;

    if (strncmp(name, base, bl) != 0 || name[bl] != sep) {
        return 0;
    }
    d = name + bl + 1;
    for (p = d; *p >= '0' && *p <= '9'; p++) {
    }
    if (p == d || p - d > 18) {
        return 0;
    }
    for (i = 0; _evread_zext[i] != NULL; i++) {
        if (strcmp(p, _evread_zext[i]) == 0) {
            *num = strtoull(d, NULL, 10);
            return 1;
        }
    }
    return 0;
}

typedef struct {
    char               *path;
    int                 rank;   /* 0 dated, 1 numbered, 2 the log itself */
    unsigned long long  num;
} evread_file_t;

/* Oldest first: dated by date up, numbered by number down, then the log. */
static int
_evread_file_cmp(const void *a, const void *b)
{
    const evread_file_t  *x = a, *y = b;

    if (x->rank != y->rank) {
        return x->rank < y->rank ? -1 : 1;
    }
    if (x->num != y->num) {
        if (x->rank == 1) {
            return x->num > y->num ? -1 : 1;
        }
        return x->num < y->num ? -1 : 1;
    }
    return strcmp(x->path, y->path);
}

void
hg_evread_paths_free(char **paths)
{
    size_t  i;

    if (paths == NULL) {
        return;
    }
    for (i = 0; paths[i] != NULL; i++) {
        free(paths[i]);
    }
    free(paths);
}

hg_status_t
hg_evread_rotated(const char *path, char ***paths, size_t *n, hg_err_t *err)
{
    char               *dir = NULL, **out = NULL;
    const char         *base, *slash;
    DIR                *d;
    struct dirent      *e;
    evread_file_t      *f = NULL, *nf;
    size_t              nfiles = 0, cap = 0, i;
    unsigned long long  num;
    int                 rank;
    struct stat         st;
    hg_status_t         st_ret = HG_OK;

    *paths = NULL;
    *n = 0;
    slash = strrchr(path, '/');
    base = slash != NULL ? slash + 1 : path;
    dir = slash != NULL ? strndup(path, (size_t) (slash - path) + 1)
                        : strdup("./");
    if (dir == NULL) {
        return hg_err_set(err, HG_ENOMEM, "%s: out of memory", path);
    }
    d = opendir(dir);
    if (d == NULL) {
        st_ret = hg_err_sys(err, HG_EIO, "%s: cannot read the directory",
                            dir);
        free(dir);
        return st_ret;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, base) == 0) {
            rank = 2;
            num = 0;
        } else if (_evread_rotated_name(e->d_name, base, '-', &num)) {
            rank = 0;
        } else if (_evread_rotated_name(e->d_name, base, '.', &num)) {
            rank = 1;
        } else {
            continue;
        }
        if (nfiles == cap) {
            cap = cap ? cap * 2 : 16;
            nf = realloc(f, cap * sizeof(*f));
            if (nf == NULL) {
                st_ret = HG_ENOMEM;
                break;
            }
            f = nf;
        }
        f[nfiles].rank = rank;
        f[nfiles].num = num;
        f[nfiles].path = malloc(strlen(dir) + strlen(e->d_name) + 1);
        if (f[nfiles].path == NULL) {
            st_ret = HG_ENOMEM;
            break;
        }
        /* "./" was only for opendir: a bare name stays bare */
        strcpy(f[nfiles].path, slash != NULL ? dir : "");
        strcat(f[nfiles].path, e->d_name);
        /* regular files only: not a directory named like a log */
        if (stat(f[nfiles].path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(f[nfiles].path);
            continue;
        }
        nfiles++;
    }
    closedir(d);
    if (st_ret == HG_OK) {
        if (nfiles > 1) {
            qsort(f, nfiles, sizeof(*f), _evread_file_cmp);
        }
        out = calloc(nfiles + 1, sizeof(*out));
        if (out == NULL) {
            st_ret = HG_ENOMEM;
        }
    }
    for (i = 0; i < nfiles; i++) {
        if (out != NULL) {
            out[i] = f[i].path;
        } else {
            free(f[i].path);
        }
    }
    free(f);
    free(dir);
    if (st_ret != HG_OK) {
        return hg_err_set(err, st_ret, "%s: out of memory", path);
    }
    *paths = out;
    *n = nfiles;
    return HG_OK;
}
