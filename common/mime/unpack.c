/*
 * unpack.c - the streaming MIME push parser: structure, boundaries, limits.
 *
 * The parser is a state machine over the input as it arrives, in chunks of
 * any size. It keeps only what it must: the header block of the entity
 * being read (max_header_bytes), one candidate boundary line (at most
 * UNPACK_CAND_MAX bytes), the line end before it, one frame per open
 * multipart (max_depth) and a decode buffer. Only a line starting with '-'
 * can be a boundary, so body bytes are scanned with memchr for '-' and only
 * such a line, and the line end before it, is held back; in a base64 part
 * ('-' is not in its alphabet) the decoder itself stops at a '-', so an
 * attachment is read once, in large runs.
 *
 * Boundaries. A boundary line is "--" boundary, optionally "--" (the close
 * delimiter), optional blanks, then the line end; the line end BEFORE it
 * belongs to the delimiter (RFC 2046 5.1.1), so the last CRLF or LF of a
 * part is held back until the next line is known not to be a boundary.
 * Any open multipart's boundary ends the inner ones too. After a close
 * delimiter, the epilogue is skipped until an outer boundary or the end,
 * or until its own delimiter comes again: that reopens the multipart and
 * the parts after it are numbered on (union scanning, see below).
 * A missing final boundary is tolerated: the end of input closes every
 * part, and a line end held back then is dropped, as the delimiter that
 * did not come would have taken it (Python's email package agrees): a file
 * sent without the close delimiter hashes as the file. A delimiter line
 * cut before its line end is still a delimiter. Lines may end in CRLF or
 * LF; a lone CR is not a line end (Python's email package splits on it
 * too: a boundary after a lone CR is text here).
 *
 * Part numbering follows IMAP BODYSTRUCTURE (RFC 3501 6.4.5):
 *   - a message whose body is not multipart has one part, "1";
 *   - the children of a multipart are numbered from 1 under its own number
 *     ("2" -> "2.1", "2.2"); a top-level multipart's children are "1", "2";
 *   - a message/rfc822 (or message/global) part "P" is not a leaf: the
 *     attached message's parts are numbered under P exactly as a top-level
 *     message's are: "P.1", "P.2" if its body is multipart, else its single
 *     body is "P.1";
 *   - a uuencoded block inside a text part "P" is "P.u1", "P.u2", ...;
 *   - the copies of a part "P" (other readings of it, see below) are
 *     "P.d1", "P.d2", "P.d3".
 * Only leaves are reported; preambles and epilogues are never parts.
 *
 * Decisions where the standards leave room:
 *   - parts after a close delimiter are parts: a delimiter line of the
 *     closed multipart in its epilogue reopens it, and what follows is
 *     parsed and numbered on ("3" after "1", "2"). RFC 2046 makes the
 *     epilogue text to ignore, and Python's email package does; but a
 *     reader that splits on delimiter lines alone shows such parts, and
 *     a filter must hash everything some reader may show (union
 *     scanning, draft-chen-email-mime-ambiguity-defense). Scanning more
 *     than one reader sees can only find more; a close delimiter in the
 *     epilogue is text;
 *   - a multipart that ends (its close delimiter, an outer boundary or the
 *     end of input) without one part, having had bytes other than blanks
 *     and line ends, is HG_EFORMAT, so the caller's fail mode applies: all
 *     of it was preamble, which no callback sees, and it would pass as
 *     clean with nothing hashed. Python reads such a body as one leaf; to
 *     hash it so, the preamble of every multipart would have to be held
 *     (unbounded) or reported as a part of its own (an extra part in most
 *     mail, which has preamble text). Blank or empty, it is no part and no
 *     error (an empty form is "--b--" alone);
 *   - a Content-Type, Content-Transfer-Encoding or boundary parameter
 *     given twice, the copies read as different structures, is HG_EFORMAT
 *     (see hg_mime_fields_parse): we take the first as Python does, and a
 *     reader taking the last would find parts we never hash;
 *   - a boundary parameter holding a NUL byte (raw, or RFC 2231 %00) is
 *     HG_EFORMAT: body lines keep their NULs, and a boundary read any other
 *     way (cut at the NUL, or the NUL made a blank) matches none of them,
 *     so every part would hide in the preamble. NULs elsewhere in a header
 *     block read as blanks;
 *   - a multipart without a (non-empty) boundary parameter is a text leaf
 *     hashed whole, with its declared type (as Python's email package does);
 *     a boundary longer than HG_MIME_BOUNDARY_HARD is an error (HG_EFORMAT),
 *     never silently a leaf;
 *   - a message part with a base64/QP/uuencode transfer encoding is a leaf
 *     (decoded and hashed whole); message types other than rfc822/global are
 *     leaves;
 *   - a part labelled x-uuencode whose body does not start with "begin "
 *     (or a blank line) is hashed as it is, with one decode error, not
 *     decoded to nothing (see _uu_probe);
 *   - a delimiter line with more trailing blanks than UNPACK_CAND_MAX
 *     leaves room for is HG_ELIMIT, not text: readers that accept any
 *     padding would find parts there;
 *   - a header line that is neither a field nor a continuation starts the
 *     body (Python does the same); a header block cut by a boundary or the
 *     end of input still makes a (possibly empty) part;
 *   - in form-data mode (RFC 7578) a part is reported as sent, its
 *     Content-Transfer-Encoding not decoded: the bytes a browser sent are
 *     the file, and RFC 7578 4.7 deprecates the field; encoding reports it
 *     as declared ("binary" if absent). But some readers decode it anyway
 *     (Go's mime/multipart, behind ParseMultipartForm, decodes
 *     quoted-printable; others base64), and would store a file we never
 *     hashed. So, union scanning again, a part declared base64 or
 *     quoted-printable is also decoded, and the decoded bytes reported as
 *     its copy "P.d1" through the copy callbacks (without them there is
 *     no "P.d1"). A message/rfc822 part there is an uploaded file, not
 *     recursed into; nested multipart/mixed (RFC 2388 multiple files) is
 *     followed;
 *   - quoted-printable has two readings: Python's keeps the blanks ending
 *     a line, RFC 2045 6.7 (3) deletes them (Go, GMime, Perl, mutt). A
 *     mail part is decoded as Python does, and its copy "P.d1" as the RFC
 *     says, so padding the lines of a listed file that has CRLF in it does
 *     not get it past us to a reader that deletes the padding; form parts'
 *     copies are read the RFC's way too. And a hard line break decodes to
 *     the line end a reader finds: CRLF as SMTP carries mail, LF where a
 *     Unix mailbox stores it. A listed file with bare LF bytes, each sent
 *     as a hard break, is the listed file only in the second, so a mail
 *     part also has copies with its line ends in the other form: "P.d2"
 *     (blanks kept) and "P.d3" (deleted). A copy's stats say when it holds
 *     nothing new (no blank deleted, no hard break converted), as most
 *     copies do;
 *   - uuencoded blocks are looked for in text/plain leaves of mail only, and
 *     only when the caller set embedded callbacks (hg_unpack_set_embedded_cb):
 *     a block is open while its text part is, so a caller needs a second
 *     hashing context for it, and one for each copy, which may all be open
 *     at the same time.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashgate/unpack.h"
#include "mime/decode.h"
#include "mime/mime_header.h"

/*
 * Input is decoded, and handed to callbacks, in slices of at most this:
 * small enough to be still in cache when the callback hashes them.
 */
#define UNPACK_OUT_MAX      (32 * 1024)
/*
 * Blanks held after the longest boundary (a shorter one leaves room for
 * more); a delimiter padded past the candidate gives HG_ELIMIT.
 */
#define UNPACK_BOUNDARY_WS  64
/* A candidate boundary line: "--" boundary "--" blanks CRLF. */
#define UNPACK_CAND_MAX     (2 + HG_MIME_BOUNDARY_HARD + 2 + UNPACK_BOUNDARY_WS + 2)
/*
 * Blanks (and CRs) held at the end of a line of a quoted-printable form
 * part, to delete them if the line ends there. Go's quoted-printable
 * reader fails on a line longer than its 4096-byte buffer, so a longer run
 * is passed on rather than held.
 */
#define UNPACK_QP_WS_MAX    4096
/*
 * One path component: "." and a 32-bit number, or ".u" or ".d" and one
 * (".u4294967295" is 12 characters).
 */
#define UNPACK_COMPONENT    13

