/*
 * scan_body.c - hashgate scan --json-body / --form-body: a captured HTTP
 * request body read as the nginx module reads it.
 *
 * The body is streamed through the API body parser (apibody.h): every
 * base64 string or data: URL of a JSON body, every field of a url-encoded
 * form that is one, is a part, hashed and matched as it is decoded and
 * reported as FILE#PATH (FILE#/files/0/content, FILE#field). Each part
 * goes through the same fan-out as a file (hg_mail_scan_object_*), so an
 * archive inside a part is opened by the inspection helper and each file
 * in it reported as FILE#PATH!INNER. A name that follows its value in the
 * JSON comes with the part's end, where the report takes it from.
 *
 * A body that is not well-formed is not an error (the application would
 * refuse it): what came before the fault was scanned, and a line says
 * where parsing stopped. A limit reached (nesting, parts, bytes decoded)
 * is an error, exit 2, as for a message that could not be taken apart.
 * The body itself is not hashed as a file: give it as a PATH for that.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "scan.h"
#include "util.h"

typedef struct {
    scan_ctx_t         *sc;
    const char         *path;       /* the body file */
    hg_part_info_t      end_info;   /* the part as it ended (its name) */
    hg_part_stats_t     stats;
} body_ctx_t;

/* One object of a part: the part itself, or a file inside it. */
static hg_status_t
_body_object(void *ctx, const hg_mail_object_t *obj)
{
    body_ctx_t                 *bc = ctx;
    const hg_mail_reading_t    *r = &obj->reading[0];
    scan_part_t                 where;

    memset(&where, 0, sizeof(where));
    where.body = 1;
    if (obj->kind == HG_MAIL_IMAGE) {
        if (obj->inner == NULL) {
            where.info = &bc->end_info;
        }
        scan_report_image(bc->sc, bc->path, &where, obj);
        return HG_OK;
    }
    if (obj->inner == NULL) {
        where.info = &bc->end_info;
        where.decode_errors = bc->stats.decode_errors;
        scan_report(bc->sc, bc->path, &where,
                    r->st == HG_OK ? &r->res : NULL, r->st, NULL);
        return HG_OK;
    }
    scan_report_inner(bc->sc, bc->path, &where, obj);
    return HG_OK;
}

static hg_status_t
_part_begin(void *ctx, const hg_part_info_t *info)
{
    body_ctx_t *bc = ctx;

    return hg_mail_scan_object_begin(bc->sc->mail_scan, info, _body_object,
                                     bc);
}

static hg_status_t
_part_data(void *ctx, const unsigned char *buf, size_t len)
{
    body_ctx_t *bc = ctx;

    /* a failed scan goes with the object to its report */
    (void) hg_mail_scan_object_feed(bc->sc->mail_scan, buf, len);
    return HG_OK;
}

static hg_status_t
_part_end(void *ctx, const hg_part_info_t *info, const hg_part_stats_t *stats)
{
    body_ctx_t *bc = ctx;

    bc->end_info = *info;
    bc->stats = *stats;
    return hg_mail_scan_object_end(bc->sc->mail_scan);
}

/* What the body was: a line (or a JSON object) after its parts. */
static void
_body_summary(scan_ctx_t *sc, const char *path, hg_apibody_mode_t mode,
              unsigned parts, const char *why, uint64_t off)
{
    hg_json_t  *j = &sc->j;
    char        tail[128];

    if (sc->json) {
        hg_json_reset(j);
        hg_json_obj_begin(j);
        hg_json_kv_str(j, "path", path);
        hg_json_kv_str(j, "body", mode == HG_APIBODY_JSON ? "json" : "form");
        hg_json_kv_uint(j, "parts", parts);
        if (why != NULL) {
            hg_json_kv_str(j, "stopped", why);
            hg_json_kv_uint(j, "stopped_at", off);
        }
        hg_json_obj_end(j);
        if (hg_json_done(j) != HG_OK) {
            cli_error("scan: %s: cannot format the JSON line", path);
            sc->failed = 1;
            return;
        }
        fwrite(j->buf, 1, j->len, stdout);
        return;
    }
    if (why != NULL) {
        cli_put_safe(stdout, path);
        snprintf(tail, sizeof(tail), ": BODY STOPPED at byte %" PRIu64 ": ",
                 off);
        fputs(tail, stdout);
        fputs(why, stdout);
        fputs(" (what came before was scanned)\n", stdout);
    } else if (parts == 0) {
        cli_put_safe(stdout, path);
        fputs(": OK (no parts)\n", stdout);
    }
}

void
scan_body(scan_ctx_t *sc, const char *path, hg_apibody_mode_t mode)
{
    hg_unpack_cb_t  cb = { _part_begin, _part_data, _part_end };
    body_ctx_t      bc;
    hg_apibody_t   *b;
    hg_err_t        err;
    hg_status_t     st = HG_OK;
    const char     *why;
    uint64_t        off;
    ssize_t         n;
    int             fd = STDIN_FILENO;

    if (strcmp(path, "-") != 0
        && (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
    {
        scan_report(sc, path, NULL, NULL, HG_EIO, strerror(errno));
        return;
    }
    memset(&bc, 0, sizeof(bc));
    bc.sc = sc;
    bc.path = path;
    err.msg[0] = '\0';
    if ((b = hg_apibody_new(mode, &sc->body_limits, &cb, &bc, &err)) == NULL) {
        scan_report(sc, path, NULL, NULL, HG_ENOMEM, cli_errstr(&err, HG_ENOMEM));
        goto done;
    }
    while ((n = cli_read_full(fd, sc->buf, CLI_READ_SIZE)) > 0) {
        if ((st = hg_apibody_feed(b, sc->buf, (size_t) n, &err)) != HG_OK) {
            break;
        }
    }
    if (n < 0) {
        hg_mail_scan_abort(sc->mail_scan);
        scan_report(sc, path, NULL, NULL, HG_EIO, strerror(errno));
        goto done;
    }
    if (st == HG_OK) {
        st = hg_apibody_finish(b, &err);
    }
    if (st != HG_OK) {
        /* a limit: the part open then was not checked to its end */
        hg_mail_scan_abort(sc->mail_scan);
        scan_report(sc, path, NULL, NULL, st, cli_errstr(&err, st));
        goto done;
    }
    why = hg_apibody_stopped(b, &off);
    _body_summary(sc, path, mode, hg_apibody_parts(b), why, off);

done:
    hg_apibody_free(b);
    if (fd != STDIN_FILENO) {
        close(fd);
    }
}
