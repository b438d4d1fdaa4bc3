/*
 * test_inspect_proto.c - the checks the caller applies to every message
 * from the inspection helper (common/inspect/proto.c), without a helper:
 * good entries and done round-trip field by field, and each way a hostile
 * helper could lie (lengths, strings, depth, flags, digests, counts,
 * statuses) is refused with the field named.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "inspect/proto.h"

static unsigned char  msg[HG_PROTO_MSG_MAX];

static void
expect_for(hg_proto_expect_t *x, unsigned algs, unsigned depth,
           uint64_t files)
{
    hg_inspect_limits_t  lim;
    hg_proto_req_t       r;

    hg_inspect_limits_default(&lim);
    lim.max_depth = depth;
    lim.max_files = files;
    hg_proto_req_init(&r, HG_PROTO_INSPECT, 7, algs, &lim, 100);
    hg_proto_expect(x, &r);
}

static void
entry_fill(hg_inspect_entry_t *e, unsigned depth, unsigned flags)
{
    memset(e, 0, sizeof(*e));
    e->depth = depth;
    e->flags = flags;
    e->path = "photos/a.jpg";
    e->chain = "!photos/a.jpg";
    e->name = "a.jpg";
    e->format = "tar.Z";
    e->size = 5;
    e->digests.algs = HG_ALG_BIT(HG_ALG_SHA256);
    e->digests.size = 5;
    memset(e->digests.d[HG_ALG_SHA256], 0xab, 32);
}

/* Check one message; returns the type or -1, why in why. */
static int
check(hg_proto_expect_t *x, size_t len, char *why)
{
    hg_inspect_entry_t  e;
    hg_inspect_done_t   d;

    return hg_proto_reply_check(x, msg, len, &e, &d, why, 200);
}

static void
test_entry_round_trip_keeps_every_field(void **state)
{
    hg_proto_expect_t   x;
    hg_inspect_entry_t  e, got;
    hg_inspect_done_t   d;
    char                why[200];
    size_t              len;

    (void) state;
    expect_for(&x, HG_ALGS_ALL, 8, 100);
    entry_fill(&e, 1, HG_INSPECT_F_HIDDEN);
    len = hg_proto_entry_encode(msg, sizeof(msg), 7, &e);
    assert_true(len > sizeof(hg_proto_entry_t));
    assert_int_equal(hg_proto_reply_check(&x, msg, len, &got, &d, why,
                                          sizeof(why)), HG_PROTO_ENTRY);
    assert_int_equal(got.depth, 1);
    assert_int_equal(got.flags, HG_INSPECT_F_HIDDEN);
    assert_int_equal(got.size, 5);
    assert_string_equal(got.path, "photos/a.jpg");
    assert_string_equal(got.chain, "!photos/a.jpg");
    assert_string_equal(got.name, "a.jpg");
    assert_string_equal(got.format, "tar.Z");
    assert_int_equal(got.digests.algs, HG_ALG_BIT(HG_ALG_SHA256));
    assert_int_equal(got.digests.size, 5);
    assert_memory_equal(got.digests.d[HG_ALG_SHA256],
                        e.digests.d[HG_ALG_SHA256], 32);
    assert_int_equal(x.entries, 1);
}

static void
test_done_round_trip_and_count(void **state)
{
    hg_proto_expect_t   x;
    hg_inspect_entry_t  e, got;
    hg_inspect_done_t   d, in;
    hg_proto_done_t     m;
    char                why[200];
    size_t              len;

    (void) state;
    expect_for(&x, HG_ALGS_ALL, 8, 100);
    entry_fill(&e, 1, 0);
    len = hg_proto_entry_encode(msg, sizeof(msg), 7, &e);
    assert_int_equal(check(&x, len, why), HG_PROTO_ENTRY);

    memset(&in, 0, sizeof(in));
    in.st = HG_ELIMIT;
    in.limit = HG_INSPECT_LIMIT_RATIO;
    in.files = 1;
    in.bytes = 12345;
    snprintf(in.why, sizeof(in.why), "ratio\tover\n250");
    len = hg_proto_done_encode(&m, 7, &in, 0);
    memcpy(msg, &m, len);
    assert_int_equal(hg_proto_reply_check(&x, msg, len, &got, &d, why,
                                          sizeof(why)), HG_PROTO_DONE);
    assert_int_equal(d.st, HG_ELIMIT);
    assert_int_equal(d.limit, HG_INSPECT_LIMIT_RATIO);
    assert_int_equal(d.files, 1);
    assert_int_equal(d.bytes, 12345);
    /* one line for the log: control characters do not survive */
    assert_string_equal(d.why, "ratio?over?250");
}

