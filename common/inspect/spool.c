/*
 * spool.c - a part's bytes on their way to the inspection helper.
 *
 * Every part of every mail and upload passes through here while it is
 * hashed, so the common case, not a container, must cost next to nothing:
 * the first bytes are copied into a small buffer (only until
 * hg_inspect_sniff can tell) and once the answer is no, hg_spool_feed
 * returns at its first test: no copy, no system call, for the rest of the
 * object.
 *
 * Every signature but one lies in the first 512 bytes (SPOOL_LEAD, which
 * a v7 tar header's checksum needs whole); iso9660's is at 32769, after
 * the image's 32 KiB system area. That area is free for anything (the
 * MBR of a hybrid image, boot code, an attacker's bytes): its first bytes
 * cannot rule an image out, and it must be kept if the part is one, as a
 * file's extent may lie in it and libarchive seeks back to read it. So
 * the rule: past the lead, the head is held on to 32774 bytes unless the
 * lead is a kind of file no image tool writes there (text, or a JPEG,
 * PNG, PDF, ... signature: spool_not_iso). Such a part is only watched
 * (five bytes compared, none copied) until 32774, and if "CD001" is there
 * after all, an image was dressed up as something else and the part
 * fails with HG_EFORMAT: never opened with its system area lost, never a
 * silent pass.
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
 * Images (hg_spool_images): a part whose first bytes say JPEG, PNG, GIF or
 * WebP (hg_image_sniff, 12 bytes at most) goes to the helper like a
 * container, to be decoded and PDQ-hashed there, up to the image bytes
 * limit instead of max_bytes. A container's signature comes first.
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

/* Always held: every signature but iso9660's lies in them. */
#define SPOOL_LEAD      512

/* iso9660's signature (sniff.c): "CD001" after the 32 KiB system area */
#define SPOOL_ISO_AT    32769
#define SPOOL_ISO_SIG   "CD001"

typedef enum {
    SPOOL_SNIFF = 0,        /* gathering the head */
    SPOOL_WATCH,            /* not held past the lead: iso9660 watched */
    SPOOL_NO,               /* not a container: ignore the rest */
    SPOOL_YES,              /* a container: copying into the memfd */
    SPOOL_FAILED,           /* a container that cannot be kept */
    SPOOL_ENDED             /* hg_spool_end gave out the memfd */
} hg_spool_state_t;

struct hg_spool_s {
    hg_spool_state_t    state;
    uint64_t            max;
    uint64_t            size;       /* bytes of the object so far */
    uint64_t            copied;     /* of them, copied (hg_spool_copied) */
    const char         *format;
    const char         *lead;       /* SPOOL_WATCH: what the lead is */
    uint64_t            img_max;    /* images kept up to this; 0: none */
    hg_image_format_t   image;      /* the object is this image */
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
    sp->img_max = 0;
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
    sp->copied = 0;
    sp->format = NULL;
    sp->lead = NULL;
    sp->image = HG_IMAGE_NONE;
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
               "%s %s larger than %llu bytes", sp->format,
               sp->image != HG_IMAGE_NONE ? "image" : "container",
               (unsigned long long) sp->max);
    return spool_fail(sp, HG_ELIMIT);
}

/* hg_inspect_sniff, then, images on, hg_image_sniff: an image is a YES
 * kept up to img_max. */
static hg_sniff_t
spool_sniff(hg_spool_t *sp, int complete)
{
    hg_sniff_t  s;

    s = hg_inspect_sniff(sp->head, sp->hlen, complete, &sp->format);
    if (s != HG_SNIFF_YES && sp->img_max > 0
        && (sp->hlen >= 12 || complete)
        && (sp->image = hg_image_sniff(sp->head, sp->hlen))
           != HG_IMAGE_NONE)
    {
        sp->format = hg_image_format_name(sp->image);
        sp->max = sp->img_max;
        return HG_SNIFF_YES;
    }
    return s;
}

/*
 * What the lead (SPOOL_LEAD bytes) is, when it is something no ISO 9660
 * tool puts at the start of a system area (zeros, an MBR, a partition map,
 * boot code): a kind of file that is no container, by its signature, or
 * text. NULL when it could be a system area.
 */
static const char *
spool_not_iso(const unsigned char *h, size_t len)
{
    static const struct {
        size_t          off;
        size_t          len;
        const char     *magic;
        const char     *name;
    } kinds[] = {
        { 0, 3, "\xff\xd8\xff", "JPEG" },
        { 0, 8, "\x89PNG\r\n\x1a\n", "PNG" },
        { 0, 4, "GIF8", "GIF" },
        { 0, 5, "%PDF-", "PDF" },
        { 0, 4, "RIFF", "RIFF" },                /* WebP, WAV, AVI */
        { 4, 4, "ftyp", "ISO media" },           /* MP4, MOV, HEIC */
        { 0, 4, "II*\x00", "TIFF" },
        { 0, 4, "MM\x00*", "TIFF" },
        { 0, 8, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "OLE" },
        { 0, 4, "\x1a\x45\xdf\xa3", "Matroska" },
        { 0, 4, "OggS", "Ogg" },
        { 0, 3, "ID3", "MP3" },
    };
    size_t  i;

    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (len >= kinds[i].off + kinds[i].len
            && memcmp(h + kinds[i].off, kinds[i].magic, kinds[i].len) == 0)
        {
            return kinds[i].name;
        }
    }

    /* text (any 8-bit charset, ESC for ISO-2022): no NUL, no control
     * bytes but the blanks; a system area always has some */
    for (i = 0; i < len; i++) {
        if (h[i] < 0x20 && h[i] != '\t' && h[i] != '\n' && h[i] != '\r'
            && h[i] != '\f' && h[i] != 0x1b)
        {
            return NULL;
        }
    }
    return "text";
}

