/*
 * proto.c - build and check the messages between the caller and the
 * inspection helper (proto.h has the layout and the rules).
 *
 * Checking is the point of this file. The helper runs libarchive on
 * hostile bytes; if that ever lets an attacker run code in it, all it can
 * still do is send messages, so every byte of a reply is checked here
 * before the caller sees a field: lengths against the datagram, strings
 * terminated where their lengths say and nowhere before, ranges of depth,
 * flags, statuses and limits, digests only of the algorithms asked for,
 * counts that agree. A check that fails names the field, for the log.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "inspect/proto.h"

#define ENTRY_FLAGS_ALL  (HG_INSPECT_F_ENCRYPTED | HG_INSPECT_F_CONTAINER \
                          | HG_INSPECT_F_UNREADABLE | HG_INSPECT_F_HIDDEN \
                          | HG_INSPECT_F_PATH_CUT)

static int
proto_fail(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
proto_fail(char *why, size_t whylen, const char *fmt, ...)
{
    va_list  ap;

    if (why != NULL && whylen > 0) {
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static void
proto_hdr(hg_proto_hdr_t *h, unsigned type, uint32_t seq, size_t len)
{
    h->magic = HG_PROTO_MAGIC;
    h->version = HG_PROTO_VERSION;
    h->type = (uint16_t) type;
    h->seq = seq;
    h->len = (uint32_t) len;
}

void
hg_proto_req_init(hg_proto_req_t *r, unsigned type, uint32_t seq,
                  unsigned algs, const hg_inspect_limits_t *lim,
                  uint64_t size)
{
    memset(r, 0, sizeof(*r));
    proto_hdr(&r->h, type, seq, sizeof(*r));
    r->algs = algs;
    r->max_depth = lim->max_depth;
    r->max_files = lim->max_files;
    r->max_bytes = lim->max_bytes;
    r->max_file_bytes = lim->max_file_bytes;
    r->max_ratio = lim->max_ratio;
    r->timeout_ms = lim->timeout_ms;
    r->size = size;
    r->images = lim->images & (HG_INSPECT_IMAGES | HG_INSPECT_DIHEDRAL);
    if (r->images) {
        r->img_timeout_ms = lim->image.timeout_ms;
        r->img_max_pixels = lim->image.max_pixels;
        r->img_max_bytes = lim->image.max_bytes;
        r->img_jpeg_min_side = lim->image.jpeg_min_side;
    }
}

void
hg_proto_expect(hg_proto_expect_t *x, const hg_proto_req_t *r)
{
    memset(x, 0, sizeof(*x));
    x->seq = r->h.seq;
    x->algs = r->algs;
    x->images = r->images;
    x->max_depth = r->max_depth;
    x->max_entries = r->max_files;
}

/*
 * A string of len bytes at p: no NUL inside, one right after. Returns 0
 * or -1.
 */
static int
proto_string_ok(const unsigned char *p, uint32_t len)
{
    return memchr(p, '\0', len) == NULL && p[len] == '\0' ? 0 : -1;
}

/* A format name: short, letters, digits and dots ("iso9660", "tar.gz",
 * "tar.Z", "cpio.lzma.xz.gz"). */
static int
proto_format_ok(const unsigned char *p, uint32_t len)
{
    uint32_t  i;

    if (len == 0 || len > HG_PROTO_FORMAT_MAX) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')
              || (p[i] >= '0' && p[i] <= '9') || p[i] == '.'))
        {
            return -1;
        }
    }
    return 0;
}

/*
 * The IMAGE block of len bytes at p into *img: a format we decode, a
 * status of the three, a quality and hashes only for a hashed image, the
 * dihedral hashes only when asked for, why a string. Returns 0, or -1
 * with why.
 */