static void
test_done_with_wrong_count_is_refused(void **state)
{
    hg_proto_expect_t  x;
    hg_inspect_done_t  in;
    hg_proto_done_t    m;
    char               why[200];

    (void) state;
    expect_for(&x, HG_ALGS_ALL, 8, 100);
    memset(&in, 0, sizeof(in));
    in.files = 3;                       /* none were sent */
    memcpy(msg, &m, hg_proto_done_encode(&m, 7, &in, 0));
    assert_int_equal(check(&x, sizeof(m), why), -1);
    assert_non_null(strstr(why, "done says 3 entries, sent 0"));
}

static void
test_done_out_of_range_is_refused(void **state)
{
    hg_proto_expect_t  x;
    hg_inspect_done_t  in;
    hg_proto_done_t    m;
    char               why[200];

    (void) state;
    memset(&in, 0, sizeof(in));

    expect_for(&x, HG_ALGS_ALL, 8, 100);
    hg_proto_done_encode(&m, 7, &in, 0);
    m.st = 99;
    memcpy(msg, &m, sizeof(m));
    assert_int_equal(check(&x, sizeof(m), why), -1);
    assert_non_null(strstr(why, "status 99"));

    hg_proto_done_encode(&m, 7, &in, 0);
    m.limit = 42;
    m.st = HG_ELIMIT;
    memcpy(msg, &m, sizeof(m));
    assert_int_equal(check(&x, sizeof(m), why), -1);
    assert_non_null(strstr(why, "limit 42"));

    /* a limit without the limit status */
    hg_proto_done_encode(&m, 7, &in, 0);
    m.limit = HG_INSPECT_LIMIT_FILES;
    memcpy(msg, &m, sizeof(m));
    assert_int_equal(check(&x, sizeof(m), why), -1);

    /* why not terminated */
    hg_proto_done_encode(&m, 7, &in, 0);
    memset(m.why, 'x', sizeof(m.why));
    memcpy(msg, &m, sizeof(m));
    assert_int_equal(check(&x, sizeof(m), why), -1);
    assert_non_null(strstr(why, "not terminated"));

    /* unknown flags */
    hg_proto_done_encode(&m, 7, &in, 0x80);
    memcpy(msg, &m, sizeof(m));
    assert_int_equal(check(&x, sizeof(m), why), -1);

    /* one byte short */
    hg_proto_done_encode(&m, 7, &in, 0);
    m.h.len = sizeof(m) - 1;
    memcpy(msg, &m, sizeof(m));
    assert_int_equal(check(&x, sizeof(m) - 1, why), -1);
}

