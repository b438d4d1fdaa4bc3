/*
 * cmd_scan.c - hashgate scan: hash files, directories, stdin and mail, and
 * match them against a database.
 *
 * Without -d every object gets MD5, SHA-1 and SHA-256, so `scan --json`
 * also makes lists; with -d only what the database needs is computed. Plain
 * output is clamscan's ("PATH: OK", "PATH: LIST FOUND", "PATH: ERROR
 * reason"); --json prints one object a line. Mail (an RFC 5322 file, an
 * mbox, a Maildir) is unpacked by scan_mail.c and reported per leaf part.
 * The decision is hg_decide's, as in the servers: an allow-list match makes
 * an object clean with allowed_by. Anything that could not be scanned is an
 * error (exit 2), never a quiet OK.
 *
 * Archives (zip, 7z, rar, tar, files compressed whole, ...) in files and
 * in mail are opened as the milter opens them: by the same fan-out
 * (hg_mail_scan, whose hg_mail_scan_object_* take a file that is no
 * message) and a sandboxed helper (hashgate-inspect), one for the run.
 * Each file inside is reported under its chain: "a.zip!photos/x.jpg",
 * "mail.eml#2!in.tar!b/y.jpg". A file inside that cannot be hashed
 * (encrypted, unreadable) and an archive not looked into to its end (a
 * limit, the helper died) are "not checked": exit 2, as for any object
 * that could not be scanned.
 *
 * Captured HTTP request bodies (--json-body, --form-body) are read by
 * scan_body.c as the nginx module reads them: each file inside (a base64
 * string, a data: URL, a form field) is a part, "FILE#/files/0/content".
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
#include <unistd.h>

#include "hashgate/db.h"
#include "hashgate/hash.h"
#include "hashgate/record.h"
#include "scan.h"
#include "util.h"

/* libmagic's answer: "application/vnd.openxmlformats-..." fits with room. */
#define SCAN_TYPE_MAX  128

static const char _scan_help[] =
    "Usage: hashgate scan [-d DB] [--json] [--raw] [--mail|--no-mail] PATH...\n"
    "       hashgate scan [-d DB] [--json] --json-body FILE | --form-body FILE\n"
    "\n"
    "Hash files (directories recursively; - for stdin) and match them\n"
    "against DB. Without -d, MD5, SHA-1 and SHA-256 are all computed, so\n"
    "--json output can be made into a list.\n"
    "\n"
    "Mail is unpacked and every leaf part (attachment or text body) is\n"
    "scanned: an RFC 5322 message (.eml, or header fields at the start), an\n"
    "mbox (starts with \"From \"; every message), a Maildir (cur/ and new/).\n"
    "A part sent without transfer encoding also matches with its line ends\n"
    "converted (LF as CRLF, or CRLF as LF), as the milter saw or a mailbox\n"
    "stored it: \"FOUND (as CRLF)\"; a line for each form that matches.\n"
    "\n"
    "Archives (zip, 7z, rar, tar, cpio, iso9660, cab, ar, files compressed\n"
    "with gzip, bzip2, xz, zstd or lz4, TNEF), as files or attachments, are\n"
    "opened in a sandboxed helper and every file inside is scanned too.\n"
    "\n"
    "Images (JPEG, PNG, GIF, WebP, by their bytes), as files, attachments\n"
    "or inside archives, are decoded in the same helper: a second line\n"
    "\"PATH: IMAGE FORMAT pdq HEX quality Q\" gives their PDQ hash, then OK,\n"
    "LIST FOUND (distance D) when within a list's threshold of one of the\n"
    "database's PDQ entries (quality 50 or more), or NOT CHECKED (why) for\n"
    "an image that does not decode (not an error) or is past a limit (an\n"
    "error).\n"
    "\n"
    "Request bodies, as the nginx module reads them (FILE - for stdin):\n"
    "every base64 string or data: URL of a JSON body, every field of a\n"
    "url-encoded form that is a file, is a part: FILE#/json/pointer or\n"
    "FILE#field. A body that is not well-formed is scanned up to the fault\n"
    "(\"BODY STOPPED at byte N\", not an error); a limit is an error.\n"
    "\n"
    "Options:\n"
    "  -d, --database DB   match against this compiled database\n"
    "  -j, --json          one JSON object a line per scanned object or part\n"
    "      --raw           hash message files as plain bytes (= --no-mail)\n"
    "      --mail          read every file as a message, detected or not\n"
    "      --no-mail       never unpack mail\n"
    "      --no-archives   do not open archives (each is hashed as it is),\n"
    "                      nor decode images\n"
    "      --no-images     do not decode images (no PDQ hashes)\n"
    "      --pdq-dihedral  match PDQ against the 8 turned and mirrored\n"
    "                      hashes too (--json prints them)\n"
    "      --helper PATH   the inspection helper (default: the installed one)\n"
    "      --archive-max-depth N       archives inside archives (8, at most 8)\n"
    "      --archive-max-files N       files per file or message (10000)\n"
    "      --archive-max-bytes N       bytes expanded per file or message (400M)\n"
    "      --archive-max-file-bytes N  bytes of one file inside, and of one\n"
    "                                  archive sent to the helper (100M)\n"
    "      --archive-max-ratio N       bytes expanded per archive byte (250;\n"
    "                                  0: none)\n"
    "      --archive-timeout SECONDS   one archive, wall clock (30)\n"
    "      --json-body FILE    scan FILE as a JSON request body (repeatable)\n"
    "      --form-body FILE    scan FILE as a url-encoded form body\n"
    "      --body-min-bytes N  decoded size from which a base64 string or a\n"
    "                          form field is a part (1K; data: URLs always)\n"
    "      --body-max-depth N  JSON nesting (100)\n"
    "      --body-max-parts N  parts a body (1000)\n"
    "      --body-max-decoded N  bytes decoded a body (400M; 0: none)\n"
    "  -h, --help          this help\n"
    "\n"
    "Output: PATH: OK | PATH: LIST FOUND | PATH: ERROR reason; a part of a\n"
    "message is PATH#PART (PATH#MESSAGE/PART in an mbox), of a body\n"
    "FILE#PATH, a file inside an archive PATH!INNER or PATH#PART!INNER\n"
    "(PATH!A.TAR!INNER when nested).\n"
    "A file inside that is encrypted or unreadable is \"NOT CHECKED (why)\",\n"
    "an archive stopped by a limit or a failed helper \"ERROR not checked:\n"
    "...\"; both count as errors.\n"
    "Exit status: 0 nothing matched, 1 a match, 2 an error.\n";

