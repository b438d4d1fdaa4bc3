/*
 * null_milter.c - a libmilter filter that accepts every mail and does
 * nothing else: the floor any milter pays, for bench_milter.py.
 *
 * Postfix's cleanup spends CPU streaming each message to any milter, and
 * libmilter spends some reading it; neither is hashgate's doing. This
 * filter asks Postfix for exactly what hashgate-milter asks for (the same
 * callbacks, the same action flags, the same SMFIP_NR_* no-reply steps
 * over a unix socket and replies over TCP, TCP_NODELAY on the listener),
 * so hashgate-milter against it measures hashgate's own cost.
 * Keep it in step with milter/filter.c (hgf_desc, hgf_negotiate) and
 * milter/main.c (_nodelay_listeners).
 *
 * It lives in a folder of its own on purpose: the Makefile builds the C
 * files of tests/bench without -lmilter. bench_milter.sh builds it.
 *
 *     null_milter unix:/path/sock | inet:PORT@127.0.0.1
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <libmilter/mfapi.h>

/* descriptors searched for libmilter's listener (it keeps it private) */
#define LISTEN_FD_SCAN_MAX  64

/* the steps hashgate-milter asks not to be answered over a unix socket */
#define NOREPLY_UNIX    (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL \
                         | SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_EOH \
                         | SMFIP_NR_BODY)

static int              over_unix;
static unsigned long    noreply;    /* agreed; the same for every connection */

static sfsistat
_reply(unsigned long step)
{
    return (noreply & step) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
nm_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
             unsigned long f2, unsigned long f3, unsigned long *pf0,
             unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    (void) ctx;
    (void) f2;
    (void) f3;
    *pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_QUARANTINE);
    *pf1 = f1 & SMFIP_NOUNKNOWN;
    if (over_unix) {
        noreply = f1 & NOREPLY_UNIX;
        *pf1 |= noreply | (f1 & SMFIP_NODATA);
    }
    *pf2 = 0;
    *pf3 = 0;
    return SMFIS_CONTINUE;
}

static sfsistat
nm_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
    (void) ctx;
    (void) host;
    (void) sa;
    return _reply(SMFIP_NR_CONN);
}

static sfsistat
nm_helo(SMFICTX *ctx, char *helo)
{
    (void) ctx;
    (void) helo;
    return _reply(SMFIP_NR_HELO);
}

static sfsistat
nm_envfrom(SMFICTX *ctx, char **argv)
{
    (void) ctx;
    (void) argv;
    return _reply(SMFIP_NR_MAIL);
}

static sfsistat
nm_envrcpt(SMFICTX *ctx, char **argv)
{
    (void) ctx;
    (void) argv;
    return _reply(SMFIP_NR_RCPT);
}

static sfsistat
nm_header(SMFICTX *ctx, char *name, char *value)
{
    (void) ctx;
    (void) name;
    (void) value;
    return _reply(SMFIP_NR_HDR);
}

static sfsistat
nm_eoh(SMFICTX *ctx)
{
    (void) ctx;
    return _reply(SMFIP_NR_EOH);
}

static sfsistat
nm_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    (void) ctx;
    (void) chunk;
    (void) len;
    return _reply(SMFIP_NR_BODY);
}

static sfsistat
nm_continue(SMFICTX *ctx)
{
    (void) ctx;
    return SMFIS_CONTINUE;
}

static struct smfiDesc nm_desc = {
    "null-milter",                      /* filter name */
    SMFI_VERSION,                       /* libmilter version code */
    SMFIF_ADDHDRS | SMFIF_QUARANTINE,   /* as hashgate-milter asks */
    nm_connect,                         /* connection info */
    nm_helo,                            /* SMTP HELO */
    nm_envfrom,                         /* envelope sender */
    nm_envrcpt,                         /* envelope recipient */
    nm_header,                          /* header */
    nm_eoh,                             /* end of header */
    nm_body,                            /* body block */
    nm_continue,                        /* end of message */
    nm_continue,                        /* message aborted */
    nm_continue,                        /* connection cleanup */
    NULL,                               /* unknown SMTP command */
    nm_continue,                        /* DATA: replied, as hashgate does */
    nm_negotiate                        /* options */
};

/* TCP_NODELAY on libmilter's listener; accepted sockets inherit it. */
static int
_nodelay_listeners(void)
{
    int                     fd, n = 0, one = 1, acc;
    struct sockaddr_storage ss;
    socklen_t               len;

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

int
main(int argc, char **argv)
{
    const char *spec;

    if (argc != 2) {
        fprintf(stderr, "usage: null_milter unix:PATH | inet:PORT@HOST\n");
        return 2;
    }
    spec = argv[1];
    over_unix = strncmp(spec, "unix:", 5) == 0
                || strncmp(spec, "local:", 6) == 0;
    if (smfi_setconn((char *) spec) != MI_SUCCESS
        || smfi_register(nm_desc) != MI_SUCCESS
        || smfi_opensocket(1) != MI_SUCCESS)
    {
        fprintf(stderr, "null_milter: cannot listen on %s\n", spec);
        return 1;
    }
    if (over_unix) {
        /* Postfix's smtpd runs as postfix */
        if (chmod(strchr(spec, ':') + 1, 0666) != 0) {
            perror("null_milter: chmod");
            return 1;
        }
    } else if (_nodelay_listeners() == 0) {
        fprintf(stderr, "null_milter: cannot set TCP_NODELAY\n");
        return 1;
    }
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}
