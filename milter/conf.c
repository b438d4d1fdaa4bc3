/*
 * conf.c - the hashgate-milter configuration file.
 *
 * The format is that of opendkim.conf and clamav-milter.conf: one
 * "Key value" a line, '#' starts a comment, keys are case-insensitive, a
 * value may be put in double quotes, and " #" outside quotes starts a
 * trailing comment. Every key is known here; an unknown
 * key, a bad value or a key given twice (except ListAction) is an error
 * "file:line: reason", so a typo never silently leaves a default in place.
 * Checks that need the system (the user exists, the database opens) are
 * done by main.c, which reports them the same way.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>

#include "hashgate/db_sign.h"
#include "hashgate/hash.h"
#include "hashgate/list_actions.h"
#include "hashgate/syslog_name.h"

#include "milter.h"

#define DEFAULT_REPLY_CODE   "550"
#define DEFAULT_REPLY_XCODE  "5.7.1"
#define DEFAULT_REPLY_TEXT   "Message rejected: it contains content that is not accepted here"
#define DEFAULT_TAG_HEADER   "X-Hashgate"

/* libmilter's own default is 7210 s; Postfix gives up long before. */
#define DEFAULT_TIMEOUT      300

/* The longest a reload interval may be: a day, so a typo shows up. */
#define RELOAD_INTERVAL_MAX  86400

/*
 * Bounds of the archive settings, each far past any sane value so that
 * only a typo hits them: helper processes (each up to HG_INSPECT_MEMORY
 * of address space), files in a message, bytes expanded or of one file
 * (a file larger than the memory it is spooled to is no mail), an
 * expansion ratio, seconds a helper may take on one part (Postfix's
 * milter_content_timeout is 300 s).
 */
#define INSPECT_HELPERS_MAX  64
#define ARCHIVE_FILES_MAX    10000000ULL
#define ARCHIVE_BYTES_MAX    (64ULL << 30)
#define ARCHIVE_RATIO_MAX    1000000
#define ARCHIVE_TIMEOUT_MAX  3600

typedef struct {
    const char     *path;
    unsigned        line;
    hg_err_t       *err;
    uint64_t        seen;   /* bit per key: given once */
} parse_t;

typedef hg_status_t (*setter_t)(parse_t *p, hg_mconf_t *c, const char *v);

typedef struct {
    const char     *name;
    setter_t        set;
    int             repeatable;
} key_t_;

static hg_status_t
_bad(parse_t *p, const char *fmt, const char *v)
{
    char    what[256];

    snprintf(what, sizeof(what), fmt, v);
    return hg_err_set(p->err, HG_EFORMAT, "%s:%u: %s", p->path, p->line, what);
}

static char *
_dup(const char *v)
{
    return strdup(v);
}

static hg_status_t
_set_str(parse_t *p, char **slot, const char *v)
{
    char   *s;

    if (*v == '\0') {
        return _bad(p, "empty value%s", "");
    }
    if ((s = _dup(v)) == NULL) {
        return hg_err_set(p->err, HG_ENOMEM, "%s:%u: out of memory",
                          p->path, p->line);
    }
    free(*slot);
    *slot = s;
    return HG_OK;
}

static hg_status_t
_parse_bool(parse_t *p, const char *v, int *out)
{
    if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1")) {
        *out = 1;
        return HG_OK;
    }
    if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0")) {
        *out = 0;
        return HG_OK;
    }
    return _bad(p, "'%s' is not yes or no", v);
}

/* A decimal number in [min, max], with an optional K/M/G suffix if bytes. */
static hg_status_t
_parse_num(parse_t *p, const char *v, uint64_t min, uint64_t max, int bytes,
           uint64_t *out)
{
    char               *end;
    unsigned long long  n;
    uint64_t            mul = 1;

    if (!isdigit((unsigned char) *v)) {
        return _bad(p, "'%s' is not a number", v);
    }
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno != 0) {
        return _bad(p, "'%s' is out of range", v);
    }
    if (bytes && *end != '\0' && end[1] == '\0') {
        switch (toupper((unsigned char) *end)) {
        case 'K': mul = 1024ULL; end++; break;
        case 'M': mul = 1024ULL * 1024; end++; break;
        case 'G': mul = 1024ULL * 1024 * 1024; end++; break;
        }
    }
    if (*end != '\0') {
        return _bad(p, "'%s' is not a number", v);
    }
    if (n > UINT64_MAX / mul || n * mul < min || n * mul > max) {
        return _bad(p, "'%s' is out of range", v);
    }
    *out = n * mul;
    return HG_OK;
}

