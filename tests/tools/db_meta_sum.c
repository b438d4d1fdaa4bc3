/*
 * db_meta_sum.c - print (raw, 32 bytes) the header checksum a database
 * read from stdin should carry: what one who knows the format would
 * write after changing a header field, so a test can show that only the
 * signature then tells (tests/integration/test_signed_db.py).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>

#include "db/db_format.h"

int
main(void)
{
    static unsigned char  buf[64u << 20];
    unsigned char         sum[32];
    size_t                len = fread(buf, 1, sizeof(buf), stdin);
    uint64_t              hdr, meta;

    if (len < HG_DB_HEADER_SIZE) {
        fprintf(stderr, "db_meta_sum: too short\n");
        return 2;
    }
    hdr = hg_le32(buf + HDR_HEADER_SIZE);
    meta = hg_le64(buf + HDR_META_LEN);
    if (hdr > len || meta > len - hdr
        || hg_db_meta_sha256(buf, buf + hdr, meta, sum) != 0)
    {
        fprintf(stderr, "db_meta_sum: not a database\n");
        return 2;
    }
    fwrite(sum, 1, sizeof(sum), stdout);
    return 0;
}
