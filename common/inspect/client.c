/*
 * client.c - the caller's side of the inspection helper: start it, hand it
 * a container, read back its entries, and survive it dying, hanging or
 * lying.
 *
 * One hg_inspector_t owns one hashgate-inspect process and the caller's end
 * of a SOCK_SEQPACKET socketpair (proto.h). The process is started on first
 * use and again after it dies; hg_inspector_restarts counts every start
 * after the first, for whatever reason (crash, kill, time limit, a caller
 * that stopped early, a helper retiring after its CPU allowance).
 *
 * Starting it (client_spawn): posix_spawn, which glibc runs with
 * CLONE_VM|CLONE_VFORK and every signal blocked, so it is safe from the
 * milter's threads and from an nginx worker (no fork of a big address
 * space, no atfork handlers, nothing but exec in the child). The child
 * gets the helper's end of the socketpair as descriptor 3, /dev/null as 0
 * and 1, keeps the caller's stderr (2) for its one-line death message, and
 * every other descriptor is closed (posix_spawn_file_actions_addclosefrom_np,
 * glibc 2.34): the milter holds mail and listening sockets, nginx its
 * clients, and none may reach a process that parses hostile bytes. The
 * signal mask is emptied and every handler reset, so a caller that blocks
 * or ignores signals does not pass that on. The environment is rebuilt:
 * only OPENSSL_CONF and OPENSSL_MODULES (the helper hashes with the
 * caller's OpenSSL settings), the sanitizer options, and
 * HASHGATE_INSPECT_TEST=1 when the caller's environment has it (the test
 * hooks, proto.h). When the spawning thread is the process's main thread
 * the helper is asked for PR_SET_PDEATHSIG (--pdeathsig=PID): Linux sends
 * that signal when the *thread* that started the child ends, and a milter
 * thread ends long before its process, so from other threads the helper
 * relies on end of file on its socket, EPIPE, and its CPU-time backstop.
 *
 * Reaping: a helper killed here (time limit, protocol broken, caller
 * stopped) is SIGKILLed and waited for at once. One that closes its socket
 * by itself is given a moment to finish dying (its exit status names the
 * cause: "killed by signal 31 (SIGSYS)"), then killed. One that died while
 * idle is reaped when the next request is sent; it stays a zombie until
 * then. One still dying then (a fatal signal pending, or exiting: its
 * socket stays open until its memory is torn down) is killed and reaped
 * too (client_dying reads /proc), so the request goes to a new helper
 * rather than to one that would close the socket on it. A caller that collects children itself (an nginx SIGCHLD handler,
 * SIGCHLD ignored) leaves waitpid ECHILD: the cause then says so.
 *
 * Blocking use (milter thread, CLI): hg_inspect_run. It holds the
 * inspector's lock for one whole inspection, so milter threads can share
 * one helper; a thread that cannot get the lock before its deadline gets
 * the time limit. Non-blocking use (nginx worker): hg_inspect_send,
 * hg_inspect_poll on each readable event, hg_inspect_deadline and
 * hg_inspect_cancel; the socket is non-blocking, every message is one
 * datagram, so there is never a partial message to keep, only the count
 * and the checking state of the replies (proto.h). Those four take no
 * lock: one caller at a time, and not mixed with hg_inspect_run.
 *
 * A lim->timeout_ms of 0 means HG_INSPECT_TIMEOUT_MS: there is no
 * inspection without a time limit. It runs from hg_inspect_send (starting
 * a helper counts). The walk in the helper is given an absolute deadline
 * (CLOCK_MONOTONIC, which parent and child share) a tenth of the limit
 * earlier (at most CLIENT_GRACE_MS), so it normally stops itself, reports
 * the time limit and serves the next request; the caller's own deadline,
 * the full limit, kills a helper stuck inside one library call.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inspect/proto.h"

/*
 * Where `make install` puts the helper: the Makefile writes it, from
 * PREFIX, into $(BUILD)/gen/inspect_path.h. Builds that are never
 * installed (the fuzz targets) fall back to make's default PREFIX.
 */
#if __has_include("inspect_path.h")
#include "inspect_path.h"
#endif
#ifndef HG_INSPECT_HELPER_PATH
#define HG_INSPECT_HELPER_PATH  "/usr/local/libexec/hashgate/hashgate-inspect"
#endif

