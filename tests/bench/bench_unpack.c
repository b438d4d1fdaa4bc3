/*
 * bench_unpack.c - what MIME unpacking costs on top of hashing.
 *
 * A message with one 2 MiB base64 attachment of random bytes is unpacked
 * and each part hashed (the milter's path), and the same 2 MiB of decoded
 * bytes are hashed directly (the floor). Both run in the same process,
 * interleaved, several rounds; the best round of each is compared, which is
 * the least disturbed by the other jobs on a shared machine; time is the
 * process CPU time, so being descheduled does not count. Throughput is
 * decoded bytes per second. Prints one RESULT line per algorithm set.
 *
 * Then what the other readings of quoted-printable cost: a message with
 * 2 MiB of quoted-printable text is unpacked with and without its three
 * copies (hg_unpack_set_copy_cb and hg_unpack_set_eol_copy_cb, as the
 * milter sets them), all hashing with SHA-256; the ratio is the
 * throughput with the copies over the throughput without. Text with hard
 * line breaks and blanks makes every copy differ, the dearest case.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hashgate/hash.h"
#include "hashgate/unpack.h"

#define ATTACH_BYTES    (2 * 1024 * 1024)
#define FEED_CHUNK      (64 * 1024)     /* what a milter gets per body call */
#define ROUNDS          15
#define REPS            4               /* messages per timed round */

typedef struct {
    hg_hash_t  *h;
    unsigned    algs;
    uint64_t    bytes;
} ctx_t;

static hg_status_t
b_begin(void *c, const hg_part_info_t *info)
{
    ctx_t *x = c;

    (void) info;
    return hg_hash_init(x->h, x->algs);
}

static hg_status_t
b_data(void *c, const unsigned char *buf, size_t len)
{
    ctx_t *x = c;

    x->bytes += len;
    return hg_hash_update(x->h, buf, len);
}

static hg_status_t
b_end(void *c, const hg_part_info_t *info, const hg_part_stats_t *st)
{
    ctx_t          *x = c;
    hg_digests_t    d;

    (void) info;
    (void) st;
    return hg_hash_final(x->h, &d);
}

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static char *
make_message(const unsigned char *data, size_t n, size_t *len)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char head[] =
        "From: bench@example.org\r\nSubject: bench\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"=_bench_boundary\"\r\n\r\n"
        "--=_bench_boundary\r\nContent-Type: text/plain\r\n\r\nHello.\r\n"
        "--=_bench_boundary\r\nContent-Type: application/octet-stream\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "Content-Disposition: attachment; filename=\"r.bin\"\r\n\r\n";
    static const char tail[] = "\r\n--=_bench_boundary--\r\n";
    char       *m = malloc(sizeof(head) + n / 3 * 4 + n / 57 * 2 + 64 + sizeof(tail));
    char       *o;
    size_t      i, col = 0;
    uint32_t    v;

    if (m == NULL) {
        return NULL;
    }
    o = m + sprintf(m, "%s", head);
    for (i = 0; i + 3 <= n; i += 3) {
        v = (uint32_t) data[i] << 16 | (uint32_t) data[i + 1] << 8 | data[i + 2];
        *o++ = b64[v >> 18];
        *o++ = b64[v >> 12 & 63];
        *o++ = b64[v >> 6 & 63];
        *o++ = b64[v & 63];
        if ((col += 4) == 76 && i + 3 < n) {
            *o++ = '\r';
            *o++ = '\n';
            col = 0;
        }
    }
    if (n - i == 1) {
        v = (uint32_t) data[i] << 16;
        o += sprintf(o, "%c%c==", b64[v >> 18], b64[v >> 12 & 63]);
    } else if (n - i == 2) {
        v = (uint32_t) data[i] << 16 | (uint32_t) data[i + 1] << 8;
        o += sprintf(o, "%c%c%c=", b64[v >> 18], b64[v >> 12 & 63], b64[v >> 6 & 63]);
    }
    o += sprintf(o, "%s", tail);
    *len = (size_t) (o - m);
    return m;
}

