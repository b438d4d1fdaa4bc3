/*
 * sandbox.c - hashgate-inspect's cage, the way OpenSSH's privsep child
 * builds its own: once everything that needs the file system is done
 * (OpenSSL's providers and config, the locale, libarchive's readers warmed
 * up: main.c), the process lowers its resource limits and loads a seccomp
 * filter whose default is to kill the whole process. From then on it can
 * only use the descriptors it holds: read requests and the container's
 * bytes, send replies, manage its memory, and exit.
 *
 * The allow-list (each entry says why it is there; docs/security.md has
 * the same table). Found with strace -f on the unit tests and the archives
 * of tests/lib/archives.py; a call outside it kills the helper with
 * SIGSYS, which the caller reports ("killed by signal 31 (SIGSYS), a
 * system call its sandbox forbids") and treats like any crash.
 *
 *   recvmsg(3, ...)          the next request and its descriptor
 *   sendmsg(3, ...),         entries and done, a batch of them in one
 *   sendmmsg(3, ...)         call (the caller wakes once per batch)
 *   read                     libraries reading a descriptor they are given
 *   write(1 or 2, ...)       the one-line message before dying (stderr)
 *   fstat (not newfstatat)   the container's size, checked against the
 *                            request's; fd only, no path
 *   lseek, pread64           fd-only reads of the container
 *   mmap, mprotect           without PROT_EXEC: the container mapped
 *                            read-only, malloc's arenas; no new code pages
 *   munmap, mremap, brk,     memory management (malloc, realloc, free)
 *   madvise
 *   close                    the container after each request
 *   clock_gettime            the CPU time used (retirement); others are vDSO
 *   futex                    OpenSSL's and glibc's locks, when contended
 *   getpid, tgkill(own pid), abort() on a detected heap corruption or
 *   rt_sigprocmask           assertion: killed by SIGABRT, a clearer cause
 *                            in the caller's log than SIGSYS
 *   rt_sigreturn,            returning from a signal, restarting a call
 *   restart_syscall          a stop signal interrupted
 *   exit, exit_group         the end
 *
 * Answered with EACCES instead of death, so that a library probing for a
 * file fails the way it would without permission: open, openat, openat2,
 * creat, stat, lstat, newfstatat, statx, access, faccessat, faccessat2,
 * readlink, readlinkat. Everything else, execve, socket, connect, clone,
 * fork, ptrace, kill, ioctl, prctl among them, kills.
 *
 * The limits: RLIMIT_AS (the --memory option, default HG_INSPECT_MEMORY)
 * so a bomb that inflates in memory fails an allocation; RLIMIT_NOFILE
 * (HG_SANDBOX_NOFILE) so no more descriptors can arrive; RLIMIT_FSIZE 0
 * so nothing can be written to a file, the container included; RLIMIT_NPROC
 * 0 (no processes; root ignores it, the filter does not); RLIMIT_CORE 0 and
 * PR_SET_DUMPABLE 0 (no core dump would write a parsed mail to disk); and
 * RLIMIT_CPU (HG_SANDBOX_CPU_LIMIT). A build with AddressSanitizer keeps
 * RLIMIT_AS unlimited: its shadow memory is terabytes of address space;
 * it also allows sigaltstack, which that runtime calls before every
 * noreturn call (main.c sets its other options for the filter).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sandbox.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN 1
#endif
#endif

static int
sandbox_fail(char *why, size_t len, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
sandbox_fail(char *why, size_t len, int err, const char *fmt, ...)
{
    va_list  ap;
    size_t   n;

    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    if (err != 0) {
        n = strlen(why);
        snprintf(why + n, len - n, ": %s", strerror(err));
    }
    return -1;
}

int
hg_sandbox_early(pid_t pdeath_pid, char *why, size_t len)
{
    int  fd;

    if (pdeath_pid > 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
            return sandbox_fail(why, len, errno, "prctl(PR_SET_PDEATHSIG)");
        }
        /* the caller died before the line above: we were re-parented */
        if (getppid() != pdeath_pid) {
            return sandbox_fail(why, len, 0, "the caller is gone");
        }
    }
    if (prctl(PR_SET_DUMPABLE, 0) != 0) {
        return sandbox_fail(why, len, errno, "prctl(PR_SET_DUMPABLE)");
    }

    /* a received descriptor must never land on 0-2, where a message to
     * stderr would go into it */
    for (fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) < 0
            && open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
        {
            return sandbox_fail(why, len, errno, "descriptor %d", fd);
        }
    }
    if (close_range(HG_SANDBOX_SOCK + 1, ~0u, 0) != 0) {
        return sandbox_fail(why, len, errno, "close_range");
    }
    if (chdir("/") != 0) {
        return sandbox_fail(why, len, errno, "chdir /");
    }

    /* a caller gone mid-reply is EPIPE, not death by signal; a stderr
     * that is a file is EFBIG under RLIMIT_FSIZE 0, not SIGXFSZ */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    return 0;
}

static int
sandbox_rlimit(int res, rlim_t soft, rlim_t hard, const char *name,
               char *why, size_t len)
{
    struct rlimit  rl;

    rl.rlim_cur = soft;
    rl.rlim_max = hard;
    if (setrlimit(res, &rl) != 0) {
        return sandbox_fail(why, len, errno, "setrlimit(%s)", name);
    }
    return 0;
}

