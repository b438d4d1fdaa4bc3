/*
 * cmd_keygen.c - hashgate keygen: make an Ed25519 key pair for signing
 * databases (hashgate compile --sign) and checking them (RequireSignature,
 * hashgate_database_key, hashgate info --key).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <getopt.h>
#include <stdio.h>

#include "hashgate/db_sign.h"
#include "util.h"

static const char _keygen_help[] =
    "Usage: hashgate keygen KEY\n"
    "\n"
    "Make an Ed25519 key pair: the private key in KEY (mode 0600), the\n"
    "public key in KEY.pub. Neither file may exist. Sign databases with\n"
    "'hashgate compile --sign KEY'; give KEY.pub to every server\n"
    "(RequireSignature, hashgate_database_key) and to 'hashgate info --key'.\n"
    "Prints the key's ID, which signed databases name.\n";

int
cmd_keygen(int argc, char **argv)
{
    static const struct option  longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    char          id[HG_DB_KEY_ID_LEN + 1];
    hg_err_t      err;
    hg_status_t   st;
    int           opt;

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(_keygen_help, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage("keygen", "unknown option '%s'",
                             argv[optind - 1]);
        }
    }
    if (argc - optind != 1) {
        return cli_usage("keygen", "expected one key file name");
    }
    err.msg[0] = '\0';
    if ((st = hg_db_keygen(argv[optind], id, &err)) != HG_OK) {
        cli_error("keygen: %s", cli_errstr(&err, st));
        return CLI_EXIT_ERROR;
    }
    printf("%s\n", id);
    return CLI_EXIT_OK;
}
