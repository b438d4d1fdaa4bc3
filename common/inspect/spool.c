/*
 * spool.c - a part's bytes on their way to the inspection helper.
 *
 * Every part of every mail and upload passes through here while it is
 * hashed, so the common case, not a container, must cost next to nothing:
 * the first bytes are copied into a small buffer (at most
 * HG_INSPECT_SNIFF_BYTES, and only until hg_inspect_sniff can tell) and
 * once the answer is no, hg_spool_feed returns at its first test: no copy,
 * no system call, for the rest of the object.
 *
 * A container is copied whole into a memfd ("hashgate-spool", close-on-
 * exec), through a staging buffer so a stream of small feeds costs one
 * write(2) per HG_SPOOL_STAGE bytes. Its pages are shared memory, counted
 * against the caller (and swappable); at most max_bytes are kept, past
 * that the object fails with HG_ELIMIT and nothing more is copied. At the
 * end the memfd is sealed (no write, grow, shrink, or new seals) before
 * its descriptor is handed out: the helper cannot change the bytes the
 * caller hashed, nor make its own mapping fault by truncating the file.
 *
 * A failure (the limit, or the memfd) is returned by the feed that meets
 * it and by every later one (they cost nothing more), and by
 * hg_spool_end; the caller may stop feeding.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hashgate/inspect.h"

/* Bytes gathered before one write(2) into the memfd. */
#define HG_SPOOL_STAGE  (64 * 1024)

typedef enum {
    SPOOL_SNIFF = 0,        /* gathering the head */
    SPOOL_NO,               /* not a container: ignore the rest */
    SPOOL_YES,              /* a container: copying into the memfd */
    SPOOL_FAILED,           /* a container that cannot be kept */
    SPOOL_ENDED             /* hg_spool_end gave out the memfd */
} hg_spool_state_t;

struct hg_spool_s {
    hg_spool_state_t    state;
    uint64_t            max;
    uint64_t            size;       /* bytes of the object so far */
    const char         *format;
    int                 fd;         /* the memfd, -1 */
    hg_status_t         st;         /* SPOOL_FAILED: why */
    hg_err_t            err;
    size_t              hlen;
    size_t              slen;       /* staged bytes not yet written */
    unsigned char      *stage;      /* HG_SPOOL_STAGE, on first container */
    unsigned char       head[HG_INSPECT_SNIFF_BYTES];
};

hg_spool_t *
hg_spool_new(void)
{
    hg_spool_t  *sp;

    sp = malloc(sizeof(*sp));
    if (sp == NULL) {
        return NULL;
    }
    sp->fd = -1;
    sp->stage = NULL;
    hg_spool_begin(sp, HG_INSPECT_MAX_FILE_BYTES);
    return sp;
}

void
hg_spool_free(hg_spool_t *sp)
{
    if (sp == NULL) {
        return;
    }
    if (sp->fd >= 0) {
        close(sp->fd);
    }
    free(sp->stage);
    free(sp);
}

void
hg_spool_begin(hg_spool_t *sp, uint64_t max_bytes)
{
    if (sp->fd >= 0) {
        close(sp->fd);
        sp->fd = -1;
    }
    sp->state = SPOOL_SNIFF;
    sp->max = max_bytes;
    sp->size = 0;
    sp->format = NULL;
    sp->st = HG_OK;
    sp->err.msg[0] = '\0';
    sp->hlen = 0;
    sp->slen = 0;
}

static hg_status_t
spool_fail(hg_spool_t *sp, hg_status_t st)
{
    sp->state = SPOOL_FAILED;
    sp->st = st;
    if (sp->fd >= 0) {
        close(sp->fd);
        sp->fd = -1;
    }
    return st;
}

static hg_status_t
spool_write(hg_spool_t *sp, const unsigned char *p, size_t len)
{
    ssize_t  n;

    while (len > 0) {
        n = write(sp->fd, p, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            hg_err_sys(&sp->err, HG_EIO, "archive spool: write");
            return spool_fail(sp, HG_EIO);
        }
        p += n;
        len -= (size_t) n;
    }
    return HG_OK;
}

/* Stage len bytes, writing out full stages. */
static hg_status_t
spool_copy(hg_spool_t *sp, const unsigned char *p, size_t len)
{
    size_t       n;
    hg_status_t  st;

    /* a big feed goes straight through once the stage is empty */
    if (sp->slen == 0 && len >= HG_SPOOL_STAGE) {
        return spool_write(sp, p, len);
    }
    while (len > 0) {
        n = HG_SPOOL_STAGE - sp->slen;
        if (n > len) {
            n = len;
        }
        memcpy(sp->stage + sp->slen, p, n);
        sp->slen += n;
        p += n;
        len -= n;
        if (sp->slen == HG_SPOOL_STAGE) {
            st = spool_write(sp, sp->stage, sp->slen);
            if (st != HG_OK) {
                return st;
            }
            sp->slen = 0;
        }
    }
    return HG_OK;
}

