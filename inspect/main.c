/*
 * main.c - hashgate-inspect, the process that opens archives.
 *
 * libarchive's readers of RAR, 7z, XAR and tar have had memory-safety bugs
 * found by fuzzing, so no archive is parsed in the milter or an nginx
 * worker. Each of them starts one of these (common/inspect/client.c) with
 * a socketpair as descriptor 3. Before reading any request it shuts itself
 * in (sandbox.c): it dies with its caller, cannot be dumped, and once
 * everything that needs a file is loaded (the time zone, the locale,
 * OpenSSL's digests, each used once), it lowers its rlimits and loads a
 * seccomp filter that kills it for any system call outside a short list.
 *
 * Then it serves requests, one at a time (proto.h): a request with the
 * container's descriptor; the container mapped read-only, the size checked
 * with fstat; hg_inspect_walk with a callback sending one ENTRY per inner
 * file; one DONE; unmap, close, next. With images asked for, the walk also
 * decodes and PDQ-hashes images (the part itself, or files inside it) with
 * libjpeg-turbo, libpng, giflib and libwebp, under the same sandbox: the
 * image decoders' own history of memory-safety bugs is why images are
 * decoded here and nowhere else (docs/images.md). End of file on the socket (the
 * caller closed it or died) ends it with status 0. It never retries,
 * never logs: a failure is a DONE status, or its death, which the caller
 * turns into the part's fail verdict.
 *
 * It runs in the C.UTF-8 locale (LC_CTYPE only): libarchive then takes
 * UTF-8 and UTF-16 names without iconv, which could not load its modules
 * under the filter; without that locale it refuses to start.
 *
 * Options (client.c passes them; nobody runs this by hand):
 *   --memory=BYTES     RLIMIT_AS (suffix k, M or G), default HG_INSPECT_MEMORY
 *   --pdeathsig=PID    die with PID, the caller, who started us from its
 *                      main thread
 * Exit status: 0 end of file or retired, 1 a system call failed, 2 bad
 * usage or set-up, 3 a caller speaking another protocol version (a helper
 * upgraded under a running milter or nginx: restart them).
 *
 * Test hooks: with HASHGATE_INSPECT_TEST=1 in its environment (and only
 * then) the request types HG_PROTO_TEST_* (proto.h) try forbidden system
 * calls, crash, hang, stall after one entry, close their socket and spin,
 * or send back whatever the caller wrote, so the unit tests can prove the sandbox and the caller's
 * handling of a broken helper. Without it they are refused like any bad
 * request.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hashgate/hash.h"
#include "hashgate/inspect.h"
#include "inspect/proto.h"
#include "sandbox.h"

/* Descriptors one request may carry; more is refused (and closed). */
#define HELPER_FDS_MAX  1

typedef struct {
    uint32_t        seq;
    uint64_t        sent;       /* entries */
    int             broken;     /* the caller is gone */
    int             too_long;   /* an entry did not fit one message */
} helper_ctx_t;

#if defined(__SANITIZE_ADDRESS__)
/*
 * A sanitizer build (make asan) runs inside the same filter: its runtime
 * must not fork a symbolizer, ask isatty(), check leaks at exit (a thread)
 * or catch SIGSEGV itself, or the filter kills it first. The caller's
 * ASAN_OPTIONS still apply on top of these.
 */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

const char *
__asan_default_options(void)
{
    return "handle_segv=0:detect_leaks=0:color=never:symbolize=0";
}

const char *
__ubsan_default_options(void)
{
    return "color=never:symbolize=0";
}
#endif

static unsigned char  helper_in[HG_PROTO_MSG_MAX];
static unsigned char  helper_out[HG_PROTO_MSG_MAX];
static int            helper_test;

/*
 * The end: exit_group itself, past atexit handlers and any interceptor
 * (a sanitizer's leak check at exit starts a thread the filter forbids).
 */
static void __attribute__((noreturn))
helper_exit(int status)
{
    for (;;) {
        syscall(SYS_exit_group, status);
    }
}