static void
test_header_lies_are_refused(void **state)
{
    hg_proto_expect_t   x;
    hg_inspect_entry_t  e;
    hg_proto_hdr_t      h;
    char                why[200];
    size_t              len;

    (void) state;
    entry_fill(&e, 1, 0);

    expect_for(&x, HG_ALGS_ALL, 8, 100);
    assert_int_equal(check(&x, 3, why), -1);          /* short */

    len = hg_proto_entry_encode(msg, sizeof(msg), 7, &e);
    msg[0] ^= 1;                                        /* magic */
    assert_int_equal(check(&x, len, why), -1);
    assert_non_null(strstr(why, "magic"));

    len = hg_proto_entry_encode(msg, sizeof(msg), 8, &e);  /* other seq */
    assert_int_equal(check(&x, len, why), -1);
    assert_non_null(strstr(why, "request 8"));

    len = hg_proto_entry_encode(msg, sizeof(msg), 7, &e);
    assert_int_equal(check(&x, len - 1, why), -1);    /* length lies */

    len = hg_proto_entry_encode(msg, sizeof(msg), 7, &e);
    memcpy(&h, msg, sizeof(h));
    h.type = 77;
    memcpy(msg, &h, sizeof(h));
    assert_int_equal(check(&x, len, why), -1);
    assert_non_null(strstr(why, "type 77"));
    assert_int_equal(x.entries, 0);
}

/* Change one field of an encoded entry and expect a refusal naming what. */
static void
entry_tamper(size_t off, const void *val, size_t vlen, const char *what)
{
    hg_proto_expect_t   x;
    hg_inspect_entry_t  e;
    char                why[200];
    size_t              len;

    expect_for(&x, HG_ALG_BIT(HG_ALG_SHA256), 8, 100);
    entry_fill(&e, 1, 0);
    len = hg_proto_entry_encode(msg, sizeof(msg), 7, &e);
    memcpy(msg + off, val, vlen);
    assert_int_equal(check(&x, len, why), -1);
    if (strstr(why, what) == NULL) {
        fail_msg("wanted \"%s\" in \"%s\"", what, why);
    }
    assert_int_equal(x.entries, 0);
}

static void
test_entry_field_lies_are_refused(void **state)
{
    uint32_t  v;
    size_t    strs = sizeof(hg_proto_entry_t);

    (void) state;
    v = 0;
    entry_tamper(offsetof(hg_proto_entry_t, depth), &v, 4, "depth 0");
    v = 9;
    entry_tamper(offsetof(hg_proto_entry_t, depth), &v, 4, "depth 9");
    v = 0x100;
    entry_tamper(offsetof(hg_proto_entry_t, flags), &v, 4, "flags");
    v = HG_ALGS_ALL;                    /* only SHA-256 was asked for */
    entry_tamper(offsetof(hg_proto_entry_t, dalgs), &v, 4, "digests");
    v = HG_INSPECT_F_ENCRYPTED;
    entry_tamper(offsetof(hg_proto_entry_t, flags), &v, 4, "not read");
    v = 0xffffffffu;                    /* wraps 32 bits, not 64 */
    entry_tamper(offsetof(hg_proto_entry_t, path_len), &v, 4, "need");
    v = 11;                             /* one short: the NUL is not there */
    entry_tamper(offsetof(hg_proto_entry_t, path_len), &v, 4, "need");
    v = 1;
    entry_tamper(offsetof(hg_proto_entry_t, img_len), &v, 4, "need");
    v = 6;
    entry_tamper(offsetof(hg_proto_entry_t, dsize), &v, 4, "digests of 6");
    /* a NUL inside the path ("photos/a.jpg") */
    entry_tamper(strs + 3, "", 1, "path");
    /* the path's NUL overwritten */
    entry_tamper(strs + 12, "x", 1, "path");
    /* a format that is not a name */
    entry_tamper(strs + 13 + 14 + 6, "/", 1, "format");
    entry_tamper(strs + 13 + 14 + 6, "\xc3", 1, "format");
}

