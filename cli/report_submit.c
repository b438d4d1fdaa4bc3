/*
 * report_submit.c - hashgate report --submit: a reviewed draft to NCMEC's
 * CyberTipline reporting API, step by step, never twice.
 *
 * The steps are the API's: POST /submit the <report> (the answer gives the
 * report ID), for each file POST /upload its bytes (a file ID), POST
 * /fileinfo its <fileDetails> with both IDs, then POST /finish. Each answer
 * is written to the state journal (report_state.c, fsync'ed) before the
 * next step, so a run that stops anywhere resumes at the step that did
 * not finish, and nothing the service holds is sent again. "submitting"
 * is written before /submit goes out: when no answer comes back (the
 * connection lost after sending), nobody knows whether the service opened
 * a report, and the incident is not submitted again until a person has
 * checked (--resubmit). A report begun can be retracted (POST /retract).
 *
 * What is sent is the draft as written and read by a person, checked
 * against the schema again (the report, and each file's details once its
 * IDs are in). The bytes uploaded are found in the preserved item
 * (hashgate preserve) by their digest before the report is opened, so a
 * missing item never leaves a report half sent. An incident that was not
 * held has no bytes anywhere: its report goes without files, their
 * digests in its text.
 *
 * Credentials come from a file only root may read; plain http is only
 * allowed to the local host (a test stand-in). Redirects are not followed.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "hashgate/hash.h"
#include "preserve.h"
#include "report.h"
#include "util.h"

/* NCMEC's response codes that mean "done already" (its documentation). */
#define CT_ALREADY_RETRACTED  5101
#define CT_ALREADY_FINISHED   5102

/* Longest answer read: the service answers in a few hundred bytes. */
#define CT_ANSWER_MAX  (256 * 1024)

typedef struct {
    CURL       *curl;
    char        base[2048];
    char        user[256];
    char        pass[256];
} ct_t;

typedef struct {
    char       *buf;
    size_t      len;
    int         over;
} ct_buf_t;

/* What an answer said. */
typedef struct {
    long        http;           /* HTTP status, 0 if none came */
    int         have_code;
    long        code;           /* responseCode */
    char        desc[256];      /* responseDescription */
    char        report_id[64];
    char        file_id[256];
    char        hash[80];
    int         nfiles;         /* reportDoneResponse's files/fileId */
} ct_answer_t;

/* One file of a draft. */
typedef struct {
    char        ref[80];
    char        name[256];
    xmlNodePtr  details;        /* the draft's <fileDetails> */
    rep_want_t  want;
} ct_file_t;

/* ---- credentials ---- */

static int
_ct_credentials(const char *path, ct_t *c)
{
    struct stat  sb;
    FILE        *fp;
    char         line[600], *k, *v, *e;
    unsigned     lineno = 0;
    int          fd;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0) {
        cli_error("report: %s: cannot open the credentials: %s", path,
                  strerror(errno));
        return -1;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        cli_error("report: %s: not a regular file", path);
        close(fd);
        return -1;
    }
    /* others must never have read the password: refuse, do not fix */
    if (sb.st_uid != geteuid() || (sb.st_mode & 0077) != 0) {
        cli_error("report: %s: the credentials must be readable by %s only "
                  "(owner uid %u, mode %04o): chmod 0600 and chown it",
                  path, geteuid() == 0 ? "root" : "their owner",
                  (unsigned) sb.st_uid, (unsigned) (sb.st_mode & 07777));
        close(fd);
        return -1;
    }
    if ((fp = fdopen(fd, "r")) == NULL) {
        close(fd);
        cli_error("report: %s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), fp) != NULL) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        for (k = line; *k == ' ' || *k == '\t'; k++) {
        }
        if (*k == '\0' || *k == '#') {
            continue;
        }
        for (v = k; *v && *v != ' ' && *v != '\t'; v++) {
        }
        if (*v) {
            *v++ = '\0';
        }
        while (*v == ' ' || *v == '\t') {
            v++;
        }
        for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--) {
        }
        *e = '\0';
        if (strcmp(k, "Username") == 0 && *v && strlen(v) < sizeof(c->user)) {
            memcpy(c->user, v, strlen(v) + 1);
        } else if (strcmp(k, "Password") == 0 && *v
                   && strlen(v) < sizeof(c->pass))
        {
            memcpy(c->pass, v, strlen(v) + 1);
        } else {
            /* the line is never echoed: it may hold the password */
            cli_error("report: %s:%u: not \"Username NAME\" or \"Password "
                      "WORD\"", path, lineno);
            fclose(fp);
            return -1;
        }
    }
    fclose(fp);
    if (c->user[0] == '\0' || c->pass[0] == '\0') {
        cli_error("report: %s: needs a Username and a Password line", path);
        return -1;
    }
    return 0;
}

