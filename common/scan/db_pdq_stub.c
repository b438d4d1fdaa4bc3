/*
 * db_pdq_stub.c - TEMPORARY: db_pdq.h answered as by a database without PDQ
 * entries, so that the channels' image matching (written against that
 * header) links before its implementation (branch h-pdqdb, common/db/)
 * is merged. This file goes away in that merge.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "hashgate/db_pdq.h"

uint64_t
hg_db_pdq_count(const hg_db_t *db)
{
    (void) db;
    return 0;
}

int
hg_db_pdq_threshold(const hg_db_t *db, uint32_t list)
{
    (void) db;
    (void) list;
    return HG_PDQ_THRESHOLD;
}

size_t
hg_db_pdq_query(const hg_db_t *db, const hg_pdq_hash_t *h, int max_distance,
                hg_db_pdq_hit_t *hits, size_t max)
{
    (void) db;
    (void) h;
    (void) max_distance;
    (void) hits;
    (void) max;
    return 0;
}

size_t
hg_db_pdq_match(const hg_db_t *db, const hg_pdq_result_t *r, int dihedral,
                hg_db_pdq_hit_t *hits, size_t max)
{
    (void) db;
    (void) r;
    (void) dihedral;
    (void) hits;
    (void) max;
    return 0;
}