/*
 * After end of file on the socket the helper is normally a zombie within
 * microseconds, but a dying process can be preempted on a busy machine.
 * How long to wait (in 0.2 ms steps) for its real exit status before
 * killing it: a milter thread can afford a second; an nginx worker must
 * not stall, and a helper that closed its socket but kept running could
 * make it stall at will.
 */
#define CLIENT_REAP_STEP_NS     200000L
#define CLIENT_REAP_BLOCKING    5000        /* 1 s: hg_inspect_run */
#define CLIENT_REAP_NONBLOCKING 50          /* 10 ms: hg_inspect_poll */

/* How much sooner than the caller's deadline the walk's own time limit
 * falls (a tenth of the limit, at most this). */
#define CLIENT_GRACE_MS     500

/* Variables the helper may see; HASHGATE_INSPECT_TEST only as "1". */
static const char *const client_env_pass[] = {
    "OPENSSL_CONF", "OPENSSL_MODULES",
    "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
    NULL
};
#define CLIENT_ENV_MAX  8

struct hg_inspector_s {
    pthread_mutex_t     lock;           /* hg_inspect_run only */
    char               *path;
    char               *envp[CLIENT_ENV_MAX];
    pid_t               pid;            /* 0: not running */
    int                 sock;           /* -1: not running */
    uint64_t            spawns;

    /* the inspection in progress */
    int                 busy;
    int                 reap_steps;     /* CLIENT_REAP_* */
    uint32_t            seq;
    unsigned            timeout_ms;
    uint64_t            deadline;       /* CLOCK_MONOTONIC, ms */
    uint64_t            bytes;          /* sizes of the entries so far */
    hg_proto_expect_t   x;

    unsigned char      *buf;            /* HG_PROTO_MSG_MAX */
};

static uint64_t
client_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void
client_done(hg_inspect_done_t *done, hg_status_t st, hg_inspect_limit_t lim,
            const hg_inspector_t *in, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
client_done(hg_inspect_done_t *done, hg_status_t st, hg_inspect_limit_t lim,
            const hg_inspector_t *in, const char *fmt, ...)
{
    va_list  ap;

    memset(done, 0, sizeof(*done));
    done->st = st;
    done->limit = lim;
    if (in != NULL) {
        done->files = in->x.entries;
        done->bytes = in->bytes;
    }
    va_start(ap, fmt);
    vsnprintf(done->why, sizeof(done->why), fmt, ap);
    va_end(ap);
}

/*
 * The helper for a caller that named none: hashgate-inspect beside the
 * running program (a build tree), else where `make install` put it, else
 * ../libexec/hashgate/ from the program (an install under another prefix
 * than the build's, such as packages made from a build tree). NULL when
 * none is executable, or out of memory.
 */
static char *
client_path_default(void)
{
    char         exe[PATH_MAX];
    char        *slash, *p;
    ssize_t      n;
    size_t       len, i;
    const char  *const rel[] = { "hashgate-inspect", NULL,
                                 "../libexec/hashgate/hashgate-inspect" };

    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = '\0';
    slash = strrchr(exe, '/');
    if (slash != NULL) {
        slash[1] = '\0';
    }

    for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        if (rel[i] == NULL) {
            p = strdup(HG_INSPECT_HELPER_PATH);
        } else if (slash == NULL) {
            continue;
        } else {
            len = strlen(exe) + strlen(rel[i]) + 1;
            p = malloc(len);
            if (p != NULL) {
                snprintf(p, len, "%s%s", exe, rel[i]);
            }
        }
        if (p == NULL) {
            return NULL;
        }
        if (access(p, X_OK) == 0) {
            return p;
        }
        free(p);
    }
    return NULL;
}

static int
client_env_add(hg_inspector_t *in, size_t *n, const char *name,
               const char *value)
{
    size_t  len = strlen(name) + strlen(value) + 2;
    char   *s;

    if (*n + 1 >= CLIENT_ENV_MAX) {
        return 0;
    }
    s = malloc(len);
    if (s == NULL) {
        return -1;
    }
    snprintf(s, len, "%s=%s", name, value);
    in->envp[(*n)++] = s;
    return 0;
}

