/*
 * helper_tmpdir.c - a private temporary directory for unit tests that need
 * real files: made per test group, emptied and removed after it.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper_tmpdir.h"

char  hg_test_tmpdir[64];

int
hg_test_tmpdir_make(const char *what)
{
    snprintf(hg_test_tmpdir, sizeof(hg_test_tmpdir), "/tmp/hg-test-%.16s-XXXXXX",
             what);
    return mkdtemp(hg_test_tmpdir) == NULL ? -1 : 0;
}

const char *
hg_test_path(const char *name)
{
    static char  buf[8][384];
    static int   k;

    k = (k + 1) % 8;
    snprintf(buf[k], sizeof(buf[k]), "%s/%.255s", hg_test_tmpdir, name);
    return buf[k];
}

int
hg_test_tmpdir_count(void)
{
    DIR            *d = opendir(hg_test_tmpdir);
    struct dirent  *e;
    int             n = 0;

    if (d == NULL) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

int
hg_test_tmpdir_remove(void)
{
    DIR            *d;
    struct dirent  *e;

    if (hg_test_tmpdir[0] == '\0') {
        return 0;
    }
    d = opendir(hg_test_tmpdir);
    if (d != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] != '.') {
                unlink(hg_test_path(e->d_name));
            }
        }
        closedir(d);
    }
    rmdir(hg_test_tmpdir);
    hg_test_tmpdir[0] = '\0';
    return 0;
}
