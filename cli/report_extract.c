/*
 * report_extract.c - find a matched file's bytes in a preserved item by
 * their digest.
 *
 * A preserved item is what was held: a whole mail (Postfix's hold queue,
 * as postcat prints it) or an upload's whole body (nginx's hold file). A
 * report needs the bytes of each matched file, and preservation must make
 * sure the item really holds them (a queue ID Postfix gave to another mail
 * would not). The item is read through the same MIME parser the servers
 * scan with, every reading of every part (decoded copies, uuencoded blocks,
 * the other form of line ends) hashed as it streams; a part whose digest
 * is one asked for is kept, all others dropped. Nothing is ever found by
 * its path or name, only by its digest: what is found is exactly the file
 * the record names.
 *
 * postcat prints a queued mail with LF line ends, SMTP carried it with
 * CRLF: a text part sent 8bit then has other bytes. A second reading with
 * CRLF line ends finds those.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hashgate/hash.h"
#include "hashgate/unpack.h"
#include "report.h"
#include "util.h"

/* Readings of a part open at once: part, block, decoded copy, two line-end
 * copies (unpack.h). */
#define EX_SLOTS  5

typedef struct ex_s ex_t;

typedef struct {
    ex_t       *ex;
    hg_hash_t  *h;
    int         fd;             /* the part's bytes, when keeping them */
    char        tmp[4096];
    int         failed;
} ex_slot_t;

struct ex_s {
    rep_want_t *w;
    size_t      nw;
    const char *out_dir;
    ex_slot_t   slot[EX_SLOTS];
    char        why[HG_ERR_MAX];
};

/* Does d match want w ("alg:hex")? */
static int
_ex_match(const rep_want_t *w, const hg_digests_t *d)
{
    const char  *colon = strchr(w->ref, ':');
    char         hex[HG_HEX_MAX];
    int          alg;

    if (colon == NULL) {
        return 0;
    }
    alg = hg_alg_from_hexlen(strlen(colon + 1));
    if (alg < 0 || !(d->algs & HG_ALG_BIT(alg))) {
        return 0;
    }
    hg_hex_encode(d->d[alg], hg_alg_len((hg_alg_t) alg), hex);
    return strcmp(hex, colon + 1) == 0;
}

/*
 * The bytes ended with digests d: each want they match and that has no
 * bytes yet gets them (the temp file renamed, or copied for a second
 * want of the same bytes). 0, -1 with ex->why set.
 */
static int
_ex_found(ex_t *ex, const hg_digests_t *d, const char *tmp)
{
    size_t  i;
    char    name[4200];
    int     moved = 0;

    for (i = 0; i < ex->nw; i++) {
        if (ex->w[i].found || !_ex_match(&ex->w[i], d)) {
            continue;
        }
        ex->w[i].found = 1;
        if (ex->out_dir == NULL || tmp == NULL) {
            continue;
        }
        snprintf(name, sizeof(name), "%s/file-%zu", ex->out_dir, i + 1);
        if (!moved) {
            if (rename(tmp, name) != 0) {
                snprintf(ex->why, sizeof(ex->why), "%.300s: %s", name,
                         strerror(errno));
                return -1;
            }
            moved = 1;
            tmp = name;
        } else if (link(tmp, name) != 0) {
            snprintf(ex->why, sizeof(ex->why), "%.300s: %s", name,
                     strerror(errno));
            return -1;
        }
        if ((ex->w[i].path = strdup(name)) == NULL) {
            snprintf(ex->why, sizeof(ex->why), "out of memory");
            return -1;
        }
    }
    if (!moved && tmp != NULL) {
        unlink(tmp);
    }
    return 0;
}

static hg_status_t
_ex_begin(void *ctx, const hg_part_info_t *info)
{
    ex_slot_t  *s = ctx;

    (void) info;
    s->failed = 0;
    if (hg_hash_init(s->h, HG_ALGS_ALL) != HG_OK) {
        return HG_ECRYPTO;
    }
    s->fd = -1;
    if (s->ex->out_dir != NULL) {
        snprintf(s->tmp, sizeof(s->tmp), "%s/.part-XXXXXX", s->ex->out_dir);
        s->fd = mkstemp(s->tmp);
        if (s->fd < 0) {
            snprintf(s->ex->why, sizeof(s->ex->why), "%.300s: %s", s->tmp,
                     strerror(errno));
            return HG_EIO;
        }
    }
    return HG_OK;
}