enum { ST_HEADERS = 0, ST_BODY };
enum { SINK_DISCARD = 0, SINK_LEAF };
enum { BS_LINESTART = 0, BS_MID, BS_MID_CR };
enum { DEC_NONE = 0, DEC_B64, DEC_QP, DEC_UU };

typedef struct {
    char        boundary[HG_MIME_BOUNDARY_HARD + 1];
    size_t      blen;
    size_t      base_len;       /* its children's path prefix in u->path */
    unsigned    nchildren;
    unsigned    depth;          /* of its children */
    int         digest;         /* multipart/digest: children default to message/rfc822 */
    int         closed;         /* close delimiter seen: in the epilogue */
    int         text;           /* its preamble had a byte other than blanks */
} _frame_t;

/* What a copy does to a quoted-printable part's line ends. */
enum { COPY_EOL_ASIS = 0, COPY_EOL_LF, COPY_EOL_CRLF };

/*
 * One reading of the open leaf besides its own ("P.d1", "P.d2", "P.d3"),
 * fed the leaf's raw bytes: a form part's transfer encoding decoded, or a
 * mail part's quoted-printable read another way (see _copy_raw).
 */
typedef struct {
    const hg_unpack_cb_t *cb;       /* NULL: this copy is never made */
    void               *ctx;
    int                 on;         /* made for the open leaf */
    int                 dec;        /* DEC_B64 or DEC_QP */
    int                 strip;      /* QP: the blanks ending a line go */
    int                 eol;        /* QP: COPY_EOL_* */
    hg_b64_t            b64;
    hg_qp_t             qp;
    unsigned char       ws[UNPACK_QP_WS_MAX]; /* QP: blanks held */
    size_t              ws_len;
    unsigned char       last;       /* last byte staged: '=' before a
                                     * line end makes it a soft break */
    int                 dropped;    /* a blank deleted */
    int                 converted;  /* a hard line end converted */
    uint64_t            in;         /* bytes given to the decoder */
    char               *path;
    hg_part_info_t      info;
    hg_part_stats_t     stats;
} _copy_t;

#define UNPACK_COPIES       3

struct hg_unpack_s {
    hg_unpack_mode_t    mode;
    hg_unpack_limits_t  lim;
    hg_unpack_cb_t      cb;
    void               *ctx;
    hg_unpack_cb_t      ecb;        /* embedded (uuencoded) parts */
    void               *ectx;
    int                 has_ecb;
    hg_unpack_cb_t      ccb;        /* decoded copies ("P.d1") */
    hg_unpack_cb_t      lcb;        /* line-end copies ("P.d2", "P.d3") */

    hg_status_t         st;         /* sticky */
    char                msg[HG_ERR_MAX];
    int                 finished;
    uint64_t            total_in;
    unsigned            nparts;

    _frame_t           *frames;
    unsigned            nframes;
    size_t              frames_cap;

    /* the entity being read */
    int                 state;
    char               *path;
    size_t              path_len, path_cap;
    size_t              prefix_len; /* a message root: its parts' prefix */
    int                 msg_root;
    unsigned            depth;
    int                 in_digest;

    /* its header block */
    char               *hdr;
    size_t              hdr_len, hdr_cap, line_start;

    /* body scanning */
    int                 sink;
    int                 bs;
    unsigned char       prev_byte;  /* last body byte a base64 run consumed */
    unsigned char       pend[2];
    size_t              pend_len;
    unsigned char       cand[UNPACK_CAND_MAX];
    size_t              cand_len;

    /* the open leaf */
    int                 leaf_open;
    hg_mime_fields_t    fields;
    char                type[HG_MIME_TYPE_MAX + 1];
    char                encoding[HG_MIME_ENCODING_MAX + 1];
    hg_part_info_t      info;
    hg_part_stats_t     stats;
    int                 dec;
    int                 uu_probe;   /* DEC_UU: first bytes not seen yet */
    int                 uu_raw;     /* declared uuencoded, but no "begin" */
    unsigned char       probe[6];
    size_t              probe_len;
    hg_b64_t            b64;
    hg_qp_t             qp;
    hg_uu_t             uu;
    unsigned char      *out;

    /* uuencoded blocks inside a text leaf of mail (scan): "P.uN" */
    int                 scan;
    hg_uu_t             suu;
    int                 sub_open;
    unsigned            nsub;
    char               *sub_path;
    hg_part_info_t      sub_info;
    hg_part_stats_t     sub_stats;
    unsigned char      *sub_out;

    /* the open leaf's other readings, and what they share */
    _copy_t             copies[UNPACK_COPIES];
    int                 copying;    /* a copy is open */
    unsigned char      *copy_stage; /* QP: raw text for a copy's decoder */
    size_t              stage_len;
    unsigned char      *copy_out;
    int                 eol_known;  /* the message's first line end seen */
    int                 eol_crlf;   /* ... and it was CRLF */
    unsigned char       last_in;    /* the last byte fed (a CR before LF?) */
};

void
hg_unpack_limits_default(hg_unpack_limits_t *l)
{
    l->max_depth = HG_MAX_MIME_DEPTH;
    l->max_parts = HG_MAX_PARTS;
    l->max_header_bytes = HG_MAX_HEADER_BYTES;
    l->max_line_bytes = HG_MAX_LINE_BYTES;
    l->max_part_bytes = 0;
    l->max_total_bytes = 0;
}

