/*
 * fuzz_evrec.c - libFuzzer target: evidence log lines and files read back.
 *
 * hashgate report and preserve read logs that anyone with write access to
 * them could have edited, as root. The first input byte picks the reader:
 * even, the rest is one line for hg_evrec_parse; odd, the rest is a whole
 * log file (plain, or gzip, xz or zstd by its first bytes) read with
 * hg_evread_next. Whatever the bytes: no crash, no read out of bounds,
 * and a line read as a record holds only what a record may (strings
 * without NUL inside the string buffer, digests hex of their length, at
 * most the lists and containers a record holds), and survives
 * hg_evrec_dup unchanged.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hashgate/evread.h"

static void
check_hex(const char *s, size_t n)
{
    size_t  i;

    if (s == NULL) {
        return;
    }
    if (strlen(s) != n) {
        abort();
    }
    for (i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            abort();
        }
    }
}

static void
check_digests(const hg_evrec_digests_t *d)
{
    check_hex(d->md5, 32);
    check_hex(d->sha1, 40);
    check_hex(d->sha256, 64);
}

static int
same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static void
check_record(const hg_evrec_t *r)
{
    hg_evrec_t  *c;
    const char  *p;
    size_t       i;

    if (r->time == NULL || r->channel == NULL || r->time_ms < 0
        || r->nlists > HG_EVREC_MAX_LISTS
        || r->ncontainers > HG_EVREC_MAX_CONTAINERS
        || r->version != HG_RECORD_VERSION)
    {
        abort();
    }
    check_digests(&r->d);
    for (i = 0; i < r->ncontainers; i++) {
        check_digests(&r->containers[i].d);
    }
    for (i = 0; i < r->nlists; i++) {
        if (r->lists[i].list == NULL || r->lists[i].algorithm == NULL) {
            abort();
        }
    }
    for (i = 0, p = r->rcpt_to; p != NULL && i < r->nrcpt; i++) {
        p += strlen(p) + 1;
    }
    if (p != NULL && *p != '\0') {
        abort();
    }
    c = hg_evrec_dup(r);
    if (c == NULL) {
        return;
    }
    if (!same(c->time, r->time) || !same(c->uri, r->uri)
        || !same(c->filename, r->filename) || c->nrcpt != r->nrcpt
        || c->nlists != r->nlists || !same(c->d.sha256, r->d.sha256)
        || (r->nlists > 0 && !same(c->lists[r->nlists - 1].label,
                                   r->lists[r->nlists - 1].label))
        || (r->nrcpt > 0 && !same(c->rcpt_to, r->rcpt_to)))
    {
        abort();
    }
    hg_evrec_free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hg_evread_t       *r;
    hg_evrec_t         rec;
    hg_evread_kind_t   k;
    char              *buf, path[64];
    size_t             cap;
    int                fd;

    if (size == 0) {
        return 0;
    }
    if ((data[0] & 1) == 0) {
        cap = HG_EVREC_BUF(size - 1);
        buf = malloc(cap);
        if (buf == NULL) {
            return 0;
        }
        k = hg_evrec_parse(&rec, (const char *) data + 1, size - 1, buf, cap,
                           "fuzz", 1, NULL);
        if (k == HG_EVREAD_RECORD) {
            check_record(&rec);
        }
        free(buf);
        return 0;
    }
    fd = memfd_create("evlog", MFD_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    if (write(fd, data + 1, size - 1) == (ssize_t) (size - 1)) {
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        if (hg_evread_open(path, &r, NULL) == HG_OK) {
            while ((k = hg_evread_next(r, &rec, NULL)) != HG_EVREAD_END) {
                if (k == HG_EVREAD_RECORD) {
                    check_record(&rec);
                }
            }
            hg_evread_close(r);
        }
    }
    close(fd);
    return 0;
}
