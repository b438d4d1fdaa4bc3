/*
 * sniff.c - is this object a container we open? Decided by its leading
 * bytes only, never by its name or declared type (a renamed zip is still a
 * zip). The caller sniffs to decide what to spool and send to the helper;
 * the helper sniffs inner files to decide which to open in turn. Nothing
 * here parses: a wrong "yes" costs one trip to the helper, which then
 * finds no container and reports nothing.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <string.h>

#include "hashgate/inspect.h"

typedef struct {
    size_t          off;
    size_t          len;
    const char     *magic;
    const char     *format;
} sniff_sig_t;

/* Signatures at fixed offsets; the longest offset decides "more". */
static const sniff_sig_t sigs[] = {
    { 0, 4, "PK\x03\x04", "zip" },
    { 0, 4, "PK\x05\x06", "zip" },              /* empty, or central only */
    { 0, 4, "PK\x07\x08", "zip" },              /* spanned marker */
    { 0, 6, "7z\xbc\xaf\x27\x1c", "7z" },
    { 0, 7, "Rar!\x1a\x07\x00", "rar" },
    { 0, 8, "Rar!\x1a\x07\x01\x00", "rar5" },
    { 0, 2, "\x1f\x8b", "gzip" },
    { 0, 3, "BZh", "bzip2" },
    { 0, 6, "\xfd" "7zXZ\x00", "xz" },
    { 0, 4, "\x28\xb5\x2f\xfd", "zstd" },
    { 0, 4, "\x04\x22\x4d\x18", "lz4" },
    { 0, 6, "070707", "cpio" },
    { 0, 6, "070701", "cpio" },
    { 0, 6, "070702", "cpio" },
    { 0, 2, "\xc7\x71", "cpio" },               /* binary, little-endian */
    { 0, 2, "\x71\xc7", "cpio" },               /* binary, big-endian */
    { 0, 4, "MSCF", "cab" },
    { 0, 8, "!<arch>\n", "ar" },
    { 0, 4, "\x78\x9f\x3e\x22", "tnef" },       /* 0x223e9f78, little-endian */
    { 0, 4, "xar!", "xar" },
    { 0, 5, "\x5d\x00\x00\x80\x00", "lzma" },
    { 257, 5, "ustar", "tar" },                 /* POSIX and GNU tar */
    { 32769, 5, "CD001", "iso9660" },
};

/* An old (v7) tar has no magic: a header whose checksum adds up. */
static int
sniff_v7_tar(const unsigned char *h, size_t len)
{
    unsigned long   sum, want;
    size_t          i;
    int             digits;

    if (len < 512 || h[0] == '\0') {
        return 0;
    }

    want = 0;
    digits = 0;
    for (i = 148; i < 156; i++) {
        if (h[i] >= '0' && h[i] <= '7') {
            want = want * 8 + (unsigned long) (h[i] - '0');
            digits++;
        } else if (h[i] != ' ' && h[i] != '\0') {
            return 0;
        } else if (digits) {
            break;
        }
    }
    if (digits == 0) {
        return 0;
    }

    sum = 0;
    for (i = 0; i < 512; i++) {
        sum += (i >= 148 && i < 156) ? ' ' : h[i];
    }
    return sum == want;
}

hg_sniff_t
hg_inspect_sniff(const unsigned char *head, size_t len, int complete,
                 const char **format)
{
    size_t  i;
    int     more = 0;

    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        if (len < sigs[i].off + sigs[i].len) {
            more = 1;
            continue;
        }
        if (memcmp(head + sigs[i].off, sigs[i].magic, sigs[i].len) == 0) {
            if (format) {
                *format = sigs[i].format;
            }
            return HG_SNIFF_YES;
        }
    }

    if (sniff_v7_tar(head, len)) {
        if (format) {
            *format = "tar";
        }
        return HG_SNIFF_YES;
    }

    if (more && !complete) {
        return HG_SNIFF_MORE;
    }
    if (format) {
        *format = NULL;
    }
    return HG_SNIFF_NO;
}
