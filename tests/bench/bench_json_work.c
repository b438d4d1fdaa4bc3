/*
 * bench_json_work.c - the work a JSON body costs alone, outside nginx, for
 * bench_nginx_json.py: its floor, and what the body parser takes.
 *
 *   bench_json_work floor BODY OFFSET LENGTH
 *       SHA-256 of the whole body, decoding the base64 at OFFSET (LENGTH
 *       characters) with libhashgate's decoder (the one the body parser
 *       uses, vector paths included) and SHA-256 of the decoded bytes: the
 *       least any scanner of such a body must do. Prints "floor_ns N".
 *   bench_json_work parse BODY
 *       hg_apibody on the body with the default limits, each part hashed
 *       with SHA-256: what the module adds to a body's own digest. Prints
 *       "parse_ns N".
 *
 * Bytes are fed in 64 KiB pieces, as nginx hands a body over. Each figure
 * is the best of 15 rounds in process CPU nanoseconds (being descheduled
 * does not count).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hashgate/apibody.h"
#include "hashgate/hash.h"
#include "mime/decode.h"

#define PIECE   (64 * 1024)
#define ROUNDS  15

static hg_hash_t  *hash;

static uint64_t
cpu_ns(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static int
sha256(const unsigned char *p, size_t len)
{
    hg_digests_t  d;
    size_t        n;

    if (hg_hash_init(hash, HG_ALG_BIT(HG_ALG_SHA256)) != HG_OK) {
        return -1;
    }
    for (; len > 0; p += n, len -= n) {
        n = len < PIECE ? len : PIECE;
        if (hg_hash_update(hash, p, n) != HG_OK) {
            return -1;
        }
    }
    return hg_hash_final(hash, &d) == HG_OK ? 0 : -1;
}

static int
floor_once(const unsigned char *body, size_t size, size_t off, size_t len,
           unsigned char *out)
{
    hg_b64_t      dec;
    hg_digests_t  d;
    size_t        i, n, got;

    if (sha256(body, size) != 0
        || hg_hash_init(hash, HG_ALG_BIT(HG_ALG_SHA256)) != HG_OK)
    {
        return -1;
    }
    hg_b64_init(&dec);
    for (i = 0; i < len; i += n) {
        n = len - i < PIECE ? len - i : PIECE;
        got = hg_b64_feed(&dec, body + off + i, n, out);
        if (hg_hash_update(hash, out, got) != HG_OK) {
            return -1;
        }
    }
    got = hg_b64_finish(&dec, out);
    if (hg_hash_update(hash, out, got) != HG_OK
        || hg_hash_final(hash, &d) != HG_OK)
    {
        return -1;
    }
    return 0;
}

static hg_status_t
p_begin(void *c, const hg_part_info_t *info)
{
    (void) c;
    (void) info;
    return hg_hash_init(hash, HG_ALG_BIT(HG_ALG_SHA256));
}

static hg_status_t
p_data(void *c, const unsigned char *buf, size_t len)
{
    (void) c;
    return hg_hash_update(hash, buf, len);
}

static hg_status_t
p_end(void *c, const hg_part_info_t *info, const hg_part_stats_t *st)
{
    hg_digests_t  d;

    (void) c;
    (void) info;
    (void) st;
    return hg_hash_final(hash, &d);
}

static int
parse_once(const unsigned char *body, size_t size)
{
    hg_unpack_cb_t        cb = { p_begin, p_data, p_end };
    hg_apibody_limits_t   lim;
    hg_apibody_t         *b;
    hg_err_t              err;
    size_t                i, n;
    int                   rc = 0;

    hg_apibody_limits_default(&lim);
    b = hg_apibody_new(HG_APIBODY_JSON, &lim, &cb, NULL, &err);
    if (b == NULL) {
        return -1;
    }
    for (i = 0; i < size && rc == 0; i += n) {
        n = size - i < PIECE ? size - i : PIECE;
        rc = hg_apibody_feed(b, body + i, n, &err) == HG_OK ? 0 : -1;
    }
    if (rc == 0 && hg_apibody_finish(b, &err) != HG_OK) {
        rc = -1;
    }
    if (rc != 0) {
        fprintf(stderr, "bench_json_work: %s\n", err.msg);
    }
    hg_apibody_free(b);
    return rc;
}

int
main(int argc, char **argv)
{
    FILE            *f;
    unsigned char   *body, *out;
    size_t           size, off = 0, len = 0;
    uint64_t         t0, t, best;
    int              r, parse;

    parse = argc == 3 && strcmp(argv[1], "parse") == 0;
    if (!parse && !(argc == 5 && strcmp(argv[1], "floor") == 0)) {
        fprintf(stderr, "usage: bench_json_work floor BODY OFFSET LENGTH\n"
                        "       bench_json_work parse BODY\n");
        return 2;
    }
    f = fopen(argv[2], "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0) {
        perror(argv[2]);
        return 1;
    }
    size = (size_t) ftell(f);
    rewind(f);
    if (!parse) {
        off = strtoull(argv[3], NULL, 10);
        len = strtoull(argv[4], NULL, 10);
    }
    body = malloc(size ? size : 1);
    out = malloc(PIECE + 2);
    hash = hg_hash_new();
    if (body == NULL || out == NULL || hash == NULL
        || fread(body, 1, size, f) != size || off > size || len > size - off)
    {
        fprintf(stderr, "bench_json_work: cannot read %s\n", argv[2]);
        return 1;
    }
    fclose(f);

    best = UINT64_MAX;
    for (r = 0; r < ROUNDS; r++) {
        t0 = cpu_ns();
        if ((parse ? parse_once(body, size)
                   : floor_once(body, size, off, len, out)) != 0)
        {
            return 1;
        }
        t = cpu_ns() - t0;
        best = t < best ? t : best;
    }
    printf("%s_ns %llu\n", parse ? "parse" : "floor",
           (unsigned long long) best);
    hg_hash_free(hash);
    free(body);
    free(out);
    return 0;
}