static void
_scan_display(char *out, size_t outlen, const char *path,
              const scan_part_t *part)
{
    if (part == NULL) {
        snprintf(out, outlen, "%s", path);
    } else if (part->in_file) {
        snprintf(out, outlen, "%s%s", path, part->info->path);
    } else if (part->info == NULL) {
        if (part->mbox) {
            snprintf(out, outlen, "%s#%ld", path, part->message);
        } else {
            snprintf(out, outlen, "%s", path);
        }
    } else if (part->mbox) {
        snprintf(out, outlen, "%s#%ld/%s", path, part->message,
                 part->info->path);
    } else {
        snprintf(out, outlen, "%s#%s", path, part->info->path);
    }
}

/* "size" and the hex digests of what res holds, into the open object */
static void
_scan_json_digests(hg_json_t *j, const hg_scan_result_t *res)
{
    int   a;
    char  hex[HG_HEX_MAX];

    hg_json_kv_uint(j, "size", res->digests.size);
    for (a = 0; a < HG_ALG_COUNT; a++) {
        if (res->digests.algs & HG_ALG_BIT(a)) {
            hg_hex_encode(res->digests.d[a], hg_alg_len((hg_alg_t) a), hex);
            hg_json_kv_str(j, hg_alg_name((hg_alg_t) a), hex);
        }
    }
}

/* The hex digests of d, by algorithm name, into the open object. */
static void
_scan_json_listed(hg_json_t *j, const hg_digests_t *d)
{
    int   a;
    char  hex[HG_HEX_MAX];

    for (a = 0; a < HG_ALG_COUNT; a++) {
        if (d->algs & HG_ALG_BIT(a)) {
            hg_hex_encode(d->d[a], hg_alg_len((hg_alg_t) a), hex);
            hg_json_kv_str(j, hg_alg_name((hg_alg_t) a), hex);
        }
    }
}

/* A file inside an archive: its path there, why not checked, and the
 * archives it was in, outermost first, each with its own digests. */
static void
_scan_json_inner(hg_json_t *j, const hg_mail_inner_t *in)
{
    size_t  i;

    if (in->inner_path != NULL) {
        hg_json_kv_str(j, "inner_path", in->inner_path);
    }
    if (in->not_checked != NULL) {
        hg_json_kv_str(j, "not_checked", in->not_checked);
    }
    hg_json_key(j, "containers");
    hg_json_arr_begin(j);
    for (i = 0; i < in->ncontainers; i++) {
        hg_json_obj_begin(j);
        hg_json_kv_str(j, "path", in->containers[i].path);
        hg_json_kv_str(j, "format", in->containers[i].format);
        hg_json_kv_uint(j, "size", in->containers[i].digests->size);
        if (in->containers[i].digests->algs & HG_ALG_BIT(HG_ALG_SHA256)) {
            char    hex[HG_HEX_MAX];

            hg_hex_encode(in->containers[i].digests->d[HG_ALG_SHA256], 32,
                          hex);
            hg_json_kv_str(j, "sha256", hex);
        }
        hg_json_obj_end(j);
    }
    hg_json_arr_end(j);
}

