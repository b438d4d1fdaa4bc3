/*
 * helper_inspect.h - shared by the archive tests (test_inspect_spool.c,
 * test_inspect_client.c, test_mail_scan_inspect.c): seeded bytes standing
 * for files and containers, their digests, a database listing some, a
 * spool fed in pieces, what a memfd holds, and where the built helper is.
 * Failures are cmocka failures.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HG_TEST_HELPER_INSPECT_H
#define HG_TEST_HELPER_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include "hashgate/db.h"
#include "hashgate/hash.h"
#include "hashgate/inspect.h"

/* n seeded pseudo-random bytes: the same seed gives the same bytes. */
void hgt_fill(unsigned char *p, size_t n, uint32_t seed);

/*
 * As hgt_fill, then magic at the start (a container's signature, e.g.
 * "PK\3\4"); NULL: "Rn", which starts no container's signature (only
 * rar's starts with R), so the bytes are no container.
 */
void hgt_fill_as(unsigned char *p, size_t n, uint32_t seed,
                 const char *magic);

/* hgt_fill_as into a new buffer (free it). */
unsigned char *hgt_bytes(size_t n, uint32_t seed, const char *magic);

/* Every digest of n bytes. */
void hgt_digests(const void *p, size_t n, hg_digests_t *d);

/*
 * An open database with one block list, list, holding the SHA-256 of each
 * of the n files. Its file is already gone: hg_db_close is all it needs.
 */
hg_db_t *hgt_db_listing(const char *list, const unsigned char *const *files,
                        const size_t *lens, size_t n);

/* Feed n bytes to sp in pieces of the sizes in chunks, cycled; the first
 * status that is not HG_OK stops it and is returned. */
hg_status_t hgt_spool_feed(hg_spool_t *sp, const void *b, size_t n,
                           const size_t *chunks, size_t nchunks);

/* The whole content of fd must be the n bytes of want. */
void hgt_assert_fd_holds(int fd, const void *want, size_t n);

/* The path of this test binary. */
const char *hgt_self(void);

/*
 * The built helper: $HG_BIN/hashgate-inspect, else the one beside this
 * binary's directory (build/tests/test_x -> build/hashgate-inspect). NULL,
 * said on stderr, when it cannot be run.
 */
const char *hgt_inspect_helper(void);

#endif