/* The one line to stderr before dying; write(2) only, no stdio. */
static void
helper_die(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

static void
helper_die(int status, const char *fmt, ...)
{
    char     line[512];
    va_list  ap;
    int      n;

    n = snprintf(line, sizeof(line), "hashgate-inspect: ");
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t) n - 1, fmt, ap);
    va_end(ap);
    n = (int) strlen(line);
    line[n++] = '\n';
    if (write(2, line, (size_t) n) < 0) {
        /* nowhere left to say it */
    }
    helper_exit(status);
}

/*
 * Replies wait here and leave together, in one sendmmsg: a caller blocked
 * on its socket then wakes once for a batch instead of once per inner
 * file (a 20-file zip cost about 20 context switches each way). A batch
 * leaves when full, when its oldest entry is HELPER_BATCH_MS old, and
 * always with DONE, so the caller never waits on a partial answer.
 */
#define HELPER_BATCH_MSGS   32
#define HELPER_BATCH_BYTES  (2 * HG_PROTO_MSG_MAX)
#define HELPER_BATCH_MS     20

static unsigned char  helper_batch[HELPER_BATCH_BYTES];
static struct mmsghdr helper_batch_msg[HELPER_BATCH_MSGS];
static struct iovec   helper_batch_iov[HELPER_BATCH_MSGS];
static unsigned       helper_batch_n;
static size_t         helper_batch_len;
static uint64_t       helper_batch_t0;

static uint64_t helper_now_ms(void);

/* Send what waits; -1 when the caller is gone (the batch is dropped). */
static int
helper_flush(void)
{
    unsigned  done = 0;
    int       n;

    while (done < helper_batch_n) {
        n = sendmmsg(HG_SANDBOX_SOCK, helper_batch_msg + done,
                     helper_batch_n - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            helper_batch_n = 0;
            helper_batch_len = 0;
            if (errno != EPIPE && errno != ECONNRESET) {
                helper_die(1, "sendmmsg: %s", strerror(errno));
            }
            return -1;
        }
        done += (unsigned) n;
    }
    helper_batch_n = 0;
    helper_batch_len = 0;
    return 0;
}

/* Queue one message (len <= HG_PROTO_MSG_MAX); flush when the batch is
 * full or old, or when now is set. -1 when the caller is gone. */
static int
helper_queue(const void *buf, size_t len, int now)
{
    struct msghdr  *m;

    if ((helper_batch_n == HELPER_BATCH_MSGS
         || len > HELPER_BATCH_BYTES - helper_batch_len)
        && helper_flush() < 0)
    {
        return -1;
    }
    if (helper_batch_n == 0) {
        helper_batch_t0 = helper_now_ms();
    }
    memcpy(helper_batch + helper_batch_len, buf, len);
    helper_batch_iov[helper_batch_n].iov_base = helper_batch
                                                + helper_batch_len;
    helper_batch_iov[helper_batch_n].iov_len = len;
    m = &helper_batch_msg[helper_batch_n].msg_hdr;
    memset(m, 0, sizeof(*m));
    m->msg_iov = &helper_batch_iov[helper_batch_n];
    m->msg_iovlen = 1;
    helper_batch_n++;
    helper_batch_len += len;
    if (now || helper_now_ms() - helper_batch_t0 >= HELPER_BATCH_MS) {
        return helper_flush();
    }
    return 0;
}

/* One message to the caller, now (after any that wait); -1 when it is
 * gone. */
static int
helper_send(const void *buf, size_t len)
{
    return helper_queue(buf, len, 1);
}

static void
helper_send_done(uint32_t seq, hg_inspect_done_t *done, unsigned flags)
{
    size_t  len;

    len = hg_proto_done_encode(helper_out, seq, done, flags);
    if (helper_send(helper_out, len) < 0) {
        helper_exit(0);
    }
}