/* https anywhere; http only to this host (a stand-in for tests). */
static int
_ct_endpoint_ok(const char *u)
{
    const char  *h;

    if (strncmp(u, "https://", 8) == 0) {
        return 1;
    }
    if (strncmp(u, "http://", 7) != 0) {
        return 0;
    }
    h = u + 7;
    return strncmp(h, "127.0.0.1:", 10) == 0 || strncmp(h, "127.0.0.1/", 10) == 0
           || strncmp(h, "[::1]:", 6) == 0 || strncmp(h, "localhost:", 10) == 0;
}

/* ---- HTTP ---- */

static size_t
_ct_write(char *p, size_t size, size_t n, void *data)
{
    ct_buf_t  *b = data;
    size_t     len = size * n;
    char      *nb;

    if (b->len + len > CT_ANSWER_MAX) {
        b->over = 1;
        return 0;
    }
    nb = realloc(b->buf, b->len + len + 1);
    if (nb == NULL) {
        return 0;
    }
    b->buf = nb;
    memcpy(b->buf + b->len, p, len);
    b->len += len;
    b->buf[b->len] = '\0';
    return len;
}

/* The text of the first element named name under node (depth first). */
static const xmlNode *
_ct_find(const xmlNode *node, const char *name)
{
    const xmlNode  *c, *f;

    for (c = node; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) {
            continue;
        }
        if (strcmp((const char *) c->name, name) == 0) {
            return c;
        }
        if ((f = _ct_find(c->children, name)) != NULL) {
            return f;
        }
    }
    return NULL;
}

static void
_ct_text(const xmlNode *root, const char *name, char *out, size_t outlen)
{
    const xmlNode  *n = _ct_find(root, name);
    xmlChar        *t;

    out[0] = '\0';
    if (n != NULL && (t = xmlNodeGetContent(n)) != NULL) {
        snprintf(out, outlen, "%s", (const char *) t);
        xmlFree(t);
    }
}

/* Read an answer's XML (reportResponse, reportDoneResponse). */
static void
_ct_parse(const ct_buf_t *b, ct_answer_t *a)
{
    xmlDocPtr       doc;
    const xmlNode  *root, *files, *c;
    char            code[32], *end;

    if (b->buf == NULL || b->len == 0) {
        return;
    }
    doc = xmlReadMemory(b->buf, (int) b->len, "answer.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR
                        | XML_PARSE_NOWARNING);
    if (doc == NULL) {
        return;
    }
    root = xmlDocGetRootElement(doc);
    _ct_text(root, "responseCode", code, sizeof(code));
    if (code[0] != '\0') {
        a->code = strtol(code, &end, 10);
        a->have_code = *end == '\0';
    }
    _ct_text(root, "responseDescription", a->desc, sizeof(a->desc));
    _ct_text(root, "reportId", a->report_id, sizeof(a->report_id));
    _ct_text(root, "fileId", a->file_id, sizeof(a->file_id));
    _ct_text(root, "hash", a->hash, sizeof(a->hash));
    files = _ct_find(root, "files");
    for (c = files ? files->children : NULL; c != NULL; c = c->next) {
        a->nfiles += c->type == XML_ELEMENT_NODE
                     && strcmp((const char *) c->name, "fileId") == 0;
    }
    xmlFreeDoc(doc);
}

