/*
 * cmd_info.c - hashgate info: what a compiled database holds and where it
 * came from.
 *
 * Prints the format version, creation time, file size, digest counts per
 * algorithm and, per list, its name, version, kind, entry count, compile
 * time and sources with their SHA-256: enough to say later which list and
 * which version of it made a decision, and who signed it. --verify also
 * checks the whole-file checksum and the signature, the step an update
 * script runs before renaming a new database into place; --key requires
 * the signature to be by a trusted key, as a server does. PDQ entries
 * (format 3) are counted apart, with each list's threshold.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hashgate/db.h"
#include "hashgate/db_sign.h"
#include "hashgate/db_pdq.h"
#include "hashgate/hash.h"
#include "util.h"

static const char _info_help[] =
    "Usage: hashgate info [--verify] [--key KEYS] DB\n"
    "\n"
    "Show a database's format version, creation time, size, signer, digest\n"
    "counts per algorithm, PDQ entries, and per list its version, kind,\n"
    "entries (PDQ entries with the list's threshold), compile time and\n"
    "sources (file names with their SHA-256).\n"
    "\n"
    "Options:\n"
    "      --verify   also check the whole-file checksum and, if the file\n"
    "                 is signed, its signature (exit 0 when intact, 2 when\n"
    "                 not)\n"
    "      --key KEYS with --verify implied: the file must be signed by one\n"
    "                 of the public keys in KEYS, as RequireSignature and\n"
    "                 hashgate_database_key require\n"
    "  -h, --help     this help\n";

/* n with thousands separators ("1,000,000") into buf (>= 32 bytes). */
static const char *
_info_num(uint64_t n, char *buf)
{
    char    t[32];
    int     len, i, o = 0;

    len = snprintf(t, sizeof(t), "%" PRIu64, n);
    for (i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0) {
            buf[o++] = ',';
        }
        buf[o++] = t[i];
    }
    buf[o] = '\0';
    return buf;
}

/*
 * What a scan computes and why: per algorithm, how many records (listed
 * files) it covers, or why it is not needed.
 */
static void
_info_scan(const hg_db_t *db, unsigned algs)
{
    uint64_t  total = 0, allow = 0, cov[HG_ALG_COUNT], cova[HG_ALG_COUNT];
    unsigned  m, kind;
    int       a, n;
    char      b1[32], b2[32], b3[32];

    printf("scan computes:");
    for (a = 0, n = 0; a < HG_ALG_COUNT; a++) {
        if (algs & HG_ALG_BIT(a)) {
            printf(" %s", hg_alg_name((hg_alg_t) a));
            n++;
        }
    }
    printf("%s%s\n", n == 0 ? " nothing (empty database)" : "",
           hg_db_all_digests(db) ? " (compiled with --all-digests)" : "");
    if (hg_db_version(db) < 2) {
        printf("  every algorithm with a digest: a version-1 database does "
               "not know which digests\n  belong to one file (compile it "
               "again to compute less)\n");
        return;
    }
    memset(cov, 0, sizeof(cov));
    memset(cova, 0, sizeof(cova));
    for (kind = HG_LIST_BLOCK; kind <= HG_LIST_ALLOW; kind++) {
        for (m = 1; m < 8; m++) {
            uint64_t  c = hg_db_records(db, kind, m);

            total += c;
            if (kind == HG_LIST_ALLOW) {
                allow += c;
            }
            for (a = 0; a < HG_ALG_COUNT; a++) {
                if (m & HG_ALG_BIT(a)) {
                    cov[a] += c;
                    if (kind == HG_LIST_ALLOW) {
                        cova[a] += c;
                    }
                }
            }
        }
    }
    for (a = 0; a < HG_ALG_COUNT; a++) {
        const char  *an = hg_alg_name((hg_alg_t) a);

        if (algs & HG_ALG_BIT(a)) {
            printf("  %s: covers %s of %s records", an, _info_num(cov[a], b1),
                   _info_num(total, b2));
            if (cova[a] > 0) {
                printf(" (%s of them on allow-lists)", _info_num(cova[a], b3));
            }
            printf("\n");
        } else if (cov[a] > 0) {
            printf("  %s not needed: its %s records are covered by another digest\n",
                   an, _info_num(cov[a], b1));
        } else {
            printf("  %s not needed: no list gives one\n", an);
        }
    }
    if (allow > 0) {
        printf("  allow-lists are covered too: an allow entry whose digest "
               "a scan does not\n  compute would stop "
               "overriding a block\n");
    }
}

/* Who signed it, as the file says (checked only with --verify). */
static void
_info_signature(const hg_db_t *db)
{
    hg_db_sig_info_t  si;
    hg_err_t          err;

    err.msg[0] = '\0';
    if (hg_db_signature(db, &si, &err) != HG_OK) {
        printf("signed:   unknown signature block\n");
    } else if (si.is_signed) {
        printf("signed:   %s\n", si.key_id);
    } else {
        printf("signed:   no\n");
    }
}

