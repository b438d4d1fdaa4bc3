/*
 * metrics.c - hashgate-milter's counters and the /metrics endpoint
 * (MetricsListen).
 *
 * The counters are one hg_metrics_t in process memory, moved by the
 * sessions' threads through atomics (common/metrics/metrics.c, which also
 * renders them). /metrics is served by libmicrohttpd in its own thread,
 * off libmilter's: a scrape never waits for a mail, nor a mail for it.
 *
 * The listening socket is made by hg_metrics_bind at start, as root and
 * before detaching, like the milter's own socket (a port below 1024, a
 * clear error when the port is taken); the thread that serves it is
 * started by hg_metrics_start once the daemon has detached and dropped
 * privileges (a fork keeps no thread). A unix socket gets the umask's
 * mode and is removed at exit.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <microhttpd.h>

#include "milter.h"

/* Scrapers served at once; each gets at most this many seconds. */
#define METRICS_CONNECTIONS  16
#define METRICS_TIMEOUT      10

/* Room the text may grow by between sizing it and writing it. */
#define METRICS_SLACK        4096

/* zeroed: a valid empty block (hg_metrics_init only adds the mark a
 * shared block is checked by) */
static hg_metrics_t         counters;
hg_metrics_t *const         hg_milter_metrics = &counters;

static int                  listen_fd = -1;
static char                *unix_path;
static struct MHD_Daemon   *daemon_;

hg_status_t
hg_metrics_bind(const hg_mconf_t *c, hg_err_t *err)
{
    hg_metrics_addr_t   a;
    struct sockaddr_un  un;
    struct stat         st;
    int                 fd, one = 1;

    if (c->metrics_listen == NULL) {
        return HG_OK;
    }
    if (hg_metrics_parse(c->metrics_listen, &a, err) != HG_OK) {
        return HG_EINVAL;
    }
    fd = socket(a.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return hg_err_sys(err, HG_EIO, "%s: socket", c->metrics_listen);
    }
    if (a.family == AF_UNIX) {
        memset(&un, 0, sizeof(un));
        un.sun_family = AF_UNIX;
        strcpy(un.sun_path, a.path);
        /* a socket left by an earlier run; never anything else */
        if (lstat(a.path, &st) == 0 && S_ISSOCK(st.st_mode)) {
            (void) unlink(a.path);
        }
        if (bind(fd, (struct sockaddr *) &un, sizeof(un)) != 0) {
            close(fd);
            return hg_err_sys(err, HG_EIO, "%s: cannot bind",
                              c->metrics_listen);
        }
        if ((unix_path = strdup(a.path)) == NULL) {
            close(fd);
            return hg_err_set(err, HG_ENOMEM, "out of memory");
        }
    } else {
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (a.family == AF_INET6) {
            /* that address only, not IPv4 too */
            (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
                              sizeof(one));
        }
        if (bind(fd, a.family == AF_INET6 ? (struct sockaddr *) &a.in6
                                          : (struct sockaddr *) &a.in,
                 a.family == AF_INET6 ? sizeof(a.in6) : sizeof(a.in)) != 0)
        {
            close(fd);
            return hg_err_sys(err, HG_EIO, "%s: cannot bind",
                              c->metrics_listen);
        }
    }
    if (listen(fd, 16) != 0) {
        close(fd);
        return hg_err_sys(err, HG_EIO, "%s: cannot listen",
                          c->metrics_listen);
    }
    listen_fd = fd;
    return HG_OK;
}

/* GET /metrics (HEAD too); anything else 404 or 405. */
static enum MHD_Result
_answer(void *cls, struct MHD_Connection *conn, const char *url,
        const char *method, const char *version, const char *upload_data,
        size_t *upload_data_size, void **req_cls)
{
    struct MHD_Response    *resp;
    enum MHD_Result         ret;
    unsigned                status = MHD_HTTP_OK;
    char                   *text = NULL;
    size_t                  len, cap;

    (void) cls;
    (void) version;
    (void) upload_data;
    (void) req_cls;
    if (*upload_data_size != 0) {
        *upload_data_size = 0;      /* a body is read and ignored */
        return MHD_YES;
    }
    if (strcmp(url, "/metrics") != 0) {
        status = MHD_HTTP_NOT_FOUND;
    } else if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
    } else {
        len = hg_metrics_render(&counters, 1u << HG_METRICS_MAIL,
                                time(NULL), NULL, 0);
        for (;;) {
            cap = len + METRICS_SLACK;
            free(text);
            if ((text = malloc(cap)) == NULL) {
                status = MHD_HTTP_INTERNAL_SERVER_ERROR;
                break;
            }
            len = hg_metrics_render(&counters, 1u << HG_METRICS_MAIL,
                                    time(NULL), text, cap);
            if (len < cap) {
                break;
            }
        }
    }
    if (status != MHD_HTTP_OK) {
        free(text);
        text = NULL;
        len = 0;
    }
    resp = MHD_create_response_from_buffer(len, text,
                                           text != NULL ? MHD_RESPMEM_MUST_FREE
                                           : MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    if (status == MHD_HTTP_OK) {
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                       HG_METRICS_CONTENT_TYPE);
    } else if (status == MHD_HTTP_METHOD_NOT_ALLOWED) {
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
                                       "GET, HEAD");
    }
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

hg_status_t
hg_metrics_start(hg_err_t *err)
{
    if (listen_fd < 0) {
        return HG_OK;
    }
    /* one thread polls the socket and answers: a scrape is a few KiB */
    daemon_ = MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD, 0, NULL, NULL,
                               _answer, NULL,
                               MHD_OPTION_LISTEN_SOCKET, listen_fd,
                               MHD_OPTION_CONNECTION_LIMIT,
                               (unsigned) METRICS_CONNECTIONS,
                               MHD_OPTION_CONNECTION_TIMEOUT,
                               (unsigned) METRICS_TIMEOUT,
                               MHD_OPTION_END);
    if (daemon_ == NULL) {
        return hg_err_set(err, HG_EIO, "MetricsListen: libmicrohttpd did not "
                          "start");
    }
    return HG_OK;
}

void
hg_metrics_stop(void)
{
    if (daemon_ != NULL) {
        /* closes the listening socket it was given */
        MHD_stop_daemon(daemon_);
        daemon_ = NULL;
        listen_fd = -1;
    }
    if (listen_fd >= 0) {
        close(listen_fd);
        listen_fd = -1;
    }
    if (unix_path != NULL) {
        (void) unlink(unix_path);
        free(unix_path);
        unix_path = NULL;
    }
}
