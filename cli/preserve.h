/*
 * preserve.h - the evidence store of hashgate preserve: items copied from
 * Postfix's hold queue and nginx's hold directory, and the manifest that
 * says what each is, whose, until when, and that nothing changed.
 *
 * The store is a directory (root, group hashgate-evidence, 0750) with
 * items/ (the copies, 0640, under names hashgate makes), manifest (the
 * append-only, hash-chained journal, 0640) and manifest.head (the last
 * event's number and SHA-256, so a manifest cut back is found too).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_CLI_PRESERVE_H
#define HASHGATE_CLI_PRESERVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Days an item is kept after preservation unless held: 18 U.S.C. 2258A(h)
 * as extended by the REPORT Act (2024) asks for one year. */
#define PM_RETAIN_DAYS_DEFAULT  365

#define PM_GROUP_DEFAULT  "hashgate-evidence"

typedef struct {
    char       *item;           /* name under items/ */
    char       *sha256;
    uint64_t    size;
    char       *stored;         /* when (RFC 3339) */
    char       *delete_after;   /* RFC 3339 */
    int64_t     delete_ms;
    int         hold;           /* on legal hold */
    char       *incident;       /* the report's incident key */
    char       *source;         /* "postfix queue ID X", "nginx hold file F" */
    char       *records;        /* FILE:LINE of the matched records */
    char       *expired;        /* when it was deleted, or NULL */
    unsigned    line;           /* of its "stored" event */
} pm_item_t;

typedef struct {
    char       *store;
    char       *path;           /* STORE/manifest */
    char       *head;           /* STORE/manifest.head */
    char       *items;          /* STORE/items */
    int         fd;
    gid_t       gid;            /* the store's group */
    pm_item_t  *it;
    size_t      n;
    size_t      cap;
    uint64_t    seq;            /* the last event's number */
    unsigned char last[32];     /* SHA-256 of the last line read/written */
    unsigned    lines;
    char      **problem;        /* what reading found wrong, in order */
    size_t      nproblems;
} pm_t;

#define PM_WRITE   0x1          /* append events (exclusive lock) */
#define PM_CREATE  0x2          /* make the store if it is missing */

/*
 * Open the store's manifest and read it, checking the chain as it goes:
 * every break found is kept in m->problem (not printed). With PM_CREATE a
 * missing store is made (0750, items/ 0750, manifest 0640, group gid). -1
 * with the reason printed when it cannot be opened at all, or when a
 * writer finds problems (appending to a broken chain would hide them).
 */
int pm_open(const char *store, unsigned flags, gid_t gid, pm_t *m);
void pm_close(pm_t *m);

/*
 * Append one event, fsync, and update manifest.head: "stored" (the item's
 * fields from it), "hold", "release", "expired" (item only). time: the
 * event's RFC 3339 time. -1 with the reason printed.
 */
int pm_append(pm_t *m, const char *event, const char *time,
              const pm_item_t *it);

/* The item named, or NULL. */
pm_item_t *pm_find(pm_t *m, const char *item);

/* The newest item of an incident (with expired: even an expired one), or
 * NULL. */
pm_item_t *pm_find_incident(pm_t *m, const char *incident, int expired);

/*
 * Check every item against the manifest (present, its SHA-256 and size)
 * and the items directory for files the manifest does not list; the
 * problems are appended to m->problem. Returns how many items are intact.
 */
size_t pm_verify_items(pm_t *m);

/* SHA-256 (hex) and size of a file, never following a link; -1 (errno). */
int pm_file_sha256(const char *path, char *hex, uint64_t *size);

#endif
