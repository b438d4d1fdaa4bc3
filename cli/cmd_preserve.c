/*
 * cmd_preserve.c - hashgate preserve: keep what was held, as the law asks,
 * and prove it was kept unchanged.
 *
 *   store    copy each held incident's item into the evidence store: a
 *            mail from Postfix's hold queue through postcat -q (never by
 *            reading queue files), an upload's body from nginx's hold
 *            directory; check it holds every matched file (by digest);
 *            write it under a name made here, 0640 in group
 *            hashgate-evidence, and append a manifest line
 *   verify   check the manifest's chain and every item's SHA-256
 *   expire   delete items past their date and not on legal hold
 *   hold, release   put items on legal hold and take them off
 *   list     show the items
 *
 * Content never goes to the output: items are named by the incident, and
 * described by their digest and size only.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hashgate/evread.h"
#include "preserve.h"
#include "report.h"
#include "util.h"

extern char **environ;

static const char _preserve_help[] =
    "Usage: hashgate preserve store [OPTIONS] [LOG...]\n"
    "       hashgate preserve verify [--store DIR]\n"
    "       hashgate preserve expire [--store DIR] [--now TIME] [--dry-run]\n"
    "       hashgate preserve hold|release [--store DIR] ITEM...\n"
    "       hashgate preserve list [--store DIR]\n"
    "\n"
    "Keep what was held (mail in Postfix's hold queue, uploads in nginx's\n"
    "hold directory) in an evidence store with an append-only,\n"
    "hash-chained manifest, for as long as the law asks (a year).\n"
    "\n"
    "  store    copy the held item of each incident in the logs (by default\n"
    "           the evidence logs hashgate report reads) not preserved yet\n"
    "  verify   check the manifest's chain and every item: any edit,\n"
    "           removal or swap is named (exit 2)\n"
    "  expire   delete the items past their date and not on legal hold,\n"
    "           and say so in the manifest\n"
    "  hold     put ITEMs on legal hold: never expired until released\n"
    "  release  take ITEMs off legal hold\n"
    "  list     show every item\n"
    "\n"
    "Options:\n"
    "      --store DIR        the evidence store (" REP_DEFAULT_STORE ")\n"
    "      --group NAME       its group (" PM_GROUP_DEFAULT ")\n"
    "      --retain DAYS      keep items this long (365)\n"
    "      --legal-hold       items stored now are on legal hold\n"
    "      --hold-dir DIR     nginx's hold directory (hashgate_hold_path);\n"
    "                         held uploads are only copied from one given\n"
    "      --postfix-config DIR  Postfix's configuration directory (postcat -c)\n"
    "      --postcat PATH     the postcat program (/usr/sbin/postcat)\n"
    "      --incident ID      only this mail (queue ID, Message-ID) or request\n"
    "      --since TIME, --until TIME, --list NAME, --no-rotated, --settle SECS\n"
    "                         select incidents as hashgate report does\n"
    "      --now TIME         the time to take as now (for tests)\n"
    "      --dry-run          expire: say what would be deleted, delete nothing\n"
    "  -h, --help             this help\n"
    "\n"
    "Exit status: 0 done, 2 an error (each named on stderr; for verify, every\n"
    "problem found is on standard output).\n";

enum {
    PS_OPT_STORE = 256,
    PS_OPT_GROUP,
    PS_OPT_RETAIN,
    PS_OPT_LEGAL_HOLD,
    PS_OPT_HOLD_DIR,
    PS_OPT_PF_CONFIG,
    PS_OPT_POSTCAT,
    PS_OPT_INCIDENT,
    PS_OPT_SINCE,
    PS_OPT_UNTIL,
    PS_OPT_LIST,
    PS_OPT_NO_ROTATED,
    PS_OPT_SETTLE,
    PS_OPT_NOW,
    PS_OPT_DRY_RUN
};

typedef struct {
    const char     *store;
    const char     *group;
    gid_t           gid;
    long            retain_days;
    int             legal_hold;
    char          **hold_dirs;
    size_t          nhold_dirs;
    const char     *pf_config;
    const char     *postcat;
    int             only;
    int             dry_run;
    int64_t         now_ms;
    char            now[40];
    rep_filter_t    f;
} ps_opts_t;

/* A queue ID as Postfix makes them (short hex, long base-52): never an
 * option or a path to postcat. */