/*
 * POST to base + path: an XML body (xml, len) or a form (mime). 0 with the
 * answer read (whatever it says), -1 when none came (why set): then the
 * service may or may not have acted.
 */
static int
_ct_post(ct_t *c, const char *path, const char *xml, size_t len,
         curl_mime *mime, ct_answer_t *a, char *why, size_t wlen)
{
    struct curl_slist  *hdrs = NULL;
    ct_buf_t            b = { NULL, 0, 0 };
    char                url[2200], errbuf[CURL_ERROR_SIZE];
    CURLcode            rc;

    memset(a, 0, sizeof(*a));
    snprintf(url, sizeof(url), "%s%s", c->base, path);
    curl_easy_reset(c->curl);
    errbuf[0] = '\0';
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);
    /*
     * A connection of its own per step: libcurl sends a request again by
     * itself when a reused connection closes without an answer, and a
     * /submit the service had acted on would then open a second report.
     */
    curl_easy_setopt(c->curl, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(c->curl, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(c->curl, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
    curl_easy_setopt(c->curl, CURLOPT_USERNAME, c->user);
    curl_easy_setopt(c->curl, CURLOPT_PASSWORD, c->pass);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, 30L);
    /* an upload may be large: give up only when it stalls */
    curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_TIME, 120L);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, _ct_write);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "hashgate-report");
    if (xml != NULL) {
        hdrs = curl_slist_append(hdrs, "Content-Type: text/xml; charset=utf-8");
        curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, xml);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t) len);
    } else {
        curl_easy_setopt(c->curl, CURLOPT_MIMEPOST, mime);
    }
    rc = curl_easy_perform(c->curl);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK) {
        snprintf(why, wlen, "POST %.1024s: %s", url, errbuf[0] ? errbuf
                 : curl_easy_strerror(rc));
        free(b.buf);
        return -1;
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &a->http);
    _ct_parse(&b, a);
    free(b.buf);
    return 0;
}

/* A step's answer is success: HTTP 200 and responseCode 0 (or one of ok). */
static int
_ct_ok(const ct_answer_t *a, long also_ok)
{
    return a->http == 200 && a->have_code
           && (a->code == 0 || (also_ok != 0 && a->code == also_ok));
}

/* What the service said to a step that did not succeed. */
static void
_ct_say(const char *step, const ct_answer_t *a, char *why, size_t wlen)
{
    if (!a->have_code) {
        snprintf(why, wlen, "%s: the service answered HTTP %ld without a "
                 "responseCode", step, a->http);
        return;
    }
    snprintf(why, wlen, "%s: the service answered HTTP %ld, responseCode "
             "%ld%s%s%s", step, a->http, a->code, a->desc[0] ? " (" : "",
             a->desc, a->desc[0] ? ")" : "");
}

/* A form with the report ID (/upload, /finish, /retract). */
static curl_mime *
_ct_form(ct_t *c, const char *report_id)
{
    curl_mime      *m = curl_mime_init(c->curl);
    curl_mimepart  *p;

    if (m == NULL || (p = curl_mime_addpart(m)) == NULL
        || curl_mime_name(p, "id") != CURLE_OK
        || curl_mime_data(p, report_id, CURL_ZERO_TERMINATED) != CURLE_OK)
    {
        curl_mime_free(m);
        return NULL;
    }
    return m;
}

/* ---- the draft ---- */

