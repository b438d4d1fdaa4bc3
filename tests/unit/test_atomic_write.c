/*
 * test_atomic_write.c - replacing a file by temp file, fsync and rename:
 * the target is replaced whole or not at all, and nothing is left beside it.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "hashgate/atomic_write.h"
#include "helper_tmpdir.h"

#define tpath(name)  hg_test_path(name)
#define tmpdir       hg_test_tmpdir
#define count_files  hg_test_tmpdir_count

static int
setup(void **state)
{
    (void) state;
    return hg_test_tmpdir_make("aw");
}

static int
teardown(void **state)
{
    (void) state;
    return hg_test_tmpdir_remove();
}

static void
assert_contents(const char *path, const char *want)
{
    char  buf[256];
    int   fd = open(path, O_RDONLY);
    ssize_t n;

    assert_true(fd >= 0);
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    assert_true(n >= 0);
    buf[n] = '\0';
    assert_string_equal(buf, want);
}

static void
put(const char *path, const char *text)
{
    hg_atomic_write_t  aw;
    hg_err_t           err;

    assert_int_equal(hg_atomic_write_begin(&aw, path, 0640, 0, &err), HG_OK);
    assert_int_equal(write(aw.fd, text, strlen(text)), (ssize_t) strlen(text));
    assert_int_equal(hg_atomic_write_commit(&aw, &err), HG_OK);
}

static void
test_atomic_write_replaces_the_file_with_the_mode_asked(void **state)
{
    struct stat  st, before;
    int          files;
    const char  *path = tpath("a");

    (void) state;
    files = count_files();
    put(path, "one\n");
    assert_contents(path, "one\n");
    assert_int_equal(stat(path, &before), 0);
    assert_int_equal(before.st_mode & 07777, 0640);
    put(path, "two\n");
    assert_contents(path, "two\n");
    assert_int_equal(stat(path, &st), 0);
    /* a new file renamed over, not the old one rewritten */
    assert_true(st.st_ino != before.st_ino);
    assert_int_equal(count_files(), files + 1);
}

static void
test_atomic_write_abort_leaves_the_target_and_no_temp_file(void **state)
{
    hg_atomic_write_t  aw;
    hg_err_t           err;
    int                files;
    const char        *path = tpath("b");

    (void) state;
    put(path, "kept\n");
    files = count_files();
    assert_int_equal(hg_atomic_write_begin(&aw, path, 0644, 0, &err), HG_OK);
    assert_non_null(strstr(aw.tmp, path));
    assert_int_equal(write(aw.fd, "half", 4), 4);
    assert_int_equal(count_files(), files + 1);
    hg_atomic_write_abort(&aw);
    hg_atomic_write_abort(&aw);         /* twice is harmless */
    assert_contents(path, "kept\n");
    assert_int_equal(count_files(), files);
}

static void
test_atomic_write_never_follows_a_link_beside_the_target(void **state)
{
    const char  *path = tpath("c");

    (void) state;
    /* a link at the name the milter's pid file used for its temp file */
    put(tpath("victim"), "secret\n");
    assert_int_equal(symlink(tpath("victim"), tpath("c.tmp")), 0);
    put(path, "1234\n");
    assert_contents(path, "1234\n");
    assert_contents(tpath("victim"), "secret\n");
}

static void
test_atomic_write_reports_a_missing_directory(void **state)
{
    hg_atomic_write_t  aw;
    hg_err_t           err;

    (void) state;
    assert_int_equal(hg_atomic_write_begin(&aw, "/nonexistent-dir/x", 0644,
                                           0, &err), HG_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x: cannot create a "
                                    "temp file beside it"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_atomic_write_replaces_the_file_with_the_mode_asked),
        cmocka_unit_test(test_atomic_write_abort_leaves_the_target_and_no_temp_file),
        cmocka_unit_test(test_atomic_write_never_follows_a_link_beside_the_target),
        cmocka_unit_test(test_atomic_write_reports_a_missing_directory),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