/* The head says container: open the memfd and put the head in it. */
static hg_status_t
spool_start(hg_spool_t *sp)
{
    if (sp->stage == NULL) {
        sp->stage = malloc(HG_SPOOL_STAGE);
        if (sp->stage == NULL) {
            hg_err_set(&sp->err, HG_ENOMEM, "archive spool: out of memory");
            return spool_fail(sp, HG_ENOMEM);
        }
    }
    sp->fd = memfd_create("hashgate-spool", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (sp->fd < 0) {
        hg_err_sys(&sp->err, HG_EIO, "archive spool: memfd_create");
        return spool_fail(sp, HG_EIO);
    }
    sp->state = SPOOL_YES;
    return spool_copy(sp, sp->head, sp->hlen);
}

static hg_status_t
spool_limit(hg_spool_t *sp)
{
    hg_err_set(&sp->err, HG_ELIMIT,
               "%s container larger than %llu bytes", sp->format,
               (unsigned long long) sp->max);
    return spool_fail(sp, HG_ELIMIT);
}

hg_status_t
hg_spool_feed(hg_spool_t *sp, const void *buf, size_t len, hg_err_t *err)
{
    const unsigned char  *p = buf;
    hg_sniff_t            s;
    hg_status_t           st;
    size_t                n;

    /* the hot path: every byte of every part that is not a container */
    if (sp->state == SPOOL_NO || sp->state == SPOOL_ENDED) {
        return HG_OK;
    }
    if (sp->state == SPOOL_FAILED) {
        goto failed;
    }

    if (sp->state == SPOOL_SNIFF) {
        n = sizeof(sp->head) - sp->hlen;
        if (n > len) {
            n = len;
        }
        memcpy(sp->head + sp->hlen, p, n);
        sp->hlen += n;
        p += n;
        len -= n;
        sp->size += n;

        s = hg_inspect_sniff(sp->head, sp->hlen, 0, &sp->format);
        if (s == HG_SNIFF_MORE && sp->hlen < sizeof(sp->head)) {
            return HG_OK;           /* len is 0: the head took it all */
        }
        if (s != HG_SNIFF_YES) {
            sp->state = SPOOL_NO;
            return HG_OK;
        }
        if (sp->size > sp->max) {
            st = spool_limit(sp);
            goto failed;
        }
        st = spool_start(sp);
        if (st != HG_OK) {
            goto failed;
        }
    }

    if (len > sp->max - sp->size) {
        spool_limit(sp);
        goto failed;
    }
    sp->size += len;
    if (spool_copy(sp, p, len) != HG_OK) {
        goto failed;
    }
    return HG_OK;

failed:
    if (err != NULL) {
        *err = sp->err;
    }
    return sp->st;
}

int
hg_spool_end(hg_spool_t *sp, int *fd, uint64_t *size, const char **format,
             hg_status_t *st, hg_err_t *err)
{
    hg_sniff_t  s;

    if (sp->state == SPOOL_ENDED) {
        goto ended;
    }
    if (sp->state == SPOOL_SNIFF) {
        s = hg_inspect_sniff(sp->head, sp->hlen, 1, &sp->format);
        if (s != HG_SNIFF_YES) {
            sp->state = SPOOL_NO;
        } else if (sp->size > sp->max) {
            spool_limit(sp);
        } else {
            spool_start(sp);
        }
    }
    if (sp->state == SPOOL_NO) {
        return 0;
    }

    if (sp->state == SPOOL_YES) {
        if (sp->slen > 0 && spool_write(sp, sp->stage, sp->slen) == HG_OK) {
            sp->slen = 0;
        }
    }
    if (sp->state == SPOOL_YES
        && fcntl(sp->fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW
                 | F_SEAL_SHRINK | F_SEAL_SEAL) != 0)
    {
        hg_err_sys(&sp->err, HG_EIO, "archive spool: seal");
        spool_fail(sp, HG_EIO);
    }
    if (sp->state == SPOOL_FAILED) {
        if (st != NULL) {
            *st = sp->st;
        }
        if (err != NULL) {
            *err = sp->err;
        }
        return -1;
    }

    /* later feeds (there should be none) are ignored */
    sp->state = SPOOL_ENDED;
ended:
    *fd = sp->fd;
    *size = sp->size;
    if (format != NULL) {
        *format = sp->format;
    }
    if (st != NULL) {
        *st = HG_OK;
    }
    return 1;
}