static int
_ps_queue_id_ok(const char *s)
{
    size_t  n = strlen(s), i;

    if (n == 0 || n > 64) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= 'a' && s[i] <= 'z')))
        {
            return 0;
        }
    }
    return 1;
}

/*
 * postcat -bh -q QUEUEID (the message as queued: headers and body) into
 * outfd. 0, or -1 with why (postcat's own message).
 */
static int
_ps_postcat(const ps_opts_t *o, const char *qid, int outfd, char *why,
            size_t wlen)
{
    posix_spawn_file_actions_t  fa;
    char                       *argv[8], line[512];
    FILE                       *errf;
    pid_t                       pid;
    int                         n = 0, st, rc;

    argv[n++] = (char *) o->postcat;
    if (o->pf_config != NULL) {
        argv[n++] = "-c";
        argv[n++] = (char *) o->pf_config;
    }
    argv[n++] = "-bh";
    argv[n++] = "-q";
    argv[n++] = (char *) qid;
    argv[n] = NULL;
    if ((errf = tmpfile()) == NULL) {
        snprintf(why, wlen, "cannot make a temporary file: %s",
                 strerror(errno));
        return -1;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, outfd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, fileno(errf), STDERR_FILENO);
    rc = strchr(o->postcat, '/') != NULL
         ? posix_spawn(&pid, o->postcat, &fa, NULL, argv, environ)
         : posix_spawnp(&pid, o->postcat, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        snprintf(why, wlen, "cannot run %s: %s", o->postcat, strerror(rc));
        fclose(errf);
        return -1;
    }
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        fclose(errf);
        return 0;
    }
    rewind(errf);
    line[0] = '\0';
    if (fgets(line, sizeof(line), errf) != NULL) {
        line[strcspn(line, "\n")] = '\0';
    }
    fclose(errf);
    snprintf(why, wlen, "%s -q %s failed (%s %d)%s%s", o->postcat, qid,
             WIFEXITED(st) ? "status" : "signal",
             WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
             line[0] ? ": " : "", line);
    return -1;
}

/*
 * Copy nginx's hold file held_at into outfd: only from a --hold-dir, never
 * through a link, only a regular file. 0, or -1 with why.
 */