static int
proto_image_check(const hg_proto_expect_t *x, const unsigned char *p,
                  size_t len, hg_inspect_image_t *img, char *why,
                  size_t whylen)
{
    hg_proto_image_t  m;
    size_t            i, n;
    unsigned          k;

    if (!(x->images & HG_INSPECT_IMAGES)) {
        return proto_fail(why, whylen, "an image not asked for");
    }
    if (len < sizeof(m)) {
        return proto_fail(why, whylen, "image block of %zu bytes", len);
    }
    memcpy(&m, p, sizeof(m));
    if (m.format < HG_IMAGE_JPEG || m.format > HG_IMAGE_WEBP) {
        return proto_fail(why, whylen, "image format %u", m.format);
    }
    if (m.st != HG_OK && m.st != HG_EFORMAT && m.st != HG_ELIMIT) {
        return proto_fail(why, whylen, "image status %u", m.st);
    }
    if (m.st == HG_OK
        ? (m.nhashes != ((x->images & HG_INSPECT_DIHEDRAL)
                         ? HG_PDQ_DIHEDRAL_COUNT : 1)
           || m.quality < 0 || m.quality > 100)
        : (m.nhashes != 0 || m.quality != 0))
    {
        return proto_fail(why, whylen, "image with %u hashes, quality %d, "
                          "status %u", m.nhashes, m.quality, m.st);
    }
    if (len != sizeof(m) + (size_t) m.nhashes * HG_PDQ_BYTES) {
        return proto_fail(why, whylen, "image block of %zu bytes for %u "
                          "hashes", len, m.nhashes);
    }
    n = strnlen(m.why, sizeof(m.why));
    if (n == sizeof(m.why)) {
        return proto_fail(why, whylen, "image reason not terminated");
    }

    memset(img, 0, sizeof(*img));
    img->format = (hg_image_format_t) m.format;
    img->st = (hg_status_t) m.st;
    img->width = m.width;
    img->height = m.height;
    img->pdq.quality = m.quality;
    img->dihedral = m.nhashes == HG_PDQ_DIHEDRAL_COUNT;
    for (k = 0; k < m.nhashes; k++) {
        memcpy(img->pdq.dihedral[k].b, p + sizeof(m) + k * HG_PDQ_BYTES,
               HG_PDQ_BYTES);
    }
    img->pdq.hash = img->pdq.dihedral[HG_PDQ_ORIGINAL];
    for (i = 0; i < n && i < sizeof(img->why) - 1; i++) {
        unsigned char  c = (unsigned char) m.why[i];

        img->why[i] = (c < 0x20 || c == 0x7f) ? '?' : (char) c;
    }
    img->why[i] = '\0';
    return 0;
}

/* Write img's IMAGE block at p (HG_PROTO_IMAGE_MAX bytes); its length. */
static size_t
proto_image_encode(unsigned char *p, const hg_inspect_image_t *img)
{
    hg_proto_image_t  m;
    unsigned          k;

    memset(&m, 0, sizeof(m));
    m.format = (uint32_t) img->format;
    m.st = (uint32_t) img->st;
    m.width = img->width;
    m.height = img->height;
    if (img->st == HG_OK) {
        m.quality = img->pdq.quality;
        m.nhashes = img->dihedral ? HG_PDQ_DIHEDRAL_COUNT : 1;
    }
    snprintf(m.why, sizeof(m.why), "%s", img->why);
    memcpy(p, &m, sizeof(m));
    for (k = 0; k < m.nhashes; k++) {
        memcpy(p + sizeof(m) + k * HG_PDQ_BYTES,
               k == 0 ? img->pdq.hash.b : img->pdq.dihedral[k].b,
               HG_PDQ_BYTES);
    }
    return sizeof(m) + (size_t) m.nhashes * HG_PDQ_BYTES;
}

