/*
 * main.c - hashgate-milter: options, start-up checks, privileges.
 *
 * Start-up is ordered the OpenSMTPD way: everything that needs root is
 * opened first (configuration, database, evidence log, the listening
 * socket and its mode/group, the pid file), then the process drops to
 * UserID for good and only then accepts mail. Every start-up failure is
 * fatal with one line on stderr ("file:line: reason" for the
 * configuration), before daemonising, so an init system shows it.
 *
 * Decisions:
 *  - A missing or bad database fails -t. A daemon started with one runs
 *    anyway and applies OnFail to every mail (tempfail by default, so
 *    nothing passes unscanned), logs why, and takes the file as soon as a
 *    good one is in place (SIGHUP or the identity check): a broken list
 *    update and a restart never turn into a stopped mail flow the MTA
 *    would have to handle on its own. Once running, the database can
 *    vanish or go bad without effect: the last good one stays in use.
 *  - Started as root, UserID is required and may not name root; the
 *    daemon never scans mail as root. Started as another user, UserID is
 *    optional.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "hashgate/hash.h"
#include "hashgate/version.h"
#include "milter.h"

/* Highest descriptor searched for libmilter's listening socket. */
#define LISTEN_FD_SCAN_MAX  1024

static void
_usage(FILE *fp)
{
    fprintf(fp,
        "usage: " HG_MILTER_NAME " [-c FILE] [-t] [-f] [-V]\n"
        "  -c FILE  configuration file (default " HG_MILTER_DEFAULT_CONF ")\n"
        "  -t       check the configuration and the database, then exit\n"
        "  -f       stay in the foreground and log to stderr too\n"
        "  -V       print the version and exit\n");
}

/* user[:group] to ids; 0 or -1 with msg. */
static int
_resolve_user(const hg_mconf_t *c, uid_t *uid, gid_t *gid, char *msg,
              size_t msglen)
{
    struct passwd  *pw;
    struct group   *gr;

    if ((pw = getpwnam(c->user)) == NULL) {
        snprintf(msg, msglen, "%s: UserID '%s': no such user", c->path,
                 c->user);
        return -1;
    }
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    if (c->group != NULL) {
        if ((gr = getgrnam(c->group)) == NULL) {
            snprintf(msg, msglen, "%s: UserID group '%s': no such group",
                     c->path, c->group);
            return -1;
        }
        *gid = gr->gr_gid;
    }
    if (*uid == 0) {
        snprintf(msg, msglen, "%s: UserID '%s' is root; hashgate-milter "
                 "does not scan mail as root", c->path, c->user);
        return -1;
    }
    return 0;
}

/*
 * libmilter creates the listening socket and keeps its descriptor to
 * itself. On Linux an accepted TCP socket inherits TCP_NODELAY from the
 * listener, so setting it there once turns off Nagle for every connection
 * from Postfix (else each small reply waits on a delayed ACK, ~40 ms).
 * The only listening inet socket at this point is libmilter's.
 */
static int
_nodelay_listeners(void)
{
    int     fd, n = 0, one = 1, acc;
    struct sockaddr_storage ss;
    socklen_t   len;

    for (fd = 3; fd < LISTEN_FD_SCAN_MAX; fd++) {
        len = sizeof(acc);
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) != 0
            || !acc)
        {
            continue;
        }
        len = sizeof(ss);
        if (getsockname(fd, (struct sockaddr *) &ss, &len) != 0
            || (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
        {
            continue;
        }
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0) {
            n++;
        }
    }
    return n;
}

/* A ListAction for a list the database lacks is legal (the next database
 * may have it) but most likely a typo: say so at start and with -t. */
static void
_warn_unknown_lists(const hg_mconf_t *c)
{
    hg_db_t    *db = hg_reload_current();
    size_t      i;

    for (i = 0; db != NULL && i < c->policy.nlists; i++) {
        if (hg_db_find_list(db, c->policy.lists[i].name) < 0) {
            fprintf(stderr, "%s: warning: ListAction %s: the database has no "
                    "list of that name\n", c->path, c->policy.lists[i].name);
        }
    }
    hg_db_close(db);
}

static int
_drop_privileges(uid_t uid, gid_t gid)
{
    if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0
        || setresuid(uid, uid, uid) != 0)
    {
        return -1;
    }
    /* a drop that can be undone is no drop */
    if (uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
        return -1;
    }
    return 0;
}

static char *
_absolute(const char *path)
{
    char    cwd[HG_CONF_PATH_MAX];
    char   *out;

    if (path[0] == '/') {
        return strdup(path);
    }
    if (getcwd(cwd, sizeof(cwd)) == NULL
        || asprintf(&out, "%s/%s", cwd, path) < 0)
    {
        return NULL;
    }
    return out;
}

