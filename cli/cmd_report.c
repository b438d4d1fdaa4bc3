/*
 * cmd_report.c - hashgate report: CyberTipline report drafts from the
 * evidence records, one per incident (a mail, an HTTP request).
 *
 * Reads the evidence logs with their rotated and compressed files, groups
 * the records into incidents (report_incident.c) and, for each incident
 * selected and not drafted before (the state file), writes a draft in the
 * shape of NCMEC's reporting API, checked against the schema first
 * (report_xml.c). --format text and json show the incidents instead, with
 * what has been done with each, and write nothing.
 *
 * A line that cannot be used is named on stderr (file and line) and
 * counted; an incident that lost a record to such a line is refused, not
 * drafted. Exit status: 0 when every selected incident was drafted or
 * shown and every file read, 2 otherwise (the reasons are on stderr).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hashgate/atomic_write.h"
#include "hashgate/evread.h"
#include "report.h"
#include "util.h"

static const char _report_help[] =
    "Usage: hashgate report [OPTIONS] [LOG...]\n"
    "\n"
    "Draft CyberTipline reports from evidence logs: one per incident (a\n"
    "mail, an HTTP request), with every matched file, in the shape of\n"
    "NCMEC's reporting API and checked against its schema. Each LOG is read\n"
    "with its rotated files (LOG.1, LOG.2.gz, LOG-20261101.xz, ...); by\n"
    "default /var/log/hashgate/evidence.log and\n"
    "/var/log/nginx/hashgate/evidence.log, those that exist.\n"
    "\n"
    "Options:\n"
    "  -f, --format FMT   xml (default): write a draft of each incident not\n"
    "                     drafted before into --out; text or json: show the\n"
    "                     incidents (and what was done with each), write\n"
    "                     nothing\n"
    "  -o, --out DIR      where drafts go (" REP_DEFAULT_OUT ")\n"
    "  -c, --config FILE  who reports: company and contact\n"
    "                     (" REP_DEFAULT_CONF ")\n"
    "  -s, --state FILE   what was drafted and submitted\n"
    "                     (" REP_DEFAULT_STATE ")\n"
    "      --since TIME   incidents from TIME (2026-11-01 or\n"
    "                     2026-11-01T12:00:00Z, UTC)\n"
    "      --until TIME   incidents until TIME (a date: that whole day)\n"
    "      --list NAME    only files matched on list NAME (repeatable)\n"
    "      --incident ID  only the mail with this queue ID or Message-ID,\n"
    "                     or the request with this request ID\n"
    "      --again        draft again incidents drafted before (never one\n"
    "                     whose submission has begun)\n"
    "      --no-rotated   read only the files named, not their rotations\n"
    "      --settle SECS  leave incidents whose newest record is younger\n"
    "                     than this for a later run (60)\n"
    "      --xsd FILE     check drafts against this schema instead of the\n"
    "                     one built in\n"
    "      --now TIME     the time to take as now (for tests)\n"
    "\n"
    "Submitting (NCMEC's reporting API; the drafts as written, never one\n"
    "incident twice; a run that stopped resumes where it stopped):\n"
    "      --submit       submit every drafted incident not yet submitted\n"
    "                     (or only --incident ID), uploading each file from\n"
    "                     the evidence store\n"
    "      --retract      retract the begun submission of --incident ID\n"
    "      --resubmit     submit although an earlier /submit got no answer\n"
    "                     (only once NCMEC said it holds no report of it)\n"
    "      --endpoint URL the API's base URI (Endpoint in the configuration;\n"
    "                     https://exttest.cybertip.org/ispws to test)\n"
    "      --credentials FILE  Username and Password lines, root's only\n"
    "                     (Credentials in the configuration)\n"
    "      --store DIR    the evidence store (" REP_DEFAULT_STORE ")\n"
    "  -h, --help         this help\n"
    "\n"
    "Exit status: 0 done, 2 an error (a file not read, an incident refused\n"
    "or its draft not valid: each named on stderr).\n";

enum {
    REP_OPT_SINCE = 256,
    REP_OPT_UNTIL,
    REP_OPT_LIST,
    REP_OPT_INCIDENT,
    REP_OPT_AGAIN,
    REP_OPT_NO_ROTATED,
    REP_OPT_SETTLE,
    REP_OPT_XSD,
    REP_OPT_NOW,
    REP_OPT_SUBMIT,
    REP_OPT_RETRACT,
    REP_OPT_RESUBMIT,
    REP_OPT_ENDPOINT,
    REP_OPT_CREDENTIALS,
    REP_OPT_STORE
};

/* Make dir (0750) if it is missing. */
static int
_rep_mkdir(const char *dir)
{
    struct stat  sb;

    if (stat(dir, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode)) {
            cli_error("report: %s: not a directory", dir);
            return -1;
        }
        return 0;
    }
    if (mkdir(dir, 0750) != 0) {
        cli_error("report: %s: cannot make the directory: %s", dir,
                  strerror(errno));
        return -1;
    }
    return 0;
}

