/*
 * test_inspect_client.c - the inspection helper as callers meet it: the
 * real build/hashgate-inspect started by common/inspect/client.c, made to
 * misbehave through its test hooks (HASHGATE_INSPECT_TEST=1, proto.h).
 *
 * Proved here: the sandbox (open answered EACCES; execve, socket, fork,
 * writing the container, executable pages kill it; seccomp mode, no new
 * privileges and the rlimits in /proc), a helper that crashes, is killed
 * mid-archive, hangs past its time limit or sends nonsense gives HG_EIO
 * or the time limit with the cause and is back for the next request, no
 * descriptor of the caller reaches it, no zombie is left, it dies with a
 * caller that started it from the main thread but not with a thread that
 * did, the non-blocking calls, and the hooks are off without the
 * variable.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>

#include "inspect/proto.h"
#include "helper_inspect.h"

extern char **environ;

static const char  *helper;

static uint64_t
now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static hg_inspector_t *
start(void)
{
    hg_inspector_t  *in;
    hg_err_t         err;

    in = hg_inspector_new(helper, &err);
    if (in == NULL) {
        fail_msg("hg_inspector_new: %s", err.msg);
    }
    return in;
}

/* Run a test hook, blocking. */
static hg_status_t
hook(hg_inspector_t *in, unsigned type, uint32_t arg, int fd,
     hg_inspect_entry_pt cb, void *ctx, hg_inspect_done_t *done)
{
    hg_inspect_limits_t  lim;

    hg_inspect_limits_default(&lim);
    lim.timeout_ms = 5000;
    return hg_inspect_run_type(in, type, arg, NULL, 0, fd, 0, HG_ALGS_ALL,
                               &lim, cb, ctx, done);
}

static void
assert_contains(const char *s, const char *want)
{
    if (strstr(s, want) == NULL) {
        fail_msg("wanted \"%s\" in \"%s\"", want, s);
    }
}

/* The helper is there and answers: the open hook gives EACCES. */
static void
assert_serves(hg_inspector_t *in)
{
    hg_inspect_done_t  done;

    assert_int_equal(hook(in, HG_PROTO_TEST_SYSCALL, HG_PROTO_SYS_OPEN, -1,
                          NULL, NULL, &done), HG_OK);
    assert_contains(done.why, "errno 13 (EACCES)");
    assert_true(hg_inspector_pid(in) > 0);
}

/* Is pid gone (reaped, or a zombie of someone else's)? */
static int
process_gone(pid_t pid)
{
    char   path[64], buf[512], *p;
    FILE  *f;
    int    gone = 1;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long) pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return 1;
    }
    if (fgets(buf, sizeof(buf), f) != NULL) {
        p = strrchr(buf, ')');
        gone = p != NULL && (p[2] == 'Z' || p[2] == 'X');
    }
    fclose(f);
    return gone;
}

/* A child of ours that has ended but was not waited for. */
static pid_t
zombie_child(void)
{
    siginfo_t  si;

    memset(&si, 0, sizeof(si));
    if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0) {
        return 0;               /* ECHILD: no children at all */
    }
    return si.si_pid;
}

static void
test_open_is_answered_eacces(void **state)
{
    hg_inspector_t     *in = start();
    hg_inspect_done_t   done;

    (void) state;
    assert_int_equal(hook(in, HG_PROTO_TEST_SYSCALL, HG_PROTO_SYS_OPEN, -1,
                          NULL, NULL, &done), HG_OK);
    assert_string_equal(done.why, "open /etc/passwd: errno 13 (EACCES)");
    assert_int_equal(hook(in, HG_PROTO_TEST_SYSCALL, HG_PROTO_SYS_OPENAT, -1,
                          NULL, NULL, &done), HG_OK);
    assert_string_equal(done.why, "openat /etc/passwd: errno 13 (EACCES)");
    assert_int_equal(hg_inspector_restarts(in), 0);
    hg_inspector_free(in);
}

/* A forbidden call kills the helper (SIGSYS); the next request works. */
static void
forbidden_kills(unsigned what, int fd)
{
    hg_inspector_t     *in = start();
    hg_inspect_done_t   done;
    pid_t               pid;

    assert_serves(in);
    pid = hg_inspector_pid(in);
    assert_int_equal(hook(in, HG_PROTO_TEST_SYSCALL, what, fd, NULL, NULL,
                          &done), HG_EIO);
    assert_int_equal(done.st, HG_EIO);
    assert_contains(done.why, "inspection helper killed by signal 31 "
                    "(SIGSYS), a system call its sandbox forbids");
    assert_int_equal(hg_inspector_pid(in), 0);
    assert_true(process_gone(pid));
    assert_int_equal(zombie_child(), 0);

    assert_serves(in);
    assert_int_equal(hg_inspector_restarts(in), 1);
    assert_true(hg_inspector_pid(in) != pid);
    hg_inspector_free(in);
}

static void
test_execve_kills_the_helper(void **state)
{
    (void) state;
    forbidden_kills(HG_PROTO_SYS_EXECVE, -1);
}

static void
test_socket_kills_the_helper(void **state)
{
    (void) state;
    forbidden_kills(HG_PROTO_SYS_SOCKET, -1);
}

