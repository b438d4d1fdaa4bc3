/*
 * report_text.c - an incident for a person to read before it is
 * submitted (--format text), and for programs (--format json, one object
 * a line).
 *
 * Both say the same as the draft: the mail or request, what was done, and
 * per matched file its names, size, types, digests, lists and where its
 * record is; for a PDQ match also how near (distance), the image's hash
 * and quality, and the entry matched with its quality. Names come from
 * mail and requests nobody here controls: the text form writes bytes that
 * could move a terminal's cursor as \xNN.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashgate/json.h"
#include "report.h"
#include "util.h"

void
rep_state_words(const rep_state_entry_t *se, char *out, size_t outlen)
{
    if (se == NULL) {
        snprintf(out, outlen, "not drafted");
    } else if (se->retracted != NULL) {
        snprintf(out, outlen, "submission retracted %s (report %s)",
                 se->retracted, se->report_id ? se->report_id : "?");
    } else if (se->finished != NULL) {
        snprintf(out, outlen, "submitted %s, report %s", se->finished,
                 se->report_id ? se->report_id : "?");
    } else if (se->report_id != NULL) {
        snprintf(out, outlen, "submission begun (report %s), not finished",
                 se->report_id);
    } else if (se->drafted != NULL) {
        snprintf(out, outlen, "drafted %s: %s", se->drafted,
                 se->draft_path ? se->draft_path : "?");
    } else {
        snprintf(out, outlen, "not drafted");
    }
}

static void
_line(FILE *fp, const char *label, const char *value)
{
    if (value == NULL) {
        return;
    }
    fprintf(fp, "  %-12s", label);
    cli_put_safe(fp, value);
    fputc('\n', fp);
}

static void
_digests(FILE *fp, const char *indent, const hg_evrec_digests_t *d)
{
    if (d->md5) {
        fprintf(fp, "%smd5:       %s\n", indent, d->md5);
    }
    if (d->sha1) {
        fprintf(fp, "%ssha1:      %s\n", indent, d->sha1);
    }
    if (d->sha256) {
        fprintf(fp, "%ssha256:    %s\n", indent, d->sha256);
    }
}

/*
 * The rest of a PDQ match's list line and two lines more: how near, the
 * image's hash that came nearest (and its quality), the entry matched.
 */
static void
_pdq(FILE *fp, const hg_evrec_t *r, const hg_evrec_match_t *m)
{
    if (m->has_distance) {
        fprintf(fp, ", distance %" PRIu64 " of 256 bits", m->distance);
    }
    fputc('\n', fp);
    fprintf(fp, "    pdq:       %s", m->digest ? m->digest
                                    : r->image_pdq ? r->image_pdq : "?");
    if (m->dihedral != NULL) {
        fputs(" (of the image turned ", fp);
        cli_put_safe(fp, m->dihedral);
        fputc(')', fp);
    }
    if (r->has_image_quality) {
        fprintf(fp, ", quality %" PRIu64, r->image_quality);
    }
    fputc('\n', fp);
    fprintf(fp, "    entry:     pdq %s", m->listed_pdq ? m->listed_pdq : "?");
    if (m->has_listed_quality) {
        fprintf(fp, ", quality %" PRIu64, m->listed_quality);
    }
    fputc('\n', fp);
}