static void
helper_done(hg_inspect_done_t *done, hg_status_t st, hg_inspect_limit_t lim,
            const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
helper_done(hg_inspect_done_t *done, hg_status_t st, hg_inspect_limit_t lim,
            const char *fmt, ...)
{
    va_list  ap;

    memset(done, 0, sizeof(*done));
    done->st = st;
    done->limit = lim;
    va_start(ap, fmt);
    vsnprintf(done->why, sizeof(done->why), fmt, ap);
    va_end(ap);
}

static hg_status_t
helper_entry(void *arg, const hg_inspect_entry_t *e)
{
    helper_ctx_t  *c = arg;
    size_t         len;

    len = hg_proto_entry_encode(helper_out, sizeof(helper_out), c->seq, e);
    if (len == 0) {
        c->too_long = 1;
        return HG_ELIMIT;
    }
    if (helper_queue(helper_out, len, 0) < 0) {
        c->broken = 1;
        return HG_EIO;
    }
    c->sent++;
    return HG_OK;
}

static uint64_t
helper_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static uint64_t
helper_cpu_seconds(void)
{
    struct timespec  ts;

    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) {
        return 0;
    }
    return (uint64_t) ts.tv_sec;
}

/* HG_PROTO_INSPECT: the real work. */
static void
helper_inspect(const hg_proto_req_t *r, int fd, hg_inspect_done_t *done)
{
    hg_inspect_limits_t  lim;
    helper_ctx_t         c;
    struct stat          st;
    uint64_t             now;
    void                *p = NULL;

    if (fd < 0) {
        helper_done(done, HG_EINVAL, HG_INSPECT_LIMIT_NONE,
                    "request without a container");
        return;
    }
    /* the raw call: glibc's fstat is newfstatat, which the filter refuses */
    if (syscall(SYS_fstat, fd, &st) != 0) {
        helper_done(done, HG_EIO, HG_INSPECT_LIMIT_NONE, "fstat: %s",
                    strerror(errno));
        return;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t) st.st_size < r->size) {
        helper_done(done, HG_EINVAL, HG_INSPECT_LIMIT_NONE,
                    "container of %llu bytes in a file of %lld",
                    (unsigned long long) r->size, (long long) st.st_size);
        return;
    }
    if (r->size > SIZE_MAX) {
        helper_done(done, HG_ELIMIT, HG_INSPECT_LIMIT_MEMORY,
                    "container of %llu bytes",
                    (unsigned long long) r->size);
        return;
    }
    if (r->size > 0) {
        /* populated at once: one call instead of a fault per 64 KiB */
        p = mmap(NULL, (size_t) r->size, PROT_READ,
                 MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (p == MAP_FAILED) {
            if (errno == ENOMEM) {
                helper_done(done, HG_ELIMIT, HG_INSPECT_LIMIT_MEMORY,
                            "a container of %llu bytes does not fit the "
                            "inspection helper's memory",
                            (unsigned long long) r->size);
            } else {
                helper_done(done, HG_EIO, HG_INSPECT_LIMIT_NONE,
                            "mmap: %s", strerror(errno));
            }
            return;
        }
    }

    lim.max_depth = r->max_depth;
    lim.max_files = r->max_files;
    lim.max_bytes = r->max_bytes;
    lim.max_file_bytes = r->max_file_bytes;
    lim.max_ratio = r->max_ratio;
    lim.timeout_ms = r->timeout_ms;
    lim.images = r->images;
    lim.image.max_pixels = r->img_max_pixels;
    lim.image.max_bytes = r->img_max_bytes;
    lim.image.timeout_ms = r->img_timeout_ms;
    lim.image.jpeg_min_side = r->img_jpeg_min_side;
    if (r->deadline_ms > 0) {
        /* the caller's clock: what is left of its deadline (0 would be
         * no limit at all) */
        now = helper_now_ms();
        lim.timeout_ms = r->deadline_ms > now + 1
                         ? (unsigned) (r->deadline_ms - now) : 1;
    }

    memset(&c, 0, sizeof(c));
    c.seq = r->h.seq;
    memset(done, 0, sizeof(*done));
    hg_inspect_walk(p, (size_t) r->size, r->algs, &lim, helper_entry, &c,
                    done);
    if (p != NULL) {
        munmap(p, (size_t) r->size);
    }

    if (c.broken) {
        helper_exit(0);
    }
    if (c.too_long) {
        helper_done(done, HG_ELIMIT, HG_INSPECT_LIMIT_DEPTH,
                    "containers nested too deep to report a path");
    } else if (done->st == HG_ENOMEM) {
        helper_done(done, HG_ELIMIT, HG_INSPECT_LIMIT_MEMORY,
                    "the inspection helper's memory limit");
    }
    /* the count the caller checks is of entries sent */
    done->files = c.sent;
}

