/*
 * cmd_lookup.c - hashgate lookup: which lists a digest is on.
 *
 * The algorithm is taken from the digest's length (32, 40 or 64 hex
 * characters), as the list readers do. One line per list a digest is on,
 * with the entry's size and label when the list gave them, or one
 * "not found" line. Exit 1 if any digest was found, 0 if none, 2 when an
 * argument is not a digest (the others are still looked up).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashgate/db.h"
#include "hashgate/hash.h"
#include "util.h"

static const char _lookup_help[] =
    "Usage: hashgate lookup DB HEX...\n"
    "\n"
    "For each digest (MD5, SHA-1 or SHA-256 in hex, any case), print the\n"
    "lists it is on, with the entry's size and label when known, and the\n"
    "other digests the list gives for the same file:\n"
    "  HEX: LIST [version V] [allow-list] [size N] [label \"L\"] [ALG HEX]...\n"
    "  HEX: not found\n"
    "\n"
    "Exit status: 0 none found, 1 at least one found, 2 an error (bad hex).\n";

int
cmd_lookup(int argc, char **argv)
{
    hg_db_t       *db = NULL;
    hg_db_hit_t   *hits;
    hg_db_list_t   l;
    unsigned char  digest[HG_DIGEST_MAX];
    hg_digests_t   listed;
    char           lhex[HG_HEX_MAX];
    size_t         n, i, len;
    int            alg, found = 0, bad = 0, k, a;
    const char    *hex;

    for (k = 1; k < argc; k++) {
        if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
            fputs(_lookup_help, stdout);
            return CLI_EXIT_OK;
        }
    }
    k = 1;
    if (k < argc && strcmp(argv[k], "--") == 0) {
        k++;
    }
    if (argc - k < 2) {
        return cli_usage("lookup", "expected a database and at least one digest");
    }

    if (cli_db_open("lookup", argv[k], 0, &db) != 0) {
        return CLI_EXIT_ERROR;
    }
    hits = calloc(HG_MAX_LISTS, sizeof(*hits));
    if (hits == NULL) {
        cli_error("lookup: out of memory");
        hg_db_close(db);
        return CLI_EXIT_ERROR;
    }

    for (k++; k < argc; k++) {
        hex = argv[k];
        len = strlen(hex);
        alg = hg_alg_from_hexlen(len);
        if (alg < 0 || hg_hex_decode(hex, len, digest) != 0) {
            cli_error("lookup: '%s' is not an MD5, SHA-1 or SHA-256 hex digest",
                      hex);
            bad = 1;
            continue;
        }
        n = hg_db_lookup(db, (hg_alg_t) alg, digest, hits, HG_MAX_LISTS);
        if (n == 0) {
            printf("%s: not found\n", hex);
            continue;
        }
        found = 1;
        for (i = 0; i < n && i < HG_MAX_LISTS; i++) {
            if (hg_db_list(db, hits[i].list, &l) != HG_OK) {
                continue;
            }
            printf("%s: %s", hex, l.name);
            if (l.version[0] != '\0') {
                printf(" version %s", l.version);
            }
            if (l.kind == HG_LIST_ALLOW) {
                printf(" allow-list");
            }
            if (hits[i].has_size) {
                printf(" size %" PRIu64, hits[i].size);
            }
            if (hits[i].label != NULL && hits[i].label[0] != '\0') {
                printf(" label \"");
                cli_put_safe(stdout, hits[i].label);
                printf("\"");
            }
            /* the same file's other digests on this list */
            if (hg_db_listed(db, (hg_alg_t) alg, digest, hits[i].list,
                             &listed) != 0)
            {
                for (a = 0; a < HG_ALG_COUNT; a++) {
                    if (listed.algs & HG_ALG_BIT(a)) {
                        hg_hex_encode(listed.d[a], hg_alg_len((hg_alg_t) a),
                                      lhex);
                        printf(" %s %s", hg_alg_name((hg_alg_t) a), lhex);
                    }
                }
            }
            printf("\n");
        }
    }

    free(hits);
    if (cli_db_lost("lookup", db)) {
        bad = 1;
    }
    hg_db_close(db);
    if (bad) {
        return CLI_EXIT_ERROR;
    }
    return found ? CLI_EXIT_MATCH : CLI_EXIT_OK;
}