void
rep_print_text(FILE *fp, const rep_incident_t *inc, const rep_filter_t *f,
               const rep_state_entry_t *se)
{
    const hg_evrec_t  **files, *r;
    char                t[40], st[600];
    const char         *s;
    size_t              n, i, k;

    fprintf(fp, "incident %s ", inc->channel);
    cli_put_safe(fp, inc->id);
    if (inc->refused != NULL) {
        fputs(": REFUSED, not drafted: ", fp);
        cli_put_safe(fp, inc->refused);
        fputc('\n', fp);
    } else {
        rep_state_words(se, st, sizeof(st));
        fprintf(fp, ": ");
        cli_put_safe(fp, st);
        fputc('\n', fp);
    }
    if (inc->nrecs == 0) {
        fputc('\n', fp);
        return;
    }
    files = calloc(inc->nrecs, sizeof(*files));
    if (files == NULL) {
        fputs("  (out of memory)\n", fp);
        return;
    }
    n = rep_files(inc, f, files);
    r = inc->recs[0];
    rep_time(inc->first_ms, t, sizeof(t));
    fprintf(fp, "  %-12s%s\n", "time:", t);
    if (strcmp(inc->channel, "smtp") == 0) {
        _line(fp, "queue-id:", r->queue_id);
        _line(fp, "message-id:", r->message_id);
        _line(fp, "sender:", r->mail_from);
        if (r->nrcpt > 0) {
            fprintf(fp, "  %-12s", "recipients:");
            for (i = 0, s = r->rcpt_to; i < r->nrcpt; i++, s += strlen(s) + 1) {
                fputs(i ? ", " : "", fp);
                cli_put_safe(fp, s);
            }
            fputc('\n', fp);
        }
        if (r->client_addr != NULL) {
            fprintf(fp, "  %-12s", "client:");
            cli_put_safe(fp, r->client_name ? r->client_name : "unknown");
            fputs(" [", fp);
            cli_put_safe(fp, r->client_addr);
            fputs("]", fp);
            if (r->helo) {
                fputs(", HELO ", fp);
                cli_put_safe(fp, r->helo);
            }
            fputc('\n', fp);
        }
    } else {
        _line(fp, "request-id:", r->request_id);
        if (r->host || r->uri) {
            fprintf(fp, "  %-12s", "upload:");
            cli_put_safe(fp, r->method ? r->method : "?");
            fputc(' ', fp);
            cli_put_safe(fp, r->host ? r->host : "?");
            cli_put_safe(fp, r->uri ? r->uri : "");
            fputc('\n', fp);
        }
        _line(fp, "client:", r->client_addr);
    }
    fprintf(fp, "  %-12s%s%s\n", "action:", r->action ? r->action : "?",
            r->monitor ? " (monitor mode)" : "");
    fprintf(fp, "  %-12s%zu\n", "files:", n);
    for (i = 0; i < n; i++) {
        r = files[i];
        fprintf(fp, "  file %zu: ", i + 1);
        if (r->filename) {
            fputc('"', fp);
            cli_put_safe(fp, r->filename);
            fputs("\", ", fp);
        }
        fputs("part ", fp);
        cli_put_safe(fp, r->part ? r->part : "(body)");
        if (r->d.has_size) {
            fprintf(fp, ", %" PRIu64 " bytes", r->d.size);
        }
        if (r->detected_type) {
            fputs(", ", fp);
            cli_put_safe(fp, r->detected_type);
        }
        if (r->declared_type) {
            fputs(" (declared ", fp);
            cli_put_safe(fp, r->declared_type);
            fputs(")", fp);
        }
        fputc('\n', fp);
        for (k = 0; k < r->nlists; k++) {
            fprintf(fp, "    list:      ");
            cli_put_safe(fp, r->lists[k].list);
            if (r->lists[k].version && r->lists[k].version[0]) {
                fputc(' ', fp);
                cli_put_safe(fp, r->lists[k].version);
            }
            fprintf(fp, ", by %s", r->lists[k].algorithm);
            if (rep_match_is_pdq(&r->lists[k])) {
                _pdq(fp, r, &r->lists[k]);
                continue;
            }
            /* the file's other digests as the list gives them */
            if (r->lists[k].listed.md5 != NULL) {
                fprintf(fp, ", listed md5 %s", r->lists[k].listed.md5);
            }
            if (r->lists[k].listed.sha1 != NULL) {
                fprintf(fp, ", listed sha1 %s", r->lists[k].listed.sha1);
            }
            if (r->lists[k].listed.sha256 != NULL) {
                fprintf(fp, ", listed sha256 %s", r->lists[k].listed.sha256);
            }
            fputc('\n', fp);
        }
        _digests(fp, "    ", &r->d);
        for (k = 0; k < r->ncontainers; k++) {
            fprintf(fp, "    inside:    ");
            cli_put_safe(fp, r->containers[k].path ? r->containers[k].path
                         : "?");
            fputs(" (", fp);
            cli_put_safe(fp, r->containers[k].format ? r->containers[k].format
                         : "?");
            fputs(")", fp);
            if (r->containers[k].d.sha256) {
                fprintf(fp, " sha256 %s", r->containers[k].d.sha256);
            }
            fputc('\n', fp);
        }
        if (r->held_at) {
            fprintf(fp, "    held at:   ");
            cli_put_safe(fp, r->held_at);
            fputc('\n', fp);
        }
        fprintf(fp, "    record:    ");
        cli_put_safe(fp, r->file);
        fprintf(fp, ":%" PRIu64 "\n", r->line);
    }
    fputc('\n', fp);
    free(files);
}

static void
_jdigests(hg_json_t *j, const hg_evrec_digests_t *d)
{
    if (d->md5) {
        hg_json_kv_str(j, "md5", d->md5);
    }
    if (d->sha1) {
        hg_json_kv_str(j, "sha1", d->sha1);
    }
    if (d->sha256) {
        hg_json_kv_str(j, "sha256", d->sha256);
    }
    if (d->has_size) {
        hg_json_kv_uint(j, "size", d->size);
    }
}

static void
_jopt(hg_json_t *j, const char *k, const char *v)
{
    if (v != NULL) {
        hg_json_kv_str(j, k, v);
    }
}

/* A PDQ match's fields, named as in its record; "quality" beside
 * "digest" is the image's. */