/* HG_PROTO_TEST_SYSCALL: a call the sandbox forbids. */
static void
helper_test_syscall(uint32_t what, int fd, hg_inspect_done_t *done)
{
    char * const  argv[] = { "true", NULL };
    const char   *name;
    long          rc;
    void         *pg;

    errno = 0;
    switch (what) {
    case HG_PROTO_SYS_OPEN:
        name = "open /etc/passwd";
        rc = open("/etc/passwd", O_RDONLY);
        break;
    case HG_PROTO_SYS_OPENAT:
        name = "openat /etc/passwd";
        rc = openat(AT_FDCWD, "/etc/passwd", O_RDONLY);
        break;
    case HG_PROTO_SYS_EXECVE:
        name = "execve /bin/true";
        rc = execve("/bin/true", argv, argv + 1);
        break;
    case HG_PROTO_SYS_SOCKET:
        name = "socket";
        rc = socket(AF_INET, SOCK_STREAM, 0);
        break;
    case HG_PROTO_SYS_FORK:
        name = "fork";
        rc = fork();
        if (rc == 0) {
            helper_exit(0);
        }
        break;
    case HG_PROTO_SYS_WRITE_FD:
        name = "write to the container";
        rc = write(fd, "x", 1);
        break;
    case HG_PROTO_SYS_MPROTECT_EXEC:
        name = "mprotect PROT_EXEC";
        pg = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        rc = pg == MAP_FAILED ? -1
             : mprotect(pg, 4096, PROT_READ | PROT_EXEC);
        break;
    default:
        helper_done(done, HG_EINVAL, HG_INSPECT_LIMIT_NONE,
                    "unknown test system call %u", what);
        return;
    }
    if (rc < 0) {
        helper_done(done, HG_OK, HG_INSPECT_LIMIT_NONE, "%s: errno %d (%s)",
                    name, errno, strerrorname_np(errno));
    } else {
        helper_done(done, HG_OK, HG_INSPECT_LIMIT_NONE, "%s: allowed (%ld)",
                    name, rc);
    }
}

static void __attribute__((noreturn))
helper_spin(void)
{
    volatile unsigned long  n = 0;

    for (;;) {
        n++;
    }
}

/* HG_PROTO_TEST_ECHO: the payload is messages, each a uint32_t length
 * then its bytes; each is sent as it is, or with seq put in. */
static void
helper_test_echo(const hg_proto_req_t *r, const unsigned char *p, size_t len)
{
    hg_proto_hdr_t  h;
    uint32_t        n;

    while (len >= sizeof(n)) {
        memcpy(&n, p, sizeof(n));
        p += sizeof(n);
        len -= sizeof(n);
        if (n > len || n > sizeof(helper_out)) {
            break;
        }
        memcpy(helper_out, p, n);
        if (r->arg == 1 && n >= sizeof(h)) {
            memcpy(&h, helper_out, sizeof(h));
            h.seq = r->h.seq;
            memcpy(helper_out, &h, sizeof(h));
        }
        if (helper_send(helper_out, n) < 0) {
            helper_exit(0);
        }
        p += n;
        len -= n;
    }
}

