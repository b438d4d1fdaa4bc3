/*
 * bench_inspect.c - what opening an archive in the sandboxed helper costs
 * against the floor: libarchive extracting it to nothing (bsdtar -xOf A)
 * plus hashing the same inner bytes with the same digests.
 *
 *   bench_inspect ARCHIVE ALGS LABEL HELPER
 *
 * ALGS is "sha256" or "all". The archive is sent to a real hashgate-inspect
 * (seccomp, rlimits, the descriptor passed over its socket) with
 * hg_inspect_run, as the milter does. The floor's two halves are measured
 * apart: bsdtar as a child process, the hashing in this process over the
 * bytes bsdtar wrote (read back once through a pipe). Every figure is
 * wall-clock time (the helper is another process), best of ROUNDS rounds
 * interleaved, the least disturbed by other jobs on a shared machine.
 * Prints one RESULT line: inner bytes/s through the helper over the floor.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hashgate/hash.h"
#include "hashgate/inspect.h"

#define ROUNDS  5

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

typedef struct {
    uint64_t    files;
    uint64_t    bytes;
} count_t;

static hg_status_t
on_entry(void *ctx, const hg_inspect_entry_t *e)
{
    count_t *c = ctx;

    if (!(e->flags & HG_INSPECT_F_CONTAINER)) {
        c->files++;
        c->bytes += e->size;
    }
    return HG_OK;
}

/* bsdtar -xOf path > /dev/null (out NULL) or into a malloc'd buffer */
static double
run_bsdtar(const char *path, unsigned char **out, size_t *outlen)
{
    int             fd[2];
    pid_t           pid;
    double          t0, t1;
    int             st, devnull;
    size_t          cap = 0, len = 0;
    unsigned char  *buf = NULL;
    ssize_t         n;

    if (pipe(fd) < 0) {
        perror("pipe");
        exit(1);
    }
    t0 = now();
    pid = fork();
    if (pid == 0) {
        if (out == NULL) {
            devnull = open("/dev/null", O_WRONLY);
            dup2(devnull, 1);
        } else {
            dup2(fd[1], 1);
        }
        close(fd[0]);
        close(fd[1]);
        execlp("bsdtar", "bsdtar", "-xOf", path, (char *) NULL);
        _exit(127);
    }
    close(fd[1]);
    if (out != NULL) {
        for ( ;; ) {
            if (len == cap) {
                cap = cap ? cap * 2 : (1 << 20);
                buf = realloc(buf, cap);
                if (buf == NULL) {
                    perror("realloc");
                    exit(1);
                }
            }
            n = read(fd[0], buf + len, cap - len);
            if (n <= 0) {
                break;
            }
            len += (size_t) n;
        }
        *out = buf;
        *outlen = len;
    }
    close(fd[0]);
    waitpid(pid, &st, 0);
    t1 = now();
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench_inspect: bsdtar -xOf %s failed\n", path);
        exit(1);
    }
    return t1 - t0;
}

int
main(int argc, char **argv)
{
    const char             *path, *label;
    unsigned                algs;
    int                     fd, r;
    struct stat             sb;
    hg_err_t                err;
    hg_inspector_t         *in;
    hg_inspect_limits_t     lim;
    hg_inspect_done_t       done;
    hg_hash_t              *h;
    hg_digests_t            d;
    count_t                 c;
    unsigned char          *inner;
    size_t                  inner_len;
    double                  t, best_helper = 1e9, best_tar = 1e9,
                            best_hash = 1e9, floor_s, ratio;

    if (argc != 5) {
        fprintf(stderr, "usage: bench_inspect ARCHIVE sha256|all LABEL "
                "HELPER\n");
        return 2;
    }
    path = argv[1];
    algs = strcmp(argv[2], "all") == 0 ? HG_ALGS_ALL
                                       : HG_ALG_BIT(HG_ALG_SHA256);
    label = argv[3];

    if (hg_hash_global_init(&err) != HG_OK) {
        fprintf(stderr, "bench_inspect: %s\n", err.msg);
        return 1;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) < 0) {
        perror(path);
        return 1;
    }
    in = hg_inspector_new(argv[4], &err);
    if (in == NULL) {
        fprintf(stderr, "bench_inspect: %s\n", err.msg);
        return 1;
    }
    hg_inspect_limits_default(&lim);
    lim.max_bytes = UINT64_MAX / 2;
    lim.max_ratio = 0;
    lim.timeout_ms = 600000;

    /* the inner bytes as bsdtar gives them, for the hashing half */
    run_bsdtar(path, &inner, &inner_len);
    h = hg_hash_new();
    if (h == NULL) {
        return 1;
    }

    for (r = 0; r < ROUNDS; r++) {
        memset(&c, 0, sizeof(c));
        t = now();
        if (hg_inspect_run(in, fd, (uint64_t) sb.st_size, algs, &lim,
                           on_entry, &c, &done) != HG_OK)
        {
            fprintf(stderr, "bench_inspect: inspection failed: %s\n",
                    done.why);
            return 1;
        }
        t = now() - t;
        if (t < best_helper) {
            best_helper = t;
        }

        t = run_bsdtar(path, NULL, NULL);
        if (t < best_tar) {
            best_tar = t;
        }

        t = now();
        if (hg_hash_init(h, algs) != HG_OK
            || hg_hash_update(h, inner, inner_len) != HG_OK
            || hg_hash_final(h, &d) != HG_OK)
        {
            return 1;
        }
        t = now() - t;
        if (t < best_hash) {
            best_hash = t;
        }
    }

    if (c.bytes != inner_len) {
        fprintf(stderr, "bench_inspect: the helper read %llu inner bytes, "
                "bsdtar %zu\n", (unsigned long long) c.bytes, inner_len);
        return 1;
    }

    floor_s = best_tar + best_hash;
    ratio = floor_s / best_helper;
    printf("RESULT inspect %s %s: %.2fx of the floor (helper %.0f MB/s; "
           "floor bsdtar -xOf + %s hashing %.0f MB/s = bsdtar %.0f MB/s, "
           "hashing %.0f MB/s; %llu files, %.1f MiB inner, %.1f MiB "
           "archive; target >= 0.80)\n",
           label, argv[2], ratio, inner_len / best_helper / 1e6,
           argv[2], inner_len / floor_s / 1e6,
           inner_len / best_tar / 1e6, inner_len / best_hash / 1e6,
           (unsigned long long) c.files, inner_len / 1048576.0,
           sb.st_size / 1048576.0);

    hg_hash_free(h);
    free(inner);
    hg_inspector_free(in);
    close(fd);
    return 0;
}