static int
proto_entry_check(hg_proto_expect_t *x, const unsigned char *msg,
                  size_t len, hg_inspect_entry_t *e, char *why,
                  size_t whylen)
{
    hg_proto_entry_t      m;
    const unsigned char  *p;
    uint64_t              need;
    unsigned              a;

    if (len < sizeof(m)) {
        return proto_fail(why, whylen, "entry of %zu bytes", len);
    }
    memcpy(&m, msg, sizeof(m));

    /* in 64 bits: four 32-bit lengths cannot wrap it */
    need = (uint64_t) sizeof(m) + m.path_len + m.chain_len + m.name_len
           + m.format_len + 4 + m.img_len;
    if (need != len) {
        return proto_fail(why, whylen,
                          "entry strings need %llu bytes, message has %zu",
                          (unsigned long long) need, len);
    }
    e->image = NULL;
    if (m.img_len > 0) {
        if (proto_image_check(x, msg + len - m.img_len, m.img_len,
                              &x->image, why, whylen) < 0)
        {
            return -1;
        }
        if (m.flags & (HG_INSPECT_F_CONTAINER | HG_INSPECT_F_ENCRYPTED
                       | HG_INSPECT_F_UNREADABLE))
        {
            return proto_fail(why, whylen, "an image flagged 0x%x", m.flags);
        }
        e->image = &x->image;
    }

    p = msg + sizeof(m);
    e->path = (const char *) p;
    if (proto_string_ok(p, m.path_len) < 0) {
        return proto_fail(why, whylen, "entry path not a string");
    }
    p += m.path_len + 1;
    e->chain = (const char *) p;
    if (proto_string_ok(p, m.chain_len) < 0) {
        return proto_fail(why, whylen, "entry chain not a string");
    }
    p += m.chain_len + 1;
    e->name = (const char *) p;
    if (proto_string_ok(p, m.name_len) < 0) {
        return proto_fail(why, whylen, "entry name not a string");
    }
    p += m.name_len + 1;
    e->format = (const char *) p;
    if (proto_string_ok(p, m.format_len) < 0
        || proto_format_ok(p, m.format_len) < 0)
    {
        return proto_fail(why, whylen, "entry format not a format name");
    }

    if (m.depth < 1 || m.depth > x->max_depth) {
        return proto_fail(why, whylen, "entry depth %u outside 1..%u",
                          m.depth, x->max_depth);
    }
    /* a tree in walk order: one level deeper only inside a container */
    if (x->last_depth == 0 ? m.depth != 1
        : (m.depth > x->last_depth + 1
           || (m.depth == x->last_depth + 1
               && !(x->last_flags & HG_INSPECT_F_CONTAINER))))
    {
        return proto_fail(why, whylen,
                          "entry depth %u after depth %u%s", m.depth,
                          x->last_depth,
                          (x->last_flags & HG_INSPECT_F_CONTAINER)
                          ? " container" : "");
    }
    if (m.flags & ~(uint32_t) ENTRY_FLAGS_ALL) {
        return proto_fail(why, whylen, "entry flags 0x%x", m.flags);
    }
    if (m.dalgs & ~x->algs) {
        return proto_fail(why, whylen,
                          "entry digests 0x%x, asked for 0x%x", m.dalgs,
                          x->algs);
    }
    if (m.dalgs != 0
        && (m.flags & (HG_INSPECT_F_ENCRYPTED | HG_INSPECT_F_UNREADABLE)))
    {
        return proto_fail(why, whylen, "digests of an entry not read");
    }
    if (m.dalgs != 0 && m.dsize != m.size) {
        return proto_fail(why, whylen,
                          "entry of %llu bytes with digests of %llu",
                          (unsigned long long) m.size,
                          (unsigned long long) m.dsize);
    }
    if (x->entries >= x->max_entries) {
        return proto_fail(why, whylen, "more than %llu entries",
                          (unsigned long long) x->max_entries);
    }

    e->depth = m.depth;
    e->flags = m.flags;
    e->size = m.size;
    memset(&e->digests, 0, sizeof(e->digests));
    e->digests.algs = m.dalgs;
    e->digests.size = m.dalgs ? m.dsize : 0;
    for (a = 0; a < HG_ALG_COUNT; a++) {
        if (m.dalgs & HG_ALG_BIT(a)) {
            memcpy(e->digests.d[a], m.d[a], hg_alg_len((hg_alg_t) a));
        }
    }

    x->entries++;
    x->last_depth = m.depth;
    x->last_flags = m.flags;
    return HG_PROTO_ENTRY;
}