static void
test_entries_must_form_a_tree(void **state)
{
    hg_proto_expect_t   x;
    hg_inspect_entry_t  e;
    char                why[200];
    size_t              len;

    (void) state;
    /* the first entry is at depth 1 */
    expect_for(&x, HG_ALGS_ALL, 8, 100);
    entry_fill(&e, 2, 0);
    len = hg_proto_entry_encode(msg, sizeof(msg), 7, &e);
    assert_int_equal(check(&x, len, why), -1);

    /* deeper only after a container */
    expect_for(&x, HG_ALGS_ALL, 8, 100);
    entry_fill(&e, 1, 0);
    len = hg_proto_entry_encode(msg, sizeof(msg), 7, &e);
    assert_int_equal(check(&x, len, why), HG_PROTO_ENTRY);
    entry_fill(&e, 2, 0);
    len = hg_proto_entry_encode(msg, sizeof(msg), 7, &e);
    assert_int_equal(check(&x, len, why), -1);
    assert_non_null(strstr(why, "depth 2 after depth 1"));

    expect_for(&x, HG_ALGS_ALL, 8, 100);
    entry_fill(&e, 1, HG_INSPECT_F_CONTAINER);
    len = hg_proto_entry_encode(msg, sizeof(msg), 7, &e);
    assert_int_equal(check(&x, len, why), HG_PROTO_ENTRY);
    entry_fill(&e, 2, HG_INSPECT_F_CONTAINER);
    len = hg_proto_entry_encode(msg, sizeof(msg), 7, &e);
    assert_int_equal(check(&x, len, why), HG_PROTO_ENTRY);
    entry_fill(&e, 1, 0);               /* back up any number of levels */
    len = hg_proto_entry_encode(msg, sizeof(msg), 7, &e);
    assert_int_equal(check(&x, len, why), HG_PROTO_ENTRY);
    entry_fill(&e, 3, 0);               /* but never skip one */
    len = hg_proto_entry_encode(msg, sizeof(msg), 7, &e);
    assert_int_equal(check(&x, len, why), -1);
}

static void
test_more_entries_than_the_limit_are_refused(void **state)
{
    hg_proto_expect_t   x;
    hg_inspect_entry_t  e;
    char                why[200];
    size_t              len;

    (void) state;
    expect_for(&x, HG_ALGS_ALL, 8, 2);
    entry_fill(&e, 1, 0);
    len = hg_proto_entry_encode(msg, sizeof(msg), 7, &e);
    assert_int_equal(check(&x, len, why), HG_PROTO_ENTRY);
    assert_int_equal(check(&x, len, why), HG_PROTO_ENTRY);
    assert_int_equal(check(&x, len, why), -1);
    assert_non_null(strstr(why, "more than 2 entries"));
}

static void
test_entry_too_long_for_a_message_is_not_encoded(void **state)
{
    static char         chain[HG_PROTO_MSG_MAX];
    hg_inspect_entry_t  e;

    (void) state;
    entry_fill(&e, 1, 0);
    memset(chain, 'c', sizeof(chain) - 1);
    e.chain = chain;
    assert_int_equal(hg_proto_entry_encode(msg, sizeof(msg), 7, &e), 0);
}

static void
test_request_checks(void **state)
{
    hg_inspect_limits_t   lim;
    hg_proto_req_t        r, got;
    const unsigned char  *payload;
    size_t                plen;
    char                  why[200];

    (void) state;
    hg_inspect_limits_default(&lim);
    hg_proto_req_init(&r, HG_PROTO_INSPECT, 3, HG_ALGS_ALL, &lim, 4096);
    memcpy(msg, &r, sizeof(r));
    assert_int_equal(hg_proto_req_check(msg, sizeof(r), &got, &payload,
                                        &plen, why, sizeof(why)), 0);
    assert_int_equal(got.size, 4096);
    assert_int_equal(got.max_files, HG_INSPECT_MAX_FILES);
    assert_int_equal(plen, 0);

    /* another protocol version: -2, the helper then exits */
    r.h.version = 1;                    /* a caller from before images */
    memcpy(msg, &r, sizeof(r));
    assert_int_equal(hg_proto_req_check(msg, sizeof(r), &got, &payload,
                                        &plen, why, sizeof(why)), -2);
    assert_non_null(strstr(why, "version 1"));
    r.h.version = HG_PROTO_VERSION;

    /* a payload on a request that takes none */
    hg_proto_req_init(&r, HG_PROTO_INSPECT, 3, HG_ALGS_ALL, &lim, 4096);
    r.h.len = sizeof(r) + 4;
    memcpy(msg, &r, sizeof(r));
    assert_int_equal(hg_proto_req_check(msg, sizeof(r) + 4, &got, &payload,
                                        &plen, why, sizeof(why)), -1);

    /* algorithms we do not have */
    hg_proto_req_init(&r, HG_PROTO_INSPECT, 3, 0x10, &lim, 4096);
    memcpy(msg, &r, sizeof(r));
    assert_int_equal(hg_proto_req_check(msg, sizeof(r), &got, &payload,
                                        &plen, why, sizeof(why)), -1);
}

