/*
 * report_xml.c - an incident as a draft in the shape of NCMEC's
 * CyberTipline reporting API, checked against the schema before anyone
 * sees it.
 *
 * The draft (root cybertipDraft, cli/cybertip.xsd) holds the <report> as
 * POST /submit takes it and, per matched file, its <fileDetails> without
 * the report and file IDs the service hands out, in a <file> saying which
 * bytes to upload for it. Element names and order are NCMEC's: the
 * service refuses elements out of order. Every draft is serialized,
 * parsed back and validated with libxml2 before it is returned: an
 * invalid one is an error naming the incident's records, never a file.
 *
 * Nothing here is content: records carry none. Text from mail and
 * requests (file names, addresses) is passed as UTF-8, with characters XML
 * cannot hold replaced by U+FFFD.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include "hashgate/version.h"
#include "report.h"
#include "util.h"

/* The schema built in from cli/cybertip.xsd (by the Makefile). */
extern const unsigned char  rep_xsd[];
extern const size_t         rep_xsd_len;

struct rep_xml_s {
    xmlSchemaPtr    schema;
};

/* The first error libxml2 reports, for the message. */
typedef struct {
    char    msg[HG_ERR_MAX];
    int     set;
} rep_xml_err_t;

static void
_rep_xml_error(void *ctx, xmlErrorPtr e)
{
    rep_xml_err_t  *x = ctx;
    size_t          n;

    if (x->set || e == NULL) {
        return;
    }
    snprintf(x->msg, sizeof(x->msg), "line %d: %s", e->line,
             e->message ? e->message : "error");
    n = strlen(x->msg);
    while (n > 0 && (x->msg[n - 1] == '\n' || x->msg[n - 1] == ' ')) {
        x->msg[--n] = '\0';
    }
    x->set = 1;
}

int
rep_xml_open(const char *xsd_path, rep_xml_t **out)
{
    xmlSchemaParserCtxtPtr  pc;
    rep_xml_t              *x;
    rep_xml_err_t           e = { .set = 0 };

    *out = NULL;
    LIBXML_TEST_VERSION
    x = calloc(1, sizeof(*x));
    if (x == NULL) {
        cli_error("report: out of memory");
        return -1;
    }
    pc = xsd_path != NULL ? xmlSchemaNewParserCtxt(xsd_path)
         : xmlSchemaNewMemParserCtxt((const char *) rep_xsd, (int) rep_xsd_len);
    if (pc == NULL) {
        cli_error("report: out of memory");
        free(x);
        return -1;
    }
    xmlSchemaSetParserStructuredErrors(pc, _rep_xml_error, &e);
    x->schema = xmlSchemaParse(pc);
    xmlSchemaFreeParserCtxt(pc);
    if (x->schema == NULL) {
        cli_error("report: %s: not a schema: %s",
                  xsd_path ? xsd_path : "(built-in cybertip.xsd)",
                  e.set ? e.msg : "cannot be read");
        free(x);
        return -1;
    }
    *out = x;
    return 0;
}

void
rep_xml_close(rep_xml_t *x)
{
    if (x == NULL) {
        return;
    }
    xmlSchemaFree(x->schema);
    free(x);
}

