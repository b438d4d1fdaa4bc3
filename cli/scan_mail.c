/*
 * scan_mail.c - hashgate scan on mail: RFC 5322 files, mboxes, Maildirs.
 *
 * A message is streamed through hg_unpack, the same parser the milter uses,
 * and each leaf part's decoded bytes go straight into the scan context: no
 * message or part is held in memory. An mbox is split on "From " lines as
 * it is read (the blank line before a separator, or before the end of the
 * file, belongs to the mbox, as in Python's mailbox module), each message
 * with its own parser.
 *
 * A part without transfer decoding (7bit, 8bit, binary) is hashed twice:
 * as read, and with its line ends the other way round (each bare LF as
 * CRLF when the message's lines end in LF, as a Unix mailbox stores them;
 * each CRLF as LF when they end in CRLF). A listed file with CRLF bytes
 * sent raw is stored with LF, and the milter, which saw CRLF, would have
 * matched it: common/mime/eol.c explains. A match on either form is a match of
 * the part, and the report says which form matched.
 *
 * A parse error or a limit gives an error report for that message and exit
 * status 2: a message we could not take apart is never called clean.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mime/eol.h"
#include "scan.h"
#include "util.h"

/* "From " starts an mbox separator line. */
#define MBOX_FROM      "From "
#define MBOX_FROM_LEN  5

/*
 * Header fields one of which a file must start with to be taken for a
 * message: common enough that every real message has one, specific enough
 * that a text file starting "Note: ..." does not pass.
 */
static const char *const _mail_fields[] = {
    "from", "to", "cc", "subject", "date", "message-id", "received",
    "return-path", "mime-version", "content-type", "delivered-to",
    "reply-to", "sender", "x-mailer", "dkim-signature", "authentication-results",
    "arc-seal", "references", "in-reply-to", "user-agent", "x-original-to",
    NULL
};

int
scan_mail_is_mbox(const unsigned char *head, size_t len)
{
    size_t  i;

    if (len <= MBOX_FROM_LEN || memcmp(head, MBOX_FROM, MBOX_FROM_LEN) != 0) {
        return 0;
    }
    /* "From sender date": a non-blank sender, then a header on the next line */
    if (head[MBOX_FROM_LEN] == ' ' || head[MBOX_FROM_LEN] == '\n'
        || head[MBOX_FROM_LEN] == '\r')
    {
        return 0;
    }
    for (i = MBOX_FROM_LEN; i < len && head[i] != '\n'; i++) {
        if (head[i] == '\0') {
            return 0;
        }
    }
    if (i >= len) {
        return 0;
    }
    return scan_mail_is_message(NULL, head + i + 1, len - i - 1);
}

/* 1 if the field name [name, name + len) is one of _mail_fields. */
static int
_mail_known_field(const unsigned char *name, size_t len)
{
    size_t  i;

    for (i = 0; _mail_fields[i] != NULL; i++) {
        if (strlen(_mail_fields[i]) == len
            && strncasecmp((const char *) name, _mail_fields[i], len) == 0)
        {
            return 1;
        }
    }
    return 0;
}

int
scan_mail_is_message(const char *path, const unsigned char *head, size_t len)
{
    size_t  i = 0, eol, j, known = 0, fields = 0;
    size_t  plen;

    if (path != NULL && (plen = strlen(path)) > 4
        && strcasecmp(path + plen - 4, ".eml") == 0)
    {
        return 1;
    }

    /* every complete line up to the blank line is a field or a continuation */
    while (i < len) {
        for (eol = i; eol < len && head[eol] != '\n'; eol++) {
        }
        if (eol == len) {
            break;              /* an incomplete last line is not judged */
        }
        if (eol == i || (eol == i + 1 && head[i] == '\r')) {
            break;              /* the end of the header block */
        }
        if (head[i] == ' ' || head[i] == '\t') {
            if (fields == 0) {
                return 0;
            }
        } else {
            /* field-name = 1*(%d33-57 / %d59-126), then ':' */
            for (j = i; j < eol && head[j] != ':'; j++) {
                if (head[j] < 33 || head[j] > 126) {
                    return 0;
                }
            }
            if (j == eol || j == i) {
                return 0;
            }
            known += _mail_known_field(head + i, j - i);
            fields++;
        }
        i = eol + 1;
    }
    return known > 0;
}