/* ---- images (protocol version 2) ---- */

static void
expect_images(hg_proto_expect_t *x, unsigned images)
{
    hg_inspect_limits_t  lim;
    hg_proto_req_t       r;

    hg_inspect_limits_default(&lim);
    lim.images = images;
    hg_proto_req_init(&r, HG_PROTO_INSPECT, 7, HG_ALGS_ALL, &lim, 100);
    hg_proto_expect(x, &r);
}

static void
image_fill(hg_inspect_image_t *img, int dihedral)
{
    int  k;

    memset(img, 0, sizeof(*img));
    img->format = HG_IMAGE_PNG;
    img->st = HG_OK;
    img->width = 640;
    img->height = 480;
    img->dihedral = dihedral;
    img->pdq.quality = 87;
    for (k = 0; k < HG_PDQ_DIHEDRAL_COUNT; k++) {
        memset(img->pdq.dihedral[k].b, 0x10 + k, HG_PDQ_BYTES);
    }
    img->pdq.hash = img->pdq.dihedral[0];
}

static void
test_image_entry_round_trip_keeps_hash_quality_and_dihedral(void **state)
{
    hg_proto_expect_t   x;
    hg_inspect_entry_t  e, got;
    hg_inspect_done_t   d;
    hg_inspect_image_t  img;
    char                why[200];
    size_t              len, len1;
    int                 k;

    (void) state;
    /* the hash alone */
    expect_images(&x, HG_INSPECT_IMAGES);
    entry_fill(&e, 1, 0);
    image_fill(&img, 0);
    e.image = &img;
    len1 = hg_proto_entry_encode(msg, sizeof(msg), 7, &e);
    assert_int_equal(hg_proto_reply_check(&x, msg, len1, &got, &d, why,
                                          sizeof(why)), HG_PROTO_ENTRY);
    assert_non_null(got.image);
    assert_int_equal(got.image->format, HG_IMAGE_PNG);
    assert_int_equal(got.image->st, HG_OK);
    assert_int_equal(got.image->width, 640);
    assert_int_equal(got.image->height, 480);
    assert_int_equal(got.image->pdq.quality, 87);
    assert_int_equal(got.image->dihedral, 0);
    assert_memory_equal(got.image->pdq.hash.b, img.pdq.hash.b, HG_PDQ_BYTES);
    assert_string_equal(got.path, "photos/a.jpg");

    /* the 8 dihedral hashes, asked for: 7 x 32 bytes more */
    expect_images(&x, HG_INSPECT_IMAGES | HG_INSPECT_DIHEDRAL);
    image_fill(&img, 1);
    len = hg_proto_entry_encode(msg, sizeof(msg), 7, &e);
    assert_int_equal(len, len1 + 7 * HG_PDQ_BYTES);
    assert_int_equal(hg_proto_reply_check(&x, msg, len, &got, &d, why,
                                          sizeof(why)), HG_PROTO_ENTRY);
    assert_int_equal(got.image->dihedral, 1);
    for (k = 0; k < HG_PDQ_DIHEDRAL_COUNT; k++) {
        assert_memory_equal(got.image->pdq.dihedral[k].b,
                            img.pdq.dihedral[k].b, HG_PDQ_BYTES);
    }

    /* an image that did not decode: its reason, no hash */
    expect_images(&x, HG_INSPECT_IMAGES);
    memset(&img, 0, sizeof(img));
    img.format = HG_IMAGE_JPEG;
    img.st = HG_EFORMAT;
    snprintf(img.why, sizeof(img.why), "jpeg: Bogus\nHuffman table");
    len = hg_proto_entry_encode(msg, sizeof(msg), 7, &e);
    assert_int_equal(hg_proto_reply_check(&x, msg, len, &got, &d, why,
                                          sizeof(why)), HG_PROTO_ENTRY);
    assert_int_equal(got.image->st, HG_EFORMAT);
    assert_string_equal(got.image->why, "jpeg: Bogus?Huffman table");

    /* an entry without an image has none */
    e.image = NULL;
    len = hg_proto_entry_encode(msg, sizeof(msg), 7, &e);
    assert_int_equal(hg_proto_reply_check(&x, msg, len, &got, &d, why,
                                          sizeof(why)), HG_PROTO_ENTRY);
    assert_null(got.image);
}