static void
test_fork_kills_the_helper(void **state)
{
    (void) state;
    forbidden_kills(HG_PROTO_SYS_FORK, -1);
}

static void
test_executable_pages_kill_the_helper(void **state)
{
    (void) state;
    forbidden_kills(HG_PROTO_SYS_MPROTECT_EXEC, -1);
}

static void
test_writing_the_container_kills_the_helper(void **state)
{
    int  fd = memfd_create("container", MFD_CLOEXEC);

    (void) state;
    assert_true(fd >= 0);
    forbidden_kills(HG_PROTO_SYS_WRITE_FD, fd);
    close(fd);
}

static void
test_helper_runs_under_seccomp_and_rlimits(void **state)
{
    hg_inspector_t  *in = start();
    char             path[64], line[256];
    FILE            *f;
    int              seccomp = 0, nnp = 0, nlim = 0;

    (void) state;
    assert_serves(in);

    snprintf(path, sizeof(path), "/proc/%ld/status",
             (long) hg_inspector_pid(in));
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        seccomp |= strcmp(line, "Seccomp:\t2\n") == 0;
        nnp |= strcmp(line, "NoNewPrivs:\t1\n") == 0;
    }
    fclose(f);
    assert_true(seccomp);
    assert_true(nnp);

    snprintf(path, sizeof(path), "/proc/%ld/limits",
             (long) hg_inspector_pid(in));
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        static const struct {
            const char  *name;
            const char  *soft;
        } want[] = {
#if !defined(__SANITIZE_ADDRESS__)
            { "Max address space ", "1073741824" },
#endif
            { "Max open files ", "8" },
            { "Max file size ", "0" },
            { "Max core file size ", "0" },
            { "Max processes ", "0" },
            { "Max cpu time ", "600" },
        };
        char    soft[32];
        size_t  i;

        for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
            if (strncmp(line, want[i].name, strlen(want[i].name)) == 0) {
                assert_int_equal(sscanf(line + 25, "%31s", soft), 1);
                assert_string_equal(soft, want[i].soft);
                nlim++;
            }
        }
    }
    fclose(f);
#if !defined(__SANITIZE_ADDRESS__)
    assert_int_equal(nlim, 6);
#else
    assert_int_equal(nlim, 5);
#endif
    hg_inspector_free(in);
}

static void
test_crash_gives_eio_with_the_signal(void **state)
{
    hg_inspector_t     *in = start();
    hg_inspect_done_t   done;

    (void) state;
    assert_int_equal(hook(in, HG_PROTO_TEST_CRASH, 0, -1, NULL, NULL, &done),
                     HG_EIO);
    assert_string_equal(done.why,
                        "inspection helper killed by signal 11 (SIGSEGV)");
    assert_int_equal(done.files, 0);
    assert_int_equal(zombie_child(), 0);
    assert_serves(in);
    assert_int_equal(hg_inspector_restarts(in), 1);
    hg_inspector_free(in);
}

typedef struct {
    hg_inspector_t     *in;
    int                 entries;
    hg_status_t         answer;
} killer_t;

/* On the first entry, kill the helper: it is mid-archive. */
static hg_status_t
kill_on_entry(void *ctx, const hg_inspect_entry_t *e)
{
    killer_t  *k = ctx;

    assert_string_equal(e->path, "stall.bin");
    if (k->entries++ == 0) {
        kill(hg_inspector_pid(k->in), SIGKILL);
    }
    return HG_OK;
}

static void
test_sigkill_mid_archive_is_eio_and_helper_back(void **state)
{
    hg_inspector_t     *in = start();
    hg_inspect_done_t   done;
    killer_t            k = { in, 0, HG_OK };

    (void) state;
    assert_int_equal(hook(in, HG_PROTO_TEST_STALL, 0, -1, kill_on_entry, &k,
                          &done), HG_EIO);
    assert_int_equal(k.entries, 1);
    assert_int_equal(done.files, 1);
    assert_string_equal(done.why,
                        "inspection helper killed by signal 9 (SIGKILL)");
    assert_int_equal(zombie_child(), 0);
    assert_serves(in);
    assert_int_equal(hg_inspector_restarts(in), 1);
    hg_inspector_free(in);
}

static void
test_hang_gives_the_time_limit(void **state)
{
    hg_inspector_t       *in = start();
    hg_inspect_limits_t   lim;
    hg_inspect_done_t     done;
    uint64_t              t0, took;
    pid_t                 pid;

    (void) state;
    assert_serves(in);
    pid = hg_inspector_pid(in);
    hg_inspect_limits_default(&lim);
    lim.timeout_ms = 300;
    t0 = now_ms();
    assert_int_equal(hg_inspect_run_type(in, HG_PROTO_TEST_HANG, 0, NULL, 0,
                                         -1, 0, HG_ALGS_ALL, &lim, NULL,
                                         NULL, &done), HG_ELIMIT);
    took = now_ms() - t0;
    assert_int_equal(done.limit, HG_INSPECT_LIMIT_TIME);
    assert_string_equal(done.why, "time limit of 300 ms");
    assert_true(took >= 300);
    assert_true(took < 2000);
    assert_true(process_gone(pid));
    assert_int_equal(zombie_child(), 0);
    assert_serves(in);
    assert_int_equal(hg_inspector_restarts(in), 1);
    hg_inspector_free(in);
}

