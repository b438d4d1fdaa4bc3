/*
 * cmd_lookup.c - hashgate lookup: which lists a digest is on.
 *
 * The algorithm is taken from the digest's length (32, 40 or 64 hex
 * characters), as the list readers do. One line per list a digest is on,
 * with the entry's size and label when the list gave them, or one
 * "not found" line. Exit 1 if any digest was found, 0 if none, 2 when an
 * argument is not a digest (the others are still looked up).
 *
 * A PDQ hash is written pdq:HEX (64 hex digits alone are a SHA-256) and is
 * searched, not looked up: every entry within each list's threshold (or
 * --distance N), nearest first, with its distance.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hashgate/db.h"
#include "hashgate/db_pdq.h"
#include "hashgate/hash.h"
#include "util.h"

static const char _lookup_help[] =
    "Usage: hashgate lookup [--distance N] DB HEX|pdq:HEX...\n"
    "\n"
    "For each digest (MD5, SHA-1 or SHA-256 in hex, any case), print the\n"
    "lists it is on, with the entry's size and label when known, and the\n"
    "other digests the list gives for the same file:\n"
    "  HEX: LIST [version V] [allow-list] [size N] [label \"L\"] [ALG HEX]...\n"
    "  HEX: not found\n"
    "\n"
    "For a PDQ hash (pdq:HEX, 64 hex digits), print the entries within each\n"
    "list's threshold, nearest first:\n"
    "  pdq:HEX: LIST [version V] [allow-list] distance D [quality Q]\n"
    "           [label \"L\"] pdq:ENTRY\n"
    "\n"
    "Options:\n"
    "      --distance N   PDQ entries within N bits (0-256) on every list,\n"
    "                     instead of each list's threshold\n"
    "\n"
    "Exit status: 0 none found, 1 at least one found, 2 an error (bad hex).\n";

/* Entries printed per PDQ hash; past it, a count of the rest. */
#define LOOKUP_PDQ_MAX  1000

/* "ARG: LIST [version V] [allow-list]" */
static void
_lookup_list(const char *arg, const hg_db_list_t *l)
{
    printf("%s: %s", arg, l->name);
    if (l->version[0] != '\0') {
        printf(" version %s", l->version);
    }
    if (l->kind == HG_LIST_ALLOW) {
        printf(" allow-list");
    }
}

/* Returns 1 when something was found, 0 when not. */
static int
_lookup_pdq(const hg_db_t *db, const char *arg, const hg_pdq_hash_t *h,
            int distance, hg_db_pdq_hit_t *hits)
{
    hg_db_list_t  l;
    size_t        n, i;
    char          hex[HG_PDQ_HEX_LEN + 1];

    n = hg_db_pdq_query(db, h, distance, hits, LOOKUP_PDQ_MAX);
    if (n == 0) {
        printf("%s: not found\n", arg);
        return 0;
    }
    for (i = 0; i < n && i < LOOKUP_PDQ_MAX; i++) {
        if (hg_db_list(db, hits[i].list, &l) != HG_OK) {
            continue;
        }
        _lookup_list(arg, &l);
        printf(" distance %d", hits[i].distance);
        if (hits[i].quality >= 0) {
            printf(" quality %d", hits[i].quality);
        }
        if (hits[i].label != NULL && hits[i].label[0] != '\0') {
            printf(" label \"");
            cli_put_safe(stdout, hits[i].label);
            printf("\"");
        }
        hg_pdq_to_hex(&hits[i].listed, hex);
        printf(" pdq:%s\n", hex);
    }
    if (n > LOOKUP_PDQ_MAX) {
        printf("%s: %zu more within the distance (not shown)\n", arg,
               n - LOOKUP_PDQ_MAX);
    }
    return 1;
}

int
cmd_lookup(int argc, char **argv)
{
    hg_db_t       *db = NULL;
    hg_db_hit_t   *hits;
    hg_db_pdq_hit_t *phits;
    hg_pdq_hash_t  ph;
    hg_db_list_t   l;
    char         **args;
    char          *end;
    int            nargs = 0, distance = -1, j;
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
    /* --distance N anywhere before "--"; the rest are DB and hashes */
    args = calloc((size_t) argc + 1, sizeof(*args));
    if (args == NULL) {
        cli_error("lookup: out of memory");
        return CLI_EXIT_ERROR;
    }
    for (k = 1; k < argc; k++) {
        const char  *v = NULL;

        if (strcmp(argv[k], "--") == 0) {
            for (k++; k < argc; k++) {
                args[nargs++] = argv[k];
            }
            break;
        }
        if (strcmp(argv[k], "--distance") == 0) {
            if (k + 1 >= argc) {
                free(args);
                return cli_usage("lookup", "--distance needs a number of bits");
            }
            v = argv[++k];
        } else if (strncmp(argv[k], "--distance=", 11) == 0) {
            v = argv[k] + 11;
        } else if (argv[k][0] == '-' && argv[k][1] != '\0') {
            free(args);
            return cli_usage("lookup", "unknown option '%s'", argv[k]);
        } else {
            args[nargs++] = argv[k];
            continue;
        }
        distance = (int) strtol(v, &end, 10);
        if (*v == '\0' || *end != '\0' || distance < 0 || distance > 256) {
            free(args);
            return cli_usage("lookup", "--distance '%s' is not 0 to 256 bits", v);
        }
    }
    if (nargs < 2) {
        free(args);
        return cli_usage("lookup", "expected a database and at least one digest");
    }

    if (cli_db_open("lookup", args[0], 0, &db) != 0) {
        free(args);
        return CLI_EXIT_ERROR;
    }
    hits = calloc(HG_MAX_LISTS, sizeof(*hits));
    phits = calloc(LOOKUP_PDQ_MAX, sizeof(*phits));
    if (hits == NULL || phits == NULL) {
        cli_error("lookup: out of memory");
        free(hits);
        free(phits);
        free(args);
        hg_db_close(db);
        return CLI_EXIT_ERROR;
    }

    for (j = 1; j < nargs; j++) {
        hex = args[j];
        len = strlen(hex);
        if (len >= 4 && strncasecmp(hex, "pdq:", 4) == 0) {
            if (hg_pdq_from_hex(hex + 4, len - 4, &ph) != 0) {
                cli_error("lookup: '%s' is not pdq: and 64 hex digits", hex);
                bad = 1;
                continue;
            }
            found |= _lookup_pdq(db, hex, &ph, distance, phits);
            continue;
        }
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
            _lookup_list(hex, &l);
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
    free(phits);
    free(args);
    if (cli_db_lost("lookup", db)) {
        bad = 1;
    }
    hg_db_close(db);
    if (bad) {
        return CLI_EXIT_ERROR;
    }
    return found ? CLI_EXIT_MATCH : CLI_EXIT_OK;
}