/* A node copied into a document of its own, serialized; malloc'd. */
static char *
_ct_serialize(xmlNodePtr node, const char *report_id, const char *file_id,
              size_t *len)
{
    xmlDocPtr   doc;
    xmlNodePtr  root, c, copy;
    xmlChar    *mem = NULL;
    char       *out = NULL;
    int         n = 0;

    doc = xmlNewDoc(BAD_CAST "1.0");
    if (doc == NULL) {
        return NULL;
    }
    root = xmlNewNode(NULL, node->name);
    if (root == NULL) {
        xmlFreeDoc(doc);
        return NULL;
    }
    xmlDocSetRootElement(doc, root);
    /* fileDetails: the IDs first, as NCMEC's schema orders them */
    if (report_id != NULL) {
        xmlNewTextChild(root, NULL, BAD_CAST "reportId", BAD_CAST report_id);
        xmlNewTextChild(root, NULL, BAD_CAST "fileId", BAD_CAST file_id);
    }
    for (c = node->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) {
            continue;
        }
        copy = xmlDocCopyNode(c, doc, 1);
        if (copy == NULL || xmlAddChild(root, copy) == NULL) {
            xmlFreeDoc(doc);
            return NULL;
        }
    }
    xmlDocDumpFormatMemoryEnc(doc, &mem, &n, "UTF-8", 1);
    if (mem != NULL && n > 0 && (out = malloc((size_t) n + 1)) != NULL) {
        memcpy(out, mem, (size_t) n);
        out[n] = '\0';
        *len = (size_t) n;
    }
    xmlFree(mem);
    xmlFreeDoc(doc);
    return out;
}

static xmlNodePtr
_ct_child(xmlNodePtr n, const char *name)
{
    for (n = n ? n->children : NULL; n != NULL; n = n->next) {
        if (n->type == XML_ELEMENT_NODE
            && strcmp((const char *) n->name, name) == 0)
        {
            return n;
        }
    }
    return NULL;
}

static int
_ct_attr(xmlNodePtr n, const char *name, char *out, size_t outlen)
{
    xmlChar  *v = xmlGetProp(n, BAD_CAST name);

    if (v == NULL) {
        return -1;
    }
    snprintf(out, outlen, "%s", (const char *) v);
    xmlFree(v);
    return 0;
}

/* A whole file into memory (a draft: kilobytes). 0, or -1 with errno. */
static int
_ct_slurp(const char *path, char **out, size_t *len)
{
    struct stat  sb;
    ssize_t      n;
    int          fd, e;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        return -1;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)
        || sb.st_size > 64 * 1024 * 1024)
    {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    if ((*out = malloc((size_t) sb.st_size + 1)) == NULL) {
        close(fd);
        errno = ENOMEM;
        return -1;
    }
    n = cli_read_full(fd, *out, (size_t) sb.st_size);
    e = errno;
    close(fd);
    if (n != sb.st_size) {
        free(*out);
        *out = NULL;
        errno = n < 0 ? e : EIO;
        return -1;
    }
    (*out)[n] = '\0';
    *len = (size_t) n;
    return 0;
}

/* ---- one incident ---- */

typedef struct {
    const rep_submit_opts_t *o;
    rep_xml_t      *x;
    rep_state_t    *st;
    ct_t           *c;
    pm_t           *store;      /* NULL when there is none */
} ct_run_t;

/* Find each file's bytes in the incident's preserved item, into dir. */
static int
_ct_prepare(ct_run_t *r, const char *key, int held, ct_file_t *f, size_t nf,
            const char *dir, int *uploads, char *why, size_t wlen)
{
    pm_item_t   *it = r->store ? pm_find_incident(r->store, key, 0) : NULL;
    rep_want_t  *w;
    char         path[PATH_MAX];
    size_t       i;
    int          rc;

    *uploads = 0;
    if (it == NULL) {
        if (held) {
            snprintf(why, wlen, "it was held, but its item is not in the "
                     "evidence store: preserve it first (hashgate preserve "
                     "store), its files are uploaded from there");
            return -1;
        }
        return 0;   /* nothing was held: nothing to upload */
    }
    if ((w = calloc(nf, sizeof(*w))) == NULL) {
        snprintf(why, wlen, "out of memory");
        return -1;
    }
    for (i = 0; i < nf; i++) {
        memcpy(w[i].ref, f[i].ref, sizeof(w[i].ref));
    }
    snprintf(path, sizeof(path), "%s/%s", r->store->items, it->item);
    rc = rep_extract(path, strncmp(key, "smtp/", 5) == 0 ? REP_ITEM_MAIL
                     : REP_ITEM_BODY, w, nf, dir, why, wlen);
    for (i = 0; rc == 0 && i < nf; i++) {
        if (!w[i].found) {
            snprintf(why, wlen, "the preserved item %s does not hold file %zu "
                     "(%s)", it->item, i + 1, f[i].ref);
            rc = -1;
        }
    }
    for (i = 0; i < nf; i++) {
        f[i].want = w[i];
        if (rc != 0) {
            free(w[i].path);
            f[i].want.path = NULL;
        }
    }
    free(w);
    if (rc == 0) {
        *uploads = 1;
    }
    return rc;
}