/* The test hooks. Returns 1 when done is to be sent. */
static int
helper_test_request(const hg_proto_req_t *r, const unsigned char *payload,
                    size_t plen, int fd, hg_inspect_done_t *done)
{
    volatile int            *nowhere;
    helper_ctx_t             c;
    hg_inspect_entry_t       e;

    switch (r->h.type) {
    case HG_PROTO_TEST_SYSCALL:
        helper_test_syscall(r->arg, fd, done);
        return 1;
    case HG_PROTO_TEST_CRASH:
        /* a real fault (not NULL, which UBSan would catch first) */
        nowhere = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
        if (nowhere != MAP_FAILED) {
            *nowhere = 1;
        }
        helper_die(1, "the crash hook did not crash");
    case HG_PROTO_TEST_HANG:
        helper_spin();
    case HG_PROTO_TEST_STALL:
        memset(&c, 0, sizeof(c));
        memset(&e, 0, sizeof(e));
        c.seq = r->h.seq;
        e.depth = 1;
        e.path = "stall.bin";
        e.chain = "!stall.bin";
        e.name = "stall.bin";
        e.format = "zip";
        helper_entry(&c, &e);
        helper_flush();
        helper_spin();
    case HG_PROTO_TEST_ECHO:
        helper_test_echo(r, payload, plen);
        return 0;
    case HG_PROTO_TEST_CLOSE:
        close(HG_SANDBOX_SOCK);
        helper_spin();
    }
    helper_done(done, HG_EINVAL, HG_INSPECT_LIMIT_NONE,
                "request type %u", r->h.type);
    return 1;
}

/*
 * Receive one request and the descriptors beside it (at most
 * HELPER_FDS_MAX are kept; *nfds says how many came, all closed but the
 * first when too many). Returns the message length, 0 at end of file.
 */
static size_t
helper_recv(int *fd, int *nfds)
{
    union {
        struct cmsghdr  h;
        char            b[CMSG_SPACE(sizeof(int) * 4)];
    }                   ctl;
    struct msghdr       m;
    struct iovec        iov;
    struct cmsghdr     *cm;
    ssize_t             n;
    size_t              i, k;
    int                 got;

    for (;;) {
        memset(&m, 0, sizeof(m));
        iov.iov_base = helper_in;
        iov.iov_len = sizeof(helper_in);
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = ctl.b;
        m.msg_controllen = sizeof(ctl.b);
        n = recvmsg(HG_SANDBOX_SOCK, &m, MSG_CMSG_CLOEXEC);
        if (n >= 0) {
            break;
        }
        if (errno == ECONNRESET) {
            return 0;
        }
        if (errno != EINTR) {
            helper_die(1, "recvmsg: %s", strerror(errno));
        }
    }

    *fd = -1;
    *nfds = 0;
    for (cm = CMSG_FIRSTHDR(&m); cm != NULL; cm = CMSG_NXTHDR(&m, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (i = 0; i < k; i++) {
            memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
            if (*fd < 0) {
                *fd = got;
            } else {
                close(got);
            }
            (*nfds)++;
        }
    }
    if (m.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) {
        *nfds = HELPER_FDS_MAX + 1;
    }
    if (n == 0 && *nfds == 0) {
        return 0;
    }
    return (size_t) n;
}

static void
helper_serve(void)
{
    hg_inspect_done_t     done;
    hg_proto_req_t        r;
    const unsigned char  *payload;
    size_t                len, plen;
    unsigned              flags;
    char                  why[200];
    int                   fd, nfds, rc, send;

    for (;;) {
        len = helper_recv(&fd, &nfds);
        if (len == 0) {
            helper_exit(0);
        }
        rc = hg_proto_req_check(helper_in, len, &r, &payload, &plen, why,
                                sizeof(why));
        if (rc == -2) {
            helper_die(3, "%s: restart the program that started it", why);
        }
        send = 1;
        if (rc < 0) {
            /* the seq may be garbage; the caller then says so itself */
            helper_done(&done, HG_EINVAL, HG_INSPECT_LIMIT_NONE,
                        "bad request: %s", why);
        } else if (nfds > HELPER_FDS_MAX) {
            helper_done(&done, HG_EINVAL, HG_INSPECT_LIMIT_NONE,
                        "request with %d descriptors", nfds);
        } else if (r.h.type == HG_PROTO_INSPECT) {
            helper_inspect(&r, fd, &done);
        } else if (!helper_test) {
            helper_done(&done, HG_EINVAL, HG_INSPECT_LIMIT_NONE,
                        "request type %u refused (test hooks are off)",
                        r.h.type);
        } else {
            send = helper_test_request(&r, payload, plen, fd, &done);
        }
        if (fd >= 0) {
            close(fd);
        }

        flags = helper_cpu_seconds() >= HG_SANDBOX_CPU_RETIRE
                ? HG_PROTO_DONE_RETIRE : 0;
        if (send) {
            helper_send_done(r.h.seq, &done, flags);
        }
        if (flags & HG_PROTO_DONE_RETIRE) {
            helper_exit(0);
        }
    }
}

/* "1024M" -> bytes; 0 when it is not a size. */
static uint64_t
helper_parse_size(const char *s)
{
    unsigned long long  v;
    char               *end;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s) {
        return 0;
    }
    switch (*end) {
    case 'k': case 'K': v <<= 10; end++; break;
    case 'm': case 'M': v <<= 20; end++; break;
    case 'g': case 'G': v <<= 30; end++; break;
    }
    return *end == '\0' ? v : 0;
}

