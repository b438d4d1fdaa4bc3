/*
 * cmd_diff.c - hashgate diff: what changed between two databases, per list.
 *
 * Lists are matched by name. Every (digest, list) pair of OLD is looked up
 * in NEW and the other way round: the two files are mapped read-only and
 * lookups are O(1), so memory stays constant whatever the databases' size
 * (no set of either side is built). A pair present on both sides whose
 * entry size differs counts as changed; one whose file the list now gives
 * with other digests (its record: hg_db_listed) counts as regrouped.
 *
 * PDQ entries (db_pdq.h) are compared the same way, found in the other
 * side by a query at distance 0, and counted apart ("PDQ +a -r"), with
 * their quality and the list's threshold.
 *
 * Exit status as diff(1): 0 same content, 1 differences, 2 an error.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashgate/db.h"
#include "hashgate/db_pdq.h"
#include "util.h"

typedef struct {
    const char     *name;
    long            old_idx;    /* -1 when the list is only in NEW */
    long            new_idx;    /* -1 when the list is only in OLD */
    uint64_t        added;
    uint64_t        removed;
    uint64_t        changed;
    uint64_t        regrouped;
    uint64_t        pdq_added;
    uint64_t        pdq_removed;
    uint64_t        pdq_changed;    /* quality changed */
} diff_list_t;

typedef struct {
    const hg_db_t  *self;
    const hg_db_t  *other;
    diff_list_t    *lists;
    long           *to_row;     /* this side's list index -> row in lists */
    int             old_side;   /* walking OLD: count removed/changed */
    hg_db_hit_t    *hits;
    hg_db_pdq_hit_t *phits;
} diff_walk_t;

static const char _diff_help[] =
    "Usage: hashgate diff OLD NEW\n"
    "\n"
    "Count, per list, the digests added to and removed from OLD in NEW\n"
    "(and entries whose size changed, or whose file the list now gives with\n"
    "other digests: regrouped), and show version and record changes; PDQ\n"
    "hashes apart (PDQ +added -removed, quality and threshold changes).\n"
    "\n"
    "Exit status: 0 same content, 1 differences, 2 an error.\n";

/* Does the list give the file of e with other digests in the other database? */
static int
_diff_regrouped(diff_walk_t *w, uint32_t list, uint32_t other_list,
                const hg_entry_t *e)
{
    hg_digests_t  a, b;
    int           k;

    hg_db_listed(w->self, e->alg, e->digest, list, &a);
    hg_db_listed(w->other, e->alg, e->digest, other_list, &b);
    if (a.algs != b.algs) {
        return 1;
    }
    for (k = 0; k < HG_ALG_COUNT; k++) {
        if ((a.algs & HG_ALG_BIT(k))
            && memcmp(a.d[k], b.d[k], hg_alg_len((hg_alg_t) k)) != 0)
        {
            return 1;
        }
    }
    return 0;
}

/* A PDQ entry: the same hash on the same list in the other database? */
static hg_status_t
_diff_pdq(diff_walk_t *w, diff_list_t *row, long want, const hg_entry_t *e)
{
    hg_pdq_hash_t  h;
    size_t         n, i;

    memcpy(h.b, e->digest, HG_PDQ_BYTES);
    if (want >= 0) {
        n = hg_db_pdq_query(w->other, &h, 0, w->phits, HG_MAX_LISTS);
        for (i = 0; i < n && i < HG_MAX_LISTS; i++) {
            if ((long) w->phits[i].list != want) {
                continue;
            }
            if (w->old_side && w->phits[i].quality != e->quality) {
                row->pdq_changed++;
            }
            return HG_OK;
        }
    }
    if (w->old_side) {
        row->pdq_removed++;
    } else {
        row->pdq_added++;
    }
    return HG_OK;
}

static hg_status_t
_diff_entry(void *ctx, uint32_t list, const hg_entry_t *e)
{
    diff_walk_t   *w = ctx;
    diff_list_t   *row = &w->lists[w->to_row[list]];
    long           want = w->old_side ? row->new_idx : row->old_idx;
    size_t         n, i;

    if (e->pdq) {
        return _diff_pdq(w, row, want, e);
    }
    if (want >= 0) {
        n = hg_db_lookup(w->other, e->alg, e->digest, w->hits, HG_MAX_LISTS);
        for (i = 0; i < n && i < HG_MAX_LISTS; i++) {
            if ((long) w->hits[i].list != want) {
                continue;
            }
            if (w->old_side && (w->hits[i].has_size != e->has_size
                                || (e->has_size
                                    && w->hits[i].size != e->size)))
            {
                row->changed++;
            }
            if (w->old_side && _diff_regrouped(w, list, (uint32_t) want, e)) {
                row->regrouped++;
            }
            return HG_OK;
        }
    }
    if (w->old_side) {
        row->removed++;
    } else {
        row->added++;
    }
    return HG_OK;
}