/* The MD5 of a file, for the service's "hash" answer. */
static void
_ct_md5(const char *path, char *hex)
{
    hg_hash_t     *h = hg_hash_new();
    hg_digests_t   d;
    unsigned char  buf[65536];
    ssize_t        n;
    int            fd = open(path, O_RDONLY | O_CLOEXEC);

    hex[0] = '\0';
    if (fd >= 0 && h != NULL && hg_hash_init(h, HG_ALG_BIT(HG_ALG_MD5)) == HG_OK) {
        while ((n = cli_read_full(fd, buf, sizeof(buf))) > 0) {
            hg_hash_update(h, buf, (size_t) n);
        }
        if (n == 0 && hg_hash_final(h, &d) == HG_OK) {
            hg_hex_encode(d.d[HG_ALG_MD5], 16, hex);
        }
    }
    if (fd >= 0) {
        close(fd);
    }
    hg_hash_free(h);
}

static int
_ct_submit_one(ct_run_t *r, const rep_state_entry_t *se)
{
    const char  *key = se->key;
    xmlDocPtr    doc = NULL;
    xmlNodePtr   root, n;
    ct_file_t   *f = NULL;
    ct_answer_t  a;
    curl_mime   *mime;
    curl_mimepart *part;
    char         why[2048], buf[256], dir[PATH_MAX] = "", idx[24], md5[40];
    char        *xml = NULL;
    size_t       nf = 0, i, len;
    int          rc = -1, held, uploads = 0, prc;

    /* the draft as a person read it, checked again whole before anything
     * is sent: an edit that broke it never leaves a report half sent */
    if (_ct_slurp(se->draft_path, &xml, &len) != 0) {
        cli_error("report: %s: cannot read the draft: %s", se->draft_path,
                  strerror(errno));
        goto done;
    }
    if (rep_xml_validate(r->x, xml, len, "cybertipDraft", why, sizeof(why))
        != 0)
    {
        cli_error("report: %s: the draft is %s", se->draft_path, why);
        goto done;
    }
    doc = xmlReadMemory(xml, (int) len, se->draft_path, "UTF-8",
                        XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    free(xml);
    xml = NULL;
    root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (root == NULL || _ct_attr(root, "incident", buf, sizeof(buf)) != 0
        || strcmp(buf, key) != 0)
    {
        cli_error("report: %s: not the draft of incident %s", se->draft_path,
                  key);
        goto done;
    }
    held = _ct_attr(root, "held", buf, sizeof(buf)) == 0
           && strcmp(buf, "true") == 0;
    for (n = root->children; n != NULL; n = n->next) {
        nf += n->type == XML_ELEMENT_NODE
              && strcmp((const char *) n->name, "file") == 0;
    }
    if (nf > REP_MAX_FILES) {
        cli_error("report: incident %s: %zu files, more than %d", key, nf,
                  REP_MAX_FILES);
        goto done;
    }
    f = calloc(nf + 1, sizeof(*f));
    if (f == NULL) {
        cli_error("report: out of memory");
        goto done;
    }
    for (i = 0, n = root->children; n != NULL; n = n->next) {
        if (n->type != XML_ELEMENT_NODE
            || strcmp((const char *) n->name, "file") != 0)
        {
            continue;
        }
        if (_ct_attr(n, "upload", f[i].ref, sizeof(f[i].ref)) != 0
            || _ct_attr(n, "uploadName", f[i].name, sizeof(f[i].name)) != 0
            || (f[i].details = _ct_child(n, "fileDetails")) == NULL)
        {
            cli_error("report: %s: file %zu lacks what to upload",
                      se->draft_path, i + 1);
            goto done;
        }
        i++;
    }
    xml = _ct_serialize(_ct_child(root, "report"), NULL, NULL, &len);
    if (xml == NULL || rep_xml_validate(r->x, xml, len, "report", why,
                                        sizeof(why)) != 0)
    {
        cli_error("report: %s: its report is %s", se->draft_path,
                  xml ? why : "missing");
        goto done;
    }

    /* the bytes first: a missing item never leaves a report half sent */
    snprintf(dir, sizeof(dir), "/tmp/hashgate-submit-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        cli_error("report: cannot make a temporary directory: %s",
                  strerror(errno));
        dir[0] = '\0';
        goto done;
    }
    if (_ct_prepare(r, key, held, f, nf, dir, &uploads, why, sizeof(why))
        != 0)
    {
        cli_error("report: incident %s: not submitted: %s", key, why);
        goto done;
    }

    if (se->report_id == NULL) {
        if (se->submitting && !r->o->resubmit) {
            cli_error("report: incident %s: an earlier /submit got no answer:"
                      " the service may hold a report of it. Ask NCMEC; if "
                      "it holds none, run again with --resubmit", key);
            goto done;
        }
        if (rep_state_add(r->st, "submitting", key, NULL, NULL) != 0) {
            goto done;
        }
        if (_ct_post(r->c, "/submit", xml, len, NULL, &a, why,
                     sizeof(why)) != 0)
        {
            cli_error("report: incident %s: no answer to /submit (%s): the "
                      "service may have opened a report; not submitted again"
                      " without --resubmit", key, why);
            goto done;
        }
        if (!_ct_ok(&a, 0) || a.report_id[0] == '\0') {
            _ct_say("/submit", &a, why, sizeof(why));
            /* a clear no: nothing was opened, a later run may try again */
            if (a.http != 200 || a.have_code) {
                (void) rep_state_add(r->st, "submit-failed", key, NULL, NULL);
            }
            cli_error("report: incident %s: %s", key, why);
            goto done;
        }
        if (rep_state_add(r->st, "opened", key, a.report_id, NULL) != 0) {
            goto done;
        }
        printf("opened report %s for %s\n", se->report_id, key);
    }

    for (i = 0; uploads && i < nf; i++) {
        if (se->file_id[i] == NULL) {
            mime = _ct_form(r->c, se->report_id);
            part = mime ? curl_mime_addpart(mime) : NULL;
            if (part == NULL || curl_mime_name(part, "file") != CURLE_OK
                || curl_mime_filedata(part, f[i].want.path) != CURLE_OK
                || curl_mime_filename(part, f[i].name) != CURLE_OK)
            {
                curl_mime_free(mime);
                cli_error("report: incident %s: file %zu: cannot read %s", key,
                          i + 1, f[i].want.path);
                goto done;
            }
            prc = _ct_post(r->c, "/upload", NULL, 0, mime, &a, why,
                           sizeof(why));
            curl_mime_free(mime);
            if (prc == 0 && (!_ct_ok(&a, 0) || a.file_id[0] == '\0')) {
                _ct_say("/upload", &a, why, sizeof(why));
                prc = -1;
            }
            if (prc != 0) {
                cli_error("report: incident %s: file %zu: %s", key, i + 1,
                          why);
                goto done;
            }
            _ct_md5(f[i].want.path, md5);
            if (a.hash[0] != '\0' && strcasecmp(a.hash, md5) != 0) {
                cli_error("report: incident %s: file %zu: the service got "
                          "other bytes (MD5 %s, sent %s)", key, i + 1, a.hash,
                          md5);
                goto done;
            }
            snprintf(idx, sizeof(idx), "%zu", i);
            if (rep_state_add(r->st, "uploaded", key, idx, a.file_id) != 0) {
                goto done;
            }
        }
        if (!se->described[i]) {
            free(xml);
            xml = _ct_serialize(f[i].details, se->report_id, se->file_id[i],
                                &len);
            if (xml == NULL || rep_xml_validate(r->x, xml, len, "fileDetails",
                                                why, sizeof(why)) != 0)
            {
                cli_error("report: incident %s: file %zu: its details are %s",
                          key, i + 1, xml ? why : "missing");
                goto done;
            }
            prc = _ct_post(r->c, "/fileinfo", xml, len, NULL, &a, why,
                           sizeof(why));
            if (prc == 0 && !_ct_ok(&a, 0)) {
                _ct_say("/fileinfo", &a, why, sizeof(why));
                prc = -1;
            }
            if (prc != 0) {
                cli_error("report: incident %s: file %zu: %s", key, i + 1,
                          why);
                goto done;
            }
            snprintf(idx, sizeof(idx), "%zu", i);
            if (rep_state_add(r->st, "described", key, idx, NULL) != 0) {
                goto done;
            }
        }
    }

    mime = _ct_form(r->c, se->report_id);
    if (mime == NULL) {
        cli_error("report: out of memory");
        goto done;
    }
    prc = _ct_post(r->c, "/finish", NULL, 0, mime, &a, why, sizeof(why));
    curl_mime_free(mime);
    /* "already finished": a finish whose answer was lost, now resumed */
    if (prc == 0 && !_ct_ok(&a, CT_ALREADY_FINISHED)) {
        _ct_say("/finish", &a, why, sizeof(why));
        prc = -1;
    }
    if (prc != 0) {
        cli_error("report: incident %s: %s", key, why);
        goto done;
    }
    if (rep_state_add(r->st, "finished", key, NULL, NULL) != 0) {
        goto done;
    }
    printf("submitted %s: report %s, %zu file%s uploaded\n", key,
           se->report_id, uploads ? nf : 0, uploads && nf == 1 ? "" : "s");
    if (!uploads && nf > 0) {
        printf("  (nothing of it was held: the files' digests are in the "
               "report, no bytes were uploaded)\n");
    }
    rc = 0;
done:
    for (i = 0; f != NULL && i < nf; i++) {
        if (f[i].want.path != NULL && !f[i].want.is_item) {
            unlink(f[i].want.path);
        }
        free(f[i].want.path);
    }
    if (dir[0] != '\0') {
        rmdir(dir);
    }
    free(f);
    free(xml);
    xmlFreeDoc(doc);
    return rc;
}