/* A plain number in [min, max] into an unsigned setting. */
static hg_status_t
_parse_unsigned(parse_t *p, const char *v, unsigned min, unsigned max,
                unsigned *out)
{
    uint64_t    n;

    if (_parse_num(p, v, min, max, 0, &n) != HG_OK) {
        return HG_EFORMAT;
    }
    *out = (unsigned) n;
    return HG_OK;
}

static hg_status_t
_k_socket(parse_t *p, hg_mconf_t *c, const char *v)
{
    const char *path = NULL;
    const char *at;

    if (!strncasecmp(v, "unix:", 5)) {
        path = v + 5;
    } else if (!strncasecmp(v, "local:", 6)) {
        path = v + 6;
    } else if (!strncasecmp(v, "inet:", 5) || !strncasecmp(v, "inet6:", 6)) {
        const char *port = strchr(v, ':') + 1;
        char       *end;
        long        n;

        n = strtol(port, &end, 10);
        at = end;
        if (end == port || n < 1 || n > 65535
            || (*at != '\0' && *at != '@'))
        {
            return _bad(p, "Socket '%s': expected inet:PORT@HOST", v);
        }
    } else {
        return _bad(p, "Socket '%s': expected unix:PATH, local:PATH, "
                    "inet:PORT@HOST or inet6:PORT@HOST", v);
    }
    if (path != NULL && path[0] != '/') {
        return _bad(p, "Socket '%s': the path must be absolute", v);
    }
    if (path != NULL && strlen(path) >= 108) {
        /* sizeof(sun_path) */
        return _bad(p, "Socket '%s': the path is too long for a unix socket", v);
    }
    if (_set_str(p, &c->socket, v) != HG_OK) {
        return HG_ENOMEM;
    }
    free(c->socket_path);
    c->socket_path = NULL;
    if (path != NULL && _set_str(p, &c->socket_path, path) != HG_OK) {
        return HG_ENOMEM;
    }
    return HG_OK;
}

static hg_status_t
_k_socket_mode(parse_t *p, hg_mconf_t *c, const char *v)
{
    char   *end;
    long    m;

    m = strtol(v, &end, 8);
    if (end == v || *end != '\0' || m < 0 || m > 0777) {
        return _bad(p, "SocketMode '%s': expected an octal mode such as 0660", v);
    }
    c->socket_mode = (int) m;
    return HG_OK;
}

static hg_status_t
_k_socket_group(parse_t *p, hg_mconf_t *c, const char *v)
{
    return _set_str(p, &c->socket_group, v);
}

static hg_status_t
_k_database(parse_t *p, hg_mconf_t *c, const char *v)
{
    return _set_str(p, &c->database, v);
}

/* A message of common/ (list names, actions) as "file:line: Key: reason". */
static hg_status_t
_bad_key(parse_t *p, const char *key, const hg_err_t *e)
{
    return hg_err_set(p->err, HG_EFORMAT, "%s:%u: %s: %s", p->path, p->line,
                      key, e->msg);
}

/* The list name and action rules are nginx's too: hg_policy_list_action. */
static hg_status_t
_k_list_action(parse_t *p, hg_mconf_t *c, const char *v)
{
    const char *sp;
    size_t      n;
    hg_err_t    e;

    sp = v + strcspn(v, " \t");
    n = (size_t) (sp - v);
    if (*sp == '\0' || n == 0) {
        return _bad(p, "ListAction '%s': expected ListAction NAME ACTION", v);
    }
    while (*sp == ' ' || *sp == '\t') {
        sp++;
    }
    if (hg_policy_list_action(&c->policy, v, n, sp, strlen(sp),
                              HG_LIST_ACTIONS_MAIL, c->path, p->line, &e)
        != HG_OK)
    {
        return _bad_key(p, "ListAction", &e);
    }
    return HG_OK;
}

static hg_status_t
_k_default_action(parse_t *p, hg_mconf_t *c, const char *v)
{
    hg_err_t    e;

    if (hg_list_action_parse(v, strlen(v), HG_LIST_ACTIONS_MAIL,
                             &c->policy.default_action, &e) != HG_OK)
    {
        return _bad_key(p, "DefaultAction", &e);
    }
    return HG_OK;
}

static hg_status_t
_k_monitor(parse_t *p, hg_mconf_t *c, const char *v)
{
    return _parse_bool(p, v, &c->policy.monitor);
}