/* ---- replies written by the test, sent back by the helper ---- */

typedef struct {
    unsigned char  b[HG_PROTO_MSG_MAX - sizeof(hg_proto_req_t)];
    size_t         len;
} echo_t;

static void
echo_add(echo_t *p, const void *msg, size_t len)
{
    uint32_t  n = (uint32_t) len;

    assert_true(p->len + 4 + len <= sizeof(p->b));
    memcpy(p->b + p->len, &n, 4);
    memcpy(p->b + p->len + 4, msg, len);
    p->len += 4 + len;
}

static void
echo_entry(echo_t *p, unsigned depth, unsigned flags, const char *path,
           const char *chain)
{
    hg_inspect_entry_t  e;
    unsigned char       m[4096];
    const char         *slash = strrchr(path, '/');

    memset(&e, 0, sizeof(e));
    e.depth = depth;
    e.flags = flags;
    e.path = path;
    e.chain = chain;
    e.name = slash ? slash + 1 : path;
    e.format = "zip";
    e.size = 3;
    e.digests.algs = HG_ALG_BIT(HG_ALG_SHA256);
    e.digests.size = 3;
    memset(e.digests.d[HG_ALG_SHA256], depth, 32);
    echo_add(p, m, hg_proto_entry_encode(m, sizeof(m), 0, &e));
}

static void
echo_done(echo_t *p, hg_status_t st, uint64_t files)
{
    hg_inspect_done_t  d;
    hg_proto_done_t    m;

    memset(&d, 0, sizeof(d));
    d.st = st;
    d.files = files;
    d.bytes = 3 * files;
    snprintf(d.why, sizeof(d.why), "walked");
    echo_add(p, &m, hg_proto_done_encode(&m, 0, &d, 0));
}

static hg_status_t
run_echo(hg_inspector_t *in, const echo_t *p, uint32_t stamp,
         hg_inspect_entry_pt cb, void *ctx, hg_inspect_done_t *done)
{
    hg_inspect_limits_t  lim;

    hg_inspect_limits_default(&lim);
    lim.timeout_ms = 5000;
    return hg_inspect_run_type(in, HG_PROTO_TEST_ECHO, stamp, p->b, p->len,
                               -1, 0, HG_ALGS_ALL, &lim, cb, ctx, done);
}

typedef struct {
    int             n;
    char            paths[4][64];
    char            chains[4][64];
    unsigned        depth[4];
    unsigned char   d[4];
    hg_status_t     answer;
} seen_t;

static hg_status_t
collect(void *ctx, const hg_inspect_entry_t *e)
{
    seen_t  *s = ctx;

    if (s->n < 4) {
        snprintf(s->paths[s->n], 64, "%s", e->path);
        snprintf(s->chains[s->n], 64, "%s", e->chain);
        s->depth[s->n] = e->depth;
        s->d[s->n] = e->digests.d[HG_ALG_SHA256][0];
    }
    s->n++;
    return s->answer;
}

static void
test_entries_and_done_reach_the_caller(void **state)
{
    hg_inspector_t     *in = start();
    hg_inspect_done_t   done;
    echo_t             *p = calloc(1, sizeof(*p));
    seen_t              s;

    (void) state;
    echo_entry(p, 1, HG_INSPECT_F_CONTAINER, "inner.zip", "!inner.zip");
    echo_entry(p, 2, 0, "sub/b.jpg", "!inner.zip!sub/b.jpg");
    echo_done(p, HG_OK, 2);
    memset(&s, 0, sizeof(s));
    assert_int_equal(run_echo(in, p, 1, collect, &s, &done), HG_OK);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.paths[0], "inner.zip");
    assert_string_equal(s.chains[1], "!inner.zip!sub/b.jpg");
    assert_int_equal(s.depth[1], 2);
    assert_int_equal(s.d[1], 2);
    assert_int_equal(done.st, HG_OK);
    assert_int_equal(done.files, 2);
    assert_int_equal(done.bytes, 6);
    assert_string_equal(done.why, "walked");

    /* the same helper serves the next request */
    assert_serves(in);
    assert_int_equal(hg_inspector_restarts(in), 0);
    free(p);
    hg_inspector_free(in);
}

/* A malformed reply: HG_EIO naming the fault, the helper killed. */
static void
malformed(const echo_t *p, uint32_t stamp, const char *want)
{
    hg_inspector_t     *in = start();
    hg_inspect_done_t   done;
    seen_t              s;
    pid_t               pid;

    assert_serves(in);
    pid = hg_inspector_pid(in);
    memset(&s, 0, sizeof(s));
    assert_int_equal(run_echo(in, p, stamp, collect, &s, &done), HG_EIO);
    assert_contains(done.why, "inspection helper broke the protocol: ");
    assert_contains(done.why, want);
    assert_true(process_gone(pid));
    assert_int_equal(zombie_child(), 0);
    assert_serves(in);
    assert_int_equal(hg_inspector_restarts(in), 1);
    hg_inspector_free(in);
}

