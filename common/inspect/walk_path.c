/*
 * walk_path.c - the paths of inner files, and the chain that names a file
 * inside nested containers.
 *
 * An archive's names are whatever bytes its writer put there: UTF-8 from
 * most, a DOS or Windows code page from old zip and RAR writers, UTF-16
 * in 7z and Joliet (libarchive converts those). Every path is repaired to
 * valid UTF-8 (util/utf8.h's one rule) and cut at HG_INSPECT_PATH_MAX
 * bytes, so what reaches the record and the log is bounded and printable
 * as JSON. The chain "!a.tar!b/c.jpg" writes '!' and '%' inside a name as
 * %21 and %25: a name holding "!" cannot pass for a level of nesting.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <archive_entry.h>

#include "inspect/walk_int.h"
#include "util/utf8.h"

/*
 * In a UTF-8 locale (hg_inspect_walk_init) the plain form is the UTF-8
 * libarchive made, or the raw bytes of a name of unknown charset; the
 * others are fallbacks for a process that runs in another locale.
 */
const char *
hg_walk_entry_path(struct archive_entry *e, char *wbuf, size_t wcap,
                   size_t *len)
{
    const char     *p;
    const wchar_t  *wp;
    size_t          n, k;
    unsigned char   u[HG_UTF8_MAX];

    p = archive_entry_pathname(e);
    if (p == NULL) {
        p = archive_entry_pathname_utf8(e);
    }
    if (p != NULL) {
        *len = strlen(p);
        return p;
    }
    wp = archive_entry_pathname_w(e);
    if (wp == NULL || wcap < HG_UTF8_MAX) {
        return NULL;
    }
    n = 0;
    for (; *wp != L'\0'; wp++) {
        k = hg_utf8_encode((uint32_t) *wp, u);
        if (k == 0) {
            memcpy(u, HG_UTF8_REPLACEMENT, 3);
            k = 3;
        }
        if (n + k > wcap) {
            break;          /* longer than any path we keep */
        }
        memcpy(wbuf + n, u, k);
        n += k;
    }
    *len = n;
    return wbuf;
}

void
hg_walk_path_set(hg_walk_file_t *f, const char *raw, size_t raw_len)
{
    /* each raw byte gives at least one byte out, so the first PATH_MAX + 1
     * raw bytes tell whether the cleaned path needs cutting */
    char    clean[3 * (HG_INSPECT_PATH_MAX + 1) + 1];
    size_t  n;

    if (raw_len > HG_INSPECT_PATH_MAX + 1) {
        raw_len = HG_INSPECT_PATH_MAX + 1;
    }
    n = hg_utf8_clean(clean, raw, raw_len, 1);
    if (n > HG_INSPECT_PATH_MAX) {
        n = hg_utf8_cut(clean, n, HG_INSPECT_PATH_MAX);
        f->flags |= HG_INSPECT_F_PATH_CUT;
    }
    memcpy(f->path, clean, n);
    f->path[n] = '\0';
    f->path_len = n;
}

const char *
hg_walk_path_name(const char *path)
{
    const char  *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

size_t
hg_walk_chain_push(hg_walk_t *w, size_t at, const char *path)
{
    size_t   need, n;
    char    *c;

    /* every byte may become three */
    need = at + 1 + 3 * strlen(path) + 1;
    if (need > w->chain_cap) {
        n = w->chain_cap ? w->chain_cap : 256;
        while (n < need) {
            n *= 2;
        }
        c = realloc(w->chain, n);
        if (c == NULL) {
            return 0;
        }
        w->chain = c;
        w->chain_cap = n;
    }
    c = w->chain + at;
    *c++ = '!';
    for (; *path != '\0'; path++) {
        if (*path == '!' || *path == '%') {
            *c++ = '%';
            *c++ = '2';
            *c++ = *path == '!' ? '1' : '5';
        } else {
            *c++ = *path;
        }
    }
    *c = '\0';
    return (size_t) (c - w->chain);
}
