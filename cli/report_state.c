/*
 * report_state.c - what has been done with each incident, so none is
 * drafted twice and none is ever submitted twice.
 *
 * The state file is a journal: one event a line, appended with one
 * write(2) and fsync'ed before the step it records is taken as done, and
 * never rewritten. Reading it back replays the events. A submission that
 * stopped midway is resumed from the last event written (the report ID,
 * the file IDs): nothing the service already has is sent again. A line
 * that cannot be read stops the program rather than be guessed at: a lost
 * "opened" event would mean a second report.
 *
 *   # hashgate report state (one event a line; do not edit)
 *   drafted<TAB>KEY<TAB>TIME<TAB>PATH
 *   submitting<TAB>KEY<TAB>TIME           (before /submit is sent)
 *   submit-failed<TAB>KEY<TAB>TIME        (the service said no)
 *   opened<TAB>KEY<TAB>TIME<TAB>REPORT-ID
 *   uploaded<TAB>KEY<TAB>TIME<TAB>INDEX<TAB>FILE-ID
 *   described<TAB>KEY<TAB>TIME<TAB>INDEX
 *   finished<TAB>KEY<TAB>TIME
 *   retracted<TAB>KEY<TAB>TIME
 *
 * Fields are percent-encoded where they hold a blank, a control, '%' or
 * DEL (a Message-ID may hold any of them). Only one run uses the file at
 * a time (an flock held until exit).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hashgate/record.h"
#include "report.h"
#include "util.h"

#define REP_STATE_HEAD  "# hashgate report state (one event a line; do not edit)\n"
#define REP_STATE_FIELDS  6

char *
rep_field_enc(char *out, const char *s)
{
    static const char  hex[] = "0123456789ABCDEF";
    const unsigned char  *p;

    for (p = (const unsigned char *) s; *p != '\0'; p++) {
        if (*p <= 0x20 || *p == '%' || *p == 0x7f) {
            *out++ = '%';
            *out++ = hex[*p >> 4];
            *out++ = hex[*p & 15];
        } else {
            *out++ = (char) *p;
        }
    }
    *out = '\0';
    return out;
}

static int
_rep_hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

int
rep_field_dec(char *s)
{
    char  *w = s;
    int    h, l;

    for ( ; *s != '\0'; s++) {
        if (*s != '%') {
            *w++ = *s;
            continue;
        }
        if ((h = _rep_hexval(s[1])) < 0 || (l = _rep_hexval(s[2])) < 0
            || (h == 0 && l == 0))
        {
            return -1;
        }
        *w++ = (char) (h * 16 + l);
        s += 2;
    }
    *w = '\0';
    return 0;
}

static rep_state_entry_t *
_rep_entry(rep_state_t *st, const char *key)
{
    rep_state_entry_t  *ne;
    size_t              i;

    for (i = 0; i < st->n; i++) {
        if (strcmp(st->e[i].key, key) == 0) {
            return &st->e[i];
        }
    }
    if (st->n == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 64;
        ne = realloc(st->e, st->cap * sizeof(*ne));
        if (ne == NULL) {
            return NULL;
        }
        st->e = ne;
    }
    memset(&st->e[st->n], 0, sizeof(st->e[0]));
    if ((st->e[st->n].key = strdup(key)) == NULL) {
        return NULL;
    }
    return &st->e[st->n++];
}

/* Forget a submission (its report ID, files, end): all but the key. */
static void
_rep_entry_clear(rep_state_entry_t *e)
{
    size_t  j;

    free(e->report_id);
    for (j = 0; j < REP_MAX_FILES; j++) {
        free(e->file_id[j]);
        e->file_id[j] = NULL;
        e->described[j] = 0;
    }
    free(e->finished);
    free(e->retracted);
    e->report_id = e->finished = e->retracted = NULL;
    e->submitting = 0;
}

static int
_rep_set(char **slot, const char *v)
{
    char  *c = strdup(v);

    if (c == NULL) {
        return -1;
    }
    free(*slot);
    *slot = c;
    return 0;
}