/* Record the first error; every later call returns it. */
static hg_status_t
_fail(hg_unpack_t *u, hg_status_t st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static hg_status_t
_fail(hg_unpack_t *u, hg_status_t st, const char *fmt, ...)
{
    va_list ap;

    if (u->st != HG_OK) {
        return u->st;
    }
    va_start(ap, fmt);
    vsnprintf(u->msg, sizeof(u->msg), fmt, ap);
    va_end(ap);
    u->st = st;
    return st;
}

/* A callback's refusal, made sticky with a message naming the part. */
static hg_status_t
_cb_fail(hg_unpack_t *u, hg_status_t st, const char *what, const char *path)
{
    if (st == HG_ECANCEL) {
        return _fail(u, st, "part %s: stopped by the caller", path);
    }
    return _fail(u, st, "part %s: %s callback failed: %s", path, what,
                 hg_status_str(st));
}

static hg_status_t
_reserve(hg_unpack_t *u, void **buf, size_t *cap, size_t need, size_t elem)
{
    size_t  ncap = *cap ? *cap : 16;
    void   *nb;

    if (need <= *cap) {
        return HG_OK;
    }
    while (ncap < need) {
        ncap *= 2;
    }
    if ((nb = realloc(*buf, ncap * elem)) == NULL) {
        return _fail(u, HG_ENOMEM, "out of memory");
    }
    *buf = nb;
    *cap = ncap;
    return HG_OK;
}

/* Set u->path to prefix (prefix_len bytes of it) + "." + n (or "n"). */
static hg_status_t
_path_child(hg_unpack_t *u, size_t prefix_len, const char *sep, unsigned n)
{
    hg_status_t st;
    int         w;

    st = _reserve(u, (void **) &u->path, &u->path_cap,
                  prefix_len + UNPACK_COMPONENT + 1, 1);
    if (st != HG_OK) {
        return st;
    }
    w = snprintf(u->path + prefix_len, UNPACK_COMPONENT + 1, "%s%s%u",
                 prefix_len > 0 ? "." : "", sep, n);
    u->path_len = prefix_len + (size_t) w;
    return HG_OK;
}

/* ---- leaves ---- */

static hg_status_t _scan_text(hg_unpack_t *u, const unsigned char *p, size_t n);
static hg_status_t _copy_raw(hg_unpack_t *u, const unsigned char *p,
                             size_t n);

/*
 * Hand n decoded bytes of the part at path to its data callback, after
 * checking max_part_bytes against what the part has had so far (stats):
 * the one place both main and embedded parts are counted and limited.
 */
static hg_status_t
_part_bytes(hg_unpack_t *u, const hg_unpack_cb_t *cb, void *ctx,
            hg_part_stats_t *stats, const char *path,
            const unsigned char *buf, size_t n)
{
    hg_status_t st;

    if (u->lim.max_part_bytes > 0
        && n > u->lim.max_part_bytes - stats->decoded_bytes)
    {
        return _fail(u, HG_ELIMIT, "part %s: larger than %llu bytes "
                     "(max_part_bytes)", path,
                     (unsigned long long) u->lim.max_part_bytes);
    }
    stats->decoded_bytes += n;
    if ((st = cb->part_data(ctx, buf, n)) != HG_OK) {
        return _cb_fail(u, st, "data", path);
    }
    return HG_OK;
}

static hg_status_t
_emit(hg_unpack_t *u, const unsigned char *buf, size_t n)
{
    hg_status_t st;

    if (n == 0) {
        return HG_OK;
    }
    st = _part_bytes(u, &u->cb, u->ctx, &u->stats, u->info.path, buf, n);
    if (st != HG_OK) {
        return st;
    }
    return u->scan ? _scan_text(u, buf, n) : HG_OK;
}

static hg_status_t _leaf_data(hg_unpack_t *u, const unsigned char *p,
                              size_t n);

/*
 * A part declared uuencoded must start with its "begin" line (or blank
 * lines). One that does not is hashed as it is, with one decode error,
 * rather than decoded to nothing: a mail reader that ignores the label
 * would show those bytes. (Python skips text until a "begin"; that needs
 * the whole part.) Called with the part's first bytes until 6 are seen
 * (n == 0: the part ended sooner).
 */
static hg_status_t
_uu_probe(hg_unpack_t *u, const unsigned char *p, size_t n)
{
    size_t      k = sizeof(u->probe) - u->probe_len;
    hg_status_t st;

    if (k > n) {
        k = n;
    }
    if (k > 0) {
        memcpy(u->probe + u->probe_len, p, k);
        u->probe_len += k;
    }
    if (u->probe_len < sizeof(u->probe) && n > 0) {
        return HG_OK;
    }
    u->uu_probe = 0;
    if (u->probe_len > 0 && u->probe[0] != '\r' && u->probe[0] != '\n'
        && (u->probe_len < 6 || memcmp(u->probe, "begin ", 6) != 0))
    {
        u->dec = DEC_NONE;
        u->uu_raw = 1;
    }
    if ((st = _leaf_data(u, u->probe, u->probe_len)) != HG_OK || n == k) {
        return st;
    }
    return _leaf_data(u, p + k, n - k);
}

static hg_status_t
_leaf_data(hg_unpack_t *u, const unsigned char *p, size_t n)
{
    size_t      k, w, used;
    hg_status_t st;

    if (u->uu_probe) {
        return _uu_probe(u, p, n);
    }
    if (u->copying && (st = _copy_raw(u, p, n)) != HG_OK) {
        return st;
    }
    if (u->dec == DEC_NONE) {
        return _emit(u, p, n);
    }
    while (n > 0) {
        switch (u->dec) {
        case DEC_B64:
            k = n < UNPACK_OUT_MAX ? n : UNPACK_OUT_MAX;
            w = hg_b64_feed(&u->b64, p, k, u->out);
            break;
        case DEC_QP:
            k = n < UNPACK_OUT_MAX ? n : UNPACK_OUT_MAX;
            w = hg_qp_feed(&u->qp, p, k, u->out);
            break;
        default:
            w = hg_uu_feed(&u->uu, p, n, &used, u->out, UNPACK_OUT_MAX);
            k = used;
            break;
        }
        if ((st = _emit(u, u->out, w)) != HG_OK) {
            return st;
        }
        p += k;
        n -= k;
    }
    return HG_OK;
}

/*
 * Body bytes of a base64 leaf, decoded up to a '-' that starts a line (a
 * possible boundary; *usedp stops there) or the end. Line ends are base64
 * whitespace, so the decoder may have them: nothing is held back, and the
 * boundary is found by the decoder's own scan instead of a second pass.
 */
static hg_status_t
_b64_run(hg_unpack_t *u, const unsigned char *p, size_t n, size_t *usedp)
{
    const unsigned char *start = p;
    size_t               k, w, used;
    hg_status_t          st;
    unsigned char        prev;

    *usedp = 0;
    while (n > 0) {
        k = n < UNPACK_OUT_MAX ? n : UNPACK_OUT_MAX;
        w = hg_b64_feed_until(&u->b64, p, k, u->out, '-', &used);
        if ((st = _emit(u, u->out, w)) != HG_OK) {
            return st;
        }
        prev = used > 0 ? p[used - 1] : p > start ? p[-1] : u->prev_byte;
        p += used;
        n -= used;
        if (used < k) {
            if (prev == '\n') {
                break;
            }
            /* a '-' inside a line: junk, counted by the decoder */
            w = hg_b64_feed(&u->b64, p, 1, u->out);
            p++;
            n--;
        }
    }
    if (p > start) {
        u->prev_byte = p[-1];
    }
    *usedp = (size_t) (p - start);
    return HG_OK;
}

static hg_status_t
_part_count(hg_unpack_t *u, const char *path)
{
    if (u->nparts >= u->lim.max_parts) {
        return _fail(u, HG_ELIMIT, "part %s: more than %u parts (max_parts)",
                     path, u->lim.max_parts);
    }
    u->nparts++;
    return HG_OK;
}

/* Begin an embedded part of the open leaf: a uuencoded block ("P.uN"). */
static hg_status_t
_sub_begin(hg_unpack_t *u)
{
    hg_status_t st;
    size_t      need = strlen(u->info.path) + UNPACK_COMPONENT + 1;
    char       *np;

    if ((np = realloc(u->sub_path, need)) == NULL) {
        return _fail(u, HG_ENOMEM, "out of memory");
    }
    u->sub_path = np;
    snprintf(u->sub_path, need, "%s.u%u", u->info.path, ++u->nsub);
    if ((st = _part_count(u, u->sub_path)) != HG_OK) {
        return st;
    }
    memset(&u->sub_info, 0, sizeof(u->sub_info));
    memset(&u->sub_stats, 0, sizeof(u->sub_stats));
    u->sub_info.path = u->sub_path;
    u->sub_info.content_type = "application/octet-stream";
    u->sub_info.filename = u->suu.name[0] != '\0' ? u->suu.name : NULL;
    u->sub_info.encoding = "x-uuencode";
    u->sub_info.depth = u->info.depth + 1;
    u->sub_open = 1;
    if ((st = u->ecb.part_begin(u->ectx, &u->sub_info)) != HG_OK) {
        return _cb_fail(u, st, "begin", u->sub_path);
    }
    return HG_OK;
}

static hg_status_t
_sub_data(hg_unpack_t *u, size_t w)
{
    if (w == 0) {
        return HG_OK;
    }
    return _part_bytes(u, &u->ecb, u->ectx, &u->sub_stats, u->sub_path,
                       u->sub_out, w);
}

static hg_status_t
_sub_end(hg_unpack_t *u)
{
    hg_status_t st;

    u->sub_open = 0;
    u->sub_stats.decode_errors = u->suu.errors;
    if ((st = u->ecb.part_end(u->ectx, &u->sub_info, &u->sub_stats)) != HG_OK) {
        return _cb_fail(u, st, "end", u->sub_path);
    }
    return HG_OK;
}

/* Begin copy i of the open leaf ("P.d1" ...): the same file, read otherwise. */
static hg_status_t
_copy_begin(hg_unpack_t *u, _copy_t *c, unsigned i)
{
    hg_status_t st;
    size_t      need = strlen(u->info.path) + UNPACK_COMPONENT + 1;
    char       *np;

    if ((np = realloc(c->path, need)) == NULL) {
        return _fail(u, HG_ENOMEM, "out of memory");
    }
    c->path = np;
    /* not counted against max_parts: at most three per part, which was */
    snprintf(c->path, need, "%s.d%u", u->info.path, i + 1);
    memset(&c->stats, 0, sizeof(c->stats));
    c->info = u->info;
    c->info.path = c->path;
    c->info.depth = u->info.depth + 1;
    c->ws_len = 0;
    c->last = 0;
    c->dropped = c->converted = 0;
    c->in = 0;
    if (c->dec == DEC_B64) {
        hg_b64_init(&c->b64);
    } else {
        hg_qp_init(&c->qp);
    }
    c->on = 1;
    u->copying = 1;
    if ((st = c->cb->part_begin(c->ctx, &c->info)) != HG_OK) {
        return _cb_fail(u, st, "begin", c->path);
    }
    return HG_OK;
}

/* Raw bytes decoded into copy c, in slices copy_out holds. */
static hg_status_t
_copy_feed(hg_unpack_t *u, _copy_t *c, const unsigned char *p, size_t n)
{
    size_t      k, w;
    hg_status_t st;

    c->in += n;
    while (n > 0) {
        k = n < UNPACK_OUT_MAX ? n : UNPACK_OUT_MAX;
        if (c->dec == DEC_B64) {
            w = hg_b64_feed(&c->b64, p, k, u->copy_out);
        } else {
            w = hg_qp_feed(&c->qp, p, k, u->copy_out);
        }
        if (w > 0) {
            st = _part_bytes(u, c->cb, c->ctx, &c->stats, c->path,
                             u->copy_out, w);
            if (st != HG_OK) {
                return st;
            }
        }
        p += k;
        n -= k;
    }
    return HG_OK;
}

/*
 * Queue n bytes for copy c's decoder: fed in slices of UNPACK_OUT_MAX,
 * the rest by _copy_stage_flush before another copy uses the stage.
 */
static hg_status_t
_copy_stage(hg_unpack_t *u, _copy_t *c, const unsigned char *p, size_t n)
{
    size_t      k;
    hg_status_t st;

    if (n > 0) {
        c->last = p[n - 1];
    }
    while (n > 0) {
        k = UNPACK_OUT_MAX - u->stage_len;
        k = k < n ? k : n;
        memcpy(u->copy_stage + u->stage_len, p, k);
        u->stage_len += k;
        p += k;
        n -= k;
        if (u->stage_len == UNPACK_OUT_MAX) {
            u->stage_len = 0;
            st = _copy_feed(u, c, u->copy_stage, UNPACK_OUT_MAX);
            if (st != HG_OK) {
                return st;
            }
        }
    }
    return HG_OK;
}

static hg_status_t
_copy_stage_flush(hg_unpack_t *u, _copy_t *c)
{
    size_t  n = u->stage_len;

    u->stage_len = 0;
    return n > 0 ? _copy_feed(u, c, u->copy_stage, n) : HG_OK;
}

/*
 * Blanks q[0..k) continuing the held run: all but its last
 * ((len - 1) % UNPACK_QP_WS_MAX) + 1 bytes are passed on, the rest held
 * for what the line end (if one follows) makes of them. The same bytes
 * pass whatever the chunking: a run is held up to UNPACK_QP_WS_MAX,
 * passed on when it grows past that.
 */
static hg_status_t
_qp_blanks(hg_unpack_t *u, _copy_t *c, const unsigned char *q, size_t k)
{
    size_t      total = c->ws_len + k, pass, from_held;
    hg_status_t st;

    if (total == 0) {
        return HG_OK;
    }
    pass = total - ((total - 1) % UNPACK_QP_WS_MAX + 1);
    from_held = pass < c->ws_len ? pass : c->ws_len;
    if ((st = _copy_stage(u, c, c->ws, from_held)) != HG_OK
        || (st = _copy_stage(u, c, q, pass - from_held)) != HG_OK)
    {
        return st;
    }
    memmove(c->ws, c->ws + from_held, c->ws_len - from_held);
    c->ws_len -= from_held;
    memcpy(c->ws + c->ws_len, q + (pass - from_held), k - (pass - from_held));
    c->ws_len += k - (pass - from_held);
    return HG_OK;
}

static int
_qp_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/*
 * At a line end of copy c: the blanks held before it, and the line end
 * itself. A CR last among them belongs to the line end (CRLF). strip
 * deletes the rest (RFC 2045 6.7 (3)); eol writes the line end as it came,
 * as LF or as CRLF. A line end after "=" is a soft break either way, so
 * converting it changes no decoded byte; converting any other does.
 */
static hg_status_t
_copy_line_end(hg_unpack_t *u, _copy_t *c)
{
    int          crlf = c->ws_len > 0 && c->ws[c->ws_len - 1] == '\r';
    const char  *le;
    hg_status_t  st;

    if (c->strip) {
        if (c->ws_len > (size_t) crlf) {
            c->dropped = 1;
        }
    } else if ((st = _copy_stage(u, c, c->ws, c->ws_len - (size_t) crlf))
               != HG_OK)
    {
        return st;
    }
    c->ws_len = 0;
    switch (c->eol) {
    case COPY_EOL_LF:
        le = "\n";
        c->converted |= crlf && c->last != '=';
        break;
    case COPY_EOL_CRLF:
        le = "\r\n";
        c->converted |= !crlf && c->last != '=';
        break;
    default:
        le = crlf ? "\r\n" : "\n";
        break;
    }
    return _copy_stage(u, c, (const unsigned char *) le, strlen(le));
}

/*
 * Raw bytes of the leaf, for copy c. Quoted-printable is staged a line
 * at a time with its blanks and line ends as the copy reads them
 * (_copy_line_end), then decoded in large slices: a callback per line
 * would cost more than the hashing.
 */
static hg_status_t
_copy_raw_one(hg_unpack_t *u, _copy_t *c, const unsigned char *p, size_t n)
{
    const unsigned char *end = p + n, *nl;
    size_t               j, e;
    hg_status_t          st;

    if (c->dec == DEC_B64) {
        return _copy_feed(u, c, p, n);
    }
    while (p < end) {
        nl = memchr(p, '\n', (size_t) (end - p));
        j = nl != NULL ? (size_t) (nl - p) : (size_t) (end - p);
        for (e = j; e > 0 && _qp_blank(p[e - 1]); e--) {
            /* the blanks ending this piece */
        }
        if (e > 0) {
            /* text follows the held blanks: they stay */
            st = _copy_stage(u, c, c->ws, c->ws_len);
            c->ws_len = 0;
            if (st != HG_OK || (st = _copy_stage(u, c, p, e)) != HG_OK) {
                return st;
            }
        }
        if ((st = _qp_blanks(u, c, p + e, j - e)) != HG_OK) {
            return st;
        }
        if (nl == NULL) {
            break;
        }
        if ((st = _copy_line_end(u, c)) != HG_OK) {
            return st;
        }
        p = nl + 1;
    }
    return _copy_stage_flush(u, c);
}

/* Raw bytes of the leaf, for each of its copies in turn. */
static hg_status_t
_copy_raw(hg_unpack_t *u, const unsigned char *p, size_t n)
{
    unsigned    i;
    hg_status_t st;

    for (i = 0; i < UNPACK_COPIES; i++) {
        if (u->copies[i].on
            && (st = _copy_raw_one(u, &u->copies[i], p, n)) != HG_OK)
        {
            return st;
        }
    }
    return HG_OK;
}

/*
 * End copy i. same_bytes tells the caller the copy holds nothing new, so
 * one file is not judged twice: its bytes are the leaf's own, or an
 * earlier copy's. "P.d1" (blanks deleted) is the leaf's bytes if no blank
 * went (and, for a form part, nothing was decoded); "P.d2" (line ends
 * converted) if no hard line end was; "P.d3" (both) is "P.d1" if no hard
 * line end was converted, "P.d2" if no blank went.
 */
static hg_status_t
_copy_end(hg_unpack_t *u, _copy_t *c, unsigned i)
{
    size_t      w;
    hg_status_t st;

    if (c->dec == DEC_B64) {
        w = hg_b64_finish(&c->b64, u->copy_out);
        c->stats.decode_errors = c->b64.errors;
    } else {
        /* blanks ending the last line: no line end follows */
        if (c->strip) {
            c->dropped |= c->ws_len > 0;
        } else if ((st = _copy_stage(u, c, c->ws, c->ws_len)) != HG_OK
                   || (st = _copy_stage_flush(u, c)) != HG_OK)
        {
            return st;
        }
        c->ws_len = 0;
        w = hg_qp_finish(&c->qp, u->copy_out);
        c->stats.decode_errors = c->qp.errors;
    }
    if (w > 0) {
        st = _part_bytes(u, c->cb, c->ctx, &c->stats, c->path, u->copy_out, w);
        if (st != HG_OK) {
            return st;
        }
    }
    c->on = 0;
    switch (i) {
    case 0:
        c->stats.same_bytes = c->dec == DEC_QP && !c->dropped
            && (u->mode == HG_UNPACK_MESSAGE || c->stats.decoded_bytes == c->in);
        break;
    case 1:
        c->stats.same_bytes = !c->converted;
        break;
    default:
        c->stats.same_bytes = !c->converted || !c->dropped;
        break;
    }
    if ((st = c->cb->part_end(c->ctx, &c->info, &c->stats)) != HG_OK) {
        return _cb_fail(u, st, "end", c->path);
    }
    return HG_OK;
}

/* Look for "begin" ... "end" blocks in a text leaf's decoded bytes. */
static hg_status_t
_scan_text(hg_unpack_t *u, const unsigned char *p, size_t n)
{
    size_t      used, w;
    hg_status_t st;

    while (n > 0) {
        w = hg_uu_feed(&u->suu, p, n, &used, u->sub_out, UNPACK_OUT_MAX);
        p += used;
        n -= used;
        switch (u->suu.state) {
        case HG_UU_SEEK:
            break;
        case HG_UU_BODY:
            if (!u->sub_open) {
                if ((st = _sub_begin(u)) != HG_OK) {
                    return st;
                }
            } else if ((st = _sub_data(u, w)) != HG_OK) {
                return st;
            }
            break;
        case HG_UU_DONE:
            if ((st = _sub_data(u, w)) != HG_OK || (st = _sub_end(u)) != HG_OK) {
                return st;
            }
            hg_uu_init(&u->suu, HG_UU_SEEK, 1);
            break;
        }
    }
    return HG_OK;
}

/*
 * The copies a leaf with transfer encoding e gets: a form part sent base64
 * or quoted-printable, decoded ("P.d1"); a quoted-printable part, without
 * the blanks ending its lines ("P.d1"), with its line ends in the form the
 * message did not come in ("P.d2"; CRLF as LF for mail as SMTP carries
 * it), and both ("P.d3").
 */
static hg_status_t
_copies_begin(hg_unpack_t *u, const char *e)
{
    static const struct {
        int  strip, other_eol, mail_only;
    } kinds[UNPACK_COPIES] = { { 1, 0, 0 }, { 0, 1, 1 }, { 1, 1, 1 } };
    int         dec = DEC_NONE;
    unsigned    i;
    _copy_t    *c;
    hg_status_t st;

    if (strcmp(e, "quoted-printable") == 0) {
        dec = DEC_QP;
    } else if (u->mode == HG_UNPACK_FORMDATA && strcmp(e, "base64") == 0) {
        dec = DEC_B64;
    }
    for (i = 0; dec != DEC_NONE && i < UNPACK_COPIES; i++) {
        c = &u->copies[i];
        if (c->cb == NULL || (kinds[i].mail_only
                              && (dec != DEC_QP || u->mode != HG_UNPACK_MESSAGE)))
        {
            continue;
        }
        c->dec = dec;
        c->strip = kinds[i].strip;
        c->eol = !kinds[i].other_eol ? COPY_EOL_ASIS
                 : hg_unpack_lf_message(u) ? COPY_EOL_CRLF : COPY_EOL_LF;
        if ((st = _copy_begin(u, c, i)) != HG_OK) {
            return st;
        }
    }
    return HG_OK;
}

static hg_status_t
_leaf_begin(hg_unpack_t *u)
{
    hg_status_t st;
    const char *e = u->fields.encoding;

    if ((st = _part_count(u, u->path)) != HG_OK) {
        return st;
    }
    snprintf(u->encoding, sizeof(u->encoding), "%s",
             e[0] != '\0' ? e : u->mode == HG_UNPACK_FORMDATA ? "binary" : "7bit");
    u->dec = DEC_NONE;
    u->uu_probe = 0;
    if (u->mode == HG_UNPACK_MESSAGE) {
        if (strcmp(e, "base64") == 0) {
            u->dec = DEC_B64;
            hg_b64_init(&u->b64);
        } else if (strcmp(e, "quoted-printable") == 0) {
            u->dec = DEC_QP;
            hg_qp_init(&u->qp);
        } else if (strcmp(e, "x-uuencode") == 0 || strcmp(e, "uuencode") == 0
                   || strcmp(e, "x-uue") == 0 || strcmp(e, "uue") == 0)
        {
            u->dec = DEC_UU;
            hg_uu_init(&u->uu, HG_UU_SEEK, 0);
            u->uu_probe = 1;
            u->probe_len = 0;
        }
    }
    u->uu_raw = 0;
    memset(&u->info, 0, sizeof(u->info));
    memset(&u->stats, 0, sizeof(u->stats));
    u->info.path = u->path;
    u->info.content_type = u->type;
    u->info.filename = u->fields.filename;
    u->info.field_name = u->mode == HG_UNPACK_FORMDATA ? u->fields.field_name
                                                       : NULL;
    u->info.encoding = u->encoding;
    u->info.depth = u->depth;
    u->scan = u->has_ecb && u->mode == HG_UNPACK_MESSAGE && u->dec != DEC_UU
              && strcmp(u->type, "text/plain") == 0;
    u->nsub = 0;
    u->sub_open = 0;
    if (u->scan) {
        hg_uu_init(&u->suu, HG_UU_SEEK, 1);
    }
    u->leaf_open = 1;
    if ((st = u->cb.part_begin(u->ctx, &u->info)) != HG_OK) {
        return _cb_fail(u, st, "begin", u->path);
    }
    if ((st = _copies_begin(u, e)) != HG_OK) {
        return st;
    }
    u->state = ST_BODY;
    u->sink = SINK_LEAF;
    return HG_OK;
}

static hg_status_t
_leaf_end(hg_unpack_t *u)
{
    size_t      w = 0;
    unsigned    i;
    hg_status_t st;

    if (u->uu_probe && (st = _uu_probe(u, NULL, 0)) != HG_OK) {
        return st;
    }
    switch (u->dec) {
    case DEC_B64:
        w = hg_b64_finish(&u->b64, u->out);
        u->stats.decode_errors = u->b64.errors;
        break;
    case DEC_QP:
        w = hg_qp_finish(&u->qp, u->out);
        u->stats.decode_errors = u->qp.errors;
        break;
    case DEC_UU:
        w = hg_uu_finish(&u->uu, u->out);
        u->stats.decode_errors = u->uu.errors;
        break;
    default:
        u->stats.decode_errors = u->uu_raw;
        break;
    }
    if ((st = _emit(u, u->out, w)) != HG_OK) {
        return st;
    }
    if (u->sub_open) {
        w = hg_uu_finish(&u->suu, u->sub_out);
        if ((st = _sub_data(u, w)) != HG_OK || (st = _sub_end(u)) != HG_OK) {
            return st;
        }
    }
    for (i = 0; i < UNPACK_COPIES; i++) {
        if (u->copies[i].on && (st = _copy_end(u, &u->copies[i], i)) != HG_OK) {
            return st;
        }
    }
    u->copying = 0;
    u->leaf_open = 0;
    u->scan = 0;
    if ((st = u->cb.part_end(u->ctx, &u->info, &u->stats)) != HG_OK) {
        return _cb_fail(u, st, "end", u->path);
    }
    hg_mime_fields_free(&u->fields);
    u->sink = SINK_DISCARD;
    return HG_OK;
}

/* ---- structure ---- */

static void
_body_reset(hg_unpack_t *u)
{
    u->bs = BS_LINESTART;
    u->pend_len = 0;
    u->cand_len = 0;
}

static hg_status_t
_enter_headers(hg_unpack_t *u)
{
    u->state = ST_HEADERS;
    u->hdr_len = 0;
    u->line_start = 0;
    return HG_OK;
}

/* The entity's header block is complete: decide what it is. */
static hg_status_t
_headers_done(hg_unpack_t *u)
{
    hg_status_t st;
    size_t      own;
    _frame_t   *f;
    const char *e;
    int         coded;

    hg_mime_fields_free(&u->fields);
    if (hg_mime_fields_parse(&u->fields, u->hdr, u->hdr_len) != HG_OK) {
        return _fail(u, HG_ENOMEM, "out of memory");
    }
    u->hdr_len = 0;
    u->line_start = 0;
    if (u->fields.type[0] != '\0') {
        memcpy(u->type, u->fields.type, sizeof(u->type));
    } else {
        /* RFC 2046 5.1.5; Python also reads a malformed type as text/plain */
        snprintf(u->type, sizeof(u->type), "%s",
                 u->in_digest && !u->fields.has_type ? "message/rfc822"
                                                     : "text/plain");
    }
    _body_reset(u);

    if (strncmp(u->type, "multipart/", 10) == 0 && u->fields.boundary_nul) {
        return _fail(u, HG_EFORMAT, "part %s: boundary holds a NUL byte",
                     u->msg_root && u->prefix_len == 0 ? "0" : u->path);
    }
    if (u->fields.conflict != NULL) {
        return _fail(u, HG_EFORMAT, "part %s: %s given twice, read two ways "
                     "(readers would disagree on what it holds)",
                     u->msg_root && u->prefix_len == 0 ? "0" : u->path,
                     u->fields.conflict);
    }
    if (strncmp(u->type, "multipart/", 10) == 0 && u->fields.boundary != NULL) {
        if (strlen(u->fields.boundary) > HG_MIME_BOUNDARY_HARD) {
            return _fail(u, HG_EFORMAT, "part %s: boundary longer than %d "
                         "characters", u->msg_root && u->prefix_len == 0
                         ? "0" : u->path, HG_MIME_BOUNDARY_HARD);
        }
        if (u->depth + 1 > u->lim.max_depth) {
            return _fail(u, HG_ELIMIT, "part %s: nesting deeper than %u "
                         "(max_depth)", u->path_len ? u->path : "0",
                         u->lim.max_depth);
        }
        st = _reserve(u, (void **) &u->frames, &u->frames_cap,
                      u->nframes + 1, sizeof(_frame_t));
        if (st != HG_OK) {
            return st;
        }
        f = &u->frames[u->nframes++];
        f->blen = strlen(u->fields.boundary);
        memcpy(f->boundary, u->fields.boundary, f->blen + 1);
        f->base_len = u->msg_root ? u->prefix_len : u->path_len;
        f->nchildren = 0;
        f->depth = u->depth + 1;
        f->digest = strcmp(u->type, "multipart/digest") == 0;
        f->closed = 0;
        f->text = 0;
        hg_mime_fields_free(&u->fields);
        u->state = ST_BODY;
        u->sink = SINK_DISCARD;         /* the preamble */
        return HG_OK;
    }

    /* a message root's own body is part "prefix.1" */
    if (u->msg_root) {
        own = u->prefix_len;
        if ((st = _path_child(u, own, "", 1)) != HG_OK) {
            return st;
        }
    }

    e = u->fields.encoding;
    coded = strcmp(e, "base64") == 0 || strcmp(e, "quoted-printable") == 0
            || strstr(e, "uu") != NULL;
    if (u->mode == HG_UNPACK_MESSAGE && !coded
        && (strcmp(u->type, "message/rfc822") == 0
            || strcmp(u->type, "message/global") == 0))
    {
        if (u->depth + 1 > u->lim.max_depth) {
            return _fail(u, HG_ELIMIT, "part %s: nesting deeper than %u "
                         "(max_depth)", u->path, u->lim.max_depth);
        }
        hg_mime_fields_free(&u->fields);
        u->msg_root = 1;
        u->prefix_len = u->path_len;
        u->depth++;
        u->in_digest = 0;
        return _enter_headers(u);
    }
    return _leaf_begin(u);
}

/*
 * A multipart is over (its close delimiter, an outer boundary, the end of
 * input). Having had text but no part, everything in it was preamble that
 * no callback saw: HG_EFORMAT, see the file header.
 */
static hg_status_t
_frame_end(hg_unpack_t *u, const _frame_t *f)
{
    if (f->nchildren > 0 || !f->text) {
        return HG_OK;
    }
    return _fail(u, HG_EFORMAT, "part %.*s: multipart with text but no part "
                 "(its boundary never starts a line): nothing to hash",
                 f->base_len > 0 ? (int) f->base_len : 1,
                 f->base_len > 0 ? u->path : "0");
}

/* A boundary line of frame k: end what is open, start what follows. */
static hg_status_t
_boundary(hg_unpack_t *u, unsigned k, int close)
{
    hg_status_t st;
    _frame_t   *f;
    unsigned    i;

    if (u->leaf_open && (st = _leaf_end(u)) != HG_OK) {
        return st;
    }
    for (i = k + 1; i < u->nframes; i++) {
        if ((st = _frame_end(u, &u->frames[i])) != HG_OK) {
            return st;
        }
    }
    u->nframes = k + 1;
    f = &u->frames[k];
    _body_reset(u);
    f->closed = 0;                      /* a delimiter in its epilogue */
    if (close) {
        if ((st = _frame_end(u, f)) != HG_OK) {
            return st;
        }
        f->closed = 1;
        u->state = ST_BODY;
        u->sink = SINK_DISCARD;
        return HG_OK;
    }
    if ((st = _path_child(u, f->base_len, "", ++f->nchildren)) != HG_OK) {
        return st;
    }
    u->msg_root = 0;
    u->depth = f->depth;
    u->in_digest = f->digest;
    return _enter_headers(u);
}

/* Which open frame's boundary is this line (no line end)? -1: none. */
static int
_match(hg_unpack_t *u, const unsigned char *l, size_t len, int *close)
{
    unsigned        i;
    const _frame_t *f;
    size_t          r;

    if (len < 2 || l[0] != '-' || l[1] != '-') {
        return -1;
    }
    for (i = u->nframes; i-- > 0; ) {
        f = &u->frames[i];
        if (len < 2 + f->blen || memcmp(l + 2, f->boundary, f->blen) != 0) {
            continue;
        }
        r = 2 + f->blen;
        *close = 0;
        if (len - r >= 2 && l[r] == '-' && l[r + 1] == '-') {
            *close = 1;
            r += 2;
        }
        while (r < len && (l[r] == ' ' || l[r] == '\t')) {
            r++;
        }
        /* in the epilogue only a delimiter that reopens counts (union scan) */
        if (r == len && !(f->closed && *close)) {
            return (int) i;
        }
    }
    return -1;
}

/*
 * Is any line a boundary? Once every multipart is over nothing could be
 * but a closed one is not over: its own delimiter may reopen it.
 */
static int
_open_frames(const hg_unpack_t *u)
{
    return u->nframes > 0;
}

/* ---- input ---- */

/*
 * Bytes for the open leaf, or for nothing: a preamble or an epilogue. A
 * preamble is watched for text (_frame_end); blanks and line ends are not.
 */
static hg_status_t
_sink(hg_unpack_t *u, const unsigned char *p, size_t n)
{
    _frame_t   *f;
    size_t      i;

    if (u->sink == SINK_LEAF) {
        return _leaf_data(u, p, n);
    }
    if (u->nframes == 0) {
        return HG_OK;
    }
    f = &u->frames[u->nframes - 1];
    if (f->closed || f->nchildren > 0 || f->text) {
        return HG_OK;
    }
    for (i = 0; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n') {
            f->text = 1;
            break;
        }
    }
    return HG_OK;
}