/*
 * Copy the next bytes into the head, the lead first. Returns what the
 * sniff says; HG_SNIFF_MORE with all of *len taken (still SPOOL_SNIFF), or
 * with the rest left to watch (SPOOL_WATCH).
 */
static hg_sniff_t
spool_head(hg_spool_t *sp, const unsigned char **p, size_t *len)
{
    hg_sniff_t  s;
    size_t      want, n;

    for (;;) {
        want = sp->hlen < SPOOL_LEAD ? SPOOL_LEAD : sizeof(sp->head);
        n = want - sp->hlen;
        if (n > *len) {
            n = *len;
        }
        if (n > 0) {
            memcpy(sp->head + sp->hlen, *p, n);
        }
        sp->hlen += n;
        *p += n;
        *len -= n;
        sp->size += n;
        sp->copied += n;

        s = spool_sniff(sp, 0);
        if (s != HG_SNIFF_MORE) {
            return s;
        }
        if (sp->hlen < want) {
            return s;               /* *len is 0: the head took it all */
        }
        if (want == sizeof(sp->head)) {
            return HG_SNIFF_NO;     /* no signature lies further */
        }
        /* the lead is in, only iso9660 is left: hold on for it? */
        sp->lead = spool_not_iso(sp->head, sp->hlen);
        if (sp->lead != NULL) {
            sp->state = SPOOL_WATCH;
            return s;
        }
    }
}

/* A part not held past its lead: is "CD001" at 32769 all the same? */
static hg_status_t
spool_watch(hg_spool_t *sp, const unsigned char *p, size_t len)
{
    uint64_t  at = sp->size, end = sp->size + len;
    size_t    i;

    sp->size = end;
    if (end <= SPOOL_ISO_AT) {
        return HG_OK;
    }
    for (i = at > SPOOL_ISO_AT ? (size_t) (at - SPOOL_ISO_AT) : 0;
         i < sizeof(SPOOL_ISO_SIG) - 1 && SPOOL_ISO_AT + i < end; i++)
    {
        if (p[SPOOL_ISO_AT + i - at] != (unsigned char) SPOOL_ISO_SIG[i]) {
            sp->state = SPOOL_NO;
            return HG_OK;
        }
    }
    if (i < sizeof(SPOOL_ISO_SIG) - 1) {
        return HG_OK;               /* the rest of it in the next feeds */
    }
    hg_err_set(&sp->err, HG_EFORMAT, "an iso9660 image whose first bytes "
               "say %s: not opened (they were not kept)", sp->lead);
    return spool_fail(sp, HG_EFORMAT);
}

hg_status_t
hg_spool_feed(hg_spool_t *sp, const void *buf, size_t len, hg_err_t *err)
{
    const unsigned char  *p = buf;
    hg_sniff_t            s;
    hg_status_t           st;

    /* the hot path: every byte of every part that is not a container */
    if (sp->state == SPOOL_NO || sp->state == SPOOL_ENDED) {
        return HG_OK;
    }
    if (sp->state == SPOOL_FAILED) {
        goto failed;
    }

    if (sp->state == SPOOL_SNIFF) {
        s = spool_head(sp, &p, &len);
        if (s == HG_SNIFF_MORE && sp->state == SPOOL_SNIFF) {
            return HG_OK;
        }
        if (s == HG_SNIFF_NO) {
            sp->state = SPOOL_NO;
            return HG_OK;
        }
        if (s == HG_SNIFF_YES) {
            if (sp->size > sp->max) {
                st = spool_limit(sp);
                goto failed;
            }
            st = spool_start(sp);
            if (st != HG_OK) {
                goto failed;
            }
        }
    }

    if (sp->state == SPOOL_WATCH) {
        if (spool_watch(sp, p, len) != HG_OK) {
            goto failed;
        }
        return HG_OK;
    }

    if (len > sp->max - sp->size) {
        spool_limit(sp);
        goto failed;
    }
    sp->size += len;
    sp->copied += len;
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
    if (sp->state == SPOOL_WATCH) {
        sp->state = SPOOL_NO;       /* it ended before 32774 bytes */
    }
    if (sp->state == SPOOL_SNIFF) {
        s = spool_sniff(sp, 1);
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

void
hg_spool_images(hg_spool_t *sp, uint64_t max_bytes)
{
    sp->img_max = max_bytes;
}

hg_image_format_t
hg_spool_image(const hg_spool_t *sp)
{
    return sp->image;
}

uint64_t
hg_spool_copied(const hg_spool_t *sp)
{
    return sp->copied;
}
