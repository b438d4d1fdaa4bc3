/*
 * scan_mail.c - hashgate scan on mail: RFC 5322 files, mboxes, Maildirs.
 *
 * A message is streamed through hg_mail_scan, the same fan-out the milter
 * uses: each leaf part, uuencoded block and other reading of a part is
 * hashed as it is decoded, and no message or part is held in memory. An
 * mbox is split on "From " lines as it is read (the blank line before a
 * separator, or before the end of the file, belongs to the mbox, as in
 * Python's mailbox module), each message with its own parser.
 *
 * A part without transfer decoding (7bit, 8bit, binary) is hashed twice:
 * as read, and with its line ends the other way round (each bare LF as
 * CRLF when the message's lines end in LF, as a Unix mailbox stores them;
 * each CRLF as LF when they end in CRLF). A listed file with CRLF bytes
 * sent raw is stored with LF, and the milter, which saw CRLF, would have
 * matched it: common/mime/eol.c explains. A match on either form is a match
 * of the part, and the report says which form matched; a part whose two
 * forms both match has a line for each, as the milter records each.
 *
 * A parse error or a limit gives an error report for that message and exit
 * status 2: a message we could not take apart is never called clean.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* ---- one message through hg_mail_scan ---- */

typedef struct {
    scan_ctx_t     *sc;
    const char     *path;
    scan_part_t     where;
    int             open;       /* a message is open in sc->mail_scan */
    hg_status_t     st;         /* the message's first parse error */
    hg_err_t        err;

    /* mbox splitting */
    int             at_bol;     /* deciding what the current line is */
    int             skipping;   /* inside a "From " separator line */
    unsigned char   peek[MBOX_FROM_LEN];
    size_t          npeek;
    unsigned char   blank[2];   /* an empty line held back */
    size_t          nblank;
} mail_ctx_t;

/* 1 if res is what the report calls a match (not cancelled by an allow-list). */
static int
_mail_is_match(const scan_ctx_t *sc, const hg_scan_result_t *res)
{
    hg_verdict_t  v = hg_decide(&sc->policy, res, HG_OK);

    return v.matched && v.allowed_by == NULL;
}

/*
 * One finished object of the message: a line for each of its readings
 * that matched (the part as read, or with its line ends converted), or
 * one line for the part as read when none did; --json gives each the
 * other reading's digests under "also". A reading that could not be
 * checked makes the object an error.
 */
static hg_status_t
_mail_object(void *ctx, const hg_mail_object_t *obj)
{
    mail_ctx_t               *mc = ctx;
    const hg_mail_reading_t  *r, *o;
    scan_part_t               where = mc->where;
    unsigned                  i, matched = 0;
    int                       m[HG_MAIL_READINGS];

    if (obj->kind == HG_MAIL_IMAGE) {
        scan_report_image(mc->sc, mc->path, &where, obj);
        return HG_OK;
    }
    if (obj->inner != NULL) {
        scan_report_inner(mc->sc, mc->path, &where, obj);
        return HG_OK;
    }
    where.info = obj->info;
    where.decode_errors = obj->stats->decode_errors;
    for (i = 0; i < obj->nreadings; i++) {
        if (obj->reading[i].st != HG_OK) {
            scan_report(mc->sc, mc->path, &where, NULL, obj->reading[i].st,
                        NULL);
            return HG_OK;
        }
        m[i] = _mail_is_match(mc->sc, &obj->reading[i].res);
        matched += (unsigned) m[i];
    }
    for (i = 0; i < obj->nreadings; i++) {
        if (!m[i] && (matched > 0 || i > 0)) {
            continue;
        }
        r = &obj->reading[i];
        o = obj->nreadings > 1 ? &obj->reading[1 - i] : NULL;
        where.line_ends = r->line_ends;
        where.also = o != NULL ? &o->res : NULL;
        where.also_form = o == NULL ? NULL
                          : o->line_ends != NULL ? o->line_ends : "as read";
        scan_report(mc->sc, mc->path, &where, &r->res, HG_OK, NULL);
    }
    return HG_OK;
}

static void
_mail_begin(mail_ctx_t *mc)
{
    mc->err.msg[0] = '\0';
    mc->st = hg_mail_scan_begin(mc->sc->mail_scan, &mc->sc->limits,
                                _mail_object, mc, &mc->err);
    mc->open = mc->st == HG_OK;
}

static void
_mail_feed(mail_ctx_t *mc, const unsigned char *buf, size_t len)
{
    if (!mc->open || mc->st != HG_OK || len == 0) {
        return;
    }
    mc->st = hg_mail_scan_feed(mc->sc->mail_scan, buf, len, &mc->err);
}

static void
_mail_end(mail_ctx_t *mc)
{
    if (mc->st == HG_OK && mc->open) {
        mc->st = hg_mail_scan_finish(mc->sc->mail_scan, &mc->err);
    }
    if (mc->st != HG_OK) {
        mc->where.info = NULL;
        scan_report(mc->sc, mc->path, &mc->where, NULL, mc->st,
                    cli_errstr(&mc->err, mc->st));
    }
    hg_mail_scan_abort(mc->sc->mail_scan);
    mc->open = 0;
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
                if (mc->open || mc->st != HG_OK) {
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
    if (mc->open || mc->st != HG_OK) {
        _mail_end(mc);
    }
}

int
scan_mail_fd(scan_ctx_t *sc, const char *path, int fd,
             const unsigned char *head, size_t head_len, int mbox)
{
    mail_ctx_t  mc;
    ssize_t     n = 0;
    int         more = head_len == SCAN_SNIFF_MAX;

    memset(&mc, 0, sizeof(mc));
    mc.sc = sc;
    mc.path = path;
    mc.where.mbox = mbox;
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