static void
test_image_done_round_trip(void **state)
{
    hg_proto_expect_t   x;
    hg_inspect_entry_t  e;
    hg_inspect_done_t   in, d;
    char                why[200];
    size_t              len;

    (void) state;
    expect_images(&x, HG_INSPECT_IMAGES);
    memset(&in, 0, sizeof(in));
    image_fill(&in.image, 0);
    snprintf(in.why, sizeof(in.why), "an image");
    len = hg_proto_done_encode(msg, 7, &in, 0);
    assert_int_equal(len, sizeof(hg_proto_done_t) + sizeof(hg_proto_image_t)
                          + HG_PDQ_BYTES);
    assert_int_equal(hg_proto_reply_check(&x, msg, len, &e, &d, why,
                                          sizeof(why)), HG_PROTO_DONE);
    assert_int_equal(d.st, HG_OK);
    assert_int_equal(d.image.format, HG_IMAGE_PNG);
    assert_int_equal(d.image.pdq.quality, 87);
    assert_memory_equal(d.image.pdq.hash.b, in.image.pdq.hash.b,
                        HG_PDQ_BYTES);

    /* a limit: the image's status, the part's stays OK */
    memset(&in, 0, sizeof(in));
    in.image.format = HG_IMAGE_GIF;
    in.image.st = HG_ELIMIT;
    snprintf(in.image.why, sizeof(in.image.why), "gif: 70000 x 70000 "
             "pixels, past the limit");
    expect_images(&x, HG_INSPECT_IMAGES);
    len = hg_proto_done_encode(msg, 7, &in, 0);
    assert_int_equal(hg_proto_reply_check(&x, msg, len, &e, &d, why,
                                          sizeof(why)), HG_PROTO_DONE);
    assert_int_equal(d.image.st, HG_ELIMIT);
    assert_string_equal(d.image.why, in.image.why);
}

/* Encode e with img, change bytes at off (from the image block's start)
 * and expect a refusal naming what. */
static void
image_tamper(unsigned images, const hg_inspect_image_t *img, size_t off,
             const void *bytes, size_t n, const char *what)
{
    hg_proto_expect_t   x;
    hg_inspect_entry_t  e;
    char                why[200];
    size_t              len;
    hg_proto_entry_t    m;

    expect_images(&x, images);
    entry_fill(&e, 1, 0);
    e.image = img;
    len = hg_proto_entry_encode(msg, sizeof(msg), 7, &e);
    memcpy(&m, msg, sizeof(m));
    memcpy(msg + len - m.img_len + off, bytes, n);
    why[0] = '\0';
    assert_int_equal(check(&x, len, why), -1);
    if (strstr(why, what) == NULL) {
        fail_msg("wanted \"%s\" in \"%s\"", what, why);
    }
}