static int
_ct_retract_one(ct_run_t *r, const rep_state_entry_t *se)
{
    ct_answer_t  a;
    curl_mime   *mime;
    char         why[1024];
    int          rc;

    if (se->report_id == NULL) {
        cli_error("report: incident %s: no report was opened: nothing to "
                  "retract%s", se->key, se->submitting ? " (an earlier "
                  "/submit got no answer: ask NCMEC)" : "");
        return -1;
    }
    if (se->finished != NULL) {
        cli_error("report: incident %s: report %s was finished on %s: the API "
                  "retracts only a report still open", se->key, se->report_id,
                  se->finished);
        return -1;
    }
    mime = _ct_form(r->c, se->report_id);
    if (mime == NULL) {
        cli_error("report: out of memory");
        return -1;
    }
    rc = _ct_post(r->c, "/retract", NULL, 0, mime, &a, why, sizeof(why));
    curl_mime_free(mime);
    if (rc == 0 && !_ct_ok(&a, CT_ALREADY_RETRACTED)) {
        _ct_say("/retract", &a, why, sizeof(why));
        rc = -1;
    }
    if (rc != 0) {
        cli_error("report: incident %s: %s", se->key, why);
        return -1;
    }
    if (rep_state_add(r->st, "retracted", se->key, NULL, NULL) != 0) {
        return -1;
    }
    printf("retracted %s: report %s\n", se->key, se->report_id);
    return 0;
}