static int
proto_done_check(hg_proto_expect_t *x, const unsigned char *msg,
                 size_t len, hg_inspect_done_t *d, char *why, size_t whylen)
{
    hg_proto_done_t  m;
    size_t           i, n;

    if (len < sizeof(m)) {
        return proto_fail(why, whylen, "done of %zu bytes", len);
    }
    memcpy(&m, msg, sizeof(m));
    if (len != sizeof(m) + (size_t) m.img_len) {
        return proto_fail(why, whylen, "done of %zu bytes with an image "
                          "block of %u", len, m.img_len);
    }

    if (m.st > HG_ECANCEL) {
        return proto_fail(why, whylen, "done status %u", m.st);
    }
    if (m.limit > HG_INSPECT_LIMIT_MEMORY) {
        return proto_fail(why, whylen, "done limit %u", m.limit);
    }
    if (m.limit != HG_INSPECT_LIMIT_NONE && m.st != HG_ELIMIT) {
        return proto_fail(why, whylen, "done limit %u with status %u",
                          m.limit, m.st);
    }
    if (m.files != x->entries) {
        return proto_fail(why, whylen, "done says %llu entries, sent %llu",
                          (unsigned long long) m.files,
                          (unsigned long long) x->entries);
    }
    if (m.flags & ~(uint32_t) HG_PROTO_DONE_RETIRE) {
        return proto_fail(why, whylen, "done flags 0x%x", m.flags);
    }
    n = strnlen(m.why, sizeof(m.why));
    if (n == sizeof(m.why)) {
        return proto_fail(why, whylen, "done reason not terminated");
    }

    x->done_flags = m.flags;
    memset(d, 0, sizeof(*d));
    if (m.img_len > 0) {
        /* the part itself is an image: nothing else was in it */
        if (m.files != 0 || m.st != HG_OK) {
            return proto_fail(why, whylen, "done with an image, %llu "
                              "entries and status %u",
                              (unsigned long long) m.files, m.st);
        }
        if (proto_image_check(x, msg + sizeof(m), m.img_len, &d->image,
                              why, whylen) < 0)
        {
            return -1;
        }
    }
    d->st = (hg_status_t) m.st;
    d->limit = (hg_inspect_limit_t) m.limit;
    d->files = m.files;
    d->bytes = m.bytes;
    /* one line for logs and records: no control characters */
    for (i = 0; i < n && i < sizeof(d->why) - 1; i++) {
        unsigned char  c = (unsigned char) m.why[i];

        d->why[i] = (c < 0x20 || c == 0x7f) ? '?' : (char) c;
    }
    d->why[i] = '\0';
    return HG_PROTO_DONE;
}

int
hg_proto_reply_check(hg_proto_expect_t *x, const void *msg, size_t len,
                     hg_inspect_entry_t *e, hg_inspect_done_t *d, char *why,
                     size_t whylen)
{
    hg_proto_hdr_t  h;

    if (len < sizeof(h)) {
        return proto_fail(why, whylen, "reply of %zu bytes", len);
    }
    memcpy(&h, msg, sizeof(h));
    if (h.magic != HG_PROTO_MAGIC || h.version != HG_PROTO_VERSION) {
        return proto_fail(why, whylen, "reply magic %08x version %u",
                          h.magic, h.version);
    }
    if (h.len != len) {
        return proto_fail(why, whylen, "reply says %u bytes, has %zu",
                          h.len, len);
    }
    if (h.seq != x->seq) {
        return proto_fail(why, whylen, "reply to request %u, not %u",
                          h.seq, x->seq);
    }
    switch (h.type) {
    case HG_PROTO_ENTRY:
        return proto_entry_check(x, msg, len, e, why, whylen);
    case HG_PROTO_DONE:
        return proto_done_check(x, msg, len, d, why, whylen);
    }
    return proto_fail(why, whylen, "reply type %u", h.type);
}

