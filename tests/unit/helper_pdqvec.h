/*
 * helper_pdqvec.h - the PDQ conformance vectors (../shared/pdq-vectors):
 * where they are and what expected.tsv says, for test_pdq.c and
 * test_image.c.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HG_TEST_HELPER_PDQVEC_H
#define HG_TEST_HELPER_PDQVEC_H

#include <stddef.h>

#include "hashgate/pdq.h"

typedef struct {
    char            file[128];      /* under images/ */
    size_t          rows, cols;
    char            hex[HG_PDQ_HEX_LEN + 1];
    int             quality;
    int             exact;          /* else lossy */
    char            base[128];      /* "" for an original */
} hgt_pdqvec_t;

/*
 * Find and read the vectors: $HG_PDQ_VECTORS, else shared/ beside the
 * repository ($HG_TOP/../shared: a clean clone in CI has it there), else
 * beside the directory holding it (a git worktree one level down).
 * Returns the number read (at most max), -1 when they cannot be found or
 * read (said on stderr). *dir gets their directory.
 */
int hgt_pdqvec_load(hgt_pdqvec_t *v, size_t max, const char **dir);

/* The whole file images/NAME (free it); NULL when unreadable. */
unsigned char *hgt_pdqvec_image(const char *name, size_t *len);

#endif