int
rep_xml_validate(rep_xml_t *x, const char *buf, size_t len, const char *root,
                 char *why, size_t wlen)
{
    xmlDocPtr               doc;
    xmlNodePtr              r;
    xmlSchemaValidCtxtPtr   vc;
    rep_xml_err_t           e = { .set = 0 };
    int                     rc;

    if (len > (size_t) INT32_MAX) {
        snprintf(why, wlen, "the document is too large");
        return -1;
    }
    xmlSetStructuredErrorFunc(&e, _rep_xml_error);
    doc = xmlReadMemory(buf, (int) len, "draft.xml", "UTF-8",
                        XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    xmlSetStructuredErrorFunc(NULL, NULL);
    if (doc == NULL) {
        snprintf(why, wlen, "not well-formed XML: %s",
                 e.set ? e.msg : "cannot be parsed");
        return -1;
    }
    r = xmlDocGetRootElement(doc);
    if (r == NULL || strcmp((const char *) r->name, root) != 0) {
        snprintf(why, wlen, "the root element is not <%s>", root);
        xmlFreeDoc(doc);
        return -1;
    }
    vc = xmlSchemaNewValidCtxt(x->schema);
    if (vc == NULL) {
        snprintf(why, wlen, "out of memory");
        xmlFreeDoc(doc);
        return -1;
    }
    xmlSchemaSetValidStructuredErrors(vc, _rep_xml_error, &e);
    rc = xmlSchemaValidateDoc(vc, doc);
    xmlSchemaFreeValidCtxt(vc);
    xmlFreeDoc(doc);
    if (rc != 0) {
        snprintf(why, wlen, "not valid against the schema: %s",
                 e.set ? e.msg : "invalid");
        return -1;
    }
    return 0;
}

/* ---- building ---- */

/*
 * s as text XML can hold: valid UTF-8 without the C0 controls (but tab
 * and line feed), DEL's neighbours U+FFFE/U+FFFF; anything else becomes
 * U+FFFD. malloc'd; NULL when out of memory.
 */
static char *
_rep_xml_text(const char *s)
{
    const unsigned char  *p = (const unsigned char *) s;
    size_t                n = strlen(s), i, k, need;
    char                 *out, *w;
    uint32_t              cp;

    if ((out = malloc(3 * n + 1)) == NULL) {
        return NULL;
    }
    w = out;
    for (i = 0; i < n; ) {
        if (p[i] < 0x80) {
            if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n') {
                memcpy(w, "\xEF\xBF\xBD", 3);
                w += 3;
            } else {
                *w++ = (char) p[i];
            }
            i++;
            continue;
        }
        need = p[i] >= 0xF5 ? 0 : p[i] >= 0xF0 ? 3 : p[i] >= 0xE0 ? 2
               : p[i] >= 0xC2 ? 1 : 0;
        cp = need == 3 ? p[i] & 7u : need == 2 ? p[i] & 15u : p[i] & 31u;
        for (k = 1; k <= need && i + k < n && (p[i + k] & 0xC0) == 0x80; k++) {
            cp = (cp << 6) | (p[i + k] & 0x3Fu);
        }
        if (need == 0 || k != need + 1
            || (need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000)
            || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)
            || cp == 0xFFFE || cp == 0xFFFF)
        {
            memcpy(w, "\xEF\xBF\xBD", 3);
            w += 3;
            i += need == 0 || k == 1 ? 1 : k;
            continue;
        }
        memcpy(w, p + i, k);
        w += k;
        i += k;
    }
    *w = '\0';
    return out;
}

typedef struct {
    int     oom;
} rep_build_t;

/* A child element with text (cleaned); nothing if text is NULL or empty. */
static xmlNodePtr
_el(rep_build_t *b, xmlNodePtr parent, const char *name, const char *text)
{
    xmlNodePtr  n;
    char       *t;

    if (text == NULL || text[0] == '\0') {
        return NULL;
    }
    if ((t = _rep_xml_text(text)) == NULL) {
        b->oom = 1;
        return NULL;
    }
    n = xmlNewTextChild(parent, NULL, BAD_CAST name, BAD_CAST t);
    free(t);
    if (n == NULL) {
        b->oom = 1;
    }
    return n;
}

/* An element to hold others. */
static xmlNodePtr
_box(rep_build_t *b, xmlNodePtr parent, const char *name)
{
    xmlNodePtr  n = xmlNewChild(parent, NULL, BAD_CAST name, NULL);

    if (n == NULL) {
        b->oom = 1;
    }
    return n;
}

static void
_attr(rep_build_t *b, xmlNodePtr n, const char *name, const char *value)
{
    char  *t;

    if (n == NULL) {
        return;
    }
    if ((t = _rep_xml_text(value)) == NULL
        || xmlNewProp(n, BAD_CAST name, BAD_CAST t) == NULL)
    {
        b->oom = 1;
    }
    free(t);
}

