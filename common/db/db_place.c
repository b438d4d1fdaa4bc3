/*
 * db_place.c - format 5: where each row of a digest table is stored.
 *
 * A lookup of a sorted table with a bucket index reads the index, then
 * the rows: two dependent misses, since nothing keeps the index in cache
 * while a server hashes megabytes between lookups. Here a row's place
 * follows from its digest alone (hg_db_home): a row goes to its home slot,
 * or to the slot after the row before it when that one is further on. The
 * table stays sorted, rows are a few slots past their homes, and a lookup
 * asks for the lines from the key's home on as its first read.
 *
 * Free slots hold a copy of the row before them, so the table is
 * non-decreasing and a lookup's forward walk needs no empty marker; the
 * first slot holding a digest is its row.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_build.h"
#include "db/db_format.h"

/*
 * The length of table a, and the slot of each row when something names
 * rows (records, links, extras): 4 bytes a row only then. The writer
 * places the digests themselves as it writes them (hg_dbb_slot).
 */
static hg_status_t
_hg_place_alg(hg_merge_t *mg, int a, hg_err_t *err)
{
    const hg_vec_t  *v = &mg->b->add[a];
    uint64_t         rows = mg->rows[a], r, pos = 0;
    uint32_t        *slot = NULL;

    mg->slots[a] = 0;
    if (rows == 0) {
        return HG_OK;
    }
    mg->home[a] = rows + rows / HG_DB_HOME_SLACK;
    mg->base[a] = hg_db_home(hg_db_prefix64(v->p), mg->home[a], 0);
    if (mg->links[a].n > 0 || mg->extras_at[a + 1] > mg->extras_at[a]) {
        slot = malloc(rows * sizeof(*slot));
        if (slot == NULL) {
            return hg_err_set(err, HG_ENOMEM, "out of memory placing %s "
                              "digests", hg_alg_name((hg_alg_t) a));
        }
    }
    for (r = 0; r < rows; r++) {
        pos = hg_dbb_slot(mg, a, v->p + r * v->rs, r, pos);
        if (pos > HG_DB_MAX_ROWS - 1) {
            free(slot);
            return hg_err_set(err, HG_ELIMIT, "%s: more slots than the "
                              "format's row numbers",
                              hg_alg_name((hg_alg_t) a));
        }
        if (slot != NULL) {
            slot[r] = (uint32_t) pos;
        }
    }
    mg->slot[a] = slot;
    mg->slots[a] = pos + 1;
    return HG_OK;
}

hg_status_t
hg_dbb_place(hg_merge_t *mg, hg_err_t *err)
{
    unsigned char  *p;
    uint64_t        i, row;
    hg_status_t     st;
    unsigned        mask;
    int             a;

    mg->keyed = 1;
    for (a = 0; a < HG_ALG_COUNT; a++) {
        if ((st = _hg_place_alg(mg, a, err)) != HG_OK) {
            return st;
        }
    }
    /* records and links name rows: name their slots instead */
    for (i = 0; i < mg->records.n; i++) {
        p = mg->records.p + i * RECORD_REC;
        mask = hg_le16(p + RECORD_ALGS);
        for (a = 0; a < HG_ALG_COUNT; a++) {
            row = hg_le32(p + RECORD_ROW(a));
            if ((mask & HG_ALG_BIT(a)) && mg->slot[a] != NULL
                && row < mg->rows[a])
            {
                hg_put32(p + RECORD_ROW(a), mg->slot[a][row]);
            }
        }
    }
    for (a = 0; a < HG_ALG_COUNT; a++) {
        for (i = 0; i < mg->links[a].n; i++) {
            p = mg->links[a].p + i * LINK_REC;
            row = hg_le32(p + LINK_ROW);
            if (mg->slot[a] != NULL && row < mg->rows[a]) {
                hg_put32(p + LINK_ROW, mg->slot[a][row]);
            }
        }
    }
    return HG_OK;
}