/*
 * Does the state key name this ID? "smtp/QUEUEID/MESSAGE-ID" (a Message-ID
 * may hold '/', so it is the rest of the key) or "http/REQUEST-ID"; a
 * Message-ID is asked for with or without its angle brackets.
 */
static int
_ct_key_has(const char *key, const char *id)
{
    const char  *q, *mid;
    size_t       n = strlen(id), m;

    if (strncmp(key, "http/", 5) == 0) {
        return strcmp(key + 5, id) == 0;
    }
    if (strncmp(key, "smtp/", 5) != 0 || (q = strchr(key + 5, '/')) == NULL) {
        return 0;
    }
    if ((size_t) (q - (key + 5)) == n && strncmp(key + 5, id, n) == 0) {
        return 1;
    }
    mid = q + 1;
    m = strlen(mid);
    return strcmp(mid, id) == 0
           || (m == n + 2 && mid[0] == '<' && mid[m - 1] == '>'
               && strncmp(mid + 1, id, n) == 0);
}

int
rep_submit(const rep_submit_opts_t *o, rep_xml_t *x, rep_state_t *st)
{
    ct_t        c;
    ct_run_t    r;
    pm_t        store;
    struct stat sb;
    size_t      i, n = 0, failed = 0;
    int         have_store = 0;

    memset(&c, 0, sizeof(c));
    if (o->endpoint == NULL || o->credentials == NULL) {
        cli_error("report: --submit needs an endpoint and credentials "
                  "(Endpoint and Credentials in the reporter configuration, "
                  "or --endpoint and --credentials)");
        return CLI_EXIT_ERROR;
    }
    if (!_ct_endpoint_ok(o->endpoint) || strlen(o->endpoint) > 1000) {
        cli_error("report: %s: the endpoint must be https (plain http only "
                  "to 127.0.0.1, for a test stand-in)", o->endpoint);
        return CLI_EXIT_ERROR;
    }
    if (_ct_credentials(o->credentials, &c) != 0) {
        return CLI_EXIT_ERROR;
    }
    snprintf(c.base, sizeof(c.base), "%s", o->endpoint);
    while (strlen(c.base) > 0 && c.base[strlen(c.base) - 1] == '/') {
        c.base[strlen(c.base) - 1] = '\0';
    }
    /* the store is only read; none at all is fine for reports of rejects */
    if (stat(o->store, &sb) == 0) {
        if (pm_open(o->store, 0, (gid_t) -1, &store) != 0) {
            return CLI_EXIT_ERROR;
        }
        if (store.nproblems > 0) {
            cli_error("report: %s: %s; nothing is uploaded from a store that "
                      "fails its check (hashgate preserve verify)", o->store,
                      store.problem[0]);
            pm_close(&store);
            return CLI_EXIT_ERROR;
        }
        have_store = 1;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK
        || (c.curl = curl_easy_init()) == NULL)
    {
        cli_error("report: cannot start libcurl");
        if (have_store) {
            pm_close(&store);
        }
        return CLI_EXIT_ERROR;
    }
    r.o = o;
    r.x = x;
    r.st = st;
    r.c = &c;
    r.store = have_store ? &store : NULL;

    for (i = 0; i < st->n; i++) {
        const rep_state_entry_t  *se = &st->e[i];

        if (o->incident != NULL && !_ct_key_has(se->key, o->incident)) {
            continue;
        }
        if (o->retract) {
            n++;
            failed += _ct_retract_one(&r, se) != 0;
            continue;
        }
        if (se->drafted == NULL || se->finished != NULL
            || se->retracted != NULL)
        {
            if (o->incident != NULL) {
                printf("%s: %s\n", se->key, se->drafted == NULL
                       ? "not drafted" : se->finished ? "submitted before"
                       : "retracted: draft it again (--again) to submit");
            }
            continue;
        }
        n++;
        failed += _ct_submit_one(&r, se) != 0;
    }
    if (o->incident != NULL && n == 0 && o->retract) {
        cli_error("report: no incident %s in the state file", o->incident);
        failed++;
    }
    fprintf(stderr, "hashgate: report: %zu incident%s %s, %zu failed\n", n,
            n == 1 ? "" : "s", o->retract ? "to retract" : "to submit",
            failed);
    curl_easy_cleanup(c.curl);
    curl_global_cleanup();
    memset(c.pass, 0, sizeof(c.pass));
    if (have_store) {
        pm_close(&store);
    }
    return failed == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}