/* A growing text for additionalInfo; buf is "" until said to. */
typedef struct {
    char   *buf;
    size_t  len;
    size_t  cap;
    int     oom;
} rep_text_t;

static void
_t_reset(rep_text_t *t)
{
    t->len = 0;
    if (t->buf != NULL) {
        t->buf[0] = '\0';
    }
}

static void
_say(rep_text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
_say(rep_text_t *t, const char *fmt, ...)
{
    va_list  ap;
    int      n;
    char    *nb;
    size_t   need;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    need = t->len + (size_t) n + 1;
    if (need > t->cap) {
        need = need < 1024 ? 1024 : 2 * need;
        if ((nb = realloc(t->buf, need)) == NULL) {
            t->oom = 1;
            return;
        }
        t->buf = nb;
        t->cap = need;
    }
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t) n;
}

/* The mail's sender, or NULL for the null sender. */
static const char *
_rep_sender(const hg_evrec_t *r)
{
    const char  *s = r->mail_from;

    if (s == NULL || s[0] == '\0' || strcmp(s, "<>") == 0) {
        return NULL;
    }
    return s;
}

/* An address without the angle brackets of the SMTP envelope. */
static void
_rep_addr(const char *s, char *out, size_t outlen)
{
    size_t  n = strlen(s);

    if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
        snprintf(out, outlen, "%.*s", (int) (n - 2), s + 1);
    } else {
        snprintf(out, outlen, "%s", s);
    }
}

static void
_rep_url(const hg_evrec_t *r, const rep_conf_t *conf, char *out,
         size_t outlen)
{
    snprintf(out, outlen, "%s://%s%s", conf->web_scheme,
             r->host ? r->host : "unknown-host", r->uri ? r->uri : "/");
}

static void
_ip_event(rep_build_t *b, xmlNodePtr parent, const char *addr, int64_t ms)
{
    xmlNodePtr  ev;
    char        t[40];

    if (addr == NULL || addr[0] == '\0') {
        return;
    }
    rep_time(ms, t, sizeof(t));
    ev = _box(b, parent, "ipCaptureEvent");
    _el(b, ev, "ipAddress", addr);
    _el(b, ev, "eventName", "Upload");
    _el(b, ev, "dateTime", t);
}

/*
 * The rest of a PDQ match's sentence: it is a near match, not the same
 * bytes, so the draft says how near (the distance in bits of 256), the
 * image's PDQ hash that came nearest with its quality, and the entry
 * matched with the list's quality for it.
 */
static void
_rep_pdq(rep_text_t *t, const hg_evrec_t *r, const hg_evrec_match_t *m)
{
    const char  *hash = m->digest ? m->digest : r->image_pdq;

    _say(t, " by the image's PDQ perceptual hash");
    if (hash != NULL) {
        _say(t, " %s", hash);
    }
    if (m->dihedral != NULL) {
        _say(t, " (of the image turned %s)", m->dihedral);
    }
    if (r->has_image_quality) {
        _say(t, ", quality %" PRIu64, r->image_quality);
    }
    if (m->has_distance) {
        _say(t, ", at a distance of %" PRIu64 " bits of 256", m->distance);
    }
    _say(t, " from the listed PDQ hash %s",
         m->listed_pdq ? m->listed_pdq : "(not recorded)");
    if (m->has_listed_quality) {
        _say(t, " (quality %" PRIu64 " as listed)", m->listed_quality);
    }
    _say(t, ". A PDQ match is a similar image, not necessarily the same "
         "file.");
}