static hg_status_t
_flush_pend(hg_unpack_t *u)
{
    size_t  n = u->pend_len;

    u->pend_len = 0;
    return n > 0 ? _sink(u, u->pend, n) : HG_OK;
}

/* Body bytes; stops after a boundary line (the state changed). */
static hg_status_t
_body(hg_unpack_t *u, const unsigned char *p, size_t n, size_t *usedp)
{
    const unsigned char *start = p, *q;
    size_t               take, ll, eol;
    hg_status_t          st = HG_OK;
    int                  k, close;

    if (!_open_frames(u)) {
        *usedp = n;
        return _sink(u, p, n);
    }
    while (n > 0 && st == HG_OK) {
        switch (u->bs) {
        case BS_LINESTART:
            if (u->cand_len == 0 && *p != '-') {
                st = _flush_pend(u);
                u->bs = BS_MID;
                u->prev_byte = '\n';
                break;
            }
            take = UNPACK_CAND_MAX - u->cand_len;
            if (take > n) {
                take = n;
            }
            q = memchr(p, '\n', take);
            if (q == NULL) {
                memcpy(u->cand + u->cand_len, p, take);
                u->cand_len += take;
                p += take;
                n -= take;
                if (u->cand_len < UNPACK_CAND_MAX) {
                    break;
                }
                /*
                 * Too long for a boundary: text, unless it is an open
                 * frame's delimiter padded with blanks past what is held.
                 * Readers that allow any padding (Python does) would see
                 * parts where this parser saw text, so that is a limit.
                 */
                if (_match(u, u->cand, u->cand_len, &close) >= 0) {
                    st = _fail(u, HG_ELIMIT, "part %s: boundary line longer "
                               "than %d bytes (trailing blanks)",
                               u->path_len ? u->path : "0", UNPACK_CAND_MAX);
                    break;
                }
                ll = u->cand_len;
                u->cand_len = 0;
                if ((st = _flush_pend(u)) != HG_OK) {
                    break;
                }
                if (u->cand[ll - 1] == '\r') {
                    st = _sink(u, u->cand, ll - 1);
                    u->bs = BS_MID_CR;
                } else {
                    st = _sink(u, u->cand, ll);
                    u->bs = BS_MID;
                    u->prev_byte = u->cand[ll - 1];
                }
                break;
            }
            take = (size_t) (q - p) + 1;
            memcpy(u->cand + u->cand_len, p, take);
            u->cand_len += take;
            p += take;
            n -= take;
            ll = u->cand_len;
            eol = ll >= 2 && u->cand[ll - 2] == '\r' ? 2 : 1;
            u->cand_len = 0;
            k = _match(u, u->cand, ll - eol, &close);
            if (k >= 0) {
                u->pend_len = 0;
                st = _boundary(u, (unsigned) k, close);
                *usedp = (size_t) (p - start);
                return st;
            }
            if ((st = _flush_pend(u)) != HG_OK
                || (st = _sink(u, u->cand, ll - eol)) != HG_OK)
            {
                break;
            }
            memcpy(u->pend, u->cand + ll - eol, eol);
            u->pend_len = eol;
            break;

        case BS_MID:
            if (u->sink == SINK_LEAF && u->dec == DEC_B64) {
                st = _b64_run(u, p, n, &take);
                p += take;
                n -= take;
                if (n > 0) {
                    u->bs = BS_LINESTART;   /* at "-" starting a line */
                }
                break;
            }
            /*
             * Only a line starting with '-' can be a boundary, and base64
             * has no '-': look for "\n-" by memchr on '-', so the other line
             * ends pass through with the data in one run.
             */
            for (q = p + 1; (q = memchr(q, '-', (size_t) (p + n - q))) != NULL; q++) {
                if (q[-1] == '\n') {
                    break;
                }
            }
            if (q != NULL) {
                eol = q - 1 > p && q[-2] == '\r' ? 2 : 1;
                take = (size_t) (q - p);
            } else if (p[n - 1] == '\n') {
                eol = n > 1 && p[n - 2] == '\r' ? 2 : 1;
                take = n;
            } else {
                /* no line end to hold back; maybe a CR */
                if (p[n - 1] == '\r') {
                    st = _sink(u, p, n - 1);
                    u->bs = BS_MID_CR;
                } else {
                    st = _sink(u, p, n);
                }
                p += n;
                n = 0;
                break;
            }
            st = _sink(u, p, take - eol);
            memcpy(u->pend, p + take - eol, eol);
            u->pend_len = eol;
            p += take;
            n -= take;
            u->bs = BS_LINESTART;
            break;

        case BS_MID_CR:
            if (*p == '\n') {
                u->pend[0] = '\r';
                u->pend[1] = '\n';
                u->pend_len = 2;
                p++;
                n--;
                u->bs = BS_LINESTART;
            } else {
                st = _sink(u, (const unsigned char *) "\r", 1);
                u->bs = BS_MID;
                u->prev_byte = '\r';
            }
            break;
        }
    }
    *usedp = (size_t) (p - start);
    return st;
}

