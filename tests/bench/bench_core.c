/*
 * bench_core.c - measure the digest API and the compiled database.
 *
 *   bench_core digest SECONDS
 *       hash a 64 MiB buffer of seeded random bytes in 1 MiB chunks, per
 *       algorithm and all three in one pass; prints "hashgate ALG MB/s"
 *       per second of user CPU time, as `openssl speed` counts.
 *   bench_core compile OUT N sha256|mixed [SEED]
 *       feed N seeded random digests through the hg_dbb API and write OUT;
 *       prints the compile time and this process's peak RSS.
 *   bench_core lookup DB N sha256|mixed [SEED]
 *       open DB (timed, best of 5), then time single lookups of random
 *       present and absent digests; prints the medians in ns.
 *   bench_core textlist OUT N [SEED]
 *       write the same SHA-256 digests as a text list (for hashgate compile).
 *   bench_core object DB
 *       one object's MD5, SHA-1 and SHA-256 looked up in a database of all
 *       three, one after the other and prefetched first; prints medians.
 *
 * Digest i of a run is a pure function of (seed, i), so the lookup run can
 * pick present keys without keeping the list. Synthetic data only.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include <time.h>

#include "hashgate/db.h"
#include "hashgate/hash.h"

#define BENCH_BUF       (64u << 20)     /* the 64 MiB */
#define BENCH_CHUNK     (1u << 20)      /* fed in 1 MiB chunks */
#define LOOKUPS         1000000         /* per kind, present and absent */

static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t
splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Digest number i: algorithm (mixed: by i mod 3) and bytes. */
static hg_alg_t
digest_of(uint64_t seed, uint64_t i, int mixed, unsigned char *d)
{
    hg_alg_t  a = mixed ? (hg_alg_t) (i % 3) : HG_ALG_SHA256;
    uint64_t  v;
    int       k;

    for (k = 0; k < 4; k++) {
        v = splitmix(seed * 0x100000001b3ULL + i * 4 + (uint64_t) k);
        memcpy(d + 8 * k, &v, 8);
    }
    return a;
}

/*
 * User CPU seconds: what `openssl speed` divides by unless given -elapsed,
 * so both sides of a ratio are measured alike on a shared, busy machine.
 */
static double
user_cpu(void)
{
    struct rusage  ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
}

static long
peak_rss_kib(void)
{
    struct rusage  ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int
bench_digest(double seconds)
{
    static const struct { const char *name; unsigned algs; } runs[] = {
        { "md5", HG_ALG_BIT(HG_ALG_MD5) },
        { "sha1", HG_ALG_BIT(HG_ALG_SHA1) },
        { "sha256", HG_ALG_BIT(HG_ALG_SHA256) },
        { "all3", HG_ALGS_ALL },
    };
    unsigned char  *buf = malloc(BENCH_BUF);
    hg_hash_t      *h = hg_hash_new();
    hg_digests_t    d;
    double          t0, t;
    uint64_t        bytes, x = 1;
    size_t          i, off;

    if (buf == NULL || h == NULL) {
        fprintf(stderr, "bench_core: out of memory or OpenSSL failed\n");
        return 2;
    }
    for (i = 0; i < BENCH_BUF; i += 8) {
        x = splitmix(x);
        memcpy(buf + i, &x, 8);
    }
    for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        bytes = 0;
        t0 = user_cpu();
        do {
            hg_hash_init(h, runs[i].algs);
            for (off = 0; off < BENCH_BUF; off += BENCH_CHUNK) {
                hg_hash_update(h, buf + off, BENCH_CHUNK);
            }
            hg_hash_final(h, &d);
            bytes += BENCH_BUF;
            t = user_cpu() - t0;
        } while (t < seconds);
        printf("hashgate %s %.1f MB/s\n", runs[i].name, bytes / t / 1e6);
        fflush(stdout);
    }
    hg_hash_free(h);
    free(buf);
    return 0;
}