/* One matched file in a sentence: names, size, digests, lists. */
static void
_rep_file_summary(rep_text_t *t, const hg_evrec_t *r, size_t i)
{
    const hg_evrec_digests_t  *d = &r->d;
    size_t                     k;

    _say(t, " File %zu:", i + 1);
    if (r->filename != NULL) {
        _say(t, " \"%s\",", r->filename);
    }
    if (r->ncontainers > 0) {
        _say(t, " at \"%s\" inside the %s archive that was part %s,",
             r->inner_path ? r->inner_path : "?",
             r->containers[0].format ? r->containers[0].format : "?",
             r->containers[0].path ? r->containers[0].path : "?");
    } else {
        _say(t, " part %s,", r->part ? r->part : "(the whole body)");
    }
    if (d->has_size) {
        _say(t, " %" PRIu64 " bytes,", d->size);
    }
    if (d->md5) {
        _say(t, " MD5 %s", d->md5);
    }
    if (d->sha1) {
        _say(t, " SHA1 %s", d->sha1);
    }
    if (d->sha256) {
        _say(t, " SHA256 %s", d->sha256);
    }
    _say(t, "; matched");
    for (k = 0; k < r->nlists; k++) {
        _say(t, "%s \"%s\"%s%s%s by %s", k ? "," : "", r->lists[k].list,
             r->lists[k].version && r->lists[k].version[0] ? " (version " : "",
             r->lists[k].version && r->lists[k].version[0]
             ? r->lists[k].version : "",
             r->lists[k].version && r->lists[k].version[0] ? ")" : "",
             r->lists[k].algorithm);
        if (rep_match_is_pdq(&r->lists[k]) && r->lists[k].has_distance) {
            _say(t, " at distance %" PRIu64, r->lists[k].distance);
        }
    }
    _say(t, ".");
}

static void
_rep_report(rep_build_t *b, xmlNodePtr root, const rep_incident_t *inc,
            const hg_evrec_t *const *files, size_t nfiles,
            const rep_conf_t *conf)
{
    const hg_evrec_t  *r = files[0];
    xmlNodePtr         rep, n, m, p;
    rep_text_t         t = { NULL, 0, 0, 0 };
    char               time[40], addr[1024], url[8192], *refs;
    const char        *s, *sender = _rep_sender(r);
    size_t             i;

    rep = _box(b, root, "report");

    n = _box(b, rep, "incidentSummary");
    _el(b, n, "incidentType", REP_INCIDENT_TYPE);
    rep_time(inc->first_ms, time, sizeof(time));
    _el(b, n, "incidentDateTime", time);

    n = _box(b, rep, "internetDetails");
    _t_reset(&t);
    if (strcmp(inc->channel, "smtp") == 0) {
        m = _box(b, n, "emailIncident");
        if (sender != NULL) {
            _rep_addr(sender, addr, sizeof(addr));
            _el(b, m, "emailAddress", addr);
        }
        _say(&t, "A mail received over SMTP");
        if (r->queue_id != NULL) {
            _say(&t, ", Postfix queue ID %s", r->queue_id);
        }
        if (r->message_id != NULL) {
            _say(&t, ", Message-ID %s", r->message_id);
        }
        _say(&t, ". Envelope sender: %s.", sender ? sender : "none (<>)");
        if (r->nrcpt > 0) {
            _say(&t, " Envelope recipients:");
            for (i = 0, s = r->rcpt_to; i < r->nrcpt; i++, s += strlen(s) + 1) {
                _say(&t, "%s %s", i ? "," : "", s);
            }
            _say(&t, ".");
        }
        if (r->client_addr != NULL) {
            _say(&t, " SMTP client %s [%s]", r->client_name ? r->client_name
                 : "unknown", r->client_addr);
            if (r->helo != NULL) {
                _say(&t, ", HELO %s", r->helo);
            }
            _say(&t, " (the host that handed the mail to this server).");
        }
    } else {
        m = _box(b, n, "webPageIncident");
        _rep_url(r, conf, url, sizeof(url));
        _el(b, m, "url", url);
        _say(&t, "An HTTP upload (%s %s), request ID %s.",
             r->method ? r->method : "?", url, r->request_id);
    }
    _say(&t, " What was done with it: %s.", r->action ? r->action : "?");
    if (r->monitor) {
        _say(&t, " (Monitor mode: it was let through and only recorded.)");
    }
    _el(b, m, "additionalInfo", t.buf);

    n = _box(b, rep, "reporter");
    m = _box(b, n, "reportingPerson");
    _el(b, m, "firstName", conf->first_name);
    _el(b, m, "lastName", conf->last_name);
    _el(b, m, "phone", conf->phone);
    _el(b, m, "email", conf->email);
    _t_reset(&t);
    _say(&t, "%s", conf->company);
    if (conf->company_template != NULL) {
        _say(&t, "\n%s", conf->company_template);
    }
    _el(b, n, "companyTemplate", t.buf);
    _el(b, n, "termsOfService", conf->terms_of_service);
    _el(b, n, "legalURL", conf->legal_url);

    if (sender != NULL || r->client_addr != NULL || conf->esp_service) {
        n = _box(b, rep, "personOrUserReported");
        if (sender != NULL) {
            m = _box(b, n, "personOrUserReportedPerson");
            _rep_addr(sender, addr, sizeof(addr));
            _el(b, m, "email", addr);
        }
        _el(b, n, "espService", conf->esp_service);
        _ip_event(b, n, r->client_addr, inc->first_ms);
        if (sender != NULL) {
            _el(b, n, "additionalInfo", "The email address is the mail's "
                "envelope sender, which the sending host stated and which "
                "may be forged.");
        }
    }

    for (i = 0, s = r->rcpt_to; strcmp(inc->channel, "smtp") == 0
         && i < r->nrcpt; i++, s += strlen(s) + 1)
    {
        n = _box(b, rep, "intendedRecipient");
        p = _box(b, n, "intendedRecipientPerson");
        _rep_addr(s, addr, sizeof(addr));
        _el(b, p, "email", addr);
    }

    refs = rep_record_refs(files, nfiles);
    if (refs == NULL) {
        b->oom = 1;
        free(t.buf);
        return;
    }
    _t_reset(&t);
    _say(&t, "Drafted by hashgate %s from its evidence records (which "
         "hold digests, never content): %zu file%s matched a list of "
         "known material by digest; nobody at the reporting company has "
         "viewed %s. Records: %s.", HG_VERSION, nfiles,
         nfiles == 1 ? "" : "s", nfiles == 1 ? "it" : "them", refs);
    free(refs);
    /* each file here too: a report sent without uploads (nothing was
     * held) still names every file by its digests */
    for (i = 0; i < nfiles; i++) {
        _rep_file_summary(&t, files[i], i);
    }
    if (t.oom) {
        b->oom = 1;
    }
    _el(b, rep, "additionalInfo", t.buf);
    free(t.buf);
}