static void
test_malformed_replies_kill_the_helper(void **state)
{
    echo_t         *p = calloc(1, sizeof(*p));
    unsigned char   junk[40];

    (void) state;
    memset(junk, 0x5a, sizeof(junk));
    echo_add(p, junk, sizeof(junk));
    malformed(p, 0, "reply magic");

    /* an entry for another request (no seq stamped in) */
    memset(p, 0, sizeof(*p));
    echo_entry(p, 1, 0, "a", "!a");
    malformed(p, 0, "reply to request 0");

    /* a file three levels down with nothing around it */
    memset(p, 0, sizeof(*p));
    echo_entry(p, 3, 0, "a", "!a");
    malformed(p, 1, "entry depth 3 after depth 0");

    /* done counting entries it never sent */
    memset(p, 0, sizeof(*p));
    echo_entry(p, 1, 0, "a", "!a");
    echo_done(p, HG_OK, 5);
    malformed(p, 1, "done says 5 entries, sent 1");
    free(p);
}

static void
test_caller_stopping_early_stops_the_helper(void **state)
{
    hg_inspector_t     *in = start();
    hg_inspect_done_t   done;
    echo_t             *p = calloc(1, sizeof(*p));
    seen_t              s;
    pid_t               pid;

    (void) state;
    echo_entry(p, 1, 0, "a", "!a");
    echo_entry(p, 1, 0, "b", "!b");
    echo_done(p, HG_OK, 2);
    memset(&s, 0, sizeof(s));
    s.answer = HG_ECANCEL;
    assert_serves(in);
    pid = hg_inspector_pid(in);
    assert_int_equal(run_echo(in, p, 1, collect, &s, &done), HG_ECANCEL);
    assert_int_equal(s.n, 1);
    assert_int_equal(done.files, 1);
    assert_string_equal(done.why, "inspection stopped by the caller");
    assert_true(process_gone(pid));
    assert_serves(in);
    free(p);
    hg_inspector_free(in);
}

static void
test_helper_killed_while_idle_is_replaced_silently(void **state)
{
    hg_inspector_t  *in = start();
    pid_t            pid;

    (void) state;
    assert_serves(in);
    pid = hg_inspector_pid(in);
    kill(pid, SIGKILL);
    while (!process_gone(pid)) {
        usleep(1000);
    }
    /* not a failure of the next request: that one never reached it */
    assert_serves(in);
    assert_int_equal(hg_inspector_restarts(in), 1);
    assert_int_equal(zombie_child(), 0);
    hg_inspector_free(in);
}

static void
test_no_descriptor_of_the_caller_reaches_the_helper(void **state)
{
    hg_inspector_t      *in;
    struct sockaddr_in   a;
    struct dirent       *de;
    DIR                 *d;
    char                 path[64], link[256];
    int                  file, pipes[2], lsn, seen = 0, fd;
    ssize_t              n;

    (void) state;
    /* descriptors without close-on-exec, as a careless caller has */
    file = open("/dev/zero", O_RDONLY);
    assert_true(file >= 0);
    assert_int_equal(pipe(pipes), 0);
    lsn = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(lsn >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lsn, (struct sockaddr *) &a, sizeof(a)), 0);
    assert_int_equal(listen(lsn, 1), 0);

    in = start();
    assert_serves(in);
    snprintf(path, sizeof(path), "/proc/%ld/fd", (long) hg_inspector_pid(in));
    d = opendir(path);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }
        fd = atoi(de->d_name);
        if (fd < 0 || fd > 3) {
            fail_msg("the helper holds descriptor %d", fd);
        }
        seen |= 1 << fd;
        snprintf(path, sizeof(path), "/proc/%ld/fd/%d",
                 (long) hg_inspector_pid(in), fd);
        n = readlink(path, link, sizeof(link) - 1);
        assert_true(n > 0);
        link[n] = '\0';
        if (fd <= 1) {
            assert_string_equal(link, "/dev/null");
        } else if (fd == 3) {
            assert_int_equal(strncmp(link, "socket:", 7), 0);
        }
    }
    closedir(d);
    assert_int_equal(seen, 0xf);

    hg_inspector_free(in);
    close(file);
    close(pipes[0]);
    close(pipes[1]);
    close(lsn);
}

