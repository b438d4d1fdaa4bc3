/*
 * fuzz_reader.c - libFuzzer target for one list reader, chosen at build
 * time with -DHG_FUZZ_READER='"name"' (tests/fuzz/build.sh makes one binary
 * per common/lists/read_NAME.c: fuzz_reader_NAME).
 *
 * The first input byte picks strict or lenient mode, warnings, a category
 * filter and the file's name (.txt/.hdb/.hsb/.csv); the rest is the file,
 * read through hg_reader_find(name)->read on an fmemopen stream. Entries
 * must be well-formed (a known algorithm; labels NUL-terminated), and
 * probe must not read past head_len.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashgate/list.h"

#ifndef HG_FUZZ_READER
#error "build with -DHG_FUZZ_READER=\"name\""
#endif

static hg_status_t
entry_cb(void *ctx, const hg_entry_t *e)
{
    uint64_t  *n = ctx;

    /* every entry a reader hands out names its record (list.h) */
    if ((unsigned) e->alg >= HG_ALG_COUNT || e->record == 0) {
        abort();
    }
    if (e->label != NULL) {
        (void) strlen(e->label);
    }
    (*n)++;
    return HG_OK;
}

static void
warn_cb(void *ctx, const char *msg)
{
    (void) ctx;
    (void) strlen(msg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const hg_reader_t  *r;
    hg_read_opts_t             opts;
    hg_read_stats_t            stats;
    hg_err_t                   err;
    uint64_t                   n = 0;
    unsigned char             *head;
    const char                *name;
    static const char *const   names[] = { "fuzz.txt", "fuzz.hdb", "fuzz.hsb",
                                           "fuzz.csv" };
    FILE                      *fp;

    if (r == NULL) {
        r = hg_reader_find(HG_FUZZ_READER);
        if (r == NULL) {
            abort();
        }
    }
    if (size < 1) {
        return 0;
    }
    memset(&opts, 0, sizeof(opts));
    opts.strict = data[0] & 1;
    opts.warn = (data[0] & 2) ? warn_cb : NULL;
    opts.categories = (data[0] & 4) ? "1,2" : NULL;
    name = names[(data[0] >> 3) & 3];       /* some readers look at it */
    data++;
    size--;

    /* an exact-size copy, so ASan sees any read past head_len */
    head = malloc(size ? size : 1);
    if (head == NULL) {
        return 0;
    }
    memcpy(head, data, size);
    if (r->probe != NULL) {
        (void) r->probe(name, head, size);
    }
    (void) hg_reader_detect(name, head, size);

    memset(&stats, 0, sizeof(stats));
    memset(&err, 0, sizeof(err));
    fp = fmemopen(head, size ? size : 1, "r");
    if (fp != NULL) {
        if (size == 0) {
            fgetc(fp);          /* fmemopen refuses size 0: read it empty */
        }
        (void) r->read(fp, name, &opts, entry_cb, &n, &stats, &err);
        (void) strlen(err.msg);
        if (stats.entries != n) {
            abort();
        }
        fclose(fp);
    }
    free(head);
    return 0;
}
