/*
 * test_db_guard.c - a database file truncated in place under a live
 * mapping: without the guard the reader dies of SIGBUS (the documented
 * hazard); with hg_db_guard_install() it survives, the handle says lost,
 * and a scan reports an error instead of "no match". SIGBUS elsewhere
 * keeps its old meaning. Its own binary: the handler is process-wide.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "hashgate/db.h"
#include "hashgate/scan.h"

#define NOBJ  20000             /* ~640 KiB of SHA-256 rows: many pages */

static char  dir[] = "/tmp/hg_guard_XXXXXX";

/* Object i: 64 seeded bytes. */
static void
object(unsigned i, unsigned char *buf)
{
    unsigned  k;

    for (k = 0; k < 64; k++) {
        buf[k] = (unsigned char) ((i * 2654435761u + k * 40503u) >> 7);
    }
    memcpy(buf, &i, sizeof(i));
}

/* A database at path listing objects 0..NOBJ-1 by SHA-256. */
static void
make_db(const char *path)
{
    hg_dbb_t       *b = hg_dbb_new();
    hg_scan_t      *s = hg_scan_new(NULL, HG_ALG_BIT(HG_ALG_SHA256));
    hg_scan_result_t res;
    hg_entry_t      e;
    hg_err_t        err;
    unsigned char   buf[64];
    uint32_t        id;
    unsigned        i;

    assert_non_null(b);
    assert_non_null(s);
    assert_int_equal(hg_dbb_list(b, "cam", "v1", HG_LIST_BLOCK, &id, &err),
                     HG_OK);
    memset(&e, 0, sizeof(e));
    e.alg = HG_ALG_SHA256;
    for (i = 0; i < NOBJ; i++) {
        object(i, buf);
        assert_int_equal(hg_scan_buffer(s, buf, sizeof(buf), &res), HG_OK);
        memcpy(e.digest, res.digests.d[HG_ALG_SHA256], 32);
        assert_int_equal(hg_dbb_add(b, id, &e), HG_OK);
    }
    assert_int_equal(hg_dbb_write(b, path, 1, &err), HG_OK);
    hg_dbb_free(b);
    hg_scan_free(s);
}

static void
path_of(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", dir, name);
}

/* Rewrite the file in place, as `cp other db` would: same inode, shorter. */
static void
truncate_in_place(const char *path, off_t len)
{
    assert_int_equal(truncate(path, len), 0);
}

/* Scan every object through s; returns how many matched, -1 on an error. */
static int
scan_all(hg_scan_t *s)
{
    hg_scan_result_t  res;
    unsigned char     buf[64];
    unsigned          i;
    int               matched = 0;

    for (i = 0; i < NOBJ; i += 97) {
        object(i, buf);
        if (hg_scan_buffer(s, buf, sizeof(buf), &res) != HG_OK) {
            return -1;
        }
        matched += res.nmatches > 0;
    }
    return matched;
}

/* Run fn in a child; returns its wait status. */
static int
in_child(void (*fn)(void))
{
    pid_t  pid;
    int    status;

    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* cmocka catches SIGBUS to report a crash; the child must see the
         * signal as a plain program would */
        signal(SIGBUS, SIG_DFL);
        fn();
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void
child_unguarded(void)
{
    char        p[256];
    hg_db_t    *db;
    hg_err_t    err;
    hg_scan_t  *s;

    path_of(p, sizeof(p), "unguarded.db");
    if (hg_db_open(p, 0, &db, &err) != HG_OK) {
        _exit(3);
    }
    s = hg_scan_new(db, 0);
    truncate_in_place(p, 4096);
    (void) scan_all(s);
    _exit(4);           /* survived: the hazard the guard is for is gone? */
}

/* The hazard: without the guard, a lookup on a lost page kills. */
static void
test_unguarded_reader_dies(void **state)
{
    char  p[256];
    int   st;

    (void) state;
    path_of(p, sizeof(p), "unguarded.db");
    make_db(p);
    st = in_child(child_unguarded);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGBUS);
}

