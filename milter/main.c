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
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
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

#include "hashgate/atomic_write.h"
#include "hashgate/hash.h"
#include "hashgate/version.h"
#include "milter.h"

/* glibc malloc arenas, the main one included: see main() */
#define HG_MALLOC_ARENAS  4

/* blocks from this size are mmap()ed; free tops from this size trimmed */
#define HG_MALLOC_MMAP_MIN  (4u << 20)
#define HG_MALLOC_TRIM_MIN  (8u << 20)

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

/*
 * Written beside and renamed (hg_atomic_write_*), so a reader never sees
 * it half written. It is written as root, in a directory the user we run
 * as may own (to remove the file at exit): the temp file is a new name
 * made exclusively, so a link that user left there is never followed, or
 * root would truncate whatever it points to.
 */
static hg_status_t
_write_pid_file(const char *path, hg_err_t *err)
{
    hg_atomic_write_t   aw;
    char                buf[32];
    int                 n;
    hg_status_t         rc;

    if ((rc = hg_atomic_write_begin(&aw, path, 0644, 0, err)) != HG_OK) {
        return rc;
    }
    n = snprintf(buf, sizeof(buf), "%ld\n", (long) getpid());
    if (write(aw.fd, buf, (size_t) n) != n) {
        rc = hg_err_sys(err, HG_EIO, "%s: writing %s", path, aw.tmp);
        hg_atomic_write_abort(&aw);
        return rc;
    }
    return hg_atomic_write_commit(&aw, err);
}

/*
 * Give the evidence log to the user we run as, so it can reopen it after
 * logrotate. Its directory belongs to that user, who could put a link to
 * any file there for root to hand over at the next start: so only through
 * a descriptor opened without following a link, and only a regular file
 * (never a device). A link or a missing file is left as it is. 0, or -1
 * with errno.
 */
static int
_chown_evidence_log(const char *path, uid_t uid, gid_t gid)
{
    struct stat st;
    int         fd, rc = 0;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC
              | O_NOCTTY);
    if (fd < 0) {
        return 0;
    }
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        rc = fchown(fd, uid, gid);
    }
    close(fd);
    return rc;
}

/*
 * Detach as daemon(3) does, but keep the parent waiting until the child
 * is ready (pid file written, privileges dropped, "started" logged): an
 * init script that reads the pid file as soon as we return finds it, and
 * a failure after the fork is our exit status, not only a syslog line.
 * The parent exits 0 when the child writes '0' on *ready_fd, else 1.
 */
static int
_detach(int *ready_fd)
{
    int     p[2];
    pid_t   pid;
    char    c = '1';
    ssize_t n;

    if (pipe2(p, O_CLOEXEC) != 0) {
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid > 0) {
        close(p[1]);
        do {
            n = read(p[0], &c, 1);
        } while (n < 0 && errno == EINTR);
        _exit(n == 1 && c == '0' ? 0 : 1);
    }
    close(p[0]);
    if (setsid() < 0 || chdir("/") != 0) {
        close(p[1]);
        return -1;
    }
    *ready_fd = p[1];
    return 0;
}

/* The detached child is ready: stop writing to the terminal, free it, and
 * let the parent exit 0. */
static void
_detached_ready(hg_mconf_t *c, int ready_fd)
{
    int fd;

    hg_log_setup(c->syslog, c->syslog_facility, c->log_level, HG_LOG_NONE);
    fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        (void) dup2(fd, STDIN_FILENO);
        (void) dup2(fd, STDOUT_FILENO);
        (void) dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO) {
            close(fd);
        }
    }
    if (write(ready_fd, "0", 1) != 1) {
        hg_log(HG_LOG_WARNING, "cannot tell the starting process we are "
               "ready: %s; it exits 1 though we run", strerror(errno));
    }
    close(ready_fd);
}

/*
 * Start the inspection helpers. A helper keeps our stderr for its last
 * words; detaching, that is still the starting command's terminal or
 * pipe, which a helper must not hold open after we let the command exit
 * (its caller would wait for the end of that pipe forever): they get
 * /dev/null, as helpers started after the detach do.
 */
static hg_status_t
_start_helpers(const hg_mconf_t *c, int detaching, hg_err_t *err)
{
    hg_status_t st;
    int         saved = -1, null;

    if (detaching && (null = open("/dev/null", O_WRONLY | O_CLOEXEC)) >= 0) {
        saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0);
        if (saved >= 0) {
            (void) dup2(null, STDERR_FILENO);
        }
        close(null);
    }
    st = hg_inspect_pool_start(c, err);
    if (saved >= 0) {
        (void) dup2(saved, STDERR_FILENO);
        close(saved);
    }
    return st;
}

