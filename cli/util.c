/*
 * util.c - messages, times, directory walking and reading for the CLI.
 *
 * Directory walks are sorted by name so that a scan prints the same lines
 * and a compile of NAME=DIR/ writes the same database whatever order the
 * file system returns entries in.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

void
cli_error(const char *fmt, ...)
{
    va_list  ap;

    fputs("hashgate: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int
cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list  ap;

    fprintf(stderr, "hashgate %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'hashgate %s --help'.\n", cmd);
    return CLI_EXIT_ERROR;
}

const char *
cli_errstr(const hg_err_t *err, hg_status_t st)
{
    return err->msg[0] != '\0' ? err->msg : hg_status_str(st);
}

int
cli_db_open(const char *cmd, const char *path, unsigned flags, hg_db_t **db)
{
    hg_err_t     err;
    hg_status_t  st;

    err.msg[0] = '\0';
    *db = NULL;
    /* a database rewritten in place while we read it: an error, not SIGBUS */
    if (hg_db_guard_install(&err) != HG_OK) {
        cli_error("%s: %s", cmd, err.msg);
        return -1;
    }
    st = hg_db_open(path, flags, db, &err);
    if (st != HG_OK) {
        if (err.msg[0] == '\0') {
            cli_error("%s: %s: %s", cmd, path, hg_status_str(st));
        } else {
            cli_error("%s: %s", cmd, err.msg);
        }
        return -1;
    }
    return 0;
}

int
cli_db_lost(const char *cmd, const hg_db_t *db)
{
    if (!hg_db_lost(db)) {
        return 0;
    }
    cli_error("%s: %s: %s", cmd, hg_db_path(db), CLI_DB_LOST);
    return 1;
}

void
cli_put_safe(FILE *fp, const char *s)
{
    const unsigned char  *p;

    for (p = (const unsigned char *) s; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '\\' || *p == '"') {
            fprintf(fp, "\\x%02x", *p);
        } else {
            fputc(*p, fp);
        }
    }
}

void
cli_time_rfc3339(uint64_t t, char *out, size_t outlen)
{
    time_t     tt = (time_t) t;
    struct tm  tm;

    if (gmtime_r(&tt, &tm) == NULL
        || strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    {
        snprintf(out, outlen, "@%" PRIu64, t);
    }
}

int
cli_created_time(uint64_t *out)
{
    const char          *s = getenv("HASHGATE_CREATED");
    char                *end;
    unsigned long long   v;

    *out = 0;
    if (s == NULL || *s == '\0') {
        return 0;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || *s == '-') {
        return -1;
    }
    *out = v;
    return 0;
}

int
cli_is_dir(const char *path)
{
    struct stat  st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

ssize_t
cli_read_full(int fd, void *buf, size_t len)
{
    size_t   got = 0;
    ssize_t  n;

    while (got < len) {
        n = read(fd, (char *) buf + got, len - got);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        if (n == 0) {
            break;
        }
        got += (size_t) n;
    }
    return (ssize_t) got;
}

/* Byte order, not the locale's collation: the same order everywhere. */
static int
_walk_cmp(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int
_walk_dir(const char *dir, cli_walk_cb cb, void *ctx)
{
    struct dirent  **ents = NULL;
    struct stat      st;
    char            *path;
    int              n, i, rc = 0;
    size_t           dlen = strlen(dir);

    n = scandir(dir, &ents, NULL, _walk_cmp);
    if (n < 0) {
        return cb(ctx, CLI_WALK_ERROR, dir, NULL, errno) < 0 ? -1 : 0;
    }
    for (i = 0; i < n; i++) {
        const char *name = ents[i]->d_name;

        if (rc < 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
            continue;
        }
        if (asprintf(&path, "%s%s%s", dir,
                     (dlen > 0 && dir[dlen - 1] == '/') ? "" : "/", name) < 0)
        {
            rc = cb(ctx, CLI_WALK_ERROR, dir, NULL, ENOMEM);
            continue;
        }
        if (lstat(path, &st) != 0) {
            rc = cb(ctx, CLI_WALK_ERROR, path, NULL, errno);
        } else if (S_ISREG(st.st_mode)) {
            rc = cb(ctx, CLI_WALK_FILE, path, &st, 0);
        } else if (S_ISDIR(st.st_mode)) {
            rc = cb(ctx, CLI_WALK_DIR, path, &st, 0);
            if (rc == 0) {
                rc = _walk_dir(path, cb, ctx);
            }
        }
        if (rc > 0) {
            rc = 0;
        }
        free(path);
    }
    for (i = 0; i < n; i++) {
        free(ents[i]);
    }
    free(ents);
    return rc < 0 ? rc : 0;
}

int
cli_walk(const char *path, cli_walk_cb cb, void *ctx)
{
    struct stat  st;
    int          rc;

    if (stat(path, &st) != 0) {
        rc = cb(ctx, CLI_WALK_ERROR, path, NULL, errno);
        return rc < 0 ? rc : 0;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = cb(ctx, CLI_WALK_DIR, path, &st, 0);
        if (rc != 0) {
            return rc < 0 ? rc : 0;
        }
        return _walk_dir(path, cb, ctx);
    }
    /* A FIFO or device named on the command line is read as a file. */
    rc = cb(ctx, CLI_WALK_FILE, path, &st, 0);
    return rc < 0 ? rc : 0;
}