static int
_ps_copy_held(const ps_opts_t *o, const char *held_at, int outfd, char *why,
              size_t wlen)
{
    char           dir[PATH_MAX], real[PATH_MAX], want[PATH_MAX], *tmp;
    unsigned char  buf[CLI_READ_SIZE];
    struct stat    sb;
    ssize_t        n, w;
    size_t         i, off;
    int            fd;

    if ((tmp = strdup(held_at)) == NULL) {
        snprintf(why, wlen, "out of memory");
        return -1;
    }
    snprintf(dir, sizeof(dir), "%s", dirname(tmp));
    free(tmp);
    if (realpath(dir, real) == NULL) {
        snprintf(why, wlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    for (i = 0; i < o->nhold_dirs; i++) {
        if (realpath(o->hold_dirs[i], want) != NULL && strcmp(want, real) == 0) {
            break;
        }
    }
    if (i == o->nhold_dirs) {
        snprintf(why, wlen, "the held file %s is not in a hold directory "
                 "given with --hold-dir: not copied", held_at);
        return -1;
    }
    fd = open(held_at, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY
              | O_NONBLOCK);
    if (fd < 0) {
        snprintf(why, wlen, "%s: %s", held_at, strerror(errno));
        return -1;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(why, wlen, "%s: not a regular file", held_at);
        close(fd);
        return -1;
    }
    while ((n = cli_read_full(fd, buf, sizeof(buf))) > 0) {
        for (off = 0; off < (size_t) n; off += (size_t) w) {
            w = write(outfd, buf + off, (size_t) n - off);
            if (w <= 0 && errno != EINTR) {
                snprintf(why, wlen, "cannot write the copy: %s",
                         strerror(errno));
                close(fd);
                return -1;
            }
            w = w < 0 ? 0 : w;
        }
    }
    if (n < 0) {
        snprintf(why, wlen, "%s: read error: %s", held_at, strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* The incident's held records: the action was hold (not in monitor mode). */
static const hg_evrec_t *
_ps_held(const rep_incident_t *inc)
{
    size_t  i;

    for (i = 0; i < inc->nrecs; i++) {
        if (inc->recs[i]->action != NULL
            && strcmp(inc->recs[i]->action, "hold") == 0)
        {
            return inc->recs[i];
        }
    }
    return NULL;
}

/* An item's name: the incident's, a number after the first, .eml/.bin. */
static void
_ps_item_name(const rep_incident_t *inc, int n, char *out, size_t outlen)
{
    const char  *ext = strcmp(inc->channel, "smtp") == 0 ? "eml" : "bin";
    char         suffix[24];

    if (n > 1) {
        snprintf(suffix, sizeof(suffix), "-%d.%s", n, ext);
    } else {
        snprintf(suffix, sizeof(suffix), ".%s", ext);
    }
    rep_incident_name(inc, suffix, out, outlen);
}

/* Preserve one incident; 0, 1 (nothing to do), -1 (an error, printed). */
static int
_ps_store_one(const ps_opts_t *o, pm_t *m, const rep_incident_t *inc)
{
    const hg_evrec_t  *held = _ps_held(inc);
    rep_want_t        *w = NULL;
    pm_item_t          it, *have;
    char               tmp[PATH_MAX], name[200], dst[PATH_MAX];
    char               why[2 * PATH_MAX + 256];
    char               hex[HG_HEX_MAX], delete_after[40], source[PATH_MAX + 64];
    char              *records = NULL;
    uint64_t           size;
    size_t             i, j, nw = 0;
    int                fd = -1, rc = -1, k;

    if (held == NULL) {
        return 1;
    }
    /* once: an item expired is not made again from what is still held */
    if ((have = pm_find_incident(m, inc->key, 1)) != NULL) {
        printf("preserved before %s %s: %s%s%s\n", inc->channel, inc->id,
               have->item, have->expired ? ", expired " : "",
               have->expired ? have->expired : "");
        return 1;
    }
    /* every matched file must be in the item, found by its digest */
    if ((w = calloc(inc->nrecs, sizeof(*w))) == NULL) {
        cli_error("preserve: out of memory");
        return -1;
    }
    for (i = 0; i < inc->nrecs; i++) {
        if (rep_upload_ref(inc->recs[i], w[nw].ref, sizeof(w[nw].ref)) != 0) {
            continue;
        }
        for (j = 0; j < nw && strcmp(w[j].ref, w[nw].ref) != 0; j++) {
        }
        nw += j == nw;
    }

    snprintf(tmp, sizeof(tmp), "%s/.tmp-XXXXXX", o->store);
    if ((fd = mkstemp(tmp)) < 0) {
        cli_error("preserve: %s: %s", tmp, strerror(errno));
        goto done;
    }
    if (strcmp(inc->channel, "smtp") == 0) {
        if (held->queue_id == NULL || !_ps_queue_id_ok(held->queue_id)) {
            cli_error("preserve: incident smtp %s: its records name no "
                      "Postfix queue ID to fetch the held mail by", inc->id);
            goto done;
        }
        snprintf(source, sizeof(source), "postfix queue ID %s",
                 held->queue_id);
        if (_ps_postcat(o, held->queue_id, fd, why, sizeof(why)) != 0) {
            cli_error("preserve: incident smtp %s: %s", inc->id, why);
            goto done;
        }
    } else {
        if (held->held_at == NULL) {
            cli_error("preserve: incident http %s: its records say where "
                      "nothing was held", inc->id);
            goto done;
        }
        snprintf(source, sizeof(source), "nginx hold file %s", held->held_at);
        if (_ps_copy_held(o, held->held_at, fd, why, sizeof(why)) != 0) {
            cli_error("preserve: incident http %s: %s", inc->id, why);
            goto done;
        }
    }
    if (fsync(fd) != 0 || fchmod(fd, 0640) != 0
        || fchown(fd, (uid_t) -1, o->gid) != 0)
    {
        cli_error("preserve: %s: %s", tmp, strerror(errno));
        goto done;
    }
    if (rep_extract(tmp, strcmp(inc->channel, "smtp") == 0 ? REP_ITEM_MAIL
                    : REP_ITEM_BODY, w, nw, NULL, why, sizeof(why)) != 0)
    {
        cli_error("preserve: incident %s %s: %s", inc->channel, inc->id, why);
        goto done;
    }
    for (i = 0; i < nw; i++) {
        if (!w[i].found) {
            cli_error("preserve: incident %s %s: the held item (%s) does not "
                      "hold the matched file %s: not preserved (is it another "
                      "mail or upload now?)", inc->channel, inc->id, source,
                      w[i].ref);
            goto done;
        }
    }
    if (pm_file_sha256(tmp, hex, &size) != 0) {
        cli_error("preserve: %s: %s", tmp, strerror(errno));
        goto done;
    }
    for (k = 1; ; k++) {
        _ps_item_name(inc, k, name, sizeof(name));
        snprintf(dst, sizeof(dst), "%s/%s", m->items, name);
        if (pm_find(m, name) != NULL && k < 100) {
            continue;           /* a name is never used twice, expired or not */
        }
        if (link(tmp, dst) == 0) {
            break;
        }
        if (errno != EEXIST || k > 99 || pm_find(m, name) == NULL) {
            cli_error("preserve: %s: %s", dst, errno == EEXIST
                      ? "exists but the manifest does not list it"
                      : strerror(errno));
            goto done;
        }
    }
    unlink(tmp);
    tmp[0] = '\0';
    if ((records = rep_record_refs((const hg_evrec_t *const *) inc->recs,
                                   inc->nrecs)) == NULL)
    {
        cli_error("preserve: out of memory");
        goto done;
    }
    rep_time(o->now_ms + (int64_t) o->retain_days * 86400000LL, delete_after,
            sizeof(delete_after));
    memset(&it, 0, sizeof(it));
    it.item = name;
    it.sha256 = hex;
    it.size = size;
    it.delete_after = delete_after;
    it.hold = o->legal_hold;
    it.incident = inc->key;
    it.source = source;
    it.records = records;
    if (pm_append(m, "stored", o->now, &it) != 0) {
        /* a copy without its manifest line is no evidence: take it back */
        unlink(dst);
        goto done;
    }
    printf("preserved %s %s: %s (SHA-256 %s, %" PRIu64 " bytes), %s%s\n",
           inc->channel, inc->id, name, hex, size,
           o->legal_hold ? "on legal hold" : "to be deleted after ",
           o->legal_hold ? "" : delete_after);
    rc = 0;
done:
    if (fd >= 0) {
        close(fd);
    }
    if (tmp[0] != '\0') {
        unlink(tmp);
    }
    free(records);
    free(w);
    return rc;
}

static int
_ps_store(ps_opts_t *o, char **logs, size_t nlogs)
{
    pm_t                m;
    rep_set_t           set;
    char              **files = NULL;
    size_t              nfiles = 0, i;
    int                 rc = CLI_EXIT_ERROR, errors = 0, k;

    memset(&set, 0, sizeof(set));
    if (pm_open(o->store, PM_WRITE | PM_CREATE, o->gid, &m) != 0) {
        return CLI_EXIT_ERROR;
    }
    if (rep_log_files("preserve", logs, nlogs, o->only, &files, &nfiles)
        != 0)
    {
        goto done;
    }
    if (rep_load(&set, files, nfiles) != 0) {
        goto done;
    }
    errors = set.file_errors;
    for (i = 0; i < set.n; i++) {
        const rep_incident_t  *inc = set.inc[i];

        k = rep_selected(inc, &o->f);
        if (k == 0) {
            continue;
        }
        /* what was held is kept even when a record of it is lost: more
         * evidence, never less; the loss is said */
        if (inc->refused != NULL) {
            cli_error("preserve: incident %s %s: a record of it cannot be "
                      "read (%s): %s", inc->channel, inc->id, inc->refused,
                      _ps_held(inc) != NULL ? "preserved from the records "
                      "that can" : "if it was held, preserve it by hand");
            errors++;
        }
        if (k < 0) {
            cli_error("preserve: incident %s %s: its newest record is younger "
                      "than --settle; left for a later run", inc->channel,
                      inc->id);
            continue;
        }
        if (_ps_store_one(o, &m, inc) < 0) {
            errors++;
        }
    }
    rc = errors == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
done:
    rep_set_free(&set);
    hg_evread_paths_free(files);
    pm_close(&m);
    return rc;
}

static int
_ps_verify(const ps_opts_t *o)
{
    pm_t    m;
    size_t  good, i, live = 0, expired = 0, held = 0;
    char    hex[HG_HEX_MAX];

    if (pm_open(o->store, 0, (gid_t) -1, &m) != 0) {
        return CLI_EXIT_ERROR;
    }
    good = pm_verify_items(&m);
    for (i = 0; i < m.n; i++) {
        if (m.it[i].expired != NULL) {
            expired++;
        } else {
            live++;
            held += m.it[i].hold;
        }
    }
    for (i = 0; i < m.nproblems; i++) {
        printf("problem: %s\n", m.problem[i]);
    }
    hg_hex_encode(m.last, 32, hex);
    printf("%s: %zu problem%s; %" PRIu64 " events, %zu items kept (%zu "
           "intact, %zu on legal hold), %zu expired; manifest head: event %"
           PRIu64 " SHA-256 %s\n", m.nproblems ? "FAILED" : "verified",
           m.nproblems, m.nproblems == 1 ? "" : "s", m.seq, live, good, held,
           expired, m.seq, hex);
    i = m.nproblems;
    pm_close(&m);
    return i == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}

static int
_ps_expire(const ps_opts_t *o)
{
    pm_t        m;
    pm_item_t  *it;
    char        path[PATH_MAX];
    size_t      i, n = 0, kept = 0;
    int         rc = CLI_EXIT_OK;

    if (pm_open(o->store, o->dry_run ? 0 : PM_WRITE, (gid_t) -1, &m) != 0) {
        return CLI_EXIT_ERROR;
    }
    if (o->dry_run && m.nproblems > 0) {
        cli_error("preserve: %s: %s (run hashgate preserve verify)", m.path,
                  m.problem[0]);
        pm_close(&m);
        return CLI_EXIT_ERROR;
    }
    for (i = 0; i < m.n; i++) {
        it = &m.it[i];
        if (it->expired != NULL) {
            continue;
        }
        if (it->hold || it->delete_ms > o->now_ms) {
            kept++;
            continue;
        }
        if (o->dry_run) {
            printf("would expire %s (incident %s, kept until %s)\n", it->item,
                   it->incident, it->delete_after);
            n++;
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", m.items, it->item);
        if (unlink(path) != 0 && errno != ENOENT) {
            cli_error("preserve: %s: cannot delete: %s", path,
                      strerror(errno));
            rc = CLI_EXIT_ERROR;
            continue;
        }
        printf("expired %s (incident %s, kept until %s)\n", it->item,
               it->incident, it->delete_after);
        /* it is pointed at again after the append moves the array */
        if (pm_append(&m, "expired", o->now, it) != 0) {
            rc = CLI_EXIT_ERROR;
            break;
        }
        n++;
    }
    fprintf(stderr, "hashgate: preserve: %zu item%s %sexpired, %zu kept\n", n,
            n == 1 ? "" : "s", o->dry_run ? "would be " : "", kept);
    pm_close(&m);
    return rc;
}

static int
_ps_hold(const ps_opts_t *o, int on, char **items, size_t nitems)
{
    pm_t        m;
    pm_item_t  *it;
    size_t      i;
    int         rc = CLI_EXIT_OK;

    if (nitems == 0) {
        return cli_usage("preserve", "%s: name the items (hashgate preserve "
                         "list shows them)", on ? "hold" : "release");
    }
    if (pm_open(o->store, PM_WRITE, (gid_t) -1, &m) != 0) {
        return CLI_EXIT_ERROR;
    }
    for (i = 0; i < nitems; i++) {
        it = pm_find(&m, items[i]);
        if (it == NULL || it->expired != NULL) {
            cli_error("preserve: %s: %s", items[i], it == NULL
                      ? "no such item" : "expired: nothing left to hold");
            rc = CLI_EXIT_ERROR;
            continue;
        }
        if (it->hold == on) {
            printf("%s: already %s\n", items[i], on ? "on legal hold"
                   : "not on legal hold");
            continue;
        }
        if (pm_append(&m, on ? "hold" : "release", o->now, it) != 0) {
            rc = CLI_EXIT_ERROR;
            break;
        }
        printf("%s: %s\n", items[i], on ? "on legal hold"
               : "released from legal hold");
    }
    pm_close(&m);
    return rc;
}

static int
_ps_list(const ps_opts_t *o)
{
    pm_t    m;
    size_t  i;

    if (pm_open(o->store, 0, (gid_t) -1, &m) != 0) {
        return CLI_EXIT_ERROR;
    }
    for (i = 0; i < m.n; i++) {
        pm_item_t  *it = &m.it[i];

        printf("%s  %s  %" PRIu64 " bytes  stored %s  %s%s  incident ",
               it->item, it->sha256, it->size, it->stored,
               it->expired ? "expired " : it->hold ? "legal hold"
               : "until ", it->expired ? it->expired : it->hold ? ""
               : it->delete_after);
        cli_put_safe(stdout, it->incident);
        putchar('\n');
    }
    if (m.nproblems > 0) {
        cli_error("preserve: the manifest fails its check (%s): run hashgate "
                  "preserve verify", m.problem[0]);
    }
    i = m.nproblems;
    pm_close(&m);
    return i == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}

int
cmd_preserve(int argc, char **argv)
{
    static const struct option  longopts[] = {
        { "store",          required_argument, NULL, PS_OPT_STORE },
        { "group",          required_argument, NULL, PS_OPT_GROUP },
        { "retain",         required_argument, NULL, PS_OPT_RETAIN },
        { "legal-hold",     no_argument,       NULL, PS_OPT_LEGAL_HOLD },
        { "hold-dir",       required_argument, NULL, PS_OPT_HOLD_DIR },
        { "postfix-config", required_argument, NULL, PS_OPT_PF_CONFIG },
        { "postcat",        required_argument, NULL, PS_OPT_POSTCAT },
        { "incident",       required_argument, NULL, PS_OPT_INCIDENT },
        { "since",          required_argument, NULL, PS_OPT_SINCE },
        { "until",          required_argument, NULL, PS_OPT_UNTIL },
        { "list",           required_argument, NULL, PS_OPT_LIST },
        { "no-rotated",     no_argument,       NULL, PS_OPT_NO_ROTATED },
        { "settle",         required_argument, NULL, PS_OPT_SETTLE },
        { "now",            required_argument, NULL, PS_OPT_NOW },
        { "dry-run",        no_argument,       NULL, PS_OPT_DRY_RUN },
        { "help",           no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    ps_opts_t          o;
    struct group      *gr;
    const char        *sub;
    char              *end, **lists = NULL, **nl;
    size_t             nlists = 0;
    long               v;
    int                opt, rc = CLI_EXIT_ERROR, have_now = 0, store;

    if (argc < 2 || strcmp(argv[1], "--help") == 0
        || strcmp(argv[1], "-h") == 0)
    {
        fputs(_preserve_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_ERROR : CLI_EXIT_OK;
    }
    sub = argv[1];
    store = strcmp(sub, "store") == 0;
    if (!store && strcmp(sub, "verify") != 0 && strcmp(sub, "expire") != 0
        && strcmp(sub, "hold") != 0 && strcmp(sub, "release") != 0
        && strcmp(sub, "list") != 0)
    {
        return cli_usage("preserve", "unknown action '%s' (store, verify, "
                         "expire, hold, release, list)", sub);
    }
    memset(&o, 0, sizeof(o));
    o.store = REP_DEFAULT_STORE;
    o.group = PM_GROUP_DEFAULT;
    o.retain_days = PM_RETAIN_DAYS_DEFAULT;
    o.postcat = "/usr/sbin/postcat";
    o.f.since_ms = INT64_MIN;
    o.f.until_ms = INT64_MAX;
    o.f.settle_ms = REP_SETTLE_MS_DEFAULT;

    optind = 2;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        /* only store selects incidents or copies anything */
        if (!store && opt != PS_OPT_STORE && opt != PS_OPT_NOW && opt != 'h'
            && !(opt == PS_OPT_DRY_RUN && strcmp(sub, "expire") == 0)
            && opt != '?')
        {
            rc = cli_usage("preserve", "%s: not an option of %s",
                           argv[optind - 1], sub);
            goto done;
        }
        switch (opt) {
        case PS_OPT_STORE:
            o.store = optarg;
            break;
        case PS_OPT_GROUP:
            o.group = optarg;
            break;
        case PS_OPT_RETAIN:
            errno = 0;
            v = strtol(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || v < 1
                || v > 36500)
            {
                rc = cli_usage("preserve", "--retain: a number of days (1 to "
                               "36500), not '%s'", optarg);
                goto done;
            }
            o.retain_days = v;
            break;
        case PS_OPT_LEGAL_HOLD:
            o.legal_hold = 1;
            break;
        case PS_OPT_HOLD_DIR:
            nl = realloc(o.hold_dirs, (o.nhold_dirs + 1) * sizeof(*nl));
            if (nl == NULL) {
                cli_error("preserve: out of memory");
                goto done;
            }
            o.hold_dirs = nl;
            o.hold_dirs[o.nhold_dirs++] = optarg;
            break;
        case PS_OPT_PF_CONFIG:
            o.pf_config = optarg;
            break;
        case PS_OPT_POSTCAT:
            o.postcat = optarg;
            break;
        case PS_OPT_INCIDENT:
            o.f.incident = optarg;
            break;
        case PS_OPT_SINCE:
        case PS_OPT_UNTIL:
            if (rep_time_opt(optarg, opt == PS_OPT_UNTIL,
                             opt == PS_OPT_SINCE ? &o.f.since_ms
                                                 : &o.f.until_ms) != 0)
            {
                rc = cli_usage("preserve", "not a date or an RFC 3339 UTC "
                               "time: '%s'", optarg);
                goto done;
            }
            break;
        case PS_OPT_LIST:
            nl = realloc(lists, (nlists + 2) * sizeof(*nl));
            if (nl == NULL) {
                cli_error("preserve: out of memory");
                goto done;
            }
            lists = nl;
            lists[nlists++] = optarg;
            lists[nlists] = NULL;
            break;
        case PS_OPT_NO_ROTATED:
            o.only = 1;
            break;
        case PS_OPT_SETTLE:
            errno = 0;
            v = strtol(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || v < 0) {
                rc = cli_usage("preserve", "--settle: seconds, not '%s'",
                               optarg);
                goto done;
            }
            o.f.settle_ms = (int64_t) v * 1000;
            break;
        case PS_OPT_NOW:
            if (rep_time_opt(optarg, 0, &o.now_ms) != 0) {
                rc = cli_usage("preserve", "--now: not a date or an RFC 3339 "
                               "UTC time: '%s'", optarg);
                goto done;
            }
            have_now = 1;
            break;
        case PS_OPT_DRY_RUN:
            o.dry_run = 1;
            break;
        case 'h':
            fputs(_preserve_help, stdout);
            rc = CLI_EXIT_OK;
            goto done;
        default:
            rc = cli_usage("preserve", "unknown option or missing argument: "
                           "'%s'", argv[optind - 1]);
            goto done;
        }
    }
    if (!have_now) {
        o.now_ms = rep_now_ms();
    }
    o.f.now_ms = o.now_ms;
    o.f.lists = lists;
    rep_time(o.now_ms, o.now, sizeof(o.now));

    if (strcmp(sub, "store") == 0) {
        if ((gr = getgrnam(o.group)) == NULL) {
            cli_error("preserve: group %s does not exist (the hashgate-tools "
                      "package makes %s; or give --group)", o.group,
                      PM_GROUP_DEFAULT);
            goto done;
        }
        o.gid = gr->gr_gid;
        rc = _ps_store(&o, argv + optind, (size_t) (argc - optind));
    } else if (optind < argc && strcmp(sub, "hold") != 0
               && strcmp(sub, "release") != 0)
    {
        rc = cli_usage("preserve", "%s takes no arguments", sub);
    } else if (strcmp(sub, "verify") == 0) {
        rc = _ps_verify(&o);
    } else if (strcmp(sub, "expire") == 0) {
        rc = _ps_expire(&o);
    } else if (strcmp(sub, "list") == 0) {
        rc = _ps_list(&o);
    } else {
        rc = _ps_hold(&o, strcmp(sub, "hold") == 0, argv + optind,
                      (size_t) (argc - optind));
    }
done:
    free(o.hold_dirs);
    free(lists);
    return rc;
}