static int
bench_compile(const char *out, uint64_t n, int mixed, uint64_t seed)
{
    hg_dbb_t       *b = hg_dbb_new();
    hg_entry_t      e;
    hg_err_t        err;
    uint32_t        id;
    uint64_t        i;
    double          t0 = now(), t1;

    if (b == NULL || hg_dbb_list(b, "bench", "1", HG_LIST_BLOCK, &id, &err) != HG_OK) {
        fprintf(stderr, "bench_core: cannot start a builder\n");
        return 2;
    }
    memset(&e, 0, sizeof(e));
    for (i = 0; i < n; i++) {
        e.alg = digest_of(seed, i, mixed, e.digest);
        if (hg_dbb_add(b, id, &e) != HG_OK) {
            fprintf(stderr, "bench_core: add failed at %llu\n",
                    (unsigned long long) i);
            return 2;
        }
    }
    t1 = now();
    if (hg_dbb_write(b, out, 0, &err) != HG_OK) {
        fprintf(stderr, "bench_core: %s\n", err.msg);
        return 2;
    }
    hg_dbb_free(b);
    printf("compile entries=%llu add_s=%.2f write_s=%.2f total_s=%.2f "
           "peak_rss_kib=%ld\n", (unsigned long long) n, t1 - t0, now() - t1,
           now() - t0, peak_rss_kib());
    return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
    uint32_t  x = *(const uint32_t *) a, y = *(const uint32_t *) b;

    return (x > y) - (x < y);
}

/* The n-th key a lookup pass asks for: present (seed) or absent. */
static hg_alg_t
lookup_key(uint64_t n, int mixed, uint64_t seed, int present, int j,
           unsigned char *d)
{
    uint64_t  k = splitmix((uint64_t) j ^ 0x5555) % n;

    /* absent keys: the same algorithms, from another seed */
    return digest_of(present ? seed : seed + 1000003, k, mixed, d);
}

static uint32_t
elapsed_ns(const struct timespec *a, const struct timespec *b)
{
    return (uint32_t) ((b->tv_sec - a->tv_sec) * 1000000000L
                       + (b->tv_nsec - a->tv_nsec));
}

static uint32_t
time_lookup(hg_db_t *db, uint64_t n, int mixed, uint64_t seed, int present,
            int j, uint64_t *found)
{
    unsigned char   d[32];
    hg_db_hit_t     hit;
    struct timespec a, b;
    hg_alg_t        alg = lookup_key(n, mixed, seed, present, j, d);
    size_t          i;

    clock_gettime(CLOCK_MONOTONIC, &a);
    i = hg_db_lookup(db, alg, d, &hit, 1);
    clock_gettime(CLOCK_MONOTONIC, &b);
    *found += i > 0;
    return elapsed_ns(&a, &b);
}

/*
 * The floor a lookup cannot beat: one read at a random place of the same
 * file, mapped the same way, timed the same way. With lines > 1, that
 * many consecutive 64-byte lines from a random line start read at once
 * (independent loads the CPU may overlap): what fetching a window of rows
 * costs next to fetching one.
 */
