/*
 * helper_lists.c - temp files and a recording callback for the list reader
 * tests. Linked into every unit test binary; only the reader tests call it.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper_lists.h"

static char  hgt_dir[256];

static void
hgt_dir_cleanup(void)
{
    if (hgt_dir[0] != '\0') {
        rmdir(hgt_dir);
    }
}

char *
hgt_write_file(const char *name, const void *data, size_t len)
{
    const char  *tmp;
    char        *path;
    FILE        *fp;

    if (hgt_dir[0] == '\0') {
        tmp = getenv("TMPDIR");
        snprintf(hgt_dir, sizeof(hgt_dir), "%s/hg-lists-XXXXXX",
                 tmp ? tmp : "/tmp");
        if (mkdtemp(hgt_dir) == NULL) {
            abort();
        }
        atexit(hgt_dir_cleanup);
    }
    if (asprintf(&path, "%s/%s", hgt_dir, name) < 0) {
        abort();
    }
    fp = fopen(path, "wb");
    if (fp == NULL || fwrite(data, 1, len, fp) != len || fclose(fp) != 0) {
        abort();
    }
    return path;
}

void
hgt_rm(char *path)
{
    unlink(path);
    free(path);
}

static hg_status_t
hgt_collect(void *ctx, const hg_entry_t *e)
{
    hgt_read_t   *r = ctx;
    hgt_entry_t  *x;

    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 16;
        r->v = realloc(r->v, r->cap * sizeof(*r->v));
        if (r->v == NULL) {
            abort();
        }
    }
    x = &r->v[r->n++];
    memset(x, 0, sizeof(*x));
    x->e = *e;
    if (e->label != NULL) {
        snprintf(x->label, sizeof(x->label), "%s", e->label);
        x->has_label = 1;
    }
    x->e.label = NULL;
    return HG_OK;
}

static void
hgt_warn(void *ctx, const char *msg)
{
    hgt_read_t  *r = ctx;

    r->warn = realloc(r->warn, (r->nwarn + 1) * sizeof(*r->warn));
    if (r->warn == NULL) {
        abort();
    }
    r->warn[r->nwarn++] = strdup(msg);
}

hg_status_t
hgt_read_path(hgt_read_t *r, const char *format, const char *path,
              int strict, const char *categories)
{
    hg_read_opts_t  o;
    size_t          i;

    memset(r, 0, sizeof(*r));
    memset(&o, 0, sizeof(o));
    o.strict = strict;
    o.warn = hgt_warn;
    o.warn_ctx = r;
    o.categories = categories;
    r->st = hg_list_read_file(path, format, &o, hgt_collect, r, &r->stats,
                              &r->err);
    for (i = 0; i < r->n; i++) {
        r->v[i].e.label = r->v[i].has_label ? r->v[i].label : NULL;
    }
    return r->st;
}

hg_status_t
hgt_read(hgt_read_t *r, const char *format, const char *name,
         const char *content, int strict, const char *categories)
{
    char  *path = hgt_write_file(name, content, strlen(content));

    hgt_read_path(r, format, path, strict, categories);
    hgt_rm(path);
    return r->st;
}

void
hgt_read_free(hgt_read_t *r)
{
    size_t  i;

    for (i = 0; i < r->nwarn; i++) {
        free(r->warn[i]);
    }
    free(r->warn);
    free(r->v);
    memset(r, 0, sizeof(*r));
}

int
hgt_warned(const hgt_read_t *r, const char *needle)
{
    size_t  i;

    for (i = 0; i < r->nwarn; i++) {
        if (strstr(r->warn[i], needle) != NULL) {
            return 1;
        }
    }
    return 0;
}

const char *
hgt_hex(const hgt_read_t *r, size_t i)
{
    static char  hex[HG_HEX_MAX];

    if (i >= r->n) {
        return "(no such entry)";
    }
    hg_hex_encode(r->v[i].e.digest, hg_alg_len(r->v[i].e.alg), hex);
    return hex;
}

const char *
hgt_detect(const char *name, const char *content)
{
    const hg_reader_t  *rd;

    rd = hg_reader_detect(name, (const unsigned char *) content,
                          strlen(content));
    return rd ? rd->name : "(none)";
}