/*
 * End of input in a body: settle what _body held back. A last line that is
 * an open frame's delimiter without its line end is one (Python's boundary
 * pattern makes the line end optional too). Otherwise no delimiter
 * followed, and the held line start is data; but a held line end with
 * nothing after it is the one that precedes a delimiter (RFC 2046 5.1.1),
 * dropped as it would have been had the close delimiter come: a part cut
 * off there is the file as sent, and hashes as it.
 */
static hg_status_t
_body_end(hg_unpack_t *u)
{
    hg_status_t st = HG_OK;
    size_t      n = u->cand_len;
    int         k, close;

    u->cand_len = 0;
    if (n > 0 && _open_frames(u)) {
        k = _match(u, u->cand, u->cand[n - 1] == '\r' ? n - 1 : n, &close);
        if (k >= 0) {
            u->pend_len = 0;
            return _boundary(u, (unsigned) k, close);
        }
    }
    if (u->bs == BS_MID_CR) {
        st = _sink(u, (const unsigned char *) "\r", 1);
    }
    if (n == 0) {
        u->pend_len = 0;
        return st;
    }
    if (st == HG_OK) {
        st = _flush_pend(u);
    }
    return st == HG_OK ? _sink(u, u->cand, n) : st;
}

/* Does a header line look like a field (Python's headerRE)? */
static int
_is_field_line(const char *l, size_t len)
{
    size_t  i;

    if (len >= 5 && memcmp(l, "From ", 5) == 0) {
        return 1;
    }
    if (len > 0 && (l[0] == ' ' || l[0] == '\t')) {
        return 1;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char) l[i];

        if (c == ':') {
            return 1;
        }
        if (c < 0x21 || c > 0x7e) {
            return 0;
        }
    }
    return 0;
}

