/*
 * preserve_manifest.c - the evidence store's manifest: append-only and
 * hash-chained, so any edit, removal or swap is found and named.
 *
 * One event a line, tab-separated, fields percent-encoded (report.h):
 *
 *   # hashgate evidence manifest v1 (append-only; ...)
 *   SEQ  PREV  stored   TIME  ITEM  SHA256  SIZE  DELETE-AFTER  HOLD
 *                                   INCIDENT  SOURCE  RECORDS
 *   SEQ  PREV  hold     TIME  ITEM
 *   SEQ  PREV  release  TIME  ITEM
 *   SEQ  PREV  expired  TIME  ITEM
 *
 * SEQ counts events from 1; PREV is the SHA-256 of the whole line before
 * (the header line for the first event). A line edited breaks the chain
 * at the next line; a line removed or inserted breaks it and the count;
 * the last lines removed leave the chain whole, so manifest.head keeps the
 * last event's number and SHA-256 beside it. All of it can be rewritten
 * by someone who can write the store as root; the chain finds mistakes
 * and tampering by anyone else, and the head hash printed by verify can
 * be kept elsewhere (in the report, a ticket) to pin the manifest.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hashgate/atomic_write.h"
#include "hashgate/evread.h"
#include "hashgate/hash.h"
#include "preserve.h"
#include "report.h"
#include "util.h"

#define PM_HEAD  "# hashgate evidence manifest v1 (append-only; each line " \
                 "carries the SHA-256 of the line before it; do not edit)\n"
#define PM_FIELDS  12

static void
_pm_problem(pm_t *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
_pm_problem(pm_t *m, const char *fmt, ...)
{
    char      **np, *s;
    va_list     ap;
    int         n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    np = realloc(m->problem, (m->nproblems + 1) * sizeof(*np));
    if (np == NULL) {
        free(s);
        return;
    }
    m->problem = np;
    m->problem[m->nproblems++] = s;
}

static void
_pm_sha256(const void *buf, size_t len, unsigned char out[32])
{
    hg_hash_t    *h = hg_hash_new();
    hg_digests_t  d;

    memset(out, 0, 32);
    if (h != NULL && hg_hash_init(h, HG_ALG_BIT(HG_ALG_SHA256)) == HG_OK
        && hg_hash_update(h, buf, len) == HG_OK && hg_hash_final(h, &d) == HG_OK)
    {
        memcpy(out, d.d[HG_ALG_SHA256], 32);
    }
    hg_hash_free(h);
}

int
pm_file_sha256(const char *path, char *hex, uint64_t *size)
{
    hg_hash_t     *h;
    hg_digests_t   d;
    unsigned char  buf[CLI_READ_SIZE / 4];
    ssize_t        n;
    int            fd, e;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        return -1;
    }
    h = hg_hash_new();
    if (h == NULL || hg_hash_init(h, HG_ALG_BIT(HG_ALG_SHA256)) != HG_OK) {
        hg_hash_free(h);
        close(fd);
        errno = ENOMEM;
        return -1;
    }
    while ((n = cli_read_full(fd, buf, sizeof(buf))) > 0) {
        hg_hash_update(h, buf, (size_t) n);
    }
    e = errno;
    if (n < 0 || hg_hash_final(h, &d) != HG_OK) {
        hg_hash_free(h);
        close(fd);
        errno = n < 0 ? e : ENOMEM;
        return -1;
    }
    hg_hex_encode(d.d[HG_ALG_SHA256], 32, hex);
    *size = d.size;
    hg_hash_free(h);
    close(fd);
    return 0;
}

pm_item_t *
pm_find(pm_t *m, const char *item)
{
    size_t  i;

    for (i = 0; i < m->n; i++) {
        if (strcmp(m->it[i].item, item) == 0) {
            return &m->it[i];
        }
    }
    return NULL;
}

pm_item_t *
pm_find_incident(pm_t *m, const char *incident, int expired)
{
    size_t  i;

    for (i = m->n; i > 0; i--) {
        if (strcmp(m->it[i - 1].incident, incident) == 0
            && (expired || m->it[i - 1].expired == NULL))
        {
            return &m->it[i - 1];
        }
    }
    return NULL;
}

static int
_pm_dup(char **slot, const char *v)
{
    free(*slot);
    *slot = strdup(v);
    return *slot == NULL ? -1 : 0;
}

/* Apply one event read (or written) at line lineno. -1 on ENOMEM. */
static int
_pm_apply(pm_t *m, char **f, size_t nf, unsigned lineno)
{
    pm_item_t  *it, *ni;
    char       *end;

    it = pm_find(m, f[4]);
    if (strcmp(f[2], "stored") == 0) {
        if (nf != PM_FIELDS) {
            _pm_problem(m, "manifest line %u: a \"stored\" event without its "
                        "%d fields", lineno, PM_FIELDS);
            return 0;
        }
        if (it != NULL) {
            _pm_problem(m, "manifest line %u: item %s stored a second time "
                        "(first on line %u)", lineno, f[4], it->line);
            return 0;
        }
        if (m->n == m->cap) {
            m->cap = m->cap ? m->cap * 2 : 32;
            ni = realloc(m->it, m->cap * sizeof(*ni));
            if (ni == NULL) {
                return -1;
            }
            m->it = ni;
        }
        it = &m->it[m->n];
        memset(it, 0, sizeof(*it));
        it->line = lineno;
        it->size = strtoull(f[6], &end, 10);
        it->hold = strcmp(f[8], "1") == 0;
        if (*end != '\0' || (strcmp(f[8], "0") != 0 && !it->hold)
            || strlen(f[5]) != 64
            || hg_time_parse_rfc3339(f[7], &it->delete_ms) != 0)
        {
            _pm_problem(m, "manifest line %u: a \"stored\" event with a field "
                        "that cannot be read", lineno);
        }
        if (_pm_dup(&it->item, f[4]) || _pm_dup(&it->sha256, f[5])
            || _pm_dup(&it->stored, f[3]) || _pm_dup(&it->delete_after, f[7])
            || _pm_dup(&it->incident, f[9]) || _pm_dup(&it->source, f[10])
            || _pm_dup(&it->records, f[11]))
        {
            return -1;
        }
        m->n++;
        return 0;
    }
    if (nf != 5 || it == NULL) {
        _pm_problem(m, "manifest line %u: %s", lineno, it == NULL
                    ? "an event for an item never stored"
                    : "an event with fields this hashgate does not write");
        return 0;
    }
    if (strcmp(f[2], "hold") == 0) {
        it->hold = 1;
    } else if (strcmp(f[2], "release") == 0) {
        it->hold = 0;
    } else if (strcmp(f[2], "expired") == 0) {
        return _pm_dup(&it->expired, f[3]);
    } else {
        _pm_problem(m, "manifest line %u: an event this hashgate does not "
                    "write (\"%s\")", lineno, f[2]);
    }
    return 0;
}