static hg_status_t
_k_reject_reply(parse_t *p, hg_mconf_t *c, const char *v)
{
    const char *x, *t;

    /* "5xx x.y.z text": the codes must agree, the text must be printable */
    if (strlen(v) < 4 || v[0] != '5' || !isdigit((unsigned char) v[1])
        || !isdigit((unsigned char) v[2]) || v[3] != ' ')
    {
        return _bad(p, "RejectReply '%s': expected \"5XX X.Y.Z text\"", v);
    }
    x = v + 4;
    while (*x == ' ') {
        x++;
    }
    t = x + strcspn(x, " ");
    if (x[0] != '5' || x[1] != '.' || (size_t) (t - x) >= sizeof(c->reply_xcode)
        || strspn(x, "0123456789.") != (size_t) (t - x))
    {
        return _bad(p, "RejectReply '%s': expected \"5XX 5.Y.Z text\"", v);
    }
    while (*t == ' ') {
        t++;
    }
    if (*t == '\0' || strlen(t) > HG_REPLY_TEXT_MAX) {
        return _bad(p, "RejectReply '%s': the text is empty or too long", v);
    }
    for (const char *s = t; *s; s++) {
        if ((unsigned char) *s < 0x20 || (unsigned char) *s > 0x7e || *s == '%') {
            return _bad(p, "RejectReply '%s': only printable ASCII without '%%'", v);
        }
    }
    memcpy(c->reply_code, v, 3);
    c->reply_code[3] = '\0';
    memcpy(c->reply_xcode, x, (size_t) (strchr(x, ' ') - x));
    c->reply_xcode[strchr(x, ' ') - x] = '\0';
    return _set_str(p, &c->reply_text, t);
}

static hg_status_t
_k_tag_header(parse_t *p, hg_mconf_t *c, const char *v)
{
    for (const char *s = v; *s; s++) {
        if (*s <= 0x20 || *s >= 0x7f || *s == ':') {
            return _bad(p, "TagHeader '%s' is not a header field name", v);
        }
    }
    return _set_str(p, &c->tag_header, v);
}

/*
 * EvidenceLog, repeatable: one file (an absolute path) and any of
 * syslog[:FACILITY[:SOCKET]] and journald beside it. Whether syslog or
 * journald can be reached is checked when they are opened (-t included).
 */
static hg_status_t
_k_evidence_log(parse_t *p, hg_mconf_t *c, const char *v)
{
    hg_err_t  e;
    size_t    i;

    if (v[0] == '/') {
        if (c->evidence_log != NULL) {
            return _bad(p, "EvidenceLog '%s': one file only; syslog and "
                        "journald may be added beside it", v);
        }
        return _set_str(p, &c->evidence_log, v);
    }
    if (hg_evlog_spec_check(v, &e) != HG_OK) {
        return hg_err_set(p->err, HG_EFORMAT, "%s:%u: EvidenceLog %s",
                          p->path, p->line, e.msg);
    }
    for (i = 0; i < c->nevidence_sinks; i++) {
        if (strcmp(c->evidence_sinks[i], v) == 0) {
            return _bad(p, "EvidenceLog '%s' given twice", v);
        }
    }
    if (c->nevidence_sinks == HG_MILTER_EVIDENCE_SINKS) {
        return _bad(p, "EvidenceLog '%s': at most 4 besides the file", v);
    }
    return _set_str(p, &c->evidence_sinks[c->nevidence_sinks++], v);
}

static hg_status_t
_k_on_fail(parse_t *p, hg_mconf_t *c, const char *v)
{
    if (!strcasecmp(v, "tempfail")) {
        c->policy.on_fail = HG_FAIL_TEMPFAIL;
    } else if (!strcasecmp(v, "accept")) {
        c->policy.on_fail = HG_FAIL_ACCEPT;
    } else {
        return _bad(p, "OnFail '%s': expected tempfail or accept", v);
    }
    /* explicit: it then applies in monitor mode too */
    c->policy.on_fail_set = 1;
    return HG_OK;
}

static hg_status_t
_k_user(parse_t *p, hg_mconf_t *c, const char *v)
{
    const char *colon = strchr(v, ':');

    if (colon == NULL) {
        return _set_str(p, &c->user, v);
    }
    if (colon == v || colon[1] == '\0') {
        return _bad(p, "UserID '%s': expected user or user:group", v);
    }
    free(c->user);
    c->user = strndup(v, (size_t) (colon - v));
    if (c->user == NULL) {
        return hg_err_set(p->err, HG_ENOMEM, "out of memory");
    }
    return _set_str(p, &c->group, colon + 1);
}

