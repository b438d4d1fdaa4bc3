/*
 * main.c - the hashgate tool: compile digest lists, inspect databases, scan.
 *
 * One binary with subcommands, each in its own cmd_*.c. This file only
 * dispatches; every subcommand parses its own options, has its own --help
 * and returns the exit status (0 nothing matched, 1 a match, 2 an error).
 * Output that could not be written (a full disk) is an
 * error here, for every subcommand: a script reading "not found" or an
 * info report must never see exit 0 or 1 for a truncated one.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hashgate/version.h"
#include "util.h"

typedef struct {
    const char  *name;
    int        (*run)(int argc, char **argv);
    const char  *summary;
} cli_command_t;

static const cli_command_t _commands[] = {
    { "compile", cmd_compile, "turn digest lists into one database file" },
    { "info",    cmd_info,    "show a database's lists, counts and sources" },
    { "lookup",  cmd_lookup,  "say which lists digests are on" },
    { "diff",    cmd_diff,    "count digests added and removed per list" },
    { "scan",    cmd_scan,    "hash files, directories and mail; match them" },
    { "report",  cmd_report,  "draft CyberTipline reports from evidence logs" },
    { "preserve", cmd_preserve, "keep held mail and uploads as evidence" },
    { "keygen",  cmd_keygen,  "make a key pair for signing databases" },
};

#define NCOMMANDS  (sizeof(_commands) / sizeof(_commands[0]))

static void
_usage(FILE *fp)
{
    size_t  i;

    fprintf(fp,
        "Usage: hashgate COMMAND [OPTIONS] [ARGS]\n"
        "\n"
        "Match files and mail against lists of known digests.\n"
        "\n"
        "Commands:\n");
    for (i = 0; i < NCOMMANDS; i++) {
        fprintf(fp, "  %-9s %s\n", _commands[i].name, _commands[i].summary);
    }
    fprintf(fp,
        "\n"
        "'hashgate COMMAND --help' describes a command; see also hashgate(1).\n"
        "Exit status: 0 nothing matched, 1 a match, 2 an error.\n");
}

/* The subcommand's status, or CLI_EXIT_ERROR if stdout was not written. */
static int
_finish(const char *cmd, int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("%s: writing to standard output failed: %s", cmd,
                  strerror(errno));
        return CLI_EXIT_ERROR;
    }
    return rc;
}

int
main(int argc, char **argv)
{
    size_t  i;

    if (argc < 2) {
        _usage(stderr);
        return CLI_EXIT_ERROR;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0
        || strcmp(argv[1], "help") == 0)
    {
        _usage(stdout);
        return _finish("help", CLI_EXIT_OK);
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("hashgate %s\n", HG_VERSION);
        return _finish("version", CLI_EXIT_OK);
    }
    for (i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[1], _commands[i].name) == 0) {
            return _finish(_commands[i].name,
                           _commands[i].run(argc - 1, argv + 1));
        }
    }
    fprintf(stderr, "hashgate: unknown command '%s'\n"
                    "Try 'hashgate --help'.\n", argv[1]);
    return CLI_EXIT_ERROR;
}