static hg_status_t
_ex_data(void *ctx, const unsigned char *buf, size_t len)
{
    ex_slot_t  *s = ctx;
    size_t      off = 0;
    ssize_t     n;

    if (hg_hash_update(s->h, buf, len) != HG_OK) {
        return HG_ECRYPTO;
    }
    while (s->fd >= 0 && off < len) {
        n = write(s->fd, buf + off, len - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            snprintf(s->ex->why, sizeof(s->ex->why), "%.300s: %s", s->tmp,
                     n < 0 ? strerror(errno) : "short write");
            return HG_EIO;
        }
        off += (size_t) n;
    }
    return HG_OK;
}

static hg_status_t
_ex_end(void *ctx, const hg_part_info_t *info, const hg_part_stats_t *stats)
{
    ex_slot_t    *s = ctx;
    hg_digests_t  d;
    int           rc;

    (void) info;
    (void) stats;
    if (hg_hash_final(s->h, &d) != HG_OK) {
        return HG_ECRYPTO;
    }
    if (s->fd >= 0 && close(s->fd) != 0) {
        s->fd = -1;
        unlink(s->tmp);
        snprintf(s->ex->why, sizeof(s->ex->why), "%.300s: %s", s->tmp,
                 strerror(errno));
        return HG_EIO;
    }
    rc = _ex_found(s->ex, &d, s->fd >= 0 ? s->tmp : NULL);
    s->fd = -1;
    return rc == 0 ? HG_OK : HG_EIO;
}

static const hg_unpack_cb_t  _ex_cb = { _ex_begin, _ex_data, _ex_end };

static int
_ex_all_found(const ex_t *ex)
{
    size_t  i;

    for (i = 0; i < ex->nw; i++) {
        if (!ex->w[i].found) {
            return 0;
        }
    }
    return 1;
}

/*
 * One reading of the item. crlf: feed LF line ends as CRLF. form: the
 * item is a multipart/form-data body with this content type. Returns 0
 * or -1 (ex->why set).
 */
static int
_ex_pass(ex_t *ex, int fd, int crlf, const char *form, int *lf_seen)
{
    hg_unpack_limits_t  lim;
    hg_unpack_t        *u;
    hg_err_t            err;
    unsigned char       buf[CLI_READ_SIZE / 4], conv[2 * sizeof(buf)];
    ssize_t             n;
    size_t              i, k;
    hg_status_t         st = HG_OK;
    int                 prev_cr = 0;

    err.msg[0] = '\0';
    hg_unpack_limits_default(&lim);
    u = hg_unpack_new(form ? HG_UNPACK_FORMDATA : HG_UNPACK_MESSAGE, form,
                      &lim, &_ex_cb, &ex->slot[0], &err);
    if (u == NULL) {
        snprintf(ex->why, sizeof(ex->why), "%s", err.msg[0] ? err.msg
                 : "out of memory");
        return -1;
    }
    if (hg_unpack_set_embedded_cb(u, &_ex_cb, &ex->slot[1], &err) != HG_OK
        || hg_unpack_set_copy_cb(u, &_ex_cb, &ex->slot[2], &err) != HG_OK
        || hg_unpack_set_eol_copy_cb(u, &_ex_cb, &ex->slot[3], &ex->slot[4],
                                     &err) != HG_OK)
    {
        snprintf(ex->why, sizeof(ex->why), "%s", err.msg);
        hg_unpack_free(u);
        return -1;
    }
    if (lseek(fd, 0, SEEK_SET) != 0) {
        snprintf(ex->why, sizeof(ex->why), "cannot read it again: %s",
                 strerror(errno));
        hg_unpack_free(u);
        return -1;
    }
    while ((n = cli_read_full(fd, buf, sizeof(buf))) > 0 && st == HG_OK) {
        if (!crlf) {
            st = hg_unpack_feed(u, buf, (size_t) n, &err);
            continue;
        }
        for (i = 0, k = 0; i < (size_t) n; i++) {
            if (buf[i] == '\n' && !prev_cr) {
                conv[k++] = '\r';
                *lf_seen = 1;
            }
            prev_cr = buf[i] == '\r';
            conv[k++] = buf[i];
        }
        st = hg_unpack_feed(u, conv, k, &err);
    }
    if (n < 0) {
        snprintf(ex->why, sizeof(ex->why), "read error: %s", strerror(errno));
        hg_unpack_free(u);
        return -1;
    }
    if (st == HG_OK) {
        st = hg_unpack_finish(u, &err);
    }
    hg_unpack_free(u);
    for (i = 0; i < EX_SLOTS; i++) {
        if (ex->slot[i].fd >= 0) {
            close(ex->slot[i].fd);
            unlink(ex->slot[i].tmp);
            ex->slot[i].fd = -1;
        }
    }
    /* a limit or malformed MIME: the parts read before it still count */
    if (st != HG_OK && ex->why[0] != '\0') {
        return -1;
    }
    return 0;
}