/* An image's format, sizes, PDQ hash and quality (or why none). */
static void
_scan_json_image(hg_json_t *j, const hg_mail_image_t *im)
{
    const hg_inspect_image_t   *img = im->img;
    char                        hex[HG_PDQ_HEX_LEN + 1];
    int                         k;

    hg_json_key(j, "image");
    hg_json_obj_begin(j);
    hg_json_kv_str(j, "format", hg_image_format_name(img->format));
    if (img->width > 0 && img->height > 0) {
        hg_json_kv_uint(j, "width", img->width);
        hg_json_kv_uint(j, "height", img->height);
    }
    if (img->st == HG_OK) {
        hg_pdq_to_hex(&img->pdq.hash, hex);
        hg_json_kv_str(j, "pdq", hex);
        hg_json_kv_uint(j, "quality", (uint64_t) img->pdq.quality);
        if (im->low_quality) {
            hg_json_key(j, "low_quality");
            hg_json_bool(j, 1);
        }
        if (img->dihedral) {
            hg_json_key(j, "dihedral");
            hg_json_obj_begin(j);
            for (k = 1; k < HG_PDQ_DIHEDRAL_COUNT; k++) {
                hg_pdq_to_hex(&img->pdq.dihedral[k], hex);
                hg_json_kv_str(j, hg_pdq_dihedral_name((hg_pdq_dihedral_t) k),
                               hex);
            }
            hg_json_obj_end(j);
        }
    } else {
        hg_json_kv_str(j, "not_checked", im->not_checked);
        hg_json_kv_str(j, "why", img->why[0] ? img->why
                                             : hg_status_str(img->st));
    }
    hg_json_obj_end(j);
}

/* The rest of a PDQ match: distance, dihedral, the entry as listed. */
static void
_scan_json(scan_ctx_t *sc, const char *path, const scan_part_t *part,
           const hg_scan_result_t *res, const hg_verdict_t *v,
           const char *verdict, const char *why)
{
    hg_json_t  *j = &sc->j;
    size_t      i;
    char        type[SCAN_TYPE_MAX];

    hg_json_reset(j);
    hg_json_obj_begin(j);
    hg_json_kv_str(j, "path", path);
    if (part != NULL && part->in_file) {
        hg_json_kv_str(j, "inner", part->info->path);
        hg_json_kv_str(j, "filename", part->info->filename);
    } else if (part != NULL) {
        if (!part->body) {
            hg_json_kv_uint(j, "message", (uint64_t) part->message);
        }
        if (part->info != NULL) {
            hg_json_kv_str(j, "part", part->info->path);
            if (part->body && part->info->field_name != NULL) {
                hg_json_kv_str(j, "field", part->info->field_name);
            }
            hg_json_kv_str(j, "filename", part->info->filename);
            hg_json_kv_str(j, "declared_type", part->info->content_type);
            hg_json_kv_str(j, "encoding", part->info->encoding);
            if (part->line_ends != NULL) {
                hg_json_kv_str(j, "line_ends", part->line_ends);
            }
        }
    }
    if (part != NULL && part->inner != NULL) {
        _scan_json_inner(j, part->inner);
    }
    if (part != NULL && part->image != NULL) {
        _scan_json_image(j, part->image);
    }
    if (res != NULL) {
        _scan_json_digests(j, res);
        /* the helper sends digests, not bytes: no type for a file inside */
        if ((part == NULL || part->inner == NULL)
            && (part == NULL || part->image == NULL))
        {
            hg_magic_type(sc->magic, res->head, res->head_len, type,
                          sizeof(type));
            hg_json_kv_str(j, "detected_type", type);
        }
        hg_json_key(j, "matches");
        hg_json_arr_begin(j);
        for (i = 0; i < res->nmatches && i < HG_SCAN_MAX_MATCHES; i++) {
            const hg_match_t  *m = &res->matches[i];

            hg_json_obj_begin(j);
            hg_json_kv_str(j, "list", m->list_name);
            hg_json_kv_str(j, "version",
                           m->list_version != NULL && m->list_version[0] != '\0'
                           ? m->list_version : NULL);
            hg_json_kv_str(j, "kind",
                           m->kind == HG_LIST_ALLOW ? "allow" : "block");
            if (m->pdq) {
                hg_record_pdq_match(j, m, NULL);
                hg_json_obj_end(j);
                continue;
            }
            hg_json_kv_str(j, "algorithm", hg_alg_name(m->alg));
            hg_json_kv_str(j, "label", m->label);
            if (m->listed.algs != 0) {
                /* the file's other digests as listed, not computed */
                hg_json_key(j, "listed");
                hg_json_obj_begin(j);
                _scan_json_listed(j, &m->listed);
                hg_json_obj_end(j);
            }
            hg_json_obj_end(j);
        }
        hg_json_arr_end(j);
        if (part != NULL && part->decode_errors > 0) {
            hg_json_kv_uint(j, "decode_errors", part->decode_errors);
        }
        if (part != NULL && part->also != NULL) {
            /* a list may carry either form: a report can name both */
            hg_json_key(j, "also");
            hg_json_obj_begin(j);
            hg_json_kv_str(j, "line_ends", part->also_form);
            _scan_json_digests(j, part->also);
            hg_json_obj_end(j);
        }
    }
    hg_json_kv_str(j, "verdict", verdict);
    if (v != NULL && v->allowed_by != NULL) {
        hg_json_kv_str(j, "allowed_by", v->allowed_by);
    }
    if (why != NULL) {
        hg_json_kv_str(j, "error", why);
    }
    hg_json_obj_end(j);
    if (hg_json_done(j) != HG_OK) {
        cli_error("scan: %s: cannot format the JSON line", path);
        sc->failed = 1;
        return;
    }
    fwrite(j->buf, 1, j->len, stdout);
}