static int
_pm_hexeq(const unsigned char d[32], const char *hex)
{
    char  h[HG_HEX_MAX];

    hg_hex_encode(d, 32, h);
    return strcmp(h, hex) == 0;
}

/* Read the manifest, checking the chain; problems into m. -1 on ENOMEM. */
static int
_pm_read(pm_t *m)
{
    FILE           *fp;
    char           *line = NULL, *copy = NULL, *f[PM_FIELDS + 1], *end;
    size_t          cap = 0, nf;
    ssize_t         len;
    unsigned        lineno = 0;
    unsigned long long seq;
    int             fd, rc = 0;

    fd = dup(m->fd);
    if (fd < 0 || (fp = fdopen(fd, "r")) == NULL) {
        if (fd >= 0) {
            close(fd);
        }
        cli_error("%s: cannot read: %s", m->path, strerror(errno));
        return -1;
    }
    rewind(fp);
    while ((len = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        m->lines = lineno;
        if (line[len - 1] != '\n') {
            _pm_problem(m, "manifest line %u: the file ends inside it (a "
                        "write that did not finish, or the end cut off)",
                        lineno);
            break;
        }
        if (lineno == 1) {
            if (strcmp(line, PM_HEAD) != 0) {
                _pm_problem(m, "manifest line 1: not the manifest's header "
                            "(edited, or not a manifest)");
            }
            _pm_sha256(line, (size_t) len, m->last);
            continue;
        }
        free(copy);
        if ((copy = strndup(line, (size_t) len - 1)) == NULL) {
            rc = -1;
            break;
        }
        if (memchr(line, '\0', (size_t) len) != NULL
            || rep_field_split(copy, f, PM_FIELDS, &nf) != 0 || nf < 5)
        {
            _pm_problem(m, "manifest line %u: cannot be read (edited?)",
                        lineno);
        } else {
            seq = strtoull(f[0], &end, 10);
            if (*end != '\0' || seq != m->seq + 1) {
                _pm_problem(m, "manifest line %u: event %s where event %"
                            PRIu64 " belongs: events were removed or added "
                            "before it", lineno, f[0], m->seq + 1);
            }
            if (!_pm_hexeq(m->last, f[1])) {
                _pm_problem(m, "manifest line %u: the SHA-256 it gives of "
                            "line %u does not match that line: line %u was "
                            "edited, or lines were removed or added between",
                            lineno, lineno - 1, lineno - 1);
            }
            m->seq = *end == '\0' ? seq : m->seq + 1;
            if (_pm_apply(m, f, nf, lineno) != 0) {
                rc = -1;
                break;
            }
        }
        _pm_sha256(line, (size_t) len, m->last);
    }
    if (rc == 0 && ferror(fp)) {
        cli_error("%s: read error: %s", m->path, strerror(errno));
        rc = -1;
    }
    if (rc == 0 && lineno == 0) {
        _pm_problem(m, "manifest: empty (not even its header line)");
    }
    free(line);
    free(copy);
    fclose(fp);
    return rc;
}

/* Compare manifest.head with what was read. */
static void
_pm_check_head(pm_t *m)
{
    FILE               *fp;
    char                hex[HG_HEX_MAX + 8];
    unsigned long long  seq;

    fp = fopen(m->head, "r");
    if (fp == NULL) {
        if (m->seq > 0) {
            _pm_problem(m, "manifest.head: missing (%s): the end of the "
                        "manifest cannot be checked", strerror(errno));
        }
        return;
    }
    if (fscanf(fp, "%llu %70s", &seq, hex) != 2 || strlen(hex) != 64) {
        _pm_problem(m, "manifest.head: cannot be read (edited?)");
    } else if (seq > m->seq) {
        _pm_problem(m, "manifest: it ends at event %" PRIu64 " but its head "
                    "says event %llu was written: the last %llu event%s "
                    "removed", m->seq, seq, seq - m->seq,
                    seq - m->seq == 1 ? " was" : "s were");
    } else if (seq < m->seq) {
        _pm_problem(m, "manifest: it goes on to event %" PRIu64 " but its "
                    "head says %llu: events were added by another program",
                    m->seq, seq);
    } else if (!_pm_hexeq(m->last, hex)) {
        _pm_problem(m, "manifest line %u (event %" PRIu64 "): edited (its "
                    "SHA-256 is not the one manifest.head keeps)", m->lines,
                    m->seq);
    }
    fclose(fp);
}

static int
_pm_join(char **out, const char *a, const char *b)
{
    *out = malloc(strlen(a) + strlen(b) + 2);
    if (*out == NULL) {
        return -1;
    }
    sprintf(*out, "%s/%s", a, b);
    return 0;
}

/* The store's directory: made if asked, never readable by others. */
static int
_pm_dir(const char *dir, int create, gid_t gid)
{
    struct stat  sb;

    if (lstat(dir, &sb) != 0) {
        if (errno != ENOENT || !create) {
            cli_error("preserve: %s: %s", dir, strerror(errno));
            return -1;
        }
        if (mkdir(dir, 0750) != 0 || chown(dir, (uid_t) -1, gid) != 0
            || chmod(dir, 0750) != 0)
        {
            cli_error("preserve: %s: cannot make it: %s", dir,
                      strerror(errno));
            return -1;
        }
        return 0;
    }
    if (!S_ISDIR(sb.st_mode)) {
        cli_error("preserve: %s: not a directory", dir);
        return -1;
    }
    if (sb.st_mode & 0007) {
        cli_error("preserve: %s: mode %04o lets every user at the evidence: "
                  "chmod o-rwx it", dir, (unsigned) (sb.st_mode & 07777));
        return -1;
    }
    return 0;
}

int
pm_open(const char *store, unsigned flags, gid_t gid, pm_t *m)
{
    struct stat  sb;
    int          create = (flags & PM_CREATE) != 0;

    memset(m, 0, sizeof(*m));
    m->fd = -1;
    if ((m->store = strdup(store)) == NULL
        || _pm_join(&m->path, store, "manifest") != 0
        || _pm_join(&m->head, store, "manifest.head") != 0
        || _pm_join(&m->items, store, "items") != 0)
    {
        cli_error("preserve: out of memory");
        goto fail;
    }
    if (_pm_dir(store, create, gid) != 0 || _pm_dir(m->items, create, gid) != 0
        || stat(store, &sb) != 0)
    {
        goto fail;
    }
    m->gid = sb.st_gid;
    m->fd = open(m->path, ((flags & PM_WRITE) ? O_RDWR | O_APPEND : O_RDONLY)
                 | (create ? O_CREAT : 0) | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
                 0640);
    if (m->fd < 0) {
        cli_error("preserve: %s: %s", m->path, strerror(errno));
        goto fail;
    }
    if (flock(m->fd, ((flags & PM_WRITE) ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
        cli_error("preserve: %s: %s", m->path, errno == EWOULDBLOCK
                  ? "in use by another hashgate preserve run"
                  : strerror(errno));
        goto fail;
    }
    if (fstat(m->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        cli_error("preserve: %s: not a regular file", m->path);
        goto fail;
    }
    if (sb.st_size == 0 && create) {
        if (fchown(m->fd, (uid_t) -1, gid) != 0 || fchmod(m->fd, 0640) != 0
            || write(m->fd, PM_HEAD, strlen(PM_HEAD))
               != (ssize_t) strlen(PM_HEAD) || fsync(m->fd) != 0)
        {
            cli_error("preserve: %s: cannot write: %s", m->path,
                      strerror(errno));
            goto fail;
        }
    }
    if (_pm_read(m) != 0) {
        goto fail;
    }
    _pm_check_head(m);
    if ((flags & PM_WRITE) && m->nproblems > 0) {
        cli_error("preserve: %s: %s; nothing is added to a manifest that "
                  "fails its check (run hashgate preserve verify)", m->path,
                  m->problem[0]);
        goto fail;
    }
    return 0;
fail:
    pm_close(m);
    return -1;
}

void
pm_close(pm_t *m)
{
    size_t  i;

    for (i = 0; i < m->n; i++) {
        free(m->it[i].item);
        free(m->it[i].sha256);
        free(m->it[i].stored);
        free(m->it[i].delete_after);
        free(m->it[i].incident);
        free(m->it[i].source);
        free(m->it[i].records);
        free(m->it[i].expired);
    }
    free(m->it);
    for (i = 0; i < m->nproblems; i++) {
        free(m->problem[i]);
    }
    free(m->problem);
    if (m->fd >= 0) {
        close(m->fd);
    }
    free(m->store);
    free(m->path);
    free(m->head);
    free(m->items);
    memset(m, 0, sizeof(*m));
    m->fd = -1;
}

int
pm_append(pm_t *m, const char *event, const char *time, const pm_item_t *it)
{
    hg_atomic_write_t  aw;
    hg_err_t           err;
    char               seq[24], prev[HG_HEX_MAX], size[24], head[120];
    char              *line, *p, *copy, *f[PM_FIELDS + 1];
    const char        *in[PM_FIELDS];
    size_t             n, i, len = 2, nf;
    ssize_t            w;
    int                rc = -1;

    snprintf(seq, sizeof(seq), "%" PRIu64, m->seq + 1);
    hg_hex_encode(m->last, 32, prev);
    in[0] = seq;
    in[1] = prev;
    in[2] = event;
    in[3] = time;
    in[4] = it->item;
    n = 5;
    if (strcmp(event, "stored") == 0) {
        snprintf(size, sizeof(size), "%" PRIu64, it->size);
        in[5] = it->sha256;
        in[6] = size;
        in[7] = it->delete_after;
        in[8] = it->hold ? "1" : "0";
        in[9] = it->incident;
        in[10] = it->source;
        in[11] = it->records;
        n = 12;
    }
    for (i = 0; i < n; i++) {
        len += 3 * strlen(in[i]) + 1;
    }
    if ((line = malloc(len)) == NULL || (copy = malloc(len)) == NULL) {
        free(line);
        cli_error("preserve: out of memory");
        return -1;
    }
    p = line;
    for (i = 0; i < n; i++) {
        if (i > 0) {
            *p++ = '\t';
        }
        p = rep_field_enc(p, in[i]);
    }
    *p++ = '\n';
    do {
        w = write(m->fd, line, (size_t) (p - line));
    } while (w < 0 && errno == EINTR);
    if (w != p - line || fsync(m->fd) != 0) {
        cli_error("preserve: %s: cannot append \"%s %s\": %s", m->path, event,
                  it->item, w < 0 ? strerror(errno) : "short write");
        goto done;
    }
    m->seq++;
    m->lines++;
    _pm_sha256(line, (size_t) (p - line), m->last);
    memcpy(copy, line, (size_t) (p - line) - 1);
    copy[p - line - 1] = '\0';
    if (rep_field_split(copy, f, PM_FIELDS, &nf) != 0
        || _pm_apply(m, f, nf, m->lines) != 0)
    {
        cli_error("preserve: out of memory");
        goto done;
    }

    /* the head last: a crash before it is found by verify, never hidden */
    hg_hex_encode(m->last, 32, prev);
    snprintf(head, sizeof(head), "%" PRIu64 " %s\n", m->seq, prev);
    err.msg[0] = '\0';
    if (hg_atomic_write_begin(&aw, m->head, 0640, 0, &err) != HG_OK) {
        cli_error("preserve: %s", err.msg);
        goto done;
    }
    if (write(aw.fd, head, strlen(head)) != (ssize_t) strlen(head)) {
        cli_error("preserve: %s: %s", m->head, strerror(errno));
        hg_atomic_write_abort(&aw);
        goto done;
    }
    if (hg_atomic_write_commit(&aw, &err) != HG_OK) {
        cli_error("preserve: %s", err.msg);
        goto done;
    }
    /* verify is run by the evidence group too */
    if (chown(m->head, (uid_t) -1, m->gid) != 0) {
        cli_error("preserve: %s: %s", m->head, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    free(line);
    free(copy);
    return rc;
}

size_t
pm_verify_items(pm_t *m)
{
    DIR            *d;
    struct dirent  *e;
    pm_item_t      *it, *other;
    char           *path, hex[HG_HEX_MAX];
    uint64_t        size;
    size_t          i, j, good = 0;

    for (i = 0; i < m->n; i++) {
        it = &m->it[i];
        if (_pm_join(&path, m->items, it->item) != 0) {
            _pm_problem(m, "out of memory");
            return good;
        }
        if (pm_file_sha256(path, hex, &size) != 0) {
            if (errno != ENOENT) {
                _pm_problem(m, "item %s: cannot be read: %s", it->item,
                            strerror(errno));
            } else if (it->expired == NULL) {
                _pm_problem(m, "item %s: missing from the store (removed; "
                            "stored on manifest line %u)", it->item, it->line);
            }
            free(path);
            continue;
        }
        free(path);
        if (it->expired != NULL) {
            _pm_problem(m, "item %s: expired on %s but still in the store",
                        it->item, it->expired);
            continue;
        }
        if (strcmp(hex, it->sha256) == 0 && size == it->size) {
            good++;
            continue;
        }
        for (j = 0, other = NULL; j < m->n && other == NULL; j++) {
            if (j != i && strcmp(m->it[j].sha256, hex) == 0) {
                other = &m->it[j];
            }
        }
        if (other != NULL) {
            _pm_problem(m, "item %s: swapped: it holds what item %s held "
                        "when stored (SHA-256 %s)", it->item, other->item,
                        hex);
        } else {
            _pm_problem(m, "item %s: its content changed since it was stored "
                        "(SHA-256 now %s, %" PRIu64 " bytes; the manifest "
                        "says %s, %" PRIu64 " bytes): edited or replaced",
                        it->item, hex, size, it->sha256, it->size);
        }
    }

    d = opendir(m->items);
    if (d == NULL) {
        _pm_problem(m, "%s: cannot be listed: %s", m->items, strerror(errno));
        return good;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        if (pm_find(m, e->d_name) == NULL) {
            _pm_problem(m, "items/%s: a file the manifest does not list "
                        "(added, or an item renamed)", e->d_name);
        }
    }
    closedir(d);
    return good;
}