static void
_rep_hashes(rep_build_t *b, xmlNodePtr fd, const hg_evrec_digests_t *d)
{
    xmlNodePtr  h;

    if (d->md5 != NULL) {
        h = _el(b, fd, "originalFileHash", d->md5);
        _attr(b, h, "hashType", "MD5");
    }
    if (d->sha1 != NULL) {
        h = _el(b, fd, "originalFileHash", d->sha1);
        _attr(b, h, "hashType", "SHA1");
    }
    if (d->sha256 != NULL) {
        h = _el(b, fd, "originalFileHash", d->sha256);
        _attr(b, h, "hashType", "SHA256");
    }
}

/* One matched file; -1 (why set) when it cannot be drafted. */
static int
_rep_file(rep_build_t *b, xmlNodePtr root, const hg_evrec_t *r, size_t i,
          const rep_conf_t *conf, char *why, size_t wlen)
{
    xmlNodePtr   f, fd;
    rep_text_t   t = { NULL, 0, 0, 0 };
    char         ref[80], name[160], time[40], url[8192], where[600];
    size_t       k;

    if (rep_upload_ref(r, ref, sizeof(ref)) != 0) {
        snprintf(why, wlen, "%s:%" PRIu64 ": the record has no digest to "
                 "find the file's bytes by", r->file, r->line);
        return -1;
    }
    rep_upload_name(r, i, name, sizeof(name));
    snprintf(where, sizeof(where), "%s:%" PRIu64, r->file, r->line);
    f = _box(b, root, "file");
    _attr(b, f, "upload", ref);
    _attr(b, f, "uploadName", name);
    _attr(b, f, "records", where);
    fd = _box(b, f, "fileDetails");
    _el(b, fd, "fileName", name);
    if (r->ncontainers == 0) {
        _el(b, fd, "originalFileName", r->filename);
    }
    rep_time(r->time_ms, time, sizeof(time));
    _el(b, fd, "uploadedToEspTimestamp", time);
    if (strcmp(r->channel, "http") == 0) {
        _rep_url(r, conf, url, sizeof(url));
        _el(b, fd, "locationOfFile", url);
    }
    _el(b, fd, "fileViewedByEsp", "false");
    _el(b, fd, "publiclyAvailable", "false");
    /* the hashes of the bytes uploaded: the file, or its outermost archive */
    _rep_hashes(b, fd, r->ncontainers > 0 ? &r->containers[0].d : &r->d);
    if (strcmp(r->channel, "smtp") != 0 || r->client_addr != NULL) {
        _ip_event(b, fd, r->client_addr, r->time_ms);
    }
    for (k = 0; k < r->nlists; k++) {
        _t_reset(&t);
        _say(&t, "Matched the list \"%s\"", r->lists[k].list);
        if (r->lists[k].version != NULL && r->lists[k].version[0] != '\0') {
            _say(&t, " (version %s)", r->lists[k].version);
        }
        if (rep_match_is_pdq(&r->lists[k])) {
            _rep_pdq(&t, r, &r->lists[k]);
            _el(b, fd, "additionalInfo", t.buf);
            continue;
        }
        _say(&t, " by its %s digest", r->lists[k].algorithm);
        if (r->lists[k].digest != NULL) {
            _say(&t, " %s", r->lists[k].digest);
        }
        _say(&t, ".");
        /* what the list gives for the same file, not computed here */
        if (r->lists[k].listed.md5 != NULL) {
            _say(&t, " The list gives its MD5 as %s (listed, not computed).",
                 r->lists[k].listed.md5);
        }
        if (r->lists[k].listed.sha1 != NULL) {
            _say(&t, " The list gives its SHA1 as %s (listed, not computed).",
                 r->lists[k].listed.sha1);
        }
        if (r->lists[k].listed.sha256 != NULL) {
            _say(&t, " The list gives its SHA256 as %s (listed, not "
                 "computed).", r->lists[k].listed.sha256);
        }
        _el(b, fd, "additionalInfo", t.buf);
    }
    if (r->ncontainers > 0) {
        _t_reset(&t);
        _say(&t, "The listed file is inside this archive: at \"%s\"",
             r->inner_path ? r->inner_path : "?");
        for (k = 1; k < r->ncontainers; k++) {
            _say(&t, "%s \"%s\" (%s)", k == 1 ? " of" : ", in",
                 r->containers[k].path ? r->containers[k].path : "?",
                 r->containers[k].format ? r->containers[k].format : "?");
        }
        _say(&t, "; its name \"%s\"", r->filename ? r->filename : "?");
        if (r->d.has_size) {
            _say(&t, ", %" PRIu64 " bytes", r->d.size);
        }
        if (r->d.md5) {
            _say(&t, ", MD5 %s", r->d.md5);
        }
        if (r->d.sha1) {
            _say(&t, ", SHA1 %s", r->d.sha1);
        }
        if (r->d.sha256) {
            _say(&t, ", SHA256 %s", r->d.sha256);
        }
        _say(&t, ". The archive was part %s (%s).",
             r->containers[0].path ? r->containers[0].path : "?",
             r->containers[0].format ? r->containers[0].format : "?");
        _el(b, fd, "additionalInfo", t.buf);
    }
    _t_reset(&t);
    _say(&t, "%s %s", strcmp(r->channel, "smtp") == 0 ? "Mail part"
         : "Upload part", r->part ? r->part : "(the whole body)");
    if (r->ncontainers == 0 && r->d.has_size) {
        _say(&t, ", %" PRIu64 " bytes", r->d.size);
    }
    if (r->declared_type) {
        _say(&t, ", declared type %s", r->declared_type);
    }
    if (r->detected_type) {
        _say(&t, ", type by its content %s", r->detected_type);
    }
    if (r->encoding) {
        _say(&t, ", transfer encoding %s", r->encoding);
    }
    _say(&t, ". Action: %s", r->action ? r->action : "?");
    if (r->intended_action) {
        _say(&t, " (intended: %s)", r->intended_action);
    }
    if (r->held_at) {
        _say(&t, "; held at %s", r->held_at);
    }
    _say(&t, ". Evidence record %s.", where);
    if (t.oom) {
        b->oom = 1;
    }
    _el(b, fd, "additionalInfo", t.buf);
    free(t.buf);
    return 0;
}