/*
 * One plain report line: "PATH: WHAT[ ARG][ TAIL]". The path, and what
 * came from a list or a message, is written with cli_put_safe: a file name
 * is data, and a newline or an escape sequence in it must not fake a line
 * or hide one on a terminal.
 */
static void
_scan_line(FILE *fp, const char *prefix, const char *shown, const char *what,
           const char *arg, const char *tail)
{
    fputs(prefix, fp);
    cli_put_safe(fp, shown);
    fputs(": ", fp);
    fputs(what, fp);
    if (arg != NULL) {
        cli_put_safe(fp, arg);
    }
    fputs(tail, fp);
    fputc('\n', fp);
}

void
scan_report(scan_ctx_t *sc, const char *path, const scan_part_t *part,
            const hg_scan_result_t *res, hg_status_t st, const char *why)
{
    hg_verdict_t   v;
    const char    *verdict;
    char           shown[4096], tail[32];

    _scan_display(shown, sizeof(shown), path, part);

    if (st != HG_OK || res == NULL) {
        if (why == NULL && st == HG_EIO
            && hg_db_lost(hg_mail_scan_db(sc->mail_scan)))
        {
            why = "not checked: " CLI_DB_LOST;
        }
        if (why == NULL) {
            why = hg_status_str(st);
        }
        sc->failed = 1;
        _scan_line(stderr, "hashgate: scan: ", shown, "", why, "");
        if (sc->json) {
            _scan_json(sc, path, part, NULL, NULL, "error", why);
        } else {
            _scan_line(stdout, "", shown, "ERROR ", why, "");
        }
        return;
    }

    if (part != NULL && part->inner != NULL
        && part->inner->not_checked != NULL)
    {
        /* no digest to match: not clean, and said so */
        sc->failed = 1;
        if (sc->json) {
            _scan_json(sc, path, part, res, NULL, "not checked", NULL);
        } else {
            _scan_line(stdout, "", shown, "NOT CHECKED (",
                       part->inner->not_checked, ")");
        }
        return;
    }

    v = hg_decide(&sc->policy, res, HG_OK);
    if (v.matched && v.allowed_by == NULL) {
        verdict = "match";
        sc->matched = 1;
    } else {
        verdict = "clean";
    }

    if (sc->json) {
        _scan_json(sc, path, part, res, &v, verdict, NULL);
    } else if (verdict[0] == 'm' && part != NULL && part->line_ends != NULL) {
        snprintf(tail, sizeof(tail), " FOUND (as %s)", part->line_ends);
        _scan_line(stdout, "", shown, "", v.list, tail);
    } else if (verdict[0] == 'm') {
        _scan_line(stdout, "", shown, "", v.list, " FOUND");
    } else if (v.allowed_by != NULL) {
        _scan_line(stdout, "", shown, "OK (allowed by ", v.allowed_by, ")");
    } else {
        _scan_line(stdout, "", shown, "OK", NULL, "");
    }
}

void
scan_report_inner(scan_ctx_t *sc, const char *path, scan_part_t *where,
                  const hg_mail_object_t *obj)
{
    const hg_mail_inner_t      *in = obj->inner;
    const hg_mail_reading_t    *r = &obj->reading[0];
    char                        why[HG_ERR_MAX + 64];

    where->info = obj->info;
    where->inner = in;
    where->decode_errors = 0;
    where->line_ends = NULL;
    where->also = NULL;
    if (obj->kind == HG_MAIL_INSPECT_FAILED) {
        if (r->st == HG_ELIMIT && in->done->limit != HG_INSPECT_LIMIT_NONE) {
            snprintf(why, sizeof(why), "not checked: archive %s limit "
                     "reached (%s)", hg_inspect_limit_name(in->done->limit),
                     in->done->why);
        } else {
            snprintf(why, sizeof(why), "not checked: %s",
                     in->done->why[0] ? in->done->why
                                      : hg_status_str(r->st));
        }
        scan_report(sc, path, where, NULL, r->st != HG_OK ? r->st : HG_EIO,
                    why);
        return;
    }
    scan_report(sc, path, where, r->st == HG_OK ? &r->res : NULL, r->st,
                NULL);
}