/*
 * Everything that needs a file, while files can still be opened: the time
 * zone, the C.UTF-8 locale and OpenSSL's digests (hg_inspect_walk_init),
 * then one digest of each algorithm, so that nothing is fetched later.
 */
static void
helper_warm_up(void)
{
    hg_digests_t  d;
    hg_hash_t    *h;
    hg_status_t   st;

    /* glibc re-reads /etc/localtime at every mktime (zip, RAR and ISO
     * dates) while TZ is unset; set, it is read once, here. The dates are
     * never used: UTC is as good as any. */
    setenv("TZ", "UTC", 1);
    /*
     * Every request allocates and frees the same large buffers (libarchive's
     * window, copies of nested containers). Kept in the heap rather than
     * mapped and unmapped each time, they cost no page faults after the
     * first request: under a hypervisor those faults were a third of the
     * helper's time on a 1 MiB zip. Up to 32 MiB of free heap stays mapped.
     */
    mallopt(M_MMAP_THRESHOLD, 8 << 20);
    mallopt(M_TRIM_THRESHOLD, 32 << 20);
    st = hg_inspect_walk_init();
    if (st == HG_EINVAL) {
        helper_die(2, "the C.UTF-8 locale is missing (it names files "
                   "inside archives without iconv's module files)");
    }
    if (st != HG_OK) {
        helper_die(2, "OpenSSL refused a digest: %s", hg_status_str(st));
    }
    h = hg_hash_new();
    if (h == NULL || hg_hash_init(h, HG_ALGS_ALL) != HG_OK
        || hg_hash_update(h, "hashgate", 8) != HG_OK
        || hg_hash_final(h, &d) != HG_OK)
    {
        helper_die(2, "OpenSSL refused a digest");
    }
    hg_hash_free(h);
}

int
main(int argc, char **argv)
{
    struct stat  st;
    uint64_t     memory = HG_INSPECT_MEMORY;
    pid_t        pdeath = 0;
    const char  *v;
    char         why[256];
    int          i;

    for (i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--memory=", 9) == 0) {
            memory = helper_parse_size(argv[i] + 9);
            if (memory < (16u << 20)) {
                helper_die(2, "--memory: at least 16M, not %s", argv[i] + 9);
            }
        } else if (strncmp(argv[i], "--pdeathsig=", 12) == 0) {
            pdeath = (pid_t) atol(argv[i] + 12);
        } else {
            helper_die(2, "unknown option %s (it is started by hashgate, "
                       "hashgate-milter and the nginx module)", argv[i]);
        }
    }

    if (fstat(HG_SANDBOX_SOCK, &st) != 0 || !S_ISSOCK(st.st_mode)) {
        helper_die(2, "descriptor %d is not a socket: it is started by "
                   "hashgate, hashgate-milter and the nginx module",
                   HG_SANDBOX_SOCK);
    }
    if (hg_sandbox_early(pdeath, why, sizeof(why)) != 0) {
        helper_die(2, "%s", why);
    }

    v = getenv("HASHGATE_INSPECT_TEST");
    helper_test = v != NULL && strcmp(v, "1") == 0;

    helper_warm_up();

    if (hg_sandbox_limits(memory, why, sizeof(why)) != 0
        || hg_sandbox_filter(why, sizeof(why)) != 0)
    {
        helper_die(2, "%s", why);
    }

    helper_serve();
    return 0;
}
