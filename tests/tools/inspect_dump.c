/*
 * inspect_dump.c - a file through the caller's side of archive inspection,
 * as the milter, nginx and the CLI will put a part through it: fed to
 * hg_spool in chunks, and when it is a container, handed to the real
 * helper (hashgate-inspect) by hg_inspect_run. For tests.
 *
 * Prints one JSON line per entry (depth, path, chain, name, format, size,
 * flags, md5, sha1, sha256 when read), then one line for the end: status,
 * limit, files, bytes, why, the helper's pid and restarts. A file that is
 * not a container prints {"container": false}. --repeat N sends the same
 * container N times to one helper (the lines of each run are printed).
 * --images 1 (2: with the dihedral hashes) sends images too: an entry or
 * the end line then has "image": {format, status, width, height, pdq,
 * quality, why, and "dihedral" [8 hashes] when asked}; "us" on the end
 * line is the wall time of the run in microseconds.
 *
 *   inspect_dump --helper PATH [--chunk N] [--repeat N] [--timeout MS]
 *                [--max-depth N] [--max-files N] [--max-bytes N]
 *                [--max-file-bytes N] [--max-ratio N] [--images 1|2]
 *                [--max-pixels N] [--image-bytes N] [--image-timeout MS]
 *                FILE
 *
 * Exit status: 0 when it ran (whatever the inspection's status), 2 on a
 * usage or set-up error.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hashgate/hash.h"
#include "hashgate/inspect.h"
#include "hashgate/json.h"

static const struct {
    unsigned     bit;
    const char  *name;
} dump_flags[] = {
    { HG_INSPECT_F_ENCRYPTED, "encrypted" },
    { HG_INSPECT_F_CONTAINER, "container" },
    { HG_INSPECT_F_UNREADABLE, "unreadable" },
    { HG_INSPECT_F_HIDDEN, "hidden" },
    { HG_INSPECT_F_PATH_CUT, "path_cut" },
};

static void
dump_line(hg_json_t *j)
{
    if (hg_json_done(j) != HG_OK) {
        fprintf(stderr, "inspect_dump: JSON writer failed\n");
        exit(2);
    }
    fwrite(j->buf, 1, j->len, stdout);     /* the line ends in it */
    hg_json_reset(j);
}

static void
dump_image(hg_json_t *j, const hg_inspect_image_t *img)
{
    char  hex[HG_PDQ_HEX_LEN + 1];
    int   k;

    hg_json_key(j, "image");
    hg_json_obj_begin(j);
    hg_json_kv_str(j, "format", hg_image_format_name(img->format));
    hg_json_kv_str(j, "status", hg_status_str(img->st));
    hg_json_kv_uint(j, "width", img->width);
    hg_json_kv_uint(j, "height", img->height);
    if (img->st == HG_OK) {
        hg_pdq_to_hex(&img->pdq.hash, hex);
        hg_json_kv_str(j, "pdq", hex);
        hg_json_kv_uint(j, "quality", (uint64_t) img->pdq.quality);
        if (img->dihedral) {
            hg_json_key(j, "dihedral");
            hg_json_arr_begin(j);
            for (k = 0; k < HG_PDQ_DIHEDRAL_COUNT; k++) {
                hg_pdq_to_hex(&img->pdq.dihedral[k], hex);
                hg_json_str(j, hex);
            }
            hg_json_arr_end(j);
        }
    }
    hg_json_kv_str(j, "why", img->why);
    hg_json_obj_end(j);
}

static hg_status_t
dump_entry(void *ctx, const hg_inspect_entry_t *e)
{
    hg_json_t  *j = ctx;
    char        hex[HG_HEX_MAX];
    size_t      i;
    unsigned    a;

    hg_json_obj_begin(j);
    hg_json_kv_uint(j, "depth", e->depth);
    hg_json_kv_str(j, "path", e->path);
    hg_json_kv_str(j, "chain", e->chain);
    hg_json_kv_str(j, "name", e->name);
    hg_json_kv_str(j, "format", e->format);
    hg_json_kv_uint(j, "size", e->size);
    hg_json_key(j, "flags");
    hg_json_arr_begin(j);
    for (i = 0; i < sizeof(dump_flags) / sizeof(dump_flags[0]); i++) {
        if (e->flags & dump_flags[i].bit) {
            hg_json_str(j, dump_flags[i].name);
        }
    }
    hg_json_arr_end(j);
    for (a = 0; a < HG_ALG_COUNT; a++) {
        if (e->digests.algs & HG_ALG_BIT(a)) {
            hg_hex_encode(e->digests.d[a], hg_alg_len((hg_alg_t) a), hex);
            hg_json_kv_str(j, hg_alg_name((hg_alg_t) a), hex);
        }
    }
    if (e->image != NULL) {
        dump_image(j, e->image);
    }
    hg_json_obj_end(j);
    dump_line(j);
    return HG_OK;
}

static int
dump_usage(void)
{
    fprintf(stderr, "usage: inspect_dump --helper PATH [--chunk N] "
            "[--repeat N] [--timeout MS] [--max-depth N] [--max-files N] "
            "[--max-bytes N] [--max-file-bytes N] [--max-ratio N] "
            "[--images 1|2] [--max-pixels N] [--image-bytes N] "
            "[--image-timeout MS] FILE\n");
    return 2;
}

