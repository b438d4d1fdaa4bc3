/*
 * db_sort.c - sort a build's fixed-width records in place.
 *
 * Tens of millions of digest records must be sorted without a second copy
 * of them: an MSD radix sort (American flag sort) permutes them in place,
 * one key byte a level, and small buckets finish with an insertion sort.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <string.h>

#include "db/db_build.h"

/* Below this many records a bucket of the radix sort is insertion-sorted. */
#define HG_SORT_SMALL       24

static void
_hg_isort(unsigned char *base, size_t n, size_t rs, size_t klen, size_t depth,
          unsigned char *tmp)
{
    size_t  i, j;

    for (i = 1; i < n; i++) {
        if (memcmp(base + (i - 1) * rs + depth, base + i * rs + depth,
                   klen - depth) <= 0)
        {
            continue;
        }
        memcpy(tmp, base + i * rs, rs);
        j = i;
        do {
            memcpy(base + j * rs, base + (j - 1) * rs, rs);
            j--;
        } while (j > 0 && memcmp(base + (j - 1) * rs + depth, tmp + depth,
                                 klen - depth) > 0);
        memcpy(base + j * rs, tmp, rs);
    }
}

/*
 * American flag sort on byte depth of the key, then each bucket on the next
 * byte. Recursion is at most klen deep; records are swapped through tmp.
 */
static void
_hg_rsort(unsigned char *base, size_t n, size_t rs, size_t klen, size_t depth,
          unsigned char *tmp)
{
    size_t          count[256], next[256], end[256], pos;
    unsigned char  *r;
    unsigned        c, k;

    if (n <= HG_SORT_SMALL) {
        if (depth < klen) {
            _hg_isort(base, n, rs, klen, depth, tmp);
        }
        return;
    }
    if (depth >= klen) {
        return;
    }
    memset(count, 0, sizeof(count));
    for (pos = 0; pos < n; pos++) {
        count[base[pos * rs + depth]]++;
    }
    for (pos = 0, k = 0; k < 256; k++) {
        next[k] = pos;
        pos += count[k];
        end[k] = pos;
    }
    for (k = 0; k < 256; k++) {
        while (next[k] < end[k]) {
            r = base + next[k] * rs;
            c = r[depth];
            if (c == k) {
                next[k]++;
                continue;
            }
            memcpy(tmp, r, rs);
            memcpy(r, base + next[c] * rs, rs);
            memcpy(base + next[c] * rs, tmp, rs);
            next[c]++;
        }
    }
    for (pos = 0, k = 0; k < 256; k++) {
        if (count[k] > 1) {
            _hg_rsort(base + pos * rs, count[k], rs, klen, depth + 1, tmp);
        }
        pos += count[k];
    }
}

void
hg_dbb_sort(unsigned char *base, size_t n, size_t rs, size_t klen)
{
    unsigned char  tmp[HG_DBB_SORT_RS_MAX];

    _hg_rsort(base, n, rs, klen, 0, tmp);
}
