/*
 * unpack_dump.c - run the MIME parser over a file and print every leaf part.
 *
 * For tests: the input (a message, or a form-data body with --formdata CT)
 * is fed to hg_unpack in chunks whose sizes come from a seeded generator
 * (--chunk-seed N; 0 feeds 64 KiB reads as they come), so a test can check
 * that any chunking gives the same parts. One JSON line per leaf part:
 * path, content_type, filename, field_name, encoding, size, sha256,
 * decode_errors. uuencoded blocks inside text parts and decoded copies
 * ("2.d1") are printed too (they end, and so print, before their part); a
 * copy whose bytes are its part's own (same_bytes) is not, as callers drop
 * it. --no-embedded sets neither. On a parser error the message goes to
 * stderr and the exit status is 2.
 *
 *   unpack_dump [--chunk-seed N] [--formdata CT] [--max-parts N]
 *               [--max-depth N] [--max-header-bytes N] [--max-line-bytes N]
 *               [--max-part-bytes N] [--max-total-bytes N] [--no-embedded]
 *               [FILE]
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashgate/hash.h"
#include "hashgate/json.h"
#include "hashgate/unpack.h"

#define READ_SIZE   (64 * 1024)

typedef struct {
    hg_hash_t  *h;
} dump_ctx_t;

static hg_status_t
dump_begin(void *ctx, const hg_part_info_t *info)
{
    dump_ctx_t *d = ctx;

    (void) info;
    return hg_hash_init(d->h, HG_ALG_BIT(HG_ALG_SHA256));
}

static hg_status_t
dump_data(void *ctx, const unsigned char *buf, size_t len)
{
    dump_ctx_t *d = ctx;

    return hg_hash_update(d->h, buf, len);
}

static hg_status_t
dump_end(void *ctx, const hg_part_info_t *info, const hg_part_stats_t *stats)
{
    dump_ctx_t     *d = ctx;
    hg_digests_t    dg;
    hg_json_t       j;
    char            hex[HG_HEX_MAX];
    hg_status_t     st;

    if ((st = hg_hash_final(d->h, &dg)) != HG_OK || stats->same_bytes) {
        return st;
    }
    hg_hex_encode(dg.d[HG_ALG_SHA256], 32, hex);
    hg_json_init(&j);
    hg_json_obj_begin(&j);
    hg_json_kv_str(&j, "path", info->path);
    hg_json_kv_str(&j, "content_type", info->content_type);
    hg_json_kv_str(&j, "filename", info->filename);
    hg_json_kv_str(&j, "field_name", info->field_name);
    hg_json_kv_str(&j, "encoding", info->encoding);
    hg_json_kv_uint(&j, "size", stats->decoded_bytes);
    hg_json_kv_str(&j, "sha256", hex);
    hg_json_kv_uint(&j, "decode_errors", stats->decode_errors);
    hg_json_kv_uint(&j, "depth", info->depth);
    hg_json_obj_end(&j);
    if ((st = hg_json_done(&j)) == HG_OK) {
        fwrite(j.buf, 1, j.len, stdout);
    }
    hg_json_free(&j);
    return st;
}

/* xorshift64*: the chunk sizes only need to be reproducible. */
static uint64_t
next_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* Mostly tiny chunks (boundaries split everywhere), sometimes large ones. */
static size_t
chunk_size(uint64_t *s)
{
    uint64_t r = next_rand(s);

    switch (r % 4) {
    case 0:  return 1;
    case 1:  return 1 + (size_t) (r >> 8) % 16;
    case 2:  return 1 + (size_t) (r >> 8) % 300;
    default: return 1 + (size_t) (r >> 8) % 9000;
    }
}

static int
usage(void)
{
    fprintf(stderr, "usage: unpack_dump [--chunk-seed N] [--formdata CT] "
            "[--max-parts N] [--max-depth N] [--max-header-bytes N] "
            "[--max-line-bytes N] [--max-part-bytes N] [--max-total-bytes N] "
            "[--no-embedded] [FILE]\n");
    return 2;
}