hg_inspector_t *
hg_inspector_new(const char *helper_path, hg_err_t *err)
{
    hg_inspector_t  *in;
    const char      *v;
    size_t           n = 0, i;

    in = calloc(1, sizeof(*in));
    if (in == NULL) {
        hg_err_set(err, HG_ENOMEM, "inspection helper: out of memory");
        return NULL;
    }
    in->sock = -1;
    if (pthread_mutex_init(&in->lock, NULL) != 0) {
        free(in);
        hg_err_set(err, HG_ENOMEM, "inspection helper: no mutex");
        return NULL;
    }

    if (helper_path != NULL) {
        in->path = strdup(helper_path);
    } else {
        in->path = client_path_default();
        if (in->path == NULL) {
            /* for the message: where it should have been */
            in->path = strdup(HG_INSPECT_HELPER_PATH);
        }
    }
    in->buf = malloc(HG_PROTO_MSG_MAX);
    if (in->path == NULL || in->buf == NULL) {
        hg_err_set(err, HG_ENOMEM, "inspection helper: out of memory");
        goto fail;
    }
    if (access(in->path, X_OK) != 0) {
        hg_err_sys(err, HG_EIO, "inspection helper %s", in->path);
        goto fail;
    }

    /* copied now: getenv while another thread sets one is not safe */
    v = getenv("HASHGATE_INSPECT_TEST");
    if (v != NULL && strcmp(v, "1") == 0
        && client_env_add(in, &n, "HASHGATE_INSPECT_TEST", "1") < 0)
    {
        goto nomem;
    }
    for (i = 0; client_env_pass[i] != NULL; i++) {
        v = getenv(client_env_pass[i]);
        if (v != NULL && client_env_add(in, &n, client_env_pass[i], v) < 0) {
            goto nomem;
        }
    }
    return in;

nomem:
    hg_err_set(err, HG_ENOMEM, "inspection helper: out of memory");
fail:
    hg_inspector_free(in);
    return NULL;
}

/* "inspection helper killed by signal 9 (SIGKILL)" from a wait status. */
static void
client_status_str(int status, char *buf, size_t len)
{
    const char  *abbrev;

    if (WIFEXITED(status)) {
        snprintf(buf, len, "inspection helper exited %d",
                 WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        abbrev = sigabbrev_np(WTERMSIG(status));
        snprintf(buf, len, "inspection helper killed by signal %d (SIG%s)%s",
                 WTERMSIG(status), abbrev ? abbrev : "?",
                 WTERMSIG(status) == SIGSYS
                 ? ", a system call its sandbox forbids"
                 : WTERMSIG(status) == SIGXCPU ? ", its CPU time limit" : "");
    } else {
        snprintf(buf, len, "inspection helper ended with status 0x%x",
                 (unsigned) status);
    }
}

/* Forget the process (already reaped or gone) and its socket. */
static void
client_forget(hg_inspector_t *in)
{
    if (in->sock >= 0) {
        close(in->sock);
    }
    in->sock = -1;
    in->pid = 0;
    in->busy = 0;
}

/* SIGKILL and reap: for a helper we give up on. */
static void
client_kill(hg_inspector_t *in)
{
    int  status;

    if (in->pid > 0) {
        kill(in->pid, SIGKILL);
        while (waitpid(in->pid, &status, 0) < 0 && errno == EINTR) {
            /* again */
        }
    }
    client_forget(in);
}

/*
 * The helper closed its socket: collect how it ended into cause. It is
 * normally exiting already; if it is still running after the short wait,
 * it is killed and the cause says it closed the socket.
 */
static void
client_reap_dead(hg_inspector_t *in, char *cause, size_t len)
{
    struct timespec  step = { 0, CLIENT_REAP_STEP_NS };
    int              status, i;
    pid_t            r;

    snprintf(cause, len, "inspection helper closed its socket");
    for (i = 0; in->pid > 0; ) {
        r = waitpid(in->pid, &status, WNOHANG);
        if (r == in->pid) {
            client_status_str(status, cause, len);
            break;
        }
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            snprintf(cause, len, "inspection helper gone (its exit status "
                     "was collected elsewhere)");
            break;
        }
        if (++i > in->reap_steps) {
            client_kill(in);
            return;
        }
        nanosleep(&step, NULL);
    }
    client_forget(in);
}