static void
_jpdq(hg_json_t *j, const hg_evrec_t *r, const hg_evrec_match_t *m)
{
    _jopt(j, "digest", m->digest ? m->digest : r->image_pdq);
    if (r->has_image_quality) {
        hg_json_kv_uint(j, "quality", r->image_quality);
    }
    if (m->has_distance) {
        hg_json_kv_uint(j, "distance", m->distance);
    }
    _jopt(j, "dihedral", m->dihedral);
    hg_json_key(j, "listed");
    hg_json_obj_begin(j);
    _jopt(j, "pdq", m->listed_pdq);
    if (m->has_listed_quality) {
        hg_json_kv_uint(j, "quality", m->listed_quality);
    }
    hg_json_obj_end(j);
}

void
rep_print_json(FILE *fp, const rep_incident_t *inc, const rep_filter_t *f,
               const rep_state_entry_t *se)
{
    const hg_evrec_t  **files = NULL, *r;
    hg_json_t           j;
    char                t[40], st[600];
    const char         *s;
    size_t              n = 0, i, k;

    hg_json_init(&j);
    hg_json_obj_begin(&j);
    hg_json_kv_str(&j, "incident", inc->key);
    hg_json_kv_str(&j, "channel", inc->channel);
    hg_json_kv_str(&j, "id", inc->id);
    if (inc->first_ms != INT64_MAX) {
        rep_time(inc->first_ms, t, sizeof(t));
        hg_json_kv_str(&j, "time", t);
    }
    if (inc->refused != NULL) {
        hg_json_kv_str(&j, "refused", inc->refused);
    }
    rep_state_words(se, st, sizeof(st));
    hg_json_kv_str(&j, "state", st);
    if (se != NULL) {
        _jopt(&j, "draft", se->draft_path);
        _jopt(&j, "report_id", se->report_id);
    }
    if (inc->nrecs > 0 && (files = calloc(inc->nrecs, sizeof(*files)))) {
        n = rep_files(inc, f, files);
        r = inc->recs[0];
        hg_json_kv_str(&j, "action", r->action);
        hg_json_key(&j, "monitor");
        hg_json_bool(&j, r->monitor);
        _jopt(&j, "client_addr", r->client_addr);
        if (strcmp(inc->channel, "smtp") == 0) {
            _jopt(&j, "client_name", r->client_name);
            _jopt(&j, "helo", r->helo);
            _jopt(&j, "mail_from", r->mail_from);
            hg_json_key(&j, "rcpt_to");
            hg_json_arr_begin(&j);
            for (i = 0, s = r->rcpt_to; i < r->nrcpt; i++, s += strlen(s) + 1) {
                hg_json_str(&j, s);
            }
            hg_json_arr_end(&j);
            _jopt(&j, "message_id", r->message_id);
            _jopt(&j, "queue_id", r->queue_id);
        } else {
            _jopt(&j, "host", r->host);
            _jopt(&j, "method", r->method);
            _jopt(&j, "uri", r->uri);
            _jopt(&j, "request_id", r->request_id);
        }
    }
    hg_json_key(&j, "files");
    hg_json_arr_begin(&j);
    for (i = 0; i < n; i++) {
        r = files[i];
        hg_json_obj_begin(&j);
        _jopt(&j, "part", r->part);
        _jopt(&j, "inner_path", r->inner_path);
        _jopt(&j, "filename", r->filename);
        _jopt(&j, "declared_type", r->declared_type);
        _jopt(&j, "detected_type", r->detected_type);
        _jdigests(&j, &r->d);
        hg_json_key(&j, "lists");
        hg_json_arr_begin(&j);
        for (k = 0; k < r->nlists; k++) {
            hg_json_obj_begin(&j);
            hg_json_kv_str(&j, "list", r->lists[k].list);
            _jopt(&j, "version", r->lists[k].version);
            hg_json_kv_str(&j, "algorithm", r->lists[k].algorithm);
            if (rep_match_is_pdq(&r->lists[k])) {
                _jpdq(&j, r, &r->lists[k]);
            }
            hg_json_obj_end(&j);
        }
        hg_json_arr_end(&j);
        if (r->ncontainers > 0) {
            hg_json_key(&j, "containers");
            hg_json_arr_begin(&j);
            for (k = 0; k < r->ncontainers; k++) {
                hg_json_obj_begin(&j);
                _jopt(&j, "path", r->containers[k].path);
                _jopt(&j, "format", r->containers[k].format);
                _jdigests(&j, &r->containers[k].d);
                hg_json_obj_end(&j);
            }
            hg_json_arr_end(&j);
        }
        _jopt(&j, "held_at", r->held_at);
        snprintf(st, sizeof(st), "%s:%" PRIu64, r->file, r->line);
        hg_json_kv_str(&j, "record", st);
        hg_json_obj_end(&j);
    }
    hg_json_arr_end(&j);
    hg_json_obj_end(&j);
    if (hg_json_done(&j) == HG_OK) {
        fwrite(j.buf, 1, j.len, fp);
    } else {
        cli_error("report: out of memory");
    }
    hg_json_free(&j);
    free(files);
}
