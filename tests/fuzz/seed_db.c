/*
 * seed_db.c - write a few small, valid databases as seeds for fuzz_db_open.
 *
 * Usage: seed_db OUTDIR. Digests are of seeded pseudo-random bytes; the
 * files cover: no entries, one list with one digest, every algorithm,
 * sizes and labels, several lists sharing a digest, an allow-list, and
 * PDQ entries (qualities, labels, thresholds; scanned and indexed).
 * Called by gen_seeds.py; built by build.sh against the same library.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "db/db_build.h"
#include "hashgate/db.h"
#include "hashgate/db_pdq.h"

static uint32_t  seed = 20261126;

static void
fake_digest(hg_entry_t *e, hg_alg_t alg)
{
    size_t  i;

    memset(e, 0, sizeof(*e));
    e->alg = alg;
    for (i = 0; i < hg_alg_len(alg); i++) {
        seed = seed * 1664525u + 1013904223u;
        e->digest[i] = (unsigned char) (seed >> 24);
    }
}

static int
write_db(const char *dir, const char *name, int lists, int per_list,
         int sized, int allow, int pdq)
{
    hg_dbb_t    *b = hg_dbb_new();
    hg_entry_t   e;
    hg_err_t     err;
    uint32_t     id, first = 0;
    char         path[512], lname[32];
    int          l, i;
    unsigned char  sha[32];

    if (b == NULL) {
        return -1;
    }
    memset(sha, 0x5A, sizeof(sha));
    for (l = 0; l < lists; l++) {
        snprintf(lname, sizeof(lname), "list-%d", l);
        if (hg_dbb_list(b, lname, l ? "" : "2026.11",
                        (allow && l == lists - 1) ? HG_LIST_ALLOW
                                                  : HG_LIST_BLOCK,
                        &id, &err) != HG_OK) {
            fprintf(stderr, "seed_db: %s\n", err.msg);
            return -1;
        }
        if (l == 0) {
            first = id;
        }
        (void) hg_dbb_source(b, id, "synthetic.txt", sha);
        for (i = 0; i < per_list; i++) {
            fake_digest(&e, (hg_alg_t) (i % HG_ALG_COUNT));
            if (sized && i % 2 == 0) {
                e.has_size = 1;
                e.size = 1000 + (uint64_t) i;
            }
            e.label = (i % 3 == 0) ? "synthetic-label" : NULL;
            e.record = (uint64_t) (i / 2) + 1;  /* two digests a file */
            hg_dbb_add(b, id, &e);
            if (l > 0 && i == 0) {
                hg_dbb_add(b, first, &e);       /* one digest, two lists */
            }
        }
        for (i = 0; i < pdq; i++) {
            fake_digest(&e, HG_ALG_SHA256);
            e.pdq = 1;
            e.quality = i % 4 ? (i * 7) % 101 : -1;
            e.label = (i % 3 == 0) ? "synthetic-pdq" : NULL;
            hg_dbb_add(b, id, &e);
            if (l > 0 && i == 0) {
                hg_dbb_add(b, first, &e);       /* one hash, two lists */
            }
        }
        if (pdq > 0 && l > 0) {
            (void) hg_dbb_pdq_threshold(b, id, 10 + l, &err);
        }
    }
    /* small files indexed too: the index is what needs fuzzing */
    hg_dbb_set_pdq_index_min(b, pdq > 20 ? 16 : UINT64_MAX);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (hg_dbb_write(b, path, 1764115200, &err) != HG_OK) {
        fprintf(stderr, "seed_db: %s\n", err.msg);
        hg_dbb_free(b);
        return -1;
    }
    hg_dbb_free(b);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seed_db OUTDIR\n");
        return 2;
    }
    if (write_db(argv[1], "empty.hgdb", 0, 0, 0, 0, 0) != 0
        || write_db(argv[1], "one-list-empty.hgdb", 1, 0, 0, 0, 0) != 0
        || write_db(argv[1], "one.hgdb", 1, 1, 0, 0, 0) != 0
        || write_db(argv[1], "algs.hgdb", 1, 9, 0, 0, 0) != 0
        || write_db(argv[1], "sized.hgdb", 2, 12, 1, 0, 0) != 0
        || write_db(argv[1], "allow.hgdb", 3, 6, 1, 1, 0) != 0
        || write_db(argv[1], "many.hgdb", 5, 40, 1, 1, 0) != 0
        || write_db(argv[1], "pdq-few.hgdb", 2, 3, 0, 1, 5) != 0
        || write_db(argv[1], "pdq-indexed.hgdb", 3, 4, 1, 1, 40) != 0) {
        return 1;
    }
    return 0;
}
