/*
 * magic.c - name an object's true type with libmagic.
 *
 * The declared type of an attachment or upload is whatever the sender wrote;
 * the evidence record also gives what the bytes are. libmagic is asked for
 * the MIME type only (MAGIC_MIME_TYPE) of the leading bytes that the scan
 * context kept. A cookie is not thread-safe, so each hg_magic_t owns one and
 * a thread or worker process owns the hg_magic_t.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <magic.h>
#include <stdlib.h>
#include <string.h>

#include "hashgate/magic.h"

#define HG_MAGIC_UNKNOWN  "application/octet-stream"

struct hg_magic_s {
    magic_t     cookie;
};

/*
 * Open a cookie and load the system's magic database. Returns NULL with err
 * set when libmagic cannot (out of memory, no database).
 */
hg_magic_t *
hg_magic_new(hg_err_t *err)
{
    hg_magic_t  *m;

    m = calloc(1, sizeof(*m));
    if (m == NULL) {
        hg_err_set(err, HG_ENOMEM, "libmagic: out of memory");
        return NULL;
    }
    /* MAGIC_ERROR: a read error is an error, not a guessed type */
    m->cookie = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR);
    if (m->cookie == NULL) {
        hg_err_sys(err, HG_ENOMEM, "libmagic: magic_open");
        free(m);
        return NULL;
    }
    if (magic_load(m->cookie, NULL) != 0) {
        hg_err_set(err, HG_EIO, "libmagic: cannot load the magic database: %s",
                   magic_error(m->cookie) ? magic_error(m->cookie) : "?");
        magic_close(m->cookie);
        free(m);
        return NULL;
    }
    return m;
}

/* Close the cookie and free; accepts NULL. */
void
hg_magic_free(hg_magic_t *m)
{
    if (m == NULL) {
        return;
    }
    magic_close(m->cookie);
    free(m);
}

void
hg_magic_type(hg_magic_t *m, const void *head, size_t len, char *out,
              size_t outlen)
{
    const char  *t;
    size_t       n;

    if (out == NULL || outlen == 0) {
        return;
    }
    if (m == NULL) {
        out[0] = '\0';
        return;
    }
    if (head == NULL) {
        head = "";
        len = 0;
    }
    t = magic_buffer(m->cookie, head, len);
    if (t == NULL || t[0] == '\0') {
        t = HG_MAGIC_UNKNOWN;
    }
    n = strlen(t);
    if (n >= outlen) {
        n = outlen - 1;
    }
    memcpy(out, t, n);
    out[n] = '\0';
}