static int
_rep_write(const char *path, const char *buf, size_t len)
{
    hg_atomic_write_t  aw;
    hg_err_t           err;
    size_t             off = 0;
    ssize_t            n;

    err.msg[0] = '\0';
    if (hg_atomic_write_begin(&aw, path, 0640, 0, &err) != HG_OK) {
        cli_error("report: %s", err.msg);
        return -1;
    }
    while (off < len) {
        n = write(aw.fd, buf + off, len - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            cli_error("report: %s: cannot write: %s", path, strerror(errno));
            hg_atomic_write_abort(&aw);
            return -1;
        }
        off += (size_t) n;
    }
    if (hg_atomic_write_commit(&aw, &err) != HG_OK) {
        cli_error("report: %s", err.msg);
        return -1;
    }
    return 0;
}

typedef struct {
    const char     *format;
    const char     *out;
    const char     *conf_path;
    const char     *state_path;
    const char     *xsd;
    int             again;
    int             only;
    rep_filter_t    f;
} rep_opts_t;

/* Draft one incident; 0, or -1 with the reason printed. */
static int
_rep_draft_one(const rep_opts_t *o, rep_xml_t *x, const rep_conf_t *conf,
               rep_state_t *st, const rep_incident_t *inc)
{
    const rep_state_entry_t *se;
    char    name[160], suffix[16], *path, *buf = NULL, why[2 * HG_ERR_MAX];
    size_t  len;
    int     rc = -1, k;

    if (rep_xml_draft(x, inc, &o->f, conf, &buf, &len, why, sizeof(why))
        != 0)
    {
        cli_error("report: incident %s %s: no draft written: %s",
                  inc->channel, inc->id, why);
        return -1;
    }
    path = malloc(strlen(o->out) + sizeof(name) + 2);
    if (path == NULL) {
        cli_error("report: out of memory");
        free(buf);
        return -1;
    }
    /* its own name: another incident's draft is never written over (two
     * mails known only by one Message-ID in the same second) */
    se = rep_state_get(st, inc->key);
    for (k = 1; ; k++) {
        snprintf(suffix, sizeof(suffix), k > 1 ? "-%d.xml" : ".xml", k);
        rep_incident_name(inc, suffix, name, sizeof(name));
        sprintf(path, "%s/%s", o->out, name);
        if (access(path, F_OK) != 0
            || (se != NULL && se->draft_path != NULL
                && strcmp(se->draft_path, path) == 0) || k == 100)
        {
            break;
        }
    }
    if (_rep_write(path, buf, len) == 0
        && rep_state_add(st, "drafted", inc->key, path, NULL) == 0)
    {
        printf("drafted %s %s: %s\n", inc->channel, inc->id, path);
        rc = 0;
    }
    free(path);
    free(buf);
    return rc;
}