static void
test_no_zombie_after_free(void **state)
{
    hg_inspector_t     *in = start();
    hg_inspect_done_t   done;
    pid_t               pid;

    (void) state;
    hook(in, HG_PROTO_TEST_CRASH, 0, -1, NULL, NULL, &done);
    assert_serves(in);
    pid = hg_inspector_pid(in);
    hg_inspector_free(in);
    assert_true(process_gone(pid));
    assert_int_equal(zombie_child(), 0);
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

static void
test_nonblocking_send_poll_and_cancel(void **state)
{
    hg_inspector_t       *in = start();
    hg_inspect_limits_t   lim;
    hg_inspect_done_t     done;
    struct pollfd         pfd;
    hg_err_t              err;
    echo_t               *p = calloc(1, sizeof(*p));
    seen_t                s;
    uint64_t              deadline;
    int                   r;

    (void) state;
    hg_inspect_limits_default(&lim);
    lim.timeout_ms = 250;

    /* replies arrive as events; poll hands them over */
    echo_entry(p, 1, 0, "a", "!a");
    echo_done(p, HG_OK, 1);
    memset(&s, 0, sizeof(s));
    assert_int_equal(hg_inspect_send_type(in, HG_PROTO_TEST_ECHO, 1, p->b,
                                          p->len, -1, 0, HG_ALGS_ALL, &lim,
                                          &err), HG_OK);
    deadline = hg_inspect_deadline(in);
    assert_true(deadline >= now_ms() + 200 && deadline <= now_ms() + 250);
    /* a second one while the first runs is refused */
    assert_int_equal(hg_inspect_send_type(in, HG_PROTO_TEST_ECHO, 1, p->b,
                                          p->len, -1, 0, HG_ALGS_ALL, &lim,
                                          &err), HG_EINVAL);
    for (r = 0; r == 0; ) {
        pfd.fd = hg_inspector_socket(in);
        pfd.events = POLLIN;
        assert_int_equal(poll(&pfd, 1, 2000), 1);
        r = hg_inspect_poll(in, collect, &s, &done);
    }
    assert_int_equal(done.st, HG_OK);
    assert_int_equal(s.n, 1);
    assert_int_equal(hg_inspect_deadline(in), 0);

    /* a hang: nothing arrives, the caller cancels at the deadline */
    assert_int_equal(hg_inspect_send_type(in, HG_PROTO_TEST_HANG, 0, NULL, 0,
                                          -1, 0, HG_ALGS_ALL, &lim, &err),
                     HG_OK);
    assert_int_equal(hg_inspect_poll(in, collect, &s, &done), 0);
    pfd.fd = hg_inspector_socket(in);
    pfd.events = POLLIN;
    assert_int_equal(poll(&pfd, 1, 300), 0);
    assert_int_equal(hg_inspect_poll(in, collect, &s, &done), 0);
    assert_true(now_ms() >= hg_inspect_deadline(in));
    hg_inspect_cancel(in, &done);
    assert_int_equal(done.st, HG_ELIMIT);
    assert_int_equal(done.limit, HG_INSPECT_LIMIT_TIME);
    assert_string_equal(done.why, "time limit of 250 ms");
    assert_int_equal(hg_inspector_pid(in), 0);
    assert_int_equal(zombie_child(), 0);
    free(p);
    hg_inspector_free(in);
}

/* A helper that closes its socket and runs on cannot stall the caller:
 * poll gives up on it within milliseconds and kills it. */
static void
test_helper_closing_its_socket_cannot_stall_poll(void **state)
{
    hg_inspector_t       *in = start();
    hg_inspect_limits_t   lim;
    hg_inspect_done_t     done;
    struct pollfd         pfd;
    hg_err_t              err;
    uint64_t              t0;
    pid_t                 pid;

    (void) state;
    assert_serves(in);
    pid = hg_inspector_pid(in);
    hg_inspect_limits_default(&lim);
    assert_int_equal(hg_inspect_send_type(in, HG_PROTO_TEST_CLOSE, 0, NULL,
                                          0, -1, 0, HG_ALGS_ALL, &lim, &err),
                     HG_OK);
    pfd.fd = hg_inspector_socket(in);
    pfd.events = POLLIN;
    assert_int_equal(poll(&pfd, 1, 2000), 1);
    t0 = now_ms();
    assert_int_equal(hg_inspect_poll(in, NULL, NULL, &done), 1);
    assert_true(now_ms() - t0 < 100);
    assert_int_equal(done.st, HG_EIO);
    assert_string_equal(done.why, "inspection helper closed its socket");
    assert_true(process_gone(pid));
    assert_int_equal(zombie_child(), 0);
    assert_serves(in);
    hg_inspector_free(in);
}

static void *
serve_from_thread(void *arg)
{
    assert_serves(arg);
    return NULL;
}

static void
test_helper_outlives_the_thread_that_started_it(void **state)
{
    hg_inspector_t  *in = start();
    pthread_t        t;
    pid_t            pid;

    (void) state;
    assert_int_equal(pthread_create(&t, NULL, serve_from_thread, in), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    pid = hg_inspector_pid(in);
    usleep(200 * 1000);
    assert_false(process_gone(pid));
    assert_serves(in);
    assert_int_equal(hg_inspector_pid(in), pid);
    assert_int_equal(hg_inspector_restarts(in), 0);
    hg_inspector_free(in);
}

static void
test_helper_dies_with_its_caller(void **state)
{
    hg_inspect_limits_t  lim;
    hg_inspector_t      *in;
    hg_err_t             err;
    int                  p[2], i;
    pid_t                child, pid = 0;

    (void) state;
    assert_int_equal(pipe(p), 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        /* a caller that starts a helper spinning on an archive, then dies
         * without a word: only PR_SET_PDEATHSIG can stop the spinning */
        in = hg_inspector_new(helper, &err);
        hg_inspect_limits_default(&lim);
        if (in == NULL) {
            _exit(1);
        }
        assert_serves(in);      /* set up and sandboxed */
        if (hg_inspect_send_type(in, HG_PROTO_TEST_HANG, 0, NULL, 0, -1,
                                 0, HG_ALGS_ALL, &lim, &err) != HG_OK)
        {
            _exit(1);
        }
        usleep(50 * 1000);      /* spinning now */
        pid = hg_inspector_pid(in);
        if (write(p[1], &pid, sizeof(pid)) != sizeof(pid)) {
            _exit(1);
        }
        _exit(0);
    }
    close(p[1]);
    assert_int_equal(read(p[0], &pid, sizeof(pid)), sizeof(pid));
    close(p[0]);
    assert_int_equal(waitpid(child, NULL, 0), child);
    for (i = 0; i < 200 && !process_gone(pid); i++) {
        usleep(10 * 1000);
    }
    if (!process_gone(pid)) {
        kill(pid, SIGKILL);
        fail_msg("helper %ld still running 2 s after its caller died",
                 (long) pid);
    }
}

static void
test_hooks_are_off_without_the_variable(void **state)
{
    hg_inspector_t     *in;
    hg_inspect_done_t   done;

    (void) state;
    unsetenv("HASHGATE_INSPECT_TEST");
    in = start();
    setenv("HASHGATE_INSPECT_TEST", "1", 1);
    assert_int_equal(hook(in, HG_PROTO_TEST_CRASH, 0, -1, NULL, NULL, &done),
                     HG_EINVAL);
    assert_contains(done.why, "refused (test hooks are off)");
    assert_int_equal(hook(in, HG_PROTO_TEST_SYSCALL, HG_PROTO_SYS_EXECVE, -1,
                          NULL, NULL, &done), HG_EINVAL);
    assert_int_equal(hg_inspector_restarts(in), 0);
    hg_inspector_free(in);

    /* any value but "1" is off too */
    setenv("HASHGATE_INSPECT_TEST", "yes", 1);
    in = start();
    setenv("HASHGATE_INSPECT_TEST", "1", 1);
    assert_int_equal(hook(in, HG_PROTO_TEST_CRASH, 0, -1, NULL, NULL, &done),
                     HG_EINVAL);
    hg_inspector_free(in);
}

/* ---- a real archive, through the spool and the helper ---- */

#define ZIP_FILES   3

/* File i of the test zip: seeded bytes. */
static void
zip_file(unsigned i, unsigned char *b, size_t n)
{
    hgt_fill(b, n, 100 + i);
}

/* A zip of ZIP_FILES files, written by libarchive into buf; its length. */
static size_t
zip_make(unsigned char *buf, size_t cap)
{
    struct archive        *a = archive_write_new();
    struct archive_entry  *e;
    unsigned char          data[20000];
    char                   name[32];
    size_t                 used = 0;
    unsigned               i;

    assert_non_null(a);
    assert_int_equal(archive_write_set_format_zip(a), ARCHIVE_OK);
    assert_int_equal(archive_write_open_memory(a, buf, cap, &used),
                     ARCHIVE_OK);
    for (i = 0; i < ZIP_FILES; i++) {
        zip_file(i, data, sizeof(data));
        snprintf(name, sizeof(name), "dir/f%u.bin", i);
        e = archive_entry_new();
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, sizeof(data));
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        assert_int_equal(archive_write_data(a, data, sizeof(data)),
                         (ssize_t) sizeof(data));
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    return used;
}

typedef struct {
    int             n;
    int             ok[ZIP_FILES];
} zip_seen_t;

static hg_status_t
zip_check(void *ctx, const hg_inspect_entry_t *e)
{
    zip_seen_t     *z = ctx;
    unsigned char   data[20000];
    char            want[32];
    hg_digests_t    d;
    unsigned        i;

    z->n++;
    for (i = 0; i < ZIP_FILES; i++) {
        snprintf(want, sizeof(want), "!dir/f%u.bin", i);
        if (strcmp(e->chain, want) != 0) {
            continue;
        }
        zip_file(i, data, sizeof(data));
        hgt_digests(data, sizeof(data), &d);
        z->ok[i] = e->depth == 1 && e->size == sizeof(data)
                   && strcmp(e->format, "zip") == 0
                   && strcmp(e->name, want + 5) == 0
                   && e->digests.algs == HG_ALGS_ALL
                   && memcmp(e->digests.d, d.d, sizeof(d.d)) == 0;
    }
    return HG_OK;
}

static void
test_zip_round_trip_through_spool_and_helper(void **state)
{
    static unsigned char  zip[200000];
    static const size_t   chunks[] = { 1000 };
    hg_inspector_t       *in = start();
    hg_inspect_done_t     done;
    hg_spool_t           *sp = hg_spool_new();
    hg_status_t           st;
    hg_err_t              err;
    const char           *format;
    zip_seen_t            z;
    uint64_t              size;
    size_t                len;
    int                   fd, round;

    (void) state;
    len = zip_make(zip, sizeof(zip));
    hg_spool_begin(sp, HG_INSPECT_MAX_FILE_BYTES);
    assert_int_equal(hgt_spool_feed(sp, zip, len, chunks, 1), HG_OK);
    assert_int_equal(hg_spool_end(sp, &fd, &size, &format, &st, &err), 1);
    assert_string_equal(format, "zip");

    /* twice: the same helper, the same answer */
    for (round = 0; round < 2; round++) {
        memset(&z, 0, sizeof(z));
        assert_int_equal(hg_inspect_run(in, fd, size, HG_ALGS_ALL, NULL,
                                        zip_check, &z, &done), HG_OK);
        assert_int_equal(z.n, ZIP_FILES);
        assert_true(z.ok[0] && z.ok[1] && z.ok[2]);
        assert_int_equal(done.files, ZIP_FILES);
        assert_int_equal(done.bytes, ZIP_FILES * 20000);
    }
    assert_int_equal(hg_inspector_restarts(in), 0);
    hg_spool_free(sp);
    hg_inspector_free(in);
}

/* ---- what client.c hands the process it starts ---- */

/*
 * This binary started by client.c in place of the helper: report on
 * stderr the descriptors it holds (and where 0 and 1 lead), its blocked
 * signals, whether SIGUSR2 is ignored, and its environment; then exit.
 */
static int
fake_helper(void)
{
    struct sigaction  sa;
    struct dirent    *de;
    sigset_t          blocked;
    DIR              *d;
    char              path[64], link[256];
    ssize_t           n;
    int               i;

    d = opendir("/proc/self/fd");
    if (d == NULL) {
        return 1;
    }
    dprintf(2, "fds:");
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d)) {
            dprintf(2, " %s", de->d_name);
        }
    }
    closedir(d);
    for (i = 0; i <= 1; i++) {
        snprintf(path, sizeof(path), "/proc/self/fd/%d", i);
        n = readlink(path, link, sizeof(link) - 1);
        link[n > 0 ? n : 0] = '\0';
        dprintf(2, "\n%d: %s", i, link);
    }
    sigprocmask(SIG_BLOCK, NULL, &blocked);
    sigaction(SIGUSR2, NULL, &sa);
    dprintf(2, "\nSIGTERM blocked: %d\nSIGUSR2 ignored: %d\nenv:",
            sigismember(&blocked, SIGTERM), sa.sa_handler == SIG_IGN);
    for (i = 0; environ[i] != NULL; i++) {
        dprintf(2, " %s", environ[i]);
    }
    dprintf(2, "\n");
    return 0;
}