void
scan_report_image(scan_ctx_t *sc, const char *path, scan_part_t *where,
                   const hg_mail_object_t *obj)
{
    const hg_mail_image_t      *im = obj->image;
    const hg_inspect_image_t   *img = im->img;
    const hg_mail_reading_t    *r = &obj->reading[0];
    const hg_match_t           *m;
    hg_verdict_t                v;
    const char                 *verdict;
    char                        shown[4096], hex[HG_PDQ_HEX_LEN + 1];
    char                        what[HG_PDQ_HEX_LEN + 64], tail[96];
    size_t                      i;

    /* a part's or an inner file's place; the file itself (a plain file's
     * or a body part's, set by the caller) keeps its own */
    if (obj->inner != NULL || (!where->body && !where->in_file)) {
        where->info = obj->info;
    }
    where->inner = obj->inner;
    where->image = im;
    where->decode_errors = 0;
    where->line_ends = NULL;
    where->also = NULL;
    if (r->st != HG_OK) {
        scan_report(sc, path, where, NULL, r->st, NULL);
        return;
    }
    _scan_display(shown, sizeof(shown), path, where);

    if (im->not_checked != NULL) {
        /* a limit is an error (exit 2), as an archive's; an image that
         * does not decode is not: its bytes were matched all the same */
        if (img->st == HG_ELIMIT) {
            sc->failed = 1;
        }
        if (sc->json) {
            _scan_json(sc, path, where, &r->res, NULL, "not checked", NULL);
        } else {
            snprintf(what, sizeof(what), "IMAGE %s NOT CHECKED (%s: ",
                     hg_image_format_name(img->format), im->not_checked);
            _scan_line(stdout, "", shown, what,
                       img->why[0] ? img->why : hg_status_str(img->st), ")");
        }
        return;
    }

    v = hg_decide(&sc->policy, &r->res, HG_OK);
    if (v.matched && v.allowed_by == NULL) {
        verdict = "match";
        sc->matched = 1;
    } else {
        verdict = "clean";
    }
    if (sc->json) {
        _scan_json(sc, path, where, &r->res, &v, verdict, NULL);
        return;
    }
    hg_pdq_to_hex(&img->pdq.hash, hex);
    snprintf(what, sizeof(what), "IMAGE %s pdq %s quality %d",
             hg_image_format_name(img->format), hex, img->pdq.quality);
    if (verdict[0] == 'm') {
        /* the list that decided, and its entry's distance */
        for (i = 0, m = NULL; i < r->res.nmatches; i++) {
            if (r->res.matches[i].list_name != NULL && v.list != NULL
                && strcmp(r->res.matches[i].list_name, v.list) == 0)
            {
                m = &r->res.matches[i];
                break;
            }
        }
        snprintf(tail, sizeof(tail), " FOUND (distance %d%s%s)",
                 m != NULL ? m->pdq_distance : -1,
                 m != NULL && m->pdq_via != HG_PDQ_ORIGINAL ? ", " : "",
                 m != NULL && m->pdq_via != HG_PDQ_ORIGINAL
                 ? hg_pdq_dihedral_name(m->pdq_via) : "");
        strncat(what, " ", sizeof(what) - strlen(what) - 1);
        _scan_line(stdout, "", shown, what, v.list, tail);
    } else if (v.allowed_by != NULL) {
        strncat(what, " OK (allowed by ", sizeof(what) - strlen(what) - 1);
        _scan_line(stdout, "", shown, what, v.allowed_by, ")");
    } else {
        _scan_line(stdout, "", shown, what, NULL,
                   im->low_quality ? " (quality below the minimum: not "
                                     "matched)" : " OK");
    }
}

/* One object of a file that is no message: the file, or a file inside. */
static hg_status_t
_plain_object(void *ctx, const hg_mail_object_t *obj)
{
    scan_ctx_t                 *sc = ctx;
    const hg_mail_reading_t    *r = &obj->reading[0];
    scan_part_t                 where;

    memset(&where, 0, sizeof(where));
    if (obj->kind == HG_MAIL_IMAGE) {
        /* the file itself (no part path), or a file inside it */
        where.in_file = obj->inner != NULL;
        where.body = obj->inner == NULL;
        scan_report_image(sc, sc->cur_path, &where, obj);
        return HG_OK;
    }
    if (obj->inner == NULL) {
        scan_report(sc, sc->cur_path, NULL, r->st == HG_OK ? &r->res : NULL,
                    r->st, NULL);
        return HG_OK;
    }
    memset(&where, 0, sizeof(where));
    where.in_file = 1;
    scan_report_inner(sc, sc->cur_path, &where, obj);
    return HG_OK;
}

/* A plain file: its bytes, head already read into sc->buf; an archive is
 * opened (hg_mail_scan_object_*). */
static void
_scan_plain(scan_ctx_t *sc, const char *path, int fd, size_t head_len)
{
    hg_part_info_t    info;
    ssize_t           n;

    memset(&info, 0, sizeof(info));
    info.path = "";
    sc->cur_path = path;
    (void) hg_mail_scan_object_begin(sc->mail_scan, &info, _plain_object, sc);
    (void) hg_mail_scan_object_feed(sc->mail_scan, sc->buf, head_len);
    while (head_len == SCAN_SNIFF_MAX
           && (n = cli_read_full(fd, sc->buf, CLI_READ_SIZE)) != 0)
    {
        if (n < 0) {
            hg_mail_scan_abort(sc->mail_scan);
            scan_report(sc, path, NULL, NULL, HG_EIO, strerror(errno));
            return;
        }
        (void) hg_mail_scan_object_feed(sc->mail_scan, sc->buf, (size_t) n);
    }
    (void) hg_mail_scan_object_end(sc->mail_scan);
}

