/*
 * fuzz_archive.c - libFuzzer target for the archive walk as it runs in the
 * inspection helper: hg_inspect_walk on the input, small limits, every
 * format and filter libarchive is given, TNEF, nested containers.
 *
 * The callback checks what the walk promises: paths valid UTF-8, at most
 * HG_INSPECT_PATH_MAX bytes (cut ones flagged), the name the last part of
 * the path, the chain ending in the escaped path, depth within the limit,
 * digests of the algorithms asked for exactly when the file was read, the
 * size hashed equal to the size reported; and at the end that done counts
 * every entry, keeps to the byte limit and ends with a status the walk may
 * give. Seeds: small archives of every kind from tests/lib/archives.py
 * (tests/fuzz/gen_seeds.py).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hashgate/inspect.h"
#include "util/utf8.h"

#define FUZZ_ALGS   (HG_ALG_BIT(HG_ALG_MD5) | HG_ALG_BIT(HG_ALG_SHA256))

typedef struct {
    uint64_t    files;
    uint64_t    bytes;
} fz_t;

static hg_inspect_limits_t  lim;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    if (hg_inspect_walk_init() != HG_OK) {
        abort();
    }
    hg_inspect_limits_default(&lim);
    lim.max_depth = 4;
    lim.max_files = 64;
    lim.max_bytes = 8u << 20;
    lim.max_file_bytes = 4u << 20;
    lim.timeout_ms = 0;         /* a slow input is libFuzzer's -timeout's */
    return 0;
}

/* The chain ends with "!" and the path, '!' and '%' escaped. */
static int
chain_ends_with_path(const char *chain, const char *path)
{
    size_t       n = strlen(chain), k = 1;
    const char  *p;
    char        *esc, *e;

    for (p = path; *p; p++) {
        k += (*p == '!' || *p == '%') ? 3 : 1;
    }
    if (k > n) {
        return 0;
    }
    esc = malloc(k + 1);
    if (esc == NULL) {
        abort();
    }
    e = esc;
    *e++ = '!';
    for (p = path; *p; p++) {
        if (*p == '!' || *p == '%') {
            *e++ = '%';
            *e++ = '2';
            *e++ = *p == '!' ? '1' : '5';
        } else {
            *e++ = *p;
        }
    }
    *e = '\0';
    k = memcmp(chain + n - k, esc, k) == 0;
    free(esc);
    return (int) k;
}

static hg_status_t
entry(void *ctx, const hg_inspect_entry_t *e)
{
    fz_t        *f = ctx;
    size_t       n = strlen(e->path);
    const char  *slash = strrchr(e->path, '/');
    unsigned     unread = HG_INSPECT_F_ENCRYPTED | HG_INSPECT_F_UNREADABLE;

    f->files++;
    if (n > HG_INSPECT_PATH_MAX || !hg_utf8_valid(e->path, n)
        || !hg_utf8_valid(e->chain, strlen(e->chain))
        || strcmp(e->name, slash ? slash + 1 : e->path) != 0
        || !chain_ends_with_path(e->chain, e->path)
        || ((e->flags & HG_INSPECT_F_PATH_CUT) && n + 3 < HG_INSPECT_PATH_MAX)
        || e->depth < 1 || e->depth > lim.max_depth
        || e->format == NULL || e->format[0] == '\0'
        || e->flags & ~0x1fu)
    {
        abort();
    }
    if (e->flags & unread) {
        if (e->digests.algs != 0 || (e->flags & HG_INSPECT_F_CONTAINER)) {
            abort();
        }
    } else {
        if (e->digests.algs != FUZZ_ALGS || e->digests.size != e->size
            || e->size > lim.max_file_bytes)
        {
            abort();
        }
        f->bytes += e->size;
    }
    return HG_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hg_inspect_done_t  done;
    fz_t               f;

    memset(&f, 0, sizeof(f));
    hg_inspect_walk(data, size, FUZZ_ALGS, &lim, entry, &f, &done);
    if (done.files != f.files || done.files > lim.max_files
        || done.bytes > lim.max_bytes || f.bytes > done.bytes
        || (done.st != HG_OK && done.st != HG_EFORMAT
            && done.st != HG_ELIMIT)
        || (done.st == HG_ELIMIT) != (done.limit != HG_INSPECT_LIMIT_NONE)
        || memchr(done.why, '\0', sizeof(done.why)) == NULL)
    {
        abort();
    }
    return 0;
}