static hg_status_t _run(hg_unpack_t *u, const unsigned char *p, size_t n);

/* One complete header line, the last in u->hdr. */
static hg_status_t
_header_line(hg_unpack_t *u)
{
    char           *l = u->hdr + u->line_start;
    size_t          ll = u->hdr_len - u->line_start, eol;
    unsigned char  *copy;
    hg_status_t     st;
    int             k, close;

    eol = ll >= 2 && l[ll - 2] == '\r' ? 2 : 1;
    if (_open_frames(u)
        && (k = _match(u, (unsigned char *) l, ll - eol, &close)) >= 0)
    {
        /* a part with headers and no body */
        u->hdr_len = u->line_start;
        while (u->state == ST_HEADERS) {
            if ((st = _headers_done(u)) != HG_OK) {
                return st;
            }
        }
        return _boundary(u, (unsigned) k, close);
    }
    if (ll == eol) {
        u->hdr_len = u->line_start;
        return _headers_done(u);
    }
    if (_is_field_line(l, ll - eol)) {
        /* NULs stay: hg_mime_fields_parse blanks them, except in a boundary */
        u->line_start = u->hdr_len;
        return HG_OK;
    }
    /* not a header: the body starts with this line */
    if ((copy = malloc(ll)) == NULL) {
        return _fail(u, HG_ENOMEM, "out of memory");
    }
    memcpy(copy, l, ll);
    u->hdr_len = u->line_start;
    st = _headers_done(u);
    if (st == HG_OK) {
        st = _run(u, copy, ll);
    }
    free(copy);
    return st;
}