static void
_scan_fd(scan_ctx_t *sc, const char *path, int fd)
{
    ssize_t  n;
    int      mbox = 0, message = 0;

    n = cli_read_full(fd, sc->buf, SCAN_SNIFF_MAX);
    if (n < 0) {
        scan_report(sc, path, NULL, NULL, HG_EIO, strerror(errno));
        return;
    }
    if (sc->mail != SCAN_MAIL_OFF) {
        mbox = scan_mail_is_mbox(sc->buf, (size_t) n);
        message = mbox || sc->mail == SCAN_MAIL_FORCE || sc->in_maildir
                  || scan_mail_is_message(path, sc->buf, (size_t) n);
    }
    if (message) {
        scan_mail_fd(sc, path, fd, sc->buf, (size_t) n, mbox);
    } else {
        _scan_plain(sc, path, fd, (size_t) n);
    }
}

static int _scan_visit(void *ctx, cli_walk_kind_t kind, const char *path,
                       const struct stat *st, int errno_val);

static void
_scan_maildir(scan_ctx_t *sc, const char *dir)
{
    static const char *const  subs[] = { "cur", "new" };
    char                     *sub;
    size_t                    i;
    int                       saved = sc->in_maildir;

    sc->in_maildir = 1;
    for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        if (asprintf(&sub, "%s%s%s", dir,
                     dir[strlen(dir) - 1] == '/' ? "" : "/", subs[i]) < 0)
        {
            scan_report(sc, dir, NULL, NULL, HG_ENOMEM, NULL);
            break;
        }
        cli_walk(sub, _scan_visit, sc);
        free(sub);
    }
    sc->in_maildir = saved;
}

static int
_scan_visit(void *ctx, cli_walk_kind_t kind, const char *path,
            const struct stat *st, int errno_val)
{
    scan_ctx_t  *sc = ctx;
    int          fd;

    (void) st;
    switch (kind) {
    case CLI_WALK_ERROR:
        scan_report(sc, path, NULL, NULL, HG_EIO, strerror(errno_val));
        return 0;
    case CLI_WALK_DIR:
        if (sc->mail != SCAN_MAIL_OFF && !sc->in_maildir
            && scan_mail_is_maildir(path))
        {
            _scan_maildir(sc, path);
            return CLI_WALK_SKIP;
        }
        return 0;
    case CLI_WALK_FILE:
        break;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        scan_report(sc, path, NULL, NULL, HG_EIO, strerror(errno));
        return 0;
    }
    _scan_fd(sc, path, fd);
    close(fd);
    return 0;
}

/* The one helper of the run, lent to the fan-out for each archive. */
static hg_inspector_t *
_scan_borrow(void *pool, hg_err_t *err)
{
    (void) err;
    return pool;
}

static void
_scan_give_back(void *pool, hg_inspector_t *in)
{
    (void) pool;
    (void) in;
}

/* Archive options: a number in [min, max] (K/M/G with bytes) into *out;
 * -1 with the usage error printed. */
static int
_scan_num(const char *opt, const char *v, uint64_t min, uint64_t max,
          int bytes, uint64_t *out)
{
    char               *end;
    unsigned long long  n;
    uint64_t            mul = 1;

    errno = 0;
    n = strtoull(v, &end, 10);
    if (bytes && end != v && end[0] != '\0' && end[1] == '\0') {
        switch (end[0]) {
        case 'k': case 'K': mul = 1ULL << 10; end++; break;
        case 'm': case 'M': mul = 1ULL << 20; end++; break;
        case 'g': case 'G': mul = 1ULL << 30; end++; break;
        }
    }
    if (v[0] < '0' || v[0] > '9' || errno != 0 || *end != '\0'
        || n > UINT64_MAX / mul || n * mul < min || n * mul > max)
    {
        cli_usage("scan", "--%s '%s': expected a number from %llu to %llu%s",
                  opt, v, (unsigned long long) min, (unsigned long long) max,
                  bytes ? " (K, M, G allowed)" : "");
        return -1;
    }
    *out = n * mul;
    return 0;
}

/* Long options without a short form. */
enum {
    SCAN_OPT_NO_ARC = 256, SCAN_OPT_HELPER, SCAN_OPT_DEPTH, SCAN_OPT_FILES,
    SCAN_OPT_BYTES, SCAN_OPT_FILE_BYTES, SCAN_OPT_RATIO, SCAN_OPT_TIMEOUT,
    SCAN_OPT_JSON_BODY, SCAN_OPT_FORM_BODY, SCAN_OPT_BODY_MIN,
    SCAN_OPT_BODY_DEPTH, SCAN_OPT_BODY_PARTS, SCAN_OPT_BODY_DECODED,
    SCAN_OPT_NO_IMAGES, SCAN_OPT_DIHEDRAL
};