/* /proc/PID/NAME into buf, NUL-terminated; -1 if it cannot be read. */
static int
client_proc_read(pid_t pid, const char *name, char *buf, size_t len)
{
    char     path[64];
    ssize_t  n;
    int      fd;

    snprintf(path, sizeof(path), "/proc/%ld/%s", (long) pid, name);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        return -1;
    }
    n = read(fd, buf, len - 1);
    close(fd);
    if (n <= 0) {
        return -1;
    }
    buf[n] = '\0';
    return 0;
}

/*
 * 1 if the helper (not yet a zombie) is on its way out: a signal pending
 * (one that kills is left pending, shared, until the process is reaped;
 * its signal mask is empty and its handlers are the defaults, so an idle
 * helper has no other kind pending for long), or PF_EXITING set. Such a
 * process still holds its socket open while it tears down its memory, so
 * a request sent to it would be taken for one it died of. 0 if it looks
 * alive or /proc cannot say.
 */
static int
client_dying(pid_t pid)
{
    char           buf[2048], *p, *q;
    unsigned long  flags;
    int            i;

    /* /proc/PID/stat: "pid (comm) state ppid ... flags" (field 9) */
    if (client_proc_read(pid, "stat", buf, sizeof(buf)) != 0) {
        return 0;
    }
    if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ') {
        return 0;
    }
    p += 2;
    if (*p == 'Z' || *p == 'X' || *p == 'x') {
        return 1;
    }
    for (i = 0; i < 6 && p != NULL; i++) {
        p = strchr(p + 1, ' ');
    }
    if (p == NULL) {
        return 0;
    }
    flags = strtoul(p + 1, NULL, 10);
    if (flags & 0x4) {                  /* PF_EXITING */
        return 1;
    }

    if (client_proc_read(pid, "status", buf, sizeof(buf)) != 0) {
        return 0;
    }
    for (p = buf; p != NULL && *p != '\0'; p = q) {
        q = strchr(p, '\n');
        if (q != NULL) {
            q++;
        }
        if ((strncmp(p, "SigPnd:", 7) == 0 || strncmp(p, "ShdPnd:", 7) == 0)
            && strtoull(p + 7, NULL, 16) != 0)
        {
            return 1;
        }
    }
    return 0;
}

/*
 * Before a request: a helper that died while idle (killed, crashed) is
 * reaped, and one that is dying is killed and reaped, so the request goes
 * to a new one and no caller gets the fail verdict for a death that came
 * before its request.
 */
static void
client_check_idle(hg_inspector_t *in)
{
    int  status;

    if (in->pid <= 0) {
        return;
    }
    if (waitpid(in->pid, &status, WNOHANG) != 0) {
        client_forget(in);
    } else if (client_dying(in->pid)) {
        client_kill(in);
    }
}

static hg_status_t
client_spawn(hg_inspector_t *in, hg_err_t *err)
{
    posix_spawn_file_actions_t  fa;
    posix_spawnattr_t           attr;
    sigset_t                    none, all;
    char                        pdeath[32];
    char                       *argv[3];
    int                         sv[2], fd, rc;
    pid_t                       pid;

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        return hg_err_sys(err, HG_EIO, "inspection helper: socketpair");
    }
    /* dup2(3, 3) would leave close-on-exec set: keep the child's end off 3 */
    if (sv[1] <= 3) {
        fd = fcntl(sv[1], F_DUPFD_CLOEXEC, 4);
        if (fd < 0) {
            close(sv[0]);
            close(sv[1]);
            return hg_err_sys(err, HG_EIO, "inspection helper: fcntl");
        }
        close(sv[1]);
        sv[1] = fd;
    }

    argv[0] = in->path;
    argv[1] = NULL;
    argv[2] = NULL;
    if (gettid() == getpid()) {
        snprintf(pdeath, sizeof(pdeath), "--pdeathsig=%ld", (long) getpid());
        argv[1] = pdeath;
    }

    sigemptyset(&none);
    sigfillset(&all);
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    rc = posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
    if (rc == 0) {
        rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
                                              0);
    }
    if (rc == 0) {
        rc = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY,
                                              0);
    }
    if (rc == 0) {
        rc = posix_spawn_file_actions_addclosefrom_np(&fa, 4);
    }
    if (rc == 0) {
        rc = posix_spawnattr_setsigmask(&attr, &none);
    }
    if (rc == 0) {
        rc = posix_spawnattr_setsigdefault(&attr, &all);
    }
    if (rc == 0) {
        rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK
                                      | POSIX_SPAWN_SETSIGDEF);
    }
    if (rc == 0) {
        rc = posix_spawn(&pid, in->path, &fa, &attr, argv, in->envp);
    }
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(sv[1]);

    if (rc != 0) {
        close(sv[0]);
        errno = rc;
        return hg_err_sys(err, HG_EIO, "inspection helper %s", in->path);
    }
    if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
        close(sv[0]);
        in->sock = -1;
        in->pid = pid;
        client_kill(in);
        return hg_err_sys(err, HG_EIO, "inspection helper: fcntl");
    }
    in->pid = pid;
    in->sock = sv[0];
    in->spawns++;
    return HG_OK;
}