/* The trusted keys are read now, so -t and a bad start name this line. */
static hg_status_t
_k_require_signature(parse_t *p, hg_mconf_t *c, const char *v)
{
    hg_err_t     e;
    hg_status_t  st;

    if (v[0] != '/') {
        return _bad(p, "RequireSignature '%s': the path must be absolute", v);
    }
    hg_db_keys_free(c->db_keys);
    c->db_keys = NULL;
    e.msg[0] = '\0';
    if ((st = hg_db_keys_load(v, &c->db_keys, &e)) != HG_OK) {
        return _bad_key(p, "RequireSignature", &e);
    }
    return HG_OK;
}

static hg_status_t
_k_pid_file(parse_t *p, hg_mconf_t *c, const char *v)
{
    if (v[0] != '/') {
        return _bad(p, "PidFile '%s': the path must be absolute", v);
    }
    return _set_str(p, &c->pid_file, v);
}

static hg_status_t
_k_reload_interval(parse_t *p, hg_mconf_t *c, const char *v)
{
    return _parse_unsigned(p, v, 0, RELOAD_INTERVAL_MAX, &c->reload_interval);
}

static hg_status_t
_k_max_depth(parse_t *p, hg_mconf_t *c, const char *v)
{
    return _parse_unsigned(p, v, 1, 10000, &c->limits.max_depth);
}

static hg_status_t
_k_max_parts(parse_t *p, hg_mconf_t *c, const char *v)
{
    return _parse_unsigned(p, v, 1, 10000000, &c->limits.max_parts);
}

static hg_status_t
_k_max_header_bytes(parse_t *p, hg_mconf_t *c, const char *v)
{
    uint64_t    n;

    if (_parse_num(p, v, 1024, 1024ULL * 1024 * 1024, 1, &n) != HG_OK) {
        return HG_EFORMAT;
    }
    c->limits.max_header_bytes = (size_t) n;
    if (c->limits.max_line_bytes > n) {
        c->limits.max_line_bytes = (size_t) n;
    }
    return HG_OK;
}

static hg_status_t
_k_max_message_bytes(parse_t *p, hg_mconf_t *c, const char *v)
{
    uint64_t    n;

    if (_parse_num(p, v, 0, UINT64_MAX, 1, &n) != HG_OK) {
        return HG_EFORMAT;
    }
    c->limits.max_total_bytes = n;
    return HG_OK;
}

/* A word from a table of names (any case) to its number. */
typedef struct {
    const char *name;
    int         value;
} named_t;

#define NNAMED(t) (sizeof(t) / sizeof((t)[0]))

static int
_named(const named_t *t, size_t n, const char *v, int *out)
{
    for (size_t i = 0; i < n; i++) {
        if (!strcasecmp(v, t[i].name)) {
            *out = t[i].value;
            return 1;
        }
    }
    return 0;
}

static hg_status_t
_k_log_level(parse_t *p, hg_mconf_t *c, const char *v)
{
    static const named_t levels[] = {
        { "error", HG_LOG_ERR }, { "warning", HG_LOG_WARNING },
        { "notice", HG_LOG_NOTICE }, { "info", HG_LOG_INFO },
        { "debug", HG_LOG_DEBUG }
    };

    if (_named(levels, NNAMED(levels), v, &c->log_level)) {
        return HG_OK;
    }
    return _bad(p, "LogLevel '%s': expected error, warning, notice, info "
                "or debug", v);
}

static hg_status_t
_k_syslog(parse_t *p, hg_mconf_t *c, const char *v)
{
    return _parse_bool(p, v, &c->syslog);
}

static hg_status_t
_k_syslog_facility(parse_t *p, hg_mconf_t *c, const char *v)
{
    if (hg_syslog_facility(v, strlen(v), &c->syslog_facility) == 0) {
        return HG_OK;
    }
    return _bad(p, "SyslogFacility '%s': expected " HG_SYSLOG_FACILITY_NAMES,
                v);
}

static hg_status_t
_k_detect_types(parse_t *p, hg_mconf_t *c, const char *v)
{
    return _parse_bool(p, v, &c->detect_types);
}

static hg_status_t
_k_timeout(parse_t *p, hg_mconf_t *c, const char *v)
{
    return _parse_unsigned(p, v, 1, 86400, &c->timeout);
}

static hg_status_t
_k_archives(parse_t *p, hg_mconf_t *c, const char *v)
{
    return _parse_bool(p, v, &c->archives);
}