static void
test_spawn_passes_only_its_socket_and_resets_signals(void **state)
{
    hg_inspector_t     *in;
    hg_inspect_done_t   done;
    hg_err_t            err;
    sigset_t            block, old;
    char                report[2048], *env, *tok;
    int                 saved, out, file, lsn, pipes[2];
    ssize_t             n;

    (void) state;
    /* what a careless caller has: descriptors without close-on-exec,
     * signals blocked and ignored, variables of its own */
    file = open("/dev/zero", O_RDONLY);
    assert_int_equal(pipe(pipes), 0);
    lsn = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(file >= 0 && lsn >= 0);
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    signal(SIGUSR2, SIG_IGN);
    setenv("HG_SECRET", "not for the helper", 1);

    in = hg_inspector_new(hgt_self(), &err);
    assert_non_null(in);

    /* its stderr is ours: catch it */
    out = memfd_create("report", MFD_CLOEXEC);
    saved = dup(2);
    dup2(out, 2);
    hook(in, HG_PROTO_TEST_SYSCALL, HG_PROTO_SYS_OPEN, -1, NULL, NULL,
         &done);
    dup2(saved, 2);
    close(saved);
    hg_inspector_free(in);

    pthread_sigmask(SIG_SETMASK, &old, NULL);
    signal(SIGUSR2, SIG_DFL);
    unsetenv("HG_SECRET");
    close(file);
    close(pipes[0]);
    close(pipes[1]);
    close(lsn);

    n = pread(out, report, sizeof(report) - 1, 0);
    close(out);
    assert_true(n > 0);
    report[n] = '\0';
    assert_string_equal(done.why, "inspection helper exited 0");
    env = strstr(report, "env:");
    assert_non_null(env);
    *env = '\0';
    assert_string_equal(report,
                        "fds: 0 1 2 3\n"
                        "0: /dev/null\n"
                        "1: /dev/null\n"
                        "SIGTERM blocked: 0\n"
                        "SIGUSR2 ignored: 0\n");
    /* only the variables client.c passes on (a sanitizer build's too) */
    assert_non_null(strstr(env + 4, " HASHGATE_INSPECT_TEST=1"));
    for (tok = strtok(env + 4, " \n"); tok; tok = strtok(NULL, " \n")) {
        if (strncmp(tok, "HASHGATE_INSPECT_TEST=", 22) != 0
            && strncmp(tok, "OPENSSL_", 8) != 0
            && strncmp(tok, "ASAN_OPTIONS=", 13) != 0
            && strncmp(tok, "UBSAN_OPTIONS=", 14) != 0
            && strncmp(tok, "LSAN_OPTIONS=", 13) != 0)
        {
            fail_msg("the helper's environment has %s", tok);
        }
    }
}

