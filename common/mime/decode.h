/*
 * decode.h - streaming transfer decoders: base64, quoted-printable, uuencode.
 *
 * Internal to libhashgate (used by the MIME parser: unpack_leaf.c,
 * unpack_copy.c). Each decoder is a small struct with init/feed/finish: it
 * is fed the encoded bytes in chunks of any size (one byte at a time
 * works) and writes decoded bytes to a buffer the caller gives. Nothing
 * is allocated. Input that cannot be decoded is skipped (or, for
 * quoted-printable, kept literally) and counted in `errors`, so a caller
 * can report it without failing the whole message.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_DECODE_H
#define HASHGATE_DECODE_H

#include <stddef.h>
#include <stdint.h>

/* ---- base64 (RFC 2045 6.8) ---- */

typedef struct {
    uint32_t        acc;        /* pending sextets, most significant first */
    unsigned        n;          /* sextets in acc (0..3) */
    unsigned        pads;       /* '=' seen in the final quantum */
    int             done;       /* padding completed: the rest is ignored */
    uint64_t        errors;     /* characters outside the alphabet, stray '=' */
} hg_b64_t;

void hg_b64_init(hg_b64_t *d);

/*
 * Decode len bytes into out, which must have room for len + 2 bytes: base64
 * never grows, but up to three characters from earlier calls may complete
 * their quantum in this one. Whitespace is skipped silently; any other character outside
 * the alphabet is skipped and counted. After a complete padding ("xx==",
 * "xxx=") the rest of the input is ignored; non-whitespace there is counted.
 * Returns the bytes written.
 */
size_t hg_b64_feed(hg_b64_t *d, const unsigned char *in, size_t len,
                   unsigned char *out);

/*
 * As hg_b64_feed, but stops before the first byte equal to stop (-1: none)
 * and sets *used to the bytes consumed. '-' is not in the alphabet, so the
 * MIME parser decodes and looks for a boundary ("\n--") in one pass.
 */
size_t hg_b64_feed_until(hg_b64_t *d, const unsigned char *in, size_t len,
                         unsigned char *out, int stop, size_t *used);

/*
 * End of input: 2 or 3 pending characters without padding still give 1 or
 * 2 bytes (as most mail readers do); a lone pending character is counted.
 * out needs room for 2 bytes. Returns the bytes written.
 */
size_t hg_b64_finish(hg_b64_t *d, unsigned char *out);

/*
 * Internal, for tests and fuzzing only: servers never call it. The decoder
 * picks its vector path from the CPU at run time, so a machine tests only
 * the path its CPU takes unless one is forced. HG_B64_AVX2 uses 32-character
 * blocks only; HG_B64_AVX512 adds the 64-character AVX-512 VBMI lines on top
 * of it (what a CPU with both runs); HG_B64_AUTO returns to the CPU's choice.
 * Process-wide: set it before decoding, not while another thread decodes.
 * Returns 0, or -1 (and changes nothing) if this CPU or build lacks the path.
 */
typedef enum {
    HG_B64_AUTO = 0,
    HG_B64_SCALAR,
    HG_B64_AVX2,
    HG_B64_AVX512
} hg_b64_path_t;

int hg_b64_force_path(hg_b64_path_t path);

/* ---- quoted-printable (RFC 2045 6.7) ---- */

typedef struct {
    unsigned        state;      /* 0 text, 1 after '=', 2 after '=X', 3 after '=CR' */
    unsigned char   hex1;       /* the first character after '=' in state 2 */
    uint64_t        errors;     /* malformed '=' sequences */
} hg_qp_t;

void hg_qp_init(hg_qp_t *d);

/*
 * Decode len bytes into out (room for len + 2 bytes). "=XX" (any case) is
 * one byte; "=" before CRLF or LF is a soft line break; a '=' followed by
 * anything else is kept literally with what follows, and counted. Line ends
 * and trailing whitespace are kept as they are (as Python's quopri does).
 * Returns the bytes written.
 */
size_t hg_qp_feed(hg_qp_t *d, const unsigned char *in, size_t len,
                  unsigned char *out);

/*
 * End of input: a dangling "=" is a soft break (its line end was the one
 * before a boundary); a dangling "=X" is kept literally and counted. out
 * needs room for 2 bytes. Returns the bytes written.
 */
size_t hg_qp_finish(hg_qp_t *d, unsigned char *out);

/* ---- uuencode ---- */

/* Longest uuencoded line kept; real encoders write 61 characters. */
#define HG_UU_LINE_MAX      1024
/* Longest file name kept from a "begin" line. */
#define HG_UU_NAME_MAX      255
/* Most bytes one line can decode to ((63 * 4 / 3) characters give 63 bytes). */
#define HG_UU_OUT_MIN       64

typedef enum {
    HG_UU_SEEK = 0,     /* skipping lines until "begin MODE NAME" */
    HG_UU_BODY,         /* decoding lines until "end" */
    HG_UU_DONE          /* "end" seen; the rest of the input is ignored */
} hg_uu_state_t;

typedef struct {
    hg_uu_state_t   state;
    size_t          line_len;   /* bytes in line[] */
    int             line_over;  /* the current line is longer than HG_UU_LINE_MAX */
    int             line_skip;  /* SEEK: the current line cannot be "begin" */
    int             stop_at_begin; /* feed returns right after a "begin" line */
    uint64_t        errors;     /* illegal characters, overlong lines */
    uint64_t        skipped;    /* non-empty lines skipped before "begin" */
    char            name[HG_UU_NAME_MAX + 1]; /* from the "begin" line */
    unsigned char   line[HG_UU_LINE_MAX];
} hg_uu_t;

/*
 * Start in SEEK (looking for a "begin" line) or directly in BODY. With
 * stop_at_begin, feed stops consuming right after a "begin" line so the
 * caller can act on the new state before the block's data.
 */
void hg_uu_init(hg_uu_t *d, hg_uu_state_t start, int stop_at_begin);

/*
 * Consume input into out (cap bytes, at least HG_UU_OUT_MIN). Stops when the
 * input is used up, when out cannot take another line, right after "end"
 * (state becomes HG_UU_DONE) or, with stop_at_begin, right after a "begin"
 * line. Once DONE, a call consumes and ignores all it is given. *used is
 * set to the input bytes consumed. Returns the bytes written.
 */
size_t hg_uu_feed(hg_uu_t *d, const unsigned char *in, size_t len,
                  size_t *used, unsigned char *out, size_t cap);

/*
 * End of input: decodes a last line without line end. out needs room for
 * HG_UU_OUT_MIN bytes. A body never started (no "begin" after skipped
 * lines) counts as one error. Returns the bytes written.
 */
size_t hg_uu_finish(hg_uu_t *d, unsigned char *out);

/* Decode one uuencoded line (no line end). Returns bytes written (<= 63). */
size_t hg_uu_decode_line(const unsigned char *line, size_t len,
                         unsigned char *out, uint64_t *errors);

#endif