/* off, or the size from which one object's digests are split (hash.h) */
static hg_status_t
_k_parallel_digests(parse_t *p, hg_mconf_t *c, const char *v)
{
    uint64_t    n;

    if (!strcasecmp(v, "off") || !strcasecmp(v, "no")) {
        c->parallel_digests = 0;
        return HG_OK;
    }
    if (_parse_num(p, v, HG_HASH_PAR_MIN_MIN, HG_HASH_PAR_MIN_MAX, 1, &n)
        != HG_OK)
    {
        return _bad(p, "ParallelDigests takes off or a size of 64K to 1G, "
                    "not '%s'", v);
    }
    c->parallel_digests = (size_t) n;
    return HG_OK;
}

static hg_status_t
_k_inspect_helper(parse_t *p, hg_mconf_t *c, const char *v)
{
    if (v[0] != '/') {
        return _bad(p, "InspectHelper '%s': the path must be absolute", v);
    }
    return _set_str(p, &c->inspect_helper, v);
}

static hg_status_t
_k_inspect_helpers(parse_t *p, hg_mconf_t *c, const char *v)
{
    return _parse_unsigned(p, v, 1, INSPECT_HELPERS_MAX,
                           &c->inspect_helpers);
}

/* The same words as nginx's: hg_not_checked_action_parse. */
static hg_status_t
_not_checked(parse_t *p, const char *key, const char *v, hg_action_t *out)
{
    hg_err_t    e;

    if (hg_not_checked_action_parse(v, strlen(v), HG_LIST_ACTIONS_MAIL, out,
                                    &e) != HG_OK)
    {
        return _bad_key(p, key, &e);
    }
    return HG_OK;
}

static hg_status_t
_k_archive_encrypted(parse_t *p, hg_mconf_t *c, const char *v)
{
    return _not_checked(p, "ArchiveEncrypted", v,
                        &c->policy.archive_encrypted);
}

static hg_status_t
_k_archive_unreadable(parse_t *p, hg_mconf_t *c, const char *v)
{
    return _not_checked(p, "ArchiveUnreadable", v,
                        &c->policy.archive_unreadable);
}

/* A record names every container a file was in: at most that many. */
static hg_status_t
_k_archive_max_depth(parse_t *p, hg_mconf_t *c, const char *v)
{
    return _parse_unsigned(p, v, 1, HG_INSPECT_MAX_DEPTH,
                           &c->archive_limits.max_depth);
}

static hg_status_t
_k_archive_max_files(parse_t *p, hg_mconf_t *c, const char *v)
{
    return _parse_num(p, v, 1, ARCHIVE_FILES_MAX, 0,
                      &c->archive_limits.max_files);
}

static hg_status_t
_k_archive_max_bytes(parse_t *p, hg_mconf_t *c, const char *v)
{
    return _parse_num(p, v, 1024, ARCHIVE_BYTES_MAX, 1,
                      &c->archive_limits.max_bytes);
}

static hg_status_t
_k_archive_max_file_bytes(parse_t *p, hg_mconf_t *c, const char *v)
{
    return _parse_num(p, v, 1024, ARCHIVE_BYTES_MAX, 1,
                      &c->archive_limits.max_file_bytes);
}

static hg_status_t
_k_archive_max_ratio(parse_t *p, hg_mconf_t *c, const char *v)
{
    return _parse_unsigned(p, v, 0, ARCHIVE_RATIO_MAX,
                           &c->archive_limits.max_ratio);
}

static hg_status_t
_k_archive_timeout(parse_t *p, hg_mconf_t *c, const char *v)
{
    unsigned    s;

    if (_parse_unsigned(p, v, 1, ARCHIVE_TIMEOUT_MAX, &s) != HG_OK) {
        return HG_EFORMAT;
    }
    c->archive_limits.timeout_ms = s * 1000;
    return HG_OK;
}

