/*
 * utf8.h - UTF-8 checked, encoded and repaired, one way for all of
 * libhashgate.
 *
 * Internal to libhashgate. Valid means RFC 3629: no overlong forms, no
 * surrogates (U+D800..U+DFFF), nothing above U+10FFFF, so no 5- or 6-byte
 * forms. Invalid input is repaired by one rule everywhere (MIME header
 * fields, the JSON writer, the JSON reader): each maximal subpart of an
 * invalid sequence becomes one U+FFFD, the "best practice" of the Unicode
 * standard (section 3.9, "U+FFFD Substitution of Maximal Subparts") that
 * the WHATWG Encoding standard and Python's decoder follow. A maximal
 * subpart is the longest start of a valid sequence the bytes make, or the
 * one offending byte when not even that: "\xE2\x82" + "x" gives U+FFFD "x",
 * "\xC0\xAF" (an overlong '/') gives two.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_UTF8_H
#define HASHGATE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Longest encoding of one code point (U+10000..U+10FFFF). */
#define HG_UTF8_MAX             4

/* U+FFFD REPLACEMENT CHARACTER as UTF-8; 3 bytes. */
#define HG_UTF8_REPLACEMENT     "\xEF\xBF\xBD"

/* Most bytes hg_utf8_stream_put writes for one byte fed. */
#define HG_UTF8_STREAM_OUT      8

/*
 * cp as UTF-8 into out (room for HG_UTF8_MAX). Returns the length, 1..4,
 * or 0 with nothing written when cp is no Unicode scalar value (a surrogate
 * or above U+10FFFF).
 */
size_t hg_utf8_encode(uint32_t cp, unsigned char *out);

/*
 * The sequence starting at s, of which n (>= 1) bytes are available:
 *   > 0  a valid character of that many bytes (its code point in *cp, if
 *        cp is not NULL);
 *   < 0  invalid: its maximal subpart is the first -k bytes (k >= 1), to be
 *        replaced by one U+FFFD; the byte after them starts a new sequence;
 *   0    the n bytes are a valid but incomplete start of a character: more
 *        bytes decide it (at the end of the input, all n are one subpart).
 */
int hg_utf8_seq(const unsigned char *s, size_t n, uint32_t *cp);

/* 1 if the n bytes at s are valid UTF-8 (NULs included), else 0. */
int hg_utf8_valid(const char *s, size_t n);

/*
 * Copy n bytes from s to out as valid UTF-8: each maximal invalid subpart
 * becomes one U+FFFD, and so does each NUL byte when nul_too is set (for
 * strings that end up as C strings). out needs room for 3 * n + 1 bytes;
 * it is NUL-terminated. Returns the length written, without the NUL.
 */
size_t hg_utf8_clean(char *out, const char *s, size_t n, int nul_too);

/*
 * How many of the n bytes of valid UTF-8 at s fit in max without cutting a
 * character in two: n when n <= max, else max less the bytes of a
 * character that would straddle the cut (for labels cut to a length).
 */
size_t hg_utf8_cut(const char *s, size_t n, size_t max);

/*
 * The same repair for bytes that arrive one at a time (a tokenizer): the
 * bytes of a character still incomplete are held here. Zero it to start.
 */
typedef struct {
    unsigned char   buf[HG_UTF8_MAX];
    unsigned char   len;            /* bytes held: an incomplete character */
} hg_utf8_stream_t;

/*
 * Feed byte c. Writes to out (room for HG_UTF8_STREAM_OUT) what is now
 * decided, valid UTF-8, and returns its length; 0 while a character is
 * incomplete.
 */
size_t hg_utf8_stream_put(hg_utf8_stream_t *u, unsigned char c,
                          unsigned char *out);

/*
 * The input ended (or something other than raw bytes follows, such as an
 * escape): an incomplete character held becomes one U+FFFD in out (room
 * for 3 bytes). Returns 0 or 3; u is then empty.
 */
size_t hg_utf8_stream_end(hg_utf8_stream_t *u, unsigned char *out);

#endif
