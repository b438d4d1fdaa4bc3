/*
 * charset.c - charset names, and the two single-byte charsets read without
 * iconv (see charset.h).
 *
 * ISO-8859-1 and Windows-1252 are most of the 8-bit text in mail headers
 * and in exports written on Windows; both are a table away from Unicode,
 * so they do not depend on which iconv modules a system installed.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stddef.h>
#include <strings.h>

#include "util/charset.h"

/* Windows-1252 0x80..0x9f; 0 where the code page has a hole. */
static const uint16_t cp1252_high[32] = {
    0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
    0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
    0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
    0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178
};

static int
_cs_is(const char *cs, const char *const *names)
{
    for (; *names != NULL; names++) {
        if (strcasecmp(cs, *names) == 0) {
            return 1;
        }
    }
    return 0;
}

hg_charset_t
hg_charset_find(const char *name)
{
    static const char *const utf8[] = { "utf-8", "utf8", "us-ascii", "ascii",
                                        "", NULL };
    static const char *const latin1[] = { "iso-8859-1", "iso8859-1",
                                          "latin1", "latin-1", "l1",
                                          "iso_8859-1", NULL };
    static const char *const cp1252[] = { "windows-1252", "cp1252",
                                          "x-cp1252", NULL };

    if (name == NULL) {
        name = "";
    }
    if (_cs_is(name, utf8)) {
        return HG_CS_UTF8;
    }
    if (_cs_is(name, latin1)) {
        return HG_CS_LATIN1;
    }
    if (_cs_is(name, cp1252)) {
        return HG_CS_CP1252;
    }
    return HG_CS_OTHER;
}

uint32_t
hg_charset_byte(hg_charset_t cs, unsigned char c)
{
    if (cs == HG_CS_CP1252 && c >= 0x80 && c < 0xa0) {
        return cp1252_high[c - 0x80];
    }
    return c;
}