static uint32_t
time_read(volatile const unsigned char *m, size_t size, int j,
          unsigned lines, unsigned *sink)
{
    struct timespec  a, b;
    size_t           i;
    unsigned         k, s = 0;

    i = splitmix((uint64_t) j + 99 + lines * 7919ULL) % (size - 64 * lines);
    if (lines > 1) {
        i &= ~(size_t) 63;
    }
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (k = 0; k < lines; k++) {
        s += m[i + 64 * k];
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    *sink += s;
    return elapsed_ns(&a, &b);
}

static uint32_t
median_of(uint32_t *ns)
{
    qsort(ns, LOOKUPS, sizeof(*ns), cmp_u32);
    return ns[LOOKUPS / 2];
}

/* what bench_lookup times, each into its own column of ns */
enum { K_PRESENT, K_ABSENT, K_TIMER, K_READ1, K_READ2, K_READ9, K_KINDS };

static int
bench_lookup(const char *path, uint64_t n, int mixed, uint64_t seed)
{
    static const unsigned  lines[K_KINDS] = { 0, 0, 0, 1, 2, 9 };
    volatile const unsigned char *m;
    hg_db_t         *db;
    hg_err_t         err;
    double           t0, best = 1e9;
    uint32_t        *ns[K_KINDS], med[K_KINDS];
    uint64_t         fp = 0, fa = 0, unused = 0;
    struct timespec  a, b;
    size_t           size, i;
    unsigned         sink = 0;
    int              j, k, kind, fd;

    for (k = 0; k < K_KINDS; k++) {
        if ((ns[k] = malloc(LOOKUPS * sizeof(*ns[k]))) == NULL) {
            return 2;
        }
    }
    for (j = 0; j < 5; j++) {
        t0 = now();
        if (hg_db_open(path, 0, &db, &err) != HG_OK) {
            fprintf(stderr, "bench_core: %s\n", err.msg);
            return 2;
        }
        t0 = now() - t0;
        best = t0 < best ? t0 : best;
        hg_db_close(db);
    }
    hg_db_open(path, 0, &db, &err);
    if ((fd = open(path, O_RDONLY)) < 0) {
        return 2;
    }
    size = (size_t) lseek(fd, 0, SEEK_END);
    m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        return 2;
    }
    /* steady state, as a server after its first requests: one untimed pass
     * maps the pages (first-touch faults are a once-per-process cost) */
    if (getenv("BENCH_COLD") == NULL) {
        for (j = 0; j < LOOKUPS; j++) {
            time_lookup(db, n, mixed, seed, 1, j, &unused);
        }
    }
    for (i = 0; i < size; i += 4096) {
        sink += m[i];
    }
    /*
     * Every kind is timed in the same pass, in turn, so whatever else the
     * machine does in the meantime (a shared host) weighs on lookups and
     * on the reads they are compared with alike.
     */
    for (j = 0; j < LOOKUPS; j++) {
        for (k = 0; k < K_KINDS; k++) {
            kind = (j + k) % K_KINDS;
            switch (kind) {
            case K_PRESENT:
                ns[kind][j] = time_lookup(db, n, mixed, seed, 1, j, &fp);
                break;
            case K_ABSENT:
                ns[kind][j] = time_lookup(db, n, mixed, seed, 0, j, &fa);
                break;
            case K_TIMER:
                clock_gettime(CLOCK_MONOTONIC, &a);
                clock_gettime(CLOCK_MONOTONIC, &b);
                ns[kind][j] = elapsed_ns(&a, &b);
                break;
            default:
                ns[kind][j] = time_read(m, size, j, lines[kind], &sink);
            }
        }
    }
    for (k = 0; k < K_KINDS; k++) {
        med[k] = median_of(ns[k]);
    }
    printf("lookup open_ms=%.3f present_ns=%u absent_ns=%u timer_ns=%u "
           "one_random_read_ns=%u two_lines_ns=%u nine_lines_ns=%u "
           "found_present=%llu found_absent=%llu of %d file_bytes=%llu\n",
           best * 1e3, med[K_PRESENT], med[K_ABSENT], med[K_TIMER],
           med[K_READ1] + (sink & 0), med[K_READ2], med[K_READ9],
           (unsigned long long) fp, (unsigned long long) fa, LOOKUPS,
           (unsigned long long) hg_db_file_size(db));
    munmap((void *) m, size);
    hg_db_close(db);
    for (k = 0; k < K_KINDS; k++) {
        free(ns[k]);
    }
    return fp == LOOKUPS && fa == 0 ? 0 : 1;
}

/*
 * One object against a database of all three algorithms: its MD5, SHA-1
 * and SHA-256 looked up one after the other, as a scan did before
 * hg_db_prefetch, and with the three prefetched first (what hg_scan_end
 * does). Absent digests, as nearly every real object is. Medians, ns.
 */