static void
test_missing_helper_is_named(void **state)
{
    hg_inspector_t  *in;
    hg_err_t         err;

    (void) state;
    in = hg_inspector_new("/nonexistent/hashgate-inspect", &err);
    assert_null(in);
    assert_string_equal(err.msg, "inspection helper "
                        "/nonexistent/hashgate-inspect: No such file or "
                        "directory");

    /* none beside build/tests/, none installed here: the installed path is
     * what the message names */
    in = hg_inspector_new(NULL, &err);
    if (in != NULL) {
        hg_inspector_free(in);
        skip();                 /* one is installed on this machine */
    }
    assert_contains(err.msg, "/libexec/hashgate/hashgate-inspect: No such "
                    "file or directory");
}

/* ---- the helper program itself, started by hand ---- */

/* Start the helper with sock (or nothing) as fd 3; returns its pid. */
static pid_t
spawn_raw(int sock, int errfd)
{
    posix_spawn_file_actions_t  fa;
    char                       *argv[] = { (char *) helper, NULL };
    pid_t                       pid;

    posix_spawn_file_actions_init(&fa);
    if (sock >= 0) {
        posix_spawn_file_actions_adddup2(&fa, sock, 3);
    } else {
        posix_spawn_file_actions_addclose(&fa, 3);
    }
    posix_spawn_file_actions_adddup2(&fa, errfd, 2);
    assert_int_equal(posix_spawn(&pid, helper, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

static void
read_all(int fd, char *buf, size_t len)
{
    ssize_t  n;
    size_t   got = 0;

    while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0) {
        got += (size_t) n;
    }
    buf[got] = '\0';
}

static void
test_helper_started_by_hand_refuses(void **state)
{
    char   msg[512];
    int    err[2], status;
    pid_t  pid;

    (void) state;
    assert_int_equal(pipe2(err, O_CLOEXEC), 0);
    pid = spawn_raw(-1, err[1]);
    close(err[1]);
    read_all(err[0], msg, sizeof(msg));
    close(err[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
    assert_contains(msg, "hashgate-inspect: descriptor 3 is not a socket");
}

static void
test_helper_refuses_another_protocol_version(void **state)
{
    hg_inspect_limits_t  lim;
    hg_proto_req_t       r;
    char                 msg[512];
    int                  sv[2], err[2], status;
    pid_t                pid;

    (void) state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
                                sv), 0);
    assert_int_equal(pipe2(err, O_CLOEXEC), 0);
    pid = spawn_raw(sv[1], err[1]);
    close(sv[1]);
    close(err[1]);

    hg_inspect_limits_default(&lim);
    hg_proto_req_init(&r, HG_PROTO_INSPECT, 1, HG_ALGS_ALL, &lim, 0);
    r.h.version = HG_PROTO_VERSION + 1;
    assert_int_equal(send(sv[0], &r, sizeof(r), MSG_NOSIGNAL),
                     (ssize_t) sizeof(r));
    read_all(err[0], msg, sizeof(msg));
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 3);
    assert_contains(msg, "protocol version 3, this helper speaks 2: restart");
    close(sv[0]);
    close(err[0]);
}

static void
test_helper_exits_0_when_the_caller_closes(void **state)
{
    char   msg[512];
    int    sv[2], err[2], status;
    pid_t  pid;

    (void) state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
                                sv), 0);
    assert_int_equal(pipe2(err, O_CLOEXEC), 0);
    pid = spawn_raw(sv[1], err[1]);
    close(sv[1]);
    close(err[1]);
    close(sv[0]);
    read_all(err[0], msg, sizeof(msg));
    close(err[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_string_equal(msg, "");
}

static int
setup(void **state)
{
    (void) state;
    if ((helper = hgt_inspect_helper()) == NULL) {
        return -1;
    }
    setenv("HASHGATE_INSPECT_TEST", "1", 1);
    return 0;
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_is_answered_eacces),
        cmocka_unit_test(test_execve_kills_the_helper),
        cmocka_unit_test(test_socket_kills_the_helper),
        cmocka_unit_test(test_fork_kills_the_helper),
        cmocka_unit_test(test_executable_pages_kill_the_helper),
        cmocka_unit_test(test_writing_the_container_kills_the_helper),
        cmocka_unit_test(test_helper_runs_under_seccomp_and_rlimits),
        cmocka_unit_test(test_crash_gives_eio_with_the_signal),
        cmocka_unit_test(test_sigkill_mid_archive_is_eio_and_helper_back),
        cmocka_unit_test(test_hang_gives_the_time_limit),
        cmocka_unit_test(test_entries_and_done_reach_the_caller),
        cmocka_unit_test(test_malformed_replies_kill_the_helper),
        cmocka_unit_test(test_caller_stopping_early_stops_the_helper),
        cmocka_unit_test(test_helper_killed_while_idle_is_replaced_silently),
        cmocka_unit_test(test_no_descriptor_of_the_caller_reaches_the_helper),
        cmocka_unit_test(test_no_zombie_after_free),
        cmocka_unit_test(test_nonblocking_send_poll_and_cancel),
        cmocka_unit_test(test_helper_closing_its_socket_cannot_stall_poll),
        cmocka_unit_test(test_helper_outlives_the_thread_that_started_it),
        cmocka_unit_test(test_helper_dies_with_its_caller),
        cmocka_unit_test(test_hooks_are_off_without_the_variable),
        cmocka_unit_test(test_zip_round_trip_through_spool_and_helper),
        cmocka_unit_test(test_spawn_passes_only_its_socket_and_resets_signals),
        cmocka_unit_test(test_missing_helper_is_named),
        cmocka_unit_test(test_helper_started_by_hand_refuses),
        cmocka_unit_test(test_helper_refuses_another_protocol_version),
        cmocka_unit_test(test_helper_exits_0_when_the_caller_closes),
    };

    /* started by client.c as the fake helper */
    if (argc > 1 && strncmp(argv[1], "--pdeathsig=", 12) == 0) {
        return fake_helper();
    }
    return cmocka_run_group_tests(tests, setup, NULL);
}