/* Here, not in metrics.c: the unit test of this file builds it alone. */
hg_status_t
hg_metrics_parse(const char *spec, hg_metrics_addr_t *a, hg_err_t *err)
{
    const char *port, *host;
    int         v6;
    char       *end;
    long        n;

    memset(a, 0, sizeof(*a));
    if (!strncasecmp(spec, "unix:", 5)) {
        if (spec[5] != '/') {
            return hg_err_set(err, HG_EINVAL, "'%s': the path must be "
                              "absolute", spec);
        }
        if (strlen(spec + 5) >= sizeof(((struct sockaddr_un *) 0)->sun_path)) {
            return hg_err_set(err, HG_EINVAL, "'%s': the path is too long "
                              "for a unix socket", spec);
        }
        a->family = AF_UNIX;
        strcpy(a->path, spec + 5);
        return HG_OK;
    }
    /* inet:PORT@IPV4 or inet6:PORT@IPV6, as the milter's own Socket */
    if (strncasecmp(spec, "inet6:", 6) == 0) {
        v6 = 1;
        port = spec + 6;
    } else if (strncasecmp(spec, "inet:", 5) == 0) {
        v6 = 0;
        port = spec + 5;
    } else {
        return hg_err_set(err, HG_EINVAL, "'%s': expected inet:PORT@ADDRESS, "
                          "inet6:PORT@ADDRESS or unix:PATH", spec);
    }
    n = strtol(port, &end, 10);
    if (end == port || n < 1 || n > 65535 || *end != '@') {
        return hg_err_set(err, HG_EINVAL, "'%s': expected inet%s:PORT@ADDRESS "
                          "(a port of 1 to 65535)", spec, v6 ? "6" : "");
    }
    host = end + 1;
    /* a name would be resolved at start, maybe to another address */
    if (v6) {
        if (inet_pton(AF_INET6, host, &a->in6.sin6_addr) != 1) {
            return hg_err_set(err, HG_EINVAL, "'%s': the address must be an "
                              "IPv6 address such as ::1", spec);
        }
        a->family = AF_INET6;
        a->in6.sin6_family = AF_INET6;
        a->in6.sin6_port = htons((uint16_t) n);
        return HG_OK;
    }
    if (inet_pton(AF_INET, host, &a->in.sin_addr) != 1) {
        return hg_err_set(err, HG_EINVAL, "'%s': the address must be an "
                          "IPv4 address such as 127.0.0.1", spec);
    }
    a->family = AF_INET;
    a->in.sin_family = AF_INET;
    a->in.sin_port = htons((uint16_t) n);
    return HG_OK;
}

static hg_status_t
_k_metrics_listen(parse_t *p, hg_mconf_t *c, const char *v)
{
    hg_metrics_addr_t   a;
    hg_err_t            why;

    if (hg_metrics_parse(v, &a, &why) != HG_OK) {
        return hg_err_set(p->err, HG_EFORMAT, "%s:%u: MetricsListen %s",
                          p->path, p->line, why.msg);
    }
    return _set_str(p, &c->metrics_listen, v);
}

/* Image matching: the values are parsed in common/ (image_conf.h), the
 * same as nginx's hashgate_pdq_* and hashgate_image_* directives. */
typedef hg_status_t (*image_parse_pt)(hg_image_conf_t *, const char *,
                                      size_t, hg_err_t *);

static hg_status_t
_image_key(parse_t *p, const char *key, image_parse_pt parse,
           hg_mconf_t *c, const char *v)
{
    hg_err_t    e;

    if (parse(&c->images, v, strlen(v), &e) != HG_OK) {
        return _bad_key(p, key, &e);
    }
    return HG_OK;
}

static hg_status_t
_k_pdq_images(parse_t *p, hg_mconf_t *c, const char *v)
{
    return _image_key(p, "PdqImages", hg_image_conf_images, c, v);
}

static hg_status_t
_k_pdq_min_quality(parse_t *p, hg_mconf_t *c, const char *v)
{
    return _image_key(p, "PdqMinQuality", hg_image_conf_min_quality, c, v);
}

static hg_status_t
_k_pdq_dihedral(parse_t *p, hg_mconf_t *c, const char *v)
{
    return _image_key(p, "PdqDihedral", hg_image_conf_dihedral, c, v);
}

static hg_status_t
_k_image_max_pixels(parse_t *p, hg_mconf_t *c, const char *v)
{
    return _image_key(p, "ImageMaxPixels", hg_image_conf_max_pixels, c, v);
}

static hg_status_t
_k_image_max_bytes(parse_t *p, hg_mconf_t *c, const char *v)
{
    return _image_key(p, "ImageMaxBytes", hg_image_conf_max_bytes, c, v);
}

static hg_status_t
_k_image_timeout(parse_t *p, hg_mconf_t *c, const char *v)
{
    return _image_key(p, "ImageTimeout", hg_image_conf_timeout, c, v);
}