/*
 * Everything after the configuration is loaded: start-up checks, then the
 * milter until it stops. Returns the exit status. Every path, fatal or not,
 * returns here so main() frees what was allocated on the way (*db_path,
 * the database, the evidence log), which keeps LeakSanitizer quiet about
 * configuration errors and -t failures.
 */
static int
_run(hg_mconf_t *c, int check, int foreground, char **db_path_p)
{
    hg_err_t    err;
    uid_t       uid = 0;
    gid_t       gid = 0;
    char        msg[HG_ERR_MAX + 128];
    char        pids[256];
    char       *db_path;
    struct stat st;
    mode_t      old_mask = 0;
    int         r, ready_fd = -1;

    if (c->user != NULL
        && _resolve_user(c, &uid, &gid, msg, sizeof(msg)) != 0)
    {
        fprintf(stderr, "%s\n", msg);
        return 1;
    }
    if (geteuid() == 0 && c->user == NULL) {
        fprintf(stderr, "%s: UserID is not set; hashgate-milter started as "
                "root needs a user to run as\n", c->path);
        return 1;
    }
    if (geteuid() != 0 && c->user != NULL && uid != geteuid()) {
        fprintf(stderr, "%s: UserID '%s': cannot switch user when not "
                "started as root\n", c->path, c->user);
        return 1;
    }
    if ((db_path = *db_path_p = _absolute(c->database)) == NULL) {
        fprintf(stderr, "%s: out of memory\n", c->path);
        return 1;
    }

    /* a daemon shows warnings and errors on the terminal until detached */
    hg_log_setup(check ? 0 : c->syslog, c->syslog_facility,
                 check ? HG_LOG_WARNING : c->log_level,
                 check || !foreground ? HG_LOG_WARNING : c->log_level);
    if (hg_hash_global_init(&err) != HG_OK
        || hg_db_guard_install(&err) != HG_OK)
    {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    if (hg_reload_init(db_path, c->db_keys, &err) != HG_OK) {
        if (check) {
            fprintf(stderr, "%s: Database: %s\n", c->path, err.msg);
            return 1;
        }
        hg_log(HG_LOG_ERR, "%s: Database: %s; running without a database: "
               "every mail gets OnFail %s until a good file is in place",
               c->path, err.msg,
               c->policy.on_fail == HG_FAIL_ACCEPT ? "accept" : "tempfail");
    }
    if (c->socket_group != NULL && getgrnam(c->socket_group) == NULL) {
        fprintf(stderr, "%s: SocketGroup '%s': no such group\n", c->path,
                c->socket_group);
        return 1;
    }
    _warn_unknown_lists(c);
    /* as root, never through a link: the log's directory belongs to the
     * user we run as, and root would append records to (and hand over)
     * whatever file a link left there points to */
    if (c->evidence_log != NULL && geteuid() == 0
        && lstat(c->evidence_log, &st) == 0 && S_ISLNK(st.st_mode))
    {
        fprintf(stderr, "%s: EvidenceLog %s is a symbolic link; started as "
                "root, give the file's own path\n", c->path, c->evidence_log);
        return 1;
    }
    if (c->archives && hg_inspect_pool_init(c, &err) != HG_OK) {
        fprintf(stderr, "%s: InspectHelper: %s (Archives no runs without "
                "it)\n", c->path, err.msg);
        return 1;
    }
    if (check) {
        /* the helper runs and its sandbox loads here; a check as root is
         * no proof it does as UserID, but a missing seccomp shows */
        if (c->archives && hg_inspect_pool_start(c, &err) != HG_OK) {
            fprintf(stderr, "%s: InspectHelper: %s (Archives no runs "
                    "without it)\n", c->path, err.msg);
            return 1;
        }
        /* -t must not create the log: as root it would be root's, and a
         * daemon started as its own user could then not open it */
        if (c->evidence_log != NULL
            && _check_appendable(c->evidence_log, msg, sizeof(msg)) != 0)
        {
            fprintf(stderr, "%s: EvidenceLog: %s\n", c->path, msg);
            return 1;
        }
        if (hg_evidence_check_sinks(c, &err) != HG_OK) {
            fprintf(stderr, "%s: EvidenceLog: %s\n", c->path, err.msg);
            return 1;
        }
        printf("%s: configuration OK, database %s OK\n", c->path, db_path);
        return 0;
    }

    if (hg_evidence_open(c, &err) != HG_OK) {
        fprintf(stderr, "%s: EvidenceLog: %s\n", c->path, err.msg);
        return 1;
    }
    if (c->evidence_log != NULL && c->user != NULL && geteuid() == 0
        && _chown_evidence_log(c->evidence_log, uid, gid) != 0)
    {
        fprintf(stderr, "%s: EvidenceLog: chown %s: %s\n", c->path,
                c->evidence_log, strerror(errno));
        return 1;
    }
    if (smfi_setconn(c->socket) != MI_SUCCESS
        || hg_filter_register(c) != MI_SUCCESS
        || smfi_settimeout((int) c->timeout) != MI_SUCCESS)
    {
        fprintf(stderr, "%s: cannot set up libmilter for Socket %s\n",
                c->path, c->socket);
        return 1;
    }
    /*
     * A unix socket gets its mode from the umask as it is made and its
     * group by lchown: nothing follows a link. Its directory may belong to
     * the user we run as, who could swap the socket for a link to any file
     * before a chmod or chown by path as root.
     */
    if (c->socket_path != NULL && c->socket_mode != -1) {
        old_mask = umask((mode_t) (~c->socket_mode & 0777));
    }
    r = smfi_opensocket(1);
    if (c->socket_path != NULL && c->socket_mode != -1) {
        (void) umask(old_mask);
    }
    if (r != MI_SUCCESS) {
        fprintf(stderr, "%s: Socket %s: cannot listen: %s\n", c->path,
                c->socket, strerror(errno));
        return 1;
    }
    if (c->socket_path != NULL) {
        if (c->socket_group != NULL) {
            struct group *gr = getgrnam(c->socket_group);

            if (gr == NULL) {
                fprintf(stderr, "%s: SocketGroup '%s': no such group\n",
                        c->path, c->socket_group);
                return 1;
            }
            /* already right (a setgid directory) needs no privilege */
            if ((lstat(c->socket_path, &st) != 0 || st.st_gid != gr->gr_gid)
                && lchown(c->socket_path, (uid_t) -1, gr->gr_gid) != 0)
            {
                fprintf(stderr, "%s: SocketGroup '%s': chown %s: %s\n",
                        c->path, c->socket_group, c->socket_path,
                        strerror(errno));
                return 1;
            }
        }
    } else if (_nodelay_listeners() == 0) {
        fprintf(stderr, "%s: Socket %s: cannot set TCP_NODELAY\n", c->path,
                c->socket);
        return 1;
    }

    /* bound now (as root, before detaching), served once detached */
    if (hg_metrics_bind(c, &err) != HG_OK) {
        fprintf(stderr, "%s: MetricsListen %s\n", c->path, err.msg);
        return 1;
    }

    if (!foreground && _detach(&ready_fd) != 0) {
        fprintf(stderr, "%s: cannot detach: %s\n", HG_MILTER_NAME,
                strerror(errno));
        return 1;
    }
    if (c->pid_file != NULL && _write_pid_file(c->pid_file, &err) != HG_OK) {
        hg_log(HG_LOG_ERR, "PidFile: %s", err.msg);
        return 1;
    }
    if (c->user != NULL && geteuid() == 0 && _drop_privileges(uid, gid) != 0) {
        hg_log(HG_LOG_ERR, "cannot drop privileges to %s: %s", c->user,
               strerror(errno));
        return 1;
    }
    /* as the user we run as, from this thread (client.c: PDEATHSIG) */
    if (c->archives && _start_helpers(c, ready_fd != -1, &err) != HG_OK) {
        hg_log(HG_LOG_ERR, "%s: InspectHelper: %s (Archives no runs without "
               "it)", c->path, err.msg);
        return 1;
    }
    if (hg_filter_parallel_start(c, &err) != HG_OK) {
        hg_log(HG_LOG_ERR, "%s: ParallelDigests: %s", c->path, err.msg);
        return 1;
    }
    if (hg_reload_thread_start(c->reload_interval) != 0) {
        hg_log(HG_LOG_ERR, "cannot start the reload thread");
        return 1;
    }
    if (hg_metrics_start(&err) != HG_OK) {
        hg_log(HG_LOG_ERR, "%s: %s", c->path, err.msg);
        return 1;
    }

    pids[0] = '\0';
    if (c->archives) {
        hg_inspect_pool_pids(pids, sizeof(pids));
    }
    hg_log(HG_LOG_INFO, "started version=%s socket=%s user=%s pid=%ld "
           "archives=%s inspect_pids=%s metrics=%s", HG_VERSION, c->socket,
           c->user ? c->user : "-", (long) getpid(),
           c->archives ? "yes" : "no", pids[0] ? pids : "-",
           c->metrics_listen ? c->metrics_listen : "-");
    if (ready_fd != -1) {
        _detached_ready(c, ready_fd);
    }
    r = smfi_main();
    if (r != MI_SUCCESS && hg_reload_stop_signal() == SIGTERM) {
        /*
         * libmilter's signal thread closes the listening socket while its
         * listener may be between two checks of the stop flag; the
         * listener then finds the socket gone and reports a failure
         * ("listenfd=-1 corrupted"). A stop asked for is a clean stop.
         */
        r = MI_SUCCESS;
    }
    hg_log(HG_LOG_INFO, "stopping");

    if (c->pid_file != NULL) {
        (void) unlink(c->pid_file);
    }
    return r == MI_SUCCESS ? 0 : 1;
}

int
main(int argc, char **argv)
{
    const char *conf_path = HG_MILTER_DEFAULT_CONF;
    int         check = 0, foreground = 0, opt, rc;
    hg_mconf_t  conf;
    hg_err_t    err;
    char       *db_path = NULL;
    sigset_t    sigs;
    unsigned    ma, mi, pl;

    /*
     * glibc gives threads up to 8 malloc arenas per core, and each keeps
     * the memory freed into it: libmilter starts a thread for each session
     * busy at once (a thread per connection, or its worker pool), so on a
     * large machine a burst of connections leaves the daemon with dozens
     * of arenas' worth of heap, though a message needs little (it is
     * streamed). Hashing, not malloc, is where the time goes, so a few
     * arenas keep lock contention negligible. Set before any thread
     * exists; an operator's MALLOC_ARENA_MAX still wins.
     */
    if (getenv("MALLOC_ARENA_MAX") == NULL) {
        mallopt(M_ARENA_MAX, HG_MALLOC_ARENAS);
    }

    /*
     * Keep what a message freed for the next one. By default glibc gives
     * an arena's free top back to the kernel from 128 KiB (brk in the
     * main arena, madvise in a thread's), so each mail's buffers were
     * returned and faulted in again, and each return made the kernel
     * interrupt the other cores to flush their TLBs (costly under a
     * hypervisor): with 100 KiB mails that doubled the milter's CPU a
     * mail (2.0 against 1.0 ms; a milter doing nothing takes 0.8). The
     * memory kept is at most what a busy arena used. An operator's
     * MALLOC_TRIM_THRESHOLD_ or glibc.malloc tunables win.
     */
    if (getenv("MALLOC_TRIM_THRESHOLD_") == NULL
        && getenv("MALLOC_MMAP_THRESHOLD_") == NULL
        && (getenv("GLIBC_TUNABLES") == NULL
            || strstr(getenv("GLIBC_TUNABLES"), "glibc.malloc.") == NULL))
    {
        mallopt(M_MMAP_THRESHOLD, HG_MALLOC_MMAP_MIN);
        mallopt(M_TRIM_THRESHOLD, HG_MALLOC_TRIM_MIN);
    }

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

    hg_log_setup(0, LOG_MAIL, HG_LOG_INFO, HG_LOG_INFO);
    if (hg_mconf_load(conf_path, &conf, &err) != HG_OK) {
        fprintf(stderr, "%s\n", err.msg);
        hg_mconf_free(&conf);
        return 1;
    }
    rc = _run(&conf, check, foreground, &db_path);

    if (!check && hg_filter_sessions() > 0) {
        /*
         * Their threads may still read the config, the log and the
         * database, and exit() would run library cleanups under them:
         * end here, freeing nothing (records are written with one
         * write(2) each, nothing is buffered). Postfix applies its
         * milter_default_action to a message they had open.
         */
        _exit(rc);
    }
    /* each of these is safe when its part was never set up */
    hg_metrics_stop();
    hg_inspect_pool_shutdown();
    hg_filter_shutdown();
    hg_evidence_close();
    hg_reload_shutdown();
    hg_mconf_free(&conf);
    free(db_path);
    return rc;
}
