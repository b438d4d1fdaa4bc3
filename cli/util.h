/*
 * util.h - helpers shared by the hashgate subcommands.
 *
 * The CLI is the edge: this is where libhashgate's hg_err_t messages are
 * printed, once, and turned into an exit status. Exit statuses follow
 * clamscan: 0 nothing matched, 1 a match (or, for diff, a difference),
 * 2 an error.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_CLI_UTIL_H
#define HASHGATE_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "hashgate/db.h"
#include "hashgate/status.h"

#define CLI_EXIT_OK     0
#define CLI_EXIT_MATCH  1
#define CLI_EXIT_ERROR  2

/* Read size for files and stdin: large enough that syscalls do not show. */
#define CLI_READ_SIZE   (256 * 1024)

/* Room for an RFC 3339 UTC time such as "2026-11-26T05:12:07Z". */
#define CLI_TIME_MAX    32

/* ---- subcommands (cmd_*.c) ---- */

int cmd_compile(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_lookup(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_preserve(int argc, char **argv);
int cmd_keygen(int argc, char **argv);

/* ---- messages ---- */

/* "hashgate: " + message + "\n" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A usage error of subcommand cmd: prints the message and a pointer to
 * --help on stderr and returns CLI_EXIT_ERROR.
 */
int cli_usage(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Print s to fp with bytes that could move a terminal's cursor or hide
 * text (controls, DEL, a backslash, a double quote) written as \xNN:
 * labels and file names come from lists and mail we do not control.
 */
void cli_put_safe(FILE *fp, const char *s);

/* err's message, or the status's name when the library left none. */
const char *cli_errstr(const hg_err_t *err, hg_status_t st);

/*
 * hg_db_open for subcommand cmd: on failure prints "hashgate: CMD: reason"
 * (the reason names the file) and returns -1; 0 with *db set on success.
 */
int cli_db_open(const char *cmd, const char *path, unsigned flags,
                hg_db_t **db);

/* What a database truncated in place under its mapping makes of a read. */
#define CLI_DB_LOST "the database file was truncated in place while in use " \
                    "(replace it by rename); what it said cannot be trusted"

/*
 * 1, with that error on stderr, if db was truncated in place under its
 * mapping (hg_db_lost): its answers so far are void.
 */
int cli_db_lost(const char *cmd, const hg_db_t *db);

/* ---- times ---- */

/* Unix time t as RFC 3339 UTC ("2026-11-26T05:12:07Z"). */
void cli_time_rfc3339(uint64_t t, char *out, size_t outlen);

/*
 * The creation time to store in a database: HASHGATE_CREATED (Unix seconds)
 * from the environment, for reproducible builds, else 0 (meaning "now").
 * Returns -1 if the variable is set but not a number.
 */
int cli_created_time(uint64_t *out);

/* ---- walking directories ---- */

typedef enum {
    CLI_WALK_FILE = 0,      /* a regular file */
    CLI_WALK_DIR,           /* a directory, before it is entered */
    CLI_WALK_ERROR          /* path could not be read: errno_val says why */
} cli_walk_kind_t;

/* Return 0 to go on, CLI_WALK_SKIP (for a directory) not to enter it, <0 to stop. */
#define CLI_WALK_SKIP  1

typedef int (*cli_walk_cb)(void *ctx, cli_walk_kind_t kind, const char *path,
                           const struct stat *st, int errno_val);

/*
 * Visit path: a file gives one CLI_WALK_FILE, a directory its entries
 * recursively in byte order of their names, so output and compiled
 * databases do not depend on the file system's order. Symbolic links are
 * followed for path itself but not inside directories (no loops, nothing
 * outside the tree). Other file types (sockets, devices) inside directories
 * are skipped. Returns the first negative callback value, else 0.
 */
int cli_walk(const char *path, cli_walk_cb cb, void *ctx);

/* ---- files ---- */

/*
 * Read up to len bytes (fewer only at end of file). Returns the count or -1
 * with errno set. Retries on EINTR.
 */
ssize_t cli_read_full(int fd, void *buf, size_t len);

/* 1 if path names an existing directory. */
int cli_is_dir(const char *path);

#endif