/* Body limit options into l; -1 with the usage error printed. */
static int
_scan_body_opt(int opt, const char *name, const char *v,
               hg_apibody_limits_t *l)
{
    uint64_t    n;

    switch (opt) {
    case SCAN_OPT_BODY_MIN:
        if (_scan_num(name, v, 1, 1ULL << 30, 1, &n) != 0) {
            return -1;
        }
        l->min_bytes = (size_t) n;
        return 0;
    case SCAN_OPT_BODY_DEPTH:
        if (_scan_num(name, v, 1, 100000, 0, &n) != 0) {
            return -1;
        }
        l->max_depth = (unsigned) n;
        return 0;
    case SCAN_OPT_BODY_PARTS:
        if (_scan_num(name, v, 1, 10000000, 0, &n) != 0) {
            return -1;
        }
        l->max_parts = (unsigned) n;
        return 0;
    default:
        return _scan_num(name, v, 0, 1ULL << 40, 1, &l->max_decoded);
    }
}

static int
_scan_archive_opt(int opt, const char *name, const char *v,
                  hg_inspect_limits_t *l)
{
    uint64_t    n;

    switch (opt) {
    case SCAN_OPT_DEPTH:
        if (_scan_num(name, v, 1, HG_INSPECT_MAX_DEPTH, 0, &n) != 0) {
            return -1;
        }
        l->max_depth = (unsigned) n;
        return 0;
    case SCAN_OPT_FILES:
        return _scan_num(name, v, 1, 10000000, 0, &l->max_files);
    case SCAN_OPT_BYTES:
        return _scan_num(name, v, 1024, 64ULL << 30, 1, &l->max_bytes);
    case SCAN_OPT_FILE_BYTES:
        return _scan_num(name, v, 1024, 64ULL << 30, 1, &l->max_file_bytes);
    case SCAN_OPT_RATIO:
        if (_scan_num(name, v, 0, 1000000, 0, &n) != 0) {
            return -1;
        }
        l->max_ratio = (unsigned) n;
        return 0;
    default:
        if (_scan_num(name, v, 1, 3600, 0, &n) != 0) {
            return -1;
        }
        l->timeout_ms = (unsigned) n * 1000;
        return 0;
    }
}