int
hg_proto_req_check(const void *msg, size_t len, hg_proto_req_t *r,
                   const unsigned char **payload, size_t *plen, char *why,
                   size_t whylen)
{
    if (len < sizeof(hg_proto_hdr_t)) {
        return proto_fail(why, whylen, "request of %zu bytes", len);
    }
    memcpy(&r->h, msg, sizeof(r->h));
    if (r->h.magic != HG_PROTO_MAGIC) {
        return proto_fail(why, whylen, "request magic %08x", r->h.magic);
    }
    if (r->h.version != HG_PROTO_VERSION) {
        proto_fail(why, whylen, "request of protocol version %u, this "
                   "helper speaks %u", r->h.version, HG_PROTO_VERSION);
        return -2;
    }
    if (len < sizeof(*r) || r->h.len != len) {
        return proto_fail(why, whylen, "request of %zu bytes", len);
    }
    memcpy(r, msg, sizeof(*r));
    if (r->h.type != HG_PROTO_TEST_ECHO && len != sizeof(*r)) {
        return proto_fail(why, whylen, "request type %u with a payload",
                          r->h.type);
    }
    if (r->algs & ~(uint32_t) HG_ALGS_ALL) {
        return proto_fail(why, whylen, "request algs 0x%x", r->algs);
    }
    if (r->reserved != 0 || r->reserved2 != 0) {
        return proto_fail(why, whylen, "request reserved field set");
    }
    if (r->images & ~(uint32_t) (HG_INSPECT_IMAGES | HG_INSPECT_DIHEDRAL)) {
        return proto_fail(why, whylen, "request images 0x%x", r->images);
    }
    *payload = (const unsigned char *) msg + sizeof(*r);
    *plen = len - sizeof(*r);
    return 0;
}

size_t
hg_proto_entry_encode(void *buf, size_t cap, uint32_t seq,
                      const hg_inspect_entry_t *e)
{
    hg_proto_entry_t  m;
    const char       *s[4];
    size_t            l[4], len, i;
    unsigned char    *p;
    unsigned          a;

    s[0] = e->path ? e->path : "";
    s[1] = e->chain ? e->chain : "";
    s[2] = e->name ? e->name : "";
    s[3] = e->format ? e->format : "";
    len = sizeof(m);
    for (i = 0; i < 4; i++) {
        l[i] = strlen(s[i]);
        if (l[i] >= cap) {
            return 0;
        }
        len += l[i] + 1;
    }
    if (len > cap || (e->image != NULL && cap - len < HG_PROTO_IMAGE_MAX)) {
        return 0;
    }

    memset(&m, 0, sizeof(m));
    proto_hdr(&m.h, HG_PROTO_ENTRY, seq, len);
    m.depth = e->depth;
    m.flags = e->flags;
    m.size = e->size;
    m.dalgs = e->digests.algs;
    m.dsize = e->digests.size;
    for (a = 0; a < HG_ALG_COUNT; a++) {
        if (m.dalgs & HG_ALG_BIT(a)) {
            memcpy(m.d[a], e->digests.d[a], HG_DIGEST_MAX);
        }
    }
    m.path_len = (uint32_t) l[0];
    m.chain_len = (uint32_t) l[1];
    m.name_len = (uint32_t) l[2];
    m.format_len = (uint32_t) l[3];

    p = buf;
    p += sizeof(m);
    for (i = 0; i < 4; i++) {
        memcpy(p, s[i], l[i] + 1);
        p += l[i] + 1;
    }
    if (e->image != NULL) {
        m.img_len = (uint32_t) proto_image_encode(p, e->image);
        len += m.img_len;
        m.h.len = (uint32_t) len;
    }
    memcpy(buf, &m, sizeof(m));
    return len;
}

size_t
hg_proto_done_encode(void *buf, uint32_t seq, const hg_inspect_done_t *d,
                     unsigned flags)
{
    hg_proto_done_t  m;
    size_t           len = sizeof(m);

    memset(&m, 0, sizeof(m));
    m.st = (uint32_t) d->st;
    m.limit = (uint32_t) d->limit;
    m.files = d->files;
    m.bytes = d->bytes;
    m.flags = flags;
    snprintf(m.why, sizeof(m.why), "%s", d->why);
    if (d->image.format != HG_IMAGE_NONE) {
        m.img_len = (uint32_t) proto_image_encode((unsigned char *) buf
                                                  + sizeof(m), &d->image);
        len += m.img_len;
    }
    proto_hdr(&m.h, HG_PROTO_DONE, seq, len);
    memcpy(buf, &m, sizeof(m));
    return len;
}
