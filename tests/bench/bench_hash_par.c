/*
 * bench_hash_par.c - parallel digests of one object against serial ones.
 *
 * One object of seeded random bytes is hashed with MD5 + SHA-1 (a plain
 * hotline list) and with all three algorithms, fed in pieces of a given
 * size, by a context without a pool (serial) and by one with a pool of one
 * helper (hg_hash_set_parallel) splitting from a given size. Both run in
 * the same process, alternating, several rounds; the best round of each is
 * compared (noise on a shared machine only ever slows a round down):
 *
 *   - wall time (what a client waits for), serial over parallel: > 1 pays;
 *   - CPU time of the process (both threads) per byte, parallel over
 *     serial: what the split costs in all (wake-ups, copies when pieces are
 *     smaller than the split size); on a host with no idle core, this is
 *     the throughput it takes from everything else.
 *
 * With --busy N, N processes spinning at the same priority keep every core
 * busy during the run (the .sh passes the number of online CPUs): the wall
 * ratio then shows whether the split still gives anything and the CPU
 * ratio what it costs. The "floor" printed beside each wall ratio is the
 * best a split can do: serial time over the time of the slowest share
 * (MD5 alone), measured in the same run.
 *
 * Usage: bench_hash_par [--busy N] [--rounds R] [--min BYTES]
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hashgate/hash.h"

static double
now_wall(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
now_cpu(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}

static double
best(double *v, int n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return v[0];
}

static void
hash_once(hg_hash_t *h, unsigned algs, const unsigned char *buf, size_t size,
          size_t piece, double *wall, double *cpu)
{
    hg_digests_t  d;
    size_t        off, n;
    double        w0 = now_wall(), c0 = now_cpu();

    if (hg_hash_init(h, algs) != HG_OK) {
        fprintf(stderr, "bench_hash_par: hg_hash_init failed\n");
        exit(1);
    }
    for (off = 0; off < size; off += n) {
        n = size - off < piece ? size - off : piece;
        if (hg_hash_update(h, buf + off, n) != HG_OK) {
            fprintf(stderr, "bench_hash_par: hg_hash_update failed\n");
            exit(1);
        }
    }
    if (hg_hash_final(h, &d) != HG_OK) {
        fprintf(stderr, "bench_hash_par: hg_hash_final failed\n");
        exit(1);
    }
    *wall = now_wall() - w0;
    *cpu = now_cpu() - c0;
}

static const char *
size_name(size_t n, char *buf, size_t len)
{
    if (n >= 1048576 && n % 1048576 == 0) {
        snprintf(buf, len, "%zuMiB", n / 1048576);
    } else {
        snprintf(buf, len, "%zuKiB", n / 1024);
    }
    return buf;
}

int
main(int argc, char **argv)
{
    static const struct { size_t size, piece; } cases[] = {
        { 256 * 1024, 65536 },
        { 1024 * 1024, 65536 },
        { 4 * 1024 * 1024, 65536 },
        { 25 * 1024 * 1024, 49152 },       /* a milter attachment */
        { 25 * 1024 * 1024, 1024 * 1024 }, /* nginx's thread, behind */
    };
    static const struct { unsigned algs; const char *name; } sets[] = {
        { HG_ALG_BIT(HG_ALG_MD5) | HG_ALG_BIT(HG_ALG_SHA1), "md5+sha1" },
        { HG_ALGS_ALL, "md5+sha1+sha256" },
    };
    int             busy = 0, rounds = 9, i, r, c, k, reps;
    size_t          min = 512 * 1024;
    pid_t          *spin = NULL;
    unsigned char  *buf;
    uint64_t        x = 0x9e3779b97f4a7c15ull;
    hg_hash_t      *hs, *hp;
    hg_hash_par_t  *par;
    hg_err_t        err;
    char            sz[32], pc[32], mn[32];

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--busy") == 0 && i + 1 < argc) {
            busy = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--min") == 0 && i + 1 < argc) {
            min = strtoul(argv[++i], NULL, 0);
        } else {
            fprintf(stderr, "usage: bench_hash_par [--busy N] [--rounds R] "
                    "[--min BYTES]\n");
            return 2;
        }
    }
    if (rounds < 1 || rounds > 64) {
        rounds = 9;
    }

    buf = malloc(25 * 1024 * 1024);
    hs = hg_hash_new();
    hp = hg_hash_new();
    par = hg_hash_par_new(min, 1, &err);
    if (buf == NULL || hs == NULL || hp == NULL || par == NULL) {
        fprintf(stderr, "bench_hash_par: setup failed: %s\n",
                par == NULL ? err.msg : "out of memory");
        return 1;
    }
    hg_hash_set_parallel(hp, par);
    for (i = 0; i < 25 * 1024 * 1024; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (unsigned char) x;
    }

    if (busy > 0) {
        spin = calloc(busy, sizeof(*spin));
        for (i = 0; i < busy; i++) {
            if ((spin[i] = fork()) == 0) {
                volatile uint64_t  v = 0;

                for (;;) {
                    v++;
                }
            }
        }
    }

    for (k = 0; k < (int) (sizeof(sets) / sizeof(sets[0])); k++) {
        for (c = 0; c < (int) (sizeof(cases) / sizeof(cases[0])); c++) {
            double  ws[64], wp[64], wm[64], cs[64], cp[64], cm[64], w, cpu;
            double  mws, mwp, mwm, mcs, mcp;
            uint64_t s0 = hg_hash_par_splits(par),
                     b0 = hg_hash_par_taken_back(par);

            reps = cases[c].size < 4 * 1024 * 1024 ? 8 : 1;
            for (r = 0; r < rounds; r++) {
                int  j;

                ws[r] = wp[r] = wm[r] = cs[r] = cp[r] = cm[r] = 0;
                for (j = 0; j < reps; j++) {
                    /* alternate which goes first */
                    if ((r + j) % 2 == 0) {
                        hash_once(hs, sets[k].algs, buf, cases[c].size,
                                  cases[c].piece, &w, &cpu);
                        ws[r] += w; cs[r] += cpu;
                        hash_once(hp, sets[k].algs, buf, cases[c].size,
                                  cases[c].piece, &w, &cpu);
                        wp[r] += w; cp[r] += cpu;
                    } else {
                        hash_once(hp, sets[k].algs, buf, cases[c].size,
                                  cases[c].piece, &w, &cpu);
                        wp[r] += w; cp[r] += cpu;
                        hash_once(hs, sets[k].algs, buf, cases[c].size,
                                  cases[c].piece, &w, &cpu);
                        ws[r] += w; cs[r] += cpu;
                    }
                    hash_once(hs, HG_ALG_BIT(HG_ALG_MD5), buf, cases[c].size,
                              cases[c].piece, &w, &cpu);
                    wm[r] += w; cm[r] += cpu;
                }
            }
            mws = best(ws, rounds);
            mwp = best(wp, rounds);
            mwm = best(wm, rounds);
            mcs = best(cs, rounds);
            mcp = best(cp, rounds);
            printf("RESULT hash_par %s %s in %s pieces%s: wall %.2f x "
                   "serial's speed (floor %.2f x: MD5 alone), CPU per byte "
                   "%.2f x serial's  (serial %.0f MB/s, parallel %.0f MB/s, "
                   "split from %s, best of %d; %llu splits, %llu taken back "
                   "by the caller, their helper not started)\n",
                   sets[k].name, size_name(cases[c].size, sz, sizeof(sz)),
                   size_name(cases[c].piece, pc, sizeof(pc)),
                   busy ? ", every core busy" : "", mws / mwp, mws / mwm,
                   mcp / mcs, reps * cases[c].size / mws / 1e6,
                   reps * cases[c].size / mwp / 1e6,
                   size_name(min, mn, sizeof(mn)), rounds,
                   (unsigned long long) (hg_hash_par_splits(par) - s0),
                   (unsigned long long) (hg_hash_par_taken_back(par) - b0));
            fflush(stdout);
        }
    }

    for (i = 0; i < busy; i++) {
        kill(spin[i], SIGKILL);
        waitpid(spin[i], NULL, 0);
    }
    free(spin);
    hg_hash_free(hs);
    hg_hash_free(hp);
    hg_hash_par_free(par);
    free(buf);
    return 0;
}