/* An existing file must open for appending; a new one's directory must be
 * writable. 0, or -1 with msg. */
static int
_check_appendable(const char *path, char *msg, size_t msglen)
{
    char   *dir, *slash;
    int     fd, rc = 0;

    fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    if (errno != ENOENT) {
        snprintf(msg, msglen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if ((dir = strdup(path)) == NULL) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    slash = strrchr(dir, '/');
    slash[slash == dir ? 1 : 0] = '\0';
    if (access(dir, W_OK | X_OK) != 0) {
        snprintf(msg, msglen, "%s: cannot be created in %s: %s", path, dir,
                 strerror(errno));
        rc = -1;
    }
    free(dir);
    return rc;
}

/* Written beside and renamed, so a reader never sees it half written. */
static int
_write_pid_file(const char *path)
{
    char    buf[32], *tmp;
    int     fd, n, ok, rc = -1;

    if (asprintf(&tmp, "%s.tmp", path) < 0) {
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        n = snprintf(buf, sizeof(buf), "%ld\n", (long) getpid());
        ok = write(fd, buf, (size_t) n) == n;
        if (close(fd) == 0 && ok) {
            rc = rename(tmp, path);
        }
        if (rc != 0) {
            unlink(tmp);
        }
    }
    free(tmp);
    return rc;
}

int
main(int argc, char **argv)
{
    const char *conf_path = HG_MILTER_DEFAULT_CONF;
    int         check = 0, foreground = 0, opt, r;
    hg_mconf_t  conf;
    hg_err_t    err;
    uid_t       uid = 0;
    gid_t       gid = 0;
    char        msg[HG_ERR_MAX + 128];
    char       *db_path;
    sigset_t    sigs;
    struct stat st;
    unsigned    ma, mi, pl;

    /*
     * Blocked in every thread from here on: SIGHUP is taken by the reload
     * thread (reload.c), SIGTERM and SIGINT by libmilter's signal thread;
     * a thread with one of them unblocked would let it kill the process.
     */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigprocmask(SIG_BLOCK, &sigs, NULL);

    while ((opt = getopt(argc, argv, "c:tfVh")) != -1) {
        switch (opt) {
        case 'c': conf_path = optarg; break;
        case 't': check = 1; break;
        case 'f': foreground = 1; break;
        case 'V':
            smfi_version(&ma, &mi, &pl);
            printf("%s %s (libmilter %u.%u.%u)\n", HG_MILTER_NAME, HG_VERSION,
                   ma, mi, pl);
            return 0;
        case 'h': _usage(stdout); return 0;
        default: _usage(stderr); return 1;
        }
    }
    if (optind != argc) {
        _usage(stderr);
        return 1;
    }

    hg_log_setup(0, LOG_MAIL, 1, HG_LOG_INFO);
    if (hg_mconf_load(conf_path, &conf, &err) != HG_OK) {
        fprintf(stderr, "%s\n", err.msg);
        hg_mconf_free(&conf);
        return 1;
    }
    if (conf.user != NULL
        && _resolve_user(&conf, &uid, &gid, msg, sizeof(msg)) != 0)
    {
        fprintf(stderr, "%s\n", msg);
        return 1;
    }
    if (geteuid() == 0 && conf.user == NULL) {
        fprintf(stderr, "%s: UserID is not set; hashgate-milter started as "
                "root needs a user to run as\n", conf.path);
        return 1;
    }
    if (geteuid() != 0 && conf.user != NULL && uid != geteuid()) {
        fprintf(stderr, "%s: UserID '%s': cannot switch user when not "
                "started as root\n", conf.path, conf.user);
        return 1;
    }
    if ((db_path = _absolute(conf.database)) == NULL) {
        fprintf(stderr, "%s: out of memory\n", conf.path);
        return 1;
    }

    hg_log_setup(check ? 0 : conf.syslog, conf.syslog_facility,
                 check || foreground, check ? HG_LOG_WARNING : conf.log_level);
    if (hg_hash_global_init(&err) != HG_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    if (hg_reload_init(db_path, &err) != HG_OK) {
        if (check) {
            fprintf(stderr, "%s: Database: %s\n", conf.path, err.msg);
            return 1;
        }
        hg_log(HG_LOG_ERR, "%s: Database: %s; running without a database: "
               "every mail gets OnFail %s until a good file is in place",
               conf.path, err.msg,
               conf.policy.on_fail == HG_FAIL_ACCEPT ? "accept" : "tempfail");
    }
    if (conf.socket_group != NULL && getgrnam(conf.socket_group) == NULL) {
        fprintf(stderr, "%s: SocketGroup '%s': no such group\n", conf.path,
                conf.socket_group);
        return 1;
    }
    _warn_unknown_lists(&conf);
    if (check) {
        /* -t must not create the log: as root it would be root's, and a
         * daemon started as its own user could then not open it */
        if (conf.evidence_log != NULL
            && _check_appendable(conf.evidence_log, msg, sizeof(msg)) != 0)
        {
            fprintf(stderr, "%s: EvidenceLog: %s\n", conf.path, msg);
            return 1;
        }
        printf("%s: configuration OK, database %s OK\n", conf.path, db_path);
        hg_reload_shutdown();
        hg_mconf_free(&conf);
        free(db_path);
        return 0;
    }

    if (hg_evidence_open(conf.evidence_log, &err) != HG_OK) {
        fprintf(stderr, "%s: EvidenceLog: %s\n", conf.path, err.msg);
        return 1;
    }
    /* the user it runs as owns its log (a regular file, never a device),
     * so it can reopen it after logrotate */
    if (conf.evidence_log != NULL && conf.user != NULL && geteuid() == 0
        && stat(conf.evidence_log, &st) == 0 && S_ISREG(st.st_mode)
        && chown(conf.evidence_log, uid, gid) != 0)
    {
        fprintf(stderr, "%s: EvidenceLog: chown %s: %s\n", conf.path,
                conf.evidence_log, strerror(errno));
        return 1;
    }
    if (smfi_setconn(conf.socket) != MI_SUCCESS
        || hg_filter_register(&conf) != MI_SUCCESS
        || smfi_settimeout((int) conf.timeout) != MI_SUCCESS)
    {
        fprintf(stderr, "%s: cannot set up libmilter for Socket %s\n",
                conf.path, conf.socket);
        return 1;
    }
    if (smfi_opensocket(1) != MI_SUCCESS) {
        fprintf(stderr, "%s: Socket %s: cannot listen: %s\n", conf.path,
                conf.socket, strerror(errno));
        return 1;
    }
    if (conf.socket_path != NULL) {
        if (conf.socket_mode != -1
            && chmod(conf.socket_path, (mode_t) conf.socket_mode) != 0)
        {
            fprintf(stderr, "%s: SocketMode: chmod %s: %s\n", conf.path,
                    conf.socket_path, strerror(errno));
            return 1;
        }
        if (conf.socket_group != NULL) {
            struct group *gr = getgrnam(conf.socket_group);

            if (gr == NULL) {
                fprintf(stderr, "%s: SocketGroup '%s': no such group\n",
                        conf.path, conf.socket_group);
                return 1;
            }
            /* already right (a setgid directory) needs no privilege */
            if ((stat(conf.socket_path, &st) != 0 || st.st_gid != gr->gr_gid)
                && chown(conf.socket_path, (uid_t) -1, gr->gr_gid) != 0)
            {
                fprintf(stderr, "%s: SocketGroup '%s': chown %s: %s\n",
                        conf.path, conf.socket_group, conf.socket_path,
                        strerror(errno));
                return 1;
            }
        }
    } else if (_nodelay_listeners() == 0) {
        fprintf(stderr, "%s: Socket %s: cannot set TCP_NODELAY\n", conf.path,
                conf.socket);
        return 1;
    }

    if (!foreground && daemon(0, 0) != 0) {
        fprintf(stderr, "%s: daemon: %s\n", HG_MILTER_NAME, strerror(errno));
        return 1;
    }
    if (conf.pid_file != NULL && _write_pid_file(conf.pid_file) != 0) {
        hg_log(HG_LOG_ERR, "PidFile %s: %s", conf.pid_file, strerror(errno));
        return 1;
    }
    if (conf.user != NULL && geteuid() == 0 && _drop_privileges(uid, gid) != 0) {
        hg_log(HG_LOG_ERR, "cannot drop privileges to %s: %s", conf.user,
               strerror(errno));
        return 1;
    }
    if (hg_reload_thread_start(conf.reload_interval) != 0) {
        hg_log(HG_LOG_ERR, "cannot start the reload thread");
        return 1;
    }

    hg_log(HG_LOG_INFO, "started version=%s socket=%s user=%s pid=%ld",
           HG_VERSION, conf.socket, conf.user ? conf.user : "-",
           (long) getpid());
    r = smfi_main();
    hg_log(HG_LOG_INFO, "stopping");

    if (conf.pid_file != NULL) {
        (void) unlink(conf.pid_file);
    }
    hg_filter_shutdown();
    hg_evidence_close();
    hg_reload_shutdown();
    hg_mconf_free(&conf);
    free(db_path);
    return r == MI_SUCCESS ? 0 : 1;
}