int
scan_mail_is_maildir(const char *dir)
{
    char         p[4096];
    struct stat  st;

    if (snprintf(p, sizeof(p), "%s/cur", dir) >= (int) sizeof(p)
        || stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
    {
        return 0;
    }
    snprintf(p, sizeof(p), "%s/new", dir);
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- one message through hg_unpack ---- */

typedef struct mail_ctx_s mail_ctx_t;

/*
 * The context the parser's callbacks get: a whole leaf part goes into
 * sc->scan, a uuencoded block ("begin 644 name") inside a text part, open
 * while its text part is, into sc->scan_embedded, and a quoted-printable
 * part's other readings ("2.d1" to "2.d3", see hg_unpack_set_copy_cb),
 * open while it is, into sc->scan_copy.
 */
typedef struct {
    mail_ctx_t     *mc;
    hg_scan_t      *scan;
    hg_status_t     st;         /* the current part's scan status */
} mail_slot_t;

struct mail_ctx_s {
    scan_ctx_t     *sc;
    const char     *path;
    scan_part_t     where;
    hg_unpack_t    *u;          /* the open message, or NULL */
    hg_status_t     st;         /* the message's first parse error */
    hg_err_t        err;
    mail_slot_t     part;       /* leaf parts */
    mail_slot_t     emb;        /* uuencoded blocks inside a text part */
    mail_slot_t     copy[3];    /* a part read otherwise ("2.d1".."2.d3") */

    /* the open leaf part again, line ends converted, into sc->scan_eol */
    int             eol_crlf;   /* the message's lines end in CRLF */
    int             eol_known;  /* eol_crlf is decided (its first LF seen) */
    int             eol_last_cr; /* until then: the last byte fed was a CR */
    int             eol_open;   /* the leaf part is undecoded */
    hg_status_t     eol_st;
    hg_eol_t        eol;

    /* mbox splitting */
    int             at_bol;     /* deciding what the current line is */
    int             skipping;   /* inside a "From " separator line */
    unsigned char   peek[MBOX_FROM_LEN];
    size_t          npeek;
    unsigned char   blank[2];   /* an empty line held back */
    size_t          nblank;
};

static hg_status_t
_mail_part_begin(void *ctx, const hg_part_info_t *info)
{
    mail_slot_t  *s = ctx;
    mail_ctx_t   *mc = s->mc;

    s->st = hg_scan_begin(s->scan);
    if (s != &mc->part) {
        return HG_OK;           /* a block or copy inside the open part */
    }
    mc->eol_open = hg_eol_undecoded(info->encoding);
    if (mc->eol_open) {
        hg_eol_init(&mc->eol, mc->eol_crlf ? HG_EOL_TO_LF : HG_EOL_TO_CRLF,
                    hg_eol_out_scan, mc->sc->scan_eol);
        mc->eol_st = hg_scan_begin(mc->sc->scan_eol);
    }
    return HG_OK;
}

static hg_status_t
_mail_part_data(void *ctx, const unsigned char *buf, size_t len)
{
    mail_slot_t  *s = ctx;
    mail_ctx_t   *mc = s->mc;

    if (s->st == HG_OK) {
        s->st = hg_scan_update(s->scan, buf, len);
    }
    if (s == &mc->part && mc->eol_open && mc->eol_st == HG_OK) {
        mc->eol_st = hg_eol_update(&mc->eol, buf, len);
    }
    return HG_OK;
}

/* 1 if res is what the report calls a match (not cancelled by an allow-list). */
static int
_mail_is_match(const scan_ctx_t *sc, const hg_scan_result_t *res)
{
    hg_verdict_t  v = hg_decide(&sc->policy, res, HG_OK);

    return v.matched && v.allowed_by == NULL;
}

/*
 * End the part's converted form into alt. *use is set when alt is to be
 * reported: its bytes differ from the ones read, and it matched where the
 * part as read (res; NULL if that scan failed) did not. Returns the status
 * of the converted scan.
 */
static hg_status_t
_mail_part_eol_end(mail_ctx_t *mc, const hg_scan_result_t *res,
                   hg_scan_result_t *alt, int *use)
{
    hg_status_t  st = mc->eol_st;

    *use = 0;
    mc->eol_open = 0;
    if (st == HG_OK) {
        st = hg_eol_final(&mc->eol);
    }
    if (st == HG_OK) {
        st = hg_scan_end(mc->sc->scan_eol, alt);
    }
    if (st != HG_OK || res == NULL || !mc->eol.changed
        || _mail_is_match(mc->sc, res))
    {
        return st;
    }
    *use = _mail_is_match(mc->sc, alt);
    return HG_OK;
}

static hg_status_t
_mail_part_end(void *ctx, const hg_part_info_t *info,
               const hg_part_stats_t *stats)
{
    mail_slot_t       *s = ctx;
    mail_ctx_t        *mc = s->mc;
    hg_scan_result_t   res, alt;
    const hg_scan_result_t *shown = &res;
    scan_part_t        where = mc->where;
    int                use_alt = 0;

    if (s->st == HG_OK) {
        s->st = hg_scan_end(s->scan, &res);
    }
    if (s >= &mc->copy[0] && s <= &mc->copy[2] && stats != NULL
        && stats->same_bytes)
    {
        return HG_OK;           /* nothing new: reported with the part */
    }
    if (s == &mc->part && mc->eol_open) {
        hg_status_t  st = _mail_part_eol_end(mc, s->st == HG_OK ? &res : NULL,
                                             &alt, &use_alt);

        if (s->st == HG_OK && st != HG_OK) {
            s->st = st;
        }
        if (use_alt) {
            shown = &alt;
            where.line_ends = mc->eol_crlf ? "LF" : "CRLF";
            where.also = &res;
            where.also_form = "as read";
        } else if (s->st == HG_OK && mc->eol.changed) {
            where.also = &alt;
            where.also_form = mc->eol_crlf ? "LF" : "CRLF";
        }
    }
    where.info = info;
    where.decode_errors = stats != NULL ? stats->decode_errors : 0;
    scan_report(mc->sc, mc->path, &where, s->st == HG_OK ? shown : NULL,
                s->st, NULL);
    return HG_OK;
}

/* one set of callbacks; the slot given with them says which scan context */
static const hg_unpack_cb_t  _mail_cb = {
    _mail_part_begin, _mail_part_data, _mail_part_end
};

static void
_mail_begin(mail_ctx_t *mc)
{
    mc->eol_crlf = mc->eol_known = mc->eol_last_cr = mc->eol_open = 0;
    mc->st = HG_OK;
    mc->err.msg[0] = '\0';
    mc->u = hg_unpack_new(HG_UNPACK_MESSAGE, NULL, &mc->sc->limits,
                          &_mail_cb, &mc->part, &mc->err);
    if (mc->u == NULL) {
        mc->st = HG_ENOMEM;
        return;
    }
    mc->st = hg_unpack_set_embedded_cb(mc->u, &_mail_cb, &mc->emb, &mc->err);
    if (mc->st == HG_OK) {
        mc->st = hg_unpack_set_copy_cb(mc->u, &_mail_cb, &mc->copy[0],
                                       &mc->err);
    }
    if (mc->st == HG_OK) {
        mc->st = hg_unpack_set_eol_copy_cb(mc->u, &_mail_cb, &mc->copy[1],
                                           &mc->copy[2], &mc->err);
    }
}

static void
_mail_feed(mail_ctx_t *mc, const unsigned char *buf, size_t len)
{
    const unsigned char  *nl;

    if (mc->u == NULL || mc->st != HG_OK || len == 0) {
        return;
    }
    /* the message's first line end (in its header) says how it was stored */
    if (!mc->eol_known) {
        if ((nl = memchr(buf, '\n', len)) != NULL) {
            mc->eol_crlf = nl > buf ? nl[-1] == '\r' : mc->eol_last_cr;
            mc->eol_known = 1;
        } else {
            mc->eol_last_cr = buf[len - 1] == '\r';
        }
    }
    mc->st = hg_unpack_feed(mc->u, buf, len, &mc->err);
}

static void
_mail_end(mail_ctx_t *mc)
{
    if (mc->st == HG_OK && mc->u != NULL) {
        mc->st = hg_unpack_finish(mc->u, &mc->err);
    }
    if (mc->st != HG_OK) {
        mc->where.info = NULL;
        scan_report(mc->sc, mc->path, &mc->where, NULL, mc->st,
                    cli_errstr(&mc->err, mc->st));
    }
    hg_unpack_free(mc->u);
    mc->u = NULL;
    mc->where.message++;
}

/* ---- splitting an mbox as it streams by ---- */

static void
_mbox_flush_blank(mail_ctx_t *mc)
{
    if (mc->nblank > 0) {
        _mail_feed(mc, mc->blank, mc->nblank);
        mc->nblank = 0;
    }
}

/* The bytes of a line's start are decided: what they are. */
enum { PEEK_MORE, PEEK_FROM, PEEK_BLANK, PEEK_TEXT };

static int
_mbox_peek_kind(const mail_ctx_t *mc)
{
    if (memcmp(mc->peek, MBOX_FROM, mc->npeek) == 0) {
        return mc->npeek == MBOX_FROM_LEN ? PEEK_FROM : PEEK_MORE;
    }
    if ((mc->npeek == 1 && mc->peek[0] == '\n')
        || (mc->npeek == 2 && mc->peek[0] == '\r' && mc->peek[1] == '\n'))
    {
        return PEEK_BLANK;
    }
    if (mc->npeek == 1 && mc->peek[0] == '\r') {
        return PEEK_MORE;
    }
    return PEEK_TEXT;
}

static void
_mbox_process(mail_ctx_t *mc, const unsigned char *buf, size_t len)
{
    const unsigned char  *nl;
    size_t                i = 0;

    while (i < len) {
        if (mc->skipping) {
            nl = memchr(buf + i, '\n', len - i);
            if (nl == NULL) {
                return;
            }
            i = (size_t) (nl - buf) + 1;
            mc->skipping = 0;
            mc->at_bol = 1;
            _mail_begin(mc);
            continue;
        }
        if (mc->at_bol) {
            mc->peek[mc->npeek++] = buf[i++];
            switch (_mbox_peek_kind(mc)) {
            case PEEK_MORE:
                break;
            case PEEK_FROM:
                mc->nblank = 0;     /* the separator's own blank line */
                if (mc->u != NULL || mc->st != HG_OK) {
                    _mail_end(mc);
                }
                mc->npeek = 0;
                mc->at_bol = 0;
                mc->skipping = 1;
                break;
            case PEEK_BLANK:
                _mbox_flush_blank(mc);
                memcpy(mc->blank, mc->peek, mc->npeek);
                mc->nblank = mc->npeek;
                mc->npeek = 0;
                break;
            default:
                _mbox_flush_blank(mc);
                _mail_feed(mc, mc->peek, mc->npeek);
                mc->at_bol = mc->peek[mc->npeek - 1] == '\n';
                mc->npeek = 0;
                break;
            }
            continue;
        }
        nl = memchr(buf + i, '\n', len - i);
        if (nl == NULL) {
            _mail_feed(mc, buf + i, len - i);
            return;
        }
        _mail_feed(mc, buf + i, (size_t) (nl - buf) + 1 - i);
        i = (size_t) (nl - buf) + 1;
        mc->at_bol = 1;
    }
}

static void
_mbox_finish(mail_ctx_t *mc)
{
    if (mc->skipping) {
        /* a separator line at the very end: an empty message follows */
        mc->skipping = 0;
        _mail_begin(mc);
    }
    /* a blank last line ends the mbox, not the message (as Python reads it) */
    mc->nblank = 0;
    if (mc->npeek > 0) {
        _mail_feed(mc, mc->peek, mc->npeek);
        mc->npeek = 0;
    }
    if (mc->u != NULL || mc->st != HG_OK) {
        _mail_end(mc);
    }
}

int
scan_mail_fd(scan_ctx_t *sc, const char *path, int fd,
             const unsigned char *head, size_t head_len, int mbox)
{
    mail_ctx_t  mc;
    ssize_t     n = 0;
    int         more = head_len == SCAN_SNIFF_MAX, i;

    memset(&mc, 0, sizeof(mc));
    mc.sc = sc;
    mc.path = path;
    mc.where.mbox = mbox;
    mc.part.mc = mc.emb.mc = &mc;
    mc.part.scan = sc->scan;
    mc.emb.scan = sc->scan_embedded;
    for (i = 0; i < 3; i++) {
        mc.copy[i].mc = &mc;
        mc.copy[i].scan = sc->scan_copy[i];
    }
    mc.at_bol = 1;

    if (mbox) {
        _mbox_process(&mc, head, head_len);
    } else {
        _mail_begin(&mc);
        _mail_feed(&mc, head, head_len);
    }
    /* head may be sc->buf: it has been consumed before the buffer is reused */
    while (more && (n = cli_read_full(fd, sc->buf, CLI_READ_SIZE)) > 0) {
        if (mbox) {
            _mbox_process(&mc, sc->buf, (size_t) n);
        } else {
            _mail_feed(&mc, sc->buf, (size_t) n);
        }
    }
    if (n < 0) {
        hg_err_set(&mc.err, HG_EIO, "read: %s", strerror(errno));
        if (mc.st == HG_OK) {
            mc.st = HG_EIO;
        }
    }
    if (mbox) {
        _mbox_finish(&mc);
    } else {
        _mail_end(&mc);
    }
    return n < 0 ? -1 : 0;
}