int
cmd_scan(int argc, char **argv)
{
    static const struct option  longopts[] = {
        { "database", required_argument, NULL, 'd' },
        { "json",     no_argument,       NULL, 'j' },
        { "raw",      no_argument,       NULL, 'r' },
        { "mail",     no_argument,       NULL, 'm' },
        { "no-mail",  no_argument,       NULL, 'n' },
        { "no-archives", no_argument,    NULL, SCAN_OPT_NO_ARC },
        { "no-images", no_argument,      NULL, SCAN_OPT_NO_IMAGES },
        { "pdq-dihedral", no_argument,   NULL, SCAN_OPT_DIHEDRAL },
        { "helper",   required_argument, NULL, SCAN_OPT_HELPER },
        { "archive-max-depth", required_argument, NULL, SCAN_OPT_DEPTH },
        { "archive-max-files", required_argument, NULL, SCAN_OPT_FILES },
        { "archive-max-bytes", required_argument, NULL, SCAN_OPT_BYTES },
        { "archive-max-file-bytes", required_argument, NULL,
          SCAN_OPT_FILE_BYTES },
        { "archive-max-ratio", required_argument, NULL, SCAN_OPT_RATIO },
        { "archive-timeout", required_argument, NULL, SCAN_OPT_TIMEOUT },
        { "json-body", required_argument, NULL, SCAN_OPT_JSON_BODY },
        { "form-body", required_argument, NULL, SCAN_OPT_FORM_BODY },
        { "body-min-bytes", required_argument, NULL, SCAN_OPT_BODY_MIN },
        { "body-max-depth", required_argument, NULL, SCAN_OPT_BODY_DEPTH },
        { "body-max-parts", required_argument, NULL, SCAN_OPT_BODY_PARTS },
        { "body-max-decoded", required_argument, NULL, SCAN_OPT_BODY_DECODED },
        { "help",     no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    scan_ctx_t          sc;
    hg_db_t            *db = NULL;
    const char         *dbpath = NULL, *helper = NULL;
    hg_err_t            err;
    hg_mail_inspect_t   mi;
    const char        **bodies = NULL;
    hg_apibody_mode_t  *body_mode = NULL;
    int                 nbodies = 0;
    int                 opt, i, li = 0, archives = 1, rc = CLI_EXIT_ERROR;

    memset(&sc, 0, sizeof(sc));
    memset(&mi, 0, sizeof(mi));
    hg_json_init(&sc.j);
    hg_policy_init(&sc.policy);
    hg_unpack_limits_default(&sc.limits);
    hg_apibody_limits_default(&sc.body_limits);
    /* an operator checking a captured body wants where it stops, even
     * with no part in it: the tokenizer reads every byte */
    sc.body_limits.max_retained = 0;
    hg_inspect_limits_default(&mi.limits);
    /* images are always hashed here: scan prints their PDQ hashes */
    hg_image_conf_default(&mi.images);
    mi.images.images = HG_PDQ_IMAGES_ON;
    bodies = calloc((size_t) argc + 1, sizeof(*bodies));
    body_mode = calloc((size_t) argc + 1, sizeof(*body_mode));
    if (bodies == NULL || body_mode == NULL) {
        cli_error("scan: out of memory");
        goto done;
    }

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "d:jh", longopts, &li)) != -1) {
        switch (opt) {
        case SCAN_OPT_NO_ARC:
            archives = 0;
            break;
        case SCAN_OPT_NO_IMAGES:
            mi.images.images = HG_PDQ_IMAGES_OFF;
            break;
        case SCAN_OPT_DIHEDRAL:
            mi.images.dihedral = 1;
            break;
        case SCAN_OPT_HELPER:
            helper = optarg;
            break;
        case SCAN_OPT_DEPTH:
        case SCAN_OPT_FILES:
        case SCAN_OPT_BYTES:
        case SCAN_OPT_FILE_BYTES:
        case SCAN_OPT_RATIO:
        case SCAN_OPT_TIMEOUT:
            if (_scan_archive_opt(opt, longopts[li].name, optarg, &mi.limits)
                != 0)
            {
                goto done;
            }
            break;
        case SCAN_OPT_JSON_BODY:
        case SCAN_OPT_FORM_BODY:
            body_mode[nbodies] = opt == SCAN_OPT_JSON_BODY ? HG_APIBODY_JSON
                                                           : HG_APIBODY_FORM;
            bodies[nbodies++] = optarg;
            break;
        case SCAN_OPT_BODY_MIN:
        case SCAN_OPT_BODY_DEPTH:
        case SCAN_OPT_BODY_PARTS:
        case SCAN_OPT_BODY_DECODED:
            if (_scan_body_opt(opt, longopts[li].name, optarg, &sc.body_limits)
                != 0)
            {
                goto done;
            }
            break;
        case 'd':
            dbpath = optarg;
            break;
        case 'j':
            sc.json = 1;
            break;
        case 'r':
        case 'n':
            sc.mail = SCAN_MAIL_OFF;
            break;
        case 'm':
            sc.mail = SCAN_MAIL_FORCE;
            break;
        case 'h':
            fputs(_scan_help, stdout);
            rc = CLI_EXIT_OK;
            goto done;
        default:
            rc = cli_usage("scan", "unknown option or missing argument: '%s'",
                           argv[optind - 1]);
            goto done;
        }
    }
    if (optind >= argc && nbodies == 0) {
        rc = cli_usage("scan", "nothing to scan (PATH... or - for stdin)");
        goto done;
    }

    if (dbpath != NULL && cli_db_open("scan", dbpath, 0, &db) != 0) {
        goto done;
    }
    /* every digest the database lists, or all three without one */
    if (hg_hash_check(db != NULL ? hg_db_algs(db) : HG_ALGS_ALL, &err)
        != HG_OK)
    {
        cli_error("scan: %s", err.msg);
        hg_db_close(db);
        goto done;
    }
    sc.mail_scan = hg_mail_scan_new(db, db == NULL ? HG_ALGS_ALL : 0);
    hg_db_close(db);        /* the scan contexts hold their own references */
    sc.buf = malloc(CLI_READ_SIZE);
    if (sc.mail_scan == NULL || sc.buf == NULL) {
        cli_error("scan: out of memory or OpenSSL unavailable");
        goto done;
    }
    if (archives) {
        /* a missing helper is an error, never archives silently unopened */
        err.msg[0] = '\0';
        if ((sc.inspector = hg_inspector_new(helper, &err)) == NULL) {
            cli_error("scan: %s (--no-archives scans without opening "
                      "archives)", cli_errstr(&err, HG_EIO));
            goto done;
        }
        mi.borrow = _scan_borrow;
        mi.give_back = _scan_give_back;
        mi.pool = sc.inspector;
        if (hg_mail_scan_set_inspect(sc.mail_scan, &mi, &err) != HG_OK) {
            cli_error("scan: %s", cli_errstr(&err, HG_ENOMEM));
            goto done;
        }
    }
    if (sc.json) {
        err.msg[0] = '\0';
        sc.magic = hg_magic_new(&err);
        if (sc.magic == NULL) {
            cli_error("scan: %s", cli_errstr(&err, HG_EIO));
            goto done;
        }
    }

    for (i = 0; i < nbodies; i++) {
        scan_body(&sc, bodies[i], body_mode[i]);
    }
    for (i = optind; i < argc; i++) {
        if (strcmp(argv[i], "-") == 0) {
            _scan_fd(&sc, "-", STDIN_FILENO);
        } else {
            cli_walk(argv[i], _scan_visit, &sc);
        }
    }
    /* a failed write to stdout is turned into exit 2 by main.c */
    rc = sc.failed ? CLI_EXIT_ERROR
                   : sc.matched ? CLI_EXIT_MATCH : CLI_EXIT_OK;

done:
    free(bodies);
    free(body_mode);
    free(sc.buf);
    hg_magic_free(sc.magic);
    hg_mail_scan_free(sc.mail_scan);
    hg_inspector_free(sc.inspector);
    hg_json_free(&sc.j);
    return rc;
}
