/*
 * helper_tmpdir.h - a private temporary directory for unit tests that need
 * real files (the database, its watcher, the atomic write).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HG_TEST_HELPER_TMPDIR_H
#define HG_TEST_HELPER_TMPDIR_H

/* The directory made by hg_test_tmpdir_make, "" before. */
extern char  hg_test_tmpdir[64];

/*
 * Make /tmp/hg-test-WHAT-XXXXXX. Returns 0, or -1 (errno set): a cmocka
 * group setup can return it as it is.
 */
int hg_test_tmpdir_make(const char *what);

/* How many files the directory holds (dot files aside), -1 if unreadable. */
int hg_test_tmpdir_count(void);

/* Remove the directory and the files in it (not subdirectories). */
int hg_test_tmpdir_remove(void);

/*
 * NAME inside the directory. The result lives until eight more calls, so a
 * call can take several paths at once (rename(a, b)).
 */
const char *hg_test_path(const char *name);

#endif