/* A non-negative index below REP_MAX_FILES, or -1. */
static long
_rep_index(const char *s)
{
    char  *end;
    long   v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0 || v >= REP_MAX_FILES) {
        return -1;
    }
    return v;
}

/*
 * Apply one event. 0, -1 when out of memory, -2 when the event or its
 * fields are not ones this program writes (*why set).
 */
static int
_rep_apply(rep_state_t *st, char **f, size_t nf, const char **why)
{
    rep_state_entry_t  *e;
    long                i;

    if (nf < 3) {
        *why = "too few fields";
        return -2;
    }
    if ((e = _rep_entry(st, f[1])) == NULL) {
        return -1;
    }
    if (strcmp(f[0], "drafted") == 0 && nf == 4) {
        if (e->retracted != NULL) {
            /* a retracted submission is over: the new draft starts afresh */
            _rep_entry_clear(e);
        }
        return _rep_set(&e->drafted, f[2]) | _rep_set(&e->draft_path, f[3]);
    }
    if (strcmp(f[0], "submitting") == 0 && nf == 3) {
        e->submitting = 1;
        return 0;
    }
    if (strcmp(f[0], "submit-failed") == 0 && nf == 3) {
        e->submitting = 0;
        return 0;
    }
    if (strcmp(f[0], "opened") == 0 && nf == 4) {
        e->submitting = 0;
        return _rep_set(&e->report_id, f[3]);
    }
    if (strcmp(f[0], "uploaded") == 0 && nf == 5) {
        if ((i = _rep_index(f[3])) < 0) {
            *why = "a file index out of range";
            return -2;
        }
        return _rep_set(&e->file_id[i], f[4]);
    }
    if (strcmp(f[0], "described") == 0 && nf == 4) {
        if ((i = _rep_index(f[3])) < 0) {
            *why = "a file index out of range";
            return -2;
        }
        e->described[i] = 1;
        return 0;
    }
    if (strcmp(f[0], "finished") == 0 && nf == 3) {
        return _rep_set(&e->finished, f[2]);
    }
    if (strcmp(f[0], "retracted") == 0 && nf == 3) {
        return _rep_set(&e->retracted, f[2]);
    }
    *why = "an event this hashgate does not write";
    return -2;
}

int
rep_field_split(char *line, char **f, size_t max, size_t *nf)
{
    char  *p = line, *t;

    *nf = 0;
    for ( ;; ) {
        if (*nf == max) {
            return -1;
        }
        f[(*nf)++] = p;
        t = strchr(p, '\t');
        if (t != NULL) {
            *t = '\0';
        }
        if (p[0] == '\0' || rep_field_dec(p) != 0) {
            return -1;
        }
        if (t == NULL) {
            return 0;
        }
        p = t + 1;
    }
}