int
rep_xml_draft(rep_xml_t *x, const rep_incident_t *inc, const rep_filter_t *f,
              const rep_conf_t *conf, char **out, size_t *len, char *why,
              size_t wlen)
{
    const hg_evrec_t  **files;
    rep_build_t         b = { .oom = 0 };
    xmlDocPtr           doc;
    xmlNodePtr          root;
    xmlChar            *mem = NULL;
    char               *refs, gen[64], inner[HG_ERR_MAX];
    size_t              n, i;
    int                 mlen = 0, rc = -1;

    *out = NULL;
    *len = 0;
    files = calloc(inc->nrecs + 1, sizeof(*files));
    if (files == NULL) {
        snprintf(why, wlen, "out of memory");
        return -1;
    }
    n = rep_files(inc, f, files);
    if (n == 0) {
        snprintf(why, wlen, "no matched file to report");
        free(files);
        return -1;
    }
    doc = xmlNewDoc(BAD_CAST "1.0");
    root = doc ? xmlNewNode(NULL, BAD_CAST "cybertipDraft") : NULL;
    if (root == NULL) {
        snprintf(why, wlen, "out of memory");
        xmlFreeDoc(doc);
        free(files);
        return -1;
    }
    xmlDocSetRootElement(doc, root);
    _attr(&b, root, "incident", inc->key);
    _attr(&b, root, "channel", inc->channel);
    snprintf(gen, sizeof(gen), "hashgate %s", HG_VERSION);
    _attr(&b, root, "generator", gen);
    /* --submit needs the held item's bytes; without a hold there are none */
    for (i = 0; i < inc->nrecs; i++) {
        if (inc->recs[i]->action && strcmp(inc->recs[i]->action, "hold") == 0) {
            break;
        }
    }
    _attr(&b, root, "held", i < inc->nrecs ? "true" : "false");
    _rep_report(&b, root, inc, files, n, conf);
    for (i = 0; i < n; i++) {
        if (_rep_file(&b, root, files[i], i, conf, why, wlen) != 0) {
            goto done;
        }
    }
    if (b.oom) {
        snprintf(why, wlen, "out of memory");
        goto done;
    }
    xmlDocDumpFormatMemoryEnc(doc, &mem, &mlen, "UTF-8", 1);
    if (mem == NULL || mlen <= 0) {
        snprintf(why, wlen, "out of memory");
        goto done;
    }
    if (rep_xml_validate(x, (const char *) mem, (size_t) mlen,
                         "cybertipDraft", inner, sizeof(inner)) != 0)
    {
        refs = rep_record_refs(files, n);
        snprintf(why, wlen, "the draft from records %s is %s",
                 refs ? refs : "?", inner);
        free(refs);
        goto done;
    }
    if ((*out = malloc((size_t) mlen + 1)) == NULL) {
        snprintf(why, wlen, "out of memory");
        goto done;
    }
    memcpy(*out, mem, (size_t) mlen);
    (*out)[mlen] = '\0';
    *len = (size_t) mlen;
    rc = 0;
done:
    xmlFree(mem);
    xmlFreeDoc(doc);
    free(files);
    return rc;
}