int
cmd_diff(int argc, char **argv)
{
    hg_db_t       *db[2] = { NULL, NULL };
    diff_list_t   *lists = NULL;
    long          *to_row[2] = { NULL, NULL };
    hg_db_hit_t   *hits = NULL;
    hg_db_pdq_hit_t *phits = NULL;
    hg_db_list_t   l, lo, ln;
    diff_walk_t    w;
    hg_status_t    st;
    size_t         n[2], nrows = 0, i;
    long           j;
    int            k, rc = CLI_EXIT_ERROR, differ = 0, side;

    for (k = 1; k < argc; k++) {
        if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
            fputs(_diff_help, stdout);
            return CLI_EXIT_OK;
        }
    }
    if (argc != 3) {
        return cli_usage("diff", "expected two databases: OLD NEW");
    }
    if (cli_db_open("diff", argv[1], 0, &db[0]) != 0
        || cli_db_open("diff", argv[2], 0, &db[1]) != 0)
    {
        goto done;
    }

    n[0] = hg_db_nlists(db[0]);
    n[1] = hg_db_nlists(db[1]);
    lists = calloc(n[0] + n[1] + 1, sizeof(*lists));
    to_row[0] = calloc(n[0] + 1, sizeof(long));
    to_row[1] = calloc(n[1] + 1, sizeof(long));
    hits = calloc(HG_MAX_LISTS, sizeof(*hits));
    phits = calloc(HG_MAX_LISTS, sizeof(*phits));
    if (lists == NULL || to_row[0] == NULL || to_row[1] == NULL
        || hits == NULL || phits == NULL)
    {
        cli_error("diff: out of memory");
        goto done;
    }

    for (side = 0; side < 2; side++) {
        for (i = 0; i < n[side]; i++) {
            if (hg_db_list(db[side], i, &l) != HG_OK) {
                cli_error("diff: %s: cannot read list %zu", argv[1 + side], i);
                goto done;
            }
            j = side == 0 ? -1 : hg_db_find_list(db[0], l.name);
            if (j >= 0) {
                to_row[1][i] = to_row[0][j];
                lists[to_row[0][j]].new_idx = (long) i;
                continue;
            }
            lists[nrows].name = l.name;
            lists[nrows].old_idx = side == 0 ? (long) i : -1;
            lists[nrows].new_idx = side == 0 ? hg_db_find_list(db[1], l.name)
                                             : (long) i;
            to_row[side][i] = (long) nrows;
            nrows++;
        }
    }

    for (side = 0; side < 2; side++) {
        w.self = db[side];
        w.other = db[1 - side];
        w.lists = lists;
        w.to_row = to_row[side];
        w.old_side = side == 0;
        w.hits = hits;
        w.phits = phits;
        st = hg_db_foreach(db[side], _diff_entry, &w);
        if (st != HG_OK) {
            cli_error("diff: %s: %s", argv[1 + side], hg_status_str(st));
            goto done;
        }
    }

    for (i = 0; i < nrows; i++) {
        diff_list_t  *r = &lists[i];

        printf("%s: +%" PRIu64 " -%" PRIu64, r->name, r->added, r->removed);
        if (r->changed > 0) {
            printf(" ~%" PRIu64 " size changed", r->changed);
        }
        if (r->regrouped > 0) {
            printf(" ~%" PRIu64 " regrouped", r->regrouped);
        }
        if (r->pdq_added > 0 || r->pdq_removed > 0 || r->pdq_changed > 0) {
            printf(" PDQ +%" PRIu64 " -%" PRIu64, r->pdq_added,
                   r->pdq_removed);
            if (r->pdq_changed > 0) {
                printf(" ~%" PRIu64 " quality changed", r->pdq_changed);
            }
            differ = 1;
        }
        if (r->old_idx < 0) {
            printf(" (new list)");
            differ = 1;
        } else if (r->new_idx < 0) {
            printf(" (list removed)");
            differ = 1;
        } else if (hg_db_list(db[0], (size_t) r->old_idx, &lo) == HG_OK
                   && hg_db_list(db[1], (size_t) r->new_idx, &ln) == HG_OK)
        {
            printf(" (%" PRIu64 " -> %" PRIu64 " entries", lo.entries,
                   ln.entries);
            /* files listed: said where they differ from entries (a list
             * that groups digests), so plain lists read as before */
            if (lo.records != ln.records && (lo.records != lo.entries
                                             || ln.records != ln.entries))
            {
                printf(", %" PRIu64 " -> %" PRIu64 " files", lo.records,
                       ln.records);
            }
            if (strcmp(lo.version, ln.version) != 0) {
                printf(", version %s -> %s",
                       lo.version[0] != '\0' ? lo.version : "-",
                       ln.version[0] != '\0' ? ln.version : "-");
                differ = 1;
            }
            if (hg_db_pdq_threshold(db[0], (uint32_t) r->old_idx)
                != hg_db_pdq_threshold(db[1], (uint32_t) r->new_idx))
            {
                printf(", PDQ threshold %d -> %d",
                       hg_db_pdq_threshold(db[0], (uint32_t) r->old_idx),
                       hg_db_pdq_threshold(db[1], (uint32_t) r->new_idx));
                differ = 1;
            }
            if (lo.kind != ln.kind) {
                printf(", now %s", ln.kind == HG_LIST_ALLOW ? "an allow-list"
                                                            : "a block list");
                differ = 1;
            }
            printf(")");
        }
        printf("\n");
        if (r->added != 0 || r->removed != 0 || r->changed != 0
            || r->regrouped != 0)
        {
            differ = 1;
        }
    }
    rc = differ ? CLI_EXIT_MATCH : CLI_EXIT_OK;
    if (cli_db_lost("diff", db[0]) | cli_db_lost("diff", db[1])) {
        rc = CLI_EXIT_ERROR;
    }

done:
    free(hits);
    free(phits);
    free(to_row[0]);
    free(to_row[1]);
    free(lists);
    hg_db_close(db[0]);
    hg_db_close(db[1]);
    return rc;
}