int
main(int argc, char **argv)
{
    hg_inspect_limits_t   lim;
    hg_inspect_done_t     done;
    hg_inspector_t       *in;
    hg_spool_t           *sp;
    hg_status_t           st;
    hg_err_t              err;
    hg_json_t             j;
    const char           *helper = NULL, *path = NULL, *format = NULL;
    unsigned char        *buf;
    unsigned long long    v;
    uint64_t              size = 0;
    size_t                chunk = 65536;
    ssize_t               n;
    long                  repeat = 1, r;
    int                   i, fd, sfd = -1, rc;

    hg_inspect_limits_default(&lim);
    for (i = 1; i < argc; i++) {
        if (i + 1 < argc && argv[i][0] == '-' && argv[i][1] == '-') {
            v = strtoull(argv[i + 1], NULL, 10);
            if (strcmp(argv[i], "--helper") == 0) {
                helper = argv[++i];
                continue;
            }
            i++;
            if (strcmp(argv[i - 1], "--chunk") == 0 && v > 0) {
                chunk = (size_t) v;
            } else if (strcmp(argv[i - 1], "--repeat") == 0 && v > 0) {
                repeat = (long) v;
            } else if (strcmp(argv[i - 1], "--timeout") == 0) {
                lim.timeout_ms = (unsigned) v;
            } else if (strcmp(argv[i - 1], "--max-depth") == 0) {
                lim.max_depth = (unsigned) v;
            } else if (strcmp(argv[i - 1], "--max-files") == 0) {
                lim.max_files = v;
            } else if (strcmp(argv[i - 1], "--max-bytes") == 0) {
                lim.max_bytes = v;
            } else if (strcmp(argv[i - 1], "--max-file-bytes") == 0) {
                lim.max_file_bytes = v;
            } else if (strcmp(argv[i - 1], "--max-ratio") == 0) {
                lim.max_ratio = (unsigned) v;
            } else if (strcmp(argv[i - 1], "--images") == 0) {
                lim.images = v == 0 ? 0 : v == 1 ? HG_INSPECT_IMAGES
                             : HG_INSPECT_IMAGES | HG_INSPECT_DIHEDRAL;
            } else if (strcmp(argv[i - 1], "--max-pixels") == 0) {
                lim.image.max_pixels = v;
            } else if (strcmp(argv[i - 1], "--image-bytes") == 0) {
                lim.image.max_bytes = v;
            } else if (strcmp(argv[i - 1], "--image-timeout") == 0) {
                lim.image.timeout_ms = (unsigned) v;
            } else {
                return dump_usage();
            }
        } else if (path == NULL && argv[i][0] != '-') {
            path = argv[i];
        } else {
            return dump_usage();
        }
    }
    if (helper == NULL || path == NULL) {
        return dump_usage();
    }

    fd = open(path, O_RDONLY | O_CLOEXEC);
    buf = malloc(chunk);
    sp = hg_spool_new();
    if (fd < 0 || buf == NULL || sp == NULL) {
        fprintf(stderr, "inspect_dump: %s: %s\n", path, strerror(errno));
        return 2;
    }
    hg_spool_images(sp, lim.images ? lim.image.max_bytes : 0);
    hg_spool_begin(sp, lim.max_file_bytes);
    while ((n = read(fd, buf, chunk)) > 0) {
        if (hg_spool_feed(sp, buf, (size_t) n, &err) != HG_OK) {
            break;
        }
    }
    close(fd);

    hg_json_init(&j);
    rc = hg_spool_end(sp, &sfd, &size, &format, &st, &err);
    if (rc <= 0) {
        hg_json_obj_begin(&j);
        hg_json_key(&j, "container");
        hg_json_bool(&j, 0);
        if (rc < 0) {
            hg_json_kv_str(&j, "status", hg_status_str(st));
            hg_json_kv_str(&j, "why", err.msg);
        }
        hg_json_obj_end(&j);
        dump_line(&j);
        hg_spool_free(sp);
        hg_json_free(&j);
        free(buf);
        return 0;
    }

    in = hg_inspector_new(helper, &err);
    if (in == NULL) {
        fprintf(stderr, "inspect_dump: %s\n", err.msg);
        return 2;
    }
    for (r = 0; r < repeat; r++) {
        struct timespec  t0, t1;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        hg_inspect_run(in, sfd, size, HG_ALGS_ALL, &lim, dump_entry, &j,
                       &done);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        hg_json_obj_begin(&j);
        hg_json_kv_uint(&j, "us", (uint64_t) ((t1.tv_sec - t0.tv_sec)
                                              * 1000000
                                              + (t1.tv_nsec - t0.tv_nsec)
                                                / 1000));
        if (done.image.format != HG_IMAGE_NONE) {
            dump_image(&j, &done.image);
        }
        hg_json_kv_str(&j, "sniffed", format);
        hg_json_kv_str(&j, "status", hg_status_str(done.st));
        hg_json_kv_str(&j, "limit", hg_inspect_limit_name(done.limit));
        hg_json_kv_uint(&j, "files", done.files);
        hg_json_kv_uint(&j, "bytes", done.bytes);
        hg_json_kv_str(&j, "why", done.why);
        hg_json_kv_uint(&j, "helper_pid",
                        (uint64_t) hg_inspector_pid(in));
        hg_json_kv_uint(&j, "restarts", hg_inspector_restarts(in));
        hg_json_obj_end(&j);
        dump_line(&j);
    }
    hg_inspector_free(in);
    hg_spool_free(sp);
    hg_json_free(&j);
    free(buf);
    return 0;
}