static void
_info_print(const hg_db_t *db)
{
    hg_db_list_t    l;
    hg_db_source_t  src;
    size_t          i, j, n;
    int             a;
    char            t[CLI_TIME_MAX], hex[HG_HEX_MAX];
    unsigned        algs = hg_db_algs(db);

    cli_time_rfc3339(hg_db_created(db), t, sizeof(t));
    printf("database: %s\n", hg_db_path(db));
    printf("format:   version %" PRIu32 "\n", hg_db_version(db));
    printf("created:  %s\n", t);
    printf("size:     %" PRIu64 " bytes\n", hg_db_file_size(db));
    _info_signature(db);
    printf("digests: ");
    for (a = 0; a < HG_ALG_COUNT; a++) {
        printf(" %s %" PRIu64 "%s", hg_alg_name((hg_alg_t) a),
               hg_db_count(db, (hg_alg_t) a), a + 1 < HG_ALG_COUNT ? "," : "");
    }
    printf("\n");
    if (hg_db_version(db) >= 4) {
        uint64_t  fb = 0;

        for (a = 0; a < HG_ALG_COUNT; a++) {
            fb += hg_db_filter_bytes(db, (hg_alg_t) a);
        }
        printf("filter:   %" PRIu64 " bytes (an unlisted digest is known "
               "absent from one cache line, about 99 %% of the time)\n", fb);
    }
    if (hg_db_pdq_count(db) > 0) {
        printf("pdq:      %" PRIu64 " entries%s\n", hg_db_pdq_count(db),
               hg_db_pdq_indexed(db) ? " (indexed)"
                                     : " (not indexed: searched by a scan)");
    }
    _info_scan(db, algs);

    n = hg_db_nlists(db);
    printf("lists:    %zu\n", n);
    for (i = 0; i < n; i++) {
        if (hg_db_list(db, i, &l) != HG_OK) {
            continue;
        }
        cli_time_rfc3339(l.compiled, t, sizeof(t));
        printf("\nlist %s\n", l.name);
        printf("  version:  %s\n", l.version[0] != '\0' ? l.version : "-");
        printf("  kind:     %s\n", l.kind == HG_LIST_ALLOW ? "allow" : "block");
        printf("  entries:  %" PRIu64 "\n", l.entries);
        if (hg_db_version(db) >= 2) {
            printf("  records:  %" PRIu64 " (files listed)\n", l.records);
        }
        if (hg_db_version(db) >= 3
            && (hg_db_pdq_list_count(db, (uint32_t) i) > 0
                || hg_db_pdq_threshold(db, (uint32_t) i) != HG_PDQ_THRESHOLD))
        {
            printf("  pdq:      %" PRIu64 " entries, threshold %d bits\n",
                   hg_db_pdq_list_count(db, (uint32_t) i),
                   hg_db_pdq_threshold(db, (uint32_t) i));
        }
        printf("  compiled: %s\n", t);
        for (j = 0; j < l.nsources; j++) {
            if (hg_db_list_source(db, i, j, &src) != HG_OK) {
                continue;
            }
            hg_hex_encode(src.sha256, 32, hex);
            printf("  source:   %s sha256:%s\n", src.name, hex);
        }
    }
}

int
cmd_info(int argc, char **argv)
{
    static const struct option  longopts[] = {
        { "verify", no_argument, NULL, 'v' },
        { "key",    required_argument, NULL, 'k' },
        { "help",   no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    hg_db_t          *db = NULL;
    hg_db_keys_t     *keys = NULL;
    hg_db_sig_info_t  si;
    hg_err_t          err;
    hg_status_t       st;
    const char       *keyfile = NULL;
    int               opt, verify = 0, is_signed;

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'v':
            verify = 1;
            break;
        case 'k':
            keyfile = optarg;
            verify = 1;
            break;
        case 'h':
            fputs(_info_help, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage("info", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 1) {
        return cli_usage("info", "expected one database file");
    }

    err.msg[0] = '\0';
    if (keyfile != NULL && (st = hg_db_keys_load(keyfile, &keys, &err))
                           != HG_OK)
    {
        cli_error("info: %s", cli_errstr(&err, st));
        return CLI_EXIT_ERROR;
    }
    if (cli_db_open("info", argv[optind], verify ? HG_DB_OPEN_VERIFY : 0,
                    &db) != 0)
    {
        hg_db_keys_free(keys);
        return CLI_EXIT_ERROR;
    }
    is_signed = hg_db_signature(db, &si, &err) == HG_OK && si.is_signed;
    if (verify) {
        err.msg[0] = '\0';
        st = hg_db_verify(db, &err);
        /* an unsigned file passes --verify alone; --key requires a signer */
        if (st == HG_OK && (keys != NULL || is_signed)) {
            st = hg_db_check_signature(db, keys, &err);
        }
        hg_db_keys_free(keys);
        if (st != HG_OK) {
            if (!cli_db_lost("info", db)) {
                cli_error("info: %s", cli_errstr(&err, st));
            }
            hg_db_close(db);
            return CLI_EXIT_ERROR;
        }
    }
    _info_print(db);
    if (cli_db_lost("info", db)) {
        hg_db_close(db);
        return CLI_EXIT_ERROR;
    }
    if (verify) {
        printf("\nchecksum: ok\n");
        if (is_signed) {
            printf("signature: ok, by %s%s\n", si.key_id,
                   keyfile != NULL ? " (trusted)" : " (not checked against "
                   "trusted keys: --key)");
        }
    }
    hg_db_close(db);
    return CLI_EXIT_OK;
}