static int
run(unsigned algs, const char *label, const unsigned char *data,
    const char *msg, size_t mlen)
{
    hg_unpack_cb_t  cb = { b_begin, b_data, b_end };
    ctx_t           x;
    hg_hash_t      *h = hg_hash_new();
    hg_unpack_t    *u;
    hg_digests_t    d;
    hg_err_t        err;
    double          t, best_u = 1e9, best_h = 1e9, mu, mh;
    size_t          off, k;
    int             r, i;

    if (h == NULL) {
        fprintf(stderr, "bench_unpack: hash context failed\n");
        return 1;
    }
    x.h = h;
    x.algs = algs;
    for (r = 0; r < ROUNDS; r++) {
        t = now();
        for (i = 0; i < REPS; i++) {
            x.bytes = 0;
            u = hg_unpack_new(HG_UNPACK_MESSAGE, NULL, NULL, &cb, &x, &err);
            if (u == NULL) {
                fprintf(stderr, "bench_unpack: %s\n", err.msg);
                return 1;
            }
            for (off = 0; off < mlen; off += k) {
                k = mlen - off < FEED_CHUNK ? mlen - off : FEED_CHUNK;
                if (hg_unpack_feed(u, msg + off, k, &err) != HG_OK) {
                    fprintf(stderr, "bench_unpack: %s\n", err.msg);
                    return 1;
                }
            }
            if (hg_unpack_finish(u, &err) != HG_OK) {
                fprintf(stderr, "bench_unpack: %s\n", err.msg);
                return 1;
            }
            hg_unpack_free(u);
            if (x.bytes != ATTACH_BYTES + 6) {
                fprintf(stderr, "bench_unpack: decoded %llu bytes, expected %d\n",
                        (unsigned long long) x.bytes, ATTACH_BYTES + 6);
                return 1;
            }
        }
        t = now() - t;
        best_u = t < best_u ? t : best_u;

        t = now();
        for (i = 0; i < REPS; i++) {
            hg_hash_init(h, algs);
            for (off = 0; off < ATTACH_BYTES; off += k) {
                k = ATTACH_BYTES - off < FEED_CHUNK ? ATTACH_BYTES - off : FEED_CHUNK;
                hg_hash_update(h, data + off, k);
            }
            hg_hash_final(h, &d);
        }
        t = now() - t;
        best_h = t < best_h ? t : best_h;
    }
    mu = (double) ATTACH_BYTES * REPS / best_u / 1e6;
    mh = (double) ATTACH_BYTES * REPS / best_h / 1e6;
    printf("RESULT unpack+hash 2MiB base64 %s ratio=%.2fx (%.0f MB/s vs %.0f MB/s "
           "digest-only)\n", label, mu / mh, mu, mh);
    hg_hash_free(h);
    return 0;
}

/* 2 MiB of text lines, a blank or an "=XX" escape now and then */
static char *
make_qp_message(size_t *len)
{
    static const char head[] =
        "From: bench@example.org\r\nSubject: bench\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
    char       *m = malloc(sizeof(head) + ATTACH_BYTES + 16);
    char       *o, *end;
    uint64_t    s = 0x9e3779b97f4a7c15ULL;
    int         col = 0;

    if (m == NULL) {
        return NULL;
    }
    o = m + sprintf(m, "%s", head);
    end = o + ATTACH_BYTES;
    while (o < end - 8) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        if (col >= 72) {
            o += sprintf(o, "\r\n");
            col = 0;
        } else if (s % 53 == 0) {
            o += sprintf(o, "=%02X", (unsigned) (s >> 8 & 0xff));
            col += 3;
        } else {
            *o++ = s % 7 == 0 ? ' ' : (char) ('a' + (s >> 16) % 26);
            col++;
        }
    }
    o += sprintf(o, "\r\n");
    *len = (size_t) (o - m);
    return m;
}