static void
test_image_lies_are_refused(void **state)
{
    hg_proto_expect_t   x;
    hg_inspect_entry_t  e;
    hg_inspect_image_t  img, bad;
    hg_inspect_done_t   in;
    char                why[200];
    size_t              len;
    uint32_t            v;
    int32_t             q;

    (void) state;
    image_fill(&img, 0);

    /* an image when none was asked for */
    expect_images(&x, 0);
    entry_fill(&e, 1, 0);
    e.image = &img;
    len = hg_proto_entry_encode(msg, sizeof(msg), 7, &e);
    assert_int_equal(check(&x, len, why), -1);
    assert_non_null(strstr(why, "not asked for"));

    v = 0;
    image_tamper(HG_INSPECT_IMAGES, &img, offsetof(hg_proto_image_t, format),
                 &v, 4, "image format");
    v = 9;
    image_tamper(HG_INSPECT_IMAGES, &img, offsetof(hg_proto_image_t, format),
                 &v, 4, "image format");
    v = HG_EIO;
    image_tamper(HG_INSPECT_IMAGES, &img, offsetof(hg_proto_image_t, st),
                 &v, 4, "image status");
    q = 101;
    image_tamper(HG_INSPECT_IMAGES, &img, offsetof(hg_proto_image_t, quality),
                 &q, 4, "quality");
    q = -1;
    image_tamper(HG_INSPECT_IMAGES, &img, offsetof(hg_proto_image_t, quality),
                 &q, 4, "quality");
    /* 8 hashes claimed in a block that holds one */
    v = 8;
    image_tamper(HG_INSPECT_IMAGES | HG_INSPECT_DIHEDRAL, &img,
                 offsetof(hg_proto_image_t, nhashes), &v, 4, "hashes");
    /* a hashed image's status turned to "did not decode" */
    v = HG_EFORMAT;
    image_tamper(HG_INSPECT_IMAGES, &img, offsetof(hg_proto_image_t, st),
                 &v, 4, "hashes");
    /* the reason not terminated */
    memset(bad.why, 'x', sizeof(bad.why));
    image_tamper(HG_INSPECT_IMAGES, &img, offsetof(hg_proto_image_t, why),
                 bad.why, sizeof(bad.why), "not terminated");

    /* the dihedral hashes sent when only the hash was asked for */
    image_fill(&bad, 1);
    expect_images(&x, HG_INSPECT_IMAGES);
    e.image = &bad;
    len = hg_proto_entry_encode(msg, sizeof(msg), 7, &e);
    assert_int_equal(check(&x, len, why), -1);
    assert_non_null(strstr(why, "hashes"));

    /* an image that says it is a container */
    expect_images(&x, HG_INSPECT_IMAGES);
    entry_fill(&e, 1, HG_INSPECT_F_CONTAINER);
    e.image = &img;
    len = hg_proto_entry_encode(msg, sizeof(msg), 7, &e);
    assert_int_equal(check(&x, len, why), -1);
    assert_non_null(strstr(why, "an image flagged"));

    /* a part that is an image has nothing inside and did not fail */
    expect_images(&x, HG_INSPECT_IMAGES);
    memset(&in, 0, sizeof(in));
    in.image = img;
    in.st = HG_EFORMAT;
    len = hg_proto_done_encode(msg, 7, &in, 0);
    assert_int_equal(check(&x, len, why), -1);
    assert_non_null(strstr(why, "done with an image"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry_round_trip_keeps_every_field),
        cmocka_unit_test(test_done_round_trip_and_count),
        cmocka_unit_test(test_done_with_wrong_count_is_refused),
        cmocka_unit_test(test_done_out_of_range_is_refused),
        cmocka_unit_test(test_header_lies_are_refused),
        cmocka_unit_test(test_entry_field_lies_are_refused),
        cmocka_unit_test(test_entries_must_form_a_tree),
        cmocka_unit_test(test_more_entries_than_the_limit_are_refused),
        cmocka_unit_test(test_entry_too_long_for_a_message_is_not_encoded),
        cmocka_unit_test(test_request_checks),
        cmocka_unit_test(test_image_entry_round_trip_keeps_hash_quality_and_dihedral),
        cmocka_unit_test(test_image_done_round_trip),
        cmocka_unit_test(test_image_lies_are_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