int
cmd_report(int argc, char **argv)
{
    static const struct option  longopts[] = {
        { "format",     required_argument, NULL, 'f' },
        { "out",        required_argument, NULL, 'o' },
        { "config",     required_argument, NULL, 'c' },
        { "state",      required_argument, NULL, 's' },
        { "since",      required_argument, NULL, REP_OPT_SINCE },
        { "until",      required_argument, NULL, REP_OPT_UNTIL },
        { "list",       required_argument, NULL, REP_OPT_LIST },
        { "incident",   required_argument, NULL, REP_OPT_INCIDENT },
        { "again",      no_argument,       NULL, REP_OPT_AGAIN },
        { "no-rotated", no_argument,       NULL, REP_OPT_NO_ROTATED },
        { "settle",     required_argument, NULL, REP_OPT_SETTLE },
        { "xsd",        required_argument, NULL, REP_OPT_XSD },
        { "now",        required_argument, NULL, REP_OPT_NOW },
        { "submit",     no_argument,       NULL, REP_OPT_SUBMIT },
        { "retract",    no_argument,       NULL, REP_OPT_RETRACT },
        { "resubmit",   no_argument,       NULL, REP_OPT_RESUBMIT },
        { "endpoint",   required_argument, NULL, REP_OPT_ENDPOINT },
        { "credentials", required_argument, NULL, REP_OPT_CREDENTIALS },
        { "store",      required_argument, NULL, REP_OPT_STORE },
        { "help",       no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    rep_opts_t          o;
    rep_submit_opts_t   so;
    rep_conf_t          conf;
    rep_state_t         st;
    rep_set_t           set;
    rep_xml_t          *x = NULL;
    char              **files = NULL, **lists = NULL, *end;
    size_t              nfiles = 0, nlists = 0, i;
    const rep_state_entry_t *se;
    uint64_t            drafted = 0, before = 0, recent = 0, refused = 0,
                        failed = 0, shown = 0;
    long                secs;
    int                 opt, xml, rc = CLI_EXIT_ERROR, sel, have_now = 0;
    int                 submit = 0;

    memset(&o, 0, sizeof(o));
    memset(&so, 0, sizeof(so));
    so.store = REP_DEFAULT_STORE;
    memset(&conf, 0, sizeof(conf));
    memset(&set, 0, sizeof(set));
    memset(&st, 0, sizeof(st));
    st.fd = -1;
    o.format = "xml";
    o.out = REP_DEFAULT_OUT;
    o.conf_path = REP_DEFAULT_CONF;
    o.state_path = REP_DEFAULT_STATE;
    o.f.since_ms = INT64_MIN;
    o.f.until_ms = INT64_MAX;
    o.f.settle_ms = REP_SETTLE_MS_DEFAULT;

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "f:o:c:s:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'f':
            o.format = optarg;
            break;
        case 'o':
            o.out = optarg;
            break;
        case 'c':
            o.conf_path = optarg;
            break;
        case 's':
            o.state_path = optarg;
            break;
        case REP_OPT_SINCE:
        case REP_OPT_UNTIL:
            if (rep_time_opt(optarg, opt == REP_OPT_UNTIL,
                              opt == REP_OPT_SINCE ? &o.f.since_ms
                                                   : &o.f.until_ms) != 0)
            {
                rc = cli_usage("report", "%s: not a date or an RFC 3339 UTC "
                               "time: '%s'", opt == REP_OPT_SINCE
                               ? "--since" : "--until", optarg);
                goto done;
            }
            break;
        case REP_OPT_LIST:
            if (rep_push(&lists, &nlists, strdup(optarg)) != 0) {
                cli_error("report: out of memory");
                goto done;
            }
            break;
        case REP_OPT_INCIDENT:
            o.f.incident = optarg;
            break;
        case REP_OPT_AGAIN:
            o.again = 1;
            break;
        case REP_OPT_NO_ROTATED:
            o.only = 1;
            break;
        case REP_OPT_SETTLE:
            errno = 0;
            secs = strtol(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || secs < 0
                || secs > 365L * 86400)
            {
                rc = cli_usage("report", "--settle: not a number of seconds:"
                               " '%s'", optarg);
                goto done;
            }
            o.f.settle_ms = (int64_t) secs * 1000;
            break;
        case REP_OPT_XSD:
            o.xsd = optarg;
            break;
        case REP_OPT_NOW:
            if (rep_time_opt(optarg, 0, &o.f.now_ms) != 0) {
                rc = cli_usage("report", "--now: not a date or an RFC 3339 "
                               "UTC time: '%s'", optarg);
                goto done;
            }
            have_now = 1;
            break;
        case REP_OPT_SUBMIT:
            submit = 1;
            break;
        case REP_OPT_RETRACT:
            so.retract = 1;
            break;
        case REP_OPT_RESUBMIT:
            so.resubmit = 1;
            break;
        case REP_OPT_ENDPOINT:
            so.endpoint = optarg;
            break;
        case REP_OPT_CREDENTIALS:
            so.credentials = optarg;
            break;
        case REP_OPT_STORE:
            so.store = optarg;
            break;
        case 'h':
            fputs(_report_help, stdout);
            rc = CLI_EXIT_OK;
            goto done;
        default:
            rc = cli_usage("report", "unknown option or missing argument: "
                           "'%s'", argv[optind - 1]);
            goto done;
        }
    }
    if (submit || so.retract) {
        /* what a person has read is sent: the drafts, not the logs */
        if (submit && so.retract) {
            rc = cli_usage("report", "--submit or --retract, not both");
            goto done;
        }
        if (so.retract && o.f.incident == NULL) {
            rc = cli_usage("report", "--retract needs --incident ID");
            goto done;
        }
        if (optind < argc) {
            rc = cli_usage("report", "--%s reads the drafts, not logs",
                           submit ? "submit" : "retract");
            goto done;
        }
        so.incident = o.f.incident;
        if (rep_conf_load(o.conf_path, &conf) != 0
            || rep_xml_open(o.xsd, &x) != 0
            || rep_state_open(o.state_path, 0, &st) != 0)
        {
            goto done;
        }
        so.endpoint = so.endpoint ? so.endpoint : conf.endpoint;
        so.credentials = so.credentials ? so.credentials : conf.credentials;
        rc = rep_submit(&so, x, &st);
        goto done;
    }
    if (!have_now) {
        o.f.now_ms = rep_now_ms();
    }
    o.f.lists = lists;
    xml = strcmp(o.format, "xml") == 0;
    if (!xml && strcmp(o.format, "text") != 0
        && strcmp(o.format, "json") != 0)
    {
        rc = cli_usage("report", "--format is xml, text or json, not '%s'",
                       o.format);
        goto done;
    }
    if (o.f.since_ms > o.f.until_ms) {
        rc = cli_usage("report", "--since is after --until");
        goto done;
    }

    /* everything that can be wrong with the setup, before any work */
    if (xml && (rep_conf_load(o.conf_path, &conf) != 0
                || rep_xml_open(o.xsd, &x) != 0 || _rep_mkdir(o.out) != 0))
    {
        goto done;
    }
    if (rep_state_open(o.state_path, !xml, &st) != 0
        || rep_log_files("report", argv + optind, (size_t) (argc - optind),
                         o.only, &files, &nfiles) != 0
        || rep_load(&set, files, nfiles) != 0)
    {
        goto done;
    }

    for (i = 0; i < set.n; i++) {
        const rep_incident_t  *inc = set.inc[i];

        sel = rep_selected(inc, &o.f);
        if (sel == 0) {
            continue;
        }
        if (sel < 0 && inc->refused == NULL) {
            recent++;
            cli_error("report: incident %s %s: its newest record is younger "
                      "than --settle; left for a later run", inc->channel,
                      inc->id);
            continue;
        }
        se = rep_state_get(&st, inc->key);
        if (!xml) {
            if (strcmp(o.format, "text") == 0) {
                rep_print_text(stdout, inc, &o.f, se);
            } else {
                rep_print_json(stdout, inc, &o.f, se);
            }
            shown++;
            refused += inc->refused != NULL;
            continue;
        }
        if (inc->refused != NULL) {
            refused++;
            cli_error("report: incident %s %s: refused, no draft written: %s",
                      inc->channel, inc->id, inc->refused);
            continue;
        }
        /* a submission begun is never drafted over; one retracted may be */
        if (se != NULL && ((se->report_id != NULL && se->retracted == NULL)
                           || se->submitting
                           || (se->drafted != NULL && !o.again)))
        {
            before++;
            continue;
        }
        if (_rep_draft_one(&o, x, &conf, &st, inc) != 0) {
            failed++;
            continue;
        }
        drafted++;
    }

    fprintf(stderr, "hashgate: report: %zu file%s, %" PRIu64 " records, %"
            PRIu64 " lines skipped (%" PRIu64 " torn, %" PRIu64 " too long, %"
            PRIu64 " not ours, %" PRIu64 " of an unknown version, %" PRIu64
            " unreadable); ", nfiles, nfiles == 1 ? "" : "s",
            set.counts[HG_EVREAD_RECORD],
            set.counts[HG_EVREAD_TORN] + set.counts[HG_EVREAD_LONG]
            + set.counts[HG_EVREAD_FOREIGN] + set.counts[HG_EVREAD_VERSION]
            + set.counts[HG_EVREAD_BAD], set.counts[HG_EVREAD_TORN],
            set.counts[HG_EVREAD_LONG], set.counts[HG_EVREAD_FOREIGN],
            set.counts[HG_EVREAD_VERSION], set.counts[HG_EVREAD_BAD]);
    if (xml) {
        fprintf(stderr, "%" PRIu64 " drafted, %" PRIu64 " drafted before, %"
                PRIu64 " refused, %" PRIu64 " not valid, %" PRIu64
                " left for later\n", drafted, before, refused, failed,
                recent);
    } else {
        fprintf(stderr, "%" PRIu64 " incidents shown, %" PRIu64
                " refused\n", shown, refused);
    }
    rc = set.file_errors == 0 && refused == 0 && failed == 0
         ? CLI_EXIT_OK : CLI_EXIT_ERROR;
done:
    rep_set_free(&set);
    rep_state_close(&st);
    rep_xml_close(x);
    rep_conf_free(&conf);
    for (i = 0; files != NULL && files[i] != NULL; i++) {
        free(files[i]);
    }
    free(files);
    for (i = 0; lists != NULL && lists[i] != NULL; i++) {
        free(lists[i]);
    }
    free(lists);
    return rc;
}