static int
_rep_state_read(rep_state_t *st)
{
    FILE        *fp;
    char        *line = NULL, *f[REP_STATE_FIELDS];
    size_t       cap = 0, nf;
    ssize_t      len;
    unsigned     lineno = 0;
    const char  *why;
    int          fd, rc = -1, k;

    fd = dup(st->fd);
    if (fd < 0 || (fp = fdopen(fd, "r")) == NULL) {
        if (fd >= 0) {
            close(fd);
        }
        cli_error("%s: cannot read: %s", st->path, strerror(errno));
        return -1;
    }
    rewind(fp);
    while ((len = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        if (len == 0 || line[len - 1] != '\n') {
            cli_error("%s:%u: the state file ends inside a line (a write "
                      "that did not finish): check the last event by hand "
                      "before running again", st->path, lineno);
            goto done;
        }
        line[--len] = '\0';
        if (line[0] == '#' || len == 0) {
            continue;
        }
        why = "a field that cannot be read";
        if (memchr(line, '\0', (size_t) len) != NULL
            || rep_field_split(line, f, REP_STATE_FIELDS, &nf) != 0
            || (k = _rep_apply(st, f, nf, &why)) == -2)
        {
            cli_error("%s:%u: not a state event this hashgate reads (%s)",
                      st->path, lineno, why);
            goto done;
        }
        if (k != 0) {
            cli_error("%s: out of memory", st->path);
            goto done;
        }
    }
    if (ferror(fp)) {
        cli_error("%s: read error: %s", st->path, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    free(line);
    fclose(fp);
    return rc;
}

int
rep_state_open(const char *path, int readonly, rep_state_t *st)
{
    struct stat  sb;

    memset(st, 0, sizeof(*st));
    st->fd = -1;
    if ((st->path = strdup(path)) == NULL) {
        cli_error("%s: out of memory", path);
        return -1;
    }
    st->fd = readonly
             ? open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)
             : open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW
                    | O_NOCTTY, 0600);
    if (st->fd < 0 && readonly && errno == ENOENT) {
        return 0;               /* nothing done yet */
    }
    if (st->fd < 0) {
        cli_error("%s: cannot open the state file: %s", path,
                  strerror(errno));
        rep_state_close(st);
        return -1;
    }
    /* a reader only looks: it neither waits for nor stops a run */
    if (!readonly && flock(st->fd, LOCK_EX | LOCK_NB) != 0) {
        cli_error("%s: %s", path, errno == EWOULDBLOCK
                  ? "in use by another hashgate report run"
                  : strerror(errno));
        rep_state_close(st);
        return -1;
    }
    if (fstat(st->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        cli_error("%s: not a regular file", path);
        rep_state_close(st);
        return -1;
    }
    if (!readonly && sb.st_size == 0
        && write(st->fd, REP_STATE_HEAD, strlen(REP_STATE_HEAD))
           != (ssize_t) strlen(REP_STATE_HEAD))
    {
        cli_error("%s: cannot write: %s", path, strerror(errno));
        rep_state_close(st);
        return -1;
    }
    if (_rep_state_read(st) != 0) {
        rep_state_close(st);
        return -1;
    }
    return 0;
}

void
rep_state_close(rep_state_t *st)
{
    size_t  i, j;

    for (i = 0; i < st->n; i++) {
        free(st->e[i].key);
        free(st->e[i].drafted);
        free(st->e[i].draft_path);
        free(st->e[i].report_id);
        for (j = 0; j < REP_MAX_FILES; j++) {
            free(st->e[i].file_id[j]);
        }
        free(st->e[i].finished);
        free(st->e[i].retracted);
    }
    free(st->e);
    if (st->fd >= 0) {
        close(st->fd);
    }
    free(st->path);
    memset(st, 0, sizeof(*st));
    st->fd = -1;
}

const rep_state_entry_t *
rep_state_get(const rep_state_t *st, const char *key)
{
    size_t  i;

    for (i = 0; i < st->n; i++) {
        if (strcmp(st->e[i].key, key) == 0) {
            return &st->e[i];
        }
    }
    return NULL;
}

int
rep_state_add(rep_state_t *st, const char *event, const char *key,
              const char *a, const char *b)
{
    char         now[40], *line, *p, *f[REP_STATE_FIELDS];
    const char  *in[5] = { event, key, now, a, b };
    const char  *why = NULL;
    size_t       len = 1, i, n, nf;
    ssize_t      w;
    int          rc = -1;

    hg_time_rfc3339(now, sizeof(now));
    n = a == NULL ? 3 : b == NULL ? 4 : 5;
    for (i = 0; i < n; i++) {
        len += 3 * strlen(in[i]) + 1;
    }
    if ((line = malloc(len)) == NULL) {
        cli_error("%s: out of memory", st->path);
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
        w = write(st->fd, line, (size_t) (p - line));
    } while (w < 0 && errno == EINTR);
    if (w != p - line || fsync(st->fd) != 0) {
        cli_error("%s: cannot record \"%s %s\": %s", st->path, event, key,
                  w < 0 ? strerror(errno) : "short write");
        goto done;
    }
    /* applied as read back, so what is in memory is what the file says */
    p[-1] = '\0';
    if (rep_field_split(line, f, REP_STATE_FIELDS, &nf) != 0 || _rep_apply(st, f, nf, &why) != 0) {
        cli_error("%s: cannot apply \"%s %s\"%s%s", st->path, event, key,
                  why ? ": " : "", why ? why : "");
        goto done;
    }
    rc = 0;
done:
    free(line);
    return rc;
}