/* One sendmsg of the request in in->buf (len bytes), fd beside it. */
static int
client_sendmsg(hg_inspector_t *in, size_t len, int fd)
{
    union {
        struct cmsghdr  h;
        char            b[CMSG_SPACE(sizeof(int))];
    }                   ctl;
    struct msghdr       m;
    struct iovec        iov;
    struct cmsghdr     *c;
    ssize_t             n;

    memset(&m, 0, sizeof(m));
    iov.iov_base = in->buf;
    iov.iov_len = len;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (fd >= 0) {
        memset(&ctl, 0, sizeof(ctl));
        m.msg_control = ctl.b;
        m.msg_controllen = sizeof(ctl.b);
        c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    do {
        n = sendmsg(in->sock, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return -1;
    }
    if ((size_t) n != len) {
        errno = EMSGSIZE;
        return -1;
    }
    return 0;
}

/* Send one request; deadline 0: the time limit from now. */
static hg_status_t
client_send(hg_inspector_t *in, unsigned type, uint32_t arg,
            const void *payload, size_t plen, int fd, uint64_t size,
            unsigned algs, const hg_inspect_limits_t *lim,
            uint64_t deadline, hg_err_t *err)
{
    hg_inspect_limits_t  dflt;
    hg_proto_req_t       r;
    hg_status_t          st;
    int                  attempt;

    if (in->busy) {
        return hg_err_set(err, HG_EINVAL,
                          "inspection helper: an inspection is running");
    }
    if ((type == HG_PROTO_INSPECT && fd < 0) || (algs & ~HG_ALGS_ALL)
        || plen > HG_PROTO_MSG_MAX - sizeof(r))
    {
        return hg_err_set(err, HG_EINVAL, "inspection helper: bad request");
    }
    if (lim == NULL) {
        hg_inspect_limits_default(&dflt);
        lim = &dflt;
    }

    in->seq++;
    hg_proto_req_init(&r, type, in->seq, algs, lim, size);
    r.arg = arg;
    in->timeout_ms = lim->timeout_ms ? lim->timeout_ms
                                     : HG_INSPECT_TIMEOUT_MS;
    in->deadline = deadline ? deadline : client_now_ms() + in->timeout_ms;
    /* the walk's own clock stops a little earlier, so that normally the
     * helper reports the time limit and lives on; ours is for a helper
     * stuck inside one call. An absolute time: starting a helper counts. */
    r.timeout_ms = in->timeout_ms;
    r.deadline_ms = in->deadline - (in->timeout_ms / 10 < CLIENT_GRACE_MS
                                    ? in->timeout_ms / 10 : CLIENT_GRACE_MS);
    r.h.len = (uint32_t) (sizeof(r) + plen);
    memcpy(in->buf, &r, sizeof(r));
    if (plen > 0) {
        memcpy(in->buf + sizeof(r), payload, plen);
    }

    /* a helper found dead (killed while idle) is replaced once, silently */
    client_check_idle(in);
    for (attempt = 0; ; attempt++) {
        if (in->pid == 0) {
            st = client_spawn(in, err);
            if (st != HG_OK) {
                return st;
            }
        }
        if (client_sendmsg(in, sizeof(r) + plen, fd) == 0) {
            break;
        }
        if (attempt == 0 && (errno == EPIPE || errno == ECONNRESET)) {
            client_kill(in);
            continue;
        }
        st = hg_err_sys(err, HG_EIO, "inspection helper: sendmsg");
        client_kill(in);
        return st;
    }

    in->busy = 1;
    in->bytes = 0;
    in->reap_steps = CLIENT_REAP_NONBLOCKING;
    hg_proto_expect(&in->x, &r);
    return HG_OK;
}

hg_status_t
hg_inspect_send(hg_inspector_t *in, int fd, uint64_t size, unsigned algs,
                const hg_inspect_limits_t *lim, hg_err_t *err)
{
    return client_send(in, HG_PROTO_INSPECT, 0, NULL, 0, fd, size, algs, lim,
                       0, err);
}

hg_status_t
hg_inspect_send_type(hg_inspector_t *in, unsigned type, uint32_t arg,
                     const void *payload, size_t plen, int fd, uint64_t size,
                     unsigned algs, const hg_inspect_limits_t *lim,
                     hg_err_t *err)
{
    return client_send(in, type, arg, payload, plen, fd, size, algs, lim,
                       0, err);
}

/* The helper broke the protocol: kill it, fill done. */
static void
client_broke(hg_inspector_t *in, hg_inspect_done_t *done, const char *why)
{
    client_done(done, HG_EIO, HG_INSPECT_LIMIT_NONE, in,
                "inspection helper broke the protocol: %s", why);
    client_kill(in);
}

int
hg_inspect_poll(hg_inspector_t *in, hg_inspect_entry_pt cb, void *ctx,
                hg_inspect_done_t *done)
{
    hg_inspect_entry_t  e;
    struct msghdr       m;
    struct iovec        iov;
    hg_status_t         st;
    ssize_t             n;
    char                why[200];
    int                 r;

    if (!in->busy) {
        client_done(done, HG_EINVAL, HG_INSPECT_LIMIT_NONE, NULL,
                    "inspection helper: no inspection running");
        return 1;
    }

    for (;;) {
        memset(&m, 0, sizeof(m));
        iov.iov_base = in->buf;
        iov.iov_len = HG_PROTO_MSG_MAX;
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        /* no room for control data: a descriptor sent to us is dropped by
         * the kernel and shows as MSG_CTRUNC */
        n = recvmsg(in->sock, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return 0;
            }
            if (errno != ECONNRESET) {
                snprintf(why, sizeof(why), "recvmsg: %s", strerror(errno));
                client_done(done, HG_EIO, HG_INSPECT_LIMIT_NONE, in,
                            "inspection helper: %s", why);
                client_kill(in);
                return 1;
            }
            n = 0;
        }
        if (n == 0) {
            client_reap_dead(in, why, sizeof(why));
            client_done(done, HG_EIO, HG_INSPECT_LIMIT_NONE, in, "%s", why);
            return 1;
        }
        if (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
            client_broke(in, done, (m.msg_flags & MSG_CTRUNC)
                         ? "a reply carried descriptors"
                         : "a reply longer than the protocol allows");
            return 1;
        }

        r = hg_proto_reply_check(&in->x, in->buf, (size_t) n, &e, done, why,
                                 sizeof(why));
        if (r < 0) {
            client_broke(in, done, why);
            return 1;
        }
        if (r == HG_PROTO_DONE) {
            in->busy = 0;
            if (done->limit == HG_INSPECT_LIMIT_TIME) {
                /* the walk stopped at its shorter limit: say the caller's */
                snprintf(done->why, sizeof(done->why), "time limit of %u ms",
                         in->timeout_ms);
            }
            if (in->x.done_flags & HG_PROTO_DONE_RETIRE) {
                client_kill(in);
            }
            return 1;
        }

        in->bytes += e.size;
        st = cb != NULL ? cb(ctx, &e) : HG_OK;
        if (st != HG_OK) {
            /* the rest is not wanted: stopping the helper is the only way
             * to stop it reading the archive */
            client_done(done, st, HG_INSPECT_LIMIT_NONE, in,
                        "inspection stopped by the caller");
            client_kill(in);
            return 1;
        }
    }
}

uint64_t
hg_inspect_deadline(const hg_inspector_t *in)
{
    return in->busy ? in->deadline : 0;
}

void
hg_inspect_cancel(hg_inspector_t *in, hg_inspect_done_t *done)
{
    if (!in->busy) {
        client_done(done, HG_EINVAL, HG_INSPECT_LIMIT_NONE, NULL,
                    "inspection helper: no inspection running");
        return;
    }
    client_done(done, HG_ELIMIT, HG_INSPECT_LIMIT_TIME, in,
                "time limit of %u ms", in->timeout_ms);
    client_kill(in);
}

int
hg_inspector_socket(const hg_inspector_t *in)
{
    return in->sock;
}

pid_t
hg_inspector_pid(const hg_inspector_t *in)
{
    return in->pid;
}

uint64_t
hg_inspector_restarts(const hg_inspector_t *in)
{
    return in->spawns > 0 ? in->spawns - 1 : 0;
}

hg_status_t
hg_inspect_run_type(hg_inspector_t *in, unsigned type, uint32_t arg,
                    const void *payload, size_t plen, int fd, uint64_t size,
                    unsigned algs, const hg_inspect_limits_t *lim,
                    hg_inspect_entry_pt cb, void *ctx,
                    hg_inspect_done_t *done)
{
    struct timespec  abs;
    struct pollfd    pfd;
    hg_err_t         err;
    hg_status_t      st;
    uint64_t         now, deadline;
    unsigned         timeout;
    int              rc;

    timeout = lim != NULL && lim->timeout_ms ? lim->timeout_ms
                                             : HG_INSPECT_TIMEOUT_MS;
    deadline = client_now_ms() + timeout;

    /* waiting for another thread's inspection counts against ours */
    abs.tv_sec = (time_t) (deadline / 1000);
    abs.tv_nsec = (long) (deadline % 1000) * 1000000;
    rc = pthread_mutex_clocklock(&in->lock, CLOCK_MONOTONIC, &abs);
    if (rc != 0) {
        client_done(done, HG_ELIMIT, HG_INSPECT_LIMIT_TIME, NULL,
                    "time limit of %u ms (waiting for the inspection "
                    "helper)", timeout);
        return done->st;
    }

    /* the time spent waiting for the lock counts */
    st = client_send(in, type, arg, payload, plen, fd, size, algs, lim,
                     deadline, &err);
    if (st != HG_OK) {
        client_done(done, st, HG_INSPECT_LIMIT_NONE, NULL, "%s", err.msg);
        pthread_mutex_unlock(&in->lock);
        return st;
    }
    in->reap_steps = CLIENT_REAP_BLOCKING;

    for (;;) {
        if (hg_inspect_poll(in, cb, ctx, done)) {
            break;
        }
        now = client_now_ms();
        if (now >= in->deadline) {
            hg_inspect_cancel(in, done);
            break;
        }
        pfd.fd = in->sock;
        pfd.events = POLLIN;
        pfd.revents = 0;
        /* a few ms past the deadline at worst: poll rounds up */
        rc = poll(&pfd, 1, (int) (in->deadline - now));
        if (rc < 0 && errno != EINTR) {
            client_done(done, HG_EIO, HG_INSPECT_LIMIT_NONE, in,
                        "inspection helper: poll: %s", strerror(errno));
            client_kill(in);
            break;
        }
    }

    pthread_mutex_unlock(&in->lock);
    return done->st;
}

hg_status_t
hg_inspect_run(hg_inspector_t *in, int fd, uint64_t size, unsigned algs,
               const hg_inspect_limits_t *lim, hg_inspect_entry_pt cb,
               void *ctx, hg_inspect_done_t *done)
{
    return hg_inspect_run_type(in, HG_PROTO_INSPECT, 0, NULL, 0, fd, size,
                               algs, lim, cb, ctx, done);
}

void
hg_inspector_free(hg_inspector_t *in)
{
    size_t  i;

    if (in == NULL) {
        return;
    }
    client_kill(in);
    for (i = 0; i < CLIENT_ENV_MAX; i++) {
        free(in->envp[i]);
    }
    free(in->path);
    free(in->buf);
    pthread_mutex_destroy(&in->lock);
    free(in);
}