static hg_status_t
_headers(hg_unpack_t *u, const unsigned char *p, size_t n, size_t *usedp)
{
    const unsigned char *q;
    size_t               take, line;
    hg_status_t          st;

    q = memchr(p, '\n', n);
    take = q != NULL ? (size_t) (q - p) + 1 : n;
    line = u->hdr_len - u->line_start + take;
    if (line > u->lim.max_line_bytes + 2) {
        return _fail(u, HG_ELIMIT, "part %s: header line longer than %zu "
                     "bytes (max_line_bytes)", u->path_len ? u->path : "0",
                     u->lim.max_line_bytes);
    }
    if (u->hdr_len + take > u->lim.max_header_bytes) {
        return _fail(u, HG_ELIMIT, "part %s: header block larger than %zu "
                     "bytes (max_header_bytes)", u->path_len ? u->path : "0",
                     u->lim.max_header_bytes);
    }
    st = _reserve(u, (void **) &u->hdr, &u->hdr_cap, u->hdr_len + take, 1);
    if (st != HG_OK) {
        return st;
    }
    memcpy(u->hdr + u->hdr_len, p, take);
    u->hdr_len += take;
    *usedp = take;
    return q != NULL ? _header_line(u) : HG_OK;
}

static hg_status_t
_run(hg_unpack_t *u, const unsigned char *p, size_t n)
{
    size_t      used = 0;
    hg_status_t st;

    while (n > 0) {
        if (u->state == ST_HEADERS) {
            st = _headers(u, p, n, &used);
        } else {
            st = _body(u, p, n, &used);
        }
        if (st != HG_OK) {
            return _fail(u, st, "%s", hg_status_str(st));
        }
        p += used;
        n -= used;
    }
    return HG_OK;
}

/* ---- the API ---- */