static int
bench_object(const char *path)
{
    hg_db_t         *db;
    hg_err_t         err;
    hg_db_hit_t      hit;
    unsigned char    d[HG_ALG_COUNT][32];
    uint32_t        *ns = malloc(LOOKUPS * sizeof(*ns)), med[2];
    struct timespec  a, b;
    size_t           found = 0;
    int              j, k, mode;

    if (ns == NULL || hg_db_open(path, 0, &db, &err) != HG_OK) {
        fprintf(stderr, "bench_core: cannot open %s\n", path);
        return 2;
    }
    for (mode = 0; mode < 2; mode++) {
        for (j = 0; j < LOOKUPS; j++) {
            for (k = 0; k < HG_ALG_COUNT; k++) {
                digest_of(777 + mode, (uint64_t) j * HG_ALG_COUNT + k, 0,
                          d[k]);
            }
            clock_gettime(CLOCK_MONOTONIC, &a);
            if (mode == 1) {
                for (k = 0; k < HG_ALG_COUNT; k++) {
                    hg_db_prefetch(db, (hg_alg_t) k, d[k]);
                }
            }
            for (k = 0; k < HG_ALG_COUNT; k++) {
                found += hg_db_lookup(db, (hg_alg_t) k, d[k], &hit, 1);
            }
            clock_gettime(CLOCK_MONOTONIC, &b);
            ns[j] = (uint32_t) ((b.tv_sec - a.tv_sec) * 1000000000L
                                + (b.tv_nsec - a.tv_nsec));
        }
        qsort(ns, LOOKUPS, sizeof(*ns), cmp_u32);
        med[mode] = ns[LOOKUPS / 2];
    }
    printf("object3 sequential_ns=%u prefetched_ns=%u found=%zu\n",
           med[0], med[1], found);
    hg_db_close(db);
    free(ns);
    return found == 0 ? 0 : 1;
}

static int
bench_textlist(const char *out, uint64_t n, uint64_t seed)
{
    FILE           *fp = fopen(out, "w");
    unsigned char   d[32];
    char            hex[HG_HEX_MAX];
    uint64_t        i;

    if (fp == NULL) {
        perror(out);
        return 2;
    }
    for (i = 0; i < n; i++) {
        digest_of(seed, i, 0, d);
        hg_hex_encode(d, 32, hex);
        fprintf(fp, "%s\n", hex);
    }
    return fclose(fp) == 0 ? 0 : 2;
}

int
main(int argc, char **argv)
{
    uint64_t  seed = 1;

    if (argc >= 3 && strcmp(argv[1], "digest") == 0) {
        return bench_digest(atof(argv[2]));
    }
    if (argc >= 5 && (strcmp(argv[1], "compile") == 0
                      || strcmp(argv[1], "lookup") == 0))
    {
        if (argc >= 6) {
            seed = strtoull(argv[5], NULL, 10);
        }
        if (argv[1][0] == 'c') {
            return bench_compile(argv[2], strtoull(argv[3], NULL, 10),
                                 strcmp(argv[4], "mixed") == 0, seed);
        }
        return bench_lookup(argv[2], strtoull(argv[3], NULL, 10),
                            strcmp(argv[4], "mixed") == 0, seed);
    }
    if (argc >= 3 && strcmp(argv[1], "object") == 0) {
        return bench_object(argv[2]);
    }
    if (argc >= 4 && strcmp(argv[1], "textlist") == 0) {
        if (argc >= 5) {
            seed = strtoull(argv[4], NULL, 10);
        }
        return bench_textlist(argv[2], strtoull(argv[3], NULL, 10), seed);
    }
    fprintf(stderr, "usage: bench_core digest SECONDS | compile OUT N "
            "sha256|mixed [SEED] | lookup DB N sha256|mixed [SEED] | "
            "textlist OUT N [SEED] | object DB\n");
    return 2;
}