/* The boundary a multipart body starts with, as a content type. */
static int
_ex_form_type(int fd, char *out, size_t outlen)
{
    char     head[256];
    ssize_t  n;
    size_t   i;

    n = pread(fd, head, sizeof(head) - 1, 0);
    if (n < 4 || head[0] != '-' || head[1] != '-') {
        return -1;
    }
    head[n] = '\0';
    for (i = 2; i < (size_t) n && head[i] != '\r' && head[i] != '\n'; i++) {
        if (head[i] == '"' || head[i] == ' ' || (unsigned char) head[i] < 0x21) {
            return -1;
        }
    }
    if (i == 2 || i >= (size_t) n || i - 2 > HG_MAX_BOUNDARY_LEN) {
        return -1;
    }
    snprintf(out, outlen, "multipart/form-data; boundary=\"%.*s\"",
             (int) (i - 2), head + 2);
    return 0;
}

int
rep_extract(const char *item, rep_item_kind_t kind, rep_want_t *w, size_t nw,
            const char *out_dir, char *why, size_t wlen)
{
    ex_t          ex;
    hg_hash_t    *whole;
    hg_digests_t  d;
    unsigned char buf[CLI_READ_SIZE / 4];
    char          form[HG_MAX_BOUNDARY_LEN + 64];
    ssize_t       n;
    size_t        i;
    int           fd, rc = -1, lf = 0;

    memset(&ex, 0, sizeof(ex));
    ex.w = w;
    ex.nw = nw;
    ex.out_dir = out_dir;
    for (i = 0; i < nw; i++) {
        w[i].found = 0;
        w[i].path = NULL;
        w[i].is_item = 0;
    }
    fd = open(item, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(why, wlen, "%s: %s", item, strerror(errno));
        return -1;
    }
    whole = hg_hash_new();
    for (i = 0; i < EX_SLOTS; i++) {
        ex.slot[i].ex = &ex;
        ex.slot[i].fd = -1;
        ex.slot[i].h = hg_hash_new();
        if (ex.slot[i].h == NULL) {
            whole = NULL;
        }
    }
    if (whole == NULL || hg_hash_init(whole, HG_ALGS_ALL) != HG_OK) {
        snprintf(why, wlen, "cannot hash (OpenSSL)");
        goto done;
    }

    /* the item itself: an upload's body sent raw is the file */
    while ((n = cli_read_full(fd, buf, sizeof(buf))) > 0) {
        hg_hash_update(whole, buf, (size_t) n);
    }
    if (n < 0 || hg_hash_final(whole, &d) != HG_OK) {
        snprintf(why, wlen, "%s: read error: %s", item, strerror(errno));
        goto done;
    }
    for (i = 0; i < nw; i++) {
        if (_ex_match(&w[i], &d)) {
            w[i].found = 1;
            w[i].is_item = 1;
            if (out_dir != NULL && (w[i].path = strdup(item)) == NULL) {
                snprintf(why, wlen, "out of memory");
                goto done;
            }
        }
    }

    if (!_ex_all_found(&ex)) {
        if (kind == REP_ITEM_MAIL) {
            if (_ex_pass(&ex, fd, 0, NULL, &lf) != 0
                || (!_ex_all_found(&ex) && _ex_pass(&ex, fd, 1, NULL, &lf)
                    != 0))
            {
                snprintf(why, wlen, "%s: %s", item, ex.why);
                goto done;
            }
        } else if (_ex_form_type(fd, form, sizeof(form)) == 0
                   && _ex_pass(&ex, fd, 0, form, &lf) != 0)
        {
            snprintf(why, wlen, "%s: %s", item, ex.why);
            goto done;
        }
    }
    rc = 0;
done:
    if (rc != 0) {
        for (i = 0; i < nw; i++) {
            if (w[i].path != NULL && !w[i].is_item) {
                unlink(w[i].path);
            }
            free(w[i].path);
            w[i].path = NULL;
        }
    }
    hg_hash_free(whole);
    for (i = 0; i < EX_SLOTS; i++) {
        hg_hash_free(ex.slot[i].h);
    }
    close(fd);
    return rc;
}