hg_unpack_t *
hg_unpack_new(hg_unpack_mode_t mode, const char *content_type,
              const hg_unpack_limits_t *limits, const hg_unpack_cb_t *cb,
              void *cb_ctx, hg_err_t *err)
{
    hg_unpack_t    *u;
    char            type[HG_MIME_TYPE_MAX + 1], *b = NULL;
    _frame_t       *f;
    int             twice = 0;

    if (cb == NULL || cb->part_begin == NULL || cb->part_data == NULL
        || cb->part_end == NULL)
    {
        hg_err_set(err, HG_EINVAL, "unpack: every callback must be set");
        return NULL;
    }
    if (mode == HG_UNPACK_FORMDATA) {
        if (content_type == NULL) {
            hg_err_set(err, HG_EINVAL, "form-data: no Content-Type");
            return NULL;
        }
        switch (hg_mime_content_type(content_type, strlen(content_type), type,
                                     sizeof(type), &b, &twice)) {
        case HG_OK:
            break;
        case HG_EFORMAT:
            hg_err_set(err, HG_EFORMAT, "form-data: boundary holds a NUL byte");
            return NULL;
        default:
            hg_err_set(err, HG_ENOMEM, "out of memory");
            return NULL;
        }
        if (b == NULL) {
            hg_err_set(err, HG_EFORMAT, "form-data: no boundary in "
                       "Content-Type");
            return NULL;
        }
        if (twice) {
            /* an application reading the other one would find other files */
            hg_err_set(err, HG_EFORMAT, "form-data: boundary given twice "
                       "with different values");
            free(b);
            return NULL;
        }
        if (strlen(b) > HG_MAX_BOUNDARY_LEN) {
            hg_err_set(err, HG_EFORMAT, "form-data: boundary longer than %d "
                       "characters", HG_MAX_BOUNDARY_LEN);
            free(b);
            return NULL;
        }
    }
    if ((u = calloc(1, sizeof(*u))) == NULL
        || (u->out = malloc(UNPACK_OUT_MAX + HG_UU_OUT_MIN)) == NULL)
    {
        goto nomem;
    }
    u->mode = mode;
    if (limits != NULL) {
        u->lim = *limits;
    } else {
        hg_unpack_limits_default(&u->lim);
    }
    u->cb = *cb;
    u->ctx = cb_ctx;
    u->path_cap = 64;
    if ((u->path = calloc(1, u->path_cap)) == NULL) {
        goto nomem;
    }
    hg_mime_fields_init(&u->fields);
    if (mode == HG_UNPACK_FORMDATA) {
        if ((u->frames = calloc(1, sizeof(_frame_t))) == NULL) {
            goto nomem;
        }
        u->frames_cap = 1;
        f = &u->frames[0];
        f->blen = strlen(b);
        memcpy(f->boundary, b, f->blen + 1);
        f->depth = 1;
        u->nframes = 1;
        u->state = ST_BODY;
        u->sink = SINK_DISCARD;
        _body_reset(u);
    } else {
        u->msg_root = 1;
        _enter_headers(u);
    }
    free(b);
    return u;

nomem:
    free(b);
    hg_unpack_free(u);
    hg_err_set(err, HG_ENOMEM, "out of memory");
    return NULL;
}

hg_status_t
hg_unpack_set_embedded_cb(hg_unpack_t *u, const hg_unpack_cb_t *cb,
                          void *cb_ctx, hg_err_t *err)
{
    if (cb == NULL || cb->part_begin == NULL || cb->part_data == NULL
        || cb->part_end == NULL)
    {
        return hg_err_set(err, HG_EINVAL, "unpack: every callback must be set");
    }
    if (u->sub_out == NULL) {
        u->sub_out = malloc(UNPACK_OUT_MAX + HG_UU_OUT_MIN);
        if (u->sub_out == NULL) {
            return hg_err_set(err, HG_ENOMEM, "out of memory");
        }
    }
    u->ecb = *cb;
    u->ectx = cb_ctx;
    u->has_ecb = 1;
    return HG_OK;
}

static hg_status_t
_copy_buffers(hg_unpack_t *u, const hg_unpack_cb_t *cb, hg_err_t *err)
{
    if (cb == NULL || cb->part_begin == NULL || cb->part_data == NULL
        || cb->part_end == NULL)
    {
        return hg_err_set(err, HG_EINVAL, "unpack: every callback must be set");
    }
    if (u->copy_out == NULL) {
        u->copy_out = malloc(UNPACK_OUT_MAX);
    }
    if (u->copy_stage == NULL) {
        u->copy_stage = malloc(UNPACK_OUT_MAX);
    }
    if (u->copy_out == NULL || u->copy_stage == NULL) {
        return hg_err_set(err, HG_ENOMEM, "out of memory");
    }
    return HG_OK;
}

hg_status_t
hg_unpack_set_copy_cb(hg_unpack_t *u, const hg_unpack_cb_t *cb, void *cb_ctx,
                      hg_err_t *err)
{
    hg_status_t st;

    if ((st = _copy_buffers(u, cb, err)) != HG_OK) {
        return st;
    }
    u->ccb = *cb;
    u->copies[0].cb = &u->ccb;
    u->copies[0].ctx = cb_ctx;
    return HG_OK;
}

hg_status_t
hg_unpack_set_eol_copy_cb(hg_unpack_t *u, const hg_unpack_cb_t *cb,
                          void *keep_ctx, void *strip_ctx, hg_err_t *err)
{
    hg_status_t st;

    if ((st = _copy_buffers(u, cb, err)) != HG_OK) {
        return st;
    }
    u->lcb = *cb;
    u->copies[1].cb = u->copies[2].cb = &u->lcb;
    u->copies[1].ctx = keep_ctx;
    u->copies[2].ctx = strip_ctx;
    return HG_OK;
}

void
hg_unpack_free(hg_unpack_t *u)
{
    unsigned    i;

    if (u == NULL) {
        return;
    }
    hg_mime_fields_free(&u->fields);
    free(u->frames);
    free(u->path);
    free(u->hdr);
    free(u->out);
    free(u->sub_out);
    free(u->sub_path);
    free(u->copy_out);
    free(u->copy_stage);
    for (i = 0; i < UNPACK_COPIES; i++) {
        free(u->copies[i].path);
    }
    free(u);
}

static hg_status_t
_sticky(hg_unpack_t *u, hg_err_t *err)
{
    return hg_err_set(err, u->st, "%s", u->msg);
}

hg_status_t
hg_unpack_feed(hg_unpack_t *u, const void *buf, size_t len, hg_err_t *err)
{
    if (u->st != HG_OK) {
        return _sticky(u, err);
    }
    if (u->finished) {
        _fail(u, HG_EINVAL, "unpack: fed after finish");
        return _sticky(u, err);
    }
    if (u->lim.max_total_bytes > 0
        && len > u->lim.max_total_bytes - u->total_in)
    {
        _fail(u, HG_ELIMIT, "input larger than %llu bytes (max_total_bytes)",
              (unsigned long long) u->lim.max_total_bytes);
        return _sticky(u, err);
    }
    u->total_in += len;
    if (u->mode == HG_UNPACK_MESSAGE && !u->eol_known && len > 0) {
        /* the message's first line end says which form its lines are in */
        const unsigned char *b = buf, *nl = memchr(b, '\n', len);

        if (nl != NULL) {
            u->eol_known = 1;
            u->eol_crlf = nl > b ? nl[-1] == '\r' : u->last_in == '\r';
        }
        u->last_in = b[len - 1];
    }
    if (_run(u, buf, len) != HG_OK) {
        return _sticky(u, err);
    }
    return HG_OK;
}

hg_status_t
hg_unpack_finish(hg_unpack_t *u, hg_err_t *err)
{
    hg_status_t st = HG_OK;
    unsigned    i;

    if (u->st != HG_OK) {
        return _sticky(u, err);
    }
    if (u->finished) {
        return HG_OK;
    }
    u->finished = 1;
    /* a header block cut short still makes its part */
    while (st == HG_OK && u->state == ST_HEADERS) {
        st = _headers_done(u);
    }
    if (st == HG_OK && u->state == ST_BODY) {
        st = _body_end(u);
    }
    /* a delimiter cut by the end began a part: it has no headers either */
    while (st == HG_OK && u->state == ST_HEADERS) {
        st = _headers_done(u);
    }
    if (st == HG_OK && u->leaf_open) {
        st = _leaf_end(u);
    }
    for (i = 0; st == HG_OK && i < u->nframes; i++) {
        st = _frame_end(u, &u->frames[i]);
    }
    if (st != HG_OK) {
        _fail(u, st, "%s", hg_status_str(st));
        return _sticky(u, err);
    }
    return HG_OK;
}

unsigned
hg_unpack_parts(const hg_unpack_t *u)
{
    return u->nparts;
}

int
hg_unpack_lf_message(const hg_unpack_t *u)
{
    return u->eol_known && !u->eol_crlf;
}