static hg_status_t
_k_image_limit(parse_t *p, hg_mconf_t *c, const char *v)
{
    hg_err_t    e;

    if (hg_image_conf_limit_action(v, strlen(v), HG_LIST_ACTIONS_MAIL,
                                   &c->policy.image_limit, &e) != HG_OK)
    {
        return _bad_key(p, "ImageLimit", &e);
    }
    return HG_OK;
}

static const key_t_ keys[] = {
    { "Socket",          _k_socket,            0 },
    { "SocketMode",      _k_socket_mode,       0 },
    { "SocketGroup",     _k_socket_group,      0 },
    { "Database",        _k_database,          0 },
    { "ListAction",      _k_list_action,       1 },
    { "DefaultAction",   _k_default_action,    0 },
    { "MonitorOnly",     _k_monitor,           0 },
    { "RejectReply",     _k_reject_reply,      0 },
    { "TagHeader",       _k_tag_header,        0 },
    { "EvidenceLog",     _k_evidence_log,      1 },
    { "OnFail",          _k_on_fail,           0 },
    { "UserID",          _k_user,              0 },
    { "PidFile",         _k_pid_file,          0 },
    { "RequireSignature", _k_require_signature, 0 },
    { "ReloadInterval",  _k_reload_interval,   0 },
    { "MaxDepth",        _k_max_depth,         0 },
    { "MaxParts",        _k_max_parts,         0 },
    { "MaxHeaderBytes",  _k_max_header_bytes,  0 },
    { "MaxMessageBytes", _k_max_message_bytes, 0 },
    { "LogLevel",        _k_log_level,         0 },
    { "Syslog",          _k_syslog,            0 },
    { "SyslogFacility",  _k_syslog_facility,   0 },
    { "DetectTypes",     _k_detect_types,      0 },
    { "MilterTimeout",   _k_timeout,           0 },
    { "Archives",        _k_archives,          0 },
    { "InspectHelper",   _k_inspect_helper,    0 },
    { "InspectHelpers",  _k_inspect_helpers,   0 },
    { "ArchiveEncrypted",  _k_archive_encrypted,  0 },
    { "ArchiveUnreadable", _k_archive_unreadable, 0 },
    { "ArchiveMaxDepth",   _k_archive_max_depth,  0 },
    { "ArchiveMaxFiles",   _k_archive_max_files,  0 },
    { "ArchiveMaxBytes",   _k_archive_max_bytes,  0 },
    { "ArchiveMaxFileBytes", _k_archive_max_file_bytes, 0 },
    { "ArchiveMaxRatio",   _k_archive_max_ratio,  0 },
    { "ArchiveTimeout",    _k_archive_timeout,    0 },
    { "MetricsListen",     _k_metrics_listen,     0 },
    { "ParallelDigests",   _k_parallel_digests,   0 },
    { "PdqImages",         _k_pdq_images,         0 },
    { "PdqMinQuality",     _k_pdq_min_quality,    0 },
    { "PdqDihedral",       _k_pdq_dihedral,       0 },
    { "ImageMaxPixels",    _k_image_max_pixels,   0 },
    { "ImageMaxBytes",     _k_image_max_bytes,    0 },
    { "ImageTimeout",      _k_image_timeout,      0 },
    { "ImageLimit",        _k_image_limit,        0 },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

_Static_assert(sizeof(keys) / sizeof(keys[0]) <= 64,
               "each key needs a bit in parse_t.seen");

static void
_defaults(hg_mconf_t *c)
{
    memset(c, 0, sizeof(*c));
    c->socket_mode = -1;
    hg_policy_init(&c->policy);
    memcpy(c->reply_code, DEFAULT_REPLY_CODE, sizeof(DEFAULT_REPLY_CODE));
    memcpy(c->reply_xcode, DEFAULT_REPLY_XCODE, sizeof(DEFAULT_REPLY_XCODE));
    c->reload_interval = HG_RELOAD_INTERVAL_DEF;
    hg_unpack_limits_default(&c->limits);
    c->limits.max_total_bytes = HG_MAX_MESSAGE_BYTES_DEF;
    c->log_level = HG_LOG_INFO;
    c->syslog = 1;
    c->syslog_facility = LOG_MAIL;
    c->detect_types = 1;
    c->timeout = DEFAULT_TIMEOUT;
    c->archives = 1;
    c->inspect_helpers = HG_INSPECT_HELPERS_DEF;
    hg_inspect_limits_default(&c->archive_limits);
    hg_image_conf_default(&c->images);
}

/* Split one line into key and value in place; 0 if blank or comment. */
static int
_split(char *line, char **key, char **val)
{
    char   *s = line, *e;

    while (*s == ' ' || *s == '\t') {
        s++;
    }
    if (*s == '\0' || *s == '#') {
        return 0;
    }
    *key = s;
    s += strcspn(s, " \t");
    if (*s != '\0') {
        *s++ = '\0';
    }
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    /* " #" outside double quotes starts a trailing comment */
    for (e = s; *e != '\0'; e++) {
        if (*e == '"') {
            char   *q = strchr(e + 1, '"');

            if (q == NULL) {
                break;
            }
            e = q;
        } else if (*e == '#' && (e[-1] == ' ' || e[-1] == '\t')) {
            *e = '\0';
            break;
        }
    }
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) {
        *--e = '\0';
    }
    if (e - s >= 2 && s[0] == '"' && e[-1] == '"') {
        e[-1] = '\0';
        s++;
    }
    *val = s;
    return 1;
}