int
hg_sandbox_limits(uint64_t memory, char *why, size_t len)
{
#ifndef SANDBOX_ASAN
    if (sandbox_rlimit(RLIMIT_AS, memory, memory, "RLIMIT_AS", why, len)) {
        return -1;
    }
#else
    (void) memory;
#endif
    if (sandbox_rlimit(RLIMIT_NOFILE, HG_SANDBOX_NOFILE, HG_SANDBOX_NOFILE,
                       "RLIMIT_NOFILE", why, len)
        || sandbox_rlimit(RLIMIT_FSIZE, 0, 0, "RLIMIT_FSIZE", why, len)
        || sandbox_rlimit(RLIMIT_NPROC, 0, 0, "RLIMIT_NPROC", why, len)
        || sandbox_rlimit(RLIMIT_CORE, 0, 0, "RLIMIT_CORE", why, len)
        || sandbox_rlimit(RLIMIT_CPU, HG_SANDBOX_CPU_LIMIT,
                          HG_SANDBOX_CPU_LIMIT + 10, "RLIMIT_CPU", why, len))
    {
        return -1;
    }
    return 0;
}

/* SCMP_A0() and friends leave datum_b out, which clang warns about. */
static struct scmp_arg_cmp
sandbox_arg(unsigned arg, enum scmp_compare op, scmp_datum_t a,
            scmp_datum_t b)
{
    struct scmp_arg_cmp  c;

    c.arg = arg;
    c.op = op;
    c.datum_a = a;
    c.datum_b = b;
    return c;
}

/* System calls allowed whatever their arguments. */
static const int sandbox_allow[] = {
    SCMP_SYS(read),
    SCMP_SYS(fstat),
    SCMP_SYS(lseek),
    SCMP_SYS(pread64),
    SCMP_SYS(munmap),
    SCMP_SYS(mremap),
    SCMP_SYS(brk),
    SCMP_SYS(madvise),
    /* glibc's qsort asks how much memory the machine has (sysinfo) before
     * sorting more than a few pages of entries (walk_zip.c, a zip of ~130+
     * files); it only reads counters, and without it the helper died */
    SCMP_SYS(sysinfo),
    SCMP_SYS(close),
    SCMP_SYS(clock_gettime),
    SCMP_SYS(futex),
    SCMP_SYS(getpid),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(restart_syscall),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
#ifdef SANDBOX_ASAN
    /* AddressSanitizer checks the signal stack before every noreturn call */
    SCMP_SYS(sigaltstack),
#endif
};

/* System calls that fail with EACCES: a library looking for a file. */
static const int sandbox_eacces[] = {
    SCMP_SYS(open),
    SCMP_SYS(openat),
    SCMP_SYS(openat2),
    SCMP_SYS(creat),
    SCMP_SYS(stat),
    SCMP_SYS(lstat),
    SCMP_SYS(newfstatat),
    SCMP_SYS(statx),
    SCMP_SYS(access),
    SCMP_SYS(faccessat),
    SCMP_SYS(faccessat2),
    SCMP_SYS(readlink),
    SCMP_SYS(readlinkat),
};

int
hg_sandbox_filter(char *why, size_t len)
{
    scmp_filter_ctx  ctx;
    size_t           i;
    int              rc = 0;
    const char      *what = "seccomp_init";

    ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (ctx == NULL) {
        /* libseccomp could not query the kernel: seccomp() is refused,
         * e.g. by a systemd unit's SystemCallFilter without "seccomp" */
        return sandbox_fail(why, len, 0, "seccomp_init failed: seccomp(2) "
                            "unavailable (a SystemCallFilter must allow it)");
    }

    for (i = 0; rc == 0 && i < sizeof(sandbox_allow) / sizeof(int); i++) {
        what = "allow";
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, sandbox_allow[i], 0);
    }
    for (i = 0; rc == 0 && i < sizeof(sandbox_eacces) / sizeof(int); i++) {
        what = "errno rule";
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES),
                              sandbox_eacces[i], 0);
    }

    /* the socket to the caller, and no other */
    if (rc == 0) {
        what = "recvmsg/sendmsg/sendmmsg";
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(recvmsg), 1,
                              sandbox_arg(0, SCMP_CMP_EQ, HG_SANDBOX_SOCK, 0));
    }
    if (rc == 0) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendmsg), 1,
                              sandbox_arg(0, SCMP_CMP_EQ, HG_SANDBOX_SOCK, 0));
    }
    if (rc == 0) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendmmsg), 1,
                              sandbox_arg(0, SCMP_CMP_EQ, HG_SANDBOX_SOCK, 0));
    }
    /* stdout and stderr only: never into the container's descriptor */
    if (rc == 0) {
        what = "write";
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1,
                              sandbox_arg(0, SCMP_CMP_EQ, 2, 0));
    }
    if (rc == 0) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1,
                              sandbox_arg(0, SCMP_CMP_EQ, 1, 0));
    }
    /* memory, but no new executable pages */
    if (rc == 0) {
        what = "mmap/mprotect";
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
                              sandbox_arg(2, SCMP_CMP_MASKED_EQ, PROT_EXEC,
                                          0));
    }
    if (rc == 0) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                              sandbox_arg(2, SCMP_CMP_MASKED_EQ, PROT_EXEC,
                                          0));
    }
    /* abort() signals itself; no one else */
    if (rc == 0) {
        what = "tgkill";
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
                              sandbox_arg(0, SCMP_CMP_EQ,
                                          (scmp_datum_t) getpid(), 0));
    }

    if (rc == 0) {
        what = "seccomp_load";
        rc = seccomp_load(ctx);
    }
    seccomp_release(ctx);
    if (rc != 0) {
        return sandbox_fail(why, len, -rc, "seccomp: %s", what);
    }
    return 0;
}