/* CPU seconds to unpack msg REPS times, hashing parts (and copies y[3]) */
static double
unpack_qp(const char *msg, size_t mlen, int copies, ctx_t *x, ctx_t *y)
{
    hg_unpack_cb_t  cb = { b_begin, b_data, b_end };
    hg_unpack_t    *u;
    hg_err_t        err;
    double          t = now();
    size_t          off, k;
    int             i;

    for (i = 0; i < REPS; i++) {
        u = hg_unpack_new(HG_UNPACK_MESSAGE, NULL, NULL, &cb, x, &err);
        if (u == NULL
            || (copies && (hg_unpack_set_copy_cb(u, &cb, &y[0], &err) != HG_OK
                           || hg_unpack_set_eol_copy_cb(u, &cb, &y[1], &y[2],
                                                        &err) != HG_OK)))
        {
            fprintf(stderr, "bench_unpack: %s\n", err.msg);
            return -1;
        }
        for (off = 0; off < mlen; off += k) {
            k = mlen - off < FEED_CHUNK ? mlen - off : FEED_CHUNK;
            if (hg_unpack_feed(u, msg + off, k, &err) != HG_OK) {
                fprintf(stderr, "bench_unpack: %s\n", err.msg);
                return -1;
            }
        }
        if (hg_unpack_finish(u, &err) != HG_OK) {
            fprintf(stderr, "bench_unpack: %s\n", err.msg);
            return -1;
        }
        hg_unpack_free(u);
    }
    return now() - t;
}

static int
run_qp(void)
{
    ctx_t       x, y[3];
    char       *msg;
    size_t      mlen;
    double      t1, t2, best1 = 1e9, best2 = 1e9;
    int         r, i;

    x.h = hg_hash_new();
    x.algs = HG_ALG_BIT(HG_ALG_SHA256);
    x.bytes = 0;
    for (i = 0; i < 3; i++) {
        y[i].h = hg_hash_new();
        y[i].algs = HG_ALG_BIT(HG_ALG_SHA256);
        y[i].bytes = 0;
    }
    if (x.h == NULL || y[0].h == NULL || y[1].h == NULL || y[2].h == NULL
        || (msg = make_qp_message(&mlen)) == NULL)
    {
        fprintf(stderr, "bench_unpack: setup failed\n");
        return 1;
    }
    for (r = 0; r < ROUNDS; r++) {
        t1 = unpack_qp(msg, mlen, 0, &x, y);
        t2 = unpack_qp(msg, mlen, 1, &x, y);
        if (t1 < 0 || t2 < 0) {
            return 1;
        }
        best1 = t1 < best1 ? t1 : best1;
        best2 = t2 < best2 ? t2 : best2;
    }
    if (y[0].bytes == 0 || y[1].bytes == 0 || y[2].bytes == 0) {
        fprintf(stderr, "bench_unpack: a copy was never hashed\n");
        return 1;
    }
    printf("RESULT unpack+hash 2MiB quoted-printable with its 3 copies "
           "ratio=%.2fx (%.0f MB/s vs %.0f MB/s without them; ideal 0.25x: "
           "four decodes, four hashes)\n",
           best1 / best2, (double) mlen * REPS / best2 / 1e6,
           (double) mlen * REPS / best1 / 1e6);
    free(msg);
    hg_hash_free(x.h);
    for (i = 0; i < 3; i++) {
        hg_hash_free(y[i].h);
    }
    return 0;
}

int
main(void)
{
    unsigned char  *data = malloc(ATTACH_BYTES);
    char           *msg;
    size_t          mlen, i;
    uint64_t        s = 0x2545f4914f6cdd1dULL;
    hg_err_t        err;

    if (data == NULL || hg_hash_global_init(&err) != HG_OK) {
        fprintf(stderr, "bench_unpack: setup failed\n");
        return 1;
    }
    for (i = 0; i < ATTACH_BYTES; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        data[i] = (unsigned char) s;
    }
    if ((msg = make_message(data, ATTACH_BYTES, &mlen)) == NULL) {
        return 1;
    }
    if (run(HG_ALG_BIT(HG_ALG_SHA256), "sha256", data, msg, mlen) != 0
        || run(HG_ALGS_ALL, "md5+sha1+sha256", data, msg, mlen) != 0
        || run_qp() != 0)
    {
        return 1;
    }
    free(msg);
    free(data);
    return 0;
}
