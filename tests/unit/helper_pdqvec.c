/*
 * helper_pdqvec.c - find and read the PDQ conformance vectors
 * (helper_pdqvec.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helper_pdqvec.h"

static char vdir[2048];

static int
dir_exists(const char *p)
{
    struct stat st;

    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
find_vectors(void)
{
    const char *env = getenv("HG_PDQ_VECTORS");
    const char *top = getenv("HG_TOP");
    /* the shared vectors beside the repository (or a worktree's), else
     * the copy in the repository, so a fresh clone checks them too */
    const char *rel[] = { "../shared/pdq-vectors", "../../shared/pdq-vectors",
                          "tests/data/pdq-vectors" };
    size_t      i;

    if (env != NULL && *env != '\0') {
        snprintf(vdir, sizeof(vdir), "%s", env);
        return dir_exists(vdir);
    }
    for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        snprintf(vdir, sizeof(vdir), "%s/%s", top ? top : ".", rel[i]);
        if (dir_exists(vdir)) {
            return 1;
        }
    }
    return 0;
}

int
hgt_pdqvec_load(hgt_pdqvec_t *v, size_t max, const char **dir)
{
    char    path[4096], line[1024], kind[16];
    FILE   *f;
    int     n = 0;

    if (!find_vectors()) {
        fprintf(stderr, "pdq-vectors not found (tried HG_PDQ_VECTORS, "
                "$HG_TOP/../shared, $HG_TOP/../../shared, "
                "$HG_TOP/tests/data)\n");
        return -1;
    }
    *dir = vdir;
    snprintf(path, sizeof(path), "%s/expected.tsv", vdir);
    f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (line[0] == '#' || line[0] == '\n') {
            continue;
        }
        if ((size_t) n == max
            || sscanf(line, "%127s %zu %zu %64s %d %15s %127s", v[n].file,
                      &v[n].rows, &v[n].cols, v[n].hex, &v[n].quality, kind,
                      v[n].base) != 7) {
            fprintf(stderr, "%s: bad line: %s", path, line);
            fclose(f);
            return -1;
        }
        v[n].exact = strcmp(kind, "exact") == 0;
        if (strcmp(v[n].base, "-") == 0) {
            v[n].base[0] = '\0';
        }
        n++;
    }
    fclose(f);
    return n;
}

unsigned char *
hgt_pdqvec_image(const char *name, size_t *len)
{
    char            path[4096];
    FILE           *f;
    unsigned char  *b;
    long            n;

    if (snprintf(path, sizeof(path), "%s/images/%s", vdir, name) >= (int) sizeof(path)
        || (f = fopen(path, "rb")) == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
        fclose(f);
        return NULL;
    }
    rewind(f);
    b = malloc((size_t) n + 1);
    if (b == NULL || fread(b, 1, (size_t) n, f) != (size_t) n) {
        free(b);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = (size_t) n;
    return b;
}
