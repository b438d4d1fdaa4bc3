/*
 * mkpdqdb.c - write a database holding PDQ entries, through the builder
 * (db.h, db_pdq.h), for the image tests while the list readers do not yet
 * take PDQ hashes. Each argument after OUT is one entry:
 *
 *   mkpdqdb OUT LIST:pdq:HEX[:QUALITY]...     a PDQ hash on block list LIST
 *   mkpdqdb OUT LIST:sha256:HEX...            a SHA-256 digest
 *   mkpdqdb OUT allow:LIST:pdq:HEX...         the same on an allow-list
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashgate/db.h"
#include "hashgate/db_pdq.h"
#include "hashgate/list.h"

static int
hexval(const char *h, unsigned char *out, size_t n)
{
    size_t  i;

    if (strlen(h) < 2 * n) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (sscanf(h + 2 * i, "%2hhx", &out[i]) != 1) {
            return -1;
        }
    }
    return 0;
}

int
main(int argc, char **argv)
{
    hg_dbb_t    *b = hg_dbb_new();
    hg_entry_t   e;
    hg_err_t     err;
    uint32_t     id;
    unsigned     kind;
    char         buf[512], *list, *type, *hex, *q;
    int          i;

    if (argc < 3 || b == NULL) {
        fprintf(stderr, "usage: mkpdqdb OUT [allow:]LIST:pdq:HEX[:Q]|"
                "LIST:sha256:HEX...\n");
        return 2;
    }
    for (i = 2; i < argc; i++) {
        snprintf(buf, sizeof(buf), "%s", argv[i]);
        list = buf;
        kind = HG_LIST_BLOCK;
        if (strncmp(list, "allow:", 6) == 0) {
            kind = HG_LIST_ALLOW;
            list += 6;
        }
        type = strchr(list, ':');
        hex = type != NULL ? strchr(type + 1, ':') : NULL;
        if (hex == NULL) {
            fprintf(stderr, "mkpdqdb: bad entry %s\n", argv[i]);
            return 2;
        }
        *type++ = '\0';
        *hex++ = '\0';
        memset(&e, 0, sizeof(e));
        e.quality = -1;
        e.alg = HG_ALG_SHA256;
        if (strcmp(type, "pdq") == 0) {
            e.pdq = 1;
            if ((q = strchr(hex, ':')) != NULL) {
                *q++ = '\0';
                e.quality = atoi(q);
            }
        }
        if (hexval(hex, e.digest, 32) != 0
            || hg_dbb_list(b, list, "1", kind, &id, &err) != HG_OK
            || hg_dbb_add(b, id, &e) != HG_OK)
        {
            fprintf(stderr, "mkpdqdb: cannot add %s\n", argv[i]);
            return 2;
        }
    }
    if (hg_dbb_write(b, argv[1], 0, &err) != HG_OK) {
        fprintf(stderr, "mkpdqdb: %s\n", err.msg);
        return 1;
    }
    hg_dbb_free(b);
    return 0;
}