int
main(int argc, char **argv)
{
    hg_unpack_limits_t  lim;
    hg_unpack_cb_t      cb = { dump_begin, dump_data, dump_end };
    dump_ctx_t          main_ctx, sub_ctx, copy_ctx;
    hg_unpack_t        *u;
    hg_err_t            err;
    const char         *formdata = NULL, *file = NULL;
    unsigned long long  seed = 0;
    unsigned char      *buf;
    size_t              n, off, k;
    uint64_t            rs;
    FILE               *fp = stdin;
    int                 i, embedded = 1, rc = 2;
    hg_status_t         st = HG_OK;

    hg_unpack_limits_default(&lim);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--no-embedded") == 0) {
            embedded = 0;
            continue;
        }
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            file = a;
            continue;
        }
        if (v == NULL) {
            return usage();
        }
        i++;
        if (strcmp(a, "--chunk-seed") == 0) {
            seed = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--formdata") == 0) {
            formdata = v;
        } else if (strcmp(a, "--max-parts") == 0) {
            lim.max_parts = (unsigned) strtoul(v, NULL, 10);
        } else if (strcmp(a, "--max-depth") == 0) {
            lim.max_depth = (unsigned) strtoul(v, NULL, 10);
        } else if (strcmp(a, "--max-header-bytes") == 0) {
            lim.max_header_bytes = strtoul(v, NULL, 10);
        } else if (strcmp(a, "--max-line-bytes") == 0) {
            lim.max_line_bytes = strtoul(v, NULL, 10);
        } else if (strcmp(a, "--max-part-bytes") == 0) {
            lim.max_part_bytes = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--max-total-bytes") == 0) {
            lim.max_total_bytes = strtoull(v, NULL, 10);
        } else {
            return usage();
        }
    }
    if (file != NULL && strcmp(file, "-") != 0
        && (fp = fopen(file, "rb")) == NULL)
    {
        fprintf(stderr, "unpack_dump: %s: %s\n", file, strerror(errno));
        return 2;
    }
    main_ctx.h = hg_hash_new();
    sub_ctx.h = hg_hash_new();
    copy_ctx.h = hg_hash_new();
    buf = malloc(READ_SIZE);
    u = NULL;
    if (main_ctx.h == NULL || sub_ctx.h == NULL || copy_ctx.h == NULL
        || buf == NULL)
    {
        fprintf(stderr, "unpack_dump: out of memory or OpenSSL failed\n");
        goto done;
    }
    u = hg_unpack_new(formdata != NULL ? HG_UNPACK_FORMDATA : HG_UNPACK_MESSAGE,
                      formdata, &lim, &cb, &main_ctx, &err);
    if (u == NULL
        || (embedded
            && (hg_unpack_set_embedded_cb(u, &cb, &sub_ctx, &err) != HG_OK
                || hg_unpack_set_copy_cb(u, &cb, &copy_ctx, &err) != HG_OK)))
    {
        fprintf(stderr, "unpack_dump: %s\n", err.msg);
        goto done;
    }
    rs = seed * 0x9e3779b97f4a7c15ULL + 1;
    while (st == HG_OK && (n = fread(buf, 1, READ_SIZE, fp)) > 0) {
        for (off = 0; off < n && st == HG_OK; off += k) {
            k = seed == 0 ? n - off : chunk_size(&rs);
            if (k > n - off) {
                k = n - off;
            }
            st = hg_unpack_feed(u, buf + off, k, &err);
        }
    }
    if (st == HG_OK && ferror(fp)) {
        fprintf(stderr, "unpack_dump: read error\n");
        goto done;
    }
    if (st == HG_OK) {
        st = hg_unpack_finish(u, &err);
    }
    fflush(stdout);
    if (st != HG_OK) {
        fprintf(stderr, "unpack_dump: %s: %s\n", hg_status_str(st), err.msg);
        goto done;
    }
    rc = 0;

done:
    hg_unpack_free(u);
    hg_hash_free(main_ctx.h);
    hg_hash_free(sub_ctx.h);
    hg_hash_free(copy_ctx.h);
    free(buf);
    if (fp != stdin) {
        fclose(fp);
    }
    return rc;
}