hg_status_t
hg_mconf_load(const char *path, hg_mconf_t *c, hg_err_t *err)
{
    FILE       *fp;
    char        line[HG_CONF_LINE_MAX + 2];
    parse_t     p;
    hg_status_t st = HG_OK;

    _defaults(c);
    if ((c->path = strdup(path)) == NULL) {
        return hg_err_set(err, HG_ENOMEM, "out of memory");
    }
    if ((c->reply_text = strdup(DEFAULT_REPLY_TEXT)) == NULL
        || (c->tag_header = strdup(DEFAULT_TAG_HEADER)) == NULL)
    {
        return hg_err_set(err, HG_ENOMEM, "out of memory");
    }
    if ((fp = fopen(path, "r")) == NULL) {
        return hg_err_sys(err, HG_EIO, "%s: cannot open", path);
    }
    memset(&p, 0, sizeof(p));
    p.path = path;
    p.err = err;

    while (fgets(line, sizeof(line), fp) != NULL) {
        char   *key, *val;
        size_t  n = strlen(line), i;

        p.line++;
        if (n > 0 && line[n - 1] == '\n') {
            line[--n] = '\0';
            if (n > 0 && line[n - 1] == '\r') {
                line[--n] = '\0';
            }
        } else if (!feof(fp)) {
            st = _bad(&p, "line longer than %s bytes", "4096");
            break;
        }
        if (!_split(line, &key, &val)) {
            continue;
        }
        for (i = 0; i < NKEYS; i++) {
            if (!strcasecmp(key, keys[i].name)) {
                break;
            }
        }
        if (i == NKEYS) {
            st = _bad(&p, "unknown key '%s'", key);
            break;
        }
        if (*val == '\0') {
            st = _bad(&p, "%s needs a value", keys[i].name);
            break;
        }
        if (!keys[i].repeatable && (p.seen & (1ull << i))) {
            st = _bad(&p, "%s given twice", keys[i].name);
            break;
        }
        p.seen |= 1ull << i;
        if ((st = keys[i].set(&p, c, val)) != HG_OK) {
            break;
        }
    }
    if (st == HG_OK && ferror(fp)) {
        st = hg_err_sys(err, HG_EIO, "%s: read error", path);
    }
    fclose(fp);
    if (st != HG_OK) {
        return st;
    }

    if (c->socket == NULL) {
        return hg_err_set(err, HG_EFORMAT, "%s:%u: Socket is not set",
                          path, p.line);
    }
    if (c->database == NULL) {
        return hg_err_set(err, HG_EFORMAT, "%s:%u: Database is not set",
                          path, p.line);
    }
    if (c->socket_path == NULL && (c->socket_mode != -1 || c->socket_group)) {
        return hg_err_set(err, HG_EFORMAT, "%s:%u: SocketMode and SocketGroup "
                          "apply only to unix sockets", path, p.line);
    }
    /* MonitorOnly without OnFail: failures are accepted (decide.c) */
    hg_policy_finish(&c->policy);
    return HG_OK;
}

void
hg_mconf_free(hg_mconf_t *c)
{
    if (c == NULL) {
        return;
    }
    free(c->path);
    free(c->socket);
    free(c->socket_path);
    free(c->socket_group);
    free(c->database);
    free(c->reply_text);
    free(c->tag_header);
    free(c->evidence_log);
    for (size_t i = 0; i < c->nevidence_sinks; i++) {
        free(c->evidence_sinks[i]);
    }
    free(c->user);
    free(c->group);
    free(c->pid_file);
    free(c->inspect_helper);
    free(c->metrics_listen);
    hg_db_keys_free(c->db_keys);
    memset(c, 0, sizeof(*c));
}
