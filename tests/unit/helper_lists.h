/*
 * helper_lists.h - shared by the list reader tests (test_read_*.c): write a
 * synthetic list to a temp file, read it through the library, and keep what
 * came out (entries, warnings, stats, status) for the assertions.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HG_TEST_HELPER_LISTS_H
#define HG_TEST_HELPER_LISTS_H

#include <stddef.h>

#include "hashgate/list.h"

typedef struct {
    hg_entry_t      e;
    char            label[256];     /* e.label copied; e.label points here */
    int             has_label;
} hgt_entry_t;

typedef struct {
    hgt_entry_t    *v;
    size_t          n;
    size_t          cap;
    char          **warn;
    size_t          nwarn;
    hg_read_stats_t stats;
    hg_err_t        err;
    hg_status_t     st;
} hgt_read_t;

/* Write len bytes to a fresh temp file called name; returns its path
 * (malloc'd; remove with hgt_rm). */
char *hgt_write_file(const char *name, const void *data, size_t len);

/* Remove the file and free the path. */
void hgt_rm(char *path);

/*
 * Write content to a file called name and read it with format (NULL:
 * detect), strict and categories as given. Fills r (free with
 * hgt_read_free); returns r->st.
 */
hg_status_t hgt_read(hgt_read_t *r, const char *format, const char *name,
                     const char *content, int strict, const char *categories);

/* As hgt_read for an existing file. */
hg_status_t hgt_read_path(hgt_read_t *r, const char *format, const char *path,
                          int strict, const char *categories);

void hgt_read_free(hgt_read_t *r);

/* 1 if some warning contains needle. */
int hgt_warned(const hgt_read_t *r, const char *needle);

/* Lowercase hex of entry i's digest (static buffer). */
const char *hgt_hex(const hgt_read_t *r, size_t i);

/* The name of the reader detected for content under the file name name. */
const char *hgt_detect(const char *name, const char *content);

#endif