static void
child_guarded(void)
{
    char        p[256], q[256];
    hg_db_t    *db, *other;
    hg_err_t    err;
    hg_scan_t  *s, *t;
    unsigned char buf[64];
    hg_scan_result_t res;

    path_of(p, sizeof(p), "guarded.db");
    path_of(q, sizeof(q), "other.db");
    if (hg_db_guard_install(&err) != HG_OK
        || hg_db_guard_install(&err) != HG_OK            /* idempotent */
        || hg_db_open(p, 0, &db, &err) != HG_OK
        || hg_db_open(q, 0, &other, &err) != HG_OK)
    {
        _exit(3);
    }
    s = hg_scan_new(db, 0);
    t = hg_scan_new(other, 0);
    if (hg_db_lost(db) || scan_all(s) != scan_all(t) || scan_all(s) < 100) {
        _exit(5);       /* before: both find every listed object */
    }
    truncate_in_place(p, 4096);
    /* the first object whose row is on a lost page faults; from then on
     * every scan through this handle is an error, never a clean pass */
    if (scan_all(s) != -1 || !hg_db_lost(db)) {
        _exit(6);
    }
    object(7, buf);
    if (hg_scan_buffer(s, buf, sizeof(buf), &res) != HG_EIO
        || res.nmatches != 0)
    {
        _exit(7);
    }
    /* another database in the same process is untouched */
    if (hg_db_lost(other) || scan_all(t) < 100) {
        _exit(8);
    }
    hg_scan_free(s);            /* drops the reference ... */
    hg_db_close(db);            /* ... and this unmaps the zero pages */
    hg_scan_free(t);
    hg_db_close(other);
    _exit(0);
}

static void
test_guarded_reader_survives(void **state)
{
    char  p[256], q[256];
    int   st;

    (void) state;
    path_of(p, sizeof(p), "guarded.db");
    path_of(q, sizeof(q), "other.db");
    make_db(p);
    make_db(q);
    st = in_child(child_guarded);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void
child_reopen_truncated(void)
{
    char      p[256];
    hg_db_t  *db;
    hg_err_t  err;

    path_of(p, sizeof(p), "reopen.db");
    if (hg_db_guard_install(&err) != HG_OK) {
        _exit(3);
    }
    truncate_in_place(p, 4096);
    /* open sees 4096 bytes and refuses by the header's size: clean error */
    if (hg_db_open(p, HG_DB_OPEN_VERIFY, &db, &err) != HG_EFORMAT) {
        _exit(4);
    }
    _exit(0);
}

static void
test_truncated_file_is_refused_not_fatal(void **state)
{
    char  p[256];
    int   st;

    (void) state;
    path_of(p, sizeof(p), "reopen.db");
    make_db(p);
    st = in_child(child_reopen_truncated);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* A SIGBUS that is not on a database page: the default still kills. */
static void
child_foreign_fault(void)
{
    char            p[256];
    hg_err_t        err;
    volatile char  *m;
    int             fd;

    path_of(p, sizeof(p), "foreign");
    fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, 65536) != 0
        || hg_db_guard_install(&err) != HG_OK)
    {
        _exit(3);
    }
    m = mmap(NULL, 65536, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED || ftruncate(fd, 0) != 0) {
        _exit(3);
    }
    (void) m[40000];
    _exit(4);
}

static void
test_foreign_sigbus_still_kills(void **state)
{
    int  st;

    (void) state;
    st = in_child(child_foreign_fault);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGBUS);
}

/* ... and a handler the program installed before ours still gets it. */
static void
own_handler(int sig)
{
    (void) sig;
    _exit(42);
}

static void
child_chained(void)
{
    signal(SIGBUS, own_handler);
    child_foreign_fault();
}

static void
test_previous_handler_is_chained(void **state)
{
    int  st;

    (void) state;
    st = in_child(child_chained);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 42);
}

static int
setup(void **state)
{
    (void) state;
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
    char  cmd[300];

    (void) state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_unguarded_reader_dies),
        cmocka_unit_test(test_guarded_reader_survives),
        cmocka_unit_test(test_truncated_file_is_refused_not_fatal),
        cmocka_unit_test(test_foreign_sigbus_still_kills),
        cmocka_unit_test(test_previous_handler_is_chained),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
